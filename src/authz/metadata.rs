//! Well-known documents (SPEC §3.4): Protected Resource Metadata per route (RFC 9728) and
//! Authorization Server metadata, gateway-wide and per route (RFC 8414). CORS `*`, OPTIONS 204.

use super::{AuthzRequest, RouteByPath, SCOPE, route_by_path};
use crate::web::encoding::decode_component;
use crate::web::origin::encode_route;
use crate::web::problem::GatewayError;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn cors(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

fn preflight() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    cors(resp)
}

pub fn handle(ctx: &AuthzRequest<'_>, method: &Method, path: &str) -> Response {
    if method == Method::OPTIONS {
        return preflight();
    }
    if method != Method::GET && method != Method::HEAD {
        let p = GatewayError::WellKnownMethod.at(path, &ctx.request_id);
        return cors(p.into_response());
    }
    let (route_path, prm) =
        if let Some(rest) = path.strip_prefix("/.well-known/oauth-protected-resource/") {
            (Some(format!("/{}", decode_component(rest))), true)
        } else if let Some(rest) = path.strip_prefix("/.well-known/oauth-authorization-server/") {
            (Some(format!("/{}", decode_component(rest))), false)
        } else {
            (None, false)
        };
    let route = match &route_path {
        None => None,
        Some(r) => match route_by_path(ctx.env.report, r) {
            RouteByPath::WithOAuth(i) => Some(i),
            RouteByPath::WithoutOAuth => {
                let p = GatewayError::RouteWithoutOAuth.at(path, &ctx.request_id);
                return cors(p.into_response());
            }
            RouteByPath::Unknown => {
                let p = GatewayError::UnknownMcpRoute(r.clone()).at(path, &ctx.request_id);
                return cors(p.into_response());
            }
        },
    };
    let doc = match route {
        Some(i) if prm => protected_resource(ctx, i),
        Some(i) => authorization_server(ctx, Some(i)),
        None => authorization_server(ctx, None),
    };
    cors(axum::Json(doc).into_response())
}

fn protected_resource(ctx: &AuthzRequest<'_>, route: usize) -> serde_json::Value {
    let resource = ctx.resource_of(route);
    json!({
        "resource": resource,
        "resource_name": ctx.env.report.project.routes[route].path.value,
        "authorization_servers": [resource],
        "bearer_methods_supported": ["header"],
        "scopes_supported": [SCOPE],
    })
}

fn authorization_server(ctx: &AuthzRequest<'_>, route: Option<usize>) -> serde_json::Value {
    let (issuer, authorize) = match route {
        Some(i) => {
            let path = &ctx.env.report.project.routes[i].path.value;
            (
                ctx.resource_of(i),
                ctx.endpoint(&format!("/oauth/authorize/{}", encode_route(path))),
            )
        }
        None => (ctx.origin.clone(), ctx.endpoint("/oauth/authorize")),
    };
    json!({
        "issuer": issuer,
        "authorization_endpoint": authorize,
        "token_endpoint": ctx.endpoint("/oauth/token"),
        "registration_endpoint": ctx.endpoint("/oauth/register"),
        "revocation_endpoint": ctx.endpoint("/oauth/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": [SCOPE],
        "code_challenge_methods_supported": ["S256"],
        // RFC 9207: every authorization response (success or error) carries `iss`
        "authorization_response_iss_parameter_supported": true,
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"],
        "client_id_metadata_document_supported": ctx.oauth.gateway.cimd_enabled,
        "x-zuplo-browser-login-kind": if ctx.dev_login() { "local_dev" } else { "federated_oidc" },
    })
}
