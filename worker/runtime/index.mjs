// The stand-in for `@zuplo/runtime` (§17.3): a runtime value under every name of that table,
// also for names that are only types in Zuplo (type stripping keeps imports not marked `type`).

import { typeOnly } from "./unavailable.mjs";

export { ZuploRequest } from "./request.mjs";
export { ZuploContext } from "./context.mjs";
export { environment } from "./environment.mjs";
export { HttpProblems, HttpStatusCode, ProblemResponseFormatter } from "./problems.mjs";
export { ZoneCache } from "./zone-cache.mjs";
export { ZuploMcpSdk } from "./mcp-sdk.mjs";
export {
  RuntimeExtensions,
  McpGatewayPlugin,
  OAuthProtectedResourcePlugin,
} from "./extensions.mjs";
export * from "./builtins.mjs";
export * from "./mcp-builtins.mjs";

// Types in Zuplo; values here only so that `import { X }` without `type` loads.
export class CustomRateLimitDetails {}
export const RateLimitFunction = typeOnly("RateLimitFunction");
export const SystemLogger = typeOnly("SystemLogger");
export const Logger = typeOnly("Logger");
export const ZuploMcpToolResultOverride = typeOnly("ZuploMcpToolResultOverride");
export const RequestUser = typeOnly("RequestUser");
export const UserData = typeOnly("UserData");
export const ProblemDetails = typeOnly("ProblemDetails");
export const NotFoundOptions = typeOnly("NotFoundOptions");
export const PreRoutingHook = typeOnly("PreRoutingHook");
export const OnRequestHook = typeOnly("OnRequestHook");
export const OnResponseSendingHook = typeOnly("OnResponseSendingHook");
export const OnResponseSendingFinalHook = typeOnly("OnResponseSendingFinalHook");
export const InboundPolicyHandler = typeOnly("InboundPolicyHandler");
export const OutboundPolicyHandler = typeOnly("OutboundPolicyHandler");
export const RequestHandler = typeOnly("RequestHandler");
export const RouteConfiguration = typeOnly("RouteConfiguration");
export const IncomingRequestProperties = typeOnly("IncomingRequestProperties");
export const ZuploPlugin = typeOnly("ZuploPlugin");
