//! folio's render engine: markdown → Typst → PDF, page SVGs, and a sanitized HTML preview.
//!
//! The crate is pure and synchronous: no I/O, no threads of its own (Typst's rayon pool does
//! its parallel work, and the page preview's), no network. Everything a
//! document may show — fonts, images — is handed in or embedded. User text never becomes Typst
//! code: the translator emits every text node of the markdown AST as a Typst string literal, and
//! the compiler runs in a `world` that serves nothing but the generated source, the embedded
//! fonts and the caller's assets.
//!
//! Typst cannot be cancelled and has no memory limit, so this crate bounds what it can before
//! translating (source size, nesting depth) and after layout (page count); callers that render
//! untrusted input bound time and memory around it (the server's worker processes).

mod cache;
mod error;
mod escape;
mod fonts;
mod frontmatter;
#[doc(hidden)]
pub mod fuzzing;
mod html;
mod limits;
mod links;
mod markdown;
mod math;
mod options;
mod raw_html;
mod render;
mod translate;
mod warning;
mod world;

pub use cache::{CacheTrim, set_cache_trim, trim_caches};
pub use error::RenderError;
pub use fonts::{FontError, FontSet};
pub use limits::Limits;
pub use links::local_image_path;
pub use options::{
    Assets, FONT_SIZE_RANGE, MARGIN_MM_RANGE, Paper, PdfStandard, RenderOptions, Theme,
    parse_margin,
};
pub use render::{LineBox, PagesSvg, Rendered, quiet_render_panics, render_pages_svg, render_pdf};
pub use translate::{ImageReference, MAX_TITLE_CHARS, Translation, image_references, translate};
pub use warning::{Warning, WarningKind};

/// Decodes markdown bytes as UTF-8, or says where they stop being UTF-8.
pub fn decode_markdown(bytes: &[u8]) -> Result<&str, RenderError> {
    std::str::from_utf8(bytes).map_err(|err| {
        let offset = err.valid_up_to();
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        RenderError::InvalidUtf8 { offset, line }
    })
}

/// A sanitized HTML rendering of markdown for the instant preview, with its warnings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// An HTML fragment: no scripts, no event handlers, no remote resources.
    pub html: String,
    /// What was dropped or replaced, with the markdown line.
    pub warnings: Vec<Warning>,
}

/// Renders markdown to a sanitized HTML fragment with the same parser, dialect and policies as
/// the PDF (links, images, raw HTML, math), for an instant preview.
pub fn render_html(markdown: &str, options: &RenderOptions) -> Result<Preview, RenderError> {
    html::render_html(markdown, options)
}

/// The versions of the engines that produce a PDF, for provenance records.
pub fn engine_versions() -> EngineVersions {
    EngineVersions { folio_render: env!("CARGO_PKG_VERSION"), typst: TYPST_VERSION }
}

/// The Typst version this crate links (kept in step with Cargo.toml).
const TYPST_VERSION: &str = "0.15.1";

/// Versions of the render engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineVersions {
    /// This crate's version.
    pub folio_render: &'static str,
    /// The Typst compiler's version.
    pub typst: &'static str,
}
