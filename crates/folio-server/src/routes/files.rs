//! `GET /files/<key>?exp=…&sig=…`: signed downloads. The signature is the credential; the key
//! must be a document's PDF.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use folio_core::{Manifest, ObjectKey, ObjectKind};
use object_store::ObjectStoreExt;

use crate::{ApiError, AppState};

pub async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let exp = query.get("exp").map(String::as_str).unwrap_or_default();
    let sig = query.get("sig").map(String::as_str).unwrap_or_default();
    let now = state.pipeline.clock.now_ms() / 1000;
    state
        .downloads
        .verify("GET", &key, exp, sig, now)
        .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, "unauthorized", e.to_string()))?;
    let key: ObjectKey = key.parse().map_err(|_| ApiError::not_found())?;
    if key.kind != ObjectKind::Pdf {
        return Err(ApiError::not_found());
    }
    let objects = &state.pipeline.objects;
    let pdf = objects
        .get(&key.path())
        .await
        .map_err(folio_core::Error::from)?
        .bytes()
        .await
        .map_err(folio_core::Error::from)?;
    let title = match objects.get(&key.with_kind(ObjectKind::Manifest).path()).await {
        Ok(result) => result
            .bytes()
            .await
            .ok()
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .map(|m| m.title),
        Err(_) => None,
    };
    let mut response = (StatusCode::OK, Body::from(pdf)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) =
        HeaderValue::from_str(&content_disposition(title.as_deref().unwrap_or("document")))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `attachment` with an RFC 6266 file name: an ASCII fallback (unsafe characters replaced)
/// and the exact UTF-8 name percent-encoded (RFC 5987).
pub fn content_disposition(title: &str) -> String {
    let base: String = title.chars().take(120).collect();
    let ascii: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || " -_.,()".contains(c) { c } else { '_' })
        .collect();
    let ascii = ascii.trim().trim_matches('.');
    let ascii = if ascii.is_empty() { "document" } else { ascii };
    let encoded: String = format!("{base}.pdf")
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}.pdf\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            content_disposition("Report 2026"),
            "attachment; filename=\"Report 2026.pdf\"; filename*=UTF-8''Report%202026.pdf"
        );
        let nasty = content_disposition("a\"; filename=evil.exe\r\nX: y/../ü");
        assert!(
            nasty.starts_with("attachment; filename=\"a__ filename_evil.exe__X_ y_.._"),
            "{nasty}"
        );
        assert!(!nasty.contains('\r') && !nasty.contains('\n'));
        assert!(nasty.contains("%C3%BC.pdf"));
        assert!(content_disposition("...").contains("filename=\"document.pdf\""));
    }
}
