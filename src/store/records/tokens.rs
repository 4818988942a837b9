//! Grants and tokens (§3.11, §3.12, §5.3, §5.4, D1, D2): grants with their refresh-token
//! chain, access tokens, and the requests and outcomes of code exchange, refresh, revocation
//! and validation.

use super::clients::ClientAuth;
use crate::secret::Secret;

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
    /// [`ttl::REFRESH_GRACE`](crate::store::ttl::REFRESH_GRACE).
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
