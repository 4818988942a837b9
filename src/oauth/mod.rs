//! Client-side OAuth protocol, shared by the gateway's upstream client and the tools.
//!
//! Owns: upstream discovery (D15, D19, §6.3: `WWW-Authenticate` challenges, Protected Resource
//! Metadata, AS metadata). The authorization server toward MCP clients is `authz`; the
//! outbound HTTP client is `net`.

pub mod discovery;
