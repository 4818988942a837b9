//! `POST {B}/oauth/register`: Dynamic Client Registration (RFC 7591, SPEC §3.5).
//!
//! Owns: the accepted metadata, the redirect-URI rules, the defaults of the answer. The client
//! and its secret (hash only) go to the store. `private_key_jwt` clients name their keys with
//! `jwks_uri` (or an inline `jwks`); the same key rules serve metadata documents (§3.6).

use super::{AuthzRequest, SCOPE};
use crate::client_metadata::{
    ClientAuthMethod, jwks_problem, jwks_uri_problem, redirect_uri_problem,
};
use crate::web::oauth::{no_store, oauth_error};

use crate::store::{ClientSource, NewClient, RegisterClientOutcome};
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

const MAX_BODY: usize = 64 * 1024;
const GRANT_TYPES: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
];
fn metadata_error(msg: impl Into<String>) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        &msg.into(),
    )
}

pub async fn handle(ctx: &AuthzRequest<'_>, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The registration request is larger than 64 KiB.",
        );
    };
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&bytes) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The registration request must be a JSON object.",
        );
    };
    let Some(uris) = m
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect_uris: at least one redirect URI is required.",
        );
    };
    let mut redirect_uris = Vec::with_capacity(uris.len());
    for u in uris {
        let Some(s) = u.as_str().filter(|s| !s.is_empty()) else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                "redirect_uris: every entry must be a non-empty string.",
            );
        };
        if let Some(why) = redirect_uri_problem(s) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_redirect_uri",
                &format!("redirect_uris: {s:?} {why}."),
            );
        }
        redirect_uris.push(s.to_string());
    }
    let mut grant_types: Vec<String> = Vec::new();
    match m.get("grant_types") {
        None => grant_types = vec!["authorization_code".into(), "refresh_token".into()],
        Some(Value::Array(items)) => {
            for g in items {
                match g.as_str().filter(|g| GRANT_TYPES.contains(g)) {
                    Some(g) if !grant_types.iter().any(|x| x == g) => {
                        grant_types.push(g.to_string())
                    }
                    Some(_) => {}
                    None => return metadata_error(format!("grant_types: {g} is not supported.")),
                }
            }
        }
        Some(_) => return metadata_error("grant_types must be an array."),
    }
    if let Some(rt) = m.get("response_types")
        && rt != &json!(["code"])
    {
        return metadata_error("response_types must be [\"code\"].");
    }
    if let Some(scope) = m.get("scope")
        && scope.as_str() != Some(SCOPE)
    {
        return metadata_error(format!("scope must be \"{SCOPE}\"."));
    }
    let method = match m.get("token_endpoint_auth_method").map(|v| v.as_str()) {
        None => ClientAuthMethod::None,
        Some(Some("none")) => ClientAuthMethod::None,
        Some(Some("client_secret_basic")) => ClientAuthMethod::ClientSecretBasic,
        Some(Some("client_secret_post")) => ClientAuthMethod::ClientSecretPost,
        Some(Some("private_key_jwt")) => ClientAuthMethod::PrivateKeyJwt,
        Some(_) => {
            return metadata_error(
                "token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt.",
            );
        }
    };
    let guard = super::cimd::client_url_guard(ctx);
    let jwks_uri = match m.get("jwks_uri") {
        None => None,
        Some(Value::String(s)) => match jwks_uri_problem(s, guard).await {
            Some(why) => return metadata_error(format!("jwks_uri {why}.")),
            None => Some(s.clone()),
        },
        Some(_) => return metadata_error("jwks_uri must be a string."),
    };
    let jwks = match m.get("jwks") {
        None => None,
        Some(v) => match jwks_problem(v) {
            Some(why) => return metadata_error(format!("jwks {why}.")),
            None => Some(v.to_string()),
        },
    };
    if method == ClientAuthMethod::PrivateKeyJwt && jwks_uri.is_none() && jwks.is_none() {
        return metadata_error("token_endpoint_auth_method private_key_jwt requires jwks_uri.");
    }
    let name = m
        .get("client_name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("Dynamically registered MCP client")
        .chars()
        .take(200)
        .collect::<String>();

    let client = NewClient {
        id: match jwks_uri
            .as_ref()
            .filter(|_| method == ClientAuthMethod::PrivateKeyJwt)
        {
            Some(uri) => format!(
                "dcr:pkjwt:{}:{}",
                crate::crypto::new_id(),
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uri.as_bytes())
            ),
            None => format!("dcr:{}", crate::crypto::new_id()),
        },
        source: ClientSource::Dynamic,
        name,
        redirect_uris,
        grant_types,
        authorization_grant_profiles_supported: Vec::new(),
        token_endpoint_auth_method: method,
        jwks_uri,
        jwks,
        ttl_seconds: Some(crate::store::ttl::CLIENT),
    };
    let now = ctx.env.clock.now();
    let outcome = ctx
        .env
        .store
        .run(move |s| s.register_client(&client, now))
        .await;
    match outcome {
        Ok(RegisterClientOutcome::Registered { client, secret }) => {
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
            if let Some(secret) = secret {
                doc["client_secret"] = json!(secret.expose());
                doc["client_secret_issued_at"] = json!(client.created_at);
                doc["client_secret_expires_at"] = json!(client.expires_at.unwrap_or(0));
            }
            let mut resp = (StatusCode::CREATED, axum::Json(doc)).into_response();
            no_store(resp.headers_mut());
            resp
        }
        Ok(RegisterClientOutcome::AlreadyExists) => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "OAuth client is already registered.",
        ),
        Err(e) => {
            tracing::error!(event = "oauth_register_failed", error = %e, "client registration failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The client could not be registered.",
            )
        }
    }
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
