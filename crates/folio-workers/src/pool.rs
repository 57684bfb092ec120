//! The pool of worker processes. Typst has no deadline, no memory limit and no cancellation,
//! so the server never renders on its own threads: `folio worker` processes render instead
//! (see [`crate::child`]), each render with a wall-clock deadline. A worker that hangs is
//! killed (`render_timeout`, the document's fault, not retried). A worker found dead before it
//! was given a job (killed while idle) is replaced and costs nobody anything; a job whose worker
//! dies while rendering is tried once more on a fresh worker, and only a document that brings
//! down two workers fails as the document's ([`RenderFailure::Crashed`], `render_failed`). When a worker cannot even be
//! started, the answer is a retryable `overloaded`. When every worker is busy and the line is
//! full, callers get `overloaded` at once instead of waiting without bound; one identity never
//! holds more than its share.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use folio_core::{Error, RenderFailure, Result};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::child::{FONT_DIR_VARIABLE, MEMORY_VARIABLE};
use crate::protocol::{Answer, Job};

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
    /// Its process id, listed in `live` while the worker exists.
    pid: u32,
    live: Arc<std::sync::Mutex<HashSet<u32>>>,
}

impl Worker {
    /// Whether its process has ended (killed while idle, say).
    fn is_dead(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    fn kill(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Drop for Worker {
    /// The process is killed on drop (`kill_on_drop`); it leaves the live list with it.
    fn drop(&mut self) {
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.pid);
    }
}

/// What the pool has counted since it started (the renderer's metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolCounts {
    /// Renders answered by a worker.
    pub renders: u64,
    /// Workers replaced after dying while rendering or running past the deadline.
    pub restarts: u64,
    /// Workers that died while rendering.
    pub crashes: u64,
    /// Jobs tried again on a fresh worker after their worker died.
    pub retries: u64,
    /// Renders stopped at the deadline.
    pub timeouts: u64,
    /// Workers found dead before they were given a job (and replaced).
    pub idle_deaths: u64,
    /// Workers that could not be started.
    pub start_failures: u64,
}

#[derive(Default)]
struct Counters {
    renders: AtomicU64,
    restarts: AtomicU64,
    crashes: AtomicU64,
    retries: AtomicU64,
    timeouts: AtomicU64,
    idle_deaths: AtomicU64,
    start_failures: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a warm-up render typesets: a heading, text and a formula, so the fonts, the template
/// and the math path are loaded before the first request.
const WARM_UP_MARKDOWN: &str = "# Warm-up\n\nText, *emphasis* and $x^2$.\n";

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
    counters: Counters,
    /// The process ids of every worker that exists, idle or busy.
    live: Arc<std::sync::Mutex<HashSet<u32>>>,
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
    /// A pool; workers start on first use, or all at once with [`Self::warm_up`].
    pub fn new(config: PoolConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            idle: Mutex::default(),
            schedule: std::sync::Mutex::default(),
            counters: Counters::default(),
            live: Arc::default(),
        })
    }

    /// Starts every worker and has each render a small document, so fonts, the template and
    /// Typst's caches are loaded before the first request (`folio serve` calls it at start).
    /// Returns how many workers are up; a worker that fails to start is counted and left to
    /// be started on demand.
    pub async fn warm_up(&self) -> usize {
        let job = Job {
            kind: crate::protocol::JobKind::Pdf,
            markdown: WARM_UP_MARKDOWN.to_owned(),
            title: None,
            options: Default::default(),
            assets: Default::default(),
        };
        let Ok(bytes) = serde_json::to_vec(&job) else { return 0 };
        // Every worker gets its job before any answer is read: they warm up in parallel.
        let mut started = Vec::new();
        for _ in 0..self.config.workers.max(1) {
            if let Ok(mut worker) = self.fresh_worker()
                && crate::protocol::send(&mut worker.stdin, &bytes).await.is_ok()
            {
                started.push(worker);
            }
        }
        let mut warm = Vec::new();
        for mut worker in started {
            let answer = crate::protocol::receive(&mut worker.stdout);
            if let Ok(Ok(_)) = tokio::time::timeout(self.config.deadline, answer).await {
                warm.push(worker);
            }
        }
        let count = warm.len();
        self.idle.lock().await.extend(warm);
        count
    }

    /// The number of workers it runs at most.
    pub fn size(&self) -> usize {
        self.config.workers.max(1)
    }

    /// What the pool has counted.
    pub fn counts(&self) -> PoolCounts {
        let c = &self.counters;
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PoolCounts {
            renders: get(&c.renders),
            restarts: get(&c.restarts),
            crashes: get(&c.crashes),
            retries: get(&c.retries),
            timeouts: get(&c.timeouts),
            idle_deaths: get(&c.idle_deaths),
            start_failures: get(&c.start_failures),
        }
    }

    /// The process ids of its workers, idle or busy (for operators, and tests that kill them).
    pub fn worker_pids(&self) -> Vec<u32> {
        let live = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut pids: Vec<u32> = live.iter().copied().collect();
        pids.sort_unstable();
        pids
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
        let overloaded =
            |message: &str| Error::render(RenderFailure::Overloaded, message.to_owned(), true);
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
            .env(MEMORY_VARIABLE, self.config.memory_limit_bytes.to_string())
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no worker stdin"))?;
        let stdout =
            child.stdout.take().ok_or_else(|| std::io::Error::other("no worker stdout"))?;
        let pid = child.id().ok_or_else(|| std::io::Error::other("the worker ended at once"))?;
        self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(pid);
        let live = Arc::clone(&self.live);
        Ok(Worker { child, stdin, stdout, renders: 0, last_affinity: None, pid, live })
    }

    /// A new worker; one that cannot be started is the infrastructure's failure (a retryable
    /// `overloaded`), never the document's.
    fn fresh_worker(&self) -> Result<Worker> {
        self.spawn().map_err(|e| {
            Counters::add(&self.counters.start_failures);
            Error::render(RenderFailure::Overloaded, format!("cannot start a renderer: {e}"), true)
        })
    }

    /// An idle worker — the one last used for `affinity` if there is one — or a new one. Idle
    /// workers found dead are dropped (and counted) on the way.
    async fn take_worker(&self, affinity: Option<u64>) -> Result<Worker> {
        loop {
            let idle = {
                let mut idle = self.idle.lock().await;
                let warm =
                    affinity.and_then(|key| idle.iter().position(|w| w.last_affinity == Some(key)));
                match warm {
                    Some(index) => Some(idle.swap_remove(index)),
                    None => idle.pop(),
                }
            };
            let Some(mut worker) = idle else { return self.fresh_worker() };
            if !worker.is_dead() {
                return Ok(worker);
            }
            Counters::add(&self.counters.idle_deaths);
        }
    }

    /// Runs a job on a worker, for nobody in particular (no per-identity cap).
    pub async fn run(&self, job: &Job) -> Result<Answer> {
        self.run_for(job, Ticket { owner: None, lane: Lane::Create }).await
    }

    /// Runs `ticket`'s job once it has a place (in line, fairly, when every worker is busy),
    /// preferring the idle worker that last ran a job of the same identity (successive previews
    /// stay on a warm worker). A worker that turns out dead before it took the job is replaced;
    /// one that dies while rendering costs the job one retry on a fresh worker.
    pub async fn run_for(&self, job: &Job, ticket: Ticket) -> Result<Answer> {
        let _place = self.place(ticket).await?;
        let bytes = serde_json::to_vec(job)
            .map_err(|e| Error::render(RenderFailure::Failed, e.to_string(), false))?;
        let mut worker = self.take_worker(ticket.owner).await?;
        let mut crashed = false;
        // Workers that died before taking the job, in a row: past every worker and one more,
        // new processes are dying at once, which is the machine's failure.
        let mut dead_on_arrival = 0;
        loop {
            let sent = tokio::time::timeout(
                self.config.deadline,
                crate::protocol::send(&mut worker.stdin, &bytes),
            )
            .await;
            if !matches!(sent, Ok(Ok(()))) {
                worker.kill();
                Counters::add(&self.counters.idle_deaths);
                dead_on_arrival += 1;
                if dead_on_arrival > self.config.workers.max(1) {
                    return Err(Error::render(
                        RenderFailure::Overloaded,
                        "the renderers stop as soon as they start; try again in a moment",
                        true,
                    ));
                }
                worker = self.take_worker(ticket.owner).await?;
                continue;
            }
            let answer = tokio::time::timeout(
                self.config.deadline,
                crate::protocol::receive(&mut worker.stdout),
            )
            .await;
            match answer {
                Ok(Ok(answer)) => return self.answered(worker, ticket.owner, &answer).await,
                Ok(Err(_)) => {
                    worker.kill();
                    Counters::add(&self.counters.crashes);
                    Counters::add(&self.counters.restarts);
                    if crashed {
                        return Err(Error::render(
                            RenderFailure::Crashed,
                            "the renderer stopped on this document, twice",
                            false,
                        ));
                    }
                    crashed = true;
                    Counters::add(&self.counters.retries);
                    worker = self.fresh_worker()?;
                }
                Err(_) => {
                    worker.kill();
                    Counters::add(&self.counters.timeouts);
                    Counters::add(&self.counters.restarts);
                    return Err(Error::render(
                        RenderFailure::Timeout,
                        format!("rendering took longer than {} s", self.config.deadline.as_secs()),
                        false,
                    ));
                }
            }
        }
    }

    /// Files a worker that answered (or retires it after `recycle_after` renders) and reads
    /// its answer.
    async fn answered(
        &self,
        mut worker: Worker,
        affinity: Option<u64>,
        answer: &[u8],
    ) -> Result<Answer> {
        worker.renders += 1;
        worker.last_affinity = affinity;
        Counters::add(&self.counters.renders);
        if worker.renders < self.config.recycle_after {
            self.idle.lock().await.push(worker);
        } else {
            worker.kill();
        }
        serde_json::from_slice(answer).map_err(|e| {
            Error::render(
                RenderFailure::Overloaded,
                format!("bad answer from a renderer: {e}"),
                true,
            )
        })
    }
}
