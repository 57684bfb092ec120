//! folio's embedded adapters: everything on local disk under one data directory.
//!
//! - objects: `object_store`'s `LocalFileSystem` under `<data-dir>/objects`, fsynced after each
//!   write ([`SyncedStore`]) and wrapped by `folio_core::PublishingStore`;
//! - index, event log (outbox + dead letters) and secrets: SQLite in WAL mode at
//!   `<data-dir>/folio.db` ([`Database`]);
//! - download URLs: HMAC-signed `/files/…` paths (`folio_core::downloads::HmacSigner`, shared
//!   with the cluster shape).

mod accounts;
mod database;
mod embedded;
mod events;
mod idempotency;
mod index;
mod keyring;
pub mod permissions;
mod secrets;
mod synced;
mod usage;

pub use accounts::SqliteAccounts;
pub use database::{Database, Durability};
pub use embedded::{BackupReport, Embedded};
pub use events::SqliteEventLog;
pub use idempotency::SqliteIdempotency;
pub use index::SqliteIndex;
pub use keyring::SqliteKeyRing;
pub use secrets::SqliteSecrets;
pub use synced::SyncedStore;
pub use usage::SqliteUsage;
