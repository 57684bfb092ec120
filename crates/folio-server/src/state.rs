//! What every handler can reach.

use std::sync::Arc;

use folio_auth::{UserPool, Verifier};
use folio_core::Pipeline;
use folio_core::ports::{DownloadVerifier, IdempotencyStore};

/// Server settings (limits and cookies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Largest request body (default 2 MiB): larger requests get `payload_too_large`.
    pub max_body_bytes: usize,
    /// Mark the refresh cookie `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
    /// How long idempotency keys are kept (default 24 h).
    pub idempotency_ttl_ms: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (otherwise the client address is the
    /// connection's peer).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 * 1024 * 1024,
            secure_cookies: false,
            idempotency_ttl_ms: 24 * 3600 * 1000,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Shared state of the handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The document pipeline.
    pub pipeline: Pipeline,
    /// The built-in user pool.
    pub pool: Arc<UserPool>,
    /// Verifies access tokens of every trusted issuer.
    pub verifier: Arc<Verifier>,
    /// Verifies signed download URLs where this shape serves its own downloads (`/files/…` is
    /// mounted only then; S3 presigned URLs need none).
    pub downloads: Option<Arc<dyn DownloadVerifier>>,
    /// Idempotency keys of create requests.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// Limits and cookies.
    pub settings: ServerSettings,
    /// Request counters and latencies.
    pub metrics: Arc<crate::Metrics>,
    /// Creates per identity.
    pub create_limit: Arc<crate::RateLimiter>,
    /// Previews per identity.
    pub preview_limit: Arc<crate::RateLimiter>,
    /// Registrations per client address.
    pub register_limit: Arc<crate::RateLimiter<String>>,
}

impl AppState {
    /// Takes one request from `key`'s bucket of `limiter`, or answers 429.
    pub fn rate_limit<K: std::hash::Hash + Eq + Clone>(
        &self,
        limiter: &crate::RateLimiter<K>,
        key: &K,
    ) -> Result<(), crate::ApiError> {
        limiter.check(key, self.pipeline.clock.now_ms()).map_err(|retry_after| {
            crate::ApiError::rate_limited("too many requests; slow down", retry_after)
        })
    }
}
