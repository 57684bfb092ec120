//! The built-in pool of a deployment, made from ports every shape that has one provides:
//! its issuer and first signing seed from the secret store, its keys from the key ring, its
//! accounts from the account store.

use std::sync::Arc;
use std::time::Duration;

use folio_core::ports::{Clock, RateLimits, SecretStore};
use folio_core::secrets::{BUILTIN_ISSUER, TOKEN_SIGNING_SEED};

use crate::{AccountStore, AuthError, KeyRing, KeySchedule, PoolSettings, SigningKeys, UserPool};

/// The issuer of a deployment's built-in pool: fixed at first start, stored, and never derived
/// from a listen address (identity ids depend on it).
pub async fn builtin_issuer(secrets: &dyn SecretStore) -> Result<String, AuthError> {
    let bytes = secrets.get_or_create(BUILTIN_ISSUER, 16).await.map_err(unavailable)?;
    let id = uuid::Uuid::from_slice(&bytes)
        .map_err(|e| AuthError::Unavailable(format!("corrupt issuer: {e}")))?;
    Ok(format!("urn:folio:{id}"))
}

/// What the built-in pool is made of.
#[derive(Clone)]
pub struct BuiltinPool {
    /// Its accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// Its signing keys.
    pub key_ring: Arc<dyn KeyRing>,
    /// How long a retired key keeps verifying, and how often the ring is read again.
    pub key_schedule: KeySchedule,
}

impl BuiltinPool {
    /// The signing keys (the ring's first key is the seed kept under
    /// [`TOKEN_SIGNING_SEED`], which deployments from before the ring signed with).
    pub async fn keys(
        &self,
        secrets: &dyn SecretStore,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<SigningKeys>, AuthError> {
        let first = secrets.get_or_create(TOKEN_SIGNING_SEED, 32).await.map_err(unavailable)?;
        SigningKeys::open(Arc::clone(&self.key_ring), &first, clock, self.key_schedule).await
    }

    /// The pool, its sign-in throttles counting on `limits`.
    pub async fn open(
        &self,
        secrets: &dyn SecretStore,
        limits: Arc<dyn RateLimits>,
        settings: PoolSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<UserPool, AuthError> {
        let issuer = builtin_issuer(secrets).await?;
        let keys = self.keys(secrets, Arc::clone(&clock)).await?;
        Ok(UserPool::new(Arc::clone(&self.accounts), limits, keys, issuer, settings, clock))
    }

    /// Deletes expired refresh tokens every `every` until `shutdown` turns true.
    pub async fn run_housekeeping(
        self,
        clock: Arc<dyn Clock>,
        every: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.accounts.purge_expired(clock.now_ms()).await {
                Ok(0) => {}
                Ok(tokens) => tracing::info!(tokens, "housekeeping removed expired refresh tokens"),
                Err(err) => tracing::warn!(error = %err, "housekeeping failed; will try again"),
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

fn unavailable(err: folio_core::Error) -> AuthError {
    AuthError::Unavailable(err.to_string())
}
