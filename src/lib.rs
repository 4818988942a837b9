//! mcpgw: develop, test and check MCP gateways written in the Zuplo MCP Gateway format.
//!
//! Module map, by layer: a module imports only modules of lower layers (one documented
//! exception), enforced by `tests/layers.rs`; ARCHITECTURE.md has the data flow.
//!
//! Layer 6, the command line:
//! - [`cli`]: clap definitions, one file per subcommand; the only place that prints or exits.
//!
//! Layer 5, the composition root:
//! - [`gateway`]: `mcpgw dev`: state, server, reload, router, policy pipeline, streaming
//!   proxy, capability filter, rate limits, MCP server registry.
//!
//! Layer 4, features and tools:
//! - [`authz`]: the authorization server toward MCP clients (metadata, DCR, CIMD, authorize,
//!   dev-login, federated login, consent, token, revocation, bearer check).
//! - [`upstream`]: the gateway as OAuth client of its upstreams (token exchange, vault,
//!   connect flow, refresh, connect-required).
//! - [`walk`]: `mcpgw oauth walk`. [`probe`]: `mcpgw upstream probe`.
//! - [`mock`]: `mcpgw upstream mock`, a test double that shares no code with what it tests.
//! - [`templates`]: the project templates of `mcpgw init`.
//! - [`server_handler`]: `mcpServerHandler`, the project's own routes as an MCP server (§15).
//! - [`policies`]: the built-in policies beyond the MCP ones: JWT family, local issuer (§16).
//! - [`custom`]: custom code (`modules/*.ts`) in a Node.js worker: finding Node, the worker
//!   process and its protocol (§17, D23).
//!
//! Layer 3, rules and protocols:
//! - [`validate`]: the rule catalogue over the model → a report; renderers.
//! - [`oauth`]: client-side OAuth protocol (discovery: challenges, PRM, AS metadata).
//! - [`mcp`]: the MCP wire the gateway reads and answers itself, both eras (D26, D27).
//!
//! Layer 2, data and wire:
//! - [`config`]: a project on disk → a typed, located model (no rules, no serving).
//! - [`store`]: the `Store` trait, its records and the SQLite store (D9).
//! - [`web`]: problem documents, OAuth error JSON, HTML pages, origin, percent-encoding.
//!
//! Layer 1, shared rules:
//! - [`diag`]: spans, findings, the rule catalogue.
//! - [`crypto`]: opaque tokens, hashing, PKCE S256, constant-time comparison.
//! - [`clock`]: the gateway's clock. [`client_metadata`]: RFC 7591 client rules.
//!
//! Layer 0, foundations:
//! - [`net`]: the one outbound HTTP client with its SSRF guard and address classifier.
//! - [`secret`]: redacted secret types.
//!
//! The library never prints and never exits; `cli` decides how results look.

pub mod authz;
pub mod cli;
pub mod client_metadata;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod custom;
pub mod diag;
pub mod gateway;
pub mod mcp;
pub mod mock;
pub mod net;
pub mod oauth;
pub mod policies;
pub mod probe;
pub mod secret;
pub mod server_handler;
pub mod store;
pub mod templates;
pub mod upstream;
pub mod validate;
pub mod walk;
pub mod web;
