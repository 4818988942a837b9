//! The signed values of the connect flow (SPEC §3.14, §3.15, D26): the browser connect ticket
//! (in the `authUrl` of a connect-required error) and the upstream OAuth `state`, both carrying
//! the id of a single-use store record (the signature proves origin, the store single use); and
//! the `requestState` of a 2026-07-28 connect-required `InputRequiredResult`, which binds the
//! caller and the connection and needs no store record (it grants nothing: it only tells the
//! gateway that a retried request answers its own round trip). All are HS256 JWTs with
//! `iss` = `aud` = `zuplo-mcp-gateway` and a purpose claim, valid 900 s.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

pub const ISSUER: &str = "zuplo-mcp-gateway";
pub const TTL_SECONDS: i64 = 900;
/// How long a connect-required `requestState` (D26) is honoured: as long as the connect ticket
/// whose URL rides beside it, so a user who finishes the connect in time retries in time.
pub const REQUEST_STATE_TTL_SECONDS: i64 = 900;
const PURPOSE_TICKET: &str = "browser_connect";
const PURPOSE_STATE: &str = "upstream_oauth_state";
const PURPOSE_REQUEST_STATE: &str = "mcp_request_state";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BrowserTicket {
    pub owner_mode: String,
    pub initiated_by_subject_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_subject_id: Option<String>,
    pub upstream_server_id: String,
    pub auth_profile_id: String,
    pub operation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// The store's single-use ticket token.
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamState {
    pub upstream_server_id: String,
    pub operation_id: String,
    /// The store's single-use state token.
    pub id: String,
}

/// The `requestState` of a connect-required `InputRequiredResult` (D26): who asked, for which
/// connection (owner mode, upstream, auth profile) and which method.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestState {
    pub subject: String,
    pub owner_mode: String,
    pub upstream_server_id: String,
    pub auth_profile_id: String,
    pub method: String,
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    purpose: String,
    #[serde(flatten)]
    body: T,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// `oauth_state_expired`.
    #[error("expired")]
    Expired,
    /// `oauth_state_invalid`: bad signature, wrong purpose, malformed.
    #[error("invalid")]
    Invalid,
}

fn sign<T: Serialize>(key: &[u8; 32], purpose: &str, body: T, now: i64, ttl: i64) -> String {
    let env = Envelope {
        iss: ISSUER.into(),
        aud: ISSUER.into(),
        iat: now,
        exp: now + ttl,
        purpose: purpose.into(),
        body,
    };
    // HS256 over serialisable plain data cannot fail
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &env,
        &EncodingKey::from_secret(key),
    )
    .unwrap_or_default()
}

fn verify<T: for<'de> Deserialize<'de>>(
    key: &[u8; 32],
    purpose: &str,
    token: &str,
    now: i64,
) -> Result<T, TicketError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[ISSUER]);
    v.leeway = 0;
    // expiry is checked against `now` below, so tests and the clock agree
    v.validate_exp = false;
    let data = jsonwebtoken::decode::<Envelope<T>>(token, &DecodingKey::from_secret(key), &v)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TicketError::Expired,
            _ => TicketError::Invalid,
        })?;
    if data.claims.purpose != purpose {
        return Err(TicketError::Invalid);
    }
    if data.claims.exp <= now {
        return Err(TicketError::Expired);
    }
    Ok(data.claims.body)
}

pub fn sign_ticket(key: &[u8; 32], t: &BrowserTicket, now: i64) -> String {
    sign(key, PURPOSE_TICKET, t, now, TTL_SECONDS)
}

pub fn verify_ticket(key: &[u8; 32], token: &str, now: i64) -> Result<BrowserTicket, TicketError> {
    verify(key, PURPOSE_TICKET, token, now)
}

pub fn sign_state(key: &[u8; 32], s: &UpstreamState, now: i64) -> String {
    sign(key, PURPOSE_STATE, s, now, TTL_SECONDS)
}

pub fn verify_state(key: &[u8; 32], token: &str, now: i64) -> Result<UpstreamState, TicketError> {
    verify(key, PURPOSE_STATE, token, now)
}

pub fn sign_request_state(key: &[u8; 32], s: &RequestState, now: i64) -> String {
    sign(
        key,
        PURPOSE_REQUEST_STATE,
        s,
        now,
        REQUEST_STATE_TTL_SECONDS,
    )
}

pub fn verify_request_state(
    key: &[u8; 32],
    token: &str,
    now: i64,
) -> Result<RequestState, TicketError> {
    verify(key, PURPOSE_REQUEST_STATE, token, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> UpstreamState {
        UpstreamState {
            upstream_server_id: "linear".into(),
            operation_id: "op".into(),
            id: "tok".into(),
        }
    }

    #[test]
    fn round_trip_expiry_purpose_and_key() {
        let k = [3u8; 32];
        let s = sign_state(&k, &state(), 1000);
        assert_eq!(verify_state(&k, &s, 1001), Ok(state()));
        assert_eq!(
            verify_state(&k, &s, 1000 + TTL_SECONDS),
            Err(TicketError::Expired)
        );
        assert_eq!(
            verify_state(&[4u8; 32], &s, 1001),
            Err(TicketError::Invalid)
        );
        // a state is not a ticket
        assert_eq!(verify_ticket(&k, &s, 1001), Err(TicketError::Invalid));
        assert_eq!(verify_state(&k, "garbage", 1001), Err(TicketError::Invalid));
    }

    #[test]
    fn a_request_state_is_neither_a_ticket_nor_a_state_and_expires() {
        let k = [3u8; 32];
        let rs = RequestState {
            subject: "alice".into(),
            owner_mode: "user".into(),
            upstream_server_id: "linear".into(),
            auth_profile_id: "linear:user-oauth".into(),
            method: "tools/call".into(),
        };
        let t = sign_request_state(&k, &rs, 1000);
        assert_eq!(verify_request_state(&k, &t, 1001), Ok(rs));
        assert_eq!(
            verify_request_state(&k, &t, 1000 + REQUEST_STATE_TTL_SECONDS),
            Err(TicketError::Expired)
        );
        assert_eq!(verify_state(&k, &t, 1001), Err(TicketError::Invalid));
        assert_eq!(verify_ticket(&k, &t, 1001), Err(TicketError::Invalid));
        let s = sign_state(&k, &state(), 1000);
        assert_eq!(
            verify_request_state(&k, &s, 1001),
            Err(TicketError::Invalid)
        );
    }
}
