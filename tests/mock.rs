//! `mcpgw upstream mock` over real HTTP: every method, batches, notifications, errors, SSE
//! streaming of progress, 405/413, the CLI's READY line and shutdown, and real MCP clients (the
//! TS SDK and the Python SDK of the interop harness) against it.

mod common;

use axum::body::Body;
use common::{client_steps_ok, step};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tower::ServiceExt;

use mcpgw::mock::{self, MockHandle};

const JSON_AND_SSE: &str = "application/json, text/event-stream";
const PV_META: &str = "io.modelcontextprotocol/protocolVersion";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn start() -> MockHandle {
    mock::spawn("127.0.0.1:0").await.unwrap()
}

/// POSTs a raw body with the usual MCP headers.
async fn post_raw(url: &str, body: impl Into<reqwest::Body>, accept: &str) -> reqwest::Response {
    client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// POSTs JSON and reads a JSON answer.
async fn rpc(url: &str, body: Value) -> (u16, Value) {
    let resp = post_raw(url, body.to_string(), JSON_AND_SSE).await;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    (status, resp.json().await.unwrap())
}

fn req(id: i64, method: &str, params: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
}

async fn call(url: &str, params: Value) -> Value {
    let (status, body) = rpc(url, req(1, "tools/call", params)).await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn initialize_negotiates_and_issues_a_session_that_is_not_required() {
    let m = start().await;
    for (asked, got) in [
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("2024-11-05", "2025-11-25"),
        ("2026-07-28", "2025-11-25"),
    ] {
        let body = req(
            1,
            "initialize",
            json!({"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}),
        );
        let resp = post_raw(&m.url, body.to_string(), JSON_AND_SSE).await;
        assert_eq!(resp.status(), 200);
        let session = resp.headers().get("mcp-session-id").cloned();
        let body: Value = resp.json().await.unwrap();
        let r = &body["result"];
        assert_eq!(r["protocolVersion"], got, "asked {asked}");
        assert_eq!(r["serverInfo"]["name"], "mcpgw-mock");
        assert!(r["serverInfo"]["version"].is_string());
        for cap in ["tools", "prompts", "resources"] {
            assert!(r["capabilities"][cap].is_object(), "{cap}");
        }
        assert!(session.is_some_and(|s| !s.is_empty()));
    }
    // Stateless: any session id, or none, and a protocol version header.
    for session in [None, Some("not-a-session-we-issued")] {
        let mut rb = client()
            .post(&m.url)
            .header("accept", JSON_AND_SSE)
            .header("mcp-protocol-version", "2025-11-25")
            .body(req(2, "ping", json!({})).to_string());
        if let Some(s) = session {
            rb = rb.header("mcp-session-id", s);
        }
        let resp = rb.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().get("mcp-session-id").is_none());
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body, json!({"jsonrpc":"2.0","id":2,"result":{}}));
    }
    let resp = client()
        .delete(&m.url)
        .header("mcp-session-id", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    m.shutdown().await.unwrap();
}

/// The per-request envelope of a 2026-07-28 request.
fn envelope() -> Value {
    json!({"_meta": {
        PV_META: "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name":"t","version":"1"}
    }})
}

/// A 2026-07-28 request as an SDK sends it: the envelope, and the routing headers mirroring
/// the body (`Mcp-Name` for the methods that name something).
fn modern(id: i64, method: &str, extra: Value) -> (Value, Vec<(&'static str, String)>) {
    let mut params = envelope();
    if let Value::Object(more) = extra {
        for (k, v) in more {
            params[k] = v;
        }
    }
    let mut headers = vec![
        ("mcp-protocol-version", "2026-07-28".to_string()),
        ("mcp-method", method.to_string()),
    ];
    let name = params.get("name").or_else(|| params.get("uri"));
    if let Some(n) = name.and_then(Value::as_str) {
        headers.push(("mcp-name", n.to_string()));
    }
    (req(id, method, params), headers)
}

/// POSTs a body with these headers; the status and the JSON answer.
async fn post_with(url: &str, body: &Value, headers: &[(&str, String)]) -> (u16, Value) {
    let mut rb = client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", JSON_AND_SSE)
        .body(body.to_string());
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// A well-formed 2026-07-28 request.
async fn modern_rpc(url: &str, id: i64, method: &str, extra: Value) -> (u16, Value) {
    let (body, headers) = modern(id, method, extra);
    post_with(url, &body, &headers).await
}

#[tokio::test]
async fn server_discover_speaks_2026_07_28() {
    let m = start().await;
    let (status, body) = modern_rpc(&m.url, 1, "server/discover", json!({})).await;
    assert_eq!(status, 200);
    let r = &body["result"];
    assert_eq!(r["supportedVersions"], json!(["2026-07-28"]));
    assert_eq!(r["resultType"], "complete");
    assert_eq!(r["ttlMs"], 0);
    assert!(r["cacheScope"] == "private" || r["cacheScope"] == "public");
    assert!(r["capabilities"]["tools"].is_object());
    assert_eq!(
        r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcpgw-mock"
    );
    // Modern requests: every result says resultType, lists carry cache hints.
    let (_, body) = modern_rpc(&m.url, 2, "tools/list", json!({})).await;
    assert_eq!(body["result"]["resultType"], "complete");
    assert_eq!(body["result"]["ttlMs"], 0);
    let (status, body) = modern_rpc(
        &m.url,
        3,
        "tools/call",
        json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["content"][0]["text"], "3");
    assert_eq!(body["result"]["resultType"], "complete");
    // Without the 2026-07-28 header or envelope a request is session-era, whatever the
    // header says otherwise (the header is not a version negotiation).
    for header in ["garbage", "2025-06-18"] {
        let (status, body) = post_with(
            &m.url,
            &req(6, "tools/list", json!({})),
            &[("mcp-protocol-version", header.to_string())],
        )
        .await;
        assert_eq!(status, 200, "{header}");
        assert!(body["result"].get("resultType").is_none(), "{header}");
    }
    // Handshake-era requests keep the old result shapes.
    let (_, body) = rpc(&m.url, req(5, "tools/list", json!({}))).await;
    assert!(body["result"].get("resultType").is_none());
    m.shutdown().await.unwrap();
}

/// Every rung of the 2026-07-28 ladder, as the mock answers it: the HTTP status and the
/// JSON-RPC error the revision prescribes (before the fix: HTTP 200 and a result, or -32022 at
/// HTTP 200).
#[tokio::test]
async fn the_mock_enforces_the_2026_07_28_request_rules() {
    let m = start().await;
    let call = |name: &str| {
        modern(
            7,
            "tools/call",
            json!({"name": name, "arguments": {"text": "x"}}),
        )
    };
    let (body, good) = call("echo");
    assert_eq!(post_with(&m.url, &body, &good).await.0, 200);
    let without = |drop: &str| -> Vec<(&'static str, String)> {
        good.iter().filter(|(k, _)| *k != drop).cloned().collect()
    };
    let with = |name: &'static str, value: &str| -> Vec<(&'static str, String)> {
        let mut h = without(name);
        h.push((name, value.to_string()));
        h
    };
    // header mismatch: name differs, method differs, method missing, version differs
    for (why, headers) in [
        ("name differs", with("mcp-name", "add")),
        ("method differs", with("mcp-method", "tools/list")),
        ("method missing", without("mcp-method")),
        (
            "version differs",
            with("mcp-protocol-version", "2025-11-25"),
        ),
        ("version missing", without("mcp-protocol-version")),
    ] {
        let (status, answer) = post_with(&m.url, &body, &headers).await;
        assert_eq!(status, 400, "{why}: {answer}");
        assert_eq!(answer["error"]["code"], -32020, "{why}");
        assert_eq!(answer["id"], 7, "{why}");
    }
    // a base64 sentinel name that decodes to the body's name matches
    let (status, _) = post_with(&m.url, &body, &with("mcp-name", "=?base64?ZWNobw==?=")).await;
    assert_eq!(status, 200);
    // unsupported version: 400 -32022 naming what is served and what was asked
    let mut future = body.clone();
    future["params"]["_meta"][PV_META] = json!("2099-01-01");
    let (status, answer) =
        post_with(&m.url, &future, &with("mcp-protocol-version", "2099-01-01")).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], -32022);
    assert_eq!(
        answer["error"]["data"],
        json!({"supported": ["2026-07-28"], "requested": "2099-01-01"})
    );
    // invalid _meta: no capabilities, not an object, a non-string version
    let mut no_caps = body.clone();
    no_caps["params"]["_meta"]
        .as_object_mut()
        .unwrap()
        .remove("io.modelcontextprotocol/clientCapabilities");
    let mut number = body.clone();
    number["params"]["_meta"][PV_META] = json!(2026);
    for (why, bad, headers) in [
        ("no capabilities", no_caps, good.clone()),
        (
            "version not a string",
            number,
            without("mcp-protocol-version"),
        ),
        (
            "header says 2026-07-28, body has no envelope",
            req(7, "tools/list", json!({})),
            with("mcp-method", "tools/list"),
        ),
    ] {
        let (status, answer) = post_with(&m.url, &bad, &headers).await;
        assert_eq!(status, 400, "{why}: {answer}");
        let code = answer["error"]["code"].as_i64().unwrap();
        assert!(code == -32602 || code == -32020, "{why}: {answer}");
    }
    let mut no_caps = body.clone();
    no_caps["params"]["_meta"] = json!({PV_META: "2026-07-28"});
    let (status, answer) = post_with(&m.url, &no_caps, &good).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!(-32602))
    );
    // methods the revision removed: 404 -32601 (the session era still has them)
    for removed in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
        "resources/unsubscribe",
    ] {
        let (status, answer) = modern_rpc(&m.url, 8, removed, json!({})).await;
        assert_eq!(status, 404, "{removed}: {answer}");
        assert_eq!(answer["error"]["code"], -32601, "{removed}");
    }
    let (status, answer) = modern_rpc(&m.url, 9, "tools/frobnicate", json!({})).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (404, json!(-32601))
    );
    let (status, _) = rpc(&m.url, req(8, "ping", json!({}))).await;
    assert_eq!(status, 200);
    // a 2026-07-28 request cannot ride in a batch
    let (batch_item, _) = modern(10, "tools/list", json!({}));
    let (status, answer) = rpc(&m.url, json!([batch_item])).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (400, json!(-32600))
    );
    m.shutdown().await.unwrap();
}

/// `--modern-only` (MockOptions::modern_only): 2026-07-28 requests are served; session-era
/// traffic gets what a 2026-07-28-only endpoint answers an envelope-less request.
#[tokio::test]
async fn modern_only_serves_2026_07_28_alone() {
    let m = mock::spawn_with(
        "127.0.0.1:0",
        mock::MockOptions {
            modern_only: true,
            ..mock::MockOptions::default()
        },
    )
    .await
    .unwrap();
    let (status, body) = modern_rpc(&m.url, 1, "server/discover", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["supportedVersions"], json!(["2026-07-28"]));
    let (status, body) = modern_rpc(
        &m.url,
        2,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    )
    .await;
    assert_eq!(
        (status, body["result"]["content"][0]["text"].clone()),
        (200, json!("hi"))
    );
    // initialize: -32022 naming 2026-07-28 and the version the client asked for
    let init = req(
        3,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name":"t","version":"1"}}),
    );
    let resp = post_raw(&m.url, init.to_string(), JSON_AND_SSE).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("mcp-session-id").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], 3);
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(
        body["error"]["data"],
        json!({"supported": ["2026-07-28"], "requested": "2025-11-25"})
    );
    // any envelope-less request, with the session-era header or none
    for headers in [
        vec![("mcp-protocol-version", "2025-06-18".to_string())],
        vec![],
    ] {
        let (status, body) = post_with(&m.url, &req(4, "tools/list", json!({})), &headers).await;
        assert_eq!(status, 400, "{headers:?}");
        assert_eq!(body["error"]["code"], -32022);
        assert_eq!(body["error"]["data"]["supported"], json!(["2026-07-28"]));
    }
    let (status, body) = rpc(&m.url, json!([req(5, "tools/list", json!({}))])).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!(-32022))
    );
    let resp = client().delete(&m.url).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    // the rules still hold
    let (body, mut headers) = modern(6, "tools/list", json!({}));
    headers.retain(|(k, _)| *k != "mcp-method");
    assert_eq!(post_with(&m.url, &body, &headers).await.0, 400);
    m.shutdown().await.unwrap();
}

#[tokio::test]
async fn tools_list_and_call() {
    let m = start().await;
    let (status, body) = rpc(&m.url, req(1, "tools/list", json!({}))).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "add", "slow", "fail"]);
    for t in body["result"]["tools"].as_array().unwrap() {
        assert_eq!(t["inputSchema"]["type"], "object");
    }

    let r = call(&m.url, json!({"name":"echo","arguments":{"text":"héllo"}})).await;
    assert_eq!(
        r["result"],
        json!({"content":[{"type":"text","text":"héllo"}]})
    );
    let r = call(&m.url, json!({"name":"add","arguments":{"a":2,"b":3}})).await;
    assert_eq!(r["result"]["content"][0]["text"], "5");
    let r = call(&m.url, json!({"name":"add","arguments":{"a":0.5,"b":-2}})).await;
    assert_eq!(r["result"]["content"][0]["text"], "-1.5");
    let r = call(&m.url, json!({"name":"fail","arguments":{}})).await;
    assert_eq!(r["result"]["isError"], true);
    assert!(r["result"]["content"][0]["text"].is_string());
    let r = call(
        &m.url,
        json!({"name":"fail","arguments":{"message":"boom"}}),
    )
    .await;
    assert_eq!(r["result"]["content"][0]["text"], "boom");
    // Without a progress token and with JSON accepted, slow answers JSON.
    let r = call(
        &m.url,
        json!({"name":"slow","arguments":{"steps":2,"delayMs":1}}),
    )
    .await;
    assert_eq!(r["result"]["content"][0]["text"], "slow: finished 2 steps");

    for bad in [
        json!({"name":"nope"}),
        json!({"arguments":{}}),
        json!({"name":"echo"}),
        json!({"name":"echo","arguments":{"text":5}}),
        json!({"name":"echo","arguments":"text"}),
        json!({"name":"add","arguments":{"a":"2","b":3}}),
        json!({"name":"add","arguments":{"a":1}}),
        json!({"name":"slow","arguments":{"steps":0}}),
        json!({"name":"slow","arguments":{"steps":1,"delayMs":999999}}),
        json!({"name":"slow","arguments":{"steps":100,"delayMs":1000}}),
    ] {
        let r = call(&m.url, bad.clone()).await;
        assert_eq!(r["error"]["code"], -32602, "{bad}: {r}");
        assert_eq!(r["id"], 1);
    }
    let (_, r) = rpc(&m.url, req(9, "tools/call", json!(["echo"]))).await;
    assert_eq!(r["error"]["code"], -32602);
    let (_, r) = rpc(&m.url, req(9, "tools/list", json!({"cursor": "abc"}))).await;
    assert_eq!(r["error"]["code"], -32602);
    m.shutdown().await.unwrap();
}

#[tokio::test]
async fn prompts_and_resources() {
    let m = start().await;
    let (_, r) = rpc(&m.url, req(1, "prompts/list", json!({}))).await;
    let prompts = r["result"]["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0]["name"], "greeting");
    assert_eq!(prompts[0]["arguments"][0]["name"], "name");
    assert_eq!(prompts[0]["arguments"][0]["required"], true);
    let (_, r) = rpc(
        &m.url,
        req(
            2,
            "prompts/get",
            json!({"name":"greeting","arguments":{"name":"Ada"}}),
        ),
    )
    .await;
    assert_eq!(r["result"]["messages"][0]["role"], "user");
    assert_eq!(
        r["result"]["messages"][0]["content"]["text"],
        "Say hello to Ada."
    );
    for bad in [
        json!({"name":"greeting"}),
        json!({"name":"other","arguments":{"name":"x"}}),
        json!({}),
    ] {
        let (_, r) = rpc(&m.url, req(3, "prompts/get", bad.clone())).await;
        assert_eq!(r["error"]["code"], -32602, "{bad}");
    }

    let (_, r) = rpc(&m.url, req(4, "resources/list", json!({}))).await;
    let uris: Vec<&str> = r["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["mock://hello", "mock://info"]);
    let (_, r) = rpc(&m.url, req(5, "resources/templates/list", json!({}))).await;
    assert_eq!(
        r["result"]["resourceTemplates"][0]["uriTemplate"],
        "mock://echo/{text}"
    );
    let (_, r) = rpc(
        &m.url,
        req(6, "resources/read", json!({"uri":"mock://hello"})),
    )
    .await;
    assert_eq!(r["result"]["contents"][0]["uri"], "mock://hello");
    assert_eq!(r["result"]["contents"][0]["text"], "Hello from mcpgw-mock!");
    let (_, r) = rpc(
        &m.url,
        req(7, "resources/read", json!({"uri":"mock://info"})),
    )
    .await;
    let info: Value =
        serde_json::from_str(r["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(info["serverInfo"]["name"], "mcpgw-mock");
    let (_, r) = rpc(
        &m.url,
        req(8, "resources/read", json!({"uri":"mock://echo/abc"})),
    )
    .await;
    assert_eq!(r["result"]["contents"][0]["text"], "abc");
    let (_, r) = rpc(
        &m.url,
        req(9, "resources/read", json!({"uri":"mock://nope"})),
    )
    .await;
    assert_eq!(r["error"]["code"], -32002);
    let (_, r) = rpc(&m.url, req(10, "resources/read", json!({}))).await;
    assert_eq!(r["error"]["code"], -32602);
    m.shutdown().await.unwrap();
}

#[tokio::test]
async fn batches_notifications_and_responses() {
    let m = start().await;
    let batch = json!([
        req(1, "ping", json!({})),
        {"jsonrpc":"2.0","method":"notifications/initialized"},
        {"jsonrpc":"2.0","id":"two","method":"tools/call","params":{"name":"add","arguments":{"a":40,"b":2}}},
        {"jsonrpc":"1.0","id":3,"method":"ping"},
        {"jsonrpc":"2.0","id":4,"method":"no/such"},
        {"jsonrpc":"2.0","id":5,"result":{}},
    ]);
    let (status, body) = rpc(&m.url, batch).await;
    assert_eq!(status, 200);
    let items = body.as_array().unwrap();
    assert_eq!(items.len(), 4, "{body}");
    assert_eq!(items[0], json!({"jsonrpc":"2.0","id":1,"result":{}}));
    assert_eq!(items[1]["id"], "two");
    assert_eq!(items[1]["result"]["content"][0]["text"], "42");
    assert_eq!(items[2]["id"], 3);
    assert_eq!(items[2]["error"]["code"], -32600);
    assert_eq!(items[3]["id"], 4);
    assert_eq!(items[3]["error"]["code"], -32601);

    // Notifications and client responses: 202, no body.
    for body in [
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}),
        json!({"jsonrpc":"2.0","method":"no/such/notification"}),
        json!({"jsonrpc":"2.0","id":7,"result":{}}),
        json!([{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]),
    ] {
        let resp = post_raw(&m.url, body.to_string(), JSON_AND_SSE).await;
        assert_eq!(resp.status(), 202, "{body}");
        assert!(resp.bytes().await.unwrap().is_empty());
    }
    m.shutdown().await.unwrap();
}

#[tokio::test]
async fn protocol_errors() {
    let m = start().await;
    // Unparseable: -32700 with id null.
    for raw in ["{not json", "", "[1,"] {
        let resp = post_raw(&m.url, raw, JSON_AND_SSE).await;
        assert_eq!(resp.status(), 400, "{raw:?}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], -32700, "{raw:?}");
        assert_eq!(body["id"], Value::Null);
        assert_eq!(body["jsonrpc"], "2.0");
    }
    // Wrong JSON-RPC shape: -32600, with the id when one is readable.
    for (raw, id) in [
        (json!(5), Value::Null),
        (json!("ping"), Value::Null),
        (json!([]), Value::Null),
        (json!({"jsonrpc":"2.0","id":1}), json!(1)),
        (json!({"id":1,"method":"ping"}), json!(1)),
        (
            json!({"jsonrpc":"2.0","id":[1],"method":"ping"}),
            Value::Null,
        ),
        (
            json!({"jsonrpc":"2.0","id":"x","method":"ping","params":3}),
            json!("x"),
        ),
    ] {
        let resp = post_raw(&m.url, raw.to_string(), JSON_AND_SSE).await;
        assert_eq!(resp.status(), 400, "{raw}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], -32600, "{raw}");
        assert_eq!(body["id"], id, "{raw}");
    }
    // A batch of garbage: one -32600 per item.
    let (status, body) = rpc(&m.url, json!([1, 2])).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 2);
    assert_eq!(body[1]["error"]["code"], -32600);
    // Unknown method, bad params.
    let (status, body) = rpc(&m.url, req(1, "tools/frobnicate", json!({}))).await;
    assert_eq!(status, 200);
    assert_eq!(body["error"]["code"], -32601);
    assert_eq!(body["id"], 1);
    let (_, body) = rpc(&m.url, req(2, "initialize", json!({"protocolVersion": 7}))).await;
    assert_eq!(body["error"]["code"], -32602);
    let (status, body) = rpc(&m.url, req(3, "ping", json!({"_meta": {PV_META: 2026}}))).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32602);
    m.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_methods_and_body_limit() {
    let m = start().await;
    let resp = client()
        .get(&m.url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST, DELETE");
    let resp = client().put(&m.url).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST, DELETE");
    let resp = client().delete(&m.url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client()
        .post(format!("http://{}/other", m.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // 5 MiB of valid JSON: refused before parsing.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    let resp = post_raw(&m.url, big, JSON_AND_SSE).await;
    assert_eq!(resp.status(), 413);
    // Just under the cap is fine.
    let fits = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "y".repeat(mock::MAX_BODY_BYTES - 200)
    );
    let resp = post_raw(&m.url, fits, JSON_AND_SSE).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["result"]["content"][0]["text"].as_str().unwrap().len(),
        mock::MAX_BODY_BYTES - 200
    );
    m.shutdown().await.unwrap();
}

/// One SSE event and when its last byte arrived.
struct Arrival {
    at: Instant,
    event: Option<String>,
    data: Value,
}

/// Reads an SSE response to its end, timestamping each event as its bytes arrive.
async fn read_sse(resp: reqwest::Response) -> Vec<Arrival> {
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let at = Instant::now();
        buf.extend_from_slice(&chunk.unwrap());
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let raw: Vec<u8> = buf.drain(..end + 2).collect();
            let block = String::from_utf8(raw).unwrap();
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v).to_string());
                }
            }
            if !data.is_empty() {
                out.push(Arrival {
                    at,
                    event,
                    data: serde_json::from_str(&data.join("\n")).unwrap(),
                });
            }
        }
    }
    out
}

#[tokio::test]
async fn slow_streams_progress_event_by_event() {
    let m = start().await;
    let (steps, delay_ms) = (4u64, 400u64);
    let body = req(
        7,
        "tools/call",
        json!({"name":"slow","arguments":{"steps":steps,"delayMs":delay_ms},"_meta":{"progressToken":"p-1"}}),
    );
    let resp = post_raw(&m.url, body.to_string(), JSON_AND_SSE).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = read_sse(resp).await;
    assert_eq!(events.len(), steps as usize + 1);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.event.as_deref(), Some("message"));
        if i < steps as usize {
            assert_eq!(e.data["method"], "notifications/progress");
            assert_eq!(e.data["params"]["progressToken"], "p-1");
            assert_eq!(e.data["params"]["progress"], i as u64 + 1);
            assert_eq!(e.data["params"]["total"], steps);
        }
    }
    let last = &events[steps as usize];
    assert_eq!(last.data["id"], 7);
    assert_eq!(
        last.data["result"]["content"][0]["text"],
        "slow: finished 4 steps"
    );
    // Streamed, not buffered: the server waits delayMs before each step, so the first and the
    // last progress event are at least 3 × 400 ms apart when sent. Buffering would deliver them
    // together; a busy machine only stretches the gap. Half the nominal gap is the bar.
    let spread = events[steps as usize - 1].at - events[0].at;
    assert!(
        spread >= Duration::from_millis(delay_ms * (steps - 1) / 2),
        "progress events arrived together ({spread:?} apart): the stream is buffered"
    );
    assert!(last.at >= events[steps as usize - 1].at);
    m.shutdown().await.unwrap();
}

#[tokio::test]
async fn accept_decides_json_or_sse() {
    let m = start().await;
    // Only SSE accepted: a plain request comes back as one SSE event.
    let resp = post_raw(
        &m.url,
        req(1, "ping", json!({})).to_string(),
        "text/event-stream",
    )
    .await;
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = read_sse(resp).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data, json!({"jsonrpc":"2.0","id":1,"result":{}}));
    // Only SSE, a batch: one event per response.
    let resp = post_raw(
        &m.url,
        json!([req(1, "ping", json!({})), req(2, "no/such", json!({}))]).to_string(),
        "application/json;q=0.1, text/event-stream",
    )
    .await;
    let events = read_sse(resp).await;
    let ids: Vec<&Value> = events.iter().map(|e| &e.data["id"]).collect();
    assert_eq!(ids, [&json!(1), &json!(2)]);
    // JSON only: a progress token does not make slow stream.
    let body = req(
        3,
        "tools/call",
        json!({"name":"slow","arguments":{"steps":2,"delayMs":1},"_meta":{"progressToken":1}}),
    );
    let resp = post_raw(&m.url, body.to_string(), "application/json").await;
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["id"], 3);
    // No Accept at all: JSON.
    let resp = client()
        .post(&m.url)
        .body(req(4, "ping", json!({})).to_string())
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    m.shutdown().await.unwrap();
}

// ---- the binary: READY line, shutdown, real MCP clients ----

/// Kills the child on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `mcpgw upstream mock --port 0` and reads its READY line.
fn spawn_mock_binary() -> (Child, Value) {
    spawn_mock_binary_with(&[])
}

fn spawn_mock_binary_with(extra: &[&str]) -> (Child, Value) {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_mcpgw"))
            .args(["upstream", "mock", "--port", "0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(json) = line.strip_prefix("READY ") {
                let _ = tx.send(json.to_string());
            }
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no READY line from mcpgw upstream mock");
    (child, serde_json::from_str(&ready).unwrap())
}

#[tokio::test]
async fn binary_prints_ready_serves_and_stops_on_sigterm() {
    let (mut child, ready) = spawn_mock_binary();
    let url = ready["url"].as_str().unwrap().to_string();
    let port = ready["port"].as_u64().unwrap();
    assert_eq!(url, format!("http://127.0.0.1:{port}/mcp"));
    let (status, body) = rpc(&url, req(1, "ping", json!({}))).await;
    assert_eq!((status, body["result"].clone()), (200, json!({})));

    if cfg!(unix) {
        let killed = Command::new("kill")
            .args(["-TERM", &child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(status.code(), Some(0), "graceful exit code");
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
        assert!(err.contains(&url), "human line names the URL: {err}");
    }
}

/// The interop harness (see /work/shared/interop/README.md): `MCPGW_INTEROP_DIR`, else
/// `target/interop` of this checkout. `None` (after printing why) when it is not installed;
/// with `MCPGW_INTEROP_REQUIRED=1` a missing harness fails the test instead.
fn interop_dir(needs: &[&str]) -> Option<PathBuf> {
    let dir = std::env::var_os("MCPGW_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/interop"));
    let missing: Vec<&&str> = needs.iter().filter(|p| !dir.join(p).exists()).collect();
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if missing.is_empty() && node_ok {
        return Some(dir);
    }
    let why = format!(
        "interop harness not usable at {} (missing: {missing:?}, node on PATH: {node_ok}); \
         install it with `INTEROP_SKIP_NODE22=1 bash ../shared/interop/install.sh target/interop`",
        dir.display()
    );
    if std::env::var_os("MCPGW_INTEROP_REQUIRED").is_some_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("SKIP: {why}");
    None
}

fn tool_names(steps: &[Value]) -> Vec<String> {
    step(steps, "tools")["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn interop_ts_sdk_client() {
    let Some(dir) = interop_dir(&[
        "clients/mcp-client.mjs",
        "node_modules/@modelcontextprotocol/sdk",
    ]) else {
        return;
    };
    let (_mock, ready) = spawn_mock_binary();
    let url = ready["url"].as_str().unwrap();
    let steps = client_steps_ok(
        Command::new("node")
            .current_dir(&dir)
            .arg(dir.join("clients/mcp-client.mjs"))
            .arg(url)
            .args([
                "--list-tools",
                "--call",
                "add",
                "--args",
                r#"{"a":2,"b":3}"#,
            ])
            .args(["--call", "slow", "--args", r#"{"steps":2,"delayMs":10}"#])
            .args(["--get-prompt", "greeting", "--args", r#"{"name":"Ada"}"#])
            .args(["--read-resource", "mock://hello", "--ping"])
            .args(["--timeout", "60"]),
    );
    let connect = step(&steps, "connect");
    assert_eq!(connect["serverInfo"]["name"], "mcpgw-mock");
    assert_eq!(connect["protocolVersion"], "2025-11-25");
    assert_eq!(connect["auth"], "none");
    assert_eq!(tool_names(&steps), ["echo", "add", "slow", "fail"]);
    let calls: Vec<&Value> = steps.iter().filter(|s| s["step"] == "call").collect();
    assert_eq!(calls[0]["name"], "add");
    assert_eq!(calls[0]["isError"], false);
    assert_eq!(calls[0]["result"]["content"][0]["text"], "5");
    assert_eq!(
        calls[1]["result"]["content"][0]["text"],
        "slow: finished 2 steps"
    );
    assert_eq!(
        step(&steps, "prompt")["result"]["messages"][0]["content"]["text"],
        "Say hello to Ada."
    );
    assert_eq!(
        step(&steps, "resource")["result"]["contents"][0]["text"],
        "Hello from mcpgw-mock!"
    );
    step(&steps, "pong");
}

#[test]
fn interop_python_sdk_client_both_eras() {
    let Some(dir) = interop_dir(&["clients/py-client.py", "venv/bin/python"]) else {
        return;
    };
    let (_mock, ready) = spawn_mock_binary();
    let url = ready["url"].as_str().unwrap();
    // auto: server/discover at 2026-07-28; legacy: initialize at 2025-11-25.
    for (mode, version) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
        let steps = client_steps_ok(
            Command::new(dir.join("venv/bin/python"))
                .current_dir(&dir)
                .arg(dir.join("clients/py-client.py"))
                .arg(url)
                .args(["--mode", mode, "--list-tools"])
                .args(["--call", "add", "--args", r#"{"a":2,"b":3}"#])
                .args(["--call", "fail", "--list-prompts", "--list-resources"])
                .args(["--timeout", "60"]),
        );
        let connect = step(&steps, "connect");
        assert_eq!(connect["protocolVersion"], version, "{mode}");
        assert_eq!(connect["serverInfo"]["name"], "mcpgw-mock", "{mode}");
        assert_eq!(tool_names(&steps), ["echo", "add", "slow", "fail"]);
        let calls: Vec<&Value> = steps.iter().filter(|s| s["step"] == "call").collect();
        assert_eq!(calls[0]["result"]["content"][0]["text"], "5", "{mode}");
        assert_eq!(calls[1]["name"], "fail");
        assert_eq!(calls[1]["isError"], true, "{mode}");
        assert_eq!(
            step(&steps, "prompts")["prompts"][0]["name"],
            "greeting",
            "{mode}"
        );
        assert_eq!(
            step(&steps, "resources")["resources"][0]["uri"],
            "mock://hello",
            "{mode}"
        );
    }
}

/// The SDKs' own 2026-07-28 clients (TS SDK v2 pinned, Python SDK 2.3) against
/// `mcpgw upstream mock --modern-only`: the mock's rules accept what real clients send, and
/// its READY line says which versions it serves.
#[test]
fn interop_modern_only_mock_serves_the_sdk_2026_07_28_clients() {
    let Some(dir) = interop_dir(&[
        "clients/mcp-client-v2.mjs",
        "node_modules/@modelcontextprotocol/client",
        "clients/py-client.py",
        "venv/bin/python",
    ]) else {
        return;
    };
    let (_mock, ready) = spawn_mock_binary_with(&["--modern-only"]);
    assert_eq!(ready["protocolVersions"], json!(["2026-07-28"]));
    let url = ready["url"].as_str().unwrap();
    let ts = client_steps_ok(
        Command::new("node")
            .current_dir(&dir)
            .arg(dir.join("clients/mcp-client-v2.mjs"))
            .arg(url)
            .args(["--era", "pin", "--list-tools"])
            .args(["--call", "echo", "--args", r#"{"text":"hi"}"#])
            .args(["--timeout", "60"]),
    );
    assert_eq!(step(&ts, "connect")["era"], "modern");
    assert_eq!(
        step(&ts, "tools")["names"],
        json!(["echo", "add", "slow", "fail"])
    );
    assert_eq!(step(&ts, "call")["content"][0]["text"], "hi", "{ts:?}");
    let py = client_steps_ok(
        Command::new(dir.join("venv/bin/python"))
            .current_dir(&dir)
            .arg(dir.join("clients/py-client.py"))
            .arg(url)
            .args(["--mode", "auto", "--list-tools"])
            .args(["--call", "echo", "--args", r#"{"text":"hi"}"#])
            .args(["--list-resources", "--timeout", "60"]),
    );
    assert_eq!(step(&py, "connect")["protocolVersion"], "2026-07-28");
    assert_eq!(tool_names(&py), ["echo", "add", "slow", "fail"]);
    assert_eq!(step(&py, "call")["result"]["content"][0]["text"], "hi");
    assert_eq!(
        step(&py, "resources")["resources"][0]["uri"],
        "mock://hello"
    );
}

// ---- no panic on any input ----

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z/:_.0-9{}-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON-RPC-ish messages: real method and parameter names with random values. `slow` is left
/// out (it sleeps by design).
fn message() -> impl Strategy<Value = Value> {
    let method = prop_oneof![
        Just("initialize"),
        Just("server/discover"),
        Just("ping"),
        Just("tools/list"),
        Just("tools/call"),
        Just("prompts/list"),
        Just("prompts/get"),
        Just("resources/list"),
        Just("resources/read"),
        Just("resources/templates/list"),
        Just("notifications/initialized"),
        Just("nope"),
    ];
    let name = prop_oneof![
        Just(json!("echo")),
        Just(json!("add")),
        Just(json!("fail")),
        Just(json!("greeting")),
        any_json()
    ];
    let params = (
        name,
        any_json(),
        any_json(),
        any_json(),
        prop::option::of(any_json()),
    )
        .prop_map(|(name, arguments, meta, version, uri)| {
            let mut p = json!({"name": name, "arguments": arguments, "_meta": meta, "protocolVersion": version});
            if let Some(uri) = uri {
                p["uri"] = uri;
            }
            p
        });
    (
        prop::option::of(prop_oneof![Just(json!("2.0")), any_json()]),
        prop::option::of(any_json()),
        prop::option::of(prop_oneof![method.prop_map(Value::from), any_json()]),
        prop::option::of(prop_oneof![params, any_json()]),
    )
        .prop_map(|(jsonrpc, id, method, params)| {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("jsonrpc", jsonrpc),
                ("id", id),
                ("method", method),
                ("params", params),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            Value::Object(m)
        })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        message().prop_map(|m| m.to_string().into_bytes()),
        prop::collection::vec(message(), 0..4)
            .prop_map(|b| Value::from(b).to_string().into_bytes()),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_post_gets_a_json_rpc_answer(
        body in body(),
        accept in prop_oneof![Just("application/json, text/event-stream"), Just("text/event-stream"), Just("application/json"), Just("*/*"), Just("x/y")],
        version in prop_oneof![Just(""), Just("2025-11-25"), Just("2026-07-28"), Just("bogus")],
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (status, ct, bytes) = rt.block_on(async {
            let mut rb = axum::http::Request::post("/mcp").header("accept", accept);
            if !version.is_empty() {
                rb = rb.header("mcp-protocol-version", version);
            }
            let resp = mock::app().oneshot(rb.body(Body::from(body.clone())).unwrap()).await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
            (status, ct, resp.into_body().collect().await.unwrap().to_bytes())
        });
        prop_assert!(matches!(status, 200 | 202 | 400 | 404), "status {}", status);
        if status == 202 {
            prop_assert!(bytes.is_empty());
        } else if ct.starts_with("text/event-stream") {
            let text = std::str::from_utf8(&bytes).unwrap();
            for line in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
                let v: Value = serde_json::from_str(line).unwrap();
                prop_assert_eq!(&v["jsonrpc"], "2.0");
            }
        } else {
            prop_assert!(ct.starts_with("application/json"), "content-type {}", ct);
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            let items = match &v { Value::Array(a) => a.clone(), other => vec![other.clone()] };
            for item in items {
                prop_assert_eq!(&item["jsonrpc"], "2.0");
                prop_assert!(item.get("result").is_some() != item.get("error").is_some());
            }
        }
    }
}

/// The REST API beside the MCP endpoint (`/api`), which `mcpServerHandler` projects call.
#[tokio::test]
async fn the_lab_api_lists_creates_and_refuses_clearly() {
    let m = start().await;
    let base = m.url.trim_end_matches("/mcp").to_string();
    let c = client();
    let list: Value = c
        .get(format!("{base}/api/todos"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["todos"].as_array().unwrap().len(), 2);
    let r = c
        .post(format!("{base}/api/todos"))
        .json(&json!({"title": "write tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["title"], "write tests");
    let r = c
        .get(format!("{base}/api/todos/{}", created["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{base}/api/todos"))
        .json(&json!({"title": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(
        c.get(format!("{base}/api/todos/999"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let seen: Value = c
        .get(format!("{base}/api/request?x=1"))
        .header("authorization", "Bearer secret-value")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["query"]["x"], "1");
    assert!(
        seen["headerNames"]
            .as_array()
            .unwrap()
            .contains(&json!("authorization"))
    );
    assert!(
        !seen.to_string().contains("secret-value"),
        "header values are never echoed"
    );
}
