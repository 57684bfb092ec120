//! `folio reindex`: reconcile the index with the object store, then index the repairs.

use folio_core::functions::reindex;
use std::sync::Arc;

use folio_core::ports::NoRenderer;
use folio_core::{Settings, reconcile_in_process_once};

use crate::args::ReindexArgs;
use crate::failure::Failure;
use crate::shape::{Deployment, storage};

/// How long a reindex holds the reconciler's lease where it takes one (the AWS shape).
const LEASE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Runs reconciliation once.
pub async fn run(args: &ReindexArgs) -> Result<(), Failure> {
    let settings = Settings {
        orphan_grace_ms: args.orphan_grace_secs.saturating_mul(1000),
        ..Settings::default()
    };
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), settings).await?;
    let (report, delivered) = if !data.shape.runs_as_functions() {
        // Deliver what is already queued first, so only real gaps are repaired.
        data.deliver_events().await?;
        let report = reindex(&data.services.pipeline).await.map_err(storage)?;
        (report, data.deliver_events().await?.delivered)
    } else {
        // The platform delivers the events (AWS: the bucket notifies the indexer function), so
        // there is no queue to publish repairs to: they are indexed here, under the lease the
        // scheduled reconcile function takes too.
        let holder = format!("folio reindex {}", uuid::Uuid::new_v4());
        let services = &data.services;
        let pass =
            reconcile_in_process_once(&services.pipeline, services.lease.as_ref(), &holder, LEASE)
                .await
                .map_err(storage)?;
        let report = pass.ok_or_else(|| {
            Failure::document("another reconciliation is running (the reconcile function, or another `folio reindex`)")
                .with_hint("try again when it has finished (at most 15 minutes)")
        })?;
        let repaired = report.missing_records + report.stale_records;
        (report, repaired)
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Failure::document(e.to_string()))?
        );
    } else {
        println!(
            "{} PDFs, {} records; added {} missing records, removed {} stale records, deleted {} orphaned files; {} events indexed",
            report.pdfs,
            report.records,
            report.missing_records,
            report.stale_records,
            report.orphans_removed,
            delivered
        );
        for failed in &report.failed_repairs {
            eprintln!("warning: cannot index {}: {}", failed.key, failed.error);
        }
    }
    Ok(())
}
