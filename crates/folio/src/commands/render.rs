//! `folio render`: markdown files to PDFs. One file (or standard input) renders in place; several
//! files or folders render in parallel on every core, with a progress bar on a terminal and a
//! summary, and one failure never stops the rest.

use std::fs;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use folio_render::{FontSet, RenderError, RenderOptions};

use crate::args::RenderArgs;
use crate::assets::load_images;
use crate::failure::Failure;

/// Render threads get a large stack: Typst recurses once per nesting level of a document.
const RENDER_STACK_BYTES: usize = 64 << 20;

pub fn run(args: &RenderArgs) -> Result<(), Failure> {
    let options = base_options(args)?;
    let only = match args.inputs.as_slice() {
        [only] if args.out_dir.is_none() && !only.is_dir() => Some(only),
        _ => None,
    };
    if let Some(input) = only {
        // One render, then the process exits: trimming Typst's cache would be wasted work.
        folio_render::set_cache_trim(folio_render::CacheTrim::ByCaller);
        guard_this_process(input, args)?;
        return render_single(input, args.output.as_deref(), &options);
    }
    if args.output.is_some() {
        return Err(Failure::usage("`-o` takes a single input file")
            .with_hint("use `--out-dir DIR` for several files or a folder"));
    }
    if args.inputs.iter().any(|i| i.as_os_str() == "-") {
        return Err(Failure::usage("standard input (`-`) can only be rendered on its own"));
    }
    let jobs = plan(&args.inputs, args.out_dir.as_deref())?;
    let threads = args
        .jobs
        .map(std::num::NonZeroUsize::get)
        .or_else(|| std::thread::available_parallelism().ok().map(std::num::NonZeroUsize::get))
        .unwrap_or(1);
    render_batch(&jobs, threads, &options, args)
}

/// One document in this process: a watchdog ends it at the deadline with a clear error, and the
/// address space is capped (past it, the allocation that fails aborts the process, exit 134,
/// after Rust's "memory allocation of N bytes failed"). Cheap: no child process, so a single
/// render keeps its cold start. Batches run documents in worker processes instead, where one
/// that exhausts either fails alone.
fn guard_this_process(input: &Path, args: &RenderArgs) -> Result<(), Failure> {
    if args.memory_mib > 0 {
        let bytes = args.memory_mib.saturating_mul(1024 * 1024);
        rlimit::setrlimit(rlimit::Resource::AS, bytes, bytes)
            .map_err(|e| Failure::usage(format!("--memory-mib: cannot cap memory: {e}")))?;
    }
    if args.timeout > 0 {
        let name = if input.as_os_str() == "-" {
            "<stdin>".to_owned()
        } else {
            input.display().to_string()
        };
        let deadline = std::time::Duration::from_secs(args.timeout);
        std::thread::Builder::new()
            .name("deadline".to_owned())
            .spawn(move || {
                std::thread::sleep(deadline);
                eprintln!(
                    "error: {name}: rendering took longer than {} s and was stopped\nhint: simplify the document, or allow more time with --timeout",
                    deadline.as_secs()
                );
                std::process::exit(1);
            })
            .map_err(|e| Failure::document(format!("cannot start the render deadline: {e}")))?;
    }
    Ok(())
}

/// The options every document of this run shares (images are added per document).
fn base_options(args: &RenderArgs) -> Result<RenderOptions, Failure> {
    let fonts = match &args.font_dir {
        None => None,
        Some(dir) => Some(FontSet::with_dir(dir).map_err(|e| {
            Failure::usage(format!("--font-dir: {e}"))
                .with_hint("point it at a folder of .ttf, .otf or .ttc files")
        })?),
    };
    let numbering = if args.numbering {
        Some(true)
    } else if args.no_numbering {
        Some(false)
    } else {
        None
    };
    Ok(RenderOptions {
        title: args.title.clone(),
        paper: args.paper.map(Into::into),
        toc: args.toc.then_some(true),
        theme: args.theme.map(Into::into),
        numbering,
        font_size: args.font_size,
        margin_mm: args.margin,
        standards: args.standards.clone(),
        attach_source: args.attach_source,
        fonts,
        timestamp: now_seconds(),
        ..RenderOptions::default()
    })
}

/// The worker processes a batch renders in (the same pool as `folio serve`'s): each document
/// under the deadline and the memory cap, a worker that dies or hangs replaced, so one
/// document that exhausts either fails alone.
struct Workers {
    renderer: folio_workers::WorkerRenderer,
    runtime: tokio::runtime::Runtime,
    timeout: u64,
    memory_mib: u64,
}

impl Workers {
    fn start(threads: usize, args: &RenderArgs) -> Result<Self, Failure> {
        let program = std::env::current_exe().map_err(|e| {
            Failure::document(format!("cannot find the folio binary for render workers: {e}"))
        })?;
        let mut config = folio_workers::PoolConfig::new(program);
        config.workers = threads;
        config.max_waiting = threads;
        config.per_identity = threads;
        // Without a limit, a day: the pool always has a deadline.
        config.deadline =
            std::time::Duration::from_secs(if args.timeout == 0 { 86_400 } else { args.timeout });
        config.memory_limit_bytes = args.memory_mib.saturating_mul(1024 * 1024);
        config.font_dir = args.font_dir.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::document(format!("cannot start the render workers: {e}")))?;
        Ok(Self {
            renderer: folio_workers::WorkerRenderer(folio_workers::WorkerPool::new(config)),
            runtime,
            timeout: args.timeout,
            memory_mib: args.memory_mib,
        })
    }

    /// Reads `input` and its images here, renders it in a worker.
    fn render(&self, input: &Path, base: &RenderOptions) -> Result<Outcome, Failure> {
        use folio_core::RenderFailure;
        use folio_core::ports::{RenderRequest, Renderer};
        let Source { name, markdown, assets, asset_warnings } = read_source(input, base)?;
        let options = folio_workers::options::create_options(base).map_err(Failure::usage)?;
        let request =
            RenderRequest { markdown, title: base.title.clone(), options, assets, owner: None };
        let rendered = self.runtime.block_on(self.renderer.render(request)).map_err(|err| match err {
            folio_core::Error::Render { failure: RenderFailure::Timeout, .. } => {
                Failure::document(format!("{name}: rendering took longer than {} s and was stopped", self.timeout))
                    .with_hint("simplify the document, or allow more time with --timeout")
            }
            folio_core::Error::Render { failure: RenderFailure::Crashed, .. } => Failure::document(format!(
                "{name}: the renderer stopped on this document: it needed more than {} MiB of memory, or crashed",
                self.memory_mib
            ))
            .with_hint("allow more memory with --memory-mib, or split the document"),
            other => Failure::document(format!("{name}: {other}")),
        })?;
        let warnings = rendered.warnings.iter().map(|w| (w.line, w.message.as_str()));
        Ok(Outcome { pdf: rendered.pdf, warnings: warning_lines(&name, asset_warnings, warnings) })
    }
}

/// A document rendered from a file (or standard input), with every warning as a line to print.
struct Outcome {
    pdf: Vec<u8>,
    warnings: Vec<String>,
}

/// Reads, renders and reports one document; `base` gains the images beside it.
fn render_document(input: &Path, base: &RenderOptions) -> Result<Outcome, Failure> {
    let source = read_source(input, base)?;
    let options = RenderOptions { assets: source.assets, ..base.clone() };
    let rendered = folio_render::render_pdf(&source.markdown, &options)
        .map_err(|err| render_failure(&source.name, &err))?;
    let warnings = rendered.warnings.iter().map(|w| (w.line, w.message.as_str()));
    Ok(Outcome {
        pdf: rendered.pdf,
        warnings: warning_lines(&source.name, source.asset_warnings, warnings),
    })
}

/// A document read from a file (or standard input), checked and decoded, with the images
/// beside it.
struct Source {
    /// The name warnings and errors use.
    name: String,
    markdown: String,
    assets: folio_render::Assets,
    /// Images that could not be loaded (line, message).
    asset_warnings: Vec<(usize, String)>,
}

fn read_source(input: &Path, base: &RenderOptions) -> Result<Source, Failure> {
    let from_stdin = input.as_os_str() == "-";
    let name = if from_stdin { "<stdin>".to_owned() } else { input.display().to_string() };
    let bytes = read_input(input, from_stdin)?;
    // Refuse oversize input before parsing it for images.
    base.limits.check_size(&bytes).map_err(|err| render_failure(&name, &err))?;
    let markdown =
        folio_render::decode_markdown(&bytes).map_err(|err| render_failure(&name, &err))?;
    let base_dir = if from_stdin {
        std::env::current_dir()
            .map_err(|e| Failure::document(format!("cannot read the current directory: {e}")))?
    } else {
        input
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."))
    };
    let (assets, asset_warnings) = load_images(markdown, &base_dir);
    Ok(Source { markdown: markdown.to_owned(), name, assets, asset_warnings })
}

/// Every warning of a document as `warning: FILE[:LINE]: message`, image warnings first.
fn warning_lines<'a>(
    name: &str,
    asset_warnings: Vec<(usize, String)>,
    render_warnings: impl Iterator<Item = (usize, &'a str)>,
) -> Vec<String> {
    let mut lines: Vec<String> = asset_warnings
        .into_iter()
        .map(|(line, message)| format!("warning: {name}:{line}: {message}"))
        .collect();
    lines.extend(render_warnings.map(|(line, message)| match line {
        0 => format!("warning: {name}: {message}"),
        line => format!("warning: {name}:{line}: {message}"),
    }));
    lines
}

fn render_single(input: &Path, output: Option<&Path>, base: &RenderOptions) -> Result<(), Failure> {
    let outcome = render_document(input, base)?;
    for warning in &outcome.warnings {
        eprintln!("{warning}");
    }
    let output = match output {
        Some(path) => path.to_owned(),
        None if input.as_os_str() == "-" => PathBuf::from("-"),
        None => input.with_extension("pdf"),
    };
    write_output(&output, &outcome.pdf)
}

/// One document of a batch.
#[derive(Debug)]
struct Job {
    input: PathBuf,
    output: PathBuf,
}

/// Every markdown file named or found in a named folder, and where its PDF goes. Two inputs
/// that would write the same PDF are refused before anything renders.
fn plan(inputs: &[PathBuf], out_dir: Option<&Path>) -> Result<Vec<Job>, Failure> {
    let mut jobs = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            collect_markdown(input, &mut found)?;
            if found.is_empty() {
                return Err(Failure::usage(format!("{} holds no .md files", input.display())));
            }
            for file in found {
                let relative = file.strip_prefix(input).unwrap_or(&file).with_extension("pdf");
                let output = match out_dir {
                    Some(dir) => dir.join(relative),
                    None => file.with_extension("pdf"),
                };
                jobs.push(Job { input: file, output });
            }
        } else {
            let output = match (out_dir, input.file_name()) {
                (Some(dir), Some(name)) => dir.join(Path::new(name).with_extension("pdf")),
                _ => input.with_extension("pdf"),
            };
            jobs.push(Job { input: input.clone(), output });
        }
    }
    let mut seen = std::collections::HashMap::new();
    for job in &jobs {
        if let Some(other) = seen.insert(&job.output, &job.input) {
            return Err(Failure::usage(format!(
                "{} and {} would both write {}",
                other.display(),
                job.input.display(),
                job.output.display()
            ))
            .with_hint("render them into different --out-dir folders"));
        }
    }
    Ok(jobs)
}

/// `.md` and `.markdown` files below `dir`, sorted; hidden folders are skipped.
fn collect_markdown(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| {
            Failure::document(format!("cannot read {}: {}", dir.display(), io_reason(&e)))
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() && !hidden {
                pending.push(path);
            } else if kind.is_file() && is_markdown(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(())
}

fn is_markdown(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"))
}

/// Renders `jobs` on `threads` threads; every document is reported, and the run fails (exit 1)
/// if any document did.
fn render_batch(
    jobs: &[Job],
    threads: usize,
    base: &RenderOptions,
    args: &RenderArgs,
) -> Result<(), Failure> {
    let started = Instant::now();
    let threads = threads.clamp(1, jobs.len().max(1));
    let workers = Workers::start(threads, args)?;
    let progress = if io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(jobs.len() as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{bar:32} {pos}/{len} {elapsed} {wide_msg}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let mut failed = Vec::new();
    let mut reported = vec![false; jobs.len()];
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let next = &next;
            let workers = &workers;
            let spawned = std::thread::Builder::new().stack_size(RENDER_STACK_BYTES).spawn_scoped(
                scope,
                move || loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    let result = workers
                        .render(&job.input, base)
                        .and_then(|outcome| write_batch_output(&job.output, outcome));
                    if done_tx.send((index, result)).is_err() {
                        break;
                    }
                },
            );
            if let Err(err) = spawned {
                eprintln!("warning: could not start a render thread: {err}");
            }
        }
        drop(done_tx);
        for (index, result) in done_rx {
            reported[index] = true;
            let job = &jobs[index];
            progress.set_message(job.input.display().to_string());
            progress.inc(1);
            progress.suspend(|| match &result {
                Ok(warnings) => {
                    for warning in warnings {
                        eprintln!("{warning}");
                    }
                }
                Err(failure) => failure.print(),
            });
            if result.is_err() {
                failed.push(index);
            }
        }
    });
    progress.finish_and_clear();
    // If no render thread could start, nothing was reported: those documents failed too.
    failed.extend((0..jobs.len()).filter(|i| !reported[*i]));
    let elapsed = started.elapsed().as_secs_f64();
    let rendered = jobs.len() - failed.len();
    eprintln!(
        "folio: rendered {rendered} of {} document{} in {elapsed:.2} s ({:.1} per second, {threads} at a time){}",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        rendered as f64 / elapsed.max(1e-9),
        if failed.is_empty() { String::new() } else { format!("; {} failed", failed.len()) },
    );
    if failed.is_empty() {
        Ok(())
    } else {
        failed.sort_unstable();
        let names: Vec<String> =
            failed.iter().map(|&i| jobs[i].input.display().to_string()).collect();
        Err(Failure::document(format!(
            "{} of {} documents failed: {}",
            failed.len(),
            jobs.len(),
            names.join(", ")
        )))
    }
}

/// Writes a batch document's PDF (creating its folder) and hands back its warnings.
fn write_batch_output(path: &Path, outcome: Outcome) -> Result<Vec<String>, Failure> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| {
            Failure::document(format!("cannot create {}: {}", dir.display(), io_reason(&e)))
        })?;
    }
    write_output(path, &outcome.pdf)?;
    Ok(outcome.warnings)
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
        RenderError::TooComplex { .. } => {
            failure.with_hint("split the table, footnotes or images named into smaller documents")
        }
        RenderError::Empty => failure.with_hint("the markdown has no content to render"),
        RenderError::Unsupported(_) => failure.with_hint("see `folio render --help`"),
        RenderError::StandardUnmet(_) => {
            failure.with_hint("add a font that draws it (--font-dir), or leave out the standard")
        }
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
    use folio_core::ports::Clock as _;
    Some(folio_core::ports::SystemClock.now_ms() / 1000)
}
