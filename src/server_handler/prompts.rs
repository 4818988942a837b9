//! Prompts (§15.8): `prompts/list` and `prompts/get` (POST with the arguments as JSON; the
//! route answers the messages).

use super::args::{self, Refusal};
use super::context::Ctx;
use super::request;
use super::rpc::{INTERNAL_ERROR, Request, RpcError};
use crate::config::mcp_server::McpServer;
use serde_json::{Map, Value, json};

pub fn list(server: &McpServer, debug: bool) -> Value {
    if debug {
        let names: Vec<&str> = server.prompts.iter().map(|p| p.name.as_str()).collect();
        tracing::debug!(promptCount = names.len(), promptNames = ?names, "MCP Server list prompts request");
    }
    let prompts: Vec<Value> = server
        .prompts
        .iter()
        .map(|p| {
            let arguments: Vec<Value> = p
                .arguments
                .iter()
                .map(|a| json!({"name": a.name, "description": a.description, "required": a.required}))
                .collect();
            json!({"name": p.name, "description": p.description, "arguments": arguments})
        })
        .collect();
    json!({"prompts": prompts})
}

pub async fn get(req: &Request, ctx: &Ctx<'_>) -> Result<Value, RpcError> {
    let params = req.params()?;
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Err(RpcError::invalid_params(
            "Invalid params: prompts/get needs a string name",
        ));
    };
    let Some(prompt) = ctx.server.prompts.iter().find(|p| p.name == name) else {
        return Err(RpcError::invalid_params(format!(
            "Prompt \"{name}\" not found"
        )));
    };
    let invalid = |details: String, data: Option<Value>| {
        let e =
            RpcError::invalid_params(format!("Invalid arguments for prompt '{name}': {details}"));
        match data {
            Some(d) => e.with_data(d),
            None => e,
        }
    };
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(invalid("✖ Invalid input: expected object".into(), None));
        }
    };
    match &prompt.body_schema {
        // no JSON body declared: the prompt takes no arguments
        None if !arguments.is_empty() => {
            let issues = vec![args::Issue {
                path: String::new(),
                message: format!(
                    "Unrecognized key{}: {}",
                    if arguments.len() == 1 { "" } else { "s" },
                    arguments
                        .keys()
                        .map(|k| format!("{k:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }];
            return Err(invalid(args::details(&issues), Some(args::data(&issues))));
        }
        None => {}
        Some(schema) => match args::validate(schema, &Value::Object(arguments.clone())) {
            Ok(()) => {}
            Err(Refusal::Invalid(issues)) => {
                return Err(invalid(args::details(&issues), Some(args::data(&issues))));
            }
            Err(Refusal::BadSchema(why)) => return Err(failed(name, &why)),
        },
    }
    let inner = request::prompt(&prompt.target, &arguments, ctx.headers)
        .map_err(|e| failed(name, &e.to_string()))?;
    let resp = ctx
        .invoker
        .invoke(prompt.target.route, inner)
        .await
        .map_err(|e| failed(name, &e.to_string()))?;
    if !resp.is_success() {
        return Err(failed(
            name,
            &format!(
                "the route answered {}: {}",
                resp.status.as_u16(),
                resp.text()
            ),
        ));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&resp.body) else {
        return Err(failed(name, "the route's answer is not JSON"));
    };
    let (messages, description) = match &body {
        Value::Array(m) => (m.clone(), None),
        Value::Object(o) => match o.get("messages") {
            Some(Value::Array(m)) => (m.clone(), o.get("description").cloned()),
            _ => return Err(failed(name, "the route's answer has no messages array")),
        },
        _ => return Err(failed(name, "the route's answer has no messages array")),
    };
    let mut out = Map::new();
    if let Some(d) = description.filter(Value::is_string) {
        out.insert("description".into(), d);
    }
    out.insert("messages".into(), Value::Array(messages));
    Ok(Value::Object(out))
}

fn failed(name: &str, why: &str) -> RpcError {
    RpcError::new(
        INTERNAL_ERROR,
        format!("MCP prompt invocation failed for prompt '{name}': {why}"),
    )
}
