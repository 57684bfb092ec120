//! A Cognito user pool as the identity provider, through the one JWKS verifier: what the AWS
//! shape relies on, tested with `folio serve` against moto's Cognito (`FOLIO_TEST_MOTO_URL`).
//! moto ignores signatures on its admin calls, so the calls below are unsigned JSON posts; it
//! signs every pool's tokens with one RSA key, so the issuer and the client id are what tell
//! pools apart.

use serde_json::{Value, json};

use super::server::{Server, call};

/// One call of Cognito's JSON protocol on moto.
async fn cognito(http: &reqwest::Client, moto: &str, action: &str, body: Value) -> Value {
    let response = http
        .post(format!("{moto}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{action}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{action}: {answer}");
    answer
}

/// A pool with an app client that signs in with a password; returns (pool id, client id).
async fn pool(http: &reqwest::Client, moto: &str, name: &str) -> (String, String) {
    let made = cognito(
        http,
        moto,
        "CreateUserPool",
        json!({ "PoolName": name, "UsernameAttributes": ["email"] }),
    )
    .await;
    let pool = made["UserPool"]["Id"].as_str().unwrap_or_default().to_owned();
    let client = cognito(
        http,
        moto,
        "CreateUserPoolClient",
        json!({
            "UserPoolId": pool,
            "ClientName": "web",
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        }),
    )
    .await;
    (pool, client["UserPoolClient"]["ClientId"].as_str().unwrap_or_default().to_owned())
}

/// Registers, confirms and signs in `email` with a client of `pool`: its tokens.
async fn signed_in(
    http: &reqwest::Client,
    moto: &str,
    pool: &str,
    client: &str,
    email: &str,
) -> Value {
    let password = "Correct-horse-battery-1";
    cognito(
        http,
        moto,
        "SignUp",
        json!({ "ClientId": client, "Username": email, "Password": password }),
    )
    .await;
    cognito(http, moto, "AdminConfirmSignUp", json!({ "UserPoolId": pool, "Username": email }))
        .await;
    let auth = cognito(
        http,
        moto,
        "InitiateAuth",
        json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client,
            "AuthParameters": { "USERNAME": email, "PASSWORD": password },
        }),
    )
    .await;
    auth["AuthenticationResult"].clone()
}

/// The `iss` a JWT names.
fn issuer(token: &str) -> String {
    crate::jwt_part(token, 1)["iss"].as_str().unwrap_or_default().to_owned()
}

/// Access tokens of the configured pool and app client sign in; its ID tokens, another app
/// client's tokens and another pool's (signed with the very same key by moto) do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto's server (FOLIO_TEST_MOTO_URL); run by .ci/run"]
async fn a_cognito_pools_access_tokens_are_verified_by_the_one_verifier() {
    let moto = std::env::var("FOLIO_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!("FOLIO_TEST_MOTO_URL is not set: this test needs moto's server (see .ci/run)")
    });
    let http = reqwest::Client::new();
    let (pool_id, client) = pool(&http, &moto, "folio").await;
    let tokens = signed_in(&http, &moto, &pool_id, &client, "ada@example.com").await;
    let access = tokens["AccessToken"].as_str().unwrap_or_default().to_owned();
    let id_token = tokens["IdToken"].as_str().unwrap_or_default().to_owned();
    let iss = issuer(&access);
    assert!(iss.contains(&pool_id), "moto names the pool in the issuer: {iss}");

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
            &client,
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
    let (other_pool, other_pool_client) = pool(&http, &moto, "elsewhere").await;
    let stranger =
        signed_in(&http, &moto, &other_pool, &other_pool_client, "eve@example.com").await;
    let second_client = cognito(
        &http,
        &moto,
        "CreateUserPoolClient",
        json!({ "UserPoolId": pool_id, "ClientName": "other", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"] }),
    )
    .await["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let other_app = cognito(
        &http,
        &moto,
        "InitiateAuth",
        json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": second_client,
            "AuthParameters": { "USERNAME": "ada@example.com", "PASSWORD": "Correct-horse-battery-1" },
        }),
    )
    .await["AuthenticationResult"]["AccessToken"]
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
