//! The one place the binary chooses its shape: the backend URLs of `[backends]` name the
//! adapters, the shape's builder makes the services bundle, and every command takes its
//! services from here. (docs/architecture.md has the command × shape table.)

use std::path::Path;
use std::sync::Arc;

use folio_auth::{BuiltinPool, PoolSettings, UserPool};
use folio_core::ports::{EventQueue, Renderer, SystemClock};
use folio_core::{DispatchReport, IdentityId, RetryPolicy, Services, Settings, dispatch_due};
use folio_local::permissions::{self, InsecureDataDir};
use folio_local::{Durability, Embedded};

use crate::failure::Failure;
use crate::settings::{BackendsSection, StoreSettings};

/// How a deployment is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One process over a data directory: files and SQLite, events in process.
    Embedded,
    /// Identical instances over PostgreSQL, NATS JetStream and an S3-compatible store.
    #[cfg(feature = "cluster")]
    Cluster,
    /// Lambda functions over S3, DynamoDB and Cognito; the CLI's operator commands reach its
    /// bucket and table (objects `s3://`, index `dynamodb://`).
    #[cfg(feature = "aws")]
    Aws,
}

/// The scheme of a backend URL (`postgres` of `postgres://…`).
fn scheme(value: &str) -> &str {
    value.split_once("://").map_or(value, |(scheme, _)| scheme)
}

/// Who signs people in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// The built-in user pool (its accounts and keys beside the index).
    Builtin,
    /// Only the outside issuer of `[oidc]`.
    OutsideOnly,
}

impl Shape {
    /// The shape the backend URLs name; every backend must belong to it.
    pub fn choose(backends: &BackendsSection) -> Result<(Self, SignIn), Failure> {
        #[cfg(feature = "cluster")]
        if let Some(chosen) = Self::choose_cluster(backends)? {
            return Ok(chosen);
        }
        #[cfg(feature = "aws")]
        if let Some(chosen) = Self::choose_aws(backends)? {
            return Ok(chosen);
        }
        let embedded = |setting: &str, value: &str, embedded: &str| {
            if value == embedded {
                return Ok(());
            }
            let shape = match scheme(value) {
                "s3" if cfg!(feature = "cluster") => {
                    "the cluster shape (with postgres:// and nats://)"
                }
                "s3" | "dynamodb" | "cognito" => "the AWS shape",
                "postgres" | "postgresql" | "nats" => "the cluster shape",
                _ => {
                    return Err(Failure::usage(format!(
                        "[backends] {setting} = {value:?} is not a backend folio knows"
                    ))
                    .with_hint(format!("the embedded shape's is {embedded:?}")));
                }
            };
            let included = cfg!(feature = "cluster") && shape.starts_with("the cluster shape");
            Err(if included {
                Failure::usage(format!(
                    "[backends] {setting} = {value:?} belongs to the cluster shape, which needs all of objects = \"s3://…\", index = \"postgres://…\", events = \"nats://…\""
                ))
                .with_hint("a cluster keeps nothing on one machine; set the other backends too (README, \"The cluster shape\")")
            } else if shape == "the AWS shape" {
                Failure::usage(format!(
                    "[backends] {setting} = {value:?} belongs to the AWS shape, whose functions Lambda runs (`folio lambda …`); this command does not open it"
                ))
                .with_hint(format!("deploy the AWS shape with deploy/aws/template.yaml; here use the embedded shape's {embedded:?}"))
            } else {
                Failure::usage(format!(
                    "[backends] {setting} = {value:?} belongs to {shape}, which this build of folio does not include"
                ))
                .with_hint(if shape == "the cluster shape" {
                    format!("build folio with `--features cluster`, or use the embedded shape's {embedded:?}")
                } else {
                    format!("use the embedded shape's {embedded:?}")
                })
            })
        };
        embedded("objects", &backends.objects, "file://")?;
        embedded("index", &backends.index, "sqlite://")?;
        embedded("events", &backends.events, "sqlite://")?;
        let sign_in = match backends.identity.as_str() {
            "none://" => SignIn::OutsideOnly,
            other => {
                embedded("identity", other, "sqlite://")?;
                SignIn::Builtin
            }
        };
        Ok((Self::Embedded, sign_in))
    }

    /// The cluster shape when the backends name it: objects `s3://`, index `postgres://`,
    /// events `nats://`; identity `none://`, or the built-in pool in the index's database
    /// (`postgres://`, or the default left as it is). `None` when the backends are not the
    /// cluster's; the embedded check then explains a mixture.
    #[cfg(feature = "cluster")]
    fn choose_cluster(backends: &BackendsSection) -> Result<Option<(Self, SignIn)>, Failure> {
        let schemes =
            [scheme(&backends.objects), scheme(&backends.index), scheme(&backends.events)];
        let postgres = |s: &str| s == "postgres" || s == "postgresql";
        if schemes != ["s3", schemes[1], "nats"] || !postgres(schemes[1]) {
            return Ok(None);
        }
        let sign_in = match backends.identity.as_str() {
            "none://" => SignIn::OutsideOnly,
            // The built-in pool lives in the index's database ("sqlite://" is the default:
            // the built-in pool beside the index, wherever the index is).
            identity if postgres(scheme(identity)) || identity == "sqlite://" => SignIn::Builtin,
            other => {
                return Err(Failure::usage(format!(
                    "[backends] identity = {other:?} cannot sign people in to a cluster"
                ))
                .with_hint("leave it unset or use \"postgres://\" (the built-in pool in the index's database), or \"none://\" (an outside issuer only)"));
            }
        };
        Ok(Some((Self::Cluster, sign_in)))
    }

    /// The AWS shape when the backends name it: objects `s3://`, index `dynamodb://`; events
    /// left unset, `none://` (the bucket notifies the indexer function either way) or
    /// `sqs://…` (the stack's queues, for `folio events`); identity left unset, `none://` or
    /// `cognito://…` (Cognito keeps the accounts: no built-in pool).
    #[cfg(feature = "aws")]
    fn choose_aws(backends: &BackendsSection) -> Result<Option<(Self, SignIn)>, Failure> {
        if scheme(&backends.index) != "dynamodb" {
            return Ok(None);
        }
        if scheme(&backends.objects) != "s3" {
            return Err(Failure::usage(format!(
                "[backends] index = {:?} is the AWS shape's, whose objects are in S3, not {:?}",
                backends.index, backends.objects
            ))
            .with_hint("set objects = \"s3://BUCKET?region=…\" (the stack's BucketName output)"));
        }
        for (setting, value) in [("events", &backends.events), ("identity", &backends.identity)] {
            let fits = matches!(value.as_str(), "sqlite://" | "none://")
                || (setting == "identity" && scheme(value) == "cognito")
                || (setting == "events" && scheme(value) == "sqs");
            if !fits {
                return Err(Failure::usage(format!(
                    "[backends] {setting} = {value:?} does not belong to the AWS shape"
                ))
                .with_hint("on AWS the bucket notifies the indexer and Cognito keeps the accounts: leave it unset, or name the stack's queues (events = its EventsUrl output, sqs://…)"));
            }
        }
        Ok(Some((Self::Aws, SignIn::OutsideOnly)))
    }

    /// Whether the platform runs the shape's functions (AWS Lambda), so that `serve` has no
    /// part in it.
    pub fn runs_as_functions(self) -> bool {
        #[cfg(feature = "aws")]
        if matches!(self, Self::Aws) {
            return true;
        }
        false
    }

    /// The shape's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            #[cfg(feature = "cluster")]
            Self::Cluster => "cluster",
            #[cfg(feature = "aws")]
            Self::Aws => "AWS",
        }
    }
}

/// One deployment's services, as a command sees them.
pub struct Deployment {
    /// The shape.
    pub shape: Shape,
    /// Every port.
    pub services: Services,
    /// The built-in pool's parts, where the deployment signs people in itself.
    pub builtin: Option<BuiltinPool>,
    /// The embedded shape's own state (its backup and its file layout).
    embedded: Option<Embedded>,
    /// The cluster shape's connections.
    #[cfg(feature = "cluster")]
    cluster: Option<folio_cluster::Cluster>,
}

impl Deployment {
    /// Opens the deployment the settings name with `renderer` and the functions' `limits`.
    pub async fn open(
        settings: &StoreSettings,
        renderer: Arc<dyn Renderer>,
        limits: Settings,
    ) -> Result<Self, Failure> {
        let (shape, sign_in) = Shape::choose(&settings.backends)?;
        match shape {
            Shape::Embedded => {
                let dir = settings.data.dir.as_path();
                secure(dir, settings.data.allow_insecure)?;
                let embedded = Embedded::open(dir, Durability::Full, Arc::new(SystemClock))
                    .await
                    .map_err(|e| {
                    Failure::document(format!(
                        "cannot open the data directory {}: {e}",
                        dir.display()
                    ))
                    .with_hint("check the path and its permissions, or pass --data-dir")
                })?;
                let builtin = (sign_in == SignIn::Builtin)
                    .then(|| embedded.builtin_pool(settings.sessions.key_schedule()));
                Ok(Self {
                    shape,
                    services: embedded.services(renderer, limits),
                    builtin,
                    embedded: Some(embedded),
                    #[cfg(feature = "cluster")]
                    cluster: None,
                })
            }
            #[cfg(feature = "cluster")]
            Shape::Cluster => {
                let urls = folio_cluster::ClusterUrls {
                    postgres: settings.backends.index.clone(),
                    nats: settings.backends.events.clone(),
                    s3: settings.backends.objects.clone(),
                };
                let cluster = folio_cluster::Cluster::open(&urls, Arc::new(SystemClock))
                    .await
                    .map_err(|e| {
                        let failure = Failure::document(format!("cannot reach the cluster's backends: {e}"));
                        if e.is_retryable() {
                            failure.with_hint("check that PostgreSQL, NATS and the S3 store answer at the URLs of [backends]")
                        } else {
                            failure.with_hint("check the URLs of [backends] (README, \"The cluster shape\")")
                        }
                    })?;
                let builtin = (sign_in == SignIn::Builtin)
                    .then(|| cluster.builtin_pool(settings.sessions.key_schedule()));
                Ok(Self {
                    shape,
                    services: cluster.services(renderer, limits),
                    builtin,
                    embedded: None,
                    cluster: Some(cluster),
                })
            }
            #[cfg(feature = "aws")]
            Shape::Aws => {
                let events = &settings.backends.events;
                let urls = folio_aws::AwsUrls {
                    dynamodb: settings.backends.index.clone(),
                    s3: settings.backends.objects.clone(),
                    sqs: (scheme(events) == "sqs").then(|| events.clone()),
                };
                let aws = folio_aws::Aws::open(&urls).await.map_err(|e| {
                    Failure::usage(format!("cannot open the AWS shape's backends: {e}"))
                        .with_hint("check the URLs of [backends] (README, \"The AWS shape\")")
                })?;
                let services =
                    aws.services(renderer, limits).map_err(|e| Failure::usage(e.to_string()))?;
                Ok(Self {
                    shape,
                    services,
                    builtin: None,
                    embedded: None,
                    #[cfg(feature = "cluster")]
                    cluster: None,
                })
            }
        }
    }

    /// The built-in pool, or a message saying this deployment has none.
    pub async fn user_pool(&self, settings: PoolSettings) -> Result<UserPool, Failure> {
        let builtin = self.builtin()?;
        builtin
            .open(
                self.services.secrets.as_ref(),
                Arc::clone(&self.services.limits),
                settings,
                Arc::clone(&self.services.pipeline.clock),
            )
            .await
            .map_err(|e| Failure::document(e.to_string()))
    }

    /// The built-in pool's parts.
    pub fn builtin(&self) -> Result<&BuiltinPool, Failure> {
        self.builtin.as_ref().ok_or_else(|| {
            let why = if self.shape.runs_as_functions() {
                "the AWS shape keeps its accounts in Cognito"
            } else {
                "[backends] identity = \"none://\""
            };
            Failure::usage(format!("this deployment has no built-in user pool ({why})"))
                .with_hint("accounts live with the outside issuer; manage them with its own tools")
        })
    }

    /// The embedded shape's state, for `command`, which only that shape has.
    pub fn embedded(&self, command: &str) -> Result<&Embedded, Failure> {
        self.embedded.as_ref().ok_or_else(|| {
            Failure::usage(format!(
                "`folio {command}` has no meaning in the {} shape",
                self.shape.name()
            ))
        })
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
                self.builtin()?;
                let issuer = folio_auth::builtin_issuer(self.services.secrets.as_ref())
                    .await
                    .map_err(|e| Failure::document(e.to_string()))?;
                Ok(IdentityId::derive(&issuer, subject.trim()))
            }
            _ => Err(Failure::usage("say whose documents: --identity ID or --subject NAME")),
        }
    }

    /// The consuming half of events, for `command`. On AWS the platform delivers the events,
    /// and the queues are named only for `folio events`.
    pub fn event_queue(&self, command: &str) -> Result<&Arc<dyn EventQueue>, Failure> {
        self.services.event_queue.as_ref().ok_or_else(|| {
            Failure::usage(format!(
                "`folio {command}` needs the {} shape's queues, and no events URL names them",
                self.shape.name()
            ))
            .with_hint("pass --events-url with the stack's EventsUrl output (sqs://QUEUE?dead_letter=QUEUE&region=…)")
        })
    }

    /// Delivers the events already queued (so a command's writes are indexed when it returns);
    /// nothing where the platform delivers them.
    pub async fn deliver_events(&self) -> Result<DispatchReport, Failure> {
        match &self.services.event_queue {
            Some(queue) => {
                dispatch_due(&self.services.pipeline, queue.as_ref(), &RetryPolicy::default())
                    .await
                    .map_err(storage)
            }
            None => Ok(DispatchReport::default()),
        }
    }

    /// Waits for the deployment's connections to finish.
    pub async fn close(&self) {
        if let Some(embedded) = &self.embedded {
            embedded.database.close().await;
        }
        #[cfg(feature = "cluster")]
        if let Some(cluster) = &self.cluster {
            cluster.close().await;
        }
    }
}

/// Makes everything created from here on private, and the data directory with it.
fn secure(dir: &Path, allow_insecure: bool) -> Result<(), Failure> {
    permissions::private_umask();
    let policy = if allow_insecure { InsecureDataDir::Allow } else { InsecureDataDir::Refuse };
    let tightened = permissions::secure_data_dir(dir, policy).map_err(|e| {
        Failure::usage(format!("the data directory is not private: {e}"))
            .with_hint("it holds the token-signing keys, the download-URL secret, password hashes and every document")
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
