//! 2026-07-28 multi-round-trip answers the gateway makes itself: an `InputRequiredResult`
//! whose input request is a URL-mode elicitation (D26), and what a retried request carries.
//!
//! Owns: the wire shape only. What the URL is, and what `requestState` binds and how it is
//! signed, belong to the caller (`upstream`: the connect URL and a state bound to the subject
//! and the connection).

use super::era::CLIENT_CAPABILITIES_META_KEY;
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

/// Whether a 2026-07-28 request's `_meta` declares URL-mode elicitation among the client's
/// capabilities: only then may an answer carry a URL-mode `elicitation/create` input request
/// (a client without the capability has no handler for it; the Python SDK answers it with
/// "Elicitation not supported").
pub fn accepts_url_elicitation(params: Option<&Value>) -> bool {
    params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(CLIENT_CAPABILITIES_META_KEY))
        .and_then(|c| c.get("elicitation"))
        .and_then(|e| e.get("url"))
        .is_some_and(Value::is_object)
}

/// A request body without its multi-round-trip members (`params.requestState`,
/// `params.inputResponses`); `None` when it has neither or is not one JSON-RPC request.
pub fn without_retry(body: &[u8]) -> Option<Vec<u8>> {
    let mut message: Value = serde_json::from_slice(body).ok()?;
    let params = message.get_mut("params")?.as_object_mut()?;
    let state = params.shift_remove("requestState");
    let responses = params.shift_remove("inputResponses");
    if state.is_none() && responses.is_none() {
        return None;
    }
    serde_json::to_vec(&message).ok()
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

    #[test]
    fn url_elicitation_is_read_from_the_declared_capabilities() {
        let with = |caps: Value| json!({"_meta": {CLIENT_CAPABILITIES_META_KEY: caps}});
        assert!(accepts_url_elicitation(Some(&with(
            json!({"elicitation": {"form": {}, "url": {}}})
        ))));
        assert!(!accepts_url_elicitation(Some(&with(
            json!({"elicitation": {"form": {}}})
        ))));
        // a bare `elicitation: {}` means form mode only
        assert!(!accepts_url_elicitation(Some(&with(
            json!({"elicitation": {}})
        ))));
        assert!(!accepts_url_elicitation(Some(&with(json!({})))));
        assert!(!accepts_url_elicitation(None));
    }

    #[test]
    fn the_retry_members_are_removed_and_the_rest_is_kept_in_order() {
        let body = br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1},"requestState":"st","inputResponses":{"connect":{"action":"accept"}},"_meta":{"k":1}}}"#;
        let out = without_retry(body).expect("changed");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"add","arguments":{"a":1},"_meta":{"k":1}}}"#
        );
        assert_eq!(
            without_retry(
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#
            ),
            None
        );
        assert_eq!(without_retry(b"[1]"), None);
        assert_eq!(without_retry(b"nope"), None);
    }
}
