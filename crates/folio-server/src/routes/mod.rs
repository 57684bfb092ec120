//! The routes. Public: the web app, auth, well-known, signed downloads, health. Everything else needs a
//! verified access token (the [`crate::extract::Caller`] extractor).

mod auth;
mod documents;
mod files;
mod health;
mod images;
pub mod openapi;
mod preview;
mod refusals;
mod web;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use folio_core::ErrorCode;

use crate::{ApiError, AppState};

/// Every operation's declared refusals (see [`refusals`]).
const DECLARED: &[&refusals::Declared] = &[
    &auth::REGISTER,
    &auth::CONFIRM,
    &auth::LOGIN,
    &auth::REFRESH,
    &auth::LOGOUT,
    &auth::CHANGE_PASSWORD,
    &auth::JWKS,
    &auth::DISCOVERY,
    &documents::CREATE,
    &documents::LIST,
    &documents::GET,
    &documents::SOURCE,
    &documents::DELETE,
    &images::PUT,
    &images::LIST,
    &images::GET,
    &images::DELETE,
    &images::BYTES,
    &images::USAGE,
    &preview::HTML,
    &preview::PAGES,
    &health::READY,
    &health::METRICS,
];

/// The documented routes and their OpenAPI document: refusals and links added. The sign-in
/// routes exist only where this deployment signs people in.
fn documented(signs_in: bool) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi());
    let api = if signs_in {
        api.routes(routes!(auth::register))
            .routes(routes!(auth::confirm))
            .routes(routes!(auth::login))
            .routes(routes!(auth::refresh))
            .routes(routes!(auth::logout))
            .routes(routes!(auth::change_password))
            .routes(routes!(auth::jwks))
            .routes(routes!(auth::discovery))
    } else {
        api
    };
    let (api, mut doc) = api
        .routes(routes!(documents::create, documents::list))
        .routes(routes!(documents::get, documents::delete))
        .routes(routes!(documents::source))
        .routes(routes!(images::list))
        .routes(routes!(images::put, images::get, images::delete))
        .routes(routes!(images::bytes))
        .routes(routes!(images::usage))
        .routes(routes!(preview::html))
        .routes(routes!(preview::pages))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
        .split_for_parts();
    utoipa::Modify::modify(&refusals::DeclaredRefusals(DECLARED), &mut doc);
    utoipa::Modify::modify(&openapi::DocumentLinks, &mut doc);
    (api, doc)
}

pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    let serves_downloads = state.services.downloads.is_some();
    let (api, doc) = documented(state.sign_in.is_some());
    let contract = Arc::new(refusals::Contract::new(&doc, DECLARED));
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    openapi::state_option_rules(&mut doc);
    let doc: Arc<str> = doc.to_string().into();
    let api = if serves_downloads { api.route("/files/{*key}", get(files::download)) } else { api };
    api.route(
        "/api/openapi.json",
        get(move || {
            let doc = Arc::clone(&doc);
            async move { ([(header::CONTENT_TYPE, "application/json")], doc.to_string()) }
        }),
    )
    .route("/", get(web::index))
    .route("/app/{*path}", get(web::file))
    .route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
    .fallback(|| async {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
    })
    .method_not_allowed_fallback(|| async {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::InvalidRequest,
            "this route does not take that method",
        )
    })
    .layer(DefaultBodyLimit::max(limit))
    .layer(axum::middleware::from_fn_with_state(contract, refusals::enforce))
    .layer(axum::middleware::from_fn_with_state(state.clone(), health::track))
    // Outermost: every response, errors included, carries these.
    .layer(RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
    .layer(security_header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
    .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
    .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
    .layer(PropagateRequestIdLayer::x_request_id())
    .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
    // Before the id is kept: a client's id that is not a short safe token is dropped (and
    // a fresh one made), so it can never forge fields in the logs.
    .layer(axum::middleware::map_request(drop_unsafe_request_id))
    .with_state(state)
}

/// The longest request id taken from a client.
const MAX_REQUEST_ID: usize = 64;

/// Whether a client's `X-Request-Id` is a short token of letters, digits, `-`, `_` and `.`.
fn is_safe_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

async fn drop_unsafe_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let headers = request.headers_mut();
    let ids = headers.get_all("x-request-id").iter().count();
    let safe = headers.get("x-request-id").is_some_and(|id| is_safe_request_id(id.as_bytes()));
    if ids > 1 || (ids == 1 && !safe) {
        headers.remove("x-request-id");
    }
    request
}

/// How long a client may take to send a request body.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The policy of every response: only folio's own scripts, styles and images (and the page
/// preview's blob images), never framed. The page itself adds a per-response style nonce
/// ([`web::index`]).
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'";

fn security_header(
    name: header::HeaderName,
    value: &'static str,
) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each documented operation has a declaration, and each declaration an operation: a
    /// declaration under a misspelt id would leave its operation refusing nothing.
    #[test]
    fn every_operation_is_declared_once() {
        let (_, doc) = documented(true);
        let mut documented: Vec<String> = doc
            .paths
            .paths
            .values()
            .flat_map(|item| [&item.get, &item.post, &item.put, &item.patch, &item.delete])
            .flatten()
            .filter_map(|operation| operation.operation_id.clone())
            .collect();
        documented.sort();
        let mut declared: Vec<String> = DECLARED.iter().map(|d| d.operation.to_owned()).collect();
        declared.sort();
        assert_eq!(documented, declared);
    }
}
