//! Command-line arguments: every clap type lives here, with doc comments as help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// folio — markdown to beautiful, accessible PDFs.
#[derive(Debug, Parser)]
#[command(name = "folio", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a markdown file to PDF.
    Render(RenderArgs),
}

/// Arguments of `folio render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The markdown file to render, or `-` for standard input. Images it references are read
    /// from beside it (never from outside its folder, never from the network).
    #[arg(value_name = "IN.md")]
    pub input: PathBuf,

    /// Where to write the PDF (`-` for standard output). Defaults to the input path with a
    /// `.pdf` extension, or standard output when reading standard input.
    #[arg(short, long, value_name = "OUT.pdf")]
    pub output: Option<PathBuf>,

    /// Paper size (overrides the front matter's `paper`).
    #[arg(long, value_enum)]
    pub paper: Option<PaperArg>,

    /// Add a table of contents (overrides the front matter's `toc`).
    #[arg(long)]
    pub toc: bool,

    /// Document title for the PDF metadata (else front matter, first heading, "Untitled").
    #[arg(long)]
    pub title: Option<String>,
}

/// Paper sizes on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PaperArg {
    /// ISO A4 (210 × 297 mm).
    A4,
    /// US Letter (8.5 × 11 in).
    UsLetter,
    /// ISO A5 (148 × 210 mm).
    A5,
}

impl From<PaperArg> for folio_render::Paper {
    fn from(paper: PaperArg) -> Self {
        match paper {
            PaperArg::A4 => Self::A4,
            PaperArg::UsLetter => Self::UsLetter,
            PaperArg::A5 => Self::A5,
        }
    }
}
