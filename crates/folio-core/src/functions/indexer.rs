//! indexer: object events → the owner's index. Acts on PDF keys only. Order-proof by
//! construction: whatever the event says, the indexer records the *store's* current state of
//! that document, stamped with the event's sequencer, and the index keeps the newest stamp.

use object_store::ObjectStoreExt;

use crate::document::{DocumentRecord, Manifest};
use crate::event::{ObjectEvent, S3Notification};
use crate::ids::{ObjectKey, ObjectKind};
use crate::ports::{Applied, IndexChange};
use crate::{Error, Pipeline, Result};

/// What indexing one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexOutcome {
    /// Not a PDF under `ugc/`: nothing to do.
    Ignored,
    /// The document's record now exists with the manifest's fields.
    Upserted,
    /// The document's record is removed.
    Removed,
    /// The index already held a newer state; nothing changed.
    Stale,
}

/// What indexing one record of a notification did: each record succeeds or fails on its own,
/// so a function runtime can report exactly the failed ones for retry (a Lambda's
/// `batchItemFailures`) and acknowledge the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    /// The record's event.
    pub event: ObjectEvent,
    /// What indexing it did, or why it failed.
    pub result: Result<IndexOutcome>,
}

/// Indexes every record of an S3 notification (the Lambda entry point's input). Fails as a
/// whole only when the notification cannot be read; a failing record does not stop the others.
pub async fn index_notification(
    pipeline: &Pipeline,
    notification: &S3Notification,
) -> Result<Vec<RecordOutcome>> {
    let mut outcomes = Vec::new();
    for event in notification.events()? {
        let result = index_object_event(pipeline, &event).await;
        outcomes.push(RecordOutcome { event, result });
    }
    Ok(outcomes)
}

/// One message of a queue that carries S3 notifications (SQS between the bucket and the indexer
/// function on AWS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// The queue's id of the message (what a Lambda reports in `batchItemFailures`).
    pub id: String,
    /// The body: an S3 notification, or S3's `s3:TestEvent`.
    pub body: String,
}

/// Indexes a batch of queued notifications and returns the ids of the messages to deliver again:
/// those with a record that failed (each record of the others is done: indexed, stale, or not a
/// document), and those whose body is not a notification, which the queue's retries then move to
/// its dead-letter queue. `s3:TestEvent`s and keys outside `ugc/…pdf` need nothing.
pub async fn index_queue_batch(pipeline: &Pipeline, messages: &[QueueMessage]) -> Vec<String> {
    let mut again = Vec::new();
    for message in messages {
        let outcomes = match S3Notification::from_json(message.body.as_bytes()) {
            Ok(notification) => index_notification(pipeline, &notification).await,
            Err(err) => Err(err),
        };
        let failure = match outcomes {
            Ok(outcomes) => outcomes.into_iter().find_map(|o| o.result.err()),
            Err(err) => Some(err),
        };
        if let Some(err) = failure {
            tracing::warn!(message = %message.id, error = %err, "a queued notification will be delivered again");
            again.push(message.id.clone());
        }
    }
    again
}

/// Indexes one object event.
pub async fn index_object_event(pipeline: &Pipeline, event: &ObjectEvent) -> Result<IndexOutcome> {
    let Ok(key) = event.key.parse::<ObjectKey>() else { return Ok(IndexOutcome::Ignored) };
    if key.kind != ObjectKind::Pdf {
        return Ok(IndexOutcome::Ignored);
    }
    let pdf_exists = match pipeline.objects.head(&key.path()).await {
        Ok(_) => true,
        Err(object_store::Error::NotFound { .. }) => false,
        Err(err) => return Err(Error::unavailable(err)),
    };
    let change = if pdf_exists {
        let manifest = read_manifest(pipeline, &key).await?;
        IndexChange::Upsert(DocumentRecord::from_manifest(&manifest, event.sequencer.clone()))
    } else {
        IndexChange::Remove {
            identity: key.identity,
            id: key.document,
            sequencer: event.sequencer.clone(),
        }
    };
    let removed = matches!(change, IndexChange::Remove { .. });
    Ok(match pipeline.index.apply(change).await? {
        Applied::Stale => IndexOutcome::Stale,
        Applied::Changed if removed => IndexOutcome::Removed,
        Applied::Changed => IndexOutcome::Upserted,
    })
}

/// Reads and checks the manifest beside a PDF: it must describe exactly this key's document.
async fn read_manifest(pipeline: &Pipeline, pdf: &ObjectKey) -> Result<Manifest> {
    let manifest_key = pdf.with_kind(ObjectKind::Manifest);
    let bytes = match pipeline.objects.get(&manifest_key.path()).await {
        Ok(result) => result.bytes().await.map_err(Error::unavailable)?,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(Error::Corrupt(format!("{pdf} has no manifest")));
        }
        Err(err) => return Err(Error::unavailable(err)),
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Corrupt(format!("the manifest of {pdf} is not valid: {e}")))?;
    if manifest.owner != pdf.identity || manifest.id != pdf.document {
        return Err(Error::Corrupt(format!("the manifest of {pdf} describes another document")));
    }
    Ok(manifest)
}
