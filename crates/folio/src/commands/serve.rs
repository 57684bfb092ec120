//! `folio serve`: the API over the embedded data directory, with the dispatcher and the
//! reconciler running beside it.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use folio_auth::IssuerConfig;
use folio_core::{RetryPolicy, Settings, run_dispatcher, run_reconciler};
use folio_server::{AppState, ServerSettings};
use folio_workers::{PoolConfig, WorkerPool, WorkerRenderer};

use std::net::IpAddr;
use std::path::PathBuf;

use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};

use crate::args::ServeArgs;
use crate::data::Data;
use crate::failure::Failure;

/// How often reconciliation runs while serving.
const RECONCILE_EVERY: Duration = Duration::from_secs(10 * 60);

/// The effective settings of `folio serve`: flag, else variable, else config file, else default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSettings {
    pub data_dir: Option<PathBuf>,
    pub allow_insecure_data_dir: Option<bool>,
    pub listen: Option<String>,
    pub secure_cookies: Option<bool>,
    pub workers: Option<usize>,
    pub render_timeout: Option<u64>,
    pub worker_memory_mib: Option<u64>,
    pub renders_per_identity: Option<usize>,
    pub creates_per_minute: Option<u32>,
    pub previews_per_minute: Option<u32>,
    pub trusted_proxies: Option<Vec<IpAddr>>,
    pub log_json: Option<bool>,
    pub oidc_issuer: Option<String>,
    pub oidc_jwks_url: Option<String>,
    pub oidc_audience: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_token_use: Option<String>,
}

/// Layers the settings; prints them and stops with `--print-config`.
pub fn settings(args: ServeArgs, matches: &ArgMatches) -> Result<ServeSettings, Failure> {
    let file: ServeSettings = match &args.config {
        None => ServeSettings::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
            toml::from_str(&text).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?
        }
    };
    let explicit = |id: &str| {
        matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    fn pick<T>(explicit: bool, arg: T, file: Option<T>) -> Option<T> {
        if explicit { Some(arg) } else { file.or(Some(arg)) }
    }
    fn pick_opt<T>(explicit: bool, arg: Option<T>, file: Option<T>) -> Option<T> {
        if explicit { arg } else { file.or(arg) }
    }
    let settings = ServeSettings {
        data_dir: pick(explicit("data_dir"), args.data.data_dir, file.data_dir),
        allow_insecure_data_dir: pick(
            explicit("allow_insecure_data_dir"),
            args.data.allow_insecure_data_dir,
            file.allow_insecure_data_dir,
        ),
        listen: pick(explicit("listen"), args.listen, file.listen),
        secure_cookies: pick(explicit("secure_cookies"), args.secure_cookies, file.secure_cookies),
        workers: pick_opt(explicit("workers"), args.workers, file.workers),
        render_timeout: pick(explicit("render_timeout"), args.render_timeout, file.render_timeout),
        worker_memory_mib: pick(
            explicit("worker_memory_mib"),
            args.worker_memory_mib,
            file.worker_memory_mib,
        ),
        renders_per_identity: pick_opt(
            explicit("renders_per_identity"),
            args.renders_per_identity,
            file.renders_per_identity,
        ),
        creates_per_minute: pick(
            explicit("creates_per_minute"),
            args.creates_per_minute,
            file.creates_per_minute,
        ),
        previews_per_minute: pick(
            explicit("previews_per_minute"),
            args.previews_per_minute,
            file.previews_per_minute,
        ),
        trusted_proxies: pick(
            explicit("trusted_proxies"),
            args.trusted_proxies,
            file.trusted_proxies,
        ),
        log_json: pick(explicit("log_json"), args.log_json, file.log_json),
        oidc_issuer: pick_opt(explicit("oidc_issuer"), args.oidc_issuer, file.oidc_issuer),
        oidc_jwks_url: pick_opt(explicit("oidc_jwks_url"), args.oidc_jwks_url, file.oidc_jwks_url),
        oidc_audience: pick_opt(explicit("oidc_audience"), args.oidc_audience, file.oidc_audience),
        oidc_client_id: pick_opt(
            explicit("oidc_client_id"),
            args.oidc_client_id,
            file.oidc_client_id,
        ),
        oidc_token_use: pick_opt(
            explicit("oidc_token_use"),
            args.oidc_token_use,
            file.oidc_token_use,
        ),
    };
    if settings.oidc_issuer.is_some() != settings.oidc_jwks_url.is_some() {
        return Err(Failure::usage("an OIDC issuer needs both oidc_issuer and oidc_jwks_url"));
    }
    if args.print_config {
        // No secrets live in these settings (signing keys and the URL secret stay in the
        // data directory), so nothing needs redacting.
        print!("{}", toml::to_string(&settings).map_err(|e| Failure::document(e.to_string()))?);
        std::process::exit(0);
    }
    Ok(settings)
}

pub async fn run(settings: ServeSettings) -> Result<(), Failure> {
    let args = Resolved::from(settings);
    let args = &args;
    init_logging(args.log_json);
    let mut data = Data::open(&args.data, Settings::default()).await?;
    let program = std::env::current_exe().map_err(|e| {
        Failure::document(format!("cannot find the folio binary for render workers: {e}"))
    })?;
    let mut pool_config = PoolConfig::new(program);
    if let Some(workers) = args.workers {
        pool_config.workers = workers.max(1);
        pool_config.max_waiting = workers.max(1) * 4;
    }
    pool_config.deadline = Duration::from_secs(args.render_timeout.max(1));
    pool_config.memory_limit_bytes = args.worker_memory_mib.saturating_mul(1024 * 1024);
    pool_config.per_identity =
        args.renders_per_identity.unwrap_or(pool_config.workers / 2).clamp(1, pool_config.workers);
    let workers = WorkerPool::new(pool_config);
    data.pipeline.renderer = Arc::new(WorkerRenderer(Arc::clone(&workers)));
    let pool = data.user_pool().await?;
    let builtin = IssuerConfig {
        issuer: pool.issuer().to_owned(),
        jwks_url: String::new(),
        audience: Some(pool.audience().to_owned()),
        client_id: None,
        token_use: None,
    };
    let others = match (&args.oidc_issuer, &args.oidc_jwks_url) {
        (Some(issuer), Some(jwks_url)) => vec![IssuerConfig {
            issuer: issuer.clone(),
            jwks_url: jwks_url.clone(),
            audience: args.oidc_audience.clone(),
            client_id: args.oidc_client_id.clone(),
            token_use: args.oidc_token_use.clone(),
        }],
        _ => Vec::new(),
    };
    let jwks = pool.jwks().map_err(|e| Failure::document(e.to_string()))?;
    let verifier =
        folio_auth::Verifier::new((builtin, jwks), others, Arc::clone(&data.embedded.clock))
            .map_err(|e| Failure::usage(e.to_string()))?;
    let state = AppState {
        pipeline: data.pipeline.clone(),
        pool: Some(Arc::new(pool)),
        verifier: Arc::new(verifier),
        downloads: Some(data.embedded.signer.clone()),
        events: Some(data.embedded.events.clone()),
        idempotency: data.embedded.idempotency.clone(),
        settings: ServerSettings {
            secure_cookies: args.secure_cookies,
            trusted_proxies: args.trusted_proxies.clone(),
            rates: folio_server::RatePolicy::new(args.creates_per_minute, args.previews_per_minute),
            ..ServerSettings::default()
        },
        metrics: Default::default(),
        limits: Arc::new(folio_core::MemoryRateLimits::default()),
    };

    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(|e| {
        Failure::usage(format!("cannot listen on {}: {e}", args.listen))
            .with_hint("pick another address with --listen, e.g. 127.0.0.1:0 for any free port")
    })?;
    let addr = listener.local_addr().map_err(|e| Failure::document(e.to_string()))?;
    println!("folio is listening on http://{addr}");
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, issuer = %state.pool.as_ref().map_or("", |p| p.issuer()), data_dir = %args.data.data_dir.display(), "serving");

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(run_dispatcher(
        data.pipeline.clone(),
        data.embedded.events.clone(),
        RetryPolicy::default(),
        shutdown.clone(),
    ));
    let reconciler = tokio::spawn(run_reconciler(
        data.pipeline.clone(),
        Arc::new(folio_core::MemoryLease::default()),
        RECONCILE_EVERY,
        shutdown.clone(),
    ));
    let idempotency_ttl_ms = state.settings.idempotency_ttl_ms;
    let housekeeping =
        tokio::spawn(housekeeping(data.embedded.clone(), idempotency_ttl_ms, shutdown));
    let result =
        folio_server::serve(listener, folio_server::router(state), shutdown_signal()).await;
    let _ = stop.send(true);
    let _ = dispatcher.await;
    let _ = reconciler.await;
    let _ = housekeeping.await;
    data.embedded.database.close().await;
    result.map_err(|e| Failure::document(format!("the server stopped: {e}")))
}

/// Deletes what has expired: refresh tokens past their lifetime, idempotency keys older than
/// the server keeps them. (Acknowledged outbox rows are deleted when acknowledged.)
async fn housekeeping(
    embedded: folio_local::Embedded,
    idempotency_ttl_ms: i64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use folio_auth::AccountStore;
    use folio_core::ports::IdempotencyStore;
    loop {
        let now = embedded.clock.now_ms();
        let tokens = embedded.accounts.purge_expired(now).await;
        let keys = embedded.idempotency.purge(now - idempotency_ttl_ms).await;
        match (tokens, keys) {
            (Ok(tokens), Ok(keys)) if tokens + keys > 0 => {
                tracing::info!(tokens, keys, "housekeeping removed expired rows")
            }
            (Ok(_), Ok(_)) => {}
            (tokens, keys) => tracing::warn!(?tokens, ?keys, "housekeeping failed; will try again"),
        }
        tokio::select! {
            () = tokio::time::sleep(HOUSEKEEPING_EVERY) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// How often expired rows are deleted.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(10 * 60);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Settings with every default filled in.
struct Resolved {
    data: crate::args::DataArgs,
    listen: String,
    secure_cookies: bool,
    workers: Option<usize>,
    render_timeout: u64,
    worker_memory_mib: u64,
    renders_per_identity: Option<usize>,
    creates_per_minute: u32,
    previews_per_minute: u32,
    trusted_proxies: Vec<IpAddr>,
    log_json: bool,
    oidc_issuer: Option<String>,
    oidc_jwks_url: Option<String>,
    oidc_audience: Option<String>,
    oidc_client_id: Option<String>,
    oidc_token_use: Option<String>,
}

impl From<ServeSettings> for Resolved {
    fn from(s: ServeSettings) -> Self {
        Self {
            data: crate::args::DataArgs {
                data_dir: s.data_dir.unwrap_or_else(|| PathBuf::from("folio-data")),
                allow_insecure_data_dir: s.allow_insecure_data_dir.unwrap_or(false),
            },
            listen: s.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            secure_cookies: s.secure_cookies.unwrap_or(false),
            workers: s.workers,
            render_timeout: s.render_timeout.unwrap_or(30),
            worker_memory_mib: s.worker_memory_mib.unwrap_or(2048),
            renders_per_identity: s.renders_per_identity,
            creates_per_minute: s.creates_per_minute.unwrap_or(60).max(1),
            previews_per_minute: s.previews_per_minute.unwrap_or(1200).max(1),
            trusted_proxies: s.trusted_proxies.unwrap_or_default(),
            log_json: s.log_json.unwrap_or(false),
            oidc_issuer: s.oidc_issuer,
            oidc_jwks_url: s.oidc_jwks_url,
            oidc_audience: s.oidc_audience,
            oidc_client_id: s.oidc_client_id,
            oidc_token_use: s.oidc_token_use,
        }
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FOLIO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
