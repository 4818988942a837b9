//! The inner request of a tool, prompt or resource (§15.6 steps 2–5, §15.8, §15.9, §15.10).
//!
//! Owns: which argument goes to which channel (nested and flat tools; a flat tool also takes
//! the nested form), the path (`encodeURIComponent` of each path argument, missing ones named),
//! the query (arrays as repeated keys, objects as JSON text, null left out), the headers (the
//! MCP request's, without `content-type`, plus declared header arguments), and the body (always
//! JSON text).

use super::invoker::InnerRequest;
use crate::config::mcp_server::{Channels, Target, Tool, ToolKind};
use crate::web::encoding::encode_uri_component;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use serde_json::{Map, Value, json};

/// The names of the nested channels (§15.5).
const PATH: &str = "pathParams";
const QUERY: &str = "queryParams";
const HEADERS: &str = "headers";
const BODY: &str = "body";

/// A tool's arguments sorted into its channels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub path: Map<String, Value>,
    pub query: Map<String, Value>,
    pub headers: Map<String, Value>,
    /// `None`: no body argument (JSON `undefined`).
    pub body: Option<Value>,
}

/// Whether a flat tool's arguments come in the nested form: only channel names, at least
/// one, none of them a flat member.
pub fn nested_form(input_schema: &Value, args: &Map<String, Value>) -> bool {
    let members = properties(input_schema);
    !args.is_empty()
        && args
            .keys()
            .all(|k| [PATH, QUERY, HEADERS, BODY].contains(&k.as_str()))
        && !args
            .keys()
            .any(|k| members.is_some_and(|m| m.contains_key(k)))
}

/// The nested input schema of a flat tool's channels, to check the nested form against.
pub fn nested_schema(channels: &Channels) -> Value {
    let group = |params: &[crate::config::mcp_server::Param]| {
        let props: Map<String, Value> = params
            .iter()
            .map(|p| (p.name.clone(), p.schema.clone()))
            .collect();
        let required: Vec<&str> = params
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.as_str())
            .collect();
        json!({"type": "object", "properties": props, "required": required})
    };
    let mut props = Map::new();
    if !channels.path.is_empty() {
        props.insert(PATH.into(), group(&channels.path));
    }
    if !channels.query.is_empty() {
        props.insert(QUERY.into(), group(&channels.query));
    }
    if !channels.headers.is_empty() {
        props.insert(HEADERS.into(), group(&channels.headers));
    }
    if let Some(b) = &channels.body {
        props.insert(BODY.into(), b.clone());
    }
    json!({"type": "object", "properties": props, "additionalProperties": false})
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// Sorts the arguments of an operation tool into its channels.
pub fn inputs(channels: &Channels, input_schema: &Value, args: &Map<String, Value>) -> Inputs {
    let object = |k: &str| {
        args.get(k)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    if !channels.flat || nested_form(input_schema, args) {
        return Inputs {
            path: object(PATH),
            query: object(QUERY),
            headers: object(HEADERS),
            body: args.get(BODY).cloned(),
        };
    }
    let pick = |params: &[crate::config::mcp_server::Param]| -> Map<String, Value> {
        params
            .iter()
            .filter_map(|p| args.get(&p.name).map(|v| (p.name.clone(), v.clone())))
            .collect()
    };
    let (path, query, headers) = (
        pick(&channels.path),
        pick(&channels.query),
        pick(&channels.headers),
    );
    let body = match &channels.body {
        None => args.get(BODY).cloned(),
        // a hoisted body gets every argument that is not a parameter (an open body receives
        // undeclared ones; a closed one refused them in validation)
        Some(b) if body_hoisted(input_schema, b) => {
            let taken = |k: &String| {
                path.contains_key(k) || query.contains_key(k) || headers.contains_key(k)
            };
            Some(Value::Object(
                args.iter()
                    .filter(|(k, _)| !taken(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ))
        }
        Some(_) => args.get(BODY).cloned(),
    };
    Inputs {
        path,
        query,
        headers,
        body,
    }
}

/// A flat tool's body is hoisted unless it stayed a single `body` argument (§15.5).
fn body_hoisted(input_schema: &Value, body: &Value) -> bool {
    let declares_body = |s: &Value| properties(s).is_some_and(|p| p.contains_key(BODY));
    !declares_body(input_schema) || declares_body(body)
}

/// A value as JavaScript's `String(v)` writes it, objects as JSON text.
fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 && !n.is_i64() && !n.is_u64() => {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// The template's `{name}` variables, in order.
fn template_vars(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

/// A path with its arguments substituted, and the parameters as the route sees them.
pub type Substituted = (String, Vec<(String, String)>);

/// The path with the arguments substituted; the names of variables without an argument
/// otherwise.
pub fn substitute(template: &str, args: &Map<String, Value>) -> Result<Substituted, Vec<String>> {
    let vars = template_vars(template);
    let missing: Vec<String> = vars
        .iter()
        .filter(|v| args.get(**v).is_none_or(Value::is_null))
        .map(|v| v.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut path = template.to_string();
    let mut params = Vec::new();
    for var in vars {
        let value = args.get(var).map(js_string).unwrap_or_default();
        path = path.replace(&format!("{{{var}}}"), &encode_uri_component(&value));
        params.push((var.to_string(), value));
    }
    Ok((path, params))
}

/// The query string of the query arguments, as `URLSearchParams` writes it.
pub fn query(args: &Map<String, Value>) -> Option<String> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in args {
        match v {
            Value::Null => {}
            Value::Array(items) => {
                for item in items.iter().filter(|i| !i.is_null()) {
                    out.append_pair(k, &js_string(item));
                    any = true;
                }
            }
            other => {
                out.append_pair(k, &js_string(other));
                any = true;
            }
        }
    }
    any.then(|| out.finish())
}

/// Why an inner request could not be built (the tool result names it, §15.7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("missing path parameters in OpenAPI spec: {}", .0.join(", "))]
    MissingPathParams(Vec<String>),
    #[error("TypeError: invalid header {0:?}")]
    BadHeader(String),
}

/// The MCP request's headers as an inner request starts from them (step 4): all of them but
/// `content-type` and `content-length`, which follow the inner body.
fn base_headers(mcp: &HeaderMap) -> HeaderMap {
    let mut h = mcp.clone();
    h.remove(header::CONTENT_TYPE);
    h.remove(header::CONTENT_LENGTH);
    h
}

fn with_body(
    mut headers: HeaderMap,
    body: Option<(&str, Vec<u8>)>,
) -> Result<(HeaderMap, Bytes), BuildError> {
    let Some((content_type, bytes)) = body else {
        return Ok((headers, Bytes::new()));
    };
    let ct = HeaderValue::from_str(content_type)
        .map_err(|_| BuildError::BadHeader("content-type".into()))?;
    headers.insert(header::CONTENT_TYPE, ct);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    Ok((headers, Bytes::from(bytes)))
}

fn method_of(target: &Target) -> Method {
    Method::from_bytes(target.method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::POST)
}

/// The inner request of a `tools/call` (arguments already validated).
pub fn tool(
    tool: &Tool,
    args: &Map<String, Value>,
    mcp_headers: &HeaderMap,
) -> Result<InnerRequest, BuildError> {
    let method = method_of(&tool.target);
    let json = |v: &Value| serde_json::to_vec(v).unwrap_or_default();
    match &tool.kind {
        ToolKind::GraphqlIntrospect => {
            let body = json(&json!({"query": super::graphql::INTROSPECTION_QUERY}));
            plain(&tool.target, method, mcp_headers, Some(body))
        }
        ToolKind::GraphqlExecute => {
            let mut b = Map::new();
            b.insert(
                "query".into(),
                args.get("query").cloned().unwrap_or(Value::Null),
            );
            if let Some(v) = args.get("variables") {
                b.insert("variables".into(), v.clone());
            }
            plain(
                &tool.target,
                method,
                mcp_headers,
                Some(json(&Value::Object(b))),
            )
        }
        ToolKind::Operation {
            content_type,
            channels,
        } => {
            let inputs = inputs(channels, &tool.input_schema, args);
            let (path, params) = substitute(&tool.target.path, &inputs.path)
                .map_err(BuildError::MissingPathParams)?;
            let mut headers = base_headers(mcp_headers);
            for (name, value) in &inputs.headers {
                if value.is_null() {
                    continue;
                }
                let lower = name.to_ascii_lowercase();
                let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(lower.as_bytes()),
                    HeaderValue::from_str(&js_string(value)),
                ) else {
                    return Err(BuildError::BadHeader(name.clone()));
                };
                headers.insert(n, v);
            }
            let body_method = [Method::POST, Method::PUT, Method::PATCH].contains(&method);
            let body = inputs
                .body
                .as_ref()
                .filter(|_| body_method || channels.declares_body)
                .map(|b| {
                    (
                        content_type.as_deref().unwrap_or("application/json"),
                        json(b),
                    )
                });
            let (headers, body) = with_body(headers, body)?;
            Ok(InnerRequest {
                method,
                path,
                query: query(&inputs.query),
                params,
                headers,
                body,
                raw_call_tool_request: None,
            })
        }
    }
}

/// A request with a JSON body (or none) to a route's path as it is.
fn plain(
    target: &Target,
    method: Method,
    mcp_headers: &HeaderMap,
    body: Option<Vec<u8>>,
) -> Result<InnerRequest, BuildError> {
    let (headers, body) = with_body(
        base_headers(mcp_headers),
        body.map(|b| ("application/json", b)),
    )?;
    Ok(InnerRequest {
        method,
        path: target.path.clone(),
        query: None,
        params: Vec::new(),
        headers,
        body,
        raw_call_tool_request: None,
    })
}

/// A prompt's request: POST with the arguments as JSON (§15.8).
pub fn prompt(
    target: &Target,
    args: &Map<String, Value>,
    mcp_headers: &HeaderMap,
) -> Result<InnerRequest, BuildError> {
    let body = serde_json::to_vec(args).unwrap_or_default();
    plain(target, Method::POST, mcp_headers, Some(body))
}

/// A resource's request: GET without query or body (§15.9).
pub fn resource(target: &Target, mcp_headers: &HeaderMap) -> Result<InnerRequest, BuildError> {
    plain(target, Method::GET, mcp_headers, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::mcp_server::Param;

    fn param(name: &str, required: bool) -> Param {
        Param {
            name: name.into(),
            required,
            schema: json!({"type": "string"}),
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn path_arguments_are_substituted_encoded_and_missing_ones_named() {
        let (path, params) =
            substitute("/todos/{id}/{sub}", &obj(json!({"id": "a b/c", "sub": 7}))).unwrap();
        assert_eq!(path, "/todos/a%20b%2Fc/7");
        assert_eq!(params[0], ("id".to_string(), "a b/c".to_string()));
        assert_eq!(
            substitute("/t/{id}/{x}", &obj(json!({"x": null}))).unwrap_err(),
            vec!["id".to_string(), "x".to_string()]
        );
        assert_eq!(
            BuildError::MissingPathParams(vec!["id".into()]).to_string(),
            "missing path parameters in OpenAPI spec: id"
        );
    }

    #[test]
    fn query_repeats_arrays_writes_objects_as_json_and_leaves_null_out() {
        let q = query(&obj(
            json!({"tag": ["a", "b c"], "f": {"x": 1}, "n": null, "k": 2.0, "b": true}),
        ));
        assert_eq!(
            q.as_deref(),
            Some("tag=a&tag=b+c&f=%7B%22x%22%3A1%7D&k=2&b=true")
        );
        assert_eq!(query(&obj(json!({"n": null}))), None);
    }

    fn operation(
        flat: bool,
        method: &str,
        content_type: Option<&str>,
        body: Option<Value>,
    ) -> Tool {
        let channels = Channels {
            path: vec![param("id", true)],
            query: vec![param("q", false)],
            headers: vec![param("X-Trace", false)],
            declares_body: body.is_some(),
            body,
            flat,
        };
        let input_schema = if flat {
            json!({"type": "object", "properties": {"id": {}, "q": {}, "X-Trace": {}, "name": {}}})
        } else {
            json!({"type": "object", "properties": {"pathParams": {}, "queryParams": {}, "headers": {}, "body": {}}})
        };
        Tool {
            name: "t".into(),
            description: String::new(),
            target: Target {
                route: 1,
                method: method.into(),
                path: "/items/{id}".into(),
                operation_id: "t".into(),
            },
            kind: ToolKind::Operation {
                content_type: content_type.map(str::to_string),
                channels,
            },
            input_schema,
            output_schema: None,
            include_structured_content: false,
            annotations: None,
            meta: None,
        }
    }

    fn mcp_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer t"));
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert("content-length", HeaderValue::from_static("999"));
        h
    }

    #[test]
    fn nested_arguments_build_the_whole_request() {
        let t = operation(
            false,
            "PUT",
            Some("text/plain"),
            Some(json!({"type": "string"})),
        );
        let args = obj(json!({"pathParams": {"id": "7"}, "queryParams": {"q": "x"},
            "headers": {"X-Trace": "abc"}, "body": "hello"}));
        let r = tool(&t, &args, &mcp_headers()).unwrap();
        assert_eq!(r.method, Method::PUT);
        assert_eq!(r.path_and_query(), "/items/7?q=x");
        assert_eq!(r.headers["authorization"], "Bearer t");
        assert_eq!(r.headers["x-trace"], "abc");
        assert_eq!(r.headers["content-type"], "text/plain");
        // always JSON text, whatever the content type
        assert_eq!(&r.body[..], br#""hello""#);
        assert_eq!(r.headers["content-length"], "7");
    }

    #[test]
    fn no_body_argument_no_body_and_get_sends_none_unless_declared() {
        let t = operation(false, "GET", None, None);
        let r = tool(
            &t,
            &obj(json!({"pathParams": {"id": "1"}, "body": {"a": 1}})),
            &mcp_headers(),
        )
        .unwrap();
        assert!(r.body.is_empty());
        assert!(r.headers.get("content-type").is_none());
        assert!(r.headers.get("content-length").is_none());
        let t = operation(false, "POST", None, Some(json!({"type": "object"})));
        let r = tool(&t, &obj(json!({"pathParams": {"id": "1"}})), &mcp_headers()).unwrap();
        assert!(r.body.is_empty(), "no body argument: nothing sent");
        let r = tool(
            &t,
            &obj(json!({"pathParams": {"id": "1"}, "body": {"a": 1}})),
            &mcp_headers(),
        )
        .unwrap();
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(&r.body[..], br#"{"a":1}"#);
    }

    #[test]
    fn flat_arguments_hoist_and_the_nested_form_is_accepted_too() {
        let t = operation(
            true,
            "POST",
            Some("application/json"),
            Some(json!({"type": "object", "properties": {"name": {"type": "string"}}})),
        );
        let flat = obj(json!({"id": "9", "q": "z", "X-Trace": "t1", "name": "n", "extra": 1}));
        let r = tool(&t, &flat, &mcp_headers()).unwrap();
        assert_eq!(r.path_and_query(), "/items/9?q=z");
        assert_eq!(r.headers["x-trace"], "t1");
        assert_eq!(&r.body[..], br#"{"name":"n","extra":1}"#);
        let nested = obj(json!({"pathParams": {"id": "9"}, "body": {"name": "n"}}));
        assert!(nested_form(&t.input_schema, &nested));
        let r = tool(&t, &nested, &mcp_headers()).unwrap();
        assert_eq!(r.path, "/items/9");
        assert_eq!(&r.body[..], br#"{"name":"n"}"#);
    }
}
