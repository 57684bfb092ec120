//! The web app's files: the page at `/`, its modules under `/app/`, revalidation, and no
//! catch-all that could answer for a mistyped API path.

use crate::TestApp;

fn header(reply: &crate::Reply, name: &str) -> String {
    reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_page_and_every_module_it_imports_are_served() {
    let app = TestApp::spawn().await;
    let page = app.get("/", None).await;
    assert_eq!(page.status, 200);
    assert!(header(&page, "content-type").starts_with("text/html"));
    let html = String::from_utf8_lossy(&page.bytes).into_owned();
    assert!(html.contains(r#"<script type="module" src="/app/js/main.js">"#));
    // Strict CSP: no inline script or style anywhere in the page.
    assert!(!html.contains("style="), "inline style attribute");
    assert!(!html.contains("<style"), "inline style element");
    assert_eq!(html.matches("<script").count(), 1, "only the module script");
    assert!(header(&page, "content-security-policy").contains("default-src 'self'"));

    // Follow every import from main.js, static and dynamic, the vendored editor's chunks
    // included: each resolves to a served module.
    let specifier = regex::Regex::new(
        r#"(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s*)["'](\.{1,2}/[^"'\s]+\.js)["']"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut pending = vec!["js/main.js".to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = pending.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let reply = app.get(&format!("/app/{path}"), None).await;
        assert_eq!(reply.status, 200, "/app/{path}");
        assert!(header(&reply, "content-type").starts_with("text/javascript"), "/app/{path}");
        let source = String::from_utf8_lossy(&reply.bytes).into_owned();
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for found in specifier.captures_iter(&source) {
            pending.push(resolve(dir, &found[1]));
        }
    }
    assert!(seen.contains("vendor/codemirror/codemirror.js"), "modules found: {seen:?}");
    let chunks = seen.iter().filter(|p| p.starts_with("vendor/codemirror/chunk-")).count();
    assert!(chunks >= 10, "the editor's language chunks: {seen:?}");
    for asset in ["/app/style.css", "/app/icon.svg"] {
        assert_eq!(app.get(asset, None).await.status, 200, "{asset}");
    }
}

/// `./views/x.js` or `../api.js` relative to `dir`.
fn resolve(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for piece in target.split('/') {
        match piece {
            "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn each_page_load_gets_its_own_style_nonce_and_no_other_inline_style() {
    let app = TestApp::spawn().await;
    let mut nonces = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let page = app.get("/", None).await;
        let policy = header(&page, "content-security-policy");
        let html = String::from_utf8_lossy(&page.bytes).into_owned();
        let (_, rest) =
            policy.split_once("style-src 'self' 'nonce-").unwrap_or_else(|| panic!("{policy}"));
        let nonce = rest.trim_end_matches('\'').to_owned();
        assert!(nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit()), "{nonce}");
        assert!(
            html.contains(&format!(r#"<meta name="folio-style-nonce" content="{nonce}">"#)),
            "the page hands the editor the policy's nonce"
        );
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(header(&page, "cache-control"), "no-store", "a nonce is never reused");
        assert!(page.headers.get("etag").is_none());
        nonces.insert(nonce);
    }
    assert_eq!(nonces.len(), 3, "every load has a fresh nonce");
    // Everything else keeps the plain policy: no nonce, so no inline style anywhere else.
    let style = app.get("/app/style.css", None).await;
    let policy = header(&style, "content-security-policy");
    assert!(policy.starts_with("default-src 'self'") && !policy.contains("nonce"), "{policy}");
}

#[tokio::test]
async fn unchanged_files_revalidate_with_304() {
    let app = TestApp::spawn().await;
    let first = app.get("/app/style.css", None).await;
    let etag = header(&first, "etag");
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    assert_eq!(header(&first, "cache-control"), "no-cache");
    let again = app
        .send(app.http.get(format!("{}/app/style.css", app.url)).header("if-none-match", &etag))
        .await;
    assert_eq!(again.status, 304);
    assert!(again.bytes.is_empty());
    let stale = app
        .send(app.http.get(format!("{}/app/style.css", app.url)).header("if-none-match", "\"x\""))
        .await;
    assert_eq!(stale.status, 200);
}

#[tokio::test]
async fn unknown_paths_are_json_404s_not_the_page() {
    let app = TestApp::spawn().await;
    for path in ["/app/nope.js", "/app/index.html", "/app/../Cargo.toml", "/library", "/api/nope"] {
        let reply = app.get(path, None).await;
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.code(), "not_found", "{path}");
    }
}
