//! `mcpgw upstream mock --oauth` over real HTTP: the authorization server (metadata, DCR,
//! authorize, token, revoke), the bearer check and every switch, driven by reqwest; and real
//! third-party OAuth clients (the TS SDK client and the Python SDK client of the interop
//! harness) completing the whole flow against the `mcpgw` binary in the discovery variants.
//! The interop tests need `MCPGW_INTEROP_DIR`; without it they print `SKIP` and return.

mod common;

use base64::Engine;
use common::{Child, client_steps_ok, interop_dir, spawn_ready, step};
use mcpgw::mock::{self, MockHandle, MockOptions, OAuthOptions, PreRegisteredClient, PrmAt};
use mcpgw::secret::Secret;
use serde_json::{Value, json};
use sha2::Digest;
use std::process::Command;
use std::time::Duration;

const REDIRECT: &str = "http://127.0.0.1:8976/oauth/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn start(opts: OAuthOptions) -> MockHandle {
    mock::spawn_with(
        "127.0.0.1:0",
        MockOptions {
            oauth: Some(opts),
            ..MockOptions::default()
        },
    )
    .await
    .unwrap()
}

fn origin(m: &MockHandle) -> String {
    m.oauth.as_ref().unwrap().issuer.clone()
}

async fn get_json(url: &str) -> (u16, Value) {
    let resp = http().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// DCR with this auth method; returns (client_id, client_secret).
async fn register(m: &MockHandle, method: &str) -> (String, Option<String>) {
    let resp = http()
        .post(format!("{}/register", origin(m)))
        .json(&json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": method,
            "client_name": "mock-oauth-test",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_endpoint_auth_method"], method);
    (
        body["client_id"].as_str().unwrap().to_string(),
        body["client_secret"].as_str().map(str::to_string),
    )
}

fn pkce() -> (String, String) {
    let verifier = mcpgw::crypto::new_token().expose().to_string();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// GET /authorize with these extra pairs; returns the status and the Location's query pairs.
async fn authorize(
    m: &MockHandle,
    client_id: &str,
    extra: &[(&str, &str)],
) -> (u16, std::collections::HashMap<String, String>) {
    let mut url = url::Url::parse(&format!("{}/authorize", origin(m))).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", client_id);
        q.append_pair("state", "st-1");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    let resp = http().get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let pairs = resp
        .headers()
        .get("location")
        .and_then(|l| url::Url::parse(l.to_str().unwrap()).ok())
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    (status, pairs)
}

/// A good authorization request: returns (code, verifier).
async fn code_for(m: &MockHandle, client_id: &str, scope: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let resource = m.url.clone();
    let (status, q) = authorize(
        m,
        client_id,
        &[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &resource),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(status, 302, "{q:?}");
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], origin(m));
    (q["code"].clone(), verifier)
}

/// POST /token with a form and optional Basic credentials.
async fn token(m: &MockHandle, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = http().post(format!("{}/token", origin(m))).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn exchange(m: &MockHandle, client_id: &str, code: &str, verifier: &str) -> (u16, Value) {
    token(
        m,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", REDIRECT),
        ],
        None,
    )
    .await
}

/// A public client's access (and refresh) token for `scope`.
async fn tokens(m: &MockHandle, scope: &str) -> (String, Value) {
    let (id, _) = register(m, "none").await;
    let (code, verifier) = code_for(m, &id, scope).await;
    let (status, body) = exchange(m, &id, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    (id, body)
}

/// POST an MCP request with a bearer token; returns (status, WWW-Authenticate, body).
async fn mcp(m: &MockHandle, bearer: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut req = http()
        .post(&m.url)
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let www = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, www, resp.json().await.unwrap_or(Value::Null))
}

fn call(tool: &str, args: Value) -> Value {
    json!({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":tool,"arguments":args}})
}

fn list() -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})
}

#[tokio::test]
async fn metadata_prm_and_the_default_challenge() {
    let m = start(OAuthOptions::default()).await;
    let o = origin(&m);
    let (status, meta) = get_json(&format!("{o}/.well-known/oauth-authorization-server")).await;
    assert_eq!(status, 200);
    assert_eq!(meta["issuer"], o);
    assert_eq!(meta["registration_endpoint"], format!("{o}/register"));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert!(meta.get("client_id_metadata_document_supported").is_none());
    let (status, prm) = get_json(&format!("{o}/.well-known/oauth-protected-resource/mcp")).await;
    assert_eq!(status, 200);
    assert_eq!(prm["resource"], m.url);
    assert_eq!(prm["authorization_servers"], json!([o]));
    let (status, _) = get_json(&format!("{o}/.well-known/oauth-protected-resource")).await;
    assert_eq!(status, 404, "PRM is only under the path by default");
    let (status, www, _) = mcp(&m, None, list()).await;
    assert_eq!(status, 401);
    assert_eq!(
        www,
        format!("Bearer resource_metadata=\"{o}/.well-known/oauth-protected-resource/mcp\"")
    );
}

#[tokio::test]
async fn prm_switches_shape_the_challenge() {
    for (prm_at, rm, scope, want_root, want_path, want_www) in [
        (PrmAt::Root, false, false, 200, 404, "Bearer".to_string()),
        (
            PrmAt::Both,
            true,
            true,
            200,
            200,
            "Bearer resource_metadata=\"{o}/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\"".to_string(),
        ),
        (PrmAt::None, true, true, 404, 404, "Bearer scope=\"mcp:tools\"".to_string()),
        (
            PrmAt::Root,
            true,
            false,
            200,
            404,
            "Bearer resource_metadata=\"{o}/.well-known/oauth-protected-resource\"".to_string(),
        ),
    ] {
        let m = start(OAuthOptions {
            prm_at,
            resource_metadata_in_challenge: rm,
            challenge_scope: scope,
            ..Default::default()
        })
        .await;
        let o = origin(&m);
        let (root, _) = get_json(&format!("{o}/.well-known/oauth-protected-resource")).await;
        let (path, _) = get_json(&format!("{o}/.well-known/oauth-protected-resource/mcp")).await;
        assert_eq!((root, path), (want_root, want_path), "{prm_at:?}");
        let (status, www, _) = mcp(&m, None, list()).await;
        assert_eq!(status, 401);
        assert_eq!(www, want_www.replace("{o}", &o), "{prm_at:?}");
    }
}

#[tokio::test]
async fn full_flow_and_refresh_rotation() {
    let m = start(OAuthOptions::default()).await;
    let (id, body) = tokens(&m, "mcp:tools").await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "mcp:tools");
    let access = body["access_token"].as_str().unwrap();
    let rt = body["refresh_token"].as_str().unwrap().to_string();
    let (status, _, answer) = mcp(&m, Some(access), call("add", json!({"a":2,"b":3}))).await;
    assert_eq!(status, 200);
    assert_eq!(answer["result"]["content"][0]["text"], "5");

    let refresh = |rt: String| {
        let m = &m;
        let id = id.clone();
        async move {
            token(
                m,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("client_id", &id),
                ],
                None,
            )
            .await
        }
    };
    let (status, fresh) = refresh(rt.clone()).await;
    assert_eq!(status, 200, "{fresh}");
    let new_rt = fresh["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_rt, rt, "refresh tokens rotate");
    assert_ne!(fresh["access_token"], body["access_token"]);
    let (status, err) = refresh(rt).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Revoking the current refresh token: the next refresh is invalid_grant.
    let resp = http()
        .post(format!("{}/revoke", origin(&m)))
        .form(&[("token", new_rt.as_str()), ("client_id", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (status, err) = refresh(new_rt).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (_, stats) = get_json(&format!("{}/__mock/stats", origin(&m))).await;
    assert_eq!(stats["refreshes"], 1);
    assert_eq!(stats["last_authorize"]["resource"], m.url);
    assert_eq!(stats["last_authorize"]["code_challenge_method"], "S256");
    assert_eq!(stats["last_token"]["refresh_token"], "[present]");
    assert_eq!(stats["last_client_auth"], "none");
}

#[tokio::test]
async fn pkce_plain_missing_and_wrong_verifier_are_refused() {
    let m = start(OAuthOptions::default()).await;
    let (id, _) = register(&m, "none").await;
    let (verifier, challenge) = pkce();
    for extra in [
        vec![
            ("code_challenge", verifier.as_str()),
            ("code_challenge_method", "plain"),
        ],
        vec![("code_challenge", challenge.as_str())],
        vec![],
    ] {
        let mut pairs = vec![("response_type", "code"), ("redirect_uri", REDIRECT)];
        pairs.extend(extra.iter().copied());
        let (status, q) = authorize(&m, &id, &pairs).await;
        assert_eq!(status, 302);
        assert_eq!(
            q.get("error").map(String::as_str),
            Some("invalid_request"),
            "{extra:?}"
        );
        assert!(!q.contains_key("code"));
        assert_eq!(q["state"], "st-1");
    }
    // Wrong verifier: invalid_grant, and the code is spent.
    let (code, verifier) = code_for(&m, &id, "mcp:tools").await;
    let (status, err) = exchange(
        &m,
        &id,
        &code,
        "not-the-verifier-not-the-verifier-not-the-v",
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, err) = exchange(&m, &id, &code, &verifier).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A good code works once.
    let (code, verifier) = code_for(&m, &id, "mcp:tools").await;
    assert_eq!(exchange(&m, &id, &code, &verifier).await.0, 200);
    assert_eq!(exchange(&m, &id, &code, &verifier).await.0, 400);
}

#[tokio::test]
async fn redirect_uri_and_resource_are_checked() {
    let m = start(OAuthOptions::default()).await;
    let (id, _) = register(&m, "none").await;
    let (_, challenge) = pkce();
    let base = [
        ("response_type", "code"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // Not registered: 400, no redirect.
    let mut p = base.to_vec();
    p.push(("redirect_uri", "http://127.0.0.1:8976/elsewhere"));
    let (status, q) = authorize(&m, &id, &p).await;
    assert_eq!(status, 400);
    assert!(q.is_empty());
    // Loopback, another port: accepted.
    let mut p = base.to_vec();
    p.push(("redirect_uri", "http://127.0.0.1:4444/oauth/callback"));
    let (status, q) = authorize(&m, &id, &p).await;
    assert_eq!(status, 302);
    assert!(q.contains_key("code"));
    // A resource that is not this server.
    let mut p = base.to_vec();
    p.push(("redirect_uri", REDIRECT));
    p.push(("resource", "http://127.0.0.1:1/other"));
    let (status, q) = authorize(&m, &id, &p).await;
    assert_eq!(status, 302);
    assert_eq!(q.get("error").map(String::as_str), Some("invalid_target"));
    // Unknown client: 400.
    let (status, _) = authorize(&m, "nobody", &base).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn client_authentication_follows_the_registered_method() {
    let m = start(OAuthOptions::default()).await;
    for method in ["client_secret_basic", "client_secret_post"] {
        let (id, secret) = register(&m, method).await;
        let secret = secret.expect("a secret for the secret methods");
        let (code, verifier) = code_for(&m, &id, "mcp:tools").await;
        let form = |code: &str| {
            vec![
                ("grant_type", "authorization_code".to_string()),
                ("code", code.to_string()),
                ("code_verifier", verifier.clone()),
                ("redirect_uri", REDIRECT.to_string()),
            ]
        };
        // The other transport is refused, and so is no secret.
        let mut wrong = form(&code);
        let basic = if method == "client_secret_basic" {
            wrong.push(("client_id", id.clone()));
            wrong.push(("client_secret", secret.clone()));
            None
        } else {
            Some((id.as_str(), secret.as_str()))
        };
        let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, err) = token(&m, &wrong, basic).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (401, Some("invalid_client")),
            "{method}"
        );
        // The code survived the failed authentication; the right transport works.
        let mut right = form(&code);
        let basic = if method == "client_secret_basic" {
            Some((id.as_str(), secret.as_str()))
        } else {
            right.push(("client_id", id.clone()));
            right.push(("client_secret", secret.clone()));
            None
        };
        let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = token(&m, &right, basic).await;
        assert_eq!(status, 200, "{method}: {body}");
        let (_, stats) = get_json(&format!("{}/__mock/stats", origin(&m))).await;
        assert_eq!(stats["last_client_auth"], method);
        assert_eq!(
            stats["last_token"]["client_secret"]
                .as_str()
                .unwrap_or("[present]"),
            "[present]"
        );
    }
}

#[tokio::test]
async fn tool_scope_answers_403_insufficient_scope_with_the_wider_scope() {
    let m = start(OAuthOptions {
        tool_scopes: vec![("add".into(), "mcp:admin".into())],
        ..Default::default()
    })
    .await;
    let meta = get_json(&format!(
        "{}/.well-known/oauth-authorization-server",
        origin(&m)
    ))
    .await
    .1;
    assert_eq!(meta["scopes_supported"], json!(["mcp:tools", "mcp:admin"]));
    let (_, narrow) = tokens(&m, "mcp:tools").await;
    let narrow = narrow["access_token"].as_str().unwrap();
    let (status, _, ok) = mcp(&m, Some(narrow), call("echo", json!({"text":"x"}))).await;
    assert_eq!(
        (status, ok["result"]["content"][0]["text"].as_str()),
        (200, Some("x"))
    );
    let (status, www, _) = mcp(&m, Some(narrow), call("add", json!({"a":1,"b":1}))).await;
    assert_eq!(status, 403);
    assert!(
        www.starts_with("Bearer error=\"insufficient_scope\""),
        "{www}"
    );
    assert!(www.contains("scope=\"mcp:tools mcp:admin\""), "{www}");
    assert!(www.contains("resource_metadata=\""), "{www}");
    // In a batch too.
    let batch = json!([list(), call("add", json!({"a":1,"b":1}))]);
    assert_eq!(mcp(&m, Some(narrow), batch).await.0, 403);
    // A token with the wider scope gets through.
    let (_, wide) = tokens(&m, "mcp:tools mcp:admin").await;
    assert_eq!(wide["scope"], "mcp:tools mcp:admin");
    let wide = wide["access_token"].as_str().unwrap();
    let (status, _, ok) = mcp(&m, Some(wide), call("add", json!({"a":1,"b":1}))).await;
    assert_eq!(
        (status, ok["result"]["content"][0]["text"].as_str()),
        (200, Some("2"))
    );
}

#[tokio::test]
async fn expired_and_revoked_access_tokens_get_401_invalid_token() {
    // the mock counts whole seconds, so a 3 s token works for at least 2 s: room for the first
    // call on a loaded machine (a 1 s token could expire before its first use)
    let m = start(OAuthOptions {
        token_ttl_secs: 3,
        ..Default::default()
    })
    .await;
    let (_, body) = tokens(&m, "mcp:tools").await;
    assert_eq!(body["expires_in"], 3);
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(mcp(&m, Some(access), list()).await.0, 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (status, www, _) = mcp(&m, Some(access), list()).await;
    assert_eq!(status, 401);
    assert!(www.starts_with("Bearer error=\"invalid_token\""), "{www}");

    // The hooks: expire, then revoke-all (a refresh then fails).
    let m = start(OAuthOptions::default()).await;
    let (id, body) = tokens(&m, "mcp:tools").await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(mcp(&m, Some(access), list()).await.0, 200);
    let resp = http()
        .post(format!("{}/__mock/expire-access-tokens", origin(&m)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap()["expired"], 1);
    assert_eq!(mcp(&m, Some(access), list()).await.0, 401);
    http()
        .post(format!("{}/__mock/revoke-all", origin(&m)))
        .send()
        .await
        .unwrap();
    let rt = body["refresh_token"].as_str().unwrap();
    let (status, err) = token(
        &m,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &id),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(mcp(&m, Some("made-up"), list()).await.0, 401);
}

#[tokio::test]
async fn no_dcr_no_refresh_and_a_preregistered_client() {
    let m = start(OAuthOptions {
        dcr: false,
        refresh_tokens: false,
        client: Some(PreRegisteredClient {
            id: "app".into(),
            secret: Some(Secret::new("s3cret")),
        }),
        ..Default::default()
    })
    .await;
    let o = origin(&m);
    let meta = get_json(&format!("{o}/.well-known/oauth-authorization-server"))
        .await
        .1;
    assert!(meta.get("registration_endpoint").is_none());
    assert_eq!(meta["grant_types_supported"], json!(["authorization_code"]));
    let resp = http()
        .post(format!("{o}/register"))
        .json(&json!({"redirect_uris":[REDIRECT]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // The pre-registered client: any loopback redirect, secret by Basic or in the body.
    for basic in [true, false] {
        let (code, verifier) = code_for(&m, "app", "mcp:tools").await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if !basic {
            form.push(("client_id", "app"));
            form.push(("client_secret", "s3cret"));
        }
        let (status, body) = token(&m, &form, basic.then_some(("app", "s3cret"))).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("refresh_token").is_none(), "--no-refresh: {body}");
    }
    let (code, verifier) = code_for(&m, "app", "mcp:tools").await;
    let (status, _) = token(
        &m,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", REDIRECT),
        ],
        Some(("app", "wrong")),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn cimd_is_advertised_and_fetched_through_the_outbound_guard() {
    let m = start(OAuthOptions {
        cimd: true,
        ..Default::default()
    })
    .await;
    let meta = get_json(&format!(
        "{}/.well-known/oauth-authorization-server",
        origin(&m)
    ))
    .await
    .1;
    assert_eq!(meta["client_id_metadata_document_supported"], true);
    let (_, challenge) = pkce();
    let pairs = [
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    // A document served on loopback http (allowed because the mock is on loopback): the
    // client authorizes and exchanges as a public client.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let doc_origin = format!("http://{}", listener.local_addr().unwrap());
    let good = format!("{doc_origin}/client.json");
    let liar = format!("{doc_origin}/liar.json");
    let g = good.clone();
    let app = axum::Router::new()
        .route(
            "/client.json",
            axum::routing::get(move || {
                let g = g.clone();
                async move {
                    axum::Json(
                        json!({"client_id": g, "client_name": "cimd", "redirect_uris": [REDIRECT]}),
                    )
                }
            }),
        )
        .route(
            "/liar.json",
            axum::routing::get(|| async {
                axum::Json(
                    json!({"client_id": "https://other.example/c", "redirect_uris": [REDIRECT]}),
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let (code, verifier) = code_for(&m, &good, "mcp:tools").await;
    let (status, body) = exchange(&m, &good, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = authorize(&m, &liar, &pairs).await;
    assert_eq!(status, 400, "a document naming another client_id");
    // Without --cimd the same URL is an unknown client.
    let plain = start(OAuthOptions::default()).await;
    let (status, _) = authorize(&plain, &good, &pairs).await;
    assert_eq!(status, 400);
    // A loopback https document is refused by the SSRF guard before any connection.
    let (status, _) = authorize(&m, "https://127.0.0.1:9/client.json", &pairs).await;
    assert_eq!(status, 400);
    // Plain http client ids are not documents.
    let (status, _) = authorize(&m, "http://127.0.0.1:9/client.json", &pairs).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn hooks_answer_loopback_peers_only() {
    use tower::ServiceExt;
    // Mounted without connection info, the peer is unknown: refused.
    let app = mock::oauth::app(mock::app(), "http://127.0.0.1:1", OAuthOptions::default());
    let req = axum::http::Request::get("/__mock/stats")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.oneshot(req).await.unwrap().status(), 403);
    // Over a loopback connection: the stats.
    let m = start(OAuthOptions::default()).await;
    let (status, stats) = get_json(&format!("{}/__mock/stats", origin(&m))).await;
    assert_eq!(status, 200);
    assert_eq!(stats["registrations"], 0);
    register(&m, "none").await;
    let (_, stats) = get_json(&format!("{}/__mock/stats", origin(&m))).await;
    assert_eq!(stats["registrations"], 1);
    assert_eq!(stats["last_register"]["client_name"], "mock-oauth-test");
}

#[test]
fn oauth_switches_need_oauth() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcpgw"))
        .args(["upstream", "mock", "--port", "0", "--no-dcr"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--oauth"));
    let out = Command::new(env!("CARGO_BIN_EXE_mcpgw"))
        .args(["upstream", "mock", "--oauth", "--tool-scope", "add"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TOOL=SCOPE"));
}

// ------------------------------------------------------------------------------------------
// Real third-party clients against the `mcpgw` binary.
// ------------------------------------------------------------------------------------------

/// Starts `mcpgw upstream mock --oauth --port 0 ARGS`; returns the guard and the READY JSON.
fn spawn_mock(args: &[&str]) -> (Child, Value) {
    spawn_ready(
        Command::new(env!("CARGO_BIN_EXE_mcpgw"))
            .args(["upstream", "mock", "--oauth", "--port", "0"])
            .args(args),
    )
}

/// Runs an interop client (`program` with its script) against `url`: it completes OAuth and
/// calls `add`; `args` add to that. Returns its steps (exit 0 asserted).
fn interop_client(dir: &std::path::Path, program: Command, url: &str, args: &[&str]) -> Vec<Value> {
    let mut cmd = program;
    cmd.current_dir(dir)
        .arg(url)
        .args([
            "--call",
            "add",
            "--args",
            r#"{"a":2,"b":3}"#,
            "--timeout",
            "60",
        ])
        .args(args);
    client_steps_ok(&mut cmd)
}

fn ts_client(dir: &std::path::Path, url: &str, args: &[&str]) -> Vec<Value> {
    let mut node = Command::new("node");
    node.arg(dir.join("clients/mcp-client.mjs"));
    interop_client(dir, node, url, args)
}

fn py_client(dir: &std::path::Path, url: &str, args: &[&str]) -> Vec<Value> {
    let mut python = Command::new(dir.join("venv/bin/python"));
    python.arg(dir.join("clients/py-client.py"));
    interop_client(dir, python, url, args)
}

/// Both clients complete OAuth against a mock started with `mock_args` and call `add`;
/// returns the mock's stats.
async fn both_clients_complete(
    test: &str,
    mock_args: &[&str],
    client_args: &[&str],
) -> Option<Value> {
    let dir = interop_dir(test)?;
    let (_mock, ready) = spawn_mock(mock_args);
    let url = ready["url"].as_str().unwrap().to_string();
    assert_eq!(ready["mode"], "oauth");
    let client_args: Vec<String> = client_args.iter().map(|s| s.to_string()).collect();
    let (d, u, a) = (dir.clone(), url.clone(), client_args.clone());
    let ts = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        ts_client(&d, &u, &a)
    });
    let ts = ts.await.unwrap();
    let py = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = client_args.iter().map(String::as_str).collect();
        py_client(&dir, &url, &a)
    })
    .await
    .unwrap();
    for steps in [&ts, &py] {
        assert_eq!(
            step(steps, "call")["result"]["content"][0]["text"],
            "5",
            "{steps:#?}"
        );
        assert_eq!(step(steps, "authorize")["code_challenge_method"], "S256");
        assert_eq!(step(steps, "token")["scope"], "mcp:tools");
    }
    let (_, stats) = get_json(&format!(
        "{}/__mock/stats",
        ready["issuer"].as_str().unwrap()
    ))
    .await;
    assert!(stats["tokens_issued"].as_u64().unwrap() >= 2, "{stats}");
    Some(stats)
}

#[tokio::test]
async fn interop_clients_with_prm_at_root_and_no_resource_metadata() {
    let Some(stats) = both_clients_complete(
        "interop_clients_with_prm_at_root_and_no_resource_metadata",
        &["--prm-at", "root", "--no-resource-metadata"],
        &[],
    )
    .await
    else {
        return;
    };
    assert_eq!(stats["registrations"], 2, "{stats}");
    assert!(
        stats["last_authorize"]["resource"]
            .as_str()
            .unwrap()
            .ends_with("/mcp")
    );
}

#[tokio::test]
async fn interop_clients_with_no_prm() {
    let Some(stats) =
        both_clients_complete("interop_clients_with_no_prm", &["--prm-at", "none"], &[]).await
    else {
        return;
    };
    assert_eq!(stats["registrations"], 2, "{stats}");
}

#[tokio::test]
async fn interop_clients_with_no_dcr_and_a_preregistered_client() {
    let Some(stats) = both_clients_complete(
        "interop_clients_with_no_dcr_and_a_preregistered_client",
        &[
            "--no-dcr",
            "--client-id",
            "interop-app",
            "--client-secret",
            "interop-secret",
        ],
        &[
            "--client-id",
            "interop-app",
            "--client-secret",
            "interop-secret",
        ],
    )
    .await
    else {
        return;
    };
    assert_eq!(stats["registrations"], 0, "{stats}");
    assert_eq!(
        stats["last_token"]["client_id"]
            .as_str()
            .unwrap_or("interop-app"),
        "interop-app"
    );
    assert!(
        matches!(
            stats["last_client_auth"].as_str(),
            Some("client_secret_basic" | "client_secret_post")
        ),
        "{stats}"
    );
}

#[tokio::test]
async fn interop_ts_client_refreshes_short_lived_tokens() {
    let test = "interop_ts_client_refreshes_short_lived_tokens";
    let Some(dir) = interop_dir(test) else {
        return;
    };
    let (_mock, ready) = spawn_mock(&["--token-ttl", "2"]);
    let url = ready["url"].as_str().unwrap().to_string();
    let steps = tokio::task::spawn_blocking(move || ts_client(&dir, &url, &["--refresh"]))
        .await
        .unwrap();
    assert_eq!(step(&steps, "token")["expires_in"], 2);
    let refresh = step(&steps, "refresh");
    assert_eq!(refresh["access_token_changed"], true, "{steps:#?}");
    assert_eq!(refresh["refresh_token_rotated"], true, "{steps:#?}");
    step(&steps, "refresh_verified");
    let (_, stats) = get_json(&format!(
        "{}/__mock/stats",
        ready["issuer"].as_str().unwrap()
    ))
    .await;
    assert_eq!(stats["refreshes"], 1, "{stats}");
    assert_eq!(stats["live_refresh_tokens"], 1, "{stats}");
}

#[tokio::test]
async fn the_cli_ready_line_names_issuer_and_prm() {
    let (_mock, ready) = spawn_mock(&["--prm-at", "both", "--tool-scope", "add=mcp:admin"]);
    let url = ready["url"].as_str().unwrap();
    let issuer = ready["issuer"].as_str().unwrap();
    assert_eq!(format!("{issuer}/mcp"), url);
    assert_eq!(ready["mode"], "oauth");
    assert_eq!(
        ready["prm"],
        format!("{issuer}/.well-known/oauth-protected-resource/mcp")
    );
    let (status, meta) =
        get_json(&format!("{issuer}/.well-known/oauth-authorization-server")).await;
    assert_eq!(status, 200);
    assert_eq!(meta["scopes_supported"], json!(["mcp:tools", "mcp:admin"]));
    let (_none, ready) = spawn_mock(&["--prm-at", "none"]);
    assert!(ready["prm"].is_null(), "{ready}");
}

/// The scopes each `authorize` step asked for, in order.
fn authorize_scopes(steps: &[Value]) -> Vec<String> {
    steps
        .iter()
        .filter(|s| s["step"] == "authorize")
        .filter_map(|s| s["scope"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn interop_clients_step_up_on_insufficient_scope() {
    let Some(dir) = interop_dir("interop_clients_step_up_on_insufficient_scope") else {
        return;
    };
    let calls = [
        "--call",
        "echo",
        "--args",
        r#"{"text":"x"}"#,
        "--call",
        "add",
        "--args",
        r#"{"a":2,"b":3}"#,
    ];
    let switches = ["--challenge-scope", "--tool-scope", "add=mcp:admin"];
    // The Python SDK re-authorizes with the wider scope.
    let (_py_mock, ready) = spawn_mock(&switches);
    let (d, url) = (dir.clone(), ready["url"].as_str().unwrap().to_string());
    let py = tokio::task::spawn_blocking(move || py_client(&d, &url, &calls))
        .await
        .unwrap();
    // The TS SDK 1.32.2 answers a 403 with a refresh when it holds a refresh token (which
    // cannot widen the scope), so it steps up only against an AS without refresh tokens.
    let mut ts_switches = switches.to_vec();
    ts_switches.push("--no-refresh");
    let (_ts_mock, ready) = spawn_mock(&ts_switches);
    let url = ready["url"].as_str().unwrap().to_string();
    let ts = tokio::task::spawn_blocking(move || ts_client(&dir, &url, &calls))
        .await
        .unwrap();
    for steps in [&py, &ts] {
        assert_eq!(
            authorize_scopes(steps),
            ["mcp:tools", "mcp:tools mcp:admin"],
            "{steps:#?}"
        );
        let texts: Vec<&str> = steps
            .iter()
            .filter(|s| s["step"] == "call")
            .filter_map(|s| s["result"]["content"][0]["text"].as_str())
            .collect();
        // The helpers call `add` first, then the calls above.
        assert_eq!(texts, ["5", "x", "5"], "{steps:#?}");
    }
    let (_, stats) = get_json(&format!(
        "{}/__mock/stats",
        ready["issuer"].as_str().unwrap()
    ))
    .await;
    assert_eq!(stats["insufficient_scope"], 1, "{stats}");
}

#[tokio::test]
async fn a_custom_required_scope_is_granted_challenged_and_enforced() {
    let m = start(OAuthOptions {
        scope: "files:read files:write".into(),
        challenge_scope: true,
        ..Default::default()
    })
    .await;
    let (status, www, _) = mcp(&m, None, list()).await;
    assert_eq!(status, 401);
    assert!(www.ends_with("scope=\"files:read files:write\""), "{www}");
    // No scope asked: the required scope is granted.
    let (_, full) = tokens(&m, "").await;
    assert_eq!(full["scope"], "files:read files:write");
    assert_eq!(mcp(&m, full["access_token"].as_str(), list()).await.0, 200);
    // Unknown scopes are dropped; a token with part of the required scope gets 403.
    let (_, part) = tokens(&m, "files:read unknown:scope").await;
    assert_eq!(part["scope"], "files:read");
    let (status, www, _) = mcp(&m, part["access_token"].as_str(), list()).await;
    assert_eq!(status, 403);
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert!(www.ends_with("scope=\"files:read files:write\""), "{www}");
}
