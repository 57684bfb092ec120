//! The one error type at the HTTP edge: `{ "error": { "code", "message", "retryable" } }`.
//! 5xx bodies say nothing internal; the cause is logged once.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use folio_auth::AuthError;

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (DESIGN.md).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// Whether the same request may succeed later.
    pub retryable: bool,
    /// `Retry-After` seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message (not retryable).
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retryable: false, retry_after: None }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 404 `not_found` (also for other identities' documents: no existence oracle).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such document")
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 500 `internal`: logs the cause, tells the client nothing about it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message, "retryable": self.retryable }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<folio_core::Error> for ApiError {
    fn from(err: folio_core::Error) -> Self {
        use folio_core::Error as E;
        match err {
            E::InvalidRequest(message) => Self::invalid(message),
            E::NotFound => Self::not_found(),
            E::Render { code, message, retryable } => {
                let status = match code {
                    "source_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
                    "render_timeout" | "overloaded" => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                let retry_after = (code == "overloaded").then_some(1);
                Self { status, code, message, retryable, retry_after }
            }
            E::Unavailable { message, retryable } => {
                tracing::warn!(error = %message, "storage unavailable");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "storage_unavailable",
                    message: "storage is unavailable; try again shortly".to_owned(),
                    retryable,
                    retry_after: retryable.then_some(1),
                }
            }
            E::Corrupt(message) => Self::internal(message),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidRequest(message) => Self::invalid(message),
            AuthError::EmailTaken => Self::new(StatusCode::CONFLICT, "conflict", err.to_string()),
            AuthError::WrongCredentials | AuthError::Unauthorized(_) => {
                Self::unauthorized(err.to_string())
            }
            AuthError::Throttled { retry_after_secs } => Self {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "rate_limited",
                message: err.to_string(),
                retryable: true,
                retry_after: Some(retry_after_secs),
            },
            AuthError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "no such user"),
            AuthError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "auth storage unavailable");
                Self {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    code: "storage_unavailable",
                    message: "storage is unavailable; try again shortly".to_owned(),
                    retryable: true,
                    retry_after: Some(1),
                }
            }
        }
    }
}
