//! Icons on an upstream's `initialize` answer (SPEC §6.7): MCP clients show a server's
//! `serverInfo.icons` next to its tools. When a token-exchange upstream sends none, the gateway
//! adds the policy's `serverInfo.icons`, or else the upstream site's favicon. JSON answers only:
//! an event stream passes through untouched.

use serde_json::{Value, json};
use url::Url;

/// Whether a JSON-RPC request body is an `initialize` (the only answer this module touches).
pub fn is_initialize(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Head>(body)
        .ok()
        .and_then(|h| h.method)
        .is_some_and(|m| m == "initialize")
}

/// The icons to add: the policy's `serverInfo.icons`, else `<upstream origin>/favicon.ico`.
fn icons_for(configured: Option<&Value>, mcp_url: &Url) -> Option<Value> {
    if let Some(icons) = configured
        .and_then(|s| s.get("icons"))
        .filter(|i| i.as_array().is_some_and(|a| !a.is_empty()))
    {
        return Some(icons.clone());
    }
    let origin = mcp_url.origin();
    if !origin.is_tuple() {
        return None;
    }
    Some(json!([{ "src": format!("{}/favicon.ico", origin.ascii_serialization()) }]))
}

/// `body` with icons added to `result.serverInfo`, or `None` when it already has icons, is not
/// an `initialize` result, or is not JSON. `configured` is the policy's `serverInfo` option.
pub fn with_icons(body: &[u8], configured: Option<&Value>, mcp_url: &Url) -> Option<Vec<u8>> {
    let mut message: Value = serde_json::from_slice(body).ok()?;
    let info = message
        .get_mut("result")?
        .get_mut("serverInfo")?
        .as_object_mut()?;
    if info.get("icons").is_some_and(|i| !i.is_null()) {
        return None;
    }
    info.insert("icons".into(), icons_for(configured, mcp_url)?);
    serde_json::to_vec(&message).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("https://mcp.linear.app:8443/mcp").unwrap()
    }

    const ANSWER: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"linear","version":"1"}}}"#;

    #[test]
    fn favicon_of_the_upstream_origin_when_nothing_is_configured() {
        let out = with_icons(ANSWER.as_bytes(), None, &url()).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["result"]["serverInfo"]["icons"],
            json!([{"src": "https://mcp.linear.app:8443/favicon.ico"}])
        );
        assert_eq!(v["result"]["serverInfo"]["name"], "linear");
        assert_eq!(v["id"], 1);
    }

    #[test]
    fn configured_icons_win() {
        let icons = json!([{"src": "https://cdn.example/linear.svg", "mimeType": "image/svg+xml"}]);
        let te = json!({"name": "l", "version": "1", "icons": icons});
        let out = with_icons(ANSWER.as_bytes(), Some(&te), &url()).unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["result"]["serverInfo"]["icons"], icons);
    }

    #[test]
    fn upstream_icons_and_other_answers_are_left_alone() {
        let with = r#"{"jsonrpc":"2.0","id":1,"result":{"serverInfo":{"name":"x","version":"1","icons":[]}}}"#;
        assert_eq!(with_icons(with.as_bytes(), None, &url()), None);
        let error = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"no"}}"#;
        assert_eq!(with_icons(error.as_bytes(), None, &url()), None);
        assert_eq!(with_icons(b"event: message\n", None, &url()), None);
    }

    #[test]
    fn only_initialize_requests() {
        assert!(is_initialize(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#
        ));
        assert!(!is_initialize(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        ));
        assert!(!is_initialize(
            br#"[{"jsonrpc":"2.0","id":1,"method":"initialize"}]"#
        ));
        assert!(!is_initialize(b"not json"));
    }
}
