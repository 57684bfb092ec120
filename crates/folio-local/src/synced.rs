//! Local files that survive power loss: `LocalFileSystem` writes atomically (a temporary file,
//! then a rename) but never fsyncs; this wrapper syncs the file and its directory after each
//! write and the directory after each delete, before acknowledging.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use crate::Durability;

/// `LocalFileSystem` with fsync after writes (unless [`Durability::Relaxed`]).
#[derive(Clone)]
pub struct SyncedStore {
    inner: Arc<LocalFileSystem>,
    durability: Durability,
}

impl SyncedStore {
    /// Stores objects under `root` (which must exist).
    pub fn new(root: &std::path::Path, durability: Durability) -> object_store::Result<Self> {
        Ok(Self {
            inner: Arc::new(LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true)),
            durability,
        })
    }

    async fn sync(&self, location: &Path, file_too: bool) -> object_store::Result<()> {
        if self.durability == Durability::Relaxed {
            return Ok(());
        }
        let file = self.inner.path_to_filesystem(location)?;
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if file_too {
                std::fs::File::open(&file)?.sync_all()?;
            }
            // After a delete, automatic cleanup may have removed empty directories: sync the
            // nearest one that still exists (it holds the removal).
            let mut dir = file.parent();
            while let Some(d) = dir {
                match std::fs::File::open(d) {
                    Ok(handle) => return handle.sync_all(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => dir = d.parent(),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| object_store::Error::Generic { store: "folio-local", source: Box::new(e) })?
        .map_err(|e| object_store::Error::Generic { store: "folio-local", source: Box::new(e) })
    }
}

impl fmt::Debug for SyncedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncedStore")
            .field("inner", &self.inner)
            .field("durability", &self.durability)
            .finish()
    }
}

impl fmt::Display for SyncedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Synced({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for SyncedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let result = self.inner.put_opts(location, payload, opts).await?;
        self.sync(location, true).await?;
        Ok(result)
    }

    /// Multipart uploads are passed through unsynced: folio writes documents with `put`.
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let this = self.clone();
        self.inner
            .delete_stream(locations)
            .then(move |result| {
                let this = this.clone();
                async move {
                    let path = result?;
                    this.sync(&path, false).await?;
                    Ok(path)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await?;
        self.sync(to, true).await
    }
}
