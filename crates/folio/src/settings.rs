//! The settings registry: every setting of every command, written once.
//!
//! A setting is one field of a section struct below. Its clap attribute names its flag, its
//! `FOLIO_*` variable and its default; its field name is its key in the section's table of the
//! settings file. Layering happens once, in [`Layered::layer`]: defaults, then the file, then the
//! variable, then the flag — each later source wins where it is given.
//!
//! The file is the one `--config FILE` (or `FOLIO_CONFIG`) names, else `folio.toml` in the
//! current directory when there is one. Every command that opens a deployment reads it (each
//! takes the sections it uses; the file may hold the others). `--print-config` prints the
//! effective settings of the command it is given to and stops.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// The name of the settings file looked for in the current directory.
pub const DEFAULT_FILE: &str = "folio.toml";

/// Where the settings file is and whether to print the effective settings.
#[derive(Debug, Clone, Args)]
pub struct SettingsFile {
    /// A TOML settings file with one table per section (`[data]`, `[backends]`, `[server]`,
    /// `[render]`, `[limits]`, `[oidc]`, `[sessions]`); default: ./folio.toml when present.
    #[arg(long, env = "FOLIO_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the effective settings (defaults, file, FOLIO_* variables and flags layered) as
    /// TOML and stop.
    #[arg(long)]
    pub print_config: bool,
}

/// `[data]`: the embedded shape's data directory.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct DataSection {
    /// Where folio keeps its state on this machine (objects, database, secrets).
    #[arg(
        long = "data-dir",
        env = "FOLIO_DATA_DIR",
        default_value = "folio-data",
        value_name = "DIR"
    )]
    pub dir: PathBuf,
    /// Open a data directory owned by another user or writable by others (refused otherwise:
    /// it holds the signing keys, the download-URL secret, password hashes and every document).
    #[arg(long = "allow-insecure-data-dir", env = "FOLIO_ALLOW_INSECURE_DATA_DIR")]
    pub allow_insecure: bool,
}

/// `[backends]`: which adapters serve each port, as URLs. The embedded values keep everything
/// in the data directory; `s3://bucket?endpoint=…`, `dynamodb://table`, `postgres://…`,
/// `nats://…` and `cognito://…` name the AWS and cluster shapes' backends.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct BackendsSection {
    /// The object store: `file://` (the data directory's `objects/`).
    #[arg(
        long = "objects-url",
        env = "FOLIO_OBJECTS_URL",
        default_value = "file://",
        value_name = "URL"
    )]
    pub objects: String,
    /// The document index: `sqlite://` (the data directory's `folio.db`).
    #[arg(
        long = "index-url",
        env = "FOLIO_INDEX_URL",
        default_value = "sqlite://",
        value_name = "URL"
    )]
    pub index: String,
    /// Object events: `sqlite://` (an outbox in `folio.db`, dispatched in process).
    #[arg(
        long = "events-url",
        env = "FOLIO_EVENTS_URL",
        default_value = "sqlite://",
        value_name = "URL"
    )]
    pub events: String,
    /// Who signs people in: `sqlite://` (the built-in user pool, accounts in `folio.db`) or
    /// `none://` (only the outside issuer of `[oidc]`; no sign-in routes).
    #[arg(
        long = "identity-url",
        env = "FOLIO_IDENTITY_URL",
        default_value = "sqlite://",
        value_name = "URL"
    )]
    pub identity: String,
}

/// `[server]`: the HTTP server.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct ServerSection {
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "FOLIO_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// Mark the session cookie `Secure` (turn on behind HTTPS).
    #[arg(long, env = "FOLIO_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (repeat the flag; a comma list in
    /// the variable). Without one, the client address is the connection's peer.
    #[arg(
        long = "trusted-proxy",
        env = "FOLIO_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "IP"
    )]
    pub trusted_proxies: Vec<IpAddr>,
    /// Log JSON lines instead of pretty text (filter with `FOLIO_LOG`, e.g. `info,folio=debug`).
    #[arg(long, env = "FOLIO_LOG_JSON")]
    pub log_json: bool,
    /// Seconds between SIGTERM and the stop of new connections, while `/readyz` already says
    /// "not ready" and requests are still served: time for a load balancer to notice (set it
    /// above its probe interval × failure threshold). In-flight requests always finish.
    #[arg(
        long = "drain-secs",
        env = "FOLIO_DRAIN_SECS",
        default_value_t = 0,
        value_name = "SECONDS"
    )]
    pub drain_secs: u64,
    /// Seconds between reconciliation passes (the object store against the index, both ways),
    /// run by one instance at a time under the lease, which lapses after two periods.
    #[arg(
        long = "reconcile-secs",
        env = "FOLIO_RECONCILE_SECS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "SECONDS"
    )]
    pub reconcile_secs: u64,
}

/// `[render]`: the render worker processes.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct RenderSection {
    /// Render worker processes (default: one per core).
    #[arg(long, env = "FOLIO_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Seconds a render may take before its worker is replaced (`render_timeout`).
    #[arg(
        long = "render-timeout",
        env = "FOLIO_RENDER_TIMEOUT",
        default_value_t = 30,
        value_name = "SECONDS"
    )]
    pub timeout: u64,
    /// Each worker's address-space cap in MiB.
    #[arg(
        long = "worker-memory-mib",
        env = "FOLIO_WORKER_MEMORY_MIB",
        default_value_t = 2048,
        value_name = "MIB"
    )]
    pub memory_mib: u64,
    /// Renders one identity may have running at once (default: half the workers, at least one).
    #[arg(long = "renders-per-identity", env = "FOLIO_RENDERS_PER_IDENTITY", value_name = "N")]
    pub per_identity: Option<usize>,
    /// A folder of extra fonts (.ttf, .otf, .ttc; subfolders too), e.g. a CJK family: every
    /// render worker loads them once at start, beside the bundled ones (rendering reads no file).
    #[arg(long = "font-dir", env = "FOLIO_FONT_DIR", value_name = "DIR")]
    pub font_dir: Option<PathBuf>,
}

/// `[limits]`: rate budgets and sign-in throttles (one mechanism: `folio_core::limits`).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct LimitsSection {
    /// Creates per identity per minute (429 `rate_limited` beyond).
    #[arg(long, env = "FOLIO_CREATES_PER_MINUTE", default_value_t = 60, value_name = "N")]
    pub creates_per_minute: u32,
    /// Previews per identity per minute.
    #[arg(long, env = "FOLIO_PREVIEWS_PER_MINUTE", default_value_t = 1200, value_name = "N")]
    pub previews_per_minute: u32,
    /// Registrations per client address per minute.
    #[arg(long, env = "FOLIO_REGISTRATIONS_PER_MINUTE", default_value_t = 30, value_name = "N")]
    pub registrations_per_minute: u32,
    /// Failed sign-ins per (account, address) before backing off.
    #[arg(long, env = "FOLIO_SIGNIN_FREE_FAILURES", default_value_t = 5, value_name = "N")]
    pub signin_free_failures: u32,
    /// Failed sign-ins per address, whatever the accounts, before backing off.
    #[arg(
        long,
        env = "FOLIO_SIGNIN_FREE_FAILURES_PER_ADDRESS",
        default_value_t = 20,
        value_name = "N"
    )]
    pub signin_free_failures_per_address: u32,
    /// Failed sign-ins an account takes per window from all addresses together.
    #[arg(
        long,
        env = "FOLIO_SIGNIN_ACCOUNT_FAILURES_PER_WINDOW",
        default_value_t = 50,
        value_name = "N"
    )]
    pub signin_account_failures_per_window: u32,
    /// The longest sign-in back-off and the account window, in seconds; failures are forgotten
    /// after this long without one.
    #[arg(long, env = "FOLIO_SIGNIN_BACKOFF_MAX_SECS", default_value_t = 900, value_name = "SECS")]
    pub signin_backoff_max_secs: u64,
    /// What one identity may store, in MiB: documents (source, manifest, PDF) and images (each
    /// stored once); `0`: no quota. Beyond it, 413 `quota_exceeded`.
    #[arg(long, env = "FOLIO_STORAGE_QUOTA_MIB", default_value_t = 1024, value_name = "MIB")]
    pub storage_quota_mib: u64,
}

impl LimitsSection {
    /// The quota in bytes (`None`: none).
    pub fn quota_bytes(&self) -> Option<u64> {
        quota_bytes(self.storage_quota_mib)
    }
}

/// A storage quota given in MiB, in bytes (`0`: no quota). Shared by `serve` and the api function.
pub fn quota_bytes(mib: u64) -> Option<u64> {
    (mib > 0).then(|| mib.saturating_mul(1 << 20))
}

impl LimitsSection {
    /// Refuses values that would switch a limit off (0 budgets, a 0 s back-off).
    fn check(&self) -> Result<(), Failure> {
        let positive = [
            ("creates_per_minute", u64::from(self.creates_per_minute)),
            ("previews_per_minute", u64::from(self.previews_per_minute)),
            ("registrations_per_minute", u64::from(self.registrations_per_minute)),
            (
                "signin_account_failures_per_window",
                u64::from(self.signin_account_failures_per_window),
            ),
            ("signin_backoff_max_secs", self.signin_backoff_max_secs),
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((key, _)) => Err(Failure::usage(format!("[limits] {key} must be at least 1"))),
            None => Ok(()),
        }
    }
}

/// `[oidc]`: one more trusted token issuer (an OpenID Connect provider, e.g. a Cognito pool).
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct OidcSection {
    /// The issuer (`iss`) its tokens carry.
    #[arg(long = "oidc-issuer", env = "FOLIO_OIDC_ISSUER", value_name = "ISSUER")]
    pub issuer: Option<String>,
    /// Where its signing keys are published.
    #[arg(long = "oidc-jwks-url", env = "FOLIO_OIDC_JWKS_URL", value_name = "URL")]
    pub jwks_url: Option<String>,
    /// The audience (`aud`) its tokens must name (ID tokens).
    #[arg(long = "oidc-audience", env = "FOLIO_OIDC_AUDIENCE", value_name = "AUD")]
    pub audience: Option<String>,
    /// The `client_id` its tokens must carry (Cognito access tokens have no `aud`).
    #[arg(long = "oidc-client-id", env = "FOLIO_OIDC_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// The `token_use` its tokens must carry (Cognito: `access`).
    #[arg(long = "oidc-token-use", env = "FOLIO_OIDC_TOKEN_USE", value_name = "USE")]
    pub token_use: Option<String>,
}

/// `[sessions]`: the built-in pool's signing keys.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct SessionsSection {
    /// How long a retired signing key keeps verifying after `folio keys rotate`, in seconds
    /// (at least the access-token lifetime, which is 15 minutes).
    #[arg(
        long = "key-overlap",
        env = "FOLIO_KEY_OVERLAP",
        default_value_t = 3600,
        value_name = "SECONDS"
    )]
    pub key_overlap: u64,
    /// How often a running server reads the key ring again, in seconds: after `folio keys
    /// rotate`, every server signs with the new key within this time (tokens it signs verify
    /// everywhere at once).
    #[arg(
        long = "key-refresh-secs",
        env = "FOLIO_KEY_REFRESH_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "SECONDS"
    )]
    pub key_refresh_secs: u64,
}

impl SessionsSection {
    /// The key ring's schedule these settings give.
    pub fn key_schedule(&self) -> folio_auth::KeySchedule {
        folio_auth::KeySchedule {
            overlap: std::time::Duration::from_secs(self.key_overlap),
            refresh: std::time::Duration::from_secs(self.key_refresh_secs),
        }
    }
}

/// A section of the settings file.
pub trait Section: Args + FromArgMatches + Serialize + DeserializeOwned {
    /// Its table's name in the file.
    const NAME: &'static str;
}

impl Section for DataSection {
    const NAME: &'static str = "data";
}
impl Section for BackendsSection {
    const NAME: &'static str = "backends";
}
impl Section for ServerSection {
    const NAME: &'static str = "server";
}
impl Section for RenderSection {
    const NAME: &'static str = "render";
}
impl Section for LimitsSection {
    const NAME: &'static str = "limits";
}
impl Section for OidcSection {
    const NAME: &'static str = "oidc";
}
impl Section for SessionsSection {
    const NAME: &'static str = "sessions";
}

/// Every section's name: a file's table outside this list is a mistake worth stopping for.
const SECTIONS: [&str; 7] = [
    DataSection::NAME,
    BackendsSection::NAME,
    ServerSection::NAME,
    RenderSection::NAME,
    LimitsSection::NAME,
    OidcSection::NAME,
    SessionsSection::NAME,
];

/// The settings of every command that opens a deployment (`docs`, `users`, `events`,
/// `reindex`, `backup`, `keys`).
#[derive(Debug, Clone, Args)]
pub struct StoreSettings {
    #[command(flatten)]
    pub file: SettingsFile,
    #[command(flatten)]
    pub data: DataSection,
    #[command(flatten)]
    pub backends: BackendsSection,
    #[command(flatten)]
    pub sessions: SessionsSection,
}

/// The settings of `folio serve`: the store's and the server's.
#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    #[command(flatten)]
    pub store: StoreSettings,
    #[command(flatten)]
    pub server: ServerSection,
    #[command(flatten)]
    pub render: RenderSection,
    #[command(flatten)]
    pub limits: LimitsSection,
    #[command(flatten)]
    pub oidc: OidcSection,
}

/// Settings a command layers and may print.
pub trait Layered: Sized {
    /// Puts the file's values under the variables and flags (`matches` are the command's).
    fn layer(self, matches: &ArgMatches) -> Result<Self, Failure>;
}

impl Layered for StoreSettings {
    fn layer(self, matches: &ArgMatches) -> Result<Self, Failure> {
        let mut file = File::read(self.file.config.as_deref())?;
        let layered = Self {
            data: file.layer(self.data, matches)?,
            backends: file.layer(self.backends, matches)?,
            sessions: file.layer(self.sessions, matches)?,
            file: self.file,
        };
        if layered.file.print_config {
            print_and_exit(&file.printed);
        }
        Ok(layered)
    }
}

impl Layered for ServeSettings {
    fn layer(self, matches: &ArgMatches) -> Result<Self, Failure> {
        let mut file = File::read(self.store.file.config.as_deref())?;
        let store = StoreSettings {
            data: file.layer(self.store.data, matches)?,
            backends: file.layer(self.store.backends, matches)?,
            sessions: file.layer(self.store.sessions, matches)?,
            file: self.store.file,
        };
        let layered = Self {
            server: file.layer(self.server, matches)?,
            render: file.layer(self.render, matches)?,
            limits: file.layer(self.limits, matches)?,
            oidc: file.layer(self.oidc, matches)?,
            store,
        };
        layered.limits.check()?;
        if layered.oidc.issuer.is_some() != layered.oidc.jwks_url.is_some() {
            return Err(Failure::usage(
                "an outside issuer needs both [oidc] issuer and jwks_url (--oidc-issuer, --oidc-jwks-url)",
            ));
        }
        if layered.store.file.print_config {
            print_and_exit(&file.printed);
        }
        Ok(layered)
    }
}

/// No secret lives in the settings (signing keys and the URL secret stay in the data
/// directory or its shape's secret store), so printing needs no redaction.
fn print_and_exit(printed: &str) -> ! {
    print!("{printed}");
    std::process::exit(0);
}

/// The settings file's tables, consumed section by section.
struct File {
    /// Where it came from (for messages).
    path: Option<PathBuf>,
    /// Its tables.
    tables: toml::Table,
    /// The effective settings printed so far, as TOML.
    printed: String,
}

impl File {
    /// Reads `path`, else `./folio.toml` when it exists, else nothing.
    fn read(path: Option<&Path>) -> Result<Self, Failure> {
        let path = match path {
            Some(path) => Some(path.to_owned()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
        };
        let Some(path) = path else {
            return Ok(Self { path: None, tables: toml::Table::new(), printed: String::new() });
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        let tables: toml::Table = toml::from_str(&text)
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
        for (name, value) in &tables {
            if !SECTIONS.contains(&name.as_str()) || !value.is_table() {
                return Err(Failure::usage(format!(
                    "{}: `{name}` is not a settings section",
                    path.display()
                ))
                .with_hint(format!(
                    "the sections are {}",
                    SECTIONS.map(|s| format!("[{s}]")).join(", ")
                )));
            }
        }
        Ok(Self { path: Some(path), tables, printed: String::new() })
    }

    fn name(&self) -> String {
        self.path.as_deref().map_or_else(|| "settings".to_owned(), |p| p.display().to_string())
    }

    /// `parsed` (defaults, variables and flags, as clap read them) with the file's values put
    /// wherever neither a variable nor a flag gave one.
    fn layer<S: Section>(&mut self, parsed: S, matches: &ArgMatches) -> Result<S, Failure> {
        let keys: Vec<String> = S::augment_args(clap::Command::new(S::NAME))
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .collect();
        let mut effective = toml::Table::try_from(&parsed)
            .map_err(|e| Failure::document(format!("settings: {e}")))?;
        if let Some(toml::Value::Table(section)) = self.tables.remove(S::NAME) {
            for (key, value) in section {
                if !keys.contains(&key) {
                    return Err(Failure::usage(format!(
                        "{}: [{}] has no setting `{key}`",
                        self.name(),
                        S::NAME
                    ))
                    .with_hint(format!(
                        "[{}] takes {}",
                        S::NAME,
                        keys.join(", ")
                    )));
                }
                let given = matches!(
                    matches.value_source(&key),
                    Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                );
                if !given {
                    effective.insert(key, value);
                }
            }
        }
        let layered: S = effective.clone().try_into().map_err(|e: toml::de::Error| {
            Failure::usage(format!("{}: [{}] {}", self.name(), S::NAME, e.message()))
        })?;
        self.print(S::NAME, &keys, &effective);
        Ok(layered)
    }

    /// Adds one section to the printed settings; unset optional settings are printed as
    /// comments, so the output names every key.
    fn print(&mut self, name: &str, keys: &[String], effective: &toml::Table) {
        use std::fmt::Write;
        let _ = writeln!(self.printed, "[{name}]");
        for key in keys {
            match effective.get(key) {
                Some(value) => {
                    let _ = writeln!(self.printed, "{key} = {value}");
                }
                None => {
                    let _ = writeln!(self.printed, "# {key} = (unset)");
                }
            }
        }
        self.printed.push('\n');
    }
}

/// The deepest subcommand's matches: where a command's settings were parsed.
pub fn leaf(matches: &ArgMatches) -> &ArgMatches {
    let mut matches = matches;
    while let Some((_, sub)) = matches.subcommand() {
        matches = sub;
    }
    matches
}
