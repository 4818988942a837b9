//! `mcpServerHandler` in `mcpgw dev` (SPEC §15.6–§15.11, D20): a gateway on 127.0.0.1:0 in
//! process, its tool routes forwarding to a real HTTP upstream. Until registration fills
//! `Model::mcp_servers`, each test pushes a hand-built `McpServer` into the loaded model.

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use mcpgw::config::mcp_server::{
    Channels, McpServer, Param, Prompt, PromptArgument, Resource, ServerOptions, Target, Tool,
    ToolKind,
};
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// The API behind the tool routes: `/prompts/greet` answers messages, `/docs/readme` text,
/// `/status/<code>` that status, anything else echoes the request as JSON.
async fn api() -> SocketAddr {
    async fn any(
        method: axum::http::Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::response::Response {
        let path = uri.path();
        if path == "/prompts/greet" {
            let args: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let text = format!("Hello {}", args["name"].as_str().unwrap_or("?"));
            return axum::Json(json!({"description": "A greeting", "messages": [
                {"role": "user", "content": {"type": "text", "text": text}}
            ]}))
            .into_response();
        }
        if path == "/docs/readme" {
            return ([("content-type", "text/html")], "# Readme").into_response();
        }
        if let Some(code) = path.strip_prefix("/status/") {
            let status = StatusCode::from_u16(code.parse().unwrap_or(500)).unwrap();
            return (status, format!("status {code} from the API")).into_response();
        }
        let hs: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
            .collect();
        axum::Json(json!({
            "method": method.as_str(), "path": path, "query": uri.query(), "headers": hs,
            "body": String::from_utf8_lossy(&body),
        }))
        .into_response()
    }
    let app = axum::Router::new().fallback(any);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn forward(op: &str, method: &str, api: SocketAddr, inbound: &[&str]) -> Value {
    json!({ method: {
        "operationId": op,
        "x-zuplo-route": {
            "corsPolicy": "none",
            "handler": {"export": "urlForwardHandler", "module": "$import(@zuplo/runtime)",
                "options": {"baseUrl": format!("http://{api}")}},
            "policies": {"inbound": inbound}
        }
    }})
}

fn set_headers(name: &str, header: &str) -> Value {
    policy(
        name,
        "set-headers-inbound",
        "SetHeadersInboundPolicy",
        json!({"headers": [{"name": header, "value": "yes"}]}),
    )
}

fn project(dir: &std::path::Path, api: SocketAddr, mcp_inbound: &[&str]) {
    let mut paths = serde_json::Map::new();
    paths.insert(
        "/mcp".into(),
        json!({"post": {
            "operationId": "mcp",
            "x-zuplo-route": {
                "corsPolicy": "none",
                "handler": {"export": "mcpServerHandler", "module": "$import(@zuplo/runtime)",
                    "options": {"name": "Todo MCP", "version": "1.2.3"}},
                "policies": {"inbound": mcp_inbound}
            }
        }}),
    );
    paths.insert(
        "/todos/{id}".into(),
        forward("getTodo", "get", api, &["tool-hdr"]),
    );
    paths.insert("/todos".into(), forward("createTodo", "post", api, &[]));
    paths.insert("/status/{code}".into(), forward("status", "get", api, &[]));
    paths.insert("/status/404".into(), forward("gone", "get", api, &[]));
    paths.insert("/prompts/greet".into(), forward("greet", "post", api, &[]));
    paths.insert("/docs/readme".into(), forward("readme", "get", api, &[]));
    paths.insert(
        "/unsupported".into(),
        json!({"get": {"operationId": "unsupported", "x-zuplo-route": {"corsPolicy": "none",
            "handler": {"export": "redirectHandler", "module": "$import(@zuplo/runtime)",
                "options": {"location": "/x"}}}}}),
    );
    write_project(
        dir,
        Value::Object(paths),
        json!([
            set_headers("mcp-hdr", "x-mcp-route"),
            set_headers("tool-hdr", "x-tool-route"),
            {"name": "only-get", "policyType": "mcp-capability-filter-inbound", "handler": {
                "export": "McpCapabilityFilterInboundPolicy",
                "module": "$import(@zuplo/runtime/mcp-gateway)",
                "options": {"tools": ["getTodo"]}}}
        ]),
    );
}

fn string_param(name: &str, required: bool) -> Param {
    Param {
        name: name.into(),
        required,
        schema: json!({"type": "string"}),
    }
}

fn target(routes: &[mcpgw::config::project::Route], path: &str, method: &str) -> Target {
    let route = routes
        .iter()
        .position(|r| r.path.value == path)
        .unwrap_or_else(|| panic!("route {path}"));
    Target {
        route,
        method: method.into(),
        path: path.into(),
        operation_id: routes[route].operation_id().to_string(),
    }
}

fn tool(name: &str, target: Target, kind: ToolKind, input_schema: Value) -> Tool {
    Tool {
        name: name.into(),
        description: format!("Executes tool: {name}"),
        target,
        kind,
        input_schema,
        output_schema: None,
        include_structured_content: false,
        annotations: None,
        meta: None,
    }
}

fn operation(channels: Channels, content_type: Option<&str>) -> ToolKind {
    ToolKind::Operation {
        content_type: content_type.map(str::to_string),
        channels,
    }
}

/// The MCP server of [`project`]'s `/mcp` route, written by hand (see [`start_with`]).
fn server(routes: &[mcpgw::config::project::Route]) -> McpServer {
    let get_todo = tool(
        "getTodo",
        target(routes, "/todos/{id}", "GET"),
        operation(
            Channels {
                path: vec![string_param("id", true)],
                query: vec![
                    string_param("q", false),
                    Param {
                        name: "tags".into(),
                        required: false,
                        schema: json!({"type": "array", "items": {"type": "string"}}),
                    },
                ],
                headers: vec![string_param("X-Trace", false)],
                ..Channels::default()
            },
            None,
        ),
        json!({"type": "object", "properties": {
            "pathParams": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": false},
            "queryParams": {"type": "object", "properties": {"q": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}},
            "headers": {"type": "object", "properties": {"X-Trace": {"type": "string"}}}
        }, "required": ["pathParams", "queryParams", "headers"], "additionalProperties": false}),
    );
    let body = json!({"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"], "additionalProperties": false});
    let mut create = tool(
        "createTodo",
        target(routes, "/todos", "POST"),
        operation(
            Channels {
                body: Some(body.clone()),
                declares_body: true,
                ..Channels::default()
            },
            Some("application/json"),
        ),
        json!({"type": "object", "properties": {"body": body}, "required": ["body"], "additionalProperties": false}),
    );
    create.include_structured_content = true;
    create.annotations = Some(json!({"title": "Create", "destructiveHint": false}));
    let status_channels = Channels {
        path: vec![string_param("code", true)],
        ..Channels::default()
    };
    let status = tool(
        "status",
        target(routes, "/status/{code}", "GET"),
        operation(status_channels, None),
        json!({"type": "object", "properties": {"pathParams": {"type": "object"}}, "required": ["pathParams"]}),
    );
    let unsupported = tool(
        "unsupported",
        target(routes, "/unsupported", "GET"),
        operation(Channels::default(), None),
        json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false}),
    );
    // a tool on the MCP route itself (registration skips these; the depth guard must hold)
    let looped = tool(
        "loop",
        target(routes, "/mcp", "POST"),
        operation(
            Channels {
                body: Some(json!({"type": "object"})),
                declares_body: true,
                ..Channels::default()
            },
            Some("application/json"),
        ),
        json!({"type": "object", "properties": {"body": {"type": "object"}}}),
    );
    McpServer {
        route: target(routes, "/mcp", "POST").route,
        options: ServerOptions {
            name: "Todo MCP".into(),
            version: "1.2.3".into(),
            debug_mode: true,
            ..ServerOptions::default()
        },
        tools: vec![get_todo, create, status, unsupported, looped],
        prompts: vec![
            Prompt {
                name: "greet".into(),
                description: "Greets".into(),
                target: target(routes, "/prompts/greet", "POST"),
                arguments: vec![PromptArgument {
                    name: "name".into(),
                    description: "Prompt for name".into(),
                    required: true,
                }],
                body_schema: Some(
                    json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": false}),
                ),
            },
            Prompt {
                name: "broken".into(),
                description: "Fails".into(),
                target: target(routes, "/status/{code}", "POST"),
                arguments: vec![],
                body_schema: None,
            },
        ],
        resources: vec![
            Resource {
                name: "readme".into(),
                description: "The readme".into(),
                uri: "mcp://resources/readme".into(),
                mime_type: "text/markdown".into(),
                target: target(routes, "/docs/readme", "GET"),
                meta: Some(json!({"vendor": 1})),
            },
            Resource {
                name: "gone".into(),
                description: "Resource for gone".into(),
                uri: "mcp://resources/gone".into(),
                mime_type: "text/plain".into(),
                target: target(routes, "/status/404", "GET"),
                meta: None,
            },
        ],
    }
}

struct Gw {
    _dir: tempfile::TempDir,
    running: gateway::Running,
    url: String,
}

async fn start() -> Gw {
    start_with(&["mcp-hdr"]).await
}

/// [`start`] with these inbound policies on the MCP route.
async fn start_with(mcp_inbound: &[&str]) -> Gw {
    let api = api().await;
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), api, mcp_inbound);
    let mut report = gateway::load(dir.path().to_path_buf()).await.unwrap();
    let errors: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == mcpgw::diag::diagnostic::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // The runtime is tested against a hand-written model that also holds what registration
    // refuses to build (a tool on its own MCP route for the nesting guard, a prompt on a GET
    // route, open channel schemas); registration and the served lists of a real project are
    // tests/mcp_server_model.rs and tests/mcp_server_interop.rs.
    report.model.mcp_servers = vec![server(&report.project.routes)];
    let mut options = DevOptions::new(dir.path());
    options.port = 0;
    let running = gateway::start(Served::new(report), &options).await.unwrap();
    let url = format!("http://{}/mcp", running.addr);
    Gw {
        _dir: dir,
        running,
        url,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A POST as an MCP client sends it.
fn mcp_post(url: &str, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
}

async fn rpc(url: &str, method: &str, params: Value) -> Value {
    let resp = mcp_post(
        url,
        &json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200, "{method}");
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.json().await.unwrap()
}

async fn call(url: &str, name: &str, arguments: Value) -> Value {
    rpc(
        url,
        "tools/call",
        json!({"name": name, "arguments": arguments}),
    )
    .await
}

/// The API's echo of the request a tool result carries.
fn echoed(result: &Value) -> Value {
    serde_json::from_str(result["result"]["content"][0]["text"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn initialize_lists_and_unknown_methods() {
    let gw = start().await;
    let init = rpc(
        &gw.url,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
    )
    .await;
    assert_eq!(
        init["result"],
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {
                "tools": {"supported": true, "available": ["getTodo", "createTodo", "status", "unsupported", "loop"]},
                "prompts": {},
                "resources": {}
            },
            "serverInfo": {"name": "Todo MCP", "version": "1.2.3"}
        })
    );
    let init = rpc(
        &gw.url,
        "initialize",
        json!({"protocolVersion": "2099-01-01"}),
    )
    .await;
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");

    let tools = rpc(&gw.url, "tools/list", json!({})).await;
    let list = tools["result"]["tools"].as_array().unwrap();
    assert_eq!(list.len(), 5);
    assert_eq!(
        list[1],
        json!({
            "name": "createTodo",
            "description": "Executes tool: createTodo",
            "inputSchema": {"type": "object", "properties": {"body": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"], "additionalProperties": false}}, "required": ["body"], "additionalProperties": false},
            "annotations": {"title": "Create", "destructiveHint": false}
        })
    );
    assert!(list[0].get("annotations").is_none() && list[0].get("outputSchema").is_none());

    let prompts = rpc(&gw.url, "prompts/list", json!({})).await;
    assert_eq!(
        prompts["result"]["prompts"][0],
        json!({"name": "greet", "description": "Greets", "arguments": [{"name": "name", "description": "Prompt for name", "required": true}]})
    );
    let resources = rpc(&gw.url, "resources/list", json!({})).await;
    assert_eq!(
        resources["result"]["resources"][0],
        json!({"name": "readme", "uri": "mcp://resources/readme", "title": "readme", "description": "The readme", "mimeType": "text/markdown", "_meta": {"vendor": 1}})
    );
    let templates = rpc(&gw.url, "resources/templates/list", json!({})).await;
    assert_eq!(templates["result"], json!({"resourceTemplates": []}));
    assert_eq!(rpc(&gw.url, "ping", json!({})).await["result"], json!({}));
    let unknown = rpc(&gw.url, "logging/setLevel", json!({"level": "info"})).await;
    assert_eq!(
        unknown["error"],
        json!({"code": -32601, "message": "Method not found"})
    );
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn transport_checks_answer_as_7_6_4() {
    let gw = start().await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    // curl's default Accept: */*
    let resp = client()
        .post(&gw.url)
        .header("accept", "*/*")
        .header("content-type", "application/json")
        .body(ping.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
    assert_eq!(
        resp.text().await.unwrap(),
        r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Not Acceptable: Client must accept both application/json and text/event-stream"},"id":null}"#
    );
    // JSON only is normalised and served
    let resp = client()
        .post(&gw.url)
        .header("accept", "application/json")
        .header("content-type", "application/json")
        .body(ping.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let resp = client()
        .post(&gw.url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .body(ping.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Unsupported Media Type: Content-Type must be application/json"
    );

    let resp = client()
        .post(&gw.url)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"],
        json!({"code": -32700, "message": "Parse error: Invalid JSON"})
    );

    let resp = mcp_post(&gw.url, &ping)
        .header("mcp-protocol-version", "2019-01-01")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32000);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("(supported versions: 2026-07-28, 2025-11-25")
    );

    let resp = mcp_post(
        &gw.url,
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.text().await.unwrap(), "");

    let batch = json!([ping, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}]);
    let resp = mcp_post(&gw.url, &batch).send().await.unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[1]["id"], 2);

    let resp = client().get(&gw.url).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn a_tool_call_runs_the_tool_route_with_the_mcp_requests_headers() {
    let gw = start().await;
    let resp = mcp_post(
        &gw.url,
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "getTodo", "arguments": {
            "pathParams": {"id": "a b/c"},
            "queryParams": {"q": "x y", "tags": ["t1", "t2"]},
            "headers": {"X-Trace": "trace-1"}
        }}}),
    )
    .header("authorization", "Bearer client-key")
    .header("mcp-protocol-version", "2025-11-25")
    .header("accept-encoding", "gzip, br")
    .send()
    .await
    .unwrap();
    let result: Value = resp.json().await.unwrap();
    assert_eq!(result["result"]["isError"], false, "{result}");
    assert_eq!(result["result"]["_meta"], json!({}));
    assert!(
        result["result"].get("structuredContent").is_none(),
        "not enabled for getTodo"
    );
    let seen = echoed(&result);
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path"], "/todos/a%20b%2Fc");
    assert_eq!(seen["query"], "q=x+y&tags=t1&tags=t2");
    let h = &seen["headers"];
    assert_eq!(
        h["authorization"], "Bearer client-key",
        "the MCP request's headers go on"
    );
    assert_eq!(h["mcp-protocol-version"], "2025-11-25");
    assert_eq!(
        h["x-trace"], "trace-1",
        "declared header arguments, lower-cased"
    );
    assert_eq!(
        h["x-mcp-route"], "yes",
        "headers as the MCP route's policies left them"
    );
    assert_eq!(
        h["x-tool-route"], "yes",
        "the tool route's own pipeline ran"
    );
    assert!(h.get("content-type").is_none(), "no body, no content-type");
    assert!(
        h.get("accept-encoding").is_none(),
        "the tool's answer is read as text"
    );

    let created = call(&gw.url, "createTodo", json!({"body": {"title": "milk"}})).await;
    assert_eq!(created["result"]["isError"], false);
    let seen = echoed(&created);
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body"], r#"{"title":"milk"}"#);
    assert_eq!(seen["headers"]["content-type"], "application/json");
    assert_eq!(seen["headers"]["content-length"], "16");
    assert!(
        seen["headers"].get("x-tool-route").is_none(),
        "only getTodo's route sets it"
    );
    assert_eq!(created["result"]["structuredContent"]["path"], "/todos");
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn tool_errors_validation_and_unknown_tools() {
    let gw = start().await;
    let failed = call(&gw.url, "status", json!({"pathParams": {"code": "503"}})).await;
    assert_eq!(
        failed["result"],
        json!({"content": [{"type": "text", "text": "status 503 from the API"}], "isError": true, "_meta": {}})
    );
    let missing = call(&gw.url, "status", json!({"pathParams": {}})).await;
    assert_eq!(
        missing["result"]["content"][0]["text"],
        "MCP tool call failed for tool 'status': Error: missing path parameters in OpenAPI spec: code"
    );
    assert_eq!(missing["result"]["isError"], true);

    let invalid = call(
        &gw.url,
        "createTodo",
        json!({"body": {"title": "x", "sku": 1}}),
    )
    .await;
    assert_eq!(invalid["error"]["code"], -32602);
    assert_eq!(
        invalid["error"]["message"],
        "Invalid arguments for tool 'createTodo': ✖ Unrecognized key: \"sku\"\n  → at body"
    );
    assert_eq!(invalid["error"]["data"]["issues"][0]["path"], "body");

    let unknown = call(&gw.url, "nope", json!({})).await;
    assert_eq!(
        unknown["error"],
        json!({"code": -32602, "message": "Tool \"nope\" not found"})
    );

    // a route mcpgw cannot run answers its 501 problem, which becomes the tool's error text
    let unsupported = call(&gw.url, "unsupported", json!({})).await;
    assert_eq!(unsupported["result"]["isError"], true);
    let text = unsupported["result"]["content"][0]["text"]
        .as_str()
        .unwrap();
    let problem: Value = serde_json::from_str(text).unwrap();
    assert_eq!(problem["status"], 501);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("redirectHandler"),
        "{text}"
    );
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn prompts_and_resources() {
    let gw = start().await;
    let got = rpc(
        &gw.url,
        "prompts/get",
        json!({"name": "greet", "arguments": {"name": "Ada"}}),
    )
    .await;
    assert_eq!(
        got["result"],
        json!({"description": "A greeting", "messages": [{"role": "user", "content": {"type": "text", "text": "Hello Ada"}}]})
    );
    let bad = rpc(
        &gw.url,
        "prompts/get",
        json!({"name": "greet", "arguments": {}}),
    )
    .await;
    assert_eq!(bad["error"]["code"], -32602);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid arguments for prompt 'greet': ")
    );
    let unknown = rpc(&gw.url, "prompts/get", json!({"name": "nope"})).await;
    assert_eq!(
        unknown["error"],
        json!({"code": -32602, "message": "Prompt \"nope\" not found"})
    );
    let broken = rpc(&gw.url, "prompts/get", json!({"name": "broken"})).await;
    assert_eq!(broken["error"]["code"], -32603);
    assert!(
        broken["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("MCP prompt invocation failed for prompt 'broken': "),
        "{broken}"
    );

    let read = rpc(
        &gw.url,
        "resources/read",
        json!({"uri": "mcp://resources/readme"}),
    )
    .await;
    assert_eq!(
        read["result"],
        json!({"contents": [{"uri": "mcp://resources/readme", "mimeType": "text/markdown", "text": "# Readme", "_meta": {"vendor": 1}}]})
    );
    // a non-2xx answer is still the content
    let gone = rpc(
        &gw.url,
        "resources/read",
        json!({"uri": "mcp://resources/gone"}),
    )
    .await;
    assert_eq!(
        gone["result"]["contents"][0]["text"],
        "status 404 from the API"
    );
    let unknown = rpc(&gw.url, "resources/read", json!({"uri": "mcp://nope"})).await;
    assert_eq!(
        unknown["error"],
        json!({"code": -32602, "message": "Resource not found: mcp://nope", "data": {"uri": "mcp://nope"}})
    );
    gw.running.shutdown.cancel();
}

fn modern(method: &str, id: u64, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

#[tokio::test]
async fn the_2026_07_28_era_discovers_without_initialize() {
    let gw = start().await;
    let post = |method: &str, body: Value| {
        mcp_post(&gw.url, &body)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
    };
    let resp = post("server/discover", modern("server/discover", 1, json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let d: Value = resp.json().await.unwrap();
    let r = &d["result"];
    assert_eq!(r["resultType"], "complete");
    assert_eq!(
        r["supportedVersions"],
        json!([
            "2026-07-28",
            "2025-11-25",
            "2025-06-18",
            "2025-03-26",
            "2024-11-05",
            "2024-10-07"
        ])
    );
    assert_eq!(r["capabilities"]["tools"]["available"][0], "getTodo");
    assert_eq!(
        r["_meta"]["io.modelcontextprotocol/serverInfo"],
        json!({"name": "Todo MCP", "version": "1.2.3"})
    );
    assert_eq!(
        (r["ttlMs"].clone(), r["cacheScope"].clone()),
        (json!(0), json!("private"))
    );

    let resp = post(
        "tools/call",
        modern(
            "tools/call",
            2,
            json!({"name": "createTodo", "arguments": {"body": {"title": "t"}}}),
        ),
    )
    .header("mcp-name", "createTodo")
    .send()
    .await
    .unwrap();
    let c: Value = resp.json().await.unwrap();
    assert_eq!(c["result"]["resultType"], "complete", "{c}");
    assert_eq!(c["result"]["isError"], false);
    assert!(
        c["result"].get("ttlMs").is_none(),
        "a call result is not cacheable"
    );

    // the D27 ladder runs first: a header that contradicts the body
    let resp = post("tools/list", modern("server/discover", 3, json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], -32020);
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let gw = start().await;
    let resp = mcp_post(
        &gw.url,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    )
    .header("origin", "https://evil.example")
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 403);
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["code"], "origin_not_allowed");
    let own = format!("http://{}", gw.running.addr);
    let resp = mcp_post(
        &gw.url,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    )
    .header("origin", own)
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 200);
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn a_tool_that_calls_its_own_mcp_route_stops_at_the_nesting_limit() {
    let gw = start().await;
    // each level's body is the next level's tools/call of `loop`
    let mut args = json!({"body": {"jsonrpc": "2.0", "id": 9, "method": "ping"}});
    for _ in 0..6 {
        args = json!({"body": {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "loop", "arguments": args}}});
    }
    let result = call(&gw.url, "loop", args).await;
    // unwrap the results nested in each other's text down to the refused one
    let mut innermost = result["result"].clone();
    let mut levels = 0;
    while let Ok(inner) =
        serde_json::from_str::<Value>(innermost["content"][0]["text"].as_str().unwrap())
    {
        innermost = inner["result"].clone();
        levels += 1;
    }
    assert_eq!(
        levels, 4,
        "four nested MCP answers before the refusal: {result}"
    );
    assert_eq!(innermost["isError"], true);
    assert!(
        innermost["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with(
                "MCP tool call failed for tool 'loop': Error: more than 4 nested route invocations"
            ),
        "{innermost}"
    );
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn a_capability_filter_on_the_mcp_route_filters_its_own_answers() {
    let gw = start_with(&["only-get"]).await;
    let tools = rpc(&gw.url, "tools/list", json!({})).await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["getTodo"]);
    let blocked = call(&gw.url, "createTodo", json!({"body": {"title": "x"}})).await;
    assert!(blocked.get("error").is_some(), "{blocked}");
    let allowed = call(
        &gw.url,
        "getTodo",
        json!({"pathParams": {"id": "1"}, "queryParams": {}, "headers": {}}),
    )
    .await;
    assert_eq!(allowed["result"]["isError"], false, "{allowed}");
    gw.running.shutdown.cancel();
}
