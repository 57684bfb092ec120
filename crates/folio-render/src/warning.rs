//! Warnings: what the renderer dropped or replaced, and where in the markdown.

use std::fmt;

/// Something the renderer changed or could not show, located at a markdown line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Warning {
    /// 1-based line in the markdown source (0 when no line applies).
    pub line: usize,
    /// What kind of change this is.
    pub kind: WarningKind,
    /// A sentence for people.
    pub message: String,
}

/// The kinds of warnings, stable for clients that group or filter them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// Raw HTML was dropped (its visible text is kept where that is safe).
    HtmlDropped,
    /// An image was not available and a placeholder was shown.
    ImageMissing,
    /// A link used a scheme folio does not link (it is shown as text).
    LinkDropped,
    /// A formula could not be converted safely and is shown as code.
    MathFallback,
    /// A front matter key was ignored or had an unusable value.
    FrontMatter,
    /// A footnote reference has no definition.
    FootnoteMissing,
    /// A diagnostic from the typesetter.
    Typesetter,
    /// No font can draw a character (add one with `--font-dir`).
    MissingGlyph,
}

impl WarningKind {
    /// A stable snake_case name for APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HtmlDropped => "html_dropped",
            Self::ImageMissing => "image_missing",
            Self::LinkDropped => "link_dropped",
            Self::MathFallback => "math_fallback",
            Self::FrontMatter => "front_matter",
            Self::FootnoteMissing => "footnote_missing",
            Self::Typesetter => "typesetter",
            Self::MissingGlyph => "missing_glyph",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Collects warnings, dropping exact repeats (a badge row should not warn twenty times per line).
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    list: Vec<Warning>,
}

impl Warnings {
    pub(crate) fn push(&mut self, line: usize, kind: WarningKind, message: impl Into<String>) {
        let warning = Warning { line, kind, message: message.into() };
        if !self.list.contains(&warning) {
            self.list.push(warning);
        }
    }

    pub(crate) fn into_vec(self) -> Vec<Warning> {
        self.list
    }
}
