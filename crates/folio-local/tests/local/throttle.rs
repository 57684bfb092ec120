//! Sign-in throttling (accounts in SQLite, counters on the embedded shape's rate limits), from
//! the attacker's side: concurrent guesses, a guessing storm while the owner signs in
//! elsewhere, distributed guessing, and password changes with a stolen access token.

use std::sync::Arc;
use std::time::Duration;

use folio_auth::{AuthError, PoolSettings, UserPool};
use folio_core::MemoryRateLimits;
use folio_core::testing::ManualClock;
use folio_local::SqliteAccounts;

const PASSWORD: &str = "correct horse battery";

async fn pool(dir: &tempfile::TempDir, clock: Arc<ManualClock>) -> Arc<UserPool> {
    let accounts = Arc::new(SqliteAccounts::new(crate::database(dir).await));
    let key = folio_auth::testing::memory_keys(&[7; 32], clock.clone()).await;
    let settings = PoolSettings { concurrent_password_checks: 2, ..PoolSettings::default() };
    let limits = Arc::new(MemoryRateLimits::default());
    let pool =
        UserPool::new(accounts, limits, key, "https://folio.test".to_owned(), settings, clock);
    pool.register("owner@example.com", PASSWORD).await.unwrap_or_else(|e| panic!("{e}"));
    Arc::new(pool)
}

/// Fires `n` wrong guesses at once from `client`; returns how many had their password checked
/// (answered "wrong email or password" rather than throttled).
async fn storm(pool: &Arc<UserPool>, client: &str, n: usize) -> usize {
    let guesses = (0..n).map(|i| {
        let pool = Arc::clone(pool);
        let client = client.to_owned();
        tokio::spawn(async move {
            pool.login("owner@example.com", &format!("guess number {i}"), &client).await
        })
    });
    let mut checked = 0;
    for guess in guesses {
        match guess.await.unwrap_or_else(|e| panic!("{e}")) {
            Err(AuthError::WrongCredentials) => checked += 1,
            Err(AuthError::Throttled { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    checked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_cannot_skip_the_backoff() {
    let dir = crate::temp();
    let clock = Arc::new(ManualClock::at(1_700_000_000_000));
    let pool = pool(&dir, clock).await;
    // The audit's burst: 60 at once were all checked. Free failures per (account, address): 5.
    let checked = storm(&pool, "127.0.0.2", 60).await;
    assert!(checked <= 5, "{checked} of 60 concurrent guesses were checked");
    assert!(checked >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_owner_signs_in_from_elsewhere_during_a_guessing_storm() {
    let dir = crate::temp();
    let clock = Arc::new(ManualClock::at(1_700_000_000_000));
    let pool = pool(&dir, clock.clone()).await;
    // One address guesses for a whole window, as fast as its back-off lets it.
    for _ in 0..40 {
        storm(&pool, "203.0.113.9", 3).await;
        clock.advance(Duration::from_secs(30));
    }
    let owner = pool.login("owner@example.com", PASSWORD, "198.51.100.7").await;
    assert!(owner.is_ok(), "the owner was locked out: {:?}", owner.err());
    // The guessing address itself stays throttled, even with the right password.
    let attacker = pool.login("owner@example.com", PASSWORD, "203.0.113.9").await;
    assert!(matches!(attacker, Err(AuthError::Throttled { .. })), "{attacker:?}");
}

#[tokio::test]
async fn guessing_spread_over_many_addresses_is_capped_per_account() {
    let dir = crate::temp();
    let clock = Arc::new(ManualClock::at(1_700_000_000_000));
    let pool = pool(&dir, clock.clone()).await;
    let mut checked = 0;
    for address in 0..40 {
        checked += storm(&pool, &format!("192.0.2.{address}"), 3).await;
    }
    assert_eq!(checked, 50, "the account takes 50 failures per window from all addresses");
    // The bound is the account's: past it, everyone waits for the window to end.
    let owner = pool.login("owner@example.com", PASSWORD, "198.51.100.7").await;
    assert!(matches!(owner, Err(AuthError::Throttled { .. })), "{owner:?}");
    clock.advance(Duration::from_secs(15 * 60));
    assert!(pool.login("owner@example.com", PASSWORD, "198.51.100.7").await.is_ok());
}

#[tokio::test]
async fn changing_the_password_is_throttled_like_signing_in() {
    let dir = crate::temp();
    let clock = Arc::new(ManualClock::at(1_700_000_000_000));
    let pool = pool(&dir, clock.clone()).await;
    let user = pool.user("owner@example.com").await.unwrap_or_else(|e| panic!("{e}"));
    let mut answers = Vec::new();
    for i in 0..8 {
        let guess = format!("stolen token guess {i}");
        answers.push(
            match pool.change_password(&user.id, &guess, "new password 123", "127.0.0.9").await {
                Err(AuthError::WrongCredentials) => "wrong",
                Err(AuthError::Throttled { .. }) => "throttled",
                other => panic!("{other:?}"),
            },
        );
    }
    assert_eq!(
        answers,
        ["wrong", "wrong", "wrong", "wrong", "wrong", "throttled", "throttled", "throttled"]
    );
    clock.advance(Duration::from_secs(2));
    assert!(
        pool.change_password(&user.id, PASSWORD, "new password 123", "127.0.0.9").await.is_ok()
    );
}
