//! The services bundle: every port one deployment wires, built once per process by its shape's
//! builder (`folio_local::Embedded::services` for the embedded shape; the AWS and cluster
//! adapter crates add theirs) and handed to the server, every command and the tests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::dispatcher::{RetryPolicy, run_dispatcher, run_reconciler};
use crate::pipeline::Pipeline;
use crate::ports::{
    DownloadVerifier, EventQueue, IdempotencyStore, Lease, RateLimits, SecretStore,
};

/// Every port of one deployment. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// What the functions run over (objects, index, publishing half of events, renderer,
    /// download signer, clock, limits).
    pub pipeline: Pipeline,
    /// The consuming half of events, where this shape delivers its own (`None` where the
    /// platform delivers them, as S3 does to a Lambda).
    pub event_queue: Option<Arc<dyn EventQueue>>,
    /// Idempotency keys of create requests.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Named secrets (`crate::secrets`).
    pub secrets: Arc<dyn SecretStore>,
    /// Rate budgets and sign-in throttles, shared by every process of the deployment where
    /// the adapter is.
    pub limits: Arc<dyn RateLimits>,
    /// Leadership of singleton background work.
    pub lease: Arc<dyn Lease>,
    /// Verifies signed download URLs where the shape serves its own downloads (`/files/…`);
    /// `None` where the object store serves them (S3 presigned URLs).
    pub downloads: Option<Arc<dyn DownloadVerifier>>,
    /// The latest readiness check (what `/readyz` reports).
    pub readiness: Arc<Readiness>,
}

/// One readiness check of every port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessReport {
    /// When it ran (ms since the epoch).
    pub checked_ms: i64,
    /// Each port's answer; `Err` says why not (for the log, not for clients).
    pub checks: Vec<(&'static str, Result<(), String>)>,
}

impl ReadinessReport {
    /// Whether every port answered.
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|(_, answer)| answer.is_ok())
    }
}

/// The latest readiness check, written by the background check and read by `/readyz` (so a
/// probe, however often a load balancer sends it, never reaches the backends itself); and
/// whether the process is draining before it stops.
#[derive(Debug, Default)]
pub struct Readiness {
    latest: std::sync::Mutex<Option<ReadinessReport>>,
    draining: std::sync::atomic::AtomicBool,
}

impl Readiness {
    /// The latest report, if a check has run.
    pub fn latest(&self) -> Option<ReadinessReport> {
        self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn store(&self, report: ReadinessReport) {
        *self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(report);
    }

    /// The process is stopping: from now on it reports itself not ready, so a load balancer
    /// sends new requests elsewhere while the ones in flight finish.
    pub fn start_draining(&self) {
        self.draining.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether [`Self::start_draining`] was called.
    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// How long one port may take to answer a readiness probe before it counts as not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The key the object store's probe reads: inside `ugc/` (the only prefix folio's roles may
/// touch), never written.
const OBJECTS_PROBE: &str = "ugc/.readiness-probe";

/// A background task: runs until the shutdown signal it was made with turns true.
pub type Background = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// How often background work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundPolicy {
    /// Retries of event delivery.
    pub retry: RetryPolicy,
    /// Between reconciliation passes.
    pub reconcile_every: Duration,
    /// Between housekeeping passes.
    pub housekeeping_every: Duration,
    /// How long idempotency keys are kept.
    pub idempotency_ttl: Duration,
    /// Between readiness checks.
    pub readiness_every: Duration,
}

impl Default for BackgroundPolicy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            reconcile_every: Duration::from_secs(10 * 60),
            housekeeping_every: Duration::from_secs(10 * 60),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            readiness_every: Duration::from_secs(5),
        }
    }
}

/// The lease under which housekeeping runs.
pub const HOUSEKEEPING_LEASE: &str = "housekeeping";

impl Services {
    /// The background work every shape that runs a server needs: event delivery (where the
    /// shape delivers its own), reconciliation and housekeeping (each under its lease, so one
    /// process of a deployment does it).
    pub fn background(
        &self,
        policy: BackgroundPolicy,
        shutdown: &watch::Receiver<bool>,
    ) -> Vec<Background> {
        let mut tasks: Vec<Background> = Vec::new();
        if let Some(queue) = &self.event_queue {
            tasks.push(Box::pin(run_dispatcher(
                self.pipeline.clone(),
                Arc::clone(queue),
                policy.retry,
                shutdown.clone(),
            )));
        }
        tasks.push(Box::pin(run_reconciler(
            self.pipeline.clone(),
            Arc::clone(&self.lease),
            policy.reconcile_every,
            shutdown.clone(),
        )));
        tasks.push(Box::pin(run_housekeeping(self.clone(), policy, shutdown.clone())));
        tasks.push(Box::pin(run_readiness(self.clone(), policy.readiness_every, shutdown.clone())));
        tasks
    }

    /// Asks every port at once whether it answers (reads only; each within 5 s), stores the
    /// report as the latest and returns it.
    pub async fn check_readiness(&self) -> ReadinessReport {
        type Probe<'a> = Pin<Box<dyn Future<Output = crate::Result<()>> + Send + 'a>>;
        let objects: Probe<'_> = Box::pin(async {
            use object_store::ObjectStoreExt;
            let path = object_store::path::Path::from(OBJECTS_PROBE);
            match self.pipeline.objects.head(&path).await {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(err) => Err(crate::Error::unavailable(err)),
            }
        });
        let mut probes: Vec<(&'static str, Probe<'_>)> = vec![
            ("objects", objects),
            ("index", self.pipeline.index.ready()),
            ("events", self.pipeline.events.ready()),
        ];
        if let Some(queue) = &self.event_queue {
            probes.push(("event_queue", queue.ready()));
        }
        probes.extend([
            ("idempotency", self.idempotency.ready()),
            ("secrets", self.secrets.ready()),
            ("rate_limits", self.limits.ready()),
            ("lease", self.lease.ready()),
        ]);
        let answers =
            futures::future::join_all(probes.into_iter().map(|(port, probe)| async move {
                let answer = match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(err)) => Err(err.to_string()),
                    Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
                };
                (port, answer)
            }))
            .await;
        let report = ReadinessReport { checked_ms: self.pipeline.clock.now_ms(), checks: answers };
        for (port, answer) in &report.checks {
            if let Err(error) = answer {
                tracing::warn!(port, %error, "readiness check failed");
            }
        }
        self.readiness.store(report.clone());
        report
    }
}

/// Checks readiness every `every` until `shutdown` turns true.
async fn run_readiness(services: Services, every: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        services.check_readiness().await;
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Deletes idempotency keys older than they are kept, in whichever process holds the lease.
async fn run_housekeeping(
    services: Services,
    policy: BackgroundPolicy,
    mut shutdown: watch::Receiver<bool>,
) {
    let holder = uuid::Uuid::new_v4().to_string();
    let ttl_ms = i64::try_from(policy.idempotency_ttl.as_millis()).unwrap_or(i64::MAX);
    let lease_ms =
        i64::try_from(policy.housekeeping_every.saturating_mul(2).as_millis()).unwrap_or(i64::MAX);
    loop {
        if *shutdown.borrow() {
            let _ = services.lease.release(HOUSEKEEPING_LEASE, &holder).await;
            return;
        }
        let now = services.pipeline.clock.now_ms();
        match services.lease.try_hold(HOUSEKEEPING_LEASE, &holder, lease_ms, now).await {
            Ok(true) => match services.idempotency.purge(now.saturating_sub(ttl_ms)).await {
                Ok(0) => {}
                Ok(keys) => tracing::info!(keys, "housekeeping removed expired idempotency keys"),
                Err(err) => tracing::warn!(error = %err, "housekeeping failed; will try again"),
            },
            Ok(false) => tracing::debug!("another process holds the housekeeping lease"),
            Err(err) => tracing::warn!(error = %err, "cannot take the housekeeping lease"),
        }
        tokio::select! {
            () = tokio::time::sleep(policy.housekeeping_every) => {}
            _ = shutdown.changed() => {}
        }
    }
}
