//! `mcpgw oauth walk` over real HTTP: a full walk against `mcpgw dev` serving the quickstart
//! project (with golden transcripts of the exact requests), `--check` against a gateway that
//! holds every protection and against a fixture server that holds none, broken projects that
//! must stop at the right step, the binary's `--json` / `--save` / `--token-file`, and two
//! third-party servers from the interop harness (skipped without MCPGW_INTEROP_DIR).

mod common;

use common::*;
use mcpgw::gateway::{self, DevOptions, Served};
use mcpgw::walk::{
    self, Browser, Era, Protocol, Quiet, Status, StepKind, Transcript, WalkOptions, WalkOutcome,
};
use serde_json::json;
use std::path::{Path, PathBuf};

struct Gw {
    running: gateway::Running,
    base: String,
    _mock: mcpgw::mock::MockHandle,
    _dir: tempfile::TempDir,
}

impl Drop for Gw {
    fn drop(&mut self) {
        self.running.shutdown.cancel();
    }
}

async fn serve(
    dir: tempfile::TempDir,
    mock: mcpgw::mock::MockHandle,
    port: u16,
    public_url: Option<String>,
) -> Gw {
    let report = gateway::load(dir.path().to_path_buf()).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let mut options = DevOptions::new(dir.path());
    options.port = port;
    options.public_url = public_url;
    let running = gateway::start(Served::new(report), &options).await.unwrap();
    let base = format!("http://{}", running.addr);
    Gw {
        running,
        base,
        _mock: mock,
        _dir: dir,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// The quickstart template, copied to a temp dir (never run inside templates/), its mock
/// upstream on a free port.
async fn quickstart() -> Gw {
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("templates/projects/quickstart"),
        dir.path(),
    );
    let routes = dir.path().join("config/routes.oas.json");
    let text = std::fs::read_to_string(&routes).unwrap();
    assert!(text.contains("http://127.0.0.1:9001/mcp"));
    std::fs::write(
        &routes,
        text.replace("http://127.0.0.1:9001/mcp", &mock.url),
    )
    .unwrap();
    serve(dir, mock, 0, None).await
}

fn dev_oauth() -> serde_json::Value {
    json!({"name": "dev-oauth", "policyType": "mcp-oauth-inbound", "handler": {"export": "McpOAuthInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {
        "oidc": {"issuer": "http://127.0.0.1:9000/__zuplo/dev-idp", "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"},
        "browserLogin": {"url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login"}}}})
}

/// Two OAuth routes (for the other-route check) and one without any OAuth policy.
async fn project(port: u16, public_url: Option<String>) -> Gw {
    let mock = mcpgw::mock::spawn("127.0.0.1:0").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_project(
        dir.path(),
        json!({
            "/mcp/a-v1": mcp_route("a-server", &mock.url, &["dev-oauth"], json!({})),
            "/mcp/b-v1": mcp_route("b-server", &mock.url, &["dev-oauth"], json!({})),
            "/mcp/open-v1": mcp_route("open-server", &mock.url, &[], json!({})),
        }),
        json!([dev_oauth()]),
    );
    serve(dir, mock, port, public_url).await
}

fn options(url: &str) -> WalkOptions {
    let mut o = WalkOptions::new(url::Url::parse(url).unwrap());
    o.browser = Browser::Print;
    o.browser_timeout = std::time::Duration::from_secs(20);
    o
}

fn step(t: &Transcript, kind: StepKind) -> &mcpgw::walk::StepRecord {
    t.steps
        .iter()
        .find(|s| s.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} in {t:#?}"))
}

/// The requests of a transcript with everything random masked: method, path and query,
/// then the body (form fields one per line, JSON as sent).
fn masked_requests(t: &Transcript, ports: &[u16]) -> String {
    const RANDOM: &[&str] = &[
        "client_id",
        "code",
        "code_verifier",
        "code_challenge",
        "state",
        "refresh_token",
        "token",
        "access_token",
    ];
    let unport = |s: &str| {
        let mut s = s.replace(
            &format!("\"version\":\"{}\"", env!("CARGO_PKG_VERSION")),
            "\"version\":\"<version>\"",
        );
        for p in ports {
            s = s.replace(&format!(":{p}"), ":PORT");
        }
        s
    };
    let mask = |pairs: Vec<(String, String)>| -> Vec<String> {
        pairs
            .into_iter()
            .map(|(k, v)| {
                let v = if RANDOM.contains(&k.as_str()) {
                    "<random>".to_string()
                } else {
                    unport(&v)
                };
                format!("{k}={v}")
            })
            .collect()
    };
    let mut out = String::new();
    for r in t.requests() {
        let u = url::Url::parse(&r.url).unwrap();
        let q = mask(u.query_pairs().into_owned().collect());
        out.push_str(&format!(
            "{} {}{}\n",
            r.method,
            u.path(),
            if q.is_empty() {
                String::new()
            } else {
                format!("?{}", q.join("&"))
            }
        ));
        if let Some(b) = &r.body {
            let form = r.headers.iter().any(|(k, v)| {
                k == "content-type" && v.starts_with("application/x-www-form-urlencoded")
            });
            if form {
                for line in mask(
                    url::form_urlencoded::parse(b.as_bytes())
                        .into_owned()
                        .collect(),
                ) {
                    out.push_str(&format!("    {line}\n"));
                }
            } else {
                out.push_str(&format!("    {}\n", unport(b)));
            }
        }
    }
    out
}

/// Compares with tests/golden/NAME (UPDATE_EXPECT=1 rewrites it).
fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        expected,
        actual,
        "{} differs (UPDATE_EXPECT=1 to accept)",
        path.display()
    );
}

#[tokio::test]
async fn a_full_walk_against_the_quickstart_passes_and_sends_exactly_the_golden_requests() {
    let gw = quickstart().await;
    let url = format!("{}/mcp/mock-v1", gw.base);
    let mut o = options(&url);
    o.show_secrets = true;
    let r = walk::walk(o, &Quiet).await;
    let t = &r.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(t.exit_code(), 0);
    let kinds: Vec<StepKind> = t.steps.iter().map(|s| s.kind).collect();
    assert_eq!(kinds.len(), 10, "{kinds:?}");
    for s in &t.steps {
        assert_eq!(s.status, Status::Passed, "{s:#?}");
    }
    assert!(
        step(t, StepKind::Mcp)
            .notes
            .iter()
            .any(|n| n == "tools: echo, add, slow, fail"),
        "{:#?}",
        step(t, StepKind::Mcp)
    );
    assert!(
        step(t, StepKind::BrowserLeg)
            .exchanges
            .iter()
            .any(|e| e.request.url.contains("/__zuplo/oauth/dev-login"))
    );
    // auto: the mock behind the gateway answers server/discover, so the walk speaks 2026-07-28
    assert_eq!(t.era, Some(Era::Modern));
    assert!(
        step(t, StepKind::Mcp)
            .notes
            .iter()
            .any(|n| n == "era: 2026-07-28 (server/discover)"),
        "{:#?}",
        step(t, StepKind::Mcp)
    );
    // every MCP request after the first contact carries the 2026-07-28 headers, mirrored
    let list = &step(t, StepKind::Mcp).exchanges[1].request;
    for (k, v) in [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/list"),
    ] {
        assert!(
            list.headers.iter().any(|(hk, hv)| hk == k && hv == v),
            "{list:#?}"
        );
    }
    golden(
        "walk-quickstart.txt",
        &masked_requests(t, &[gw.running.addr.port()]),
    );
    // the tokens are gone after the revoke step: nothing to save
    assert!(r.tokens.is_none());

    // --protocol 2025-11-25: initialize and a session, the requests of the old era
    let mut o = options(&url);
    o.show_secrets = true;
    o.protocol = Protocol::Session;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(t.era, Some(Era::Session));
    assert!(
        step(&t, StepKind::Mcp)
            .notes
            .iter()
            .any(|n| n == "era: 2025-11-25 (initialize)")
    );
    golden(
        "walk-quickstart-2025-11-25.txt",
        &masked_requests(&t, &[gw.running.addr.port()]),
    );
}

#[tokio::test]
async fn secrets_are_shortened_unless_asked() {
    let gw = quickstart().await;
    let url = format!("{}/mcp/mock-v1", gw.base);
    let mut o = options(&url);
    o.revoke = false;
    o.keep_tokens = true;
    let r = walk::walk(o, &Quiet).await;
    assert_eq!(r.transcript.exit_code(), 0, "{:#?}", r.transcript);
    let tokens = r.tokens.expect("tokens kept");
    let json = serde_json::to_string(&r.transcript).unwrap();
    assert!(
        !json.contains(tokens.access_token.secret()),
        "the access token leaked"
    );
    assert!(
        !json.contains(tokens.refresh_token.as_ref().unwrap().secret()),
        "the refresh token leaked"
    );
    assert!(
        json.contains(&format!("Bearer {}…", &tokens.access_token.secret()[..6])),
        "{json}"
    );
    assert_eq!(
        step(&r.transcript, StepKind::Revoke).status,
        Status::Skipped
    );
}

/// The checks of issue 12 (Origin, RFC 9207 iss, 2026-07-28 header mismatch), whose
/// protections the gateway gains on another branch: against `mcpgw dev` they must run and
/// report, held or not.
const NEWER_CHECKS: [&str; 3] = [
    "the authorization response carries iss (RFC 9207)",
    "a request from a hostile Origin is refused",
    "a header that contradicts the body is refused",
];

#[tokio::test]
async fn every_negative_check_holds_against_mcpgw_dev() {
    let gw = project(0, None).await;
    let mut o = options(&format!("{}/mcp/a-v1", gw.base));
    o.check = true;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(t.checks.len(), 10, "{:#?}", t.checks);
    // every protection holds, the issue #12 ones (iss, hostile Origin, header mismatch) too
    for c in &t.checks {
        assert_eq!(c.status, Status::Passed, "{c:#?}");
    }
    for name in NEWER_CHECKS {
        assert!(t.checks.iter().any(|c| c.name == name), "no {name}");
    }
    assert_eq!(t.exit_code(), 0);
    golden(
        "walk-check.txt",
        &masked_requests(&t, &[gw.running.addr.port()]),
    );
    let other = t
        .checks
        .iter()
        .find(|c| c.name.contains("another route"))
        .unwrap();
    assert!(
        other.exchanges[0].request.url.ends_with("/mcp/b-v1")
            || other.exchanges[0].request.url.ends_with("/mcp/open-v1")
    );
}

#[tokio::test]
async fn a_route_without_an_oauth_policy_stops_at_the_probe() {
    let gw = project(0, None).await;
    let t = walk::walk(options(&format!("{}/mcp/open-v1", gw.base)), &Quiet)
        .await
        .transcript;
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::Probe,
            number: 1
        },
        "{t:#?}"
    );
    assert_eq!(t.exit_code(), 1);
    assert_eq!(t.steps.len(), 1);
    let why = t.steps[0].explanation.as_deref().unwrap();
    assert!(
        why.contains("not protected") && why.contains("mcp-oauth-inbound"),
        "{why}"
    );
    // an unknown route is not a 401 either
    let t = walk::walk(options(&format!("{}/mcp/nope", gw.base)), &Quiet)
        .await
        .transcript;
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::Probe,
            number: 1
        },
        "{t:#?}"
    );
    assert!(
        t.steps[0]
            .explanation
            .as_deref()
            .unwrap()
            .contains("instead of 401")
    );
}

#[tokio::test]
async fn a_prm_for_another_origin_stops_at_the_prm_step() {
    // the gateway's public URL says localhost while the walk uses 127.0.0.1 (§8's alias trap)
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gw = project(port, Some(format!("http://localhost:{port}"))).await;
    let t = walk::walk(options(&format!("{}/mcp/a-v1", gw.base)), &Quiet)
        .await
        .transcript;
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::ProtectedResourceMetadata,
            number: 2
        },
        "{t:#?}"
    );
    let prm = step(&t, StepKind::ProtectedResourceMetadata);
    assert!(
        prm.checks
            .iter()
            .any(|c| c.label == "resource matches the MCP URL" && !c.ok)
    );
    let why = prm.explanation.as_deref().unwrap();
    assert!(
        why.contains("localhost vs") && why.contains(&format!("http://localhost:{port}/mcp/a-v1")),
        "{why}"
    );
    assert_eq!(t.exit_code(), 1);
}

#[tokio::test]
async fn nothing_listening_is_exit_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = walk::walk(options(&format!("http://127.0.0.1:{port}/mcp")), &Quiet)
        .await
        .transcript;
    assert!(
        matches!(
            t.outcome,
            WalkOutcome::Error {
                step: StepKind::Probe,
                ..
            }
        ),
        "{t:#?}"
    );
    assert_eq!(t.exit_code(), 2);
}

// ---------------------------------------------------------------------------------------------
// A server that lacks one protection at a time
// ---------------------------------------------------------------------------------------------

mod fixture {
    //! A small AS + RS that holds every protection `--check` looks for, except the one it is
    //! told to leave out ([`Hole`]): the proof that each check can fail. It speaks both MCP
    //! eras, or one of them ([`Eras`]): a 2026-07-28 request is told by its
    //! `MCP-Protocol-Version` header, and its `Mcp-Method` / `Mcp-Name` headers must mirror
    //! the body (400, -32020).
    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::{IntoResponse, Redirect, Response};
    use axum::routing::{get, post};
    use axum::{Form, Json, Router};
    use serde_json::{Value, json};
    use std::collections::{HashMap, HashSet};
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Hole {
        None,
        DcrAcceptsAnyRedirect,
        UnknownClientAuthorized,
        UnregisteredRedirectAccepted,
        NoPkceCheck,
        TokenValidOnEveryRoute,
        TokenReadFromQuery,
        RevocationIgnored,
        /// RFC 9207 neither advertised nor sent (the walk passes, the iss check fails).
        NoIss,
        /// Advertised, but the authorization response has no iss (step 6 fails).
        IssMissingThoughAdvertised,
        /// iss is the issuer plus a trailing slash (step 6 fails: compared as strings).
        IssWithTrailingSlash,
        /// Any Origin is served.
        OriginNotChecked,
        /// Mcp-Name is not compared with the body.
        HeaderMismatchAccepted,
    }

    /// The MCP eras the fixture speaks.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Eras {
        Both,
        /// 2026-07-28 only: any other revision is refused with 400 -32022, before the token
        /// is looked at.
        ModernOnly,
        /// 2025-11-25 only: server/discover is an unknown method (-32601).
        SessionOnly,
    }

    #[derive(Default)]
    struct Data {
        clients: HashMap<String, Vec<String>>,
        codes: HashMap<String, String>,
        /// access token → (route path, grant)
        access: HashMap<String, (String, usize)>,
        refresh: HashMap<String, usize>,
        revoked: HashSet<usize>,
        n: usize,
        /// the last registration's body
        registered: Option<Value>,
    }

    struct S {
        base: String,
        hole: Hole,
        eras: Eras,
        data: Mutex<Data>,
    }

    type St = State<Arc<S>>;

    /// The last DCR body, for assertions.
    pub type Registered = Arc<dyn Fn() -> Option<Value> + Send + Sync>;

    pub async fn spawn(hole: Hole) -> String {
        spawn_with(hole, Eras::Both).await.0
    }

    pub async fn spawn_with(hole: Hole, eras: Eras) -> (String, Registered) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let s = Arc::new(S {
            base: base.clone(),
            hole,
            eras,
            data: Mutex::default(),
        });
        let registered: Registered = {
            let s = s.clone();
            Arc::new(move || s.data.lock().unwrap().registered.clone())
        };
        let app = Router::new()
            .route("/.well-known/oauth-protected-resource/mcp", get(prm))
            .route("/.well-known/oauth-authorization-server", get(metadata))
            .route("/register", post(register))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/__zuplo/mcp-registry/v0.1/servers", get(registry))
            .route("/mcp", post(mcp))
            .route("/other/mcp", post(mcp))
            .with_state(s);
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("{base}/mcp"), registered)
    }

    fn oauth_error(e: &str) -> Response {
        (StatusCode::BAD_REQUEST, Json(json!({"error": e}))).into_response()
    }

    async fn prm(State(s): St) -> Json<Value> {
        Json(
            json!({"resource": format!("{}/mcp", s.base), "authorization_servers": [s.base], "scopes_supported": ["mcp:tools"], "bearer_methods_supported": ["header"]}),
        )
    }
    async fn metadata(State(s): St) -> Json<Value> {
        let b = &s.base;
        Json(
            json!({"issuer": b, "authorization_endpoint": format!("{b}/authorize"), "token_endpoint": format!("{b}/token"),
            "registration_endpoint": format!("{b}/register"), "revocation_endpoint": format!("{b}/revoke"),
            "code_challenge_methods_supported": ["S256"], "response_types_supported": ["code"],
            "authorization_response_iss_parameter_supported": s.hole != Hole::NoIss}),
        )
    }
    async fn register(State(s): St, Json(body): Json<Value>) -> Response {
        let uris: Vec<String> = body["redirect_uris"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        let loopback = |u: &String| {
            u.starts_with("http://127.0.0.1:")
                || u.starts_with("http://localhost:")
                || u.starts_with("https://")
        };
        if s.hole != Hole::DcrAcceptsAnyRedirect && !uris.iter().all(loopback) {
            return oauth_error("invalid_redirect_uri");
        }
        let mut d = s.data.lock().unwrap();
        d.registered = Some(body.clone());
        d.n += 1;
        let id = format!("client-{}", d.n);
        d.clients.insert(id.clone(), uris.clone());
        (
            StatusCode::CREATED,
            Json(json!({"client_id": id, "redirect_uris": uris})),
        )
            .into_response()
    }
    async fn authorize(State(s): St, Query(q): Query<HashMap<String, String>>) -> Response {
        let mut d = s.data.lock().unwrap();
        let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
        match d
            .clients
            .get(q.get("client_id").map(String::as_str).unwrap_or(""))
        {
            None if s.hole != Hole::UnknownClientAuthorized => {
                return (StatusCode::BAD_REQUEST, "unknown client").into_response();
            }
            Some(uris)
                if !uris.contains(&redirect) && s.hole != Hole::UnregisteredRedirectAccepted =>
            {
                return (StatusCode::BAD_REQUEST, "unregistered redirect_uri").into_response();
            }
            _ => {}
        }
        d.n += 1;
        let code = format!("code-{}", d.n);
        d.codes.insert(
            code.clone(),
            q.get("code_challenge").cloned().unwrap_or_default(),
        );
        let mut u = url::Url::parse(&redirect).unwrap();
        u.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", q.get("state").map(String::as_str).unwrap_or(""));
        match s.hole {
            Hole::NoIss | Hole::IssMissingThoughAdvertised => {}
            Hole::IssWithTrailingSlash => {
                u.query_pairs_mut()
                    .append_pair("iss", &format!("{}/", s.base));
            }
            _ => {
                u.query_pairs_mut().append_pair("iss", &s.base);
            }
        }
        Redirect::to(u.as_str()).into_response()
    }
    fn issue(d: &mut Data, grant: usize) -> Json<Value> {
        d.n += 1;
        let (at, rt) = (
            format!("access-{}-{grant}", d.n),
            format!("refresh-{}-{grant}", d.n),
        );
        d.access.insert(at.clone(), ("/mcp".into(), grant));
        d.refresh.insert(rt.clone(), grant);
        Json(
            json!({"access_token": at, "token_type": "Bearer", "expires_in": 600, "refresh_token": rt, "scope": "mcp:tools"}),
        )
    }
    async fn token(State(s): St, Form(f): Form<HashMap<String, String>>) -> Response {
        let mut d = s.data.lock().unwrap();
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        match get("grant_type").as_str() {
            "authorization_code" => {
                let Some(challenge) = d.codes.remove(&get("code")) else {
                    return oauth_error("invalid_grant");
                };
                if s.hole != Hole::NoPkceCheck
                    && !mcpgw::crypto::pkce_s256_matches(&get("code_verifier"), &challenge)
                {
                    return oauth_error("invalid_grant");
                }
                d.n += 1;
                let grant = d.n;
                issue(&mut d, grant).into_response()
            }
            "refresh_token" => match d.refresh.remove(&get("refresh_token")) {
                Some(grant) if !d.revoked.contains(&grant) => issue(&mut d, grant).into_response(),
                _ => oauth_error("invalid_grant"),
            },
            _ => oauth_error("unsupported_grant_type"),
        }
    }
    async fn revoke(State(s): St, Form(f): Form<HashMap<String, String>>) -> StatusCode {
        let mut d = s.data.lock().unwrap();
        let t = f.get("token").cloned().unwrap_or_default();
        let grant = d
            .refresh
            .get(&t)
            .copied()
            .or_else(|| d.access.get(&t).map(|a| a.1));
        if let Some(g) = grant
            && s.hole != Hole::RevocationIgnored
        {
            d.revoked.insert(g);
        }
        StatusCode::OK
    }
    async fn registry(State(s): St) -> Json<Value> {
        let b = &s.base;
        Json(
            json!({"servers": [{"server": {"remotes": [{"type": "streamable-http", "url": format!("{b}/mcp")}]}}, {"server": {"remotes": [{"type": "streamable-http", "url": format!("{b}/other/mcp")}]}}]}),
        )
    }
    fn rpc_error(
        status: StatusCode,
        id: &Value,
        code: i64,
        message: &str,
        data: Value,
    ) -> Response {
        (
            status,
            Json(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}}),
            ),
        )
            .into_response()
    }
    async fn mcp(
        State(s): St,
        uri: Uri,
        headers: HeaderMap,
        Query(q): Query<HashMap<String, String>>,
        Json(body): Json<Value>,
    ) -> Response {
        let header = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let id = body.get("id").cloned();
        let id_or_null = id.clone().unwrap_or(Value::Null);
        // DNS rebinding: a browser's request from another origin
        if s.hole != Hole::OriginNotChecked && header("origin").is_some_and(|o| o != s.base) {
            return (StatusCode::FORBIDDEN, "Invalid Origin header").into_response();
        }
        let version = header("mcp-protocol-version").unwrap_or_default();
        let modern = version == "2026-07-28";
        if s.eras == Eras::ModernOnly && !modern {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                &id_or_null,
                -32022,
                "Unsupported protocol version",
                json!({"supported": ["2026-07-28"], "requested": version}),
            );
        }
        let token = header("authorization")
            .and_then(|v| v.strip_prefix("Bearer ").map(String::from))
            .or_else(|| {
                q.get("access_token")
                    .filter(|_| s.hole == Hole::TokenReadFromQuery)
                    .cloned()
            });
        let valid = {
            let d = s.data.lock().unwrap();
            token
                .and_then(|t| d.access.get(&t).cloned())
                .is_some_and(|(route, grant)| {
                    !d.revoked.contains(&grant)
                        && (route == uri.path() || s.hole == Hole::TokenValidOnEveryRoute)
                })
        };
        if !valid {
            return (
                StatusCode::UNAUTHORIZED,
                [(
                    "www-authenticate",
                    "Bearer resource_metadata=\"/.well-known/oauth-protected-resource/mcp\"",
                )],
            )
                .into_response();
        }
        let method = body["method"].as_str().unwrap_or_default();
        if id.is_none() {
            return StatusCode::ACCEPTED.into_response();
        }
        if modern && s.eras != Eras::SessionOnly {
            // the 2026-07-28 ladder: envelope, headers against the body, removed methods
            if body
                .pointer("/params/_meta/io.modelcontextprotocol~1protocolVersion")
                .and_then(Value::as_str)
                != Some("2026-07-28")
            {
                return rpc_error(
                    StatusCode::BAD_REQUEST,
                    &id_or_null,
                    -32602,
                    "invalid _meta",
                    Value::Null,
                );
            }
            if header("mcp-method").as_deref() != Some(method) {
                return rpc_error(
                    StatusCode::BAD_REQUEST,
                    &id_or_null,
                    -32020,
                    "Mcp-Method mismatch",
                    Value::Null,
                );
            }
            let name = body.pointer("/params/name").and_then(Value::as_str);
            if method == "tools/call"
                && s.hole != Hole::HeaderMismatchAccepted
                && header("mcp-name").as_deref() != name
            {
                return rpc_error(
                    StatusCode::BAD_REQUEST,
                    &id_or_null,
                    -32020,
                    "Mcp-Name mismatch",
                    Value::Null,
                );
            }
            let result = match method {
                "server/discover" => {
                    json!({"resultType": "complete", "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {}}, "ttlMs": 0, "cacheScope": "public",
                    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "fixture", "version": "1"}}})
                }
                "tools/list" => {
                    json!({"resultType": "complete", "ttlMs": 0, "cacheScope": "private",
                    "tools": [{"name": "noop", "inputSchema": {"type": "object"}}]})
                }
                "tools/call" => {
                    return rpc_error(
                        StatusCode::OK,
                        &id_or_null,
                        -32602,
                        "Unknown tool",
                        Value::Null,
                    );
                }
                _ => {
                    return rpc_error(
                        StatusCode::NOT_FOUND,
                        &id_or_null,
                        -32601,
                        "Method not found",
                        Value::Null,
                    );
                }
            };
            return Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
        }
        let result = match method {
            "initialize" => {
                json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "fixture", "version": "1"}})
            }
            "tools/list" => {
                json!({"tools": [{"name": "noop", "inputSchema": {"type": "object"}}]})
            }
            "server/discover" => {
                return rpc_error(
                    StatusCode::OK,
                    &id_or_null,
                    -32601,
                    "Method not found: server/discover",
                    Value::Null,
                );
            }
            _ => json!({}),
        };
        Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
    }
}

/// A "browser" that follows the authorize redirects to the walk's loopback listener.
fn curl_browser() -> Browser {
    Browser::Command(
        ["curl", "-s", "-L", "-o", "/dev/null", "--max-time", "20"]
            .map(String::from)
            .to_vec(),
    )
}

#[tokio::test]
async fn each_negative_check_fails_against_a_server_without_that_protection() {
    use fixture::Hole;
    let cases = [
        (Hole::None, None),
        (
            Hole::DcrAcceptsAnyRedirect,
            Some("DCR refuses a bad redirect URI"),
        ),
        (
            Hole::UnknownClientAuthorized,
            Some("authorize refuses an unknown client"),
        ),
        (
            Hole::UnregisteredRedirectAccepted,
            Some("authorize refuses an unregistered redirect URI"),
        ),
        (
            Hole::NoPkceCheck,
            Some("token refuses a wrong code_verifier"),
        ),
        (
            Hole::TokenValidOnEveryRoute,
            Some("a route's token is refused on another route"),
        ),
        (
            Hole::TokenReadFromQuery,
            Some("a token in the query string is refused"),
        ),
        (Hole::RevocationIgnored, Some("a revoked token is refused")),
        (
            Hole::NoIss,
            Some("the authorization response carries iss (RFC 9207)"),
        ),
        (
            Hole::OriginNotChecked,
            Some("a request from a hostile Origin is refused"),
        ),
        (
            Hole::HeaderMismatchAccepted,
            Some("a header that contradicts the body is refused"),
        ),
    ];
    for (hole, broken) in cases {
        let url = fixture::spawn(hole).await;
        let mut o = options(&url);
        o.check = true;
        o.browser = curl_browser();
        let t = walk::walk(o, &Quiet).await.transcript;
        // the flow itself works …
        assert_eq!(t.outcome, WalkOutcome::Passed, "{hole:?}: {t:#?}");
        assert!(
            step(&t, StepKind::BrowserLeg)
                .notes
                .iter()
                .any(|n| n.contains("opened in a browser"))
        );
        assert_eq!(t.era, Some(Era::Modern), "{hole:?}");
        // … and exactly the missing protection is reported
        assert_eq!(t.checks.len(), 10, "{hole:?}: {:#?}", t.checks);
        for c in &t.checks {
            let expected = if Some(c.name.as_str()) == broken {
                Status::Failed
            } else {
                Status::Passed
            };
            assert_eq!(c.status, expected, "{hole:?}: {c:#?}");
        }
        assert_eq!(
            t.exit_code(),
            if broken.is_some() { 1 } else { 0 },
            "{hole:?}"
        );
    }
}

/// RFC 9207 §2.4 as the walk applies it at step 6: `iss` compared with the issuer as strings
/// (a trailing slash is another issuer), and required when the AS metadata advertises it.
#[tokio::test]
async fn iss_is_compared_exactly_and_required_when_advertised() {
    use fixture::Hole;
    for (hole, label, detail) in [
        (
            Hole::IssWithTrailingSlash,
            "iss (RFC 9207) is the issuer, compared as strings",
            "/",
        ),
        (
            Hole::IssMissingThoughAdvertised,
            "iss (RFC 9207) is present",
            "missing",
        ),
    ] {
        let url = fixture::spawn(hole).await;
        let mut o = options(&url);
        o.browser = curl_browser();
        let t = walk::walk(o, &Quiet).await.transcript;
        assert_eq!(
            t.outcome,
            WalkOutcome::Failed {
                step: StepKind::BrowserLeg,
                number: 6
            },
            "{hole:?}: {t:#?}"
        );
        let leg = step(&t, StepKind::BrowserLeg);
        let c = leg
            .checks
            .iter()
            .find(|c| c.label == label)
            .unwrap_or_else(|| panic!("{hole:?}: {leg:#?}"));
        assert!(!c.ok);
        assert!(c.detail.as_deref().unwrap().ends_with(detail), "{c:#?}");
        assert!(
            leg.explanation.as_deref().unwrap().contains("RFC 9207"),
            "{leg:#?}"
        );
    }
    // the issuer itself passes
    let url = fixture::spawn(Hole::None).await;
    let mut o = options(&url);
    o.browser = curl_browser();
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert!(
        step(&t, StepKind::BrowserLeg)
            .checks
            .iter()
            .any(|c| c.label == "iss (RFC 9207) is the issuer, compared as strings" && c.ok)
    );
}

/// A server that speaks 2026-07-28 only and refuses other revisions before it reads the token
/// (400, -32022): `auto` (the default) and `--protocol 2026-07-28` walk it to the end with
/// server/discover and enveloped requests; `--protocol 2025-11-25` stops at the probe and says
/// to use auto. DCR sends application_type native for the loopback redirect URI (SEP-837).
#[tokio::test]
async fn a_2026_07_28_only_server_is_walked_in_its_era() {
    use fixture::{Eras, Hole};
    let (url, registered) = fixture::spawn_with(Hole::None, Eras::ModernOnly).await;
    for protocol in [Protocol::Auto, Protocol::Modern] {
        let mut o = options(&url);
        o.browser = curl_browser();
        o.protocol = protocol;
        let t = walk::walk(o, &Quiet).await.transcript;
        assert_eq!(t.outcome, WalkOutcome::Passed, "{protocol:?}: {t:#?}");
        assert_eq!(t.era, Some(Era::Modern));
        // the unauthenticated first contact is server/discover, answered with the challenge
        let probe = step(&t, StepKind::Probe);
        assert_eq!(probe.exchanges.len(), 1, "{probe:#?}");
        assert!(
            probe.exchanges[0]
                .request
                .body
                .as_deref()
                .unwrap()
                .contains("\"server/discover\"")
        );
        let mcp = step(&t, StepKind::Mcp);
        assert!(mcp.notes.iter().any(|n| n == "tools: noop"), "{mcp:#?}");
        assert!(
            mcp.notes.iter().any(|n| n == "server: fixture 1"),
            "{mcp:#?}"
        );
        // the refresh step's check of the new token is server/discover too (no ping in 2026)
        let refresh = step(&t, StepKind::Refresh);
        assert_eq!(refresh.status, Status::Passed, "{refresh:#?}");
    }
    assert_eq!(
        registered().unwrap()["application_type"],
        "native",
        "{:?}",
        registered()
    );

    let mut o = options(&url);
    o.browser = curl_browser();
    o.protocol = Protocol::Session;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::Probe,
            number: 1
        },
        "{t:#?}"
    );
    let why = t.steps[0].explanation.as_deref().unwrap();
    assert!(
        why.contains("does not speak 2025-11-25")
            && why.contains("2026-07-28")
            && why.contains("--protocol auto"),
        "{why}"
    );
}

/// A server that speaks 2025-11-25 only (server/discover is an unknown method there): `auto`
/// falls back to initialize and walks on in the session, the header check does not apply; a
/// walk pinned to 2026-07-28 fails at step 8 and says why.
#[tokio::test]
async fn auto_falls_back_to_initialize_on_a_2025_11_25_server() {
    use fixture::{Eras, Hole};
    let (url, _) = fixture::spawn_with(Hole::None, Eras::SessionOnly).await;
    let mut o = options(&url);
    o.browser = curl_browser();
    o.check = true;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(t.era, Some(Era::Session));
    let mcp = step(&t, StepKind::Mcp);
    let methods: Vec<String> = mcp
        .exchanges
        .iter()
        .map(|e| {
            let body: serde_json::Value =
                serde_json::from_str(e.request.body.as_deref().unwrap()).unwrap();
            body["method"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        methods,
        [
            "server/discover",
            "initialize",
            "notifications/initialized",
            "tools/list"
        ]
    );
    assert!(
        mcp.notes
            .iter()
            .any(|n| n.contains("-32601") && n.contains("falls back to initialize")),
        "{mcp:#?}"
    );
    let header = t
        .checks
        .iter()
        .find(|c| c.name == "a header that contradicts the body is refused")
        .unwrap();
    assert_eq!(header.status, Status::Skipped, "{header:#?}");
    assert_eq!(t.exit_code(), 0, "{:#?}", t.checks);

    let mut o = options(&url);
    o.browser = curl_browser();
    o.protocol = Protocol::Modern;
    o.revoke = false;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::Mcp,
            number: 8
        },
        "{t:#?}"
    );
    let why = step(&t, StepKind::Mcp).explanation.clone().unwrap();
    assert!(
        why.contains("does not speak 2026-07-28") && why.contains("--protocol auto"),
        "{why}"
    );
}

// ---------------------------------------------------------------------------------------------
// The binary: --json, --save (0600), --token-file, NO_COLOR
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_saves_and_reuses_tokens() {
    let gw = quickstart().await;
    let base = gw.base.clone();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let f = file.clone();
    let out = tokio::task::spawn_blocking(move || {
        assert_cmd::cargo::cargo_bin_cmd!("mcpgw")
            .env("NO_COLOR", "1")
            .args([
                "oauth",
                "walk",
                "--route",
                "/mcp/mock-v1",
                "--gateway",
                &base,
                "--no-browser",
                "--save",
            ])
            .arg(&f)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1. Probe the MCP endpoint without a token ✓"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Walk passed") && stdout.contains("(MCP 2026-07-28)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("· era: 2026-07-28 (server/discover)"),
        "{stdout}"
    );
    assert!(!stdout.contains("\x1b["), "NO_COLOR is respected");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let at = saved["access_token"].as_str().unwrap().to_string();
    assert!(!stdout.contains(&at), "the token is shortened on screen");

    let base = gw.base.clone();
    let f = file.clone();
    let out = tokio::task::spawn_blocking(move || {
        assert_cmd::cargo::cargo_bin_cmd!("mcpgw")
            .args([
                "oauth",
                "walk",
                "--route",
                "/mcp/mock-v1",
                "--gateway",
                &base,
                "--json",
                "--no-refresh",
                "--protocol",
                "2025-11-25",
                "--token-file",
            ])
            .arg(&f)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["era"], "2025-11-25", "--protocol reaches the walk");
    let t: Transcript = serde_json::from_value(json).unwrap();
    assert_eq!(step(&t, StepKind::Registration).status, Status::Skipped);
    assert_eq!(step(&t, StepKind::Mcp).status, Status::Passed);
    let init = &step(&t, StepKind::Mcp).exchanges[0].request;
    assert!(
        init.headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == &format!("Bearer {}…", &at[..6]))
    );
    assert_eq!(step(&t, StepKind::Revoke).status, Status::Passed);
}

#[test]
fn usage_errors_exit_2() {
    assert_cmd::cargo::cargo_bin_cmd!("mcpgw")
        .args(["oauth", "walk"])
        .assert()
        .code(2);
    assert_cmd::cargo::cargo_bin_cmd!("mcpgw")
        .args(["oauth", "walk", "--url", "ftp://x/mcp"])
        .assert()
        .code(2);
}

// ---------------------------------------------------------------------------------------------
// Third-party servers (the interop harness)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_full_walk_passes_against_the_python_sdk_server_and_its_as() {
    let Some(dir) = interop_dir("tests/walk") else {
        return;
    };
    let (_child, ready) = spawn_ready(
        std::process::Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0", "--oauth"]),
    );
    let url = ready["url"].as_str().unwrap().to_string();
    let mut o = options(&url);
    o.browser = curl_browser();
    // The SDK's /revoke requires a client_secret field even from public clients (its pydantic
    // model declares `client_secret: str | None` without a default); the walk reports that as a
    // failed revoke step (checked below), so the full walk here stops before it.
    o.revoke = false;
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    // its tokens live 3600 s: expires_in ≤ 900 is advisory, so the steps only warn
    let refresh = step(&t, StepKind::Refresh);
    assert_eq!(refresh.status, Status::Warned, "{refresh:#?}");
    assert!(
        refresh
            .checks
            .iter()
            .any(|c| c.label == "refresh_token rotated" && c.ok),
        "the Python AS rotates refresh tokens: {refresh:#?}"
    );
    assert!(
        refresh
            .checks
            .iter()
            .any(|c| c.label == "expires_in ≤ 900" && !c.ok)
    );
    assert!(
        step(&t, StepKind::Mcp)
            .notes
            .iter()
            .any(|n| n.contains("echo"))
    );

    let mut o = options(&url);
    o.browser = curl_browser();
    o.refresh = false;
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::Revoke,
            number: 10
        },
        "{t:#?}"
    );
    let why = step(&t, StepKind::Revoke)
        .explanation
        .clone()
        .unwrap_or_default();
    assert!(why.contains("client_secret"), "{why}");
}

/// The Python SDK 2.3 server (both eras; its AS advertises no RFC 9207 `iss`): `auto` speaks
/// 2026-07-28 to it and the walk completes; its transport refuses a hostile Origin (403) and a
/// contradicting Mcp-Name (400, -32020), so those checks hold, and the iss check reports the
/// AS's missing RFC 9207 support (its DCR also registers the bad redirect URI: that check is
/// not asserted here). `--protocol 2025-11-25` still walks it with initialize. The SDK's AS
/// records the DCR body: application_type native (SEP-837).
#[tokio::test]
async fn the_python_sdk_server_is_walked_in_both_eras() {
    let Some(dir) = interop_dir("tests/walk") else {
        return;
    };
    let (_child, ready) = spawn_ready(
        std::process::Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0", "--oauth"]),
    );
    let url = ready["url"].as_str().unwrap().to_string();
    let mut o = options(&url);
    o.browser = curl_browser();
    o.check = true;
    // the SDK's /revoke wants a client_secret from public clients (see above)
    o.revoke = false;
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(t.era, Some(Era::Modern));
    let mcp = step(&t, StepKind::Mcp);
    assert!(
        mcp.notes
            .iter()
            .any(|n| n == "era: 2026-07-28 (server/discover)"),
        "{mcp:#?}"
    );
    assert!(mcp.notes.iter().any(|n| n.contains("echo")), "{mcp:#?}");
    let list = &mcp.exchanges[1].request;
    assert!(
        list.headers
            .contains(&("mcp-method".into(), "tools/list".into()))
    );
    assert!(
        list.body
            .as_deref()
            .unwrap()
            .contains("io.modelcontextprotocol/protocolVersion")
    );
    let check = |name: &str| {
        t.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name}: {:#?}", t.checks))
    };
    let origin = check("a request from a hostile Origin is refused");
    assert_eq!(origin.status, Status::Passed, "{origin:#?}");
    let header = check("a header that contradicts the body is refused");
    assert_eq!(header.status, Status::Passed, "{header:#?}");
    assert_eq!(header.detail.as_deref(), Some("400 -32020"));
    let iss = check("the authorization response carries iss (RFC 9207)");
    assert_eq!(iss.status, Status::Failed, "{iss:#?}");
    assert!(
        iss.detail
            .as_deref()
            .unwrap()
            .contains("does not advertise")
    );

    let mut o = options(&url);
    o.browser = curl_browser();
    o.protocol = Protocol::Session;
    o.revoke = false;
    o.refresh = false;
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(t.era, Some(Era::Session));
    let mcp = step(&t, StepKind::Mcp);
    assert!(
        mcp.notes
            .iter()
            .any(|n| n == "protocol version: 2025-11-25"),
        "{mcp:#?}"
    );
    assert!(mcp.notes.iter().any(|n| n.contains("echo")), "{mcp:#?}");
    // the last registration is this walk's (--check registers a bad one before)
    let base = url.trim_end_matches("/mcp");
    let stats: serde_json::Value = reqwest::get(format!("{base}/__interop/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["last_register"]["application_type"], "native",
        "{stats:#}"
    );
}

#[tokio::test]
async fn a_full_walk_passes_against_the_typescript_sdk_example_server() {
    let Some(dir) = interop_dir("tests/walk") else {
        return;
    };
    let (_child, ready) = spawn_ready(
        std::process::Command::new("bash")
            .arg(dir.join("upstreams/ts-oauth-upstream.sh"))
            .args(["0", "0"]),
    );
    // the TS example advertises localhost: use that alias (interop README caveat)
    let url = ready["url"].as_str().unwrap().to_string();
    assert!(url.contains("localhost"), "{ready}");
    let mut o = options(&url);
    o.browser = curl_browser();
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert!(matches!(t.outcome, WalkOutcome::Passed), "{t:#?}");
    assert!(
        step(&t, StepKind::Mcp)
            .notes
            .iter()
            .any(|n| n.contains("greet")),
        "{t:#?}"
    );
    // no refresh-token grant at the TS demo AS: the step is skipped, not failed
    assert_eq!(step(&t, StepKind::Refresh).status, Status::Skipped);
}

/// A route whose user-oauth upstream (`mock --oauth`) is not connected yet: the consent page
/// asks for a Connect first. Without --auto-connect the walk stops there and says so; with it,
/// the browser leg goes through the upstream AS and the callback and comes back authorized.
#[tokio::test]
async fn auto_connect_connects_a_pending_upstream_from_the_consent_page() {
    let mock = mcpgw::mock::spawn_with(
        "127.0.0.1:0",
        mcpgw::mock::MockOptions {
            oauth: Some(Default::default()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let exchange = json!({"name": "mcp-token-exchange-up", "policyType": "mcp-token-exchange-inbound",
        "handler": {"export": "McpTokenExchangeInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)",
        "options": {"displayName": "Up", "authMode": "user-oauth"}}});
    write_project(
        dir.path(),
        json!({ "/mcp/up": mcp_route("up-mcp", &mock.url, &["dev-oauth", "mcp-token-exchange-up"], json!({})) }),
        json!([dev_oauth(), exchange]),
    );
    let gw = serve(dir, mock, 0, None).await;
    let url = format!("{}/mcp/up", gw.base);

    let t = walk::walk(options(&url), &Quiet).await.transcript;
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::BrowserLeg,
            number: 6
        },
        "{t:#?}"
    );
    let leg = step(&t, StepKind::BrowserLeg);
    assert!(
        leg.explanation
            .as_deref()
            .is_some_and(|e| e.contains("--auto-connect")),
        "{leg:#?}"
    );

    let mut o = options(&url);
    o.auto_connect = true;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    let leg = step(&t, StepKind::BrowserLeg);
    let urls: Vec<&str> = leg
        .exchanges
        .iter()
        .map(|e| e.request.url.as_str())
        .collect();
    assert!(
        urls.iter()
            .any(|u| u.contains("/__zuplo/auth/connections/up/callback?code=")),
        "{urls:#?}"
    );
    assert!(
        urls.iter()
            .any(|u| u.contains("/__zuplo/oauth/setup?state=")),
        "{urls:#?}"
    );
}

#[tokio::test]
async fn connect_required_is_shown_and_auto_connect_follows_it() {
    let Some(dir) = interop_dir("tests/walk") else {
        return;
    };
    // every JSON-RPC POST answers -32042 until the connect URL was followed (like mcpgw's
    // token-exchange policy)
    let (_child, ready) = spawn_ready(
        std::process::Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0", "--oauth", "--connect-gate", "http"]),
    );
    let url = ready["url"].as_str().unwrap().to_string();
    let mut o = options(&url);
    o.browser = curl_browser();
    o.revoke = false;
    o.browser_timeout = std::time::Duration::from_secs(3);
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    // without --auto-connect (and not a local dev gateway) the walk names the URL and stops
    assert_eq!(
        t.outcome,
        WalkOutcome::Failed {
            step: StepKind::Mcp,
            number: 8
        },
        "{t:#?}"
    );
    let mcp = step(&t, StepKind::Mcp);
    assert!(
        mcp.notes
            .iter()
            .any(|n| n.starts_with("connect URL: http://127.0.0.1:")),
        "{mcp:#?}"
    );
    assert!(mcp.explanation.as_deref().unwrap().contains("-32042"));

    let mut o = options(&url);
    o.browser = curl_browser();
    o.revoke = false;
    o.auto_connect = true;
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    let mcp = step(&t, StepKind::Mcp);
    assert!(
        mcp.notes.iter().any(|n| n.contains("gated_echo")),
        "{mcp:#?}"
    );
    assert!(
        mcp.exchanges
            .iter()
            .any(|e| e.note.as_deref() == Some("approve"))
    );
}

#[tokio::test]
async fn a_pre_registered_client_skips_dcr_and_cimd_needs_the_as_to_accept_it() {
    let gw = quickstart().await;
    let url = format!("{}/mcp/mock-v1", gw.base);
    // a client registered beforehand (here through DCR by hand)
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/__zuplo/oauth/register", gw.base))
        .json(&json!({"client_name": "pre-registered", "redirect_uris": ["http://127.0.0.1:8765/callback"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = r["client_id"].as_str().unwrap().to_string();
    let mut o = options(&url);
    o.client = walk::ClientChoice::Preregistered {
        client_id: client_id.clone(),
        client_secret: None,
        auth_method: None,
    };
    o.show_secrets = true;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    let reg = step(&t, StepKind::Registration);
    assert!(reg.exchanges.is_empty());
    assert!(
        t.requests()
            .iter()
            .all(|r| !r.url.ends_with("/oauth/register"))
    );
    let token = &step(&t, StepKind::Token).exchanges[0].request;
    assert!(
        token
            .body
            .as_deref()
            .unwrap()
            .contains(&format!("client_id={}", client_id.replace(':', "%3A")))
    );

    // mcpgw dev accepts CIMD client ids now (its metadata says so), so the walk passes AS
    // metadata; a document the gateway cannot fetch then stops it at a later step
    let mut o = options(&url);
    o.client =
        walk::ClientChoice::Cimd(url::Url::parse("https://client.example/meta.json").unwrap());
    let t = walk::walk(o, &Quiet).await.transcript;
    match t.outcome {
        WalkOutcome::Failed { number, .. } => assert!(number > 3, "{t:#?}"),
        ref other => panic!("expected a failure after step 3, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_hands_the_authorize_url_to_browser_and_waits_on_its_listener() {
    let url = fixture::spawn(fixture::Hole::None).await;
    let out = tokio::task::spawn_blocking(move || {
        assert_cmd::cargo::cargo_bin_cmd!("mcpgw")
            .env("BROWSER", "curl -s -L -o /dev/null --max-time 20")
            .args(["oauth", "walk", "--url", &url, "--json", "--timeout", "20"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // stdout stays one JSON document; the URL for the user goes to stderr
    let t: Transcript = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        stderr.contains("Opened the authorize URL in your browser"),
        "{stderr}"
    );
    let leg = step(&t, StepKind::BrowserLeg);
    assert!(
        leg.notes
            .iter()
            .any(|n| n == "authorize URL opened in a browser"),
        "{leg:#?}"
    );
    assert!(
        leg.notes
            .iter()
            .any(|n| n.starts_with("waiting on http://127.0.0.1:")),
        "{leg:#?}"
    );
    let reg = &step(&t, StepKind::Registration).exchanges[0].request;
    assert!(
        reg.body
            .as_deref()
            .unwrap()
            .contains("\"redirect_uris\":[\"http://127.0.0.1:")
    );
}

#[tokio::test]
async fn a_confidential_pre_registered_client_walks_the_python_sdk_as_through_revoke() {
    let Some(dir) = interop_dir("tests/walk") else {
        return;
    };
    let (_child, ready) = spawn_ready(
        std::process::Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0", "--oauth"]),
    );
    let url = ready["url"].as_str().unwrap().to_string();
    let issuer = ready["issuer"].as_str().unwrap().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let client: serde_json::Value = reqwest::Client::new()
        .post(format!("{issuer}/register"))
        .json(
            &json!({"client_name": "walk confidential", "redirect_uris": [redirect],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post", "scope": "mcp:tools"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut o = options(&url);
    o.browser = curl_browser();
    o.redirect_uri = Some(url::Url::parse(&redirect).unwrap());
    o.client = walk::ClientChoice::Preregistered {
        client_id: client["client_id"].as_str().unwrap().to_string(),
        client_secret: Some(mcpgw::secret::Secret::new(
            client["client_secret"].as_str().unwrap(),
        )),
        auth_method: Some("client_secret_post".into()),
    };
    o.show_secrets = true;
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(step(&t, StepKind::Revoke).status, Status::Passed);
    // with Basic, the header carries the secret: it is shortened like any other
    let mut o = options(&url);
    o.browser = curl_browser();
    o.revoke = false;
    o.refresh = false;
    o.redirect_uri = Some(url::Url::parse(&redirect).unwrap());
    o.client = walk::ClientChoice::Preregistered {
        client_id: client["client_id"].as_str().unwrap().to_string(),
        client_secret: Some(mcpgw::secret::Secret::new(
            client["client_secret"].as_str().unwrap(),
        )),
        auth_method: Some("client_secret_basic".into()),
    };
    let basic = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    let req = &step(&basic, StepKind::Token).exchanges[0].request;
    let auth = req
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap();
    assert!(
        auth.1.starts_with("Basic ") && auth.1.ends_with('…') && auth.1.len() < 20,
        "{auth:?}"
    );
    let secret = client["client_secret"].as_str().unwrap();
    assert!(!serde_json::to_string(&basic).unwrap().contains(secret));
    let token = step(&t, StepKind::Token).exchanges[0]
        .request
        .body
        .clone()
        .unwrap();
    assert!(
        token.contains(&format!("client_secret={secret}")),
        "{token}"
    );
}

#[tokio::test]
async fn without_any_prm_the_walk_warns_and_finds_the_as_at_the_origin() {
    let Some(dir) = interop_dir("tests/walk") else {
        return;
    };
    let (_child, ready) = spawn_ready(
        std::process::Command::new(dir.join("venv/bin/python"))
            .arg(dir.join("upstreams/py_mcp_server.py"))
            .args(["--port", "0", "--oauth", "--prm-at", "none"]),
    );
    let url = ready["url"].as_str().unwrap().to_string();
    let mut o = options(&url);
    o.browser = curl_browser();
    o.revoke = false;
    let t = tokio::task::spawn(async move { walk::walk(o, &Quiet).await.transcript })
        .await
        .unwrap();
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    let prm = step(&t, StepKind::ProtectedResourceMetadata);
    assert_eq!(prm.status, Status::Warned, "{prm:#?}");
    assert!(prm.explanation.as_deref().unwrap().contains("2025-03-26"));
    assert!(
        prm.exchanges.len() >= 2,
        "every PRM candidate is shown: {prm:#?}"
    );
}

/// Issue #12: a gateway in front of a 2026-07-28-only upstream (`mcpgw upstream mock --oauth
/// --modern-only`): the gateway's first contact, the connect flow and the walk's MCP step all
/// work in that era.
#[tokio::test]
async fn a_token_exchange_route_to_a_2026_07_28_only_upstream_connects_and_serves() {
    let mock = mcpgw::mock::spawn_with(
        "127.0.0.1:0",
        mcpgw::mock::MockOptions {
            oauth: Some(Default::default()),
            modern_only: true,
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let exchange = json!({"name": "mcp-token-exchange-up", "policyType": "mcp-token-exchange-inbound",
        "handler": {"export": "McpTokenExchangeInboundPolicy", "module": "$import(@zuplo/runtime/mcp-gateway)",
        "options": {"displayName": "Up", "authMode": "user-oauth"}}});
    write_project(
        dir.path(),
        json!({ "/mcp/up": mcp_route("up-mcp", &mock.url, &["dev-oauth", "mcp-token-exchange-up"], json!({})) }),
        json!([dev_oauth(), exchange]),
    );
    let gw = serve(dir, mock, 0, None).await;
    let mut o = options(&format!("{}/mcp/up", gw.base));
    o.auto_connect = true;
    let t = walk::walk(o, &Quiet).await.transcript;
    assert_eq!(t.outcome, WalkOutcome::Passed, "{t:#?}");
    assert_eq!(t.era, Some(Era::Modern));
    let mcp = step(&t, StepKind::Mcp);
    assert!(
        mcp.exchanges
            .iter()
            .all(|e| e.response.as_ref().is_some_and(|r| r.status < 400)),
        "{mcp:#?}"
    );
}
