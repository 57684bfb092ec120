//! The lease for singleton work in PostgreSQL: a row per lease with its holder and expiry.

use async_trait::async_trait;
use folio_core::Result;
use folio_core::ports::Lease;

use super::{Postgres, db_error};

/// Table `leases`. A holder renews before each unit of work; a holder that dies stops renewing
/// and another instance takes over once `ttl` has passed.
///
/// Why a row and not a session advisory lock: an advisory lock lives as long as one pooled
/// connection, so it would have to be kept out of the pool, and a network blip on that one
/// connection would silently end leadership in the middle of a unit; a row with an expiry
/// works over any connection, and the port already bounds a dead holder's tenure by `ttl`.
#[derive(Debug, Clone)]
pub struct PgLease {
    db: Postgres,
}

impl PgLease {
    /// The leases in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Lease for PgLease {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM leases LIMIT 1").await
    }

    async fn try_hold(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool> {
        // Take a free lease, renew our own, or take over one that lapsed; of concurrent
        // attempts the row lock lets one through and the others see its holder.
        let result = sqlx::query(
            "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
             WHERE leases.holder = excluded.holder OR leases.until_ms <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now_ms.saturating_add(ttl_ms))
        .bind(now_ms)
        .execute(self.db.pool())
        .await
        .map_err(db_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.db.pool())
            .await
            .map_err(db_error)?;
        Ok(())
    }
}
