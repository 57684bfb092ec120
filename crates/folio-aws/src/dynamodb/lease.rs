//! The lease for singleton work (the scheduled reconciler) on DynamoDB: item `lease#<name>` /
//! `-` with its holder and expiry, taken and renewed by conditional writes.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use folio_core::Result;
use folio_core::ports::Lease;

use super::{Dynamo, n, refused_by_condition, s, sdk_error, ttl_after};

/// A row with an expiry: a holder that stops renewing loses it when the time passes.
#[derive(Debug, Clone)]
pub struct DynamoLease {
    db: Dynamo,
}

impl DynamoLease {
    /// The leases in `db`'s table.
    pub fn new(db: Dynamo) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Lease for DynamoLease {
    async fn ready(&self) -> Result<()> {
        self.db.probe().await
    }

    async fn try_hold(&self, name: &str, holder: &str, ttl_ms: i64, now_ms: i64) -> Result<bool> {
        // Take a free lease, renew our own, or take over one that lapsed; of concurrent
        // attempts DynamoDB lets one through and the others meet its holder.
        let until = now_ms.saturating_add(ttl_ms);
        let written = self
            .db
            .client()
            .put_item()
            .table_name(self.db.table())
            .item("pk", s(format!("lease#{name}")))
            .item("sk", s("-"))
            .item("holder", s(holder))
            .item("until_ms", n(until))
            .item("expires_at", ttl_after(until.saturating_add(24 * 3600 * 1000)))
            .condition_expression(
                "attribute_not_exists(pk) OR holder = :holder OR until_ms <= :now",
            )
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(err) if refused_by_condition(&err) => Ok(false),
            Err(err) => Err(sdk_error(err)),
        }
    }

    async fn release(&self, name: &str, holder: &str) -> Result<()> {
        let deleted = self
            .db
            .client()
            .delete_item()
            .table_name(self.db.table())
            .key("pk", s(format!("lease#{name}")))
            .key("sk", s("-"))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", s(holder))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Someone else's (or nobody's): nothing to give up.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(DeleteItemError::is_conditional_check_failed_exception) =>
            {
                Ok(())
            }
            Err(err) => Err(sdk_error(err)),
        }
    }
}
