//! Integration tests of the render engine: one test binary, one module per concern.

mod escaping;
mod fuzz_corpus;
mod limits;
mod look;
mod math;
mod properties;
mod real_documents;
mod rendering;
mod snapshots;

use folio_render::{RenderOptions, Rendered, render_pdf};

/// Renders with default options, failing the test with the error if rendering fails.
pub fn render(markdown: &str) -> Rendered {
    render_with(markdown, &RenderOptions::default())
}

/// Renders with the given options, failing the test with the error if rendering fails.
pub fn render_with(markdown: &str, options: &RenderOptions) -> Rendered {
    match render_pdf(markdown, options) {
        Ok(rendered) => rendered,
        Err(err) => panic!("render failed: {err}\n--- markdown ---\n{markdown}"),
    }
}

/// The text of a PDF, as a reader would copy it.
pub fn pdf_text(pdf: &[u8]) -> String {
    match pdf_extract::extract_text_from_mem(pdf) {
        Ok(text) => text,
        Err(err) => panic!("could not extract text from the PDF: {err}"),
    }
}

/// Stands for a hyphen at the end of an extracted line: a hyphenation break (nothing in the
/// source) or a real hyphen that happened to end the line (`A-`); text extraction cannot tell.
pub const BREAK: char = '\u{1}';

/// Like [`squash`], but every hyphen that ends a line between two letters becomes [`BREAK`],
/// which [`count_allowing_breaks`] matches either way.
pub fn squash_marking_breaks(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let line_end_hyphen = c == '-'
            && i > 0
            && !chars[i - 1].is_whitespace()
            && chars.get(i + 1) == Some(&'\n')
            && chars.get(i + 2).is_some_and(|n| !n.is_whitespace());
        if line_end_hyphen {
            out.push(BREAK);
        } else if !c.is_whitespace() && c != '\u{ad}' {
            out.push(c);
        }
    }
    out
}

/// How many times `wanted` (no whitespace) occurs in `text` from [`squash_marking_breaks`],
/// where each [`BREAK`] matches either a `-` or nothing.
pub fn count_allowing_breaks(text: &str, wanted: &str) -> usize {
    fn matches_at(text: &[char], wanted: &[char]) -> bool {
        match (text.first(), wanted.first()) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(&BREAK), Some(&w)) => {
                (w == '-' && matches_at(&text[1..], &wanted[1..])) || matches_at(&text[1..], wanted)
            }
            (Some(t), Some(w)) => t == w && matches_at(&text[1..], &wanted[1..]),
        }
    }
    let text: Vec<char> = text.chars().collect();
    let wanted: Vec<char> = wanted.chars().collect();
    (0..text.len()).filter(|&i| text[i] != BREAK && matches_at(&text[i..], &wanted)).count()
}

#[test]
fn a_hyphen_ending_a_line_is_matched_as_a_hyphen_or_a_break() {
    // The case that failed a fresh clone: `A-` ending a line read as a hyphenation break.
    let extracted = squash_marking_breaks("A-\nA-\nhy-\nphen");
    assert_eq!(count_allowing_breaks(&extracted, "A-"), 2);
    assert_eq!(count_allowing_breaks(&extracted, "hyphen"), 1);
    assert_eq!(count_allowing_breaks(&extracted, "hy-phen"), 1);
}

/// Text compared without layout: hyphenation at line ends undone (a hyphen between letters at
/// a line break), all whitespace removed.
pub fn squash(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let hyphenation = c == '-'
            && i > 0
            && chars[i - 1].is_alphabetic()
            && chars.get(i + 1) == Some(&'\n')
            && chars.get(i + 2).is_some_and(|n| n.is_alphabetic());
        if !hyphenation && !c.is_whitespace() && c != '\u{ad}' {
            out.push(c);
        }
    }
    out
}

/// Escapes text so that markdown parses it back to exactly that text: every ASCII punctuation
/// character gets a backslash (CommonMark allows one before any of them).
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span holding `text` exactly (fenced with more backticks than any run inside).
pub fn code_span(text: &str) -> String {
    let fence = "`".repeat(longest_run(text, '`') + 1);
    format!("{fence} {text} {fence}")
}

/// A fenced code block holding `text` exactly.
pub fn code_block(text: &str) -> String {
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    format!("{fence}\n{text}\n{fence}")
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}
