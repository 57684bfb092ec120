//! Objects in an S3 bucket or any S3-compatible store (MinIO, Ceph, Garage, SeaweedFS, R2),
//! through `object_store`'s S3 client: the same port the embedded shape serves from files.

use std::sync::Arc;

use folio_core::backend_url::query_pairs;
use folio_core::{Error, Result};
use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder};

use crate::PresignedDownloads;

/// Where the objects are. Credentials are not part of it: they come from the usual AWS
/// variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), or the
/// instance's role on AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Options {
    /// The bucket.
    pub bucket: String,
    /// An S3-compatible endpoint (`http://127.0.0.1:8333`); `None` for AWS itself. With an
    /// endpoint, requests are path-style (`endpoint/bucket/key`), which every such store takes.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` unless named; most S3-compatible stores accept any).
    pub region: String,
    /// Who serves downloads (`downloads=folio|presigned`).
    pub downloads: Downloads,
    /// Where browsers reach the store, when not at `endpoint` (`public_endpoint=URL`, only with
    /// presigned downloads): URLs are signed for this host.
    pub public_endpoint: Option<String>,
}

/// Who serves a document's download URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Downloads {
    /// folio's own HMAC-signed `/files/…` URLs, served by any instance: the store need not be
    /// reachable from browsers (the default).
    #[default]
    Folio,
    /// S3 presigned GETs, fetched from the store itself: for stores browsers can reach.
    Presigned,
}

/// A bucket name as S3 allows it: 3–63 of `a-z 0-9 . -`, starting and ending with a letter or
/// digit.
fn valid_bucket(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(name.chars().next())
        && edge(name.chars().last())
}

impl S3Options {
    /// Reads `s3://bucket[?endpoint=URL][&region=NAME][&downloads=folio|presigned]
    /// [&public_endpoint=URL]` (the objects setting of the cluster shape); refuses anything
    /// else with the reason.
    pub fn from_url(url: &str) -> Result<Self> {
        let invalid = |why: String| Error::InvalidRequest(format!("objects URL {url:?}: {why}"));
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| invalid("an S3 store is written s3://bucket?endpoint=…".to_owned()))?;
        let (bucket, query) = rest.split_once('?').unwrap_or((rest, ""));
        let bucket = bucket.trim_end_matches('/');
        if !valid_bucket(bucket) {
            return Err(invalid(format!(
                "{bucket:?} is not a bucket name (3–63 of a-z, 0-9, '.', '-')"
            )));
        }
        let mut options = Self {
            bucket: bucket.to_owned(),
            endpoint: None,
            region: "us-east-1".to_owned(),
            downloads: Downloads::Folio,
            public_endpoint: None,
        };
        let http_url = |name: &str, value: &str| {
            if value.starts_with("http://") || value.starts_with("https://") {
                Ok(value.trim_end_matches('/').to_owned())
            } else {
                Err(invalid(format!("{name} {value:?} must be an http:// or https:// URL")))
            }
        };
        for (name, value) in query_pairs(query).map_err(invalid)? {
            match name.as_str() {
                "endpoint" => options.endpoint = Some(http_url(&name, &value)?),
                "public_endpoint" => options.public_endpoint = Some(http_url(&name, &value)?),
                "region" if !value.is_empty() => options.region = value,
                "region" => return Err(invalid("region is empty".to_owned())),
                "downloads" => {
                    options.downloads = match value.as_str() {
                        "folio" => Downloads::Folio,
                        "presigned" => Downloads::Presigned,
                        _ => {
                            return Err(invalid(format!(
                                "downloads {value:?} is neither folio nor presigned"
                            )));
                        }
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "unknown setting {other:?} (known: endpoint, region, downloads, \
                         public_endpoint)"
                    )));
                }
            }
        }
        if options.public_endpoint.is_some() && options.downloads != Downloads::Presigned {
            return Err(invalid(
                "public_endpoint is where browsers fetch presigned downloads: it needs \
                 downloads=presigned"
                    .to_owned(),
            ));
        }
        Ok(options)
    }

    /// The object store (no request is made until it is used).
    pub fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        Ok(Arc::new(self.client(self.endpoint.as_deref())?))
    }

    /// The signer of presigned downloads, for the host browsers reach (`public_endpoint`, else
    /// `endpoint`, else AWS).
    pub fn presigned_downloads(&self) -> Result<PresignedDownloads> {
        let endpoint = self.public_endpoint.as_deref().or(self.endpoint.as_deref());
        Ok(PresignedDownloads::new(self.client(endpoint)?))
    }

    fn client(&self, endpoint: Option<&str>) -> Result<AmazonS3> {
        let mut builder =
            AmazonS3Builder::from_env().with_bucket_name(&self.bucket).with_region(&self.region);
        if let Some(endpoint) = endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        builder.build().map_err(|e| Error::InvalidRequest(format!("S3 store: {e}")))
    }
}
