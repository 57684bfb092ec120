//! Sign-in backed by a Cognito user pool against a real Cognito API: moto's server in CI
//! (`FOLIO_TEST_MOTO_URL`), a pool of its own per test.
#![cfg(feature = "cognito")]

use std::sync::Arc;

use folio_auth::testing::check_sign_in;
use folio_auth::{SignIn, Verifier};
use folio_aws::CognitoSignIn;
use folio_aws::testing::TestUserPool;

/// moto accepts any confirmation code (real Cognito emails one).
const CODE: &str = "123456";

#[tokio::test]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn a_cognito_pool_passes_the_sign_in_contract() {
    let pool = TestUserPool::create("contract").await;
    let sign_in = CognitoSignIn::new(pool.options()).unwrap_or_else(|e| panic!("{e}"));
    check_sign_in(Arc::new(sign_in), Some(CODE)).await;
}

/// The sessions it hands out are what the verifier accepts, as the identity registered.
#[tokio::test]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn its_sessions_verify_as_the_registered_identity() {
    let pool = TestUserPool::create("sessions").await;
    let sign_in = CognitoSignIn::new(pool.options()).unwrap_or_else(|e| panic!("{e}"));
    let registered = sign_in.register("Ada@Example.com", "correct horse").await;
    let registered = registered.unwrap_or_else(|e| panic!("{e}"));
    assert!(registered.confirmation_required, "Cognito emails a code first");
    assert_eq!(registered.email, "ada@example.com");
    sign_in.confirm("ada@example.com", CODE).await.unwrap_or_else(|e| panic!("{e}"));
    let session = sign_in.login("ada@example.com", "correct horse", "192.0.2.9").await;
    let session = session.unwrap_or_else(|e| panic!("{e}"));
    let verifier = Verifier::with_issuers(
        vec![pool.options().trusted_issuer()],
        Arc::new(folio_core::ports::SystemClock),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let verified = verifier.verify(&session.access_token).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.identity, registered.identity_id);
    assert_eq!(verified.subject, registered.user_id);
    assert_eq!(sign_in.issuer(), verified.issuer);
    for (email, password, why) in [
        ("not an address", "correct horse", "not an email address"),
        ("bo@example.com", "short", "8 to 256 characters"),
    ] {
        let refused = sign_in
            .register(email, password)
            .await
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.to_string().contains(why), "{refused}");
    }
    let wrong = sign_in
        .confirm("ada@example.com", "two words")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(wrong.to_string().contains("not a confirmation code"), "{wrong}");
}
