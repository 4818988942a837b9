//! The mock's authorization server (OAuth 2.1): RFC 8414 metadata, RFC 7591 registration,
//! `/authorize` (PKCE S256 required, `resource` checked, auto-approved), `/token`
//! (authorization_code with PKCE, single-use 60 s codes; refresh_token with rotation; client
//! authentication by the registered method) and RFC 7009 `/revoke`. Clients may also be
//! pre-registered or, with `--cimd`, be https Client ID Metadata Documents.

use super::state::{CodeGrant, Known, MockClient, TokenGrant, recorded};
use super::{IssMode, Mock, PreRegisteredClient, split_scope};
use crate::client_metadata::redirect_uri_problem;
use crate::web::oauth::{
    OAuthError, basic_credentials, no_store, origin_is_loopback_http, redirect, unique_pairs,
};

use crate::client_metadata::ClientAuthMethod;
use crate::clock::now_unix;
use crate::crypto::{hash_token, new_token, pkce_s256_matches};
use crate::net::outbound::{self, Guard, Limits, OutboundRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Authorization codes live this long.
const CODE_TTL_SECS: i64 = 60;
const AUTH_METHODS: [&str; 3] = ["none", "client_secret_basic", "client_secret_post"];

pub fn routes(mock: Mock) -> Router {
    let mut r = Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/revoke", post(revoke));
    if mock.opts.dcr {
        r = r.route("/register", post(register));
    }
    r.with_state(mock)
}

/// The record of a `--client-id` client: any loopback redirect URI, refresh allowed.
pub fn preregistered(pre: &PreRegisteredClient) -> Known {
    let method = if pre.secret.is_some() {
        ClientAuthMethod::ClientSecretBasic
    } else {
        ClientAuthMethod::None
    };
    Known {
        client: MockClient {
            id: pre.id.clone(),
            redirect_uris: Vec::new(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_method: method,
            secret_hash: pre.secret.as_ref().map(|s| hash_token(s.expose())),
        },
        preregistered: true,
    }
}

async fn metadata(State(m): State<Mock>) -> Response {
    let (o, u) = (&m.opts, &m.urls);
    let mut grants = vec!["authorization_code"];
    if o.refresh_tokens {
        grants.push("refresh_token");
    }
    let mut doc = json!({
        "issuer": u.issuer,
        "authorization_endpoint": u.authorization_endpoint,
        "token_endpoint": u.token_endpoint,
        "revocation_endpoint": u.revocation_endpoint,
        "response_types_supported": ["code"],
        "grant_types_supported": grants,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": o.as_scopes_supported(),
        "authorization_response_iss_parameter_supported": true,
    });
    if let Value::Object(map) = &mut doc {
        if let Some(reg) = &u.registration_endpoint {
            map.insert("registration_endpoint".into(), reg.clone().into());
        }
        if o.cimd {
            map.insert("client_id_metadata_document_supported".into(), true.into());
        }
    }
    axum::Json(doc).into_response()
}

fn bad_metadata(msg: impl Into<String>) -> Response {
    OAuthError::InvalidClientMetadata(msg.into()).into_response()
}

async fn register(State(m): State<Mock>, body: Bytes) -> Response {
    let req = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(req)) => req,
        _ => return bad_metadata("The body must be a JSON object."),
    };
    {
        let mut st = m.state();
        st.stats.registrations += 1;
        st.stats.last_register = Some(Value::Object(req.clone()));
    }
    let redirect_uris: Vec<String> = match req.get("redirect_uris") {
        Some(Value::Array(items)) if !items.is_empty() => {
            let uris: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if uris.len() != items.len() {
                return bad_metadata("redirect_uris must be strings.");
            }
            uris
        }
        _ => return bad_metadata("redirect_uris must be a non-empty array."),
    };
    if let Some((uri, why)) = redirect_uris
        .iter()
        .find_map(|u| redirect_uri_problem(u).map(|why| (u, why)))
    {
        return OAuthError::InvalidRedirectUri(format!("{uri} {why}")).into_response();
    }
    // RFC 7591 §2: the default method is client_secret_basic.
    let method = match req.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => ClientAuthMethod::ClientSecretBasic,
        Some(Value::String(s)) if AUTH_METHODS.contains(&s.as_str()) => {
            match ClientAuthMethod::parse(s) {
                Some(method) => method,
                None => return bad_metadata("unknown token_endpoint_auth_method"),
            }
        }
        Some(_) => {
            return bad_metadata(
                "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post.",
            );
        }
    };
    let method = m.opts.dcr_auth_method.unwrap_or(method);
    let grant_types: Vec<String> = match req.get("grant_types") {
        None | Some(Value::Null) => vec!["authorization_code".into(), "refresh_token".into()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(_) => return bad_metadata("grant_types must be an array."),
    };
    if let Some(g) = grant_types
        .iter()
        .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
    {
        return bad_metadata(format!("unsupported grant type {g}"));
    }
    if let Some(types) = req.get("response_types")
        && types != &json!(["code"])
    {
        return bad_metadata("response_types must be [\"code\"].");
    }
    let name = req
        .get("client_name")
        .and_then(Value::as_str)
        .unwrap_or("unnamed client")
        .to_string();
    let secret = method.uses_secret().then(new_token);
    let now = now_unix();
    let client = MockClient {
        id: format!("mock-{}", uuid::Uuid::new_v4().simple()),
        redirect_uris: redirect_uris.clone(),
        grant_types: grant_types.clone(),
        auth_method: method,
        secret_hash: secret.as_ref().map(|s| hash_token(s.expose())),
    };
    let mut out = json!({
        "client_id": client.id,
        "client_id_issued_at": now,
        "client_name": name,
        "redirect_uris": redirect_uris,
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": method.as_str(),
    });
    if let Value::Object(map) = &mut out {
        if let Some(secret) = &secret {
            map.insert("client_secret".into(), secret.expose().into());
            map.insert("client_secret_expires_at".into(), 0.into());
        }
        if let Some(scope) = req.get("scope") {
            map.insert("scope".into(), scope.clone());
        }
    }
    m.state().clients.insert(
        client.id.clone(),
        Known {
            client,
            preregistered: false,
        },
    );
    let mut resp = (StatusCode::CREATED, axum::Json(out)).into_response();
    no_store(resp.headers_mut());
    resp
}

/// Pairs of a query string or form body; a repeated name is an `invalid_request`.
fn pairs(raw: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    unique_pairs(raw)
        .map_err(|e| OAuthError::InvalidRequest(format!("{}: repeated parameter.", e.0)))
}

/// Why no client record answers to a `client_id`.
#[derive(Debug, thiserror::Error)]
enum UnknownClient {
    #[error("unknown client_id {0}")]
    NotRegistered(String),
    #[error("client_id {id} is not a URL: {source}")]
    NotAUrl { id: String, source: url::ParseError },
    #[error("client metadata document: {0}")]
    Fetch(#[from] outbound::OutboundError),
    #[error("client metadata document {id} answered {status}")]
    Status { id: String, status: StatusCode },
    #[error("client metadata document {0} is not JSON")]
    NotJson(String),
    #[error("client metadata document {0} names another client_id")]
    OtherClientId(String),
    #[error("client metadata document {0} has no usable redirect_uris")]
    NoRedirectUris(String),
    #[error(
        "client metadata document {id}: token_endpoint_auth_method {method} is not supported by the mock (only none)"
    )]
    AuthMethod { id: String, method: String },
}

/// The client record for `id`: known, or (with `--cimd`) read from its metadata document.
async fn lookup_client(m: &Mock, id: &str) -> Result<Known, UnknownClient> {
    if let Some(known) = m.state().clients.get(id) {
        return Ok(known.clone());
    }
    // A mock on loopback also takes loopback http documents, so that labs and tests can serve
    // one without TLS (the guard applies the same rule to the gateway on loopback).
    let loopback = origin_is_loopback_http(&m.urls.issuer);
    let document = id.starts_with("https://")
        || (loopback && id.starts_with("http://") && origin_is_loopback_http(id));
    if !(m.opts.cimd && document) {
        return Err(UnknownClient::NotRegistered(id.to_string()));
    }
    let known = fetch_metadata_document(m, id).await?;
    m.state().clients.insert(id.to_string(), known.clone());
    Ok(known)
}

/// A Client ID Metadata Document, fetched through the one outbound guard (public https hosts,
/// or loopback http when the mock itself is on loopback; 5 KiB, 10 s, no redirects). Only
/// public clients (`none`) are accepted.
async fn fetch_metadata_document(m: &Mock, id: &str) -> Result<Known, UnknownClient> {
    let url = url::Url::parse(id).map_err(|source| UnknownClient::NotAUrl {
        id: id.to_string(),
        source,
    })?;
    let fetched = outbound::fetch(
        &m.http,
        OutboundRequest::get(url),
        Limits::CIMD,
        Guard::Public {
            loopback_http: origin_is_loopback_http(&m.urls.issuer),
        },
    )
    .await?;
    if !fetched.status.is_success() {
        return Err(UnknownClient::Status {
            id: id.to_string(),
            status: fetched.status,
        });
    }
    let doc = fetched
        .json()
        .ok_or_else(|| UnknownClient::NotJson(id.to_string()))?;
    if doc.get("client_id").and_then(Value::as_str) != Some(id) {
        return Err(UnknownClient::OtherClientId(id.to_string()));
    }
    let redirect_uris: Vec<String> = doc
        .get("redirect_uris")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if redirect_uris.is_empty()
        || redirect_uris
            .iter()
            .any(|u| redirect_uri_problem(u).is_some())
    {
        return Err(UnknownClient::NoRedirectUris(id.to_string()));
    }
    match doc
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
    {
        None | Some("none") => {}
        Some(other) => {
            return Err(UnknownClient::AuthMethod {
                id: id.to_string(),
                method: other.to_string(),
            });
        }
    }
    Ok(Known {
        client: MockClient {
            id: id.to_string(),
            redirect_uris,
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            auth_method: ClientAuthMethod::None,
            secret_hash: None,
        },
        preregistered: false,
    })
}

/// An error the browser sees, because the redirect URI cannot be trusted yet.
fn bad_authorize(msg: impl Into<String>) -> Response {
    OAuthError::InvalidRequest(msg.into()).into_response()
}

/// A 302 to the client's redirect URI with `pairs` added to its query.
fn back_to_client(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            redirect(url.as_str())
        }
        Err(_) => bad_authorize("redirect_uri is not a URL"),
    }
}

/// Is `resource` this mock's MCP resource (or its origin)?
fn resource_ok(m: &Mock, resource: &str) -> bool {
    let r = resource.trim_end_matches('/');
    r == m.urls.resource || r == m.urls.issuer
}

/// The scopes to grant: the requested ones the AS knows and does not withhold; with none of
/// those, the required scope.
fn grant_scope(m: &Mock, requested: Option<&String>) -> Vec<String> {
    let supported = m.opts.as_scopes_supported();
    let granted: Vec<String> = requested
        .map(|s| split_scope(s))
        .unwrap_or_default()
        .into_iter()
        .filter(|s| supported.contains(s) && !m.opts.withheld_scopes.contains(s))
        .collect();
    if granted.is_empty() {
        m.opts.required_scopes()
    } else {
        granted
    }
}

fn redirect_allowed(known: &Known, redirect_uri: &str) -> bool {
    if known.preregistered {
        redirect_uri_problem(redirect_uri).is_none() && origin_is_loopback_http(redirect_uri)
    } else {
        known.client.allows_redirect_uri(redirect_uri)
    }
}

async fn authorize(State(m): State<Mock>, RawQuery(query): RawQuery) -> Response {
    let p = match pairs(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    {
        let mut st = m.state();
        st.stats.authorizations += 1;
        st.stats.last_authorize = Some(recorded(&p));
    }
    let Some(client_id) = p.get("client_id") else {
        return bad_authorize("client_id is missing");
    };
    let known = match lookup_client(&m, client_id).await {
        Ok(k) => k,
        Err(e) => return bad_authorize(e.to_string()),
    };
    let redirect_uri = match (p.get("redirect_uri"), known.client.redirect_uris.as_slice()) {
        (Some(r), _) => r.clone(),
        (None, [only]) => only.clone(),
        (None, _) => return bad_authorize("redirect_uri is required"),
    };
    if !redirect_allowed(&known, &redirect_uri) {
        return bad_authorize(format!(
            "redirect_uri {redirect_uri} is not registered for this client"
        ));
    }
    // From here on, errors go back to the client.
    let state = p.get("state").map(String::as_str);
    // RFC 9207 `iss`, or the hostile variant `--iss` asks for
    let iss = match m.opts.iss {
        IssMode::Exact => Some(m.urls.issuer.clone()),
        IssMode::Omit => None,
        IssMode::TrailingSlash => Some(format!("{}/", m.urls.issuer)),
    };
    let iss = iss.as_deref();
    let fail = |error: &str, description: &str| {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        if let Some(iss) = iss {
            pairs.push(("iss", iss));
        }
        back_to_client(&redirect_uri, &pairs)
    };
    if p.get("response_type").map(String::as_str) != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    let Some(challenge) = p.get("code_challenge").filter(|c| !c.is_empty()) else {
        return fail("invalid_request", "PKCE is required: send code_challenge");
    };
    if p.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    let resource = p.get("resource").cloned();
    if let Some(r) = &resource
        && !resource_ok(&m, r)
    {
        return fail(
            "invalid_target",
            &format!("resource must be {}", m.urls.resource),
        );
    }
    let code = new_token();
    m.state().codes.insert(
        hash_token(code.expose()),
        CodeGrant {
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            challenge: challenge.clone(),
            scope: grant_scope(&m, p.get("scope")),
            resource,
            expires_at: now_unix() + CODE_TTL_SECS,
        },
    );
    let mut pairs = vec![("code", code.expose())];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    if let Some(iss) = iss {
        pairs.push(("iss", iss));
    }
    back_to_client(&redirect_uri, &pairs)
}

/// The credentials a token or revocation request presented, and how.
struct Presented {
    client_id: String,
    secret: Option<String>,
    via: ClientAuthMethod,
}

fn invalid_client(msg: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClient(msg.into())
}

/// The credentials presented.
fn presented(headers: &HeaderMap, f: &HashMap<String, String>) -> Result<Presented, OAuthError> {
    if let Some(pair) = basic_credentials(headers) {
        let (id, secret) =
            pair.map_err(|_| invalid_client("The Basic credentials are malformed."))?;
        return Ok(Presented {
            client_id: id,
            secret: Some(secret),
            via: ClientAuthMethod::ClientSecretBasic,
        });
    }
    let id = f
        .get("client_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid_client("No client authentication and no client_id."))?;
    Ok(match f.get("client_secret").filter(|s| !s.is_empty()) {
        Some(secret) => Presented {
            client_id: id.clone(),
            secret: Some(secret.clone()),
            via: ClientAuthMethod::ClientSecretPost,
        },
        None => Presented {
            client_id: id.clone(),
            secret: None,
            via: ClientAuthMethod::None,
        },
    })
}

/// Checks the presented credentials against the client's registered method: a dynamic client
/// must use exactly that method; a pre-registered one may send its secret either way.
async fn authenticate(
    m: &Mock,
    headers: &HeaderMap,
    f: &HashMap<String, String>,
) -> Result<Known, OAuthError> {
    let p = presented(headers, f)?;
    let known = lookup_client(m, &p.client_id)
        .await
        .map_err(|e| invalid_client(e.to_string()))?;
    let method = known.client.auth_method;
    if !known.preregistered && p.via != method {
        return Err(invalid_client(format!(
            "this client authenticates with {}, not {}",
            method.as_str(),
            p.via.as_str()
        )));
    }
    if !known.client.secret_matches(p.secret.as_deref()) {
        return Err(invalid_client("Client authentication failed."));
    }
    m.state().stats.last_client_auth = Some(p.via.as_str().to_string());
    Ok(known)
}

fn invalid_grant(msg: &str) -> OAuthError {
    OAuthError::InvalidGrant(msg.into())
}

/// The failure `POST /__mock/fail-next-token` asked for: `invalid_client` as the real thing
/// (401 with its challenge), any other code as a 400.
fn injected_failure(error: String) -> OAuthError {
    let description = "failed on purpose (/__mock/fail-next-token)".to_string();
    if error == "invalid_client" {
        OAuthError::InvalidClient(description)
    } else {
        OAuthError::Other { error, description }
    }
}

async fn token(State(m): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    token_answer(&m, &headers, &body).await.into_response()
}

async fn token_answer(m: &Mock, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let f = pairs(body)?;
    let injected = {
        let mut st = m.state();
        st.stats.token_requests += 1;
        st.stats.last_token = Some(recorded(&f));
        st.fail_next_token.take()
    };
    if let Some(error) = injected {
        return Err(injected_failure(error));
    }
    let known = authenticate(m, headers, &f).await?;
    match f.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(m, &known, &f),
        Some("refresh_token") if m.opts.refresh_tokens => refresh_grant(m, &known, &f),
        Some(other) => Err(OAuthError::UnsupportedGrantType(format!(
            "grant_type {other} is not supported here"
        ))),
        None => Err(OAuthError::InvalidRequest("grant_type is missing".into())),
    }
}

fn code_grant(
    m: &Mock,
    known: &Known,
    f: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    let Some(code) = f.get("code") else {
        return Err(OAuthError::InvalidRequest("code is missing".into()));
    };
    // Single use: the first exchange attempt consumes the code, right or wrong.
    let Some(grant) = m.state().codes.remove(&hash_token(code)) else {
        return Err(invalid_grant("The code is unknown or was already used."));
    };
    if grant.expires_at <= now_unix() {
        return Err(invalid_grant("The code has expired."));
    }
    if grant.client_id != known.client.id {
        return Err(invalid_grant("The code was issued to another client."));
    }
    if f.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request.",
        ));
    }
    let Some(verifier) = f.get("code_verifier") else {
        return Err(invalid_grant("PKCE: code_verifier is missing."));
    };
    if !pkce_s256_matches(verifier, &grant.challenge) {
        return Err(invalid_grant("PKCE verification failed."));
    }
    if let (Some(asked), Some(bound)) = (f.get("resource"), &grant.resource)
        && asked.trim_end_matches('/') != bound.trim_end_matches('/')
    {
        return Err(OAuthError::InvalidTarget(
            "resource differs from the authorization request.".into(),
        ));
    }
    Ok(issue(m, known, grant.scope, grant.resource))
}

fn refresh_grant(
    m: &Mock,
    known: &Known,
    f: &HashMap<String, String>,
) -> Result<Response, OAuthError> {
    if !known
        .client
        .grant_types
        .iter()
        .any(|g| g == "refresh_token")
    {
        return Err(OAuthError::UnauthorizedClient(
            "This client did not register the refresh_token grant.".into(),
        ));
    }
    let Some(rt) = f.get("refresh_token") else {
        return Err(OAuthError::InvalidRequest(
            "refresh_token is missing".into(),
        ));
    };
    let key = hash_token(rt);
    let grant = {
        let mut st = m.state();
        match st.refresh.get(&key) {
            Some(g) if g.client_id == known.client.id => {}
            Some(_) => {
                return Err(invalid_grant(
                    "The refresh token belongs to another client.",
                ));
            }
            None => {
                return Err(invalid_grant(
                    "The refresh token is unknown, rotated or revoked.",
                ));
            }
        }
        // Rotation: the presented refresh token is spent.
        match st.refresh.remove(&key) {
            Some(g) => g,
            None => {
                return Err(invalid_grant(
                    "The refresh token is unknown, rotated or revoked.",
                ));
            }
        }
    };
    let mut scope = grant.scope.clone();
    if let Some(asked) = f.get("scope") {
        let asked = split_scope(asked);
        if asked.iter().any(|s| !grant.scope.contains(s)) {
            return Err(OAuthError::InvalidScope(
                "A refresh cannot widen the scope.".into(),
            ));
        }
        scope = asked;
    }
    m.state().stats.refreshes += 1;
    Ok(issue(m, known, scope, grant.resource))
}

/// Issues an access token (and a refresh token, when on) and answers the token response.
fn issue(m: &Mock, known: &Known, scope: Vec<String>, resource: Option<String>) -> Response {
    let ttl = i64::try_from(m.opts.token_ttl_secs).unwrap_or(i64::MAX);
    let access = new_token();
    let refresh = (m.opts.refresh_tokens
        && known
            .client
            .grant_types
            .iter()
            .any(|g| g == "refresh_token"))
    .then(new_token);
    let grant = TokenGrant {
        client_id: known.client.id.clone(),
        scope: scope.clone(),
        resource,
        expires_at: now_unix().saturating_add(ttl),
    };
    {
        let mut st = m.state();
        st.stats.tokens_issued += 1;
        if let Some(rt) = &refresh {
            st.refresh.insert(hash_token(rt.expose()), grant.clone());
        }
        st.access.insert(hash_token(access.expose()), grant);
    }
    let mut body = json!({
        "access_token": access.expose(),
        "token_type": "Bearer",
        "expires_in": m.opts.token_ttl_secs,
        "scope": scope.join(" "),
    });
    if let (Some(rt), Value::Object(map)) = (&refresh, &mut body) {
        map.insert("refresh_token".into(), rt.expose().into());
    }
    let mut resp = axum::Json(body).into_response();
    no_store(resp.headers_mut());
    resp
}

async fn revoke(State(m): State<Mock>, headers: HeaderMap, body: Bytes) -> Response {
    revoke_answer(&m, &headers, &body).await.into_response()
}

async fn revoke_answer(m: &Mock, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let f = pairs(body)?;
    let known = authenticate(m, headers, &f).await?;
    let Some(token) = f.get("token") else {
        return Err(OAuthError::InvalidRequest("token is missing".into()));
    };
    let key = hash_token(token);
    let mut st = m.state();
    st.stats.revocations += 1;
    let owned = |g: Option<&TokenGrant>| g.is_some_and(|g| g.client_id == known.client.id);
    // RFC 7009 §2.2: unknown tokens and other clients' tokens also get 200.
    if owned(st.access.get(&key)) {
        st.access.remove(&key);
    }
    if owned(st.refresh.get(&key)) {
        st.refresh.remove(&key);
    }
    let mut resp = StatusCode::OK.into_response();
    no_store(resp.headers_mut());
    Ok(resp)
}
