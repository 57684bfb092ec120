//! The cluster's PostgreSQL adapters against a real server: every contract suite of the ports
//! they implement, unchanged, plus what only a shared database shows (two instances migrating
//! at once, two pools sharing one lease and one limit).
//!
//! Needs `FOLIO_TEST_POSTGRES_URL` (a role that may create databases, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test makes its own database and drops
//! it. `.ci/run` starts PostgreSQL and runs these with `--all-features -- --ignored`.
#![cfg(feature = "postgres")]

use std::sync::Arc;

use folio_cluster::testing::TestDatabase;
use folio_cluster::{
    PgIdempotency, PgIndex, PgLease, PgRateLimits, PgSecrets, Postgres, PostgresOptions,
};
use folio_core::ports::{Counter, Lease, RateLimits};
use folio_core::testing::{
    check_document_index, check_idempotency_store, check_lease, check_rate_limits,
    check_secret_store,
};

#[tokio::test]
#[ignore = "needs PostgreSQL (FOLIO_TEST_POSTGRES_URL); run by .ci/run"]
async fn every_contract_suite_passes_on_postgres() {
    // One database per suite: each suite takes a fresh, empty adapter.
    for suite in ["index", "secrets", "idempotency", "rate limits", "lease"] {
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
                    _ => check_lease(Arc::new(PgLease::new(db))).await,
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
            assert_eq!(versions, [1], "each migration applied exactly once");

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
