//! The markdown dialect: one comrak configuration shared by the PDF and the HTML preview.

use comrak::nodes::{AstNode, NodeValue};
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

/// A block that starts a new page: a page-break comment or a `\newpage` paragraph.
pub(crate) fn is_page_break<'a>(node: &'a AstNode<'a>) -> bool {
    is_page_break_paragraph(node)
        || matches!(&node.data.borrow().value, NodeValue::HtmlBlock(html) if is_page_break_comment(&html.literal))
}

/// `<!-- pagebreak -->` (also `page-break`, `newpage`, any case): an explicit page break that
/// other markdown renderers simply hide.
pub(crate) fn is_page_break_comment(html: &str) -> bool {
    let Some(inner) = html.trim().strip_prefix("<!--").and_then(|r| r.strip_suffix("-->")) else {
        return false;
    };
    let word: String = inner.trim().chars().filter(|c| *c != '-' && *c != '_').collect();
    matches!(word.to_ascii_lowercase().as_str(), "pagebreak" | "newpage")
}

/// A paragraph that is only `\newpage` or `\pagebreak` (the LaTeX and pandoc convention).
pub(crate) fn is_page_break_paragraph<'a>(node: &'a AstNode<'a>) -> bool {
    let mut children = node.children();
    let (Some(only), None) = (children.next(), children.next()) else { return false };
    match &only.data.borrow().value {
        NodeValue::Text(text) => matches!(text.trim(), "\\newpage" | "\\pagebreak"),
        _ => false,
    }
}
