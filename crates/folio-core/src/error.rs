//! The pipeline's errors, by meaning: what the caller did wrong, what is missing, and what may
//! work if retried. No adapter's types appear here. [`ErrorCode`] is the closed set of codes
//! the API answers with; the HTTP mapping, the OpenAPI document and the web app's messages
//! come from it or are tested against it.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Every error code the API answers with (`{"error": {"code", …}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed.
    InvalidRequest,
    /// No valid credentials, or a signed download link that is not valid.
    Unauthorized,
    /// The account's email address is not confirmed yet.
    NotConfirmed,
    /// No such document (also someone else's) or route.
    NotFound,
    /// Something with that name exists (an e-mail address).
    Conflict,
    /// An idempotency key was reused with another request body.
    IdempotencyConflict,
    /// The request body is larger than the server takes.
    PayloadTooLarge,
    /// An upload is not an image folio takes, or not the type it claims.
    UnsupportedImage,
    /// An image has more bytes or pixels than folio takes.
    ImageTooLarge,
    /// Storing this would take the identity past its storage quota.
    QuotaExceeded,
    /// Too many requests; `Retry-After` says when to try again.
    RateLimited,
    /// The markdown is larger than the source limit.
    SourceTooLarge,
    /// Quotes, lists or inline markup nest too deeply.
    NestingTooDeep,
    /// The document lays out to more pages than allowed.
    PageLimitExceeded,
    /// Laying the document out would cost more than allowed.
    DocumentTooComplex,
    /// The document could not be rendered.
    RenderFailed,
    /// Rendering took longer than the deadline.
    RenderTimeout,
    /// Every renderer is busy.
    Overloaded,
    /// Storage failed.
    StorageUnavailable,
    /// A bug or corrupt data on the server's side.
    Internal,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: &[ErrorCode] = &[
        Self::InvalidRequest,
        Self::Unauthorized,
        Self::NotConfirmed,
        Self::NotFound,
        Self::Conflict,
        Self::IdempotencyConflict,
        Self::PayloadTooLarge,
        Self::UnsupportedImage,
        Self::ImageTooLarge,
        Self::QuotaExceeded,
        Self::RateLimited,
        Self::SourceTooLarge,
        Self::NestingTooDeep,
        Self::PageLimitExceeded,
        Self::DocumentTooComplex,
        Self::RenderFailed,
        Self::RenderTimeout,
        Self::Overloaded,
        Self::StorageUnavailable,
        Self::Internal,
    ];

    /// The code as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::Unauthorized => "unauthorized",
            Self::NotConfirmed => "not_confirmed",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedImage => "unsupported_image",
            Self::ImageTooLarge => "image_too_large",
            Self::QuotaExceeded => "quota_exceeded",
            Self::RateLimited => "rate_limited",
            Self::SourceTooLarge => "source_too_large",
            Self::NestingTooDeep => "nesting_too_deep",
            Self::PageLimitExceeded => "page_limit_exceeded",
            Self::DocumentTooComplex => "document_too_complex",
            Self::RenderFailed => "render_failed",
            Self::RenderTimeout => "render_timeout",
            Self::Overloaded => "overloaded",
            Self::StorageUnavailable => "storage_unavailable",
            Self::Internal => "internal",
        }
    }

    /// What the code means, in one sentence (the OpenAPI document lists it under each status).
    pub fn meaning(self) -> &'static str {
        match self {
            Self::InvalidRequest => {
                "The request is malformed or breaks a rule; the message says which."
            }
            Self::Unauthorized => {
                "No valid credentials, or a signed download link that is not valid."
            }
            Self::NotConfirmed => {
                "The account's email address is not confirmed: send the emailed code to /api/auth/confirm."
            }
            Self::NotFound => "No such document (also someone else's).",
            Self::Conflict => {
                "Something with that name exists (an email address), or the account is confirmed already."
            }
            Self::IdempotencyConflict => "The Idempotency-Key was used before with another body.",
            Self::PayloadTooLarge => "The request body is larger than the server takes.",
            Self::UnsupportedImage => {
                "The upload is not a PNG, JPEG, GIF or WebP image, or not the type it claims."
            }
            Self::ImageTooLarge => {
                "The image has more bytes or pixels than folio takes; the message gives the limit."
            }
            Self::QuotaExceeded => {
                "Storing this would pass your storage quota; the message gives your usage. Delete documents or images first."
            }
            Self::RateLimited => "Too many requests; Retry-After says when to try again.",
            Self::SourceTooLarge => "The markdown is larger than the source limit.",
            Self::NestingTooDeep => "Quotes, lists or inline markup nest too deeply.",
            Self::PageLimitExceeded => "The document lays out to more pages than allowed.",
            Self::DocumentTooComplex => "Laying the document out would cost more than allowed.",
            Self::RenderFailed => "The document could not be rendered.",
            Self::RenderTimeout => "Rendering took longer than the deadline.",
            Self::Overloaded => "Every renderer is busy; Retry-After says when to try again.",
            Self::StorageUnavailable => "Storage failed; the request may succeed if retried.",
            Self::Internal => "A bug or corrupt data on the server's side.",
        }
    }

    /// The code named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|code| code.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a document was not rendered: the closed set every renderer answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenderFailure {
    /// The markdown is larger than the source limit.
    SourceTooLarge,
    /// Quotes, lists or inline markup nest too deeply.
    NestingTooDeep,
    /// More pages than allowed.
    PageLimitExceeded,
    /// Too many table cells, footnotes or image pixels.
    DocumentTooComplex,
    /// The typesetter failed.
    Failed,
    /// The document stopped its renderer (twice, where workers retry): a crash or more memory
    /// than a renderer may take. The API answers `render_failed`, like [`Self::Failed`].
    Crashed,
    /// The render ran past its deadline.
    Timeout,
    /// Every renderer is busy (or a newer preview replaced this one).
    Overloaded,
}

impl RenderFailure {
    /// The API error code.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::SourceTooLarge => ErrorCode::SourceTooLarge,
            Self::NestingTooDeep => ErrorCode::NestingTooDeep,
            Self::PageLimitExceeded => ErrorCode::PageLimitExceeded,
            Self::DocumentTooComplex => ErrorCode::DocumentTooComplex,
            Self::Failed | Self::Crashed => ErrorCode::RenderFailed,
            Self::Timeout => ErrorCode::RenderTimeout,
            Self::Overloaded => ErrorCode::Overloaded,
        }
    }
}

/// An error of a pipeline function or port.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Error {
    /// The request is malformed (bad id, empty markdown, title too long, …).
    #[error("{0}")]
    InvalidRequest(String),
    /// The call carries no verified caller (a direct invocation without a Cognito identity).
    #[error("{0}")]
    Unauthorized(String),
    /// No such document for this identity (also when it belongs to someone else).
    #[error("not found")]
    NotFound,
    /// The request contradicts an earlier one (an idempotency key reused with another body).
    #[error("{message}")]
    Conflict {
        /// [`ErrorCode::IdempotencyConflict`] or [`ErrorCode::Conflict`].
        code: ErrorCode,
        /// What conflicts, for people.
        message: String,
    },
    /// The document could not be rendered.
    #[error("{message}")]
    Render {
        /// Why.
        failure: RenderFailure,
        /// What went wrong, for people.
        message: String,
        /// Whether trying again may succeed (a crashed worker, a timeout under load).
        retryable: bool,
    },
    /// Storage (objects, index, events) failed; `retryable` says whether trying again may help.
    #[error("storage unavailable: {message}")]
    Unavailable {
        /// What failed (for logs; never shown to users).
        message: String,
        /// Whether trying again may succeed.
        retryable: bool,
    },
    /// Stored data is not what folio wrote (a corrupt manifest, a foreign object).
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// An upload refused for what it is (`unsupported_image`, `image_too_large`).
    #[error("{message}")]
    Refused {
        /// The code.
        code: ErrorCode,
        /// Why, for people.
        message: String,
    },
}

impl Error {
    /// A retryable storage failure.
    pub fn unavailable(message: impl std::fmt::Display) -> Self {
        Self::Unavailable { message: message.to_string(), retryable: true }
    }

    /// A render failure.
    pub fn render(failure: RenderFailure, message: impl Into<String>, retryable: bool) -> Self {
        Self::Render { failure, message: message.into(), retryable }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { retryable: true, .. } | Self::Render { retryable: true, .. }
        )
    }

    /// The API error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::NotFound => ErrorCode::NotFound,
            Self::Conflict { code, .. } => *code,
            Self::Render { failure, .. } => failure.code(),
            Self::Unavailable { .. } => ErrorCode::StorageUnavailable,
            Self::Corrupt(_) => ErrorCode::Internal,
            Self::Refused { code, .. } => *code,
        }
    }
}

impl From<object_store::Error> for Error {
    fn from(err: object_store::Error) -> Self {
        match err {
            object_store::Error::NotFound { .. } => Self::NotFound,
            other => Self::unavailable(other),
        }
    }
}

/// Results of the pipeline.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_written_as_serde_writes_them_and_parse_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap_or_default();
            assert_eq!(json, code.as_str());
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
        }
    }
}
