//! Opening the embedded data directory for the operator commands.

use std::path::Path;
use std::sync::Arc;

use folio_auth::{PoolSettings, SigningKey, UserPool};
use folio_core::ports::{SecretStore, SystemClock};
use folio_core::{IdentityId, Pipeline, Settings};
use folio_local::permissions::{self, InsecureDataDir};
use folio_local::{Durability, Embedded};

use crate::args::DataArgs;

use crate::failure::Failure;
use folio_workers::InProcessRenderer;

/// The data directory's state and a pipeline over it.
pub struct Data {
    pub embedded: Embedded,
    pub pipeline: Pipeline,
}

impl Data {
    /// Opens the data directory (creating it on first use, owner-only; see
    /// `folio_local::permissions`).
    pub async fn open(args: &DataArgs, settings: Settings) -> Result<Self, Failure> {
        let dir = args.data_dir.as_path();
        secure(dir, args.allow_insecure_data_dir)?;
        let embedded =
            Embedded::open(dir, Durability::Full, Arc::new(SystemClock)).await.map_err(|e| {
                Failure::document(format!("cannot open the data directory {}: {e}", dir.display()))
                    .with_hint("check the path and its permissions, or pass --data-dir")
            })?;
        let pipeline = embedded.pipeline(Arc::new(InProcessRenderer), settings);
        Ok(Self { embedded, pipeline })
    }

    /// The issuer of this deployment's built-in user pool: fixed at first start, stored, and
    /// never derived from a listen address (identity ids depend on it).
    pub async fn builtin_issuer(&self) -> Result<String, Failure> {
        let bytes =
            self.embedded.secrets.get_or_create("builtin-issuer", 16).await.map_err(storage)?;
        let id = uuid::Uuid::from_slice(&bytes)
            .map_err(|e| Failure::document(format!("corrupt issuer: {e}")))?;
        Ok(format!("urn:folio:{id}"))
    }

    /// The built-in user pool over this data directory (its signing key is created at first
    /// start and kept with the secrets).
    pub async fn user_pool(&self) -> Result<UserPool, Failure> {
        let issuer = self.builtin_issuer().await?;
        let seed = self
            .embedded
            .secrets
            .get_or_create("token-signing-ed25519-seed", 32)
            .await
            .map_err(storage)?;
        let key = SigningKey::from_seed(&seed).map_err(|e| Failure::document(e.to_string()))?;
        Ok(UserPool::new(
            self.embedded.accounts.clone(),
            key,
            issuer,
            PoolSettings::default(),
            Arc::clone(&self.embedded.clock),
        ))
    }

    /// The identity named by `--identity` (an id) or `--subject` (a built-in pool subject).
    pub async fn identity(
        &self,
        identity: Option<&str>,
        subject: Option<&str>,
    ) -> Result<IdentityId, Failure> {
        match (identity, subject) {
            (Some(id), None) => id.parse().map_err(|_| {
                Failure::usage(format!("{id:?} is not an identity id"))
                    .with_hint("identity ids look like 0f8fad5b-d9cb-569f-a165-70867728950e; or pass --subject NAME")
            }),
            (None, Some(subject)) if !subject.trim().is_empty() => {
                Ok(IdentityId::derive(&self.builtin_issuer().await?, subject.trim()))
            }
            _ => Err(Failure::usage("say whose documents: --identity ID or --subject NAME")),
        }
    }
}

/// Makes everything created from here on private, and the data directory with it.
fn secure(dir: &Path, allow_insecure: bool) -> Result<(), Failure> {
    permissions::private_umask();
    let policy = if allow_insecure { InsecureDataDir::Allow } else { InsecureDataDir::Refuse };
    let tightened = permissions::secure_data_dir(dir, policy).map_err(|e| {
        Failure::usage(format!("the data directory is not private: {e}"))
            .with_hint("it holds the token-signing key, the download-URL secret, password hashes and every document")
    })?;
    if !tightened.changed.is_empty() {
        let message = format!(
            "other users could read {} ({} paths); they are now readable by its owner only. The secrets in it may have been copied: rotate them (README, \"Rotating the secrets\")",
            dir.display(),
            tightened.changed.len()
        );
        // `serve` has set up logging by now (JSON or pretty, on stderr); other commands print.
        if tracing::dispatcher::has_been_set() {
            tracing::warn!(data_dir = %dir.display(), paths = tightened.changed.len(), "{message}");
        } else {
            eprintln!("warning: {message}");
        }
        for (path, mode) in &tightened.changed {
            tracing::info!(path = %path.display(), was = format!("{mode:o}"), "mode tightened");
        }
    }
    Ok(())
}

/// A storage failure as a CLI failure.
pub fn storage(err: folio_core::Error) -> Failure {
    let failure = Failure::document(err.to_string());
    if err.is_retryable() { failure.with_hint("this may be temporary; try again") } else { failure }
}
