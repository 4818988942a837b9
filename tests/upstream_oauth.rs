//! The gateway as an OAuth client of its upstreams (issue 6): real MCP clients from
//! ../shared/interop through `mcpgw dev` to OAuth-protected upstreams (the built-in
//! `upstream mock --oauth`, the Python SDK server with its own AS, the TS SDK example server
//! with its demo AS). The upstream connect runs through the clients' own handling of
//! connect-required (-32042 → open `authUrl` in the harness browser → retry).
//!
//! Needs `MCPGW_INTEROP_DIR`; without it every test says `SKIP` and returns.

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use mcpgw::mock::OAuthOptions;
use mcpgw::mock::{MockOptions, spawn_with};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn dev_oauth_policy() -> Value {
    json!({"name": "dev-oauth", "policyType": "mcp-oauth-inbound", "handler": {"export": "McpOAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "oidc": {"issuer": "http://127.0.0.1:9000/__zuplo/dev-idp", "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"},
        "browserLogin": {"url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login"}}}})
}

fn exchange_policy(id: &str, mode: &str, extra: Value) -> Value {
    let mut options = json!({"displayName": format!("Upstream {id}"), "authMode": mode});
    if let (Some(o), Some(e)) = (options.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    json!({"name": format!("mcp-token-exchange-{id}"), "policyType": "mcp-token-exchange-inbound",
           "handler": {"export": "McpTokenExchangeInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": options}})
}

async fn gateway(dir: &Path) -> gateway::Running {
    gateway_on(dir, 0).await
}

async fn gateway_on(dir: &Path, port: u16) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir);
    options.port = port;
    gateway::start(Served::new(report), &options).await.unwrap()
}

async fn stats(base: &str) -> Value {
    reqwest::get(format!("{base}/__mock/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A user-oauth upstream `up` (the in-process `mock --oauth` with `oauth`) on the route
/// `/mcp/up` of a gateway on a free port, and where the TS client keeps its tokens.
struct MockScenario {
    mock: mcpgw::mock::MockHandle,
    mock_base: String,
    project: tempfile::TempDir,
    gw: gateway::Running,
    url: String,
    tokens: std::path::PathBuf,
}

async fn mock_scenario(oauth: OAuthOptions) -> MockScenario {
    mock_scenario_with(oauth, json!({})).await
}

/// [`mock_scenario`] with more options for the token-exchange policy.
async fn mock_scenario_with(oauth: OAuthOptions, policy_options: Value) -> MockScenario {
    let mock = spawn_with(
        "127.0.0.1:0",
        MockOptions {
            oauth: Some(oauth),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    let mock_base = format!("http://{}", mock.addr);
    let (project, gw, url, tokens) =
        exchange_project("up", &mock.url, "user-oauth", policy_options).await;
    MockScenario {
        mock,
        mock_base,
        project,
        gw,
        url,
        tokens,
    }
}

/// A project whose route `/mcp/<id>` (operation `<id>-mcp`) runs the dev OAuth policy and a
/// token-exchange policy for `upstream` in `mode`, served on a free port: the project, the
/// gateway, the route's URL and where the TS client keeps its tokens.
async fn exchange_project(
    id: &str,
    upstream: &str,
    mode: &str,
    policy_options: Value,
) -> (
    tempfile::TempDir,
    gateway::Running,
    String,
    std::path::PathBuf,
) {
    let project = tempfile::tempdir().unwrap();
    let policy = format!("mcp-token-exchange-{id}");
    write_project(
        project.path(),
        json!({ format!("/mcp/{id}"): mcp_route(&format!("{id}-mcp"), upstream, &["dev-oauth", &policy], json!({})) }),
        json!([
            dev_oauth_policy(),
            exchange_policy(id, mode, policy_options)
        ]),
    );
    let gw = gateway(project.path()).await;
    let url = format!("http://{}/mcp/{id}", gw.addr);
    let tokens = project.path().join("client-tokens.json");
    (project, gw, url, tokens)
}

async fn mock_hook(base: &str, hook: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/__mock/{hook}"))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{hook}: {}", resp.status());
}

/// §3.10 readiness probe: a stored connection the upstream has revoked still looks active in
/// the store; the consent page tries it, finds the refresh refused, and asks for a connect
/// there, so the client never meets connect-required.
#[tokio::test]
async fn consent_tries_a_stored_connection_before_counting_it_connected() {
    let Some(dir) = interop_dir("consent_tries_a_stored_connection_before_counting_it_connected")
    else {
        return;
    };
    let sc = mock_scenario(OAuthOptions::default()).await;
    let (code, steps, err) =
        run_client(ts_client(&dir, &sc.url, &sc.tokens, &["--list-tools"])).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    let before = stats(&sc.mock_base).await;
    assert_eq!(before["authorizations"], 1, "{before:#}");

    // a stored connection that still works: a new client is authorized without a connect
    let second = sc.project.path().join("second-client.json");
    let (code, steps, err) = run_client(ts_client(&dir, &sc.url, &second, &["--list-tools"])).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    let s = stats(&sc.mock_base).await;
    assert_eq!(
        s["authorizations"], 1,
        "no new upstream authorization: {s:#}"
    );

    // the upstream revokes everything; the next client's consent connects again right away
    mock_hook(&sc.mock_base, "revoke-all").await;
    let third = sc.project.path().join("third-client.json");
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &sc.url,
        &third,
        &["--call", "add", "--args", r#"{"a":6,"b":7}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(
        step(&steps, "call")["result"]
            .to_string()
            .contains("\"13\"")
    );
    let s = stats(&sc.mock_base).await;
    assert_eq!(s["authorizations"], 2, "{s:#}");
    sc.gw.shutdown.cancel();
}

/// D17 and manual registration: the gateway authenticates at the upstream token endpoint (code
/// exchange and refresh) the way its registration says: the method a DCR answer names even when
/// the gateway asked for `none`, else the configured `tokenEndpointAuthMethod`. The mock refuses
/// a dynamic client that authenticates any other way.
#[tokio::test]
async fn upstream_client_authentication_follows_the_registration() {
    use mcpgw::client_metadata::ClientAuthMethod as M;
    use mcpgw::mock::PreRegisteredClient;
    let Some(dir) = interop_dir("upstream_client_authentication_follows_the_registration") else {
        return;
    };
    let app = |secret: Option<&str>| PreRegisteredClient {
        id: "app".into(),
        secret: secret.map(mcpgw::secret::Secret::new),
    };
    let manual = |method: &str, secret: Option<&str>| {
        let mut r = json!({"mode": "manual", "clientId": "app", "tokenEndpointAuthMethod": method});
        if let Some(s) = secret {
            r["clientSecret"] = json!(s);
        }
        json!({ "clientRegistration": r })
    };
    // DCR that answers with a confidential client of this method
    let dcr = |m: M| {
        let oauth = OAuthOptions {
            dcr_auth_method: Some(m),
            ..Default::default()
        };
        (oauth, json!({}), m.as_str())
    };
    // a pre-registered client configured as manual registration
    let preregistered = |method: &'static str, secret: Option<&str>| {
        let oauth = OAuthOptions {
            dcr: false,
            client: Some(app(secret)),
            ..Default::default()
        };
        (oauth, manual(method, secret), method)
    };
    let cases = [
        dcr(M::ClientSecretPost),
        dcr(M::ClientSecretBasic),
        preregistered("client_secret_post", Some("s3cret")),
        preregistered("client_secret_basic", Some("s3cret")),
        preregistered("none", None),
    ];
    for (oauth, policy, method) in cases {
        let sc = mock_scenario_with(oauth, policy).await;
        let (code, steps, err) =
            run_client(ts_client(&dir, &sc.url, &sc.tokens, &["--list-tools"])).await;
        assert_eq!(code, 0, "{method}: {steps:#?}\n{err}");
        let s = stats(&sc.mock_base).await;
        assert_eq!(
            s["last_client_auth"], method,
            "code exchange, {method}: {s:#}"
        );
        // the refresh authenticates the same way
        mock_hook(&sc.mock_base, "expire-access-tokens").await;
        let body = call_with_stored_token(&sc.url, &sc.tokens).await;
        assert!(body["result"]["tools"].is_array(), "{method}: {body:#}");
        let s = stats(&sc.mock_base).await;
        assert_eq!(s["refreshes"], 1, "{method}: {s:#}");
        assert_eq!(s["last_client_auth"], method, "refresh, {method}: {s:#}");
        sc.gw.shutdown.cancel();
    }
}

/// §6.4: the client an earlier connection registered is sealed with it; a reconnect after the
/// gateway restarted (its in-memory cache gone) uses it instead of registering again.
#[tokio::test]
async fn a_reconnect_after_a_restart_reuses_the_registered_client() {
    let Some(dir) = interop_dir("a_reconnect_after_a_restart_reuses_the_registered_client") else {
        return;
    };
    let MockScenario {
        mock: _mock,
        mock_base,
        project,
        gw,
        url,
        tokens,
    } = mock_scenario(OAuthOptions::default()).await;
    let (code, steps, err) = run_client(ts_client(&dir, &url, &tokens, &["--list-tools"])).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    let port = gw.addr.port();
    gw.shutdown.cancel();
    let _ = gw.task.await;

    let gw = gateway_on(project.path(), port).await;
    mock_hook(&mock_base, "revoke-all").await;
    let body = call_with_stored_token(&url, &tokens).await;
    assert_eq!(body["error"]["code"], -32042, "{body:#}");
    let (code, steps, err) = run_client(ts_client(&dir, &url, &tokens, &["--list-tools"])).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(has_step(&steps, "connect_done"), "{steps:#?}");
    let s = stats(&mock_base).await;
    assert_eq!(s["authorizations"], 2, "{s:#}");
    assert_eq!(s["registrations"], 1, "the stored client was reused: {s:#}");
    gw.shutdown.cancel();
}

/// §3.14, §3.15: a connect link (browser ticket) and an upstream callback `state` work once;
/// a second use, or a forged one, gets the error page with its code, not a connection.
#[tokio::test]
async fn connect_links_and_callbacks_are_single_use() {
    let Some(dir) = interop_dir("connect_links_and_callbacks_are_single_use") else {
        return;
    };
    let sc = mock_scenario(OAuthOptions::default()).await;
    let (code, steps, err) =
        run_client(ts_client(&dir, &sc.url, &sc.tokens, &["--list-tools"])).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    mock_hook(&sc.mock_base, "revoke-all").await;
    let body = call_with_stored_token(&sc.url, &sc.tokens).await;
    let auth_url = body["error"]["data"]["connectRequired"]["authUrl"]
        .as_str()
        .expect("an authUrl")
        .to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    async fn assert_refused(url: &str, code: &str) {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = http.get(url).send().await.unwrap();
        let status = resp.status().as_u16();
        let html = resp.text().await.unwrap();
        assert_eq!(status, 400, "{code}: {html}");
        assert!(html.contains(code), "{code}: {html}");
    }

    // the ticket: first use goes on to the upstream AS, the second is refused
    let first = get(auth_url.clone()).await;
    assert_eq!(first.status(), 302);
    let to_upstream = first.headers()["location"].to_str().unwrap().to_string();
    assert!(to_upstream.starts_with(&sc.mock_base), "{to_upstream}");
    assert_refused(&auth_url, "oauth_state_reused").await;
    let forged = auth_url.replace("browserTicket=", "browserTicket=x");
    assert_refused(&forged, "oauth_state_invalid").await;

    // the callback: the AS sends the browser back once; replaying it is refused
    let back = get(to_upstream).await;
    assert_eq!(back.status(), 302);
    let callback = back.headers()["location"].to_str().unwrap().to_string();
    assert!(
        callback.contains("/auth/connections/up/callback?"),
        "{callback}"
    );
    let done = get(callback.clone()).await;
    assert!(done.status().is_success(), "{}", done.status());
    assert_refused(&callback, "oauth_state_reused").await;
    let garbled = callback.replace("state=", "state=x");
    assert_refused(&garbled, "oauth_state_invalid").await;

    // and the connection made by the one good callback works
    let body = call_with_stored_token(&sc.url, &sc.tokens).await;
    assert!(body["result"]["tools"].is_array(), "{body:#}");
    sc.gw.shutdown.cancel();
}

/// §6.4: a code exchange refused with `invalid_client` drops the client and starts over once
/// (a new registration and authorization); `invalid_grant` starts over with the same client.
#[tokio::test]
async fn connect_starts_over_once_after_a_refused_code_exchange() {
    let Some(dir) = interop_dir("connect_starts_over_once_after_a_refused_code_exchange") else {
        return;
    };
    for (error, registrations) in [("invalid_client", 2), ("invalid_grant", 1)] {
        let sc = mock_scenario(OAuthOptions::default()).await;
        mock_hook(&sc.mock_base, &format!("fail-next-token?error={error}")).await;
        let (code, steps, err) = run_client(ts_client(
            &dir,
            &sc.url,
            &sc.tokens,
            &["--call", "add", "--args", r#"{"a":1,"b":2}"#],
        ))
        .await;
        assert_eq!(code, 0, "{error}: {steps:#?}\n{err}");
        assert!(!has_step(&steps, "connect_required"), "{error}: {steps:#?}");
        assert!(step(&steps, "call")["result"].to_string().contains("\"3\""));
        let s = stats(&sc.mock_base).await;
        assert_eq!(s["registrations"], registrations, "{error}: {s:#}");
        assert_eq!(s["authorizations"], 2, "{error}: {s:#}");
        assert_eq!(s["token_requests"], 2, "{error}: {s:#}");
        sc.gw.shutdown.cancel();
        drop(sc.mock);
    }
}

#[tokio::test]
async fn user_oauth_upstream_connects_refreshes_and_asks_for_reconsent() {
    let Some(dir) = interop_dir("user_oauth_upstream_connects_refreshes_and_asks_for_reconsent")
    else {
        return;
    };
    let MockScenario {
        mock,
        mock_base,
        project,
        gw,
        url,
        tokens,
    } = mock_scenario(OAuthOptions {
        token_ttl_secs: 3600,
        ..Default::default()
    })
    .await;

    // first run: downstream OAuth; the consent page is in setup mode, the harness browser
    // follows its Connect link through the upstream AS and back, then the client is authorized
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &tokens,
        &["--call", "add", "--args", r#"{"a":2,"b":3}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(step(&steps, "call")["result"].to_string().contains("\"5\""));
    let s = stats(&mock_base).await;
    // the gateway asked the upstream AS with PKCE S256 and the PRM resource
    assert_eq!(
        s["last_authorize"]["code_challenge_method"], "S256",
        "{s:#}"
    );
    assert_eq!(s["last_authorize"]["resource"], mock.url.as_str(), "{s:#}");

    // the vault: the connection opens only under its own key, and no token is in the file
    assert_vault_holds_no_clear_token(project.path(), "dev-browser-user", "up", "up:user-oauth");

    // second run: no connect needed
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &tokens,
        &["--call", "add", "--args", r#"{"a":1,"b":1}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");

    // an expired upstream token is refreshed without the client noticing
    let refreshes_before = s["refreshes"].as_u64().unwrap_or(0);
    reqwest::Client::new()
        .post(format!("{mock_base}/__mock/expire-access-tokens"))
        .send()
        .await
        .unwrap();
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &tokens,
        &["--call", "add", "--args", r#"{"a":3,"b":4}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(step(&steps, "call")["result"].to_string().contains("\"7\""));
    let s = stats(&mock_base).await;
    assert!(
        s["refreshes"].as_u64().unwrap_or(0) > refreshes_before,
        "{s:#}"
    );

    // the upstream revokes everything: the client is asked to reconsent, and gets through
    reqwest::Client::new()
        .post(format!("{mock_base}/__mock/revoke-all"))
        .send()
        .await
        .unwrap();
    let body = call_with_stored_token(&url, &tokens).await;
    assert_eq!(body["id"], 41, "{body:#}");
    assert_eq!(body["error"]["code"], -32042, "{body:#}");
    let payload = &body["error"]["data"]["connectRequired"];
    assert_eq!(payload["state"], "reconsent_required", "{body:#}");
    assert_eq!(payload["upstreamServerId"], "up");
    assert_eq!(payload["authProfileId"], "up:user-oauth");
    assert_eq!(payload["nextAction"], "redirect");
    assert_eq!(body["error"]["data"]["state"], "reconsent_required");
    assert_eq!(
        body["error"]["data"]["elicitations"][0]["url"],
        payload["authUrl"]
    );
    reconnects_and_calls(&dir, &url, &tokens, "add", r#"{"a":5,"b":5}"#, "\"10\"").await;
    gw.shutdown.cancel();
}

/// A client run that meets connect-required, opens `authUrl` in the harness browser, connects,
/// and whose retried call of `tool` answers a result containing `expect`.
async fn reconnects_and_calls(
    dir: &Path,
    url: &str,
    tokens: &Path,
    tool: &str,
    args: &str,
    expect: &str,
) {
    let (code, steps, err) = run_client(ts_client(
        dir,
        url,
        tokens,
        &["--call", tool, "--args", args],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(has_step(&steps, "connect_done"), "{steps:#?}");
    assert!(
        step(&steps, "call")["result"].to_string().contains(expect),
        "{steps:#?}"
    );
}

/// Opens the connection with the gateway's own key (so the tokens are known), then checks the
/// SQLite files hold neither token in clear and that the row does not open for another subject.
fn assert_vault_holds_no_clear_token(project: &Path, subject: &str, id: &str, profile: &str) {
    use mcpgw::store::{ConnectionKey, SqliteStore, Store, keyfile};
    use mcpgw::upstream::Sealed;
    use mcpgw::upstream::{Purpose, Vault, VaultError};
    let state = project.join(".mcpgw");
    let (secret, _) = keyfile::load_gateway_secret(&state).unwrap();
    let vault = Vault::new(&secret).unwrap();
    let store = SqliteStore::open(&keyfile::db_path(&state)).unwrap();
    let key = ConnectionKey::user(subject, id, profile);
    let conn = store
        .get_upstream_connection(&key)
        .unwrap()
        .expect("a stored connection");
    let sealed: Sealed = vault
        .open_json(Purpose::Connection, &key, &conn.blob)
        .unwrap();
    let access = sealed.access_token.expect("an access token").into_secret();
    let mut bytes = Vec::new();
    for f in std::fs::read_dir(&state).unwrap() {
        let p = f.unwrap().path();
        if p.to_string_lossy().contains("state.db") {
            bytes.extend(std::fs::read(&p).unwrap());
        }
    }
    let mut needles = vec![access];
    needles.extend(sealed.refresh_token.map(|t| t.into_secret()));
    for needle in needles {
        assert!(needle.len() >= 16);
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "an upstream token is stored in clear"
        );
    }
    let other = ConnectionKey::user("someone-else", id, profile);
    assert_eq!(
        vault.open(Purpose::Connection, &other, &conn.blob).err(),
        Some(VaultError::Rejected)
    );
}

/// A `tools/list` with the access token the TS client saved: the raw JSON-RPC answer.
async fn call_with_stored_token(url: &str, token_file: &Path) -> Value {
    let saved: Value = serde_json::from_slice(&std::fs::read(token_file).unwrap()).unwrap();
    let token = saved["tokens"]["access_token"]
        .as_str()
        .expect("a saved access token");
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 41, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn py_oauth_upstream(dir: &Path, extra: &[&str]) -> (Child, String, String) {
    let (child, ready) = spawn_ready(
        Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0", "--oauth"])
            .args(extra),
    );
    let url = ready["url"].as_str().unwrap().to_string();
    let base = url.trim_end_matches("/mcp").to_string();
    (child, url, base)
}

#[tokio::test]
async fn python_sdk_upstream_connects_at_consent_refreshes_and_reconnects_after_revocation() {
    let Some(dir) = interop_dir(
        "python_sdk_upstream_connects_at_consent_refreshes_and_reconnects_after_revocation",
    ) else {
        return;
    };
    // PRM at the root and no resource_metadata in the challenge: D15's fallbacks
    let (_up, upstream, base) = py_oauth_upstream(
        &dir,
        &[
            "--prm-at",
            "root",
            "--no-resource-metadata",
            "--token-ttl",
            "3",
        ],
    );
    let (_project, gw, url, tokens) =
        exchange_project("py", &upstream, "user-oauth", json!({})).await;

    // the consent page is in setup mode: the harness browser follows Connect, the upstream AS
    // approves, the callback returns to the consent page, which then goes back to the client
    let (code, steps, err) =
        run_client(ts_client(&dir, &url, &tokens, &["--call", "whoami"])).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}\n{err}");
    let whoami = step(&steps, "call")["result"].to_string();
    assert!(whoami.contains("demo-user"), "{whoami}");
    let s: Value = reqwest::get(format!("{base}/__interop/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // the SDK AS accepts S256 only, so a code_challenge means PKCE S256
    assert_eq!(s["last_authorize"]["code_challenge"], true, "{s:#}");
    assert_eq!(s["last_authorize"]["resource"], upstream.as_str(), "{s:#}");
    assert!(
        s["last_authorize"]["redirect_uri"]
            .as_str()
            .is_some_and(|r| r.starts_with("http://localhost:")
                && r.ends_with("/auth/connections/py/callback")),
        "{s:#}"
    );
    let refreshes = s["refreshes"].as_u64().unwrap_or(0);

    // the upstream token lives 3 s: after it expired, the gateway refreshes by itself
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &tokens,
        &["--call", "echo", "--args", r#"{"text":"again"}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(step(&steps, "call")["result"].to_string().contains("again"));
    let s: Value = reqwest::get(format!("{base}/__interop/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(s["refreshes"].as_u64().unwrap_or(0) > refreshes, "{s:#}");

    // the upstream revokes every token: the next call answers -32042 reconsent_required, the
    // client opens authUrl in the harness browser, connects, and its retried call succeeds
    let revoked = reqwest::Client::new()
        .post(format!("{base}/__interop/revoke-all"))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let body = call_with_stored_token(&url, &tokens).await;
    assert_eq!(body["error"]["code"], -32042, "{body:#}");
    assert_eq!(
        body["error"]["data"]["connectRequired"]["state"], "reconsent_required",
        "{body:#}"
    );
    reconnects_and_calls(
        &dir,
        &url,
        &tokens,
        "echo",
        r#"{"text":"reconnected"}"#,
        "reconnected",
    )
    .await;
    gw.shutdown.cancel();
}

#[tokio::test]
async fn ts_sdk_example_server_with_its_demo_as() {
    let Some(dir) = interop_dir("ts_sdk_example_server_with_its_demo_as") else {
        return;
    };
    let (_up, ready) = spawn_ready(
        Command::new("bash")
            .arg(dir.join("upstreams/ts-oauth-upstream.sh"))
            .args(["0", "0"]),
    );
    let upstream = ready["url"].as_str().unwrap().to_string();
    let (_project, gw, url, tokens) =
        exchange_project("ts", &upstream, "user-oauth", json!({})).await;
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &tokens,
        &["--call", "greet", "--args", r#"{"name":"gateway"}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(
        step(&steps, "call")["result"]
            .to_string()
            .contains("Hello, gateway!"),
        "{steps:#?}"
    );
    // a second run needs no connect
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &tokens,
        &["--call", "greet", "--args", r#"{"name":"again"}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    gw.shutdown.cancel();
}

async fn gateway_as(dir: &Path, user: &str) -> gateway::Running {
    let report = gateway::load(dir.to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir);
    options.port = 0;
    options.dev.user = user.to_string();
    gateway::start(Served::new(report), &options).await.unwrap()
}

/// The harness browser (`lib/headless-ua.mjs`) with a cookie jar; returns its `--json` answer.
async fn browse(dir: &Path, jar: &Path, stop_at: Option<&str>, url: &str) -> Value {
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("lib/headless-ua.mjs"))
        .arg("--cookies")
        .arg(jar)
        .arg("--json");
    if let Some(s) = stop_at {
        cmd.args(["--stop-at", s]);
    }
    cmd.arg(url);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("ua ran"))
        .await
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "ua: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Signs `jar`'s browser in to the gateway (dev-login + consent for a throwaway client).
async fn sign_in_browser(dir: &Path, jar: &Path, gw: &str, resource: &str) {
    let redirect = "http://127.0.0.1:1/cb";
    let reg: Value = reqwest::Client::new()
        .post(format!("{gw}/__zuplo/oauth/register"))
        .json(&json!({"client_name": "admin browser", "redirect_uris": [redirect], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = reg["client_id"].as_str().expect("client_id");
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // S256 of the RFC 7636 example verifier
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "s")
        .append_pair("resource", resource)
        .append_pair("scope", "mcp:tools")
        .finish();
    let done = browse(
        dir,
        jar,
        Some(redirect),
        &format!("{gw}/__zuplo/oauth/authorize?{query}"),
    )
    .await;
    assert_eq!(done["stopped"], true, "{done:#}");
    assert!(
        done["url"].as_str().unwrap_or("").contains("code="),
        "{done:#}"
    );
}

#[tokio::test]
async fn shared_oauth_needs_one_admin_connect_then_every_user_gets_through() {
    let Some(dir) =
        interop_dir("shared_oauth_needs_one_admin_connect_then_every_user_gets_through")
    else {
        return;
    };
    let mock = spawn_with(
        "127.0.0.1:0",
        MockOptions {
            oauth: Some(OAuthOptions::default()),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap();
    let project = tempfile::tempdir().unwrap();
    write_project(
        project.path(),
        json!({ "/mcp/shared": mcp_route("shared-mcp", &mock.url, &["dev-oauth", "mcp-token-exchange-team"], json!({})) }),
        json!([
            dev_oauth_policy(),
            exchange_policy("team", "shared-oauth", json!({}))
        ]),
    );
    let gw = gateway_as(project.path(), "alice").await;
    let origin = format!("http://{}", gw.addr);
    let url = format!("{origin}/mcp/shared");
    let alice_tokens = project.path().join("alice.json");

    // nobody connected yet: -32600 admin_connect_required, no URL to open (the client exits 3)
    let (code, steps, err) =
        run_client(ts_client(&dir, &url, &alice_tokens, &["--list-tools"])).await;
    assert_eq!(code, 3, "{steps:#?}\n{err}");
    let body = call_with_stored_token(&url, &alice_tokens).await;
    assert_eq!(body["error"]["code"], -32600, "{body:#}");
    let payload = &body["error"]["data"]["connectRequired"];
    assert_eq!(payload["state"], "admin_connect_required", "{body:#}");
    assert_eq!(payload["nextAction"], "admin_setup_required");
    assert!(payload.get("authUrl").is_none(), "{body:#}");
    assert!(body["error"]["data"].get("elicitations").is_none());
    // the same on 2026-07-28 (D26): the call's input request names the URL an administrator
    // opens, signed in to the gateway
    let saved: Value = serde_json::from_slice(&std::fs::read(&alice_tokens).unwrap()).unwrap();
    let token = saved["tokens"]["access_token"].as_str().unwrap();
    let asked = modern_call(&url, token, json!({})).await;
    assert_eq!(asked["result"]["resultType"], "input_required", "{asked:#}");
    let requests = asked["result"]["inputRequests"].as_object().unwrap();
    let ask = &requests.values().next().unwrap()["params"];
    assert_eq!(
        ask["url"],
        format!(
            "{origin}/__zuplo/auth/connections/team/connect?redirect=true&operationId=shared-mcp"
        ),
        "{asked:#}"
    );
    assert_eq!(
        ask["message"],
        "An administrator must connect Upstream team before this tool can be used."
    );

    // an administrator, signed in to the gateway in a browser, connects once
    let jar = project.path().join("admin-jar.json");
    sign_in_browser(&dir, &jar, &origin, &url).await;
    let connect = format!(
        "{origin}/__zuplo/auth/connections/team/connect?redirect=true&operationId=shared-mcp"
    );
    let page = browse(&dir, &jar, None, &connect).await;
    assert_eq!(page["title"], "Connection complete", "{page:#}");

    // now alice gets through, and so does bob, another user of the same gateway state
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &alice_tokens,
        &["--call", "add", "--args", r#"{"a":1,"b":2}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(step(&steps, "call")["result"].to_string().contains("\"3\""));
    gw.shutdown.cancel();
    let _ = gw.task.await;

    let gw = gateway_as(project.path(), "bob").await;
    let url = format!("http://{}/mcp/shared", gw.addr);
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &project.path().join("bob.json"),
        &["--call", "add", "--args", r#"{"a":2,"b":2}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(step(&steps, "call")["result"].to_string().contains("\"4\""));
    gw.shutdown.cancel();
}

#[tokio::test]
async fn step_up_on_insufficient_scope_asks_for_reconsent_with_the_wider_scope() {
    let Some(dir) =
        interop_dir("step_up_on_insufficient_scope_asks_for_reconsent_with_the_wider_scope")
    else {
        return;
    };
    let MockScenario {
        mock: _mock,
        mock_base,
        project: _project,
        gw,
        url,
        tokens,
    } = mock_scenario(OAuthOptions {
        challenge_scope: true,
        tool_scopes: vec![("add".into(), "mcp:admin".into())],
        ..Default::default()
    })
    .await;

    // echo needs only mcp:tools; add answers 403 insufficient_scope → reconsent_required with
    // the wider scope; after the reconsent the call succeeds
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &url,
        &tokens,
        &[
            "--call",
            "echo",
            "--args",
            r#"{"text":"x"}"#,
            "--call",
            "add",
            "--args",
            r#"{"a":20,"b":22}"#,
        ],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(has_step(&steps, "connect_done"), "{steps:#?}");
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "call" && s["result"].to_string().contains("\"42\"")),
        "{steps:#?}"
    );
    let s = stats(&mock_base).await;
    let scope = s["last_authorize"]["scope"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(scope.split(' ').any(|w| w == "mcp:admin"), "{s:#}");
    assert!(scope.split(' ').any(|w| w == "mcp:tools"), "{s:#}");
    gw.shutdown.cancel();
}

// --- 2026-07-28 clients (D26) -------------------------------------------------------------

/// The TS SDK v2 client of ../shared/interop (`clients/mcp-client-v2.mjs`) pinned to
/// 2026-07-28, keeping its OAuth tokens in `token_file`. `--no-connect-retry` switches off
/// the script's own handling of a `-32042` error: a connect must go through the SDK's
/// 2026-07-28 path (an `InputRequiredResult` fulfilled by its `elicitation/create` handler).
fn pinned_v2_client(dir: &Path, url: &str, token_file: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("clients/mcp-client-v2.mjs"))
        .arg(url)
        .args(["--era", "pin", "--no-connect-retry", "--token-file"])
        .arg(token_file)
        .args(args)
        .args(["--timeout", "60"]);
    cmd
}

fn steps_named<'a>(steps: &'a [Value], name: &str) -> Vec<&'a Value> {
    steps.iter().filter(|s| s["step"] == name).collect()
}

/// The one `input_required` answer of a run: its URL-mode input request's URL.
fn asked_url(steps: &[Value]) -> String {
    let asked = steps_named(steps, "input_required");
    assert_eq!(asked.len(), 1, "{steps:#?}");
    assert_eq!(asked[0]["requestState"], true, "{steps:#?}");
    let requests = asked[0]["inputRequests"]
        .as_object()
        .expect("inputRequests");
    assert_eq!(requests.len(), 1, "{steps:#?}");
    let (_, ask) = requests.iter().next().unwrap();
    assert_eq!(ask["method"], "elicitation/create");
    assert_eq!(ask["mode"], "url");
    ask["url"].as_str().expect("a url").to_string()
}

/// The retried request carried the gateway's `requestState` and the accepted answer.
fn assert_retried_once(steps: &[Value], method: &str) {
    let retries = steps_named(steps, "mrtr_retry");
    assert_eq!(retries.len(), 1, "{steps:#?}");
    assert_eq!(retries[0]["method"], method);
    assert_eq!(retries[0]["requestState"], true);
    assert_eq!(retries[0]["responses"], json!(["accept"]), "{steps:#?}");
}

/// D26: a TS SDK v2 client pinned to 2026-07-28 meets a revoked upstream connection in the
/// middle of its session (the mock's `revoke-all` hook between two actions). Its `tools/call`
/// gets an `InputRequiredResult` whose URL is the connect URL; the SDK's elicitation handler
/// opens it (the harness browser connects the upstream again) and the SDK retries with
/// `requestState` and `inputResponses`, and the retried call succeeds. Then a new run of the
/// same client (stored gateway tokens, so no consent page) meets the revoked connection at
/// its first request, `server/discover`: it still connects, its `tools/list` gets the error
/// that carries the URL (the SDK's `UrlElicitationRequiredError`), and its `tools/call` the
/// 2026-07-28 round trip again.
#[tokio::test]
async fn pinned_v2_client_connects_the_upstream_through_its_own_elicitation_handler() {
    let Some(dir) =
        interop_dir("pinned_v2_client_connects_the_upstream_through_its_own_elicitation_handler")
    else {
        return;
    };
    let sc = mock_scenario(OAuthOptions::default()).await;
    let revoke = format!("{}/__mock/revoke-all", sc.mock_base);
    let (code, steps, err) = run_client(pinned_v2_client(
        &dir,
        &sc.url,
        &sc.tokens,
        &[
            "--list-tools",
            "--post",
            &revoke,
            "--call",
            "add",
            "--args",
            r#"{"a":20,"b":22}"#,
        ],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    let connect = step(&steps, "connect");
    assert_eq!(connect["protocolVersion"], "2026-07-28", "{steps:#?}");
    assert!(
        step(&steps, "tools")["names"]
            .to_string()
            .contains("\"add\"")
    );
    let url = asked_url(&steps);
    assert!(
        url.starts_with(&format!(
            "http://{}/__zuplo/auth/connections/up/connect?",
            sc.gw.addr
        )) && url.contains("browserTicket="),
        "{url}"
    );
    // the SDK's own handler opened exactly that URL, and the connect completed
    let asked = step(&steps, "elicitation");
    assert_eq!(asked["mode"], "url");
    assert_eq!(asked["url"], url.as_str());
    assert_eq!(
        step(&steps, "connect_done")["title"],
        "Connection complete",
        "{steps:#?}"
    );
    assert_retried_once(&steps, "tools/call");
    let call = step(&steps, "call");
    assert_eq!(call["isError"], false, "{call}");
    assert_eq!(call["content"][0]["text"], "42", "{call}");
    let s = stats(&sc.mock_base).await;
    assert_eq!(s["authorizations"], 2, "{s:#}");

    // revoked again; a new run starts with server/discover on the stored gateway token
    mock_hook(&sc.mock_base, "revoke-all").await;
    let (code, steps, err) = run_client(pinned_v2_client(
        &dir,
        &sc.url,
        &sc.tokens,
        &["--list-tools"],
    ))
    .await;
    assert_eq!(code, 1, "{steps:#?}\n{err}");
    assert_eq!(
        step(&steps, "connect")["protocolVersion"],
        "2026-07-28",
        "{steps:#?}"
    );
    let failed = step(&steps, "error");
    assert_eq!(failed["code"], -32042, "{failed}");
    let shown = failed["data"]["elicitations"][0]["url"]
        .as_str()
        .unwrap_or_default();
    assert!(
        shown.contains("/__zuplo/auth/connections/up/connect?"),
        "{failed}"
    );
    // the SDK keeps the elicitations (UrlElicitationRequiredError) and the message
    assert_eq!(
        failed["message"],
        "Upstream up authorization must be renewed before this tool can be used.",
        "{failed}"
    );
    let (code, steps, err) = run_client(pinned_v2_client(
        &dir,
        &sc.url,
        &sc.tokens,
        &["--call", "add", "--args", r#"{"a":1,"b":2}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    asked_url(&steps);
    assert_retried_once(&steps, "tools/call");
    assert_eq!(step(&steps, "call")["content"][0]["text"], "3");
    sc.gw.shutdown.cancel();
}

/// A 2026-07-28 `tools/call` of `add` as a client that declared URL-mode elicitation sends it,
/// with `extra` merged into its params: the raw JSON-RPC answer.
async fn modern_call(url: &str, token: &str, extra: Value) -> Value {
    let mut params = json!({"name": "add", "arguments": {"a": 1, "b": 1}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"url": {}}}}});
    if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    let resp = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "add")
        .json(&json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": params}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// D26: the `requestState` of a retried request counts as the gateway's own only when it
/// verifies and names this caller, connection and method. The gateway's own with a declined
/// connect ends the round trip (the D5 error, which still carries the URL); a forged, expired
/// or someone else's state is ignored: the retry gets a fresh question with a new state, never
/// an error about the state, and never the upstream.
#[tokio::test]
async fn a_request_state_the_gateway_did_not_mint_for_this_caller_gets_a_fresh_question() {
    use mcpgw::upstream::tickets::{self, REQUEST_STATE_TTL_SECONDS, RequestState};
    let Some(dir) = interop_dir(
        "a_request_state_the_gateway_did_not_mint_for_this_caller_gets_a_fresh_question",
    ) else {
        return;
    };
    let sc = mock_scenario(OAuthOptions::default()).await;
    let (code, steps, err) = run_client(pinned_v2_client(
        &dir,
        &sc.url,
        &sc.tokens,
        &["--list-tools"],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    mock_hook(&sc.mock_base, "revoke-all").await;
    let saved: Value = serde_json::from_slice(&std::fs::read(&sc.tokens).unwrap()).unwrap();
    let token = saved["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let first = modern_call(&sc.url, &token, json!({})).await;
    assert_eq!(first["result"]["resultType"], "input_required", "{first:#}");
    let own = first["result"]["requestState"]
        .as_str()
        .unwrap()
        .to_string();
    let requests = first["result"]["inputRequests"].as_object().unwrap();
    let (key, ask) = requests.iter().next().unwrap();
    assert!(
        ask["params"]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/__zuplo/auth/connections/up/connect?")),
        "{first:#}"
    );
    let upstream_requests = stats(&sc.mock_base).await["mcp_requests"].clone();
    let declined = |state: &str| json!({"requestState": state, "inputResponses": {key.clone(): {"action": "decline"}}});

    // the gateway's own round trip, declined: it ends, and the URL is still in the answer
    let ended = modern_call(&sc.url, &token, declined(&own)).await;
    assert_eq!(ended["error"]["code"], -32042, "{ended:#}");
    assert!(
        ended["error"]["data"]["elicitations"][0]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/__zuplo/auth/connections/up/connect?")),
        "{ended:#}"
    );

    // states the gateway did not mint for this caller, connection and method
    let secret_dir = sc.project.path().join(".mcpgw");
    let (secret, _) = mcpgw::store::keyfile::load_gateway_secret(&secret_dir).unwrap();
    let key_bytes = mcpgw::upstream::Upstreams::new(&secret).signing_key;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mint = |subject: &str, upstream: &str, method: &str, at: i64| {
        let state = RequestState {
            subject: subject.into(),
            owner_mode: "user".into(),
            upstream_server_id: upstream.into(),
            auth_profile_id: format!("{upstream}:user-oauth"),
            method: method.into(),
        };
        tickets::sign_request_state(&key_bytes, &state, at)
    };
    let me = "dev-browser-user";
    // the minting above is right: the same claims verify as the gateway's own
    assert_eq!(
        tickets::verify_request_state(&key_bytes, &own, now)
            .unwrap()
            .subject,
        me
    );
    // one signature character changed, away from the last one (whose low bits are padding)
    let at = own.len() - 10;
    let swapped = if own.as_bytes()[at] == b'A' { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &own[..at], &own[at + 1..]);
    let cases = [
        ("tampered", tampered),
        ("not a JWT", "opaque-upstream-state".to_string()),
        (
            "another subject",
            mint("someone-else", "up", "tools/call", now),
        ),
        ("another connection", mint(me, "other", "tools/call", now)),
        ("another method", mint(me, "up", "prompts/get", now)),
        (
            "expired",
            mint(me, "up", "tools/call", now - REQUEST_STATE_TTL_SECONDS - 1),
        ),
    ];
    for (why, state) in cases {
        let again = modern_call(&sc.url, &token, declined(&state)).await;
        assert_eq!(
            again["result"]["resultType"], "input_required",
            "{why}: {again:#}"
        );
        let fresh = again["result"]["requestState"].as_str().unwrap();
        assert_ne!(fresh, state, "{why}");
        let verified = tickets::verify_request_state(&key_bytes, fresh, now).unwrap();
        assert_eq!(verified.subject, me, "{why}");
        assert_eq!(verified.method, "tools/call", "{why}");
    }
    assert_eq!(
        stats(&sc.mock_base).await["mcp_requests"],
        upstream_requests,
        "no retry reached the upstream"
    );
    sc.gw.shutdown.cancel();
}

/// Runs ../shared/interop's `clients/py-client.py` (argv after the script path) with one thing
/// added: an elicitation callback on the SDK's `Client`, which opens a URL-mode request in the
/// harness browser and accepts. The script registers none, and without one the Python SDK
/// declares no elicitation capability (and would answer an input request "Elicitation not
/// supported"). Each call prints `{"step": "elicitation", ...}`.
const PY_CLIENT_WITH_ELICITATION: &str = r#"
import asyncio, functools, json, os, runpy, sys
import mcp
from mcp import types

script = sys.argv[1]
ua = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(script))), "lib", "headless-ua.mjs")

async def elicit(context, params):
    url = getattr(params, "url", None)
    print(json.dumps({"step": "elicitation", "mode": params.mode, "url": url}), flush=True)
    if params.mode != "url":
        return types.ElicitResult(action="decline")
    proc = await asyncio.create_subprocess_exec("node", ua, "--json", url, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL)
    out, _ = await proc.communicate()
    page = json.loads(out.decode().strip().splitlines()[-1])
    print(json.dumps({"step": "elicitation_done", "status": page.get("status"), "title": page.get("title")}), flush=True)
    return types.ElicitResult(action="accept")

mcp.Client = functools.partial(mcp.Client, elicitation_callback=elicit)
sys.argv = sys.argv[1:]
runpy.run_path(script, run_name="__main__")
"#;

/// The Python SDK 2.3 client (`clients/py-client.py`) pinned to 2026-07-28, optionally with
/// the elicitation callback of [`PY_CLIENT_WITH_ELICITATION`].
fn py_client(dir: &Path, project: &Path, url: &str, elicitation: bool, args: &[&str]) -> Command {
    let mut cmd = Command::new(dir.join("venv/bin/python"));
    if elicitation {
        let shim = project.join("py-client-with-elicitation.py");
        std::fs::write(&shim, PY_CLIENT_WITH_ELICITATION).unwrap();
        cmd.arg(shim);
    }
    cmd.arg(dir.join("clients/py-client.py"))
        .arg(url)
        .args(["--mode", "2026-07-28", "--timeout", "60"])
        .args(args);
    cmd
}

/// D26 and D18 with the Python SDK 2.3 client on 2026-07-28: `add` needs a wider upstream
/// scope (403 `insufficient_scope`, step-up). A client that declared URL-mode elicitation gets
/// an `InputRequiredResult`: the SDK calls its elicitation callback with the connect URL (asking
/// for the wider scope) and retries, and the call succeeds without the script's own `-32042`
/// handling. The script as shipped declares no elicitation, so it is never sent an input
/// request it cannot answer: it gets the error that carries the URL, opens it and retries.
#[tokio::test]
async fn python_sdk_client_on_2026_07_28_steps_up_through_its_elicitation_callback() {
    let Some(dir) =
        interop_dir("python_sdk_client_on_2026_07_28_steps_up_through_its_elicitation_callback")
    else {
        return;
    };
    let step_up = || OAuthOptions {
        challenge_scope: true,
        tool_scopes: vec![("add".into(), "mcp:admin".into())],
        ..Default::default()
    };
    let calls = [
        "--call",
        "echo",
        "--args",
        r#"{"text":"x"}"#,
        "--call",
        "add",
        "--args",
        r#"{"a":20,"b":22}"#,
    ];
    let result_of = |steps: &[Value]| {
        steps
            .iter()
            .find(|s| s["step"] == "call" && s["name"] == "add")
            .map(|s| s["result"]["content"][0]["text"].clone())
    };

    // with an elicitation callback: the 2026-07-28 round trip
    let sc = mock_scenario(step_up()).await;
    let (code, steps, err) =
        run_client(py_client(&dir, sc.project.path(), &sc.url, true, &calls)).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert_eq!(step(&steps, "connect")["protocolVersion"], "2026-07-28");
    let asked = steps_named(&steps, "elicitation");
    assert_eq!(asked.len(), 1, "{steps:#?}");
    assert_eq!(asked[0]["mode"], "url");
    assert!(
        asked[0]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/__zuplo/auth/connections/up/connect?")),
        "{steps:#?}"
    );
    assert_eq!(
        step(&steps, "elicitation_done")["title"],
        "Connection complete"
    );
    assert!(!has_step(&steps, "connect_required"), "{steps:#?}");
    assert_eq!(result_of(&steps), Some(json!("42")), "{steps:#?}");
    let s = stats(&sc.mock_base).await;
    let scope = s["last_authorize"]["scope"].as_str().unwrap_or_default();
    assert!(scope.split(' ').any(|w| w == "mcp:admin"), "{s:#}");
    sc.gw.shutdown.cancel();

    // the script as shipped (no elicitation capability): the error with the URL
    let sc = mock_scenario(step_up()).await;
    let (code, steps, err) =
        run_client(py_client(&dir, sc.project.path(), &sc.url, false, &calls)).await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert_eq!(step(&steps, "connect")["protocolVersion"], "2026-07-28");
    assert!(!has_step(&steps, "elicitation"), "{steps:#?}");
    assert_eq!(
        step(&steps, "connect_required")["code"],
        -32042,
        "{steps:#?}"
    );
    assert_eq!(result_of(&steps), Some(json!("42")), "{steps:#?}");
    sc.gw.shutdown.cancel();
}

/// D26: the retry of the gateway's own round trip reaches the upstream without `requestState`
/// and `inputResponses`. The Python SDK's `MCPServer` seals its own `requestState` and refuses
/// any other (`-32602` "Invalid or expired requestState"), so the pinned TS SDK v2 client's
/// retried call succeeds against it only when the gateway removed them.
#[tokio::test]
async fn the_retry_reaches_a_python_sdk_upstream_without_the_gateways_request_state() {
    let Some(dir) =
        interop_dir("the_retry_reaches_a_python_sdk_upstream_without_the_gateways_request_state")
    else {
        return;
    };
    let (_up, upstream, base) = py_oauth_upstream(&dir, &[]);
    let (_project, gw, url, tokens) =
        exchange_project("py", &upstream, "user-oauth", json!({})).await;
    let revoke = format!("{base}/__interop/revoke-all");
    let (code, steps, err) = run_client(pinned_v2_client(
        &dir,
        &url,
        &tokens,
        &[
            "--list-tools",
            "--post",
            &revoke,
            "--call",
            "echo",
            "--args",
            r#"{"text":"after the connect"}"#,
        ],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert_eq!(step(&steps, "connect")["protocolVersion"], "2026-07-28");
    asked_url(&steps);
    assert_retried_once(&steps, "tools/call");
    let call = step(&steps, "call");
    assert_eq!(call["isError"], false, "{call}");
    assert!(
        call["content"].to_string().contains("after the connect"),
        "{call}"
    );
    gw.shutdown.cancel();
}

// ---------------------------------------------------------------------------------------------
// The connect flow by hand (no interop peers needed): a dev-login browser session, the connect
// link, the upstream AS (the mock auto-approves) and the gateway's callback.
// ---------------------------------------------------------------------------------------------

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser session at the gateway `gw` (dev-login opens one for any request with a state).
async fn dev_session(gw: &str) -> String {
    let r = no_redirects()
        .get(format!("{gw}/__zuplo/oauth/dev-login?state=by-hand"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

fn location_of(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// What one connect of upstream `id` (route operation `<id>-mcp`) did, signed in as the dev user.
struct ByHand {
    /// The gateway's answer to the connect link (302 to the upstream AS, or an error page).
    connect: reqwest::StatusCode,
    connect_body: String,
    /// The gateway's answer to the callback, when the flow got that far: status and page.
    callback: Option<(reqwest::StatusCode, String)>,
}

async fn connect_by_hand(gw: &str, id: &str) -> ByHand {
    let http = no_redirects();
    let cookie = dev_session(gw).await;
    let r = http
        .get(format!(
            "{gw}/__zuplo/auth/connections/{id}/connect?operationId={id}-mcp&redirect=true"
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let connect = r.status();
    if connect != 302 {
        return ByHand {
            connect,
            connect_body: r.text().await.unwrap(),
            callback: None,
        };
    }
    // the upstream AS approves and sends the browser back to the gateway's callback
    let at_as = http.get(location_of(&r)).send().await.unwrap();
    assert_eq!(at_as.status(), 302, "{}", at_as.text().await.unwrap());
    let callback = location_of(&at_as);
    assert!(
        callback.contains(&format!("/auth/connections/{id}/callback?")),
        "{callback}"
    );
    let back = http
        .get(callback)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let status = back.status();
    ByHand {
        connect,
        connect_body: String::new(),
        callback: Some((status, back.text().await.unwrap())),
    }
}

/// RFC 9728 §3.3: an upstream whose PRM names another resource is not authorized against; the
/// connect answers the error page naming both URLs, before any registration or authorization.
#[tokio::test]
async fn a_prm_for_another_resource_stops_the_connect() {
    let sc = mock_scenario(OAuthOptions {
        prm_resource: Some("https://evil.example.com/mcp".into()),
        ..Default::default()
    })
    .await;
    let gw = format!("http://{}", sc.gw.addr);
    let done = connect_by_hand(&gw, "up").await;
    assert_eq!(done.connect, 502, "{}", done.connect_body);
    let page = &done.connect_body;
    assert!(page.contains("upstream_resource_mismatch"), "{page}");
    assert!(page.contains("https://evil.example.com/mcp"), "{page}");
    assert!(page.contains(sc.mock.url.as_str()), "{page}");
    assert!(page.contains("RFC 9728"), "{page}");
    let s = stats(&sc.mock_base).await;
    assert_eq!(s["registrations"], 0, "{s:#}");
    assert_eq!(s["authorizations"], 0, "{s:#}");
    sc.gw.shutdown.cancel();
}

/// RFC 9207 §2.4 at the upstream callback: the mock AS advertises `iss`; a response without it,
/// or with the issuer plus a trailing slash, is refused before the code is sent anywhere; the
/// exact issuer connects.
#[tokio::test]
async fn upstream_responses_without_the_exact_iss_are_refused() {
    use mcpgw::mock::IssMode;
    for (mode, ok) in [
        (IssMode::Omit, false),
        (IssMode::TrailingSlash, false),
        (IssMode::Exact, true),
    ] {
        let sc = mock_scenario(OAuthOptions {
            iss: mode,
            ..Default::default()
        })
        .await;
        let gw = format!("http://{}", sc.gw.addr);
        let done = connect_by_hand(&gw, "up").await;
        assert_eq!(done.connect, 302, "{mode:?}: {}", done.connect_body);
        let (status, page) = done.callback.expect("the flow reached the callback");
        let s = stats(&sc.mock_base).await;
        if ok {
            assert_eq!(status, 200, "{mode:?}: {page}");
            assert!(page.contains("Connection complete"), "{page}");
            assert_eq!(s["token_requests"], 1, "{s:#}");
        } else {
            assert_eq!(status, 400, "{mode:?}: {page}");
            assert!(page.contains("oauth_callback_mismatch"), "{mode:?}: {page}");
            assert!(page.contains("RFC 9207"), "{mode:?}: {page}");
            assert_eq!(
                s["token_requests"], 0,
                "{mode:?}: the code went nowhere: {s:#}"
            );
        }
        sc.gw.shutdown.cancel();
    }
}

/// SPEC §6.5 / MCP "Scope Selection Strategy": the scope the gateway asks the upstream AS for is
/// the policy's explicit `scopes`, else the 401 challenge's `scope`, else the PRM's
/// `scopes_supported`; `offline_access` is added only when the AS lists it (SEP-2207), and only
/// to a scope that is asked for anyway.
#[tokio::test]
async fn the_scope_asked_upstream_follows_the_spec_order() {
    let tools = || vec![("add".to_string(), "mcp:admin".to_string())];
    let cases = [
        (
            "explicit scopes win over the challenge",
            OAuthOptions {
                challenge_scope: true,
                tool_scopes: tools(),
                ..Default::default()
            },
            json!({"scopes": ["mcp:admin"]}),
            Some("mcp:admin"),
        ),
        (
            "the challenge's scope wins over scopes_supported",
            OAuthOptions {
                challenge_scope: true,
                tool_scopes: tools(),
                ..Default::default()
            },
            json!({}),
            Some("mcp:tools"),
        ),
        (
            "no challenge scope: PRM scopes_supported",
            OAuthOptions {
                tool_scopes: tools(),
                ..Default::default()
            },
            json!({}),
            Some("mcp:tools mcp:admin"),
        ),
        (
            "offline_access when the AS lists it",
            OAuthOptions {
                tool_scopes: tools(),
                offline_access: true,
                ..Default::default()
            },
            json!({}),
            Some("mcp:tools mcp:admin offline_access"),
        ),
        (
            "no scope asked: no lone offline_access either",
            OAuthOptions {
                offline_access: true,
                ..Default::default()
            },
            json!({"scopes": []}),
            None,
        ),
    ];
    for (case, oauth, policy, expected) in cases {
        let sc = mock_scenario_with(oauth, policy).await;
        let gw = format!("http://{}", sc.gw.addr);
        let done = connect_by_hand(&gw, "up").await;
        assert_eq!(done.connect, 302, "{case}: {}", done.connect_body);
        let s = stats(&sc.mock_base).await;
        let asked = &s["last_authorize"];
        assert_eq!(asked["scope"].as_str(), expected, "{case}: {s:#}");
        let consent = asked["prompt"].as_str() == Some("consent");
        assert_eq!(
            consent,
            expected.is_some_and(|e| e.contains("offline_access")),
            "{case}: prompt=consent goes with offline_access: {s:#}"
        );
        let (status, page) = done.callback.expect("callback");
        assert_eq!(status, 200, "{case}: {page}");
        sc.gw.shutdown.cancel();
    }
}

/// D18 / MCP "Step-Up Authorization Flow": the re-authorization asks for the union of what the
/// connection had and what the challenge names, also when the first connect asked for no scope
/// (only what the AS granted is known) and the upstream's 403 names only the missing scope.
#[tokio::test]
async fn step_up_keeps_the_scopes_the_connection_had() {
    let Some(dir) = interop_dir("step_up_keeps_the_scopes_the_connection_had") else {
        return;
    };
    let sc = mock_scenario_with(
        OAuthOptions {
            challenge_missing_scope_only: true,
            tool_scopes: vec![("add".into(), "mcp:admin".into())],
            ..Default::default()
        },
        // ask for no scope at the first connect: the AS grants its default, mcp:tools
        json!({"scopes": []}),
    )
    .await;
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &sc.url,
        &sc.tokens,
        &["--call", "add", "--args", r#"{"a":20,"b":22}"#],
    ))
    .await;
    assert_eq!(code, 0, "{steps:#?}\n{err}");
    assert!(has_step(&steps, "connect_required"), "{steps:#?}");
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "call" && s["result"].to_string().contains("\"42\"")),
        "{steps:#?}"
    );
    let s = stats(&sc.mock_base).await;
    let scope = s["last_authorize"]["scope"].as_str().unwrap_or_default();
    let words: Vec<&str> = scope.split(' ').collect();
    assert!(words.contains(&"mcp:tools"), "kept what it had: {s:#}");
    assert!(
        words.contains(&"mcp:admin"),
        "what the challenge named: {s:#}"
    );
    assert_eq!(s["authorizations"], 2, "one connect, one step-up: {s:#}");
    sc.gw.shutdown.cancel();
}

/// D18 retry limit: when the upstream AS does not grant the scope a step-up asked for, the next
/// 403 for it is not another reconsent (a loop the user cannot leave) but an error naming it.
#[tokio::test]
async fn a_step_up_the_as_does_not_grant_is_not_asked_again() {
    let Some(dir) = interop_dir("a_step_up_the_as_does_not_grant_is_not_asked_again") else {
        return;
    };
    let sc = mock_scenario(OAuthOptions {
        challenge_scope: true,
        tool_scopes: vec![("add".into(), "mcp:admin".into())],
        withheld_scopes: vec!["mcp:admin".into()],
        ..Default::default()
    })
    .await;
    let (code, steps, err) = run_client(ts_client(
        &dir,
        &sc.url,
        &sc.tokens,
        &["--call", "add", "--args", r#"{"a":1,"b":1}"#],
    ))
    .await;
    // the step-up's reconsent ran once; the retried call gets the error
    assert_ne!(code, 0, "{steps:#?}\n{err}");
    assert!(has_step(&steps, "connect_done"), "{steps:#?}");
    let s = stats(&sc.mock_base).await;
    assert_eq!(s["authorizations"], 2, "one connect, one step-up: {s:#}");
    // and so does every further call, without another reconsent
    let body = call_add_with_stored_token(&sc.url, &sc.tokens).await;
    assert_eq!(body["status"], 403, "{body:#}");
    assert_eq!(body["code"], "upstream_insufficient_scope", "{body:#}");
    assert!(
        body["detail"].as_str().unwrap().contains("mcp:admin"),
        "{body:#}"
    );
    let s = stats(&sc.mock_base).await;
    assert_eq!(s["authorizations"], 2, "{s:#}");
    sc.gw.shutdown.cancel();
}

/// `tools/call add` with the token the TS client saved; the answer's JSON, whatever its status.
async fn call_add_with_stored_token(url: &str, token_file: &Path) -> Value {
    let saved: Value = serde_json::from_slice(&std::fs::read(token_file).unwrap()).unwrap();
    let token = saved["tokens"]["access_token"]
        .as_str()
        .expect("a saved access token");
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "id": 42, "method": "tools/call",
                      "params": {"name": "add", "arguments": {"a": 1, "b": 1}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The Python SDK's AS behind its server, whose challenge names no scope: the gateway asks for
/// the PRM's `scopes_supported` (§6.5), not for no scope at all.
#[tokio::test]
async fn python_sdk_as_is_asked_for_the_prm_scopes() {
    let Some(dir) = interop_dir("python_sdk_as_is_asked_for_the_prm_scopes") else {
        return;
    };
    let (_up, upstream, base) = py_oauth_upstream(&dir, &["--scope", "notes:read"]);
    let (_project, gw, _url, _tokens) =
        exchange_project("py", &upstream, "user-oauth", json!({})).await;
    let done = connect_by_hand(&format!("http://{}", gw.addr), "py").await;
    assert_eq!(done.connect, 302, "{}", done.connect_body);
    let (status, page) = done.callback.expect("callback");
    assert_eq!(status, 200, "{page}");
    let s: Value = reqwest::get(format!("{base}/__interop/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        s["last_authorize"]["scopes"],
        json!(["notes:read"]),
        "{s:#}"
    );
    gw.shutdown.cancel();
}

/// SEP-2352: the gateway's client registration belongs to the authorization server that issued
/// it. After a restart, a reconnect to the same upstream whose PRM now names another AS
/// registers there (and goes there), instead of reusing the sealed client of the first one;
/// while the AS stays the same, the sealed client is reused (no second registration). The DCR
/// request names `application_type` "native" for the gateway's loopback callback (SEP-837).
#[tokio::test]
async fn a_changed_authorization_server_gets_a_new_registration() {
    let first = spawn_with(
        "127.0.0.1:0",
        MockOptions {
            oauth: Some(OAuthOptions::default()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let first_base = format!("http://{}", first.addr);
    // another AS whose PRM claims the first mock's MCP URL as its resource
    let second = spawn_with(
        "127.0.0.1:0",
        MockOptions {
            oauth: Some(OAuthOptions {
                prm_resource: Some(first.url.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let second_base = format!("http://{}", second.addr);
    let project = tempfile::tempdir().unwrap();
    let write = |policy: Value| {
        write_project(
            project.path(),
            json!({ "/mcp/up": mcp_route("up-mcp", &first.url, &["dev-oauth", "mcp-token-exchange-up"], json!({})) }),
            json!([
                dev_oauth_policy(),
                exchange_policy("up", "user-oauth", policy)
            ]),
        )
    };
    write(json!({}));
    let gw = gateway(project.path()).await;
    let port = gw.addr.port();
    let done = connect_by_hand(&format!("http://{}", gw.addr), "up").await;
    assert_eq!(done.callback.expect("callback").0, 200);
    let s = stats(&first_base).await;
    assert_eq!(s["registrations"], 1, "{s:#}");
    assert_eq!(s["last_register"]["application_type"], "native", "{s:#}");
    gw.shutdown.cancel();
    let _ = gw.task.await;

    // the same AS after a restart: the sealed client is reused
    let gw = gateway_on(project.path(), port).await;
    let done = connect_by_hand(&format!("http://{}", gw.addr), "up").await;
    assert_eq!(done.callback.expect("callback").0, 200);
    let s = stats(&first_base).await;
    assert_eq!(s["registrations"], 1, "{s:#}");
    assert_eq!(s["authorizations"], 2, "{s:#}");
    gw.shutdown.cancel();
    let _ = gw.task.await;

    // the upstream's PRM now names the second AS: a registration there, and the browser goes
    // there
    write(
        json!({"protectedResourceMetadataUrl": format!("{second_base}/.well-known/oauth-protected-resource/mcp")}),
    );
    let gw = gateway_on(project.path(), port).await;
    let cookie = dev_session(&format!("http://{}", gw.addr)).await;
    let r = no_redirects()
        .get(format!(
            "http://{}/__zuplo/auth/connections/up/connect?operationId=up-mcp&redirect=true",
            gw.addr
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let to = location_of(&r);
    assert!(to.starts_with(&format!("{second_base}/authorize")), "{to}");
    let s2 = stats(&second_base).await;
    assert_eq!(s2["registrations"], 1, "{s2:#}");
    let s = stats(&first_base).await;
    assert_eq!(s["registrations"], 1, "{s:#}");
    gw.shutdown.cancel();
}

/// RFC 9207 §2.4 / MCP 2026-07-28: an error response from the upstream AS is checked too; with
/// an `iss` that is not the AS's, its `error` and `error_description` are not shown.
#[tokio::test]
async fn an_error_response_with_another_iss_is_not_shown() {
    let sc = mock_scenario(OAuthOptions::default()).await;
    let gw = format!("http://{}", sc.gw.addr);
    let http = no_redirects();
    let cookie = dev_session(&gw).await;
    let mut answers = Vec::new();
    for iss in ["https://evil.example.com", sc.mock_base.as_str()] {
        let r = http
            .get(format!(
                "{gw}/__zuplo/auth/connections/up/connect?operationId=up-mcp&redirect=true"
            ))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let to_as = url::Url::parse(&location_of(&r)).unwrap();
        let state = to_as
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let redirect = to_as
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let mut callback = url::Url::parse(&redirect).unwrap();
        callback
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "PLANTED-TEXT")
            .append_pair("state", &state)
            .append_pair("iss", iss);
        let back = http.get(callback).send().await.unwrap();
        answers.push((back.status(), back.text().await.unwrap()));
    }
    let (status, page) = &answers[0];
    assert_eq!(*status, 400, "{page}");
    assert!(page.contains("oauth_callback_mismatch"), "{page}");
    assert!(!page.contains("PLANTED-TEXT"), "{page}");
    // the AS's own issuer: its error is shown
    let (status, page) = &answers[1];
    assert_eq!(*status, 400, "{page}");
    assert!(page.contains("provider_access_denied"), "{page}");
    assert!(page.contains("PLANTED-TEXT"), "{page}");
    sc.gw.shutdown.cancel();
}
