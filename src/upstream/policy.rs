//! `mcp-token-exchange-inbound` on an MCP route (SPEC §6.6, §6.7, D5, D18, D26): find the
//! caller's upstream connection, refresh it when needed (one refresh in flight per connection),
//! and either hand the proxy an upstream credential or answer connect-required in the request's
//! era ([`super::required`]). Also the proxy's response hooks: one forced refresh and one retry
//! on an upstream 401, and step-up on a 403 `insufficient_scope`.

use super::Env;
use super::Upstreams;
use super::model::{Sealed, scope_covers, scope_union};
use super::oauth_client::{self, UpstreamError};
use super::required::{ConnectRequired, McpCall, RequiredState, Shape};
use super::tickets::{self, BrowserTicket, RequestState};
use super::vault::Purpose;
use crate::config::policies::token_exchange::{AuthMode, TokenExchange};
use crate::store::{
    ConditionalUpsertOutcome, ConnectionKey, ConnectionStatus, ConnectionWrite, NewConnectTicket,
    UpstreamConnection, WriteCondition,
};
use crate::web::encoding::encode_component;
use crate::web::problem::{GatewayError, Problem};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use url::Url;

/// A stored token is not used within this many seconds of its expiry (§6.7).
const EXPIRY_MARGIN_SECONDS: i64 = 60;

/// What the proxy needs to call the upstream for this request, and to retry once.
#[derive(Debug, Clone)]
pub struct UpstreamCredential {
    pub target: Arc<UpstreamTarget>,
    pub authorization: HeaderValue,
}

/// The upstream a request is for, and on whose behalf.
#[derive(Debug)]
pub struct UpstreamTarget {
    pub te: TokenExchange,
    pub key: ConnectionKey,
    pub subject: String,
    pub operation_id: String,
    pub mcp_url: Url,
    pub origin: String,
    pub prefix: String,
}

impl UpstreamTarget {
    /// The upstream of `te` (reached at `mcp_url`) on behalf of `subject`, for the route
    /// `operation_id`; `origin` and `prefix` build the connect URLs.
    pub fn new(
        te: &TokenExchange,
        subject: &str,
        operation_id: &str,
        mcp_url: &Url,
        origin: String,
        prefix: String,
    ) -> Self {
        UpstreamTarget {
            key: super::connection_key(te, subject),
            te: te.clone(),
            subject: subject.to_string(),
            operation_id: operation_id.to_string(),
            mcp_url: mcp_url.clone(),
            origin,
            prefix,
        }
    }
}

/// How getting a credential ended.
pub enum CredentialOutcome {
    Ready(HeaderValue),
    Required(RequiredState, Option<String>),
    Failed(Problem),
}

/// A failure of local state on the credential path: logged with its cause, answered without it.
fn internal(step: &'static str, cause: impl std::fmt::Display) -> Problem {
    tracing::error!(step, error = %cause, "upstream credential failed");
    GatewayError::Internal(step).into()
}

/// The one mapping of an upstream OAuth failure to the client's answer (§6.4, §6.5).
fn problem_for(e: &UpstreamError) -> Problem {
    let status = match e {
        UpstreamError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_GATEWAY,
    };
    Problem::new(status, e.to_string()).code(e.code())
}

fn usable(c: &UpstreamConnection, sealed: &Sealed, now: i64) -> bool {
    c.status == ConnectionStatus::Active
        && sealed.access_token.is_some()
        && c.expires_at.is_none_or(|t| t > now + EXPIRY_MARGIN_SECONDS)
        && scope_covers(&c.scopes, sealed.requested_scope.as_deref())
}

/// When a token expiring at `expires_at` stops being usable (§6.7's margin).
fn usable_until(expires_at: Option<i64>) -> Option<i64> {
    expires_at.map(|t| t - EXPIRY_MARGIN_SECONDS)
}

fn header_of(sealed: &Sealed) -> Option<HeaderValue> {
    let token = sealed.access_token.as_ref()?.secret();
    let kind = match sealed.token_type.as_deref() {
        // RFC 6750 names the scheme "Bearer"; some servers answer "bearer"
        Some(t) if !t.eq_ignore_ascii_case("bearer") && !t.is_empty() => t,
        _ => "Bearer",
    };
    let mut v = HeaderValue::from_str(&format!("{kind} {token}")).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn open(up: &Upstreams, c: &UpstreamConnection) -> Option<Sealed> {
    match up.vault.open_json(Purpose::Connection, &c.key, &c.blob) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(upstream = %c.key.upstream_id, "an upstream connection could not be opened ({e}); it is treated as not connected");
            None
        }
    }
}

fn required_for_missing(target: &UpstreamTarget) -> RequiredState {
    if target.te.auth_mode == AuthMode::SharedOAuth {
        RequiredState::AdminConnectRequired
    } else {
        RequiredState::Authenticating
    }
}

/// The credential for `target`: stored, refreshed, or the reason the user must connect.
/// `force` refreshes even a usable token unless it differs from `stale` (another request
/// refreshed meanwhile); `scope` asks the refresh for that scope (§6.7).
pub async fn credential(
    env: &Env<'_>,
    target: &UpstreamTarget,
    force: Option<&HeaderValue>,
    scope: Option<&str>,
) -> CredentialOutcome {
    let up = &env.upstreams;
    let now = env.clock.now();
    if force.is_none()
        && let Some(h) = up.cached_credential(&target.key, now)
    {
        return CredentialOutcome::Ready(h);
    }
    let read = |key: ConnectionKey| async move {
        env.store
            .run(move |s| s.get_upstream_connection(&key))
            .await
    };
    let conn = match read(target.key.clone()).await {
        Ok(c) => c,
        Err(e) => return CredentialOutcome::Failed(internal("read the upstream connection", e)),
    };
    let Some(conn) = conn else {
        return CredentialOutcome::Required(required_for_missing(target), None);
    };
    let Some(sealed) = open(up, &conn) else {
        return CredentialOutcome::Required(required_for_missing(target), Some(conn.id));
    };
    match conn.status {
        ConnectionStatus::ReconsentRequired => {
            let s = if target.te.auth_mode == AuthMode::SharedOAuth {
                RequiredState::AdminConnectRequired
            } else {
                RequiredState::ReconsentRequired
            };
            return CredentialOutcome::Required(s, Some(conn.id));
        }
        ConnectionStatus::Active => {}
        _ => return CredentialOutcome::Required(required_for_missing(target), Some(conn.id)),
    }
    if force.is_none()
        && usable(&conn, &sealed, now)
        && let Some(h) = header_of(&sealed)
    {
        up.remember_credential(&target.key, &h, now, usable_until(conn.expires_at));
        return CredentialOutcome::Ready(h);
    }

    // refresh, one at a time per connection
    let lock = up.refresh_lock(&target.key);
    let _guard = lock.lock().await;
    let conn = match read(target.key.clone()).await {
        Ok(Some(c)) => c,
        Ok(None) => return CredentialOutcome::Required(required_for_missing(target), None),
        Err(e) => return CredentialOutcome::Failed(internal("read the upstream connection", e)),
    };
    let Some(sealed) = open(up, &conn) else {
        return CredentialOutcome::Required(required_for_missing(target), Some(conn.id));
    };
    if conn.status == ConnectionStatus::Active
        && usable(&conn, &sealed, now)
        && let Some(h) = header_of(&sealed)
        && force.is_none_or(|stale| *stale != h)
    {
        // someone else refreshed while this request waited
        up.remember_credential(&target.key, &h, now, usable_until(conn.expires_at));
        return CredentialOutcome::Ready(h);
    }
    let (Some(rt), Some(setup)) = (&sealed.refresh_token, &sealed.setup) else {
        return mark_reconsent(env, target, &conn, sealed, "no refresh token").await;
    };
    let wanted = scope.map(|s| scope_union(sealed.requested_scope.as_deref(), s));
    match oauth_client::refresh(up, setup, rt, wanted.as_deref()).await {
        Ok(answer) => {
            let mut next = sealed.clone();
            next.access_token = Some(answer.access_token);
            next.token_type = answer.token_type;
            if answer.refresh_token.is_some() {
                next.refresh_token = answer.refresh_token;
            }
            if let Some(w) = wanted {
                next.requested_scope = Some(w);
            }
            let scopes = answer
                .scope
                .or_else(|| next.requested_scope.clone())
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_else(|| conn.scopes.clone());
            let expires_at = answer.expires_in.map(|s| now + s.max(0));
            match save(
                env,
                &target.key,
                &conn,
                &next,
                ConnectionStatus::Active,
                scopes,
                expires_at,
            )
            .await
            {
                Ok(_) => match header_of(&next) {
                    Some(h) => {
                        up.remember_credential(&target.key, &h, now, usable_until(expires_at));
                        CredentialOutcome::Ready(h)
                    }
                    None => CredentialOutcome::Failed(GatewayError::UnsendableUpstreamToken.into()),
                },
                Err(p) => CredentialOutcome::Failed(p),
            }
        }
        Err(e) if e.needs_reconsent() => {
            let mut sealed = sealed;
            if e.is_stale_client() {
                // §6.4: the upstream no longer knows the gateway's client; the next connect
                // registers again
                up.forget_setup(&target.key.upstream_id, &target.origin);
                sealed.setup = None;
            }
            mark_reconsent(env, target, &conn, sealed, &e.to_string()).await
        }
        Err(e) => CredentialOutcome::Failed(problem_for(&e)),
    }
}

async fn save(
    env: &Env<'_>,
    key: &ConnectionKey,
    prev: &UpstreamConnection,
    sealed: &Sealed,
    status: ConnectionStatus,
    scopes: Vec<String>,
    expires_at: Option<i64>,
) -> Result<UpstreamConnection, Problem> {
    let blob = env
        .upstreams
        .vault
        .seal_json(Purpose::Connection, key, sealed)
        .map_err(|e| internal("seal the upstream connection", e))?;
    let write = ConnectionWrite {
        key: key.clone(),
        status,
        blob,
        scopes,
        expires_at,
        connected_by: prev.connected_by.clone(),
    };
    let version = prev.updated_at;
    let now = env.clock.now();
    let written = env
        .store
        .run(move |s| {
            s.conditional_upsert_upstream_connection(
                &write,
                WriteCondition::ExpectUpdatedAt(version),
                now,
            )
        })
        .await;
    // whatever won, the row changed: the next request reads it again
    env.upstreams.forget_credential(key);
    match written {
        Ok(ConditionalUpsertOutcome::Written(c)) => Ok(c),
        // another writer won; its state is as good as ours (§6.5: adopt the peer)
        Ok(ConditionalUpsertOutcome::Conflict { current: Some(c) }) => Ok(c),
        Ok(ConditionalUpsertOutcome::Conflict { current: None }) => {
            Err(GatewayError::ConnectionRemoved.into())
        }
        Err(e) => Err(internal("store the upstream connection", e)),
    }
}

async fn mark_reconsent(
    env: &Env<'_>,
    target: &UpstreamTarget,
    conn: &UpstreamConnection,
    mut sealed: Sealed,
    why: &str,
) -> CredentialOutcome {
    tracing::info!(upstream = %target.key.upstream_id, "upstream connection needs a new consent: {why}");
    sealed.access_token = None;
    sealed.refresh_token = None;
    sealed.token_type = None;
    if let Err(p) = save(
        env,
        &target.key,
        conn,
        &sealed,
        ConnectionStatus::ReconsentRequired,
        conn.scopes.clone(),
        None,
    )
    .await
    {
        return CredentialOutcome::Failed(p);
    }
    let s = if target.te.auth_mode == AuthMode::SharedOAuth {
        RequiredState::AdminConnectRequired
    } else {
        RequiredState::ReconsentRequired
    };
    CredentialOutcome::Required(s, Some(conn.id.clone()))
}

/// The connect URL a user opens: `O+B/auth/connections/<id>/connect?redirect=true&operationId=…&browserTicket=…`.
pub async fn auth_url(env: &Env<'_>, target: &UpstreamTarget) -> Result<String, Problem> {
    let now = env.clock.now();
    let te = &target.te;
    let ticket = NewConnectTicket {
        owner_mode: target.key.owner_mode,
        initiated_by: target.subject.clone(),
        owner_subject: (target.key.owner_mode == crate::store::OwnerMode::User)
            .then(|| target.subject.clone()),
        upstream_id: te.upstream_id.value.clone(),
        auth_profile: target.key.auth_profile.clone(),
        operation_id: target.operation_id.clone(),
        return_to: None,
        ttl_seconds: tickets::TTL_SECONDS,
    };
    let (record, token) = env
        .store
        .run(move |s| s.issue_browser_connect_ticket(&ticket, now))
        .await
        .map_err(|e| internal("issue a connect ticket", e))?;
    let jwt = tickets::sign_ticket(
        &env.upstreams.signing_key,
        &BrowserTicket {
            owner_mode: record.owner_mode.as_str().to_string(),
            initiated_by_subject_id: record.initiated_by,
            owner_subject_id: record.owner_subject,
            upstream_server_id: record.upstream_id,
            auth_profile_id: record.auth_profile,
            operation_id: record.operation_id,
            return_to: None,
            id: token.expose().to_string(),
        },
        now,
    );
    let mut url = format!(
        "{}{}/auth/connections/{}/connect",
        target.origin,
        target.prefix,
        encode_component(&te.upstream_id.value)
    );
    url.push('?');
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect", "true")
            .append_pair("operationId", &target.operation_id)
            .append_pair("browserTicket", &jwt)
            .finish(),
    );
    Ok(url)
}

/// The URL an administrator opens, signed in to the gateway, to connect a shared upstream.
fn admin_connect_url(target: &UpstreamTarget) -> String {
    format!(
        "{}{}/auth/connections/{}/connect?redirect=true&operationId={}",
        target.origin,
        target.prefix,
        encode_component(&target.te.upstream_id.value),
        encode_component(&target.operation_id)
    )
}

/// The `requestState` of a connect-required round trip for `target` and `method` (D26).
fn request_state(target: &UpstreamTarget, method: &str) -> RequestState {
    RequestState {
        subject: target.subject.clone(),
        owner_mode: target.key.owner_mode.as_str().to_string(),
        upstream_server_id: target.key.upstream_id.clone(),
        auth_profile_id: target.key.auth_profile.clone(),
        method: method.to_string(),
    }
}

/// Whether `call` retries a connect-required round trip the gateway itself started for this
/// caller, connection and method (D26). A `requestState` that does not verify (forged, expired,
/// minted for another subject, connection or method, or the upstream's own) is not the
/// gateway's: it is ignored here, never answered with an error.
fn is_own_round(env: &Env<'_>, target: &UpstreamTarget, call: &McpCall) -> bool {
    let (Some(state), Some(method)) = (call.request_state.as_deref(), call.method.as_deref())
    else {
        return false;
    };
    match tickets::verify_request_state(&env.upstreams.signing_key, state, env.clock.now()) {
        Ok(s) => s == request_state(target, method),
        Err(_) => false,
    }
}

/// D26: a retried 2026-07-28 request that answers the gateway's own connect round trip, once
/// the connection is ready, goes upstream without `requestState` and `inputResponses`. They
/// belong to the round trip between the client and the gateway; the upstream never asked for
/// them, and a server that seals its own state (the Python SDK's `MCPServer`) refuses a
/// `requestState` it did not mint with `-32602`. A `requestState` that is not the gateway's
/// (the upstream's own round trip) passes untouched (D14). `None`: nothing to change.
pub fn own_round_removed(
    env: &Env<'_>,
    target: &UpstreamTarget,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Option<Vec<u8>> {
    // most requests carry no round trip at all: no parse for them
    const NEEDLE: &[u8] = b"\"requestState\"";
    if !body.windows(NEEDLE.len()).any(|w| w == NEEDLE) {
        return None;
    }
    let call = McpCall::of(headers, body);
    if call.shape() != Shape::InputRequired || !is_own_round(env, target, &call) {
        return None;
    }
    crate::mcp::input_required::without_retry(body)
}

/// The connect-required answer for `target` in `kind`, in the era of `call` (D5, D26; the
/// shapes are described in [`super::required`]). A 2026-07-28 retry of the gateway's own round
/// trip whose user declined or cancelled the connect ends with the D5 error rather than a new
/// question, so that the client's round-trip loop stops.
pub async fn required_response(
    env: &Env<'_>,
    target: &UpstreamTarget,
    kind: RequiredState,
    connection_id: Option<&str>,
    call: &McpCall,
    path: &str,
    request_id: &str,
) -> Response {
    let admin = kind == RequiredState::AdminConnectRequired;
    let mut required = ConnectRequired {
        state: kind,
        display_name: &target.te.display_name,
        upstream_id: &target.te.upstream_id.value,
        auth_profile: &target.key.auth_profile,
        operation_id: &target.operation_id,
        connection_id,
        auth_url: None,
        shared_reconnect: admin && connection_id.is_some(),
    };
    let mut shape = call.shape();
    if shape == Shape::InputRequired
        && is_own_round(env, target, call)
        && call
            .action(&required.elicitation_id())
            .is_some_and(|a| a != "accept")
    {
        shape = Shape::Error;
    }
    if admin {
        tracing::warn!(
            upstream = %target.te.upstream_id.value,
            "an administrator must connect {}: open {} signed in to the gateway",
            target.te.display_name, admin_connect_url(target)
        );
    }
    let url = match shape {
        Shape::Discovery => None,
        Shape::InputRequired if admin => Some(admin_connect_url(target)),
        _ if admin => None,
        _ => match auth_url(env, target).await {
            Ok(u) => Some(u),
            Err(p) => return p.at(path, request_id).into_response(),
        },
    };
    if !admin {
        required.auth_url = url.as_deref();
    }
    match (
        shape,
        call.id.as_ref(),
        call.method.as_deref(),
        url.as_deref(),
    ) {
        (Shape::Discovery, Some(id), _, _) => required.discovery(id),
        (Shape::InputRequired, Some(id), Some(method), Some(url)) => {
            let state = tickets::sign_request_state(
                &env.upstreams.signing_key,
                &request_state(target, method),
                env.clock.now(),
            );
            required.input_required(id, url, &state)
        }
        _ => required.response(call.id.as_ref()),
    }
}

/// What the proxy does after the upstream answered 401 (§6.7).
pub enum AfterUnauthorized {
    Retry(HeaderValue),
    Answer(Response),
}

/// One forced refresh (with the challenge's scope) and a retry; or connect-required.
pub async fn after_unauthorized(
    env: &Env<'_>,
    cred: &UpstreamCredential,
    challenge_scope: Option<&str>,
    call: &McpCall,
    path: &str,
    request_id: &str,
) -> AfterUnauthorized {
    let t = &cred.target;
    match credential(env, t, Some(&cred.authorization), challenge_scope).await {
        CredentialOutcome::Ready(h) => AfterUnauthorized::Retry(h),
        CredentialOutcome::Required(kind, conn) => AfterUnauthorized::Answer(
            required_response(env, t, kind, conn.as_deref(), call, path, request_id).await,
        ),
        CredentialOutcome::Failed(_) => AfterUnauthorized::Answer(
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(serde_json::json!({"error": "no_upstream_tokens"})),
            )
                .into_response(),
        ),
    }
}

/// How long a step-up is remembered: within it, a challenge naming nothing beyond what the last
/// step-up of the connection already asked for is answered with an error, not another reconsent.
const STEP_UP_WINDOW_SECONDS: i64 = 300;

/// D18: the upstream wants a wider scope. Widen the connection's requested scope to the union of
/// what it had (asked for and granted) and what the challenge names (MCP "Step-Up Authorization
/// Flow"), mark it for reconsent and answer connect-required (`reconsent_required`). Retry limit:
/// when the last step-up of this connection, less than [`STEP_UP_WINDOW_SECONDS`] ago, already
/// asked for every scope the challenge names (the AS did not grant it, or the upstream wants
/// something no scope gives), the answer is a 403 `upstream_insufficient_scope` problem instead.
pub async fn step_up(
    env: &Env<'_>,
    cred: &UpstreamCredential,
    wider: &str,
    call: &McpCall,
    path: &str,
    request_id: &str,
) -> Response {
    let t = &cred.target;
    let now = env.clock.now();
    if let Some(asked) = env
        .upstreams
        .repeated_step_up(&t.key, wider, now - STEP_UP_WINDOW_SECONDS)
    {
        tracing::warn!(upstream = %t.key.upstream_id, scope = wider, asked = %asked, "the upstream asked again for a scope the last step-up already asked for; not asking again");
        return Problem::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} still answers insufficient_scope ({wider}) although the connection was authorized again for {asked:?} moments ago: the upstream's authorization server did not grant it, or the operation needs more than a scope; the gateway does not ask again for {STEP_UP_WINDOW_SECONDS} s",
                t.te.display_name
            ),
        )
        .code("upstream_insufficient_scope")
        .at(path, request_id)
        .into_response();
    }
    let key = t.key.clone();
    let conn = match env
        .store
        .run(move |s| s.get_upstream_connection(&key))
        .await
    {
        Ok(Some(c)) => c,
        _ => {
            return required_response(
                env,
                t,
                required_for_missing(t),
                None,
                call,
                path,
                request_id,
            )
            .await;
        }
    };
    let Some(mut sealed) = open(env.upstreams, &conn) else {
        return required_response(
            env,
            t,
            required_for_missing(t),
            Some(&conn.id),
            call,
            path,
            request_id,
        )
        .await;
    };
    let had = scope_union(sealed.requested_scope.as_deref(), &conn.scopes.join(" "));
    let wanted = scope_union(Some(&had), wider);
    env.upstreams.remember_step_up(&t.key, &wanted, now);
    sealed.requested_scope = Some(wanted);
    tracing::info!(upstream = %t.key.upstream_id, scope = wider, "upstream asked for a wider scope (step-up)");
    if let Err(p) = save(
        env,
        &t.key,
        &conn,
        &sealed,
        ConnectionStatus::ReconsentRequired,
        conn.scopes.clone(),
        conn.expires_at,
    )
    .await
    {
        return p.at(path, request_id).into_response();
    }
    let kind = if t.te.auth_mode == AuthMode::SharedOAuth {
        RequiredState::AdminConnectRequired
    } else {
        RequiredState::ReconsentRequired
    };
    required_response(env, t, kind, Some(&conn.id), call, path, request_id).await
}
