//! The inbound policies of SPEC §16.5-§16.8 in `mcpgw dev`, over real HTTP on 127.0.0.1: a
//! gateway started in-process in front of the echo upstream (which answers with the method,
//! path, query and headers it received), a token endpoint speaking RFC 6749's form protocol
//! (axum on 127.0.0.1, counting its requests), and a real OpenID Provider (panva's
//! `oidc-provider` from the interop install, with its client_credentials grant enabled; SKIP
//! without `MCPGW_INTEROP_DIR`).

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A GET route forwarding to the echo upstream with these inbound policies.
fn forward_route(upstream: &str, id: &str, inbound: &[&str]) -> Value {
    json!({ "get": { "operationId": id, "x-zuplo-route": {
        "corsPolicy": "none",
        "handler": { "export": "urlForwardHandler", "module": "$import(@zuplo/runtime)", "options": { "baseUrl": format!("http://{upstream}") } },
        "policies": { "inbound": inbound } } } })
}

async fn start(dir: &Path, audit_log: Option<&Path>) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    assert!(
        !report.has_errors(),
        "{:#?}",
        report
            .diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    let mut options = DevOptions::new(dir);
    options.port = 0;
    options.audit_log = audit_log.map(Path::to_path_buf);
    gateway::start(Served::new(report), &options).await.unwrap()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// The generic problem of §16.0 for `status` at `path`, without `detail` when `detail` is None.
fn assert_problem(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    want: u16,
    title: &str,
    detail: Option<&str>,
    path: &str,
) {
    assert_eq!(status, want, "{body}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(
        body["type"],
        format!("https://httpproblems.com/http-status/{want}")
    );
    assert_eq!(body["title"], title);
    assert_eq!(body["status"], want);
    assert_eq!(body["instance"], path);
    assert!(
        body["trace"]["requestId"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    match detail {
        Some(d) => assert_eq!(body["detail"], d),
        None => assert!(body.get("detail").is_none(), "{body}"),
    }
}

#[tokio::test]
async fn query_param_becomes_the_authorization_header_and_leaves_the_url_only_when_asked() {
    let upstream = echo_upstream().await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let qp = |name: &str, remove: Option<bool>| {
        let mut o = json!({"queryParam": "apiKey", "headerName": "Authorization", "headerValue": "Bearer {value}"});
        if let Some(r) = remove {
            o["removeFromUrl"] = json!(r);
        }
        policy(
            name,
            "query-param-to-header-inbound",
            "QueryParamToHeaderInboundPolicy",
            o,
        )
    };
    write_project(
        dir.path(),
        json!({
            "/keep": forward_route(&upstream, "keep", &["qp-keep"]),
            "/remove": forward_route(&upstream, "remove", &["qp-remove"]),
        }),
        json!([qp("qp-keep", None), qp("qp-remove", Some(true))]),
    );
    let gw = start(dir.path(), None).await;
    let base = format!("http://{}", gw.addr);

    // 7.6.4's default (D24): the header is set, the key stays in the URL
    let (status, _, body) = get(
        &format!("{base}/keep?apiKey=k%2B1&x=2"),
        &[("authorization", "Basic old")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["headers"]["authorization"], "Bearer k+1");
    assert_eq!(body["result"]["query"], "apiKey=k%2B1&x=2");

    // removeFromUrl: the upstream sees the header and not the key
    let (status, _, body) = get(&format!("{base}/remove?x=2&apiKey=secret"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["headers"]["authorization"], "Bearer secret");
    assert_eq!(body["result"]["query"], "x=2");

    // no parameter: the request goes on unchanged
    let (status, _, body) = get(&format!("{base}/remove?x=3"), &[]).await;
    assert_eq!(status, 200);
    assert!(body["result"]["headers"].get("authorization").is_none());
    assert_eq!(body["result"]["query"], "x=3");

    // a value that cannot be a header value: 500 problem, the upstream is not called
    let (status, headers, body) = get(&format!("{base}/remove?apiKey=a%0Ab"), &[]).await;
    assert_problem(
        status,
        &headers,
        &body,
        500,
        "Internal Server Error",
        Some("The value of query parameter \"apiKey\" cannot be sent in a header"),
        "/remove",
    );
    gw.shutdown.cancel();
}

#[tokio::test]
async fn ip_restriction_allows_denies_and_reads_the_client_ip_header() {
    let upstream = echo_upstream().await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let ip = |name: &str, options: Value| {
        policy(
            name,
            "ip-address-restriction-inbound",
            "IpAddressRestrictionInboundPolicy",
            options,
        )
    };
    write_project(
        dir.path(),
        json!({
            "/local": forward_route(&upstream, "local", &["allow-local"]),
            "/denied": forward_route(&upstream, "denied", &["deny-loopback"]),
            "/office": forward_route(&upstream, "office", &["office-by-header"]),
            "/unknown-ok": forward_route(&upstream, "unknownok", &["office-unknown-ok"]),
        }),
        json!([
            ip("allow-local", json!({"allow": ["127.0.0.1", "10.0.0.0/8"]})),
            ip("deny-loopback", json!({"deny": ["127.0.0.0/8", "::1"]})),
            ip(
                "office-by-header",
                json!({"allow": ["203.0.113.0/24"], "deny": ["203.0.113.66"], "clientIpHeader": "x-forwarded-for"})
            ),
            ip(
                "office-unknown-ok",
                json!({"allow": ["203.0.113.0/24"], "clientIpHeader": "x-forwarded-for", "allowUnknownIpAddress": true})
            ),
        ]),
    );
    let gw = start(dir.path(), None).await;
    let base = format!("http://{}", gw.addr);

    let (status, _, body) = get(&format!("{base}/local"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["path"], "/local");

    let (status, headers, body) = get(&format!("{base}/denied"), &[]).await;
    assert_problem(status, &headers, &body, 403, "Forbidden", None, "/denied");

    // the header's last non-empty value is the client
    let xff = |v: &'static str| [("x-forwarded-for", v)];
    let (status, _, body) = get(
        &format!("{base}/office"),
        &xff("198.51.100.1, 203.0.113.9, "),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for refused in ["203.0.113.9, 198.51.100.1", "203.0.113.66", "not-an-ip"] {
        let (status, headers, body) = get(&format!("{base}/office"), &xff(refused)).await;
        assert_problem(status, &headers, &body, 403, "Forbidden", None, "/office");
    }
    // no header: unknown, and `allow` is set
    let (status, _, _) = get(&format!("{base}/office"), &[]).await;
    assert_eq!(status, 403);
    let (status, _, _) = get(&format!("{base}/unknown-ok"), &[]).await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&format!("{base}/unknown-ok"), &xff("198.51.100.1")).await;
    assert_eq!(status, 403);
    gw.shutdown.cancel();
}

#[tokio::test]
async fn audit_records_reach_the_audit_log_file_with_the_final_status() {
    let upstream = echo_upstream().await.to_string();
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({
            "/audited": forward_route(&upstream, "audited", &["audit"]),
            "/audited-denied": forward_route(&upstream, "auditeddenied", &["audit-lean", "deny-all"]),
            "/denied-first": forward_route(&upstream, "deniedfirst", &["deny-all", "audit"]),
        }),
        json!([
            policy(
                "audit",
                "audit-log-inbound",
                "AuditLogInboundPolicy",
                json!({"eventTypeBase": "com.acme.api"})
            ),
            policy(
                "audit-lean",
                "audit-log-inbound",
                "AuditLogInboundPolicy",
                json!({"include": {"queryParams": false, "ipAddress": false}})
            ),
            policy(
                "deny-all",
                "ip-address-restriction-inbound",
                "IpAddressRestrictionInboundPolicy",
                json!({"deny": ["0.0.0.0/0", "::/0"]})
            ),
        ]),
    );
    let log = dir.path().join("audit.jsonl");
    let gw = start(dir.path(), Some(&log)).await;
    let base = format!("http://{}", gw.addr);

    let (status, _, _) = get(
        &format!("{base}/audited?q=1"),
        &[
            ("user-agent", "policies-test/1"),
            ("authorization", "Bearer do-not-log"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&format!("{base}/audited-denied?q=2"), &[]).await;
    assert_eq!(status, 403);
    // a policy that answers first keeps the audit policy from running
    let (status, _, _) = get(&format!("{base}/denied-first"), &[]).await;
    assert_eq!(status, 403);

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("do-not-log"));
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{text}");
    let ok = &records[0];
    assert_eq!(ok["specversion"], "1.0");
    assert_eq!(ok["type"], "com.acme.api.request");
    assert_eq!(ok["source"], "//zuplo.com/buckets/local/api-gateway");
    assert_eq!(ok["httpmethod"], "GET");
    assert_eq!(ok["httpurl"], "/audited?q=1");
    assert_eq!(ok["ipaddress"], "127.0.0.1");
    assert_eq!(ok["useragent"], "policies-test/1");
    assert_eq!(ok["actortype"], "anonymous");
    assert_eq!(ok["httpstatus"], 200);
    assert_eq!(ok["success"], true);
    assert!(ok["requestid"].as_str().is_some_and(|r| !r.is_empty()));
    let denied = &records[1];
    assert_eq!(denied["type"], "com.zuplo.api.request");
    assert_eq!(denied["httpurl"], "/audited-denied");
    assert!(denied.get("ipaddress").is_none());
    assert_eq!(denied["httpstatus"], 403);
    assert_eq!(denied["success"], false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    gw.shutdown.cancel();
}

/// A token endpoint (RFC 6749 §4.4 over a form POST): checks the grant and the client, answers
/// `answer` and counts the requests.
async fn token_endpoint(answer: (u16, &'static str)) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/oauth/token",
        axum::routing::post(move |body: String| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let form: std::collections::HashMap<String, String> =
                    url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                let good = form.get("grant_type").map(String::as_str) == Some("client_credentials")
                    && form.get("client_id").map(String::as_str) == Some("gateway")
                    && form.get("client_secret").map(String::as_str) == Some("gw-secret")
                    && form.get("audience").map(String::as_str) == Some("https://api.test");
                let (status, body) = if good {
                    answer
                } else {
                    (400, r#"{"error":"invalid_client"}"#)
                };
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    body,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/oauth/token", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, calls)
}

fn client_credentials(name: &str, token_url: &str, extra: Value) -> Value {
    let mut o = json!({"tokenUrl": token_url, "clientId": "gateway", "clientSecret": "gw-secret", "audience": "https://api.test"});
    for (k, v) in extra.as_object().unwrap() {
        o[k] = v.clone();
    }
    policy(
        name,
        "upstream-oauth-client-credentials-inbound",
        "UpstreamOAuthClientCredentialsInboundPolicy",
        o,
    )
}

#[tokio::test]
async fn client_credentials_token_reaches_the_upstream_and_is_reused() {
    let upstream = echo_upstream().await.to_string();
    let (good_url, good_calls) = token_endpoint((
        200,
        r#"{"access_token":"cc-token-1","token_type":"Bearer","expires_in":3600}"#,
    ))
    .await;
    let (bad_url, bad_calls) =
        token_endpoint((503, r#"{"error":"temporarily_unavailable"}"#)).await;
    let (odd_url, _) = token_endpoint((200, r#"{"token_type":"Bearer"}"#)).await;
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({
            "/tools": forward_route(&upstream, "tools", &["backend-token"]),
            "/down": forward_route(&upstream, "down", &["down-token"]),
            "/odd": forward_route(&upstream, "odd", &["odd-token"]),
        }),
        json!([
            client_credentials(
                "backend-token",
                &good_url,
                json!({"headerName": "x-backend-auth"})
            ),
            client_credentials("down-token", &bad_url, json!({"tokenRetries": 1})),
            client_credentials("odd-token", &odd_url, json!({})),
        ]),
    );
    let gw = start(dir.path(), None).await;
    let base = format!("http://{}", gw.addr);

    for _ in 0..2 {
        let (status, _, body) = get(
            &format!("{base}/tools"),
            &[("x-backend-auth", "client-supplied")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["result"]["headers"]["x-backend-auth"],
            "Bearer cc-token-1"
        );
    }
    assert_eq!(good_calls.load(Ordering::SeqCst), 1, "the token is reused");

    let (status, headers, body) = get(&format!("{base}/down"), &[]).await;
    assert_problem(
        status,
        &headers,
        &body,
        500,
        "Internal Server Error",
        Some("Could not get token from the OAuth token endpoint"),
        "/down",
    );
    assert_eq!(bad_calls.load(Ordering::SeqCst), 2, "one try and one retry");

    let (status, headers, body) = get(&format!("{base}/odd"), &[]).await;
    assert_problem(
        status,
        &headers,
        &body,
        500,
        "Internal Server Error",
        Some(
            "Could not get token from the OAuth token endpoint, the response was not in the expected format.",
        ),
        "/odd",
    );
    gw.shutdown.cancel();
}

/// panva's oidc-provider (the interop install) with client_credentials enabled for one
/// confidential client; `/count` says how many token requests it saw.
const CC_PROVIDER: &str = r#"
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
const dir = process.env.MCPGW_INTEROP_DIR;
const { default: Provider } = await import(pathToFileURL(`${dir}/node_modules/oidc-provider/lib/index.js`).href);
let tokens = 0;
let handler = (req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => {
  if (req.url === '/count') { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ tokens })); return; }
  if (req.url.startsWith('/token')) tokens += 1;
  handler(req, res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{ client_id: 'mcpgw-cc', client_secret: 'cc secret/1', grant_types: ['client_credentials'],
    response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'api:read' }],
  scopes: ['api:read'],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
});
provider.proxy = false;
handler = provider.callback();
console.log(`READY ${JSON.stringify({ issuer, port })}`);
"#;

#[tokio::test]
async fn client_credentials_against_a_real_openid_provider() {
    let Some(idir) = interop_dir("client_credentials_against_a_real_openid_provider") else {
        return;
    };
    let upstream = echo_upstream().await.to_string();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("cc-provider.mjs");
    std::fs::write(&script, CC_PROVIDER).unwrap();
    let (_idp, ready) = spawn_ready(
        std::process::Command::new("node")
            .arg(&script)
            .env("MCPGW_INTEROP_DIR", &idir),
    );
    let issuer = ready["issuer"].as_str().unwrap().to_string();
    let project = dir.path().join("project");
    write_project(
        &project,
        json!({ "/tools": forward_route(&upstream, "tools", &["backend-token"]) }),
        json!([policy(
            "backend-token",
            "upstream-oauth-client-credentials-inbound",
            "UpstreamOAuthClientCredentialsInboundPolicy",
            json!({"tokenUrl": format!("{issuer}/token"), "clientId": "mcpgw-cc", "clientSecret": "cc secret/1",
                   "credentialsIn": "header", "scope": "api:read"}),
        )]),
    );
    let gw = start(&project, None).await;
    let base = format!("http://{}", gw.addr);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (status, _, body) = get(&format!("{base}/tools"), &[]).await;
        assert_eq!(status, 200, "{body}");
        let auth = body["result"]["headers"]["authorization"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(auth.starts_with("Bearer ") && auth.len() > 20, "{auth}");
        seen.push(auth);
    }
    assert_eq!(seen[0], seen[1], "the cached token is sent again");
    let count: Value = client()
        .get(format!("{issuer}/count"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(count["tokens"], 1, "the provider saw one token request");
    gw.shutdown.cancel();
}

#[tokio::test]
async fn a_fractional_rate_limit_window_is_served_as_written() {
    let upstream = echo_upstream().await.to_string();
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({ "/limited": forward_route(&upstream, "limited", &["half-minute"]) }),
        json!([policy(
            "half-minute",
            "rate-limit-inbound",
            "RateLimitInboundPolicy",
            json!({"rateLimitBy": "ip", "requestsAllowed": 1, "timeWindowMinutes": 0.5}),
        )]),
    );
    // a warning, not an error: the project is served
    let report = gateway::load(dir.path().to_path_buf()).await.unwrap();
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.rule.code == "MCP110" && d.message.contains("timeWindowMinutes"))
    );
    let gw = start(dir.path(), None).await;
    let base = format!("http://{}", gw.addr);
    let (status, _, _) = get(&format!("{base}/limited"), &[]).await;
    assert_eq!(status, 200);
    let (status, headers, body) = get(&format!("{base}/limited"), &[]).await;
    assert_eq!(status, 429, "{body}");
    // the window is 30 s, not 0 and not a whole minute
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    gw.shutdown.cancel();
}
