//! The built-in pool's signing keys in PostgreSQL: one ring for every instance, so a token
//! signed by one verifies on all, and a key rotated through any of them reaches the others
//! when they next read the ring (`SigningKeys` reads it again at its reload interval).

use async_trait::async_trait;
use folio_auth::{AuthError, KeyRing, StoredKey};
use sqlx::Row;

use super::Postgres;

/// The advisory lock key that orders seeding and rotation ("keys" in ASCII).
const RING_LOCK: i64 = 0x6b65_7973;

/// The ring, table `signing_keys`. Seeding and rotating each run in one transaction under a
/// transaction-scoped advisory lock: instances starting together keep exactly one first key,
/// and two rotations at once leave exactly one current key.
#[derive(Debug, Clone)]
pub struct PgKeyRing {
    db: Postgres,
}

impl PgKeyRing {
    /// The ring in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

fn unavailable(err: sqlx::Error) -> AuthError {
    AuthError::Unavailable(err.to_string())
}

#[async_trait]
impl KeyRing for PgKeyRing {
    async fn keys(&self) -> Result<Vec<StoredKey>, AuthError> {
        let rows = sqlx::query(
            "SELECT seed, created_ms, retired_ms FROM signing_keys ORDER BY created_ms, id",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(unavailable)?;
        rows.iter()
            .map(|row| {
                Ok(StoredKey {
                    seed: row.try_get("seed").map_err(unavailable)?,
                    created_ms: row.try_get("created_ms").map_err(unavailable)?,
                    retired_ms: row.try_get("retired_ms").map_err(unavailable)?,
                })
            })
            .collect()
    }

    async fn seed_if_empty(&self, seed: &[u8], now_ms: i64) -> Result<(), AuthError> {
        let mut tx = self.db.locked(RING_LOCK).await.map_err(unavailable)?;
        sqlx::query(
            "INSERT INTO signing_keys (seed, created_ms, retired_ms)
             SELECT $1, $2, NULL WHERE NOT EXISTS (SELECT 1 FROM signing_keys)",
        )
        .bind(seed)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }

    async fn rotate(&self, seed: &[u8], now_ms: i64, drop_before_ms: i64) -> Result<(), AuthError> {
        let mut tx = self.db.locked(RING_LOCK).await.map_err(unavailable)?;
        sqlx::query("UPDATE signing_keys SET retired_ms = $1 WHERE retired_ms IS NULL")
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        // A key retired in the same millisecond sorts before the new one by id.
        sqlx::query(
            "INSERT INTO signing_keys (seed, created_ms, retired_ms) VALUES ($1, $2, NULL)",
        )
        .bind(seed)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
        sqlx::query("DELETE FROM signing_keys WHERE retired_ms < $1")
            .bind(drop_before_ms)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)
    }
}
