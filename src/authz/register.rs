//! `POST {B}/oauth/register`: Dynamic Client Registration (RFC 7591, SPEC §3.5).
//!
//! Owns: the accepted metadata, the redirect-URI rules, the defaults of the answer. The client
//! and its secret (hash only) go to the store. `private_key_jwt` clients name their keys with
//! `jwks_uri` (or an inline `jwks`); the same key rules serve metadata documents (§3.6). The
//! handler reads the request, checks the metadata field by field, registers, and answers; every
//! refusal is an [`OAuthError`] (§3.2).

use super::{AuthzRequest, SCOPE};
use crate::client_metadata::{
    ClientAuthMethod, jwks_problem, jwks_uri_problem, redirect_uri_problem,
};
use crate::secret::Secret;
use crate::store::{Client, ClientSource, NewClient, RegisterClientOutcome};
use crate::web::oauth::{OAuthError, no_store};
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

const MAX_BODY: usize = 64 * 1024;
const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
];
fn metadata_error(msg: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClientMetadata(msg.into())
}

pub async fn handle(
    ctx: &AuthzRequest<'_>,
    headers: &axum::http::HeaderMap,
    body: Body,
) -> Response {
    register(ctx, headers, body).await.into_response()
}

/// Body → metadata → store → the registration response.
async fn register(
    ctx: &AuthzRequest<'_>,
    headers: &axum::http::HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    // RFC 7591 §3.1: the metadata is sent as application/json; a "simple" content type such
    // as text/plain is what a cross-site form or fetch could send without a preflight (#13)
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(OAuthError::InvalidRequest(
            "The registration request must be sent as application/json.".into(),
        ));
    }
    let m = read_request(body).await?;
    let application_type = application_type(&m)?;
    let client = new_client(ctx, &m).await?;
    let now = ctx.env.clock.now();
    let outcome = ctx
        .env
        .store
        .run(move |s| s.register_client(&client, now))
        .await;
    match outcome {
        Ok(RegisterClientOutcome::Registered { client, secret }) => Ok(registration_response(
            &client,
            secret.as_ref(),
            application_type,
        )),
        Ok(RegisterClientOutcome::AlreadyExists) => Err(OAuthError::InvalidRequest(
            "OAuth client is already registered.".into(),
        )),
        Err(e) => {
            tracing::error!(event = "oauth_register_failed", error = %e, "client registration failed");
            Err(OAuthError::ServerError(
                "The client could not be registered.".into(),
            ))
        }
    }
}

/// The registration request: a JSON object of at most 64 KiB.
async fn read_request(body: Body) -> Result<Map<String, Value>, OAuthError> {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Err(OAuthError::InvalidRequest(
            "The registration request is larger than 64 KiB.".into(),
        ));
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(OAuthError::InvalidRequest(
            "The registration request must be a JSON object.".into(),
        )),
    }
}

/// The client the metadata describes, checked in the order the answers name the fields.
async fn new_client(
    ctx: &AuthzRequest<'_>,
    m: &Map<String, Value>,
) -> Result<NewClient, OAuthError> {
    let redirect_uris = redirect_uris(m)?;
    let grant_types = grant_types(m)?;
    if let Some(rt) = m.get("response_types")
        && rt != &json!(["code"])
    {
        return Err(metadata_error("response_types must be [\"code\"]."));
    }
    if let Some(scope) = m.get("scope")
        && scope.as_str() != Some(SCOPE)
    {
        return Err(metadata_error(format!("scope must be \"{SCOPE}\".")));
    }
    let method = auth_method(m)?;
    let (jwks_uri, jwks) = keys(ctx, m).await?;
    if method == ClientAuthMethod::PrivateKeyJwt && jwks_uri.is_none() && jwks.is_none() {
        return Err(metadata_error(
            "token_endpoint_auth_method private_key_jwt requires jwks_uri.",
        ));
    }
    let name = m
        .get("client_name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("Dynamically registered MCP client")
        .chars()
        .take(200)
        .collect::<String>();
    Ok(NewClient {
        id: client_id(method, jwks_uri.as_deref()),
        source: ClientSource::Dynamic,
        name,
        redirect_uris,
        grant_types,
        authorization_grant_profiles_supported: Vec::new(),
        token_endpoint_auth_method: method,
        jwks_uri,
        jwks,
        ttl_seconds: Some(crate::store::ttl::CLIENT),
    })
}

/// At least one redirect URI, each passing the redirect-URI rules.
fn redirect_uris(m: &Map<String, Value>) -> Result<Vec<String>, OAuthError> {
    let Some(uris) = m
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return Err(OAuthError::InvalidRedirectUri(
            "redirect_uris: at least one redirect URI is required.".into(),
        ));
    };
    let mut redirect_uris = Vec::with_capacity(uris.len());
    for u in uris {
        let Some(s) = u.as_str().filter(|s| !s.is_empty()) else {
            return Err(OAuthError::InvalidRedirectUri(
                "redirect_uris: every entry must be a non-empty string.".into(),
            ));
        };
        if let Some(why) = redirect_uri_problem(s) {
            return Err(OAuthError::InvalidRedirectUri(format!(
                "redirect_uris: {s:?} {why}."
            )));
        }
        redirect_uris.push(s.to_string());
    }
    Ok(redirect_uris)
}

/// The grant types asked for (default: code and refresh), without repeats.
fn grant_types(m: &Map<String, Value>) -> Result<Vec<String>, OAuthError> {
    let items = match m.get("grant_types") {
        None => return Ok(vec!["authorization_code".into(), "refresh_token".into()]),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(metadata_error("grant_types must be an array.")),
    };
    let mut grant_types: Vec<String> = Vec::new();
    for g in items {
        match g.as_str().filter(|g| GRANT_TYPES.contains(g)) {
            Some(g) if !grant_types.iter().any(|x| x == g) => grant_types.push(g.to_string()),
            Some(_) => {}
            None => {
                return Err(metadata_error(format!(
                    "grant_types: {g} is not supported."
                )));
            }
        }
    }
    Ok(grant_types)
}

/// OpenID Connect `application_type` (SEP-837: MCP clients send it): "web" or "native". The
/// gateway treats both alike (its redirect-URI rules do not depend on it) and echoes the value
/// in the registration response.
fn application_type(m: &Map<String, Value>) -> Result<Option<&'static str>, OAuthError> {
    match m.get("application_type") {
        None => Ok(None),
        Some(v) => match v.as_str() {
            Some("web") => Ok(Some("web")),
            Some("native") => Ok(Some("native")),
            _ => Err(metadata_error(
                "application_type must be \"web\" or \"native\".",
            )),
        },
    }
}

fn auth_method(m: &Map<String, Value>) -> Result<ClientAuthMethod, OAuthError> {
    match m.get("token_endpoint_auth_method").map(|v| v.as_str()) {
        None | Some(Some("none")) => Ok(ClientAuthMethod::None),
        Some(Some("client_secret_basic")) => Ok(ClientAuthMethod::ClientSecretBasic),
        Some(Some("client_secret_post")) => Ok(ClientAuthMethod::ClientSecretPost),
        Some(Some("private_key_jwt")) => Ok(ClientAuthMethod::PrivateKeyJwt),
        Some(_) => Err(metadata_error(
            "token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt.",
        )),
    }
}

/// `jwks_uri` and `jwks`, each checked by the key rules shared with metadata documents.
async fn keys(
    ctx: &AuthzRequest<'_>,
    m: &Map<String, Value>,
) -> Result<(Option<String>, Option<String>), OAuthError> {
    let jwks_uri = match m.get("jwks_uri") {
        None => None,
        Some(Value::String(s)) => {
            match jwks_uri_problem(s, super::cimd::client_url_guard(ctx)).await {
                Some(why) => return Err(metadata_error(format!("jwks_uri {why}."))),
                None => Some(s.clone()),
            }
        }
        Some(_) => return Err(metadata_error("jwks_uri must be a string.")),
    };
    let jwks = match m.get("jwks") {
        None => None,
        Some(v) => match jwks_problem(v) {
            Some(why) => return Err(metadata_error(format!("jwks {why}."))),
            None => Some(v.to_string()),
        },
    };
    Ok((jwks_uri, jwks))
}

/// A new client id; a `private_key_jwt` client with a `jwks_uri` carries it in its id.
fn client_id(method: ClientAuthMethod, jwks_uri: Option<&str>) -> String {
    match jwks_uri.filter(|_| method == ClientAuthMethod::PrivateKeyJwt) {
        Some(uri) => format!(
            "dcr:pkjwt:{}:{}",
            crate::crypto::new_id(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uri.as_bytes())
        ),
        None => format!("dcr:{}", crate::crypto::new_id()),
    }
}

/// 201 with the registered metadata (RFC 7591 §3.2.1), never cached.
fn registration_response(
    client: &Client,
    secret: Option<&Secret>,
    application_type: Option<&str>,
) -> Response {
    let mut doc = json!({
        "client_id": client.id,
        "client_name": client.name,
        "redirect_uris": client.redirect_uris,
        "grant_types": client.grant_types,
        "response_types": ["code"],
        "scope": SCOPE,
        "token_endpoint_auth_method": client.token_endpoint_auth_method.as_str(),
        "client_id_issued_at": client.created_at,
    });
    if let Some(uri) = &client.jwks_uri {
        doc["jwks_uri"] = json!(uri);
    }
    if let Some(t) = application_type {
        doc["application_type"] = json!(t);
    }
    if let Some(secret) = secret {
        doc["client_secret"] = json!(secret.expose());
        doc["client_secret_issued_at"] = json!(client.created_at);
        doc["client_secret_expires_at"] = json!(client.expires_at.unwrap_or(0));
    }
    let mut resp = (StatusCode::CREATED, axum::Json(doc)).into_response();
    no_store(resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    use super::redirect_uri_problem;

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8976/oauth/callback",
            "http://localhost/cb",
            "http://[::1]:3000/cb",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
        ] {
            assert_eq!(redirect_uri_problem(ok), None, "{ok}");
        }
        for bad in [
            "http://example.com/cb",
            "javascript:alert(1)",
            "https://a.example/cb#x",
            "https://u:p@a.example/cb",
            "/relative",
            "https://a.example/c b",
            "data:text/html,x",
        ] {
            assert!(redirect_uri_problem(bad).is_some(), "{bad}");
        }
    }
}
