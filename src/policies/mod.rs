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

pub mod api_key;
pub mod jwks;
pub mod jwt;
pub mod local_issuer;
