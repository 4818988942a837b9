//! `private_key_jwt` client authentication (RFC 7523 §2.2, SPEC §3.11): the client signs a JWT
//! with its own key; the gateway checks it against the client's registered keys (inline `jwks`
//! or `jwks_uri`, fetched through [`crate::net::outbound`] with [`Limits::CLIENT_JWKS`]).
//!
//! Owns: the claim rules (`iss` = `sub` = client id, `aud` = the endpoint URL, `exp` at most an
//! hour ahead), the replay check of `jti` (kept in memory until the assertion expires), and why
//! an assertion is refused ([`AssertionError`]).

use super::AuthzRequest;
use crate::net::outbound::{self, Limits, OutboundError, OutboundRequest};
use crate::store::Client;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// An assertion may not claim to live longer than this (§3.11).
const MAX_LIFETIME_SECONDS: i64 = 3600;
const SEEN_LIMIT: usize = 100_000;

/// `client id + " " + jti` → the assertion's `exp`: a jti is refused until its assertion expires.
static SEEN: LazyLock<Mutex<HashMap<String, i64>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The `iss` of an assertion, read without verifying it: it only says which client's keys to
/// verify it with.
pub fn unverified_issuer(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims
        .get("iss")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Why a client assertion is refused: for the log and the `invalid_client` description
/// (`Client authentication failed: <this>.`).
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    #[error("the client's jwks: {0}")]
    InlineJwks(serde_json::Error),
    #[error("the client has neither jwks_uri nor jwks")]
    NoKeys,
    #[error("jwks_uri: {0}")]
    JwksUri(url::ParseError),
    #[error(transparent)]
    Fetch(#[from] OutboundError),
    #[error("the client's jwks_uri answered HTTP {0}")]
    JwksStatus(u16),
    #[error("the client's jwks_uri: {0}")]
    JwksDocument(serde_json::Error),
    #[error("not a JWT: {0}")]
    NotAJwt(jsonwebtoken::errors::Error),
    #[error("signed with {0:?}; private_key_jwt needs an asymmetric algorithm")]
    Symmetric(Algorithm),
    #[error("no key of the client matches the assertion's kid")]
    NoMatchingKey,
    #[error("the client's key: {0}")]
    BadKey(jsonwebtoken::errors::Error),
    #[error("the signature is invalid")]
    BadSignature,
    #[error("iss is not the client id")]
    WrongIssuer,
    #[error("sub is not the client id")]
    WrongSubject,
    /// `aud` names none of the accepted endpoints (listed).
    #[error("aud is not {}", .0.join(" or "))]
    WrongAudience(Vec<String>),
    #[error("the assertion has expired")]
    Expired,
    #[error("refused: {0}")]
    Refused(jsonwebtoken::errors::Error),
    #[error("exp is more than an hour ahead")]
    LivesTooLong,
    #[error("too many assertions in flight")]
    TooManyInFlight,
    #[error("the assertion's jti was already used")]
    Replayed,
}

async fn keys(ctx: &AuthzRequest<'_>, client: &Client) -> Result<JwkSet, AssertionError> {
    if let Some(inline) = &client.jwks {
        return serde_json::from_str(inline).map_err(AssertionError::InlineJwks);
    }
    let uri = client.jwks_uri.as_deref().ok_or(AssertionError::NoKeys)?;
    let url = url::Url::parse(uri).map_err(AssertionError::JwksUri)?;
    let fetched = outbound::fetch(
        ctx.env.http,
        OutboundRequest::get(url),
        Limits::CLIENT_JWKS,
        super::cimd::client_url_guard(ctx),
    )
    .await?;
    if !fetched.status.is_success() {
        return Err(AssertionError::JwksStatus(fetched.status.as_u16()));
    }
    serde_json::from_slice(&fetched.body).map_err(AssertionError::JwksDocument)
}

/// Verifies `assertion` for `client`, accepted at any of `audiences`. The error says why it was
/// refused (for the log; the client only learns `invalid_client`).
pub async fn verify(
    ctx: &AuthzRequest<'_>,
    client: &Client,
    assertion: &str,
    audiences: &[String],
) -> Result<(), AssertionError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(AssertionError::NotAJwt)?;
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(AssertionError::Symmetric(header.alg));
    }
    let set = keys(ctx, client).await?;
    let jwk =
        super::oidc::pick_key(&set, header.kid.as_deref()).ok_or(AssertionError::NoMatchingKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(AssertionError::BadKey)?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[client.id.as_str()]);
    validation.set_audience(audiences);
    validation.sub = Some(client.id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(assertion, &key, &validation).map_err(|e| {
            match e.kind() {
                ErrorKind::InvalidSignature => AssertionError::BadSignature,
                ErrorKind::InvalidIssuer => AssertionError::WrongIssuer,
                ErrorKind::InvalidSubject => AssertionError::WrongSubject,
                ErrorKind::InvalidAudience => AssertionError::WrongAudience(audiences.to_vec()),
                ErrorKind::ExpiredSignature => AssertionError::Expired,
                _ => AssertionError::Refused(e),
            }
        })?;
    let now = crate::clock::now_unix();
    let exp = data.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp > now + MAX_LIFETIME_SECONDS {
        return Err(AssertionError::LivesTooLong);
    }
    if let Some(jti) = data.claims.get("jti").and_then(Value::as_str) {
        let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, e| *e >= now);
        if seen.len() >= SEEN_LIMIT {
            return Err(AssertionError::TooManyInFlight);
        }
        if seen.insert(format!("{} {jti}", client.id), exp).is_some() {
            return Err(AssertionError::Replayed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unverified_issuer;

    #[test]
    fn issuer_is_read_from_the_payload() {
        // {"alg":"none"}.{"iss":"dcr:abc"}.
        let jwt = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJkY3I6YWJjIn0.";
        assert_eq!(unverified_issuer(jwt).as_deref(), Some("dcr:abc"));
        assert_eq!(unverified_issuer("garbage"), None);
    }
}
