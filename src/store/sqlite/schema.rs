//! The migration scripts of the state database, in order.

/// Migration scripts, applied in order; script `i` brings the schema to version `i + 1`.
/// Never edit a released script: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4];

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

/// v2: when each refresh token was rotated, so that the D1 grace follows time, not position
/// (issue #13): any token rotated within the grace window is a concurrent refresh. Tokens that
/// v1 knew as the previous one of their grant keep their rotation time; older ones stay NULL
/// (rotated long ago: a replay).
const SCHEMA_V2: &str = r#"
ALTER TABLE refresh_tokens ADD COLUMN rotated_at INTEGER;
UPDATE refresh_tokens
   SET rotated_at = (SELECT g.rotated_at FROM grants g WHERE g.previous_refresh_hash = refresh_tokens.hash)
 WHERE hash IN (SELECT previous_refresh_hash FROM grants WHERE previous_refresh_hash IS NOT NULL);
"#;

/// v3, RFC 9207: the issuer a pending authorization answers with (`iss` on the redirect).
const SCHEMA_V3: &str = r#"
ALTER TABLE pending_authorizations ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
"#;

/// v4, `api-key-inbound` (§16.1, D21, D25 e): local consumers (name = `request.user.sub`,
/// metadata = `request.user.data`) and their keys, each stored only as its `sha256:` hash.
const SCHEMA_V4: &str = r#"
CREATE TABLE api_consumers (
    name       TEXT PRIMARY KEY,
    metadata   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    consumer   TEXT NOT NULL REFERENCES api_consumers(name) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_keys_consumer ON api_keys(consumer);
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_keeps_the_grace_of_the_token_v1_knew_as_previous() {
        let c = rusqlite::Connection::open_in_memory().expect("sqlite");
        c.execute_batch(SCHEMA_V1).expect("v1");
        c.execute_batch(
            "INSERT INTO clients (id, source, name, redirect_uris, grant_types, profiles,
                 auth_method, created_at)
             VALUES ('c', 'dynamic', 'c', '[]', '[]', '[]', 'none', 0);
             INSERT INTO grants (id, client_id, subject, roles, resource, operation_id, scope,
                 created_at, expires_at, current_refresh_hash, previous_refresh_hash, rotated_at)
             VALUES ('g', 'c', 's', '[]', 'r', 'o', 'mcp:tools', 0, 99, 'h2', 'h1', 50);
             INSERT INTO refresh_tokens (hash, grant_id, issued_at) VALUES
                 ('h0', 'g', 0), ('h1', 'g', 10), ('h2', 'g', 50);",
        )
        .expect("v1 rows");
        c.execute_batch(SCHEMA_V2).expect("v2");
        let at = |h: &str| -> Option<i64> {
            c.query_row(
                "SELECT rotated_at FROM refresh_tokens WHERE hash = ?1",
                [h],
                |r| r.get(0),
            )
            .expect("row")
        };
        assert_eq!(
            (at("h0"), at("h1"), at("h2")),
            (None, Some(50), None),
            "the previous token keeps its rotation time; older ones read as long rotated"
        );
    }
}
