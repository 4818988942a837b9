//! The 12 MCP OAuth policies: generic `mcp-oauth-inbound` and the 11 IdP wrappers
//! (SPEC §2.7, §2.8, §11).
//!
//! Owns: the types every provider resolves to ([`OAuthInbound`], [`OAuthProvider`], [`Pkce`],
//! [`GatewayOptions`], [`IdJagInbound`]) and the [`parse`] entry point, which hands the options
//! to the generic policy or to the wrapper of one IdP. The result is one [`OAuthInbound`],
//! whatever the provider, which is what the authorization server runs on.
//!
//! Inside: `generic` (rules 56–65); `wrapper` (the options every IdP wrapper shares, rules
//! 61–64 and 77); `providers` (the 11 IdPs as data: their own options and the §11 URL
//! templates), `idp` (the one function that runs such a descriptor) and `shapes` (the value
//! checks of rules 66–76); `tuning` (browser-login timings, `gateway`); `id_jag` (rule 63);
//! `urls` (URL options and rule 64); `dev_login` (rule 60); `local_idp` (`--local-idp`: IdP-only
//! rules as warnings and the dev-login stand-in, D25 b).

mod dev_login;
mod generic;
mod id_jag;
mod idp;
mod local_idp;
pub use local_idp::for_jwt_routes as local_idp_for_jwt_routes;
mod providers;
mod shapes;
mod tuning;
mod urls;
mod wrapper;

use super::PolicyContext;
use crate::config::jsonc::Node;
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::source::Span;
use crate::secret::Secret;

/// Which of the 12 MCP OAuth policy types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthProvider {
    Generic,
    Auth0,
    Okta,
    Entra,
    Google,
    Clerk,
    Cognito,
    Keycloak,
    Logto,
    OneLogin,
    Ping,
    Workos,
}

impl OAuthProvider {
    pub const ALL: [OAuthProvider; 12] = [
        OAuthProvider::Generic,
        OAuthProvider::Auth0,
        OAuthProvider::Okta,
        OAuthProvider::Entra,
        OAuthProvider::Google,
        OAuthProvider::Clerk,
        OAuthProvider::Cognito,
        OAuthProvider::Keycloak,
        OAuthProvider::Logto,
        OAuthProvider::OneLogin,
        OAuthProvider::Ping,
        OAuthProvider::Workos,
    ];

    pub fn policy_type(self) -> &'static str {
        match self {
            OAuthProvider::Generic => "mcp-oauth-inbound",
            OAuthProvider::Auth0 => "mcp-auth0-oauth-inbound",
            OAuthProvider::Okta => "mcp-okta-oauth-inbound",
            OAuthProvider::Entra => "mcp-entra-oauth-inbound",
            OAuthProvider::Google => "mcp-google-oauth-inbound",
            OAuthProvider::Clerk => "mcp-clerk-oauth-inbound",
            OAuthProvider::Cognito => "mcp-cognito-oauth-inbound",
            OAuthProvider::Keycloak => "mcp-keycloak-oauth-inbound",
            OAuthProvider::Logto => "mcp-logto-oauth-inbound",
            OAuthProvider::OneLogin => "mcp-onelogin-oauth-inbound",
            OAuthProvider::Ping => "mcp-ping-oauth-inbound",
            OAuthProvider::Workos => "mcp-workos-oauth-inbound",
        }
    }

    pub fn export(self) -> &'static str {
        match self {
            OAuthProvider::Generic => "McpOAuthInboundPolicy",
            OAuthProvider::Auth0 => "McpAuth0OAuthInboundPolicy",
            OAuthProvider::Okta => "McpOktaOAuthInboundPolicy",
            OAuthProvider::Entra => "McpEntraOAuthInboundPolicy",
            OAuthProvider::Google => "McpGoogleOAuthInboundPolicy",
            OAuthProvider::Clerk => "McpClerkOAuthInboundPolicy",
            OAuthProvider::Cognito => "McpCognitoOAuthInboundPolicy",
            OAuthProvider::Keycloak => "McpKeycloakOAuthInboundPolicy",
            OAuthProvider::Logto => "McpLogtoOAuthInboundPolicy",
            OAuthProvider::OneLogin => "McpOneLoginOAuthInboundPolicy",
            OAuthProvider::Ping => "McpPingOAuthInboundPolicy",
            OAuthProvider::Workos => "McpWorkosOAuthInboundPolicy",
        }
    }

    pub fn from_policy_type(policy_type: &str) -> Option<OAuthProvider> {
        OAuthProvider::ALL
            .into_iter()
            .find(|p| p.policy_type() == policy_type)
    }

    /// The short name used by `mcpgw init --template` (`auth0`, `okta`, …; `oidc` for generic).
    pub fn slug(self) -> &'static str {
        match self {
            OAuthProvider::Generic => "oidc",
            OAuthProvider::Auth0 => "auth0",
            OAuthProvider::Okta => "okta",
            OAuthProvider::Entra => "entra",
            OAuthProvider::Google => "google",
            OAuthProvider::Clerk => "clerk",
            OAuthProvider::Cognito => "cognito",
            OAuthProvider::Keycloak => "keycloak",
            OAuthProvider::Logto => "logto",
            OAuthProvider::OneLogin => "onelogin",
            OAuthProvider::Ping => "ping",
            OAuthProvider::Workos => "workos",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkce {
    S256,
    None,
}

/// `gateway` options (rule 62) with their defaults (D4).
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayOptions {
    pub access_token_ttl_seconds: u64,
    pub refresh_token_ttl_seconds: u64,
    pub cimd_enabled: bool,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            access_token_ttl_seconds: 900,
            refresh_token_ttl_seconds: 315_360_000,
            cimd_enabled: true,
        }
    }
}

/// Downstream `idJag` (rule 63). Parsed for validation; running it is a later version (D16).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IdJagInbound {
    pub enabled: bool,
}

/// The resolved configuration of the project's MCP OAuth policy, whatever its provider.
#[derive(Debug, Clone)]
pub struct OAuthInbound {
    pub provider: OAuthProvider,
    pub issuer: String,
    pub jwks_url: String,
    /// `browserLogin.url`: the IdP's authorize URL, or the dev-login URL.
    pub authorize_url: String,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// Default `openid profile email`.
    pub scope: String,
    /// Sent as `audience=` on the IdP authorize request (Auth0, or browserLogin.audience).
    pub audience: Option<String>,
    pub pkce: Pkce,
    pub remote_timeout_ms: u64,
    pub state_ttl_seconds: u64,
    pub session_ttl_seconds: u64,
    pub gateway: GatewayOptions,
    pub id_jag: IdJagInbound,
    /// `browserLogin.url` is the loopback dev-login URL (rule 60): no IdP is involved.
    pub dev_login: bool,
    /// Where the options object is, for findings that concern the policy as a whole.
    pub span: Span,
}

/// The default `browserLogin.scope` (rule 61).
pub const DEFAULT_SCOPE: &str = "openid profile email";

/// Reads and checks the options of an MCP OAuth policy. `None` when any error was found for
/// this policy (warnings do not count).
pub fn parse(
    provider: OAuthProvider,
    name: &str,
    options: &Node,
    ctx: &PolicyContext,
    findings: &mut Findings,
) -> Option<OAuthInbound> {
    let before = error_count(findings);
    let first_new = findings.items.len();
    let parsed = match provider {
        OAuthProvider::Generic => generic::parse(name, options, ctx, findings),
        _ => providers::find(provider).and_then(|idp| wrapper::parse(idp, name, options, findings)),
    };
    if ctx.local_idp {
        local_idp::soften(findings, first_new);
        if error_count(findings) > before {
            return None;
        }
        return Some(parsed.unwrap_or_else(|| local_idp::stand_in(provider, name, options)));
    }
    if error_count(findings) > before {
        return None;
    }
    parsed
}

fn error_count(findings: &Findings) -> usize {
    findings
        .items
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
}

/// A value for a message, quoted. (Where a `$env()` value came from is added to every finding
/// on it by `validate`, with the `.env` line.)
fn shown(_node: Option<&Node>, value: &str) -> String {
    format!("{value:?}")
}

#[cfg(test)]
mod tests;
