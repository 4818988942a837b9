//! Streamed bodies the gateway passes on (an upstream's answer, a custom handler's): the idle
//! limit that ends a stream which stops sending (issue #13). Imports nothing of the gateway,
//! so the proxy and the custom-code bridge share it without importing each other.

use bytes::Bytes;
use std::time::Duration;

/// An upstream body that ends with an error when no bytes arrive for `idle` (issue #13: a
/// stalled body or SSE stream is not held open forever). The error aborts the response, which
/// is how an HTTP server tells a client a streamed body did not complete. `from` names who
/// stalled (`the upstream`, `the custom handler`).
pub(super) fn idle_limited<S, E>(
    stream: S,
    idle: Duration,
    from: &'static str,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
{
    use futures_util::StreamExt;
    futures_util::stream::unfold(Some(stream), move |state| async move {
        let mut stream = state?;
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(stream))),
            Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e.to_string())), None)),
            Ok(None) => None,
            Err(_) => {
                tracing::warn!(
                    idle_secs = idle.as_secs(),
                    "the body from {from} stalled; ending the stream"
                );
                Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no bytes from {from} for {} s", idle.as_secs()),
                    )),
                    None,
                ))
            }
        }
    })
}
