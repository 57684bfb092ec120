//! `GET /files/<key>?exp=…&name=…&sig=…`: signed downloads, where the shape serves its own
//! (mounted only when the state has a download verifier). The signature is the credential.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use folio_core::ErrorCode;
use folio_core::downloads::content_disposition;
use folio_core::functions::download_pdf;
use folio_core::ports::DownloadRequest;

use crate::{ApiError, AppState};

pub async fn download(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let part = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    let request = DownloadRequest {
        method: "GET",
        key: &key,
        exp: part("exp"),
        file_name: part("name"),
        sig: part("sig"),
    };
    let now = state.services.pipeline.clock.now_ms() / 1000;
    let verifier = state.services.downloads.as_ref().ok_or_else(ApiError::not_found)?;
    verifier.verify(&request, now).map_err(|e| {
        ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Unauthorized, e.to_string())
    })?;
    let pdf = download_pdf(&state.services.pipeline, &key).await?;
    let mut response = (StatusCode::OK, Body::from(pdf)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(value) = HeaderValue::from_str(&content_disposition(request.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
