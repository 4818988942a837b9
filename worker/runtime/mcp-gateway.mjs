// The stand-in for `@zuplo/runtime/mcp-gateway`: the MCP plugins and built-ins, plus everything
// of `@zuplo/runtime` (same values, so instanceof works across both import paths).

export * from "./index.mjs";
