//! The AWS shape's event queue (the bucket's notification queue and its dead-letter queue)
//! against a real SQS API: moto's server in CI (`FOLIO_TEST_MOTO_URL`), queues of their own per
//! test.
#![cfg(feature = "sqs")]

use std::future::Future;
use std::sync::Arc;

use folio_aws::SqsQueue;
use folio_aws::testing::TestQueues;
use folio_core::event::{Change, ObjectEvent, S3Notification, Sequencer};
use folio_core::ports::EventQueue;
use folio_core::testing::{FedQueue, check_event_log};

/// Runs `test` with fresh queues, then deletes them whether or not it passed.
async fn with_queues<F, Fut>(test: F)
where
    F: FnOnce(Arc<TestQueues>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let queues = Arc::new(TestQueues::create().await);
    let outcome = tokio::spawn(test(Arc::clone(&queues))).await;
    queues.delete().await;
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

fn notification(change: Change, key: &str, sequencer: &str) -> String {
    let event = ObjectEvent {
        change,
        key: key.to_owned(),
        size: None,
        etag: None,
        sequencer: Sequencer::parse(sequencer).unwrap_or_else(|e| panic!("{e}")),
        time: "2026-12-02T00:00:00.000Z".to_owned(),
    };
    serde_json::to_string(&S3Notification::single(&event, "folio-test")).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn the_event_log_contract_passes_on_sqs_fed_as_a_bucket_feeds_it() {
    with_queues(|queues| async move {
        let queue = Arc::new(SqsQueue::connect(&queues.options).await);
        let log = Arc::new(FedQueue { platform: queues, queue });
        // SQS keeps real time: a retry's delay passes by waiting it out.
        check_event_log(log, std::thread::sleep).await;
    })
    .await;
}

/// What else reaches the queues: S3's test event needs nothing; a message of two records is
/// delivered as two; a body that is no notification is parked with the reason at once; and a
/// message the redrive policy moved (no reason of folio's) is listed as such and replayable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn what_the_platform_sends_is_delivered_parked_or_dropped_as_it_needs() {
    with_queues(|queues| async move {
        let queue = SqsQueue::connect(&queues.options).await;
        let ok = |what: &str, result: folio_core::Result<()>| {
            result.unwrap_or_else(|e| panic!("{what}: {e}"));
        };
        queues.send_raw(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#).await;
        let one: serde_json::Value =
            serde_json::from_str(&notification(Change::Created, "ugc/a/one.pdf", "0A"))
                .unwrap_or_default();
        let two: serde_json::Value =
            serde_json::from_str(&notification(Change::Removed, "ugc/a/two.pdf", "0B"))
                .unwrap_or_default();
        let both = serde_json::json!({ "Records": [one["Records"][0], two["Records"][0]] });
        queues.send_raw(&both.to_string()).await;
        queues.send_raw("no notification").await;

        let mut delivered = queue.receive(10).await.unwrap_or_else(|e| panic!("{e}"));
        // The split records are sent again: they may come in a second receive.
        if delivered.len() < 2 {
            delivered.extend(queue.receive(10).await.unwrap_or_else(|e| panic!("{e}")));
        }
        let mut keys: Vec<_> =
            delivered.iter().map(|d| (d.event.key.clone(), d.event.change)).collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            keys,
            [
                ("ugc/a/one.pdf".to_owned(), Change::Created),
                ("ugc/a/two.pdf".to_owned(), Change::Removed)
            ]
        );
        ok("ack", queue.ack_all(&delivered).await);
        assert_eq!(queue.pending().await.ok(), Some(0), "the test event is gone, all acked");

        let dead = queue.dead_letters().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert!(dead[0].error.contains("not an S3 event notification"), "{dead:?}");

        queues
            .send_raw_to_dead_letter(&notification(Change::Created, "ugc/b/moved.pdf", "0C"))
            .await;
        let dead = queue.dead_letters().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dead.len(), 2, "listing leaves them there: {dead:?}");
        let moved = dead.iter().find(|d| d.key == "ugc/b/moved.pdf");
        let moved = moved.unwrap_or_else(|| panic!("{dead:?}"));
        assert!(moved.error.contains("redrive policy"), "{moved:?}");
        assert_eq!(queue.replay(std::slice::from_ref(&moved.id)).await.ok(), Some(1));
        let back = queue.receive(10).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            back.iter().map(|d| d.event.key.as_str()).collect::<Vec<_>>(),
            ["ugc/b/moved.pdf"]
        );
        ok("ack", queue.ack(&back[0]).await);
        assert_eq!(queue.dead_letters().await.map(|d| d.len()).ok(), Some(1), "the other stays");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn a_queue_that_does_not_exist_is_named_in_the_error() {
    with_queues(|queues| async move {
        let mut options = queues.options.clone();
        options.dead_letter = "folio-no-such-queue".to_owned();
        let queue = SqsQueue::connect(&options).await;
        let err = queue.ready().await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("no queue named \"folio-no-such-queue\""), "{err}");
    })
    .await;
}
