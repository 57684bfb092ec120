//! In-process adapters of the ports whose state one process can hold alone: rate limits and
//! the lease. The embedded shape uses them (it is one process), and so can any shape for state
//! it does not need to share (a Lambda function's own rate limits, say).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::IdentityId;
use crate::Result;
use crate::ports::{Counter, Lease, RateLimits, UsageCounter};

/// Rate-limit counters in memory.
#[derive(Debug, Default)]
pub struct MemoryRateLimits {
    /// key → (counter, expires ms).
    counters: Mutex<HashMap<String, (Counter, i64)>>,
}

/// Counters kept before expired ones are forgotten.
const MAX_COUNTERS: usize = 100_000;

#[async_trait]
impl RateLimits for MemoryRateLimits {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn get(&self, key: &str, now_ms: i64) -> Result<Counter> {
        let counters = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(match counters.get(key) {
            Some((counter, expires)) if *expires >= now_ms => *counter,
            _ => Counter::default(),
        })
    }

    async fn swap(
        &self,
        key: &str,
        expected: Counter,
        new: Counter,
        now: i64,
        expires_ms: i64,
    ) -> Result<bool> {
        let mut counters = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counters.len() > MAX_COUNTERS {
            counters.retain(|_, (_, expires)| *expires >= now);
        }
        let current = match counters.get(key) {
            Some((counter, expires)) if *expires >= now => *counter,
            _ => Counter::default(),
        };
        if current != expected {
            return Ok(false);
        }
        counters.insert(key.to_owned(), (new, expires_ms));
        Ok(true)
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
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

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

/// Storage usage in this process's memory: one process (the fakes, and tests).
#[derive(Debug, Default)]
pub struct MemoryUsage(Mutex<HashMap<IdentityId, u64>>);

#[async_trait]
impl UsageCounter for MemoryUsage {
    async fn get(&self, identity: &IdentityId) -> Result<u64> {
        let totals = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(totals.get(identity).copied().unwrap_or(0))
    }

    async fn add(&self, identity: &IdentityId, delta: i64) -> Result<u64> {
        let mut totals = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let total = totals.entry(*identity).or_insert(0);
        *total = total.saturating_add_signed(delta);
        Ok(*total)
    }

    async fn set(&self, identity: &IdentityId, bytes: u64) -> Result<()> {
        let mut totals = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        totals.insert(*identity, bytes);
        Ok(())
    }
}
