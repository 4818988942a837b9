//! Clients (§3.5, §3.6) in the `clients` table: registration (a DCR id collides, a metadata
//! document refreshes its record) and reading; [`authenticate`] for the token and revocation
//! endpoints.

use super::rows::{exec, from_json, parse_col, query_opt, to_json};
use crate::client_metadata::ClientAuthMethod;
use crate::crypto::{hash_token, new_token};
use crate::store::{
    Client, ClientAuth, ClientSource, NewClient, RegisterClientOutcome, StoreError,
};
use rusqlite::{Connection, Row, params};

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

pub(super) fn load_client(c: &Connection, id: &str) -> Result<Option<Client>, StoreError> {
    query_opt(
        c,
        &format!("SELECT {CLIENT_COLS} FROM clients WHERE id = ?1"),
        [id],
        client_from_row,
    )
}

/// The client named by `auth` when the proof authenticates it.
pub(super) fn authenticate(
    c: &Connection,
    auth: &ClientAuth,
    now: i64,
) -> Result<Option<Client>, StoreError> {
    Ok(load_client(c, &auth.client_id)?.filter(|client| auth.authenticates(client, now)))
}

pub(super) fn register_client(
    c: &Connection,
    new: &NewClient,
    now: i64,
) -> Result<RegisterClientOutcome, StoreError> {
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
        authorization_grant_profiles_supported: new.authorization_grant_profiles_supported.clone(),
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
}

pub(super) fn read_client(
    c: &Connection,
    client_id: &str,
    now: i64,
) -> Result<Option<Client>, StoreError> {
    Ok(load_client(c, client_id)?.filter(|cl| !cl.is_expired(now)))
}
