//! `folio events dead` and `folio events retry`: the dead-letter list.

use std::sync::Arc;

use folio_core::Settings;
use folio_core::ports::NoRenderer;

use crate::args::{EventsDeadArgs, EventsRetryArgs};
use crate::failure::Failure;
use crate::shape::{Deployment, storage};

/// Lists events that failed too often.
pub async fn dead(args: &EventsDeadArgs) -> Result<(), Failure> {
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), Settings::default()).await?;
    let dead = data.event_queue("events dead")?.dead_letters().await.map_err(storage)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&dead).map_err(|e| Failure::document(e.to_string()))?
        );
    } else if dead.is_empty() {
        eprintln!("no dead letters");
    } else {
        for d in &dead {
            println!("{}  {:?}  {}  attempts={}  {}", d.id, d.change, d.key, d.attempts, d.error);
        }
    }
    Ok(())
}

/// Delivers dead letters again (all, or the given ids) and indexes them now.
pub async fn retry(args: &EventsRetryArgs) -> Result<(), Failure> {
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), Settings::default()).await?;
    let replayed = data.event_queue("events retry")?.replay(&args.ids).await.map_err(storage)?;
    let report = data.deliver_events().await?;
    println!(
        "replayed {replayed}; delivered {}, dead again {}",
        report.delivered, report.dead_lettered
    );
    if report.dead_lettered > 0 {
        return Err(
            Failure::document("some events failed again").with_hint("see `folio events dead`")
        );
    }
    Ok(())
}
