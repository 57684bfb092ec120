//! One verifier for every issuer: the built-in pool, Cognito, any OIDC provider. Keys come from
//! each issuer's JWKS (fetched only from configured URLs, cached, refreshed on an unknown `kid`
//! at most once per interval); the algorithm is pinned by the key, never taken from the token.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use folio_core::IdentityId;
use folio_core::ports::Clock;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::sync::Mutex;

use crate::AuthError;
use crate::keys::{Jwk, Jwks};

/// Tolerated clock skew for `exp` and `nbf`.
const LEEWAY_SECS: i64 = 30;
/// The longest token looked at.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A trusted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The exact `iss` its tokens carry.
    pub issuer: String,
    /// Where its JWKS is (configurable apart from the issuer: Cognito's local emulators differ).
    pub jwks_url: String,
    /// Required `aud` (OIDC), if any.
    pub audience: Option<String>,
    /// Required `client_id` claim (Cognito access tokens carry it instead of `aud`).
    pub client_id: Option<String>,
    /// Required `token_use` claim (Cognito: `access`).
    pub token_use: Option<String>,
}

/// Who a verified token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The issuer.
    pub issuer: String,
    /// The subject.
    pub subject: String,
    /// The derived identity id.
    pub identity: IdentityId,
}

impl IssuerConfig {
    /// Refuses an issuer whose tokens would be accepted whatever client they were made for:
    /// without an audience or a client id, a token the same provider issued to any other
    /// application (another app client of a Cognito pool, say) would sign in here.
    pub fn check(&self) -> Result<(), AuthError> {
        if self.audience.is_none() && self.client_id.is_none() {
            return Err(AuthError::InvalidRequest(format!(
                "the issuer {} needs an audience or a client id to check (oidc_audience or oidc_client_id): without one, tokens it made for any other application would be accepted",
                self.issuer
            )));
        }
        Ok(())
    }
}

struct Issuer {
    config: IssuerConfig,
    /// Keys known without fetching (the built-in pool's own).
    local: Option<LocalKeys>,
    /// The fetched keys and when they were last fetched. A plain mutex held only to read or
    /// swap: a fetch never holds it, so a hanging JWKS endpoint cannot delay tokens signed
    /// with keys already known.
    cache: Mutex<(Jwks, Option<i64>)>,
    /// Taken for a fetch, so concurrent unknown `kid`s make one request, not many.
    fetching: tokio::sync::Mutex<()>,
}

/// Verifies access tokens.
pub struct Verifier {
    issuers: Vec<Issuer>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    refetch_interval_ms: i64,
}

/// An issuer the verifier trusts, and where its keys come from.
#[derive(Debug, Clone)]
pub struct TrustedIssuer {
    /// The issuer, its audience or client id, and its JWKS URL.
    pub config: IssuerConfig,
    /// Its keys.
    pub keys: IssuerKeys,
}

/// Keys an issuer's tokens are checked against without fetching.
enum LocalKeys {
    Fixed(Jwks),
    Ring(Arc<crate::SigningKeys>),
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
pub enum IssuerKeys {
    /// Known in process.
    Fixed(Jwks),
    /// The built-in pool's key ring (read again when a token names a key not loaded yet).
    Ring(Arc<crate::SigningKeys>),
    /// Fetched from the issuer's JWKS URL (cached, refetched for unknown key ids).
    Remote,
}

impl Verifier {
    /// A verifier trusting the built-in pool (`UserPool::trusted_issuer`) and the configured
    /// issuers, each of which must name an audience or a client id ([`IssuerConfig::check`]).
    pub fn new(
        builtin: TrustedIssuer,
        others: Vec<IssuerConfig>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
        let mut issuers = vec![builtin];
        issuers.extend(
            others.into_iter().map(|config| TrustedIssuer { config, keys: IssuerKeys::Remote }),
        );
        Self::with_issuers(issuers, clock)
    }

    /// A verifier trusting exactly `issuers` (at least one): a deployment with an outside issuer
    /// only (Cognito, any OIDC provider) has no built-in pool.
    pub fn with_issuers(
        issuers: Vec<TrustedIssuer>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AuthError> {
        if issuers.is_empty() {
            return Err(AuthError::InvalidRequest("trust at least one token issuer".to_owned()));
        }
        for trusted in &issuers {
            trusted.config.check()?;
        }
        let issuers = issuers
            .into_iter()
            .map(|trusted| Issuer {
                config: trusted.config,
                local: match trusted.keys {
                    IssuerKeys::Fixed(jwks) => Some(LocalKeys::Fixed(jwks)),
                    IssuerKeys::Ring(keys) => Some(LocalKeys::Ring(keys)),
                    IssuerKeys::Remote => None,
                },
                cache: Mutex::new((Jwks { keys: vec![] }, None)),
                fetching: tokio::sync::Mutex::new(()),
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Ok(Self { issuers, http, clock, refetch_interval_ms: 60_000 })
    }

    /// Verifies a token; returns the caller.
    pub async fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let reject = |why: &str| AuthError::Unauthorized(format!("invalid access token: {why}"));
        if token.len() > MAX_TOKEN_BYTES {
            return Err(reject("too long"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| reject("malformed"))?;
        if header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(reject("embedded or remote keys are not accepted"));
        }
        let kid = header.kid.as_deref().ok_or_else(|| reject("no key id"))?;
        if kid.is_empty()
            || kid.len() > 256
            || !kid.chars().all(|c| c.is_ascii_alphanumeric() || "-_.=".contains(c))
        {
            return Err(reject("bad key id"));
        }
        let unverified_iss = unverified_issuer(token).ok_or_else(|| reject("no issuer"))?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| same_issuer(&i.config.issuer, &unverified_iss))
            .ok_or_else(|| reject("untrusted issuer"))?;
        let jwk = self.key(issuer, kid).await?.ok_or_else(|| reject("unknown key"))?;
        let algorithm = pinned_algorithm(&jwk).ok_or_else(|| reject("unsupported key"))?;
        if header.alg != algorithm {
            return Err(reject("algorithm does not match the key"));
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| reject("unusable key"))?;
        let mut validation = Validation::new(algorithm);
        // Time is checked below with the injectable clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer.config.issuer.as_str()]);
        match &issuer.config.audience {
            Some(audience) => validation.set_audience(&[audience.as_str()]),
            None => validation.validate_aud = false,
        }
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
            .map_err(|e| reject(&format!("{:?}", e.kind()).to_lowercase()))?
            .claims;

        let now = self.clock.now_ms() / 1000;
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| reject("no expiry"))?;
        if now > exp + LEEWAY_SECS {
            return Err(reject("expired"));
        }
        match claims.get("nbf") {
            None => {}
            Some(nbf) => match nbf.as_i64() {
                Some(nbf) if nbf <= now + LEEWAY_SECS => {}
                Some(_) => return Err(reject("not yet valid")),
                // A `nbf` that is not a number (`"2030-01-01"`) is not ignored.
                None => return Err(reject("malformed not-before")),
            },
        }
        for (claim, wanted) in
            [("client_id", &issuer.config.client_id), ("token_use", &issuer.config.token_use)]
        {
            if let Some(wanted) = wanted
                && claims.get(claim).and_then(serde_json::Value::as_str) != Some(wanted.as_str())
            {
                return Err(reject(&format!("wrong {claim}")));
            }
        }
        let subject = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| reject("no subject"))?;
        Ok(Verified {
            issuer: issuer.config.issuer.clone(),
            subject: subject.to_owned(),
            identity: IdentityId::derive(&issuer.config.issuer, subject),
        })
    }

    async fn key(&self, issuer: &Issuer, kid: &str) -> Result<Option<Jwk>, AuthError> {
        match &issuer.local {
            Some(LocalKeys::Fixed(jwks)) => return Ok(jwks.find(kid).cloned()),
            Some(LocalKeys::Ring(keys)) => return keys.find(kid).await,
            None => {}
        }
        // Known keys and the refetch interval are answered without waiting for any fetch.
        let known = |issuer: &Issuer| -> (Option<Jwk>, bool) {
            let cache = issuer.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = self.clock.now_ms();
            let recent = cache.1.is_some_and(|fetched| now - fetched < self.refetch_interval_ms);
            (cache.0.find(kid).cloned(), recent)
        };
        match known(issuer) {
            (Some(jwk), _) => return Ok(Some(jwk)),
            (None, true) => return Ok(None),
            (None, false) => {}
        }
        let _fetching = issuer.fetching.lock().await;
        // Another caller may have fetched while this one waited.
        match known(issuer) {
            (Some(jwk), _) => return Ok(Some(jwk)),
            (None, true) => return Ok(None),
            (None, false) => {}
        }
        {
            let mut cache = issuer.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache.1 = Some(self.clock.now_ms());
        }
        let fetched = self.fetch(&issuer.config.jwks_url).await?;
        let jwk = fetched.find(kid).cloned();
        issuer.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0 = fetched;
        Ok(jwk)
    }

    async fn fetch(&self, url: &str) -> Result<Jwks, AuthError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(format!("JWKS {url}: {e}")))?;
        if !response.status().is_success() {
            return Err(AuthError::Unavailable(format!("JWKS {url}: HTTP {}", response.status())));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| AuthError::Unavailable(format!("JWKS {url}: {e}")))?;
        if body.len() > 1024 * 1024 {
            return Err(AuthError::Unavailable(format!("JWKS {url}: too large")));
        }
        // Keys of kinds the library does not know are skipped, not fatal.
        let raw: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| AuthError::Unavailable(format!("JWKS {url}: {e}")))?;
        let keys = raw
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .map(|keys| {
                keys.iter().filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok()).collect()
            })
            .unwrap_or_default();
        Ok(Jwks { keys })
    }
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The `iss` claim read without verifying (only to pick the issuer whose keys verify it).
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// The one algorithm a key may verify: from its `alg`, which must fit its type, or from its
/// type alone. Symmetric keys are never accepted.
fn pinned_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(by_type),
        Some(declared) => {
            let declared = match declared {
                KeyAlgorithm::RS256 => Algorithm::RS256,
                KeyAlgorithm::RS384 => Algorithm::RS384,
                KeyAlgorithm::RS512 => Algorithm::RS512,
                KeyAlgorithm::PS256 => Algorithm::PS256,
                KeyAlgorithm::ES256 => Algorithm::ES256,
                KeyAlgorithm::ES384 => Algorithm::ES384,
                KeyAlgorithm::EdDSA => Algorithm::EdDSA,
                _ => return None,
            };
            let fits = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => matches!(
                    declared,
                    Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256
                ),
                _ => declared == by_type,
            };
            fits.then_some(declared)
        }
    }
}
