//! `folio render`: one markdown file to one PDF.

use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use folio_render::{RenderError, RenderOptions};

use crate::args::RenderArgs;
use crate::assets::load_images;
use crate::failure::Failure;

pub fn run(args: &RenderArgs) -> Result<(), Failure> {
    let from_stdin = args.input.as_os_str() == "-";
    let bytes = read_input(&args.input, from_stdin)?;
    let display_name =
        if from_stdin { "<stdin>".to_owned() } else { args.input.display().to_string() };
    // Refuse oversize input before parsing it for images.
    let limits = folio_render::Limits::default();
    limits.check_size(&bytes).map_err(|err| render_failure(&display_name, &err))?;
    let markdown =
        folio_render::decode_markdown(&bytes).map_err(|err| render_failure(&display_name, &err))?;

    let base_dir = if from_stdin {
        std::env::current_dir()
            .map_err(|e| Failure::document(format!("cannot read the current directory: {e}")))?
    } else {
        args.input
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    };
    let (assets, asset_warnings) = load_images(markdown, &base_dir);

    let options = RenderOptions {
        title: args.title.clone(),
        paper: args.paper.map(Into::into),
        toc: args.toc.then_some(true),
        assets,
        limits,
        timestamp: now_seconds(),
    };
    let rendered = folio_render::render_pdf(markdown, &options)
        .map_err(|err| render_failure(&display_name, &err))?;
    for (line, message) in asset_warnings {
        eprintln!("warning: {display_name}:{line}: {message}");
    }
    for warning in &rendered.warnings {
        match warning.line {
            0 => eprintln!("warning: {display_name}: {}", warning.message),
            line => eprintln!("warning: {display_name}:{line}: {}", warning.message),
        }
    }

    let output = match &args.output {
        Some(path) => path.clone(),
        None if from_stdin => PathBuf::from("-"),
        None => args.input.with_extension("pdf"),
    };
    write_output(&output, &rendered.pdf)
}

fn read_input(path: &Path, from_stdin: bool) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    if from_stdin {
        io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::document(format!("cannot read standard input: {e}")))?;
        return Ok(bytes);
    }
    fs::read(path).map_err(|e| {
        let failure =
            Failure::document(format!("cannot read {}: {}", path.display(), io_reason(&e)));
        if e.kind() == io::ErrorKind::NotFound {
            failure.with_hint("check the path, or pass `-` to read markdown from standard input")
        } else {
            failure
        }
    })
}

fn write_output(path: &Path, pdf: &[u8]) -> Result<(), Failure> {
    if path.as_os_str() == "-" {
        let mut stdout = io::stdout().lock();
        if stdout.is_terminal() {
            return Err(Failure::usage("refusing to write a PDF to a terminal")
                .with_hint("pass `-o FILE.pdf`, or redirect standard output to a file"));
        }
        return stdout
            .write_all(pdf)
            .and_then(|()| stdout.flush())
            .map_err(|e| Failure::document(format!("cannot write standard output: {e}")));
    }
    // Write beside the target and rename, so a failure never leaves a half-written PDF.
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out.pdf".into());
    let temp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = fs::write(&temp, pdf).and_then(|()| fs::rename(&temp, path));
    result.map_err(|e| {
        let _ = fs::remove_file(&temp);
        Failure::document(format!("cannot write {}: {}", path.display(), io_reason(&e)))
    })
}

fn render_failure(name: &str, err: &RenderError) -> Failure {
    let failure = Failure::document(format!("{name}: {err}"));
    match err {
        RenderError::InvalidUtf8 { .. } => failure.with_hint("save the file as UTF-8"),
        RenderError::SourceTooLarge { .. } => {
            failure.with_hint("split the document into smaller files")
        }
        RenderError::NestingTooDeep { .. } => {
            failure.with_hint("flatten the nested quotes or lists")
        }
        RenderError::PageLimitExceeded { .. } => {
            failure.with_hint("split the document into smaller files")
        }
        RenderError::Empty => failure.with_hint("the markdown has no content to render"),
        RenderError::Typeset { .. } => {
            failure.with_hint("this is likely a folio bug; please report it with the document")
        }
    }
}

fn io_reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

fn now_seconds() -> Option<i64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}
