//! What a caller can choose about a render.

use std::collections::BTreeMap;
use std::fmt;

use crate::Limits;

/// Paper sizes folio offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Paper {
    /// ISO A4, 210 × 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in.
    UsLetter,
    /// ISO A5, 148 × 210 mm.
    A5,
}

impl Paper {
    /// All papers, for help texts and validation.
    pub const ALL: [Paper; 3] = [Paper::A4, Paper::UsLetter, Paper::A5];

    /// The name used in front matter, flags and Typst (`a4`, `us-letter`, `a5`).
    pub fn name(self) -> &'static str {
        match self {
            Self::A4 => "a4",
            Self::UsLetter => "us-letter",
            Self::A5 => "a5",
        }
    }

    /// Parses a paper name, accepting common spellings (`letter`, `A4`, `us_letter`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "a4" => Some(Self::A4),
            "us-letter" | "letter" | "usletter" => Some(Self::UsLetter),
            "a5" => Some(Self::A5),
            _ => None,
        }
    }
}

impl fmt::Display for Paper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Images a document may show, keyed by the reference exactly as written in the markdown
/// (`![alt](figures/plot.png)` → `"figures/plot.png"`). Nothing else is ever loaded.
pub type Assets = BTreeMap<String, Vec<u8>>;

/// Options for one render. Explicit options override the document's front matter.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Title for metadata; else the front matter's, else the first heading, else "Untitled".
    pub title: Option<String>,
    /// Paper size; else the front matter's `paper`, else A4.
    pub paper: Option<Paper>,
    /// Table of contents; else the front matter's `toc`, else off.
    pub toc: Option<bool>,
    /// Images the document may show.
    pub assets: Assets,
    /// Size, depth and page limits.
    pub limits: Limits,
    /// Creation time written into the PDF metadata, as seconds since the Unix epoch (UTC).
    /// `None` leaves the date out, which keeps output byte-for-byte reproducible.
    pub timestamp: Option<i64>,
}
