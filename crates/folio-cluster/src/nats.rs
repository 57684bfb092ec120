//! Object events in NATS JetStream: a file-backed stream of S3-shaped events, one durable pull
//! consumer shared by every instance, and a second stream for the events that failed too often.
//!
//! Only what the NATS 2.9 server understands is used (the client's `server_2_10`+ features are
//! off: 2.9 silently drops fields it does not know).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use async_trait::async_trait;
use bytes::Bytes;
use folio_core::event::{Change, ObjectEvent, S3Notification, Sequencer};
use folio_core::functions::rfc3339;
use folio_core::ports::{Clock, DeadLetter, Delivery, EventPublisher, EventQueue, ObjectChange};
use folio_core::{Error, Result};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// Where the streams are and how deliveries behave.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// `nats://host:port`.
    pub url: String,
    /// The events stream's name; the dead letters go to `<name>_DEAD`. Subjects are derived
    /// from it (`<name lowercased>.object`, `<…>.dead`), so two deployments on one server only
    /// need different names.
    pub stream: String,
    /// How long a delivered event may stay unacknowledged before it is delivered again (to any
    /// instance): longer than the indexer's slowest write.
    pub ack_wait: Duration,
    /// Within this window a publish repeated with the same message id is stored once.
    pub duplicate_window: Duration,
}

impl NatsOptions {
    /// Defaults for `url`: stream `FOLIO_EVENTS`, 30 s to acknowledge, 2 min de-duplication.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            stream: "FOLIO_EVENTS".to_owned(),
            ack_wait: Duration::from_secs(30),
            duplicate_window: Duration::from_secs(120),
        }
    }

    /// Reads the events setting, `nats://host:port[?stream=NAME]` (`tls://` for TLS); refuses
    /// anything else with the reason.
    pub fn from_url(url: &str) -> Result<Self> {
        let invalid = |why: String| Error::InvalidRequest(format!("events URL {url:?}: {why}"));
        if !(url.starts_with("nats://") || url.starts_with("tls://")) {
            return Err(invalid("NATS is written nats://host:port[?stream=NAME]".to_owned()));
        }
        let (server, query) = url.split_once('?').unwrap_or((url, ""));
        let mut options = Self::new(server.trim_end_matches('/'));
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("stream", name))
                    if !name.is_empty()
                        && name.len() <= 64
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
                {
                    options.stream = name.to_owned();
                }
                Some(("stream", name)) => {
                    return Err(invalid(format!(
                        "stream {name:?} must be 1–64 of A-Z, a-z, 0-9, '_', '-'"
                    )));
                }
                _ => return Err(invalid(format!("unknown setting {pair:?} (known: stream)"))),
            }
        }
        Ok(options)
    }
}

/// The durable consumer every instance pulls from: each event goes to one of them at a time.
const CONSUMER: &str = "indexer";

/// An event as it travels: the S3 fields, and the sequencer only when it is not the stream's
/// own sequence number (a replayed dead letter keeps the sequencer it was published with).
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    change: Change,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    etag: Option<String>,
    time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sequencer: Option<String>,
}

/// A parked event: the payload it had, with its sequencer, and why it was parked.
#[derive(Debug, Serialize, Deserialize)]
struct Parked {
    event: Payload,
    attempts: u32,
    error: String,
}

/// The event log on JetStream ([`EventPublisher`] and [`EventQueue`]).
pub struct NatsEventLog {
    client: async_nats::Client,
    context: jetstream::Context,
    events: stream::Stream,
    dead: stream::Stream,
    consumer: consumer::PullConsumer,
    subject: String,
    dead_subject: String,
    clock: Arc<dyn Clock>,
    /// Wakes `wait` when anything is published on the events subject (made on first use).
    arrivals: Mutex<Option<async_nats::Subscriber>>,
}

impl std::fmt::Debug for NatsEventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsEventLog").field("subject", &self.subject).finish_non_exhaustive()
    }
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Unavailable { message: format!("NATS: {what}: {err}"), retryable: true }
}

impl NatsEventLog {
    /// Connects and makes (or finds) the two streams and the consumer; instances starting
    /// together get the same ones.
    pub async fn connect(options: &NatsOptions, clock: Arc<dyn Clock>) -> Result<Self> {
        let client = async_nats::connect(&options.url)
            .await
            .map_err(|e| unavailable(&format!("cannot connect to {}", options.url), e))?;
        let context = jetstream::new(client.clone());
        let base = options.stream.to_lowercase();
        let subject = format!("{base}.object");
        let dead_subject = format!("{base}.dead");
        let events = context
            .get_or_create_stream(stream::Config {
                name: options.stream.clone(),
                subjects: vec![subject.clone()],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                duplicate_window: options.duplicate_window,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("the events stream", e))?;
        let dead = context
            .get_or_create_stream(stream::Config {
                name: format!("{}_DEAD", options.stream),
                subjects: vec![dead_subject.clone()],
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable("the dead-letter stream", e))?;
        let consumer = events
            .get_or_create_consumer(
                CONSUMER,
                consumer::pull::Config {
                    durable_name: Some(CONSUMER.to_owned()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: options.ack_wait,
                    // Unlimited: the dispatcher parks an event after its own retry policy.
                    max_deliver: -1,
                    filter_subject: subject.clone(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| unavailable("the consumer", e))?;
        Ok(Self {
            client,
            context,
            events,
            dead,
            consumer,
            subject,
            dead_subject,
            clock,
            arrivals: Mutex::new(None),
        })
    }

    /// Publishes `payload` on `subject` under `id` and waits for the stream to store it; a
    /// repeat with the same id within the window is stored once.
    async fn store(&self, subject: &str, id: &str, payload: Vec<u8>) -> Result<u64> {
        let message =
            jetstream::message::PublishMessage::build().payload(payload.into()).message_id(id);
        let ack = self
            .context
            .send_publish(subject.to_owned(), message)
            .await
            .map_err(|e| unavailable("publish", e))?
            .await
            .map_err(|e| unavailable("publish acknowledgement", e))?;
        Ok(ack.sequence)
    }

    /// Sends an acknowledgement of `kind` for a delivery and waits for the server to confirm
    /// it, so "acked" means the stream knows.
    async fn acknowledge(&self, delivery: &Delivery, kind: jetstream::AckKind) -> Result<()> {
        if !delivery.id.starts_with("$JS.ACK.") {
            return Err(Error::InvalidRequest(format!(
                "not a delivery of this log: {}",
                delivery.id
            )));
        }
        self.client
            .request(delivery.id.clone(), Bytes::from(kind))
            .await
            .map(drop)
            .map_err(|e| unavailable("acknowledge", e))
    }

    /// Every parked event with its stream sequence, oldest first.
    async fn parked(&self) -> Result<Vec<(u64, Parked)>> {
        let mut dead = self.dead.clone();
        let info = dead.info().await.map_err(|e| unavailable("dead-letter stream", e))?;
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        let mut found = Vec::new();
        if info.state.messages == 0 {
            return Ok(found);
        }
        for sequence in first..=last {
            let Ok(message) = self.dead.get_raw_message(sequence).await else {
                continue; // deleted (replayed) in between
            };
            match serde_json::from_slice::<Parked>(&message.payload) {
                Ok(parked) => found.push((sequence, parked)),
                Err(err) => tracing::warn!(sequence, %err, "an unreadable dead letter is skipped"),
            }
        }
        Ok(found)
    }
}

/// The event of an S3-format notification holding exactly one creation or removal (what MinIO
/// and other stores publish); `None` for anything else (test events, several records, junk).
fn store_made(body: &[u8]) -> Option<ObjectEvent> {
    let mut events = S3Notification::from_json(body).ok()?.events().ok()?;
    (events.len() == 1).then(|| events.remove(0))
}

fn to_event(payload: Payload, stream_sequence: u64) -> Result<ObjectEvent> {
    let sequencer = match payload.sequencer {
        Some(text) => Sequencer::parse(&text)?,
        None => Sequencer::from_number(stream_sequence),
    };
    Ok(ObjectEvent {
        change: payload.change,
        key: payload.key,
        size: payload.size,
        etag: payload.etag,
        sequencer,
        time: payload.time,
    })
}

#[async_trait]
impl EventPublisher for NatsEventLog {
    async fn ready(&self) -> Result<()> {
        let mut events = self.events.clone();
        events.info().await.map(drop).map_err(|e| unavailable("events stream", e))
    }

    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent> {
        let time = rfc3339(self.clock.now_ms());
        let payload = Payload {
            change: change.change,
            key: change.key,
            size: change.size,
            etag: change.etag,
            time,
            sequencer: None,
        };
        let bytes = serde_json::to_vec(&payload).map_err(|e| Error::Corrupt(e.to_string()))?;
        // One id for this event: a retry after a lost acknowledgement is stored once.
        let id = uuid::Uuid::new_v4().to_string();
        let mut attempt = 0;
        let sequence = loop {
            match self.store(&self.subject, &id, bytes.clone()).await {
                Ok(sequence) => break sequence,
                Err(err) if attempt < 2 => {
                    attempt += 1;
                    tracing::warn!(%err, attempt, "publishing an event again");
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
                Err(err) => return Err(err),
            }
        };
        to_event(payload, sequence)
    }
}

#[async_trait]
impl EventQueue for NatsEventLog {
    async fn ready(&self) -> Result<()> {
        EventPublisher::ready(self).await
    }

    async fn receive(&self, max: usize) -> Result<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        // `fetch` answers with what is there now and does not wait for more.
        let mut batch = self
            .consumer
            .fetch()
            .max_messages(max)
            .messages()
            .await
            .map_err(|e| unavailable("fetch", e))?;
        let mut deliveries = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| unavailable("fetch", e))?;
            let info = message.info().map_err(|e| unavailable("delivery info", e))?;
            let (sequence, delivered) = (info.stream_sequence, info.delivered);
            let Some(reply) = message.reply.as_ref().map(ToString::to_string) else {
                continue;
            };
            let event = match serde_json::from_slice::<Payload>(&message.payload) {
                Ok(payload) => to_event(payload, sequence)?,
                // A store that publishes its own notifications (MinIO's NATS target) sends
                // S3-format records: one record per message is an event like folio's.
                Err(_) => match store_made(&message.payload) {
                    Some(event) => event,
                    None => {
                        tracing::warn!(sequence, "a message that is no object event is terminated");
                        let _ =
                            self.client.publish(reply, Bytes::from(jetstream::AckKind::Term)).await;
                        continue;
                    }
                },
            };
            deliveries.push(Delivery {
                id: reply,
                event,
                attempt: u32::try_from(delivered).unwrap_or(u32::MAX),
            });
        }
        Ok(deliveries)
    }

    async fn wait(&self, timeout: Duration) {
        let mut arrivals = self.arrivals.lock().await;
        if arrivals.is_none() {
            match self.client.subscribe(self.subject.clone()).await {
                Ok(subscriber) => *arrivals = Some(subscriber),
                Err(err) => {
                    tracing::warn!(%err, "cannot watch for new events; polling");
                    drop(arrivals);
                    tokio::time::sleep(timeout).await;
                    return;
                }
            }
        }
        if let Some(subscriber) = arrivals.as_mut() {
            let _ = tokio::time::timeout(timeout, subscriber.next()).await;
        }
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        self.acknowledge(delivery, jetstream::AckKind::Ack).await
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration, _error: &str) -> Result<()> {
        self.acknowledge(delivery, jetstream::AckKind::Nak(Some(delay))).await
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<()> {
        // Stored in the dead-letter stream first, then ended on the events stream: a crash
        // between the two delivers it again (at least once), never loses it.
        let event = &delivery.event;
        let parked = Parked {
            event: Payload {
                change: event.change,
                key: event.key.clone(),
                size: event.size,
                etag: event.etag.clone(),
                time: event.time.clone(),
                sequencer: Some(event.sequencer.as_str().to_owned()),
            },
            attempts: delivery.attempt,
            error: error.to_owned(),
        };
        let bytes = serde_json::to_vec(&parked).map_err(|e| Error::Corrupt(e.to_string()))?;
        self.store(&self.dead_subject, &format!("dead-{}", delivery.id), bytes).await?;
        self.acknowledge(delivery, jetstream::AckKind::Term).await
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        self.parked()
            .await?
            .into_iter()
            .map(|(sequence, parked)| {
                let sequencer = match &parked.event.sequencer {
                    Some(text) => Sequencer::parse(text)?,
                    None => Sequencer::from_number(0),
                };
                Ok(DeadLetter {
                    id: sequence.to_string(),
                    key: parked.event.key,
                    change: parked.event.change,
                    sequencer,
                    attempts: parked.attempts,
                    error: parked.error,
                })
            })
            .collect()
    }

    async fn replay(&self, ids: &[String]) -> Result<usize> {
        let wanted: Vec<u64> = ids
            .iter()
            .map(|i| {
                i.parse().map_err(|_| Error::InvalidRequest(format!("not an event id: {i:?}")))
            })
            .collect::<Result<_>>()?;
        let mut replayed = 0;
        for (sequence, parked) in self.parked().await? {
            if !wanted.is_empty() && !wanted.contains(&sequence) {
                continue;
            }
            // Back on the events stream with the sequencer it had, then off the dead one; the
            // message id makes a replay repeated after a crash in between store it once.
            let bytes =
                serde_json::to_vec(&parked.event).map_err(|e| Error::Corrupt(e.to_string()))?;
            self.store(&self.subject, &format!("replay-{sequence}"), bytes).await?;
            self.dead
                .delete_message(sequence)
                .await
                .map_err(|e| unavailable("remove a replayed dead letter", e))?;
            replayed += 1;
        }
        Ok(replayed)
    }

    async fn pending(&self) -> Result<u64> {
        let mut consumer = self.consumer.clone();
        let info = consumer.info().await.map_err(|e| unavailable("consumer info", e))?;
        Ok(info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(0))
    }
}

/// Stream names of their own for one test (`FOLIO_TEST_<random>`), on the server of
/// `FOLIO_TEST_NATS_URL`, deleted by [`TestStreams::around`] pass or fail.
#[derive(Debug)]
pub struct TestStreams {
    /// Options naming the test's streams (short acknowledgement wait: 10 s).
    pub options: NatsOptions,
}

impl TestStreams {
    /// Names the streams; panics (a failed test, never a skipped one) without the variable.
    pub fn new() -> Self {
        let url = std::env::var("FOLIO_TEST_NATS_URL").unwrap_or_else(|_| {
            panic!(
                "FOLIO_TEST_NATS_URL is not set: this test needs NATS with JetStream (see .ci/run)"
            )
        });
        let stream = format!("FOLIO_TEST_{}", uuid::Uuid::new_v4().simple()).to_uppercase();
        Self {
            options: NatsOptions {
                stream,
                ack_wait: Duration::from_secs(10),
                ..NatsOptions::new(url)
            },
        }
    }

    /// Runs `test`, then deletes both streams whether or not it passed.
    pub async fn around<F: Future<Output = ()> + Send + 'static>(self, test: F) {
        let outcome = tokio::spawn(test).await;
        if let Ok(client) = async_nats::connect(&self.options.url).await {
            let context = jetstream::new(client);
            for name in [self.options.stream.clone(), format!("{}_DEAD", self.options.stream)] {
                let _ = context.delete_stream(&name).await;
            }
        }
        if let Err(err) = outcome {
            std::panic::resume_unwind(err.into_panic());
        }
    }
}

impl Default for TestStreams {
    fn default() -> Self {
        Self::new()
    }
}
