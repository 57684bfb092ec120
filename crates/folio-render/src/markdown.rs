//! The markdown dialect: one comrak configuration shared by the PDF and the HTML preview.

use comrak::nodes::AstNode;
use comrak::{Arena, Options, parse_document};

/// CommonMark + GFM (tables, task lists, strikethrough, autolinks), footnotes, `$` math and
/// YAML front matter. Raw HTML is parsed into nodes (never passed through) so that our own
/// policy in [`crate::raw_html`] decides what of it is shown.
pub(crate) fn options() -> Options<'static> {
    let mut options = Options::default();
    let ext = &mut options.extension;
    ext.strikethrough = true;
    ext.table = true;
    ext.autolink = true;
    ext.tasklist = true;
    ext.footnotes = true;
    ext.math_dollars = true;
    ext.front_matter_delimiter = Some("---".to_owned());
    options
}

/// Parses markdown into an arena-allocated tree with source positions.
pub(crate) fn parse<'a>(arena: &'a Arena<'a>, markdown: &str) -> &'a AstNode<'a> {
    parse_document(arena, markdown, &options())
}

/// The concatenated text of a subtree (headings → titles, slugs and bookmarks; link text).
pub(crate) fn plain_text<'a>(node: &'a AstNode<'a>) -> String {
    use comrak::nodes::NodeValue;
    let mut text = String::new();
    for descendant in node.descendants() {
        match &descendant.data.borrow().value {
            NodeValue::Text(t) => text.push_str(t),
            NodeValue::Code(code) => text.push_str(&code.literal),
            NodeValue::Math(math) => text.push_str(&math.literal),
            NodeValue::SoftBreak | NodeValue::LineBreak => text.push(' '),
            _ => {}
        }
    }
    text
}

/// Collapses runs of whitespace to one space, as HTML and markdown readers expect.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars() {
        if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}
