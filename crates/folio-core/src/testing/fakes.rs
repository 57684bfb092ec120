//! In-memory fakes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use object_store::memory::InMemory;
use tokio::sync::Notify;

use crate::document::{DocumentRecord, Engine};
use crate::event::{ObjectEvent, Sequencer};
use crate::ids::{DocumentId, IdentityId};
use crate::pipeline::{Pipeline, Settings};
use crate::ports::{
    Applied, Clock, DeadLetter, Delivery, DocumentIndex, EventPublisher, EventQueue, HtmlPreview,
    IdempotencyRecord, IdempotencyStore, IndexChange, IndexQuery, ObjectChange, RecordPage,
    RenderRequest, RenderedPages, RenderedPdf, Renderer, SecretStore, fold_title,
};
use crate::publishing::{EventFilter, PublishingStore};
use crate::{Error, Result};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A document's last sequencer and its record (`None` once removed: a tombstone).
type Entry = (Sequencer, Option<DocumentRecord>);

/// The index in memory, tombstones included.
#[derive(Debug, Default)]
pub struct MemoryIndex {
    entries: Mutex<BTreeMap<(IdentityId, DocumentId), Entry>>,
}

#[async_trait]
impl DocumentIndex for MemoryIndex {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn apply(&self, change: IndexChange) -> Result<Applied> {
        let (key, value) = match &change {
            IndexChange::Upsert(record) => ((record.identity, record.id), Some(record.clone())),
            IndexChange::Remove { identity, id, .. } => ((*identity, *id), None),
        };
        let mut entries = lock(&self.entries);
        if entries.get(&key).is_some_and(|(seq, _)| seq >= change.sequencer()) {
            return Ok(Applied::Stale);
        }
        entries.insert(key, (change.sequencer().clone(), value));
        Ok(Applied::Changed)
    }

    async fn get(&self, identity: &IdentityId, id: &DocumentId) -> Result<Option<DocumentRecord>> {
        Ok(lock(&self.entries).get(&(*identity, *id)).and_then(|(_, r)| r.clone()))
    }

    async fn query(&self, identity: &IdentityId, query: &IndexQuery) -> Result<RecordPage> {
        let entries = lock(&self.entries);
        let mut items: Vec<DocumentRecord> = entries
            .range((*identity, DocumentId::at(0))..)
            .take_while(|((i, _), _)| i == identity)
            .filter_map(|(_, (_, r))| r.clone())
            .filter(|r| query.before.is_none_or(|b| r.id < b))
            .filter(|r| {
                query
                    .title_contains
                    .as_ref()
                    .is_none_or(|q| fold_title(&r.title).contains(q.as_str()))
            })
            .collect();
        items.reverse();
        Ok(RecordPage::from_overfetch(items, query.limit))
    }

    async fn scan(
        &self,
        after: Option<(IdentityId, DocumentId)>,
        limit: usize,
    ) -> Result<Vec<(IdentityId, DocumentId)>> {
        Ok(lock(&self.entries)
            .iter()
            .filter(|(k, (_, r))| r.is_some() && after.is_none_or(|a| **k > a))
            .take(limit)
            .map(|(k, _)| *k)
            .collect())
    }
}

#[derive(Debug, Default)]
struct LogState {
    next: u64,
    pending: BTreeMap<u64, Pending>,
    dead: BTreeMap<u64, (ObjectEvent, u32, String)>,
}

#[derive(Debug)]
struct Pending {
    event: ObjectEvent,
    attempts: u32,
    due_ms: i64,
    in_flight: bool,
}

/// The event log in memory.
pub struct MemoryEventLog {
    state: Mutex<LogState>,
    notify: Notify,
    clock: Arc<dyn Clock>,
}

impl MemoryEventLog {
    /// An empty log using `clock` for retry delays.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self { state: Mutex::default(), notify: Notify::new(), clock }
    }
}

#[async_trait]
impl EventPublisher for MemoryEventLog {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent> {
        let mut state = lock(&self.state);
        state.next += 1;
        let event = ObjectEvent {
            change: change.change,
            key: change.key,
            size: change.size,
            etag: change.etag,
            sequencer: Sequencer::from_number(state.next),
            time: crate::functions::rfc3339(self.clock.now_ms()),
        };
        let id = state.next;
        state
            .pending
            .insert(id, Pending { event: event.clone(), attempts: 0, due_ms: 0, in_flight: false });
        drop(state);
        self.notify.notify_waiters();
        Ok(event)
    }
}

#[async_trait]
impl EventQueue for MemoryEventLog {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn receive(&self, max: usize) -> Result<Vec<Delivery>> {
        let now = self.clock.now_ms();
        let mut state = lock(&self.state);
        let mut out = Vec::new();
        for (id, pending) in state.pending.iter_mut() {
            if out.len() >= max {
                break;
            }
            if !pending.in_flight && pending.due_ms <= now {
                pending.in_flight = true;
                pending.attempts += 1;
                out.push(Delivery {
                    id: id.to_string(),
                    event: pending.event.clone(),
                    attempt: pending.attempts,
                });
            }
        }
        Ok(out)
    }

    async fn wait(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.notify.notified()).await;
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        lock(&self.state).pending.remove(&parse_id(&delivery.id)?);
        Ok(())
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration, _error: &str) -> Result<()> {
        let due = self.clock.now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        if let Some(p) = lock(&self.state).pending.get_mut(&parse_id(&delivery.id)?) {
            p.in_flight = false;
            p.due_ms = due;
        }
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<()> {
        let id = parse_id(&delivery.id)?;
        let mut state = lock(&self.state);
        if let Some(p) = state.pending.remove(&id) {
            state.dead.insert(id, (p.event, p.attempts, error.to_owned()));
        }
        Ok(())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        Ok(lock(&self.state)
            .dead
            .iter()
            .map(|(id, (event, attempts, error))| DeadLetter {
                id: id.to_string(),
                key: event.key.clone(),
                change: event.change,
                sequencer: event.sequencer.clone(),
                attempts: *attempts,
                error: error.clone(),
            })
            .collect())
    }

    async fn replay(&self, ids: &[String]) -> Result<usize> {
        let wanted: Vec<u64> = ids.iter().map(|i| parse_id(i)).collect::<Result<_>>()?;
        let mut state = lock(&self.state);
        let chosen: Vec<u64> = state
            .dead
            .keys()
            .copied()
            .filter(|id| wanted.is_empty() || wanted.contains(id))
            .collect();
        for id in &chosen {
            if let Some((event, _, _)) = state.dead.remove(id) {
                state
                    .pending
                    .insert(*id, Pending { event, attempts: 0, due_ms: 0, in_flight: false });
            }
        }
        drop(state);
        self.notify.notify_waiters();
        Ok(chosen.len())
    }

    async fn pending(&self) -> Result<u64> {
        Ok(lock(&self.state).pending.len() as u64)
    }
}

fn parse_id(id: &str) -> Result<u64> {
    id.parse().map_err(|_| Error::InvalidRequest(format!("not an event id: {id:?}")))
}

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `ms`.
    pub fn at(ms: i64) -> Self {
        Self(AtomicI64::new(ms))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Idempotency keys in memory.
#[derive(Debug, Default)]
pub struct MemoryIdempotency {
    bindings: Mutex<BTreeMap<(IdentityId, String), IdempotencyRecord>>,
}

#[async_trait]
impl IdempotencyStore for MemoryIdempotency {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn bind(
        &self,
        identity: &IdentityId,
        key: &str,
        proposed: &IdempotencyRecord,
        expired_before_ms: i64,
    ) -> Result<IdempotencyRecord> {
        let mut bindings = lock(&self.bindings);
        let slot = bindings.entry((*identity, key.to_owned())).or_insert_with(|| proposed.clone());
        if slot.created_ms < expired_before_ms {
            *slot = proposed.clone();
        }
        Ok(slot.clone())
    }

    async fn purge(&self, before_ms: i64) -> Result<u64> {
        let mut bindings = lock(&self.bindings);
        let before = bindings.len();
        bindings.retain(|_, record| record.created_ms >= before_ms);
        Ok((before - bindings.len()) as u64)
    }
}

/// Secrets in memory, made from a counter-seeded hash (tests need no real randomness; every
/// name gets different bytes).
#[derive(Debug, Default)]
pub struct MemorySecrets {
    secrets: Mutex<BTreeMap<String, Vec<u8>>>,
}

#[async_trait]
impl SecretStore for MemorySecrets {
    async fn ready(&self) -> Result<()> {
        Ok(())
    }

    async fn get_or_create(&self, name: &str, len: usize) -> Result<Vec<u8>> {
        use sha2::{Digest, Sha256};
        let mut secrets = lock(&self.secrets);
        let secret = secrets.entry(name.to_owned()).or_insert_with(|| {
            let mut bytes = Vec::with_capacity(len);
            let mut block = 0u64;
            while bytes.len() < len {
                let digest = Sha256::digest(format!("{name}/{block}/{}", uuid::Uuid::new_v4()));
                bytes.extend_from_slice(&digest);
                block += 1;
            }
            bytes.truncate(len);
            bytes
        });
        Ok(secret.clone())
    }
}

/// A renderer that makes a tiny PDF-like document without Typst (for pipeline tests that are
/// about storage, not typesetting). The title follows the same fallbacks as the real one.
#[derive(Debug, Default)]
pub struct FakeRenderer;

impl FakeRenderer {
    /// The title the real renderer would choose, roughly: the override, else the first `# `
    /// heading, else "Untitled".
    fn title(request: &RenderRequest) -> String {
        request
            .title
            .clone()
            .or_else(|| {
                request.markdown.lines().find_map(|l| l.strip_prefix("# ").map(str::to_owned))
            })
            .unwrap_or_else(|| "Untitled".to_owned())
    }

    fn pages(request: &RenderRequest) -> u32 {
        1 + request.markdown.len() as u32 / 3000
    }

    fn refuse_empty(request: &RenderRequest) -> Result<()> {
        if request.markdown.trim().is_empty() {
            return Err(Error::InvalidRequest("the document is empty".to_owned()));
        }
        Ok(())
    }
}

/// Escapes text for the fake previews.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[async_trait]
impl Renderer for FakeRenderer {
    async fn render(&self, request: RenderRequest) -> Result<RenderedPdf> {
        Self::refuse_empty(&request)?;
        // The images it was handed, by reference and size: what tests of image resolution read.
        let images: String = request
            .assets
            .iter()
            .map(|(reference, bytes)| format!("% image {reference} {}\n", bytes.len()))
            .collect();
        let pdf = format!("%PDF-1.7\n% fake\n{images}{}\n%%EOF\n", request.markdown).into_bytes();
        Ok(RenderedPdf {
            pages: Self::pages(&request),
            pdf,
            title: Self::title(&request),
            warnings: Vec::new(),
            engine: Engine { folio: "fake".to_owned(), typst: "none".to_owned() },
        })
    }

    async fn pages(&self, request: RenderRequest) -> Result<RenderedPages> {
        Self::refuse_empty(&request)?;
        let text = escape(&request.markdown);
        let pages: Vec<String> = (0..Self::pages(&request))
            .map(|page| {
                format!(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>{page}: {text}</text></svg>"
                )
            })
            .collect();
        let lines = vec![Vec::new(); pages.len()];
        Ok(RenderedPages { pages, lines, title: Self::title(&request), warnings: Vec::new() })
    }

    fn image_references(&self, markdown: &str) -> Vec<String> {
        // Inline images only (`![alt](reference)`): enough for the functions' tests.
        let mut found: Vec<String> = Vec::new();
        for (start, _) in markdown.match_indices("](") {
            if !markdown[..start].contains("![") {
                continue;
            }
            let rest = &markdown[start + 2..];
            let reference = rest.split(')').next().unwrap_or_default().trim();
            let reference = reference.trim_start_matches('<').trim_end_matches('>');
            if !reference.is_empty() && !found.iter().any(|r| r == reference) {
                found.push(reference.to_owned());
            }
        }
        found
    }

    async fn html(&self, request: RenderRequest) -> Result<HtmlPreview> {
        Ok(HtmlPreview {
            html: format!("<p>{}</p>", escape(&request.markdown)),
            warnings: Vec::new(),
        })
    }
}

/// The download-URL secret of [`memory_pipeline`] (tests verify its URLs with it).
pub const TEST_URL_SECRET: &[u8] = b"folio test download secret";

/// A pipeline on in-memory adapters, and its event log's queue half (for the dispatcher) (objects in `InMemory`, wrapped to publish events).
pub fn memory_pipeline(clock: Arc<dyn Clock>) -> (Pipeline, Arc<MemoryEventLog>) {
    let log = Arc::new(MemoryEventLog::new(Arc::clone(&clock)));
    let events: Arc<dyn EventPublisher> = log.clone();
    let objects = PublishingStore::new(
        Arc::new(InMemory::new()),
        Arc::clone(&events),
        EventFilter::default(),
    );
    let pipeline = Pipeline {
        objects: Arc::new(objects),
        index: Arc::new(MemoryIndex::default()),
        events,
        renderer: Arc::new(FakeRenderer),
        signer: Arc::new(crate::downloads::HmacSigner::new(TEST_URL_SECRET.to_vec(), "")),
        clock,
        usage: Arc::new(crate::MemoryUsage::default()),
        settings: Settings::default(),
    };
    (pipeline, log)
}

/// Every port on in-memory adapters (what [`memory_pipeline`] wires, plus the rest of the
/// bundle): the fakes' shape, for tests that build a server without SQLite or Typst.
pub fn memory_services(clock: Arc<dyn Clock>) -> (crate::Services, Arc<MemoryEventLog>) {
    let (pipeline, log) = memory_pipeline(clock);
    let services = crate::Services {
        pipeline,
        event_queue: Some(log.clone()),
        idempotency: Arc::new(MemoryIdempotency::default()),
        secrets: Arc::new(MemorySecrets::default()),
        limits: Arc::new(crate::MemoryRateLimits::default()),
        lease: Arc::new(crate::MemoryLease::default()),
        downloads: Some(Arc::new(crate::downloads::HmacSigner::new(TEST_URL_SECRET.to_vec(), ""))),
        readiness: Arc::default(),
    };
    (services, log)
}
