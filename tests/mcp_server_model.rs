//! The typed model of `mcpServerHandler` routes (SPEC §15, D20) for a realistic project:
//! `tests/fixtures/mcp_server/todo/` validates clean, and the tools, prompts and resources it
//! registers are what `tests/golden/mcp-server-todo.json` holds, in the shape of the
//! `tools/list`, `prompts/list` and `resources/list` results (set `UPDATE_EXPECT=1` to rewrite
//! the golden after a deliberate change, then review the diff).

use mcpgw::config::mcp_server::{McpServer, ToolKind};
use mcpgw::validate::{self, Options};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mcp_server")
        .join(name)
}

/// The lists a client would see, as 7.6.4 shapes their entries (§15.5, §15.8, §15.9).
fn lists(server: &McpServer) -> Value {
    let tools: Vec<Value> = server
        .tools
        .iter()
        .map(|t| {
            let mut entry = Map::new();
            entry.insert("name".into(), json!(t.name));
            entry.insert("description".into(), json!(t.description));
            entry.insert("inputSchema".into(), t.input_schema.clone());
            if let Some(s) = &t.output_schema {
                entry.insert("outputSchema".into(), s.clone());
            }
            if let Some(a) = &t.annotations {
                entry.insert("annotations".into(), a.clone());
            }
            if let Some(m) = &t.meta {
                entry.insert("_meta".into(), m.clone());
            }
            Value::Object(entry)
        })
        .collect();
    let prompts: Vec<Value> = server
        .prompts
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "description": p.description,
                "arguments": p.arguments.iter().map(|a| json!({
                    "name": a.name, "description": a.description, "required": a.required
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let resources: Vec<Value> = server
        .resources
        .iter()
        .map(|r| {
            let mut entry = json!({
                "name": r.name, "uri": r.uri, "title": r.name,
                "description": r.description, "mimeType": r.mime_type,
            });
            if let (Some(m), Value::Object(map)) = (&r.meta, &mut entry) {
                map.insert("_meta".into(), m.clone());
            }
            entry
        })
        .collect();
    json!({"tools": tools, "prompts": prompts, "resources": resources})
}

/// How each tool reaches its route, for the runtime side (§15.6).
fn targets(server: &McpServer) -> Vec<String> {
    let tools = server.tools.iter().map(|t| {
        let how = match &t.kind {
            ToolKind::Operation {
                content_type,
                channels,
            } => format!(
                "{} flat={} body={}",
                content_type.as_deref().unwrap_or("-"),
                channels.flat,
                channels.declares_body
            ),
            other => format!("{other:?}"),
        };
        format!(
            "tool {} -> {} {} ({how})",
            t.name, t.target.method, t.target.path
        )
    });
    let prompts = server
        .prompts
        .iter()
        .map(|p| format!("prompt {} -> {} {}", p.name, p.target.method, p.target.path));
    let resources = server.resources.iter().map(|r| {
        format!(
            "resource {} -> {} {}",
            r.name, r.target.method, r.target.path
        )
    });
    tools.chain(prompts).chain(resources).collect()
}

#[test]
fn todo_project_registers_the_golden_lists() {
    let report = validate::validate_path(&fixture("todo"), &Options::default()).unwrap();
    let rendered: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.rule.code, d.message))
        .collect();
    assert!(
        rendered.is_empty(),
        "the example must validate clean: {rendered:#?}"
    );
    assert_eq!(report.model.mcp_servers.len(), 1);
    let server = &report.model.mcp_servers[0];
    assert_eq!(report.project.routes[server.route].path.value, "/mcp");
    assert_eq!(server.options.name, "Todo MCP");
    assert_eq!(server.options.version, "1.0.0");

    let actual = serde_json::to_string_pretty(&lists(server)).unwrap() + "\n";
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mcp-server-todo.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&golden, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        expected == actual,
        "tests/golden/mcp-server-todo.json differs (UPDATE_EXPECT=1 to accept):\n{actual}"
    );

    assert_eq!(
        targets(server),
        [
            "tool listTodos -> GET /todos (- flat=false body=false)",
            "tool getTodo -> GET /todos/{id} (- flat=false body=false)",
            "tool createTodo_application_json -> POST /todos (application/json flat=false body=true)",
            "tool createTodo_text_plain -> POST /todos (text/plain flat=false body=true)",
            "tool update_todo -> PATCH /todos/{id} (application/json flat=false body=true)",
            "tool deleteTodo -> DELETE /todos/{id} (- flat=false body=false)",
            "tool graphql_introspect -> POST /graphql (GraphqlIntrospect)",
            "tool graphql_execute_query -> POST /graphql (GraphqlExecute)",
            "prompt summarizeTodos -> POST /prompts/summarize",
            "resource todo stats -> GET /resources/stats",
            "resource readme -> GET /resources/readme",
        ]
    );
}

/// The same lists as the gateway serves them: `tools/list`, `prompts/list` and
/// `resources/list` on the fixture's MCP route answer exactly what the golden holds.
#[tokio::test]
async fn the_served_lists_are_the_golden_lists() {
    use mcpgw::gateway::{self, DevOptions, Served};
    let report = gateway::load(fixture("todo")).await.unwrap();
    assert!(!report.has_errors(), "{:?}", report.diagnostics);
    let state = tempfile::tempdir().unwrap();
    let mut options = DevOptions::new(fixture("todo"));
    options.port = 0;
    options.state_dir = Some(state.path().to_path_buf());
    let gw = gateway::start(Served::new(report), &options).await.unwrap();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mcp-server-todo.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for (method, key) in [
        ("tools/list", "tools"),
        ("prompts/list", "prompts"),
        ("resources/list", "resources"),
    ] {
        let answer: Value = client
            .post(format!("http://{}/mcp", gw.addr))
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["result"][key], golden[key], "{method}: {answer}");
    }
    gw.shutdown.cancel();
}
