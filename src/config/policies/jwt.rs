//! Options of the JWT policy family (SPEC §16.2, §16.3): `open-id-jwt-auth-inbound` and the
//! wrappers for Auth0, Okta, Clerk, Cognito, Firebase, Supabase and PropelAuth, also under the
//! generic policyType `oauth-inbound`.
//!
//! Owns: which export is which member of the family, reading each one's options, and deriving
//! the one [`JwtPolicy`] they all run as (issuer, key source, audience) exactly as the §16.3
//! table says. Rule 90 (both or neither of `jwkUrl` / `secret`) lives here, at the values.
//! Unknown keys are warnings (§16.0). Under `--local-idp` (D25 b) options only the real identity
//! provider needs may be unset: those findings become warnings and the policy still runs,
//! accepting tokens from mcpgw's local issuer.

use super::PolicyContext;
use super::reader::ObjReader;
use crate::config::jsonc::Node;
use crate::diag::diagnostic::{Findings, Severity};
use crate::diag::rules::{self, Rule};
use crate::diag::source::Span;

/// Firebase ID tokens are signed by Google's secure-token service with these keys.
pub const FIREBASE_JWKS_URL: &str =
    "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

/// A member of the JWT family, as the runtime picks it: by `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtProvider {
    OpenId,
    Auth0,
    Okta,
    Clerk,
    Cognito,
    Firebase,
    Supabase,
    PropelAuth,
}

impl JwtProvider {
    pub const ALL: [JwtProvider; 8] = [
        JwtProvider::OpenId,
        JwtProvider::Auth0,
        JwtProvider::Okta,
        JwtProvider::Clerk,
        JwtProvider::Cognito,
        JwtProvider::Firebase,
        JwtProvider::Supabase,
        JwtProvider::PropelAuth,
    ];

    pub fn policy_type(self) -> &'static str {
        match self {
            JwtProvider::OpenId => "open-id-jwt-auth-inbound",
            JwtProvider::Auth0 => "auth0-jwt-auth-inbound",
            JwtProvider::Okta => "okta-jwt-auth-inbound",
            JwtProvider::Clerk => "clerk-jwt-auth-inbound",
            JwtProvider::Cognito => "cognito-jwt-auth-inbound",
            JwtProvider::Firebase => "firebase-jwt-inbound",
            JwtProvider::Supabase => "supabase-jwt-auth-inbound",
            JwtProvider::PropelAuth => "propel-auth-jwt-inbound",
        }
    }

    pub fn export(self) -> &'static str {
        match self {
            JwtProvider::OpenId => "OpenIdJwtInboundPolicy",
            JwtProvider::Auth0 => "Auth0JwtInboundPolicy",
            JwtProvider::Okta => "OktaJwtInboundPolicy",
            JwtProvider::Clerk => "ClerkJwtInboundPolicy",
            JwtProvider::Cognito => "CognitoJwtInboundPolicy",
            JwtProvider::Firebase => "FirebaseJwtInboundPolicy",
            JwtProvider::Supabase => "SupabaseJwtInboundPolicy",
            JwtProvider::PropelAuth => "PropelAuthJwtInboundPolicy",
        }
    }

    pub fn from_policy_type(t: &str) -> Option<JwtProvider> {
        Self::ALL.into_iter().find(|p| p.policy_type() == t)
    }

    pub fn from_export(e: &str) -> Option<JwtProvider> {
        Self::ALL.into_iter().find(|p| p.export() == e)
    }

    /// The options the policy reads besides the two every member accepts.
    fn own_options(self) -> &'static [&'static str] {
        match self {
            JwtProvider::OpenId => &[
                "issuer",
                "audience",
                "jwkUrl",
                "secret",
                "authHeader",
                "subPropertyName",
                "headers",
                "useExperimentalInMemoryCache",
            ],
            JwtProvider::Auth0 => &["auth0Domain", "audience"],
            JwtProvider::Okta => &["issuerUrl", "audience"],
            JwtProvider::Clerk => &["frontendApiUrl"],
            JwtProvider::Cognito => &["region", "userPoolId"],
            JwtProvider::Firebase => &["projectId"],
            JwtProvider::Supabase => &["secret", "requiredClaims"],
            JwtProvider::PropelAuth => &["authUrl", "verifierKey"],
        }
    }
}

/// The generic policyType some projects use with `OpenIdJwtInboundPolicy` or
/// `Auth0JwtInboundPolicy` (§16.0).
pub const GENERIC_POLICY_TYPE: &str = "oauth-inbound";

/// Where a policy's verification keys come from.
#[derive(Debug, Clone, PartialEq)]
pub enum KeySource {
    /// A remote key set, fetched (with these extra request headers) and cached per URL.
    Jwks {
        url: String,
        headers: Vec<(String, String)>,
    },
    /// An HMAC secret (HS256/384/512).
    Secret(crate::secret::Secret),
    /// One RSA public key in SPKI PEM (PropelAuth's `verifierKey`), RS256 only.
    SpkiPem(String),
    /// No usable key (only under `--local-idp`, D25 b): only the local issuer's tokens pass.
    LocalOnly,
}

/// Supabase's `requiredClaims`: `app_metadata.<claim>` must be one of the values.
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredClaim {
    pub claim: String,
    pub allowed: Vec<serde_json::Value>,
}

/// A JWT-family policy as it runs: the OpenID behaviour of §16.2 with derived options.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtPolicy {
    pub provider: JwtProvider,
    /// The `iss` a token must carry; `None`: not checked (no issuer configured).
    pub issuer: Option<String>,
    /// The `aud` a token must carry; `None`: not checked.
    pub audience: Option<String>,
    pub keys: KeySource,
    /// The header that carries the token (default `Authorization`).
    pub auth_header: String,
    pub allow_unauthenticated: bool,
    /// The claim that becomes `request.user.sub` (default `sub`; PropelAuth `user_id`).
    pub sub_property: String,
    pub oauth_resource_metadata: bool,
    pub required_claims: Vec<RequiredClaim>,
}

/// Problems with options only the real identity provider needs: errors, or warnings under
/// `--local-idp` (D25 b) with a note saying so.
struct IdpOnly {
    local_idp: bool,
}

impl IdpOnly {
    fn push(&self, findings: &mut Findings, rule: &'static Rule, span: Span, msg: String) {
        if self.local_idp {
            findings.push_as(
                rule,
                Severity::Warning,
                span,
                format!(
                    "{msg} (a warning under --local-idp: only tokens from mcpgw's local issuer can pass)"
                ),
            );
        } else {
            findings.push(rule, span, msg);
        }
    }
}

/// A required string only the IdP needs; `None` (with a finding) when unset or empty.
fn idp_string(r: &mut ObjReader<'_, '_>, idp: &IdpOnly, key: &str) -> Option<String> {
    if !r.has(key) {
        let msg = format!("{}: `{key}` is required{}", r.ctx, r.unset_note(key));
        let span = r.value_span(key);
        idp.push(r.findings, &rules::POLICY_OPTIONS, span, msg);
        return None;
    }
    // a value of the wrong type is reported by opt_str
    let s = r.opt_str(key)?;
    if s.value.trim().is_empty() {
        let msg = format!("{}: `{key}` must not be empty", r.ctx);
        idp.push(r.findings, &rules::POLICY_OPTIONS, s.span, msg);
        return None;
    }
    Some(s.value)
}

/// An absolute http(s) URL only the IdP needs.
fn idp_url(r: &mut ObjReader<'_, '_>, idp: &IdpOnly, key: &str) -> Option<String> {
    let s = idp_string(r, idp, key)?;
    match url::Url::parse(&s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(s),
        _ => {
            let msg = format!("{}: `{key}` {s:?} is not an absolute http(s) URL", r.ctx);
            let span = r.value_span(key);
            idp.push(r.findings, &rules::POLICY_OPTIONS, span, msg);
            None
        }
    }
}

fn trim_slash(s: &str) -> &str {
    s.strip_suffix('/').unwrap_or(s)
}

/// Reads a JWT-family policy's options. `None` when they cannot run (findings say why).
pub fn parse(
    provider: JwtProvider,
    name: &str,
    options: &Node,
    ctx: &PolicyContext,
    findings: &mut Findings,
) -> Option<JwtPolicy> {
    let mut r = ObjReader::policy(name, options, &rules::POLICY_OPTIONS, findings)?;
    let mut known: Vec<&str> = provider.own_options().to_vec();
    known.extend([
        "allowUnauthenticatedRequests",
        "oAuthResourceMetadataEnabled",
    ]);
    r.lenient(&known);
    let idp = IdpOnly {
        local_idp: ctx.local_idp,
    };
    let allow_unauthenticated = r
        .opt_bool("allowUnauthenticatedRequests")
        .is_some_and(|b| b.value);
    let oauth_resource_metadata = r
        .opt_bool("oAuthResourceMetadataEnabled")
        .is_some_and(|b| b.value);
    let mut policy = JwtPolicy {
        provider,
        issuer: None,
        audience: None,
        keys: KeySource::LocalOnly,
        auth_header: "Authorization".to_string(),
        allow_unauthenticated,
        sub_property: "sub".to_string(),
        oauth_resource_metadata,
        required_claims: Vec::new(),
    };
    let audience = |r: &mut ObjReader<'_, '_>| r.opt_str("audience").map(|s| s.value);
    // `None` from a step below: the options cannot run even under --local-idp
    let ok = match provider {
        JwtProvider::OpenId => open_id(&mut r, &idp, &mut policy),
        JwtProvider::Auth0 => {
            policy.audience = audience(&mut r);
            if let Some(d) = idp_string(&mut r, &idp, "auth0Domain") {
                policy.issuer = Some(format!("https://{d}/"));
                policy.keys = jwks(format!("https://{d}/.well-known/jwks.json"));
            }
            true
        }
        JwtProvider::Okta => {
            policy.audience = audience(&mut r);
            if let Some(u) = idp_url(&mut r, &idp, "issuerUrl") {
                policy.keys = jwks(format!("{}/v1/keys", trim_slash(&u)));
                policy.issuer = Some(u);
            }
            true
        }
        JwtProvider::Clerk => {
            if let Some(u) = idp_string(&mut r, &idp, "frontendApiUrl") {
                let full = if u.contains("://") {
                    u.clone()
                } else {
                    format!("https://{u}")
                };
                match url::Url::parse(&full) {
                    Ok(parsed) if parsed.host_str().is_some() => {
                        let origin = parsed.origin().ascii_serialization();
                        policy.keys = jwks(format!("{origin}/.well-known/jwks.json"));
                        policy.issuer = Some(origin);
                    }
                    _ => {
                        let msg = format!("{}: `frontendApiUrl` {u:?} is not a URL", r.ctx);
                        let span = r.value_span("frontendApiUrl");
                        idp.push(r.findings, &rules::POLICY_OPTIONS, span, msg);
                    }
                }
            }
            true
        }
        JwtProvider::Cognito => {
            let region = idp_string(&mut r, &idp, "region");
            let pool = idp_string(&mut r, &idp, "userPoolId");
            if let (Some(region), Some(pool)) = (region, pool) {
                let iss = format!("https://cognito-idp.{region}.amazonaws.com/{pool}");
                policy.keys = jwks(format!("{iss}/.well-known/jwks.json"));
                policy.issuer = Some(iss);
            }
            true
        }
        JwtProvider::Firebase => {
            if let Some(id) = idp_string(&mut r, &idp, "projectId") {
                policy.issuer = Some(format!("https://securetoken.google.com/{id}"));
                policy.keys = jwks(FIREBASE_JWKS_URL.to_string());
                policy.audience = Some(id);
            }
            true
        }
        JwtProvider::Supabase => {
            if let Some(s) = idp_string(&mut r, &idp, "secret") {
                policy.keys = KeySource::Secret(crate::secret::Secret::new(s));
            }
            match required_claims(&mut r) {
                Some(c) => {
                    policy.required_claims = c;
                    true
                }
                None => false,
            }
        }
        JwtProvider::PropelAuth => {
            policy.sub_property = "user_id".to_string();
            if let Some(u) = idp_url(&mut r, &idp, "authUrl") {
                policy.issuer = Some(u);
            }
            if let Some(k) = idp_string(&mut r, &idp, "verifierKey") {
                if jsonwebtoken::DecodingKey::from_rsa_pem(k.as_bytes()).is_ok() {
                    policy.keys = KeySource::SpkiPem(k);
                } else {
                    let msg = format!(
                        "{}: `verifierKey` is not an RSA public key in PEM (-----BEGIN PUBLIC KEY-----)",
                        r.ctx
                    );
                    let span = r.value_span("verifierKey");
                    idp.push(r.findings, &rules::POLICY_OPTIONS, span, msg);
                }
            }
            true
        }
    };
    if !ok {
        return None;
    }
    // without --local-idp every missing piece above was an error: the project is not served
    Some(policy)
}

fn jwks(url: String) -> KeySource {
    KeySource::Jwks {
        url,
        headers: Vec::new(),
    }
}

/// `OpenIdJwtInboundPolicy`: rule 90 and the options only it has.
fn open_id(r: &mut ObjReader<'_, '_>, idp: &IdpOnly, policy: &mut JwtPolicy) -> bool {
    policy.issuer = r.opt_str("issuer").map(|s| s.value);
    policy.audience = r.opt_str("audience").map(|s| s.value);
    if let Some(h) = r.opt_nonempty("authHeader") {
        policy.auth_header = h.value;
    }
    if let Some(p) = r.opt_nonempty("subPropertyName") {
        policy.sub_property = p.value;
    }
    let mut headers = Vec::new();
    if let Some(mut h) = r.child("headers", &rules::POLICY_OPTIONS) {
        for m in h.members() {
            match m.node.as_str() {
                Some(v) => headers.push((m.key.clone(), v.to_string())),
                None => h.err(
                    &rules::POLICY_OPTIONS,
                    m.node.span,
                    format!("{}: header `{}` must be a string", h.ctx, m.key),
                ),
            }
        }
    }
    // an unset $env() counts as absent for rule 90, which is what the runtime sees
    let jwk = r.get("jwkUrl").and_then(|n| n.as_str()).map(str::to_string);
    let secret = r.get("secret").and_then(|n| n.as_str()).map(str::to_string);
    match (jwk, secret) {
        (Some(_), Some(_)) => {
            let span = r.key_span("secret");
            let ctx = r.ctx.clone();
            r.err(
                &rules::JWT_KEY_SOURCE,
                span,
                format!("{ctx}: both `jwkUrl` and `secret` are set; set exactly one"),
            );
            false
        }
        (None, None) => {
            let note = format!("{}{}", r.unset_note("jwkUrl"), r.unset_note("secret"));
            let msg = format!("{}: neither `jwkUrl` nor `secret` is set{note}", r.ctx);
            let span = r.span();
            idp.push(r.findings, &rules::JWT_KEY_SOURCE, span, msg);
            true
        }
        (Some(url), None) => {
            match url::Url::parse(&url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {
                    policy.keys = KeySource::Jwks { url, headers };
                }
                _ => {
                    let msg = format!("{}: `jwkUrl` {url:?} is not an absolute http(s) URL", r.ctx);
                    let span = r.value_span("jwkUrl");
                    idp.push(r.findings, &rules::POLICY_OPTIONS, span, msg);
                }
            }
            true
        }
        (None, Some(secret)) => {
            if secret.is_empty() {
                let msg = format!("{}: `secret` must not be empty", r.ctx);
                let span = r.value_span("secret");
                idp.push(r.findings, &rules::POLICY_OPTIONS, span, msg);
            } else {
                policy.keys = KeySource::Secret(crate::secret::Secret::new(secret));
            }
            true
        }
    }
}

/// Supabase `requiredClaims`: `{claim: value | [values]}`.
fn required_claims(r: &mut ObjReader<'_, '_>) -> Option<Vec<RequiredClaim>> {
    let Some(node) = r.get("requiredClaims") else {
        return Some(Vec::new());
    };
    let Some(members) = node.as_object() else {
        let msg = format!(
            "{}: `requiredClaims` must be an object of claim -> allowed values, found {}",
            r.ctx,
            node.kind_name()
        );
        r.err(&rules::POLICY_OPTIONS, node.span, msg);
        return None;
    };
    Some(
        members
            .iter()
            .map(|m| RequiredClaim {
                claim: m.key.clone(),
                allowed: match m.node.to_json() {
                    serde_json::Value::Array(items) => items,
                    one => vec![one],
                },
            })
            .collect(),
    )
}

/// The PRM path of a route (§16.2): `/.well-known/oauth-protected-resource<route path>`.
pub fn prm_path(route_path: &str) -> String {
    format!("/.well-known/oauth-protected-resource{route_path}")
}

/// Whether the missing-header 401 of a JWT policy on `route_path` can point at a PRM document
/// (§16.2 [rt]): an `OAuthProtectedResourcePlugin` or the MCP gateway's plugin is registered,
/// or a project route has the route's PRM path.
pub fn prm_route_exists(project: &crate::config::project::Project, route_path: &str) -> bool {
    let wanted = prm_path(route_path);
    project.plugin.protected_resource.is_some()
        || project.plugin.is_registered()
        || project.routes.iter().any(|r| r.path.value == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonc;
    use crate::diag::source::FileId;

    fn run_ctx(
        provider: JwtProvider,
        options: &str,
        local_idp: bool,
    ) -> (Option<JwtPolicy>, Vec<String>) {
        let node = jsonc::parse(FileId(0), options).unwrap().unwrap();
        let mut findings = Findings::default();
        let ctx = PolicyContext {
            prefix: "/__zuplo".to_string(),
            local_idp,
        };
        let out = parse(provider, "p", &node, &ctx, &mut findings);
        let msgs = findings
            .items
            .iter()
            .map(|d| format!("{} {} {}", d.rule.code, d.severity.as_str(), d.message))
            .collect();
        (out, msgs)
    }

    fn clean(provider: JwtProvider, options: &str) -> JwtPolicy {
        let (out, msgs) = run_ctx(provider, options, false);
        assert!(msgs.is_empty(), "{msgs:#?}");
        out.unwrap()
    }

    fn jwks_url(p: &JwtPolicy) -> &str {
        match &p.keys {
            KeySource::Jwks { url, .. } => url,
            other => panic!("not a JWKS: {other:?}"),
        }
    }

    #[test]
    fn open_id_defaults_and_options() {
        let p = clean(
            JwtProvider::OpenId,
            r#"{"issuer":"https://id.example/","audience":"api","jwkUrl":"https://id.example/jwks","headers":{"x-k":"v"}}"#,
        );
        assert_eq!(p.issuer.as_deref(), Some("https://id.example/"));
        assert_eq!(p.audience.as_deref(), Some("api"));
        assert_eq!(p.auth_header, "Authorization");
        assert_eq!(p.sub_property, "sub");
        assert!(!p.allow_unauthenticated && !p.oauth_resource_metadata);
        assert_eq!(
            p.keys,
            KeySource::Jwks {
                url: "https://id.example/jwks".into(),
                headers: vec![("x-k".into(), "v".into())]
            }
        );
        let p = clean(
            JwtProvider::OpenId,
            r#"{"secret":"s3","authHeader":"x-token","subPropertyName":"uid","allowUnauthenticatedRequests":true,"oAuthResourceMetadataEnabled":true}"#,
        );
        assert!(matches!(p.keys, KeySource::Secret(_)));
        assert_eq!(
            (p.auth_header.as_str(), p.sub_property.as_str()),
            ("x-token", "uid")
        );
        assert!(p.allow_unauthenticated && p.oauth_resource_metadata);
    }

    #[test]
    fn rule_90_both_or_neither() {
        let (out, msgs) = run_ctx(
            JwtProvider::OpenId,
            r#"{"jwkUrl":"https://a/j","secret":"s"}"#,
            false,
        );
        assert!(out.is_none());
        assert!(
            msgs[0].starts_with("MCP090 error") && msgs[0].contains("both"),
            "{msgs:?}"
        );
        let (_, msgs) = run_ctx(JwtProvider::OpenId, r#"{"issuer":"x"}"#, false);
        assert!(
            msgs[0].starts_with("MCP090 error") && msgs[0].contains("neither"),
            "{msgs:?}"
        );
        // D25 b: under --local-idp a missing key source is a warning and the policy runs
        let (out, msgs) = run_ctx(JwtProvider::OpenId, r#"{"issuer":"x"}"#, true);
        assert!(msgs[0].starts_with("MCP090 warning"), "{msgs:?}");
        assert_eq!(out.unwrap().keys, KeySource::LocalOnly);
        // both set stays an error: that is no missing secret
        let (_, msgs) = run_ctx(
            JwtProvider::OpenId,
            r#"{"jwkUrl":"https://a/j","secret":"s"}"#,
            true,
        );
        assert!(msgs[0].starts_with("MCP090 error"), "{msgs:?}");
    }

    #[test]
    fn unknown_keys_are_warnings() {
        let (out, msgs) = run_ctx(
            JwtProvider::Auth0,
            r#"{"auth0Domain":"t.auth0.com","audience":"a","clientId":"x"}"#,
            false,
        );
        assert!(out.is_some());
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].starts_with("MCP110 warning") && msgs[0].contains("clientId"));
    }

    #[test]
    fn wrappers_derive_as_the_table_says() {
        let p = clean(
            JwtProvider::Auth0,
            r#"{"auth0Domain":"t.us.auth0.com","audience":"https://gw/mcp"}"#,
        );
        assert_eq!(p.issuer.as_deref(), Some("https://t.us.auth0.com/"));
        assert_eq!(jwks_url(&p), "https://t.us.auth0.com/.well-known/jwks.json");
        assert_eq!(p.audience.as_deref(), Some("https://gw/mcp"));

        let p = clean(
            JwtProvider::Okta,
            r#"{"issuerUrl":"https://o.okta.com/oauth2/default","audience":"api://x"}"#,
        );
        assert_eq!(
            p.issuer.as_deref(),
            Some("https://o.okta.com/oauth2/default")
        );
        assert_eq!(jwks_url(&p), "https://o.okta.com/oauth2/default/v1/keys");

        let p = clean(
            JwtProvider::Clerk,
            r#"{"frontendApiUrl":"clerk.example.com/x"}"#,
        );
        assert_eq!(p.issuer.as_deref(), Some("https://clerk.example.com"));
        assert_eq!(
            jwks_url(&p),
            "https://clerk.example.com/.well-known/jwks.json"
        );
        assert_eq!(p.audience, None);

        let p = clean(
            JwtProvider::Cognito,
            r#"{"region":"eu-west-1","userPoolId":"eu-west-1_abc"}"#,
        );
        assert_eq!(
            p.issuer.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc")
        );
        assert_eq!(
            jwks_url(&p),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
        );

        let p = clean(JwtProvider::Firebase, r#"{"projectId":"proj-1"}"#);
        assert_eq!(
            p.issuer.as_deref(),
            Some("https://securetoken.google.com/proj-1")
        );
        assert_eq!(p.audience.as_deref(), Some("proj-1"));
        assert_eq!(jwks_url(&p), FIREBASE_JWKS_URL);

        let p = clean(
            JwtProvider::Supabase,
            r#"{"secret":"s","requiredClaims":{"user_role":["admin","ops"],"tier":"gold"}}"#,
        );
        assert!(matches!(p.keys, KeySource::Secret(_)));
        assert_eq!(p.required_claims.len(), 2);
        assert_eq!(
            p.required_claims[1].allowed,
            vec![serde_json::json!("gold")]
        );
    }

    #[test]
    fn propel_auth_reads_spki_and_user_id() {
        let (_, msgs) = run_ctx(
            JwtProvider::PropelAuth,
            r#"{"authUrl":"https://auth.example.com","verifierKey":"not a key"}"#,
            false,
        );
        assert!(msgs[0].contains("verifierKey"), "{msgs:?}");
        let (out, _) = run_ctx(
            JwtProvider::PropelAuth,
            r#"{"authUrl":"https://auth.example.com"}"#,
            true,
        );
        let p = out.unwrap();
        assert_eq!(p.sub_property, "user_id");
        assert_eq!(p.issuer.as_deref(), Some("https://auth.example.com"));
    }

    #[test]
    fn missing_idp_options_are_errors_unless_local_idp() {
        let (_, msgs) = run_ctx(JwtProvider::Auth0, r#"{"audience":"a"}"#, false);
        assert!(
            msgs[0].starts_with("MCP110 error") && msgs[0].contains("auth0Domain"),
            "{msgs:?}"
        );
        let (out, msgs) = run_ctx(JwtProvider::Auth0, r#"{"audience":"a"}"#, true);
        assert!(
            msgs[0].starts_with("MCP110 warning") && msgs[0].contains("--local-idp"),
            "{msgs:?}"
        );
        let p = out.unwrap();
        assert_eq!((p.issuer, p.keys), (None, KeySource::LocalOnly));
        for (provider, opts) in [
            (JwtProvider::Okta, "{}"),
            (JwtProvider::Clerk, "{}"),
            (JwtProvider::Cognito, r#"{"region":"x"}"#),
            (JwtProvider::Firebase, "{}"),
            (JwtProvider::Supabase, "{}"),
            (JwtProvider::PropelAuth, "{}"),
        ] {
            let (_, msgs) = run_ctx(provider, opts, false);
            assert!(
                msgs.iter().any(|m| m.starts_with("MCP110 error")),
                "{provider:?} {msgs:?}"
            );
        }
    }

    #[test]
    fn exports_and_types_round_trip() {
        for p in JwtProvider::ALL {
            assert_eq!(JwtProvider::from_export(p.export()), Some(p));
            assert_eq!(JwtProvider::from_policy_type(p.policy_type()), Some(p));
        }
    }
}
