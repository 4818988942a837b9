//! Connect-required answers (SPEC D5, §6.6): a JSON-RPC error over HTTP 200 that tells the
//! client its user must connect an upstream (`-32042` with a URL elicitation) or that an
//! administrator must (`-32600`, no URL). The payload sits under `data.connectRequired` (the
//! runtime's shape) and is mirrored at `data`'s top level (the docs' shape).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

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
                    "elicitationId": format!("connect:{}:{}:{}", self.operation_id, self.upstream_id, self.auth_profile),
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
        let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
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
