//! The MCP side of the mock: what each method answers, in both protocol eras.
//!
//! - Handshake era (2025-03-26, 2025-06-18, 2025-11-25): `initialize` negotiates the version.
//! - 2026-07-28: `server/discover`, and every request carries its own `_meta` envelope
//!   (`io.modelcontextprotocol/protocolVersion`, client info and capabilities). Results then
//!   carry `resultType`, and cacheable ones (`server/discover`, the lists, `resources/read`)
//!   carry `ttlMs` and `cacheScope`, as the 2026-07-28 schema requires.
//!
//! The catalogue is fixed: tools `echo`, `add`, `slow` (progress notifications) and `fail`
//! (an `isError` result), prompt `greeting`, resources `mock://hello` and `mock://info`, and
//! the template `mock://echo/{text}`.

use super::modern::{Era, MODERN_VERSION, PROTOCOL_VERSION_META_KEY, REMOVED_IN_MODERN};
use super::rpc::{self, INVALID_PARAMS, RESOURCE_NOT_FOUND, Request, RpcError};
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

/// `serverInfo.name` of the mock.
pub const SERVER_NAME: &str = "mcpgw-mock";
/// Versions negotiated by `initialize`, oldest first.
pub const HANDSHAKE_VERSIONS: [&str; 3] = ["2025-03-26", "2025-06-18", "2025-11-25"];
/// Every version the mock speaks, oldest first.
pub const SUPPORTED_VERSIONS: [&str; 4] = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

const SERVER_INFO_META_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// Bounds of the `slow` tool's arguments.
const SLOW_MAX_STEPS: u64 = 100;
const SLOW_MAX_DELAY_MS: u64 = 10_000;
const SLOW_DEFAULT_STEPS: u64 = 5;
const SLOW_DEFAULT_DELAY_MS: u64 = 250;
/// A call of `slow` lasts at most a minute.
const SLOW_MAX_TOTAL_MS: u64 = 60_000;

/// What a request handler may use besides the request.
pub struct HandlerCtx<'a> {
    /// The request's era, decided by `modern` (a 2026-07-28 request passed its rules).
    pub era: Era,
    /// Where server-to-client notifications go while the request runs: the SSE stream of the
    /// response. `None` when the response is plain JSON (notifications are then dropped).
    pub sink: Option<&'a mpsc::Sender<Value>>,
}

/// Answers one request: the full JSON-RPC response object. The era was decided (and a
/// 2026-07-28 request checked) by `modern` before.
pub async fn handle(req: &Request, ctx: &HandlerCtx<'_>) -> Value {
    let era = ctx.era;
    let outcome = dispatch(req, ctx, era).await.map(|(res, cacheable)| {
        if era == Era::Modern {
            modern_result(res, cacheable)
        } else {
            res
        }
    });
    match outcome {
        Ok(res) => rpc::result(req.id.clone(), res),
        Err(e) => rpc::error(req.id.clone(), &e),
    }
}

/// Whether this request, answered on an SSE stream, would send notifications before its
/// response (`tools/call` of `slow` with a progress token).
pub fn streams(req: &Request) -> bool {
    req.method == "tools/call"
        && req.params.as_ref().and_then(|p| p.get("name")) == Some(&json!("slow"))
        && progress_token(req).is_some()
}

/// 2026-07-28 results: `resultType` always; cache hints on cacheable results.
fn modern_result(mut res: Value, cacheable: bool) -> Value {
    if let Value::Object(obj) = &mut res {
        obj.entry("resultType").or_insert_with(|| "complete".into());
        if cacheable {
            obj.entry("ttlMs").or_insert_with(|| 0.into());
            obj.entry("cacheScope").or_insert_with(|| "private".into());
        }
    }
    res
}

/// The result and whether it is cacheable in the 2026-07-28 sense.
async fn dispatch(
    req: &Request,
    ctx: &HandlerCtx<'_>,
    era: Era,
) -> Result<(Value, bool), RpcError> {
    let plain = |v: Value| Ok((v, false));
    let cacheable = |v: Value| Ok((v, true));
    if era == Era::Modern && REMOVED_IN_MODERN.contains(&req.method.as_str()) {
        return Err(RpcError::new(
            rpc::METHOD_NOT_FOUND,
            format!(
                "Method not found: {} is not part of protocol revision {MODERN_VERSION}",
                req.method
            ),
        )
        .with_data(json!({ "method": req.method })));
    }
    match req.method.as_str() {
        "initialize" => plain(initialize(req)?),
        "server/discover" => cacheable(discover()),
        "ping" => plain(json!({})),
        "tools/list" => cacheable(list(req, "tools", tools())?),
        "tools/call" => plain(call_tool(req, ctx, era).await?),
        "prompts/list" => cacheable(list(req, "prompts", prompts())?),
        "prompts/get" => plain(get_prompt(req)?),
        "resources/list" => cacheable(list(req, "resources", resources())?),
        "resources/templates/list" => cacheable(list(req, "resourceTemplates", templates())?),
        "resources/read" => cacheable(read_resource(req)?),
        other => Err(RpcError::method_not_found(other)),
    }
}

fn capabilities() -> Value {
    json!({
        "tools": { "listChanged": false },
        "prompts": { "listChanged": false },
        "resources": { "subscribe": false, "listChanged": false }
    })
}

fn server_info() -> Value {
    json!({ "name": SERVER_NAME, "title": "mcpgw mock upstream", "version": env!("CARGO_PKG_VERSION") })
}

const INSTRUCTIONS: &str = "A mock MCP server for local labs and tests: tools echo, add, slow and fail; \
prompt greeting; resources mock://hello, mock://info and mock://echo/{text}.";

fn initialize(req: &Request) -> Result<Value, RpcError> {
    let params = req.params_object()?;
    let requested = match params.get("protocolVersion") {
        Some(Value::String(v)) => v.as_str(),
        _ => {
            return Err(RpcError::invalid_params(
                "Invalid params: initialize needs a string protocolVersion",
            ));
        }
    };
    // The client's version when the mock speaks it, else the newest the mock speaks.
    let version = HANDSHAKE_VERSIONS
        .iter()
        .find(|v| **v == requested)
        .or(HANDSHAKE_VERSIONS.last())
        .copied()
        .unwrap_or("2025-11-25");
    Ok(json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS,
    }))
}

fn discover() -> Value {
    json!({
        "supportedVersions": [MODERN_VERSION],
        "capabilities": capabilities(),
        "instructions": INSTRUCTIONS,
        "_meta": { SERVER_INFO_META_KEY: server_info() },
    })
}

/// A list result; the mock has one page, so any cursor is unknown.
fn list(req: &Request, key: &str, items: Value) -> Result<Value, RpcError> {
    let params = req.params_object()?;
    match params.get("cursor") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) => {
            return Err(RpcError::invalid_params(format!(
                "Invalid params: unknown cursor {c:?}"
            )));
        }
        Some(_) => {
            return Err(RpcError::invalid_params(
                "Invalid params: cursor must be a string",
            ));
        }
    }
    let mut out = Map::new();
    out.insert(key.to_string(), items);
    Ok(Value::Object(out))
}

fn tools() -> Value {
    json!([
        {
            "name": "echo",
            "title": "Echo",
            "description": "Returns its text argument unchanged.",
            "inputSchema": {
                "type": "object",
                "properties": { "text": { "type": "string", "description": "Text to return" } },
                "required": ["text"]
            },
            "annotations": { "readOnlyHint": true, "openWorldHint": false }
        },
        {
            "name": "add",
            "title": "Add",
            "description": "Adds two numbers and returns the sum as text.",
            "inputSchema": {
                "type": "object",
                "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
                "required": ["a", "b"]
            },
            "annotations": { "readOnlyHint": true, "openWorldHint": false }
        },
        {
            "name": "slow",
            "title": "Slow",
            "description": "Works in steps, waiting delayMs before each (at most 60 s in all); with a progress token it sends notifications/progress for every step.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "steps": { "type": "integer", "minimum": 1, "maximum": SLOW_MAX_STEPS, "default": SLOW_DEFAULT_STEPS },
                    "delayMs": { "type": "integer", "minimum": 0, "maximum": SLOW_MAX_DELAY_MS, "default": SLOW_DEFAULT_DELAY_MS }
                }
            },
            "annotations": { "readOnlyHint": true, "openWorldHint": false }
        },
        {
            "name": "fail",
            "title": "Fail",
            "description": "Always fails: a tool result with isError true.",
            "inputSchema": {
                "type": "object",
                "properties": { "message": { "type": "string" } }
            }
        }
    ])
}

fn text_result(text: impl Into<String>, is_error: bool) -> Value {
    let mut res = json!({ "content": [{ "type": "text", "text": text.into() }] });
    if is_error && let Value::Object(obj) = &mut res {
        obj.insert("isError".into(), true.into());
    }
    res
}

async fn call_tool(req: &Request, ctx: &HandlerCtx<'_>, era: Era) -> Result<Value, RpcError> {
    let params = req.params_object()?;
    let name = match params.get("name") {
        Some(Value::String(name)) => name.as_str(),
        _ => {
            return Err(RpcError::invalid_params(
                "Invalid params: tools/call needs a string name",
            ));
        }
    };
    let empty = Map::new();
    let args = match params.get("arguments") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(args)) => args,
        Some(_) => {
            return Err(RpcError::invalid_params(
                "Invalid params: arguments must be an object",
            ));
        }
    };
    match name {
        "echo" => Ok(text_result(string_arg(name, args, "text")?, false)),
        "add" => add(args),
        "slow" => slow(req, args, ctx, era).await,
        "fail" => {
            let message = match args.get("message") {
                None | Some(Value::Null) => "the fail tool always fails",
                Some(Value::String(m)) => m.as_str(),
                Some(_) => return Err(bad_arg(name, "message", "a string")),
            };
            Ok(text_result(message, true))
        }
        other => Err(RpcError::invalid_params(format!("Unknown tool: {other}"))
            .with_data(json!({ "name": other }))),
    }
}

fn bad_arg(tool: &str, arg: &str, what: &str) -> RpcError {
    RpcError::new(
        INVALID_PARAMS,
        format!("Invalid params: {tool}: argument {arg} must be {what}"),
    )
}

fn string_arg<'a>(
    tool: &str,
    args: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a str, RpcError> {
    match args.get(key) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(bad_arg(tool, key, "a string")),
    }
}

fn add(args: &Map<String, Value>) -> Result<Value, RpcError> {
    let number = |key: &str| match args.get(key) {
        Some(Value::Number(n)) => Ok(n.clone()),
        _ => Err(bad_arg("add", key, "a number")),
    };
    let (a, b) = (number("a")?, number("b")?);
    // Integers add exactly (i128 holds any sum of two i64/u64); anything else as f64.
    let int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    let exact = int(&a).zip(int(&b)).map(|(a, b)| a + b);
    let text = match exact {
        Some(sum) => sum.to_string(),
        None => {
            let sum = a.as_f64().unwrap_or(f64::NAN) + b.as_f64().unwrap_or(f64::NAN);
            if !sum.is_finite() {
                return Err(RpcError::invalid_params(
                    "Invalid params: add: the sum is not a finite number",
                ));
            }
            sum.to_string()
        }
    };
    Ok(text_result(text, false))
}

/// `params._meta.progressToken` when it is a string or an integer.
fn progress_token(req: &Request) -> Option<Value> {
    let token = req.meta()?.get("progressToken")?;
    match token {
        Value::String(_) => Some(token.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(token.clone()),
        _ => None,
    }
}

fn bounded_arg(
    args: &Map<String, Value>,
    key: &str,
    default: u64,
    (min, max): (u64, u64),
) -> Result<u64, RpcError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| bad_arg("slow", key, &format!("an integer from {min} to {max}"))),
    }
}

async fn slow(
    req: &Request,
    args: &Map<String, Value>,
    ctx: &HandlerCtx<'_>,
    era: Era,
) -> Result<Value, RpcError> {
    let steps = bounded_arg(args, "steps", SLOW_DEFAULT_STEPS, (1, SLOW_MAX_STEPS))?;
    let delay = bounded_arg(
        args,
        "delayMs",
        SLOW_DEFAULT_DELAY_MS,
        (0, SLOW_MAX_DELAY_MS),
    )?;
    if steps.saturating_mul(delay) > SLOW_MAX_TOTAL_MS {
        return Err(RpcError::invalid_params(format!(
            "Invalid params: slow: steps × delayMs must be at most {SLOW_MAX_TOTAL_MS}"
        )));
    }
    let token = progress_token(req);
    for step in 1..=steps {
        tokio::time::sleep(Duration::from_millis(delay)).await;
        if let (Some(token), Some(sink)) = (&token, ctx.sink) {
            let mut params = json!({
                "progressToken": token,
                "progress": step,
                "total": steps,
                "message": format!("step {step} of {steps}"),
            });
            if era == Era::Modern
                && let Value::Object(obj) = &mut params
            {
                obj.insert(
                    "_meta".into(),
                    json!({ PROTOCOL_VERSION_META_KEY: MODERN_VERSION }),
                );
            }
            // The client went away: stop working; the response goes nowhere anyway.
            if sink
                .send(rpc::notification("notifications/progress", params))
                .await
                .is_err()
            {
                break;
            }
        }
    }
    Ok(text_result(format!("slow: finished {steps} steps"), false))
}

fn prompts() -> Value {
    json!([{
        "name": "greeting",
        "title": "Greeting",
        "description": "A short greeting for someone.",
        "arguments": [{ "name": "name", "description": "Who to greet", "required": true }]
    }])
}

fn get_prompt(req: &Request) -> Result<Value, RpcError> {
    let params = req.params_object()?;
    match params.get("name") {
        Some(Value::String(n)) if n == "greeting" => {}
        Some(Value::String(n)) => {
            return Err(RpcError::invalid_params(format!("Unknown prompt: {n}"))
                .with_data(json!({ "name": n })));
        }
        _ => {
            return Err(RpcError::invalid_params(
                "Invalid params: prompts/get needs a string name",
            ));
        }
    }
    let who = params
        .get("arguments")
        .and_then(|a| a.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RpcError::invalid_params("Invalid params: greeting needs the string argument name")
        })?;
    Ok(json!({
        "description": "A short greeting",
        "messages": [{
            "role": "user",
            "content": { "type": "text", "text": format!("Say hello to {who}.") }
        }]
    }))
}

fn resources() -> Value {
    json!([
        {
            "uri": "mock://hello",
            "name": "hello",
            "title": "Hello",
            "description": "A plain-text greeting.",
            "mimeType": "text/plain"
        },
        {
            "uri": "mock://info",
            "name": "info",
            "title": "Server info",
            "description": "The mock's name, version and protocol versions, as JSON.",
            "mimeType": "application/json"
        }
    ])
}

fn templates() -> Value {
    json!([{
        "uriTemplate": "mock://echo/{text}",
        "name": "echo",
        "title": "Echo resource",
        "description": "A text resource whose content is the end of its URI.",
        "mimeType": "text/plain"
    }])
}

fn read_resource(req: &Request) -> Result<Value, RpcError> {
    let params = req.params_object()?;
    let Some(Value::String(uri)) = params.get("uri") else {
        return Err(RpcError::invalid_params(
            "Invalid params: resources/read needs a string uri",
        ));
    };
    let (mime, text) = match uri.as_str() {
        "mock://hello" => ("text/plain", "Hello from mcpgw-mock!".to_string()),
        "mock://info" => (
            "application/json",
            json!({ "serverInfo": server_info(), "protocolVersions": SUPPORTED_VERSIONS })
                .to_string(),
        ),
        other => match other.strip_prefix("mock://echo/") {
            Some(rest) if !rest.is_empty() => ("text/plain", rest.to_string()),
            _ => {
                return Err(RpcError::new(
                    RESOURCE_NOT_FOUND,
                    format!("Resource not found: {other}"),
                )
                .with_data(json!({ "uri": other })));
            }
        },
    };
    Ok(json!({ "contents": [{ "uri": uri, "mimeType": mime, "text": text }] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, params: Value) -> Request {
        Request {
            id: json!(1),
            method: method.into(),
            params: Some(params),
        }
    }

    async fn answer_in(era: Era, method: &str, params: Value) -> Value {
        let ctx = HandlerCtx { era, sink: None };
        handle(&req(method, params), &ctx).await
    }

    async fn answer(method: &str, params: Value) -> Value {
        answer_in(Era::Handshake, method, params).await
    }

    #[tokio::test]
    async fn initialize_negotiates() {
        let r = answer("initialize", json!({"protocolVersion":"2025-06-18"})).await;
        assert_eq!(r["result"]["protocolVersion"], "2025-06-18");
        let r = answer("initialize", json!({"protocolVersion":"2099-01-01"})).await;
        assert_eq!(r["result"]["protocolVersion"], "2025-11-25");
        assert_eq!(r["result"]["serverInfo"]["name"], SERVER_NAME);
        assert!(r["result"].get("resultType").is_none());
        let r = answer("initialize", json!({})).await;
        assert_eq!(r["error"]["code"], INVALID_PARAMS);
    }

    #[tokio::test]
    async fn discover_and_modern_results() {
        let meta = json!({"_meta":{PROTOCOL_VERSION_META_KEY: MODERN_VERSION, "io.modelcontextprotocol/clientCapabilities": {}}});
        let r = answer_in(Era::Modern, "server/discover", meta.clone()).await;
        assert_eq!(r["result"]["supportedVersions"], json!([MODERN_VERSION]));
        assert_eq!(r["result"]["resultType"], "complete");
        assert_eq!(r["result"]["ttlMs"], 0);
        let r = answer_in(Era::Modern, "tools/list", meta.clone()).await;
        assert_eq!(r["result"]["cacheScope"], "private");
        // removed in 2026-07-28, still served to the handshake era
        for removed in REMOVED_IN_MODERN {
            let r = answer_in(Era::Modern, removed, meta.clone()).await;
            assert_eq!(r["error"]["code"], rpc::METHOD_NOT_FOUND, "{removed}");
        }
        let r = answer("ping", json!({})).await;
        assert_eq!(r["result"], json!({}));
    }

    #[tokio::test]
    async fn add_is_exact_for_integers_and_checks_types() {
        let call = |a: Value, b: Value| {
            answer(
                "tools/call",
                json!({"name":"add","arguments":{"a":a,"b":b}}),
            )
        };
        assert_eq!(
            call(json!(2), json!(3)).await["result"]["content"][0]["text"],
            "5"
        );
        assert_eq!(
            call(json!(1.5), json!(2)).await["result"]["content"][0]["text"],
            "3.5"
        );
        assert_eq!(
            call(json!(u64::MAX), json!(1)).await["result"]["content"][0]["text"],
            "18446744073709551616"
        );
        assert_eq!(
            call(json!("2"), json!(3)).await["error"]["code"],
            INVALID_PARAMS
        );
        assert_eq!(
            call(json!(1e308), json!(1e308)).await["error"]["code"],
            INVALID_PARAMS
        );
    }

    #[tokio::test]
    async fn slow_sends_progress_to_the_sink() {
        let (tx, mut rx) = mpsc::channel(8);
        let ctx = HandlerCtx {
            era: Era::Handshake,
            sink: Some(&tx),
        };
        let r = req(
            "tools/call",
            json!({"name":"slow","arguments":{"steps":3,"delayMs":0},"_meta":{"progressToken":"t"}}),
        );
        assert!(streams(&r));
        let res = handle(&r, &ctx).await;
        drop(tx);
        let mut seen = Vec::new();
        while let Some(n) = rx.recv().await {
            seen.push(n["params"]["progress"].clone());
        }
        assert_eq!(seen, vec![json!(1), json!(2), json!(3)]);
        assert_eq!(
            res["result"]["content"][0]["text"],
            "slow: finished 3 steps"
        );
    }
}
