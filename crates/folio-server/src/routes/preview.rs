//! `/api/preview` (instant HTML) and `/api/preview/pages` (the PDF's real pages as SVG), both
//! through the render port.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use folio_core::ErrorCode;
use folio_core::options::CreateOptions;
use folio_core::ports::{LineBox, RenderRequest, Warning};
use serde::{Deserialize, Serialize};

use crate::extract::{ApiJson, Caller};
use crate::routes::refusals::{BEARER, Declared, JSON_BODY, RATE_LIMITED, RENDERING, Refusal};
use crate::{ApiError, AppState};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The markdown: as for create, at least one character that is not white space.
    #[schema(pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    markdown: String,
    /// Title override: as for create.
    #[serde(default)]
    #[schema(
        max_length = 300,
        pattern = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    )]
    title: Option<String>,
    /// Render options.
    #[serde(default, deserialize_with = "folio_core::options::from_object")]
    options: CreateOptions,
    /// A document of the caller's whose images come first: a document reopened in the editor
    /// previews with the images it was made with, even after the library changed.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "01a21100-bafe-77c1-8d20-7f74fb41f1d5")]
    images_from: Option<String>,
}

/// The HTML preview.
#[derive(Serialize, utoipa::ToSchema)]
pub struct HtmlPreviewBody {
    /// Sanitized HTML of the document's body. An image of the caller's is
    /// `<img class="doc-image" data-image="REFERENCE" alt="…">` without a source: the page
    /// fetches its bytes (`images` names them) with its own credentials.
    html: String,
    /// What the renderer changed or could not show.
    warnings: Vec<Warning>,
    /// Each image reference that resolved → the SHA-256 of its bytes
    /// (`GET /api/image-bytes/{sha256}`).
    images: std::collections::BTreeMap<String, String>,
}

/// The page preview.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PagesPreviewBody {
    /// One SVG document per page.
    pages: Vec<String>,
    /// For each page (in the order of `pages`), where the text of each markdown line is on
    /// it, top to bottom: the editor scrolls to the cursor's line and maps clicks back to lines.
    lines: Vec<Vec<LineBox>>,
    /// The title used.
    title: String,
    /// What the renderer changed or could not show.
    warnings: Vec<Warning>,
}

/// What both previews do first: the caller's rate limit, then the checks create makes of
/// markdown and title, then the render request.
async fn admit(
    state: &AppState,
    caller: &folio_auth::Verified,
    request: PreviewRequest,
    names_only: bool,
) -> Result<(RenderRequest, std::collections::BTreeMap<String, String>), ApiError> {
    state.rate_limit(crate::RateLimited::Preview, &caller.identity.to_string()).await?;
    folio_core::functions::check_markdown(&request.markdown)?;
    request.options.check().map_err(ApiError::invalid)?;
    let title = request.title.as_deref().map(folio_core::functions::check_title).transpose()?;
    let pipeline = &state.services.pipeline;
    let pinned = match &request.images_from {
        Some(id) => {
            let id = id.parse().map_err(|_| ApiError::not_found())?;
            folio_core::functions::document_images(pipeline, &caller.identity, &id).await?
        }
        None => Default::default(),
    };
    let images = folio_core::functions::resolve_images(
        pipeline,
        &caller.identity,
        &request.markdown,
        &pinned,
        names_only,
    )
    .await?;
    let render = RenderRequest {
        markdown: request.markdown,
        title,
        options: request.options,
        assets: images.assets,
        owner: Some(caller.identity),
    };
    Ok((render, images.used))
}

/// The refusals of both previews (a newer preview from the same caller replaces an older one
/// that is still waiting: 503 `overloaded`).
const PREVIEW: &[&[Refusal]] = &[
    JSON_BODY,
    BEARER,
    RATE_LIMITED,
    RENDERING,
    &[Refusal::when(ErrorCode::NotFound, "`images_from` names no document of the caller's.")],
];

/// The HTML preview's refusals.
pub(super) const HTML: Declared = Declared::new("preview_html", PREVIEW);

#[utoipa::path(post, path = "/api/preview", tag = "preview", operation_id = "preview_html", request_body(content = PreviewRequest, example = json!({
        "markdown": "# Notes\n\nA paragraph with *emphasis*.\n",
        "options": { "theme": "classic" }
    })), security(("bearer" = [])),
    responses((status = 200, description = "The HTML preview", body = HtmlPreviewBody)))]
pub async fn html(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: ApiJson<PreviewRequest>,
) -> Result<Response, ApiError> {
    // The HTML preview shows images the page fetches itself: it needs their names only.
    let (request, images) = admit(&state, &caller, body.value, true).await?;
    let preview = state.services.pipeline.renderer.html(request).await?;
    Ok(Json(HtmlPreviewBody { html: preview.html, warnings: preview.warnings, images })
        .into_response())
}

/// The page preview's refusals.
pub(super) const PAGES: Declared = Declared::new("preview_pages", PREVIEW);

#[utoipa::path(post, path = "/api/preview/pages", tag = "preview", operation_id = "preview_pages", request_body(content = PreviewRequest, example = json!({
        "markdown": "# Notes\n\nA paragraph with *emphasis*.\n",
        "options": { "theme": "classic" }
    })), security(("bearer" = [])),
    responses((status = 200, description = "The pages as SVG", body = PagesPreviewBody)))]
pub async fn pages(
    State(state): State<AppState>,
    Caller(caller): Caller,
    body: ApiJson<PreviewRequest>,
) -> Result<Response, ApiError> {
    let (request, _) = admit(&state, &caller, body.value, false).await?;
    let pages = state.services.pipeline.renderer.pages(request).await?;
    Ok(Json(PagesPreviewBody {
        pages: pages.pages,
        lines: pages.lines,
        title: pages.title,
        warnings: pages.warnings,
    })
    .into_response())
}
