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
    /// More warnings than are listed: the last warning counts the rest.
    Truncated,
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
            Self::Truncated => "truncated",
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Most warnings kept per render; the rest are counted in one closing warning. A document of
/// 130,000 unknown tags once produced a 14 MB preview answer of warnings nobody reads.
pub const MAX_WARNINGS: usize = 200;

/// Collects warnings, dropping exact repeats (a badge row should not warn twenty times per line)
/// and keeping at most [`MAX_WARNINGS`]: each push costs one hash lookup, whatever came before.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    list: Vec<Warning>,
    seen: std::collections::HashSet<Warning>,
    /// Distinct warnings past the cap.
    more: usize,
}

impl Warnings {
    pub(crate) fn push(&mut self, line: usize, kind: WarningKind, message: impl Into<String>) {
        self.add(Warning { line, kind, message: message.into() });
    }

    /// Adds a warning unless it is a repeat.
    pub(crate) fn add(&mut self, warning: Warning) {
        if self.list.len() >= MAX_WARNINGS {
            // Past the cap only distinct ones are counted; remembering them costs nothing
            // more than the hash set's entry.
            if self.seen.insert(warning) {
                self.more += 1;
            }
            return;
        }
        if self.seen.insert(warning.clone()) {
            self.list.push(warning);
        }
    }

    /// The warnings, with one more saying how many were left out past the cap.
    pub(crate) fn into_vec(self) -> Vec<Warning> {
        let mut list = self.list;
        if self.more > 0 {
            list.push(Warning {
                line: 0,
                kind: WarningKind::Truncated,
                message: format!(
                    "{} more warnings are not listed (the first {MAX_WARNINGS} are)",
                    self.more
                ),
            });
        }
        list
    }
}

/// Merges warnings found in several phases into one list with the same rules as [`Warnings`].
pub(crate) fn merge(lists: impl IntoIterator<Item = Vec<Warning>>) -> Vec<Warning> {
    let mut all = Warnings::default();
    let mut more = 0usize;
    for list in lists {
        for warning in list {
            if warning.kind == WarningKind::Truncated {
                more += count_in(&warning.message);
            } else {
                all.add(warning);
            }
        }
    }
    all.more += more;
    all.into_vec()
}

/// The count a `Truncated` warning carries (its message starts with it).
fn count_in(message: &str) -> usize {
    message.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_dropped_and_the_list_is_capped_with_a_count() {
        let mut warnings = Warnings::default();
        for i in 0..130_000 {
            warnings.push(i + 1, WarningKind::HtmlDropped, "an unknown tag was dropped");
            warnings.push(i + 1, WarningKind::HtmlDropped, "an unknown tag was dropped");
        }
        let list = warnings.into_vec();
        assert_eq!(list.len(), MAX_WARNINGS + 1);
        let last = list.last().map(|w| (w.kind, w.message.clone()));
        assert_eq!(
            last,
            Some((
                WarningKind::Truncated,
                format!("{} more warnings are not listed (the first 200 are)", 130_000 - 200)
            ))
        );
    }

    #[test]
    fn merging_keeps_the_cap_and_adds_the_counts() {
        let first: Vec<Warning> = {
            let mut w = Warnings::default();
            (0..300).for_each(|i| w.push(i, WarningKind::HtmlDropped, "x"));
            w.into_vec()
        };
        let second =
            vec![Warning { line: 1, kind: WarningKind::MissingGlyph, message: "y".into() }];
        let merged = merge([first, second]);
        assert_eq!(merged.len(), MAX_WARNINGS + 1);
        assert!(merged.last().is_some_and(|w| w.message.starts_with("101 more")), "{merged:?}");
    }
}
