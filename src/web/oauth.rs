//! The OAuth wire details that the authorization server, the upstream connect flow and the
//! mock's authorization server write the same way.
//!
//! Owns: OAuth error bodies (§3.2) and `no-store`, the redirect response, HTTP Basic client
//! credentials (RFC 6749 §2.3.1, parsed and built), the session cookie's name and how it is
//! read (§5.5), and the loopback check of dev-login and `--auto-consent`.

use crate::secret::Secret;
use crate::web::encoding::decode_component;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// The browser session cookie of the authorization server (§5.5).
pub const SESSION_COOKIE: &str = "zuplo_mcp_session";

/// An OAuth error body (§3.2): `{error, error_description}`, never cached; `invalid_client`
/// is 401 with a Basic challenge.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let status = if error == "invalid_client" {
        StatusCode::UNAUTHORIZED
    } else {
        status
    };
    let body = serde_json::json!({"error": error, "error_description": description});
    let mut resp = (status, axum::Json(body)).into_response();
    no_store(resp.headers_mut());
    if error == "invalid_client" {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"OAuth\""),
        );
    }
    resp
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(authorization: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(authorization).expect("header value"),
        );
        h
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
