//! The AWS shape's DynamoDB adapters against a real DynamoDB API: moto's server in CI
//! (`FOLIO_TEST_MOTO_URL`), a table of their own per test.
#![cfg(feature = "dynamodb")]

use std::sync::Arc;

use folio_aws::testing::TestTable;
use folio_aws::{
    DynamoIdempotency, DynamoIndex, DynamoLease, DynamoOptions, DynamoRateLimits, DynamoSecrets,
};
use folio_core::testing::{
    check_document_index, check_idempotency_store, check_lease, check_rate_limits,
    check_secret_store, check_usage_counter,
};

#[test]
fn table_urls_are_read_or_refused_with_the_reason() {
    let parsed = DynamoOptions::from_url(
        "dynamodb://folio-prod?endpoint=http%3A%2F%2F127.0.0.1%3A5055&region=eu-west-1",
    );
    assert_eq!(
        parsed.ok(),
        Some(DynamoOptions {
            table: "folio-prod".to_owned(),
            endpoint: Some("http://127.0.0.1:5055".to_owned()),
            region: Some("eu-west-1".to_owned()),
        })
    );
    for (url, reason) in [
        ("s3://folio", "dynamodb://TABLE"),
        ("dynamodb://", "not a table name"),
        ("dynamodb://a", "not a table name"),
        ("dynamodb://folio docs", "not a table name"),
        ("dynamodb://folio?endpoint=127.0.0.1:5055", "http:// or https://"),
        ("dynamodb://folio?region=", "region is empty"),
        ("dynamodb://folio?key=x", "unknown setting \"key\""),
    ] {
        let message = DynamoOptions::from_url(url).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(reason), "{url}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn the_index_contract_passes_on_dynamodb() {
    let table = TestTable::create().await;
    let index = Arc::new(DynamoIndex::new(table.db.clone()));
    table.around(async move { check_document_index(index).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn the_shared_state_contracts_pass_on_dynamodb() {
    let table = TestTable::create().await;
    let db = table.db.clone();
    table
        .around(async move {
            check_idempotency_store(Arc::new(DynamoIdempotency::new(db.clone()))).await;
            check_secret_store(Arc::new(DynamoSecrets::new(db.clone()))).await;
            check_rate_limits(Arc::new(DynamoRateLimits::new(db.clone()))).await;
            check_lease(Arc::new(DynamoLease::new(db.clone()))).await;
            check_usage_counter(Arc::new(folio_aws::DynamoUsage::new(db))).await;
        })
        .await;
}
