//! The DynamoDB client and the table every adapter shares.

mod idempotency;
mod index;
mod lease;
mod rate_limits;
mod secrets;
pub(crate) mod testing;
mod usage;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use folio_core::backend_url::query_pairs;
use folio_core::{Error, Result};

pub use idempotency::DynamoIdempotency;
pub use index::DynamoIndex;
pub use lease::DynamoLease;
pub use rate_limits::DynamoRateLimits;
pub use secrets::DynamoSecrets;
pub use usage::DynamoUsage;

/// Where the table is: `dynamodb://TABLE[?endpoint=URL][&region=NAME]`. Credentials are not part
/// of it: they come from the usual AWS chain (a Lambda function's role, or the variables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamoOptions {
    /// The table (made by the deployment: the SAM template, or the tests).
    pub table: String,
    /// Another endpoint than AWS's (moto, DynamoDB Local).
    pub endpoint: Option<String>,
    /// The region (the environment's, else `us-east-1`).
    pub region: Option<String>,
}

/// A table name as DynamoDB allows it: 3–255 of `A-Z a-z 0-9 _ - .`.
fn valid_table(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl DynamoOptions {
    /// Reads `dynamodb://TABLE[?endpoint=URL][&region=NAME]`; refuses anything else with the
    /// reason.
    pub fn from_url(url: &str) -> Result<Self> {
        let invalid = |why: String| Error::InvalidRequest(format!("index URL {url:?}: {why}"));
        let rest = url.strip_prefix("dynamodb://").ok_or_else(|| {
            invalid("a DynamoDB table is written dynamodb://TABLE?region=…".to_owned())
        })?;
        let (table, query) = rest.split_once('?').unwrap_or((rest, ""));
        let table = table.trim_end_matches('/');
        if !valid_table(table) {
            return Err(invalid(format!(
                "{table:?} is not a table name (3–255 of A-Z, a-z, 0-9, '_', '-', '.')"
            )));
        }
        let mut options = Self { table: table.to_owned(), endpoint: None, region: None };
        for (name, value) in query_pairs(query).map_err(invalid)? {
            let known =
                crate::endpoint_or_region(&name, value, &mut options.endpoint, &mut options.region)
                    .map_err(invalid)?;
            if !known {
                return Err(invalid(format!("unknown setting {name:?} (known: endpoint, region)")));
            }
        }
        Ok(options)
    }
}

/// A DynamoDB client bound to folio's table; cheap to clone (clients share one connection pool).
#[derive(Debug, Clone)]
pub struct Dynamo {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Dynamo {
    /// The client for `options` (credentials and region from the AWS chain unless named).
    /// Builds once per process (a Lambda cold start); makes no request.
    pub async fn connect(options: &DynamoOptions) -> Self {
        let config =
            crate::sdk_config(options.endpoint.as_deref(), options.region.as_deref()).await;
        Self { client: aws_sdk_dynamodb::Client::new(&config), table: options.table.clone() }
    }

    pub(crate) fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub(crate) fn table(&self) -> &str {
        &self.table
    }

    /// Every item of the table that `filter` keeps (with `values` for its placeholders), only
    /// the attributes in `projection`: all pages of a Scan. For housekeeping and reconciliation,
    /// never for a request's path.
    pub(crate) async fn scan_all(
        &self,
        projection: &str,
        filter: &str,
        values: std::collections::HashMap<String, AttributeValue>,
    ) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression(projection)
                .filter_expression(filter)
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// The item at (`pk`, `sk`), read consistently (after a write anywhere, the write).
    pub(crate) async fn get(&self, pk: String, sk: String) -> Result<Option<Item>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(found.item)
    }

    /// Readiness by reading only: a get of a key no item has proves the table answers.
    pub(crate) async fn probe(&self) -> Result<()> {
        self.get("ready#probe".to_owned(), "-".to_owned()).await.map(|_| ())
    }
}

/// Whether a write was refused by its condition (the compare-and-swap said no).
pub(crate) fn refused_by_condition<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
) -> bool {
    err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception())
}

/// A DynamoDB failure as folio's error: throttling and the service's own faults may pass on a
/// retry (the SDK already retried); anything else will not.
pub(crate) fn sdk_error<E, R>(err: SdkError<E, R>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let retryable = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            code.contains("Throttl")
                || code == "ProvisionedThroughputExceededException"
                || code == "RequestLimitExceeded"
                || code == "InternalServerError"
                || code == "ServiceUnavailable"
        }
        _ => true,
    };
    Error::Unavailable { message: format!("DynamoDB: {}", DisplayErrorContext(&err)), retryable }
}

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(crate) fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// An item as DynamoDB returns it.
pub(crate) type Item = std::collections::HashMap<String, AttributeValue>;

/// The text attribute `name` of an item folio wrote.
pub(crate) fn text<'a>(item: &'a Item, name: &str) -> Result<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(Error::Corrupt(format!("a DynamoDB item without the text {name}"))),
    }
}

/// The number attribute `name` of an item folio wrote.
pub(crate) fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| Error::Corrupt(format!("a DynamoDB item with {name} = {value:?}"))),
        _ => Err(Error::Corrupt(format!("a DynamoDB item without the number {name}"))),
    }
}

/// When DynamoDB's TTL may delete an item folio no longer needs after `ms` (epoch seconds, the
/// form the table's `expires_at` TTL attribute takes); a backstop for housekeeping, which
/// never relies on it (TTL deletes up to days late).
pub(crate) fn ttl_after(ms: i64) -> AttributeValue {
    n(ms.div_euclid(1000).saturating_add(1))
}
