//! Markdown AST → Typst markup.
//!
//! The one rule that makes this injection-proof: user text only ever appears inside Typst string
//! literals (`#"…"`), URLs and code too. Everything outside string literals is written by this
//! module from a fixed vocabulary (`#strong[`, `#heading(level: 2)[`, …) or is math that passed
//! [`crate::math`]'s allow-list. A string literal in markup shows its text verbatim, whatever it
//! contains.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use comrak::Arena;
use comrak::nodes::{AstNode, ListDelimType, ListType, NodeValue, TableAlignment};

use crate::escape::{push_str_literal, str_literal};
use crate::frontmatter::FrontMatter;
use crate::links::{Anchors, LinkTarget, classify_link};
use crate::markdown::{
    collapse_whitespace, is_page_break_comment, is_page_break_paragraph, parse, plain_text,
};
use crate::raw_html::{HtmlEvent, HtmlFilter, Style, tokenize};
use crate::warning::{Warning, WarningKind, Warnings};
use crate::world::TEMPLATE_PATH;
use crate::{RenderError, RenderOptions, math};

/// The longest title kept, in characters (DESIGN.md).
pub const MAX_TITLE_CHARS: usize = 300;

/// Typst source generated from markdown, with what the compiler needs to go with it.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The main Typst source. It imports folio's template and holds the document.
    pub source: String,
    /// The document title (options, else front matter, else first heading, else "Untitled").
    pub title: String,
    /// Warnings found while translating, with markdown lines.
    pub warnings: Vec<Warning>,
    /// Images the source refers to, by the virtual path the world serves them under.
    pub(crate) files: BTreeMap<String, Vec<u8>>,
    /// Byte offsets in `source` where each markdown line's output starts (sorted).
    pub(crate) source_map: Vec<(usize, usize)>,
    /// Parts that may fail inside Typst (formulas, images) and have a safe fallback.
    pub(crate) fragments: Vec<Fragment>,
    /// The front matter gave a calendar date, which becomes the PDF's creation date.
    pub(crate) dated: bool,
}

/// A part of the output that can fail inside Typst and be replaced by a fallback.
#[derive(Debug, Clone)]
pub(crate) struct Fragment {
    /// Byte range in the source.
    pub range: std::ops::Range<usize>,
    /// What it is, for the warning.
    pub what: FragmentKind,
}

/// Kinds of fallible fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FragmentKind {
    Math,
    Image,
}

impl Translation {
    /// The markdown line that produced the given byte offset of the source.
    pub(crate) fn line_at(&self, offset: usize) -> Option<usize> {
        let index = self.source_map.partition_point(|(start, _)| *start <= offset);
        index.checked_sub(1).map(|i| self.source_map[i].1)
    }
}

/// Where the world serves the markdown source when it is attached to the PDF.
const SOURCE_PATH: &str = "/source.md";

/// Translates markdown to Typst. Checks the size and depth limits first.
pub fn translate(markdown: &str, options: &RenderOptions) -> Result<Translation, RenderError> {
    translate_with_fallbacks(markdown, options, &Fallbacks::default())
}

/// What an earlier attempt showed must be rendered the safe way.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fallbacks {
    /// Fragments (formulas, images) that Typst rejected: shown by their fallback.
    pub fragments: HashSet<usize>,
    /// Typst's optimized line breaking failed on this document: break lines greedily.
    pub simple_linebreaks: bool,
}

/// Translates, replacing the fragments numbered in `fallbacks` by their safe fallback (used
/// when Typst rejected them in an earlier attempt).
pub(crate) fn translate_with_fallbacks(
    markdown: &str,
    options: &RenderOptions,
    fallbacks: &Fallbacks,
) -> Result<Translation, RenderError> {
    options.check()?;
    options.limits.check_size(markdown.as_bytes())?;
    let arena = Arena::new();
    let root = parse(&arena, markdown);
    options.limits.check_depth(root)?;
    if !has_content(root) {
        return Err(RenderError::Empty);
    }
    let mut translator = Translator::new(root, options, &fallbacks.fragments);
    let front = translator.front_matter(root);
    let book = options.theme.or(front.theme).unwrap_or_default() == crate::Theme::Book;
    options.limits.check_cost(root, book)?;
    let title = choose_title(options.title.as_deref(), front.title.as_deref(), root);
    let dated = translator.preamble(markdown, &front, &title, options, fallbacks.simple_linebreaks);
    translator.blocks(root);
    translator.keywords(markdown, &front);
    if let Some(too_complex) = translator.too_complex.take() {
        return Err(too_complex);
    }
    let Translator { out, warnings, source_map, files, fragments, .. } = translator;
    Ok(Translation {
        source: out,
        title,
        warnings: warnings.into_vec(),
        files,
        source_map,
        fragments,
        dated,
    })
}

/// An image a document refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// The reference as written (the key to use in [`crate::Assets`]).
    pub url: String,
    /// The markdown line of its first use.
    pub line: usize,
}

/// The image references of a document, in order, without repeats: what a caller may want to
/// supply as [`crate::Assets`].
pub fn image_references(markdown: &str) -> Vec<ImageReference> {
    let arena = Arena::new();
    let root = parse(&arena, markdown);
    let mut seen = HashSet::new();
    let mut refs = Vec::new();
    for node in root.descendants() {
        let data = node.data.borrow();
        if let NodeValue::Image(link) = &data.value
            && seen.insert(link.url.clone())
        {
            refs.push(ImageReference { url: link.url.clone(), line: data.sourcepos.start.line });
        }
    }
    refs
}

fn has_content<'a>(root: &'a AstNode<'a>) -> bool {
    root.children().any(|child| match &child.data.borrow().value {
        NodeValue::FrontMatter(_) => false,
        NodeValue::HtmlBlock(html) => !html.literal.trim().is_empty(),
        _ => true,
    })
}

fn choose_title<'a>(explicit: Option<&str>, front: Option<&str>, root: &'a AstNode<'a>) -> String {
    let from_heading = || {
        root.descendants()
            .find(|n| matches!(n.data.borrow().value, NodeValue::Heading(_)))
            .map(plain_text)
    };
    let title = [explicit.map(str::to_owned), front.map(str::to_owned)]
        .into_iter()
        .flatten()
        .chain(from_heading())
        .map(|t| collapse_whitespace(t.trim()))
        .find(|t| !t.is_empty())
        .unwrap_or_else(|| "Untitled".to_owned());
    title.chars().take(MAX_TITLE_CHARS).collect()
}

struct Translator<'a, 'o> {
    out: String,
    warnings: Warnings,
    source_map: Vec<(usize, usize)>,
    options: &'o RenderOptions,
    anchors: Anchors,
    footnotes: HashMap<String, &'a AstNode<'a>>,
    /// Footnotes already placed: name → label number, so later references reuse the note.
    footnote_labels: HashMap<String, usize>,
    /// Footnotes being expanded (a definition that refers to itself must not loop).
    footnotes_open: Vec<String>,
    files: BTreeMap<String, Vec<u8>>,
    image_paths: HashMap<String, String>,
    /// Decoded pixels of the distinct images so far (from their headers).
    image_pixels: u64,
    /// The first limit passed while translating (images' pixels): the render fails with it.
    too_complex: Option<RenderError>,
    fragments: Vec<Fragment>,
    fallbacks: &'o HashSet<usize>,
}

impl<'a, 'o> Translator<'a, 'o> {
    fn new(
        root: &'a AstNode<'a>,
        options: &'o RenderOptions,
        fallbacks: &'o HashSet<usize>,
    ) -> Self {
        let mut footnotes = HashMap::new();
        for node in root.children() {
            if let NodeValue::FootnoteDefinition(def) = &node.data.borrow().value {
                footnotes.entry(def.name.clone()).or_insert(node);
            }
        }
        Self {
            out: String::with_capacity(4096),
            warnings: Warnings::default(),
            source_map: Vec::new(),
            options,
            anchors: Anchors::collect(root),
            footnotes,
            footnote_labels: HashMap::new(),
            footnotes_open: Vec::new(),
            files: BTreeMap::new(),
            image_paths: HashMap::new(),
            image_pixels: 0,
            too_complex: None,
            fragments: Vec::new(),
            fallbacks,
        }
    }

    fn front_matter(&mut self, root: &'a AstNode<'a>) -> FrontMatter {
        root.children()
            .find_map(|n| match &n.data.borrow().value {
                NodeValue::FrontMatter(raw) => Some(raw.clone()),
                _ => None,
            })
            .map(|raw| FrontMatter::parse(&raw, &mut self.warnings))
            .unwrap_or_default()
    }

    fn preamble(
        &mut self,
        markdown: &str,
        front: &FrontMatter,
        title: &str,
        options: &RenderOptions,
        simple_linebreaks: bool,
    ) -> bool {
        let paper = options.paper.or(front.paper).unwrap_or_default();
        let toc = options.toc.or(front.toc).unwrap_or(false);
        let theme = options.theme.or(front.theme).unwrap_or_default();
        let numbering = options.numbering.or(front.numbering);
        let font_size = options.font_size.or(front.font_size);
        let margin_mm = options.margin_mm.or(front.margin_mm);
        let lang = front.lang.as_deref().unwrap_or("en");
        let out = &mut self.out;
        out.push_str("// Generated by folio. User text appears only inside string literals.\n");
        let _ = writeln!(out, "#import {}: *", str_literal(TEMPLATE_PATH));
        out.push_str("#show: folio-document.with(\n");
        let _ = writeln!(out, "  title: {},", str_literal(title));
        let show_title = front.title.is_some() || !front.authors.is_empty();
        let _ = writeln!(out, "  show-title: {show_title},");
        out.push_str("  authors: (");
        for author in &front.authors {
            push_str_literal(out, author);
            out.push_str(", ");
        }
        out.push_str("),\n");
        let mut dated = false;
        if let Some(date) = &front.date {
            let _ = writeln!(out, "  date: {},", str_literal(date));
            if let Some((year, month, day)) = calendar_date(date) {
                dated = true;
                let _ = writeln!(
                    out,
                    "  metadata-date: datetime(year: {year}, month: {month}, day: {day}),"
                );
            }
        }
        let _ = writeln!(out, "  paper: {},", str_literal(paper.name()));
        let _ = writeln!(out, "  theme: {},", str_literal(theme.name()));
        if let Some(numbering) = numbering {
            let _ = writeln!(out, "  numbering: {numbering},");
        }
        if let Some(mm) = margin_mm {
            let _ = writeln!(out, "  margin: {mm}mm,");
        }
        if let Some(size) = font_size {
            let _ = writeln!(out, "  font-size: {size}pt,");
        }
        let _ = writeln!(out, "  lang: {},", str_literal(lang));
        let _ = writeln!(out, "  toc: {toc},");
        if simple_linebreaks {
            out.push_str("  simple-linebreaks: true,\n");
        }
        out.push_str(")\n\n");
        if options.attach_source {
            self.files.insert(SOURCE_PATH.to_owned(), markdown.as_bytes().to_vec());
            let _ = writeln!(
                self.out,
                "#pdf.attach({}, relationship: \"source\", mime-type: \"text/markdown\", description: \"The markdown this PDF was made from\")\n",
                str_literal(SOURCE_PATH)
            );
        }
        dated
    }

    /// Provenance: the source's digest and the engines, beside the author's own keywords. Set
    /// at the very end, not in the preamble: an edit changes the digest, and a change in the
    /// template's arguments would restyle — and re-lay out — the whole document, where a
    /// change at the end leaves every paragraph's cached layout usable (the live preview).
    fn keywords(&mut self, markdown: &str, front: &FrontMatter) {
        let out = &mut self.out;
        out.push_str("\n#set document(keywords: (");
        for keyword in &front.keywords {
            push_str_literal(out, keyword);
            out.push_str(", ");
        }
        let versions = crate::engine_versions();
        let digest = sha256_hex(markdown.as_bytes());
        let _ = writeln!(
            out,
            "\"folio-source-sha256:{digest}\", \"folio {}\", \"typst {}\"))",
            versions.folio_render, versions.typst
        );
    }

    fn mark(&mut self, node: &'a AstNode<'a>) {
        let line = node.data.borrow().sourcepos.start.line;
        if self.source_map.last().is_none_or(|(_, l)| *l != line) {
            self.source_map.push((self.out.len(), line));
        }
    }

    fn line(node: &'a AstNode<'a>) -> usize {
        node.data.borrow().sourcepos.start.line
    }

    // ---- blocks -------------------------------------------------------------------------

    /// Emits the block children of `parent`, separated by paragraph breaks.
    fn blocks(&mut self, parent: &'a AstNode<'a>) {
        for child in parent.children() {
            self.block(child);
        }
    }

    fn block(&mut self, node: &'a AstNode<'a>) {
        self.mark(node);
        let value = node.data.borrow().value.clone();
        match value {
            NodeValue::FrontMatter(_) | NodeValue::FootnoteDefinition(_) => return,
            NodeValue::Paragraph if is_page_break_paragraph(node) => {
                self.out.push_str("#folio-pagebreak()");
            }
            NodeValue::Paragraph => self.inlines(node),
            NodeValue::HtmlBlock(html) if is_page_break_comment(&html.literal) => {
                self.out.push_str("#folio-pagebreak()");
            }
            NodeValue::Heading(heading) => {
                let level = heading.level.clamp(1, 6);
                let _ = write!(self.out, "#heading(level: {level})[");
                self.inlines(node);
                self.out.push(']');
                if let Some(index) = self.anchors.of_node(node) {
                    let _ = write!(self.out, "<folio-heading-{index}>");
                }
            }
            NodeValue::BlockQuote => {
                self.out.push_str("#quote(block: true)[\n");
                self.blocks(node);
                self.out.push(']');
            }
            NodeValue::List(list) => self.list(node, &list),
            NodeValue::Item(_) | NodeValue::TaskItem(_) => {
                // Items outside a list do not occur in comrak's trees; keep their content.
                self.blocks(node);
            }
            NodeValue::CodeBlock(code) => {
                self.out.push_str("#raw(block: true, ");
                if let Some(lang) = code_language(&code.info) {
                    let _ = write!(self.out, "lang: {}, ", str_literal(lang));
                }
                let text = code.literal.strip_suffix('\n').unwrap_or(&code.literal);
                push_str_literal(&mut self.out, text);
                self.out.push(')');
            }
            NodeValue::HtmlBlock(html) => self.html_block(&html.literal, Self::line(node)),
            NodeValue::ThematicBreak => self.out.push_str("#folio-rule()"),
            NodeValue::Table(table) => self.table(node, &table.alignments),
            NodeValue::Document => self.blocks(node),
            _ => {
                // Inline content in block position (not produced by the parser, but harmless).
                self.inline(node);
            }
        }
        self.out.push_str("\n\n");
    }

    fn list(&mut self, node: &'a AstNode<'a>, list: &comrak::nodes::NodeList) {
        let tight = list.tight;
        match list.list_type {
            ListType::Bullet => {
                let _ = write!(self.out, "#list(tight: {tight}");
                if list.is_task_list {
                    self.out.push_str(", marker: []");
                }
            }
            ListType::Ordered => {
                let numbering = match list.delimiter {
                    ListDelimType::Paren => "1)",
                    ListDelimType::Period => "1.",
                };
                let _ = write!(
                    self.out,
                    "#enum(tight: {tight}, numbering: {}, start: {}",
                    str_literal(numbering),
                    list.start.min(1_000_000_000)
                );
            }
        }
        self.out.push(')');
        for item in node.children() {
            self.mark(item);
            self.out.push('[');
            if let NodeValue::TaskItem(task) = &item.data.borrow().value {
                let checked = task.symbol.is_some();
                let _ = write!(self.out, "#folio-task({checked}) ");
            }
            let mut first = true;
            for child in item.children() {
                if !first {
                    self.out.push_str("\n\n");
                }
                first = false;
                if tight && matches!(child.data.borrow().value, NodeValue::Paragraph) {
                    self.mark(child);
                    self.inlines(child);
                } else {
                    self.block(child);
                }
            }
            self.out.push(']');
        }
    }

    fn table(&mut self, node: &'a AstNode<'a>, alignments: &[TableAlignment]) {
        let columns = alignments.len().max(1);
        let _ = write!(self.out, "#table(columns: {columns}, align: (");
        for alignment in alignments {
            self.out.push_str(match alignment {
                TableAlignment::Left | TableAlignment::None => "left",
                TableAlignment::Center => "center",
                TableAlignment::Right => "right",
            });
            self.out.push_str(", ");
        }
        self.out.push_str("),\n");
        for row in node.children() {
            self.mark(row);
            let header = matches!(row.data.borrow().value, NodeValue::TableRow(true));
            self.out.push_str(if header { "  table.header(" } else { "  " });
            let mut cells = 0;
            for cell in row.children().take(columns) {
                self.out.push('[');
                self.inlines(cell);
                self.out.push_str("], ");
                cells += 1;
            }
            for _ in cells..columns {
                self.out.push_str("[], ");
            }
            self.out.push_str(if header { "),\n" } else { "\n" });
        }
        self.out.push(')');
    }

    fn html_block(&mut self, html: &str, line: usize) {
        let events = filter_html(html, line, &mut HtmlFilter::default(), true);
        self.html_events(events, true);
    }

    /// Emits filtered HTML events. In block context a block boundary is a paragraph break.
    fn html_events(&mut self, events: Vec<(usize, HtmlEvent)>, block: bool) {
        let mut at_break = true;
        for (line, event) in events {
            match event {
                HtmlEvent::Text(text) => {
                    let text = collapse_whitespace(&text);
                    let text = if at_break { text.trim_start().to_owned() } else { text };
                    if !text.is_empty() {
                        self.text(&text);
                        at_break = false;
                    }
                }
                HtmlEvent::Open(style) => self.out.push_str(style_open(style)),
                HtmlEvent::Close(_) => self.out.push(']'),
                HtmlEvent::LineBreak => {
                    self.out.push_str("#linebreak()");
                    at_break = true;
                }
                HtmlEvent::BlockBoundary => {
                    if block {
                        self.out.push_str("\n\n");
                    } else {
                        self.out.push(' ');
                    }
                    at_break = true;
                }
                HtmlEvent::Image { alt } => {
                    self.warnings.push(line, WarningKind::ImageMissing, "an HTML image is shown as its alt text; use markdown image syntax for images beside the document");
                    self.out.push_str("#folio-missing-image(");
                    push_str_literal(&mut self.out, &alt);
                    self.out.push(')');
                    at_break = false;
                }
                HtmlEvent::Dropped(message) => {
                    self.warnings.push(line, WarningKind::HtmlDropped, message)
                }
            }
        }
    }

    // ---- inlines ------------------------------------------------------------------------

    /// Emits the inline children of `parent`. Raw inline HTML tags among them are interpreted
    /// with one filter, so `<sup>…</sup>` around markdown nodes styles them and `<script>…`
    /// drops them.
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
                    self.html_events(events, false);
                }
                None if filter.is_dropping() => {}
                None => self.inline(child),
            }
        }
        let line = Self::line(parent);
        let mut events = Vec::new();
        filter.finish(&mut |e| events.push((line, e)));
        self.html_events(events, false);
    }

    fn inline(&mut self, node: &'a AstNode<'a>) {
        let value = node.data.borrow().value.clone();
        match value {
            NodeValue::Text(text) => self.text(&collapse_whitespace(&text)),
            NodeValue::SoftBreak => self.out.push(' '),
            NodeValue::LineBreak => self.out.push_str("#linebreak()"),
            NodeValue::Code(code) => {
                self.out.push_str("#raw(");
                push_str_literal(&mut self.out, &code.literal);
                self.out.push(')');
            }
            NodeValue::Emph => self.wrap("#emph[", node),
            NodeValue::Strong => self.wrap("#strong[", node),
            NodeValue::Strikethrough => self.wrap("#strike[", node),
            NodeValue::Superscript => self.wrap("#super[", node),
            NodeValue::Link(link) => self.link(node, &link.url),
            NodeValue::Image(link) => self.image(node, &link.url),
            NodeValue::FootnoteReference(reference) => self.footnote(node, &reference.name),
            NodeValue::Math(m) => self.math(node, &m.literal, m.display_math),
            NodeValue::HtmlInline(_) => {}
            NodeValue::Escaped => self.inlines(node),
            _ => {
                // Anything else the parser may produce: keep its words.
                let text = plain_text(node);
                if !text.is_empty() {
                    self.text(&text);
                }
            }
        }
    }

    fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.out.push('#');
        push_str_literal(&mut self.out, text);
    }

    fn wrap(&mut self, open: &str, node: &'a AstNode<'a>) {
        self.out.push_str(open);
        self.inlines(node);
        self.out.push(']');
    }

    fn link(&mut self, node: &'a AstNode<'a>, url: &str) {
        let has_text = node.children().next().is_some();
        match classify_link(url, &self.anchors) {
            LinkTarget::External(url) => {
                self.out.push_str("#link(");
                push_str_literal(&mut self.out, &url);
                self.out.push_str(")[");
                if has_text {
                    self.inlines(node);
                } else {
                    self.text(&url);
                }
                self.out.push(']');
            }
            LinkTarget::Heading(index) => {
                let _ = write!(self.out, "#link(<folio-heading-{index}>)[");
                self.inlines(node);
                self.out.push(']');
            }
            LinkTarget::Refused => {
                if !url.trim().is_empty() {
                    self.warnings.push(
                        Self::line(node),
                        WarningKind::LinkDropped,
                        format!("the link to {:?} is shown as plain text (only http, https, mailto and anchors to headings become links)", truncate(url, 80)),
                    );
                }
                self.inlines(node);
            }
        }
    }

    fn image(&mut self, node: &'a AstNode<'a>, url: &str) {
        let alt = collapse_whitespace(plain_text(node).trim());
        let line = Self::line(node);
        let index = self.fragments.len();
        let start = self.out.len();
        let path = if self.fallbacks.contains(&index) {
            self.warnings.push(
                line,
                WarningKind::ImageMissing,
                format!(
                    "the image {:?} could not be decoded; a placeholder is shown",
                    truncate(url, 80)
                ),
            );
            None
        } else {
            self.asset_path(url, line)
        };
        match path {
            Some((path, format)) => {
                let _ = write!(
                    self.out,
                    "#folio-image({}, {}, ",
                    str_literal(&path),
                    str_literal(format)
                );
                push_str_literal(&mut self.out, &alt);
                self.out.push(')');
            }
            None => {
                self.out.push_str("#folio-missing-image(");
                push_str_literal(&mut self.out, if alt.is_empty() { url } else { &alt });
                self.out.push(')');
            }
        }
        self.fragments.push(Fragment { range: start..self.out.len(), what: FragmentKind::Image });
    }

    /// The virtual path of a supplied image, or `None` (with a warning) when it is not
    /// supplied or not an image folio can show.
    fn asset_path(&mut self, url: &str, line: usize) -> Option<(String, &'static str)> {
        let Some(bytes) = self.options.assets.get(url) else {
            let message = if url.contains("://") || url.starts_with("//") {
                format!(
                    "remote images are never fetched; {:?} is shown as a placeholder",
                    truncate(url, 80)
                )
            } else {
                format!(
                    "the image {:?} was not supplied; a placeholder is shown",
                    truncate(url, 80)
                )
            };
            self.warnings.push(line, WarningKind::ImageMissing, message);
            return None;
        };
        let Some(format) = sniff_image_format(bytes) else {
            self.warnings.push(
                line,
                WarningKind::ImageMissing,
                format!(
                    "{:?} is not a PNG, JPEG, GIF, WebP or SVG image; a placeholder is shown",
                    truncate(url, 80)
                ),
            );
            return None;
        };
        // Pixels are counted from the header before anything is decoded: a small file can
        // decode to gigapixels. Each distinct image counts once.
        if !self.image_paths.contains_key(url) && format != "svg" {
            let pixels = raster_pixels(bytes).unwrap_or(0);
            self.image_pixels = self.image_pixels.saturating_add(pixels);
            if self.image_pixels > self.options.limits.max_image_pixels {
                self.too_complex.get_or_insert(RenderError::TooComplex {
                    what: format!(
                        "its images decode to more than {} million pixels ({:?} alone has {} million)",
                        self.options.limits.max_image_pixels / 1_000_000,
                        truncate(url, 80),
                        pixels / 1_000_000
                    ),
                    line,
                });
                return None;
            }
        }
        if let Err(reason) = decode_image(bytes, format) {
            let url = truncate(url, 80);
            let message = format!(
                "the image {url:?} could not be decoded ({reason}); a placeholder is shown"
            );
            self.warnings.push(line, WarningKind::ImageMissing, message);
            return None;
        }
        let next = self.image_paths.len();
        let path = self
            .image_paths
            .entry(url.to_owned())
            .or_insert_with(|| format!("/assets/{next}.{format}"))
            .clone();
        self.files.entry(path.clone()).or_insert_with(|| bytes.clone());
        Some((path, format))
    }

    fn footnote(&mut self, node: &'a AstNode<'a>, name: &str) {
        if let Some(label) = self.footnote_labels.get(name) {
            let _ = write!(self.out, "#footnote(<folio-footnote-{label}>)");
            return;
        }
        let Some(definition) = self.footnotes.get(name).copied() else {
            self.warnings.push(
                Self::line(node),
                WarningKind::FootnoteMissing,
                format!("the footnote [^{}] has no definition", truncate(name, 40)),
            );
            self.text(&format!("[^{name}]"));
            return;
        };
        if !self.footnotes_open.is_empty() {
            // Typst does not nest footnotes; a reference inside a note shows its name.
            self.text(&format!("[^{name}]"));
            return;
        }
        let label = self.footnote_labels.len();
        self.footnote_labels.insert(name.to_owned(), label);
        self.footnotes_open.push(name.to_owned());
        // The note's text comes from its definition's lines; what follows the note is the
        // referencing block's again (warnings and the page preview's lines say so).
        let resume = self.source_map.last().map(|(_, line)| *line);
        self.out.push_str("#footnote[");
        let mut first = true;
        for child in definition.children() {
            if !first {
                self.out.push_str("\n\n");
            }
            first = false;
            if matches!(child.data.borrow().value, NodeValue::Paragraph) {
                self.mark(child);
                self.inlines(child);
            } else {
                self.block(child);
            }
        }
        let _ = write!(self.out, "]<folio-footnote-{label}>");
        self.footnotes_open.pop();
        if let Some(line) =
            resume.filter(|line| self.source_map.last().is_some_and(|(_, l)| l != line))
        {
            self.source_map.push((self.out.len(), line));
        }
    }

    fn math(&mut self, node: &'a AstNode<'a>, latex: &str, display: bool) {
        let line = Self::line(node);
        let index = self.fragments.len();
        let start = self.out.len();
        let converted = if self.fallbacks.contains(&index) {
            Err("Typst could not typeset the converted formula".to_owned())
        } else {
            math::latex_to_typst(latex)
        };
        match converted {
            Ok(typst) => {
                self.out.push_str(if display { "$ " } else { "$" });
                self.out.push_str(&typst);
                self.out.push_str(if display { " $" } else { "$" });
            }
            Err(reason) => {
                self.warnings.push(
                    line,
                    WarningKind::MathFallback,
                    format!("a formula is shown as code: {reason}"),
                );
                let delimiter = if display { "$$" } else { "$" };
                let _ = write!(
                    self.out,
                    "#folio-math-fallback({}, {display})",
                    str_literal(&format!("{delimiter}{latex}{delimiter}"))
                );
            }
        }
        self.fragments.push(Fragment { range: start..self.out.len(), what: FragmentKind::Math });
    }
}

/// Runs raw HTML through the policy filter, giving each event the markdown line of the token
/// that caused it. With `finish`, elements left open are closed at the end.
pub(crate) fn filter_html(
    html: &str,
    first_line: usize,
    filter: &mut HtmlFilter,
    finish: bool,
) -> Vec<(usize, HtmlEvent)> {
    let mut events = Vec::new();
    let mut line = first_line;
    let mut seen = 0;
    for (offset, token) in tokenize(html) {
        line += html[seen..offset].matches('\n').count();
        seen = offset;
        filter.feed(token, &mut |e| events.push((line, e)));
    }
    if finish {
        filter.finish(&mut |e| events.push((line, e)));
    }
    events
}

/// Opening markup for an inline style from raw HTML.
fn style_open(style: Style) -> &'static str {
    match style {
        Style::Sup => "#super[",
        Style::Sub => "#sub[",
        Style::Kbd => "#folio-kbd[",
        Style::Strong => "#strong[",
        Style::Emph => "#emph[",
        Style::Code => "#folio-mono[",
        Style::Strike => "#strike[",
        Style::Underline => "#underline[",
        Style::Mark => "#highlight[",
    }
}

/// The language of a fenced code block, if its info string names a plausible one.
fn code_language(info: &str) -> Option<&str> {
    let lang = info.split_whitespace().next()?;
    let lang = lang.trim_start_matches('{').trim_start_matches('.').trim_end_matches('}');
    (!lang.is_empty()
        && lang.len() <= 32
        && lang.chars().all(|c| c.is_ascii_alphanumeric() || "+#-_.".contains(c)))
    .then_some(lang)
}

/// Recognises the image formats Typst can show from their first bytes.
fn sniff_image_format(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
        let head = head.trim_start_matches('\u{feff}').trim_start();
        (head.starts_with('<') && head.contains("<svg")).then_some("svg")
    }
}

/// The pixel count of a raster image, read from its header only (no decoding).
fn raster_pixels(bytes: &[u8]) -> Option<u64> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?;
    let (width, height) = reader.into_dimensions().ok()?;
    Some(u64::from(width) * u64::from(height))
}

/// Decodes an image the way Typst will (the decoders are memoized, so the later layout reuses
/// this work), so that a corrupt image becomes a placeholder instead of failing the document.
fn decode_image(bytes: &[u8], format: &str) -> Result<(), String> {
    use typst::foundations::{Bytes, Smart};
    use typst::visualize::{ExchangeFormat, RasterImage, SvgImage};
    let data = Bytes::new(bytes.to_vec());
    let raster = match format {
        "png" => ExchangeFormat::Png,
        "jpg" => ExchangeFormat::Jpg,
        "gif" => ExchangeFormat::Gif,
        "webp" => ExchangeFormat::Webp,
        _ => return SvgImage::new(data).map(drop).map_err(|e| format!("{e:?}")),
    };
    RasterImage::new(data, raster, Smart::Auto).map(drop).map_err(|e| e.to_string())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut t: String = text.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// Lowercase hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `YYYY-MM-DD` at the start of a front matter date, when it names a real day.
fn calendar_date(text: &str) -> Option<(u16, u8, u8)> {
    let head = text.trim().get(..10)?;
    let mut parts = head.split('-');
    let year: u16 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1000..=9999).contains(&year) && (1..=days_in_month).contains(&day))
        .then_some((year, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_languages_are_plain_names() {
        assert_eq!(code_language("rust"), Some("rust"));
        assert_eq!(code_language("c++ title=x"), Some("c++"));
        assert_eq!(code_language("{.python}"), Some("python"));
        assert_eq!(code_language("\")#read(\""), None);
        assert_eq!(code_language(""), None);
    }

    #[test]
    fn image_formats_are_sniffed_not_trusted_from_names() {
        assert_eq!(sniff_image_format(b"\x89PNG\r\n\x1a\nrest"), Some("png"));
        assert_eq!(sniff_image_format(b"<?xml version='1.0'?><svg xmlns=''/>"), Some("svg"));
        assert_eq!(sniff_image_format(b"#read(\"/etc/passwd\")"), None);
    }

    #[test]
    fn titles_fall_back_in_order_and_are_capped() {
        let opts = RenderOptions::default();
        let t = translate("# First *heading*\n\ntext", &opts).map(|t| t.title);
        assert_eq!(t.as_deref(), Ok("First heading"));
        let t = translate("---\ntitle: From front\n---\n# H", &opts).map(|t| t.title);
        assert_eq!(t.as_deref(), Ok("From front"));
        let t = translate("just text", &opts).map(|t| t.title);
        assert_eq!(t.as_deref(), Ok("Untitled"));
        let long = RenderOptions { title: Some("x".repeat(1000)), ..Default::default() };
        assert_eq!(translate("a", &long).map(|t| t.title.chars().count()), Ok(MAX_TITLE_CHARS));
    }
}
