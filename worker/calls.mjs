// What each message of the protocol does: `init` (environment, runtimeInit, the report of its
// plugins and hooks) and the `call` kinds handler, inbound, outbound, rateLimit, hook and
// capabilityFilter. Each returns the `ok` object of its result or throws (main.mjs turns that
// into an error result).

import { setEnvironment } from "./runtime/environment.mjs";
import { setBuildId } from "./runtime/problems.mjs";
import { RuntimeExtensions } from "./runtime/extensions.mjs";
import { createContext } from "./runtime/context.mjs";
import { loadExport, loadModule, setProjectRoot } from "./modules.mjs";
import { stateFor } from "./state.mjs";
import {
  requestFromWire, requestToWire, responseFromWire, responseToWire, resultToResponse, jsonCopy,
} from "./wire.mjs";

let registrations = RuntimeExtensions.registrations(new RuntimeExtensions());
const liveContexts = new Map();

/** `init` → the `init_done` fields; throws for `init_failed`. */
export async function init(message) {
  setProjectRoot(message.project);
  setEnvironment(message.project, message.env);
  setBuildId(message.buildId);
  const runtime = new RuntimeExtensions();
  registrations = RuntimeExtensions.registrations(runtime);
  if (message.runtimeModule) {
    const namespace = await loadModule(message.runtimeModule);
    if (typeof namespace.runtimeInit !== "function") {
      throw new TypeError(`${message.runtimeModule} does not export a function runtimeInit`);
    }
    await namespace.runtimeInit(runtime);
  }
  const { plugins, hooks } = registrations;
  return {
    plugins: plugins.map((plugin) => ({
      name: plugin.constructor?.name ?? "Object",
      options: jsonCopy(plugin.options ?? {}) ?? {},
    })),
    hooks: {
      request: hooks.request.length,
      preRouting: hooks.preRouting.length,
      responseSending: hooks.responseSending.length,
      responseSendingFinal: hooks.responseSendingFinal.length,
      problemResponseFormat: typeof registrations.problemResponseFormat === "function",
      notFoundHandler: typeof registrations.notFoundHandler === "function",
    },
  };
}

/** A `call` → its `ok` object. */
export async function call(message) {
  const state = stateFor(message.context, message.id);
  const parentContext = liveContexts.get(message.context?.parentCallId);
  const context = createContext({ callId: message.id, ctx: message.context, state, parentContext });
  liveContexts.set(message.id, context);
  try {
    const run = KINDS[message.kind];
    if (!run) throw new TypeError(`unknown call kind '${message.kind}'`);
    return await run(message, context, state);
  } finally {
    liveContexts.delete(message.id);
  }
}

const KINDS = {
  async handler(message, context, state) {
    const fn = await loadExport(message.module, message.export);
    // the body waits in the gateway until the handler reads it
    const request = requestFromWire(message.request, { callId: message.id, which: "request" });
    const response = resultToResponse(await fn(request, context));
    // a handler's body streams (`bodyStream`): an SSE answer is not held back until it ends
    return finish(response, request, context, state, { stream: true });
  },

  async inbound(message, context, state) {
    const fn = await loadExport(message.module, message.export);
    const request = requestFromWire(message.request, { callId: message.id, which: "request" });
    const result = await fn(request, context, message.options ?? {}, message.policyName);
    return continueOrEnd(result, request, context, state, `inbound policy '${message.policyName}'`);
  },

  async outbound(message, context, state) {
    const fn = await loadExport(message.module, message.export);
    const request = requestFromWire(message.request);
    const response = responseFromWire(message.response, { callId: message.id, which: "response" });
    const result = await fn(response, request, context, message.options ?? {}, message.policyName);
    if (!(result instanceof Response)) {
      throw new TypeError(`outbound policy '${message.policyName}' must return a Response, not ${describe(result)}`);
    }
    return finish(result, request, context, state);
  },

  async rateLimit(message, context) {
    const fn = await loadExport(message.module, message.export);
    const request = requestFromWire(message.request);
    const result = await fn(request, context, message.policyName);
    if (result == null) return { rateLimit: null };
    if (typeof result !== "object" || typeof result.key !== "string") {
      throw new TypeError(`rate-limit function of '${message.policyName}' must return {key: string, requestsAllowed?, timeWindowMinutes?}, null or undefined, not ${describe(result)}`);
    }
    const rateLimit = { key: result.key };
    for (const field of ["requestsAllowed", "timeWindowMinutes"]) {
      if (result[field] === undefined) continue;
      if (typeof result[field] !== "number" || !Number.isFinite(result[field])) {
        throw new TypeError(`rate-limit function of '${message.policyName}': ${field} must be a number`);
      }
      rateLimit[field] = result[field];
    }
    return { rateLimit };
  },

  // Addition to protocol 1 (README): a capability filter's `accessControl.mode: "function"`
  // resolver, `(request, context, policyName)` → the allowed identifiers per type, or nullish.
  async capabilityFilter(message, context) {
    const fn = await loadExport(message.module, message.export);
    const request = requestFromWire(message.request);
    const result = await fn(request, context, message.policyName);
    if (result == null) return { allowed: null };
    const who = `capability-filter function of '${message.policyName}'`;
    if (typeof result !== "object") {
      throw new TypeError(`${who} must return {tools?, prompts?, resources?, resourceTemplates?} (arrays of strings), null or undefined, not ${describe(result)}`);
    }
    const allowed = {};
    for (const type of ["tools", "prompts", "resources", "resourceTemplates"]) {
      if (result[type] === undefined) continue;
      if (!Array.isArray(result[type]) || !result[type].every((x) => typeof x === "string")) {
        throw new TypeError(`${who}: ${type} must be an array of strings`);
      }
      allowed[type] = [...result[type]];
    }
    return { allowed };
  },

  async hook(message, context, state) {
    const run = HOOKS[message.hook];
    if (!run) throw new TypeError(`unknown hook '${message.hook}'`);
    return run(message, context, state);
  },
};

const HOOKS = {
  async preRouting(message, context, state) {
    const hooks = registrations.hooks.preRouting;
    if (hooks.length === 0) return {};
    let request = requestFromWire(message.request);
    for (const hook of hooks) {
      const result = await hook(request);
      if (result instanceof Response) return finish(result, request, context, state);
      if (!(result instanceof Request)) {
        throw new TypeError(`a pre-routing hook must return a Request or a Response, not ${describe(result)}`);
      }
      request = result;
    }
    return { request: await requestToWire(request) };
  },

  async request(message, context, state) {
    const hooks = registrations.hooks.request;
    if (hooks.length === 0) return {};
    let request = requestFromWire(message.request);
    for (const hook of hooks) {
      const result = await hook(request, context);
      if (result instanceof Response) return finish(result, request, context, state);
      if (!(result instanceof Request)) {
        throw new TypeError(`a request hook must return a ZuploRequest or a Response, not ${describe(result)}`);
      }
      request = result;
    }
    return withPending({ request: await requestToWire(request) }, state);
  },

  async responseSending(message, context, state) {
    const request = requestFromWire(message.request);
    let response = responseFromWire(message.response);
    for (const hook of registrations.hooks.responseSending) {
      response = await runResponseHook(hook, response, request, context);
    }
    return finish(response, request, context, state);
  },

  async responseSendingFinal(message, context, state) {
    const request = requestFromWire(message.request);
    const response = responseFromWire(message.response);
    const hooks = [...registrations.hooks.responseSendingFinal, ...state.responseSendingFinal.splice(0)];
    for (const hook of hooks) await hook(response.clone(), request, context);
    return {};
  },

  // Additions to protocol 1 (see README): the two settable RuntimeExtensions members.
  async problemResponseFormat(message, context) {
    const fn = registrations.problemResponseFormat;
    if (typeof fn !== "function") throw new TypeError("runtimeInit set no problemResponseFormat");
    const request = requestFromWire(message.request);
    const result = await fn(message.problem ?? {}, request, context);
    if (!(result instanceof Response)) {
      throw new TypeError(`problemResponseFormat must return a Response, not ${describe(result)}`);
    }
    return { response: await responseToWire(result) };
  },

  async notFoundHandler(message, context) {
    const fn = registrations.notFoundHandler;
    if (typeof fn !== "function") throw new TypeError("runtimeInit set no notFoundHandler");
    const request = requestFromWire(message.request);
    const options = message.notFoundOptions ?? { routesMatchedByPathOnly: [] };
    const result = resultToResponse(await fn(request, context, options));
    return { response: await responseToWire(result) };
  },
};

/** An inbound policy's result: a request continues the chain, a response ends it. */
async function continueOrEnd(result, request, context, state, who) {
  if (result instanceof Response) return finish(result, request, context, state);
  if (result instanceof Request) {
    return withPending({ request: await requestToWire(result, { keep: true }) }, state);
  }
  throw new TypeError(`${who} must return a ZuploRequest or a Response, not ${describe(result)}`);
}

async function runResponseHook(hook, response, request, context) {
  const result = await hook(response, request, context);
  if (!(result instanceof Response)) {
    throw new TypeError(`a response-sending hook must return a Response, not ${describe(result)}`);
  }
  return result;
}

/**
 * A response leaves the worker: the hooks user code added to the context run now (each once),
 * and a ZuploMcpSdk override travels along as `mcpOverride`.
 */
async function finish(response, request, context, state, { stream = false } = {}) {
  for (const hook of state.responseSending.splice(0)) {
    response = await runResponseHook(hook, response, request, context);
  }
  for (const hook of state.responseSendingFinal.splice(0)) {
    await hook(response.clone(), request, context);
  }
  const ok = { response: await responseToWire(response, { keep: true, stream, request }) };
  if (state.mcpOverride !== undefined) {
    ok.mcpOverride = state.mcpOverride;
    state.mcpOverride = undefined;
  }
  return ok;
}

/** Tells the gateway that context hooks wait for this request's response (README). */
function withPending(ok, state) {
  const pending = state.responseSending.length + state.responseSendingFinal.length;
  if (pending > 0) ok.pendingResponseHooks = pending;
  return ok;
}

function describe(value) {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "Object"})`;
  return `a ${typeof value}`;
}
