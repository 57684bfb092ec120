//! The names of the secrets a deployment keeps in its [`crate::ports::SecretStore`], defined
//! once so that every adapter and command asks for the same ones.

/// The HMAC key of download URLs folio serves itself (32 random bytes).
pub const DOWNLOAD_URL_HMAC: &str = "download-url-hmac";

/// The seed of the built-in user pool's Ed25519 token-signing key (32 random bytes).
pub const TOKEN_SIGNING_SEED: &str = "token-signing-ed25519-seed";

/// The built-in pool's issuer id (16 random bytes, a UUID): fixed at first start, because
/// identity ids are derived from it.
pub const BUILTIN_ISSUER: &str = "builtin-issuer";
