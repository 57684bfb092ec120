//! `folio serve` as a process: the whole flow over HTTP, a restart that keeps accounts,
//! sessions, documents and idempotency keys, and the operator's `folio users` commands.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::temp;

/// A running `folio serve`, killed (SIGKILL) when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Server {
    pub(crate) fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    /// Starts with extra arguments.
    pub(crate) fn start_with(data: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .env_remove("FOLIO_FAILPOINT")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start folio serve: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap_or_default();
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "folio serve printed {line:?}");
        Self { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a request; returns the status and the JSON body.
pub(crate) async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn list(http: &reqwest::Client, url: &str, token: &str, count: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = call(http.get(format!("{url}/api/documents")).bearer_auth(token)).await.1;
        if last["items"].as_array().map(Vec::len) == Some(count) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("expected {count} documents: {last}");
}

#[tokio::test]
async fn serve_flow_survives_a_restart() {
    let dir = temp();
    let data = dir.path().join("data");
    let http = reqwest::Client::new();
    let credentials = json!({ "email": "ada@example.com", "password": "correct horse battery" });
    let (refresh, doc_id) = {
        let server = Server::start(&data);
        let url = &server.url;
        assert_eq!(
            call(http.post(format!("{url}/api/auth/register")).json(&credentials)).await.0,
            201
        );
        let (status, session) =
            call(http.post(format!("{url}/api/auth/login")).json(&credentials)).await;
        assert_eq!(status, 200);
        let token = session["access_token"].as_str().unwrap_or_default().to_owned();
        let body = json!({ "markdown": "# Restart\n\nWords that survive a restart." });
        let (status, created) = call(
            http.post(format!("{url}/api/documents"))
                .bearer_auth(&token)
                .header("idempotency-key", "k1")
                .json(&body),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let library = list(&http, url, &token, 1).await;
        let download = library["items"][0]["download_url"].as_str().unwrap_or_default();
        let pdf = http
            .get(format!("{url}{download}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .bytes()
            .await
            .unwrap_or_default();
        let text = pdf_extract::extract_text_from_mem(&pdf).unwrap_or_default();
        assert!(text.contains("Words that survive a restart."), "{text}");
        (session["refresh_token"].as_str().unwrap_or_default().to_owned(), created["id"].clone())
        // The server is killed here (SIGKILL): no graceful shutdown.
    };

    let server = Server::start(&data);
    let url = &server.url;
    let (status, session) = call(
        http.post(format!("{url}/api/auth/refresh")).json(&json!({ "refresh_token": refresh })),
    )
    .await;
    assert_eq!(status, 200, "sessions survive: {session}");
    let token = session["access_token"].as_str().unwrap_or_default().to_owned();
    list(&http, url, &token, 1).await;
    let body = json!({ "markdown": "# Restart\n\nWords that survive a restart." });
    let (status, again) = call(
        http.post(format!("{url}/api/documents"))
            .bearer_auth(&token)
            .header("idempotency-key", "k1")
            .json(&body),
    )
    .await;
    assert_eq!(
        (status, &again["id"]),
        (201, &doc_id),
        "the same key after a restart gives the same document"
    );
    let other = json!({ "markdown": "# Something else" });
    let (status, conflict) = call(
        http.post(format!("{url}/api/documents"))
            .bearer_auth(&token)
            .header("idempotency-key", "k1")
            .json(&other),
    )
    .await;
    assert_eq!((status, conflict["error"]["code"].as_str()), (409, Some("idempotency_conflict")));
    list(&http, url, &token, 1).await;
    drop(server);

    // The operator's commands on the same data directory.
    let folio = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let users = folio(&["users", "list"]);
    assert!(String::from_utf8_lossy(&users.stdout).contains("ada@example.com"));
    let mut reset = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["users", "reset-password", "ada@example.com", "--data-dir"])
        .arg(&data)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = reset.stdin.take() {
        let _ = stdin.write_all(b"an operator's new password\n");
    }
    assert!(reset.wait().is_ok_and(|s| s.success()));
    assert_eq!(folio(&["users", "delete", "nobody@example.com"]).status.code(), Some(1));
    let deleted = folio(&["users", "delete", "ada@example.com"]);
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    assert!(String::from_utf8_lossy(&deleted.stderr).contains("1 documents"));

    let server = Server::start(&data);
    let url = &server.url;
    let login = json!({ "email": "ada@example.com", "password": "an operator's new password" });
    assert_eq!(
        call(http.post(format!("{url}/api/auth/login")).json(&login)).await.0,
        401,
        "the account is gone"
    );
}

#[tokio::test]
async fn a_backup_taken_during_creates_restores_to_a_working_data_dir() {
    let dir = temp();
    let data = dir.path().join("data");
    let backup = dir.path().join("backup");
    let http = reqwest::Client::new();
    let credentials = json!({ "email": "bk@example.com", "password": "correct horse battery" });
    {
        let server = Server::start(&data);
        let url = server.url.clone();
        call(http.post(format!("{url}/api/auth/register")).json(&credentials)).await;
        let (_, session) =
            call(http.post(format!("{url}/api/auth/login")).json(&credentials)).await;
        let token = session["access_token"].as_str().unwrap_or_default().to_owned();
        for i in 0..2 {
            let body = json!({ "markdown": format!("# Before {i}") });
            assert_eq!(
                call(http.post(format!("{url}/api/documents")).bearer_auth(&token).json(&body))
                    .await
                    .0,
                201
            );
        }
        let creating = {
            let http = http.clone();
            let url = url.clone();
            tokio::spawn(async move {
                for i in 0..12 {
                    let body = json!({ "markdown": format!("# Doc {i}\n\nBacked up while being written.") });
                    let (status, _) = call(
                        http.post(format!("{url}/api/documents")).bearer_auth(&token).json(&body),
                    )
                    .await;
                    assert!(status == 201 || status == 429, "{status}");
                }
            })
        };
        let out = Command::new(env!("CARGO_BIN_EXE_folio"))
            .arg("backup")
            .arg(&backup)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let again = Command::new(env!("CARGO_BIN_EXE_folio"))
            .arg("backup")
            .arg(&backup)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.status.code(), Some(2), "a backup never overwrites");
        let _ = creating.await;
    }
    // Restore: the copy is a data directory; reconcile it, then serve it.
    let folio = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(args)
            .arg("--data-dir")
            .arg(&backup)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert!(folio(&["reindex"]).status.success());
    let listed = folio(&["docs", "list", "--subject", "ignored", "--json"]);
    assert!(listed.status.success());
    let server = Server::start(&backup);
    let url = &server.url;
    let (status, session) =
        call(http.post(format!("{url}/api/auth/login")).json(&credentials)).await;
    assert_eq!(status, 200, "the account was backed up: {session}");
    let token = session["access_token"].as_str().unwrap_or_default().to_owned();
    let (status, library) =
        call(http.get(format!("{url}/api/documents?limit=100")).bearer_auth(&token)).await;
    assert_eq!(status, 200);
    let items = library["items"].as_array().cloned().unwrap_or_default();
    assert!(items.len() >= 2, "the documents made before the backup are there: {library}");
    for item in &items {
        let download = item["download_url"].as_str().unwrap_or_default();
        let pdf =
            http.get(format!("{url}{download}")).send().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pdf.status().as_u16(), 200, "every listed document downloads");
    }
}

/// Runs `folio` with `args`, none of the `FOLIO_*` variables the tests set inherited, and
/// `env`; returns (exit code, stdout, stderr).
fn folio(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("FOLIO_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn settings_come_from_flags_then_environment_then_the_file() {
    let dir = temp();
    let config = dir.path().join("folio.toml");
    let config = config.to_str().unwrap_or_default();
    std::fs::write(
        config,
        "[render]\ntimeout = 12\nworkers = 3\n[server]\nlisten = \"127.0.0.1:9999\"\ntrusted_proxies = [\"10.0.0.1\"]\n[data]\ndir = \"from-the-file\"\n",
    )
    .unwrap_or_default();
    let print = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["serve", "--print-config", "--config", config];
        args.extend_from_slice(extra);
        let (code, out, err) = folio(&args, env);
        assert_eq!(code, Some(0), "{err}");
        out
    };
    let from_file = print(&[], &[]);
    assert!(from_file.contains("[render]\nworkers = 3\ntimeout = 12\n"), "{from_file}");
    assert!(from_file.contains("listen = \"127.0.0.1:9999\""), "{from_file}");
    assert!(from_file.contains("memory_mib = 2048"), "defaults fill the rest: {from_file}");
    assert!(from_file.contains("objects = \"file://\""), "backends are printed: {from_file}");
    assert!(from_file.contains("# per_identity = (unset)"), "unset keys are named: {from_file}");
    let layered = print(&["--workers", "5"], &[("FOLIO_RENDER_TIMEOUT", "20")]);
    assert!(layered.contains("workers = 5"), "flag beats file: {layered}");
    assert!(layered.contains("timeout = 20"), "environment beats file: {layered}");
    let fair =
        print(&["--renders-per-identity", "2"], &[("FOLIO_ALLOW_INSECURE_DATA_DIR", "true")]);
    assert!(fair.contains("per_identity = 2"), "{fair}");
    assert!(fair.contains("allow_insecure = true"), "{fair}");

    // Every command that opens a deployment reads the same file.
    let (code, out, err) = folio(&["docs", "list", "--print-config", "--config", config], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("dir = \"from-the-file\""), "{out}");
    assert!(!out.contains("[server]"), "docs takes only the sections it uses: {out}");
    let (_, out, _) = folio(
        &["docs", "list", "--print-config"],
        &[("FOLIO_CONFIG", config), ("FOLIO_DATA_DIR", "env-dir")],
    );
    assert!(out.contains("dir = \"env-dir\""), "{out}");

    for (text, expected) in [
        ("no_such_setting = 1\n", "is not a settings section"),
        ("[render]\nno_such_setting = 1\n", "[render] has no setting `no_such_setting`"),
        ("[render]\nworkers = \"many\"\n", "[render]"),
    ] {
        std::fs::write(config, text).unwrap_or_default();
        let (code, _, err) = folio(&["serve", "--print-config", "--config", config], &[]);
        assert_eq!(code, Some(2), "{text}: {err}");
        assert!(err.contains(expected), "{text}: {err}");
    }
}

/// The backend URLs choose the shape; a backend of a shape this build lacks is refused before
/// anything is opened, naming the shape.
#[test]
fn backends_of_other_shapes_are_refused_by_name() {
    let dir = temp();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap_or_default();
    // An S3 store alone: the cluster's when this build has it, else the AWS shape's.
    let s3_shape = if cfg!(feature = "cluster") { "the cluster shape" } else { "the AWS shape" };
    for (variable, value, shape) in [
        ("FOLIO_OBJECTS_URL", "s3://bucket?endpoint=http://127.0.0.1:8333", s3_shape),
        ("FOLIO_INDEX_URL", "dynamodb://folio-docs", "the AWS shape"),
        ("FOLIO_INDEX_URL", "postgres://127.0.0.1/folio", "the cluster shape"),
        ("FOLIO_EVENTS_URL", "nats://127.0.0.1:4222", "the cluster shape"),
        ("FOLIO_INDEX_URL", "mysql://x", "not a backend folio knows"),
    ] {
        let (code, _, err) =
            folio(&["docs", "list", "--subject", "a", "--data-dir", data], &[(variable, value)]);
        assert_eq!(code, Some(2), "{variable}={value}: {err}");
        assert!(err.contains(shape), "{variable}={value}: {err}");
    }
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

/// `folio keys rotate` makes a new current key each time; with the built-in pool turned off
/// (`identity = "none://"`) it says there is no pool to rotate.
#[test]
fn keys_rotate_makes_a_new_current_key() {
    let dir = temp();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap_or_default();
    let (code, first, err) = folio(&["keys", "rotate", "--data-dir", data], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("2 keys verify now"), "{err}");
    let (code, second, err) = folio(&["keys", "rotate", "--data-dir", data], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("3 keys verify now"), "{err}");
    assert_ne!(first.trim(), second.trim());
    assert_eq!(first.trim().len(), 16, "{first}");
    let (code, _, err) =
        folio(&["keys", "rotate", "--data-dir", data], &[("FOLIO_IDENTITY_URL", "none://")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no built-in user pool"), "{err}");
}

/// An external issuer configured without an audience or a client id is refused at start: any
/// token that provider made for another application would otherwise sign in.
#[test]
fn an_issuer_without_audience_or_client_id_is_refused_at_start() {
    let dir = temp();
    let out = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .args([
            "--oidc-issuer",
            "https://idp.example",
            "--oidc-jwks-url",
            "http://127.0.0.1:9/jwks",
        ])
        .env_remove("FOLIO_OIDC_AUDIENCE")
        .env_remove("FOLIO_OIDC_CLIENT_ID")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs an audience or a client id"), "{err}");
}

/// The sign-in throttles and the registration budget are settings that reach the running
/// server; a value that would switch a limit off is refused.
#[tokio::test]
async fn sign_in_throttles_and_registrations_come_from_the_settings() {
    let dir = temp();
    let data = dir.path().join("data");
    let config = dir.path().join("folio.toml");
    std::fs::write(&config, "[limits]\nsignin_free_failures = 1\nregistrations_per_minute = 2\n")
        .unwrap_or_default();
    let config_arg = config.to_str().unwrap_or_default();
    let server = Server::start_with(&data, &["--config", config_arg]);
    let url = &server.url;
    let http = reqwest::Client::new();
    let register = |email: &str| {
        http.post(format!("{url}/api/auth/register"))
            .json(&json!({ "email": email, "password": "correct horse battery" }))
    };
    assert_eq!(call(register("ada@example.com")).await.0, 201);
    let (status, body) = call(register("bob@example.com")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");

    let wrong = json!({ "email": "ada@example.com", "password": "not the password" });
    let login = || http.post(format!("{url}/api/auth/login")).json(&wrong);
    assert_eq!(call(login()).await.0, 401, "one free failure");
    let (status, body) = call(login()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    drop(server);

    std::fs::write(&config, "[limits]\nsignin_backoff_max_secs = 0\n").unwrap_or_default();
    let (code, _, err) = folio(&["serve", "--print-config", "--config", config_arg], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("[limits] signin_backoff_max_secs must be at least 1"), "{err}");
}

/// SIGTERM: `/readyz` answers 503 `draining` at once while requests are still served for the
/// drain period (a load balancer moves away), then the process stops cleanly.
#[tokio::test]
async fn sigterm_drains_then_stops() {
    let dir = temp();
    let mut server = Server::start_with(&dir.path().join("data"), &["--drain-secs", "2"]);
    let http = reqwest::Client::new();
    let url = server.url.clone();
    let (status, ready) = call(http.get(format!("{url}/readyz"))).await;
    assert_eq!((status, ready["draining"].as_bool()), (200, Some(false)), "{ready}");
    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().map(|s| s.success());
    assert_eq!(sent.ok(), Some(true));
    let mut draining = Value::Null;
    for _ in 0..40 {
        let (status, body) = call(http.get(format!("{url}/readyz"))).await;
        if status == 503 {
            draining = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(draining["draining"].as_bool(), Some(true), "{draining}");
    // Still serving during the drain.
    let (status, _) = call(http.get(format!("{url}/api/openapi.json"))).await;
    assert_eq!(status, 200);
    // Then it stops by itself, cleanly.
    let started = std::time::Instant::now();
    let code = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            break status.code();
        }
        assert!(started.elapsed() < Duration::from_secs(20), "folio serve did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(code, Some(0));
}

/// The cluster example of `deploy/cluster/` is a configuration folio reads as written.
#[test]
fn the_cluster_example_configuration_parses() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/cluster/folio.toml");
    let (code, out, err) = folio(&["serve", "--print-config", "--config", config], &[]);
    assert_eq!(code, Some(0), "{err}");
    for expected in [
        "index = \"postgres://",
        "events = \"nats://",
        "objects = \"s3://",
        "drain_secs = 15",
        "key_refresh_secs = 30",
        "font_dir = \"/usr/share/fonts\"",
    ] {
        assert!(out.contains(expected), "{expected} not in {out}");
    }
}

/// A font folder with no font in it stops `folio serve` at start, saying which setting.
#[test]
fn serve_refuses_a_font_folder_without_fonts() {
    let dir = temp();
    let empty = dir.path().join("fonts");
    std::fs::create_dir_all(&empty).unwrap_or_default();
    let (code, _, err) = folio(
        &["serve", "--listen", "127.0.0.1:0", "--font-dir", empty.to_str().unwrap_or_default()],
        &[("FOLIO_DATA_DIR", dir.path().join("data").to_str().unwrap_or_default())],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--font-dir") && err.contains(".ttf"), "{err}");
    assert!(!dir.path().join("data").exists(), "nothing was created");
}

/// The font folder of `folio serve` reaches its render workers: a Japanese paragraph previews
/// on pages without a missing-glyph warning, and without the folder the warning names it.
#[tokio::test]
#[ignore = "needs a CJK font folder (FOLIO_CJK_FONT_DIR); run by .ci/run"]
async fn serve_renders_with_its_font_folder() {
    let fonts = std::env::var("FOLIO_CJK_FONT_DIR").unwrap_or_else(|_| {
        panic!("FOLIO_CJK_FONT_DIR is not set: this test needs a CJK font folder (see .ci/run)")
    });
    let dir = temp();
    let markdown = "# 日本語\n\n吾輩は猫である。名前はまだ無い。\n";
    let mut kinds = Vec::new();
    for (name, extra) in [("with", vec!["--font-dir", fonts.as_str()]), ("without", vec![])] {
        let mut args = vec!["--workers", "1"];
        args.extend(extra);
        let server = Server::start_with(&dir.path().join(name), &args);
        let http = reqwest::Client::new();
        let credentials =
            json!({ "email": "ada@example.com", "password": "correct horse battery" });
        let (status, _) =
            call(http.post(format!("{}/api/auth/register", server.url)).json(&credentials)).await;
        assert_eq!(status, 201);
        let (_, session) =
            call(http.post(format!("{}/api/auth/login", server.url)).json(&credentials)).await;
        let token = session["access_token"].as_str().unwrap_or_default().to_owned();
        let (status, pages) = call(
            http.post(format!("{}/api/preview/pages", server.url))
                .bearer_auth(&token)
                .json(&json!({ "markdown": markdown })),
        )
        .await;
        assert_eq!(status, 200, "{pages}");
        let warnings: Vec<String> = pages["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|w| w["kind"] == "missing_glyph")
            .map(|w| w["message"].as_str().unwrap_or_default().to_owned())
            .collect();
        kinds.push((name, warnings));
    }
    assert_eq!(kinds[0].1, Vec::<String>::new(), "with the folder every character is drawn");
    assert!(
        kinds[1].1.iter().any(|m| m.contains("吾") && m.contains("--font-dir")),
        "without it the warning names a character and the setting: {:?}",
        kinds[1].1
    );
}

/// A key ring that is never read again would never pick up a rotation: zero is refused.
#[test]
fn a_key_refresh_of_zero_seconds_is_refused() {
    let (code, _, err) = folio(&["serve", "--print-config", "--key-refresh-secs", "0"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--key-refresh-secs"), "{err}");
}
