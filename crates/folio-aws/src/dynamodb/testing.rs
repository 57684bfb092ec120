//! A table of its own for each test, on the DynamoDB endpoint in `FOLIO_TEST_MOTO_URL` (moto in
//! CI), deleted when the test ends.

use std::future::Future;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

use super::{Dynamo, DynamoOptions};

/// A throwaway table shaped as the SAM template makes folio's (`pk`, `sk` strings, on demand).
#[derive(Debug)]
pub struct TestTable {
    /// The table's client.
    pub db: Dynamo,
    /// Where it is (its `dynamodb://` URL: [`TestTable::url`]).
    pub options: DynamoOptions,
}

impl TestTable {
    /// Makes the table; panics (a failed test, never a skipped one) without the variable or the
    /// server.
    pub async fn create() -> Self {
        let endpoint = std::env::var("FOLIO_TEST_MOTO_URL").unwrap_or_else(|_| {
            panic!("FOLIO_TEST_MOTO_URL is not set: this test needs moto's server (see .ci/run)")
        });
        let options = DynamoOptions {
            table: format!("folio-test-{}", uuid::Uuid::new_v4().simple()),
            endpoint: Some(endpoint),
            region: Some("us-east-1".to_owned()),
        };
        let db = Dynamo::connect(&options).await;
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build()
        };
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let (pk, sk, pk_type, sk_type) =
            (key("pk", KeyType::Hash), key("sk", KeyType::Range), attribute("pk"), attribute("sk"));
        let made = match (pk, sk, pk_type, sk_type) {
            (Ok(pk), Ok(sk), Ok(pk_type), Ok(sk_type)) => db
                .client()
                .create_table()
                .table_name(db.table())
                .key_schema(pk)
                .key_schema(sk)
                .attribute_definitions(pk_type)
                .attribute_definitions(sk_type)
                .billing_mode(BillingMode::PayPerRequest)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()),
            _ => Err("the table's key schema does not build".to_owned()),
        };
        if let Err(err) = made {
            panic!("cannot create the test table on {options:?}: {err}");
        }
        Self { db, options }
    }

    /// The table as a function is configured with it (`FOLIO_INDEX_URL`).
    pub fn url(&self) -> String {
        format!(
            "dynamodb://{}?endpoint={}&region={}",
            self.options.table,
            self.options.endpoint.as_deref().unwrap_or_default(),
            self.options.region.as_deref().unwrap_or("us-east-1")
        )
    }

    /// Runs `test`, then deletes the table whether or not it passed.
    pub async fn around<F: Future<Output = ()> + Send + 'static>(self, test: F) {
        let outcome = tokio::spawn(test).await;
        let _ = self.db.client().delete_table().table_name(self.db.table()).send().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic.into_panic());
        }
    }
}

/// Deletes one item of the table by hand, as an operator's mistake (or a lost write) would:
/// no tombstone, no event. For reconciliation tests.
pub async fn delete_by_hand(db: &Dynamo, pk: &str, sk: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let deleted = db
        .client()
        .delete_item()
        .table_name(db.table())
        .key("pk", AttributeValue::S(pk.to_owned()))
        .key("sk", AttributeValue::S(sk.to_owned()))
        .send()
        .await;
    if let Err(err) = deleted {
        panic!("cannot delete {pk}/{sk}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(err));
    }
}
