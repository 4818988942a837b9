//! The hooks of `runtimeInit` (SPEC §17.1, §17.4, D25 c) and the context hooks user code adds
//! (`context.addResponseSendingHook[Final]`), run in the custom-code worker.
//!
//! Owns: where each hook runs in a request's life — pre-routing before route matching (it may
//! change method, URL, headers and body, or answer), request hooks after matching and before
//! the route's policies ([`request_stage`], called by `route::answer`), `notFoundHandler` for a
//! path no route matches, and on every response leaving the gateway (problems included):
//! `problemResponseFormat` for `application/problem+json` documents, the response-sending
//! hooks, then the final hooks (started, not awaited; failures logged). The worker is asked
//! only for what its `init_done` reported (or a result's `pendingResponseHooks`), so a
//! project without hooks pays nothing. Bodies travel whole (bounded); an SSE response's
//! stream is not buffered: its hooks see no body, and the stream is kept unless a hook
//! returns a body of its own.

use super::custom::{self, RequestParts};
use super::pipeline::{self, DEFAULT_BODY_LIMIT, Inbound};
use super::state::{AppState, Served};
use crate::custom::protocol::{InboundResult, WireRequest, WireResponse, encode_body};
use crate::custom::{CustomCode, CustomError, GatewayCalls};
use crate::web::problem::{GatewayError, Problem};
use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::sync::Arc;

const RUNTIME: &str = "modules/zuplo.runtime.ts";

/// The largest response body the response hooks read (as `route::RESPONSE_LIMIT`).
const RESPONSE_LIMIT: usize = 16 * 1024 * 1024;

/// `addPreRoutingHook`: the request routed is the one the hooks return; `Err` is the answer
/// (a hook's response, or why the hooks could not run).
pub(super) async fn pre_routing(
    state: &AppState,
    served: &Served,
    parts: &mut Parts,
    body: Body,
    request_id: &str,
    client_ip: IpAddr,
    calls: &dyn GatewayCalls,
) -> Result<Body, Response> {
    let path = parts.uri.path().to_string();
    let piece = format!("the pre-routing hooks of {RUNTIME}");
    let fail = |e: CustomError| custom::error_response(&piece, e, &path, request_id);
    let hooks = state.custom.hooks_for(&served.report).await.map_err(fail)?;
    if hooks.pre_routing == 0 {
        return Ok(body);
    }
    let code = state
        .custom
        .code(&served.report)
        .await
        .map_err(fail)?
        .clone();
    let Ok(bytes) = axum::body::to_bytes(body, DEFAULT_BODY_LIMIT).await else {
        return Err(GatewayError::BodyTooLarge {
            limit: DEFAULT_BODY_LIMIT as u64,
        }
        .at(&path, request_id)
        .into_response());
    };
    let wire = custom::wire_request(RequestParts {
        method: &parts.method,
        path: &path,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &bytes,
        params: &[],
        user: None,
    });
    // before routing there is no route: the context's route is empty
    let context = custom::wire_context(&served.report, usize::MAX, request_id, Some(client_ip));
    match code
        .call_hook("preRouting", wire, context, |_| {}, calls)
        .await
    {
        Ok(InboundResult {
            response: Some(r), ..
        }) => Err(custom::response_from_wire(r).unwrap_or_else(fail)),
        Ok(InboundResult {
            request: Some(w), ..
        }) => apply_to_parts(parts, w).map_err(fail),
        Ok(_) => Ok(Body::from(bytes)),
        Err(e) => Err(fail(e)),
    }
}

/// A request a pre-routing hook returned, as the request the gateway routes.
fn apply_to_parts(parts: &mut Parts, w: WireRequest) -> Result<Body, CustomError> {
    let method = Method::from_bytes(w.method.as_bytes())
        .map_err(|_| CustomError::Protocol(format!("{:?} is not an HTTP method", w.method)))?;
    let (path, query) = custom::path_and_query(&w.url).map_err(CustomError::Protocol)?;
    let target = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let uri: Uri = target
        .parse()
        .map_err(|e| CustomError::Protocol(format!("{target:?}: {e}")))?;
    let body = crate::custom::protocol::decode_body(w.body_b64.as_deref())
        .map_err(|e| CustomError::Protocol(format!("bodyB64: {e}")))?;
    let mut headers = custom::header_map(&w.headers);
    headers.remove(header::TRANSFER_ENCODING);
    if !body.is_empty() || headers.contains_key(header::CONTENT_LENGTH) {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    parts.method = method;
    parts.uri = uri;
    parts.headers = headers;
    Ok(Body::from(body))
}

/// `addRequestHook` when `runtimeInit` registered one (see [`request`]); `Some` is the answer.
pub(super) async fn request_stage(
    state: &AppState,
    served: &Served,
    route: usize,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    match state.custom.hooks_for(&served.report).await {
        Ok(h) if h.request > 0 => request(state, served, route, req, calls).await,
        Ok(_) => None,
        Err(e) => {
            let piece = format!("the hooks of {RUNTIME}");
            Some(custom::error_response(
                &piece,
                e,
                &req.path,
                &req.request_id,
            ))
        }
    }
}

/// `addRequestHook` (after matching, before the route's policies): the request goes on as the
/// hooks returned it (the matched route stays), or a hook's response answers.
async fn request(
    state: &AppState,
    served: &Served,
    route: usize,
    req: &mut Inbound,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    let piece = format!("the request hooks of {RUNTIME}");
    let (path, request_id) = (req.path.clone(), req.request_id.clone());
    let fail = |e: CustomError| custom::error_response(&piece, e, &path, &request_id);
    let code = match state.custom.code(&served.report).await {
        Ok(c) => c.clone(),
        Err(e) => return Some(fail(e)),
    };
    let wire = match pipeline::wire_of(served, route, req).await {
        Ok(w) => w,
        Err(resp) => return Some(resp),
    };
    let context = custom::wire_context(&served.report, route, &req.request_id, req.client_ip);
    match code
        .call_hook("request", wire, context, |_| {}, calls)
        .await
    {
        Ok(InboundResult {
            response: Some(r), ..
        }) => Some(custom::response_from_wire(r).unwrap_or_else(fail)),
        Ok(InboundResult {
            request: Some(w), ..
        }) => pipeline::apply_wire_request(req, w).err().map(fail),
        Ok(_) => None,
        Err(e) => Some(fail(e)),
    }
}

/// `notFoundHandler`: the answer to a path no route matches, when `runtimeInit` set one.
/// The handler sees the request without its body and `routesMatchedByPathOnly: []`.
pub(super) async fn not_found(
    state: &AppState,
    served: &Served,
    parts: &Parts,
    request_id: &str,
    client_ip: IpAddr,
    calls: &dyn GatewayCalls,
) -> Option<Response> {
    if !state.custom.hooks().not_found_handler {
        return None;
    }
    let code = state.custom.running()?.clone();
    let path = parts.uri.path();
    let piece = format!("the notFoundHandler of {RUNTIME}");
    let fail = |e: CustomError| custom::error_response(&piece, e, path, request_id);
    let wire = bodiless(&parts.method, &parts.uri, &parts.headers);
    let context = custom::wire_context(&served.report, usize::MAX, request_id, Some(client_ip));
    let options = serde_json::json!({ "routesMatchedByPathOnly": [] });
    let answer = code
        .call_hook(
            "notFoundHandler",
            wire,
            context,
            |c| c.not_found_options = Some(options),
            calls,
        )
        .await;
    Some(match answer {
        Ok(InboundResult {
            response: Some(r), ..
        }) => custom::response_from_wire(r).unwrap_or_else(fail),
        Ok(_) => fail(CustomError::Protocol(
            "the notFoundHandler hook gave no response".into(),
        )),
        Err(e) => fail(e),
    })
}

/// The request a response hook sees: method, URL and headers as the client sent them (its
/// body was consumed by the route).
pub(super) struct Seen {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

impl Seen {
    /// What the response step needs of `req`, or `None` when no custom code can run (a
    /// project without custom code copies nothing). Taken whenever the project needs the
    /// worker, not only once it runs: the first request may start it (through a policy that
    /// adds a context hook) and still needs its response step.
    pub(super) fn of<B>(
        state: &AppState,
        served: &Served,
        req: &axum::http::Request<B>,
    ) -> Option<Seen> {
        (served.needs_worker || state.custom.running().is_some()).then(|| Seen {
            method: req.method().clone(),
            uri: req.uri().clone(),
            headers: req.headers().clone(),
        })
    }
}

/// The last step of every response: `problemResponseFormat` for a problem document, then the
/// response-sending hooks (runtimeInit's, and the context hooks a worker result said are
/// pending), then the final hooks, started in the background.
#[allow(clippy::too_many_arguments)]
pub(super) async fn response_sending(
    state: &AppState,
    served: &Served,
    seen: Option<Seen>,
    resp: Response,
    route: Option<usize>,
    request_id: &str,
    client_ip: IpAddr,
    calls: &dyn GatewayCalls,
) -> (Response, Option<FinalHooks>) {
    let (Some(seen), Some(code)) = (seen, state.custom.running()) else {
        return (resp, None);
    };
    let hooks = state.custom.hooks();
    // asked for every request, so the note never outlives its request
    let pending = code.take_pending_hooks(request_id);
    let problem = hooks.problem_response_format && is_problem(resp.headers());
    let sending = pending || hooks.response_sending > 0;
    let finally = hooks.response_sending_final > 0;
    if !(problem || sending || finally) {
        return (resp, None);
    }
    let code = code.clone();
    let path = seen.uri.path().to_string();
    let route = route.unwrap_or(usize::MAX);
    let context = || custom::wire_context(&served.report, route, request_id, Some(client_ip));
    let wire_req = || bodiless(&seen.method, &seen.uri, &seen.headers);

    let (parts, body) = resp.into_parts();
    let sse = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"));
    // an SSE stream is never buffered (it may not end): its hooks see headers only
    let (bytes, stream) = if sse {
        (Bytes::new(), Some(body))
    } else {
        match axum::body::to_bytes(body, RESPONSE_LIMIT).await {
            Ok(b) => (b, None),
            Err(e) => {
                let p = Problem::new(
                    StatusCode::BAD_GATEWAY,
                    format!("the response could not be read for the response-sending hooks: {e}"),
                );
                return (p.at(&path, request_id).into_response(), None);
            }
        }
    };
    let mut current = WireResponse {
        status: parts.status.as_u16(),
        headers: custom::wire_headers(&parts.headers),
        body_b64: encode_body(&bytes),
        body_pending: false,
        body_unchanged: false,
    };
    let mut changed = false;

    if problem && let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        let piece = format!("the problemResponseFormat of {RUNTIME}");
        match code
            .call_hook(
                "problemResponseFormat",
                wire_req(),
                context(),
                |c| c.problem = Some(doc),
                calls,
            )
            .await
        {
            Ok(InboundResult {
                response: Some(r), ..
            }) => {
                current = r;
                changed = true;
            }
            Ok(_) => {}
            // the gateway's own document stays; the error is the dev log's
            Err(e) => tracing::warn!(target: "mcpgw::worker", request_id, "{piece}: {e}"),
        }
    }

    if sending {
        let piece = format!("the response-sending hooks of {RUNTIME}");
        let sent = current.clone();
        match code
            .call_hook(
                "responseSending",
                wire_req(),
                context(),
                |c| c.response = Some(sent),
                calls,
            )
            .await
        {
            Ok(InboundResult {
                response: Some(r), ..
            }) => {
                current = r;
                changed = true;
            }
            Ok(_) => {}
            Err(e) => return (custom::error_response(&piece, e, &path, request_id), None),
        }
    }

    let final_hooks = finally.then(|| FinalHooks {
        code,
        request: wire_req(),
        context: context(),
        response: current.clone(),
    });

    if !changed {
        let body = stream.unwrap_or_else(|| Body::from(bytes));
        return (Response::from_parts(parts, body), final_hooks);
    }
    let keep_stream = current.body_b64.is_none();
    let resp = match custom::response_from_wire(current) {
        Ok(mut r) => {
            if let (true, Some(s)) = (keep_stream, stream) {
                *r.body_mut() = s;
            }
            r
        }
        Err(e) => {
            let piece = format!("the response hooks of {RUNTIME}");
            return (custom::error_response(&piece, e, &path, request_id), None);
        }
    };
    // the access log reads the route's extensions (upstream status, MCP method)
    let (mut new_parts, body) = resp.into_parts();
    new_parts.extensions = parts.extensions;
    (Response::from_parts(new_parts, body), final_hooks)
}

/// `addResponseSendingFinalHook`: what the final hooks get, run by [`FinalHooks::run`] once
/// the response is decided (the server starts it in the background; not awaited).
pub(super) struct FinalHooks {
    code: Arc<CustomCode>,
    request: WireRequest,
    context: crate::custom::protocol::WireContext,
    response: WireResponse,
}

impl FinalHooks {
    /// Runs the final hooks; an error is logged, never answered.
    pub(super) async fn run(self, calls: &dyn GatewayCalls) {
        let request_id = self.context.request_id.clone();
        let response = self.response;
        if let Err(e) = self
            .code
            .call_hook(
                "responseSendingFinal",
                self.request,
                self.context,
                |c| c.response = Some(response),
                calls,
            )
            .await
        {
            tracing::warn!(target: "mcpgw::worker", request_id, "the response-sending final hooks of {RUNTIME}: {e}");
        }
    }
}

fn is_problem(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

/// REQ without a body.
fn bodiless(method: &Method, uri: &Uri, headers: &HeaderMap) -> WireRequest {
    custom::wire_request(RequestParts {
        method,
        path: uri.path(),
        query: uri.query(),
        headers,
        body: &[],
        params: &[],
        user: None,
    })
}
