//! Sign-in throttling. An attempt is *reserved* — counted as a failure — before its password is
//! checked, with a compare-and-swap on the store, so concurrent guesses cannot all pass the
//! check before any failure is written (the audit's 60 simultaneous guesses were all checked).
//! A success gives its reservations back.
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

use crate::AuthError;
use crate::store::AccountStore;

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

/// How one key's count turns into a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// After `free` failures, wait 1, 2, 4… seconds (at most `max_ms`) after the last one;
    /// forgotten after `max_ms` without failures.
    Backoff { free: u32, max_ms: i64 },
    /// At most `cap` failures in a window of `window_ms` starting at the first one.
    Window { cap: u32, window_ms: i64 },
}

impl Rule {
    /// The state to count from at `now` (`(count, at)` where `at` is the last failure for a
    /// back-off and the window's start for a window).
    fn current(self, (count, at): (u32, i64), now: i64) -> (u32, i64) {
        let span = match self {
            Self::Backoff { max_ms, .. } => max_ms,
            Self::Window { window_ms, .. } => window_ms,
        };
        if count > 0 && now - at >= span { (0, now) } else { (count, at) }
    }

    /// Until when an attempt must wait, if it must.
    fn blocked_until(self, (count, at): (u32, i64)) -> Option<i64> {
        match self {
            Self::Backoff { free, max_ms } if count >= free => {
                let exponent = (count - free).min(30);
                Some(at + (1000i64 << exponent).min(max_ms))
            }
            Self::Window { cap, window_ms } if count >= cap => Some(at + window_ms),
            _ => None,
        }
    }

    /// The state after one more failure at `now`.
    fn after_failure(self, (count, at): (u32, i64), now: i64) -> (u32, i64) {
        match self {
            Self::Backoff { .. } => (count.saturating_add(1), now),
            Self::Window { .. } => (count.saturating_add(1), if count == 0 { now } else { at }),
        }
    }
}

/// Races lost in a row before an attempt is refused as throttled (a storm on one key).
const MAX_RACES: u32 = 64;

/// Reserves one attempt on `key`: counts it as a failure unless the key is blocked.
pub(crate) async fn reserve(
    store: &dyn AccountStore,
    key: &str,
    rule: Rule,
    now: i64,
) -> Result<(), AuthError> {
    for _ in 0..MAX_RACES {
        let stored = store.failures(key).await?;
        let current = rule.current(stored, now);
        if let Some(until) = rule.blocked_until(current).filter(|until| now < *until) {
            let retry_after_secs = u64::try_from((until - now + 999) / 1000).unwrap_or(1).max(1);
            return Err(AuthError::Throttled { retry_after_secs });
        }
        if store.swap_failures(key, stored, rule.after_failure(current, now)).await? {
            return Ok(());
        }
    }
    Err(AuthError::Throttled { retry_after_secs: 1 })
}

/// Gives back one reservation of `key` (the attempt succeeded, or was refused elsewhere).
pub(crate) async fn release(store: &dyn AccountStore, key: &str) -> Result<(), AuthError> {
    for _ in 0..MAX_RACES {
        let stored = store.failures(key).await?;
        if stored.0 == 0 {
            return Ok(());
        }
        if store.swap_failures(key, stored, (stored.0 - 1, stored.1)).await? {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_free_failures_and_is_forgotten_after_quiet() {
        let rule = Rule::Backoff { free: 2, max_ms: 60_000 };
        assert_eq!(rule.blocked_until((1, 0)), None);
        assert_eq!(rule.blocked_until((2, 10)), Some(1010));
        assert_eq!(rule.blocked_until((4, 10)), Some(4010));
        assert_eq!(rule.blocked_until((40, 10)), Some(60_010));
        assert_eq!(rule.current((9, 0), 60_000), (0, 60_000));
        assert_eq!(rule.current((9, 0), 59_999), (9, 0));
    }

    #[test]
    fn a_window_caps_failures_from_its_first_one() {
        let rule = Rule::Window { cap: 3, window_ms: 1000 };
        let mut state = (0, 0);
        for now in [5, 6, 7] {
            assert_eq!(rule.blocked_until(state), None);
            state = rule.after_failure(state, now);
        }
        assert_eq!(state, (3, 5));
        assert_eq!(rule.blocked_until(state), Some(1005));
        assert_eq!(rule.current(state, 1005), (0, 1005));
    }
}
