//! Sign-in throttling. An attempt is *reserved* — counted as a failure — before its password is
//! checked, with a compare-and-swap on the deployment's [`RateLimits`] (through
//! [`folio_core::limits`], the one mechanism rate limits and throttles share), so concurrent
//! guesses cannot all pass the check before any failure is written (the audit's 60
//! simultaneous guesses were all checked), and every process of a cluster counts together. A
//! success gives its reservations back.
//!
//! Three keys, each its own rule:
//! - per (account, address): exponential back-off after a few free failures — the guesser at
//!   one address slows down without touching anyone else;
//! - per address: the same back-off with more free failures — one address spraying many
//!   accounts slows down;
//! - per account: a cap per window, higher than one address can reach inside a window
//!   (see [`ThrottleSettings::account_failures_per_window`]) — many addresses guessing one
//!   account are bounded, while its owner, signing in from elsewhere during one address's
//!   storm, still gets in.

use folio_core::limits::{self, ThrottleRule};
use folio_core::ports::RateLimits;

use crate::AuthError;

/// Throttling rules (part of [`crate::PoolSettings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures per (account, address) before backing off (default 5).
    pub free_failures: u32,
    /// Failures per address, whatever the accounts, before backing off (default 20).
    pub free_failures_per_address: u32,
    /// The longest back-off, and the quiet time after which failures are forgotten (default 15
    /// minutes: never a permanent lockout).
    pub max_backoff_secs: u64,
    /// Failures an account takes per window (of `max_backoff_secs`) from all addresses together
    /// before every attempt waits for the window's end (default 50). One address reaches about
    /// `free_failures + log2(max_backoff_secs) + 1` (15 by default) in a window, so this only
    /// stops guessing spread over many addresses.
    pub account_failures_per_window: u32,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            free_failures: 5,
            free_failures_per_address: 20,
            max_backoff_secs: 15 * 60,
            account_failures_per_window: 50,
        }
    }
}

impl ThrottleSettings {
    /// The keys of an attempt on `email` from `client`, each with its rule.
    pub(crate) fn keys(&self, email: &str, client: &str) -> [(String, ThrottleRule); 3] {
        let max_ms = i64::try_from(self.max_backoff_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        [
            (
                format!("signin:account-client:{email}|{client}"),
                ThrottleRule::Backoff { free: self.free_failures, max_ms },
            ),
            (
                format!("signin:client:{client}"),
                ThrottleRule::Backoff { free: self.free_failures_per_address, max_ms },
            ),
            (
                format!("signin:account:{email}"),
                ThrottleRule::Window { cap: self.account_failures_per_window, window_ms: max_ms },
            ),
        ]
    }
}

/// Reserves an attempt on every key, or none (a refused attempt costs nothing).
pub(crate) async fn reserve_all(
    limits: &dyn RateLimits,
    keys: &[(String, ThrottleRule)],
    now: i64,
) -> Result<(), AuthError> {
    for (done, (key, rule)) in keys.iter().enumerate() {
        if let Err(throttled) = limits::reserve(limits, key, *rule, now).await? {
            for (key, rule) in &keys[..done] {
                limits::release(limits, key, *rule, now).await?;
            }
            return Err(AuthError::Throttled { retry_after_secs: throttled.retry_after_secs });
        }
    }
    Ok(())
}

/// After a right password: the (account, address) back-off starts over; the address and
/// account counts only lose this attempt's reservation (a storm elsewhere goes on counting).
pub(crate) async fn succeeded(
    limits: &dyn RateLimits,
    keys: &[(String, ThrottleRule); 3],
    now: i64,
) -> Result<(), AuthError> {
    limits::reset(limits, &keys[0].0, now).await?;
    limits::release(limits, &keys[1].0, keys[1].1, now).await?;
    limits::release(limits, &keys[2].0, keys[2].1, now).await?;
    Ok(())
}
