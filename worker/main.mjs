// The custom-code worker's entry point (SPEC §17.4, protocol 1 in README.md): keeps stdout for
// protocol lines only, registers the module resolution hooks, says `ready`, then reads one JSON
// message per stdin line and answers each call when its (async) user code settles.

import { Console } from "node:console";
import { register } from "node:module";
import { createInterface } from "node:readline";
import * as channel from "./channel.mjs";
import { call, init } from "./calls.mjs";
import { BODY_STREAM, errorToWire, streamBody } from "./wire.mjs";

// channel.mjs holds the real stdout writer; everything user code prints goes to stderr.
process.stdout.write = process.stderr.write.bind(process.stderr);
globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });

register(new URL("./loader.mjs", import.meta.url));

process.on("unhandledRejection", (reason) => {
  process.stderr.write(`mcpgw worker: unhandled rejection: ${reason?.stack ?? reason}\n`);
});
process.on("uncaughtException", (error) => {
  process.stderr.write(`mcpgw worker: uncaught exception: ${error?.stack ?? error}\n`);
});

let initialised = null;
let inFlight = 0;
let stdinClosed = false;

// After stdin closes, answer what is in flight, then leave (user timers must not keep us alive).
function track(promise) {
  inFlight++;
  promise.finally(() => {
    inFlight--;
    if (stdinClosed && inFlight === 0) process.exit(0);
  });
}

async function onInit(message) {
  initialised = init(message);
  try {
    channel.send({ type: "init_done", ...(await initialised) });
  } catch (error) {
    channel.send({ type: "init_failed", error: errorToWire(error) });
  }
}

async function onCall(message) {
  let reply;
  try {
    if (!initialised) throw new Error("the worker received a call before init");
    await initialised.catch(() => {}); // calls still run after init_failed: the gateway decides
    reply = { type: "result", id: message.id, ok: await call(message) };
  } catch (error) {
    reply = { type: "result", id: message.id, error: errorToWire(error) };
  }
  channel.send(reply);
  // a handler's body follows its result as chunk lines (README: bodyStream)
  const body = reply.ok?.response?.[BODY_STREAM];
  if (body) await streamBody(message.id, body, channel.send);
}

function onLine(line) {
  if (!line.trim()) return;
  let message;
  try {
    message = JSON.parse(line);
  } catch (error) {
    process.stderr.write(`mcpgw worker: not a JSON line (${error.message}): ${line.slice(0, 200)}\n`);
    return;
  }
  switch (message?.type) {
    case "init":
      track(onInit(message));
      break;
    case "call":
      track(onCall(message));
      break;
    case "reply":
      channel.settleReply(message);
      break;
    default:
      process.stderr.write(`mcpgw worker: unknown message type ${JSON.stringify(message?.type)}\n`);
  }
}

createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on("line", onLine)
  .on("close", () => {
    stdinClosed = true;
    if (inFlight === 0) process.exit(0);
    setTimeout(() => process.exit(0), 5000).unref(); // a call waiting on a reply never gets one

  });

channel.send({ type: "ready", protocol: 1, node: process.version });
