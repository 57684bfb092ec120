//! Objects in S3 or any S3-compatible store (MinIO, Ceph, Garage, SeaweedFS, R2), behind the
//! `s3` feature: one adapter for the two shapes that keep their files there (AWS serverless and
//! the self-hosted cluster).

#[cfg(feature = "s3")]
mod presigned;
#[cfg(feature = "s3")]
mod store;

#[cfg(feature = "s3")]
pub use presigned::PresignedDownloads;
#[cfg(feature = "s3")]
pub use store::{Downloads, S3Options};
