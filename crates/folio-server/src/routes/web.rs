//! The web app: `web/` compiled into the binary. `/` is the app's page; its scripts, styles
//! and icons live under `/app/`. The app routes in the URL fragment (`/#/library`), so the
//! server never needs a catch-all that could shadow an API path.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ApiError;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/"]
struct WebApp;

/// `GET /`: the single page.
pub async fn index(headers: HeaderMap) -> Response {
    asset("index.html", &headers)
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
        _ => "application/octet-stream",
    }
}
