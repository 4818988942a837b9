//! Registration and tool generation over whole projects written to a temporary folder.

use super::*;
use crate::config::policies::handlers::{self, HandlerConfig};
use crate::config::project::{self, Project};
use crate::diag::diagnostic::{Findings, Severity};
use serde_json::{Value, json};

/// A project whose `config/routes.oas.json` has `paths` (and `components`), plus extra route
/// files `(name, document)`.
fn build_with(
    paths: Value,
    components: Value,
    extra: &[(&str, Value)],
) -> (Project, Model, Findings) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("config")).unwrap();
    std::fs::write(
        root.join("zuplo.jsonc"),
        r#"{"version": 1, "compatibilityDate": "2026-03-01"}"#,
    )
    .unwrap();
    std::fs::write(root.join("config/policies.json"), r#"{"policies": []}"#).unwrap();
    let doc = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths, "components": components});
    std::fs::write(
        root.join("config/routes.oas.json"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    for (name, doc) in extra {
        std::fs::write(
            root.join("config").join(name),
            serde_json::to_string_pretty(doc).unwrap(),
        )
        .unwrap();
    }
    let mut findings = Findings::default();
    let project = project::load(root, false, &mut findings).unwrap();
    // what `Model::build` does for handlers (config::model imports this module)
    let handlers: Vec<Option<HandlerConfig>> = project
        .routes
        .iter()
        .map(|r| {
            r.handler
                .as_ref()
                .map(|h| handlers::parse(&r.path.value, h, &project.env, &mut findings))
        })
        .collect();
    let mcp_servers = register(&project, &handlers, &mut findings);
    (project, Model { mcp_servers }, findings)
}

/// The part of `config::model::Model` these tests read.
struct Model {
    mcp_servers: Vec<McpServer>,
}

fn build(paths: Value) -> (Project, Model, Findings) {
    build_with(paths, json!({}), &[])
}

const FWD: &str = "urlForwardHandler";

fn x_route(mcp: Option<Value>) -> Value {
    let mut x = json!({"handler": {"export": FWD, "module": "$import(@zuplo/runtime)", "options": {"baseUrl": "https://api.example.com"}}});
    if let Some(m) = mcp {
        x["mcp"] = m;
    }
    x
}

/// `paths["/mcp"]` with an mcpServerHandler whose options are `options`.
fn server(options: Value) -> Value {
    json!({"post": {"operationId": "mcp", "x-zuplo-route": {"handler": {
        "export": "mcpServerHandler", "module": "$import(@zuplo/runtime)", "options": options}}}})
}

fn ops(ids: &[&str]) -> Value {
    json!({"operations": ids.iter().map(|id| json!({"file": "./config/routes.oas.json", "id": id})).collect::<Vec<_>>()})
}

fn codes(findings: &Findings) -> Vec<&'static str> {
    findings.items.iter().map(|d| d.rule.code).collect()
}

fn only_server(model: &Model) -> &McpServer {
    assert_eq!(model.mcp_servers.len(), 1);
    &model.mcp_servers[0]
}

fn tool<'m>(model: &'m Model, name: &str) -> &'m Tool {
    only_server(model)
        .tools
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no tool {name}"))
}

#[test]
fn nested_channels_are_closed_and_all_required_cookies_dropped() {
    let (_, model, findings) = build(json!({
        "/mcp": server(ops(&["update"])),
        "/items/{id}": {"put": {
            "operationId": "update",
            "parameters": [
                {"name": "id", "in": "path", "required": true},
                {"name": "dryRun", "in": "query", "schema": {"type": "boolean"}},
                {"name": "X-Trace", "in": "header", "description": "  trace id  ", "example": "t-1"},
                {"name": "sid", "in": "cookie", "required": true}
            ],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "x-zuplo-route": x_route(Some(json!({"type": "tool"})))
        }}
    }));
    assert!(findings.is_empty(), "{:?}", codes(&findings));
    let t = tool(&model, "update");
    assert_eq!(
        t.input_schema,
        json!({
            "type": "object",
            "properties": {
                "pathParams": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": false},
                "queryParams": {"type": "object", "properties": {"dryRun": {"type": "boolean"}}, "required": [], "additionalProperties": false},
                "headers": {"type": "object", "properties": {"X-Trace": {"type": "string", "description": "trace id", "examples": ["t-1"]}}, "required": [], "additionalProperties": false},
                "body": {"type": "object"}
            },
            "required": ["pathParams", "queryParams", "headers", "body"],
            "additionalProperties": false
        })
    );
    assert_eq!(t.target.method, "PUT");
    assert_eq!(t.target.path, "/items/{id}");
    let ToolKind::Operation {
        content_type,
        channels,
    } = &t.kind
    else {
        panic!("operation tool expected")
    };
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert!(channels.declares_body && !channels.flat);
    assert_eq!(channels.headers[0].name, "X-Trace");
    assert!(channels.path[0].required && !channels.query[0].required);
    assert_eq!(t.description, "Executes tool: update");
}

#[test]
fn an_operation_without_inputs_advertises_the_empty_closed_object() {
    let (_, model, _) = build(json!({
        "/mcp": server(ops(&["ping"])),
        "/ping": {"get": {"operationId": "ping", "x-zuplo-route": x_route(Some(json!({"type": "tool"})))}}
    }));
    assert_eq!(
        tool(&model, "ping").input_schema,
        json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
    );
}

fn flat_project(body: Value, extra_param: Option<Value>) -> (Project, Model, Findings) {
    let mut params = vec![
        json!({"name": "id", "in": "path", "required": true}),
        json!({"name": "verbose", "in": "query", "schema": {"type": "boolean"}}),
        json!({"name": "x-key", "in": "header", "required": true}),
    ];
    params.extend(extra_param);
    let mut options = ops(&["put"]);
    options["toolInputStyle"] = json!("flat");
    build(json!({
        "/mcp": server(options),
        "/things/{id}": {"put": {
            "operationId": "put",
            "parameters": params,
            "requestBody": {"content": {"application/json": {"schema": body}}},
            "x-zuplo-route": x_route(Some(json!({"type": "tool"})))
        }}
    }))
}

#[test]
fn flat_style_hoists_path_query_body_headers_in_order() {
    let (_, model, findings) = flat_project(
        json!({"type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}, "required": ["name"], "additionalProperties": false}),
        None,
    );
    assert!(findings.is_empty(), "{:?}", codes(&findings));
    let t = tool(&model, "put");
    assert_eq!(
        t.input_schema,
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"}, "verbose": {"type": "boolean"},
                "name": {"type": "string"}, "size": {"type": "integer"},
                "x-key": {"type": "string"}
            },
            "required": ["id", "name", "x-key"],
            "additionalProperties": false
        })
    );
    // the key order is the hoisting order
    let keys: Vec<&String> = t.input_schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["id", "verbose", "name", "size", "x-key"]);
    let ToolKind::Operation { channels, .. } = &t.kind else {
        panic!()
    };
    assert!(channels.flat);
}

#[test]
fn flat_style_open_body_leaves_undeclared_arguments_open() {
    let (_, model, _) = flat_project(
        json!({"type": "object", "properties": {"name": {"type": "string"}}}),
        None,
    );
    let schema = &tool(&model, "put").input_schema;
    assert!(schema.get("additionalProperties").is_none(), "{schema}");
}

#[test]
fn flat_style_stays_nested_when_names_clash() {
    let (_, model, _) = flat_project(
        json!({"type": "object", "properties": {"verbose": {"type": "string"}}}),
        None,
    );
    let t = tool(&model, "put");
    assert!(t.input_schema["properties"].get("pathParams").is_some());
    let ToolKind::Operation { channels, .. } = &t.kind else {
        panic!()
    };
    assert!(!channels.flat);
}

#[test]
fn flat_style_keeps_a_non_plain_body_as_one_argument() {
    let (_, model, _) = flat_project(
        json!({"oneOf": [{"type": "string"}, {"type": "object"}]}),
        None,
    );
    let schema = &tool(&model, "put").input_schema;
    assert_eq!(
        schema["properties"]["body"],
        json!({"oneOf": [{"type": "string"}, {"type": "object"}]})
    );
    assert_eq!(schema["required"], json!(["id", "body", "x-key"]));
    assert_eq!(schema["additionalProperties"], json!(false));
}

#[test]
fn one_tool_per_request_body_content_type() {
    let (_, model, _) = build(json!({
        "/mcp": server(ops(&["create"])),
        "/items": {"post": {
            "operationId": "create",
            "requestBody": {"content": {
                "application/json": {"schema": {"type": "object"}},
                "application/vnd.api+json": {"schema": {"type": "object"}},
                "text/plain": {}
            }},
            "x-zuplo-route": x_route(Some(json!({"type": "tool", "name": "make"})))
        }}
    }));
    let names: Vec<&str> = only_server(&model)
        .tools
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "make_application_json",
            "make_application_vnd_api_json",
            "make_text_plain"
        ]
    );
    // a media type without a schema accepts any body
    assert_eq!(
        tool(&model, "make_text_plain").input_schema["properties"]["body"],
        json!({})
    );
}

#[test]
fn local_refs_are_resolved_in_parameters_bodies_and_responses() {
    let (_, model, findings) = build_with(
        json!({
            "/mcp": server(json!({"includeOutputSchema": true, "operations": [{"file": "./config/routes.oas.json", "id": "get"}]})),
            "/items/{id}": {"post": {
                "operationId": "get",
                "parameters": [{"$ref": "#/components/parameters/Id"}],
                "requestBody": {"$ref": "#/components/requestBodies/Item"},
                "responses": {
                    "204": {"description": "nothing"},
                    "201": {"$ref": "#/components/responses/Item"}
                },
                "x-zuplo-route": x_route(Some(json!({"type": "tool"})))
            }}
        }),
        json!({
            "parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/Id"}}},
            "requestBodies": {"Item": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}},
            "responses": {"Item": {"description": "ok", "content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/Item"}}}}},
            "schemas": {
                "Id": {"type": "string", "format": "uuid"},
                "Item": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id", "description": "its id"}}}
            }
        }),
        &[],
    );
    assert!(findings.is_empty(), "{:?}", codes(&findings));
    let t = tool(&model, "get");
    assert_eq!(
        t.input_schema["properties"]["pathParams"]["properties"]["id"],
        json!({"type": "string", "format": "uuid"})
    );
    let item = json!({"type": "object", "properties": {"id": {"type": "string", "format": "uuid", "description": "its id"}}});
    assert_eq!(t.input_schema["properties"]["body"], item);
    assert_eq!(t.output_schema.as_ref(), Some(&item));
    // includeOutputSchema switches structured content on (server-wide and per tool)
    assert!(t.include_structured_content);
    assert!(only_server(&model).options.include_structured_content);
}

#[test]
fn a_cyclic_ref_ends_as_any_value_and_a_dangling_one_is_a_warning() {
    let (_, model, findings) = build_with(
        json!({
            "/mcp": server(ops(&["tree"])),
            "/tree": {"post": {
                "operationId": "tree",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
                "parameters": [{"name": "q", "in": "query", "schema": {"$ref": "#/components/schemas/Missing"}}],
                "x-zuplo-route": x_route(Some(json!({"type": "tool"})))
            }}
        }),
        json!({"schemas": {
            "Node": {"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}},
            "Loop": {"$ref": "#/components/schemas/Loop"}
        }}),
        &[],
    );
    let body = &tool(&model, "tree").input_schema["properties"]["body"];
    assert_eq!(
        body,
        &json!({"type": "object", "properties": {"children": {"type": "array", "items": {}}}})
    );
    assert_eq!(codes(&findings), ["MCP101"]);
    assert_eq!(findings.items[0].severity, Severity::Warning);
    assert!(
        findings.items[0]
            .message
            .contains("#/components/schemas/Missing")
    );
}

#[test]
fn a_self_referencing_ref_does_not_hang() {
    let doc = crate::config::jsonc::parse(
        crate::diag::source::FileId(0),
        r##"{"a": {"$ref": "#/a"}, "b": {"$ref": "#/c"}, "c": {"$ref": "#/b"}}"##,
    )
    .unwrap()
    .unwrap();
    let mut r = schema::Resolver::new(&doc);
    assert_eq!(r.json(doc.get("a").unwrap()), json!({}));
    assert_eq!(r.json(doc.get("b").unwrap()), json!({}));
    // follow stops too
    let _ = r.follow(doc.get("b").unwrap());
}

#[test]
fn path_item_parameters_apply_and_the_operation_wins_with_a_warning() {
    let (project, model, findings) = build(json!({
        "/mcp": server(ops(&["get"])),
        "/items/{id}": {
            "parameters": [
                {"name": "id", "in": "path", "required": true, "description": "path-item id"},
                {"name": "tenant", "in": "header", "required": true}
            ],
            "get": {
                "operationId": "get",
                "parameters": [{"name": "id", "in": "path", "required": true, "description": "operation id"}],
                "x-zuplo-route": x_route(Some(json!({"type": "tool"})))
            }
        }
    }));
    let t = tool(&model, "get");
    assert_eq!(
        t.input_schema["properties"]["pathParams"]["properties"]["id"]["description"],
        "operation id"
    );
    assert_eq!(
        t.input_schema["properties"]["headers"]["required"],
        json!(["tenant"])
    );
    assert_eq!(codes(&findings), ["MCP087"]);
    let (_, line, _) = project.sources.locate(findings.items[0].span);
    let text = project
        .sources
        .get(findings.items[0].span.file)
        .line_text(line);
    assert!(text.contains("\"parameters\""), "{text}");
}

#[test]
fn graphql_tools_default_and_overridden_names() {
    let (_, model, _) = build(json!({
        "/mcp": server(ops(&["graphql", "gh"])),
        "/graphql": {"post": {"operationId": "graphql", "x-zuplo-route": x_route(Some(json!({"type": "graphql", "introspectionTool": {}, "executeTool": {}})))}},
        "/gh": {"post": {"operationId": "gh", "x-zuplo-route": x_route(Some(json!({"type": "graphql",
            "introspectionTool": {"name": "gh_schema", "description": "GitHub schema"},
            "executeTool": {"name": " gh_query "}})))}}
    }));
    let server = only_server(&model);
    let names: Vec<(&str, &str)> = server
        .tools
        .iter()
        .map(|t| (t.name.as_str(), t.description.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("graphql_introspect", "Get the GraphQL schema for graphql"),
            (
                "graphql_execute_query",
                "Execute a GraphQL query on graphql"
            ),
            ("gh_schema", "GitHub schema"),
            ("gh_query", "Execute a GraphQL query on gh"),
        ]
    );
    let execute = tool(&model, "gh_query");
    assert_eq!(execute.kind, ToolKind::GraphqlExecute);
    assert_eq!(execute.input_schema["required"], json!(["query"]));
    assert_eq!(execute.target.method, "POST");
    assert!(execute.include_structured_content);
    assert_eq!(
        tool(&model, "gh_schema").input_schema["properties"],
        json!({})
    );
}

#[test]
fn prompt_arguments_come_from_the_json_body_and_non_strings_warn() {
    let (_, model, findings) = build_with(
        json!({
            "/mcp": server(ops(&["brief"])),
            "/brief": {"get": {
                "operationId": "brief",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Args"}}}},
                "x-zuplo-route": x_route(Some(json!({"type": "prompt"})))
            }}
        }),
        json!({"schemas": {"Args": {"type": "object", "required": ["topic"], "properties": {
            "topic": {"type": "string", "description": " The topic "},
            "words": {"type": "integer"}
        }}}}),
        &[],
    );
    let p = &only_server(&model).prompts[0];
    assert_eq!(p.description, "Generate content for operation for /brief");
    assert_eq!(p.target.method, "POST");
    assert_eq!(
        p.arguments,
        [
            PromptArgument {
                name: "topic".into(),
                description: "The topic".into(),
                required: true
            },
            PromptArgument {
                name: "words".into(),
                description: "Prompt for words".into(),
                required: false
            },
        ]
    );
    assert!(p.body_schema.is_some());
    assert_eq!(codes(&findings), ["MCP088"]);
    assert!(findings.items[0].message.contains("\"words\""));
}

#[test]
fn a_prompt_without_json_body_has_no_arguments() {
    let (_, model, _) = build(json!({
        "/mcp": server(ops(&["hello"])),
        "/hello": {"post": {"operationId": "hello", "summary": " Say hello ", "x-zuplo-route": x_route(Some(json!({"type": "prompt"})))}}
    }));
    let p = &only_server(&model).prompts[0];
    assert!(p.arguments.is_empty() && p.body_schema.is_none());
    assert_eq!(p.description, "Say hello");
}

#[test]
fn resource_defaults() {
    let (_, model, findings) = build(json!({
        "/mcp": server(ops(&["stats"])),
        "/stats": {"get": {"operationId": "stats", "description": "", "x-zuplo-route": x_route(Some(json!({"type": "resource", "name": "todo stats/all", "_meta": {"k": 1}})))}}
    }));
    assert!(findings.is_empty(), "{:?}", codes(&findings));
    let r = &only_server(&model).resources[0];
    assert_eq!(r.uri, "mcp://resources/todo%20stats%2Fall");
    assert_eq!(r.mime_type, "text/plain");
    assert_eq!(r.description, "Resource for todo stats/all");
    assert_eq!(r.target.method, "GET");
    assert_eq!(r.meta, Some(json!({"k": 1})));
}

#[test]
fn generated_names_of_open_api_file_paths() {
    assert_eq!(generated_name("get", "/todos"), "GET_todos");
    assert_eq!(generated_name("get", "/todos/{id}"), "GET_todos_id");
    assert_eq!(
        generated_name("delete", "/v1/todo-items/{item-id}"),
        "DELETE_v1_todo_items_item_id"
    );
    assert_eq!(generated_name("post", "/"), "POST");
    assert_eq!(generated_name("get", "/a.b/ü"), "GET_a_b__");
}

#[test]
fn open_api_file_paths_turn_every_route_into_a_tool() {
    let mut options = json!({"openApiFilePaths": [{"filePath": "./config/routes.oas.json"}]});
    options["debugMode"] = json!(true);
    let (_, model, findings) = build(json!({
        "/mcp": server(options),
        "/todos": {
            "get": {"summary": "All todos", "x-zuplo-route": x_route(None)},
            "options": {"operationId": "preflight", "x-zuplo-route": x_route(None)},
            "post": {"operationId": "createTodo", "x-zuplo-route": x_route(Some(json!({"type": "tool", "enabled": false})))}
        },
        "/todos/{id}": {"get,head": {"x-zuplo-route": x_route(None)}},
        "/proxy": {"post": {"operationId": "proxy", "x-zuplo-route": {"handler": {"export": "McpProxyHandler", "module": "$import(@zuplo/runtime/mcp-gateway)", "options": {"rewritePattern": "https://mcp.example.com/mcp"}}}}}
    }));
    assert_eq!(codes(&findings), ["MCP084"]);
    let server = only_server(&model);
    assert!(server.options.debug_mode);
    let tools: Vec<(&str, &str, &str)> = server
        .tools
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.target.method.as_str(),
                t.description.as_str(),
            )
        })
        .collect();
    assert_eq!(
        tools,
        [
            ("GET_todos", "GET", "All todos"),
            ("GET_todos_id", "GET", "Executes tool: GET_todos_id"),
        ]
    );
}

#[test]
fn legacy_options_read_the_legacy_extensions() {
    let list = |ids: &[&str]| json!([{"path": "./config/routes.oas.json", "operationIds": ids}]);
    let (_, model, findings) = build(json!({
        "/mcp": server(json!({"files": list(&["a", "gql"]), "prompts": list(&["p"]), "resources": list(&["r"])})),
        "/a": {"get": {"operationId": "a", "x-zuplo-mcp-tool": {"name": "tool_a", "description": "A tool"}, "x-zuplo-route": x_route(None)}},
        "/gql": {"post": {"operationId": "gql", "x-zuplo-mcp-graphql": {"introspectionToolName": "schema", "executeToolName": "run"}, "x-zuplo-route": x_route(None)}},
        "/p": {"post": {"operationId": "p", "x-zuplo-mcp-prompt": {"name": "ask"}, "x-zuplo-route": x_route(None)}},
        "/r": {"get": {"operationId": "r", "x-zuplo-mcp-resource": {"uri": "x://r", "mimeType": "text/markdown"}, "x-zuplo-route": x_route(None)}}
    }));
    // one deprecation warning per option; no notes about missing x-zuplo-route.mcp
    assert_eq!(codes(&findings), ["MCP086", "MCP086", "MCP086"]);
    let server = only_server(&model);
    let tools: Vec<&str> = server.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tools, ["tool_a", "schema", "run"]);
    assert_eq!(server.tools[0].description, "A tool");
    assert_eq!(server.prompts[0].name, "ask");
    assert_eq!(
        (
            server.resources[0].uri.as_str(),
            server.resources[0].mime_type.as_str()
        ),
        ("x://r", "text/markdown")
    );
}

#[test]
fn two_servers_share_operations_and_findings_are_said_once() {
    let shared = json!({
        "parameters": [{"name": "id", "in": "path", "required": true}],
        "get": {"operationId": "get", "x-zuplo-route": x_route(Some(json!({"type": "tool"})))}
    });
    let (_, model, findings) = build(json!({
        "/mcp": server(ops(&["get"])),
        "/mcp2": server(ops(&["get", "mcp"])),
        "/items/{id}": shared
    }));
    assert_eq!(model.mcp_servers.len(), 2);
    // the second server lists the MCP routes: skipped without a word
    assert_eq!(model.mcp_servers[1].tools.len(), 1);
    assert_eq!(codes(&findings), ["MCP087"]);
}

#[test]
fn a_route_file_without_routes_and_a_file_that_is_not_one() {
    let other = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {
        "/doc": {"get": {"operationId": "doc"}}
    }});
    let (_, model, findings) = build_with(
        json!({"/mcp": server(json!({"operations": [
            {"file": "./config/other.oas.json", "id": "doc"},
            {"file": "./openapi.json", "id": "x"},
            {"file": "./config/routes.oas.json"},
            "nope"
        ]}))}),
        json!({}),
        &[("other.oas.json", other)],
    );
    // other.oas.json's operation has no x-zuplo-route (MCP107 warns): not a route
    let ours: Vec<&str> = findings
        .items
        .iter()
        .filter(|d| d.rule.code == "MCP080")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(ours.len(), 4, "{ours:#?}");
    for part in [
        "./config/other.oas.json: the file has no operation with x-zuplo-route",
        "No routes found for file path ./openapi.json",
        "`id` is required",
        "must be objects",
    ] {
        assert!(ours.iter().any(|m| m.contains(part)), "{part}: {ours:#?}");
    }
    assert!(only_server(&model).tools.is_empty());
}

#[test]
fn server_options_defaults_and_types() {
    let (_, model, findings) =
        build(json!({"/mcp": server(json!({"toolInputStyle": "wide", "name": 3}))}));
    let s = only_server(&model);
    assert_eq!(s.options, ServerOptions::default());
    assert_eq!(codes(&findings), ["MCP107", "MCP107"]);
    let (_, model, _) = build(
        json!({"/mcp": {"post": {"operationId": "m", "x-zuplo-route": {"handler": {"export": "mcpServerHandler", "module": "$import(@zuplo/runtime)"}}}}}),
    );
    assert_eq!(only_server(&model).options.name, "Zuplo MCP Server");
    assert_eq!(only_server(&model).options.version, "0.0.0");
}

#[test]
fn tool_overrides_of_output_schema_and_structured_content() {
    let responses = json!({"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}});
    let (_, model, _) = build(json!({
        "/mcp": server(json!({"includeOutputSchema": true, "operations": [
            {"file": "./config/routes.oas.json", "id": "off"},
            {"file": "./config/routes.oas.json", "id": "on"}
        ]})),
        "/off": {"get": {"operationId": "off", "responses": responses, "x-zuplo-route": x_route(Some(json!({"type": "tool", "includeOutputSchema": false})))}},
        "/on": {"get": {"operationId": "on", "responses": responses, "x-zuplo-route": x_route(Some(json!({"type": "tool", "includeStructuredContent": false})))}}
    }));
    let off = tool(&model, "off");
    assert!(off.output_schema.is_none());
    // the server's includeStructuredContent was switched on by includeOutputSchema
    assert!(off.include_structured_content);
    let on = tool(&model, "on");
    assert_eq!(on.output_schema, Some(json!({"type": "object"})));
    assert!(on.include_structured_content);
}
