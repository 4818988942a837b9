//! Forwarding a request upstream and the response back (SPEC §7.1): `McpProxyHandler`,
//! `urlForwardHandler`, `urlRewriteHandler`.
//!
//! Owns: the target URL (rewritePattern, forwardSearch, path parameters), which headers cross
//! (hop-by-hop never; the client's `Authorization` and `Cookie` never reach an MCP upstream),
//! redirects, the request timeout (504), and streaming: the response body is passed on chunk by
//! chunk as it arrives (JSON or `text/event-stream`), and is only read whole when a capability
//! filter must rewrite a JSON list result or a token-exchange upstream's JSON `initialize`
//! result may need icons (§6.7). An answer that breaks off while it is being read whole is a
//! 502, never a shorter body. The route's outbound policies (`gateway::outbound`) run on what
//! leaves here, so they see the filtered answer, as the client would.

use super::filter;
use super::pipeline::Inbound;
use super::state::{AppState, Served};
use super::stream::idle_limited;
use crate::config::env::EnvVars;
use crate::config::policies::handlers::HandlerConfig;
use crate::upstream::policy::UpstreamCredential;
use crate::web::encoding::encode_component;
use crate::web::problem::{GatewayError, UpstreamFailure};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// The upstream's status, recorded on the response for the access log.
#[derive(Debug, Clone, Copy)]
pub struct UpstreamStatus(pub u16);

/// JSON list responses larger than this are passed on unfiltered rather than buffered.
const FILTER_BUFFER_LIMIT: usize = 32 * 1024 * 1024;

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes hop-by-hop headers, including those the `Connection` header names (also from the
/// in-process requests of `mcpServerHandler` tool calls, `gateway::route`).
pub(super) fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()))
        .filter(|s| !s.is_empty())
        .collect();
    for h in HOP_BY_HOP
        .iter()
        .copied()
        .chain(named.iter().map(String::as_str))
    {
        headers.remove(h);
    }
}

/// Where a request goes and how (§7.1).
struct Destination {
    url: url::Url,
    follow_redirects: bool,
    /// An `McpProxyHandler` upstream: GET is refused (§3.17), and the client's `Authorization`
    /// and `Cookie` never reach it (no token passthrough).
    mcp: bool,
    /// `requestTimeoutSeconds` (504 when it passes).
    timeout_secs: Option<u64>,
}

/// Where the request goes, or why it cannot go anywhere.
fn destination(
    handler: &HandlerConfig,
    req: &Inbound,
    env: &EnvVars,
) -> Result<Destination, GatewayError> {
    let with_query = |mut url: url::Url, forward: bool| {
        // a bearer token in the URL never reaches an upstream (issue #13)
        let q = req
            .query
            .as_deref()
            .map(crate::web::oauth::query_without_access_token)
            .filter(|q| !q.is_empty());
        if forward && let Some(q) = q {
            let merged = match url.query() {
                Some(existing) if !existing.is_empty() => format!("{existing}&{q}"),
                _ => q.to_string(),
            };
            url.set_query(Some(&merged));
        }
        url
    };
    let plain = |url: url::Url, forward_search: bool, follow_redirects: bool| Destination {
        url: with_query(url, forward_search),
        follow_redirects,
        mcp: false,
        timeout_secs: None,
    };
    match handler {
        HandlerConfig::McpProxy(p) => Ok(Destination {
            url: with_query(p.target.url().clone(), p.forward_search),
            follow_redirects: p.follow_redirects,
            mcp: true,
            timeout_secs: p.request_timeout_seconds,
        }),
        HandlerConfig::UrlForward {
            base_url,
            forward_search,
            follow_redirects,
        } => {
            let joined = format!("{}{}", base_url.trim_end_matches('/'), req.path);
            let url =
                url::Url::parse(&joined).map_err(|_| GatewayError::BadRewriteTarget(joined))?;
            Ok(plain(url, *forward_search, *follow_redirects))
        }
        HandlerConfig::UrlRewrite {
            rewrite_pattern,
            forward_search,
            follow_redirects,
        } => {
            let resolved = expand_template(rewrite_pattern, req, env)?;
            let url =
                url::Url::parse(&resolved).map_err(|_| GatewayError::BadRewriteTarget(resolved))?;
            Ok(plain(url, *forward_search, *follow_redirects))
        }
        _ => Err(GatewayError::NotImplemented(
            "this handler cannot be run by mcpgw dev".into(),
        )),
    }
}

/// `${params.NAME}`, `${env.NAME}`, `${method}` and `${pathname}` in a urlRewriteHandler pattern.
fn expand_template(pattern: &str, req: &Inbound, env: &EnvVars) -> Result<String, GatewayError> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(GatewayError::BadRewriteTarget(pattern.to_string()));
        };
        let expr = after[..end].trim();
        let value = if let Some(name) = expr.strip_prefix("params.") {
            req.params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| encode_component(v))
        } else if let Some(name) = expr.strip_prefix("env.") {
            env.get(name).map(|v| v.value)
        } else if expr == "method" {
            Some(req.method.as_str().to_string())
        } else if expr == "pathname" {
            Some(req.path.clone())
        } else {
            return Err(GatewayError::NotImplemented(format!(
                "mcpgw dev cannot evaluate the rewrite template ${{{expr}}}"
            )));
        };
        out.push_str(&value.unwrap_or_default());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Forwards the request and streams the answer back: where it goes → the body and headers that
/// cross → send → on a token-exchange route, one retry after a 401 (or a step-up after a 403)
/// → the answer, streamed.
pub async fn forward(
    state: &AppState,
    served: &Served,
    handler: &HandlerConfig,
    mut req: Inbound,
) -> Response {
    let dest = match destination(handler, &req, &served.report.project.env) {
        Ok(d) if d.mcp && req.method == Method::GET => Err(GatewayError::SseGetNotSupported),
        other => other,
    };
    let dest = match dest {
        Ok(d) => d,
        Err(e) => return e.at(&req.path, &req.request_id).into_response(),
    };
    if let Err(e) = buffer_small_body(&mut req).await {
        return e.at(&req.path, &req.request_id).into_response();
    }
    let mut headers = outbound_headers(&mut req, dest.mcp);
    // the upstream credential of a token-exchange policy (§6.7); the request is kept whole so
    // that a 401 can be retried once
    let credential = req.upstream.take();
    // §6.7: an `initialize` answer on a token-exchange route may get the upstream's icons;
    // whether the request was one is only looked at when the answer is a JSON success
    let icons_for = credential
        .as_ref()
        .zip(req.buffered.clone())
        .map(|(c, body)| (c.target.clone(), body));
    let resend = with_credential(credential.as_ref(), &mut headers, req.buffered.as_ref());
    let body = request_body(&mut req);
    let (method, path, request_id) = (req.method.clone(), req.path.clone(), req.request_id.clone());
    let out = Outgoing {
        client: if dest.follow_redirects {
            &state.client_following
        } else {
            &state.client
        },
        url: &dest.url,
        // the route's requestTimeoutSeconds, else the gateway's default: never without a limit
        timeout: match dest.timeout_secs {
            Some(secs) => Timeout::Route(secs),
            None => Timeout::Default(state.upstream_timeout_secs),
        },
        method: &method,
        path: &path,
        request_id: &request_id,
    };
    let mut upstream = match send(&out, headers, body).await {
        Ok(r) => r,
        Err(e) => return e.at(&path, &request_id).into_response(),
    };
    if let (Some(cred), Some(resend)) = (&credential, resend) {
        upstream = match after_refusal(state, served, &out, cred, resend, upstream).await {
            Ok(r) => r,
            Err(answer) => return answer,
        };
    }
    let idle = Duration::from_secs(state.upstream_idle_timeout_secs);
    forward_response(upstream, &mut req, icons_for, idle).await
}

/// A body of known, modest size is read first so it goes out with its Content-Length (some
/// servers do not read chunked requests); an unknown or large one streams through.
async fn buffer_small_body(req: &mut Inbound) -> Result<(), GatewayError> {
    let declared = req
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if req.buffered.is_none() && declared.is_some_and(|n| n <= super::pipeline::DEFAULT_BODY_LIMIT)
    {
        let body = std::mem::replace(&mut req.body, Body::empty());
        let bytes = axum::body::to_bytes(body, super::pipeline::DEFAULT_BODY_LIMIT)
            .await
            .map_err(|_| GatewayError::UnreadableBody)?;
        req.buffered = Some(bytes);
    }
    Ok(())
}

/// The request's headers as they go upstream: no hop-by-hop headers, no `Host` or
/// `Content-Length` (the client sets them), and for an MCP upstream no client credentials.
fn outbound_headers(req: &mut Inbound, strip_credentials: bool) -> HeaderMap {
    let mut headers = std::mem::take(&mut req.headers);
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    // what the client claims about the path in front of the gateway is not passed on as if the
    // gateway had said it (issue #13)
    for name in [
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "forwarded",
        "x-real-ip",
    ] {
        headers.remove(name);
    }
    if strip_credentials {
        // the client's token is for the gateway, never for the upstream (no token passthrough)
        headers.remove(header::AUTHORIZATION);
        headers.remove(header::COOKIE);
    }
    headers
}

/// Puts a token-exchange credential on the request; a buffered body and the headers are kept
/// to send once more after a 401 (§6.7).
fn with_credential(
    credential: Option<&UpstreamCredential>,
    headers: &mut HeaderMap,
    buffered: Option<&Bytes>,
) -> Option<(Bytes, HeaderMap)> {
    let c = credential?;
    headers.insert(header::AUTHORIZATION, c.authorization.clone());
    buffered.map(|b| (b.clone(), headers.clone()))
}

/// The body as it goes upstream: the buffered bytes, or the client's stream passed through.
fn request_body(req: &mut Inbound) -> reqwest::Body {
    match req.buffered.take() {
        Some(bytes) => reqwest::Body::from(bytes),
        None => {
            let stream = std::mem::replace(&mut req.body, Body::empty()).into_data_stream();
            reqwest::Body::wrap_stream(stream)
        }
    }
}

/// How long the upstream may take to send its response headers, and who set it.
#[derive(Clone, Copy)]
enum Timeout {
    /// The route's `requestTimeoutSeconds`.
    Route(u64),
    /// `mcpgw dev --upstream-timeout` (default 60 s).
    Default(u64),
}

/// What [`send`] needs for each attempt (the inbound request itself is not `Sync`).
struct Outgoing<'a> {
    client: &'a reqwest::Client,
    url: &'a url::Url,
    timeout: Timeout,
    method: &'a Method,
    path: &'a str,
    request_id: &'a str,
}

/// A token-exchange upstream's refusal (§6.7): after a 401 the policy renews the credential and
/// the request goes once more (or the policy answers itself: connect-required); after a 403
/// `insufficient_scope` the policy asks for the wider scope. Any other answer passes on.
async fn after_refusal(
    state: &AppState,
    served: &Served,
    out: &Outgoing<'_>,
    cred: &UpstreamCredential,
    (bytes, mut headers): (Bytes, HeaderMap),
    upstream: reqwest::Response,
) -> Result<reqwest::Response, Response> {
    use crate::upstream::policy::{self, AfterUnauthorized};
    let status = upstream.status().as_u16();
    // the challenge is read only on the answers that use it (not on every 200)
    let challenge = || crate::oauth::discovery::bearer_challenge(upstream.headers());
    // what a connect-required answer needs of the request: its id and era (D5, D26)
    let call = |headers: &HeaderMap| crate::upstream::required::McpCall::of(headers, &bytes);
    if status == 401 {
        let scope = challenge().and_then(|c| c.scope);
        let env = state.upstream_env(served);
        let after = policy::after_unauthorized(
            &env,
            cred,
            scope.as_deref(),
            &call(&headers),
            out.path,
            out.request_id,
        )
        .await;
        return match after {
            AfterUnauthorized::Retry(authorization) => {
                headers.insert(header::AUTHORIZATION, authorization);
                send(out, headers, reqwest::Body::from(bytes.clone()))
                    .await
                    .map_err(|e| e.at(out.path, out.request_id).into_response())
            }
            AfterUnauthorized::Answer(resp) => Err(resp),
        };
    }
    if status == 403
        && let Some(scope) = challenge()
            .filter(|c| c.error.as_deref() == Some("insufficient_scope"))
            .and_then(|c| c.scope)
    {
        let env = state.upstream_env(served);
        return Err(policy::step_up(
            &env,
            cred,
            &scope,
            &call(&headers),
            out.path,
            out.request_id,
        )
        .await);
    }
    Ok(upstream)
}

/// Sends one request upstream; a timeout or a network failure is the gateway's own failure.
async fn send(
    out: &Outgoing<'_>,
    headers: HeaderMap,
    body: reqwest::Body,
) -> Result<reqwest::Response, GatewayError> {
    let send = out
        .client
        .request(out.method.clone(), out.url.clone())
        .headers(headers)
        .body(body)
        .send();
    let (secs, error) = match out.timeout {
        Timeout::Route(secs) => (secs, GatewayError::UpstreamTimeout { secs }),
        Timeout::Default(secs) => (secs, GatewayError::UpstreamTimeoutDefault { secs }),
    };
    let result = tokio::time::timeout(Duration::from_secs(secs), send)
        .await
        .map_err(|_| error)?;
    result.map_err(|e| {
        let why = if e.is_timeout() {
            UpstreamFailure::TimedOut
        } else if e.is_connect() {
            UpstreamFailure::Unreachable
        } else {
            UpstreamFailure::Failed
        };
        let url = out.url;
        let host = url.host_str().unwrap_or("upstream");
        let port = url
            .port_or_known_default()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        GatewayError::UpstreamUnreachable {
            upstream: format!("{host}{port}"),
            why,
        }
    })
}

/// The upstream's answer on its way back: streamed, or rewritten when a capability filter must
/// filter a JSON list result or (`icons_for`: the token-exchange target and the request body)
/// an `initialize` result lacks icons.
async fn forward_response(
    upstream: reqwest::Response,
    req: &mut Inbound,
    icons_for: Option<(
        std::sync::Arc<crate::upstream::policy::UpstreamTarget>,
        bytes::Bytes,
    )>,
    idle: Duration,
) -> Response {
    let status = upstream.status();
    let filters = std::mem::take(&mut req.response_filters);
    let content_type = upstream
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json = content_type.contains("json") && !content_type.contains("event-stream");
    let icons_for = icons_for.filter(|(_, request)| {
        json && status.is_success() && crate::upstream::server_info::is_initialize(request)
    });
    let rewrite = (!filters.is_empty() || icons_for.is_some()) && json;

    let mut resp = if rewrite {
        let content_type = content_type.to_string();
        let mut headers = upstream.headers().clone();
        let body = match read_limited(upstream.bytes_stream(), FILTER_BUFFER_LIMIT, idle).await {
            Ok(Buffered::Whole(bytes)) => {
                let mut current = bytes.to_vec();
                let mut changed = false;
                for (f, caller, plan) in &filters {
                    if let Some(new) =
                        filter::filter_response(f, plan, caller, &content_type, &current)
                    {
                        current = new;
                        changed = true;
                    }
                }
                if let Some((t, _)) = &icons_for
                    && let Some(new) = crate::upstream::server_info::with_icons(
                        &current,
                        t.te.server_info.as_ref(),
                        &t.mcp_url,
                    )
                {
                    current = new;
                    changed = true;
                }
                if changed {
                    headers.remove(header::CONTENT_LENGTH);
                }
                Body::from(current)
            }
            Ok(Buffered::TooLarge(streamed)) => streamed,
            // a cut-short JSON answer is not passed on as if it were whole
            Err(broken) => {
                tracing::warn!(read = broken.read, error = %broken.cause, "the upstream's answer broke off");
                let mut resp = GatewayError::from(broken)
                    .at(&req.path, &req.request_id)
                    .into_response();
                resp.extensions_mut()
                    .insert(UpstreamStatus(status.as_u16()));
                return resp;
            }
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        *resp.headers_mut() = headers;
        resp
    } else {
        // the upstream's body, chunk by chunk as it arrives: never buffered
        let (parts, body) = axum::http::Response::from(upstream).into_parts();
        Response::from_parts(
            parts,
            Body::from_stream(idle_limited(
                http_body_util::BodyDataStream::new(body),
                idle,
                "the upstream",
            )),
        )
    };
    strip_hop_by_hop(resp.headers_mut());
    resp.extensions_mut()
        .insert(UpstreamStatus(status.as_u16()));
    resp
}

/// A JSON answer read for rewriting (also an answer read by an outbound policy,
/// `gateway::outbound`).
pub(super) enum Buffered {
    /// The whole body.
    Whole(bytes::Bytes),
    /// More than the limit: what was read followed by the rest, streamed unfiltered.
    TooLarge(Body),
}

/// The upstream's body broke off (connection closed or reset, a bad chunk) or stalled before
/// it was whole.
#[derive(Debug, thiserror::Error)]
#[error("the upstream's answer broke off after {read} bytes: {cause}")]
pub(super) struct BodyBroken {
    /// Bytes received before the error.
    pub(super) read: usize,
    /// The stream's error, or [`idle_limited`](super::stream::idle_limited)'s timeout.
    cause: std::io::Error,
}

impl From<BodyBroken> for GatewayError {
    fn from(b: BodyBroken) -> Self {
        GatewayError::UpstreamBodyBroken { read: b.read }
    }
}

/// Reads a body (the upstream's, or a route's answer for an outbound policy) whole when it is
/// at most `limit` bytes; otherwise streams what was read followed by the rest, unfiltered. A
/// stream error before the end is an error, never a shorter body.
/// No chunk for `idle` is a failure too (issue #13).
pub(super) async fn read_limited<S, E>(
    body: S,
    limit: usize,
    idle: Duration,
) -> Result<Buffered, BodyBroken>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    use futures_util::StreamExt;
    // the same idle limit as a streamed answer (one implementation: idle_limited)
    let mut stream = Box::pin(idle_limited(body, idle, "the upstream"));
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let c = chunk.map_err(|cause| BodyBroken {
            read: buf.len(),
            cause,
        })?;
        buf.extend_from_slice(&c);
        if buf.len() > limit {
            let head =
                futures_util::stream::once(async move { Ok::<_, std::io::Error>(buf.freeze()) });
            return Ok(Buffered::TooLarge(Body::from_stream(head.chain(stream))));
        }
    }
    Ok(Buffered::Whole(buf.freeze()))
}

/// A header value for logs: never the value of a credential.
pub fn loggable(name: &str, value: &HeaderValue) -> String {
    let sensitive = [
        "authorization",
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "x-api-key",
    ];
    if sensitive.contains(&name.to_ascii_lowercase().as_str()) {
        "[redacted]".to_string()
    } else {
        value.to_str().unwrap_or("[binary]").to_string()
    }
}
