//! The in-process renderer: `folio-render` on a blocking thread (for the CLI; the server runs
//! renders in worker processes).

use async_trait::async_trait;
use folio_core::functions::CreateOptions;
use folio_core::ports::{RenderRequest, RenderedPdf, Renderer};
use folio_core::{Engine, Error, Result};
use folio_render::{Paper, PdfStandard, RenderError, RenderOptions, Theme};

/// The stack of an in-process render thread.
const RENDER_STACK_BYTES: usize = 64 << 20;

/// Renders in this process, each document on a thread of its own.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessRenderer;

#[async_trait]
impl Renderer for InProcessRenderer {
    async fn render(&self, request: RenderRequest) -> Result<RenderedPdf> {
        let options = render_options(request.title, &request.options, request.assets)
            .map_err(Error::InvalidRequest)?;
        let markdown = request.markdown;
        // On a thread of its own with a render-sized stack (Typst and the parsers recurse once
        // per nesting level; tokio's blocking threads have 2 MiB), like the CLI's batch threads.
        let (done, rendered) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("render".to_owned())
            .stack_size(RENDER_STACK_BYTES)
            .spawn(move || {
                let _ = done.send(folio_render::render_pdf(&markdown, &options));
            })
            .map_err(|e| Error::Render {
                code: "render_failed",
                message: format!("cannot start a render thread: {e}"),
                retryable: true,
            })?;
        let rendered = rendered
            .await
            .map_err(|_| Error::Render {
                code: "render_failed",
                message: "the renderer stopped".to_owned(),
                retryable: true,
            })?
            .map_err(render_error)?;
        let versions = folio_render::engine_versions();
        Ok(RenderedPdf {
            pages: u32::try_from(rendered.pages).unwrap_or(u32::MAX),
            pdf: rendered.pdf,
            title: rendered.title,
            warnings: rendered.warnings.iter().map(ToString::to_string).collect(),
            engine: Engine {
                folio: versions.folio_render.to_owned(),
                typst: versions.typst.to_owned(),
            },
        })
    }
}

/// The renderer's options for an API request: names checked, with a message saying what is
/// accepted when one is not. The one place API option names become render options.
pub fn render_options(
    title: Option<String>,
    options: &CreateOptions,
    assets: folio_render::Assets,
) -> std::result::Result<RenderOptions, String> {
    let paper = match options.paper.as_deref() {
        None => None,
        Some(name) => Some(
            Paper::parse(name)
                .ok_or_else(|| format!("unknown paper {name:?}; use a4, us-letter or a5"))?,
        ),
    };
    let theme = match options.theme.as_deref() {
        None => None,
        Some(name) => Some(
            Theme::parse(name)
                .ok_or_else(|| format!("unknown theme {name:?}; use classic, report or book"))?,
        ),
    };
    let margin_mm = match options.margin.as_deref() {
        None => None,
        Some(text) => Some(folio_render::parse_margin(text).ok_or_else(|| {
            format!("margin {text:?} is not a length from 5 to 60 mm (like 2cm, 20mm or 1in)")
        })?),
    };
    let standards = options
        .standards
        .iter()
        .map(|name| {
            PdfStandard::parse(name)
                .ok_or_else(|| format!("unknown PDF standard {name:?}; use a-2b, a-3b or ua-1"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let rendered = RenderOptions {
        title,
        paper,
        toc: options.toc,
        theme,
        numbering: options.numbering,
        margin_mm,
        font_size: options.font_size,
        standards,
        attach_source: options.attach_source,
        assets,
        timestamp: Some(now_seconds()),
        ..RenderOptions::default()
    };
    // Ranges are the renderer's to check; here so the caller hears at once, not from a worker.
    rendered.check().map_err(|err| err.to_string())?;
    Ok(rendered)
}

/// A render error as the pipeline's error, with its API code.
pub fn render_error(err: RenderError) -> Error {
    match err {
        RenderError::InvalidUtf8 { .. } | RenderError::Empty | RenderError::Unsupported(_) => {
            Error::InvalidRequest(err.to_string())
        }
        other => Error::Render { code: other.code(), message: other.to_string(), retryable: false },
    }
}

pub(crate) fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: serde_json::Value) -> CreateOptions {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_api_option_reaches_the_renderer() {
        let request = options(serde_json::json!({
            "paper": "a5", "toc": true, "theme": "book", "numbering": false, "margin": "2cm",
            "font_size": 12.5, "standards": ["a-3b", "ua-1"], "attach_source": true,
        }));
        let rendered = render_options(Some("T".to_owned()), &request, Default::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rendered.title.as_deref(), Some("T"));
        assert_eq!(rendered.paper, Some(Paper::A5));
        assert_eq!(rendered.toc, Some(true));
        assert_eq!(rendered.theme, Some(Theme::Book));
        assert_eq!(rendered.numbering, Some(false));
        assert_eq!(rendered.margin_mm, Some(20.0));
        assert_eq!(rendered.font_size, Some(12.5));
        assert_eq!(rendered.standards, [PdfStandard::A3b, PdfStandard::Ua1]);
        assert!(rendered.attach_source);
        assert!(rendered.timestamp.is_some(), "PDF/A needs a date; the render time is one");
    }

    #[test]
    fn font_sizes_outside_6_to_24_points_are_refused_with_the_range() {
        for size in [0.0, 5.9, 24.5, -3.0, 1e9] {
            let request = options(serde_json::json!({ "font_size": size }));
            let refused = render_options(None, &request, Default::default()).err();
            assert!(refused.as_ref().is_some_and(|m| m.contains("6 to 24")), "{size}: {refused:?}");
        }
        for size in [6.0, 11.0, 24.0] {
            let request = options(serde_json::json!({ "font_size": size }));
            assert!(render_options(None, &request, Default::default()).is_ok(), "{size}");
        }
    }
}
