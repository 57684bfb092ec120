//! The worker process (`folio worker`): loads its fonts, caps its own address space, refuses
//! sockets and exec, then renders jobs from stdin until stdin closes.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::options::{line_boxes, render_error, render_options, warnings};
use crate::protocol::{Answer, Job, JobKind, Output, read_frame, write_frame};

/// Where a worker finds the folder of extra fonts its pool was given.
pub(crate) const FONT_DIR_VARIABLE: &str = "FOLIO_WORKER_FONT_DIR";

/// Where a worker finds its address-space cap in bytes.
pub const MEMORY_VARIABLE: &str = "FOLIO_WORKER_MEMORY_BYTES";

/// The extra fonts of this worker process, loaded once before the first job.
static WORKER_FONTS: std::sync::OnceLock<Option<Arc<folio_render::FontSet>>> =
    std::sync::OnceLock::new();

/// The worker's main loop: `memory_limit_bytes` (0: none) caps its address space.
pub fn main(memory_limit_bytes: u64) -> std::io::Result<()> {
    let fonts = match std::env::var_os(FONT_DIR_VARIABLE) {
        Some(dir) => Some(
            folio_render::FontSet::with_dir(std::path::Path::new(&dir))
                .map_err(std::io::Error::other)?,
        ),
        None => None,
    };
    let _ = WORKER_FONTS.set(fonts);
    if memory_limit_bytes > 0 {
        rlimit::setrlimit(rlimit::Resource::AS, memory_limit_bytes, memory_limit_bytes)?;
    }
    deny_network_and_exec()?;
    folio_render::quiet_render_panics();
    // Trim Typst's cache after each answer is sent, while the next job is not yet here.
    folio_render::set_cache_trim(folio_render::CacheTrim::ByCaller);
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    while let Some(frame) = read_frame(&mut stdin)? {
        let answer = match serde_json::from_slice::<Job>(&frame) {
            Ok(job) => run_job(job),
            Err(e) => Answer::failed(folio_core::Error::InvalidRequest(format!("bad job: {e}"))),
        };
        let bytes = serde_json::to_vec(&answer).map_err(std::io::Error::other)?;
        write_frame(&mut stdout, &bytes)?;
        folio_render::trim_caches();
    }
    Ok(())
}

fn run_job(job: Job) -> Answer {
    test_faults(&job.markdown);
    let assets = job
        .assets
        .into_iter()
        .filter_map(|(k, v)| STANDARD.decode(v).ok().map(|b| (k, b)))
        .collect();
    let options = folio_render::RenderOptions {
        fonts: WORKER_FONTS.get().cloned().flatten(),
        ..render_options(job.title, &job.options, assets)
    };
    let worker = std::process::id();
    let result = match job.kind {
        JobKind::Pdf => folio_render::render_pdf(&job.markdown, &options).map(|r| {
            Answer::Done(Output {
                pdf: Some(STANDARD.encode(&r.pdf)),
                pages: None,
                lines: None,
                html: None,
                page_count: r.pages,
                title: r.title,
                warnings: warnings(&r.warnings),
                worker,
            })
        }),
        JobKind::Pages => folio_render::render_pages_svg(&job.markdown, &options).map(|r| {
            Answer::Done(Output {
                pdf: None,
                page_count: r.pages.len(),
                lines: Some(line_boxes(&r.lines)),
                pages: Some(r.pages),
                html: None,
                title: r.title,
                warnings: warnings(&r.warnings),
                worker,
            })
        }),
        JobKind::Html => folio_render::render_html(&job.markdown, &options).map(|r| {
            Answer::Done(Output {
                pdf: None,
                pages: None,
                lines: None,
                html: Some(r.html),
                page_count: 0,
                title: String::new(),
                warnings: warnings(&r.warnings),
                worker,
            })
        }),
    };
    result.unwrap_or_else(|err| Answer::failed(render_error(err)))
}

/// From here on this process can open no socket and run no program: a renderer has no business
/// with the network, and if a document ever found a way to make Typst misbehave, it could not
/// reach out. (Files: the worker starts in `/` with an empty environment and Typst's world
/// serves only what the job carries.)
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
fn deny_network_and_exec() -> std::io::Result<()> {
    use seccompiler::{BpfProgram, SeccompAction, SeccompFilter};
    let denied = [
        libc::SYS_socket,
        libc::SYS_socketpair,
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        libc::SYS_execve,
        libc::SYS_execveat,
    ];
    let arch = if cfg!(target_arch = "x86_64") {
        seccompiler::TargetArch::x86_64
    } else {
        seccompiler::TargetArch::aarch64
    };
    let filter = SeccompFilter::new(
        denied.iter().map(|&call| (call, Vec::new())).collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(std::io::Error::other)?;
    let program: BpfProgram = filter.try_into().map_err(std::io::Error::other)?;
    // Every thread, including any a library started before this point.
    seccompiler::apply_filter_all_threads(&program).map_err(std::io::Error::other)
}

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
fn deny_network_and_exec() -> std::io::Result<()> {
    Ok(())
}

/// In debug builds (tests), documents can ask a worker to misbehave.
fn test_faults(markdown: &str) {
    #[cfg(debug_assertions)]
    {
        if markdown.starts_with("<!-- folio-test: hang -->") {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        if markdown.starts_with("<!-- folio-test: crash -->") {
            std::process::abort();
        }
        // Long enough for a test to kill the worker while it renders.
        if markdown.starts_with("<!-- folio-test: slow -->") {
            std::thread::sleep(std::time::Duration::from_millis(1500));
        }
        // A worker that can open a socket has escaped its sandbox: make that loud.
        if markdown.starts_with("<!-- folio-test: network -->")
            && std::net::UdpSocket::bind("127.0.0.1:0").is_ok()
        {
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = markdown;
}
