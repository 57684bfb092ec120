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
    /// Most pages after layout (default 500).
    pub max_pages: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_source_bytes: 512 * 1024, max_depth: 32, max_pages: 500 }
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
