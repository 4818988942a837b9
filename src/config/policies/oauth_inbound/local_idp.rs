//! `mcpgw dev --local-idp` for the MCP OAuth policies (D22, D25 b, §16.13).
//!
//! Owns: which findings only matter when the real identity provider is used (its URLs, client
//! id and secret, the tenant/domain/region of a wrapper), softened to warnings under the flag,
//! and the stand-in policy that serves when those options are unset or placeholders: login
//! goes through dev-login, everything the gateway itself does (`gateway` options) stays.

use super::tuning::{Tuning, parse_gateway};
use super::{DEFAULT_SCOPE, IdJagInbound, OAuthInbound, OAuthProvider};
use crate::config::jsonc::Node;
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules::{self, Rule};

/// Rules about options that only the identity provider reads.
const IDP_ONLY: [&Rule; 18] = [
    &rules::OAUTH_OIDC,
    &rules::OAUTH_BROWSER_LOGIN_URL,
    &rules::OAUTH_FEDERATED_FIELDS,
    &rules::OAUTH_IDP_URL_INSECURE,
    &rules::OAUTH_AUDIENCE_UNUSED,
    &rules::AUTH0_DOMAIN,
    &rules::OKTA_DOMAIN,
    &rules::ENTRA_IDS,
    &rules::GOOGLE_CLIENT_ID,
    &rules::CLERK_FRONTEND_API_URL,
    &rules::COGNITO_OPTIONS,
    &rules::KEYCLOAK_OPTIONS,
    &rules::LOGTO_ENDPOINT,
    &rules::ONELOGIN_SUBDOMAIN,
    &rules::PING_OPTIONS,
    &rules::WORKOS_CLIENT_ID,
    &rules::WRAPPER_OPTIONS,
    &rules::OAUTH_DEV_LOGIN_URL,
];

/// Turns the errors of [`IDP_ONLY`] rules found since `from` into warnings that say why.
pub(super) fn soften(findings: &mut Findings, from: usize) {
    for d in findings.items.iter_mut().skip(from) {
        if d.severity == Severity::Error && IDP_ONLY.iter().any(|r| r.code == d.rule.code) {
            d.severity = Severity::Warning;
            d.message.push_str(
                " (a warning under --local-idp: mcpgw stands in for the identity provider, D25)",
            );
        }
    }
}

/// The policy as `--local-idp` runs it when the IdP options did not parse: dev-login for the
/// browser, the policy's own `gateway` options (their errors were reported by the real parse).
pub(super) fn stand_in(provider: OAuthProvider, name: &str, options: &Node) -> OAuthInbound {
    let tuning = Tuning::default();
    let gateway = options
        .get("gateway")
        .map(|n| {
            parse_gateway(
                name,
                n,
                provider == OAuthProvider::Generic,
                &mut Findings::default(),
            )
        })
        .unwrap_or_default();
    OAuthInbound {
        provider,
        issuer: String::new(),
        jwks_url: String::new(),
        authorize_url: String::new(),
        token_url: None,
        client_id: None,
        client_secret: None,
        scope: DEFAULT_SCOPE.to_string(),
        audience: None,
        pkce: tuning.pkce,
        remote_timeout_ms: tuning.remote_timeout_ms,
        state_ttl_seconds: tuning.state_ttl_seconds,
        session_ttl_seconds: tuning.session_ttl_seconds,
        gateway,
        id_jag: IdJagInbound::default(),
        dev_login: true,
        span: options.span,
    }
}

/// The dev-login authorization server that `--local-idp` runs for routes guarded by JWT-family
/// policies when the project has no MCP OAuth policy of its own: clients that discover it (the
/// gateway's PRM for such a route) register, log in through dev-login and get a token for the
/// route, which the JWT policy then accepts (D22).
pub fn for_jwt_routes(span: crate::diag::source::Span) -> OAuthInbound {
    let mut o = stand_in(
        OAuthProvider::Generic,
        "",
        &Node {
            span,
            value: crate::config::jsonc::Value::Object(Vec::new()),
            env: None,
        },
    );
    o.span = span;
    o
}
