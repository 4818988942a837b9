//! The upstream side (§6) in `upstream_connections` (optimistic concurrency on `updated_at`),
//! `upstream_oauth_states` and `browser_connect_tickets`.

use super::once::SingleUse;
use super::rows::{exec, from_json, parse_col, query_opt, to_json};
use crate::crypto::{hash_token, new_id, new_token};
use crate::secret::Secret;
use crate::store::{
    ConditionalUpsertOutcome, ConnectTicket, ConnectionKey, ConnectionStatus, ConnectionWrite,
    EncryptedBlob, NewConnectTicket, NewUpstreamOAuthState, OwnerMode, StoreError,
    UpstreamConnection, UpstreamOAuthState, WriteCondition,
};
use rusqlite::{Connection, Row, params};

/// The `owner_mode` column at `index` of a row of `table`.
fn owner_mode_at(r: &Row<'_>, table: &'static str, index: usize) -> Result<OwnerMode, StoreError> {
    parse_col(
        table,
        "owner_mode",
        &r.get::<_, String>(index)?,
        OwnerMode::parse,
    )
}

const CONN_COLS: &str = "id, owner_mode, subject, upstream_id, auth_profile, status, blob, \
                         scopes, expires_at, connected_by, created_at, updated_at";

fn connection_from_row(r: &Row<'_>) -> Result<UpstreamConnection, StoreError> {
    const T: &str = "upstream_connections";
    Ok(UpstreamConnection {
        id: r.get(0)?,
        key: ConnectionKey {
            owner_mode: owner_mode_at(r, T, 1)?,
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

pub(super) fn get_upstream_connection(
    c: &Connection,
    key: &ConnectionKey,
) -> Result<Option<UpstreamConnection>, StoreError> {
    load_connection(c, key)
}

pub(super) fn get_upstream_connections(
    c: &Connection,
    keys: &[ConnectionKey],
) -> Result<Vec<UpstreamConnection>, StoreError> {
    let mut out = Vec::new();
    for key in keys {
        if let Some(conn) = load_connection(c, key)? {
            out.push(conn);
        }
    }
    Ok(out)
}

pub(super) fn upsert_upstream_connection(
    c: &Connection,
    write: &ConnectionWrite,
    now: i64,
) -> Result<UpstreamConnection, StoreError> {
    let existing = load_connection(c, &write.key)?;
    write_connection(c, write, existing.as_ref(), now)
}

pub(super) fn conditional_upsert_upstream_connection(
    c: &Connection,
    write: &ConnectionWrite,
    condition: WriteCondition,
    now: i64,
) -> Result<ConditionalUpsertOutcome, StoreError> {
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
}

pub(super) fn delete_upstream_connection(
    c: &Connection,
    key: &ConnectionKey,
) -> Result<bool, StoreError> {
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
}

pub(super) fn save_upstream_oauth_state(
    c: &Connection,
    state: &NewUpstreamOAuthState,
    now: i64,
) -> Result<Secret, StoreError> {
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
}

impl SingleUse for UpstreamOAuthState {
    const TABLE: &'static str = "upstream_oauth_states";
    const COLUMNS: &'static str = "owner_mode, subject, upstream_id, auth_profile, operation_id, \
                                   return_to, return_origin, blob, created_at, expires_at";
    const USED_AT: &'static str = "consumed_at";
    // The blob (code verifier, client information) is not needed any more.
    const ALSO_ON_USE: &'static str = ", blob = x''";

    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(UpstreamOAuthState {
            key: ConnectionKey {
                owner_mode: owner_mode_at(r, Self::TABLE, 0)?,
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
        })
    }
}

pub(super) fn issue_browser_connect_ticket(
    c: &Connection,
    t: &NewConnectTicket,
    now: i64,
) -> Result<(ConnectTicket, Secret), StoreError> {
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
}

impl SingleUse for ConnectTicket {
    const TABLE: &'static str = "browser_connect_tickets";
    const COLUMNS: &'static str = "owner_mode, initiated_by, owner_subject, upstream_id, \
                                   auth_profile, operation_id, return_to, created_at, expires_at";
    const USED_AT: &'static str = "consumed_at";

    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(ConnectTicket {
            owner_mode: owner_mode_at(r, Self::TABLE, 0)?,
            initiated_by: r.get(1)?,
            owner_subject: r.get(2)?,
            upstream_id: r.get(3)?,
            auth_profile: r.get(4)?,
            operation_id: r.get(5)?,
            return_to: r.get(6)?,
            created_at: r.get(7)?,
            expires_at: r.get(8)?,
        })
    }
}
