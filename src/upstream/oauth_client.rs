//! The gateway as an OAuth client of one upstream (SPEC §6.3–§6.5, D15, D17, D19): discovery
//! through the shared [`crate::oauth::discovery`] module, client registration (CIMD on https
//! origins, else DCR, or the configured manual client, as [`crate::oauth::registration`]
//! decides), the authorize URL, the code exchange and the refresh (requests built by
//! [`crate::oauth::token_request`], shared with `oauth walk`). Every call goes through
//! [`crate::net::outbound`] with the limits of §6.5 (30 s, 256 KiB, ≤ 2 redirects, https or
//! loopback http, no private hosts).

use super::Upstreams;
use super::model::{Endpoints, RegisteredClient, Setup, scope_union};
use crate::client_metadata::ClientAuthMethod;
use crate::config::policies::token_exchange::{ClientRegistration, Prompt, TokenExchange};
use crate::net::outbound::{self, Guard, Limits, OutboundRequest};
use crate::oauth::discovery::{self, DiscoveryInput};
use crate::oauth::registration::{self, Registration};
use crate::oauth::token_request::{AuthorizationRequest, Client, ClientAuth, TokenRequest};
use crate::secret::{AccessToken, ClientSecret, PkceVerifier, RefreshToken};
use crate::web::encoding::encode_component;
use serde_json::{Value, json};
use std::sync::Arc;
use url::Url;

/// The guard for upstream OAuth URLs: https to public hosts, or http on loopback (§6.5).
pub const GUARD: Guard = Guard::Public {
    loopback_http: true,
};

/// Why the upstream side failed, with the gateway error code of §3.1 / §6.5.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("{0}")]
    DiscoveryUnavailable(String),
    #[error("{0}")]
    RegistrationRequired(String),
    /// RFC 9728 §3.3: the upstream's PRM names another resource.
    #[error(
        "the upstream's protected resource metadata names the resource {resource}, not the upstream URL {upstream} (RFC 9728 §3.3; allowed differences: {}): the gateway does not authorize for another resource",
        discovery::RESOURCE_NORMALISATION
    )]
    ForeignResource { resource: String, upstream: String },
    #[error("{0}")]
    ProviderAccessDenied(String),
    #[error("{0}")]
    TokenExchangeFailed(String),
    /// The token endpoint answered an OAuth error (`invalid_grant`, …).
    #[error("the upstream authorization server answered {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    OAuth {
        error: String,
        description: Option<String>,
    },
    #[error("{0}")]
    Internal(String),
}

impl UpstreamError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::DiscoveryUnavailable(_) => "upstream_oauth_discovery_unavailable",
            Self::RegistrationRequired(_) => "upstream_client_registration_required",
            Self::ForeignResource { .. } => "upstream_resource_mismatch",
            Self::ProviderAccessDenied(_) => "upstream_provider_access_denied",
            Self::TokenExchangeFailed(_) | Self::OAuth { .. } => "upstream_token_exchange_failed",
            Self::Internal(_) => "internal_error",
        }
    }

    /// An OAuth error that means the stored grant is dead (§6.6: reconsent).
    pub fn needs_reconsent(&self) -> bool {
        matches!(self, Self::OAuth { error, .. } if matches!(error.as_str(),
            "access_denied" | "invalid_client" | "invalid_grant" | "invalid_request"
            | "invalid_scope" | "invalid_target" | "unauthorized_client" | "unsupported_grant_type"))
    }

    /// The upstream no longer accepts the gateway's client (§6.4: drop the client information).
    pub fn is_stale_client(&self) -> bool {
        self.oauth_error()
            .is_some_and(|e| matches!(e, "invalid_client" | "unauthorized_client"))
    }

    /// The OAuth `error` code, when the token endpoint answered one.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Self::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// `O + B + /auth/connections/<id>/callback`, loopback hosts written `localhost` (§6.4).
pub fn redirect_uri(origin: &str, prefix: &str, upstream_id: &str) -> String {
    let origin = match Url::parse(origin) {
        Ok(mut u) if u.host_str().is_some_and(crate::net::addr::is_loopback_host) => {
            let _ = u.set_host(Some("localhost"));
            u.origin().ascii_serialization()
        }
        _ => origin.to_string(),
    };
    format!(
        "{origin}{prefix}/auth/connections/{}/callback",
        encode_component(upstream_id)
    )
}

/// The gateway's Client ID Metadata Document URL for an upstream (§3.13).
pub fn cimd_url(origin: &str, prefix: &str, upstream_id: &str) -> String {
    format!(
        "{origin}{prefix}/.well-known/oauth-client/{}",
        encode_component(upstream_id)
    )
}

/// OpenID Connect `application_type` for a redirect URI (SEP-837, MCP 2026-07-28 Client
/// Registration): "native" for a loopback redirect (a gateway on the developer's machine: OIDC
/// forbids localhost redirect URIs to "web" clients), "web" for a gateway on a public origin.
/// The MCP SDK clients derive it the same way.
pub fn application_type(redirect_uri: &str) -> &'static str {
    let loopback = Url::parse(redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(crate::net::addr::is_loopback_host))
        .unwrap_or(false);
    if loopback { "native" } else { "web" }
}

/// The client metadata the gateway registers (and serves as its CIMD document, §3.13).
pub fn client_metadata(te: &TokenExchange, origin: &str, prefix: &str) -> Value {
    let redirect = redirect_uri(origin, prefix, &te.upstream_id.value);
    let mut doc = json!({
        "client_name": format!("Zuplo MCP Gateway - {}", te.display_name),
        "client_uri": format!("{origin}/"),
        "application_type": application_type(&redirect),
        "redirect_uris": [redirect],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    if matches!(te.client_registration, ClientRegistration::Manual { .. })
        && let Some(scopes) = te.scopes.as_ref().filter(|s| !s.is_empty())
    {
        doc["scope"] = json!(scopes.join(" "));
    }
    doc
}

/// Discovery and registration for `te` at `origin`. D19: the discovery starts from the
/// upstream's unauthenticated challenge, and runs at every connect, so that a connect follows
/// the authorization server the upstream names now. The client registration is kept per
/// upstream, origin and authorization server issuer (SEP-2352: credentials belong to the AS
/// that issued them; a changed issuer means a new registration): from this process's cache, or
/// `stored`, the setup an earlier connection sealed, reused for an automatic registration while
/// its issuer and redirect URI are still the current ones (§6.4), so that a restarted gateway
/// does not register again.
pub async fn setup(
    up: &Upstreams,
    te: &TokenExchange,
    mcp_url: &Url,
    origin: &str,
    prefix: &str,
    stored: Option<&Setup>,
) -> Result<Arc<Setup>, UpstreamError> {
    let id = te.upstream_id.value.as_str();
    let (found, endpoints) = discover(up, te, mcp_url).await?;
    let issuer = endpoints.issuer.clone();
    let client = if let Some(c) = up.cached_client(id, origin, &issuer) {
        c
    } else if let Some(s) = stored.filter(|s| reusable(te, s, mcp_url, origin, prefix, &issuer)) {
        s.client.clone()
    } else {
        register(up, te, &found, origin, prefix).await?
    };
    up.remember_client(id, origin, &issuer, &client);
    Ok(Arc::new(Setup {
        endpoints,
        client,
        mcp_url: mcp_url.to_string(),
    }))
}

/// The upstream's authorization server as discovery finds it now, and what the gateway will
/// ask of it; an upstream the gateway cannot work with is an error.
async fn discover(
    up: &Upstreams,
    te: &TokenExchange,
    mcp_url: &Url,
) -> Result<(discovery::Discovered, Endpoints), UpstreamError> {
    let limits = Limits::UPSTREAM_OAUTH;
    let challenge = match discovery::probe(&up.http, mcp_url, GUARD, limits).await {
        Ok(p) => p.challenge,
        Err(e) => {
            return Err(UpstreamError::DiscoveryUnavailable(format!(
                "the upstream {mcp_url} could not be asked: {e}"
            )));
        }
    };
    let prm_url = te
        .protected_resource_metadata_url
        .as_deref()
        .and_then(|u| Url::parse(u).ok());
    let found = discovery::discover(
        &up.http,
        DiscoveryInput {
            mcp_url: mcp_url.clone(),
            prm_url,
            challenge,
        },
        GUARD,
        limits,
    )
    .await
    .map_err(|e| {
        let tried: Vec<String> = e
            .attempts()
            .iter()
            .map(|a| format!("{} {} → {}", a.method, a.url, a.outcome))
            .collect();
        UpstreamError::DiscoveryUnavailable(format!(
            "OAuth discovery for {} failed: {e} (tried: {})",
            te.display_name,
            tried.join("; ")
        ))
    })?;
    // RFC 9728 §3.3: a PRM for another resource must not be used
    if let Some(resource) = &found.resource
        && !found.resource_matches_url
    {
        return Err(UpstreamError::ForeignResource {
            resource: resource.chars().take(256).collect(),
            upstream: mcp_url.to_string(),
        });
    }
    let m = &found.metadata;
    let (Some(authorization_endpoint), Some(token_endpoint)) =
        (m.authorization_endpoint.clone(), m.token_endpoint.clone())
    else {
        return Err(UpstreamError::DiscoveryUnavailable(format!(
            "the authorization server {} names no authorization or token endpoint",
            m.issuer
        )));
    };
    if !found.supports_s256() {
        return Err(UpstreamError::DiscoveryUnavailable(format!(
            "the authorization server {} does not advertise PKCE S256 (code_challenge_methods_supported)",
            m.issuer
        )));
    }
    let endpoints = Endpoints {
        issuer: m.issuer.clone(),
        authorization_endpoint,
        token_endpoint,
        revocation_endpoint: m.revocation_endpoint.clone(),
        resource: found.resource.clone(),
        discovered_scope: found.default_scope(),
        offers_offline_access: m.scopes_supported.iter().any(|s| s == "offline_access"),
        iss_parameter_supported: m.authorization_response_iss_parameter_supported,
    };
    Ok((found, endpoints))
}

/// A sealed setup still fits: the same upstream and authorization server (issuer), an automatic
/// registration (a manual one always follows the configuration), registered for the redirect
/// URI this origin uses now.
fn reusable(
    te: &TokenExchange,
    stored: &Setup,
    mcp_url: &Url,
    origin: &str,
    prefix: &str,
    issuer: &str,
) -> bool {
    stored.mcp_url == mcp_url.as_str()
        && stored.endpoints.issuer == issuer
        && matches!(te.client_registration, ClientRegistration::Auto)
        && stored.client.source != "manual"
        && stored.client.redirect_uri == redirect_uri(origin, prefix, &te.upstream_id.value)
}

async fn register(
    up: &Upstreams,
    te: &TokenExchange,
    found: &discovery::Discovered,
    origin: &str,
    prefix: &str,
) -> Result<RegisteredClient, UpstreamError> {
    let redirect = redirect_uri(origin, prefix, &te.upstream_id.value);
    let mode = match te.client_registration {
        ClientRegistration::Auto => registration::Mode::Auto,
        ClientRegistration::Manual { .. } => registration::Mode::Manual,
    };
    let choice = registration::choose(found, mode, origin.starts_with("https://"));
    let endpoint = match choice.registration {
        Registration::Manual => {
            // choose() answers Manual exactly when the mode is manual
            let ClientRegistration::Manual {
                client_id,
                client_secret,
                method,
            } = &te.client_registration
            else {
                return Err(UpstreamError::Internal(
                    "a manual registration without a configured client".into(),
                ));
            };
            return Ok(RegisteredClient {
                client_id: client_id.clone(),
                client_secret: client_secret
                    .as_ref()
                    .map(|s| ClientSecret::new(s.expose())),
                auth_method: *method,
                redirect_uri: redirect,
                source: "manual".into(),
                refresh_grant: true,
            });
        }
        Registration::Cimd => {
            return Ok(RegisteredClient {
                client_id: cimd_url(origin, prefix, &te.upstream_id.value),
                client_secret: None,
                auth_method: ClientAuthMethod::None,
                redirect_uri: redirect,
                source: "cimd".into(),
                refresh_grant: true,
            });
        }
        Registration::Dcr(endpoint) => endpoint,
        Registration::Unavailable => {
            return Err(UpstreamError::RegistrationRequired(format!(
                "{}: register a client there and set clientRegistration {{\"mode\": \"manual\", \"clientId\": …}} with redirect URI {redirect}",
                choice.why
            )));
        }
    };
    let body = client_metadata(te, origin, prefix);
    let answer = outbound::fetch(
        &up.http,
        OutboundRequest::post_json(endpoint.clone(), &body),
        Limits::UPSTREAM_OAUTH,
        GUARD,
    )
    .await
    .map_err(|e| UpstreamError::RegistrationRequired(format!("client registration failed: {e}")))?;
    let json = answer.json().unwrap_or(Value::Null);
    if !answer.status.is_success() {
        let said = json
            .get("error_description")
            .or_else(|| json.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("no reason given");
        return Err(UpstreamError::RegistrationRequired(format!(
            "client registration at {endpoint} answered HTTP {}: {said}",
            answer.status.as_u16()
        )));
    }
    let Some(client_id) = json.get("client_id").and_then(Value::as_str) else {
        return Err(UpstreamError::RegistrationRequired(format!(
            "client registration at {endpoint} returned no client_id"
        )));
    };
    let secret = json
        .get("client_secret")
        .and_then(Value::as_str)
        .map(ClientSecret::new);
    // D17: what the server returned wins over what was asked for
    let method = json
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .and_then(ClientAuthMethod::parse)
        // the gateway holds no key pair for its upstream clients
        .filter(|m| *m != ClientAuthMethod::PrivateKeyJwt)
        .unwrap_or(if secret.is_some() {
            ClientAuthMethod::ClientSecretBasic
        } else {
            ClientAuthMethod::None
        });
    let refresh_grant = json
        .get("grant_types")
        .and_then(Value::as_array)
        .is_none_or(|g| g.iter().any(|v| v == "refresh_token"));
    Ok(RegisteredClient {
        client_id: client_id.to_string(),
        client_secret: secret,
        auth_method: method,
        redirect_uri: redirect,
        source: "dcr".into(),
        refresh_grant,
    })
}

/// The scope to ask for (§6.5, MCP "Scope Selection Strategy"): the policy's explicit `scopes`
/// (`[]`: none), else the discovered scope (the 401 challenge's `scope`, else PRM
/// `scopes_supported`); widened by a step-up (D18: the union with what the connection had).
///
/// `offline_access` (MCP 2026-07-28 "Refresh Tokens", SEP-2207): a client MAY add it when the AS
/// metadata lists it in `scopes_supported`. So it is added only when the AS lists it, the
/// registered client may use the refresh_token grant, and a scope is asked for anyway (as both
/// MCP SDK clients do: never a lone `offline_access`); a discovered or widened scope naming it
/// for an AS that does not list it loses it. Explicit `scopes` are sent as configured.
pub fn requested_scope(te: &TokenExchange, setup: &Setup, widened: Option<&str>) -> Option<String> {
    const OFFLINE: &str = "offline_access";
    let offers = setup.endpoints.offers_offline_access;
    let add_offline = offers && setup.client.refresh_grant;
    // the configured scopes as written (their delimiter may not be a space)
    if let Some(explicit) = te.scopes.as_ref().filter(|s| !s.is_empty())
        && widened.is_none()
    {
        let mut words = explicit.clone();
        if add_offline && !words.iter().any(|w| w == OFFLINE) {
            words.push(OFFLINE.to_string());
        }
        return Some(words.join(&te.scope_delimiter));
    }
    let base = match &te.scopes {
        Some(s) if !s.is_empty() => Some(s.join(" ")),
        Some(_) => None,
        None => setup.endpoints.discovered_scope.clone(),
    };
    let scope = match widened {
        Some(w) => scope_union(base.as_deref(), w),
        None => base.unwrap_or_default(),
    };
    let mut words: Vec<&str> = scope
        .split_whitespace()
        .filter(|w| offers || *w != OFFLINE)
        .collect();
    if add_offline && !words.is_empty() && !words.contains(&OFFLINE) {
        words.push(OFFLINE);
    }
    (!words.is_empty()).then(|| words.join(" "))
}

/// Parameters an upstream may have baked into its authorization endpoint that the gateway sets
/// itself (§6.3).
const PRESET_PARAMS: [&str; 12] = [
    "client_id",
    "code_challenge",
    "code_challenge_method",
    "display",
    "login_hint",
    "nonce",
    "prompt",
    "redirect_uri",
    "response_mode",
    "response_type",
    "state",
    "resource",
];

/// The upstream authorize URL (§6.5): PKCE S256 for `verifier`, `state`, `scope`, `resource`,
/// `prompt`, after the query the upstream's endpoint has minus the parameters the gateway sets.
pub fn authorize_url(
    te: &TokenExchange,
    setup: &Setup,
    scope: Option<&str>,
    state: &str,
    verifier: &PkceVerifier,
) -> Result<String, UpstreamError> {
    let mut url = Url::parse(&setup.endpoints.authorization_endpoint).map_err(|_| {
        UpstreamError::DiscoveryUnavailable(format!(
            "the upstream authorization endpoint {:?} is not a URL",
            setup.endpoints.authorization_endpoint
        ))
    })?;
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !PRESET_PARAMS.contains(&k.as_ref()) && k != "scope")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let prompt = match &te.prompt {
        Prompt::Value(p) => Some(p.clone()),
        Prompt::Disabled => None,
        Prompt::Unset => scope
            .filter(|s| s.split_whitespace().any(|w| w == "offline_access"))
            .map(|_| "consent".to_string()),
    };
    url.query_pairs_mut().clear().extend_pairs(&kept);
    let url = AuthorizationRequest {
        client_id: &setup.client.client_id,
        redirect_uri: &setup.client.redirect_uri,
        verifier,
        state,
        scope,
        resource: setup.endpoints.resource.as_deref(),
        prompt: prompt.as_deref(),
    }
    .url(url);
    Ok(url.to_string())
}

/// A successful token answer.
#[derive(Debug)]
pub struct TokenAnswer {
    pub access_token: AccessToken,
    pub token_type: Option<String>,
    pub refresh_token: Option<RefreshToken>,
    pub expires_in: Option<i64>,
    pub scope: Option<String>,
}

/// The authorization_code grant at the upstream token endpoint.
pub async fn exchange_code(
    up: &Upstreams,
    setup: &Setup,
    code: &str,
    verifier: &PkceVerifier,
) -> Result<TokenAnswer, UpstreamError> {
    let grant = TokenRequest::code_exchange(code, &setup.client.redirect_uri, verifier)
        .param("resource", setup.endpoints.resource.as_deref());
    token_request(up, setup, grant).await
}

/// The refresh_token grant (optionally asking for `scope`).
pub async fn refresh(
    up: &Upstreams,
    setup: &Setup,
    refresh_token: &RefreshToken,
    scope: Option<&str>,
) -> Result<TokenAnswer, UpstreamError> {
    let grant = TokenRequest::refresh(refresh_token)
        .param("resource", setup.endpoints.resource.as_deref())
        .param("scope", scope);
    token_request(up, setup, grant).await
}

async fn token_request(
    up: &Upstreams,
    setup: &Setup,
    grant: TokenRequest<'_>,
) -> Result<TokenAnswer, UpstreamError> {
    let client = &setup.client;
    let endpoint = Url::parse(&setup.endpoints.token_endpoint).map_err(|_| {
        UpstreamError::TokenExchangeFailed("the upstream token endpoint is not a URL".into())
    })?;
    // a secret-based method without a configured secret sends an empty one
    let no_secret = ClientSecret::new("");
    let secret = client.client_secret.as_ref().unwrap_or(&no_secret);
    let Some(auth) = ClientAuth::for_method(client.auth_method, secret) else {
        return Err(UpstreamError::TokenExchangeFailed(
            "private_key_jwt at an upstream token endpoint is not supported yet".into(),
        ));
    };
    let req = grant.build(
        endpoint,
        &Client {
            id: &client.client_id,
            auth,
        },
    );
    let answer = outbound::fetch(&up.http, req, Limits::UPSTREAM_OAUTH, GUARD)
        .await
        .map_err(|e| UpstreamError::TokenExchangeFailed(e.to_string()))?;
    let json = answer.json();
    let status = answer.status;
    if status.is_success() {
        let j = json.ok_or_else(|| {
            UpstreamError::TokenExchangeFailed("the upstream token answer is not JSON".into())
        })?;
        let Some(access_token) = j.get("access_token").and_then(Value::as_str) else {
            return Err(UpstreamError::TokenExchangeFailed(
                "the upstream token answer has no access_token".into(),
            ));
        };
        let s = |k: &str| j.get(k).and_then(Value::as_str).map(str::to_string);
        return Ok(TokenAnswer {
            access_token: AccessToken::new(access_token),
            token_type: s("token_type"),
            refresh_token: s("refresh_token").map(RefreshToken::new),
            expires_in: j.get("expires_in").and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            }),
            scope: s("scope"),
        });
    }
    if let Some(error) = json
        .as_ref()
        .and_then(|j| j.get("error"))
        .and_then(Value::as_str)
    {
        return Err(UpstreamError::OAuth {
            error: error.chars().take(64).collect(),
            description: json
                .as_ref()
                .and_then(|j| j.get("error_description"))
                .and_then(Value::as_str)
                .map(|d| d.chars().take(256).collect()),
        });
    }
    let text: String = String::from_utf8_lossy(&answer.body)
        .chars()
        .take(256)
        .collect();
    if status.as_u16() == 403 {
        return Err(UpstreamError::ProviderAccessDenied(format!(
            "the upstream token endpoint answered 403: {text}"
        )));
    }
    Err(UpstreamError::TokenExchangeFailed(format!(
        "the upstream token endpoint answered HTTP {}: {text}",
        status.as_u16()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_type_follows_the_redirect_host() {
        assert_eq!(
            application_type("http://localhost:9000/auth/connections/a/callback"),
            "native"
        );
        assert_eq!(application_type("http://127.0.0.1:9000/cb"), "native");
        assert_eq!(
            application_type("https://gw.example.com/auth/connections/a/callback"),
            "web"
        );
    }

    #[test]
    fn redirect_uri_rewrites_loopback_to_localhost() {
        assert_eq!(
            redirect_uri("http://127.0.0.1:9000", "", "linear"),
            "http://localhost:9000/auth/connections/linear/callback"
        );
        assert_eq!(
            redirect_uri("https://gw.example.com", "/__zuplo", "a b"),
            "https://gw.example.com/__zuplo/auth/connections/a%20b/callback"
        );
    }
}
