// Per-request state shared by the calls of one request (same CTX.requestId): `context.custom`,
// hooks added with context.addResponseSendingHook[Final], a ZuploMcpSdk override. The protocol
// has no "request finished" message, so a state idle for STATE_IDLE_MS is dropped; hooks still
// pending then are reported to the dev log (never dropped silently).

import * as channel from "./channel.mjs";

const STATE_IDLE_MS = 10 * 60 * 1000;
const states = new Map();

export function stateFor(ctx, callId) {
  const key = typeof ctx?.requestId === "string" ? ctx.requestId : `call-${callId}`;
  let state = states.get(key);
  if (!state) {
    state = {
      custom: {},
      responseSending: [],
      responseSendingFinal: [],
      mcpOverride: undefined,
      rawCallToolRequest: undefined,
    };
    states.set(key, state);
  }
  if (ctx?.rawCallToolRequest !== undefined) state.rawCallToolRequest = ctx.rawCallToolRequest;
  state.lastCallId = callId;
  state.touched = Date.now();
  return state;
}

const sweeper = setInterval(() => {
  const now = Date.now();
  for (const [key, state] of states) {
    if (now - state.touched < STATE_IDLE_MS) continue;
    states.delete(key);
    const pending = state.responseSending.length + state.responseSendingFinal.length;
    if (pending > 0) {
      channel.log(state.lastCallId, "warn",
        `${pending} hook(s) added with context.addResponseSendingHook/FinalHook for request ${key} never ran: no later worker call of that request produced its response`, {});
    }
  }
}, 60 * 1000);
sweeper.unref();
