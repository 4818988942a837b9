//! The `tools/call` result (§15.7, §15.10).
//!
//! Owns: the default result (the whole body as text, `isError` for a status outside 2xx,
//! `_meta: {}`, `structuredContent` for a 2xx JSON object when enabled), the output-schema
//! check, GraphQL's always-structured results, and the result of a call that failed in the
//! handler's own path.

use super::args;
use super::invoker::InnerResponse;
use crate::config::mcp_server::{Tool, ToolKind};
use serde_json::{Map, Value, json};

/// The result of a tool whose route answered.
pub fn tool_result(tool: &Tool, resp: &InnerResponse) -> Value {
    let ok = resp.is_success();
    let graphql = matches!(
        tool.kind,
        ToolKind::GraphqlIntrospect | ToolKind::GraphqlExecute
    );
    let object = || {
        serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .filter(Value::is_object)
    };
    let structured = if graphql || (tool.include_structured_content && ok) {
        object()
    } else {
        None
    };
    // §15.7: a ZuploMcpSdk override replaces the fields it gives (never isError); a bad one
    // is the result's error
    let over = match resp.mcp_override.as_ref().map(checked_override) {
        Some(Err(why)) => {
            tracing::error!(tool = %tool.name, "ZuploMcpSdk override rejected: {why}");
            return error_result(&format!(
                "Invalid tool result override for tool '{}': {why}",
                tool.name
            ));
        }
        Some(Ok(o)) => Some(o),
        None => None,
    };
    let structured = match over.and_then(|o| o.get("structuredContent")) {
        Some(s) => Some(s.clone()),
        None => structured,
    };
    if ok
        && !graphql
        && let Some(schema) = &tool.output_schema
    {
        let why = match &structured {
            None => Some(format!(
                "Output validation error: Tool {} has an output schema but did not return structured content",
                tool.name
            )),
            Some(s) => match args::validate(schema, s) {
                Ok(()) => None,
                Err(args::Refusal::Invalid(issues)) => Some(format!(
                    "Output validation error: Invalid structured content for tool {}: {}",
                    tool.name,
                    args::details(&issues)
                )),
                Err(args::Refusal::BadSchema(e)) => Some(format!(
                    "Output validation error: the output schema of tool {} does not compile: {e}",
                    tool.name
                )),
            },
        };
        if let Some(why) = why {
            // logged whatever debugMode says (§15.14)
            tracing::error!(tool = %tool.name, reason = "invalid_tool_result", "MCP tool result rejected");
            return error_result(&why);
        }
    }
    let mut out = Map::new();
    let content = over
        .and_then(|o| o.get("content"))
        .cloned()
        .unwrap_or_else(|| json!([{"type": "text", "text": resp.text()}]));
    out.insert("content".into(), content);
    if let Some(s) = structured {
        out.insert("structuredContent".into(), s);
    }
    out.insert("isError".into(), (!ok).into());
    let meta = over.and_then(|o| o.get("_meta")).cloned();
    out.insert("_meta".into(), meta.unwrap_or_else(|| json!({})));
    Value::Object(out)
}

/// The §15.7 checks of a `setRawCallToolResult` override: an object whose `content` is an
/// array of blocks of known types, each valid for its type, and whose `structuredContent` and
/// `_meta` are objects. `isError` is not one of its fields and is left out.
fn checked_override(v: &Value) -> Result<&Map<String, Value>, String> {
    let o = v
        .as_object()
        .ok_or("setRawCallToolResult needs an object {content?, structuredContent?, _meta?}")?;
    if let Some(c) = o.get("content") {
        let blocks = c
            .as_array()
            .ok_or("content must be an array of content blocks")?;
        for (i, b) in blocks.iter().enumerate() {
            check_block(b).map_err(|why| format!("content[{i}]: {why}"))?;
        }
    }
    for field in ["structuredContent", "_meta"] {
        if o.get(field).is_some_and(|f| !f.is_object()) {
            return Err(format!("{field} must be a plain object"));
        }
    }
    Ok(o)
}

fn check_block(b: &Value) -> Result<(), String> {
    let string = |field: &str| {
        b.get(field)
            .and_then(Value::as_str)
            .map(|_| ())
            .ok_or_else(|| format!("a {:?} block needs a string {field}", b["type"]))
    };
    match b.get("type").and_then(Value::as_str) {
        Some("text") => string("text"),
        Some("image") | Some("audio") => string("data").and(string("mimeType")),
        Some("resource_link") => string("uri").and(string("name")),
        Some("resource") => {
            let r = b
                .get("resource")
                .filter(|r| r.is_object())
                .ok_or("a \"resource\" block needs a resource object")?;
            let has = |f: &str| r.get(f).is_some_and(Value::is_string);
            if has("uri") && (has("text") || has("blob")) {
                Ok(())
            } else {
                Err("a \"resource\" block's resource needs a string uri and text or blob".into())
            }
        }
        Some(other) => Err(format!(
            "type {other:?} is not one of text, image, audio, resource_link, resource"
        )),
        None => Err("a content block needs a string type".into()),
    }
}

/// A call that failed in the handler's own path (building the URL, reaching the route): the
/// text names the tool; no `_meta` (§15.7).
pub fn call_failed(tool: &str, error: &str) -> Value {
    error_result(&format!("MCP tool call failed for tool '{tool}': {error}"))
}

fn error_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": true})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::mcp_server::{Channels, Target};
    use axum::http::{HeaderMap, StatusCode};

    fn tool(kind: ToolKind, structured: bool, output: Option<Value>) -> Tool {
        Tool {
            name: "t".into(),
            description: String::new(),
            target: Target {
                route: 0,
                method: "GET".into(),
                path: "/x".into(),
                operation_id: "t".into(),
            },
            kind,
            input_schema: json!({}),
            output_schema: output,
            include_structured_content: structured,
            annotations: None,
            meta: None,
        }
    }

    fn op() -> ToolKind {
        ToolKind::Operation {
            content_type: None,
            channels: Channels::default(),
        }
    }

    fn resp(status: u16, body: &str) -> InnerResponse {
        InnerResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec().into(),
            mcp_override: None,
        }
    }

    #[test]
    fn an_override_replaces_the_fields_it_gives_but_not_is_error() {
        let mut r = resp(500, "boom");
        r.mcp_override = Some(json!({
            "content": [{"type": "text", "text": "custom"}],
            "_meta": {"k": 1},
            "isError": false
        }));
        let out = tool_result(&tool(op(), true, None), &r);
        assert_eq!(out["content"], json!([{"type": "text", "text": "custom"}]));
        assert_eq!(out["_meta"], json!({"k": 1}));
        assert_eq!(out["isError"], true);
        let mut r = resp(200, r#"{"a":1}"#);
        r.mcp_override = Some(json!({"structuredContent": {"b": 2}}));
        let out = tool_result(&tool(op(), true, None), &r);
        assert_eq!(out["structuredContent"], json!({"b": 2}));
        assert_eq!(out["content"][0]["text"], r#"{"a":1}"#);
    }

    #[test]
    fn a_bad_override_is_an_error_result_naming_the_fault() {
        for (over, fault) in [
            (
                json!({"content": [{"type": "video"}]}),
                "content[0]: type \"video\"",
            ),
            (
                json!({"content": [{"type": "text"}]}),
                "needs a string text",
            ),
            (json!({"content": "x"}), "content must be an array"),
            (
                json!({"structuredContent": [1]}),
                "structuredContent must be a plain object",
            ),
            (json!({"_meta": "m"}), "_meta must be a plain object"),
            (json!([1]), "needs an object"),
        ] {
            let mut r = resp(200, "{}");
            r.mcp_override = Some(over);
            let out = tool_result(&tool(op(), false, None), &r);
            assert_eq!(out["isError"], true);
            let text = out["content"][0]["text"].as_str().unwrap();
            assert!(text.contains(fault), "{text}");
        }
    }

    #[test]
    fn default_results() {
        let r = tool_result(&tool(op(), false, None), &resp(200, r#"{"a":1}"#));
        assert_eq!(
            r,
            json!({"content":[{"type":"text","text":"{\"a\":1}"}],"isError":false,"_meta":{}})
        );
        let r = tool_result(&tool(op(), true, None), &resp(200, r#"{"a":1}"#));
        assert_eq!(r["structuredContent"], json!({"a":1}));
        let r = tool_result(&tool(op(), true, None), &resp(200, "[1]"));
        assert!(r.get("structuredContent").is_none(), "arrays are left out");
        let r = tool_result(&tool(op(), true, None), &resp(404, r#"{"a":1}"#));
        assert_eq!(r["isError"], true);
        assert!(r.get("structuredContent").is_none());
    }

    #[test]
    fn output_schema_is_checked_on_success_only() {
        let schema =
            json!({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]});
        let t = tool(op(), true, Some(schema));
        assert_eq!(tool_result(&t, &resp(200, r#"{"a":1}"#))["isError"], false);
        let r = tool_result(&t, &resp(200, r#"{"a":"x"}"#));
        assert_eq!(r["isError"], true);
        assert!(
            r["content"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Output validation error: Invalid structured content for tool t")
        );
        let r = tool_result(&t, &resp(200, "plain"));
        assert!(
            r["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("did not return structured content")
        );
        assert_eq!(
            tool_result(&t, &resp(500, "boom"))["content"][0]["text"],
            "boom"
        );
    }

    #[test]
    fn graphql_results_are_structured_whatever_the_option() {
        let r = tool_result(
            &tool(ToolKind::GraphqlExecute, false, None),
            &resp(200, r#"{"data":{}}"#),
        );
        assert_eq!(r["structuredContent"], json!({"data":{}}));
    }

    #[test]
    fn failures_in_the_call_path_name_the_tool() {
        assert_eq!(
            call_failed("t", "Error: x"),
            json!({"content":[{"type":"text","text":"MCP tool call failed for tool 't': Error: x"}],"isError":true})
        );
    }
}
