//! The routes. Public: auth, well-known, signed downloads, health. Everything else needs a
//! verified access token (the [`crate::extract::Caller`] extractor).

mod auth;
mod documents;
mod files;
mod preview;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::{ApiError, AppState};

pub fn router(state: AppState) -> Router {
    let limit = state.settings.max_body_bytes;
    Router::new()
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/refresh", post(auth::refresh))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/password", post(auth::change_password))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/.well-known/openid-configuration", get(auth::discovery))
        .route("/api/documents", post(documents::create).get(documents::list))
        .route("/api/documents/{id}", get(documents::get).delete(documents::delete))
        .route("/api/documents/{id}/source", get(documents::source))
        .route("/api/preview", post(preview::html))
        .route("/api/preview/pages", post(preview::pages))
        .route("/files/{*key}", get(files::download))
        .route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "this route does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
