//! HMAC-signed download URLs: `/files/<key>?exp=<unix seconds>&sig=<base64url HMAC-SHA256>`.
//! The signature covers the method, the key and the expiry; the `/files` route verifies it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use folio_core::ObjectKey;
use folio_core::ports::UrlSigner;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The URL's time is up.
    #[error("the download link has expired")]
    Expired,
    /// The signature does not match the key, expiry and method.
    #[error("the download link is not valid")]
    Invalid,
}

/// Signs and verifies download URLs with a secret.
#[derive(Clone)]
pub struct HmacSigner {
    secret: Vec<u8>,
    base_url: String,
}

impl std::fmt::Debug for HmacSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacSigner").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl HmacSigner {
    /// A signer with `secret`, producing URLs under `base_url` (`""` for server-relative paths).
    pub fn new(secret: Vec<u8>, base_url: impl Into<String>) -> Self {
        Self { secret, base_url: base_url.into().trim_end_matches('/').to_owned() }
    }

    fn mac(&self, method: &str, key: &str, expires: i64) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).unwrap_or_else(|_| {
                // HMAC accepts keys of any length; this branch cannot be taken.
                <Hmac<Sha256> as KeyInit>::new_from_slice(b"folio")
                    .expect("HMAC takes any key length")
            });
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    /// Checks a request for `key` with the URL's `exp` and `sig` at time `now` (unix seconds).
    /// The comparison is constant-time.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        exp: &str,
        sig: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        let expires: i64 = exp.parse().map_err(|_| SignatureError::Invalid)?;
        let signature = URL_SAFE_NO_PAD.decode(sig).map_err(|_| SignatureError::Invalid)?;
        self.mac(method, key, expires)
            .verify_slice(&signature)
            .map_err(|_| SignatureError::Invalid)?;
        if now > expires {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

impl UrlSigner for HmacSigner {
    fn sign(&self, key: &ObjectKey, expires_unix: i64) -> String {
        let key = key.to_string();
        let sig =
            URL_SAFE_NO_PAD.encode(self.mac("GET", &key, expires_unix).finalize().into_bytes());
        format!("{}/files/{key}?exp={expires_unix}&sig={sig}", self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use folio_core::{DocumentId, IdentityId, ObjectKind};

    use super::*;

    fn parts(url: &str) -> (String, String, String) {
        let (path, query) = url.split_once('?').unwrap_or_default();
        let key = path.trim_start_matches("/files/").to_owned();
        let mut exp = String::new();
        let mut sig = String::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("exp", v)) => exp = v.to_owned(),
                Some(("sig", v)) => sig = v.to_owned(),
                _ => {}
            }
        }
        (key, exp, sig)
    }

    #[test]
    fn signed_urls_verify_until_they_expire_and_not_when_altered() {
        let signer = HmacSigner::new(b"secret".to_vec(), "");
        let key = ObjectKey::new(IdentityId::derive("i", "a"), DocumentId::new(), ObjectKind::Pdf);
        let other = ObjectKey::new(IdentityId::derive("i", "b"), key.document, ObjectKind::Pdf);
        let (k, exp, sig) = parts(&signer.sign(&key, 1000));
        assert_eq!(signer.verify("GET", &k, &exp, &sig, 999), Ok(()));
        assert_eq!(signer.verify("GET", &k, &exp, &sig, 1001), Err(SignatureError::Expired));
        assert_eq!(
            signer.verify("GET", &other.to_string(), &exp, &sig, 999),
            Err(SignatureError::Invalid)
        );
        assert_eq!(signer.verify("GET", &k, "2000", &sig, 999), Err(SignatureError::Invalid));
        assert_eq!(signer.verify("DELETE", &k, &exp, &sig, 999), Err(SignatureError::Invalid));
        assert_eq!(signer.verify("GET", &k, &exp, "AAAA", 999), Err(SignatureError::Invalid));
        assert_eq!(signer.verify("GET", &k, &exp, "%%%", 999), Err(SignatureError::Invalid));
        let stranger = HmacSigner::new(b"another".to_vec(), "");
        assert_eq!(stranger.verify("GET", &k, &exp, &sig, 999), Err(SignatureError::Invalid));
    }
}
