//! Snapshots of the generated Typst for a feature matrix: a reviewer sees exactly what user
//! text turns into (always string literals) and a change to the translation shows up in review.

use folio_render::{RenderOptions, translate};

fn typst(markdown: &str) -> String {
    match translate(markdown, &RenderOptions::default()) {
        Ok(t) => t.source,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn inline_markup() {
    insta::assert_snapshot!(typst(
        "Plain *emph* **strong** ~~strike~~ `code` [link](https://e.org) <https://auto.org> line  \nbreak $x^2$ and #hash $5 @at <lt> \\\\"
    ));
}

#[test]
fn blocks() {
    insta::assert_snapshot!(typst(
        "# H1\n\n## H2 `code`\n\n> quote\n>\n> > nested\n\n- a\n- b\n  - c\n\n3. three\n4) no\n\n---\n\n```python\nprint(\"hi\")\n```\n\n    indented\n"
    ));
}

#[test]
fn tables_tasks_footnotes() {
    insta::assert_snapshot!(typst(
        "| L | C | R |\n|:--|:-:|--:|\n| 1 | 2 |\n\n- [ ] open\n- [x] done\n\nText[^a] again[^a] missing[^b].\n\n[^a]: Note *a*.\n"
    ));
}

#[test]
fn front_matter_html_and_images() {
    insta::assert_snapshot!(typst(
        "---\ntitle: \"T \\\"q\\\"\"\nauthor: [A, B]\ndate: 2026-01-02\npaper: a5\n---\n\n<p align=center><b>B</b><br><img alt=\"logo\" src=x.png><script>x</script></p>\n\n![alt](https://r.org/i.png) [a](#h1)\n"
    ));
}

#[test]
fn math_conversions_and_fallbacks() {
    insta::assert_snapshot!(typst(
        "$\\frac{a}{b}$ $\\sqrt{x}$ $\\alpha + \\beta$\n\n$$\\sum_{i=1}^n i$$\n\n$\\iftypst #read(\"x\") \\fi$\n"
    ));
}
