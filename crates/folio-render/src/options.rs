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

/// The looks folio offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Theme {
    /// Libertinus Serif, justified, blue headings: folio's original look.
    #[default]
    Classic,
    /// A modern report: DejaVu Sans, ragged right, a rule under chapter headings, `page / total`.
    Report,
    /// A book: New Computer Modern, indented paragraphs, chapters on a new page, centred page
    /// numbers, numbered headings unless `numbering` says otherwise.
    Book,
}

impl Theme {
    /// All themes, for help texts and validation.
    pub const ALL: [Theme; 3] = [Theme::Classic, Theme::Report, Theme::Book];

    /// The name used in front matter, flags and the template.
    pub fn name(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Report => "report",
            Self::Book => "book",
        }
    }

    /// Parses a theme name (case-insensitive).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|theme| theme.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// PDF standards a document can be made to conform to (Typst checks conformance and refuses
/// a document that cannot meet it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PdfStandard {
    /// PDF/A-2b: archival, visual appearance preserved. No attachments.
    A2b,
    /// PDF/A-3b: archival, and attachments (the markdown source) are allowed.
    A3b,
    /// PDF/UA-1: universal accessibility (tagged structure, alt texts, a title).
    Ua1,
}

impl PdfStandard {
    /// All standards, for help texts and validation.
    pub const ALL: [PdfStandard; 3] = [PdfStandard::A2b, PdfStandard::A3b, PdfStandard::Ua1];

    /// The name used in flags and the API (`a-2b`, `a-3b`, `ua-1`).
    pub fn name(self) -> &'static str {
        match self {
            Self::A2b => "a-2b",
            Self::A3b => "a-3b",
            Self::Ua1 => "ua-1",
        }
    }

    /// Parses a standard's name (`a-2b`, `PDF/A-2b`, `ua1`…).
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase().replace(['/', '_'], "-");
        let name = name.strip_prefix("pdf-").unwrap_or(&name);
        Self::ALL.into_iter().find(|s| s.name() == name || s.name().replace('-', "") == name)
    }
}

impl fmt::Display for PdfStandard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Page margins folio accepts, in millimetres (every side).
pub const MARGIN_MM_RANGE: std::ops::RangeInclusive<f64> = 5.0..=60.0;

/// A length such as `2cm`, `20mm`, `1in` or `54pt`, in millimetres, if it is in
/// [`MARGIN_MM_RANGE`].
pub fn parse_margin(text: &str) -> Option<f64> {
    let text = text.trim().to_ascii_lowercase();
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    let mm = match unit.trim() {
        "mm" => value,
        "cm" => value * 10.0,
        "in" => value * 25.4,
        "pt" => value * 25.4 / 72.0,
        _ => return None,
    };
    MARGIN_MM_RANGE.contains(&mm).then_some(mm)
}

/// Base font sizes folio accepts, in points.
pub const FONT_SIZE_RANGE: std::ops::RangeInclusive<f64> = 6.0..=24.0;

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
    /// Look; else the front matter's `theme`, else [`Theme::Classic`].
    pub theme: Option<Theme>,
    /// Numbered headings; else the front matter's `numbering`, else the theme's choice.
    pub numbering: Option<bool>,
    /// Base font size in points ([`FONT_SIZE_RANGE`]); else the front matter's `font-size`,
    /// else the theme's.
    pub font_size: Option<f64>,
    /// Page margin on every side, in millimetres ([`MARGIN_MM_RANGE`]); else the front
    /// matter's `margin`, else the theme's.
    pub margin_mm: Option<f64>,
    /// Standards the PDF must conform to (none by default; the PDF is tagged regardless).
    pub standards: Vec<PdfStandard>,
    /// Attach the markdown source to the PDF (`source.md`).
    pub attach_source: bool,
    /// Fonts to use; `None` is the embedded set.
    pub fonts: Option<std::sync::Arc<crate::FontSet>>,
    /// Images the document may show.
    pub assets: Assets,
    /// Size, depth and page limits.
    pub limits: Limits,
    /// Creation time written into the PDF metadata, as seconds since the Unix epoch (UTC).
    /// `None` leaves the date out, which keeps output byte-for-byte reproducible.
    pub timestamp: Option<i64>,
}

impl RenderOptions {
    /// Refuses numeric options out of their ranges (not-a-number included): they would be
    /// written into the generated Typst as lengths. The front matter's values are checked where
    /// they are read, with a warning instead.
    pub fn check(&self) -> Result<(), crate::RenderError> {
        if let Some(size) = self.font_size
            && !FONT_SIZE_RANGE.contains(&size)
        {
            return Err(crate::RenderError::Unsupported(format!(
                "font size {size} pt is not from 6 to 24 points"
            )));
        }
        if let Some(mm) = self.margin_mm
            && !MARGIN_MM_RANGE.contains(&mm)
        {
            return Err(crate::RenderError::Unsupported(format!(
                "margin {mm} mm is not from 5 to 60 mm"
            )));
        }
        Ok(())
    }
}
