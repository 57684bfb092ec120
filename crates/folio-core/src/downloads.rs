//! Downloads: the rule that names a downloaded file, and HMAC-signed download URLs served by
//! folio itself (`/files/<key>?exp=<unix seconds>&name=<file name>&sig=<base64url
//! HMAC-SHA256>`). The signature covers the method, the key, the expiry and the file name.
//!
//! [`HmacSigner`] is pure code shared by every shape that serves its own downloads (embedded,
//! cluster); it lives here so that no adapter crate needs another. Shapes whose store signs its
//! own URLs (S3 presigned GETs) implement [`UrlSigner`] alone and mount no `/files` route.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

use crate::ObjectKey;
use crate::ports::{DownloadRefused, DownloadRequest, DownloadVerifier, UrlSigner};

/// The most characters of a title kept in a file name.
const MAX_NAME_CHARS: usize = 120;

/// The name a document's PDF is downloaded as, the same in every shape: the title with
/// characters that file systems or headers trip on replaced, cut at 120 characters, `.pdf`
/// added (`document.pdf` for a title with nothing usable).
pub fn download_file_name(title: &str) -> String {
    let name: String = title
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') { '_' } else { c }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim().trim_matches('.').trim();
    if name.is_empty() { "document.pdf".to_owned() } else { format!("{name}.pdf") }
}

/// `Content-Disposition: attachment` for `file_name` (RFC 6266): an ASCII fallback with unsafe
/// characters replaced, and the exact UTF-8 name percent-encoded (RFC 5987).
pub fn content_disposition(file_name: &str) -> String {
    let ascii: String = file_name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || " -_.,()".contains(c) { c } else { '_' })
        .collect();
    let ascii = ascii.trim();
    let stem = ascii.strip_suffix(".pdf").unwrap_or(ascii);
    let ascii = if stem.trim_matches(['.', '_', ' ']).is_empty() { "document.pdf" } else { ascii };
    let encoded = utf8_percent_encode(file_name, RFC5987_UNRESERVED);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// What RFC 5987 lets through unencoded (attr-char), less a few to stay conservative.
const RFC5987_UNRESERVED: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

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

    fn mac(&self, method: &str, key: &str, expires: i64, file_name: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).unwrap_or_else(|_| {
                // HMAC accepts keys of any length; this branch cannot be taken.
                <Hmac<Sha256> as KeyInit>::new_from_slice(b"folio")
                    .expect("HMAC takes any key length")
            });
        for part in [method, key, &expires.to_string(), file_name] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }
}

#[async_trait::async_trait]
impl UrlSigner for HmacSigner {
    async fn sign(
        &self,
        key: &ObjectKey,
        expires_unix: i64,
        file_name: &str,
    ) -> crate::Result<String> {
        let key = key.to_string();
        let sig = URL_SAFE_NO_PAD
            .encode(self.mac("GET", &key, expires_unix, file_name).finalize().into_bytes());
        let name = utf8_percent_encode(file_name, RFC5987_UNRESERVED);
        Ok(format!("{}/files/{key}?exp={expires_unix}&name={name}&sig={sig}", self.base_url))
    }
}

impl DownloadVerifier for HmacSigner {
    fn verify(&self, request: &DownloadRequest<'_>, now_unix: i64) -> Result<(), DownloadRefused> {
        let expires: i64 = request.exp.parse().map_err(|_| DownloadRefused::Invalid)?;
        let signature =
            URL_SAFE_NO_PAD.decode(request.sig).map_err(|_| DownloadRefused::Invalid)?;
        // Constant-time comparison.
        self.mac(request.method, request.key, expires, request.file_name)
            .verify_slice(&signature)
            .map_err(|_| DownloadRefused::Invalid)?;
        if now_unix > expires {
            return Err(DownloadRefused::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_titles_alike_everywhere() {
        assert_eq!(download_file_name("Report 2026"), "Report 2026.pdf");
        assert_eq!(download_file_name("a/b\\c: d?"), "a_b_c_ d_.pdf");
        assert_eq!(download_file_name("..."), "document.pdf");
        assert_eq!(download_file_name("  "), "document.pdf");
        assert_eq!(download_file_name("line\r\nbreak"), "linebreak.pdf");
        assert_eq!(download_file_name(&"é".repeat(500)).chars().count(), 124);
    }

    #[test]
    fn content_disposition_is_safe_for_any_name() {
        assert_eq!(
            content_disposition("Report 2026.pdf"),
            "attachment; filename=\"Report 2026.pdf\"; filename*=UTF-8''Report%202026.pdf"
        );
        let nasty = content_disposition(&download_file_name("a\"; filename=evil.exe\r\nX: y/../ü"));
        assert!(!nasty.contains('\r') && !nasty.contains('\n'), "{nasty}");
        assert_eq!(nasty.matches('"').count(), 2, "{nasty}");
        assert!(nasty.contains("%C3%BC.pdf"), "{nasty}");
        assert!(content_disposition("é.pdf").contains("filename=\"document.pdf\""));
    }
}
