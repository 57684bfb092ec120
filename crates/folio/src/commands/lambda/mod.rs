//! `folio lambda <function>`: the AWS shape's functions as the Lambda runtime runs them. Clients
//! are built once per cold start; each invocation is a call of folio-core's functions (the api
//! function: of folio's own router).

mod apigw;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use folio_auth::{SignIn, Verifier};
use folio_aws::{Aws, AwsUrls, CognitoOptions, CognitoSignIn};
use folio_core::functions::{
    Invoker, QueueMessage, index_queue_batch, invoke_create, invoke_query, refusal,
};
use folio_core::ports::NoRenderer;
use folio_core::{RenderFailure, Settings, reconcile_in_process_once};
use folio_server::{ApiError, AppState, ServerSettings};
use folio_workers::InProcessRenderer;
use lambda_runtime::{LambdaEvent, LambdaInvocation, Runtime, service_fn};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::{Service, ServiceExt};

use crate::args::{ApiArgs, LambdaArgs};
use crate::failure::Failure;

/// An SQS event as Lambda delivers it: only the fields the indexer reads.
#[derive(Debug, Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records", default)]
    records: Vec<SqsMessage>,
}

#[derive(Debug, Deserialize)]
struct SqsMessage {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(default)]
    body: String,
}

/// The partial-batch answer (the event source mapping has `ReportBatchItemFailures`): only
/// the listed messages are delivered again; the rest are deleted from the queue.
#[derive(Debug, Serialize)]
struct SqsBatchResponse {
    #[serde(rename = "batchItemFailures")]
    batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Serialize)]
struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    item_identifier: String,
}

/// The variables the Lambda runtime sets; `lambda_runtime` panics without them, so they are
/// checked first (a function started by hand gets a message and exit 2 instead).
const RUNTIME_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
];

fn check_runtime_variables() -> Result<(), Failure> {
    let missing: Vec<&str> =
        RUNTIME_VARIABLES.into_iter().filter(|name| std::env::var_os(name).is_none()).collect();
    let memory_ok = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .map_or(true, |value| value.parse::<i32>().is_ok());
    if !missing.is_empty() || !memory_ok {
        return Err(Failure::usage(format!(
            "folio lambda runs under AWS Lambda's runtime: {}",
            if missing.is_empty() {
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not a number".to_owned()
            } else {
                format!("{} not set", missing.join(", "))
            }
        ))
        .with_hint(
            "deploy it with deploy/aws/template.yaml, or run it under a Runtime API emulator",
        ));
    }
    Ok(())
}

/// Where the function's state is, read and checked at the cold start (which also starts the
/// function's log: JSON lines on standard error, which Lambda sends to CloudWatch).
async fn open(args: &LambdaArgs) -> Result<Aws, Failure> {
    super::serve::init_logging(true);
    let urls =
        AwsUrls { dynamodb: args.index_url.clone(), s3: args.objects_url.clone(), sqs: None };
    Aws::open(&urls).await.map_err(|e| {
        Failure::usage(e.to_string()).with_hint("set FOLIO_INDEX_URL and FOLIO_OBJECTS_URL")
    })
}

/// The indexer function: a batch of S3 notifications from SQS in, the messages to deliver again
/// out.
pub async fn indexer(args: &LambdaArgs) -> Result<(), Failure> {
    let aws = open(args).await?;
    check_runtime_variables()?;
    let pipeline =
        Arc::new(aws.pipeline_without_renderer().map_err(|e| Failure::usage(e.to_string()))?);
    let handler = service_fn(move |event: LambdaEvent<SqsEvent>| {
        let pipeline = Arc::clone(&pipeline);
        async move {
            let messages: Vec<QueueMessage> = event
                .payload
                .records
                .into_iter()
                .map(|m| QueueMessage { id: m.message_id, body: m.body })
                .collect();
            let again = index_queue_batch(&pipeline, &messages).await;
            Ok::<_, lambda_runtime::Error>(SqsBatchResponse {
                batch_item_failures: again
                    .into_iter()
                    .map(|item_identifier| BatchItemFailure { item_identifier })
                    .collect(),
            })
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| Failure::document(format!("the Lambda runtime stopped: {e}")))
}

/// The api function: folio's router (the API and the web app) behind an API Gateway HTTP API.
///
/// Renders run in this process. Each request gets `--render-deadline-secs` (25 s, below API
/// Gateway's 30 s); at the deadline the caller gets `render_timeout` in folio's shape and, once
/// that answer is posted, the process ends, so a render that is still running cannot slow the
/// next invocation (Lambda starts a fresh environment).
pub async fn api(args: &ApiArgs) -> Result<(), Failure> {
    let aws = open(&args.state).await?;
    let cognito = CognitoOptions::from_url(&args.identity_url)
        .map_err(|e| Failure::usage(e.to_string()).with_hint("set FOLIO_IDENTITY_URL"))?;
    let sign_in = CognitoSignIn::new(cognito.clone()).map_err(|e| Failure::usage(e.to_string()))?;
    if args.render_deadline_secs == 0 {
        return Err(Failure::usage("--render-deadline-secs must be at least 1"));
    }
    let deadline = Duration::from_secs(args.render_deadline_secs);
    let quota = crate::settings::quota_bytes(args.storage_quota_mib);
    let services = aws
        .services(
            Arc::new(renderer(&args.state)?),
            Settings { quota_bytes: quota, ..Settings::default() },
        )
        .map_err(|e| Failure::usage(e.to_string()))?;
    let verifier = Verifier::with_issuers(
        vec![cognito.trusted_issuer()],
        Arc::clone(&services.pipeline.clock),
    )
    .map_err(|e| Failure::usage(e.to_string()))?;
    let state = AppState::new(
        &services,
        Some(Arc::new(sign_in) as Arc<dyn SignIn>),
        Arc::new(verifier),
        ServerSettings {
            // API Gateway serves HTTPS only.
            secure_cookies: true,
            ..ServerSettings::default()
        },
    );
    check_runtime_variables()?;
    let router = folio_server::router(state);
    let timed_out = Arc::new(AtomicBool::new(false));
    let stop_after = Arc::clone(&timed_out);
    let handler = service_fn(move |event: LambdaEvent<apigw::HttpApiRequest>| {
        let router = router.clone();
        let timed_out = Arc::clone(&timed_out);
        async move {
            Ok::<_, lambda_runtime::Error>(
                answer(router, event.payload, deadline, &timed_out).await,
            )
        }
    });
    Runtime::new(handler)
        .layer(tower::layer::layer_fn(move |inner| EndAfterTimeout {
            inner,
            timed_out: Arc::clone(&stop_after),
        }))
        .run()
        .await
        .map_err(|e| Failure::document(format!("the Lambda runtime stopped: {e}")))
}

/// One API Gateway event through the router, within `deadline`.
async fn answer(
    router: axum::Router,
    event: apigw::HttpApiRequest,
    deadline: Duration,
    timed_out: &AtomicBool,
) -> apigw::HttpApiResponse {
    use axum::response::IntoResponse;
    let response = match event.into_request() {
        Err(bad) => ApiError::invalid(bad.to_string()).into_response(),
        Ok(request) => match tokio::time::timeout(deadline, router.oneshot(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(never)) => match never {},
            Err(_) => {
                timed_out.store(true, Ordering::SeqCst);
                tracing::error!(
                    seconds = deadline.as_secs(),
                    "a request passed the deadline; this process ends after answering it"
                );
                ApiError::from(folio_core::Error::render(
                    RenderFailure::Timeout,
                    format!(
                        "the request took longer than {} s and was stopped",
                        deadline.as_secs()
                    ),
                    true,
                ))
                .into_response()
            }
        },
    };
    match apigw::HttpApiResponse::from_response(response).await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::error!(error = %e, "a response body could not be read");
            apigw::HttpApiResponse::server_error()
        }
    }
}

/// The runtime's outermost layer: after an invocation's answer has been posted, ends the process
/// if that invocation passed its deadline (its render may still be running on a thread).
#[derive(Clone)]
struct EndAfterTimeout<S> {
    inner: S,
    timed_out: Arc<AtomicBool>,
}

impl<S> Service<LambdaInvocation> for EndAfterTimeout<S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = lambda_runtime::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<(), lambda_runtime::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let posted = self.inner.call(invocation);
        let timed_out = Arc::clone(&self.timed_out);
        Box::pin(async move {
            let result = posted.await;
            if timed_out.load(Ordering::SeqCst) {
                tracing::warn!("ending the process after a request passed its deadline");
                std::process::exit(0);
            }
            result
        })
    }
}

/// The direct-invoke functions' caller: the Cognito identity Lambda set from the invoker's
/// identity-pool credentials (empty when the invocation had none, which is refused).
fn invoker(context: &lambda_runtime::Context) -> Invoker {
    context.identity.as_ref().map_or_else(
        || Invoker { identity_pool_id: String::new(), identity_id: String::new() },
        |identity| Invoker {
            identity_pool_id: identity.identity_pool_id.clone(),
            identity_id: identity.identity_id.clone(),
        },
    )
}

/// Runs a direct-invoke function: each payload in, `work`'s answer (or folio's error shape) out.
async fn run_direct<F, Fut>(work: F) -> Result<(), Failure>
where
    F: Fn(Value, lambda_runtime::Context) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = folio_core::Result<Value>> + Send,
{
    check_runtime_variables()?;
    let work = Arc::new(work);
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let work = Arc::clone(&work);
        async move {
            let answer = work(event.payload, event.context).await.unwrap_or_else(|err| {
                tracing::info!(error = %err, "a direct invocation was refused");
                refusal(&err)
            });
            Ok::<_, lambda_runtime::Error>(answer)
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| Failure::document(format!("the Lambda runtime stopped: {e}")))
}

/// The renderer of the functions that render (api, create): the embedded fonts and the folder
/// `FOLIO_FONT_DIR` names (a fonts layer), loaded once, at the cold start.
fn renderer(args: &LambdaArgs) -> Result<InProcessRenderer, Failure> {
    let Some(dir) = &args.font_dir else { return Ok(InProcessRenderer::default()) };
    folio_render::FontSet::with_dir(dir).map(InProcessRenderer::with_fonts).map_err(|e| {
        Failure::usage(format!("FOLIO_FONT_DIR: {e}")).with_hint(
            "point it at the fonts layer's folder (/opt/fonts; the template's FontsLayerArn)",
        )
    })
}

/// The create function of the direct-invoke path: `{markdown, title?, options?,
/// idempotency_key?}` in, the created document (as `POST /api/documents` answers it) out.
pub async fn create(args: &LambdaArgs) -> Result<(), Failure> {
    let aws = open(args).await?;
    let services = aws
        .services(Arc::new(renderer(args)?), Settings::default())
        .map_err(|e| Failure::usage(e.to_string()))?;
    let ttl_ms = ServerSettings::default().idempotency_ttl_ms;
    run_direct(move |payload, context| {
        let services = services.clone();
        async move {
            let created = invoke_create(
                &services.pipeline,
                services.idempotency.as_ref(),
                &invoker(&context),
                payload,
                &context.request_id,
                ttl_ms,
            )
            .await?;
            serde_json::to_value(created).map_err(|e| folio_core::Error::Corrupt(e.to_string()))
        }
    })
    .await
}

/// The query function of the direct-invoke path: `{limit?, cursor?, q?}` in, a page of the
/// caller's library (as `GET /api/documents` answers it) out.
pub async fn query(args: &LambdaArgs) -> Result<(), Failure> {
    let aws = open(args).await?;
    let pipeline =
        Arc::new(aws.pipeline_without_renderer().map_err(|e| Failure::usage(e.to_string()))?);
    run_direct(move |payload, context| {
        let pipeline = Arc::clone(&pipeline);
        async move {
            let page = invoke_query(&pipeline, &invoker(&context), payload).await?;
            serde_json::to_value(page).map_err(|e| folio_core::Error::Corrupt(e.to_string()))
        }
    })
    .await
}

/// How long one reconcile run holds the lease: Lambda's longest timeout, so two scheduled runs
/// (or a run and `folio reindex`) never overlap.
const RECONCILE_LEASE: Duration = Duration::from_secs(15 * 60);

/// The reconcile function (on a schedule): one reconciliation under the table's lease, its
/// repairs indexed in this process; answers the report, or `{"skipped": …}` while another run
/// holds the lease.
pub async fn reconcile(args: &LambdaArgs) -> Result<(), Failure> {
    let aws = open(args).await?;
    let services = aws
        .services(Arc::new(NoRenderer), Settings::default())
        .map_err(|e| Failure::usage(e.to_string()))?;
    let holder = uuid::Uuid::new_v4().to_string();
    run_direct(move |_schedule, _context| {
        let services = services.clone();
        let holder = holder.clone();
        async move {
            let lease = services.lease.as_ref();
            let report =
                reconcile_in_process_once(&services.pipeline, lease, &holder, RECONCILE_LEASE)
                    .await;
            match report? {
                Some(report) => {
                    tracing::info!(?report, "reconciled");
                    serde_json::to_value(report)
                        .map_err(|e| folio_core::Error::Corrupt(e.to_string()))
                }
                None => {
                    Ok(serde_json::json!({ "skipped": "another reconciliation holds the lease" }))
                }
            }
        }
    })
    .await
}
