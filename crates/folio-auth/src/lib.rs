//! folio's identity: the built-in user pool and the one token verifier.
//!
//! The pool registers and signs in users (argon2id), issues short-lived EdDSA access tokens
//! (JWTs) and opaque refresh tokens that rotate on every use. The [`Verifier`] checks access
//! tokens from any configured issuer — the built-in pool, Cognito, any OIDC provider — through
//! their JWKS, with the algorithm pinned by the key, never taken from the token.

mod builtin;
mod error;
mod keyring;
mod keys;
mod password;
mod pool;
mod signin;
mod store;
pub mod testing;
pub mod throttle;
mod verifier;

pub use builtin::{BuiltinPool, builtin_issuer};
pub use error::AuthError;
pub use keyring::{KeyRing, KeySchedule, SigningKeys, StoredKey};
pub use keys::{Jwk, Jwks, SigningKey};
pub use password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, hash_password, verify_password};
pub use pool::{PoolSettings, Session, UserPool, normalise_email};
pub use signin::{Registration, SignIn};
pub use store::{AccountStore, RefreshRecord, User};
pub use throttle::ThrottleSettings;
pub use verifier::{IssuerConfig, IssuerKeys, TrustedIssuer, Verified, Verifier};
