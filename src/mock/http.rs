//! The Streamable HTTP transport of the mock: one endpoint, `/mcp`.
//!
//! - POST: one JSON-RPC message or a batch. Requests are answered with `application/json`, or
//!   with `text/event-stream` (`event: message` / `data:` lines, each event written as it is
//!   produced) when the client prefers it or a request streams (`slow` with a progress token).
//!   A body of only notifications and responses gets 202 with no body.
//! - GET: 405 (the mock offers no server-initiated stream). DELETE: 200 (session ended).
//! - Sessions: `initialize` issues an `Mcp-Session-Id`, but the mock is stateless: requests are
//!   served with any session id or none.
//! - 2026-07-28 requests pass the revision's rules first (`modern`) and a single request's
//!   JSON error answer gets the revision's HTTP status (400, or 404 for an unknown method); a
//!   batch may not carry one (400, `-32600`). `--modern-only` ([`app_with`]) serves nothing
//!   else: session-era requests, batches and notifications get 400 `-32022`, DELETE 405.

use super::methods::{self, HandlerCtx};
use super::modern::{self, Era};
use super::rpc::{self, INVALID_REQUEST, Incoming, PARSE_ERROR, RpcError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{ACCEPT, ALLOW, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures_util::stream;
use serde_json::Value;
use std::convert::Infallible;
use tokio::sync::mpsc;

/// The largest POST body the mock reads; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");

/// The axum app: `/mcp` and nothing else, serving both eras.
pub fn app() -> Router {
    app_with(false)
}

/// [`app`], or with `modern_only` an endpoint that serves 2026-07-28 requests only.
pub fn app_with(modern_only: bool) -> Router {
    Router::new()
        .route(
            "/mcp",
            post(post_mcp)
                .delete(delete_mcp)
                .fallback(method_not_allowed),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(Wire { modern_only })
}

/// Which eras the endpoint serves.
#[derive(Debug, Clone, Copy)]
struct Wire {
    modern_only: bool,
}

async fn method_not_allowed(State(wire): State<Wire>) -> Response {
    if wire.modern_only {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(ALLOW, "POST")],
            "405 Method Not Allowed: this 2026-07-28 MCP endpoint takes POST only\n",
        )
            .into_response();
    }
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(ALLOW, "POST, DELETE")],
        "405 Method Not Allowed: this MCP endpoint takes POST (and DELETE to end a session)\n",
    )
        .into_response()
}

/// DELETE ends a session: a session-era operation, not served by a 2026-07-28-only endpoint.
async fn delete_mcp(State(wire): State<Wire>) -> Response {
    if wire.modern_only {
        return method_not_allowed(State(wire)).await;
    }
    StatusCode::OK.into_response()
}

/// What the client accepts, as quality values (0 = not acceptable).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Accepts {
    json: f32,
    sse: f32,
}

impl Accepts {
    /// Reads `Accept`; no header means anything (JSON is then chosen).
    fn from_headers(headers: &HeaderMap) -> Accepts {
        let values: Vec<&str> = headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            return Accepts {
                json: 1.0,
                sse: 1.0,
            };
        }
        let mut acc = Accepts {
            json: 0.0,
            sse: 0.0,
        };
        for range in values.iter().flat_map(|v| v.split(',')) {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .filter(|q| q.is_finite())
                .map_or(1.0, |q| q.clamp(0.0, 1.0));
            let (json, sse) = match media.as_str() {
                "application/json" => (true, false),
                "text/event-stream" => (false, true),
                "application/*" => (true, false),
                "text/*" => (false, true),
                "*/*" => (true, true),
                _ => (false, false),
            };
            if json {
                acc.json = acc.json.max(q);
            }
            if sse {
                acc.sse = acc.sse.max(q);
            }
        }
        acc
    }

    /// The client wants SSE more than JSON (or only SSE).
    fn prefers_sse(self) -> bool {
        self.sse > 0.0 && self.sse > self.json
    }
}

/// A JSON body with a status.
fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

/// A transport-level failure: a JSON-RPC error with id null.
fn body_error(status: StatusCode, code: i64, message: &str) -> Response {
    json_response(
        status,
        &rpc::error(Value::Null, &RpcError::new(code, message)),
    )
}

/// A request refused by the 2026-07-28 rules, with its status.
fn refused(id: Value, refusal: &modern::Refusal) -> Response {
    json_response(refusal.status, &rpc::error(id, &refusal.error))
}

async fn post_mcp(
    State(wire): State<Wire>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return body_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                INVALID_REQUEST,
                &format!("Request body larger than {MAX_BODY_BYTES} bytes"),
            );
        }
        Err(rejection) => {
            return body_error(
                StatusCode::BAD_REQUEST,
                PARSE_ERROR,
                &format!("Parse error: {}", rejection.body_text()),
            );
        }
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return body_error(
                StatusCode::BAD_REQUEST,
                PARSE_ERROR,
                &format!("Parse error: {e}"),
            );
        }
    };
    let (batch, messages) = match parsed {
        Value::Array(items) if items.is_empty() => {
            return body_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Invalid Request: empty batch",
            );
        }
        Value::Array(items) => (true, items),
        other => (false, vec![other]),
    };
    let incoming: Vec<Incoming> = messages.iter().map(rpc::classify).collect();
    if !batch && let Some(Incoming::Invalid { id, message }) = incoming.first() {
        return json_response(
            StatusCode::BAD_REQUEST,
            &rpc::error(id.clone(), &RpcError::new(INVALID_REQUEST, message.clone())),
        );
    }
    // The era: a batch is session-era traffic and may not carry a 2026-07-28 message.
    let era = if batch {
        if wire.modern_only {
            return refused(
                Value::Null,
                &modern::session_traffic_refused(&headers, None),
            );
        }
        let modern_item = messages.iter().any(|m| {
            modern::declares_modern(m)
                || m.get("method").and_then(Value::as_str) == Some("server/discover")
        });
        if modern_item {
            return body_error(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                "Invalid Request: 2026-07-28 requests cannot be sent in a JSON-RPC batch",
            );
        }
        Era::Handshake
    } else {
        match incoming.first() {
            Some(Incoming::Request(req)) => {
                match modern::check(&headers, &messages[0], req, wire.modern_only) {
                    Ok(era) => era,
                    Err(refusal) => return refused(req.id.clone(), &refusal),
                }
            }
            _ if wire.modern_only && !modern::claims_modern(&headers, &messages[0]) => {
                return refused(
                    Value::Null,
                    &modern::session_traffic_refused(&headers, None),
                );
            }
            _ => Era::Handshake,
        }
    };
    // Only notifications and responses: accepted, nothing to say.
    if incoming
        .iter()
        .all(|m| matches!(m, Incoming::Notification { .. } | Incoming::Response))
    {
        return StatusCode::ACCEPTED.into_response();
    }

    let session = incoming
        .iter()
        .any(|m| matches!(m, Incoming::Request(r) if r.method == "initialize"))
        .then(|| uuid::Uuid::new_v4().simple().to_string());
    let accepts = Accepts::from_headers(&headers);
    let streams = accepts.sse > 0.0
        && incoming
            .iter()
            .any(|m| matches!(m, Incoming::Request(r) if methods::streams(r)));

    let mut response = if streams || accepts.prefers_sse() {
        sse_response(incoming, era)
    } else {
        let ctx = HandlerCtx { era, sink: None };
        let mut answers = Vec::new();
        for message in &incoming {
            if let Some(answer) = answer(message, &ctx).await {
                answers.push(answer);
            }
        }
        let body = if batch {
            Value::Array(answers)
        } else {
            answers.pop().unwrap_or(Value::Null)
        };
        // a 2026-07-28 error answer carries the revision's status (404 for an unknown method)
        let status = match body["error"]["code"].as_i64() {
            Some(code) if era == Era::Modern => modern::status_of(code),
            _ => StatusCode::OK,
        };
        json_response(status, &body)
    };
    if let Some(id) = session.and_then(|s| HeaderValue::from_str(&s).ok()) {
        response.headers_mut().insert(SESSION_HEADER, id);
    }
    response
}

/// The answer to one message, if it gets one.
async fn answer(message: &Incoming, ctx: &HandlerCtx<'_>) -> Option<Value> {
    match message {
        Incoming::Request(req) => Some(methods::handle(req, ctx).await),
        Incoming::Invalid { id, message } => Some(rpc::error(
            id.clone(),
            &RpcError::new(INVALID_REQUEST, message.clone()),
        )),
        Incoming::Notification { .. } | Incoming::Response => None,
    }
}

/// Answers on an SSE stream: the messages are handled in order by a task that writes every
/// notification and response to the stream as soon as it exists.
fn sse_response(incoming: Vec<Incoming>, era: Era) -> Response {
    let (tx, rx) = mpsc::channel::<Value>(16);
    tokio::spawn(async move {
        for message in &incoming {
            let ctx = HandlerCtx {
                era,
                sink: Some(&tx),
            };
            if let Some(answer) = answer(message, &ctx).await
                && tx.send(answer).await.is_err()
            {
                // The client closed the stream.
                return;
            }
        }
    });
    let events = stream::unfold(rx, |mut rx| async move {
        let message = rx.recv().await?;
        let event = Event::default().event("message").data(message.to_string());
        Some((Ok::<Event, Infallible>(event), rx))
    });
    Sse::new(events).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(value: &str) -> Accepts {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(ACCEPT, v);
        }
        Accepts::from_headers(&headers)
    }

    #[test]
    fn accept_negotiation() {
        assert!(!accepts("application/json, text/event-stream").prefers_sse());
        assert!(accepts("text/event-stream").prefers_sse());
        assert!(accepts("application/json;q=0.5, text/event-stream").prefers_sse());
        assert!(!accepts("application/json").prefers_sse());
        assert!(!accepts("*/*").prefers_sse());
        assert!(!accepts("").prefers_sse());
        assert_eq!(accepts("application/json").sse, 0.0);
        assert_eq!(accepts("text/event-stream;q=bogus").sse, 1.0);
        assert!(!Accepts::from_headers(&HeaderMap::new()).prefers_sse());
    }
}
