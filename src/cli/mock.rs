//! `mcpgw upstream mock`: binds, prints the interop `READY {json}` line on stdout and a human
//! line on stderr, then serves the mock MCP server until Ctrl-C or SIGTERM.

use super::MockArgs;
use crate::mock;
use anyhow::Context;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long requests in flight may run on after the stop signal.
const GRACE: Duration = Duration::from_secs(5);

pub fn run(args: MockArgs) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

/// The address a client uses: an unspecified bind address (0.0.0.0, ::) becomes loopback.
fn client_addr(bound: SocketAddr) -> SocketAddr {
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

async fn serve(args: MockArgs) -> anyhow::Result<u8> {
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let url = mock::endpoint_url(client_addr(bound));

    let ready = serde_json::json!({ "url": url, "port": bound.port() });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "READY {ready}").context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")?;
    drop(stdout);
    eprintln!(
        "mcpgw upstream mock: {} {url} (listening on {bound}; tools echo, add, slow, fail); Ctrl-C to stop",
        mock::SERVER_NAME
    );

    let token = CancellationToken::new();
    let mut server = tokio::spawn(mock::serve(listener, token.clone().cancelled_owned()));
    tokio::select! {
        ended = &mut server => {
            // The server stopped without being asked to.
            ended.context("the mock server task failed")??;
            return Ok(0);
        }
        () = shutdown_signal() => {}
    }
    eprintln!("mcpgw upstream mock: stopping");
    token.cancel();
    match tokio::time::timeout(GRACE, &mut server).await {
        Ok(ended) => ended.context("the mock server task failed")??,
        Err(_) => {
            eprintln!(
                "mcpgw upstream mock: requests still running after {}s were cut off",
                GRACE.as_secs()
            );
            server.abort();
        }
    }
    Ok(0)
}

/// Completes on Ctrl-C, or SIGTERM on Unix. A signal that cannot be watched never fires.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
