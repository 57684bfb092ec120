//! Two `folio serve` processes sharing one cluster's backends (PostgreSQL, NATS JetStream, an
//! S3-compatible store): what one instance does, the other sees. Needs the servers `.ci/run`
//! starts (`FOLIO_TEST_POSTGRES_URL`, `FOLIO_TEST_NATS_URL`, `FOLIO_TEST_S3_URL` with the AWS
//! credential variables); each run has its own database and streams.

use std::process::Command;

use folio_cluster::testing::{TestDatabase, TestStreams};
use serde_json::{Value, json};

use super::server::{Server, call};

/// A cluster instance: `folio serve` with one render worker and `args` (killed when dropped).
struct Instance;

impl Instance {
    fn start(args: &[String], data: &std::path::Path) -> Server {
        let mut all: Vec<&str> = vec!["--workers", "1"];
        all.extend(args.iter().map(String::as_str));
        Server::start_with(data, &all)
    }
}

/// The arguments of an instance of the test's cluster (its own database and streams, the
/// shared S3 store), then `extra`.
fn cluster_args(database: &TestDatabase, streams: &TestStreams, extra: &[&str]) -> Vec<String> {
    let events = format!("{}?stream={}", required("FOLIO_TEST_NATS_URL"), streams.options.stream);
    backend_args(&database.url, &events, &required("FOLIO_TEST_S3_URL"), extra)
}

/// The arguments of an instance over these backend URLs (the built-in pool in the index's
/// database), then `extra`.
fn backend_args(index: &str, events: &str, objects: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--index-url",
        index,
        "--events-url",
        events,
        "--objects-url",
        objects,
        "--identity-url",
        index,
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn required(name: &str) -> String {
    crate::required(name, "the cluster's servers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn two_cluster_instances_share_accounts_sessions_and_documents() {
    let database = TestDatabase::create().await;
    let streams = TestStreams::new();
    // One budget for the whole cluster: a burst of 3 registrations from one address (a
    // third of the minute's 9), not 3 per instance.
    let backends = cluster_args(&database, &streams, &["--registrations-per-minute", "9"]);
    let dir = crate::temp();
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    database
        .around(streams.around(async move {
            let a = Instance::start(&backends, &data_a);
            let b = Instance::start(&backends, &data_b);
            let http = reqwest::Client::new();
            let credentials =
                json!({ "email": "ada@example.com", "password": "correct horse battery" });

            // Register on A, sign in on B: one account.
            let (status, _) =
                call(http.post(format!("{}/api/auth/register", a.url)).json(&credentials)).await;
            assert_eq!(status, 201);
            // The registration budget is the cluster's: two more on alternate instances use up
            // the burst of 3, and the fourth is refused although B has taken only two.
            for (i, instance) in [&b, &a].into_iter().enumerate() {
                let person = json!({ "email": format!("p{i}@example.com"), "password": "a long enough password" });
                let (status, body) = call(http.post(format!("{}/api/auth/register", instance.url)).json(&person)).await;
                assert_eq!(status, 201, "registration {} of the burst: {body}", i + 2);
            }
            let late = json!({ "email": "late@example.com", "password": "a long enough password" });
            let (status, body) = call(http.post(format!("{}/api/auth/register", b.url)).json(&late)).await;
            assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
            let (status, on_b) =
                call(http.post(format!("{}/api/auth/login", b.url)).json(&credentials)).await;
            assert_eq!(status, 200, "{on_b}");
            let (status, on_a) =
                call(http.post(format!("{}/api/auth/login", a.url)).json(&credentials)).await;
            assert_eq!(status, 200, "{on_a}");
            let token_a = on_a["access_token"].as_str().unwrap_or_default().to_owned();
            assert_eq!(on_a["identity_id"], on_b["identity_id"]);

            // A's token works on B.
            let (status, listed) =
                call(http.get(format!("{}/api/documents", b.url)).bearer_auth(&token_a)).await;
            assert_eq!((status, listed["items"].as_array().map(Vec::len)), (200, Some(0)));

            // Create on A; B lists it (read-your-writes holds per instance, so wait for the
            // indexer on whichever instance pulled the event) and downloads it.
            let (status, created) = call(
                http.post(format!("{}/api/documents", a.url))
                    .bearer_auth(&token_a)
                    .json(&json!({ "markdown": "# Shared\n\nMade on A, read on B.\n" })),
            )
            .await;
            assert_eq!(status, 201, "{created}");
            let id = created["id"].as_str().unwrap_or_default().to_owned();
            let mut seen = Value::Null;
            for _ in 0..200 {
                seen = call(http.get(format!("{}/api/documents", b.url)).bearer_auth(&token_a))
                    .await
                    .1;
                if seen["items"]
                    .as_array()
                    .is_some_and(|items| items.iter().any(|d| d["id"] == id.as_str()))
                {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert!(seen["items"].as_array().is_some_and(|i| i.len() == 1), "{seen}");
            let (status, document) =
                call(http.get(format!("{}/api/documents/{id}", b.url)).bearer_auth(&token_a)).await;
            assert_eq!(status, 200, "{document}");
            let link = document["download_url"].as_str().unwrap_or_default();
            let pdf =
                http.get(format!("{}{link}", b.url)).send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                pdf.status().as_u16(),
                200,
                "a download signed by any instance is served by B"
            );
            let bytes = pdf.bytes().await.unwrap_or_default();
            assert!(bytes.starts_with(b"%PDF-"));

            // Delete on B; A's listing empties (and the bucket keeps nothing of this test).
            let (status, _) =
                call(http.delete(format!("{}/api/documents/{id}", b.url)).bearer_auth(&token_a))
                    .await;
            assert_eq!(status, 204);
            let mut left = Value::Null;
            for _ in 0..200 {
                left = call(http.get(format!("{}/api/documents", a.url)).bearer_auth(&token_a))
                    .await
                    .1;
                if left["items"].as_array().is_some_and(Vec::is_empty) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(left["items"].as_array().map(Vec::len), Some(0), "{left}");
        }))
        .await;
}

/// In a build with the cluster shape, a mixture of shapes is refused before anything is
/// opened, saying what a cluster needs; so is an identity backend a cluster cannot use.
#[test]
fn a_partial_cluster_is_refused_with_what_it_needs() {
    let dir = crate::temp();
    let data = dir.path().join("data");
    let run = |env: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(["docs", "list", "--subject", "a", "--data-dir"])
            .arg(&data)
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (code, err) = run(&[("FOLIO_INDEX_URL", "postgres://127.0.0.1/folio")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "needs all of objects = \"s3://…\", index = \"postgres://…\", events = \"nats://…\""
        ),
        "{err}"
    );
    let (code, err) = run(&[
        ("FOLIO_INDEX_URL", "postgres://127.0.0.1/folio"),
        ("FOLIO_EVENTS_URL", "nats://127.0.0.1:4222"),
        ("FOLIO_OBJECTS_URL", "s3://folio?endpoint=http://127.0.0.1:8333"),
        ("FOLIO_IDENTITY_URL", "file://accounts"),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cannot sign people in to a cluster"), "{err}");
    assert!(!data.exists(), "nothing was created");
}

/// Registers `email` on the instance at `url` and signs in; returns the session
/// (`access_token`, `identity_id`, …).
async fn registered(http: &reqwest::Client, url: &str, email: &str) -> Value {
    let credentials = json!({ "email": email, "password": "correct horse battery" });
    let (status, body) =
        call(http.post(format!("{url}/api/auth/register")).json(&credentials)).await;
    assert_eq!(status, 201, "{body}");
    signed_in(http, url, email).await
}

/// Signs `email` (registered by [`registered`]) in at the instance at `url`: the session.
async fn signed_in(http: &reqwest::Client, url: &str, email: &str) -> Value {
    let credentials = json!({ "email": email, "password": "correct horse battery" });
    let (status, session) =
        call(http.post(format!("{url}/api/auth/login")).json(&credentials)).await;
    assert_eq!(status, 200, "{session}");
    session
}

/// Waits until `identity`'s library on `url` has exactly `ids`; panics with the last listing.
async fn listed(http: &reqwest::Client, url: &str, token: &str, ids: &[&str]) {
    let mut last = Value::Null;
    for _ in 0..300 {
        last = call(http.get(format!("{url}/api/documents")).bearer_auth(token)).await.1;
        let mut seen: Vec<&str> = last["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|d| d["id"].as_str()).collect())
            .unwrap_or_default();
        seen.sort_unstable();
        let mut wanted = ids.to_vec();
        wanted.sort_unstable();
        if seen == wanted {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("expected {ids:?} on {url}: {last}");
}

/// The reconciler is part of the cluster: it puts back a record the index lost (as when an
/// event never arrived) and removes one whose file is gone, on whichever instance holds the
/// lease; when that instance is killed, the lease lapses and the other one takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn the_reconciler_repairs_both_ways_and_moves_with_its_lease() {
    let database = TestDatabase::create().await;
    let streams = TestStreams::new();
    let db = database.url.clone();
    // A pass a second; the lease lapses two seconds after its holder stops renewing it.
    let backends = cluster_args(&database, &streams, &["--reconcile-secs", "1"]);
    let dir = crate::temp();
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    database
        .around(streams.around(async move {
            // A starts first and takes the reconciler's lease.
            let mut a = Instance::start(&backends, &data_a);
            let http = reqwest::Client::new();
            let session = registered(&http, &a.url, "ada@example.com").await;
            let token = session["access_token"].as_str().unwrap_or_default().to_owned();
            let identity = session["identity_id"].as_str().unwrap_or_default().to_owned();
            let (status, created) = call(
                http.post(format!("{}/api/documents", a.url))
                    .bearer_auth(&token)
                    .json(&json!({ "markdown": "# Kept\n\nThe file is the truth.\n" })),
            )
            .await;
            assert_eq!(status, 201, "{created}");
            let id = created["id"].as_str().unwrap_or_default().to_owned();
            listed(&http, &a.url, &token, &[&id]).await;
            let b = Instance::start(&backends, &data_b);

            // Both ways: the index loses the record, and gains one whose file does not exist.
            let ghost = "01a00000-0000-7000-8000-000000000000";
            let break_index = format!(
                "DELETE FROM documents;
                 INSERT INTO documents (identity, document_id, seq_sort, live, title, title_folded, pages, bytes, created_ms, sequencer)
                 VALUES ('{identity}', '{ghost}', rpad('0000000000000001', 64, '0'), true, 'Ghost', 'ghost', 1, 10, 0, '0000000000000001');"
            );
            TestDatabase::execute(&db, &break_index).await;
            listed(&http, &b.url, &token, &[ghost]).await;
            listed(&http, &b.url, &token, &[&id]).await;

            // The holder dies without releasing the lease: B takes over once it lapses.
            let _ = a.child.kill();
            let _ = a.child.wait();
            TestDatabase::execute(&db, &break_index).await;
            listed(&http, &b.url, &token, &[&id]).await;
        }))
        .await;
}

/// Every document listed once, across pages of `url`'s library.
async fn all_ids(http: &reqwest::Client, url: &str, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        // Cursors are URL-safe base64 (`[A-Za-z0-9_-]`): no escaping needed.
        let page_url = match &cursor {
            Some(cursor) => format!("{url}/api/documents?limit=100&cursor={cursor}"),
            None => format!("{url}/api/documents?limit=100"),
        };
        let (status, page) = call(http.get(page_url).bearer_auth(token)).await;
        assert_eq!(status, 200, "{page}");
        ids.extend(
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

/// 200 creates over two instances while one is killed (SIGKILL) and started again: every
/// create that answered 201 is listed exactly once, none twice, and nobody else's library
/// holds any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn creates_survive_an_instance_killed_mid_way() {
    let database = TestDatabase::create().await;
    let streams = TestStreams::new();
    // A create cut off after its file was written is completed by its retry; the
    // reconciler covers an event lost with the process.
    let backends = cluster_args(
        &database,
        &streams,
        &["--creates-per-minute", "100000", "--reconcile-secs", "1"],
    );
    let dir = crate::temp();
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    database
        .around(streams.around(async move {
            let a = std::sync::Arc::new(tokio::sync::RwLock::new(Instance::start(&backends, &data_a)));
            let b = Instance::start(&backends, &data_b);
            let http = reqwest::Client::new();
            let mut tokens = Vec::new();
            for email in ["ada@example.com", "bob@example.com"] {
                let session = registered(&http, &b.url, email).await;
                tokens.push(session["access_token"].as_str().unwrap_or_default().to_owned());
            }
            let (ada, bob) = (tokens[0].clone(), tokens[1].clone());
            let b_url = b.url.clone();

            // Two clients per instance; each create is retried with its idempotency key while
            // the answer is an error that says "try again" or the connection failed.
            let created = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<String>::new()));
            let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut clients = Vec::new();
            for client in 0..4 {
                let (a, http, ada, b_url) = (a.clone(), http.clone(), ada.clone(), b_url.clone());
                let (created, next, interrupted) = (created.clone(), next.clone(), interrupted.clone());
                clients.push(tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if n >= 200 {
                            return;
                        }
                        let key = format!("create-{n}");
                        for _attempt in 0..150 {
                            let url = if client % 2 == 0 { a.read().await.url.clone() } else { b_url.clone() };
                            let response = http
                                .post(format!("{url}/api/documents"))
                                .bearer_auth(&ada)
                                .header("idempotency-key", &key)
                                .json(&json!({ "markdown": format!("# Document {n}\n\nOne of many.\n") }))
                                .send()
                                .await;
                            match response {
                                Ok(r) if r.status().as_u16() == 201 => {
                                    let body: Value = r.json().await.unwrap_or(Value::Null);
                                    created.lock().await.push(body["id"].as_str().unwrap_or_default().to_owned());
                                    break;
                                }
                                Ok(r) if r.status().as_u16() < 500 && r.status().as_u16() != 429 => {
                                    panic!("create {n}: {} {}", r.status(), r.text().await.unwrap_or_default());
                                }
                                Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
                                Err(_) => {
                                    // The instance was killed under this request (or is
                                    // starting again): the same key goes again.
                                    interrupted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                                }
                            }
                        }
                    }
                }));
            }
            // Kill A a third of the way through, and start it again.
            while next.load(std::sync::atomic::Ordering::SeqCst) < 70 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            {
                let mut instance = a.write().await;
                let _ = instance.child.kill();
                let _ = instance.child.wait();
                *instance = Instance::start(&backends, &data_a);
            }
            for client in clients {
                client.await.unwrap_or_else(|e| panic!("{e}"));
            }

            assert!(
                interrupted.load(std::sync::atomic::Ordering::SeqCst) > 0,
                "the kill cut off requests in flight (else this test proves nothing)"
            );
            let created = created.lock().await.clone();
            assert_eq!(created.len(), 200, "every create answered 201 in the end (retried with its key)");
            let mut unique = created.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), 200, "a retried create never made a second document");
            // Listed exactly once, wherever one asks, once the events are indexed.
            let mut listed = Vec::new();
            for _ in 0..300 {
                listed = all_ids(&http, &b_url, &ada).await;
                if listed.len() >= 200 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let mut sorted = listed.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), listed.len(), "no document listed twice");
            assert_eq!(sorted, unique, "exactly the documents whose create answered 201");
            let a_url = a.read().await.url.clone();
            assert_eq!(all_ids(&http, &a_url, &ada).await.len(), 200);
            assert!(all_ids(&http, &a_url, &bob).await.is_empty(), "nothing in another library");
        }))
        .await;
}

/// A rolling restart: SIGTERM to one of two instances while a client keeps creating and
/// listing through a balancer that follows `/readyz` (as HAProxy does in deploy/cluster): no
/// request fails, and the stopped instance exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn sigterm_mid_load_fails_no_request() {
    let database = TestDatabase::create().await;
    let streams = TestStreams::new();
    let backends =
        cluster_args(&database, &streams, &["--drain-secs", "2", "--creates-per-minute", "100000"]);
    let dir = crate::temp();
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    database
        .around(streams.around(async move {
            let mut a = Instance::start(&backends, &data_a);
            let b = Instance::start(&backends, &data_b);
            let urls = [a.url.clone(), b.url.clone()];
            let http = reqwest::Client::new();
            let session = registered(&http, &urls[1], "ada@example.com").await;
            let token = session["access_token"].as_str().unwrap_or_default().to_owned();

            // The balancer: which instances answered /readyz with 200 last time (every 100 ms).
            let ready = std::sync::Arc::new(std::sync::Mutex::new([true, true]));
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let prober = {
                let (ready, stop, urls, http) = (ready.clone(), stop.clone(), urls.clone(), http.clone());
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        for (i, url) in urls.iter().enumerate() {
                            let up = matches!(http.get(format!("{url}/readyz")).send().await, Ok(r) if r.status().as_u16() == 200);
                            ready.lock().map(|mut r| r[i] = up).unwrap_or_default();
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                })
            };
            let pick = |n: usize| {
                let up = *ready.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let choices: Vec<usize> = (0..2).filter(|i| up[*i]).collect();
                assert!(!choices.is_empty(), "no instance ready");
                urls[choices[n % choices.len()]].clone()
            };

            let mut failures = Vec::new();
            let mut made = 0;
            let started = std::time::Instant::now();
            let mut signalled = false;
            for n in 0.. {
                if !signalled && n == 10 {
                    let pid = a.child.id().to_string();
                    let sent = Command::new("kill").args(["-TERM", &pid]).status();
                    assert!(sent.is_ok_and(|s| s.success()));
                    signalled = true;
                }
                // Keep going until A has stopped by itself (its drain is 2 s).
                if signalled && matches!(a.child.try_wait(), Ok(Some(_))) && n > 40 {
                    break;
                }
                assert!(started.elapsed() < std::time::Duration::from_secs(60), "A never stopped");
                let url = pick(n);
                let response = http
                    .post(format!("{url}/api/documents"))
                    .bearer_auth(&token)
                    .json(&json!({ "markdown": format!("# Rolling {n}\n") }))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().as_u16() == 201 => made += 1,
                    Ok(r) => failures.push(format!("create {n} on {url}: {}", r.status())),
                    Err(e) => failures.push(format!("create {n} on {url}: {e}")),
                }
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = prober.await;
            assert_eq!(failures, Vec::<String>::new(), "{made} created");
            assert_eq!(a.child.wait().ok().and_then(|s| s.code()), Some(0), "A stopped cleanly");
        }))
        .await;
}

/// The key id a JWT's header names.
fn kid(token: &str) -> String {
    crate::jwt_part(token, 0)["kid"].as_str().unwrap_or_default().to_owned()
}

/// `folio keys rotate` run against the cluster while two instances serve: both sign with the
/// new key within their refresh time, each verifies the other's new tokens, and tokens signed
/// with the previous key keep working everywhere (nobody is signed out).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn a_key_rotated_through_the_cli_is_used_by_every_instance() {
    let database = TestDatabase::create().await;
    let streams = TestStreams::new();
    let backends = cluster_args(&database, &streams, &["--key-refresh-secs", "1"]);
    let dir = crate::temp();
    let (data_a, data_b, data_cli) =
        (dir.path().join("a"), dir.path().join("b"), dir.path().join("cli"));
    database
        .around(streams.around(async move {
            let a = Instance::start(&backends, &data_a);
            let b = Instance::start(&backends, &data_b);
            let http = reqwest::Client::new();
            let access =
                |session: Value| session["access_token"].as_str().unwrap_or_default().to_owned();
            let before = access(registered(&http, &a.url, "ada@example.com").await);
            let on_b = access(signed_in(&http, &b.url, "ada@example.com").await);
            assert_eq!(kid(&before), kid(&on_b), "one current key");

            let mut rotate: Vec<String> = vec!["keys".into(), "rotate".into()];
            rotate.extend(backends.iter().cloned());
            let output = Command::new(env!("CARGO_BIN_EXE_folio"))
                .args(&rotate)
                .args(["--data-dir", &data_cli.to_string_lossy()])
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "folio keys rotate: {stderr}");
            let new_kid = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            assert!(!new_kid.is_empty() && new_kid != kid(&before), "{new_kid}: {stderr}");

            // Both instances read the ring again within their refresh time (one second).
            let mut tokens = Vec::new();
            for instance in [&a, &b] {
                let mut token = String::new();
                for _ in 0..100 {
                    token = access(signed_in(&http, &instance.url, "ada@example.com").await);
                    if kid(&token) == new_kid {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                assert_eq!(kid(&token), new_kid, "{} signs with the rotated key", instance.url);
                tokens.push(token);
            }
            // Each instance's new tokens, and the token from before, work on both.
            for token in tokens.iter().chain([&before]) {
                for instance in [&a, &b] {
                    let (status, body) = call(
                        http.get(format!("{}/api/documents", instance.url)).bearer_auth(token),
                    )
                    .await;
                    assert_eq!(
                        status,
                        200,
                        "a token of key {} on {}: {body}",
                        kid(token),
                        instance.url
                    );
                }
            }
            for instance in [&a, &b] {
                let (_, jwks) =
                    call(http.get(format!("{}/.well-known/jwks.json", instance.url))).await;
                let kids: Vec<&str> = jwks["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k["kid"].as_str())
                    .collect();
                assert!(
                    kids.contains(&new_kid.as_str()) && kids.contains(&kid(&before).as_str()),
                    "{jwks}"
                );
            }
        }))
        .await;
}

/// With `downloads=presigned`, a document's link is an S3 presigned GET that the store itself
/// serves, named as folio names files; no instance mounts `/files`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, NATS and an S3-compatible store; run by .ci/run"]
async fn presigned_downloads_are_served_by_the_store() {
    let database = TestDatabase::create().await;
    let streams = TestStreams::new();
    let events = format!("{}?stream={}", required("FOLIO_TEST_NATS_URL"), streams.options.stream);
    let objects = format!("{}&downloads=presigned", required("FOLIO_TEST_S3_URL"));
    let backends = backend_args(&database.url, &events, &objects, &[]);
    let dir = crate::temp();
    let data = dir.path().join("a");
    database
        .around(streams.around(async move {
            let a = Instance::start(&backends, &data);
            let http = reqwest::Client::new();
            let session = registered(&http, &a.url, "ada@example.com").await;
            let token = session["access_token"].as_str().unwrap_or_default().to_owned();
            let (status, created) = call(
                http.post(format!("{}/api/documents", a.url))
                    .bearer_auth(&token)
                    .json(&json!({ "markdown": "# Straight from the bucket\n\nNo instance in between.\n" })),
            )
            .await;
            assert_eq!(status, 201, "{created}");
            let link = created["download_url"].as_str().unwrap_or_default().to_owned();
            let store = required("FOLIO_TEST_S3_URL");
            let endpoint = store.split("endpoint=").nth(1).unwrap_or_default();
            assert!(link.starts_with(endpoint) && link.contains("X-Amz-Signature="), "{link}");
            let pdf = http.get(&link).send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(pdf.status().as_u16(), 200, "{link}");
            let disposition = pdf
                .headers()
                .get("content-disposition")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(disposition.contains("filename=\"Straight from the bucket.pdf\""), "{disposition}");
            assert!(pdf.bytes().await.unwrap_or_default().starts_with(b"%PDF-"));
            // folio serves no downloads of its own here.
            let key = link.split('?').next().unwrap_or_default();
            let key = key.split("/ugc/").nth(1).unwrap_or_default();
            let (status, body) = call(http.get(format!("{}/files/ugc/{key}", a.url))).await;
            assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
            let (status, _) = call(http.delete(format!("{}/api/documents/{}", a.url, created["id"].as_str().unwrap_or_default())).bearer_auth(&token)).await;
            assert_eq!(status, 204);
        }))
        .await;
}

/// A `nats-server` of the test's own (never the machine's shared one): JetStream on a free
/// port, its store in `dir`, so it can be killed and started again on the same port and store.
struct OwnNats {
    child: std::process::Child,
}

impl OwnNats {
    fn start(port: u16, dir: &std::path::Path) -> Self {
        let binary =
            std::env::var("FOLIO_TEST_NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(dir.join("nats.log"))
            .unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new(&binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(dir.join("store"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {binary} ({e}): this test needs nats-server (see .ci/run)")
            });
        // Owned at once, so a panic below still stops it.
        let nats = Self { child };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return nats;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("nats-server did not listen on {port}: {}", dir.join("nats.log").display());
    }
}

impl Drop for OwnNats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// NATS killed during a load of creates and started again on the same port and store: every
/// create that answered 201 is listed exactly once in the end. Creates while NATS is away are
/// refused as retryable (the publisher tries again first) and succeed when retried with their
/// idempotency key; an event lost with the server is put back by the reconciler.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL, nats-server and an S3-compatible store; run by .ci/run"]
async fn no_acknowledged_document_is_lost_when_nats_restarts() {
    let database = TestDatabase::create().await;
    let dir = crate::temp();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let nats_dir = dir.path().join("nats");
    std::fs::create_dir_all(&nats_dir).unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("a");
    let backends = backend_args(
        &database.url,
        &format!("nats://127.0.0.1:{port}?stream=FOLIO_RESTART"),
        &required("FOLIO_TEST_S3_URL"),
        &["--creates-per-minute", "100000", "--reconcile-secs", "1"],
    );
    database
        .around(async move {
            let mut nats = OwnNats::start(port, &nats_dir);
            let a = Instance::start(&backends, &data);
            let http = reqwest::Client::new();
            let session = registered(&http, &a.url, "ada@example.com").await;
            let token = session["access_token"].as_str().unwrap_or_default().to_owned();

            let total = 60;
            let created = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<String>::new()));
            let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut clients = Vec::new();
            for _ in 0..3 {
                let (http, token, url) = (http.clone(), token.clone(), a.url.clone());
                let (created, next, refused) = (created.clone(), next.clone(), refused.clone());
                clients.push(tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if n >= total {
                            return;
                        }
                        let mut done = false;
                        for _attempt in 0..300 {
                            let response = http
                                .post(format!("{url}/api/documents"))
                                .bearer_auth(&token)
                                .header("idempotency-key", format!("restart-{n}"))
                                .json(&json!({ "markdown": format!("# Document {n}\n\nWritten while NATS comes and goes.\n") }))
                                .send()
                                .await;
                            match response {
                                Ok(r) if r.status().as_u16() == 201 => {
                                    let body: Value = r.json().await.unwrap_or(Value::Null);
                                    created.lock().await.push(body["id"].as_str().unwrap_or_default().to_owned());
                                    done = true;
                                    break;
                                }
                                Ok(r) => {
                                    let status = r.status().as_u16();
                                    let body: Value = r.json().await.unwrap_or(Value::Null);
                                    assert_eq!(body["error"]["retryable"], true, "create {n}: {status} {body}");
                                    refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                                }
                                Err(e) => panic!("create {n}: the instance did not answer: {e}"),
                            }
                        }
                        assert!(done, "create {n} never succeeded");
                    }
                }));
            }
            // Kill NATS a quarter of the way through; start it again two seconds later.
            while next.load(std::sync::atomic::Ordering::SeqCst) < total / 4 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            drop(nats);
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            nats = OwnNats::start(port, &nats_dir);
            for client in clients {
                client.await.unwrap_or_else(|e| panic!("{e}"));
            }
            assert!(
                refused.load(std::sync::atomic::Ordering::SeqCst) > 0,
                "creates were refused while NATS was away (else this test proves nothing)"
            );
            let created = created.lock().await.clone();
            let mut unique = created.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), total, "one document per create");
            let mut listed = Vec::new();
            for _ in 0..300 {
                listed = all_ids(&http, &a.url, &token).await;
                if listed.len() >= total {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let mut sorted = listed.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), listed.len(), "no document listed twice");
            assert_eq!(sorted, unique, "every document whose create answered 201");
            drop(nats);
        })
        .await;
}
