//! The look and the standards, checked on rendered PDFs: themes, contents, numbering, running
//! header and page numbers, page breaks, font coverage, metadata and provenance, PDF/A and
//! PDF/UA, the attached source.

use folio_render::{
    FontSet, PdfStandard, RenderError, RenderOptions, Theme, WarningKind, render_pdf,
};
use lopdf::{Document, Object};

use crate::rendering::{load, strings_under};
use crate::{pdf_text, render, render_with};

/// Three pages of headed sections, so headers and page numbers show.
fn long_document() -> String {
    let mut markdown = String::from("---\ntitle: Field Notes\n---\n\n");
    for chapter in ["Introduction", "Method", "Results"] {
        markdown.push_str(&format!("# {chapter}\n\n## Part of {chapter}\n\n"));
        for i in 0..24 {
            markdown.push_str(&format!(
                "Paragraph {i} of {chapter}, long enough to fill a line or two of the page with words.\n\n"
            ));
        }
    }
    markdown
}

fn pages_text(pdf: &[u8]) -> Vec<String> {
    match pdf_extract::extract_text_from_mem_by_pages(pdf) {
        Ok(pages) => pages,
        Err(err) => panic!("could not extract text: {err}"),
    }
}

/// The base names of the fonts a PDF uses (`ABCDEF+DejaVuSans` → `DejaVuSans`).
fn font_names(doc: &Document) -> Vec<String> {
    let mut names: Vec<String> = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"Type").ok().and_then(|t| t.as_name().ok()) == Some(b"Font".as_slice()))
        .filter_map(|d| {
            d.get(b"BaseFont").ok()?.as_name().ok().map(|n| String::from_utf8_lossy(n).into_owned())
        })
        .map(|n| n.split_once('+').map_or(n.clone(), |(_, base)| base.to_owned()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Every stream's (decompressed) content as text: XMP metadata, attached files.
fn streams(doc: &Document) -> Vec<String> {
    doc.objects
        .values()
        .filter_map(|o| match o {
            Object::Stream(s) => {
                let bytes = s.decompressed_content().unwrap_or_else(|_| s.content.clone());
                Some(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => None,
        })
        .collect()
}

fn with_theme(theme: Theme) -> RenderOptions {
    RenderOptions { theme: Some(theme), ..RenderOptions::default() }
}

#[test]
fn each_theme_has_its_own_faces_and_page_furniture() {
    let markdown = long_document();
    let fonts = |theme| font_names(&load(&render_with(&markdown, &with_theme(theme)).pdf));
    let classic = fonts(Theme::Classic);
    let report = fonts(Theme::Report);
    let book = fonts(Theme::Book);
    assert!(classic.iter().any(|f| f.starts_with("LibertinusSerif")), "{classic:?}");
    assert!(report.iter().any(|f| f.starts_with("DejaVuSans")), "{report:?}");
    assert!(book.iter().any(|f| f.starts_with("NewCM")), "{book:?}");

    // Running header with the title from page 2, and page numbers; the report counts pages.
    let report_pages = pages_text(&render_with(&markdown, &with_theme(Theme::Report)).pdf);
    let total = report_pages.len();
    assert!(total >= 3, "{total} pages");
    assert!(report_pages[1].contains("Field Notes"), "header: {}", report_pages[1]);
    assert!(report_pages[1].contains(&format!("2 / {total}")), "{}", report_pages[1]);
    let classic_pages = pages_text(&render(&markdown).pdf);
    assert!(classic_pages[1].contains("Field Notes"));
    assert!(classic_pages[1].split_whitespace().any(|w| w == "2"), "{}", classic_pages[1]);

    // The book starts every chapter on a new page and numbers its headings.
    let book_pages = pages_text(&render_with(&markdown, &with_theme(Theme::Book)).pdf);
    for (number, chapter) in [(1, "Introduction"), (2, "Method"), (3, "Results")] {
        let heading = format!("{number} {chapter}");
        let page = book_pages.iter().position(|p| p.contains(&heading));
        let page = page.unwrap_or_else(|| panic!("no page has {heading:?}"));
        let before = book_pages[page].split(&heading).next().unwrap_or_default();
        assert!(!before.contains("Paragraph"), "{heading} opens its page: {}", book_pages[page]);
    }
    assert!(book_pages.iter().any(|p| p.contains("1.1 Part of Introduction")));
}

#[test]
fn numbering_and_contents_follow_options_then_front_matter() {
    let markdown = "# Alpha\n\n## Beta\n\ntext\n\n# Gamma\n";
    let plain = pdf_text(&render(markdown).pdf);
    assert!(!plain.contains("1 Alpha") && !plain.contains("Contents"), "{plain}");

    let numbered = RenderOptions { numbering: Some(true), toc: Some(true), ..Default::default() };
    let text = pdf_text(&render_with(markdown, &numbered).pdf);
    assert!(
        text.contains("1 Alpha") && text.contains("1.1 Beta") && text.contains("2 Gamma"),
        "{text}"
    );
    assert!(text.contains("Contents"), "{text}");

    let front = "---\nnumbering: true\ntheme: report\n---\n\n# Alpha\n";
    assert!(pdf_text(&render(front).pdf).contains("1 Alpha"));
    // The flag beats the front matter, and beats the book's own numbering.
    let off =
        RenderOptions { numbering: Some(false), theme: Some(Theme::Book), ..Default::default() };
    assert!(!pdf_text(&render_with(front, &off).pdf).contains("1 Alpha"));
}

#[test]
fn page_break_markers_start_a_new_page_and_show_nothing() {
    let one = render("First.\n\nSecond.\n");
    assert_eq!(one.pages, 1);
    for marker in [
        "<!-- pagebreak -->",
        "<!-- page-break -->",
        "<!-- NEWPAGE -->",
        "\\newpage",
        "\\pagebreak",
    ] {
        let rendered = render(&format!("First.\n\n{marker}\n\nSecond.\n"));
        assert_eq!(rendered.pages, 2, "{marker}");
        let pages = pages_text(&rendered.pdf);
        assert!(pages[0].contains("First") && pages[1].contains("Second"), "{marker}: {pages:?}");
        assert!(!pages.concat().contains("newpage") && !pages.concat().contains("pagebreak"));
        assert!(rendered.warnings.is_empty(), "{marker}: {:?}", rendered.warnings);
    }
    // Inside a paragraph or a code block it is just text.
    let text = pdf_text(&render("Say \\newpage here.\n\n```\n\\newpage\n```\n").pdf);
    assert_eq!(text.matches("newpage").count(), 2, "{text}");
}

#[test]
fn metadata_carries_title_author_date_keywords_and_provenance() {
    let markdown = "---\ntitle: Provenance\nauthor: [Ada, Grace]\ndate: 2024-02-29\nkeywords: [alpha, beta]\n---\n\nBody.\n";
    let doc = load(&render(markdown).pdf);
    let titles = strings_under(&doc, b"Title");
    assert!(titles.contains("Provenance"), "{titles:?}");
    let authors = strings_under(&doc, b"Author");
    assert!(authors.iter().any(|a| a.contains("Ada") && a.contains("Grace")), "{authors:?}");
    let dates = strings_under(&doc, b"CreationDate");
    assert!(dates.iter().any(|d| d.starts_with("D:20240229")), "{dates:?}");
    let keywords = strings_under(&doc, b"Keywords").into_iter().collect::<Vec<_>>().join(" ");
    let digest: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(markdown.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert!(keywords.contains("alpha") && keywords.contains("beta"), "{keywords}");
    assert!(keywords.contains(&format!("folio-source-sha256:{digest}")), "{keywords}");
    let versions = folio_render::engine_versions();
    assert!(keywords.contains(&format!("typst {}", versions.typst)), "{keywords}");
    assert!(keywords.contains(&format!("folio {}", versions.folio_render)), "{keywords}");
    // A date that is not a day is shown but not claimed as metadata.
    let doc = load(&render("---\ndate: 2023-02-30\n---\n\nBody.\n").pdf);
    assert!(strings_under(&doc, b"CreationDate").is_empty());
}

#[test]
fn pdfs_are_tagged_and_meet_the_standards_asked_for() {
    let markdown =
        "---\ntitle: Archive\n---\n\n# Archive\n\nText with a [link](https://example.com).\n";
    let tagged = load(&render(markdown).pdf);
    assert!(tagged.catalog().is_ok_and(|c| c.has(b"StructTreeRoot")), "tagged by default");

    let options = |standards: Vec<PdfStandard>| RenderOptions {
        standards,
        timestamp: Some(1_700_000_000),
        ..Default::default()
    };
    let a2b = streams(&load(&render_with(markdown, &options(vec![PdfStandard::A2b])).pdf)).concat();
    assert!(
        a2b.contains("<pdfaid:part>2</pdfaid:part>")
            && a2b.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "XMP of PDF/A-2b"
    );
    let ua = streams(&load(&render_with(markdown, &options(vec![PdfStandard::Ua1])).pdf)).concat();
    assert!(ua.contains("<pdfuaid:part>1</pdfuaid:part>"), "XMP of PDF/UA-1");
    let both = options(vec![PdfStandard::A2b, PdfStandard::Ua1]);
    let both = streams(&load(&render_with(markdown, &both).pdf)).concat();
    assert!(both.contains("pdfaid:part") && both.contains("pdfuaid:part"));
    // Two archival levels at once cannot be met: refused with a reason, before any work.
    let two = render_pdf(markdown, &options(vec![PdfStandard::A2b, PdfStandard::A3b]));
    assert!(
        matches!(&two, Err(RenderError::Unsupported(m)) if m.contains("a-2b + a-3b")),
        "{:?}",
        two.map(|r| r.pages)
    );
}

#[test]
fn the_source_can_be_attached_where_the_standard_allows_it() {
    let markdown = "# Attached\n\nThe source travels with the PDF: ünïcödé too.\n";
    let attach = |standards| RenderOptions {
        attach_source: true,
        standards,
        timestamp: Some(1_700_000_000),
        ..Default::default()
    };
    for standards in [vec![], vec![PdfStandard::A3b]] {
        let doc = load(&render_with(markdown, &attach(standards.clone())).pdf);
        let names = strings_under(&doc, b"UF");
        assert!(names.contains("source.md"), "{standards:?}: {names:?}");
        assert!(streams(&doc).iter().any(|s| s == markdown), "{standards:?}: the exact bytes");
    }
    let refused = render_pdf(markdown, &attach(vec![PdfStandard::A2b]));
    assert!(
        matches!(&refused, Err(RenderError::Unsupported(m)) if m.contains("A-3b")),
        "{refused:?}"
    );
    assert_eq!(refused.err().map(|e| e.code()), Some("invalid_request"));
    // Without the option nothing is attached.
    assert!(!strings_under(&load(&render(markdown).pdf), b"UF").contains("source.md"));
}

#[test]
fn characters_no_font_can_draw_are_named_with_their_line() {
    let rendered =
        render("# Fonts\n\nLatin, Ελληνικά, кириллица, ∑ math.\n\nHere: 漢字 and again 漢.\n");
    let missing: Vec<_> =
        rendered.warnings.iter().filter(|w| w.kind == WarningKind::MissingGlyph).collect();
    assert_eq!(missing.len(), 2, "one warning per character: {missing:?}");
    assert!(missing.iter().all(|w| w.line == 5));
    assert!(missing[0].message.contains('漢') && missing[0].message.contains("U+6F22"));
    assert!(missing[1].message.contains('字'));
    // The warning names the script and says how to add a font, for the CLI and the server.
    assert!(missing[0].message.contains("Han script"), "{}", missing[0].message);
    assert!(missing[0].message.contains("--font-dir"), "{}", missing[0].message);
    assert!(missing[0].message.contains("FOLIO_FONT_DIR"), "{}", missing[0].message);
    let kana = render("かな and 한글 and 👍\n");
    let named: Vec<&str> = kana
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::MissingGlyph)
        .map(|w| w.message.as_str())
        .collect();
    assert!(named.iter().any(|m| m.contains("Hiragana script")), "{named:?}");
    assert!(named.iter().any(|m| m.contains("Hangul script")), "{named:?}");
    // Every embedded script is covered: no false alarms.
    let clean = render("Ελληνικά кириллица — “quotes” • ünïcödé ∑ → ✓\n\n```\ncode ─┼─\n```\n");
    assert!(
        clean.warnings.iter().all(|w| w.kind != WarningKind::MissingGlyph),
        "{:?}",
        clean.warnings
    );
    // Hundreds of missing characters: twenty named, the rest counted.
    let many: String = ('\u{4E00}'..'\u{4F00}').collect();
    let rendered = render(&many);
    let missing: Vec<_> =
        rendered.warnings.iter().filter(|w| w.kind == WarningKind::MissingGlyph).collect();
    assert_eq!(missing.len(), 21);
    assert!(missing[20].message.starts_with("236 more characters"), "{}", missing[20].message);
}

#[test]
fn standards_refuse_undrawable_characters_with_the_line() {
    let options = RenderOptions {
        standards: vec![PdfStandard::A2b],
        timestamp: Some(1_700_000_000),
        ..Default::default()
    };
    let result = render_pdf("Fine.\n\nNot fine: 漢.\n", &options);
    match result {
        Err(RenderError::StandardUnmet(message)) => {
            assert!(message.contains("line 3") && message.contains("U+6F22"), "{message}")
        }
        other => panic!("expected a refusal, got {:?}", other.map(|r| r.pages)),
    }
}

#[test]
fn sizes_and_margins_out_of_range_are_refused_before_rendering() {
    let out_of_range = [
        RenderOptions { font_size: Some(100.0), ..Default::default() },
        RenderOptions { font_size: Some(f64::NAN), ..Default::default() },
        RenderOptions { font_size: Some(-11.0), ..Default::default() },
        RenderOptions { margin_mm: Some(f64::INFINITY), ..Default::default() },
        RenderOptions { margin_mm: Some(1.0), ..Default::default() },
    ];
    for options in out_of_range {
        let refused = render_pdf("# Hi\n\nText", &options).err();
        assert!(
            matches!(&refused, Some(RenderError::Unsupported(m)) if m.contains(" to ")),
            "{options:?}: {refused:?}"
        );
    }
    let edges = RenderOptions { font_size: Some(24.0), margin_mm: Some(5.0), ..Default::default() };
    assert!(render_pdf("# Hi\n\nText", &edges).is_ok());
}

#[test]
fn pdf_a_needs_a_date_from_the_front_matter_or_the_caller() {
    let options = RenderOptions { standards: vec![PdfStandard::A2b], ..Default::default() };
    let undated = render_pdf("# Undated\n", &options);
    assert!(
        matches!(&undated, Err(RenderError::Unsupported(m)) if m.contains("date")),
        "{:?}",
        undated.map(|r| r.pages)
    );
    assert!(render_pdf("---\ndate: 2025-06-01\n---\n\n# Dated\n", &options).is_ok());
}

#[test]
fn a_font_dir_that_is_missing_or_empty_is_a_typed_error() {
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(FontSet::with_dir(empty.path()), Err(folio_render::FontError::NoFonts(_))));
    assert!(matches!(
        FontSet::with_dir(&empty.path().join("nope")),
        Err(folio_render::FontError::Read { .. })
    ));
    std::fs::write(empty.path().join("broken.ttf"), b"not a font")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(FontSet::with_dir(empty.path()), Err(folio_render::FontError::NoFonts(_))));
}

/// With a CJK font added, the same characters are drawn and nothing is reported. Needs a font
/// file with CJK glyphs: `FOLIO_CJK_FONT_DIR` (`.ci/run` installs Debian's fonts-droid-fallback).
#[test]
#[ignore = "needs a CJK font; run by .ci/run with FOLIO_CJK_FONT_DIR"]
fn an_added_cjk_font_draws_what_the_embedded_fonts_cannot() {
    let dir = std::env::var("FOLIO_CJK_FONT_DIR").unwrap_or_else(|_| {
        panic!("FOLIO_CJK_FONT_DIR is not set: point it at a folder with a CJK font")
    });
    let fonts = FontSet::with_dir(std::path::Path::new(&dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(fonts.covers('漢'));
    let options = RenderOptions { fonts: Some(fonts), ..Default::default() };
    let rendered = render_with("# 漢字\n\nこんにちは、世界。\n", &options);
    assert!(
        rendered.warnings.iter().all(|w| w.kind != WarningKind::MissingGlyph),
        "{:?}",
        rendered.warnings
    );
    let text = pdf_text(&rendered.pdf);
    assert!(text.contains("漢字") && text.contains("こんにちは"), "{text}");
    // And a standard is met once every character has a font.
    let archival = RenderOptions { standards: vec![PdfStandard::A2b], ..options };
    assert!(render_pdf("---\ndate: 2025-01-01\n---\n\n漢字\n", &archival).is_ok());
}

/// The left edge of the first page's text, in points: the smallest x of the
/// `matrix(1 0 0 -1 x y)` with which the page preview's SVG places each text run.
fn text_left(markdown: &str, options: &RenderOptions) -> f32 {
    let pages = folio_render::render_pages_svg(markdown, options).unwrap_or_else(|e| panic!("{e}"));
    pages.pages[0]
        .split("matrix(1 0 0 -1 ")
        .skip(1)
        .filter_map(|rest| rest.split(' ').next()?.parse::<f32>().ok())
        .fold(f32::MAX, f32::min)
}

#[test]
fn margins_follow_options_then_front_matter_then_theme() {
    let markdown = "Text at the margin.\n";
    let with_front = format!("---\nmargin: 1in\n---\n\n{markdown}");
    let theme_left = text_left(markdown, &RenderOptions::default());
    let front_left = text_left(&with_front, &RenderOptions::default());
    let flag = RenderOptions { margin_mm: Some(10.0), ..Default::default() };
    let flag_left = text_left(&with_front, &flag);
    assert!((theme_left - 2.3 / 2.54 * 72.0).abs() < 1.0, "classic: 2.3 cm, got {theme_left}");
    assert!((front_left - 72.0).abs() < 1.0, "1in = 72pt, got {front_left}");
    assert!((flag_left - 10.0 / 25.4 * 72.0).abs() < 1.0, "10mm, got {flag_left}");
    let rendered = render(&format!("---\nmargin: 1km\n---\n\n{markdown}"));
    assert!(rendered.warnings.iter().any(|w| w.message.contains("`margin`")));
    assert_eq!(folio_render::parse_margin("2cm"), Some(20.0));
    assert_eq!(folio_render::parse_margin("4mm"), None, "too small to print");
    assert_eq!(folio_render::parse_margin("2 furlongs"), None);
}

#[test]
fn front_matter_font_size_is_checked() {
    let rendered = render("---\nfont-size: 40\n---\n\nText.\n");
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.kind == WarningKind::FrontMatter && w.message.contains("font-size"))
    );
    let rendered = render("---\nfont-size: 12pt\ntheme: nope\n---\n\nText.\n");
    let messages: Vec<_> = rendered.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(messages.iter().all(|m| !m.contains("font-size")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("theme")), "{messages:?}");
}

#[test]
fn the_preview_reuses_unchanged_pages_and_matches_a_fresh_render() {
    let base = long_document();
    let edited =
        base.replacen("Paragraph 3 of Introduction", "Paragraph 3 (edited) of Introduction", 1);
    let pages = |markdown: &str| {
        folio_render::render_pages_svg(markdown, &RenderOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .pages
    };
    let before = pages(&base);
    let after_edit = pages(&edited);
    assert!(before.len() >= 3);
    assert_ne!(before[0], after_edit[0], "the edited page is drawn again");
    assert_eq!(before[before.len() - 1], after_edit[after_edit.len() - 1], "later pages unchanged");
    // The same document after an unrelated one (nothing to reuse) gives the same pages.
    let _ = pages("# Something else entirely\n");
    assert_eq!(pages(&edited), after_edit);
}
