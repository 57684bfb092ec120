//! `folio backup DIR`: a consistent copy of the data directory while folio runs.

use std::sync::Arc;

use folio_core::Settings;
use folio_core::ports::NoRenderer;

use crate::args::BackupArgs;
use crate::failure::Failure;
use crate::shape::{Deployment, storage};

pub async fn run(args: &BackupArgs) -> Result<(), Failure> {
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), Settings::default()).await?;
    // A cluster's state is in its backends, each with its own backup tool.
    let embedded = data.embedded("backup").map_err(|failure| {
        failure.with_hint("back a cluster up with its backends' tools: `pg_dump` the database and copy the bucket (`aws s3 sync`, `rclone sync`); events need no copy (`folio reindex` rebuilds them from the bucket)")
    })?;
    let report = embedded.backup(&args.dest).await.map_err(|e| match e {
        folio_core::Error::InvalidRequest(message) => {
            Failure::usage(message).with_hint("back up into a new or empty folder")
        }
        other => storage(other),
    })?;
    println!(
        "backed up the database and {} objects ({} bytes) to {}",
        report.objects,
        report.bytes,
        args.dest.display()
    );
    eprintln!(
        "to restore: stop folio, use {} as --data-dir, then run `folio reindex`",
        args.dest.display()
    );
    Ok(())
}
