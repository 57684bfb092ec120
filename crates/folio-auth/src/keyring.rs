//! The built-in pool's signing keys as a key ring: one current key signs, keys retired by
//! `folio keys rotate` keep verifying (and stay in the JWKS) for an overlap, then drop out.
//!
//! The ring is a port ([`KeyRing`]) so every process of a deployment sees one ring (SQLite in
//! the embedded shape, PostgreSQL in the cluster). [`SigningKeys`] caches it: a rotation made
//! by another process is picked up within [`KeySchedule::refresh`], at once when a token
//! names a key this process has not loaded yet.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use folio_core::ports::Clock;

use crate::AuthError;
use crate::keys::{Jwks, SigningKey};

/// A signing key as the ring stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The Ed25519 seed (32 bytes).
    pub seed: Vec<u8>,
    /// When it was added (ms since the epoch).
    pub created_ms: i64,
    /// When a newer key replaced it; `None` for the current key.
    pub retired_ms: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("created_ms", &self.created_ms)
            .field("retired_ms", &self.retired_ms)
            .finish_non_exhaustive()
    }
}

/// Where the signing keys are kept. Contract: `check_key_ring` in [`crate::testing`].
#[async_trait]
pub trait KeyRing: Send + Sync + 'static {
    /// Every stored key, oldest first.
    async fn keys(&self) -> Result<Vec<StoredKey>, AuthError>;
    /// Stores `seed` as the current key when the ring is empty; when processes start together,
    /// exactly one seed is kept.
    async fn seed_if_empty(&self, seed: &[u8], now_ms: i64) -> Result<(), AuthError>;
    /// Makes `seed` the current key and retires the one before at `now_ms`, at once (a reader
    /// never sees two current keys or none); deletes keys retired before `drop_before_ms`.
    async fn rotate(&self, seed: &[u8], now_ms: i64, drop_before_ms: i64) -> Result<(), AuthError>;
}

/// How long retired keys verify, and how often a process reads the ring again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySchedule {
    /// How long a retired key keeps verifying (and stays in the JWKS): at least the
    /// access-token lifetime.
    pub overlap: Duration,
    /// How long a loaded ring is used before it is read again: a key rotated by another
    /// process is signed with here within this time.
    pub refresh: Duration,
}

impl Default for KeySchedule {
    /// An hour of overlap; the ring read again every 30 seconds.
    fn default() -> Self {
        Self { overlap: Duration::from_secs(3600), refresh: Duration::from_secs(30) }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// What was loaded from the ring.
struct Loaded {
    current: Arc<SigningKey>,
    /// Every key that still verifies, with when it was retired.
    verifying: Vec<(Arc<SigningKey>, Option<i64>)>,
    loaded_ms: i64,
}

/// The ring as the pool and the verifier use it: the current key to sign with, and the keys
/// that verify.
pub struct SigningKeys {
    ring: Arc<dyn KeyRing>,
    clock: Arc<dyn Clock>,
    overlap_ms: i64,
    refresh_ms: i64,
    loaded: Mutex<Option<Arc<Loaded>>>,
    loading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("overlap_ms", &self.overlap_ms)
            .field("refresh_ms", &self.refresh_ms)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// The least time between two reads for a key id not loaded yet (a flood of made-up key
    /// ids costs one read per interval).
    const UNKNOWN_KID_REFRESH_MS: i64 = 1_000;

    /// Opens the ring, storing `first_seed` as its first key when it is empty (an existing
    /// deployment passes the seed it signed with before there was a ring, so its tokens keep
    /// verifying). Retired keys verify for the schedule's overlap after their retirement.
    pub async fn open(
        ring: Arc<dyn KeyRing>,
        first_seed: &[u8],
        clock: Arc<dyn Clock>,
        schedule: KeySchedule,
    ) -> Result<Arc<Self>, AuthError> {
        SigningKey::from_seed(first_seed)?;
        ring.seed_if_empty(first_seed, clock.now_ms()).await?;
        let keys = Arc::new(Self {
            ring,
            clock,
            overlap_ms: millis(schedule.overlap),
            refresh_ms: millis(schedule.refresh),
            loaded: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
        });
        keys.reload().await?;
        Ok(keys)
    }

    /// The key new tokens are signed with.
    pub async fn current(&self) -> Result<Arc<SigningKey>, AuthError> {
        Ok(Arc::clone(&self.fresh(self.refresh_ms).await?.current))
    }

    /// The public keys that verify now: the current key and those retired less than the overlap
    /// ago (what `/.well-known/jwks.json` publishes).
    pub async fn jwks(&self) -> Result<Jwks, AuthError> {
        let loaded = self.fresh(self.refresh_ms).await?;
        let now = self.clock.now_ms();
        let keys = loaded
            .verifying
            .iter()
            .filter(|(_, retired)| self.verifies(*retired, now))
            .map(|(key, _)| key.jwk())
            .collect::<Result<_, _>>()?;
        Ok(Jwks { keys })
    }

    /// The verifying key named `kid`, reading the ring again when it is not loaded (another
    /// process may have rotated).
    pub async fn find(&self, kid: &str) -> Result<Option<jsonwebtoken::jwk::Jwk>, AuthError> {
        let now = self.clock.now_ms();
        let lookup = |loaded: &Loaded| {
            loaded
                .verifying
                .iter()
                .find(|(key, retired)| key.kid() == kid && self.verifies(*retired, now))
                .map(|(key, _)| key.jwk())
                .transpose()
        };
        let loaded = self.fresh(self.refresh_ms).await?;
        if let Some(jwk) = lookup(&loaded)? {
            return Ok(Some(jwk));
        }
        lookup(&*self.fresh(Self::UNKNOWN_KID_REFRESH_MS).await?)
    }

    /// Makes a new current key (random), retiring the current one; drops keys whose overlap has
    /// passed. Returns the new key's id.
    pub async fn rotate(&self) -> Result<String, AuthError> {
        let seed: [u8; 32] = rand::random();
        let key = SigningKey::from_seed(&seed)?;
        let now = self.clock.now_ms();
        self.ring.rotate(&seed, now, now.saturating_sub(self.overlap_ms)).await?;
        self.reload().await?;
        Ok(key.kid().to_owned())
    }

    fn verifies(&self, retired: Option<i64>, now: i64) -> bool {
        retired.is_none_or(|retired| now < retired.saturating_add(self.overlap_ms))
    }

    /// The loaded ring, read again when older than `max_age_ms`.
    async fn fresh(&self, max_age_ms: i64) -> Result<Arc<Loaded>, AuthError> {
        let now = self.clock.now_ms();
        let cached = self.loaded.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match cached {
            Some(loaded) if now - loaded.loaded_ms < max_age_ms => Ok(loaded),
            _ => {
                let _loading = self.loading.lock().await;
                let cached = self.loaded.lock().unwrap_or_else(PoisonError::into_inner).clone();
                match cached {
                    Some(loaded) if self.clock.now_ms() - loaded.loaded_ms < max_age_ms => {
                        Ok(loaded)
                    }
                    _ => self.reload().await,
                }
            }
        }
    }

    async fn reload(&self) -> Result<Arc<Loaded>, AuthError> {
        let stored = self.ring.keys().await?;
        let mut verifying = Vec::with_capacity(stored.len());
        let mut current = None;
        for key in &stored {
            let signing = Arc::new(SigningKey::from_seed(&key.seed)?);
            if key.retired_ms.is_none() {
                current = Some(Arc::clone(&signing));
            }
            verifying.push((signing, key.retired_ms));
        }
        let current = current.ok_or_else(|| {
            AuthError::Unavailable("the signing key ring has no current key".to_owned())
        })?;
        let loaded = Arc::new(Loaded { current, verifying, loaded_ms: self.clock.now_ms() });
        *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}
