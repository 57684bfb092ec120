//! A notification queue and its dead-letter queue of their own for each test, on the SQS
//! endpoint in `FOLIO_TEST_MOTO_URL` (moto in CI), deleted when the test ends.

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use folio_core::event::{ObjectEvent, S3Notification, Sequencer};
use folio_core::functions::rfc3339;
use folio_core::ports::{EventPublisher, ObjectChange};
use folio_core::{Error, Result};

use super::{SqsOptions, sdk_error};

/// Two throwaway queues; as an [`EventPublisher`] it sends what a bucket sends (one S3
/// notification per event, sequencers increasing), so that the event-log suite can check
/// [`SqsQueue`](super::SqsQueue) with it in the bucket's place.
#[derive(Debug)]
pub struct TestQueues {
    client: aws_sdk_sqs::Client,
    /// Where they are (their `sqs://` URL: [`TestQueues::url`]).
    pub options: SqsOptions,
    queue_url: String,
    dead_letter_url: String,
    sequencer: AtomicU64,
}

impl TestQueues {
    /// Makes both queues; panics (a failed test, never a skipped one) without the variable or
    /// the server.
    pub async fn create() -> Self {
        let endpoint = std::env::var("FOLIO_TEST_MOTO_URL").unwrap_or_else(|_| {
            panic!("FOLIO_TEST_MOTO_URL is not set: this test needs moto's server (see .ci/run)")
        });
        let name = format!("folio-test-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let options = SqsOptions {
            queue: format!("{name}-events"),
            dead_letter: format!("{name}-dead"),
            endpoint: Some(endpoint),
            region: Some("us-east-1".to_owned()),
        };
        let config =
            crate::sdk_config(options.endpoint.as_deref(), options.region.as_deref()).await;
        let client = aws_sdk_sqs::Client::new(&config);
        let mut urls = Vec::new();
        for queue in [&options.queue, &options.dead_letter] {
            let made = client.create_queue().queue_name(queue).send().await;
            match made.map(|made| made.queue_url) {
                Ok(Some(url)) => urls.push(url),
                other => panic!("cannot create the test queue {queue} on {options:?}: {other:?}"),
            }
        }
        let dead_letter_url = urls.pop().unwrap_or_default();
        let queue_url = urls.pop().unwrap_or_default();
        Self { client, options, queue_url, dead_letter_url, sequencer: AtomicU64::new(1) }
    }

    /// The queues as `folio events` is configured with them (`FOLIO_EVENTS_URL`).
    pub fn url(&self) -> String {
        format!(
            "sqs://{}?dead_letter={}&endpoint={}&region={}",
            self.options.queue,
            self.options.dead_letter,
            self.options.endpoint.as_deref().unwrap_or_default(),
            self.options.region.as_deref().unwrap_or("us-east-1")
        )
    }

    /// Sends `body` to the notification queue as it is (what a bucket, or anything else with
    /// the right to, might send).
    pub async fn send_raw(&self, body: &str) {
        self.send_to(&self.queue_url, body).await;
    }

    /// Sends `body` to the dead-letter queue as it is (what the queue's redrive policy moves
    /// there after the indexer function failed it too often).
    pub async fn send_raw_to_dead_letter(&self, body: &str) {
        self.send_to(&self.dead_letter_url, body).await;
    }

    async fn send_to(&self, url: &str, body: &str) {
        let sent = self.client.send_message().queue_url(url).message_body(body).send();
        if let Err(err) = sent.await {
            panic!("cannot send to {url}: {err:?}");
        }
    }

    /// Deletes both queues.
    pub async fn delete(&self) {
        for url in [&self.queue_url, &self.dead_letter_url] {
            let _ = self.client.delete_queue().queue_url(url).send().await;
        }
    }
}

#[async_trait]
impl EventPublisher for TestQueues {
    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent> {
        let event = ObjectEvent {
            change: change.change,
            key: change.key,
            size: change.size,
            etag: change.etag,
            sequencer: Sequencer::from_number(self.sequencer.fetch_add(1, Ordering::SeqCst)),
            time: rfc3339(0),
        };
        let body = serde_json::to_string(&S3Notification::single(&event, "folio-test"))
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(event)
    }

    async fn ready(&self) -> Result<()> {
        Ok(())
    }
}
