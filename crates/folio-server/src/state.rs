//! What every handler can reach.

use std::sync::Arc;

use folio_auth::{SignIn, Verifier};
use folio_core::Services;
use folio_core::ports::{Admission, RateBudget};

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
    /// Rate budgets.
    pub rates: RatePolicy,
    /// How old the latest readiness check may be before `/readyz` runs one itself (the
    /// background check runs every 5 s; an older one means it has stopped).
    pub readiness_max_age_ms: i64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 * 1024 * 1024,
            secure_cookies: false,
            idempotency_ttl_ms: 24 * 3600 * 1000,
            trusted_proxies: Vec::new(),
            rates: RatePolicy::default(),
            readiness_max_age_ms: 15_000,
        }
    }
}

/// Shared state of the handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Every port of the deployment: the pipeline, the event queue where the shape consumes
    /// its own events, idempotency keys, rate limits, the download verifier where the shape
    /// serves `/files/…`, and the latest readiness check.
    pub services: Services,
    /// Where people register and sign in, where this deployment does it (`/api/auth/*` and the
    /// well-known documents are mounted only then; with an outside issuer only, sign-in happens
    /// there).
    pub sign_in: Option<Arc<dyn SignIn>>,
    /// Verifies access tokens of every trusted issuer.
    pub verifier: Arc<Verifier>,
    /// Limits and cookies.
    pub settings: ServerSettings,
    /// Request counters and latencies.
    pub metrics: Arc<crate::Metrics>,
}

/// What is rate limited, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimited {
    /// Creates, per identity.
    Create,
    /// Previews, per identity.
    Preview,
    /// Registrations, per client address.
    Register,
}

impl RateLimited {
    fn prefix(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Preview => "preview",
            Self::Register => "register",
        }
    }
}

/// The rate budgets of the API (settings decide them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePolicy {
    /// Creates per identity (default: 60 a minute, 20 at once).
    pub create: RateBudget,
    /// Previews per identity (default: 1200 a minute, 120 at once).
    pub preview: RateBudget,
    /// Registrations per client address (default: 30 a minute, 10 at once).
    pub register: RateBudget,
}

impl RatePolicy {
    /// Bursts of a third of a minute's creates and registrations, and a tenth of a minute's
    /// previews.
    pub fn new(
        creates_per_minute: u32,
        previews_per_minute: u32,
        registrations_per_minute: u32,
    ) -> Self {
        let creates = creates_per_minute.max(1);
        let previews = previews_per_minute.max(1);
        let registrations = registrations_per_minute.max(1);
        Self {
            create: RateBudget { burst: (creates / 3).max(1), per_minute: creates },
            preview: RateBudget { burst: (previews / 10).max(1), per_minute: previews },
            register: RateBudget { burst: (registrations / 3).max(1), per_minute: registrations },
        }
    }

    fn budget(&self, what: RateLimited) -> RateBudget {
        match what {
            RateLimited::Create => self.create,
            RateLimited::Preview => self.preview,
            RateLimited::Register => self.register,
        }
    }
}

impl Default for RatePolicy {
    fn default() -> Self {
        Self::new(60, 1200, 30)
    }
}

impl AppState {
    /// The state over a deployment's services bundle: its sign-in where the deployment has
    /// one, the verifier of every issuer it trusts.
    pub fn new(
        services: &Services,
        sign_in: Option<Arc<dyn SignIn>>,
        verifier: Arc<Verifier>,
        settings: ServerSettings,
    ) -> Self {
        Self {
            services: services.clone(),
            sign_in,
            verifier,
            settings,
            metrics: Default::default(),
        }
    }

    /// The sign-in (its routes are mounted only when there is one).
    pub fn sign_in(&self) -> Result<&dyn SignIn, crate::ApiError> {
        self.sign_in.as_deref().ok_or_else(|| {
            crate::ApiError::new(
                http::StatusCode::NOT_FOUND,
                folio_core::ErrorCode::NotFound,
                "this deployment signs people in elsewhere",
            )
        })
    }

    /// Takes one `what` request from `who`'s budget, or answers 429.
    pub async fn rate_limit(&self, what: RateLimited, who: &str) -> Result<(), crate::ApiError> {
        let key = format!("{}:{who}", what.prefix());
        let budget = self.settings.rates.budget(what);
        let services = &self.services;
        match services.limits.take(&key, budget, services.pipeline.clock.now_ms()).await? {
            Admission::Admitted => Ok(()),
            Admission::Refused { retry_after_secs } => {
                Err(crate::ApiError::rate_limited("too many requests; slow down", retry_after_secs))
            }
        }
    }
}
