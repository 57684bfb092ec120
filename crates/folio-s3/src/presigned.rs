//! Downloads served by the bucket itself: S3 presigned GET URLs (SigV4 in the query string)
//! that name the file as every shape does, for stores the browsers can reach.

use std::time::Duration;

use async_trait::async_trait;
use folio_core::downloads::content_disposition;
use folio_core::ports::UrlSigner;
use folio_core::{Error, ObjectKey, ObjectKind, Result};
use object_store::aws::AmazonS3;
use object_store::signer::{SignedUrlOptions, Signer};

/// The longest a SigV4 presigned URL may live (S3 refuses longer ones).
const MAX_PRESIGNED_SECS: i64 = 7 * 24 * 3600;

/// Signs S3 presigned GET URLs. The response's `Content-Disposition` (the file name) and
/// `Content-Type` are query parameters inside the signature, so neither can be altered.
#[derive(Debug)]
pub struct PresignedDownloads {
    s3: AmazonS3,
}

impl PresignedDownloads {
    /// Signs with `s3`'s credentials, for its endpoint (the one browsers will fetch from).
    pub(crate) fn new(s3: AmazonS3) -> Self {
        Self { s3 }
    }
}

#[async_trait]
impl UrlSigner for PresignedDownloads {
    async fn sign(&self, key: &ObjectKey, expires_unix: i64, file_name: &str) -> Result<String> {
        // SigV4 counts from the moment of signing (the signer's own clock).
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let lifetime = (expires_unix - now).clamp(1, MAX_PRESIGNED_SECS);
        let content_type = match key.kind {
            ObjectKind::Pdf => "application/pdf",
            ObjectKind::Manifest => "application/json",
            ObjectKind::Source => "text/markdown; charset=utf-8",
        };
        let options = SignedUrlOptions::default().with_query([
            ("response-content-disposition", content_disposition(file_name)),
            ("response-content-type", content_type.to_owned()),
        ]);
        let url = self
            .s3
            .signed_url_opts(
                http::Method::GET,
                &key.path(),
                Duration::from_secs(lifetime.unsigned_abs()),
                &options,
            )
            .await
            .map_err(|e| Error::unavailable(format!("presigning {key}: {e}")))?;
        Ok(url.to_string())
    }
}
