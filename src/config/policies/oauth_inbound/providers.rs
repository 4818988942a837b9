//! The 11 IdP wrappers as data: one [`Idp`] each (rules 66–76, SPEC §2.8 and §11).
//!
//! Owns: which options each wrapper has, which check each value gets, and the URL templates
//! of the §11 table; plus Ping's reading, the one wrapper whose options depend on each other
//! (`customDomain`, or `environmentId` with a `region`).

use super::OAuthProvider;
use super::idp::{Check, Field, Idp, Options, Read, Values, bad};
use super::shapes;
use crate::config::policies::reader::{ObjReader, is_uuid};
use crate::diag::rules::{self, Rule};

/// The descriptor of a wrapper; `None` for the generic policy.
pub(super) fn find(provider: OAuthProvider) -> Option<&'static Idp> {
    IDPS.iter().find(|idp| idp.provider == provider)
}

pub(super) static IDPS: [Idp; 11] = [
    Idp {
        provider: OAuthProvider::Auth0,
        rule: &rules::AUTH0_DOMAIN,
        options: Options::Fields {
            fields: &[
                Field::required("auth0Domain", Check::Map(shapes::auth0_domain)),
                Field::optional_nonempty("audience"),
            ],
            anchor: "auth0Domain",
            user_host: true,
        },
        // the Auth0 issuer has a trailing slash
        issuer: "https://{auth0Domain}/",
        jwks: "https://{auth0Domain}/.well-known/jwks.json",
        authorize: "https://{auth0Domain}/authorize",
        token: "https://{auth0Domain}/oauth/token",
        audience: Some("audience"),
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::Okta,
        rule: &rules::OKTA_DOMAIN,
        options: Options::Fields {
            fields: &[
                Field::required(
                    "oktaDomain",
                    Check::Is(
                        shapes::is_okta_domain,
                        "must be <org>.okta.com or <org>.oktapreview.com without scheme or path (custom Okta domains are not accepted by the wrapper; use mcp-oauth-inbound)",
                    ),
                ),
                Field::optional(
                    "authorizationServerId",
                    Check::Is(
                        shapes::is_okta_server_id,
                        "must be letters, digits, `_` or `-` (e.g. default or aus1a2b3c4d5e6f7g8h9)",
                    ),
                ),
            ],
            anchor: "oktaDomain",
            user_host: true,
        },
        // the org authorization server, or a custom one
        issuer: "https://{oktaDomain}[/oauth2/{authorizationServerId}]",
        jwks: "https://{oktaDomain}/oauth2[/{authorizationServerId}]/v1/keys",
        authorize: "https://{oktaDomain}/oauth2[/{authorizationServerId}]/v1/authorize",
        token: "https://{oktaDomain}/oauth2[/{authorizationServerId}]/v1/token",
        audience: None,
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::Entra,
        rule: &rules::ENTRA_IDS,
        options: Options::Fields {
            fields: &[
                Field::client_id(Check::Is(
                    is_uuid,
                    "is not a UUID: use the Application (client) ID GUID of the app registration",
                )),
                Field::required("tenantId", Check::Map(shapes::entra_tenant)),
            ],
            anchor: "tenantId",
            user_host: false,
        },
        issuer: "https://login.microsoftonline.com/{tenantId}/v2.0",
        jwks: "https://login.microsoftonline.com/{tenantId}/discovery/v2.0/keys",
        authorize: "https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/authorize",
        token: "https://login.microsoftonline.com/{tenantId}/oauth2/v2.0/token",
        audience: None,
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::Google,
        rule: &rules::GOOGLE_CLIENT_ID,
        options: Options::Fields {
            fields: &[Field::client_id(Check::Is(
                shapes::is_google_client_id,
                "does not look like <digits>-<id>.apps.googleusercontent.com",
            ))],
            anchor: "clientId",
            user_host: false,
        },
        issuer: "https://accounts.google.com",
        jwks: "https://www.googleapis.com/oauth2/v3/certs",
        authorize: "https://accounts.google.com/o/oauth2/v2/auth",
        token: "https://oauth2.googleapis.com/token",
        audience: None,
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::Clerk,
        rule: &rules::CLERK_FRONTEND_API_URL,
        options: Options::Fields {
            fields: &[Field::required(
                "frontendApiUrl",
                Check::Map(shapes::clerk_origin),
            )],
            anchor: "frontendApiUrl",
            user_host: true,
        },
        issuer: "{frontendApiUrl}",
        jwks: "{issuer}/.well-known/jwks.json",
        authorize: "{issuer}/oauth/authorize",
        token: "{issuer}/oauth/token",
        audience: None,
        pkce: false,
    },
    Idp {
        provider: OAuthProvider::Cognito,
        rule: &rules::COGNITO_OPTIONS,
        options: Options::Fields {
            fields: &[
                Field::required(
                    "awsRegion",
                    Check::Is(
                        shapes::is_aws_region,
                        "is not an AWS region such as us-east-1",
                    ),
                ),
                Field::required("userPoolId", Check::Map(shapes::cognito_pool)),
                Field::required(
                    "userPoolDomain",
                    Check::Is(
                        shapes::is_cognito_domain,
                        "must be the domain host only (letters, digits, `.` and `-`), e.g. my-app.auth.us-east-1.amazoncognito.com",
                    ),
                ),
            ],
            anchor: "userPoolDomain",
            user_host: true,
        },
        issuer: "https://cognito-idp.{awsRegion}.amazonaws.com/{userPoolId}",
        jwks: "{issuer}/.well-known/jwks.json",
        authorize: "https://{userPoolDomain}/oauth2/authorize",
        token: "https://{userPoolDomain}/oauth2/token",
        audience: None,
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::Keycloak,
        rule: &rules::KEYCLOAK_OPTIONS,
        options: Options::Fields {
            fields: &[
                Field::required("keycloakBaseUrl", Check::Map(shapes::keycloak_base)),
                Field::required(
                    "realm",
                    Check::Is(
                        shapes::is_keycloak_realm,
                        "must be letters, digits, `.`, `_`, `~` or `-`",
                    ),
                ),
            ],
            anchor: "keycloakBaseUrl",
            user_host: true,
        },
        issuer: "{keycloakBaseUrl}/realms/{realm}",
        jwks: "{issuer}/protocol/openid-connect/certs",
        authorize: "{issuer}/protocol/openid-connect/auth",
        token: "{issuer}/protocol/openid-connect/token",
        audience: None,
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::Logto,
        rule: &rules::LOGTO_ENDPOINT,
        options: Options::Fields {
            fields: &[Field::required(
                "logtoEndpoint",
                Check::Map(shapes::logto_endpoint),
            )],
            anchor: "logtoEndpoint",
            user_host: true,
        },
        issuer: "{logtoEndpoint}/oidc",
        jwks: "{issuer}/jwks",
        authorize: "{issuer}/auth",
        token: "{issuer}/token",
        audience: None,
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::OneLogin,
        rule: &rules::ONELOGIN_SUBDOMAIN,
        options: Options::Fields {
            fields: &[Field::required(
                "oneLoginSubdomain",
                Check::Is(
                    shapes::is_onelogin_subdomain,
                    "must be only the subdomain (acme for acme.onelogin.com): letters, digits, `_` or `-`",
                ),
            )],
            anchor: "oneLoginSubdomain",
            user_host: true,
        },
        issuer: "https://{oneLoginSubdomain}.onelogin.com/oidc/2",
        jwks: "{issuer}/certs",
        authorize: "{issuer}/auth",
        token: "{issuer}/token",
        audience: None,
        pkce: false,
    },
    Idp {
        provider: OAuthProvider::Ping,
        rule: &rules::PING_OPTIONS,
        options: Options::Custom {
            keys: &["environmentId", "region", "customDomain"],
            read: read_ping,
        },
        // `customDomain`, or the region's host and `environmentId`
        issuer: "https://[{customDomain}][{regionHost}/{environmentId}]/as",
        jwks: "{issuer}/jwks",
        authorize: "{issuer}/authorize",
        token: "{issuer}/token",
        audience: None,
        pkce: true,
    },
    Idp {
        provider: OAuthProvider::Workos,
        rule: &rules::WORKOS_CLIENT_ID,
        options: Options::Fields {
            fields: &[Field::client_id(Check::Is(
                shapes::is_workos_client_id,
                "does not look like client_<20 to 40 letters or digits>",
            ))],
            anchor: "clientId",
            user_host: false,
        },
        issuer: "https://api.workos.com/user_management/{clientId}",
        jwks: "https://api.workos.com/sso/jwks/{clientId}",
        authorize: "https://api.workos.com/user_management/authorize",
        token: "https://api.workos.com/user_management/authenticate",
        audience: None,
        pkce: true,
    },
];

/// Ping region → auth host (§11); the first is the default.
const PING_REGIONS: [(&str, &str); 6] = [
    ("north-america", "auth.pingone.com"),
    ("canada", "auth.pingone.ca"),
    ("europe", "auth.pingone.eu"),
    ("singapore", "auth.pingone.sg"),
    ("australia", "auth.pingone.com.au"),
    ("asia-pacific", "auth.pingone.asia"),
];

/// Rule 75: `customDomain` alone, or `environmentId` (a UUID) with an optional `region`.
/// Gives `customDomain`, or `regionHost` and `environmentId`.
fn read_ping(r: &mut ObjReader<'_, '_>, rule: &'static Rule) -> Option<Read> {
    let mut values = Values::default();
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
        if !shapes::is_ping_custom_domain(&c.value) {
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
        values.set("customDomain", c.value);
        return Some(Read {
            values,
            anchor: c.span,
            user_host: true,
        });
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
    values.set("regionHost", host.to_string());
    values.set("environmentId", e.value);
    Some(Read {
        values,
        anchor: e.span,
        user_host: false,
    })
}
