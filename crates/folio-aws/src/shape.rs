//! The AWS shape's builder: the bucket (`folio-s3`) and the table (DynamoDB) put together the
//! way `folio_cluster::Cluster` puts the cluster's backends, once per Lambda cold start.

use std::sync::Arc;

use async_trait::async_trait;
use folio_core::event::ObjectEvent;
use folio_core::ports::{
    EventPublisher, EventQueue, NoRenderer, ObjectChange, Renderer, SystemClock, UrlSigner,
};
use folio_core::{Error, Pipeline, Readiness, Result, Services, Settings};
use folio_s3::S3Options;

use crate::{
    Dynamo, DynamoIdempotency, DynamoIndex, DynamoLease, DynamoOptions, DynamoRateLimits,
    DynamoSecrets, DynamoUsage,
};

/// Where the AWS shape's state lives: the two URLs its functions are configured with.
#[derive(Debug, Clone)]
pub struct AwsUrls {
    /// `dynamodb://TABLE[?endpoint=…&region=…]`: the index and the shared state.
    pub dynamodb: String,
    /// `s3://BUCKET[?endpoint=…&region=…]`: the files; downloads are presigned GETs.
    pub s3: String,
    /// `sqs://QUEUE?dead_letter=QUEUE[&endpoint=…&region=…]`: the bucket's notification queue
    /// and its dead-letter queue, for `folio events dead|retry` (the functions need none:
    /// Lambda hands the indexer its batches).
    pub sqs: Option<String>,
}

/// One function instance's clients (built once per cold start, reused by every invocation).
pub struct Aws {
    db: Dynamo,
    s3: S3Options,
    queue: Option<Arc<dyn EventQueue>>,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("db", &self.db)
            .field("s3", &self.s3)
            .field("queues", &self.queue.is_some())
            .finish()
    }
}

impl Aws {
    /// Reads the URLs (refusing a malformed one with the reason) and builds the clients; no
    /// request is made.
    pub async fn open(urls: &AwsUrls) -> Result<Self> {
        let table = DynamoOptions::from_url(&urls.dynamodb)?;
        let s3 = S3Options::from_url(&urls.s3)?;
        let queue = match &urls.sqs {
            Some(url) => Some(Self::queue(url).await?),
            None => None,
        };
        Ok(Self { db: Dynamo::connect(&table).await, s3, queue })
    }

    #[cfg(feature = "sqs")]
    async fn queue(url: &str) -> Result<Arc<dyn EventQueue>> {
        let options = crate::SqsOptions::from_url(url)?;
        Ok(Arc::new(crate::SqsQueue::connect(&options).await))
    }

    #[cfg(not(feature = "sqs"))]
    async fn queue(url: &str) -> Result<Arc<dyn EventQueue>> {
        Err(Error::InvalidRequest(format!(
            "events URL {url:?}: this build has no SQS client (folio-aws's `sqs` feature)"
        )))
    }

    /// The table's client (for the shared-state adapters).
    pub fn dynamo(&self) -> &Dynamo {
        &self.db
    }

    /// The pipeline over the bucket and the table. Nothing is published: on AWS the bucket
    /// itself notifies the indexer (through SQS). Downloads are S3 presigned GETs.
    pub fn pipeline(&self, renderer: Arc<dyn Renderer>, settings: Settings) -> Result<Pipeline> {
        let signer: Arc<dyn UrlSigner> = Arc::new(self.s3.presigned_downloads()?);
        Ok(Pipeline {
            objects: self.s3.store()?,
            index: Arc::new(DynamoIndex::new(self.db.clone())),
            events: Arc::new(BucketNotifies),
            renderer,
            signer,
            clock: Arc::new(SystemClock),
            usage: Arc::new(DynamoUsage::new(self.db.clone())),
            settings,
        })
    }

    /// Every port of the api function: the pipeline over the bucket and the table, and the
    /// table's idempotency keys, secrets, rate budgets and lease; the queues where an events
    /// URL was given (the bucket notifies the indexer either way); no download verifier
    /// (downloads are presigned S3 GETs).
    pub fn services(&self, renderer: Arc<dyn Renderer>, settings: Settings) -> Result<Services> {
        Ok(Services {
            pipeline: self.pipeline(renderer, settings)?,
            event_queue: self.queue.clone(),
            idempotency: Arc::new(DynamoIdempotency::new(self.db.clone())),
            secrets: Arc::new(DynamoSecrets::new(self.db.clone())),
            limits: Arc::new(DynamoRateLimits::new(self.db.clone())),
            lease: Arc::new(DynamoLease::new(self.db.clone())),
            downloads: None,
            readiness: Arc::new(Readiness::default()),
        })
    }

    /// The pipeline of the functions that render nothing (indexer, query, reconcile).
    pub fn pipeline_without_renderer(&self) -> Result<Pipeline> {
        self.pipeline(Arc::new(NoRenderer), Settings::default())
    }
}

/// The events port of a shape whose store sends its own notifications: folio publishes none,
/// and a caller that tries to is refused (not retryable) rather than silently dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct BucketNotifies;

#[async_trait]
impl EventPublisher for BucketNotifies {
    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent> {
        Err(Error::Unavailable {
            message: format!(
                "on AWS the bucket notifies the indexer; folio publishes no event ({})",
                change.key
            ),
            retryable: false,
        })
    }

    async fn ready(&self) -> Result<()> {
        Ok(())
    }
}
