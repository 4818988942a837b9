//! The one outbound HTTP client of the library.
//!
//! Owns: every fetch the gateway and the tools make toward a URL they did not choose themselves
//! (CIMD documents, JWKS, discovery, upstream token calls, probes): the SSRF guard with its one
//! address classifier, timeouts, size caps and the redirect policy. Knows nothing of OAuth.

pub mod addr;
pub mod outbound;
