//! The runnable built-in policies beyond the MCP ones (SPEC §16, D21, D22).
//!
//! Owns: each policy as a small unit, typed options in (from `config::policies`), and a
//! decision out: continue (maybe with `request.user` or changed headers) or answer. The JWT
//! family with its JWKS cache and mcpgw's local issuer (`--local-idp`, `mcpgw token`) live
//! here. It does not know routes, the pipeline's order or the gateway's state.
