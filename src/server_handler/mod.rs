//! `mcpServerHandler` (SPEC §15, D20): the project's own routes as an MCP server.
//!
//! Owns: the stateless Streamable HTTP transport of §15.11 (POST checks, JSON responses, both
//! MCP eras), the JSON-RPC methods (`initialize`, `ping`, lists, `tools/call`, `prompts/get`,
//! `resources/read`, 2026-07-28 `server/discover`), argument validation and the shape of tool,
//! prompt and resource results (§15.7–§15.10). It answers from `config::mcp_server`'s model and
//! reaches a target route only through the [`RouteInvoker`] the gateway passes in, so that the
//! route's whole pipeline runs in process (§15.6) without this module knowing the gateway.
//!
//! - `transport`: the POST checks in 7.6.4's order, and [`Answer`].
//! - `rpc`: JSON-RPC messages and errors.
//! - `context`: what every method of one request may use.
//! - `methods`: which method answers what; `initialize`, `server/discover`, the lists.
//! - `tools`, `prompts`, `resources`: the calls. `request` builds their inner requests,
//!   `result` shapes tool results, `args` validates arguments, `graphql` holds the
//!   introspection query.
//! - `invoker`: [`RouteInvoker`], [`InnerRequest`], [`InnerResponse`], [`InvokeError`].

pub mod args;
pub mod context;
pub mod graphql;
pub mod invoker;
pub mod methods;
pub mod prompts;
pub mod request;
pub mod resources;
pub mod result;
pub mod rpc;
pub mod tools;
pub mod transport;

pub use invoker::{InnerRequest, InnerResponse, InvokeError, RouteInvoker};
pub use transport::Answer;

use crate::config::mcp_server::McpServer;
use crate::mcp::era::Era;
use axum::http::{HeaderMap, StatusCode};
use rpc::Message;
use serde_json::Value;
use std::time::Instant;

/// A POST on an `mcpServerHandler` route, after the route's inbound policies.
pub struct Incoming<'a> {
    /// The route's path template (for the debug log).
    pub route_path: &'a str,
    /// The headers as the policies left them (§15.6 step 2).
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The request's era as the gateway read it (D26): 2026-07-28 results carry `resultType`
    /// and cache hints. A batch is always session era.
    pub era: Era,
    pub request_id: &'a str,
}

/// Answers one POST: the transport checks, then each request of the body in turn.
pub async fn handle(
    server: &McpServer,
    incoming: Incoming<'_>,
    invoker: &dyn RouteInvoker,
) -> Answer {
    let started = Instant::now();
    let posted = match transport::check(incoming.headers, incoming.body) {
        Ok(p) => p,
        Err(refused) => return refused,
    };
    let debug = server.options.debug_mode;
    let ctx = context::Ctx {
        server,
        headers: incoming.headers,
        invoker,
        era: if posted.batch {
            Era::Session
        } else {
            incoming.era
        },
    };
    let mut answers = Vec::new();
    for m in &posted.messages {
        let Message::Request(req) = m else { continue };
        if debug {
            tracing::debug!(
                method = %req.method,
                requestId = %req.id,
                routePath = incoming.route_path,
                gatewayRequestId = incoming.request_id,
                "MCP Server request start"
            );
        }
        let answer = match methods::answer(req, &ctx).await {
            Ok(result) => rpc::result(&req.id, result),
            Err(e) => rpc::error(&req.id, &e),
        };
        if debug {
            let text = answer.to_string();
            tracing::debug!(
                status = 200,
                requestMethod = %req.method,
                requestId = %req.id,
                totalElapsedMs = started.elapsed().as_millis() as u64,
                respData = %truncated(&text, 2000),
                "MCP Server response complete"
            );
        }
        answers.push(answer);
    }
    if answers.is_empty() {
        return Answer::accepted();
    }
    let body = if posted.batch {
        Value::Array(answers)
    } else {
        answers.pop().unwrap_or(Value::Null)
    };
    Answer::json(StatusCode::OK, body)
}

fn truncated(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
