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
    "operatornamewithlimits",
    "mitexoverbrace",
    "mitexunderbrace",
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

/// Names a formula may use in math mode: Typst's math scope and the template's helpers.
static MATH_NAMES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut names: HashSet<String> =
        crate::world::library().math.scope().iter().map(|(name, _)| name.to_string()).collect();
    names.extend(TEMPLATE_HELPERS.iter().chain(TEMPLATE_SYMBOLS).map(|s| (*s).to_owned()));
    names
});

/// Symbols the template defines for names mitex still emits but Typst has renamed (`\cap` is
/// `sect`, Typst's `inter` since 0.14; `\langle` is `angle.l`, now `chevron.l`).
const TEMPLATE_SYMBOLS: &[&str] = &["sect", "angle"];

/// Names of the math scope that are symbols: only these take modifiers (`arrow.r.double`).
/// Field access on a function (`frac.with`, `frac.where`) is code, not math.
static SYMBOL_NAMES: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut names: HashSet<String> = crate::world::library()
        .math
        .scope()
        .iter()
        .filter(|(_, binding)| matches!(binding.read(), typst::foundations::Value::Symbol(_)))
        .map(|(name, _)| name.to_string())
        .collect();
    names.extend(TEMPLATE_SYMBOLS.iter().map(|s| (*s).to_owned()));
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
    screen(latex)?;
    // mitex panics on a few inputs (`\includegraphics` without its argument, for one); a
    // panic there must cost the formula, not the render.
    let converted = std::panic::catch_unwind(|| mitex::convert_math(latex, None))
        .map_err(|_| "the LaTeX converter failed on it".to_owned())?
        .map_err(|err| format!("it is not LaTeX that folio understands ({})", first_line(&err)))?;
    // The converter can nest far deeper than its input does (a run of 3,600 `^` became
    // `zws^(zws^(…))` 3,600 deep, which Typst's parser and layout recurse through).
    if typst_depth(&converted) > MAX_TYPST_DEPTH {
        return Err("the formula nests too deeply".to_owned());
    }
    vet(&converted)?;
    Ok(converted)
}

/// Refuses, before conversion, the LaTeX that makes mitex do more than translate:
///
/// - conditionals (`\iftypst … \fi` passes its body through as Typst code; `\iffalse`,
///   `\iftrue` and the rest of the `\if` family steer the macro engine), with `\else`/`\fi`;
/// - macro definitions, which can expand without end (`\newcommand{\x}{\x}\x` spins forever).
///   Every command the converter's own macro engine knows as a declaration is refused — read
///   from that engine's table, so a form added to mitex is refused without a change here.
fn screen(latex: &str) -> Result<(), String> {
    use mitex_lexer::MacroifyStream as _;
    use mitex_lexer::{CommandName, Lexer, MacroEngine, Token};
    let spec = mitex_spec_gen::DEFAULT_SPEC.clone();
    let engine = MacroEngine::new(spec.clone());
    let mut lexer: Lexer<'_, ()> = Lexer::new(latex, spec);
    while let Some((token, text)) = lexer.eat() {
        match token {
            Token::CommandName(CommandName::If(_) | CommandName::Else | CommandName::EndIf) => {
                return Err(format!("`{text}` (TeX conditionals) is not supported in formulas"));
            }
            Token::CommandName(CommandName::Generic) => {
                let name = text.trim_start_matches('\\');
                // A fresh engine knows exactly the declaration commands it implements.
                if engine.get_macro(name).is_some() {
                    return Err(format!(
                        "`{text}` (macro definitions) is not supported in formulas"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether `name` is one of the template's helpers (the only names code after `#` may call).
pub(crate) fn is_template_helper(name: &str) -> bool {
    TEMPLATE_HELPERS.contains(&name)
}

/// Where a node of the converted formula sits: what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Math markup: math syntax, literals and math names.
    Math,
    /// Right after a `#`: only a call of a template helper with content arguments.
    Code,
    /// Inside a helper's content block: text only (and more helper calls).
    Text,
}

/// Checks converted Typst math: every node must be math. After a `#` only a template helper
/// may be called, and only with content blocks whose content is text; never a global
/// function, a method, an expression, a string or arithmetic.
fn vet(typst: &str) -> Result<(), String> {
    if typst.contains('$') {
        return Err("the converted formula contains a `$`".to_owned());
    }
    let root = parse_math(typst);
    let mut stack: Vec<(&SyntaxNode, Place)> = vec![(&root, Place::Math)];
    while let Some((node, place)) = stack.pop() {
        let kind = node.kind();
        let refused = || Err(format!("it would need Typst {} syntax", kind.name()));
        match place {
            Place::Math => {
                if !allowed_in_math(kind) {
                    return refused();
                }
                match kind {
                    SyntaxKind::MathIdent if !MATH_NAMES.contains(node.leaf_text().as_str()) => {
                        return Err(format!("`{}` is not an allowed math name", node.leaf_text()));
                    }
                    // Only symbols take modifiers; the modifiers themselves name nothing.
                    SyntaxKind::MathFieldAccess => {
                        if !field_root(node).is_some_and(|name| SYMBOL_NAMES.contains(name)) {
                            return Err("it would access a field of something other than a symbol"
                                .to_owned());
                        }
                    }
                    // A named argument's name refers to nothing; its value is math.
                    SyntaxKind::Named => {
                        let mut children = node.children();
                        if !children.next().is_some_and(|n| n.kind() == SyntaxKind::Ident) {
                            return refused();
                        }
                        stack.extend(children.map(|c| (c, Place::Math)));
                    }
                    _ => push_children(node, Place::Math, &mut stack),
                }
            }
            Place::Code => match kind {
                SyntaxKind::FuncCall => {
                    let mut children = node.children();
                    let callee = children.next();
                    if !callee.is_some_and(|c| {
                        c.kind() == SyntaxKind::Ident
                            && TEMPLATE_HELPERS.contains(&c.leaf_text().as_str())
                    }) {
                        return Err(
                            "it would call a function outside folio's math helpers".to_owned()
                        );
                    }
                    for args in children {
                        if args.kind() != SyntaxKind::Args {
                            return refused();
                        }
                        for arg in args.children() {
                            if arg.kind() != SyntaxKind::ContentBlock {
                                return Err("a helper may only be given text".to_owned());
                            }
                            stack.extend(arg.children().map(|c| (c, Place::Text)));
                        }
                    }
                }
                _ => return Err(format!("it would run Typst code ({})", kind.name())),
            },
            Place::Text => {
                if !allowed_in_text(kind) {
                    return refused();
                }
                push_children(node, Place::Text, &mut stack);
            }
        }
    }
    Ok(())
}

/// The name at the root of `a.b.c` (parsed as `((a.b).c)`), if every segment is a plain name.
fn field_root(mut node: &SyntaxNode) -> Option<&str> {
    loop {
        let mut children = node.children();
        let first = children.next()?;
        if !children.all(|n| matches!(n.kind(), SyntaxKind::MathIdent | SyntaxKind::Dot)) {
            return None;
        }
        match first.kind() {
            SyntaxKind::MathFieldAccess => node = first,
            SyntaxKind::MathIdent => return Some(first.leaf_text().as_str()),
            _ => return None,
        }
    }
}

/// Pushes `node`'s children in `place`, except that what follows a `#` is code.
fn push_children<'a>(node: &'a SyntaxNode, place: Place, stack: &mut Vec<(&'a SyntaxNode, Place)>) {
    let mut after_hash = false;
    for child in node.children() {
        stack.push((child, if after_hash { Place::Code } else { place }));
        after_hash = child.kind() == SyntaxKind::Hash;
    }
}

fn allowed_in_math(kind: SyntaxKind) -> bool {
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
            | Str
            | Named
    )
}

/// What a helper's content block may hold: text, and further helper calls after `#`.
fn allowed_in_text(kind: SyntaxKind) -> bool {
    use SyntaxKind::*;
    matches!(
        kind,
        Markup
            | Text
            | Space
            | Linebreak
            | Parbreak
            | Escape
            | Shorthand
            | SmartQuote
            | Hash
            | Semicolon
            | LeftBracket
            | RightBracket
    )
}

/// Deepest bracket nesting accepted in converted Typst math (twice the LaTeX limit: a LaTeX
/// level becomes at most two here in ordinary formulas).
const MAX_TYPST_DEPTH: usize = 2 * MAX_LATEX_DEPTH;

/// The deepest nesting of `(`, `[` and `{` in converted Typst math (escaped ones skipped), in
/// one pass.
fn typst_depth(typst: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut chars = typst.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' | '[' | '{' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
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

    /// The audit's injections (F1), as Typst the converter could emit: each ran code before.
    #[test]
    fn code_after_a_hash_is_refused_in_every_form() {
        for typst in [
            r#"#"typst-code-ran-MARKER".len()"#,
            r#"#("AB" * 7)"#,
            "#text(size: 30pt)[INJECTEDBIG]",
            "#rect(width: 6cm, height: 1cm)[RECTBODY]",
            r#"#image("/etc/passwd")"#,
            r#"#"x".replace("x", "REPLACED-OK")"#,
            r#"#("x" * 3000000000).len()"#,
            "#([x ] * 3000000)",
            "#underline[x]",
            "#textmath[#text(size: 30pt)[x]]",
            "#textmath(size: 30pt)[x]",
            "#textmath[x].func()",
            "#textmath[*strong* <label> @ref `raw` = heading]",
            "#textmath[x] + #(1 + 2)",
            "#mitexsqrt",
            "frac.with(a)",
            "frac.where(a)",
            "x.len()",
        ] {
            assert!(vet(typst).is_err(), "{typst} passed the vet");
        }
        for typst in [
            "#textmath[if ]; x > 0",
            "#textmath[a #textbf[b]; c]; x",
            "mitexarray(arg0: c c , 1 zws , 2 )",
            "dot.double(g) arrow.r.double",
        ] {
            assert!(vet(typst).is_ok(), "{typst}: {:?}", vet(typst));
        }
    }

    /// Conditionals and macro definitions never reach the converter: `\iftypst` passes code
    /// through, and a self-referencing macro spins forever (F1, F2).
    #[test]
    fn conditionals_and_macro_definitions_are_refused_before_conversion() {
        for latex in [
            r#"\iftypst #"typst-code-ran-MARKER".len() \fi"#,
            r"\iffalse a \fi b",
            r"\iftrue a \else b \fi",
            r"\ifx a b \fi",
            r"\newcommand{\x}{\x}\x",
            r"\newcommand*{\x}{\x}\x",
            r"\renewcommand{\x}{\x}\x",
            r"\providecommand{\x}{\x}\x",
            r"\DeclareRobustCommand{\x}{\x}\x",
            r"\newenvironment{e}{\begin{e}}{}\begin{e}\end{e}",
            r"\renewenvironment*{e}{a}{b}",
            r"\DeclareTextCommand{\x}{T1}{\x}\x",
            r"\AtBeginDocument{x}",
        ] {
            let refused = screen(latex);
            assert!(refused.is_err(), "{latex} was not screened");
            assert!(latex_to_typst(latex).is_err(), "{latex}");
        }
        assert!(screen(r"\frac{a}{b} + \text{if} + \left( x \right)").is_ok());
    }

    /// Every formula of the committed corpus of ordinary LaTeX (and of the showcase and the
    /// render tests) still renders as math: the vet refuses code, not math.
    #[test]
    fn ordinary_latex_never_falls_back() {
        let corpus = include_str!("../tests/corpus/ordinary-latex.txt");
        let formulas: Vec<&str> =
            corpus.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect();
        assert!(formulas.len() > 60, "the corpus is there");
        let fallbacks: Vec<String> = formulas
            .iter()
            .filter_map(|latex| latex_to_typst(latex).err().map(|why| format!("{latex}: {why}")))
            .collect();
        assert_eq!(fallbacks, Vec::<String>::new(), "{} fallbacks", fallbacks.len());
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
        // Found by the math fuzzer: no braces, yet the conversion nests 3,600 deep.
        let carets = "^".repeat(3600);
        assert_eq!(latex_to_typst(&carets), Err("the formula nests too deeply".to_owned()));
        assert!(
            typst_depth(&mitex::convert_math(&"^".repeat(60), None).unwrap_or_default())
                > MAX_TYPST_DEPTH
        );
        let deep = format!("{}x{}", "{".repeat(10_000), "}".repeat(10_000));
        assert!(latex_to_typst(&deep).is_err());
    }
}
