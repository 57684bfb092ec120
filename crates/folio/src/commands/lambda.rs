//! `folio lambda <function>`: the AWS shape's functions as the Lambda runtime runs them. Clients
//! are built once per cold start; each invocation is a call of folio-core's functions.

use std::sync::Arc;

use folio_aws::{Aws, AwsUrls};
use folio_core::functions::{QueueMessage, index_queue_batch};
use lambda_runtime::{LambdaEvent, service_fn};
use serde::{Deserialize, Serialize};

use crate::args::LambdaArgs;
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

/// Where the function's state is, read and checked at the cold start.
async fn open(args: &LambdaArgs) -> Result<Aws, Failure> {
    let urls = AwsUrls { dynamodb: args.index_url.clone(), s3: args.objects_url.clone() };
    Aws::open(&urls).await.map_err(|e| {
        Failure::usage(e.to_string()).with_hint("set FOLIO_INDEX_URL and FOLIO_OBJECTS_URL")
    })
}

/// The indexer function: a batch of S3 notifications from SQS in, the messages to deliver again
/// out.
pub async fn indexer(args: &LambdaArgs) -> Result<(), Failure> {
    let aws = open(args).await?;
    let pipeline = Arc::new(aws.indexer_pipeline().map_err(|e| Failure::usage(e.to_string()))?);
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
