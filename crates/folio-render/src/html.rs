//! Markdown AST → sanitized HTML for the instant preview.
//!
//! The same parser, dialect and policies as the PDF: the same links become links, the same raw
//! HTML survives, images outside the supplied assets are placeholders, formulas are shown as
//! their source (the page preview shows them typeset). No attribute carries user input except
//! escaped `href`s of allowed schemes, `alt`/`title` text, and `data-line` numbers.

use std::collections::HashMap;
use std::fmt::Write;

use comrak::Arena;
use comrak::nodes::{AstNode, ListType, NodeValue, TableAlignment};

use crate::escape::push_html_escaped;
use crate::frontmatter::FrontMatter;
use crate::links::{Anchors, LinkTarget, classify_link, slug};
use crate::markdown::{collapse_whitespace, parse, plain_text};
use crate::raw_html::{HtmlEvent, HtmlFilter};
use crate::translate::filter_html;
use crate::warning::{WarningKind, Warnings};
use crate::{Preview, RenderError, RenderOptions};

/// Every `id` the preview writes starts with this, so a heading named "Confirm" or "Toasts"
/// can never take the id of one of the page's own elements once the preview is in its DOM.
pub(crate) const ID_PREFIX: &str = "doc-";

pub(crate) fn render_html(markdown: &str, options: &RenderOptions) -> Result<Preview, RenderError> {
    options.limits.check_size(markdown.as_bytes())?;
    let arena = Arena::new();
    let root = parse(&arena, markdown);
    options.limits.check_depth(root)?;
    let mut writer = HtmlWriter::new(root, options.assets.keys().cloned().collect());
    writer.blocks(root);
    let footnotes = std::mem::take(&mut writer.footnote_order);
    if !footnotes.is_empty() {
        writer.out.push_str("<section class=\"footnotes\"><ol>");
        for (number, name) in footnotes.iter().enumerate() {
            let _ = write!(writer.out, "<li id=\"{ID_PREFIX}fn-{}\">", number + 1);
            if let Some(def) = writer.footnotes.get(name).copied() {
                writer.blocks(def);
            }
            writer.out.push_str("</li>");
        }
        writer.out.push_str("</ol></section>");
    }
    Ok(Preview { html: writer.out, warnings: writer.warnings.into_vec() })
}

struct HtmlWriter<'a> {
    out: String,
    warnings: Warnings,
    anchors: Anchors,
    footnotes: HashMap<String, &'a AstNode<'a>>,
    footnote_order: Vec<String>,
    /// The references the caller has images for (the preview shows those).
    images: std::collections::BTreeSet<String>,
}

impl<'a> HtmlWriter<'a> {
    fn new(root: &'a AstNode<'a>, images: std::collections::BTreeSet<String>) -> Self {
        let mut footnotes = HashMap::new();
        for node in root.children() {
            if let NodeValue::FootnoteDefinition(def) = &node.data.borrow().value {
                footnotes.entry(def.name.clone()).or_insert(node);
            }
        }
        Self {
            out: String::new(),
            warnings: Warnings::default(),
            anchors: Anchors::collect(root),
            footnotes,
            footnote_order: Vec::new(),
            images,
        }
    }

    fn line(node: &'a AstNode<'a>) -> usize {
        node.data.borrow().sourcepos.start.line
    }

    fn text(&mut self, text: &str) {
        push_html_escaped(&mut self.out, text);
    }

    fn open(&mut self, tag: &str, node: &'a AstNode<'a>) {
        let _ = write!(self.out, "<{tag} data-line=\"{}\">", Self::line(node));
    }

    fn blocks(&mut self, parent: &'a AstNode<'a>) {
        for child in parent.children() {
            self.block(child);
        }
    }

    fn block(&mut self, node: &'a AstNode<'a>) {
        let value = node.data.borrow().value.clone();
        match value {
            NodeValue::FootnoteDefinition(_) => {}
            NodeValue::FrontMatter(raw) => {
                let front = FrontMatter::parse(&raw, &mut self.warnings);
                if let Some(title) = front.title {
                    self.out.push_str(
                        "<header class=\"front-matter\" data-line=\"1\"><h1 class=\"title\">",
                    );
                    self.text(&title);
                    self.out.push_str("</h1>");
                    if !front.authors.is_empty() || front.date.is_some() {
                        self.out.push_str("<p class=\"byline\">");
                        self.text(&front.authors.join(", "));
                        if let Some(date) = front.date {
                            self.out.push_str(if front.authors.is_empty() { "" } else { " · " });
                            self.text(&date);
                        }
                        self.out.push_str("</p>");
                    }
                    self.out.push_str("</header>");
                }
            }
            NodeValue::Paragraph => {
                self.open("p", node);
                self.inlines(node);
                self.out.push_str("</p>");
            }
            NodeValue::Heading(heading) => {
                let level = heading.level.clamp(1, 6);
                let id = slug(&plain_text(node));
                let _ = write!(
                    self.out,
                    "<h{level} data-line=\"{}\" id=\"{ID_PREFIX}",
                    Self::line(node)
                );
                self.text(&id);
                self.out.push_str("\">");
                self.inlines(node);
                let _ = write!(self.out, "</h{level}>");
            }
            NodeValue::BlockQuote => {
                self.open("blockquote", node);
                self.blocks(node);
                self.out.push_str("</blockquote>");
            }
            NodeValue::List(list) => {
                let tag = if list.list_type == ListType::Ordered { "ol" } else { "ul" };
                let _ = write!(self.out, "<{tag} data-line=\"{}\"", Self::line(node));
                if list.list_type == ListType::Ordered && list.start != 1 {
                    let _ = write!(self.out, " start=\"{}\"", list.start);
                }
                if list.is_task_list {
                    self.out.push_str(" class=\"tasks\"");
                }
                self.out.push('>');
                for item in node.children() {
                    self.open("li", item);
                    if let NodeValue::TaskItem(task) = &item.data.borrow().value {
                        let checked = if task.symbol.is_some() { " checked" } else { "" };
                        let _ = write!(self.out, "<input type=\"checkbox\" disabled{checked}> ");
                    }
                    for child in item.children() {
                        if list.tight && matches!(child.data.borrow().value, NodeValue::Paragraph) {
                            self.inlines(child);
                        } else {
                            self.block(child);
                        }
                    }
                    self.out.push_str("</li>");
                }
                let _ = write!(self.out, "</{tag}>");
            }
            NodeValue::CodeBlock(code) => {
                self.open("pre", node);
                self.out.push_str("<code");
                if let Some(lang) = code.info.split_whitespace().next() {
                    self.out.push_str(" class=\"language-");
                    self.text(lang);
                    self.out.push('"');
                }
                self.out.push('>');
                self.text(&code.literal);
                self.out.push_str("</code></pre>");
            }
            NodeValue::HtmlBlock(html) => {
                self.open("div", node);
                let events =
                    filter_html(&html.literal, Self::line(node), &mut HtmlFilter::default(), true);
                self.html_events(events);
                self.out.push_str("</div>");
            }
            NodeValue::ThematicBreak => self.out.push_str("<hr>"),
            NodeValue::Table(table) => self.table(node, &table.alignments),
            _ => self.inline(node),
        }
    }

    fn table(&mut self, node: &'a AstNode<'a>, alignments: &[TableAlignment]) {
        self.open("table", node);
        for row in node.children() {
            let header = matches!(row.data.borrow().value, NodeValue::TableRow(true));
            let cell_tag = if header { "th" } else { "td" };
            self.open("tr", row);
            for (index, cell) in row.children().enumerate() {
                let align = match alignments.get(index) {
                    Some(TableAlignment::Center) => " class=\"center\"",
                    Some(TableAlignment::Right) => " class=\"right\"",
                    _ => "",
                };
                let _ = write!(self.out, "<{cell_tag}{align}>");
                self.inlines(cell);
                let _ = write!(self.out, "</{cell_tag}>");
            }
            self.out.push_str("</tr>");
        }
        self.out.push_str("</table>");
    }

    fn html_events(&mut self, events: Vec<(usize, HtmlEvent)>) {
        for (line, event) in events {
            match event {
                HtmlEvent::Text(text) => self.text(&text),
                HtmlEvent::Open(style) => {
                    let _ = write!(self.out, "<{}>", style.html_tag());
                }
                HtmlEvent::Close(style) => {
                    let _ = write!(self.out, "</{}>", style.html_tag());
                }
                HtmlEvent::LineBreak | HtmlEvent::BlockBoundary => self.out.push_str("<br>"),
                HtmlEvent::Image { alt } => {
                    self.warnings.push(line, WarningKind::ImageMissing, "an HTML image is shown as its alt text; use markdown image syntax for images beside the document");
                    self.placeholder(&alt);
                }
                HtmlEvent::Dropped(message) => {
                    self.warnings.push(line, WarningKind::HtmlDropped, message)
                }
            }
        }
    }

    fn placeholder(&mut self, alt: &str) {
        self.out.push_str("<span class=\"image-placeholder\">");
        self.text(alt);
        self.out.push_str("</span>");
    }

    fn inlines(&mut self, parent: &'a AstNode<'a>) {
        let mut filter = HtmlFilter::default();
        for child in parent.children() {
            let html = match &child.data.borrow().value {
                NodeValue::HtmlInline(html) => Some(html.clone()),
                _ => None,
            };
            match html {
                Some(html) => {
                    let events = filter_html(&html, Self::line(child), &mut filter, false);
                    self.html_events(events);
                }
                None if filter.is_dropping() => {}
                None => self.inline(child),
            }
        }
        let line = Self::line(parent);
        let mut events = Vec::new();
        filter.finish(&mut |e| events.push((line, e)));
        self.html_events(events);
    }

    fn wrap(&mut self, tag: &str, node: &'a AstNode<'a>) {
        let _ = write!(self.out, "<{tag}>");
        self.inlines(node);
        let _ = write!(self.out, "</{tag}>");
    }

    fn inline(&mut self, node: &'a AstNode<'a>) {
        let value = node.data.borrow().value.clone();
        match value {
            NodeValue::Text(text) => self.text(&text),
            NodeValue::SoftBreak => self.out.push('\n'),
            NodeValue::LineBreak => self.out.push_str("<br>"),
            NodeValue::Code(code) => {
                self.out.push_str("<code>");
                self.text(&code.literal);
                self.out.push_str("</code>");
            }
            NodeValue::Emph => self.wrap("em", node),
            NodeValue::Strong => self.wrap("strong", node),
            NodeValue::Strikethrough => self.wrap("del", node),
            NodeValue::Superscript => self.wrap("sup", node),
            NodeValue::Link(link) => match classify_link(&link.url, &self.anchors) {
                LinkTarget::External(url) => {
                    self.out.push_str("<a href=\"");
                    self.text(&url);
                    self.out.push_str("\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">");
                    if node.children().next().is_some() {
                        self.inlines(node);
                    } else {
                        self.text(&url);
                    }
                    self.out.push_str("</a>");
                }
                LinkTarget::Heading(_) => {
                    self.out.push_str("<a href=\"#");
                    self.out.push_str(ID_PREFIX);
                    self.text(&slug(&crate::links::percent_decode(
                        link.url.trim().trim_start_matches('#'),
                    )));
                    self.out.push_str("\">");
                    self.inlines(node);
                    self.out.push_str("</a>");
                }
                LinkTarget::Refused => {
                    if !link.url.trim().is_empty() {
                        self.warnings.push(Self::line(node), WarningKind::LinkDropped, "a link is shown as plain text (only http, https, mailto and anchors to headings become links)");
                    }
                    self.inlines(node);
                }
            },
            NodeValue::Image(link) => {
                let alt = collapse_whitespace(plain_text(node).trim());
                if self.images.contains(&link.url) {
                    // No URL: the page that shows the preview fetches the image with its own
                    // credentials and sets the source (no token ever appears in a URL).
                    self.out.push_str("<img class=\"doc-image\" data-image=\"");
                    self.text(&link.url);
                    self.out.push_str("\" alt=\"");
                    self.text(&alt);
                    self.out.push_str("\">");
                } else {
                    self.placeholder(if alt.is_empty() { &link.url } else { &alt });
                }
            }
            NodeValue::FootnoteReference(reference) => {
                let number = match self.footnote_order.iter().position(|n| *n == reference.name) {
                    Some(i) => i + 1,
                    None if self.footnotes.contains_key(&reference.name) => {
                        self.footnote_order.push(reference.name.clone());
                        self.footnote_order.len()
                    }
                    None => {
                        self.warnings.push(
                            Self::line(node),
                            WarningKind::FootnoteMissing,
                            "a footnote reference has no definition",
                        );
                        self.text(&format!("[^{}]", reference.name));
                        return;
                    }
                };
                let _ = write!(
                    self.out,
                    "<sup class=\"footnote-ref\"><a href=\"#{ID_PREFIX}fn-{number}\">{number}</a></sup>"
                );
            }
            NodeValue::Math(math) => {
                let class = if math.display_math { "math display" } else { "math inline" };
                let _ = write!(self.out, "<span class=\"{class}\">");
                self.text(&math.literal);
                self.out.push_str("</span>");
            }
            NodeValue::HtmlInline(_) => {}
            _ => {
                let text = plain_text(node);
                self.text(&text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(markdown: &str) -> String {
        render_html(markdown, &RenderOptions::default()).map(|p| p.html).unwrap_or_default()
    }

    #[test]
    fn hostile_html_and_links_are_neutralised() {
        let out = html(
            "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> <a href=\"javascript:x\" onclick=\"y\">t</a>\n",
        );
        assert!(!out.contains("<script"), "{out}");
        assert!(!out.contains("javascript:"), "{out}");
        assert!(!out.contains("onerror"), "{out}");
        assert!(!out.contains("onclick"), "{out}");
        assert!(out.contains(">t<") || out.contains("t</p>"), "{out}");
    }

    #[test]
    fn text_is_escaped_and_links_kept() {
        let out = html("a < b & \"c\" [site](https://example.com/?a=1&b=\"2\")");
        assert!(out.contains("a &lt; b &amp; &quot;c&quot;"), "{out}");
        assert!(out.contains("href=\"https://example.com/?a=1&amp;b=%222%22\""), "{out}");
    }
}
