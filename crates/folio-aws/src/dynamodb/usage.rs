//! Storage usage per identity (the quota's measure) on DynamoDB: item `usage#<identity>` / `-`,
//! the total in a number attribute changed by `ADD` (atomic per item).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use folio_core::ports::UsageCounter;
use folio_core::{IdentityId, Result};

use super::{Dynamo, s, sdk_error};

/// Totals shared by every function.
#[derive(Debug, Clone)]
pub struct DynamoUsage {
    db: Dynamo,
}

impl DynamoUsage {
    /// The totals in `db`'s table.
    pub fn new(db: Dynamo) -> Self {
        Self { db }
    }
}

fn key(identity: &IdentityId) -> String {
    format!("usage#{identity}")
}

fn number(value: Option<&AttributeValue>) -> i64 {
    match value {
        Some(AttributeValue::N(n)) => n.parse().unwrap_or(0),
        _ => 0,
    }
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[async_trait]
impl UsageCounter for DynamoUsage {
    async fn get(&self, identity: &IdentityId) -> Result<u64> {
        let item = self.db.get(key(identity), "-".to_owned()).await?;
        Ok(u64::try_from(number(item.as_ref().and_then(|i| i.get("bytes")))).unwrap_or(0))
    }

    async fn add(&self, identity: &IdentityId, delta: i64) -> Result<u64> {
        let added = self
            .db
            .client()
            .update_item()
            .table_name(self.db.table())
            .key("pk", s(key(identity)))
            .key("sk", s("-"))
            .update_expression("ADD bytes :delta")
            .expression_attribute_values(":delta", n(delta))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_error)?;
        let total = number(added.attributes().and_then(|a| a.get("bytes")));
        if total < 0 {
            // Below zero (more removed than was counted): back to zero, unless another add
            // changed the total meanwhile (its own answer then clamps).
            let _ = self
                .db
                .client()
                .update_item()
                .table_name(self.db.table())
                .key("pk", s(key(identity)))
                .key("sk", s("-"))
                .update_expression("SET bytes = :zero")
                .condition_expression("bytes = :seen")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":seen", n(total))
                .send()
                .await;
        }
        Ok(u64::try_from(total).unwrap_or(0))
    }

    async fn set(&self, identity: &IdentityId, bytes: u64) -> Result<()> {
        self.db
            .client()
            .put_item()
            .table_name(self.db.table())
            .item("pk", s(key(identity)))
            .item("sk", s("-"))
            .item("bytes", n(i64::try_from(bytes).unwrap_or(i64::MAX)))
            .send()
            .await
            .map(drop)
            .map_err(sdk_error)
    }
}
