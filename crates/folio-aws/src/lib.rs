//! folio's AWS serverless shape: the adapters over DynamoDB (feature `dynamodb`), Cognito
//! (`cognito`) and SQS (`sqs`), so that the same functions run as Lambda handlers over S3
//! (`folio-s3`), DynamoDB and Cognito, and `folio events dead|retry` reads the stack's queues.
//!
//! One table holds everything a deployment shares: the document index (partition key the
//! identity id, sort key the document id) and, under partition keys that start with a kind and
//! `#` (which no identity id contains), the other items. Each adapter passes its contract suite
//! from `folio_core::testing` against moto (`FOLIO_TEST_MOTO_URL`; `.ci/run` starts it).

#[cfg(feature = "cognito")]
mod cognito;
#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "dynamodb")]
mod shape;
#[cfg(feature = "sqs")]
mod sqs;

#[cfg(feature = "cognito")]
pub use cognito::{CognitoOptions, CognitoSignIn};
#[cfg(feature = "dynamodb")]
pub use dynamodb::{
    Dynamo, DynamoIdempotency, DynamoIndex, DynamoLease, DynamoOptions, DynamoRateLimits,
    DynamoSecrets, DynamoUsage,
};
#[cfg(feature = "dynamodb")]
pub use shape::{Aws, AwsUrls, BucketNotifies};
#[cfg(feature = "sqs")]
pub use sqs::{SqsOptions, SqsQueue};

/// Throwaway tables and user pools for tests against moto (`FOLIO_TEST_MOTO_URL` in CI).
pub mod testing {
    #[cfg(feature = "cognito")]
    pub use crate::cognito::testing::TestUserPool;
    #[cfg(feature = "dynamodb")]
    pub use crate::dynamodb::testing::{TestTable, delete_by_hand};
    #[cfg(feature = "sqs")]
    pub use crate::sqs::testing::TestQueues;
}

/// Reads the `endpoint` and `region` settings every AWS URL takes into `endpoint`/`region`:
/// `Ok(true)` when `name` was one of them, `Ok(false)` for another setting, the reason when
/// the value is not valid.
#[cfg(any(feature = "dynamodb", feature = "sqs"))]
fn endpoint_or_region(
    name: &str,
    value: String,
    endpoint: &mut Option<String>,
    region: &mut Option<String>,
) -> Result<bool, String> {
    match name {
        "endpoint" if value.starts_with("http://") || value.starts_with("https://") => {
            *endpoint = Some(value.trim_end_matches('/').to_owned());
            Ok(true)
        }
        "endpoint" => Err(format!("endpoint {value:?} must be an http:// or https:// URL")),
        "region" if !value.is_empty() => {
            *region = Some(value);
            Ok(true)
        }
        "region" => Err("region is empty".to_owned()),
        _ => Ok(false),
    }
}

/// The SDK's configuration for one service: credentials and region from the AWS chain unless
/// named (no region anywhere: `us-east-1`, rather than a failure at the first request), and
/// another endpoint than AWS's where given (moto). Makes no request.
#[cfg(any(feature = "dynamodb", feature = "sqs"))]
async fn sdk_config(endpoint: Option<&str>, region: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        config.into_builder().region(aws_config::Region::from_static("us-east-1")).build()
    } else {
        config
    }
}
