//! The render port over the worker pool (`folio serve`, and `folio render DIR`).

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use folio_core::ports::{
    HtmlPreview, RenderRequest, RenderedPages, RenderedPdf, Renderer, RendererHealth,
};
use folio_core::{Error, RenderFailure, Result};

use crate::options::engine;
use crate::pool::{Lane, Ticket, WorkerPool};
use crate::protocol::{Answer, Job, JobKind, Output};

/// Renders in the pool's worker processes: creates wait in line; a newer preview of the same
/// owner replaces the one still waiting; successive previews of one owner go to the worker
/// whose caches are warm for them.
#[derive(Clone)]
pub struct WorkerRenderer(pub Arc<WorkerPool>);

impl WorkerRenderer {
    async fn run(&self, kind: JobKind, request: RenderRequest, lane: Lane) -> Result<Output> {
        let ticket = Ticket::new(request.owner.as_ref(), lane);
        let job = Job {
            kind,
            markdown: request.markdown,
            title: request.title,
            options: request.options,
            assets: request.assets.into_iter().map(|(k, v)| (k, STANDARD.encode(v))).collect(),
        };
        match self.0.run_for(&job, ticket).await? {
            Answer::Done(output) => Ok(output),
            Answer::Failed { failure, message } => Err(Answer::error(failure, message)),
        }
    }
}

#[async_trait]
impl Renderer for WorkerRenderer {
    async fn render(&self, request: RenderRequest) -> Result<RenderedPdf> {
        let made = self.run(JobKind::Pdf, request, Lane::Create).await?;
        let pdf = STANDARD.decode(made.pdf.unwrap_or_default()).map_err(|e| {
            Error::render(
                RenderFailure::Overloaded,
                format!("bad answer from a renderer: {e}"),
                true,
            )
        })?;
        Ok(RenderedPdf {
            pdf,
            pages: u32::try_from(made.page_count).unwrap_or(u32::MAX),
            title: made.title,
            warnings: made.warnings,
            engine: engine(),
        })
    }

    async fn pages(&self, request: RenderRequest) -> Result<RenderedPages> {
        let made = self.run(JobKind::Pages, request, Lane::Pages).await?;
        Ok(RenderedPages {
            pages: made.pages.unwrap_or_default(),
            lines: made.lines.unwrap_or_default(),
            title: made.title,
            warnings: made.warnings,
        })
    }

    async fn html(&self, request: RenderRequest) -> Result<HtmlPreview> {
        let made = self.run(JobKind::Html, request, Lane::Text).await?;
        Ok(HtmlPreview { html: made.html.unwrap_or_default(), warnings: made.warnings })
    }

    /// A parse in this process (comrak is linear in the source, which create and the previews
    /// have bounded already): the images must be read before a job goes to a worker.
    fn image_references(&self, markdown: &str) -> Vec<String> {
        folio_render::image_references(markdown).into_iter().map(|r| r.url).collect()
    }

    fn health(&self) -> RendererHealth {
        let counts = self.0.counts();
        RendererHealth {
            ready: self.0.check(),
            waiting: self.0.waiting() as u64,
            renders: counts.renders,
            restarts: counts.restarts,
            workers: self.0.worker_pids().len() as u64,
            crashes: counts.crashes,
            retries: counts.retries,
            timeouts: counts.timeouts,
            idle_deaths: counts.idle_deaths,
            start_failures: counts.start_failures,
        }
    }
}
