// Test harness for the worker: spawns worker/main.mjs on Node >= 22.6 and speaks protocol 1 over
// its stdio, as the Rust side does (calls, replies to invokes, log lines collected).

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const MAIN = fileURLToPath(new URL("../main.mjs", import.meta.url));
export const FIXTURE = fileURLToPath(new URL("./fixture", import.meta.url));

/** MCPGW_NODE, else the node running this test; null when it cannot strip types. */
export function nodeBinary() {
  const node = process.env.MCPGW_NODE || process.execPath;
  if (node === process.execPath) {
    const [major, minor] = process.versions.node.split(".").map(Number);
    if (major < 22 || (major === 22 && minor < 6)) return null;
  }
  return node;
}

export class Worker {
  constructor(node) {
    this.child = spawn(node, ["--experimental-strip-types", "--no-warnings", MAIN], {
      cwd: FIXTURE,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.lines = [];
    this.logs = [];
    this.stderr = "";
    this.pending = new Map();
    this.streams = new Map();
    this.waiters = [];
    this.onInvoke = async () => ({ error: "no invoke handler in this test" });
    this.child.stderr.on("data", (chunk) => (this.stderr += chunk));
    createInterface({ input: this.child.stdout }).on("line", (line) => this.#line(line));
    this.nextId = 1;
  }

  #line(line) {
    this.lines.push(line);
    const message = JSON.parse(line); // a non-JSON line fails the run: stdout must stay clean
    if (message.type === "result" && message.ok?.response?.bodyStream === true) {
      // the body follows as chunk lines: the call resolves at `end`, with the body put together
      // and `stream` = {resultAt, chunks: [{at, bytes}], error}
      this.streams.set(message.id, { message, resultAt: Date.now(), chunks: [], error: undefined });
    } else if (message.type === "result") {
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    } else if (message.type === "chunk" || message.type === "end") {
      const stream = this.streams.get(message.id);
      if (!stream) throw new Error(`${message.type} for call ${message.id}, which streams no body`);
      if (message.type === "chunk") {
        stream.chunks.push({ at: Date.now(), bytes: Buffer.from(message.bodyB64, "base64") });
      } else {
        this.streams.delete(message.id);
        stream.error = message.error;
        const result = stream.message;
        result.ok.response.bodyB64 = Buffer.concat(stream.chunks.map((c) => c.bytes)).toString("base64");
        result.stream = stream;
        this.pending.get(message.id)?.(result);
        this.pending.delete(message.id);
      }
    } else if (message.type === "log") {
      this.logs.push(message);
    } else if (message.type === "invoke") {
      Promise.resolve(this.onInvoke(message)).then((answer) =>
        this.send({ type: "reply", id: message.id, ...answer }),
      );
    }
    for (const waiter of this.waiters.splice(0)) waiter(message);
  }

  send(message) {
    this.child.stdin.write(JSON.stringify(message) + "\n");
  }

  /** The next line of type `type`. */
  next(type, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} line within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      const wait = (message) => {
        if (message.type === type) {
          clearTimeout(timer);
          resolve(message);
        } else this.waiters.push(wait);
      };
      this.waiters.push(wait);
    });
  }

  /** Sends a call and resolves with its result line. */
  call(fields) {
    const id = this.nextId++;
    const result = new Promise((resolve) => this.pending.set(id, resolve));
    this.send({ type: "call", id, context: ctx(), ...fields });
    return Object.assign(result, { id });
  }

  stop() {
    this.child.stdin.end();
    return new Promise((resolve) => this.child.once("exit", resolve));
  }
}

export function req(path, { method = "GET", headers = [], body = null, params = {}, user = null } = {}) {
  return {
    method,
    url: `http://localhost${path}`,
    headers,
    bodyB64: body == null ? null : Buffer.from(body).toString("base64"),
    params,
    user,
  };
}

export function resp(status, body, headers = []) {
  return { status, headers, bodyB64: body == null ? null : Buffer.from(body).toString("base64") };
}

export function ctx(requestId = crypto.randomUUID(), path = "/x") {
  return { requestId, route: { path, operationId: "op" }, incomingRequestProperties: { ip: "127.0.0.1" } };
}

export function text(wire) {
  return wire.bodyB64 == null ? null : Buffer.from(wire.bodyB64, "base64").toString("utf8");
}

export function header(wire, name) {
  return wire.headers.find(([n]) => n === name)?.[1] ?? null;
}
