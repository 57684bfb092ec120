//! The in-process renderer: `folio-render` on a thread of this process (the CLI, operator
//! commands, tests; the server renders in worker processes instead).

use async_trait::async_trait;
use folio_core::ports::{HtmlPreview, RenderRequest, RenderedPages, RenderedPdf, Renderer};
use folio_core::{Error, RenderFailure, Result};

use crate::options::{engine, line_boxes, render_error, render_options, warnings};

/// The stack of an in-process render thread: Typst and the parsers recurse once per nesting
/// level, and tokio's blocking threads have 2 MiB.
const RENDER_STACK_BYTES: usize = 64 << 20;

/// Renders in this process, each document on a thread of its own, with the embedded fonts and
/// any loaded once beforehand ([`InProcessRenderer::with_fonts`]).
#[derive(Debug, Default, Clone)]
pub struct InProcessRenderer {
    fonts: Option<std::sync::Arc<folio_render::FontSet>>,
}

impl InProcessRenderer {
    /// Renders with the embedded fonts and `fonts` (a font folder loaded at start: rendering
    /// still reads no file).
    pub fn with_fonts(fonts: std::sync::Arc<folio_render::FontSet>) -> Self {
        Self { fonts: Some(fonts) }
    }

    /// Renders `request` with `work` on a thread of its own and waits for it.
    async fn on_render_thread<T: Send + 'static>(
        &self,
        request: RenderRequest,
        work: fn(&str, &folio_render::RenderOptions) -> Result<T, folio_render::RenderError>,
    ) -> Result<T> {
        let options = folio_render::RenderOptions {
            fonts: self.fonts.clone(),
            ..render_options(request.title, &request.options, request.assets)
        };
        on_render_thread(request.markdown, options, work).await
    }
}

/// Renders `markdown` with `work` on a thread of its own and waits for it.
async fn on_render_thread<T: Send + 'static>(
    markdown: String,
    options: folio_render::RenderOptions,
    work: fn(&str, &folio_render::RenderOptions) -> Result<T, folio_render::RenderError>,
) -> Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("render".to_owned())
        .stack_size(RENDER_STACK_BYTES)
        .spawn(move || {
            let _ = done.send(work(&markdown, &options));
        })
        .map_err(|e| {
            Error::render(
                RenderFailure::Overloaded,
                format!("cannot start a render thread: {e}"),
                true,
            )
        })?;
    result
        .await
        .map_err(|_| Error::render(RenderFailure::Crashed, "the renderer stopped", false))?
        .map_err(render_error)
}

#[async_trait]
impl Renderer for InProcessRenderer {
    async fn render(&self, request: RenderRequest) -> Result<RenderedPdf> {
        let rendered = self.on_render_thread(request, folio_render::render_pdf).await?;
        Ok(RenderedPdf {
            pages: u32::try_from(rendered.pages).unwrap_or(u32::MAX),
            pdf: rendered.pdf,
            title: rendered.title,
            warnings: warnings(&rendered.warnings),
            engine: engine(),
        })
    }

    async fn pages(&self, request: RenderRequest) -> Result<RenderedPages> {
        let rendered = self.on_render_thread(request, folio_render::render_pages_svg).await?;
        Ok(RenderedPages {
            lines: line_boxes(&rendered.lines),
            pages: rendered.pages,
            title: rendered.title,
            warnings: warnings(&rendered.warnings),
        })
    }

    async fn html(&self, request: RenderRequest) -> Result<HtmlPreview> {
        let preview = self.on_render_thread(request, folio_render::render_html).await?;
        Ok(HtmlPreview { html: preview.html, warnings: warnings(&preview.warnings) })
    }

    fn image_references(&self, markdown: &str) -> Vec<String> {
        folio_render::image_references(markdown).into_iter().map(|r| r.url).collect()
    }
}
