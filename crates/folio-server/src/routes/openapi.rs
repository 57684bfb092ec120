//! The OpenAPI document: generated from the handlers' `#[utoipa::path]` declarations (the
//! same ones that register the routes) plus these schemas for bodies the handlers build.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `{ "error": { "code", "message", "retryable" } }`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

/// The error itself.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code.
    code: folio_core::ErrorCode,
    /// A sentence for people.
    message: String,
    /// Whether the same request may succeed later.
    retryable: bool,
}

/// A new account.
#[derive(Serialize, ToSchema)]
pub struct Registered {
    user_id: String,
    email: String,
    identity_id: String,
}

/// A session (access and refresh token).
#[derive(Serialize, ToSchema)]
pub struct SessionBody {
    access_token: String,
    token_type: String,
    expires_in: i64,
    /// Absent in cookie mode (`"session": "cookie"` at sign-in, or a refresh through the
    /// cookie): the token is then only in the `HttpOnly` cookie.
    refresh_token: Option<String>,
    identity_id: String,
    email: String,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document's frame: title, version, security scheme, and schemas not reached from paths.
#[derive(OpenApi)]
#[openapi(
    info(title = "folio", description = "Markdown to PDF: accounts, documents, previews. Download URLs are signed and expire; where folio serves them itself they are `/files/<key>?exp=…&name=…&sig=…` (not listed: the signature is the credential)."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, ErrorDetail, Registered, SessionBody))
)]
pub struct ApiDoc;
