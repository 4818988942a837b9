//! `/api/…`: a small REST API beside the mock's MCP endpoint, for projects whose own routes
//! become MCP tools (`mcpServerHandler`, `mcpgw init --template mcp-server`).
//!
//! Owns: an in-memory to-do list (`GET/POST /api/todos`, `GET /api/todos/{id}`), a prompt
//! endpoint (`POST /api/prompts/summary` → `{messages}`), a text resource (`GET /api/readme`)
//! and `GET /api/request` (what the API received: method, query and the header names, never
//! their values, so that tool calls can be followed without leaking a credential). Errors are
//! JSON problem documents. State lives as long as the mock process; nothing is persisted.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The most to-dos the list keeps: a lab API, not a database.
const MAX_TODOS: usize = 1000;

#[derive(Default)]
struct Todos {
    items: Vec<Value>,
    next_id: u64,
}

type Shared = Arc<Mutex<Todos>>;

/// The `/api` routes, with two to-dos to start from.
pub fn app() -> Router {
    let mut todos = Todos::default();
    for title in ["Try mcpgw dev", "Call a tool"] {
        todos.next_id += 1;
        todos
            .items
            .push(json!({"id": todos.next_id, "title": title, "done": false}));
    }
    Router::new()
        .route("/api/todos", get(list).post(create))
        .route("/api/todos/{id}", get(one))
        .route("/api/prompts/summary", post(summary_prompt))
        .route("/api/readme", get(readme))
        .route("/api/request", get(request).post(request))
        .with_state(Arc::new(Mutex::new(todos)))
}

fn problem(status: StatusCode, detail: &str) -> Response {
    (
        status,
        [("content-type", "application/problem+json")],
        json!({"type": format!("https://httpproblems.com/http-status/{}", status.as_u16()),
               "title": status.canonical_reason().unwrap_or(""), "status": status.as_u16(), "detail": detail})
        .to_string(),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ListQuery {
    done: Option<bool>,
}

async fn list(State(s): State<Shared>, Query(q): Query<ListQuery>) -> Response {
    let Ok(todos) = s.lock() else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "the list is unavailable");
    };
    let items: Vec<&Value> = todos
        .items
        .iter()
        .filter(|t| q.done.is_none_or(|d| t["done"] == d))
        .collect();
    Json(json!({"todos": items})).into_response()
}

async fn create(State(s): State<Shared>, body: axum::body::Bytes) -> Response {
    let title = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("title").and_then(Value::as_str).map(str::to_string))
        .filter(|t| !t.trim().is_empty());
    let Some(title) = title else {
        return problem(
            StatusCode::BAD_REQUEST,
            "the body must be JSON with a non-empty \"title\"",
        );
    };
    let Ok(mut todos) = s.lock() else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "the list is unavailable");
    };
    if todos.items.len() >= MAX_TODOS {
        return problem(StatusCode::INSUFFICIENT_STORAGE, "the list is full");
    }
    todos.next_id += 1;
    let todo = json!({"id": todos.next_id, "title": title, "done": false});
    todos.items.push(todo.clone());
    (StatusCode::CREATED, Json(todo)).into_response()
}

async fn one(State(s): State<Shared>, Path(id): Path<String>) -> Response {
    let Ok(todos) = s.lock() else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "the list is unavailable");
    };
    match todos
        .items
        .iter()
        .find(|t| t["id"].as_u64().map(|n| n.to_string()) == Some(id.clone()))
    {
        Some(t) => Json(t.clone()).into_response(),
        None => problem(StatusCode::NOT_FOUND, &format!("no to-do with id {id}")),
    }
}

async fn summary_prompt(body: axum::body::Bytes) -> Response {
    let args: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let topic = args
        .get("topic")
        .and_then(Value::as_str)
        .unwrap_or("my to-do list");
    Json(
        json!({"messages": [{"role": "user", "content": {"type": "text",
        "text": format!("Summarise {topic} in three short bullet points.")}}]}),
    )
    .into_response()
}

async fn readme() -> Response {
    (
        [("content-type", "text/markdown")],
        "# Lab API\n\nA to-do list served by `mcpgw upstream mock` under /api.\n",
    )
        .into_response()
}

async fn request(
    method: Method,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let names: Vec<String> = headers.keys().map(|k| k.as_str().to_string()).collect();
    Json(json!({"method": method.as_str(), "query": q, "headerNames": names})).into_response()
}
