//! The functions of the original serverless design — create-pdf, indexer, query — and their
//! companions. Plain async functions over the ports; the caller's identity is an argument,
//! always taken from a verified token by the adapter that calls them.

mod create;
mod documents;
mod idempotent;
mod images;
mod indexer;
mod invoke;
mod query;
mod reindex;

pub use crate::options::CreateOptions;
pub use create::{
    CreateRequest, Created, MAX_TITLE_CHARS, check_markdown, check_title, create_pdf,
    create_pdf_with_id,
};
pub use documents::{delete_document, download_pdf, get_document, get_source, stored_document};
pub use idempotent::{IdempotencyKey, create_pdf_once};
pub use images::{
    ResolvedImages, delete_image, document_images, get_image, get_image_bytes, list_images,
    put_image, resolve_images,
};
pub use indexer::{
    IndexOutcome, QueueMessage, RecordOutcome, index_notification, index_object_event,
    index_queue_batch,
};
pub use invoke::{Invoker, invoke_create, invoke_query, refusal};
pub use query::{DocumentPage, DocumentSummary, QueryParams, query_documents};
pub use reindex::{FailedRepair, ReindexReport, reindex, reindex_in_process};

use crate::Pipeline;
use crate::document::DocumentRecord;
use crate::downloads::download_file_name;
use crate::ids::{ObjectKey, ObjectKind};

/// A fresh download URL for a document's PDF, named after its title.
pub(crate) async fn download_url(
    pipeline: &Pipeline,
    key: &ObjectKey,
    title: &str,
) -> crate::Result<String> {
    let expires = pipeline.clock.now_ms() / 1000 + pipeline.settings.download_ttl_secs;
    pipeline.signer.sign(key, expires, &download_file_name(title)).await
}

/// The summary a client sees of one document, with a fresh download URL.
pub(crate) async fn summarize(
    pipeline: &Pipeline,
    record: &DocumentRecord,
) -> crate::Result<DocumentSummary> {
    let key = ObjectKey::new(record.identity, record.id, ObjectKind::Pdf);
    let download_url = download_url(pipeline, &key, &record.title).await?;
    Ok(summary(record, download_url))
}

/// The summary of `record` with a URL already signed.
pub(crate) fn summary(record: &DocumentRecord, download_url: String) -> DocumentSummary {
    DocumentSummary {
        id: record.id,
        title: record.title.clone(),
        pages: record.pages,
        bytes: record.bytes,
        created: rfc3339(record.created_ms),
        download_url,
    }
}

/// Milliseconds since the epoch as RFC 3339 (UTC, millisecond precision).
pub fn rfc3339(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Counts `bytes` more against `owner`'s quota before they are stored: refused, and nothing
/// counted, when the total would pass it. Counting first makes concurrent writes safe: each
/// sees the others' bytes.
pub(crate) async fn reserve(
    pipeline: &Pipeline,
    owner: &crate::IdentityId,
    bytes: u64,
) -> crate::Result<()> {
    let delta = i64::try_from(bytes).unwrap_or(i64::MAX);
    let total = pipeline.usage.add(owner, delta).await?;
    match pipeline.settings.quota_bytes {
        Some(quota) if total > quota => {
            let before = total.saturating_sub(bytes);
            release(pipeline, owner, bytes).await;
            Err(crate::Error::Refused {
                code: crate::ErrorCode::QuotaExceeded,
                message: format!(
                    "this needs {bytes} more bytes; you store {before} of your {quota}"
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Counts `bytes` less for `owner` (stored bytes deleted, or a reservation not used). A failure
/// is logged, not returned: reconciliation recounts every total.
pub(crate) async fn release(pipeline: &Pipeline, owner: &crate::IdentityId, bytes: u64) {
    let delta = -i64::try_from(bytes).unwrap_or(i64::MAX);
    if let Err(err) = pipeline.usage.add(owner, delta).await {
        tracing::warn!(%owner, bytes, error = %err, "usage not lowered; reconciliation recounts it");
    }
}

/// Size of the object at `path`, 0 when there is none.
pub(crate) async fn size_of(
    pipeline: &Pipeline,
    path: &object_store::path::Path,
) -> crate::Result<u64> {
    use object_store::ObjectStoreExt;
    match pipeline.objects.head(path).await {
        Ok(meta) => Ok(meta.size),
        Err(object_store::Error::NotFound { .. }) => Ok(0),
        Err(err) => Err(crate::Error::unavailable(err)),
    }
}

/// What an identity stores against its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorageUsage {
    /// Bytes stored: documents (source, manifest, PDF) and images (each stored once).
    pub bytes: u64,
    /// The quota in bytes (`null`: none).
    pub quota: Option<u64>,
}

/// The caller's storage usage and quota.
pub async fn storage_usage(
    pipeline: &Pipeline,
    caller: &crate::IdentityId,
) -> crate::Result<StorageUsage> {
    Ok(StorageUsage {
        bytes: pipeline.usage.get(caller).await?,
        quota: pipeline.settings.quota_bytes,
    })
}
