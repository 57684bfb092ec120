//! The pipeline: the ports one deployment wires together, passed to every function.

use std::sync::Arc;

use object_store::ObjectStore;

use crate::ports::{Clock, DocumentIndex, EventPublisher, Renderer, UrlSigner};

/// Limits and lifetimes of the functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a download URL stays valid, in seconds (default 15 minutes).
    pub download_ttl_secs: i64,
    /// Largest markdown source in bytes (default 512 KiB).
    pub max_source_bytes: usize,
    /// How old a source or manifest without a PDF must be before reconciliation removes it
    /// (default 15 minutes: longer than any create takes).
    pub orphan_grace_ms: i64,
    /// What an image upload and a document's images may be.
    pub images: crate::images::ImageLimits,
    /// How many bytes one identity may store (`None`: no limit; default 1 GiB). What counts:
    /// see [`crate::ports::UsageCounter`].
    pub quota_bytes: Option<u64>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            download_ttl_secs: 15 * 60,
            max_source_bytes: 512 * 1024,
            orphan_grace_ms: 15 * 60 * 1000,
            images: crate::images::ImageLimits::default(),
            quota_bytes: Some(1 << 30),
        }
    }
}

/// Everything the functions need. Cheap to clone.
#[derive(Clone)]
pub struct Pipeline {
    /// The object store, wrapped so that writes of watched keys publish events (or, on AWS,
    /// S3 itself, which notifies).
    pub objects: Arc<dyn ObjectStore>,
    /// The document index.
    pub index: Arc<dyn DocumentIndex>,
    /// Where events are published (reconciliation publishes repairs through it).
    pub events: Arc<dyn EventPublisher>,
    /// The renderer.
    pub renderer: Arc<dyn Renderer>,
    /// What each identity stores (the quota's measure).
    pub usage: Arc<dyn crate::ports::UsageCounter>,
    /// Signs download URLs.
    pub signer: Arc<dyn UrlSigner>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Limits and lifetimes.
    pub settings: Settings,
}
