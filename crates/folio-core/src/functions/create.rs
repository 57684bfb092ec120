//! create-pdf: render, then store source, manifest and PDF (the PDF last: the commit point).

use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::DocumentSummary;
use crate::document::{MANIFEST_VERSION, Manifest};
use crate::failpoint::failpoint;
use crate::ids::{DocumentId, IdentityId, ObjectKey, ObjectKind};
use crate::options::CreateOptions;
use crate::ports::{RenderRequest, Warning};
use crate::{Error, Pipeline, Result};

/// The most characters a title may have.
pub const MAX_TITLE_CHARS: usize = 300;

/// What a caller asks create-pdf for. The owner is never part of it: it is the verified caller.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Title; else the front matter's, the first heading, or "Untitled". At most 300
    /// characters with at least one that is neither white space nor a control character;
    /// trimmed, and control characters become spaces.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 300,
            pattern = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
        )
    )]
    pub title: Option<String>,
    /// The markdown source: at least one character that is not white space, at most the
    /// source limit in UTF-8 bytes (512 KiB by default; larger answers 413 `source_too_large`).
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
    )]
    pub markdown: String,
    /// Render options.
    #[serde(default, deserialize_with = "crate::options::from_object")]
    pub options: CreateOptions,
    /// Images beside the document (the CLI's `docs import` supplies them; the JSON API does not
    /// accept them yet).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub assets: std::collections::BTreeMap<String, Vec<u8>>,
}

/// What create-pdf returns: everything the caller needs at once (the library catches up):
/// `{id, title, pages, bytes, created, download_url, warnings}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    /// The new document, with a signed URL that downloads its PDF for a while.
    #[serde(flatten)]
    pub document: DocumentSummary,
    /// What the renderer changed or could not show (`{line, kind, message}`).
    pub warnings: Vec<Warning>,
}

/// Renders and stores a new document owned by `caller`.
pub async fn create_pdf(
    pipeline: &Pipeline,
    caller: &IdentityId,
    request: CreateRequest,
) -> Result<Created> {
    create(pipeline, caller, DocumentId::new(), request, true).await
}

/// [`create_pdf`] with a given document id (idempotent retries reuse the id they recorded:
/// writing the same document again replaces its objects with equal ones).
pub async fn create_pdf_with_id(
    pipeline: &Pipeline,
    caller: &IdentityId,
    id: DocumentId,
    request: CreateRequest,
) -> Result<Created> {
    create(pipeline, caller, id, request, false).await
}

/// `fresh`: the id is new, so no earlier objects of it are replaced (and none need counting).
async fn create(
    pipeline: &Pipeline,
    caller: &IdentityId,
    id: DocumentId,
    request: CreateRequest,
    fresh: bool,
) -> Result<Created> {
    let title = validate(pipeline, &request)?;
    // Images beside a file (the CLI) are handed in, and kept in the owner's space like the
    // library's; otherwise the references resolve against the caller's library. Either way the
    // manifest records which bytes each reference got.
    let (assets, images) = if request.assets.is_empty() {
        let resolved =
            super::resolve_images(pipeline, caller, &request.markdown, &Default::default(), false)
                .await?;
        (resolved.assets, resolved.used)
    } else {
        let kept = super::images::keep_handed_images(pipeline, caller, &request.assets).await?;
        (request.assets.clone(), kept)
    };
    let rendered = pipeline
        .renderer
        .render(RenderRequest {
            markdown: request.markdown.clone(),
            title,
            options: request.options.clone(),
            assets,
            owner: Some(*caller),
        })
        .await?;
    let created_ms = pipeline.clock.now_ms();
    let manifest = Manifest {
        version: MANIFEST_VERSION,
        owner: *caller,
        id,
        title: rendered.title.clone(),
        pages: rendered.pages,
        bytes: rendered.pdf.len() as u64,
        source_sha256: hex(&Sha256::digest(request.markdown.as_bytes())),
        engine: rendered.engine.clone(),
        created_ms,
        images,
    };
    let manifest_json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Corrupt(e.to_string()))?;
    let key = |kind| ObjectKey::new(*caller, id, kind).path();
    // Signed before anything is stored: a signer that fails (an S3 role's credentials out of
    // reach) then fails the create cleanly instead of after a document was made.
    let download_url = super::download_url(
        pipeline,
        &ObjectKey::new(*caller, id, ObjectKind::Pdf),
        &rendered.title,
    )
    .await?;
    // Counted against the quota before anything is stored (less what a retry replaces).
    let mut replaced = 0;
    if !fresh {
        for kind in [ObjectKind::Source, ObjectKind::Manifest, ObjectKind::Pdf] {
            replaced += super::size_of(pipeline, &key(kind)).await?;
        }
    }
    let stored = (request.markdown.len() + manifest_json.len() + rendered.pdf.len()) as u64;
    super::reserve(pipeline, caller, stored.saturating_sub(replaced)).await?;
    let objects = &pipeline.objects;
    let written = async {
        objects
            .put(&key(ObjectKind::Source), PutPayload::from(request.markdown.into_bytes()))
            .await?;
        failpoint("create.after-source");
        objects.put(&key(ObjectKind::Manifest), PutPayload::from(manifest_json)).await?;
        failpoint("create.after-manifest");
        objects.put(&key(ObjectKind::Pdf), PutPayload::from(rendered.pdf)).await?;
        failpoint("create.after-pdf");
        Ok::<_, Error>(())
    }
    .await;
    if let Err(err) = written {
        super::release(pipeline, caller, stored.saturating_sub(replaced)).await;
        return Err(err);
    }

    let record =
        crate::DocumentRecord::from_manifest(&manifest, crate::event::Sequencer::from_number(0));
    Ok(Created { document: super::summary(&record, download_url), warnings: rendered.warnings })
}

/// Checks a request before any work; returns the trimmed title.
fn validate(pipeline: &Pipeline, request: &CreateRequest) -> Result<Option<String>> {
    if request.markdown.len() > pipeline.settings.max_source_bytes {
        return Err(Error::render(
            crate::RenderFailure::SourceTooLarge,
            format!(
                "the markdown is {} bytes; the limit is {} bytes",
                request.markdown.len(),
                pipeline.settings.max_source_bytes
            ),
            false,
        ));
    }
    check_markdown(&request.markdown)?;
    request.options.check().map_err(Error::InvalidRequest)?;
    request.title.as_deref().map(check_title).transpose()
}

/// Refuses markdown that is only white space (the request schema's `pattern` says the same).
pub fn check_markdown(markdown: &str) -> Result<()> {
    if markdown.trim().is_empty() {
        return Err(Error::InvalidRequest("the markdown is empty".to_owned()));
    }
    Ok(())
}

/// The title to use for a title given by a caller: at most [`MAX_TITLE_CHARS`] characters as
/// given, control characters turned into spaces, trimmed, and not empty after that (the
/// request schema's `maxLength` and `pattern` say the same).
pub fn check_title(title: &str) -> Result<String> {
    let chars = title.chars().count();
    if chars > MAX_TITLE_CHARS {
        return Err(Error::InvalidRequest(format!(
            "the title has {chars} characters; the limit is {MAX_TITLE_CHARS}"
        )));
    }
    let title: String =
        title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::InvalidRequest(
            "the title is empty; leave it out to use the document's own".to_owned(),
        ));
    }
    Ok(title.to_owned())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
