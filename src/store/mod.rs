//! Local state of `mcpgw dev` (D9): the `Store` trait (SPEC §5.6) and SQLite behind it.
//!
//! Owns: the [`Store`] trait whose operations answer with one typed outcome enum each, exactly
//! the outcomes of §5.6; [`StoreError`]; [`AsyncStore`] for async callers. The records live in
//! `records/` and are re-exported here, so callers name them `crate::store::X`.
//!
//! Rules every implementation keeps:
//! * Tokens, codes, client secrets and state tokens are stored only as
//!   [`hash_token`](crate::crypto::hash_token) values (`sha256:` + base64url of the SHA-256,
//!   §5.1). The store generates them with [`new_token`](crate::crypto::new_token) and hands the
//!   raw value back exactly once, as a [`Secret`].
//! * Time is the explicit `now` argument (unix seconds), so expiry and the D1 grace window are
//!   testable. A record is expired when `now >= expires_at`.
//! * Upstream tokens never reach the store in clear: connections and upstream OAuth state carry
//!   an opaque blob that the caller encrypted (§6.2, D9).
//!
//! Module map:
//! * `records/`: the records by kind: `clients` (§3.5, §3.6), `authorizations` (pending
//!   authorizations, §3.7–§3.10), `tokens` (grants, access tokens, §3.11, §3.12, §5.3, §5.4),
//!   `sessions` (browser sessions, §5.5), `upstream` (connections, upstream OAuth state,
//!   connect tickets, §6), `api_keys` (API-key consumers and their keys, §16.1, D25 e).
//! * [`ttl`]: the default lifetimes.
//! * [`sqlite`]: the implementation (schema, migrations, one transaction per operation).
//! * [`keyfile`]: the gateway secret and the state folder.

pub mod keyfile;
pub mod local_idp_key;
mod records;
pub mod sqlite;
pub mod ttl;

use crate::secret::Secret;
use std::path::PathBuf;
use std::sync::Arc;

pub use keyfile::{GatewaySecret, KeySource};
pub use records::api_keys::{
    ApiKeyOutcome, ApiKeyRecord, Consumer, ConsumerKeys, CreatedApiKey, KEY_PREFIX, NewApiKey,
    RevokeApiKeyOutcome, consumer_name_problem,
};
pub use records::authorizations::*;
pub use records::clients::*;
pub use records::sessions::*;
pub use records::tokens::*;
pub use records::upstream::*;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a store operation could not run at all. Expected business results (expired, missing,
/// reused …) are outcome variants, never errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot open the state database: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("state database: corrupt row in {table}: {detail}")]
    CorruptRow { table: &'static str, detail: String },
    #[error(
        "{path}: the state database has schema version {found}, newer than the {supported} this \
         mcpgw knows; use a newer mcpgw, or delete the file to start with empty state"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("{origin}: not a gateway secret key: {reason}")]
    InvalidSecretKey { origin: String, reason: String },
    #[error(
        "{}: the gateway secret is readable by other users (mode {mode:03o}); run `chmod 600 {}` and start again",
        path.display(),
        path.display()
    )]
    KeyFileTooOpen { path: PathBuf, mode: u32 },
    #[error(
        "{}: the gateway secret is missing, but {} holds {connections} upstream connection(s) sealed \
         with it; a new key cannot open them, and every user would have to connect again. Restore the \
         key file (or set MCPGW_SECRET_KEY to it); to start over on purpose, run `mcpgw dev \
         --reset-secret-key` (the sealed connections are deleted)",
        key.display(),
        db.display()
    )]
    KeyLostWithSealedConnections {
        key: PathBuf,
        db: PathBuf,
        connections: u64,
    },
    #[error(
        "{}: the state database is damaged ({detail}); move it aside to start with empty state \
         (clients register and users sign in again), or restore a backup",
        path.display()
    )]
    DatabaseDamaged { path: PathBuf, detail: String },
    #[error("{operation} is not supported yet")]
    Unsupported { operation: &'static str },
    #[error("state store worker failed: {0}")]
    Worker(String),
}

// ---------------------------------------------------------------------------------------------
// The trait
// ---------------------------------------------------------------------------------------------

/// The store contract of SPEC §5.6. Every operation is atomic. Methods block; async code uses
/// [`AsyncStore`].
pub trait Store: Send + Sync {
    // Clients
    fn register_client(
        &self,
        client: &NewClient,
        now: i64,
    ) -> Result<RegisterClientOutcome, StoreError>;
    /// `None` when unknown or expired.
    fn read_client(&self, client_id: &str, now: i64) -> Result<Option<Client>, StoreError>;

    // Pending authorizations
    fn start_authorization(
        &self,
        request: &StartAuthorization,
        now: i64,
    ) -> Result<StartAuthorizationOutcome, StoreError>;
    fn read_pending_authorization(
        &self,
        id: &str,
        state_token: &Secret,
        now: i64,
    ) -> Result<ReadPendingOutcome, StoreError>;
    /// `awaiting_login → awaiting_setup` with the logged-in principal.
    fn advance_pending_authorization(
        &self,
        id: &str,
        state_token: &Secret,
        principal: &Principal,
        now: i64,
    ) -> Result<AdvancePendingOutcome, StoreError>;
    fn mark_authorization_setup_approved(
        &self,
        id: &str,
        state_token: &Secret,
        now: i64,
    ) -> Result<MarkSetupApprovedOutcome, StoreError>;
    fn decide_authorization_setup(
        &self,
        request: &DecideSetup,
        now: i64,
    ) -> Result<DecideSetupOutcome, StoreError>;

    // Tokens
    fn exchange_authorization_code(
        &self,
        request: &ExchangeCode,
        now: i64,
    ) -> Result<ExchangeCodeOutcome, StoreError>;
    fn refresh_token(
        &self,
        request: &RefreshRequest,
        now: i64,
    ) -> Result<RefreshOutcome, StoreError>;
    fn revoke_oauth_token(
        &self,
        request: &RevokeRequest,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError>;
    fn validate_access_token(
        &self,
        token: &Secret,
        now: i64,
    ) -> Result<ValidateOutcome, StoreError>;
    /// ID-JAG (§6.8, D16) comes in a later version.
    fn issue_access_token_for_id_jag(
        &self,
        _request: &IdJagTokenRequest,
        _now: i64,
    ) -> Result<IssuedTokens, StoreError> {
        Err(StoreError::Unsupported {
            operation: "issuing access tokens for an ID-JAG assertion",
        })
    }

    // Browser sessions
    fn create_browser_session(
        &self,
        principal: &Principal,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<(BrowserSession, Secret), StoreError>;
    fn read_browser_session(&self, token: &Secret, now: i64) -> Result<SessionOutcome, StoreError>;
    /// Slides the expiry to `now + ttl_seconds` (the refreshed cookie of §3.7).
    fn touch_browser_session(
        &self,
        token: &Secret,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<SessionOutcome, StoreError>;
    /// Logout; `true` when a session was removed.
    fn end_browser_session(&self, token: &Secret) -> Result<bool, StoreError>;

    // Upstream connections
    fn get_upstream_connection(
        &self,
        key: &ConnectionKey,
    ) -> Result<Option<UpstreamConnection>, StoreError>;
    /// The stored connections among `keys` (missing ones are left out).
    fn get_upstream_connections(
        &self,
        keys: &[ConnectionKey],
    ) -> Result<Vec<UpstreamConnection>, StoreError>;
    fn upsert_upstream_connection(
        &self,
        write: &ConnectionWrite,
        now: i64,
    ) -> Result<UpstreamConnection, StoreError>;
    fn conditional_upsert_upstream_connection(
        &self,
        write: &ConnectionWrite,
        condition: WriteCondition,
        now: i64,
    ) -> Result<ConditionalUpsertOutcome, StoreError>;
    fn delete_upstream_connection(&self, key: &ConnectionKey) -> Result<bool, StoreError>;

    // Upstream OAuth state and connect tickets
    /// Returns the single-use state token to put in the signed upstream `state`.
    fn save_upstream_oauth_state(
        &self,
        state: &NewUpstreamOAuthState,
        now: i64,
    ) -> Result<Secret, StoreError>;
    fn consume_upstream_oauth_state(
        &self,
        state_token: &Secret,
        now: i64,
    ) -> Result<ConsumeUpstreamStateOutcome, StoreError>;
    /// Returns the ticket token (its id inside the signed browser ticket) and the record.
    fn issue_browser_connect_ticket(
        &self,
        ticket: &NewConnectTicket,
        now: i64,
    ) -> Result<(ConnectTicket, Secret), StoreError>;
    fn consume_browser_connect_ticket(
        &self,
        ticket_token: &Secret,
        now: i64,
    ) -> Result<ConsumeTicketOutcome, StoreError>;

    // API-key consumers (§16.1, D21, D25 e)
    /// Creates the consumer when new (replacing an existing one's metadata when given) and a
    /// new key for it, in one transaction; the key is in the answer once, the store keeps its
    /// hash.
    fn create_api_key(&self, request: &NewApiKey, now: i64) -> Result<CreatedApiKey, StoreError>;
    /// Every consumer with its keys (never the keys themselves).
    fn list_consumers(&self) -> Result<Vec<ConsumerKeys>, StoreError>;
    fn revoke_api_key(&self, id: &str, now: i64) -> Result<RevokeApiKeyOutcome, StoreError>;
    /// The check of a presented key: looked up by hash, revocation and expiry read each time.
    fn validate_api_key(&self, key: &Secret, now: i64) -> Result<ApiKeyOutcome, StoreError>;

    /// Housekeeping: drops records that can no longer matter. Returns how many rows went.
    fn purge_expired(&self, now: i64) -> Result<usize, StoreError>;
}

// ---------------------------------------------------------------------------------------------
// Async access
// ---------------------------------------------------------------------------------------------

/// A cloneable handle for async code: every call runs on `spawn_blocking`, never on the
/// runtime's worker threads.
#[derive(Clone)]
pub struct AsyncStore {
    inner: Arc<dyn Store>,
}

impl std::fmt::Debug for AsyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncStore")
    }
}

impl AsyncStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AsyncStore { inner: store }
    }

    /// Runs any closure over the store on the blocking pool.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| StoreError::Worker(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use crate::crypto::{hash_token, new_token};

    #[test]
    fn tokens_are_43_chars_of_base64url_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.expose().len(), 43);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
    }

    #[test]
    fn hash_is_sha256_base64url() {
        // SHA-256("abc") = ba7816bf…15ad
        assert_eq!(
            hash_token("abc"),
            "sha256:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
