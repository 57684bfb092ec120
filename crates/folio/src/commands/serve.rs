//! `folio serve`: the API over the embedded data directory, with the dispatcher and the
//! reconciler running beside it.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use folio_auth::{
    IssuerConfig, IssuerKeys, PoolSettings, SignIn, ThrottleSettings, TrustedIssuer, Verifier,
};
use folio_core::{BackgroundPolicy, Settings};
use folio_server::{AppState, RatePolicy, ServerSettings};
use folio_workers::{PoolConfig, WorkerPool, WorkerRenderer};

use crate::failure::Failure;
use crate::settings::{LimitsSection, RenderSection, ServeSettings};
use crate::shape::Deployment;

/// How often the built-in pool's expired refresh tokens are deleted.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(10 * 60);

pub async fn run(settings: ServeSettings) -> Result<(), Failure> {
    init_logging(settings.server.log_json);
    let workers = WorkerPool::new(pool_config(&settings.render)?);
    let deployment = Deployment::open(
        &settings.store,
        Arc::new(WorkerRenderer(Arc::clone(&workers))),
        Settings { quota_bytes: settings.limits.quota_bytes(), ..Settings::default() },
    )
    .await?;
    if deployment.shape.runs_as_functions() {
        return Err(Failure::usage(
            "`folio serve` has no meaning in the AWS shape: API Gateway runs the api function",
        )
        .with_hint("deploy it with deploy/aws/template.yaml (README, \"The AWS shape\")"));
    }
    let services = &deployment.services;
    let clock = Arc::clone(&services.pipeline.clock);
    let pool = match deployment.builtin {
        Some(_) => Some(Arc::new(deployment.user_pool(pool_settings(&settings.limits)).await?)),
        None => None,
    };
    let mut issuers: Vec<TrustedIssuer> = pool.iter().map(|p| p.trusted_issuer()).collect();
    if let (Some(issuer), Some(jwks_url)) = (&settings.oidc.issuer, &settings.oidc.jwks_url) {
        issuers.push(TrustedIssuer {
            config: IssuerConfig {
                issuer: issuer.clone(),
                jwks_url: jwks_url.clone(),
                audience: settings.oidc.audience.clone(),
                client_id: settings.oidc.client_id.clone(),
                token_use: settings.oidc.token_use.clone(),
            },
            keys: IssuerKeys::Remote,
        });
    }
    if issuers.is_empty() {
        return Err(Failure::usage("nobody could sign in: [backends] identity = \"none://\" needs an outside issuer")
            .with_hint("set [oidc] issuer and jwks_url (--oidc-issuer, --oidc-jwks-url), or use the built-in pool"));
    }
    let verifier = Verifier::with_issuers(issuers, Arc::clone(&clock))
        .map_err(|e| Failure::usage(e.to_string()))?;
    let server_settings = ServerSettings {
        secure_cookies: settings.server.secure_cookies,
        trusted_proxies: settings.server.trusted_proxies.clone(),
        rates: RatePolicy::new(
            settings.limits.creates_per_minute,
            settings.limits.previews_per_minute,
            settings.limits.registrations_per_minute,
        ),
        ..ServerSettings::default()
    };
    let policy = BackgroundPolicy {
        idempotency_ttl: Duration::from_millis(
            u64::try_from(server_settings.idempotency_ttl_ms).unwrap_or(0),
        ),
        reconcile_every: Duration::from_secs(settings.server.reconcile_secs),
        ..BackgroundPolicy::default()
    };
    let state = AppState::new(
        services,
        pool.clone().map(|pool| pool as Arc<dyn SignIn>),
        Arc::new(verifier),
        server_settings,
    );

    let listen = &settings.server.listen;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        Failure::usage(format!("cannot listen on {listen}: {e}"))
            .with_hint("pick another address with --listen, e.g. 127.0.0.1:0 for any free port")
    })?;
    // Warm workers before the first request: it does not pay for starting them, loading fonts
    // or filling Typst's caches.
    let warm = workers.warm_up().await;
    if warm < workers.size() {
        tracing::warn!(warm, "not every render worker started; they will be started on demand");
    }
    let addr = listener.local_addr().map_err(|e| Failure::document(e.to_string()))?;
    println!("folio is listening on http://{addr}");
    let _ = std::io::stdout().flush();
    tracing::info!(
        %addr,
        shape = deployment.shape.name(),
        issuer = %pool.as_ref().map_or("", |p| p.issuer()),
        data_dir = %settings.store.data.dir.display(),
        "serving"
    );

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut background = services.background(policy, &shutdown);
    if let Some(builtin) = &deployment.builtin {
        background.push(Box::pin(builtin.clone().run_housekeeping(
            clock,
            HOUSEKEEPING_EVERY,
            shutdown.clone(),
        )));
    }
    let running: Vec<_> = background.into_iter().map(tokio::spawn).collect();
    // On SIGTERM: not ready at once, keep serving for the drain period, then stop taking
    // connections and let the in-flight requests finish.
    let readiness = Arc::clone(&services.readiness);
    let drain = Duration::from_secs(settings.server.drain_secs);
    let stopping = async move {
        shutdown_signal().await;
        readiness.start_draining();
        if !drain.is_zero() {
            tracing::info!(
                seconds = drain.as_secs(),
                "draining: /readyz answers 503 before the stop"
            );
            tokio::time::sleep(drain).await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    };
    let result = folio_server::serve(listener, folio_server::router(state), stopping).await;
    let _ = stop.send(true);
    for task in running {
        let _ = task.await;
    }
    deployment.close().await;
    result.map_err(|e| Failure::document(format!("the server stopped: {e}")))
}

/// The built-in pool's throttles from `[limits]`.
fn pool_settings(limits: &LimitsSection) -> PoolSettings {
    PoolSettings {
        throttle: ThrottleSettings {
            free_failures: limits.signin_free_failures,
            free_failures_per_address: limits.signin_free_failures_per_address,
            max_backoff_secs: limits.signin_backoff_max_secs,
            account_failures_per_window: limits.signin_account_failures_per_window,
        },
        ..PoolSettings::default()
    }
}

/// The worker pool's settings from `[render]`.
fn pool_config(render: &RenderSection) -> Result<PoolConfig, Failure> {
    let program = std::env::current_exe().map_err(|e| {
        Failure::document(format!("cannot find the folio binary for render workers: {e}"))
    })?;
    let mut config = PoolConfig::new(program);
    if let Some(workers) = render.workers {
        config.workers = workers.max(1);
        config.max_waiting = workers.max(1) * 4;
    }
    config.deadline = Duration::from_secs(render.timeout.max(1));
    config.memory_limit_bytes = render.memory_mib.saturating_mul(1024 * 1024);
    config.per_identity =
        render.per_identity.unwrap_or(config.workers / 2).clamp(1, config.workers);
    if let Some(dir) = &render.font_dir {
        // Checked here, so a wrong folder stops the start with a clear message instead of
        // every worker failing to start.
        folio_render::FontSet::with_dir(dir).map_err(|e| {
            Failure::usage(format!("--font-dir: {e}"))
                .with_hint("point it at a folder of .ttf, .otf or .ttc files")
        })?;
        config.font_dir = Some(dir.clone());
    }
    Ok(config)
}

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
}

/// Logs to standard error at `FOLIO_LOG`'s level (default `info`), as JSON lines when `json`
/// (what log collectors read: journald, CloudWatch for the Lambda functions).
pub(crate) fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FOLIO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}
