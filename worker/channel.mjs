// The worker's side of the stdio protocol (version 1, see README.md): writes protocol lines to
// the ORIGINAL stdout (user output is redirected to stderr by main.mjs) and keeps the worker's
// own requests to the gateway (`invoke`) waiting for their `reply`.

const writeStdout = process.stdout.write.bind(process.stdout);

/** Writes one protocol object as one JSON line. */
export function send(message) {
  writeStdout(JSON.stringify(message) + "\n");
}

let nextInvokeId = 1;
const pendingInvokes = new Map();

/**
 * Asks the gateway to do something on behalf of call `callId` (op "invokeRoute", ...); resolves
 * with the reply's `ok` object, rejects with an Error carrying the reply's `error` text.
 */
export function invoke(callId, op, fields) {
  const id = nextInvokeId++;
  return new Promise((resolve, reject) => {
    pendingInvokes.set(id, { resolve, reject, op });
    send({ type: "invoke", id, callId, op, ...fields });
  });
}

/** Settles the invoke a `reply` line answers; unknown ids are reported on stderr. */
export function settleReply(reply) {
  const pending = pendingInvokes.get(reply.id);
  if (!pending) {
    process.stderr.write(`mcpgw worker: reply for unknown invoke id ${reply.id}\n`);
    return;
  }
  pendingInvokes.delete(reply.id);
  if (reply.error !== undefined) {
    pending.reject(new Error(`${pending.op} failed: ${String(reply.error)}`));
  } else {
    pending.resolve(reply.ok ?? {});
  }
}

/** Sends a `log` line for call `callId` (no reply). */
export function log(callId, level, message, properties) {
  send({ type: "log", callId, level, message, properties: properties ?? {} });
}
