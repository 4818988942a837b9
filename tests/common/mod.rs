//! Shared test helpers: temporary projects and a small upstream that speaks JSON-RPC over HTTP.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const RUNTIME_TS: &str = "import { McpGatewayPlugin } from \"@zuplo/runtime/mcp-gateway\";\nexport function runtimeInit(runtime) { runtime.addPlugin(new McpGatewayPlugin()); }\n";

/// Writes a project: `routes` is the `paths` object, `policies` the `policies` array.
pub fn write_project(dir: &Path, paths: serde_json::Value, policies: serde_json::Value) {
    std::fs::create_dir_all(dir.join("config")).unwrap();
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    std::fs::write(
        dir.join("zuplo.jsonc"),
        "{ \"version\": 1, \"compatibilityDate\": \"2026-03-01\" }\n",
    )
    .unwrap();
    std::fs::write(dir.join("modules/zuplo.runtime.ts"), RUNTIME_TS).unwrap();
    let routes = serde_json::json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths});
    std::fs::write(
        dir.join("config/routes.oas.json"),
        serde_json::to_string_pretty(&routes).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("config/policies.json"),
        serde_json::to_string_pretty(&serde_json::json!({ "policies": policies })).unwrap(),
    )
    .unwrap();
}

/// An MCP proxy route to `upstream` with these inbound policies.
pub fn mcp_route(
    operation_id: &str,
    upstream: &str,
    inbound: &[&str],
    extra_options: serde_json::Value,
) -> serde_json::Value {
    let mut options = serde_json::json!({ "rewritePattern": upstream });
    if let (Some(o), Some(extra)) = (options.as_object_mut(), extra_options.as_object()) {
        for (k, v) in extra {
            o.insert(k.clone(), v.clone());
        }
    }
    serde_json::json!({ "get,post": {
        "operationId": operation_id,
        "x-zuplo-route": {
            "corsPolicy": "none",
            "handler": { "export": "McpProxyHandler", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": options },
            "policies": { "inbound": inbound }
        }
    }})
}

pub fn policy(
    name: &str,
    policy_type: &str,
    export: &str,
    options: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({ "name": name, "policyType": policy_type, "handler": { "export": export, "module": "$import(@zuplo/runtime)", "options": options } })
}

/// The upstream answers every POST with a JSON-RPC result that echoes what it received
/// (method, path, query, headers, body). `/slow` waits 3 s first; `/sse` streams three events
/// 300 ms apart.
pub async fn echo_upstream() -> SocketAddr {
    async fn echo(
        method: axum::http::Method,
        uri: axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> impl IntoResponse {
        let hs: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    serde_json::json!(v.to_str().unwrap_or("")),
                )
            })
            .collect();
        let parsed = serde_json::from_slice::<serde_json::Value>(&body).ok();
        let answer = |msg: Option<&serde_json::Value>| {
            let id = msg
                .and_then(|v| v.get("id").cloned())
                .unwrap_or(serde_json::Value::Null);
            if msg.and_then(|m| m.get("method")).and_then(|m| m.as_str()) == Some("tools/list") {
                return serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [
                    {"name": "echo", "description": "Echoes", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}},
                    {"name": "add", "description": "Adds", "inputSchema": {"type": "object"}},
                    {"name": "slow", "description": "Slow", "inputSchema": {"type": "object"}},
                ]}});
            }
            serde_json::json!({"jsonrpc": "2.0", "id": id, "result": {
                "method": method.as_str(), "path": uri.path(), "query": uri.query(), "headers": hs,
                "body": String::from_utf8_lossy(&body),
            }})
        };
        let out = match &parsed {
            Some(serde_json::Value::Array(items)) => {
                serde_json::Value::Array(items.iter().map(|m| answer(Some(m))).collect())
            }
            other => answer(other.as_ref()),
        };
        (
            [
                ("content-type", "application/json"),
                ("mcp-session-id", "s-123"),
            ],
            out.to_string(),
        )
    }
    async fn slow(body: Bytes) -> impl IntoResponse {
        tokio::time::sleep(Duration::from_secs(3)).await;
        ([("content-type", "application/json")], body)
    }
    async fn sse() -> impl IntoResponse {
        let stream = async_stream(3, Duration::from_millis(300));
        (
            StatusCode::OK,
            [("content-type", "text/event-stream")],
            axum::body::Body::from_stream(stream),
        )
    }
    let app = axum::Router::new()
        .route("/slow", axum::routing::post(slow))
        .route("/sse", axum::routing::post(sse))
        .fallback(echo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn async_stream(
    n: usize,
    gap: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(0usize, move |i| async move {
        if i >= n {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        let event = format!(
            "event: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progress\":{i}}}}}\n\n"
        );
        Some((Ok(Bytes::from(event)), i + 1))
    })
}

// --- interop peers (../shared/interop) -----------------------------------------------------

/// `MCPGW_INTEROP_DIR`, or `None` after printing SKIP for `test`.
pub fn interop_dir(test: &str) -> Option<PathBuf> {
    match std::env::var_os("MCPGW_INTEROP_DIR") {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            eprintln!(
                "SKIP {test}: MCPGW_INTEROP_DIR is not set (run .ci/run, or install ../shared/interop and export it)"
            );
            None
        }
    }
}

pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns a server that prints `READY {json}`; returns the guard and the JSON.
pub fn spawn_ready(cmd: &mut Command) -> (Child, serde_json::Value) {
    try_spawn_ready(cmd).expect("server never printed READY")
}

/// Like [`spawn_ready`], but `None` when the command ends (or stays silent for 60 s) without
/// printing READY: for servers that may not be built in this checkout.
pub fn try_spawn_ready(cmd: &mut Command) -> Option<(Child, serde_json::Value)> {
    let mut child = Child(
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn upstream"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(j) = line.strip_prefix("READY ") {
                let _ = tx.send(j.to_string());
            }
        }
    });
    let json = rx.recv_timeout(Duration::from_secs(60)).ok()?;
    Some((child, serde_json::from_str(&json).expect("READY json")))
}

/// server-everything (`upstreams/everything.sh`, open, Streamable HTTP) on a free port.
pub fn spawn_everything(dir: &Path) -> (Child, serde_json::Value) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    spawn_ready(
        Command::new("bash")
            .arg(dir.join("upstreams/everything.sh"))
            .arg(port.to_string()),
    )
}

// --- `mcpgw dev` and the interop clients ---------------------------------------------------

/// `mcpgw dev` running as a child process.
pub struct Dev {
    pub child: std::process::Child,
    pub origin: String,
    pub stdout: std::sync::mpsc::Receiver<String>,
    /// What `mcpgw dev` says to its user after the banner (reloads, hints).
    pub stderr: std::sync::mpsc::Receiver<String>,
}

/// Starts `mcpgw dev DIR --port 0 --log-format json` and waits for its banner (on stderr).
pub fn spawn_dev(dir: &std::path::Path) -> Dev {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcpgw"))
        .args([
            "dev",
            dir.to_str().unwrap(),
            "--port",
            "0",
            "--log-format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let origin = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("no banner from mcpgw dev");
        if let Some(i) = line.find(" on http://") {
            break line[i + 4..].trim().to_string();
        }
    };
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (otx, orx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = otx.send(line);
        }
    });
    Dev {
        child,
        origin,
        stdout: orx,
        stderr: rx,
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a client off the runtime; returns (exit code, JSON-lines steps, stderr).
pub async fn run_client(mut cmd: Command) -> (i32, Vec<serde_json::Value>, String) {
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("client ran"))
        .await
        .expect("client task");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let steps = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        steps,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs a client to completion and returns its JSON-lines steps; fails the test with the
/// client's output unless it exited 0. Blocking: call it off the runtime.
pub fn client_steps_ok(cmd: &mut Command) -> Vec<serde_json::Value> {
    let out = cmd.stdin(Stdio::null()).output().expect("client ran");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "client failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

pub fn has_step(steps: &[serde_json::Value], name: &str) -> bool {
    steps.iter().any(|s| s["step"] == name)
}

pub fn step<'a>(steps: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    steps
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no {name} step in {steps:#?}"))
}

/// The TS SDK client of ../shared/interop (`clients/mcp-client.mjs`) against `url`, keeping its
/// OAuth tokens in `token_file`.
pub fn ts_client(dir: &Path, url: &str, token_file: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("clients/mcp-client.mjs"))
        .arg(url)
        .arg("--token-file")
        .arg(token_file)
        .args(args)
        .args(["--timeout", "60"]);
    cmd
}

/// The quickstart project (`mcpgw init --template quickstart`, the same as examples/quickstart)
/// in `dir`, its upstream pointed at `mock_url` instead of the fixed port of `--with-mock`.
pub fn quickstart_project(dir: &Path, mock_url: &str) {
    for (rel, contents) in mcpgw::templates::files("quickstart").unwrap() {
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = String::from_utf8(contents.to_vec()).unwrap();
        std::fs::write(path, text.replace("http://127.0.0.1:9001/mcp", mock_url)).unwrap();
    }
    let routes = std::fs::read_to_string(dir.join("config/routes.oas.json")).unwrap();
    assert!(
        routes.contains(mock_url),
        "the quickstart upstream moved: {routes}"
    );
}
