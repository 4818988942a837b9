//! JSONC parsing into a located value tree.
//!
//! Owns: turning the text of a JSONC file (JSON plus comments and trailing commas, nothing
//! looser) into a [`Node`] tree where every value and every object key keeps its [`Span`], and
//! the one parse error, if any, at its exact position. It knows nothing about what the files
//! mean; `$env(...)` substitution happens later in `config::env`.

use crate::diag::source::{FileId, Span};
use jsonc_parser::ast;
use jsonc_parser::{CollectOptions, ParseOptions};

/// A JSON value with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
    /// Set when the value came from `$env(...)` substitution (see `config::env`).
    pub env: Option<EnvOrigin>,
}

/// Where a substituted value came from: the `$env(NAME)` references in the original string.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvOrigin {
    /// The string as written in the file, e.g. `Bearer $env(API_KEY)`.
    pub written: String,
    /// Each variable referenced and where it is defined, if anywhere.
    pub vars: Vec<EnvVarUse>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvVarUse {
    pub name: String,
    /// Where the variable's value was defined: a line of `.env`, or `None` for the process
    /// environment or an unset variable.
    pub defined_in: Option<Span>,
    pub set: bool,
    /// Set by the deployment (`--env-example`): the value is a placeholder.
    pub from_deployment: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<Member>),
    /// A standalone `$env(NAME)` whose variable is not set: JavaScript's `undefined`.
    Unset,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The literal as written (`1`, `1.0`, `1e3`).
    pub raw: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_span: Span,
    pub node: Node,
}

/// A JSONC syntax error at one position.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub span: Span,
    pub message: String,
}

impl Node {
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
            Value::Unset => "an unset $env() variable",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match &self.value {
            Value::Number(n) => Some(n.value),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.value {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The member of an object with this key (the last one, as `JSON.parse` keeps).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.member(key).map(|m| &m.node)
    }

    pub fn member(&self, key: &str) -> Option<&Member> {
        self.as_object()?.iter().rev().find(|m| m.key == key)
    }

    /// The value as plain JSON (for JSON Schema checks and for serving). `Unset` becomes
    /// absent inside objects and `null` elsewhere, as `JSON.stringify` does with `undefined`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null | Value::Unset => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => number_to_json(n),
            Value::String(s) => J::String(s.clone()),
            Value::Array(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Object(members) => {
                let mut map = serde_json::Map::with_capacity(members.len());
                for m in members {
                    if m.node.value != Value::Unset {
                        map.insert(m.key.clone(), m.node.to_json());
                    }
                }
                J::Object(map)
            }
        }
    }

    /// Follows a JSON pointer (`/a/0/b`) and returns the deepest node reached.
    pub fn pointer(&self, pointer: &str) -> &Node {
        let mut node = self;
        for raw in pointer.split('/').skip(1) {
            let token = raw.replace("~1", "/").replace("~0", "~");
            let next = match &node.value {
                Value::Object(_) => node.get(&token),
                Value::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node
    }
}

fn number_to_json(n: &Number) -> serde_json::Value {
    if let Ok(i) = n.raw.parse::<i64>() {
        return serde_json::Value::from(i);
    }
    serde_json::Number::from_f64(n.value)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

/// JSONC as Zuplo reads it: comments and trailing commas, otherwise strict JSON.
fn strict_jsonc() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses a JSONC file. `Ok(None)` for a file with no value at all (empty or only comments).
pub fn parse(file: FileId, text: &str) -> Result<Option<Node>, SyntaxError> {
    parse_with(file, text, 0, &strict_jsonc())
}

/// Parses a JavaScript object literal (`{ basePath: '/x' }`) found at `offset` in a
/// TypeScript file: loose keys and single quotes allowed.
pub fn parse_js_literal(
    file: FileId,
    text: &str,
    offset: usize,
) -> Result<Option<Node>, SyntaxError> {
    parse_with(file, text, offset, &ParseOptions::default())
}

fn parse_with(
    file: FileId,
    text: &str,
    offset: usize,
    options: &ParseOptions,
) -> Result<Option<Node>, SyntaxError> {
    match jsonc_parser::parse_to_ast(text, &CollectOptions::default(), options) {
        Ok(result) => Ok(result.value.map(|v| convert(file, offset, v))),
        Err(err) => {
            let range = err.range();
            let start = range.start.min(text.len());
            let end = range.end.max(start + 1).min(text.len().max(start));
            Err(SyntaxError {
                span: Span::new(file, offset + start, offset + end),
                message: lower_first(&err.kind().to_string()),
            })
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn convert(file: FileId, offset: usize, value: ast::Value<'_>) -> Node {
    let span = |r: jsonc_parser::common::Range| Span::new(file, offset + r.start, offset + r.end);
    let (span, value) = match value {
        ast::Value::StringLit(s) => (span(s.range), Value::String(s.value.into_owned())),
        ast::Value::NumberLit(n) => {
            let value = parse_number(n.value);
            (
                span(n.range),
                Value::Number(Number {
                    raw: n.value.to_string(),
                    value,
                }),
            )
        }
        ast::Value::BooleanLit(b) => (span(b.range), Value::Bool(b.value)),
        ast::Value::NullKeyword(n) => (span(n.range), Value::Null),
        ast::Value::Array(a) => (
            span(a.range),
            Value::Array(
                a.elements
                    .into_iter()
                    .map(|v| convert(file, offset, v))
                    .collect(),
            ),
        ),
        ast::Value::Object(o) => {
            let members = o
                .properties
                .into_iter()
                .map(|p| {
                    let (key, key_range) = match p.name {
                        ast::ObjectPropName::String(s) => (s.value.into_owned(), s.range),
                        ast::ObjectPropName::Word(w) => (w.value.to_string(), w.range),
                    };
                    Member {
                        key,
                        key_span: span(key_range),
                        node: convert(file, offset, p.value),
                    }
                })
                .collect();
            (span(o.range), Value::Object(members))
        }
    };
    Node {
        span,
        value,
        env: None,
    }
}

fn parse_number(raw: &str) -> f64 {
    if let Some(hex) = raw.strip_prefix("0x").or_else(|| raw.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16)
            .map(|v| v as f64)
            .unwrap_or(f64::NAN);
    }
    raw.trim_start_matches('+')
        .parse::<f64>()
        .unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_through_comments_and_trailing_commas() {
        let text = "// top\n{\n  /* c */ \"a\": [1, \"x\",],\n}\n";
        let node = parse(FileId(0), text).unwrap().unwrap();
        let a = node.member("a").unwrap();
        assert_eq!(
            &text[a.key_span.start as usize..a.key_span.end as usize],
            "\"a\""
        );
        let items = a.node.as_array().unwrap();
        assert_eq!(
            &text[items[1].span.start as usize..items[1].span.end as usize],
            "\"x\""
        );
        assert_eq!(items[0].as_f64(), Some(1.0));
    }

    #[test]
    fn rejects_json5_looseness_at_the_spot() {
        let text = "{\n  a: 1\n}";
        let err = parse(FileId(0), text).unwrap_err();
        assert_eq!(err.span.start, 4);
        assert!(parse(FileId(0), "{'a': 1}").is_err());
        assert!(parse(FileId(0), "").unwrap().is_none());
    }

    #[test]
    fn js_literal_accepts_loose_keys() {
        let text = "x({ basePath: '/', registry: { enabled: false } })";
        let start = text.find('{').unwrap();
        let end = text.rfind('}').unwrap() + 1;
        let node = parse_js_literal(FileId(0), &text[start..end], start)
            .unwrap()
            .unwrap();
        assert_eq!(node.get("basePath").unwrap().as_str(), Some("/"));
        assert_eq!(
            node.get("basePath").unwrap().span.start as usize,
            text.find("'/'").unwrap()
        );
    }

    #[test]
    fn pointer_walks_arrays_and_objects() {
        let node = parse(FileId(0), r#"{"a":[{"b":true}]}"#).unwrap().unwrap();
        assert_eq!(node.pointer("/a/0/b").as_bool(), Some(true));
        assert_eq!(node.pointer("/a/7").span, node.get("a").unwrap().span);
    }
}
