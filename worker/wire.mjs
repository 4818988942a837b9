// Conversions between the protocol's REQ / RESP / error objects and Fetch objects, and the
// §17.2 rule that turns a handler's return value into a Response.

import { ZuploRequest } from "./runtime/request.mjs";

const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
// A fetched Response's body is already decoded and its length is the gateway's business.
const DROP_FROM_FETCHED = new Set([
  "content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive",
]);

/** The body a request arrived with (base64, as on the wire): a request object's body cannot
 * change, so when user code hands the same request back it is sent on without being read. */
const arrivedBodies = new WeakMap();

function decodeBody(bodyB64) {
  return bodyB64 == null ? null : Buffer.from(bodyB64, "base64");
}

function encodeBody(bytes) {
  return bytes == null ? null : Buffer.from(bytes).toString("base64");
}

/** REQ → ZuploRequest. */
export function requestFromWire(req) {
  if (req == null || typeof req !== "object") throw new TypeError("no request was given");
  const method = (req.method ?? "GET").toUpperCase();
  const body = method === "GET" || method === "HEAD" ? null : decodeBody(req.bodyB64);
  const request = new ZuploRequest(req.url, {
    method,
    headers: req.headers ?? [],
    body,
    params: req.params ?? {},
    user: req.user ?? undefined,
  });
  if (body) arrivedBodies.set(request, req.bodyB64);
  return request;
}

/** Request → REQ (reads the body). */
export async function requestToWire(request) {
  let bodyB64 = null;
  if (request.body != null) {
    const arrived = arrivedBodies.get(request);
    if (arrived !== undefined) {
      bodyB64 = arrived;
    } else if (request.bodyUsed) {
      throw new TypeError("the returned request's body was already read");
    } else {
      bodyB64 = encodeBody(new Uint8Array(await request.arrayBuffer()));
    }
  }
  return {
    method: request.method,
    url: request.url,
    headers: [...request.headers],
    bodyB64,
    params: { ...(request.params ?? {}) },
    user: request.user ?? null,
  };
}

/** RESP → Response. */
export function responseFromWire(resp) {
  if (resp == null || typeof resp !== "object") throw new TypeError("no response was given");
  const status = resp.status ?? 200;
  const body = NULL_BODY_STATUS.has(status) ? null : decodeBody(resp.bodyB64);
  return new Response(body, { status, headers: resp.headers ?? [] });
}

/** Response → RESP (reads the body). */
export async function responseToWire(response) {
  if (response.bodyUsed) throw new TypeError("the returned response's body was already read");
  const fetched = response.type !== "default";
  const headers = [...response.headers].filter(
    ([name]) => !(fetched && DROP_FROM_FETCHED.has(name)),
  );
  const bytes = response.body == null ? null : new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers, bodyB64: encodeBody(bytes) };
}

/** §17.2: a Response as it is; undefined → empty 200; anything else → JSON. */
export function resultToResponse(value) {
  if (value instanceof Response) return value;
  if (value === undefined) return new Response(null, { status: 200 });
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(`the handler returned a ${typeof value}, which has no JSON form`);
  }
  return new Response(text, { status: 200, headers: { "content-type": "application/json" } });
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
