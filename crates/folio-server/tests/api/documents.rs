//! Documents over HTTP: the flow, isolation, bad input, idempotency.

use serde_json::json;

use crate::{TestApp, token};

fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    pdf_extract::extract_text_from_mem(bytes).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_whole_flow() {
    let app = TestApp::spawn().await;
    let session = app.user("ada@example.com").await;
    let t = token(&session);
    let created = app
        .post(
            "/api/documents",
            Some(&t),
            json!({ "markdown": "# Notes\n\nThe analytical engine weaves algebraic patterns." }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(created.json["title"], "Notes");
    assert_eq!(created.json["pages"], 1);
    assert!(created.headers.get("location").is_some());

    let library = app.library(&t, 1).await;
    assert_eq!(library["items"][0]["id"], id.as_str());
    let url = library["items"][0]["download_url"].as_str().unwrap_or_default().to_owned();
    let download = app.get(&url, None).await;
    assert_eq!(download.status, 200);
    assert_eq!(
        download.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/pdf")
    );
    let disposition = download
        .headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(disposition.starts_with("attachment; filename=\"Notes.pdf\""), "{disposition}");
    assert!(pdf_text(&download.bytes).contains("analytical engine weaves"));

    let one = app.get(&format!("/api/documents/{id}"), Some(&t)).await;
    assert_eq!((one.status, one.json["title"].as_str()), (200, Some("Notes")));
    let source = app.get(&format!("/api/documents/{id}/source"), Some(&t)).await;
    assert_eq!(
        String::from_utf8_lossy(&source.bytes),
        "# Notes\n\nThe analytical engine weaves algebraic patterns."
    );

    assert_eq!(app.delete(&format!("/api/documents/{id}"), &t).await.status, 204);
    app.library(&t, 0).await;
    assert_eq!(app.get(&format!("/api/documents/{id}"), Some(&t)).await.code(), "not_found");
    assert_eq!(
        app.get(&url, None).await.status,
        404,
        "the signed URL of a deleted document finds nothing"
    );
}

/// Read-your-writes for one document: get and source answer from the store, so they never lag
/// behind create or delete, however busy the indexer is.
#[tokio::test]
async fn a_document_is_there_when_create_answers_and_gone_when_delete_answers() {
    let app = TestApp::spawn().await;
    let t = token(&app.user("ryw@example.com").await);
    // 15: within the create budget's burst of 20.
    for i in 0..15 {
        let markdown = format!("# Note {i}\n\nWritten and read at once.");
        let created = app.post("/api/documents", Some(&t), json!({ "markdown": markdown })).await;
        assert_eq!(created.status, 201, "{}", created.json);
        let id = created.json["id"].as_str().unwrap_or_default().to_owned();
        let got = app.get(&format!("/api/documents/{id}"), Some(&t)).await;
        assert_eq!((got.status, &got.json["title"]), (200, &json!(format!("Note {i}"))), "{i}");
        let source = app.get(&format!("/api/documents/{id}/source"), Some(&t)).await;
        assert_eq!((source.status, String::from_utf8_lossy(&source.bytes)), (200, markdown.into()));
        assert_eq!(app.delete(&format!("/api/documents/{id}"), &t).await.status, 204);
        let gone = app.get(&format!("/api/documents/{id}"), Some(&t)).await;
        assert_eq!((gone.status, gone.code()), (404, "not_found"), "{i}");
        let source = app.get(&format!("/api/documents/{id}/source"), Some(&t)).await;
        assert_eq!(source.status, 404, "{i}");
        assert_eq!(app.delete(&format!("/api/documents/{id}"), &t).await.status, 404, "{i}");
    }
}

#[tokio::test]
async fn no_identity_reaches_another_identitys_documents() {
    let app = TestApp::spawn().await;
    let a = token(&app.user("a@example.com").await);
    let b = token(&app.user("b@example.com").await);
    let created = app.post("/api/documents", Some(&a), json!({ "markdown": "# A's secret" })).await;
    let id = created.json["id"].as_str().unwrap_or_default().to_owned();
    let a_url = created.json["download_url"].as_str().unwrap_or_default().to_owned();
    app.library(&a, 1).await;

    assert!(
        app.get("/api/documents", Some(&b)).await.json["items"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    for path in [format!("/api/documents/{id}"), format!("/api/documents/{id}/source")] {
        let reply = app.get(&path, Some(&b)).await;
        assert_eq!((reply.status, reply.code()), (404, "not_found"), "{path}");
    }
    assert_eq!(app.delete(&format!("/api/documents/{id}"), &b).await.code(), "not_found");
    app.library(&a, 1).await;

    // B's own valid download URL, pointed at A's key: the signature no longer matches.
    let mine = app.post("/api/documents", Some(&b), json!({ "markdown": "# B's" })).await;
    let b_url = mine.json["download_url"].as_str().unwrap_or_default();
    let b_key = b_url.split('?').next().unwrap_or_default();
    let a_key = a_url.split('?').next().unwrap_or_default();
    let forged = b_url.replace(b_key, a_key);
    assert_eq!(app.get(&forged, None).await.status, 403);
    // An owner in the body is not a thing a client can say.
    let reply = app
        .post("/api/documents", Some(&b), json!({ "markdown": "# x", "owner": "someone" }))
        .await;
    assert_eq!(reply.code(), "invalid_request");
    // Unauthenticated: nothing.
    assert_eq!(app.get("/api/documents", None).await.code(), "unauthorized");
    assert_eq!(app.get(&format!("/api/documents/{id}"), None).await.code(), "unauthorized");
}

#[tokio::test]
async fn bad_input_gets_the_documented_codes() {
    let app = TestApp::spawn().await;
    let t = token(&app.user("bad@example.com").await);
    let url = format!("{}/api/documents", app.url);
    let raw = |body: Vec<u8>, content_type: &'static str| {
        app.http.post(&url).bearer_auth(&t).header("content-type", content_type).body(body)
    };

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (raw(b"{\"markdown\": ".to_vec(), "application/json"), 400, "invalid_request"),
        (raw(b"{\"markdown\": \"\xff\xfe\"}".to_vec(), "application/json"), 400, "invalid_request"),
        (raw(b"{\"markdown\": \"# x\"}".to_vec(), "text/plain"), 415, "invalid_request"),
        (raw(vec![b' '; 3 * 1024 * 1024], "application/json"), 413, "payload_too_large"),
        (
            raw(
                serde_json::to_vec(&json!({ "markdown": "a".repeat(600 * 1024) }))
                    .unwrap_or_default(),
                "application/json",
            ),
            413,
            "source_too_large",
        ),
        (
            raw(
                serde_json::to_vec(&json!({ "markdown": "   " })).unwrap_or_default(),
                "application/json",
            ),
            400,
            "invalid_request",
        ),
        (
            raw(
                serde_json::to_vec(&json!({ "markdown": "x", "title": "" })).unwrap_or_default(),
                "application/json",
            ),
            400,
            "invalid_request",
        ),
        (
            raw(
                serde_json::to_vec(&json!({ "markdown": "x", "title": "t".repeat(10_000) }))
                    .unwrap_or_default(),
                "application/json",
            ),
            400,
            "invalid_request",
        ),
        (
            raw(
                serde_json::to_vec(&json!({ "markdown": format!("{}x", ">".repeat(100_000)) }))
                    .unwrap_or_default(),
                "application/json",
            ),
            422,
            "nesting_too_deep",
        ),
        (
            raw(
                serde_json::to_vec(&json!({ "markdown": "x", "options": { "paper": "a0" } }))
                    .unwrap_or_default(),
                "application/json",
            ),
            400,
            "invalid_request",
        ),
    ];
    // Every option name is checked, with a message that says what is accepted.
    let cases = cases.into_iter().chain(
        [
            json!({ "theme": "gothic" }),
            json!({ "margin": "1km" }),
            json!({ "font_size": 100 }),
            json!({ "standards": ["pdf-x"] }),
            json!({ "standards": ["a-2b"], "attach_source": true }),
        ]
        .into_iter()
        .map(|options| {
            let body = json!({ "markdown": "x", "options": options });
            (
                raw(serde_json::to_vec(&body).unwrap_or_default(), "application/json"),
                400,
                "invalid_request",
            )
        }),
    );
    for (request, status, code) in cases {
        let reply = app.send(request).await;
        assert_eq!((reply.status, reply.code()), (status, code), "{}", reply.json);
        assert!(reply.json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(reply.json["error"]["retryable"], false);
    }
    for query in ["?limit=0", "?limit=1000", "?cursor=%%%", "?limit=abc"] {
        let reply = app.get(&format!("/api/documents{query}"), Some(&t)).await;
        assert_eq!((reply.status, reply.code()), (400, "invalid_request"), "{query}");
    }
    assert_eq!(app.get("/api/documents/not-an-id", Some(&t)).await.code(), "not_found");
    assert_eq!(app.get("/no/such/route", None).await.code(), "not_found");
    app.library(&t, 0).await;
}

#[tokio::test]
async fn idempotency_keys_make_one_document() {
    let app = TestApp::spawn().await;
    let t = token(&app.user("idem@example.com").await);
    let send = |body: serde_json::Value, key: &'static str| {
        app.send(
            app.http
                .post(format!("{}/api/documents", app.url))
                .bearer_auth(&t)
                .header("idempotency-key", key)
                .json(&body),
        )
    };
    let first = send(json!({ "markdown": "# Once" }), "key-1").await;
    let second = send(json!({ "markdown": "# Once" }), "key-1").await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.json["id"], second.json["id"]);
    let conflict = send(json!({ "markdown": "# Different" }), "key-1").await;
    assert_eq!((conflict.status, conflict.code()), (409, "idempotency_conflict"));
    let other = send(json!({ "markdown": "# Once" }), "key-2").await;
    assert_ne!(other.json["id"], first.json["id"]);
    app.library(&t, 2).await;
    let bad = app
        .send(
            app.http
                .post(format!("{}/api/documents", app.url))
                .bearer_auth(&t)
                .header("idempotency-key", "")
                .json(&json!({ "markdown": "x" })),
        )
        .await;
    assert_eq!(bad.code(), "invalid_request");
}

#[tokio::test]
async fn previews_render_html_and_pages() {
    let app = TestApp::spawn().await;
    let t = token(&app.user("preview@example.com").await);
    let html = app
        .post("/api/preview", Some(&t), json!({ "markdown": "# Hi\n\n<script>x()</script>" }))
        .await;
    assert_eq!(html.status, 200);
    assert!(
        html.json["html"].as_str().is_some_and(|h| h.contains("<h1") && !h.contains("<script"))
    );
    assert_eq!(html.json["warnings"][0]["kind"], "html_dropped");
    assert_eq!(html.json["warnings"][0]["line"], 3);
    let pages =
        app.post("/api/preview/pages", Some(&t), json!({ "markdown": "# Hi\n\ntext" })).await;
    assert_eq!(pages.status, 200);
    assert!(pages.json["pages"][0].as_str().is_some_and(|s| s.starts_with("<svg")));
    assert_eq!(
        app.post("/api/preview", None, json!({ "markdown": "x" })).await.code(),
        "unauthorized"
    );
}

/// F3: the audit's inputs at the 512 KiB limit — half a megabyte of `&` inside raw HTML (10 s
/// of quadratic scanning before), and 130,000 unknown tags (4 s and a 14 MB answer of
/// warnings) — answer well within a generous time-out, with at most 201 warnings.
#[tokio::test]
async fn previews_of_hostile_text_at_the_size_limit_answer_quickly() {
    let app = TestApp::spawn().await;
    let t = token(&app.user("quadratic@example.com").await);
    let ampersands = format!("<div>\n{}\n</div>\n", "&".repeat(520_000));
    let tags = format!("a\n{}", "<x>\n".repeat(130_000));
    for markdown in [ampersands, tags] {
        assert!(markdown.len() <= 512 * 1024, "{}", markdown.len());
        let request = app.post("/api/preview", Some(&t), json!({ "markdown": markdown }));
        let reply = tokio::time::timeout(std::time::Duration::from_secs(20), request)
            .await
            .unwrap_or_else(|_| panic!("the preview took more than 20 s"));
        assert_eq!(reply.status, 200, "{}", reply.json["error"]);
        let warnings = reply.json["warnings"].as_array().map_or(0, Vec::len);
        assert!(warnings <= 201, "{warnings} warnings");
    }
}
