//! Error responses of the gateway: `application/problem+json` documents (SPEC §3.1, D7).
//!
//! Owns: the problem body shape (`type`, `title`, `status`, `detail`, `code` where a gateway code
//! exists, `instance`, `trace`), pretty-printed as the gateway does, and the gateway's own
//! failures ([`GatewayError`]): the one place that gives each its status, detail, code and
//! headers.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A problem document about to be sent.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
    /// The gateway's own error code, when there is one (`authentication_required`, …).
    pub code: Option<&'static str>,
    /// The request path (`instance`).
    pub instance: String,
    pub request_id: String,
    /// Extra headers (`allow`, `retry-after`, `www-authenticate`).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            status,
            detail: detail.into(),
            code: None,
            instance: String::new(),
            request_id: String::new(),
            headers: Vec::new(),
        }
    }

    /// A problem without `detail`, as Zuplo's generic refusals (e.g. the 403 of
    /// `ip-address-restriction-inbound`, §16.6) are sent.
    pub fn without_detail(status: StatusCode) -> Self {
        Problem::new(status, "")
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn header(mut self, name: header::HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }

    pub fn at(mut self, instance: &str, request_id: &str) -> Self {
        self.instance = instance.to_string();
        self.request_id = request_id.to_string();
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let status = self.status.as_u16();
        let mut doc = json!({
            "type": format!("https://httpproblems.com/http-status/{status}"),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": status,
        });
        // an empty detail is no detail (see `without_detail`)
        if !self.detail.is_empty() {
            doc["detail"] = json!(self.detail);
        }
        if let Some(code) = self.code {
            doc["code"] = json!(code);
        }
        doc["instance"] = json!(self.instance);
        doc["trace"] = json!({
            "timestamp": now_rfc3339(),
            "requestId": self.request_id,
            "buildId": concat!("mcpgw-", env!("CARGO_PKG_VERSION")),
        });
        doc
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_string_pretty(&self.body()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        resp
    }
}

/// How a request to an upstream failed before any answer came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    TimedOut,
    Unreachable,
    Failed,
}

impl std::fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UpstreamFailure::TimedOut => "timed out",
            UpstreamFailure::Unreachable => "refused the connection or could not be reached",
            UpstreamFailure::Failed => "failed",
        })
    }
}

/// A failure the gateway answers itself with a problem document (§3.1, D7, D11). The message
/// is the public `detail`; [`From<GatewayError> for Problem`](Problem) adds status, code and
/// headers, and [`GatewayError::at`] the request path and id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The project has configuration errors: nothing is served until an edit fixes them (503).
    #[error(
        "The project has {} configuration error(s); mcpgw dev serves again as soon as a saved edit fixes them: {}{}",
        .0.len(),
        .0.iter().take(5).map(String::as_str).collect::<Vec<_>>().join("; "),
        more_than_five(.0.len())
    )]
    ConfigurationErrors(Vec<String>),
    /// No route has this path (404).
    #[error("No route matches {method} {path}.")]
    NoRoute { method: String, path: String },
    /// A path under `{B}/oauth/` that names no endpoint (404).
    #[error("No OAuth endpoint {0}.")]
    NoOAuthEndpoint(String),
    /// A route has this path but not this method (405, `Allow`).
    #[error("{method} is not allowed on {path}.")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: String,
    },
    /// The well-known documents take GET and OPTIONS only (405, `Allow`).
    #[error("Only GET and OPTIONS are allowed here.")]
    WellKnownMethod,
    /// GET on an MCP route: no SSE streams (405, `Allow: POST`, §3.17).
    #[error(
        "This MCP endpoint supports stateless Streamable HTTP POST only; SSE GET streams are not supported."
    )]
    SseGetNotSupported,
    /// The path names an MCP route that has no MCP OAuth policy (404, `not_found`).
    #[error("The requested MCP route does not expose downstream OAuth.")]
    RouteWithoutOAuth,
    /// The path names no MCP route (400, `unknown_mcp_route`).
    #[error("Unknown MCP route: {0}")]
    UnknownMcpRoute(String),
    /// No usable gateway access token (401, `authentication_required`, with the Bearer
    /// challenge that points at the route's PRM).
    #[error("{detail}")]
    Unauthenticated {
        detail: &'static str,
        challenge: String,
    },
    /// The access token lacks `mcp:tools` (403, `forbidden`, with the Bearer challenge).
    #[error("The access token is missing the mcp:tools scope.")]
    InsufficientScope { challenge: String },
    /// The request body could not be read (400).
    #[error("The request body could not be read.")]
    UnreadableBody,
    /// The request body is over a limit (413).
    #[error("The request body is larger than the allowed {limit} bytes.")]
    BodyTooLarge { limit: u64 },
    /// A rate limit refused the request (429, `too_many_requests`, maybe `Retry-After`).
    #[error("Rate limit exceeded: too many requests in the time window.")]
    RateLimited { retry_after_secs: Option<u64> },
    /// Something mcpgw dev cannot run, named (501, D11).
    #[error("{0}")]
    NotImplemented(String),
    /// The route has no handler to run (500).
    #[error("The route has no handler.")]
    NoHandler,
    /// A urlRewriteHandler pattern or urlForwardHandler base that makes no URL (500).
    #[error("The rewrite target {0:?} is not a valid URL.")]
    BadRewriteTarget(String),
    /// A token-exchange policy on a route without an authenticated user (500).
    #[error(
        "The token-exchange policy needs an authenticated user: put the MCP OAuth policy before it on this route."
    )]
    TokenExchangeWithoutUser,
    /// A token-exchange policy on a route that does not proxy to an MCP upstream (500).
    #[error("The token-exchange policy runs only on McpProxyHandler routes.")]
    TokenExchangeWithoutProxy,
    /// The store could not check an access token (500; the cause goes to the log).
    #[error("The access token could not be checked.")]
    TokenCheckFailed,
    /// The upstream (`host:port`) gave no answer (502).
    #[error("The upstream {upstream} {why}.")]
    UpstreamUnreachable {
        upstream: String,
        why: UpstreamFailure,
    },
    /// The upstream did not answer within `requestTimeoutSeconds` (504).
    #[error("The upstream did not answer within {secs} s (requestTimeoutSeconds).")]
    UpstreamTimeout { secs: u64 },
    /// The upstream did not answer within mcpgw dev's default for routes without
    /// `requestTimeoutSeconds` (504).
    #[error(
        "The upstream did not answer within {secs} s (mcpgw dev --upstream-timeout; the route sets no requestTimeoutSeconds)."
    )]
    UpstreamTimeoutDefault { secs: u64 },
    /// The upstream's answer broke off before it was complete, while the gateway read it whole
    /// (502): never passed on as a shorter body.
    #[error("The upstream's answer broke off after {read} bytes, before it was complete.")]
    UpstreamBodyBroken { read: usize },
    /// The connect endpoints (§3.13-§3.15) take GET only (405, `Allow: GET`).
    #[error("Only GET is allowed here.")]
    OnlyGet,
    /// A connect request names no token-exchange upstream (400, `unknown_upstream_server`).
    #[error("No upstream connection is registered for {0}.")]
    UnknownUpstream(String),
    /// A connect request that cannot be served as asked (400, `invalid_request`).
    #[error("{0}")]
    InvalidConnectRequest(&'static str),
    /// A connect request from nobody: no session, no ticket (401, `authentication_required`).
    #[error("Sign in to the gateway or use the connect link from the client.")]
    SignInToConnect,
    /// The connect flow names an operationId whose route does not run that upstream's policy (500).
    #[error(
        "No MCP route with operationId {operation_id} uses the policy {policy} for upstream {upstream}."
    )]
    NoRouteForUpstream {
        operation_id: String,
        policy: String,
        upstream: String,
    },
    /// The upstream connection was removed while it was being written (409).
    #[error("the upstream connection was removed meanwhile")]
    ConnectionRemoved,
    /// The upstream's access token is not a valid header value (502).
    #[error("the upstream access token cannot be sent in a header")]
    UnsendableUpstreamToken,
    /// Local state failed (500). The detail names the step; the cause goes to the dev log only.
    #[error("The gateway could not {0}; the dev log has the cause.")]
    Internal(&'static str),
    /// A browser request from a page of another origin (D28, DNS-rebinding protection): the
    /// `Origin` is neither the gateway's public origin nor one allowed for the route (403,
    /// `origin_not_allowed`).
    #[error(
        "Requests from the origin {0} are not allowed here: only the gateway's own origin and the origins allowed for the route (mcpgw dev --allow-origin, the route's corsPolicy) may call it."
    )]
    OriginNotAllowed(String),
    /// An `mcpServerHandler` route without a registered MCP server in the model (501): the
    /// registration of §15.3 has not run for it.
    #[error(
        "mcpgw dev has no MCP server model for the mcpServerHandler route {0} (registration of its tools, prompts and resources is not available)."
    )]
    McpServerNotBuilt(String),
    /// An outbound policy that reads the answer (`secret-masking-outbound`, §16.9) could not:
    /// the answer is larger than mcpgw reads, encoded, or the matcher gave up (500). The answer
    /// is refused rather than passed on with its secrets unmasked.
    #[error(
        "The outbound policy {policy:?} could not mask the answer: {why}. mcpgw does not pass it on unmasked."
    )]
    OutboundPolicyFailed { policy: String, why: String },
}

fn more_than_five(n: usize) -> String {
    match n.saturating_sub(5) {
        0 => String::new(),
        more => format!(" (and {more} more)"),
    }
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        use GatewayError as E;
        match self {
            E::ConfigurationErrors(_) => StatusCode::SERVICE_UNAVAILABLE,
            E::NoRoute { .. } | E::NoOAuthEndpoint(_) | E::RouteWithoutOAuth => {
                StatusCode::NOT_FOUND
            }
            E::MethodNotAllowed { .. } | E::WellKnownMethod | E::SseGetNotSupported => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            E::UnknownMcpRoute(_) | E::UnreadableBody => StatusCode::BAD_REQUEST,
            E::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            E::InsufficientScope { .. } | E::OriginNotAllowed(_) => StatusCode::FORBIDDEN,
            E::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            E::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            E::NotImplemented(_) | E::McpServerNotBuilt(_) => StatusCode::NOT_IMPLEMENTED,
            E::NoHandler
            | E::BadRewriteTarget(_)
            | E::TokenExchangeWithoutUser
            | E::TokenExchangeWithoutProxy
            | E::TokenCheckFailed => StatusCode::INTERNAL_SERVER_ERROR,
            E::UpstreamUnreachable { .. }
            | E::UpstreamBodyBroken { .. }
            | E::UnsendableUpstreamToken => StatusCode::BAD_GATEWAY,
            E::OnlyGet => StatusCode::METHOD_NOT_ALLOWED,
            E::UnknownUpstream(_) | E::InvalidConnectRequest(_) => StatusCode::BAD_REQUEST,
            E::SignInToConnect => StatusCode::UNAUTHORIZED,
            E::NoRouteForUpstream { .. } | E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            E::OutboundPolicyFailed { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            E::ConnectionRemoved => StatusCode::CONFLICT,
            E::UpstreamTimeout { .. } | E::UpstreamTimeoutDefault { .. } => {
                StatusCode::GATEWAY_TIMEOUT
            }
        }
    }

    /// The gateway code of §3.1, for the failures that have one.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            GatewayError::RouteWithoutOAuth => Some("not_found"),
            GatewayError::UnknownMcpRoute(_) => Some("unknown_mcp_route"),
            GatewayError::Unauthenticated { .. } => Some("authentication_required"),
            GatewayError::InsufficientScope { .. } => Some("forbidden"),
            GatewayError::RateLimited { .. } => Some("too_many_requests"),
            GatewayError::UnknownUpstream(_) => Some("unknown_upstream_server"),
            GatewayError::InvalidConnectRequest(_) => Some("invalid_request"),
            GatewayError::SignInToConnect => Some("authentication_required"),
            GatewayError::OriginNotAllowed(_) => Some("origin_not_allowed"),
            _ => None,
        }
    }

    /// The problem document for this failure of the request at `instance`.
    pub fn at(self, instance: &str, request_id: &str) -> Problem {
        Problem::from(self).at(instance, request_id)
    }
}

impl From<GatewayError> for Problem {
    fn from(e: GatewayError) -> Problem {
        let mut p = Problem::new(e.status(), e.to_string());
        if let Some(code) = e.code() {
            p = p.code(code);
        }
        match e {
            GatewayError::MethodNotAllowed { allow, .. } => p.header(header::ALLOW, &allow),
            GatewayError::WellKnownMethod => p.header(header::ALLOW, "GET, OPTIONS"),
            GatewayError::SseGetNotSupported => p.header(header::ALLOW, "POST"),
            GatewayError::OnlyGet => p.header(header::ALLOW, "GET"),
            GatewayError::Unauthenticated { challenge, .. }
            | GatewayError::InsufficientScope { challenge } => {
                p.header(header::WWW_AUTHENTICATE, &challenge)
            }
            GatewayError::RateLimited {
                retry_after_secs: Some(secs),
            } => p.header(header::RETRY_AFTER, &secs.to_string()),
            _ => p,
        }
    }
}

impl IntoResponse for GatewayError {
    /// A document without `instance` (callers that know the request use [`GatewayError::at`]).
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

/// UTC time as RFC 3339 with seconds, without a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn gateway_errors_map_to_status_code_and_headers() {
        let p = Problem::from(GatewayError::RateLimited {
            retry_after_secs: Some(7),
        });
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(p.code, Some("too_many_requests"));
        assert_eq!(
            p.headers,
            [(header::RETRY_AFTER, HeaderValue::from_static("7"))]
        );
        let p = GatewayError::SseGetNotSupported.at("/mcp", "req-1");
        assert_eq!(p.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            p.headers,
            [(header::ALLOW, HeaderValue::from_static("POST"))]
        );
        assert_eq!(
            (p.instance.as_str(), p.request_id.as_str()),
            ("/mcp", "req-1")
        );
        let p = Problem::from(GatewayError::UpstreamUnreachable {
            upstream: "127.0.0.1:9".into(),
            why: UpstreamFailure::Unreachable,
        });
        assert_eq!(p.status, StatusCode::BAD_GATEWAY);
        assert_eq!(
            p.detail,
            "The upstream 127.0.0.1:9 refused the connection or could not be reached."
        );
    }

    #[test]
    fn configuration_errors_show_five() {
        let errors: Vec<String> = (1..=7).map(|i| format!("e{i}")).collect();
        assert_eq!(
            GatewayError::ConfigurationErrors(errors).to_string(),
            "The project has 7 configuration error(s); mcpgw dev serves again as soon as a saved edit fixes them: e1; e2; e3; e4; e5 (and 2 more)"
        );
        assert!(
            GatewayError::ConfigurationErrors(vec!["x".into()])
                .to_string()
                .ends_with("fixes them: x")
        );
    }

    #[test]
    fn body_shape() {
        let p = Problem::new(StatusCode::NOT_FOUND, "No route matches /x").at("/x", "req-1");
        let b = p.body();
        let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["type", "title", "status", "detail", "instance", "trace"]
        );
        assert_eq!(b["type"], "https://httpproblems.com/http-status/404");
        assert_eq!(b["title"], "Not Found");
    }
}
