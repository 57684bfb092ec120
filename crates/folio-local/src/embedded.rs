//! Wiring: the embedded adapters over one data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use folio_core::ports::{Clock, EventLog, Renderer, SecretStore};
use folio_core::{Error, EventFilter, Pipeline, PublishingStore, Result, Settings};
use object_store::ObjectStore;

use crate::{
    Database, Durability, HmacSigner, SqliteAccounts, SqliteEventLog, SqliteIdempotency,
    SqliteIndex, SqliteSecrets, SyncedStore,
};

/// The secret that signs download URLs.
pub const URL_SECRET: &str = "download-url-hmac";

/// folio's state on local disk: `<data-dir>/objects` and `<data-dir>/folio.db`.
#[derive(Clone)]
pub struct Embedded {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The database.
    pub database: Database,
    /// The object store without events (reconciliation and tools read through it).
    pub raw_objects: Arc<dyn ObjectStore>,
    /// The object store that publishes events: what the functions write through.
    pub objects: Arc<dyn ObjectStore>,
    /// The index.
    pub index: Arc<SqliteIndex>,
    /// The event log.
    pub events: Arc<SqliteEventLog>,
    /// Secrets.
    pub secrets: Arc<SqliteSecrets>,
    /// The download URL signer (and verifier).
    pub signer: Arc<HmacSigner>,
    /// User accounts of the built-in pool.
    pub accounts: Arc<SqliteAccounts>,
    /// Idempotency keys of create requests.
    pub idempotency: Arc<SqliteIdempotency>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
}

impl Embedded {
    /// Opens (creating on first start) the data directory.
    pub async fn open(
        data_dir: &Path,
        durability: Durability,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let objects_dir = data_dir.join("objects");
        std::fs::create_dir_all(&objects_dir).map_err(|e| Error::Unavailable {
            message: format!("cannot create {}: {e}", objects_dir.display()),
            retryable: false,
        })?;
        let database = Database::open(&data_dir.join("folio.db"), durability).await?;
        let events = Arc::new(SqliteEventLog::new(database.clone(), Arc::clone(&clock)));
        let raw_objects: Arc<dyn ObjectStore> =
            Arc::new(SyncedStore::new(&objects_dir, durability).map_err(Error::unavailable)?);
        let objects: Arc<dyn ObjectStore> = Arc::new(PublishingStore::new(
            Arc::clone(&raw_objects),
            Arc::clone(&events) as Arc<dyn EventLog>,
            EventFilter::default(),
        ));
        let secrets = Arc::new(SqliteSecrets::new(database.clone()));
        let signer = Arc::new(HmacSigner::new(secrets.get_or_create(URL_SECRET, 32).await?, ""));
        Ok(Self {
            data_dir: data_dir.to_owned(),
            index: Arc::new(SqliteIndex::new(database.clone())),
            database: database.clone(),
            raw_objects,
            objects,
            events,
            secrets,
            signer,
            accounts: Arc::new(SqliteAccounts::new(database.clone())),
            idempotency: Arc::new(SqliteIdempotency::new(database.clone())),
            clock,
        })
    }

    /// The pipeline over these adapters with `renderer`.
    pub fn pipeline(&self, renderer: Arc<dyn Renderer>, settings: Settings) -> Pipeline {
        Pipeline {
            objects: Arc::clone(&self.objects),
            index: self.index.clone(),
            events: self.events.clone(),
            renderer,
            signer: self.signer.clone(),
            clock: Arc::clone(&self.clock),
            settings,
        }
    }
}
