//! What a reader relies on: structure, links, images, metadata, warnings with lines, previews.

use std::collections::BTreeSet;

use folio_render::{Assets, Paper, RenderOptions, WarningKind, render_html, render_pages_svg};
use lopdf::{Document, Object};

use crate::{pdf_text, render, render_with};

/// A small PNG made for these tests.
const PNG: &[u8] = include_bytes!("../fixtures/dot.png");

pub(crate) fn load(pdf: &[u8]) -> Document {
    match Document::load_mem(pdf) {
        Ok(doc) => doc,
        Err(err) => panic!("invalid PDF: {err}"),
    }
}

/// Every string value stored under `key` anywhere in the PDF, nested dictionaries included.
pub(crate) fn strings_under(doc: &Document, key: &[u8]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack: Vec<&Object> = doc.objects.values().collect();
    while let Some(object) = stack.pop() {
        match object {
            Object::Dictionary(dict) => {
                for (k, v) in dict.iter() {
                    match v {
                        Object::String(bytes, _) if k.as_slice() == key => {
                            found.insert(String::from_utf8_lossy(bytes).into_owned());
                        }
                        other => stack.push(other),
                    }
                }
            }
            Object::Array(items) => stack.extend(items.iter()),
            _ => {}
        }
    }
    found
}

fn count_images(doc: &Document) -> usize {
    doc.objects
        .values()
        .filter(|o| match o {
            Object::Stream(s) => {
                s.dict.get(b"Subtype").ok().and_then(|v| v.as_name().ok())
                    == Some(b"Image".as_slice())
            }
            _ => false,
        })
        .count()
}

#[test]
fn headings_become_bookmarks() {
    let rendered = render("# One\n\ntext\n\n## Two *styled*\n\ntext\n\n### Three\n");
    let doc = load(&rendered.pdf);
    let toc = doc.get_toc().map(|t| t.toc.into_iter().map(|e| e.title).collect::<Vec<_>>());
    assert_eq!(toc.ok(), Some(vec!["One".to_owned(), "Two styled".to_owned(), "Three".to_owned()]));
}

#[test]
fn only_allowed_schemes_become_links() {
    let rendered = render(
        "[web](https://example.com/a?b=1) [mail](mailto:a@example.com) [js](javascript:alert(1)) \
         [file](file:///etc/passwd) [rel](other.md) <https://auto.example.org>\n\n# Target\n\n[anchor](#target)",
    );
    let doc = load(&rendered.pdf);
    let uris = strings_under(&doc, b"URI");
    assert_eq!(
        uris,
        BTreeSet::from([
            "https://example.com/a?b=1".to_owned(),
            "mailto:a@example.com".to_owned(),
            "https://auto.example.org".to_owned(),
        ])
    );
    let text = pdf_text(&rendered.pdf);
    for word in ["web", "mail", "js", "file", "rel", "anchor"] {
        assert!(text.contains(word), "{word} missing");
    }
    let dropped: Vec<_> =
        rendered.warnings.iter().filter(|w| w.kind == WarningKind::LinkDropped).collect();
    assert_eq!(dropped.len(), 3, "{dropped:?}");
}

#[test]
fn supplied_images_are_embedded_and_others_are_placeholders() {
    let mut assets = Assets::new();
    assets.insert("img/dot.png".to_owned(), PNG.to_vec());
    let options = RenderOptions { assets, ..Default::default() };
    let markdown =
        "![a dot](img/dot.png)\n\n![remote](https://example.com/x.png)\n\n![missing](nope.png)\n";
    let rendered = render_with(markdown, &options);
    assert_eq!(count_images(&load(&rendered.pdf)), 1);
    let text = pdf_text(&rendered.pdf);
    assert!(text.contains("remote") && text.contains("missing"), "{text}");
    let lines: Vec<_> = rendered
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::ImageMissing)
        .map(|w| w.line)
        .collect();
    assert_eq!(lines, [3, 5]);
}

#[test]
fn a_corrupt_image_costs_only_itself() {
    let mut corrupt = PNG[..20].to_vec();
    corrupt.extend_from_slice(b"garbage garbage garbage");
    let mut assets = Assets::new();
    assets.insert("bad.png".to_owned(), corrupt);
    let options = RenderOptions { assets, ..Default::default() };
    let rendered = render_with("Before.\n\n![broken](bad.png)\n\nAfter.", &options);
    let text = pdf_text(&rendered.pdf);
    assert!(
        text.contains("Before.") && text.contains("After.") && text.contains("broken"),
        "{text}"
    );
    assert!(rendered.warnings.iter().any(|w| w.kind == WarningKind::ImageMissing && w.line == 3));
}

#[test]
fn math_is_typeset_and_unsafe_math_falls_back_to_code() {
    let rendered =
        render("Inline $a^2 + b^2 = c^2$ and display:\n\n$$\\int_0^1 x\\,dx = \\frac{1}{2}$$\n");
    assert!(
        !rendered.warnings.iter().any(|w| w.kind == WarningKind::MathFallback),
        "{:?}",
        rendered.warnings
    );
    let rendered = render("Line one\n\n$\\iftypst #read(\"/etc/passwd\") \\fi$\n");
    let text = pdf_text(&rendered.pdf);
    assert!(!text.contains("root:"), "{text}");
    let rendered = render(&format!("x\n\n${}y{}$", "{".repeat(40), "}".repeat(40)));
    let fallback: Vec<_> =
        rendered.warnings.iter().filter(|w| w.kind == WarningKind::MathFallback).collect();
    assert_eq!(fallback.len(), 1);
    assert_eq!(fallback[0].line, 3);
}

#[test]
fn raw_html_keeps_text_drops_active_content_and_warns_with_lines() {
    let markdown = "Intro.\n\n<div align=\"center\">\n  <b>Kept</b> <kbd>Ctrl</kbd>+<kbd>C</kbd> H<sub>2</sub>O x<sup>2</sup>\n  <script>stolen()</script><style>p{}</style>\n  <iframe src=\"https://evil\">framed</iframe>\n</div>\n\nInline <span>span text</span> and <marquee>tag</marquee> and <script>alert(1)</script>.\n";
    let rendered = render(markdown);
    let text = pdf_text(&rendered.pdf);
    for kept in ["Kept", "Ctrl", "H", "2", "O", "span text", "tag"] {
        assert!(text.contains(kept), "{kept} missing: {text}");
    }
    for dropped in ["stolen", "framed", "alert"] {
        assert!(!text.contains(dropped), "{dropped} shown: {text}");
    }
    let html: Vec<_> = rendered
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::HtmlDropped)
        .map(|w| w.line)
        .collect();
    assert_eq!(html, [5, 5, 6, 9, 9], "{:?}", rendered.warnings);
}

#[test]
fn front_matter_sets_metadata_paper_and_contents() {
    let markdown = "---\ntitle: The Title\nauthor: Ada\npaper: us-letter\ntoc: true\nlang: de\n---\n\n# Kapitel\n\nText.\n";
    let rendered = render(markdown);
    assert_eq!(rendered.title, "The Title");
    let doc = load(&rendered.pdf);
    let text = pdf_text(&rendered.pdf);
    assert!(text.contains("The Title") && text.contains("Ada"), "{text}");
    assert!(text.contains("Inhaltsverzeichnis"), "German contents heading: {text}");
    let media_boxes: Vec<_> = doc
        .page_iter()
        .filter_map(|id| {
            doc.get_dictionary(id).ok()?.get(b"MediaBox").ok()?.as_array().ok().cloned()
        })
        .collect();
    let width = media_boxes.first().and_then(|b| b.get(2)).and_then(|w| w.as_float().ok());
    assert_eq!(width.map(f32::round), Some(612.0), "US Letter is 612pt wide");
    // Explicit options win over front matter.
    let options = RenderOptions {
        paper: Some(Paper::A5),
        title: Some("Override".into()),
        ..Default::default()
    };
    assert_eq!(render_with(markdown, &options).title, "Override");
}

#[test]
fn output_is_reproducible_without_a_timestamp() {
    let markdown = "# Same\n\nSame text, same bytes.";
    assert_eq!(render(markdown).pdf, render(markdown).pdf);
}

#[test]
fn page_svgs_come_from_the_same_layout() {
    let long: String =
        (0..120).map(|i| format!("Paragraph {i} of a longer document.\n\n")).collect();
    let pages = render_pages_svg(&long, &RenderOptions::default()).map_err(|e| e.to_string());
    let pages = pages.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pages.pages.len(), render(&long).pages);
    assert!(pages.pages.len() > 1);
    assert!(pages.pages.iter().all(|svg| svg.starts_with("<svg")));
}

#[test]
fn page_lines_say_where_each_line_is_in_reading_order() {
    // Contents, a running heading in the TOC, a footnote at the foot of a page, a table, a
    // list, code and many paragraphs: three or more pages.
    let mut markdown = String::from("# Notes\n\nOpening words with a note.[^n]\n\n");
    for section in 1..=6 {
        markdown.push_str(&format!("## Section {section}\n\n"));
        for paragraph in 1..=5 {
            markdown.push_str(&format!(
                "Paragraph {paragraph} of section {section}. {}\n\n",
                "Words that fill the page. ".repeat(12)
            ));
        }
    }
    markdown.push_str("| Fruit | Count |\n|---|---|\n| Pears | 5 |\n\n- an item\n\n```\ncode\n```\n\nThe end.\n\n[^n]: The note's text.\n");
    let options = RenderOptions { toc: Some(true), ..RenderOptions::default() };
    let pages = render_pages_svg(&markdown, &options).unwrap_or_else(|e| panic!("{e}"));
    let line_of = |needle: &str| {
        markdown.lines().position(|l| l.starts_with(needle)).map(|i| i + 1).unwrap_or(0)
    };
    assert_eq!(pages.lines.len(), pages.pages.len());
    assert!(pages.pages.len() >= 3, "{} pages", pages.pages.len());
    let all: Vec<(usize, &folio_render::LineBox)> = pages
        .lines
        .iter()
        .enumerate()
        .flat_map(|(page, boxes)| boxes.iter().map(move |b| (page, b)))
        .collect();
    // Lines never go back, and every box lies on its page.
    for pair in all.windows(2) {
        assert!(pair[0].1.line <= pair[1].1.line, "{:?}", pair);
    }
    for (_, b) in &all {
        assert!(0.0 <= b.top && b.top <= b.bottom && b.bottom <= 1.0, "{b:?}");
    }
    // The first heading is on the first page, below the contents that repeat it; the last
    // words on the last page; the table row, list item and code each have a box.
    let heading = line_of("## Section 1");
    let first_page: Vec<usize> = pages.lines[0].iter().map(|b| b.line).collect();
    assert!(first_page.contains(&1) && first_page.contains(&heading), "{first_page:?}");
    assert_eq!(first_page.iter().filter(|&&l| l == heading).count(), 1, "{first_page:?}");
    let last = pages.lines.last().map(|b| b.iter().map(|b| b.line).collect::<Vec<_>>());
    let last = last.unwrap_or_default();
    for needle in ["| Pears", "- an item", "```", "The end."] {
        assert!(
            last.contains(&line_of(needle)),
            "{needle} (line {}) not in {last:?}",
            line_of(needle)
        );
    }
    // The footnote's text (its definition is the last line) is not in the flow, and the words
    // after the note's mark are the paragraph's again.
    assert!(!all.iter().any(|(_, b)| b.line == line_of("[^n]:")), "{all:?}");
    // Boxes of one page go down the page.
    for boxes in &pages.lines {
        for pair in boxes.windows(2) {
            assert!(pair[0].top <= pair[1].top, "{boxes:?}");
        }
    }
}

#[test]
fn html_preview_marks_each_block_with_its_line() {
    let markdown = "---\ntitle: T\n---\n\n# Head\n\n- one\n- two\n\n| a | b |\n|---|---|\n| c | d |\n| e | f |\n\n```\nx\n```\n";
    let preview =
        render_html(markdown, &RenderOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    for fragment in [
        "<header class=\"front-matter\" data-line=\"1\">",
        "<h1 data-line=\"5\"",
        "<li data-line=\"7\">one</li><li data-line=\"8\">two</li>",
        "<tr data-line=\"10\"><th>a</th>",
        "<tr data-line=\"12\"><td>c</td>",
        "<tr data-line=\"13\"><td>e</td>",
        "<pre data-line=\"15\">",
    ] {
        assert!(preview.html.contains(fragment), "{fragment} not in {}", preview.html);
    }
}

#[test]
fn html_preview_follows_the_same_policy() {
    let preview = render_html(
        "# Title\n\n[ok](https://e.org) [bad](javascript:x) <script>x()</script>\n\n![img](a.png)\n",
        &RenderOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        preview.html.contains("<h1 data-line=\"1\" id=\"doc-title\">Title</h1>"),
        "{}",
        preview.html
    );
    assert!(preview.html.contains("href=\"https://e.org\""));
    assert!(!preview.html.contains("javascript") && !preview.html.contains("<script"));
    assert!(preview.html.contains("image-placeholder"));
    assert!(preview.warnings.iter().any(|w| w.kind == WarningKind::HtmlDropped && w.line == 3));
}

#[test]
fn preview_ids_cannot_take_the_ids_of_the_app_around_them() {
    // The audit's draft: headings named like the app's dialog and toast region.
    let markdown = "# Confirm\n\n## Toasts\n\n### confirm-ok\n\nSee [top](#confirm) and a note[^n].\n\n[^n]: x\n";
    let preview =
        render_html(markdown, &RenderOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> =
        preview.html.split(" id=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
    assert_eq!(
        ids,
        ["doc-confirm", "doc-toasts", "doc-confirm-ok", "doc-fn-1"],
        "{}",
        preview.html
    );
    assert!(preview.html.contains("href=\"#doc-confirm\""), "{}", preview.html);
    assert!(preview.html.contains("href=\"#doc-fn-1\""), "{}", preview.html);
}

#[test]
fn warnings_name_their_markdown_lines() {
    let rendered = render("line 1\n\nline 3 [x](ftp://a)\n\n- item\n- ![r](http://x/y.png)\n");
    let lines: Vec<_> = rendered.warnings.iter().map(|w| (w.kind, w.line)).collect();
    assert_eq!(lines, [(WarningKind::LinkDropped, 3), (WarningKind::ImageMissing, 6)]);
}

#[test]
fn page_svgs_are_well_formed_xml_for_any_link_url() {
    // F11: `&` in a query string made the page SVG malformed (it would not display).
    let markdown = "[q](https://example.com/?a=1&b=2) [lt](https://evil.example/\"><script>alert(1)</script>) [b](https://e.org/a?q=x|y^z&w={1})\n";
    let pages =
        render_pages_svg(markdown, &RenderOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    for svg in &pages.pages {
        let document = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}"));
        let hrefs: Vec<&str> = document
            .descendants()
            .filter_map(|n| n.attribute("href"))
            .filter(|h| h.starts_with("http"))
            .collect();
        assert_eq!(
            hrefs,
            [
                "https://example.com/?a=1&b=2",
                "https://evil.example/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
                "https://e.org/a?q=x%7Cy%5Ez&w=%7B1%7D",
            ]
        );
        assert!(!svg.contains("<script"));
    }
}

#[test]
fn near_miss_front_matter_never_fails_a_render() {
    // F13: `lang: en_US` passed folio's check, then Typst refused it and the render failed.
    for front in [
        "lang: en_US",
        "lang: de-CH",
        "lang: english",
        "lang: [en]",
        "paper: a0",
        "font-size: huge",
        "margin: 1000mm",
        "date: 2026-13-45",
        "toc: maybe",
        "theme: fancy",
        "numbering: 3",
    ] {
        let markdown = format!("---\n{front}\n---\n# x\n\ntext\n");
        let rendered = folio_render::render_pdf(&markdown, &RenderOptions::default());
        assert!(rendered.is_ok(), "{front}: {:?}", rendered.err());
    }
}
