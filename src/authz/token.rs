//! `POST {B}/oauth/token` and `POST {B}/oauth/revoke` (SPEC §3.11, §3.12), with client
//! authentication (`none`, `client_secret_basic`, `client_secret_post`, `private_key_jwt`).
//! Metadata-document clients (§3.6) are fetched again here when their cached document is stale.
//! Every refusal is an [`OAuthError`]; each endpoint reads the form, authenticates the client,
//! checks the request, asks the store, and answers.

use super::{AuthzRequest, SCOPE, assertion, cimd, route_for_resource};
use crate::secret::Secret;
use crate::store::{
    ClientAuth, ClientProof, ExchangeCode, ExchangeCodeOutcome, IssuedTokens, RefreshOutcome,
    RefreshRequest, RevokeOutcome, RevokeRequest, StoreError, TokenTypeHint,
};
use crate::web::oauth::{MalformedBasic, OAuthError, basic_credentials, no_store, unique_pairs};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

const MAX_FORM: usize = 16 * 1024;
/// Refresh-token replays within this many seconds of a rotation are refused without revoking (D1).
const REFRESH_GRACE_SECONDS: i64 = 30;

/// The description of every `invalid_grant` for a code (the store's reasons stay private).
const BAD_CODE: &str =
    "Authorization code is invalid, expired, already used, or failed binding validation.";
/// The description of every `invalid_grant` for a refresh token.
const BAD_REFRESH: &str = "Refresh token is invalid, expired, or revoked.";

type Form = HashMap<String, String>;

async fn form(body: Body) -> Result<Form, OAuthError> {
    let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| {
        OAuthError::InvalidRequest("The request body is larger than 16 KiB.".into())
    })?;
    unique_pairs(&bytes)
        .map_err(|e| OAuthError::InvalidRequest(format!("{}: repeated parameter.", e.0)))
}

/// What the client presented: an id (with or without a secret), or a signed assertion.
enum Presented {
    Plain(ClientAuth),
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
}

fn invalid_client(description: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClient(description.into())
}

/// A store failure: logged, and answered with a `server_error` that says nothing about it.
fn server_error(e: &StoreError) -> OAuthError {
    tracing::error!(event = "oauth_token_failed", error = %e, "token request failed");
    OAuthError::ServerError("The token request could not be completed.".into())
}

/// Authenticates the client of a token or revocation request (§3.11); an assertion must name
/// one of `audiences`.
async fn authenticate(
    ctx: &AuthzRequest<'_>,
    headers: &HeaderMap,
    f: &Form,
    audiences: &[String],
) -> Result<ClientAuth, OAuthError> {
    match client_auth(headers, f)? {
        Presented::Plain(auth) => {
            if cimd::is_metadata_url(&auth.client_id) {
                cimd::resolve(ctx, &auth.client_id)
                    .await
                    .map_err(|r| invalid_client(r.description))?;
            }
            Ok(auth)
        }
        Presented::Assertion {
            client_id,
            assertion,
        } => authenticate_assertion(ctx, client_id, &assertion, audiences).await,
    }
}

/// `private_key_jwt`: the assertion's `iss` names the client, whose registered keys verify it.
async fn authenticate_assertion(
    ctx: &AuthzRequest<'_>,
    client_id: Option<String>,
    assertion: &str,
    audiences: &[String],
) -> Result<ClientAuth, OAuthError> {
    let Some(iss) = assertion::unverified_issuer(assertion) else {
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
            .map_err(|r| invalid_client(r.description))?
    } else {
        let id = iss.clone();
        let now = ctx.env.clock.now();
        match ctx.env.store.run(move |s| s.read_client(&id, now)).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err(invalid_client("OAuth client is not registered.")),
            Err(e) => return Err(server_error(&e)),
        }
    };
    if client.token_endpoint_auth_method != crate::client_metadata::ClientAuthMethod::PrivateKeyJwt
    {
        return Err(invalid_client(
            "The client is not registered for private_key_jwt.",
        ));
    }
    if let Err(why) = assertion::verify(ctx, &client, assertion, audiences).await {
        tracing::info!(event = "oauth_client_assertion_refused", client_id = %iss, why = %why, "client assertion refused");
        return Err(invalid_client(format!(
            "Client authentication failed: {why}."
        )));
    }
    Ok(ClientAuth {
        client_id: iss,
        proof: ClientProof::VerifiedAssertion,
    })
}

/// Who the client says it is, from HTTP Basic or the form (§3.11).
fn client_auth(headers: &HeaderMap, f: &Form) -> Result<Presented, OAuthError> {
    if f.contains_key("client_assertion") || f.contains_key("client_assertion_type") {
        if f.contains_key("client_secret") || headers.contains_key(header::AUTHORIZATION) {
            return Err(OAuthError::InvalidRequest(
                "Send a client_assertion or a client secret, not both.".into(),
            ));
        }
        if f.get("client_assertion_type").map(String::as_str) != Some(assertion::ASSERTION_TYPE) {
            return Err(invalid_client(format!(
                "client_assertion_type must be {}.",
                assertion::ASSERTION_TYPE
            )));
        }
        let Some(a) = f.get("client_assertion").filter(|a| !a.is_empty()) else {
            return Err(OAuthError::InvalidRequest(
                "client_assertion is required with client_assertion_type.".into(),
            ));
        };
        return Ok(Presented::Assertion {
            client_id: f.get("client_id").filter(|s| !s.is_empty()).cloned(),
            assertion: a.clone(),
        });
    }
    let body_id = f.get("client_id").filter(|s| !s.is_empty());
    let body_secret = f.get("client_secret").filter(|s| !s.is_empty());
    if let Some(pair) = basic_credentials(headers) {
        let (id, secret) =
            pair.map_err(|MalformedBasic| invalid_client("The Basic credentials are malformed."))?;
        if body_secret.is_some() {
            return Err(OAuthError::InvalidRequest(
                "Send the client secret once: in the Authorization header or in the body, not both."
                    .into(),
            ));
        }
        if body_id.is_some_and(|b| *b != id) {
            return Err(OAuthError::InvalidRequest(
                "client_id in the body differs from the Basic credentials.".into(),
            ));
        }
        return Ok(Presented::Plain(ClientAuth {
            client_id: id,
            proof: ClientProof::Secret(Secret::new(secret)),
        }));
    }
    let Some(id) = body_id else {
        return Err(invalid_client(
            "Client authentication failed: no client_id.",
        ));
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

fn token_response(tokens: &IssuedTokens, now: i64) -> Response {
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

/// The grant a token request asks for, with the parameters it needs (§3.11).
enum TokenGrant<'a> {
    Code {
        code: &'a str,
        redirect_uri: &'a str,
        verifier: &'a str,
    },
    Refresh {
        refresh_token: &'a str,
    },
}

impl<'a> TokenGrant<'a> {
    fn parse(f: &'a Form) -> Result<Self, OAuthError> {
        match f.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let (Some(code), Some(redirect_uri), Some(verifier)) =
                    (f.get("code"), f.get("redirect_uri"), f.get("code_verifier"))
                else {
                    return Err(OAuthError::InvalidRequest(
                        "code, redirect_uri and code_verifier are required.".into(),
                    ));
                };
                if !is_verifier(verifier) {
                    return Err(OAuthError::InvalidRequest(
                        "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~].".into(),
                    ));
                }
                Ok(TokenGrant::Code {
                    code,
                    redirect_uri,
                    verifier,
                })
            }
            Some("refresh_token") => match f.get("refresh_token").filter(|r| !r.is_empty()) {
                Some(refresh_token) => Ok(TokenGrant::Refresh { refresh_token }),
                None => Err(OAuthError::InvalidRequest(
                    "refresh_token is required.".into(),
                )),
            },
            Some(other) => Err(OAuthError::UnsupportedGrantType(format!(
                "Grant type \"{other}\" is not supported."
            ))),
            None => Err(OAuthError::InvalidRequest("grant_type is required.".into())),
        }
    }
}

/// `scope` (only [`SCOPE`]) and `resource` (a published MCP route) of a token request; the
/// resource, when one was named.
fn requested_resource(ctx: &AuthzRequest<'_>, f: &Form) -> Result<Option<String>, OAuthError> {
    if let Some(scope) = f.get("scope")
        && scope.split_whitespace().any(|s| s != SCOPE)
    {
        return Err(OAuthError::InvalidScope(format!(
            "The only scope is {SCOPE}."
        )));
    }
    let resource = f.get("resource").filter(|r| !r.is_empty()).cloned();
    if let Some(r) = &resource
        && route_for_resource(ctx.env.report, &ctx.origin, r).is_none()
    {
        return Err(OAuthError::InvalidTarget(
            "resource must match a published MCP route.".into(),
        ));
    }
    Ok(resource)
}

pub async fn token(ctx: &AuthzRequest<'_>, headers: &HeaderMap, body: Body) -> Response {
    issue_tokens(ctx, headers, body).await.into_response()
}

/// Form → client → scope and resource → grant → the store's new tokens.
async fn issue_tokens(
    ctx: &AuthzRequest<'_>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let f = form(body).await?;
    let client = authenticate(ctx, headers, &f, &[ctx.endpoint("/oauth/token")]).await?;
    let resource = requested_resource(ctx, &f)?;
    let now = ctx.env.clock.now();
    let tokens = match TokenGrant::parse(&f)? {
        TokenGrant::Code {
            code,
            redirect_uri,
            verifier,
        } => {
            let request = ExchangeCode {
                client,
                code: Secret::new(code),
                redirect_uri: redirect_uri.to_string(),
                code_verifier: Secret::new(verifier),
                resource,
                access_token_ttl_seconds: ctx.oauth.gateway.access_token_ttl_seconds as i64,
                grant_ttl_seconds: ctx.oauth.gateway.refresh_token_ttl_seconds as i64,
            };
            exchange_code(ctx, request, now).await?
        }
        TokenGrant::Refresh { refresh_token } => {
            let request = RefreshRequest {
                client,
                refresh_token: Secret::new(refresh_token),
                resource,
                access_token_ttl_seconds: ctx.oauth.gateway.access_token_ttl_seconds as i64,
                grace_seconds: REFRESH_GRACE_SECONDS,
            };
            refresh(ctx, request, now).await?
        }
    };
    Ok(token_response(&tokens, now))
}

/// The `authorization_code` grant: the store redeems the code once.
async fn exchange_code(
    ctx: &AuthzRequest<'_>,
    request: ExchangeCode,
    now: i64,
) -> Result<Box<IssuedTokens>, OAuthError> {
    let outcome = ctx
        .env
        .store
        .run(move |s| s.exchange_authorization_code(&request, now))
        .await
        .map_err(|e| server_error(&e))?;
    match outcome {
        ExchangeCodeOutcome::Exchanged(tokens) => Ok(tokens),
        ExchangeCodeOutcome::InvalidClient => Err(invalid_client("Client authentication failed.")),
        ExchangeCodeOutcome::Consumed => {
            // D2: the reused code revoked the grant of its first redemption
            ctx.env.tokens.clear();
            Err(OAuthError::InvalidGrant(BAD_CODE.into()))
        }
        ExchangeCodeOutcome::ResourceMismatch => Err(OAuthError::InvalidTarget(
            "resource does not match the authorization.".into(),
        )),
        ExchangeCodeOutcome::Missing
        | ExchangeCodeOutcome::Expired
        | ExchangeCodeOutcome::BindingMismatch => Err(OAuthError::InvalidGrant(BAD_CODE.into())),
    }
}

/// The `refresh_token` grant: the store rotates the token (D1).
async fn refresh(
    ctx: &AuthzRequest<'_>,
    request: RefreshRequest,
    now: i64,
) -> Result<Box<IssuedTokens>, OAuthError> {
    let outcome = ctx
        .env
        .store
        .run(move |s| s.refresh_token(&request, now))
        .await
        .map_err(|e| server_error(&e))?;
    match outcome {
        RefreshOutcome::Rotated(tokens) => Ok(tokens),
        RefreshOutcome::InvalidClient => Err(invalid_client("Client authentication failed.")),
        RefreshOutcome::Revoked => {
            // a replayed refresh token may just have revoked the grant (D1)
            ctx.env.tokens.clear();
            Err(OAuthError::InvalidGrant(BAD_REFRESH.into()))
        }
        RefreshOutcome::ResourceMismatch => Err(OAuthError::InvalidTarget(
            "resource does not match the grant.".into(),
        )),
        RefreshOutcome::Missing | RefreshOutcome::Expired | RefreshOutcome::PreviousTokenGrace => {
            Err(OAuthError::InvalidGrant(BAD_REFRESH.into()))
        }
    }
}

pub async fn revoke(ctx: &AuthzRequest<'_>, headers: &HeaderMap, body: Body) -> Response {
    revoke_token(ctx, headers, body).await.into_response()
}

/// Form → client → token → the store's revocation (RFC 7009: unknown tokens are fine too).
async fn revoke_token(
    ctx: &AuthzRequest<'_>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let f = form(body).await?;
    let audiences = [ctx.endpoint("/oauth/token"), ctx.endpoint("/oauth/revoke")];
    let client = authenticate(ctx, headers, &f, &audiences).await?;
    let Some(token) = f.get("token").filter(|t| !t.is_empty()) else {
        return Err(OAuthError::InvalidRequest("token is required.".into()));
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
    let now = ctx.env.clock.now();
    let outcome = ctx
        .env
        .store
        .run(move |s| s.revoke_oauth_token(&request, now))
        .await
        .map_err(|e| server_error(&e))?;
    if let RevokeOutcome::InvalidClient = outcome {
        return Err(invalid_client("Client authentication failed."));
    }
    ctx.env.tokens.clear();
    let mut resp = StatusCode::OK.into_response();
    no_store(resp.headers_mut());
    Ok(resp)
}
