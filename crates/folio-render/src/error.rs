//! The typed errors of rendering.

use thiserror::Error;

/// Why a document could not be rendered. Every variant is the document's fault or a limit, never
/// a crash; [`RenderError::code`] gives the stable API error code.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum RenderError {
    /// The input bytes are not UTF-8.
    #[error("the document is not valid UTF-8 (first invalid byte at offset {offset}, line {line})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// 1-based line of that byte.
        line: usize,
    },
    /// The markdown holds no content at all.
    #[error("the document is empty")]
    Empty,
    /// The source is larger than the configured limit.
    #[error("the document is {size} bytes; the limit is {limit} bytes")]
    SourceTooLarge {
        /// Size of the source in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Quotes, lists or inline markup nest deeper than the limit.
    #[error(
        "the document nests {depth} levels deep at line {line}; the limit is {limit} levels of quotes and lists (inline emphasis and links count half)"
    )]
    NestingTooDeep {
        /// The depth reached, in levels (the check stops counting just past the limit).
        depth: usize,
        /// The limit.
        limit: usize,
        /// 1-based markdown line where the limit was passed.
        line: usize,
    },
    /// The laid-out document has more pages than the limit.
    #[error("the document lays out to {pages} pages; the limit is {limit}")]
    PageLimitExceeded {
        /// Pages after layout.
        pages: usize,
        /// The limit.
        limit: usize,
    },
    /// Laying the document out would cost more than folio allows (tables with too many cells,
    /// too many footnotes, images with too many pixels): refused before layout, so a small
    /// input cannot hold a renderer for minutes or gigabytes.
    #[error("the document is too complex to lay out (line {line}): {what}")]
    TooComplex {
        /// What is too much, and the limit.
        what: String,
        /// 1-based markdown line where the limit was passed.
        line: usize,
    },
    /// The options ask for something Typst cannot do (a combination of PDF standards, say).
    #[error("{0}")]
    Unsupported(String),
    /// The document cannot meet the standards asked for: a character no font draws, where a
    /// standard needs every character drawn. The request is well formed; the document is not
    /// renderable so (the API answers 422 `render_failed`).
    #[error("{0}")]
    StandardUnmet(String),
    /// The typesetter failed. With folio's translation this means a bug or an input the
    /// translator does not yet guard against; the message says what Typst reported.
    #[error("the typesetter failed{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Typeset {
        /// Typst's message.
        message: String,
        /// The markdown line it maps to, when known.
        line: Option<usize>,
    },
}

impl RenderError {
    /// The API error code (see DESIGN.md) for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUtf8 { .. } | Self::Empty | Self::Unsupported(_) => "invalid_request",
            Self::SourceTooLarge { .. } => "source_too_large",
            Self::NestingTooDeep { .. } => "nesting_too_deep",
            Self::PageLimitExceeded { .. } => "page_limit_exceeded",
            Self::TooComplex { .. } => "document_too_complex",
            Self::StandardUnmet(_) | Self::Typeset { .. } => "render_failed",
        }
    }
}
