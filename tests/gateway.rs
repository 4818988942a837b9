//! `mcpgw dev`'s gateway on 127.0.0.1:0, in process, against real HTTP upstreams: routing,
//! the policy pipeline, the streaming proxy, D10 and hot reload.

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::json;
use std::time::{Duration, Instant};

async fn start(dir: &std::path::Path) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    let mut options = DevOptions::new(dir);
    options.port = 0;
    options.reload_interval = Duration::from_millis(50);
    gateway::start(Served::new(report), &options).await.unwrap()
}

/// [`start`] with one option changed.
async fn start_with(dir: &std::path::Path, set: impl FnOnce(&mut DevOptions)) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    let mut options = DevOptions::new(dir);
    options.port = 0;
    set(&mut options);
    gateway::start(Served::new(report), &options).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post(url: &str, body: serde_json::Value) -> reqwest::Response {
    client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn proxies_and_strips_credentials_and_hop_by_hop_headers() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/open-v1": mcp_route("open", &format!("http://{up}/mcp"), &["hdr"], json!({})) }),
        json!([policy(
            "hdr",
            "set-headers-inbound",
            "SetHeadersInboundPolicy",
            json!({"headers": [{"name": "x-added", "value": "yes"}]})
        )]),
    );
    let gw = start(dir.path()).await;
    let resp = client()
        .post(format!(
            "http://{}/mcp/open-v1?a=1&access_token=URL-SECRET",
            gw.addr
        ))
        .header("authorization", "Bearer client-token")
        .header("x-forwarded-for", "203.0.113.9")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "for=203.0.113.9")
        .header("cookie", "session=abc")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "1")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", "s-123")
        .body(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["mcp-session-id"],
        "s-123",
        "end-to-end headers pass back"
    );
    let v: serde_json::Value = resp.json().await.unwrap();
    let r = &v["result"];
    assert_eq!(v["id"], 7);
    assert_eq!(r["path"], "/mcp");
    assert_eq!(
        r["query"], "a=1",
        "forwardSearch defaults to true; an access_token never leaves the gateway (issue #13)"
    );
    let h = &r["headers"];
    for name in ["x-forwarded-for", "x-forwarded-proto", "forwarded"] {
        assert!(
            h.get(name).is_none(),
            "the client's {name} was passed on: {h}"
        );
    }
    assert!(
        h.get("authorization").is_none(),
        "client token passed through: {h}"
    );
    assert!(h.get("cookie").is_none());
    assert!(
        h.get("x-hop").is_none(),
        "header named by Connection passed through"
    );
    assert_eq!(h["x-added"], "yes");
    assert_eq!(h["mcp-protocol-version"], "2025-11-25");
    assert_eq!(h["mcp-session-id"], "s-123");
    assert_eq!(r["body"], r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#);
    gw.shutdown.cancel();
}

#[tokio::test]
async fn status_cases_404_405_413_429_501_502_504() {
    let up = echo_upstream().await;
    // a port nothing listens on: bound, then released
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({
            "/mcp/open-v1": mcp_route("open", &format!("http://{up}/mcp"), &["small", "limit"], json!({})),
            "/mcp/slow-v1": mcp_route("slow", &format!("http://{up}/slow"), &[], json!({"requestTimeoutSeconds": 1})),
            "/mcp/down-v1": mcp_route("down", &format!("http://{closed}/mcp"), &[], json!({})),
            "/mcp/custom-v1": mcp_route("custom", &format!("http://{up}/mcp"), &["custom"], json!({})),
        }),
        json!([
            policy("small", "request-size-limit-inbound", "RequestSizeLimitInboundPolicy", json!({"maxSizeInBytes": 100})),
            policy("limit", "rate-limit-inbound", "RateLimitInboundPolicy", json!({"rateLimitBy": "ip", "requestsAllowed": 2, "timeWindowMinutes": 1})),
            {"name": "custom", "policyType": "custom-code-inbound", "handler": {"export": "default", "module": "$import(./modules/check)"}},
        ]),
    );
    // a module that is not there is a config error (MCP115), which would make every route 503
    std::fs::write(
        dir.path().join("modules/check.ts"),
        "export default async function (request) { return request; }\n",
    )
    .unwrap();
    let gw = start(dir.path()).await;
    let base = format!("http://{}", gw.addr);
    let problem = |r: &reqwest::Response| {
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    };

    let r = post(&format!("{base}/nowhere"), json!({})).await;
    assert_eq!(r.status(), 404);
    problem(&r);

    let r = client()
        .put(format!("{base}/mcp/open-v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");

    let r = client()
        .get(format!("{base}/mcp/slow-v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405, "GET on an MCP route");
    assert_eq!(r.headers()["allow"], "POST");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("SSE GET streams are not supported")
    );

    let r = post(
        &format!("{base}/mcp/open-v1"),
        json!({"padding": "x".repeat(200)}),
    )
    .await;
    assert_eq!(r.status(), 413);
    problem(&r);

    assert_eq!(
        post(&format!("{base}/mcp/open-v1"), json!({"id": 1}))
            .await
            .status(),
        200
    );
    assert_eq!(
        post(&format!("{base}/mcp/open-v1"), json!({"id": 2}))
            .await
            .status(),
        200
    );
    let r = post(&format!("{base}/mcp/open-v1"), json!({"id": 3})).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));

    let r = post(&format!("{base}/mcp/custom-v1"), json!({})).await;
    assert_eq!(r.status(), 501);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("custom"),
        "{body}"
    );

    let r = post(&format!("{base}/mcp/down-v1"), json!({})).await;
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 502, "{text}");

    let started = Instant::now();
    let r = post(&format!("{base}/mcp/slow-v1"), json!({})).await;
    assert_eq!(r.status(), 504);
    assert!(
        started.elapsed() < Duration::from_millis(2900),
        "timed out late: {:?}",
        started.elapsed()
    );
    gw.shutdown.cancel();
}

#[tokio::test]
async fn sse_events_arrive_one_by_one() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/sse-v1": mcp_route("sse", &format!("http://{up}/sse"), &[], json!({})) }),
        json!([]),
    );
    let gw = start(dir.path()).await;
    let started = Instant::now();
    let mut resp = post(&format!("http://{}/mcp/sse-v1", gw.addr), json!({})).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        arrivals.push(started.elapsed());
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(text.matches("event: message").count(), 3, "{text}");
    assert!(
        arrivals.len() >= 2,
        "the stream arrived in one piece: {arrivals:?}"
    );
    // the first event is there before the upstream finished (it takes at least 600 ms)
    assert!(
        arrivals[0] + Duration::from_millis(400) <= *arrivals.last().unwrap(),
        "{arrivals:?}"
    );
    gw.shutdown.cancel();
}

#[tokio::test]
async fn a_project_with_errors_answers_503_until_fixed_then_serves() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/a-v1": mcp_route("a", &format!("http://{up}/mcp"), &["missing"], json!({})) }),
        json!([]),
    );
    let gw = start(dir.path()).await;
    let mut events = mcpgw::gateway::watch(
        gw.state.clone(),
        dir.path().to_path_buf(),
        Duration::from_millis(50),
        gw.shutdown.clone(),
    );
    let r = post(&format!("http://{}/mcp/a-v1", gw.addr), json!({})).await;
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("MCP011"),
        "{body}"
    );
    write_project(
        dir.path(),
        json!({ "/mcp/a-v1": mcp_route("a", &format!("http://{up}/mcp"), &[], json!({})) }),
        json!([]),
    );
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(event, mcpgw::gateway::ReloadEvent::Reloaded(_)));
    assert_eq!(
        post(&format!("http://{}/mcp/a-v1", gw.addr), json!({}))
            .await
            .status(),
        200
    );
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_load_loses_no_request() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let project = |value: &str| {
        (
            json!({ "/mcp/a-v1": mcp_route("a", &format!("http://{up}/mcp"), &["hdr"], json!({})) }),
            json!([policy(
                "hdr",
                "set-headers-inbound",
                "SetHeadersInboundPolicy",
                json!({"headers": [{"name": "x-version", "value": value}]})
            )]),
        )
    };
    let (paths, policies) = project("v0");
    write_project(dir.path(), paths, policies);
    let gw = start(dir.path()).await;
    let mut events = mcpgw::gateway::watch(
        gw.state.clone(),
        dir.path().to_path_buf(),
        Duration::from_millis(20),
        gw.shutdown.clone(),
    );
    let url = format!("http://{}/mcp/a-v1", gw.addr);

    let load = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let c = client();
                let mut seen = Vec::new();
                let deadline = Instant::now() + Duration::from_millis(1500);
                while Instant::now() < deadline {
                    let r = c
                        .post(&url)
                        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
                        .send()
                        .await;
                    let r = r.expect("request lost during reload");
                    assert_eq!(r.status(), 200);
                    let v: serde_json::Value =
                        r.json().await.expect("truncated body during reload");
                    seen.push(
                        v["result"]["headers"]["x-version"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    );
                }
                seen
            })
        })
        .collect::<Vec<_>>();
    for version in ["v1", "v2", "v3"] {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (paths, policies) = project(version);
        write_project(dir.path(), paths, policies);
        let _ = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    }
    let mut all = Vec::new();
    for task in load {
        all.extend(task.await.unwrap());
    }
    assert!(
        all.len() > 20,
        "too few requests to mean anything: {}",
        all.len()
    );
    assert!(
        all.iter()
            .all(|v| ["v0", "v1", "v2", "v3"].contains(&v.as_str())),
        "unexpected values"
    );
    assert!(
        all.iter().any(|v| v == "v3"),
        "the last config was never served"
    );
    gw.shutdown.cancel();
}

#[tokio::test]
async fn capability_filter_hides_list_entries_and_blocks_direct_calls() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    // An McpProxyHandler route with a filter needs the MCP OAuth policy (MCP020 is an error
    // then); until the authorization server lands the filter is exercised on a URL-forward route.
    write_filtered_forward(
        dir.path(),
        &up.to_string(),
        json!([{"name": "echo", "description": "Echo, curated", "annotations": {"title": "Echo"}}]),
    );
    let gw = start(dir.path()).await;
    let url = format!("http://{}/mcp", gw.addr);

    let v: serde_json::Value = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let tools = v["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(tools.len(), 1, "{v}");
    assert_eq!(tools[0]["name"], "echo");
    assert_eq!(
        tools[0]["description"], "Echo, curated",
        "projection overlay"
    );
    assert_eq!(
        tools[0]["annotations"],
        json!({"readOnlyHint": true, "title": "Echo"}),
        "annotations merged one level deep"
    );

    let r = post(&url, json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {}}})).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v,
        json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, "message": "Method not found"}})
    );

    // a batch with one blocked call is blocked whole, with one error
    let v: serde_json::Value = post(
        &url,
        json!([
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo"}},
            {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "slow"}},
        ]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["error"]["code"], -32601);
    assert_eq!(v["id"], 4);

    // a batch with a list filters that item only
    let v: serde_json::Value = post(
        &url,
        json!([
            {"jsonrpc": "2.0", "id": 5, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 6, "method": "ping"},
        ]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v[0]["result"]["tools"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[1]["result"]["method"], "POST");

    // an allowed call passes
    let v: serde_json::Value = post(
        &url,
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo"}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(v["result"].is_object(), "{v}");
    gw.shutdown.cancel();
}

/// An upstream on 127.0.0.1 that answers every request with a JSON `200` and closes the
/// connection in the middle of the body: after part of what its `Content-Length` promised
/// (`chunked` false), or inside a chunked body before the last chunk (`chunked` true).
async fn cut_short_upstream(chunked: bool) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                // the request: headers, then as many body bytes as its Content-Length says
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                let end = loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                    if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while req.len() < end + length {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                let partial = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","#;
                let answer = if chunked {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{partial}\r\n",
                        partial.len()
                    )
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{partial}",
                        partial.len() + 100
                    )
                };
                let _ = sock.write_all(answer.as_bytes()).await;
                let _ = sock.flush().await;
                // dropping the socket closes the connection mid-body
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_upstream_body_cut_short_is_a_502_not_a_truncated_200() {
    for chunked in [true, false] {
        let up = cut_short_upstream(chunked).await;
        let dir = tempfile::tempdir().unwrap();
        // a capability filter makes the gateway read a JSON list answer whole to rewrite it
        write_filtered_forward(dir.path(), &up.to_string(), json!([{"name": "echo"}]));
        let gw = start(dir.path()).await;
        let url = format!("http://{}/mcp", gw.addr);

        let framing = if chunked { "chunked" } else { "content-length" };
        let r = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{framing}: no answer from the gateway: {e}"));
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.text().await;
        assert_eq!(
            status, 502,
            "{framing}: a cut-short answer must not pass as a {status}: {body:?}"
        );
        assert_eq!(content_type, "application/problem+json", "{framing}");
        let v: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
        assert_eq!(v["status"], 502, "{framing}: {v}");
        assert_eq!(v["instance"], "/mcp", "{framing}: {v}");
        assert!(
            v["detail"].as_str().unwrap().contains("broke off"),
            "{framing}: {v}"
        );
        gw.shutdown.cancel();
    }
}

#[tokio::test]
async fn the_mcp_server_registry_lists_routes() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({
            "/mcp/a-v1": mcp_route("a-server", &format!("http://{up}/mcp"), &[], json!({})),
            "/mcp/b-v1": mcp_route("b-server", &format!("http://{up}/mcp"), &[], json!({})),
        }),
        json!([]),
    );
    let gw = start(dir.path()).await;
    let r = client()
        .get(format!(
            "http://{}/__zuplo/mcp-registry/v0.1/servers?limit=1",
            gw.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["servers"].as_array().unwrap().len(), 1);
    assert_eq!(v["metadata"]["nextCursor"], "1");
    let server = &v["servers"][0]["server"];
    assert_eq!(
        server["remotes"][0]["url"],
        format!("http://{}/mcp/a-v1", gw.addr)
    );
    let r = client()
        .get(format!(
            "http://{}/__zuplo/mcp-registry/v0.1/servers?limit=0",
            gw.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    gw.shutdown.cancel();
}

#[tokio::test]
async fn url_rewrite_and_forward_handlers() {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let rewrite = json!({ "post": { "operationId": "rw", "x-zuplo-route": {
        "handler": { "export": "urlRewriteHandler", "module": "$import(@zuplo/runtime)", "options": { "rewritePattern": format!("http://{up}/items/${{params.id}}") } } } } });
    let forward = json!({ "get,post": { "operationId": "fw", "x-zuplo-route": {
        "handler": { "export": "urlForwardHandler", "module": "$import(@zuplo/runtime)", "options": { "baseUrl": format!("http://{up}/base"), "forwardSearch": false } } } } });
    write_project(
        dir.path(),
        json!({ "/api/items/{id}": rewrite, "/api/fw": forward }),
        json!([]),
    );
    let gw = start(dir.path()).await;
    let v: serde_json::Value = client()
        .post(format!("http://{}/api/items/a%20b?x=1", gw.addr))
        .header("authorization", "Bearer for-the-api")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["path"], "/items/a%20b");
    assert_eq!(v["result"]["query"], "x=1");
    assert_eq!(
        v["result"]["headers"]["authorization"], "Bearer for-the-api",
        "non-MCP handlers pass credentials on"
    );
    let v: serde_json::Value = client()
        .post(format!("http://{}/api/fw?dropped=1", gw.addr))
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["path"], "/base/api/fw");
    assert_eq!(
        v["result"]["query"],
        serde_json::Value::Null,
        "forwardSearch: false"
    );
    gw.shutdown.cancel();
}

#[tokio::test]
async fn the_built_in_mock_streams_progress_through_the_gateway() {
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/mock-v1": mcp_route("mock", &mock.url, &[], json!({})) }),
        json!([]),
    );
    let gw = start(dir.path()).await;
    let started = Instant::now();
    let mut resp = client()
        .post(format!("http://{}/mcp/mock-v1", gw.addr))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{"steps":3,"delayMs":300},"_meta":{"progressToken":"p1"}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut arrivals = Vec::new();
    let mut text = String::new();
    while let Some(chunk) = resp.chunk().await.unwrap() {
        let s = String::from_utf8_lossy(&chunk).to_string();
        if s.contains("notifications/progress") {
            arrivals.push(started.elapsed());
        }
        text.push_str(&s);
    }
    assert!(text.contains("\"result\""), "{text}");
    assert!(
        arrivals.len() >= 2,
        "progress arrived in one piece: {arrivals:?}\n{text}"
    );
    assert!(
        arrivals[0] + Duration::from_millis(300) <= *arrivals.last().unwrap(),
        "{arrivals:?}"
    );
    gw.shutdown.cancel();
}

/// A urlForwardHandler route `/mcp` to `upstream` (host:port) behind a capability filter that
/// lets `tools` through.
fn write_filtered_forward(dir: &std::path::Path, upstream: &str, tools: serde_json::Value) {
    let filter = json!({"name": "only-echo", "policyType": "mcp-capability-filter-inbound", "handler": {"export": "McpCapabilityFilterInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "tools": tools}}});
    let route = json!({ "post": { "operationId": "f", "x-zuplo-route": {
        "handler": { "export": "urlForwardHandler", "module": "$import(@zuplo/runtime)", "options": { "baseUrl": format!("http://{upstream}") } },
        "policies": { "inbound": ["only-echo"] } } } });
    write_project(dir, json!({ "/mcp": route }), json!([filter]));
}

/// Issue #13: a route without `requestTimeoutSeconds` is not without a limit: a hung upstream
/// answers 504 after the gateway's default (`--upstream-timeout`, 60 s unless set), naming it.
#[tokio::test]
async fn a_hung_upstream_answers_504_after_the_default_timeout() {
    assert_eq!(DevOptions::new(".").upstream_timeout_secs, 60);
    assert_eq!(DevOptions::new(".").upstream_connect_timeout_secs, 10);
    // accepts the connection, reads the request, never answers
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hung = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/hung-v1": mcp_route("hung", &format!("http://{hung}/mcp"), &[], json!({})) }),
        json!([]),
    );
    let gw = start_with(dir.path(), |o| o.upstream_timeout_secs = 1).await;
    let started = Instant::now();
    let r = post(
        &format!("http://{}/mcp/hung-v1", gw.addr),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    assert_eq!(r.status(), 504);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert!(
        doc["detail"]
            .as_str()
            .unwrap()
            .contains("--upstream-timeout"),
        "{doc}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    gw.shutdown.cancel();
}

/// Issue #13: a streamed answer whose upstream stalls is ended after the idle timeout
/// (`--upstream-idle-timeout`, 300 s unless set) instead of holding the client forever; what
/// arrived before passes through as it came.
#[tokio::test]
async fn a_stalled_sse_stream_ends_after_the_idle_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    assert_eq!(DevOptions::new(".").upstream_idle_timeout_secs, 300);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stalls = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let event = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n";
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{event}\r\n",
                    event.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                // then nothing, with the connection open
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/stalls-v1": mcp_route("stalls", &format!("http://{stalls}/mcp"), &[], json!({})) }),
        json!([]),
    );
    let gw = start_with(dir.path(), |o| o.upstream_idle_timeout_secs = 1).await;
    let started = Instant::now();
    let mut r = post(
        &format!("http://{}/mcp/stalls-v1", gw.addr),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow"}}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(5), r.chunk())
        .await
        .expect("the first event passes at once")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("notifications/progress"));
    let end = tokio::time::timeout(Duration::from_secs(10), r.chunk())
        .await
        .expect("the stalled stream was not ended");
    assert!(
        !matches!(end, Ok(Some(_))),
        "more data after the stall: {end:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    gw.shutdown.cancel();
}

/// Issue #13: a connection that sends half a request's headers (slowloris), or stays idle after
/// an answer (keep-alive), is closed after the header-read timeout.
#[tokio::test]
async fn slowloris_and_idle_keep_alive_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    assert_eq!(
        DevOptions::new(".").header_read_timeout,
        Duration::from_secs(30)
    );
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/mcp/open-v1": mcp_route("open", &format!("http://{up}/mcp"), &[], json!({})) }),
        json!([]),
    );
    let gw = start_with(dir.path(), |o| {
        o.header_read_timeout = Duration::from_secs(1)
    })
    .await;

    // reads until the gateway closes the connection; what it sent, and how long it took
    async fn until_closed(s: &mut tokio::net::TcpStream) -> (String, Duration) {
        let started = Instant::now();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => all.extend_from_slice(&buf[..n]),
                Err(_) => panic!("the connection is still open after 10 s"),
            }
        }
        (
            String::from_utf8_lossy(&all).into_owned(),
            started.elapsed(),
        )
    }

    let mut slow = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    slow.write_all(b"POST /mcp/open-v1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let (_, took) = until_closed(&mut slow).await;
    assert!(took < Duration::from_secs(5), "slowloris held for {took:?}");

    let mut idle = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    idle.write_all(
        format!(
            "POST /mcp/open-v1 HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let (answer, took) = until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        took < Duration::from_secs(5),
        "idle keep-alive held for {took:?}"
    );
    gw.shutdown.cancel();
}

/// Issue #13: a JSON answer the gateway reads whole (to filter it) that stalls halfway is a
/// 502 after the idle timeout, not a request held open.
#[tokio::test]
async fn a_stalled_json_answer_read_for_filtering_is_a_502_after_the_idle_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,";
                let _ = socket.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    write_filtered_forward(dir.path(), &up.to_string(), json!([{"name": "echo"}]));
    let gw = start_with(dir.path(), |o| o.upstream_idle_timeout_secs = 1).await;
    let started = Instant::now();
    let r = post(
        &format!("http://{}/mcp", gw.addr),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    )
    .await;
    assert_eq!(r.status(), 502);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    gw.shutdown.cancel();
}
