//! Local state of `mcpgw dev` (D9): the `Store` trait (SPEC §5.6) and SQLite behind it.
//!
//! Owns: the domain records of the downstream authorization server (clients, pending
//! authorizations, authorization codes, grants, access tokens, browser sessions) and of the
//! upstream connect flow (connections, upstream OAuth state, browser connect tickets); the
//! [`Store`] trait whose operations answer with one typed outcome enum each, exactly the
//! outcomes of §5.6; token generation and hashing (§5.1); [`AsyncStore`] for async callers.
//!
//! Rules every implementation keeps:
//! * Tokens, codes, client secrets and state tokens are stored only as [`hash_token`] values
//!   (`sha256:` + base64url of the SHA-256, §5.1). The store generates them with
//!   [`new_token`] and hands the raw value back exactly once, as a [`Secret`].
//! * Time is the explicit `now` argument (unix seconds), so expiry and the D1 grace window are
//!   testable. A record is expired when `now >= expires_at`.
//! * Upstream tokens never reach the store in clear: connections and upstream OAuth state carry
//!   an opaque blob that the caller encrypted (§6.2, D9).
//!
//! Submodules: [`sqlite`] (the implementation), [`keyfile`] (gateway secret, state folder).

pub mod keyfile;
pub mod sqlite;

use crate::client_metadata::ClientAuthMethod;
use crate::crypto::{constant_time_eq, hash_token};
use crate::secret::Secret;
use std::path::PathBuf;
use std::sync::Arc;

pub use keyfile::{GatewaySecret, KeySource};
pub use sqlite::SqliteStore;

// ---------------------------------------------------------------------------------------------
// Lifetimes (§5.2, D2, D4)
// ---------------------------------------------------------------------------------------------

/// Default lifetimes in seconds. Callers pass the effective value (configuration may override
/// some of them) in each request.
pub mod ttl {
    /// Access token (§5.2), capped by the grant's remaining life.
    pub const ACCESS_TOKEN: i64 = 900;
    /// Grant and its refresh tokens (D4).
    pub const GRANT: i64 = 315_360_000;
    /// Authorization code (D2).
    pub const AUTHORIZATION_CODE: i64 = 60;
    /// Pending authorization (login/setup state, D4).
    pub const PENDING_AUTHORIZATION: i64 = 900;
    /// Browser session (D4).
    pub const BROWSER_SESSION: i64 = 28_800;
    /// Upstream OAuth state and browser connect ticket (§5.2).
    pub const UPSTREAM_STATE: i64 = 900;
    /// DCR client and its secret (§3.5).
    pub const CLIENT: i64 = 7_776_000;
    /// D1: a previous refresh token presented this many seconds after the rotation (or
    /// fewer) is a concurrent refresh, not a replay.
    pub const REFRESH_GRACE: i64 = 30;
}

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
    #[error("{operation} is not supported yet")]
    Unsupported { operation: &'static str },
    #[error("state store worker failed: {0}")]
    Worker(String),
}

// ---------------------------------------------------------------------------------------------
// Tokens (§5.1)
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Clients (§3.5, §3.6)
// ---------------------------------------------------------------------------------------------

/// Where a client record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSource {
    /// RFC 7591 registration (§3.5): registering an existing id is a collision.
    Dynamic,
    /// A Client ID Metadata Document (§3.6): registering again refreshes the record.
    MetadataDocument,
}

impl ClientSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dynamic => "dynamic",
            Self::MetadataDocument => "metadata_document",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "dynamic" => Some(Self::Dynamic),
            "metadata_document" => Some(Self::MetadataDocument),
            _ => None,
        }
    }
}

/// What the authorization server hands to [`Store::register_client`] (already validated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClient {
    /// `dcr:<uuid>`, `dcr:pkjwt:<uuid>:<b64 jwks_uri>` or the CIMD URL.
    pub id: String,
    pub source: ClientSource,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub authorization_grant_profiles_supported: Vec<String>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// For `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// Inline JWKS (JSON text), when a metadata document carries one.
    pub jwks: Option<String>,
    /// Lifetime in seconds ([`ttl::CLIENT`] for DCR); `None` never expires.
    pub ttl_seconds: Option<i64>,
}

/// A stored downstream client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub source: ClientSource,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub authorization_grant_profiles_supported: Vec<String>,
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// [`hash_token`] of the client secret, for the `client_secret_*` methods.
    pub secret_hash: Option<String>,
    pub jwks_uri: Option<String>,
    pub jwks: Option<String>,
    pub created_at: i64,
    /// Also the secret's expiry (`client_secret_expires_at`).
    pub expires_at: Option<i64>,
}

impl Client {
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }

    /// Is `redirect_uri` one of this client's (§3.6 matching)?
    pub fn allows_redirect_uri(&self, redirect_uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| crate::client_metadata::redirect_uri_matches(r, redirect_uri))
    }
}

#[derive(Debug)]
pub enum RegisterClientOutcome {
    /// `secret` is set for the `client_secret_*` methods: shown to the client once.
    Registered {
        client: Box<Client>,
        secret: Option<Secret>,
    },
    /// "OAuth client is already registered." (§3.5)
    AlreadyExists,
}

/// How a client proved who it is at the token or revocation endpoint.
#[derive(Debug, Clone)]
pub enum ClientProof {
    /// Public client (`none`): the id alone.
    None,
    /// `client_secret_basic` or `client_secret_post`: the presented secret.
    Secret(Secret),
    /// `private_key_jwt`: the caller has verified the assertion against the client's keys.
    VerifiedAssertion,
}

#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub client_id: String,
    pub proof: ClientProof,
}

impl ClientAuth {
    pub fn public(client_id: impl Into<String>) -> Self {
        ClientAuth {
            client_id: client_id.into(),
            proof: ClientProof::None,
        }
    }

    /// Does this proof authenticate `client` (unexpired, method and secret match)?
    pub fn authenticates(&self, client: &Client, now: i64) -> bool {
        if client.id != self.client_id || client.is_expired(now) {
            return false;
        }
        match (&self.proof, client.token_endpoint_auth_method) {
            (ClientProof::None, ClientAuthMethod::None) => true,
            (
                ClientProof::Secret(secret),
                ClientAuthMethod::ClientSecretBasic | ClientAuthMethod::ClientSecretPost,
            ) => client.secret_hash.as_deref().is_some_and(|stored| {
                constant_time_eq(stored.as_bytes(), hash_token(secret.expose()).as_bytes())
            }),
            (ClientProof::VerifiedAssertion, ClientAuthMethod::PrivateKeyJwt) => true,
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pending authorizations (§3.7–§3.10)
// ---------------------------------------------------------------------------------------------

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationPhase {
    AwaitingLogin,
    AwaitingSetup,
    /// Terminal: the code was issued.
    CodeIssued,
    /// Terminal: the user cancelled.
    Cancelled,
}

impl AuthorizationPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingLogin => "awaiting_login",
            Self::AwaitingSetup => "awaiting_setup",
            Self::CodeIssued => "code_issued",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "awaiting_login" => Self::AwaitingLogin,
            "awaiting_setup" => Self::AwaitingSetup,
            "code_issued" => Self::CodeIssued,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::CodeIssued | Self::Cancelled)
    }
}

/// Where a new authorization starts (§3.7): without a session it waits for the login; with one
/// it goes straight to the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitialPhase {
    AwaitingLogin,
    AwaitingSetup(Principal),
}

/// A validated `/oauth/authorize` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartAuthorization {
    /// Transaction id ([`new_id`]); reusing one answers `AlreadyExists`.
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub resource: String,
    pub operation_id: String,
    pub scope: String,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// The client's `state`, echoed on the redirect.
    pub client_state: Option<String>,
    pub initial: InitialPhase,
    /// [`ttl::PENDING_AUTHORIZATION`] unless configured.
    pub ttl_seconds: i64,
}

/// A stored pending authorization. The hash of its current state token is not exposed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub resource: String,
    pub operation_id: String,
    pub scope: String,
    pub code_challenge: String,
    pub client_state: Option<String>,
    pub phase: AuthorizationPhase,
    /// Set once the user has logged in.
    pub principal: Option<Principal>,
    /// `approve` was chosen while an upstream was still pending (§3.10).
    pub setup_approved: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug)]
pub enum StartAuthorizationOutcome {
    /// `state_token` is the single-use token of the first phase (put it in the signed state).
    Started {
        pending: Box<PendingAuthorization>,
        state_token: Secret,
    },
    InvalidClient,
    RedirectUriMismatch,
    AlreadyExists,
}

#[derive(Debug)]
pub enum ReadPendingOutcome {
    Available(Box<PendingAuthorization>),
    StaleHash,
    Consumed,
    Expired,
    Missing,
}

#[derive(Debug)]
pub enum AdvancePendingOutcome {
    /// `awaiting_login → awaiting_setup`; the login token is spent, `state_token` is the new one.
    Advanced {
        pending: Box<PendingAuthorization>,
        state_token: Secret,
    },
    WrongPhase,
    StaleHash,
    Consumed,
    Expired,
    Missing,
}

#[derive(Debug)]
pub enum MarkSetupApprovedOutcome {
    /// The state token stays valid (the consent page is shown again after connecting).
    Marked(Box<PendingAuthorization>),
    WrongPhase,
    StaleHash,
    Consumed,
    Expired,
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupDecision {
    Approve,
    Cancel,
}

#[derive(Debug, Clone)]
pub struct DecideSetup {
    pub id: String,
    pub state_token: Secret,
    /// The subject of the current browser session; must equal the transaction's principal.
    pub subject: String,
    pub decision: SetupDecision,
    /// [`ttl::AUTHORIZATION_CODE`].
    pub code_ttl_seconds: i64,
}

#[derive(Debug)]
pub enum DecideSetupOutcome {
    /// The code for the client's redirect; valid for one redemption.
    Approved {
        pending: PendingAuthorization,
        code: Secret,
    },
    Cancelled(PendingAuthorization),
    PrincipalMismatch,
    /// Also answered for a token that is not a setup token (the transaction still waits for
    /// the login).
    StaleHash,
    ConsumedAlready,
    Expired,
    Missing,
}

// ---------------------------------------------------------------------------------------------
// Grants and tokens (§3.11, §3.12, §5.3, §5.4)
// ---------------------------------------------------------------------------------------------

/// Why a grant was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokedReason {
    /// D2: its authorization code was redeemed a second time.
    CodeReused,
    /// D1: a rotated refresh token was replayed outside the grace window.
    RefreshTokenReused,
    /// §3.12: the client revoked its refresh token.
    ClientRevoked,
}

impl RevokedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeReused => "code_reused",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::ClientRevoked => "client_revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "code_reused" => Self::CodeReused,
            "refresh_token_reused" => Self::RefreshTokenReused,
            "client_revoked" => Self::ClientRevoked,
            _ => return None,
        })
    }
}

/// A grant (§5.3): what a user allowed a client, with its refresh-token chain (D1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub subject: String,
    pub roles: Vec<String>,
    pub resource: String,
    pub operation_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub current_refresh_hash: String,
    pub previous_refresh_hash: Option<String>,
    /// When `previous_refresh_hash` stopped being current.
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<RevokedReason>,
}

/// An access-token record (§5.3), bound to resource + operationId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: String,
    pub subject: String,
    pub roles: Vec<String>,
    pub resource: String,
    pub operation_id: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// The answer of a successful code exchange or refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub grant: Grant,
    pub access_token: Secret,
    /// `min(now + access TTL, grant expiry)`; `expires_in = access_expires_at - now`.
    pub access_expires_at: i64,
    pub refresh_token: Secret,
}

#[derive(Debug, Clone)]
pub struct ExchangeCode {
    pub client: ClientAuth,
    pub code: Secret,
    pub redirect_uri: String,
    pub code_verifier: Secret,
    /// Optional at the token endpoint (D3); must equal the code's when present.
    pub resource: Option<String>,
    pub access_token_ttl_seconds: i64,
    pub grant_ttl_seconds: i64,
}

#[derive(Debug)]
pub enum ExchangeCodeOutcome {
    Exchanged(Box<IssuedTokens>),
    InvalidClient,
    /// Redeemed before: the grant of the first redemption is now revoked (D2).
    Consumed,
    Missing,
    Expired,
    ResourceMismatch,
    /// Client, redirect_uri or PKCE verifier differ from the code's.
    BindingMismatch,
}

#[derive(Debug, Clone)]
pub struct RefreshRequest {
    pub client: ClientAuth,
    pub refresh_token: Secret,
    pub resource: Option<String>,
    pub access_token_ttl_seconds: i64,
    /// [`ttl::REFRESH_GRACE`].
    pub grace_seconds: i64,
}

#[derive(Debug)]
pub enum RefreshOutcome {
    /// The presented token was current: a new refresh token and access token.
    Rotated(Box<IssuedTokens>),
    InvalidClient,
    /// Unknown token, or a token of another client.
    Missing,
    Expired,
    ResourceMismatch,
    /// D1: the token rotated away at most `grace_seconds` ago; the grant is untouched.
    PreviousTokenGrace,
    /// The grant is revoked (now, for a replayed token, or before).
    Revoked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

#[derive(Debug, Clone)]
pub struct RevokeRequest {
    pub client: ClientAuth,
    pub token: Secret,
    pub hint: Option<TokenTypeHint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    RevokedAccessToken,
    /// A refresh token: the grant and all its access tokens.
    RevokedGrant,
    ClientMismatch,
    Missing,
    InvalidClient,
}

#[derive(Debug)]
pub enum ValidateOutcome {
    /// The caller still compares resource and operationId with the route (§5.3).
    Valid(Box<AccessToken>),
    Missing,
    Expired,
    Revoked,
}

/// Placeholder for the downstream ID-JAG grant (D16: later version).
#[derive(Debug, Clone)]
pub struct IdJagTokenRequest {
    pub client: ClientAuth,
    pub subject: String,
    pub resource: String,
    pub operation_id: String,
    pub scope: String,
    pub access_token_ttl_seconds: i64,
}

// ---------------------------------------------------------------------------------------------
// Browser sessions (§5.5)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession {
    pub token_hash: String,
    pub principal: Principal,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug)]
pub enum SessionOutcome {
    Valid(BrowserSession),
    Expired,
    Missing,
}

// ---------------------------------------------------------------------------------------------
// Upstream connections (§6.1, §6.2, §6.5, §6.6)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerMode {
    User,
    Shared,
}

impl OwnerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Shared => "shared",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "shared" => Some(Self::Shared),
            _ => None,
        }
    }
}

/// (ownerMode, subject or "" for shared, upstream id, auth profile) — §6.1. Also the AAD of
/// the connection's encrypted blob (D9), see [`ConnectionKey::aad`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectionKey {
    pub owner_mode: OwnerMode,
    pub subject: String,
    pub upstream_id: String,
    pub auth_profile: String,
}

impl ConnectionKey {
    pub fn user(
        subject: impl Into<String>,
        upstream_id: impl Into<String>,
        auth_profile: impl Into<String>,
    ) -> Self {
        ConnectionKey {
            owner_mode: OwnerMode::User,
            subject: subject.into(),
            upstream_id: upstream_id.into(),
            auth_profile: auth_profile.into(),
        }
    }

    pub fn shared(upstream_id: impl Into<String>, auth_profile: impl Into<String>) -> Self {
        ConnectionKey {
            owner_mode: OwnerMode::Shared,
            subject: String::new(),
            upstream_id: upstream_id.into(),
            auth_profile: auth_profile.into(),
        }
    }

    /// An unambiguous byte string naming the key, for AES-GCM additional data (D9).
    pub fn aad(&self) -> Vec<u8> {
        let mut out = b"mcpgw-connection:v1".to_vec();
        for part in [
            self.owner_mode.as_str(),
            &self.subject,
            &self.upstream_id,
            &self.auth_profile,
        ] {
            out.extend_from_slice(&(part.len() as u64).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Tokens stored and usable ("connected").
    Active,
    /// A connect flow is under way.
    Authenticating,
    NotConnected,
    /// Refresh failed with an OAuth error or step-up is needed (§6.6, D18).
    ReconsentRequired,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Authenticating => "authenticating",
            Self::NotConnected => "not_connected",
            Self::ReconsentRequired => "reconsent_required",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "authenticating" => Self::Authenticating,
            "not_connected" => Self::NotConnected,
            "reconsent_required" => Self::ReconsentRequired,
            _ => return None,
        })
    }
}

/// Bytes the caller encrypted (AES-256-GCM with the connection key as AAD, D9). The store
/// never looks inside; `Debug` shows only the length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EncryptedBlob(pub Vec<u8>);

impl std::fmt::Debug for EncryptedBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptedBlob({} bytes)", self.0.len())
    }
}

/// What to write for a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionWrite {
    pub key: ConnectionKey,
    pub status: ConnectionStatus,
    /// Encrypted tokens, client information and discovery state.
    pub blob: EncryptedBlob,
    pub scopes: Vec<String>,
    /// Expiry of the upstream access token, if known.
    pub expires_at: Option<i64>,
    /// Shared connections: who completed the connect flow.
    pub connected_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConnection {
    /// `mcpgw2uc_<uuid>`, kept across updates.
    pub id: String,
    pub key: ConnectionKey,
    pub status: ConnectionStatus,
    pub blob: EncryptedBlob,
    pub scopes: Vec<String>,
    pub expires_at: Option<i64>,
    pub connected_by: Option<String>,
    pub created_at: i64,
    /// Strictly increases with every write (`max(now, previous + 1)`), so it works as the
    /// version for optimistic concurrency even for two writes in one second.
    pub updated_at: i64,
}

/// Precondition of [`Store::conditional_upsert_upstream_connection`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCondition {
    /// No connection may exist for the key yet.
    ExpectAbsent,
    /// The stored connection's `updated_at` must equal this.
    ExpectUpdatedAt(i64),
}

#[derive(Debug)]
pub enum ConditionalUpsertOutcome {
    Written(UpstreamConnection),
    /// The precondition failed; `current` is what is stored now (adopt it or retry).
    Conflict {
        current: Option<UpstreamConnection>,
    },
}

// ---------------------------------------------------------------------------------------------
// Upstream OAuth state (§6.5, §3.15) and browser connect tickets (§3.14)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpstreamOAuthState {
    pub key: ConnectionKey,
    pub operation_id: String,
    pub return_to: Option<String>,
    pub return_origin: Option<String>,
    /// Encrypted: code verifier, redirect URI, cached client and discovery information.
    pub blob: EncryptedBlob,
    /// [`ttl::UPSTREAM_STATE`].
    pub ttl_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamOAuthState {
    pub key: ConnectionKey,
    pub operation_id: String,
    pub return_to: Option<String>,
    pub return_origin: Option<String>,
    pub blob: EncryptedBlob,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug)]
pub enum ConsumeUpstreamStateOutcome {
    Consumed(UpstreamOAuthState),
    /// `oauth_state_reused`.
    AlreadyConsumed,
    /// `oauth_state_expired`.
    Expired,
    /// `oauth_state_expired` too (§3.15).
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnectTicket {
    pub owner_mode: OwnerMode,
    pub initiated_by: String,
    pub owner_subject: Option<String>,
    pub upstream_id: String,
    pub auth_profile: String,
    pub operation_id: String,
    pub return_to: Option<String>,
    /// [`ttl::UPSTREAM_STATE`].
    pub ttl_seconds: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTicket {
    pub owner_mode: OwnerMode,
    pub initiated_by: String,
    pub owner_subject: Option<String>,
    pub upstream_id: String,
    pub auth_profile: String,
    pub operation_id: String,
    pub return_to: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug)]
pub enum ConsumeTicketOutcome {
    Consumed(ConnectTicket),
    /// `oauth_state_reused`.
    AlreadyConsumed,
    /// `oauth_state_expired`.
    Expired,
    Missing,
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

macro_rules! async_op {
    ($(#[$m:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $out:ty, |$s:ident| $call:expr) => {
        $(#[$m])*
        pub async fn $name(&self, $($arg: $ty),*) -> Result<$out, StoreError> {
            self.run(move |$s| $call).await
        }
    };
}

impl AsyncStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        AsyncStore { inner: store }
    }

    /// The blocking store behind this handle (for code already on a blocking thread).
    pub fn blocking(&self) -> &Arc<dyn Store> {
        &self.inner
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

    async_op!(register_client(client: NewClient, now: i64) -> RegisterClientOutcome,
        |s| s.register_client(&client, now));
    async_op!(read_client(client_id: String, now: i64) -> Option<Client>,
        |s| s.read_client(&client_id, now));
    async_op!(start_authorization(request: StartAuthorization, now: i64) -> StartAuthorizationOutcome,
        |s| s.start_authorization(&request, now));
    async_op!(read_pending_authorization(id: String, state_token: Secret, now: i64) -> ReadPendingOutcome,
        |s| s.read_pending_authorization(&id, &state_token, now));
    async_op!(advance_pending_authorization(id: String, state_token: Secret, principal: Principal, now: i64)
        -> AdvancePendingOutcome,
        |s| s.advance_pending_authorization(&id, &state_token, &principal, now));
    async_op!(mark_authorization_setup_approved(id: String, state_token: Secret, now: i64)
        -> MarkSetupApprovedOutcome,
        |s| s.mark_authorization_setup_approved(&id, &state_token, now));
    async_op!(decide_authorization_setup(request: DecideSetup, now: i64) -> DecideSetupOutcome,
        |s| s.decide_authorization_setup(&request, now));
    async_op!(exchange_authorization_code(request: ExchangeCode, now: i64) -> ExchangeCodeOutcome,
        |s| s.exchange_authorization_code(&request, now));
    async_op!(refresh_token(request: RefreshRequest, now: i64) -> RefreshOutcome,
        |s| s.refresh_token(&request, now));
    async_op!(revoke_oauth_token(request: RevokeRequest, now: i64) -> RevokeOutcome,
        |s| s.revoke_oauth_token(&request, now));
    async_op!(validate_access_token(token: Secret, now: i64) -> ValidateOutcome,
        |s| s.validate_access_token(&token, now));
    async_op!(issue_access_token_for_id_jag(request: IdJagTokenRequest, now: i64) -> IssuedTokens,
        |s| s.issue_access_token_for_id_jag(&request, now));
    async_op!(create_browser_session(principal: Principal, ttl_seconds: i64, now: i64)
        -> (BrowserSession, Secret),
        |s| s.create_browser_session(&principal, ttl_seconds, now));
    async_op!(read_browser_session(token: Secret, now: i64) -> SessionOutcome,
        |s| s.read_browser_session(&token, now));
    async_op!(touch_browser_session(token: Secret, ttl_seconds: i64, now: i64) -> SessionOutcome,
        |s| s.touch_browser_session(&token, ttl_seconds, now));
    async_op!(end_browser_session(token: Secret) -> bool,
        |s| s.end_browser_session(&token));
    async_op!(get_upstream_connection(key: ConnectionKey) -> Option<UpstreamConnection>,
        |s| s.get_upstream_connection(&key));
    async_op!(get_upstream_connections(keys: Vec<ConnectionKey>) -> Vec<UpstreamConnection>,
        |s| s.get_upstream_connections(&keys));
    async_op!(upsert_upstream_connection(write: ConnectionWrite, now: i64) -> UpstreamConnection,
        |s| s.upsert_upstream_connection(&write, now));
    async_op!(conditional_upsert_upstream_connection(write: ConnectionWrite, condition: WriteCondition, now: i64)
        -> ConditionalUpsertOutcome,
        |s| s.conditional_upsert_upstream_connection(&write, condition, now));
    async_op!(delete_upstream_connection(key: ConnectionKey) -> bool,
        |s| s.delete_upstream_connection(&key));
    async_op!(save_upstream_oauth_state(state: NewUpstreamOAuthState, now: i64) -> Secret,
        |s| s.save_upstream_oauth_state(&state, now));
    async_op!(consume_upstream_oauth_state(state_token: Secret, now: i64) -> ConsumeUpstreamStateOutcome,
        |s| s.consume_upstream_oauth_state(&state_token, now));
    async_op!(issue_browser_connect_ticket(ticket: NewConnectTicket, now: i64) -> (ConnectTicket, Secret),
        |s| s.issue_browser_connect_ticket(&ticket, now));
    async_op!(consume_browser_connect_ticket(ticket_token: Secret, now: i64) -> ConsumeTicketOutcome,
        |s| s.consume_browser_connect_ticket(&ticket_token, now));
    async_op!(purge_expired(now: i64) -> usize, |s| s.purge_expired(now));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::new_token;

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

    #[test]
    fn connection_aad_is_unambiguous() {
        let a = ConnectionKey::user("ab", "c", "p");
        let b = ConnectionKey::user("a", "bc", "p");
        assert_ne!(a.aad(), b.aad());
    }
}
