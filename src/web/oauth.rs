//! The OAuth wire details that the authorization server, the upstream connect flow and the
//! mock's authorization server write the same way.
//!
//! Owns: OAuth error answers ([`OAuthError`], §3.2: status, body and headers decided in one
//! place) and `no-store`, query and form pairs without repeats, the redirect response, HTTP Basic
//! client credentials (RFC 6749 §2.3.1, parsed and built), the session cookie's name and how it
//! is read (§5.5), and the loopback check of dev-login and `--auto-consent`.

use crate::secret::Secret;
use crate::web::encoding::decode_component;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::collections::HashMap;

/// The browser session cookie of the authorization server (§5.5).
pub const SESSION_COOKIE: &str = "zuplo_mcp_session";

/// An OAuth error answer (§3.2): each variant is one `error` code and carries its
/// `error_description`. [`IntoResponse`] is the one place that decides status and headers:
/// `invalid_client` is 401 with a Basic challenge, `server_error` 500, a method the endpoint
/// does not take 405 with `Allow`, everything else 400; the body is never cached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    #[error("invalid_client_metadata: {0}")]
    InvalidClientMetadata(String),
    #[error("invalid_redirect_uri: {0}")]
    InvalidRedirectUri(String),
    /// The server failed; the description is public, the cause goes to the log.
    #[error("server_error: {0}")]
    ServerError(String),
    /// The endpoint does not take this method: 405, `invalid_request`, with `Allow`.
    #[error("invalid_request: method not allowed (allow: {allow})")]
    MethodNotAllowed { allow: &'static str },
    /// An error code none of the variants names (a test double's injected failure): 400.
    #[error("{error}: {description}")]
    Other { error: String, description: String },
}

impl OAuthError {
    /// The `error` code on the wire.
    pub fn error(&self) -> &str {
        match self {
            OAuthError::InvalidRequest(_) | OAuthError::MethodNotAllowed { .. } => {
                "invalid_request"
            }
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::InvalidClientMetadata(_) => "invalid_client_metadata",
            OAuthError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            OAuthError::ServerError(_) => "server_error",
            OAuthError::Other { error, .. } => error,
        }
    }

    /// The `error_description` on the wire.
    pub fn description(&self) -> &str {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidClient(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidTarget(d)
            | OAuthError::InvalidClientMetadata(d)
            | OAuthError::InvalidRedirectUri(d)
            | OAuthError::ServerError(d)
            | OAuthError::Other { description: d, .. } => d,
            OAuthError::MethodNotAllowed { .. } => "Method not allowed.",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient(_) => StatusCode::UNAUTHORIZED,
            OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({"error": self.error(), "error_description": self.description()});
        let mut resp = (self.status(), axum::Json(body)).into_response();
        let h = resp.headers_mut();
        no_store(h);
        match self {
            OAuthError::InvalidClient(_) => {
                h.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"OAuth\""),
                );
            }
            OAuthError::MethodNotAllowed { allow } => {
                h.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        resp
    }
}

/// A name sent twice in a query string or form body (RFC 6749 §3.1: parameters do not repeat).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the parameter {0} is repeated")]
pub struct RepeatedParameter(pub String);

/// The pairs of a query string or form body; a repeated name is an error.
pub fn unique_pairs(raw: &[u8]) -> Result<HashMap<String, String>, RepeatedParameter> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(RepeatedParameter(k.into_owned()));
        }
    }
    Ok(out)
}

pub fn no_store(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// The session token from the `zuplo_mcp_session` cookie.
pub fn session_cookie(headers: &HeaderMap) -> Option<Secret> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == SESSION_COOKIE && !v.is_empty())
        .map(|(_, v)| Secret::new(v))
}

/// The loopback check of dev-login and `--auto-consent`.
pub fn origin_is_loopback_http(origin: &str) -> bool {
    url::Url::parse(origin)
        .ok()
        .filter(|u| u.scheme() == "http")
        .and_then(|u| u.host_str().map(crate::net::addr::is_loopback_host))
        .unwrap_or(false)
}

/// Appends the empty fragment the gateway puts on success redirects (§3.7, rt quirk 16).
/// D7 decides against it: success redirects carry no trailing `#`.
pub fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedBasic;

/// The client id and secret of an `Authorization: Basic` header (RFC 6749 §2.3.1: base64 of
/// the form-urlencoded `id:secret`), or `None` when there is no Basic header.
pub fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), MalformedBasic>> {
    let b64 = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim())?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    Some(
        decoded
            .as_deref()
            .and_then(|d| d.split_once(':'))
            // percent-escapes decoded; a `+` is kept as `+` (as it always was here), not read as
            // the space of RFC 6749 Appendix B, so a raw `+` in a secret still matches
            .map(|(id, secret)| (decode_component(id), decode_component(secret)))
            .ok_or(MalformedBasic),
    )
}

/// The `Authorization` header value of HTTP Basic client authentication (RFC 6749 §2.3.1):
/// both parts form-urlencoded, then base64.
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(client_secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Whether a query string carries an `access_token` parameter (RFC 6750 §2.3, which the gateway
/// does not accept: a token in a URL ends up in logs and browser history).
pub fn query_carries_access_token(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "access_token")
}

/// A query string without its `access_token` parameters, every other parameter byte for byte:
/// what is forwarded upstream (issue #13: a bearer token in a URL never leaves the gateway).
pub fn query_without_access_token(query: &str) -> std::borrow::Cow<'_, str> {
    if !query_carries_access_token(query) {
        return std::borrow::Cow::Borrowed(query);
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            url::form_urlencoded::parse(key.as_bytes())
                .next()
                .is_none_or(|(k, _)| k != "access_token")
        })
        .collect();
    std::borrow::Cow::Owned(kept.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_are_found_and_taken_out_of_queries() {
        assert!(query_carries_access_token("a=1&access_token=x"));
        assert!(query_carries_access_token("access%5Ftoken=x"));
        assert!(!query_carries_access_token("token=x&access=y"));
        assert_eq!(query_without_access_token("a=1&b=%20c"), "a=1&b=%20c");
        assert_eq!(
            query_without_access_token("a=1&access_token=x&b=2&access%5Ftoken=y"),
            "a=1&b=2"
        );
        assert_eq!(query_without_access_token("access_token=x"), "");
    }

    fn with(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("header value"),
        );
        h
    }

    fn parts(e: OAuthError) -> (StatusCode, HeaderMap) {
        let resp = e.into_response();
        (resp.status(), resp.headers().clone())
    }

    #[test]
    fn oauth_errors_map_to_status_and_headers_in_one_place() {
        let (status, h) = parts(OAuthError::InvalidClient("x".into()));
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(h[header::WWW_AUTHENTICATE], "Basic realm=\"OAuth\"");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::PRAGMA], "no-cache");
        let (status, h) = parts(OAuthError::ServerError("x".into()));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!h.contains_key(header::WWW_AUTHENTICATE));
        let (status, h) = parts(OAuthError::MethodNotAllowed { allow: "POST" });
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(h[header::ALLOW], "POST");
        let injected = OAuthError::Other {
            error: "temporarily_unavailable".into(),
            description: "d".into(),
        };
        assert_eq!(injected.error(), "temporarily_unavailable");
        assert_eq!(parts(injected).0, StatusCode::BAD_REQUEST);
        assert_eq!(
            OAuthError::InvalidTarget("resource must match".into()).status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            unique_pairs(b"a=1&b=2&a=3"),
            Err(RepeatedParameter("a".into()))
        );
        assert_eq!(
            unique_pairs(b"a=1&b=%20").map(|m| m["b"].clone()),
            Ok(" ".into())
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        // RFC 6749 §2.3.1: "a:b" and "p%3As" encoded before base64
        let b64 = base64::engine::general_purpose::STANDARD.encode("a%3Ab:p%3As%2B");
        assert_eq!(
            basic_credentials(&with(&format!("Basic {b64}"))),
            Some(Ok(("a:b".to_string(), "p:s+".to_string())))
        );
        assert_eq!(
            basic_credentials(&with(&format!("basic   {b64}"))),
            Some(Ok(("a:b".to_string(), "p:s+".to_string())))
        );
    }

    #[test]
    fn malformed_or_absent_basic_credentials() {
        assert_eq!(basic_credentials(&HeaderMap::new()), None);
        assert_eq!(basic_credentials(&with("Bearer abc")), None);
        assert_eq!(
            basic_credentials(&with("Basic !!!")),
            Some(Err(MalformedBasic))
        );
        let no_colon = base64::engine::general_purpose::STANDARD.encode("abc");
        assert_eq!(
            basic_credentials(&with(&format!("Basic {no_colon}"))),
            Some(Err(MalformedBasic))
        );
    }

    #[test]
    fn basic_authorization_round_trips_through_the_parser() {
        // the encoder escapes `+` and `:`, so what it builds reads back exactly
        let header_value = basic_authorization("a:b", "p:s+x%");
        assert_eq!(
            basic_credentials(&with(&header_value)),
            Some(Ok(("a:b".to_string(), "p:s+x%".to_string())))
        );
    }
}
