//! The embedded adapters pass the ports' contract suites, and keep their promises across
//! restarts.

mod throttle;

use std::sync::Arc;

use folio_core::functions::{CreateRequest, QueryParams, create_pdf, query_documents};
use folio_core::ports::{Clock, EventQueue, SecretStore, SystemClock};
use folio_core::testing::{
    FakeRenderer, ManualClock, check_document_index, check_event_log, check_idempotency_store,
    check_pipeline_flow, check_publishing_store, check_secret_store, check_signed_downloads,
    check_usage_counter,
};
use folio_core::{EventFilter, IdentityId, PublishingStore, RetryPolicy, Settings, dispatch_due};
use folio_local::{
    Database, Durability, Embedded, SqliteEventLog, SqliteIdempotency, SqliteIndex, SqliteSecrets,
    SyncedStore,
};

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

async fn database(dir: &tempfile::TempDir) -> Database {
    Database::open(&dir.path().join("folio.db"), Durability::Full)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn sqlite_index_passes_the_index_contract() {
    let dir = temp();
    check_document_index(Arc::new(SqliteIndex::new(database(&dir).await))).await;
}

#[tokio::test]
async fn sqlite_accounts_pass_the_accounts_contract() {
    let dir = temp();
    let accounts = folio_local::SqliteAccounts::new(database(&dir).await);
    folio_auth::testing::check_account_store(Arc::new(accounts)).await;
}

/// The built-in pool the embedded shape builds (SQLite accounts and key ring, its secrets and
/// rate limits) passes the sign-in contract.
#[tokio::test]
async fn the_embedded_builtin_pool_passes_the_sign_in_contract() {
    let dir = temp();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let embedded = Embedded::open(dir.path(), Durability::Relaxed, Arc::clone(&clock))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let services = embedded.services(Arc::new(FakeRenderer), Settings::default());
    let builtin = folio_auth::BuiltinPool {
        accounts: embedded.accounts.clone(),
        key_ring: embedded.key_ring.clone(),
        key_schedule: folio_auth::KeySchedule::default(),
    };
    let settings = folio_auth::PoolSettings {
        concurrent_password_checks: 2,
        ..folio_auth::PoolSettings::default()
    };
    let pool = builtin
        .open(services.secrets.as_ref(), Arc::clone(&services.limits), settings, clock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    folio_auth::testing::check_sign_in(Arc::new(pool), None).await;
}

#[tokio::test]
async fn sqlite_key_ring_passes_the_key_ring_contract() {
    let dir = temp();
    let ring = folio_local::SqliteKeyRing::new(database(&dir).await);
    folio_auth::testing::check_key_ring(Arc::new(ring)).await;
}

#[tokio::test]
async fn sqlite_idempotency_secrets_and_usage_pass_their_contracts() {
    let dir = temp();
    let database = database(&dir).await;
    check_idempotency_store(Arc::new(SqliteIdempotency::new(database.clone()))).await;
    check_secret_store(Arc::new(SqliteSecrets::new(database.clone()))).await;
    check_usage_counter(Arc::new(folio_local::SqliteUsage::new(database))).await;
}

#[tokio::test]
async fn the_embedded_download_urls_pass_their_contract() {
    let dir = temp();
    let embedded = Embedded::open(dir.path(), Durability::Relaxed, Arc::new(SystemClock)).await;
    let embedded = embedded.unwrap_or_else(|e| panic!("{e}"));
    check_signed_downloads(embedded.signer.as_ref(), embedded.signer.as_ref()).await;
}

#[tokio::test]
async fn sqlite_outbox_passes_the_event_log_contract() {
    let dir = temp();
    let clock = Arc::new(ManualClock::at(1_700_000_000_000));
    let log = Arc::new(SqliteEventLog::new(database(&dir).await, clock.clone()));
    check_event_log(log, |d| clock.advance(d)).await;
}

#[tokio::test]
async fn synced_local_files_pass_the_publishing_contract() {
    let dir = temp();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let log = Arc::new(SqliteEventLog::new(database(&dir).await, clock));
    let objects_dir = dir.path().join("objects");
    std::fs::create_dir_all(&objects_dir).unwrap_or_default();
    let raw = Arc::new(
        SyncedStore::new(&objects_dir, Durability::Full).unwrap_or_else(|e| panic!("{e}")),
    );
    let store = PublishingStore::new(raw, log.clone(), EventFilter::default());
    check_publishing_store(Arc::new(store), log).await;
}

#[tokio::test]
async fn the_embedded_pipeline_passes_the_flow() {
    let dir = temp();
    let embedded = Embedded::open(dir.path(), Durability::Full, Arc::new(SystemClock)).await;
    let embedded = embedded.unwrap_or_else(|e| panic!("{e}"));
    let pipeline = embedded.pipeline(Arc::new(FakeRenderer), Settings::default());
    check_pipeline_flow(&pipeline, embedded.events.as_ref()).await;
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = temp();
    let me = IdentityId::derive("https://t", "restart");
    let open = || async {
        let embedded = Embedded::open(dir.path(), Durability::Full, Arc::new(SystemClock)).await;
        embedded.unwrap_or_else(|e| panic!("{e}"))
    };
    let first = open().await;
    let secret = first.secrets.get_or_create("s", 32).await.unwrap_or_default();
    let pipeline = first.pipeline(Arc::new(FakeRenderer), Settings::default());
    let created = create_pdf(
        &pipeline,
        &me,
        CreateRequest { markdown: "# Before".into(), ..Default::default() },
    )
    .await;
    assert!(created.is_ok());
    let first_seq = first.events.receive(10).await.unwrap_or_default();
    assert_eq!(first_seq.len(), 1);
    // Acknowledge nothing: the restart must deliver it again.
    first.database.close().await;

    let second = open().await;
    assert_eq!(second.secrets.get_or_create("s", 32).await.unwrap_or_default(), secret);
    let pipeline = second.pipeline(Arc::new(FakeRenderer), Settings::default());
    // The claim lease of the dead consumer has to run out first; move the outbox along.
    sqlx::query("UPDATE outbox SET claimed_until_ms = 0")
        .execute(second.database.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    dispatch_due(&pipeline, second.events.as_ref(), &RetryPolicy::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let listed =
        query_documents(&pipeline, &me, &QueryParams::default()).await.map(|p| p.items.len());
    assert_eq!(listed.ok(), Some(1));
    // Sequencers keep increasing across restarts, even after acked rows were deleted.
    let created = create_pdf(
        &pipeline,
        &me,
        CreateRequest { markdown: "# After".into(), ..Default::default() },
    )
    .await;
    assert!(created.is_ok());
    let next = second.events.receive(10).await.unwrap_or_default();
    assert!(next[0].event.sequencer > first_seq[0].event.sequencer);
}

#[tokio::test]
async fn an_empty_data_dir_is_created_and_a_newer_schema_is_refused() {
    let dir = temp();
    let nested = dir.path().join("a/b/data");
    assert!(Embedded::open(&nested, Durability::Relaxed, Arc::new(SystemClock)).await.is_ok());
    let db = Database::open(&nested.join("folio.db"), Durability::Relaxed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql("PRAGMA user_version = 99")
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.close().await;
    let err = Database::open(&nested.join("folio.db"), Durability::Relaxed).await.err();
    assert!(err.is_some_and(|e| e.to_string().contains("newer folio")));
}

#[tokio::test]
async fn a_failing_object_store_gives_a_retryable_error_and_no_record() {
    let dir = temp();
    let embedded = Embedded::open(dir.path(), Durability::Full, Arc::new(SystemClock)).await;
    let embedded = embedded.unwrap_or_else(|e| panic!("{e}"));
    let pipeline = embedded.pipeline(Arc::new(FakeRenderer), Settings::default());
    let me = IdentityId::derive("https://t", "broken-disk");
    // A file where the identity's directory must go: every write under it fails.
    let blocker = dir.path().join("objects/ugc").join(me.to_string());
    std::fs::create_dir_all(blocker.parent().unwrap_or(dir.path())).unwrap_or_default();
    std::fs::write(&blocker, b"not a directory").unwrap_or_default();

    let result = create_pdf(
        &pipeline,
        &me,
        CreateRequest { markdown: "# Lost".into(), ..Default::default() },
    )
    .await;
    let err = result.err().unwrap_or_else(|| panic!("the write should fail"));
    assert_eq!(err.code().as_str(), "storage_unavailable");
    assert!(err.is_retryable(), "{err}");
    dispatch_due(&pipeline, embedded.events.as_ref(), &RetryPolicy::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let listed =
        query_documents(&pipeline, &me, &QueryParams::default()).await.map(|p| p.items.len());
    assert_eq!(listed.ok(), Some(0));
    assert_eq!(
        embedded.events.pending().await.ok(),
        Some(0),
        "no event for an object never written"
    );
}
