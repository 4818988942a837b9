//! How the handler reaches a target route (§15.6 step 6): through a [`RouteInvoker`] that the
//! gateway implements, so the route's whole pipeline runs in process without this module
//! knowing the gateway.
//!
//! Owns: the inner request and response as plain data, and the ways an invocation can fail
//! before the route answered ([`InvokeError`]). A route that answers at all (also with a 4xx,
//! 5xx or a 501 for something mcpgw cannot run) is an [`InnerResponse`], never an error.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use futures_util::future::BoxFuture;

/// The request a tool, prompt or resource sends to its target route.
#[derive(Debug, Clone)]
pub struct InnerRequest {
    pub method: Method,
    /// The route's path template with the path arguments substituted (percent-encoded).
    pub path: String,
    /// The query string without `?`, when there is one.
    pub query: Option<String>,
    /// The path arguments as the route sees its parameters (decoded), by template name.
    pub params: Vec<(String, String)>,
    /// The MCP request's headers after its route's inbound policies, with `content-type` and
    /// `content-length` already set for [`InnerRequest::body`]. Hop-by-hop headers are the
    /// invoker's to drop.
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The JSON-RPC `tools/call` message a tool's request is made for: a custom handler of the
    /// target route reads it with `ZuploMcpSdk.getRawCallToolRequest()` (§15.7).
    pub raw_call_tool_request: Option<serde_json::Value>,
}

impl InnerRequest {
    /// `path?query`, as the debug log names the downstream call.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// What the target route answered, its body read whole (bounded by the invoker).
#[derive(Debug, Clone)]
pub struct InnerResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the route's custom handler set with `ZuploMcpSdk.setRawCallToolResult` (§15.7),
    /// unchecked: a tool call checks and applies it (`result::apply_override`).
    pub mcp_override: Option<serde_json::Value>,
}

impl InnerResponse {
    /// The body as text (invalid UTF-8 replaced), as `Response.text()` reads it.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

/// Why a target route gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// Tool calls nest deeper than the invoker allows (a route that calls itself).
    #[error("more than {max} nested route invocations (does a tool call its own MCP route?)")]
    TooDeep { max: usize },
    /// The route's answer is over the invoker's limit.
    #[error("the route's answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The route's answer broke off before it was whole.
    #[error("the route's answer could not be read: {0}")]
    Unreadable(String),
    /// The inner request could not be built (a header value that cannot be sent, say).
    #[error("{0}")]
    BadRequest(String),
}

/// Runs one route of the served project in process: its inbound policies and its handler.
pub trait RouteInvoker: Send + Sync {
    /// `route` is an index into `Project::routes`.
    fn invoke(
        &self,
        route: usize,
        req: InnerRequest,
    ) -> BoxFuture<'_, Result<InnerResponse, InvokeError>>;
}
