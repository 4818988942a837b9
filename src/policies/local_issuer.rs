//! mcpgw's local issuer (SPEC §16.13, D22, D25 a): an RS256 key in the state folder that mints
//! tokens for `mcpgw token` and that every JWT-family policy also accepts under
//! `mcpgw dev --local-idp`.
//!
//! Owns: the key in memory (signing and verifying halves, `kid`), its public JWKS document
//! (served at [`JWKS_PATH`]), the claims a minted token carries for a policy, and minting.

use crate::config::policies::JwtPolicy;
use crate::config::policies::jwt::JwtProvider;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Map, Value, json};

/// Where `mcpgw dev --local-idp` publishes the local issuer's public key set.
pub const JWKS_PATH: &str = "/__mcpgw/local-idp/jwks.json";

/// The `iss` of a minted token when the policy names no issuer (an unset IdP option under
/// `--local-idp`): the policy then expects exactly this.
pub const LOCAL_ISSUER: &str = "mcpgw-local-idp";

#[derive(Debug, thiserror::Error)]
pub enum LocalIssuerError {
    #[error("the local issuer's key cannot be used: {0}")]
    BadKey(String),
    #[error("could not sign the token: {0}")]
    Sign(jsonwebtoken::errors::Error),
}

/// The local issuer's key, ready to sign and verify.
pub struct LocalIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub kid: String,
    jwk: Value,
}

impl std::fmt::Debug for LocalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIssuer")
            .field("kid", &self.kid)
            .finish()
    }
}

impl LocalIssuer {
    /// From the PKCS#8 PEM of `store::local_idp_key`.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, LocalIssuerError> {
        let bad = |e: &dyn std::fmt::Display| LocalIssuerError::BadKey(e.to_string());
        let der = pem_body(pem).ok_or_else(|| bad(&"not a PEM document"))?;
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).map_err(|e| bad(&e))?;
        let public = aws_lc_rs::signature::KeyPair::public_key(&pair);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let n = b64.encode(public.modulus().big_endian_without_leading_zero());
        let e = b64.encode(public.exponent().big_endian_without_leading_zero());
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, n.as_bytes());
        let kid = format!("mcpgw-local-{}", &b64.encode(digest.as_ref())[..16]);
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| bad(&e))?;
        let decoding = DecodingKey::from_rsa_components(&n, &e).map_err(|e| bad(&e))?;
        let jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e});
        Ok(LocalIssuer {
            encoding,
            decoding,
            kid,
            jwk,
        })
    }

    /// `{"keys": [<the public key>]}`.
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }

    /// Signs `claims` (RS256, with this key's `kid`).
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, LocalIssuerError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(LocalIssuerError::Sign)
    }
}

/// The DER inside a PEM document.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The `iss` a token for `policy` must carry (its issuer, or [`LOCAL_ISSUER`] when it names none).
pub fn expected_issuer(policy: &JwtPolicy) -> String {
    policy
        .issuer
        .clone()
        .unwrap_or_else(|| LOCAL_ISSUER.to_string())
}

/// The claims of a token for `policy`: `iss` and `aud` as it expects, `sub` (PropelAuth reads
/// `user_id`, which gets the same value unless `extra` sets it), `iat`, `exp`, then `extra`.
pub fn claims_for(
    policy: &JwtPolicy,
    sub: &str,
    now: i64,
    ttl_secs: i64,
    extra: &[(String, Value)],
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), expected_issuer(policy).into());
    if let Some(aud) = &policy.audience {
        claims.insert("aud".into(), aud.clone().into());
    }
    claims.insert("sub".into(), sub.into());
    if policy.provider == JwtProvider::PropelAuth || policy.sub_property != "sub" {
        claims.insert(policy.sub_property.clone(), sub.into());
    }
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), now.saturating_add(ttl_secs).into());
    for (k, v) in extra {
        claims.insert(k.clone(), v.clone());
    }
    claims
}
