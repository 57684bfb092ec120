//! The bucket's notification queue and its dead-letter queue as folio's [`EventQueue`]: what
//! `folio events dead|retry` (and `pending`) read on AWS. The functions themselves never use
//! it: Lambda's event source mapping hands the indexer its batches, and the queue's redrive
//! policy moves a message that failed too often to the dead-letter queue.
//!
//! Each SQS message is one delivery; S3 puts one record in each notification, and a message
//! that carries several is split into one message per record before it is delivered (sent
//! again, then deleted: nothing is lost if the split stops half way). An event dead-lettered
//! by folio carries the error as a message attribute; one moved by the redrive policy has
//! none (the indexer function's log says why it failed).

pub(crate) mod testing;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName,
};
use folio_core::backend_url::query_pairs;
use folio_core::event::{Change, S3Notification, Sequencer};
use folio_core::ports::{DeadLetter, Delivery, EventQueue};
use folio_core::{Error, Result};
use tokio::sync::OnceCell;

/// The message attribute that says why folio dead-lettered an event.
const ERROR_ATTRIBUTE: &str = "folio-error";
/// The message attribute that says how often folio tried it.
const ATTEMPTS_ATTRIBUTE: &str = "folio-attempts";
/// How long a received event stays hidden from other consumers (the indexer function
/// included) while it is indexed; past it, SQS delivers it again.
const IN_FLIGHT_SECS: i32 = 120;
/// How long listing the dead-letter queue hides its messages before it shows them again.
const PEEK_SECS: i32 = 60;
/// SQS's longest visibility timeout (12 hours).
const MAX_DELAY_SECS: u64 = 12 * 60 * 60;

/// Where the queues are: `sqs://QUEUE?dead_letter=QUEUE[&endpoint=URL][&region=NAME]`, by name
/// (the stack's `EventsUrl` output). Credentials come from the usual AWS chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsOptions {
    /// The queue the bucket notifies.
    pub queue: String,
    /// Its dead-letter queue.
    pub dead_letter: String,
    /// Another endpoint than AWS's (moto).
    pub endpoint: Option<String>,
    /// The region (the environment's, else `us-east-1`).
    pub region: Option<String>,
}

/// A queue name as SQS allows it: 1–80 of `A-Z a-z 0-9 _ -` (a FIFO queue's ends in `.fifo`).
fn valid_queue(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    (1..=80).contains(&name.len())
        && !base.is_empty()
        && base.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

impl SqsOptions {
    /// Reads `sqs://QUEUE?dead_letter=QUEUE[&endpoint=URL][&region=NAME]`; refuses anything
    /// else with the reason.
    pub fn from_url(url: &str) -> Result<Self> {
        let invalid = |why: String| Error::InvalidRequest(format!("events URL {url:?}: {why}"));
        let rest = url.strip_prefix("sqs://").ok_or_else(|| {
            invalid("SQS queues are written sqs://QUEUE?dead_letter=QUEUE&region=…".to_owned())
        })?;
        let (queue, query) = rest.split_once('?').unwrap_or((rest, ""));
        let queue = queue.trim_end_matches('/');
        let name_rule = "1–80 of A-Z, a-z, 0-9, '_', '-'";
        if !valid_queue(queue) {
            return Err(invalid(format!("{queue:?} is not a queue name ({name_rule})")));
        }
        let mut options = Self {
            queue: queue.to_owned(),
            dead_letter: String::new(),
            endpoint: None,
            region: None,
        };
        for (name, value) in query_pairs(query).map_err(invalid)? {
            match name.as_str() {
                "dead_letter" if valid_queue(&value) => options.dead_letter = value,
                "dead_letter" => {
                    return Err(invalid(format!("{value:?} is not a queue name ({name_rule})")));
                }
                other => {
                    let known = crate::endpoint_or_region(
                        other,
                        value,
                        &mut options.endpoint,
                        &mut options.region,
                    )
                    .map_err(invalid)?;
                    if !known {
                        return Err(invalid(format!(
                            "unknown setting {other:?} (known: dead_letter, endpoint, region)"
                        )));
                    }
                }
            }
        }
        if options.dead_letter.is_empty() {
            return Err(invalid(
                "dead_letter=QUEUE is missing: the dead-letter queue is where failed events wait"
                    .to_owned(),
            ));
        }
        if options.dead_letter == options.queue {
            return Err(invalid("the dead-letter queue must be another queue".to_owned()));
        }
        Ok(options)
    }
}

/// The two queues' URLs, looked up by name on first use.
#[derive(Debug)]
struct QueueUrls {
    queue: String,
    dead_letter: String,
}

/// A received message folio has not yet acknowledged, retried or dead-lettered.
#[derive(Debug, Clone)]
struct InFlight {
    receipt: String,
    body: String,
}

/// The notification queue and its dead-letter queue (see the module's documentation).
#[derive(Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    options: SqsOptions,
    urls: OnceCell<QueueUrls>,
    in_flight: Mutex<HashMap<String, InFlight>>,
}

impl SqsQueue {
    /// The client for `options`; makes no request (the queues' URLs are looked up on first use).
    pub async fn connect(options: &SqsOptions) -> Self {
        let config =
            crate::sdk_config(options.endpoint.as_deref(), options.region.as_deref()).await;
        Self {
            client: aws_sdk_sqs::Client::new(&config),
            options: options.clone(),
            urls: OnceCell::new(),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    async fn urls(&self) -> Result<&QueueUrls> {
        self.urls
            .get_or_try_init(|| async {
                Ok(QueueUrls {
                    queue: self.url_of(&self.options.queue).await?,
                    dead_letter: self.url_of(&self.options.dead_letter).await?,
                })
            })
            .await
    }

    async fn url_of(&self, name: &str) -> Result<String> {
        let found = self.client.get_queue_url().queue_name(name).send().await.map_err(|e| {
            let missing = e.as_service_error().is_some_and(|e| e.is_queue_does_not_exist());
            if missing {
                Error::Unavailable {
                    message: format!("SQS has no queue named {name:?} (check the events URL)"),
                    retryable: false,
                }
            } else {
                sdk_error(e)
            }
        })?;
        found.queue_url.ok_or_else(|| Error::Corrupt(format!("SQS named no URL for {name:?}")))
    }

    /// Takes up to `max` (at most 10) visible messages of `queue`, hiding them for `hide` seconds.
    async fn take(&self, queue: &str, max: usize, wait: i32, hide: i32) -> Result<Vec<Message>> {
        let got = self
            .client
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .wait_time_seconds(wait)
            .visibility_timeout(hide)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(got.messages.unwrap_or_default())
    }

    /// Every message of the dead-letter queue, hidden for [`PEEK_SECS`] until
    /// [`Self::show`] shows each again (or it is moved).
    async fn peek_dead(&self) -> Result<Vec<Message>> {
        let urls = self.urls().await?;
        let mut seen: HashMap<String, Message> = HashMap::new();
        loop {
            let batch = self.take(&urls.dead_letter, 10, 1, PEEK_SECS).await?;
            if batch.is_empty() {
                break;
            }
            for message in batch {
                seen.insert(message.message_id.clone().unwrap_or_default(), message);
            }
        }
        let mut all: Vec<Message> = seen.into_values().collect();
        all.sort_by_key(sent_at);
        Ok(all)
    }

    /// Makes a message of `queue` visible again now.
    async fn show(&self, queue: &str, message: &Message) -> Result<()> {
        let Some(receipt) = message.receipt_handle() else { return Ok(()) };
        self.client
            .change_message_visibility()
            .queue_url(queue)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(queue)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
    }

    /// Sends `body` to `queue`, with folio's reason and attempt count when it is dead-lettered.
    async fn send(&self, queue: &str, body: &str, parked: Option<(&str, u32)>) -> Result<()> {
        let mut request = self.client.send_message().queue_url(queue).message_body(body);
        if let Some((error, attempts)) = parked {
            // SQS refuses an empty string attribute.
            let error = if error.is_empty() { "unknown" } else { error };
            let attribute = |kind: &str, value: String| {
                MessageAttributeValue::builder()
                    .data_type(kind)
                    .string_value(value)
                    .build()
                    .map_err(|e| Error::Corrupt(format!("a message attribute: {e}")))
            };
            request = request
                .message_attributes(ERROR_ATTRIBUTE, attribute("String", error.to_owned())?)
                .message_attributes(ATTEMPTS_ATTRIBUTE, attribute("Number", attempts.to_string())?);
        }
        request.send().await.map(|_| ()).map_err(sdk_error)
    }

    fn remember(&self, id: &str, flight: InFlight) {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_owned(), flight);
    }

    fn forget(&self, delivery: &Delivery) -> Result<InFlight> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&delivery.id).ok_or_else(
            || Error::InvalidRequest(format!("delivery {} is not in flight here", delivery.id)),
        )
    }

    /// One queue's approximate message counts: visible, in flight, delayed.
    async fn counts(&self, queue: &str) -> Result<[u64; 3]> {
        let names = [
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ];
        let got = self
            .client
            .get_queue_attributes()
            .queue_url(queue)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .map_err(sdk_error)?;
        let attributes = got.attributes.unwrap_or_default();
        Ok(names.map(|name| attributes.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0)))
    }
}

/// When SQS first received `message` (milliseconds), for listing oldest first.
fn sent_at(message: &Message) -> u64 {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn receive_count(message: &Message) -> u32 {
    message
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn string_attribute(message: &Message, name: &str) -> Option<String> {
    message.message_attributes()?.get(name)?.string_value().map(str::to_owned)
}

/// The dead letters one message of the dead-letter queue holds (one per record; one that says
/// why when the body is not a notification).
fn dead_letters_of(message: &Message) -> Vec<DeadLetter> {
    let id = message.message_id().unwrap_or_default().to_owned();
    let attempts = string_attribute(message, ATTEMPTS_ATTRIBUTE).and_then(|n| n.parse().ok());
    // Without folio's attributes the queue's redrive policy moved it: the indexer function
    // failed it that policy's maxReceiveCount times, and its log says why.
    let error = string_attribute(message, ERROR_ATTRIBUTE).unwrap_or_else(|| {
        "moved here by the queue's redrive policy (the indexer function's log says why)".to_owned()
    });
    let body = message.body().unwrap_or_default();
    let events = S3Notification::from_json(body.as_bytes()).and_then(|n| n.events());
    match events {
        Ok(events) => events
            .into_iter()
            .map(|event| DeadLetter {
                id: id.clone(),
                key: event.key,
                change: event.change,
                sequencer: event.sequencer,
                attempts: attempts.unwrap_or(0),
                error: error.clone(),
            })
            .collect(),
        Err(err) => vec![DeadLetter {
            id,
            key: String::new(),
            change: Change::Created,
            sequencer: Sequencer::from_number(0),
            attempts: attempts.unwrap_or(0),
            error: format!("{error}; {err}"),
        }],
    }
}

#[async_trait]
impl EventQueue for SqsQueue {
    async fn receive(&self, max: usize) -> Result<Vec<Delivery>> {
        let urls = self.urls().await?;
        let mut deliveries = Vec::new();
        // The first call waits up to a second: a short poll asks only some of SQS's servers and
        // may answer nothing while messages wait. Later calls take what is there.
        let mut wait = 1;
        while deliveries.len() < max {
            let batch =
                self.take(&urls.queue, max - deliveries.len(), wait, IN_FLIGHT_SECS).await?;
            if batch.is_empty() {
                break;
            }
            wait = 0;
            for message in batch {
                let (Some(id), Some(receipt)) = (message.message_id(), message.receipt_handle())
                else {
                    continue;
                };
                let body = message.body().unwrap_or_default();
                let events = S3Notification::from_json(body.as_bytes()).and_then(|n| n.events());
                match events {
                    // S3's test event, or records that neither create nor remove.
                    Ok(events) if events.is_empty() => self.delete(&urls.queue, receipt).await?,
                    Ok(mut events) if events.len() == 1 => {
                        self.remember(
                            id,
                            InFlight { receipt: receipt.to_owned(), body: body.to_owned() },
                        );
                        deliveries.push(Delivery {
                            id: id.to_owned(),
                            event: events.remove(0),
                            attempt: receive_count(&message),
                        });
                    }
                    Ok(_) => {
                        let notification = S3Notification::from_json(body.as_bytes())?;
                        for record in notification.records {
                            let one = S3Notification { records: vec![record] };
                            let json = serde_json::to_string(&one)
                                .map_err(|e| Error::Corrupt(e.to_string()))?;
                            self.send(&urls.queue, &json, None).await?;
                        }
                        self.delete(&urls.queue, receipt).await?;
                    }
                    Err(err) => {
                        tracing::warn!(message = id, error = %err, "not an S3 notification: dead-lettered");
                        let attempts = receive_count(&message);
                        let error = err.to_string();
                        self.send(&urls.dead_letter, body, Some((&error, attempts))).await?;
                        self.delete(&urls.queue, receipt).await?;
                    }
                }
            }
        }
        // Sequencers order the events of one key (S3's make no promise across keys).
        deliveries.sort_by_key(|d| d.event.sequencer.sort_key());
        Ok(deliveries)
    }

    async fn wait(&self, timeout: Duration) {
        let started = Instant::now();
        loop {
            let visible = match self.urls().await {
                Ok(urls) => self.counts(&urls.queue).await.map(|c| c[0]).unwrap_or(0),
                Err(_) => 0,
            };
            let left = timeout.saturating_sub(started.elapsed());
            if visible > 0 || left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        }
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        let flight = self.forget(delivery)?;
        self.delete(&self.urls().await?.queue, &flight.receipt).await
    }

    async fn ack_all(&self, deliveries: &[Delivery]) -> Result<()> {
        let urls = self.urls().await?;
        let mut receipts = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            receipts.push(self.forget(delivery)?.receipt);
        }
        for chunk in receipts.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (n, receipt) in chunk.iter().enumerate() {
                entries.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(n.to_string())
                        .receipt_handle(receipt)
                        .build()
                        .map_err(|e| Error::Corrupt(format!("a batch entry: {e}")))?,
                );
            }
            let done = self
                .client
                .delete_message_batch()
                .queue_url(&urls.queue)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(sdk_error)?;
            if let Some(failed) = done.failed.first() {
                return Err(Error::Unavailable {
                    message: format!(
                        "SQS kept a handled message: {}",
                        failed.message().unwrap_or(failed.code())
                    ),
                    retryable: !failed.sender_fault,
                });
            }
        }
        Ok(())
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration, _error: &str) -> Result<()> {
        // SQS cannot change a message: the error is in the log (the dispatcher's warning).
        let flight = self.forget(delivery)?;
        self.client
            .change_message_visibility()
            .queue_url(&self.urls().await?.queue)
            .receipt_handle(flight.receipt)
            .visibility_timeout(delay.as_secs().min(MAX_DELAY_SECS) as i32)
            .send()
            .await
            .map(|_| ())
            .map_err(sdk_error)
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<()> {
        let urls = self.urls().await?;
        let flight = self.forget(delivery)?;
        // Sent before it is deleted: a crash in between leaves a copy in each, never none.
        self.send(&urls.dead_letter, &flight.body, Some((error, delivery.attempt))).await?;
        self.delete(&urls.queue, &flight.receipt).await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let urls = self.urls().await?;
        let messages = self.peek_dead().await?;
        let letters = messages.iter().flat_map(dead_letters_of).collect();
        for message in &messages {
            self.show(&urls.dead_letter, message).await?;
        }
        Ok(letters)
    }

    async fn replay(&self, ids: &[String]) -> Result<usize> {
        let urls = self.urls().await?;
        let mut moved = 0;
        for message in self.peek_dead().await? {
            let id = message.message_id().unwrap_or_default();
            if !ids.is_empty() && !ids.iter().any(|wanted| wanted == id) {
                self.show(&urls.dead_letter, &message).await?;
                continue;
            }
            // Back to the queue as S3 sent it (without folio's reason), then out of this one.
            self.send(&urls.queue, message.body().unwrap_or_default(), None).await?;
            if let Some(receipt) = message.receipt_handle() {
                self.delete(&urls.dead_letter, receipt).await?;
            }
            moved += 1;
        }
        Ok(moved)
    }

    async fn pending(&self) -> Result<u64> {
        Ok(self.counts(&self.urls().await?.queue).await?.iter().sum())
    }

    async fn ready(&self) -> Result<()> {
        let urls = self.urls().await?;
        self.counts(&urls.queue).await?;
        self.counts(&urls.dead_letter).await.map(|_| ())
    }
}

/// An SQS failure as folio's error: throttling, the service's own faults and the network may
/// pass on a retry (the SDK already retried); anything else will not.
fn sdk_error<E, R>(err: SdkError<E, R>) -> Error
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code.contains("RequestThrottled")
                || code == "InternalError"
                || code == "ServiceUnavailable"
        }
        _ => true,
    };
    Error::Unavailable { message: format!("SQS: {}", DisplayErrorContext(&err)), retryable }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_queues_and_refuses_what_is_not_them() {
        let read = SqsOptions::from_url(
            "sqs://folio-Events-1?dead_letter=folio-Dead-1&endpoint=http://127.0.0.1:5000/&region=eu-west-1",
        );
        assert_eq!(
            read.ok(),
            Some(SqsOptions {
                queue: "folio-Events-1".to_owned(),
                dead_letter: "folio-Dead-1".to_owned(),
                endpoint: Some("http://127.0.0.1:5000".to_owned()),
                region: Some("eu-west-1".to_owned()),
            })
        );
        for (url, why) in [
            ("https://sqs.eu-west-1.amazonaws.com/1/q", "sqs://QUEUE"),
            ("sqs://q", "dead_letter=QUEUE is missing"),
            ("sqs://q?dead_letter=q", "another queue"),
            ("sqs://a/b?dead_letter=d", "not a queue name"),
            ("sqs://q?dead_letter=d%20x", "not a queue name"),
            ("sqs://q?dead_letter=d&endpoint=ftp://x", "http:// or https://"),
            ("sqs://q?dead_letter=d&visibility=5", "unknown setting"),
            ("sqs://q?dead_letter=d&region=", "region is empty"),
        ] {
            let err = SqsOptions::from_url(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
