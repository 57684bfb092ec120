//! The accounts port: users and refresh tokens, stored by an adapter
//! (SQLite embedded, PostgreSQL in a cluster).

use async_trait::async_trait;

use crate::AuthError;

/// A user of the built-in pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The subject (`sub`): a random UUID, permanent.
    pub id: String,
    /// The normalised email.
    pub email: String,
    /// The argon2id hash.
    pub password_hash: String,
    /// Registration time (ms).
    pub created_ms: i64,
}

/// A refresh token, stored by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// The family: every token rotated from one sign-in.
    pub family: String,
    /// Whose.
    pub user_id: String,
    /// Issued (ms).
    pub created_ms: i64,
    /// Expires (ms).
    pub expires_ms: i64,
    /// When it was used (rotated), if it was.
    pub rotated_ms: Option<i64>,
    /// Revoked (sign-out, password change, reuse).
    pub revoked: bool,
}

/// Storage for the pool.
///
/// Contract: `create_user` fails with [`AuthError::EmailTaken`] for an existing email, also
/// under concurrency; `mark_rotated` succeeds for exactly one caller per token.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Adds a user.
    async fn create_user(&self, user: &User) -> Result<(), AuthError>;
    /// A user by normalised email.
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, AuthError>;
    /// A user by id.
    async fn user_by_id(&self, id: &str) -> Result<Option<User>, AuthError>;
    /// Every user, oldest first.
    async fn list_users(&self) -> Result<Vec<User>, AuthError>;
    /// Replaces a user's password hash.
    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<(), AuthError>;
    /// Deletes a user and their refresh tokens.
    async fn delete_user(&self, user_id: &str) -> Result<(), AuthError>;
    /// Stores a new refresh token.
    async fn insert_refresh(&self, record: &RefreshRecord) -> Result<(), AuthError>;
    /// A refresh token by hash.
    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRecord>, AuthError>;
    /// Marks a token used at `now`; false if it was used already (by a concurrent call).
    async fn mark_rotated(&self, hash: &str, now_ms: i64) -> Result<bool, AuthError>;
    /// Revokes every token of a family.
    async fn revoke_family(&self, family: &str) -> Result<(), AuthError>;
    /// Revokes every token of a user.
    async fn revoke_user(&self, user_id: &str) -> Result<(), AuthError>;
    /// Deletes refresh tokens expired before `now` (housekeeping).
    async fn purge_expired(&self, now_ms: i64) -> Result<u64, AuthError>;
}
