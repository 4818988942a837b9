//! Resources (§15.9): `resources/list` and `resources/read` (GET by exact URI; the body is the
//! content, whatever the status).

use super::context::Ctx;
use super::request;
use super::rpc::{INTERNAL_ERROR, Request, RpcError};
use crate::config::mcp_server::McpServer;
use serde_json::{Map, Value, json};

pub fn list(server: &McpServer, debug: bool) -> Value {
    if debug {
        let names: Vec<&str> = server.resources.iter().map(|r| r.name.as_str()).collect();
        tracing::debug!(resourceCount = names.len(), resourceNames = ?names, "MCP Server list resources request");
    }
    let resources: Vec<Value> = server
        .resources
        .iter()
        .map(|r| {
            let mut o = Map::new();
            o.insert("name".into(), r.name.clone().into());
            o.insert("uri".into(), r.uri.clone().into());
            o.insert("title".into(), r.name.clone().into());
            o.insert("description".into(), r.description.clone().into());
            o.insert("mimeType".into(), r.mime_type.clone().into());
            if let Some(m) = &r.meta {
                o.insert("_meta".into(), m.clone());
            }
            Value::Object(o)
        })
        .collect();
    json!({"resources": resources})
}

pub async fn read(req: &Request, ctx: &Ctx<'_>) -> Result<Value, RpcError> {
    let params = req.params()?;
    let Some(uri) = params.get("uri").and_then(Value::as_str) else {
        return Err(RpcError::invalid_params(
            "Invalid params: resources/read needs a string uri",
        ));
    };
    let Some(resource) = ctx.server.resources.iter().find(|r| r.uri == uri) else {
        return Err(
            RpcError::invalid_params(format!("Resource not found: {uri}"))
                .with_data(json!({"uri": uri})),
        );
    };
    let failed = |why: String| {
        RpcError::new(
            INTERNAL_ERROR,
            format!(
                "MCP resource call failed for resource '{}': {why}",
                resource.name
            ),
        )
    };
    let inner =
        request::resource(&resource.target, ctx.headers).map_err(|e| failed(e.to_string()))?;
    let resp = ctx
        .invoker
        .invoke(resource.target.route, inner)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut content = Map::new();
    content.insert("uri".into(), resource.uri.clone().into());
    // the configured mimeType, never the response's Content-Type (7.6.4, D20)
    content.insert("mimeType".into(), resource.mime_type.clone().into());
    content.insert("text".into(), resp.text().into());
    if let Some(m) = &resource.meta {
        content.insert("_meta".into(), m.clone());
    }
    Ok(json!({"contents": [Value::Object(content)]}))
}
