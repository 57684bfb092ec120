//! Objects in an S3 bucket or any S3-compatible store (MinIO, Ceph, Garage, SeaweedFS, R2),
//! through `object_store`'s S3 client: the same port the embedded shape serves from files.

use std::sync::Arc;

use folio_core::{Error, Result};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use percent_encoding::percent_decode_str;

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
    /// Reads `s3://bucket[?endpoint=URL][&region=NAME]` (the objects setting of the cluster
    /// shape); refuses anything else with the reason.
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
        let mut options =
            Self { bucket: bucket.to_owned(), endpoint: None, region: "us-east-1".to_owned() };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| invalid(format!("{name} is not UTF-8")))?
                .into_owned();
            match name {
                "endpoint" => {
                    if !(value.starts_with("http://") || value.starts_with("https://")) {
                        return Err(invalid(format!(
                            "endpoint {value:?} must be an http:// or https:// URL"
                        )));
                    }
                    options.endpoint = Some(value.trim_end_matches('/').to_owned());
                }
                "region" if !value.is_empty() => options.region = value,
                "region" => return Err(invalid("region is empty".to_owned())),
                other => {
                    return Err(invalid(format!(
                        "unknown setting {other:?} (known: endpoint, region)"
                    )));
                }
            }
        }
        Ok(options)
    }

    /// The object store (no request is made until it is used).
    pub fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        let mut builder =
            AmazonS3Builder::from_env().with_bucket_name(&self.bucket).with_region(&self.region);
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|e| Error::InvalidRequest(format!("S3 store: {e}")))?;
        Ok(Arc::new(store))
    }
}
