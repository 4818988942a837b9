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
    out.insert(
        "content".into(),
        json!([{"type": "text", "text": resp.text()}]),
    );
    if let Some(s) = structured {
        out.insert("structuredContent".into(), s);
    }
    out.insert("isError".into(), (!ok).into());
    out.insert("_meta".into(), json!({}));
    Value::Object(out)
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
