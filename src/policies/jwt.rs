//! The JWT policy family at run time (SPEC §16.2, §16.3, D21, D22).
//!
//! Owns: reading the bearer token from the policy's header, verifying it against the policy's
//! keys (a remote JWKS, an HMAC secret, or PropelAuth's SPKI key) and — under `--local-idp` —
//! mcpgw's local issuer, the issuer / audience / expiry checks, Supabase's `requiredClaims`,
//! and the exact 401 answers of §16.2. The `Authorization` header is left in place: Zuplo's
//! JWT policies do not remove it (only the MCP OAuth policy does, §3.17), so the handler and
//! the upstream see it as sent.

use super::jwks::JwksCache;
use super::local_issuer::{LOCAL_ISSUER, LocalIssuer};
use crate::config::policies::JwtPolicy;
use crate::config::policies::jwt::{KeySource, prm_path};
use crate::web::problem::Problem;
use axum::http::{HeaderMap, StatusCode, header};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// What the JWT policies share while the gateway runs (kept across reloads).
#[derive(Default)]
pub struct JwtRuntime {
    pub jwks: JwksCache,
    /// mcpgw's local issuer, only under `mcpgw dev --local-idp`.
    pub local: Option<Arc<LocalIssuer>>,
}

/// The request as the policy sees it.
pub struct JwtRequest<'a> {
    pub headers: &'a HeaderMap,
    /// The request path, for the challenge's `resource_metadata`.
    pub path: &'a str,
    /// The public origin (D6).
    pub origin: &'a str,
    /// A PRM route exists for this request (§16.2: a plugin or a matching project route).
    pub prm_route_exists: bool,
}

/// Why a request was refused; the message is the problem's `detail` (§16.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No header, with a PRM route to point at: the one 401 that carries a challenge.
    #[error("Bearer token required")]
    BearerRequired { resource_metadata: String },
    #[error("No authorization header")]
    NoHeader,
    #[error("Invalid bearer token format for authorization header")]
    BadFormat,
    #[error("No bearer token on authorization header")]
    EmptyToken,
    /// Signature, issuer, audience, expiry or keys; `why` is for the log only.
    #[error("Invalid token")]
    InvalidToken { why: String },
    #[error("Token is not valid, no '{0}' property found.")]
    NoSubject(String),
    #[error("Invalid JWT token - missing valid claims: {0}")]
    MissingClaims(String),
}

impl Refusal {
    pub fn problem(&self) -> Problem {
        let p = Problem::new(StatusCode::UNAUTHORIZED, self.to_string());
        match self {
            Refusal::BearerRequired { resource_metadata } => p.header(
                header::WWW_AUTHENTICATE,
                &format!("Bearer resource_metadata=\"{resource_metadata}\""),
            ),
            _ => p,
        }
    }
}

fn invalid(why: impl Into<String>) -> Refusal {
    Refusal::InvalidToken { why: why.into() }
}

/// Verifies the request's token for `policy`: `Ok(Some(user))` (`{sub, data}`), `Ok(None)` when
/// the header is missing and unauthenticated requests are allowed, or why it was refused (the
/// caller lets refused requests go on without a user when `allowUnauthenticatedRequests`).
pub async fn verify(
    rt: &JwtRuntime,
    policy: &JwtPolicy,
    req: &JwtRequest<'_>,
) -> Result<Value, Refusal> {
    let token = bearer(policy, req)?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
    let local = rt
        .local
        .as_ref()
        .filter(|l| header.kid.as_deref() == Some(l.kid.as_str()));
    let claims = match local {
        Some(l) => {
            // the local issuer stands in for the IdP: the policy's own checks, its key
            let iss = policy.issuer.as_deref().unwrap_or(LOCAL_ISSUER);
            decode(token, l.decoding_key(), Algorithm::RS256, policy, Some(iss))?
        }
        None => {
            let (key, alg) = remote_key(rt, policy, &header).await?;
            decode(token, &key, alg, policy, policy.issuer.as_deref())?
        }
    };
    let Some(sub) = claims.get(&policy.sub_property).cloned() else {
        return Err(Refusal::NoSubject(policy.sub_property.clone()));
    };
    required_claims(policy, &claims)?;
    Ok(json!({"sub": sub, "data": Value::Object(claims)}))
}

/// The token from the policy's header (§16.2 order of refusals).
fn bearer<'r>(policy: &JwtPolicy, req: &JwtRequest<'r>) -> Result<&'r str, Refusal> {
    let Some(value) = req.headers.get(policy.auth_header.as_str()) else {
        return Err(if policy.oauth_resource_metadata && req.prm_route_exists {
            Refusal::BearerRequired {
                resource_metadata: format!("{}{}", req.origin, prm_path(req.path)),
            }
        } else {
            Refusal::NoHeader
        });
    };
    let value = value.to_str().map_err(|_| Refusal::BadFormat)?;
    let scheme = value.get(..7).filter(|s| s.eq_ignore_ascii_case("bearer "));
    if scheme.is_none() {
        return Err(Refusal::BadFormat);
    }
    let token = value[7..].trim();
    if token.is_empty() {
        return Err(Refusal::EmptyToken);
    }
    Ok(token)
}

/// The configured key for a token's header, with the algorithm it may be used with.
async fn remote_key(
    rt: &JwtRuntime,
    policy: &JwtPolicy,
    header: &jsonwebtoken::Header,
) -> Result<(DecodingKey, Algorithm), Refusal> {
    let hmac = matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    );
    match &policy.keys {
        KeySource::Secret(secret) if hmac => Ok((
            DecodingKey::from_secret(secret.expose().as_bytes()),
            header.alg,
        )),
        KeySource::Secret(_) => Err(invalid(format!("{:?} with an HMAC secret", header.alg))),
        KeySource::SpkiPem(pem) if header.alg == Algorithm::RS256 => {
            DecodingKey::from_rsa_pem(pem.as_bytes())
                .map(|k| (k, Algorithm::RS256))
                .map_err(|e| invalid(e.to_string()))
        }
        KeySource::SpkiPem(_) => Err(invalid(format!("{:?} with an RS256 key", header.alg))),
        // an HMAC token against a public key set is the classic algorithm confusion
        KeySource::Jwks { .. } if hmac => Err(invalid("HMAC token against a key set")),
        KeySource::Jwks { url, headers } => {
            let jwk = match rt.jwks.key(url, headers, header.kid.as_deref()).await {
                Ok(Some(jwk)) => jwk,
                Ok(None) => return Err(invalid("no matching key in the key set")),
                Err(e) => {
                    tracing::warn!(jwks = %url, error = %e, "JWT policy: the key set could not be loaded");
                    return Err(invalid(e.to_string()));
                }
            };
            if let Some(ka) = jwk.common.key_algorithm
                && ka.to_string() != format!("{:?}", header.alg)
            {
                return Err(invalid("the key is for another algorithm"));
            }
            DecodingKey::from_jwk(&jwk)
                .map(|k| (k, header.alg))
                .map_err(|e| invalid(e.to_string()))
        }
        KeySource::LocalOnly => Err(invalid(
            "no key configured (only the local issuer's tokens can pass)",
        )),
    }
}

fn decode(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
    policy: &JwtPolicy,
    issuer: Option<&str>,
) -> Result<Map<String, Value>, Refusal> {
    let mut v = Validation::new(alg);
    v.leeway = 0;
    // exp and nbf are checked when present, as jose's jwtVerify does
    v.set_required_spec_claims::<&str>(&[]);
    v.validate_nbf = true;
    match issuer {
        Some(iss) => v.set_issuer(&[iss]),
        None => v.iss = None,
    }
    match &policy.audience {
        Some(aud) => v.set_audience(&[aud]),
        None => v.validate_aud = false,
    }
    jsonwebtoken::decode::<Map<String, Value>>(token, key, &v)
        .map(|d| d.claims)
        .map_err(|e| invalid(e.to_string()))
}

/// Supabase: every `requiredClaims` entry must match `app_metadata`.
fn required_claims(policy: &JwtPolicy, claims: &Map<String, Value>) -> Result<(), Refusal> {
    let meta = claims.get("app_metadata");
    let missing: Vec<&str> = policy
        .required_claims
        .iter()
        .filter(|c| {
            let got = meta.and_then(|m| m.get(&c.claim));
            !got.is_some_and(|g| c.allowed.contains(g))
        })
        .map(|c| c.claim.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Refusal::MissingClaims(missing.join(", ")))
    }
}

#[cfg(test)]
mod tests;
