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
use folio_aws::testing::TestTable;
use folio_aws::{Aws, AwsUrls};
use folio_core::event::{Change, ObjectEvent, S3Notification, Sequencer};
use folio_core::functions::{CreateRequest, create_pdf, delete_document};
use folio_core::{IdentityId, ObjectKey, ObjectKind};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// What the Runtime API holds: invocations not yet handed out, and where answers go.
#[derive(Clone)]
struct Runtime {
    pending: Arc<Mutex<Vec<(String, Value)>>>,
    answers: mpsc::UnboundedSender<(String, Value)>,
}

async fn next(State(runtime): State<Runtime>) -> (HeaderMap, String) {
    loop {
        let popped = runtime.pending.lock().map(|mut p| p.pop()).ok().flatten();
        if let Some((id, event)) = popped {
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
                    "arn:aws:lambda:us-east-1:1:function:indexer".to_owned(),
                ),
            ] {
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

/// Serves the Runtime API on a free port with `invocations` queued: its address and the answers.
async fn runtime_api(
    invocations: Vec<(String, Value)>,
) -> (String, mpsc::UnboundedReceiver<(String, Value)>) {
    let (send, answers) = mpsc::unbounded_channel();
    let runtime = Runtime { pending: Arc::new(Mutex::new(invocations)), answers: send };
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
    (address, answers)
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

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: this test needs moto and an S3-compatible store (see .ci/run)")
    })
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
    let urls = AwsUrls { dynamodb: index_url.clone(), s3: objects_url.clone() };
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
            let (address, mut answers) = runtime_api(vec![("invocation-1".to_owned(), batch)]).await;
            let _function = Function::start(
                "indexer",
                &address,
                &[("FOLIO_INDEX_URL", index_url.as_str()), ("FOLIO_OBJECTS_URL", objects_url.as_str())],
            );
            let answered = tokio::time::timeout(Duration::from_secs(60), answers.recv()).await;
            let (id, body) = answered.ok().flatten().unwrap_or_else(|| panic!("the function did not answer"));
            assert_eq!(id, "invocation-1", "{body}");
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
