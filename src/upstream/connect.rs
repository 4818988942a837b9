//! The browser side of connecting an upstream (SPEC §3.13–§3.15):
//! `GET {B}/.well-known/oauth-client/{id}` (the gateway's client metadata document),
//! `GET {B}/auth/connections/{id}/connect` (ticket or session → discovery, registration, PKCE,
//! a single-use pending state → 302 to the upstream AS) and
//! `GET {B}/auth/connections/{id}/callback` (state checks → code exchange → sealed tokens →
//! back to `returnTo` or a "Connection complete" page).

use super::Env;
use super::model::{PendingConnect, Sealed};
use super::oauth_client::{self, UpstreamError};
use super::tickets::{self, TicketError, UpstreamState};
use super::vault::Purpose;
use crate::config::policies::PolicyConfig;
use crate::config::policies::handlers::HandlerConfig;
use crate::config::policies::token_exchange::{AuthMode, TokenExchange};
use crate::store::{
    ConnectionStatus, ConnectionWrite, ConsumeOutcome, NewUpstreamOAuthState, SessionOutcome,
    StoreError,
};
use crate::validate::Report;
use crate::web::html::{ErrorPage, PageKind};
use crate::web::origin;
use crate::web::problem::GatewayError;
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use url::Url;

/// Serves the request when it is one of these endpoints.
pub async fn handle(env: &Env<'_>, parts: &Parts, request_id: &str) -> Option<Response> {
    let path = parts.uri.path();
    let prefix = env.report.project.plugin.prefix();
    let rest = path.strip_prefix(prefix.as_str())?;
    let (id, action) = if let Some(id) = rest.strip_prefix("/.well-known/oauth-client/") {
        (id, "client")
    } else if let Some(r) = rest.strip_prefix("/auth/connections/") {
        let (id, action) = r.rsplit_once('/')?;
        if action != "connect" && action != "callback" {
            return None;
        }
        (id, action)
    } else {
        return None;
    };
    if parts.method != axum::http::Method::GET {
        return Some(GatewayError::OnlyGet.at(path, request_id).into_response());
    }
    let id = crate::web::encoding::decode_component(id);
    let cx = ConnectRequest {
        env,
        origin: origin::origin(env.origin, &parts.headers),
        prefix,
        request_id: request_id.to_string(),
        path: path.to_string(),
    };
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    Some(match action {
        "client" => client_document(&cx, &id),
        "connect" => connect(&cx, parts, &id, &q).await,
        _ => callback(&cx, &id, &q).await,
    })
}

struct ConnectRequest<'a> {
    env: &'a Env<'a>,
    origin: String,
    prefix: String,
    request_id: String,
    path: String,
}

impl ConnectRequest<'_> {
    fn page(&self, p: ErrorPage) -> Response {
        p.render(&self.request_id)
    }

    fn problem(&self, e: GatewayError) -> Response {
        e.at(&self.path, &self.request_id).into_response()
    }

    /// A failure of local state (store, vault): logged with its cause, answered without it.
    fn internal(&self, step: &'static str, cause: impl std::fmt::Display) -> Response {
        tracing::error!(request_id = %self.request_id, step, error = %cause, "upstream connect failed");
        self.problem(GatewayError::Internal(step))
    }

    /// The answer to a single-use record that could not be used: the page for a used or expired
    /// one (§3.15), or a logged store failure.
    fn not_consumed(&self, n: NotConsumed, stage: &'static str, step: &'static str) -> Response {
        match n {
            NotConsumed::Unusable(u) => self.page(unusable_page(u, stage)),
            NotConsumed::Store(e) => self.internal(step, e),
        }
    }
}

/// Why a single-use record (connect ticket, upstream state) could not be used.
enum NotConsumed {
    Unusable(Unusable),
    Store(StoreError),
}

/// The record a single-use consume returned, or why there is none.
fn consumed<T>(outcome: Result<ConsumeOutcome<T>, StoreError>) -> Result<T, NotConsumed> {
    match outcome {
        Ok(ConsumeOutcome::Consumed(record)) => Ok(record),
        Ok(ConsumeOutcome::AlreadyConsumed) => Err(NotConsumed::Unusable(Unusable::Reused)),
        Ok(ConsumeOutcome::Expired | ConsumeOutcome::Missing) => {
            Err(NotConsumed::Unusable(Unusable::Expired))
        }
        Err(e) => Err(NotConsumed::Store(e)),
    }
}

/// The token-exchange policy whose upstream id is `id`, and its policy name.
fn policy_for<'a>(report: &'a Report, id: &str) -> Option<(&'a TokenExchange, &'a str)> {
    let project = &report.project;
    report
        .model
        .policies
        .iter()
        .enumerate()
        .find_map(|(i, p)| match p {
            PolicyConfig::TokenExchange(te) if te.upstream_id.value == id => {
                Some((&**te, project.policies[i].name.value.as_str()))
            }
            _ => None,
        })
}

/// The upstream MCP URL of the route with `operation_id` that runs policy `name`.
fn route_target(report: &Report, operation_id: &str, name: &str) -> Option<Url> {
    let project = &report.project;
    project.routes.iter().enumerate().find_map(|(i, r)| {
        if r.operation_id() != operation_id || !r.inbound.iter().any(|n| n.value == name) {
            return None;
        }
        match report.model.handlers.get(i) {
            Some(Some(HandlerConfig::McpProxy(p))) => Some(p.target.url().clone()),
            _ => None,
        }
    })
}

fn unknown_upstream(cx: &ConnectRequest<'_>, id: &str) -> Response {
    cx.problem(GatewayError::UnknownUpstream(id.to_string()))
}

fn client_document(cx: &ConnectRequest<'_>, id: &str) -> Response {
    let Some((te, _)) = policy_for(cx.env.report, id) else {
        return unknown_upstream(cx, id);
    };
    let mut doc = oauth_client::client_metadata(te, &cx.origin, &cx.prefix);
    doc["client_id"] = serde_json::json!(oauth_client::cimd_url(&cx.origin, &cx.prefix, id));
    let mut resp = axum::Json(doc).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

fn error_page(
    status: StatusCode,
    code: &'static str,
    stage: &'static str,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> ErrorPage {
    ErrorPage::new(
        PageKind::UpstreamConnectionFailed,
        code,
        stage,
        message,
        fix,
    )
    .with_status(status)
}

/// Why a connect link (browser ticket, §3.14) or a callback's `state` (§3.15) cannot be used:
/// both fail the same three ways.
#[derive(Debug, Clone, Copy)]
enum Unusable {
    Expired,
    Invalid,
    Reused,
}

impl From<TicketError> for Unusable {
    fn from(e: TicketError) -> Self {
        match e {
            TicketError::Expired => Unusable::Expired,
            TicketError::Invalid => Unusable::Invalid,
        }
    }
}

/// The error page for an unusable ticket (`stage` "connect") or callback state.
fn unusable_page(why: Unusable, stage: &'static str) -> ErrorPage {
    let link = stage == "connect";
    let (code, message) = match (why, link) {
        (Unusable::Expired, true) => ("oauth_state_expired", "The connect link expired."),
        (Unusable::Expired, false) => (
            "oauth_state_expired",
            "The connection took too long and expired.",
        ),
        (Unusable::Invalid, true) => ("oauth_state_invalid", "The connect link is not valid."),
        (Unusable::Invalid, false) => ("oauth_state_invalid", "The callback's state is not valid."),
        (Unusable::Reused, true) => ("oauth_state_reused", "This connect link was already used."),
        (Unusable::Reused, false) => ("oauth_state_reused", "This callback was already used."),
    };
    let fix = if link {
        "call the tool again from the client to get a new link"
    } else {
        "start the connection again from the client"
    };
    error_page(StatusCode::BAD_REQUEST, code, stage, message, fix)
}

fn upstream_error_page(e: &UpstreamError, stage: &'static str) -> ErrorPage {
    let fix = match e {
        UpstreamError::RegistrationRequired(_) => {
            "register a client at the upstream and configure clientRegistration mode manual (mcpgw upstream probe URL shows how)"
        }
        UpstreamError::DiscoveryUnavailable(_) => {
            "check the route's upstream URL and protectedResourceMetadataUrl; mcpgw upstream probe URL shows what the upstream advertises"
        }
        UpstreamError::ForeignResource { .. } => {
            "point the route at the URL the upstream's metadata names as its resource (or fix the upstream's protected resource metadata); mcpgw upstream probe URL shows both"
        }
        UpstreamError::ProviderAccessDenied(_) => {
            "the provider refused; check the account's access and try connecting again"
        }
        _ => "try connecting again; the mcpgw dev log has details",
    };
    error_page(StatusCode::BAD_GATEWAY, e.code(), stage, e.to_string(), fix)
}

/// A same-origin relative path without credentials or fragment (§3.14).
fn safe_return_to(r: &str) -> bool {
    r.starts_with('/')
        && !r.starts_with("//")
        && !r.contains('\\')
        && !r.contains('#')
        && !r.chars().any(char::is_control)
}

async fn session_subject(cx: &ConnectRequest<'_>, parts: &Parts) -> Option<String> {
    let token = crate::web::oauth::session_cookie(&parts.headers)?;
    let now = cx.env.clock.now();
    match cx
        .env
        .store
        .run(move |s| s.read_browser_session(&token, now))
        .await
    {
        Ok(SessionOutcome::Valid(s)) => Some(s.principal.subject),
        _ => None,
    }
}

async fn connect(
    cx: &ConnectRequest<'_>,
    parts: &Parts,
    id: &str,
    q: &HashMap<String, String>,
) -> Response {
    const STAGE: &str = "connect";
    let Some(op) = q.get("operationId").filter(|s| !s.is_empty()) else {
        return cx.problem(GatewayError::InvalidConnectRequest(
            "operationId is required.",
        ));
    };
    let Some((te, name)) = policy_for(cx.env.report, id) else {
        return unknown_upstream(cx, id);
    };
    if te.auth_mode == AuthMode::IdJag {
        return cx.problem(GatewayError::InvalidConnectRequest(
            "id-jag upstreams have no browser connect flow.",
        ));
    }
    let Some(mcp_url) = route_target(cx.env.report, op, name) else {
        return cx.problem(GatewayError::NoRouteForUpstream {
            operation_id: op.to_string(),
            policy: name.to_string(),
            upstream: id.to_string(),
        });
    };
    let now = cx.env.clock.now();

    // who is connecting: the browser session, else the single-use ticket
    let (subject, return_to) = if let Some(subject) = session_subject(cx, parts).await {
        (subject, q.get("returnTo").cloned())
    } else if let Some(jwt) = q.get("browserTicket") {
        let t = match tickets::verify_ticket(&cx.env.upstreams.signing_key, jwt, now) {
            Ok(t) => t,
            Err(e) => return cx.page(unusable_page(e.into(), STAGE)),
        };
        let profile = super::auth_profile(id, te.auth_mode);
        if t.upstream_server_id != id || t.auth_profile_id != profile || t.operation_id != *op {
            return cx.page(error_page(
                StatusCode::BAD_REQUEST,
                "oauth_callback_mismatch",
                STAGE,
                "The connect link was issued for another upstream or route.",
                "use the link the client showed for this tool",
            ));
        }
        let token = crate::secret::Secret::new(t.id.clone());
        let used = cx
            .env
            .store
            .run(move |s| s.consume_browser_connect_ticket(&token, now))
            .await;
        if let Err(n) = consumed(used) {
            return cx.not_consumed(n, STAGE, "use the connect ticket");
        }
        let subject = t
            .owner_subject_id
            .clone()
            .unwrap_or(t.initiated_by_subject_id.clone());
        (subject, t.return_to)
    } else {
        return cx.problem(GatewayError::SignInToConnect);
    };
    let return_to = match return_to {
        Some(r) if !safe_return_to(&r) => {
            return cx.problem(GatewayError::InvalidConnectRequest(
                "returnTo must be a same-origin relative path.",
            ));
        }
        r => r,
    };

    let flow = Flow {
        te,
        id,
        operation_id: op,
        mcp_url: &mcp_url,
        origin: cx.origin.clone(),
        subject,
        return_to,
        restarted: false,
        reuse_stored_client: true,
    };
    let url = match begin(cx, flow, STAGE).await {
        Ok(u) => u,
        Err(resp) => return resp,
    };
    if q.get("redirect").map(String::as_str) == Some("true") {
        return crate::web::oauth::redirect(&url);
    }
    let body = super::required::ConnectRequired {
        state: super::required::RequiredState::Authenticating,
        display_name: &te.display_name,
        upstream_id: id,
        auth_profile: &super::auth_profile(id, te.auth_mode),
        operation_id: op,
        connection_id: None,
        auth_url: Some(&url),
        shared_reconnect: false,
    }
    .payload();
    (
        StatusCode::PRECONDITION_REQUIRED,
        axum::Json(serde_json::json!({"connectRequired": body})),
    )
        .into_response()
}

/// §6.4: a code exchange refused with `invalid_client`/`unauthorized_client` drops the client
/// information (the next setup registers again); `invalid_grant` keeps the client. Either way
/// the flow starts over once, straight from the callback; a second failure is shown.
async fn restart_once(
    cx: &ConnectRequest<'_>,
    id: &str,
    st: &crate::store::UpstreamOAuthState,
    pending: PendingConnect,
    e: UpstreamError,
    stage: &'static str,
) -> Response {
    let stale_client = e.is_stale_client();
    if stale_client {
        cx.env
            .upstreams
            .forget_setup(id, st.return_origin.as_deref().unwrap_or(&cx.origin));
    }
    let error = e.oauth_error().unwrap_or_default().to_string();
    if pending.restarted || !(stale_client || error == "invalid_grant") {
        return cx.page(upstream_error_page(&e, stage));
    }
    let Some((te, name)) = policy_for(cx.env.report, id) else {
        return unknown_upstream(cx, id);
    };
    let Some(mcp_url) = route_target(cx.env.report, &st.operation_id, name) else {
        return cx.page(upstream_error_page(&e, stage));
    };
    tracing::info!(
        upstream = id,
        "the upstream refused the code exchange ({error}); starting the connect flow over once"
    );
    let flow = Flow {
        te,
        id,
        operation_id: &st.operation_id,
        mcp_url: &mcp_url,
        origin: st
            .return_origin
            .clone()
            .unwrap_or_else(|| cx.origin.clone()),
        subject: pending.subject,
        return_to: st.return_to.clone(),
        restarted: true,
        reuse_stored_client: !stale_client,
    };
    match begin(cx, flow, stage).await {
        Ok(url) => crate::web::oauth::redirect(&url),
        Err(resp) => resp,
    }
}

/// One connect flow about to start (or restart, §6.4).
struct Flow<'a> {
    te: &'a TokenExchange,
    id: &'a str,
    operation_id: &'a str,
    mcp_url: &'a Url,
    /// The gateway origin the browser started on: discovery and registration are cached per
    /// origin, and the flow returns there (the callback itself may arrive on `localhost`).
    origin: String,
    subject: String,
    return_to: Option<String>,
    /// This flow is already the one restart §6.4 allows.
    restarted: bool,
    /// The client an earlier connection registered may be used (not after `invalid_client`).
    reuse_stored_client: bool,
}

/// Discovery and registration (cached per upstream), PKCE, the sealed single-use pending state:
/// the upstream authorize URL to send the browser to.
async fn begin(
    cx: &ConnectRequest<'_>,
    flow: Flow<'_>,
    stage: &'static str,
) -> Result<String, Response> {
    let up = &cx.env.upstreams;
    let te = flow.te;
    let now = cx.env.clock.now();
    let key = super::connection_key(te, &flow.subject);
    // what an earlier connection holds: the scope a step-up (D18) widened, and the client it
    // registered (reused so that a reconnect after a restart does not register again)
    let lookup = key.clone();
    let earlier: Option<Sealed> = match cx
        .env
        .store
        .run(move |s| s.get_upstream_connection(&lookup))
        .await
    {
        Ok(Some(c)) => up
            .vault
            .open_json::<Sealed>(Purpose::Connection, &c.key, &c.blob)
            .ok(),
        _ => None,
    };
    let stored = earlier
        .as_ref()
        .and_then(|s| s.setup.as_ref())
        .filter(|_| flow.reuse_stored_client);
    let setup =
        match oauth_client::setup(up, te, flow.mcp_url, &flow.origin, &cx.prefix, stored).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(upstream = flow.id, "connect failed: {e}");
                return Err(cx.page(upstream_error_page(&e, stage)));
            }
        };
    let widened = earlier.and_then(|s| s.requested_scope);
    let scope = oauth_client::requested_scope(te, &setup, widened.as_deref());
    let pending = PendingConnect {
        setup: (*setup).clone(),
        code_verifier: crate::crypto::new_pkce_verifier(),
        scope: scope.clone(),
        subject: flow.subject,
        restarted: flow.restarted,
    };
    let blob = match up.vault.seal_json(Purpose::ConnectState, &key, &pending) {
        Ok(b) => b,
        Err(e) => return Err(cx.internal("seal the connect state", e)),
    };
    let record = NewUpstreamOAuthState {
        key,
        operation_id: flow.operation_id.to_string(),
        return_to: flow.return_to,
        return_origin: Some(flow.origin),
        blob,
        ttl_seconds: tickets::TTL_SECONDS,
    };
    let token = match cx
        .env
        .store
        .run(move |s| s.save_upstream_oauth_state(&record, now))
        .await
    {
        Ok(t) => t,
        Err(e) => return Err(cx.internal("store the connect state", e)),
    };
    let state_jwt = tickets::sign_state(
        &up.signing_key,
        &UpstreamState {
            upstream_server_id: flow.id.to_string(),
            operation_id: flow.operation_id.to_string(),
            id: token.expose().to_string(),
        },
        now,
    );
    oauth_client::authorize_url(
        te,
        &setup,
        scope.as_deref(),
        &state_jwt,
        &pending.code_verifier,
    )
    .map_err(|e| cx.page(upstream_error_page(&e, stage)))
}

/// `GET …/callback`: the authorization response (success or error) is trusted only once its
/// `state` opens the pending connect and its `iss` passes RFC 9207 (§2.4: an error response too,
/// whose `error` is not shown otherwise); then the code exchange.
async fn callback(cx: &ConnectRequest<'_>, id: &str, q: &HashMap<String, String>) -> Response {
    const STAGE: &str = "upstream_callback";
    let error = q.get("error");
    let code = q.get("code");
    let Some(state_jwt) = q.get("state").filter(|_| error.is_some() || code.is_some()) else {
        return cx.page(error_page(
            StatusCode::BAD_REQUEST,
            "oauth_state_invalid",
            STAGE,
            "The callback has no code or state.",
            "start the connection again from the client",
        ));
    };
    let now = cx.env.clock.now();
    let up = &cx.env.upstreams;
    let claims = match tickets::verify_state(&up.signing_key, state_jwt, now) {
        Ok(c) => c,
        Err(e) => return cx.page(unusable_page(e.into(), STAGE)),
    };
    let mismatch = |why: &str| {
        cx.page(error_page(
            StatusCode::BAD_REQUEST,
            "oauth_callback_mismatch",
            STAGE,
            why.to_string(),
            "start the connection again from the client",
        ))
    };
    if claims.upstream_server_id != id {
        return mismatch("The callback belongs to another upstream.");
    }
    let token = crate::secret::Secret::new(claims.id.clone());
    let used = cx
        .env
        .store
        .run(move |s| s.consume_upstream_oauth_state(&token, now))
        .await;
    let st = match consumed(used) {
        Ok(st) => st,
        Err(n) => return cx.not_consumed(n, STAGE, "use the connect state"),
    };
    if st.key.upstream_id != id || st.operation_id != claims.operation_id {
        return mismatch("The stored connect state does not match the callback.");
    }
    let pending: PendingConnect = match up.vault.open_json(Purpose::ConnectState, &st.key, &st.blob)
    {
        Ok(p) => p,
        Err(_) => return mismatch("The stored connect state does not open for this connection."),
    };
    let endpoints = &pending.setup.endpoints;
    if let Err(refused) = crate::oauth::discovery::check_response_iss(
        &endpoints.issuer,
        endpoints.iss_parameter_supported,
        q.get("iss").map(String::as_str),
    ) {
        tracing::warn!(
            upstream = id,
            "upstream authorization response refused: {refused}"
        );
        return cx.page(error_page(
            StatusCode::BAD_REQUEST,
            "oauth_callback_mismatch",
            STAGE,
            format!("The authorization response is not from the upstream's authorization server: {refused}."),
            "start the connection again from the client; if it persists, the upstream authorization server (or something between it and the browser) answers with another issuer",
        ));
    }
    if let Some(err) = error {
        let said = q
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return cx.page(error_page(
            StatusCode::BAD_REQUEST,
            "provider_access_denied",
            STAGE,
            format!("The upstream authorization server answered {err}{said}."),
            "try connecting again, and approve the request at the provider",
        ));
    }
    let Some(code) = code else {
        return mismatch("The callback has no code.");
    };
    let answer =
        match oauth_client::exchange_code(up, &pending.setup, code, &pending.code_verifier).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(upstream = id, "upstream code exchange failed: {e}");
                return restart_once(cx, id, &st, pending, e, STAGE).await;
            }
        };
    let scopes: Vec<String> = answer
        .scope
        .clone()
        .or_else(|| pending.scope.clone())
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let sealed = Sealed {
        setup: Some(pending.setup.clone()),
        access_token: Some(answer.access_token),
        refresh_token: answer.refresh_token,
        token_type: answer.token_type,
        requested_scope: pending.scope.clone(),
    };
    let blob = match up.vault.seal_json(Purpose::Connection, &st.key, &sealed) {
        Ok(b) => b,
        Err(e) => return cx.internal("seal the upstream connection", e),
    };
    let shared = st.key.owner_mode == crate::store::OwnerMode::Shared;
    let write = ConnectionWrite {
        key: st.key.clone(),
        status: ConnectionStatus::Active,
        blob,
        scopes,
        expires_at: answer.expires_in.map(|s| now + s.max(0)),
        connected_by: shared.then(|| pending.subject.clone()),
    };
    let written = cx
        .env
        .store
        .run(move |s| s.upsert_upstream_connection(&write, now))
        .await;
    up.forget_credential(&st.key);
    if let Err(e) = written {
        return cx.internal("store the upstream connection", e);
    }
    tracing::info!(upstream = id, "upstream connected");
    if let Some(r) = st.return_to.as_deref().filter(|r| safe_return_to(r)) {
        let origin = st.return_origin.as_deref().unwrap_or(&cx.origin);
        return crate::web::oauth::redirect(&format!("{origin}{r}"));
    }
    let name = policy_for(cx.env.report, id)
        .map(|(te, _)| te.display_name.clone())
        .unwrap_or_else(|| id.to_string());
    crate::web::html::html(
        StatusCode::OK,
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Connection complete</title></head><body><main><h1>Connection complete</h1><p>{} is connected. You can close this window and return to your MCP client.</p></main></body></html>",
            crate::web::html::escape(&name)
        ),
    )
}
