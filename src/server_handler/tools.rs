//! `tools/call` (§15.5–§15.7, §15.10): find the tool, validate its arguments, build the inner
//! request, run the target route through the invoker, shape the result.

use super::args::{self, Refusal};
use super::context::Ctx;
use super::request;
use super::result::{call_failed, tool_result};
use super::rpc::{Request, RpcError};
use crate::config::mcp_server::{Tool, ToolKind};
use serde_json::{Map, Value};

pub async fn call(req: &Request, ctx: &Ctx<'_>) -> Result<Value, RpcError> {
    let params = req.params()?;
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Err(RpcError::invalid_params(
            "Invalid params: tools/call needs a string name",
        ));
    };
    let Some(tool) = ctx.server.tools.iter().find(|t| t.name == name) else {
        return Err(RpcError::invalid_params(format!(
            "Tool \"{name}\" not found"
        )));
    };
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(RpcError::invalid_params(format!(
                "Invalid arguments for tool '{name}': ✖ Invalid input: expected object"
            )));
        }
    };
    if let Err(refusal) = args::validate(&schema_for(tool, &args), &Value::Object(args.clone())) {
        return match refusal {
            Refusal::Invalid(issues) => Err(RpcError::invalid_params(format!(
                "Invalid arguments for tool '{name}': {}",
                args::details(&issues)
            ))
            .with_data(args::data(&issues))),
            Refusal::BadSchema(why) => {
                tracing::warn!(tool = name, error = %why, "MCP validator build failed");
                Ok(call_failed(
                    name,
                    &format!("Error: the tool's input schema does not compile: {why}"),
                ))
            }
        };
    }
    if ctx.debug() {
        tracing::debug!(toolName = name, "MCP tool invoked");
    }
    let inner = match request::tool(tool, &args, ctx.headers) {
        Ok(mut r) => {
            r.raw_call_tool_request = Some(serde_json::json!({
                "jsonrpc": "2.0",
                "id": req.id,
                "method": req.method,
                "params": req.params,
            }));
            r
        }
        Err(e) => return Ok(call_failed(name, &format!("Error: {e}"))),
    };
    if ctx.debug() {
        tracing::debug!(
            toolName = name,
            method = %inner.method,
            path = %inner.path_and_query(),
            "MCP tool downstream call"
        );
    }
    let resp = match ctx.invoker.invoke(tool.target.route, inner).await {
        Ok(r) => r,
        Err(e) => return Ok(call_failed(name, &format!("Error: {e}"))),
    };
    let result = tool_result(tool, &resp);
    if ctx.debug() {
        let status = resp.status.as_u16();
        if result["isError"] == Value::Bool(true) {
            tracing::debug!(toolName = name, status, "MCP tool 'isError' response");
        } else {
            tracing::debug!(toolName = name, status, "MCP tool ok response");
        }
    }
    Ok(result)
}

/// The schema the arguments are checked against: the advertised one, or for a flat tool
/// called with the nested form, that form's schema (§15.5).
fn schema_for(tool: &Tool, args: &Map<String, Value>) -> Value {
    match &tool.kind {
        ToolKind::Operation { channels, .. }
            if channels.flat && request::nested_form(&tool.input_schema, args) =>
        {
            request::nested_schema(channels)
        }
        _ => tool.input_schema.clone(),
    }
}
