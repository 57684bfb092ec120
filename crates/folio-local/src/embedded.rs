//! Wiring: the embedded adapters over one data directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use folio_auth::{BuiltinPool, KeySchedule};
use folio_core::ports::{Clock, EventLog, Renderer, SecretStore};
use folio_core::{
    Error, EventFilter, MemoryLease, MemoryRateLimits, Pipeline, PublishingStore, Result, Services,
    Settings,
};
use object_store::ObjectStore;

use folio_core::downloads::HmacSigner;

use crate::{
    Database, Durability, SqliteAccounts, SqliteEventLog, SqliteIdempotency, SqliteIndex,
    SqliteKeyRing, SqliteSecrets, SyncedStore,
};

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
    /// The built-in pool's signing keys.
    pub key_ring: Arc<SqliteKeyRing>,
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
        let signer = Arc::new(HmacSigner::new(
            secrets.get_or_create(folio_core::secrets::DOWNLOAD_URL_HMAC, 32).await?,
            "",
        ));
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
            key_ring: Arc::new(SqliteKeyRing::new(database.clone())),
            clock,
        })
    }

    /// The embedded shape's services bundle: these adapters, with rate limits and the lease in
    /// this process's memory (one process serves a data directory). Call once per process:
    /// each call makes fresh rate budgets. Its background work is
    /// [`Services::background`], plus the built-in pool's housekeeping.
    pub fn services(&self, renderer: Arc<dyn Renderer>, settings: Settings) -> Services {
        Services {
            pipeline: self.pipeline(renderer, settings),
            event_queue: Some(self.events.clone()),
            idempotency: self.idempotency.clone(),
            secrets: self.secrets.clone(),
            limits: Arc::new(MemoryRateLimits::default()),
            lease: Arc::new(MemoryLease::default()),
            downloads: Some(self.signer.clone()),
            readiness: Arc::default(),
        }
    }

    /// The built-in pool's accounts and key ring in the database.
    pub fn builtin_pool(&self, key_schedule: KeySchedule) -> BuiltinPool {
        BuiltinPool {
            accounts: self.accounts.clone(),
            key_ring: self.key_ring.clone(),
            key_schedule,
        }
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
            usage: Arc::new(crate::SqliteUsage::new(self.database.clone())),
            settings,
        }
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// What a backup copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupReport {
    /// Object files copied.
    pub objects: u64,
    /// Bytes of objects copied.
    pub bytes: u64,
}

impl Embedded {
    /// Copies the data directory to `dest` while folio keeps running: first a consistent
    /// snapshot of the database (`VACUUM INTO`), then the object files (written once, never
    /// changed). Objects created or deleted during the copy leave the snapshot and the files a
    /// little apart; `folio reindex` on the restored directory brings them together (the files
    /// are the truth).
    pub async fn backup(&self, dest: &Path) -> Result<BackupReport> {
        let fail = |what: &str, e: &dyn std::fmt::Display| Error::Unavailable {
            message: format!("{what}: {e}"),
            retryable: false,
        };
        if dest.exists() && std::fs::read_dir(dest).map(|mut d| d.next().is_some()).unwrap_or(true)
        {
            return Err(Error::InvalidRequest(format!(
                "{} exists and is not empty",
                dest.display()
            )));
        }
        // A backup holds the same secrets: owner-only, whatever the umask.
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dest.join("objects"))
                .map_err(|e| fail("cannot create the backup folder", &e))?;
            for dir in [dest, &dest.join("objects")] {
                set_mode(dir, 0o700)
                    .map_err(|e| fail("cannot make the backup folder private", &e))?;
            }
        }
        let db_path = dest.join("folio.db");
        sqlx::query("VACUUM INTO ?1")
            .bind(db_path.to_string_lossy().into_owned())
            .execute(self.database.pool())
            .await
            .map_err(|e| fail("cannot snapshot the database", &e))?;
        set_mode(&db_path, 0o600).map_err(|e| fail("cannot make the backup private", &e))?;
        let source = self.data_dir.join("objects");
        let target = dest.join("objects");
        tokio::task::spawn_blocking(move || copy_objects(&source, &target))
            .await
            .map_err(|e| fail("the copy stopped", &e))?
            .map_err(|e| fail("cannot copy the objects", &e))
    }
}

/// Copies finished object files (not `LocalFileSystem`'s `name#N` staging files), syncing each.
fn copy_objects(source: &Path, target: &Path) -> std::io::Result<BackupReport> {
    let mut report = BackupReport::default();
    let mut stack = vec![source.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            let relative = path.strip_prefix(source).map_err(std::io::Error::other)?;
            if path.is_dir() {
                std::fs::create_dir_all(target.join(relative))?;
                set_mode(&target.join(relative), 0o700)?;
                stack.push(path);
            } else if !path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains('#')) {
                let to = target.join(relative);
                match std::fs::copy(&path, &to) {
                    Ok(bytes) => {
                        // `copy` takes the source's mode; a backup is owner-only regardless.
                        set_mode(&to, 0o600)?;
                        std::fs::File::open(&to)?.sync_all()?;
                        report.objects += 1;
                        report.bytes += bytes;
                    }
                    // Deleted while copying: the restore's reindex accounts for it.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(report)
}
