// `ZuploMcpSdk` (§15.7): `setRawCallToolResult` keeps the override on the request's state; the
// worker returns it as `mcpOverride` next to the next `response` it sends back for that request.
// The gateway checks the override (§15.7: block types, isError not overridable).
// `getRawCallToolRequest` returns CTX.rawCallToolRequest when the gateway sent it, else null.

import { requestState } from "./context.mjs";

export class ZuploMcpSdk {
  #context;

  constructor(context) {
    if (!requestState(context)) throw new TypeError("ZuploMcpSdk needs the ZuploContext");
    this.#context = context;
  }

  setRawCallToolResult(result) {
    if (result == null || typeof result !== "object" || Array.isArray(result)) {
      throw new TypeError("setRawCallToolResult needs an object {content?, structuredContent?, _meta?}");
    }
    requestState(this.#context).mcpOverride = structuredClone(result);
  }

  getRawCallToolRequest() {
    return requestState(this.#context).rawCallToolRequest ?? null;
  }
}
