//! Limits: oversize, deep nesting, page cap, invalid UTF-8 and empty input → typed errors,
//! never a panic or a stack overflow.

use folio_render::{Limits, RenderError, RenderOptions, decode_markdown, render_html, render_pdf};

use crate::render;

fn err(markdown: &str) -> RenderError {
    match render_pdf(markdown, &RenderOptions::default()) {
        Ok(_) => panic!("expected an error for {} bytes of markdown", markdown.len()),
        Err(err) => err,
    }
}

#[test]
fn oversize_source_is_refused_before_parsing() {
    let big = "a".repeat(512 * 1024 + 1);
    assert!(
        matches!(err(&big), RenderError::SourceTooLarge { size, limit } if size == big.len() && limit == 512 * 1024)
    );
    assert_eq!(err(&big).code(), "source_too_large");
}

#[test]
fn hundred_thousand_nested_quotes_fail_cleanly() {
    let deep = format!("{} deep", ">".repeat(100_000));
    let error = err(&deep);
    assert!(matches!(error, RenderError::NestingTooDeep { limit: 32, line: 1, .. }), "{error:?}");
    assert_eq!(error.code(), "nesting_too_deep");
    assert!(render_html(&deep, &RenderOptions::default()).is_err());
}

#[test]
fn deeply_nested_lists_and_emphasis_fail_cleanly() {
    let lists: String = (0..500).map(|i| format!("{}- item\n", "  ".repeat(i))).collect();
    assert!(matches!(err(&lists), RenderError::NestingTooDeep { .. }));
    // However comrak nests these, the answer is a PDF or a typed error, never a crash.
    let emphasis = format!("{}x{}", "*_".repeat(5_000), "_*".repeat(5_000));
    let images = format!("{}x{}", "![".repeat(5_000), "](a.png)".repeat(5_000));
    let strong = format!("{}x{}", "**".repeat(5_000), "**".repeat(5_000));
    for doc in [emphasis, images, strong] {
        match render_pdf(&doc, &RenderOptions::default()) {
            Ok(_) | Err(RenderError::NestingTooDeep { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
}

#[test]
fn nesting_up_to_the_limit_lays_out() {
    let quotes = format!("{} thirty-one quotes", ">".repeat(31));
    let text = crate::pdf_text(&render(&quotes).pdf);
    assert!(text.contains("thirty-one quotes"), "{text}");
    let lists: String = (0..31).map(|i| format!("{}- level {i}\n", "  ".repeat(i))).collect();
    let text = crate::pdf_text(&render(&lists).pdf);
    assert!(text.contains("level 30"), "{text}");
    // Quotes and lists alternating, with every kind of inline markup at the bottom.
    let mut mixed: String =
        (0..14).map(|i| format!("{}- > level {i}\n", "    ".repeat(i))).collect();
    mixed.pop();
    mixed.push_str(" # *a **b ~~c [d](https://e.org)~~***\n");
    let _ = render(&mixed);
    let bundle = |n: usize| {
        let q = format!("{} ", ">".repeat(n));
        format!(
            "{q}# Heading *emph*\n{q}\n{q}Text *a **b [d](https://e.org)** e* note[^1]\n{q}\n{q}| a | b |\n{q}|---|---|\n{q}| *x* | y |\n{q}\n{q}```rust\n{q}fn x() {{}}\n{q}```\n\n[^1]: The **note**.\n"
        )
    };
    for n in 0..40 {
        match render_pdf(&bundle(n), &RenderOptions::default()) {
            Ok(_) | Err(RenderError::NestingTooDeep { .. }) => {}
            Err(other) => panic!("{n} quotes: {other}"),
        }
    }
    // The page preview writes its SVGs on Typst's thread pool, whose threads have the default
    // stack size: the deepest documents allowed must fit there too.
    let deepest = (0..40).rev().map(bundle).find(|markdown| {
        !matches!(
            render_pdf(markdown, &RenderOptions::default()),
            Err(RenderError::NestingTooDeep { .. })
        )
    });
    for markdown in [Some(quotes), Some(lists), Some(mixed), deepest].into_iter().flatten() {
        let pages = folio_render::render_pages_svg(&markdown, &RenderOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(pages.pages.iter().all(|svg| svg.starts_with("<svg")), "{markdown}");
    }
}

#[test]
fn page_cap_is_checked_after_layout() {
    let long: String =
        (0..400).map(|i| format!("Paragraph {i} with some words in it.\n\n")).collect();
    let options = RenderOptions {
        limits: Limits { max_pages: 3, ..Limits::default() },
        ..Default::default()
    };
    match render_pdf(&long, &options) {
        Err(RenderError::PageLimitExceeded { pages, limit: 3 }) => assert!(pages > 3),
        other => panic!("expected page_limit_exceeded, got {other:?}"),
    }
}

#[test]
fn invalid_utf8_is_a_clear_error() {
    let bytes = b"# Title\n\nline two \xff\xfe here";
    match decode_markdown(bytes) {
        Err(RenderError::InvalidUtf8 { offset: 18, line: 3 }) => {}
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(decode_markdown("ok ✓".as_bytes()), Ok("ok ✓"));
}

#[test]
fn empty_documents_are_refused() {
    for empty in ["", "   \n\n  ", "---\ntitle: x\n---\n"] {
        let result = render_pdf(empty, &RenderOptions::default());
        assert!(matches!(result, Err(RenderError::Empty)), "{empty:?}: {result:?}");
    }
}

#[test]
fn a_typesetter_panic_costs_only_the_line_breaking() {
    // Found by the markdown-noise property test: this input trips an assertion inside Typst's
    // optimized line breaker ("bounded inline layout is incomplete").
    let markdown = "---[^n]: $```$---$- #read(\"x\")\\frac{  [l](https://e.org)  <b><script>```<script>$$\\frac{---<img alt=x>\\frac{$$\n[^n]1. ---\n";
    let rendered = render(markdown);
    assert!(rendered.pdf.starts_with(b"%PDF-"));
    assert!(
        rendered.warnings.iter().any(|w| w.message.contains("line breaking")),
        "{:?}",
        rendered.warnings
    );
}

/// The audit's small inputs with a huge layout cost (F2), each refused before layout with its
/// code and line. Each took seconds to minutes and gigabytes before; here the refusal itself is
/// the proof that no layout ran (layout is the only place they could cost that).
#[test]
fn layout_bombs_are_refused_before_layout() {
    // 8.5 KB: a header of 2,000 columns over 250 one-word rows (500,000 cells once completed).
    let table =
        format!("intro\n\n|{}\n|{}\n{}", "c|".repeat(2000), "-|".repeat(2000), "|x|\n".repeat(250));
    match render_pdf(&table, &RenderOptions::default()) {
        Err(RenderError::TooComplex { line: 3, what }) => assert!(what.contains("50000"), "{what}"),
        other => panic!("{:?}", other.map(|r| r.warnings)),
    }
    // 20,000 footnotes.
    let footnotes: String = (0..20_000).map(|i| format!("a[^{i}]\n\n[^{i}]: n\n\n")).collect();
    match render_pdf(&footnotes[..footnotes.len().min(500 * 1024)], &RenderOptions::default()) {
        Err(RenderError::TooComplex { what, .. }) => assert!(what.contains("footnotes"), "{what}"),
        other => panic!("{:?}", other.map(|r| r.warnings)),
    }
    // The book theme: 30,000 chapters, each opening a page; and 30,000 page breaks anywhere.
    let chapters = format!("---\ntheme: book\n---\n{}", "# a\n".repeat(30_000));
    let breaks = "a\n\n<!-- pagebreak -->\n\n".repeat(10_000);
    for (name, markdown) in [("chapters", chapters), ("page breaks", breaks)] {
        match render_pdf(&markdown, &RenderOptions::default()) {
            Err(RenderError::PageLimitExceeded { pages, limit: 500 }) => {
                assert!(pages > 10_000, "{name}: {pages}")
            }
            other => panic!("{name}: {:?}", other.map(|r| r.warnings)),
        }
    }
    // Weak breaks in a row make one page: a thousand markers around little content are fine.
    let harmless = format!("a\n\n{}b\n", "<!-- pagebreak -->\n\n".repeat(1000));
    assert!(render_pdf(&harmless, &RenderOptions::default()).is_ok());
}

/// A PNG header claiming 100,000 × 100,000 pixels (a decompression bomb needs nothing more to
/// be refused: the count comes from the header, before any decoding).
#[test]
fn images_with_too_many_pixels_are_refused_before_decoding() {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    // A first data chunk (decoders read the header up to it), then the end.
    for (kind, data) in [(&b"IDAT"[..], &b"\x78\x9c\x03\x00\x00\x00\x00\x01"[..]), (b"IEND", b"")] {
        let mut chunk = kind.to_vec();
        chunk.extend(data);
        png.extend(u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        png.extend(&chunk);
        png.extend(crc32(&chunk).to_be_bytes());
    }
    let options = RenderOptions {
        assets: [("bomb.png".to_owned(), png)].into_iter().collect(),
        ..Default::default()
    };
    match render_pdf("# Photo\n\n![b](bomb.png)\n", &options) {
        Err(RenderError::TooComplex { line: 3, what }) => {
            assert!(what.contains("pixels"), "{what}")
        }
        other => panic!("{:?}", other.map(|r| r.warnings)),
    }
}
