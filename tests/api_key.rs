//! `api-key-inbound` in `mcpgw dev` and `mcpgw keys` (SPEC §16.1, D21, D25 e) over real HTTP
//! on 127.0.0.1: a gateway started in process on a project whose state folder the real
//! `mcpgw keys` binary writes to (a real SQLite file shared by both), the built-in mock MCP
//! upstream, a small echo upstream, and the TS SDK client (SKIP without `MCPGW_INTEROP_DIR`).

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn forward_route(upstream: &str, op: &str, inbound: &[&str]) -> Value {
    forward_route_for("get", upstream, op, inbound)
}

fn forward_route_for(method: &str, upstream: &str, op: &str, inbound: &[&str]) -> Value {
    json!({ method: { "operationId": op, "x-zuplo-route": {
        "corsPolicy": "none",
        "handler": { "export": "urlForwardHandler", "module": "$import(@zuplo/runtime)", "options": { "baseUrl": format!("http://{upstream}") } },
        "policies": { "inbound": inbound } } } })
}

fn api_key(name: &str, options: Value) -> Value {
    policy(name, "api-key-inbound", "ApiKeyInboundPolicy", options)
}

/// `/api` (defaults), `/x` (X-Api-Key, bare key), `/anon` (unauthenticated allowed),
/// `/limited` (2 requests a minute per user), `/mcp` (the mock MCP server), `/filtered` (the
/// echo upstream's tools, filtered by the consumer's roles). The filter is not on `/mcp`:
/// rule 20 makes a capability filter on an McpProxyHandler route without the MCP OAuth policy
/// an error.
fn project(dir: &Path, echo: &str, mock_url: &str) {
    let filter = json!({"name": "by-role", "policyType": "mcp-capability-filter-inbound", "handler": {"export": "McpCapabilityFilterInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "tools": [{"name": "echo", "public": true}, {"name": "add", "roles": ["admin"]}],
        "accessControl": {"mode": "rolesAndGroups"}}}});
    write_project(
        dir,
        json!({
            "/api": forward_route(echo, "api", &["api-key"]),
            "/x": forward_route(echo, "x", &["api-key-x"]),
            "/anon": forward_route(echo, "anon", &["api-key-anon"]),
            "/limited": forward_route(echo, "limited", &["api-key", "per-user"]),
            "/mcp": mcp_route("mock", mock_url, &["api-key"], json!({})),
            "/filtered": forward_route_for("post", echo, "filtered", &["api-key", "by-role"]),
        }),
        json!([
            api_key("api-key", json!({})),
            api_key(
                "api-key-x",
                json!({"authHeader": "X-Api-Key", "authScheme": "", "cacheTtlSeconds": 300})
            ),
            api_key(
                "api-key-anon",
                json!({"allowUnauthenticatedRequests": true})
            ),
            policy(
                "per-user",
                "rate-limit-inbound",
                "RateLimitInboundPolicy",
                json!({"rateLimitBy": "user", "requestsAllowed": 2, "timeWindowMinutes": 1})
            ),
            filter,
        ]),
    );
}

struct Lab {
    dir: tempfile::TempDir,
    state: PathBuf,
    gw: gateway::Running,
    base: String,
    _mock: mcpgw::mock::MockHandle,
}

async fn lab() -> Lab {
    let echo = echo_upstream().await;
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), &echo.to_string(), &mock.url);
    let state = dir.path().join("state");
    let report = gateway::load(dir.path().to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir.path());
    options.port = 0;
    options.state_dir = Some(state.clone());
    let gw = gateway::start(Served::new(report), &options).await.unwrap();
    let base = format!("http://{}", gw.addr);
    Lab {
        dir,
        state,
        gw,
        base,
        _mock: mock,
    }
}

/// Runs the real `mcpgw keys …` on the lab's project and state folder.
async fn keys(lab: &Lab, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcpgw"));
    cmd.arg("keys")
        .args(args)
        .arg("--project")
        .arg(lab.dir.path())
        .arg("--state-dir")
        .arg(&lab.state)
        .env("NO_COLOR", "1");
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// `mcpgw keys create … --json`: the created key's document.
async fn create(lab: &Lab, args: &[&str]) -> Value {
    let mut all = vec!["create"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = keys(lab, &all).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let h = resp.headers().clone();
    (status, h, resp.json().await.unwrap_or(Value::Null))
}

/// A 401 of the API-key policy: a plain problem document with `detail`, no challenge.
fn assert_refused(got: &(u16, reqwest::header::HeaderMap, Value), detail: &str, path: &str) {
    let (status, headers, body) = got;
    assert_eq!(*status, 401, "{body}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(
        headers.get("www-authenticate").is_none(),
        "no challenge: {headers:?}"
    );
    assert_eq!(body["type"], "https://httpproblems.com/http-status/401");
    assert_eq!(body["title"], "Unauthorized");
    assert_eq!(body["status"], 401);
    assert_eq!(body["detail"], detail);
    assert_eq!(body["instance"], path);
    assert!(body.get("code").is_none(), "{body}");
}

async fn tools(lab: &Lab, path: &str, key: &str) -> (u16, Vec<String>) {
    let r = client()
        .post(format!("{}{path}", lab.base))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    let names = v["result"]["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    (status, names)
}

#[tokio::test]
async fn each_refusal_is_the_runtime_s_401_without_a_challenge() {
    let lab = lab().await;
    let alice = create(&lab, &["alice"]).await;
    let key = alice["key"].as_str().unwrap();
    let api = format!("{}/api", lab.base);

    assert_refused(&get(&api, &[]).await, "No Authorization Header", "/api");
    assert_refused(
        &get(&api, &[("authorization", "Basic YTpi")]).await,
        "Invalid Authorization Scheme",
        "/api",
    );
    // the scheme matches case-insensitively, but "Bearer " is removed case-sensitively
    assert_refused(
        &get(&api, &[("authorization", &format!("bearer {key}"))]).await,
        "Authorization Failed",
        "/api",
    );
    assert_refused(
        &get(
            &api,
            &[("authorization", "Bearer zpka_0000000000000000000000000000000000000000000000000000000000000000_00000000")],
        )
        .await,
        "Authorization Failed",
        "/api",
    );
    // the bare-key policy: an empty header holds no key
    let x = format!("{}/x", lab.base);
    assert_refused(&get(&x, &[("x-api-key", "")]).await, "No key present", "/x");
    assert_refused(
        &get(&x, &[("authorization", &format!("Bearer {key}"))]).await,
        "No Authorization Header",
        "/x",
    );
    // with "Bearer " in front the bare-key policy looks up the whole value
    assert_refused(
        &get(&x, &[("x-api-key", &format!("Bearer {key}"))]).await,
        "Authorization Failed",
        "/x",
    );

    // the key passes, and its header reaches the upstream unchanged (the policy keeps it)
    let (status, _, body) = get(&api, &[("authorization", &format!("Bearer {key}"))]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["headers"]["authorization"],
        format!("Bearer {key}")
    );
    let (status, _, body) = get(&x, &[("x-api-key", key)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["headers"]["x-api-key"], key);

    // allowUnauthenticatedRequests: no key, a wrong key and a good key all go on
    let anon = format!("{}/anon", lab.base);
    for h in [
        vec![],
        vec![("authorization", "Bearer zpka_nope")],
        vec![("authorization", "Basic x")],
    ] {
        let (status, _, body) = get(&anon, &h).await;
        assert_eq!(status, 200, "{h:?}: {body}");
    }
    lab.gw.shutdown.cancel();
}

#[tokio::test]
async fn request_user_is_the_consumer_for_the_capability_filter_and_the_rate_limit() {
    let lab = lab().await;
    let admin = create(&lab, &["ops-admin", "--metadata", r#"{"roles":["admin"]}"#]).await;
    assert_eq!(admin["metadata"]["roles"], json!(["admin"]));
    let plain = create(&lab, &["viewer"]).await;

    // roles come from the consumer's metadata (request.user.data.roles)
    let (status, names) = tools(&lab, "/filtered", admin["key"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(names, ["echo", "add"]);
    let (status, names) = tools(&lab, "/filtered", plain["key"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(
        names,
        ["echo"],
        "a consumer without roles sees the public tool only"
    );

    // rateLimitBy user counts per consumer (request.user.sub), not per address: both come
    // from 127.0.0.1
    let limited = format!("{}/limited", lab.base);
    let bearer = |v: &Value| format!("Bearer {}", v["key"].as_str().unwrap());
    for _ in 0..2 {
        let (status, _, _) = get(&limited, &[("authorization", &bearer(&admin))]).await;
        assert_eq!(status, 200);
    }
    let (status, _, body) = get(&limited, &[("authorization", &bearer(&admin))]).await;
    assert_eq!(status, 429, "{body}");
    let (status, _, _) = get(&limited, &[("authorization", &bearer(&plain))]).await;
    assert_eq!(status, 200, "another consumer has its own count");
    // a second key of the same consumer shares the consumer's count
    let again = create(&lab, &["ops-admin"]).await;
    assert_eq!(again["consumer_created"], false);
    let (status, _, _) = get(&limited, &[("authorization", &bearer(&again))]).await;
    assert_eq!(status, 429);
    lab.gw.shutdown.cancel();
}

#[tokio::test]
async fn keys_made_revoked_and_expired_while_the_gateway_runs_count_at_once() {
    let lab = lab().await;
    let api = format!("{}/api", lab.base);
    // created after the gateway started: works on the next request
    let bob = create(&lab, &["bob"]).await;
    let key = bob["key"].as_str().unwrap().to_string();
    let id = bob["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("zpka_") && id.starts_with("key_"));
    assert_eq!(bob["consumer"], "bob");
    assert_eq!(bob["expires"], Value::Null);
    let auth = format!("Bearer {key}");
    let (status, _, _) = get(&api, &[("authorization", &auth)]).await;
    assert_eq!(status, 200);
    let (status, names) = tools(&lab, "/mcp", &key).await;
    assert_eq!(status, 200, "the MCP route too");
    assert!(names.iter().any(|n| n == "add"), "{names:?}");

    // list shows ids, never keys
    let out = keys(&lab, &["list", "--json"]).await;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(&key));
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["consumers"][0]["name"], "bob");
    assert_eq!(listed["consumers"][0]["keys"][0]["id"], id.as_str());
    assert_eq!(listed["consumers"][0]["keys"][0]["status"], "active");
    let out = keys(&lab, &["list"]).await;
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains(&id) && human.contains("active") && !human.contains(&key),
        "{human}"
    );

    // revoked: the next request is refused
    let out = keys(&lab, &["revoke", &id]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("Revoked key {id} of bob")));
    assert_refused(
        &get(&api, &[("authorization", &auth)]).await,
        "Authorization Failed",
        "/api",
    );
    let out = keys(&lab, &["revoke", &id, "--json"]).await;
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["already_revoked"], true);
    let out = keys(&lab, &["revoke", "key_0000000000000000"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no key key_0000000000000000"));

    // expired: a date in the past is accepted (with a warning) and refused from the start;
    // a future one works
    let old = create(&lab, &["carol", "--expires", "2020-01-01"]).await;
    assert_eq!(old["expires"], "2020-01-02T00:00:00Z");
    assert_refused(
        &get(
            &api,
            &[(
                "authorization",
                &format!("Bearer {}", old["key"].as_str().unwrap()),
            )],
        )
        .await,
        "Authorization Failed",
        "/api",
    );
    let later = create(&lab, &["carol", "--expires", "2999-01-01T00:00:00Z"]).await;
    let (status, _, _) = get(
        &api,
        &[(
            "authorization",
            &format!("Bearer {}", later["key"].as_str().unwrap()),
        )],
    )
    .await;
    assert_eq!(status, 200);
    let listed: Value =
        serde_json::from_slice(&keys(&lab, &["list", "--json"]).await.stdout).unwrap();
    let carol = &listed["consumers"][1];
    assert_eq!(carol["name"], "carol");
    let status_of = |id: &Value| {
        carol["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == *id)
            .map(|k| k["status"].clone())
    };
    assert_eq!(status_of(&old["id"]), Some(json!("expired")));
    assert_eq!(status_of(&later["id"]), Some(json!("active")));
    assert_eq!(listed["consumers"][0]["keys"][0]["status"], "revoked");

    // the state folder holds no key in clear (database, WAL and all)
    let secrets = [
        key.clone(),
        old["key"].as_str().unwrap().to_string(),
        later["key"].as_str().unwrap().to_string(),
    ];
    let mut files = 0;
    for entry in std::fs::read_dir(&lab.state).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        files += 1;
        for s in &secrets {
            assert!(!bytes.windows(s.len()).any(|w| w == s.as_bytes()));
        }
    }
    assert!(files >= 2, "state.db and secret.key at least");
    lab.gw.shutdown.cancel();
}

#[tokio::test]
async fn keys_create_refuses_bad_input_and_prints_the_key_once_with_the_header_to_send() {
    let lab = lab().await;
    let out = keys(&lab, &["create", "dave", "--metadata", r#"{"plan":"pro"}"#]).await;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let key_lines: Vec<&str> = text.lines().filter(|l| l.contains("zpka_")).collect();
    assert_eq!(key_lines.len(), 1, "{text}");
    assert!(text.contains("Created consumer dave"), "{text}");
    assert!(
        text.contains("Send it as: Authorization: Bearer <key>"),
        "{text}"
    );
    assert!(text.contains("Send it as: X-Api-Key: <key>"), "{text}");
    assert!(!text.contains("\x1b["), "NO_COLOR: {text:?}");
    for (args, why) in [
        (vec!["create", "has space"], "the consumer name may hold"),
        (
            vec!["create", "e", "--metadata", "[1]"],
            "--metadata must be a JSON object",
        ),
        (
            vec!["create", "e", "--metadata", "{"],
            "--metadata is not JSON",
        ),
        (
            vec!["create", "e", "--expires", "2026-02-30"],
            "no such day",
        ),
        (vec!["create", "e", "--expires", "next week"], "not a date"),
    ] {
        let out = keys(&lab, &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
    }
    let listed: Value =
        serde_json::from_slice(&keys(&lab, &["list", "--json"]).await.stdout).unwrap();
    assert_eq!(
        listed["consumers"].as_array().unwrap().len(),
        1,
        "nothing made by a refusal"
    );
    assert_eq!(listed["consumers"][0]["metadata"], json!({"plan": "pro"}));
    lab.gw.shutdown.cancel();
}

#[tokio::test]
async fn the_ts_sdk_client_lists_tools_with_an_api_key() {
    let Some(interop) = interop_dir("the_ts_sdk_client_lists_tools_with_an_api_key") else {
        return;
    };
    let lab = lab().await;
    let made = create(
        &lab,
        &["sdk-client", "--metadata", r#"{"roles":["admin"]}"#],
    )
    .await;
    let key = made["key"].as_str().unwrap().to_string();
    let url = format!("{}/mcp", lab.base);
    let mut cmd = Command::new("node");
    cmd.arg(interop.join("clients/mcp-client.mjs"))
        .arg(&url)
        .arg("--header")
        .arg(format!("Authorization: Bearer {key}"))
        .args(["--no-browser", "--list-tools", "--timeout", "60"]);
    let steps = tokio::task::spawn_blocking(move || client_steps_ok(&mut cmd))
        .await
        .unwrap();
    assert_eq!(step(&steps, "connect")["auth"], "none");
    let listed = step(&steps, "tools")["tools"].to_string();
    assert!(
        listed.contains("echo") && listed.contains("add"),
        "{listed}"
    );

    // revoked: the same client is refused
    let out = keys(&lab, &["revoke", made["id"].as_str().unwrap()]).await;
    assert!(out.status.success());
    let mut cmd = Command::new("node");
    cmd.arg(interop.join("clients/mcp-client.mjs"))
        .arg(&url)
        .arg("--header")
        .arg(format!("Authorization: Bearer {key}"))
        .args(["--no-browser", "--list-tools", "--timeout", "30"])
        .stdin(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success(), "a revoked key must not list tools");
    lab.gw.shutdown.cancel();
}

#[tokio::test]
async fn the_dev_banner_names_the_exact_create_command_until_a_consumer_exists() {
    let echo = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/api": forward_route(&echo.to_string(), "api", &["api-key"]) }),
        json!([api_key("api-key", json!({}))]),
    );
    let hint_of = |dev: &Dev| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if let Ok(l) = dev
                .stderr
                .recv_timeout(std::time::Duration::from_millis(200))
                && l.contains("api-key-inbound")
            {
                return Some(l);
            }
        }
        None
    };
    let mut dev = spawn_dev(dir.path());
    let hint = hint_of(&dev).expect("a hint while no consumer exists");
    let command = hint
        .split_once(": mcpgw ")
        .map(|(_, c)| c.to_string())
        .expect("the hint ends with the command");
    assert_eq!(
        command,
        format!("keys create my-client --project {}", dir.path().display())
    );
    // the command as printed makes a key that the running gateway takes at once
    let out = Command::new(env!("CARGO_BIN_EXE_mcpgw"))
        .args(command.split_whitespace())
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (status, _, _) = get(
        &format!("{}/api", dev.origin),
        &[(
            "authorization",
            &format!("Bearer {}", made["key"].as_str().unwrap()),
        )],
    )
    .await;
    assert_eq!(status, 200);
    let _ = dev.child.kill();
    let _ = dev.child.wait();

    let mut dev = spawn_dev(dir.path());
    assert_eq!(hint_of(&dev), None, "a consumer exists: no hint");
    let _ = dev.child.kill();
    let _ = dev.child.wait();
}
