//! `private_key_jwt` client authentication (RFC 7523 §2.2, SPEC §3.11): the client signs a JWT
//! with its own key; the gateway checks it against the client's registered keys (inline `jwks`
//! or `jwks_uri`, fetched through [`crate::net::outbound`] with [`Limits::CLIENT_JWKS`]).
//!
//! Owns: the claim rules (`iss` = `sub` = client id, `aud` = the endpoint URL, `exp` at most an
//! hour ahead) and the replay check of `jti` (kept in memory until the assertion expires).

use super::AuthzRequest;
use crate::net::outbound::{self, Limits, OutboundRequest};
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

async fn keys(ctx: &AuthzRequest<'_>, client: &Client) -> Result<JwkSet, String> {
    if let Some(inline) = &client.jwks {
        return serde_json::from_str(inline).map_err(|e| format!("the client's jwks: {e}"));
    }
    let uri = client
        .jwks_uri
        .as_deref()
        .ok_or("the client has neither jwks_uri nor jwks")?;
    let url = url::Url::parse(uri).map_err(|e| format!("jwks_uri: {e}"))?;
    let fetched = outbound::fetch(
        ctx.env.http,
        OutboundRequest::get(url),
        Limits::CLIENT_JWKS,
        super::cimd::client_url_guard(ctx),
    )
    .await
    .map_err(|e| e.to_string())?;
    if !fetched.status.is_success() {
        return Err(format!(
            "the client's jwks_uri answered HTTP {}",
            fetched.status.as_u16()
        ));
    }
    serde_json::from_slice(&fetched.body).map_err(|e| format!("the client's jwks_uri: {e}"))
}

/// Verifies `assertion` for `client`, accepted at any of `audiences`. The error says why it was
/// refused (for the log; the client only learns `invalid_client`).
pub async fn verify(
    ctx: &AuthzRequest<'_>,
    client: &Client,
    assertion: &str,
    audiences: &[String],
) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("not a JWT: {e}"))?;
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(format!(
            "signed with {:?}; private_key_jwt needs an asymmetric algorithm",
            header.alg
        ));
    }
    let set = keys(ctx, client).await?;
    let jwk = super::oidc::pick_key(&set, header.kid.as_deref())
        .ok_or("no key of the client matches the assertion's kid")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("the client's key: {e}"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[client.id.as_str()]);
    validation.set_audience(audiences);
    validation.sub = Some(client.id.clone());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(assertion, &key, &validation).map_err(|e| {
            match e.kind() {
                ErrorKind::InvalidSignature => "the signature is invalid".to_string(),
                ErrorKind::InvalidIssuer => "iss is not the client id".to_string(),
                ErrorKind::InvalidSubject => "sub is not the client id".to_string(),
                ErrorKind::InvalidAudience => format!("aud is not {}", audiences.join(" or ")),
                ErrorKind::ExpiredSignature => "the assertion has expired".to_string(),
                _ => format!("refused: {e}"),
            }
        })?;
    let now = crate::clock::now_unix();
    let exp = data.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp > now + MAX_LIFETIME_SECONDS {
        return Err("exp is more than an hour ahead".into());
    }
    if let Some(jti) = data.claims.get("jti").and_then(Value::as_str) {
        let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, e| *e >= now);
        if seen.len() >= SEEN_LIMIT {
            return Err("too many assertions in flight".into());
        }
        if seen.insert(format!("{} {jti}", client.id), exp).is_some() {
            return Err("the assertion's jti was already used".into());
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
