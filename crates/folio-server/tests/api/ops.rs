//! Operations: security headers, request ids, slow clients, rate limits, readiness, metrics.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{TestApp, token};

#[tokio::test]
async fn responses_carry_security_headers_and_request_ids() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/api/documents", "/nowhere"] {
        let reply = app.get(path, None).await;
        let header = |name: &str| {
            reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
        };
        assert!(header("content-security-policy").contains("default-src 'self'"), "{path}");
        assert!(header("content-security-policy").contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("x-request-id").len(), 36, "{path}");
    }
}

/// F10: a client's request id is kept only if it is a short safe token; anything else (the
/// audit's forged log fields, an over-long id, two ids) is replaced by a fresh one.
#[tokio::test]
async fn client_request_ids_are_kept_only_as_short_safe_tokens() {
    let app = TestApp::spawn().await;
    let url = format!("{}/healthz", app.url);
    let sent = |ids: &[&str]| {
        let mut request = app.http.get(&url);
        for id in ids {
            request = request.header("x-request-id", *id);
        }
        app.send(request)
    };
    let kept = sent(&["trace-01.abc_DEF"]).await;
    assert_eq!(
        kept.headers.get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("trace-01.abc_DEF")
    );
    let long = "a".repeat(65);
    for ids in [
        vec!["abc method=DELETE route=/api/documents/{id} status=204 ms=1 INJECTED"],
        vec!["x\"y"],
        vec![long.as_str()],
        vec!["one", "two"],
    ] {
        let ids = ids.as_slice();
        let reply = sent(ids).await;
        let id = reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(id.len(), 36, "{ids:?} → {id}");
        assert!(!ids.contains(&id.as_str()));
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served() {
    let app = TestApp::spawn().await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    let slow = tokio::spawn(async move {
        let mut stream =
            tokio::net::TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("{e}"));
        let started = Instant::now();
        for byte in
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                .iter()
        {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            if started.elapsed() > Duration::from_secs(30) {
                break;
            }
        }
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        started.elapsed()
    });
    // Meanwhile, others are served at once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    assert_eq!(app.get("/healthz", None).await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    let held = slow.await.unwrap_or_default();
    assert!(held < Duration::from_secs(25), "the slow client was cut off after {held:?}");
}

#[tokio::test]
async fn creates_are_rate_limited_per_identity() {
    let app = TestApp::spawn().await;
    let a = token(&app.user("limit-a@example.com").await);
    let b = token(&app.user("limit-b@example.com").await);
    let mut limited = None;
    for i in 0..25 {
        let reply =
            app.post("/api/documents", Some(&a), json!({ "markdown": format!("# {i}") })).await;
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
    }
    let limited = limited.unwrap_or_else(|| panic!("25 creates at once were all accepted"));
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.headers.get("retry-after").is_some());
    assert_eq!(
        app.post("/api/documents", Some(&b), json!({ "markdown": "# b" })).await.status,
        201,
        "others are not limited"
    );
    app.clock.advance(Duration::from_secs(5));
    assert_eq!(
        app.post("/api/documents", Some(&a), json!({ "markdown": "# again" })).await.status,
        201,
        "the bucket refills"
    );
}

#[tokio::test]
async fn readiness_follows_the_object_store_and_metrics_count_requests() {
    let app = TestApp::spawn().await;
    let ready = app.readiness_until(200).await;
    assert_eq!(ready.json["ready"].as_bool(), Some(true), "{}", ready.json);
    for port in ["objects", "index", "events", "event_queue", "idempotency", "secrets", "renderer"]
    {
        assert_eq!(
            ready.json["checks"][port]["ok"].as_bool(),
            Some(true),
            "{port}: {}",
            ready.json
        );
    }

    // A file where `ugc/` must be: the object store cannot be read.
    let ugc = app.data_dir.join("objects/ugc");
    std::fs::write(&ugc, b"blocked").unwrap_or_else(|e| panic!("{e}"));
    let unready = app.readiness_until(503).await;
    assert_eq!(unready.json["checks"]["objects"]["ok"].as_bool(), Some(false), "{}", unready.json);
    std::fs::remove_file(&ugc).unwrap_or_else(|e| panic!("{e}"));
    app.readiness_until(200).await;
    let probed: Vec<_> = walk(&app.data_dir.join("objects"));
    assert!(probed.is_empty(), "readiness wrote nothing to the object store: {probed:?}");

    app.get("/healthz", None).await;
    let metrics = String::from_utf8(app.get("/metrics", None).await.bytes).unwrap_or_default();
    assert!(
        metrics.contains(
            "folio_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("folio_http_request_duration_seconds_count{route=\"/readyz\"}"));
    assert!(metrics.contains("folio_outbox_pending 0"));

    // The database gone: not ready.
    app.embedded.database.close().await;
    let unready = app.readiness_until(503).await;
    for port in ["index", "events", "idempotency", "secrets"] {
        assert_eq!(
            unready.json["checks"][port]["ok"].as_bool(),
            Some(false),
            "{port}: {}",
            unready.json
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}
