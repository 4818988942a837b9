//! Outbound policies in `mcpgw dev` (SPEC §16.9–§16.11, D21): a gateway on 127.0.0.1:0 in
//! process in front of a real HTTP upstream. The chain runs after the handler in list order,
//! on every status from compatibilityDate 2024-01-15 (2xx only before), never after an inbound
//! policy answered; header-level policies leave a streamed answer streaming; secret masking
//! reads the answer whole; what mcpgw cannot run refuses the route before its handler.

mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// A Zuplo API key as the built-in pattern matches it (`zpka_` + 42 or more).
fn zpka() -> String {
    format!("zpka_{}", "a1B2c3D4e5_".repeat(4))
}

/// The upstream: `/json` a 200 JSON answer with secrets, `/fail` a 500 with a secret,
/// `/headers` an answer with headers to change, `/sse…` two SSE events of which the second is
/// sent only once the test has seen the first (`gate`). `hits` counts requests.
struct Upstream {
    addr: SocketAddr,
    gate: Arc<Notify>,
    hits: Arc<AtomicUsize>,
}

async fn upstream() -> Upstream {
    let gate = Arc::new(Notify::new());
    let hits = Arc::new(AtomicUsize::new(0));
    let (g, h) = (gate.clone(), hits.clone());
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let (gate, hits) = (g.clone(), h.clone());
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            let path = uri.path();
            if path.starts_with("/sse") {
                let first = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(Bytes::from("event: message\ndata: first\n\n"))
                });
                let second = futures_util::stream::once(async move {
                    gate.notified().await;
                    Ok(Bytes::from("event: message\ndata: second\n\n"))
                });
                use futures_util::StreamExt;
                return (
                    [("content-type", "text/event-stream")],
                    axum::body::Body::from_stream(first.chain(second)),
                )
                    .into_response();
            }
            let secret_json = json!({"key": zpka(), "apiKey": "sk-custom-123", "note": "plain",
                "echo": String::from_utf8_lossy(&body),
                "acceptEncoding": headers.get("accept-encoding").and_then(|v| v.to_str().ok())});
            match path {
                "/fail" => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [("content-type", "application/json")],
                    secret_json.to_string(),
                )
                    .into_response(),
                // claims an encoding the masking policy cannot read
                "/gzip" => (
                    [
                        ("content-type", "application/json"),
                        ("content-encoding", "gzip"),
                    ],
                    secret_json.to_string(),
                )
                    .into_response(),
                // more than the 16 MiB the masking policy reads
                "/huge" => (
                    [("content-type", "text/plain")],
                    format!("{}{}", "a".repeat(17 * 1024 * 1024), zpka()),
                )
                    .into_response(),
                "/headers" => (
                    [
                        ("content-type", "text/plain"),
                        ("x-upstream-secret", "do-not-leak"),
                        ("x-keep", "upstream"),
                        ("x-over", "upstream"),
                    ],
                    "headers",
                )
                    .into_response(),
                _ => (
                    [("content-type", "application/json")],
                    secret_json.to_string(),
                )
                    .into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Upstream { addr, gate, hits }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A `urlForwardHandler` route to `up` with these policies.
fn route(method: &str, up: SocketAddr, inbound: &[&str], outbound: &[&str]) -> Value {
    json!({ method: {
        "operationId": format!("op-{}", NEXT_ID.fetch_add(1, Ordering::SeqCst)),
        "x-zuplo-route": {
            "corsPolicy": "none",
            "handler": {"export": "urlForwardHandler", "module": "$import(@zuplo/runtime)",
                "options": {"baseUrl": format!("http://{up}")}},
            "policies": {"inbound": inbound, "outbound": outbound}
        }
    }})
}

fn policies() -> Value {
    json!([
        policy("mask", "secret-masking-outbound", "SecretMaskingOutboundPolicy",
            json!({"additionalPatterns": [r#"(?<="apiKey":")[^"]+"#]})),
        policy("tag", "set-headers-outbound", "SetHeadersOutboundPolicy",
            json!({"headers": [{"name": "x-tag", "value": "outbound"}]})),
        policy("tag2", "set-headers-outbound", "SetHeadersOutboundPolicy",
            json!({"headers": [{"name": "x-tag", "value": "second"}]})),
        policy("keep-or-over", "set-headers-outbound", "SetHeadersOutboundPolicy",
            json!({"headers": [
                {"name": "x-keep", "value": "gateway", "overwrite": false},
                {"name": "x-over", "value": "gateway"},
                {"name": "x-new", "value": "gateway", "overwrite": false}
            ]})),
        policy("strip", "remove-headers-outbound", "RemoveHeadersOutboundPolicy",
            json!({"headers": ["x-upstream-secret"]})),
        policy("small", "request-size-limit-inbound", "RequestSizeLimitInboundPolicy",
            json!({"maxSizeInBytes": 10})),
        policy("key", "api-key-inbound", "ApiKeyInboundPolicy", json!({})),
        policy("tag-in", "set-headers-inbound", "SetHeadersInboundPolicy",
            json!({"headers": [{"name": "x-in", "value": "1"}]})),
        {"name": "custom-out", "policyType": "custom-code-outbound", "handler": {
            "export": "default", "module": "$import(./modules/out)", "options": {}}},
    ])
}

/// A project without MCP features (so any compatibilityDate is valid) with these routes.
fn write(dir: &Path, date: &str, paths: Value) {
    write_project(dir, paths, policies());
    std::fs::write(
        dir.join("zuplo.jsonc"),
        format!("{{ \"version\": 1, \"compatibilityDate\": \"{date}\" }}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("modules/out.ts"), "export default (r) => r;\n").unwrap();
}

async fn start(dir: &Path) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir);
    options.port = 0;
    gateway::start(Served::new(report), &options).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn secret_masking_rewrites_a_json_body_with_built_in_and_look_behind_patterns() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "2026-03-01",
        json!({ "/json": route("get", up.addr, &[], &["mask"]) }),
    );
    let gw = start(dir.path()).await;
    let resp = client()
        .get(format!("http://{}/json", gw.addr))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let declared: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = resp.text().await.unwrap();
    assert_eq!(declared, text.len(), "content-length recomputed");
    assert!(!text.contains(&zpka()), "{text}");
    assert!(!text.contains("sk-custom-123"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["key"], "[REDACTED]");
    assert_eq!(v["apiKey"], "[REDACTED]");
    assert_eq!(v["note"], "plain");
    assert_eq!(
        v["acceptEncoding"],
        Value::Null,
        "an encoded body could not be masked"
    );
}

#[tokio::test]
async fn the_chain_runs_on_a_500_from_the_upstream_in_list_order() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "2026-03-01",
        json!({
            "/fail": route("get", up.addr, &[], &["mask", "tag", "tag2"]),
            "/json": route("get", up.addr, &[], &["tag2", "tag"]),
        }),
    );
    let gw = start(dir.path()).await;
    let resp = client()
        .get(format!("http://{}/json", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["x-tag"],
        "outbound",
        "the last policy's value"
    );
    let resp = client()
        .get(format!("http://{}/fail", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500, "the upstream's status stays");
    assert_eq!(resp.headers()["x-tag"], "second", "the last policy's value");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["key"], "[REDACTED]");
}

/// An inbound answer (a 413 from a size limit, a 401 from an API-key check) ends the request:
/// neither the handler nor any outbound policy runs.
#[tokio::test]
async fn no_outbound_policy_runs_after_an_inbound_policy_answered() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "2026-03-01",
        json!({
            "/json": route("post", up.addr, &["small"], &["tag"]),
            "/keyed": route("get", up.addr, &["key"], &["tag"]),
        }),
    );
    let gw = start(dir.path()).await;
    let url = format!("http://{}/json", gw.addr);
    let refused = client()
        .post(&url)
        .body("x".repeat(100))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 413);
    assert!(refused.headers().get("x-tag").is_none());
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);
    // an authentication policy's 401 ends the request just as well
    let keyed = format!("http://{}/keyed", gw.addr);
    let refused = client().get(&keyed).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("x-tag").is_none());
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);
    // the same route within the limit: the handler answers and the chain runs
    let ok = client().post(&url).body("tiny").send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["x-tag"], "outbound");
}

#[tokio::test]
async fn set_and_remove_headers_on_the_response() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "2026-03-01",
        json!({ "/headers": route("get", up.addr, &[], &["keep-or-over", "strip"]) }),
    );
    let gw = start(dir.path()).await;
    let resp = client()
        .get(format!("http://{}/headers", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    assert_eq!(
        h["x-keep"], "upstream",
        "overwrite: false keeps the upstream's"
    );
    assert_eq!(h["x-over"], "gateway", "overwrite defaults to true");
    assert_eq!(h["x-new"], "gateway");
    assert!(h.get("x-upstream-secret").is_none());
    assert_eq!(resp.text().await.unwrap(), "headers");
}

#[tokio::test]
async fn before_2024_01_15_outbound_policies_run_on_2xx_only() {
    let up = upstream().await;
    for (date, on_500) in [("2023-03-14", false), ("2024-01-15", true)] {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            date,
            json!({
                "/json": route("get", up.addr, &[], &["tag"]),
                "/fail": route("get", up.addr, &[], &["mask", "tag"]),
            }),
        );
        let gw = start(dir.path()).await;
        let ok = client()
            .get(format!("http://{}/json", gw.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(ok.headers()["x-tag"], "outbound", "{date}: 2xx");
        let fail = client()
            .get(format!("http://{}/fail", gw.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(fail.status(), 500);
        assert_eq!(fail.headers().get("x-tag").is_some(), on_500, "{date}: 500");
        let text = fail.text().await.unwrap();
        assert_eq!(text.contains(&zpka()), !on_500, "{date}: {text}");
    }
}

/// The first event must reach the client before the upstream sends the second (which it does
/// only when the test says so): an answer buffered by the gateway would never arrive.
async fn assert_streams(url: &str, gate: &Notify) -> reqwest::header::HeaderMap {
    use futures_util::StreamExt;
    let resp = tokio::time::timeout(Duration::from_secs(5), client().post(url).body("{}").send())
        .await
        .expect("no answer head while the upstream held the second event back")
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let headers = resp.headers().clone();
    let mut stream = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("data: first") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("the first event did not arrive while the upstream held the second back")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("second"), "{seen}");
    gate.notify_one();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
    {
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(seen.contains("data: second"), "{seen}");
    headers
}

#[tokio::test]
async fn sse_answers_still_stream_without_body_level_outbound_policies() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "2026-03-01",
        json!({
            "/sse-plain": route("post", up.addr, &[], &[]),
            "/sse-tagged": route("post", up.addr, &[], &["tag", "strip"]),
        }),
    );
    let gw = start(dir.path()).await;
    assert_streams(&format!("http://{}/sse-plain", gw.addr), &up.gate).await;
    let headers = assert_streams(&format!("http://{}/sse-tagged", gw.addr), &up.gate).await;
    assert_eq!(headers["x-tag"], "outbound");
}

#[tokio::test]
async fn outbound_policies_mcpgw_cannot_run_refuse_the_route_before_its_handler() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "2026-03-01",
        json!({
            "/custom": route("get", up.addr, &[], &["tag", "custom-out"]),
            "/inbound-as-outbound": route("get", up.addr, &[], &["tag-in"]),
            "/outbound-as-inbound": route("get", up.addr, &["tag"], &[]),
        }),
    );
    let gw = start(dir.path()).await;
    for (path, names) in [
        ("/custom", "custom-out"),
        ("/inbound-as-outbound", "tag-in"),
        ("/outbound-as-inbound", "\"tag\""),
    ] {
        let resp = client()
            .get(format!("http://{}{path}", gw.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 501, "{path}");
        assert!(resp.headers().get("x-tag").is_none(), "{path}");
        let problem: Value = resp.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(names), "{path}: {detail}");
    }
    assert_eq!(up.hits.load(Ordering::SeqCst), 0, "no handler ran");
}

/// An `mcpServerHandler` route whose tool route masks secrets: the masked body is the tool
/// result's text; the MCP route's own outbound policy sees the JSON-RPC answer.
#[tokio::test]
async fn a_tool_routes_masked_answer_becomes_the_tool_result() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let file = "./config/routes.oas.json";
    let mut tool = route("get", up.addr, &[], &["mask"]);
    tool["get"]["operationId"] = json!("get-secret");
    tool["get"]["x-zuplo-route"]["mcp"] = json!({"type": "tool", "name": "get_secret"});
    tool["get"]["summary"] = json!("Reads the secret document");
    write(
        dir.path(),
        "2026-03-01",
        json!({
            "/mcp": {"post": {"operationId": "mcp", "x-zuplo-route": {
                "corsPolicy": "none",
                "handler": {"export": "mcpServerHandler", "module": "$import(@zuplo/runtime)",
                    "options": {"name": "secrets", "version": "1.0.0",
                        "operations": [{"file": file, "id": "get-secret"}]}},
                "policies": {"inbound": [], "outbound": ["tag"]}}}},
            "/json": tool,
        }),
    );
    let gw = start(dir.path()).await;
    let resp = client()
        .post(format!("http://{}/mcp", gw.addr))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "get_secret", "arguments": {}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.headers()["x-tag"],
        "outbound",
        "the MCP route's policy"
    );
    let v: Value = resp.json().await.unwrap();
    let text = v["result"]["content"][0]["text"].as_str().unwrap();
    assert!(!text.contains(&zpka()), "{text}");
    let inner: Value = serde_json::from_str(text).unwrap();
    assert_eq!(inner["key"], "[REDACTED]");
    assert_eq!(inner["apiKey"], "[REDACTED]");
    assert_eq!(inner["note"], "plain");
}

/// What secret masking cannot read whole is refused (500 naming the policy), never passed on
/// with its secrets.
#[tokio::test]
async fn an_answer_too_large_or_encoded_to_mask_is_refused_not_passed_on() {
    let up = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "2026-03-01",
        json!({
            "/gzip": route("get", up.addr, &[], &["mask"]),
            "/huge": route("get", up.addr, &[], &["mask"]),
        }),
    );
    let gw = start(dir.path()).await;
    for (path, why) in [("/gzip", "gzip-encoded"), ("/huge", "16777216 bytes")] {
        let resp = client()
            .get(format!("http://{}{path}", gw.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        let text = resp.text().await.unwrap();
        assert!(!text.contains(&zpka()), "{path}: {text}");
        let problem: Value = serde_json::from_str(&text).unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("\"mask\"") && detail.contains(why),
            "{path}: {detail}"
        );
    }
}

/// On a proxied MCP answer the capability filter rewrites the upstream's list first, then the
/// route's outbound policies see the filtered answer: masking the name of the one tool the
/// filter lets through leaves that tool, masked (masking first would have hidden it from the
/// filter, leaving no tool at all).
#[tokio::test]
async fn the_capability_filter_runs_before_the_outbound_policies() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let filter = json!({"name": "only-add", "policyType": "mcp-capability-filter-inbound", "handler": {
        "export": "McpCapabilityFilterInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)",
        "options": {"tools": ["add"]}}});
    let mask = policy(
        "mask-add",
        "secret-masking-outbound",
        "SecretMaskingOutboundPolicy",
        json!({"mask": "masked-add", "additionalPatterns": [r#"(?<="name":")add(?=")"#]}),
    );
    let route = json!({ "post": { "operationId": "f", "x-zuplo-route": {
        "handler": { "export": "urlForwardHandler", "module": "$import(@zuplo/runtime)",
            "options": { "baseUrl": format!("http://{up}") } },
        "policies": { "inbound": ["only-add"], "outbound": ["mask-add"] } } } });
    write_project(dir.path(), json!({ "/mcp": route }), json!([filter, mask]));
    let gw = start(dir.path()).await;
    let v: Value = client()
        .post(format!("http://{}/mcp", gw.addr))
        .header("content-type", "application/json")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tools = v["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["masked-add"], "{v}");
}
