//! The inbound policy chain of a route (SPEC §3.17, D11, D12).
//!
//! Owns: what every MCP route checks before its policies (D28: a foreign `Origin` is refused;
//! D27: a POST body is read once and checked against the 2026-07-28 rules, and that reading is
//! what later steps use), what each policy mcpgw runs does to a request (headers, size limit,
//! rate limit, the request side of the capability filter), in the route's order, and the
//! up-front refusal (501) of a route that uses anything mcpgw cannot run — an unsupported piece
//! is never skipped. Each policy either lets the request continue, maybe changed, or answers it.

use super::custom;
use super::filter::{self, Caller, RequestVerdict, ResponsePlan};
use super::ratelimit::RateLimiter;
use super::state::{AppState, Served};
use crate::config::policies::PolicyConfig;
use crate::config::policies::basic::{HeaderSetting, RateLimitBy};
use crate::config::policies::capability_filter::{AccessControl, CapabilityFilter};
use crate::config::policies::handlers::HandlerConfig;
use crate::custom::protocol::InboundResult;
use crate::custom::{BodyOutcome, CallBodies, CustomError, GatewayCalls, PendingBody};
use crate::mcp::McpRequest;
use crate::web::origin;
use crate::web::problem::{GatewayError, Problem};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests whose body a policy reads are buffered up to this size when no size limit is set.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// A request on its way through the pipeline.
pub struct Inbound {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Body,
    /// Set once a policy needed the whole body.
    pub buffered: Option<Bytes>,
    pub client_ip: Option<IpAddr>,
    /// `request.user` (`{sub, data}`), once an authentication policy set it.
    pub user: Option<serde_json::Value>,
    /// The upstream credential a token-exchange policy chose (§6.7).
    pub upstream: Option<crate::upstream::policy::UpstreamCredential>,
    pub params: Vec<(String, String)>,
    pub request_id: String,
    /// Response-side work of capability filters that saw list requests.
    pub response_filters: Vec<(Arc<CapabilityFilter>, Caller, ResponsePlan)>,
    /// A POST on an MCP route: the gateway's one reading of its body, once the 2026-07-28
    /// rules passed (D27). The capability filter and the access log use it, never a header.
    pub mcp: Option<McpRequest>,
    /// Records of `audit-log-inbound` policies that ran, finished once the response is known.
    pub audits: Vec<crate::policies::audit_log::Pending>,
    /// A tool call's request (`server_handler::InnerRequest`): the JSON-RPC `tools/call`
    /// message, for the route's custom handler (`ZuploMcpSdk.getRawCallToolRequest()`, §15.7).
    pub raw_call_tool_request: Option<serde_json::Value>,
}

impl Inbound {
    /// The problem document of a failure of this request.
    pub(super) fn problem(&self, p: impl Into<Problem>) -> Response {
        p.into().at(&self.path, &self.request_id).into_response()
    }

    /// The whole body, read once (bounded) and kept for the policies and the proxy.
    pub(super) async fn body_bytes(&mut self, limit: usize) -> Result<Bytes, Response> {
        if let Some(b) = &self.buffered {
            return Ok(b.clone());
        }
        let body = std::mem::replace(&mut self.body, Body::empty());
        match axum::body::to_bytes(body, limit).await {
            Ok(b) => {
                self.buffered = Some(b.clone());
                Ok(b)
            }
            Err(_) => Err(self.problem(GatewayError::BodyTooLarge {
                limit: limit as u64,
            })),
        }
    }
}

/// Why a route cannot be served by mcpgw dev, naming the piece (D11), or `None`; custom code
/// counts as not runnable (no worker).
pub fn unsupported(served: &Served, route: usize) -> Option<String> {
    unsupported_for(served, route, false)
}

/// [`unsupported`], where `custom_runs` says whether the custom-code worker can run custom
/// handlers, custom policies and rate-limit functions (§17.4).
pub fn unsupported_for(served: &Served, route: usize, custom_runs: bool) -> Option<String> {
    let project = &served.report.project;
    let model = &served.report.model;
    let r = &project.routes[route];
    match model.handlers.get(route) {
        Some(Some(HandlerConfig::Unsupported { module, .. }))
            if custom_runs && super::custom::is_custom_module(module) => {}
        Some(Some(HandlerConfig::Unsupported { export, module })) => {
            return Some(format!(
                "mcpgw dev cannot run the handler {export} from {module} of route {}",
                r.path.value
            ));
        }
        Some(Some(HandlerConfig::Invalid)) | Some(None) | None => {
            return Some(format!(
                "the handler of route {} is not configured correctly (run mcpgw validate)",
                r.path.value
            ));
        }
        _ => {}
    }
    for name in &r.inbound {
        let Some(i) = project.policy_position(&name.value) else {
            return Some(format!("policy {:?} is not defined", name.value));
        };
        if let Some(why) = inbound_unsupported(served, i, custom_runs) {
            return Some(why);
        }
    }
    unsupported_outbound(served, route, custom_runs)
}

/// Why the inbound policy `i` of policies.json cannot run in mcpgw dev, or `None` (D11).
pub(super) fn inbound_unsupported(served: &Served, i: usize, custom_runs: bool) -> Option<String> {
    let project = &served.report.project;
    let model = &served.report.model;
    let decl = &project.policies[i];
    if decl.handler.is_custom_module() && custom_runs {
        return None;
    }
    if decl.handler.is_custom_module() {
        return Some(format!(
            "mcpgw dev cannot run the custom policy {:?} ({})",
            decl.name.value,
            decl.handler.module()
        ));
    }
    let why = match &model.policies[i] {
            PolicyConfig::TokenExchange(t)
                if t.auth_mode == crate::config::policies::token_exchange::AuthMode::IdJag =>
            {
                Some("the id-jag auth mode is not supported yet by mcpgw dev (D16)".to_string())
            }
            PolicyConfig::CapabilityFilter(c)
                if matches!(c.access, AccessControl::Function { .. }) && !custom_runs =>
            {
                Some(
                    "mcpgw dev cannot run a capability filter in function mode (TypeScript)"
                        .to_string(),
                )
            }
            PolicyConfig::RateLimit(l)
                if matches!(l.by, RateLimitBy::Function { .. }) && !custom_runs =>
            {
                Some("mcpgw dev cannot run rateLimitBy function (TypeScript)".to_string())
            }
            PolicyConfig::Other => Some(format!(
                "mcpgw dev does not implement policy type {}",
                decl.policy_type.value
            )),
            PolicyConfig::Invalid => {
                Some("its options are invalid (run mcpgw validate)".to_string())
            }
            PolicyConfig::SetHeadersOutbound(_)
            | PolicyConfig::RemoveHeadersOutbound(_)
            | PolicyConfig::SecretMasking(_) => Some(
                "it is an outbound policy but listed under policies.inbound; move it to policies.outbound"
                    .to_string(),
            ),
            _ => None,
        };
    why.map(|why| {
        format!(
            "policy {:?} ({}): {why}",
            decl.name.value, decl.policy_type.value
        )
    })
}

/// The outbound half of [`unsupported`] (§16.11, D21): mcpgw runs set-headers-outbound,
/// remove-headers-outbound and secret-masking-outbound; anything else listed under
/// `policies.outbound` (custom modules, other types, an inbound policy) refuses the route
/// before its handler runs, never skipped after it.
fn unsupported_outbound(served: &Served, route: usize, custom_runs: bool) -> Option<String> {
    let project = &served.report.project;
    for name in &project.routes[route].outbound {
        let Some(i) = project.policy_position(&name.value) else {
            return Some(format!("policy {:?} is not defined", name.value));
        };
        let decl = &project.policies[i];
        if decl.handler.is_custom_module() && custom_runs {
            continue;
        }
        let why = if decl.handler.is_custom_module() {
            format!(
                "mcpgw dev cannot run the custom outbound policy {:?} ({})",
                decl.name.value,
                decl.handler.module()
            )
        } else {
            match &served.report.model.policies[i] {
                PolicyConfig::SetHeadersOutbound(_)
                | PolicyConfig::RemoveHeadersOutbound(_)
                | PolicyConfig::SecretMasking(_) => continue,
                PolicyConfig::Invalid => format!(
                    "policy {:?} ({}): its options are invalid (run mcpgw validate)",
                    decl.name.value, decl.policy_type.value
                ),
                PolicyConfig::Other => format!(
                    "mcpgw dev does not implement the outbound policy type {} (policy {:?})",
                    decl.policy_type.value, decl.name.value
                ),
                _ => format!(
                    "policy {:?} ({}) is an inbound policy but listed under policies.outbound",
                    decl.name.value, decl.policy_type.value
                ),
            }
        };
        return Some(why);
    }
    None
}

/// Runs the route's inbound policies in order, after the checks of an MCP route
/// ([`mcp_entry`]). `Some(response)` when one of them answered.
pub async fn run(
    state: &AppState,
    served: &Served,
    route: usize,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    let project = &served.report.project;
    if (served.report.model.is_mcp_route(route) || serves_mcp(served, route))
        && let Some(answer) = mcp_entry(state, served, route, req).await
    {
        return Some(answer);
    }
    if let Some(why) = custom_unsupported(state, served, route).await {
        return Some(req.problem(GatewayError::NotImplemented(why)));
    }
    for name in &project.routes[route].inbound {
        let Some(i) = project.policy_position(&name.value) else {
            continue;
        };
        let answer = run_one(state, served, route, i, req, calls).await;
        if answer.is_some() {
            return answer;
        }
    }
    None
}

/// One inbound policy (index `policy` of policies.json) on the request of `route`: `None` to
/// go on (the request maybe changed), `Some(response)` when it answered. The chain of [`run`]
/// and `context.invokeInboundPolicy` (§17.2) both run policies through here.
pub(super) async fn run_one(
    state: &AppState,
    served: &Served,
    route: usize,
    i: usize,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    let project = &served.report.project;
    if project.policies[i].handler.is_custom_module() {
        return custom_inbound(state, served, route, i, req, calls).await;
    }
    match &served.report.model.policies[i] {
        PolicyConfig::OAuth(_) => {
            let r = &project.routes[route];
            match crate::authz::bearer::check(
                &state.authz_env(served),
                &req.headers,
                req.query.as_deref(),
                &r.path.value,
                r.operation_id(),
            )
            .await
            {
                Ok(user) => {
                    // the gateway's token stops here (no token passthrough)
                    req.headers.remove(header::AUTHORIZATION);
                    req.user = Some(user);
                    None
                }
                Err(problem) => Some(req.problem(problem)),
            }
        }
        PolicyConfig::Jwt(j) => {
            // the token stays in Authorization, as Zuplo's JWT policies leave it (§16.2)
            match super::jwt::check(state, served, route, j, &req.headers, &req.path).await {
                Ok(user) => {
                    if user.is_some() {
                        req.user = user;
                    }
                    None
                }
                Err(problem) => Some(req.problem(problem)),
            }
        }
        PolicyConfig::ApiKey(k) => {
            let now = state.clock.now();
            match crate::policies::api_key::check(&state.store, now, k, &req.headers).await {
                Ok(user) => {
                    if user.is_some() {
                        req.user = user;
                    }
                    None
                }
                Err(problem) => Some(req.problem(problem)),
            }
        }
        PolicyConfig::SetHeaders(s) => {
            s.headers
                .iter()
                .for_each(|h| set_header(&mut req.headers, h));
            None
        }
        PolicyConfig::SetUpstreamApiKey(s) => {
            set_header(&mut req.headers, &s.header);
            None
        }
        PolicyConfig::RemoveHeaders(r) => {
            for h in &r.headers {
                req.headers.remove(h.as_str());
            }
            None
        }
        PolicyConfig::RequestSizeLimit(l) => {
            size_limit(req, l.max_size_in_bytes, l.trust_content_length_header).await
        }
        PolicyConfig::RateLimit(l) if matches!(l.by, RateLimitBy::Function { .. }) => {
            custom_rate_limit(state, served, route, i, l, req, calls).await
        }
        PolicyConfig::RateLimit(l) => rate_limit(served, i, &l.by, l.retry_after_header, req),
        PolicyConfig::CapabilityFilter(c) => {
            capability_filter(state, served, route, i, c, req, calls).await
        }
        PolicyConfig::TokenExchange(te) => token_exchange(state, served, route, te, req).await,
        PolicyConfig::QueryParamToHeader(q) => {
            crate::policies::query_param::apply(q, &mut req.headers, &mut req.query)
                .err()
                .map(|e| {
                    req.problem(Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        e.to_string(),
                    ))
                })
        }
        PolicyConfig::IpRestriction(p) => {
            crate::policies::ip_restriction::check(p, req.client_ip, &req.headers)
                .err()
                .map(|p| req.problem(p))
        }
        PolicyConfig::AuditLog(a) => {
            audit_begin(a, req);
            None
        }
        PolicyConfig::ClientCredentials(c) => {
            client_credentials(state, &project.policies[i].name.value, c, req).await
        }
        _ => None,
    }
}

/// An `mcpServerHandler` route gets the entry checks of an MCP route (D27, D28) without being
/// one in the sense of §2.2 (that needs an MCP OAuth or token-exchange policy).
fn serves_mcp(served: &Served, route: usize) -> bool {
    matches!(
        served.report.model.handlers.get(route),
        Some(Some(HandlerConfig::McpServer))
    )
}

/// What an MCP route checks before anything reads the request: a browser `Origin` that is
/// neither the gateway's nor allowed for the route (`--allow-origin`, the route's `corsPolicy`)
/// is refused with 403 (D28); a POST body is read whole (bounded) and checked against the
/// 2026-07-28 rules, a refusal answered with the revision's status and JSON-RPC error (D27).
/// The reading is kept in [`Inbound::mcp`], the bytes in [`Inbound::buffered`] (the proxy
/// sends them on). GET and DELETE go on as they are.
async fn mcp_entry(
    state: &AppState,
    served: &Served,
    route: usize,
    req: &mut Inbound,
) -> Option<Response> {
    let project = &served.report.project;
    let cors = project.cors_allowed_origins(&project.routes[route]);
    let allowed = state
        .origin
        .allowed_origins
        .iter()
        .chain(&cors)
        .map(String::as_str);
    if let Err(foreign) = origin::check_origin(&state.origin, &req.headers, allowed) {
        return Some(req.problem(GatewayError::OriginNotAllowed(foreign)));
    }
    if req.method != Method::POST {
        return None;
    }
    let body = match req.body_bytes(body_limit(served, route)).await {
        Ok(b) => b,
        Err(resp) => return Some(resp),
    };
    match crate::mcp::check_request(&req.headers, &body) {
        Ok(read) => {
            req.mcp = Some(read);
            None
        }
        Err(rejection) => Some(rejection.into_response()),
    }
}

/// How much of a body is read up front: [`DEFAULT_BODY_LIMIT`], or more when a size-limit
/// policy of the route allows more (that policy still runs in its turn).
pub(super) fn body_limit(served: &Served, route: usize) -> usize {
    let project = &served.report.project;
    project.routes[route]
        .inbound
        .iter()
        .filter_map(|n| project.policy_position(&n.value))
        .filter_map(|i| match &served.report.model.policies[i] {
            PolicyConfig::RequestSizeLimit(l) => usize::try_from(l.max_size_in_bytes).ok(),
            _ => None,
        })
        .fold(DEFAULT_BODY_LIMIT, usize::max)
}

/// One `set-headers-*` entry (also the outbound policy's, `gateway::outbound`).
pub(super) fn set_header(headers: &mut HeaderMap, h: &HeaderSetting) {
    let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(h.name.as_bytes()),
        HeaderValue::from_str(&h.value),
    ) else {
        return;
    };
    if h.overwrite || !headers.contains_key(&name) {
        headers.insert(name, value);
    }
}

async fn size_limit(req: &mut Inbound, max: u64, trust_content_length: bool) -> Option<Response> {
    let declared = req
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Some(req.problem(GatewayError::BodyTooLarge { limit: max }));
    }
    if trust_content_length && declared.is_some() {
        return None;
    }
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    match req.buffered.as_ref() {
        Some(b) if b.len() as u64 > max => {
            Some(req.problem(GatewayError::BodyTooLarge { limit: max }))
        }
        Some(_) => None,
        None => req.body_bytes(limit).await.err(),
    }
}

fn rate_limit(
    served: &Served,
    policy: usize,
    by: &RateLimitBy,
    retry_after: bool,
    req: &Inbound,
) -> Option<Response> {
    let limiter = served.limiters.get(&policy)?;
    let ip = || {
        req.client_ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".to_string())
    };
    let key = match by {
        RateLimitBy::All => "all".to_string(),
        RateLimitBy::Ip => ip(),
        RateLimitBy::User => req
            .user
            .as_ref()
            .and_then(|u| u.get("sub"))
            .and_then(|s| s.as_str())
            .map(|s| format!("user:{s}"))
            .unwrap_or_else(|| format!("ip:{}", ip())),
        RateLimitBy::Function { .. } => return None,
    };
    match limiter.check(&key, Instant::now()) {
        Ok(()) => None,
        Err(limited) => Some(req.problem(GatewayError::RateLimited {
            retry_after_secs: retry_after.then_some(limited.retry_after_secs),
        })),
    }
}

async fn capability_filter(
    state: &AppState,
    served: &Served,
    route: usize,
    policy: usize,
    c: &CapabilityFilter,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    if req.method != Method::POST {
        return None;
    }
    let body = match req.body_bytes(DEFAULT_BODY_LIMIT).await {
        Ok(b) => b,
        Err(resp) => return Some(resp),
    };
    let data = req
        .user
        .as_ref()
        .and_then(|u| u.get("data"))
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let mut caller = Caller::from_user_data(&data, &c.access);
    if matches!(c.access, AccessControl::Function { .. }) {
        match resolve_capabilities(state, served, route, policy, req, calls).await {
            Ok(allowed) => caller.resolved = allowed,
            Err(resp) => return Some(resp),
        }
    }
    let verdict = match &req.mcp {
        Some(read) => filter::inspect_mcp_request(c, read, &body, &caller),
        None => filter::inspect_request(c, &body, &caller),
    };
    match verdict {
        RequestVerdict::Block(bytes) => Some(
            (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response(),
        ),
        RequestVerdict::Forward(plan) => {
            if !plan.is_empty() {
                let shared = served
                    .filters
                    .get(&policy)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(c.clone()));
                req.response_filters.push((shared, caller, plan));
            }
            None
        }
    }
}

/// `mcp-token-exchange-inbound` (§6.6, §6.7): the caller's upstream credential, or
/// connect-required.
async fn token_exchange(
    state: &AppState,
    served: &Served,
    route: usize,
    te: &crate::config::policies::token_exchange::TokenExchange,
    req: &mut Inbound,
) -> Option<Response> {
    use crate::upstream::policy::{self, CredentialOutcome, UpstreamCredential, UpstreamTarget};
    let Some(subject) = req
        .user
        .as_ref()
        .and_then(|u| u.get("sub"))
        .and_then(|s| s.as_str())
        .map(str::to_string)
    else {
        return Some(req.problem(GatewayError::TokenExchangeWithoutUser));
    };
    let r = &served.report.project.routes[route];
    let Some(Some(HandlerConfig::McpProxy(p))) = served.report.model.handlers.get(route) else {
        return Some(req.problem(GatewayError::TokenExchangeWithoutProxy));
    };
    // the body is kept: connect-required answers need its id, and a 401 retry resends it
    let body = if req.method == Method::POST {
        match req.body_bytes(DEFAULT_BODY_LIMIT).await {
            Ok(b) => Some(b),
            Err(resp) => return Some(resp),
        }
    } else {
        None
    };
    let target = Arc::new(UpstreamTarget::new(
        te,
        &subject,
        r.operation_id(),
        p.target.url(),
        crate::web::origin::origin(&state.origin, &req.headers),
        served.report.project.plugin.prefix(),
    ));
    let env = state.upstream_env(served);
    match policy::credential(&env, &target, None, None).await {
        CredentialOutcome::Ready(authorization) => {
            // D26: the retry of the gateway's own connect round trip goes upstream without it
            if let Some(forward) = body
                .as_deref()
                .and_then(|b| policy::own_round_removed(&env, &target, &req.headers, b))
            {
                req.headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(forward.len()));
                req.buffered = Some(Bytes::from(forward));
            }
            req.upstream = Some(UpstreamCredential {
                target,
                authorization,
            });
            None
        }
        CredentialOutcome::Required(kind, connection) => {
            // the answer follows the request's era (D5, D26)
            let call = body
                .as_deref()
                .map(|b| crate::upstream::required::McpCall::of(&req.headers, b))
                .unwrap_or_default();
            Some(
                policy::required_response(
                    &env,
                    &target,
                    kind,
                    connection.as_deref(),
                    &call,
                    &req.path,
                    &req.request_id,
                )
                .await,
            )
        }
        CredentialOutcome::Failed(problem) => Some(req.problem(problem)),
    }
}

/// `audit-log-inbound` (§16.7): notes the request now; `route::answer` finishes the record.
fn audit_begin(a: &crate::config::policies::audit_log::AuditLog, req: &mut Inbound) {
    use crate::policies::audit_log::{Seen, begin};
    let seen = Seen {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        headers: &req.headers,
        client_ip: req.client_ip,
        request_id: &req.request_id,
    };
    if let Some(pending) = begin(a, &seen) {
        req.audits.push(pending);
    }
}

/// `upstream-oauth-client-credentials-inbound` (§16.8): the token's header, set (overwriting).
async fn client_credentials(
    state: &AppState,
    name: &str,
    c: &crate::config::policies::client_credentials::ClientCredentials,
    req: &mut Inbound,
) -> Option<Response> {
    match state.client_credentials.header_value(name, c).await {
        Ok(value) => {
            match HeaderName::from_bytes(c.header_name.as_bytes()) {
                Ok(header) => {
                    req.headers.insert(header, value);
                    None
                }
                // the options were checked at load; this is not reached
                Err(_) => Some(req.problem(GatewayError::Internal("set the token header"))),
            }
        }
        Err(e) => {
            tracing::warn!(policy = name, cause = e.cause(), "{e}");
            Some(req.problem(e.problem()))
        }
    }
}

/// [`unsupported`] as this gateway can run the route: with custom code when the worker can
/// run (D23), else D11's refusal ending with the Node advice; and every route refused while
/// `runtimeInit` registers hooks mcpgw dev does not run yet (D25 c: never skipped).
async fn custom_unsupported(state: &AppState, served: &Served, route: usize) -> Option<String> {
    // D25 c: hooks of runtimeInit run in the worker (gateway::hooks); without a suitable Node
    // nothing runs them, so every route says so rather than skipping them
    let hooks = custom::runtime_hook_names(&served.report);
    if !hooks.is_empty()
        && let Err(CustomError::NoNode(n)) = state.custom.code(&served.report).await
    {
        return Some(format!(
            "mcpgw dev cannot run {} of modules/zuplo.runtime.ts; {}",
            hooks.join(", "),
            n.advice()
        ));
    }
    if !custom::route_needs_worker(&served.report, route) {
        return unsupported(served, route);
    }
    match state.custom.code(&served.report).await {
        Ok(_) => unsupported_for(served, route, true),
        Err(e) => unsupported(served, route).map(|why| match e {
            CustomError::NoNode(n) => format!("{why}; {}", n.advice()),
            other => format!("{why} ({other})"),
        }),
    }
}

/// The request as user code sees it, its body read whole (bounded by the route's limit).
pub(super) async fn wire_of(
    served: &Served,
    route: usize,
    req: &mut Inbound,
) -> Result<crate::custom::protocol::WireRequest, Response> {
    let body = req.body_bytes(body_limit(served, route)).await?;
    Ok(custom::wire_request(custom::RequestParts {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        headers: &req.headers,
        body: &body,
        params: &req.params,
        user: req.user.as_ref(),
    }))
}

/// What a call into the worker from the pipeline needs: the running worker, the request as
/// the worker sees it, and its context; or the answer that says why there is none (`piece`
/// names what needed it).
async fn call_parts(
    state: &AppState,
    served: &Served,
    route: usize,
    req: &mut Inbound,
    piece: &str,
) -> Result<
    (
        Arc<crate::custom::CustomCode>,
        crate::custom::protocol::WireRequest,
        crate::custom::protocol::WireContext,
    ),
    Response,
> {
    let report = &served.report;
    let code = state
        .custom
        .code(report)
        .await
        .map_err(|e| custom::error_response(piece, e, &req.path, &req.request_id))?
        .clone();
    let wire = wire_of(served, route, req).await?;
    let context = custom::wire_context(report, route, &req.request_id, req.client_ip);
    Ok((code, wire, context))
}

/// A custom inbound policy (`custom-code-inbound`, §17.1): the request goes on as the policy
/// returned it, or the policy's response answers.
async fn custom_inbound(
    state: &AppState,
    served: &Served,
    route: usize,
    policy: usize,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    let report = &served.report;
    let name = report.project.policies[policy].name.value.as_str();
    let piece = format!("the custom policy {name:?}");
    let fail = |e: CustomError, req: &Inbound| {
        Some(custom::error_response(
            &piece,
            e,
            &req.path,
            &req.request_id,
        ))
    };
    let code = match state.custom.code(report).await {
        Ok(c) => c.clone(),
        Err(e) => return fail(e, req),
    };
    let (wire, bodies) = lazy_wire(served, route, req);
    let context = custom::wire_context(report, route, &req.request_id, req.client_ip);
    let (module, export) = custom::module_and_export(report, policy);
    let options = custom::policy_options(report, policy);
    let target = crate::custom::Target {
        module: &module,
        export: &export,
    };
    let result = code
        .call_inbound(target, name, options, wire, context, calls, &bodies)
        .await;
    // the body comes back first: unread it goes on as a stream, read as the bytes read
    if let Some(pending) = bodies.request {
        match pending.into_outcome() {
            BodyOutcome::Unread(body) => req.body = body,
            BodyOutcome::Read(bytes) => req.buffered = Some(bytes),
            BodyOutcome::Failed(_) => {
                return Some(req.problem(GatewayError::BodyTooLarge {
                    limit: body_limit(served, route) as u64,
                }));
            }
        }
    }
    match result {
        Ok(InboundResult {
            response: Some(r), ..
        }) => Some(
            custom::response_from_wire(r)
                .unwrap_or_else(|e| custom::error_response(&piece, e, &req.path, &req.request_id)),
        ),
        Ok(InboundResult {
            request: Some(r), ..
        }) => match apply_wire_request(req, r) {
            Ok(()) => None,
            Err(e) => fail(e, req),
        },
        Ok(_) => fail(
            CustomError::Protocol("an inbound result needs a request or a response".into()),
            req,
        ),
        Err(e) => fail(e, req),
    }
}

/// The request as a custom inbound policy gets it: a body nobody read yet stays in `req`'s
/// place, pending (`bodyPending`), until the policy reads it (bounded by the route's limit).
pub(super) fn lazy_wire(
    served: &Served,
    route: usize,
    req: &mut Inbound,
) -> (crate::custom::protocol::WireRequest, CallBodies) {
    let mut wire = custom::wire_request(custom::RequestParts {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        headers: &req.headers,
        body: req.buffered.as_deref().unwrap_or_default(),
        params: &req.params,
        user: req.user.as_ref(),
    });
    let mut bodies = CallBodies::default();
    if req.buffered.is_none() {
        let limit = body_limit(served, route);
        let body = std::mem::replace(&mut req.body, Body::empty());
        wire.body_pending = true;
        bodies.request = Some(PendingBody::new(
            body,
            Box::new(move |b| {
                Box::pin(async move {
                    axum::body::to_bytes(b, limit)
                        .await
                        .map_err(|_| format!("the request body is larger than {limit} bytes"))
                })
            }),
        ));
    }
    (wire, bodies)
}

/// The request a custom inbound policy returned, applied: method, URL (path and query),
/// headers, body and `user`. The route stays the matched one, as on Zuplo. `bodyUnchanged`
/// keeps `req`'s body (a stream nobody read, or the bytes read).
pub(super) fn apply_wire_request(
    req: &mut Inbound,
    w: crate::custom::protocol::WireRequest,
) -> Result<(), CustomError> {
    let method = Method::from_bytes(w.method.as_bytes())
        .map_err(|_| CustomError::Protocol(format!("{:?} is not an HTTP method", w.method)))?;
    let (path, query) = custom::path_and_query(&w.url).map_err(CustomError::Protocol)?;
    let body = if w.body_unchanged {
        req.buffered.clone()
    } else {
        let bytes = crate::custom::protocol::decode_body(w.body_b64.as_deref())
            .map_err(|e| CustomError::Protocol(format!("bodyB64: {e}")))?;
        Some(Bytes::from(bytes))
    };
    let mut headers = custom::header_map(&w.headers);
    // a stream kept as it came keeps its framing headers; whole bytes are counted here
    if let Some(body) = &body {
        headers.remove(header::TRANSFER_ENCODING);
        if !body.is_empty() || headers.contains_key(header::CONTENT_LENGTH) {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
    }
    req.method = method;
    req.path = path;
    req.query = query;
    req.headers = headers;
    if let Some(body) = body {
        req.body = Body::empty();
        req.buffered = Some(body);
    }
    req.user = w.user.filter(|u| !u.is_null());
    Ok(())
}

/// `rateLimitBy: "function"` (§17.1): the function's key counted against its limits (or the
/// policy's); `null` / `undefined` is no limit for this request.
async fn custom_rate_limit(
    state: &AppState,
    served: &Served,
    route: usize,
    policy: usize,
    l: &crate::config::policies::basic::RateLimit,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    let report = &served.report;
    let name = report.project.policies[policy].name.value.as_str();
    let piece = format!("the rateLimitBy function of policy {name:?}");
    let (code, wire, context) = match call_parts(state, served, route, req, &piece).await {
        Ok(parts) => parts,
        Err(resp) => return Some(resp),
    };
    let (module, export) = custom::module_and_export(report, policy);
    let target = crate::custom::Target {
        module: &module,
        export: &export,
    };
    let details = match code
        .call_rate_limit(target, name, wire, context, calls)
        .await
    {
        Ok(None) => return None,
        Ok(Some(d)) => d,
        Err(e) => {
            return Some(custom::error_response(
                &piece,
                e,
                &req.path,
                &req.request_id,
            ));
        }
    };
    let requests = details.requests_allowed.unwrap_or(l.requests_allowed);
    let minutes = details.time_window_minutes.unwrap_or(l.time_window_minutes);
    if requests == 0 || minutes.is_nan() || minutes <= 0.0 {
        return Some(req.problem(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "{piece} returned no requestsAllowed and timeWindowMinutes, and the policy sets none"
            ),
        )));
    }
    let window =
        Duration::try_from_secs_f64((minutes * 60.0).clamp(0.0, 1e10)).unwrap_or(Duration::ZERO);
    let slot = (
        policy,
        requests,
        u64::try_from(window.as_millis()).unwrap_or(u64::MAX),
    );
    let limiter = {
        let mut map = match served.custom_limiters.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(slot)
            .or_insert_with(|| Arc::new(RateLimiter::new(requests, window)))
            .clone()
    };
    match limiter.check(&details.key, Instant::now()) {
        Ok(()) => None,
        Err(limited) => Some(req.problem(GatewayError::RateLimited {
            retry_after_secs: l.retry_after_header.then_some(limited.retry_after_secs),
        })),
    }
}

/// A capability filter's resolver (`accessControl.mode: "function"`, §7.2): the identifiers
/// it allows per type (clamped to the configured lists by the filter itself). A throw or a
/// `null` / `undefined` allows nothing of the configured types; a worker that cannot answer
/// (timeout, crash) answers as any custom code does.
async fn resolve_capabilities(
    state: &AppState,
    served: &Served,
    route: usize,
    policy: usize,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Result<[Vec<String>; 4], Response> {
    let report = &served.report;
    let name = report.project.policies[policy].name.value.as_str();
    let piece = format!("the capability-filter function of policy {name:?}");
    let fail = |e: CustomError, req: &Inbound| {
        custom::error_response(&piece, e, &req.path, &req.request_id)
    };
    let (code, wire, context) = call_parts(state, served, route, req, &piece).await?;
    let (module, export) = custom::module_and_export(report, policy);
    let target = crate::custom::Target {
        module: &module,
        export: &export,
    };
    match code
        .call_capability_filter(target, name, wire, context, calls)
        .await
    {
        Ok(Some(a)) => Ok([a.tools, a.prompts, a.resources, a.resource_templates]),
        Ok(None) => Ok(Default::default()),
        // the stack went to the dev log (CustomCode::call); §7.2: deny every configured type
        Err(CustomError::UserError { .. }) => Ok(Default::default()),
        Err(e) => Err(fail(e, req)),
    }
}
