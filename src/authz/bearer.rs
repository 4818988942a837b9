//! The bearer check of MCP routes (SPEC §3.17, §5.3): the access token from the
//! `Authorization` header only, bound to this route's resource and operationId, with the exact
//! `WWW-Authenticate` challenges; on success the caller as `request.user`, otherwise a
//! [`GatewayError`] (401, 403 or 500).

use super::SCOPE;
use crate::secret::Secret;
use crate::store::{self, ValidateOutcome};
use crate::web::origin::{self, encode_route};
use crate::web::problem::GatewayError;
use axum::http::{HeaderMap, header};
use std::sync::Arc;

/// Validated access tokens, so the proxy path does not query SQLite on every request. Entries
/// expire with their token; anything that can revoke a token (revocation, a reused code or
/// refresh token) clears the whole cache at once.
#[derive(Default)]
pub struct TokenCache {
    map: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<store::AccessToken>>>,
}

const CACHE_LIMIT: usize = 10_000;

impl TokenCache {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<String, std::sync::Arc<store::AccessToken>>,
    > {
        match self.map.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn get(&self, hash: &str, now: i64) -> Option<std::sync::Arc<store::AccessToken>> {
        let mut map = self.lock();
        match map.get(hash) {
            Some(at) if now < at.expires_at => Some(at.clone()),
            Some(_) => {
                map.remove(hash);
                None
            }
            None => None,
        }
    }

    fn put(&self, hash: String, at: std::sync::Arc<store::AccessToken>) {
        let mut map = self.lock();
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(hash, at);
    }

    /// Forget every cached token: called whenever a token may have been revoked.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Header parameter values: control characters dropped, `\` and `"` escaped (§3.17).
fn param(v: &str) -> String {
    v.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '\\' | '"' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

fn challenge(prm: &str, error: Option<(&str, &str)>, scope: bool) -> String {
    let mut s = format!(
        "Bearer realm=\"OAuth\", resource_metadata=\"{}\"",
        param(prm)
    );
    if let Some((e, d)) = error {
        s.push_str(&format!(
            ", error=\"{}\", error_description=\"{}\"",
            param(e),
            param(d)
        ));
    }
    if scope {
        s.push_str(&format!(", scope=\"{SCOPE}\""));
    }
    s
}

/// The bearer token of a request, if its `Authorization` header carries one.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let mut it = v.split_whitespace();
    let scheme = it.next()?;
    let token = it.next()?;
    (scheme.eq_ignore_ascii_case("bearer") && it.next().is_none()).then(|| token.to_string())
}

/// Validates the caller of route `route_path`/`operation_id`; `Ok(request.user)` or the answer.
pub async fn check(
    env: &super::Env<'_>,
    headers: &HeaderMap,
    query: Option<&str>,
    route_path: &str,
    operation_id: &str,
) -> Result<serde_json::Value, GatewayError> {
    let origin = origin::origin(env.origin, headers);
    let prm = format!(
        "{origin}/.well-known/oauth-protected-resource/{}",
        encode_route(route_path)
    );
    let resource = format!("{origin}{route_path}");
    if query.is_some_and(crate::web::oauth::query_carries_access_token) {
        // RFC 6750 §2.3 is not supported: a token in a URL leaks into logs and history
        return Err(GatewayError::Unauthenticated {
            detail: "Send the access token in the Authorization header, not in the URL.",
            challenge: challenge(
                &prm,
                Some((
                    "invalid_request",
                    "The access token must be sent in the Authorization header.",
                )),
                false,
            ),
        });
    }
    let Some(token) = bearer(headers) else {
        return Err(GatewayError::Unauthenticated {
            detail: "Gateway access token is required.",
            challenge: challenge(&prm, None, true),
        });
    };
    let invalid = |detail: &'static str| GatewayError::Unauthenticated {
        detail,
        challenge: challenge(
            &prm,
            Some((
                "invalid_token",
                "The access token is expired, malformed, or invalid.",
            )),
            false,
        ),
    };
    let at = match lookup(env, token).await {
        Ok(at) => at,
        Err(Lookup::Invalid) => {
            return Err(invalid("The access token is expired, revoked, or invalid."));
        }
        Err(Lookup::Failed) => return Err(GatewayError::TokenCheckFailed),
    };
    if at.resource != resource || at.operation_id != operation_id {
        return Err(invalid(
            "The access token was not issued for this MCP resource.",
        ));
    }
    if !at.scope.split_whitespace().any(|s| s == SCOPE) {
        return Err(GatewayError::InsufficientScope {
            challenge: challenge(
                &prm,
                Some((
                    "insufficient_scope",
                    "The access token is missing the mcp:tools scope required by this MCP resource.",
                )),
                true,
            ),
        });
    }
    Ok(user_of(&at))
}

enum Lookup {
    Invalid,
    Failed,
}

/// A valid (unexpired, unrevoked) access token's record, from the cache or the store.
async fn lookup(env: &super::Env<'_>, token: String) -> Result<Arc<store::AccessToken>, Lookup> {
    let now = env.clock.now();
    let hash = crate::crypto::hash_token(&token);
    if let Some(at) = env.tokens.get(&hash, now) {
        return Ok(at);
    }
    let secret = Secret::new(token);
    let outcome = env
        .store
        .run(move |s| s.validate_access_token(&secret, now))
        .await;
    match outcome {
        Ok(ValidateOutcome::Valid(at)) => {
            let at = Arc::new(*at);
            env.tokens.put(hash, at.clone());
            Ok(at)
        }
        Ok(_) => Err(Lookup::Invalid),
        Err(e) => {
            tracing::error!(event = "gateway_access_token_validate_failed", error = %e, "token validation failed");
            Err(Lookup::Failed)
        }
    }
}

/// `request.user` of a gateway access token (§3.17).
fn user_of(at: &store::AccessToken) -> serde_json::Value {
    serde_json::json!({
        "sub": at.subject,
        "data": {
            "zuploSubjectId": at.subject,
            "roles": at.roles,
            "clientId": at.client_id,
            "scope": at.scope,
            "resource": at.resource,
            "operationId": at.operation_id,
            "grantId": at.grant_id,
            "createdAt": at.created_at,
            "expiresAt": at.expires_at,
        }
    })
}

/// A gateway access token in the request's `Authorization` header, valid and carrying
/// `mcp:tools`, whatever route it was issued for: its `request.user` and the resource it is
/// bound to. Under `--local-idp` a JWT policy accepts the tokens that the stand-in
/// authorization server issued for any route the same policy guards, as the real IdP's tokens
/// for the policy's audience pass on all of them (D22).
pub async fn holder(
    env: &super::Env<'_>,
    headers: &HeaderMap,
) -> Option<(serde_json::Value, String)> {
    let token = bearer(headers)?;
    let at = lookup(env, token).await.ok()?;
    at.scope
        .split_whitespace()
        .any(|s| s == SCOPE)
        .then(|| (user_of(&at), at.resource.clone()))
}
