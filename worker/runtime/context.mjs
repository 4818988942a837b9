// `ZuploContext` (§17.2): one per call, built by the worker from CTX. State that lives for the
// whole request (`custom`, hooks added with context.addResponseSendingHook[Final], a
// ZuploMcpSdk override) is shared by every call carrying the same requestId.

import { randomUUID } from "node:crypto";
import { formatWithOptions } from "node:util";
import * as channel from "../channel.mjs";
import { notAvailable } from "./unavailable.mjs";
import { ZuploRequest } from "./request.mjs";
import { requestFromWire, requestToWire, responseFromWire, responseToWire } from "../wire.mjs";

const INTERNAL = Symbol("mcpgw context");
const states = new WeakMap();

/** The per-request state behind a context (undefined for anything else). */
export function requestState(context) {
  return states.get(context);
}

function logArgs(args) {
  return formatWithOptions({ depth: 6, breakLength: Infinity, colors: false }, ...args);
}

function makeLogger(callId) {
  let properties = {};
  const write = (level) => (...args) => channel.log(callId, level, logArgs(args), properties);
  return {
    debug: write("debug"),
    info: write("info"),
    log: write("info"),
    warn: write("warn"),
    error: write("error"),
    setLogProperties(props) {
      properties = { ...properties, ...(props ?? {}) };
    },
  };
}

export class ZuploContext {
  #callId;

  constructor(token, { callId, ctx, state, parentContext }) {
    if (token !== INTERNAL) throw notAvailable("new ZuploContext (contexts come from mcpgw)");
    this.#callId = callId;
    this.requestId = ctx?.requestId ?? randomUUID();
    this.contextId = randomUUID();
    this.route = ctx?.route ?? {};
    this.incomingRequestProperties = ctx?.incomingRequestProperties ?? { ip: "127.0.0.1" };
    this.parentContext = parentContext;
    this.log = makeLogger(callId);
    this.custom = state.custom;
    states.set(this, state);
  }

  /** §17.2: a child request through the gateway; headers and user only from `init`. */
  async invokeRoute(pathOrUrl, init) {
    const input = pathOrUrl instanceof Request ? pathOrUrl : new URL(String(pathOrUrl), "http://localhost");
    const request = new ZuploRequest(input, init ?? {});
    const ok = await channel.invoke(this.#callId, "invokeRoute", {
      request: await requestToWire(request),
    });
    return responseFromWire(ok.response);
  }

  /**
   * §17.2: the named policy of policies.json on `request`: the request it let through (maybe
   * changed) or the Response it answered with.
   */
  async invokeInboundPolicy(policyName, request) {
    const ok = await channel.invoke(this.#callId, "invokeInboundPolicy", {
      policyName: String(policyName),
      request: await requestToWire(request),
    });
    return ok.response != null ? responseFromWire(ok.response) : requestFromWire(ok.request);
  }

  /** §17.2: the named outbound policy of policies.json on `response` (of `request`). */
  async invokeOutboundPolicy(policyName, response, request) {
    const ok = await channel.invoke(this.#callId, "invokeOutboundPolicy", {
      policyName: String(policyName),
      response: await responseToWire(response),
      request: await requestToWire(request),
    });
    return responseFromWire(ok.response);
  }

  addEventListener() {
    throw notAvailable("context.addEventListener (use context.addResponseSendingFinalHook)");
  }

  /** Keeps the promise alive past the response; a rejection goes to the dev log. */
  waitUntil(promise) {
    Promise.resolve(promise).catch((error) =>
      channel.log(this.#callId, "error", `waitUntil promise rejected: ${error?.stack ?? error}`, {}),
    );
  }

  addResponseSendingHook(hook) {
    if (typeof hook !== "function") throw new TypeError("addResponseSendingHook needs a function");
    states.get(this).responseSending.push(hook);
  }

  addResponseSendingFinalHook(hook) {
    if (typeof hook !== "function") throw new TypeError("addResponseSendingFinalHook needs a function");
    states.get(this).responseSendingFinal.push(hook);
  }
}

/** Worker-internal: the context for one call. */
export function createContext(fields) {
  return new ZuploContext(INTERNAL, fields);
}
