//! The in-process renderer: `folio-render` on a blocking thread (for the CLI; the server runs
//! renders in worker processes).

use async_trait::async_trait;
use folio_core::ports::{RenderRequest, RenderedPdf, Renderer};
use folio_core::{Engine, Error, Result};
use folio_render::{Paper, RenderError, RenderOptions};

/// Renders on tokio's blocking pool.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessRenderer;

#[async_trait]
impl Renderer for InProcessRenderer {
    async fn render(&self, request: RenderRequest) -> Result<RenderedPdf> {
        let paper = match request.paper.as_deref() {
            None => None,
            Some(name) => Some(Paper::parse(name).ok_or_else(|| {
                Error::InvalidRequest(format!("unknown paper {name:?}; use a4, us-letter or a5"))
            })?),
        };
        let options = RenderOptions {
            title: request.title,
            paper,
            toc: request.toc,
            assets: request.assets,
            timestamp: Some(now_seconds()),
            ..RenderOptions::default()
        };
        let markdown = request.markdown;
        let rendered =
            tokio::task::spawn_blocking(move || folio_render::render_pdf(&markdown, &options))
                .await
                .map_err(|e| Error::Render {
                    code: "render_failed",
                    message: format!("the renderer stopped: {e}"),
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

/// A render error as the pipeline's error, with its API code.
pub fn render_error(err: RenderError) -> Error {
    match err {
        RenderError::InvalidUtf8 { .. } | RenderError::Empty => {
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
