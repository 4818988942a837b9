//! `POST {B}/oauth/token` and `POST {B}/oauth/revoke` (SPEC §3.11, §3.12), with client
//! authentication (`none`, `client_secret_basic`, `client_secret_post`, `private_key_jwt`).
//! Metadata-document clients (§3.6) are fetched again here when their cached document is stale.

use super::{Ctx, SCOPE, assertion, cimd, no_store, oauth_error, route_for_resource};
use crate::secret::Secret;
use crate::store::{
    self, ClientAuth, ClientProof, ExchangeCode, ExchangeCodeOutcome, RefreshOutcome,
    RefreshRequest, RevokeOutcome, RevokeRequest, TokenTypeHint,
};
use crate::web::encoding::decode_component;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::collections::HashMap;

const MAX_FORM: usize = 16 * 1024;
/// Refresh-token replays within this many seconds of a rotation are refused without revoking (D1).
const REFRESH_GRACE_SECONDS: i64 = 30;

async fn form(body: Body) -> Result<HashMap<String, String>, Response> {
    let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body is larger than 16 KiB.",
        )
    })?;
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(&bytes) {
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("{k}: repeated parameter."),
            ));
        }
    }
    Ok(out)
}

/// What the client presented: an id (with or without a secret), or a signed assertion.
enum Presented {
    Plain(ClientAuth),
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
}

fn invalid_client(description: &str) -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// Authenticates the client of a token or revocation request (§3.11); an assertion must name
/// one of `audiences`.
async fn authenticate(
    ctx: &Ctx<'_>,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
    audiences: &[String],
) -> Result<ClientAuth, Response> {
    match client_auth(headers, f).map_err(|r| *r)? {
        Presented::Plain(auth) => {
            if cimd::is_metadata_url(&auth.client_id) {
                cimd::resolve(ctx, &auth.client_id)
                    .await
                    .map_err(|r| invalid_client(&r.description))?;
            }
            Ok(auth)
        }
        Presented::Assertion {
            client_id,
            assertion,
        } => {
            let Some(iss) = assertion::unverified_issuer(&assertion) else {
                return Err(invalid_client(
                    "client_assertion is not a JWT naming its client in iss.",
                ));
            };
            if client_id.as_ref().is_some_and(|c| *c != iss) {
                return Err(invalid_client(
                    "client_id differs from the client_assertion's iss.",
                ));
            }
            let client = if cimd::is_metadata_url(&iss) {
                cimd::resolve(ctx, &iss)
                    .await
                    .map_err(|r| invalid_client(&r.description))?
            } else {
                let id = iss.clone();
                let now = ctx.state.clock.now();
                match ctx.state.store.run(move |s| s.read_client(&id, now)).await {
                    Ok(Some(c)) => c,
                    Ok(None) => return Err(invalid_client("OAuth client is not registered.")),
                    Err(e) => return Err(server_error(&e.to_string())),
                }
            };
            if client.token_endpoint_auth_method != store::TokenEndpointAuthMethod::PrivateKeyJwt {
                return Err(invalid_client(
                    "The client is not registered for private_key_jwt.",
                ));
            }
            if let Err(why) = assertion::verify(ctx, &client, &assertion, audiences).await {
                tracing::info!(event = "oauth_client_assertion_refused", client_id = %iss, why = %why, "client assertion refused");
                return Err(invalid_client(&format!(
                    "Client authentication failed: {why}."
                )));
            }
            Ok(ClientAuth {
                client_id: iss,
                proof: ClientProof::VerifiedAssertion,
            })
        }
    }
}

/// An `Authorization: Basic` header that does not decode to `id:secret`.
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

/// Who the client says it is, from HTTP Basic or the form (§3.11).
fn client_auth(
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> Result<Presented, Box<Response>> {
    if f.contains_key("client_assertion") || f.contains_key("client_assertion_type") {
        if f.contains_key("client_secret") || headers.contains_key(header::AUTHORIZATION) {
            return Err(Box::new(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Send a client_assertion or a client secret, not both.",
            )));
        }
        if f.get("client_assertion_type").map(String::as_str) != Some(assertion::ASSERTION_TYPE) {
            return Err(Box::new(invalid_client(&format!(
                "client_assertion_type must be {}.",
                assertion::ASSERTION_TYPE
            ))));
        }
        let Some(a) = f.get("client_assertion").filter(|a| !a.is_empty()) else {
            return Err(Box::new(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_assertion is required with client_assertion_type.",
            )));
        };
        return Ok(Presented::Assertion {
            client_id: f.get("client_id").filter(|s| !s.is_empty()).cloned(),
            assertion: a.clone(),
        });
    }
    let body_id = f.get("client_id").filter(|s| !s.is_empty());
    let body_secret = f.get("client_secret").filter(|s| !s.is_empty());
    if let Some(pair) = basic_credentials(headers) {
        let (id, secret) = pair.map_err(|MalformedBasic| {
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "The Basic credentials are malformed.",
            )
        })?;
        if body_secret.is_some() {
            return Err(Box::new(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Send the client secret once: in the Authorization header or in the body, not both.",
            )));
        }
        if body_id.is_some_and(|b| *b != id) {
            return Err(Box::new(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "client_id in the body differs from the Basic credentials.",
            )));
        }
        return Ok(Presented::Plain(ClientAuth {
            client_id: id,
            proof: ClientProof::Secret(Secret::new(secret)),
        }));
    }
    let Some(id) = body_id else {
        return Err(Box::new(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: no client_id.",
        )));
    };
    Ok(Presented::Plain(ClientAuth {
        client_id: id.clone(),
        proof: match body_secret {
            Some(s) => ClientProof::Secret(Secret::new(s.clone())),
            None => ClientProof::None,
        },
    }))
}

fn is_verifier(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn token_response(tokens: &store::IssuedTokens, now: i64) -> Response {
    let body = serde_json::json!({
        "access_token": tokens.access_token.expose(),
        "token_type": "Bearer",
        "expires_in": (tokens.access_expires_at - now).max(0),
        "refresh_token": tokens.refresh_token.expose(),
        "scope": SCOPE,
        "resource": tokens.grant.resource,
    });
    let mut resp = axum::Json(body).into_response();
    no_store(resp.headers_mut());
    resp
}

pub async fn token(ctx: &Ctx<'_>, headers: &HeaderMap, body: Body) -> Response {
    let f = match form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let audiences = [ctx.endpoint("/oauth/token")];
    let client = match authenticate(ctx, headers, &f, &audiences).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(scope) = f.get("scope")
        && scope.split_whitespace().any(|s| s != SCOPE)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("The only scope is {SCOPE}."),
        );
    }
    let resource = f.get("resource").filter(|r| !r.is_empty()).cloned();
    if let Some(r) = &resource
        && route_for_resource(ctx.served, &ctx.origin, r).is_none()
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "resource must match a published MCP route.",
        );
    }
    let access_ttl = ctx.oauth.gateway.access_token_ttl_seconds as i64;
    let grant_ttl = ctx.oauth.gateway.refresh_token_ttl_seconds as i64;
    let now = ctx.state.clock.now();
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri), Some(verifier)) =
                (f.get("code"), f.get("redirect_uri"), f.get("code_verifier"))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code, redirect_uri and code_verifier are required.",
                );
            };
            if !is_verifier(verifier) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~].",
                );
            }
            let request = ExchangeCode {
                client,
                code: Secret::new(code.clone()),
                redirect_uri: redirect_uri.clone(),
                code_verifier: Secret::new(verifier.clone()),
                resource,
                access_token_ttl_seconds: access_ttl,
                grant_ttl_seconds: grant_ttl,
            };
            match ctx
                .state
                .store
                .run(move |s| s.exchange_authorization_code(&request, now))
                .await
            {
                Ok(ExchangeCodeOutcome::Exchanged(tokens)) => token_response(&tokens, now),
                Ok(ExchangeCodeOutcome::InvalidClient) => oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Client authentication failed.",
                ),
                Ok(ExchangeCodeOutcome::Consumed) => {
                    // D2: the reused code revoked the grant of its first redemption
                    ctx.state.tokens.clear();
                    oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Authorization code is invalid, expired, already used, or failed binding validation.",
                    )
                }
                Ok(ExchangeCodeOutcome::ResourceMismatch) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    "resource does not match the authorization.",
                ),
                Ok(_) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Authorization code is invalid, expired, already used, or failed binding validation.",
                ),
                Err(e) => server_error(&e.to_string()),
            }
        }
        Some("refresh_token") => {
            let Some(refresh) = f.get("refresh_token").filter(|r| !r.is_empty()) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "refresh_token is required.",
                );
            };
            let request = RefreshRequest {
                client,
                refresh_token: Secret::new(refresh.clone()),
                resource,
                access_token_ttl_seconds: access_ttl,
                grace_seconds: REFRESH_GRACE_SECONDS,
            };
            match ctx
                .state
                .store
                .run(move |s| s.refresh_token(&request, now))
                .await
            {
                Ok(RefreshOutcome::Rotated(tokens)) => token_response(&tokens, now),
                Ok(RefreshOutcome::InvalidClient) => oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Client authentication failed.",
                ),
                Ok(RefreshOutcome::Revoked) => {
                    // a replayed refresh token may just have revoked the grant (D1)
                    ctx.state.tokens.clear();
                    oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "Refresh token is invalid, expired, or revoked.",
                    )
                }
                Ok(RefreshOutcome::ResourceMismatch) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    "resource does not match the grant.",
                ),
                Ok(_) => oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Refresh token is invalid, expired, or revoked.",
                ),
                Err(e) => server_error(&e.to_string()),
            }
        }
        Some(other) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Grant type \"{other}\" is not supported."),
        ),
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required.",
        ),
    }
}

fn server_error(why: &str) -> Response {
    tracing::error!(event = "oauth_token_failed", error = %why, "token request failed");
    oauth_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "The token request could not be completed.",
    )
}

pub async fn revoke(ctx: &Ctx<'_>, headers: &HeaderMap, body: Body) -> Response {
    let f = match form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let audiences = [ctx.endpoint("/oauth/token"), ctx.endpoint("/oauth/revoke")];
    let client = match authenticate(ctx, headers, &f, &audiences).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required.",
        );
    };
    let hint = match f.get("token_type_hint").map(String::as_str) {
        Some("access_token") => Some(TokenTypeHint::AccessToken),
        Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
        _ => None,
    };
    let request = RevokeRequest {
        client,
        token: Secret::new(token.clone()),
        hint,
    };
    let now = ctx.state.clock.now();
    match ctx
        .state
        .store
        .run(move |s| s.revoke_oauth_token(&request, now))
        .await
    {
        Ok(RevokeOutcome::InvalidClient) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        ),
        Ok(_) => {
            ctx.state.tokens.clear();
            let mut resp = StatusCode::OK.into_response();
            no_store(resp.headers_mut());
            resp
        }
        Err(e) => server_error(&e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
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
}
