//! An in-memory [`AccountStore`] and the accounts contract suite: for tests of the pool and the
//! API without a database, and for every accounts adapter to pass.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::{AccountStore, AuthError, KeyRing, RefreshRecord, SignIn, StoredKey, User};

#[derive(Debug, Default)]
struct Accounts {
    users: HashMap<String, User>,
    refresh: HashMap<String, RefreshRecord>,
}

/// Accounts in memory.
#[derive(Debug, Default)]
pub struct MemoryAccounts(Mutex<Accounts>);

impl MemoryAccounts {
    fn lock(&self) -> MutexGuard<'_, Accounts> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl AccountStore for MemoryAccounts {
    async fn create_user(&self, user: &User) -> Result<(), AuthError> {
        let mut accounts = self.lock();
        if accounts.users.values().any(|u| u.email == user.email) {
            return Err(AuthError::EmailTaken);
        }
        accounts.users.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, AuthError> {
        Ok(self.lock().users.values().find(|u| u.email == email).cloned())
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<User>, AuthError> {
        Ok(self.lock().users.get(id).cloned())
    }

    async fn list_users(&self) -> Result<Vec<User>, AuthError> {
        let mut users: Vec<User> = self.lock().users.values().cloned().collect();
        users.sort_by(|a, b| (a.created_ms, &a.email).cmp(&(b.created_ms, &b.email)));
        Ok(users)
    }

    async fn set_password_hash(&self, user_id: &str, hash: &str) -> Result<(), AuthError> {
        match self.lock().users.get_mut(user_id) {
            Some(user) => {
                user.password_hash = hash.to_owned();
                Ok(())
            }
            None => Err(AuthError::NotFound),
        }
    }

    async fn delete_user(&self, user_id: &str) -> Result<(), AuthError> {
        let mut accounts = self.lock();
        accounts.users.remove(user_id);
        accounts.refresh.retain(|_, r| r.user_id != user_id);
        Ok(())
    }

    async fn insert_refresh(&self, record: &RefreshRecord) -> Result<(), AuthError> {
        self.lock().refresh.insert(record.hash.clone(), record.clone());
        Ok(())
    }

    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRecord>, AuthError> {
        Ok(self.lock().refresh.get(hash).cloned())
    }

    async fn mark_rotated(&self, hash: &str, now_ms: i64) -> Result<bool, AuthError> {
        match self.lock().refresh.get_mut(hash) {
            Some(record) if record.rotated_ms.is_none() => {
                record.rotated_ms = Some(now_ms);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn revoke_family(&self, family: &str) -> Result<(), AuthError> {
        self.lock()
            .refresh
            .values_mut()
            .filter(|r| r.family == family)
            .for_each(|r| r.revoked = true);
        Ok(())
    }

    async fn revoke_user(&self, user_id: &str) -> Result<(), AuthError> {
        self.lock()
            .refresh
            .values_mut()
            .filter(|r| r.user_id == user_id)
            .for_each(|r| r.revoked = true);
        Ok(())
    }

    async fn purge_expired(&self, now_ms: i64) -> Result<u64, AuthError> {
        let mut accounts = self.lock();
        let before = accounts.refresh.len();
        accounts.refresh.retain(|_, r| r.expires_ms >= now_ms);
        Ok((before - accounts.refresh.len()) as u64)
    }
}

fn ok<T>(result: Result<T, AuthError>) -> T {
    result.unwrap_or_else(|err| panic!("unexpected error: {err}"))
}

/// Runs `n` copies of `call` at once and returns their answers.
async fn concurrently<T: Send + 'static, F>(n: usize, call: impl Fn() -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(call())).collect();
    let mut answers = Vec::with_capacity(n);
    for task in tasks {
        answers.push(task.await.unwrap_or_else(|e| panic!("a task failed: {e}")));
    }
    answers
}

/// The [`AccountStore`] contract: unique emails (also under concurrency), users by email and id,
/// password changes, deletes that take the user's tokens along (and may be retried), one rotation per refresh token
/// (also under concurrency), revocation by family and by user, and purging expired tokens.
pub async fn check_account_store(store: Arc<dyn AccountStore>) {
    let user = |id: &str, email: &str| User {
        id: id.to_owned(),
        email: email.to_owned(),
        password_hash: "hash".to_owned(),
        created_ms: 1_000,
    };
    ok(store.create_user(&user("u1", "a@example.com")).await);
    assert!(
        matches!(store.create_user(&user("u2", "a@example.com")).await, Err(AuthError::EmailTaken)),
        "an email is taken once"
    );
    let raced =
        concurrently(6, || {
            let store = Arc::clone(&store);
            async move {
                store.create_user(&user(&uuid::Uuid::new_v4().to_string(), "b@example.com")).await
            }
        })
        .await;
    assert_eq!(raced.iter().filter(|r| r.is_ok()).count(), 1, "concurrent registrations: one wins");
    assert_eq!(ok(store.user_by_email("a@example.com").await).map(|u| u.id), Some("u1".to_owned()));
    assert_eq!(ok(store.user_by_id("u1").await).map(|u| u.email), Some("a@example.com".to_owned()));
    assert_eq!(ok(store.user_by_email("nobody@example.com").await), None);
    ok(store.set_password_hash("u1", "new").await);
    assert_eq!(ok(store.user_by_id("u1").await).map(|u| u.password_hash), Some("new".to_owned()));
    assert_eq!(ok(store.list_users().await).len(), 2);

    let token = |hash: &str, family: &str, user: &str, expires_ms: i64| RefreshRecord {
        hash: hash.to_owned(),
        family: family.to_owned(),
        user_id: user.to_owned(),
        created_ms: 1_000,
        expires_ms,
        rotated_ms: None,
        revoked: false,
    };
    ok(store.insert_refresh(&token("t1", "f1", "u1", 10_000)).await);
    ok(store.insert_refresh(&token("t2", "f2", "u1", 20_000)).await);
    let rotations = concurrently(6, || {
        let store = Arc::clone(&store);
        async move { store.mark_rotated("t1", 2_000).await }
    })
    .await;
    assert_eq!(
        rotations.iter().filter(|r| matches!(r, Ok(true))).count(),
        1,
        "one rotation per token"
    );
    ok(store.revoke_family("f1").await);
    assert_eq!(ok(store.refresh_by_hash("t1").await).map(|t| t.revoked), Some(true));
    assert_eq!(ok(store.refresh_by_hash("t2").await).map(|t| t.revoked), Some(false));
    ok(store.revoke_user("u1").await);
    assert_eq!(ok(store.refresh_by_hash("t2").await).map(|t| t.revoked), Some(true));
    assert_eq!(ok(store.purge_expired(15_000).await), 1, "t1 expired at 10 s");
    assert_eq!(ok(store.refresh_by_hash("t1").await), None);

    ok(store.insert_refresh(&token("t3", "f3", "u1", 99_000)).await);
    ok(store.delete_user("u1").await);
    assert_eq!(ok(store.user_by_id("u1").await), None);
    assert_eq!(ok(store.refresh_by_hash("t3").await), None, "a deleted user's tokens go too");
    ok(store.delete_user("u1").await); // deleting again is harmless (a retried delete)
}

/// A key ring in memory.
#[derive(Debug, Default)]
pub struct MemoryKeyRing(Mutex<Vec<StoredKey>>);

impl MemoryKeyRing {
    fn lock(&self) -> MutexGuard<'_, Vec<StoredKey>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl KeyRing for MemoryKeyRing {
    async fn keys(&self) -> Result<Vec<StoredKey>, AuthError> {
        Ok(self.lock().clone())
    }

    async fn seed_if_empty(&self, seed: &[u8], now_ms: i64) -> Result<(), AuthError> {
        let mut keys = self.lock();
        if keys.is_empty() {
            keys.push(StoredKey { seed: seed.to_vec(), created_ms: now_ms, retired_ms: None });
        }
        Ok(())
    }

    async fn rotate(&self, seed: &[u8], now_ms: i64, drop_before_ms: i64) -> Result<(), AuthError> {
        let mut keys = self.lock();
        for key in keys.iter_mut().filter(|k| k.retired_ms.is_none()) {
            key.retired_ms = Some(now_ms);
        }
        keys.push(StoredKey { seed: seed.to_vec(), created_ms: now_ms, retired_ms: None });
        keys.retain(|k| k.retired_ms.is_none_or(|retired| retired >= drop_before_ms));
        Ok(())
    }
}

/// Signing keys over a ring in memory whose first key is `seed` (tests that sign their own
/// tokens with that seed), retired keys verifying for an hour.
pub async fn memory_keys(
    seed: &[u8],
    clock: Arc<dyn folio_core::ports::Clock>,
) -> Arc<crate::SigningKeys> {
    let ring = Arc::new(MemoryKeyRing::default());
    ok(crate::SigningKeys::open(ring, seed, clock, crate::KeySchedule::default()).await)
}

/// The key ring contract: one first key however many processes start at once; a rotation
/// leaves exactly one current key, however many run at once; retired keys stay until their
/// overlap has passed, oldest first.
pub async fn check_key_ring(ring: Arc<dyn KeyRing>) {
    assert!(ok(ring.keys().await).is_empty(), "a new ring is empty");
    let seeds = concurrently(6, {
        let ring = Arc::clone(&ring);
        let next = Arc::new(std::sync::atomic::AtomicU8::new(1));
        move || {
            let ring = Arc::clone(&ring);
            let seed = [next.fetch_add(1, std::sync::atomic::Ordering::Relaxed); 32];
            async move { ring.seed_if_empty(&seed, 1_000).await }
        }
    })
    .await;
    assert!(seeds.iter().all(Result::is_ok), "{seeds:?}");
    let first = ok(ring.keys().await);
    assert_eq!(first.len(), 1, "starting together keeps one first key");
    assert_eq!((first[0].created_ms, first[0].retired_ms), (1_000, None));
    ok(ring.seed_if_empty(&[99; 32], 2_000).await);
    assert_eq!(ok(ring.keys().await), first, "a ring with a key is not seeded again");

    ok(ring.rotate(&[100; 32], 5_000, 0).await);
    let keys = ok(ring.keys().await);
    assert_eq!(keys.len(), 2);
    assert_eq!((keys[0].seed.clone(), keys[0].retired_ms), (first[0].seed.clone(), Some(5_000)));
    assert_eq!((keys[1].seed.clone(), keys[1].retired_ms), (vec![100; 32], None));

    let rotations = concurrently(5, {
        let ring = Arc::clone(&ring);
        let next = Arc::new(std::sync::atomic::AtomicU8::new(110));
        move || {
            let ring = Arc::clone(&ring);
            let seed = [next.fetch_add(1, std::sync::atomic::Ordering::Relaxed); 32];
            async move { ring.rotate(&seed, 6_000, 0).await }
        }
    })
    .await;
    assert!(rotations.iter().all(Result::is_ok), "{rotations:?}");
    let keys = ok(ring.keys().await);
    assert_eq!(keys.len(), 7);
    assert_eq!(
        keys.iter().filter(|k| k.retired_ms.is_none()).count(),
        1,
        "concurrent rotations leave one current key"
    );
    assert_eq!(keys[0].seed, first[0].seed, "oldest first");

    ok(ring.rotate(&[120; 32], 7_000, 5_500).await);
    let keys = ok(ring.keys().await);
    assert!(
        keys.iter().all(|k| k.retired_ms.is_none_or(|r| r >= 5_500)),
        "keys retired before the overlap are dropped: {keys:?}"
    );
    assert_eq!(keys.len(), 7, "the first key went; the six retired at 6,000 and 7,000 stay");
    assert_eq!(keys.last().map(|k| (k.seed.clone(), k.retired_ms)), Some((vec![120; 32], None)));
}

/// The [`SignIn`] contract, on a fresh backend whose sign-ins come from `client`: one
/// registration per email, no sign-in before a registration that needs confirming is confirmed
/// (with `confirmation_code`, which the backend under test accepts: Cognito's emailed code), the
/// same answer for a wrong password and an unknown account, sessions of the registered identity,
/// refreshes, logouts that end a session, and password changes that need the current password
/// and end every session.
pub async fn check_sign_in(sign_in: Arc<dyn SignIn>, confirmation_code: Option<&str>) {
    let (email, password, client) = ("contract@example.com", "correct horse battery", "192.0.2.1");
    let registered = ok(sign_in.register(email, password).await);
    assert_eq!(registered.email, email);
    assert!(
        matches!(
            sign_in.register("Contract@Example.com", password).await,
            Err(AuthError::EmailTaken)
        ),
        "an email is registered once, whatever its case"
    );
    if registered.confirmation_required {
        let early = sign_in.login(email, password, client).await;
        assert!(matches!(early, Err(AuthError::NotConfirmed)), "{early:?}");
        let code = confirmation_code.expect("this backend confirms registrations: pass a code");
        ok(sign_in.confirm(email, code).await);
        // Confirming again changes nothing (Cognito refuses it as confirmed already; moto
        // accepts it).
        let again = sign_in.confirm(email, code).await;
        assert!(matches!(again, Ok(()) | Err(AuthError::AlreadyConfirmed)), "{again:?}");
    } else {
        let needless = sign_in.confirm(email, confirmation_code.unwrap_or("123456")).await;
        assert!(matches!(needless, Err(AuthError::AlreadyConfirmed)), "{needless:?}");
    }
    let wrong = sign_in.login(email, "not the password", client).await;
    let unknown = sign_in.login("nobody@example.com", password, client).await;
    assert!(matches!(wrong, Err(AuthError::WrongCredentials)), "{wrong:?}");
    assert!(matches!(unknown, Err(AuthError::WrongCredentials)), "{unknown:?}");

    let session = ok(sign_in.login(email, password, client).await);
    assert_eq!(session.identity_id, registered.identity_id, "a session is its account's");
    assert_eq!(session.email, email);
    assert!(!session.access_token.is_empty() && !session.refresh_token.is_empty());
    let refreshed = ok(sign_in.refresh(&session.refresh_token).await);
    assert_eq!(refreshed.identity_id, registered.identity_id, "a refresh keeps the identity");

    let other = ok(sign_in.login(email, password, client).await);
    ok(sign_in.logout(&other.refresh_token).await);
    assert!(
        matches!(sign_in.refresh(&other.refresh_token).await, Err(AuthError::Unauthorized(_))),
        "a logged-out session cannot be refreshed"
    );
    ok(sign_in.logout("a token nobody issued").await);

    // A session of its own (a logout may end every session of the account, as Cognito's does).
    let current = ok(sign_in.login(email, password, client).await);
    let changed = sign_in.change_password(
        &registered.user_id,
        &current.access_token,
        "wrong",
        "a new passphrase",
        client,
    );
    assert!(
        matches!(changed.await, Err(AuthError::WrongCredentials)),
        "the current password is checked"
    );
    ok(sign_in
        .change_password(
            &registered.user_id,
            &current.access_token,
            password,
            "a new passphrase",
            client,
        )
        .await);
    assert!(
        matches!(sign_in.refresh(&current.refresh_token).await, Err(AuthError::Unauthorized(_))),
        "a password change ends every session"
    );
    assert!(matches!(
        sign_in.login(email, password, client).await,
        Err(AuthError::WrongCredentials)
    ));
    ok(sign_in.login(email, "a new passphrase", client).await);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_accounts_pass_the_accounts_contract() {
        check_account_store(Arc::new(MemoryAccounts::default())).await;
    }

    #[tokio::test]
    async fn memory_key_ring_passes_the_key_ring_contract() {
        check_key_ring(Arc::new(MemoryKeyRing::default())).await;
    }

    async fn memory_pool() -> crate::UserPool {
        let clock: Arc<dyn folio_core::ports::Clock> = Arc::new(folio_core::ports::SystemClock);
        let settings =
            crate::PoolSettings { concurrent_password_checks: 2, ..crate::PoolSettings::default() };
        crate::UserPool::new(
            Arc::new(MemoryAccounts::default()),
            Arc::new(folio_core::MemoryRateLimits::default()),
            memory_keys(&[3; 32], Arc::clone(&clock)).await,
            "urn:folio:contract".to_owned(),
            settings,
            clock,
        )
    }

    #[tokio::test]
    async fn the_builtin_pool_passes_the_sign_in_contract() {
        check_sign_in(Arc::new(memory_pool().await), None).await;
    }

    /// A sign-in whose logout forgets to end the session.
    struct LogoutForgets(crate::UserPool);

    #[async_trait]
    impl SignIn for LogoutForgets {
        fn issuer(&self) -> &str {
            self.0.issuer()
        }
        async fn register(
            &self,
            email: &str,
            password: &str,
        ) -> Result<crate::Registration, AuthError> {
            SignIn::register(&self.0, email, password).await
        }
        async fn confirm(&self, email: &str, code: &str) -> Result<(), AuthError> {
            SignIn::confirm(&self.0, email, code).await
        }
        async fn login(
            &self,
            email: &str,
            password: &str,
            client: &str,
        ) -> Result<crate::Session, AuthError> {
            self.0.login(email, password, client).await
        }
        async fn refresh(&self, token: &str) -> Result<crate::Session, AuthError> {
            self.0.refresh(token).await
        }
        async fn logout(&self, _: &str) -> Result<(), AuthError> {
            Ok(())
        }
        async fn change_password(
            &self,
            subject: &str,
            _access_token: &str,
            current: &str,
            new: &str,
            client: &str,
        ) -> Result<(), AuthError> {
            self.0.change_password(subject, current, new, client).await
        }
        async fn jwks(&self) -> Result<Option<crate::Jwks>, AuthError> {
            SignIn::jwks(&self.0).await
        }
    }

    #[tokio::test]
    #[should_panic(expected = "a logged-out session cannot be refreshed")]
    async fn the_sign_in_suite_catches_a_logout_that_ends_nothing() {
        check_sign_in(Arc::new(LogoutForgets(memory_pool().await)), None).await;
    }
}
