// The MCP Gateway's built-in handler and policies (`@zuplo/runtime/mcp-gateway`): mcpgw runs
// them from the config, so using one from a module throws "not available in mcpgw dev".

import { unavailable } from "./unavailable.mjs";

export const McpProxyHandler = unavailable("McpProxyHandler");
export const McpOAuthInboundPolicy = unavailable("McpOAuthInboundPolicy");
export const McpAuth0OAuthInboundPolicy = unavailable("McpAuth0OAuthInboundPolicy");
export const McpClerkOAuthInboundPolicy = unavailable("McpClerkOAuthInboundPolicy");
export const McpCognitoOAuthInboundPolicy = unavailable("McpCognitoOAuthInboundPolicy");
export const McpEntraOAuthInboundPolicy = unavailable("McpEntraOAuthInboundPolicy");
export const McpGoogleOAuthInboundPolicy = unavailable("McpGoogleOAuthInboundPolicy");
export const McpKeycloakOAuthInboundPolicy = unavailable("McpKeycloakOAuthInboundPolicy");
export const McpLogtoOAuthInboundPolicy = unavailable("McpLogtoOAuthInboundPolicy");
export const McpOktaOAuthInboundPolicy = unavailable("McpOktaOAuthInboundPolicy");
export const McpOneLoginOAuthInboundPolicy = unavailable("McpOneLoginOAuthInboundPolicy");
export const McpPingOAuthInboundPolicy = unavailable("McpPingOAuthInboundPolicy");
export const McpWorkosOAuthInboundPolicy = unavailable("McpWorkosOAuthInboundPolicy");
export const McpCapabilityFilterInboundPolicy = unavailable("McpCapabilityFilterInboundPolicy");
export const McpTokenExchangeInboundPolicy = unavailable("McpTokenExchangeInboundPolicy");
