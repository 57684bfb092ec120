//! The fuzz targets' entry functions (`fuzz/`), here so the ordinary `cargo test` build replays
//! the committed corpora and every crash found through exactly the code the fuzzer ran
//! (`tests/render/fuzz_corpus.rs`). Each takes raw bytes and panics when a property breaks;
//! the fuzzer's own time and memory caps (`-timeout`, `-rss_limit_mb`) turn hangs and blow-ups
//! into crashes too.

use std::collections::HashSet;
use std::sync::LazyLock;

use typst::syntax::SyntaxKind;

use crate::RenderOptions;

/// Names the translator may write in code: its own template's definitions and the Typst
/// functions it calls. A name outside this set in a translation's code is user text that
/// became code.
static VOCABULARY: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let template = include_str!("template.typ");
    let mut names: HashSet<String> = template
        .lines()
        .filter_map(|line| line.strip_prefix("#let "))
        .filter_map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')).next()
        })
        .map(str::to_owned)
        .collect();
    names.extend(
        [
            // Typst functions and arguments the translator writes (translate.rs).
            "import",
            "underline",
            "highlight",
            "pdf",
            "attach",
            "show",
            "set",
            "document",
            "with",
            "heading",
            "level",
            "link",
            "raw",
            "lang",
            "block",
            "linebreak",
            "table",
            "columns",
            "align",
            "left",
            "right",
            "center",
            "auto",
            "header",
            "quote",
            "list",
            "enum",
            "start",
            "footnote",
            "strong",
            "emph",
            "strike",
            "super",
            "sub",
            "box",
            "text",
            "none",
            "true",
            "false",
            "keywords",
            "date",
            "datetime",
            "year",
            "month",
            "day",
            "title",
            "author",
            "label",
            "tight",
            "image",
            "alt",
            "format",
        ]
        .into_iter()
        .map(str::to_owned),
    );
    names
});

/// Markdown → Typst. Properties: the translation is valid Typst syntax, and every name in
/// code is the translator's own (user text stays inside string literals; formulas are checked
/// by [`math`]).
pub fn translate(data: &[u8]) {
    let Ok(markdown) = std::str::from_utf8(data) else { return };
    let Ok(translation) = crate::translate(markdown, &RenderOptions::default()) else { return };
    let root = typst::syntax::parse(&translation.source);
    let (errors, _) = root.errors_and_warnings();
    assert!(
        errors.is_empty(),
        "the translation is not valid Typst: {errors:?}\n{}",
        translation.source
    );
    let mut stack = vec![&root];
    while let Some(node) = stack.pop() {
        match node.kind() {
            // Formulas passed the math checks (fuzzed on their own); strings are data.
            SyntaxKind::Equation | SyntaxKind::Str => continue,
            // An argument's name refers to nothing; its value is checked.
            SyntaxKind::Named => stack.extend(node.children().skip(1)),
            SyntaxKind::Ident if !VOCABULARY.contains(node.leaf_text().as_str()) => {
                panic!("user text became code: `{}`\n{}", node.leaf_text(), translation.source);
            }
            _ => stack.extend(node.children()),
        }
    }
}

/// LaTeX → Typst math. Properties: no panic, no hang; what is accepted has no `$` and, checked
/// independently of the math vet, every `#` starts a template helper given a content block.
pub fn math(data: &[u8]) {
    let Ok(latex) = std::str::from_utf8(data) else { return };
    let Ok(typst) = crate::math::latex_to_typst(latex) else { return };
    assert!(!typst.contains('$'), "a `$` in accepted math: {typst}");
    // Where code starts, Typst's parser says (a `#` inside a string is text); what follows
    // each start is checked on the text itself, apart from the vet's tree walk.
    let root = typst::syntax::parse_math(&typst);
    let mut starts = Vec::new();
    let mut stack = vec![(&root, 0usize)];
    while let Some((node, offset)) = stack.pop() {
        if node.kind() == SyntaxKind::Hash {
            starts.push(offset);
        }
        let mut at = offset;
        for child in node.children() {
            stack.push((child, at));
            at += child.len();
        }
    }
    for at in starts {
        let rest = &typst[at + 1..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(
            crate::math::is_template_helper(&name) && rest[name.len()..].starts_with('['),
            "code after `#` in accepted math: {typst}"
        );
    }
}

/// YAML front matter. Properties: no panic; whatever is accepted is in range.
pub fn front_matter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let raw = format!("---\n{text}\n---\n");
    let mut warnings = crate::warning::Warnings::default();
    let front = crate::frontmatter::FrontMatter::parse(&raw, &mut warnings);
    if let Some(lang) = &front.lang {
        assert!(
            (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase()),
            "{lang:?}"
        );
    }
    if let Some(size) = front.font_size {
        assert!(crate::FONT_SIZE_RANGE.contains(&size), "{size}");
    }
    if let Some(mm) = front.margin_mm {
        assert!((5.0..=60.0).contains(&mm), "{mm}");
    }
}

/// A target's entry function: raw bytes in, a panic when a property breaks.
pub type Target = fn(&[u8]);

/// Each target by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] =
    &[("translate", translate), ("math", math), ("front_matter", front_matter)];

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_outside_the_vocabulary_is_caught() {
        let caught = std::panic::catch_unwind(|| {
            let root = typst::syntax::parse("#read(\"x\")");
            let mut found = false;
            for node in root.children() {
                found |= node.children().any(|c| {
                    c.kind() == super::SyntaxKind::Ident
                        && !super::VOCABULARY.contains(c.leaf_text().as_str())
                });
            }
            assert!(!found, "caught");
        });
        assert!(caught.is_err());
    }
}
