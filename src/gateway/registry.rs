//! The MCP server registry (SPEC §3.16).
//!
//! Owns: where the registry is mounted (`registry.enabled`/`registry.path`, §1.6), the server
//! catalogue built from a validated project (names, descriptions, versions, icons, remotes),
//! and the answer to every request under the registry path (listing, pagination, search,
//! lookups, and the read-only refusals). A pure function from request parts to status, body
//! and headers: the server turns it into an HTTP response.

use crate::config::plugin;
use crate::config::policies::PolicyConfig;
use crate::config::policies::token_exchange::TokenExchange;
use crate::config::project::{Project, Route};
use crate::validate::Model;
use crate::web::encoding::decode_component_strict;
use axum::http::Method;
use serde_json::{Map, Value, json};

/// Page size when `limit` is absent, and its ceiling.
pub const DEFAULT_LIMIT: usize = 30;
pub const MAX_LIMIT: usize = 100;
/// Lengths the registry's server.json schema allows.
const MAX_NAMESPACE: usize = 150;
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 100;
const MAX_ICON_SRC: usize = 255;
const DEFAULT_VERSION: &str = "0.0.0";
const OFFICIAL_META: &str = "io.modelcontextprotocol.registry/official";

/// An answer of the registry.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryResponse {
    pub status: u16,
    /// The JSON body; `None` for a preflight (204).
    pub body: Option<Value>,
    /// Headers to send, CORS and content type included.
    pub headers: Vec<(&'static str, String)>,
}

impl RegistryResponse {
    fn json(status: u16, body: Value) -> RegistryResponse {
        RegistryResponse {
            status,
            body: Some(body),
            headers: vec![
                ("content-type", "application/json".to_string()),
                ("access-control-allow-origin", "*".to_string()),
            ],
        }
    }

    fn error(status: u16, message: &str) -> RegistryResponse {
        RegistryResponse::json(status, json!({ "error": message }))
    }

    fn preflight() -> RegistryResponse {
        RegistryResponse {
            status: 204,
            body: None,
            headers: vec![
                ("access-control-allow-origin", "*".to_string()),
                ("access-control-allow-methods", "GET, OPTIONS".to_string()),
                ("access-control-allow-headers", "*".to_string()),
                ("access-control-max-age", "86400".to_string()),
            ],
        }
    }
}

/// The path the registry is served under (`registry.path`, default `{basePath}/mcp-registry`),
/// or `None` when `registry.enabled` is false. An invalid path (rule 13) counts as the default;
/// `"/"` is the origin root, returned as the empty prefix (as `basePath` is).
pub fn mount_path(project: &Project) -> Option<String> {
    let options = project.plugin.options.as_ref();
    let registry = options.and_then(|o| o.get("registry"));
    if registry
        .and_then(|r| r.get("enabled"))
        .and_then(|e| e.as_bool())
        == Some(false)
    {
        return None;
    }
    let default = format!("{}/mcp-registry", project.plugin.prefix());
    let configured = registry
        .and_then(|r| r.get("path"))
        .and_then(|p| p.as_str())
        .filter(|p| plugin::route_prefix_problem(p).is_none());
    Some(match configured {
        Some("/") => String::new(),
        Some(p) => p.to_string(),
        None => default,
    })
}

/// One server of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Server {
    pub name: String,
    pub version: String,
    /// The `server` object of the registry API.
    pub server: Value,
}

impl Server {
    /// `{server, _meta}` as the API returns it.
    fn entry(&self) -> Value {
        json!({
            "server": self.server,
            "_meta": { OFFICIAL_META: { "status": "active", "isLatest": true } },
        })
    }
}

/// Answers a request under the registry path. `path` is what follows the mount path (e.g.
/// `/v0.1/servers`); `query` the raw query string; `origin` the public origin (§3.0).
pub fn respond(
    project: &Project,
    model: &Model,
    origin: &str,
    method: &Method,
    path: &str,
    query: Option<&str>,
) -> RegistryResponse {
    if method == Method::OPTIONS {
        return RegistryResponse::preflight();
    }
    let get = method == Method::GET || method == Method::HEAD;
    let not_found = || RegistryResponse::error(404, "Not found");
    let Some(rest) = path.strip_prefix("/v0.1/") else {
        return not_found();
    };
    if rest == "servers" {
        return if get {
            list(&catalog(project, model, origin), query)
        } else {
            not_found()
        };
    }
    if rest == "publish" {
        return if method == Method::POST {
            RegistryResponse::error(501, "Publishing is not supported by this registry")
        } else {
            not_found()
        };
    }
    let Some(server_path) = rest.strip_prefix("servers/") else {
        return not_found();
    };
    let segments: Vec<&str> = server_path.split('/').collect();
    let n = segments.len();
    let read_only = || RegistryResponse::error(403, "This registry is read-only");
    // a bad escape or bytes that are not UTF-8 are a 400 (§3.16): the strict rule
    let name_of = |end: usize| decode_component_strict(&segments[..end].join("/"));
    match segments.as_slice() {
        [.., "versions", _, "status"] if n >= 4 && method == Method::PATCH => read_only(),
        [.., "status"] if n >= 2 && method == Method::PATCH => read_only(),
        [.., "versions"] if n >= 2 && get => {
            let Some(name) = name_of(n - 1) else {
                return RegistryResponse::error(400, "Invalid server name encoding");
            };
            match catalog(project, model, origin)
                .into_iter()
                .find(|s| s.name == name)
            {
                Some(s) => RegistryResponse::json(200, envelope(&[s], None)),
                None => RegistryResponse::error(404, "Server not found"),
            }
        }
        [.., "versions", version] if n >= 3 => {
            if method == Method::PUT || method == Method::DELETE {
                return RegistryResponse::error(
                    501,
                    "Changing server versions is not supported by this registry",
                );
            }
            if !get {
                return not_found();
            }
            let (Some(name), Some(version)) = (name_of(n - 2), decode_component_strict(version))
            else {
                return RegistryResponse::error(400, "Invalid server name or version encoding");
            };
            match catalog(project, model, origin)
                .into_iter()
                .find(|s| s.name == name && (version == "latest" || s.version == version))
            {
                Some(s) => RegistryResponse::json(200, s.entry()),
                None => RegistryResponse::error(404, "Server or version not found"),
            }
        }
        _ => not_found(),
    }
}

/// `{servers: [...], metadata: {count, nextCursor?}}`.
fn envelope(servers: &[Server], next_cursor: Option<usize>) -> Value {
    let mut metadata = Map::new();
    metadata.insert("count".into(), json!(servers.len()));
    if let Some(next) = next_cursor {
        metadata.insert("nextCursor".into(), json!(next.to_string()));
    }
    json!({
        "servers": servers.iter().map(Server::entry).collect::<Vec<_>>(),
        "metadata": metadata,
    })
}

/// `GET /v0.1/servers` with `limit`, `cursor`, `search`, `version`, `updated_since`.
fn list(catalog: &[Server], query: Option<&str>) -> RegistryResponse {
    let mut limit = None;
    let mut cursor = None;
    let mut search = None;
    let mut version = None;
    let mut updated_since = None;
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let slot = match k.as_ref() {
            "limit" => &mut limit,
            "cursor" => &mut cursor,
            "search" => &mut search,
            "version" => &mut version,
            "updated_since" => &mut updated_since,
            _ => continue,
        };
        // the first occurrence of a parameter counts
        slot.get_or_insert(v.into_owned());
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(s) => match positive_int(&s) {
            Some(n) => n.min(MAX_LIMIT),
            None => {
                return RegistryResponse::error(400, "Invalid limit: must be a positive integer");
            }
        },
    };
    let offset = match cursor {
        None => 0,
        Some(s) => match decimal(&s) {
            Some(n) => n,
            None => return RegistryResponse::error(400, "Invalid cursor"),
        },
    };
    if let Some(s) = &updated_since
        && !is_rfc3339(s)
    {
        return RegistryResponse::error(
            400,
            "Invalid updated_since: must be an RFC 3339 timestamp",
        );
    }
    let search = search.filter(|s| !s.is_empty()).map(|s| s.to_lowercase());
    let version = version.filter(|v| !v.is_empty() && v != "latest");
    let matching: Vec<&Server> = catalog
        .iter()
        .filter(|s| {
            search
                .as_ref()
                .is_none_or(|q| s.name.to_lowercase().contains(q))
        })
        .filter(|s| version.as_ref().is_none_or(|v| &s.version == v))
        .collect();
    let page: Vec<Server> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| (*s).clone())
        .collect();
    let end = offset.saturating_add(limit);
    let next = (end < matching.len()).then_some(end);
    RegistryResponse::json(200, envelope(&page, next))
}

/// A decimal number with no sign: `Some` even when too large (saturated).
fn decimal(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(usize::MAX))
}

fn positive_int(s: &str) -> Option<usize> {
    decimal(s).filter(|n| *n > 0)
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, with real calendar dates.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let at = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0, 4),
        num(5, 2),
        num(8, 2),
        num(11, 2),
        num(14, 2),
        num(17, 2),
    ) else {
        return false;
    };
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":")) {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if day == 0 || day > days || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 19;
    if at(i, b".") {
        i += 1;
        let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        i += digits;
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let (Some(oh), Some(om)) = (num(i + 1, 2), num(i + 4, 2)) else {
                return false;
            };
            at(i + 3, b":") && oh <= 23 && om <= 59 && i + 6 == b.len()
        }
        _ => false,
    }
}

/// Every server the registry lists for this origin, sorted by name.
pub fn catalog(project: &Project, model: &Model, origin: &str) -> Vec<Server> {
    let origin = origin.trim_end_matches('/');
    let namespace = reverse_dns(origin);
    let mut taken = std::collections::HashSet::new();
    let mut servers = Vec::new();
    for (i, route) in project.routes.iter().enumerate() {
        let gateway = model.is_mcp_route(i);
        if !gateway && !is_standalone_mcp(route) {
            continue;
        }
        let operation_id = route.operation_id();
        // Templated paths are left out (rule 26); an operation needs an id to be named.
        if operation_id.is_empty() || route.path.value.contains('{') {
            continue;
        }
        let name = unique_name(&namespace, operation_id, &mut taken);
        let exchange = gateway
            .then(|| token_exchange(project, model, route))
            .flatten();
        servers.push(server(name, origin, route, gateway, exchange));
    }
    servers.sort_by(|a, b| a.name.cmp(&b.name));
    servers
}

/// A route serving MCP without the gateway's OAuth: the handler alone makes it one (§2.2).
fn is_standalone_mcp(route: &Route) -> bool {
    route
        .handler
        .as_ref()
        .is_some_and(|h| matches!(h.export(), "McpProxyHandler" | "mcpServerHandler"))
}

/// The route's token-exchange options, when it has a valid token-exchange policy.
fn token_exchange<'a>(
    project: &Project,
    model: &'a Model,
    route: &Route,
) -> Option<&'a TokenExchange> {
    route.inbound.iter().find_map(|name| {
        let i = project.policy_position(&name.value)?;
        match model.policies.get(i)? {
            PolicyConfig::TokenExchange(t) => Some(t.as_ref()),
            _ => None,
        }
    })
}

/// The reverse-DNS namespace of the origin's host (`gw.example.com` → `com.example.gw`),
/// at most 150 characters. IP addresses are kept as written (IPv6 colons become `-`).
fn reverse_dns(origin: &str) -> String {
    let host = url::Url::parse(origin)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()));
    let ns = match host {
        Some(url::Host::Domain(d)) => d
            .split('.')
            .filter(|l| !l.is_empty())
            .rev()
            .collect::<Vec<_>>()
            .join("."),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string().replace(':', "-"),
        None => "localhost".to_string(),
    };
    truncate(&ns, MAX_NAMESPACE)
}

/// `namespace/operationId`, at most 200 characters, with `-2`, `-3`… for repeats.
fn unique_name(
    namespace: &str,
    operation_id: &str,
    taken: &mut std::collections::HashSet<String>,
) -> String {
    let base = format!("{namespace}/{operation_id}");
    let mut name = truncate(&base, MAX_NAME);
    let mut n = 2u32;
    while taken.contains(&name) {
        let suffix = format!("-{n}");
        name = truncate(&base, MAX_NAME - suffix.len()) + &suffix;
        n += 1;
    }
    taken.insert(name.clone());
    name
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// The first non-blank text of a fallback chain.
fn first_text<'a>(candidates: impl IntoIterator<Item = Option<&'a str>>) -> Option<&'a str> {
    candidates
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
}

fn server(
    name: String,
    origin: &str,
    route: &Route,
    gateway: bool,
    exchange: Option<&TokenExchange>,
) -> Server {
    let info = exchange.and_then(|t| t.server_info.as_ref());
    let info_str = |key: &str| info.and_then(|i| i.get(key)).and_then(Value::as_str);
    let operation_id = route.operation_id();
    let description = if gateway {
        first_text([
            exchange.and_then(|t| t.summary.as_deref()),
            info_str("description"),
            exchange.map(|t| t.display_name.as_str()),
        ])
    } else {
        let server_name = route
            .handler
            .as_ref()
            .and_then(|h| h.options.as_ref())
            .and_then(|o| o.get("name"))
            .and_then(|n| n.as_str());
        first_text([
            route.summary.as_deref(),
            route.description.as_deref(),
            server_name,
        ])
    }
    .unwrap_or(operation_id);
    let title = first_text([info_str("title"), exchange.map(|t| t.display_name.as_str())]);
    // a standalone mcpServerHandler names its version in its options (§15.2)
    let handler_version = || {
        route
            .handler
            .as_ref()
            .filter(|h| h.export() == "mcpServerHandler")
            .and_then(|h| h.options.as_ref())
            .and_then(|o| o.get("version"))
            .and_then(|n| n.as_str())
    };
    let version = info_str("version")
        .or_else(handler_version)
        .filter(|v| !v.trim().is_empty() && !is_version_range(v))
        .unwrap_or(DEFAULT_VERSION)
        .to_string();
    let website = info_str("websiteUrl")
        .filter(|u| url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")));
    let icons: Vec<Value> = info
        .and_then(|i| i.get("icons"))
        .and_then(Value::as_array)
        .map(|icons| {
            icons
                .iter()
                .filter(|icon| {
                    icon.get("src").and_then(Value::as_str).is_some_and(|src| {
                        src.starts_with("https://") && src.chars().count() <= MAX_ICON_SRC
                    })
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();

    let mut s = Map::new();
    s.insert("name".into(), json!(name));
    s.insert(
        "description".into(),
        json!(truncate(description, MAX_DESCRIPTION)),
    );
    if let Some(t) = title {
        s.insert("title".into(), json!(t));
    }
    s.insert("version".into(), json!(version));
    if let Some(w) = website {
        s.insert("websiteUrl".into(), json!(w));
    }
    if !icons.is_empty() {
        s.insert("icons".into(), Value::Array(icons));
    }
    s.insert(
        "remotes".into(),
        json!([{ "type": "streamable-http", "url": format!("{origin}{}", route.path.value) }]),
    );
    Server {
        name,
        version,
        server: Value::Object(s),
    }
}

/// A semver range rather than one version: `^1.2`, `~1`, `>=1`, `1.x`, `*`, `1 || 2`, `1 - 2`.
fn is_version_range(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or(v);
    v.contains(['^', '~', '<', '>', '=', '*', '|', ' '])
        || core.split('.').any(|part| part.eq_ignore_ascii_case("x"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{self, Report};
    use serde_json::json;

    const ORIGIN: &str = "https://gw.example.com";

    fn oauth_policy() -> Value {
        json!({
            "name": "dev-oauth",
            "policyType": "mcp-oauth-inbound",
            "handler": {
                "export": "McpOAuthInboundPolicy",
                "module": "$import(@zuplo/runtime/mcp-gateway)",
                "options": {
                    "oidc": {
                        "issuer": "http://127.0.0.1:9000/__zuplo/dev-idp",
                        "jwksUrl": "http://127.0.0.1:9000/__zuplo/dev-idp/jwks"
                    },
                    "browserLogin": {"url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login"}
                }
            }
        })
    }

    fn exchange(id: &str, options: Value) -> Value {
        json!({
            "name": format!("mcp-token-exchange-{id}"),
            "policyType": "mcp-token-exchange-inbound",
            "handler": {
                "export": "McpTokenExchangeInboundPolicy",
                "module": "$import(@zuplo/runtime/mcp-gateway)",
                "options": options
            }
        })
    }

    fn proxy(target: &str) -> Value {
        json!({
            "export": "McpProxyHandler",
            "module": "$import(@zuplo/runtime/mcp-gateway)",
            "options": {"rewritePattern": target}
        })
    }

    fn gateway_route(op: &str, inbound: &[&str]) -> Value {
        json!({
            "get,post": {
                "operationId": op,
                "x-zuplo-route": {
                    "corsPolicy": "none",
                    "handler": proxy("https://upstream.example.com/mcp"),
                    "policies": {"inbound": inbound}
                }
            }
        })
    }

    fn standalone_route(op: &str, extra: Value) -> Value {
        let mut operation = json!({
            "operationId": op,
            "x-zuplo-route": {
                "corsPolicy": "none",
                "handler": proxy("https://standalone.example.com/mcp"),
                "policies": {"inbound": []}
            }
        });
        if let (Value::Object(o), Value::Object(e)) = (&mut operation, extra) {
            o.extend(e);
        }
        json!({ "post": operation })
    }

    fn write_project(dir: &std::path::Path, paths: Value, policies: Value, runtime_options: &str) {
        let files = [
            (
                "zuplo.jsonc",
                r#"{"version": 1, "compatibilityDate": "2026-03-01"}"#.to_string(),
            ),
            (
                "config/routes.oas.json",
                json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths})
                    .to_string(),
            ),
            (
                "config/policies.json",
                json!({ "policies": policies }).to_string(),
            ),
            (
                "modules/zuplo.runtime.ts",
                format!(
                    "import {{ McpGatewayPlugin }} from \"@zuplo/runtime/mcp-gateway\";\n\
                     export function runtimeInit(runtime) {{\n  runtime.addPlugin(new McpGatewayPlugin({runtime_options}));\n}}\n"
                ),
            ),
        ];
        for (rel, text) in files {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("create folder");
            }
            std::fs::write(&path, text).expect("write file");
        }
    }

    /// Loads a project; findings are the caller's business.
    fn load_any(paths: Value, policies: Value, runtime_options: &str) -> Report {
        let dir = tempfile::tempdir().expect("temp folder");
        write_project(dir.path(), paths, policies, runtime_options);
        validate::validate_path(dir.path(), &validate::Options::default()).expect("project")
    }

    /// Loads a project that must validate without errors, as `mcpgw dev` requires.
    fn load(paths: Value, policies: Value, runtime_options: &str) -> Report {
        let report = load_any(paths, policies, runtime_options);
        let errors: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::diag::diagnostic::Severity::Error)
            .map(|d| format!("{}: {}", d.rule.code, d.message))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        report
    }

    fn long_summary() -> String {
        // 120 code points, multi-byte: the cut counts characters, not bytes
        "é".repeat(120)
    }

    fn sample() -> Report {
        let paths = json!({
            "/mcp/linear-v1": gateway_route("linear-mcp-server", &["dev-oauth", "mcp-token-exchange-linear"]),
            "/mcp/github-v1": gateway_route("github-mcp-server", &["dev-oauth", "mcp-token-exchange-github"]),
            "/mcp/notion-v1": gateway_route("notion-mcp-server", &["dev-oauth", "mcp-token-exchange-notion"]),
            "/mcp/plain-v1": gateway_route("plain-mcp-server", &["dev-oauth"]),
            "/mcp/users/{id}": gateway_route("templated-mcp-server", &["dev-oauth"]),
            "/standalone/a": standalone_route("standalone", json!({"summary": long_summary(), "description": "not used"})),
            "/standalone/b": standalone_route("standalone", json!({"description": "Only a description"})),
            "/standalone/c": standalone_route("standalone", json!({})),
            "/api/thing": {
                "get": {
                    "operationId": "thing",
                    "x-zuplo-route": {
                        "handler": {
                            "export": "urlForwardHandler",
                            "module": "$import(@zuplo/runtime)",
                            "options": {"baseUrl": "https://api.example.com"}
                        },
                        "policies": {"inbound": []}
                    }
                }
            }
        });
        let policies = json!([
            oauth_policy(),
            exchange(
                "linear",
                json!({
                    "displayName": "Linear",
                    "authMode": "user-oauth",
                    "summary": "Issues and projects",
                    "serverInfo": {
                        "name": "linear",
                        "version": "1.2.3",
                        "title": "Linear MCP",
                        "description": "not used: summary wins",
                        "websiteUrl": "https://linear.app",
                        "icons": [
                            {"src": "https://linear.app/icon.png", "mimeType": "image/png", "sizes": ["48x48"]},
                            {"src": "http://linear.app/insecure.png"},
                            {"src": format!("https://linear.app/{}", "a".repeat(250))}
                        ]
                    }
                })
            ),
            exchange(
                "github",
                json!({
                    "displayName": "GitHub",
                    "authMode": "shared-oauth",
                    "serverInfo": {"name": "gh", "version": "^2.0.0", "description": "GitHub from serverInfo", "icons": [{"src": "http://only.insecure/x.png"}]}
                })
            ),
            exchange(
                "notion",
                json!({"displayName": "Notion", "authMode": "user-oauth"})
            ),
        ]);
        load(paths, policies, "")
    }

    fn get(report: &Report, path: &str, query: Option<&str>) -> RegistryResponse {
        respond(
            &report.project,
            &report.model,
            ORIGIN,
            &Method::GET,
            path,
            query,
        )
    }

    fn call(report: &Report, method: Method, path: &str) -> RegistryResponse {
        respond(&report.project, &report.model, ORIGIN, &method, path, None)
    }

    fn names(r: &RegistryResponse) -> Vec<String> {
        r.body
            .as_ref()
            .and_then(|b| b.get("servers"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.pointer("/server/name").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn short(names: &[String]) -> Vec<&str> {
        names
            .iter()
            .map(|n| n.strip_prefix("com.example.gw/").unwrap_or(n))
            .collect()
    }

    fn metadata(r: &RegistryResponse) -> Value {
        r.body
            .as_ref()
            .and_then(|b| b.get("metadata"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn error(r: &RegistryResponse) -> (u16, String) {
        let msg = r
            .body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        (r.status, msg)
    }

    #[test]
    fn lists_gateway_and_standalone_servers_sorted_by_name() {
        let report = sample();
        let r = get(&report, "/v0.1/servers", None);
        assert_eq!(r.status, 200);
        assert_eq!(
            short(&names(&r)),
            vec![
                "github-mcp-server",
                "linear-mcp-server",
                "notion-mcp-server",
                "plain-mcp-server",
                "standalone",
                "standalone-2",
                "standalone-3",
            ]
        );
        assert_eq!(metadata(&r), json!({"count": 7}));
        assert!(
            r.headers
                .contains(&("access-control-allow-origin", "*".to_string()))
        );
        assert!(
            r.headers
                .contains(&("content-type", "application/json".to_string()))
        );
    }

    #[test]
    fn server_object_of_a_gateway_route() {
        let report = sample();
        let r = get(
            &report,
            "/v0.1/servers/com.example.gw%2Flinear-mcp-server/versions/1.2.3",
            None,
        );
        assert_eq!(r.status, 200);
        let expected = json!({
            "server": {
                "name": "com.example.gw/linear-mcp-server",
                "description": "Issues and projects",
                "title": "Linear MCP",
                "version": "1.2.3",
                "websiteUrl": "https://linear.app",
                "icons": [{"src": "https://linear.app/icon.png", "mimeType": "image/png", "sizes": ["48x48"]}],
                "remotes": [{"type": "streamable-http", "url": "https://gw.example.com/mcp/linear-v1"}]
            },
            "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active", "isLatest": true}}
        });
        assert_eq!(r.body, Some(expected));
        // key order as the registry documents it
        let text = r.body.map(|b| b.to_string()).unwrap_or_default();
        let order: Vec<usize> = [
            "\"name\"",
            "\"description\"",
            "\"title\"",
            "\"version\"",
            "\"websiteUrl\"",
            "\"icons\"",
            "\"remotes\"",
        ]
        .iter()
        .filter_map(|k| text.find(k))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn description_title_and_version_fallbacks() {
        let report = sample();
        let servers = catalog(&report.project, &report.model, ORIGIN);
        let by_name = |short: &str| {
            servers
                .iter()
                .find(|s| s.name == format!("com.example.gw/{short}"))
                .map(|s| s.server.clone())
                .unwrap_or(Value::Null)
        };
        // serverInfo description; a range version becomes 0.0.0; title from displayName;
        // http icons dropped and with them the whole field
        let gh = by_name("github-mcp-server");
        assert_eq!(gh["description"], "GitHub from serverInfo");
        assert_eq!(gh["version"], "0.0.0");
        assert_eq!(gh["title"], "GitHub");
        assert!(gh.get("icons").is_none());
        assert!(gh.get("websiteUrl").is_none());
        // displayName
        let notion = by_name("notion-mcp-server");
        assert_eq!(notion["description"], "Notion");
        assert_eq!(notion["version"], "0.0.0");
        // no token exchange: operationId, no title
        let plain = by_name("plain-mcp-server");
        assert_eq!(plain["description"], "plain-mcp-server");
        assert!(plain.get("title").is_none());
        // standalone: OpenAPI summary (cut to 100 code points) → description → operationId
        let a = by_name("standalone");
        assert_eq!(a["description"], "é".repeat(100));
        assert_eq!(
            a["remotes"],
            json!([{"type": "streamable-http", "url": "https://gw.example.com/standalone/a"}])
        );
        assert_eq!(by_name("standalone-2")["description"], "Only a description");
        assert_eq!(by_name("standalone-3")["description"], "standalone");
        assert!(by_name("standalone-3").get("title").is_none());
    }

    /// An `mcpServerHandler` route is listed as Zuplo lists it; its server name (the
    /// description's last fallback) and version come from the handler's options (§15.2).
    #[test]
    fn mcp_server_handler_routes_are_listed_with_their_options() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = json!({"/own/mcp": {"post": {"operationId": "own-server", "x-zuplo-route": {
            "handler": {"export": "mcpServerHandler", "module": "$import(@zuplo/runtime)",
                "options": {"name": "Own tools", "version": "2.1.0"}},
            "policies": {"inbound": []}}}}});
        write_project(dir.path(), paths, json!([]), "");
        let report =
            crate::validate::validate_path(dir.path(), &Default::default()).expect("project loads");
        let servers = catalog(&report.project, &report.model, ORIGIN);
        assert_eq!(servers.len(), 1, "{servers:?}");
        assert_eq!(servers[0].name, "com.example.gw/own-server");
        assert_eq!(servers[0].server["description"], "Own tools");
        assert_eq!(servers[0].server["version"], "2.1.0");
        assert_eq!(
            servers[0].server["remotes"],
            json!([{"type": "streamable-http", "url": "https://gw.example.com/own/mcp"}])
        );
    }

    #[test]
    fn pagination_with_limit_and_cursor() {
        let report = sample();
        let r = get(&report, "/v0.1/servers", Some("limit=3"));
        assert_eq!(
            short(&names(&r)),
            vec![
                "github-mcp-server",
                "linear-mcp-server",
                "notion-mcp-server"
            ]
        );
        assert_eq!(metadata(&r), json!({"count": 3, "nextCursor": "3"}));
        let r = get(&report, "/v0.1/servers", Some("limit=3&cursor=3"));
        assert_eq!(
            short(&names(&r)),
            vec!["plain-mcp-server", "standalone", "standalone-2"]
        );
        assert_eq!(metadata(&r), json!({"count": 3, "nextCursor": "6"}));
        let r = get(&report, "/v0.1/servers", Some("cursor=6&limit=3"));
        assert_eq!(short(&names(&r)), vec!["standalone-3"]);
        assert_eq!(metadata(&r), json!({"count": 1}));
        let r = get(&report, "/v0.1/servers", Some("cursor=99"));
        assert_eq!((r.status, metadata(&r)), (200, json!({"count": 0})));
        let r = get(
            &report,
            "/v0.1/servers",
            Some("cursor=99999999999999999999999"),
        );
        assert_eq!((r.status, metadata(&r)), (200, json!({"count": 0})));
        // over the ceiling: clamped, not refused
        let r = get(&report, "/v0.1/servers", Some("limit=1000"));
        assert_eq!((r.status, metadata(&r)), (200, json!({"count": 7})));
        let r = get(&report, "/v0.1/servers", Some("limit=007"));
        assert_eq!(metadata(&r), json!({"count": 7}));
    }

    #[test]
    fn default_page_is_thirty_and_ceiling_is_a_hundred() {
        let mut paths = Map::new();
        for i in 0..105 {
            paths.insert(
                format!("/s/{i:03}"),
                standalone_route(&format!("s{i:03}"), json!({})),
            );
        }
        let report = load(Value::Object(paths), json!([]), "");
        let r = get(&report, "/v0.1/servers", None);
        assert_eq!(metadata(&r), json!({"count": 30, "nextCursor": "30"}));
        let r = get(&report, "/v0.1/servers", Some("limit=101"));
        assert_eq!(metadata(&r), json!({"count": 100, "nextCursor": "100"}));
        let r = get(&report, "/v0.1/servers", Some("limit=100&cursor=100"));
        assert_eq!(metadata(&r), json!({"count": 5}));
    }

    #[test]
    fn bad_parameters_answer_400() {
        let report = sample();
        for q in [
            "limit=0",
            "limit=-1",
            "limit=abc",
            "limit=1.5",
            "limit=",
            "limit=+3",
        ] {
            let r = get(&report, "/v0.1/servers", Some(q));
            assert_eq!(
                error(&r),
                (400, "Invalid limit: must be a positive integer".into()),
                "{q}"
            );
        }
        for q in ["cursor=abc", "cursor=-1", "cursor=", "cursor=1e3"] {
            let r = get(&report, "/v0.1/servers", Some(q));
            assert_eq!(error(&r), (400, "Invalid cursor".into()), "{q}");
        }
        for q in [
            "updated_since=yesterday",
            "updated_since=2025-02-30T00:00:00Z",
            "updated_since=2025-01-01",
            "updated_since=2025-01-01T00:00:00",
        ] {
            let r = get(&report, "/v0.1/servers", Some(q));
            assert_eq!(
                error(&r),
                (
                    400,
                    "Invalid updated_since: must be an RFC 3339 timestamp".into()
                ),
                "{q}"
            );
        }
    }

    #[test]
    fn search_version_and_updated_since() {
        let report = sample();
        let r = get(&report, "/v0.1/servers", Some("search=GITHUB"));
        assert_eq!(short(&names(&r)), vec!["github-mcp-server"]);
        let r = get(&report, "/v0.1/servers", Some("search=standalone"));
        assert_eq!(names(&r).len(), 3);
        // the namespace is part of the name
        let r = get(&report, "/v0.1/servers", Some("search=example.gw%2Fplain"));
        assert_eq!(short(&names(&r)), vec!["plain-mcp-server"]);
        let r = get(&report, "/v0.1/servers", Some("version=1.2.3"));
        assert_eq!(short(&names(&r)), vec!["linear-mcp-server"]);
        let r = get(&report, "/v0.1/servers", Some("version=latest"));
        assert_eq!(names(&r).len(), 7);
        let r = get(&report, "/v0.1/servers", Some("version=0.0.0&limit=2"));
        assert_eq!(metadata(&r), json!({"count": 2, "nextCursor": "2"}));
        let r = get(&report, "/v0.1/servers", Some("version=9"));
        assert_eq!(metadata(&r), json!({"count": 0}));
        // updated_since is checked but never filters
        let r = get(
            &report,
            "/v0.1/servers",
            Some("updated_since=2999-01-01T00:00:00.123%2B02:00"),
        );
        assert_eq!((r.status, names(&r).len()), (200, 7));
    }

    #[test]
    fn versions_of_one_server() {
        let report = sample();
        for path in [
            "/v0.1/servers/com.example.gw%2Flinear-mcp-server/versions",
            "/v0.1/servers/com.example.gw%2flinear-mcp-server/versions",
            "/v0.1/servers/com.example.gw/linear-mcp-server/versions",
        ] {
            let r = get(&report, path, None);
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(short(&names(&r)), vec!["linear-mcp-server"]);
            assert_eq!(metadata(&r), json!({"count": 1}));
        }
        let r = get(
            &report,
            "/v0.1/servers/com.example.gw%2Fnope/versions",
            None,
        );
        assert_eq!(error(&r), (404, "Server not found".into()));
        let r = get(&report, "/v0.1/servers//versions", None);
        assert_eq!(error(&r), (404, "Server not found".into()));
        for bad in ["%zz", "%2", "%ff%fe", "a%"] {
            let r = get(&report, &format!("/v0.1/servers/{bad}/versions"), None);
            assert_eq!(r.status, 400, "{bad}");
        }
    }

    #[test]
    fn one_version_of_one_server() {
        let report = sample();
        let base = "/v0.1/servers/com.example.gw%2Flinear-mcp-server/versions";
        for v in ["1.2.3", "latest"] {
            let r = get(&report, &format!("{base}/{v}"), None);
            assert_eq!(r.status, 200);
            assert_eq!(
                r.body
                    .as_ref()
                    .and_then(|b| b.pointer("/server/version"))
                    .cloned(),
                Some(json!("1.2.3"))
            );
            assert!(r.body.as_ref().is_some_and(|b| b.get("servers").is_none()));
        }
        let r = get(&report, &format!("{base}/9.9.9"), None);
        assert_eq!(error(&r), (404, "Server or version not found".into()));
        let r = get(
            &report,
            "/v0.1/servers/com.example.gw%2Fnope/versions/latest",
            None,
        );
        assert_eq!(error(&r), (404, "Server or version not found".into()));
        let r = get(&report, &format!("{base}/%zz"), None);
        assert_eq!(r.status, 400);
        let r = get(
            &report,
            "/v0.1/servers/com.example.gw%2Fstandalone/versions/0.0.0",
            None,
        );
        assert_eq!(r.status, 200);
    }

    #[test]
    fn write_endpoints_and_unknown_paths() {
        let report = sample();
        let version = "/v0.1/servers/com.example.gw%2Flinear-mcp-server/versions/1.2.3";
        assert_eq!(call(&report, Method::POST, "/v0.1/publish").status, 501);
        assert_eq!(call(&report, Method::PUT, version).status, 501);
        assert_eq!(call(&report, Method::DELETE, version).status, 501);
        assert_eq!(
            call(&report, Method::PATCH, &format!("{version}/status")).status,
            403
        );
        assert_eq!(
            call(
                &report,
                Method::PATCH,
                "/v0.1/servers/com.example.gw%2Flinear-mcp-server/status"
            )
            .status,
            403
        );
        for (method, path) in [
            (Method::GET, "/v0.1/publish"),
            (Method::GET, "/v0.1/nothing"),
            (Method::GET, "/v0.1/"),
            (Method::GET, "/v0.1/servers/"),
            (Method::GET, "/v0.1/servers/x"),
            (Method::GET, &format!("{version}/status")),
            (Method::GET, "/v0/servers"),
            (Method::GET, "/"),
            (Method::GET, ""),
            (Method::POST, "/v0.1/servers"),
            (Method::PATCH, version),
            (Method::PUT, "/v0.1/servers/x/versions"),
        ] {
            let r = call(&report, method.clone(), path);
            assert_eq!(error(&r), (404, "Not found".into()), "{method} {path}");
        }
        let r = call(&report, Method::OPTIONS, "/v0.1/servers");
        assert_eq!((r.status, r.body.is_none()), (204, true));
        assert!(
            r.headers
                .contains(&("access-control-allow-methods", "GET, OPTIONS".to_string()))
        );
        // HEAD answers like GET
        assert_eq!(call(&report, Method::HEAD, "/v0.1/servers").status, 200);
    }

    #[test]
    fn names_use_the_request_host() {
        let report = sample();
        let names = |origin: &str| -> Vec<String> {
            catalog(&report.project, &report.model, origin)
                .into_iter()
                .map(|s| s.name)
                .take(1)
                .collect()
        };
        assert_eq!(
            names("http://localhost:9000"),
            vec!["localhost/github-mcp-server"]
        );
        assert_eq!(
            names("http://127.0.0.1:9000"),
            vec!["127.0.0.1/github-mcp-server"]
        );
        assert_eq!(
            names("https://a.b.example.org./"),
            vec!["org.example.b.a/github-mcp-server"]
        );
        assert_eq!(names("http://[::1]:9000"), vec!["--1/github-mcp-server"]);
        let remote = catalog(&report.project, &report.model, "http://localhost:9000/")
            .into_iter()
            .next()
            .and_then(|s| s.server.pointer("/remotes/0/url").cloned());
        assert_eq!(remote, Some(json!("http://localhost:9000/mcp/github-v1")));
    }

    #[test]
    fn long_names_are_cut_and_deduplicated() {
        let ns = reverse_dns(&format!("https://{}.example.com", "a".repeat(200)));
        assert_eq!(ns.chars().count(), 150);
        assert!(ns.starts_with("com.example."));
        let mut taken = std::collections::HashSet::new();
        let op = "o".repeat(300);
        let first = unique_name(&ns, &op, &mut taken);
        let second = unique_name(&ns, &op, &mut taken);
        let third = unique_name(&ns, &op, &mut taken);
        assert_eq!(first.chars().count(), 200);
        assert_eq!(second.chars().count(), 200);
        assert!(second.ends_with("o-2"));
        assert!(third.ends_with("o-3"));
        let short_taken = unique_name("ns", "x", &mut taken);
        assert_eq!(short_taken, "ns/x");
        assert_eq!(unique_name("ns", "x", &mut taken), "ns/x-2");
        // a literal "-2" operationId collides with the generated one and moves on
        assert_eq!(unique_name("ns", "x-2", &mut taken), "ns/x-2-2");
    }

    #[test]
    fn version_ranges() {
        for v in [
            "^1.2.0",
            "~1.0",
            ">=1",
            "<2",
            "1.x",
            "1.2.X",
            "*",
            "1 || 2",
            "1.0.0 - 2.0.0",
            "=1.0.0",
        ] {
            assert!(is_version_range(v), "{v}");
        }
        for v in [
            "1.2.3",
            "1.0.0-beta.1",
            "2024.1",
            "1.0.0+build.5",
            "1.0.0-x",
        ] {
            assert!(!is_version_range(v), "{v}");
        }
    }

    #[test]
    fn rfc3339_timestamps() {
        for s in [
            "2025-01-01T00:00:00Z",
            "2024-02-29T23:59:60z",
            "2025-12-31t10:20:30.123456+05:30",
            "2025-06-01T00:00:00-00:00",
        ] {
            assert!(is_rfc3339(s), "{s}");
        }
        for s in [
            "",
            "2025-01-01",
            "2025-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00+0530",
            "2025-01-01T00:00:00Zjunk",
            "2025-01-01 00:00:00Z",
            "２０２５-01-01T00:00:00Z",
            "2025-01-01T00:00:00+24:00",
        ] {
            assert!(!is_rfc3339(s), "{s}");
        }
    }

    #[test]
    fn mount_path_follows_the_plugin_options() {
        let paths = json!({"/mcp/plain-v1": gateway_route("plain-mcp-server", &["dev-oauth"])});
        let policies = json!([oauth_policy()]);
        let mount = |options: &str| {
            // the dev-login URL of the OAuth policy names the default basePath; only the
            // plugin options matter here
            let report = load_any(paths.clone(), policies.clone(), options);
            mount_path(&report.project)
        };
        assert_eq!(mount(""), Some("/__zuplo/mcp-registry".into()));
        assert_eq!(
            mount("{ basePath: '/gw' }"),
            Some("/gw/mcp-registry".into())
        );
        assert_eq!(mount("{ basePath: '/' }"), Some("/mcp-registry".into()));
        assert_eq!(
            mount("{ registry: { path: '/registry' } }"),
            Some("/registry".into())
        );
        assert_eq!(mount("{ registry: { enabled: false } }"), None);
    }

    #[test]
    fn no_input_panics() {
        let report = sample();
        let methods = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
        ];
        let paths = [
            "/v0.1/servers/%/versions",
            "/v0.1/servers/%%%/versions/%",
            "/v0.1/servers/versions",
            "/v0.1/servers/versions/versions",
            "/v0.1/servers/status",
            "/v0.1/servers/versions/status",
            "/v0.1/servers/a/versions/b/status/c",
            "/v0.1/servers/é%C3%A9/versions",
            "/v0.1/servers",
        ];
        let queries = [
            None,
            Some("&&&=="),
            Some("limit=%ff"),
            Some("cursor=18446744073709551616"),
            Some("updated_since=2025-01-01T00:00:00.%2B"),
            Some("search=%"),
        ];
        for m in &methods {
            for p in paths {
                for q in queries {
                    let _ = respond(&report.project, &report.model, "not an origin", m, p, q);
                }
            }
        }
    }
}
