//! `folio keys rotate`: a new signing key for the built-in pool.

use std::sync::Arc;

use folio_core::Settings;
use folio_core::ports::NoRenderer;

use crate::failure::Failure;
use crate::settings::StoreSettings;
use crate::shape::Deployment;

/// Makes a new current key; prints its key id.
pub async fn rotate(settings: &StoreSettings) -> Result<(), Failure> {
    let data = Deployment::open(settings, Arc::new(NoRenderer), Settings::default()).await?;
    let keys = data
        .builtin()?
        .keys(data.services.secrets.as_ref(), Arc::clone(&data.services.pipeline.clock))
        .await
        .map_err(|e| Failure::document(e.to_string()))?;
    let kid = keys.rotate().await.map_err(|e| Failure::document(e.to_string()))?;
    let jwks = keys.jwks().await.map_err(|e| Failure::document(e.to_string()))?;
    println!("{kid}");
    eprintln!(
        "new signing key {kid}; {} keys verify now; the previous one keeps verifying for {} s",
        jwks.keys.len(),
        settings.sessions.key_overlap
    );
    data.close().await;
    Ok(())
}
