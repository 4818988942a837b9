//! `api-key-inbound` at run time (SPEC §16.1, D21): the key from the policy's header, checked
//! against the local consumer store that `mcpgw keys` manages.
//!
//! Owns: reading the key exactly as 7.6.4 does (header, scheme compared case-insensitively,
//! `"<scheme> "` removed case-sensitively), the four 401 answers of §16.1 (plain problem
//! documents, no `WWW-Authenticate`), and the `request.user` of a valid key:
//! `{sub: <consumer name>, data: <consumer metadata>, apiKeyId: <key id>}`.
//!
//! Choices:
//! * No answer cache. Zuplo caches positive answers for `cacheTtlSeconds` because its key
//!   service is remote; the local store is a SQLite file on this machine, so every request reads
//!   it by the key's hash. A key made with `mcpgw keys create` while `mcpgw dev` runs works at
//!   once, and a revoked or expired one is refused on the next request.
//! * The header stays: Zuplo's policy does not remove it (only the MCP OAuth policy removes its
//!   token, §3.17), so the handler and tool routes (§15.6) see it as sent.

use crate::config::policies::api_key::ApiKeyPolicy;
use crate::secret::Secret;
use crate::store::{ApiKeyOutcome, AsyncStore};
use crate::web::problem::{GatewayError, Problem};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

/// Why a request was refused; the message is the problem's `detail` (§16.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("No Authorization Header")]
    NoHeader,
    #[error("Invalid Authorization Scheme")]
    BadScheme,
    #[error("No key present")]
    NoKey,
    /// Unknown, revoked or expired: one answer for all three.
    #[error("Authorization Failed")]
    Failed,
}

impl Refusal {
    /// A plain 401 problem: the API-key policy sends no challenge.
    pub fn problem(self) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, self.to_string())
    }
}

/// The key in the request, or why there is none (§16.1 order).
pub fn presented_key(policy: &ApiKeyPolicy, headers: &HeaderMap) -> Result<Secret, Refusal> {
    let Some(value) = headers.get(policy.auth_header.as_str()) else {
        return Err(Refusal::NoHeader);
    };
    // a header that is not text cannot start with the scheme, nor hold a key
    let value = value.to_str().map_err(|_| Refusal::BadScheme)?;
    let scheme = policy.auth_scheme.as_str();
    let starts = value
        .get(..scheme.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(scheme));
    if !starts {
        return Err(Refusal::BadScheme);
    }
    let key = if scheme.is_empty() {
        value
    } else {
        // removed case-sensitively, as 7.6.4's `replace()` does (its first occurrence):
        // `bearer zpka_…` keeps its prefix and fails the lookup
        &value.replacen(&format!("{scheme} "), "", 1)
    };
    if key.is_empty() {
        return Err(Refusal::NoKey);
    }
    Ok(Secret::new(key.to_string()))
}

/// The policy step: `Ok(Some(user))` for a valid key, `Ok(None)` to go on without a user
/// (`allowUnauthenticatedRequests`), or the problem to answer with. A store failure is a 500
/// whatever the options say: it is not the caller's fault.
pub async fn check(
    store: &AsyncStore,
    now: i64,
    policy: &ApiKeyPolicy,
    headers: &HeaderMap,
) -> Result<Option<Value>, Problem> {
    let refused = |r: Refusal| {
        if policy.allow_unauthenticated {
            Ok(None)
        } else {
            Err(r.problem())
        }
    };
    let key = match presented_key(policy, headers) {
        Ok(k) => k,
        Err(r) => return refused(r),
    };
    let outcome = store
        .run(move |s| s.validate_api_key(&key, now))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "api-key-inbound: the consumer store failed");
            Problem::from(GatewayError::Internal("check the API key"))
        })?;
    match outcome {
        ApiKeyOutcome::Valid { consumer, key_id } => Ok(Some(json!({
            "sub": consumer.name,
            "data": Value::Object(consumer.metadata),
            "apiKeyId": key_id,
        }))),
        ApiKeyOutcome::Revoked | ApiKeyOutcome::Expired | ApiKeyOutcome::Missing => {
            refused(Refusal::Failed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn policy(header: &str, scheme: &str) -> ApiKeyPolicy {
        ApiKeyPolicy {
            auth_header: header.into(),
            auth_scheme: scheme.into(),
            cache_ttl_seconds: 60,
            allow_unauthenticated: false,
        }
    }

    fn key(p: &ApiKeyPolicy, name: &str, value: &[u8]) -> Result<String, Refusal> {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
        presented_key(p, &h).map(|s| s.expose().to_string())
    }

    #[test]
    fn the_key_is_read_as_7_6_4_reads_it() {
        let p = policy("authorization", "Bearer");
        assert_eq!(
            key(&p, "authorization", b"Bearer zpka_1"),
            Ok("zpka_1".into())
        );
        assert_eq!(
            presented_key(&p, &HeaderMap::new()).unwrap_err(),
            Refusal::NoHeader
        );
        assert_eq!(
            key(&p, "authorization", b"Basic abc"),
            Err(Refusal::BadScheme)
        );
        assert_eq!(key(&p, "authorization", b"Bear"), Err(Refusal::BadScheme));
        assert_eq!(
            key(&p, "authorization", b"\xffBearer x"),
            Err(Refusal::BadScheme)
        );
        // the scheme matches case-insensitively, but only "Bearer " is removed
        assert_eq!(
            key(&p, "authorization", b"bearer zpka_1"),
            Ok("bearer zpka_1".into())
        );
        assert_eq!(key(&p, "authorization", b"Bearer "), Err(Refusal::NoKey));
        // "Bearer" with nothing after it: the scheme matches, nothing is removed
        assert_eq!(key(&p, "authorization", b"Bearer"), Ok("Bearer".into()));
        let bare = policy("x-api-key", "");
        assert_eq!(key(&bare, "x-api-key", b"zpka_2"), Ok("zpka_2".into()));
        assert_eq!(key(&bare, "x-api-key", b""), Err(Refusal::NoKey));
        assert_eq!(
            key(&bare, "authorization", b"zpka_2"),
            Err(Refusal::NoHeader)
        );
    }

    #[test]
    fn refusals_are_plain_401s() {
        for r in [
            Refusal::NoHeader,
            Refusal::BadScheme,
            Refusal::NoKey,
            Refusal::Failed,
        ] {
            let p = r.problem();
            assert_eq!(p.status, StatusCode::UNAUTHORIZED);
            assert!(p.headers.is_empty(), "{r:?} adds no header");
            assert!(p.code.is_none());
        }
        assert_eq!(Refusal::Failed.problem().detail, "Authorization Failed");
    }
}
