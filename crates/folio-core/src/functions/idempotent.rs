//! create-pdf with an idempotency key: retries of one request — after a timeout, a dropped
//! connection, a crash half-way, or a Lambda retry — make one document. The same function
//! serves the HTTP route and a direct function invocation.

use sha2::{Digest, Sha256};

use super::{CreateRequest, Created, create_pdf_with_id, stored_document};
use crate::ids::{DocumentId, IdentityId};
use crate::ports::{IdempotencyRecord, IdempotencyStore};
use crate::{Error, ErrorCode, Pipeline, Result};

/// An idempotency key as a client sends it: 1–255 visible ASCII characters (surrounding spaces
/// are not part of it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key accepted.
    pub const MAX_LEN: usize = 255;

    /// Checks a key.
    pub fn parse(text: &str) -> Result<Self> {
        let key = text.trim();
        if key.is_empty() || key.len() > Self::MAX_LEN || !key.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(Error::InvalidRequest(
                "Idempotency-Key must be 1–255 visible ASCII characters".to_owned(),
            ));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Creates the document `request` describes once per (caller, key): the first call binds the key
/// to a new document id and the request's bytes before anything is written; a retry with the
/// same bytes answers with that document — finishing it if the first attempt stopped half-way —
/// and a reuse with other bytes is [`ErrorCode::IdempotencyConflict`]. Bindings older than
/// `ttl_ms` are forgotten.
///
/// `body` is the request exactly as received (for HTTP, the raw body), so that equal requests
/// are recognised whatever their parsed form.
pub async fn create_pdf_once(
    pipeline: &Pipeline,
    keys: &dyn IdempotencyStore,
    caller: &IdentityId,
    key: &IdempotencyKey,
    body: &[u8],
    request: CreateRequest,
    ttl_ms: i64,
) -> Result<Created> {
    let now = pipeline.clock.now_ms();
    let body_sha256 = super::create::hex(&Sha256::digest(body));
    let proposed = IdempotencyRecord {
        document: DocumentId::new(),
        body_sha256: body_sha256.clone(),
        created_ms: now,
    };
    let bound = keys.bind(caller, key.as_str(), &proposed, now - ttl_ms).await?;
    if bound.body_sha256 != body_sha256 {
        return Err(Error::Conflict {
            code: ErrorCode::IdempotencyConflict,
            message: "this Idempotency-Key was used with a different request body".to_owned(),
        });
    }
    match stored_document(pipeline, caller, &bound.document).await? {
        Some(document) => Ok(Created { document, warnings: Vec::new() }),
        None => create_pdf_with_id(pipeline, caller, bound.document, request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert_eq!(IdempotencyKey::parse("  abc-123 ").map(|k| k.0), Ok("abc-123".to_owned()));
        for bad in ["", "   ", "a b", "é", "tab\there", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
    }
}
