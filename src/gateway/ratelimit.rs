//! `rate-limit-inbound` state: a sliding-window counter per key (SPEC D12).
//!
//! Owns: counting requests per key in a window and saying when a caller may retry. The window
//! is the weighted sum of the previous and the current fixed window, as sliding-window limiters
//! do, so memory stays one small record per key whatever the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Window {
    start: Instant,
    current: u64,
    previous: u64,
}

#[derive(Debug)]
pub struct RateLimiter {
    limit: u64,
    window: Duration,
    keys: Mutex<HashMap<String, Window>>,
}

/// Too many requests: retry after this many seconds.
#[derive(Debug, PartialEq, Eq)]
pub struct Limited {
    pub retry_after_secs: u64,
}

impl RateLimiter {
    pub fn new(limit: u64, window: Duration) -> Self {
        RateLimiter {
            limit,
            window: window.max(Duration::from_millis(1)),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key` at `now`; `Err` when it is over the limit (not counted).
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Limited> {
        let mut keys = match self.keys.lock() {
            Ok(k) => k,
            Err(poisoned) => poisoned.into_inner(),
        };
        if keys.len() > 100_000 {
            // bound memory: forget windows that have fully expired
            let window = self.window;
            keys.retain(|_, w| now.duration_since(w.start) < window * 2);
        }
        let w = keys.entry(key.to_string()).or_insert(Window {
            start: now,
            current: 0,
            previous: 0,
        });
        let elapsed = now.duration_since(w.start);
        if elapsed >= self.window * 2 {
            *w = Window {
                start: now,
                current: 0,
                previous: 0,
            };
        } else if elapsed >= self.window {
            w.previous = w.current;
            w.current = 0;
            w.start += self.window;
        }
        let into = now.duration_since(w.start).as_secs_f64() / self.window.as_secs_f64();
        let weighted = w.previous as f64 * (1.0 - into) + w.current as f64;
        if weighted + 1.0 > self.limit as f64 {
            let until_next = self.window.saturating_sub(now.duration_since(w.start));
            return Err(Limited {
                retry_after_secs: until_next.as_secs().max(1),
            });
        }
        w.current += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_recovers() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(l.check("a", t0).is_ok());
        assert!(l.check("a", t0).is_ok());
        let err = l.check("a", t0).unwrap_err();
        assert!(err.retry_after_secs >= 59 && err.retry_after_secs <= 60);
        assert!(l.check("b", t0).is_ok());
        // two windows later everything is forgotten
        assert!(l.check("a", t0 + Duration::from_secs(121)).is_ok());
    }

    #[test]
    fn sliding_weight() {
        let l = RateLimiter::new(10, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(l.check("k", t0).is_ok());
        }
        // halfway into the next window half of the previous count still weighs
        let t = t0 + Duration::from_secs(15);
        let allowed = (0..10).filter(|_| l.check("k", t).is_ok()).count();
        assert_eq!(allowed, 5);
    }
}
