//! Running one route of the served project: its inbound pipeline, then its handler, then its
//! outbound policies (SPEC §7.1, §15, §16.11).
//!
//! Owns: which handler answers (the proxy for `McpProxyHandler`, `urlForwardHandler` and
//! `urlRewriteHandler`; the route's MCP server for `mcpServerHandler`), and the in-process
//! [`RouteInvoker`] through which an MCP server's tools, prompts and resources call their
//! target routes (§15.6, D20): a fresh request (headers from the call, no `request.user`)
//! through the target route's whole pipeline and handler, nested at most [`MAX_NESTING`] deep,
//! its answer read whole up to [`INNER_BODY_LIMIT`].

use super::custom;
use super::filter;
use super::outbound;
use super::pipeline::{self, DEFAULT_BODY_LIMIT, Inbound};
use super::proxy;
use super::router::Match;
use super::state::{AppState, Served};
use crate::config::policies::handlers::HandlerConfig;
use crate::custom::protocol::{InboundResult, WireRequest, WireResponse, decode_body, encode_body};
use crate::custom::{GatewayCalls, Target};
use crate::mcp::era::Era;
use crate::server_handler::{self, InnerRequest, InnerResponse, InvokeError, RouteInvoker};
use crate::web::problem::GatewayError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use std::net::IpAddr;

/// How many tool calls may nest (a tool whose route is itself an MCP server route): deeper
/// calls end as an error result, so a route that reaches itself cannot loop forever.
pub const MAX_NESTING: usize = 4;

/// The largest answer of a target route that a tool, prompt or resource reads.
pub const INNER_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The route's pipeline, then its handler. `depth` counts the in-process invocations that led
/// here (0 for a request from the network).
pub async fn answer(
    state: &AppState,
    served: &Served,
    route: usize,
    mut inbound: Inbound,
    depth: usize,
) -> Response {
    let calls = CustomCalls {
        state,
        served,
        route: Some(route),
        depth,
        client_ip: inbound.client_ip,
        request_id: inbound.request_id.clone(),
    };
    // runtimeInit's request hooks come first (after matching, before the route's policies),
    // so the MCP entry checks of the pipeline read the request they return
    let answered =
        match super::hooks::request_stage(state, served, route, &mut inbound, &calls).await {
            Some(answer) => Some(answer),
            None => pipeline::run(state, served, route, &mut inbound, &calls).await,
        };
    let mcp = inbound.mcp.clone();
    // audit-log-inbound records take `request.user` as the pipeline left it (the handlers do
    // not change it) and the final status
    let audits = std::mem::take(&mut inbound.audits);
    let user = (!audits.is_empty()).then(|| inbound.user.clone()).flatten();
    let mut resp = match answered {
        // an inbound policy answered: no handler, no outbound policy (§16.0)
        Some(resp) => resp,
        None => {
            outbound::prepare(served, route, &mut inbound);
            let (path, request_id) = (inbound.path.clone(), inbound.request_id.clone());
            // custom outbound policies get the request as the handler got it
            let seen = outbound::custom_request(served, route, &inbound);
            let resp = match served.report.model.handlers.get(route) {
                Some(Some(HandlerConfig::McpServer)) => {
                    serve_mcp(state, served, route, inbound, depth).await
                }
                Some(Some(HandlerConfig::Unsupported { module, export }))
                    if custom::is_custom_module(module) =>
                {
                    custom_handler(state, served, route, inbound, &calls, module, export).await
                }
                Some(Some(handler)) => proxy::forward(state, served, handler, inbound).await,
                _ => GatewayError::NoHandler
                    .at(&inbound.path, &inbound.request_id)
                    .into_response(),
            };
            let mut resp = resp;
            // the ZuploMcpSdk override belongs to the call, not to the response the outbound
            // policies may replace
            let over = resp.extensions_mut().remove::<McpOverride>();
            let stage = outbound::Stage {
                path: &path,
                request_id: &request_id,
                request: seen.as_ref(),
                calls: &calls,
            };
            let mut resp = outbound::run(state, served, route, resp, stage).await;
            if let Some(o) = over {
                resp.extensions_mut().insert(o);
            }
            resp
        }
    };
    if let Some(m) = mcp {
        resp.extensions_mut().insert(m);
    }
    for pending in audits {
        state
            .audit
            .emit(pending.finish(user.as_ref(), resp.status()))
            .await;
    }
    resp
}

/// An `mcpServerHandler` route after its policies: the POST answered by `server_handler`, its
/// list results filtered by the route's capability filters as a proxied answer would be.
async fn serve_mcp(
    state: &AppState,
    served: &Served,
    route: usize,
    mut inbound: Inbound,
    depth: usize,
) -> Response {
    let (path, request_id) = (inbound.path.clone(), inbound.request_id.clone());
    let fail = |e: GatewayError| e.at(&path, &request_id).into_response();
    if inbound.method != Method::POST {
        // the route is POST only (rule 78); no SSE streams (§15.11, §3.17)
        return fail(GatewayError::SseGetNotSupported);
    }
    let route_path = served.report.project.routes[route].path.value.as_str();
    let Some(server) = served.report.model.mcp_server(route) else {
        return fail(GatewayError::McpServerNotBuilt(route_path.to_string()));
    };
    // the MCP route's entry checks read the body once (D27); this is that reading
    let body = match inbound.buffered.take() {
        Some(b) => b,
        None => {
            let body = std::mem::replace(&mut inbound.body, Body::empty());
            match axum::body::to_bytes(body, DEFAULT_BODY_LIMIT).await {
                Ok(b) => b,
                Err(_) => {
                    return fail(GatewayError::BodyTooLarge {
                        limit: DEFAULT_BODY_LIMIT as u64,
                    });
                }
            }
        }
    };
    let era = inbound
        .mcp
        .as_ref()
        .and_then(|m| m.era)
        .unwrap_or(Era::Session);
    let invoker = Invoker {
        state,
        served,
        depth,
        client_ip: inbound.client_ip,
        request_id: request_id.clone(),
    };
    let incoming = server_handler::Incoming {
        route_path,
        headers: &inbound.headers,
        body: &body,
        era,
        request_id: &request_id,
    };
    let answer = server_handler::handle(server, incoming, &invoker).await;
    let status = answer.status;
    let mut bytes = answer.bytes();
    let json = answer.body.is_some();
    for (f, caller, plan) in &inbound.response_filters {
        if let Some(filtered) = filter::filter_response(f, plan, caller, "application/json", &bytes)
        {
            bytes = filtered;
        }
    }
    if !json {
        return status.into_response();
    }
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// Calls target routes in process for one MCP request.
struct Invoker<'a> {
    state: &'a AppState,
    served: &'a Served,
    /// Invocations that led to the MCP request this invoker serves.
    depth: usize,
    client_ip: Option<IpAddr>,
    request_id: String,
}

impl RouteInvoker for Invoker<'_> {
    fn invoke(
        &self,
        route: usize,
        req: InnerRequest,
    ) -> BoxFuture<'_, Result<InnerResponse, InvokeError>> {
        Box::pin(async move {
            if self.depth >= MAX_NESTING {
                return Err(InvokeError::TooDeep { max: MAX_NESTING });
            }
            if route >= self.served.report.project.routes.len() {
                return Err(InvokeError::BadRequest(format!(
                    "route {route} does not exist"
                )));
            }
            let mut headers = req.headers;
            proxy::strip_hop_by_hop(&mut headers);
            // the answer is read here as text (as `Response.text()` decodes it in 7.6.4): the
            // client's `Accept-Encoding` would get a compressed body nobody decodes
            headers.remove(header::ACCEPT_ENCODING);
            // a fresh request: the MCP request's user stays with it (§15.6 step 7)
            let inbound = Inbound {
                method: req.method,
                path: req.path,
                query: req.query,
                headers,
                body: Body::empty(),
                buffered: Some(req.body),
                client_ip: self.client_ip,
                user: None,
                upstream: None,
                params: req.params,
                request_id: self.request_id.clone(),
                response_filters: Vec::new(),
                mcp: None,
                audits: Vec::new(),
                raw_call_tool_request: req.raw_call_tool_request,
            };
            let resp = answer(self.state, self.served, route, inbound, self.depth + 1).await;
            let (parts, body) = resp.into_parts();
            let body = read_bounded(body).await?;
            Ok(InnerResponse {
                status: parts.status,
                headers: parts.headers,
                body,
                mcp_override: parts.extensions.get::<McpOverride>().map(|o| o.0.clone()),
            })
        })
    }
}

/// A route's answer, whole: a body over [`INNER_BODY_LIMIT`] or one that breaks off (the
/// proxy ends a stalled upstream body with an error) is an error, never a shorter text.
async fn read_bounded(body: Body) -> Result<Bytes, InvokeError> {
    axum::body::to_bytes(body, INNER_BODY_LIMIT)
        .await
        .map_err(|e| {
            let inner = e.into_inner();
            if inner
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                InvokeError::TooLarge {
                    limit: INNER_BODY_LIMIT,
                }
            } else {
                InvokeError::Unreadable(inner.to_string())
            }
        })
}

/// A custom handler (`$import(./modules/…)`, §17.1): the request to the worker, its body
/// sent only when the handler reads it; its answer as the route's response.
async fn custom_handler(
    state: &AppState,
    served: &Served,
    route: usize,
    mut inbound: Inbound,
    calls: &CustomCalls<'_>,
    module: &str,
    export: &str,
) -> Response {
    let piece = format!("the handler {export} of {module}");
    let (path, request_id) = (inbound.path.clone(), inbound.request_id.clone());
    let fail = |e| custom::error_response(&piece, e, &path, &request_id);
    let code = match state.custom.code(&served.report).await {
        Ok(c) => c.clone(),
        Err(e) => return fail(e),
    };
    // the body stays in the gateway until the handler reads it (then bounded, whole)
    let (request, bodies) = pipeline::lazy_wire(served, route, &mut inbound);
    let mut context = custom::wire_context(&served.report, route, &request_id, inbound.client_ip);
    context.raw_call_tool_request = inbound.raw_call_tool_request.take();
    let target = Target {
        module: crate::custom::import_path(module),
        export,
    };
    let result = code
        .call_handler(target, request, context, calls, &bodies)
        .await;
    // a body the handler read but could not get whole (over the route's limit) is the 413 the
    // gateway answers for any body it cannot read
    if bodies
        .request
        .is_some_and(|p| matches!(p.into_outcome(), crate::custom::BodyOutcome::Failed(_)))
    {
        return GatewayError::BodyTooLarge {
            limit: pipeline::body_limit(served, route) as u64,
        }
        .at(&path, &request_id)
        .into_response();
    }
    match result {
        Ok((r, chunks)) => {
            let resp = match chunks {
                Some(chunks) => {
                    let idle = std::time::Duration::from_secs(state.upstream_idle_timeout_secs);
                    custom::streamed_response_from_wire(r.response, chunks, idle)
                }
                None => custom::response_from_wire(r.response),
            };
            let mut resp = resp.unwrap_or_else(fail);
            if let Some(o) = r.mcp_override {
                resp.extensions_mut().insert(McpOverride(o));
            }
            resp
        }
        Err(e) => fail(e),
    }
}

/// What a custom handler set with `ZuploMcpSdk(context).setRawCallToolResult(...)` (§15.7):
/// carried with the route's response to the tool call that invoked it (checked there).
#[derive(Debug, Clone)]
struct McpOverride(serde_json::Value);

/// What custom code of one request may call back into the gateway: `context.invokeRoute`
/// runs the matched route's whole pipeline and handler in process as a child request (no
/// `user` unless the request gives one; nested at most [`MAX_NESTING`] deep, as tool calls).
pub(super) struct CustomCalls<'a> {
    state: &'a AppState,
    served: &'a Served,
    /// The matched route (`invokeInboundPolicy` runs a policy as on it); `None` before routing.
    route: Option<usize>,
    depth: usize,
    client_ip: Option<IpAddr>,
    request_id: String,
}

impl<'a> CustomCalls<'a> {
    /// The calls of a request outside a route's pipeline (runtimeInit hooks).
    pub(super) fn new(
        state: &'a AppState,
        served: &'a Served,
        client_ip: Option<IpAddr>,
        request_id: String,
    ) -> Self {
        CustomCalls {
            state,
            served,
            route: None,
            depth: 0,
            client_ip,
            request_id,
        }
    }
}

impl GatewayCalls for CustomCalls<'_> {
    fn invoke_route(
        &self,
        _call_id: u64,
        req: WireRequest,
    ) -> BoxFuture<'_, Result<WireResponse, String>> {
        Box::pin(async move {
            if self.depth >= MAX_NESTING {
                return Err(InvokeError::TooDeep { max: MAX_NESTING }.to_string());
            }
            let mut inbound = self.inbound_from_wire(req)?;
            let id = &self.request_id;
            let (method, path) = (inbound.method.clone(), inbound.path.clone());
            let resp = match self.served.table.lookup(method.as_str(), &path) {
                Match::Found { route, params } => {
                    inbound.params = params;
                    answer(self.state, self.served, route, inbound, self.depth + 1).await
                }
                Match::NotFound => GatewayError::NoRoute {
                    method: method.to_string(),
                    path: path.clone(),
                }
                .at(&path, id)
                .into_response(),
                Match::MethodNotAllowed { allow } => GatewayError::MethodNotAllowed {
                    method: method.to_string(),
                    path: path.clone(),
                    allow: allow.join(", "),
                }
                .at(&path, id)
                .into_response(),
            };
            wire_response(resp).await
        })
    }

    fn invoke_inbound_policy(
        &self,
        _call_id: u64,
        policy_name: String,
        req: WireRequest,
    ) -> BoxFuture<'_, Result<InboundResult, String>> {
        Box::pin(async move {
            let (route, policy) = self.policy(&policy_name)?;
            if let Some(why) = pipeline::inbound_unsupported(self.served, policy, true) {
                return Err(why);
            }
            let mut inbound = self.inbound_from_wire(req)?;
            let answered =
                pipeline::run_one(self.state, self.served, route, policy, &mut inbound, self).await;
            Ok(match answered {
                Some(resp) => InboundResult {
                    request: None,
                    response: Some(wire_response(resp).await?),
                },
                None => {
                    let body = inbound.body_bytes(INNER_BODY_LIMIT).await.map_err(|_| {
                        InvokeError::TooLarge {
                            limit: INNER_BODY_LIMIT,
                        }
                        .to_string()
                    })?;
                    InboundResult {
                        request: Some(custom::wire_request(custom::RequestParts {
                            method: &inbound.method,
                            path: &inbound.path,
                            query: inbound.query.as_deref(),
                            headers: &inbound.headers,
                            body: &body,
                            params: &inbound.params,
                            user: inbound.user.as_ref(),
                        })),
                        response: None,
                    }
                }
            })
        })
    }

    fn invoke_outbound_policy(
        &self,
        _call_id: u64,
        policy_name: String,
        resp: WireResponse,
        req: WireRequest,
    ) -> BoxFuture<'_, Result<WireResponse, String>> {
        Box::pin(async move {
            let (route, policy) = self.policy(&policy_name)?;
            let (path, _) = custom::path_and_query(&req.url)?;
            let resp = custom::response_from_wire(resp).map_err(|e| e.to_string())?;
            let stage = outbound::Stage {
                path: &path,
                request_id: &self.request_id,
                request: Some(&req),
                calls: self,
            };
            let resp =
                outbound::run_one(self.state, self.served, route, policy, resp, &stage).await;
            wire_response(resp).await
        })
    }
}

impl CustomCalls<'_> {
    /// The matched route and the index of the policy `name` of policies.json; `Err` names it.
    fn policy(&self, name: &str) -> Result<(usize, usize), String> {
        let route = self.route.ok_or_else(|| {
            format!("policy {name:?} can only be invoked once a route matched the request")
        })?;
        let policy = self
            .served
            .report
            .project
            .policy_position(name)
            .ok_or_else(|| format!("policy {name:?} is not defined in policies.json"))?;
        Ok((route, policy))
    }

    /// A fresh request from user code's REQ (no route params yet): its body whole, no
    /// hop-by-hop headers, no `Accept-Encoding` (answers go back to user code as text).
    fn inbound_from_wire(&self, req: WireRequest) -> Result<Inbound, String> {
        let method = Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("{:?} is not an HTTP method", req.method))?;
        let (path, query) = custom::path_and_query(&req.url)?;
        let body = decode_body(req.body_b64.as_deref()).map_err(|e| format!("bodyB64: {e}"))?;
        let mut headers = custom::header_map(&req.headers);
        proxy::strip_hop_by_hop(&mut headers);
        headers.remove(header::ACCEPT_ENCODING);
        if !body.is_empty() {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let params = req
            .params
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        Ok(Inbound {
            method,
            path,
            query,
            headers,
            body: Body::empty(),
            buffered: Some(Bytes::from(body)),
            client_ip: self.client_ip,
            user: req.user.filter(|u| !u.is_null()),
            upstream: None,
            params,
            request_id: self.request_id.clone(),
            response_filters: Vec::new(),
            mcp: None,
            audits: Vec::new(),
            raw_call_tool_request: None,
        })
    }
}

/// A response read whole (up to [`INNER_BODY_LIMIT`]) as RESP for user code.
async fn wire_response(resp: Response) -> Result<WireResponse, String> {
    let (parts, body) = resp.into_parts();
    let body = read_bounded(body).await.map_err(|e| e.to_string())?;
    Ok(WireResponse {
        status: parts.status.as_u16(),
        headers: custom::wire_headers(&parts.headers),
        body_b64: encode_body(&body),
        body_pending: false,
        body_unchanged: false,
    })
}
