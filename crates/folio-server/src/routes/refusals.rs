//! Each operation's refusals, declared once beside its handler ([`Declared`]). Two things read
//! a declaration: the OpenAPI document lists exactly those responses, each status with the
//! codes it carries ([`DeclaredRefusals`]), and [`enforce`] lets no other refusal leave the
//! operation — one that does is a bug, answered `500 internal` and logged with the operation's
//! name, where a test or the schema fuzzer finds it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use folio_core::ErrorCode;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::ApiError;
use crate::error::{RefusedWith, status_of};

/// One refusal: the status and the code it is answered with, and when, where the code's own
/// meaning does not say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    status: StatusCode,
    code: ErrorCode,
    when: Option<&'static str>,
}

impl Refusal {
    /// `code` at its usual status ([`status_of`]).
    pub const fn of(code: ErrorCode) -> Self {
        Self { status: status_of(code), code, when: None }
    }

    /// `code` at its usual status, in the words of this operation.
    pub const fn when(code: ErrorCode, when: &'static str) -> Self {
        Self { status: status_of(code), code, when: Some(when) }
    }

    /// `code` at another status than its usual one.
    pub const fn at(status: StatusCode, code: ErrorCode, when: &'static str) -> Self {
        Self { status, code, when: Some(when) }
    }
}

/// What [`crate::extract::ApiJson`] refuses, wherever an operation reads a JSON body.
pub const JSON_BODY: &[Refusal] = &[
    Refusal::when(
        ErrorCode::InvalidRequest,
        "The body is not a JSON object of this shape, or breaks a rule; the message says which.",
    ),
    Refusal::when(
        ErrorCode::PayloadTooLarge,
        "The body is larger than the server's limit (2 MiB by default).",
    ),
    Refusal::at(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::InvalidRequest,
        "The body is not `application/json`.",
    ),
];

/// What [`crate::extract::Caller`] refuses, wherever an operation needs an access token (the
/// 503: the identity provider's keys could not be fetched).
pub const BEARER: &[Refusal] = &[
    Refusal::when(ErrorCode::Unauthorized, "No access token, or not a valid one."),
    Refusal::of(ErrorCode::StorageUnavailable),
];

/// What a per-caller rate limit refuses (the 503: the shared counters could not be reached).
pub const RATE_LIMITED: &[Refusal] =
    &[Refusal::of(ErrorCode::RateLimited), Refusal::of(ErrorCode::StorageUnavailable)];

/// What rendering refuses: the document's own limits (413, 422, the deadline) and a busy or
/// broken renderer (503, retryable).
pub const RENDERING: &[Refusal] = &[
    Refusal::of(ErrorCode::SourceTooLarge),
    Refusal::of(ErrorCode::NestingTooDeep),
    Refusal::of(ErrorCode::PageLimitExceeded),
    Refusal::of(ErrorCode::DocumentTooComplex),
    Refusal::of(ErrorCode::RenderFailed),
    Refusal::of(ErrorCode::RenderTimeout),
    Refusal::of(ErrorCode::Overloaded),
];

/// What reading or writing stored data refuses.
pub const STORAGE: &[Refusal] = &[Refusal::of(ErrorCode::StorageUnavailable)];

/// An operation's refusals: its operation id (as in the document) and the groups of refusals
/// its extractors and its function can answer with.
#[derive(Debug)]
pub struct Declared {
    /// The `operationId`.
    pub operation: &'static str,
    refusals: &'static [&'static [Refusal]],
}

impl Declared {
    /// The declaration of `operation`.
    pub const fn new(operation: &'static str, refusals: &'static [&'static [Refusal]]) -> Self {
        Self { operation, refusals }
    }

    fn all(&self) -> impl Iterator<Item = &'static Refusal> {
        self.refusals.iter().flat_map(|group| group.iter())
    }

    /// Whether the operation may answer `status` with `code`.
    pub fn declares(&self, status: StatusCode, code: ErrorCode) -> bool {
        self.all().any(|r| r.status == status && r.code == code)
    }
}

/// What an operation missing from the declarations may refuse with: nothing.
const UNDECLARED: Declared = Declared::new("(undeclared)", &[]);

/// The declarations by route, for [`enforce`].
pub struct Contract {
    by_route: HashMap<(Method, String), &'static Declared>,
}

impl Contract {
    /// Matches the document's operations to `declared` by operation id. An operation without a
    /// declaration may refuse with nothing (every refusal of it becomes a 500 that tests see).
    pub fn new(doc: &OpenApi, declared: &[&'static Declared]) -> Self {
        let mut by_route = HashMap::new();
        for (path, item) in &doc.paths.paths {
            for (method, operation) in operations(item) {
                let id = operation.operation_id.as_deref().unwrap_or_default();
                let declaration =
                    declared.iter().copied().find(|d| d.operation == id).unwrap_or(&UNDECLARED);
                by_route.insert((method, path.clone()), declaration);
            }
        }
        Self { by_route }
    }
}

/// A path's operations with their methods.
fn operations(item: &utoipa::openapi::PathItem) -> Vec<(Method, &Operation)> {
    [
        (Method::GET, &item.get),
        (Method::POST, &item.post),
        (Method::PUT, &item.put),
        (Method::PATCH, &item.patch),
        (Method::DELETE, &item.delete),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|o| (method, o)))
    .collect()
}

/// Lets only declared refusals leave a documented operation; any other is logged and answered
/// `500 internal`. Routes outside the document (the web app, downloads) pass untouched.
pub async fn enforce(
    State(contract): State<Arc<Contract>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| (request.method().clone(), path.as_str().to_owned()));
    let response = next.run(request).await;
    let Some(declared) = route.and_then(|route| contract.by_route.get(&route).copied()) else {
        return response;
    };
    match response.extensions().get::<RefusedWith>() {
        Some(&RefusedWith(code)) if !declared.declares(response.status(), code) => {
            ApiError::internal(format!(
                "{} answered an undeclared refusal: {} {code}",
                declared.operation,
                response.status().as_u16()
            ))
            .into_response()
        }
        _ => response,
    }
}

/// Writes each operation's declared refusals into the document: one response per status,
/// with the error body and the codes it carries.
pub struct DeclaredRefusals<'a>(pub &'a [&'static Declared]);

impl utoipa::Modify for DeclaredRefusals<'_> {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let id = operation.operation_id.as_deref().unwrap_or_default();
                let Some(declared) = self.0.iter().find(|d| d.operation == id) else { continue };
                let mut by_status: BTreeMap<u16, Vec<&Refusal>> = BTreeMap::new();
                for refusal in declared.all() {
                    let same = by_status.entry(refusal.status.as_u16()).or_default();
                    if !same.iter().any(|r| r.code == refusal.code) {
                        same.push(refusal);
                    }
                }
                for (status, refusals) in by_status {
                    let response = refusal_response(&refusals);
                    operation.responses.responses.insert(status.to_string(), RefOr::T(response));
                }
            }
        }
    }
}

fn refusal_response(refusals: &[&Refusal]) -> utoipa::openapi::Response {
    let description = refusals
        .iter()
        .map(|r| format!("`{}`: {}", r.code, r.when.unwrap_or(r.code.meaning())))
        .collect::<Vec<_>>()
        .join("\n\n");
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    let mut response =
        ResponseBuilder::new().description(description).content("application/json", body);
    let tells_when = refusals.iter().any(|r| {
        matches!(
            r.code,
            ErrorCode::RateLimited | ErrorCode::Overloaded | ErrorCode::StorageUnavailable
        )
    });
    if tells_when {
        let seconds = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(0));
        let header = utoipa::openapi::HeaderBuilder::new()
            .schema(Some(seconds))
            .description(Some("Seconds to wait before trying again (when retryable)"))
            .build();
        response = response.header("Retry-After", header);
    }
    response.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    const GUARDED: Declared = Declared::new("guarded", &[BEARER]);

    /// A declared refusal leaves as it is; any other is a bug, answered `500 internal`.
    #[tokio::test]
    async fn only_declared_refusals_leave_an_operation() {
        let routes = [(Method::GET, "/declared".to_owned()), (Method::GET, "/other".to_owned())];
        let contract =
            Arc::new(Contract { by_route: routes.into_iter().map(|r| (r, &GUARDED)).collect() });
        let app = axum::Router::new()
            .route("/declared", get(|| async { ApiError::unauthorized("sign in") }))
            .route("/other", get(|| async { ApiError::not_found() }))
            .route("/undocumented", get(|| async { ApiError::not_found() }))
            .layer(axum::middleware::from_fn_with_state(contract, enforce));
        for (path, status) in [("/declared", 401), ("/other", 500), ("/undocumented", 404)] {
            let request = Request::get(path).body(Body::empty()).unwrap_or_default();
            let response = app.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
            assert_eq!(response.status().as_u16(), status, "{path}");
        }
    }

    #[test]
    fn the_document_lists_each_status_once_with_its_codes() {
        let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
        let operation =
            utoipa::openapi::path::OperationBuilder::new().operation_id(Some("guarded"));
        let item = utoipa::openapi::PathItem::new(utoipa::openapi::HttpMethod::Get, operation);
        doc.paths.paths.insert("/guarded".to_owned(), item);
        utoipa::Modify::modify(&DeclaredRefusals(&[&GUARDED]), &mut doc);
        let responses = doc.paths.paths["/guarded"].get.as_ref().map(|o| &o.responses.responses);
        let statuses: Vec<&str> =
            responses.into_iter().flat_map(|r| r.keys()).map(String::as_str).collect();
        assert_eq!(statuses, ["401", "503"]);
        let Some(RefOr::T(unavailable)) = responses.and_then(|r| r.get("503")) else {
            panic!("no 503")
        };
        assert!(unavailable.description.contains("`storage_unavailable`"));
        assert!(unavailable.headers.contains_key("Retry-After"));
    }
}
