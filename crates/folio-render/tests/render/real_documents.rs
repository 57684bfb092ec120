//! Real-world READMEs (badges, HTML blocks, tables, code) render with their words present.

use std::collections::BTreeSet;

use comrak::nodes::NodeValue;
use comrak::{Arena, Options, parse_document};

use crate::{pdf_text, render, squash};

const READMES: &[(&str, &str)] = &[
    ("typst", include_str!("../fixtures/readmes/typst.md")),
    ("serde_json", include_str!("../fixtures/readmes/serde_json.md")),
    ("comrak", include_str!("../fixtures/readmes/comrak.md")),
    ("getrandom", include_str!("../fixtures/readmes/getrandom.md")),
    ("image", include_str!("../fixtures/readmes/image.md")),
];

/// The words of a document's markdown text nodes (not raw HTML), longer than five letters.
fn words(markdown: &str) -> BTreeSet<String> {
    let arena = Arena::new();
    let mut options = Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    options.extension.footnotes = true;
    let root = parse_document(&arena, markdown, &options);
    let mut words = BTreeSet::new();
    for node in root.descendants() {
        if let NodeValue::Text(text) = &node.data.borrow().value {
            for word in text.split(|c: char| !c.is_alphabetic()) {
                if word.chars().count() > 5 {
                    words.insert(word.to_owned());
                }
            }
        }
    }
    words
}

#[test]
fn readmes_render_with_their_words() {
    for (name, markdown) in READMES {
        let rendered = render(markdown);
        assert!(rendered.pages >= 1);
        let text = squash(&pdf_text(&rendered.pdf));
        let words = words(markdown);
        let missing: Vec<_> = words.iter().filter(|w| !text.contains(w.as_str())).collect();
        assert!(words.len() > 20, "{name}: too few words to judge");
        assert!(
            missing.is_empty(),
            "{name}: {} of {} words missing from the PDF: {missing:?}",
            missing.len(),
            words.len()
        );
    }
}

#[test]
fn readme_html_keeps_its_text_and_warns_about_dropped_tags() {
    let rendered = render(READMES[0].1);
    let text = pdf_text(&rendered.pdf);
    // The typst README's header is an <h1> with an <img alt="Typst">, then badge images.
    assert!(text.contains("Documentation"), "badge alt text kept: {text:.400}");
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.kind == folio_render::WarningKind::ImageMissing && w.line == 2)
    );
}
