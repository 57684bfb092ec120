//! Errors of the user pool and the verifier.

use thiserror::Error;

/// Why an authentication step failed.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum AuthError {
    /// Bad input (an invalid email, a password outside the length rules).
    #[error("{0}")]
    InvalidRequest(String),
    /// The email is registered already.
    #[error("an account with this email exists already")]
    EmailTaken,
    /// Wrong email or password (the same answer for unknown accounts).
    #[error("wrong email or password")]
    WrongCredentials,
    /// The token is missing, malformed, expired, revoked or not from a trusted issuer.
    #[error("{0}")]
    Unauthorized(String),
    /// A confirmation of an account that needs none: confirmed already, or a provider that
    /// confirms at registration.
    #[error("this account needs no confirming: sign in")]
    AlreadyConfirmed,
    /// The account exists but its email address is not confirmed yet (providers that confirm
    /// by an emailed code: Cognito).
    #[error("confirm your email address first: enter the code that was emailed to you")]
    NotConfirmed,
    /// Too many failed attempts: wait this many seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    Throttled {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// No such user (operator commands).
    #[error("no such user")]
    NotFound,
    /// Storage or the network failed.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<folio_core::Error> for AuthError {
    fn from(err: folio_core::Error) -> Self {
        Self::Unavailable(err.to_string())
    }
}
