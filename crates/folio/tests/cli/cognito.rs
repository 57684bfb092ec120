//! A Cognito user pool as the identity provider, through the one JWKS verifier: what the AWS
//! shape relies on, tested with `folio serve` against moto's Cognito (`FOLIO_TEST_MOTO_URL`).
//! moto ignores signatures on its admin calls, so the calls below are unsigned JSON posts; it
//! signs every pool's tokens with one RSA key, so the issuer and the client id are what tell
//! pools apart.

use folio_aws::testing::TestUserPool;
use serde_json::json;

use super::server::{Server, call};

const PASSWORD: &str = "Correct-horse-battery-1";

/// The `iss` a JWT names.
fn issuer(token: &str) -> String {
    crate::jwt_part(token, 1)["iss"].as_str().unwrap_or_default().to_owned()
}

/// Access tokens of the configured pool and app client sign in; its ID tokens, another app
/// client's tokens and another pool's (signed with the very same key by moto) do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn a_cognito_pools_access_tokens_are_verified_by_the_one_verifier() {
    let http = reqwest::Client::new();
    let pool = TestUserPool::create("folio").await;
    let (moto, pool_id, client) = (&pool.endpoint, &pool.pool_id, &pool.client_id);
    let tokens = pool.signed_in(client, "ada@example.com", PASSWORD).await;
    let access = tokens["AccessToken"].as_str().unwrap_or_default().to_owned();
    let id_token = tokens["IdToken"].as_str().unwrap_or_default().to_owned();
    let iss = issuer(&access);
    assert!(iss.contains(pool_id.as_str()), "moto names the pool in the issuer: {iss}");

    let dir = crate::temp();
    let jwks = format!("{moto}/{pool_id}/.well-known/jwks.json");
    let server = Server::start_with(
        &dir.path().join("data"),
        &[
            "--oidc-issuer",
            &iss,
            "--oidc-jwks-url",
            &jwks,
            "--oidc-client-id",
            client,
            "--oidc-token-use",
            "access",
        ],
    );
    let documents = format!("{}/api/documents", server.url);

    // The pool's access token: a library of its own, where a document can be made.
    let (status, listed) = call(http.get(&documents).bearer_auth(&access)).await;
    assert_eq!((status, listed["items"].as_array().map(Vec::len)), (200, Some(0)), "{listed}");
    let (status, created) = call(
        http.post(&documents).bearer_auth(&access).json(&json!({ "markdown": "# From Cognito\n" })),
    )
    .await;
    assert_eq!(status, 201, "{created}");

    // Not an access token; another app client of the pool; another pool entirely.
    let elsewhere = TestUserPool::create("elsewhere").await;
    let stranger = elsewhere.signed_in(&elsewhere.client_id, "eve@example.com", PASSWORD).await;
    let second_client = pool.another_client("other").await;
    let other_app = pool.sign_in(&second_client, "ada@example.com", PASSWORD).await["AccessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (what, token) in [
        ("the pool's ID token", id_token.as_str()),
        ("another app client's access token", other_app.as_str()),
        ("another pool's access token", stranger["AccessToken"].as_str().unwrap_or_default()),
    ] {
        let (status, body) = call(http.get(&documents).bearer_auth(token)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{what}: {body}"
        );
    }
}
