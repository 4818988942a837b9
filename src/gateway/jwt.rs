//! What the gateway serves for the JWT family besides the policy itself (SPEC §16.4, §16.13).
//!
//! Owns: `OAuthProtectedResourcePlugin`'s documents at `/.well-known/oauth-protected-resource`
//! and everything under it — except the MCP gateway's own routes, whose document `authz` serves
//! (§3.4, §16.4) — the local issuer's public keys at
//! [`JWKS_PATH`](crate::policies::local_issuer::JWKS_PATH) under `--local-idp`, loading the
//! local issuer at start, and the JWT policy step of the pipeline.

use super::state::{AppState, Served};
use crate::authz::{self, RouteByPath};
use crate::config::policies::JwtPolicy;
use crate::config::policies::jwt::prm_route_exists;
use crate::policies::jwt::{self, JwtRequest};
use crate::policies::local_issuer::{JWKS_PATH, LocalIssuer};
use crate::web::origin;
use crate::web::problem::{GatewayError, Problem};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use std::path::Path;
use std::sync::Arc;

const PRM_PREFIX: &str = "/.well-known/oauth-protected-resource";

/// The local issuer of `mcpgw dev --local-idp`, its key created in `state_dir` on first use.
pub async fn local_issuer(state_dir: &Path) -> std::io::Result<Arc<LocalIssuer>> {
    let dir = state_dir.to_path_buf();
    let pem =
        tokio::task::spawn_blocking(move || crate::store::local_idp_key::load_or_create(&dir))
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    LocalIssuer::from_pkcs8_pem(pem.expose())
        .map(Arc::new)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// The local issuer's JWKS, or the plugin's PRM document, when the request asks for one.
pub fn well_known(
    state: &AppState,
    served: &Served,
    parts: &Parts,
    request_id: &str,
) -> Option<Response> {
    let path = parts.uri.path();
    if path == JWKS_PATH
        && let Some(local) = &state.jwt.local
    {
        return Some(axum::Json(local.jwks()).into_response());
    }
    let plugin = served.report.project.plugin.protected_resource.as_ref()?;
    let rest = match path.strip_prefix(PRM_PREFIX)? {
        "" | "/" => "",
        r => r.strip_prefix('/')?,
    };
    if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    // the gateway's own document wins for its MCP routes (§16.4)
    if !rest.is_empty()
        && authz::attached_policy(&served.report).is_some()
        && matches!(
            authz::route_by_path(
                &served.report,
                &format!("/{}", crate::web::encoding::decode_component(rest))
            ),
            RouteByPath::WithOAuth(_)
        )
    {
        return None;
    }
    if parts.method == Method::OPTIONS {
        return Some(anything_goes(
            &parts.headers,
            StatusCode::NO_CONTENT.into_response(),
        ));
    }
    if plugin.not_literal {
        return Some(
            GatewayError::NotImplemented(
                "the OAuthProtectedResourcePlugin options in modules/zuplo.runtime.ts are not a literal object, so mcpgw dev cannot read them (D11)".to_string(),
            )
            .at(path, request_id)
            .into_response(),
        );
    }
    let origin = origin::origin(&state.origin, &parts.headers);
    let resource = if rest.is_empty() {
        origin
    } else {
        format!("{origin}/{rest}")
    };
    Some(anything_goes(
        &parts.headers,
        axum::Json(plugin.document(&resource)).into_response(),
    ))
}

/// CORS policy `anything-goes`: any origin, method and header.
fn anything_goes(req: &HeaderMap, mut resp: Response) -> Response {
    let h = resp.headers_mut();
    let origin = req
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        req.get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or(HeaderValue::from_static("*")),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    resp
}

/// The JWT policy step (§16.2): `Ok(user)` to go on (no user when unauthenticated requests
/// are allowed and the token did not pass), or the 401 problem.
pub async fn check(
    state: &AppState,
    served: &Served,
    route: usize,
    policy: &JwtPolicy,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<serde_json::Value>, Problem> {
    let origin = origin::origin(&state.origin, headers);
    let route_path = &served.report.project.routes[route].path.value;
    // --local-idp: the gateway's own PRM and dev-login authorization server serve the route
    let stand_in = served.report.model.local_idp_stands_in();
    let req = JwtRequest {
        headers,
        path,
        origin: &origin,
        prm_route_exists: stand_in || prm_route_exists(&served.report.project, route_path),
    };
    match jwt::verify(&state.jwt, policy, &req).await {
        Ok(user) => Ok(Some(user)),
        Err(refusal) => {
            if stand_in
                && matches!(refusal, jwt::Refusal::InvalidToken { .. })
                && let Some(user) = stand_in_token(state, served, route, headers).await
            {
                return Ok(Some(user));
            }
            if policy.allow_unauthenticated {
                return Ok(None);
            }
            if let jwt::Refusal::InvalidToken { why } = &refusal {
                tracing::info!(route = %route_path, why = %why, "JWT policy refused the token");
            }
            Err(refusal.problem())
        }
    }
}

/// Under `--local-idp`, a token of the dev-login authorization server that stands in for the
/// policy's identity provider: valid, and issued for a route that the same JWT policy guards
/// (the real IdP's tokens carry the policy's audience and pass on each of them).
async fn stand_in_token(
    state: &AppState,
    served: &Served,
    route: usize,
    headers: &HeaderMap,
) -> Option<serde_json::Value> {
    let env = state.authz_env(served);
    let (user, resource) = authz::bearer::holder(&env, headers).await?;
    let origin = origin::origin(&state.origin, headers);
    let issued_for = authz::route_for_resource(&served.report, &origin, &resource)?;
    let project = &served.report.project;
    let jwt_policies = |r: usize| -> Vec<&str> {
        project.routes[r]
            .inbound
            .iter()
            .filter(|n| {
                project.policy_position(&n.value).is_some_and(|i| {
                    matches!(
                        served.report.model.policies[i],
                        crate::config::policies::PolicyConfig::Jwt(_)
                    )
                })
            })
            .map(|n| n.value.as_str())
            .collect()
    };
    let here = jwt_policies(route);
    jwt_policies(issued_for)
        .iter()
        .any(|p| here.contains(p))
        .then_some(user)
}
