//! The ports: small object-safe traits that adapters implement (SQLite, DynamoDB, PostgreSQL,
//! NATS, S3, …). Each documents its contract; `testing` has an in-memory fake and a conformance
//! suite for each. The objects port is `object_store::ObjectStore` itself.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::event::{ObjectEvent, Sequencer};
use crate::options::CreateOptions;
use crate::{DocumentId, DocumentRecord, IdentityId, ObjectKey, Result};

/// A change to apply to the index, stamped with the sequencer of the event that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexChange {
    /// The document exists with these fields.
    Upsert(DocumentRecord),
    /// The document does not exist.
    Remove {
        /// Owner.
        identity: IdentityId,
        /// Document.
        id: DocumentId,
        /// The event's sequencer.
        sequencer: Sequencer,
    },
}

impl IndexChange {
    /// The sequencer of this change.
    pub fn sequencer(&self) -> &Sequencer {
        match self {
            Self::Upsert(record) => &record.sequencer,
            Self::Remove { sequencer, .. } => sequencer,
        }
    }
}

/// Whether [`DocumentIndex::apply`] changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The change was newer than what the index held and is now its state.
    Changed,
    /// The index already held this or a newer state for the document; nothing changed.
    Stale,
}

/// A page of a library listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordPage {
    /// Records, newest first.
    pub items: Vec<DocumentRecord>,
    /// The id after which the next page starts, if there may be more.
    pub next_after: Option<DocumentId>,
}

impl RecordPage {
    /// A page from up to `limit + 1` records fetched newest first: the extra record, if any,
    /// only says that another page follows.
    pub fn from_overfetch(mut items: Vec<DocumentRecord>, limit: usize) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        let next_after = if more { items.last().map(|r| r.id) } else { None };
        Self { items, next_after }
    }
}

/// A listing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexQuery {
    /// At most this many records (1–100).
    pub limit: usize,
    /// Only records with ids older (smaller) than this.
    pub before: Option<DocumentId>,
    /// Only titles containing this text, compared after [`fold_title`] on both sides.
    pub title_contains: Option<String>,
}

/// Case folding for title search, the same in every backend: Unicode lowercase of the text
/// with whitespace runs collapsed. Backends store the folded title and search it with plain
/// substring matching (no LIKE wildcards).
pub fn fold_title(title: &str) -> String {
    title.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The document index: identity → documents (partition key identity, sort key document id).
///
/// Contract: [`apply`](Self::apply) is atomic per document and order-proof — a change is
/// applied only if its sequencer is greater than the one stored for that document, *including
/// removed documents* (the index remembers a removal's sequencer as a tombstone), so replayed,
/// duplicated or reordered changes converge on the newest state. Reads never return another
/// identity's records and never return removed ones.
#[async_trait]
pub trait DocumentIndex: Send + Sync + 'static {
    /// Applies a change if it is newer than the stored state of its document.
    async fn apply(&self, change: IndexChange) -> Result<Applied>;
    /// One record, if it exists for this identity.
    async fn get(&self, identity: &IdentityId, id: &DocumentId) -> Result<Option<DocumentRecord>>;
    /// A page of an identity's records, newest first.
    async fn query(&self, identity: &IdentityId, query: &IndexQuery) -> Result<RecordPage>;
    /// Every live record's key, in (identity, id) order after `after`, at most `limit`: for
    /// reconciliation, which walks the whole index.
    async fn scan(
        &self,
        after: Option<(IdentityId, DocumentId)>,
        limit: usize,
    ) -> Result<Vec<(IdentityId, DocumentId)>>;
    /// Whether the backend answers now (readiness), by reading only: a probe never writes.
    async fn ready(&self) -> Result<()>;
}

/// A change to an object that the objects adapter reports (the event log adds the sequencer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChange {
    /// Created or removed.
    pub change: crate::event::Change,
    /// The object key.
    pub key: String,
    /// Size (created).
    pub size: Option<u64>,
    /// Entity tag (created).
    pub etag: Option<String>,
}

/// An event handed to a consumer, with what is needed to acknowledge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Identifies this delivery to `ack`, `retry_later` and `dead_letter`.
    pub id: String,
    /// The event.
    pub event: ObjectEvent,
    /// 1 for the first delivery, then 2, 3, …
    pub attempt: u32,
}

/// An event that failed too often or could never succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its id (for replay).
    pub id: String,
    /// The object key.
    pub key: String,
    /// `Created` or `Removed`.
    pub change: crate::event::Change,
    /// The sequencer.
    pub sequencer: Sequencer,
    /// Deliveries tried.
    pub attempts: u32,
    /// The last error.
    pub error: String,
}

/// Where object events are published: the objects wrapper after each watched write, and
/// `reindex` for repairs. (On AWS, S3 publishes its own notifications and nothing of folio's
/// publishes.)
///
/// Contract: [`publish`](Self::publish) is durable when it returns and assigns a sequencer
/// that is greater than that of every earlier event on the same key.
#[async_trait]
pub trait EventPublisher: Send + Sync + 'static {
    /// Records an event; returns it with its sequencer.
    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent>;
    /// Whether the backend answers now (readiness), by reading only: a probe never writes.
    async fn ready(&self) -> Result<()>;
}

/// Where the dispatcher takes object events from, and what `folio events` inspects.
///
/// Contract: delivery is at least once: a received event comes back (after `retry_after`) until
/// it is acked or dead-lettered; parked events come back only when replayed.
#[async_trait]
pub trait EventQueue: Send + Sync + 'static {
    /// Takes up to `max` events that are due, oldest first, without waiting.
    async fn receive(&self, max: usize) -> Result<Vec<Delivery>>;
    /// Waits until events may be due (or `timeout` passes).
    async fn wait(&self, timeout: Duration);
    /// The event was handled.
    async fn ack(&self, delivery: &Delivery) -> Result<()>;
    /// Several events were handled (adapters may acknowledge them in one write).
    async fn ack_all(&self, deliveries: &[Delivery]) -> Result<()> {
        for delivery in deliveries {
            self.ack(delivery).await?;
        }
        Ok(())
    }
    /// Deliver the event again after `delay`.
    async fn retry_later(&self, delivery: &Delivery, delay: Duration, error: &str) -> Result<()>;
    /// Park the event: it is not delivered again until replayed.
    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<()>;
    /// The parked events.
    async fn dead_letters(&self) -> Result<Vec<DeadLetter>>;
    /// Delivers parked events again (all of them, or the named ones); returns how many.
    async fn replay(&self, ids: &[String]) -> Result<usize>;
    /// Events published and not yet acked or parked.
    async fn pending(&self) -> Result<u64>;
    /// Whether the backend answers now (readiness), by reading only: a probe never writes.
    async fn ready(&self) -> Result<()>;
}

/// Both halves in one store (the embedded outbox, a NATS stream): what the event-log suite
/// checks end to end.
pub trait EventLog: EventPublisher + EventQueue {}

impl<T: EventPublisher + EventQueue> EventLog for T {}

/// Signs download URLs for objects.
///
/// Contract: the URL, fetched over HTTP before it expires, returns the object, downloaded as
/// `file_name`; after expiry, or with any part altered, it is refused. Signing is async and may
/// fail because a store's signer may first fetch its credentials (S3 on a role).
#[async_trait]
pub trait UrlSigner: Send + Sync + 'static {
    /// A URL (absolute, or a path relative to the server) that downloads `key` as `file_name`
    /// until `expires_unix` (seconds).
    async fn sign(&self, key: &ObjectKey, expires_unix: i64, file_name: &str) -> Result<String>;
}

/// The parts of a signed download request that a [`DownloadVerifier`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The object key, as it appears in the path.
    pub key: &'a str,
    /// The URL's expiry (unix seconds, as text).
    pub exp: &'a str,
    /// The file name the URL names.
    pub file_name: &'a str,
    /// The URL's signature.
    pub sig: &'a str,
}

/// Why a signed download was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DownloadRefused {
    /// The URL's time is up.
    #[error("the download link has expired")]
    Expired,
    /// The signature does not match the key, expiry, file name and method.
    #[error("the download link is not valid")]
    Invalid,
}

/// Verifies the download URLs a [`UrlSigner`] made, where a shape serves its own downloads
/// (`/files/…`; shapes whose store serves presigned URLs have none).
///
/// Contract: a request made from a signed URL verifies until the URL expires; any other key,
/// expiry, file name, method or signature is [`DownloadRefused::Invalid`].
pub trait DownloadVerifier: Send + Sync + 'static {
    /// Checks one request at `now_unix` (seconds).
    fn verify(&self, request: &DownloadRequest<'_>, now_unix: i64) -> Result<(), DownloadRefused>;
}

/// How many bytes each identity stores: what the storage quota measures. Every object under
/// the identity's `ugc/<identity>/` counts its size — a document's source, manifest and PDF,
/// each image's bytes once (however many documents keep them), each library entry.
///
/// Contract: `add` is atomic (concurrent adds all count) and answers the new total; a total
/// never goes below zero; an identity never seen has 0; `set` replaces the total
/// (reconciliation's exact count); identities are independent.
#[async_trait]
pub trait UsageCounter: Send + Sync + 'static {
    /// The identity's total in bytes.
    async fn get(&self, identity: &IdentityId) -> Result<u64>;
    /// Adds `delta` (negative to subtract) and answers the new total.
    async fn add(&self, identity: &IdentityId, delta: i64) -> Result<u64>;
    /// Replaces the total.
    async fn set(&self, identity: &IdentityId, bytes: u64) -> Result<()>;
}

/// Secrets shared by all processes of a deployment (signing keys, the URL secret).
///
/// Contract: `get_or_create` returns the same bytes for a name forever; concurrent first calls
/// agree on one value.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// The secret called `name`, created with `len` random bytes the first time.
    async fn get_or_create(&self, name: &str, len: usize) -> Result<Vec<u8>>;
    /// Whether the backend answers now (readiness), by reading only: a probe never writes.
    async fn ready(&self) -> Result<()>;
}

/// What a render needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RenderRequest {
    /// The markdown.
    pub markdown: String,
    /// Title override.
    pub title: Option<String>,
    /// The caller's render options (paper, theme, contents…).
    pub options: CreateOptions,
    /// Images the document may show, keyed by the reference as written in the markdown.
    pub assets: std::collections::BTreeMap<String, Vec<u8>>,
    /// Whose document it is: renderers that share workers between people give each a fair
    /// share, and keep one person's successive previews on the worker whose caches are warm for
    /// them (`None`: nobody's in particular, e.g. the CLI).
    pub owner: Option<IdentityId>,
}

/// Something the renderer changed or could not show, located at a markdown line: the same shape
/// in create's answer and both previews.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    /// 1-based line of the markdown (0 when no line applies).
    pub line: usize,
    /// A stable snake_case kind (`html_dropped`, `image_missing`, `link_dropped`,
    /// `math_fallback`, `front_matter`, `footnote_missing`, `typesetter`, `missing_glyph`,
    /// `truncated`).
    pub kind: String,
    /// A sentence for people.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A rendered PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPdf {
    /// The PDF.
    pub pdf: Vec<u8>,
    /// Pages.
    pub pages: u32,
    /// The title used.
    pub title: String,
    /// What the renderer changed or could not show.
    pub warnings: Vec<Warning>,
    /// Engine versions.
    pub engine: crate::document::Engine,
}

/// The pages of a document as SVG images (the page preview).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPages {
    /// One SVG document per page.
    pub pages: Vec<String>,
    /// For each page, where each markdown line's text is on it, top to bottom.
    pub lines: Vec<Vec<LineBox>>,
    /// The title used.
    pub title: String,
    /// What the renderer changed or could not show.
    pub warnings: Vec<Warning>,
}

/// Where one markdown line's text sits on a page of the page preview, as fractions of the page
/// height (0 at the top edge). Only text in the reading flow is listed (not the contents, running
/// headers or footnotes), so lines never decrease from the first page's first box to the last
/// page's last. The editor scrolls the preview to the cursor's line with these, and turns a
/// click on a page into a line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineBox {
    /// The markdown line (1-based) of the block the text belongs to.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub line: usize,
    /// The top of the text, as a fraction of the page height.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1))]
    pub top: f32,
    /// The bottom of the text, as a fraction of the page height (at least `top`).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1))]
    pub bottom: f32,
}

/// The instant HTML preview: sanitized markup of the document's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlPreview {
    /// The HTML.
    pub html: String,
    /// What the renderer changed or could not show.
    pub warnings: Vec<Warning>,
}

/// What a renderer reports for readiness and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RendererHealth {
    /// Whether it can render now; `Err` says why not (for the log, not for clients).
    pub ready: std::result::Result<(), String>,
    /// Renders waiting for a worker.
    pub waiting: u64,
    /// Renders done.
    pub renders: u64,
    /// Workers replaced after a crash or a timeout.
    pub restarts: u64,
    /// Worker processes that exist now (0 where rendering is in process).
    pub workers: u64,
    /// Workers that died while rendering.
    pub crashes: u64,
    /// Renders tried again after their worker died.
    pub retries: u64,
    /// Renders stopped at the deadline.
    pub timeouts: u64,
    /// Workers found dead before they were given work (and replaced).
    pub idle_deaths: u64,
    /// Workers that could not be started.
    pub start_failures: u64,
}

impl Default for RendererHealth {
    /// Ready, nothing counted.
    fn default() -> Self {
        Self {
            ready: Ok(()),
            waiting: 0,
            renders: 0,
            restarts: 0,
            workers: 0,
            crashes: 0,
            retries: 0,
            timeouts: 0,
            idle_deaths: 0,
            start_failures: 0,
        }
    }
}

/// Renders markdown: the PDF for create, and the two previews. In process for the CLI, in
/// worker processes in the server, in the function itself on Lambda.
///
/// Contract: failures are [`crate::Error::Render`] (the document or a limit, or the renderer's
/// state, with `retryable` saying which) or [`crate::Error::InvalidRequest`] (options the
/// renderer cannot honour); the three outputs of one request agree (same title, warnings).
#[async_trait]
pub trait Renderer: Send + Sync + 'static {
    /// Renders one document as PDF.
    async fn render(&self, request: RenderRequest) -> Result<RenderedPdf>;
    /// Renders one document's pages as SVG (a newer request of the same owner may replace one
    /// still waiting, which then fails as overloaded).
    async fn pages(&self, request: RenderRequest) -> Result<RenderedPages>;
    /// The HTML preview of one document.
    async fn html(&self, request: RenderRequest) -> Result<HtmlPreview>;
    /// The image references of `markdown` as written, in order, without repeats: which images
    /// a render of it needs (a parse, no layout: cheap and safe in the calling process).
    fn image_references(&self, markdown: &str) -> Vec<String>;
    /// Readiness and counters.
    fn health(&self) -> RendererHealth {
        RendererHealth::default()
    }
}

/// The current time (injectable for tests).
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// What an idempotency key is bound to: the document a create made, and the request it came
/// with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The document id the first request chose.
    pub document: DocumentId,
    /// SHA-256 (hex) of the request body.
    pub body_sha256: String,
    /// When the key was first used (ms).
    pub created_ms: i64,
}

/// Idempotency keys of create requests: (identity, key) → (document id, body hash), recorded
/// before any object is written, so a retry — even after a crash — completes the same document.
///
/// Contract: `bind` is atomic per (identity, key): the first binding wins and is returned to
/// every later call until it is older than `expired_before_ms`, when a new one replaces it.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Binds the key to `proposed` unless a live binding exists; returns the binding in force.
    async fn bind(
        &self,
        identity: &IdentityId,
        key: &str,
        proposed: &IdempotencyRecord,
        expired_before_ms: i64,
    ) -> Result<IdempotencyRecord>;
    /// Deletes bindings older than `before_ms` (housekeeping); returns how many.
    async fn purge(&self, before_ms: i64) -> Result<u64>;
    /// Whether the backend answers now (readiness), by reading only: a probe never writes.
    async fn ready(&self) -> Result<()>;
}

/// A rate budget: `burst` requests at once, refilled at `per_minute` a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    /// Requests allowed at once (at least 1).
    pub burst: u32,
    /// Requests refilled per minute (at least 1).
    pub per_minute: u32,
}

/// Whether a rate-limited request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead (one was taken from the budget).
    Admitted,
    /// Not now: the budget has one again in this many seconds.
    Refused {
        /// Seconds until a request would be admitted (at least 1).
        retry_after_secs: u64,
    },
}

/// A counter of the rate-limits store: a count and a time, which the policy over it reads (see
/// [`crate::limits`]). The default — zero at time zero — is a counter never set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// Failures counted (throttles); unused by budgets.
    pub count: u32,
    /// A time in ms since the epoch: a budget's next arrival, a throttle's last failure or
    /// window start.
    pub at_ms: i64,
}

/// Rate limits and sign-in throttles, shared by every process of a deployment: counters changed
/// only by compare-and-swap, with the policies ([`crate::limits`]) built over them once.
///
/// Contract: `swap` is atomic — of concurrent swaps from the same expected counter exactly one
/// succeeds, in every process sharing the store; a counter past its expiry reads as the
/// default (and swapping from the default then succeeds); keys are independent. Through the
/// policies: N concurrent takes on a fresh key with a budget of k admit exactly min(N, k); N
/// concurrent reservations on a throttle key with f free failures reserve exactly min(N, f).
#[async_trait]
pub trait RateLimits: Send + Sync + 'static {
    /// `key`'s counter at `now_ms` (the default for a key never set or expired).
    async fn get(&self, key: &str, now_ms: i64) -> Result<Counter>;
    /// Sets `key` to `new` if at `now_ms` it is still `expected` (an expired counter being the
    /// default), atomically; whether it did. The store may forget the counter after
    /// `expires_ms`.
    async fn swap(
        &self,
        key: &str,
        expected: Counter,
        new: Counter,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<bool>;
    /// Takes one request from `key`'s budget at `now_ms` ([`crate::limits::take`]).
    async fn take(&self, key: &str, budget: RateBudget, now_ms: i64) -> Result<Admission> {
        crate::limits::take(self, key, budget, now_ms).await
    }
    /// Whether the backend answers now (readiness), by reading only: a probe never writes.
    async fn ready(&self) -> Result<()>;
}

/// A lease for singleton background work (the reconciler, housekeeping): at most one holder
/// runs it at a time.
///
/// Contract: `try_hold` grants the lease to `holder` when nobody holds it, when its holder let
/// it lapse (`ttl` passed without a renewal) or released it, or when `holder` already holds it
/// (a renewal); otherwise it answers `false`. Concurrent attempts by different holders on a free
/// lease grant exactly one. A holder calls it before each unit of work and stops when it
/// answers `false`: an adapter backed by a session lock answers `false` once its session is
/// gone. Work must be harmless when done twice (an old holder may finish its unit after a new
/// one started).
#[async_trait]
pub trait Lease: Send + Sync + 'static {
    /// Takes or renews the lease `name` for `holder` until `now_ms + ttl_ms`.
    async fn try_hold(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool>;
    /// Gives the lease up, if `holder` holds it.
    async fn release(&self, name: &str, holder: &str) -> Result<()>;
    /// Whether the backend answers now (readiness), by reading only: a probe never writes.
    async fn ready(&self) -> Result<()>;
}

/// The renderer of a pipeline that renders nothing: the indexer and the reconciler (on AWS, the
/// indexer function) need no renderer, and should not have to build one. Every render is
/// refused as not retryable, and readiness says why.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRenderer;

impl NoRenderer {
    fn refuse<T>() -> Result<T> {
        Err(crate::Error::render(
            crate::RenderFailure::Failed,
            "this process renders nothing (it has no renderer)",
            false,
        ))
    }
}

#[async_trait]
impl Renderer for NoRenderer {
    async fn render(&self, _: RenderRequest) -> Result<RenderedPdf> {
        Self::refuse()
    }
    async fn pages(&self, _: RenderRequest) -> Result<RenderedPages> {
        Self::refuse()
    }
    async fn html(&self, _: RenderRequest) -> Result<HtmlPreview> {
        Self::refuse()
    }
    fn image_references(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
    fn health(&self) -> RendererHealth {
        RendererHealth { ready: Err("no renderer".to_owned()), ..RendererHealth::default() }
    }
}
