//! The records of the store, one file per kind. `store/mod.rs` re-exports every item, so the
//! rest of the crate names them `crate::store::X` and never this module.
//!
//! Owns: plain data (what a caller hands in, what is stored, the typed outcome of each
//! operation of §5.6) and the rules that need no storage (expiry, client authentication, the
//! AAD of a connection key). Nothing here knows SQL; [`super::sqlite`] maps the records to rows.

pub mod api_keys;
pub mod authorizations;
pub mod clients;
pub mod sessions;
pub mod tokens;
pub mod upstream;
