//! `mcpgw dev` with real third-party MCP software from ../shared/interop: upstream servers
//! (server-everything, the Python SDK server) behind the gateway, and real clients (the TS SDK
//! client, the Python SDK 2.3 client) through it.
//!
//! Needs `MCPGW_INTEROP_DIR` (set by `.ci/run` after `install.sh`); without it every test says
//! `SKIP` and returns.

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::json;
use std::process::Command;

async fn gateway(dir: &std::path::Path) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir);
    options.port = 0;
    gateway::start(Served::new(report), &options).await.unwrap()
}

/// Runs a client command off the runtime and returns its JSON-lines steps (exit 0 asserted).
async fn run_client(mut cmd: Command) -> Vec<serde_json::Value> {
    tokio::task::spawn_blocking(move || client_steps_ok(&mut cmd))
        .await
        .unwrap()
}

fn tool_names(steps: &[serde_json::Value]) -> Vec<String> {
    let tools = &step(steps, "tools")["tools"];
    tools
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    t.as_str()
                        .map(str::to_string)
                        .or_else(|| t["name"].as_str().map(str::to_string))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn ts_sdk_client_through_the_gateway_to_server_everything() {
    let Some(dir) = interop_dir("ts_sdk_client_through_the_gateway_to_server_everything") else {
        return;
    };
    let (_up, ready) = spawn_everything(&dir);
    let upstream = ready["url"]
        .as_str()
        .expect("READY names the url")
        .to_string();
    let project = tempfile::tempdir().unwrap();
    write_project(
        project.path(),
        json!({ "/mcp/everything-v1": mcp_route("everything", &upstream, &[], json!({})) }),
        json!([]),
    );
    let gw = gateway(project.path()).await;
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("clients/mcp-client.mjs"))
        .arg(format!("http://{}/mcp/everything-v1", gw.addr))
        .args([
            "--list-tools",
            "--call",
            "echo",
            "--args",
            r#"{"message":"through mcpgw"}"#,
            "--timeout",
            "60",
            "--no-browser",
        ]);
    let steps = run_client(cmd).await;
    assert_eq!(step(&steps, "connect")["auth"], "none");
    let names = tool_names(&steps);
    assert!(
        names.iter().any(|n| n == "echo") && names.len() > 5,
        "{names:?}"
    );
    let call = step(&steps, "call");
    assert!(
        call["result"].to_string().contains("Echo: through mcpgw"),
        "{call}"
    );
    gw.shutdown.cancel();
}

#[tokio::test]
async fn python_sdk_client_both_eras_through_the_gateway_to_the_python_server() {
    let Some(dir) =
        interop_dir("python_sdk_client_both_eras_through_the_gateway_to_the_python_server")
    else {
        return;
    };
    let (_up, ready) = spawn_ready(
        Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0"]),
    );
    let upstream = ready["url"].as_str().unwrap().to_string();
    let project = tempfile::tempdir().unwrap();
    write_project(
        project.path(),
        json!({ "/mcp/py-v1": mcp_route("py", &upstream, &[], json!({})) }),
        json!([]),
    );
    let gw = gateway(project.path()).await;
    for mode in ["auto", "legacy"] {
        let mut cmd = Command::new(dir.join("venv/bin/python"));
        cmd.arg(dir.join("clients/py-client.py"))
            .arg(format!("http://{}/mcp/py-v1", gw.addr))
            .args([
                "--list-tools",
                "--call",
                "add",
                "--args",
                r#"{"a":2,"b":3}"#,
                "--mode",
                mode,
                "--timeout",
                "60",
            ]);
        let steps = run_client(cmd).await;
        let names = tool_names(&steps);
        assert!(names.iter().any(|n| n == "add"), "{mode}: {names:?}");
        let call = step(&steps, "call");
        assert!(call["result"].to_string().contains('5'), "{mode}: {call}");
    }
    gw.shutdown.cancel();
}

fn dev_oauth_policy() -> serde_json::Value {
    json!({"name": "dev-oauth", "policyType": "mcp-oauth-inbound", "handler": {"export": "McpOAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "oidc": {"issuer": "http://127.0.0.1:9000/__zuplo/dev-idp", "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"},
        "browserLogin": {"url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login"}}}})
}

#[tokio::test]
async fn sdk_clients_complete_oauth_against_mcpgw_dev() {
    let Some(dir) = interop_dir("sdk_clients_complete_oauth_against_mcpgw_dev") else {
        return;
    };
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let project = tempfile::tempdir().unwrap();
    write_project(
        project.path(),
        json!({ "/mcp/mock-v1": mcp_route("mock-mcp-server", &mock.url, &["dev-oauth"], json!({})) }),
        json!([dev_oauth_policy()]),
    );
    let gw = gateway(project.path()).await;
    let url = format!("http://{}/mcp/mock-v1", gw.addr);

    // the TS SDK client: DCR, PKCE, dev-login, consent (approved by the harness's browser), a
    // call, then a refresh whose new token works
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("clients/mcp-client.mjs")).arg(&url).args([
        "--list-tools",
        "--call",
        "add",
        "--args",
        r#"{"a":2,"b":3}"#,
        "--refresh",
        "--timeout",
        "60",
    ]);
    let steps = run_client(cmd).await;
    assert_eq!(step(&steps, "authorize")["resource"], url.as_str());
    assert_eq!(step(&steps, "token")["token_type"], "Bearer");
    assert_eq!(step(&steps, "connect")["auth"], "browser");
    assert!(step(&steps, "call")["result"].to_string().contains("\"5\""));
    let refresh = step(&steps, "refresh");
    assert_eq!(refresh["access_token_changed"], true);
    assert_eq!(refresh["refresh_token_rotated"], true);
    assert!(steps.iter().any(|s| s["step"] == "refresh_verified"));

    // the Python SDK 2.3 client (2026-07-28 first, as it does by default)
    let mut cmd = Command::new(dir.join("venv/bin/python"));
    cmd.arg(dir.join("clients/py-client.py")).arg(&url).args([
        "--list-tools",
        "--call",
        "add",
        "--args",
        r#"{"a":2,"b":3}"#,
        "--timeout",
        "60",
    ]);
    let steps = run_client(cmd).await;
    assert_eq!(step(&steps, "token")["token_type"], "Bearer");
    assert!(step(&steps, "call")["result"].to_string().contains("\"5\""));
    gw.shutdown.cancel();
}

/// Issue 12, point 7: the TS SDK v2 client (`@modelcontextprotocol/client` 2.4) pinned to
/// 2026-07-28 through the quickstart project: the SDK's own OAuth against the gateway (DCR,
/// PKCE, dev-login, consent), `server/discover` answered by the mock through the proxy, a list
/// and a call, all on the per-request envelope (no session).
#[tokio::test]
async fn pinned_ts_sdk_v2_client_through_the_quickstart() {
    let Some(dir) = interop_dir("pinned_ts_sdk_v2_client_through_the_quickstart") else {
        return;
    };
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let project = tempfile::tempdir().unwrap();
    quickstart_project(project.path(), &mock.url);
    let gw = gateway(project.path()).await;
    let url = format!("http://{}/mcp/mock-v1", gw.addr);
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("clients/mcp-client-v2.mjs"))
        .arg(&url)
        .args([
            "--era",
            "pin",
            "--no-connect-retry",
            "--list-tools",
            "--call",
            "add",
            "--args",
            r#"{"a":2,"b":3}"#,
            "--timeout",
            "60",
        ]);
    let steps = run_client(cmd).await;
    assert_eq!(step(&steps, "authorize")["resource"], url.as_str());
    let connect = step(&steps, "connect");
    assert_eq!(connect["era"], "modern", "{connect}");
    assert_eq!(connect["protocolVersion"], "2026-07-28", "{connect}");
    assert_eq!(connect["sessionId"], serde_json::Value::Null, "{connect}");
    assert_eq!(connect["serverInfo"]["name"], "mcpgw-mock", "{connect}");
    let names = step(&steps, "tools")["names"].to_string();
    assert!(
        names.contains("\"add\"") && names.contains("\"echo\""),
        "{names}"
    );
    let call = step(&steps, "call");
    assert_eq!(call["isError"], false, "{call}");
    assert_eq!(call["content"][0]["text"], "5", "{call}");
    assert!(!steps.iter().any(|s| s["step"] == "input_required"));
    gw.shutdown.cancel();
}
