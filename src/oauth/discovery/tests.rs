//! Unit tests for discovery: the header grammar, and the PRM / AS metadata order against small
//! in-test HTTP servers speaking the real documents.

use super::*;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn one(v: &str) -> Vec<Challenge> {
    parse_www_authenticate([v])
}

#[test]
fn bearer_with_quoted_and_token_params() {
    let c = one(
        r#"Bearer realm="mcp", error=invalid_token, error_description="The token \"x\" expired", resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp", scope="read write""#,
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].scheme, "Bearer");
    assert_eq!(c[0].param("realm"), Some("mcp"));
    assert_eq!(c[0].param("error"), Some("invalid_token"));
    assert_eq!(
        c[0].param("error_description"),
        Some(r#"The token "x" expired"#)
    );
    assert_eq!(
        c[0].param("resource_metadata"),
        Some("https://a.example/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(c[0].param("SCOPE"), Some("read write"));
}

#[test]
fn several_challenges_in_one_value_and_token68() {
    // the RFC 7235 §4.1 example, plus a token68 challenge and a Bearer after it
    let c = one(
        r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Negotiate YII+/g==, Bearer scope="a b""#,
    );
    let schemes: Vec<&str> = c.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["Newauth", "Basic", "Negotiate", "Bearer"]);
    assert_eq!(c[0].param("type"), Some("1"));
    assert_eq!(c[0].param("title"), Some(r#"Login to "apps""#));
    assert_eq!(c[1].param("realm"), Some("simple"));
    assert_eq!(c[2].params, vec![(String::new(), "YII+/g==".to_string())]);
    assert_eq!(c[3].param("scope"), Some("a b"));
}

#[test]
fn bare_scheme_spaces_around_equals_and_names_lower_cased() {
    let c = one("Basic, Bearer  Realm = \"x\" ,  Error= insufficient_scope");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].scheme, "Basic");
    assert!(c[0].params.is_empty());
    assert_eq!(c[1].params[0], ("realm".to_string(), "x".to_string()));
    assert_eq!(c[1].param("error"), Some("insufficient_scope"));
}

#[test]
fn several_header_values_and_the_first_bearer() {
    let mut h = reqwest::header::HeaderMap::new();
    h.append(
        reqwest::header::WWW_AUTHENTICATE,
        "Basic realm=\"x\"".parse().unwrap(),
    );
    h.append(
        reqwest::header::WWW_AUTHENTICATE,
        "bearer resource_metadata=\"http://h/prm\", scope=\"s1\""
            .parse()
            .unwrap(),
    );
    let b = bearer_challenge(&h).expect("a bearer challenge");
    assert_eq!(b.resource_metadata.as_deref(), Some("http://h/prm"));
    assert_eq!(b.scope.as_deref(), Some("s1"));
    assert_eq!(b.realm, None);
    let mut none = reqwest::header::HeaderMap::new();
    none.append(reqwest::header::WWW_AUTHENTICATE, "Basic".parse().unwrap());
    assert_eq!(bearer_challenge(&none), None);
}

#[test]
fn malformed_input_is_skipped_not_fatal() {
    for v in [
        "",
        ",,,",
        "=",
        "Bearer realm=\"unterminated",
        "Bearer realm=\"ends with backslash\\",
        "Bearer =x, ==, \"q\"",
        "ü€ Bearer scope=ä",
        "Bearer scope=\"ü\\ä\"",
    ] {
        let _ = one(v);
    }
    let c = one("Bearer realm=\"unterminated");
    assert_eq!(c[0].param("realm"), Some("unterminated"));
    let c = one("Bearer scope=\"ü\\ä\"");
    assert_eq!(c[0].param("scope"), Some("üä"));
}

#[test]
/// Discovery sets `accept` over the constructors' default: one value, or some servers read
/// only the first (the Python SDK answers 406).
fn outbound_header_replaces_one_of_the_same_name() {
    let req = OutboundRequest::get(Url::parse("http://h/").unwrap())
        .header("Accept", "text/event-stream")
        .header("x-a", "1");
    let accept: Vec<&(String, String)> =
        req.headers.iter().filter(|(k, _)| k == "accept").collect();
    assert_eq!(accept.len(), 1);
    assert_eq!(accept[0].1, "text/event-stream");
    assert!(req.headers.contains(&("x-a".into(), "1".into())));
}

#[test]
fn well_known_urls() {
    let u = Url::parse("https://mcp.linear.app/mcp").unwrap();
    assert_eq!(
        default_prm_url(&u).unwrap().as_str(),
        "https://mcp.linear.app/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(
        root_prm_url(&u).unwrap().as_str(),
        "https://mcp.linear.app/.well-known/oauth-protected-resource"
    );
    let root = Url::parse("http://127.0.0.1:9/").unwrap();
    assert_eq!(default_prm_url(&root), root_prm_url(&root));

    let with_path = metadata_urls(&Url::parse("https://as.example/tenant/1/").unwrap());
    let with_path: Vec<&str> = with_path.iter().map(Url::as_str).collect();
    assert_eq!(
        with_path,
        [
            "https://as.example/.well-known/oauth-authorization-server/tenant/1",
            "https://as.example/.well-known/openid-configuration/tenant/1",
            "https://as.example/tenant/1/.well-known/openid-configuration",
        ]
    );
    let bare = metadata_urls(&Url::parse("https://as.example").unwrap());
    let bare: Vec<&str> = bare.iter().map(Url::as_str).collect();
    assert_eq!(
        bare,
        [
            "https://as.example/.well-known/oauth-authorization-server",
            "https://as.example/.well-known/openid-configuration",
        ]
    );
}

#[test]
fn issuer_and_resource_comparisons() {
    // RFC 8414 metadata issuer: up to a trailing slash
    assert!(metadata_issuer_matches(
        "https://as.example/",
        "https://as.example"
    ));
    assert!(metadata_issuer_matches(
        "https://as.example/t",
        "https://as.example/t/"
    ));
    assert!(!metadata_issuer_matches(
        "https://as.example/t",
        "https://as.example/u"
    ));
    // RFC 9207 response iss: exactly
    assert!(response_iss_matches(
        "https://as.example",
        "https://as.example"
    ));
    for other in [
        "https://as.example/",
        "HTTPS://as.example",
        "https://AS.example",
        "https://as.example:443",
    ] {
        assert!(
            !response_iss_matches("https://as.example", other),
            "{other}"
        );
    }
    assert_eq!(
        check_response_iss("https://as.example", true, Some("https://as.example")),
        Ok(())
    );
    assert_eq!(
        check_response_iss("https://as.example", false, None),
        Ok(())
    );
    assert!(matches!(
        check_response_iss("https://as.example", true, None),
        Err(ResponseIssRefusal::Missing { .. })
    ));
    assert!(matches!(
        check_response_iss("https://as.example", false, Some("https://as.example/")),
        Err(ResponseIssRefusal::Mismatch { .. })
    ));
    let u = Url::parse("http://127.0.0.1:8/mcp").unwrap();
    assert!(resource_matches("http://127.0.0.1:8/mcp", &u));
    assert!(resource_matches("http://127.0.0.1:8/mcp/", &u));
    assert!(resource_matches("http://127.0.0.1:8/", &u));
    assert!(!resource_matches("http://localhost:8/mcp", &u));
    assert!(!resource_matches("http://127.0.0.1:8/mc", &u));
    assert!(!resource_matches("not a url", &u));
    assert!(resource_matches("HTTP://127.0.0.1:8/mcp", &u));
    assert!(!resource_matches("https://evil.example.com/mcp", &u));
    let tls = Url::parse("https://mcp.example.com/mcp").unwrap();
    assert!(resource_matches("https://MCP.example.com:443/mcp", &tls));
    assert!(!resource_matches("https://mcp.example.com:8443/mcp", &tls));
}

#[test]
fn sse_first_event() {
    assert_eq!(sse_data(b"event: message\ndata: {\"a\":1}\n"), None);
    assert_eq!(
        sse_data(b": ping\n\nid: 1\ndata: \n\nevent: message\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n")
            .unwrap(),
        b"{\"a\":\n1}"
    );
}

// --- discovery against real HTTP --------------------------------------------------------------

type Routes = HashMap<String, (u16, Vec<(String, String)>, String)>;

/// A server answering fixed documents by path, recording every path asked for.
struct Server {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
}

async fn serve(build: impl FnOnce(&str) -> Routes) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = Arc::new(build(&base));
    let hits = Arc::new(Mutex::new(Vec::new()));
    let h = hits.clone();
    let app = axum::Router::new().fallback(move |req: Request<Body>| {
        let routes = routes.clone();
        let h = h.clone();
        async move {
            let path = req.uri().path().to_string();
            h.lock().unwrap().push(format!("{} {path}", req.method()));
            let mut resp = Response::builder();
            let Some((status, headers, body)) = routes.get(&path) else {
                return resp.status(404).body(Body::from("not here")).unwrap();
            };
            resp = resp.status(StatusCode::from_u16(*status).unwrap());
            for (k, v) in headers {
                resp = resp.header(k, v);
            }
            resp.body(Body::from(body.clone())).unwrap()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    Server { base, hits }
}

fn json(status: u16, v: serde_json::Value) -> (u16, Vec<(String, String)>, String) {
    (
        status,
        vec![("content-type".into(), "application/json".into())],
        v.to_string(),
    )
}

fn as_doc(issuer: &str) -> serde_json::Value {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["mcp:tools", "offline_access"],
    })
}

fn input(mcp: &str, prm: Option<&str>, challenge: Option<BearerChallenge>) -> DiscoveryInput {
    DiscoveryInput {
        mcp_url: Url::parse(mcp).unwrap(),
        prm_url: prm.map(|p| Url::parse(p).unwrap()),
        challenge,
    }
}

async fn run(i: DiscoveryInput) -> Result<Discovered, DiscoveryError> {
    discover(
        &outbound::client(),
        i,
        Guard::Trusted,
        Limits::UPSTREAM_OAUTH,
    )
    .await
}

#[tokio::test]
async fn path_suffixed_prm_and_issuer_with_path() {
    let s = serve(|b| {
        HashMap::from([
            (
                "/.well-known/oauth-protected-resource/mcp".into(),
                json(
                    200,
                    serde_json::json!({"resource": format!("{b}/mcp"),
                        "authorization_servers": [format!("{b}/tenant")],
                        "scopes_supported": ["mcp:tools", "mcp:read"]}),
                ),
            ),
            // RFC 8414 variant missing, OIDC path-inserted variant 502: both skipped
            (
                "/.well-known/openid-configuration/tenant".into(),
                (502, vec![], "bad gateway".into()),
            ),
            (
                "/tenant/.well-known/openid-configuration".into(),
                json(200, as_doc(&format!("{b}/tenant/"))),
            ),
        ])
    })
    .await;
    let d = run(input(&format!("{}/mcp", s.base), None, None))
        .await
        .unwrap();
    assert!(!d.prm_needs_explicit_url);
    assert!(d.resource_matches_url);
    assert_eq!(d.resource.as_deref(), Some(&*format!("{}/mcp", s.base)));
    assert_eq!(
        d.authorization_server.as_str(),
        format!("{}/tenant", s.base)
    );
    assert!(
        d.metadata_url
            .as_str()
            .ends_with("/tenant/.well-known/openid-configuration")
    );
    assert!(d.supports_s256() && d.supports_dcr() && !d.supports_cimd());
    assert_eq!(d.default_scope().as_deref(), Some("mcp:tools mcp:read"));
    let outcomes: Vec<(Step, Option<u16>, &str)> = d
        .attempts
        .iter()
        .map(|a| (a.step, a.status, a.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Step::ProtectedResourceMetadata, Some(200), "found"),
            (
                Step::AuthorizationServerMetadata,
                Some(404),
                "404: not found"
            ),
            (
                Step::AuthorizationServerMetadata,
                Some(502),
                "502: bad gateway"
            ),
            (Step::AuthorizationServerMetadata, Some(200), "found"),
        ]
    );
    // the round trip the store relies on
    let back: Discovered = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
    assert_eq!(back, d);
}

#[tokio::test]
async fn root_prm_fallback_needs_explicit_url_and_challenge_scope_wins() {
    let s = serve(|b| {
        HashMap::from([
            (
                "/.well-known/oauth-protected-resource".into(),
                json(
                    200,
                    serde_json::json!({"resource": "http://localhost:1/mcp",
                        "authorization_servers": [b], "scopes_supported": ["x"]}),
                ),
            ),
            (
                "/.well-known/oauth-authorization-server".into(),
                json(200, as_doc(b)),
            ),
        ])
    })
    .await;
    let challenge = BearerChallenge {
        scope: Some("from:challenge".into()),
        ..Default::default()
    };
    let d = run(input(&format!("{}/mcp", s.base), None, Some(challenge)))
        .await
        .unwrap();
    assert!(d.prm_needs_explicit_url);
    assert!(
        d.prm_url
            .as_ref()
            .unwrap()
            .as_str()
            .ends_with("/.well-known/oauth-protected-resource")
    );
    assert!(!d.resource_matches_url);
    assert_eq!(d.default_scope().as_deref(), Some("from:challenge"));
    let hits = s.hits.lock().unwrap().clone();
    assert_eq!(
        hits,
        [
            "GET /.well-known/oauth-protected-resource/mcp",
            "GET /.well-known/oauth-protected-resource",
            "GET /.well-known/oauth-authorization-server",
        ]
    );
}

#[tokio::test]
async fn explicit_then_challenge_order_and_no_prm_falls_back_to_origin() {
    let s = serve(|b| {
        HashMap::from([
            (
                "/custom/prm".into(),
                json(200, serde_json::json!({"authorization_servers": [b]})),
            ),
            (
                "/.well-known/openid-configuration".into(),
                json(200, as_doc(b)),
            ),
        ])
    })
    .await;
    let challenge = BearerChallenge {
        resource_metadata: Some("/custom/prm".into()),
        ..Default::default()
    };
    // explicit URL is missing: the challenge's is used next
    let d = run(input(
        &format!("{}/mcp", s.base),
        Some(&format!("{}/explicit", s.base)),
        Some(challenge),
    ))
    .await
    .unwrap();
    assert!(d.prm_needs_explicit_url);
    assert_eq!(d.resource, None);
    assert!(!d.resource_matches_url);
    assert_eq!(d.default_scope(), None);
    assert_eq!(d.attempts[0].status, Some(404));
    assert!(d.attempts[1].url.ends_with("/custom/prm"));

    // no PRM anywhere: the AS is the MCP URL's origin (2025-03-26 style)
    let d = run(input(&format!("{}/other/mcp", s.base), None, None))
        .await
        .unwrap();
    assert!(d.prm.is_none() && d.prm_url.is_none() && !d.prm_needs_explicit_url);
    assert_eq!(d.authorization_server.as_str(), format!("{}/", s.base));
    assert_eq!(d.attempts.len(), 4); // 2 PRM misses, RFC 8414 miss, OIDC found
}

#[tokio::test]
async fn issuer_mismatch_no_metadata_and_server_errors_keep_attempts() {
    let s = serve(|_| {
        HashMap::from([(
            "/.well-known/oauth-authorization-server".into(),
            json(200, as_doc("https://elsewhere.example")),
        )])
    })
    .await;
    let e = run(input(&format!("{}/mcp", s.base), None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DiscoveryError::IssuerMismatch { ref found, .. } if found == "https://elsewhere.example")
    );
    assert_eq!(e.attempts().len(), 3);

    let empty = serve(|_| HashMap::new()).await;
    let e = run(input(&format!("{}/mcp", empty.base), None, None))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        DiscoveryError::NoAuthorizationServerMetadata { .. }
    ));
    assert_eq!(e.attempts().len(), 4);

    let broken = serve(|_| {
        HashMap::from([(
            "/.well-known/oauth-authorization-server".into(),
            (500, vec![], "boom".into()),
        )])
    })
    .await;
    let e = run(input(&format!("{}/", broken.base), None, None))
        .await
        .unwrap_err();
    assert!(matches!(e, DiscoveryError::InvalidDocument { .. }), "{e}");
    assert_eq!(e.attempts().last().unwrap().status, Some(500));
}

#[tokio::test]
async fn unreachable_host_is_a_network_error_with_attempts() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/mcp")).unwrap();
    let e = probe(
        &outbound::client(),
        &url,
        Guard::Trusted,
        Limits::UPSTREAM_OAUTH,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, DiscoveryError::Network { .. }));
    assert!(
        e.attempts()[0].outcome.starts_with("network error"),
        "{:?}",
        e.attempts()
    );
}

#[tokio::test]
async fn probe_reads_the_challenge_and_an_open_servers_answer() {
    let s = serve(|b| {
        HashMap::from([
            (
                "/mcp".into(),
                (
                    401,
                    vec![(
                        "www-authenticate".into(),
                        format!(
                            "Bearer error=\"invalid_token\", resource_metadata=\"{b}/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\""
                        ),
                    )],
                    "{}".into(),
                ),
            ),
            (
                "/open".into(),
                (
                    200,
                    vec![
                        ("content-type".into(), "text/event-stream".into()),
                        ("mcp-session-id".into(), "abc".into()),
                    ],
                    "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"serverInfo\":{\"name\":\"srv\"}}}\n\n".into(),
                ),
            ),
        ])
    })
    .await;
    let http = outbound::client();
    let p = probe(
        &http,
        &Url::parse(&format!("{}/mcp", s.base)).unwrap(),
        Guard::Trusted,
        Limits::UPSTREAM_OAUTH,
    )
    .await
    .unwrap();
    assert_eq!(p.status, 401);
    let c = p.challenge.clone().unwrap();
    assert_eq!(c.scope.as_deref(), Some("mcp:tools"));
    assert_eq!(c.error.as_deref(), Some("invalid_token"));
    assert!(p.attempt.outcome.contains("resource_metadata="));
    assert_eq!(p.attempt.status, Some(401));

    let p = probe(
        &http,
        &Url::parse(&format!("{}/open", s.base)).unwrap(),
        Guard::Trusted,
        Limits::UPSTREAM_OAUTH,
    )
    .await
    .unwrap();
    assert_eq!(p.status, 200);
    assert!(p.challenge.is_none());
    assert_eq!(p.server_info().unwrap()["name"], "srv");
    assert_eq!(p.session_id.as_deref(), Some("abc"));
    assert!(
        p.attempt.outcome.contains("server srv"),
        "{}",
        p.attempt.outcome
    );
    assert!(s.hits.lock().unwrap().iter().all(|h| h.starts_with("POST")));
}

// --- no panic on any header ---------------------------------------------------------------------

use proptest::prelude::*;

/// Header-ish noise: the pieces that stress the challenge grammar.
fn header_noise() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("Bearer".to_string()),
            Just("Basic".to_string()),
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just(",".to_string()),
            Just("=".to_string()),
            Just("==".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("\\\"".to_string()),
            Just("realm".to_string()),
            Just("scope=\"".to_string()),
            Just("resource_metadata=".to_string()),
            Just("ü€".to_string()),
            Just("+/".to_string()),
            "[a-zA-Z0-9 _./=\"-]{0,8}",
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn parse_never_panics(a in header_noise(), b in any::<String>()) {
        let out = parse_www_authenticate([a.as_str(), b.as_str()]);
        // every challenge has a scheme made of token characters
        for c in &out {
            prop_assert!(!c.scheme.is_empty() && c.scheme.bytes().all(is_tchar));
        }
        let mut h = reqwest::header::HeaderMap::new();
        if let Ok(v) = reqwest::header::HeaderValue::from_bytes(a.as_bytes()) {
            h.append(reqwest::header::WWW_AUTHENTICATE, v);
        }
        let _ = bearer_challenge(&h);
    }

    #[test]
    fn quoted_values_round_trip(v in "[ -~]{0,30}") {
        let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
        let out = parse_www_authenticate([format!("Bearer scope=\"{escaped}\", error=x").as_str()]);
        prop_assert_eq!(out.len(), 1);
        prop_assert_eq!(out[0].param("scope"), Some(v.as_str()));
        prop_assert_eq!(out[0].param("error"), Some("x"));
    }
}

/// Issue #12: the gateway's first contact (D19) speaks 2026-07-28 first, so an upstream that
/// refuses `initialize` before it looks at the token still shows its challenge and `scope`.
#[tokio::test]
async fn the_gateways_probe_reads_the_challenge_of_a_2026_07_28_only_upstream() {
    use axum::http::{HeaderMap, StatusCode};
    async fn mcp(headers: HeaderMap, body: String) -> axum::response::Response {
        use axum::response::IntoResponse;
        let modern = headers
            .get("mcp-protocol-version")
            .is_some_and(|v| v == "2026-07-28")
            && body.contains("\"server/discover\"");
        if modern {
            (
                StatusCode::UNAUTHORIZED,
                [(
                    "www-authenticate",
                    "Bearer resource_metadata=\"http://x/.well-known/oauth-protected-resource/mcp\", scope=\"files:read\"",
                )],
            )
                .into_response()
        } else {
            (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":-32022,
                    "message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":"2025-11-25"}}})),
            )
                .into_response()
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().route("/mcp", axum::routing::post(mcp));
        let _ = axum::serve(listener, app).await;
    });
    let p = probe(
        &outbound::client(),
        &Url::parse(&format!("http://{addr}/mcp")).unwrap(),
        Guard::Trusted,
        Limits::UPSTREAM_OAUTH,
    )
    .await
    .unwrap();
    assert_eq!(p.status, 401);
    assert_eq!(
        p.challenge.and_then(|c| c.scope).as_deref(),
        Some("files:read")
    );
}
