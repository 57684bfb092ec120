//! LaTeX math → Typst math, with the converter's output treated as untrusted.
//!
//! mitex converts LaTeX to Typst math markup. Its output may only contain math syntax, literals,
//! and names from an allow-list: Typst's math module (symbols and math functions) and the
//! helpers folio's template defines for mitex. Anything else — code, other functions, labels,
//! references, comments — makes the formula fall back to code (see `folio-math-fallback`).

use std::collections::HashSet;
use std::sync::LazyLock;

use typst::syntax::{SyntaxKind, SyntaxNode, parse_math};

/// Deepest brace or `\left`/`\begin` nesting accepted in a formula. Typst's parser stops at
/// depths far beyond real formulas; checking here keeps the converter off deep input too.
const MAX_LATEX_DEPTH: usize = 24;

/// Longest formula converted (longer ones are shown as code).
const MAX_LATEX_BYTES: usize = 16 * 1024;

/// Helpers defined in `template.typ` for names mitex emits that Typst lacks.
const TEMPLATE_HELPERS: &[&str] = &[
    "mitexsqrt",
    "textmath",
    "textbf",
    "textit",
    "textrm",
    "textup",
    "textmd",
    "textsf",
    "texttt",
    "mitexbold",
    "mitexupright",
    "mitexitalic",
    "mitexsans",
    "mitexfrak",
    "mitexmono",
    "mitexcal",
    "mitexmathbf",
    "mitexcolor",
    "colortext",
    "operatorname",
    "dfrac",
    "cfrac",
    "tfrac",
    "dbinom",
    "tbinom",
    "overset",
    "underset",
    "stackrel",
    "matrix",
    "pmatrix",
    "bmatrix",
    "Bmatrix",
    "vmatrix",
    "Vmatrix",
    "mitexarray",
    "aligned",
    "rcases",
    "boxed",
    "fbox",
    "hbox",
    "phantom",
    "bcancel",
    "xcancel",
    "sout",
    "big",
    "Big",
    "bigg",
    "Bigg",
    "middle",
    "mathbin",
    "mathop",
    "mathord",
    "mathrel",
    "hspace",
    "vspace",
    "mitexlabel",
    "mitexcaption",
    "toprule",
    "midrule",
    "pmod",
    "pod",
    "bra",
    "ket",
    "braket",
    "Bra",
    "Ket",
    "Braket",
    "atop",
    "brack",
    "xmapsto",
    "xtofrom",
    "argmax",
    "argmin",
    "plim",
    "injlim",
    "projlim",
    "arctg",
    "arcctg",
    "cosec",
    "cotg",
    "cth",
    "ch",
    "sh",
    "th",
    "varGamma",
    "varPhi",
    "varPi",
    "varPsi",
    "varXi",
    "enspace",
    "diff",
    "TeX",
    "LaTeX",
    "KaTeX",
];

/// Names a converted formula may use.
static ALLOWED_NAMES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut names: HashSet<String> =
        crate::world::library().math.scope().iter().map(|(name, _)| name.to_string()).collect();
    names.extend(TEMPLATE_HELPERS.iter().map(|s| (*s).to_owned()));
    names
});

/// Converts a LaTeX formula (without its `$` delimiters) to Typst math markup, or says why it
/// cannot be shown as math.
pub(crate) fn latex_to_typst(latex: &str) -> Result<String, String> {
    if latex.trim().is_empty() {
        return Err("the formula is empty".to_owned());
    }
    if latex.len() > MAX_LATEX_BYTES {
        return Err("the formula is too long".to_owned());
    }
    if latex.contains("\\includegraphics") {
        return Err("images are not supported inside formulas".to_owned());
    }
    if latex_depth(latex) > MAX_LATEX_DEPTH {
        return Err("the formula nests too deeply".to_owned());
    }
    // mitex panics on a few inputs (`\includegraphics` without its argument, for one); a
    // panic there must cost the formula, not the render.
    let converted = std::panic::catch_unwind(|| mitex::convert_math(latex, None))
        .map_err(|_| "the LaTeX converter failed on it".to_owned())?
        .map_err(|err| format!("it is not LaTeX that folio understands ({})", first_line(&err)))?;
    vet(&converted)?;
    Ok(converted)
}

/// Checks converted Typst math against the allow-list.
fn vet(typst: &str) -> Result<(), String> {
    if typst.contains('$') {
        return Err("the converted formula contains a `$`".to_owned());
    }
    let root = parse_math(typst);
    let mut stack: Vec<&SyntaxNode> = vec![&root];
    while let Some(node) = stack.pop() {
        let kind = node.kind();
        if !allowed_kind(kind) {
            return Err(format!("it would need Typst {} syntax", kind.name()));
        }
        if matches!(kind, SyntaxKind::MathIdent | SyntaxKind::Ident)
            && !ALLOWED_NAMES.contains(node.leaf_text().as_str())
        {
            return Err(format!("`{}` is not an allowed math name", node.leaf_text()));
        }
        let children = node.children();
        match kind {
            // The name of a named argument is not a reference to anything.
            SyntaxKind::Named => stack.extend(children.skip(1)),
            // Only the first segment of `a.b.c` names something; the rest are fields.
            SyntaxKind::FieldAccess | SyntaxKind::MathFieldAccess => {
                stack.extend(children.take(1));
            }
            _ => stack.extend(children),
        }
    }
    Ok(())
}

fn allowed_kind(kind: SyntaxKind) -> bool {
    use SyntaxKind::*;
    matches!(
        kind,
        Math | MathText
            | MathIdent
            | MathFieldAccess
            | MathShorthand
            | MathAlignPoint
            | MathCall
            | MathArgs
            | MathDelimited
            | MathAttach
            | MathPrimes
            | MathFrac
            | MathRoot
            | Markup
            | Text
            | Space
            | Linebreak
            | Escape
            | Shorthand
            | Hash
            | LeftBrace
            | RightBrace
            | LeftBracket
            | RightBracket
            | LeftParen
            | RightParen
            | Comma
            | Semicolon
            | Colon
            | Star
            | Underscore
            | Plus
            | Minus
            | Slash
            | Hat
            | Dot
            | Eq
            | Lt
            | Gt
            | Dots
            | Arrow
            | Root
            | Bang
            | None
            | Auto
            | Ident
            | Bool
            | Int
            | Float
            | Numeric
            | Str
            | ContentBlock
            | Parenthesized
            | Array
            | Named
            | Unary
            | Binary
            | FieldAccess
            | FuncCall
            | Args
    )
}

/// The deepest nesting of `{`, `\left` and `\begin` in a LaTeX formula, without recursion.
fn latex_depth(latex: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut rest = latex;
    while let Some(c) = rest.chars().next() {
        let open = c == '{' || rest.starts_with("\\left") || rest.starts_with("\\begin");
        let close = c == '}' || rest.starts_with("\\right") || rest.starts_with("\\end");
        if c == '\\' && (rest.starts_with("\\{") || rest.starts_with("\\}")) {
            rest = &rest[2..];
            continue;
        }
        if open {
            depth += 1;
            max = max.max(depth);
        } else if close {
            depth = depth.saturating_sub(1);
        }
        rest = &rest[c.len_utf8()..];
    }
    max
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_formulas_convert() {
        for latex in [
            r"x^2 + y^2 = z^2",
            r"\frac{a}{b}",
            r"\sqrt{2}",
            r"\sqrt[3]{x}",
            r"\sum_{i=1}^{n} i = \frac{n(n+1)}{2}",
            r"\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}",
            r"\alpha \beta \gamma \Delta",
            r"\mathbb{R}^n",
            r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
            r"\left( \frac{1}{2} \right)",
            r"\text{if } x > 0",
            r"\lim_{x \to 0} \frac{\sin x}{x} = 1",
            r"\hat{x} \vec{v} \bar{y}",
            r"f(x) = \begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}",
            r"\operatorname{sgn}(x)",
            r"a \leq b \neq c \geq d",
            r"E = mc^2",
        ] {
            let result = latex_to_typst(latex);
            assert!(
                result.is_ok(),
                "{latex} → {result:?} ({:?})",
                mitex::convert_math(latex, None)
            );
        }
    }

    #[test]
    fn code_and_unknown_names_are_rejected() {
        for typst in [
            r#"#read("/etc/passwd")"#,
            r#"read("/etc/passwd")"#,
            "#let x = 1",
            "#import \"@preview/x:0.1.0\"",
            "x // comment",
            "#[@ref]",
            "#eval(\"1\")",
            "#pdf.attach(\"x\")",
            "plugin(\"x\")",
        ] {
            assert!(vet(typst).is_err(), "{typst}");
        }
        assert!(vet("frac(a, b) + sqrt(x) + arrow.r.double").is_ok());
    }

    #[test]
    fn hostile_latex_never_becomes_code() {
        for latex in [
            r#"\text{#read("/etc/passwd")}"#,
            r#"\iftypst #read("/etc/passwd") \fi"#,
            r"\mathrm{#import}",
            r"x $ #read",
        ] {
            if let Ok(typst) = latex_to_typst(latex) {
                // `\#read` is the escaped, literal text "#read"; only a bare `#read` is code.
                let unescaped = typst.replace("\\#", "");
                assert!(
                    !unescaped.contains("#read") && !unescaped.contains("#import"),
                    "{latex} → {typst}"
                );
            }
        }
        assert!(latex_to_typst(r"\includegraphics").is_err());
        let deep = format!("{}x{}", "{".repeat(10_000), "}".repeat(10_000));
        assert!(latex_to_typst(&deep).is_err());
    }
}
