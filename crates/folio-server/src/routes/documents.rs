//! `/api/documents`: create-pdf, query, get, source, delete.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use folio_core::DocumentId;
use folio_core::functions::{
    CreateRequest, Created, DocumentPage, DocumentSummary, IdempotencyKey, QueryParams, create_pdf,
    create_pdf_once, delete_document, get_document, get_source, query_documents,
};

use crate::extract::{ApiJson, Caller};
use crate::{ApiError, AppState};

fn document_id(text: &str) -> Result<DocumentId, ApiError> {
    // A malformed id names no document of anyone's: not found, like any other.
    text.parse().map_err(|_| ApiError::not_found())
}

/// The `Idempotency-Key` header, if any.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let text =
        value.to_str().map_err(|_| ApiError::invalid("Idempotency-Key must be visible ASCII"))?;
    Ok(Some(IdempotencyKey::parse(text)?))
}

#[utoipa::path(post, path = "/api/documents", tag = "documents", request_body = CreateRequest, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key make one document")),
    responses((status = 201, description = "Created", body = Created), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "Idempotency key reused with another body", body = crate::routes::openapi::ErrorBody),
        (status = 413, description = "Body or source too large", body = crate::routes::openapi::ErrorBody),
        (status = 422, description = "The document cannot be rendered", body = crate::routes::openapi::ErrorBody),
        (status = 429, description = "Rate limited", body = crate::routes::openapi::ErrorBody),
        (status = 503, description = "Overloaded or timed out", body = crate::routes::openapi::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: ApiJson<CreateRequest>,
) -> Result<Response, ApiError> {
    state.rate_limit(crate::RateLimited::Create, &caller.identity.to_string()).await?;
    let pipeline = &state.services.pipeline;
    let created = match idempotency_key(&headers)? {
        None => create_pdf(pipeline, &caller.identity, body.value).await?,
        Some(key) => {
            let keys = state.services.idempotency.as_ref();
            let ttl = state.settings.idempotency_ttl_ms;
            create_pdf_once(pipeline, keys, &caller.identity, &key, &body.raw, body.value, ttl)
                .await?
        }
    };
    let location = format!("/api/documents/{}", created.document.id);
    let mut response = (StatusCode::CREATED, Json(created)).into_response();
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/documents", tag = "documents", params(QueryParams), security(("bearer" = [])),
    responses((status = 200, description = "Newest first", body = DocumentPage), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<QueryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) =
        query.map_err(|e| ApiError::invalid(format!("bad query parameters: {e}")))?;
    Ok(Json(query_documents(&state.services.pipeline, &caller.identity, &params).await?)
        .into_response())
}

#[utoipa::path(get, path = "/api/documents/{id}", tag = "documents", params(("id" = String, Path, description = "Document id")), security(("bearer" = [])),
    responses((status = 200, description = "The document with a fresh download URL", body = DocumentSummary), (status = 404, description = "No such document", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = document_id(&id)?;
    Ok(Json(get_document(&state.services.pipeline, &caller.identity, &id).await?).into_response())
}

#[utoipa::path(get, path = "/api/documents/{id}/source", tag = "documents", params(("id" = String, Path, description = "Document id")), security(("bearer" = [])),
    responses((status = 200, description = "The markdown", content_type = "text/markdown"), (status = 404, description = "No such document", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody)))]
pub async fn source(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = document_id(&id)?;
    let markdown = get_source(&state.services.pipeline, &caller.identity, &id).await?;
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], markdown).into_response())
}

#[utoipa::path(delete, path = "/api/documents/{id}", tag = "documents", params(("id" = String, Path, description = "Document id")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such document", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = document_id(&id)?;
    delete_document(&state.services.pipeline, &caller.identity, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
