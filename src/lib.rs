//! mcpgw: develop, test and check MCP gateways written in the Zuplo MCP Gateway format.
//!
//! Module map (one job each; see ARCHITECTURE.md in the repository for the data flow):
//! - [`config`]: a project on disk → a typed, located model (JSONC with spans, `.env` and
//!   `$env()`, routes, policies, the runtime plugin, typed policy options).
//! - [`validate`]: the rule catalogue of SPEC §2 over that model → findings, and their
//!   renderers (human, json, github, sarif).
//! - [`gateway`]: the running gateway behind `mcpgw dev` (routing, policy pipeline, streaming
//!   proxy, capability filter, MCP server registry).
//! - [`store`]: local state (SQLite) behind the `Store` trait of SPEC §5.6.
//! - [`oauth`]: the authorization server toward MCP clients and the bearer check of MCP routes.
//! - [`upstream`]: the gateway as an OAuth client of its upstreams: token exchange, the connect
//!   flow, the encrypted vault.
//! - [`mock`]: the built-in mock upstream MCP server (`mcpgw upstream mock`).
//! - [`templates`]: the project templates of `mcpgw init`, compiled into the binary.
//! - [`secret`]: a redacting newtype for secret values.
//! - [`cli`]: the command line: argument definitions and one file per subcommand.
//!
//! The library never prints and never exits; `cli` decides how results look.

pub mod authz;
pub mod cli;
pub mod client_metadata;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod diag;
pub mod gateway;
pub mod mock;
pub mod net;
pub mod oauth;
pub mod probe;
pub mod secret;
pub mod store;
pub mod templates;
pub mod upstream;
pub mod validate;
pub mod walk;
pub mod web;
