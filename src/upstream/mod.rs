//! The gateway as an OAuth client of its upstream MCP servers (SPEC §6, §3.13–§3.15, D5, D9,
//! D17–D19): `mcp-token-exchange-inbound` with `user-oauth` and `shared-oauth`.
//!
//! - `vault`: AES-256-GCM sealing of tokens and connect state (D9).
//! - `model`: what a connection and a pending connect hold once opened.
//! - `oauth_client`: discovery through [`crate::oauth::discovery`], registration (CIMD, DCR,
//!   manual), the authorize URL, code exchange and refresh toward the upstream AS.
//! - `tickets`: the signed browser connect ticket, upstream `state` and connect-required
//!   `requestState` (HS256 JWTs).
//! - `connect`: the HTTP endpoints `/.well-known/oauth-client/{id}`, `…/connect`, `…/callback`.
//! - `pending`: the upstreams a user must connect before consent (§3.10).
//! - `readiness`: the consent page's check that a stored connection still works (§3.10).
//! - `policy`: the policy step on an MCP route (credential, refresh, connect-required) and the
//!   proxy's single 401 retry and 403 step-up.
//! - `required`: the connect-required answers in the request's era (D5, D26, §6.6).
//! - `server_info`: icons added to an upstream's `initialize` answer (§6.7).

pub mod connect;
pub mod model;
pub mod oauth_client;
pub mod pending;
pub mod policy;
pub mod readiness;
pub mod required;
pub mod server_info;
pub mod tickets;
pub mod vault;

pub use model::Sealed;
pub use vault::{Purpose, Vault, VaultError};

use crate::clock::Clock;
use crate::store::keyfile::GatewaySecret;
use crate::store::{AsyncStore, ConnectionKey, OwnerMode};
use crate::validate::Report;
use crate::web::origin::OriginPolicy;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the upstream side uses of the running gateway, passed in by `gateway` for each request
/// (never the whole gateway state): the validated project, the store, the clock, how the public
/// origin is derived, and its own [`Upstreams`].
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub report: &'a Report,
    pub store: &'a AsyncStore,
    pub clock: &'a Clock,
    pub origin: &'a OriginPolicy,
    pub upstreams: &'a Upstreams,
}

/// Upstream OAuth state shared by the gateway's requests.
pub struct Upstreams {
    pub vault: vault::Vault,
    /// HS256 key for browser tickets and upstream `state` (derived from the gateway secret).
    pub signing_key: [u8; 32],
    /// Outbound client that never follows redirects itself (see [`crate::net::outbound`]).
    pub http: reqwest::Client,
    /// The gateway's client registration per upstream id, public origin and authorization
    /// server issuer (SEP-2352), so that every user's connect does not register a new client,
    /// and a changed authorization server gets one of its own.
    registrations: Mutex<HashMap<RegistrationKey, model::RegisteredClient>>,
    /// One refresh in flight per connection (§6.7).
    refresh_locks: Mutex<HashMap<ConnectionKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Upstream credentials ready to send, so that the proxy path reads neither SQLite nor the
    /// vault per request. Filled when a stored or refreshed token is usable; every write to a
    /// connection through this process (refresh, reconsent, step-up, connect) drops its entry.
    credentials: Mutex<HashMap<ConnectionKey, CachedCredential>>,
    /// The last step-up (D18) of each connection: when (unix seconds), and the scope it asked
    /// for; the retry limit of [`policy::step_up`].
    step_ups: Mutex<HashMap<ConnectionKey, (i64, String)>>,
}

/// Upstream id, public origin, authorization server issuer.
type RegistrationKey = (String, String, String);

/// A usable upstream `Authorization` value and until when (unix seconds) it may be sent.
#[derive(Clone)]
struct CachedCredential {
    authorization: axum::http::HeaderValue,
    until: i64,
}

/// A cached credential is re-read from the store at least this often, even when its token does
/// not expire, so that a change made by another process is seen.
const CREDENTIAL_CACHE_SECONDS: i64 = 300;

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Upstreams(..)")
    }
}

impl Upstreams {
    pub fn new(secret: &GatewaySecret) -> Self {
        // HKDF-SHA256 expanding to 32 bytes cannot fail; these are invariants, not input errors
        let vault = vault::Vault::new(secret).expect("HKDF-SHA256 yields an AES-256 key");
        let signing_key = vault::derive_key(secret, b"upstream-ticket-signing")
            .expect("HKDF-SHA256 yields 32 bytes");
        Upstreams {
            vault,
            signing_key,
            http: crate::net::outbound::client(),
            registrations: Mutex::new(HashMap::new()),
            refresh_locks: Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::new()),
            step_ups: Mutex::new(HashMap::new()),
        }
    }

    /// The scope the step-up of `key` asked for at or after `since`, when it already contains
    /// every scope of `challenge`: asking again would go round in circles.
    pub(crate) fn repeated_step_up(
        &self,
        key: &ConnectionKey,
        challenge: &str,
        since: i64,
    ) -> Option<String> {
        let step_ups = self.step_ups.lock().ok()?;
        let (at, asked) = step_ups.get(key)?;
        let covered =
            model::scope_words(challenge).all(|w| model::scope_words(asked).any(|a| a == w));
        (*at >= since && covered).then(|| asked.clone())
    }

    pub(crate) fn remember_step_up(&self, key: &ConnectionKey, asked: &str, now: i64) {
        if let Ok(mut s) = self.step_ups.lock() {
            s.insert(key.clone(), (now, asked.to_string()));
        }
    }

    /// The cached credential of `key`, while it may still be sent at `now`.
    pub(crate) fn cached_credential(
        &self,
        key: &ConnectionKey,
        now: i64,
    ) -> Option<axum::http::HeaderValue> {
        let cache = self.credentials.lock().ok()?;
        let c = cache.get(key)?;
        (now < c.until).then(|| c.authorization.clone())
    }

    /// Remembers a usable credential; `usable_until` is when the token stops being usable (its
    /// expiry minus the margin), `None` when it does not expire.
    pub(crate) fn remember_credential(
        &self,
        key: &ConnectionKey,
        authorization: &axum::http::HeaderValue,
        now: i64,
        usable_until: Option<i64>,
    ) {
        let until = usable_until.map_or(now + CREDENTIAL_CACHE_SECONDS, |t| {
            t.min(now + CREDENTIAL_CACHE_SECONDS)
        });
        if let Ok(mut cache) = self.credentials.lock() {
            cache.insert(
                key.clone(),
                CachedCredential {
                    authorization: authorization.clone(),
                    until,
                },
            );
        }
    }

    /// Called before every write to the connection `key`.
    pub(crate) fn forget_credential(&self, key: &ConnectionKey) {
        if let Ok(mut cache) = self.credentials.lock() {
            cache.remove(key);
        }
    }

    pub(crate) fn refresh_lock(&self, key: &ConnectionKey) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.refresh_locks.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        locks.entry(key.clone()).or_default().clone()
    }

    /// The client registered for `upstream_id` at `origin` with the authorization server
    /// `issuer`, when this process has one.
    pub(crate) fn cached_client(
        &self,
        upstream_id: &str,
        origin: &str,
        issuer: &str,
    ) -> Option<model::RegisteredClient> {
        self.registrations
            .lock()
            .ok()?
            .get(&(upstream_id.into(), origin.into(), issuer.into()))
            .cloned()
    }

    pub(crate) fn remember_client(
        &self,
        upstream_id: &str,
        origin: &str,
        issuer: &str,
        client: &model::RegisteredClient,
    ) {
        if let Ok(mut r) = self.registrations.lock() {
            r.insert(
                (upstream_id.into(), origin.into(), issuer.into()),
                client.clone(),
            );
        }
    }

    /// After a configuration reload: an upstream id may now point elsewhere, or register
    /// differently, so every upstream registers again (or reuses its sealed client) on its next
    /// connect.
    pub fn forget_all_setups(&self) {
        if let Ok(mut r) = self.registrations.lock() {
            r.clear();
        }
    }

    /// The upstream no longer accepts the gateway's client at `origin` (§6.4): forget it, whatever
    /// authorization server it was registered with.
    pub(crate) fn forget_setup(&self, upstream_id: &str, origin: &str) {
        if let Ok(mut r) = self.registrations.lock() {
            r.retain(|(id, o, _), _| !(id == upstream_id && o == origin));
        }
    }
}

/// `"<upstreamId>:<authMode>"` (§6.1).
pub fn auth_profile(
    upstream_id: &str,
    mode: crate::config::policies::token_exchange::AuthMode,
) -> String {
    use crate::config::policies::token_exchange::AuthMode;
    let m = match mode {
        AuthMode::UserOAuth => "user-oauth",
        AuthMode::SharedOAuth => "shared-oauth",
        AuthMode::IdJag => "id-jag",
    };
    format!("{upstream_id}:{m}")
}

/// The connection key a caller uses for an upstream (§6.1).
pub fn connection_key(
    te: &crate::config::policies::token_exchange::TokenExchange,
    subject: &str,
) -> ConnectionKey {
    use crate::config::policies::token_exchange::AuthMode;
    let id = te.upstream_id.value.as_str();
    let profile = auth_profile(id, te.auth_mode);
    match te.auth_mode {
        AuthMode::SharedOAuth => ConnectionKey::shared(id, profile),
        _ => ConnectionKey::user(subject, id, profile),
    }
}

pub fn owner_mode_of(te: &crate::config::policies::token_exchange::TokenExchange) -> OwnerMode {
    match te.auth_mode {
        crate::config::policies::token_exchange::AuthMode::SharedOAuth => OwnerMode::Shared,
        _ => OwnerMode::User,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn upstreams() -> Upstreams {
        Upstreams::new(&GatewaySecret::from_bytes([7; 32]))
    }

    #[test]
    fn a_cached_credential_is_sent_until_its_token_stops_being_usable() {
        let up = upstreams();
        let key = ConnectionKey::user("alice", "linear", "linear:user-oauth");
        let h = HeaderValue::from_static("Bearer t1");
        up.remember_credential(&key, &h, 1_000, Some(1_010));
        assert_eq!(up.cached_credential(&key, 1_009), Some(h.clone()));
        assert_eq!(up.cached_credential(&key, 1_010), None);
        // another subject's key never sees it
        let bob = ConnectionKey::user("bob", "linear", "linear:user-oauth");
        assert_eq!(up.cached_credential(&bob, 1_000), None);
    }

    #[test]
    fn a_token_without_expiry_is_read_again_after_the_cache_period() {
        let up = upstreams();
        let key = ConnectionKey::shared("linear", "linear:shared-oauth");
        let h = HeaderValue::from_static("Bearer t1");
        up.remember_credential(&key, &h, 1_000, None);
        assert!(
            up.cached_credential(&key, 1_000 + CREDENTIAL_CACHE_SECONDS - 1)
                .is_some()
        );
        assert!(
            up.cached_credential(&key, 1_000 + CREDENTIAL_CACHE_SECONDS)
                .is_none()
        );
    }

    #[test]
    fn a_write_drops_the_cached_credential() {
        let up = upstreams();
        let key = ConnectionKey::user("alice", "linear", "linear:user-oauth");
        up.remember_credential(&key, &HeaderValue::from_static("Bearer t1"), 1_000, None);
        up.forget_credential(&key);
        assert_eq!(up.cached_credential(&key, 1_000), None);
    }
}
