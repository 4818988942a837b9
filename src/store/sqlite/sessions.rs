//! Browser sessions (§5.5) in `browser_sessions`, found by the hash of the cookie's token.

use super::rows::{exec, from_json, query_opt, to_json};
use crate::crypto::{hash_token, new_token};
use crate::secret::Secret;
use crate::store::{BrowserSession, Principal, SessionOutcome, StoreError};
use rusqlite::{Connection, Row, params};

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

pub(super) fn create_browser_session(
    c: &Connection,
    principal: &Principal,
    ttl_seconds: i64,
    now: i64,
) -> Result<(BrowserSession, Secret), StoreError> {
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
}

pub(super) fn read_browser_session(
    c: &Connection,
    token: &Secret,
    now: i64,
) -> Result<SessionOutcome, StoreError> {
    Ok(match load_session(c, &hash_token(token.expose()))? {
        None => SessionOutcome::Missing,
        Some(s) if now >= s.expires_at => SessionOutcome::Expired,
        Some(s) => SessionOutcome::Valid(s),
    })
}

pub(super) fn touch_browser_session(
    c: &Connection,
    token: &Secret,
    ttl_seconds: i64,
    now: i64,
) -> Result<SessionOutcome, StoreError> {
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
}

pub(super) fn end_browser_session(c: &Connection, token: &Secret) -> Result<bool, StoreError> {
    Ok(exec(
        c,
        "DELETE FROM browser_sessions WHERE hash = ?1",
        [hash_token(token.expose())],
    )? > 0)
}
