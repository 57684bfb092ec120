//! User pools of their own for tests, on the Cognito endpoint in `FOLIO_TEST_MOTO_URL` (moto in
//! CI). moto ignores signatures on its admin calls, so they are unsigned JSON posts too.

use serde_json::{Value, json};

use super::CognitoOptions;

/// A user pool shaped as the SAM template makes folio's (email as the user name, folio's
/// password rule, an app client with the password and refresh flows), with one app client.
#[derive(Debug, Clone)]
pub struct TestUserPool {
    /// moto's address.
    pub endpoint: String,
    /// The pool's id.
    pub pool_id: String,
    /// Its app client.
    pub client_id: String,
}

impl TestUserPool {
    /// Makes the pool; panics (a failed test, never a skipped one) without the variable or the
    /// server.
    pub async fn create(name: &str) -> Self {
        let endpoint = std::env::var("FOLIO_TEST_MOTO_URL").unwrap_or_else(|_| {
            panic!("FOLIO_TEST_MOTO_URL is not set: this test needs moto's server (see .ci/run)")
        });
        let made = call(
            &endpoint,
            "CreateUserPool",
            json!({
                "PoolName": name,
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "Policies": { "PasswordPolicy": {
                    "MinimumLength": 8, "RequireUppercase": false, "RequireLowercase": false,
                    "RequireNumbers": false, "RequireSymbols": false,
                } },
            }),
        )
        .await;
        let pool_id = made["UserPool"]["Id"].as_str().unwrap_or_default().to_owned();
        let mut pool = Self { endpoint, pool_id, client_id: String::new() };
        pool.client_id = pool.another_client("web").await;
        pool
    }

    /// A further app client of the pool (password and refresh flows): its id.
    pub async fn another_client(&self, name: &str) -> String {
        let made = call(
            &self.endpoint,
            "CreateUserPoolClient",
            json!({
                "UserPoolId": self.pool_id,
                "ClientName": name,
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            }),
        )
        .await;
        made["UserPoolClient"]["ClientId"].as_str().unwrap_or_default().to_owned()
    }

    /// Its `cognito://` URL (with moto as the endpoint).
    pub fn url(&self) -> String {
        format!(
            "cognito://{}?client_id={}&endpoint={}",
            self.pool_id, self.client_id, self.endpoint
        )
    }

    /// Where it is, read back from [`Self::url`].
    pub fn options(&self) -> CognitoOptions {
        CognitoOptions::from_url(&self.url()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Registers, confirms (as the pool's administrator) and signs in `email` with `client`:
    /// Cognito's `AuthenticationResult` (`AccessToken`, `IdToken`, `RefreshToken`).
    pub async fn signed_in(&self, client: &str, email: &str, password: &str) -> Value {
        call(
            &self.endpoint,
            "SignUp",
            json!({ "ClientId": client, "Username": email, "Password": password }),
        )
        .await;
        self.admin("AdminConfirmSignUp", json!({ "UserPoolId": self.pool_id, "Username": email }))
            .await;
        self.sign_in(client, email, password).await
    }

    /// Signs an existing account in with `client`: Cognito's `AuthenticationResult`.
    pub async fn sign_in(&self, client: &str, email: &str, password: &str) -> Value {
        call(
            &self.endpoint,
            "InitiateAuth",
            json!({
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client,
                "AuthParameters": { "USERNAME": email, "PASSWORD": password },
            }),
        )
        .await["AuthenticationResult"]
            .clone()
    }

    /// An administrator's call on the pool (moto takes it unsigned).
    pub async fn admin(&self, action: &str, body: Value) -> Value {
        call(&self.endpoint, action, body).await
    }
}

/// One call of Cognito's JSON protocol; panics unless it answers 200.
async fn call(endpoint: &str, action: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
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
