//! Unit tests of the MCP OAuth policies: every provider's derivation and rejections.

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
        local_idp: false,
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

/// Each wrapper has one descriptor, whose own option keys are listed in the order the
/// unknown-option message (rule 77) shows them.
#[test]
fn every_wrapper_has_one_descriptor() {
    let expected: [(OAuthProvider, &[&str]); 11] = [
        (OAuthProvider::Auth0, &["auth0Domain", "audience"]),
        (
            OAuthProvider::Okta,
            &["oktaDomain", "authorizationServerId"],
        ),
        (OAuthProvider::Entra, &["tenantId"]),
        (OAuthProvider::Google, &[]),
        (OAuthProvider::Clerk, &["frontendApiUrl"]),
        (
            OAuthProvider::Cognito,
            &["awsRegion", "userPoolId", "userPoolDomain"],
        ),
        (OAuthProvider::Keycloak, &["keycloakBaseUrl", "realm"]),
        (OAuthProvider::Logto, &["logtoEndpoint"]),
        (OAuthProvider::OneLogin, &["oneLoginSubdomain"]),
        (
            OAuthProvider::Ping,
            &["environmentId", "region", "customDomain"],
        ),
        (OAuthProvider::Workos, &[]),
    ];
    assert!(providers::find(OAuthProvider::Generic).is_none());
    for (provider, keys) in expected {
        let found: Vec<_> = providers::IDPS
            .iter()
            .filter(|idp| idp.provider == provider)
            .collect();
        assert_eq!(found.len(), 1, "{provider:?}");
        assert_eq!(found[0].keys(), keys, "{provider:?}");
    }
}

#[test]
fn url_templates() {
    let mut v = idp::Values::default();
    v.set("d", "acme.okta.com".to_string());
    let t = "https://{d}/oauth2[/{as}]/v1/keys";
    assert_eq!(
        idp::render(t, &v).as_deref(),
        Some("https://acme.okta.com/oauth2/v1/keys")
    );
    v.set("as", "default".to_string());
    assert_eq!(
        idp::render(t, &v).as_deref(),
        Some("https://acme.okta.com/oauth2/default/v1/keys")
    );
    // a value is filled in once, never read as a template itself
    v.set("d", "{as}".to_string());
    assert_eq!(idp::render("{d}", &v).as_deref(), Some("{as}"));
    // a value missing outside a group, or a malformed template, is a table mistake
    for bad in ["{nope}", "https://{d", "https://[{d}"] {
        assert_eq!(idp::render(bad, &v), None, "{bad}");
    }
}
