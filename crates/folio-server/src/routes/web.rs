//! The web app: `web/` compiled into the binary. `/` is the app's page; its scripts, styles
//! and icons live under `/app/`. The app routes in the URL fragment (`/#/library`), so the
//! server never needs a catch-all that could shadow an API path.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::CONTENT_SECURITY_POLICY;
use crate::ApiError;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/"]
struct WebApp;

/// Where `index.html` takes the response's style nonce.
const NONCE_SLOT: &str = "{{style-nonce}}";

/// `GET /`: the single page, with a fresh nonce for the editor's style sheet.
///
/// CodeMirror writes its styles into a `<style>` element (it uses constructed style sheets only
/// inside shadow roots). The page's policy allows the style elements that carry this response's
/// nonce and no other inline style; the page hands the nonce to the editor in a `<meta>`. Each
/// load gets its own nonce, so the page is never stored (it is 2 KB).
pub async fn index() -> Response {
    let Some(file) = WebApp::get("index.html") else {
        return ApiError::not_found().into_response();
    };
    // 122 random bits from the operating system's generator, as 32 hex digits.
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let page = String::from_utf8_lossy(&file.data).replace(NONCE_SLOT, &nonce);
    let policy = format!("{CONTENT_SECURITY_POLICY}; style-src 'self' 'nonce-{nonce}'");
    let mut response = (StatusCode::OK, page).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// `GET /app/<path>`: the app's scripts, styles and icons.
pub async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // The page itself is only served at `/`; everything else under its own name.
    if path == "index.html" {
        return ApiError::not_found().into_response();
    }
    asset(&path, &headers)
}

fn asset(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = WebApp::get(path) else {
        return ApiError::not_found().into_response();
    };
    // Files are small: the browser revalidates every time and gets 304 while the binary is
    // the same, so an upgrade is never hidden behind a stale cache.
    let etag: String =
        file.metadata.sha256_hash()[..12].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{etag}\"");
    let unchanged = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, file.data.into_owned()).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
