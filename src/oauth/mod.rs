//! Client-side OAuth protocol, shared by the gateway's upstream client and the tools.
//!
//! Owns: upstream discovery (`discovery`: D15, D19, §6.3: `WWW-Authenticate` challenges,
//! Protected Resource Metadata, AS metadata), the choice of how the gateway registers at an
//! upstream (`registration`, §6.4), and the one builder of the requests a client sends to an
//! authorization server (`token_request`: authorization URL, code exchange, refresh,
//! revocation). The authorization server toward MCP clients is `authz`; the outbound HTTP
//! client is `net`.

pub mod discovery;
pub mod registration;
pub mod token_request;
