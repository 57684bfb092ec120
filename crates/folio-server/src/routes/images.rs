//! `/api/images`: the caller's image library (upload under a name, list, fetch, delete).

use axum::Json;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use folio_core::ErrorCode;
use folio_core::functions::{
    StorageUsage, delete_image, get_image, get_image_bytes, list_images, put_image, storage_usage,
};
use folio_core::images::ImageInfo;
use serde::Serialize;

use crate::extract::Caller;
use crate::routes::refusals::{BEARER, Declared, Refusal, STORAGE};
use crate::{ApiError, AppState};

/// An upload's body: the image's bytes as they are, read up to the image limit (not the JSON
/// body limit), with the type the client claims.
pub struct ImageBody {
    bytes: axum::body::Bytes,
    claimed: Option<String>,
}

impl FromRequest<AppState> for ImageBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let claimed = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = state.services.pipeline.settings.images.max_bytes;
        let bytes = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
            ApiError::from(folio_core::Error::Refused {
                code: ErrorCode::ImageTooLarge,
                message: format!("the image is larger than {limit} bytes"),
            })
        })?;
        Ok(Self { bytes, claimed })
    }
}

/// An image's bytes in the OpenAPI document: a binary string (the handlers read and write the
/// bytes themselves).
pub struct ImageBytes;

impl utoipa::PartialSchema for ImageBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl utoipa::ToSchema for ImageBytes {}

/// The caller's images.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImageList {
    /// By name.
    items: Vec<ImageInfo>,
}

/// upload's refusals.
pub(super) const PUT: Declared = Declared::new(
    "put_image",
    &[
        BEARER,
        STORAGE,
        &[
            Refusal::when(ErrorCode::InvalidRequest, "The name is not a valid image name."),
            Refusal::of(ErrorCode::UnsupportedImage),
            Refusal::of(ErrorCode::ImageTooLarge),
            Refusal::of(ErrorCode::QuotaExceeded),
        ],
    ],
);

#[utoipa::path(put, path = "/api/images/{name}", tag = "images", operation_id = "put_image",
    params(("name" = String, Path, pattern = r"^[^/\\\x00-\x1f\x7f-\x9f]{1,200}$", description = "The image's name in the caller's library: 1–200 characters, no `/`, `\\` or control characters, not `.` or `..`; compared in Unicode NFC, case-sensitively. Markdown refers to it as `![alt](name)` (percent-encoded where needed, e.g. spaces as `%20`).", example = "plot.png")),
    request_body(content = ImageBytes, content_type = "application/octet-stream", description = "The image's bytes: PNG, JPEG, GIF or WebP (the type is read from the bytes; a `Content-Type` of `image/…` must agree). At most 4 MiB and 40 million pixels."),
    security(("bearer" = [])),
    responses((status = 200, description = "Stored (under a new name, or replacing what the name showed: documents made with the old bytes keep them)", body = ImageInfo)))]
pub async fn put(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    body: ImageBody,
) -> Result<Response, ApiError> {
    let pipeline = &state.services.pipeline;
    let claimed = body.claimed.as_deref();
    let info = put_image(pipeline, &caller.identity, &name, body.bytes, claimed).await?;
    Ok(Json(info).into_response())
}

/// list's refusals.
pub(super) const LIST: Declared = Declared::new("list_images", &[BEARER, STORAGE]);

#[utoipa::path(get, path = "/api/images", tag = "images", operation_id = "list_images", security(("bearer" = [])),
    responses((status = 200, description = "The caller's images, by name", body = ImageList)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    let items = list_images(&state.services.pipeline, &caller.identity).await?;
    Ok(Json(ImageList { items }).into_response())
}

/// The refusals of fetch and delete (a name that is not the caller's is not found).
const ONE_IMAGE: &[&[Refusal]] = &[BEARER, STORAGE, &[Refusal::of(ErrorCode::NotFound)]];

/// fetch's refusals.
pub(super) const GET: Declared = Declared::new("get_image", ONE_IMAGE);

/// The image's bytes with the type sniffed at upload, `nosniff` (on every response) and a
/// sandbox policy, so opening one never runs anything in folio's origin.
#[utoipa::path(get, path = "/api/images/{name}", tag = "images", operation_id = "get_image",
    params(("name" = String, Path, description = "The image's name", example = "plot.png")),
    security(("bearer" = [])),
    responses((status = 200, description = "The bytes, as the type sniffed at upload", content(
        (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"), (ImageBytes = "image/webp")))))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (info, bytes) = get_image(&state.services.pipeline, &caller.identity, &name).await?;
    Ok(image_response(info.kind, bytes, "private, no-cache"))
}

/// The sandbox and type headers every image answer carries.
fn image_response(
    kind: folio_core::images::ImageType,
    bytes: axum::body::Bytes,
    cache: &'static str,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind.mime()),
            (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response()
}

/// fetch-by-hash's refusals.
pub(super) const BYTES: Declared = Declared::new("get_image_bytes", ONE_IMAGE);

/// Bytes by their SHA-256, in the caller's space only: what the text preview shows for each
/// resolved reference (a library image, or the bytes a reopened document was made with).
/// Content-addressed, so a browser may keep them.
#[utoipa::path(get, path = "/api/image-bytes/{sha256}", tag = "images", operation_id = "get_image_bytes",
    params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "SHA-256 of the bytes, lowercase hex (from a preview's `images`)")),
    security(("bearer" = [])),
    responses((status = 200, description = "The bytes", content(
        (ImageBytes = "image/png"), (ImageBytes = "image/jpeg"), (ImageBytes = "image/gif"), (ImageBytes = "image/webp")))))]
pub async fn bytes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let (kind, bytes) =
        get_image_bytes(&state.services.pipeline, &caller.identity, &sha256).await?;
    Ok(image_response(kind, bytes, "private, max-age=31536000, immutable"))
}

/// delete's refusals.
pub(super) const DELETE: Declared = Declared::new("delete_image", ONE_IMAGE);

#[utoipa::path(delete, path = "/api/images/{name}", tag = "images", operation_id = "delete_image",
    params(("name" = String, Path, description = "The image's name", example = "plot.png")),
    security(("bearer" = [])),
    responses((status = 204, description = "Removed from the library (documents made with it keep it)")))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    delete_image(&state.services.pipeline, &caller.identity, &name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// usage's refusals.
pub(super) const USAGE: Declared = Declared::new("get_usage", &[BEARER, STORAGE]);

/// What the caller stores against the storage quota: documents (source, manifest, PDF) and
/// images (each stored once, however many documents keep it). Creates and uploads that would
/// pass the quota are refused with 413 `quota_exceeded`.
#[utoipa::path(get, path = "/api/usage", tag = "images", operation_id = "get_usage", security(("bearer" = [])),
    responses((status = 200, description = "Bytes stored and the quota (`null`: none)", body = StorageUsage)))]
pub async fn usage(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    Ok(Json(storage_usage(&state.services.pipeline, &caller.identity).await?).into_response())
}
