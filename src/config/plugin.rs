//! `modules/zuplo.runtime.ts` read as text (SPEC §1.6, D11).
//!
//! Owns: finding `new McpGatewayPlugin(...)` and `new OAuthProtectedResourcePlugin(...)`
//! (SPEC §16.4) outside comments and reading their literal options objects. It runs no TypeScript; options that are not a literal are
//! reported and the defaults assumed. Validating the option values is rule 13, in `validate`.

use super::jsonc::{self, Node};
use crate::diag::diagnostic::Findings;
use crate::diag::rules;
use crate::diag::source::{FileId, Span};

pub const DEFAULT_BASE_PATH: &str = "/__zuplo";

/// What the runtime file says about the MCP gateway plugin.
#[derive(Debug, Clone, Default)]
pub struct PluginInfo {
    /// The runtime file, when the project has one.
    pub file: Option<FileId>,
    /// Where `new McpGatewayPlugin(` was found.
    pub registered_at: Option<Span>,
    /// The literal options object, when one was given.
    pub options: Option<Node>,
    /// `new OAuthProtectedResourcePlugin(...)` (SPEC §16.4), when registered.
    pub protected_resource: Option<ProtectedResourcePlugin>,
}

/// What `OAuthProtectedResourcePlugin` publishes at `/.well-known/oauth-protected-resource/*`.
#[derive(Debug, Clone)]
pub struct ProtectedResourcePlugin {
    /// Where `new OAuthProtectedResourcePlugin(` was found.
    pub registered_at: Span,
    /// `authorizationServers` as given (published as is), when the options are a literal.
    pub authorization_servers: Option<Node>,
    /// `resourceName` as given.
    pub resource_name: Option<Node>,
    /// The options could not be read as a literal (D11: without Node they stay unknown).
    pub not_literal: bool,
}

impl ProtectedResourcePlugin {
    fn from_call(call: NewCall) -> Self {
        let get = |k: &str| call.options.as_ref().and_then(|o| o.get(k)).cloned();
        ProtectedResourcePlugin {
            registered_at: call.at,
            authorization_servers: get("authorizationServers"),
            resource_name: get("resourceName"),
            not_literal: call.not_literal,
        }
    }

    /// The PRM document for `resource` (§16.4): the two options as given, nothing else.
    pub fn document(&self, resource: &str) -> serde_json::Value {
        let mut doc = serde_json::Map::new();
        doc.insert("resource".into(), resource.into());
        if let Some(a) = &self.authorization_servers {
            doc.insert("authorization_servers".into(), a.to_json());
        }
        if let Some(n) = &self.resource_name {
            doc.insert("resource_name".into(), n.to_json());
        }
        serde_json::Value::Object(doc)
    }
}

impl PluginInfo {
    pub fn is_registered(&self) -> bool {
        self.registered_at.is_some()
    }

    /// `basePath` as configured (or the default), with its location when configured.
    pub fn base_path(&self) -> (String, Option<Span>) {
        match self.options.as_ref().and_then(|o| o.get("basePath")) {
            Some(n) => (n.as_str().unwrap_or_default().to_string(), Some(n.span)),
            None => (DEFAULT_BASE_PATH.to_string(), None),
        }
    }

    /// The route prefix: `"/"` means the origin root (empty prefix). An invalid basePath
    /// (rule 13 reports it) counts as the default, so other rules are judged as the gateway
    /// would once it is fixed rather than piling up follow-on findings.
    pub fn prefix(&self) -> String {
        let (base, _) = self.base_path();
        if base == "/" {
            String::new()
        } else if route_prefix_problem(&base).is_some() {
            DEFAULT_BASE_PATH.to_string()
        } else {
            base
        }
    }
}

/// The §1.6 rules for basePath and registry.path; `None` when the path is fine.
pub fn route_prefix_problem(s: &str) -> Option<&'static str> {
    if s.trim() != s {
        return Some("must not have leading or trailing whitespace");
    }
    if !s.starts_with('/') {
        return Some("must start with /");
    }
    if s == "/" {
        return None;
    }
    if s.starts_with("//") {
        return Some("must not start with //");
    }
    if s.contains('?') || s.contains('#') {
        return Some("must not contain ? or #");
    }
    if s.contains(':') || s.contains('*') {
        return Some("must not contain : or * (no parameters or wildcards)");
    }
    if s.ends_with('/') {
        return Some("must not end with / (unless it is exactly /)");
    }
    for seg in s[1..].split('/') {
        if seg.is_empty() {
            return Some("must not contain empty segments (//)");
        }
        if seg == "." || seg == ".." {
            return Some("must not contain . or .. segments");
        }
        if !seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
        {
            return Some("segments may only use letters, digits and . _ ~ -");
        }
    }
    None
}

/// Finds the plugin registrations in the text of `modules/zuplo.runtime.ts`.
pub fn read(file: FileId, text: &str, findings: &mut Findings) -> PluginInfo {
    let mut info = PluginInfo {
        file: Some(file),
        ..Default::default()
    };
    let code = blank_comments(text);
    if let Some(call) = find_new(file, &code, text, "McpGatewayPlugin", findings) {
        info.registered_at = Some(call.at);
        info.options = call.options;
    }
    if let Some(call) = find_new(file, &code, text, "OAuthProtectedResourcePlugin", findings) {
        info.protected_resource = Some(ProtectedResourcePlugin::from_call(call));
    }
    info
}

/// A `new <Class>(...)` call found in the code.
struct NewCall {
    /// From `new` to the end of the class name.
    at: Span,
    /// The literal options object, when the argument is one.
    options: Option<Node>,
    /// The arguments could not be read as a literal (a note was pushed).
    not_literal: bool,
}

/// The first `new <class>(` outside comments, with its literal options object when there is
/// one; arguments that are not a literal are noted (rule 111) and read as absent.
fn find_new(
    file: FileId,
    code: &str,
    text: &str,
    class: &str,
    findings: &mut Findings,
) -> Option<NewCall> {
    let mut from = 0;
    while let Some(i) = code[from..].find(class) {
        let at = from + i;
        from = at + class.len();
        let before = code[..at].trim_end();
        if !before.ends_with("new") {
            continue;
        }
        let rest = &code[from..];
        let open = from + (rest.len() - rest.trim_start().len());
        if code.as_bytes().get(open) != Some(&b'(') {
            continue;
        }
        let new_at = before.len() - 3;
        let mut call = NewCall {
            at: Span::new(file, new_at, from),
            options: None,
            not_literal: false,
        };
        let Some(close) = matching_paren(code, open) else {
            findings.push(
                &rules::PLUGIN_OPTIONS_NOT_LITERAL,
                call.at,
                format!("the arguments of new {class}( have no closing parenthesis; assuming the defaults"),
            );
            call.not_literal = true;
            return Some(call);
        };
        let inner = &text[open + 1..close];
        let trimmed = inner.trim();
        if trimmed.is_empty() {
            return Some(call);
        }
        let lead = inner.len() - inner.trim_start().len();
        let start = open + 1 + lead;
        let span = Span::new(file, start, start + trimmed.len());
        if trimmed.starts_with('{') && trimmed.ends_with('}') {
            match jsonc::parse_js_literal(file, trimmed, start) {
                Ok(node) => call.options = node,
                Err(_) => {
                    call.not_literal = true;
                    findings.push(
                        &rules::PLUGIN_OPTIONS_NOT_LITERAL,
                        span,
                        format!("{class} options could not be read as a literal object; assuming the defaults"),
                    )
                }
            }
        } else {
            call.not_literal = true;
            let defaults = if class == "McpGatewayPlugin" {
                "assuming the defaults (basePath /__zuplo)"
            } else {
                "its values are not checked"
            };
            findings.push(
                &rules::PLUGIN_OPTIONS_NOT_LITERAL,
                span,
                format!("{class} options are not a literal object; {defaults}"),
            );
        }
        return Some(call);
    }
    None
}

/// The text with `//` and `/* */` comments replaced by spaces, so offsets stay the same.
fn blank_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            i = step_in_string(bytes, i, q, &mut quote);
            continue;
        }
        match b {
            b'"' | b'\'' | b'`' => quote = Some(b),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out[i] = b' ';
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |j| i + 2 + j + 2);
                for o in out.iter_mut().take(end).skip(i) {
                    if *o != b'\n' {
                        *o = b' ';
                    }
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII spaces, but a comment may have held multi-byte
    // characters: replacing all their bytes by spaces keeps the text valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Advances one step inside a string literal quoted by `q`, leaving it at the closing quote.
fn step_in_string(bytes: &[u8], i: usize, q: u8, quote: &mut Option<u8>) -> usize {
    match bytes[i] {
        b'\\' => i + 2,
        b if b == q => {
            *quote = None;
            i + 1
        }
        _ => i + 1,
    }
}

/// Offset of the `)` that closes the `(` at `open`, skipping strings and nested brackets.
fn matching_paren(code: &str, open: usize) -> Option<usize> {
    let bytes = code.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            i = step_in_string(bytes, i, q, &mut quote);
            continue;
        } else {
            match b {
                b'"' | b'\'' | b'`' => quote = Some(b),
                b'(' | b'{' | b'[' => depth += 1,
                b')' | b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return (b == b')').then_some(i);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> (PluginInfo, Findings) {
        let mut f = Findings::default();
        (read(FileId(0), text, &mut f), f)
    }

    #[test]
    fn finds_registration_and_literal_options() {
        let (info, f) = read_text(
            "import { McpGatewayPlugin } from \"@zuplo/runtime/mcp-gateway\";\n\
             export function runtimeInit(runtime) {\n  runtime.addPlugin(new McpGatewayPlugin({ basePath: '/', registry: { enabled: false } }));\n}\n",
        );
        assert!(info.is_registered());
        assert!(f.is_empty());
        assert_eq!(info.base_path().0, "/");
        assert_eq!(info.prefix(), "");
    }

    #[test]
    fn commented_out_registration_does_not_count() {
        let (info, _) = read_text(
            "// runtime.addPlugin(new McpGatewayPlugin());\n/* new McpGatewayPlugin() */\n",
        );
        assert!(!info.is_registered());
        let (info, _) = read_text("runtime.addPlugin(new McpGatewayPlugin());");
        assert!(info.is_registered());
        assert_eq!(info.base_path().0, DEFAULT_BASE_PATH);
    }

    #[test]
    fn unclosed_call_is_noted() {
        let (info, f) = read_text("runtime.addPlugin(new McpGatewayPlugin({ basePath: '/x' }");
        assert!(info.is_registered());
        assert_eq!(f.items[0].rule.code, "MCP111");
        assert_eq!(info.base_path().0, DEFAULT_BASE_PATH);
    }

    #[test]
    fn finds_the_protected_resource_plugin() {
        let (info, f) = read_text(
            "runtime.addPlugin(new OAuthProtectedResourcePlugin({ authorizationServers: ['https://t.auth0.com/'], resourceName: 'My MCP' }));",
        );
        assert!(f.is_empty());
        assert!(!info.is_registered());
        let prm = info.protected_resource.expect("registered");
        assert_eq!(
            prm.document("http://localhost:9000/mcp"),
            serde_json::json!({"resource": "http://localhost:9000/mcp", "authorization_servers": ["https://t.auth0.com/"], "resource_name": "My MCP"})
        );
        let (info, f) = read_text("runtime.addPlugin(new OAuthProtectedResourcePlugin(opts));");
        assert!(info.protected_resource.expect("registered").not_literal);
        assert_eq!(f.items[0].rule.code, "MCP111");
    }

    #[test]
    fn non_literal_options_are_noted() {
        let (info, f) = read_text("runtime.addPlugin(new McpGatewayPlugin(opts));");
        assert!(info.is_registered());
        assert_eq!(f.items[0].rule.code, "MCP111");
    }
}
