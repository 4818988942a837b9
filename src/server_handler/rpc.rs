//! JSON-RPC messages as the handler reads and writes them.
//!
//! Owns: what counts as a JSON-RPC message (request, notification, response), the error codes
//! the handler answers with, and the response objects.

use serde_json::{Map, Value, json};

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;
/// The transport's own refusals (406, 415, unsupported protocol version).
pub const TRANSPORT_ERROR: i64 = -32000;

/// A JSON-RPC error answer of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        RpcError::new(INVALID_PARAMS, message)
    }

    pub fn object(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.clone().into());
        if let Some(d) = &self.data {
            error.insert("data".into(), d.clone());
        }
        Value::Object(error)
    }
}

/// A request the handler answers: it has a method and an id.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Value,
    pub method: String,
    pub params: Option<Value>,
}

impl Request {
    /// `params` as an object (absent: empty); anything else is invalid params.
    pub fn params(&self) -> Result<Map<String, Value>, RpcError> {
        match &self.params {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(RpcError::invalid_params(
                "Invalid params: params must be an object",
            )),
        }
    }
}

/// One message of a POST body.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request(Request),
    /// Notifications and responses need no answer.
    NoAnswer {
        method: Option<String>,
    },
}

/// Reads one JSON-RPC 2.0 message; `None` when the value is not one.
pub fn message(v: &Value) -> Option<Message> {
    let obj = v.as_object()?;
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return None;
    }
    let params_ok = matches!(obj.get("params"), None | Some(Value::Object(_)));
    match (obj.get("method"), obj.get("id")) {
        (Some(Value::String(m)), Some(id)) if is_id(id) && params_ok => {
            Some(Message::Request(Request {
                id: id.clone(),
                method: m.clone(),
                params: obj.get("params").cloned(),
            }))
        }
        (Some(Value::String(m)), None) if params_ok => Some(Message::NoAnswer {
            method: Some(m.clone()),
        }),
        (None, Some(id))
            if is_id(id) && (obj.contains_key("result") != obj.contains_key("error")) =>
        {
            Some(Message::NoAnswer { method: None })
        }
        _ => None,
    }
}

fn is_id(v: &Value) -> bool {
    v.is_string() || v.as_i64().is_some() || v.as_u64().is_some()
}

pub fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error(id: &Value, e: &RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": e.object()})
}

/// A transport-level error body: `id` null, in the order the SDK writes it.
pub fn transport_error(code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": null})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_responses_and_garbage() {
        assert!(matches!(
            message(&json!({"jsonrpc":"2.0","id":1,"method":"ping"})),
            Some(Message::Request(_))
        ));
        assert!(matches!(
            message(&json!({"jsonrpc":"2.0","method":"notifications/initialized"})),
            Some(Message::NoAnswer { .. })
        ));
        assert!(matches!(
            message(&json!({"jsonrpc":"2.0","id":"a","result":{}})),
            Some(Message::NoAnswer { method: None })
        ));
        for bad in [
            json!({"id":1,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":null,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1.5,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}),
            json!({"jsonrpc":"2.0","id":1}),
            json!({"jsonrpc":"2.0","id":1,"result":{},"error":{}}),
            json!(42),
        ] {
            assert_eq!(message(&bad), None, "{bad}");
        }
    }

    #[test]
    fn transport_errors_keep_the_sdk_order() {
        assert_eq!(
            transport_error(TRANSPORT_ERROR, "x").to_string(),
            r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"x"},"id":null}"#
        );
    }
}
