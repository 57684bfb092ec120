//! folio's AWS serverless shape: the adapters over DynamoDB (feature `dynamodb`), so that the
//! same functions run as Lambda handlers over S3 (`folio-s3`), DynamoDB and Cognito.
//!
//! One table holds everything a deployment shares: the document index (partition key the
//! identity id, sort key the document id) and, under partition keys that start with a kind and
//! `#` (which no identity id contains), the other items. Each adapter passes its contract suite
//! from `folio_core::testing` against moto's DynamoDB (`FOLIO_TEST_MOTO_URL`; `.ci/run` starts
//! it).

#[cfg(feature = "cognito")]
mod cognito;
#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "dynamodb")]
mod shape;

#[cfg(feature = "cognito")]
pub use cognito::{CognitoOptions, CognitoSignIn};
#[cfg(feature = "dynamodb")]
pub use dynamodb::{
    Dynamo, DynamoIdempotency, DynamoIndex, DynamoLease, DynamoOptions, DynamoRateLimits,
    DynamoSecrets,
};
#[cfg(feature = "dynamodb")]
pub use shape::{Aws, AwsUrls, BucketNotifies};

/// Throwaway tables and user pools for tests against moto (`FOLIO_TEST_MOTO_URL` in CI).
pub mod testing {
    #[cfg(feature = "cognito")]
    pub use crate::cognito::testing::TestUserPool;
    #[cfg(feature = "dynamodb")]
    pub use crate::dynamodb::testing::{TestTable, delete_by_hand};
}
