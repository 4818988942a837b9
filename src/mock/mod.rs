//! `mcpgw upstream mock`: a real Streamable HTTP MCP server for labs and tests.
//!
//! - `rpc`: JSON-RPC 2.0 messages, classification and error objects.
//! - `methods`: what each MCP method answers, in the `initialize` era (2025-03-26 to
//!   2025-11-25) and the `server/discover` era (2026-07-28).
//! - `modern`: the 2026-07-28 request rules (envelope, routing headers, versions) and which
//!   era a request belongs to; `--modern-only` serves that era alone.
//! - `http`: the `/mcp` endpoint: JSON or SSE answers, batches, 202 for notifications, 405, 413.
//! - `oauth`: `--oauth`, the same endpoint behind the mock's own authorization server.
//! - `api`: `/api/…`, a small REST API (to-dos, a prompt, a resource) for projects whose own
//!   routes become MCP tools.
//!
//! Use it in-process with [`spawn`] / [`spawn_with`] (tests, `mcpgw dev`), or with [`app`] /
//! [`serve`] on a listener of your own.

mod api;
mod http;
mod methods;
mod modern;
pub mod oauth;
mod rpc;

pub use http::{MAX_BODY_BYTES, app, app_with};
pub use methods::{HANDSHAKE_VERSIONS, SERVER_NAME, SUPPORTED_VERSIONS};
pub use modern::MODERN_VERSION;
pub use oauth::{IssMode, OAuthOptions, OAuthUrls, PreRegisteredClient, PrmAt};

use axum::serve::ListenerExt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why the mock could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the mock server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("the mock server task ended abnormally: {0}")]
    Task(#[source] tokio::task::JoinError),
}

/// How the mock runs: open (the default) or behind its own authorization server, speaking
/// both protocol eras (the default) or 2026-07-28 only.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// `Some`: `--oauth` with these switches.
    pub oauth: Option<OAuthOptions>,
    /// `--modern-only`: serve 2026-07-28 requests only; session-era requests (`initialize`,
    /// no envelope) get HTTP 400 `-32022` naming `["2026-07-28"]`.
    pub modern_only: bool,
}

/// Serves the open mock on `listener` until `shutdown` completes, then finishes the requests
/// in flight (graceful shutdown).
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MockError> {
    serve_with(listener, MockOptions::default(), shutdown).await
}

/// [`serve`] with options. The issuer and resource of a protected mock derive from the
/// listener's address ([`origin`]).
pub async fn serve_with(
    listener: TcpListener,
    options: MockOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MockError> {
    let bound = listener.local_addr().map_err(MockError::Serve)?;
    let mcp = app_with(options.modern_only).merge(api::app());
    let router = match options.oauth {
        Some(opts) => oauth::app(mcp, &origin(bound), opts),
        None => mcp,
    };
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    // Connection info lets the `/__mock/` test hooks answer loopback peers only.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(MockError::Serve)
}

/// The address a client uses: an unspecified bind address (0.0.0.0, ::) becomes loopback.
pub fn client_addr(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    }
}

/// The origin clients use for a bound address, e.g. `http://127.0.0.1:9001`.
pub fn origin(bound: SocketAddr) -> String {
    format!("http://{}", client_addr(bound))
}

/// The MCP endpoint URL for a bound address.
pub fn endpoint_url(addr: SocketAddr) -> String {
    format!("http://{addr}/mcp")
}

/// Binds `addr` (e.g. `"127.0.0.1:0"`) and serves the mock on a background task.
pub async fn spawn(addr: &str) -> Result<MockHandle, MockError> {
    spawn_with(addr, MockOptions::default()).await
}

/// [`spawn`] with options, e.g. `--oauth` switches.
pub async fn spawn_with(addr: &str, options: MockOptions) -> Result<MockHandle, MockError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MockError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    spawn_on_with(listener, options)
}

/// Serves the mock on an already bound listener, on a background task.
pub fn spawn_on(listener: TcpListener) -> Result<MockHandle, MockError> {
    spawn_on_with(listener, MockOptions::default())
}

/// [`spawn_on`] with options.
pub fn spawn_on_with(listener: TcpListener, options: MockOptions) -> Result<MockHandle, MockError> {
    let addr = listener.local_addr().map_err(MockError::Serve)?;
    let oauth = options
        .oauth
        .as_ref()
        .map(|o| OAuthUrls::new(&origin(addr), o));
    let token = CancellationToken::new();
    let stop = token.clone();
    let task = tokio::spawn(serve_with(listener, options, async move {
        stop.cancelled().await
    }));
    Ok(MockHandle {
        url: endpoint_url(client_addr(addr)),
        addr,
        oauth,
        token,
        task,
    })
}

/// A running mock. Dropping it asks the server to stop; [`MockHandle::shutdown`] also waits.
#[derive(Debug)]
pub struct MockHandle {
    /// The MCP endpoint, e.g. `http://127.0.0.1:9001/mcp`.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// With `--oauth`: the issuer, PRM and endpoint URLs.
    pub oauth: Option<OAuthUrls>,
    token: CancellationToken,
    task: JoinHandle<Result<(), MockError>>,
}

impl MockHandle {
    /// A token that stops the server when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Stops accepting connections, lets requests in flight finish, and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), MockError> {
        self.token.cancel();
        (&mut self.task).await.map_err(MockError::Task)?
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        self.token.cancel();
    }
}
