//! One running worker process: spawn, handshake, calls, and the calls user code makes back.
//!
//! Owns: starting `node --experimental-strip-types --no-warnings <main.mjs>` (cwd = the project,
//! env = the process's plus the project's `.env` variables), the handshake (`ready`, then
//! `init` → `init_done`), the three pipe tasks (stdin writer; stdout reader that settles
//! pending calls by id, routes `invoke` to the call that made it and `log` to the dev log;
//! stderr lines to the dev log, target `mcpgw::worker`), one call with its deadline, and
//! killing the process. A result whose response says `bodyStream` comes with a [`BodyChunks`]
//! fed by the call's `chunk` / `end` lines. A worker whose stdout ends fails every pending call
//! with [`CustomError::WorkerStopped`] and breaks off every body still streaming; restarting is
//! the handle's job (`custom::CustomCode`).

use super::CustomError;
use super::body::CallBodies;
use super::node::Node;
use super::protocol::{
    Call, FromWorker, Hooks, InboundResult, PROTOCOL_VERSION, Plugin, ReplyOutcome, ToWorker,
    WireRequest, WireResponse,
};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::ChildStdout;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// What user code may ask of the gateway while a call runs; the gateway implements it.
pub trait GatewayCalls: Send + Sync {
    /// `context.invokeRoute`: the matched route's whole pipeline, as a child request of the
    /// call `call_id`. `Err` is the message user code sees thrown.
    fn invoke_route(
        &self,
        call_id: u64,
        request: WireRequest,
    ) -> BoxFuture<'_, Result<WireResponse, String>>;

    /// `context.invokeInboundPolicy`: the one named policy of policies.json on `request`; the
    /// request it let through (maybe changed) or the response it answered with.
    fn invoke_inbound_policy(
        &self,
        call_id: u64,
        policy_name: String,
        request: WireRequest,
    ) -> BoxFuture<'_, Result<InboundResult, String>>;

    /// `context.invokeOutboundPolicy`: the one named policy of policies.json on `response`
    /// (of `request`); the response it returns.
    fn invoke_outbound_policy(
        &self,
        call_id: u64,
        policy_name: String,
        response: WireResponse,
        request: WireRequest,
    ) -> BoxFuture<'_, Result<WireResponse, String>>;
}

/// An `invoke` of user code, for the call that made it.
struct Invoke {
    id: u64,
    op: String,
    request: Option<WireRequest>,
    policy_name: Option<String>,
    response: Option<WireResponse>,
    which: Option<String>,
}

impl Invoke {
    /// Asks `gateway` what the op wants (or `bodies`, for `readBody`): the reply's `ok` object,
    /// or the error user code sees.
    async fn run(
        self,
        call_id: u64,
        gateway: &dyn GatewayCalls,
        bodies: &CallBodies,
    ) -> Result<Value, String> {
        if self.op == "readBody" {
            return bodies.read(self.which.as_deref()).await;
        }
        let missing = |what: &str| Err(format!("{} without {what}", self.op));
        let response = |r: WireResponse| serde_json::json!({ "response": r });
        match (
            self.op.as_str(),
            self.request,
            self.policy_name,
            self.response,
        ) {
            ("invokeRoute", Some(request), _, _) => {
                gateway.invoke_route(call_id, request).await.map(response)
            }
            ("invokeInboundPolicy", Some(request), Some(name), _) => {
                match gateway
                    .invoke_inbound_policy(call_id, name, request)
                    .await?
                {
                    InboundResult {
                        response: Some(r), ..
                    } => Ok(response(r)),
                    InboundResult {
                        request: Some(r), ..
                    } => Ok(serde_json::json!({ "request": r })),
                    _ => Err("the policy gave neither a request nor a response".to_string()),
                }
            }
            ("invokeOutboundPolicy", Some(request), Some(name), Some(resp)) => gateway
                .invoke_outbound_policy(call_id, name, resp, request)
                .await
                .map(response),
            ("invokeRoute" | "invokeInboundPolicy" | "invokeOutboundPolicy", None, _, _) => {
                missing("a request")
            }
            ("invokeInboundPolicy" | "invokeOutboundPolicy", _, None, _) => missing("a policyName"),
            ("invokeOutboundPolicy", _, _, None) => missing("a response"),
            (other, ..) => Err(format!("mcpgw dev does not support {other} yet")),
        }
    }
}

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct Launch {
    pub node: Node,
    /// The worker's `main.mjs`.
    pub main: PathBuf,
    /// The project root: the worker's cwd and `init.project`.
    pub project: PathBuf,
    /// The project's variables (`.env`, `.env.zuplo`), added to the process environment.
    pub env: Vec<(String, String)>,
    /// `modules/zuplo.runtime.ts` when the project has one.
    pub runtime_module: Option<String>,
    /// How long starting (handshake and `runtimeInit`) may take.
    pub start_timeout: Duration,
}

/// What the worker said after `init`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InitInfo {
    pub node: String,
    pub plugins: Vec<Plugin>,
    pub hooks: Hooks,
}

/// The body of a result that said `bodyStream`: its chunks as they arrive; an `Err` (the text
/// of why) when it broke off; the end when the worker sent `end`.
pub type BodyChunks = mpsc::UnboundedReceiver<Result<Bytes, String>>;

/// A call's `ok`, with the body that follows it when the result said `bodyStream`.
pub type CallOk = (Value, Option<BodyChunks>);

/// A call waiting for its result.
struct Pending {
    result: oneshot::Sender<Result<CallOk, CustomError>>,
    /// `invoke` messages of this call.
    invokes: mpsc::UnboundedSender<Invoke>,
    request_id: String,
}

type PendingMap = Arc<Mutex<HashMap<u64, Pending>>>;

/// Bodies still streaming, by call id.
type StreamMap = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Result<Bytes, String>>>>>;

fn lock<T>(p: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match p.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A started worker process.
pub struct Worker {
    stdin: mpsc::UnboundedSender<String>,
    pending: PendingMap,
    next_id: AtomicU64,
    /// Cancelled to kill the process.
    kill: CancellationToken,
    /// Cancelled once stdout ended (the process stopped or closed it).
    stopped: CancellationToken,
    pub init: InitInfo,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill.cancel();
    }
}

impl Worker {
    /// Spawns the process and completes the handshake.
    pub async fn start(launch: &Launch) -> Result<Worker, CustomError> {
        let mut child = tokio::process::Command::new(&launch.node.path)
            .arg("--experimental-strip-types")
            .arg("--no-warnings")
            .arg(&launch.main)
            .current_dir(&launch.project)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                CustomError::Start(format!(
                    "{} {}: {e}",
                    launch.node.path.display(),
                    launch.main.display()
                ))
            })?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(CustomError::Start("the worker's pipes are missing".into()));
        };
        let kill = CancellationToken::new();
        // the process is owned here: it is reaped when it exits, killed when asked
        let reaper_kill = kill.clone();
        tokio::spawn(async move {
            tokio::select! {
                status = child.wait() => {
                    tracing::debug!(target: "mcpgw::worker", ?status, "the worker exited");
                }
                _ = reaper_kill.cancelled() => {
                    let _ = child.kill().await;
                }
            }
        });
        tokio::spawn(forward_stderr(stderr));
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            let mut stdin = stdin;
            while let Some(mut line) = rx.recv().await {
                // one write per message: the worker wakes once, with the whole line
                line.push('\n');
                let written = async {
                    stdin.write_all(line.as_bytes()).await?;
                    stdin.flush().await
                };
                if written.await.is_err() {
                    break;
                }
            }
        });
        let mut lines = BufReader::new(stdout).lines();
        let handshake = async {
            let node = match next_message(&mut lines).await? {
                FromWorker::Ready { protocol, node } if protocol == PROTOCOL_VERSION => node,
                FromWorker::Ready { protocol, .. } => {
                    return Err(CustomError::Protocol(format!(
                        "the worker speaks protocol {protocol}, mcpgw speaks {PROTOCOL_VERSION}"
                    )));
                }
                other => {
                    return Err(CustomError::Protocol(format!(
                        "expected ready, got {other:?}"
                    )));
                }
            };
            let env: Map<String, Value> = launch
                .env
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            send(
                &tx,
                &ToWorker::Init {
                    project: launch.project.display().to_string(),
                    env,
                    runtime_module: launch.runtime_module.clone(),
                },
            )?;
            match next_message(&mut lines).await? {
                FromWorker::InitDone { plugins, hooks } => Ok(InitInfo {
                    node,
                    plugins,
                    hooks,
                }),
                FromWorker::InitFailed { error } => Err(CustomError::user(error)),
                other => Err(CustomError::Protocol(format!(
                    "expected init_done, got {other:?}"
                ))),
            }
        };
        let init = match tokio::time::timeout(launch.start_timeout, handshake).await {
            Ok(Ok(init)) => init,
            Ok(Err(e)) => {
                kill.cancel();
                return Err(e);
            }
            Err(_) => {
                kill.cancel();
                return Err(CustomError::Timeout(launch.start_timeout));
            }
        };
        let pending: PendingMap = Arc::default();
        let stopped = CancellationToken::new();
        tokio::spawn(read_stdout(
            lines,
            pending.clone(),
            StreamMap::default(),
            tx.clone(),
            stopped.clone(),
        ));
        Ok(Worker {
            stdin: tx,
            pending,
            next_id: AtomicU64::new(1),
            kill,
            stopped,
            init,
        })
    }

    /// Whether the process still answers (its stdout is open).
    pub fn is_alive(&self) -> bool {
        !self.stopped.is_cancelled() && !self.kill.is_cancelled()
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        lock(&self.pending).len()
    }

    /// Kills the process; its pending calls fail with [`CustomError::WorkerStopped`].
    pub fn kill(&self) {
        self.kill.cancel();
    }

    /// Waits until no call is in flight, the process stopped, or `grace` passed.
    pub async fn drained(&self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while self.in_flight() > 0 && self.is_alive() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One call: its result (`ok`), or why there is none. `timeout` covers the whole call,
    /// routes it invokes included; on timeout the caller kills the worker. `bodies` are the
    /// call's pending bodies (`readBody`). A streamed body (`bodyStream`) is not under
    /// `timeout`: its reader limits how long it may stall.
    pub async fn call(
        &self,
        call: Call,
        request_id: &str,
        gateway: &dyn GatewayCalls,
        bodies: &CallBodies,
        timeout: Duration,
    ) -> Result<CallOk, CustomError> {
        if !self.is_alive() {
            return Err(CustomError::WorkerStopped);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (result_tx, mut result_rx) = oneshot::channel();
        let (invoke_tx, mut invoke_rx) = mpsc::unbounded_channel();
        lock(&self.pending).insert(
            id,
            Pending {
                result: result_tx,
                invokes: invoke_tx,
                request_id: request_id.to_string(),
            },
        );
        let forget = |e: CustomError| {
            lock(&self.pending).remove(&id);
            Err(e)
        };
        if let Err(e) = send(
            &self.stdin,
            &ToWorker::Call {
                id,
                call: Box::new(call),
            },
        ) {
            return forget(e);
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut invokes = FuturesUnordered::new();
        loop {
            tokio::select! {
                result = &mut result_rx => {
                    return result.unwrap_or(Err(CustomError::WorkerStopped));
                }
                Some(invoke) = invoke_rx.recv() => {
                    invokes.push(async move {
                        let invoke_id = invoke.id;
                        (invoke_id, invoke.run(id, gateway, bodies).await)
                    });
                }
                Some((invoke_id, outcome)) = invokes.next(), if !invokes.is_empty() => {
                    let outcome = match outcome {
                        Ok(ok) => ReplyOutcome::Ok(ok),
                        Err(message) => ReplyOutcome::Error(message),
                    };
                    // a worker that stopped meanwhile fails the call through `result_rx`
                    let _ = send(&self.stdin, &ToWorker::Reply { id: invoke_id, outcome });
                }
                _ = &mut deadline => {
                    return forget(CustomError::Timeout(timeout));
                }
            }
        }
    }
}

fn send(tx: &mpsc::UnboundedSender<String>, msg: &ToWorker) -> Result<(), CustomError> {
    let line = serde_json::to_string(msg).map_err(|e| CustomError::Protocol(e.to_string()))?;
    tx.send(line).map_err(|_| CustomError::WorkerStopped)
}

/// The next protocol message during the handshake; lines that are not JSON are logged and
/// skipped (stdout belongs to the protocol, but a stray line must not end the worker).
async fn next_message(
    lines: &mut Lines<BufReader<ChildStdout>>,
) -> Result<FromWorker, CustomError> {
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => match parse_line(&line) {
                Some(m) => return Ok(m),
                None => continue,
            },
            Ok(None) => {
                return Err(CustomError::Start(
                    "the worker exited before it was ready (the dev log has its output)".into(),
                ));
            }
            Err(e) => return Err(CustomError::Start(e.to_string())),
        }
    }
}

fn parse_line(line: &str) -> Option<FromWorker> {
    if line.trim().is_empty() {
        return None;
    }
    match serde_json::from_str::<FromWorker>(line) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(target: "mcpgw::worker", error = %e, line, "not a protocol message");
            None
        }
    }
}

async fn forward_stderr(stderr: tokio::process::ChildStderr) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(target: "mcpgw::worker", "{line}");
    }
}

/// The worker's stdout after the handshake: results to their calls, invokes to the call that
/// made them, logs to the dev log. At the end every pending call fails.
async fn read_stdout(
    mut lines: Lines<BufReader<ChildStdout>>,
    pending: PendingMap,
    streams: StreamMap,
    stdin: mpsc::UnboundedSender<String>,
    stopped: CancellationToken,
) {
    while let Ok(Some(line)) = lines.next_line().await {
        let Some(msg) = parse_line(&line) else {
            continue;
        };
        match msg {
            FromWorker::Result { id, ok, error } => {
                let Some(p) = lock(&pending).remove(&id) else {
                    // the call timed out meanwhile
                    continue;
                };
                let outcome = match (ok, error) {
                    (_, Some(e)) => Err(CustomError::user(e)),
                    (Some(v), None) if says_body_stream(&v) => {
                        // registered before the result is delivered: no chunk can be missed
                        let (tx, rx) = mpsc::unbounded_channel();
                        lock(&streams).insert(id, tx);
                        Ok((v, Some(rx)))
                    }
                    (Some(v), None) => Ok((v, None)),
                    (None, None) => Err(CustomError::Protocol(format!(
                        "result {id} has neither ok nor error"
                    ))),
                };
                if p.result.send(outcome).is_err() {
                    // the call is gone (its client left): nobody reads the body
                    lock(&streams).remove(&id);
                }
            }
            FromWorker::Chunk { id, body_b64 } => {
                let mut open = lock(&streams);
                let Some(tx) = open.get(&id) else {
                    continue;
                };
                let chunk = super::protocol::decode_body(body_b64.as_deref())
                    .map(Bytes::from)
                    .map_err(|e| format!("the worker sent a chunk that is not base64: {e}"));
                let broken = chunk.is_err();
                // a receiver dropped early (client gone) stops the stream here, not the worker
                if tx.send(chunk).is_err() || broken {
                    open.remove(&id);
                }
            }
            FromWorker::End { id, error } => {
                if let (Some(tx), Some(e)) = (lock(&streams).remove(&id), error) {
                    let _ = tx.send(Err(e));
                }
            }
            FromWorker::Invoke {
                id,
                call_id,
                op,
                request,
                policy_name,
                response,
                which,
            } => {
                let invoke = Invoke {
                    id,
                    op,
                    request: request.map(|r| *r),
                    policy_name,
                    response: response.map(|r| *r),
                    which,
                };
                let routed = lock(&pending)
                    .get(&call_id)
                    .map(|p| p.invokes.send(invoke).is_ok())
                    .unwrap_or(false);
                if !routed {
                    let _ = send(
                        &stdin,
                        &ToWorker::Reply {
                            id,
                            outcome: ReplyOutcome::Error(format!("call {call_id} is over")),
                        },
                    );
                }
            }
            FromWorker::Log {
                call_id,
                level,
                message,
                properties,
            } => {
                let request_id = call_id
                    .and_then(|c| lock(&pending).get(&c).map(|p| p.request_id.clone()))
                    .unwrap_or_default();
                let properties = properties.map(|p| p.to_string()).unwrap_or_default();
                match level.as_str() {
                    "error" => {
                        tracing::error!(target: "mcpgw::worker", request_id, properties, "{message}")
                    }
                    "warn" => {
                        tracing::warn!(target: "mcpgw::worker", request_id, properties, "{message}")
                    }
                    "debug" => {
                        tracing::debug!(target: "mcpgw::worker", request_id, properties, "{message}")
                    }
                    _ => {
                        tracing::info!(target: "mcpgw::worker", request_id, properties, "{message}")
                    }
                }
            }
            other => {
                tracing::warn!(target: "mcpgw::worker", message = ?other, "unexpected message after init");
            }
        }
    }
    stopped.cancel();
    let drained: Vec<Pending> = lock(&pending).drain().map(|(_, p)| p).collect();
    for p in drained {
        let _ = p.result.send(Err(CustomError::WorkerStopped));
    }
    let broken: Vec<_> = lock(&streams).drain().map(|(_, tx)| tx).collect();
    for tx in broken {
        let _ = tx.send(Err(CustomError::WorkerStopped.to_string()));
    }
}

/// Whether a result's `ok.response` says its body follows as `chunk` lines.
fn says_body_stream(ok: &Value) -> bool {
    ok.get("response")
        .and_then(|r| r.get("bodyStream"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}
