//! Federated browser login as an OpenID Connect relying party (SPEC §3.7, §3.9): the IdP
//! authorize URL, the code exchange, ID token verification against the IdP's JWKS, and the
//! principal taken from the ID token's claims.
//!
//! Owns: the values derived from the transaction id with the gateway secret (the `nonce` and the
//! PKCE verifier, HMAC-SHA256, so nothing extra is stored), the JWKS cache (per URL, a few
//! minutes, refetched once on an unknown `kid`), and the mapping of claims to a principal.
//! Tokens and codes are never logged.

use crate::config::policies::OAuthInbound;
use crate::config::policies::oauth_inbound::Pkce;
use crate::net::outbound::read_capped;
use crate::store::Principal;
use crate::store::keyfile::GatewaySecret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The token endpoint's answer is read up to 32 KiB.
const TOKEN_RESPONSE_LIMIT: usize = 32 * 1024;
/// The JWKS document is read up to 64 KiB.
const JWKS_LIMIT: usize = 64 * 1024;
/// How long a fetched JWKS is reused.
const JWKS_TTL: Duration = Duration::from_secs(300);

/// Claims naming the gateway subject directly, in order of preference (§3.9).
const SUBJECT_CLAIMS: [&str; 7] = [
    "zuploSubjectId",
    "zuplo_subject_id",
    "gatewaySubjectId",
    "gateway_subject_id",
    "subjectId",
    "subject_id",
    "https://zuplo.com/subject_id",
];
/// Claims whose values (a string or an array of strings) become roles, united.
const ROLE_CLAIMS: [&str; 5] = [
    "https://zuplo.com/roles",
    "roles",
    "role",
    "permissions",
    "groups",
];

fn hmac_b64(secret: &GatewaySecret, label: &str, transaction_id: &str) -> String {
    // A keyed MAC, not a plain hash: the values must not be computable without the secret.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose())
        .expect("HMAC accepts keys of any length");
    mac.update(label.as_bytes());
    mac.update(b"\0");
    mac.update(transaction_id.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The `nonce` sent to the IdP for a transaction, expected back in the ID token.
pub fn nonce(secret: &GatewaySecret, transaction_id: &str) -> String {
    hmac_b64(secret, "mcpgw oidc nonce", transaction_id)
}

/// The PKCE verifier of a transaction (43 characters of base64url): derived, never stored.
pub fn pkce_verifier(secret: &GatewaySecret, transaction_id: &str) -> String {
    hmac_b64(secret, "mcpgw oidc pkce verifier", transaction_id)
}

/// Whether the gateway may talk to this IdP URL: https, or http on a loopback host (dev).
pub fn url_allowed(raw: &str) -> bool {
    match url::Url::parse(raw) {
        Ok(u) if u.scheme() == "https" => u.host_str().is_some(),
        Ok(u) if u.scheme() == "http" => u
            .host_str()
            .map(crate::net::addr::is_loopback_host)
            .unwrap_or(false),
        _ => false,
    }
}

/// Why the policy cannot run a federated login, if it cannot.
pub fn config_problem(oauth: &OAuthInbound) -> Option<String> {
    if oauth.client_id.as_deref().is_none_or(str::is_empty) {
        return Some("browserLogin.clientId is not set".into());
    }
    let Some(token_url) = oauth.token_url.as_deref() else {
        return Some("browserLogin.tokenUrl is not set".into());
    };
    for (name, u) in [
        ("browserLogin.url", oauth.authorize_url.as_str()),
        ("browserLogin.tokenUrl", token_url),
        ("oidc.jwksUrl", oauth.jwks_url.as_str()),
    ] {
        if !url_allowed(u) {
            return Some(format!(
                "{name} ({u}) must be an https URL (http is accepted only on loopback)"
            ));
        }
    }
    None
}

/// `browserLogin.url` does not parse as a URL.
#[derive(Debug, thiserror::Error)]
#[error("browserLogin.url is not a URL: {0}")]
pub struct LoginUrlError(#[from] url::ParseError);

/// The IdP authorize URL for a transaction (§3.7).
pub fn login_url(
    oauth: &OAuthInbound,
    secret: &GatewaySecret,
    callback: &str,
    transaction_id: &str,
    browser_state: &str,
) -> Result<String, LoginUrlError> {
    let mut url = url::Url::parse(&oauth.authorize_url)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", oauth.client_id.as_deref().unwrap_or_default())
            .append_pair("redirect_uri", callback)
            .append_pair("scope", &oauth.scope)
            .append_pair("state", browser_state)
            .append_pair("nonce", &nonce(secret, transaction_id));
        if let Some(aud) = oauth.audience.as_deref() {
            q.append_pair("audience", aud);
        }
        if oauth.pkce == Pkce::S256 {
            q.append_pair(
                "code_challenge",
                &crate::crypto::pkce_s256(&pkce_verifier(secret, transaction_id)),
            )
            .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(url.to_string())
}

/// How a federated login failed; each maps to one browser error page (§3.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFailure {
    /// The token endpoint refused the code (`provider_access_denied`).
    Denied(String),
    /// The ID token belongs to another login: its nonce differs (`oauth_callback_mismatch`).
    NonceMismatch,
    /// Anything else: unreachable IdP, bad answer, bad token (`browser_login_verification_failed`).
    Verification(String),
}

fn verification(why: impl Into<String>) -> LoginFailure {
    LoginFailure::Verification(why.into())
}

/// Exchanges the code, verifies the ID token and maps its claims to a principal.
pub async fn complete(
    http: &reqwest::Client,
    oauth: &OAuthInbound,
    secret: &GatewaySecret,
    callback: &str,
    code: &str,
    transaction_id: &str,
    gateway_issuer: &str,
) -> Result<Principal, LoginFailure> {
    let timeout = Duration::from_millis(oauth.remote_timeout_ms.max(1));
    let token_url = oauth
        .token_url
        .as_deref()
        .ok_or_else(|| verification("browserLogin.tokenUrl is not set"))?;
    let client_id = oauth.client_id.as_deref().unwrap_or_default();
    let verifier = pkce_verifier(secret, transaction_id);
    let mut form: Vec<(&str, &str)> = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", callback),
        ("client_id", client_id),
    ];
    if let Some(s) = &oauth.client_secret {
        form.push(("client_secret", s.expose()));
    }
    if oauth.pkce == Pkce::S256 {
        form.push(("code_verifier", &verifier));
    }
    let resp = http
        .post(token_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| {
            verification(format!(
                "the token endpoint could not be reached: {}",
                e.without_url()
            ))
        })?;
    let status = resp.status();
    let body = read_capped(resp, TOKEN_RESPONSE_LIMIT)
        .await
        .map_err(|e| verification(format!("the token endpoint's answer: {e}")))?;
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        let said = json
            .as_ref()
            .and_then(|j| {
                j.get("error_description")
                    .or_else(|| j.get("error"))
                    .and_then(Value::as_str)
            })
            .map(|s| s.chars().take(256).collect::<String>())
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        return Err(LoginFailure::Denied(said));
    }
    let id_token = json
        .as_ref()
        .and_then(|j| j.get("id_token"))
        .and_then(Value::as_str)
        .ok_or_else(|| verification("the token endpoint's answer has no id_token"))?;
    let claims = verify_id_token(http, oauth, id_token, timeout).await?;
    let expected = nonce(secret, transaction_id);
    if claims.get("nonce").and_then(Value::as_str) != Some(expected.as_str()) {
        return Err(LoginFailure::NonceMismatch);
    }
    principal_from_claims(&claims, gateway_issuer)
        .ok_or_else(|| verification("the ID token names no subject (no sub claim)"))
}

type JwksCache = Mutex<HashMap<String, (Instant, Arc<JwkSet>)>>;
static JWKS: LazyLock<JwksCache> = LazyLock::new(|| Mutex::new(HashMap::new()));

async fn jwks(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
    fresh: bool,
) -> Result<(Arc<JwkSet>, Option<Instant>), LoginFailure> {
    if !fresh
        && let Some((at, set)) = JWKS.lock().ok().and_then(|c| c.get(url).cloned())
        && at.elapsed() < JWKS_TTL
    {
        return Ok((set, Some(at)));
    }
    let resp = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| {
            verification(format!(
                "the JWKS could not be fetched: {}",
                e.without_url()
            ))
        })?;
    if !resp.status().is_success() {
        return Err(verification(format!(
            "the JWKS answered HTTP {}",
            resp.status().as_u16()
        )));
    }
    let body = read_capped(resp, JWKS_LIMIT)
        .await
        .map_err(|e| verification(format!("the JWKS: {e}")))?;
    let set: JwkSet = serde_json::from_slice(&body)
        .map_err(|e| verification(format!("the JWKS is not a JWK set: {e}")))?;
    let set = Arc::new(set);
    if let Ok(mut c) = JWKS.lock() {
        c.insert(url.to_string(), (Instant::now(), set.clone()));
    }
    Ok((set, None))
}

pub(super) fn pick_key<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(k) => set.find(k),
        // no kid: acceptable only when the set leaves no choice
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}

/// Verifies signature, `iss` (exact), `aud` (= client id) and `exp`; returns the claims.
async fn verify_id_token(
    http: &reqwest::Client,
    oauth: &OAuthInbound,
    id_token: &str,
    timeout: Duration,
) -> Result<Map<String, Value>, LoginFailure> {
    let header = jsonwebtoken::decode_header(id_token)
        .map_err(|e| verification(format!("the ID token is not a JWT: {e}")))?;
    if matches!(
        header.alg,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    ) {
        return Err(verification(format!(
            "the ID token is signed with {:?}; an asymmetric algorithm (RS256, PS256, ES256…) is required",
            header.alg
        )));
    }
    // `cached_at` is None when the set was fetched just now
    let (set, cached_at) = jwks(http, &oauth.jwks_url, timeout, false).await?;
    match check_with(&set, oauth, id_token, &header) {
        // keys rotate (and a kid may be reused for a new key, e.g. a dev IdP restarted with
        // fresh keys): one refetch of an older cached set before giving up
        Err((_, Some(min_age))) if cached_at.is_some_and(|at| at.elapsed() >= min_age) => {
            let (set, _) = jwks(http, &oauth.jwks_url, timeout, true).await?;
            check_with(&set, oauth, id_token, &header).map_err(|(f, _)| f)
        }
        other => other.map_err(|(f, _)| f),
    }
}

/// Verification with one key set. With an error, how old the key set must be for a refetch to
/// be worth it: an unknown kid always is; a bad signature only after 5 s (a forged token must
/// not make the gateway fetch the JWKS every time).
fn check_with(
    set: &JwkSet,
    oauth: &OAuthInbound,
    id_token: &str,
    header: &jsonwebtoken::Header,
) -> Result<Map<String, Value>, (LoginFailure, Option<Duration>)> {
    let kid = header.kid.as_deref();
    let jwk = pick_key(set, kid).ok_or_else(|| {
        let why = match kid {
            Some(k) => format!("no key with kid {k:?} in the IdP's JWKS"),
            None => "the ID token has no kid and the JWKS has several keys".to_string(),
        };
        (verification(why), Some(Duration::ZERO))
    })?;
    if let Some(ka) = &jwk.common.key_algorithm
        && format!("{ka:?}") != format!("{:?}", header.alg)
    {
        return Err((
            verification(format!(
                "the key {:?} is for {ka:?}, the ID token says {:?}",
                kid.unwrap_or_default(),
                header.alg
            )),
            None,
        ));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| {
        (
            verification(format!("the IdP's key cannot be used: {e}")),
            None,
        )
    })?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[oauth.issuer.as_str()]);
    validation.set_audience(&[oauth.client_id.as_deref().unwrap_or_default()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation).map_err(|e| {
            let why = match e.kind() {
                ErrorKind::InvalidSignature => "the ID token's signature is invalid".to_string(),
                ErrorKind::InvalidIssuer => format!("the ID token's iss is not {}", oauth.issuer),
                ErrorKind::InvalidAudience => format!(
                    "the ID token's aud does not name the client id {}",
                    oauth.client_id.as_deref().unwrap_or_default()
                ),
                ErrorKind::ExpiredSignature => "the ID token has expired".to_string(),
                ErrorKind::ImmatureSignature => "the ID token is not valid yet".to_string(),
                _ => format!("the ID token was refused: {e}"),
            };
            (
                verification(why),
                matches!(e.kind(), ErrorKind::InvalidSignature).then_some(Duration::from_secs(5)),
            )
        })?;
    Ok(data.claims)
}

fn non_empty_str(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The principal of a verified ID token (§3.9).
pub fn principal_from_claims(
    claims: &Map<String, Value>,
    gateway_issuer: &str,
) -> Option<Principal> {
    let subject = SUBJECT_CLAIMS
        .iter()
        .find_map(|c| claims.get(*c).and_then(non_empty_str))
        .or_else(|| {
            let sub = claims.get("sub").and_then(non_empty_str)?;
            let iss = claims
                .get("iss")
                .and_then(non_empty_str)
                .unwrap_or_default();
            Some(if iss.is_empty() || iss == gateway_issuer {
                sub
            } else {
                format!("{iss}|{sub}")
            })
        })?;
    let mut roles: Vec<String> = Vec::new();
    for c in ROLE_CLAIMS {
        let values: Vec<String> = match claims.get(c) {
            Some(Value::Array(items)) => items.iter().filter_map(non_empty_str).collect(),
            Some(v) => non_empty_str(v).into_iter().collect(),
            None => Vec::new(),
        };
        for r in values {
            if !roles.contains(&r) {
                roles.push(r);
            }
        }
    }
    Some(Principal { subject, roles })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn subject_is_iss_and_sub_when_no_gateway_subject_claim() {
        let p = principal_from_claims(
            &claims(json!({"iss": "http://127.0.0.1:5000", "sub": "alice", "roles": ["mcp_user"]})),
            "http://127.0.0.1:9000",
        )
        .unwrap();
        assert_eq!(p.subject, "http://127.0.0.1:5000|alice");
        assert_eq!(p.roles, vec!["mcp_user"]);
    }

    #[test]
    fn gateway_subject_claims_win_in_order() {
        let p = principal_from_claims(
            &claims(json!({"iss": "https://idp", "sub": "x", "subject_id": "second", "gatewaySubjectId": "first"})),
            "https://gw",
        )
        .unwrap();
        assert_eq!(p.subject, "first");
        let p = principal_from_claims(
            &claims(json!({"iss": "https://idp", "sub": "x", "https://zuplo.com/subject_id": "z"})),
            "https://gw",
        )
        .unwrap();
        assert_eq!(p.subject, "z");
        // the same issuer as the gateway: no prefix
        let p = principal_from_claims(
            &claims(json!({"iss": "https://gw", "sub": "x"})),
            "https://gw",
        )
        .unwrap();
        assert_eq!(p.subject, "x");
    }

    #[test]
    fn roles_are_the_union_of_every_role_claim() {
        let p = principal_from_claims(
            &claims(json!({
                "iss": "https://idp", "sub": "x",
                "https://zuplo.com/roles": ["admin"],
                "roles": ["mcp_user", "admin"],
                "role": "viewer",
                "permissions": ["read:tools"],
                "groups": "eng",
                "other": ["ignored"]
            })),
            "https://gw",
        )
        .unwrap();
        assert_eq!(
            p.roles,
            vec!["admin", "mcp_user", "viewer", "read:tools", "eng"]
        );
    }

    #[test]
    fn no_subject_no_principal() {
        assert!(
            principal_from_claims(&claims(json!({"iss": "https://idp"})), "https://gw").is_none()
        );
    }

    #[test]
    fn derived_values_are_stable_keyed_and_pkce_shaped() {
        let a = GatewaySecret::from_bytes([1; 32]);
        let b = GatewaySecret::from_bytes([2; 32]);
        let v = pkce_verifier(&a, "txn");
        assert_eq!(v, pkce_verifier(&a, "txn"));
        assert_ne!(v, pkce_verifier(&b, "txn"));
        assert_ne!(v, pkce_verifier(&a, "txn2"));
        assert_ne!(v, nonce(&a, "txn"));
        assert_eq!(v.len(), 43);
        assert_eq!(crate::crypto::pkce_s256(&v).len(), 43);
    }

    #[test]
    fn idp_urls_must_be_https_or_loopback_http() {
        assert!(url_allowed("https://idp.example.com/authorize"));
        assert!(url_allowed("http://127.0.0.1:4000/auth"));
        assert!(url_allowed("http://localhost:4000/auth"));
        assert!(!url_allowed("http://idp.example.com/authorize"));
        assert!(!url_allowed("ftp://127.0.0.1/x"));
    }
}
