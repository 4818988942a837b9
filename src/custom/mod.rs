//! Custom code (`modules/*.ts`) in a Node.js worker (SPEC §17, D23, D25 c/d).
//!
//! Owns: the [`CustomCode`] handle the gateway calls (handler, inbound and outbound policy,
//! rate-limit function; `runtimeInit`'s plugins and hooks), the worker's lifecycle behind it
//! (started on demand, restarted after a crash, a timeout or [`CustomCode::restart`]; an old
//! worker finishes its calls before it is stopped), the embedded worker files written to the
//! state folder, and the typed failures [`CustomError`]. Finding Node is `node`, the wire is
//! `protocol`, one process is `worker`. It never imports the gateway: calls back into it go
//! through [`GatewayCalls`].

pub mod body;
pub mod node;
pub mod protocol;
pub mod worker;

pub use body::{BodyOutcome, CallBodies, PendingBody, ReadBody};
pub use node::{Node, NodeError};
pub use worker::{BodyChunks, GatewayCalls, InitInfo, Launch, Worker};

use protocol::{
    AllowedCapabilities, Call, CallKind, CapabilityFilterResult, InboundResult, RateLimitDetails,
    RateLimitResult, ResponseResult, WireContext, WireError, WireRequest, WireResponse,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The default per-call time limit (`mcpgw dev --custom-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a replaced worker may take to finish its calls before it is stopped.
pub const RETIRE_GRACE: Duration = Duration::from_secs(30);

/// The JS worker, compiled into the binary (`worker/` of the repository).
static WORKER_FILES: include_dir::Dir<'_> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/worker");

/// Why custom code gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomError {
    #[error("the custom code did not answer within {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the custom-code worker stopped; it is restarting")]
    WorkerStopped,
    /// An exception in user code (or a module that failed to load).
    #[error("{message}")]
    UserError {
        name: String,
        message: String,
        stack: String,
    },
    #[error("no suitable Node.js: {}", .0.advice())]
    NoNode(NodeError),
    #[error("the custom-code worker could not be started: {0}")]
    Start(String),
    #[error("the custom-code worker broke the protocol: {0}")]
    Protocol(String),
}

impl CustomError {
    fn user(e: WireError) -> Self {
        CustomError::UserError {
            name: e.name,
            message: e.message,
            stack: e.stack,
        }
    }
}

/// Writes the embedded worker to `dir` (each file only when its content differs) and returns
/// its `main.mjs`.
pub fn install_worker(dir: &Path) -> std::io::Result<PathBuf> {
    write_dir(&WORKER_FILES, dir)?;
    Ok(dir.join("main.mjs"))
}

fn write_dir(d: &include_dir::Dir<'_>, root: &Path) -> std::io::Result<()> {
    for f in d.files() {
        let path = root.join(f.path());
        if std::fs::read(&path).is_ok_and(|old| old == f.contents()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, f.contents())?;
    }
    for sub in d.dirs() {
        write_dir(sub, root)?;
    }
    Ok(())
}

/// What one call needs besides its kind: the module and export, the request and context.
pub struct Target<'a> {
    /// As written after `$import(`, e.g. `./modules/x.ts`.
    pub module: &'a str,
    pub export: &'a str,
}

/// The gateway's handle on custom code: one worker at a time, started when first needed.
pub struct CustomCode {
    launch: std::sync::RwLock<Launch>,
    timeout: Duration,
    current: tokio::sync::Mutex<Option<Arc<Worker>>>,
    /// Requests for which user code added `context.addResponseSendingHook[Final]` hooks that
    /// no worker call has run yet (a result said `pendingResponseHooks`): their response must
    /// go through a `responseSending` hook call even without `runtimeInit` hooks.
    pending_hooks: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl CustomCode {
    pub fn new(launch: Launch, timeout: Duration) -> Self {
        CustomCode {
            launch: std::sync::RwLock::new(launch),
            timeout,
            current: tokio::sync::Mutex::new(None),
            pending_hooks: Default::default(),
        }
    }

    /// Whether a worker result said context hooks wait for `request_id`'s response; forgets
    /// it (asked once, when the response is sent).
    pub fn take_pending_hooks(&self, request_id: &str) -> bool {
        match self.pending_hooks.lock() {
            Ok(mut g) => g.remove(request_id),
            Err(p) => p.into_inner().remove(request_id),
        }
    }

    fn note_pending_hooks(&self, request_id: &str, ok: &Value) {
        if ok
            .get("pendingResponseHooks")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0)
        {
            match self.pending_hooks.lock() {
                Ok(mut g) => g.insert(request_id.to_string()),
                Err(p) => p.into_inner().insert(request_id.to_string()),
            };
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn launch(&self) -> Launch {
        match self.launch.read() {
            Ok(l) => l.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The running worker, started (handshake and `runtimeInit`) when there is none.
    async fn worker(&self) -> Result<Arc<Worker>, CustomError> {
        let mut current = self.current.lock().await;
        if let Some(w) = current.as_ref().filter(|w| w.is_alive()) {
            return Ok(w.clone());
        }
        let w = Arc::new(Worker::start(&self.launch()).await?);
        tracing::info!(target: "mcpgw::worker", node = %w.init.node, "custom-code worker started");
        *current = Some(w.clone());
        Ok(w)
    }

    /// What `runtimeInit` registered (starting the worker when needed).
    pub async fn init(&self) -> Result<InitInfo, CustomError> {
        Ok(self.worker().await?.init.clone())
    }

    /// Replaces the worker (a module changed, or the project's variables): new calls go to a
    /// new worker with `launch`; the old one finishes its calls (up to [`RETIRE_GRACE`]) and
    /// is stopped. The new worker is started now, so `runtimeInit` errors show at once.
    pub async fn restart(&self, launch: Option<Launch>) -> Result<InitInfo, CustomError> {
        if let Some(l) = launch {
            match self.launch.write() {
                Ok(mut g) => *g = l,
                Err(poisoned) => *poisoned.into_inner() = l,
            }
        }
        let old = self.current.lock().await.take();
        if let Some(old) = old {
            tokio::spawn(async move {
                old.drained(RETIRE_GRACE).await;
                old.kill();
            });
        }
        self.init().await
    }

    /// Stops the worker now (gateway shutdown).
    pub async fn stop(&self) {
        if let Some(w) = self.current.lock().await.take() {
            w.kill();
        }
    }

    /// One call with the handle's time limit. A timeout kills the worker (its other calls
    /// fail) and the next call starts a new one; so does a worker that stopped.
    async fn call(&self, call: Call, gateway: &dyn GatewayCalls) -> Result<Value, CustomError> {
        self.call_with(call, gateway, &CallBodies::default()).await
    }

    /// [`Self::call`] with pending bodies the worker may ask for (`readBody`); only a handler's
    /// answer may stream its body ([`Self::call_streamed`]).
    async fn call_with(
        &self,
        call: Call,
        gateway: &dyn GatewayCalls,
        bodies: &CallBodies,
    ) -> Result<Value, CustomError> {
        match self.call_streamed(call, gateway, bodies).await? {
            (ok, None) => Ok(ok),
            (_, Some(_)) => Err(CustomError::Protocol(
                "bodyStream in a result that is not a handler's".into(),
            )),
        }
    }

    /// [`Self::call_with`], with the body that follows a `bodyStream` result.
    async fn call_streamed(
        &self,
        call: Call,
        gateway: &dyn GatewayCalls,
        bodies: &CallBodies,
    ) -> Result<worker::CallOk, CustomError> {
        let w = self.worker().await?;
        let request_id = call.context.request_id.clone();
        let kind = call.kind;
        let outcome = w
            .call(call, &request_id, gateway, bodies, self.timeout)
            .await;
        match &outcome {
            Err(CustomError::Timeout(_)) => {
                tracing::warn!(target: "mcpgw::worker", request_id, kind = kind.as_str(), "custom code timed out; restarting the worker");
                w.kill();
                self.forget(&w).await;
            }
            Err(CustomError::WorkerStopped) => {
                tracing::warn!(target: "mcpgw::worker", request_id, "the custom-code worker stopped; it restarts with the next call");
                self.forget(&w).await;
            }
            Err(CustomError::UserError {
                name,
                message,
                stack,
            }) => {
                tracing::error!(target: "mcpgw::worker", request_id, kind = kind.as_str(), "{name}: {message}\n{stack}");
            }
            Ok((ok, _)) => self.note_pending_hooks(&request_id, ok),
            _ => {}
        }
        outcome
    }

    /// Drops `w` as the current worker (when it still is).
    async fn forget(&self, w: &Arc<Worker>) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, w)) {
            *current = None;
        }
    }

    /// A custom handler: its answer, with the `ZuploMcpSdk` override it set (§15.7), and its
    /// body as it streams when the worker sends it in chunks (`bodyStream`).
    pub async fn call_handler(
        &self,
        target: Target<'_>,
        request: WireRequest,
        context: WireContext,
        gateway: &dyn GatewayCalls,
        bodies: &CallBodies,
    ) -> Result<(ResponseResult, Option<BodyChunks>), CustomError> {
        let call = base(CallKind::Handler, Some(target), request, context);
        let (ok, body) = self.call_streamed(call, gateway, bodies).await?;
        Ok((decode::<ResponseResult>(ok)?, body))
    }

    /// A hook of `runtimeInit` (or the context hooks of a request): `hook` is `preRouting`,
    /// `request`, `responseSending`, `responseSendingFinal`, `problemResponseFormat` or
    /// `notFoundHandler`; `call` carries its `response` / `problem` / `notFoundOptions`.
    /// Neither request nor response in the result: no change.
    pub async fn call_hook(
        &self,
        hook: &str,
        request: WireRequest,
        context: WireContext,
        fill: impl FnOnce(&mut Call),
        gateway: &dyn GatewayCalls,
    ) -> Result<InboundResult, CustomError> {
        let mut call = base(CallKind::Hook, None, request, context);
        call.hook = Some(hook.to_string());
        fill(&mut call);
        decode::<InboundResult>(self.call(call, gateway).await?)
    }

    /// A capability filter's resolver (`accessControl.mode: "function"`, §7.2): the allowed
    /// identifiers per type, or `None` when it returned `null` / `undefined`.
    pub async fn call_capability_filter(
        &self,
        target: Target<'_>,
        policy_name: &str,
        request: WireRequest,
        context: WireContext,
        gateway: &dyn GatewayCalls,
    ) -> Result<Option<AllowedCapabilities>, CustomError> {
        let mut call = base(CallKind::CapabilityFilter, Some(target), request, context);
        call.policy_name = Some(policy_name.to_string());
        decode::<CapabilityFilterResult>(self.call(call, gateway).await?).map(|r| r.allowed)
    }

    /// A custom inbound policy: the request to continue with, or the answer that ends the chain.
    /// `bodies.request` is the request's body when it waits in the gateway (`bodyPending`).
    #[allow(clippy::too_many_arguments)]
    pub async fn call_inbound(
        &self,
        target: Target<'_>,
        policy_name: &str,
        options: Value,
        request: WireRequest,
        context: WireContext,
        gateway: &dyn GatewayCalls,
        bodies: &CallBodies,
    ) -> Result<InboundResult, CustomError> {
        let mut call = base(CallKind::Inbound, Some(target), request, context);
        call.options = Some(options);
        call.policy_name = Some(policy_name.to_string());
        let r = decode::<InboundResult>(self.call_with(call, gateway, bodies).await?)?;
        if r.request.is_none() && r.response.is_none() {
            return Err(CustomError::Protocol(
                "an inbound result needs a request or a response".into(),
            ));
        }
        Ok(r)
    }

    /// A custom outbound policy: the response that goes on. `bodies.response` is the
    /// response's body when it waits in the gateway (`bodyPending`).
    #[allow(clippy::too_many_arguments)]
    pub async fn call_outbound(
        &self,
        target: Target<'_>,
        policy_name: &str,
        options: Value,
        response: WireResponse,
        request: WireRequest,
        context: WireContext,
        gateway: &dyn GatewayCalls,
        bodies: &CallBodies,
    ) -> Result<WireResponse, CustomError> {
        let mut call = base(CallKind::Outbound, Some(target), request, context);
        call.options = Some(options);
        call.policy_name = Some(policy_name.to_string());
        call.response = Some(response);
        decode::<ResponseResult>(self.call_with(call, gateway, bodies).await?).map(|r| r.response)
    }

    /// A `rateLimitBy: "function"` identifier: the key and limits, or `None` (no limit).
    pub async fn call_rate_limit(
        &self,
        target: Target<'_>,
        policy_name: &str,
        request: WireRequest,
        context: WireContext,
        gateway: &dyn GatewayCalls,
    ) -> Result<Option<RateLimitDetails>, CustomError> {
        let mut call = base(CallKind::RateLimit, Some(target), request, context);
        call.policy_name = Some(policy_name.to_string());
        decode::<RateLimitResult>(self.call(call, gateway).await?).map(|r| r.rate_limit)
    }
}

fn base(
    kind: CallKind,
    target: Option<Target<'_>>,
    request: WireRequest,
    context: WireContext,
) -> Call {
    Call {
        kind,
        module: target.as_ref().map(|t| t.module.to_string()),
        export: target.map(|t| t.export.to_string()),
        request,
        context,
        response: None,
        options: None,
        policy_name: None,
        hook: None,
        problem: None,
        not_found_options: None,
    }
}

fn decode<T: serde::de::DeserializeOwned>(ok: Value) -> Result<T, CustomError> {
    serde_json::from_value(ok).map_err(|e| CustomError::Protocol(format!("result: {e}")))
}

/// `$import(./modules/x.ts)` → `./modules/x.ts`; anything else as it is.
pub fn import_path(module: &str) -> &str {
    module
        .strip_prefix("$import(")
        .and_then(|m| m.strip_suffix(')'))
        .unwrap_or(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths() {
        assert_eq!(import_path("$import(./modules/x.ts)"), "./modules/x.ts");
        assert_eq!(import_path("$import(./modules/x)"), "./modules/x");
        assert_eq!(import_path("./y"), "./y");
    }

    #[test]
    fn the_embedded_worker_is_written_once() {
        let dir = tempfile::tempdir().unwrap();
        let main = install_worker(dir.path()).unwrap();
        assert!(main.is_file());
        let before = std::fs::metadata(&main).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        install_worker(dir.path()).unwrap();
        assert_eq!(
            std::fs::metadata(&main).unwrap().modified().unwrap(),
            before
        );
    }
}
