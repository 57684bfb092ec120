//! Link and image policy, and heading anchors, shared by the PDF and the HTML preview.

use std::collections::HashMap;

use comrak::nodes::{AstNode, NodeValue};

use crate::markdown::plain_text;

/// Where a markdown link may lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkTarget {
    /// `http`, `https` or `mailto`: the URL as written.
    External(String),
    /// `#anchor` naming a heading of this document: the heading's index.
    Heading(usize),
    /// Anything else (`javascript:`, `file:`, relative paths, unknown anchors): shown as text.
    Refused,
}

/// Classifies a link URL. Only `http`, `https` and `mailto` links and anchors to headings of
/// this document become links.
pub(crate) fn classify_link(url: &str, anchors: &Anchors) -> LinkTarget {
    let url = url.trim();
    if let Some(fragment) = url.strip_prefix('#') {
        return match anchors.find(fragment) {
            Some(index) => LinkTarget::Heading(index),
            None => LinkTarget::Refused,
        };
    }
    if has_allowed_scheme(url) {
        LinkTarget::External(encode_unsafe(url))
    } else {
        LinkTarget::Refused
    }
}

/// Percent-encodes what may not appear raw in a URL (WHATWG's fragment set plus `\\`, `^`, `|`,
/// `{`, `}` and controls), as browsers do when following such a link. Besides tidier links, it
/// keeps `<` and `"` out of the page SVGs' `href` attributes, which Typst's SVG writer does not
/// fully escape. `&` is left alone (it separates query parameters); the SVG writer's output is
/// fixed for it instead.
fn encode_unsafe(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_control()
            || matches!(c, ' ' | '"' | '<' | '>' | '`' | '{' | '}' | '|' | '\\' | '^')
        {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn has_allowed_scheme(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once(':') else { return false };
    let scheme = scheme.to_ascii_lowercase();
    match scheme.as_str() {
        "http" | "https" => rest.starts_with("//") && rest.len() > 2,
        "mailto" => !rest.is_empty(),
        _ => false,
    }
}

/// Heading anchors, GitHub style: `## Getting started` ↔ `#getting-started`, repeats numbered.
#[derive(Debug, Default)]
pub(crate) struct Anchors {
    by_slug: HashMap<String, usize>,
    /// Heading node (by address) → its index; the index names its label in the output.
    by_node: HashMap<usize, usize>,
}

impl Anchors {
    /// Collects the anchors of every heading in the document body (headings inside footnote
    /// definitions get none: a note is placed where it is referenced, if at all).
    pub(crate) fn collect<'a>(root: &'a AstNode<'a>) -> Self {
        let mut anchors = Self::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut index = 0;
        let body = root
            .children()
            .filter(|n| !matches!(n.data.borrow().value, NodeValue::FootnoteDefinition(_)));
        for node in body.flat_map(|n| n.descendants()) {
            if let NodeValue::Heading(_) = node.data.borrow().value {
                anchors.by_node.insert(std::ptr::from_ref(node) as usize, index);
                let base = slug(&plain_text(node));
                let count = seen.entry(base.clone()).or_insert(0);
                let slug = if *count == 0 { base } else { format!("{base}-{count}") };
                *count += 1;
                anchors.by_slug.entry(slug).or_insert(index);
                index += 1;
            }
        }
        anchors
    }

    /// The anchor index of a heading node, if it has one.
    pub(crate) fn of_node<'a>(&self, node: &'a AstNode<'a>) -> Option<usize> {
        self.by_node.get(&(std::ptr::from_ref(node) as usize)).copied()
    }

    /// The heading index an anchor names, matching GitHub's slugs (and, leniently, the
    /// fragment's own slug, so `#Getting-Started` works too).
    pub(crate) fn find(&self, fragment: &str) -> Option<usize> {
        let decoded = percent_decode(fragment);
        self.by_slug.get(decoded.as_str()).or_else(|| self.by_slug.get(&slug(&decoded))).copied()
    }
}

/// GitHub's heading slug: lowercase, punctuation removed, spaces to `-`.
pub(crate) fn slug(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().collect::<String>())
            } else if c == ' ' {
                Some("-".to_owned())
            } else {
                None
            }
        })
        .collect()
}

/// Decodes `%XX` escapes (invalid ones are kept as written).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The relative path an image reference names beside the document, percent-decoded — or `None`
/// when it is a URL, absolute, or climbs out with `..`. Callers that load assets use this to
/// refuse paths that leave the document's folder before touching the file system (and should
/// still check the canonical path, for symlinks).
pub fn local_image_path(reference: &str) -> Option<String> {
    let decoded = percent_decode(reference.trim());
    let refused = decoded.is_empty()
        || decoded.starts_with('/')
        || decoded.starts_with('\\')
        || decoded.contains(':')
        || decoded.contains('\0')
        || decoded.split(['/', '\\']).any(|part| part == "..");
    (!refused).then_some(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_https_mailto_are_external_links() {
        let anchors = Anchors::default();
        assert_eq!(
            classify_link("https://example.com", &anchors),
            LinkTarget::External("https://example.com".into())
        );
        assert!(matches!(classify_link("HTTP://x.org/a", &anchors), LinkTarget::External(_)));
        assert!(matches!(classify_link("mailto:a@b.c", &anchors), LinkTarget::External(_)));
        for refused in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,x",
            "docs/a.md",
            "//evil",
            "http:",
            "#nowhere",
            "vbscript:x",
        ] {
            assert_eq!(classify_link(refused, &anchors), LinkTarget::Refused, "{refused}");
        }
    }

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug("Getting Started!"), "getting-started");
        assert_eq!(slug("API v2 — `query`"), "api-v2--query");
        assert_eq!(slug("Über Straße"), "über-straße");
    }

    #[test]
    fn local_image_paths_stay_inside_the_folder() {
        assert_eq!(local_image_path("img/a.png").as_deref(), Some("img/a.png"));
        assert_eq!(local_image_path("my%20a.png").as_deref(), Some("my a.png"));
        for bad in [
            "../a.png",
            "img/../../a.png",
            "%2e%2e/a.png",
            "/etc/passwd",
            "%2fetc/passwd",
            "C:\\x.png",
            "https://x/a.png",
            "a\\..\\..\\b.png",
            "",
        ] {
            assert_eq!(local_image_path(bad), None, "{bad}");
        }
    }
}
