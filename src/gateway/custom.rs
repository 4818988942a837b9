//! Custom code in `mcpgw dev` (SPEC §17.4, D11, D23, D25 c/d): the gateway's side.
//!
//! Owns: [`CustomState`] (the `--node` choice, the per-call time limit, where the worker is
//! written, Node found once, the [`CustomCode`] handle, what `runtimeInit` registered), which
//! pieces of a project need the worker ([`project_needs_worker`], [`route_needs_worker`]),
//! turning a gateway request into the protocol's REQ and a RESP back into a response, and how
//! each [`CustomError`] is answered (500 with `cause` for user errors, 504 for a timeout, 500
//! for a stopped worker, D11's 501 with the Node advice). The pipeline, the outbound stage
//! and `route` call the worker through these helpers; this file imports none of them.

use crate::config::policies::PolicyConfig;
use crate::config::policies::basic::RateLimitBy;
use crate::config::policies::capability_filter::AccessControl;
use crate::config::policies::handlers::HandlerConfig;
use crate::custom::protocol::{
    Hooks, IncomingProperties, RouteInfo, WireContext, WireRequest, WireResponse, decode_body,
    encode_body,
};
use crate::custom::{CustomCode, CustomError, InitInfo, Launch, Node, NodeError};
use crate::validate::Report;
use crate::web::problem::{GatewayError, Problem};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// How `mcpgw dev` runs custom code, shared by every request.
pub struct CustomState {
    /// `--node PATH`; else `node` on PATH.
    pub node_path: Option<PathBuf>,
    /// `--custom-timeout`.
    pub timeout: Duration,
    /// Where the embedded worker is written (`<state dir>/worker`).
    pub worker_dir: PathBuf,
    /// Runs this script instead of the embedded worker's `main.mjs` (tests; a worker checkout).
    pub worker_main: Option<PathBuf>,
    node: OnceCell<Result<Node, NodeError>>,
    code: OnceCell<Arc<CustomCode>>,
    /// What the running worker's `runtimeInit` registered (updated at each start).
    init: Mutex<Option<InitInfo>>,
}

impl Default for CustomState {
    fn default() -> Self {
        CustomState {
            node_path: None,
            timeout: crate::custom::DEFAULT_TIMEOUT,
            worker_dir: std::env::temp_dir().join("mcpgw-worker"),
            worker_main: None,
            node: OnceCell::new(),
            code: OnceCell::new(),
            init: Mutex::new(None),
        }
    }
}

impl CustomState {
    /// The usable Node, looked for once.
    pub async fn node(&self) -> Result<&Node, &NodeError> {
        self.node
            .get_or_init(|| crate::custom::node::find(self.node_path.as_deref()))
            .await
            .as_ref()
    }

    /// The custom-code handle, or why there is none (no suitable Node). The worker itself
    /// starts with the first call.
    pub async fn code(&self, report: &Report) -> Result<&Arc<CustomCode>, CustomError> {
        let node = self
            .node()
            .await
            .map_err(|e| CustomError::NoNode(e.clone()))?;
        self.code
            .get_or_try_init(|| async {
                let launch = self.launch(node.clone(), report)?;
                Ok(Arc::new(CustomCode::new(launch, self.timeout)))
            })
            .await
    }

    fn launch(&self, node: Node, report: &Report) -> Result<Launch, CustomError> {
        let main = match &self.worker_main {
            Some(m) => m.clone(),
            None => crate::custom::install_worker(&self.worker_dir)
                .map_err(|e| CustomError::Start(format!("{}: {e}", self.worker_dir.display())))?,
        };
        let project = &report.project;
        let env = project
            .env
            .names()
            .filter_map(|n| project.env.get(n).map(|v| (n.to_string(), v.value)))
            .collect();
        let runtime = "modules/zuplo.runtime.ts";
        Ok(Launch {
            node,
            main,
            project: project.root.clone(),
            env,
            runtime_module: project
                .root
                .join(runtime)
                .is_file()
                .then(|| runtime.to_string()),
            start_timeout: self.timeout.max(Duration::from_secs(10)),
        })
    }

    /// Starts (or, after a reload, restarts) the worker when `report`'s project needs one and
    /// Node is suitable; logs the outcome. Never fails the gateway: a route that needs the
    /// worker answers the reason.
    pub async fn start_for(&self, report: &Report, restart: bool) {
        if !project_needs_worker(report) {
            self.set_init(None);
            if let Some(code) = self.code.get() {
                code.stop().await;
            }
            return;
        }
        let code = match self.code(report).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(target: "mcpgw::worker", "custom code will answer 501: {e}");
                return;
            }
        };
        let started = if restart {
            match self.launch(code_node(self).await, report) {
                Ok(l) => code.restart(Some(l)).await,
                Err(e) => Err(e),
            }
        } else {
            code.init().await
        };
        match started {
            Ok(init) => {
                let hooks = init.hooks.registered();
                if !hooks.is_empty() {
                    tracing::info!(target: "mcpgw::worker", ?hooks, "runtimeInit registers hooks; they run in the worker");
                }
                self.set_init(Some(init));
            }
            Err(e) => {
                self.set_init(None);
                tracing::warn!(target: "mcpgw::worker", "the custom-code worker did not start: {e}");
            }
        }
    }

    fn set_init(&self, init: Option<InitInfo>) {
        match self.init.lock() {
            Ok(mut g) => *g = init,
            Err(p) => *p.into_inner() = init,
        }
    }

    /// The hooks the running worker's `runtimeInit` registered (D25 c; none when no worker
    /// runs): the gateway calls the worker only for these, so projects without hooks pay
    /// nothing.
    pub fn hooks(&self) -> Hooks {
        match self.init.lock() {
            Ok(g) => g.as_ref().map(|i| i.hooks.clone()).unwrap_or_default(),
            Err(p) => p
                .into_inner()
                .as_ref()
                .map(|i| i.hooks.clone())
                .unwrap_or_default(),
        }
    }

    /// [`CustomState::hooks`], waiting for the worker's start when `report`'s
    /// `modules/zuplo.runtime.ts` mentions hooks and no start reported yet (a request that
    /// comes before the start finished must not skip them). Without a suitable Node: none
    /// (every route answers D25 c's 501 instead); a worker that cannot start: its error.
    pub async fn hooks_for(&self, report: &Report) -> Result<Hooks, CustomError> {
        let known = match self.init.lock() {
            Ok(g) => g.as_ref().map(|i| i.hooks.clone()),
            Err(p) => p.into_inner().as_ref().map(|i| i.hooks.clone()),
        };
        if let Some(h) = known {
            return Ok(h);
        }
        if runtime_hook_names(report).is_empty() {
            return Ok(Hooks::default());
        }
        match self.code(report).await {
            Err(CustomError::NoNode(_)) => Ok(Hooks::default()),
            Err(e) => Err(e),
            Ok(code) => {
                let init = code.init().await?;
                let hooks = init.hooks.clone();
                self.set_init(Some(init));
                Ok(hooks)
            }
        }
    }

    /// The custom-code handle when one exists already (no Node search, no start): what the
    /// response-sending step asks, so a project without custom code does nothing there.
    pub fn running(&self) -> Option<&Arc<CustomCode>> {
        self.code.get()
    }

    /// Stops the worker (gateway shutdown).
    pub async fn stop(&self) {
        if let Some(code) = self.code.get() {
            code.stop().await;
        }
    }
}

/// The Node found at start (only called once the handle exists, so Node was found).
async fn code_node(state: &CustomState) -> Node {
    match state.node().await {
        Ok(n) => n.clone(),
        // unreachable: the handle exists only with a Node
        Err(_) => Node {
            path: PathBuf::from("node"),
            version: String::new(),
        },
    }
}

/// `$import(./…)`: a module of the project (the worker's business).
pub fn is_custom_module(module: &str) -> bool {
    module.starts_with("$import(./") || module.starts_with("$import(../")
}

/// Whether the route at `route` uses a piece the worker runs: a custom handler, a custom
/// inbound or outbound policy, a `rateLimitBy: "function"` policy, a capability filter in
/// function mode.
pub fn route_needs_worker(report: &Report, route: usize) -> bool {
    let project = &report.project;
    let Some(r) = project.routes.get(route) else {
        return false;
    };
    if let Some(Some(HandlerConfig::Unsupported { module, .. })) = report.model.handlers.get(route)
        && is_custom_module(module)
    {
        return true;
    }
    r.inbound.iter().chain(&r.outbound).any(|name| {
        project.policy_position(&name.value).is_some_and(|i| {
            project.policies[i].handler.is_custom_module()
                || matches!(
                    report.model.policies.get(i),
                    Some(PolicyConfig::RateLimit(l)) if matches!(l.by, RateLimitBy::Function { .. })
                )
                || matches!(
                    report.model.policies.get(i),
                    Some(PolicyConfig::CapabilityFilter(c)) if matches!(c.access, AccessControl::Function { .. })
                )
        })
    })
}

/// Whether any route needs the worker, or `modules/zuplo.runtime.ts` registers hooks (by its
/// text: the worker reports what `runtimeInit` really registered once it runs).
pub fn project_needs_worker(report: &Report) -> bool {
    (0..report.project.routes.len()).any(|i| route_needs_worker(report, i))
        || runtime_mentions_hooks(report)
}

fn runtime_mentions_hooks(report: &Report) -> bool {
    !runtime_hook_names(report).is_empty()
}

/// The hooks `modules/zuplo.runtime.ts` mentions, by its text (what D25 c's 501 names when
/// no worker can run them).
pub fn runtime_hook_names(report: &Report) -> Vec<&'static str> {
    let Some(file) = report.project.plugin.file else {
        return Vec::new();
    };
    let text = &report.project.sources.get(file).text;
    [
        "addRequestHook",
        "addPreRoutingHook",
        "addResponseSendingHook",
        "addResponseSendingFinalHook",
        "problemResponseFormat",
        "notFoundHandler",
    ]
    .into_iter()
    .filter(|h| text.contains(h))
    .collect()
}

/// The options of a policy as user code gets them (after `$env`).
pub fn policy_options(report: &Report, policy: usize) -> serde_json::Value {
    report
        .project
        .policies
        .get(policy)
        .and_then(|p| p.handler.options.as_ref())
        .map(|o| o.to_json())
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()))
}

/// The module and export of a `rateLimitBy: "function"` identifier, a capability filter's
/// resolver or a policy's handler.
pub fn module_and_export(report: &Report, policy: usize) -> (String, String) {
    if let Some(PolicyConfig::RateLimit(l)) = report.model.policies.get(policy)
        && let RateLimitBy::Function { module, export } = &l.by
    {
        return (
            crate::custom::import_path(module).to_string(),
            export.clone(),
        );
    }
    if let Some(PolicyConfig::CapabilityFilter(c)) = report.model.policies.get(policy)
        && let AccessControl::Function { module, export } = &c.access
    {
        return (
            crate::custom::import_path(module).to_string(),
            export.clone(),
        );
    }
    let h = &report.project.policies[policy].handler;
    (
        crate::custom::import_path(h.module()).to_string(),
        h.export().to_string(),
    )
}

/// The parts of a request user code sees.
pub struct RequestParts<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub params: &'a [(String, String)],
    pub user: Option<&'a serde_json::Value>,
}

/// REQ (`http://localhost<path>?<query>`).
pub fn wire_request(p: RequestParts<'_>) -> WireRequest {
    let url = match p.query {
        Some(q) => format!("http://localhost{}?{q}", p.path),
        None => format!("http://localhost{}", p.path),
    };
    WireRequest {
        method: p.method.to_string(),
        url,
        headers: wire_headers(p.headers),
        body_b64: encode_body(p.body),
        body_pending: false,
        body_unchanged: false,
        params: p
            .params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
        user: p.user.cloned(),
    }
}

pub fn wire_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Headers from the wire; names or values HTTP cannot carry are dropped.
pub fn header_map(headers: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// CTX of a request.
pub fn wire_context(
    report: &Report,
    route: usize,
    request_id: &str,
    client_ip: Option<IpAddr>,
) -> WireContext {
    let r = report.project.routes.get(route);
    WireContext {
        request_id: request_id.to_string(),
        route: RouteInfo {
            path: r.map(|r| r.path.value.clone()).unwrap_or_default(),
            operation_id: r.map(|r| r.operation_id().to_string()).unwrap_or_default(),
        },
        incoming_request_properties: IncomingProperties {
            ip: client_ip
                .map(|ip| ip.to_string())
                .unwrap_or_else(|| "127.0.0.1".to_string()),
        },
        parent_call_id: None,
        raw_call_tool_request: None,
    }
}

/// A REQ's URL as a gateway path and query (`http://localhost/x?y` → `/x`, `y`); a relative
/// URL is read against `http://localhost`, as `invokeRoute` does (§17.2).
pub fn path_and_query(url: &str) -> Result<(String, Option<String>), String> {
    let base = url::Url::parse("http://localhost/").map_err(|e| e.to_string())?;
    let u = base
        .join(url)
        .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    Ok((u.path().to_string(), u.query().map(str::to_string)))
}

/// RESP → a response; an undecodable body is a protocol error.
pub fn response_from_wire(w: WireResponse) -> Result<Response, CustomError> {
    let status = StatusCode::from_u16(w.status)
        .map_err(|_| CustomError::Protocol(format!("status {} is not an HTTP status", w.status)))?;
    let body = decode_body(w.body_b64.as_deref())
        .map_err(|e| CustomError::Protocol(format!("bodyB64: {e}")))?;
    response_with_body(status, &w.headers, Body::from(body))
}

/// RESP whose body streams (`bodyStream`) → a response with that body, chunk by chunk as the
/// worker sends them; one that breaks off, or stalls for `idle`, aborts the response (as a
/// broken upstream body does).
pub fn streamed_response_from_wire(
    w: WireResponse,
    chunks: crate::custom::BodyChunks,
    idle: Duration,
) -> Result<Response, CustomError> {
    let status = StatusCode::from_u16(w.status)
        .map_err(|_| CustomError::Protocol(format!("status {} is not an HTTP status", w.status)))?;
    let chunks = futures_util::stream::unfold(chunks, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let body = super::stream::idle_limited(Box::pin(chunks), idle, "the custom handler");
    response_with_body(status, &w.headers, Body::from_stream(body))
}

fn response_with_body(
    status: StatusCode,
    headers: &[(String, String)],
    body: Body,
) -> Result<Response, CustomError> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let mut headers = header_map(headers);
    // the body's length is the server's business (whole: known here; streamed: chunked),
    // whatever user code said
    headers.remove(axum::http::header::CONTENT_LENGTH);
    headers.remove(axum::http::header::TRANSFER_ENCODING);
    *resp.headers_mut() = headers;
    Ok(resp)
}

/// How a failure of custom code is answered; `piece` names what ran (D11, D23, D25 d).
pub fn error_response(piece: &str, e: CustomError, path: &str, request_id: &str) -> Response {
    let at = |p: Problem| p.at(path, request_id).into_response();
    match e {
        CustomError::UserError {
            name,
            message,
            stack,
        } => {
            // D25 d: the cause (message and stack) in the problem, as `zuplo dev` shows it
            // locally; the stack went to the dev log too (CustomCode::call)
            let p = Problem::new(StatusCode::INTERNAL_SERVER_ERROR, message.clone())
                .at(path, request_id);
            let mut doc = p.body();
            doc["cause"] = serde_json::json!({
                "name": name,
                "message": message,
                "stack": stack,
            });
            let body = serde_json::to_string_pretty(&doc).unwrap_or_default();
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json"),
                )],
                body,
            )
                .into_response()
        }
        CustomError::Timeout(d) => at(Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "{piece} did not answer within {} s; the custom-code worker was restarted",
                d.as_secs_f64()
            ),
        )),
        CustomError::WorkerStopped => at(Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the custom-code worker stopped; it is restarting",
        )),
        CustomError::NoNode(n) => at(GatewayError::NotImplemented(format!(
            "mcpgw dev cannot run {piece}: {}",
            n.advice()
        ))
        .into()),
        e @ (CustomError::Start(_) | CustomError::Protocol(_)) => {
            tracing::warn!(target: "mcpgw::worker", request_id, "{piece}: {e}");
            at(Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{piece}: {e}"),
            ))
        }
    }
}
