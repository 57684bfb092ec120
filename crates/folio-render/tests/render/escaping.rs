//! Injection: hostile text appears literally in the PDF in every markdown context.

use crate::{code_block, code_span, escape_markdown, pdf_text, render, squash};

/// Text that would be live Typst syntax if it reached the compiler as markup or code.
const PAYLOADS: &[&str] = &[
    r#"#read("/etc/passwd")"#,
    r#"#import "@preview/cetz:0.3.0": *"#,
    r#"#pdf.attach("/etc/passwd")"#,
    "#set text(size: 1pt)",
    "#show: it => []",
    "$ not math $",
    "@ref",
    "<label>",
    r"back\slash",
    "close ] bracket [",
    "*star* and _under_",
    "`tick`",
    "// line comment",
    "/* block comment */",
    "= heading",
    "+ plus item",
    "- minus item",
    "1. enum",
    "/ term: desc",
    "#{ 1 + 1 }",
    "~ nbsp -- dash --- ...",
    r#"" quote ' "#,
    "#eval(\"1+1\")",
    "\\u{41} #sym.arrow",
];

/// One document holding the payload in every context; returns it and how many times the
/// payload should appear in the PDF text.
fn document(payload: &str) -> (String, usize) {
    let e = escape_markdown(payload);
    let yaml = payload.replace('\\', "\\\\").replace('"', "\\\"");
    let mut doc = format!("---\ntitle: \"{yaml}\"\n---\n\n");
    let mut contexts = 1; // the title block
    let mut add = |text: String| {
        doc.push_str(&text);
        doc.push_str("\n\n");
        contexts += 1;
    };
    add(e.clone());
    add(format!("## {e}"));
    add(format!("| {e} | b |\n|---|---|\n| c | d |"));
    add(format!("[{e}](https://example.com)"));
    add(format!("- {e}"));
    add(format!("1. {e}"));
    add(format!("> {e}"));
    add(format!("*{e}*"));
    add(format!("**{e}**"));
    add(format!("~~{e}~~"));
    add(code_span(payload));
    add(code_block(payload));
    add(format!("Note[^n]\n\n[^n]: {e}"));
    if !payload.contains(['$', '\\', '{', '}']) {
        // A formula nested too deeply to convert is shown as its source.
        add(format!("${}x{} {payload}$", "{".repeat(30), "}".repeat(30)));
    }
    (doc, contexts)
}

#[test]
fn hostile_text_appears_literally_in_every_context() {
    for payload in PAYLOADS {
        let (doc, contexts) = document(payload);
        let rendered = render(&doc);
        let text = squash(&pdf_text(&rendered.pdf));
        let wanted = squash(payload);
        let found = text.matches(&wanted).count();
        assert!(
            found >= contexts,
            "payload {payload:?} appears {found} times, expected at least {contexts}\n--- pdf text ---\n{text}\n--- markdown ---\n{doc}"
        );
    }
}

#[test]
fn the_title_is_metadata_not_code() {
    let rendered = render("---\ntitle: \"#read(\\\"/etc/passwd\\\")\"\n---\n\ntext");
    assert_eq!(rendered.title, "#read(\"/etc/passwd\")");
}

#[test]
fn code_block_languages_cannot_inject() {
    let rendered = render("```\")#read(\"/etc/passwd\n#read(\"/etc/passwd\")\n```\n");
    assert!(squash(&pdf_text(&rendered.pdf)).contains(&squash("#read(\"/etc/passwd\")")));
}

#[test]
fn link_urls_and_image_urls_cannot_inject() {
    let doc = "[a](https://x.org/\"),read(\"/etc/passwd) ![b](\")#read(\"/etc/passwd\") <https://e.org/#read(\"x\")>";
    let rendered = render(doc);
    let text = pdf_text(&rendered.pdf);
    assert!(text.contains('a') && text.contains('b'), "{text}");
}
