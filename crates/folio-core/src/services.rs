//! The services bundle: every port one deployment wires, built once per process by its shape's
//! builder (`folio_local::build` for the embedded shape; the AWS and cluster adapter crates
//! add theirs) and handed to the server, every command and the tests.

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
    /// Rate budgets, shared by every process of the deployment where the adapter is.
    pub limits: Arc<dyn RateLimits>,
    /// Leadership of singleton background work.
    pub lease: Arc<dyn Lease>,
    /// Verifies signed download URLs where the shape serves its own downloads (`/files/…`);
    /// `None` where the object store serves them (S3 presigned URLs).
    pub downloads: Option<Arc<dyn DownloadVerifier>>,
}

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
}

impl Default for BackgroundPolicy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            reconcile_every: Duration::from_secs(10 * 60),
            housekeeping_every: Duration::from_secs(10 * 60),
            idempotency_ttl: Duration::from_secs(24 * 3600),
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
        tasks
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
