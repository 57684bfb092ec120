//! What folio stores about a document: the manifest beside the PDF, and the index record.

use serde::{Deserialize, Serialize};

use crate::event::Sequencer;
use crate::{DocumentId, IdentityId};

/// The JSON manifest stored beside each PDF (`<doc>.json`). The bucket is the source of truth;
/// the index is rebuilt from manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version of this manifest.
    pub version: u32,
    /// The owner.
    pub owner: IdentityId,
    /// The document.
    pub id: DocumentId,
    /// The title (1–300 characters).
    pub title: String,
    /// Pages of the PDF.
    pub pages: u32,
    /// Size of the PDF in bytes.
    pub bytes: u64,
    /// SHA-256 of the markdown source, hex.
    pub source_sha256: String,
    /// Engine versions that made the PDF.
    pub engine: Engine,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// The images it was made with: each reference as written → SHA-256 of the bytes it got
    /// (kept in the owner's space, so the document keeps them after the library changes).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub images: std::collections::BTreeMap<String, String>,
}

/// The current manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// Which engines produced a PDF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engine {
    /// folio's render crate version.
    pub folio: String,
    /// Typst's version.
    pub typst: String,
}

/// One document in its owner's library (the index's view of a manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// The owner (partition key).
    pub identity: IdentityId,
    /// The document (sort key).
    pub id: DocumentId,
    /// The title.
    pub title: String,
    /// Pages of the PDF.
    pub pages: u32,
    /// Size of the PDF in bytes.
    pub bytes: u64,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_ms: i64,
    /// The sequencer of the event that wrote this record (orders updates).
    pub sequencer: Sequencer,
}

impl DocumentRecord {
    /// The record a manifest describes, as of the event `sequencer`.
    pub fn from_manifest(manifest: &Manifest, sequencer: Sequencer) -> Self {
        Self {
            identity: manifest.owner,
            id: manifest.id,
            title: manifest.title.clone(),
            pages: manifest.pages,
            bytes: manifest.bytes,
            created_ms: manifest.created_ms,
            sequencer,
        }
    }
}
