//! What every HTTP surface of the gateway writes on the wire, in one place.
//!
//! Owns: problem+json documents ([`problem`], SPEC §3.1), the public origin of a request
//! ([`origin`], SPEC §3.0, D6) and percent-encoding of URL path components, both ways
//! ([`encoding`]). Knows no routes, policies or stores.

pub mod encoding;
pub mod origin;
pub mod problem;
