//! Render workers under `folio serve`: a hanging or crashing render costs its worker, never
//! the service; a full queue answers `overloaded` at once.

use std::time::{Duration, Instant};

use serde_json::json;

use folio_core::RenderFailure;
use folio_workers::protocol::{Answer, Job, JobKind, Output};
use folio_workers::{Lane, PoolConfig, Ticket, WorkerPool};

use crate::server::{Server, call};
use crate::temp;

async fn session(http: &reqwest::Client, url: &str, email: &str) -> String {
    let credentials = json!({ "email": email, "password": "correct horse battery" });
    call(http.post(format!("{url}/api/auth/register")).json(&credentials)).await;
    let (_, session) = call(http.post(format!("{url}/api/auth/login")).json(&credentials)).await;
    session["access_token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn hanging_and_crashing_renders_cost_only_their_worker() {
    let dir = temp();
    let server =
        Server::start_with(&dir.path().join("data"), &["--workers", "2", "--render-timeout", "2"]);
    let url = &server.url;
    let http = reqwest::Client::new();
    let a = session(&http, url, "a@example.com").await;
    let b = session(&http, url, "b@example.com").await;
    let create = |token: &str, markdown: &str| {
        http.post(format!("{url}/api/documents"))
            .bearer_auth(token)
            .json(&json!({ "markdown": markdown }))
    };

    let started = Instant::now();
    let hang = create(&a, "<!-- folio-test: hang -->\nnever ends");
    let other = create(&b, "# Meanwhile\n\nAnother user's document renders.");
    let ((hang_status, hang_body), (other_status, _)) = tokio::join!(call(hang), call(other));
    assert_eq!(
        (hang_status, hang_body["error"]["code"].as_str()),
        (503, Some("render_timeout")),
        "{hang_body}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "the deadline holds");
    assert_eq!(other_status, 201, "other renders go on");

    let (status, crash) = call(create(&a, "<!-- folio-test: crash -->\nx")).await;
    assert_eq!((status, crash["error"]["code"].as_str()), (422, Some("render_failed")), "{crash}");
    for _ in 0..3 {
        let (status, body) = call(create(&a, "# After\n\nWorkers were replaced.")).await;
        assert_eq!(status, 201, "{body}");
    }
}

#[tokio::test]
async fn fifty_concurrent_creates_on_two_workers_all_get_an_answer() {
    let dir = temp();
    let server = Server::start_with(&dir.path().join("data"), &["--workers", "2"]);
    let url = server.url.clone();
    let http =
        reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap_or_default();
    let token = session(&http, &url, "load@example.com").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let request = http
            .post(format!("{url}/api/documents"))
            .bearer_auth(&token)
            .json(&json!({ "markdown": format!("# Load {i}\n\n{}", "Words in a paragraph. ".repeat(200)) }));
        tasks.push(tokio::spawn(call(request)));
    }
    let mut counts = std::collections::BTreeMap::new();
    for task in tasks {
        let (status, body) = task.await.unwrap_or((0, json!(null)));
        let code = body["error"]["code"].as_str().unwrap_or("created").to_owned();
        assert!(
            matches!(
                (status, code.as_str()),
                (201, "created") | (503, "overloaded") | (429, "rate_limited")
            ),
            "{status} {body}"
        );
        *counts.entry(code).or_insert(0) += 1;
    }
    assert!(counts.get("created").copied().unwrap_or(0) >= 2, "{counts:?}");
    assert!(
        counts.get("overloaded").copied().unwrap_or(0) >= 1,
        "the queue is bounded: {counts:?}"
    );
}

#[tokio::test]
async fn clients_that_give_up_while_queued_do_not_leave_the_pool_overloaded() {
    let dir = temp();
    let server =
        Server::start_with(&dir.path().join("data"), &["--workers", "1", "--render-timeout", "3"]);
    let url = server.url.clone();
    let http = reqwest::Client::new();
    let token = session(&http, &url, "impatient@example.com").await;
    let create = |markdown: &str| {
        http.post(format!("{url}/api/documents"))
            .bearer_auth(&token)
            .json(&json!({ "markdown": markdown }))
    };
    // The only worker hangs; meanwhile more clients than the queue holds arrive and give up.
    let hang = tokio::spawn(call(create("<!-- folio-test: hang -->\nnever ends")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let impatient: Vec<_> = (0..12)
        .map(|i| create(&format!("# Impatient {i}")).timeout(Duration::from_millis(500)).send())
        .collect();
    // Each either gave up (timed out: an `Err`) or was told at once that the queue is full.
    for response in futures::future::join_all(impatient).await.into_iter().flatten() {
        assert_eq!(response.status(), 503);
    }
    let (status, body) = hang.await.unwrap_or((0, json!(null)));
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("render_timeout")), "{body}");
    // Every place in the queue came back: normal service resumes.
    for i in 0..6 {
        let (status, body) = call(create(&format!("# Afterwards {i}"))).await;
        assert_eq!(status, 201, "create {i} after the spike: {body}");
    }
}

#[tokio::test]
async fn workers_cannot_open_sockets() {
    let dir = temp();
    let server = Server::start_with(&dir.path().join("data"), &["--workers", "1"]);
    let http = reqwest::Client::new();
    let token = session(&http, &server.url, "sandbox@example.com").await;
    // The test fault aborts the worker if it manages to bind a socket (→ render_failed).
    let (status, body) = call(
        http.post(format!("{}/api/documents", server.url))
            .bearer_auth(&token)
            .json(&json!({ "markdown": "<!-- folio-test: network -->\n# Sandboxed\n" })),
    )
    .await;
    assert_eq!(status, 201, "the worker could open a socket: {body}");
}

#[tokio::test]
async fn successive_previews_of_one_person_return_to_their_warm_worker() {
    let mut config = PoolConfig::new(env!("CARGO_BIN_EXE_folio").into());
    config.workers = 2;
    let pool = WorkerPool::new(config);
    let job = |markdown: &str| Job {
        kind: JobKind::Pages,
        markdown: markdown.to_owned(),
        title: None,
        options: Default::default(),
        assets: Default::default(),
    };
    let worker = |answer: folio_core::Result<Answer>| match answer {
        Ok(Answer::Done(Output { worker, .. })) => worker,
        Ok(Answer::Failed { failure, message }) => panic!("{failure:?}: {message}"),
        Err(err) => panic!("{err}"),
    };
    // Two people preview at once: each gets a worker of their own.
    let (first_a, first_b) = (job("# Alice 0"), job("# Bob 0"));
    let (a, b) = tokio::join!(pool.run_for(&first_a, pages(1)), pool.run_for(&first_b, pages(2)),);
    let (alice, bob) = (worker(a), worker(b));
    assert_ne!(alice, bob, "two workers");
    // Then they take turns typing: each edit goes back to the worker that has their document
    // warm (a last-in-first-out pool would hand both the same worker).
    for edit in 1..=4 {
        let a = pool.run_for(&job(&format!("# Alice {edit}")), pages(1)).await;
        assert_eq!(worker(a), alice, "Alice's edit {edit}");
        let b = pool.run_for(&job(&format!("# Bob {edit}")), pages(2)).await;
        assert_eq!(worker(b), bob, "Bob's edit {edit}");
    }
}

fn pages(owner: u64) -> Ticket {
    Ticket { owner: Some(owner), lane: Lane::Pages }
}

fn ticket(owner: u64, lane: Lane) -> Ticket {
    Ticket { owner: Some(owner), lane }
}

fn hang_job(kind: JobKind) -> Job {
    Job {
        kind,
        markdown: "<!-- folio-test: hang -->\nnever ends".to_owned(),
        title: None,
        options: Default::default(),
        assets: Default::default(),
    }
}

fn small_job() -> Job {
    Job {
        kind: JobKind::Pdf,
        markdown: "# Hello\n\nA two-line document.".to_owned(),
        title: None,
        options: Default::default(),
        assets: Default::default(),
    }
}

/// A pool whose renders end at `deadline`, with warm workers so timings measure the schedule.
async fn warm_pool(workers: usize, deadline: Duration) -> std::sync::Arc<WorkerPool> {
    let mut config = PoolConfig::new(env!("CARGO_BIN_EXE_folio").into());
    config.workers = workers;
    config.per_identity = (workers / 2).max(1);
    config.deadline = deadline;
    let pool = WorkerPool::new(config);
    let warmups: Vec<_> = (0..workers)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run_for(&small_job(), ticket(100 + i as u64, Lane::Create)).await
            })
        })
        .collect();
    for warmup in warmups {
        assert!(matches!(warmup.await, Ok(Ok(Answer::Done(_)))));
    }
    pool
}

/// F2: one identity flooding the pool with renders that run to the deadline holds at most its
/// share; another identity's small create answers within its own render time plus 2 s.
#[tokio::test]
async fn one_identity_cannot_hold_every_worker() {
    let pool = warm_pool(2, Duration::from_secs(6)).await;
    let flood: Vec<_> = (0..6)
        .map(|i| {
            let pool = pool.clone();
            let lane = if i % 2 == 0 { Lane::Pages } else { Lane::Create };
            tokio::spawn(
                async move { pool.run_for(&hang_job(JobKind::Pages), ticket(1, lane)).await },
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let answer = pool.run_for(&small_job(), ticket(2, Lane::Create)).await;
    assert!(matches!(answer, Ok(Answer::Done(_))), "{answer:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    // What the flood got: one render running to the deadline, a preview and a create waiting,
    // and everything beyond refused at once as `overloaded` (retryable) — never queued for ever.
    let mut codes = Vec::new();
    for job in flood {
        codes.push(match job.await {
            Ok(Err(err @ folio_core::Error::Render { .. })) => err.code().as_str().to_owned(),
            Ok(Ok(Answer::Failed { failure, message })) => {
                Answer::error(failure, message).code().as_str().to_owned()
            }
            other => format!("{other:?}"),
        });
    }
    assert!(codes.iter().all(|c| c == "overloaded" || c == "render_timeout"), "{codes:?}");
    assert!(codes.iter().filter(|c| *c == "overloaded").count() >= 3, "{codes:?}");
}

/// With one worker, the other identity waits at most one deadline: it goes before the
/// flooding identity's next job, which was served last.
#[tokio::test]
async fn with_one_worker_another_identity_waits_at_most_one_deadline() {
    let pool = warm_pool(1, Duration::from_secs(2)).await;
    let first = tokio::spawn({
        let pool = pool.clone();
        async move { pool.run_for(&hang_job(JobKind::Pages), ticket(1, Lane::Pages)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = tokio::spawn({
        let pool = pool.clone();
        async move { pool.run_for(&hang_job(JobKind::Pdf), ticket(1, Lane::Create)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let answer = pool.run_for(&small_job(), ticket(2, Lane::Create)).await;
    assert!(matches!(answer, Ok(Answer::Done(_))), "{answer:?}");
    assert!(started.elapsed() < Duration::from_millis(3500), "waited {:?}", started.elapsed());
    let _ = first.await;
    second.abort();
}

/// Someone typing with the page preview open (a preview a keystroke) who presses Create PDF
/// never gets an error for the create: newer previews replace waiting ones, the create waits.
#[tokio::test]
async fn typing_and_creating_at_once_never_fails_the_create() {
    let pool = warm_pool(2, Duration::from_secs(20)).await;
    let mut previews = Vec::new();
    for key in 0..12 {
        let pool = pool.clone();
        let job = Job {
            markdown: format!("# Draft\n\n{}", "word ".repeat(200 + key)),
            kind: JobKind::Pages,
            ..small_job()
        };
        previews
            .push(tokio::spawn(async move { pool.run_for(&job, ticket(7, Lane::Pages)).await }));
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let create = pool.run_for(&small_job(), ticket(7, Lane::Create)).await;
    assert!(matches!(create, Ok(Answer::Done(_))), "{create:?}");
    let mut done = 0;
    for preview in previews {
        match preview.await {
            Ok(Ok(Answer::Done(_))) => done += 1,
            Ok(Err(folio_core::Error::Render {
                failure: RenderFailure::Overloaded,
                message,
                ..
            })) => {
                assert!(message.contains("newer preview"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(done >= 1, "the newest preview rendered");
}

/// A waiting preview replaced by a newer one whose client then goes away (the web app aborts
/// superseded previews) gives back nothing: it never had a place. The pool keeps its count.
#[tokio::test]
async fn a_replaced_preview_dropped_by_its_client_leaves_the_pool_sound() {
    let pool = warm_pool(1, Duration::from_secs(2)).await;
    let running = tokio::spawn({
        let pool = pool.clone();
        async move { pool.run_for(&hang_job(JobKind::Pages), ticket(1, Lane::Pages)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting_job = Job { kind: JobKind::Pages, ..small_job() };
    let mut waiting = Box::pin(pool.run_for(&waiting_job, ticket(1, Lane::Pages)));
    assert!(
        tokio::time::timeout(Duration::from_millis(100), &mut waiting).await.is_err(),
        "it waits"
    );
    let newer = tokio::spawn({
        let pool = pool.clone();
        async move {
            pool.run_for(&Job { kind: JobKind::Pages, ..small_job() }, ticket(1, Lane::Pages)).await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(waiting);
    // The only worker is still busy: the newer preview waits (a miscount would start it now).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!newer.is_finished(), "a place was handed out that did not exist");
    let ended = running.await;
    assert!(
        matches!(ended, Ok(Err(folio_core::Error::Render { failure: RenderFailure::Timeout, .. }))),
        "{ended:?}"
    );
    assert!(matches!(newer.await, Ok(Ok(Answer::Done(_)))));
    // Exactly one worker's worth of places: two jobs of two people still run one after the other.
    let (first, second) = (small_job(), small_job());
    let (a, b) = tokio::join!(
        pool.run_for(&first, ticket(2, Lane::Create)),
        pool.run_for(&second, ticket(3, Lane::Create)),
    );
    assert!(matches!((a, b), (Ok(Answer::Done(_)), Ok(Answer::Done(_)))));
    assert_eq!(pool.waiting(), 0);
}

fn pdf_job(markdown: &str) -> Job {
    Job {
        kind: JobKind::Pdf,
        markdown: markdown.to_owned(),
        title: None,
        options: Default::default(),
        assets: Default::default(),
    }
}

fn pool_of(workers: usize, deadline: Duration) -> std::sync::Arc<WorkerPool> {
    let mut config = PoolConfig::new(env!("CARGO_BIN_EXE_folio").into());
    config.workers = workers;
    config.deadline = deadline;
    WorkerPool::new(config)
}

/// SIGKILL, as the kernel's OOM killer or an operator sends it, and waits until the process
/// is gone — reaped, or a zombie whose every thread has exited (only then are its pipes
/// closed) — so the pool finds it dead rather than dying.
fn kill_and_wait(pid: u32) {
    let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    for _ in 0..500 {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return };
        let field = |name: &str| {
            status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim).unwrap_or("")
        };
        if field("State:").starts_with('Z') && field("Threads:") == "1" {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("worker {pid} did not die");
}

#[tokio::test]
async fn workers_killed_while_idle_cost_the_next_request_nothing() {
    let pool = pool_of(2, Duration::from_secs(30));
    assert_eq!(pool.warm_up().await, 2, "every worker starts warm");
    let killed = pool.worker_pids();
    assert_eq!(killed.len(), 2);
    for pid in &killed {
        kill_and_wait(*pid);
    }
    let answer = pool.run_for(&small_job(), ticket(1, Lane::Create)).await;
    assert!(matches!(answer, Ok(Answer::Done(_))), "{answer:?}");
    let counts = pool.counts();
    assert_eq!((counts.idle_deaths, counts.crashes, counts.retries), (2, 0, 0), "{counts:?}");
    assert!(pool.worker_pids().iter().all(|pid| !killed.contains(pid)), "the dead are replaced");
}

#[tokio::test]
async fn a_worker_killed_during_a_render_costs_that_render_one_retry() {
    let pool = pool_of(1, Duration::from_secs(30));
    assert_eq!(pool.warm_up().await, 1);
    let first = pool.worker_pids()[0];
    let running = tokio::spawn({
        let pool = pool.clone();
        async move {
            let job = pdf_job("<!-- folio-test: slow -->\n# Slow\n\nRendered after a pause.");
            pool.run_for(&job, ticket(1, Lane::Create)).await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill_and_wait(first);
    match running.await {
        Ok(Ok(Answer::Done(output))) => assert_ne!(output.worker, first, "a fresh worker"),
        other => panic!("{other:?}"),
    }
    let counts = pool.counts();
    assert_eq!((counts.crashes, counts.retries), (1, 1), "{counts:?}");
}

#[tokio::test]
async fn a_document_that_stops_two_workers_is_the_documents_fault() {
    let pool = pool_of(2, Duration::from_secs(30));
    let answer =
        pool.run_for(&pdf_job("<!-- folio-test: crash -->\nx"), ticket(1, Lane::Create)).await;
    assert!(
        matches!(
            answer,
            Err(folio_core::Error::Render {
                failure: RenderFailure::Crashed,
                retryable: false,
                ..
            })
        ),
        "{answer:?}"
    );
    let counts = pool.counts();
    assert_eq!((counts.crashes, counts.retries), (2, 1), "tried exactly twice: {counts:?}");
}

#[tokio::test]
async fn a_render_that_reaches_the_deadline_is_tried_once() {
    let pool = pool_of(1, Duration::from_secs(1));
    let answer = pool.run_for(&hang_job(JobKind::Pdf), ticket(1, Lane::Create)).await;
    assert!(
        matches!(
            answer,
            Err(folio_core::Error::Render {
                failure: RenderFailure::Timeout,
                retryable: false,
                ..
            })
        ),
        "{answer:?}"
    );
    let counts = pool.counts();
    assert_eq!((counts.timeouts, counts.retries, counts.crashes), (1, 0, 0), "{counts:?}");
}

#[tokio::test]
async fn serve_starts_its_workers_before_the_first_request() {
    let dir = temp();
    let server = Server::start_with(&dir.path().join("data"), &["--workers", "2"]);
    let http = reqwest::Client::new();
    let metrics = http.get(format!("{}/metrics", server.url)).send().await;
    let text = match metrics {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(e) => panic!("{e}"),
    };
    assert!(text.contains("folio_render_workers 2"), "{text}");
    assert!(text.contains("folio_renders_total 0"), "warm-up renders are not counted: {text}");
}
