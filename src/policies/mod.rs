//! The runnable built-in policies beyond the MCP ones (SPEC §16, D21, D22).
//!
//! Owns: each policy as a small unit, typed options in (from `config::policies`), and a
//! decision out: continue (maybe with `request.user` or changed headers) or answer. The JWT
//! family with its JWKS cache and mcpgw's local issuer (`--local-idp`, `mcpgw token`) live
//! here. It does not know routes, the pipeline's order or the gateway's state.
//!
//! - `api_key`: `api-key-inbound` against the local consumer store (§16.1).
//! - `jwt`: the JWT family's checks and 401 answers (§16.2, §16.3).
//! - `jwks`: remote key sets, cached per URL.
//! - `local_issuer`: mcpgw's own RS256 issuer for `--local-idp` and `mcpgw token` (§16.13).
//! - `query_param`: `query-param-to-header-inbound` (§16.5).
//! - `ip_restriction`: `ip-address-restriction-inbound` (§16.6).
//! - `audit_log`: `audit-log-inbound`'s records and where they go (§16.7).
//! - `client_credentials`: `upstream-oauth-client-credentials-inbound`'s grant and cache (§16.8).

pub mod api_key;
pub mod audit_log;
pub mod client_credentials;
pub mod ip_restriction;
pub mod jwks;
pub mod jwt;
pub mod local_issuer;
pub mod query_param;
