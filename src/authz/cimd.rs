//! The Client ID Metadata Document acceptor (SPEC §3.6): a `client_id` that is a URL names a
//! JSON document describing the client. This module decides which ids are such URLs, fetches
//! the document through [`crate::net::outbound`] (5 KiB, 10 s, no redirects, SSRF guard),
//! validates it with the DCR rules and keeps it in the store as a `metadata_document` client.
//! A refused document says why ([`DocumentError`]) for the log and the developer details.
//!
//! The store record doubles as the cache: its `created_at` is the time of the last fetch, and a
//! record younger than [`CACHE_SECONDS`] is used without fetching again.

use super::AuthzRequest;
use crate::client_metadata::ClientAuthMethod;
use crate::client_metadata::{jwks_problem, jwks_uri_problem, redirect_uri_problem};
use crate::net::outbound::{self, Guard, Limits, OutboundError, OutboundRequest};
use crate::store::{Client, ClientSource, NewClient, RegisterClientOutcome, StoreError};
use serde_json::Value;

/// How long a fetched document is used before it is fetched again.
pub const CACHE_SECONDS: i64 = 300;

/// The description every refusal carries (§3.6); `why` goes to the developer details only.
pub const NOT_REGISTERED: &str = "OAuth client is not registered.";

/// A refused metadata-document client.
#[derive(Debug)]
pub struct Refusal {
    /// The OAuth `error_description`: [`NOT_REGISTERED`], with a hint for ChatGPT.
    pub description: String,
    /// What exactly went wrong, for the log and the error page's developer details.
    pub why: DocumentError,
}

/// Why a metadata document cannot name a client.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("Client ID Metadata Documents are disabled (gateway.cimdEnabled is false)")]
    Disabled,
    #[error("the client id is not a URL: {0}")]
    NotAUrl(url::ParseError),
    #[error("the client id URL must not have a fragment")]
    Fragment,
    #[error(transparent)]
    Fetch(#[from] OutboundError),
    #[error("the document URL answered HTTP {0}")]
    Status(u16),
    #[error("the document is not a JSON object")]
    NotAnObject,
    #[error("the document's client_id {0:?} is not its URL")]
    OtherClientId(String),
    #[error("the document has no client_id")]
    NoClientId,
    #[error("the document has no redirect_uris")]
    NoRedirectUris,
    #[error("every redirect_uris entry must be a non-empty string")]
    RedirectUriNotAString,
    #[error("redirect_uris: {uri:?} {why}")]
    RedirectUri { uri: String, why: String },
    /// The method named (`None` when it is not a string).
    #[error(
        "token_endpoint_auth_method {0:?} is not usable with a metadata document (none or private_key_jwt)"
    )]
    AuthMethod(Option<String>),
    #[error("jwks_uri must be a string")]
    JwksUriNotAString,
    #[error("jwks_uri {0}")]
    JwksUri(String),
    #[error("jwks {0}")]
    Jwks(String),
    #[error("private_key_jwt needs jwks_uri or jwks")]
    NoKeys,
    #[error("a client registered otherwise already uses this id")]
    IdTaken,
    #[error("the store failed: {0}")]
    Store(StoreError),
}

/// Is `client_id` a metadata-document URL (an `http(s)` URL with a path other than `/`)?
/// Whether it may be fetched is decided later, by the URL check and the SSRF guard.
pub fn is_metadata_url(client_id: &str) -> bool {
    url::Url::parse(client_id)
        .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && !matches!(u.path(), "" | "/"))
}

/// The description of a refusal: ChatGPT's own document ids get a way out (§3.6).
pub fn description(client_id: &str) -> String {
    if client_id.starts_with("https://chatgpt.com/oauth/") && client_id.ends_with("/client.json") {
        format!(
            "{NOT_REGISTERED} ChatGPT's client metadata document could not be used: in ChatGPT, switch the connector's client registration to Dynamic Client Registration (DCR)."
        )
    } else {
        NOT_REGISTERED.to_string()
    }
}

/// The guard for URLs a client chose: `http` on loopback only while the gateway itself listens
/// on loopback.
pub fn client_url_guard(ctx: &AuthzRequest<'_>) -> Guard {
    Guard::Public {
        loopback_http: crate::web::oauth::origin_is_loopback_http(&ctx.env.origin.listen_origin),
    }
}

fn refuse(client_id: &str, why: DocumentError) -> Refusal {
    tracing::info!(event = "oauth_cimd_refused", client_id = %client_id, why = %why, "client metadata document refused");
    Refusal {
        description: description(client_id),
        why,
    }
}

/// The client named by the metadata-document URL `client_id`: from the store while fresh,
/// fetched and validated otherwise.
pub async fn resolve(ctx: &AuthzRequest<'_>, client_id: &str) -> Result<Client, Refusal> {
    if !ctx.oauth.gateway.cimd_enabled {
        return Err(refuse(client_id, DocumentError::Disabled));
    }
    let now = ctx.env.clock.now();
    let id = client_id.to_string();
    if let Ok(Some(c)) = ctx.env.store.run(move |s| s.read_client(&id, now)).await
        && c.source == ClientSource::MetadataDocument
        && now - c.created_at < CACHE_SECONDS
    {
        return Ok(c);
    }
    let new = fetch(ctx, client_id)
        .await
        .map_err(|why| refuse(client_id, why))?;
    match ctx
        .env
        .store
        .run(move |s| s.register_client(&new, now))
        .await
    {
        Ok(RegisterClientOutcome::Registered { client, .. }) => Ok(*client),
        Ok(RegisterClientOutcome::AlreadyExists) => Err(refuse(client_id, DocumentError::IdTaken)),
        Err(e) => Err(refuse(client_id, DocumentError::Store(e))),
    }
}

/// Fetches and validates the document; the error says why it is refused.
async fn fetch(ctx: &AuthzRequest<'_>, client_id: &str) -> Result<NewClient, DocumentError> {
    let url = url::Url::parse(client_id).map_err(DocumentError::NotAUrl)?;
    if url.fragment().is_some() {
        return Err(DocumentError::Fragment);
    }
    let fetched = outbound::fetch(
        ctx.env.http,
        OutboundRequest::get(url),
        Limits::CIMD,
        client_url_guard(ctx),
    )
    .await?;
    if !fetched.status.is_success() {
        return Err(DocumentError::Status(fetched.status.as_u16()));
    }
    let Some(Value::Object(doc)) = fetched.json() else {
        return Err(DocumentError::NotAnObject);
    };
    validate(ctx, client_id, &doc).await
}

/// §3.6: the document's own `client_id` equals the URL; its redirect URIs and keys pass the DCR
/// rules. Secrets cannot exist for such a client, so only `none` and `private_key_jwt` work.
async fn validate(
    ctx: &AuthzRequest<'_>,
    client_id: &str,
    doc: &serde_json::Map<String, Value>,
) -> Result<NewClient, DocumentError> {
    match doc.get("client_id").and_then(Value::as_str) {
        Some(id) if id == client_id => {}
        Some(id) => return Err(DocumentError::OtherClientId(id.to_string())),
        None => return Err(DocumentError::NoClientId),
    }
    let uris = doc
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or(DocumentError::NoRedirectUris)?;
    let mut redirect_uris = Vec::with_capacity(uris.len());
    for u in uris {
        let s = u
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or(DocumentError::RedirectUriNotAString)?;
        if let Some(why) = redirect_uri_problem(s) {
            return Err(DocumentError::RedirectUri {
                uri: s.to_string(),
                why,
            });
        }
        redirect_uris.push(s.to_string());
    }
    let method = match doc.get("token_endpoint_auth_method").map(Value::as_str) {
        None | Some(Some("none")) => ClientAuthMethod::None,
        Some(Some("private_key_jwt")) => ClientAuthMethod::PrivateKeyJwt,
        Some(other) => return Err(DocumentError::AuthMethod(other.map(str::to_string))),
    };
    let jwks_uri = match doc.get("jwks_uri") {
        None => None,
        Some(v) => {
            let s = v.as_str().ok_or(DocumentError::JwksUriNotAString)?;
            if let Some(why) = jwks_uri_problem(s, client_url_guard(ctx)).await {
                return Err(DocumentError::JwksUri(why));
            }
            Some(s.to_string())
        }
    };
    let jwks = match doc.get("jwks") {
        None => None,
        Some(v) => {
            if let Some(why) = jwks_problem(v) {
                return Err(DocumentError::Jwks(why));
            }
            Some(v.to_string())
        }
    };
    if method == ClientAuthMethod::PrivateKeyJwt && jwks_uri.is_none() && jwks.is_none() {
        return Err(DocumentError::NoKeys);
    }
    let name = doc
        .get("client_name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(client_id)
        .chars()
        .take(200)
        .collect();
    let grant_types = match doc.get("grant_types").and_then(Value::as_array) {
        Some(g) => g
            .iter()
            .filter_map(Value::as_str)
            .filter(|g| matches!(*g, "authorization_code" | "refresh_token"))
            .map(str::to_string)
            .collect(),
        None => vec!["authorization_code".into(), "refresh_token".into()],
    };
    Ok(NewClient {
        id: client_id.to_string(),
        source: ClientSource::MetadataDocument,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_client_ids_are_documents() {
        for yes in [
            "https://app.example.com/oauth/client.json",
            "http://127.0.0.1:9000/client",
            "https://chatgpt.com/oauth/abc/client.json",
        ] {
            assert!(is_metadata_url(yes), "{yes}");
        }
        for no in [
            "dcr:1234",
            "https://app.example.com/",
            "https://app.example.com",
            "cursor://x/y",
            "not a url",
        ] {
            assert!(!is_metadata_url(no), "{no}");
        }
    }

    #[test]
    fn chatgpt_ids_get_the_dcr_hint() {
        assert_eq!(description("https://a.example/c.json"), NOT_REGISTERED);
        let d = description("https://chatgpt.com/oauth/xyz/client.json");
        assert!(d.starts_with(NOT_REGISTERED) && d.contains("DCR"), "{d}");
    }
}
