//! The image library's functions: upload (a new name, or new bytes under a name), list, fetch,
//! delete, and resolving a document's image references against its owner's images only.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::images::{
    ImageInfo, ImageLimits, ImageName, blob_path, entry_path, hex, inspect, library_prefix,
};
use crate::{Error, IdentityId, Pipeline, Result};

/// Stores `bytes` as the caller's image `name` (replacing what the name showed before: documents
/// made with the old bytes keep them). Checked before anything is stored ([`inspect`]).
pub async fn put_image(
    pipeline: &Pipeline,
    caller: &IdentityId,
    name: &str,
    bytes: Bytes,
    claimed_type: Option<&str>,
) -> Result<ImageInfo> {
    let name = ImageName::parse(name)?;
    let seen = inspect(&bytes, claimed_type, &pipeline.settings.images)?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let info = ImageInfo {
        name,
        kind: seen.kind,
        bytes: bytes.len() as u64,
        width: seen.width,
        height: seen.height,
        sha256,
        uploaded: super::rfc3339(pipeline.clock.now_ms()),
    };
    let entry = serde_json::to_vec(&info).map_err(|e| Error::Corrupt(e.to_string()))?;
    let entry_at = entry_path(caller, &info.name);
    // Counted before anything is stored: the bytes unless this owner has them already, and
    // the entry in place of the one it replaces.
    let new_bytes = match pipeline.objects.head(&blob_path(caller, &info.sha256)).await {
        Ok(_) => 0,
        Err(object_store::Error::NotFound { .. }) => bytes.len() as u64,
        Err(err) => return Err(Error::unavailable(err)),
    };
    let replaced = super::size_of(pipeline, &entry_at).await?;
    let added = (new_bytes + entry.len() as u64).saturating_sub(replaced);
    super::reserve(pipeline, caller, added).await?;
    // The bytes first, then the name that points at them: a crash in between leaves bytes that
    // nothing names, which reconciliation removes.
    let stored = async {
        store_bytes(pipeline, caller, &info.sha256, bytes).await?;
        pipeline.objects.put(&entry_at, PutPayload::from(entry)).await.map_err(Error::from)
    }
    .await;
    if let Err(err) = stored {
        super::release(pipeline, caller, added).await;
        return Err(err);
    }
    Ok(info)
}

/// Stores image bytes in `owner`'s space under their SHA-256, unless they are there already.
async fn store_bytes(
    pipeline: &Pipeline,
    owner: &IdentityId,
    sha256: &str,
    bytes: Bytes,
) -> Result<()> {
    let blob = blob_path(owner, sha256);
    match pipeline.objects.head(&blob).await {
        Ok(_) => Ok(()),
        Err(object_store::Error::NotFound { .. }) => pipeline
            .objects
            .put(&blob, PutPayload::from(bytes))
            .await
            .map(drop)
            .map_err(Error::from),
        Err(err) => Err(Error::unavailable(err)),
    }
}

/// Keeps the images a caller handed in with a document (the CLI's, read beside the file) in the
/// owner's space, as the library's are: reference → SHA-256 for the manifest. Bytes the intake
/// would refuse are not kept (the renderer shows what it can of them).
pub(crate) async fn keep_handed_images(
    pipeline: &Pipeline,
    owner: &IdentityId,
    assets: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, String>> {
    let mut kept = BTreeMap::new();
    for (reference, bytes) in assets {
        if inspect(bytes, None, &pipeline.settings.images).is_err() {
            continue;
        }
        let sha256 = hex(&Sha256::digest(bytes));
        let blob = blob_path(owner, &sha256);
        if super::size_of(pipeline, &blob).await? == 0 {
            super::reserve(pipeline, owner, bytes.len() as u64).await?;
            store_bytes(pipeline, owner, &sha256, Bytes::from(bytes.clone())).await?;
        }
        kept.insert(reference.clone(), sha256);
    }
    Ok(kept)
}

/// The caller's images, by name.
pub async fn list_images(pipeline: &Pipeline, caller: &IdentityId) -> Result<Vec<ImageInfo>> {
    let prefix = library_prefix(caller);
    let entries: Vec<_> =
        pipeline.objects.list(Some(&prefix)).try_collect().await.map_err(Error::unavailable)?;
    let mut images = Vec::with_capacity(entries.len());
    for entry in entries {
        match read_entry(pipeline, &entry.location).await {
            Ok(info) => images.push(info),
            // Deleted between the listing and the read.
            Err(Error::NotFound) => {}
            Err(err) => return Err(err),
        }
    }
    images.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(images)
}

async fn read_entry(pipeline: &Pipeline, path: &object_store::path::Path) -> Result<ImageInfo> {
    let bytes = pipeline.objects.get(path).await?.bytes().await.map_err(Error::unavailable)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("{path}: {e}")))
}

/// The caller's image `name`: its entry and its bytes.
pub async fn get_image(
    pipeline: &Pipeline,
    caller: &IdentityId,
    name: &str,
) -> Result<(ImageInfo, Bytes)> {
    let name = ImageName::parse(name).map_err(|_| Error::NotFound)?;
    let info = read_entry(pipeline, &entry_path(caller, &name)).await?;
    let bytes = read_blob(pipeline, caller, &info.sha256).await?;
    Ok((info, bytes))
}

async fn read_blob(pipeline: &Pipeline, owner: &IdentityId, sha256: &str) -> Result<Bytes> {
    let path = blob_path(owner, sha256);
    match pipeline.objects.get(&path).await {
        Ok(found) => found.bytes().await.map_err(Error::unavailable),
        Err(object_store::Error::NotFound { .. }) => {
            Err(Error::Corrupt(format!("{path} is named but missing")))
        }
        Err(err) => Err(Error::unavailable(err)),
    }
}

/// The caller's image bytes with this SHA-256 (a library image's or a document's, whichever
/// stored them) and their type: what the text preview shows.
pub async fn get_image_bytes(
    pipeline: &Pipeline,
    caller: &IdentityId,
    sha256: &str,
) -> Result<(crate::images::ImageType, Bytes)> {
    let hex64 =
        sha256.len() == 64 && sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hex64 {
        return Err(Error::NotFound);
    }
    let bytes = match pipeline.objects.get(&blob_path(caller, sha256)).await {
        Ok(found) => found.bytes().await.map_err(Error::unavailable)?,
        Err(object_store::Error::NotFound { .. }) => return Err(Error::NotFound),
        Err(err) => return Err(Error::unavailable(err)),
    };
    let kind = crate::images::sniff(&bytes)
        .ok_or_else(|| Error::Corrupt(format!("the stored image {sha256} is not an image")))?;
    Ok((kind, bytes))
}

/// Removes the caller's image `name` from the library. Documents made with it keep its bytes.
pub async fn delete_image(pipeline: &Pipeline, caller: &IdentityId, name: &str) -> Result<()> {
    let name = ImageName::parse(name).map_err(|_| Error::NotFound)?;
    let path = entry_path(caller, &name);
    // The bytes stay while documents keep them; reconciliation removes (and uncounts) them.
    match pipeline.objects.head(&path).await {
        Ok(meta) => {
            pipeline.objects.delete(&path).await?;
            super::release(pipeline, caller, meta.size).await;
            Ok(())
        }
        Err(object_store::Error::NotFound { .. }) => Err(Error::NotFound),
        Err(err) => Err(Error::unavailable(err)),
    }
}

/// A document's images, resolved: the bytes to hand the renderer, keyed by the reference as
/// written, and which bytes each reference got (recorded in the document's manifest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvedImages {
    /// Reference → bytes.
    pub assets: BTreeMap<String, Vec<u8>>,
    /// Reference → SHA-256 of its bytes.
    pub used: BTreeMap<String, String>,
}

/// Resolves `markdown`'s image references against `owner`'s images only: a reference names an
/// image after percent-decoding and NFC. `pinned` (reference → SHA-256, a document's manifest)
/// comes first, so a document shows the images it was made with; then the library. A reference
/// that names nothing is left out (the renderer shows a placeholder and a warning). Fails before
/// any layout when the images together have more pixels than a document may show.
///
/// With `names_only`, nothing is read but the library entries and each asset is empty: the HTML
/// preview needs to know which references resolve, not their bytes.
pub async fn resolve_images(
    pipeline: &Pipeline,
    owner: &IdentityId,
    markdown: &str,
    pinned: &BTreeMap<String, String>,
    names_only: bool,
) -> Result<ResolvedImages> {
    let references = pipeline.renderer.image_references(markdown);
    let mut resolved = ResolvedImages::default();
    let mut pixels: u64 = 0;
    let limits: &ImageLimits = &pipeline.settings.images;
    for reference in references {
        let sha256 = match pinned.get(&reference) {
            Some(sha256) => sha256.clone(),
            None => {
                let Some(name) = ImageName::from_reference(&reference) else { continue };
                match read_entry(pipeline, &entry_path(owner, &name)).await {
                    Ok(info) => info.sha256,
                    Err(Error::NotFound) => continue,
                    Err(err) => return Err(err),
                }
            }
        };
        if names_only {
            resolved.used.insert(reference.clone(), sha256);
            resolved.assets.insert(reference, Vec::new());
            continue;
        }
        let bytes = match read_blob(pipeline, owner, &sha256).await {
            Ok(bytes) => bytes,
            Err(Error::Corrupt(_)) => continue,
            Err(err) => return Err(err),
        };
        // Stored bytes passed intake; their header is read again for the document's budget.
        if let Ok(size) = imagesize::blob_size(&bytes) {
            pixels = pixels.saturating_add((size.width as u64).saturating_mul(size.height as u64));
        }
        if pixels > limits.max_document_pixels {
            return Err(Error::render(
                crate::RenderFailure::DocumentTooComplex,
                format!(
                    "the document's images have more than {} million pixels together; use fewer or smaller images",
                    limits.max_document_pixels / 1_000_000
                ),
                false,
            ));
        }
        resolved.used.insert(reference.clone(), sha256);
        resolved.assets.insert(reference, bytes.to_vec());
    }
    Ok(resolved)
}

/// The images one of the caller's documents was made with (reference → SHA-256), from its
/// manifest: what a preview of that document pins. `NotFound` for another's document.
pub async fn document_images(
    pipeline: &Pipeline,
    caller: &IdentityId,
    id: &crate::DocumentId,
) -> Result<BTreeMap<String, String>> {
    use crate::ids::{ObjectKey, ObjectKind};
    let manifest = ObjectKey::new(*caller, *id, ObjectKind::Manifest);
    let bytes = pipeline.objects.get(&manifest.path()).await?.bytes().await?;
    let manifest: crate::Manifest =
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(format!("{manifest}: {e}")))?;
    Ok(manifest.images)
}
