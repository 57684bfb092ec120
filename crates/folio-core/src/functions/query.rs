//! query: a caller's library, newest first, paginated with an opaque cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::ids::{DocumentId, IdentityId};
use crate::ports::{IndexQuery, fold_title};
use crate::{Error, Pipeline, Result};

/// The default page size.
pub const DEFAULT_LIMIT: usize = 20;
/// The largest page size.
pub const MAX_LIMIT: usize = 100;

/// A listing request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct QueryParams {
    /// Page size, 1–100 (default 20).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page (22 characters; any value of that form is a
    /// position in the library).
    #[cfg_attr(
        feature = "openapi",
        param(min_length = 22, max_length = 22, pattern = r"^[A-Za-z0-9_-]{21}[AQgw]")
    )]
    pub cursor: Option<String>,
    /// Only titles containing this (case-insensitive; at most 300 characters).
    #[cfg_attr(feature = "openapi", param(max_length = 300))]
    pub q: Option<String>,
}

/// One document as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentSummary {
    /// Id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "01a21100-bafe-77c1-8d20-7f74fb41f1d5"))]
    pub id: DocumentId,
    /// Title.
    pub title: String,
    /// Pages.
    pub pages: u32,
    /// PDF size in bytes.
    pub bytes: u64,
    /// Creation time (RFC 3339).
    pub created: String,
    /// A fresh signed download URL.
    pub download_url: String,
}

/// A page of the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentPage {
    /// Newest first.
    pub items: Vec<DocumentSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Lists the caller's documents.
pub async fn query_documents(
    pipeline: &Pipeline,
    caller: &IdentityId,
    params: &QueryParams,
) -> Result<DocumentPage> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::InvalidRequest(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let before = params.cursor.as_deref().map(decode_cursor).transpose()?;
    if params.q.as_deref().is_some_and(|q| q.chars().count() > super::MAX_TITLE_CHARS) {
        return Err(Error::InvalidRequest(format!(
            "the title filter is longer than {} characters",
            super::MAX_TITLE_CHARS
        )));
    }
    let title_contains = params.q.as_deref().map(fold_title).filter(|q| !q.is_empty());
    let page = pipeline.index.query(caller, &IndexQuery { limit, before, title_contains }).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for record in &page.items {
        items.push(super::summarize(pipeline, record).await?);
    }
    Ok(DocumentPage { items, next_cursor: page.next_after.map(|id| encode_cursor(&id)) })
}

fn encode_cursor(id: &DocumentId) -> String {
    URL_SAFE_NO_PAD.encode(id.as_uuid().as_bytes())
}

/// The position a cursor names: any 16 bytes (a cursor a caller made up only moves them
/// within their own library), written as the schema's pattern says.
fn decode_cursor(cursor: &str) -> Result<DocumentId> {
    let invalid = || Error::InvalidRequest("the cursor is not one this server issued".to_owned());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let uuid = uuid::Uuid::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(DocumentId::position(uuid))
}
