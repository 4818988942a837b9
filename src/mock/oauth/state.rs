//! In-memory state of the mock's authorization server: clients, authorization codes, access
//! and refresh tokens (keyed by their hash), and the counters the test hooks report. One
//! mutex; nothing holds it across an await.

use crate::client_metadata::{ClientAuthMethod, redirect_uri_matches};
use crate::crypto::{constant_time_eq, hash_token};
use serde_json::Value;
use std::collections::HashMap;

/// The mock's own record of a client (it shares no records with the gateway's store: a test
/// double must not share the code it tests).
#[derive(Debug, Clone)]
pub struct MockClient {
    pub id: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub auth_method: ClientAuthMethod,
    /// `sha256:` hash of the client secret, for the `client_secret_*` methods.
    pub secret_hash: Option<String>,
}

impl MockClient {
    /// Is `redirect_uri` one of this client's (§3.6 matching)?
    pub fn allows_redirect_uri(&self, redirect_uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| redirect_uri_matches(r, redirect_uri))
    }

    /// Does `secret` (or its absence) authenticate this client?
    pub fn secret_matches(&self, secret: Option<&str>) -> bool {
        match (secret, &self.secret_hash) {
            (None, None) => true,
            (Some(s), Some(stored)) => {
                constant_time_eq(stored.as_bytes(), hash_token(s).as_bytes())
            }
            _ => false,
        }
    }
}

/// A client the mock knows: registered by DCR, pre-registered on the command line, or read
/// from a Client ID Metadata Document.
#[derive(Debug, Clone)]
pub struct Known {
    pub client: MockClient,
    /// Pre-registered clients accept any loopback redirect URI and either secret transport.
    pub preregistered: bool,
}

/// An issued authorization code, waiting for its single exchange.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub scope: Vec<String>,
    pub resource: Option<String>,
    pub expires_at: i64,
}

/// What an access token or a refresh token stands for.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub client_id: String,
    pub scope: Vec<String>,
    pub resource: Option<String>,
    /// Access tokens only: when it stops working.
    pub expires_at: i64,
}

/// Counters and the last parameters seen, for `GET /__mock/stats`. Secret values (codes,
/// verifiers, client secrets, tokens) are recorded as `"[present]"`.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Stats {
    pub registrations: u64,
    pub authorizations: u64,
    pub token_requests: u64,
    pub tokens_issued: u64,
    pub refreshes: u64,
    pub revocations: u64,
    pub unauthorized: u64,
    pub insufficient_scope: u64,
    pub mcp_requests: u64,
    pub last_register: Option<Value>,
    pub last_authorize: Option<Value>,
    pub last_token: Option<Value>,
    /// `none`, `client_secret_basic` or `client_secret_post`: how the last token request
    /// authenticated.
    pub last_client_auth: Option<String>,
}

#[derive(Debug, Default)]
pub struct State {
    pub clients: HashMap<String, Known>,
    pub codes: HashMap<String, CodeGrant>,
    pub access: HashMap<String, TokenGrant>,
    pub refresh: HashMap<String, TokenGrant>,
    pub stats: Stats,
    /// The OAuth error the next token request gets (`POST /__mock/fail-next-token`).
    pub fail_next_token: Option<String>,
}

/// Parameters as a JSON object, with the values of secret-bearing names masked.
pub fn recorded<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> Value {
    const SECRET: &[&str] = &[
        "code",
        "code_verifier",
        "client_secret",
        "refresh_token",
        "token",
    ];
    let mut map = serde_json::Map::new();
    for (k, v) in pairs {
        let v = if SECRET.contains(&k.as_str()) {
            "[present]".to_string()
        } else {
            v.clone()
        };
        map.insert(k.clone(), Value::String(v));
    }
    Value::Object(map)
}
