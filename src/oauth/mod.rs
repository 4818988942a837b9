//! OAuth for `mcpgw dev`.
//!
//! - `server`: the authorization server and resource-server checks toward MCP clients
//!   (SPEC §3.4–§3.12, §3.17, §5): metadata, DCR, authorize, dev-login, consent, token,
//!   revocation, bearer validation.
//! - `discovery`: upstream OAuth discovery (D15, D19, §6.3): challenge, PRM, AS metadata.
//! - `probe_report`: `upstream probe`'s verdict and suggested policy + route.
//! - `walk`: `mcpgw oauth walk`, the §9 flow step by step with a transcript and checks.
//! - `outbound`: every outbound OAuth fetch (CIMD, JWKS, discovery, upstream token calls): the
//!   SSRF guard and the timeout / size / redirect limits.

pub mod discovery;
pub mod outbound;
pub mod probe_report;
pub mod server;
pub mod walk;
