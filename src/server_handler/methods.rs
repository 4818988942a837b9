//! The JSON-RPC methods of an `mcpServerHandler` route (§15.11) and the lists (§15.5, §15.8,
//! §15.9).
//!
//! Owns: which method answers what, `initialize` (version echo, capabilities with the
//! non-standard `tools.available`, no `instructions`), 2026-07-28 `server/discover` and the
//! revision's `resultType` / cache hints (D20, beyond 7.6.4), `ping`, the three lists and
//! `resources/templates/list`. Calls are in `tools`, `prompts`, `resources`.

use super::context::Ctx;
use super::rpc::{METHOD_NOT_FOUND, Request, RpcError};
use super::transport::supported_versions;
use crate::config::mcp_server::McpServer;
use crate::mcp::era::{Era, SERVER_INFO_META_KEY, SESSION_VERSIONS};
use serde_json::{Map, Value, json};

/// `initialize` answers this when the client's version is not one of 7.6.4's.
pub const LATEST_SESSION_VERSION: &str = "2025-11-25";

/// Answers one request: the result, or the JSON-RPC error.
pub async fn answer(req: &Request, ctx: &Ctx<'_>) -> Result<Value, RpcError> {
    let server = ctx.server;
    let (result, cacheable) = match req.method.as_str() {
        "initialize" => (initialize(req, server)?, false),
        "server/discover" => (discover(server), true),
        "ping" => (json!({}), false),
        "tools/list" => (tools_list(server, ctx.debug()), true),
        "prompts/list" => (super::prompts::list(server, ctx.debug()), true),
        "resources/list" => (super::resources::list(server, ctx.debug()), true),
        "resources/templates/list" => (json!({"resourceTemplates": []}), true),
        "tools/call" => (super::tools::call(req, ctx).await?, false),
        "prompts/get" => (super::prompts::get(req, ctx).await?, false),
        "resources/read" => (super::resources::read(req, ctx).await?, true),
        _ => return Err(RpcError::new(METHOD_NOT_FOUND, "Method not found")),
    };
    Ok(match ctx.era {
        Era::Modern => modern(result, cacheable),
        Era::Session => result,
    })
}

/// 2026-07-28 results carry `resultType`; cacheable ones the cache hints, which say "do not
/// keep" (`ttlMs` 0) and "per caller" (`private`): a reload may change the lists, and the
/// route's policies may make an answer depend on who asked.
fn modern(mut result: Value, cacheable: bool) -> Value {
    if let Value::Object(obj) = &mut result {
        obj.entry("resultType").or_insert_with(|| "complete".into());
        if cacheable {
            obj.entry("ttlMs").or_insert_with(|| 0.into());
            obj.entry("cacheScope").or_insert_with(|| "private".into());
        }
    }
    result
}

/// `capabilities` of both eras: all three kinds, whatever the server has, and the tool names.
fn capabilities(server: &McpServer) -> Value {
    let names: Vec<&str> = server.tools.iter().map(|t| t.name.as_str()).collect();
    json!({
        "tools": {"supported": true, "available": names},
        "prompts": {},
        "resources": {},
    })
}

fn server_info(server: &McpServer) -> Value {
    json!({"name": server.options.name, "version": server.options.version})
}

fn initialize(req: &Request, server: &McpServer) -> Result<Value, RpcError> {
    let params = req.params()?;
    let asked = params.get("protocolVersion").and_then(Value::as_str);
    let version = asked
        .filter(|v| SESSION_VERSIONS.contains(v))
        .unwrap_or(LATEST_SESSION_VERSION);
    Ok(json!({
        "protocolVersion": version,
        "capabilities": capabilities(server),
        "serverInfo": server_info(server),
    }))
}

/// 2026-07-28 `server/discover` (D20): the versions, the `initialize` capabilities, and the
/// server's name where that revision carries it (`_meta`).
fn discover(server: &McpServer) -> Value {
    let mut meta = Map::new();
    meta.insert(SERVER_INFO_META_KEY.into(), server_info(server));
    json!({
        "supportedVersions": supported_versions(),
        "capabilities": capabilities(server),
        "_meta": meta,
    })
}

fn tools_list(server: &McpServer, debug: bool) -> Value {
    if debug {
        let names: Vec<&str> = server.tools.iter().map(|t| t.name.as_str()).collect();
        tracing::debug!(toolCount = names.len(), toolNames = ?names, "MCP Server list tools request");
    }
    let tools: Vec<Value> = server
        .tools
        .iter()
        .map(|t| {
            let mut o = Map::new();
            o.insert("name".into(), t.name.clone().into());
            o.insert("description".into(), t.description.clone().into());
            o.insert("inputSchema".into(), t.input_schema.clone());
            if let Some(s) = &t.output_schema {
                o.insert("outputSchema".into(), s.clone());
            }
            if let Some(a) = &t.annotations {
                o.insert("annotations".into(), a.clone());
            }
            if let Some(m) = &t.meta {
                o.insert("_meta".into(), m.clone());
            }
            Value::Object(o)
        })
        .collect();
    json!({"tools": tools})
}
