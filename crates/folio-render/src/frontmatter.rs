//! YAML front matter, read as data only: a handful of known keys, each validated.

use yaml_rust2::{Yaml, YamlLoader};

use crate::warning::{WarningKind, Warnings};
use crate::{FONT_SIZE_RANGE, Paper, Theme};

/// The front matter keys folio understands.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FrontMatter {
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub date: Option<String>,
    pub lang: Option<String>,
    pub paper: Option<Paper>,
    pub toc: Option<bool>,
    pub theme: Option<Theme>,
    pub numbering: Option<bool>,
    pub font_size: Option<f64>,
    pub margin_mm: Option<f64>,
    pub keywords: Vec<String>,
}

/// Front matter deeper than this is refused before the YAML parser sees it.
const MAX_FLOW_DEPTH: usize = 32;

impl FrontMatter {
    /// Reads comrak's raw front matter block (delimiters included). Problems become warnings:
    /// front matter never fails a render.
    pub(crate) fn parse(raw: &str, warnings: &mut Warnings) -> Self {
        let body = strip_delimiters(raw);
        let mut front = Self::default();
        if flow_depth(body) > MAX_FLOW_DEPTH {
            warnings.push(
                1,
                WarningKind::FrontMatter,
                "front matter nests too deeply; it was ignored",
            );
            return front;
        }
        let docs = match YamlLoader::load_from_str(body) {
            Ok(docs) => docs,
            Err(err) => {
                let line = err.marker().line() + 1;
                warnings.push(
                    line,
                    WarningKind::FrontMatter,
                    format!("front matter is not valid YAML ({}); it was ignored", err.info()),
                );
                return front;
            }
        };
        let Some(Yaml::Hash(map)) = docs.into_iter().next() else {
            warnings.push(
                1,
                WarningKind::FrontMatter,
                "front matter is not a mapping of keys to values; it was ignored",
            );
            return front;
        };
        for (key, value) in map {
            let Some(key) = key.as_str().map(str::to_owned) else { continue };
            match key.as_str() {
                "title" => front.title = scalar(&value).filter(|t| !t.trim().is_empty()),
                "author" | "authors" => front.authors = strings(&value),
                "date" => front.date = scalar(&value),
                "lang" | "language" => match scalar(&value) {
                    Some(lang) if is_language_tag(&lang) => front.lang = Some(primary_language(&lang)),
                    _ => warnings.push(1, WarningKind::FrontMatter, "front matter `lang` is not a language code like `en` or `de`; it was ignored"),
                },
                "paper" => match scalar(&value).and_then(|p| Paper::parse(&p)) {
                    Some(paper) => front.paper = Some(paper),
                    None => warnings.push(1, WarningKind::FrontMatter, "front matter `paper` must be a4, us-letter or a5; it was ignored"),
                },
                "toc" => match value {
                    Yaml::Boolean(b) => front.toc = Some(b),
                    _ => warnings.push(1, WarningKind::FrontMatter, "front matter `toc` must be true or false; it was ignored"),
                },
                "theme" => match scalar(&value).and_then(|t| Theme::parse(&t)) {
                    Some(theme) => front.theme = Some(theme),
                    None => warnings.push(1, WarningKind::FrontMatter, "front matter `theme` must be classic, report or book; it was ignored"),
                },
                "numbering" | "number-sections" => match value {
                    Yaml::Boolean(b) => front.numbering = Some(b),
                    _ => warnings.push(1, WarningKind::FrontMatter, "front matter `numbering` must be true or false; it was ignored"),
                },
                "font-size" | "fontsize" => match font_size(&value) {
                    Some(size) => front.font_size = Some(size),
                    None => warnings.push(1, WarningKind::FrontMatter, "front matter `font-size` must be a size in points from 6 to 24 (like 11 or 11pt); it was ignored"),
                },
                "keywords" => front.keywords = strings(&value),
                "margin" => match scalar(&value).and_then(|m| crate::options::parse_margin(&m)) {
                    Some(mm) => front.margin_mm = Some(mm),
                    None => warnings.push(1, WarningKind::FrontMatter, "front matter `margin` must be a length from 5 to 60 mm (like 2cm, 20mm or 1in); it was ignored"),
                },
                _ => {}
            }
        }
        front
    }
}

fn strip_delimiters(raw: &str) -> &str {
    let body = raw.trim_start_matches('\u{feff}');
    let body = body.strip_prefix("---").unwrap_or(body);
    let body = body.trim_end();
    body.strip_suffix("---").unwrap_or(body)
}

/// The deepest nesting of YAML flow collections (`[` and `{`), counted without recursion.
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

fn scalar(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `11`, `10.5`, `"11pt"` → points, within [`FONT_SIZE_RANGE`].
fn font_size(value: &Yaml) -> Option<f64> {
    let text = scalar(value)?;
    let number = text.trim().trim_end_matches("pt").trim();
    let size: f64 = number.parse().ok()?;
    FONT_SIZE_RANGE.contains(&size).then_some(size)
}

fn strings(value: &Yaml) -> Vec<String> {
    match value {
        Yaml::Array(items) => items.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

/// The primary language subtag, lower case: all Typst takes as `lang` (it refuses `en_US`,
/// `de-CH` and `EN-gb`, which people write and folio accepts).
fn primary_language(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or(tag).to_ascii_lowercase()
}

/// BCP 47-ish: a 2–3 letter language, optionally followed by subtags (`en`, `de-CH`, `en_US`).
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split(['-', '_']);
    let Some(lang) = parts.next() else { return false };
    (2..=3).contains(&lang.len())
        && lang.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> (FrontMatter, Vec<crate::Warning>) {
        let mut warnings = Warnings::default();
        let front = FrontMatter::parse(raw, &mut warnings);
        (front, warnings.into_vec())
    }

    #[test]
    fn reads_known_keys() {
        let (front, warnings) = parse(
            "---\ntitle: \"#read(\\\"x\\\")\"\nauthor: [Ada, Grace]\ndate: 2026-11-25\nlang: de\npaper: letter\ntoc: true\n---\n",
        );
        assert_eq!(front.title.as_deref(), Some("#read(\"x\")"));
        assert_eq!(front.authors, ["Ada", "Grace"]);
        assert_eq!(front.date.as_deref(), Some("2026-11-25"));
        assert_eq!(front.lang.as_deref(), Some("de"));
        assert_eq!(front.paper, Some(Paper::UsLetter));
        assert_eq!(front.toc, Some(true));
        assert!(warnings.is_empty());
    }

    #[test]
    fn bad_values_warn_and_are_ignored() {
        let (front, warnings) = parse("---\nlang: \"x; #eval\"\npaper: a0\ntoc: maybe\n---\n");
        assert_eq!(front, FrontMatter::default());
        assert_eq!(warnings.len(), 3);
    }

    #[test]
    fn language_tags_are_reduced_to_what_typst_takes() {
        for (written, kept) in [("en_US", "en"), ("de-CH", "de"), ("EN-gb", "en"), ("fr", "fr")] {
            let (front, warnings) = parse(&format!("---\nlang: {written}\n---\n"));
            assert_eq!(front.lang.as_deref(), Some(kept), "{written}");
            assert!(warnings.is_empty(), "{written}");
        }
        let (front, warnings) = parse("---\nlang: english\n---\n");
        assert_eq!((front.lang, warnings.len()), (None, 1));
    }

    #[test]
    fn invalid_or_hostile_yaml_is_ignored() {
        assert!(!parse("---\ntitle: [unclosed\n---\n").1.is_empty());
        let deep = format!("---\na: {}{}\n---\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(!parse(&deep).1.is_empty());
        assert!(!parse("---\n- a\n- b\n---\n").1.is_empty());
    }
}
