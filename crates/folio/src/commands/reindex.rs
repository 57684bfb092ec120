//! `folio reindex`: reconcile the index with the object store, then index the repairs.

use folio_core::functions::reindex;
use std::sync::Arc;

use folio_core::Settings;
use folio_core::ports::NoRenderer;

use crate::args::ReindexArgs;
use crate::failure::Failure;
use crate::shape::{Deployment, storage};

/// Runs reconciliation once.
pub async fn run(args: &ReindexArgs) -> Result<(), Failure> {
    let settings = Settings {
        orphan_grace_ms: args.orphan_grace_secs.saturating_mul(1000),
        ..Settings::default()
    };
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), settings).await?;
    // Deliver what is already queued first, so only real gaps are repaired.
    data.deliver_events().await?;
    let report = reindex(&data.services.pipeline).await.map_err(storage)?;
    let delivered = data.deliver_events().await?;
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
