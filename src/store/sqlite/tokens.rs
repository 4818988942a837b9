//! Grants, refresh and access tokens (§3.11, §3.12, §5.3, §5.4) in `grants`, `refresh_tokens`
//! and `access_tokens`: the code exchange (D2), rotation with reuse detection (D1),
//! revocation and validation.

use super::clients::authenticate;
use super::once::{Once, SingleUse, consume_once};
use super::rows::{exec, from_json, parse_col, query_opt, to_json};
use crate::crypto::{hash_token, new_id, new_token, pkce_s256_matches};
use crate::secret::Secret;
use crate::store::{
    AccessToken, ExchangeCode, ExchangeCodeOutcome, Grant, IssuedTokens, RefreshOutcome,
    RefreshRequest, RevokeOutcome, RevokeRequest, RevokedReason, StoreError, TokenTypeHint,
    ValidateOutcome,
};
use rusqlite::{Connection, Row, params};

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

/// Records `refresh` (already the grant's current refresh token) and issues an access token
/// whose expiry is capped by the grant's (§5.2): the answer of a code exchange or a refresh.
fn issue_tokens(
    c: &Connection,
    grant: Grant,
    refresh: Secret,
    access_ttl_seconds: i64,
    now: i64,
) -> Result<Box<IssuedTokens>, StoreError> {
    exec(
        c,
        "INSERT INTO refresh_tokens (hash, grant_id, issued_at) VALUES (?1, ?2, ?3)",
        params![grant.current_refresh_hash, grant.id, now],
    )?;
    let access_token = new_token();
    let access_expires_at = now.saturating_add(access_ttl_seconds).min(grant.expires_at);
    exec(
        c,
        "INSERT INTO access_tokens (hash, grant_id, client_id, subject, roles, resource, \
         operation_id, scope, created_at, expires_at, revoked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL)",
        params![
            hash_token(access_token.expose()),
            grant.id,
            grant.client_id,
            grant.subject,
            to_json(&grant.roles),
            grant.resource,
            grant.operation_id,
            grant.scope,
            now,
            access_expires_at,
        ],
    )?;
    Ok(Box::new(IssuedTokens {
        grant,
        access_token,
        access_expires_at,
        refresh_token: refresh,
    }))
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

/// An authorization code as redeemed (D2); `decide_authorization_setup` writes it.
struct AuthorizationCode {
    client_id: String,
    redirect_uri: String,
    resource: String,
    operation_id: String,
    scope: String,
    code_challenge: String,
    subject: String,
    roles: Vec<String>,
    /// The grant of the first redemption.
    grant_id: Option<String>,
}

impl SingleUse for AuthorizationCode {
    const TABLE: &'static str = "authorization_codes";
    const COLUMNS: &'static str = "client_id, redirect_uri, resource, operation_id, scope, \
                                   code_challenge, subject, roles, expires_at, grant_id";
    const USED_AT: &'static str = "redeemed_at";

    fn from_row(r: &Row<'_>) -> Result<Self, StoreError> {
        Ok(AuthorizationCode {
            client_id: r.get(0)?,
            redirect_uri: r.get(1)?,
            resource: r.get(2)?,
            operation_id: r.get(3)?,
            scope: r.get(4)?,
            code_challenge: r.get(5)?,
            subject: r.get(6)?,
            roles: from_json(Self::TABLE, "roles", &r.get::<_, String>(7)?)?,
            grant_id: r.get(9)?,
        })
    }
}

pub(super) fn exchange_authorization_code(
    c: &Connection,
    req: &ExchangeCode,
    now: i64,
) -> Result<ExchangeCodeOutcome, StoreError> {
    if authenticate(c, &req.client, now)?.is_none() {
        return Ok(ExchangeCodeOutcome::InvalidClient);
    }
    let code_hash = hash_token(req.code.expose());
    let code = match consume_once(c, &code_hash, now, |code: &AuthorizationCode| {
        if code.client_id != req.client.client_id
            || code.redirect_uri != req.redirect_uri
            || !pkce_s256_matches(req.code_verifier.expose(), &code.code_challenge)
        {
            return Some(ExchangeCodeOutcome::BindingMismatch);
        }
        if req.resource.as_ref().is_some_and(|r| *r != code.resource) {
            return Some(ExchangeCodeOutcome::ResourceMismatch);
        }
        None
    })? {
        Once::Consumed(code) => code,
        Once::Refused(outcome) => return Ok(outcome),
        Once::Used(code) => {
            // D2: a second redemption means the code leaked; the first grant goes too.
            if let Some(grant_id) = &code.grant_id {
                revoke_grant(c, grant_id, RevokedReason::CodeReused, now)?;
            }
            return Ok(ExchangeCodeOutcome::Consumed);
        }
        Once::Expired => return Ok(ExchangeCodeOutcome::Expired),
        Once::Missing => return Ok(ExchangeCodeOutcome::Missing),
    };
    let refresh = new_token();
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
        current_refresh_hash: hash_token(refresh.expose()),
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
    // D2: a second redemption of the code revokes this grant.
    exec(
        c,
        "UPDATE authorization_codes SET grant_id = ?2 WHERE hash = ?1",
        params![code_hash, grant.id],
    )?;
    let issued = issue_tokens(c, grant, refresh, req.access_token_ttl_seconds, now)?;
    Ok(ExchangeCodeOutcome::Exchanged(issued))
}

pub(super) fn refresh_token(
    c: &Connection,
    req: &RefreshRequest,
    now: i64,
) -> Result<RefreshOutcome, StoreError> {
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
        // D1 by time, not by position: any token of this grant rotated within the grace window
        // is a concurrent refresh (a race winner may already have refreshed again); one rotated
        // longer ago is a replay and revokes the grant
        let rotated_at: Option<i64> = query_opt(
            c,
            "SELECT rotated_at FROM refresh_tokens WHERE hash = ?1",
            [&presented],
            |r| Ok(r.get(0)?),
        )?
        .flatten();
        if rotated_at.is_some_and(|at| now.saturating_sub(at) <= req.grace_seconds) {
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
        "UPDATE refresh_tokens SET rotated_at = ?2 WHERE hash = ?1",
        params![presented, now],
    )?;
    grant.previous_refresh_hash = Some(std::mem::replace(
        &mut grant.current_refresh_hash,
        next_hash,
    ));
    grant.rotated_at = Some(now);
    let issued = issue_tokens(c, grant, next, req.access_token_ttl_seconds, now)?;
    Ok(RefreshOutcome::Rotated(issued))
}

pub(super) fn revoke_oauth_token(
    c: &Connection,
    req: &RevokeRequest,
    now: i64,
) -> Result<RevokeOutcome, StoreError> {
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
}

pub(super) fn validate_access_token(
    c: &Connection,
    token: &Secret,
    now: i64,
) -> Result<ValidateOutcome, StoreError> {
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
        Some((a, grant_revoked, _)) if a.revoked_at.is_some() || grant_revoked.is_some() => {
            ValidateOutcome::Revoked
        }
        Some((a, _, grant_expires)) if now >= a.expires_at || now >= grant_expires => {
            ValidateOutcome::Expired
        }
        Some((a, _, _)) => ValidateOutcome::Valid(Box::new(a)),
    })
}
