//! `/api/preview` (instant HTML) and `/api/preview/pages` (the PDF's real pages as SVG), both
//! through the render port.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use folio_core::options::CreateOptions;
use folio_core::ports::{RenderRequest, Warning};
use serde::{Deserialize, Serialize};

use crate::extract::{ApiJson, Caller};
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The markdown.
    markdown: String,
    /// Title override.
    #[serde(default)]
    title: Option<String>,
    /// Render options.
    #[serde(default)]
    options: CreateOptions,
}

/// The HTML preview.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HtmlPreviewBody {
    /// Sanitized HTML of the document's body.
    html: String,
    /// What the renderer changed or could not show.
    warnings: Vec<Warning>,
}

/// The page preview.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PagesPreviewBody {
    /// One SVG document per page.
    pages: Vec<String>,
    /// The title used.
    title: String,
    /// What the renderer changed or could not show.
    warnings: Vec<Warning>,
}

/// What both previews do first: the caller's rate limit, then the render request.
async fn admit(
    state: &AppState,
    caller: &folio_auth::Verified,
    request: PreviewRequest,
) -> Result<RenderRequest, ApiError> {
    state.rate_limit(crate::RateLimited::Preview, &caller.identity.to_string()).await?;
    Ok(RenderRequest {
        markdown: request.markdown,
        title: request.title,
        options: request.options,
        assets: Default::default(),
        owner: Some(caller.identity),
    })
}

#[utoipa::path(post, path = "/api/preview", tag = "preview", request_body = PreviewRequest, security(("bearer" = [])),
    responses((status = 200, description = "The HTML preview", body = HtmlPreviewBody), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody), (status = 503, description = "Every renderer is busy, or a newer preview replaced this one (retryable)", body = crate::routes::openapi::ErrorBody)))]
pub async fn html(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: ApiJson<PreviewRequest>,
) -> Result<Response, ApiError> {
    let request = admit(&state, &caller, body.value).await?;
    let preview = state.services.pipeline.renderer.html(request).await?;
    Ok(Json(HtmlPreviewBody { html: preview.html, warnings: preview.warnings }).into_response())
}

#[utoipa::path(post, path = "/api/preview/pages", tag = "preview", request_body = PreviewRequest, security(("bearer" = [])),
    responses((status = 200, description = "The pages as SVG", body = PagesPreviewBody), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody), (status = 503, description = "Every renderer is busy, or a newer preview replaced this one (retryable)", body = crate::routes::openapi::ErrorBody)))]
pub async fn pages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: ApiJson<PreviewRequest>,
) -> Result<Response, ApiError> {
    let request = admit(&state, &caller, body.value).await?;
    if request.markdown.trim().is_empty() {
        return Err(ApiError::invalid("the markdown is empty"));
    }
    let pages = state.services.pipeline.renderer.pages(request).await?;
    Ok(Json(PagesPreviewBody { pages: pages.pages, title: pages.title, warnings: pages.warnings })
        .into_response())
}
