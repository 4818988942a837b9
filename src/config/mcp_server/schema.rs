//! JSON Schemas of generated tools (SPEC §15.5, §15.7, §15.8, D20).
//!
//! Owns: following local `$ref`s (`#/…` pointers into the same route file) in parameters,
//! request bodies and responses; an operation's parameters (path-item ones merged under the
//! operation's own); the input channels per request-body content type; the nested and flat
//! `inputSchema`; the `outputSchema` of the first 2xx JSON response; the body schema of a prompt.
//! A cyclic or too deep `$ref` becomes `{}` (any value) at the spot where it repeats: the
//! generated schema has no `components` for it to point into, and following it forever would
//! never end.

use super::{Channels, Param};
use crate::config::jsonc::{Node, Value as J};
use crate::diag::source::Span;
use serde_json::{Map, Value, json};

/// How many `$ref`s may be nested inside one another while a schema is expanded.
const MAX_REF_DEPTH: usize = 32;
/// How many `$ref` expansions one [`Resolver`] makes in all: a document where each schema
/// uses the next one twice would otherwise double the work at every level.
const MAX_REF_EXPANSIONS: usize = 20_000;

/// Resolves local `$ref`s against one route file.
pub struct Resolver<'d> {
    doc: &'d Node,
    expansions: usize,
    /// `$ref`s that point at nothing in the file, with the pointer (for a finding).
    pub dangling: Vec<(Span, String)>,
}

impl<'d> Resolver<'d> {
    pub fn new(doc: &'d Node) -> Self {
        Resolver {
            doc,
            expansions: 0,
            dangling: Vec::new(),
        }
    }

    /// The node a chain of `$ref`s ends at (the node itself when it is no reference), for
    /// reading structure with spans. Cycles stop after [`MAX_REF_DEPTH`] steps.
    pub fn follow<'a>(&self, node: &'a Node) -> &'a Node
    where
        'd: 'a,
    {
        let mut node = node;
        for _ in 0..MAX_REF_DEPTH {
            match local_ref(node).and_then(|p| lookup(self.doc, &p)) {
                Some(target) => node = target,
                None => break,
            }
        }
        node
    }

    /// The value as plain JSON with every local `$ref` replaced by what it points at.
    pub fn json(&mut self, node: &Node) -> Value {
        let mut stack = Vec::new();
        self.expand(node, &mut stack)
    }

    fn expand(&mut self, node: &Node, stack: &mut Vec<String>) -> Value {
        match &node.value {
            J::Object(members) => {
                if let Some(pointer) = local_ref(node) {
                    let siblings = |this: &mut Self, stack: &mut Vec<String>| {
                        let mut map = Map::new();
                        for m in members {
                            if m.key != "$ref" && m.node.value != J::Unset {
                                map.insert(m.key.clone(), this.expand(&m.node, stack));
                            }
                        }
                        map
                    };
                    let repeats = stack.contains(&pointer)
                        || stack.len() >= MAX_REF_DEPTH
                        || self.expansions >= MAX_REF_EXPANSIONS;
                    if repeats {
                        return Value::Object(siblings(self, stack));
                    }
                    let Some(target) = lookup(self.doc, &pointer) else {
                        let written = node.get("$ref").map_or(node.span, |r| r.span);
                        self.dangling.push((written, format!("#{pointer}")));
                        return Value::Object(siblings(self, stack));
                    };
                    self.expansions += 1;
                    stack.push(pointer);
                    let mut resolved = self.expand(target, stack);
                    stack.pop();
                    // OpenAPI 3.1 lets `description` and friends next to a `$ref` override
                    // the target's
                    let extra = siblings(self, stack);
                    if let Value::Object(map) = &mut resolved {
                        map.extend(extra);
                    }
                    return resolved;
                }
                let mut map = Map::with_capacity(members.len());
                for m in members {
                    if m.node.value != J::Unset {
                        map.insert(m.key.clone(), self.expand(&m.node, stack));
                    }
                }
                Value::Object(map)
            }
            J::Array(items) => Value::Array(items.iter().map(|n| self.expand(n, stack)).collect()),
            _ => node.to_json(),
        }
    }
}

/// The JSON pointer of a local `$ref` (`#/components/schemas/Todo` → `/components/schemas/Todo`).
fn local_ref(node: &Node) -> Option<String> {
    let reference = node.get("$ref")?.as_str()?;
    let fragment = reference.strip_prefix('#')?;
    if !fragment.is_empty() && !fragment.starts_with('/') {
        return None;
    }
    // a URI fragment: percent-encoded characters stand for themselves
    Some(
        percent_encoding::percent_decode_str(fragment)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// The node at a JSON pointer, `None` when any step is missing.
fn lookup<'a>(doc: &'a Node, pointer: &str) -> Option<&'a Node> {
    let mut node = doc;
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        node = match &node.value {
            J::Object(_) => node.get(&token)?,
            J::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Where a parameter goes (`in`); `cookie` parameters are dropped (§15.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamIn {
    Path,
    Query,
    Header,
}

/// The operation's parameters with path-item ones merged in (D20): an operation parameter
/// with the same `name` and `in` replaces the path-item one at its place.
pub fn parameters(
    r: &mut Resolver<'_>,
    path_item: Option<&Node>,
    operation: &Node,
) -> Vec<(ParamIn, Param)> {
    let mut out: Vec<(ParamIn, Param)> = Vec::new();
    for list in [
        path_item.and_then(|p| p.get("parameters")),
        operation.get("parameters"),
    ] {
        let Some(items) = list.map(|l| r.follow(l)).and_then(Node::as_array) else {
            continue;
        };
        for item in items {
            let Some((place, param)) = parameter(r, item) else {
                continue;
            };
            match out
                .iter_mut()
                .find(|(p, q)| *p == place && q.name == param.name)
            {
                Some(slot) => *slot = (place, param),
                None => out.push((place, param)),
            }
        }
    }
    out
}

fn parameter(r: &mut Resolver<'_>, node: &Node) -> Option<(ParamIn, Param)> {
    let node = r.follow(node);
    let name = node.get("name")?.as_str()?.to_string();
    let place = match node.get("in")?.as_str()? {
        "path" => ParamIn::Path,
        "query" => ParamIn::Query,
        "header" => ParamIn::Header,
        _ => return None,
    };
    let required = node.get("required").and_then(Node::as_bool) == Some(true);
    let declared = node.get("schema").or_else(|| {
        // `content: {media: {schema}}` is OpenAPI's other way to give a parameter a schema
        node.get("content")
            .map(|c| r.follow(c))
            .and_then(Node::as_object)
            .and_then(|media| media.first())
            .and_then(|m| r.follow(&m.node).get("schema"))
    });
    let mut schema = match declared {
        Some(s) => r.json(s),
        None => json!({"type": "string"}),
    };
    if let Value::Object(map) = &mut schema {
        if let Some(d) = node.get("description").and_then(Node::as_str) {
            let d = d.trim();
            if !d.is_empty() {
                map.insert("description".into(), Value::String(d.to_string()));
            }
        }
        let mut examples = Vec::new();
        if let Some(e) = node.get("example") {
            examples.push(r.json(e));
        }
        if let Some(named) = node
            .get("examples")
            .map(|e| r.follow(e))
            .and_then(Node::as_object)
        {
            for m in named {
                if let Some(v) = r.follow(&m.node).get("value") {
                    examples.push(r.json(v));
                }
            }
        }
        if !examples.is_empty() {
            let mut all = match map.remove("examples") {
                Some(Value::Array(own)) => own,
                Some(other) => vec![other],
                None => Vec::new(),
            };
            all.extend(examples);
            map.insert("examples".into(), Value::Array(all));
        }
    }
    Some((
        place,
        Param {
            name,
            required,
            schema,
        },
    ))
}

/// The request-body content types of an operation, in document order, each with its schema
/// (`{}` when the media type declares none). Empty when there is no `requestBody.content`.
pub fn body_content_types(r: &mut Resolver<'_>, operation: &Node) -> Vec<(String, Value)> {
    let Some(content) = operation
        .get("requestBody")
        .map(|b| r.follow(b))
        .and_then(|b| b.get("content"))
        .map(|c| r.follow(c))
        .and_then(Node::as_object)
    else {
        return Vec::new();
    };
    content
        .iter()
        .map(|m| {
            let schema = match r.follow(&m.node).get("schema") {
                Some(s) => r.json(s),
                None => json!({}),
            };
            (m.key.clone(), schema)
        })
        .collect()
}

/// The `application/json` request-body schema node of an operation (prompts, §15.8).
pub fn json_body_schema<'a>(r: &Resolver<'a>, operation: &'a Node) -> Option<&'a Node> {
    let content = r.follow(r.follow(operation.get("requestBody")?).get("content")?);
    r.follow(content.get("application/json")?).get("schema")
}

/// The schema of the first response whose code starts with `2` and whose content has
/// `application/json` (or `application/json; charset=utf-8`) with a schema (§15.7).
pub fn output_schema(r: &mut Resolver<'_>, operation: &Node) -> Option<Value> {
    let responses = r.follow(operation.get("responses")?).as_object()?;
    for response in responses.iter().filter(|m| m.key.starts_with('2')) {
        let Some(content) = r.follow(&response.node).get("content").map(|c| r.follow(c)) else {
            continue;
        };
        for media in ["application/json", "application/json; charset=utf-8"] {
            if let Some(schema) = content.get(media).and_then(|m| r.follow(m).get("schema")) {
                return Some(r.json(schema));
            }
        }
    }
    None
}

/// Channel names of the nested layout (§15.5), in the order they are advertised.
pub const PATH_PARAMS: &str = "pathParams";
pub const QUERY_PARAMS: &str = "queryParams";
pub const HEADERS: &str = "headers";
pub const BODY: &str = "body";

/// `{type: object, properties: {}, required: [], additionalProperties: false}`: an operation
/// without inputs, the introspection tool.
pub fn empty_input() -> Value {
    json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
}

/// A closed object of parameters: the `pathParams`, `queryParams` or `headers` channel.
fn params_object(params: &[Param]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in params {
        properties.insert(p.name.clone(), p.schema.clone());
        if p.required {
            required.push(Value::String(p.name.clone()));
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The nested `inputSchema`: one property per declared channel, every one required, closed.
pub fn nested_input(ch: &Channels) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, params) in [
        (PATH_PARAMS, &ch.path),
        (QUERY_PARAMS, &ch.query),
        (HEADERS, &ch.headers),
    ] {
        if !params.is_empty() {
            properties.insert(name.into(), params_object(params));
            required.push(Value::String(name.into()));
        }
    }
    if let Some(body) = &ch.body {
        properties.insert(BODY.into(), body.clone());
        required.push(Value::String(BODY.into()));
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// Keywords that make a body schema more than a plain object: such a body stays one `body`
/// argument in the flat layout (§15.5).
const NOT_PLAIN: [&str; 16] = [
    "oneOf",
    "anyOf",
    "allOf",
    "not",
    "if",
    "then",
    "else",
    "minProperties",
    "maxProperties",
    "patternProperties",
    "dependentRequired",
    "dependentSchemas",
    "propertyNames",
    "unevaluatedProperties",
    "discriminator",
    "$ref",
];

/// A body schema that is a plain object, whose members the flat layout hoists.
struct PlainObject<'a> {
    properties: &'a Map<String, Value>,
    required: Vec<String>,
    /// The body's `additionalProperties`: decides what undeclared arguments do.
    additional: Option<&'a Value>,
}

fn plain_object(body: &Value) -> Option<PlainObject<'_>> {
    let map = body.as_object()?;
    let is_object = match map.get("type") {
        Some(Value::String(t)) => t == "object",
        None => map.contains_key("properties"),
        Some(_) => false,
    };
    if !is_object || NOT_PLAIN.iter().any(|k| map.contains_key(*k)) {
        return None;
    }
    static NO_PROPERTIES: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let properties = match map.get("properties") {
        Some(Value::Object(p)) => p,
        Some(_) => return None,
        None => NO_PROPERTIES.get_or_init(Map::new),
    };
    let required = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some(PlainObject {
        properties,
        required,
        additional: map.get("additionalProperties"),
    })
}

/// The flat `inputSchema` (`toolInputStyle: "flat"`): members of `pathParams`, `queryParams`,
/// `body` and `headers` hoisted in that order. `None` when two channels share a member name:
/// the tool then stays nested (7.6.4's `MCP tool input schema left nested`).
pub fn flat_input(ch: &Channels) -> Option<Value> {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut add = |name: &str, schema: &Value, is_required: bool| -> bool {
        if properties.contains_key(name) {
            return false;
        }
        properties.insert(name.to_string(), schema.clone());
        if is_required {
            required.push(Value::String(name.to_string()));
        }
        true
    };
    for p in ch.path.iter().chain(&ch.query) {
        if !add(&p.name, &p.schema, p.required) {
            return None;
        }
    }
    let mut additional = Some(Value::Bool(false));
    if let Some(body) = &ch.body {
        match plain_object(body) {
            Some(plain) => {
                for (name, schema) in plain.properties {
                    if !add(name, schema, plain.required.contains(name)) {
                        return None;
                    }
                }
                // the body decides what happens to undeclared arguments
                additional = plain.additional.cloned();
            }
            None => {
                if !add(BODY, body, true) {
                    return None;
                }
            }
        }
    }
    for p in &ch.headers {
        if !add(&p.name, &p.schema, p.required) {
            return None;
        }
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "required": required,
    });
    if let (Some(additional), Value::Object(map)) = (additional, &mut schema) {
        map.insert("additionalProperties".into(), additional);
    }
    Some(schema)
}

/// The body of a prompt's request, for its arguments: `(name, description, required)` of each
/// root property, in order (§15.8).
pub fn prompt_arguments(body: &Value) -> Vec<(String, Option<String>, bool)> {
    let Some(map) = body.as_object() else {
        return Vec::new();
    };
    let required: Vec<&str> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    map.get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, schema)| {
                    let description = schema
                        .get("description")
                        .and_then(Value::as_str)
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string);
                    (name.clone(), description, required.contains(&name.as_str()))
                })
                .collect()
        })
        .unwrap_or_default()
}
