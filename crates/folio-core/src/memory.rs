//! In-process adapters of the ports whose state one process can hold alone: rate limits and
//! the lease. The embedded shape uses them (it is one process), and so can any shape for state
//! it does not need to share (a Lambda function's own rate limits, say).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::Result;
use crate::ports::{Admission, Lease, RateBudget, RateLimits};

/// Token buckets in memory.
#[derive(Debug, Default)]
pub struct MemoryRateLimits {
    /// key → (tokens, when they were counted, ms).
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

/// Buckets kept before full ones are forgotten (a full bucket is the same as no bucket).
const MAX_BUCKETS: usize = 100_000;

#[async_trait]
impl RateLimits for MemoryRateLimits {
    async fn take(&self, key: &str, budget: RateBudget, now_ms: i64) -> Result<Admission> {
        let burst = f64::from(budget.burst.max(1));
        let per_ms = f64::from(budget.per_minute.max(1)) / 60_000.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > MAX_BUCKETS {
            buckets.retain(|_, (tokens, last)| {
                *tokens + (now_ms - *last).max(0) as f64 * per_ms < burst
            });
        }
        let (tokens, last) = buckets.entry(key.to_owned()).or_insert((burst, now_ms));
        let elapsed = (now_ms - *last).max(0) as f64;
        *tokens = (*tokens + elapsed * per_ms).min(burst);
        *last = now_ms.max(*last);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(Admission::Admitted)
        } else {
            let wait_secs = ((1.0 - *tokens) / per_ms / 1000.0).ceil();
            Ok(Admission::Refused { retry_after_secs: (wait_secs as u64).max(1) })
        }
    }
}

/// A lease in memory: exact within one process (the embedded shape's only process).
#[derive(Debug, Default)]
pub struct MemoryLease {
    /// name → (holder, until ms).
    held: Mutex<HashMap<String, (String, i64)>>,
}

#[async_trait]
impl Lease for MemoryLease {
    async fn try_hold(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let free = match held.get(name) {
            None => true,
            Some((current, until)) => current == holder || *until <= now_ms,
        };
        if free {
            held.insert(name.to_owned(), (holder.to_owned(), now_ms.saturating_add(ttl_ms)));
        }
        Ok(free)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<()> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.get(name).is_some_and(|(current, _)| current == holder) {
            held.remove(name);
        }
        Ok(())
    }
}
