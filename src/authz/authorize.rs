//! The browser leg (SPEC §3.7–§3.10): `authorize` (gateway-wide and per route), `dev-login`,
//! `callback` and the consent page `setup`.
//!
//! Owns: the order of checks (problems before the redirect URI is trusted render an
//! [`ErrorPage`]; later ones redirect to the client with `error`; internal failures are logged
//! and show the gateway-error page), the transaction `state` handed to the browser
//! (`<transaction id>.<single-use token>`, the token's hash swapped by the store at every
//! phase), the session cookie, and `--auto-consent`. The OpenID Connect side of a federated
//! login (IdP URL, code exchange, ID token) lives in `oidc`.

use super::cimd;
use super::oidc::{self, LoginFailure};
use super::pages::{self, Consent};
use super::{
    AuthzRequest, CODE_TTL_SECONDS, RouteByPath, SCOPE, route_by_path, route_for_resource,
    set_session_cookie,
};
use crate::client_metadata::redirect_uri_problem;
use crate::secret::Secret;
use crate::store::{
    AdvancePendingOutcome, Client, DecideSetup, DecideSetupOutcome, InitialPhase,
    PendingAuthorization, Principal, ReadPendingOutcome, SessionOutcome, SetupDecision,
    StartAuthorization, StartAuthorizationOutcome, StoreError,
};
use crate::web::html::{ErrorPage, PageKind};
use crate::web::oauth::{RepeatedParameter, redirect, session_cookie, unique_pairs};
use axum::body::Body;
use axum::http::{StatusCode, header, request::Parts};
use axum::response::Response;
use std::collections::HashMap;

/// Query parameters; a repeated parameter is an error (RFC 6749 §3.1).
fn params(query: Option<&str>) -> Result<HashMap<String, String>, RepeatedParameter> {
    unique_pairs(query.unwrap_or("").as_bytes())
}

fn page(ctx: &AuthzRequest<'_>, p: ErrorPage) -> Response {
    p.render(&ctx.request_id)
}

fn bad(code: &'static str, message: impl Into<String>, fix: impl Into<String>) -> ErrorPage {
    ErrorPage::invalid_request(code, "authorize", message, fix)
}

/// What went wrong inside the gateway during the browser leg: logged, while the browser sees
/// the gateway-error page.
#[derive(Debug, thiserror::Error)]
enum Internal {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// One of the gateway's own endpoint URLs does not parse.
    #[error("bad {0} URL")]
    EndpointUrl(&'static str),
    #[error(transparent)]
    LoginUrl(#[from] oidc::LoginUrlError),
}

fn internal(ctx: &AuthzRequest<'_>, why: impl Into<Internal>) -> Response {
    let why = why.into();
    tracing::error!(event = "oauth_authorize_failed", error = %why, "authorization failed");
    page(
        ctx,
        ErrorPage::new(
            PageKind::InternalError,
            "internal_error",
            "authorize",
            "The gateway could not complete the request.",
            "see the mcpgw dev log",
        ),
    )
}

/// How an authorization request stops early (§3.7): an HTML page while its redirect URI is not
/// trusted, a redirect with `error` to the client once it is, or the gateway-error page.
enum Stop {
    Page(ErrorPage),
    Client {
        redirect_uri: String,
        error: &'static str,
        description: &'static str,
        state: Option<String>,
        /// RFC 9207 `iss`: the issuer of the authorization server the request came to.
        issuer: String,
    },
    Internal(Internal),
}

impl From<ErrorPage> for Stop {
    fn from(p: ErrorPage) -> Self {
        Stop::Page(p)
    }
}

impl From<Internal> for Stop {
    fn from(e: Internal) -> Self {
        Stop::Internal(e)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Internal(e.into())
    }
}

impl From<oidc::LoginUrlError> for Stop {
    fn from(e: oidc::LoginUrlError) -> Self {
        Stop::Internal(e.into())
    }
}

impl Stop {
    fn answer(self, ctx: &AuthzRequest<'_>) -> Response {
        match self {
            Stop::Page(p) => page(ctx, p),
            Stop::Client {
                redirect_uri,
                error,
                description,
                state,
                issuer,
            } => error_redirect(&redirect_uri, &issuer, error, description, state.as_deref()),
            Stop::Internal(why) => internal(ctx, why),
        }
    }
}

/// The one way back to a client's `redirect_uri` (success and error alike): the OAuth
/// parameters appended (no fragment: D7), then RFC 9207 `iss`, the issuer of the authorization
/// server whose endpoint the request came to, exactly as its metadata names it.
fn client_redirect(redirect_uri: &str, issuer: &str, pairs: &[(&str, &str)]) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
                q.append_pair("iss", issuer);
            }
            redirect(u.as_str())
        }
        Err(_) => redirect(redirect_uri),
    }
}

fn error_redirect(
    redirect_uri: &str,
    issuer: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    client_redirect(redirect_uri, issuer, &pairs)
}

/// The issuer of the authorization server an authorization request came to (RFC 8414 and
/// [`super::metadata`]): a route's own (`origin + route path`) at its scoped endpoint, the
/// gateway-wide one (`origin`) at `/oauth/authorize`.
fn issuer_of(ctx: &AuthzRequest<'_>, scoped: Option<&str>) -> String {
    match scoped {
        Some(path) => format!("{}{path}", ctx.origin),
        None => ctx.origin.clone(),
    }
}

/// `id.token` as handed to the browser.
fn browser_state(id: &str, token: &Secret) -> String {
    format!("{id}.{}", token.expose())
}

fn split_state(state: &str) -> Option<(String, Secret)> {
    let (id, token) = state.split_once('.')?;
    (!id.is_empty() && !token.is_empty()).then(|| (id.to_string(), Secret::new(token)))
}

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An authorization request whose parameters passed the checks that need no lookup (§3.7).
struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    state: Option<String>,
    resource: Option<String>,
}

/// `GET {B}/oauth/authorize[/{R}]` (§3.7): the query, the client and its redirect URI, the
/// resource, the browser session, then a new transaction handed to login or consent.
pub async fn authorize(ctx: &AuthzRequest<'_>, parts: &Parts, scoped: Option<String>) -> Response {
    match start_authorization(ctx, parts, scoped.as_deref()).await {
        Ok(resp) => resp,
        Err(stop) => stop.answer(ctx),
    }
}

async fn start_authorization(
    ctx: &AuthzRequest<'_>,
    parts: &Parts,
    scoped: Option<&str>,
) -> Result<Response, Stop> {
    // 1. problems found before the redirect URI is trusted: an HTML page, never a redirect
    let q = parse_query(parts.uri.query())?;
    let now = ctx.env.clock.now();
    let client = known_client(ctx, &q.client_id, now).await?;
    if !client.allows_redirect_uri(&q.redirect_uri) {
        return Err(bad(
            "invalid_redirect_uri",
            "redirect_uri is not registered for this client.",
            "send exactly a redirect URI the client registered (loopback URIs may differ only in port)",
        )
        .into());
    }
    // the unscoped endpoint needs `resource` (rt): without it, an HTML page with the way out
    let Some(resource) = q
        .resource
        .clone()
        .or_else(|| scoped.map(|p| format!("{}{p}", ctx.origin)))
    else {
        return Err(bad(
            "invalid_target",
            "resource is required at the gateway-wide authorize endpoint.",
            "start from the MCP URL: its PRM names the per-route authorization server, or send resource=<the MCP route URL>",
        )
        .into());
    };
    // 2. from here on the redirect URI is trusted: errors go back to the client
    let route = published_route(ctx, &q, scoped, &resource)?;
    let session = browser_session(ctx, &parts.headers, now).await;
    if session.is_none()
        && !ctx.dev_login()
        && let Some(why) = oidc::config_problem(ctx.oauth)
    {
        return Err(ErrorPage::new(
            PageKind::ConfigurationError,
            "configuration_error",
            "authorize",
            format!("Browser login cannot start: {why}."),
            "fix the MCP OAuth policy's browserLogin / oidc options (mcpgw validate)",
        )
        .into());
    }
    let issuer = issuer_of(ctx, scoped);
    let (pending, state_token) = start_transaction(
        ctx,
        q,
        &client.id,
        resource,
        issuer,
        route,
        session.as_ref(),
    )
    .await?;
    let state = browser_state(&pending.id, &state_token);
    match session {
        Some(principal) => {
            Ok(consent_or_auto(ctx, &pending, &principal, &state, &client.name).await)
        }
        None => login_redirect(ctx, &pending.id, &state),
    }
}

/// The query's parameters, checked in the order the answers name them (§3.7).
fn parse_query(query: Option<&str>) -> Result<AuthorizeQuery, ErrorPage> {
    let q = params(query).map_err(|e| {
        bad(
            "invalid_request",
            format!("The authorization request is malformed: {e}."),
            "send each parameter once",
        )
    })?;
    let get = |k: &str| q.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if get("response_type") != Some("code") {
        return Err(bad(
            "invalid_request",
            "response_type must be \"code\".",
            "start the flow with response_type=code",
        ));
    }
    let Some(client_id) = get("client_id") else {
        return Err(bad(
            "invalid_request",
            "client_id is required.",
            "register the client at the registration endpoint first",
        ));
    };
    let Some(redirect_uri) = get("redirect_uri") else {
        return Err(bad(
            "invalid_request",
            "redirect_uri is required.",
            "send the redirect URI the client registered",
        ));
    };
    if let Some(why) = redirect_uri_problem(redirect_uri) {
        return Err(bad(
            "invalid_redirect_uri",
            format!("redirect_uri {why}."),
            "use an https or loopback redirect URI",
        ));
    }
    match get("code_challenge_method") {
        Some("S256") => {}
        Some(other) => {
            return Err(bad(
                "invalid_request",
                format!("code_challenge_method {other:?} is not supported; only S256 is."),
                "use PKCE with S256",
            ));
        }
        None => {
            return Err(bad(
                "invalid_request",
                "PKCE is required: code_challenge_method=S256 is missing.",
                "use PKCE with S256",
            ));
        }
    }
    let Some(code_challenge) = get("code_challenge").filter(|c| is_pkce_value(c)) else {
        return Err(bad(
            "invalid_request",
            "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].",
            "send the S256 challenge of a fresh verifier",
        ));
    };
    if let Some(scope) = get("scope")
        && scope.split_whitespace().any(|s| s != SCOPE)
    {
        return Err(bad(
            "invalid_scope",
            format!("scope {scope:?} is not supported; the only scope is {SCOPE}."),
            "ask for mcp:tools or leave scope out",
        ));
    }
    Ok(AuthorizeQuery {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        code_challenge: code_challenge.to_string(),
        state: get("state").map(str::to_string),
        resource: get("resource").map(str::to_string),
    })
}

/// The client named by `client_id`: registered, or a metadata document (§3.6). An unknown or
/// unusable client is a page, never a redirect.
async fn known_client(ctx: &AuthzRequest<'_>, client_id: &str, now: i64) -> Result<Client, Stop> {
    if cimd::is_metadata_url(client_id) {
        return cimd::resolve(ctx, client_id).await.map_err(|refusal| {
            let fix = format!(
                "the client's metadata document was refused: {}",
                refusal.why
            );
            bad("invalid_client", refusal.description, fix).into()
        });
    }
    let id = client_id.to_string();
    match ctx.env.store.run(move |s| s.read_client(&id, now)).await? {
        Some(c) => Ok(c),
        None => Err(bad(
            "invalid_client",
            "OAuth client is not registered.",
            "register the client again (registrations expire after 90 days)",
        )
        .into()),
    }
}

/// The MCP route the (trusted) request is for: the scoped endpoint's own route, or the one
/// `resource` names.
fn published_route(
    ctx: &AuthzRequest<'_>,
    q: &AuthorizeQuery,
    scoped: Option<&str>,
    resource: &str,
) -> Result<usize, Stop> {
    let to_client = || Stop::Client {
        redirect_uri: q.redirect_uri.clone(),
        error: "invalid_target",
        description: "resource must match a published MCP route.",
        state: q.state.clone(),
        issuer: issuer_of(ctx, scoped),
    };
    if let Some(path) = scoped {
        let canonical = format!("{}{path}", ctx.origin);
        if !matches!(
            route_by_path(ctx.env.report, path),
            RouteByPath::WithOAuth(_)
        ) || resource != canonical
        {
            return Err(to_client());
        }
    }
    route_for_resource(ctx.env.report, &ctx.origin, resource).ok_or_else(to_client)
}

/// The principal of a valid browser session cookie, its lifetime renewed.
async fn browser_session(
    ctx: &AuthzRequest<'_>,
    headers: &axum::http::HeaderMap,
    now: i64,
) -> Option<Principal> {
    let token = session_cookie(headers)?;
    let ttl = ctx.oauth.session_ttl_seconds as i64;
    match ctx
        .env
        .store
        .run(move |s| s.touch_browser_session(&token, ttl, now))
        .await
    {
        Ok(SessionOutcome::Valid(s)) => Some(s.principal),
        _ => None,
    }
}

/// The store's new transaction, awaiting login or (with a session) consent; and the first
/// state token handed to the browser.
async fn start_transaction(
    ctx: &AuthzRequest<'_>,
    q: AuthorizeQuery,
    client_id: &str,
    resource: String,
    issuer: String,
    route: usize,
    session: Option<&Principal>,
) -> Result<(Box<PendingAuthorization>, Secret), Stop> {
    let now = ctx.env.clock.now();
    let request = StartAuthorization {
        id: crate::crypto::new_id(),
        client_id: client_id.to_string(),
        redirect_uri: q.redirect_uri.clone(),
        resource,
        operation_id: ctx.env.report.project.routes[route]
            .operation_id()
            .to_string(),
        scope: SCOPE.to_string(),
        code_challenge: q.code_challenge,
        client_state: q.state.clone(),
        issuer: issuer.clone(),
        initial: match session {
            Some(p) => InitialPhase::AwaitingSetup(p.clone()),
            None => InitialPhase::AwaitingLogin,
        },
        ttl_seconds: ctx.oauth.state_ttl_seconds as i64,
    };
    let outcome = ctx
        .env
        .store
        .run(move |s| s.start_authorization(&request, now))
        .await?;
    match outcome {
        StartAuthorizationOutcome::Started {
            pending,
            state_token,
        } => Ok((pending, state_token)),
        StartAuthorizationOutcome::InvalidClient => Err(bad(
            "invalid_client",
            "OAuth client is not registered.",
            "register the client again",
        )
        .into()),
        StartAuthorizationOutcome::RedirectUriMismatch => Err(bad(
            "invalid_redirect_uri",
            "redirect_uri is not registered for this client.",
            "send a registered redirect URI",
        )
        .into()),
        StartAuthorizationOutcome::AlreadyExists => Err(Stop::Client {
            redirect_uri: q.redirect_uri,
            error: "server_error",
            description: "The authorization could not be started.",
            state: q.state,
            issuer,
        }),
    }
}

/// Without a session the browser goes to log in: dev-login on this gateway, or the IdP.
fn login_redirect(
    ctx: &AuthzRequest<'_>,
    transaction_id: &str,
    state: &str,
) -> Result<Response, Stop> {
    if ctx.dev_login() {
        // dev-login is served by this gateway, whatever port the policy's URL names
        let mut url = url::Url::parse(&ctx.endpoint("/oauth/dev-login"))
            .map_err(|_| Internal::EndpointUrl("dev-login"))?;
        url.query_pairs_mut()
            .append_pair("redirect_uri", &ctx.endpoint("/oauth/callback"))
            .append_pair("state", state);
        return Ok(redirect(url.as_str()));
    }
    let url = oidc::login_url(
        ctx.oauth,
        ctx.env.secret,
        &ctx.endpoint("/oauth/callback"),
        transaction_id,
        state,
    )?;
    Ok(redirect(&url))
}

/// The consent page, or with `--auto-consent` the approval itself.
async fn consent_or_auto(
    ctx: &AuthzRequest<'_>,
    pending: &PendingAuthorization,
    principal: &Principal,
    state: &str,
    client_name: &str,
) -> Response {
    if let Some(page) = setup_mode(ctx, pending, &principal.subject, state, client_name).await {
        return page;
    }
    if ctx.env.dev.auto_consent {
        return decide(ctx, state, &principal.subject, SetupDecision::Approve).await;
    }
    let route = ctx
        .env
        .report
        .project
        .routes
        .iter()
        .find(|r| format!("{}{}", ctx.origin, r.path.value) == pending.resource);
    let cimd_host = cimd_host(&pending.client_id);
    let gateway_host = host_of(&ctx.origin);
    let body = pages::consent(&Consent {
        client_name,
        name_source: name_source(cimd_host.as_deref()),
        redirect_uri: &pending.redirect_uri,
        gateway_host: &gateway_host,
        route: route.map_or(pending.resource.as_str(), |r| r.path.value.as_str()),
        subject: &principal.subject,
        setup_url: &ctx.endpoint("/oauth/setup"),
        state,
    });
    crate::web::html::html(StatusCode::OK, body)
}

/// The consent page in setup mode when the route has upstreams the user must connect first
/// (§3.10); `None` when nothing is pending.
async fn setup_mode(
    ctx: &AuthzRequest<'_>,
    pending: &PendingAuthorization,
    subject: &str,
    state: &str,
    client_name: &str,
) -> Option<Response> {
    let route = super::route_for_resource(ctx.env.report, &ctx.origin, &pending.resource)?;
    let return_to = format!(
        "{}/oauth/setup?{}",
        ctx.prefix,
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("state", state)
            .finish()
    );
    let upstreams = crate::upstream::pending::for_route(
        &ctx.env.upstream,
        route,
        subject,
        &ctx.origin,
        &ctx.prefix,
        &return_to,
    )
    .await;
    if upstreams.is_empty() {
        return None;
    }
    let links: Vec<(String, String)> = upstreams
        .into_iter()
        .map(|u| (u.display_name, u.connect_url))
        .collect();
    let cimd_host = cimd_host(&pending.client_id);
    let gateway_host = host_of(&ctx.origin);
    let body = pages::setup(
        &Consent {
            client_name,
            name_source: name_source(cimd_host.as_deref()),
            redirect_uri: &pending.redirect_uri,
            gateway_host: &gateway_host,
            route: &ctx.env.report.project.routes[route].path.value,
            subject,
            setup_url: &ctx.endpoint("/oauth/setup"),
            state,
        },
        &links,
    );
    Some(crate::web::html::html(StatusCode::OK, body))
}

pub async fn dev_login(ctx: &AuthzRequest<'_>, parts: &Parts) -> Response {
    if !crate::web::oauth::origin_is_loopback_http(&ctx.origin) {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "forbidden",
                "dev_login",
                "Local browser login is only available on loopback HTTP origins.",
                "open the gateway at http://127.0.0.1:PORT",
            )
            .with_status(StatusCode::FORBIDDEN),
        );
    }
    let q = params(parts.uri.query()).unwrap_or_default();
    let Some(state) = q.get("state").filter(|s| !s.is_empty()).cloned() else {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_state_invalid",
                "dev_login",
                "The login request has no state.",
                "start again from the client",
            ),
        );
    };
    let callback = ctx.endpoint("/oauth/callback");
    if let Some(r) = q.get("redirect_uri") {
        let resolved = url::Url::parse(&ctx.origin)
            .and_then(|o| o.join(r))
            .map(|u| u.to_string())
            .unwrap_or_default();
        if resolved != callback {
            return page(
                ctx,
                ErrorPage::invalid_request(
                    "oauth_callback_mismatch",
                    "dev_login",
                    "redirect_uri is not this gateway's callback.",
                    format!("use {callback}"),
                ),
            );
        }
    }
    let principal = Principal {
        subject: ctx.env.dev.user.clone(),
        roles: ctx.env.dev.roles.clone(),
    };
    let ttl = ctx.oauth.session_ttl_seconds as i64;
    let now = ctx.env.clock.now();
    let created = ctx
        .env
        .store
        .run(move |s| s.create_browser_session(&principal, ttl, now))
        .await;
    let token = match created {
        Ok((_, token)) => token,
        Err(e) => return internal(ctx, e),
    };
    let mut url = match url::Url::parse(&callback) {
        Ok(u) => u,
        Err(_) => return internal(ctx, Internal::EndpointUrl("callback")),
    };
    url.query_pairs_mut().append_pair("state", &state);
    let mut resp = redirect(url.as_str());
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_session_cookie(ctx, &token, ttl));
    resp
}

pub async fn callback(ctx: &AuthzRequest<'_>, parts: &Parts) -> Response {
    let q = params(parts.uri.query()).unwrap_or_default();
    if let Some(err) = q.get("error") {
        let desc: String = q
            .get("error_description")
            .map(String::as_str)
            .unwrap_or(err)
            .chars()
            .take(256)
            .collect();
        return page(
            ctx,
            ErrorPage::new(
                PageKind::AccessDenied,
                "provider_access_denied",
                "callback",
                format!("The identity provider answered: {desc}"),
                "sign in again, or check the client's settings at the identity provider",
            ),
        );
    }
    let Some((id, token)) = q.get("state").and_then(|s| split_state(s)) else {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_state_invalid",
                "callback",
                "The login answer has no valid state.",
                "start again from the client",
            ),
        );
    };
    if let Some(code) = q.get("code").filter(|c| !c.is_empty()) {
        return federated_callback(ctx, &q, code, id, token).await;
    }
    let now = ctx.env.clock.now();
    let principal = match session_cookie(&parts.headers) {
        Some(t) => match ctx
            .env
            .store
            .run(move |s| s.read_browser_session(&t, now))
            .await
        {
            Ok(SessionOutcome::Valid(s)) => Some(s.principal),
            _ => None,
        },
        None => None,
    };
    let Some(principal) = principal else {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_callback_mismatch",
                "callback",
                "There is no browser session for this login.",
                "allow cookies for the gateway and start again",
            ),
        );
    };
    finish_login(ctx, id, token, principal).await
}

fn login_failed(message: impl Into<String>, fix: impl Into<String>) -> ErrorPage {
    ErrorPage::new(
        PageKind::ConnectionFailed,
        "browser_login_verification_failed",
        "callback",
        message,
        fix,
    )
}

/// The page of a federated login that failed (§3.9): one per [`LoginFailure`].
fn login_failure_page(failure: LoginFailure) -> ErrorPage {
    match failure {
        LoginFailure::Denied(said) => ErrorPage::new(
            PageKind::AccessDenied,
            "provider_access_denied",
            "callback",
            format!("The identity provider refused the login code: {said}"),
            "check browserLogin.clientId / clientSecret and the redirect URI registered at the identity provider, then sign in again",
        ),
        LoginFailure::NonceMismatch => ErrorPage::invalid_request(
            "oauth_callback_mismatch",
            "callback",
            "The identity provider's ID token belongs to another login (nonce mismatch).",
            "start again from the client in a single browser tab",
        ),
        LoginFailure::Verification(why) => login_failed(
            format!("The identity provider's answer could not be verified: {why}."),
            "check oidc.issuer, oidc.jwksUrl and browserLogin.clientId against the identity provider's discovery document",
        ),
    }
}

/// The IdP's answer with a `code` (§3.9): exchange, verify the ID token, open a browser session
/// for its principal, then continue as every login does.
async fn federated_callback(
    ctx: &AuthzRequest<'_>,
    q: &HashMap<String, String>,
    code: &str,
    id: String,
    token: Secret,
) -> Response {
    if ctx.dev_login() {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_callback_mismatch",
                "callback",
                "This gateway uses dev-login; an identity provider's code is not expected.",
                "start again from the client",
            ),
        );
    }
    if let Some(why) = oidc::config_problem(ctx.oauth) {
        return page(
            ctx,
            login_failed(
                format!("The login cannot be completed: {why}."),
                "fix the MCP OAuth policy's browserLogin / oidc options (mcpgw validate)",
            ),
        );
    }
    // RFC 9207: an IdP that names itself must be the configured one (mix-up defence)
    if let Some(iss) = q.get("iss")
        && iss.trim_end_matches('/') != ctx.oauth.issuer.trim_end_matches('/')
    {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_callback_mismatch",
                "callback",
                format!(
                    "The login answer comes from another identity provider ({}).",
                    iss.chars().take(256).collect::<String>()
                ),
                format!("sign in at {}", ctx.oauth.issuer),
            ),
        );
    }
    let completed = oidc::complete(
        ctx.env.http,
        ctx.oauth,
        ctx.env.secret,
        &ctx.endpoint("/oauth/callback"),
        code,
        &id,
        &ctx.origin,
    )
    .await;
    let principal = match completed {
        Ok(p) => p,
        Err(failure) => {
            tracing::warn!(
                event = "oauth_browser_login_failed",
                transaction = %id,
                reason = ?failure,
                "federated browser login failed"
            );
            return page(ctx, login_failure_page(failure));
        }
    };
    let ttl = ctx.oauth.session_ttl_seconds as i64;
    let now = ctx.env.clock.now();
    let who = principal.clone();
    let session = match ctx
        .env
        .store
        .run(move |s| s.create_browser_session(&who, ttl, now))
        .await
    {
        Ok((_, t)) => t,
        Err(e) => return internal(ctx, e),
    };
    let mut resp = finish_login(ctx, id, token, principal).await;
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_session_cookie(ctx, &session, ttl));
    resp
}

/// Every login's end (dev-login and federated): advance the transaction to consent.
async fn finish_login(
    ctx: &AuthzRequest<'_>,
    id: String,
    token: Secret,
    principal: Principal,
) -> Response {
    let now = ctx.env.clock.now();
    let who = principal.clone();
    let advanced = ctx
        .env
        .store
        .run(move |s| s.advance_pending_authorization(&id, &token, &who, now))
        .await;
    let (pending, next) = match advanced {
        Ok(AdvancePendingOutcome::Advanced {
            pending,
            state_token,
        }) => (pending, state_token),
        Ok(AdvancePendingOutcome::Expired) => {
            return state_page(
                ctx,
                "oauth_state_expired",
                "The authorization took too long and expired.",
            );
        }
        Ok(AdvancePendingOutcome::Missing) => {
            return state_page(ctx, "oauth_state_invalid", "The authorization is unknown.");
        }
        Ok(_) => {
            return state_page(
                ctx,
                "oauth_state_reused",
                "This login answer was already used.",
            );
        }
        Err(e) => return internal(ctx, e),
    };
    let name = client_name(ctx, &pending.client_id, now).await;
    consent_or_auto(
        ctx,
        &pending,
        &principal,
        &browser_state(&pending.id, &next),
        &name,
    )
    .await
}

/// The issuer recorded when the transaction started; a transaction stored before the issuer
/// was recorded came (as every SDK client's does) to its route's endpoint, whose issuer is the
/// resource.
fn pending_issuer(pending: &PendingAuthorization) -> String {
    if pending.issuer.is_empty() {
        pending.resource.clone()
    } else {
        pending.issuer.clone()
    }
}

/// The name the consent page shows for a client: its registered name, else its id.
/// The host of a Client ID Metadata Document client id (an https URL), `None` for a client
/// registered by DCR.
fn cimd_host(client_id: &str) -> Option<String> {
    url::Url::parse(client_id)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .and_then(|u| u.host_str().map(str::to_string))
}

fn name_source(cimd_host: Option<&str>) -> pages::NameSource<'_> {
    match cimd_host {
        Some(host) => pages::NameSource::MetadataDocument { host },
        None => pages::NameSource::SelfAsserted,
    }
}

fn host_of(origin: &str) -> String {
    url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

async fn client_name(ctx: &AuthzRequest<'_>, client_id: &str, now: i64) -> String {
    let id = client_id.to_string();
    match ctx.env.store.run(move |s| s.read_client(&id, now)).await {
        Ok(Some(c)) => c.name,
        _ => client_id.to_string(),
    }
}

fn state_page(ctx: &AuthzRequest<'_>, code: &'static str, message: &str) -> Response {
    page(
        ctx,
        ErrorPage::new(
            PageKind::SessionExpired,
            code,
            "callback",
            message,
            "start the connection again from the client",
        ),
    )
}

pub async fn setup(ctx: &AuthzRequest<'_>, parts: &Parts, body: Body) -> Response {
    let q = if parts.method == axum::http::Method::POST {
        let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024).await else {
            return page(
                ctx,
                ErrorPage::invalid_request(
                    "invalid_request",
                    "setup",
                    "The form is too large.",
                    "submit the consent form as rendered",
                ),
            );
        };
        match params(std::str::from_utf8(&bytes).ok()) {
            Ok(q) => q,
            Err(e) => {
                return page(
                    ctx,
                    ErrorPage::invalid_request(
                        "invalid_request",
                        "setup",
                        e.to_string(),
                        "submit the consent form as rendered",
                    ),
                );
            }
        }
    } else {
        params(parts.uri.query()).unwrap_or_default()
    };
    let Some(state) = q.get("state").cloned() else {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_state_invalid",
                "setup",
                "The consent form has no state.",
                "start again from the client",
            ),
        );
    };
    let decision = match q.get("decision").map(String::as_str).unwrap_or("continue") {
        "cancel" => SetupDecision::Cancel,
        "approve" | "continue" => SetupDecision::Approve,
        other => {
            return page(
                ctx,
                ErrorPage::invalid_request(
                    "invalid_request",
                    "setup",
                    format!("Unknown decision {other:?}."),
                    "use the buttons of the consent page",
                ),
            );
        }
    };
    let now = ctx.env.clock.now();
    let subject = match session_cookie(&parts.headers) {
        Some(t) => match ctx
            .env
            .store
            .run(move |s| s.read_browser_session(&t, now))
            .await
        {
            Ok(SessionOutcome::Valid(s)) => s.principal.subject,
            _ => {
                return page(
                    ctx,
                    ErrorPage::invalid_request(
                        "authentication_required",
                        "setup",
                        "Your browser session has ended.",
                        "start again from the client",
                    )
                    .with_status(StatusCode::UNAUTHORIZED),
                );
            }
        },
        None => {
            return page(
                ctx,
                ErrorPage::invalid_request(
                    "authentication_required",
                    "setup",
                    "There is no browser session.",
                    "allow cookies for the gateway and start again",
                )
                .with_status(StatusCode::UNAUTHORIZED),
            );
        }
    };
    if parts.method != axum::http::Method::POST {
        // approval only by POST with the single-use state (issue #13): a GET, such as the
        // return from an upstream connect, shows the page again for the user to decide
        return show_again(ctx, &state, &subject).await;
    }
    decide(ctx, &state, &subject, decision).await
}

/// The consent page (or its setup mode) of the pending authorization `state` names, for the
/// user who is signed in.
async fn show_again(ctx: &AuthzRequest<'_>, state: &str, subject: &str) -> Response {
    let invalid = |message: &str| {
        page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_state_invalid",
                "setup",
                message,
                "start again from the client",
            ),
        )
    };
    let Some((id, token)) = split_state(state) else {
        return invalid("The consent state is malformed.");
    };
    match pending_of(ctx, id, token, subject).await {
        Ok((pending, principal)) => {
            let name = client_name(ctx, &pending.client_id, ctx.env.clock.now()).await;
            consent_or_auto(ctx, &pending, &principal, state, &name).await
        }
        Err(why) => invalid(why),
    }
}

/// The pending authorization a consent state names, with the user who signed in for it, when
/// that is `subject`; else why not (for the page).
async fn pending_of(
    ctx: &AuthzRequest<'_>,
    id: String,
    token: Secret,
    subject: &str,
) -> Result<(Box<PendingAuthorization>, Principal), &'static str> {
    let now = ctx.env.clock.now();
    let read = ctx
        .env
        .store
        .run(move |s| s.read_pending_authorization(&id, &token, now))
        .await;
    let pending = match read {
        Ok(ReadPendingOutcome::Available(p)) => p,
        Ok(ReadPendingOutcome::Expired) => return Err("The authorization request has expired."),
        Ok(_) => return Err("The consent state is not valid (any more)."),
        Err(e) => {
            tracing::error!(error = %e, "reading a pending authorization failed");
            return Err("The authorization request could not be read.");
        }
    };
    match pending
        .principal
        .clone()
        .filter(|who| who.subject == subject)
    {
        Some(principal) => Ok((pending, principal)),
        None => Err("The consent state belongs to another sign-in."),
    }
}

async fn decide(
    ctx: &AuthzRequest<'_>,
    state: &str,
    subject: &str,
    decision: SetupDecision,
) -> Response {
    let Some((id, token)) = split_state(state) else {
        return page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_state_invalid",
                "setup",
                "The consent state is malformed.",
                "start again from the client",
            ),
        );
    };
    if decision == SetupDecision::Approve {
        // an upstream still to connect keeps the page in setup mode (§3.10); an unusable
        // state is refused by the decision below, with its own answer
        if let Ok((p, _)) = pending_of(ctx, id.clone(), token.clone(), subject).await {
            let name = client_name(ctx, &p.client_id, ctx.env.clock.now()).await;
            if let Some(page) = setup_mode(ctx, &p, subject, state, &name).await {
                return page;
            }
        }
    }
    let request = DecideSetup {
        id,
        state_token: token,
        subject: subject.to_string(),
        decision,
        code_ttl_seconds: CODE_TTL_SECONDS,
    };
    let now = ctx.env.clock.now();
    match ctx
        .env
        .store
        .run(move |s| s.decide_authorization_setup(&request, now))
        .await
    {
        Ok(DecideSetupOutcome::Approved { pending, code }) => {
            let mut pairs = vec![("code", code.expose())];
            if let Some(s) = pending.client_state.as_deref() {
                pairs.push(("state", s));
            }
            client_redirect(&pending.redirect_uri, &pending_issuer(&pending), &pairs)
        }
        Ok(DecideSetupOutcome::Cancelled(pending)) => error_redirect(
            &pending.redirect_uri,
            &pending_issuer(&pending),
            "access_denied",
            "The user cancelled the MCP authorization request.",
            pending.client_state.as_deref(),
        ),
        Ok(DecideSetupOutcome::PrincipalMismatch) => page(
            ctx,
            ErrorPage::invalid_request(
                "oauth_callback_mismatch",
                "setup",
                "This authorization belongs to another user.",
                "sign in as the user who started it",
            ),
        ),
        Ok(DecideSetupOutcome::Expired) => state_page(
            ctx,
            "oauth_state_expired",
            "The authorization took too long and expired.",
        ),
        Ok(DecideSetupOutcome::Missing) => {
            state_page(ctx, "oauth_state_invalid", "The authorization is unknown.")
        }
        Ok(_) => state_page(
            ctx,
            "oauth_state_reused",
            "This consent was already answered.",
        ),
        Err(e) => internal(ctx, e),
    }
}
