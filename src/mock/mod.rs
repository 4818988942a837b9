//! `mcpgw upstream mock`: a real Streamable HTTP MCP server for labs and tests.
//!
//! - `rpc`: JSON-RPC 2.0 messages, classification and error objects.
//! - `methods`: what each MCP method answers, in the `initialize` era (2025-03-26 to
//!   2025-11-25) and the `server/discover` era (2026-07-28).
//! - `http`: the `/mcp` endpoint: JSON or SSE answers, batches, 202 for notifications, 405, 413.
//!
//! Use it in-process with [`spawn`] (tests, `mcpgw dev`), or with [`app`] / [`serve`] on a
//! listener of your own.

mod http;
mod methods;
mod rpc;

pub use http::{MAX_BODY_BYTES, app};
pub use methods::{HANDSHAKE_VERSIONS, MODERN_VERSION, SERVER_NAME, SUPPORTED_VERSIONS};

use axum::serve::ListenerExt;
use std::future::Future;
use std::net::SocketAddr;
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

/// Serves the mock on `listener` until `shutdown` completes, then finishes the requests in
/// flight (graceful shutdown).
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), MockError> {
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app())
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(MockError::Serve)
}

/// The MCP endpoint URL for a bound address.
pub fn endpoint_url(addr: SocketAddr) -> String {
    format!("http://{addr}/mcp")
}

/// Binds `addr` (e.g. `"127.0.0.1:0"`) and serves the mock on a background task.
pub async fn spawn(addr: &str) -> Result<MockHandle, MockError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| MockError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    spawn_on(listener)
}

/// Serves the mock on an already bound listener, on a background task.
pub fn spawn_on(listener: TcpListener) -> Result<MockHandle, MockError> {
    let addr = listener.local_addr().map_err(MockError::Serve)?;
    let token = CancellationToken::new();
    let stop = token.clone();
    let task = tokio::spawn(serve(listener, async move { stop.cancelled().await }));
    Ok(MockHandle {
        url: endpoint_url(addr),
        addr,
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
