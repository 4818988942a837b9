//! `upstream-oauth-client-credentials-inbound` at run time (SPEC §16.8, D21).
//!
//! Owns: getting a token with the client_credentials grant (RFC 6749 §4.4) from the policy's
//! token endpoint — the request built by `oauth::token_request`, sent through `crate::net`'s
//! guarded client (https to public hosts, http on loopback), retried `tokenRetries` times when
//! the endpoint cannot be reached or answers 5xx / 429 — and caching the header value per
//! policy for `(expires_in or 600) − expirationOffsetSeconds` seconds (not at all when that is
//! ≤ 0, with a warning). The cache key also holds the options that shape the token, so an edit
//! of the policy under `mcpgw dev` is not answered with the old one. Neither the secret nor a
//! token is ever logged.

use crate::config::policies::client_credentials::{ClientCredentials, CredentialsIn};
use crate::net::outbound::{self, Guard, Limits};
use crate::oauth::token_request::{Client, ClientAuth, TokenRequest};
use crate::secret::{ClientSecret, Secret};
use crate::web::problem::Problem;
use axum::http::{HeaderValue, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A token answer without `expires_in` lives this long (§16.8).
pub const DEFAULT_EXPIRES_IN: i64 = 600;

/// Project-configured URLs: https to public hosts, or http on loopback (as for JWKS).
pub const GUARD: Guard = Guard::Public {
    loopback_http: true,
};

/// Why no header value could be made; the message is the 500 problem's `detail` (§16.8), the
/// cause is for the dev log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("Could not get token from the OAuth token endpoint")]
    Endpoint { cause: String },
    #[error(
        "Could not get token from the OAuth token endpoint, the response was not in the expected format."
    )]
    Format { cause: String },
}

impl TokenError {
    pub fn problem(&self) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, self.to_string())
    }

    pub fn cause(&self) -> &str {
        match self {
            TokenError::Endpoint { cause } | TokenError::Format { cause } => cause,
        }
    }
}

struct Cached {
    /// `<scheme> <token>`: a credential, so redacted.
    value: Secret,
    until: Instant,
}

/// The policies' cached header values, kept while the gateway runs (reloads keep it).
pub struct TokenCache {
    http: reqwest::Client,
    /// One slot per policy and options: concurrent misses wait for one token request.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
    /// Pause before retry n is n × this.
    retry_pause: Duration,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            http: outbound::client(),
            slots: Mutex::new(HashMap::new()),
            retry_pause: Duration::from_millis(100),
        }
    }
}

/// The cache key: the policy's name and what its token depends on.
fn key(name: &str, p: &ClientCredentials) -> String {
    let extra: Vec<String> = p
        .additional_parameters
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{name}\n{}\n{}\n{:?}\n{:?}\n{}\n{}",
        p.token_url,
        p.client_id,
        p.scope,
        p.audience,
        p.header_scheme,
        extra.join("&")
    )
}

impl TokenCache {
    /// The header value for policy `name`: cached, or from a new token request.
    pub async fn header_value(
        &self,
        name: &str,
        p: &ClientCredentials,
    ) -> Result<HeaderValue, TokenError> {
        let slot = {
            let mut slots = match self.slots.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            slots.entry(key(name, p)).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.until > Instant::now()) {
            return header(c.value.expose());
        }
        let (value, lifetime) = self.fetch(name, p).await?;
        let ttl = lifetime.saturating_sub(p.expiration_offset_seconds);
        *slot = if ttl > 0 {
            Some(Cached {
                value: Secret::new(value.clone()),
                until: Instant::now() + Duration::from_secs(ttl.unsigned_abs()),
            })
        } else {
            tracing::warn!(
                policy = name,
                expires_in = lifetime,
                expiration_offset_seconds = p.expiration_offset_seconds,
                "the token's lifetime minus expirationOffsetSeconds is not positive, so it is not cached: every request asks the token endpoint again"
            );
            None
        };
        header(&value)
    }

    /// One token: the header value and the token's lifetime in seconds.
    async fn fetch(&self, name: &str, p: &ClientCredentials) -> Result<(String, i64), TokenError> {
        let secret = ClientSecret::new(p.client_secret.expose());
        let auth = match p.credentials_in {
            CredentialsIn::Body => ClientAuth::Post(&secret),
            CredentialsIn::Header => ClientAuth::Basic {
                secret: &secret,
                client_id_in_form: false,
            },
        };
        let client = Client {
            id: &p.client_id,
            auth,
        };
        let mut grant = TokenRequest::client_credentials()
            .param("scope", p.scope.as_deref())
            .param("audience", p.audience.as_deref());
        for (k, v) in &p.additional_parameters {
            grant = grant.param(k, Some(v));
        }
        let request = grant.build(p.token_url.clone(), &client);
        let mut attempt = 0;
        let answer = loop {
            let result =
                outbound::fetch(&self.http, request.clone(), Limits::UPSTREAM_OAUTH, GUARD).await;
            let retry = match &result {
                Err(outbound::OutboundError::Blocked { .. }) => false,
                Err(_) => true,
                Ok(f) => f.status.is_server_error() || f.status.as_u16() == 429,
            };
            if !retry || attempt >= p.token_retries {
                break result;
            }
            attempt += 1;
            tracing::debug!(policy = name, attempt, "token request failed, retrying");
            tokio::time::sleep(self.retry_pause * attempt).await;
        };
        let fetched = answer.map_err(|e| TokenError::Endpoint {
            cause: e.to_string(),
        })?;
        if fetched.status != StatusCode::OK {
            return Err(TokenError::Endpoint {
                cause: format!("{} answered HTTP {}", p.token_url, fetched.status.as_u16()),
            });
        }
        let format = |why: &str| TokenError::Format {
            cause: format!("{}: {why}", p.token_url),
        };
        let body = fetched.json().ok_or_else(|| format("not a JSON body"))?;
        let token = body
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| format("no printable access_token"))?;
        let scheme = body
            .get("token_type")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .unwrap_or(&p.header_scheme);
        let lifetime = match body.get("expires_in") {
            Some(v) => v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                .filter(|n| n.is_finite())
                .map_or(DEFAULT_EXPIRES_IN, |n| n.clamp(-1e12, 1e12) as i64),
            None => DEFAULT_EXPIRES_IN,
        };
        let value = format!("{scheme} {token}");
        header(&value).map_err(|_| format("token_type cannot be sent in a header"))?;
        Ok((value, lifetime))
    }

    #[cfg(test)]
    fn quick() -> Self {
        TokenCache {
            retry_pause: Duration::from_millis(1),
            ..TokenCache::default()
        }
    }
}

fn header(value: &str) -> Result<HeaderValue, TokenError> {
    HeaderValue::from_str(value).map_err(|_| TokenError::Format {
        cause: "the header value is not valid".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::http::HeaderMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A form and its Authorization header, as the token endpoint received them.
    type Seen = (String, Option<String>);

    /// A token endpoint that answers with `answers` in turn (the last one repeats) and
    /// records each form and Authorization header.
    #[derive(Clone, Default)]
    struct As {
        answers: Arc<Vec<(u16, String)>>,
        seen: Arc<Mutex<Vec<Seen>>>,
        calls: Arc<AtomicUsize>,
    }

    async fn token(State(a): State<As>, headers: HeaderMap, body: String) -> (StatusCode, String) {
        let n = a.calls.fetch_add(1, Ordering::SeqCst);
        let auth = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string());
        a.seen.lock().unwrap().push((body, auth));
        let (status, body) = a.answers[n.min(a.answers.len() - 1)].clone();
        (StatusCode::from_u16(status).unwrap(), body)
    }

    async fn server(answers: &[(u16, &str)]) -> (As, url::Url) {
        let a = As {
            answers: Arc::new(answers.iter().map(|(s, b)| (*s, b.to_string())).collect()),
            ..As::default()
        };
        let app = axum::Router::new()
            .route("/token", axum::routing::post(token))
            .with_state(a.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (a, url.parse().unwrap())
    }

    fn policy(url: url::Url) -> ClientCredentials {
        ClientCredentials {
            token_url: url,
            client_id: "my id".into(),
            client_secret: Secret::new("s&cret"),
            scope: Some("read write".into()),
            audience: Some("https://api.test".into()),
            credentials_in: CredentialsIn::Body,
            additional_parameters: vec![("resource".into(), "r1".into())],
            header_name: "Authorization".into(),
            header_scheme: "Bearer".into(),
            token_retries: 3,
            expiration_offset_seconds: 300,
        }
    }

    const OK: &str = r#"{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}"#;

    #[tokio::test]
    async fn the_grant_is_sent_as_the_form_says_and_cached() {
        let (a, url) = server(&[(200, OK)]).await;
        let cache = TokenCache::quick();
        let p = policy(url);
        let v = cache.header_value("cc", &p).await.unwrap();
        assert_eq!(v, "Bearer tok-1");
        assert_eq!(cache.header_value("cc", &p).await.unwrap(), "Bearer tok-1");
        assert_eq!(a.calls.load(Ordering::SeqCst), 1);
        let (form, auth) = a.seen.lock().unwrap()[0].clone();
        assert_eq!(
            form,
            "grant_type=client_credentials&scope=read+write&audience=https%3A%2F%2Fapi.test&resource=r1&client_id=my+id&client_secret=s%26cret"
        );
        assert_eq!(auth, None);
    }

    #[tokio::test]
    async fn header_credentials_are_basic_with_encoded_parts() {
        let (a, url) = server(&[(200, r#"{"access_token":"t","token_type":"DPoP"}"#)]).await;
        let mut p = policy(url);
        p.credentials_in = CredentialsIn::Header;
        p.additional_parameters.clear();
        let v = TokenCache::quick().header_value("cc", &p).await.unwrap();
        assert_eq!(v, "DPoP t");
        let (form, auth) = a.seen.lock().unwrap()[0].clone();
        assert!(
            !form.contains("client_id") && !form.contains("client_secret"),
            "{form}"
        );
        // base64("my+id:s%26cret")
        assert_eq!(auth.as_deref(), Some("Basic bXkraWQ6cyUyNmNyZXQ="));
    }

    #[tokio::test]
    async fn retries_then_succeeds_and_gives_up_after_token_retries() {
        let (a, url) = server(&[(503, "busy"), (500, "err"), (200, OK)]).await;
        let v = TokenCache::quick().header_value("cc", &policy(url)).await;
        assert_eq!(v.unwrap(), "Bearer tok-1");
        assert_eq!(a.calls.load(Ordering::SeqCst), 3);

        let (a, url) = server(&[(502, "down")]).await;
        let mut p = policy(url);
        p.token_retries = 2;
        let e = TokenCache::quick()
            .header_value("cc", &p)
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Could not get token from the OAuth token endpoint"
        );
        assert_eq!(a.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_client_error_is_not_retried() {
        let (a, url) = server(&[(401, r#"{"error":"invalid_client"}"#)]).await;
        let e = TokenCache::quick()
            .header_value("cc", &policy(url))
            .await
            .unwrap_err();
        assert!(matches!(e, TokenError::Endpoint { .. }));
        assert_eq!(e.problem().status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(a.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn bodies_without_a_printable_token_are_format_errors() {
        for body in [
            "not json",
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":""}"#,
            r#"{"access_token":"a b"}"#,
            r#"{"access_token":42}"#,
        ] {
            let (_, url) = server(&[(200, body)]).await;
            let e = TokenCache::quick()
                .header_value("cc", &policy(url))
                .await
                .unwrap_err();
            assert!(matches!(e, TokenError::Format { .. }), "{body}");
            assert!(e.to_string().ends_with("not in the expected format."));
        }
    }

    #[tokio::test]
    async fn a_lifetime_within_the_offset_is_not_cached() {
        let (a, url) = server(&[(200, r#"{"access_token":"t","expires_in":200}"#)]).await;
        let cache = TokenCache::quick();
        let p = policy(url);
        cache.header_value("cc", &p).await.unwrap();
        cache.header_value("cc", &p).await.unwrap();
        assert_eq!(a.calls.load(Ordering::SeqCst), 2);
        // without expires_in: 600 s, cached past the 300 s offset
        let (a, url) = server(&[(200, r#"{"access_token":"t"}"#)]).await;
        let p = policy(url);
        cache.header_value("cc", &p).await.unwrap();
        cache.header_value("cc", &p).await.unwrap();
        assert_eq!(a.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_an_endpoint_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        drop(listener);
        let mut p = policy(url.parse().unwrap());
        p.token_retries = 1;
        let e = TokenCache::quick()
            .header_value("cc", &p)
            .await
            .unwrap_err();
        assert!(matches!(e, TokenError::Endpoint { .. }), "{e:?}");
        assert!(!e.cause().contains("s&cret"));
    }
}
