//! The 2026-07-28 request rules the gateway checks before anything else reads an MCP request
//! (D27), and the one reading of the body that everything after them uses.
//!
//! Owns: [`check_request`]: the era of a POST body (D26), and for a 2026-07-28 request the
//! ladder of that revision, first failure wins: the `_meta` envelope (400, `-32602`), the
//! `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` headers against the body (400,
//! `-32020`), a supported version (400, `-32022` with the supported list), methods the revision
//! removed (404, `-32601`). Session-era requests pass untouched (the proxy is transparent to
//! them, D14). The capability filter and the logs read [`McpRequest`], never a header the
//! body contradicts.

use super::era::{
    self, CLIENT_CAPABILITIES_META_KEY, Era, METHOD_HEADER, MODERN_VERSIONS, NAME_HEADER,
    PROTOCOL_VERSION_HEADER, PROTOCOL_VERSION_META_KEY,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

/// The request is not valid JSON-RPC (a 2026-07-28 batch, say).
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist (on this revision).
pub const METHOD_NOT_FOUND: i64 = -32601;
/// The parameters are invalid: here, the `_meta` envelope.
pub const INVALID_PARAMS: i64 = -32602;
/// 2026-07-28 (SEP-2243): a header disagrees with the body, or a required one is missing.
pub const HEADER_MISMATCH: i64 = -32020;
/// 2026-07-28: the request's protocol version is not supported (`data.supported`).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// What the gateway knows about an MCP request once its rules passed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct McpRequest {
    pub era: Option<Era>,
    /// The JSON-RPC id (absent for notifications and bodies that are not one request).
    pub id: Option<Value>,
    pub method: Option<String>,
    /// `params.name` of `tools/call` / `prompts/get`, `params.uri` of `resources/read`.
    pub name: Option<String>,
    /// The revision a 2026-07-28 request is written in.
    pub protocol_version: Option<String>,
}

impl McpRequest {
    pub fn is_modern(&self) -> bool {
        self.era == Some(Era::Modern)
    }
}

/// A request refused by the rules: a JSON-RPC error with the HTTP status the revision assigns.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: StatusCode,
    pub id: Value,
    pub code: i64,
    pub message: String,
    pub data: Option<Box<Value>>,
}

impl Rejection {
    fn new(status: StatusCode, id: &Value, code: i64, message: impl Into<String>) -> Self {
        Rejection {
            status,
            id: id.clone(),
            code,
            message: message.into(),
            data: None,
        }
    }

    fn mismatch(id: &Value, message: impl Into<String>) -> Self {
        Rejection::new(StatusCode::BAD_REQUEST, id, HEADER_MISMATCH, message)
    }

    /// The JSON-RPC error response body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.clone().into());
        if let Some(d) = &self.data {
            error.insert("data".into(), (**d).clone());
        }
        json!({"jsonrpc": "2.0", "id": self.id, "error": error})
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Reads a POST body on an MCP route and checks the 2026-07-28 rules (module docs). A body that
/// is not one JSON-RPC message of the 2026-07-28 era passes as it is (session era, D14).
pub fn check_request(headers: &HeaderMap, body: &[u8]) -> Result<McpRequest, Rejection> {
    if let Some(name) = duplicated_routing_header(headers) {
        return Err(Rejection::mismatch(
            &Value::Null,
            format!("{name} header appears more than once"),
        ));
    }
    let header_version = header(headers, PROTOCOL_VERSION_HEADER);
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return Ok(McpRequest::default());
    };
    if let Value::Array(items) = &message {
        // batches belong to the session era; a 2026-07-28 message cannot ride in one
        if items.iter().any(|m| declared_version(m).is_some()) {
            return Err(Rejection::new(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                INVALID_REQUEST,
                "2026-07-28 requests cannot be sent in a JSON-RPC batch",
            ));
        }
        return Ok(McpRequest {
            era: Some(Era::Session),
            ..McpRequest::default()
        });
    }
    let Some(obj) = message.as_object() else {
        return Ok(McpRequest::default());
    };
    let id = obj.get("id").cloned();
    let method = obj
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_string);
    let params = obj.get("params").and_then(Value::as_object);
    let name = method
        .as_deref()
        .and_then(era::name_field)
        .and_then(|f| params?.get(f)?.as_str())
        .map(str::to_string);
    let mut request = McpRequest {
        era: Some(Era::Session),
        id: id.clone(),
        method: method.clone(),
        name,
        protocol_version: None,
    };
    let declared = declared_version(&message);
    let header_modern = header_version.is_some_and(era::is_modern_version);
    let discover = method.as_deref() == Some("server/discover");
    if declared.is_none() && !header_modern && !discover {
        return Ok(request);
    }
    request.era = Some(Era::Modern);
    let echo = id.clone().unwrap_or(Value::Null);
    let is_request = id.is_some();

    // rung 1: the per-request envelope
    let meta = params
        .and_then(|p| p.get("_meta"))
        .and_then(Value::as_object);
    let Some(meta) = meta else {
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            &echo,
            INVALID_PARAMS,
            format!(
                "params._meta must be an object carrying the required \"{PROTOCOL_VERSION_META_KEY}\" and \"{CLIENT_CAPABILITIES_META_KEY}\" envelope keys"
            ),
        ));
    };
    let missing: Vec<&str> = [PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY]
        .into_iter()
        .filter(|k| !meta.contains_key(*k))
        .collect();
    if !missing.is_empty() && is_request {
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            &echo,
            INVALID_PARAMS,
            format!(
                "params._meta is missing the required envelope key(s): {}",
                missing.join(", ")
            ),
        ));
    }
    let version = meta.get(PROTOCOL_VERSION_META_KEY);

    // rung 2: the headers mirror the body (required on requests; checked when present on
    // notifications)
    match (header_version, version) {
        (Some(h), Some(v)) if v.as_str() == Some(h) => {}
        (None, _) if !is_request => {}
        _ => {
            return Err(Rejection::mismatch(
                &echo,
                "MCP-Protocol-Version header does not match the request envelope's protocol version",
            ));
        }
    }
    match header(headers, METHOD_HEADER) {
        Some(h) if Some(h) == method.as_deref() => {}
        None if !is_request => {}
        _ => {
            return Err(Rejection::mismatch(
                &echo,
                "Mcp-Method header does not match the request body's method",
            ));
        }
    }
    if let Some(field) = method.as_deref().and_then(era::name_field)
        && let Some(body_value) = params.and_then(|p| p.get(field)).filter(|v| !v.is_null())
    {
        let header_value = header(headers, NAME_HEADER).and_then(decode_header_value);
        if header_value.as_deref() != body_value.as_str() {
            return Err(Rejection::mismatch(
                &echo,
                format!("Mcp-Name header does not match the request body's \"{field}\" parameter"),
            ));
        }
    }

    // rung 3: a version the gateway serves
    let Some(version) = version.and_then(Value::as_str) else {
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            &echo,
            INVALID_PARAMS,
            "the protocol-version envelope value must be a string",
        ));
    };
    if !era::is_modern_version(version) {
        let mut r = Rejection::new(
            StatusCode::BAD_REQUEST,
            &echo,
            UNSUPPORTED_PROTOCOL_VERSION,
            "Unsupported protocol version",
        );
        r.data = Some(Box::new(
            json!({"supported": MODERN_VERSIONS, "requested": version}),
        ));
        return Err(r);
    }
    request.protocol_version = Some(version.to_string());

    // rung 4: methods this revision removed
    if let Some(m) = method
        .as_deref()
        .filter(|m| era::REMOVED_IN_MODERN.contains(m))
        && is_request
    {
        let mut r = Rejection::new(
            StatusCode::NOT_FOUND,
            &echo,
            METHOD_NOT_FOUND,
            format!("Method not found: {m} is not part of protocol revision {version}"),
        );
        r.data = Some(Box::new(json!({"method": m})));
        return Err(r);
    }
    Ok(request)
}

/// The protocol version a message's `_meta` envelope names, when it names one that is not a
/// session-era revision (a session-era client never sends the key).
fn declared_version(message: &Value) -> Option<&Value> {
    let v = message
        .get("params")?
        .get("_meta")?
        .get(PROTOCOL_VERSION_META_KEY)?;
    match v.as_str() {
        Some(s) if era::SESSION_VERSIONS.contains(&s) => None,
        _ => Some(v),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A routing header sent more than once: first-copy and last-copy readers would disagree.
fn duplicated_routing_header(headers: &HeaderMap) -> Option<&'static str> {
    [PROTOCOL_VERSION_HEADER, METHOD_HEADER, NAME_HEADER]
        .into_iter()
        .find(|name| headers.get_all(*name).iter().count() > 1)
}

/// `Mcp-Name` values that would not survive as a header travel as `=?base64?…?=` (SEP-2243);
/// `None` for a malformed sentinel, so a corrupt header never matches by accident.
fn decode_header_value(value: &str) -> Option<String> {
    let Some(payload) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    else {
        return Some(value.to_string());
    };
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine.decode(payload).ok()?;
    // only the canonical encoding the senders emit
    if engine.encode(&bytes) != payload {
        return None;
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn modern_call(name: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": name, "arguments": {},
                "_meta": {PROTOCOL_VERSION_META_KEY: "2026-07-28", CLIENT_CAPABILITIES_META_KEY: {}}}
        }))
        .expect("json")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    fn good() -> HeaderMap {
        headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "echo"),
        ])
    }

    #[test]
    fn a_consistent_modern_request_passes_and_is_read_from_the_body() {
        let r = check_request(&good(), &modern_call("echo")).expect("passes");
        assert!(r.is_modern());
        assert_eq!(r.method.as_deref(), Some("tools/call"));
        assert_eq!(r.name.as_deref(), Some("echo"));
        assert_eq!(r.protocol_version.as_deref(), Some("2026-07-28"));
        assert_eq!(r.id, Some(json!(7)));
    }

    #[test]
    fn headers_that_contradict_the_body_are_refused_with_header_mismatch() {
        for (h, why) in [
            (
                headers(&[
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "other"),
                ]),
                "name differs",
            ),
            (
                headers(&[
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/list"),
                    ("mcp-name", "echo"),
                ]),
                "method differs",
            ),
            (
                headers(&[("mcp-protocol-version", "2026-07-28"), ("mcp-name", "echo")]),
                "method missing",
            ),
            (
                headers(&[
                    ("mcp-protocol-version", "2025-11-25"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "echo"),
                ]),
                "version differs",
            ),
            (
                headers(&[
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", "echo"),
                ]),
                "duplicated",
            ),
        ] {
            let r = check_request(&h, &modern_call("echo")).expect_err(why);
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}");
            assert_eq!(r.code, HEADER_MISMATCH, "{why}");
        }
    }

    #[test]
    fn base64_names_are_decoded_and_bad_sentinels_never_match() {
        let name = "naïve tool";
        let encoded = format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(name)
        );
        let mut h = good();
        h.insert("mcp-name", HeaderValue::from_str(&encoded).expect("ascii"));
        assert!(check_request(&h, &modern_call(name)).is_ok());
        h.insert("mcp-name", HeaderValue::from_static("=?base64?!!!?="));
        assert!(check_request(&h, &modern_call("!!!")).is_err());
    }

    #[test]
    fn unsupported_versions_missing_envelopes_and_removed_methods() {
        let body = |meta: Value, method: &str| {
            serde_json::to_vec(
                &json!({"jsonrpc":"2.0","id":1,"method":method,"params":{"_meta":meta}}),
            )
            .expect("json")
        };
        let h = |v: &str, m: &str| headers(&[("mcp-protocol-version", v), ("mcp-method", m)]);
        let r = check_request(
            &h("2099-01-01", "tools/list"),
            &body(
                json!({PROTOCOL_VERSION_META_KEY:"2099-01-01", CLIENT_CAPABILITIES_META_KEY:{}}),
                "tools/list",
            ),
        )
        .expect_err("unsupported");
        assert_eq!(
            (r.status, r.code),
            (StatusCode::BAD_REQUEST, UNSUPPORTED_PROTOCOL_VERSION)
        );
        assert_eq!(
            r.data.as_deref(),
            Some(&json!({"supported":["2026-07-28"],"requested":"2099-01-01"}))
        );

        let r = check_request(
            &h("2026-07-28", "tools/list"),
            &body(
                json!({PROTOCOL_VERSION_META_KEY:"2026-07-28"}),
                "tools/list",
            ),
        )
        .expect_err("no capabilities");
        assert_eq!(
            (r.status, r.code),
            (StatusCode::BAD_REQUEST, INVALID_PARAMS)
        );

        let r = check_request(
            &h("2026-07-28", "tools/list"),
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        )
        .expect_err("header names 2026-07-28, the body has no envelope");
        assert_eq!(r.code, INVALID_PARAMS);

        for removed in [
            "initialize",
            "ping",
            "logging/setLevel",
            "resources/subscribe",
        ] {
            let r = check_request(
                &h("2026-07-28", removed),
                &body(
                    json!({PROTOCOL_VERSION_META_KEY:"2026-07-28", CLIENT_CAPABILITIES_META_KEY:{}}),
                    removed,
                ),
            )
            .expect_err(removed);
            assert_eq!(
                (r.status, r.code),
                (StatusCode::NOT_FOUND, METHOD_NOT_FOUND)
            );
        }
    }

    #[test]
    fn session_era_requests_and_other_bodies_pass_untouched() {
        let h = headers(&[("mcp-protocol-version", "2025-11-25")]);
        let r = check_request(
            &h,
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        )
        .expect("session era");
        assert_eq!(r.era, Some(Era::Session));
        assert_eq!(r.method.as_deref(), Some("initialize"));
        let r = check_request(
            &HeaderMap::new(),
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}"#,
        )
        .expect("no headers at all: session era");
        assert_eq!(r.name.as_deref(), Some("x"));
        assert!(check_request(&HeaderMap::new(), b"not json").is_ok());
        assert!(check_request(&HeaderMap::new(), b"[1,2]").is_ok());
    }

    #[test]
    fn server_discover_is_modern_by_its_method_and_notifications_need_no_headers() {
        let r = check_request(
            &HeaderMap::new(),
            br#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#,
        )
        .expect_err("discover without an envelope");
        assert_eq!(r.code, INVALID_PARAMS);
        let note = serde_json::to_vec(&json!({"jsonrpc":"2.0","method":"notifications/cancelled",
            "params":{"_meta":{PROTOCOL_VERSION_META_KEY:"2026-07-28"}}}))
        .expect("json");
        assert!(check_request(&HeaderMap::new(), &note).is_ok());
    }

    #[test]
    fn a_rejection_is_a_json_rpc_error_with_its_status() {
        let r = check_request(
            &headers(&[("mcp-protocol-version", "2026-07-28")]),
            &modern_call("echo"),
        )
        .expect_err("no Mcp-Method");
        assert_eq!(
            r.body(),
            json!({"jsonrpc":"2.0","id":7,"error":{"code":-32020,
                "message":"Mcp-Method header does not match the request body's method"}})
        );
        assert_eq!(r.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
