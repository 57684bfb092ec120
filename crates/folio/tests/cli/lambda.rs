//! The AWS shape's functions as Lambda runs them: `folio lambda <function>` against a Runtime
//! API this test serves (Lambda's own hands out an invocation and takes its answer the same
//! way), over moto's DynamoDB (`FOLIO_TEST_MOTO_URL`) and the S3-compatible store
//! (`FOLIO_TEST_S3_URL` with the AWS credential variables).

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use folio_aws::testing::{TestQueues, TestTable, TestUserPool, delete_by_hand};
use folio_aws::{Aws, AwsUrls};
use folio_core::event::{Change, ObjectEvent, S3Notification, Sequencer};
use folio_core::functions::{CreateRequest, create_pdf, delete_document};
use folio_core::{IdentityId, ObjectKey, ObjectKind};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// One invocation: its request id, its event, and the Runtime API headers it comes with beyond
/// the usual ones (the direct-invoke path's `lambda-runtime-cognito-identity`).
type Invocation = (String, Value, Vec<(&'static str, String)>);

/// What the Runtime API holds: invocations not yet handed out, and where answers go.
#[derive(Clone)]
struct Runtime {
    pending: Arc<Mutex<Vec<Invocation>>>,
    answers: mpsc::UnboundedSender<(String, Value)>,
}

async fn next(State(runtime): State<Runtime>) -> (HeaderMap, String) {
    loop {
        let popped = runtime.pending.lock().map(|mut p| p.pop()).ok().flatten();
        if let Some((id, event, extra)) = popped {
            let mut headers = HeaderMap::new();
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 60_000)
                .unwrap_or_default();
            for (name, value) in [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:1:function:folio".to_owned(),
                ),
            ]
            .into_iter()
            .chain(extra)
            {
                if let Ok(value) = value.parse() {
                    headers.insert(name, value);
                }
            }
            return (headers, event.to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn answer(
    State(runtime): State<Runtime>,
    Path(id): Path<String>,
    body: String,
) -> &'static str {
    let _ = runtime.answers.send((id, serde_json::from_str(&body).unwrap_or(Value::String(body))));
    "{}"
}

async fn failed(
    State(runtime): State<Runtime>,
    Path(id): Path<String>,
    body: String,
) -> &'static str {
    let _ = runtime.answers.send((id, json!({ "function error": body })));
    "{}"
}

async fn init_failed(State(runtime): State<Runtime>, body: String) -> &'static str {
    let _ = runtime.answers.send(("init".to_owned(), json!({ "init error": body })));
    "{}"
}

/// A Runtime API served on a free port: invocations are queued with [`RuntimeApi::invoke`] and
/// their answers awaited.
struct RuntimeApi {
    address: String,
    pending: Arc<Mutex<Vec<Invocation>>>,
    answers: mpsc::UnboundedReceiver<(String, Value)>,
    invoked: usize,
}

impl RuntimeApi {
    async fn serve() -> Self {
        let (send, answers) = mpsc::unbounded_channel();
        let pending = Arc::new(Mutex::new(Vec::new()));
        let runtime = Runtime { pending: Arc::clone(&pending), answers: send };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(answer))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(failed))
            .route("/2018-06-01/runtime/init/error", post(init_failed))
            .with_state(runtime);
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { address, pending, answers, invoked: 0 }
    }

    /// Hands `event` (with `extra` Runtime API headers) to the function and waits for its answer.
    async fn invoke_with(&mut self, event: Value, extra: Vec<(&'static str, String)>) -> Value {
        self.invoked += 1;
        let id = format!("invocation-{}", self.invoked);
        self.invoke_as(id, event, extra).await
    }

    /// [`Self::invoke_with`] under request id `id` (Lambda's own retries of an invocation keep
    /// its id).
    async fn invoke_as(
        &mut self,
        id: String,
        event: Value,
        extra: Vec<(&'static str, String)>,
    ) -> Value {
        if let Ok(mut pending) = self.pending.lock() {
            pending.push((id.clone(), event, extra));
        }
        let answered = tokio::time::timeout(Duration::from_secs(120), self.answers.recv()).await;
        let (answered_id, body) =
            answered.ok().flatten().unwrap_or_else(|| panic!("the function did not answer {id}"));
        assert_eq!(answered_id, id, "{body}");
        body
    }

    async fn invoke(&mut self, event: Value) -> Value {
        self.invoke_with(event, Vec::new()).await
    }
}

/// `folio lambda <function>` as Lambda starts it (killed when dropped).
struct Function(Child);

impl Function {
    fn start(function: &str, runtime_api: &str, env: &[(&str, &str)]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_folio"))
            .args(["lambda", function])
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start folio lambda {function}: {e}"));
        Self(child)
    }
}

impl Function {
    /// Waits up to `limit` for the process to end by itself: its exit code, if it did.
    fn ended_within(&mut self, limit: Duration) -> Option<i32> {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if let Ok(Some(status)) = self.0.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn required(name: &str) -> String {
    crate::required(name, "moto and an S3-compatible store")
}

/// Stores one document per title for `owner` (not indexed: no notification is delivered): their
/// ids.
async fn create_documents(
    pipeline: &folio_core::Pipeline,
    owner: &IdentityId,
    titles: &[&str],
) -> Vec<folio_core::DocumentId> {
    let mut ids = Vec::new();
    for title in titles {
        let request = CreateRequest { markdown: format!("# {title}\n"), ..Default::default() };
        let created = create_pdf(pipeline, owner, request).await.unwrap_or_else(|e| panic!("{e}"));
        ids.push(created.document.id);
    }
    ids
}

/// The indexer function takes a batch of S3 notifications from SQS: the document's record lands
/// in DynamoDB, S3's test event needs nothing, and only the message that is no notification is
/// answered in `batchItemFailures`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server and an S3-compatible store; run by .ci/run"]
async fn the_indexer_function_indexes_a_batch_and_returns_only_what_failed() {
    let table = TestTable::create().await;
    let index_url = table.url();
    let objects_url = required("FOLIO_TEST_S3_URL");
    let urls = AwsUrls { dynamodb: index_url.clone(), s3: objects_url.clone(), sqs: None };
    table
        .around(async move {
            let aws = Aws::open(&urls).await.unwrap_or_else(|e| panic!("{e}"));
            let pipeline = aws
                .pipeline(Arc::new(folio_core::testing::FakeRenderer), Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            // A document of this run's own identity, stored but not indexed (the bucket's
            // notification is what the function is given).
            let owner = IdentityId::derive("https://lambda.test", &uuid::Uuid::new_v4().to_string());
            let created = create_pdf(
                &pipeline,
                &owner,
                CreateRequest { markdown: "# From the queue\n".to_owned(), ..Default::default() },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            let key = ObjectKey::new(owner, created.document.id, ObjectKind::Pdf);
            let notification = S3Notification::single(
                &ObjectEvent {
                    change: Change::Created,
                    key: key.to_string(),
                    size: Some(created.document.bytes),
                    etag: None,
                    sequencer: Sequencer::parse("0055AED6DCD90281E5").unwrap_or_else(|e| panic!("{e}")),
                    time: "2026-12-02T00:00:00.000Z".to_owned(),
                },
                "folio-ci",
            );
            let message = |id: &str, body: String| json!({ "messageId": id, "body": body, "eventSource": "aws:sqs" });
            let batch = json!({ "Records": [
                message("m-document", serde_json::to_string(&notification).unwrap_or_default()),
                message("m-test", r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"folio-ci"}"#.to_owned()),
                message("m-garbage", "not a notification".to_owned()),
            ] });
            let mut runtime = RuntimeApi::serve().await;
            let _function = Function::start(
                "indexer",
                &runtime.address,
                &[("FOLIO_INDEX_URL", index_url.as_str()), ("FOLIO_OBJECTS_URL", objects_url.as_str())],
            );
            let body = runtime.invoke(batch).await;
            assert_eq!(body, json!({ "batchItemFailures": [{ "itemIdentifier": "m-garbage" }] }));
            let record = pipeline.index.get(&owner, &created.document.id).await;
            assert_eq!(
                record.ok().flatten().map(|r| r.title),
                Some("From the queue".to_owned()),
                "the record is in DynamoDB"
            );
            // The bucket keeps nothing of this test.
            let deleted = delete_document(&pipeline, &owner, &created.document.id).await;
            assert!(deleted.is_ok(), "{deleted:?}");
        })
        .await;
}

/// A function whose settings are wrong stops at its cold start with the reason (and a non-zero
/// exit, which Lambda reports as an init error) before asking for any invocation.
#[test]
fn a_function_with_a_wrong_table_url_stops_with_the_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(["lambda", "indexer"])
        .env("FOLIO_INDEX_URL", "postgres://127.0.0.1/folio")
        .env("FOLIO_OBJECTS_URL", "s3://folio")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("dynamodb://TABLE"), "{stderr}");
}

/// An API Gateway HTTP API answer, read back from the function's response.
struct Answer {
    status: u64,
    headers: Value,
    cookies: Vec<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn code(&self) -> Option<String> {
        self.json()["error"]["code"].as_str().map(str::to_owned)
    }
}

/// One request as API Gateway (HTTP API, payload format 2.0) hands it to the api function.
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    bearer: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
    cookies: Vec<String>,
    json: Option<Value>,
    bytes: Option<Vec<u8>>,
}

impl<'a> Request<'a> {
    fn new(method: &'a str, path: &'a str) -> Self {
        let (headers, cookies) = (Vec::new(), Vec::new());
        Self { method, path, bearer: None, headers, cookies, json: None, bytes: None }
    }

    /// A binary body, as API Gateway hands it over: base64, flagged.
    fn bytes(mut self, content_type: &'a str, bytes: Vec<u8>) -> Self {
        self.headers.push(("content-type", content_type));
        self.bytes = Some(bytes);
        self
    }

    fn bearer(mut self, token: &'a str) -> Self {
        self.bearer = Some(token);
        self
    }

    fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    fn cookie(mut self, cookie: String) -> Self {
        self.cookies.push(cookie);
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.json = Some(body);
        self
    }

    fn event(&self) -> Value {
        let (path, query) = self.path.split_once('?').unwrap_or((self.path, ""));
        let mut headers = serde_json::Map::new();
        headers.insert("host".to_owned(), json!("abc123.execute-api.eu-west-1.amazonaws.com"));
        if let Some(token) = self.bearer {
            headers.insert("authorization".to_owned(), json!(format!("Bearer {token}")));
        }
        if self.json.is_some() {
            headers.insert("content-type".to_owned(), json!("application/json"));
        }
        for (name, value) in &self.headers {
            headers.insert((*name).to_owned(), json!(value));
        }
        let mut event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "http": { "method": self.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7" },
                "requestId": "api-gateway-request",
                "stage": "$default",
            },
            "isBase64Encoded": false,
        });
        if !self.cookies.is_empty() {
            event["cookies"] = json!(self.cookies);
        }
        if let Some(body) = &self.json {
            event["body"] = json!(body.to_string());
        }
        if let Some(bytes) = &self.bytes {
            use base64::Engine;
            event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
            event["isBase64Encoded"] = json!(true);
        }
        event
    }
}

/// Sends `request` through the function and reads its answer.
async fn send(runtime: &mut RuntimeApi, request: Request<'_>) -> Answer {
    use base64::Engine;
    let answer = runtime.invoke(request.event()).await;
    let text = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    Answer {
        status: answer["statusCode"].as_u64().unwrap_or_else(|| panic!("no statusCode: {answer}")),
        headers: answer["headers"].clone(),
        cookies: answer["cookies"]
            .as_array()
            .map(|c| c.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        body,
    }
}

/// The refresh cookie an answer sets, as a browser sends it back (`name=value`).
fn refresh_cookie(answer: &Answer) -> String {
    let cookie = answer.cookies.iter().find(|c| c.starts_with("folio_refresh="));
    let cookie = cookie.unwrap_or_else(|| panic!("no refresh cookie in {:?}", answer.cookies));
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure"), "{cookie}");
    cookie.split(';').next().unwrap_or_default().to_owned()
}

/// Registers, confirms and signs in through the api function, as the web app does: the access
/// token, the refresh cookie and the identity id.
async fn web_sign_in(runtime: &mut RuntimeApi, email: &str) -> (String, String, String) {
    let credentials = json!({ "email": email, "password": "correct horse battery" });
    let registered =
        send(runtime, Request::new("POST", "/api/auth/register").json(credentials.clone())).await;
    assert_eq!(registered.status, 201, "{}", registered.json());
    assert_eq!(registered.json()["confirmation_required"], json!(true));
    let early =
        send(runtime, Request::new("POST", "/api/auth/login").json(credentials.clone())).await;
    assert_eq!((early.status, early.code().as_deref()), (403, Some("not_confirmed")));
    // moto takes any code; Cognito emails one.
    let confirmed = send(
        runtime,
        Request::new("POST", "/api/auth/confirm").json(json!({ "email": email, "code": "123456" })),
    )
    .await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.json());
    let mut login = credentials;
    login["session"] = json!("cookie");
    let session = send(runtime, Request::new("POST", "/api/auth/login").json(login)).await;
    assert_eq!(session.status, 200, "{}", session.json());
    assert!(session.json().get("refresh_token").is_none(), "cookie sessions keep it out of bodies");
    let token = session.json()["access_token"].as_str().unwrap_or_default().to_owned();
    let identity = session.json()["identity_id"].as_str().unwrap_or_default().to_owned();
    (token, refresh_cookie(&session), identity)
}

/// What the bucket's notification does once it reaches the indexer function (the indexer's own
/// test drives that function): the document's key indexed at S3 sequencer `sequencer`.
async fn notify(urls: &AwsUrls, change: Change, key: &str, sequencer: &str) {
    let aws = Aws::open(urls).await.unwrap_or_else(|e| panic!("{e}"));
    let pipeline = aws.pipeline_without_renderer().unwrap_or_else(|e| panic!("{e}"));
    let event = ObjectEvent {
        change,
        key: key.to_owned(),
        size: None,
        etag: None,
        sequencer: Sequencer::parse(sequencer).unwrap_or_else(|e| panic!("{e}")),
        time: "2026-12-02T00:00:00.000Z".to_owned(),
    };
    let indexed = folio_core::functions::index_object_event(&pipeline, &event).await;
    assert!(indexed.is_ok(), "{indexed:?}");
}

/// The api function, driven with API Gateway events over moto's DynamoDB and Cognito and the
/// signature-checking S3 store: the page, sign-up → confirm → sign-in → refresh, create (retried
/// with its key) → list → get → presigned download → delete, another person's attempts, tokens
/// that are not this pool's access tokens, and sign-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server and an S3-compatible store; run by .ci/run"]
async fn the_api_function_serves_the_app_and_the_whole_flow_over_cognito() {
    let table = TestTable::create().await;
    let pool = TestUserPool::create("api").await;
    let env = [
        ("FOLIO_INDEX_URL", table.url()),
        ("FOLIO_OBJECTS_URL", required("FOLIO_TEST_S3_URL")),
        ("FOLIO_IDENTITY_URL", pool.url()),
    ];
    let urls = AwsUrls { dynamodb: table.url(), s3: required("FOLIO_TEST_S3_URL"), sqs: None };
    table
        .around(async move {
            let mut runtime = RuntimeApi::serve().await;
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let _function = Function::start("api", &runtime.address, &env);
            let rt = &mut runtime;

            // The web app, under folio's CSP (sign-in is folio's own routes: no other origin).
            let page = send(rt, Request::new("GET", "/")).await;
            assert_eq!(page.status, 200);
            assert!(String::from_utf8_lossy(&page.body).contains("<html"), "the app's page");
            let policy = page.headers["content-security-policy"].as_str().unwrap_or_default();
            assert!(
                policy.starts_with("default-src 'self'") && !policy.contains("http"),
                "{policy}"
            );
            let openapi = send(rt, Request::new("GET", "/api/openapi.json")).await;
            assert!(
                openapi.json()["paths"]["/api/auth/confirm"].is_object(),
                "the confirm route is documented"
            );

            let (ada, ada_cookie, ada_identity) = web_sign_in(rt, "ada@example.com").await;
            let refreshed = send(
                rt,
                Request::new("POST", "/api/auth/refresh")
                    .header("x-folio-csrf", "1")
                    .cookie(ada_cookie.clone()),
            )
            .await;
            assert_eq!(refreshed.status, 200, "{}", refreshed.json());
            let ada = refreshed.json()["access_token"].as_str().map(str::to_owned).unwrap_or(ada);

            // Create, retried with its key: one document.
            let create = || {
                Request::new("POST", "/api/documents")
                    .bearer(&ada)
                    .header("idempotency-key", "create-1")
                    .json(json!({ "markdown": "# Lambda report\n\nMade by the api function.\n" }))
            };
            let created = send(rt, create()).await;
            assert_eq!(created.status, 201, "{}", created.json());
            let again = send(rt, create()).await;
            assert_eq!(
                again.json()["id"],
                created.json()["id"],
                "a retried create makes no second document"
            );
            let id = created.json()["id"].as_str().unwrap_or_default().to_owned();
            // Get answers from the store at once; the library lists the index, once the
            // bucket's notification is indexed.
            let pdf_key = format!("ugc/{ada_identity}/{id}.pdf");
            notify(&urls, Change::Created, &pdf_key, "0055AED6DCD90281E5").await;
            let listed = send(rt, Request::new("GET", "/api/documents").bearer(&ada)).await;
            let ids: Vec<Value> = listed.json()["items"].as_array().cloned().unwrap_or_default();
            assert_eq!(ids.iter().map(|d| d["id"].clone()).collect::<Vec<_>>(), [json!(id)]);
            let got =
                send(rt, Request::new("GET", &format!("/api/documents/{id}")).bearer(&ada)).await;
            assert_eq!(got.status, 200, "{}", got.json());

            // The presigned download: the store serves the PDF under its title; an altered
            // link is refused by the store.
            let link = got.json()["download_url"].as_str().unwrap_or_default().to_owned();
            let http = reqwest::Client::new();
            let pdf = http.get(&link).send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(pdf.status(), 200, "{link}");
            let disposition = pdf
                .headers()
                .get("content-disposition")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert!(disposition.contains("Lambda report.pdf"), "{disposition}");
            assert!(pdf.bytes().await.unwrap_or_default().starts_with(b"%PDF"));
            let altered = link.replace("Lambda%20report", "Other");
            assert_ne!(altered, link);
            let refused = http.get(&altered).send().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(refused.status(), 403, "an altered link");

            // An image through API Gateway (a binary body, base64 on the way) into the bucket,
            // referenced by a document; the quota's usage is kept in the table.
            let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x03\0\0\0\x02\x08\x02\0\0\0\0\0\0\0"
                .to_vec();
            let uploaded = send(
                rt,
                Request::new("PUT", "/api/images/logo%20one.png")
                    .bearer(&ada)
                    .bytes("image/png", png.clone()),
            )
            .await;
            assert_eq!(uploaded.status, 200, "{}", uploaded.json());
            assert_eq!(
                (&uploaded.json()["name"], &uploaded.json()["width"]),
                (&json!("logo one.png"), &json!(3))
            );
            let fetched =
                send(rt, Request::new("GET", "/api/images/logo%20one.png").bearer(&ada)).await;
            assert_eq!((fetched.status, fetched.body.clone()), (200, png), "the bytes come back");
            let usage = send(rt, Request::new("GET", "/api/usage").bearer(&ada)).await;
            assert!(usage.json()["bytes"].as_u64().is_some_and(|b| b > 0), "{}", usage.json());

            // Someone else sees, fetches and deletes nothing of Ada's.
            let (bob, _, _) = web_sign_in(rt, "bob@example.com").await;
            let theirs = send(rt, Request::new("GET", "/api/documents").bearer(&bob)).await;
            assert_eq!(theirs.json()["items"], json!([]));
            for method in ["GET", "DELETE"] {
                let attempt =
                    send(rt, Request::new(method, &format!("/api/documents/{id}")).bearer(&bob))
                        .await;
                assert_eq!(
                    (attempt.status, attempt.code().as_deref()),
                    (404, Some("not_found")),
                    "{method}"
                );
            }

            // Only this pool's access tokens, for this app client.
            let id_token = pool
                .sign_in(&pool.client_id, "ada@example.com", "correct horse battery")
                .await["IdToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let other_client = pool.another_client("other").await;
            let other_app = pool
                .sign_in(&other_client, "ada@example.com", "correct horse battery")
                .await["AccessToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let elsewhere = TestUserPool::create("elsewhere").await;
            let stranger = elsewhere
                .signed_in(&elsewhere.client_id, "ada@example.com", "correct horse battery")
                .await["AccessToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for (what, token) in [
                ("an ID token", id_token.as_str()),
                ("another app client's", other_app.as_str()),
                ("another pool's", stranger.as_str()),
                ("garbage", "not.a.token"),
            ] {
                let refused = send(rt, Request::new("GET", "/api/documents").bearer(token)).await;
                assert_eq!(
                    (refused.status, refused.code().as_deref()),
                    (401, Some("unauthorized")),
                    "{what}"
                );
                assert_eq!(refused.json()["error"]["retryable"], json!(false), "{what}");
            }
            let anonymous = send(rt, Request::new("GET", "/api/documents")).await;
            assert_eq!(anonymous.status, 401);

            // Delete, then sign out: the cookie no longer refreshes.
            let deleted =
                send(rt, Request::new("DELETE", &format!("/api/documents/{id}")).bearer(&ada))
                    .await;
            assert_eq!(deleted.status, 204, "{}", deleted.json());
            let gone =
                send(rt, Request::new("GET", &format!("/api/documents/{id}")).bearer(&ada)).await;
            assert_eq!(gone.status, 404, "gone the moment delete answers");
            notify(&urls, Change::Removed, &pdf_key, "0055AED6DCD90281E6").await;
            let listed = send(rt, Request::new("GET", "/api/documents").bearer(&ada)).await;
            assert_eq!(listed.json()["items"], json!([]));
            let out = send(
                rt,
                Request::new("POST", "/api/auth/logout")
                    .header("x-folio-csrf", "1")
                    .cookie(ada_cookie.clone()),
            )
            .await;
            assert_eq!(out.status, 204, "{}", out.json());
            let after = send(
                rt,
                Request::new("POST", "/api/auth/refresh")
                    .header("x-folio-csrf", "1")
                    .cookie(ada_cookie),
            )
            .await;
            assert_eq!((after.status, after.code().as_deref()), (401, Some("unauthorized")));
        })
        .await;
}

/// `token` with its claims changed by `edit`, signed again with the key moto signs every token
/// with (`FOLIO_TEST_MOTO_SIGNING_KEY`: PKCS#1 DER, written by `.ci/moto-signing-key`).
fn resigned(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    use base64::Engine;
    let der = std::fs::read(required("FOLIO_TEST_MOTO_SIGNING_KEY"))
        .unwrap_or_else(|e| panic!("FOLIO_TEST_MOTO_SIGNING_KEY: {e}"));
    let header = jsonwebtoken::decode_header(token).unwrap_or_else(|e| panic!("{e}"));
    let payload = token.split('.').nth(1).unwrap_or_default();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut claims: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
    edit(&mut claims);
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&der);
    jsonwebtoken::encode(&header, &claims, &key).unwrap_or_else(|e| panic!("{e}"))
}

/// Cognito's access tokens are honoured only within their time: moto ignores validity settings,
/// so the test signs tokens with moto's own key — the unchanged token re-signed is accepted (the
/// key is the pool's), the same token expired, not yet valid, with a not-before that is no
/// number, or with no expiry is refused in folio's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server, its signing key and an S3-compatible store; run by .ci/run"]
async fn the_api_function_honours_a_token_only_within_its_time() {
    let table = TestTable::create().await;
    let pool = TestUserPool::create("time").await;
    let env = [
        ("FOLIO_INDEX_URL", table.url()),
        ("FOLIO_OBJECTS_URL", required("FOLIO_TEST_S3_URL")),
        ("FOLIO_IDENTITY_URL", pool.url()),
    ];
    table
        .around(async move {
            let mut runtime = RuntimeApi::serve().await;
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let _function = Function::start("api", &runtime.address, &env);
            let rt = &mut runtime;
            let (token, _, _) = web_sign_in(rt, "grace@example.com").await;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default();
            let same = resigned(&token, |_| {});
            let listed = send(rt, Request::new("GET", "/api/documents").bearer(&same)).await;
            assert_eq!(listed.status, 200, "moto's key signs the pool's tokens: {}", listed.json());
            let hour = 3600;
            let cases = [
                ("expired an hour ago", resigned(&token, |c| c["exp"] = json!(now - hour))),
                ("valid from an hour on", resigned(&token, |c| c["nbf"] = json!(now + hour))),
                (
                    "a not-before that is no number",
                    resigned(&token, |c| c["nbf"] = json!("2026-01-01")),
                ),
                (
                    "no expiry",
                    resigned(&token, |c| {
                        if let Some(claims) = c.as_object_mut() {
                            claims.remove("exp");
                        }
                    }),
                ),
            ];
            for (what, token) in cases {
                let refused = send(rt, Request::new("GET", "/api/documents").bearer(&token)).await;
                assert_eq!(
                    (refused.status, refused.code().as_deref()),
                    (401, Some("unauthorized")),
                    "{what}: {}",
                    refused.json()
                );
                assert_eq!(refused.json()["error"]["retryable"], json!(false), "{what}");
            }
        })
        .await;
}

/// A local stand-in for API Gateway's HTTP API in front of the function: each request becomes a
/// payload-format-2.0 event (cookies in `cookies`, repeated headers joined with commas, a body
/// that is not UTF-8 as base64) and the function's answer the response. One request at a time,
/// as one function instance serves them. Returns the app's URL.
async fn gateway(runtime: RuntimeApi) -> String {
    let runtime = Arc::new(tokio::sync::Mutex::new(runtime));
    let app = Router::new().fallback(move |request: axum::extract::Request| {
        let runtime = Arc::clone(&runtime);
        async move { through_gateway(&runtime, request).await }
    });
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    tokio::spawn(async move { axum::serve(listener, app).await });
    // `localhost`: a browser keeps the function's `Secure` cookies there without TLS.
    format!("http://localhost:{port}/")
}

async fn through_gateway(
    runtime: &tokio::sync::Mutex<RuntimeApi>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use base64::Engine;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 8 << 20).await.unwrap_or_default();
    let mut headers = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = value.to_str().unwrap_or_default();
        if name == "cookie" {
            cookies.extend(
                value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned),
            );
            continue;
        }
        let joined = match headers.get(name.as_str()).and_then(Value::as_str) {
            Some(earlier) => format!("{earlier},{value}"),
            None => value.to_owned(),
        };
        headers.insert(name.as_str().to_owned(), json!(joined));
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "http": { "method": parts.method.as_str(), "path": parts.uri.path(), "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1" },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "stage": "$default",
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !bytes.is_empty() {
        match std::str::from_utf8(&bytes) {
            Ok(text) => event["body"] = json!(text),
            Err(_) => {
                event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    let answer = runtime.lock().await.invoke(event).await;
    let status = answer["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(502);
    let mut response = axum::response::Response::builder().status(status);
    for (name, value) in answer["headers"].as_object().into_iter().flatten() {
        response = response.header(name, value.as_str().unwrap_or_default());
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        response = response.header("set-cookie", cookie.as_str().unwrap_or_default());
    }
    let text = answer["body"].as_str().unwrap_or_default();
    let body = if answer["isBase64Encoded"].as_bool().unwrap_or(false) {
        base64::engine::general_purpose::STANDARD.decode(text).unwrap_or_default()
    } else {
        text.as_bytes().to_vec()
    };
    response.body(axum::body::Body::from(body)).unwrap_or_else(|e| panic!("{e}"))
}

/// The web app, served by the api function behind a local API Gateway, works end to end in
/// Chromium over Cognito (`e2e/aws-confirm.mjs`): the code form after registering, its
/// empty-code refusal, sign-in, a preview and a PDF made and downloaded through its presigned
/// link, a reload that keeps the session, and the code form again after a sign-in that is not
/// yet confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server, an S3-compatible store, Chromium (CHROMIUM) and e2e's packages; run by .ci/run"]
async fn the_web_app_works_over_cognito_in_chromium() {
    let chromium = crate::required("CHROMIUM", "Debian's Chromium (and e2e's packages)");
    let e2e = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e");
    assert!(
        e2e.join("node_modules/playwright-core").is_dir(),
        "e2e/ has no packages: run `npm ci` there (.ci/run does)"
    );
    let table = TestTable::create().await;
    let pool = TestUserPool::create("browser").await;
    let env = [
        ("FOLIO_INDEX_URL", table.url()),
        ("FOLIO_OBJECTS_URL", required("FOLIO_TEST_S3_URL")),
        ("FOLIO_IDENTITY_URL", pool.url()),
    ];
    table
        .around(async move {
            let runtime = RuntimeApi::serve().await;
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let _function = Function::start("api", &runtime.address, &env);
            let url = gateway(runtime).await;
            let run = tokio::process::Command::new("node")
                .arg("aws-confirm.mjs")
                .arg(&url)
                .current_dir(&e2e)
                .env("CHROMIUM", chromium)
                .output()
                .await
                .unwrap_or_else(|e| panic!("cannot run node: {e}"));
            assert!(
                run.status.success(),
                "e2e/aws-confirm.mjs failed:\n{}\n{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
        })
        .await;
}

/// With a fonts layer (`FOLIO_FONT_DIR`), the api function renders Japanese without a
/// missing-glyph warning; without it, the warning names the script and how to add a font.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server, an S3-compatible store and a CJK font folder; run by .ci/run"]
async fn the_api_function_renders_with_its_fonts_layer() {
    let fonts =
        crate::required("FOLIO_CJK_FONT_DIR", "a CJK font folder (Debian's fonts-droid-fallback)");
    let table = TestTable::create().await;
    let pool = TestUserPool::create("fonts").await;
    let base = [
        ("FOLIO_INDEX_URL", table.url()),
        ("FOLIO_OBJECTS_URL", required("FOLIO_TEST_S3_URL")),
        ("FOLIO_IDENTITY_URL", pool.url()),
    ];
    table
        .around(async move {
            let mut found = Vec::new();
            for (n, with_fonts) in [true, false].into_iter().enumerate() {
                let mut env: Vec<(&str, &str)> =
                    base.iter().map(|(k, v)| (*k, v.as_str())).collect();
                if with_fonts {
                    env.push(("FOLIO_FONT_DIR", fonts.as_str()));
                }
                let mut runtime = RuntimeApi::serve().await;
                let _function = Function::start("api", &runtime.address, &env);
                let (token, _, _) =
                    web_sign_in(&mut runtime, &format!("kana{n}@example.com")).await;
                let markdown = json!({ "markdown": "# 日本語\n\n吾輩は猫である。\n" });
                let pages = send(
                    &mut runtime,
                    Request::new("POST", "/api/preview/pages").bearer(&token).json(markdown),
                )
                .await;
                assert_eq!(pages.status, 200, "{}", pages.json());
                let missing: Vec<String> = pages.json()["warnings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|w| w["kind"] == "missing_glyph")
                    .map(|w| w["message"].as_str().unwrap_or_default().to_owned())
                    .collect();
                found.push(missing);
            }
            assert_eq!(found[0], Vec::<String>::new(), "with the layer every character is drawn");
            assert!(
                found[1].iter().any(|m| m.contains("Han script") && m.contains("FOLIO_FONT_DIR")),
                "{:?}",
                found[1]
            );
        })
        .await;
}

/// A request past the function's deadline is answered `render_timeout` in folio's shape, and the
/// process then ends (Lambda starts a fresh one), so the render still running on its thread
/// cannot slow the next invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server and an S3-compatible store; run by .ci/run"]
async fn a_request_past_the_deadline_is_answered_and_ends_the_process() {
    let table = TestTable::create().await;
    let pool = TestUserPool::create("deadline").await;
    let env = [
        ("FOLIO_INDEX_URL", table.url()),
        ("FOLIO_OBJECTS_URL", required("FOLIO_TEST_S3_URL")),
        ("FOLIO_IDENTITY_URL", pool.url()),
        ("FOLIO_RENDER_DEADLINE_SECS", "1".to_owned()),
    ];
    let tokens = pool.signed_in(&pool.client_id, "ada@example.com", "correct horse battery").await;
    let token = tokens["AccessToken"].as_str().unwrap_or_default().to_owned();
    table
        .around(async move {
            let mut runtime = RuntimeApi::serve().await;
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let mut function = Function::start("api", &runtime.address, &env);
            // Many pages of tables: seconds of layout in a debug build.
            let row = "| a | b | c | d | e | f |\n";
            let table_md = format!(
                "| 1 | 2 | 3 | 4 | 5 | 6 |\n|---|---|---|---|---|---|\n{}",
                row.repeat(400)
            );
            let markdown = format!("# Slow\n\n{}", format!("{table_md}\n").repeat(12));
            let slow = send(
                &mut runtime,
                Request::new("POST", "/api/preview/pages")
                    .bearer(&token)
                    .json(json!({ "markdown": markdown })),
            )
            .await;
            assert_eq!(
                (slow.status, slow.code().as_deref()),
                (503, Some("render_timeout")),
                "{}",
                slow.json()
            );
            assert_eq!(slow.json()["error"]["retryable"], json!(true));
            assert_eq!(
                function.ended_within(Duration::from_secs(10)),
                Some(0),
                "the process ends after answering"
            );
        })
        .await;
}

/// The Runtime API header Lambda sends with an invocation made with Cognito identity-pool
/// credentials.
fn cognito_identity(identity_id: &str) -> Vec<(&'static str, String)> {
    let identity =
        json!({ "cognitoIdentityId": identity_id, "cognitoIdentityPoolId": "eu-west-1:pool-3333" });
    vec![("lambda-runtime-cognito-identity", identity.to_string())]
}

/// The direct-invoke path: create and query invoked with identity-pool credentials act for the
/// invocation's Cognito identity only (a payload naming another changes nothing), a retried
/// invocation makes one document, and an invocation without an identity is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server and an S3-compatible store; run by .ci/run"]
async fn the_direct_invoke_path_acts_for_the_invocations_identity_only() {
    let table = TestTable::create().await;
    let urls = AwsUrls { dynamodb: table.url(), s3: required("FOLIO_TEST_S3_URL"), sqs: None };
    table
        .around(async move {
            let env = [
                ("FOLIO_INDEX_URL", urls.dynamodb.as_str()),
                ("FOLIO_OBJECTS_URL", urls.s3.as_str()),
            ];
            let mut creates = RuntimeApi::serve().await;
            let _create = Function::start("create", &creates.address, &env);
            let mut queries = RuntimeApi::serve().await;
            let _query = Function::start("query", &queries.address, &env);
            let caller = format!("eu-west-1:{}", uuid::Uuid::new_v4());
            let owner = IdentityId::derive("cognito-identity:eu-west-1:pool-3333", &caller);
            let someone = IdentityId::derive("https://elsewhere.test", "victim");
            let payload = json!({
                "markdown": "# Invoked\n\nStraight from the SDK.\n",
                "identity_id": someone.to_string(),
                "owner": someone.to_string(),
            });

            // Lambda retries one invocation under its request id: one document.
            let first = creates
                .invoke_as("retried-1".to_owned(), payload.clone(), cognito_identity(&caller))
                .await;
            let id = first["id"].as_str().unwrap_or_else(|| panic!("{first}")).to_owned();
            let retried = creates
                .invoke_as("retried-1".to_owned(), payload.clone(), cognito_identity(&caller))
                .await;
            assert_eq!(retried["id"], json!(id), "{retried}");
            // The client's own key holds across invocations.
            let mut keyed = payload.clone();
            keyed["idempotency_key"] = json!("client-key-1");
            let a = creates.invoke_with(keyed.clone(), cognito_identity(&caller)).await;
            let b = creates.invoke_with(keyed, cognito_identity(&caller)).await;
            assert!(a["id"].is_string() && a["id"] == b["id"] && a["id"] != json!(id), "{a} {b}");
            assert!(
                a["download_url"].as_str().is_some_and(|u| u.contains("X-Amz-Signature")),
                "{a}"
            );

            // The documents are the invoker's, whatever the payload named.
            let aws = Aws::open(&urls).await.unwrap_or_else(|e| panic!("{e}"));
            let pipeline = aws.pipeline_without_renderer().unwrap_or_else(|e| panic!("{e}"));
            let doc = |text: &str| {
                text.parse::<folio_core::DocumentId>().unwrap_or_else(|e| panic!("{e}"))
            };
            for made in [id.as_str(), a["id"].as_str().unwrap_or_default()] {
                let key = ObjectKey::new(owner, doc(made), ObjectKind::Pdf);
                notify(&urls, Change::Created, &key.to_string(), "0055AED6DCD90281E5").await;
                let mine = folio_core::functions::get_document(&pipeline, &owner, &doc(made)).await;
                assert!(mine.is_ok(), "{mine:?}");
                let theirs =
                    folio_core::functions::get_document(&pipeline, &someone, &doc(made)).await;
                assert_eq!(
                    theirs.err(),
                    Some(folio_core::Error::NotFound),
                    "nothing under the named identity"
                );
            }
            let listed = queries
                .invoke_with(
                    json!({ "limit": 10, "owner": someone.to_string() }),
                    cognito_identity(&caller),
                )
                .await;
            assert_eq!(listed["items"].as_array().map(Vec::len), Some(2), "{listed}");
            let stranger =
                queries.invoke_with(json!({}), cognito_identity("eu-west-1:stranger")).await;
            assert_eq!(stranger["items"], json!([]), "{stranger}");

            // No identity (a caller with plain IAM credentials), a payload that is no request.
            let anonymous = creates.invoke(payload).await;
            assert_eq!(anonymous["error"]["code"], json!("unauthorized"), "{anonymous}");
            let unknown = creates
                .invoke_with(json!({ "markdown": "x", "colour": "red" }), cognito_identity(&caller))
                .await;
            assert_eq!(unknown["error"]["code"], json!("invalid_request"), "{unknown}");
            let not_object = queries.invoke_with(json!([1, 2]), cognito_identity(&caller)).await;
            assert_eq!(not_object["error"]["code"], json!("invalid_request"), "{not_object}");

            for made in [id.as_str(), a["id"].as_str().unwrap_or_default()] {
                let _ = delete_document(&pipeline, &owner, &doc(made)).await;
            }
        })
        .await;
}

/// The scheduled reconcile function: a record deleted from the table by hand and a document
/// whose notification never came are indexed again, in the function's process, under the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server and an S3-compatible store; run by .ci/run"]
async fn the_reconcile_function_repairs_what_the_notifications_missed() {
    let table = TestTable::create().await;
    let db = table.db.clone();
    let urls = AwsUrls { dynamodb: table.url(), s3: required("FOLIO_TEST_S3_URL"), sqs: None };
    table
        .around(async move {
            let aws = Aws::open(&urls).await.unwrap_or_else(|e| panic!("{e}"));
            let pipeline = aws
                .pipeline(Arc::new(folio_core::testing::FakeRenderer), Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let owner = IdentityId::derive("https://reconcile.test", &uuid::Uuid::new_v4().to_string());
            let ids = create_documents(&pipeline, &owner, &["Indexed, then lost", "Never notified"]).await;
            let key = ObjectKey::new(owner, ids[0], ObjectKind::Pdf);
            notify(&urls, Change::Created, &key.to_string(), "0055AED6DCD90281E5").await;
            delete_by_hand(&db, &owner.to_string(), &ids[0].to_string()).await;
            for id in &ids {
                assert!(pipeline.index.get(&owner, id).await.ok().flatten().is_none());
            }

            let mut runtime = RuntimeApi::serve().await;
            let env = [("FOLIO_INDEX_URL", urls.dynamodb.as_str()), ("FOLIO_OBJECTS_URL", urls.s3.as_str())];
            let _function = Function::start("reconcile", &runtime.address, &env);
            let schedule = json!({ "source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {} });
            let report = runtime.invoke(schedule.clone()).await;
            assert!(report["missing_records"].as_u64().is_some_and(|n| n >= 2), "{report}");
            for id in &ids {
                let record = pipeline.index.get(&owner, id).await.ok().flatten();
                assert!(record.is_some(), "{id} is indexed again: {report}");
            }
            let again = runtime.invoke(schedule).await;
            assert!(again["pdfs"].as_u64().is_some_and(|n| n >= 2), "{again}");
            for id in &ids {
                let _ = delete_document(&pipeline, &owner, id).await;
            }
        })
        .await;
}

/// A fake SigV4 `Authorization` header: moto routes a request by the service it names and
/// checks no signature.
fn moto_service(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=moto/20261202/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00"
    )
}

/// One SQS call on moto (JSON protocol).
async fn sqs(http: &reqwest::Client, moto: &str, action: &str, body: Value) -> Value {
    let response = http
        .post(format!("{moto}/"))
        .header("authorization", moto_service("sqs"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AmazonSQS.{action}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{action}: {status} {answer}");
    answer
}

/// A bucket on moto that notifies a queue of created and removed `ugc/…pdf` objects, as the
/// template configures folio's: the bucket's `s3://` URL and the queue's URL.
async fn notifying_bucket(http: &reqwest::Client, moto: &str) -> (String, String) {
    let name = format!("folio-e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let queue = sqs(http, moto, "CreateQueue", json!({ "QueueName": name })).await["QueueUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let s3 = |method: reqwest::Method, path: String| {
        http.request(method, format!("{moto}/{name}{path}"))
            .header("authorization", moto_service("s3"))
    };
    let made = s3(reqwest::Method::PUT, String::new()).send().await.map(|r| r.status().as_u16());
    assert_eq!(made.ok(), Some(200), "the bucket");
    let rule = |name: &str, value: &str| {
        format!("<FilterRule><Name>{name}</Name><Value>{value}</Value></FilterRule>")
    };
    let config = format!(
        "<NotificationConfiguration><QueueConfiguration><Id>folio</Id><Queue>arn:aws:sqs:us-east-1:123456789012:{name}</Queue>\
         <Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:*</Event>\
         <Filter><S3Key>{}{}</S3Key></Filter></QueueConfiguration></NotificationConfiguration>",
        rule("prefix", "ugc/"),
        rule("suffix", ".pdf"),
    );
    let notifying = s3(reqwest::Method::PUT, "?notification".to_owned())
        .header("content-type", "application/xml")
        .body(config)
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert_eq!(notifying.ok(), Some(200), "the notification configuration");
    (format!("s3://{name}?endpoint={moto}&region=us-east-1"), queue)
}

/// Everything on the queue, in delivery order: (message id, body).
async fn drain(http: &reqwest::Client, moto: &str, queue: &str) -> Vec<(String, String)> {
    let mut messages = Vec::new();
    loop {
        let received = sqs(
            http,
            moto,
            "ReceiveMessage",
            json!({ "QueueUrl": queue, "MaxNumberOfMessages": 10 }),
        )
        .await;
        let batch = received["Messages"].as_array().cloned().unwrap_or_default();
        if batch.is_empty() {
            return messages;
        }
        for message in batch {
            let id = message["MessageId"].as_str().unwrap_or_default().to_owned();
            messages.push((id, message["Body"].as_str().unwrap_or_default().to_owned()));
            let handle = message["ReceiptHandle"].clone();
            sqs(http, moto, "DeleteMessage", json!({ "QueueUrl": queue, "ReceiptHandle": handle }))
                .await;
        }
    }
}

/// The whole AWS event path on moto: folio writes and deletes documents in a bucket that
/// notifies SQS; the notifications moto delivered (with the sequencers real S3 adds, which moto
/// leaves out), duplicated and reordered, plus S3's test event and a poison message, go through
/// the indexer function: DynamoDB ends equal to the bucket and only the poison message is
/// reported failed. The reconcile function then repairs a record deleted from the table by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server; run by .ci/run"]
async fn notifications_moto_delivered_index_the_bucket_and_reconcile_repairs_the_rest() {
    let table = TestTable::create().await;
    let db = table.db.clone();
    let index_url = table.url();
    let moto = required("FOLIO_TEST_MOTO_URL");
    table
        .around(async move {
            let http = reqwest::Client::new();
            let (objects_url, queue) = notifying_bucket(&http, &moto).await;
            let urls = AwsUrls { dynamodb: index_url.clone(), s3: objects_url.clone(), sqs: None };
            let aws = Aws::open(&urls).await.unwrap_or_else(|e| panic!("{e}"));
            let pipeline = aws
                .pipeline(Arc::new(folio_core::testing::FakeRenderer), Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let owner = IdentityId::derive("https://moto.test", "e2e");
            let ids = create_documents(&pipeline, &owner, &["Kept", "Also kept", "Deleted"]).await;
            delete_document(&pipeline, &owner, &ids[2]).await.unwrap_or_else(|e| panic!("{e}"));

            // moto's deliveries: S3's test event first, then one message per PDF change.
            let delivered = drain(&http, &moto, &queue).await;
            let mut sequenced = Vec::new();
            for (n, (id, body)) in delivered.iter().enumerate() {
                let mut message: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                if let Some(records) = message.get_mut("Records").and_then(Value::as_array_mut) {
                    for record in records {
                        assert!(record["s3"]["object"].get("sequencer").is_none(), "moto sends none");
                        record["s3"]["object"]["sequencer"] = json!(format!("0055AED6DCD9028{n:03X}"));
                    }
                }
                sequenced.push((id.clone(), message.to_string()));
            }
            let changes = sequenced.iter().filter(|(_, body)| body.contains("\"Records\"")).count();
            assert_eq!(changes, 4, "three PDFs created, one removed: {delivered:?}");
            assert!(delivered.iter().any(|(_, body)| body.contains("s3:TestEvent")), "{delivered:?}");

            // Newest first, each twice (SQS delivers at least once), then a poison message.
            let mut batch: Vec<Value> = sequenced
                .iter()
                .rev()
                .chain(sequenced.iter())
                .enumerate()
                .map(|(n, (id, body))| json!({ "messageId": format!("{id}-{n}"), "body": body, "eventSource": "aws:sqs" }))
                .collect();
            batch.push(json!({ "messageId": "poison", "body": "{\"Records\": [{\"s3\": 42}]}", "eventSource": "aws:sqs" }));
            let mut runtime = RuntimeApi::serve().await;
            let env = [("FOLIO_INDEX_URL", index_url.as_str()), ("FOLIO_OBJECTS_URL", objects_url.as_str())];
            let indexer = Function::start("indexer", &runtime.address, &env);
            let answer = runtime.invoke(json!({ "Records": batch })).await;
            assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": "poison" }] }));
            drop(indexer);

            // The table now says what the bucket holds.
            let listed = folio_core::functions::query_documents(&pipeline, &owner, &Default::default()).await;
            let mut listed: Vec<_> = listed.map(|page| page.items.into_iter().map(|d| d.id).collect()).unwrap_or_default();
            listed.sort();
            let mut kept = vec![ids[0], ids[1]];
            kept.sort();
            assert_eq!(listed, kept, "the deleted document is not listed, the others are");

            // A record lost by hand comes back with the reconcile function.
            delete_by_hand(&db, &owner.to_string(), &ids[0].to_string()).await;
            assert!(pipeline.index.get(&owner, &ids[0]).await.ok().flatten().is_none());
            let mut runtime = RuntimeApi::serve().await;
            let _reconcile = Function::start("reconcile", &runtime.address, &env);
            let report = runtime.invoke(json!({ "source": "aws.scheduler" })).await;
            assert_eq!((report["pdfs"].as_u64(), report["missing_records"].as_u64()), (Some(2), Some(1)), "{report}");
            assert!(pipeline.index.get(&owner, &ids[0]).await.ok().flatten().is_some(), "repaired");

            // `folio reindex` against the stack does the same from an operator's machine; the
            // commands with no part in the AWS shape say so.
            delete_by_hand(&db, &owner.to_string(), &ids[1].to_string()).await;
            let backends = ["--index-url", index_url.as_str(), "--objects-url", objects_url.as_str()];
            let folio = |command: &[&str]| {
                Command::new(env!("CARGO_BIN_EXE_folio"))
                    .args(command)
                    .args(backends)
                    .output()
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let reindexed = folio(&["reindex", "--json"]);
            let stdout = String::from_utf8_lossy(&reindexed.stdout);
            assert!(reindexed.status.success(), "{stdout} {}", String::from_utf8_lossy(&reindexed.stderr));
            let report: Value = serde_json::from_str(&stdout).unwrap_or(Value::Null);
            assert_eq!(report["missing_records"], json!(1), "{stdout}");
            assert!(pipeline.index.get(&owner, &ids[1]).await.ok().flatten().is_some(), "repaired");
            for (command, says) in [
                (&["serve"][..], "API Gateway runs the api function"),
                (&["events", "dead"][..], "--events-url"),
                (&["users", "list"][..], "Cognito"),
            ] {
                let refused = folio(command);
                let stderr = String::from_utf8_lossy(&refused.stderr);
                assert_eq!(refused.status.code(), Some(2), "{command:?}: {stderr}");
                assert!(stderr.contains(says), "{command:?}: {stderr}");
            }
        })
        .await;
}

/// `folio events dead|retry` against the stack's queues: a notification the redrive policy moved
/// to the dead-letter queue (the indexer failed it while the object was not yet readable) and one
/// for a PDF whose manifest is missing are listed; retry indexes the first, parks the second
/// again with its reason, and says so with a non-zero exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server and an S3-compatible store; run by .ci/run"]
async fn folio_events_lists_and_retries_the_dead_letter_queue() {
    use object_store::ObjectStoreExt;
    let table = TestTable::create().await;
    let queues = TestQueues::create().await;
    let index_url = table.url();
    let events_url = queues.url();
    let objects_url = required("FOLIO_TEST_S3_URL");
    let urls = AwsUrls { dynamodb: index_url.clone(), s3: objects_url.clone(), sqs: None };
    let queues = Arc::new(queues);
    let cleanup = Arc::clone(&queues);
    table
        .around(async move {
            let aws = Aws::open(&urls).await.unwrap_or_else(|e| panic!("{e}"));
            let pipeline = aws
                .pipeline(Arc::new(folio_core::testing::FakeRenderer), Default::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let owner =
                IdentityId::derive("https://lambda.test", &uuid::Uuid::new_v4().to_string());
            let ids = create_documents(&pipeline, &owner, &["Parked"]).await;
            let parked = ObjectKey::new(owner, ids[0], ObjectKind::Pdf);
            let broken = ObjectKey::new(owner, folio_core::DocumentId::new(), ObjectKind::Pdf);
            let stored = pipeline.objects.put(&broken.path(), b"%PDF-1.7".to_vec().into()).await;
            assert!(stored.is_ok(), "{stored:?}");
            let body = |key: &ObjectKey, sequencer: &str| {
                let event = ObjectEvent {
                    change: Change::Created,
                    key: key.to_string(),
                    size: None,
                    etag: None,
                    sequencer: Sequencer::parse(sequencer).unwrap_or_else(|e| panic!("{e}")),
                    time: "2026-12-02T00:00:00.000Z".to_owned(),
                };
                serde_json::to_string(&S3Notification::single(&event, "folio-ci"))
                    .unwrap_or_default()
            };
            queues.send_raw_to_dead_letter(&body(&parked, "0055AED6DCD90281E5")).await;
            queues.send_raw_to_dead_letter(&body(&broken, "0055AED6DCD90281E6")).await;

            let backends = [
                "--index-url",
                index_url.as_str(),
                "--objects-url",
                objects_url.as_str(),
                "--events-url",
                events_url.as_str(),
            ];
            let folio = |command: &[&str]| {
                Command::new(env!("CARGO_BIN_EXE_folio"))
                    .args(command)
                    .args(backends)
                    .output()
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            let dead_letters = || {
                let listed = folio(&["events", "dead", "--json"]);
                let stdout = String::from_utf8_lossy(&listed.stdout).into_owned();
                assert!(
                    listed.status.success(),
                    "{stdout} {}",
                    String::from_utf8_lossy(&listed.stderr)
                );
                let letters: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_default();
                letters
            };
            let listed = dead_letters();
            let mut keys: Vec<&str> = listed.iter().filter_map(|d| d["key"].as_str()).collect();
            keys.sort_unstable();
            let mut expected = [parked.to_string(), broken.to_string()];
            expected.sort_unstable();
            assert_eq!(keys, expected, "{listed:?}");
            assert!(
                listed
                    .iter()
                    .all(|d| d["error"].as_str().unwrap_or_default().contains("redrive policy")),
                "{listed:?}"
            );

            let retried = folio(&["events", "retry"]);
            let stdout = String::from_utf8_lossy(&retried.stdout);
            let stderr = String::from_utf8_lossy(&retried.stderr);
            assert_eq!(retried.status.code(), Some(1), "{stdout} {stderr}");
            assert!(stdout.contains("replayed 2; delivered 1, dead again 1"), "{stdout}");
            assert!(stderr.contains("folio events dead"), "{stderr}");
            let record = pipeline.index.get(&owner, &ids[0]).await;
            assert_eq!(
                record.ok().flatten().map(|r| r.title),
                Some("Parked".to_owned()),
                "indexed"
            );

            let left = dead_letters();
            assert_eq!(left.len(), 1, "{left:?}");
            assert_eq!(left[0]["key"], json!(broken.to_string()));
            assert!(
                left[0]["error"].as_str().unwrap_or_default().contains("has no manifest"),
                "{left:?}"
            );
            let none = folio(&["events", "retry", "no-such-message"]);
            assert!(String::from_utf8_lossy(&none.stdout).contains("replayed 0"), "{none:?}");
            assert_eq!(dead_letters().len(), 1, "an unknown id moves nothing");

            let gone = pipeline.objects.delete(&broken.path()).await;
            assert!(gone.is_ok(), "{gone:?}");
            let deleted = delete_document(&pipeline, &owner, &ids[0]).await;
            assert!(deleted.is_ok(), "{deleted:?}");
        })
        .await;
    cleanup.delete().await;
}

/// The api function's settings are checked at its cold start, each refusal naming what to fix;
/// started outside Lambda it says so instead of panicking (lambda_runtime would).
#[test]
fn the_api_function_refuses_wrong_settings_and_a_missing_runtime() {
    let table = "dynamodb://folio-docs?endpoint=http://127.0.0.1:9&region=eu-west-1";
    let pool = "cognito://eu-west-1_AbC123?client_id=abc&endpoint=http://127.0.0.1:9";
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let no_fonts = empty.path().display().to_string();
    for (identity, deadline, fonts, runtime, says) in [
        ("cognito://nopool?client_id=abc", "25", None, true, "not a user pool id"),
        (pool, "0", None, true, "--render-deadline-secs must be at least 1"),
        (pool, "25", Some(no_fonts.as_str()), true, "FOLIO_FONT_DIR"),
        (pool, "25", None, false, "AWS_LAMBDA_RUNTIME_API"),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
        command
            .args(["lambda", "api"])
            .env("FOLIO_INDEX_URL", table)
            .env("FOLIO_OBJECTS_URL", "s3://folio?endpoint=http://127.0.0.1:9&region=eu-west-1")
            .env("FOLIO_IDENTITY_URL", identity)
            .env("FOLIO_RENDER_DEADLINE_SECS", deadline)
            .env_remove("FOLIO_FONT_DIR")
            .env_remove("AWS_LAMBDA_RUNTIME_API");
        if let Some(dir) = fonts {
            command.env("FOLIO_FONT_DIR", dir);
        }
        if runtime {
            // A Runtime API nobody serves: the settings are refused before it is asked.
            command.env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9");
        }
        let output = command.output().unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{identity} {deadline}: {stderr}");
        assert!(stderr.contains(says), "{identity} {deadline}: {stderr}");
    }
}
