//! Secrets in SQLite, created on first use.

use async_trait::async_trait;
use folio_core::Result;
use folio_core::ports::SecretStore;
use rand::RngCore;

use crate::Database;
use crate::database::db_error;

/// Secrets in table `secrets`. The first process to ask for a name creates it; every later
/// call, from any process sharing the database, gets the same bytes.
#[derive(Debug, Clone)]
pub struct SqliteSecrets {
    db: Database,
}

impl SqliteSecrets {
    /// The secrets in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SecretStore for SqliteSecrets {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM secrets LIMIT 1").await
    }

    async fn get_or_create(&self, name: &str, len: usize) -> Result<Vec<u8>> {
        let mut fresh = vec![0u8; len];
        rand::rng().fill_bytes(&mut fresh);
        sqlx::query("INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)")
            .bind(name)
            .bind(&fresh)
            .execute(self.db.pool())
            .await
            .map_err(db_error)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = ?1")
            .bind(name)
            .fetch_one(self.db.pool())
            .await
            .map_err(db_error)
    }
}
