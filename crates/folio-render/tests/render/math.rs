//! Math is data, never code (the audit's F1): injected Typst does not run, and ordinary LaTeX
//! still renders as math — the whole committed corpus, through Typst, without one fallback.

use folio_render::WarningKind;

use crate::{pdf_text, render};

/// The audit's `\iftypst` injections, with markers the code would *produce* (never present in
/// the source), so their absence from the PDF text proves the code did not run.
#[test]
fn injected_typst_code_never_runs() {
    let markdown = r#"# Injection probe

Line A: $\iftypst #("MARK" + "ER-RAN-A") \fi$ end A.

Line B: $\iftypst #("AB" * 7) \fi$ end B.

Line C: $\iftypst #text(size: 30pt)[INJECTED] + #("BIG-" + "RAN") \fi$ end C.

Line D: $\iftypst #rect(width: 6cm, height: 1cm)[#("RECT" + "-RAN")] \fi$ end D.

Line H: $\iftypst #"x".replace("x", "REPLACED-" + "OK") \fi$ end H.

Line M: $\newcommand{\x}{\x}\x$ end M.

Line T: $\text{#("TEXT" + "-RAN")}$ end T.
"#;
    let rendered = render(markdown);
    let text = pdf_text(&rendered.pdf);
    for marker in
        ["MARKER-RAN-A", "ABABABABABABAB", "BIG-RAN", "RECT-RAN", "REPLACED-OK", "TEXT-RAN"]
    {
        assert!(!text.contains(marker), "{marker} was produced: the code ran\n{text}");
    }
    // Each refused formula is shown as its source, with a warning on its line.
    let lines: Vec<usize> = rendered
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::MathFallback)
        .map(|w| w.line)
        .collect();
    assert_eq!(lines, [3, 5, 7, 9, 11, 13], "{:?}", rendered.warnings);
    assert!(text.contains("end M"), "the looping macro did not hang the render");
}

#[test]
fn the_ordinary_latex_corpus_renders_as_math_without_one_fallback() {
    let corpus = include_str!("../corpus/ordinary-latex.txt");
    let mut markdown = String::from("# Corpus\n\n");
    let mut count = 0;
    for formula in corpus.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        markdown.push_str(&format!("Inline ${formula}$ and display:\n\n$${formula}$$\n\n"));
        count += 2;
    }
    let rendered = render(&markdown);
    let fallbacks: Vec<String> = rendered
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::MathFallback || w.kind == WarningKind::Typesetter)
        .map(|w| format!("line {}: {}", w.line, w.message))
        .collect();
    assert!(count > 120);
    assert_eq!(
        fallbacks,
        Vec::<String>::new(),
        "{} of {count} formulas fell back",
        fallbacks.len()
    );
}
