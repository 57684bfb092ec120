//! Secrets shared by every function (the download-URL key, folio's own signing seeds) on
//! DynamoDB: item `secret#<name>` / `-`, the bytes in a binary attribute.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use folio_core::ports::SecretStore;
use folio_core::{Error, Result};

use super::{Dynamo, Item, refused_by_condition, s, sdk_error};

/// Secrets made once, on first use, by whichever function asks first.
#[derive(Debug, Clone)]
pub struct DynamoSecrets {
    db: Dynamo,
}

impl DynamoSecrets {
    /// The secrets in `db`'s table.
    pub fn new(db: Dynamo) -> Self {
        Self { db }
    }
}

fn bytes(item: &Item) -> Result<Vec<u8>> {
    match item.get("value") {
        Some(AttributeValue::B(blob)) => Ok(blob.as_ref().to_vec()),
        _ => Err(Error::Corrupt("a secret without its bytes".to_owned())),
    }
}

#[async_trait]
impl SecretStore for DynamoSecrets {
    async fn ready(&self) -> Result<()> {
        self.db.probe().await
    }

    async fn get_or_create(&self, name: &str, len: usize) -> Result<Vec<u8>> {
        let key = format!("secret#{name}");
        if let Some(item) = self.db.get(key.clone(), "-".to_owned()).await? {
            return bytes(&item);
        }
        // First use: of concurrent first calls one write wins, and the others get its bytes
        // back with their refusal.
        let fresh: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
        let written = self
            .db
            .client()
            .put_item()
            .table_name(self.db.table())
            .item("pk", s(&key))
            .item("sk", s("-"))
            .item("value", AttributeValue::B(Blob::new(fresh.clone())))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match written {
            Ok(_) => Ok(fresh),
            Err(err) if refused_by_condition(&err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(refusal)) => refusal
                    .item()
                    .map(bytes)
                    .unwrap_or_else(|| Err(Error::unavailable("a secret was made meanwhile"))),
                _ => Err(Error::unavailable("a secret was made meanwhile")),
            },
            Err(err) => Err(sdk_error(err)),
        }
    }
}
