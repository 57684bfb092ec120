//! Compiling a translation with Typst and exporting PDF or page SVGs.

use std::collections::HashMap;
use std::ops::Range;

use rayon::prelude::*;

use typst::WorldExt;
use typst::diag::{SourceDiagnostic, SourceResult, Warned};
use typst::foundations::{Datetime, Smart};
use typst::layout::{Abs, Frame, FrameItem, Point, Transform};
use typst::syntax::{DiagSpan, Span};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, Timestamp};

use crate::cache;
use crate::fonts::missing_glyphs;
use crate::translate::{Fallbacks, FragmentKind, Translation, translate_with_fallbacks};
use crate::warning::{Warning, WarningKind};
use crate::world::SandboxWorld;
use crate::{FontSet, PdfStandard, RenderError, RenderOptions};

/// A rendered PDF.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The PDF bytes (tagged PDF).
    pub pdf: Vec<u8>,
    /// Number of pages.
    pub pages: usize,
    /// The document title used for metadata.
    pub title: String,
    /// What was dropped or replaced, with markdown lines.
    pub warnings: Vec<Warning>,
}

/// Page previews: one SVG per page, from the same layout as the PDF.
#[derive(Debug, Clone)]
pub struct PagesSvg {
    /// One standalone SVG document per page.
    pub pages: Vec<String>,
    /// For each page, where the text of each markdown line was laid out on it, top to bottom
    /// (the editor scrolls the preview to the cursor's line, and maps clicks back to lines).
    pub lines: Vec<Vec<LineBox>>,
    /// The document title.
    pub title: String,
    /// What was dropped or replaced, with markdown lines.
    pub warnings: Vec<Warning>,
}

/// Where one markdown line's text sits on a page, in fractions of the page's height (0 at the
/// top edge, 1 at the bottom).
///
/// Only text in the reading flow is listed: the same heading in the table of contents, in a
/// running header or a footnote's text at the foot of the page is left out, so the lines of a
/// document's boxes never decrease from the first page to the last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineBox {
    /// The markdown line (1-based) of the block the text belongs to.
    pub line: usize,
    /// The top of the text, as a fraction of the page height.
    pub top: f32,
    /// The bottom of the text, as a fraction of the page height.
    pub bottom: f32,
}

/// Renders markdown to a PDF.
pub fn render_pdf(markdown: &str, options: &RenderOptions) -> Result<Rendered, RenderError> {
    let standards = pdf_standards(markdown, options)?;
    let pdf_options = PdfOptions {
        ident: Smart::Auto,
        creator: Smart::Custom(Some(format!(
            "folio {} (Typst {})",
            crate::engine_versions().folio_render,
            crate::engine_versions().typst
        ))),
        timestamp: options.timestamp.and_then(timestamp),
        standards,
        tagged: true,
        ..PdfOptions::default()
    };
    let output = compile(markdown, options, |document, _| typst_pdf::pdf(document, &pdf_options))?;
    Ok(Rendered {
        pdf: output.value,
        pages: output.pages,
        title: output.translation.title,
        warnings: output.warnings,
    })
}

/// The standards Typst is to enforce, after checking the combination.
fn pdf_standards(
    markdown: &str,
    options: &RenderOptions,
) -> Result<typst_pdf::PdfStandards, RenderError> {
    if options.attach_source && options.standards.contains(&PdfStandard::A2b) {
        return Err(RenderError::Unsupported(
            "PDF/A-2b does not allow attachments; attach the source with PDF/A-3b instead".into(),
        ));
    }
    let list: Vec<typst_pdf::PdfStandard> = options
        .standards
        .iter()
        .map(|standard| match standard {
            PdfStandard::A2b => typst_pdf::PdfStandard::A_2b,
            PdfStandard::A3b => typst_pdf::PdfStandard::A_3b,
            PdfStandard::Ua1 => typst_pdf::PdfStandard::Ua_1,
        })
        .collect();
    // The combination first: it costs nothing to check.
    let standards = typst_pdf::PdfStandards::new(&list).map_err(|err| {
        let names: Vec<&str> = options.standards.iter().map(|s| s.name()).collect();
        RenderError::Unsupported(format!(
            "{} cannot be combined: {}",
            names.join(" + "),
            err.message()
        ))
    })?;
    if !list.is_empty() {
        // The standards need every character drawn; Typst's own error names the font, not the
        // line. Say where, and what helps. (This translates once more than the render itself —
        // about a millisecond for 20 KB, paid only when a standard is asked for.)
        let translation = crate::translate(markdown, options)?;
        let archival =
            options.standards.iter().any(|s| matches!(s, PdfStandard::A2b | PdfStandard::A3b));
        if archival && !translation.dated && options.timestamp.is_none() {
            return Err(RenderError::Unsupported(
                "PDF/A needs a creation date: give the front matter a `date: YYYY-MM-DD`, or render with a timestamp".into(),
            ));
        }
        let fonts = options.fonts.clone().unwrap_or_else(FontSet::embedded);
        let missing = missing_glyphs(&translation.source, &fonts, |offset| {
            translation.line_at(offset).unwrap_or(0)
        });
        if let Some((c, line)) = missing.first() {
            return Err(RenderError::StandardUnmet(format!(
                "{} needs every character drawn, and no font has \u{201c}{c}\u{201d} (U+{:04X}{}, line {line}){}; add a font that has it (folio render --font-dir)",
                options.standards.iter().map(|s| s.name()).collect::<Vec<_>>().join(" + "),
                u32::from(*c),
                writing_system(*c).map(|name| format!(", {name}")).unwrap_or_default(),
                if missing.len() > 1 {
                    format!(" or {} other characters", missing.len() - 1)
                } else {
                    String::new()
                },
            )));
        }
    }
    Ok(standards)
}

/// Renders markdown to one SVG per page (the page-accurate preview).
pub fn render_pages_svg(markdown: &str, options: &RenderOptions) -> Result<PagesSvg, RenderError> {
    let output = compile(markdown, options, |document, lines| {
        Ok((page_svgs(document), line_boxes(document, lines)))
    })?;
    let (pages, lines) = output.value;
    Ok(PagesSvg { pages, lines, title: output.translation.title, warnings: output.warnings })
}

/// Every page's [`LineBox`]es: the text runs and images found by walking the laid-out frames,
/// traced back to markdown lines through their spans, kept where they are in reading order.
fn line_boxes(document: &PagedDocument, lines: &SourceLines) -> Vec<Vec<LineBox>> {
    let mut found: Vec<(usize, LineBox)> = Vec::new();
    for (page_index, page) in document.pages().iter().enumerate() {
        let height = page.frame.height().to_pt();
        if height <= 0.0 {
            continue;
        }
        let mut boxes = Vec::new();
        collect_boxes(&page.frame, Transform::identity(), lines, &mut boxes);
        boxes.sort_by(|a, b| a.1.total_cmp(&b.1));
        found.extend(boxes.into_iter().map(|(line, top, bottom)| {
            let fraction =
                |y: f64| ((y / height).clamp(0.0, 1.0) * 10_000.0).round() as f32 / 10_000.0;
            (page_index, LineBox { line, top: fraction(top), bottom: fraction(bottom) })
        }));
    }
    let mut pages: Vec<Vec<LineBox>> = vec![Vec::new(); document.pages().len()];
    for index in in_reading_order(&found.iter().map(|(_, b)| b.line).collect::<Vec<_>>()) {
        let (page, next) = found[index];
        match pages[page].last_mut() {
            Some(last) if last.line == next.line => {
                last.top = last.top.min(next.top);
                last.bottom = last.bottom.max(next.bottom);
            }
            _ => pages[page].push(next),
        }
    }
    pages
}

/// Text runs and images in `frame` as (markdown line, top, bottom) in page points.
fn collect_boxes(
    frame: &Frame,
    transform: Transform,
    lines: &SourceLines,
    out: &mut Vec<(usize, f64, f64)>,
) {
    for (position, item) in frame.items() {
        let at = transform.pre_concat(Transform::translate(position.x, position.y));
        let mut push = |span: Span, top: Abs, bottom: Abs| {
            if let Some(line) = lines.line(span) {
                let top = Point::with_y(top).transform(at).y.to_pt();
                let bottom = Point::with_y(bottom).transform(at).y.to_pt();
                out.push((line, top.min(bottom), top.max(bottom)));
            }
        };
        match item {
            FrameItem::Group(group) => {
                collect_boxes(&group.frame, at.pre_concat(group.transform), lines, out);
            }
            // From the baseline: most fonts' ascenders and descenders are within these.
            FrameItem::Text(text) => {
                if let Some(glyph) = text.glyphs.first() {
                    push(glyph.span.0, -text.size * 0.8, text.size * 0.25);
                }
            }
            FrameItem::Image(_, size, span) => push(*span, Abs::zero(), size.y),
            FrameItem::Shape(..) | FrameItem::Link(..) | FrameItem::Tag(_) => {}
        }
    }
}

/// The indices of the longest run of `lines` (in page order) that never goes back: what is
/// left out is text outside the reading flow (contents, running headers, footnotes).
fn in_reading_order(lines: &[usize]) -> Vec<usize> {
    // Patience sorting: `tails[k]` ends the best run of length k + 1 found so far.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; lines.len()];
    for (index, line) in lines.iter().enumerate() {
        let length = tails.partition_point(|&tail| lines[tail] <= *line);
        previous[index] = length.checked_sub(1).map(|k| tails[k]);
        if length == tails.len() {
            tails.push(index);
        } else {
            tails[length] = index;
        }
    }
    let mut run = Vec::with_capacity(tails.len());
    let mut cursor = tails.last().copied();
    while let Some(index) = cursor {
        run.push(index);
        cursor = previous[index];
    }
    run.reverse();
    run
}

/// Traces laid-out content back to markdown: a span in the main source → the line whose
/// output holds it. Spans in folio's template (numbering, page numbers) have no line.
pub(crate) struct SourceLines<'a> {
    world: &'a SandboxWorld,
    translation: &'a Translation,
}

impl SourceLines<'_> {
    fn line(&self, span: Span) -> Option<usize> {
        if span.id()? != typst::World::main(self.world) {
            return None;
        }
        self.translation.line_at(self.world.range(span)?.start)
    }
}

thread_local! {
    /// The previous preview's pages on this thread, by the hash of their laid-out content. In
    /// the live preview an edit changes one page, or the pages after it when it moves text
    /// along; the others come back identical and their SVG is reused instead of written again.
    /// Holds one document's pages at most.
    static PAGE_SVGS: std::cell::RefCell<HashMap<u128, String>> =
        std::cell::RefCell::new(HashMap::new());
}

/// One SVG per page: the previous preview's SVG of every unchanged page, the others written in
/// parallel on Typst's thread pool.
fn page_svgs(document: &PagedDocument) -> Vec<String> {
    let svg_options = typst_svg::SvgOptions::default();
    let previous = PAGE_SVGS.with(|cache| cache.take());
    let pages: Vec<(u128, String)> = document
        .pages()
        .par_iter()
        .map(|page| {
            let key = typst::utils::hash128(page);
            let svg = match previous.get(&key) {
                Some(svg) => svg.clone(),
                None => escape_href_ampersands(typst_svg::svg(page, &svg_options)),
            };
            (key, svg)
        })
        .collect();
    PAGE_SVGS.with(|cache| *cache.borrow_mut() = pages.iter().cloned().collect());
    pages.into_iter().map(|(_, svg)| svg).collect()
}

/// Typst's SVG writer escapes only quotes in attributes, so a link to `?a=1&b=2` made a page
/// SVG that is not well-formed XML (and would not display). Links reach it with `<` and `"`
/// already percent-encoded (`links::encode_unsafe`); this escapes the `&`s of `href` values.
fn escape_href_ampersands(svg: String) -> String {
    const HREF: &str = "href=\"";
    if !svg.contains(HREF) {
        return svg;
    }
    let mut out = String::with_capacity(svg.len() + 64);
    let mut rest = svg.as_str();
    while let Some(start) = rest.find(HREF) {
        let value_start = start + HREF.len();
        out.push_str(&rest[..value_start]);
        rest = &rest[value_start..];
        let end = rest.find('"').unwrap_or(rest.len());
        let value = &rest[..end];
        let mut parts = value.split('&');
        out.push_str(parts.next().unwrap_or_default());
        for part in parts {
            // The writer's own `&quot;` stays; every other `&` is the URL's.
            out.push_str(if part.starts_with("quot;") { "&" } else { "&amp;" });
            out.push_str(part);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// What [`compile`] produces: the exported value and what went into it.
struct Output<T> {
    value: T,
    pages: usize,
    translation: Translation,
    warnings: Vec<Warning>,
}

/// How many times a render retries with failing fragments replaced by their fallbacks.
const MAX_FALLBACK_ROUNDS: usize = 8;

/// Translates, lays out and exports with `export`. When Typst rejects a formula or an image, that
/// fragment is replaced by its fallback (with a warning) and the document is compiled again, so
/// one bad formula or image never costs the whole document.
fn compile<T>(
    markdown: &str,
    options: &RenderOptions,
    export: impl Fn(&PagedDocument, &SourceLines) -> SourceResult<T>,
) -> Result<Output<T>, RenderError> {
    let fonts = options.fonts.clone().unwrap_or_else(FontSet::embedded);
    let mut fallbacks = Fallbacks::default();
    for _ in 0..=MAX_FALLBACK_ROUNDS {
        let translation = typst_timing::timed!(
            "folio: translate",
            translate_with_fallbacks(markdown, options, &fallbacks)?
        );
        let world = typst_timing::timed!(
            "folio: world",
            SandboxWorld::new(translation.source.clone(), &translation.files, fonts.clone())
        );
        // Typst has internal assertions that some inputs trip (seen: "bounded inline layout is
        // incomplete" in its optimized line breaker). A panic must cost at most this attempt.
        let attempt = inside_render(|| {
            let Warned { output, warnings } = typst::compile::<PagedDocument>(&world);
            let result = output.and_then(|document| {
                let pages = document.pages().len();
                if pages > options.limits.max_pages {
                    return Ok(Err(RenderError::PageLimitExceeded {
                        pages,
                        limit: options.limits.max_pages,
                    }));
                }
                let lines = SourceLines { world: &world, translation: &translation };
                export(&document, &lines).map(|value| Ok((value, pages)))
            });
            (result, warnings)
        });
        let Ok((result, diagnostics)) = attempt else {
            cache::after_panic();
            if fallbacks.simple_linebreaks {
                return Err(RenderError::Typeset {
                    message: "the typesetter crashed on this document".to_owned(),
                    line: None,
                });
            }
            fallbacks.simple_linebreaks = true;
            continue;
        };
        // Keep memory flat across many different documents (Typst's cache is process-wide).
        cache::after_render();
        match result {
            Ok(Err(limit)) => return Err(limit),
            Ok(Ok((value, pages))) => {
                let mut typesetter = Vec::with_capacity(diagnostics.len() + 1);
                if fallbacks.simple_linebreaks {
                    typesetter.push(Warning {
                        line: 0,
                        kind: WarningKind::Typesetter,
                        message: "the typesetter failed on this document's line breaking; lines are broken the simple way".to_owned(),
                    });
                }
                typesetter.extend(diagnostics.iter().map(|diagnostic| Warning {
                    line: diagnostic_line(&world, &translation, diagnostic).unwrap_or(0),
                    kind: WarningKind::Typesetter,
                    message: diagnostic.message.to_string(),
                }));
                let coverage = typst_timing::timed!(
                    "folio: coverage",
                    coverage_warnings(&translation, &fonts)
                );
                let warnings =
                    crate::warning::merge([translation.warnings.clone(), typesetter, coverage]);
                return Ok(Output { value, pages, translation, warnings });
            }
            Err(errors) => {
                let failing = failing_fragments(&world, &translation, &errors);
                let mut new: Vec<usize> =
                    failing.into_iter().filter(|i| !fallbacks.fragments.contains(i)).collect();
                if new.is_empty() {
                    // Errors raised while laying out or exporting an image (an SVG linking other
                    // files, a decoder failing late) point into the template or nowhere, not at
                    // the image's call site: show every image as a placeholder rather than fail.
                    new = image_fragments(&translation)
                        .filter(|i| !fallbacks.fragments.contains(i))
                        .collect();
                }
                if new.is_empty() {
                    let line =
                        errors.first().and_then(|e| diagnostic_line(&world, &translation, e));
                    return Err(typeset_error(&errors, line));
                }
                fallbacks.fragments.extend(new);
            }
        }
    }
    Err(RenderError::Typeset {
        message: "too many formulas or images failed".to_owned(),
        line: None,
    })
}

/// At most this many characters are named one by one; the rest are counted.
const MAX_GLYPH_WARNINGS: usize = 20;

/// Typst draws nothing (or a box) for a character no font has, and says nothing: name each.
fn coverage_warnings(translation: &Translation, fonts: &FontSet) -> Vec<Warning> {
    let missing = missing_glyphs(&translation.source, fonts, |offset| {
        translation.line_at(offset).unwrap_or(0)
    });
    let mut warnings: Vec<Warning> = missing
        .iter()
        .take(MAX_GLYPH_WARNINGS)
        .map(|(c, line)| Warning {
            line: *line,
            kind: WarningKind::MissingGlyph,
            message: format!(
                "no font can draw \u{201c}{c}\u{201d} (U+{:04X}{}); add a folder of fonts that have it: `folio render --font-dir DIR`, and for the server `--font-dir`, `FOLIO_FONT_DIR` or `[render] font_dir`",
                u32::from(*c),
                writing_system(*c).map(|name| format!(", {name}")).unwrap_or_default(),
            ),
        })
        .collect();
    if missing.len() > MAX_GLYPH_WARNINGS {
        warnings.push(Warning {
            line: missing[MAX_GLYPH_WARNINGS].1,
            kind: WarningKind::MissingGlyph,
            message: format!(
                "{} more characters have no font either",
                missing.len() - MAX_GLYPH_WARNINGS
            ),
        });
    }
    warnings
}

/// What a character is written in, for a person choosing a font: `Han script`, `emoji`; `None`
/// for the characters every script shares (punctuation, symbols), where no name helps.
fn writing_system(c: char) -> Option<String> {
    use unicode_script::{Script, UnicodeScript};
    let emoji = matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF);
    match c.script() {
        Script::Common if emoji => Some("emoji".to_owned()),
        Script::Common | Script::Inherited | Script::Unknown => None,
        script => Some(format!("{} script", script.full_name().replace('_', " "))),
    }
}

thread_local! {
    /// Whether this thread is inside a render (its panics are caught and handled).
    static RENDERING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work`, catching a panic as `Err`.
fn inside_render<R>(work: impl FnOnce() -> R) -> std::thread::Result<R> {
    RENDERING.with(|r| r.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    RENDERING.with(|r| r.set(false));
    result
}

/// Installs a panic hook that stays silent about panics inside renders (they are caught and
/// become fallbacks or typed errors) and reports every other panic as before. For binaries;
/// the library never installs hooks by itself.
pub fn quiet_render_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !RENDERING.with(std::cell::Cell::get) {
            previous(info);
        }
    }));
}

/// The ranges of the main source a diagnostic points at: its span and its call trace.
fn main_ranges(world: &SandboxWorld, diagnostic: &SourceDiagnostic) -> Vec<Range<usize>> {
    let main = typst::World::main(world);
    std::iter::once(diagnostic.span)
        .chain(diagnostic.trace.iter().map(|point| DiagSpan::from_span(point.span, None)))
        .filter(|span| span.id() == Some(main))
        .filter_map(|span| world.range(span))
        .collect()
}

fn failing_fragments(
    world: &SandboxWorld,
    translation: &Translation,
    errors: &[SourceDiagnostic],
) -> Vec<usize> {
    let mut failing = Vec::new();
    for error in errors {
        for range in main_ranges(world, error) {
            for (index, fragment) in translation.fragments.iter().enumerate() {
                let overlaps = range.start < fragment.range.end && fragment.range.start < range.end;
                if overlaps && matches!(fragment.what, FragmentKind::Math | FragmentKind::Image) {
                    failing.push(index);
                }
            }
        }
    }
    failing
}

fn image_fragments(translation: &Translation) -> impl Iterator<Item = usize> + '_ {
    translation
        .fragments
        .iter()
        .enumerate()
        .filter(|(_, f)| f.what == FragmentKind::Image)
        .map(|(i, _)| i)
}

fn diagnostic_line(
    world: &SandboxWorld,
    translation: &Translation,
    diagnostic: &SourceDiagnostic,
) -> Option<usize> {
    main_ranges(world, diagnostic).first().and_then(|range| translation.line_at(range.start))
}

fn typeset_error(errors: &[SourceDiagnostic], line: Option<usize>) -> RenderError {
    let message = errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; ");
    RenderError::Typeset { message, line }
}

/// A PDF timestamp from seconds since the Unix epoch (UTC).
fn timestamp(seconds: i64) -> Option<Timestamp> {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let datetime = Datetime::from_ymd_hms(
        i32::try_from(year).ok()?,
        month,
        day,
        (secs / 3600) as u8,
        (secs % 3600 / 60) as u8,
        (secs % 60) as u8,
    )?;
    Some(Timestamp::new_utc(datetime))
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Assets;

    #[test]
    fn reading_order_drops_what_goes_back() {
        // Contents (5, 9) before the body, and a footnote (40) among it.
        let lines = [5, 9, 1, 2, 3, 4, 6, 7, 40, 8, 10];
        let kept: Vec<usize> = in_reading_order(&lines).iter().map(|&i| lines[i]).collect();
        assert_eq!(kept, [1, 2, 3, 4, 6, 7, 8, 10]);
        assert_eq!(in_reading_order(&[]), Vec::<usize>::new());
        assert_eq!(in_reading_order(&[2, 2, 2]), [0, 1, 2]);
    }

    /// Compiles Typst source in the sandbox; returns whether it compiled and what was requested.
    fn compile_raw(
        source: &str,
        files: &std::collections::BTreeMap<String, Vec<u8>>,
    ) -> (bool, Vec<String>) {
        let world = SandboxWorld::new(source.to_owned(), files, FontSet::embedded());
        let Warned { output, .. } = typst::compile::<PagedDocument>(&world);
        (output.is_ok(), world.requests())
    }

    #[test]
    fn the_world_serves_no_file_system_no_packages() {
        for hostile in [
            r#"#read("/etc/passwd")"#,
            r#"#read("../../../../etc/passwd")"#,
            r#"#image("/etc/passwd")"#,
            r#"#include "/etc/hosts""#,
            r#"#import "@preview/cetz:0.3.0": *"#,
            r#"#import "/etc/passwd""#,
            r#"#json("/proc/self/environ")"#,
            r#"#plugin("/lib/x.wasm")"#,
            r#"#pdf.attach("/etc/passwd")"#,
            r#"#image("/assets/0.png")"#,
        ] {
            let (compiled, requests) = compile_raw(hostile, &Default::default());
            // The request reached the world (or Typst's own checks) and was refused.
            assert!(!compiled, "{hostile} compiled; requests: {requests:?}");
        }
    }

    #[test]
    fn hostile_markdown_requests_only_its_own_files() {
        let mut assets = Assets::new();
        assets.insert("ok.svg".to_owned(), br#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="10" height="10"><image href="file:///etc/passwd" width="5" height="5"/><image xlink:href="/etc/hostname" width="5" height="5"/><rect width="10" height="10"/></svg>"#.to_vec());
        let options = RenderOptions { assets, ..Default::default() };
        let markdown = concat!(
            "# #read(\"/etc/passwd\") #import \"@preview/x:0.1.0\"\n\n",
            "![svg](ok.svg) ![p](/etc/passwd) ![f](file:///etc/passwd) ![r](https://e.org/x.png)\n\n",
            "<img src=\"/etc/passwd\"> <iframe src=\"file:///etc/passwd\"></iframe>\n\n",
            "$\\iftypst #read(\"/etc/passwd\") \\fi$ $#image(\"/etc/passwd\")$\n\n",
            "[x](file:///etc/passwd) `#read(\"/etc/passwd\")`\n",
        );
        let translation = crate::translate(markdown, &options).unwrap_or_else(|e| panic!("{e}"));
        // Typst itself refuses the SVG's links to absolute paths; the document still renders.
        let rendered = render_pdf(markdown, &options).map_err(|e| e.to_string());
        assert!(
            rendered
                .as_ref()
                .is_ok_and(|r| r.warnings.iter().any(|w| w.kind == WarningKind::ImageMissing)),
            "{rendered:?}"
        );
        let (_, requests) = compile_raw(&translation.source, &translation.files);
        let allowed = ["/main.typ", crate::world::TEMPLATE_PATH, "/assets/0.svg"];
        for request in &requests {
            assert!(
                allowed.iter().any(|a| request.ends_with(a)),
                "unexpected file request {request:?} in {requests:?}"
            );
        }
        assert!(requests.iter().any(|r| r == "/assets/0.svg"), "{requests:?}");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
