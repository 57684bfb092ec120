//! Rate limits: a token bucket per key (an identity, or a client address) and action, in
//! memory (each server process limits its own share; a cluster shares nothing here yet).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use folio_core::IdentityId;

/// Token buckets keyed by `K` (identities by default).
#[derive(Debug)]
pub struct RateLimiter<K = IdentityId> {
    /// Requests allowed in a burst.
    burst: f64,
    /// Requests refilled per second.
    per_second: f64,
    buckets: Mutex<HashMap<K, (f64, i64)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `burst` requests at once, refilled at `per_minute` a minute.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self {
            burst: f64::from(burst),
            per_second: f64::from(per_minute) / 60.0,
            buckets: Mutex::default(),
        }
    }

    /// Takes one request from `key`'s bucket at `now_ms`; `Err(seconds)` until one is free.
    pub fn check(&self, key: &K, now_ms: i64) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > 100_000 {
            // Forget full buckets rather than grow without bound.
            let burst = self.burst;
            buckets.retain(|_, (tokens, _)| *tokens < burst);
        }
        let (tokens, last) = buckets.entry(key.clone()).or_insert((self.burst, now_ms));
        let elapsed = (now_ms - *last).max(0) as f64 / 1000.0;
        *tokens = (*tokens + elapsed * self.per_second).min(self.burst);
        *last = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / self.per_second.max(f64::EPSILON)).ceil();
            Err(wait.max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_empty_and_refill_per_identity() {
        let limiter: RateLimiter = RateLimiter::new(2, 60);
        let a = IdentityId::derive("i", "a");
        let b = IdentityId::derive("i", "b");
        assert!(limiter.check(&a, 0).is_ok());
        assert!(limiter.check(&a, 0).is_ok());
        assert_eq!(limiter.check(&a, 0), Err(1));
        assert!(limiter.check(&b, 0).is_ok(), "another identity has its own bucket");
        assert!(limiter.check(&a, 1000).is_ok(), "one request a second comes back");
    }
}
