//! `/api/preview` (instant HTML) and `/api/preview/pages` (the PDF's real pages as SVG).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use folio_render::{RenderError, RenderOptions, Warning};
use serde::{Deserialize, Serialize};

use crate::extract::{ApiJson, Caller};
use crate::workers::{Answer, Job, JobKind, Lane, Ticket};
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    markdown: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    options: folio_core::functions::CreateOptions,
}

#[derive(Serialize)]
struct WarningBody {
    line: usize,
    kind: &'static str,
    message: String,
}

fn warnings(list: &[Warning]) -> Vec<WarningBody> {
    list.iter()
        .map(|w| WarningBody { line: w.line, kind: w.kind.as_str(), message: w.message.clone() })
        .collect()
}

/// A render error as an API error (the same mapping as create's renderer).
fn render_error(err: RenderError) -> ApiError {
    ApiError::from(crate::render_error(err))
}

/// What both previews do first: the caller's rate limit, then the render options.
fn admit(
    state: &AppState,
    caller: &folio_auth::Verified,
    request: &PreviewRequest,
) -> Result<RenderOptions, ApiError> {
    state.rate_limit(&state.preview_limit, &caller.identity)?;
    crate::renderer::render_options(request.title.clone(), &request.options, Default::default())
        .map_err(ApiError::invalid)
}

#[utoipa::path(post, path = "/api/preview", tag = "preview", request_body = PreviewRequest, security(("bearer" = [])),
    responses((status = 200, description = "{html, warnings}"), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody), (status = 503, description = "Every renderer is busy, or a newer preview replaced this one (retryable)", body = crate::routes::openapi::ErrorBody)))]
pub async fn html(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: ApiJson<PreviewRequest>,
) -> Result<Response, ApiError> {
    let options = admit(&state, &caller, &body.value)?;
    let PreviewRequest { markdown, title, options: requested } = body.value;
    if let Some(pool) = &state.workers {
        // In a worker like every render: its deadline bounds whatever the input costs.
        let job = Job {
            kind: JobKind::Html,
            markdown,
            title,
            options: requested,
            assets: Default::default(),
        };
        let ticket = Ticket::new(Some(&caller.identity), Lane::Text);
        return match pool.run_for(&job, ticket).await? {
            Answer::Done { html, warnings, .. } => Ok(Json(
                serde_json::json!({ "html": html.unwrap_or_default(), "warnings": warnings }),
            )
            .into_response()),
            Answer::Failed { code, message } => {
                Err(ApiError::from(crate::workers::failure(&code, message)))
            }
        };
    }
    let preview =
        tokio::task::spawn_blocking(move || folio_render::render_html(&markdown, &options))
            .await
            .map_err(ApiError::internal)?
            .map_err(render_error)?;
    Ok(Json(serde_json::json!({ "html": preview.html, "warnings": warnings(&preview.warnings) }))
        .into_response())
}

#[utoipa::path(post, path = "/api/preview/pages", tag = "preview", request_body = PreviewRequest, security(("bearer" = [])),
    responses((status = 200, description = "{pages: [svg], warnings}"), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody), (status = 503, description = "Every renderer is busy, or a newer preview replaced this one (retryable)", body = crate::routes::openapi::ErrorBody)))]
pub async fn pages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: ApiJson<PreviewRequest>,
) -> Result<Response, ApiError> {
    let options = admit(&state, &caller, &body.value)?;
    let markdown = body.value.markdown;
    if markdown.trim().is_empty() {
        return Err(ApiError::invalid("the markdown is empty"));
    }
    if let Some(pool) = &state.workers {
        let job = Job {
            kind: JobKind::Pages,
            markdown,
            title: body.value.title,
            options: body.value.options,
            assets: Default::default(),
        };
        // One person's successive previews go to the worker that rendered the last one, and
        // a newer one replaces the one still waiting.
        let ticket = Ticket::new(Some(&caller.identity), Lane::Pages);
        return match pool.run_for(&job, ticket).await? {
            Answer::Done { pages, title, warnings, .. } => {
                let body = serde_json::json!({ "pages": pages.unwrap_or_default(), "title": title, "warnings": warnings });
                Ok(Json(body).into_response())
            }
            Answer::Failed { code, message } => {
                Err(ApiError::from(crate::workers::failure(&code, message)))
            }
        };
    }
    let pages =
        tokio::task::spawn_blocking(move || folio_render::render_pages_svg(&markdown, &options))
            .await
            .map_err(ApiError::internal)?
            .map_err(render_error)?;
    Ok(Json(serde_json::json!({ "pages": pages.pages, "title": pages.title, "warnings": warnings(&pages.warnings) })).into_response())
}
