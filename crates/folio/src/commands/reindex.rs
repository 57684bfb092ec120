//! `folio reindex`: reconcile the index with the object store, then index the repairs.

use folio_core::functions::reindex;
use folio_core::{RetryPolicy, Settings, dispatch_due};

use crate::args::ReindexArgs;
use crate::data::{Data, storage};
use crate::failure::Failure;

/// Runs reconciliation once.
pub async fn run(args: &ReindexArgs) -> Result<(), Failure> {
    let settings = Settings {
        orphan_grace_ms: args.orphan_grace_secs.saturating_mul(1000),
        ..Settings::default()
    };
    let data = Data::open(&args.data, settings).await?;
    // Deliver what is already queued first, so only real gaps are repaired.
    dispatch_due(&data.pipeline, data.embedded.events.as_ref(), &RetryPolicy::default())
        .await
        .map_err(storage)?;
    let report = reindex(&data.pipeline).await.map_err(storage)?;
    let delivered =
        dispatch_due(&data.pipeline, data.embedded.events.as_ref(), &RetryPolicy::default())
            .await
            .map_err(storage)?;
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
            delivered.delivered
        );
    }
    Ok(())
}
