//! The running gateway behind `mcpgw dev`.
//!
//! - `server`: the request entry point (D10 refusal, OAuth and connect endpoints, registry,
//!   routing), access log, bind and graceful shutdown.
//! - `state`: `AppState` and `Served` (the snapshot swapped on reload), loading a project,
//!   opening local state, and the narrow contexts handed to `authz` and `upstream`.
//! - `reload`: watching the project files and swapping in a valid new config.
//! - `route`: one route's pipeline then its handler; mcpServerHandler routes and the in-process
//!   invoker of their tool calls.
//! - `router`: matching a request to a route (multi-method keys, path parameters), 404/405.
//! - `pipeline`: the inbound policy chain; each policy continues (maybe changing the request) or answers.
//! - `proxy`: McpProxyHandler and URL forward/rewrite: streaming both ways, SSE untouched.
//! - `stream`: the idle limit of streamed bodies (upstream answers, custom handler bodies).
//! - `outbound`: the outbound policies of a route, after its handler (SPEC §16.11).
//! - `custom`: custom code (SPEC §17) from the gateway's side: the worker handle, which pieces
//!   need it, REQ/RESP conversions, how its failures are answered.
//! - `hooks`: runtimeInit's hooks (pre-routing, request, response-sending, final,
//!   problemResponseFormat, notFoundHandler) and a request's context hooks, in the worker.
//! - `filter`: the capability filter (SPEC §7.2) on requests and on list responses.
//! - `ratelimit`: sliding-window counters for `rate-limit-inbound`.
//! - `registry`: the MCP server registry (SPEC §3.16).
//! - `jwt`: the JWT policy step, `OAuthProtectedResourcePlugin`'s documents and the local
//!   issuer's JWKS (SPEC §16.2-§16.4, §16.13).

pub mod custom;
pub mod filter;
pub mod hooks;
pub mod jwt;
pub mod outbound;
pub mod pipeline;
pub mod proxy;
pub mod ratelimit;
pub mod registry;
pub mod reload;
pub mod route;
pub mod router;
pub mod server;
pub mod state;
pub mod stream;

pub use crate::authz::DevLogin;
pub use reload::{ReloadEvent, watch};
pub use server::{DevOptions, Running, start, start_with_state};
pub use state::{AppState, OpenedState, Served, load, load_for, open_state};
