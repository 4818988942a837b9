//! The authorization server of `mcpgw dev` over real HTTP: metadata, DCR, the dev-login browser
//! leg, consent, tokens, refresh, revocation and the bearer check, with one test per protection.

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use serde_json::json;
use sha2::Digest;

const REDIRECT: &str = "http://127.0.0.1:8976/oauth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-xyz";

fn challenge(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn dev_oauth() -> serde_json::Value {
    json!({"name": "dev-oauth", "policyType": "mcp-oauth-inbound", "handler": {"export": "McpOAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "oidc": {"issuer": "http://127.0.0.1:9000/__zuplo/dev-idp", "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"},
        "browserLogin": {"url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login"}}}})
}

struct Gw {
    running: gateway::Running,
    base: String,
    _mock: mcpgw::mock::MockHandle,
    _dir: tempfile::TempDir,
}

async fn gateway_in(dir: tempfile::TempDir, mock: mcpgw::mock::MockHandle, port: u16) -> Gw {
    gateway_for(dir, mock, port, false).await
}

/// A gateway on the project in `dir`, as `mcpgw dev [--local-idp]` serves it.
async fn gateway_for(
    dir: tempfile::TempDir,
    mock: mcpgw::mock::MockHandle,
    port: u16,
    local_idp: bool,
) -> Gw {
    let report = gateway::load_for(dir.path().to_path_buf(), local_idp)
        .await
        .unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir.path());
    options.port = port;
    options.dev.local_idp = local_idp;
    let running = gateway::start(Served::new(report), &options).await.unwrap();
    let base = format!("http://{}", running.addr);
    Gw {
        running,
        base,
        _mock: mock,
        _dir: dir,
    }
}

async fn gateway() -> Gw {
    gateway_with(dev_oauth()).await
}

async fn gateway_with(policy: serde_json::Value) -> Gw {
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({
            "/mcp/a-v1": mcp_route("a-server", &mock.url, &["dev-oauth"], json!({})),
            "/mcp/b-v1": mcp_route("b-server", &mock.url, &["dev-oauth"], json!({})),
        }),
        json!([policy]),
    );
    gateway_in(dir, mock, 0).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn register(gw: &Gw, redirect: &str) -> reqwest::Response {
    register_named(gw, "test client", redirect).await
}

/// DCR of a client that calls itself `name`.
async fn register_named(gw: &Gw, name: &str, redirect: &str) -> reqwest::Response {
    http()
        .post(format!("{}/__zuplo/oauth/register", gw.base))
        .json(&json!({"client_name": name, "redirect_uris": [redirect]}))
        .send()
        .await
        .unwrap()
}

async fn client_id(gw: &Gw) -> String {
    let r = register(gw, REDIRECT).await;
    assert_eq!(r.status(), 201);
    r.json::<serde_json::Value>().await.unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn authorize_url(gw: &Gw, client_id: &str, route: &str, extra: &str) -> String {
    format!(
        "{}/__zuplo/oauth/authorize/{}?response_type=code&client_id={client_id}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&state=client-state{extra}",
        gw.base,
        route.trim_start_matches('/'),
        urlenc(REDIRECT),
        challenge(VERIFIER)
    )
}

fn urlenc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

/// The browser leg: authorize → dev-login → callback (consent page) → approve → code. The
/// redirect carries RFC 9207 `iss`: the route's issuer, as its AS metadata names it.
async fn code_for(gw: &Gw, client_id: &str, route: &str) -> String {
    let q = consent_answer(
        gw,
        &authorize_url(gw, client_id, route, ""),
        route,
        "approve",
    )
    .await;
    assert_eq!(q["iss"], format!("{}{route}", gw.base), "{q:?}");
    q["code"].clone()
}

/// The browser leg from `authorize` through dev-login to the consent page: the session cookie,
/// the page and its form's state.
async fn consent_page(authorize: &str) -> (String, String, String) {
    let h = http();
    let r = h.get(authorize).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
    let r = h.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 302, "dev-login");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("zuplo_mcp_session="));
    let r = h
        .get(location(&r))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "consent page");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let page = r.text().await.unwrap();
    let state = page
        .split("name=\"state\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (cookie, page, state)
}

/// The browser leg from `authorize` to the redirect back to the client after `decision` on the
/// consent page: the redirect's query.
async fn consent_answer(
    gw: &Gw,
    authorize: &str,
    route: &str,
    decision: &str,
) -> std::collections::HashMap<String, String> {
    let (cookie, page, state) = consent_page(authorize).await;
    assert!(
        page.contains("test client") && page.contains(route),
        "{page}"
    );
    let r = http()
        .post(format!("{}/__zuplo/oauth/setup", gw.base))
        .header("cookie", &cookie)
        .form(&[("state", state.as_str()), ("decision", decision)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = url::Url::parse(&location(&r)).unwrap();
    assert!(loc.as_str().starts_with(REDIRECT));
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "client-state");
    q
}

async fn token(gw: &Gw, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}/__zuplo/oauth/token", gw.base))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn exchange(gw: &Gw, client_id: &str, code: &str, verifier: &str) -> reqwest::Response {
    token(
        gw,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn mcp(gw: &Gw, route: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut req = http()
        .post(format!("{}{route}", gw.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn metadata_and_the_challenge() {
    let gw = gateway().await;
    let r = mcp(&gw, "/mcp/a-v1", None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        format!("Bearer realm=\"OAuth\", resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp/a-v1\", scope=\"mcp:tools\"", gw.base).as_str()
    );
    let prm: serde_json::Value = http()
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp/a-v1",
            gw.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(prm["resource"], format!("{}/mcp/a-v1", gw.base));
    assert_eq!(
        prm["authorization_servers"],
        json!([format!("{}/mcp/a-v1", gw.base)])
    );
    assert_eq!(prm["resource_name"], "/mcp/a-v1");
    // RFC 9728 has no such member; the protocol version is negotiated by MCP itself
    assert!(prm.get("mcp_protocol_version").is_none(), "{prm:#}");
    let r = http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server/mcp/a-v1",
            gw.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let asm: serde_json::Value = r.json().await.unwrap();
    assert_eq!(asm["issuer"], format!("{}/mcp/a-v1", gw.base));
    assert_eq!(
        asm["authorization_endpoint"],
        format!("{}/__zuplo/oauth/authorize/mcp/a-v1", gw.base)
    );
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(asm["x-zuplo-browser-login-kind"], "local_dev");
    let r = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/.well-known/oauth-authorization-server", gw.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http()
        .get(format!(
            "{}/.well-known/oauth-protected-resource/mcp/nope",
            gw.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    gw.running.shutdown.cancel();
}

/// RFC 9207: every authorization response back to the client names the issuer of the
/// authorization server the request went to (the route's at its scoped endpoint, the
/// gateway-wide one at `/oauth/authorize`), on success and on error, and both AS metadata
/// documents say so.
#[tokio::test]
async fn every_authorization_response_names_its_issuer() {
    let gw = gateway().await;
    let route_as: serde_json::Value = http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server/mcp/a-v1",
            gw.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        route_as["authorization_response_iss_parameter_supported"],
        true
    );
    let wide_as = as_metadata(&gw).await;
    assert_eq!(
        wide_as["authorization_response_iss_parameter_supported"],
        true
    );
    let id = client_id(&gw).await;

    // success at the route's endpoint (code_for checks iss = the route's issuer)
    code_for(&gw, &id, "/mcp/a-v1").await;
    // the user cancels at consent: access_denied, with iss
    let q = consent_answer(
        &gw,
        &authorize_url(&gw, &id, "/mcp/a-v1", ""),
        "/mcp/a-v1",
        "cancel",
    )
    .await;
    assert_eq!(q["error"], "access_denied", "{q:?}");
    assert_eq!(q["iss"], route_as["issuer"].as_str().unwrap(), "{q:?}");
    assert!(!q.contains_key("code"), "{q:?}");
    // an error found once the redirect URI is trusted (another route's resource): with iss
    let url = authorize_url(
        &gw,
        &id,
        "/mcp/a-v1",
        &format!("&resource={}", urlenc(&format!("{}/mcp/b-v1", gw.base))),
    );
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 302);
    let loc = url::Url::parse(&location(&r)).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["error"], "invalid_target", "{q:?}");
    assert_eq!(q["iss"], route_as["issuer"].as_str().unwrap(), "{q:?}");

    // the gateway-wide endpoint answers with the gateway-wide issuer
    let wide = format!(
        "{}/__zuplo/oauth/authorize?response_type=code&client_id={id}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&state=client-state&resource={}",
        gw.base,
        urlenc(REDIRECT),
        challenge(VERIFIER),
        urlenc(&format!("{}/mcp/a-v1", gw.base))
    );
    let q = consent_answer(&gw, &wide, "/mcp/a-v1", "approve").await;
    assert!(q.contains_key("code"), "{q:?}");
    assert_eq!(q["iss"], wide_as["issuer"].as_str().unwrap(), "{q:?}");
    assert_eq!(q["iss"], gw.base, "{q:?}");
    gw.running.shutdown.cancel();
}

/// SEP-837: the registration response keeps the client's `application_type`; a value OpenID
/// Connect does not define is refused.
#[tokio::test]
async fn registration_echoes_the_application_type() {
    let gw = gateway().await;
    let reg = |body: serde_json::Value| {
        http()
            .post(format!("{}/__zuplo/oauth/register", gw.base))
            .json(&body)
            .send()
    };
    for kind in ["native", "web"] {
        let r =
            reg(json!({"client_name": "c", "redirect_uris": [REDIRECT], "application_type": kind}))
                .await
                .unwrap();
        assert_eq!(r.status(), 201);
        let doc: serde_json::Value = r.json().await.unwrap();
        assert_eq!(doc["application_type"], kind, "{doc:#}");
    }
    let r = reg(
        json!({"client_name": "c", "redirect_uris": [REDIRECT], "application_type": "desktop"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["error"], "invalid_client_metadata", "{doc:#}");

    // issue #13: the metadata must come as application/json (a cross-site form or a
    // preflight-free fetch can send text/plain)
    let body = json!({"client_name": "c", "redirect_uris": [REDIRECT]}).to_string();
    for content_type in [
        Some("text/plain"),
        None,
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = http()
            .post(format!("{}/__zuplo/oauth/register", gw.base))
            .body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 400, "{content_type:?}");
        let doc: serde_json::Value = r.json().await.unwrap();
        assert_eq!(doc["error"], "invalid_request", "{content_type:?}: {doc:#}");
    }
    let r = http()
        .post(format!("{}/__zuplo/oauth/register", gw.base))
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    gw.running.shutdown.cancel();
}

/// D22, §16.13: `--local-idp` on projects whose MCP OAuth policy names an Auth0 tenant, once
/// not configured at all (unset `$env`, no network) and once fully configured: the files are
/// unchanged, the browser login goes through dev-login, and the whole flow reaches the route.
#[tokio::test]
async fn local_idp_stands_in_for_the_auth0_tenant() {
    let unset = json!({"auth0Domain": "$env(AUTH0_DOMAIN_UNSET_FOR_TEST)", "clientId": "$env(AUTH0_CLIENT_ID_UNSET_FOR_TEST)", "clientSecret": "$env(AUTH0_CLIENT_SECRET_UNSET_FOR_TEST)"});
    let configured = json!({"auth0Domain": "acme.us.auth0.com", "clientId": "abc", "clientSecret": "not-a-real-secret"});
    for (options, strict_errors) in [(unset, true), (configured, false)] {
        let auth0 = json!({"name": "dev-oauth", "policyType": "mcp-auth0-oauth-inbound", "handler": {"export": "McpAuth0OAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": options}});
        let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_project(
            dir.path(),
            json!({"/mcp/a-v1": mcp_route("a-server", &mock.url, &["dev-oauth"], json!({}))}),
            json!([auth0]),
        );
        let strict = gateway::load(dir.path().to_path_buf()).await.unwrap();
        assert_eq!(
            strict.has_errors(),
            strict_errors,
            "{:?}",
            strict.diagnostics
        );
        let gw = gateway_for(dir, mock, 0, true).await;
        let meta = http()
            .get(format!(
                "{}/.well-known/oauth-authorization-server/mcp/a-v1",
                gw.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(meta.status(), 200);
        let meta: serde_json::Value = meta.json().await.unwrap();
        assert_eq!(meta["x-zuplo-browser-login-kind"], "local_dev");
        let id = client_id(&gw).await;
        let code = code_for(&gw, &id, "/mcp/a-v1").await;
        let r = exchange(&gw, &id, &code, VERIFIER).await;
        assert_eq!(r.status(), 200);
        let t: serde_json::Value = r.json().await.unwrap();
        let r = mcp(&gw, "/mcp/a-v1", t["access_token"].as_str()).await;
        assert_eq!(r.status(), 200);
    }
}

/// D22 on a project guarded only by JWT-family policies (the Auth0 guide's setup, tenant not
/// configured, no network): under `--local-idp` the gateway's PRM and a dev-login
/// authorization server stand in for the IdP, so a client completes OAuth; the token passes
/// on every route of the same JWT policy and on no other.
#[tokio::test]
async fn local_idp_serves_oauth_for_jwt_guarded_routes() {
    let jwt = |name: &str| {
        json!({"name": name, "policyType": "auth0-jwt-auth-inbound", "handler": {"export": "Auth0JwtInboundPolicy", "module": "$import(@zuplo/runtime)", "options": {
        "auth0Domain": "placeholder-tenant.invalid", "audience": "https://api.example.com/mcp", "oAuthResourceMetadataEnabled": true}}})
    };
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({
            "/mcp/a-v1": mcp_route("a-server", &mock.url, &["auth0-jwt"], json!({})),
            "/mcp/b-v1": mcp_route("b-server", &mock.url, &["auth0-jwt"], json!({})),
            "/mcp/c-v1": mcp_route("c-server", &mock.url, &["other-jwt"], json!({})),
        }),
        json!([jwt("auth0-jwt"), jwt("other-jwt")]),
    );
    let gw = gateway_for(dir, mock, 0, true).await;
    // the JWT policy's challenge points at the gateway's PRM, which names its own AS
    let r = mcp(&gw, "/mcp/a-v1", None).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let prm_url = format!("{}/.well-known/oauth-protected-resource/mcp/a-v1", gw.base);
    assert_eq!(challenge, format!("Bearer resource_metadata=\"{prm_url}\""));
    let prm: serde_json::Value = http()
        .get(&prm_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        prm["authorization_servers"],
        json!([format!("{}/mcp/a-v1", gw.base)])
    );
    let id = client_id(&gw).await;
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let r = exchange(&gw, &id, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    let access = t["access_token"].as_str();
    assert_eq!(mcp(&gw, "/mcp/a-v1", access).await.status(), 200);
    assert_eq!(
        mcp(&gw, "/mcp/b-v1", access).await.status(),
        200,
        "same policy"
    );
    assert_eq!(
        mcp(&gw, "/mcp/c-v1", access).await.status(),
        401,
        "another policy"
    );
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some("not-a-token")).await.status(),
        401
    );
}

#[tokio::test]
async fn full_flow_refresh_revoke_and_restart() {
    let gw = gateway().await;
    let id = client_id(&gw).await;
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let r = exchange(&gw, &id, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: serde_json::Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "mcp:tools");
    assert!(t["expires_in"].as_i64().unwrap() <= 900);
    let access = t["access_token"].as_str().unwrap().to_string();
    let refresh = t["refresh_token"].as_str().unwrap().to_string();
    let r = mcp(&gw, "/mcp/a-v1", Some(&access)).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["result"]["tools"].as_array().unwrap().len() >= 3);

    // refresh rotates; the new access token works; replaying the old refresh token at once is
    // refused without revoking (D1 grace)
    let r = token(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let t2: serde_json::Value = r.json().await.unwrap();
    let access2 = t2["access_token"].as_str().unwrap().to_string();
    assert_ne!(
        t2["refresh_token"], t["refresh_token"],
        "refresh tokens rotate"
    );
    assert_eq!(mcp(&gw, "/mcp/a-v1", Some(&access2)).await.status(), 200);
    let r = token(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some(&access2)).await.status(),
        200,
        "a replay inside the grace window leaves the grant alone"
    );
    // the chained race (issue #13): the winner refreshes again at once, then the late duplicate
    // of the first token arrives; it was rotated seconds ago, so the user stays logged in
    let r = token(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("refresh_token", t2["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let t3: serde_json::Value = r.json().await.unwrap();
    let r = token(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let access3 = t3["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some(&access3)).await.status(),
        200,
        "a late duplicate of a token rotated within 30 s does not log the user out"
    );
    let access2 = access3;

    // a restart keeps clients and grants
    // (same port: tokens are bound to the origin the client used)
    let port = gw.running.addr.port();
    gw.running.shutdown.cancel();
    let _ = gw.running.task.await;
    let gw = gateway_in(gw._dir, gw._mock, port).await;
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some(&access2)).await.status(),
        200,
        "token lost in restart"
    );

    // revocation (RFC 7009): 200, and the token stops working
    let r = http()
        .post(format!("{}/__zuplo/oauth/revoke", gw.base))
        .form(&[("token", access2.as_str()), ("client_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = mcp(&gw, "/mcp/a-v1", Some(&access2)).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn one_test_per_protection() {
    let gw = gateway().await;
    // DCR: non-loopback http and javascript: redirect URIs
    for bad in ["http://evil.example/cb", "javascript:alert(1)"] {
        let r = register(&gw, bad).await;
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["error"],
            "invalid_redirect_uri",
            "{bad}"
        );
    }
    let id = client_id(&gw).await;
    // unknown client at authorize: an HTML page, no redirect
    let r = http()
        .get(authorize_url(&gw, "dcr:unknown", "/mcp/a-v1", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // unregistered redirect_uri: an HTML page
    let url = authorize_url(&gw, &id, "/mcp/a-v1", "")
        .replace(&urlenc(REDIRECT), &urlenc("http://127.0.0.1:8976/other"));
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    // plain PKCE refused
    let url = authorize_url(&gw, &id, "/mcp/a-v1", "")
        .replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert_eq!(http().get(url).send().await.unwrap().status(), 400);
    // wrong code_verifier
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let r = exchange(&gw, &id, &code, &"w".repeat(43)).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // a code used twice: invalid_grant, and the grant of the first redemption is revoked
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let first: serde_json::Value = exchange(&gw, &id, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let access = first["access_token"].as_str().unwrap().to_string();
    assert_eq!(mcp(&gw, "/mcp/a-v1", Some(&access)).await.status(), 200);
    let r = exchange(&gw, &id, &code, VERIFIER).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some(&access)).await.status(),
        401,
        "D2: the first grant must be revoked"
    );
    // a token in the query string is not a credential
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let t: serde_json::Value = exchange(&gw, &id, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap().to_string();
    let r = mcp(&gw, &format!("/mcp/a-v1?access_token={access}"), None).await;
    assert_eq!(r.status(), 401);
    // and with a good header token too: a token in the URL is refused, never forwarded (#13)
    let r = mcp(&gw, "/mcp/a-v1?access_token=anything", Some(&access)).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_request\""),
        "{:?}",
        r.headers()
    );
    // route A's token on route B
    let r = mcp(&gw, "/mcp/b-v1", Some(&access)).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    // the client's token never reaches the upstream: the mock would not know it anyway, so
    // check the gateway answers for the right route
    assert_eq!(mcp(&gw, "/mcp/a-v1", Some(&access)).await.status(), 200);
    // unsupported grant type
    let r = token(&gw, &[("grant_type", "password"), ("client_id", &id)]).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn roles_from_dev_login_drive_the_capability_filter() {
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let filter = json!({"name": "by-role", "policyType": "mcp-capability-filter-inbound", "handler": {"export": "McpCapabilityFilterInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "tools": [{"name": "echo", "public": true}, {"name": "add", "roles": ["mcp_user"]}, {"name": "slow", "roles": ["admin"]}],
        "accessControl": {"mode": "rolesAndGroups"}}}});
    write_project(
        dir.path(),
        json!({ "/mcp/a-v1": mcp_route("a-server", &mock.url, &["dev-oauth", "by-role"], json!({})) }),
        json!([dev_oauth(), filter]),
    );
    let gw = gateway_in(dir, mock, 0).await;
    let id = client_id(&gw).await;
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let t: serde_json::Value = exchange(&gw, &id, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap();
    let v: serde_json::Value = mcp(&gw, "/mcp/a-v1", Some(access))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["echo", "add"],
        "dev-browser-user has role mcp_user only"
    );
    let r = http()
        .post(format!("{}/mcp/a-v1", gw.base))
        .bearer_auth(access)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"slow","arguments":{}}}"#)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], -32601);
    gw.running.shutdown.cancel();
}

/// A small HTTP server on 127.0.0.1 for what clients publish (metadata documents, JWKS):
/// path → (status, location, body), changeable while it runs.
type Routes = std::collections::HashMap<String, (u16, Option<String>, String)>;

struct Docs {
    base: String,
    routes: std::sync::Arc<std::sync::Mutex<Routes>>,
}

impl Docs {
    async fn start() -> Docs {
        use axum::response::IntoResponse;
        let routes: std::sync::Arc<std::sync::Mutex<Routes>> = Default::default();
        let shared = routes.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let found = shared.lock().unwrap().get(uri.path()).cloned();
            async move {
                match found {
                    Some((status, location, body)) => {
                        let mut r = (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            [("content-type", "application/json")],
                            body,
                        )
                            .into_response();
                        if let Some(l) = location {
                            r.headers_mut().insert("location", l.parse().unwrap());
                        }
                        r
                    }
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Docs { base, routes }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn put(&self, path: &str, status: u16, location: Option<String>, body: String) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), (status, location, body));
    }

    /// Publishes a client metadata document at `path` whose client_id is `client_id`.
    fn client(&self, path: &str, client_id: &str, extra: serde_json::Value) -> String {
        let mut doc = json!({
            "client_id": client_id,
            "client_name": "test client",
            "redirect_uris": [REDIRECT],
        });
        if let (Some(d), Some(e)) = (doc.as_object_mut(), extra.as_object()) {
            d.extend(e.clone());
        }
        self.put(path, 200, None, doc.to_string());
        self.url(path)
    }
}

/// An authorize request for a refused client: an HTML page naming the reason, no redirect.
/// The gateway's root AS metadata document.
async fn as_metadata(gw: &Gw) -> serde_json::Value {
    http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            gw.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn refused_at_authorize(gw: &Gw, client_id: &str, reason: &str) {
    let r = http()
        .get(authorize_url(gw, &urlenc(client_id), "/mcp/a-v1", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "{client_id}");
    assert!(r.headers().get("location").is_none());
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    assert!(page.contains("OAuth client is not registered."), "{page}");
    assert!(page.contains(reason), "{reason} not in {page}");
}

#[tokio::test]
async fn metadata_document_clients() {
    let gw = gateway().await;
    let docs = Docs::start().await;
    let asm = as_metadata(&gw).await;
    assert_eq!(asm["client_id_metadata_document_supported"], true);

    // accepted: authorize → dev-login → consent → token, and the token works
    let id = docs.url("/good/client.json");
    docs.client("/good/client.json", &id, json!({}));
    let code = code_for(&gw, &urlenc(&id), "/mcp/a-v1").await;
    let r = exchange(&gw, &id, &code, VERIFIER).await;
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    let access = t["access_token"].as_str().unwrap();
    assert_eq!(mcp(&gw, "/mcp/a-v1", Some(access)).await.status(), 200);
    // the document's redirect URIs bind the client
    let url = authorize_url(&gw, &urlenc(&id), "/mcp/a-v1", "")
        .replace(&urlenc(REDIRECT), &urlenc("http://127.0.0.1:8976/other"));
    let r = http().get(url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());

    // a document client with private_key_jwt and inline keys: public proof alone is refused,
    // its signed assertion is accepted
    let pk = docs.url("/pk/client.json");
    let jwks: serde_json::Value = serde_json::from_str(&jwks_of("client-es256")).unwrap();
    docs.client(
        "/pk/client.json",
        &pk,
        json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}),
    );
    let code = code_for(&gw, &urlenc(&pk), "/mcp/a-v1").await;
    assert_eq!(exchange(&gw, &pk, &code, VERIFIER).await.status(), 401);
    let aud = format!("{}/__zuplo/oauth/token", gw.base);
    let r = exchange_asserting(
        &gw,
        &code,
        &assertion("client-es256", &pk, &aud, 60, "cimd-1"),
    )
    .await;
    assert_eq!(r.status(), 200);

    // refused: the document names another client
    let wrong = docs.url("/wrong/client.json");
    docs.client("/wrong/client.json", &docs.url("/else.json"), json!({}));
    refused_at_authorize(&gw, &wrong, "is not its URL").await;
    // refused: more than 5 KiB
    let big = docs.url("/big/client.json");
    docs.client(
        "/big/client.json",
        &big,
        json!({"logo_uri": format!("https://a.example/{}", "x".repeat(6000))}),
    );
    refused_at_authorize(&gw, &big, "more than 5120 bytes").await;
    // refused: a redirect, even to a good document
    let moved = docs.url("/moved/client.json");
    docs.put("/moved/client.json", 302, Some(id.clone()), String::new());
    refused_at_authorize(&gw, &moved, "redirected").await;
    // refused: a bad redirect URI in the document
    let js = docs.url("/js/client.json");
    docs.client(
        "/js/client.json",
        &js,
        json!({"redirect_uris": ["javascript:alert(1)"]}),
    );
    refused_at_authorize(&gw, &js, "forbidden scheme").await;
    // refused: plain http to a host that is not loopback (never fetched)
    refused_at_authorize(&gw, "http://example.com/client.json", "only https").await;
    // the token endpoint refuses them too, with invalid_client
    let r = token(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &wrong),
            ("refresh_token", "x"),
        ],
    )
    .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn metadata_documents_can_be_disabled() {
    let mut policy = dev_oauth();
    policy["handler"]["options"]["gateway"] = json!({"cimdEnabled": false});
    let gw = gateway_with(policy).await;
    let docs = Docs::start().await;
    let asm = as_metadata(&gw).await;
    assert_eq!(asm["client_id_metadata_document_supported"], false);
    let id = docs.url("/good/client.json");
    docs.client("/good/client.json", &id, json!({}));
    refused_at_authorize(&gw, &id, "cimdEnabled is false").await;
    gw.running.shutdown.cancel();
}

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn es256_key(name: &str) -> jsonwebtoken::EncodingKey {
    let pem = std::fs::read(format!(
        "{}/tests/fixtures/oauth/{name}.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap()
}

/// The public JWKS of fixture key `name`, with kid `k1`.
fn jwks_of(name: &str) -> String {
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&es256_key(name), jsonwebtoken::Algorithm::ES256)
            .unwrap();
    jwk.common.key_id = Some("k1".into());
    json!({"keys": [jwk]}).to_string()
}

fn assertion(key: &str, client_id: &str, aud: &str, exp_in: i64, jti: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(
        &header,
        &json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + exp_in, "jti": jti}),
        &es256_key(key),
    )
    .unwrap()
}

async fn exchange_asserting(gw: &Gw, code: &str, assertion: &str) -> reqwest::Response {
    token(
        gw,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn private_key_jwt_clients() {
    let gw = gateway().await;
    let docs = Docs::start().await;
    docs.put("/jwks.json", 200, None, jwks_of("client-es256"));
    let asm = as_metadata(&gw).await;
    assert!(
        asm["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt"))
    );
    let dcr = |body: serde_json::Value| {
        let url = format!("{}/__zuplo/oauth/register", gw.base);
        async move { http().post(url).json(&body).send().await.unwrap() }
    };
    // registration: keys are required, and their URL must pass the guard
    for (body, why) in [
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "requires jwks_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://example.com/jwks.json"}),
            "only https",
        ),
    ] {
        let r = dcr(body).await;
        assert_eq!(r.status(), 400);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_client_metadata");
        assert!(
            v["error_description"].as_str().unwrap().contains(why),
            "{v}"
        );
    }
    let r = dcr(
        json!({"client_name": "test client", "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": docs.url("/jwks.json")}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let reg: serde_json::Value = r.json().await.unwrap();
    let id = reg["client_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("dcr:pkjwt:"), "{id}");
    assert!(reg.get("client_secret").is_none());
    assert_eq!(reg["jwks_uri"], docs.url("/jwks.json"));

    let aud = format!("{}/__zuplo/oauth/token", gw.base);
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    // refused before the code is touched: wrong key, wrong audience, expired, too long-lived
    for (a, why) in [
        (assertion("other-es256", &id, &aud, 60, "j1"), "signature"),
        (
            assertion("client-es256", &id, &format!("{}/other", gw.base), 60, "j2"),
            "aud",
        ),
        (assertion("client-es256", &id, &aud, -600, "j3"), "expired"),
        (assertion("client-es256", &id, &aud, 7200, "j4"), "hour"),
    ] {
        let r = exchange_asserting(&gw, &code, &a).await;
        assert_eq!(r.status(), 401, "{why}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_client");
        assert!(
            v["error_description"].as_str().unwrap().contains(why),
            "{v}"
        );
    }
    // an assertion together with a secret
    let r = token(
        &gw,
        &[
            ("grant_type", "authorization_code"),
            ("client_secret", "s"),
            ("client_assertion_type", ASSERTION_TYPE),
            (
                "client_assertion",
                &assertion("client-es256", &id, &aud, 60, "j5"),
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    // without any proof the client is refused
    let r = exchange(&gw, &id, &code, VERIFIER).await;
    assert_eq!(r.status(), 401);
    // the right assertion: tokens, and the access token works
    let good = assertion("client-es256", &id, &aud, 60, "j6");
    let r = exchange_asserting(&gw, &code, &good).await;
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some(t["access_token"].as_str().unwrap()))
            .await
            .status(),
        200
    );
    // a replayed assertion (same jti) is refused
    let r = token(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &good),
        ],
    )
    .await;
    assert_eq!(r.status(), 401);
    // a fresh one refreshes
    let r = token(
        &gw,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
            ("client_assertion_type", ASSERTION_TYPE),
            (
                "client_assertion",
                &assertion("client-es256", &id, &aud, 60, "j7"),
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let t3: serde_json::Value = r.json().await.unwrap();
    let access = t3["access_token"].as_str().unwrap();
    assert_eq!(mcp(&gw, "/mcp/a-v1", Some(access)).await.status(), 200);
    // revocation authenticates the same way (aud may name the revocation endpoint)
    let revoke = format!("{}/__zuplo/oauth/revoke", gw.base);
    let r = http()
        .post(&revoke)
        .form(&[
            ("token", access),
            ("client_assertion_type", ASSERTION_TYPE),
            (
                "client_assertion",
                &assertion("other-es256", &id, &revoke, 60, "j8"),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "wrong key at revocation");
    let r = http()
        .post(&revoke)
        .form(&[
            ("token", access),
            ("client_assertion_type", ASSERTION_TYPE),
            (
                "client_assertion",
                &assertion("client-es256", &id, &revoke, 60, "j9"),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(is_invalid_token(&mcp(&gw, "/mcp/a-v1", Some(access)).await));
    gw.running.shutdown.cancel();
}

async fn refresh(gw: &Gw, id: &str, refresh_token: &str) -> reqwest::Response {
    token(
        gw,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", id),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn is_invalid_token(r: &reqwest::Response) -> bool {
    r.status() == 401
        && r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
}

#[tokio::test]
async fn refresh_replay_outside_the_grace_window_revokes_the_grant() {
    let gw = gateway().await;
    let id = client_id(&gw).await;
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let t: serde_json::Value = exchange(&gw, &id, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let old_refresh = t["refresh_token"].as_str().unwrap().to_string();
    let r = refresh(&gw, &id, &old_refresh).await;
    assert_eq!(r.status(), 200);
    let t2: serde_json::Value = r.json().await.unwrap();
    let access = t2["access_token"].as_str().unwrap().to_string();
    let new_refresh = t2["refresh_token"].as_str().unwrap().to_string();
    // cached by the bearer check from here on
    assert_eq!(mcp(&gw, "/mcp/a-v1", Some(&access)).await.status(), 200);

    // D1: 31 s after the rotation a replay of the old refresh token is theft: the grant goes
    gw.running.state.clock.advance(31);
    let r = refresh(&gw, &id, &old_refresh).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let r = mcp(&gw, "/mcp/a-v1", Some(&access)).await;
    assert!(
        is_invalid_token(&r),
        "the grant's access token must stop working"
    );
    let r = refresh(&gw, &id, &new_refresh).await;
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant",
        "the grant's current refresh token must stop working"
    );
    gw.running.shutdown.cancel();
}

#[tokio::test]
async fn an_expired_access_token_is_refused() {
    let gw = gateway().await;
    let id = client_id(&gw).await;
    let code = code_for(&gw, &id, "/mcp/a-v1").await;
    let t: serde_json::Value = exchange(&gw, &id, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let access = t["access_token"].as_str().unwrap();
    let expires_in = t["expires_in"].as_i64().unwrap();
    assert!(expires_in > 0);
    assert_eq!(mcp(&gw, "/mcp/a-v1", Some(access)).await.status(), 200);
    gw.running.state.clock.advance(expires_in - 2);
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some(access)).await.status(),
        200,
        "still valid just before expiry"
    );
    gw.running.state.clock.advance(3);
    let r = mcp(&gw, "/mcp/a-v1", Some(access)).await;
    assert!(
        is_invalid_token(&r),
        "expired token accepted: {}",
        r.status()
    );
    // a refresh still gives a token that works
    let r = refresh(&gw, &id, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(r.status(), 200);
    let t2: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        mcp(&gw, "/mcp/a-v1", Some(t2["access_token"].as_str().unwrap()))
            .await
            .status(),
        200
    );
    gw.running.shutdown.cancel();
}

// ---- what every MCP route checks first: the browser's Origin (D28), the 2026-07-28 request
// rules (D27)

const PV_META: &str = "io.modelcontextprotocol/protocolVersion";
const CAPS_META: &str = "io.modelcontextprotocol/clientCapabilities";

/// A gateway whose MCP routes go to the echo upstream, which answers every request 200 (so a
/// refusal can only be the gateway's own, and the echo shows what crossed): `/mcp/a-v1`;
/// `/mcp/f-v1` behind a capability filter that lets `echo` through only; `/mcp/c-v1` with a
/// custom CORS policy allowing `https://app.example`. `--allow-origin http://localhost:*`.
async fn checked_gateway() -> Gw {
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let echo = format!("http://{}/mcp", echo_upstream().await);
    let dir = tempfile::tempdir().unwrap();
    let filter = json!({"name": "echo-only", "policyType": "mcp-capability-filter-inbound", "handler": {"export": "McpCapabilityFilterInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "tools": [{"name": "echo", "public": true}], "accessControl": {"mode": "rolesAndGroups"}}}});
    let mut cors_route = mcp_route("c-server", &echo, &["dev-oauth"], json!({}));
    cors_route["get,post"]["x-zuplo-route"]["corsPolicy"] = json!("app-cors");
    write_project(
        dir.path(),
        json!({
            "/mcp/a-v1": mcp_route("a-server", &echo, &["dev-oauth"], json!({})),
            "/mcp/f-v1": mcp_route("f-server", &echo, &["dev-oauth", "echo-only"], json!({})),
            "/mcp/c-v1": cors_route,
        }),
        json!([dev_oauth(), filter]),
    );
    std::fs::write(
        dir.path().join("config/policies.json"),
        serde_json::to_string_pretty(&json!({
            "policies": [dev_oauth(), filter],
            "corsPolicies": [{"name": "app-cors", "allowedOrigins": ["https://app.example"], "allowedMethods": ["POST"]}],
        }))
        .unwrap(),
    )
    .unwrap();
    let report = gateway::load(dir.path().to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir.path());
    options.port = 0;
    options.allow_origins = vec!["http://localhost:*".to_string()];
    let running = gateway::start(Served::new(report), &options).await.unwrap();
    let base = format!("http://{}", running.addr);
    Gw {
        running,
        base,
        _mock: mock,
        _dir: dir,
    }
}

/// A gateway access token for `route`, through the whole browser flow.
async fn access_token(gw: &Gw, route: &str) -> String {
    let id = client_id(gw).await;
    let code = code_for(gw, &id, route).await;
    let t: serde_json::Value = exchange(gw, &id, &code, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    t["access_token"].as_str().unwrap().to_string()
}

/// POSTs a JSON-RPC body to an MCP route with these extra headers: the status, content type
/// and JSON answer.
async fn post_mcp(
    gw: &Gw,
    route: &str,
    bearer: Option<&str>,
    body: &serde_json::Value,
    headers: &[(&str, &str)],
) -> (u16, String, serde_json::Value) {
    let mut rb = http()
        .post(format!("{}{route}", gw.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(t) = bearer {
        rb = rb.bearer_auth(t);
    }
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        ct,
        r.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// A 2026-07-28 request body: the per-request envelope in `params._meta`.
fn modern_body(id: i64, method: &str, params: serde_json::Value) -> serde_json::Value {
    let mut params = params;
    params["_meta"] = json!({PV_META: "2026-07-28", CAPS_META: {}});
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// The consent page of a fresh authorization: the session cookie and the form's state.
async fn consent_form(gw: &Gw, client_id: &str, route: &str) -> (String, String) {
    let h = http();
    let r = h
        .get(authorize_url(gw, client_id, route, ""))
        .send()
        .await
        .unwrap();
    let r = h.get(location(&r)).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let r = h
        .get(location(&r))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let page = r.text().await.unwrap();
    // the page lets the browser send its Origin with the form (a no-referrer page posts null)
    assert!(
        page.contains(r#"<meta name="referrer" content="same-origin">"#),
        "{page}"
    );
    let state = page.split("name=\"state\" value=\"").nth(1).unwrap();
    (cookie, state.split('"').next().unwrap().to_string())
}

/// D28: with a valid token, a request from a page of another origin is refused (403) before
/// it reaches the upstream; no Origin (a non-browser client), the gateway's own origin, an
/// `--allow-origin` origin and one the route's CORS policy allows pass. The consent form's
/// POST is refused from a foreign origin too, and the refusal consumes nothing.
#[tokio::test]
async fn a_foreign_origin_is_refused_on_mcp_routes_and_on_the_consent_form() {
    let gw = checked_gateway().await;
    let token = access_token(&gw, "/mcp/a-v1").await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let (status, _, body) = post_mcp(&gw, "/mcp/a-v1", Some(&token), &list, &[]).await;
    assert_eq!(status, 200, "no Origin: {body}");
    for hostile in [
        "http://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
        "http://localhost.evil.example:1",
        "https://app.example",
    ] {
        let (status, ct, body) = post_mcp(
            &gw,
            "/mcp/a-v1",
            Some(&token),
            &list,
            &[("origin", hostile)],
        )
        .await;
        assert_eq!(status, 403, "{hostile}: {body}");
        assert_eq!(ct, "application/problem+json", "{hostile}");
        assert_eq!(body["code"], "origin_not_allowed", "{hostile}");
        assert_eq!(body["instance"], "/mcp/a-v1");
    }
    // every method of the route, not only POST
    let r = http()
        .get(format!("{}/mcp/a-v1", gw.base))
        .bearer_auth(&token)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // allowed: the gateway's own origin, --allow-origin http://localhost:*
    for ok in [gw.base.as_str(), "http://localhost:6274"] {
        let (status, _, body) =
            post_mcp(&gw, "/mcp/a-v1", Some(&token), &list, &[("origin", ok)]).await;
        assert_eq!(status, 200, "{ok}: {body}");
    }
    // the route's CORS policy allows its origins on that route
    let c_token = access_token(&gw, "/mcp/c-v1").await;
    let (status, _, body) = post_mcp(
        &gw,
        "/mcp/c-v1",
        Some(&c_token),
        &list,
        &[("origin", "https://app.example")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = post_mcp(
        &gw,
        "/mcp/c-v1",
        Some(&c_token),
        &list,
        &[("origin", "https://other.example")],
    )
    .await;
    assert_eq!(status, 403);

    // the consent form: refused from elsewhere (a cross-site form post), accepted from the
    // gateway's own page
    let id = client_id(&gw).await;
    let (cookie, state) = consent_form(&gw, &id, "/mcp/a-v1").await;
    let approve = |origin: Option<String>| {
        let mut rb = http()
            .post(format!("{}/__zuplo/oauth/setup", gw.base))
            .header("cookie", &cookie)
            .form(&[("state", state.as_str()), ("decision", "approve")]);
        if let Some(o) = origin {
            rb = rb.header("origin", o);
        }
        rb.send()
    };
    for hostile in ["http://evil.example", "null", "http://localhost:6274"] {
        let r = approve(Some(hostile.to_string())).await.unwrap();
        assert_eq!(r.status(), 403, "{hostile}");
        assert!(r.headers().get("location").is_none());
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "origin_not_allowed");
    }
    let r = approve(Some(gw.base.clone())).await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
    assert!(location(&r).starts_with(REDIRECT));
    gw.running.shutdown.cancel();
}

/// D27: the 2026-07-28 rules are checked before anything reads the request. With a valid
/// token, every header-mismatch case is refused 400 `-32020`, an unsupported version 400
/// `-32022` with the supported list, a removed method 404 `-32601`, an invalid `_meta` 400
/// `-32602`, none of them forwarded (the echo upstream would answer 200); a consistent request
/// is forwarded with its body unchanged, and a session-era one as before.
#[tokio::test]
async fn the_2026_07_28_request_rules_come_before_anything_reads_the_request() {
    let gw = checked_gateway().await;
    let token = access_token(&gw, "/mcp/a-v1").await;
    let call = modern_body(
        7,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    );
    let good = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "echo"),
    ];
    let (status, _, body) = post_mcp(&gw, "/mcp/a-v1", Some(&token), &call, &good).await;
    assert_eq!(status, 200, "{body}");
    // the upstream got the very bytes the client sent, and the routing headers
    assert_eq!(body["result"]["body"], call.to_string());
    assert_eq!(body["result"]["headers"]["mcp-name"], "echo");
    let with = |name: &str, value: &'static str| -> Vec<(&'static str, &'static str)> {
        good.iter()
            .map(|(k, v)| (*k, if *k == name { value } else { *v }))
            .collect()
    };
    let without = |name: &str| -> Vec<(&'static str, &'static str)> {
        good.iter().filter(|(k, _)| *k != name).copied().collect()
    };
    for (why, headers) in [
        ("name differs", with("mcp-name", "add")),
        ("method differs", with("mcp-method", "tools/list")),
        ("method missing", without("mcp-method")),
        (
            "version header differs from _meta",
            with("mcp-protocol-version", "2025-11-25"),
        ),
    ] {
        let (status, ct, body) = post_mcp(&gw, "/mcp/a-v1", Some(&token), &call, &headers).await;
        assert_eq!(status, 400, "{why}: {body}");
        assert!(ct.starts_with("application/json"), "{why}: {ct}");
        assert_eq!(body["error"]["code"], -32020, "{why}: {body}");
        assert_eq!(body["id"], 7, "{why}");
        assert!(body.get("result").is_none(), "{why}: forwarded");
    }
    // unsupported version: 400 with the supported list
    let mut future = call.clone();
    future["params"]["_meta"][PV_META] = json!("2099-01-01");
    let (status, _, body) = post_mcp(
        &gw,
        "/mcp/a-v1",
        Some(&token),
        &future,
        &with("mcp-protocol-version", "2099-01-01"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], -32022);
    assert_eq!(
        body["error"]["data"],
        json!({"supported": ["2026-07-28"], "requested": "2099-01-01"})
    );
    // methods 2026-07-28 removed: 404 -32601
    for removed in [
        "initialize",
        "ping",
        "logging/setLevel",
        "resources/subscribe",
    ] {
        let (status, _, body) = post_mcp(
            &gw,
            "/mcp/a-v1",
            Some(&token),
            &modern_body(8, removed, json!({})),
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", removed),
            ],
        )
        .await;
        assert_eq!(status, 404, "{removed}: {body}");
        assert_eq!(body["error"]["code"], -32601, "{removed}");
    }
    // an invalid _meta: 400 -32602
    let mut no_caps = call.clone();
    no_caps["params"]["_meta"] = json!({PV_META: "2026-07-28"});
    let (status, _, body) = post_mcp(&gw, "/mcp/a-v1", Some(&token), &no_caps, &good).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!(-32602))
    );
    // the session era passes as before
    let old =
        json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "echo"}});
    let (status, _, body) = post_mcp(
        &gw,
        "/mcp/a-v1",
        Some(&token),
        &old,
        &[("mcp-protocol-version", "2025-11-25")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["body"], old.to_string());
    // before anything reads the request: before the OAuth policy too
    let (status, _, _) = post_mcp(&gw, "/mcp/a-v1", None, &call, &good).await;
    assert_eq!(status, 401);
    let (status, _, body) = post_mcp(&gw, "/mcp/a-v1", None, &call, &without("mcp-method")).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!(-32020))
    );
    gw.running.shutdown.cancel();
}

/// D27: a list the capability filter rewrote for this caller is `cacheScope: "private"` on a
/// 2026-07-28 request (the session era has no cache hints), and the filter judges the body's
/// tool name: an `Mcp-Name` naming an allowed tool does not get a call of another one through.
#[tokio::test]
async fn filtered_2026_07_28_lists_are_private_and_the_filter_reads_the_body() {
    let gw = checked_gateway().await;
    let token = access_token(&gw, "/mcp/f-v1").await;
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
    ];
    let (status, _, body) = post_mcp(
        &gw,
        "/mcp/f-v1",
        Some(&token),
        &modern_body(1, "tools/list", json!({})),
        &headers,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 1);
    assert_eq!(body["result"]["tools"][0]["name"], "echo");
    assert_eq!(body["result"]["cacheScope"], "private");
    let (_, _, body) = post_mcp(
        &gw,
        "/mcp/f-v1",
        Some(&token),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        &[],
    )
    .await;
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 1);
    assert!(body["result"].get("cacheScope").is_none(), "{body}");
    // a call of "add" that says "echo" in its header: refused, never filtered by the header
    let (status, _, body) = post_mcp(
        &gw,
        "/mcp/f-v1",
        Some(&token),
        &modern_body(3, "tools/call", json!({"name": "add", "arguments": {}})),
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!(-32020))
    );
    let (status, _, body) = post_mcp(
        &gw,
        "/mcp/f-v1",
        Some(&token),
        &modern_body(4, "tools/call", json!({"name": "add", "arguments": {}})),
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "add"),
        ],
    )
    .await;
    assert_eq!(body["error"]["code"], -32601, "{status} {body}");
    gw.running.shutdown.cancel();
}

/// Issue #13: the consent page shows where the code goes and says a DCR name is the client's
/// own claim, warns when the code leaves for another https host, and approves only by POST.
#[tokio::test]
async fn consent_shows_the_redirect_target_and_approves_only_by_post() {
    let gw = gateway().await;
    let evil = "https://evil.example/cb?next=/home";
    let r = register_named(&gw, "Claude Code", evil).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    let authorize = format!(
        "{}/__zuplo/oauth/authorize/mcp/a-v1?response_type=code&client_id={id}&redirect_uri={}&code_challenge={}&code_challenge_method=S256&state=s",
        gw.base,
        urlenc(evil),
        challenge(VERIFIER)
    );
    let (cookie, page, state) = consent_page(&authorize).await;
    let h = http();
    assert!(page.contains("Claude Code"), "{page}");
    assert!(
        page.contains("unverified: registered by the client itself"),
        "{page}"
    );
    assert!(page.contains("https://evil.example/cb"), "{page}");
    assert!(
        page.contains("sends your authorization to evil.example, another site"),
        "{page}"
    );

    // a GET, even one that says approve, shows the page again: no code leaves
    let r = h
        .get(format!(
            "{}/__zuplo/oauth/setup?state={}&decision=approve",
            gw.base,
            urlenc(&state)
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "approved by GET");
    assert!(r.text().await.unwrap().contains("name=\"decision\""));

    // the form's POST does approve, and the redirect goes where the page said
    let r = h
        .post(format!("{}/__zuplo/oauth/setup", gw.base))
        .header("cookie", &cookie)
        .form(&[("state", state.as_str()), ("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(
        location(&r).starts_with("https://evil.example/cb?next=%2Fhome&code=")
            || location(&r).starts_with("https://evil.example/cb?next=/home&code="),
        "{}",
        location(&r)
    );
    gw.running.shutdown.cancel();
}
