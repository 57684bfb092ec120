//! The HTTP API in process: a real server on port 0 over a temporary data directory, with an
//! injected clock for expiry and back-off.

mod auth;
mod documents;
mod fakes;
mod images;
mod openapi;
mod ops;
mod schema;
mod tokens;
mod web;

use std::sync::Arc;
use std::time::Duration;

use folio_auth::{
    IssuerConfig, IssuerKeys, KeySchedule, PoolSettings, SigningKeys, TrustedIssuer, UserPool,
    Verifier,
};
use folio_core::ports::{Clock, SystemClock};
use folio_core::testing::ManualClock;
use folio_core::{BackgroundPolicy, Settings};
use folio_local::{Durability, Embedded};
use folio_server::{AppState, ServerSettings};
use folio_workers::InProcessRenderer;
use serde_json::{Value, json};

/// The seed of the test server's signing key (tests sign their own hostile tokens with it).
pub(crate) const SEED: [u8; 32] = [7; 32];
/// The password of every test account.
pub(crate) const PASSWORD: &str = "correct horse battery";
/// How long a retired signing key keeps verifying in the test server.
pub(crate) const KEY_OVERLAP_MS: i64 = 3_600_000;
/// The test server's issuer.
pub(crate) const ISSUER: &str = "urn:folio:test";

/// A running server.
pub(crate) struct TestApp {
    pub(crate) url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) data_dir: std::path::PathBuf,
    pub(crate) embedded: Embedded,
    pub(crate) pool: Arc<UserPool>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

/// A response: status, headers and JSON (or `null`).
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) json: Value,
    pub(crate) bytes: Vec<u8>,
}

impl Reply {
    /// The error code of an error reply.
    pub(crate) fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(Vec::new()).await
    }

    /// A server that also trusts `issuers`.
    pub(crate) async fn spawn_with(issuers: Vec<IssuerConfig>) -> Self {
        Self::spawn_configured(issuers, Settings::default()).await
    }

    /// A server whose functions run with `settings` (a quota, say).
    pub(crate) async fn spawn_configured(issuers: Vec<IssuerConfig>, settings: Settings) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let clock = Arc::new(ManualClock::at(SystemClock.now_ms()));
        // The embedded shape's builder, as `folio serve` calls it.
        let embedded = Embedded::open(dir.path(), Durability::Relaxed, clock.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let services = embedded.services(Arc::new(InProcessRenderer::default()), settings);
        // The ring's first key is the test seed, so tests can sign their own tokens.
        let schedule = KeySchedule {
            overlap: Duration::from_millis(KEY_OVERLAP_MS.unsigned_abs()),
            ..KeySchedule::default()
        };
        let keys = SigningKeys::open(embedded.key_ring.clone(), &SEED, clock.clone(), schedule)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let pool = Arc::new(UserPool::new(
            embedded.accounts.clone(),
            Arc::clone(&services.limits),
            keys,
            ISSUER.to_owned(),
            PoolSettings::default(),
            clock.clone(),
        ));
        let mut trusted = vec![pool.trusted_issuer()];
        trusted.extend(
            issuers.into_iter().map(|config| TrustedIssuer { config, keys: IssuerKeys::Remote }),
        );
        let verifier =
            Verifier::with_issuers(trusted, clock.clone()).unwrap_or_else(|e| panic!("{e}"));
        let state = AppState::new(
            &services,
            Some(pool.clone()),
            Arc::new(verifier),
            ServerSettings::default(),
        );
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let policy = BackgroundPolicy {
            readiness_every: Duration::from_millis(50),
            ..BackgroundPolicy::default()
        };
        for task in services.background(policy, &stopped) {
            tokio::spawn(task);
        }
        tokio::spawn(folio_server::serve(listener, folio_server::router(state), async move {
            let _ = stopped.changed().await;
        }));
        let data_dir = dir.path().to_owned();
        Self {
            url,
            http: reqwest::Client::new(),
            clock,
            data_dir,
            embedded,
            pool,
            _dir: dir,
            _stop: stop,
        }
    }

    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, json, bytes }
    }

    pub(crate) async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub(crate) async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(self.http.delete(format!("{}{path}", self.url)).bearer_auth(token)).await
    }

    /// Polls `/readyz` until it answers `status` (the background check runs every 50 ms here).
    pub(crate) async fn readiness_until(&self, status: u16) -> Reply {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let reply = self.get("/readyz", None).await;
            if reply.status == status || std::time::Instant::now() > deadline {
                assert_eq!(reply.status, status, "{}", reply.json);
                return reply;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Registers and signs in; returns the session JSON.
    pub(crate) async fn user(&self, email: &str) -> Value {
        let reply = self
            .post("/api/auth/register", None, json!({ "email": email, "password": PASSWORD }))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.json);
        let reply = self
            .post("/api/auth/login", None, json!({ "email": email, "password": PASSWORD }))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.json);
        // The session names its account (the web app shows it).
        assert_eq!(reply.json["email"], email.to_lowercase(), "{}", reply.json);
        reply.json
    }

    /// Polls the library until it has `count` items (the index is eventually consistent).
    pub(crate) async fn library(&self, token: &str, count: usize) -> Value {
        let mut last = Value::Null;
        for _ in 0..200 {
            last = self.get("/api/documents", Some(token)).await.json;
            if last["items"].as_array().map(Vec::len) == Some(count) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the library never had {count} items: {last}");
    }
}

/// The access token of a session.
pub(crate) fn token(session: &Value) -> String {
    session["access_token"].as_str().unwrap_or_default().to_owned()
}

/// The test pool's own issuer, as the verifier trusts it.
pub(crate) fn builtin_issuer() -> IssuerConfig {
    IssuerConfig {
        issuer: ISSUER.to_owned(),
        jwks_url: String::new(),
        audience: Some("folio".to_owned()),
        client_id: None,
        token_use: None,
    }
}
