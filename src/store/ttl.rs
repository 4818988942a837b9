//! Default lifetimes in seconds (§5.2, D2, D4). Callers pass the effective value
//! (configuration may override some of them) in each request.

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
