//! Registration: which tools, prompts and resources each `mcpServerHandler` route has
//! (SPEC §15.3, D20).
//!
//! Owns: the order (`operations` grouped per file, then `files`, `prompts`, `resources`, then
//! `openApiFilePaths`), resolving entries to routes (rule 80), dispatch on the operation's MCP
//! type, names and descriptions with their defaults (§15.4, §15.8–§15.10), the one-method rules
//! (81), unique names per kind (82), and the POST-only rule of the server route itself (78).
//! Where 7.6.4 fails at the first request, mcpgw reports an error finding at the value to fix.

use super::route_mcp::{self, Block, Kind, Legacy, RouteMcp};
use super::schema::{self, ParamIn, Resolver};
use super::{
    Channels, InputStyle, McpServer, Prompt, PromptArgument, Resource, ServerOptions, Target, Tool,
    ToolKind, options,
};
use crate::config::jsonc::Node;
use crate::config::policies::handlers::HandlerConfig;
use crate::config::project::{Project, Route};
use crate::diag::diagnostic::{Diagnostic, Findings, Severity};
use crate::diag::rules;
use crate::diag::source::{FileId, Span};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use std::collections::HashMap;

/// What JavaScript's `encodeURIComponent` leaves alone (the default resource URI, §15.4).
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// Builds one [`McpServer`] per `mcpServerHandler` route, in route order; findings at the
/// values to fix.
pub fn register(
    project: &Project,
    handlers: &[Option<HandlerConfig>],
    findings: &mut Findings,
) -> Vec<McpServer> {
    let mut local = Findings::default();
    // rule 83 holds for every route, referenced or not: read each block once
    let blocks: Vec<Block> = project
        .routes
        .iter()
        .map(|r| match r.route_ext {
            Some(_) => route_mcp::read(project.operation_node(r), &mut local),
            None => Block::Absent,
        })
        .collect();
    let ctx = Ctx {
        project,
        handlers,
        blocks,
    };
    let mut servers = Vec::new();
    for (i, route) in project.routes.iter().enumerate() {
        if matches!(handlers.get(i), Some(Some(HandlerConfig::McpServer))) {
            servers.push(ctx.server(i, route, &mut local));
        }
    }
    // two servers may reference one operation: say each thing about it once
    let mut seen = std::collections::HashSet::new();
    for d in local.items {
        if seen.insert((d.rule.code, d.span, d.message.clone())) {
            findings.items.push(d);
        }
    }
    servers
}

struct Ctx<'p> {
    project: &'p Project,
    handlers: &'p [Option<HandlerConfig>],
    blocks: Vec<Block>,
}

/// How an operation was referenced: which extension it is read through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `operations`: `x-zuplo-route.mcp`, a tool when absent (with 7.6.4's warning).
    Operations,
    /// `files` / `prompts` / `resources`: the legacy `x-zuplo-mcp-*` extensions.
    Legacy(Legacy),
    /// `openApiFilePaths` (D20): `x-zuplo-route.mcp` when present, else a tool named after the
    /// operationId or `METHOD_ROUTE`.
    FilePaths,
}

/// The server being built, with the names taken per kind (rule 82).
struct Builder {
    server: McpServer,
    /// The MCP route's path, for messages.
    path: String,
    /// name → the operation that took it, per kind.
    tool_names: HashMap<String, String>,
    prompt_names: HashMap<String, String>,
    resource_names: HashMap<String, String>,
}

impl<'p> Ctx<'p> {
    fn server(&self, i: usize, route: &Route, findings: &mut Findings) -> McpServer {
        let path = &route.path.value;
        // 78
        if route.methods.iter().any(|m| m != "post") {
            let declared: Vec<String> = route
                .methods
                .iter()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            findings.push(
                &rules::MCP_SERVER_METHOD,
                route.method_key.span,
                format!(
                    "Invalid route config: mcpServerHandler may only use POST. Route '{path}' declares methods: [{}]",
                    declared.join(", ")
                ),
            );
        }
        let opts = options::parse(
            path,
            route.handler.as_ref().and_then(|h| h.options.as_ref()),
            findings,
        );
        let mut b = Builder {
            server: McpServer {
                route: i,
                options: opts.server.clone(),
                tools: Vec::new(),
                prompts: Vec::new(),
                resources: Vec::new(),
            },
            path: path.clone(),
            tool_names: HashMap::new(),
            prompt_names: HashMap::new(),
            resource_names: HashMap::new(),
        };

        // `operations`, grouped per file in the order files first appear (§15.3)
        let mut groups: Vec<(&str, Vec<&options::OperationRef>)> = Vec::new();
        for entry in &opts.operations {
            match groups.iter_mut().find(|(f, _)| *f == entry.file.value) {
                Some((_, list)) => list.push(entry),
                None => groups.push((&entry.file.value, vec![entry])),
            }
        }
        for (_, entries) in groups {
            for entry in entries {
                let Some(file) = self.route_file(&entry.file.value, entry.file.span, findings)
                else {
                    continue;
                };
                if let Some(t) = self.find_operation(
                    file,
                    &entry.file.value,
                    &entry.id.value,
                    entry.id.span,
                    findings,
                ) {
                    self.register_op(&mut b, t, Mode::Operations, findings);
                }
            }
        }
        for (list, legacy) in [
            (&opts.files, Legacy::Files),
            (&opts.prompts, Legacy::Prompts),
            (&opts.resources, Legacy::Resources),
        ] {
            for entry in list {
                let Some(file) = self.route_file(&entry.path.value, entry.path.span, findings)
                else {
                    continue;
                };
                for id in &entry.operation_ids {
                    if let Some(t) =
                        self.find_operation(file, &entry.path.value, &id.value, id.span, findings)
                    {
                        self.register_op(&mut b, t, Mode::Legacy(legacy), findings);
                    }
                }
            }
        }
        for file_path in &opts.openapi_file_paths {
            let Some(file) = self.route_file(&file_path.value, file_path.span, findings) else {
                continue;
            };
            for (t, r) in self.project.routes.iter().enumerate() {
                if r.file != file || r.route_ext.is_none() {
                    continue;
                }
                if matches!(self.handlers.get(t), Some(Some(HandlerConfig::McpProxy(_))))
                    || r.handler
                        .as_ref()
                        .is_some_and(|h| h.export() == "McpProxyHandler")
                {
                    continue;
                }
                if r.methods.iter().all(|m| m == "options" || m == "head") {
                    continue;
                }
                self.register_op(&mut b, t, Mode::FilePaths, findings);
            }
        }
        b.server
    }

    /// The route file an option names, exactly as the build records it (rule 80).
    fn route_file(&self, written: &str, span: Span, findings: &mut Findings) -> Option<FileId> {
        let project = self.project;
        let known: Vec<String> = project
            .route_files
            .iter()
            .map(|id| project.route_file_path(*id))
            .collect();
        let found = project
            .route_files
            .iter()
            .zip(&known)
            .find(|(_, p)| p.as_str() == written)
            .map(|(id, _)| *id);
        let Some(file) = found else {
            let normalised = written.trim_start_matches("./").trim_start_matches('/');
            let near = known
                .iter()
                .find(|k| k.trim_start_matches("./") == normalised);
            let help = match near {
                Some(k) => {
                    format!("write {k:?} exactly: Zuplo compares the path character for character")
                }
                None if known.is_empty() => {
                    "the project has no route files (config/*.oas.json)".to_string()
                }
                None => format!(
                    "use one of the route files as ./config/<name>.oas.json: {}",
                    known.join(", ")
                ),
            };
            findings.push_with_help(
                &rules::MCP_SERVER_OPERATION_REF,
                span,
                format!("MCP Tool configuration error: No routes found for file path {written}"),
                help,
            );
            return None;
        };
        let has_routes = project
            .routes
            .iter()
            .any(|r| r.file == file && r.route_ext.is_some());
        if !has_routes {
            findings.push_with_help(
                &rules::MCP_SERVER_OPERATION_REF,
                span,
                format!(
                    "MCP Tool configuration error: No routes found for file path {written}: the file has no operation with x-zuplo-route"
                ),
                "reference a route file whose operations have x-zuplo-route",
            );
            return None;
        }
        Some(file)
    }

    /// The route with operationId `id` in `file` (rule 80).
    fn find_operation(
        &self,
        file: FileId,
        written: &str,
        id: &str,
        span: Span,
        findings: &mut Findings,
    ) -> Option<usize> {
        let in_file = || {
            self.project
                .routes
                .iter()
                .enumerate()
                .filter(move |(_, r)| r.file == file && r.route_ext.is_some())
        };
        if let Some((t, _)) = in_file().find(|(_, r)| r.operation_id() == id) {
            return Some(t);
        }
        // the hint leaves out MCP servers: they are never tools
        let ids: Vec<&str> = in_file()
            .filter(|(t, _)| !matches!(self.handlers.get(*t), Some(Some(HandlerConfig::McpServer))))
            .map(|(_, r)| r.operation_id())
            .filter(|i| !i.is_empty())
            .collect();
        let help = if ids.is_empty() {
            format!("give the operation an operationId in {written}")
        } else {
            format!("operationIds in {written}: {}", ids.join(", "))
        };
        findings.push_with_help(
            &rules::MCP_SERVER_OPERATION_REF,
            span,
            format!(
                "MCP configuration error: Could not find operation with ID \"{id}\" in file {written}"
            ),
            help,
        );
        None
    }

    fn register_op(&self, b: &mut Builder, t: usize, mode: Mode, findings: &mut Findings) {
        let project = self.project;
        let route = &project.routes[t];
        // an MCP server is never a tool of another (nor of itself)
        if matches!(self.handlers.get(t), Some(Some(HandlerConfig::McpServer))) {
            return;
        }
        let Some(operation) = project.operation_node(route) else {
            return;
        };
        let Some(doc) = project.route_doc(route.file) else {
            return;
        };
        let mcp = match (mode, self.blocks.get(t)) {
            (Mode::Legacy(legacy), _) => route_mcp::read_legacy(Some(operation), legacy),
            (_, Some(Block::Invalid)) => return,
            (_, Some(Block::Present(m))) => (**m).clone(),
            (Mode::Operations, _) => {
                let id = route.operation_id();
                let span = route.operation_id.as_ref().map_or(route.span(), |s| s.span);
                // a note, not an error: the docs make such an operation a tool; what is worth
                // knowing is the fallback name and the warning the deployed runtime logs
                findings.items.push(Diagnostic {
                    rule: &rules::MCP_ROUTE_BLOCK,
                    severity: Severity::Note,
                    span,
                    message: format!(
                        "Could not find \"x-zuplo-route.mcp\" configuration for operation: \"{id}\". Creating tool with fallback name and description (Zuplo 7.6.4 logs this warning at every cold start)"
                    ),
                    help: Some(
                        "add \"mcp\": {\"type\": \"tool\", \"description\": \"…\"} to x-zuplo-route"
                            .to_string(),
                    ),
                });
                RouteMcp::default_tool()
            }
            (Mode::FilePaths, _) => RouteMcp::default_tool(),
        };
        if !mcp.enabled {
            return;
        }
        // openApiFilePaths leaves out HEAD and OPTIONS of a route that has other methods too
        let methods: Vec<String> = match mode {
            Mode::FilePaths => route
                .methods
                .iter()
                .filter(|m| *m != "options" && *m != "head")
                .cloned()
                .collect(),
            _ => route.methods.clone(),
        };
        let fallback_name = match route.operation_id() {
            "" => generated_name(
                methods.first().map_or("", String::as_str),
                &route.path.value,
            ),
            id => id.to_string(),
        };
        let mut r = Resolver::new(doc);
        let op = Op {
            index: t,
            route,
            operation,
            path_item: project.path_item_node(route),
            label: format!(
                "operation \"{}\" of {}",
                fallback_name,
                project.route_file_path(route.file)
            ),
            methods,
            fallback_name,
            mcp,
        };
        match op.mcp.kind {
            Kind::Tool => tool(b, &op, &mut r, findings),
            Kind::Prompt => prompt(b, &op, &mut r, findings),
            Kind::Resource => resource(b, &op, findings),
            Kind::Graphql => graphql(b, &op, findings),
        }
        for (span, pointer) in r.dangling {
            findings.push_as(
                &rules::ROUTE_FILE_INVALID,
                Severity::Warning,
                span,
                format!(
                    "$ref {pointer:?} points at nothing in {}: the generated schema accepts any value here",
                    project.route_file_path(route.file)
                ),
            );
        }
    }
}

/// One referenced operation, with what registration needs of it.
struct Op<'p> {
    index: usize,
    route: &'p Route,
    operation: &'p Node,
    path_item: Option<&'p Node>,
    /// `operation "<id>" of ./config/<file>`, for messages.
    label: String,
    /// The methods the operation is called with.
    methods: Vec<String>,
    /// operationId, else `METHOD_ROUTE` (openApiFilePaths).
    fallback_name: String,
    mcp: RouteMcp,
}

impl Op<'_> {
    fn name(&self) -> String {
        self.mcp
            .name
            .as_ref()
            .map_or_else(|| self.fallback_name.clone(), |n| n.value.clone())
    }

    /// Where to blame a name: the `mcp.name` value, else the operationId, else the method key.
    fn name_span(&self) -> Span {
        self.mcp.name.as_ref().map_or_else(
            || {
                self.route
                    .operation_id
                    .as_ref()
                    .map_or(self.route.span(), |s| s.span)
            },
            |n| n.span,
        )
    }

    /// `mcp.description` → operation `description` → `summary` → `generated`, trimmed, empty
    /// counting as absent (§15.4).
    fn description(&self, generated: String) -> String {
        let own = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string)
        };
        self.mcp
            .description
            .clone()
            .or_else(|| own(&self.route.description))
            .or_else(|| own(&self.route.summary))
            .unwrap_or(generated)
    }

    fn target(&self, method: &str) -> Target {
        Target {
            route: self.index,
            method: method.to_ascii_uppercase(),
            path: self.route.path.value.clone(),
            operation_id: self.route.operation_id().to_string(),
        }
    }

    /// The one method of a tool or resource route (rule 81), or `None` with the finding.
    fn one_method(&self, what: &str, name: &str, findings: &mut Findings) -> Option<String> {
        match self.methods.as_slice() {
            [one] => Some(one.clone()),
            [] => {
                findings.push(
                    &rules::MCP_SERVER_TARGET_METHOD,
                    self.route.method_key.span,
                    format!(
                        "MCP {what} configuration error: route {} has no HTTP method for {what} \"{name}\"",
                        self.route.path.value
                    ),
                );
                None
            }
            several => {
                findings.push(
                    &rules::MCP_SERVER_TARGET_METHOD,
                    self.route.method_key.span,
                    format!(
                        "MCP {what} configuration error: multiple methods ({}) on route {} are not permitted for {what} \"{name}\": a {what} calls exactly one method",
                        several.join(","),
                        self.route.path.value
                    ),
                );
                None
            }
        }
    }
}

/// Takes `name` in one kind's namespace; a duplicate is rule 82 at the name's spot.
fn claim(
    names: &mut HashMap<String, String>,
    kind: &str,
    name: &str,
    span: Span,
    op: &Op<'_>,
    server_path: &str,
    findings: &mut Findings,
) -> bool {
    if let Some(first) = names.get(name) {
        findings.push_with_help(
            &rules::MCP_SERVER_DUPLICATE_NAME,
            span,
            format!(
                "MCP server {server_path}: duplicate {kind} name \"{name}\" ({} and {first})",
                op.label
            ),
            format!("give one of the two a distinct x-zuplo-route.mcp.name: {kind} names are unique per server"),
        );
        return false;
    }
    names.insert(name.to_string(), op.label.clone());
    true
}

/// `<name>_<content type with every non-word character replaced by _>` (§15.5).
fn content_type_suffix(content_type: &str) -> String {
    content_type
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The tool name `openApiFilePaths` gives an operation without operationId (D20): the method in
/// upper case, then each path segment with `{}` dropped and every other non-word character as
/// `_`, joined by `_`: `GET /todos` → `GET_todos`, `GET /todos/{id}` → `GET_todos_id`,
/// `DELETE /v1/todo-items/{item-id}` → `DELETE_v1_todo_items_item_id`, `GET /` → `GET`.
pub fn generated_name(method: &str, path: &str) -> String {
    let mut name = method.to_ascii_uppercase();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        name.push('_');
        name.extend(segment.chars().filter(|c| *c != '{' && *c != '}').map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        }));
    }
    name
}

fn tool(b: &mut Builder, op: &Op<'_>, r: &mut Resolver<'_>, findings: &mut Findings) {
    let base = op.name();
    let Some(method) = op.one_method("tool", &base, findings) else {
        return;
    };
    // 87
    if let Some(params) = op.path_item.and_then(|p| p.member("parameters")) {
        findings.push_with_help(
            &rules::MCP_SERVER_PATH_ITEM_PARAMETERS,
            params.key_span,
            format!(
                "path {} declares parameters for all its operations: mcpgw gives tool \"{base}\" these arguments, Zuplo 7.6.4 ignores them (the deployed tool lacks them)",
                op.route.path.value
            ),
            "move the parameters into each operation's own parameters",
        );
    }
    let description = op.description(format!("Executes tool: {base}"));
    let options: &ServerOptions = &b.server.options;
    let include_output = op
        .mcp
        .include_output_schema
        .unwrap_or(options.include_output_schema);
    let structured = include_output
        || op
            .mcp
            .include_structured_content
            .unwrap_or(options.include_structured_content);
    let style = options.tool_input_style;

    let mut path = Vec::new();
    let mut query = Vec::new();
    let mut headers = Vec::new();
    for (place, p) in schema::parameters(r, op.path_item, op.operation) {
        match place {
            ParamIn::Path => path.push(p),
            ParamIn::Query => query.push(p),
            ParamIn::Header => headers.push(p),
        }
    }
    let declares_body = op.operation.get("requestBody").is_some();
    let bodies = schema::body_content_types(r, op.operation);
    let output_schema = if include_output {
        schema::output_schema(r, op.operation)
    } else {
        None
    };
    let variants: Vec<(Option<String>, Option<Value>)> = if bodies.is_empty() {
        vec![(None, None)]
    } else {
        bodies
            .into_iter()
            .map(|(ct, s)| (Some(ct), Some(s)))
            .collect()
    };
    let several = variants.len() > 1;
    for (content_type, body) in variants {
        let name = match (&content_type, several) {
            (Some(ct), true) => format!("{base}_{}", content_type_suffix(ct)),
            _ => base.clone(),
        };
        let mut channels = Channels {
            path: path.clone(),
            query: query.clone(),
            headers: headers.clone(),
            body,
            declares_body,
            flat: false,
        };
        let input_schema = match style {
            InputStyle::Flat => match schema::flat_input(&channels) {
                Some(s) => {
                    channels.flat = true;
                    s
                }
                // two channels share a member name: 7.6.4 leaves the tool nested
                None => schema::nested_input(&channels),
            },
            InputStyle::Nested => schema::nested_input(&channels),
        };
        if !claim(
            &mut b.tool_names,
            "tool",
            &name,
            op.name_span(),
            op,
            &b.path,
            findings,
        ) {
            continue;
        }
        b.server.tools.push(Tool {
            name,
            description: description.clone(),
            target: op.target(&method),
            kind: ToolKind::Operation {
                content_type,
                channels,
            },
            input_schema,
            output_schema: output_schema.clone(),
            include_structured_content: structured,
            annotations: op.mcp.annotations.clone(),
            meta: op.mcp.meta.clone(),
        });
    }
}

fn prompt(b: &mut Builder, op: &Op<'_>, r: &mut Resolver<'_>, findings: &mut Findings) {
    let name = op.name();
    let description = op.description(format!(
        "Generate content for operation for {}",
        op.route.path.value
    ));
    let body_node = schema::json_body_schema(r, op.operation);
    let body_schema = body_node.map(|n| r.json(n));
    let arguments: Vec<PromptArgument> = body_schema
        .as_ref()
        .map(schema::prompt_arguments)
        .unwrap_or_default()
        .into_iter()
        .map(|(arg, description, required)| PromptArgument {
            description: description.unwrap_or_else(|| format!("Prompt for {arg}")),
            name: arg,
            required,
        })
        .collect();
    // 88
    if let (Some(node), Some(props)) = (
        body_node,
        body_schema
            .as_ref()
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object),
    ) {
        for (arg, schema) in props {
            let Some(kind) = schema.get("type") else {
                continue;
            };
            if kind == "string" {
                continue;
            }
            let span = r
                .follow(node)
                .get("properties")
                .map(|p| r.follow(p))
                .and_then(|p| p.member(arg))
                .map_or(node.span, |m| m.key_span);
            findings.push(
                &rules::MCP_PROMPT_NON_STRING_ARGUMENT,
                span,
                format!(
                    "prompt \"{name}\": argument \"{arg}\" has type {kind}, but MCP prompt arguments are strings, so prompts/get always fails its validation"
                ),
            );
        }
    }
    if !claim(
        &mut b.prompt_names,
        "prompt",
        &name,
        op.name_span(),
        op,
        &b.path,
        findings,
    ) {
        return;
    }
    b.server.prompts.push(Prompt {
        name,
        description,
        target: op.target("POST"),
        arguments,
        body_schema,
    });
}

fn resource(b: &mut Builder, op: &Op<'_>, findings: &mut Findings) {
    let name = op.name();
    let Some(method) = op.one_method("resource", &name, findings) else {
        return;
    };
    if method != "get" {
        findings.push(
            &rules::MCP_SERVER_TARGET_METHOD,
            op.route.method_key.span,
            format!(
                "MCP resource configuration error: resource \"{name}\" is read with GET, but route {} uses {}",
                op.route.path.value,
                method.to_ascii_uppercase()
            ),
        );
        return;
    }
    let description = op.description(format!("Resource for {name}"));
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    let uri = nonempty(&op.mcp.uri).unwrap_or_else(|| {
        format!(
            "mcp://resources/{}",
            utf8_percent_encode(&name, URI_COMPONENT)
        )
    });
    let mime_type = nonempty(&op.mcp.mime_type).unwrap_or_else(|| "text/plain".to_string());
    if !claim(
        &mut b.resource_names,
        "resource",
        &name,
        op.name_span(),
        op,
        &b.path,
        findings,
    ) {
        return;
    }
    b.server.resources.push(Resource {
        name,
        description,
        uri,
        mime_type,
        target: op.target("GET"),
        meta: op.mcp.meta.clone(),
    });
}

fn graphql(b: &mut Builder, op: &Op<'_>, findings: &mut Findings) {
    let id = &op.fallback_name;
    let introspect = &op.mcp.introspection_tool;
    let execute = &op.mcp.execute_tool;
    let name_of = |t: &route_mcp::NamedTool, default: String| match &t.name {
        Some(n) => (n.value.clone(), n.span),
        None => (default, op.name_span()),
    };
    let tools = [
        (
            name_of(introspect, format!("{id}_introspect")),
            introspect
                .description
                .clone()
                .unwrap_or_else(|| format!("Get the GraphQL schema for {id}")),
            ToolKind::GraphqlIntrospect,
            schema::empty_input(),
        ),
        (
            name_of(execute, format!("{id}_execute_query")),
            execute
                .description
                .clone()
                .unwrap_or_else(|| format!("Execute a GraphQL query on {id}")),
            ToolKind::GraphqlExecute,
            json!({
                "type": "object",
                "properties": {"query": {"type": "string"}, "variables": {"type": "object"}},
                "required": ["query"],
                "additionalProperties": false,
            }),
        ),
    ];
    for ((name, span), description, kind, input_schema) in tools {
        if !claim(
            &mut b.tool_names,
            "tool",
            &name,
            span,
            op,
            &b.path,
            findings,
        ) {
            continue;
        }
        b.server.tools.push(Tool {
            name,
            description,
            // both tools POST a JSON body to the route (§15.10)
            target: op.target("POST"),
            kind,
            input_schema,
            output_schema: None,
            // a JSON object answer always becomes structuredContent (§15.10)
            include_structured_content: true,
            annotations: None,
            meta: None,
        });
    }
}
