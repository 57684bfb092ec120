//! Render workers: Typst has no deadline, no memory limit and no cancellation, so the server
//! never renders on its own threads. A pool of `folio worker` processes renders instead, each
//! with an address-space cap (`RLIMIT_AS`) and each render with a wall-clock deadline; a worker
//! that hangs is killed (`render_timeout`), one that dies is replaced (`render_failed`), and
//! other requests go on. When every worker is busy and the queue is full, callers get
//! `overloaded` at once instead of waiting without bound.
//!
//! The protocol is length-prefixed JSON frames over the worker's stdin and stdout.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use folio_core::ports::{RenderRequest, RenderedPdf, Renderer};
use folio_core::{Engine, Error, Result};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

/// The largest frame either side accepts.
const MAX_FRAME: usize = 256 * 1024 * 1024;

/// What a worker is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// `pdf` or `pages`.
    pub kind: JobKind,
    /// The markdown.
    pub markdown: String,
    /// Title override.
    pub title: Option<String>,
    /// Render options (paper, theme, contents…).
    #[serde(default)]
    pub options: folio_core::functions::CreateOptions,
    /// Images, base64.
    #[serde(default)]
    pub assets: BTreeMap<String, String>,
}

/// The kinds of jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A PDF.
    Pdf,
    /// Page SVGs.
    Pages,
    /// The sanitized HTML preview (in a worker too: its deadline bounds any input).
    Html,
}

/// A worker's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The job's output.
    Done {
        /// PDF bytes, base64 (pdf jobs).
        pdf: Option<String>,
        /// One SVG per page (pages jobs).
        pages: Option<Vec<String>>,
        /// The HTML preview (html jobs).
        #[serde(default)]
        html: Option<String>,
        /// Page count.
        page_count: usize,
        /// The title used.
        title: String,
        /// Warnings.
        warnings: Vec<WarningOut>,
        /// The process id of the worker that rendered (logs; affinity tests).
        #[serde(default)]
        worker: u32,
    },
    /// The document could not be rendered.
    Failed {
        /// The API error code.
        code: String,
        /// The message.
        message: String,
    },
}

/// A warning as it crosses the process boundary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WarningOut {
    /// Markdown line (0: none).
    pub line: usize,
    /// Kind (`html_dropped`, …).
    pub kind: String,
    /// Message.
    pub message: String,
}

fn read_frame_sync(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut buf = vec![0u8; len];
    input.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn write_frame_sync(output: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| std::io::Error::other("frame too large"))?;
    output.write_all(&len.to_be_bytes())?;
    output.write_all(bytes)?;
    output.flush()
}

/// Where a worker finds the folder of extra fonts its pool was given.
const FONT_DIR_VARIABLE: &str = "FOLIO_WORKER_FONT_DIR";

/// The extra fonts of this worker process, loaded once before the first job.
static WORKER_FONTS: std::sync::OnceLock<Option<Arc<folio_render::FontSet>>> =
    std::sync::OnceLock::new();

/// The worker process's main loop (`folio worker`): loads its fonts, caps its own address
/// space, then renders jobs from stdin until stdin closes.
pub fn worker_main(memory_limit_bytes: u64) -> std::io::Result<()> {
    let fonts = match std::env::var_os(FONT_DIR_VARIABLE) {
        Some(dir) => Some(
            folio_render::FontSet::with_dir(std::path::Path::new(&dir))
                .map_err(std::io::Error::other)?,
        ),
        None => None,
    };
    let _ = WORKER_FONTS.set(fonts);
    if memory_limit_bytes > 0 {
        rlimit::setrlimit(rlimit::Resource::AS, memory_limit_bytes, memory_limit_bytes)?;
    }
    deny_network_and_exec()?;
    folio_render::quiet_render_panics();
    // Trim Typst's cache after each answer is sent, while the next job is not yet here.
    folio_render::set_cache_trim(folio_render::CacheTrim::ByCaller);
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    while let Some(frame) = read_frame_sync(&mut stdin)? {
        let answer = match serde_json::from_slice::<Job>(&frame) {
            Ok(job) => run_job(job),
            Err(e) => Answer::Failed {
                code: "render_failed".to_owned(),
                message: format!("bad job: {e}"),
            },
        };
        let bytes = serde_json::to_vec(&answer).map_err(std::io::Error::other)?;
        write_frame_sync(&mut stdout, &bytes)?;
        folio_render::trim_caches();
    }
    Ok(())
}

fn run_job(job: Job) -> Answer {
    test_faults(&job.markdown);
    let assets = job
        .assets
        .into_iter()
        .filter_map(|(k, v)| STANDARD.decode(v).ok().map(|b| (k, b)))
        .collect();
    let options = match crate::renderer::render_options(job.title, &job.options, assets) {
        Ok(options) => {
            folio_render::RenderOptions { fonts: WORKER_FONTS.get().cloned().flatten(), ..options }
        }
        Err(message) => return Answer::Failed { code: "invalid_request".to_owned(), message },
    };
    let warnings = |list: &[folio_render::Warning]| {
        list.iter()
            .map(|w| WarningOut {
                line: w.line,
                kind: w.kind.as_str().to_owned(),
                message: w.message.clone(),
            })
            .collect()
    };
    let failed = |err: folio_render::RenderError| {
        let code = match err {
            folio_render::RenderError::InvalidUtf8 { .. } | folio_render::RenderError::Empty => {
                "invalid_request"
            }
            ref other => other.code(),
        };
        Answer::Failed { code: code.to_owned(), message: err.to_string() }
    };
    match job.kind {
        JobKind::Pdf => match folio_render::render_pdf(&job.markdown, &options) {
            Ok(r) => Answer::Done {
                pdf: Some(STANDARD.encode(&r.pdf)),
                pages: None,
                html: None,
                page_count: r.pages,
                title: r.title,
                warnings: warnings(&r.warnings),
                worker: std::process::id(),
            },
            Err(e) => failed(e),
        },
        JobKind::Pages => match folio_render::render_pages_svg(&job.markdown, &options) {
            Ok(r) => Answer::Done {
                pdf: None,
                page_count: r.pages.len(),
                pages: Some(r.pages),
                html: None,
                title: r.title,
                warnings: warnings(&r.warnings),
                worker: std::process::id(),
            },
            Err(e) => failed(e),
        },
        JobKind::Html => match folio_render::render_html(&job.markdown, &options) {
            Ok(r) => Answer::Done {
                pdf: None,
                pages: None,
                html: Some(r.html),
                page_count: 0,
                title: String::new(),
                warnings: warnings(&r.warnings),
                worker: std::process::id(),
            },
            Err(e) => failed(e),
        },
    }
}

/// In debug builds (tests), documents can ask a worker to misbehave.
/// From here on this process can open no socket and run no program: a renderer has no business
/// with the network, and if a document ever found a way to make Typst misbehave, it could not
/// reach out. (Files: the worker starts in `/` with an empty environment and Typst's world
/// serves only what the job carries.)
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
fn deny_network_and_exec() -> std::io::Result<()> {
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter};
    let denied = [
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        libc::SYS_execve,
        libc::SYS_execveat,
    ];
    let arch = if cfg!(target_arch = "x86_64") {
        seccompiler::TargetArch::x86_64
    } else {
        seccompiler::TargetArch::aarch64
    };
    let filter = SeccompFilter::new(
        denied.iter().map(|&call| (call, Vec::new())).collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(std::io::Error::other)?;
    let program: BpfProgram = filter.try_into().map_err(std::io::Error::other)?;
    // Every thread, including any a library started before this point.
    seccompiler::apply_filter_all_threads(&program).map_err(std::io::Error::other)
}

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
fn deny_network_and_exec() -> std::io::Result<()> {
    Ok(())
}

fn test_faults(markdown: &str) {
    #[cfg(debug_assertions)]
    {
        if markdown.starts_with("<!-- folio-test: hang -->") {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        if markdown.starts_with("<!-- folio-test: crash -->") {
            std::process::abort();
        }
        // A worker that can open a socket has escaped its sandbox: make that loud.
        if markdown.starts_with("<!-- folio-test: network -->")
            && std::net::UdpSocket::bind("127.0.0.1:0").is_ok()
        {
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = markdown;
}

/// Pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The `folio` binary (run as `folio worker`).
    pub program: PathBuf,
    /// Workers (default: the number of cores).
    pub workers: usize,
    /// Wall-clock limit of one render (default 30 s).
    pub deadline: Duration,
    /// Address-space cap of a worker (default 2 GiB).
    pub memory_limit_bytes: u64,
    /// Callers that may wait for a worker before `overloaded` (default 4 per worker).
    pub max_waiting: usize,
    /// Renders before a worker is replaced (bounds memory growth; default 200).
    pub recycle_after: u32,
    /// Renders one identity may have running at once (default: half the workers, at least
    /// one), so nobody can hold every worker.
    pub per_identity: usize,
    /// A folder of extra fonts every worker loads once at start (`--font-dir`).
    pub font_dir: Option<PathBuf>,
}

impl PoolConfig {
    /// Defaults for `program`.
    pub fn new(program: PathBuf) -> Self {
        let workers = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        Self {
            program,
            workers,
            deadline: Duration::from_secs(30),
            memory_limit_bytes: 2 << 30,
            max_waiting: workers * 4,
            recycle_after: 200,
            per_identity: (workers / 2).max(1),
            font_dir: None,
        }
    }
}

struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
    renders: u32,
    /// The affinity key of its last job: Typst's caches in this worker are warm for it.
    last_affinity: Option<u64>,
}

impl Worker {
    async fn exchange(&mut self, job: &[u8]) -> std::io::Result<Vec<u8>> {
        let len = u32::try_from(job.len()).map_err(|_| std::io::Error::other("job too large"))?;
        self.stdin.write_all(&len.to_be_bytes()).await?;
        self.stdin.write_all(job).await?;
        self.stdin.flush().await?;
        let mut len = [0u8; 4];
        self.stdout.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME {
            return Err(std::io::Error::other("answer too large"));
        }
        let mut buf = vec![0u8; len];
        self.stdout.read_exact(&mut buf).await?;
        Ok(buf)
    }
}

/// Which line a job waits in: one identity's waiting preview is replaced by its newer one, and
/// its create waits beside it rather than being refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The live text preview (only the newest matters).
    Text,
    /// The live page preview (only the newest matters).
    Pages,
    /// A document being created.
    Create,
}

/// Who a job is for, and which line it waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// The identity (hashed); `None` is nobody in particular (the CLI): no per-identity cap.
    pub owner: Option<u64>,
    /// The line.
    pub lane: Lane,
}

impl Ticket {
    /// A ticket for `owner`'s job in `lane`.
    pub fn new(owner: Option<&folio_core::IdentityId>, lane: Lane) -> Self {
        let owner = owner.map(|identity| {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            identity.hash(&mut hasher);
            hasher.finish()
        });
        Self { owner, lane }
    }
}

/// The pool of worker processes.
pub struct WorkerPool {
    config: PoolConfig,
    idle: Mutex<Vec<Worker>>,
    schedule: std::sync::Mutex<Schedule>,
    restarts: AtomicU64,
    renders: AtomicU64,
}

/// Who runs next. Free workers go to waiting jobs whose identity is under its cap, preferring
/// the identity with the fewest running and, among those, the one served least recently — so
/// with one worker an identity whose render ran to the deadline goes behind someone who waited.
#[derive(Default)]
struct Schedule {
    running: usize,
    running_by: HashMap<u64, usize>,
    /// When each identity last started a job (a counter, not a clock).
    served_at: HashMap<u64, u64>,
    waiting: Vec<Waiter>,
    counter: u64,
}

struct Waiter {
    id: u64,
    ticket: Ticket,
    start: tokio::sync::oneshot::Sender<Result<()>>,
}

/// A running job's place; dropping it frees the place for the next job.
struct Place<'a> {
    pool: &'a WorkerPool,
    owner: Option<u64>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let started = {
            let mut schedule = self.pool.lock_schedule();
            schedule.running -= 1;
            if let Some(owner) = self.owner
                && let Some(count) = schedule.running_by.get_mut(&owner)
            {
                *count -= 1;
                if *count == 0 {
                    schedule.running_by.remove(&owner);
                }
            }
            self.pool.dispatch(&mut schedule)
        };
        self.pool.wake(started);
    }
}

/// A granted place on its way to its waiter.
type Grant = (tokio::sync::oneshot::Sender<Result<()>>, Option<u64>);

/// Keeps a waiter's line entry and answer; when the waiter is dropped (its client went away)
/// it leaves the line, or hands on a place it was granted but never took. A waiter replaced by
/// a newer preview was never granted anything and gives nothing back.
struct WaitGuard<'a> {
    pool: &'a WorkerPool,
    id: u64,
    owner: Option<u64>,
    answer: tokio::sync::oneshot::Receiver<Result<()>>,
    done: bool,
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut schedule = self.pool.lock_schedule();
        let before = schedule.waiting.len();
        schedule.waiting.retain(|w| w.id != self.id);
        let left_the_line = schedule.waiting.len() < before;
        drop(schedule);
        // Not in the line: granted or replaced. A grant already sent is handed on here; one
        // not yet sent fails to send (this receiver is closing) and the waker hands it on.
        if !left_the_line && matches!(self.answer.try_recv(), Ok(Ok(()))) {
            drop(Place { pool: self.pool, owner: self.owner });
        }
    }
}

impl WorkerPool {
    /// A pool; workers start on first use.
    pub fn new(config: PoolConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            idle: Mutex::default(),
            schedule: std::sync::Mutex::default(),
            restarts: AtomicU64::new(0),
            renders: AtomicU64::new(0),
        })
    }

    /// Workers replaced after a crash or a timeout.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Renders completed.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// Callers waiting for a worker.
    pub fn waiting(&self) -> usize {
        self.lock_schedule().waiting.len()
    }

    fn lock_schedule(&self) -> std::sync::MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells the chosen waiters to start (outside the lock); a place whose waiter is gone is
    /// handed on at once.
    fn wake(&self, started: Vec<Grant>) {
        for (start, owner) in started {
            if start.send(Ok(())).is_err() {
                drop(Place { pool: self, owner });
            }
        }
    }

    /// Gives free places to waiters, fairly (see [`Schedule`]); returns whom to wake.
    fn dispatch(&self, schedule: &mut Schedule) -> Vec<Grant> {
        // Who was served when matters only among those running or waiting; forget the rest
        // before the map grows with every identity ever seen.
        if schedule.served_at.len() > 4096 {
            let Schedule { served_at, running_by, waiting, .. } = schedule;
            served_at.retain(|owner, _| {
                running_by.contains_key(owner)
                    || waiting.iter().any(|w| w.ticket.owner == Some(*owner))
            });
        }
        let mut started = Vec::new();
        while schedule.running < self.config.workers.max(1) {
            let cap = self.config.per_identity.max(1);
            let next = schedule
                .waiting
                .iter()
                .enumerate()
                .filter(|(_, w)| {
                    w.ticket
                        .owner
                        .is_none_or(|o| schedule.running_by.get(&o).copied().unwrap_or(0) < cap)
                })
                .min_by_key(|(_, w)| {
                    let owner = w.ticket.owner;
                    let running =
                        owner.map_or(0, |o| schedule.running_by.get(&o).copied().unwrap_or(0));
                    let served =
                        owner.and_then(|o| schedule.served_at.get(&o).copied()).unwrap_or(0);
                    (running, served, w.id)
                })
                .map(|(index, _)| index);
            let Some(index) = next else { break };
            let waiter = schedule.waiting.remove(index);
            schedule.running += 1;
            schedule.counter += 1;
            if let Some(owner) = waiter.ticket.owner {
                *schedule.running_by.entry(owner).or_default() += 1;
                let at = schedule.counter;
                schedule.served_at.insert(owner, at);
            }
            started.push((waiter.start, waiter.ticket.owner));
        }
        started
    }

    /// Waits for a place to run `ticket`'s job: at once if one is free and the identity is
    /// under its cap; else in line. A newer preview replaces the identity's waiting one (which
    /// is answered `overloaded`); a second waiting create, or a full line, is refused at once.
    async fn place(&self, ticket: Ticket) -> Result<Place<'_>> {
        let overloaded = |message: &str| Error::Render {
            code: "overloaded",
            message: message.to_owned(),
            retryable: true,
        };
        let (start, started) = tokio::sync::oneshot::channel();
        let (id, wake, replaced) = {
            let mut schedule = self.lock_schedule();
            let mut replaced = None;
            if let Some(owner) = ticket.owner {
                let same = schedule
                    .waiting
                    .iter()
                    .position(|w| w.ticket.owner == Some(owner) && w.ticket.lane == ticket.lane);
                match (same, ticket.lane) {
                    (Some(index), Lane::Text | Lane::Pages) => {
                        replaced = Some(schedule.waiting.remove(index));
                    }
                    (Some(_), Lane::Create) => {
                        return Err(overloaded(
                            "you have a document waiting to render already; try again when it is done",
                        ));
                    }
                    (None, _) => {}
                }
            }
            if schedule.waiting.len() >= self.config.max_waiting {
                return Err(overloaded("every renderer is busy; try again in a moment"));
            }
            schedule.counter += 1;
            let id = schedule.counter;
            schedule.waiting.push(Waiter { id, ticket, start });
            let wake = self.dispatch(&mut schedule);
            (id, wake, replaced)
        };
        if let Some(replaced) = replaced {
            let _ = replaced.start.send(Err(overloaded("a newer preview replaced this one")));
        }
        self.wake(wake);
        let mut guard =
            WaitGuard { pool: self, id, owner: ticket.owner, answer: started, done: false };
        let answer =
            (&mut guard.answer).await.unwrap_or_else(|_| Err(overloaded("the renderers stopped")));
        guard.done = true;
        answer.map(|()| Place { pool: self, owner: ticket.owner })
    }

    /// Whether workers can be started (the binary is there).
    pub fn check(&self) -> std::result::Result<(), String> {
        match std::fs::metadata(&self.config.program) {
            Ok(meta) if meta.is_file() => Ok(()),
            Ok(_) => Err("the worker program is not a file".to_owned()),
            Err(e) => Err(format!("the worker program is missing: {e}")),
        }
    }

    fn spawn(&self) -> std::io::Result<Worker> {
        let mut command = Command::new(&self.config.program);
        command.arg("worker").env_clear();
        if let Some(dir) = &self.config.font_dir {
            command.env(FONT_DIR_VARIABLE, dir);
        }
        let mut child = command
            .env("FOLIO_WORKER_MEMORY_BYTES", self.config.memory_limit_bytes.to_string())
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no worker stdin"))?;
        let stdout =
            child.stdout.take().ok_or_else(|| std::io::Error::other("no worker stdout"))?;
        Ok(Worker { child, stdin, stdout, renders: 0, last_affinity: None })
    }

    /// Runs a job on a worker, for nobody in particular (no per-identity cap).
    pub async fn run(&self, job: &Job) -> Result<Answer> {
        self.run_for(job, Ticket { owner: None, lane: Lane::Create }).await
    }

    /// Runs `ticket`'s job once it has a place (see [`Self::place`]), preferring the idle worker
    /// that last ran a job of the same identity (successive previews stay on a warm worker).
    pub async fn run_for(&self, job: &Job, ticket: Ticket) -> Result<Answer> {
        let _place = self.place(ticket).await?;
        let affinity = ticket.owner;
        let bytes = serde_json::to_vec(job).map_err(|e| Error::Render {
            code: "render_failed",
            message: e.to_string(),
            retryable: false,
        })?;
        let idle = {
            let mut idle = self.idle.lock().await;
            let warm =
                affinity.and_then(|key| idle.iter().position(|w| w.last_affinity == Some(key)));
            match warm {
                Some(index) => Some(idle.swap_remove(index)),
                None => idle.pop(),
            }
        };
        let mut worker = match idle {
            Some(worker) => worker,
            None => self.spawn().map_err(|e| Error::Render {
                code: "render_failed",
                message: format!("cannot start a renderer: {e}"),
                retryable: true,
            })?,
        };
        match tokio::time::timeout(self.config.deadline, worker.exchange(&bytes)).await {
            Ok(Ok(answer)) => {
                worker.renders += 1;
                worker.last_affinity = affinity;
                self.renders.fetch_add(1, Ordering::Relaxed);
                if worker.renders < self.config.recycle_after {
                    self.idle.lock().await.push(worker);
                } else {
                    let _ = worker.child.start_kill();
                }
                serde_json::from_slice(&answer).map_err(|e| Error::Render {
                    code: "render_failed",
                    message: format!("bad answer from a renderer: {e}"),
                    retryable: true,
                })
            }
            Ok(Err(_)) => {
                let _ = worker.child.start_kill();
                self.restarts.fetch_add(1, Ordering::Relaxed);
                Err(Error::Render {
                    code: "render_failed",
                    message: "the renderer stopped while rendering this document".to_owned(),
                    retryable: true,
                })
            }
            Err(_) => {
                let _ = worker.child.start_kill();
                self.restarts.fetch_add(1, Ordering::Relaxed);
                Err(Error::Render {
                    code: "render_timeout",
                    message: format!(
                        "rendering took longer than {} s",
                        self.config.deadline.as_secs()
                    ),
                    retryable: false,
                })
            }
        }
    }
}

/// The `Renderer` port over the pool (create-pdf in `folio serve`).
pub struct WorkerRenderer(pub Arc<WorkerPool>);

#[async_trait]
impl Renderer for WorkerRenderer {
    async fn render(&self, request: RenderRequest) -> Result<RenderedPdf> {
        let job = Job {
            kind: JobKind::Pdf,
            markdown: request.markdown,
            title: request.title,
            options: request.options,
            assets: request.assets.into_iter().map(|(k, v)| (k, STANDARD.encode(v))).collect(),
        };
        let ticket = Ticket::new(request.owner.as_ref(), Lane::Create);
        match self.0.run_for(&job, ticket).await? {
            Answer::Done { pdf, page_count, title, warnings, .. } => {
                let pdf = STANDARD.decode(pdf.unwrap_or_default()).map_err(|e| Error::Render {
                    code: "render_failed",
                    message: e.to_string(),
                    retryable: true,
                })?;
                let versions = folio_render::engine_versions();
                Ok(RenderedPdf {
                    pdf,
                    pages: u32::try_from(page_count).unwrap_or(u32::MAX),
                    title,
                    warnings: warnings
                        .iter()
                        .map(|w| format!("line {}: {}", w.line, w.message))
                        .collect(),
                    engine: Engine {
                        folio: versions.folio_render.to_owned(),
                        typst: versions.typst.to_owned(),
                    },
                })
            }
            Answer::Failed { code, message } => Err(failure(&code, message)),
        }
    }
}

/// A worker's failure as the pipeline's error.
pub fn failure(code: &str, message: String) -> Error {
    let code: &'static str = match code {
        "invalid_request" => return Error::InvalidRequest(message),
        "source_too_large" => "source_too_large",
        "nesting_too_deep" => "nesting_too_deep",
        "page_limit_exceeded" => "page_limit_exceeded",
        "document_too_complex" => "document_too_complex",
        _ => "render_failed",
    };
    Error::Render { code, message, retryable: false }
}
