//! Password hashing with argon2id (the `argon2` crate's defaults: 19 MiB, 2 passes).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::AuthError;

/// Shortest password accepted (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted (argon2 accepts more; this bounds the work per attempt).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks the length rules and hashes.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AuthError::InvalidRequest(format!(
            "the password needs at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(AuthError::InvalidRequest(format!(
            "the password may have at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt);
    PasswordHasher::<PasswordHash>::hash_password_with_salt(
        &Argon2::default(),
        password.as_bytes(),
        &salt,
    )
    .map(|h| h.to_string())
    .map_err(|e| AuthError::Unavailable(e.to_string()))
}

/// Whether `password` matches `hash` (constant-time inside argon2).
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    PasswordVerifier::<str>::verify_password(&Argon2::default(), password.as_bytes(), hash).is_ok()
}

/// A hash of a random password, verified against when the account does not exist, so that
/// signing in takes as long for unknown emails as for known ones.
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy-password-never-used").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_rules_hold() {
        let hash = hash_password("correct horse").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(hash_password("short").is_err());
        assert!(hash_password(&"x".repeat(257)).is_err());
        assert!(!verify_password("x", "not a hash"));
    }
}
