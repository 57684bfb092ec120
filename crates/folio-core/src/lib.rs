//! folio's document pipeline, independent of where it runs.
//!
//! The flow of the original serverless design: **create-pdf** renders markdown and stores the
//! source, a manifest and the PDF under `ugc/<identity>/`; storing the PDF raises an *object
//! created* event (the S3 notification shape); the **indexer** records the document in its
//! owner's index; **query** lists a library. The functions are plain async functions over
//! ports (`object_store::ObjectStore`, [`ports::DocumentIndex`], [`ports::EventLog`],
//! [`ports::Renderer`], [`ports::UrlSigner`]); adapters for SQLite, DynamoDB, PostgreSQL, NATS
//! and S3 plug in. This crate knows no HTTP, SQL, AWS or Typst.

pub mod backend_url;
mod dispatcher;
mod document;
pub mod downloads;
mod error;
pub mod event;
pub mod failpoint;
pub mod functions;
mod ids;
pub mod images;
pub mod limits;
mod memory;
pub mod options;
mod pipeline;
pub mod ports;
mod publishing;
pub mod secrets;
mod services;
#[cfg(feature = "testing")]
pub mod testing;

pub use dispatcher::{
    DispatchReport, RECONCILER_LEASE, RetryPolicy, dispatch_due, reconcile_in_process_once,
    reconcile_once, run_dispatcher, run_reconciler,
};
pub use document::{DocumentRecord, Engine, MANIFEST_VERSION, Manifest};
pub use error::{Error, ErrorCode, RenderFailure, Result};
pub use ids::{DocumentId, IdentityId, ObjectKey, ObjectKind, UGC_PREFIX};
pub use memory::{MemoryLease, MemoryRateLimits, MemoryUsage};
pub use pipeline::{Pipeline, Settings};
pub use publishing::{EventFilter, PublishingStore};
pub use services::{
    Background, BackgroundPolicy, HOUSEKEEPING_LEASE, Readiness, ReadinessReport, Services,
};
