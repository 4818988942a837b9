//! The 2026-07-28 request rules as the mock enforces them: which era a POSTed request belongs
//! to, and for a 2026-07-28 request the revision's ladder, first failure wins:
//!
//! 1. the per-request `_meta` envelope (protocol version and client capabilities): HTTP 400,
//!    `-32602`;
//! 2. `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` mirror the body (a routing header
//!    sent twice never does): HTTP 400, `-32020`;
//! 3. the envelope's version is a string the mock serves: else HTTP 400, `-32602` (not a
//!    string) or `-32022` with `data: {supported, requested}`;
//! 4. methods the revision removed (`initialize`, `ping`, …) are not found: HTTP 404,
//!    `-32601` (answered by `methods`, whose errors get their status from [`status_of`]).
//!
//! A request belongs to the 2026-07-28 era when its envelope names a version that is not a
//! handshake-era one, when `MCP-Protocol-Version` says 2026-07-28, or when it is
//! `server/discover`. With `--modern-only` every other request is refused the way the revision
//! refuses an envelope-less request on a 2026-07-28-only endpoint: HTTP 400, `-32022` naming
//! the versions served.
//!
//! This is the mock's own code on purpose: a test double shares nothing with the gateway it
//! tests (the gateway's rules live in `crate::mcp`).

use super::rpc::{
    HEADER_MISMATCH, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, PARSE_ERROR, Request,
    RpcError, UNSUPPORTED_PROTOCOL_VERSION,
};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use serde_json::{Value, json};

/// The per-request-envelope revision answered by `server/discover`.
pub const MODERN_VERSION: &str = "2026-07-28";
const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";
const METHOD_HEADER: &str = "mcp-method";
const NAME_HEADER: &str = "mcp-name";
pub const PROTOCOL_VERSION_META_KEY: &str = "io.modelcontextprotocol/protocolVersion";
const CLIENT_CAPABILITIES_META_KEY: &str = "io.modelcontextprotocol/clientCapabilities";

/// Every version negotiated by `initialize` that a client may name (the mock answers the ones
/// it speaks and the newest otherwise); an envelope naming one of these is not 2026-07-28.
const HANDSHAKE_ERA: [&str; 5] = [
    "2024-10-07",
    "2024-11-05",
    "2025-03-26",
    "2025-06-18",
    "2025-11-25",
];
/// The revisions served on the per-request-envelope path (the `supported` list of `-32022`).
pub const MODERN_VERSIONS: [&str; 1] = [MODERN_VERSION];
/// Request methods the 2026-07-28 revision removed: sent as 2026-07-28 they are not found.
pub const REMOVED_IN_MODERN: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];
/// What a header-less session-era request speaks (Streamable HTTP: assume 2025-03-26).
const DEFAULT_SESSION_VERSION: &str = "2025-03-26";

/// The protocol era of a request; it decides the rules and the shape of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    Handshake,
    Modern,
}

/// A request refused before any method runs: the JSON-RPC error and its HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: StatusCode,
    pub error: RpcError,
}

impl Refusal {
    fn new(error: RpcError) -> Self {
        Refusal {
            status: status_of(error.code),
            error,
        }
    }

    fn mismatch(message: impl Into<String>) -> Self {
        Refusal::new(RpcError::new(HEADER_MISMATCH, message))
    }
}

/// The HTTP status the 2026-07-28 revision gives a JSON-RPC error of a single request.
pub fn status_of(code: i64) -> StatusCode {
    match code {
        PARSE_ERROR
        | INVALID_REQUEST
        | INVALID_PARAMS
        | HEADER_MISMATCH
        | UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The envelope's protocol version, when it names anything but a handshake-era revision.
pub fn declares_modern(message: &Value) -> bool {
    let declared = message
        .get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(PROTOCOL_VERSION_META_KEY));
    match declared {
        None => false,
        Some(Value::String(v)) => !HANDSHAKE_ERA.contains(&v.as_str()),
        Some(_) => true,
    }
}

/// Whether a message (request or notification) claims the 2026-07-28 era.
pub fn claims_modern(headers: &HeaderMap, message: &Value) -> bool {
    declares_modern(message)
        || header(headers, PROTOCOL_VERSION_HEADER) == Some(MODERN_VERSION)
        || message.get("method").and_then(Value::as_str) == Some("server/discover")
}

/// `-32022` naming what the mock serves on the 2026-07-28 path.
pub fn unsupported(requested: &str) -> Refusal {
    Refusal::new(
        RpcError::new(
            UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version: {requested}"),
        )
        .with_data(json!({ "supported": MODERN_VERSIONS, "requested": requested })),
    )
}

/// `--modern-only`: session-era traffic gets `-32022`; `requested` is what the client speaks
/// (its header, else its `initialize` version, else the transport's default).
pub fn session_traffic_refused(headers: &HeaderMap, message: Option<&Value>) -> Refusal {
    let asked = message
        .filter(|m| m.get("method").and_then(Value::as_str) == Some("initialize"))
        .and_then(|m| m.get("params")?.get("protocolVersion")?.as_str());
    let requested = header(headers, PROTOCOL_VERSION_HEADER)
        .or(asked)
        .unwrap_or(DEFAULT_SESSION_VERSION);
    unsupported(requested)
}

/// The era of one request (not in a batch) and, for a 2026-07-28 request, the ladder of the
/// module docs (rungs 1-3; removed methods are the method table's answer).
pub fn check(
    headers: &HeaderMap,
    message: &Value,
    req: &Request,
    modern_only: bool,
) -> Result<Era, Refusal> {
    if !claims_modern(headers, message) {
        return if modern_only {
            Err(session_traffic_refused(headers, Some(message)))
        } else {
            Ok(Era::Handshake)
        };
    }
    if let Some(name) = [PROTOCOL_VERSION_HEADER, METHOD_HEADER, NAME_HEADER]
        .into_iter()
        .find(|n| headers.get_all(*n).iter().count() > 1)
    {
        return Err(Refusal::mismatch(format!(
            "{name} header appears more than once"
        )));
    }
    // rung 1: the envelope
    let Some(meta) = req.meta() else {
        return Err(Refusal::new(RpcError::invalid_params(format!(
            "Invalid params: params._meta must be an object carrying \"{PROTOCOL_VERSION_META_KEY}\" and \"{CLIENT_CAPABILITIES_META_KEY}\""
        ))));
    };
    let missing: Vec<&str> = [PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY]
        .into_iter()
        .filter(|k| !meta.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::new(RpcError::invalid_params(format!(
            "Invalid params: params._meta is missing {}",
            missing.join(", ")
        ))));
    }
    let version = &meta[PROTOCOL_VERSION_META_KEY];
    // rung 2: the headers mirror the body
    match header(headers, PROTOCOL_VERSION_HEADER) {
        Some(h) if version.as_str() == Some(h) => {}
        _ => {
            return Err(Refusal::mismatch(
                "MCP-Protocol-Version header does not match params._meta's protocol version",
            ));
        }
    }
    if header(headers, METHOD_HEADER) != Some(req.method.as_str()) {
        return Err(Refusal::mismatch(
            "Mcp-Method header does not match the request's method",
        ));
    }
    let name_field = match req.method.as_str() {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    };
    if let Some(field) = name_field
        && let Some(body_value) = req
            .params
            .as_ref()
            .and_then(|p| p.get(field))
            .filter(|v| !v.is_null())
    {
        let sent = header(headers, NAME_HEADER).and_then(decode_name);
        if sent.as_deref() != body_value.as_str() {
            return Err(Refusal::mismatch(format!(
                "Mcp-Name header does not match params.{field}"
            )));
        }
    }
    // rung 3: a version the mock serves
    let Some(version) = version.as_str() else {
        return Err(Refusal::new(RpcError::invalid_params(format!(
            "Invalid params: _meta[\"{PROTOCOL_VERSION_META_KEY}\"] must be a string"
        ))));
    };
    if !MODERN_VERSIONS.contains(&version) {
        return Err(unsupported(version));
    }
    Ok(Era::Modern)
}

/// An `Mcp-Name` value: verbatim, or the payload of a canonical `=?base64?…?=` sentinel;
/// `None` for a malformed sentinel (it never matches).
fn decode_name(value: &str) -> Option<String> {
    let Some(payload) = value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    else {
        return Some(value.to_string());
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let bytes = b64.decode(payload).ok()?;
    (b64.encode(&bytes) == payload)
        .then(|| String::from_utf8(bytes).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn request(message: &Value) -> Request {
        Request {
            id: message["id"].clone(),
            method: message["method"].as_str().unwrap().to_string(),
            params: message.get("params").cloned(),
        }
    }

    fn run(h: &HeaderMap, message: Value, modern_only: bool) -> Result<Era, Refusal> {
        check(h, &message, &request(&message), modern_only)
    }

    fn call(name: &str) -> Value {
        json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,
            "_meta":{PROTOCOL_VERSION_META_KEY:"2026-07-28", CLIENT_CAPABILITIES_META_KEY:{}}}})
    }

    #[test]
    fn the_ladder_in_order() {
        let good = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?ZWNobw==?="),
        ]);
        assert_eq!(run(&good, call("echo"), false), Ok(Era::Modern));
        let r = run(&good, call("add"), false).unwrap_err();
        assert_eq!((r.status, r.error.code), (StatusCode::BAD_REQUEST, -32020));
        let no_caps = json!({"jsonrpc":"2.0","id":1,"method":"tools/list",
            "params":{"_meta":{PROTOCOL_VERSION_META_KEY:"2026-07-28"}}});
        assert_eq!(run(&good, no_caps, false).unwrap_err().error.code, -32602);
        let future = json!({"jsonrpc":"2.0","id":1,"method":"tools/list",
            "params":{"_meta":{PROTOCOL_VERSION_META_KEY:"2099-01-01", CLIENT_CAPABILITIES_META_KEY:{}}}});
        let h = headers(&[
            ("mcp-protocol-version", "2099-01-01"),
            ("mcp-method", "tools/list"),
        ]);
        let r = run(&h, future, false).unwrap_err();
        assert_eq!((r.status, r.error.code), (StatusCode::BAD_REQUEST, -32022));
        assert_eq!(
            r.error.data,
            Some(json!({"supported":["2026-07-28"],"requested":"2099-01-01"}))
        );
    }

    #[test]
    fn session_traffic_passes_unless_modern_only() {
        let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize",
            "params":{"protocolVersion":"2025-06-18"}});
        assert_eq!(
            run(&HeaderMap::new(), init.clone(), false),
            Ok(Era::Handshake)
        );
        let r = run(&HeaderMap::new(), init, true).unwrap_err();
        assert_eq!((r.status, r.error.code), (StatusCode::BAD_REQUEST, -32022));
        assert_eq!(
            r.error.data,
            Some(json!({"supported":["2026-07-28"],"requested":"2025-06-18"}))
        );
        let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list"});
        let r = run(&HeaderMap::new(), list, true).unwrap_err();
        assert_eq!(r.error.data.unwrap()["requested"], "2025-03-26");
        assert_eq!(status_of(-32601), StatusCode::NOT_FOUND);
        assert_eq!(status_of(-32002), StatusCode::OK);
        assert_eq!(decode_name("=?base64?!!?="), None);
    }
}
