//! The migration scripts of the state database, in order.

/// Migration scripts, applied in order; script `i` brings the schema to version `i + 1`.
/// Never edit a released script: append a new one.
pub(super) const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2];

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

/// RFC 9207: the issuer a pending authorization answers with (`iss` on the redirect).
const SCHEMA_V2: &str = r#"
ALTER TABLE pending_authorizations ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
"#;
