//! Storage usage per identity in PostgreSQL (the quota's measure), shared by every instance.

use async_trait::async_trait;
use folio_core::ports::UsageCounter;
use folio_core::{IdentityId, Result};

use super::{Postgres, db_error};

/// Totals in table `usage_bytes`, changed by one upsert each (atomic per row).
#[derive(Debug, Clone)]
pub struct PgUsage {
    db: Postgres,
}

impl PgUsage {
    /// The totals in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

fn to_u64(total: i64) -> u64 {
    u64::try_from(total).unwrap_or(0)
}

#[async_trait]
impl UsageCounter for PgUsage {
    async fn get(&self, identity: &IdentityId) -> Result<u64> {
        let total: Option<i64> =
            sqlx::query_scalar("SELECT bytes FROM usage_bytes WHERE identity = $1")
                .bind(identity.to_string())
                .fetch_optional(self.db.pool())
                .await
                .map_err(db_error)?;
        Ok(total.map_or(0, to_u64))
    }

    async fn add(&self, identity: &IdentityId, delta: i64) -> Result<u64> {
        let total: i64 = sqlx::query_scalar(
            "INSERT INTO usage_bytes (identity, bytes) VALUES ($1, GREATEST(0, $2))
             ON CONFLICT (identity) DO UPDATE SET bytes = GREATEST(0, usage_bytes.bytes + $2)
             RETURNING bytes",
        )
        .bind(identity.to_string())
        .bind(delta)
        .fetch_one(self.db.pool())
        .await
        .map_err(db_error)?;
        Ok(to_u64(total))
    }

    async fn set(&self, identity: &IdentityId, bytes: u64) -> Result<()> {
        sqlx::query(
            "INSERT INTO usage_bytes (identity, bytes) VALUES ($1, $2)
             ON CONFLICT (identity) DO UPDATE SET bytes = EXCLUDED.bytes",
        )
        .bind(identity.to_string())
        .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
        .execute(self.db.pool())
        .await
        .map(drop)
        .map_err(db_error)
    }
}
