//! The 12 MCP OAuth policies: generic `mcp-oauth-inbound` and the 11 IdP wrappers
//! (SPEC §2.7, §2.8, §11).
//!
//! Owns: each wrapper's strict options and shape checks (rules 56–77), the derivation of
//! issuer, JWKS, authorize and token URLs from a wrapper's options (§11), the defaults of the
//! generic policy, and dev-login detection (rule 60). The result is one [`OAuthInbound`],
//! whatever the provider, which is what the authorization server runs on.

use super::PolicyContext;
use super::reader::{ObjReader, is_loopback_host, is_private_host, is_uuid, parse_url};
use crate::config::jsonc::Node;
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules::{self, Rule};
use crate::diag::source::{Span, Spanned};
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
/// Ping region → auth host (§11); the first is the default.
const PING_REGIONS: [(&str, &str); 6] = [
    ("north-america", "auth.pingone.com"),
    ("canada", "auth.pingone.ca"),
    ("europe", "auth.pingone.eu"),
    ("singapore", "auth.pingone.sg"),
    ("australia", "auth.pingone.com.au"),
    ("asia-pacific", "auth.pingone.asia"),
];

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
    let parsed = match provider {
        OAuthProvider::Generic => parse_generic(name, options, ctx, findings),
        _ => parse_wrapper(provider, name, options, findings),
    };
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

/// A URL for a message, with any password hidden.
fn shown_url(url: &url::Url) -> String {
    if url.password().is_some() {
        let mut u = url.clone();
        let _ = u.set_password(Some("***"));
        format!("{:?}", u.as_str())
    } else {
        format!("{:?}", url.as_str())
    }
}

/// Browser-login tuning shared by `browserLogin` and `browserLoginOverrides` (rule 61).
struct Tuning {
    pkce: Pkce,
    remote_timeout_ms: u64,
    state_ttl_seconds: u64,
    session_ttl_seconds: u64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            pkce: Pkce::None,
            remote_timeout_ms: 10_000,
            state_ttl_seconds: 900,
            session_ttl_seconds: 28_800,
        }
    }
}

/// Reads pkce and the three timings from `r`; numeric strings only with `coerce` (generic).
fn read_tuning(r: &mut ObjReader<'_, '_>, coerce: bool, with_pkce: bool) -> Tuning {
    let rule = &rules::OAUTH_BROWSER_LOGIN_OPTIONS;
    let mut t = Tuning::default();
    if with_pkce && let Some(p) = r.opt_enum_with("pkce", &["S256", "none"], rule) {
        t.pkce = if p.value == "S256" {
            Pkce::S256
        } else {
            Pkce::None
        };
    }
    if let Some(v) = pos_int(r, "remoteTimeoutMs", rule, coerce) {
        t.remote_timeout_ms = v;
    }
    if let Some(v) = pos_int(r, "stateTtlSeconds", rule, coerce) {
        t.state_ttl_seconds = v;
    }
    if let Some(v) = pos_int(r, "sessionTtlSeconds", rule, coerce) {
        t.session_ttl_seconds = v;
    }
    t
}

/// A positive integer. Without `coerce` (the wrappers) a string is refused with a message that
/// says why, since it usually is a `$env(...)` (rule 61).
fn pos_int(r: &mut ObjReader<'_, '_>, key: &str, rule: &'static Rule, coerce: bool) -> Option<u64> {
    if !coerce
        && let Some(node) = r.get(key)
        && let Some(s) = node.as_str()
    {
        let msg = format!(
            "{}: `{key}` must be a JSON number, found the string {}; the IdP wrapper policies do not convert strings to numbers, so write the number itself",
            r.ctx,
            shown(Some(node), s)
        );
        r.err(rule, node.span, msg);
        return None;
    }
    r.opt_pos_int_with(key, rule, coerce).map(|v| v.value)
}

/// `gateway` (rule 62): strict, positive integers and a boolean.
fn parse_gateway(name: &str, node: &Node, coerce: bool, findings: &mut Findings) -> GatewayOptions {
    let rule = &rules::OAUTH_GATEWAY_OPTIONS;
    let mut g = GatewayOptions::default();
    let Some(mut r) = ObjReader::new(node, format!("policy `{name}`: gateway"), rule, findings)
    else {
        return g;
    };
    r.strict(
        &[
            "accessTokenTtlSeconds",
            "refreshTokenTtlSeconds",
            "cimdEnabled",
        ],
        rule,
    );
    if let Some(v) = pos_int(&mut r, "accessTokenTtlSeconds", rule, coerce) {
        g.access_token_ttl_seconds = v;
    }
    if let Some(v) = pos_int(&mut r, "refreshTokenTtlSeconds", rule, coerce) {
        g.refresh_token_ttl_seconds = v;
    }
    if let Some(v) = r.opt_bool_with("cimdEnabled", rule) {
        g.cimd_enabled = v.value;
    }
    g
}

/// `idJag` (rule 63): `{enabled:false}` or `{enabled:true, …}`.
fn parse_id_jag(name: &str, node: &Node, findings: &mut Findings) -> IdJagInbound {
    let rule = &rules::OAUTH_ID_JAG;
    let Some(mut r) = ObjReader::new(node, format!("policy `{name}`: idJag"), rule, findings)
    else {
        return IdJagInbound::default();
    };
    let enabled = if r.has("enabled") {
        r.opt_bool_with("enabled", rule)
    } else {
        r.missing("enabled", rule);
        None
    };
    match enabled.map(|e| e.value) {
        Some(true) => {}
        Some(false) => {
            r.strict(&["enabled"], rule);
            return IdJagInbound { enabled: false };
        }
        None => return IdJagInbound::default(),
    }
    r.strict(
        &[
            "enabled",
            "trustedIssuers",
            "authorizationDetailsTypesAllowed",
            "expectedClientIds",
            "subjectMapping",
        ],
        rule,
    );
    if let Some(list) = r.get("trustedIssuers") {
        match list.as_array() {
            None => {
                let msg = format!(
                    "policy `{name}`: idJag.trustedIssuers must be an array, found {}",
                    list.kind_name()
                );
                r.err(rule, list.span, msg);
            }
            Some([]) => {
                let msg = format!(
                    "policy `{name}`: idJag.trustedIssuers must list at least one issuer (omit it to trust the browser-login IdP)"
                );
                r.err(rule, list.span, msg);
            }
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let ctx = format!("policy `{name}`: idJag.trustedIssuers[{i}]");
                    let Some(mut ir) = ObjReader::new(item, ctx.clone(), rule, &mut *r.findings)
                    else {
                        continue;
                    };
                    ir.strict(&["issuer", "jwksUrl"], rule);
                    let issuer = opt_url(&mut ir, "issuer", rule);
                    let jwks = opt_url(&mut ir, "jwksUrl", rule);
                    if ir.has("issuer") != ir.has("jwksUrl") {
                        let span = ir.span();
                        ir.err(
                            rule,
                            span,
                            format!("{ctx}: give both `issuer` and `jwksUrl`, or neither (then the browser-login IdP is trusted)"),
                        );
                    }
                    let _ = (issuer, jwks);
                }
            }
        }
    }
    r.opt_str_list_with("authorizationDetailsTypesAllowed", rule, false);
    r.opt_str_list_with("expectedClientIds", rule, false);
    r.opt_enum_with(
        "subjectMapping",
        &["iss_prefix", "iss_tenant_prefix", "sub_id_only"],
        rule,
    );
    IdJagInbound { enabled: true }
}

/// An optional URL string: a finding under `rule` when it does not parse.
fn opt_url(
    r: &mut ObjReader<'_, '_>,
    key: &str,
    rule: &'static Rule,
) -> Option<(Spanned<String>, url::Url)> {
    let s = r.opt_nonempty_with(key, rule)?;
    match parse_url(&s.value) {
        Some(u) => Some((s, u)),
        None => {
            let msg = format!(
                "{}.{key} {} is not a valid URL",
                r.ctx,
                shown(r.get(key), &s.value)
            );
            r.err(rule, s.span, msg);
            None
        }
    }
}

/// A required URL string.
fn req_url(
    r: &mut ObjReader<'_, '_>,
    key: &str,
    rule: &'static Rule,
) -> Option<(Spanned<String>, url::Url)> {
    if !r.has(key) {
        r.missing(key, rule);
        return None;
    }
    opt_url(r, key, rule)
}

/// Rule 64: why a federated IdP URL is unsafe for the gateway's outbound calls, if it is.
fn idp_url_problems(url: &url::Url) -> Vec<String> {
    let mut out = Vec::new();
    if url.scheme() != "https" {
        out.push(format!("uses {}: instead of https:", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        out.push("carries credentials".to_string());
    }
    if url.query().is_some() {
        out.push("has a query".to_string());
    }
    if url.fragment().is_some() {
        out.push("has a fragment".to_string());
    }
    if let Some(host) = url.host_str()
        && is_private_host(host)
    {
        out.push(format!(
            "points at {host}, a private, loopback or metadata host"
        ));
    }
    out
}

fn check_idp_url(name: &str, what: &str, url: &url::Url, span: Span, findings: &mut Findings) {
    let problems = idp_url_problems(url);
    if problems.is_empty() {
        return;
    }
    findings.push(
        &rules::OAUTH_IDP_URL_INSECURE,
        span,
        format!(
            "policy `{name}`: {what} {} {}; federated IdP URLs must be public https URLs without query, fragment or credentials",
            shown_url(url),
            problems.join(", ")
        ),
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginKind {
    DevLogin,
    /// Looks like dev-login but is not (warned): federated, without the rule 64 pile-up.
    LookAlike,
    Federated,
}

/// Rule 60: whether `url` is the loopback dev-login URL for this plugin prefix, with warnings
/// for look-alikes and for `localhost`.
fn detect_dev_login(
    name: &str,
    url: &url::Url,
    span: Span,
    prefix: &str,
    findings: &mut Findings,
) -> LoginKind {
    let host = url.host_str().unwrap_or("");
    if !is_loopback_host(host) {
        return LoginKind::Federated;
    }
    let expected = format!("{prefix}/oauth/dev-login");
    if url.scheme() == "http" && url.path() == expected {
        if host.eq_ignore_ascii_case("localhost") {
            findings.push(
                &rules::OAUTH_DEV_LOGIN_URL,
                span,
                format!(
                    "policy `{name}`: browserLogin.url {} uses localhost; use 127.0.0.1 so that issuer, resource and callback URLs all use the same origin",
                    shown_url(url)
                ),
            );
        }
        return LoginKind::DevLogin;
    }
    if url.path().ends_with("/oauth/dev-login") {
        let why = if url.path() != expected {
            format!(
                "its path is not {expected} (the McpGatewayPlugin basePath is {})",
                if prefix.is_empty() {
                    "\"/\"".to_string()
                } else {
                    format!("{prefix:?}")
                }
            )
        } else {
            "dev-login is served over plain http".to_string()
        };
        findings.push(
            &rules::OAUTH_DEV_LOGIN_URL,
            span,
            format!(
                "policy `{name}`: browserLogin.url {} looks like the dev-login URL but {why}, so it is treated as a federated IdP URL",
                shown_url(url)
            ),
        );
        return LoginKind::LookAlike;
    }
    LoginKind::Federated
}

/// The generic `mcp-oauth-inbound` (rules 56–65).
fn parse_generic(
    name: &str,
    options: &Node,
    ctx: &PolicyContext,
    findings: &mut Findings,
) -> Option<OAuthInbound> {
    let shape = &rules::OAUTH_OPTIONS_SHAPE;
    let mut r = ObjReader::new(options, format!("policy `{name}`"), shape, findings)?;
    r.strict(&["oidc", "browserLogin", "gateway", "idJag"], shape);
    for key in ["oidc", "browserLogin"] {
        if !r.has(key) {
            r.missing(key, shape);
        }
    }
    let oidc_node = r.get("oidc");
    let login_node = r.get("browserLogin");
    let gateway_node = r.get("gateway");
    let id_jag_node = r.get("idJag");
    let findings = r.findings;

    // rules 57, 65
    let mut issuer = None;
    let mut jwks = None;
    if let Some(node) = oidc_node {
        let rule = &rules::OAUTH_OIDC;
        if let Some(mut o) = ObjReader::new(node, format!("policy `{name}`: oidc"), rule, findings)
        {
            o.strict(&["issuer", "jwksUrl", "audience"], rule);
            issuer = req_url(&mut o, "issuer", rule);
            jwks = req_url(&mut o, "jwksUrl", rule);
            if let Some(a) = o.opt_nonempty_with("audience", rule) {
                o.err(
                    &rules::OAUTH_AUDIENCE_UNUSED,
                    a.span,
                    format!(
                        "policy `{name}`: oidc.audience {:?} is not used: ID tokens are checked against browserLogin.clientId",
                        a.value
                    ),
                );
            }
        }
    }

    // rules 58–61, 64
    let mut login = None;
    if let Some(node) = login_node
        && let Some(mut b) = ObjReader::new(
            node,
            format!("policy `{name}`: browserLogin"),
            &rules::OAUTH_BROWSER_LOGIN_OPTIONS,
            findings,
        )
    {
        b.strict(
            &[
                "url",
                "tokenUrl",
                "clientId",
                "clientSecret",
                "scope",
                "audience",
                "pkce",
                "remoteTimeoutMs",
                "stateTtlSeconds",
                "sessionTtlSeconds",
            ],
            &rules::OAUTH_BROWSER_LOGIN_OPTIONS,
        );
        let url = req_url(&mut b, "url", &rules::OAUTH_BROWSER_LOGIN_URL);
        let kind = url
            .as_ref()
            .map(|(s, u)| detect_dev_login(name, u, s.span, &ctx.prefix, &mut *b.findings));
        let dev_login = kind == Some(LoginKind::DevLogin);
        let fed = &rules::OAUTH_FEDERATED_FIELDS;
        let token_url = opt_url(&mut b, "tokenUrl", fed);
        let client_id = b.opt_str_with("clientId", fed);
        let client_secret = b.opt_str_with("clientSecret", fed);
        // an unparseable browserLogin.url says nothing about the mode: do not pile on
        if !dev_login && url.is_some() {
            for key in ["tokenUrl", "clientId", "clientSecret"] {
                // wrong types and an empty tokenUrl were reported above
                let missing = match b.get(key) {
                    None => true,
                    Some(n) => key != "tokenUrl" && n.as_str().is_some_and(|s| s.trim().is_empty()),
                };
                if missing {
                    let span = b.value_span(key);
                    let note = b.unset_note(key);
                    b.err(
                        fed,
                        span,
                        format!("policy `{name}`: browserLogin.{key} is required for federated browser login{note}"),
                    );
                }
            }
            // after a rule 60 look-alike warning, "it is http and loopback" says nothing new
            let (url_checked, token_checked, oidc_checked) = if kind == Some(LoginKind::LookAlike) {
                (None, None, [None, None])
            } else {
                (
                    url.as_ref(),
                    token_url.as_ref(),
                    [issuer.as_ref(), jwks.as_ref()],
                )
            };
            if let Some((s, u)) = url_checked {
                check_idp_url(name, "browserLogin.url", u, s.span, &mut *b.findings);
            }
            if let Some((s, u)) = token_checked {
                check_idp_url(name, "browserLogin.tokenUrl", u, s.span, &mut *b.findings);
            }
            for (what, v) in ["oidc.issuer", "oidc.jwksUrl"]
                .into_iter()
                .zip(oidc_checked)
            {
                if let Some((s, u)) = v {
                    check_idp_url(name, what, u, s.span, &mut *b.findings);
                }
            }
        }
        let rule = &rules::OAUTH_BROWSER_LOGIN_OPTIONS;
        let scope = b.opt_nonempty_with("scope", rule);
        let audience = b.opt_nonempty_with("audience", rule);
        let tuning = read_tuning(&mut b, true, true);
        login = Some((
            url,
            dev_login,
            token_url,
            client_id,
            client_secret,
            scope,
            audience,
            tuning,
        ));
    }

    let gateway = gateway_node
        .map(|n| parse_gateway(name, n, true, findings))
        .unwrap_or_default();
    let id_jag = id_jag_node
        .map(|n| parse_id_jag(name, n, findings))
        .unwrap_or_default();

    let (url, dev_login, token_url, client_id, client_secret, scope, audience, tuning) = login?;
    let trimmed = |s: Option<Spanned<String>>| {
        s.map(|s| s.value.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    Some(OAuthInbound {
        provider: OAuthProvider::Generic,
        issuer: issuer?.0.value,
        jwks_url: jwks?.0.value,
        authorize_url: url?.0.value,
        token_url: token_url.map(|t| t.0.value),
        client_id: trimmed(client_id),
        client_secret: trimmed(client_secret).map(Secret::new),
        scope: scope.map_or_else(|| DEFAULT_SCOPE.to_string(), |s| s.value),
        audience: audience.map(|a| a.value),
        pkce: tuning.pkce,
        remote_timeout_ms: tuning.remote_timeout_ms,
        state_ttl_seconds: tuning.state_ttl_seconds,
        session_ttl_seconds: tuning.session_ttl_seconds,
        gateway,
        id_jag,
        dev_login,
        span: options.span,
    })
}

/// What a wrapper derives from its options (§11).
struct Derived {
    issuer: String,
    jwks_url: String,
    authorize_url: String,
    token_url: String,
    audience: Option<String>,
    /// The option the IdP host came from, for findings about the derived URLs (rules 64, 77).
    span: Span,
    /// The host is the user's (rule 64 applies), not a fixed provider host.
    user_host: bool,
}

impl Derived {
    /// Issuer plus the three endpoint suffixes.
    fn under(issuer: String, jwks: &str, authorize: &str, token: &str, span: Span) -> Derived {
        Derived {
            jwks_url: format!("{issuer}{jwks}"),
            authorize_url: format!("{issuer}{authorize}"),
            token_url: format!("{issuer}{token}"),
            issuer,
            audience: None,
            span,
            user_host: true,
        }
    }
}

/// The option keys of each wrapper besides the common ones.
fn provider_keys(provider: OAuthProvider) -> &'static [&'static str] {
    match provider {
        OAuthProvider::Generic | OAuthProvider::Google | OAuthProvider::Workos => &[],
        OAuthProvider::Auth0 => &["auth0Domain", "audience"],
        OAuthProvider::Okta => &["oktaDomain", "authorizationServerId"],
        OAuthProvider::Entra => &["tenantId"],
        OAuthProvider::Clerk => &["frontendApiUrl"],
        OAuthProvider::Cognito => &["awsRegion", "userPoolId", "userPoolDomain"],
        OAuthProvider::Keycloak => &["keycloakBaseUrl", "realm"],
        OAuthProvider::Logto => &["logtoEndpoint"],
        OAuthProvider::OneLogin => &["oneLoginSubdomain"],
        OAuthProvider::Ping => &["environmentId", "region", "customDomain"],
    }
}

/// A required provider option that must be a string; absence and type errors under `rule`.
fn req_str(r: &mut ObjReader<'_, '_>, key: &str, rule: &'static Rule) -> Option<Spanned<String>> {
    if !r.has(key) {
        r.missing(key, rule);
        return None;
    }
    r.opt_str_with(key, rule)
}

/// A shape finding at the value: `policy `x`: key "value" why`.
fn bad(r: &mut ObjReader<'_, '_>, rule: &'static Rule, key: &str, v: &Spanned<String>, why: &str) {
    let msg = format!("{}: {key} {} {why}", r.ctx, shown(r.get(key), &v.value));
    r.err(rule, v.span, msg);
}

fn is_label(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// Rule 66: `https://<value>` has hostname == host == value (lower-cased), path `/`, no
/// userinfo, query or fragment, and the value has a dot. Returns the host.
fn auth0_host(value: &str) -> Option<String> {
    let lower = value.to_lowercase();
    let u = parse_url(&format!("https://{value}"))?;
    let ok = u.host_str() == Some(lower.as_str())
        && u.port().is_none()
        && u.username().is_empty()
        && u.password().is_none()
        && u.path() == "/"
        && u.query().is_none()
        && u.fragment().is_none()
        && lower.contains('.');
    ok.then_some(lower)
}

/// Rule 67: `<label>.okta.com` or `<label>.oktapreview.com`, at most 253 characters.
fn is_okta_domain(value: &str) -> bool {
    value.len() <= 253
        && [".okta.com", ".oktapreview.com"].iter().any(|suffix| {
            value
                .strip_suffix(suffix)
                .is_some_and(|label| is_label(label, &['-']))
        })
}

/// Rule 69: `<digits>-<[A-Za-z0-9_-]+>.apps.googleusercontent.com`.
fn is_google_client_id(value: &str) -> bool {
    let Some(rest) = value.strip_suffix(".apps.googleusercontent.com") else {
        return false;
    };
    let Some((digits, id)) = rest.split_once('-') else {
        return false;
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && is_label(id, &['_', '-'])
}

/// Rule 71: `^[a-z]{2}(-gov)?-[a-z]+-\d$`.
fn is_aws_region(value: &str) -> bool {
    let lower = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase());
    let parts: Vec<&str> = value.split('-').collect();
    let (cc, area, n) = match parts.as_slice() {
        [cc, area, n] => (*cc, *area, *n),
        [cc, "gov", area, n] => (*cc, *area, *n),
        _ => return false,
    };
    cc.len() == 2
        && lower(cc)
        && lower(area)
        && n.len() == 1
        && n.chars().all(|c| c.is_ascii_digit())
}

/// Rule 76: `^client_[A-Za-z0-9]{20,40}$`.
fn is_workos_client_id(value: &str) -> bool {
    value
        .strip_prefix("client_")
        .is_some_and(|id| (20..=40).contains(&id.len()) && is_label(id, &[]))
}

fn auth0(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::AUTH0_DOMAIN;
    let audience = r.opt_nonempty_with("audience", rule);
    let d = req_str(r, "auth0Domain", rule)?;
    let Some(host) = auth0_host(&d.value) else {
        bad(
            r,
            rule,
            "auth0Domain",
            &d,
            "is not a bare host name such as my-tenant.us.auth0.com (no scheme, port, path or credentials; it must contain a dot)",
        );
        return None;
    };
    let mut out = Derived::under(
        format!("https://{host}"),
        "/.well-known/jwks.json",
        "/authorize",
        "/oauth/token",
        d.span,
    );
    // the Auth0 issuer has a trailing slash (§11)
    out.issuer.push('/');
    out.audience = audience.map(|a| a.value);
    Some(out)
}

fn okta(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::OKTA_DOMAIN;
    let server = r.opt_str_with("authorizationServerId", rule);
    let mut ok = true;
    if let Some(s) = &server
        && !is_label(&s.value, &['_', '-'])
    {
        bad(
            r,
            rule,
            "authorizationServerId",
            s,
            "must be letters, digits, `_` or `-` (e.g. default or aus1a2b3c4d5e6f7g8h9)",
        );
        ok = false;
    }
    let d = req_str(r, "oktaDomain", rule)?;
    if !is_okta_domain(&d.value) {
        bad(
            r,
            rule,
            "oktaDomain",
            &d,
            "must be <org>.okta.com or <org>.oktapreview.com without scheme or path (custom Okta domains are not accepted by the wrapper; use mcp-oauth-inbound)",
        );
        return None;
    }
    if !ok {
        return None;
    }
    let base = format!("https://{}", d.value);
    Some(match server {
        None => Derived {
            jwks_url: format!("{base}/oauth2/v1/keys"),
            authorize_url: format!("{base}/oauth2/v1/authorize"),
            token_url: format!("{base}/oauth2/v1/token"),
            issuer: base,
            audience: None,
            span: d.span,
            user_host: true,
        },
        Some(s) => Derived::under(
            format!("{base}/oauth2/{}", s.value),
            "/v1/keys",
            "/v1/authorize",
            "/v1/token",
            d.span,
        ),
    })
}

fn entra(r: &mut ObjReader<'_, '_>, client_id: Option<&Spanned<String>>) -> Option<Derived> {
    let rule = &rules::ENTRA_IDS;
    let mut ok = true;
    if let Some(c) = client_id
        && !is_uuid(&c.value)
    {
        bad(
            r,
            rule,
            "clientId",
            c,
            "is not a UUID: use the Application (client) ID GUID of the app registration",
        );
        ok = false;
    }
    let t = req_str(r, "tenantId", rule)?;
    if !is_uuid(&t.value) {
        let why = if ["common", "organizations", "consumers"].contains(&t.value.as_str()) {
            "is a multi-tenant alias; the wrapper needs the Directory (tenant) ID GUID"
        } else {
            "is not a UUID: use the Directory (tenant) ID GUID, not a domain or URL"
        };
        bad(r, rule, "tenantId", &t, why);
        return None;
    }
    if !ok {
        return None;
    }
    let mut d = Derived::under(
        format!("https://login.microsoftonline.com/{}", t.value),
        "/discovery/v2.0/keys",
        "/oauth2/v2.0/authorize",
        "/oauth2/v2.0/token",
        t.span,
    );
    d.issuer.push_str("/v2.0");
    d.user_host = false;
    Some(d)
}

fn google(r: &mut ObjReader<'_, '_>, client_id: Option<&Spanned<String>>) -> Option<Derived> {
    let c = client_id?;
    if !is_google_client_id(&c.value) {
        bad(
            r,
            &rules::GOOGLE_CLIENT_ID,
            "clientId",
            c,
            "does not look like <digits>-<id>.apps.googleusercontent.com",
        );
        return None;
    }
    Some(Derived {
        issuer: "https://accounts.google.com".to_string(),
        jwks_url: "https://www.googleapis.com/oauth2/v3/certs".to_string(),
        authorize_url: "https://accounts.google.com/o/oauth2/v2/auth".to_string(),
        token_url: "https://oauth2.googleapis.com/token".to_string(),
        audience: None,
        span: c.span,
        user_host: false,
    })
}

fn clerk(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::CLERK_FRONTEND_API_URL;
    let v = req_str(r, "frontendApiUrl", rule)?;
    let origin = parse_url(&v.value).filter(|u| {
        u.scheme() == "https"
            && u.host_str().is_some()
            && u.username().is_empty()
            && u.password().is_none()
            && u.path() == "/"
            && u.query().is_none()
            && u.fragment().is_none()
    });
    let Some(u) = origin else {
        bad(
            r,
            rule,
            "frontendApiUrl",
            &v,
            "must be an https origin such as https://clerk.example.com (no path, query, fragment or credentials)",
        );
        return None;
    };
    Some(Derived::under(
        u.origin().ascii_serialization(),
        "/.well-known/jwks.json",
        "/oauth/authorize",
        "/oauth/token",
        v.span,
    ))
}

fn cognito(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::COGNITO_OPTIONS;
    let region = req_str(r, "awsRegion", rule);
    let pool = req_str(r, "userPoolId", rule);
    let domain = req_str(r, "userPoolDomain", rule);
    let mut ok = region.is_some() && pool.is_some() && domain.is_some();
    if let Some(g) = &region
        && !is_aws_region(&g.value)
    {
        bad(
            r,
            rule,
            "awsRegion",
            g,
            "is not an AWS region such as us-east-1",
        );
        ok = false;
    }
    if let Some(p) = &pool {
        let shape = p
            .value
            .split_once('_')
            .is_some_and(|(reg, id)| is_aws_region(reg) && is_label(id, &[]));
        if !shape {
            bad(
                r,
                rule,
                "userPoolId",
                p,
                "is not <region>_<id> such as us-east-1_AbC123xyZ",
            );
            ok = false;
        } else if let Some(g) = &region
            && !p.value.starts_with(&format!("{}_", g.value))
        {
            let why = format!(
                "does not start with awsRegion {:?} followed by `_`",
                g.value
            );
            bad(r, rule, "userPoolId", p, &why);
            ok = false;
        }
    }
    if let Some(d) = &domain
        && !(d.value.len() <= 253 && is_label(&d.value, &['.', '-']))
    {
        bad(
            r,
            rule,
            "userPoolDomain",
            d,
            "must be the domain host only (letters, digits, `.` and `-`), e.g. my-app.auth.us-east-1.amazoncognito.com",
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let (region, pool, domain) = (region?, pool?, domain?);
    let issuer = format!(
        "https://cognito-idp.{}.amazonaws.com/{}",
        region.value, pool.value
    );
    Some(Derived {
        jwks_url: format!("{issuer}/.well-known/jwks.json"),
        issuer,
        authorize_url: format!("https://{}/oauth2/authorize", domain.value),
        token_url: format!("https://{}/oauth2/token", domain.value),
        audience: None,
        span: domain.span,
        user_host: true,
    })
}

fn keycloak(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::KEYCLOAK_OPTIONS;
    let realm = req_str(r, "realm", rule);
    let mut ok = realm.is_some();
    if let Some(rl) = &realm
        && !is_label(&rl.value, &['.', '_', '~', '-'])
    {
        bad(
            r,
            rule,
            "realm",
            rl,
            "must be letters, digits, `.`, `_`, `~` or `-`",
        );
        ok = false;
    }
    let b = req_str(r, "keycloakBaseUrl", rule)?;
    let Some(u) = parse_url(&b.value) else {
        bad(r, rule, "keycloakBaseUrl", &b, "is not an absolute URL");
        return None;
    };
    let host = u.host_str().unwrap_or("");
    let why = if !(u.scheme() == "https"
        || (u.scheme() == "http" && ["localhost", "127.0.0.1", "[::1]"].contains(&host)))
    {
        Some("must use https (http only for localhost, 127.0.0.1 or ::1)")
    } else if u.query().is_some() || u.fragment().is_some() {
        Some("must not have a query or fragment")
    } else if u
        .path_segments()
        .is_some_and(|mut s| s.any(|seg| seg == "realms"))
    {
        Some("must be the server root without /realms/… (the realm goes in `realm`)")
    } else {
        None
    };
    if let Some(why) = why {
        bad(r, rule, "keycloakBaseUrl", &b, why);
        return None;
    }
    if !ok {
        return None;
    }
    // every character a valid realm may hold is unreserved, so percent-encoding keeps it as is
    let base = u.as_str().trim_end_matches('/');
    Some(Derived::under(
        format!("{base}/realms/{}", realm?.value),
        "/protocol/openid-connect/certs",
        "/protocol/openid-connect/auth",
        "/protocol/openid-connect/token",
        b.span,
    ))
}

fn logto(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::LOGTO_ENDPOINT;
    let e = req_str(r, "logtoEndpoint", rule)?;
    let trimmed = e.value.trim_end_matches('/');
    let ok = e.value.starts_with("https://")
        && parse_url(trimmed).is_some_and(|u| {
            u.host_str().is_some()
                && u.path() == "/"
                && u.query().is_none()
                && u.fragment().is_none()
        });
    if !ok {
        bad(
            r,
            rule,
            "logtoEndpoint",
            &e,
            "must be an https URL with no path, query or fragment, e.g. https://tenant.logto.app (without /oidc)",
        );
        return None;
    }
    Some(Derived::under(
        format!("{trimmed}/oidc"),
        "/jwks",
        "/auth",
        "/token",
        e.span,
    ))
}

fn onelogin(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::ONELOGIN_SUBDOMAIN;
    let s = req_str(r, "oneLoginSubdomain", rule)?;
    if !(s.value.len() <= 253 && is_label(&s.value, &['_', '-'])) {
        bad(
            r,
            rule,
            "oneLoginSubdomain",
            &s,
            "must be only the subdomain (acme for acme.onelogin.com): letters, digits, `_` or `-`",
        );
        return None;
    }
    Some(Derived::under(
        format!("https://{}.onelogin.com/oidc/2", s.value),
        "/certs",
        "/auth",
        "/token",
        s.span,
    ))
}

fn ping(r: &mut ObjReader<'_, '_>) -> Option<Derived> {
    let rule = &rules::PING_OPTIONS;
    if r.has("customDomain") {
        let mut ok = true;
        for key in ["environmentId", "region"] {
            if r.has(key) {
                let span = r.key_span(key);
                let msg = format!("{}: `{key}` cannot be combined with `customDomain`", r.ctx);
                r.err(rule, span, msg);
                ok = false;
            }
        }
        let c = r.opt_str_with("customDomain", rule)?;
        let v = &c.value;
        if v.is_empty() || v.len() > 253 || v.contains([':', '/']) || !v.contains('.') {
            bad(
                r,
                rule,
                "customDomain",
                &c,
                "must be a host name with a dot and without scheme, port or path, e.g. auth.example.com",
            );
            return None;
        }
        if !ok {
            return None;
        }
        return Some(Derived::under(
            format!("https://{v}/as"),
            "/jwks",
            "/authorize",
            "/token",
            c.span,
        ));
    }
    let names: Vec<&str> = PING_REGIONS.iter().map(|(n, _)| *n).collect();
    let region = r.opt_enum_with("region", &names, rule);
    let region_ok = region.is_some() || !r.has("region");
    if !r.has("environmentId") {
        let span = r.value_span("environmentId");
        let note = r.unset_note("environmentId");
        let msg = format!(
            "{}: `environmentId` (or `customDomain`) is required{note}",
            r.ctx
        );
        r.err(rule, span, msg);
        return None;
    }
    let e = r.opt_str_with("environmentId", rule)?;
    if !is_uuid(&e.value) {
        bad(
            r,
            rule,
            "environmentId",
            &e,
            "is not a UUID: use the PingOne environment ID",
        );
        return None;
    }
    if !region_ok {
        return None;
    }
    let host = region
        .and_then(|g| PING_REGIONS.iter().find(|(n, _)| *n == g.value))
        .map_or(PING_REGIONS[0].1, |(_, h)| *h);
    let mut d = Derived::under(
        format!("https://{host}/{}/as", e.value),
        "/jwks",
        "/authorize",
        "/token",
        e.span,
    );
    d.user_host = false;
    Some(d)
}

fn workos(r: &mut ObjReader<'_, '_>, client_id: Option<&Spanned<String>>) -> Option<Derived> {
    let c = client_id?;
    if !is_workos_client_id(&c.value) {
        bad(
            r,
            &rules::WORKOS_CLIENT_ID,
            "clientId",
            c,
            "does not look like client_<20 to 40 letters or digits>",
        );
        return None;
    }
    Some(Derived {
        issuer: format!("https://api.workos.com/user_management/{}", c.value),
        jwks_url: format!("https://api.workos.com/sso/jwks/{}", c.value),
        authorize_url: "https://api.workos.com/user_management/authorize".to_string(),
        token_url: "https://api.workos.com/user_management/authenticate".to_string(),
        audience: None,
        span: c.span,
        user_host: false,
    })
}

/// `browserLoginOverrides` of a wrapper: real JSON numbers only; no `pkce` for Clerk and OneLogin.
fn parse_overrides(
    provider: OAuthProvider,
    name: &str,
    node: &Node,
    findings: &mut Findings,
) -> Tuning {
    let Some(mut o) = ObjReader::new(
        node,
        format!("policy `{name}`: browserLoginOverrides"),
        &rules::OAUTH_BROWSER_LOGIN_OPTIONS,
        findings,
    ) else {
        return Tuning::default();
    };
    o.strict(
        &[
            "remoteTimeoutMs",
            "stateTtlSeconds",
            "sessionTtlSeconds",
            "pkce",
        ],
        &rules::WRAPPER_OPTIONS,
    );
    let no_pkce = match provider {
        OAuthProvider::Clerk => Some(&rules::CLERK_FRONTEND_API_URL),
        OAuthProvider::OneLogin => Some(&rules::ONELOGIN_SUBDOMAIN),
        _ => None,
    };
    if let Some(rule) = no_pkce
        && let Some(m) = node.member("pkce")
    {
        o.err(
            rule,
            m.key_span,
            format!(
                "policy `{name}`: browserLoginOverrides.pkce is not an option of {}",
                provider.policy_type()
            ),
        );
    }
    read_tuning(&mut o, false, no_pkce.is_none())
}

/// The 11 IdP wrappers (rules 66–77).
fn parse_wrapper(
    provider: OAuthProvider,
    name: &str,
    options: &Node,
    findings: &mut Findings,
) -> Option<OAuthInbound> {
    let wr = &rules::WRAPPER_OPTIONS;
    let mut r = ObjReader::new(options, format!("policy `{name}`"), wr, findings)?;
    let mut allowed = vec![
        "clientId",
        "clientSecret",
        "scope",
        "gateway",
        "idJag",
        "browserLoginOverrides",
    ];
    allowed.extend_from_slice(provider_keys(provider));
    r.strict(&allowed, wr);
    let client_id = r.req_nonempty_with("clientId", wr);
    let client_secret = r.req_nonempty_with("clientSecret", wr);
    let scope = r.opt_nonempty_with("scope", &rules::OAUTH_BROWSER_LOGIN_OPTIONS);
    let derived = match provider {
        OAuthProvider::Generic => None,
        OAuthProvider::Auth0 => auth0(&mut r),
        OAuthProvider::Okta => okta(&mut r),
        OAuthProvider::Entra => entra(&mut r, client_id.as_ref()),
        OAuthProvider::Google => google(&mut r, client_id.as_ref()),
        OAuthProvider::Clerk => clerk(&mut r),
        OAuthProvider::Cognito => cognito(&mut r),
        OAuthProvider::Keycloak => keycloak(&mut r),
        OAuthProvider::Logto => logto(&mut r),
        OAuthProvider::OneLogin => onelogin(&mut r),
        OAuthProvider::Ping => ping(&mut r),
        OAuthProvider::Workos => workos(&mut r, client_id.as_ref()),
    };
    let overrides_node = r.get("browserLoginOverrides");
    let gateway_node = r.get("gateway");
    let id_jag_node = r.get("idJag");
    let findings = r.findings;

    let tuning = overrides_node
        .map(|n| parse_overrides(provider, name, n, findings))
        .unwrap_or_default();
    let gateway = gateway_node
        .map(|n| parse_gateway(name, n, false, findings))
        .unwrap_or_default();
    let id_jag = id_jag_node
        .map(|n| parse_id_jag(name, n, findings))
        .unwrap_or_default();

    let d = derived?;
    // rule 77: the derived configuration goes through the generic schema
    for (what, url) in [
        ("issuer", &d.issuer),
        ("JWKS URL", &d.jwks_url),
        ("authorize URL", &d.authorize_url),
        ("token URL", &d.token_url),
    ] {
        if parse_url(url).is_none() {
            findings.push(
                wr,
                d.span,
                format!("policy `{name}`: the derived {what} {url:?} is not a valid URL"),
            );
        }
    }
    // rule 64: the gateway calls the token URL itself
    if d.user_host
        && let Some(u) = parse_url(&d.token_url)
    {
        check_idp_url(name, "derived token URL", &u, d.span, findings);
    }
    Some(OAuthInbound {
        provider,
        issuer: d.issuer,
        jwks_url: d.jwks_url,
        authorize_url: d.authorize_url,
        token_url: Some(d.token_url),
        client_id: client_id.map(|c| c.value.trim().to_string()),
        client_secret: client_secret.map(|c| Secret::new(c.value.trim())),
        scope: scope.map_or_else(|| DEFAULT_SCOPE.to_string(), |s| s.value),
        audience: d.audience,
        pkce: tuning.pkce,
        remote_timeout_ms: tuning.remote_timeout_ms,
        state_ttl_seconds: tuning.state_ttl_seconds,
        session_ttl_seconds: tuning.session_ttl_seconds,
        gateway,
        id_jag,
        dev_login: false,
        span: options.span,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonc;
    use crate::diag::source::FileId;

    fn run_with(
        provider: OAuthProvider,
        options: &str,
        prefix: &str,
    ) -> (Option<OAuthInbound>, Vec<String>) {
        let node = jsonc::parse(FileId(0), options)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("test options do not parse: {options}"));
        let mut findings = Findings::default();
        let ctx = PolicyContext {
            prefix: prefix.to_string(),
        };
        let out = parse(provider, "p", &node, &ctx, &mut findings);
        let msgs = findings
            .items
            .iter()
            .map(|d| format!("{} {}", d.rule.code, d.message))
            .collect();
        (out, msgs)
    }

    fn run(provider: OAuthProvider, options: &str) -> (Option<OAuthInbound>, Vec<String>) {
        run_with(provider, options, "/__zuplo")
    }

    /// Parses cleanly (no findings at all) and returns issuer, jwks, authorize, token.
    fn urls(provider: OAuthProvider, options: &str) -> [String; 4] {
        let (out, msgs) = run(provider, options);
        assert!(
            msgs.is_empty(),
            "{provider:?}: unexpected findings {msgs:#?}"
        );
        let o = out.unwrap_or_else(|| panic!("{provider:?}: no config"));
        assert_eq!(o.provider, provider);
        [
            o.issuer,
            o.jwks_url,
            o.authorize_url,
            o.token_url.unwrap_or_default(),
        ]
    }

    /// The rule codes of the findings.
    fn codes(msgs: &[String]) -> Vec<&str> {
        msgs.iter().map(|m| &m[..6]).collect()
    }

    const SECRET: &str = r#""clientSecret": "s3cret""#;

    #[test]
    fn generic_federated() {
        let opts = r#"{
            "oidc": { "issuer": "https://idp.example.com", "jwksUrl": "https://idp.example.com/jwks" },
            "browserLogin": {
                "url": "https://idp.example.com/authorize",
                "tokenUrl": "https://idp.example.com/token",
                "clientId": " abc ", "clientSecret": "s3cret",
                "pkce": "S256", "remoteTimeoutMs": "5000", "audience": "api"
            },
            "gateway": { "accessTokenTtlSeconds": 600, "cimdEnabled": false }
        }"#;
        let (out, msgs) = run(OAuthProvider::Generic, opts);
        assert!(msgs.is_empty(), "{msgs:#?}");
        let o = out.expect("config");
        assert_eq!(o.issuer, "https://idp.example.com");
        assert_eq!(o.jwks_url, "https://idp.example.com/jwks");
        assert_eq!(o.authorize_url, "https://idp.example.com/authorize");
        assert_eq!(
            o.token_url.as_deref(),
            Some("https://idp.example.com/token")
        );
        assert_eq!(o.client_id.as_deref(), Some("abc"));
        assert_eq!(o.client_secret.as_ref().map(Secret::expose), Some("s3cret"));
        assert_eq!(o.scope, DEFAULT_SCOPE);
        assert_eq!(o.audience.as_deref(), Some("api"));
        assert_eq!(o.pkce, Pkce::S256);
        assert_eq!(o.remote_timeout_ms, 5000);
        assert_eq!(o.state_ttl_seconds, 900);
        assert_eq!(o.session_ttl_seconds, 28_800);
        assert_eq!(o.gateway.access_token_ttl_seconds, 600);
        assert_eq!(o.gateway.refresh_token_ttl_seconds, 315_360_000);
        assert!(!o.gateway.cimd_enabled);
        assert!(!o.dev_login);
    }

    #[test]
    fn generic_dev_login() {
        let opts = r#"{
            "oidc": { "issuer": "http://127.0.0.1:9000/x", "jwksUrl": "http://127.0.0.1:9000/x/jwks" },
            "browserLogin": { "url": "http://127.0.0.1:9000/__zuplo/oauth/dev-login" }
        }"#;
        let (out, msgs) = run(OAuthProvider::Generic, opts);
        assert!(msgs.is_empty(), "{msgs:#?}");
        let o = out.expect("config");
        assert!(o.dev_login);
        assert_eq!(o.pkce, Pkce::None);
        assert_eq!(o.token_url, None);

        // basePath "/" → empty prefix: the schema's example URL is right there
        let root = opts.replace("/__zuplo/oauth", "/oauth");
        let (out, msgs) = run_with(OAuthProvider::Generic, &root, "");
        assert!(msgs.is_empty(), "{msgs:#?}");
        assert!(out.expect("config").dev_login);

        // … and wrong with the default prefix: a warning, then it is federated
        let (out, msgs) = run(OAuthProvider::Generic, &root);
        assert!(out.is_none());
        assert!(
            msgs[0].starts_with("MCP060") && msgs[0].contains("looks like the dev-login URL"),
            "{msgs:#?}"
        );
        assert_eq!(
            codes(&msgs).iter().filter(|c| **c == "MCP059").count(),
            3,
            "{msgs:#?}"
        );

        // localhost still is dev-login, with a warning
        let local = opts.replace("127.0.0.1:9000/__zuplo", "localhost:9000/__zuplo");
        let (out, msgs) = run(OAuthProvider::Generic, &local);
        assert!(out.expect("config").dev_login);
        assert_eq!(codes(&msgs), ["MCP060"]);
    }

    #[test]
    fn generic_rejections() {
        let (out, msgs) = run(
            OAuthProvider::Generic,
            r#"{ "browserLogin": { "url": "nope" }, "extra": 1 }"#,
        );
        assert!(out.is_none());
        let mut c = codes(&msgs);
        c.sort();
        assert_eq!(c, ["MCP056", "MCP056", "MCP058"], "{msgs:#?}");

        let opts = r#"{
            "oidc": { "issuer": "https://i.example.com", "jwksUrl": "https://i.example.com/k", "audience": "x" },
            "browserLogin": {
                "url": "https://i.example.com/a", "tokenUrl": "http://10.0.0.1/token",
                "clientId": "c", "clientSecret": "s", "pkce": "plain", "sessionTtlSeconds": 0
            },
            "gateway": { "refreshTokenTtlSeconds": -1, "other": true },
            "idJag": { "enabled": true, "trustedIssuers": [{ "issuer": "https://x.example.com" }], "subjectMapping": "email" }
        }"#;
        let (out, msgs) = run(OAuthProvider::Generic, opts);
        assert!(out.is_none());
        let mut c = codes(&msgs);
        c.sort();
        assert_eq!(
            c,
            [
                "MCP061", "MCP061", "MCP062", "MCP062", "MCP063", "MCP063", "MCP064", "MCP065"
            ],
            "{msgs:#?}"
        );
    }

    #[test]
    fn wrapper_derivations() {
        let cases: [(OAuthProvider, String, [&str; 4]); 13] = [
            (
                OAuthProvider::Auth0,
                format!(r#"{{ "auth0Domain": "Acme.us.auth0.com", "clientId": "c", {SECRET} }}"#),
                [
                    "https://acme.us.auth0.com/",
                    "https://acme.us.auth0.com/.well-known/jwks.json",
                    "https://acme.us.auth0.com/authorize",
                    "https://acme.us.auth0.com/oauth/token",
                ],
            ),
            (
                OAuthProvider::Okta,
                format!(r#"{{ "oktaDomain": "acme.okta.com", "clientId": "c", {SECRET} }}"#),
                [
                    "https://acme.okta.com",
                    "https://acme.okta.com/oauth2/v1/keys",
                    "https://acme.okta.com/oauth2/v1/authorize",
                    "https://acme.okta.com/oauth2/v1/token",
                ],
            ),
            (
                OAuthProvider::Okta,
                format!(
                    r#"{{ "oktaDomain": "acme.oktapreview.com", "authorizationServerId": "default", "clientId": "c", {SECRET} }}"#
                ),
                [
                    "https://acme.oktapreview.com/oauth2/default",
                    "https://acme.oktapreview.com/oauth2/default/v1/keys",
                    "https://acme.oktapreview.com/oauth2/default/v1/authorize",
                    "https://acme.oktapreview.com/oauth2/default/v1/token",
                ],
            ),
            (
                OAuthProvider::Entra,
                format!(
                    r#"{{ "tenantId": "11111111-2222-3333-4444-555555555555", "clientId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", {SECRET} }}"#
                ),
                [
                    "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0",
                    "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/discovery/v2.0/keys",
                    "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/authorize",
                    "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token",
                ],
            ),
            (
                OAuthProvider::Google,
                format!(r#"{{ "clientId": "1234-abc_DEF.apps.googleusercontent.com", {SECRET} }}"#),
                [
                    "https://accounts.google.com",
                    "https://www.googleapis.com/oauth2/v3/certs",
                    "https://accounts.google.com/o/oauth2/v2/auth",
                    "https://oauth2.googleapis.com/token",
                ],
            ),
            (
                OAuthProvider::Clerk,
                format!(
                    r#"{{ "frontendApiUrl": "https://clerk.example.com/", "clientId": "c", {SECRET} }}"#
                ),
                [
                    "https://clerk.example.com",
                    "https://clerk.example.com/.well-known/jwks.json",
                    "https://clerk.example.com/oauth/authorize",
                    "https://clerk.example.com/oauth/token",
                ],
            ),
            (
                OAuthProvider::Cognito,
                format!(
                    r#"{{ "awsRegion": "us-gov-west-1", "userPoolId": "us-gov-west-1_AbC123", "userPoolDomain": "acme.auth.us-gov-west-1.amazoncognito.com", "clientId": "c", {SECRET} }}"#
                ),
                [
                    "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_AbC123",
                    "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_AbC123/.well-known/jwks.json",
                    "https://acme.auth.us-gov-west-1.amazoncognito.com/oauth2/authorize",
                    "https://acme.auth.us-gov-west-1.amazoncognito.com/oauth2/token",
                ],
            ),
            (
                OAuthProvider::Keycloak,
                format!(
                    r#"{{ "keycloakBaseUrl": "https://id.example.com/auth//", "realm": "my.realm~1", "clientId": "c", {SECRET} }}"#
                ),
                [
                    "https://id.example.com/auth/realms/my.realm~1",
                    "https://id.example.com/auth/realms/my.realm~1/protocol/openid-connect/certs",
                    "https://id.example.com/auth/realms/my.realm~1/protocol/openid-connect/auth",
                    "https://id.example.com/auth/realms/my.realm~1/protocol/openid-connect/token",
                ],
            ),
            (
                OAuthProvider::Logto,
                format!(
                    r#"{{ "logtoEndpoint": "https://acme.logto.app//", "clientId": "c", {SECRET} }}"#
                ),
                [
                    "https://acme.logto.app/oidc",
                    "https://acme.logto.app/oidc/jwks",
                    "https://acme.logto.app/oidc/auth",
                    "https://acme.logto.app/oidc/token",
                ],
            ),
            (
                OAuthProvider::OneLogin,
                format!(r#"{{ "oneLoginSubdomain": "acme", "clientId": "c", {SECRET} }}"#),
                [
                    "https://acme.onelogin.com/oidc/2",
                    "https://acme.onelogin.com/oidc/2/certs",
                    "https://acme.onelogin.com/oidc/2/auth",
                    "https://acme.onelogin.com/oidc/2/token",
                ],
            ),
            (
                OAuthProvider::Ping,
                format!(
                    r#"{{ "environmentId": "11111111-2222-3333-4444-555555555555", "region": "europe", "clientId": "c", {SECRET} }}"#
                ),
                [
                    "https://auth.pingone.eu/11111111-2222-3333-4444-555555555555/as",
                    "https://auth.pingone.eu/11111111-2222-3333-4444-555555555555/as/jwks",
                    "https://auth.pingone.eu/11111111-2222-3333-4444-555555555555/as/authorize",
                    "https://auth.pingone.eu/11111111-2222-3333-4444-555555555555/as/token",
                ],
            ),
            (
                OAuthProvider::Ping,
                format!(r#"{{ "customDomain": "auth.example.com", "clientId": "c", {SECRET} }}"#),
                [
                    "https://auth.example.com/as",
                    "https://auth.example.com/as/jwks",
                    "https://auth.example.com/as/authorize",
                    "https://auth.example.com/as/token",
                ],
            ),
            (
                OAuthProvider::Workos,
                format!(r#"{{ "clientId": "client_01HXYZABCDEFGHJKMNPQRSTVWX", {SECRET} }}"#),
                [
                    "https://api.workos.com/user_management/client_01HXYZABCDEFGHJKMNPQRSTVWX",
                    "https://api.workos.com/sso/jwks/client_01HXYZABCDEFGHJKMNPQRSTVWX",
                    "https://api.workos.com/user_management/authorize",
                    "https://api.workos.com/user_management/authenticate",
                ],
            ),
        ];
        for (provider, opts, expected) in cases {
            assert_eq!(
                urls(provider, &opts),
                expected.map(String::from),
                "{provider:?}"
            );
        }
    }

    #[test]
    fn ping_default_region_and_wrapper_defaults() {
        let (out, msgs) = run(
            OAuthProvider::Ping,
            r#"{ "environmentId": "11111111-2222-3333-4444-555555555555", "clientId": " c ", "clientSecret": "s",
                 "scope": "openid", "browserLoginOverrides": { "pkce": "S256", "stateTtlSeconds": 60 } }"#,
        );
        assert!(msgs.is_empty(), "{msgs:#?}");
        let o = out.expect("config");
        assert!(o.issuer.starts_with("https://auth.pingone.com/"));
        assert_eq!(o.client_id.as_deref(), Some("c"));
        assert_eq!(o.scope, "openid");
        assert_eq!(o.pkce, Pkce::S256);
        assert_eq!(o.state_ttl_seconds, 60);
        assert_eq!(o.remote_timeout_ms, 10_000);
    }

    #[test]
    fn auth0_audience() {
        let (out, _) = run(
            OAuthProvider::Auth0,
            r#"{ "auth0Domain": "a.auth0.com", "audience": "https://api", "clientId": "c", "clientSecret": "s" }"#,
        );
        assert_eq!(
            out.expect("config").audience.as_deref(),
            Some("https://api")
        );
    }

    /// Each case: provider, options, the rule codes expected (sorted).
    #[test]
    fn wrapper_rejections() {
        let cases: &[(OAuthProvider, &str, &[&str])] = &[
            (
                OAuthProvider::Auth0,
                r#"{ "auth0Domain": "https://a.auth0.com", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP066"],
            ),
            (
                OAuthProvider::Auth0,
                r#"{ "auth0Domain": "localhost", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP066"],
            ),
            (
                OAuthProvider::Auth0,
                r#"{ "auth0Domain": "a.auth0.com", "clientId": " ", "clientSecret": "s", "domain": 1 }"#,
                &["MCP077", "MCP077"],
            ),
            (
                OAuthProvider::Auth0,
                r#"{ "auth0Domain": "a.auth0.com" }"#,
                &["MCP077", "MCP077"],
            ),
            (
                OAuthProvider::Okta,
                r#"{ "oktaDomain": "login.acme.com", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP067"],
            ),
            (
                OAuthProvider::Okta,
                r#"{ "oktaDomain": "acme.okta.com", "authorizationServerId": "a/b", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP067"],
            ),
            (
                OAuthProvider::Entra,
                r#"{ "tenantId": "common", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP068", "MCP068"],
            ),
            (
                OAuthProvider::Google,
                r#"{ "clientId": "abc.apps.googleusercontent.com", "clientSecret": "s" }"#,
                &["MCP069"],
            ),
            (
                OAuthProvider::Clerk,
                r#"{ "frontendApiUrl": "http://clerk.example.com", "clientId": "c", "clientSecret": "s", "browserLoginOverrides": { "pkce": "S256" } }"#,
                &["MCP070", "MCP070"],
            ),
            (
                OAuthProvider::Cognito,
                r#"{ "awsRegion": "us-east-1", "userPoolId": "eu-west-1_abc", "userPoolDomain": "https://x", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP071", "MCP071"],
            ),
            (
                OAuthProvider::Keycloak,
                r#"{ "keycloakBaseUrl": "https://id.example.com/realms/x", "realm": "x", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP072"],
            ),
            (
                OAuthProvider::Keycloak,
                r#"{ "keycloakBaseUrl": "http://id.example.com", "realm": "a b", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP072", "MCP072"],
            ),
            (
                OAuthProvider::Logto,
                r#"{ "logtoEndpoint": "https://acme.logto.app/oidc", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP073"],
            ),
            (
                OAuthProvider::OneLogin,
                r#"{ "oneLoginSubdomain": "acme.onelogin.com", "clientId": "c", "clientSecret": "s", "browserLoginOverrides": { "pkce": "none" } }"#,
                &["MCP074", "MCP074"],
            ),
            (
                OAuthProvider::Ping,
                r#"{ "customDomain": "auth.example.com", "region": "europe", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP075"],
            ),
            (
                OAuthProvider::Ping,
                r#"{ "region": "mars", "clientId": "c", "clientSecret": "s" }"#,
                &["MCP075", "MCP075"],
            ),
            (
                OAuthProvider::Workos,
                r#"{ "clientId": "client_short", "clientSecret": "s" }"#,
                &["MCP076"],
            ),
            (
                OAuthProvider::Workos,
                r#"{ "clientId": "client_01HXYZABCDEFGHJKMNPQRSTVWX", "clientSecret": "s", "gateway": { "accessTokenTtlSeconds": "900" } }"#,
                &["MCP062"],
            ),
            (
                OAuthProvider::Google,
                r#"{ "clientId": "1-a.apps.googleusercontent.com", "clientSecret": "s", "browserLoginOverrides": { "remoteTimeoutMs": "100", "x": 1 } }"#,
                &["MCP061", "MCP077"],
            ),
        ];
        for (provider, opts, expected) in cases {
            let (out, msgs) = run(*provider, opts);
            assert!(out.is_none(), "{provider:?} {opts}: expected rejection");
            let mut c = codes(&msgs);
            c.sort();
            assert_eq!(&c, expected, "{provider:?} {opts}: {msgs:#?}");
            assert!(msgs.iter().all(|m| m.contains("policy `p`")), "{msgs:#?}");
        }
    }

    #[test]
    fn keycloak_localhost_is_allowed_but_warned() {
        let (out, msgs) = run(
            OAuthProvider::Keycloak,
            r#"{ "keycloakBaseUrl": "http://localhost:8080", "realm": "dev", "clientId": "c", "clientSecret": "s" }"#,
        );
        assert_eq!(
            out.expect("config").token_url.as_deref(),
            Some("http://localhost:8080/realms/dev/protocol/openid-connect/token")
        );
        assert_eq!(codes(&msgs), ["MCP064"]);
    }

    #[test]
    fn no_panic_on_odd_shapes() {
        for provider in OAuthProvider::ALL {
            for opts in [
                "[]",
                "null",
                "{}",
                r#"{ "clientId": 1, "clientSecret": [], "gateway": 3, "idJag": "x", "browserLoginOverrides": [] }"#,
            ] {
                let (out, msgs) = run(provider, opts);
                assert!(out.is_none(), "{provider:?} {opts}");
                assert!(!msgs.is_empty());
            }
        }
    }
}
