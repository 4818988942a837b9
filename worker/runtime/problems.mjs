// `HttpProblems`, `HttpStatusCode` and `ProblemResponseFormatter`: problem documents in the
// generic format of §16.0 (application/problem+json, 2-space JSON, trace with request id).

let buildId = "mcpgw-worker";

/** Set from `init.buildId` when the gateway sends one, so traces match the gateway's own. */
export function setBuildId(id) {
  if (typeof id === "string" && id) buildId = id;
}

// [method name, status, title]; titles are the reason phrases the gateway uses.
const PROBLEMS = [
  ["badRequest", 400, "Bad Request"],
  ["unauthorized", 401, "Unauthorized"],
  ["paymentRequired", 402, "Payment Required"],
  ["forbidden", 403, "Forbidden"],
  ["notFound", 404, "Not Found"],
  ["methodNotAllowed", 405, "Method Not Allowed"],
  ["notAcceptable", 406, "Not Acceptable"],
  ["proxyAuthenticationRequired", 407, "Proxy Authentication Required"],
  ["requestTimeout", 408, "Request Timeout"],
  ["conflict", 409, "Conflict"],
  ["gone", 410, "Gone"],
  ["lengthRequired", 411, "Length Required"],
  ["preconditionFailed", 412, "Precondition Failed"],
  ["payloadTooLarge", 413, "Payload Too Large"],
  ["contentTooLarge", 413, "Payload Too Large"],
  ["uriTooLong", 414, "URI Too Long"],
  ["unsupportedMediaType", 415, "Unsupported Media Type"],
  ["rangeNotSatisfiable", 416, "Range Not Satisfiable"],
  ["expectationFailed", 417, "Expectation Failed"],
  ["imATeapot", 418, "I'm a teapot"],
  ["misdirectedRequest", 421, "Misdirected Request"],
  ["unprocessableEntity", 422, "Unprocessable Entity"],
  ["unprocessableContent", 422, "Unprocessable Entity"],
  ["locked", 423, "Locked"],
  ["failedDependency", 424, "Failed Dependency"],
  ["tooEarly", 425, "Too Early"],
  ["upgradeRequired", 426, "Upgrade Required"],
  ["preconditionRequired", 428, "Precondition Required"],
  ["tooManyRequests", 429, "Too Many Requests"],
  ["requestHeaderFieldsTooLarge", 431, "Request Header Fields Too Large"],
  ["unavailableForLegalReasons", 451, "Unavailable For Legal Reasons"],
  ["internalServerError", 500, "Internal Server Error"],
  ["notImplemented", 501, "Not Implemented"],
  ["badGateway", 502, "Bad Gateway"],
  ["serviceUnavailable", 503, "Service Unavailable"],
  ["gatewayTimeout", 504, "Gateway Timeout"],
  ["httpVersionNotSupported", 505, "HTTP Version Not Supported"],
  ["variantAlsoNegotiates", 506, "Variant Also Negotiates"],
  ["insufficientStorage", 507, "Insufficient Storage"],
  ["loopDetected", 508, "Loop Detected"],
  ["notExtended", 510, "Not Extended"],
  ["networkAuthenticationRequired", 511, "Network Authentication Required"],
];

function titleOf(status) {
  return PROBLEMS.find(([, s]) => s === status)?.[2] ?? "Error";
}

function pathOf(request) {
  try {
    return new URL(request.url).pathname;
  } catch {
    return "";
  }
}

/** The §16.0 document for `status`, `overrides` replacing or adding members. */
export function problemDocument(status, request, context, overrides = {}) {
  const doc = {
    type: `https://httpproblems.com/http-status/${status}`,
    title: titleOf(status),
    status,
  };
  if (overrides?.detail !== undefined) doc.detail = overrides.detail;
  doc.instance = request ? pathOf(request) : "";
  doc.trace = {
    timestamp: new Date().toISOString(),
    requestId: context?.requestId ?? "",
    buildId,
  };
  return { ...doc, ...(overrides ?? {}) };
}

export class ProblemResponseFormatter {
  /** problem+json Response for a problem document. */
  static format(problem, request, context, additionalHeaders) {
    const headers = new Headers(additionalHeaders ?? {});
    headers.set("content-type", "application/problem+json");
    return new Response(JSON.stringify(problem, null, 2), {
      status: problem?.status ?? 500,
      headers,
    });
  }
}

export const HttpProblems = {};
for (const [name, status] of PROBLEMS) {
  HttpProblems[name] = (request, context, overrides, additionalHeaders) =>
    ProblemResponseFormatter.format(
      problemDocument(status, request, context, overrides),
      request,
      context,
      additionalHeaders,
    );
}
Object.freeze(HttpProblems);

const STATUS_NAMES = {
  CONTINUE: 100, SWITCHING_PROTOCOLS: 101, OK: 200, CREATED: 201, ACCEPTED: 202,
  NO_CONTENT: 204, MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, NOT_MODIFIED: 304,
  TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308,
};
export const HttpStatusCode = Object.freeze({
  ...STATUS_NAMES,
  ...Object.fromEntries(
    PROBLEMS.map(([name, status]) => [name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(), status]),
  ),
});
