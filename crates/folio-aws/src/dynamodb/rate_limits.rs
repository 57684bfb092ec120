//! Rate-limit and throttle counters on DynamoDB, shared by every function instance: item
//! `rate#<key>` / `-`, changed only by conditional writes.

use async_trait::async_trait;
use folio_core::Result;
use folio_core::ports::{Counter, RateLimits};

use super::{Dynamo, n, number, refused_by_condition, s, sdk_error, ttl_after};

/// Counters by compare-and-swap; a counter past its expiry reads as the default (and DynamoDB's
/// TTL deletes it later).
#[derive(Debug, Clone)]
pub struct DynamoRateLimits {
    db: Dynamo,
}

impl DynamoRateLimits {
    /// The counters in `db`'s table.
    pub fn new(db: Dynamo) -> Self {
        Self { db }
    }
}

#[async_trait]
impl RateLimits for DynamoRateLimits {
    async fn ready(&self) -> Result<()> {
        self.db.probe().await
    }

    async fn get(&self, key: &str, now_ms: i64) -> Result<Counter> {
        match self.db.get(format!("rate#{key}"), "-".to_owned()).await? {
            Some(item) if number::<i64>(&item, "expires_ms")? >= now_ms => {
                Ok(Counter { count: number(&item, "count")?, at_ms: number(&item, "at_ms")? })
            }
            _ => Ok(Counter::default()),
        }
    }

    async fn swap(
        &self,
        key: &str,
        expected: Counter,
        new: Counter,
        now_ms: i64,
        expires_ms: i64,
    ) -> Result<bool> {
        // `count` is a reserved word in DynamoDB's expressions: it is named through `#c`.
        let request = self
            .db
            .client()
            .put_item()
            .table_name(self.db.table())
            .item("pk", s(format!("rate#{key}")))
            .item("sk", s("-"))
            .item("count", n(new.count))
            .item("at_ms", n(new.at_ms))
            .item("expires_ms", n(expires_ms))
            .item("expires_at", ttl_after(expires_ms))
            .expression_attribute_names("#c", "count")
            .expression_attribute_values(":now", n(now_ms));
        let request = if expected == Counter::default() {
            // From "never set or expired" (or a stored default).
            request
                .condition_expression(
                    "attribute_not_exists(pk) OR expires_ms < :now OR (#c = :zero AND at_ms = :zero)",
                )
                .expression_attribute_values(":zero", n(0))
        } else {
            // From a live value: only if it is still that value.
            request
                .condition_expression("expires_ms >= :now AND #c = :count AND at_ms = :at")
                .expression_attribute_values(":count", n(expected.count))
                .expression_attribute_values(":at", n(expected.at_ms))
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if refused_by_condition(&err) => Ok(false),
            Err(err) => Err(sdk_error(err)),
        }
    }
}
