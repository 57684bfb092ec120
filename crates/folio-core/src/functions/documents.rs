//! One document: get (with a fresh download URL), its source, delete.

use object_store::ObjectStoreExt;

use super::DocumentSummary;
use crate::ids::{DocumentId, IdentityId, ObjectKey, ObjectKind};
use crate::{Error, Pipeline, Result};

/// One of the caller's documents, read from the store (the truth), not the index: it is there
/// the moment create answers and gone the moment delete answers, in every shape, while the
/// library list catches up. Another identity's document is `NotFound`, like a missing one.
pub async fn get_document(
    pipeline: &Pipeline,
    caller: &IdentityId,
    id: &DocumentId,
) -> Result<DocumentSummary> {
    stored_document(pipeline, caller, id).await?.ok_or(Error::NotFound)
}

/// One of the caller's documents as stored, whether or not the index has caught up: read from
/// its manifest when its PDF exists (`get_document`, and idempotent retries answer with it).
pub async fn stored_document(
    pipeline: &Pipeline,
    caller: &IdentityId,
    id: &DocumentId,
) -> Result<Option<DocumentSummary>> {
    let pdf = ObjectKey::new(*caller, *id, ObjectKind::Pdf);
    match pipeline.objects.head(&pdf.path()).await {
        Ok(_) => {}
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(Error::unavailable(err)),
    }
    let bytes =
        pipeline.objects.get(&pdf.with_kind(ObjectKind::Manifest).path()).await?.bytes().await?;
    let manifest: crate::Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Corrupt(format!("manifest of {pdf}: {e}")))?;
    let record =
        crate::DocumentRecord::from_manifest(&manifest, crate::event::Sequencer::from_number(0));
    Ok(Some(super::summarize(pipeline, &record).await?))
}

/// The markdown source of one of the caller's documents, for re-editing.
pub async fn get_source(
    pipeline: &Pipeline,
    caller: &IdentityId,
    id: &DocumentId,
) -> Result<String> {
    let key = ObjectKey::new(*caller, *id, ObjectKind::Pdf);
    // A source without its PDF is an unfinished create, not a document.
    pipeline.objects.head(&key.path()).await?;
    let bytes =
        pipeline.objects.get(&key.with_kind(ObjectKind::Source).path()).await?.bytes().await?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Error::Corrupt(format!("the source of {key} is not UTF-8")))
}

/// Deletes one of the caller's documents: the PDF first (its removal event removes the record),
/// then the manifest and the source.
pub async fn delete_document(
    pipeline: &Pipeline,
    caller: &IdentityId,
    id: &DocumentId,
) -> Result<()> {
    let pdf = ObjectKey::new(*caller, *id, ObjectKind::Pdf);
    let pdf_size = pipeline.objects.head(&pdf.path()).await?.size;
    pipeline.objects.delete(&pdf.path()).await?;
    let mut freed = pdf_size;
    for kind in [ObjectKind::Manifest, ObjectKind::Source] {
        let path = pdf.with_kind(kind).path();
        let size = super::size_of(pipeline, &path).await?;
        match pipeline.objects.delete(&path).await {
            Ok(()) => freed += size,
            Err(object_store::Error::NotFound { .. }) => {}
            Err(err) => return Err(Error::unavailable(err)),
        }
    }
    super::release(pipeline, caller, freed).await;
    Ok(())
}

/// The PDF a verified download URL names (`key` as it appears in the URL's path). Only a
/// document's PDF can be downloaded; any other key is `NotFound`. The caller has checked the
/// URL's signature: the signature is the credential.
pub async fn download_pdf(pipeline: &Pipeline, key: &str) -> Result<bytes::Bytes> {
    let key: ObjectKey = key.parse().map_err(|_| Error::NotFound)?;
    if key.kind != ObjectKind::Pdf {
        return Err(Error::NotFound);
    }
    Ok(pipeline.objects.get(&key.path()).await?.bytes().await?)
}
