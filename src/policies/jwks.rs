//! Remote key sets of JWT-family policies (SPEC §16.2): fetched through `crate::net`'s guarded
//! client (https to public hosts, http on loopback, bounded size and time), cached per URL for
//! as long as the gateway runs (reloads keep it), and reloaded on an unknown `kid` at most once
//! per 30 s.

use crate::net::outbound::{self, Guard, Limits, OutboundRequest};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An unknown `kid` reloads the set at most this often.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(30);

/// How much a JWKS fetch may take and read.
pub const LIMITS: Limits = Limits {
    timeout: Duration::from_secs(10),
    max_bytes: 256 * 1024,
    max_redirects: 2,
};

/// Project-configured URLs: https to public hosts, or http on loopback (as for upstreams).
pub const GUARD: Guard = Guard::Public {
    loopback_http: true,
};

#[derive(Debug, Clone, thiserror::Error)]
pub enum JwksError {
    #[error("{0}")]
    Fetch(#[from] outbound::OutboundError),
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is not a JWKS document: {why}")]
    Document { url: String, why: String },
    #[error("{0} is not a URL")]
    BadUrl(String),
}

struct Cached {
    set: Arc<JwkSet>,
    fetched: Instant,
}

/// Key sets by URL.
pub struct JwksCache {
    http: reqwest::Client,
    sets: Mutex<HashMap<String, Cached>>,
}

impl Default for JwksCache {
    fn default() -> Self {
        JwksCache {
            http: outbound::client(),
            sets: Mutex::new(HashMap::new()),
        }
    }
}

impl JwksCache {
    /// The key for `kid` (or the only signing key when the token names none) from the set at
    /// `url`; an unknown `kid` reloads the set once when the last load is 30 s old.
    pub async fn key(
        &self,
        url: &str,
        headers: &[(String, String)],
        kid: Option<&str>,
    ) -> Result<Option<Jwk>, JwksError> {
        let cached = self.cached(url);
        let (set, fresh) = match cached {
            Some((set, fetched)) => (set, fetched.elapsed() < RELOAD_INTERVAL),
            None => (self.load(url, headers).await?, true),
        };
        if let Some(k) = pick(&set, kid) {
            return Ok(Some(k.clone()));
        }
        if fresh {
            return Ok(None);
        }
        let set = self.load(url, headers).await?;
        Ok(pick(&set, kid).cloned())
    }

    fn cached(&self, url: &str) -> Option<(Arc<JwkSet>, Instant)> {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.get(url).map(|c| (c.set.clone(), c.fetched))
    }

    async fn load(
        &self,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<Arc<JwkSet>, JwksError> {
        let parsed = url::Url::parse(url).map_err(|_| JwksError::BadUrl(url.to_string()))?;
        let mut req = OutboundRequest::get(parsed);
        for (k, v) in headers {
            req = req.header(k, v.clone());
        }
        let fetched = outbound::fetch(&self.http, req, LIMITS, GUARD).await?;
        if !fetched.status.is_success() {
            return Err(JwksError::Status {
                url: url.to_string(),
                status: fetched.status.as_u16(),
            });
        }
        let set: JwkSet =
            serde_json::from_slice(&fetched.body).map_err(|e| JwksError::Document {
                url: url.to_string(),
                why: e.to_string(),
            })?;
        let set = Arc::new(set);
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.insert(
            url.to_string(),
            Cached {
                set: set.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(set)
    }
}

/// The key named `kid`, or without a `kid` the set's only key.
fn pick<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set
            .keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid)),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}
