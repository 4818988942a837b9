//! What an operation says about itself as an MCP tool, prompt, resource or GraphQL endpoint
//! (SPEC §15.4).
//!
//! Owns: reading `x-zuplo-route.mcp` as Zuplo's build checks it (a `oneOf` with `type` required
//! and no other keys than its variant allows, rule 83) and the legacy operation-level
//! `x-zuplo-mcp-tool` / `-prompt` / `-resource` / `-graphql` extensions (read leniently: no
//! build schema checks them). Both become one [`RouteMcp`].

use crate::config::jsonc::Node;
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::Spanned;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tool,
    Prompt,
    Resource,
    Graphql,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tool => "tool",
            Kind::Prompt => "prompt",
            Kind::Resource => "resource",
            Kind::Graphql => "graphql",
        }
    }

    /// The keys a variant of the build's `oneOf` allows (§15.4).
    fn allowed_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Tool => &[
                "type",
                "name",
                "description",
                "enabled",
                "includeOutputSchema",
                "includeStructuredContent",
                "annotations",
                "_meta",
            ],
            Kind::Prompt => &["type", "name", "description", "enabled"],
            Kind::Resource => &[
                "type",
                "name",
                "description",
                "uri",
                "mimeType",
                "enabled",
                "_meta",
            ],
            Kind::Graphql => &["type", "enabled", "introspectionTool", "executeTool"],
        }
    }
}

/// A GraphQL tool's own name and description (`introspectionTool` / `executeTool`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NamedTool {
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
}

/// The MCP facts of one operation, whichever extension they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMcp {
    pub kind: Kind,
    pub enabled: bool,
    /// Trimmed; an empty value counts as absent (§15.4).
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
    pub include_output_schema: Option<bool>,
    pub include_structured_content: Option<bool>,
    pub annotations: Option<Value>,
    pub meta: Option<Value>,
    pub uri: Option<String>,
    pub mime_type: Option<String>,
    pub introspection_tool: NamedTool,
    pub execute_tool: NamedTool,
}

impl RouteMcp {
    /// A tool with every default: an operation without an `mcp` block (§15.3).
    pub fn default_tool() -> Self {
        Self::empty(Kind::Tool)
    }

    fn empty(kind: Kind) -> Self {
        RouteMcp {
            kind,
            enabled: true,
            name: None,
            description: None,
            include_output_schema: None,
            include_structured_content: None,
            annotations: None,
            meta: None,
            uri: None,
            mime_type: None,
            introspection_tool: NamedTool::default(),
            execute_tool: NamedTool::default(),
        }
    }
}

/// `x-zuplo-route.mcp` of one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// No `mcp` block: a tool with fallback name and description (§15.3).
    Absent,
    /// A block Zuplo's build rejects in a way that leaves no usable type (rule 83 said why).
    Invalid,
    Present(Box<RouteMcp>),
}

/// Reads `x-zuplo-route.mcp` of an operation; rule 83 findings at the offending key or value.
pub fn read(operation: Option<&Node>, findings: &mut Findings) -> Block {
    let Some(node) = operation
        .and_then(|op| op.get("x-zuplo-route"))
        .and_then(|x| x.get("mcp"))
    else {
        return Block::Absent;
    };
    let rule = &rules::MCP_ROUTE_BLOCK;
    let Some(members) = node.as_object() else {
        findings.push(
            rule,
            node.span,
            format!(
                "x-zuplo-route.mcp must be an object, found {}",
                node.kind_name()
            ),
        );
        return Block::Invalid;
    };
    let kind = match node.get("type") {
        None => {
            // the docs default to tool; Zuplo's build requires the key
            findings.push_with_help(
                rule,
                node.span,
                "x-zuplo-route.mcp has no `type`: Zuplo's build rejects the route (the docs call it optional, the build schema requires it)",
                "add \"type\": \"tool\" (or prompt, resource, graphql)",
            );
            Kind::Tool
        }
        Some(t) => match t.as_str() {
            Some("tool") => Kind::Tool,
            Some("prompt") => Kind::Prompt,
            Some("resource") => Kind::Resource,
            Some("graphql") => Kind::Graphql,
            _ => {
                findings.push(
                    rule,
                    t.span,
                    format!(
                        "x-zuplo-route.mcp.type must be \"tool\", \"prompt\", \"resource\" or \"graphql\", found {}",
                        shown(t)
                    ),
                );
                return Block::Invalid;
            }
        },
    };
    let mut out = RouteMcp::empty(kind);
    let allowed = kind.allowed_keys();
    for m in members {
        if !allowed.contains(&m.key.as_str()) {
            findings.push_with_help(
                rule,
                m.key_span,
                format!(
                    "x-zuplo-route.mcp of type {}: `{}` is not allowed (allowed: {})",
                    kind.as_str(),
                    m.key,
                    allowed.join(", ")
                ),
                format!("remove `{}` or change the type", m.key),
            );
            continue;
        }
        let at = format!("x-zuplo-route.mcp.{}", m.key);
        match m.key.as_str() {
            "type" => {}
            "name" => out.name = string(&m.node, &at, findings).and_then(|s| trimmed(&s, &m.node)),
            "description" => {
                out.description = string(&m.node, &at, findings)
                    .and_then(|s| trimmed(&s, &m.node))
                    .map(|s| s.value)
            }
            "uri" => out.uri = string(&m.node, &at, findings),
            "mimeType" => out.mime_type = string(&m.node, &at, findings),
            "enabled" => out.enabled = boolean(&m.node, &at, findings).unwrap_or(true),
            "includeOutputSchema" => out.include_output_schema = boolean(&m.node, &at, findings),
            "includeStructuredContent" => {
                out.include_structured_content = boolean(&m.node, &at, findings)
            }
            "annotations" => out.annotations = annotations(&m.node, findings),
            "_meta" => out.meta = object(&m.node, &at, findings).map(|n| n.to_json()),
            "introspectionTool" => out.introspection_tool = named_tool(&m.node, &at, findings),
            "executeTool" => out.execute_tool = named_tool(&m.node, &at, findings),
            _ => {}
        }
    }
    Block::Present(Box::new(out))
}

fn shown(node: &Node) -> String {
    match node.as_str() {
        Some(s) => format!("{s:?}"),
        None => node.kind_name().to_string(),
    }
}

fn string(node: &Node, at: &str, findings: &mut Findings) -> Option<String> {
    match node.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            findings.push(
                &rules::MCP_ROUTE_BLOCK,
                node.span,
                format!("{at} must be a string, found {}", node.kind_name()),
            );
            None
        }
    }
}

/// A name or description trimmed; empty counts as absent (§15.4).
fn trimmed(s: &str, node: &Node) -> Option<Spanned<String>> {
    let t = s.trim();
    (!t.is_empty()).then(|| Spanned::new(t.to_string(), node.span))
}

fn boolean(node: &Node, at: &str, findings: &mut Findings) -> Option<bool> {
    let b = node.as_bool();
    if b.is_none() {
        findings.push(
            &rules::MCP_ROUTE_BLOCK,
            node.span,
            format!("{at} must be a boolean, found {}", node.kind_name()),
        );
    }
    b
}

fn object<'a>(node: &'a Node, at: &str, findings: &mut Findings) -> Option<&'a Node> {
    if node.as_object().is_some() {
        return Some(node);
    }
    findings.push(
        &rules::MCP_ROUTE_BLOCK,
        node.span,
        format!("{at} must be an object, found {}", node.kind_name()),
    );
    None
}

/// `annotations {title, readOnlyHint, destructiveHint, idempotentHint, openWorldHint}`, no other keys.
fn annotations(node: &Node, findings: &mut Findings) -> Option<Value> {
    let at = "x-zuplo-route.mcp.annotations";
    let members = object(node, at, findings)?.as_object()?;
    let mut out = serde_json::Map::new();
    for m in members {
        let here = format!("{at}.{}", m.key);
        match m.key.as_str() {
            "title" => {
                if let Some(s) = string(&m.node, &here, findings) {
                    out.insert(m.key.clone(), Value::String(s));
                }
            }
            "readOnlyHint" | "destructiveHint" | "idempotentHint" | "openWorldHint" => {
                if let Some(b) = boolean(&m.node, &here, findings) {
                    out.insert(m.key.clone(), Value::Bool(b));
                }
            }
            _ => findings.push_with_help(
                &rules::MCP_ROUTE_BLOCK,
                m.key_span,
                format!(
                    "{at}: `{}` is not allowed (allowed: title, readOnlyHint, destructiveHint, idempotentHint, openWorldHint)",
                    m.key
                ),
                format!("remove `{}`; vendor data belongs in _meta", m.key),
            ),
        }
    }
    Some(Value::Object(out))
}

fn named_tool(node: &Node, at: &str, findings: &mut Findings) -> NamedTool {
    let mut out = NamedTool::default();
    let Some(members) = object(node, at, findings).and_then(Node::as_object) else {
        return out;
    };
    for m in members {
        let here = format!("{at}.{}", m.key);
        match m.key.as_str() {
            "name" => {
                out.name = string(&m.node, &here, findings).and_then(|s| trimmed(&s, &m.node))
            }
            "description" => {
                out.description = string(&m.node, &here, findings)
                    .and_then(|s| trimmed(&s, &m.node))
                    .map(|s| s.value)
            }
            _ => findings.push(
                &rules::MCP_ROUTE_BLOCK,
                m.key_span,
                format!(
                    "{at}: `{}` is not allowed (allowed: name, description)",
                    m.key
                ),
            ),
        }
    }
    out
}

/// Which legacy extension an option reads (§15.2 `files` / `prompts` / `resources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    /// `files`: `x-zuplo-mcp-graphql` when present, else `x-zuplo-mcp-tool`.
    Files,
    Prompts,
    Resources,
}

/// The legacy `x-zuplo-mcp-*` extension of an operation, read leniently: values of another
/// type are ignored, as no build schema checks these keys.
pub fn read_legacy(operation: Option<&Node>, legacy: Legacy) -> RouteMcp {
    let ext = |key: &str| operation.and_then(|op| op.get(key));
    let (kind, node) = match legacy {
        Legacy::Files => match ext("x-zuplo-mcp-graphql") {
            Some(g) => (Kind::Graphql, Some(g)),
            None => (Kind::Tool, ext("x-zuplo-mcp-tool")),
        },
        Legacy::Prompts => (Kind::Prompt, ext("x-zuplo-mcp-prompt")),
        Legacy::Resources => (Kind::Resource, ext("x-zuplo-mcp-resource")),
    };
    let mut out = RouteMcp::empty(kind);
    let Some(node) = node else { return out };
    let text = |key: &str| {
        node.get(key)
            .and_then(|n| n.as_str().and_then(|s| trimmed(s, n)))
    };
    let flag = |key: &str| node.get(key).and_then(Node::as_bool);
    out.enabled = flag("enabled").unwrap_or(true);
    match kind {
        Kind::Graphql => {
            out.introspection_tool = NamedTool {
                name: text("introspectionToolName"),
                description: text("introspectionToolDescription").map(|s| s.value),
            };
            out.execute_tool = NamedTool {
                name: text("executeToolName"),
                description: text("executeToolDescription").map(|s| s.value),
            };
        }
        _ => {
            out.name = text("name");
            out.description = text("description").map(|s| s.value);
            out.include_output_schema = flag("includeOutputSchema");
            out.include_structured_content = flag("includeStructuredContent");
            out.uri = node.get("uri").and_then(Node::as_str).map(str::to_string);
            out.mime_type = node
                .get("mimeType")
                .and_then(Node::as_str)
                .map(str::to_string);
        }
    }
    out
}
