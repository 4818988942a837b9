//! `mcpServerHandler` (SPEC §15, D20): the project's own routes as an MCP server.
//!
//! Owns: the stateless Streamable HTTP transport of §15.11 (POST checks, JSON responses, both
//! MCP eras), the JSON-RPC methods (`initialize`, `ping`, lists, `tools/call`, `prompts/get`,
//! `resources/read`, 2026-07-28 `server/discover`), argument validation and the shape of tool,
//! prompt and resource results (§15.7–§15.10). It answers from `config::mcp_server`'s model and
//! reaches a target route only through the [`RouteInvoker`] the gateway passes in, so that the
//! route's whole pipeline runs in process (§15.6) without this module knowing the gateway.
