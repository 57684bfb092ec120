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
use std::time::Duration;

use folio_cluster::testing::{TestDatabase, TestStreams};
use folio_cluster::{Downloads, NatsEventLog, PgIndex, PgSecrets, S3Options};
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
            downloads: Downloads::Folio,
            public_endpoint: None,
        })
    );
    let presigned = S3Options::from_url(
        "s3://folio?endpoint=http://minio:9000&downloads=presigned&public_endpoint=https://files.example/",
    )
    .ok();
    assert_eq!(
        presigned.map(|o| (o.downloads, o.public_endpoint)),
        Some((Downloads::Presigned, Some("https://files.example".to_owned())))
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
        ("s3://folio?downloads=public", "neither folio nor presigned"),
        ("s3://folio?downloads=presigned&public_endpoint=files", "http:// or https://"),
        ("s3://folio?public_endpoint=https://files.example", "needs downloads=presigned"),
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
        usage: Arc::new(folio_core::MemoryUsage::default()),
        settings: Default::default(),
    };
    database
        .around(streams.around(async move {
            check_pipeline_flow(&pipeline, log.as_ref()).await;
            empty(&bucket, &prefix).await;
        }))
        .await;
}

/// Seconds since the epoch.
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs an S3-compatible store that checks signatures (FOLIO_TEST_S3_URL); run by .ci/run"]
async fn presigned_downloads_name_the_file_and_refuse_alterations_and_expiry() {
    use folio_core::ports::UrlSigner;
    use folio_core::{DocumentId, IdentityId, ObjectKey, ObjectKind};

    let url = std::env::var("FOLIO_TEST_S3_URL").unwrap_or_else(|_| {
        panic!("FOLIO_TEST_S3_URL is not set: this test needs an S3-compatible store (see .ci/run)")
    });
    let options = S3Options::from_url(&format!("{url}&downloads=presigned"))
        .unwrap_or_else(|e| panic!("{e}"));
    let store = options.store().unwrap_or_else(|e| panic!("{e}"));
    let signer = options.presigned_downloads().unwrap_or_else(|e| panic!("{e}"));
    // An identity of this run alone, so its key is nobody else's.
    let owner = IdentityId::derive("https://presigned.test", &uuid_like());
    let key = ObjectKey::new(owner, DocumentId::new(), ObjectKind::Pdf);
    let pdf = b"%PDF-1.7 presigned".to_vec();
    store.put(&key.path(), pdf.clone().into()).await.unwrap_or_else(|e| panic!("{e}"));
    let http = reqwest::Client::new();
    let fetch = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap_or_else(|e| panic!("{e}")) }
    };

    let name = "Report & notes ü.pdf";
    let link = signer.sign(&key, now_unix() + 60, name).await.unwrap_or_else(|e| panic!("{e}"));
    let response = fetch(link.clone()).await;
    assert_eq!(response.status().as_u16(), 200, "{link}");
    let header = |name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(
        header("content-disposition"),
        folio_core::downloads::content_disposition(name),
        "the store names the file as folio's own downloads do"
    );
    assert_eq!(response.bytes().await.unwrap_or_default().as_ref(), pdf.as_slice());

    // Any part altered is refused by the store: the file name, the key, the expiry.
    let other = ObjectKey::new(owner, DocumentId::new(), ObjectKind::Pdf);
    store.put(&other.path(), pdf.clone().into()).await.unwrap_or_else(|e| panic!("{e}"));
    let altered = [
        link.replace("Report", "Invoice"),
        link.replace(&key.document.to_string(), &other.document.to_string()),
        link.replace("X-Amz-Expires=", "X-Amz-Expires=9"),
    ];
    for altered in altered {
        assert_ne!(altered, link);
        let status = fetch(altered.clone()).await.status().as_u16();
        assert_eq!(status, 403, "an altered URL is refused: {altered}");
    }

    // Expired: a URL of one to two seconds (SigV4 counts whole seconds) fetched four later.
    let short = signer.sign(&key, now_unix() + 2, name).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fetch(short.clone()).await.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(fetch(short).await.status().as_u16(), 403, "an expired URL is refused");

    for key in [key, other] {
        let _ = store.delete(&key.path()).await;
    }
}

/// The value, or the test fails with the error.
fn ok<T>(result: folio_core::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// JetStream may lose an acknowledged publish (Jepsen, 2.12.1) and an event may be parked as
/// dead after its last attempt: either way the document's files exist and its record does not,
/// until the reconciler's pass puts it back. Here one event is deleted from the stream by hand
/// before anyone reads it, and another is parked; one pass and the indexer list both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn an_event_deleted_from_the_stream_and_one_parked_are_repaired_by_the_reconciler() {
    use folio_cluster::PgLease;
    use folio_core::functions::{CreateRequest, create_pdf};
    use folio_core::ports::EventQueue;
    use folio_core::{IdentityId, RetryPolicy, dispatch_due, reconcile_once};

    let (bucket, scoped, prefix) = corner();
    let database = TestDatabase::create().await;
    let db = database.connect().await;
    let streams = TestStreams::new();
    let (nats_url, stream_name) = (streams.options.url.clone(), streams.options.stream.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let log = Arc::new(
        NatsEventLog::connect(&streams.options, Arc::clone(&clock))
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let pipeline = Pipeline {
        objects: Arc::new(PublishingStore::new(scoped, log.clone(), EventFilter::default())),
        index: Arc::new(PgIndex::new(db.clone())),
        events: log.clone(),
        renderer: Arc::new(FakeRenderer),
        signer: Arc::new(HmacSigner::new(b"test".to_vec(), "")),
        clock,
        usage: Arc::new(folio_core::MemoryUsage::default()),
        settings: Default::default(),
    };
    let lease = PgLease::new(db);
    database
        .around(streams.around(async move {
            let owner = IdentityId::derive("https://reconcile.test", "ada");
            let request = |title: &str| CreateRequest {
                markdown: format!("# {title}\n\nKept by its files.\n"),
                ..CreateRequest::default()
            };

            // Lost: its event is deleted from the stream before any consumer reads it.
            let lost = ok(create_pdf(&pipeline, &owner, request("Lost")).await).document.id;
            let client = async_nats::connect(&nats_url).await.unwrap_or_else(|e| panic!("{e}"));
            let jetstream = async_nats::jetstream::new(client);
            let mut stream =
                jetstream.get_stream(&stream_name).await.unwrap_or_else(|e| panic!("{e}"));
            let last = stream.info().await.unwrap_or_else(|e| panic!("{e}")).state.last_sequence;
            assert!(stream.delete_message(last).await.unwrap_or_else(|e| panic!("{e}")));
            assert!(ok(log.receive(10).await).is_empty(), "nothing is left to deliver");

            // Parked: its event is dead-lettered, as after its last failed attempt.
            let parked = ok(create_pdf(&pipeline, &owner, request("Parked")).await).document.id;
            let deliveries = ok(log.receive(10).await);
            assert_eq!(deliveries.len(), 1);
            ok(log.dead_letter(&deliveries[0], "the index did not answer").await);
            assert_eq!(ok(log.dead_letters().await).len(), 1);
            for id in [&lost, &parked] {
                assert!(ok(pipeline.index.get(&owner, id).await).is_none(), "not indexed yet");
            }

            // One pass under the lease publishes both again; the indexer records them.
            let report =
                ok(reconcile_once(&pipeline, &lease, "test", Duration::from_secs(10)).await)
                    .unwrap_or_else(|| panic!("the lease is free"));
            assert_eq!(report.missing_records, 2, "{report:?}");
            let delivered =
                ok(dispatch_due(&pipeline, log.as_ref(), &RetryPolicy::default()).await);
            assert_eq!(delivered.delivered, 2, "{delivered:?}");
            for (id, title) in [(&lost, "Lost"), (&parked, "Parked")] {
                let record = ok(pipeline.index.get(&owner, id).await);
                assert_eq!(record.map(|r| r.title), Some(title.to_owned()));
            }
            let again =
                ok(reconcile_once(&pipeline, &lease, "test", Duration::from_secs(10)).await);
            assert_eq!(again.map(|r| r.missing_records), Some(0), "repaired once");
            empty(&bucket, &prefix).await;
        }))
        .await;
}
