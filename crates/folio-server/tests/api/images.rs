//! The image library over HTTP: upload, list, fetch, reference, render; refusals that store
//! nothing; documents that keep the images they were made with.

use base64::Engine;
use serde_json::{Value, json};

use crate::{Reply, TestApp, token};

/// A real PNG of `width` × `height` in one colour.
fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("encoding a PNG: {e}"));
    out.into_inner()
}

/// A PNG whose header claims `width` × `height` and whose pixels are not there: what a
/// decompression bomb looks like before anything decodes it.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    out.extend(width.to_be_bytes());
    out.extend(height.to_be_bytes());
    out.extend([8, 2, 0, 0, 0]);
    out.extend([0; 4]);
    out.extend(b"\0\0\0\0IEND\xaeB`\x82");
    out
}

async fn upload(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>, kind: &str) -> Reply {
    let url = format!("{}/api/images/{name}", app.url);
    app.send(app.http.put(url).bearer_auth(token).header("content-type", kind).body(bytes)).await
}

/// Every image object of a PDF: (width, height).
fn pdf_images(pdf: &[u8]) -> Vec<(i64, i64)> {
    let doc = lopdf::Document::load_mem(pdf).unwrap_or_else(|e| panic!("not a PDF: {e}"));
    let mut found = Vec::new();
    for object in doc.objects.values() {
        if let Ok(stream) = object.as_stream() {
            let dict = &stream.dict;
            let is_image =
                dict.get(b"Subtype").and_then(|s| s.as_name()).ok() == Some(&b"Image"[..]);
            if is_image {
                let number = |key: &[u8]| dict.get(key).and_then(|v| v.as_i64()).unwrap_or(0);
                found.push((number(b"Width"), number(b"Height")));
            }
        }
    }
    found
}

fn warnings_of(reply: &Reply, kind: &str) -> usize {
    reply.json["warnings"]
        .as_array()
        .map(|w| w.iter().filter(|w| w["kind"] == kind).count())
        .unwrap_or(0)
}

#[tokio::test]
async fn an_uploaded_image_is_listed_fetched_referenced_and_rendered_into_the_pdf() {
    let app = TestApp::spawn().await;
    let ada = token(&app.user("ada@example.com").await);
    let plot = png(40, 30, [200, 30, 30]);

    let stored = upload(&app, &ada, "my%20plot.png", plot.clone(), "image/png").await;
    assert_eq!(stored.status, 200, "{}", stored.json);
    assert_eq!(
        (&stored.json["name"], &stored.json["type"], &stored.json["width"], &stored.json["height"]),
        (&json!("my plot.png"), &json!("image/png"), &json!(40), &json!(30))
    );
    let listed = app.get("/api/images", Some(&ada)).await;
    let names: Vec<&Value> = listed.json["items"]
        .as_array()
        .map(|i| i.iter().map(|i| &i["name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, [&json!("my plot.png")]);

    let fetched = app.get("/api/images/my%20plot.png", Some(&ada)).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.bytes, plot);
    let header = |name: &str| {
        fetched.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert_eq!(header("content-type"), "image/png");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("content-security-policy").starts_with("sandbox"),
        "{}",
        header("content-security-policy")
    );
    assert_eq!(app.get("/api/images/my%20plot.png", None).await.status, 401);

    // Referenced as the app inserts it (percent-encoded) and in angle brackets: both resolve.
    let markdown = "# Figures\n\n![Plot](my%20plot.png)\n\n![Again](<my plot.png>)\n";
    let created = app.post("/api/documents", Some(&ada), json!({ "markdown": markdown })).await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(warnings_of(&created, "image_missing"), 0, "{}", created.json);
    let url = created.json["download_url"].as_str().unwrap_or_default().to_owned();
    let pdf = app.get(&url, None).await;
    assert_eq!(pdf.status, 200);
    assert!(pdf_images(&pdf.bytes).contains(&(40, 30)), "{:?}", pdf_images(&pdf.bytes));

    // The text preview marks the image for the page to fetch: no URL, no token in it.
    let preview = app.post("/api/preview", Some(&ada), json!({ "markdown": markdown })).await;
    assert_eq!(preview.status, 200, "{}", preview.json);
    let html = preview.json["html"].as_str().unwrap_or_default();
    assert!(
        html.contains("<img class=\"doc-image\" data-image=\"my%20plot.png\" alt=\"Plot\">"),
        "{html}"
    );
    assert!(!html.contains("src="), "{html}");
    // It names the bytes, which the page fetches with its token (content-addressed).
    let sha = preview.json["images"]["my%20plot.png"].as_str().unwrap_or_default().to_owned();
    assert_eq!(sha, stored.json["sha256"].as_str().unwrap_or_default(), "{}", preview.json);
    let bytes = app.get(&format!("/api/image-bytes/{sha}"), Some(&ada)).await;
    assert_eq!((bytes.status, &bytes.bytes), (200, &plot));
    assert!(
        bytes
            .headers
            .get("content-security-policy")
            .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("sandbox"))
    );
    // The page preview has it inside the page.
    let pages = app.post("/api/preview/pages", Some(&ada), json!({ "markdown": markdown })).await;
    assert_eq!(pages.status, 200, "{}", pages.json);
    let encoded = base64::engine::general_purpose::STANDARD.encode(&plot);
    assert!(
        pages.json["pages"][0].as_str().unwrap_or_default().contains(&encoded),
        "the page shows the uploaded bytes"
    );
}

#[tokio::test]
async fn another_persons_image_names_resolve_to_nothing() {
    let app = TestApp::spawn().await;
    let ada = token(&app.user("ada@example.com").await);
    let bob = token(&app.user("bob@example.com").await);
    let stored = upload(&app, &ada, "secret.png", png(8, 8, [1, 2, 3]), "image/png").await;
    assert_eq!(stored.status, 200, "{}", stored.json);

    let markdown = "# Bob's\n\n![Ada's](secret.png)\n";
    let created = app.post("/api/documents", Some(&bob), json!({ "markdown": markdown })).await;
    assert_eq!(created.status, 201, "{}", created.json);
    assert_eq!(warnings_of(&created, "image_missing"), 1, "{}", created.json);
    let pdf = app.get(created.json["download_url"].as_str().unwrap_or_default(), None).await;
    assert!(pdf_images(&pdf.bytes).is_empty(), "no image of Ada's in Bob's PDF");
    for (method, expected) in [("GET", 404), ("DELETE", 404)] {
        let request = app.http.request(
            method.parse().unwrap_or_default(),
            format!("{}/api/images/secret.png", app.url),
        );
        let reply = app.send(request.bearer_auth(&bob)).await;
        assert_eq!((reply.status, reply.code()), (expected, "not_found"), "{method}");
    }
    assert_eq!(app.get("/api/images", Some(&bob)).await.json["items"], json!([]));
    assert_eq!(app.get("/api/images/secret.png", Some(&ada)).await.status, 200, "still Ada's");
    let sha = stored.json["sha256"].as_str().unwrap_or_default();
    let by_hash = app.get(&format!("/api/image-bytes/{sha}"), Some(&bob)).await;
    assert_eq!((by_hash.status, by_hash.code()), (404, "not_found"), "Ada's bytes are not Bob's");
    assert_eq!(app.get(&format!("/api/image-bytes/{sha}"), Some(&ada)).await.status, 200);
    assert_eq!(app.get("/api/image-bytes/not-a-hash", Some(&ada)).await.status, 404);
}

#[tokio::test]
async fn bad_uploads_are_refused_with_their_codes_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let ada = token(&app.user("ada@example.com").await);
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    let oversize = {
        let mut bytes = png(4, 4, [0, 0, 0]);
        bytes.resize(4 * 1024 * 1024 + 1, 0);
        bytes
    };
    for (what, name, bytes, kind, status, code) in [
        (
            "a decompression bomb",
            "bomb.png",
            png_header_only(100_000, 100_000),
            "image/png",
            413,
            "image_too_large",
        ),
        (
            "bytes that are not the claimed type",
            "fake.jpg",
            png(4, 4, [9, 9, 9]),
            "image/jpeg",
            415,
            "unsupported_image",
        ),
        ("text", "notes.png", b"just some text".to_vec(), "image/png", 415, "unsupported_image"),
        ("an SVG with a script", "x.svg", svg, "image/svg+xml", 415, "unsupported_image"),
        ("more than 4 MiB", "big.png", oversize, "image/png", 413, "image_too_large"),
        (
            "a name with a slash",
            "a%2Fb.png",
            png(4, 4, [0, 0, 0]),
            "image/png",
            400,
            "invalid_request",
        ),
        (
            "a name with a backslash",
            "a%5Cb.png",
            png(4, 4, [0, 0, 0]),
            "image/png",
            400,
            "invalid_request",
        ),
        (
            "a control character",
            "a%0Ab.png",
            png(4, 4, [0, 0, 0]),
            "image/png",
            400,
            "invalid_request",
        ),
    ] {
        let reply = upload(&app, &ada, name, bytes, kind).await;
        assert_eq!((reply.status, reply.code()), (status, code), "{what}: {}", reply.json);
        assert_eq!(reply.json["error"]["retryable"], json!(false), "{what}");
    }
    assert_eq!(app.get("/api/images", Some(&ada)).await.json["items"], json!([]), "nothing stored");
    let objects = app.data_dir.join("objects");
    let stored: Vec<_> = walk(&objects)
        .into_iter()
        .filter(|p| p.contains("/images/") || p.contains("/library/"))
        .collect();
    assert!(stored.is_empty(), "{stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Images that pass intake one by one but together hold more pixels than a worker can hold
/// fail before layout, with the typed error.
#[tokio::test]
async fn a_document_whose_images_are_too_many_pixels_fails_before_layout() {
    let app = TestApp::spawn().await;
    let ada = token(&app.user("ada@example.com").await);
    for n in 0..3 {
        let stored =
            upload(&app, &ada, &format!("huge{n}.png"), png_header_only(6000, 6000), "image/png")
                .await;
        assert_eq!(stored.status, 200, "36 million pixels pass alone: {}", stored.json);
    }
    let markdown = "# Big\n\n![a](huge0.png) ![b](huge1.png) ![c](huge2.png)\n";
    let created = app.post("/api/documents", Some(&ada), json!({ "markdown": markdown })).await;
    assert_eq!((created.status, created.code()), (422, "document_too_complex"), "{}", created.json);
    assert!(
        created.json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("100 million pixels")
    );
    let pages = app.post("/api/preview/pages", Some(&ada), json!({ "markdown": markdown })).await;
    assert_eq!((pages.status, pages.code()), (422, "document_too_complex"));
}

/// Replacing or deleting a library image changes no document made with it: the PDF downloads
/// byte-identical, and a preview of the reopened document (`images_from`) shows the bytes it
/// was made with, while a new reference gets the library's current bytes.
#[tokio::test]
async fn documents_keep_the_images_they_were_made_with() {
    let app = TestApp::spawn().await;
    let ada = token(&app.user("ada@example.com").await);
    let red = png(20, 20, [220, 0, 0]);
    let blue = png(30, 10, [0, 0, 220]);
    assert_eq!(upload(&app, &ada, "logo.png", red.clone(), "image/png").await.status, 200);
    let markdown = "# Letter\n\n![Logo](logo.png)\n";
    let created = app.post("/api/documents", Some(&ada), json!({ "markdown": markdown })).await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["id"].as_str().unwrap_or_default().to_owned();
    let download =
        |reply: &Reply| reply.json["download_url"].as_str().unwrap_or_default().to_owned();
    let first = app.get(&download(&created), None).await.bytes;
    assert!(pdf_images(&first).contains(&(20, 20)));

    let replaced = upload(&app, &ada, "logo.png", blue.clone(), "image/png").await;
    assert_eq!((replaced.status, &replaced.json["width"]), (200, &json!(30)));
    let again = app.get(&format!("/api/documents/{id}"), Some(&ada)).await;
    assert_eq!(
        app.get(&download(&again), None).await.bytes,
        first,
        "byte-identical after a replace"
    );

    let shows = |reply: &Reply, bytes: &[u8]| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        reply.json["pages"][0].as_str().unwrap_or_default().contains(&encoded)
    };
    let reopened = json!({ "markdown": markdown, "images_from": id });
    let as_made = app.post("/api/preview/pages", Some(&ada), reopened.clone()).await;
    assert_eq!(as_made.status, 200, "{}", as_made.json);
    assert!(
        shows(&as_made, &red) && !shows(&as_made, &blue),
        "the reopened document shows its own logo"
    );
    let fresh = app.post("/api/preview/pages", Some(&ada), json!({ "markdown": markdown })).await;
    assert!(shows(&fresh, &blue), "a new document gets the library's current logo");

    assert_eq!(app.delete("/api/images/logo.png", &ada).await.status, 204);
    assert_eq!(app.get("/api/images/logo.png", Some(&ada)).await.status, 404);
    assert_eq!(app.delete("/api/images/logo.png", &ada).await.status, 404);
    let after = app.get(&format!("/api/documents/{id}"), Some(&ada)).await;
    assert_eq!(
        app.get(&download(&after), None).await.bytes,
        first,
        "byte-identical after a delete"
    );
    let still = app.post("/api/preview/pages", Some(&ada), reopened.clone()).await;
    assert!(shows(&still, &red), "and it still previews as made");
    // The text preview names the bytes it was made with, which stay fetchable.
    let text = app.post("/api/preview", Some(&ada), reopened).await;
    let sha = text.json["images"]["logo.png"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.get(&format!("/api/image-bytes/{sha}"), Some(&ada)).await.bytes, red);

    // Another person's document id pins nothing for them: not found.
    let bob = token(&app.user("bob@example.com").await);
    let theirs = app
        .post("/api/preview/pages", Some(&bob), json!({ "markdown": markdown, "images_from": id }))
        .await;
    assert_eq!((theirs.status, theirs.code()), (404, "not_found"));
}

async fn usage(app: &TestApp, token: &str) -> Value {
    app.send(app.http.get(format!("{}/api/usage", app.url)).bearer_auth(token)).await.json
}

/// The storage quota: what a person stores (documents and images, each image's bytes once) is
/// counted as it is stored and freed as it is deleted; a create or an upload past the quota is
/// refused with `quota_exceeded` and stores nothing; `/api/usage` says where one stands.
#[tokio::test]
async fn the_storage_quota_counts_documents_and_images_and_refuses_past_it() {
    let quota: u64 = 200_000;
    let settings = folio_core::Settings { quota_bytes: Some(quota), ..Default::default() };
    let app = TestApp::spawn_configured(Vec::new(), settings).await;
    let ada = token(&app.user("ada@example.com").await);
    assert_eq!(usage(&app, &ada).await, json!({ "bytes": 0, "quota": quota }));

    let photo = png(64, 64, [10, 20, 30]);
    let stored = upload(&app, &ada, "photo.png", photo.clone(), "image/png").await;
    assert_eq!(stored.status, 200, "{}", stored.json);
    let after_upload = usage(&app, &ada).await["bytes"].as_u64().unwrap_or_default();
    assert!(after_upload > photo.len() as u64, "the bytes and the entry: {after_upload}");
    // The same bytes under a second name count once (only the new entry is added).
    assert_eq!(upload(&app, &ada, "again.png", photo.clone(), "image/png").await.status, 200);
    let twice = usage(&app, &ada).await["bytes"].as_u64().unwrap_or_default();
    assert!(twice - after_upload < 1000, "{after_upload} then {twice}");

    let created = app
        .post("/api/documents", Some(&ada), json!({ "markdown": "# Kept\n\n![p](photo.png)\n" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let with_document = usage(&app, &ada).await["bytes"].as_u64().unwrap_or_default();
    assert!(
        with_document > twice + created.json["bytes"].as_u64().unwrap_or_default(),
        "source, manifest and PDF count"
    );

    // Past the quota: refused with the usage in the message, nothing stored.
    let big = {
        let mut bytes = png(16, 16, [1, 1, 1]);
        bytes.resize(quota as usize, 0);
        bytes
    };
    let refused = upload(&app, &ada, "big.png", big, "image/png").await;
    assert_eq!((refused.status, refused.code()), (413, "quota_exceeded"), "{}", refused.json);
    assert!(
        refused.json["error"]["message"].as_str().unwrap_or_default().contains(&quota.to_string())
    );
    assert_eq!(app.get("/api/images/big.png", Some(&ada)).await.status, 404);
    assert_eq!(usage(&app, &ada).await["bytes"].as_u64(), Some(with_document), "nothing counted");
    let long = "word ".repeat(40_000);
    let too_much = app
        .post("/api/documents", Some(&ada), json!({ "markdown": format!("# Long\n\n{long}") }))
        .await;
    assert_eq!((too_much.status, too_much.code()), (413, "quota_exceeded"), "{}", too_much.json);
    assert_eq!(app.library(&ada, 1).await["items"].as_array().map(Vec::len), Some(1));

    // Deleting frees what was counted.
    let id = created.json["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(app.delete(&format!("/api/documents/{id}"), &ada).await.status, 204);
    assert_eq!(usage(&app, &ada).await["bytes"].as_u64(), Some(twice));

    // Another person's usage is their own.
    let bob = token(&app.user("bob@example.com").await);
    let theirs = app.send(app.http.get(format!("{}/api/usage", app.url)).bearer_auth(&bob)).await;
    assert_eq!(theirs.json["bytes"], json!(0));
}
