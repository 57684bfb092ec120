//! Escaping: user text becomes Typst string literals, never markup or code.

use std::fmt::Write;

/// Writes `text` as a Typst string literal (quotes included). A string literal can hold any
/// text, and only `\` and `"` (plus control characters) need escaping — far less room for
/// mistakes than escaping markup, where `#`, `$`, `*`, `_`, `@`, `<`, `=`, `-` and more are live.
pub(crate) fn push_str_literal(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `text` as a Typst string literal.
pub(crate) fn str_literal(text: &str) -> String {
    let mut out = String::new();
    push_str_literal(&mut out, text);
    out
}

/// Escapes text for HTML element content and double-quoted attribute values.
pub(crate) fn push_html_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_quotes_backslashes_and_controls() {
        assert_eq!(str_literal(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(str_literal("x\ny\u{0}"), r#""x\ny\u{0}""#);
        assert_eq!(str_literal(r#"#read("/etc/passwd")"#), r##""#read(\"/etc/passwd\")""##);
    }

    #[test]
    fn html_escaping_covers_markup_and_attribute_quotes() {
        let mut out = String::new();
        push_html_escaped(&mut out, r#"<a href="x" onclick='y'>&"#);
        assert_eq!(out, "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;");
    }
}
