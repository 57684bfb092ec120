//! The cluster's PostgreSQL adapters against a real server: every contract suite of the ports
//! they implement, unchanged, plus what only a shared database shows (two instances migrating
//! at once, two pools sharing one lease and one limit).
//!
//! Needs `FOLIO_TEST_POSTGRES_URL` (a role that may create databases, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test makes its own database and drops
//! it. `.ci/run` starts PostgreSQL and runs these with `--all-features -- --ignored`.
#![cfg(feature = "postgres")]

use std::sync::Arc;

use folio_auth::testing::{check_account_store, check_key_ring, check_sign_in};
use folio_cluster::testing::TestDatabase;
use folio_cluster::{
    PgAccounts, PgIdempotency, PgIndex, PgKeyRing, PgLease, PgRateLimits, PgSecrets, Postgres,
    PostgresOptions,
};
use folio_core::ports::{Counter, Lease, RateLimits};
use folio_core::testing::{
    check_document_index, check_idempotency_store, check_lease, check_rate_limits,
    check_secret_store, check_usage_counter,
};

#[tokio::test]
#[ignore = "needs PostgreSQL (FOLIO_TEST_POSTGRES_URL); run by .ci/run"]
async fn every_contract_suite_passes_on_postgres() {
    // One database per suite: each suite takes a fresh, empty adapter.
    for suite in
        ["index", "secrets", "idempotency", "rate limits", "lease", "usage", "accounts", "key ring"]
    {
        let database = TestDatabase::create().await;
        let db = database.connect().await;
        database
            .around(async move {
                match suite {
                    "index" => check_document_index(Arc::new(PgIndex::new(db))).await,
                    "secrets" => check_secret_store(Arc::new(PgSecrets::new(db))).await,
                    "idempotency" => {
                        check_idempotency_store(Arc::new(PgIdempotency::new(db))).await
                    }
                    "rate limits" => check_rate_limits(Arc::new(PgRateLimits::new(db))).await,
                    "lease" => check_lease(Arc::new(PgLease::new(db))).await,
                    "usage" => check_usage_counter(Arc::new(folio_cluster::PgUsage::new(db))).await,
                    "accounts" => check_account_store(Arc::new(PgAccounts::new(db))).await,
                    _ => check_key_ring(Arc::new(PgKeyRing::new(db))).await,
                }
            })
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (FOLIO_TEST_POSTGRES_URL); run by .ci/run"]
async fn instances_starting_together_migrate_once_and_share_state() {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    database
        .around(async move {
            // Eight "instances" connect at once to an empty database: one applies the schema
            // under the advisory lock, the others find it applied (no error, no double apply).
            let starts = (0..8).map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Postgres::connect(&PostgresOptions::new(url)).await })
            });
            let mut instances = Vec::new();
            for start in starts {
                instances.push(
                    start.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}")),
                );
            }
            let versions = TestDatabase::integers(
                &url,
                "SELECT version::bigint FROM folio_migrations ORDER BY version",
            )
            .await;
            assert_eq!(versions, [1, 2, 3], "every migration applied, each once");

            // A limit is one limit across instances: a budget of 3 spent through two pools.
            let budget = folio_core::ports::RateBudget { burst: 3, per_minute: 1 };
            let a = PgRateLimits::new(instances[0].clone());
            let b = PgRateLimits::new(instances[1].clone());
            let now = 1_700_000_000_000;
            let mut admitted = 0;
            for limits in [&a, &b, &a, &b, &a] {
                let take = limits.take("preview:alice", budget, now).await;
                if take.unwrap_or_else(|e| panic!("{e}")) == folio_core::ports::Admission::Admitted
                {
                    admitted += 1;
                }
            }
            assert_eq!(admitted, 3, "five takes across two instances admit the budget, no more");
            assert_ne!(a.get("preview:alice", now).await.ok(), Some(Counter::default()));

            // One lease across instances: B waits until A's lapses, A's renewal then fails.
            let lease_a = PgLease::new(instances[2].clone());
            let lease_b = PgLease::new(instances[3].clone());
            let held = |r: folio_core::Result<bool>| r.unwrap_or_else(|e| panic!("{e}"));
            assert!(held(lease_a.try_hold("reconcile", "a", 2_000, now).await));
            assert!(!held(lease_b.try_hold("reconcile", "b", 2_000, now + 1_000).await));
            assert!(held(lease_b.try_hold("reconcile", "b", 2_000, now + 2_000).await));
            assert!(!held(lease_a.try_hold("reconcile", "a", 2_000, now + 2_001).await));
        })
        .await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL (FOLIO_TEST_POSTGRES_URL); run by .ci/run"]
async fn a_database_from_a_newer_folio_is_refused_with_a_reason() {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    drop(database.connect().await);
    database
        .around(async move {
            TestDatabase::execute(
                &url,
                "INSERT INTO folio_migrations (version, applied_ms) VALUES (999, 0)",
            )
            .await;
            let refused = Postgres::connect(&PostgresOptions::new(&url)).await;
            let message = refused.map(|_| ()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.contains("schema version 999") && message.contains("upgrade folio"),
                "{message}"
            );
        })
        .await;
}

/// Two pools over one database are two instances: register on A, sign in on B; a token A
/// issued verifies on B; B refreshes A's session; a key rotated through B signs on both once A
/// reads the ring again. And the built-in pool over PostgreSQL passes the sign-in contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL (FOLIO_TEST_POSTGRES_URL); run by .ci/run"]
async fn two_instances_share_accounts_sessions_and_keys() {
    let database = TestDatabase::create().await;
    let a_db = database.connect().await;
    let b_db = database.connect().await;
    database
        .around(async move {
            let clock: Arc<dyn folio_core::ports::Clock> = Arc::new(folio_core::ports::SystemClock);
            let open = |db: Postgres| {
                let clock = Arc::clone(&clock);
                async move {
                    let builtin = folio_auth::BuiltinPool {
                        accounts: Arc::new(PgAccounts::new(db.clone())),
                        key_ring: Arc::new(PgKeyRing::new(db.clone())),
                        // Rotations reach the other instance at once in this test.
                        key_schedule: folio_auth::KeySchedule::default(),
                    };
                    let settings = folio_auth::PoolSettings {
                        concurrent_password_checks: 2,
                        ..folio_auth::PoolSettings::default()
                    };
                    let secrets = PgSecrets::new(db.clone());
                    let limits: Arc<dyn RateLimits> = Arc::new(PgRateLimits::new(db));
                    builtin
                        .open(&secrets, limits, settings, clock)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"))
                }
            };
            let (a, b) = tokio::join!(open(a_db.clone()), open(b_db));
            let verifier = |pool: &folio_auth::UserPool| {
                folio_auth::Verifier::new(pool.trusted_issuer(), Vec::new(), Arc::clone(&clock))
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let (verify_on_a, verify_on_b) = (verifier(&a), verifier(&b));
            let must = |what: &str, e: folio_auth::AuthError| -> ! { panic!("{what}: {e}") };

            let user = a
                .register("ada@example.com", "correct horse battery")
                .await
                .unwrap_or_else(|e| must("register on A", e));
            let on_b = b
                .login("ada@example.com", "correct horse battery", "127.0.0.1")
                .await
                .unwrap_or_else(|e| must("sign in on B", e));
            assert_eq!(on_b.identity_id, a.identity_of(&user), "one person, one identity");
            let on_a = a
                .login("ada@example.com", "correct horse battery", "127.0.0.1")
                .await
                .unwrap_or_else(|e| must("sign in on A", e));
            let seen_by_b = verify_on_b
                .verify(&on_a.access_token)
                .await
                .unwrap_or_else(|e| must("A's token on B", e));
            assert_eq!(seen_by_b.identity, on_a.identity_id);
            let refreshed = b
                .refresh(&on_a.refresh_token)
                .await
                .unwrap_or_else(|e| must("B refreshes A's session", e));
            verify_on_a
                .verify(&refreshed.access_token)
                .await
                .unwrap_or_else(|e| must("B's token on A", e));

            // A key rotated through B: B signs with it, and A verifies it without a restart.
            let new_key = b.keys().rotate().await.unwrap_or_else(|e| must("rotate on B", e));
            let after = b
                .login("ada@example.com", "correct horse battery", "127.0.0.1")
                .await
                .unwrap_or_else(|e| must("sign in on B", e));
            let kid = jsonwebtoken::decode_header(&after.access_token).ok().and_then(|h| h.kid);
            assert_eq!(kid, Some(new_key), "B signs with the new key");
            // A reads the ring again for a key id it has not loaded, at most once a second
            // (`SigningKeys`): a second after its last read, the new key verifies on A.
            tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
            verify_on_a
                .verify(&after.access_token)
                .await
                .unwrap_or_else(|e| must("the rotated key's token on A", e));

            check_sign_in(Arc::new(open(a_db).await), None).await;
        })
        .await;
}
