//! A project on disk turned into a typed, located model.
//!
//! `diag::source` (files and positions) → `jsonc` (values with spans) → `env` (`.env`, `$env()`) →
//! `project` (routes, policies, plugin) → `policies` (typed options per policy family).

pub mod env;
pub mod jsonc;
pub mod mcp_server;
pub mod model;
pub mod modules;
pub mod plugin;
pub mod policies;
pub mod project;
