//! reindex: the bucket is the source of truth and the index a view. Reconciliation lists every
//! object and publishes the events that bring the index back in line — a created event for a
//! PDF without a record, a removed event for a record without a PDF — so the indexer, with its
//! ordering rules, does the repair. Sources and manifests left without a PDF by a crash are
//! removed once they are older than the grace period.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Serialize;

use crate::Manifest;
use crate::event::{Change, ObjectEvent, Sequencer};
use crate::functions::index_object_event;
use crate::ids::{DocumentId, IdentityId, ObjectKey, ObjectKind, UGC_PREFIX};
use crate::images::{ImageInfo, ImageKey};
use crate::ports::{EventPublisher, ObjectChange};
use crate::{Error, Pipeline, Result};

/// What a reconciliation found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReindexReport {
    /// PDFs in the store.
    pub pdfs: usize,
    /// Live records in the index.
    pub records: usize,
    /// PDFs without a record: a created event was published for each.
    pub missing_records: usize,
    /// Records without a PDF: a removed event was published for each.
    pub stale_records: usize,
    /// Sources and manifests without a PDF, older than the grace period, removed.
    pub orphans_removed: usize,
    /// Keys under `ugc/` that are not folio's (left alone).
    pub foreign_keys: usize,
    /// Stored image bytes (library images and the images documents keep).
    pub images: usize,
    /// Image bytes that no library entry and no document named, older than the grace period,
    /// removed.
    pub images_removed: usize,
    /// Identities whose storage usage was set to what the store holds for them.
    pub usage_recounted: usize,
    /// Repairs that cannot succeed (a PDF whose manifest is missing or unreadable), where they
    /// are indexed in process; elsewhere such an event is dead-lettered.
    pub failed_repairs: Vec<FailedRepair>,
}

/// A repair that failed for good, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedRepair {
    /// The PDF's key.
    pub key: String,
    /// Why it cannot be indexed.
    pub error: String,
}

#[derive(Default)]
struct Found {
    pdf: Option<u64>,
    /// (path, last modified ms, size) of the source and the manifest.
    others: Vec<(Path, i64, u64)>,
}

/// Reconciles the index with the object store.
pub async fn reindex(pipeline: &Pipeline) -> Result<ReindexReport> {
    let mut report = ReindexReport::default();
    let mut documents: BTreeMap<(IdentityId, DocumentId), Found> = BTreeMap::new();
    let prefix = Path::from(UGC_PREFIX);
    let mut listing = pipeline.objects.list(Some(&prefix));
    let mut images: BTreeMap<IdentityId, OwnerImages> = BTreeMap::new();
    // What each identity stores, as listed (less what this pass removes): the usage counter's
    // exact value.
    let mut usage: BTreeMap<IdentityId, u64> = BTreeMap::new();
    while let Some(meta) = listing.try_next().await.map_err(Error::unavailable)? {
        let Ok(key) = meta.location.as_ref().parse::<ObjectKey>() else {
            match ImageKey::parse(meta.location.as_ref()) {
                Some(ImageKey::Bytes(owner, sha)) => {
                    let modified = meta.last_modified.timestamp_millis();
                    *usage.entry(owner).or_default() += meta.size;
                    let found = images.entry(owner).or_default();
                    found.bytes.push((sha, meta.location, modified, meta.size));
                }
                Some(ImageKey::Entry(owner)) => {
                    *usage.entry(owner).or_default() += meta.size;
                    images.entry(owner).or_default().entries.push(meta.location);
                }
                None => report.foreign_keys += 1,
            }
            continue;
        };
        *usage.entry(key.identity).or_default() += meta.size;
        let found = documents.entry((key.identity, key.document)).or_default();
        match key.kind {
            ObjectKind::Pdf => found.pdf = Some(meta.size),
            _ => {
                found.others.push((meta.location, meta.last_modified.timestamp_millis(), meta.size))
            }
        }
    }

    let now = pipeline.clock.now_ms();
    for ((identity, id), found) in &documents {
        match found.pdf {
            Some(size) => {
                report.pdfs += 1;
                if pipeline.index.get(identity, id).await?.is_none() {
                    let key = ObjectKey::new(*identity, *id, ObjectKind::Pdf);
                    publish(pipeline, Change::Created, &key, Some(size)).await?;
                    report.missing_records += 1;
                }
            }
            None => {
                for (path, modified, size) in &found.others {
                    if now - modified >= pipeline.settings.orphan_grace_ms {
                        match pipeline.objects.delete(path).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                                report.orphans_removed += 1;
                                if let Some(total) = usage.get_mut(identity) {
                                    *total = total.saturating_sub(*size);
                                }
                            }
                            Err(err) => return Err(Error::unavailable(err)),
                        }
                    }
                }
            }
        }
    }

    for (owner, found) in &images {
        report.images += found.bytes.len();
        let (removed, freed) = collect_images(pipeline, owner, found, &documents, now).await?;
        report.images_removed += removed;
        if let Some(total) = usage.get_mut(owner) {
            *total = total.saturating_sub(freed);
        }
    }
    for (identity, bytes) in &usage {
        pipeline.usage.set(identity, *bytes).await?;
        report.usage_recounted += 1;
    }

    let mut after = None;
    loop {
        let batch = pipeline.index.scan(after, 500).await?;
        let Some(last) = batch.last().copied() else { break };
        for (identity, id) in batch {
            report.records += 1;
            let has_pdf = documents.get(&(identity, id)).is_some_and(|f| f.pdf.is_some());
            // Double-check the store: the document may have been created after the listing.
            let key = ObjectKey::new(identity, id, ObjectKind::Pdf);
            if !has_pdf
                && matches!(
                    pipeline.objects.head(&key.path()).await,
                    Err(object_store::Error::NotFound { .. })
                )
            {
                publish(pipeline, Change::Removed, &key, None).await?;
                report.stale_records += 1;
            }
        }
        after = Some(last);
    }
    Ok(report)
}

/// One owner's image objects, as the listing found them.
#[derive(Default)]
struct OwnerImages {
    /// (SHA-256, path, last modified ms, size) of each stored bytes.
    bytes: Vec<(String, Path, i64, u64)>,
    /// Library entries.
    entries: Vec<Path>,
}

/// Removes `owner`'s image bytes that no library entry and no document's manifest names, once
/// they are older than the grace period (an upload stores the bytes before the entry that names
/// them; a create reads them before its manifest names them). Returns how many it removed, and
/// their bytes.
async fn collect_images(
    pipeline: &Pipeline,
    owner: &IdentityId,
    found: &OwnerImages,
    documents: &BTreeMap<(IdentityId, DocumentId), Found>,
    now: i64,
) -> Result<(usize, u64)> {
    let grace = pipeline.settings.orphan_grace_ms;
    if found.bytes.iter().all(|(_, _, modified, _)| now - modified < grace) {
        return Ok((0, 0));
    }
    let named = match images_named(pipeline, owner, found, documents).await {
        Ok(named) => named,
        // Something of theirs cannot be read: keep all their bytes rather than guess.
        Err(Error::Corrupt(why)) => {
            tracing::warn!(%owner, %why, "image bytes kept: a library entry or manifest is unreadable");
            return Ok((0, 0));
        }
        Err(err) => return Err(err),
    };
    let (mut removed, mut freed) = (0, 0);
    for (sha, path, modified, size) in &found.bytes {
        if named.contains(sha) || now - modified < grace {
            continue;
        }
        match pipeline.objects.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                removed += 1;
                freed += size;
            }
            Err(err) => return Err(Error::unavailable(err)),
        }
    }
    Ok((removed, freed))
}

/// Every SHA-256 `owner`'s library entries and documents name.
async fn images_named(
    pipeline: &Pipeline,
    owner: &IdentityId,
    found: &OwnerImages,
    documents: &BTreeMap<(IdentityId, DocumentId), Found>,
) -> Result<BTreeSet<String>> {
    let mut named = BTreeSet::new();
    for entry in &found.entries {
        if let Some(info) = read_json::<ImageInfo>(pipeline, entry).await? {
            named.insert(info.sha256);
        }
    }
    let mine = documents.range((*owner, DocumentId::position(uuid::Uuid::nil()))..);
    for ((identity, id), _) in mine.take_while(|((identity, _), _)| identity == owner) {
        let manifest = ObjectKey::new(*identity, *id, ObjectKind::Manifest).path();
        if let Some(manifest) = read_json::<Manifest>(pipeline, &manifest).await? {
            named.extend(manifest.images.into_values());
        }
    }
    Ok(named)
}

/// A JSON object of the store; `None` when it is gone (deleted since the listing). One that
/// cannot be read as `T` is corrupt: the pass stops rather than remove what it may name.
async fn read_json<T: serde::de::DeserializeOwned>(
    pipeline: &Pipeline,
    path: &Path,
) -> Result<Option<T>> {
    let bytes = match pipeline.objects.get(path).await {
        Ok(found) => found.bytes().await.map_err(Error::unavailable)?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(Error::unavailable(err)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Corrupt(format!("{path}: {e}")))
}

async fn publish(
    pipeline: &Pipeline,
    change: Change,
    key: &ObjectKey,
    size: Option<u64>,
) -> Result<()> {
    pipeline
        .events
        .publish(ObjectChange { change, key: key.to_string(), size, etag: None })
        .await
        .map(drop)
}

/// Reconciles where folio cannot publish the repairs to the indexer's queue (the AWS shape: the
/// bucket notifies the indexer, and the scheduled reconcile function has no event log): finds
/// what [`reindex`] finds, then indexes each repair in this process, stamped so that it orders
/// correctly against the bucket's own events.
///
/// - A PDF without a record gets the smallest sequencer (`0`): it fills a gap, and loses to any
///   event the bucket sent (a tombstone stays: the document was deleted on purpose).
/// - A record without a PDF is removed with its own sequencer and one more digit, which orders
///   right after it (sequencers compare right-padded with zeros).
///
/// A repair that cannot succeed (a broken document) is named in the report and the pass goes on;
/// one that may pass later (the store or the index unavailable) ends the pass with its error.
pub async fn reindex_in_process(pipeline: &Pipeline) -> Result<ReindexReport> {
    let repairs = Arc::new(Repairs::default());
    let mut finding = pipeline.clone();
    finding.events = Arc::clone(&repairs) as Arc<dyn EventPublisher>;
    let mut report = reindex(&finding).await?;
    let found = std::mem::take(&mut *repairs.0.lock().unwrap_or_else(PoisonError::into_inner));
    for change in found {
        let Some(sequencer) = repair_sequencer(pipeline, &change).await? else { continue };
        let event = ObjectEvent {
            change: change.change,
            key: change.key,
            size: change.size,
            etag: None,
            sequencer,
            time: crate::functions::rfc3339(pipeline.clock.now_ms()),
        };
        match index_object_event(pipeline, &event).await {
            Ok(_) => {}
            Err(err @ (Error::Corrupt(_) | Error::InvalidRequest(_))) => {
                tracing::warn!(key = %event.key, error = %err, "a repair cannot be indexed");
                report.failed_repairs.push(FailedRepair { key: event.key, error: err.to_string() });
            }
            Err(err) => return Err(err),
        }
    }
    Ok(report)
}

/// The sequencer of a repair (see [`reindex_in_process`]); `None` where the record's own is
/// already at the longest width and nothing orders after it.
async fn repair_sequencer(pipeline: &Pipeline, change: &ObjectChange) -> Result<Option<Sequencer>> {
    let key: ObjectKey = change.key.parse()?;
    let record = pipeline.index.get(&key.identity, &key.document).await?;
    match (change.change, record) {
        (Change::Removed, Some(record)) => {
            Ok(Sequencer::parse(&format!("{}1", record.sequencer.as_str())).ok())
        }
        _ => Sequencer::parse("0").map(Some),
    }
}

/// The repairs [`reindex`] asks for, kept instead of published.
#[derive(Default)]
struct Repairs(Mutex<Vec<ObjectChange>>);

#[async_trait]
impl EventPublisher for Repairs {
    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent> {
        let event = ObjectEvent {
            change: change.change,
            key: change.key.clone(),
            size: change.size,
            etag: change.etag.clone(),
            sequencer: Sequencer::parse("0")?,
            time: String::new(),
        };
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(change);
        Ok(event)
    }

    async fn ready(&self) -> Result<()> {
        Ok(())
    }
}
