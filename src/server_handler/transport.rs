//! The stateless Streamable HTTP transport of §15.11 in JSON-response mode: the POST checks in
//! 7.6.4's order, and the HTTP shape of the answer.
//!
//! Owns: `Accept` normalisation and 406, 415, 400 parse errors, the batch rule for
//! `initialize`, the `MCP-Protocol-Version` check, 202 for bodies without requests, and
//! [`Answer`] (status plus JSON body) — what [`super::handle`] returns.

use super::rpc::{self, INVALID_REQUEST, Message, PARSE_ERROR, TRANSPORT_ERROR};
use crate::mcp::era::{MODERN_VERSIONS, PROTOCOL_VERSION_HEADER, SESSION_VERSIONS};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub const NOT_ACCEPTABLE: &str =
    "Not Acceptable: Client must accept both application/json and text/event-stream";
pub const UNSUPPORTED_MEDIA_TYPE: &str =
    "Unsupported Media Type: Content-Type must be application/json";
pub const INVALID_JSON: &str = "Parse error: Invalid JSON";
pub const INVALID_MESSAGE: &str = "Parse error: Invalid JSON-RPC message";
pub const ONE_INITIALIZE: &str = "Invalid Request: Only one initialization request is allowed";

/// Every protocol version the route serves: 2026-07-28 (D20, beyond 7.6.4), then 7.6.4's.
pub fn supported_versions() -> Vec<&'static str> {
    MODERN_VERSIONS
        .iter()
        .chain(SESSION_VERSIONS.iter())
        .copied()
        .collect()
}

/// What the handler answers over HTTP: a status and a JSON body (none: 202).
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Option<Value>,
}

impl Answer {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Answer {
            status,
            body: Some(body),
        }
    }

    pub fn accepted() -> Self {
        Answer {
            status: StatusCode::ACCEPTED,
            body: None,
        }
    }

    fn refused(status: StatusCode, code: i64, message: &str) -> Self {
        Answer::json(status, rpc::transport_error(code, message))
    }

    /// The body bytes as they go on the wire.
    pub fn bytes(&self) -> Vec<u8> {
        self.body
            .as_ref()
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default()
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        if self.body.is_none() {
            return self.status.into_response();
        }
        (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.bytes(),
        )
            .into_response()
    }
}

/// A POST that passed the checks: its messages, and whether they came as a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub messages: Vec<Message>,
    pub batch: bool,
}

/// The POST checks of §15.11, first failure wins.
pub fn check(headers: &HeaderMap, body: &[u8]) -> Result<Posted, Answer> {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
        .to_ascii_lowercase();
    // 1: a client that asks for JSON only is served JSON (it is all this transport sends)
    let accept = if accept.contains("application/json") && !accept.contains("text/event-stream") {
        format!("{accept}, text/event-stream")
    } else {
        accept
    };
    // 2: `*/*` and a missing Accept stay as they are, and are refused (as 7.6.4, D20)
    if !(accept.contains("application/json") && accept.contains("text/event-stream")) {
        return Err(Answer::refused(
            StatusCode::NOT_ACCEPTABLE,
            TRANSPORT_ERROR,
            NOT_ACCEPTABLE,
        ));
    }
    // 3
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("application/json"));
    if !json_body {
        return Err(Answer::refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TRANSPORT_ERROR,
            UNSUPPORTED_MEDIA_TYPE,
        ));
    }
    // 4
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Err(Answer::refused(
            StatusCode::BAD_REQUEST,
            PARSE_ERROR,
            INVALID_JSON,
        ));
    };
    let (batch, values) = match value {
        Value::Array(items) => (true, items),
        one => (false, vec![one]),
    };
    let Some(messages) = values.iter().map(rpc::message).collect::<Option<Vec<_>>>() else {
        return Err(Answer::refused(
            StatusCode::BAD_REQUEST,
            PARSE_ERROR,
            INVALID_MESSAGE,
        ));
    };
    // 5
    let initialize = messages
        .iter()
        .any(|m| matches!(m, Message::Request(r) if r.method == "initialize"));
    if initialize && messages.len() > 1 {
        return Err(Answer::refused(
            StatusCode::BAD_REQUEST,
            INVALID_REQUEST,
            ONE_INITIALIZE,
        ));
    }
    // 6
    if !initialize && let Some(version) = headers.get(PROTOCOL_VERSION_HEADER) {
        let version = version.to_str().unwrap_or("");
        let supported = supported_versions();
        if !supported.contains(&version) {
            return Err(Answer::refused(
                StatusCode::BAD_REQUEST,
                TRANSPORT_ERROR,
                &format!(
                    "Bad Request: Unsupported protocol version: {version} (supported versions: {})",
                    supported.join(", ")
                ),
            ));
        }
    }
    Ok(Posted { messages, batch })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn ok_headers() -> HeaderMap {
        headers(&[
            ("accept", "application/json, text/event-stream"),
            ("content-type", "application/json"),
        ])
    }

    const PING: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    #[test]
    fn accept_is_normalised_then_required() {
        let json_only = headers(&[
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ]);
        assert!(check(&json_only, PING).is_ok());
        for accept in [None, Some("*/*"), Some("text/event-stream")] {
            let mut h = headers(&[("content-type", "application/json")]);
            if let Some(a) = accept {
                h.insert("accept", HeaderValue::from_str(a).unwrap());
            }
            let refused = check(&h, PING).unwrap_err();
            assert_eq!(refused.status, StatusCode::NOT_ACCEPTABLE, "{accept:?}");
            assert_eq!(
                String::from_utf8(refused.bytes()).unwrap(),
                r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Not Acceptable: Client must accept both application/json and text/event-stream"},"id":null}"#
            );
        }
    }

    #[test]
    fn content_type_then_parse_then_batch_then_version() {
        let h = headers(&[
            ("accept", "application/json, text/event-stream"),
            ("content-type", "text/plain"),
        ]);
        let r = check(&h, PING).unwrap_err();
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(r.body.unwrap()["error"]["message"], UNSUPPORTED_MEDIA_TYPE);

        let r = check(&ok_headers(), b"{nope").unwrap_err();
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.body.as_ref().unwrap()["error"]["code"], PARSE_ERROR);
        assert_eq!(r.body.unwrap()["error"]["message"], INVALID_JSON);
        let r = check(&ok_headers(), br#"{"id":1}"#).unwrap_err();
        assert_eq!(r.body.unwrap()["error"]["message"], INVALID_MESSAGE);

        let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
        let r = check(&ok_headers(), batch).unwrap_err();
        assert_eq!(r.body.unwrap()["error"]["code"], INVALID_REQUEST);

        let mut h = ok_headers();
        h.insert(
            "mcp-protocol-version",
            HeaderValue::from_static("1999-01-01"),
        );
        let r = check(&h, PING).unwrap_err();
        assert_eq!(
            r.body.unwrap()["error"]["message"],
            "Bad Request: Unsupported protocol version: 1999-01-01 (supported versions: 2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05, 2024-10-07)"
        );
        // initialize is not held to the header
        let init = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
        assert!(check(&h, init).is_ok());
        h.insert(
            "mcp-protocol-version",
            HeaderValue::from_static("2026-07-28"),
        );
        assert!(check(&h, PING).is_ok());
    }

    #[test]
    fn batches_are_read_message_by_message() {
        let posted = check(
            &ok_headers(),
            br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]"#,
        )
        .unwrap();
        assert!(posted.batch);
        assert_eq!(posted.messages.len(), 2);
    }
}
