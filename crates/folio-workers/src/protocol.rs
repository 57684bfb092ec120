//! What crosses the pipe between the pool and a worker: length-prefixed JSON frames, a [`Job`]
//! in and an [`Answer`] out.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use folio_core::options::CreateOptions;
use folio_core::ports::{LineBox, Warning};
use folio_core::{Error, RenderFailure};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The largest frame either side accepts.
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

/// What a worker is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// What to make.
    pub kind: JobKind,
    /// The markdown.
    pub markdown: String,
    /// Title override.
    pub title: Option<String>,
    /// Render options (paper, theme, contents…).
    #[serde(default)]
    pub options: CreateOptions,
    /// Images, base64.
    #[serde(default)]
    pub assets: BTreeMap<String, String>,
}

/// The kinds of jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A PDF.
    Pdf,
    /// Page SVGs.
    Pages,
    /// The sanitized HTML preview (in a worker too: its deadline bounds any input).
    Html,
}

/// What a worker made: the fields of its kind of job are set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Output {
    /// PDF bytes, base64 (pdf jobs).
    pub pdf: Option<String>,
    /// One SVG per page (pages jobs).
    pub pages: Option<Vec<String>>,
    /// Where each line's text is on each page (pages jobs).
    #[serde(default)]
    pub lines: Option<Vec<Vec<LineBox>>>,
    /// The HTML preview (html jobs).
    #[serde(default)]
    pub html: Option<String>,
    /// Page count.
    pub page_count: usize,
    /// The title used.
    pub title: String,
    /// Warnings.
    pub warnings: Vec<Warning>,
    /// The process id of the worker that rendered (logs; affinity tests).
    #[serde(default)]
    pub worker: u32,
}

/// A worker's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The job's output.
    Done(Output),
    /// The document could not be rendered.
    Failed {
        /// Why (`None`: the request itself is bad).
        failure: Option<RenderFailure>,
        /// The message.
        message: String,
    },
}

impl Answer {
    /// The answer for a failed job (errors other than bad requests and render failures do not
    /// arise in a worker; they travel as render failures).
    pub fn failed(err: Error) -> Self {
        match err {
            Error::InvalidRequest(message) => Self::Failed { failure: None, message },
            Error::Render { failure, message, .. } => {
                Self::Failed { failure: Some(failure), message }
            }
            other => {
                Self::Failed { failure: Some(RenderFailure::Failed), message: other.to_string() }
            }
        }
    }

    /// A failed answer as the pipeline's error (the inverse of [`Self::failed`]).
    pub fn error(failure: Option<RenderFailure>, message: String) -> Error {
        match failure {
            None => Error::InvalidRequest(message),
            Some(failure) => Error::render(failure, message, false),
        }
    }
}

/// Reads one frame (`None` at a clean end of input).
pub fn read_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("frame too large"));
    }
    let mut buf = vec![0u8; len];
    input.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Writes one frame.
pub fn write_frame(output: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| std::io::Error::other("frame too large"))?;
    output.write_all(&len.to_be_bytes())?;
    output.write_all(bytes)?;
    output.flush()
}

/// Sends one frame (the pool's side). Fails only if the worker is gone before it got the job.
pub async fn send(input: &mut (impl AsyncWriteExt + Unpin), job: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(job.len()).map_err(|_| std::io::Error::other("job too large"))?;
    input.write_all(&len.to_be_bytes()).await?;
    input.write_all(job).await?;
    input.flush().await
}

/// Reads the answering frame (the pool's side). Fails if the worker died while working.
pub async fn receive(output: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    output.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::other("answer too large"));
    }
    let mut buf = vec![0u8; len];
    output.read_exact(&mut buf).await?;
    Ok(buf)
}
