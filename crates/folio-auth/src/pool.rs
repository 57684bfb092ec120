//! The built-in user pool: register, sign in (throttled), refresh (rotating, with reuse
//! detection), sign out, change password, and the operator's user commands.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use folio_core::IdentityId;
use folio_core::ports::{Clock, RateLimits};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::AuthError;
use crate::keyring::SigningKeys;
use crate::keys::Jwks;
use crate::password::{decoy_hash, hash_password, verify_password};
use crate::store::{AccountStore, RefreshRecord, User};
use crate::throttle::{self, ThrottleSettings};
use crate::verifier::{IssuerConfig, IssuerKeys, TrustedIssuer};

/// Lifetimes and throttling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Access token lifetime (default 15 minutes).
    pub access_ttl_secs: i64,
    /// Refresh token lifetime (default 30 days).
    pub refresh_ttl_secs: i64,
    /// How long after a refresh token was used it may be used again without revoking its family
    /// (two tabs refreshing at once; default 10 s).
    pub rotation_grace_ms: i64,
    /// The audience of access tokens.
    pub audience: String,
    /// Sign-in and password-change throttling.
    pub throttle: ThrottleSettings,
    /// Password checks (argon2, ~35 ms of a core each) run at once; more wait their turn off
    /// the async threads (default: the number of cores).
    pub concurrent_password_checks: usize,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            rotation_grace_ms: 10_000,
            audience: "folio".to_owned(),
            throttle: ThrottleSettings::default(),
            concurrent_password_checks: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
        }
    }
}

/// What signing in or refreshing gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The opaque refresh token (rotates on every use).
    pub refresh_token: String,
    /// The caller's identity id (the `<identity>` of object keys).
    pub identity_id: IdentityId,
    /// The account's normalised email, for display.
    pub email: String,
}

#[derive(Serialize)]
struct AccessClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
}

/// The pool.
pub struct UserPool {
    store: Arc<dyn AccountStore>,
    /// Where sign-in throttles count (shared by every process of the deployment).
    limits: Arc<dyn RateLimits>,
    keys: Arc<SigningKeys>,
    issuer: String,
    settings: PoolSettings,
    clock: Arc<dyn Clock>,
    /// Bounds the password checks running at once.
    password_checks: Arc<tokio::sync::Semaphore>,
}

/// Lowercases and checks an email address (a plausibility check; no mail is sent): at most
/// 254 characters as given; trimmed; then something, `@`, and a domain with a `.` that neither
/// starts nor ends it, with no white space or control characters anywhere. The register
/// request's schema states the same rule as a pattern (tested against this function).
pub fn normalise_email(email: &str) -> Result<String, AuthError> {
    let invalid = || AuthError::InvalidRequest("that is not an email address".to_owned());
    if email.chars().count() > 254 {
        return Err(invalid());
    }
    let email = email.trim().to_lowercase();
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(invalid());
    }
    Ok(email)
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl UserPool {
    /// A pool that signs with the current key of `keys` as `issuer` and throttles sign-ins on
    /// `limits`.
    pub fn new(
        store: Arc<dyn AccountStore>,
        limits: Arc<dyn RateLimits>,
        keys: Arc<SigningKeys>,
        issuer: String,
        settings: PoolSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let password_checks =
            Arc::new(tokio::sync::Semaphore::new(settings.concurrent_password_checks.max(1)));
        Self { store, limits, keys, issuer, settings, clock, password_checks }
    }

    /// The issuer (`iss`) of this pool's tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience (`aud`) of this pool's tokens.
    pub fn audience(&self) -> &str {
        &self.settings.audience
    }

    /// The public keys that verify this pool's tokens now.
    pub async fn jwks(&self) -> Result<Jwks, AuthError> {
        self.keys.jwks().await
    }

    /// The signing keys.
    pub fn keys(&self) -> &Arc<SigningKeys> {
        &self.keys
    }

    /// This pool as an issuer the verifier trusts: its issuer and audience, its tokens checked
    /// against its key ring (so a rotation made by any process is honoured).
    pub fn trusted_issuer(&self) -> TrustedIssuer {
        TrustedIssuer {
            config: IssuerConfig {
                issuer: self.issuer.clone(),
                jwks_url: String::new(),
                audience: Some(self.settings.audience.clone()),
                client_id: None,
                token_use: None,
            },
            keys: IssuerKeys::Ring(Arc::clone(&self.keys)),
        }
    }

    /// The identity id of a user of this pool.
    pub fn identity_of(&self, user: &User) -> IdentityId {
        IdentityId::derive(&self.issuer, &user.id)
    }

    /// Registers a user. Reveals whether the email is taken (a documented trade-off).
    pub async fn register(&self, email: &str, password: &str) -> Result<User, AuthError> {
        let email = normalise_email(email)?;
        let password = password.to_owned();
        let password_hash =
            tokio::task::spawn_blocking(move || hash_password(&password))
                .await
                .map_err(|e| AuthError::Unavailable(format!("password hashing: {e}")))??;
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            email,
            password_hash,
            created_ms: self.clock.now_ms(),
        };
        self.store.create_user(&user).await?;
        Ok(user)
    }

    /// Signs in. Throttled (see [`crate::throttle`]): the attempt is reserved before the
    /// password is checked; unknown and known accounts get the same answers and take the same
    /// time.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<Session, AuthError> {
        let email = normalise_email(email).map_err(|_| AuthError::WrongCredentials)?;
        let keys = self.settings.throttle.keys(&email, client);
        throttle::reserve_all(self.limits.as_ref(), &keys, self.clock.now_ms()).await?;
        let user = self.store.user_by_email(&email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let valid = self.check_password(password, hash).await?;
        let Some(user) = user.filter(|_| valid) else {
            return Err(AuthError::WrongCredentials);
        };
        throttle::succeeded(self.limits.as_ref(), &keys, self.clock.now_ms()).await?;
        self.new_session(&user, &uuid::Uuid::new_v4().to_string()).await
    }

    /// Checks a password against a hash (a decoy for unknown accounts, so both take as long)
    /// on the blocking pool, at most `concurrent_password_checks` at once.
    async fn check_password(
        &self,
        password: &str,
        hash: Option<String>,
    ) -> Result<bool, AuthError> {
        let _turn = self
            .password_checks
            .acquire()
            .await
            .map_err(|_| AuthError::Unavailable("shutting down".to_owned()))?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                let _ = verify_password(&password, decoy_hash());
                false
            }
        })
        .await
        .map_err(|e| AuthError::Unavailable(format!("password check: {e}")))
    }

    async fn new_session(&self, user: &User, family: &str) -> Result<Session, AuthError> {
        let now = self.clock.now_ms();
        let refresh_token = random_token();
        self.store
            .insert_refresh(&RefreshRecord {
                hash: token_hash(&refresh_token),
                family: family.to_owned(),
                user_id: user.id.clone(),
                created_ms: now,
                expires_ms: now + self.settings.refresh_ttl_secs * 1000,
                rotated_ms: None,
                revoked: false,
            })
            .await?;
        let now_secs = now / 1000;
        let access_token = self.keys.current().await?.sign(&AccessClaims {
            iss: &self.issuer,
            sub: &user.id,
            aud: &self.settings.audience,
            iat: now_secs,
            nbf: now_secs,
            exp: now_secs + self.settings.access_ttl_secs,
        })?;
        Ok(Session {
            access_token,
            token_type: "Bearer",
            expires_in: self.settings.access_ttl_secs,
            refresh_token,
            identity_id: self.identity_of(user),
            email: user.email.clone(),
        })
    }

    /// Trades a refresh token for a new session. A token used again after the grace window
    /// revokes its whole family (it was stolen, or the family is stale).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session, AuthError> {
        let unauthorized =
            || AuthError::Unauthorized("the session has ended; sign in again".to_owned());
        let record = self
            .store
            .refresh_by_hash(&token_hash(refresh_token))
            .await?
            .ok_or_else(unauthorized)?;
        let now = self.clock.now_ms();
        if record.revoked || now >= record.expires_ms {
            return Err(unauthorized());
        }
        let fresh =
            record.rotated_ms.is_none() && self.store.mark_rotated(&record.hash, now).await?;
        if !fresh {
            let used_at = match record.rotated_ms {
                Some(at) => at,
                None => self
                    .store
                    .refresh_by_hash(&record.hash)
                    .await?
                    .and_then(|r| r.rotated_ms)
                    .unwrap_or(now),
            };
            if now - used_at > self.settings.rotation_grace_ms {
                tracing::warn!(family = %record.family, "refresh token reused; revoking its family");
                self.store.revoke_family(&record.family).await?;
                return Err(unauthorized());
            }
        }
        let user = self.store.user_by_id(&record.user_id).await?.ok_or_else(unauthorized)?;
        self.new_session(&user, &record.family).await
    }

    /// Ends the session a refresh token belongs to (all tokens of its family).
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AuthError> {
        if let Some(record) = self.store.refresh_by_hash(&token_hash(refresh_token)).await? {
            self.store.revoke_family(&record.family).await?;
        }
        Ok(())
    }

    /// Changes a password after checking the current one; ends every session of the user.
    /// Throttled like signing in (a stolen access token must not become an online guesser).
    pub async fn change_password(
        &self,
        user_id: &str,
        current: &str,
        new: &str,
        client: &str,
    ) -> Result<(), AuthError> {
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AuthError::Unauthorized("unknown user".to_owned()))?;
        let keys = self.settings.throttle.keys(&user.email, client);
        throttle::reserve_all(self.limits.as_ref(), &keys, self.clock.now_ms()).await?;
        if !self.check_password(current, Some(user.password_hash.clone())).await? {
            return Err(AuthError::WrongCredentials);
        }
        throttle::succeeded(self.limits.as_ref(), &keys, self.clock.now_ms()).await?;
        self.set_password(&user, new).await
    }

    /// Sets a password (operator reset) and ends every session of the user.
    pub async fn set_password(&self, user: &User, new: &str) -> Result<(), AuthError> {
        let hash = hash_password(new)?;
        self.store.set_password_hash(&user.id, &hash).await?;
        self.store.revoke_user(&user.id).await
    }

    /// A user by email (operator commands).
    pub async fn user(&self, email: &str) -> Result<User, AuthError> {
        let email = normalise_email(email)?;
        self.store.user_by_email(&email).await?.ok_or(AuthError::NotFound)
    }

    /// A user by subject.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>, AuthError> {
        self.store.user_by_id(id).await
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<User>, AuthError> {
        self.store.list_users().await
    }

    /// Deletes a user's account (their documents are the caller's to delete).
    pub async fn delete(&self, user: &User) -> Result<(), AuthError> {
        self.store.delete_user(&user.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalise_email("  Ada@Example.COM ").ok().as_deref(), Some("ada@example.com"));
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a b@example.com",
            "ada@.com",
            "ada@example.com.",
        ] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
    }
}
