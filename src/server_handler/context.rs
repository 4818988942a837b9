//! What every method of one MCP request may use: the server, the request's headers as the
//! route's policies left them, the invoker, and the request's era.

use super::invoker::RouteInvoker;
use crate::config::mcp_server::McpServer;
use crate::mcp::era::Era;
use axum::http::HeaderMap;

/// What a method may use besides its request.
pub struct Ctx<'a> {
    pub server: &'a McpServer,
    /// The MCP request's headers after its route's inbound policies (§15.6 step 2).
    pub headers: &'a HeaderMap,
    pub invoker: &'a dyn RouteInvoker,
    pub era: Era,
}

impl Ctx<'_> {
    pub fn debug(&self) -> bool {
        self.server.options.debug_mode
    }
}
