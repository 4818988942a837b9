//! `mcpgw upstream mock`: a real Streamable HTTP MCP server for labs and tests.
