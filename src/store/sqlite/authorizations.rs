//! Pending authorizations (§3.7–§3.10) in `pending_authorizations`: each phase transition
//! checks and swaps the hash of the current state token; approving writes the authorization
//! code (`authorization_codes`) that [`super::tokens`] redeems.

use super::clients::load_client;
use super::rows::{exec, from_json, parse_col, query_opt, to_json};
use crate::crypto::{hash_token, new_token};
use crate::secret::Secret;
use crate::store::{
    AdvancePendingOutcome, AuthorizationPhase, DecideSetup, DecideSetupOutcome, InitialPhase,
    MarkSetupApprovedOutcome, PendingAuthorization, Principal, ReadPendingOutcome, SetupDecision,
    StartAuthorization, StartAuthorizationOutcome, StoreError,
};
use rusqlite::{Connection, Row, params};

const PENDING_COLS: &str = "id, client_id, redirect_uri, resource, operation_id, scope, \
                            code_challenge, client_state, phase, subject, roles, setup_approved, \
                            created_at, expires_at, state_hash, issuer";

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
            issuer: r.get(15)?,
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

/// Why a state token does not open a pending authorization: the answers every step shares.
enum PendingRefusal {
    Missing,
    Consumed,
    StaleHash,
    Expired,
}

/// Each step's outcome has a variant per refusal; `$consumed` names the one for `Consumed`.
macro_rules! refusal_into {
    ($($outcome:ident: $consumed:ident),* $(,)?) => {$(
        impl From<PendingRefusal> for $outcome {
            fn from(refusal: PendingRefusal) -> Self {
                match refusal {
                    PendingRefusal::Missing => Self::Missing,
                    PendingRefusal::Consumed => Self::$consumed,
                    PendingRefusal::StaleHash => Self::StaleHash,
                    PendingRefusal::Expired => Self::Expired,
                }
            }
        }
    )*};
}

refusal_into!(
    ReadPendingOutcome: Consumed,
    AdvancePendingOutcome: Consumed,
    MarkSetupApprovedOutcome: Consumed,
    DecideSetupOutcome: ConsumedAlready,
);

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

pub(super) fn start_authorization(
    c: &Connection,
    req: &StartAuthorization,
    now: i64,
) -> Result<StartAuthorizationOutcome, StoreError> {
    let Some(client) = load_client(c, &req.client_id)?.filter(|cl| !cl.is_expired(now)) else {
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
        issuer: req.issuer.clone(),
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
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
            pending.issuer,
        ],
    )?;
    Ok(StartAuthorizationOutcome::Started {
        pending: Box::new(pending),
        state_token,
    })
}

pub(super) fn read_pending_authorization(
    c: &Connection,
    id: &str,
    state_token: &Secret,
    now: i64,
) -> Result<ReadPendingOutcome, StoreError> {
    Ok(match check_pending(c, id, state_token, now)? {
        Ok(p) => ReadPendingOutcome::Available(Box::new(p)),
        Err(refusal) => refusal.into(),
    })
}

pub(super) fn advance_pending_authorization(
    c: &Connection,
    id: &str,
    state_token: &Secret,
    principal: &Principal,
    now: i64,
) -> Result<AdvancePendingOutcome, StoreError> {
    let mut pending = match check_pending(c, id, state_token, now)? {
        Ok(p) => p,
        Err(refusal) => return Ok(refusal.into()),
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
}

pub(super) fn mark_authorization_setup_approved(
    c: &Connection,
    id: &str,
    state_token: &Secret,
    now: i64,
) -> Result<MarkSetupApprovedOutcome, StoreError> {
    let mut pending = match check_pending(c, id, state_token, now)? {
        Ok(p) => p,
        Err(refusal) => return Ok(refusal.into()),
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
}

pub(super) fn decide_authorization_setup(
    c: &Connection,
    req: &DecideSetup,
    now: i64,
) -> Result<DecideSetupOutcome, StoreError> {
    let mut pending = match check_pending(c, &req.id, &req.state_token, now)? {
        Ok(p) => p,
        Err(refusal) => return Ok(refusal.into()),
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
}
