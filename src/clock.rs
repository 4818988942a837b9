//! Time as the gateway sees it.
//!
//! Owns: [`now_unix`] and [`Clock`], the clock of every expiry decision (codes, tokens, grants,
//! sessions, tickets), which tests can move forward over HTTP without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

/// The current time as unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The gateway's clock for expiry decisions: the system time, plus an offset that only tests
/// move ([`Clock::advance`]), so that expiry and the D1 grace window can be tested over HTTP
/// without waiting. Nothing in the product advances it.
#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    /// Unix seconds as the gateway sees them.
    pub fn now(&self) -> i64 {
        now_unix().saturating_add(self.offset.load(Ordering::Relaxed))
    }

    /// Test hook: moves this gateway's time forward by `seconds`.
    #[doc(hidden)]
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}
