//! The one error type at the HTTP edge: `{ "error": { "code", "message", "retryable" } }`, its
//! code one of [`ErrorCode`]. 5xx bodies say nothing internal; the cause is logged once.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use folio_auth::AuthError;
use folio_core::{ErrorCode, RenderFailure};

/// An API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// Whether the same request may succeed later.
    pub retryable: bool,
    /// `Retry-After` seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, code and message (not retryable).
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retryable: false, retry_after: None }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
    }

    /// 404 `not_found` (also for other identities' documents: no existence oracle).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such document")
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, message)
    }

    /// 429 `rate_limited`, to be retried after `retry_after` seconds.
    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retryable: true,
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, message)
        }
    }

    /// 503 `storage_unavailable`: logs the cause, tells the client to try again.
    pub fn storage_unavailable(cause: impl std::fmt::Display, retryable: bool) -> Self {
        tracing::warn!(error = %cause, "storage unavailable");
        Self {
            retryable,
            retry_after: retryable.then_some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::StorageUnavailable,
                "storage is unavailable; try again shortly",
            )
        }
    }

    /// 500 `internal`: logs the cause, tells the client nothing about it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "something went wrong on our side",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message, "retryable": self.retryable }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        response.extensions_mut().insert(RefusedWith(self.code));
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The status each code is answered with, unless a declared refusal says otherwise (415 and
/// 405 carry `invalid_request`; a cookie refresh without its CSRF header and a bad download
/// signature answer 403 `unauthorized`).
pub const fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::NotConfirmed => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict | ErrorCode::IdempotencyConflict => StatusCode::CONFLICT,
        ErrorCode::PayloadTooLarge
        | ErrorCode::SourceTooLarge
        | ErrorCode::ImageTooLarge
        | ErrorCode::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::UnsupportedImage => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::NestingTooDeep
        | ErrorCode::PageLimitExceeded
        | ErrorCode::DocumentTooComplex
        | ErrorCode::RenderFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::RenderTimeout | ErrorCode::Overloaded | ErrorCode::StorageUnavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The code of a refusal, kept on its response so that the declared-refusals check can tell
/// which refusal left an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusedWith(pub ErrorCode);

impl From<folio_core::Error> for ApiError {
    fn from(err: folio_core::Error) -> Self {
        use folio_core::Error as E;
        let code = err.code();
        match err {
            E::InvalidRequest(message) => Self::invalid(message),
            E::Unauthorized(message) => Self::unauthorized(message),
            E::NotFound => Self::not_found(),
            E::Conflict { message, .. } => Self::new(StatusCode::CONFLICT, code, message),
            E::Render { failure, message, retryable } => Self {
                status: status_of(code),
                code,
                message,
                retryable,
                retry_after: (failure == RenderFailure::Overloaded).then_some(1),
            },
            E::Unavailable { message, retryable } => Self::storage_unavailable(message, retryable),
            E::Corrupt(message) => Self::internal(message),
            E::Refused { message, .. } => Self::new(status_of(code), code, message),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidRequest(message) => Self::invalid(message),
            AuthError::EmailTaken | AuthError::AlreadyConfirmed => {
                Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, err.to_string())
            }
            AuthError::WrongCredentials | AuthError::Unauthorized(_) => {
                Self::unauthorized(err.to_string())
            }
            AuthError::NotConfirmed => {
                Self::new(StatusCode::FORBIDDEN, ErrorCode::NotConfirmed, err.to_string())
            }
            AuthError::Throttled { retry_after_secs } => {
                Self::rate_limited(err.to_string(), retry_after_secs)
            }
            AuthError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such user")
            }
            AuthError::Unavailable(cause) => Self::storage_unavailable(cause, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The web app explains every code the API can answer with.
    #[test]
    fn the_web_app_has_a_sentence_for_every_error_code() {
        let messages = include_str!("../../../web/js/messages.js");
        for code in ErrorCode::ALL {
            assert!(
                messages.contains(&format!("\n  {}: ", code.as_str())),
                "web/js/messages.js has no sentence for {code}"
            );
        }
    }

    #[test]
    fn render_failures_answer_with_their_codes_and_statuses() {
        for (failure, status) in [
            (RenderFailure::SourceTooLarge, 413),
            (RenderFailure::Timeout, 503),
            (RenderFailure::Overloaded, 503),
            (RenderFailure::Failed, 422),
            (RenderFailure::Crashed, 422),
        ] {
            let api = ApiError::from(folio_core::Error::render(failure, "m", false));
            assert_eq!((api.status.as_u16(), api.code), (status, failure.code()));
        }
    }
}
