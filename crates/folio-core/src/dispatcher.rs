//! The dispatcher: delivers events from the event log to the indexer, at least once, retrying
//! failures with backoff and parking events that cannot succeed in the dead-letter list.

use std::time::Duration;

use tokio::sync::watch;

use crate::functions::index_object_event;
use std::sync::Arc;

use crate::ports::{Delivery, EventQueue, Lease};
use crate::{Error, Pipeline, Result};

/// How failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Deliveries before an event is dead-lettered.
    pub max_attempts: u32,
    /// Delay after the first failure; doubles each time.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// What one pass over due events did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Events indexed (or ignored as not relevant) and acked.
    pub delivered: usize,
    /// Events that failed and will be retried.
    pub retried: usize,
    /// Events parked in the dead-letter list.
    pub dead_lettered: usize,
}

/// Delivers every event that is due now, once; returns what happened.
pub async fn dispatch_due(
    pipeline: &Pipeline,
    queue: &dyn EventQueue,
    policy: &RetryPolicy,
) -> Result<DispatchReport> {
    let mut report = DispatchReport::default();
    loop {
        let batch = queue.receive(64).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        let mut handled = Vec::with_capacity(batch.len());
        for delivery in batch {
            if deliver(pipeline, queue, policy, &delivery, &mut report).await? {
                handled.push(delivery);
            }
        }
        // One acknowledgement per batch: with a durable log that is one sync, not one per event.
        queue.ack_all(&handled).await?;
        report.delivered += handled.len();
    }
}

/// Delivers one event; returns whether it was handled (and so is to be acknowledged).
async fn deliver(
    pipeline: &Pipeline,
    queue: &dyn EventQueue,
    policy: &RetryPolicy,
    delivery: &Delivery,
    report: &mut DispatchReport,
) -> Result<bool> {
    let err = match index_object_event(pipeline, &delivery.event).await {
        Ok(_) => return Ok(true),
        Err(err) => err,
    };
    if is_poison(&err) || delivery.attempt >= policy.max_attempts {
        tracing::warn!(key = %delivery.event.key, attempt = delivery.attempt, error = %err, "event dead-lettered");
        queue.dead_letter(delivery, &err.to_string()).await?;
        report.dead_lettered += 1;
    } else {
        tracing::debug!(key = %delivery.event.key, attempt = delivery.attempt, error = %err, "event will be retried");
        queue.retry_later(delivery, policy.delay(delivery.attempt), &err.to_string()).await?;
        report.retried += 1;
    }
    Ok(false)
}

/// Errors no retry can fix: the stored data is not what folio wrote.
fn is_poison(err: &Error) -> bool {
    matches!(err, Error::Corrupt(_) | Error::InvalidRequest(_))
}

/// Runs until `shutdown` turns true: delivers due events, then waits for new ones.
pub async fn run_dispatcher(
    pipeline: Pipeline,
    queue: Arc<dyn EventQueue>,
    policy: RetryPolicy,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Err(err) = dispatch_due(&pipeline, queue.as_ref(), &policy).await {
            tracing::warn!(error = %err, "event dispatch failed; retrying shortly");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        tokio::select! {
            () = queue.wait(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The lease under which reconciliation runs: one process of a deployment at a time.
pub const RECONCILER_LEASE: &str = "reconciler";

/// One reconciliation pass if `holder` holds (or can take) the reconciler's lease for `ttl`;
/// `None` when another process holds it.
pub async fn reconcile_once(
    pipeline: &Pipeline,
    lease: &dyn Lease,
    holder: &str,
    ttl: Duration,
) -> Result<Option<crate::functions::ReindexReport>> {
    if !hold_reconciler_lease(pipeline, lease, holder, ttl).await? {
        return Ok(None);
    }
    crate::functions::reindex(pipeline).await.map(Some)
}

/// One reconciliation pass that indexes its repairs in this process
/// ([`crate::functions::reindex_in_process`]), if `holder` gets the lease, which it then
/// releases: a one-shot pass (the AWS shape's scheduled reconcile function, `folio reindex`
/// there), where `ttl` only bounds how long a crashed pass blocks the next.
pub async fn reconcile_in_process_once(
    pipeline: &Pipeline,
    lease: &dyn Lease,
    holder: &str,
    ttl: Duration,
) -> Result<Option<crate::functions::ReindexReport>> {
    if !hold_reconciler_lease(pipeline, lease, holder, ttl).await? {
        return Ok(None);
    }
    let report = crate::functions::reindex_in_process(pipeline).await;
    if let Err(err) = lease.release(RECONCILER_LEASE, holder).await {
        tracing::warn!(error = %err, "the reconciler's lease was not released; it lapses by itself");
    }
    report.map(Some)
}

async fn hold_reconciler_lease(
    pipeline: &Pipeline,
    lease: &dyn Lease,
    holder: &str,
    ttl: Duration,
) -> Result<bool> {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    lease.try_hold(RECONCILER_LEASE, holder, ttl_ms, pipeline.clock.now_ms()).await
}

/// Runs reconciliation at start and then every `interval` until `shutdown` turns true (what
/// `folio serve` starts beside the dispatcher), in whichever process holds the lease: each pass
/// renews it (for two intervals), and a process that lost it skips passes until it is free.
pub async fn run_reconciler(
    pipeline: Pipeline,
    lease: Arc<dyn Lease>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let holder = uuid::Uuid::new_v4().to_string();
    loop {
        if *shutdown.borrow() {
            let _ = lease.release(RECONCILER_LEASE, &holder).await;
            return;
        }
        match reconcile_once(&pipeline, lease.as_ref(), &holder, interval.saturating_mul(2)).await {
            Ok(Some(report))
                if report.missing_records + report.stale_records + report.orphans_removed > 0 =>
            {
                tracing::info!(?report, "reconciliation repaired the index");
            }
            Ok(Some(_)) => {}
            Ok(None) => tracing::debug!("another process holds the reconciler's lease"),
            Err(err) => tracing::warn!(error = %err, "reconciliation failed; will try again"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1), Duration::from_millis(100));
        assert_eq!(policy.delay(2), Duration::from_millis(200));
        assert_eq!(policy.delay(4), Duration::from_millis(800));
        assert_eq!(policy.delay(30), Duration::from_secs(30));
    }
}
