// Zuplo's built-in policies and handlers a module may import: mcpgw runs them from the config
// itself, not from custom code, so using one from a module throws "not available in mcpgw dev".

import { unavailable } from "./unavailable.mjs";

export const ApiKeyInboundPolicy = unavailable("ApiKeyInboundPolicy");
export const RateLimitInboundPolicy = unavailable("RateLimitInboundPolicy");
export const ComplexRateLimitInboundPolicy = unavailable("ComplexRateLimitInboundPolicy");
export const OpenIdJwtInboundPolicy = unavailable("OpenIdJwtInboundPolicy");
export const Auth0JwtInboundPolicy = unavailable("Auth0JwtInboundPolicy");
export const OktaJwtInboundPolicy = unavailable("OktaJwtInboundPolicy");
export const CognitoJwtInboundPolicy = unavailable("CognitoJwtInboundPolicy");
export const ClerkJwtInboundPolicy = unavailable("ClerkJwtInboundPolicy");
export const FirebaseJwtInboundPolicy = unavailable("FirebaseJwtInboundPolicy");
export const SupabaseJwtInboundPolicy = unavailable("SupabaseJwtInboundPolicy");
export const PropelAuthJwtInboundPolicy = unavailable("PropelAuthJwtInboundPolicy");
export const BasicAuthInboundPolicy = unavailable("BasicAuthInboundPolicy");
export const QueryParamToHeaderInboundPolicy = unavailable("QueryParamToHeaderInboundPolicy");
export const IpAddressRestrictionInboundPolicy = unavailable("IpAddressRestrictionInboundPolicy");
export const AuditLogInboundPolicy = unavailable("AuditLogInboundPolicy");
export const UpstreamOAuthClientCredentialsInboundPolicy = unavailable(
  "UpstreamOAuthClientCredentialsInboundPolicy",
);
export const SetHeadersInboundPolicy = unavailable("SetHeadersInboundPolicy");
export const SetHeadersOutboundPolicy = unavailable("SetHeadersOutboundPolicy");
export const RemoveHeadersInboundPolicy = unavailable("RemoveHeadersInboundPolicy");
export const RemoveHeadersOutboundPolicy = unavailable("RemoveHeadersOutboundPolicy");
export const RequestSizeLimitInboundPolicy = unavailable("RequestSizeLimitInboundPolicy");
export const RequestValidationInboundPolicy = unavailable("RequestValidationInboundPolicy");
export const SecretMaskingOutboundPolicy = unavailable("SecretMaskingOutboundPolicy");
export const PromptInjectionDetectionOutboundPolicy = unavailable(
  "PromptInjectionDetectionOutboundPolicy",
);
export const urlForwardHandler = unavailable("urlForwardHandler");
export const urlRewriteHandler = unavailable("urlRewriteHandler");
export const redirectHandler = unavailable("redirectHandler");
export const openApiSpecHandler = unavailable("openApiSpecHandler");
export const awsLambdaHandler = unavailable("awsLambdaHandler");
export const webSocketHandler = unavailable("webSocketHandler");
export const mcpServerHandler = unavailable("mcpServerHandler");
export const BackgroundLoader = unavailable("BackgroundLoader");
export const BackgroundDispatcher = unavailable("BackgroundDispatcher");
export const MemoryZoneReadThroughCache = unavailable("MemoryZoneReadThroughCache");
export const StreamingZoneCache = unavailable("StreamingZoneCache");
