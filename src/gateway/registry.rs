//! The MCP server registry (SPEC §3.16).
