//! The router over in-memory fakes only — no SQLite, no Typst, no worker process: what any
//! shape's adapters must add up to. The API flow runs end to end on it.

use std::sync::Arc;
use std::time::Duration;

use folio_auth::testing::MemoryAccounts;
use folio_auth::{AuthError, PoolSettings, Registration, Session, SignIn, UserPool, Verifier};
use folio_core::ports::{Clock, SystemClock};
use folio_core::testing::memory_services;
use folio_core::{BackgroundPolicy, IdentityId};
use folio_server::{AppState, ServerSettings};
use serde_json::{Value, json};

use crate::{ISSUER, SEED};

async fn call(request: reqwest::RequestBuilder) -> (u16, Value, Vec<u8>) {
    let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), bytes)
}

/// The built-in pool over accounts and keys in memory, with the test server's key and issuer.
async fn memory_pool(clock: Arc<dyn Clock>) -> UserPool {
    let keys = folio_auth::testing::memory_keys(&SEED, Arc::clone(&clock)).await;
    let accounts = Arc::new(MemoryAccounts::default());
    let limits = Arc::new(folio_core::MemoryRateLimits::default());
    UserPool::new(accounts, limits, keys, ISSUER.to_owned(), PoolSettings::default(), clock)
}

#[tokio::test]
async fn the_api_flow_runs_on_fakes_alone() {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (services, _) = memory_services(Arc::clone(&clock));
    let pool = Arc::new(memory_pool(Arc::clone(&clock)).await);
    let verifier = Verifier::with_issuers(vec![pool.trusted_issuer()], Arc::clone(&clock))
        .unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(&services, Some(pool), Arc::new(verifier), ServerSettings::default());
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    for task in services.background(BackgroundPolicy::default(), &stopped) {
        tokio::spawn(task);
    }
    let mut stopping = stopped;
    tokio::spawn(folio_server::serve(listener, folio_server::router(state), async move {
        let _ = stopping.changed().await;
    }));
    let http = reqwest::Client::new();

    let mut tokens = Vec::new();
    for email in ["ada@example.com", "bob@example.com"] {
        let credentials = json!({ "email": email, "password": "correct horse battery" });
        let (status, body, _) =
            call(http.post(format!("{url}/api/auth/register")).json(&credentials)).await;
        assert_eq!(status, 201, "{body}");
        let (status, body, _) =
            call(http.post(format!("{url}/api/auth/login")).json(&credentials)).await;
        assert_eq!(status, 200, "{body}");
        tokens.push(body["access_token"].as_str().unwrap_or_default().to_owned());
    }
    let (ada, bob) = (&tokens[0], &tokens[1]);

    let (status, created, _) = call(
        http.post(format!("{url}/api/documents"))
            .bearer_auth(ada)
            .header("Idempotency-Key", "fakes-1")
            .json(&json!({ "markdown": "# Fakes & friends\n\nNo Typst here." })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["title"], "Fakes & friends");
    assert_eq!(created["warnings"], json!([]));
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    let mut listed = Value::Null;
    for _ in 0..200 {
        listed = call(http.get(format!("{url}/api/documents")).bearer_auth(ada)).await.1;
        if listed["items"].as_array().is_some_and(|items| items.len() == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(listed["items"][0]["id"], id.as_str(), "{listed}");

    let (status, got, _) =
        call(http.get(format!("{url}/api/documents/{id}")).bearer_auth(ada)).await;
    assert_eq!(status, 200, "{got}");
    let download = got["download_url"].as_str().unwrap_or_default();
    assert!(download.contains("name=Fakes%20%26%20friends.pdf"), "{download}");
    let response = http.get(format!("{url}{download}")).send().await;
    let response = response.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    let disposition = response
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(disposition.contains("filename*=UTF-8''Fakes%20%26%20friends.pdf"), "{disposition}");
    let pdf = response.bytes().await.unwrap_or_default();
    assert!(pdf.starts_with(b"%PDF-"), "the fake renderer's PDF");
    let tampered = download.replace("name=Fakes", "name=Evil");
    assert_eq!(call(http.get(format!("{url}{tampered}"))).await.0, 403, "the name is signed");

    for (method, path) in [
        ("GET", format!("/api/documents/{id}")),
        ("GET", format!("/api/documents/{id}/source")),
        ("DELETE", format!("/api/documents/{id}")),
    ] {
        let request = http.request(method.parse().unwrap_or_default(), format!("{url}{path}"));
        let (status, body, _) = call(request.bearer_auth(bob)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{method} {path}"
        );
    }
    let (status, _, source) =
        call(http.get(format!("{url}/api/documents/{id}/source")).bearer_auth(ada)).await;
    assert_eq!((status, source), (200, b"# Fakes & friends\n\nNo Typst here.".to_vec()));
    let (status, pages, _) = call(
        http.post(format!("{url}/api/preview/pages"))
            .bearer_auth(ada)
            .json(&json!({ "markdown": "# Preview", "options": { "paper": "a5" } })),
    )
    .await;
    assert_eq!(status, 200, "{pages}");
    assert_eq!(pages["pages"].as_array().map(Vec::len), Some(1));

    assert_eq!(
        call(http.delete(format!("{url}/api/documents/{id}")).bearer_auth(ada)).await.0,
        204
    );
    assert_eq!(
        call(http.get(format!("{url}/api/documents/{id}/source")).bearer_auth(ada)).await.0,
        404
    );
}

/// A state on fakes with an outside issuer only: no built-in pool.
fn state_without_a_pool() -> AppState {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (mut services, _) = memory_services(Arc::clone(&clock));
    services.downloads = None;
    let outside = folio_auth::TrustedIssuer {
        config: folio_auth::IssuerConfig {
            issuer: "https://idp.example".to_owned(),
            jwks_url: "https://idp.example/jwks.json".to_owned(),
            audience: None,
            client_id: Some("folio".to_owned()),
            token_use: Some("access".to_owned()),
        },
        keys: folio_auth::IssuerKeys::Remote,
    };
    let verifier = Verifier::with_issuers(vec![outside], clock).unwrap_or_else(|e| panic!("{e}"));
    AppState::new(&services, None, Arc::new(verifier), ServerSettings::default())
}

async fn oneshot(router: &axum::Router, request: http::Request<axum::body::Body>) -> (u16, Value) {
    use tower::ServiceExt;
    let response = router.clone().oneshot(request).await.unwrap_or_else(|e| match e {});
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_deployment_with_an_outside_issuer_only_has_no_sign_in_routes() {
    let router = folio_server::router(state_without_a_pool());
    let get = |path: &str| http::Request::get(path).body(axum::body::Body::empty());
    for path in ["/.well-known/jwks.json", "/.well-known/openid-configuration"] {
        let (status, body) = oneshot(&router, get(path).unwrap_or_default()).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}");
    }
    let login = http::Request::post("/api/auth/login")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"email":"a@example.com","password":"x"}"#));
    assert_eq!(oneshot(&router, login.unwrap_or_default()).await.0, 404);
    let (status, doc) = oneshot(&router, get("/api/openapi.json").unwrap_or_default()).await;
    assert_eq!(status, 200);
    assert!(doc["paths"].get("/api/auth/login").is_none(), "the document lists what is served");
    assert!(doc["paths"].get("/api/documents").is_some());
    // The option vocabulary and the error codes are documented from the types that check them.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["Paper"]["enum"], json!(["a4", "us-letter", "a5"]), "{}", schemas["Paper"]);
    assert_eq!(schemas["PdfStandard"]["enum"], json!(["a-2b", "a-3b", "ua-1"]));
    let codes = schemas["ErrorCode"]["enum"].as_array().map(Vec::len);
    assert_eq!(codes, Some(folio_core::ErrorCode::ALL.len()), "{}", schemas["ErrorCode"]);
    assert_eq!(oneshot(&router, get("/files/x?exp=1&sig=x").unwrap_or_default()).await.0, 404);
    let (status, body) = oneshot(&router, get("/api/documents").unwrap_or_default()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
}

#[tokio::test]
async fn the_client_address_an_adapter_knows_wins_over_the_socket() {
    let state = AppState {
        settings: ServerSettings {
            rates: folio_server::RatePolicy {
                register: folio_core::ports::RateBudget { burst: 1, per_minute: 1 },
                ..folio_server::RatePolicy::default()
            },
            ..ServerSettings::default()
        },
        ..state_without_a_pool()
    };
    // Registration is rate limited per client address; it needs the built-in pool.
    let pool = memory_pool(Arc::new(SystemClock)).await;
    let router = folio_server::router(AppState { sign_in: Some(Arc::new(pool)), ..state });
    let register = |from: [u8; 4], email: &str| {
        let mut request = http::Request::post("/api/auth/register")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                json!({ "email": email, "password": "correct horse battery" }).to_string(),
            ))
            .unwrap_or_default();
        request.extensions_mut().insert(folio_server::ClientAddressFromContext(from.into()));
        request
    };
    assert_eq!(oneshot(&router, register([1, 2, 3, 4], "a@example.com")).await.0, 201);
    let (status, body) = oneshot(&router, register([1, 2, 3, 4], "b@example.com")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
    assert_eq!(
        oneshot(&router, register([5, 6, 7, 8], "c@example.com")).await.0,
        201,
        "another client (by the platform's account) has its own budget"
    );
}

/// A sign-in backed by someone else (as Cognito backs the AWS shape): it keeps accounts in a
/// map (password, confirmed), confirms them with the code `123456`, hands out sessions with
/// made-up tokens, and publishes no keys of its own.
#[derive(Default)]
struct OutsideSignIn(std::sync::Mutex<std::collections::HashMap<String, (String, bool)>>);

#[async_trait::async_trait]
impl SignIn for OutsideSignIn {
    fn issuer(&self) -> &str {
        "https://idp.example"
    }

    async fn register(&self, email: &str, password: &str) -> Result<Registration, AuthError> {
        let mut accounts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if accounts.insert(email.to_owned(), (password.to_owned(), false)).is_some() {
            return Err(AuthError::EmailTaken);
        }
        Ok(Registration {
            user_id: format!("sub-{email}"),
            email: email.to_owned(),
            identity_id: IdentityId::derive(self.issuer(), &format!("sub-{email}")),
            confirmation_required: true,
        })
    }

    async fn confirm(&self, email: &str, code: &str) -> Result<(), AuthError> {
        let mut accounts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match accounts.get_mut(email) {
            Some((_, true)) => Err(AuthError::AlreadyConfirmed),
            Some((_, confirmed)) if code == "123456" => {
                *confirmed = true;
                Ok(())
            }
            _ => Err(AuthError::InvalidRequest("that code is wrong or has expired".to_owned())),
        }
    }

    async fn login(&self, email: &str, password: &str, _: &str) -> Result<Session, AuthError> {
        let accounts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match accounts.get(email) {
            Some((known, _)) if known != password => return Err(AuthError::WrongCredentials),
            None => return Err(AuthError::WrongCredentials),
            Some((_, false)) => return Err(AuthError::NotConfirmed),
            Some(_) => {}
        }
        Ok(Session {
            access_token: "outside-access".to_owned(),
            token_type: "Bearer",
            expires_in: 3600,
            refresh_token: "outside-refresh".to_owned(),
            identity_id: IdentityId::derive(self.issuer(), &format!("sub-{email}")),
            email: email.to_owned(),
        })
    }

    async fn refresh(&self, _: &str) -> Result<Session, AuthError> {
        Err(AuthError::Unauthorized("the session has ended; sign in again".to_owned()))
    }

    async fn logout(&self, _: &str) -> Result<(), AuthError> {
        Ok(())
    }

    async fn change_password(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<(), AuthError> {
        Err(AuthError::WrongCredentials)
    }

    async fn jwks(&self) -> Result<Option<folio_auth::Jwks>, AuthError> {
        Ok(None)
    }
}

#[tokio::test]
async fn the_auth_routes_keep_their_shape_over_another_sign_in() {
    let state =
        AppState { sign_in: Some(Arc::new(OutsideSignIn::default())), ..state_without_a_pool() };
    let router = folio_server::router(state);
    let post = |path: &str, body: Value| {
        http::Request::post(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap_or_default()
    };
    let credentials = json!({ "email": "ada@example.com", "password": "correct horse battery" });
    let (status, body) = oneshot(&router, post("/api/auth/register", credentials.clone())).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["user_id"], "sub-ada@example.com");
    let identity = body["identity_id"].clone();
    assert_eq!(body["confirmation_required"], json!(true), "{body}");
    let (status, body) = oneshot(&router, post("/api/auth/register", credentials.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");
    // Not before the emailed code is confirmed; a wrong code is refused.
    let (status, body) = oneshot(&router, post("/api/auth/login", credentials.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_confirmed")), "{body}");
    let code = |code: &str| json!({ "email": "ada@example.com", "code": code });
    let (status, body) = oneshot(&router, post("/api/auth/confirm", code("000000"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_request")), "{body}");
    let (status, body) = oneshot(&router, post("/api/auth/confirm", code("123456"))).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = oneshot(&router, post("/api/auth/confirm", code("123456"))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "{body}");
    let (status, body) = oneshot(&router, post("/api/auth/login", credentials)).await;
    assert_eq!((status, &body["identity_id"]), (200, &identity), "{body}");
    assert_eq!(body["refresh_token"], "outside-refresh");
    let wrong = json!({ "email": "ada@example.com", "password": "wrong" });
    let (status, body) = oneshot(&router, post("/api/auth/login", wrong)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")), "{body}");
    let refresh = json!({ "refresh_token": "outside-refresh" });
    assert_eq!(oneshot(&router, post("/api/auth/refresh", refresh)).await.0, 401);
    // Its provider publishes the keys: folio's well-known documents say so.
    let get = http::Request::get("/.well-known/jwks.json").body(axum::body::Body::empty());
    let (status, body) = oneshot(&router, get.unwrap_or_default()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
}
