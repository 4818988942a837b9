//! The gateway behind `mcpgw dev`: one axum service built from a validated project.
//!
//! Owns: the served snapshot ([`Served`]: report, route table, per-policy state) behind an
//! atomic pointer so a reload swaps it without touching requests in flight, the request entry
//! point (D10 refusal, registry, routing, then `gateway::route`: pipeline and handler), the
//! access log line, binding and graceful shutdown. Watching files lives in `gateway::reload`.

use super::pipeline::Inbound;
use super::proxy::UpstreamStatus;
use super::registry;
use super::route::CustomCalls;
use super::router::Match;
use super::state::{AppState, Served};
use super::state::{OpenedState, open_state};
use crate::authz::DevLogin;
use crate::mcp::McpRequest;
use crate::store::keyfile::{self};
use crate::web::origin::{self, OriginPolicy};
use crate::web::problem::GatewayError;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How `mcpgw dev` was asked to run.
#[derive(Debug, Clone)]
pub struct DevOptions {
    pub project_dir: PathBuf,
    pub host: String,
    pub port: u16,
    pub public_url: Option<String>,
    pub trust_forwarded_host: bool,
    /// How long in-flight requests may take to finish after a shutdown signal.
    pub shutdown_grace: Duration,
    /// How often the project files are checked for changes.
    pub reload_interval: Duration,
    /// Where `state.db` and `secret.key` live (D9); default `<project>/.mcpgw`.
    pub state_dir: Option<PathBuf>,
    /// Start over without the old `secret.key`: upstream connections sealed with it are deleted.
    pub reset_secret_key: bool,
    /// The upstream response timeout of routes without `requestTimeoutSeconds`.
    pub upstream_timeout_secs: u64,
    /// How long a connection may take to send a request's headers, or stay idle between
    /// requests (slowloris, idle keep-alive).
    pub header_read_timeout: Duration,
    /// How long a streamed upstream body may send nothing before it is ended.
    pub upstream_idle_timeout_secs: u64,
    /// How long connecting to an upstream may take.
    pub upstream_connect_timeout_secs: u64,
    /// Who dev-login signs in (D8) and whether consent is approved by itself.
    pub dev: DevLogin,
    /// `--allow-origin`: browser origins allowed on MCP routes besides the gateway's own (D28).
    pub allow_origins: Vec<String>,
    /// `--audit-log FILE`: `audit-log-inbound` records are appended here too (§16.7).
    pub audit_log: Option<PathBuf>,
    /// `--node PATH`: the Node.js that runs custom code; else `node` on PATH (§17.4).
    pub node: Option<PathBuf>,
    /// `--custom-timeout`: how long one call of custom code may take.
    pub custom_timeout: Duration,
    /// Runs this script as the custom-code worker instead of the embedded `worker/main.mjs`
    /// (tests, and a worker under development).
    pub worker_main: Option<PathBuf>,
}

impl DevOptions {
    /// Where `state.db` and `secret.key` live: `--state-dir`, else `<project>/.mcpgw` (D9).
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| keyfile::default_state_dir(&self.project_dir))
    }

    pub fn new(project_dir: impl Into<PathBuf>) -> Self {
        DevOptions {
            project_dir: project_dir.into(),
            host: "127.0.0.1".to_string(),
            port: 9000,
            public_url: None,
            trust_forwarded_host: false,
            shutdown_grace: Duration::from_secs(10),
            reload_interval: Duration::from_millis(250),
            state_dir: None,
            reset_secret_key: false,
            upstream_timeout_secs: super::state::DEFAULT_UPSTREAM_TIMEOUT_SECS,
            header_read_timeout: Duration::from_secs(30),
            upstream_idle_timeout_secs: super::state::DEFAULT_UPSTREAM_IDLE_TIMEOUT_SECS,
            upstream_connect_timeout_secs: super::state::DEFAULT_UPSTREAM_CONNECT_TIMEOUT_SECS,
            dev: DevLogin::default(),
            allow_origins: Vec::new(),
            audit_log: None,
            node: None,
            custom_timeout: crate::custom::DEFAULT_TIMEOUT,
            worker_main: None,
        }
    }
}

/// The axum app for a state.
pub fn app(state: Arc<AppState>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(state)
}

async fn handle(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let served = state.served.load_full();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    // runtimeInit's response hooks see the request as the client sent it
    let seen = super::hooks::Seen::of(&state, &served, &req);
    let (response, route) = dispatch(&state, &served, peer, request_id.clone(), req).await;
    let calls = CustomCalls::new(&state, &served, Some(peer.ip()), request_id.clone());
    let (response, final_hooks) = super::hooks::response_sending(
        &state,
        &served,
        seen,
        response,
        route,
        &request_id,
        peer.ip(),
        &calls,
    )
    .await;
    if let Some(f) = final_hooks {
        // after the response: not awaited, failures logged
        let (state, served, id) = (state.clone(), served.clone(), request_id.clone());
        tokio::spawn(async move {
            let calls = CustomCalls::new(&state, &served, Some(peer.ip()), id);
            f.run(&calls).await;
        });
    }
    let upstream = response.extensions().get::<UpstreamStatus>().map(|u| u.0);
    // the MCP method as the body says it (D27), never a header; not the name or arguments
    let mcp_method = response
        .extensions()
        .get::<McpRequest>()
        .and_then(|m| m.method.as_deref());
    let (route_path, operation_id) = match route {
        Some(i) => {
            let r = &served.report.project.routes[i];
            (r.path.value.as_str(), r.operation_id())
        }
        None => ("", ""),
    };
    tracing::info!(
        target: "mcpgw::access",
        request_id = %request_id,
        method = %method,
        path = %path,
        route = route_path,
        operation_id = operation_id,
        status = response.status().as_u16(),
        mcp_method,
        latency_ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        upstream_status = upstream,
        "request"
    );
    response
}

async fn dispatch(
    state: &AppState,
    served: &Served,
    peer: SocketAddr,
    request_id: String,
    req: Request<Body>,
) -> (Response, Option<usize>) {
    let path = req.uri().path().to_string();
    if !served.errors.is_empty() {
        return (
            GatewayError::ConfigurationErrors(served.errors.clone())
                .at(&path, &request_id)
                .into_response(),
            None,
        );
    }

    let (mut parts, body) = req.into_parts();
    // runtimeInit's pre-routing hooks: everything after routes the request they return
    let calls = CustomCalls::new(state, served, Some(peer.ip()), request_id.clone());
    let hooked = super::hooks::pre_routing(
        state,
        served,
        &mut parts,
        body,
        &request_id,
        peer.ip(),
        &calls,
    );
    let body = match hooked.await {
        Ok(b) => b,
        Err(resp) => return (resp, None),
    };
    let path = parts.uri.path().to_string();
    if let Some(resp) = super::jwt::well_known(state, served, &parts, &request_id) {
        return (resp, None);
    }
    if let Some(resp) =
        crate::upstream::connect::handle(&state.upstream_env(served), &parts, &request_id).await
    {
        return (resp, None);
    }
    let body = match crate::authz::handle(&state.authz_env(served), &parts, body, &request_id).await
    {
        Ok(resp) => return (resp, None),
        Err(body) => body,
    };
    if let Some(mount) = &served.registry_mount {
        let rest = if mount.is_empty() {
            Some(path.as_str())
        } else {
            path.strip_prefix(mount.as_str())
        };
        if let Some(rest) = rest.filter(|r| r.is_empty() || r.starts_with('/')) {
            // the registry lives beside the routes; a route with the same path wins
            if matches!(
                served.table.lookup(parts.method.as_str(), &path),
                Match::NotFound
            ) {
                let origin = origin::origin(&state.origin, &parts.headers);
                let r = registry::respond(
                    &served.report.project,
                    &served.report.model,
                    &origin,
                    &parts.method,
                    rest,
                    parts.uri.query(),
                );
                return (registry_response(r), None);
            }
        }
    }
    match served.table.lookup(parts.method.as_str(), &path) {
        Match::NotFound => (
            match super::hooks::not_found(state, served, &parts, &request_id, peer.ip(), &calls)
                .await
            {
                Some(answer) => answer,
                None => GatewayError::NoRoute {
                    method: parts.method.to_string(),
                    path: path.clone(),
                }
                .at(&path, &request_id)
                .into_response(),
            },
            None,
        ),
        Match::MethodNotAllowed { allow } => (
            GatewayError::MethodNotAllowed {
                method: parts.method.to_string(),
                path: path.clone(),
                allow: allow.join(", "),
            }
            .at(&path, &request_id)
            .into_response(),
            None,
        ),
        Match::Found { route, params } => {
            let inbound = Inbound {
                method: parts.method,
                path,
                query: parts.uri.query().map(str::to_string),
                headers: parts.headers,
                body,
                buffered: None,
                client_ip: Some(peer.ip()),
                user: None,
                upstream: None,
                params,
                request_id,
                response_filters: Vec::new(),
                mcp: None,
                audits: Vec::new(),
                raw_call_tool_request: None,
            };
            // the route's pipeline and handler (mcpServerHandler routes included)
            (
                super::route::answer(state, served, route, inbound, 0).await,
                Some(route),
            )
        }
    }
}

fn registry_response(r: registry::RegistryResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match r.body {
        Some(v) => Body::from(serde_json::to_vec(&v).unwrap_or_default()),
        None => Body::empty(),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    for (name, value) in r.headers {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// Accepts connections until `stop`, then lets in-flight requests finish for up to `grace`.
/// Every HTTP/1 connection must send a request's headers within `header_timeout`, counted from
/// the first byte of a request or from the moment a kept-alive connection goes idle: a
/// slowloris client or an idle keep-alive connection is closed (issue #13). (`axum::serve`
/// runs hyper without a timer, and so without that limit.)
async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    stop: CancellationToken,
    grace: Duration,
    header_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // a refused or reset connection before accept is the client's problem
                Err(e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        // small JSON-RPC answers must not wait for Nagle's algorithm
        let _ = stream.set_nodelay(true);
        let service =
            app.clone()
                .map_request(move |req: axum::http::Request<hyper::body::Incoming>| {
                    let mut req = req.map(Body::new);
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(grace) => {}
    }
    Ok(())
}

/// A running gateway.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Binds and serves `served` until `shutdown` is cancelled; in-flight requests then get
/// `grace` to finish.
pub async fn start(served: Served, options: &DevOptions) -> std::io::Result<Running> {
    let state = open_state(options.state_dir(), options.reset_secret_key)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    start_with_state(served, options, state).await
}

/// [`start`] with local state already opened.
pub async fn start_with_state(
    served: Served,
    options: &DevOptions,
    opened: OpenedState,
) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port)).await?;
    let addr = listener.local_addr()?;
    let listen_origin = match addr {
        SocketAddr::V6(a) => format!("http://[{}]:{}", a.ip(), a.port()),
        SocketAddr::V4(a) => format!("http://{a}"),
    };
    let origin = OriginPolicy {
        public_url: options.public_url.clone(),
        trust_forwarded_host: options.trust_forwarded_host,
        listen_origin,
        allowed_origins: options.allow_origins.clone(),
    };
    let mut app_state = AppState::new(served, origin, opened.store, opened.secret);
    if options.dev.local_idp {
        app_state.jwt.local = Some(super::jwt::local_issuer(&opened.dir).await?);
    }
    app_state.dev = options.dev.clone();
    if let Some(path) = &options.audit_log {
        app_state.audit = crate::policies::audit_log::AuditSink::with_file(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("--audit-log {}: {e}", path.display()))
        })?;
    }
    app_state.upstream_timeout_secs = options.upstream_timeout_secs;
    app_state.upstream_idle_timeout_secs = options.upstream_idle_timeout_secs;
    let connect = Duration::from_secs(options.upstream_connect_timeout_secs.max(1));
    app_state.client = super::state::http_client(false, connect);
    app_state.client_following = super::state::http_client(true, connect);
    app_state.custom.node_path = options.node.clone();
    app_state.custom.timeout = options.custom_timeout.max(Duration::from_millis(1));
    app_state.custom.worker_dir = opened.dir.join("worker");
    app_state.custom.worker_main = options.worker_main.clone();
    let state = Arc::new(app_state);
    let shutdown = CancellationToken::new();
    // custom code: the worker starts now when the project needs it (a route that needs it
    // waits for the start or answers why there is none); stopped with the gateway
    let custom_state = state.clone();
    let custom_stop = shutdown.clone();
    tokio::spawn(async move {
        let served = custom_state.served.load_full();
        custom_state.custom.start_for(&served.report, false).await;
        custom_stop.cancelled().await;
        custom_state.custom.stop().await;
    });
    // housekeeping: expired codes, tokens and sessions leave the database hourly
    let housekeeping_store = state.store.clone();
    let housekeeping_stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = housekeeping_stop.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(3600)) => {
                    let _ = housekeeping_store.run(|s| s.purge_expired(crate::clock::now_unix())).await;
                }
            }
        }
    });
    let app = app(state.clone());
    let token = shutdown.clone();
    let grace = options.shutdown_grace;
    let header_timeout = options.header_read_timeout;
    let task = tokio::spawn(serve(listener, app, token, grace, header_timeout));
    Ok(Running {
        addr,
        state,
        shutdown,
        task,
    })
}
