//! Limits checked before translating (size, depth) and after layout (pages).

use comrak::arena_tree::NodeEdge;
use comrak::nodes::{AstNode, NodeValue};

use crate::RenderError;

/// What a render may cost, bounded by its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest markdown source in bytes (default 512 KiB).
    pub max_source_bytes: usize,
    /// Deepest nesting of quotes and lists (default 32, which Typst lays out); each level of
    /// inline markup nested inside (emphasis, links, headings) counts as half a level.
    pub max_depth: usize,
    /// Most pages after layout (default 500); also checked before layout against the pages the
    /// document opens for sure (page breaks, and chapters in the book theme).
    pub max_pages: usize,
    /// Most table cells in a document (default 50,000). Markdown completes every row to the
    /// header's width, so 8 KB (a header of 2,000 columns over 250 short rows) made 500,000
    /// cells and gigabytes of layout.
    pub max_table_cells: usize,
    /// Most footnote references (default 2,000; 20,000 took 26 s and 1.2 GB to lay out).
    pub max_footnotes: usize,
    /// Most decoded pixels of all images of a document together (default 100 million, 400 MB
    /// as RGBA), checked from the image headers before anything is decoded.
    pub max_image_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_source_bytes: 512 * 1024,
            max_depth: 32,
            max_pages: 500,
            max_table_cells: 50_000,
            max_footnotes: 2_000,
            max_image_pixels: 100_000_000,
        }
    }
}

impl Limits {
    /// Refuses a source larger than the limit (callers can check before any other work).
    pub fn check_size(&self, source: &[u8]) -> Result<(), RenderError> {
        if source.len() > self.max_source_bytes {
            return Err(RenderError::SourceTooLarge {
                size: source.len(),
                limit: self.max_source_bytes,
            });
        }
        Ok(())
    }

    /// Walks the tree without recursion (100,000 nested `>` must not overflow a stack) and
    /// fails at the first node nested deeper than the limit.
    ///
    /// Depth is counted in Typst's terms: Typst stops at 64 nested show rules, a quote or list
    /// level costs two and inline markup one. Allowing `2 × max_depth − 2` keeps every
    /// accepted document within what Typst lays out (31 quotes or lists with the default).
    pub(crate) fn check_depth<'a>(&self, root: &'a AstNode<'a>) -> Result<(), RenderError> {
        let budget = (2 * self.max_depth).saturating_sub(2);
        let mut cost = 0usize;
        for edge in root.traverse() {
            match edge {
                NodeEdge::Start(node) => {
                    cost += typst_cost(&node.data.borrow().value);
                    if cost > budget {
                        let line = node.data.borrow().sourcepos.start.line;
                        return Err(RenderError::NestingTooDeep {
                            depth: cost.div_ceil(2),
                            limit: self.max_depth,
                            line,
                        });
                    }
                }
                NodeEdge::End(node) => cost -= typst_cost(&node.data.borrow().value),
            }
        }
        Ok(())
    }
}

impl Limits {
    /// Bounds what layout will cost, before layout: table cells, footnotes, and the pages the
    /// document surely opens (`chapters_open_pages`: level-1 headings start pages, as in the
    /// book theme). Linear in the tree.
    pub(crate) fn check_cost<'a>(
        &self,
        root: &'a AstNode<'a>,
        chapters_open_pages: bool,
    ) -> Result<(), RenderError> {
        let (mut cells, mut footnotes) = (0usize, 0usize);
        for node in root.descendants() {
            let line = node.data.borrow().sourcepos.start.line;
            match &node.data.borrow().value {
                NodeValue::Table(_) => {
                    let rows = node.children().count();
                    let columns = node.first_child().map_or(0, |row| row.children().count());
                    cells = cells.saturating_add(rows.saturating_mul(columns));
                    if cells > self.max_table_cells {
                        return Err(RenderError::TooComplex {
                            what: format!(
                                "its tables hold more than {} cells (this one: {rows} rows × {columns} columns)",
                                self.max_table_cells
                            ),
                            line,
                        });
                    }
                }
                NodeValue::FootnoteReference(_) => {
                    footnotes += 1;
                    if footnotes > self.max_footnotes {
                        return Err(RenderError::TooComplex {
                            what: format!("it has more than {} footnotes", self.max_footnotes),
                            line,
                        });
                    }
                }
                _ => {}
            }
        }
        // Page breaks are weak (two in a row make one), so count those with content before them.
        let (mut pages, mut content) = (1usize, false);
        for block in root.children() {
            let value = &block.data.borrow().value;
            if matches!(value, NodeValue::FrontMatter(_) | NodeValue::FootnoteDefinition(_)) {
                continue;
            }
            let chapter =
                chapters_open_pages && matches!(value, NodeValue::Heading(h) if h.level == 1);
            if chapter || crate::markdown::is_page_break(block) {
                pages += usize::from(content);
                content = chapter;
            } else {
                content = true;
            }
        }
        if pages > self.max_pages {
            return Err(RenderError::PageLimitExceeded { pages, limit: self.max_pages });
        }
        Ok(())
    }
}

/// How many levels of Typst show rules a node's translation nests (measured).
fn typst_cost(value: &NodeValue) -> usize {
    match value {
        NodeValue::BlockQuote
        | NodeValue::List(_)
        | NodeValue::FootnoteDefinition(_)
        | NodeValue::Table(_) => 2,
        NodeValue::Emph
        | NodeValue::Strong
        | NodeValue::Strikethrough
        | NodeValue::Superscript
        | NodeValue::Link(_)
        | NodeValue::Image(_)
        | NodeValue::Heading(_) => 1,
        _ => 0,
    }
}
