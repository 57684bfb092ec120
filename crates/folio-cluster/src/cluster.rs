//! The cluster shape's builder: the adapters over PostgreSQL, NATS JetStream and an
//! S3-compatible store, put together the way `folio_local::Embedded` puts the embedded ones.
//! Every instance builds the same thing from the same URLs; none holds state of its own.

use std::sync::Arc;

use folio_auth::{BuiltinPool, KeySchedule};
use folio_core::downloads::HmacSigner;
use folio_core::ports::{Clock, DownloadVerifier, EventLog, Renderer, SecretStore, UrlSigner};
use folio_core::{EventFilter, Pipeline, PublishingStore, Result, Services, Settings};
use object_store::ObjectStore;

use crate::{
    Downloads, NatsEventLog, NatsOptions, PgAccounts, PgIdempotency, PgIndex, PgKeyRing, PgLease,
    PgRateLimits, PgSecrets, PgUsage, Postgres, PostgresOptions, S3Options,
};

/// Where a cluster's state lives, as the three backend URLs of `[backends]`.
#[derive(Debug, Clone)]
pub struct ClusterUrls {
    /// `postgres://…`: the index, accounts, keys, secrets, idempotency keys, limits, lease.
    pub postgres: String,
    /// `nats://host:port[?stream=NAME]`: object events.
    pub nats: String,
    /// `s3://bucket?endpoint=…`: the files (and, with `downloads=presigned`, their downloads).
    pub s3: String,
}

/// One instance's connections to the cluster's backends.
pub struct Cluster {
    db: Postgres,
    events: Arc<NatsEventLog>,
    objects: Arc<dyn ObjectStore>,
    secrets: Arc<PgSecrets>,
    downloads: ClusterDownloads,
    clock: Arc<dyn Clock>,
}

/// Who signs download URLs, and who verifies them where folio serves them itself.
struct ClusterDownloads {
    signer: Arc<dyn UrlSigner>,
    verifier: Option<Arc<dyn DownloadVerifier>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects to the three backends (PostgreSQL's schema applied, NATS's streams made).
    pub async fn open(urls: &ClusterUrls, clock: Arc<dyn Clock>) -> Result<Self> {
        let s3 = S3Options::from_url(&urls.s3)?;
        let nats = NatsOptions::from_url(&urls.nats)?;
        let db = Postgres::connect(&PostgresOptions::new(&urls.postgres)).await?;
        let events = Arc::new(NatsEventLog::connect(&nats, Arc::clone(&clock)).await?);
        let objects: Arc<dyn ObjectStore> = Arc::new(PublishingStore::new(
            s3.store()?,
            Arc::clone(&events) as Arc<dyn EventLog>,
            EventFilter::default(),
        ));
        let secrets = Arc::new(PgSecrets::new(db.clone()));
        let downloads = match s3.downloads {
            // Any instance serves any `/files/…` download: the secret is in PostgreSQL.
            Downloads::Folio => {
                let signer = Arc::new(HmacSigner::new(
                    secrets.get_or_create(folio_core::secrets::DOWNLOAD_URL_HMAC, 32).await?,
                    "",
                ));
                ClusterDownloads { signer: signer.clone(), verifier: Some(signer) }
            }
            Downloads::Presigned => {
                ClusterDownloads { signer: Arc::new(s3.presigned_downloads()?), verifier: None }
            }
        };
        Ok(Self { db, events, objects, secrets, downloads, clock })
    }

    /// The services bundle over these backends: rate limits and the lease are shared by every
    /// instance (PostgreSQL), so a limit is one limit for the whole cluster.
    pub fn services(&self, renderer: Arc<dyn Renderer>, settings: Settings) -> Services {
        Services {
            pipeline: Pipeline {
                objects: Arc::clone(&self.objects),
                index: Arc::new(PgIndex::new(self.db.clone())),
                events: self.events.clone(),
                renderer,
                signer: Arc::clone(&self.downloads.signer),
                clock: Arc::clone(&self.clock),
                usage: Arc::new(PgUsage::new(self.db.clone())),
                settings,
            },
            event_queue: Some(self.events.clone()),
            idempotency: Arc::new(PgIdempotency::new(self.db.clone())),
            secrets: self.secrets.clone() as Arc<dyn SecretStore>,
            limits: Arc::new(PgRateLimits::new(self.db.clone())),
            lease: Arc::new(PgLease::new(self.db.clone())),
            downloads: self.downloads.verifier.clone(),
            readiness: Arc::default(),
        }
    }

    /// The built-in pool's accounts and key ring in PostgreSQL (any instance signs anyone in).
    pub fn builtin_pool(&self, key_schedule: KeySchedule) -> BuiltinPool {
        BuiltinPool {
            accounts: Arc::new(PgAccounts::new(self.db.clone())),
            key_ring: Arc::new(PgKeyRing::new(self.db.clone())),
            key_schedule,
        }
    }

    /// Closes the database pool (in-flight queries finish first).
    pub async fn close(&self) {
        self.db.close().await;
    }
}
