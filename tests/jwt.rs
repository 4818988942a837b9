//! The JWT policy family in `mcpgw dev` (SPEC §16.2-§16.4, §16.13) over real HTTP on
//! 127.0.0.1: a JWKS served by a small key server (an RSA key of mcpgw's own key code, which
//! the gateway only sees as a remote JWKS), the `OAuthProtectedResourcePlugin` documents, the
//! local issuer with the real `mcpgw token` binary, and a real OpenID Provider's access token
//! (`idp/oidc-idp.mjs`; SKIP without `MCPGW_INTEROP_DIR`).

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use mcpgw::policies::local_issuer::LocalIssuer;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

const ISS: &str = "https://issuer.test/";
const AUD: &str = "https://api.test/api";

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A signing key whose public half a small server publishes at `/jwks`.
async fn key_server() -> (LocalIssuer, String, tempfile::TempDir) {
    let keydir = tempfile::tempdir().unwrap();
    let pem = mcpgw::store::local_idp_key::load_or_create(keydir.path()).unwrap();
    let key = LocalIssuer::from_pkcs8_pem(pem.expose()).unwrap();
    let jwks = key.jwks();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let j = jwks.clone();
            async move { axum::Json(j) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (key, url, keydir)
}

fn forward_route(upstream: &str, inbound: &[&str]) -> Value {
    json!({ "get": { "operationId": format!("op{}", inbound.join("-")), "x-zuplo-route": {
        "corsPolicy": "none",
        "handler": { "export": "urlForwardHandler", "module": "$import(@zuplo/runtime)", "options": { "baseUrl": format!("http://{upstream}") } },
        "policies": { "inbound": inbound } } } })
}

const PRM_RUNTIME: &str = "import { OAuthProtectedResourcePlugin } from \"@zuplo/runtime\";\nexport function runtimeInit(runtime) {\n  runtime.addPlugin(new OAuthProtectedResourcePlugin({ authorizationServers: [\"https://issuer.test/\"], resourceName: \"Test API\" }));\n}\n";

/// /api (metadata on), /plain (metadata off), /anon (unauthenticated allowed) behind
/// open-id-jwt-auth-inbound against `jwks`; the PRM plugin when `plugin`.
fn jwt_project(dir: &Path, upstream: &str, jwks: &str, plugin: bool) {
    let openid = |name: &str, extra: Value| {
        let mut o = json!({"issuer": ISS, "audience": AUD, "jwkUrl": jwks});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        policy(
            name,
            "open-id-jwt-auth-inbound",
            "OpenIdJwtInboundPolicy",
            o,
        )
    };
    write_project(
        dir,
        json!({
            "/api": forward_route(upstream, &["jwt-meta"]),
            "/plain": forward_route(upstream, &["jwt-plain"]),
            "/anon": forward_route(upstream, &["jwt-anon"]),
        }),
        json!([
            openid("jwt-meta", json!({"oAuthResourceMetadataEnabled": true})),
            openid("jwt-plain", json!({})),
            openid("jwt-anon", json!({"allowUnauthenticatedRequests": true})),
        ]),
    );
    let runtime = if plugin {
        PRM_RUNTIME
    } else {
        "export function runtimeInit(runtime) {}\n"
    };
    std::fs::write(dir.join("modules/zuplo.runtime.ts"), runtime).unwrap();
}

async fn start(dir: &Path, local_idp: bool, state_dir: Option<&Path>) -> gateway::Running {
    let report = gateway::load_for(dir.to_path_buf(), local_idp)
        .await
        .unwrap();
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
    options.dev.local_idp = local_idp;
    options.state_dir = state_dir.map(Path::to_path_buf);
    gateway::start(Served::new(report), &options).await.unwrap()
}

fn now() -> i64 {
    mcpgw::clock::now_unix()
}

fn claims(over: Value) -> serde_json::Map<String, Value> {
    let mut c = json!({"iss": ISS, "aud": AUD, "sub": "alice", "iat": now(), "exp": now() + 300});
    for (k, v) in over.as_object().unwrap() {
        c[k] = v.clone();
    }
    c.as_object().unwrap().clone()
}

async fn get(url: &str, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn tokens_from_the_jwks_are_checked_and_refused_as_the_runtime_does() {
    let upstream = echo_upstream().await;
    let (key, jwks, _k) = key_server().await;
    let dir = tempfile::tempdir().unwrap();
    jwt_project(dir.path(), &upstream.to_string(), &jwks, true);
    let gw = start(dir.path(), false, None).await;
    let base = format!("http://{}", gw.addr);

    // accepted: the upstream sees the request, Authorization left in place
    let good = key.sign(&claims(json!({}))).unwrap();
    let (status, _, body) = get(&format!("{base}/api"), Some(&good)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["path"], "/api");
    assert_eq!(
        body["result"]["headers"]["authorization"],
        format!("Bearer {good}")
    );

    // refused: tampered, expired, wrong audience, wrong issuer -> 401 Invalid token, no challenge
    // a changed signature character: not the last one, whose low bits are padding a decoder
    // may ignore (the "tampered" token would then still be valid, now and then)
    let at = good.rfind('.').unwrap() + 1;
    let mut bytes = good.clone().into_bytes();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let bad = [
        ("tampered", tampered),
        (
            "expired",
            key.sign(&claims(json!({"exp": now() - 10}))).unwrap(),
        ),
        (
            "wrong audience",
            key.sign(&claims(json!({"aud": "other"}))).unwrap(),
        ),
        (
            "wrong issuer",
            key.sign(&claims(json!({"iss": "https://evil.test/"})))
                .unwrap(),
        ),
    ];
    for (what, t) in bad {
        let (status, headers, body) = get(&format!("{base}/api"), Some(&t)).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(body["detail"], "Invalid token", "{what}");
        assert_eq!(body["type"], "https://httpproblems.com/http-status/401");
        assert_eq!(body["instance"], "/api");
        assert!(headers.get("www-authenticate").is_none(), "{what}");
    }

    // missing header: a challenge only with metadata on and a PRM route
    let (status, headers, body) = get(&format!("{base}/api"), None).await;
    assert_eq!(status, 401);
    assert_eq!(body["detail"], "Bearer token required");
    assert_eq!(
        headers["www-authenticate"],
        format!("Bearer resource_metadata=\"{base}/.well-known/oauth-protected-resource/api\"")
            .as_str()
    );
    let (status, headers, body) = get(&format!("{base}/plain"), None).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("No authorization header"))
    );
    assert!(headers.get("www-authenticate").is_none());
    let resp = client()
        .get(format!("{base}/plain"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "Invalid bearer token format for authorization header"
    );

    // allowUnauthenticatedRequests: no header and a bad token both go on
    let (status, _, body) = get(&format!("{base}/anon"), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = get(&format!("{base}/anon"), Some("not.a.token")).await;
    assert_eq!(status, 200);

    // the plugin's documents: any path under the prefix, OPTIONS by anything-goes
    let (status, headers, body) = get(
        &format!("{base}/.well-known/oauth-protected-resource/api"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"resource": format!("{base}/api"), "authorization_servers": ["https://issuer.test/"], "resource_name": "Test API"})
    );
    assert_eq!(headers["access-control-allow-origin"], "*");
    let (_, _, body) = get(
        &format!("{base}/.well-known/oauth-protected-resource"),
        None,
    )
    .await;
    assert_eq!(body["resource"], base.as_str());
    let resp = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/.well-known/oauth-protected-resource/api"),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    gw.shutdown.cancel();
}

#[tokio::test]
async fn without_a_prm_route_the_missing_header_has_no_challenge() {
    let upstream = echo_upstream().await;
    let (_key, jwks, _k) = key_server().await;
    let dir = tempfile::tempdir().unwrap();
    jwt_project(dir.path(), &upstream.to_string(), &jwks, false);
    let gw = start(dir.path(), false, None).await;
    let base = format!("http://{}", gw.addr);
    let (status, headers, body) = get(&format!("{base}/api"), None).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("No authorization header"))
    );
    assert!(headers.get("www-authenticate").is_none());
    let (status, _, _) = get(
        &format!("{base}/.well-known/oauth-protected-resource/api"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    gw.shutdown.cancel();
}

fn mint(dir: &Path, state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mcpgw"))
        .arg("token")
        .arg(dir)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn local_idp_accepts_mcpgw_token_tokens_only_with_the_flag() {
    let upstream = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // a placeholder tenant: nothing is fetched from it
    let auth0 = policy(
        "auth0",
        "auth0-jwt-auth-inbound",
        "Auth0JwtInboundPolicy",
        json!({"auth0Domain": "placeholder-tenant.invalid", "audience": AUD}),
    );
    write_project(
        dir.path(),
        json!({"/api": forward_route(&upstream.to_string(), &["auth0"]), "/open": forward_route(&upstream.to_string(), &[])}),
        json!([auth0]),
    );
    std::fs::write(
        dir.path().join("modules/zuplo.runtime.ts"),
        "export function runtimeInit(runtime) {}\n",
    )
    .unwrap();

    let out = mint(
        dir.path(),
        &state,
        &[
            "--route",
            "/api",
            "--sub",
            "alice",
            "--claim",
            "email=a@example.com",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let minted: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(minted["iss"], "https://placeholder-tenant.invalid/");
    assert_eq!(minted["aud"], AUD);
    assert_eq!(minted["policy"], "auth0");
    let token = minted["token"].as_str().unwrap().to_string();
    // the bare form prints only the token
    let out = mint(dir.path(), &state, &["--route", "/api", "--sub", "bob"]);
    let bare = String::from_utf8(out.stdout).unwrap();
    assert_eq!(bare.trim().split('.').count(), 3, "{bare}");
    // clear errors
    let out = mint(dir.path(), &state, &["--route", "/nope", "--sub", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no route /nope") && err.contains("/api"),
        "{err}"
    );
    let out = mint(dir.path(), &state, &["--route", "/open", "--sub", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("has no JWT policy"),
        "{err}"
    );

    let gw = start(dir.path(), true, Some(&state)).await;
    let base = format!("http://{}", gw.addr);
    let (status, _, body) = get(&format!("{base}/api"), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, jwks) = get(&format!("{base}/__mcpgw/local-idp/jwks.json"), None).await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    gw.shutdown.cancel();

    let gw = start(dir.path(), false, Some(&state)).await;
    let base = format!("http://{}", gw.addr);
    let (status, _, body) = get(&format!("{base}/api"), Some(&token)).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (401, Some("Invalid token"))
    );
    let (status, _, _) = get(&format!("{base}/__mcpgw/local-idp/jwks.json"), None).await;
    assert_eq!(status, 404);
    gw.shutdown.cancel();
}

/// A real OpenID Provider: its RS256 access token (aud = the resource) passes against its own
/// JWKS; the same token fails a policy that expects another audience or another issuer, a
/// tampered copy fails, and so does the token itself once it has expired.
#[tokio::test]
async fn a_real_idp_access_token_passes_against_its_jwks() {
    let Some(idir) = interop_dir("a_real_idp_access_token_passes_against_its_jwks") else {
        return;
    };
    let (_idp, ready) = spawn_ready(
        Command::new("node")
            .arg(idir.join("idp/oidc-idp.mjs"))
            .args(["--port", "0"])
            .env("ACCESS_TOKEN_TTL", "6")
            .current_dir(&idir),
    );
    let issuer = ready["issuer"].as_str().unwrap().to_string();
    let conf: Value = client()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // authorization code + PKCE with `resource`, through the harness's headless browser
    let cb = "http://127.0.0.1:8976/oauth/callback";
    let verifier = "v".repeat(43);
    use base64::Engine as _;
    use sha2::Digest as _;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut authz = url::Url::parse(conf["authorization_endpoint"].as_str().unwrap()).unwrap();
    authz
        .query_pairs_mut()
        .append_pair("client_id", "mcpgw")
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", cb)
        .append_pair("scope", "openid mcp:tools")
        .append_pair("resource", AUD)
        .append_pair("state", "s1")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let out = Command::new("node")
        .arg(idir.join("lib/headless-ua.mjs"))
        .args(["--stop-at", cb, "--login", "alice", "--timeout", "30"])
        .arg(authz.as_str())
        .current_dir(&idir)
        .env("UA_QUIET", "1")
        .output()
        .unwrap();
    let back = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let code = url::Url::parse(&back)
        .unwrap_or_else(|_| panic!("browser: {back} {}", String::from_utf8_lossy(&out.stderr)))
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("code");
    let tok: Value = client()
        .post(conf["token_endpoint"].as_str().unwrap())
        .basic_auth("mcpgw", Some("mcpgw-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", cb),
            ("code_verifier", &verifier),
            ("resource", AUD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tok["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    assert_eq!(access.split('.').count(), 3, "a JWT access token: {tok}");

    let upstream = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let jwks = conf["jwks_uri"].as_str().unwrap();
    let op = |name: &str, aud: &str| {
        policy(
            name,
            "open-id-jwt-auth-inbound",
            "OpenIdJwtInboundPolicy",
            json!({"issuer": issuer, "audience": aud, "jwkUrl": jwks}),
        )
    };
    let wrong_issuer = policy(
        "idp-wrong-iss",
        "open-id-jwt-auth-inbound",
        "OpenIdJwtInboundPolicy",
        json!({"issuer": "https://not-this-issuer.test/", "audience": AUD, "jwkUrl": jwks}),
    );
    write_project(
        dir.path(),
        json!({
            "/api": forward_route(&upstream.to_string(), &["idp"]),
            "/other": forward_route(&upstream.to_string(), &["idp-other"]),
            "/wrong-iss": forward_route(&upstream.to_string(), &["idp-wrong-iss"]),
        }),
        json!([
            op("idp", AUD),
            op("idp-other", "https://elsewhere.test/"),
            wrong_issuer
        ]),
    );
    std::fs::write(
        dir.path().join("modules/zuplo.runtime.ts"),
        "export function runtimeInit(runtime) {}\n",
    )
    .unwrap();
    let gw = start(dir.path(), false, None).await;
    let base = format!("http://{}", gw.addr);
    let (status, _, body) = get(&format!("{base}/api"), Some(&access)).await;
    assert_eq!(status, 200, "{body}");
    let invalid = (401, Some("Invalid token"));
    for (path, token, why) in [
        ("/other", access.clone(), "wrong audience"),
        ("/wrong-iss", access.clone(), "wrong issuer"),
        ("/api", tampered(&access), "tampered payload"),
    ] {
        let (status, headers, body) = get(&format!("{base}{path}"), Some(&token)).await;
        assert_eq!((status, body["detail"].as_str()), invalid, "{why}: {body}");
        assert!(headers.get("www-authenticate").is_none(), "{why}");
    }
    // the provider's own expiry (ACCESS_TOKEN_TTL=6): refused once it has passed
    let exp = payload_of(&access)["exp"].as_i64().expect("exp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    tokio::time::sleep(std::time::Duration::from_secs((exp - now + 1).max(0) as u64)).await;
    let (status, _, body) = get(&format!("{base}/api"), Some(&access)).await;
    assert_eq!(
        (status, body["detail"].as_str()),
        invalid,
        "expired: {body}"
    );
    gw.shutdown.cancel();
}

/// The payload of a JWT, decoded (no check).
fn payload_of(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The same JWT with one claim changed and the signature kept: a forgery.
fn tampered(jwt: &str) -> String {
    use base64::Engine as _;
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    let mut c = payload_of(jwt);
    c["sub"] = json!("mallory");
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string());
    parts.join(".")
}
