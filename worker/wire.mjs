// Conversions between the protocol's REQ / RESP / error objects and Fetch objects, and the
// §17.2 rule that turns a handler's return value into a Response.

import { ZuploRequest } from "./runtime/request.mjs";
import { invoke } from "./channel.mjs";

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
// A fetched Response's body is already decoded and its length is the gateway's business.
const DROP_FROM_FETCHED = new Set([
  "content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive",
]);

/** The body a request or response arrived with: base64 as on the wire, or a [`LazyBody`] the
 * gateway still holds (`bodyPending`). An object's body cannot change, so when user code hands
 * the same object back it is sent on without being read (a lazy one as `bodyUnchanged`). */
const arrivedBodies = new WeakMap();

/**
 * A body the gateway kept (`bodyPending`): fetched with one `invoke` op `readBody` {which} for
 * call `callId` the first time user code reads it (or a copy of it must travel), then kept.
 */
class LazyBody {
  #callId;
  #which;
  #bytes;

  constructor(callId, which) {
    this.#callId = callId;
    this.#which = which;
  }

  /** The bytes (fetched once). */
  load() {
    this.#bytes ??= invoke(this.#callId, "readBody", { which: this.#which })
      .then((ok) => new Uint8Array(decodeBody(ok.bodyB64) ?? []));
    return this.#bytes;
  }

  /** A stream that fetches on its first read; highWaterMark 0 so nothing is pulled before. */
  stream() {
    return new ReadableStream({
      pull: async (controller) => {
        const bytes = await this.load();
        if (bytes.length > 0) controller.enqueue(bytes.slice());
        controller.close();
      },
    }, { highWaterMark: 0 });
  }
}

/** `{callId, which}` when the object's body may be pending, for the calls that allow it. */
function lazyBody(wire, lazy) {
  return wire.bodyPending === true && lazy != null ? new LazyBody(lazy.callId, lazy.which) : null;
}

function decodeBody(bodyB64) {
  return bodyB64 == null ? null : Buffer.from(bodyB64, "base64");
}

function encodeBody(bytes) {
  return bytes == null ? null : Buffer.from(bytes).toString("base64");
}

/** REQ → ZuploRequest; `lazy` `{callId, which: "request"}` lets a `bodyPending` body wait. */
export function requestFromWire(req, lazy) {
  if (req == null || typeof req !== "object") throw new TypeError("no request was given");
  const method = (req.method ?? "GET").toUpperCase();
  const pending = lazyBody(req, lazy);
  const bodiless = method === "GET" || method === "HEAD";
  const body = bodiless ? null : pending ? pending.stream() : decodeBody(req.bodyB64);
  const request = new ZuploRequest(req.url, {
    method,
    headers: req.headers ?? [],
    body,
    params: req.params ?? {},
    user: req.user ?? undefined,
  });
  if (pending) arrivedBodies.set(request, pending);
  else if (body) arrivedBodies.set(request, req.bodyB64);
  return request;
}

/**
 * Request → REQ (reads the body). With `keep` (a call's result), a request that arrived with a
 * pending body and comes back as it is travels without it, `bodyUnchanged`: the gateway sends
 * its own body on, unread when nobody read it.
 */
export async function requestToWire(request, { keep = false } = {}) {
  const head = {
    method: request.method,
    url: request.url,
    headers: [...request.headers],
    params: { ...(request.params ?? {}) },
    user: request.user ?? null,
  };
  const arrived = arrivedBodies.get(request);
  if (arrived instanceof LazyBody) {
    if (keep) return { ...head, bodyB64: null, bodyUnchanged: true };
    return { ...head, bodyB64: request.body == null ? null : encodeBody(await arrived.load()) };
  }
  let bodyB64 = null;
  if (request.body != null) {
    if (arrived !== undefined) {
      bodyB64 = arrived;
    } else if (request.bodyUsed) {
      throw new TypeError("the returned request's body was already read");
    } else {
      bodyB64 = encodeBody(new Uint8Array(await request.arrayBuffer()));
    }
  }
  return { ...head, bodyB64 };
}

/** RESP → Response; `lazy` `{callId, which: "response"}` lets a `bodyPending` body wait. */
export function responseFromWire(resp, lazy) {
  if (resp == null || typeof resp !== "object") throw new TypeError("no response was given");
  const status = resp.status ?? 200;
  const pending = lazyBody(resp, lazy);
  const nullBody = NULL_BODY_STATUS.has(status);
  const body = nullBody ? null : pending ? pending.stream() : decodeBody(resp.bodyB64);
  const response = new Response(body, { status, headers: resp.headers ?? [] });
  if (pending) arrivedBodies.set(response, pending);
  return response;
}

/** Where a RESP sent with `bodyStream` keeps its body (a symbol: JSON leaves it out). */
export const BODY_STREAM = Symbol("bodyStream");

/** Largest `chunk` line's bytes: a big read is split so no line grows without bound. */
export const CHUNK_BYTES = 64 * 1024;

/**
 * Response → RESP (reads the body); `keep` as for [`requestToWire`]. With `stream` (a handler's
 * answer) a body is not read here: the RESP says `bodyStream` and carries the body under
 * [`BODY_STREAM`] for [`streamBody`] once the result is sent. A body that is the pending body of
 * `request` (an echo) is fetched first, while the call can still ask for it.
 */
export async function responseToWire(response, { keep = false, stream = false, request } = {}) {
  const fetched = response.type !== "default";
  const headers = [...response.headers].filter(
    ([name]) => !(fetched && DROP_FROM_FETCHED.has(name)),
  );
  const arrived = arrivedBodies.get(response);
  if (arrived instanceof LazyBody) {
    if (keep) return { status: response.status, headers, bodyB64: null, bodyUnchanged: true };
    const bytes = response.body == null ? null : await arrived.load();
    return { status: response.status, headers, bodyB64: encodeBody(bytes) };
  }
  if (response.bodyUsed) throw new TypeError("the returned response's body was already read");
  if (stream && response.body != null && !wholeBodies.has(response)) {
    const echoed = request ? arrivedBodies.get(request) : undefined;
    if (echoed instanceof LazyBody && request.body === response.body) await echoed.load();
    return { status: response.status, headers, bodyB64: null, bodyStream: true,
      [BODY_STREAM]: response.body };
  }
  const bytes = response.body == null ? null : new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers, bodyB64: encodeBody(bytes) };
}

/**
 * Sends the body of call `id`'s streamed RESP as `chunk` lines (each at most [`CHUNK_BYTES`])
 * and one `end` (with `error` when reading it failed). `send` writes one protocol object.
 */
export async function streamBody(id, body, send) {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(
        value.buffer ?? value, value.byteOffset ?? 0, value.byteLength ?? value.length,
      );
      for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
        send({ type: "chunk", id, bodyB64: bytes.subarray(at, at + CHUNK_BYTES).toString("base64") });
      }
    }
    send({ type: "end", id });
  } catch (error) {
    send({ type: "end", id, error: error instanceof Error ? error.message : safeString(error) });
  }
}

/** Responses whose body is a text made here (a handler's JSON): sent whole, never streamed. */
const wholeBodies = new WeakSet();

/** §17.2: a Response as it is; undefined → empty 200; anything else → JSON. */
export function resultToResponse(value) {
  if (value instanceof Response) return value;
  if (value === undefined) return new Response(null, { status: 200 });
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(`the handler returned a ${typeof value}, which has no JSON form`);
  }
  const response = new Response(text, { status: 200, headers: { "content-type": "application/json" } });
  wholeBodies.add(response);
  return response;
}

/** Anything thrown → the protocol's error object. */
export function errorToWire(error) {
  if (error instanceof Error) {
    return {
      name: error.name || "Error",
      message: error.message ?? "",
      stack: typeof error.stack === "string" ? error.stack : "",
    };
  }
  return { name: "Error", message: `non-Error thrown: ${safeString(error)}`, stack: "" };
}

function safeString(value) {
  try {
    return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A JSON-only copy (functions and other non-JSON values dropped); undefined when impossible. */
export function jsonCopy(value) {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
