//! The authorization server toward MCP clients, and the bearer check of MCP routes.
//!
//! Owns: which requests are OAuth endpoints (served only while an MCP OAuth policy is attached,
//! §1.6), which of them a browser posts to (the consent form: `Origin` checked, D28; the
//! token, registration and revocation endpoints are client-to-server), the shared request context (origin, base path, the project's OAuth policy) and the
//! session cookie (§5.5: an opaque token whose hash lives in the store). Each endpoint lives in
//! its own file and answers its failures with the typed errors of `web`: [`OAuthError`] on the
//! JSON endpoints (§3.2), an [`ErrorPage`](crate::web::html::ErrorPage) in the browser (§3.3),
//! a [`GatewayError`] problem document elsewhere (§3.1).
//!
//! - `metadata`: PRM and AS metadata documents (§3.4).
//! - `register`: DCR (§3.5).
//! - `cimd`: Client ID Metadata Documents (§3.6).
//! - `authorize`: authorize, dev-login, callback and consent (§3.7–§3.10).
//! - `token`: token and revocation endpoints, client authentication (§3.11, §3.12).
//! - `assertion`: private_key_jwt client assertions (§3.11).
//! - `bearer`: validating the access token on MCP routes (§3.17).
//! - `oidc`: federated browser login as an OpenID Connect relying party (§3.7, §3.9).
//! - `pages`: consent and error HTML.

pub mod assertion;
pub mod authorize;
pub mod bearer;
pub mod cimd;
pub mod metadata;
pub mod oidc;
pub mod pages;
pub mod register;
pub mod token;

use crate::clock::Clock;
use crate::config::policies::{OAuthInbound, PolicyConfig};
use crate::store::AsyncStore;
use crate::store::keyfile::GatewaySecret;
use crate::validate::Report;
use crate::web::oauth::OAuthError;
use crate::web::origin;
use crate::web::origin::OriginPolicy;
use crate::web::problem::GatewayError;
use axum::body::Body;
use axum::http::{HeaderValue, Method, request::Parts};
use axum::response::{IntoResponse, Response};

pub use crate::web::oauth::SESSION_COOKIE;
pub const SCOPE: &str = "mcp:tools";
/// Authorization codes live 60 s (D2).
pub const CODE_TTL_SECONDS: i64 = 60;

/// The identity dev-login hands out (D8), and `--auto-consent`.
#[derive(Debug, Clone)]
pub struct DevLogin {
    pub user: String,
    pub roles: Vec<String>,
    pub auto_consent: bool,
    /// `--local-idp` (D22): dev-login and mcpgw's local issuer stand in for every identity
    /// provider the project names.
    pub local_idp: bool,
}

impl Default for DevLogin {
    fn default() -> Self {
        DevLogin {
            user: "dev-browser-user".to_string(),
            roles: vec!["mcp_user".to_string()],
            auto_consent: false,
            local_idp: false,
        }
    }
}

/// What the authorization server uses of the running gateway, passed in by `gateway` for each
/// request (never the whole gateway state).
pub struct Env<'a> {
    /// The validated project being served.
    pub report: &'a Report,
    pub store: &'a AsyncStore,
    /// Expiry decisions use this clock (tests move it).
    pub clock: &'a Clock,
    /// The gateway's own secret: derives the federated-login nonce and PKCE verifier.
    pub secret: &'a GatewaySecret,
    /// Validated access tokens, cleared whenever one may have been revoked.
    pub tokens: &'a bearer::TokenCache,
    pub dev: &'a DevLogin,
    /// How the public origin of a request is derived (§3.0).
    pub origin: &'a OriginPolicy,
    /// Outbound client for the IdP, CIMD documents and client JWKS (no redirects followed).
    pub http: &'a reqwest::Client,
    /// The consent page asks the upstream side which connections are still missing (§3.10):
    /// the one import from `authz` into `upstream` (ARCHITECTURE.md).
    pub upstream: crate::upstream::Env<'a>,
}

/// The project's MCP OAuth policy: the one attached to MCP routes (rule 19 makes it unique);
/// else, under `--local-idp`, the dev-login stand-in for its JWT policies' IdPs (D22).
pub fn attached_policy(report: &Report) -> Option<&OAuthInbound> {
    let project = &report.project;
    let model = &report.model;
    model
        .mcp_routes
        .iter()
        .find_map(|&i| {
            project.routes[i].inbound.iter().find_map(|n| {
                match project
                    .policy_position(&n.value)
                    .map(|p| &model.policies[p])
                {
                    Some(PolicyConfig::OAuth(o)) => Some(&**o),
                    _ => None,
                }
            })
        })
        .or(model.local_authorization.as_deref())
}

/// Whether route `i` is one this authorization server issues tokens for: an MCP route with
/// the MCP OAuth policy, or, under `--local-idp`, a route guarded by a JWT-family policy whose
/// IdP mcpgw stands in for (D22).
pub fn route_has_oauth(report: &Report, i: usize) -> bool {
    let project = &report.project;
    let stand_in = report.model.local_idp_stands_in();
    project.routes[i].inbound.iter().any(|n| {
        match project
            .policy_position(&n.value)
            .map(|p| &report.model.policies[p])
        {
            Some(PolicyConfig::OAuth(_)) => report.model.is_mcp_route(i),
            Some(PolicyConfig::Jwt(_)) => stand_in,
            _ => false,
        }
    })
}

/// What a path names among the MCP routes.
pub enum RouteByPath {
    WithOAuth(usize),
    WithoutOAuth,
    Unknown,
}

pub fn route_by_path(report: &Report, path: &str) -> RouteByPath {
    let project = &report.project;
    let mut without = false;
    for (i, r) in project.routes.iter().enumerate() {
        if r.path.value != path {
            continue;
        }
        if route_has_oauth(report, i) {
            return RouteByPath::WithOAuth(i);
        }
        without = true;
    }
    if without {
        RouteByPath::WithoutOAuth
    } else {
        RouteByPath::Unknown
    }
}

/// The MCP route whose canonical resource (`origin + R`) is `resource`.
pub fn route_for_resource(report: &Report, origin: &str, resource: &str) -> Option<usize> {
    let path = resource.strip_prefix(origin)?;
    match route_by_path(report, path) {
        RouteByPath::WithOAuth(i) => Some(i),
        _ => None,
    }
}

/// Everything an endpoint needs about the request it serves.
pub struct AuthzRequest<'a> {
    pub env: &'a Env<'a>,
    pub oauth: &'a OAuthInbound,
    /// The public origin (§3.0).
    pub origin: String,
    /// The plugin's route prefix (`/__zuplo`, or empty for basePath `/`).
    pub prefix: String,
    pub request_id: String,
}

impl AuthzRequest<'_> {
    /// Whether browser login goes to dev-login on this gateway: the policy says so (rule 60),
    /// or `--local-idp` stands in for the identity provider it names (D22, §16.13).
    pub fn dev_login(&self) -> bool {
        self.oauth.dev_login || self.env.dev.local_idp
    }

    /// `O + B + path`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}{}", self.origin, self.prefix, path)
    }

    pub fn resource_of(&self, route: usize) -> String {
        format!(
            "{}{}",
            self.origin, self.env.report.project.routes[route].path.value
        )
    }

    pub fn https(&self) -> bool {
        self.origin.starts_with("https://")
    }
}

/// Serves the request when it is an OAuth endpoint; gives the body back otherwise.
pub async fn handle(
    env: &Env<'_>,
    parts: &Parts,
    body: Body,
    request_id: &str,
) -> Result<Response, Body> {
    let Some(oauth) = attached_policy(env.report) else {
        return Err(body);
    };
    let path = parts.uri.path();
    let prefix = env.report.project.plugin.prefix();
    let well_known = path.starts_with("/.well-known/oauth-protected-resource/")
        || path == "/.well-known/oauth-authorization-server"
        || path.starts_with("/.well-known/oauth-authorization-server/");
    let oauth_path = path
        .strip_prefix(prefix.as_str())
        .filter(|rest| rest.starts_with("/oauth/"));
    if !well_known && oauth_path.is_none() {
        return Err(body);
    }
    let ctx = AuthzRequest {
        env,
        oauth,
        origin: origin::origin(env.origin, &parts.headers),
        prefix: prefix.clone(),
        request_id: request_id.to_string(),
    };
    if well_known {
        return Ok(metadata::handle(&ctx, &parts.method, path));
    }
    let rest = oauth_path.unwrap_or_default();
    let m = &parts.method;
    Ok(match rest {
        "/oauth/register" if m == Method::POST => {
            register::handle(&ctx, &parts.headers, body).await
        }
        "/oauth/token" if m == Method::POST => token::token(&ctx, &parts.headers, body).await,
        "/oauth/revoke" if m == Method::POST => token::revoke(&ctx, &parts.headers, body).await,
        "/oauth/authorize" if m == Method::GET => authorize::authorize(&ctx, parts, None).await,
        r if r.starts_with("/oauth/authorize/") && m == Method::GET => {
            let route_path = format!(
                "/{}",
                crate::web::encoding::decode_component(&r["/oauth/authorize/".len()..])
            );
            authorize::authorize(&ctx, parts, Some(route_path)).await
        }
        "/oauth/dev-login" if m == Method::GET => authorize::dev_login(&ctx, parts).await,
        "/oauth/callback" if m == Method::GET => authorize::callback(&ctx, parts).await,
        "/oauth/setup" if m == Method::GET => authorize::setup(&ctx, parts, body).await,
        // the consent form posts here: only from the gateway's own pages (D28)
        "/oauth/setup" if m == Method::POST => {
            match origin::check_origin(env.origin, &parts.headers, []) {
                Ok(()) => authorize::setup(&ctx, parts, body).await,
                Err(foreign) => GatewayError::OriginNotAllowed(foreign)
                    .at(path, request_id)
                    .into_response(),
            }
        }
        "/oauth/setup" => method_not_allowed("GET, POST"),
        "/oauth/register" | "/oauth/token" | "/oauth/revoke" => method_not_allowed("POST"),
        "/oauth/authorize" | "/oauth/dev-login" | "/oauth/callback" => method_not_allowed("GET"),
        _ => GatewayError::NoOAuthEndpoint(path.to_string())
            .at(path, request_id)
            .into_response(),
    })
}

fn method_not_allowed(allow: &'static str) -> Response {
    OAuthError::MethodNotAllowed { allow }.into_response()
}

/// `Set-Cookie` for the session (§5.5).
pub fn set_session_cookie(
    ctx: &AuthzRequest<'_>,
    token: &crate::secret::Secret,
    max_age: i64,
) -> HeaderValue {
    let secure = if ctx.https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        token.expose()
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("zuplo_mcp_session=; Path=/; Max-Age=0"))
}
