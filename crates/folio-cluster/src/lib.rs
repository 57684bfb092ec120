//! The self-hosted cluster shape's adapters: identical `folio serve` instances sharing their
//! state through PostgreSQL (feature `postgres`) and their object events through NATS
//! JetStream (feature `nats`), their files in any S3-compatible store (feature `s3`).
//!
//! What is here: the document index, secrets, idempotency keys, rate-limit counters, the
//! lease, and the built-in user pool's accounts and signing-key ring, each passing its port's
//! contract suite (`folio_core::testing`, `folio_auth::testing`) against a real server. The schema is applied at connect under a transaction-scoped advisory lock, so
//! instances starting together do not race, and every migration is additive.

#[cfg(all(feature = "postgres", feature = "nats", feature = "s3"))]
mod cluster;
#[cfg(feature = "nats")]
mod nats;
#[cfg(feature = "postgres")]
mod postgres;

#[cfg(all(feature = "postgres", feature = "nats", feature = "s3"))]
pub use cluster::{Cluster, ClusterUrls};
#[cfg(feature = "s3")]
pub use folio_s3::{Downloads, PresignedDownloads, S3Options};
#[cfg(feature = "nats")]
pub use nats::{NatsEventLog, NatsOptions};

#[cfg(feature = "postgres")]
pub use postgres::{
    PgAccounts, PgIdempotency, PgIndex, PgKeyRing, PgLease, PgRateLimits, PgSecrets, PgUsage,
    Postgres, PostgresOptions,
};

/// Throwaway databases and streams for tests of this crate and of the binary's cluster shape.
#[cfg(any(feature = "postgres", feature = "nats"))]
pub mod testing {
    #[cfg(feature = "nats")]
    pub use crate::nats::TestStreams;
    #[cfg(feature = "postgres")]
    pub use crate::postgres::TestDatabase;
}
