//! Browser sessions (§5.5) and the signed-in user ([`Principal`]) they carry, which pending
//! authorizations record too.

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub roles: Vec<String>,
}

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
