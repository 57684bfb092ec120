//! Rate-limit and throttle counters in PostgreSQL: one limit for the whole cluster.

use async_trait::async_trait;
use folio_core::Result;
use folio_core::ports::{Counter, RateLimits};
use sqlx::Row;

use super::{Postgres, convert, db_error};

/// Counters changed only by compare-and-swap, table `rate_counters`; a counter past its expiry
/// reads as the default and is swept by the next swap that finds it.
#[derive(Debug, Clone)]
pub struct PgRateLimits {
    db: Postgres,
}

impl PgRateLimits {
    /// The counters in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

#[async_trait]
impl RateLimits for PgRateLimits {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM rate_counters LIMIT 1").await
    }

    async fn get(&self, key: &str, now_ms: i64) -> Result<Counter> {
        let row = sqlx::query(
            "SELECT count, at_ms FROM rate_counters WHERE key = $1 AND expires_ms >= $2",
        )
        .bind(key)
        .bind(now_ms)
        .fetch_optional(self.db.pool())
        .await
        .map_err(db_error)?;
        row.map(|r| {
            Ok(Counter {
                count: convert(i64::from(r.try_get::<i32, _>(0).map_err(db_error)?), "count")?,
                at_ms: r.try_get(1).map_err(db_error)?,
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
    }

    async fn swap(
        &self,
        key: &str,
        expected: Counter,
        new: Counter,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<bool> {
        let count = i32::try_from(new.count).unwrap_or(i32::MAX);
        let result = if expected == Counter::default() {
            // From "never set or expired": insert, or take over an expired row. Of concurrent
            // inserts one wins; the others meet its row, which is no longer the default.
            sqlx::query(
                "INSERT INTO rate_counters (key, count, at_ms, expires_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET count = excluded.count, at_ms = excluded.at_ms,
                   expires_ms = excluded.expires_ms
                 WHERE rate_counters.expires_ms < $5
                    OR (rate_counters.count = 0 AND rate_counters.at_ms = 0)",
            )
            .bind(key)
            .bind(count)
            .bind(new.at_ms)
            .bind(expires_ms)
            .bind(now_ms)
            .execute(self.db.pool())
            .await
        } else {
            // From a live value: only if it is still that value (the row lock serialises
            // concurrent swaps; each re-checks after the one before it committed).
            sqlx::query(
                "UPDATE rate_counters SET count = $2, at_ms = $3, expires_ms = $4
                 WHERE key = $1 AND expires_ms >= $5 AND count = $6 AND at_ms = $7",
            )
            .bind(key)
            .bind(count)
            .bind(new.at_ms)
            .bind(expires_ms)
            .bind(now_ms)
            .bind(i32::try_from(expected.count).unwrap_or(i32::MAX))
            .bind(expected.at_ms)
            .execute(self.db.pool())
            .await
        };
        Ok(result.map_err(db_error)?.rows_affected() == 1)
    }
}
