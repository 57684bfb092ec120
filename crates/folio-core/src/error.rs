//! The pipeline's errors, by meaning: what the caller did wrong, what is missing, and what may
//! work if retried. No adapter's types appear here.

use thiserror::Error;

/// An error of a pipeline function or port.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Error {
    /// The request is malformed (bad id, empty markdown, title too long, …).
    #[error("{0}")]
    InvalidRequest(String),
    /// No such document for this identity (also when it belongs to someone else).
    #[error("not found")]
    NotFound,
    /// The document could not be rendered; `code` is the API error code
    /// (`source_too_large`, `nesting_too_deep`, `page_limit_exceeded`, `document_too_complex`,
    /// `render_failed`,
    /// `render_timeout`, …).
    #[error("{message}")]
    Render {
        /// The API error code.
        code: &'static str,
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
}

impl Error {
    /// A retryable storage failure.
    pub fn unavailable(message: impl std::fmt::Display) -> Self {
        Self::Unavailable { message: message.to_string(), retryable: true }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { retryable: true, .. } | Self::Render { retryable: true, .. }
        )
    }

    /// The API error code for this error (DESIGN.md's list).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::NotFound => "not_found",
            Self::Render { code, .. } => code,
            Self::Unavailable { .. } => "storage_unavailable",
            Self::Corrupt(_) => "internal",
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
