//! [`SqliteStore`]: the [`Store`] trait over one SQLite file (`.mcpgw/state.db`, D9).
//!
//! Owns: the schema and its migrations (a `schema_version` table and an ordered list of SQL
//! scripts, each applied in its own transaction; a file from a newer mcpgw is refused), the
//! connection setup (WAL, busy timeout, foreign keys, cached prepared statements), and one
//! `BEGIN IMMEDIATE` transaction per operation. The connection sits behind a `Mutex`, so the
//! store is `Send + Sync`; async code reaches it through [`super::AsyncStore`].

use super::{
    AccessToken, AdvancePendingOutcome, AuthorizationPhase, BrowserSession, Client, ClientSource,
    ConditionalUpsertOutcome, ConnectTicket, ConnectionKey, ConnectionStatus, ConnectionWrite,
    ConsumeTicketOutcome, ConsumeUpstreamStateOutcome, DecideSetup, DecideSetupOutcome,
    EncryptedBlob, ExchangeCode, ExchangeCodeOutcome, Grant, InitialPhase, IssuedTokens,
    MarkSetupApprovedOutcome, NewClient, NewConnectTicket, NewUpstreamOAuthState, OwnerMode,
    PendingAuthorization, Principal, ReadPendingOutcome, RefreshOutcome, RefreshRequest,
    RegisterClientOutcome, RevokeOutcome, RevokeRequest, RevokedReason, SessionOutcome,
    SetupDecision, StartAuthorization, StartAuthorizationOutcome, Store, StoreError, TokenTypeHint,
    UpstreamConnection, UpstreamOAuthState, ValidateOutcome, WriteCondition,
};
use crate::client_metadata::ClientAuthMethod;
use crate::crypto::{hash_token, new_id, new_token, pkce_s256_matches};
use crate::secret::Secret;
use rusqlite::{Connection, Params, Row, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Migration scripts, applied in order; script `i` brings the schema to version `i + 1`.
/// Never edit a released script: append a new one.
const MIGRATIONS: &[&str] = &[SCHEMA_V1];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long an operation waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Expired records stay this long before [`Store::purge_expired`] drops them, so that late
/// callers still get `expired` / `consumed` instead of `missing`.
const PURGE_AFTER: i64 = 86_400;

const SCHEMA_V1: &str = r#"
CREATE TABLE clients (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    profiles      TEXT NOT NULL,
    auth_method   TEXT NOT NULL,
    secret_hash   TEXT,
    jwks_uri      TEXT,
    jwks          TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER
);

CREATE TABLE pending_authorizations (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    resource       TEXT NOT NULL,
    operation_id   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    client_state   TEXT,
    phase          TEXT NOT NULL,
    subject        TEXT,
    roles          TEXT NOT NULL,
    setup_approved INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    state_hash     TEXT
);
CREATE INDEX pending_authorizations_client ON pending_authorizations(client_id);

CREATE TABLE grants (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    subject               TEXT NOT NULL,
    roles                 TEXT NOT NULL,
    resource              TEXT NOT NULL,
    operation_id          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    current_refresh_hash  TEXT NOT NULL,
    previous_refresh_hash TEXT,
    rotated_at            INTEGER,
    revoked_at            INTEGER,
    revoked_reason        TEXT
);
CREATE INDEX grants_client ON grants(client_id);

CREATE TABLE authorization_codes (
    hash           TEXT PRIMARY KEY,
    pending_id     TEXT NOT NULL,
    client_id      TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    resource       TEXT NOT NULL,
    operation_id   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    subject        TEXT NOT NULL,
    roles          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    redeemed_at    INTEGER,
    grant_id       TEXT REFERENCES grants(id) ON DELETE SET NULL
);
CREATE INDEX authorization_codes_client ON authorization_codes(client_id);
CREATE INDEX authorization_codes_grant ON authorization_codes(grant_id);

-- Every refresh token a grant ever had, so that an old one is recognised as a replay (D1).
CREATE TABLE refresh_tokens (
    hash      TEXT PRIMARY KEY,
    grant_id  TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    issued_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

CREATE TABLE access_tokens (
    hash         TEXT PRIMARY KEY,
    grant_id     TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL,
    subject      TEXT NOT NULL,
    roles        TEXT NOT NULL,
    resource     TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    scope        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX access_tokens_grant ON access_tokens(grant_id);

CREATE TABLE browser_sessions (
    hash       TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    roles      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE upstream_connections (
    id           TEXT NOT NULL UNIQUE,
    owner_mode   TEXT NOT NULL,
    subject      TEXT NOT NULL,
    upstream_id  TEXT NOT NULL,
    auth_profile TEXT NOT NULL,
    status       TEXT NOT NULL,
    blob         BLOB NOT NULL,
    scopes       TEXT NOT NULL,
    expires_at   INTEGER,
    connected_by TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (owner_mode, subject, upstream_id, auth_profile)
);

CREATE TABLE upstream_oauth_states (
    hash          TEXT PRIMARY KEY,
    owner_mode    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    upstream_id   TEXT NOT NULL,
    auth_profile  TEXT NOT NULL,
    operation_id  TEXT NOT NULL,
    return_to     TEXT,
    return_origin TEXT,
    blob          BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    consumed_at   INTEGER
);

CREATE TABLE browser_connect_tickets (
    hash          TEXT PRIMARY KEY,
    owner_mode    TEXT NOT NULL,
    initiated_by  TEXT NOT NULL,
    owner_subject TEXT,
    upstream_id   TEXT NOT NULL,
    auth_profile  TEXT NOT NULL,
    operation_id  TEXT NOT NULL,
    return_to     TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    consumed_at   INTEGER
);
"#;

/// The SQLite-backed store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: PathBuf,
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
        create_private_file(path)?;
        let mut conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Answers the mode in force; a file system without shared memory may keep another one,
        // which is still correct, only slower with several processes.
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn, path)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
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
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
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
// Small helpers
// ---------------------------------------------------------------------------------------------

fn exec(c: &Connection, sql: &str, params: impl Params) -> Result<usize, StoreError> {
    Ok(c.prepare_cached(sql)?.execute(params)?)
}

fn query_opt<T>(
    c: &Connection,
    sql: &str,
    params: impl Params,
    f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    match rows.next()? {
        Some(row) => Ok(Some(f(row)?)),
        None => Ok(None),
    }
}

fn to_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_string())
}

fn from_json(table: &'static str, column: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::CorruptRow {
        table,
        detail: format!("{column}: {e}"),
    })
}

fn parse_col<T>(
    table: &'static str,
    column: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::CorruptRow {
        table,
        detail: format!("{column}: unknown value {text:?}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Row mapping
// ---------------------------------------------------------------------------------------------

const CLIENT_COLS: &str = "id, source, name, redirect_uris, grant_types, profiles, auth_method, \
                           secret_hash, jwks_uri, jwks, created_at, expires_at";

fn client_from_row(r: &Row<'_>) -> Result<Client, StoreError> {
    const T: &str = "clients";
    Ok(Client {
        id: r.get(0)?,
        source: parse_col(T, "source", &r.get::<_, String>(1)?, ClientSource::parse)?,
        name: r.get(2)?,
        redirect_uris: from_json(T, "redirect_uris", &r.get::<_, String>(3)?)?,
        grant_types: from_json(T, "grant_types", &r.get::<_, String>(4)?)?,
        authorization_grant_profiles_supported: from_json(T, "profiles", &r.get::<_, String>(5)?)?,
        token_endpoint_auth_method: parse_col(
            T,
            "auth_method",
            &r.get::<_, String>(6)?,
            ClientAuthMethod::parse,
        )?,
        secret_hash: r.get(7)?,
        jwks_uri: r.get(8)?,
        jwks: r.get(9)?,
        created_at: r.get(10)?,
        expires_at: r.get(11)?,
    })
}

fn load_client(c: &Connection, id: &str) -> Result<Option<Client>, StoreError> {
    query_opt(
        c,
        &format!("SELECT {CLIENT_COLS} FROM clients WHERE id = ?1"),
        [id],
        client_from_row,
    )
}

/// The client named by `auth` when the proof authenticates it.
fn authenticate(
    c: &Connection,
    auth: &super::ClientAuth,
    now: i64,
) -> Result<Option<Client>, StoreError> {
    Ok(load_client(c, &auth.client_id)?.filter(|client| auth.authenticates(client, now)))
}

const PENDING_COLS: &str = "id, client_id, redirect_uri, resource, operation_id, scope, \
                            code_challenge, client_state, phase, subject, roles, setup_approved, \
                            created_at, expires_at, state_hash";

/// A pending authorization and the hash of its current state token.
fn pending_from_row(r: &Row<'_>) -> Result<(PendingAuthorization, Option<String>), StoreError> {
    const T: &str = "pending_authorizations";
    let subject: Option<String> = r.get(9)?;
    let roles = from_json(T, "roles", &r.get::<_, String>(10)?)?;
    Ok((
        PendingAuthorization {
            id: r.get(0)?,
            client_id: r.get(1)?,
            redirect_uri: r.get(2)?,
            resource: r.get(3)?,
            operation_id: r.get(4)?,
            scope: r.get(5)?,
            code_challenge: r.get(6)?,
            client_state: r.get(7)?,
            phase: parse_col(
                T,
                "phase",
                &r.get::<_, String>(8)?,
                AuthorizationPhase::parse,
            )?,
            principal: subject.map(|subject| Principal { subject, roles }),
            setup_approved: r.get(11)?,
            created_at: r.get(12)?,
            expires_at: r.get(13)?,
        },
        r.get(14)?,
    ))
}

/// Why a state token does not open a pending authorization.
enum PendingRefusal {
    Missing,
    Consumed,
    StaleHash,
    Expired,
}

/// Loads the pending authorization `id` if `state_token` is its current token and it is live.
fn check_pending(
    c: &Connection,
    id: &str,
    state_token: &Secret,
    now: i64,
) -> Result<Result<PendingAuthorization, PendingRefusal>, StoreError> {
    let Some((pending, state_hash)) = query_opt(
        c,
        &format!("SELECT {PENDING_COLS} FROM pending_authorizations WHERE id = ?1"),
        [id],
        pending_from_row,
    )?
    else {
        return Ok(Err(PendingRefusal::Missing));
    };
    if pending.phase.is_terminal() {
        return Ok(Err(PendingRefusal::Consumed));
    }
    let presented = hash_token(state_token.expose());
    if !state_hash
        .is_some_and(|h| crate::crypto::constant_time_eq(h.as_bytes(), presented.as_bytes()))
    {
        return Ok(Err(PendingRefusal::StaleHash));
    }
    if now >= pending.expires_at {
        return Ok(Err(PendingRefusal::Expired));
    }
    Ok(Ok(pending))
}

const GRANT_COLS: &str = "id, client_id, subject, roles, resource, operation_id, scope, \
                          created_at, expires_at, current_refresh_hash, previous_refresh_hash, \
                          rotated_at, revoked_at, revoked_reason";

fn grant_from_row(r: &Row<'_>) -> Result<Grant, StoreError> {
    const T: &str = "grants";
    let reason: Option<String> = r.get(13)?;
    Ok(Grant {
        id: r.get(0)?,
        client_id: r.get(1)?,
        subject: r.get(2)?,
        roles: from_json(T, "roles", &r.get::<_, String>(3)?)?,
        resource: r.get(4)?,
        operation_id: r.get(5)?,
        scope: r.get(6)?,
        created_at: r.get(7)?,
        expires_at: r.get(8)?,
        current_refresh_hash: r.get(9)?,
        previous_refresh_hash: r.get(10)?,
        rotated_at: r.get(11)?,
        revoked_at: r.get(12)?,
        revoked_reason: reason
            .map(|s| parse_col(T, "revoked_reason", &s, RevokedReason::parse))
            .transpose()?,
    })
}

/// The grant that ever issued the refresh token with this hash.
fn grant_of_refresh_hash(c: &Connection, hash: &str) -> Result<Option<Grant>, StoreError> {
    query_opt(
        c,
        &format!(
            "SELECT {GRANT_COLS} FROM grants \
             WHERE id = (SELECT grant_id FROM refresh_tokens WHERE hash = ?1)"
        ),
        [hash],
        grant_from_row,
    )
}

/// Revokes a grant and every access token it issued (idempotent).
fn revoke_grant(
    c: &Connection,
    grant_id: &str,
    reason: RevokedReason,
    now: i64,
) -> Result<(), StoreError> {
    exec(
        c,
        "UPDATE grants SET revoked_at = ?2, revoked_reason = ?3 \
         WHERE id = ?1 AND revoked_at IS NULL",
        params![grant_id, now, reason.as_str()],
    )?;
    exec(
        c,
        "UPDATE access_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL",
        params![grant_id, now],
    )?;
    Ok(())
}

/// Issues an access token for `grant`; its expiry is capped by the grant's (§5.2).
fn issue_access_token(
    c: &Connection,
    grant: &Grant,
    ttl_seconds: i64,
    now: i64,
) -> Result<(Secret, i64), StoreError> {
    let token = new_token();
    let expires_at = now.saturating_add(ttl_seconds).min(grant.expires_at);
    exec(
        c,
        "INSERT INTO access_tokens (hash, grant_id, client_id, subject, roles, resource, \
         operation_id, scope, created_at, expires_at, revoked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL)",
        params![
            hash_token(token.expose()),
            grant.id,
            grant.client_id,
            grant.subject,
            to_json(&grant.roles),
            grant.resource,
            grant.operation_id,
            grant.scope,
            now,
            expires_at,
        ],
    )?;
    Ok((token, expires_at))
}

const ACCESS_COLS: &str = "a.hash, a.grant_id, a.client_id, a.subject, a.roles, a.resource, \
                           a.operation_id, a.scope, a.created_at, a.expires_at, a.revoked_at";

fn access_from_row(r: &Row<'_>) -> Result<AccessToken, StoreError> {
    Ok(AccessToken {
        token_hash: r.get(0)?,
        grant_id: r.get(1)?,
        client_id: r.get(2)?,
        subject: r.get(3)?,
        roles: from_json("access_tokens", "roles", &r.get::<_, String>(4)?)?,
        resource: r.get(5)?,
        operation_id: r.get(6)?,
        scope: r.get(7)?,
        created_at: r.get(8)?,
        expires_at: r.get(9)?,
        revoked_at: r.get(10)?,
    })
}

const CONN_COLS: &str = "id, owner_mode, subject, upstream_id, auth_profile, status, blob, \
                         scopes, expires_at, connected_by, created_at, updated_at";

fn connection_from_row(r: &Row<'_>) -> Result<UpstreamConnection, StoreError> {
    const T: &str = "upstream_connections";
    Ok(UpstreamConnection {
        id: r.get(0)?,
        key: ConnectionKey {
            owner_mode: parse_col(T, "owner_mode", &r.get::<_, String>(1)?, OwnerMode::parse)?,
            subject: r.get(2)?,
            upstream_id: r.get(3)?,
            auth_profile: r.get(4)?,
        },
        status: parse_col(
            T,
            "status",
            &r.get::<_, String>(5)?,
            ConnectionStatus::parse,
        )?,
        blob: EncryptedBlob(r.get(6)?),
        scopes: from_json(T, "scopes", &r.get::<_, String>(7)?)?,
        expires_at: r.get(8)?,
        connected_by: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

fn load_connection(
    c: &Connection,
    key: &ConnectionKey,
) -> Result<Option<UpstreamConnection>, StoreError> {
    query_opt(
        c,
        &format!(
            "SELECT {CONN_COLS} FROM upstream_connections \
             WHERE owner_mode = ?1 AND subject = ?2 AND upstream_id = ?3 AND auth_profile = ?4"
        ),
        params![
            key.owner_mode.as_str(),
            key.subject,
            key.upstream_id,
            key.auth_profile
        ],
        connection_from_row,
    )
}

/// Inserts or updates the connection; `updated_at` strictly increases.
fn write_connection(
    c: &Connection,
    write: &ConnectionWrite,
    existing: Option<&UpstreamConnection>,
    now: i64,
) -> Result<UpstreamConnection, StoreError> {
    let (id, created_at, updated_at) = match existing {
        Some(old) => (
            old.id.clone(),
            old.created_at,
            now.max(old.updated_at.saturating_add(1)),
        ),
        None => (format!("mcpgw2uc_{}", new_id()), now, now),
    };
    let key = &write.key;
    exec(
        c,
        "INSERT INTO upstream_connections (id, owner_mode, subject, upstream_id, auth_profile, \
         status, blob, scopes, expires_at, connected_by, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (owner_mode, subject, upstream_id, auth_profile) DO UPDATE SET \
         status = excluded.status, blob = excluded.blob, scopes = excluded.scopes, \
         expires_at = excluded.expires_at, connected_by = excluded.connected_by, \
         updated_at = excluded.updated_at",
        params![
            id,
            key.owner_mode.as_str(),
            key.subject,
            key.upstream_id,
            key.auth_profile,
            write.status.as_str(),
            write.blob.0,
            to_json(&write.scopes),
            write.expires_at,
            write.connected_by,
            created_at,
            updated_at,
        ],
    )?;
    Ok(UpstreamConnection {
        id,
        key: key.clone(),
        status: write.status,
        blob: write.blob.clone(),
        scopes: write.scopes.clone(),
        expires_at: write.expires_at,
        connected_by: write.connected_by.clone(),
        created_at,
        updated_at,
    })
}

fn session_from_row(r: &Row<'_>) -> Result<BrowserSession, StoreError> {
    Ok(BrowserSession {
        token_hash: r.get(0)?,
        principal: Principal {
            subject: r.get(1)?,
            roles: from_json("browser_sessions", "roles", &r.get::<_, String>(2)?)?,
        },
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
    })
}

fn load_session(c: &Connection, hash: &str) -> Result<Option<BrowserSession>, StoreError> {
    query_opt(
        c,
        "SELECT hash, subject, roles, created_at, expires_at FROM browser_sessions \
         WHERE hash = ?1",
        [hash],
        session_from_row,
    )
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
        self.tx(|c| {
            if let Some(existing) = load_client(c, &new.id)? {
                let refresh = existing.source == ClientSource::MetadataDocument
                    && new.source == ClientSource::MetadataDocument;
                if !refresh && !existing.is_expired(now) {
                    return Ok(RegisterClientOutcome::AlreadyExists);
                }
            }
            let secret = new.token_endpoint_auth_method.uses_secret().then(new_token);
            let secret_hash = secret.as_ref().map(|s| hash_token(s.expose()));
            let expires_at = new.ttl_seconds.map(|t| now.saturating_add(t));
            exec(
                c,
                "INSERT INTO clients (id, source, name, redirect_uris, grant_types, profiles, \
                 auth_method, secret_hash, jwks_uri, jwks, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
                 ON CONFLICT (id) DO UPDATE SET source = excluded.source, name = excluded.name, \
                 redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types, \
                 profiles = excluded.profiles, auth_method = excluded.auth_method, \
                 secret_hash = excluded.secret_hash, jwks_uri = excluded.jwks_uri, \
                 jwks = excluded.jwks, created_at = excluded.created_at, \
                 expires_at = excluded.expires_at",
                params![
                    new.id,
                    new.source.as_str(),
                    new.name,
                    to_json(&new.redirect_uris),
                    to_json(&new.grant_types),
                    to_json(&new.authorization_grant_profiles_supported),
                    new.token_endpoint_auth_method.as_str(),
                    secret_hash,
                    new.jwks_uri,
                    new.jwks,
                    now,
                    expires_at,
                ],
            )?;
            let client = Client {
                id: new.id.clone(),
                source: new.source,
                name: new.name.clone(),
                redirect_uris: new.redirect_uris.clone(),
                grant_types: new.grant_types.clone(),
                authorization_grant_profiles_supported: new
                    .authorization_grant_profiles_supported
                    .clone(),
                token_endpoint_auth_method: new.token_endpoint_auth_method,
                secret_hash,
                jwks_uri: new.jwks_uri.clone(),
                jwks: new.jwks.clone(),
                created_at: now,
                expires_at,
            };
            Ok(RegisterClientOutcome::Registered {
                client: Box::new(client),
                secret,
            })
        })
    }

    fn read_client(&self, client_id: &str, now: i64) -> Result<Option<Client>, StoreError> {
        self.tx(|c| Ok(load_client(c, client_id)?.filter(|cl| !cl.is_expired(now))))
    }

    fn start_authorization(
        &self,
        req: &StartAuthorization,
        now: i64,
    ) -> Result<StartAuthorizationOutcome, StoreError> {
        self.tx(|c| {
            let Some(client) = load_client(c, &req.client_id)?.filter(|cl| !cl.is_expired(now))
            else {
                return Ok(StartAuthorizationOutcome::InvalidClient);
            };
            if !client.allows_redirect_uri(&req.redirect_uri) {
                return Ok(StartAuthorizationOutcome::RedirectUriMismatch);
            }
            let exists = query_opt(
                c,
                "SELECT 1 FROM pending_authorizations WHERE id = ?1",
                [&req.id],
                |_| Ok(()),
            )?;
            if exists.is_some() {
                return Ok(StartAuthorizationOutcome::AlreadyExists);
            }
            let (phase, principal) = match &req.initial {
                InitialPhase::AwaitingLogin => (AuthorizationPhase::AwaitingLogin, None),
                InitialPhase::AwaitingSetup(p) => (AuthorizationPhase::AwaitingSetup, Some(p)),
            };
            let state_token = new_token();
            let pending = PendingAuthorization {
                id: req.id.clone(),
                client_id: req.client_id.clone(),
                redirect_uri: req.redirect_uri.clone(),
                resource: req.resource.clone(),
                operation_id: req.operation_id.clone(),
                scope: req.scope.clone(),
                code_challenge: req.code_challenge.clone(),
                client_state: req.client_state.clone(),
                phase,
                principal: principal.cloned(),
                setup_approved: false,
                created_at: now,
                expires_at: now.saturating_add(req.ttl_seconds),
            };
            exec(
                c,
                &format!(
                    "INSERT INTO pending_authorizations ({PENDING_COLS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
                ),
                params![
                    pending.id,
                    pending.client_id,
                    pending.redirect_uri,
                    pending.resource,
                    pending.operation_id,
                    pending.scope,
                    pending.code_challenge,
                    pending.client_state,
                    pending.phase.as_str(),
                    principal.map(|p| &p.subject),
                    to_json(principal.map(|p| p.roles.as_slice()).unwrap_or(&[])),
                    false,
                    pending.created_at,
                    pending.expires_at,
                    hash_token(state_token.expose()),
                ],
            )?;
            Ok(StartAuthorizationOutcome::Started {
                pending: Box::new(pending),
                state_token,
            })
        })
    }

    fn read_pending_authorization(
        &self,
        id: &str,
        state_token: &Secret,
        now: i64,
    ) -> Result<ReadPendingOutcome, StoreError> {
        self.tx(|c| {
            Ok(match check_pending(c, id, state_token, now)? {
                Ok(p) => ReadPendingOutcome::Available(Box::new(p)),
                Err(PendingRefusal::Missing) => ReadPendingOutcome::Missing,
                Err(PendingRefusal::Consumed) => ReadPendingOutcome::Consumed,
                Err(PendingRefusal::StaleHash) => ReadPendingOutcome::StaleHash,
                Err(PendingRefusal::Expired) => ReadPendingOutcome::Expired,
            })
        })
    }

    fn advance_pending_authorization(
        &self,
        id: &str,
        state_token: &Secret,
        principal: &Principal,
        now: i64,
    ) -> Result<AdvancePendingOutcome, StoreError> {
        self.tx(|c| {
            let mut pending = match check_pending(c, id, state_token, now)? {
                Ok(p) => p,
                Err(PendingRefusal::Missing) => return Ok(AdvancePendingOutcome::Missing),
                Err(PendingRefusal::Consumed) => return Ok(AdvancePendingOutcome::Consumed),
                Err(PendingRefusal::StaleHash) => return Ok(AdvancePendingOutcome::StaleHash),
                Err(PendingRefusal::Expired) => return Ok(AdvancePendingOutcome::Expired),
            };
            if pending.phase != AuthorizationPhase::AwaitingLogin {
                return Ok(AdvancePendingOutcome::WrongPhase);
            }
            let next = new_token();
            exec(
                c,
                "UPDATE pending_authorizations SET phase = ?2, subject = ?3, roles = ?4, \
                 state_hash = ?5 WHERE id = ?1",
                params![
                    id,
                    AuthorizationPhase::AwaitingSetup.as_str(),
                    principal.subject,
                    to_json(&principal.roles),
                    hash_token(next.expose()),
                ],
            )?;
            pending.phase = AuthorizationPhase::AwaitingSetup;
            pending.principal = Some(principal.clone());
            Ok(AdvancePendingOutcome::Advanced {
                pending: Box::new(pending),
                state_token: next,
            })
        })
    }

    fn mark_authorization_setup_approved(
        &self,
        id: &str,
        state_token: &Secret,
        now: i64,
    ) -> Result<MarkSetupApprovedOutcome, StoreError> {
        self.tx(|c| {
            let mut pending = match check_pending(c, id, state_token, now)? {
                Ok(p) => p,
                Err(PendingRefusal::Missing) => return Ok(MarkSetupApprovedOutcome::Missing),
                Err(PendingRefusal::Consumed) => return Ok(MarkSetupApprovedOutcome::Consumed),
                Err(PendingRefusal::StaleHash) => return Ok(MarkSetupApprovedOutcome::StaleHash),
                Err(PendingRefusal::Expired) => return Ok(MarkSetupApprovedOutcome::Expired),
            };
            if pending.phase != AuthorizationPhase::AwaitingSetup {
                return Ok(MarkSetupApprovedOutcome::WrongPhase);
            }
            exec(
                c,
                "UPDATE pending_authorizations SET setup_approved = 1 WHERE id = ?1",
                [id],
            )?;
            pending.setup_approved = true;
            Ok(MarkSetupApprovedOutcome::Marked(Box::new(pending)))
        })
    }

    fn decide_authorization_setup(
        &self,
        req: &DecideSetup,
        now: i64,
    ) -> Result<DecideSetupOutcome, StoreError> {
        self.tx(|c| {
            let mut pending = match check_pending(c, &req.id, &req.state_token, now)? {
                Ok(p) => p,
                Err(PendingRefusal::Missing) => return Ok(DecideSetupOutcome::Missing),
                Err(PendingRefusal::Consumed) => return Ok(DecideSetupOutcome::ConsumedAlready),
                Err(PendingRefusal::StaleHash) => return Ok(DecideSetupOutcome::StaleHash),
                Err(PendingRefusal::Expired) => return Ok(DecideSetupOutcome::Expired),
            };
            // Before the login the current token is the login-state token, not a setup token.
            let Some(principal) = pending
                .principal
                .clone()
                .filter(|_| pending.phase == AuthorizationPhase::AwaitingSetup)
            else {
                return Ok(DecideSetupOutcome::StaleHash);
            };
            if principal.subject != req.subject {
                return Ok(DecideSetupOutcome::PrincipalMismatch);
            }
            let finish = |phase: AuthorizationPhase| {
                exec(
                    c,
                    "UPDATE pending_authorizations SET phase = ?2, state_hash = NULL WHERE id = ?1",
                    params![req.id, phase.as_str()],
                )
            };
            match req.decision {
                SetupDecision::Cancel => {
                    finish(AuthorizationPhase::Cancelled)?;
                    pending.phase = AuthorizationPhase::Cancelled;
                    Ok(DecideSetupOutcome::Cancelled(pending))
                }
                SetupDecision::Approve => {
                    let code = new_token();
                    exec(
                        c,
                        "INSERT INTO authorization_codes (hash, pending_id, client_id, \
                         redirect_uri, resource, operation_id, scope, code_challenge, subject, \
                         roles, created_at, expires_at, redeemed_at, grant_id) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL)",
                        params![
                            hash_token(code.expose()),
                            pending.id,
                            pending.client_id,
                            pending.redirect_uri,
                            pending.resource,
                            pending.operation_id,
                            pending.scope,
                            pending.code_challenge,
                            principal.subject,
                            to_json(&principal.roles),
                            now,
                            now.saturating_add(req.code_ttl_seconds),
                        ],
                    )?;
                    finish(AuthorizationPhase::CodeIssued)?;
                    pending.phase = AuthorizationPhase::CodeIssued;
                    Ok(DecideSetupOutcome::Approved { pending, code })
                }
            }
        })
    }

    fn exchange_authorization_code(
        &self,
        req: &ExchangeCode,
        now: i64,
    ) -> Result<ExchangeCodeOutcome, StoreError> {
        struct Code {
            client_id: String,
            redirect_uri: String,
            resource: String,
            operation_id: String,
            scope: String,
            code_challenge: String,
            subject: String,
            roles: Vec<String>,
            expires_at: i64,
            redeemed_at: Option<i64>,
            grant_id: Option<String>,
        }
        self.tx(|c| {
            if authenticate(c, &req.client, now)?.is_none() {
                return Ok(ExchangeCodeOutcome::InvalidClient);
            }
            let code_hash = hash_token(req.code.expose());
            let Some(code) = query_opt(
                c,
                "SELECT client_id, redirect_uri, resource, operation_id, scope, code_challenge, \
                 subject, roles, expires_at, redeemed_at, grant_id \
                 FROM authorization_codes WHERE hash = ?1",
                [&code_hash],
                |r| {
                    Ok(Code {
                        client_id: r.get(0)?,
                        redirect_uri: r.get(1)?,
                        resource: r.get(2)?,
                        operation_id: r.get(3)?,
                        scope: r.get(4)?,
                        code_challenge: r.get(5)?,
                        subject: r.get(6)?,
                        roles: from_json("authorization_codes", "roles", &r.get::<_, String>(7)?)?,
                        expires_at: r.get(8)?,
                        redeemed_at: r.get(9)?,
                        grant_id: r.get(10)?,
                    })
                },
            )?
            else {
                return Ok(ExchangeCodeOutcome::Missing);
            };
            if code.redeemed_at.is_some() {
                // D2: a second redemption means the code leaked; the first grant goes too.
                if let Some(grant_id) = &code.grant_id {
                    revoke_grant(c, grant_id, RevokedReason::CodeReused, now)?;
                }
                return Ok(ExchangeCodeOutcome::Consumed);
            }
            if now >= code.expires_at {
                return Ok(ExchangeCodeOutcome::Expired);
            }
            if code.client_id != req.client.client_id
                || code.redirect_uri != req.redirect_uri
                || !pkce_s256_matches(req.code_verifier.expose(), &code.code_challenge)
            {
                return Ok(ExchangeCodeOutcome::BindingMismatch);
            }
            if req.resource.as_ref().is_some_and(|r| *r != code.resource) {
                return Ok(ExchangeCodeOutcome::ResourceMismatch);
            }
            let refresh = new_token();
            let refresh_hash = hash_token(refresh.expose());
            let grant = Grant {
                id: new_id(),
                client_id: code.client_id,
                subject: code.subject,
                roles: code.roles,
                resource: code.resource,
                operation_id: code.operation_id,
                scope: code.scope,
                created_at: now,
                expires_at: now.saturating_add(req.grant_ttl_seconds),
                current_refresh_hash: refresh_hash.clone(),
                previous_refresh_hash: None,
                rotated_at: None,
                revoked_at: None,
                revoked_reason: None,
            };
            exec(
                c,
                &format!(
                    "INSERT INTO grants ({GRANT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
                     ?9, ?10, NULL, NULL, NULL, NULL)"
                ),
                params![
                    grant.id,
                    grant.client_id,
                    grant.subject,
                    to_json(&grant.roles),
                    grant.resource,
                    grant.operation_id,
                    grant.scope,
                    grant.created_at,
                    grant.expires_at,
                    grant.current_refresh_hash,
                ],
            )?;
            exec(
                c,
                "INSERT INTO refresh_tokens (hash, grant_id, issued_at) VALUES (?1, ?2, ?3)",
                params![refresh_hash, grant.id, now],
            )?;
            exec(
                c,
                "UPDATE authorization_codes SET redeemed_at = ?2, grant_id = ?3 WHERE hash = ?1",
                params![code_hash, now, grant.id],
            )?;
            let (access_token, access_expires_at) =
                issue_access_token(c, &grant, req.access_token_ttl_seconds, now)?;
            Ok(ExchangeCodeOutcome::Exchanged(Box::new(IssuedTokens {
                grant,
                access_token,
                access_expires_at,
                refresh_token: refresh,
            })))
        })
    }

    fn refresh_token(&self, req: &RefreshRequest, now: i64) -> Result<RefreshOutcome, StoreError> {
        self.tx(|c| {
            if authenticate(c, &req.client, now)?.is_none() {
                return Ok(RefreshOutcome::InvalidClient);
            }
            let presented = hash_token(req.refresh_token.expose());
            let Some(mut grant) = grant_of_refresh_hash(c, &presented)? else {
                return Ok(RefreshOutcome::Missing);
            };
            if grant.client_id != req.client.client_id {
                // Issued to another client (RFC 6749 §5.2: invalid_grant).
                return Ok(RefreshOutcome::Missing);
            }
            if grant.revoked_at.is_some() {
                return Ok(RefreshOutcome::Revoked);
            }
            if now >= grant.expires_at {
                return Ok(RefreshOutcome::Expired);
            }
            if presented != grant.current_refresh_hash {
                let in_grace = grant.previous_refresh_hash.as_deref() == Some(presented.as_str())
                    && grant
                        .rotated_at
                        .is_some_and(|at| now.saturating_sub(at) <= req.grace_seconds);
                if in_grace {
                    return Ok(RefreshOutcome::PreviousTokenGrace);
                }
                revoke_grant(c, &grant.id, RevokedReason::RefreshTokenReused, now)?;
                return Ok(RefreshOutcome::Revoked);
            }
            if req.resource.as_ref().is_some_and(|r| *r != grant.resource) {
                return Ok(RefreshOutcome::ResourceMismatch);
            }
            let next = new_token();
            let next_hash = hash_token(next.expose());
            exec(
                c,
                "UPDATE grants SET previous_refresh_hash = current_refresh_hash, \
                 current_refresh_hash = ?2, rotated_at = ?3 WHERE id = ?1",
                params![grant.id, next_hash, now],
            )?;
            exec(
                c,
                "INSERT INTO refresh_tokens (hash, grant_id, issued_at) VALUES (?1, ?2, ?3)",
                params![next_hash, grant.id, now],
            )?;
            grant.previous_refresh_hash = Some(std::mem::replace(
                &mut grant.current_refresh_hash,
                next_hash,
            ));
            grant.rotated_at = Some(now);
            let (access_token, access_expires_at) =
                issue_access_token(c, &grant, req.access_token_ttl_seconds, now)?;
            Ok(RefreshOutcome::Rotated(Box::new(IssuedTokens {
                grant,
                access_token,
                access_expires_at,
                refresh_token: next,
            })))
        })
    }

    fn revoke_oauth_token(
        &self,
        req: &RevokeRequest,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError> {
        self.tx(|c| {
            if authenticate(c, &req.client, now)?.is_none() {
                return Ok(RevokeOutcome::InvalidClient);
            }
            let hash = hash_token(req.token.expose());
            let try_access = |c: &Connection| -> Result<Option<RevokeOutcome>, StoreError> {
                let Some(owner) = query_opt(
                    c,
                    "SELECT client_id FROM access_tokens WHERE hash = ?1",
                    [&hash],
                    |r| Ok(r.get::<_, String>(0)?),
                )?
                else {
                    return Ok(None);
                };
                if owner != req.client.client_id {
                    return Ok(Some(RevokeOutcome::ClientMismatch));
                }
                exec(
                    c,
                    "UPDATE access_tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
                    params![hash, now],
                )?;
                Ok(Some(RevokeOutcome::RevokedAccessToken))
            };
            let try_refresh = |c: &Connection| -> Result<Option<RevokeOutcome>, StoreError> {
                let Some(grant) = grant_of_refresh_hash(c, &hash)? else {
                    return Ok(None);
                };
                if grant.client_id != req.client.client_id {
                    return Ok(Some(RevokeOutcome::ClientMismatch));
                }
                revoke_grant(c, &grant.id, RevokedReason::ClientRevoked, now)?;
                Ok(Some(RevokeOutcome::RevokedGrant))
            };
            let found = if req.hint == Some(TokenTypeHint::RefreshToken) {
                match try_refresh(c)? {
                    Some(o) => Some(o),
                    None => try_access(c)?,
                }
            } else {
                match try_access(c)? {
                    Some(o) => Some(o),
                    None => try_refresh(c)?,
                }
            };
            Ok(found.unwrap_or(RevokeOutcome::Missing))
        })
    }

    fn validate_access_token(
        &self,
        token: &Secret,
        now: i64,
    ) -> Result<ValidateOutcome, StoreError> {
        self.tx(|c| {
            let found = query_opt(
                c,
                &format!(
                    "SELECT {ACCESS_COLS}, g.revoked_at, g.expires_at FROM access_tokens a \
                     JOIN grants g ON g.id = a.grant_id WHERE a.hash = ?1"
                ),
                [hash_token(token.expose())],
                |r| {
                    let access = access_from_row(r)?;
                    let grant_revoked: Option<i64> = r.get(11)?;
                    let grant_expires: i64 = r.get(12)?;
                    Ok((access, grant_revoked, grant_expires))
                },
            )?;
            Ok(match found {
                None => ValidateOutcome::Missing,
                Some((a, grant_revoked, _))
                    if a.revoked_at.is_some() || grant_revoked.is_some() =>
                {
                    ValidateOutcome::Revoked
                }
                Some((a, _, grant_expires)) if now >= a.expires_at || now >= grant_expires => {
                    ValidateOutcome::Expired
                }
                Some((a, _, _)) => ValidateOutcome::Valid(Box::new(a)),
            })
        })
    }

    fn create_browser_session(
        &self,
        principal: &Principal,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<(BrowserSession, Secret), StoreError> {
        self.tx(|c| {
            let token = new_token();
            let session = BrowserSession {
                token_hash: hash_token(token.expose()),
                principal: principal.clone(),
                created_at: now,
                expires_at: now.saturating_add(ttl_seconds),
            };
            exec(
                c,
                "INSERT INTO browser_sessions (hash, subject, roles, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    session.token_hash,
                    principal.subject,
                    to_json(&principal.roles),
                    session.created_at,
                    session.expires_at,
                ],
            )?;
            Ok((session, token))
        })
    }

    fn read_browser_session(&self, token: &Secret, now: i64) -> Result<SessionOutcome, StoreError> {
        self.tx(|c| {
            Ok(match load_session(c, &hash_token(token.expose()))? {
                None => SessionOutcome::Missing,
                Some(s) if now >= s.expires_at => SessionOutcome::Expired,
                Some(s) => SessionOutcome::Valid(s),
            })
        })
    }

    fn touch_browser_session(
        &self,
        token: &Secret,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<SessionOutcome, StoreError> {
        self.tx(|c| {
            let hash = hash_token(token.expose());
            Ok(match load_session(c, &hash)? {
                None => SessionOutcome::Missing,
                Some(s) if now >= s.expires_at => SessionOutcome::Expired,
                Some(mut s) => {
                    s.expires_at = now.saturating_add(ttl_seconds);
                    exec(
                        c,
                        "UPDATE browser_sessions SET expires_at = ?2 WHERE hash = ?1",
                        params![hash, s.expires_at],
                    )?;
                    SessionOutcome::Valid(s)
                }
            })
        })
    }

    fn end_browser_session(&self, token: &Secret) -> Result<bool, StoreError> {
        self.tx(|c| {
            Ok(exec(
                c,
                "DELETE FROM browser_sessions WHERE hash = ?1",
                [hash_token(token.expose())],
            )? > 0)
        })
    }

    fn get_upstream_connection(
        &self,
        key: &ConnectionKey,
    ) -> Result<Option<UpstreamConnection>, StoreError> {
        self.tx(|c| load_connection(c, key))
    }

    fn get_upstream_connections(
        &self,
        keys: &[ConnectionKey],
    ) -> Result<Vec<UpstreamConnection>, StoreError> {
        self.tx(|c| {
            let mut out = Vec::new();
            for key in keys {
                if let Some(conn) = load_connection(c, key)? {
                    out.push(conn);
                }
            }
            Ok(out)
        })
    }

    fn upsert_upstream_connection(
        &self,
        write: &ConnectionWrite,
        now: i64,
    ) -> Result<UpstreamConnection, StoreError> {
        self.tx(|c| {
            let existing = load_connection(c, &write.key)?;
            write_connection(c, write, existing.as_ref(), now)
        })
    }

    fn conditional_upsert_upstream_connection(
        &self,
        write: &ConnectionWrite,
        condition: WriteCondition,
        now: i64,
    ) -> Result<ConditionalUpsertOutcome, StoreError> {
        self.tx(|c| {
            let existing = load_connection(c, &write.key)?;
            let holds = match (condition, &existing) {
                (WriteCondition::ExpectAbsent, None) => true,
                (WriteCondition::ExpectUpdatedAt(at), Some(old)) => old.updated_at == at,
                _ => false,
            };
            if !holds {
                return Ok(ConditionalUpsertOutcome::Conflict { current: existing });
            }
            Ok(ConditionalUpsertOutcome::Written(write_connection(
                c,
                write,
                existing.as_ref(),
                now,
            )?))
        })
    }

    fn delete_upstream_connection(&self, key: &ConnectionKey) -> Result<bool, StoreError> {
        self.tx(|c| {
            Ok(exec(
                c,
                "DELETE FROM upstream_connections \
                 WHERE owner_mode = ?1 AND subject = ?2 AND upstream_id = ?3 AND auth_profile = ?4",
                params![
                    key.owner_mode.as_str(),
                    key.subject,
                    key.upstream_id,
                    key.auth_profile
                ],
            )? > 0)
        })
    }

    fn save_upstream_oauth_state(
        &self,
        state: &NewUpstreamOAuthState,
        now: i64,
    ) -> Result<Secret, StoreError> {
        self.tx(|c| {
            let token = new_token();
            exec(
                c,
                "INSERT INTO upstream_oauth_states (hash, owner_mode, subject, upstream_id, \
                 auth_profile, operation_id, return_to, return_origin, blob, created_at, \
                 expires_at, consumed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL)",
                params![
                    hash_token(token.expose()),
                    state.key.owner_mode.as_str(),
                    state.key.subject,
                    state.key.upstream_id,
                    state.key.auth_profile,
                    state.operation_id,
                    state.return_to,
                    state.return_origin,
                    state.blob.0,
                    now,
                    now.saturating_add(state.ttl_seconds),
                ],
            )?;
            Ok(token)
        })
    }

    fn consume_upstream_oauth_state(
        &self,
        state_token: &Secret,
        now: i64,
    ) -> Result<ConsumeUpstreamStateOutcome, StoreError> {
        const T: &str = "upstream_oauth_states";
        self.tx(|c| {
            let hash = hash_token(state_token.expose());
            let Some((state, consumed_at)) = query_opt(
                c,
                "SELECT owner_mode, subject, upstream_id, auth_profile, operation_id, return_to, \
                 return_origin, blob, created_at, expires_at, consumed_at \
                 FROM upstream_oauth_states WHERE hash = ?1",
                [&hash],
                |r| {
                    let state = UpstreamOAuthState {
                        key: ConnectionKey {
                            owner_mode: parse_col(
                                T,
                                "owner_mode",
                                &r.get::<_, String>(0)?,
                                OwnerMode::parse,
                            )?,
                            subject: r.get(1)?,
                            upstream_id: r.get(2)?,
                            auth_profile: r.get(3)?,
                        },
                        operation_id: r.get(4)?,
                        return_to: r.get(5)?,
                        return_origin: r.get(6)?,
                        blob: EncryptedBlob(r.get(7)?),
                        created_at: r.get(8)?,
                        expires_at: r.get(9)?,
                    };
                    Ok((state, r.get::<_, Option<i64>>(10)?))
                },
            )?
            else {
                return Ok(ConsumeUpstreamStateOutcome::Missing);
            };
            if consumed_at.is_some() {
                return Ok(ConsumeUpstreamStateOutcome::AlreadyConsumed);
            }
            if now >= state.expires_at {
                return Ok(ConsumeUpstreamStateOutcome::Expired);
            }
            // The blob (code verifier, client information) is not needed any more.
            exec(
                c,
                "UPDATE upstream_oauth_states SET consumed_at = ?2, blob = x'' WHERE hash = ?1",
                params![hash, now],
            )?;
            Ok(ConsumeUpstreamStateOutcome::Consumed(state))
        })
    }

    fn issue_browser_connect_ticket(
        &self,
        t: &NewConnectTicket,
        now: i64,
    ) -> Result<(ConnectTicket, Secret), StoreError> {
        self.tx(|c| {
            let token = new_token();
            let ticket = ConnectTicket {
                owner_mode: t.owner_mode,
                initiated_by: t.initiated_by.clone(),
                owner_subject: t.owner_subject.clone(),
                upstream_id: t.upstream_id.clone(),
                auth_profile: t.auth_profile.clone(),
                operation_id: t.operation_id.clone(),
                return_to: t.return_to.clone(),
                created_at: now,
                expires_at: now.saturating_add(t.ttl_seconds),
            };
            exec(
                c,
                "INSERT INTO browser_connect_tickets (hash, owner_mode, initiated_by, \
                 owner_subject, upstream_id, auth_profile, operation_id, return_to, created_at, \
                 expires_at, consumed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL)",
                params![
                    hash_token(token.expose()),
                    ticket.owner_mode.as_str(),
                    ticket.initiated_by,
                    ticket.owner_subject,
                    ticket.upstream_id,
                    ticket.auth_profile,
                    ticket.operation_id,
                    ticket.return_to,
                    ticket.created_at,
                    ticket.expires_at,
                ],
            )?;
            Ok((ticket, token))
        })
    }

    fn consume_browser_connect_ticket(
        &self,
        ticket_token: &Secret,
        now: i64,
    ) -> Result<ConsumeTicketOutcome, StoreError> {
        const T: &str = "browser_connect_tickets";
        self.tx(|c| {
            let hash = hash_token(ticket_token.expose());
            let Some((ticket, consumed_at)) = query_opt(
                c,
                "SELECT owner_mode, initiated_by, owner_subject, upstream_id, auth_profile, \
                 operation_id, return_to, created_at, expires_at, consumed_at \
                 FROM browser_connect_tickets WHERE hash = ?1",
                [&hash],
                |r| {
                    let ticket = ConnectTicket {
                        owner_mode: parse_col(
                            T,
                            "owner_mode",
                            &r.get::<_, String>(0)?,
                            OwnerMode::parse,
                        )?,
                        initiated_by: r.get(1)?,
                        owner_subject: r.get(2)?,
                        upstream_id: r.get(3)?,
                        auth_profile: r.get(4)?,
                        operation_id: r.get(5)?,
                        return_to: r.get(6)?,
                        created_at: r.get(7)?,
                        expires_at: r.get(8)?,
                    };
                    Ok((ticket, r.get::<_, Option<i64>>(9)?))
                },
            )?
            else {
                return Ok(ConsumeTicketOutcome::Missing);
            };
            if consumed_at.is_some() {
                return Ok(ConsumeTicketOutcome::AlreadyConsumed);
            }
            if now >= ticket.expires_at {
                return Ok(ConsumeTicketOutcome::Expired);
            }
            exec(
                c,
                "UPDATE browser_connect_tickets SET consumed_at = ?2 WHERE hash = ?1",
                params![hash, now],
            )?;
            Ok(ConsumeTicketOutcome::Consumed(ticket))
        })
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
