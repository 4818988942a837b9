//! The upstream side (§6): connections of a user or shared ([`UpstreamConnection`], keyed by
//! [`ConnectionKey`], tokens only as an [`EncryptedBlob`]), the upstream OAuth state of a
//! connect flow (§6.5, §3.15) and browser connect tickets (§3.14).

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

/// Precondition of [`Store::conditional_upsert_upstream_connection`](crate::store::Store::conditional_upsert_upstream_connection).
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
    /// [`ttl::UPSTREAM_STATE`](crate::store::ttl::UPSTREAM_STATE).
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnectTicket {
    pub owner_mode: OwnerMode,
    pub initiated_by: String,
    pub owner_subject: Option<String>,
    pub upstream_id: String,
    pub auth_profile: String,
    pub operation_id: String,
    pub return_to: Option<String>,
    /// [`ttl::UPSTREAM_STATE`](crate::store::ttl::UPSTREAM_STATE).
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

/// The outcome of consuming a single-use record by its token: an upstream OAuth state
/// (§3.15) or a browser connect ticket (§3.14).
#[derive(Debug)]
pub enum ConsumeOutcome<T> {
    Consumed(T),
    /// `oauth_state_reused`.
    AlreadyConsumed,
    /// `oauth_state_expired`.
    Expired,
    /// Unknown token; for an upstream OAuth state `oauth_state_expired` too (§3.15).
    Missing,
}

pub type ConsumeUpstreamStateOutcome = ConsumeOutcome<UpstreamOAuthState>;
pub type ConsumeTicketOutcome = ConsumeOutcome<ConnectTicket>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_aad_is_unambiguous() {
        let a = ConnectionKey::user("ab", "c", "p");
        let b = ConnectionKey::user("a", "bc", "p");
        assert_ne!(a.aad(), b.aad());
    }
}
