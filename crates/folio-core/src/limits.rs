//! Rate limits and sign-in throttles as one mechanism: policies over the counters of the
//! [`RateLimits`] port, changed only by compare-and-swap. The same code runs on every adapter
//! (memory, SQL, DynamoDB), so an adapter proves one thing — that its swap is atomic — and
//! inherits every guarantee built here.
//!
//! - **Budgets** ([`take`]): the generic cell rate algorithm. A counter's time is the
//!   *theoretical arrival time* of the next request; a request is admitted while that time is
//!   at most `burst − 1` intervals ahead of now, and pushes it one interval on.
//! - **Throttles** ([`reserve`], [`release`], [`reset`]): a failure count and a time, read by a
//!   [`ThrottleRule`] — exponential back-off after free failures, or a cap per window. An
//!   attempt is reserved (counted) before the work it guards is done, so concurrent attempts
//!   cannot all get in before any failure is written.

use crate::Result;
use crate::ports::{Admission, Counter, RateBudget, RateLimits};

/// Races lost in a row before a take or a reservation gives up (a storm on one key): it is
/// then refused, as throttled, for a second.
const MAX_RACES: u32 = 64;

/// Takes one request from `key`'s budget at `now_ms`.
pub async fn take(
    limits: &(impl RateLimits + ?Sized),
    key: &str,
    budget: RateBudget,
    now_ms: i64,
) -> Result<Admission> {
    let interval =
        (60_000 + i64::from(budget.per_minute.max(1)) - 1) / i64::from(budget.per_minute.max(1));
    let tolerance = interval * i64::from(budget.burst.max(1) - 1);
    for _ in 0..MAX_RACES {
        let counter = limits.get(key, now_ms).await?;
        let arrival = counter.at_ms.max(now_ms);
        if arrival - now_ms > tolerance {
            let wait_ms = arrival - tolerance - now_ms;
            let retry_after_secs = u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1);
            return Ok(Admission::Refused { retry_after_secs });
        }
        let next = Counter { count: 0, at_ms: arrival + interval };
        if limits.swap(key, counter, next, now_ms, next.at_ms).await? {
            return Ok(Admission::Admitted);
        }
    }
    Ok(Admission::Refused { retry_after_secs: 1 })
}

/// How a throttle key's count turns into a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleRule {
    /// After `free` failures, wait 1, 2, 4… seconds (at most `max_ms`) after the last one;
    /// forgotten after `max_ms` without failures.
    Backoff {
        /// Failures without a wait.
        free: u32,
        /// The longest wait, and the quiet time after which failures are forgotten.
        max_ms: i64,
    },
    /// At most `cap` failures in a window of `window_ms` starting at the first one.
    Window {
        /// Failures per window.
        cap: u32,
        /// The window.
        window_ms: i64,
    },
}

impl ThrottleRule {
    fn span(self) -> i64 {
        match self {
            Self::Backoff { max_ms, .. } => max_ms,
            Self::Window { window_ms, .. } => window_ms,
        }
    }

    /// The state to count from at `now` (for a back-off `at` is the last failure; for a window,
    /// the window's start).
    fn current(self, counter: Counter, now: i64) -> Counter {
        if counter.count > 0 && now - counter.at_ms >= self.span() {
            Counter { count: 0, at_ms: now }
        } else {
            counter
        }
    }

    /// Until when an attempt must wait, if it must.
    fn blocked_until(self, Counter { count, at_ms }: Counter) -> Option<i64> {
        match self {
            Self::Backoff { free, max_ms } if count >= free => {
                let exponent = (count - free).min(30);
                Some(at_ms + (1000i64 << exponent).min(max_ms))
            }
            Self::Window { cap, window_ms } if count >= cap => Some(at_ms + window_ms),
            _ => None,
        }
    }

    /// The state after one more failure at `now`.
    fn after_failure(self, Counter { count, at_ms }: Counter, now: i64) -> Counter {
        match self {
            Self::Backoff { .. } => Counter { count: count.saturating_add(1), at_ms: now },
            Self::Window { .. } => Counter {
                count: count.saturating_add(1),
                at_ms: if count == 0 { now } else { at_ms },
            },
        }
    }
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Seconds until an attempt would be reserved (at least 1).
    pub retry_after_secs: u64,
}

/// Reserves one attempt on `key`: counts it as a failure unless the key is blocked.
pub async fn reserve(
    limits: &(impl RateLimits + ?Sized),
    key: &str,
    rule: ThrottleRule,
    now: i64,
) -> Result<std::result::Result<(), Throttled>> {
    for _ in 0..MAX_RACES {
        let stored = limits.get(key, now).await?;
        let current = rule.current(stored, now);
        if let Some(until) = rule.blocked_until(current).filter(|until| now < *until) {
            let retry_after_secs = u64::try_from((until - now + 999) / 1000).unwrap_or(1).max(1);
            return Ok(Err(Throttled { retry_after_secs }));
        }
        let next = rule.after_failure(current, now);
        if limits.swap(key, stored, next, now, next.at_ms.saturating_add(rule.span())).await? {
            return Ok(Ok(()));
        }
    }
    Ok(Err(Throttled { retry_after_secs: 1 }))
}

/// Gives back one reservation of `key` (the attempt succeeded, or was refused elsewhere).
pub async fn release(
    limits: &(impl RateLimits + ?Sized),
    key: &str,
    rule: ThrottleRule,
    now: i64,
) -> Result<()> {
    for _ in 0..MAX_RACES {
        let stored = limits.get(key, now).await?;
        if stored.count == 0 {
            return Ok(());
        }
        let next = Counter { count: stored.count - 1, at_ms: stored.at_ms };
        if limits.swap(key, stored, next, now, next.at_ms.saturating_add(rule.span())).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// Forgets `key`'s failures (after a success).
pub async fn reset(limits: &(impl RateLimits + ?Sized), key: &str, now: i64) -> Result<()> {
    for _ in 0..MAX_RACES {
        let stored = limits.get(key, now).await?;
        if stored == Counter::default()
            || limits.swap(key, stored, Counter::default(), now, now).await?
        {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn at(count: u32, at_ms: i64) -> Counter {
        Counter { count, at_ms }
    }

    #[test]
    fn backoff_doubles_after_the_free_failures_and_is_forgotten_after_quiet() {
        let rule = ThrottleRule::Backoff { free: 2, max_ms: 60_000 };
        assert_eq!(rule.blocked_until(at(1, 0)), None);
        assert_eq!(rule.blocked_until(at(2, 10)), Some(1010));
        assert_eq!(rule.blocked_until(at(4, 10)), Some(4010));
        assert_eq!(rule.blocked_until(at(40, 10)), Some(60_010));
        assert_eq!(rule.current(at(9, 0), 60_000), at(0, 60_000));
        assert_eq!(rule.current(at(9, 0), 59_999), at(9, 0));
    }

    #[test]
    fn a_window_caps_failures_from_its_first_one() {
        let rule = ThrottleRule::Window { cap: 3, window_ms: 1000 };
        let mut state = Counter::default();
        for now in [5, 6, 7] {
            assert_eq!(rule.blocked_until(state), None);
            state = rule.after_failure(state, now);
        }
        assert_eq!(state, at(3, 5));
        assert_eq!(rule.blocked_until(state), Some(1005));
        assert_eq!(rule.current(state, 1005), at(0, 1005));
    }
}
