//! Property: any text the embedded fonts can draw, in any context, compiles and appears in the
//! PDF's text.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use crate::{count_allowing_breaks, escape_markdown, pdf_text, render, squash_marking_breaks};

/// A fixed seed, so `cargo test` is deterministic: a red run means a change broke something,
/// never that the dice found an old bug. `FOLIO_PROPTEST_RANDOM=1` explores new inputs (and the
/// fuzz targets explore far more; see `fuzz/`).
fn seed() -> RngSeed {
    if std::env::var_os("FOLIO_PROPTEST_RANDOM").is_some() {
        RngSeed::Random
    } else {
        RngSeed::Fixed(0x0f01_10f0)
    }
}

/// Characters the embedded fonts draw: printable ASCII, Latin-1, Latin Extended-A, Greek and
/// Cyrillic letters. (U+00AD, the soft hyphen, is invisible by design and left out.)
fn drawable_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => 0x20u32..=0x7E,
        1 => (0xA1u32..=0xFF).prop_filter("soft hyphen", |c| *c != 0xAD),
        1 => 0x100u32..=0x17F,
        1 => (0x391u32..=0x3C9).prop_filter("unassigned", |c| *c != 0x3A2),
        1 => 0x410u32..=0x44F,
    ]
    .prop_map(|c| char::from_u32(c).unwrap_or('?'))
}

fn drawable_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(drawable_char(), 1..40)
        .prop_map(|chars| chars.into_iter().collect::<String>())
        .prop_filter("needs something visible", |s| !s.trim().is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, rng_seed: seed(), ..ProptestConfig::default() })]

    #[test]
    fn any_drawable_text_appears_in_every_context(text in drawable_text()) {
        let e = escape_markdown(text.trim());
        let contexts = [
            e.clone(),
            format!("## {e}"),
            format!("| {e} |\n|---|\n| x |"),
            format!("- {e}"),
            format!("> {e}"),
            format!("[{e}](https://example.com)"),
            format!("*{e}*"),
            format!("Note[^a]\n\n[^a]: {e}"),
        ];
        let doc = contexts.join("\n\n");
        let rendered = render(&doc);
        let extracted = squash_marking_breaks(&pdf_text(&rendered.pdf));
        let wanted: String = text.trim().chars().filter(|c| !c.is_whitespace()).collect();
        let found = count_allowing_breaks(&extracted, &wanted);
        prop_assert!(found >= contexts.len(), "{:?} found {} times in {:?}", text, found, extracted);
    }
}

/// Markdown-ish noise: the characters that carry markdown, HTML, LaTeX and Typst syntax.
fn markdownish() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("  ".to_owned()),
        Just("- ".to_owned()),
        Just("1. ".to_owned()),
        Just("> ".to_owned()),
        Just("# ".to_owned()),
        Just("```".to_owned()),
        Just("$".to_owned()),
        Just("$$".to_owned()),
        Just("|".to_owned()),
        Just("---".to_owned()),
        Just("[^n]".to_owned()),
        Just("[^n]: ".to_owned()),
        Just("<b>".to_owned()),
        Just("</b>".to_owned()),
        Just("<script>".to_owned()),
        Just("<img alt=x>".to_owned()),
        Just("![i](a.png)".to_owned()),
        Just("[l](https://e.org)".to_owned()),
        Just("\\frac{".to_owned()),
        Just("\\begin{pmatrix}".to_owned()),
        Just("#read(\"x\")".to_owned()),
        "[a-z*_~`<>\\[\\](){}!#\\\\&;=+@-]{1,6}",
    ];
    proptest::collection::vec(pieces, 1..60).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, rng_seed: seed(), ..ProptestConfig::default() })]

    /// Whatever the markdown, rendering answers with a PDF or a typed limit error — never a
    /// panic, and never a typesetter failure (which would mean the translation emitted
    /// something Typst rejects).
    #[test]
    fn any_markdown_renders_or_fails_cleanly(markdown in markdownish()) {
        match folio_render::render_pdf(&markdown, &folio_render::RenderOptions::default()) {
            Ok(rendered) => prop_assert!(rendered.pdf.starts_with(b"%PDF-")),
            Err(folio_render::RenderError::Empty | folio_render::RenderError::NestingTooDeep { .. }) => {}
            Err(other) => prop_assert!(false, "{other}"),
        }
        let _ = folio_render::render_html(&markdown, &folio_render::RenderOptions::default());
    }
}

/// The seed a fresh clone once drew: `A-`, whose trailing hyphen ended lines of the PDF text.
#[test]
fn a_trailing_hyphen_appears_in_every_context() {
    let contexts = [
        "A-",
        "## A-",
        "| A- |\n|---|\n| x |",
        "- A-",
        "> A-",
        "[A-](https://example.com)",
        "*A-*",
        "Note[^a]\n\n[^a]: A-",
    ];
    let rendered = render(&contexts.join("\n\n"));
    let extracted = squash_marking_breaks(&pdf_text(&rendered.pdf));
    assert!(count_allowing_breaks(&extracted, "A-") >= contexts.len(), "{extracted:?}");
}
