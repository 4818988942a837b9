//! The capability filter (SPEC §7.2): allow-lists applied to MCP requests and list responses.
