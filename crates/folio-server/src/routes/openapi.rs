//! The OpenAPI document: generated from the handlers' `#[utoipa::path]` declarations (the
//! same ones that register the routes) plus these schemas for bodies the handlers build.

use serde::Serialize;
use utoipa::openapi::RefOr;
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
    /// `true` where the provider emails a code that must be sent to `/api/auth/confirm` before
    /// the account can sign in (Cognito); `false` with the built-in pool.
    confirmation_required: bool,
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

/// The links between the document operations, so that clients and the schema fuzzer's
/// stateful phase can follow a new document: create → get, source, delete (by the id in the
/// answer); get → source, delete; delete → get (which then answers 404).
pub struct DocumentLinks;

impl Modify for DocumentLinks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::link::LinkBuilder;
        let link = |operation: &str, id: &str, description: &str| {
            LinkBuilder::new()
                .operation_id(operation)
                .parameter("id", id)
                .description(description)
                .build()
        };
        let from_body = "$response.body#/id";
        let from_path = "$request.path.id";
        let links = [
            ("/api/documents", "create_document", "201", from_body),
            ("/api/documents/{id}", "get_document", "200", from_path),
            ("/api/documents/{id}", "delete_document", "204", from_path),
        ];
        for (path, operation_id, status, id) in links {
            let Some(item) = openapi.paths.paths.get_mut(path) else { continue };
            let operations = [&mut item.get, &mut item.post, &mut item.delete];
            let Some(operation) = operations
                .into_iter()
                .flatten()
                .find(|o| o.operation_id.as_deref() == Some(operation_id))
            else {
                continue;
            };
            let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) else {
                continue;
            };
            let targets: &[(&str, &str)] = match operation_id {
                "create_document" => &[
                    ("GetDocument", "get_document"),
                    ("GetDocumentSource", "get_document_source"),
                    ("DeleteDocument", "delete_document"),
                ],
                "get_document" => &[
                    ("GetDocumentSource", "get_document_source"),
                    ("DeleteDocument", "delete_document"),
                ],
                _ => &[("GetDocument", "get_document")],
            };
            for (name, target) in targets {
                let description = format!("`{target}` of this document");
                response.links.insert((*name).to_owned(), RefOr::T(link(target, id, &description)));
            }
        }
    }
}

/// The rules between render options (`CreateOptions::check`), which utoipa's schema types
/// cannot state, written into the served JSON as a `not` of the options' schema (OpenAPI 3.1 is
/// JSON Schema 2020-12): no two PDF/A standards; no `a-2b` with `attach_source`.
pub fn state_option_rules(doc: &mut serde_json::Value) {
    let contains = |standard: &str| serde_json::json!({ "contains": { "const": standard } });
    let forbidden = serde_json::json!({ "anyOf": [
        {
            "required": ["standards"],
            "properties": { "standards": { "allOf": [contains("a-2b"), contains("a-3b")] } }
        },
        {
            "required": ["standards", "attach_source"],
            "properties": { "standards": contains("a-2b"), "attach_source": { "const": true } }
        }
    ] });
    let options = doc.pointer_mut("/components/schemas/CreateOptions");
    if let Some(options) = options.and_then(serde_json::Value::as_object_mut) {
        options.insert("not".to_owned(), forbidden);
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
    info(title = "folio", description = "Markdown to PDF: accounts, documents, previews. Download URLs are signed and expire; where folio serves them itself they are `/files/<key>?exp=…&name=…&sig=…` (not listed: the signature is the credential). Every refusal an operation can answer is listed under it, with its codes; a `500 internal` is always a bug."),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, ErrorDetail, Registered, SessionBody))
)]
pub struct ApiDoc;
