//! The event-publishing objects adapter: wraps any `ObjectStore` and records an object event
//! in the event log after every successful put or delete of a watched key — what S3 bucket
//! notifications do on AWS, done by folio itself for local files and S3-compatible stores.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};

use crate::event::Change;
use crate::ports::{EventPublisher, ObjectChange};

/// Which keys raise events, like an S3 notification's prefix and suffix filter. folio watches
/// `ugc/` + `.pdf`: one event per document change, and the indexer acts on PDFs only anyway.
#[derive(Debug, Clone)]
pub struct EventFilter {
    /// Keys must start with this.
    pub prefix: String,
    /// Keys must end with this.
    pub suffix: String,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self { prefix: format!("{}/", crate::ids::UGC_PREFIX), suffix: ".pdf".to_owned() }
    }
}

impl EventFilter {
    fn matches(&self, key: &str) -> bool {
        key.starts_with(&self.prefix) && key.ends_with(&self.suffix)
    }
}

/// An `ObjectStore` that publishes object events for watched keys after each successful write.
///
/// If publishing fails after the write succeeded, the call returns the error (the caller may
/// retry) and the object exists without an event: reconciliation (`reindex`) repairs that.
pub struct PublishingStore {
    inner: Arc<dyn ObjectStore>,
    events: Arc<dyn EventPublisher>,
    filter: EventFilter,
}

impl PublishingStore {
    /// Wraps `inner`, publishing to `events` for keys `filter` watches.
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        events: Arc<dyn EventPublisher>,
        filter: EventFilter,
    ) -> Self {
        Self { inner, events, filter }
    }

    async fn publish(
        &self,
        change: Change,
        location: &Path,
        size: Option<u64>,
        etag: Option<String>,
    ) -> object_store::Result<()> {
        if !self.filter.matches(location.as_ref()) {
            return Ok(());
        }
        // The object is written; its event is not yet recorded.
        crate::failpoint::failpoint("publish.before-event");
        let change = ObjectChange { change, key: location.to_string(), size, etag };
        self.events.publish(change).await.map(drop).map_err(|err| object_store::Error::Generic {
            store: "folio-events",
            source: Box::new(err),
        })
    }
}

impl fmt::Debug for PublishingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishingStore")
            .field("inner", &self.inner)
            .field("filter", &self.filter)
            .finish()
    }
}

impl fmt::Display for PublishingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Publishing({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for PublishingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let size = payload.content_length() as u64;
        let result = self.inner.put_opts(location, payload, opts).await?;
        self.publish(Change::Created, location, Some(size), result.e_tag.clone()).await?;
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(PublishingUpload {
            upload,
            location: location.clone(),
            size: 0,
            events: Arc::clone(&self.events),
            watched: self.filter.matches(location.as_ref()),
        }))
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
        let events = Arc::clone(&self.events);
        let filter = self.filter.clone();
        self.inner
            .delete_stream(locations)
            .then(move |result| {
                let events = Arc::clone(&events);
                let filter = filter.clone();
                async move {
                    let path = result?;
                    if filter.matches(path.as_ref()) {
                        let change = ObjectChange {
                            change: Change::Removed,
                            key: path.to_string(),
                            size: None,
                            etag: None,
                        };
                        events.publish(change).await.map_err(|err| {
                            object_store::Error::Generic {
                                store: "folio-events",
                                source: Box::new(err),
                            }
                        })?;
                    }
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
        self.publish(Change::Created, to, None, None).await
    }
}

/// A multipart upload that publishes its object's event once it completes.
struct PublishingUpload {
    upload: Box<dyn MultipartUpload>,
    location: Path,
    size: u64,
    events: Arc<dyn EventPublisher>,
    watched: bool,
}

impl fmt::Debug for PublishingUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublishingUpload").field("location", &self.location).finish()
    }
}

#[async_trait]
impl MultipartUpload for PublishingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.size += data.content_length() as u64;
        self.upload.put_part(data)
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let result = self.upload.complete().await?;
        if self.watched {
            let change = ObjectChange {
                change: Change::Created,
                key: self.location.to_string(),
                size: Some(self.size),
                etag: result.e_tag.clone(),
            };
            self.events.publish(change).await.map_err(|err| object_store::Error::Generic {
                store: "folio-events",
                source: Box::new(err),
            })?;
        }
        Ok(result)
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.upload.abort().await
    }
}
