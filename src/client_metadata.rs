//! The rules of OAuth client metadata (RFC 7591) that every party applies the same way,
//! written once.
//!
//! Owns: [`ClientAuthMethod`] (`token_endpoint_auth_method`), which redirect URIs may be
//! registered ([`redirect_uri_problem`], §3.5), how a presented redirect URI matches a registered
//! one ([`redirect_uri_matches`], §3.6, RFC 8252 §7.3), and the checks of a client's keys
//! ([`jwks_uri_problem`], [`jwks_problem`]). Users: the store's client records (it re-checks the
//! redirect inside its transaction, which is why this sits below the store), the token-exchange
//! policy's manual registration, DCR and CIMD in `authz`, the upstream client, `oauth walk` and
//! the mock's authorization server. Which methods a party accepts is that party's rule.

use crate::net::outbound::{self, Guard, OutboundError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    None,
    ClientSecretPost,
    ClientSecretBasic,
    PrivateKeyJwt,
}

impl ClientAuthMethod {
    /// The RFC 7591 name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "none" => Self::None,
            "client_secret_post" => Self::ClientSecretPost,
            "client_secret_basic" => Self::ClientSecretBasic,
            "private_key_jwt" => Self::PrivateKeyJwt,
            _ => return None,
        })
    }

    /// Methods authenticated with a client secret.
    pub fn uses_secret(self) -> bool {
        matches!(self, Self::ClientSecretPost | Self::ClientSecretBasic)
    }
}

impl std::fmt::Display for ClientAuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Schemes a native app may not use for its redirect URI.
const FORBIDDEN_SCHEMES: [&str; 12] = [
    "about",
    "blob",
    "data",
    "file",
    "ftp",
    "ftps",
    "javascript",
    "mailto",
    "urn",
    "ws",
    "wss",
    "vbscript",
];

/// Why a redirect URI is refused, or `None` (§3.5).
pub fn redirect_uri_problem(uri: &str) -> Option<String> {
    if uri
        .chars()
        .any(|c| (c as u32) <= 32 || (127..=159).contains(&(c as u32)))
    {
        return Some("contains whitespace or control characters".into());
    }
    let Ok(u) = url::Url::parse(uri) else {
        return Some("is not an absolute URI".into());
    };
    if u.fragment().is_some() || uri.contains('#') {
        return Some("must not have a fragment".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Some("must not carry credentials".into());
    }
    match u.scheme() {
        "https" => None,
        "http" if u.host_str().is_some_and(crate::net::addr::is_loopback_host) => None,
        "http" => {
            Some("must use https (plain http only on loopback: 127.0.0.1, localhost, [::1])".into())
        }
        s if FORBIDDEN_SCHEMES.contains(&s) => Some(format!("uses the forbidden scheme {s}:")),
        _ => None,
    }
}

/// Why a client's `jwks_uri` is refused, or `None` (§3.5): an absolute URL with a path, no
/// fragment, and one the SSRF `guard` would fetch (https to a public host; loopback http only
/// while the gateway listens on loopback). A host name that does not resolve is not refused
/// here: the fetch will say so.
pub async fn jwks_uri_problem(uri: &str, guard: Guard) -> Option<String> {
    let Ok(u) = url::Url::parse(uri) else {
        return Some("is not an absolute URL".into());
    };
    if u.fragment().is_some() {
        return Some("must not have a fragment".into());
    }
    if matches!(u.path(), "" | "/") {
        return Some("must have a path".into());
    }
    match outbound::check_url(&u, guard).await {
        Err(OutboundError::Blocked { why, .. }) => Some(format!("is not allowed: {why}")),
        _ => None,
    }
}

/// Why an inline `jwks` is refused, or `None`: it must be a JWK set with at least one key.
pub fn jwks_problem(v: &Value) -> Option<String> {
    match serde_json::from_value::<jsonwebtoken::jwk::JwkSet>(v.clone()) {
        Ok(set) if !set.keys.is_empty() => None,
        Ok(_) => Some("has no keys".into()),
        Err(e) => Some(format!("is not a JWK set: {e}")),
    }
}

/// §3.6 redirect matching: exact string match, or for loopback `http` URIs the same host, path
/// and query with any port.
pub fn redirect_uri_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    let (Ok(a), Ok(b)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback = |u: &url::Url| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    };
    loopback(&a)
        && loopback(&b)
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && a.fragment().is_none()
        && b.fragment().is_none()
        && a.username().is_empty()
        && b.username().is_empty()
        && a.password().is_none()
        && b.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_ignore_the_port_only() {
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:4711/cb"
        ));
        assert!(redirect_uri_matches(
            "http://localhost:1/cb?a=1",
            "http://localhost:2/cb?a=1"
        ));
        assert!(!redirect_uri_matches(
            "http://localhost/cb",
            "http://localhost:2/other"
        ));
        assert!(!redirect_uri_matches(
            "https://example.com/cb",
            "https://example.com:444/cb"
        ));
        assert!(!redirect_uri_matches("http://localhost/cb", "not a url"));
    }

    #[test]
    fn names_round_trip_as_text_and_json() {
        for m in [
            ClientAuthMethod::None,
            ClientAuthMethod::ClientSecretPost,
            ClientAuthMethod::ClientSecretBasic,
            ClientAuthMethod::PrivateKeyJwt,
        ] {
            assert_eq!(ClientAuthMethod::parse(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).expect("serializes");
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(ClientAuthMethod::parse("client_secret_jwt"), None);
    }
}
