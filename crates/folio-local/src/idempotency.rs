//! Idempotency keys in SQLite.

use async_trait::async_trait;
use folio_core::ports::{IdempotencyRecord, IdempotencyStore};
use folio_core::{IdentityId, Result};
use sqlx::Row;

use crate::Database;
use crate::database::db_error;

/// Idempotency keys in table `idempotency`.
#[derive(Debug, Clone)]
pub struct SqliteIdempotency {
    db: Database,
}

impl SqliteIdempotency {
    /// The keys in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl IdempotencyStore for SqliteIdempotency {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM idempotency LIMIT 1").await
    }

    async fn bind(
        &self,
        identity: &IdentityId,
        key: &str,
        proposed: &IdempotencyRecord,
        expired_before_ms: i64,
    ) -> Result<IdempotencyRecord> {
        // One statement: insert, or replace only an expired binding; then read what is in force.
        let mut tx = self.db.pool().begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO idempotency (identity, key, document_id, body_sha256, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (identity, key) DO UPDATE SET document_id = excluded.document_id,
               body_sha256 = excluded.body_sha256, created_ms = excluded.created_ms
             WHERE idempotency.created_ms < ?6",
        )
        .bind(identity.to_string())
        .bind(key)
        .bind(proposed.document.to_string())
        .bind(&proposed.body_sha256)
        .bind(proposed.created_ms)
        .bind(expired_before_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        let row = sqlx::query("SELECT document_id, body_sha256, created_ms FROM idempotency WHERE identity = ?1 AND key = ?2")
            .bind(identity.to_string())
            .bind(key)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(IdempotencyRecord {
            document: row.try_get::<String, _>(0).map_err(db_error)?.parse()?,
            body_sha256: row.try_get(1).map_err(db_error)?,
            created_ms: row.try_get(2).map_err(db_error)?,
        })
    }

    async fn purge(&self, before_ms: i64) -> Result<u64> {
        let result = sqlx::query("DELETE FROM idempotency WHERE created_ms < ?1")
            .bind(before_ms)
            .execute(self.db.pool())
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected())
    }
}
