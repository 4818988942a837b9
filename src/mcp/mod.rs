//! The MCP wire as the gateway itself reads and answers it, for both protocol eras (D26, D27).
//!
//! Owns: which era a request belongs to, the 2026-07-28 request rules the gateway checks
//! before anything else reads a request (headers against the body, the `_meta` envelope,
//! supported versions, removed methods), and the shapes of the answers the gateway makes itself
//! (JSON-RPC errors with their HTTP status, `InputRequiredResult` with a URL-mode input request).
//! The proxy stays transparent to both eras (D14): nothing here rewrites what passes through.
//! The mock upstream has its own implementation of these rules on purpose (a test double shares
//! no code with what it tests).

pub mod era;
pub mod input_required;
pub mod rules;

pub use era::{Era, MODERN_VERSION, SESSION_VERSIONS};
pub use rules::{McpRequest, Rejection, check_request};
