//! The running gateway behind `mcpgw dev`.
//!
//! - `server`: the axum app built from a validated project; origin derivation; hot reload by
//!   swapping the served model; graceful shutdown.
//! - `router`: matching a request to a route of the OpenAPI files (multi-method keys, path
//!   parameters), 404/405.
//! - `pipeline`: the inbound policy chain; each policy continues (maybe changing the request) or answers.
//! - `proxy`: McpProxyHandler and URL forward/rewrite: streaming both ways, SSE untouched.
//! - `filter`: the capability filter (SPEC §7.2) on requests and on list responses.
//! - `registry`: the MCP server registry (SPEC §3.16).
//! - `problem`: problem+json bodies.

pub mod filter;
pub mod registry;
