//! The self-hosted cluster shape's adapters: identical `folio serve` instances sharing their
//! state through PostgreSQL (feature `postgres`).
//!
//! What is here: the document index, secrets, idempotency keys, rate-limit counters and the
//! lease, each passing its port's contract suite in `folio_core::testing` against a real
//! server. The schema is applied at connect under a transaction-scoped advisory lock, so
//! instances starting together do not race, and every migration is additive.

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
pub use postgres::{
    PgIdempotency, PgIndex, PgLease, PgRateLimits, PgSecrets, Postgres, PostgresOptions,
};

/// Throwaway databases for tests of this crate and of the binary's cluster shape.
#[cfg(feature = "postgres")]
pub mod testing {
    pub use crate::postgres::TestDatabase;
}
