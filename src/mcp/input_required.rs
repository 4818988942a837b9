//! 2026-07-28 multi-round-trip answers the gateway makes itself: an `InputRequiredResult`
//! whose input request is a URL-mode elicitation (D26), and what a retried request carries.
//!
//! Owns: the wire shape only. What the URL is, and what `requestState` binds and how it is
//! signed, belong to the caller (`upstream`: the connect URL and a state bound to the subject
//! and the connection).

use serde_json::{Map, Value, json};

/// The methods whose 2026-07-28 result may be `input_required`.
pub const INPUT_REQUIRED_METHODS: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];

/// Whether a method's 2026-07-28 result may be an `InputRequiredResult`.
pub fn allows_input_required(method: &str) -> bool {
    INPUT_REQUIRED_METHODS.contains(&method)
}

/// A JSON-RPC response whose result asks the client to open `url` (URL-mode elicitation keyed
/// `key`) and to retry the same request with `requestState` and its answer in `inputResponses`.
pub fn url_input_required(
    id: &Value,
    key: &str,
    message: &str,
    url: &str,
    request_state: &str,
) -> Value {
    let mut requests = Map::new();
    requests.insert(
        key.to_string(),
        json!({
            "method": "elicitation/create",
            "params": {"mode": "url", "message": message, "url": url},
        }),
    );
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "result": {
            "resultType": "input_required",
            "inputRequests": requests,
            "requestState": request_state,
        },
    })
}

/// The multi-round-trip members of a retried 2026-07-28 request.
#[derive(Debug, Default, PartialEq)]
pub struct Retry<'a> {
    pub request_state: Option<&'a str>,
    /// The client's answer to input request `key`, e.g. `{"action": "accept"}`.
    pub responses: Option<&'a Map<String, Value>>,
}

impl<'a> Retry<'a> {
    /// Reads `params.requestState` and `params.inputResponses` of a request body.
    pub fn of(params: Option<&'a Value>) -> Self {
        let Some(p) = params.and_then(Value::as_object) else {
            return Retry::default();
        };
        Retry {
            request_state: p.get("requestState").and_then(Value::as_str),
            responses: p.get("inputResponses").and_then(Value::as_object),
        }
    }

    /// The `action` the client answered input request `key` with (`accept`, `decline`, `cancel`).
    pub fn action(&self, key: &str) -> Option<&'a str> {
        self.responses?.get(key)?.get("action")?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_carries_one_url_elicitation_and_the_state() {
        let v = url_input_required(&json!(3), "connect", "Connect Linear", "https://g/c", "st");
        assert_eq!(v["id"], 3);
        assert_eq!(v["result"]["resultType"], "input_required");
        assert_eq!(v["result"]["requestState"], "st");
        let req = &v["result"]["inputRequests"]["connect"];
        assert_eq!(req["method"], "elicitation/create");
        assert_eq!(req["params"]["mode"], "url");
        assert_eq!(req["params"]["url"], "https://g/c");
        assert!(allows_input_required("tools/call") && !allows_input_required("tools/list"));
    }

    #[test]
    fn a_retry_is_read_from_params() {
        let p = json!({"requestState": "st", "inputResponses": {"connect": {"action": "accept"}}});
        let r = Retry::of(Some(&p));
        assert_eq!(r.request_state, Some("st"));
        assert_eq!(r.action("connect"), Some("accept"));
        assert_eq!(r.action("other"), None);
        assert_eq!(Retry::of(None), Retry::default());
    }
}
