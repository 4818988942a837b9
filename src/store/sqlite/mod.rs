//! [`SqliteStore`]: the [`Store`] trait over one SQLite file (`.mcpgw/state.db`, D9).
//!
//! Owns: the schema and its migrations (a `schema_version` table and an ordered list of SQL
//! scripts, each applied in its own transaction; a file from a newer mcpgw is refused), the
//! connection setup (WAL, busy timeout, foreign keys, cached prepared statements), and one
//! `BEGIN IMMEDIATE` transaction per operation. The connection sits behind a `Mutex`, so the
//! store is `Send + Sync`; async code reaches it through [`super::AsyncStore`].
//!
//! The operations live by record kind in the submodules (`clients`, `authorizations`,
//! `tokens`, `sessions`, `upstream`, `api_keys`); each takes the transaction's connection, and the
//! [`Store`] impl here wraps every call in `SqliteStore::tx`. `once` is the single-use helper
//! behind every consume (authorization codes, upstream OAuth state, connect tickets), `schema`
//! holds the migration scripts, `rows` the small row helpers.

mod api_keys;
mod authorizations;
mod clients;
mod once;
mod rows;
mod schema;
mod sessions;
mod tokens;
mod upstream;

use super::{
    AdvancePendingOutcome, ApiKeyOutcome, BrowserSession, Client, ConditionalUpsertOutcome,
    ConnectTicket, ConnectionKey, ConnectionWrite, ConsumeTicketOutcome,
    ConsumeUpstreamStateOutcome, ConsumerKeys, CreatedApiKey, DecideSetup, DecideSetupOutcome,
    ExchangeCode, ExchangeCodeOutcome, MarkSetupApprovedOutcome, NewApiKey, NewClient,
    NewConnectTicket, NewUpstreamOAuthState, Principal, ReadPendingOutcome, RefreshOutcome,
    RefreshRequest, RegisterClientOutcome, RevokeApiKeyOutcome, RevokeOutcome, RevokeRequest,
    SessionOutcome, StartAuthorization, StartAuthorizationOutcome, Store, StoreError,
    UpstreamConnection, ValidateOutcome, WriteCondition,
};
use crate::secret::Secret;
use rows::exec;
use rusqlite::{Connection, TransactionBehavior, params};
use schema::MIGRATIONS;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long an operation waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Expired records stay this long before [`Store::purge_expired`] drops them, so that late
/// callers still get `expired` / `consumed` instead of `missing`.
const PURGE_AFTER: i64 = 86_400;

/// The SQLite-backed store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    created: bool,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed, mode 0600) the database at `path` and brings its schema up
    /// to date. The parent folder must exist (see [`super::keyfile::ensure_state_dir`]).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let created = create_private_file(path)?;
        let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let damaged = |detail: String| StoreError::DatabaseDamaged {
            path: path.to_path_buf(),
            detail,
        };
        // Answers the mode in force; a file system without shared memory may keep another one,
        // which is still correct, only slower with several processes. The first read of the
        // file: a file that is not a database fails here.
        let _mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(|e| damaged(e.to_string()))?;
        // a damaged page found now, with the path, rather than as 500s on later requests
        let check: Vec<String> = {
            let mut stmt = conn
                .prepare("PRAGMA quick_check")
                .map_err(|e| damaged(e.to_string()))?;
            let rows = stmt
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(|e| damaged(e.to_string()))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| damaged(e.to_string()))?
        };
        if check != ["ok"] {
            return Err(damaged(format!(
                "PRAGMA quick_check: {}",
                check.into_iter().take(3).collect::<Vec<_>>().join("; ")
            )));
        }
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn, path)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            created,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this open created the database file (a note for the user: empty state).
    pub fn created(&self) -> bool {
        self.created
    }

    /// How many upstream connections are sealed with the gateway secret (D9).
    pub fn sealed_connection_count(&self) -> Result<u64, StoreError> {
        self.tx(|c| {
            let n: i64 = c.query_row("SELECT COUNT(*) FROM upstream_connections", [], |r| {
                r.get(0)
            })?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Deletes everything sealed with the gateway secret (upstream connections and pending
    /// connect states): for `--reset-secret-key`, when the old key is gone on purpose.
    pub fn drop_sealed_state(&self) -> Result<u64, StoreError> {
        self.tx(|c| {
            let n = c.execute("DELETE FROM upstream_connections", [])?;
            c.execute("DELETE FROM upstream_oauth_states", [])?;
            Ok(n as u64)
        })
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction, committed when `f` returns `Ok`
    /// (whatever the outcome inside), rolled back otherwise.
    fn tx<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        // A panic in another operation rolled its transaction back when it unwound; the
        // connection itself is fine.
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Creates `path` with mode 0600 if it does not exist yet (SQLite creates its `-wal` and `-shm`
/// files with the same mode).
/// Creates the database file with mode 0600 unless it exists; `true` when it created it.
fn create_private_file(path: &Path) -> Result<bool, StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            action: "create the state database",
            source,
        }),
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version    INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )?;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |row| row.get(0),
        )?;
        if current > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: current,
                supported: SCHEMA_VERSION,
            });
        }
        let Some(script) = usize::try_from(current)
            .ok()
            .and_then(|i| MIGRATIONS.get(i))
        else {
            tx.commit()?;
            return Ok(());
        };
        tx.execute_batch(script)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![current + 1, crate::clock::now_unix()],
        )?;
        tx.commit()?;
    }
}
// ---------------------------------------------------------------------------------------------
// The operations
// ---------------------------------------------------------------------------------------------

impl Store for SqliteStore {
    fn register_client(
        &self,
        new: &NewClient,
        now: i64,
    ) -> Result<RegisterClientOutcome, StoreError> {
        self.tx(|c| clients::register_client(c, new, now))
    }

    fn read_client(&self, client_id: &str, now: i64) -> Result<Option<Client>, StoreError> {
        self.tx(|c| clients::read_client(c, client_id, now))
    }

    fn start_authorization(
        &self,
        req: &StartAuthorization,
        now: i64,
    ) -> Result<StartAuthorizationOutcome, StoreError> {
        self.tx(|c| authorizations::start_authorization(c, req, now))
    }

    fn read_pending_authorization(
        &self,
        id: &str,
        state_token: &Secret,
        now: i64,
    ) -> Result<ReadPendingOutcome, StoreError> {
        self.tx(|c| authorizations::read_pending_authorization(c, id, state_token, now))
    }

    fn advance_pending_authorization(
        &self,
        id: &str,
        state_token: &Secret,
        principal: &Principal,
        now: i64,
    ) -> Result<AdvancePendingOutcome, StoreError> {
        self.tx(|c| {
            authorizations::advance_pending_authorization(c, id, state_token, principal, now)
        })
    }

    fn mark_authorization_setup_approved(
        &self,
        id: &str,
        state_token: &Secret,
        now: i64,
    ) -> Result<MarkSetupApprovedOutcome, StoreError> {
        self.tx(|c| authorizations::mark_authorization_setup_approved(c, id, state_token, now))
    }

    fn decide_authorization_setup(
        &self,
        req: &DecideSetup,
        now: i64,
    ) -> Result<DecideSetupOutcome, StoreError> {
        self.tx(|c| authorizations::decide_authorization_setup(c, req, now))
    }

    fn exchange_authorization_code(
        &self,
        req: &ExchangeCode,
        now: i64,
    ) -> Result<ExchangeCodeOutcome, StoreError> {
        self.tx(|c| tokens::exchange_authorization_code(c, req, now))
    }

    fn refresh_token(&self, req: &RefreshRequest, now: i64) -> Result<RefreshOutcome, StoreError> {
        self.tx(|c| tokens::refresh_token(c, req, now))
    }

    fn revoke_oauth_token(
        &self,
        req: &RevokeRequest,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError> {
        self.tx(|c| tokens::revoke_oauth_token(c, req, now))
    }

    fn validate_access_token(
        &self,
        token: &Secret,
        now: i64,
    ) -> Result<ValidateOutcome, StoreError> {
        self.tx(|c| tokens::validate_access_token(c, token, now))
    }

    fn create_browser_session(
        &self,
        principal: &Principal,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<(BrowserSession, Secret), StoreError> {
        self.tx(|c| sessions::create_browser_session(c, principal, ttl_seconds, now))
    }

    fn read_browser_session(&self, token: &Secret, now: i64) -> Result<SessionOutcome, StoreError> {
        self.tx(|c| sessions::read_browser_session(c, token, now))
    }

    fn touch_browser_session(
        &self,
        token: &Secret,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<SessionOutcome, StoreError> {
        self.tx(|c| sessions::touch_browser_session(c, token, ttl_seconds, now))
    }

    fn end_browser_session(&self, token: &Secret) -> Result<bool, StoreError> {
        self.tx(|c| sessions::end_browser_session(c, token))
    }

    fn get_upstream_connection(
        &self,
        key: &ConnectionKey,
    ) -> Result<Option<UpstreamConnection>, StoreError> {
        self.tx(|c| upstream::get_upstream_connection(c, key))
    }

    fn get_upstream_connections(
        &self,
        keys: &[ConnectionKey],
    ) -> Result<Vec<UpstreamConnection>, StoreError> {
        self.tx(|c| upstream::get_upstream_connections(c, keys))
    }

    fn upsert_upstream_connection(
        &self,
        write: &ConnectionWrite,
        now: i64,
    ) -> Result<UpstreamConnection, StoreError> {
        self.tx(|c| upstream::upsert_upstream_connection(c, write, now))
    }

    fn conditional_upsert_upstream_connection(
        &self,
        write: &ConnectionWrite,
        condition: WriteCondition,
        now: i64,
    ) -> Result<ConditionalUpsertOutcome, StoreError> {
        self.tx(|c| upstream::conditional_upsert_upstream_connection(c, write, condition, now))
    }

    fn delete_upstream_connection(&self, key: &ConnectionKey) -> Result<bool, StoreError> {
        self.tx(|c| upstream::delete_upstream_connection(c, key))
    }

    fn save_upstream_oauth_state(
        &self,
        state: &NewUpstreamOAuthState,
        now: i64,
    ) -> Result<Secret, StoreError> {
        self.tx(|c| upstream::save_upstream_oauth_state(c, state, now))
    }

    fn consume_upstream_oauth_state(
        &self,
        state_token: &Secret,
        now: i64,
    ) -> Result<ConsumeUpstreamStateOutcome, StoreError> {
        self.tx(|c| once::consume_token(c, state_token, now))
    }

    fn issue_browser_connect_ticket(
        &self,
        t: &NewConnectTicket,
        now: i64,
    ) -> Result<(ConnectTicket, Secret), StoreError> {
        self.tx(|c| upstream::issue_browser_connect_ticket(c, t, now))
    }

    fn consume_browser_connect_ticket(
        &self,
        ticket_token: &Secret,
        now: i64,
    ) -> Result<ConsumeTicketOutcome, StoreError> {
        self.tx(|c| once::consume_token(c, ticket_token, now))
    }

    fn create_api_key(&self, req: &NewApiKey, now: i64) -> Result<CreatedApiKey, StoreError> {
        let key = super::records::api_keys::new_api_key();
        let id = super::records::api_keys::new_key_id();
        self.tx(|c| api_keys::create_api_key(c, req, key, id, now))
    }

    fn list_consumers(&self) -> Result<Vec<ConsumerKeys>, StoreError> {
        self.tx(api_keys::list_consumers)
    }

    fn revoke_api_key(&self, id: &str, now: i64) -> Result<RevokeApiKeyOutcome, StoreError> {
        self.tx(|c| api_keys::revoke_api_key(c, id, now))
    }

    fn validate_api_key(&self, key: &Secret, now: i64) -> Result<ApiKeyOutcome, StoreError> {
        self.tx(|c| api_keys::validate_api_key(c, key, now))
    }

    fn purge_expired(&self, now: i64) -> Result<usize, StoreError> {
        let cutoff = now.saturating_sub(PURGE_AFTER);
        self.tx(|c| {
            let mut removed = 0;
            for sql in [
                "DELETE FROM clients WHERE expires_at IS NOT NULL AND expires_at < ?1",
                "DELETE FROM grants WHERE expires_at < ?1 OR revoked_at < ?1",
                "DELETE FROM access_tokens WHERE expires_at < ?1",
                "DELETE FROM authorization_codes WHERE expires_at < ?1",
                "DELETE FROM pending_authorizations WHERE expires_at < ?1",
                "DELETE FROM browser_sessions WHERE expires_at < ?1",
                "DELETE FROM upstream_oauth_states WHERE expires_at < ?1",
                "DELETE FROM browser_connect_tickets WHERE expires_at < ?1",
            ] {
                removed += exec(c, sql, [cutoff])?;
            }
            Ok(removed)
        })
    }
}
