//! Raw HTML in markdown: never executed, never fetched. A tolerant tokenizer splits it into
//! text and tags, and one policy decides, tag by tag, what survives — shared by the PDF and the
//! HTML preview so both show the same words.

/// A piece of raw HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// Text with character references decoded.
    Text(String),
    /// `<name …>` (or `<name …/>`), with the `alt` attribute kept for images.
    Start { name: String, alt: Option<String>, self_closing: bool },
    /// `</name>`.
    End { name: String },
}

/// What the policy does with an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Treatment {
    /// Keep the content, styled.
    Style(Style),
    /// Keep the content as its own paragraph(s).
    Block,
    /// Keep the content, drop the tag silently (it only carried attributes or layout).
    Transparent,
    /// A line break.
    LineBreak,
    /// An image: show its alt text in a placeholder.
    Image,
    /// Drop the element and everything inside it (scripts, styles, embedded documents).
    DropWithContent,
    /// Unknown or unsupported: drop the tag, keep the text, warn.
    DropTag,
}

/// Inline styles that raw HTML may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Sup,
    Sub,
    Kbd,
    Strong,
    Emph,
    Code,
    Strike,
    Underline,
    Mark,
}

impl Style {
    /// The sanitized HTML tag used for this style in the preview.
    pub(crate) fn html_tag(self) -> &'static str {
        match self {
            Self::Sup => "sup",
            Self::Sub => "sub",
            Self::Kbd => "kbd",
            Self::Strong => "strong",
            Self::Emph => "em",
            Self::Code => "code",
            Self::Strike => "del",
            Self::Underline => "u",
            Self::Mark => "mark",
        }
    }
}

/// The policy: which tags keep their text, which are dropped with their content.
pub(crate) fn treatment(name: &str) -> Treatment {
    match name {
        "sup" => Treatment::Style(Style::Sup),
        "sub" => Treatment::Style(Style::Sub),
        "kbd" => Treatment::Style(Style::Kbd),
        "b" | "strong" => Treatment::Style(Style::Strong),
        "i" | "em" | "cite" | "var" | "dfn" => Treatment::Style(Style::Emph),
        "code" | "tt" | "samp" => Treatment::Style(Style::Code),
        "s" | "del" | "strike" => Treatment::Style(Style::Strike),
        "u" | "ins" => Treatment::Style(Style::Underline),
        "mark" => Treatment::Style(Style::Mark),
        "p" | "div" | "details" | "summary" | "center" | "blockquote" | "section" | "article"
        | "header" | "footer" | "main" | "aside" | "nav" | "figure" | "figcaption" | "h1"
        | "h2" | "h3" | "h4" | "h5" | "h6" | "ul" | "ol" | "li" | "dl" | "dt" | "dd" | "table"
        | "thead" | "tbody" | "tfoot" | "tr" | "td" | "th" | "caption" | "pre" | "address"
        | "hgroup" | "hr" => Treatment::Block,
        "span" | "a" | "picture" | "small" | "big" | "abbr" | "q" | "font" | "label" | "time"
        | "nobr" | "wbr" | "bdi" | "bdo" | "data" | "source" | "colgroup" | "col" | "ruby"
        | "rb" | "rt" | "rp" => Treatment::Transparent,
        "br" => Treatment::LineBreak,
        "img" => Treatment::Image,
        "script" | "style" | "iframe" | "frame" | "frameset" | "object" | "embed" | "applet"
        | "svg" | "math" | "template" | "noscript" | "textarea" | "select" | "option"
        | "button" | "input" | "form" | "video" | "audio" | "canvas" | "head" | "title"
        | "link" | "meta" | "base" | "map" | "area" | "track" | "param" | "dialog" | "portal"
        | "noembed" | "noframes" | "xmp" | "plaintext" => Treatment::DropWithContent,
        _ => Treatment::DropTag,
    }
}

/// Elements that never have content or an end tag.
pub(crate) fn is_void(name: &str) -> bool {
    matches!(
        name,
        "br" | "img"
            | "hr"
            | "wbr"
            | "input"
            | "meta"
            | "link"
            | "base"
            | "area"
            | "col"
            | "embed"
            | "param"
            | "source"
            | "track"
    )
}

/// Splits raw HTML into tokens, each with the byte offset where it starts. Comments, doctypes
/// and processing instructions vanish; a `<` that starts no tag is text. Never fails.
pub(crate) fn tokenize(html: &str) -> Vec<(usize, Token)> {
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut text_start = 0;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        if text.is_empty() {
            text_start = html.len() - rest.len();
        }
        text.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            rest = rest.find('>').map_or("", |end| &rest[end + 1..]);
            continue;
        }
        match parse_tag(rest) {
            Some((token, len)) => {
                flush_text(&mut text, text_start, &mut tokens);
                tokens.push((html.len() - rest.len(), token));
                rest = &rest[len..];
            }
            None => {
                text.push('<');
                rest = &rest[1..];
            }
        }
    }
    if text.is_empty() {
        text_start = html.len() - rest.len();
    }
    text.push_str(rest);
    flush_text(&mut text, text_start, &mut tokens);
    tokens
}

fn flush_text(text: &mut String, start: usize, tokens: &mut Vec<(usize, Token)>) {
    if !text.is_empty() {
        tokens.push((start, Token::Text(decode_entities(text))));
        text.clear();
    }
}

/// The longest tag read as one. Without a bound, every `<` of a page of unclosed quoted tags
/// scanned to the end of the text (quadratic); past it, the `<` is text.
const MAX_TAG_BYTES: usize = 2048;

/// Parses one tag at the start of `input` (which starts with `<`); returns it and its length.
fn parse_tag(input: &str) -> Option<(Token, usize)> {
    let bytes = &input.as_bytes()[..input.len().min(MAX_TAG_BYTES)];
    let mut i = 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
        i += 1;
    }
    if i == name_start || !bytes[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = input[name_start..i].to_ascii_lowercase();
    // Attributes: find the closing `>` outside quotes.
    let mut quote: Option<u8> = None;
    let attrs_start = i;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(bytes[i]),
            (None, b'>') => break,
            (None, b'<') => return None,
            _ => {}
        }
        i += 1;
    }
    if i >= bytes.len() {
        return None;
    }
    let attrs = &input[attrs_start..i];
    let len = i + 1;
    if closing {
        return Some((Token::End { name }, len));
    }
    let self_closing = attrs.trim_end().ends_with('/');
    let alt =
        if name == "img" { attribute(attrs, "alt").map(|a| decode_entities(&a)) } else { None };
    Some((Token::Start { name, alt, self_closing }, len))
}

/// Reads one attribute's value from a tag's attribute text.
fn attribute(attrs: &str, wanted: &str) -> Option<String> {
    let bytes = attrs.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && bytes[i] != b'='
            && bytes[i] != b'/'
        {
            i += 1;
        }
        let name = &attrs[name_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if bytes.get(i) == Some(&b'=') {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if let Some(&q @ (b'"' | b'\'')) = bytes.get(i) {
                let start = i + 1;
                let end = attrs[start..].find(q as char).map_or(attrs.len(), |e| start + e);
                value = attrs[start..end].to_owned();
                i = end + 1;
            } else {
                let start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = attrs[start..i].to_owned();
            }
        }
        if name.eq_ignore_ascii_case(wanted) {
            return Some(value);
        }
        if name.is_empty() {
            i += 1;
        }
    }
    None
}

/// Decodes the character references people write in READMEs (`&amp;`, `&nbsp;`, `&#169;`,
/// `&#x1F600;`); unknown ones stay as written.
pub(crate) fn decode_entities(text: &str) -> String {
    decode_entities_counting(text, &mut 0)
}

/// The longest entity reference looked for, `&` and `;` included: no entity folio decodes is
/// longer, so the search for its `;` never looks further (once it scanned the whole rest of
/// the text for every `&`, quadratic in a page of ampersands).
const MAX_ENTITY_BYTES: usize = 33;

/// [`decode_entities`], adding the bytes examined while looking for entity ends to `examined`
/// (tests check the work is linear).
fn decode_entities_counting(text: &str, examined: &mut usize) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let window = &rest.as_bytes()[1..rest.len().min(MAX_ENTITY_BYTES)];
        let semicolon = window.iter().position(|&b| b == b';');
        *examined += semicolon.map_or(window.len(), |p| p + 1);
        let end = semicolon.map(|e| e + 1);
        let decoded = end.and_then(|end| {
            let name = rest.get(1..end)?;
            let c = if let Some(num) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(num, 16).ok().and_then(char::from_u32)
            } else if let Some(num) = name.strip_prefix('#') {
                num.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                named_entity(name)
            };
            c.filter(|c| *c != '\0').map(|c| (c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn named_entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "laquo" => '«',
        "raquo" => '»',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "middot" => '·',
        "bull" => '•',
        "times" => '×',
        "deg" => '°',
        "euro" => '€',
        "pound" => '£',
        "sect" => '§',
        "para" => '¶',
        "rarr" => '→',
        "larr" => '←',
        "ensp" => '\u{2002}',
        "emsp" => '\u{2003}',
        "thinsp" => '\u{2009}',
        "zwj" => '\u{200d}',
        "zwnj" => '\u{200c}',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(html: &str) -> Vec<Token> {
        tokenize(html).into_iter().map(|(_, token)| token).collect()
    }

    #[test]
    fn tokens_carry_their_offsets() {
        let offsets: Vec<usize> = tokenize("ab<b>cd\n</b>").into_iter().map(|(o, _)| o).collect();
        assert_eq!(offsets, [0, 2, 5, 8]);
    }

    #[test]
    fn entity_decoding_examines_a_bounded_window_per_ampersand() {
        // The audit's input: half a megabyte of `&` inside a `<div>` took 10 s (each `&`
        // searched the whole rest for a `;`).
        let ampersands = "&".repeat(520_000);
        let mut examined = 0;
        let decoded = decode_entities_counting(&ampersands, &mut examined);
        assert_eq!(decoded, ampersands);
        assert!(examined <= 32 * 520_000, "{examined} bytes examined");
        let mut examined = 0;
        let text = format!("{}&amp;", "&".repeat(1000));
        assert_eq!(
            decode_entities_counting(&text, &mut examined),
            format!("{}&", "&".repeat(1000))
        );
        assert!(examined <= 32 * 1001, "{examined}");
        // Long numeric references and names past the window are text.
        assert_eq!(
            decode_entities("&#x0000000000000000000000000000000041;"),
            "&#x0000000000000000000000000000000041;"
        );
        assert_eq!(decode_entities("a&lt;b&#65;&#x42;&bogus;"), "a<bAB&bogus;");
    }

    #[test]
    fn unclosed_tags_cost_at_most_the_tag_bound_each() {
        // Every `<a "` opens a quote the next tag's `'`s never close.
        let html = format!("<a \"{}", "<b '".repeat(100_000));
        let all = tokenize(&html);
        assert!(all.iter().all(|(_, t)| matches!(t, Token::Text(_))), "no tag in it");
        let long = format!("<a title=\"{}\">x", "y".repeat(MAX_TAG_BYTES));
        assert!(
            matches!(tokens(&long).first(), Some(Token::Text(_))),
            "a tag past the bound is text"
        );
    }

    #[test]
    fn tokenizes_tags_text_and_entities() {
        let tokens = tokens(
            r#"<p align="center"><img src="x.png" alt="Logo &amp; name"/>a &lt;b&gt;<!-- c --></p>"#,
        );
        assert_eq!(
            tokens,
            vec![
                Token::Start { name: "p".into(), alt: None, self_closing: false },
                Token::Start {
                    name: "img".into(),
                    alt: Some("Logo & name".into()),
                    self_closing: true
                },
                Token::Text("a <b>".into()),
                Token::End { name: "p".into() },
            ]
        );
    }

    #[test]
    fn a_lone_less_than_is_text() {
        assert_eq!(tokens("1 < 2 and <3"), vec![Token::Text("1 < 2 and <3".into())]);
        assert_eq!(
            tokens("<a title='>'>x"),
            vec![
                Token::Start { name: "a".into(), alt: None, self_closing: false },
                Token::Text("x".into()),
            ]
        );
    }

    #[test]
    fn policy_drops_active_content() {
        for tag in ["script", "style", "iframe", "object", "svg", "form"] {
            assert_eq!(treatment(tag), Treatment::DropWithContent, "{tag}");
        }
        assert_eq!(treatment("blink"), Treatment::DropTag);
        assert_eq!(treatment("sup"), Treatment::Style(Style::Sup));
    }
}

/// What a stream of raw HTML tokens means for the output, after the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HtmlEvent {
    /// Visible text.
    Text(String),
    /// Start of a style (always closed later by a matching [`HtmlEvent::Close`]).
    Open(Style),
    /// End of the innermost open style.
    Close(Style),
    /// A forced line break (`<br>`).
    LineBreak,
    /// A block element starts or ends: a paragraph break in block context, a space inline.
    BlockBoundary,
    /// An image, shown as a placeholder with its alt text.
    Image { alt: String },
    /// Something was dropped; the message says what.
    Dropped(String),
}

/// Applies [`treatment`] to a token stream, keeping styles balanced: every `Open` gets its
/// `Close`, even when the HTML never closes it or closes it out of order.
#[derive(Debug, Default)]
pub(crate) struct HtmlFilter {
    open: Vec<(String, Treatment)>,
    /// Inside an element whose content is dropped: its name and how deeply it nests.
    dropping: Option<(String, usize)>,
}

impl HtmlFilter {
    /// Whether content is being dropped (markdown nodes between inline tags are dropped too).
    pub(crate) fn is_dropping(&self) -> bool {
        self.dropping.is_some()
    }

    /// Feeds one token.
    pub(crate) fn feed(&mut self, token: Token, emit: &mut impl FnMut(HtmlEvent)) {
        if let Some((name, depth)) = &mut self.dropping {
            match &token {
                Token::Start { name: n, self_closing: false, .. } if n == name && !is_void(n) => {
                    *depth += 1
                }
                Token::End { name: n } if n == name => {
                    *depth -= 1;
                    if *depth == 0 {
                        self.dropping = None;
                    }
                }
                _ => {}
            }
            return;
        }
        match token {
            Token::Text(text) => emit(HtmlEvent::Text(text)),
            Token::Start { name, alt, self_closing } => {
                let void = self_closing || is_void(&name);
                match treatment(&name) {
                    Treatment::Style(style) => {
                        if !void {
                            emit(HtmlEvent::Open(style));
                            self.open.push((name, Treatment::Style(style)));
                        }
                    }
                    Treatment::Block => {
                        emit(HtmlEvent::BlockBoundary);
                        if !void {
                            self.open.push((name, Treatment::Block));
                        }
                    }
                    Treatment::Transparent => {
                        if !void {
                            self.open.push((name, Treatment::Transparent));
                        }
                    }
                    Treatment::LineBreak => emit(HtmlEvent::LineBreak),
                    Treatment::Image => emit(HtmlEvent::Image { alt: alt.unwrap_or_default() }),
                    Treatment::DropWithContent => {
                        emit(HtmlEvent::Dropped(format!(
                            "dropped the HTML <{name}> element and its content"
                        )));
                        if !void {
                            self.dropping = Some((name, 1));
                        }
                    }
                    Treatment::DropTag => {
                        emit(HtmlEvent::Dropped(format!(
                            "dropped the unsupported HTML tag <{name}> (its text is kept)"
                        )));
                    }
                }
            }
            Token::End { name } => {
                let Some(index) = self.open.iter().rposition(|(n, _)| *n == name) else { return };
                while self.open.len() > index {
                    if let Some((_, treatment)) = self.open.pop() {
                        close(treatment, emit);
                    }
                }
            }
        }
    }

    /// Closes whatever is still open.
    pub(crate) fn finish(&mut self, emit: &mut impl FnMut(HtmlEvent)) {
        while let Some((_, treatment)) = self.open.pop() {
            close(treatment, emit);
        }
        self.dropping = None;
    }
}

fn close(treatment: Treatment, emit: &mut impl FnMut(HtmlEvent)) {
    match treatment {
        Treatment::Style(style) => emit(HtmlEvent::Close(style)),
        Treatment::Block => emit(HtmlEvent::BlockBoundary),
        _ => {}
    }
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn events(html: &str) -> Vec<HtmlEvent> {
        let mut filter = HtmlFilter::default();
        let mut out = Vec::new();
        for (_, token) in tokenize(html) {
            filter.feed(token, &mut |e| out.push(e));
        }
        filter.finish(&mut |e| out.push(e));
        out
    }

    #[test]
    fn scripts_vanish_with_their_content_and_styles_balance() {
        let out = events("<script>alert('x')</script><sup><b>1</sup> after");
        assert_eq!(
            out,
            vec![
                HtmlEvent::Dropped("dropped the HTML <script> element and its content".into()),
                HtmlEvent::Open(Style::Sup),
                HtmlEvent::Open(Style::Strong),
                HtmlEvent::Text("1".into()),
                HtmlEvent::Close(Style::Strong),
                HtmlEvent::Close(Style::Sup),
                HtmlEvent::Text(" after".into()),
            ]
        );
    }

    #[test]
    fn nested_dropped_elements_end_at_their_own_end_tag() {
        let out = events("<svg><svg></svg>hidden</svg>shown");
        assert_eq!(out.last(), Some(&HtmlEvent::Text("shown".into())));
        assert!(!out.iter().any(|e| *e == HtmlEvent::Text("hidden".into())));
    }
}
