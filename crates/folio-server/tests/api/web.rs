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

    // Follow every relative import from main.js: each resolves to a served module.
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
        for line in source.lines().filter(|l| l.starts_with("import ")) {
            let target = line.rsplit_once(" from '").and_then(|(_, rest)| rest.split_once('\''));
            let Some((target, _)) = target else { continue };
            pending.push(resolve(dir, target));
        }
    }
    assert!(seen.len() >= 6, "modules found: {seen:?}");
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
