//! Sign-in backed by a Cognito user pool: folio's `/api/auth/*` routes call Cognito's public
//! (unsigned) JSON operations, so the web app registers, confirms and signs in exactly as it does
//! against the built-in pool, with the refresh token kept in the same `HttpOnly` cookie.
//!
//! Why not the AWS SDK: these operations take no IAM signature ("you can't use IAM credentials
//! to authorize requests"), and the Cognito SDK crate is 266k lines for five JSON posts.
//! Why not the hosted UI: it would move sign-in to another origin (a wider CSP, a redirect
//! flow, a second look and feel) while the API's own routes already do everything the app needs.

pub(crate) mod testing;

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use folio_auth::{
    AuthError, IssuerConfig, IssuerKeys, Jwks, Registration, Session, SignIn, TrustedIssuer,
    normalise_email,
};
use folio_core::backend_url::query_pairs;
use folio_core::{Error, IdentityId, Result};
use serde::Deserialize;
use serde_json::{Value, json};

/// How long one call to Cognito may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the user pool is: `cognito://POOL_ID?client_id=…[&endpoint=…]`. The region is the pool
/// id's prefix (`eu-west-1_AbC…`), as in every Cognito pool id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoOptions {
    /// The user pool id (`<region>_<id>`).
    pub pool_id: String,
    /// The app client (without a secret: the routes run where a browser's requests land).
    pub client_id: String,
    /// Cognito's endpoint: AWS's for the region unless another is named (moto).
    pub endpoint: String,
    /// The pool's region.
    pub region: String,
}

impl CognitoOptions {
    /// Reads `cognito://POOL_ID?client_id=…[&endpoint=URL]`; refuses anything else with the
    /// reason.
    pub fn from_url(url: &str) -> Result<Self> {
        let invalid = |why: String| Error::InvalidRequest(format!("identity URL {url:?}: {why}"));
        let rest = url.strip_prefix("cognito://").ok_or_else(|| {
            invalid("a Cognito user pool is written cognito://POOL_ID?client_id=…".to_owned())
        })?;
        let (pool_id, query) = rest.split_once('?').unwrap_or((rest, ""));
        let pool_id = pool_id.trim_end_matches('/');
        let region = pool_id
            .split_once('_')
            .filter(|(region, id)| {
                !region.is_empty()
                    && !id.is_empty()
                    && region
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && id.chars().all(|c| c.is_ascii_alphanumeric())
            })
            .map(|(region, _)| region.to_owned())
            .ok_or_else(|| {
                invalid(format!(
                    "{pool_id:?} is not a user pool id (REGION_ID, e.g. eu-west-1_AbC123)"
                ))
            })?;
        let mut client_id = None;
        let mut endpoint = None;
        for (name, value) in query_pairs(query).map_err(invalid)? {
            match name.as_str() {
                "client_id"
                    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric()) =>
                {
                    client_id = Some(value);
                }
                "client_id" => return Err(invalid(format!("{value:?} is not an app client id"))),
                "endpoint" if value.starts_with("http://") || value.starts_with("https://") => {
                    endpoint = Some(value.trim_end_matches('/').to_owned());
                }
                "endpoint" => {
                    return Err(invalid(format!(
                        "endpoint {value:?} must be an http:// or https:// URL"
                    )));
                }
                other => {
                    return Err(invalid(format!(
                        "unknown setting {other:?} (known: client_id, endpoint)"
                    )));
                }
            }
        }
        let client_id = client_id
            .ok_or_else(|| invalid("the app client is missing: add ?client_id=…".to_owned()))?;
        let endpoint =
            endpoint.unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com"));
        Ok(Self { pool_id: pool_id.to_owned(), client_id, endpoint, region })
    }

    /// The `iss` of the pool's tokens (always AWS's name for the pool, whatever the endpoint).
    pub fn issuer(&self) -> String {
        format!("https://cognito-idp.{}.amazonaws.com/{}", self.region, self.pool_id)
    }

    /// Where the pool publishes its keys.
    pub fn jwks_url(&self) -> String {
        format!("{}/{}/.well-known/jwks.json", self.endpoint, self.pool_id)
    }

    /// The verifier's view of the pool: access tokens only (`token_use` `access`), of this app
    /// client (`client_id`; Cognito's access tokens carry no `aud`).
    pub fn trusted_issuer(&self) -> TrustedIssuer {
        TrustedIssuer {
            config: IssuerConfig {
                issuer: self.issuer(),
                jwks_url: self.jwks_url(),
                audience: None,
                client_id: Some(self.client_id.clone()),
                token_use: Some("access".to_owned()),
            },
            keys: IssuerKeys::Remote,
        }
    }
}

/// The sign-in port over a Cognito user pool.
///
/// Differences from the built-in pool, all Cognito's own: a registration is confirmed with the
/// code Cognito emails before the account can sign in; signing out, and changing the password,
/// end **every** session of the account (`GlobalSignOut`: Cognito revokes refresh tokens per
/// account); throttling of failed sign-ins is Cognito's (its answers map to `rate_limited`);
/// refresh tokens do not rotate.
#[derive(Debug, Clone)]
pub struct CognitoSignIn {
    options: CognitoOptions,
    issuer: String,
    http: reqwest::Client,
}

/// A Cognito error answer: `{"__type": "…Exception", "message": "…"}`.
#[derive(Debug)]
struct Refused {
    kind: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthenticationResult {
    access_token: String,
    expires_in: i64,
    id_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The claims of an ID token that a session shows.
#[derive(Deserialize)]
struct IdClaims {
    sub: String,
    #[serde(default)]
    email: String,
}

impl CognitoSignIn {
    /// The adapter for `options` (no request is made).
    pub fn new(options: CognitoOptions) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|e| Error::unavailable(format!("cannot build the Cognito client: {e}")))?;
        Ok(Self { issuer: options.issuer(), options, http })
    }

    /// Where the pool is.
    pub fn options(&self) -> &CognitoOptions {
        &self.options
    }

    /// One call of Cognito's JSON protocol: the answer, or Cognito's refusal.
    async fn call(
        &self,
        action: &str,
        body: Value,
    ) -> Result<std::result::Result<Value, Refused>, AuthError> {
        let response = self
            .http
            .post(format!("{}/", self.options.endpoint))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{action}"))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| AuthError::Unavailable(format!("Cognito {action}: {e}")))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Ok(answer));
        }
        let kind = answer["__type"].as_str().unwrap_or_default();
        // `__type` may carry a namespace prefix (`…#NotAuthorizedException`).
        let kind = kind.rsplit('#').next().unwrap_or_default().to_owned();
        let message = answer["message"]
            .as_str()
            .or_else(|| answer["Message"].as_str())
            .unwrap_or_default()
            .to_owned();
        if kind.is_empty() || status.is_server_error() {
            return Err(AuthError::Unavailable(format!(
                "Cognito {action} answered {status}: {kind} {message}"
            )));
        }
        Ok(Err(Refused { kind, message }))
    }

    /// What a refusal every operation can get means to folio (`None`: the caller decides).
    fn common(refused: &Refused) -> Option<AuthError> {
        match refused.kind.as_str() {
            "TooManyRequestsException"
            | "LimitExceededException"
            | "TooManyFailedAttemptsException" => {
                Some(AuthError::Throttled { retry_after_secs: 5 })
            }
            "InvalidPasswordException" | "InvalidParameterException" => {
                Some(AuthError::InvalidRequest(format!("Cognito refused it: {}", refused.message)))
            }
            "UserNotConfirmedException" => Some(AuthError::NotConfirmed),
            _ => None,
        }
    }

    /// The unexpected refusal: the deployment is misconfigured (a wrong client, a pool without
    /// the password flow), not the caller's fault.
    fn unexpected(action: &str, refused: &Refused) -> AuthError {
        AuthError::Unavailable(format!("Cognito {action}: {} {}", refused.kind, refused.message))
    }

    /// A session from an `InitiateAuth` answer; `refresh_token` is the one used when Cognito
    /// does not hand out a new one (refreshes).
    fn session(&self, answer: &Value, refresh_token: Option<&str>) -> Result<Session, AuthError> {
        if let Some(challenge) = answer["ChallengeName"].as_str() {
            return Err(AuthError::Unauthorized(format!(
                "Cognito asks for a step folio does not do ({challenge}); finish it in the AWS console"
            )));
        }
        let result: AuthenticationResult =
            serde_json::from_value(answer["AuthenticationResult"].clone()).map_err(|e| {
                AuthError::Unavailable(format!("Cognito's sign-in answer is not understood: {e}"))
            })?;
        let claims = id_claims(&result.id_token)?;
        let refresh_token = result
            .refresh_token
            .or_else(|| refresh_token.map(str::to_owned))
            .ok_or_else(|| AuthError::Unavailable("Cognito gave no refresh token".to_owned()))?;
        Ok(Session {
            access_token: result.access_token,
            token_type: "Bearer",
            expires_in: result.expires_in,
            refresh_token,
            identity_id: IdentityId::derive(&self.issuer, &claims.sub),
            email: claims.email,
        })
    }

    /// Ends every session of the account whose access token this is.
    async fn sign_out_everywhere(&self, access_token: &str) -> Result<(), AuthError> {
        match self.call("GlobalSignOut", json!({ "AccessToken": access_token })).await? {
            Ok(_) => Ok(()),
            Err(refused) if refused.kind == "NotAuthorizedException" => Ok(()),
            Err(refused) => Err(Self::common(&refused)
                .unwrap_or_else(|| Self::unexpected("GlobalSignOut", &refused))),
        }
    }
}

/// The claims of an ID token Cognito has just handed over (on a TLS connection to it, so they
/// are read, not verified; requests are authorised by the verifier on the access token).
fn id_claims(token: &str) -> Result<IdClaims, AuthError> {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| AuthError::Unavailable(format!("Cognito's ID token is not a JWT: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| AuthError::Unavailable(format!("Cognito's ID token has no subject: {e}")))
}

/// The length rule folio states for passwords (the template's pool policy allows the same).
fn check_password(password: &str) -> Result<(), AuthError> {
    let chars = password.chars().count();
    if (folio_auth::MIN_PASSWORD_CHARS..=folio_auth::MAX_PASSWORD_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(AuthError::InvalidRequest(format!(
            "a password has {} to {} characters",
            folio_auth::MIN_PASSWORD_CHARS,
            folio_auth::MAX_PASSWORD_CHARS
        )))
    }
}

#[async_trait]
impl SignIn for CognitoSignIn {
    fn issuer(&self) -> &str {
        &self.issuer
    }

    async fn register(&self, email: &str, password: &str) -> Result<Registration, AuthError> {
        let email = normalise_email(email)?;
        check_password(password)?;
        let body = json!({
            "ClientId": self.options.client_id,
            "Username": email,
            "Password": password,
            "UserAttributes": [{ "Name": "email", "Value": email }],
        });
        match self.call("SignUp", body).await? {
            Ok(answer) => {
                let user_id = answer["UserSub"].as_str().unwrap_or_default().to_owned();
                if user_id.is_empty() {
                    return Err(AuthError::Unavailable(
                        "Cognito's SignUp gave no UserSub".to_owned(),
                    ));
                }
                Ok(Registration {
                    identity_id: IdentityId::derive(&self.issuer, &user_id),
                    user_id,
                    email,
                    confirmation_required: !answer["UserConfirmed"].as_bool().unwrap_or(false),
                })
            }
            Err(refused) if refused.kind == "UsernameExistsException" => Err(AuthError::EmailTaken),
            Err(refused) => {
                Err(Self::common(&refused).unwrap_or_else(|| Self::unexpected("SignUp", &refused)))
            }
        }
    }

    async fn confirm(&self, email: &str, code: &str) -> Result<(), AuthError> {
        let email = normalise_email(email)?;
        let code = code.trim();
        if code.is_empty() || code.len() > 64 || code.chars().any(char::is_whitespace) {
            return Err(AuthError::InvalidRequest("that is not a confirmation code".to_owned()));
        }
        let body = json!({
            "ClientId": self.options.client_id,
            "Username": email,
            "ConfirmationCode": code,
        });
        match self.call("ConfirmSignUp", body).await? {
            Ok(_) => Ok(()),
            Err(refused) => Err(match refused.kind.as_str() {
                "CodeMismatchException"
                | "ExpiredCodeException"
                | "UserNotFoundException"
                | "NotAuthorizedException" => AuthError::InvalidRequest(
                    "that code is wrong or has expired (or the account is confirmed already)"
                        .to_owned(),
                ),
                _ => Self::common(&refused)
                    .unwrap_or_else(|| Self::unexpected("ConfirmSignUp", &refused)),
            }),
        }
    }

    async fn login(
        &self,
        email: &str,
        password: &str,
        _client: &str,
    ) -> Result<Session, AuthError> {
        let Ok(email) = normalise_email(email) else {
            return Err(AuthError::WrongCredentials);
        };
        let body = json!({
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": self.options.client_id,
            "AuthParameters": { "USERNAME": email, "PASSWORD": password },
        });
        match self.call("InitiateAuth", body).await? {
            Ok(answer) => self.session(&answer, None),
            // Unknown accounts and wrong passwords get one answer (as Cognito does with
            // PreventUserExistenceErrors, which the template turns on).
            Err(refused)
                if matches!(
                    refused.kind.as_str(),
                    "NotAuthorizedException" | "UserNotFoundException"
                ) =>
            {
                Err(AuthError::WrongCredentials)
            }
            Err(refused) => Err(Self::common(&refused)
                .unwrap_or_else(|| Self::unexpected("InitiateAuth", &refused))),
        }
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Session, AuthError> {
        let body = json!({
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": self.options.client_id,
            "AuthParameters": { "REFRESH_TOKEN": refresh_token },
        });
        match self.call("InitiateAuth", body).await? {
            Ok(answer) => self.session(&answer, Some(refresh_token)),
            Err(refused)
                if matches!(
                    refused.kind.as_str(),
                    "NotAuthorizedException"
                        | "UserNotFoundException"
                        | "ResourceNotFoundException"
                ) =>
            {
                Err(AuthError::Unauthorized("the session has ended: sign in again".to_owned()))
            }
            Err(refused) => Err(Self::common(&refused)
                .unwrap_or_else(|| Self::unexpected("InitiateAuth", &refused))),
        }
    }

    async fn logout(&self, refresh_token: &str) -> Result<(), AuthError> {
        // Cognito ends sessions per account: trade the refresh token for an access token, then
        // sign that account out everywhere. A token that no longer refreshes has nothing to end.
        match self.refresh(refresh_token).await {
            Ok(session) => self.sign_out_everywhere(&session.access_token).await,
            Err(AuthError::Unauthorized(_)) => Ok(()),
            Err(other) => Err(other),
        }
    }

    async fn change_password(
        &self,
        _subject: &str,
        access_token: &str,
        current: &str,
        new: &str,
        _client: &str,
    ) -> Result<(), AuthError> {
        check_password(new)?;
        let body = json!({
            "AccessToken": access_token,
            "PreviousPassword": current,
            "ProposedPassword": new,
        });
        match self.call("ChangePassword", body).await? {
            Ok(_) => self.sign_out_everywhere(access_token).await,
            Err(refused) if refused.kind == "NotAuthorizedException" => {
                Err(AuthError::WrongCredentials)
            }
            Err(refused) => Err(Self::common(&refused)
                .unwrap_or_else(|| Self::unexpected("ChangePassword", &refused))),
        }
    }

    async fn jwks(&self) -> Result<Option<Jwks>, AuthError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_url_names_the_region_the_issuer_and_the_keys() {
        let options = CognitoOptions::from_url("cognito://eu-west-1_AbC123?client_id=abc42")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(options.region, "eu-west-1");
        assert_eq!(
            options.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
        );
        assert_eq!(
            options.jwks_url(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123/.well-known/jwks.json"
        );
        let local = CognitoOptions::from_url(
            "cognito://us-east-1_x9?client_id=c1&endpoint=http://127.0.0.1:5000/",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(local.jwks_url(), "http://127.0.0.1:5000/us-east-1_x9/.well-known/jwks.json");
        assert_eq!(local.issuer(), "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x9");
    }

    #[test]
    fn malformed_pool_urls_are_refused_with_the_reason() {
        for (url, why) in [
            ("cognito-idp://eu-west-1_A?client_id=c", "cognito://POOL_ID"),
            ("cognito://nopool?client_id=c", "not a user pool id"),
            ("cognito://eu-west-1_?client_id=c", "not a user pool id"),
            ("cognito://eu-west-1_A", "client_id"),
            ("cognito://eu-west-1_A?client_id=a/b", "not an app client id"),
            ("cognito://eu-west-1_A?client_id=c&endpoint=ftp://x", "http:// or https://"),
            ("cognito://eu-west-1_A?client_id=c&secret=s", "unknown setting"),
        ] {
            let err =
                CognitoOptions::from_url(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
