//! Secrets in PostgreSQL: made once by whichever instance asks first, then shared.

use async_trait::async_trait;
use folio_core::Result;
use folio_core::ports::SecretStore;
use rand::RngCore;

use super::{Postgres, db_error};

/// Named random secrets (the download-signing key, say), table `secrets`.
#[derive(Debug, Clone)]
pub struct PgSecrets {
    db: Postgres,
}

impl PgSecrets {
    /// The secrets in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SecretStore for PgSecrets {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM secrets LIMIT 1").await
    }

    async fn get_or_create(&self, name: &str, len: usize) -> Result<Vec<u8>> {
        let mut fresh = vec![0u8; len];
        rand::rng().fill_bytes(&mut fresh);
        // Of instances asking together, the first insert wins and every one reads it.
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&fresh)
        .execute(self.db.pool())
        .await
        .map_err(db_error)?;
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
            .bind(name)
            .fetch_one(self.db.pool())
            .await
            .map_err(db_error)
    }
}
