//! JSON-RPC 2.0 for the mock: classifying one incoming message (request, notification, a
//! client's response, or an invalid message), error codes and objects, and response builders.
//! Nothing here knows about MCP methods or HTTP.

use serde_json::{Map, Value, json};

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// MCP: the resource named by `resources/read` does not exist.
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// MCP 2026-07-28: a routing header disagrees with the body, or a required one is missing.
pub const HEADER_MISMATCH: i64 = -32020;
/// MCP 2026-07-28: the request's protocol version is not supported (`data.supported`).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;

/// A JSON-RPC error object, before it is wrapped in a response.
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

    pub fn method_not_found(method: &str) -> Self {
        RpcError::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))
            .with_data(json!({ "method": method }))
    }

    /// The `error` member of a response.
    pub fn to_value(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.clone().into());
        if let Some(data) = &self.data {
            error.insert("data".into(), data.clone());
        }
        Value::Object(error)
    }
}

/// One message of a POST body, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A request: it gets exactly one response with the same id.
    Request(Request),
    /// A notification (no id): it gets no response.
    Notification { method: String },
    /// A client's answer to a server-to-client request; the mock sends none, so it is ignored.
    Response,
    /// Not a JSON-RPC 2.0 message; answered with -32600 and the id when one could be read.
    Invalid { id: Value, message: String },
}

/// A JSON-RPC request with a string or number id.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Value,
    pub method: String,
    /// The `params` member; `None` when absent or null. Always an object or an array.
    pub params: Option<Value>,
}

impl Request {
    /// `params` as an object: absent params read as an empty object; an array is bad params.
    pub fn params_object(&self) -> Result<Map<String, Value>, RpcError> {
        match &self.params {
            None => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(_) => Err(RpcError::invalid_params(
                "Invalid params: params must be an object",
            )),
        }
    }

    /// `params._meta`, when it is an object.
    pub fn meta(&self) -> Option<&Map<String, Value>> {
        self.params.as_ref()?.get("_meta")?.as_object()
    }
}

/// Whether an id is one JSON-RPC (and MCP) allows: a string or a number.
fn valid_id(id: &Value) -> bool {
    matches!(id, Value::String(_) | Value::Number(_))
}

/// Classifies one message of a body (the body itself, or one item of a batch).
pub fn classify(message: &Value) -> Incoming {
    let Some(obj) = message.as_object() else {
        return invalid(Value::Null, "a JSON-RPC message must be an object");
    };
    let id = obj.get("id");
    // The id to echo in an error: only a well-formed one.
    let echo_id = id.filter(|v| valid_id(v)).cloned().unwrap_or(Value::Null);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(echo_id, "jsonrpc must be \"2.0\"");
    }
    match obj.get("method") {
        Some(Value::String(method)) => {
            let params = match obj.get("params") {
                None | Some(Value::Null) => None,
                Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p.clone()),
                Some(_) => return invalid(echo_id, "params must be an object or an array"),
            };
            match id {
                None => Incoming::Notification {
                    method: method.clone(),
                },
                Some(id) if valid_id(id) => Incoming::Request(Request {
                    id: id.clone(),
                    method: method.clone(),
                    params,
                }),
                Some(_) => invalid(Value::Null, "id must be a string or a number"),
            }
        }
        Some(_) => invalid(echo_id, "method must be a string"),
        None => {
            let has_result = obj.contains_key("result");
            let has_error = obj.contains_key("error");
            if id.is_some_and(valid_id) && (has_result != has_error) {
                Incoming::Response
            } else {
                invalid(echo_id, "a request needs a string method")
            }
        }
    }
}

fn invalid(id: Value, message: &str) -> Incoming {
    Incoming::Invalid {
        id,
        message: format!("Invalid Request: {message}"),
    }
}

/// A success response.
pub fn result(id: Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// An error response.
pub fn error(id: Value, error: &RpcError) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": error.to_value() })
}

/// A notification sent by the server (on an SSE stream).
pub fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_requests_notifications_and_responses() {
        let req = classify(&json!({"jsonrpc":"2.0","id":1,"method":"ping"}));
        assert!(
            matches!(req, Incoming::Request(ref r) if r.method == "ping" && r.params.is_none())
        );
        let note = classify(&json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
        assert_eq!(
            note,
            Incoming::Notification {
                method: "notifications/initialized".into()
            }
        );
        assert_eq!(
            classify(&json!({"jsonrpc":"2.0","id":"a","result":{}})),
            Incoming::Response
        );
    }

    #[test]
    fn invalid_messages_keep_a_usable_id() {
        for (msg, id) in [
            (json!(3), Value::Null),
            (json!({"id":7,"method":"ping"}), json!(7)),
            (
                json!({"jsonrpc":"1.0","id":"x","method":"ping"}),
                json!("x"),
            ),
            (
                json!({"jsonrpc":"2.0","id":{"a":1},"method":"ping"}),
                Value::Null,
            ),
            (
                json!({"jsonrpc":"2.0","id":null,"method":"ping"}),
                Value::Null,
            ),
            (json!({"jsonrpc":"2.0","id":2,"method":5}), json!(2)),
            (
                json!({"jsonrpc":"2.0","id":2,"method":"x","params":"s"}),
                json!(2),
            ),
            (json!({"jsonrpc":"2.0","id":2}), json!(2)),
        ] {
            match classify(&msg) {
                Incoming::Invalid { id: got, .. } => assert_eq!(got, id, "{msg}"),
                other => panic!("{msg}: {other:?}"),
            }
        }
    }

    #[test]
    fn error_objects_carry_data_only_when_set() {
        let e = RpcError::new(INVALID_PARAMS, "bad");
        assert_eq!(e.to_value(), json!({"code":-32602,"message":"bad"}));
        let e = e.with_data(json!({"k":1}));
        assert_eq!(
            error(json!(1), &e),
            json!({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad","data":{"k":1}}})
        );
    }
}
