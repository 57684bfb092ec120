//! The built-in user pool's accounts in PostgreSQL: any instance signs anyone in and refreshes
//! any session.

use async_trait::async_trait;
use folio_auth::{AccountStore, AuthError, RefreshRecord, User};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::Postgres;

/// Users and refresh tokens, tables `users` and `refresh_tokens`.
#[derive(Debug, Clone)]
pub struct PgAccounts {
    db: Postgres,
}

impl PgAccounts {
    /// The accounts in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

fn unavailable(err: sqlx::Error) -> AuthError {
    AuthError::Unavailable(err.to_string())
}

fn user(row: &PgRow) -> Result<User, AuthError> {
    Ok(User {
        id: row.try_get("id").map_err(unavailable)?,
        email: row.try_get("email").map_err(unavailable)?,
        password_hash: row.try_get("password_hash").map_err(unavailable)?,
        created_ms: row.try_get("created_ms").map_err(unavailable)?,
    })
}

fn refresh(row: &PgRow) -> Result<RefreshRecord, AuthError> {
    Ok(RefreshRecord {
        hash: row.try_get("hash").map_err(unavailable)?,
        family: row.try_get("family").map_err(unavailable)?,
        user_id: row.try_get("user_id").map_err(unavailable)?,
        created_ms: row.try_get("created_ms").map_err(unavailable)?,
        expires_ms: row.try_get("expires_ms").map_err(unavailable)?,
        rotated_ms: row.try_get("rotated_ms").map_err(unavailable)?,
        revoked: row.try_get("revoked").map_err(unavailable)?,
    })
}

#[async_trait]
impl AccountStore for PgAccounts {
    async fn create_user(&self, u: &User) -> Result<(), AuthError> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(&u.password_hash)
        .bind(u.created_ms)
        .execute(self.db.pool())
        .await;
        match result {
            Ok(_) => Ok(()),
            // The unique index decides between concurrent registrations of one email.
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(AuthError::EmailTaken)
            }
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, AuthError> {
        let row = sqlx::query("SELECT * FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(self.db.pool())
            .await
            .map_err(unavailable)?;
        row.as_ref().map(user).transpose()
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>, AuthError> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await
            .map_err(unavailable)?;
        row.as_ref().map(user).transpose()
    }

    async fn list_users(&self) -> Result<Vec<User>, AuthError> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY created_ms, email")
            .fetch_all(self.db.pool())
            .await
            .map_err(unavailable)?;
        rows.iter().map(user).collect()
    }

    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<(), AuthError> {
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(hash)
            .execute(self.db.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn delete_user(&self, user_id: &str) -> Result<(), AuthError> {
        // Refresh tokens go with the user (ON DELETE CASCADE).
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(self.db.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn insert_refresh(&self, r: &RefreshRecord) -> Result<(), AuthError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, family, user_id, created_ms, expires_ms, rotated_ms, revoked)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.hash)
        .bind(&r.family)
        .bind(&r.user_id)
        .bind(r.created_ms)
        .bind(r.expires_ms)
        .bind(r.rotated_ms)
        .bind(r.revoked)
        .execute(self.db.pool())
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRecord>, AuthError> {
        let row = sqlx::query("SELECT * FROM refresh_tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(self.db.pool())
            .await
            .map_err(unavailable)?;
        row.as_ref().map(refresh).transpose()
    }

    async fn mark_rotated(&self, hash: &str, now_ms: i64) -> Result<bool, AuthError> {
        // Of concurrent refreshes with one token (two instances, say), the row lock lets one
        // set `rotated_ms`; the other re-checks the condition and changes nothing.
        let result = sqlx::query(
            "UPDATE refresh_tokens SET rotated_ms = $2 WHERE hash = $1 AND rotated_ms IS NULL",
        )
        .bind(hash)
        .bind(now_ms)
        .execute(self.db.pool())
        .await
        .map_err(unavailable)?;
        Ok(result.rows_affected() == 1)
    }

    async fn revoke_family(&self, family: &str) -> Result<(), AuthError> {
        sqlx::query("UPDATE refresh_tokens SET revoked = true WHERE family = $1")
            .bind(family)
            .execute(self.db.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn revoke_user(&self, user_id: &str) -> Result<(), AuthError> {
        sqlx::query("UPDATE refresh_tokens SET revoked = true WHERE user_id = $1")
            .bind(user_id)
            .execute(self.db.pool())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn purge_expired(&self, now_ms: i64) -> Result<u64, AuthError> {
        let result = sqlx::query("DELETE FROM refresh_tokens WHERE expires_ms < $1")
            .bind(now_ms)
            .execute(self.db.pool())
            .await
            .map_err(unavailable)?;
        Ok(result.rows_affected())
    }
}
