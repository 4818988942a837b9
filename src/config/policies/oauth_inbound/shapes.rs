//! What the IdP wrappers' option values must look like (rules 66–76).
//!
//! Owns: the tests on single values (`is_…`) and the checks that also normalise the value or
//! give a reason that depends on it (`Check::Map` functions), which the `providers` table
//! names. Nothing here reads options or reports; `idp` does.

use std::borrow::Cow;

use super::idp::{Values, Why};
use crate::config::policies::reader::{is_uuid, parse_url};

fn is_label(s: &str, extra: &[char]) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// No user name or password in the URL.
fn no_credentials(u: &url::Url) -> bool {
    u.username().is_empty() && u.password().is_none()
}

/// Nothing after the host: path `/`, no query, no fragment.
fn origin_only(u: &url::Url) -> bool {
    u.path() == "/" && u.query().is_none() && u.fragment().is_none()
}

/// Rule 66: `https://<value>` has hostname == host == value (lower-cased), path `/`, no
/// userinfo, query or fragment, and the value has a dot. Gives the host.
pub(super) fn auth0_domain(value: &str, _: &Values) -> Result<String, Why> {
    let lower = value.to_lowercase();
    let ok = parse_url(&format!("https://{value}")).is_some_and(|u| {
        u.host_str() == Some(lower.as_str())
            && u.port().is_none()
            && no_credentials(&u)
            && origin_only(&u)
            && lower.contains('.')
    });
    if !ok {
        return Err(Cow::Borrowed(
            "is not a bare host name such as my-tenant.us.auth0.com (no scheme, port, path or credentials; it must contain a dot)",
        ));
    }
    Ok(lower)
}

/// Rule 67: `<label>.okta.com` or `<label>.oktapreview.com`, at most 253 characters.
pub(super) fn is_okta_domain(value: &str) -> bool {
    value.len() <= 253
        && [".okta.com", ".oktapreview.com"].iter().any(|suffix| {
            value
                .strip_suffix(suffix)
                .is_some_and(|label| is_label(label, &['-']))
        })
}

/// Rule 67: `[A-Za-z0-9_-]+`.
pub(super) fn is_okta_server_id(value: &str) -> bool {
    is_label(value, &['_', '-'])
}

/// Rule 68: a UUID, with a reason for the multi-tenant aliases.
pub(super) fn entra_tenant(value: &str, _: &Values) -> Result<String, Why> {
    if is_uuid(value) {
        return Ok(value.to_string());
    }
    Err(Cow::Borrowed(
        if ["common", "organizations", "consumers"].contains(&value) {
            "is a multi-tenant alias; the wrapper needs the Directory (tenant) ID GUID"
        } else {
            "is not a UUID: use the Directory (tenant) ID GUID, not a domain or URL"
        },
    ))
}

/// Rule 69: `<digits>-<[A-Za-z0-9_-]+>.apps.googleusercontent.com`.
pub(super) fn is_google_client_id(value: &str) -> bool {
    let Some(rest) = value.strip_suffix(".apps.googleusercontent.com") else {
        return false;
    };
    let Some((digits, id)) = rest.split_once('-') else {
        return false;
    };
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && is_label(id, &['_', '-'])
}

/// Rule 70: an https origin (no userinfo, path `/`, no query or fragment). Gives the origin.
pub(super) fn clerk_origin(value: &str, _: &Values) -> Result<String, Why> {
    parse_url(value)
        .filter(|u| {
            u.scheme() == "https" && u.host_str().is_some() && no_credentials(u) && origin_only(u)
        })
        .map(|u| u.origin().ascii_serialization())
        .ok_or(Cow::Borrowed(
            "must be an https origin such as https://clerk.example.com (no path, query, fragment or credentials)",
        ))
}

/// Rule 71: `^[a-z]{2}(-gov)?-[a-z]+-\d$`.
pub(super) fn is_aws_region(value: &str) -> bool {
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

/// Rule 71: `<region>_<id>`, starting with `awsRegion` as written when that is a string.
pub(super) fn cognito_pool(value: &str, read: &Values) -> Result<String, Why> {
    let shape = value
        .split_once('_')
        .is_some_and(|(region, id)| is_aws_region(region) && is_label(id, &[]));
    if !shape {
        return Err(Cow::Borrowed(
            "is not <region>_<id> such as us-east-1_AbC123xyZ",
        ));
    }
    if let Some(region) = read.get("awsRegion")
        && !value.starts_with(&format!("{region}_"))
    {
        return Err(Cow::Owned(format!(
            "does not start with awsRegion {region:?} followed by `_`"
        )));
    }
    Ok(value.to_string())
}

/// Rule 71: the domain host only, at most 253 characters.
pub(super) fn is_cognito_domain(value: &str) -> bool {
    value.len() <= 253 && is_label(value, &['.', '-'])
}

/// Rule 72: an absolute https URL (http for loopback), no query or fragment, no `realms`
/// segment. Gives it without trailing slashes.
pub(super) fn keycloak_base(value: &str, _: &Values) -> Result<String, Why> {
    let Some(u) = parse_url(value) else {
        return Err(Cow::Borrowed("is not an absolute URL"));
    };
    let host = u.host_str().unwrap_or("");
    let why = if !(u.scheme() == "https"
        || (u.scheme() == "http" && ["localhost", "127.0.0.1", "[::1]"].contains(&host)))
    {
        "must use https (http only for localhost, 127.0.0.1 or ::1)"
    } else if u.query().is_some() || u.fragment().is_some() {
        "must not have a query or fragment"
    } else if u
        .path_segments()
        .is_some_and(|mut s| s.any(|seg| seg == "realms"))
    {
        "must be the server root without /realms/… (the realm goes in `realm`)"
    } else {
        return Ok(u.as_str().trim_end_matches('/').to_string());
    };
    Err(Cow::Borrowed(why))
}

/// Rule 72: `[A-Za-z0-9._~-]+`. Every such character is unreserved, so percent-encoding the
/// realm into the path keeps it as is.
pub(super) fn is_keycloak_realm(value: &str) -> bool {
    is_label(value, &['.', '_', '~', '-'])
}

/// Rule 73: `https://` with no path (after trailing slashes), query or fragment. Gives it
/// without trailing slashes.
pub(super) fn logto_endpoint(value: &str, _: &Values) -> Result<String, Why> {
    let trimmed = value.trim_end_matches('/');
    let ok = value.starts_with("https://")
        && parse_url(trimmed).is_some_and(|u| u.host_str().is_some() && origin_only(&u));
    if !ok {
        return Err(Cow::Borrowed(
            "must be an https URL with no path, query or fragment, e.g. https://tenant.logto.app (without /oidc)",
        ));
    }
    Ok(trimmed.to_string())
}

/// Rule 74: `[A-Za-z0-9_-]+`, at most 253 characters.
pub(super) fn is_onelogin_subdomain(value: &str) -> bool {
    value.len() <= 253 && is_label(value, &['_', '-'])
}

/// Rule 75: a host name with a dot, without scheme, port or path, at most 253 characters.
pub(super) fn is_ping_custom_domain(value: &str) -> bool {
    !value.is_empty() && value.len() <= 253 && !value.contains([':', '/']) && value.contains('.')
}

/// Rule 76: `^client_[A-Za-z0-9]{20,40}$`.
pub(super) fn is_workos_client_id(value: &str) -> bool {
    value
        .strip_prefix("client_")
        .is_some_and(|id| (20..=40).contains(&id.len()) && is_label(id, &[]))
}
