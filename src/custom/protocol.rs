//! The messages between mcpgw and the custom-code worker, protocol version 1 (issue #16).
//!
//! Owns: the wire shapes, one JSON object per line on the worker's stdin and stdout: `ready`,
//! `init` / `init_done` / `init_failed`, `call` / `result`, and the worker's calls back into the
//! gateway (`invoke` answered by `reply`, `log` unanswered). Bodies travel base64 (`bodyB64`),
//! buffered whole (a documented deviation from Zuplo's streamed bodies), except where they are
//! lazy: the request of an `inbound` call and the response of an `outbound` call may come with
//! `"bodyPending": true` (and no `bodyB64`): the gateway keeps the body until user code reads it,
//! which the worker asks for with the `invoke` op `readBody` `{which: "request"|"response"}`
//! (reply `ok: {bodyB64}`; the gateway keeps the bytes). A result that hands back that same
//! request / response says `"bodyUnchanged": true` instead of a body: the gateway sends its own
//! body on, streamed when nobody read it. Both fields are optional (absent = false).
//!
//! A `handler` result's response may say `"bodyStream": true` (with `bodyB64: null`): its body
//! follows as lines `{"type":"chunk","id":N,"bodyB64":"..."}` (each at most 64 KiB of bytes)
//! and one `{"type":"end","id":N}` or `{"type":"end","id":N,"error":"why"}` (the body broke
//! off). The gateway answers as soon as the result arrives and streams the chunks on; chunks
//! or ends for an id it no longer waits for (the client left) are ignored. Optional too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version this mcpgw speaks; the worker says its own in `ready`.
pub const PROTOCOL_VERSION: u64 = 1;

/// REQ: a request as user code sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireRequest {
    pub method: String,
    /// `http://localhost/path?x=1`
    pub url: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body_b64: Option<String>,
    /// Gateway → worker: the body waits in the gateway (`readBody`); `bodyB64` is null.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_pending: bool,
    /// Worker → gateway: the request that arrived `bodyPending`, handed back: keep its body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_unchanged: bool,
    #[serde(default)]
    pub params: Map<String, Value>,
    #[serde(default)]
    pub user: Option<Value>,
}

/// RESP: a response as user code sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body_b64: Option<String>,
    /// Gateway → worker: the body waits in the gateway (`readBody`); `bodyB64` is null.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_pending: bool,
    /// Worker → gateway: the response that arrived `bodyPending`, handed back: keep its body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_unchanged: bool,
}

/// Bytes as `bodyB64` (`None` for an empty body).
pub fn encode_body(bytes: &[u8]) -> Option<String> {
    (!bytes.is_empty()).then(|| B64.encode(bytes))
}

/// `bodyB64` as bytes; `Err` when it is not base64.
pub fn decode_body(b64: Option<&str>) -> Result<Vec<u8>, base64::DecodeError> {
    match b64 {
        None => Ok(Vec::new()),
        Some(s) => B64.decode(s),
    }
}

/// CTX: what user code gets as `context`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireContext {
    pub request_id: String,
    pub route: RouteInfo,
    pub incoming_request_properties: IncomingProperties,
    /// The call whose `invokeRoute` made this request (the worker sets `parentContext`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_call_id: Option<u64>,
    /// The JSON-RPC `tools/call` message a tool route's handler runs for
    /// (`ZuploMcpSdk.getRawCallToolRequest()`, §15.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_call_tool_request: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteInfo {
    pub path: String,
    pub operation_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingProperties {
    pub ip: String,
}

/// The kinds of call (`"kind"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallKind {
    Handler,
    Inbound,
    Outbound,
    RateLimit,
    Hook,
    /// A capability filter's `accessControl.mode: "function"` resolver (§7.2).
    CapabilityFilter,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Handler => "handler",
            CallKind::Inbound => "inbound",
            CallKind::Outbound => "outbound",
            CallKind::RateLimit => "rateLimit",
            CallKind::Hook => "hook",
            CallKind::CapabilityFilter => "capabilityFilter",
        }
    }
}

/// One call of user code; `id` is set by the worker handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub kind: CallKind,
    /// Project-relative as written after `$import(`, e.g. `./modules/x.ts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<String>,
    pub request: WireRequest,
    pub context: WireContext,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<WireResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    /// Hook `problemResponseFormat`: the problem document to format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Value>,
    /// Hook `notFoundHandler`: `{routesMatchedByPathOnly: [...]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_found_options: Option<Value>,
}

/// Rust → worker.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWorker {
    #[serde(rename_all = "camelCase")]
    Init {
        project: String,
        env: Map<String, Value>,
        runtime_module: Option<String>,
    },
    Call {
        id: u64,
        #[serde(flatten)]
        call: Box<Call>,
    },
    Reply {
        id: u64,
        #[serde(flatten)]
        outcome: ReplyOutcome,
    },
}

/// `ok` or `error` of a reply to an `invoke`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOutcome {
    Ok(Value),
    Error(String),
}

/// An error thrown by user code, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WireError {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub stack: String,
}

/// What `runtimeInit` registered, counted.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Hooks {
    pub request: u64,
    pub pre_routing: u64,
    pub response_sending: u64,
    pub response_sending_final: u64,
    pub problem_response_format: bool,
    pub not_found_handler: bool,
}

impl Hooks {
    /// The registered hooks by their `runtime` member names (empty when none).
    pub fn registered(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.request > 0 {
            out.push("addRequestHook");
        }
        if self.pre_routing > 0 {
            out.push("addPreRoutingHook");
        }
        if self.response_sending > 0 {
            out.push("addResponseSendingHook");
        }
        if self.response_sending_final > 0 {
            out.push("addResponseSendingFinalHook");
        }
        if self.problem_response_format {
            out.push("problemResponseFormat");
        }
        if self.not_found_handler {
            out.push("notFoundHandler");
        }
        out
    }
}

/// A plugin `runtimeInit` registered, with its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plugin {
    pub name: String,
    #[serde(default)]
    pub options: Value,
}

/// Worker → Rust.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromWorker {
    Ready {
        protocol: u64,
        #[serde(default)]
        node: String,
    },
    InitDone {
        #[serde(default)]
        plugins: Vec<Plugin>,
        #[serde(default)]
        hooks: Hooks,
    },
    InitFailed {
        error: WireError,
    },
    Result {
        id: u64,
        #[serde(default)]
        ok: Option<Value>,
        #[serde(default)]
        error: Option<WireError>,
    },
    #[serde(rename_all = "camelCase")]
    Invoke {
        id: u64,
        call_id: u64,
        op: String,
        #[serde(default)]
        request: Option<Box<WireRequest>>,
        /// `invokeInboundPolicy` / `invokeOutboundPolicy`: the policy of policies.json.
        #[serde(default)]
        policy_name: Option<String>,
        /// `invokeOutboundPolicy`: the response the policy gets.
        #[serde(default)]
        response: Option<Box<WireResponse>>,
        /// `readBody`: `"request"` or `"response"`.
        #[serde(default)]
        which: Option<String>,
    },
    /// A piece of a `bodyStream` body of call `id`.
    #[serde(rename_all = "camelCase")]
    Chunk {
        id: u64,
        #[serde(default)]
        body_b64: Option<String>,
    },
    /// The end of a `bodyStream` body of call `id`; `error` when it broke off.
    End {
        id: u64,
        #[serde(default)]
        error: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Log {
        #[serde(default)]
        call_id: Option<u64>,
        #[serde(default)]
        level: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        properties: Option<Value>,
    },
}

/// `ok` of a `handler` / `outbound` result, an `invokeRoute` reply: `{"response": RESP}`;
/// a handler's may carry the `ZuploMcpSdk` override of its tool call (§15.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseResult {
    pub response: WireResponse,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_override: Option<Value>,
}

/// `ok` of a `capabilityFilter` result: the identifiers the resolver allows per type
/// (`null`: it returned nothing, so nothing is allowed).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CapabilityFilterResult {
    #[serde(default)]
    pub allowed: Option<AllowedCapabilities>,
}

/// What a capability-filter resolver allows; a type it leaves out allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AllowedCapabilities {
    pub tools: Vec<String>,
    pub prompts: Vec<String>,
    pub resources: Vec<String>,
    pub resource_templates: Vec<String>,
}

/// `ok` of an `inbound` result: a request to continue with, or a response that ends the chain;
/// also of a `hook` call, where neither means "no change".
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InboundResult {
    #[serde(default)]
    pub request: Option<WireRequest>,
    #[serde(default)]
    pub response: Option<WireResponse>,
}

/// `ok` of a `rateLimit` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitResult {
    #[serde(default)]
    pub rate_limit: Option<RateLimitDetails>,
}

/// `CustomRateLimitDetails` (§17.1).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitDetails {
    pub key: String,
    #[serde(default)]
    pub requests_allowed: Option<u64>,
    #[serde(default)]
    pub time_window_minutes: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req() -> WireRequest {
        WireRequest {
            method: "GET".into(),
            url: "http://localhost/x?a=1".into(),
            headers: vec![("accept".into(), "*/*".into())],
            body_b64: None,
            body_pending: false,
            body_unchanged: false,
            params: Map::new(),
            user: None,
        }
    }

    fn ctx() -> WireContext {
        WireContext {
            request_id: "r1".into(),
            route: RouteInfo {
                path: "/x".into(),
                operation_id: "op".into(),
            },
            incoming_request_properties: IncomingProperties {
                ip: "127.0.0.1".into(),
            },
            parent_call_id: None,
            raw_call_tool_request: None,
        }
    }

    #[test]
    fn a_call_is_one_flat_object() {
        let call = ToWorker::Call {
            id: 7,
            call: Box::new(Call {
                kind: CallKind::Inbound,
                module: Some("./modules/p.ts".into()),
                export: Some("default".into()),
                request: req(),
                context: ctx(),
                response: None,
                options: Some(json!({"a": 1})),
                policy_name: Some("p".into()),
                hook: None,
                problem: None,
                not_found_options: None,
            }),
        };
        let v = serde_json::to_value(&call).unwrap();
        assert_eq!(v["type"], "call");
        assert_eq!(v["id"], 7);
        assert_eq!(v["kind"], "inbound");
        assert_eq!(v["policyName"], "p");
        assert_eq!(v["request"]["headers"], json!([["accept", "*/*"]]));
        assert_eq!(v["request"]["bodyB64"], Value::Null);
        assert_eq!(v["context"]["incomingRequestProperties"]["ip"], "127.0.0.1");
        assert_eq!(v["context"]["route"]["operationId"], "op");
        assert!(v.get("response").is_none());
        // the optional lazy-body fields appear only when true
        assert!(v["request"].get("bodyPending").is_none());
        assert!(v["request"].get("bodyUnchanged").is_none());
    }

    #[test]
    fn lazy_body_fields() {
        let mut r = req();
        r.body_pending = true;
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["bodyPending"], true);
        let back: WireResponse = serde_json::from_str(
            r#"{"status":200,"headers":[],"bodyB64":null,"bodyUnchanged":true}"#,
        )
        .unwrap();
        assert!(back.body_unchanged && !back.body_pending);
        let m: FromWorker = serde_json::from_str(
            r#"{"type":"invoke","id":1,"callId":2,"op":"readBody","which":"response"}"#,
        )
        .unwrap();
        assert!(matches!(m, FromWorker::Invoke { which: Some(w), .. } if w == "response"));
    }

    #[test]
    fn init_and_reply_shapes() {
        let init = ToWorker::Init {
            project: "/p".into(),
            env: Map::new(),
            runtime_module: None,
        };
        let v = serde_json::to_value(&init).unwrap();
        assert_eq!(
            v,
            json!({"type":"init","project":"/p","env":{},"runtimeModule":null})
        );
        let r = ToWorker::Reply {
            id: 3,
            outcome: ReplyOutcome::Error("no".into()),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"type":"reply","id":3,"error":"no"})
        );
    }

    #[test]
    fn worker_messages_parse() {
        let m: FromWorker =
            serde_json::from_str(r#"{"type":"ready","protocol":1,"node":"v22.23.3"}"#).unwrap();
        assert_eq!(
            m,
            FromWorker::Ready {
                protocol: 1,
                node: "v22.23.3".into()
            }
        );
        let m: FromWorker = serde_json::from_str(
            r#"{"type":"init_done","plugins":[{"name":"McpGatewayPlugin","options":{}}],"hooks":{"request":1,"preRouting":0,"responseSending":0,"responseSendingFinal":0,"problemResponseFormat":false,"notFoundHandler":true}}"#,
        )
        .unwrap();
        let FromWorker::InitDone { plugins, hooks } = m else {
            panic!("init_done")
        };
        assert_eq!(plugins[0].name, "McpGatewayPlugin");
        assert_eq!(hooks.registered(), ["addRequestHook", "notFoundHandler"]);
        let m: FromWorker = serde_json::from_str(
            r#"{"type":"invoke","id":2,"callId":9,"op":"invokeRoute","request":{"method":"GET","url":"http://localhost/a","headers":[],"bodyB64":null,"params":{},"user":null}}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            FromWorker::Invoke {
                id: 2,
                call_id: 9,
                ..
            }
        ));
        let m: FromWorker = serde_json::from_str(
            r#"{"type":"result","id":4,"error":{"name":"TypeError","message":"x","stack":"at y"}}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            FromWorker::Result {
                id: 4,
                ok: None,
                error: Some(_)
            }
        ));
    }

    #[test]
    fn bodies_round_trip() {
        assert_eq!(encode_body(b""), None);
        let b = encode_body(b"hi").unwrap();
        assert_eq!(decode_body(Some(&b)).unwrap(), b"hi");
        assert!(decode_body(Some("%%")).is_err());
    }
}
