//! The resource-server side of the protected mock: Protected Resource Metadata (RFC 9728) at
//! the locations `--prm-at` names, and the bearer check in front of `/mcp`: no or bad token →
//! 401 with a `Bearer` challenge shaped by the switches; a token without the required scope,
//! or without a `--tool-scope` scope for the tool being called → 403 `insufficient_scope`
//! naming the wider scope to ask for (what the gateway's step-up, SPEC D18, reacts to).

use super::state::TokenGrant;
use super::{Mock, split_scope};
use crate::clock::now_unix;
use crate::crypto::hash_token;
use crate::mock::MAX_BODY_BYTES;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

pub fn prm_routes(mock: Mock) -> Router {
    let mut r = Router::new();
    for path in mock.opts.prm_at.paths() {
        r = r.route(path, get(prm));
    }
    r.with_state(mock)
}

async fn prm(State(m): State<Mock>) -> Response {
    let resource = m.opts.prm_resource.as_ref().unwrap_or(&m.urls.resource);
    axum::Json(json!({
        "resource": resource,
        "authorization_servers": [m.urls.issuer],
        "scopes_supported": m.opts.scopes_supported(),
        "bearer_methods_supported": ["header"],
        "resource_name": "mcpgw mock upstream",
    }))
    .into_response()
}

/// Escapes a value for a quoted-string auth parameter.
fn quoted(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The `WWW-Authenticate` value: `Bearer` with an optional error, `resource_metadata` (unless
/// switched off or PRM is not served) and an optional scope.
fn challenge(m: &Mock, error: Option<(&str, &str)>, scope: Option<&str>) -> HeaderValue {
    let mut params = Vec::new();
    if let Some((error, description)) = error {
        params.push(format!("error=\"{}\"", quoted(error)));
        params.push(format!("error_description=\"{}\"", quoted(description)));
    }
    if m.opts.resource_metadata_in_challenge
        && let Some(prm) = &m.urls.prm
    {
        params.push(format!("resource_metadata=\"{}\"", quoted(prm)));
    }
    if let Some(scope) = scope {
        params.push(format!("scope=\"{}\"", quoted(scope)));
    }
    let value = if params.is_empty() {
        "Bearer".to_string()
    } else {
        format!("Bearer {}", params.join(", "))
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// 401: no token (no error code, RFC 6750 §3.1) or an unusable one (`invalid_token`).
fn unauthorized(m: &Mock, error: Option<&str>) -> Response {
    m.state().stats.unauthorized += 1;
    let scope = m.opts.challenge_scope.then(|| m.opts.scope.clone());
    let value = challenge(m, error.map(|d| ("invalid_token", d)), scope.as_deref());
    let body = json!({
        "error": if error.is_some() { "invalid_token" } else { "unauthorized" },
        "error_description": error.unwrap_or("Authorization required: send a Bearer token."),
    });
    let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    resp
}

/// 403 `insufficient_scope`, naming the scope a new token must carry: what the token has plus
/// what is missing (only what is missing with `--challenge-missing-scope-only`).
fn insufficient(m: &Mock, have: &[String], missing: &[String]) -> Response {
    m.state().stats.insufficient_scope += 1;
    let mut wider: Vec<String> = if m.opts.challenge_missing_scope_only {
        Vec::new()
    } else {
        have.to_vec()
    };
    wider.extend(missing.iter().filter(|s| !have.contains(s)).cloned());
    let wider = wider.join(" ");
    let value = challenge(
        m,
        Some((
            "insufficient_scope",
            "The token lacks a scope this request needs.",
        )),
        Some(&wider),
    );
    let body = json!({"error": "insufficient_scope", "scope": wider});
    let mut resp = (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    resp
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

/// The middleware in front of `/mcp`.
pub async fn require_token(State(m): State<Mock>, req: Request, next: Next) -> Response {
    m.state().stats.mcp_requests += 1;
    let Some(token) = bearer(req.headers()) else {
        return unauthorized(&m, None);
    };
    let grant: Option<TokenGrant> = m.state().access.get(&hash_token(token)).cloned();
    let Some(grant) = grant else {
        return unauthorized(&m, Some("The access token is unknown or revoked."));
    };
    if grant.expires_at <= now_unix() {
        return unauthorized(&m, Some("The access token has expired."));
    }
    let missing: Vec<String> = m
        .opts
        .required_scopes()
        .into_iter()
        .filter(|s| !grant.scope.contains(s))
        .collect();
    if !missing.is_empty() {
        return insufficient(&m, &grant.scope, &missing);
    }
    if m.opts.tool_scopes.is_empty() || req.method() != Method::POST {
        return next.run(req).await;
    }
    // Per-tool scopes need the body: read it (within the mock's limit) and hand it on.
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body larger than {MAX_BODY_BYTES} bytes\n"),
        )
            .into_response();
    };
    let missing = tool_scopes_missing(&m, &bytes, &grant.scope);
    if !missing.is_empty() {
        return insufficient(&m, &grant.scope, &missing);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The `--tool-scope` scopes that the `tools/call` requests of `body` need and `have` lacks.
fn tool_scopes_missing(m: &Mock, body: &[u8], have: &[String]) -> Vec<String> {
    let messages = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items,
        Ok(one) => vec![one],
        // Not JSON: the MCP endpoint answers the parse error itself.
        Err(_) => return Vec::new(),
    };
    let mut missing = Vec::new();
    for msg in &messages {
        if msg.get("method").and_then(Value::as_str) != Some("tools/call") {
            continue;
        }
        let Some(name) = msg.pointer("/params/name").and_then(Value::as_str) else {
            continue;
        };
        for (tool, scope) in &m.opts.tool_scopes {
            if tool != name {
                continue;
            }
            for s in split_scope(scope) {
                if !have.contains(&s) && !missing.contains(&s) {
                    missing.push(s);
                }
            }
        }
    }
    missing
}
