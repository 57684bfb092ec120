//! The original client's direct-invoke path: create-pdf and query called with the Lambda Invoke
//! API by holders of Cognito identity-pool credentials. The caller is the invocation's Cognito
//! identity (which Lambda sets from the credentials, never from the payload); a payload field
//! that names an identity is dropped unread.

use serde_json::{Map, Value};

use crate::functions::{
    CreateRequest, Created, DocumentPage, IdempotencyKey, QueryParams, create_pdf_once,
    query_documents,
};
use crate::ids::IdentityId;
use crate::ports::IdempotencyStore;
use crate::{Error, Pipeline, Result};

/// Payload fields that could be read as naming the owner: dropped before anything else is read.
const IDENTITY_FIELDS: &[&str] = &[
    "identity",
    "identity_id",
    "identityId",
    "cognitoIdentityId",
    "cognito_identity_id",
    "owner",
    "user",
    "user_id",
    "userId",
    "sub",
];

/// Who invoked: the Cognito identity Lambda puts in the invocation's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    /// `cognitoIdentityPoolId`.
    pub identity_pool_id: String,
    /// `cognitoIdentityId`.
    pub identity_id: String,
}

impl Invoker {
    /// The caller's identity by folio's one rule: issuer `cognito-identity:<identity pool id>`,
    /// subject the Cognito identity id. One person reaches one library per path: the web app's
    /// (user pool `sub`) and this one (identity-pool id) are different subjects of different
    /// issuers, and no trusted mapping between them exists in a token.
    pub fn identity(&self) -> Result<IdentityId> {
        if self.identity_pool_id.is_empty() || self.identity_id.is_empty() {
            return Err(Error::Unauthorized(
                "invoke with Cognito identity-pool credentials: the invocation has no identity"
                    .to_owned(),
            ));
        }
        Ok(IdentityId::derive(
            &format!("cognito-identity:{}", self.identity_pool_id),
            &self.identity_id,
        ))
    }
}

/// The payload as an object without the fields that name an identity.
fn fields(payload: Value) -> Result<Map<String, Value>> {
    let Value::Object(mut fields) = payload else {
        return Err(Error::InvalidRequest("the payload must be a JSON object".to_owned()));
    };
    for name in IDENTITY_FIELDS {
        fields.remove(*name);
    }
    Ok(fields)
}

/// create-pdf for a direct invocation: `{markdown, title?, options?, idempotency_key?}`. A
/// retried invocation makes one document: it is keyed by `idempotency_key`, or else by Lambda's
/// request id (which Lambda keeps across its own retries of one invocation).
pub async fn invoke_create(
    pipeline: &Pipeline,
    keys: &dyn IdempotencyStore,
    invoker: &Invoker,
    payload: Value,
    request_id: &str,
    ttl_ms: i64,
) -> Result<Created> {
    let owner = invoker.identity()?;
    let mut fields = fields(payload)?;
    let key = match fields.remove("idempotency_key") {
        Some(Value::String(key)) => IdempotencyKey::parse(&key)?,
        Some(_) => {
            return Err(Error::InvalidRequest("idempotency_key must be a string".to_owned()));
        }
        None => IdempotencyKey::parse(request_id)?,
    };
    // What the key's body hash covers: the request as read (a map's keys are sorted, so the
    // same fields in another order are the same request).
    let body = serde_json::to_vec(&fields).map_err(|e| Error::InvalidRequest(e.to_string()))?;
    let request: CreateRequest = serde_json::from_value(Value::Object(fields))
        .map_err(|e| Error::InvalidRequest(format!("not a create request: {e}")))?;
    create_pdf_once(pipeline, keys, &owner, &key, &body, request, ttl_ms).await
}

/// query for a direct invocation: `{limit?, cursor?, q?}`.
pub async fn invoke_query(
    pipeline: &Pipeline,
    invoker: &Invoker,
    payload: Value,
) -> Result<DocumentPage> {
    let owner = invoker.identity()?;
    let params: QueryParams = serde_json::from_value(Value::Object(fields(payload)?))
        .map_err(|e| Error::InvalidRequest(format!("not a query: {e}")))?;
    query_documents(pipeline, &owner, &params).await
}

/// A refusal as a direct invocation answers it: folio's error shape as the payload (not a
/// function error, which Lambda would report without the code).
pub fn refusal(err: &Error) -> Value {
    serde_json::json!({
        "error": { "code": err.code(), "message": err.to_string(), "retryable": err.is_retryable() }
    })
}
