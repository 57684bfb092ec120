//! Command-line arguments: every clap type lives here, with doc comments as help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::settings::StoreSettings;

/// folio — markdown to beautiful, accessible PDFs.
#[derive(Debug, Parser)]
#[command(name = "folio", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once per process; `serve`'s settings are the large one"
)]
pub enum Command {
    /// Render a markdown file to PDF.
    Render(RenderArgs),
    /// Work with stored documents without a server.
    #[command(subcommand)]
    Docs(DocsCommand),
    /// Inspect and replay the event log's dead letters.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Reconcile the document index with the stored objects (the store is the truth).
    Reindex(ReindexArgs),
    /// Run the API server and the web app over the deployment the settings name.
    Serve(crate::settings::ServeSettings),
    /// Manage accounts of the built-in user pool.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Copy the data directory (a consistent database snapshot, then the objects) while folio
    /// runs. Restore: stop folio, use the copy as the data directory, run `folio reindex`.
    Backup(BackupArgs),
    /// Manage the built-in pool's token-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Render jobs from standard input (started by `folio serve`; not for people).
    #[command(hide = true)]
    Worker,
    /// Run as a function of the AWS shape, under the Lambda runtime (a `provided.al2023`
    /// bootstrap runs `folio lambda <function>`; it needs `AWS_LAMBDA_RUNTIME_API`).
    #[cfg(feature = "aws")]
    #[command(subcommand)]
    Lambda(LambdaCommand),
}

/// `folio lambda …`: the AWS shape's functions.
#[cfg(feature = "aws")]
#[derive(Debug, Subcommand)]
pub enum LambdaCommand {
    /// The indexer: S3 notifications from SQS into the index; answers the messages to deliver
    /// again (`batchItemFailures`).
    Indexer(LambdaArgs),
    /// The reconcile function (scheduled): one reconciliation under the table's lease, its
    /// repairs indexed in process.
    Reconcile(LambdaArgs),
    /// create for the direct-invoke path (Cognito identity-pool callers).
    Create(LambdaArgs),
    /// query for the direct-invoke path (Cognito identity-pool callers).
    Query(LambdaArgs),
    /// The api function: folio's API and web app behind an API Gateway HTTP API (payload
    /// format 2.0), signing people in with a Cognito user pool.
    Api(ApiArgs),
}

/// Settings of the api function (the template sets them as variables).
#[cfg(feature = "aws")]
#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// The table and the bucket.
    #[command(flatten)]
    pub state: LambdaArgs,
    /// The user pool: `cognito://POOL_ID?client_id=…[&endpoint=…]`.
    #[arg(long = "identity-url", env = "FOLIO_IDENTITY_URL", value_name = "URL")]
    pub identity_url: String,
    /// How long one request may take before it is answered `render_timeout` and the process
    /// ends (below API Gateway's 30 s).
    #[arg(
        long = "render-deadline-secs",
        env = "FOLIO_RENDER_DEADLINE_SECS",
        default_value_t = 25,
        value_name = "SECS"
    )]
    pub render_deadline_secs: u64,
    /// What one identity may store, in MiB (`0`: no quota).
    #[arg(
        long = "storage-quota-mib",
        env = "FOLIO_STORAGE_QUOTA_MIB",
        default_value_t = 1024,
        value_name = "MIB"
    )]
    pub storage_quota_mib: u64,
}

/// Where an AWS function's state is (the template sets both variables).
#[cfg(feature = "aws")]
#[derive(Debug, Clone, clap::Args)]
pub struct LambdaArgs {
    /// The table: `dynamodb://TABLE[?endpoint=…&region=…]`.
    #[arg(long = "index-url", env = "FOLIO_INDEX_URL", value_name = "URL")]
    pub index_url: String,
    /// The bucket: `s3://BUCKET[?endpoint=…&region=…]`.
    #[arg(long = "objects-url", env = "FOLIO_OBJECTS_URL", value_name = "URL")]
    pub objects_url: String,
    /// Extra fonts for the functions that render (api, create): a folder of .ttf/.otf/.ttc
    /// files (a fonts layer's `/opt/fonts`), loaded once at the cold start.
    #[arg(long = "font-dir", env = "FOLIO_FONT_DIR", value_name = "DIR")]
    pub font_dir: Option<PathBuf>,
}

/// `folio keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new current signing key. Tokens signed with the previous key keep verifying (and
    /// it stays in the JWKS) for `[sessions] key_overlap`, then it is dropped. Running servers
    /// sign with the new key within `[sessions] key_refresh_secs` (30 seconds).
    Rotate(StoreSettings),
}

/// `folio users …`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List accounts.
    List(UsersListArgs),
    /// Set a new password (read from standard input, or generated and printed); ends the
    /// user's sessions.
    ResetPassword(UserArgs),
    /// Delete an account and all its documents.
    Delete(UserArgs),
}

/// Arguments of `folio users list`.
#[derive(Debug, Args)]
pub struct UsersListArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments naming one user.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    /// The account's email.
    pub email: String,
}

/// `folio docs …`
#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// List an identity's documents, newest first.
    List(DocsListArgs),
    /// Render markdown files and store them as an identity's documents.
    Import(DocsImportArgs),
}

/// `folio events …`
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List events that could not be indexed.
    Dead(EventsDeadArgs),
    /// Deliver dead events again (all, or the given ids).
    Retry(EventsRetryArgs),
}

/// Whose documents.
#[derive(Debug, Args)]
pub struct WhoArgs {
    /// The identity id (a UUID, as in object keys `ugc/<identity>/…`).
    #[arg(long = "identity", id = "who_identity", value_name = "ID", conflicts_with = "subject")]
    pub identity: Option<String>,
    /// A subject of the built-in user pool (its identity id is derived from this data
    /// directory's issuer).
    #[arg(long, value_name = "NAME")]
    pub subject: Option<String>,
}

/// Arguments of `folio docs list`.
#[derive(Debug, Args)]
pub struct DocsListArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    #[command(flatten)]
    pub who: WhoArgs,
    /// Only titles containing this text (case-insensitive).
    #[arg(long)]
    pub title: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `folio docs import`.
#[derive(Debug, Args)]
pub struct DocsImportArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    #[command(flatten)]
    pub who: WhoArgs,
    /// Markdown files to import.
    #[arg(required = true, value_name = "FILE.md")]
    pub files: Vec<PathBuf>,
}

/// Arguments of `folio events dead`.
#[derive(Debug, Args)]
pub struct EventsDeadArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `folio events retry`.
#[derive(Debug, Args)]
pub struct EventsRetryArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    /// Event ids to replay (default: all dead letters).
    pub ids: Vec<String>,
}

/// Arguments of `folio reindex`.
#[derive(Debug, Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    /// Sources and manifests without a PDF older than this many seconds are deleted.
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    pub orphan_grace_secs: i64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `folio render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Markdown files or folders to render (every `.md` in a folder, recursively), or `-` for
    /// standard input. Images a document references are read from beside it (never from
    /// outside its folder, never from the network).
    #[arg(value_name = "IN.md|DIR", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,

    /// Where to write the PDF (`-` for standard output), for a single input. Defaults to the
    /// input path with a `.pdf` extension, or standard output when reading standard input.
    #[arg(short, long, value_name = "OUT.pdf", conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,

    /// Write the PDFs into this folder (created if needed), keeping each folder's layout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Documents rendered at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<std::num::NonZeroUsize>,

    /// Paper size (overrides the front matter's `paper`).
    #[arg(long, value_enum)]
    pub paper: Option<PaperArg>,

    /// Look (overrides the front matter's `theme`).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeArg>,

    /// Add a table of contents (overrides the front matter's `toc`).
    #[arg(long)]
    pub toc: bool,

    /// Number the headings (overrides the front matter's `numbering` and the theme).
    #[arg(long, overrides_with = "no_numbering")]
    pub numbering: bool,

    /// Do not number the headings.
    #[arg(long)]
    pub no_numbering: bool,

    /// Base font size in points, 6–24 (overrides the front matter's `font-size`).
    #[arg(long, value_name = "PT", value_parser = parse_font_size)]
    pub font_size: Option<f64>,

    /// Page margin on every side: `2cm`, `20mm`, `1in` or `54pt`, 5–60 mm (overrides the
    /// front matter's `margin` and the theme).
    #[arg(long, value_name = "LENGTH", value_parser = parse_margin)]
    pub margin: Option<f64>,

    /// Make the PDF conform to a standard: `a-2b`, `a-3b` (archival) or `ua-1` (accessible).
    /// Repeat to combine where Typst allows it.
    #[arg(long = "pdf-standard", value_name = "STANDARD", value_parser = parse_standard)]
    pub standards: Vec<folio_render::PdfStandard>,

    /// Attach the markdown source to the PDF as `source.md`.
    #[arg(long)]
    pub attach_source: bool,

    /// Also use the fonts in this folder (`.ttf`, `.otf`, `.ttc`), e.g. for CJK text.
    #[arg(long, env = "FOLIO_FONT_DIR", value_name = "DIR")]
    pub font_dir: Option<PathBuf>,
    /// Stop a document's render after this many seconds (0: no limit); in a batch it fails
    /// alone and the rest go on.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
    /// Cap the memory of a render (its address space) at this many MiB (0: no cap); in a batch
    /// a document that needs more fails alone.
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub memory_mib: u64,

    /// Document title for the PDF metadata (else front matter, first heading, "Untitled").
    #[arg(long)]
    pub title: Option<String>,
}

fn parse_font_size(text: &str) -> Result<f64, String> {
    let size: f64 =
        text.trim_end_matches("pt").parse().map_err(|_| format!("{text:?} is not a number"))?;
    if folio_render::FONT_SIZE_RANGE.contains(&size) {
        Ok(size)
    } else {
        Err("the font size must be from 6 to 24 points".to_owned())
    }
}

fn parse_margin(text: &str) -> Result<f64, String> {
    folio_render::parse_margin(text)
        .ok_or_else(|| format!("{text:?} is not a margin from 5 to 60 mm (like 2cm, 20mm or 1in)"))
}

fn parse_standard(text: &str) -> Result<folio_render::PdfStandard, String> {
    folio_render::PdfStandard::parse(text)
        .ok_or_else(|| format!("{text:?} is not a standard folio offers: use a-2b, a-3b or ua-1"))
}

/// Themes on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ThemeArg {
    /// Libertinus Serif, justified, blue headings.
    Classic,
    /// A modern report in DejaVu Sans.
    Report,
    /// A book: New Computer Modern, chapters on new pages, numbered headings.
    Book,
}

impl From<ThemeArg> for folio_render::Theme {
    fn from(theme: ThemeArg) -> Self {
        match theme {
            ThemeArg::Classic => Self::Classic,
            ThemeArg::Report => Self::Report,
            ThemeArg::Book => Self::Book,
        }
    }
}

/// Paper sizes on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PaperArg {
    /// ISO A4 (210 × 297 mm).
    A4,
    /// US Letter (8.5 × 11 in).
    UsLetter,
    /// ISO A5 (148 × 210 mm).
    A5,
}

impl From<PaperArg> for folio_render::Paper {
    fn from(paper: PaperArg) -> Self {
        match paper {
            PaperArg::A4 => Self::A4,
            PaperArg::UsLetter => Self::UsLetter,
            PaperArg::A5 => Self::A5,
        }
    }
}

/// Arguments of `folio backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub settings: StoreSettings,
    /// Where to write the copy (a new or empty folder).
    pub dest: PathBuf,
}

#[cfg(test)]
mod tests {
    /// clap checks its own rules (unique ids across flattened sections, among others) when a
    /// command is built; this builds every one.
    #[test]
    fn every_command_is_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
