//! Idempotency keys of create requests in PostgreSQL.

use async_trait::async_trait;
use folio_core::ports::{IdempotencyRecord, IdempotencyStore};
use folio_core::{IdentityId, Result};
use sqlx::Row;

use super::{Postgres, db_error};

/// (identity, key) → the document a create made, table `idempotency_keys`.
#[derive(Debug, Clone)]
pub struct PgIdempotency {
    db: Postgres,
}

impl PgIdempotency {
    /// The keys in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

#[async_trait]
impl IdempotencyStore for PgIdempotency {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM idempotency_keys LIMIT 1").await
    }

    async fn bind(
        &self,
        identity: &IdentityId,
        key: &str,
        proposed: &IdempotencyRecord,
        expired_before_ms: i64,
    ) -> Result<IdempotencyRecord> {
        // Insert, or replace only an expired binding, and return the row either way: a live
        // binding is "updated" to itself so that RETURNING yields it. The row lock makes
        // concurrent binds of one key take turns, each seeing the one before.
        let row = sqlx::query(
            "INSERT INTO idempotency_keys (identity, key, document_id, body_sha256, created_ms)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (identity, key) DO UPDATE SET
               document_id = CASE WHEN idempotency_keys.created_ms < $6 THEN excluded.document_id ELSE idempotency_keys.document_id END,
               body_sha256 = CASE WHEN idempotency_keys.created_ms < $6 THEN excluded.body_sha256 ELSE idempotency_keys.body_sha256 END,
               created_ms  = CASE WHEN idempotency_keys.created_ms < $6 THEN excluded.created_ms  ELSE idempotency_keys.created_ms  END
             RETURNING document_id, body_sha256, created_ms",
        )
        .bind(identity.to_string())
        .bind(key)
        .bind(proposed.document.to_string())
        .bind(&proposed.body_sha256)
        .bind(proposed.created_ms)
        .bind(expired_before_ms)
        .fetch_one(self.db.pool())
        .await
        .map_err(db_error)?;
        Ok(IdempotencyRecord {
            document: row.try_get::<String, _>(0).map_err(db_error)?.parse()?,
            body_sha256: row.try_get(1).map_err(db_error)?,
            created_ms: row.try_get(2).map_err(db_error)?,
        })
    }

    async fn purge(&self, before_ms: i64) -> Result<u64> {
        let result = sqlx::query("DELETE FROM idempotency_keys WHERE created_ms < $1")
            .bind(before_ms)
            .execute(self.db.pool())
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected())
    }
}
