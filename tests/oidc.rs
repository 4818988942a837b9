//! Federated browser login (SPEC §3.7, §3.9) against a real, certified OpenID Provider
//! (`idp/oidc-idp.mjs`, panva's oidc-provider) driven by the harness's real browser
//! (`lib/headless-ua.mjs`): authorize → IdP login and consent → gateway callback (code
//! exchange, ID token verification) → gateway consent → code → token → MCP call.
//!
//! The refusals use genuine ID tokens from the same IdP, each wrong in exactly one way, served to
//! the gateway by a stand-in token endpoint (the gateway cannot tell it from the IdP's, which is
//! the point: an attacker who can substitute the token response must still be refused):
//! - tampered: a token for the right client and nonce with one signature character changed;
//! - wrong nonce: a token the IdP issued to `mcpgw` for another login (nonce of someone else);
//! - wrong audience: a token the IdP issued to its other client `mcpgw-public`, with our nonce.
//!
//! Needs `MCPGW_INTEROP_DIR`; without it every test prints `SKIP` and returns.

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::json;
use sha2::Digest;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

const REDIRECT: &str = "http://127.0.0.1:8976/oauth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-xyz";

/// Starts the OpenID Provider; returns the guard and its issuer.
fn start_idp(dir: &Path) -> (Child, String) {
    let (child, ready) = spawn_ready(
        Command::new("node")
            .arg(dir.join("idp/oidc-idp.mjs"))
            .args(["--port", "0"])
            .current_dir(dir),
    );
    let issuer = ready["issuer"].as_str().unwrap().to_string();
    (child, issuer)
}

/// The real browser: follows redirects, fills the IdP's login and consent forms and the
/// gateway's consent form, and stops before fetching a URL starting with `stop_at`.
async fn browse(dir: &Path, stop_at: &str, url: &str) -> String {
    let (dir, stop, url) = (dir.to_path_buf(), stop_at.to_string(), url.to_string());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(dir.join("lib/headless-ua.mjs"))
            .args(["--stop-at", &stop, "--login", "alice", "--timeout", "30"])
            .arg(&url)
            .current_dir(&dir)
            .env("UA_QUIET", "1")
            .output()
            .expect("run headless-ua.mjs")
    })
    .await
    .unwrap();
    let stopped = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success() && stopped.starts_with(stop_at),
        "the browser did not reach {stop_at}: exit {:?}, stdout {stopped}, stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stopped
}

fn query(u: &str) -> HashMap<String, String> {
    url::Url::parse(u)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

struct Gw {
    running: gateway::Running,
    base: String,
    _mock: mcpgw::mock::MockHandle,
    _dir: tempfile::TempDir,
}

/// A gateway whose `mcp-oauth-inbound` policy logs in at the IdP; the token endpoint is the
/// IdP's unless `token_url` says otherwise. The client secret comes from `.env`.
async fn gateway(issuer: &str, token_url: Option<&str>) -> Gw {
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let policy = json!({"name": "idp-oauth", "policyType": "mcp-oauth-inbound", "handler": {"export": "McpOAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
    "oidc": {"issuer": issuer, "jwksUrl": format!("{issuer}/jwks")},
    "browserLogin": {
        "url": format!("{issuer}/auth"),
        "tokenUrl": token_url.map_or_else(|| format!("{issuer}/token"), str::to_string),
        "clientId": "mcpgw",
        "clientSecret": "$env(IDP_CLIENT_SECRET)",
        "pkce": "S256"
    }}}});
    write_project(
        dir.path(),
        json!({"/mcp/a-v1": mcp_route("a-server", &mock.url, &["idp-oauth"], json!({}))}),
        json!([policy]),
    );
    std::fs::write(dir.path().join(".env"), "IDP_CLIENT_SECRET=mcpgw-secret\n").unwrap();
    std::fs::write(dir.path().join(".gitignore"), ".env\n.mcpgw/\n").unwrap();
    let report = gateway::load(dir.path().to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir.path());
    options.port = 0;
    let running = gateway::start(Served::new(report), &options).await.unwrap();
    let base = format!("http://{}", running.addr);
    Gw {
        running,
        base,
        _mock: mock,
        _dir: dir,
    }
}

async fn client_id(gw: &Gw) -> String {
    let r = http()
        .post(format!("{}/__zuplo/oauth/register", gw.base))
        .json(&json!({"client_name": "test client", "redirect_uris": [REDIRECT]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<serde_json::Value>().await.unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn authorize_url(gw: &Gw, client_id: &str) -> String {
    format!(
        "{}/__zuplo/oauth/authorize/mcp/a-v1?response_type=code&client_id={client_id}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&state=client-state",
        gw.base,
        urlenc(REDIRECT),
        challenge(VERIFIER)
    )
}

/// Gateway consent page → approve → the client's code.
async fn approve(gw: &Gw, consent: reqwest::Response) -> String {
    assert_eq!(consent.status(), 200);
    let cookie = consent.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("zuplo_mcp_session="), "{cookie}");
    let page = consent.text().await.unwrap();
    let state = page
        .split("name=\"state\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = http()
        .post(format!("{}/__zuplo/oauth/setup", gw.base))
        .header("cookie", &cookie)
        .form(&[("state", state.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    query(&location(&r))["code"].clone()
}

/// Code → access token at the gateway → `tools/list` on the MCP route succeeds.
async fn token_and_call(gw: &Gw, client_id: &str, code: &str) {
    let r = http()
        .post(format!("{}/__zuplo/oauth/token", gw.base))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tokens: serde_json::Value = r.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let r = http()
        .post(format!("{}/mcp/a-v1", gw.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .bearer_auth(access)
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("\"tools\""), "{body}");
}

#[tokio::test]
async fn federated_login_with_a_real_openid_provider() {
    let Some(dir) = interop_dir("federated_login_with_a_real_openid_provider") else {
        return;
    };
    let (_idp, issuer) = start_idp(&dir);
    let gw = gateway(&issuer, None).await;
    let client = client_id(&gw).await;
    let callback = format!("{}/__zuplo/oauth/callback", gw.base);

    // the authorize redirect names everything §3.7 lists
    let r = http()
        .get(authorize_url(&gw, &client))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let idp_url = location(&r);
    assert!(idp_url.starts_with(&format!("{issuer}/auth?")), "{idp_url}");
    let q = query(&idp_url);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "mcpgw");
    assert_eq!(q["redirect_uri"], callback);
    assert_eq!(q["scope"], "openid profile email");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].contains('.') && !q["nonce"].is_empty());
    assert!(!idp_url.contains("mcpgw-secret"));

    // 1. the browser logs in at the IdP and comes back to the gateway's callback with a code;
    //    the gateway exchanges it and shows its consent page for the IdP's user
    let back = browse(&dir, &callback, &authorize_url(&gw, &client)).await;
    let bq = query(&back);
    assert!(
        bq.contains_key("code") && bq.contains_key("state"),
        "{back}"
    );
    let consent = http().get(&back).send().await.unwrap();
    assert_eq!(consent.status(), 200);
    let text = consent.text().await.unwrap();
    assert!(
        text.contains(&format!("Signed in as <strong>{issuer}|alice</strong>")),
        "{text}"
    );
    // the same answer a second time: the IdP refuses the spent code
    let again = http().get(&back).send().await.unwrap();
    assert_eq!(again.status(), 400);
    let text = again.text().await.unwrap();
    assert!(text.contains("provider_access_denied"), "{text}");

    // 2. the whole leg in the browser, gateway consent included, down to the client's code
    let done = browse(&dir, REDIRECT, &authorize_url(&gw, &client)).await;
    let dq = query(&done);
    assert_eq!(dq["state"], "client-state");
    token_and_call(&gw, &client, &dq["code"]).await;

    // 3. the callback leg by hand, then consent, token and the MCP call
    let back = browse(&dir, &callback, &authorize_url(&gw, &client)).await;
    let consent = http().get(&back).send().await.unwrap();
    let code = approve(&gw, consent).await;
    token_and_call(&gw, &client, &code).await;
    gw.running.shutdown.cancel();
}

/// A stand-in token endpoint answering every request with the body the test sets.
async fn fake_token_endpoint() -> (String, Arc<Mutex<String>>) {
    let body = Arc::new(Mutex::new(String::from("{}")));
    let served = body.clone();
    let app = axum::Router::new().route(
        "/token",
        axum::routing::post(move || {
            let served = served.clone();
            async move {
                let b = served.lock().unwrap().clone();
                ([("content-type", "application/json")], b)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/token"), body)
}

/// A genuine ID token from the IdP for `client` with this `nonce` (a login of its own, through
/// the real browser, and a code exchange at the IdP).
async fn idp_id_token(
    dir: &Path,
    issuer: &str,
    client: &str,
    secret: Option<&str>,
    nonce: &str,
) -> String {
    let url = format!(
        "{issuer}/auth?response_type=code&client_id={client}&redirect_uri={}&scope=openid&state=s&nonce={}&code_challenge={}&code_challenge_method=S256",
        urlenc(REDIRECT),
        urlenc(nonce),
        challenge(VERIFIER)
    );
    let back = browse(dir, REDIRECT, &url).await;
    let code = query(&back)["code"].clone();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", client),
        ("code_verifier", VERIFIER),
    ];
    if let Some(s) = secret {
        form.push(("client_secret", s));
    }
    let r = http()
        .post(format!("{issuer}/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    j["id_token"].as_str().unwrap().to_string()
}

/// Starts a login at the gateway; returns the browser state and the nonce it sent the IdP.
async fn start_login(gw: &Gw, client: &str) -> (String, String) {
    let r = http().get(authorize_url(gw, client)).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let q = query(&location(&r));
    (q["state"].clone(), q["nonce"].clone())
}

async fn callback_with(gw: &Gw, state: &str) -> (u16, String) {
    let r = http()
        .get(format!(
            "{}/__zuplo/oauth/callback?code=irrelevant&state={}",
            gw.base,
            urlenc(state)
        ))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn token_body(id_token: &str) -> String {
    json!({"access_token": "opaque", "token_type": "Bearer", "expires_in": 3600, "id_token": id_token})
        .to_string()
}

#[tokio::test]
async fn id_tokens_wrong_in_one_way_are_refused() {
    let Some(dir) = interop_dir("id_tokens_wrong_in_one_way_are_refused") else {
        return;
    };
    let (_idp, issuer) = start_idp(&dir);
    let (token_url, body) = fake_token_endpoint().await;
    let gw = gateway(&issuer, Some(&token_url)).await;
    let client = client_id(&gw).await;

    // tampered: right client, right nonce, one signature character changed
    let (state, nonce) = start_login(&gw, &client).await;
    let good = idp_id_token(&dir, &issuer, "mcpgw", Some("mcpgw-secret"), &nonce).await;
    let (head, sig) = good.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    let i = sig.len() / 2;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    let tampered = format!("{head}.{}", sig.into_iter().collect::<String>());
    *body.lock().unwrap() = token_body(&tampered);
    let (status, page) = callback_with(&gw, &state).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("browser_login_verification_failed"), "{page}");
    assert!(
        page.contains("Connection failed") && page.contains("signature is invalid"),
        "{page}"
    );

    // the untampered token passes the same way: the refusal above was the signature's
    *body.lock().unwrap() = token_body(&good);
    let (status, page) = callback_with(&gw, &state).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("{issuer}|alice")), "{page}");

    // wrong nonce: a genuine token for this client, from another login
    let (state, _) = start_login(&gw, &client).await;
    let other = idp_id_token(
        &dir,
        &issuer,
        "mcpgw",
        Some("mcpgw-secret"),
        "another-login",
    )
    .await;
    *body.lock().unwrap() = token_body(&other);
    let (status, page) = callback_with(&gw, &state).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("oauth_callback_mismatch"), "{page}");
    assert!(page.contains("nonce mismatch"), "{page}");

    // wrong audience: a genuine token with our nonce, issued to the IdP's other client
    let (state, nonce) = start_login(&gw, &client).await;
    let public = idp_id_token(&dir, &issuer, "mcpgw-public", None, &nonce).await;
    *body.lock().unwrap() = token_body(&public);
    let (status, page) = callback_with(&gw, &state).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("browser_login_verification_failed"), "{page}");
    assert!(
        page.contains("aud does not name the client id mcpgw"),
        "{page}"
    );

    // no id_token at all
    let (state, _) = start_login(&gw, &client).await;
    *body.lock().unwrap() = json!({"access_token": "opaque", "token_type": "Bearer"}).to_string();
    let (status, page) = callback_with(&gw, &state).await;
    assert_eq!(status, 400, "{page}");
    assert!(
        page.contains("browser_login_verification_failed") && page.contains("no id_token"),
        "{page}"
    );
    gw.running.shutdown.cancel();
}
