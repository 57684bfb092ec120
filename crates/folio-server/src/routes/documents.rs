//! `/api/documents`: create-pdf, query, get, source, delete.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use folio_core::functions::{
    CreateRequest, Created, DocumentPage, DocumentSummary, IdempotencyKey, QueryParams, create_pdf,
    create_pdf_once, delete_document, get_document, get_source, query_documents,
};
use folio_core::{DocumentId, ErrorCode};

use crate::extract::{ApiJson, Caller};
use crate::routes::refusals::{
    BEARER, Declared, JSON_BODY, RATE_LIMITED, RENDERING, Refusal, STORAGE,
};
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

/// create-pdf's refusals.
pub(super) const CREATE: Declared = Declared::new(
    "create_document",
    &[
        JSON_BODY,
        BEARER,
        RATE_LIMITED,
        RENDERING,
        STORAGE,
        &[Refusal::of(ErrorCode::IdempotencyConflict), Refusal::of(ErrorCode::QuotaExceeded)],
    ],
);

#[utoipa::path(post, path = "/api/documents", tag = "documents", operation_id = "create_document",
    request_body(content = CreateRequest, example = json!({
        "title": "Quarterly report",
        "markdown": "# Quarterly report\n\nRevenue grew **12%**.\n\n| Region | Growth |\n|---|---|\n| North | 9% |\n",
        "options": { "paper": "a4", "theme": "report", "toc": false }
    })),
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = r"^[\x21-\x7e]{1,255}$",
        description = "Retries with the same key make one document (visible ASCII, 1–255 characters)")),
    responses((status = 201, description = "Created; `Location` names the document", body = Created,
        headers(("Location" = String, description = "`/api/documents/{id}`")),
        example = json!({
            "id": "01a21100-bafe-77c1-8d20-7f74fb41f1d5",
            "title": "Quarterly report",
            "pages": 1,
            "bytes": 18342,
            "created": "2026-12-01T09:30:00Z",
            "download_url": "/files/ugc/3f0c…/01a21100-bafe-77c1-8d20-7f74fb41f1d5.pdf?exp=1764582300&name=Quarterly%20report.pdf&sig=…",
            "warnings": []
        }))))]
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

/// query's refusals (a bad limit or cursor: 400).
pub(super) const LIST: Declared = Declared::new(
    "list_documents",
    &[
        BEARER,
        STORAGE,
        &[Refusal::when(ErrorCode::InvalidRequest, "`limit`, `cursor` or `q` is not valid.")],
    ],
);

/// The library is the index's view: a document created a moment ago may be missing for a few
/// milliseconds (measured: 6 ms median, 17 ms at most), and one deleted may still be listed.
#[utoipa::path(get, path = "/api/documents", tag = "documents", operation_id = "list_documents", params(QueryParams), security(("bearer" = [])),
    responses((status = 200, description = "Newest first. The index's view: it may lag a create or delete by a few milliseconds (get, source and delete read the store itself)", body = DocumentPage)))]
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

/// The refusals of get, source and delete (someone else's document is not found either).
const ONE_DOCUMENT: &[&[Refusal]] = &[BEARER, STORAGE, &[Refusal::of(ErrorCode::NotFound)]];

/// get's refusals.
pub(super) const GET: Declared = Declared::new("get_document", ONE_DOCUMENT);

#[utoipa::path(get, path = "/api/documents/{id}", tag = "documents", operation_id = "get_document", params(("id" = String, Path, description = "Document id", example = "01a21100-bafe-77c1-8d20-7f74fb41f1d5")), security(("bearer" = [])),
    responses((status = 200, description = "The document with a fresh download URL (read from the store: there as soon as create answers)", body = DocumentSummary)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = document_id(&id)?;
    Ok(Json(get_document(&state.services.pipeline, &caller.identity, &id).await?).into_response())
}

/// source's refusals.
pub(super) const SOURCE: Declared = Declared::new("get_document_source", ONE_DOCUMENT);

#[utoipa::path(get, path = "/api/documents/{id}/source", tag = "documents", operation_id = "get_document_source", params(("id" = String, Path, description = "Document id", example = "01a21100-bafe-77c1-8d20-7f74fb41f1d5")), security(("bearer" = [])),
    responses((status = 200, description = "The markdown", content_type = "text/markdown", body = String)))]
pub async fn source(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = document_id(&id)?;
    let markdown = get_source(&state.services.pipeline, &caller.identity, &id).await?;
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], markdown).into_response())
}

/// delete's refusals.
pub(super) const DELETE: Declared = Declared::new("delete_document", ONE_DOCUMENT);

#[utoipa::path(delete, path = "/api/documents/{id}", tag = "documents", operation_id = "delete_document", params(("id" = String, Path, description = "Document id", example = "01a21100-bafe-77c1-8d20-7f74fb41f1d5")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted: get and source answer 404 from now on")))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = document_id(&id)?;
    delete_document(&state.services.pipeline, &caller.identity, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
