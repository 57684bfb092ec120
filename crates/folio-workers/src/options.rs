//! The one mapping between the API's vocabulary and the renderer's: options one way (and back,
//! for the CLI, which parses the renderer's), errors and warnings the other.

use folio_core::options::{CreateOptions, FontSize, Margin, Paper, PdfStandard, Theme};
use folio_core::ports::{Clock, LineBox, SystemClock, Warning};
use folio_core::{Engine, Error, RenderFailure};
use folio_render::RenderError;

/// The renderer's options for an API request. `None` fields stay unset, so the document's
/// front matter and the theme decide.
pub fn render_options(
    title: Option<String>,
    options: &CreateOptions,
    assets: folio_render::Assets,
) -> folio_render::RenderOptions {
    folio_render::RenderOptions {
        title,
        paper: options.paper.map(paper),
        toc: options.toc,
        theme: options.theme.map(theme),
        numbering: options.numbering,
        margin_mm: options.margin.as_ref().map(Margin::mm),
        font_size: options.font_size.map(FontSize::points),
        standards: options.standards.iter().copied().map(standard).collect(),
        attach_source: options.attach_source,
        assets,
        // PDF/A needs a date; the render's own time is the honest one.
        timestamp: Some(SystemClock.now_ms() / 1000),
        ..folio_render::RenderOptions::default()
    }
}

/// The API's options for the renderer's (the CLI parses flags into the renderer's types and
/// sends them to workers in the API's). Values out of the API's ranges are refused.
pub fn create_options(options: &folio_render::RenderOptions) -> Result<CreateOptions, String> {
    Ok(CreateOptions {
        paper: options.paper.map(api_paper),
        toc: options.toc,
        theme: options.theme.map(api_theme),
        numbering: options.numbering,
        margin: options.margin_mm.map(Margin::from_mm).transpose()?,
        font_size: options.font_size.map(FontSize::new).transpose()?,
        standards: options.standards.iter().copied().map(api_standard).collect(),
        attach_source: options.attach_source,
    })
}

fn paper(value: Paper) -> folio_render::Paper {
    match value {
        Paper::A4 => folio_render::Paper::A4,
        Paper::UsLetter => folio_render::Paper::UsLetter,
        Paper::A5 => folio_render::Paper::A5,
    }
}

fn api_paper(value: folio_render::Paper) -> Paper {
    match value {
        folio_render::Paper::A4 => Paper::A4,
        folio_render::Paper::UsLetter => Paper::UsLetter,
        folio_render::Paper::A5 => Paper::A5,
    }
}

fn theme(value: Theme) -> folio_render::Theme {
    match value {
        Theme::Classic => folio_render::Theme::Classic,
        Theme::Report => folio_render::Theme::Report,
        Theme::Book => folio_render::Theme::Book,
    }
}

fn api_theme(value: folio_render::Theme) -> Theme {
    match value {
        folio_render::Theme::Classic => Theme::Classic,
        folio_render::Theme::Report => Theme::Report,
        folio_render::Theme::Book => Theme::Book,
    }
}

fn standard(value: PdfStandard) -> folio_render::PdfStandard {
    match value {
        PdfStandard::A2b => folio_render::PdfStandard::A2b,
        PdfStandard::A3b => folio_render::PdfStandard::A3b,
        PdfStandard::Ua1 => folio_render::PdfStandard::Ua1,
    }
}

fn api_standard(value: folio_render::PdfStandard) -> PdfStandard {
    match value {
        folio_render::PdfStandard::A2b => PdfStandard::A2b,
        folio_render::PdfStandard::A3b => PdfStandard::A3b,
        folio_render::PdfStandard::Ua1 => PdfStandard::Ua1,
    }
}

/// A render error as the pipeline's error: the document's own faults are bad requests, limits
/// and typesetting failures are render failures (none retryable: the same input fails again).
pub fn render_error(err: RenderError) -> Error {
    let failure = match err {
        RenderError::InvalidUtf8 { .. } | RenderError::Empty | RenderError::Unsupported(_) => {
            return Error::InvalidRequest(err.to_string());
        }
        RenderError::SourceTooLarge { .. } => RenderFailure::SourceTooLarge,
        RenderError::NestingTooDeep { .. } => RenderFailure::NestingTooDeep,
        RenderError::PageLimitExceeded { .. } => RenderFailure::PageLimitExceeded,
        RenderError::TooComplex { .. } => RenderFailure::DocumentTooComplex,
        RenderError::StandardUnmet(_) | RenderError::Typeset { .. } => RenderFailure::Failed,
    };
    Error::render(failure, err.to_string(), false)
}

/// The renderer's warnings in the API's shape.
pub fn warnings(list: &[folio_render::Warning]) -> Vec<Warning> {
    list.iter()
        .map(|w| Warning {
            line: w.line,
            kind: w.kind.as_str().to_owned(),
            message: w.message.clone(),
        })
        .collect()
}

/// The renderer's line boxes in the port's type.
pub fn line_boxes(pages: &[Vec<folio_render::LineBox>]) -> Vec<Vec<LineBox>> {
    pages
        .iter()
        .map(|page| {
            page.iter().map(|b| LineBox { line: b.line, top: b.top, bottom: b.bottom }).collect()
        })
        .collect()
}

/// The versions stamped into every manifest.
pub fn engine() -> Engine {
    let versions = folio_render::engine_versions();
    Engine { folio: versions.folio_render.to_owned(), typst: versions.typst.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_value_maps_to_the_renderer_value_of_the_same_name_and_back() {
        for value in Paper::ALL {
            assert_eq!(paper(*value).name(), value.name());
            assert_eq!(api_paper(paper(*value)), *value);
        }
        for value in Theme::ALL {
            assert_eq!(theme(*value).name(), value.name());
            assert_eq!(api_theme(theme(*value)), *value);
        }
        for value in PdfStandard::ALL {
            assert_eq!(standard(*value).name(), value.name());
            assert_eq!(api_standard(standard(*value)), *value);
        }
        // …and the renderer offers nothing the API cannot name.
        assert_eq!(folio_render::Paper::ALL.len(), Paper::ALL.len());
        assert_eq!(folio_render::Theme::ALL.len(), Theme::ALL.len());
        assert_eq!(folio_render::PdfStandard::ALL.len(), PdfStandard::ALL.len());
    }

    #[test]
    fn the_api_ranges_are_the_renderer_ranges() {
        let fonts = folio_render::FONT_SIZE_RANGE;
        assert_eq!((FontSize::MIN, FontSize::MAX), (*fonts.start(), *fonts.end()));
        let margins = folio_render::MARGIN_MM_RANGE;
        assert_eq!((Margin::MIN_MM, Margin::MAX_MM), (*margins.start(), *margins.end()));
        // The same texts parse to the same lengths on both sides.
        for text in ["5mm", "2cm", "1in", "54pt", "60mm", "4.9mm", "60.1mm", "2", "1ft"] {
            let api = Margin::parse(text).ok().map(|m| m.mm());
            assert_eq!(api, folio_render::parse_margin(text), "{text}");
        }
    }

    #[test]
    fn the_api_limits_are_the_renderer_limits() {
        // The renderer is a leaf with limits of its own; the API states the same ones.
        let render = folio_render::Limits::default();
        assert_eq!(folio_core::Settings::default().max_source_bytes, render.max_source_bytes);
        assert_eq!(folio_core::functions::MAX_TITLE_CHARS, folio_render::MAX_TITLE_CHARS);
    }

    #[test]
    fn every_api_option_reaches_the_renderer() {
        let request: CreateOptions = serde_json::from_value(serde_json::json!({
            "paper": "a5", "toc": true, "theme": "book", "numbering": false, "margin": "2cm",
            "font_size": 12.5, "standards": ["a-3b", "ua-1"], "attach_source": true,
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let rendered = render_options(Some("T".to_owned()), &request, Default::default());
        assert_eq!(rendered.title.as_deref(), Some("T"));
        assert_eq!(rendered.paper, Some(folio_render::Paper::A5));
        assert_eq!(rendered.toc, Some(true));
        assert_eq!(rendered.theme, Some(folio_render::Theme::Book));
        assert_eq!(rendered.numbering, Some(false));
        assert_eq!(rendered.margin_mm, Some(20.0));
        assert_eq!(rendered.font_size, Some(12.5));
        assert_eq!(
            rendered.standards,
            [folio_render::PdfStandard::A3b, folio_render::PdfStandard::Ua1]
        );
        assert!(rendered.attach_source);
        assert!(rendered.timestamp.is_some(), "PDF/A needs a date; the render time is one");
        assert!(rendered.check().is_ok());
        let back = create_options(&rendered).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.margin.as_ref().map(Margin::mm), Some(20.0));
        assert_eq!(
            CreateOptions { margin: None, ..back },
            CreateOptions { margin: None, ..request }
        );
    }

    #[test]
    fn each_render_error_has_its_code() {
        let code = |err| render_error(err).code().as_str();
        assert_eq!(code(RenderError::Empty), "invalid_request");
        assert_eq!(code(RenderError::StandardUnmet("no glyph".into())), "render_failed");
        assert_eq!(code(RenderError::SourceTooLarge { size: 2, limit: 1 }), "source_too_large");
        assert_eq!(
            code(RenderError::NestingTooDeep { depth: 2, limit: 1, line: 1 }),
            "nesting_too_deep"
        );
        assert_eq!(
            code(RenderError::PageLimitExceeded { pages: 2, limit: 1 }),
            "page_limit_exceeded"
        );
        assert_eq!(
            code(RenderError::TooComplex { what: String::new(), line: 1 }),
            "document_too_complex"
        );
        assert_eq!(
            code(RenderError::Typeset { message: String::new(), line: None }),
            "render_failed"
        );
        // The renderer's own table agrees.
        for err in [RenderError::Empty, RenderError::SourceTooLarge { size: 2, limit: 1 }] {
            assert_eq!(err.code(), render_error(err.clone()).code().as_str());
        }
    }
}
