//! Test hooks of the protected mock, answered only to loopback peers (like the interop
//! Python server's `/__interop/*`):
//! - `GET /__mock/stats`: counters and the last register, authorize and token parameters
//!   (secret values masked), plus the live token counts.
//! - `POST /__mock/expire-access-tokens`: every access token now gets 401 `invalid_token`.
//! - `POST /__mock/revoke-all`: forget every access and refresh token (a refresh then gets
//!   `invalid_grant`).
//! - `POST /__mock/fail-next-token?error=E`: the next token request fails with OAuth error `E`
//!   (`invalid_client` with 401, anything else with 400), whatever it holds.

use super::Mock;
use crate::clock::now_unix;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use std::net::SocketAddr;

pub fn routes(mock: Mock) -> Router {
    Router::new()
        .route("/__mock/stats", get(stats))
        .route("/__mock/expire-access-tokens", post(expire))
        .route("/__mock/revoke-all", post(revoke_all))
        .route("/__mock/fail-next-token", post(fail_next_token))
        .with_state(mock)
}

/// `None` when the peer is loopback; otherwise the 403 to answer. A server started without
/// connection info (an app mounted on someone else's listener) refuses too.
fn refuse_remote(req: &Request) -> Option<Response> {
    let loopback = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(addr)| addr.ip().is_loopback());
    (!loopback).then(|| {
        (
            StatusCode::FORBIDDEN,
            "the /__mock/ test hooks answer loopback clients only\n",
        )
            .into_response()
    })
}

async fn stats(State(m): State<Mock>, req: Request) -> Response {
    if let Some(refused) = refuse_remote(&req) {
        return refused;
    }
    let st = m.state();
    let mut body = serde_json::to_value(&st.stats).unwrap_or_else(|_| json!({}));
    if let Some(map) = body.as_object_mut() {
        map.insert("live_access_tokens".into(), st.access.len().into());
        map.insert("live_refresh_tokens".into(), st.refresh.len().into());
        map.insert("clients".into(), st.clients.len().into());
    }
    axum::Json(body).into_response()
}

async fn expire(State(m): State<Mock>, req: Request) -> Response {
    if let Some(refused) = refuse_remote(&req) {
        return refused;
    }
    let past = now_unix() - 1;
    let mut st = m.state();
    for grant in st.access.values_mut() {
        grant.expires_at = grant.expires_at.min(past);
    }
    axum::Json(json!({"expired": st.access.len()})).into_response()
}

async fn revoke_all(State(m): State<Mock>, req: Request) -> Response {
    if let Some(refused) = refuse_remote(&req) {
        return refused;
    }
    let mut st = m.state();
    let n = st.access.len() + st.refresh.len();
    st.access.clear();
    st.refresh.clear();
    axum::Json(json!({"revoked": n})).into_response()
}

async fn fail_next_token(State(m): State<Mock>, req: Request) -> Response {
    if let Some(refused) = refuse_remote(&req) {
        return refused;
    }
    let error = req
        .uri()
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "error")
                .map(|(_, v)| v.into_owned())
        })
        .filter(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    let Some(error) = error else {
        return (
            StatusCode::BAD_REQUEST,
            "name the OAuth error: /__mock/fail-next-token?error=invalid_client\n",
        )
            .into_response();
    };
    m.state().fail_next_token = Some(error.clone());
    axum::Json(json!({"next_token_request_fails_with": error})).into_response()
}
