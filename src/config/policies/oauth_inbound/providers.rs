//! The 11 IdP wrappers' own options and what they derive (rules 66–76, SPEC §11).

use super::OAuthProvider;
use super::shown;
use crate::config::policies::reader::{ObjReader, is_uuid, parse_url};
use crate::diag::rules::{self, Rule};
use crate::diag::source::{Span, Spanned};

/// Ping region → auth host (§11); the first is the default.
const PING_REGIONS: [(&str, &str); 6] = [
    ("north-america", "auth.pingone.com"),
    ("canada", "auth.pingone.ca"),
    ("europe", "auth.pingone.eu"),
    ("singapore", "auth.pingone.sg"),
    ("australia", "auth.pingone.com.au"),
    ("asia-pacific", "auth.pingone.asia"),
];

/// Reads and checks the options of `provider`'s wrapper and derives its URLs (§11).
pub(super) fn derive(
    provider: OAuthProvider,
    r: &mut ObjReader<'_, '_>,
    client_id: Option<&Spanned<String>>,
) -> Option<Derived> {
    match provider {
        OAuthProvider::Generic => None,
        OAuthProvider::Auth0 => auth0(r),
        OAuthProvider::Okta => okta(r),
        OAuthProvider::Entra => entra(r, client_id),
        OAuthProvider::Google => google(r, client_id),
        OAuthProvider::Clerk => clerk(r),
        OAuthProvider::Cognito => cognito(r),
        OAuthProvider::Keycloak => keycloak(r),
        OAuthProvider::Logto => logto(r),
        OAuthProvider::OneLogin => onelogin(r),
        OAuthProvider::Ping => ping(r),
        OAuthProvider::Workos => workos(r, client_id),
    }
}

/// What a wrapper derives from its options (§11).
pub(super) struct Derived {
    pub issuer: String,
    pub jwks_url: String,
    pub authorize_url: String,
    pub token_url: String,
    pub audience: Option<String>,
    /// The option the IdP host came from, for findings about the derived URLs (rules 64, 77).
    pub span: Span,
    /// The host is the user's (rule 64 applies), not a fixed provider host.
    pub user_host: bool,
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
pub(super) fn provider_keys(provider: OAuthProvider) -> &'static [&'static str] {
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
