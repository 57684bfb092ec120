//! The cluster's NATS JetStream event log against a real server: the event-log contract
//! suite unchanged (its clock is the wall clock here: a retry's delay is the server's), plus
//! what only a shared stream shows (two instances pulling from one consumer).
//!
//! Needs `FOLIO_TEST_NATS_URL` (e.g. `nats://127.0.0.1:4222`, JetStream on); each test makes
//! its own streams and deletes them. `.ci/run` runs these with `--all-features -- --ignored`.
#![cfg(feature = "nats")]

use std::sync::Arc;
use std::time::Duration;

use folio_cluster::NatsEventLog;
use folio_cluster::testing::TestStreams;
use folio_core::event::Change;
use folio_core::ports::{Clock, EventPublisher, EventQueue, ObjectChange, SystemClock};
use folio_core::testing::check_event_log;

async fn connect(streams: &TestStreams) -> NatsEventLog {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    NatsEventLog::connect(&streams.options, clock).await.unwrap_or_else(|e| panic!("connect: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS with JetStream (FOLIO_TEST_NATS_URL); run by .ci/run"]
async fn the_event_log_contract_passes_on_jetstream() {
    let streams = TestStreams::new();
    let log = connect(&streams).await;
    streams
        .around(async move {
            // The suite's "advance the clock" is real time passing here.
            check_event_log(Arc::new(log), std::thread::sleep).await;
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS with JetStream (FOLIO_TEST_NATS_URL); run by .ci/run"]
async fn instances_share_one_consumer_and_an_unacked_event_goes_to_another() {
    let mut streams = TestStreams::new();
    streams.options.ack_wait = Duration::from_secs(1);
    let (a, b) = (connect(&streams).await, connect(&streams).await);
    streams
        .around(async move {
            let change = |key: &str| ObjectChange {
                change: Change::Created,
                key: key.to_owned(),
                size: Some(1),
                etag: None,
            };
            for i in 0..4 {
                a.publish(change(&format!("ugc/k/{i}.pdf")))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let ok = |r: folio_core::Result<Vec<folio_core::ports::Delivery>>| {
                r.unwrap_or_else(|e| panic!("{e}"))
            };
            // Each event goes to one instance at a time.
            let on_a = ok(a.receive(2).await);
            let on_b = ok(b.receive(10).await);
            assert_eq!((on_a.len(), on_b.len()), (2, 2));
            let keys_a: Vec<&str> = on_a.iter().map(|d| d.event.key.as_str()).collect();
            assert!(on_b.iter().all(|d| !keys_a.contains(&d.event.key.as_str())));
            for d in &on_b {
                b.ack(d).await.unwrap_or_else(|e| panic!("{e}"));
            }
            // A "dies" holding two: after the acknowledgement wait they go to B, second attempt.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            let again = ok(b.receive(10).await);
            let mut keys: Vec<&str> = again.iter().map(|d| d.event.key.as_str()).collect();
            keys.sort_unstable();
            let mut expected = keys_a.clone();
            expected.sort_unstable();
            assert_eq!(keys, expected);
            assert!(again.iter().all(|d| d.attempt == 2));
            for d in &again {
                b.ack(d).await.unwrap_or_else(|e| panic!("{e}"));
            }
            assert_eq!(b.pending().await.ok(), Some(0));
        })
        .await;
}

/// A store that publishes its own S3-format notifications to the stream (MinIO's NATS target):
/// the consumer reads the committed MinIO record as the event it describes, key decoded and
/// the store's sequencer kept; a message that is no event is ended, not delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS with JetStream (FOLIO_TEST_NATS_URL); run by .ci/run"]
async fn store_made_notifications_are_read_as_events() {
    let streams = TestStreams::new();
    let log = connect(&streams).await;
    let subject = format!("{}.object", streams.options.stream.to_lowercase());
    let url = streams.options.url.clone();
    streams
        .around(async move {
            let client = async_nats::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
            let context = async_nats::jetstream::new(client);
            for body in [
                &include_bytes!("../../folio-core/tests/fixtures/minio-put.json")[..],
                b"not an event",
            ] {
                context
                    .publish(subject.clone(), body.to_vec().into())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let deliveries = log.receive(10).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(deliveries.len(), 1, "{deliveries:?}");
            let event = &deliveries[0].event;
            assert_eq!(event.change, Change::Created);
            assert_eq!(
                event.key,
                "ugc/0f8fad5b-d9cb-569f-a165-70867728950e/01a2356e-e6d0-72f4-acc2-49fa4e31bd76.pdf"
            );
            assert_eq!((event.size, event.sequencer.as_str()), (Some(48213), "187D2A9F4C7E3B21"));
            log.ack(&deliveries[0]).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(log.pending().await.ok(), Some(0), "the junk message was ended, not left");
        })
        .await;
}
