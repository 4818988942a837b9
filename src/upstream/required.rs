//! Connect-required answers (SPEC D5, D26, §6.6), in the era of the request they answer.
//!
//! Session era (2025-11-25 and earlier), D5: a JSON-RPC error over HTTP 200 that tells the
//! client its user must connect an upstream (`-32042` with a URL elicitation) or that an
//! administrator must (`-32600`, no URL). The payload sits under `data.connectRequired` (the
//! runtime's shape) and is mirrored at `data`'s top level (the docs' shape).
//!
//! 2026-07-28, D26 (see [`Shape`] for which request gets which answer):
//! - `tools/call`, `prompts/get`, `resources/read` from a client that declared URL-mode
//!   elicitation: an `InputRequiredResult` whose URL-mode input request carries the connect
//!   URL (for a shared upstream, the URL an administrator opens) and a signed `requestState`;
//!   the client opens the URL and retries the same request.
//! - `server/discover`: the gateway's own discovery result. The revision gives a gateway no
//!   rule here, and an error is no option: the TS SDK v2 (2.4) drops every JSON-RPC error of
//!   its `server/discover` probe (pinned: `ERA_NEGOTIATION_FAILED`, no message, no data; auto:
//!   a silent downgrade to 2025-11-25). So the client connects, and its next request meets
//!   one of the other two answers, which carry the URL.
//! - everything else (the lists, a client without URL-mode elicitation, a notification): the
//!   D5 error unchanged. A result of these methods cannot be `input_required`; `-32042` with
//!   `data.elicitations` is what the TS SDK v2 raises as `UrlElicitationRequiredError` (the
//!   URL in hand, in either era) and the Python SDK as an `MCPError` with the data.

use crate::mcp::era::Era;
use crate::mcp::input_required;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

pub const URL_ELICITATION_REQUIRED: i64 = -32042;
pub const INVALID_REQUEST: i64 = -32600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredState {
    /// No usable connection yet.
    Authenticating,
    /// A connection existed but its refresh failed, or step-up needs a wider scope.
    ReconsentRequired,
    /// Shared upstream with no connection.
    AdminConnectRequired,
}

impl RequiredState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Authenticating => "authenticating",
            Self::ReconsentRequired => "reconsent_required",
            Self::AdminConnectRequired => "admin_connect_required",
        }
    }
}

/// Everything the payload names.
#[derive(Debug, Clone)]
pub struct ConnectRequired<'a> {
    pub state: RequiredState,
    pub display_name: &'a str,
    pub upstream_id: &'a str,
    pub auth_profile: &'a str,
    pub operation_id: &'a str,
    pub connection_id: Option<&'a str>,
    /// User-owned upstreams only.
    pub auth_url: Option<&'a str>,
    /// A shared connection existed before (then "reconnect").
    pub shared_reconnect: bool,
}

impl ConnectRequired<'_> {
    /// The id of the URL elicitation: `data.elicitations[].elicitationId` of the session-era
    /// error, and the `inputRequests` key of the 2026-07-28 answer.
    pub fn elicitation_id(&self) -> String {
        format!(
            "connect:{}:{}:{}",
            self.operation_id, self.upstream_id, self.auth_profile
        )
    }

    pub fn message(&self) -> String {
        let d = self.display_name;
        match self.state {
            RequiredState::Authenticating => {
                format!("{d} authorization is required before this tool can be used.")
            }
            RequiredState::ReconsentRequired => {
                format!("{d} authorization must be renewed before this tool can be used.")
            }
            RequiredState::AdminConnectRequired => format!(
                "An administrator must {} {d} before this tool can be used.",
                if self.shared_reconnect {
                    "reconnect"
                } else {
                    "connect"
                }
            ),
        }
    }

    /// The `connectRequired` payload.
    pub fn payload(&self) -> Value {
        let mut p = serde_json::Map::new();
        p.insert("state".into(), json!(self.state.as_str()));
        p.insert("upstreamServerId".into(), json!(self.upstream_id));
        p.insert("operationId".into(), json!(self.operation_id));
        p.insert("authProfileId".into(), json!(self.auth_profile));
        if let Some(c) = self.connection_id {
            p.insert("connectionId".into(), json!(c));
        }
        if let Some(u) = self.auth_url {
            p.insert("authUrl".into(), json!(u));
        }
        p.insert("message".into(), json!(self.message()));
        let next = if self.state == RequiredState::AdminConnectRequired {
            "admin_setup_required"
        } else {
            "redirect"
        };
        p.insert("nextAction".into(), json!(next));
        Value::Object(p)
    }

    /// The JSON-RPC error object (`{code, message, data}`).
    pub fn error(&self) -> Value {
        let payload = self.payload();
        let mut data = match &payload {
            Value::Object(m) => m.clone(),
            _ => serde_json::Map::new(),
        };
        let code = match (self.state, self.auth_url) {
            (RequiredState::AdminConnectRequired, _) | (_, None) => INVALID_REQUEST,
            _ => URL_ELICITATION_REQUIRED,
        };
        if code == URL_ELICITATION_REQUIRED {
            data.insert(
                "elicitations".into(),
                json!([{
                    "mode": "url",
                    "elicitationId": self.elicitation_id(),
                    "url": self.auth_url,
                    "message": self.message(),
                }]),
            );
        }
        data.insert("connectRequired".into(), payload);
        json!({"code": code, "message": self.message(), "data": Value::Object(data)})
    }

    /// The whole answer to a JSON-RPC request with id `id` (omitted when the request had none).
    pub fn response(&self, id: Option<&Value>) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("jsonrpc".into(), json!("2.0"));
        if let Some(id) = id {
            body.insert("id".into(), id.clone());
        }
        body.insert("error".into(), self.error());
        json_response(&Value::Object(body))
    }

    /// 2026-07-28 (D26): the `InputRequiredResult` asking the client to open `url` and retry
    /// the request with `request_state`.
    pub fn input_required(&self, id: &Value, url: &str, request_state: &str) -> Response {
        json_response(&input_required::url_input_required(
            id,
            &self.elicitation_id(),
            &self.message(),
            url,
            request_state,
        ))
    }

    /// 2026-07-28 (D26): the gateway's own answer to `server/discover` while the upstream is
    /// not connected. It claims tools, prompts and resources so that a client asks for them
    /// (and meets connect-required with the URL) rather than showing empty lists; `ttlMs` 0
    /// so that no client keeps it; the message is the `instructions`.
    pub fn discovery(&self, id: &Value) -> Response {
        json_response(&json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": {
                "resultType": "complete",
                "supportedVersions": crate::mcp::era::MODERN_VERSIONS,
                "capabilities": {"tools": {}, "prompts": {}, "resources": {}},
                "instructions": self.message(),
                "ttlMs": 0,
                "cacheScope": "private",
                "_meta": {
                    SERVER_INFO_META_KEY: {
                        "name": self.upstream_id,
                        "title": self.display_name,
                        "version": "unknown",
                    },
                },
            },
        }))
    }
}

/// 2026-07-28 `_meta` key of a server's implementation info.
const SERVER_INFO_META_KEY: &str = "io.modelcontextprotocol/serverInfo";

fn json_response(body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// Which connect-required answer a request gets (module docs, D26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The D5 JSON-RPC error.
    Error,
    /// An `InputRequiredResult` with a URL-mode input request.
    InputRequired,
    /// The gateway's own `server/discover` result.
    Discovery,
}

/// What a connect-required answer needs to know about the request it answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct McpCall {
    /// The JSON-RPC id (none: a notification, a batch, not JSON).
    pub id: Option<Value>,
    pub era: Option<Era>,
    pub method: Option<String>,
    /// 2026-07-28: the request's `_meta` declares URL-mode elicitation.
    pub url_elicitation: bool,
    /// 2026-07-28 retry: `params.requestState`.
    pub request_state: Option<String>,
    /// 2026-07-28 retry: `params.inputResponses`.
    pub input_responses: Option<Map<String, Value>>,
}

impl McpCall {
    /// Reads a POST body (and the headers [`crate::mcp::check_request`] compares with it). A
    /// request the 2026-07-28 rules refuse is read as session-era: the gateway refuses those
    /// before any policy runs, so this only keeps the answer defined.
    pub fn of(headers: &HeaderMap, body: &[u8]) -> Self {
        let Ok(req) = crate::mcp::check_request(headers, body) else {
            return McpCall {
                id: request_id(body),
                ..McpCall::default()
            };
        };
        let mut call = McpCall {
            id: req.id,
            era: req.era,
            method: req.method,
            ..McpCall::default()
        };
        if req.era == Some(Era::Modern) {
            let message: Value = serde_json::from_slice(body).unwrap_or_default();
            let params = message.get("params");
            call.url_elicitation = input_required::accepts_url_elicitation(params);
            let retry = input_required::Retry::of(params);
            call.request_state = retry.request_state.map(str::to_string);
            call.input_responses = retry.responses.cloned();
        }
        call
    }

    /// The answer this request gets (module docs).
    pub fn shape(&self) -> Shape {
        let modern = self.era == Some(Era::Modern);
        match (self.id.as_ref(), self.method.as_deref()) {
            (Some(_), Some("server/discover")) if modern => Shape::Discovery,
            (Some(_), Some(m))
                if modern && self.url_elicitation && input_required::allows_input_required(m) =>
            {
                Shape::InputRequired
            }
            _ => Shape::Error,
        }
    }

    /// The `action` of the client's answer to input request `key` (`accept`, `decline`,
    /// `cancel`).
    pub fn action(&self, key: &str) -> Option<&str> {
        self.input_responses
            .as_ref()?
            .get(key)?
            .get("action")?
            .as_str()
    }
}

/// The JSON-RPC `id` of a request body, when it is a single request with one.
pub fn request_id(body: &[u8]) -> Option<Value> {
    #[derive(serde::Deserialize)]
    struct Head {
        id: Option<Value>,
    }
    serde_json::from_slice::<Head>(body).ok().and_then(|h| h.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_payload_has_elicitation_and_mirror() {
        let c = ConnectRequired {
            state: RequiredState::Authenticating,
            display_name: "Linear",
            upstream_id: "linear",
            auth_profile: "linear:user-oauth",
            operation_id: "op1",
            connection_id: None,
            auth_url: Some("http://127.0.0.1/c"),
            shared_reconnect: false,
        };
        let e = c.error();
        assert_eq!(e["code"], -32042);
        assert_eq!(e["data"]["elicitations"][0]["url"], "http://127.0.0.1/c");
        assert_eq!(
            e["data"]["elicitations"][0]["elicitationId"],
            "connect:op1:linear:linear:user-oauth"
        );
        assert_eq!(e["data"]["connectRequired"]["state"], "authenticating");
        assert_eq!(e["data"]["authUrl"], "http://127.0.0.1/c");
        assert_eq!(e["data"]["nextAction"], "redirect");
        assert_eq!(
            e["message"],
            "Linear authorization is required before this tool can be used."
        );
    }

    #[test]
    fn shared_payload_has_no_url() {
        let c = ConnectRequired {
            state: RequiredState::AdminConnectRequired,
            display_name: "Stripe",
            upstream_id: "stripe",
            auth_profile: "stripe:shared-oauth",
            operation_id: "op",
            connection_id: None,
            auth_url: None,
            shared_reconnect: false,
        };
        let e = c.error();
        assert_eq!(e["code"], -32600);
        assert!(e["data"].get("elicitations").is_none());
        assert_eq!(
            e["data"]["connectRequired"]["nextAction"],
            "admin_setup_required"
        );
        assert_eq!(
            e["data"]["message"],
            "An administrator must connect Stripe before this tool can be used."
        );
    }

    fn call(headers: &[(&'static str, &str)], body: Value) -> McpCall {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        McpCall::of(&h, &serde_json::to_vec(&body).unwrap())
    }

    fn modern(method: &str, caps: Value, extra: Value) -> McpCall {
        let mut params = json!({"name": "add", "uri": "mock://x", "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": caps}});
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        let name = if method == "resources/read" {
            "mock://x"
        } else {
            "add"
        };
        call(
            &[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", method),
                ("mcp-name", name),
            ],
            json!({"jsonrpc": "2.0", "id": 5, "method": method, "params": params}),
        )
    }

    #[test]
    fn the_answer_follows_the_era_the_method_and_the_capabilities() {
        let url = json!({"elicitation": {"url": {}}});
        for m in ["tools/call", "prompts/get", "resources/read"] {
            assert_eq!(
                modern(m, url.clone(), json!({})).shape(),
                Shape::InputRequired,
                "{m}"
            );
            // no URL-mode elicitation declared: the error, which carries the URL anyway
            assert_eq!(
                modern(m, json!({"elicitation": {"form": {}}}), json!({})).shape(),
                Shape::Error,
                "{m}"
            );
        }
        assert_eq!(
            modern("tools/list", url.clone(), json!({})).shape(),
            Shape::Error
        );
        assert_eq!(
            modern("server/discover", json!({}), json!({})).shape(),
            Shape::Discovery
        );
        // the session era: D5 for everything
        let session = call(
            &[("mcp-protocol-version", "2025-11-25")],
            json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "add"}}),
        );
        assert_eq!(session.era, Some(Era::Session));
        assert_eq!(session.shape(), Shape::Error);
        // a retry's members are read
        let retry = modern(
            "tools/call",
            url,
            json!({"requestState": "st", "inputResponses": {"k": {"action": "decline"}}}),
        );
        assert_eq!(retry.request_state.as_deref(), Some("st"));
        assert_eq!(retry.action("k"), Some("decline"));
        assert_eq!(retry.action("other"), None);
    }

    #[test]
    fn the_input_required_answer_and_the_discovery() {
        let c = ConnectRequired {
            state: RequiredState::ReconsentRequired,
            display_name: "Linear",
            upstream_id: "linear",
            auth_profile: "linear:user-oauth",
            operation_id: "op1",
            connection_id: Some("c1"),
            auth_url: Some("http://127.0.0.1/c"),
            shared_reconnect: false,
        };
        let body = |r: Response| async move {
            let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            serde_json::from_slice::<Value>(&b).unwrap()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let v = rt.block_on(body(c.input_required(
            &json!(5),
            "http://127.0.0.1/c",
            "st",
        )));
        assert_eq!(v["id"], 5);
        assert_eq!(v["result"]["resultType"], "input_required");
        assert_eq!(v["result"]["requestState"], "st");
        let ask = &v["result"]["inputRequests"]["connect:op1:linear:linear:user-oauth"];
        assert_eq!(ask["params"]["mode"], "url");
        assert_eq!(ask["params"]["url"], "http://127.0.0.1/c");
        assert_eq!(
            ask["params"]["message"],
            "Linear authorization must be renewed before this tool can be used."
        );
        let d = rt.block_on(body(c.discovery(&json!(1))));
        assert_eq!(d["result"]["supportedVersions"], json!(["2026-07-28"]));
        assert_eq!(d["result"]["ttlMs"], 0);
        assert!(d["result"]["capabilities"]["tools"].is_object());
        assert_eq!(
            d["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "linear"
        );
    }

    #[test]
    fn request_ids() {
        assert_eq!(
            request_id(br#"{"jsonrpc":"2.0","id":7,"method":"x"}"#),
            Some(json!(7))
        );
        assert_eq!(request_id(br#"{"jsonrpc":"2.0","method":"x"}"#), None);
        assert_eq!(request_id(b"not json"), None);
    }
}
