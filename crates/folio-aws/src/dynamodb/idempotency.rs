//! Idempotency keys of create requests on DynamoDB: item `idem#<identity>` / `<key>`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use folio_core::ports::{IdempotencyRecord, IdempotencyStore};
use folio_core::{IdentityId, Result};

use super::{Dynamo, Item, n, number, refused_by_condition, s, sdk_error, text, ttl_after};

/// How long DynamoDB's TTL keeps a binding at least (housekeeping purges by the caller's
/// window, which is shorter: a day by default).
const KEEP_MS: i64 = 7 * 24 * 3600 * 1000;

/// (identity, key) → the document a create made.
#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    db: Dynamo,
}

impl DynamoIdempotency {
    /// The keys in `db`'s table.
    pub fn new(db: Dynamo) -> Self {
        Self { db }
    }
}

fn partition(identity: &IdentityId) -> String {
    format!("idem#{identity}")
}

fn binding(item: &Item) -> Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        document: text(item, "document")?.parse()?,
        body_sha256: text(item, "body_sha256")?.to_owned(),
        created_ms: number(item, "created_ms")?,
    })
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn ready(&self) -> Result<()> {
        self.db.probe().await
    }

    async fn bind(
        &self,
        identity: &IdentityId,
        key: &str,
        proposed: &IdempotencyRecord,
        expired_before_ms: i64,
    ) -> Result<IdempotencyRecord> {
        // Write unless a live binding exists; when one does, DynamoDB hands it back with the
        // refusal (no second read, no window between the two).
        let written = self
            .db
            .client()
            .put_item()
            .table_name(self.db.table())
            .item("pk", s(partition(identity)))
            .item("sk", s(key))
            .item("document", s(proposed.document.to_string()))
            .item("body_sha256", s(&proposed.body_sha256))
            .item("created_ms", n(proposed.created_ms))
            .item("expires_at", ttl_after(proposed.created_ms.saturating_add(KEEP_MS)))
            .condition_expression("attribute_not_exists(pk) OR created_ms < :expired")
            .expression_attribute_values(":expired", n(expired_before_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(_) => Ok(proposed.clone()),
            Err(err) if refused_by_condition(&err) => {
                let stored = err
                    .as_service_error()
                    .and_then(|e| match e {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item().cloned(),
                        _ => None,
                    });
                match stored {
                    Some(item) => binding(&item),
                    // A store that refuses without the item: read it.
                    None => {
                        let found = self.db.get(partition(identity), key.to_owned()).await?;
                        binding(&found.ok_or_else(|| {
                            folio_core::Error::unavailable("an idempotency binding vanished")
                        })?)
                    }
                }
            }
            Err(err) => Err(sdk_error(err)),
        }
    }

    async fn purge(&self, before_ms: i64) -> Result<u64> {
        // Housekeeping: a filtered scan of the bindings, each deleted only if still old (a
        // key rebound meanwhile stays).
        let old =
            HashMap::from([(":kind".to_owned(), s("idem#")), (":before".to_owned(), n(before_ms))]);
        let items = self
            .db
            .scan_all("pk, sk", "begins_with(pk, :kind) AND created_ms < :before", old)
            .await?;
        let mut purged = 0;
        for item in items {
            let (Some(pk), Some(sk)) = (item.get("pk"), item.get("sk")) else { continue };
            let deleted = self
                .db
                .client()
                .delete_item()
                .table_name(self.db.table())
                .key("pk", pk.clone())
                .key("sk", sk.clone())
                .condition_expression("created_ms < :before")
                .expression_attribute_values(":before", n(before_ms))
                .send()
                .await;
            match deleted {
                Ok(_) => purged += 1,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                Err(err) => return Err(sdk_error(err)),
            }
        }
        Ok(purged)
    }
}
