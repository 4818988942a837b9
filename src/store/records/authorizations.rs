//! Pending authorizations (§3.7–§3.10): the `/oauth/authorize` transaction through its phases
//! (login, consent, code issued or cancelled) and the outcome of each step.

use super::sessions::Principal;
use crate::secret::Secret;

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
    /// Transaction id ([`new_id`](crate::crypto::new_id)); reusing one answers `AlreadyExists`.
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
    /// The issuer of the authorization server whose endpoint the request came to (the
    /// gateway-wide one or a route's), sent back as RFC 9207 `iss` on the redirect.
    pub issuer: String,
    pub initial: InitialPhase,
    /// [`ttl::PENDING_AUTHORIZATION`](crate::store::ttl::PENDING_AUTHORIZATION) unless configured.
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
    /// RFC 9207 `iss` for the redirect ([`StartAuthorization::issuer`]); empty for a
    /// transaction started before it was recorded.
    pub issuer: String,
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
    /// [`ttl::AUTHORIZATION_CODE`](crate::store::ttl::AUTHORIZATION_CODE).
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
