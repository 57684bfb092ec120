//! The cluster's objects on an S3-compatible store, and the whole pipeline on the cluster's
//! backends: PostgreSQL index, NATS JetStream events, S3 objects.
//!
//! The server tests need `FOLIO_TEST_S3_URL` (`s3://bucket?endpoint=…`, the bucket existing)
//! with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, and for the pipeline also
//! `FOLIO_TEST_POSTGRES_URL` and `FOLIO_TEST_NATS_URL`; each test works under a key prefix of
//! its own and deletes what it wrote. `.ci/run` starts SeaweedFS and runs them with
//! `--all-features -- --include-ignored`.
#![cfg(all(feature = "s3", feature = "postgres", feature = "nats"))]

use std::sync::Arc;

use folio_cluster::testing::{TestDatabase, TestStreams};
use folio_cluster::{NatsEventLog, PgIndex, PgSecrets, S3Options};
use folio_core::downloads::HmacSigner;
use folio_core::ports::{Clock, SecretStore, SystemClock};
use folio_core::testing::{FakeRenderer, check_pipeline_flow, check_publishing_store};
use folio_core::{EventFilter, Pipeline, PublishingStore};
use futures::TryStreamExt;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt};

#[test]
fn objects_urls_are_read_or_refused_with_the_reason() {
    let parsed = S3Options::from_url(
        "s3://folio-docs?endpoint=http%3A%2F%2F127.0.0.1%3A8333&region=eu-west-1",
    );
    assert_eq!(
        parsed.ok(),
        Some(S3Options {
            bucket: "folio-docs".to_owned(),
            endpoint: Some("http://127.0.0.1:8333".to_owned()),
            region: "eu-west-1".to_owned(),
        })
    );
    let plain = S3Options::from_url("s3://folio.docs/").ok();
    assert_eq!(plain.map(|o| (o.endpoint, o.region)), Some((None, "us-east-1".to_owned())));
    for (url, reason) in [
        ("file:///tmp", "s3://bucket"),
        ("s3://", "not a bucket name"),
        ("s3://Upper", "not a bucket name"),
        ("s3://ab", "not a bucket name"),
        ("s3://-folio", "not a bucket name"),
        ("s3://folio?endpoint=127.0.0.1:8333", "http:// or https://"),
        ("s3://folio?region=", "region is empty"),
        ("s3://folio?secret=x", "unknown setting \"secret\""),
    ] {
        let message = S3Options::from_url(url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(reason), "{url}: {message}");
    }
}

/// The test's own corner of the bucket, emptied when the test ends.
fn corner() -> (Arc<dyn ObjectStore>, Arc<dyn ObjectStore>, String) {
    let url = std::env::var("FOLIO_TEST_S3_URL").unwrap_or_else(|_| {
        panic!("FOLIO_TEST_S3_URL is not set: this test needs an S3-compatible store (see .ci/run)")
    });
    let store = S3Options::from_url(&url).and_then(|o| o.store()).unwrap_or_else(|e| panic!("{e}"));
    let prefix = format!("test-{}", uuid_like());
    let scoped: Arc<dyn ObjectStore> =
        Arc::new(PrefixStore::new(Arc::clone(&store), prefix.as_str()));
    (store, scoped, prefix)
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{}", std::process::id())
}

async fn empty(store: &Arc<dyn ObjectStore>, prefix: &str) {
    let path = object_store::path::Path::from(prefix);
    let listed: Vec<_> = store.list(Some(&path)).try_collect().await.unwrap_or_default();
    for meta in listed {
        let _ = store.delete(&meta.location).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs an S3-compatible store and NATS (FOLIO_TEST_S3_URL, FOLIO_TEST_NATS_URL); run by .ci/run"]
async fn the_publishing_contract_passes_on_s3_with_jetstream_events() {
    let (bucket, scoped, prefix) = corner();
    let streams = TestStreams::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let log = Arc::new(
        NatsEventLog::connect(&streams.options, clock).await.unwrap_or_else(|e| panic!("{e}")),
    );
    streams
        .around(async move {
            let store = PublishingStore::new(scoped, log.clone(), EventFilter::default());
            check_publishing_store(Arc::new(store), log).await;
            empty(&bucket, &prefix).await;
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn the_whole_flow_runs_on_the_cluster_backends() {
    let (bucket, scoped, prefix) = corner();
    let database = TestDatabase::create().await;
    let db = database.connect().await;
    let streams = TestStreams::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let log = Arc::new(
        NatsEventLog::connect(&streams.options, Arc::clone(&clock))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let secret = PgSecrets::new(db.clone())
        .get_or_create(folio_core::secrets::DOWNLOAD_URL_HMAC, 32)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pipeline = Pipeline {
        objects: Arc::new(PublishingStore::new(scoped, log.clone(), EventFilter::default())),
        index: Arc::new(PgIndex::new(db)),
        events: log.clone(),
        renderer: Arc::new(FakeRenderer),
        signer: Arc::new(HmacSigner::new(secret, "http://127.0.0.1:8080")),
        clock,
        settings: Default::default(),
    };
    database
        .around(streams.around(async move {
            check_pipeline_flow(&pipeline, log.as_ref()).await;
            empty(&bucket, &prefix).await;
        }))
        .await;
}
