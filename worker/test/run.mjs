// The worker's own tests: run with `node worker/test/run.mjs` (Node >= 22.6, or MCPGW_NODE set).
// One worker process serves the fixture project in worker/test/fixture/; every test speaks the
// real protocol to it over stdio.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Worker, ctx, header, nodeBinary, req, resp, text } from "./harness.mjs";

const node = nodeBinary();
if (!node) {
  console.log(`SKIP: the worker needs Node >= 22.6 (this is ${process.version}); set MCPGW_NODE`);
  process.exit(0);
}

const H = "./modules/handlers.ts";
const P = "./modules/policies";
let worker;
let initDone;

before(async () => {
  worker = new Worker(node);
  worker.ready = await worker.next("ready");
  worker.send({
    type: "init",
    project: (await import("./harness.mjs")).FIXTURE,
    env: { FIXTURE_VAR: "from-init" },
    runtimeModule: "modules/zuplo.runtime.ts",
  });
  initDone = await worker.next("init_done");
});

after(() => worker.stop());

test("ready names protocol 1 and the node version", () => {
  assert.equal(worker.ready.protocol, 1);
  if (node === process.execPath) assert.equal(worker.ready.node, process.version);
  assert.match(worker.ready.node, /^v\d+\.\d+\.\d+/);
});

test("init_done reports runtimeInit's plugins with their options, and its hooks", () => {
  assert.deepEqual(initDone.plugins, [
    { name: "McpGatewayPlugin", options: { basePath: "/mcp-base" } },
    { name: "OAuthProtectedResourcePlugin", options: { authorizationServers: ["https://as.example"] } },
    { name: "OpenTelemetryPlugin", options: { exporter: { url: "https://otel.example" } } },
  ]);
  assert.deepEqual(initDone.hooks, {
    request: 1, preRouting: 0, responseSending: 1, responseSendingFinal: 0,
    problemResponseFormat: true, notFoundHandler: true,
  });
});

test("handler returning a Response: status, headers and body as they are", async () => {
  const context = ctx("rid-response");
  const r = await worker.call({ kind: "handler", module: H, export: "asResponse", request: req("/a"), context });
  assert.equal(r.ok.response.status, 201);
  assert.equal(text(r.ok.response), "plain text");
  assert.equal(header(r.ok.response, "content-type"), "text/plain");
  assert.equal(header(r.ok.response, "x-request-id"), "rid-response");
});

test("a handler's body streams: result with bodyStream, then chunk lines as written, then end", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "streams", request: req("/sse") });
  const result = worker.lines.map((l) => JSON.parse(l)).find((m) => m.type === "result" && m.id === r.id);
  assert.equal(result.ok.response.bodyStream, true);
  assert.equal(result.ok.response.bodyB64, null);
  assert.equal(header(r.ok.response, "content-type"), "text/event-stream");
  const chunks = r.stream.chunks.map((c) => c.bytes.toString());
  assert.deepEqual(chunks, ["data: one\n\n", "data: two\n\n"]);
  assert.ok(r.stream.chunks[0].at - r.stream.resultAt < 300, "the first event comes at once");
  assert.ok(r.stream.chunks[1].at - r.stream.chunks[0].at >= 300, "the second when written");
  assert.equal(r.stream.error, undefined);
});

test("a streamed body: big writes split into chunks of at most 64 KiB; a failing stream ends with its error", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "streamsThenFails", request: req("/big") });
  assert.deepEqual(r.stream.chunks.map((c) => c.bytes.length), [65536, 65536, 150000 - 131072]);
  assert.equal(r.stream.error, "the source broke");
});

test("a handler echoing its pending request body streams it (fetched before the result)", async () => {
  worker.onInvoke = async (m) => (m.op === "readBody"
    ? { ok: { bodyB64: Buffer.from("echo me").toString("base64") } }
    : { error: "unexpected" });
  const request = { ...req("/echo", { method: "POST" }), bodyPending: true };
  const r = await worker.call({ kind: "handler", module: H, export: "echoBody", request });
  assert.equal(text(r.ok.response), "echo me");
  assert.equal(r.stream.error, undefined);
});

test("handler returning an object: JSON; extensionless ./util, ./lib (index.ts) and ../util.js (a .ts file) resolve", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "asObject", request: req("/a", { params: { name: "ann" } }) });
  assert.equal(r.stream, undefined, "a JSON answer travels whole, not as chunk lines");
  assert.equal(r.ok.response.bodyStream, undefined);
  assert.equal(header(r.ok.response, "content-type"), "application/json");
  assert.deepEqual(JSON.parse(text(r.ok.response)), { text: "hello ann", lib: "fixture-lib" });
});

test("handler returning undefined: empty 200; context.log.info → a log line with the call id", async () => {
  const call = worker.call({ kind: "handler", module: H, export: "asUndefined", request: req("/u") });
  const r = await call;
  assert.equal(r.ok.response.status, 200);
  assert.equal(r.ok.response.bodyB64, null);
  const line = worker.logs.find((l) => l.callId === call.id);
  assert.equal(line.level, "info");
  assert.match(line.message, /^nothing to return \{ for: 'http:\/\/localhost\/u' \}$/);
});

test("handler returning a string: a JSON string", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "asString", request: req("/s") });
  assert.equal(text(r.ok.response), '"just a string"');
  assert.equal(header(r.ok.response, "content-type"), "application/json");
});

test("default export, module without extension: request fields reach user code", async () => {
  const call = worker.call({
    kind: "handler", module: "./modules/handlers", export: "default",
    request: req("/e/7?x=1&x=2&y=3", { method: "POST", headers: [["x-test", "t"]], body: "payload", params: { id: "7" }, user: { sub: "u1", data: { a: 1 } } }),
  });
  const r = await call;
  assert.deepEqual(JSON.parse(text(r.ok.response)), {
    method: "POST", path: "/e/7", query: { x: "2", y: "3" }, params: { id: "7" },
    user: { sub: "u1", data: { a: 1 } }, body: "payload", header: "t",
  });
  const line = worker.logs.find((l) => l.callId === call.id);
  assert.deepEqual([line.level, line.message, line.properties], ["warn", "echoing /e/7", { handler: "echo" }]);
});

test("a throwing handler: error result with name, message and a stack naming the .ts file", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "throws", request: req("/t") });
  assert.equal(r.ok, undefined);
  assert.equal(r.error.name, "TypeError");
  assert.equal(r.error.message, "boom at nothing");
  assert.match(r.error.stack, /modules\/handlers\.ts:\d+:\d+/);
});

test("context.invokeRoute: an invoke line with the child request; the reply's response returns", async () => {
  let seen;
  worker.onInvoke = (message) => {
    seen = message;
    return { ok: { response: resp(203, JSON.stringify({ inner: "yes" }), [["content-type", "application/json"]]) } };
  };
  const call = worker.call({
    kind: "handler", module: H, export: "callsRoute",
    request: req("/outer", { headers: [["x-test", "not inherited"]], user: { sub: "outer-user" } }),
  });
  const r = await call;
  assert.deepEqual(JSON.parse(text(r.ok.response)), { innerStatus: 203, inner: { inner: "yes" } });
  assert.equal(seen.callId, call.id);
  assert.equal(seen.op, "invokeRoute");
  assert.equal(seen.request.method, "POST");
  assert.equal(seen.request.url, "http://localhost/inner/path?q=1");
  assert.deepEqual(seen.request.headers.filter(([n]) => n.startsWith("x-")), [["x-from", "outer"]]);
  assert.equal(seen.request.user, null);
  assert.equal(Buffer.from(seen.request.bodyB64, "base64").toString(), '{"ask":1}');
});

test("context.invokeRoute: an error reply throws in user code → error result", async () => {
  worker.onInvoke = () => ({ error: "no route matches POST /inner/path" });
  const r = await worker.call({ kind: "handler", module: H, export: "callsRoute", request: req("/outer") });
  assert.match(r.error.message, /invokeRoute failed: no route matches POST \/inner\/path/);
});

test("context.invokeInboundPolicy / invokeOutboundPolicy: invoke lines naming the policy; a request, a response come back", async () => {
  const seen = [];
  worker.onInvoke = (message) => {
    seen.push(message);
    if (message.op === "invokeInboundPolicy" && message.policyName === "set-headers") {
      return { ok: { request: { ...message.request, headers: [...message.request.headers, ["x-set", "by-policy"]] } } };
    }
    if (message.op === "invokeInboundPolicy") return { ok: { response: resp(401, "no key") } };
    return { ok: { response: resp(200, "******") } };
  };
  const call = worker.call({ kind: "handler", module: H, export: "callsPolicies", request: req("/p", { method: "POST", body: "hello" }) });
  const r = await call;
  assert.deepEqual(JSON.parse(text(r.ok.response)), {
    passedIsRequest: true, passedHeader: "by-policy", answeredStatus: 401, outStatus: 200, outBody: "******",
  });
  assert.deepEqual(seen.map((m) => [m.op, m.policyName, m.callId]), [
    ["invokeInboundPolicy", "set-headers", call.id],
    ["invokeInboundPolicy", "api-key", call.id],
    ["invokeOutboundPolicy", "mask", call.id],
  ]);
  assert.equal(Buffer.from(seen[0].request.bodyB64, "base64").toString(), "hello");
  assert.equal(seen[1].request.headers.find(([n]) => n === "x-set")?.[1], "by-policy");
  assert.equal(Buffer.from(seen[2].response.bodyB64, "base64").toString(), "secret");
  assert.equal(seen[2].request.url, "http://localhost/p");
});

test("context.invokeInboundPolicy: an error reply throws in user code → error result", async () => {
  worker.onInvoke = () => ({ error: 'policy "set-headers" is not defined in policies.json' });
  const r = await worker.call({ kind: "handler", module: H, export: "callsPolicies", request: req("/p") });
  assert.match(r.error.message, /invokeInboundPolicy failed: policy "set-headers" is not defined/);
});

test("calls run concurrently: a quick call finishes while another waits on its invoke", async () => {
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  worker.onInvoke = async () => {
    await gate;
    return { ok: { response: resp(200, "{}") } };
  };
  const slow = worker.call({ kind: "handler", module: H, export: "callsRoute", request: req("/slow") });
  const quick = await worker.call({ kind: "handler", module: H, export: "asString", request: req("/q") });
  assert.equal(text(quick.ok.response), '"just a string"');
  let slowDone = false;
  slow.then(() => (slowDone = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(slowDone, false);
  release();
  assert.equal((await slow).ok.response.status, 200);
});

test("environment: init env plus the Zuplo-provided variables", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "env", request: req("/env") });
  assert.deepEqual(JSON.parse(text(r.ok.response)), {
    fromInit: "from-init", stage: "local", type: "development", project: "fixture",
  });
});

test("ZoneCache: a value comes back until its TTL passes", async () => {
  const put = await worker.call({ kind: "handler", module: H, export: "cache", request: req("/c?op=put&value=v1&ttl=0.3") });
  assert.deepEqual(JSON.parse(text(put.ok.response)), { stored: true });
  const get = await worker.call({ kind: "handler", module: H, export: "cache", request: req("/c?op=get") });
  assert.deepEqual(JSON.parse(text(get.ok.response)), { got: { value: "v1" } });
  await new Promise((resolve) => setTimeout(resolve, 400));
  const expired = await worker.call({ kind: "handler", module: H, export: "cache", request: req("/c?op=get") });
  assert.deepEqual(JSON.parse(text(expired.ok.response)), { got: null });
});

test("inbound policy rewriting a header: {request} with options, policyName, user; custom and context hooks carry to the handler call", async () => {
  const context = ctx("rid-shared", "/shared");
  const r = await worker.call({
    kind: "inbound", module: P, export: "rewriteHeader", options: { header: "x-added", value: "v" }, policyName: "rewrite",
    request: req("/shared", { headers: [["x-remove-me", "1"], ["x-keep", "k"]] }), context,
  });
  assert.equal(header(r.ok.request, "x-added"), "v (rewrite)");
  assert.equal(header(r.ok.request, "x-remove-me"), null);
  assert.equal(header(r.ok.request, "x-keep"), "k");
  assert.deepEqual(r.ok.request.user, { sub: "set-by-policy", data: { via: "rewrite" } });
  assert.equal(r.ok.pendingResponseHooks, undefined);

  const h = await worker.call({ kind: "handler", module: H, export: "contextBits", request: r.ok.request, context });
  assert.deepEqual(JSON.parse(text(h.ok.response)), {
    custom: "custom from the policy", user: "absent", ip: "absent",
    route: { path: "/shared", operationId: "op" }, incoming: { ip: "127.0.0.1" }, contextIdIsUuid: true,
  });
  assert.equal(header(h.ok.response, "x-context-hook"), "ran");
});

test("inbound policy answering 401 via HttpProblems.unauthorized: {response} in the §16.0 format", async () => {
  const context = ctx("rid-401");
  const r = await worker.call({ kind: "inbound", module: P, export: "requireKey", options: {}, policyName: "key", request: req("/secure?a=1"), context });
  const response = r.ok.response;
  assert.equal(response.status, 401);
  assert.equal(header(response, "content-type"), "application/problem+json");
  assert.equal(header(response, "www-authenticate"), "Key");
  const body = text(response);
  assert.match(body, /^\{\n  "type": /);
  const doc = JSON.parse(body);
  assert.deepEqual(Object.keys(doc), ["type", "title", "status", "detail", "instance", "trace"]);
  assert.equal(doc.type, "https://httpproblems.com/http-status/401");
  assert.equal(doc.title, "Unauthorized");
  assert.equal(doc.detail, "No key given");
  assert.equal(doc.instance, "/secure");
  assert.equal(doc.trace.requestId, "rid-401");
  assert.ok(!Number.isNaN(Date.parse(doc.trace.timestamp)));

  const ok = await worker.call({ kind: "inbound", module: P, export: "requireKey", options: {}, policyName: "key", request: req("/secure", { headers: [["x-key", "secret"]] }) });
  assert.equal(header(ok.ok.request, "x-key"), "secret");
});

test("inbound policy that read the body and returns the request: the body still travels", async () => {
  const r = await worker.call({ kind: "inbound", module: P, export: "readsBodyAndContinues", options: {}, policyName: "b", request: req("/b", { method: "POST", body: '{"n":1}' }) });
  assert.equal(text(r.ok.request), '{"n":1}');
});

test("inbound policy returning neither request nor response: error result", async () => {
  const r = await worker.call({ kind: "inbound", module: P, export: "returnsNothing", options: {}, policyName: "nothing", request: req("/n") });
  assert.match(r.error.message, /inbound policy 'nothing' must return a ZuploRequest or a Response, not undefined/);
});

test("outbound policy replacing a 500 and passing a 200 through", async () => {
  const fields = { kind: "outbound", module: P, export: "replaceOnError", options: { message: "m" }, policyName: "out", request: req("/o") };
  const r = await worker.call({ ...fields, response: resp(500, "upstream broke") });
  assert.equal(r.ok.response.status, 502);
  assert.equal(header(r.ok.response, "x-outbound"), "out");
  assert.deepEqual(JSON.parse(text(r.ok.response)), { replaced: "upstream broke", message: "m", policyName: "out" });
  const pass = await worker.call({ ...fields, response: resp(200, "fine", [["x-up", "1"]]) });
  assert.equal(pass.ok.response.status, 200);
  assert.equal(text(pass.ok.response), "fine");
  assert.equal(header(pass.ok.response, "x-up"), "1");
});

test("rate-limit function keyed on request.user.sub; null without a user", async () => {
  const fields = { kind: "rateLimit", module: H, export: "rateLimitKey", policyName: "rl" };
  const alice = await worker.call({ ...fields, request: req("/r", { user: { sub: "alice", data: {} } }) });
  assert.deepEqual(alice.ok, { rateLimit: { key: "user-alice", requestsAllowed: 2, timeWindowMinutes: 1 } });
  const vip = await worker.call({ ...fields, request: req("/r", { user: { sub: "vip", data: {} } }) });
  assert.equal(vip.ok.rateLimit.requestsAllowed, 100);
  const anonymous = await worker.call({ ...fields, request: req("/r") });
  assert.deepEqual(anonymous.ok, { rateLimit: null });
});

test("capability-filter function: allowed identifiers per type; nullish → null; a bad shape is an error", async () => {
  const fields = { kind: "capabilityFilter", module: H, export: "allowedCapabilities", policyName: "cf" };
  const admin = await worker.call({ ...fields, request: req("/m", { headers: [["x-role", "admin"]] }) });
  assert.deepEqual(admin.ok, { allowed: { tools: ["read", "write"], prompts: [] } });
  const reader = await worker.call({ ...fields, request: req("/m", { headers: [["x-role", "reader"]] }) });
  assert.deepEqual(reader.ok, { allowed: { tools: ["read"] } });
  const nobody = await worker.call({ ...fields, request: req("/m") });
  assert.deepEqual(nobody.ok, { allowed: null });
  const bad = await worker.call({ ...fields, request: req("/m", { headers: [["x-role", "bad"]] }) });
  assert.equal(bad.error.name, "TypeError");
  assert.match(bad.error.message, /tools must be an array of strings/);
});

test("runtimeInit hooks: request hook continues or answers; response-sending hook; no pre-routing hook → {}", async () => {
  const context = ctx("rid-hooks");
  const pass = await worker.call({ kind: "hook", hook: "request", request: req("/h"), context });
  assert.equal(header(pass.ok.request, "x-request-hook"), "seen");
  const blocked = await worker.call({ kind: "hook", hook: "request", request: req("/h", { headers: [["x-block", "yes"]] }), context });
  assert.equal(blocked.ok.response.status, 418);
  assert.equal(text(blocked.ok.response), "blocked by hook");
  const sending = await worker.call({ kind: "hook", hook: "responseSending", request: req("/h"), response: resp(200, "body"), context });
  assert.equal(header(sending.ok.response, "x-response-hook"), "rid-hooks");
  assert.equal(text(sending.ok.response), "body");
  const pre = await worker.call({ kind: "hook", hook: "preRouting", request: req("/h"), context });
  assert.deepEqual(pre.ok, {});
  const notFound = await worker.call({ kind: "hook", hook: "notFoundHandler", request: req("/nowhere"), context });
  assert.equal(notFound.ok.response.status, 404);
  assert.equal(text(notFound.ok.response), "custom not found: /nowhere");
});

test("problemResponseFormat hook: the gateway's problem in, the project's Response out", async () => {
  const r = await worker.call({ kind: "hook", hook: "problemResponseFormat", request: req("/p"), problem: { status: 403, title: "Forbidden" } });
  assert.equal(r.ok.response.status, 403);
  assert.deepEqual(JSON.parse(text(r.ok.response)), { custom: "Forbidden", path: "/p" });
});

test("context hooks added by an inbound policy that continues: pendingResponseHooks, then they run on the responseSending hook call", async () => {
  const context = ctx("rid-pending");
  const call = worker.call({ kind: "inbound", module: P, export: "addsHooksAndContinues", options: {}, policyName: "hooks", request: req("/ph"), context });
  const r = await call;
  assert.equal(r.ok.pendingResponseHooks, 2);
  const sending = await worker.call({ kind: "hook", hook: "responseSending", request: req("/ph"), response: resp(200, "final body"), context });
  assert.equal(header(sending.ok.response, "x-policy-hook"), "rid-pending");
  assert.equal(header(sending.ok.response, "x-response-hook"), "rid-pending");
  assert.equal(text(sending.ok.response), "final body");
  const line = worker.logs.find((l) => l.message.startsWith("final hook saw"));
  assert.equal(line.message, "final hook saw 200 final body");
  // each runs once
  const again = await worker.call({ kind: "hook", hook: "responseSending", request: req("/ph"), response: resp(200, "x"), context });
  assert.equal(header(again.ok.response, "x-policy-hook"), null);
});

test("waitUntil: the answer comes first; a rejection later becomes an error log line", async () => {
  const call = worker.call({ kind: "handler", module: P, export: "backgroundFailure", request: req("/w") });
  const r = await call;
  assert.equal(text(r.ok.response), '"answered before the background work"');
  const line = await new Promise((resolve) => {
    const poll = () => {
      const found = worker.logs.find((l) => l.callId === call.id && l.level === "error");
      found ? resolve(found) : setTimeout(poll, 10);
    };
    poll();
  });
  assert.match(line.message, /waitUntil promise rejected: Error: late failure/);
});

test("ZuploMcpSdk.setRawCallToolResult: the override travels as mcpOverride next to the response", async () => {
  const r = await worker.call({ kind: "handler", module: P, export: "toolOverride", request: req("/tool", { method: "POST", body: "{}" }) });
  assert.deepEqual(JSON.parse(text(r.ok.response)), { default: "result" });
  assert.deepEqual(r.ok.mcpOverride, { content: [{ type: "text", text: "overridden" }], _meta: { source: "fixture" } });
});

test("ZuploRequest constructor carries params and user over unless init replaces them; query is read-only", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "rebuild", request: req("/rb?x=1", { params: { id: "7" }, user: { sub: "u", data: {} } }) });
  assert.deepEqual(JSON.parse(text(r.ok.response)), {
    copyParams: { id: "7" }, copyUser: { sub: "u", data: {} }, copyHeader: "1",
    replacedParams: { id: "other" }, replacedUser: { sub: "someone-else", data: {} }, queryIsReadOnly: true,
  });
});

test("APIs the stand-in lacks fail loudly: context.addEventListener, a built-in policy class, an unknown @zuplo/runtime import", async () => {
  const r = await worker.call({ kind: "handler", module: H, export: "usesUnavailable", request: req("/x") });
  assert.equal(r.error.message, "not available in mcpgw dev: context.addEventListener (use context.addResponseSendingFinalHook)");
  const builtin = await worker.call({ kind: "handler", module: H, export: "usesBuiltinPolicy", request: req("/x") });
  assert.equal(builtin.error.message, "not available in mcpgw dev: ApiKeyInboundPolicy");
  for (let i = 0; i < 2; i++) {
    const broken = await worker.call({ kind: "handler", module: "./modules/broken.ts", export: "default", request: req("/x") });
    assert.match(broken.error.message, /loading \.\/modules\/broken\.ts failed: .*SomethingZuploHasNot.*\(not available in mcpgw dev: SomethingZuploHasNot\)/);
  }
});

test("a missing module, a missing export and a non-function export are error results", async () => {
  const missing = await worker.call({ kind: "handler", module: "./modules/nope.ts", export: "default", request: req("/x") });
  assert.match(missing.error.message, /module \.\/modules\/nope\.ts not found/);
  const noExport = await worker.call({ kind: "handler", module: H, export: "absent", request: req("/x") });
  assert.equal(noExport.error.message, "module ./modules/handlers.ts has no export 'absent'");
  const notFn = await worker.call({ kind: "handler", module: H, export: "notAFunction", request: req("/x") });
  assert.equal(notFn.error.message, "export 'notAFunction' of ./modules/handlers.ts is a number, not a function");
});

test("init_failed when the runtime module has no runtimeInit; calls still run", async () => {
  const other = new Worker(node);
  await other.next("ready");
  other.send({ type: "init", project: (await import("./harness.mjs")).FIXTURE, env: {}, runtimeModule: "modules/util.ts" });
  const failed = await other.next("init_failed");
  assert.match(failed.error.message, /modules\/util\.ts does not export a function runtimeInit/);
  const r = await other.call({ kind: "handler", module: H, export: "asString", request: req("/s") });
  assert.equal(text(r.ok.response), '"just a string"');
  await other.stop();
});

test("stdin closing: the calls in flight still answer, then the worker exits 0", async () => {
  const other = new Worker(node);
  await other.next("ready");
  other.send({ type: "init", project: (await import("./harness.mjs")).FIXTURE, env: {}, runtimeModule: null });
  const result = other.call({ kind: "handler", module: H, export: "asObject", request: req("/late") });
  const exit = new Promise((resolve) => other.child.once("exit", resolve));
  other.child.stdin.end();
  assert.deepEqual(JSON.parse(text((await result).ok.response)), { text: "hello nobody", lib: "fixture-lib" });
  assert.equal(await exit, 0);
});

// Last on purpose: it checks everything the tests above made the worker print.
test("stdout carried protocol lines only; user console output went to stderr", () => {
  assert.match(worker.stderr, /this goes to stderr, not the protocol/);
  assert.ok(worker.lines.length > 50);
  for (const line of worker.lines) {
    assert.ok(["ready", "init_done", "result", "log", "invoke", "chunk", "end"].includes(JSON.parse(line).type), line);
  }
});

/** Answers `readBody` invokes with `bodies[which]`, counting them; other invokes fail. */
function serveBodies(bodies) {
  const seen = [];
  worker.onInvoke = async (m) => {
    if (m.op !== "readBody") return { error: `unexpected ${m.op}` };
    seen.push({ callId: m.callId, which: m.which });
    const body = bodies[m.which];
    return body === undefined ? { error: "no such body" } : { ok: { bodyB64: Buffer.from(body).toString("base64") } };
  };
  return seen;
}

const pending = (wire) => ({ ...wire, bodyB64: null, bodyPending: true });

test("lazy request body: a policy that does not read it hands the request back bodyUnchanged, no readBody", async () => {
  const seen = serveBodies({ request: '{"n":1}' });
  const r = await worker.call({
    kind: "inbound", module: P, export: "requireKey", options: {}, policyName: "key",
    request: pending(req("/lazy", { method: "POST", headers: [["x-key", "secret"]] })),
  });
  assert.equal(r.ok.request.bodyUnchanged, true);
  assert.equal(r.ok.request.bodyB64, null);
  assert.deepEqual(seen, []);
});

test("lazy request body: reading it sends readBody {which: request} once; the same request goes back bodyUnchanged", async () => {
  const seen = serveBodies({ request: '{"n":1}' });
  const call = worker.call({
    kind: "inbound", module: P, export: "readsBodyAndContinues", options: {}, policyName: "b",
    request: pending(req("/lazy-read", { method: "POST" })),
  });
  const r = await call;
  assert.deepEqual(seen, [{ callId: call.id, which: "request" }]);
  assert.equal(r.ok.request.bodyUnchanged, true);
  assert.match(worker.logs.find((l) => l.callId === call.id).message, /body seen \{ n: 1 \}/);
});

test("lazy request body: a policy that builds a new body sends its bytes", async () => {
  const seen = serveBodies({ request: '{"n":21}' });
  const r = await worker.call({
    kind: "inbound", module: P, export: "doublesN", options: {}, policyName: "d",
    request: pending(req("/lazy-change", { method: "POST" })),
  });
  assert.equal(seen.length, 1);
  assert.equal(r.ok.request.bodyUnchanged, undefined);
  assert.deepEqual(JSON.parse(text(r.ok.request)), { n: 42 });
});

test("lazy response body: an outbound policy that only sets a header keeps it bodyUnchanged, no readBody", async () => {
  const seen = serveBodies({ response: "data: 1\n\n" });
  const r = await worker.call({
    kind: "outbound", module: P, export: "marksResponse", options: {}, policyName: "m",
    request: req("/sse"), response: pending(resp(200, null, [["content-type", "text/event-stream"]])),
  });
  assert.deepEqual(seen, []);
  assert.equal(r.ok.response.bodyUnchanged, true);
  assert.equal(r.ok.response.bodyB64, null);
  assert.equal(header(r.ok.response, "x-marked"), "yes");
  assert.equal(header(r.ok.response, "content-type"), "text/event-stream");
});

test("lazy response body: an outbound policy that reads it gets it via readBody {which: response}", async () => {
  const seen = serveBodies({ response: "boom" });
  const call = worker.call({
    kind: "outbound", module: P, export: "replaceOnError", options: { message: "m" }, policyName: "out",
    request: req("/o"), response: pending(resp(500, null)),
  });
  const r = await call;
  assert.deepEqual(seen, [{ callId: call.id, which: "response" }]);
  assert.deepEqual(JSON.parse(text(r.ok.response)).replaced, "boom");
});

test("lazy response body: a failed readBody is the error user code sees", async () => {
  serveBodies({});
  const r = await worker.call({
    kind: "outbound", module: P, export: "replaceOnError", options: { message: "m" }, policyName: "out",
    request: req("/o"), response: pending(resp(500, null)),
  });
  assert.match(r.error.message, /readBody failed: no such body/);
});
