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

/// The refusals of the extractors, listed on every operation they guard (they happen before
/// any handler runs, so they are declared here once rather than on each handler): `ApiJson`
/// answers 400, 413 and 415 wherever a JSON body is read; `Caller` answers 401 wherever a token
/// is required. Applied to the finished document, after the routes have added their paths.
pub struct ExtractorRefusals;

impl Modify for ExtractorRefusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::path::Operation;
        let refusal = |description: &str| {
            let body = utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                .build();
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .content("application/json", body)
                .build()
        };
        let add = |operation: &mut Operation, status: &str, description: &str| {
            operation
                .responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::T(refusal(description)));
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let reads_json = matches!(
                    &operation.request_body,
                    Some(RefOr::T(body)) if body.content.contains_key("application/json")
                );
                if reads_json {
                    add(operation, "400", "The body is not JSON of this shape, or breaks a rule");
                    add(operation, "413", "The body is larger than the limit (2 MiB)");
                    add(operation, "415", "The body is not `application/json`");
                }
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    add(operation, "401", "No access token, or not a valid one");
                }
            }
        }
    }
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
