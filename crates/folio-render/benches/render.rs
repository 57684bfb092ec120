//! Render benchmark: warm renders of new documents (2 KB, 20 KB, 200 KB), the live preview's
//! re-render of a 20 KB document with one paragraph changed, memory over 1,000 different
//! documents, and parallel throughput. Cold whole-process times come from the peer comparison
//! (`../shared/bench/run_peers.py`), which runs the `folio` binary beside other engines.
//!
//! `cargo bench -p folio-render --bench render` prints a table; BENCHMARKS.md records a run.
//! `cargo bench -p folio-render --bench render -- --phases` prints where the time goes instead.
//! The corpus is `../shared/bench/gen_corpus.py`'s deterministic output, committed.

use std::time::{Duration, Instant};

use folio_render::{
    CacheTrim, RenderOptions, render_pages_svg, render_pdf, set_cache_trim, trim_caches,
};

/// The allocator the `folio` binary uses, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SMALL: &str = include_str!("corpus/small.md");
const MEDIUM: &str = include_str!("corpus/medium.md");
const LARGE: &str = include_str!("corpus/large.md");

/// A document nobody has rendered in this process: every word of four letters or more, in
/// text and code alike, carries `n`, so Typst's memo cache can reuse no paragraph, heading or
/// code block (only the template's own work). Fence lines are kept so languages stay known.
fn fresh(markdown: &str, n: usize) -> String {
    markdown
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("```") {
                return line.to_owned();
            }
            line.split(' ')
                .map(|word| {
                    if word.len() >= 4 && word.bytes().all(|b| b.is_ascii_alphabetic()) {
                        format!("{word}{n}")
                    } else {
                        word.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The same document with only its middle paragraph changed (what typing in the editor does).
fn one_paragraph_changed(markdown: &str, n: usize) -> String {
    let paragraphs: Vec<&str> = markdown.split("\n\n").collect();
    let middle = paragraphs.len() / 2;
    paragraphs
        .iter()
        .enumerate()
        .map(|(i, p)| if i == middle { format!("{p} edit {n}") } else { (*p).to_owned() })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn render(markdown: &str) {
    let options = RenderOptions::default();
    if let Err(err) = render_pdf(markdown, &options) {
        panic!("render failed: {err}");
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Resident and peak resident memory of this process, in MB (Linux).
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Times `runs` renders; Typst's cache is trimmed between them, untimed, as a worker process
/// does after sending its answer.
fn measure(label: &str, runs: usize, mut make: impl FnMut(usize) -> String) {
    let mut samples = Vec::with_capacity(runs);
    for n in 0..runs {
        let markdown = make(n);
        let started = Instant::now();
        render(&markdown);
        samples.push(started.elapsed());
        trim_caches();
    }
    let p50 = percentile(&mut samples, 0.5);
    let p90 = percentile(&mut samples, 0.9);
    println!("| {label} | {runs} | {} | {} |", ms(p50), ms(p90));
}

/// `--phases`: where the time goes in a warm render of a new 20 KB document and in the live
/// preview, from Typst's own timing scopes (the ones `typst compile --timings` writes). Each
/// scope counts once per render even when it nests in itself (inclusive time of its outermost
/// occurrence), so rows overlap: "layout document" contains "layout_list".
fn phases() {
    const RUNS: usize = 20;
    render(MEDIUM);
    let new_documents: Vec<String> = (0..RUNS).map(|n| fresh(MEDIUM, 300_000 + n)).collect();
    profile("a new 20 KB document → PDF", &new_documents, render);

    let edits: Vec<String> = (0..RUNS).map(|n| one_paragraph_changed(MEDIUM, 2000 + n)).collect();
    if let Err(err) = render_pages_svg(MEDIUM, &RenderOptions::default()) {
        panic!("{err}");
    }
    profile("20 KB, one paragraph changed → page SVGs (the live preview)", &edits, |doc| {
        if let Err(err) = render_pages_svg(doc, &RenderOptions::default()) {
            panic!("{err}");
        }
    });
}

/// Renders each document with Typst's timing scopes on and prints the 20 costliest scopes,
/// and folio's own (`folio: …`) wherever they rank.
fn profile(title: &str, documents: &[String], render: impl Fn(&str)) {
    typst_timing::enable();
    let mut wall = Duration::ZERO;
    for doc in documents {
        let started = Instant::now();
        render(doc);
        wall += started.elapsed();
        trim_caches();
    }
    let wall = wall / documents.len() as u32;
    typst_timing::disable();
    let mut json = Vec::new();
    if let Err(err) = typst_timing::export_json(&mut json, |_| (String::new(), 0)) {
        panic!("{err}");
    }
    let events: Vec<serde_json::Value> = match serde_json::from_slice(&json) {
        Ok(events) => events,
        Err(err) => panic!("{err}"),
    };
    // Per thread, a stack of open scopes; a scope's time counts only where it is outermost.
    let mut stacks: std::collections::HashMap<u64, Vec<(String, f64)>> = Default::default();
    let mut totals: std::collections::HashMap<String, f64> = Default::default();
    for event in &events {
        let name = event["name"].as_str().unwrap_or("?").to_owned();
        let ts = event["ts"].as_f64().unwrap_or(0.0);
        let stack = stacks.entry(event["tid"].as_u64().unwrap_or(0)).or_default();
        if event["ph"] == "B" {
            stack.push((name, ts));
        } else if let Some((open, since)) = stack.pop()
            && !stack.iter().any(|(outer, _)| *outer == open)
        {
            *totals.entry(open).or_default() += ts - since;
        }
    }
    println!("| {title}, per render ({} renders) | time |", documents.len());
    println!("|---|---|");
    println!("| whole render (wall, timing on; the trim after it not included) | {} |", ms(wall));
    let mut rows: Vec<(String, f64)> = totals.into_iter().collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let shown = rows
        .iter()
        .enumerate()
        .filter(|(rank, (name, _))| *rank < 20 || name.starts_with("folio:"));
    for (_, (name, micros)) in shown {
        println!("| {name} | {:.1} ms |", micros / 1000.0 / documents.len() as f64);
    }
    println!();
}

fn main() {
    // Latencies are measured as the server's workers render: trimming after the answer.
    set_cache_trim(CacheTrim::ByCaller);
    if std::env::args().any(|arg| arg == "--phases") {
        phases();
        return;
    }
    let started = Instant::now();
    render(SMALL);
    let first = started.elapsed();
    let (_, peak_first) = rss_mb();
    println!("first render in this process (2 KB, fonts and caches cold): {}", ms(first));
    println!("peak RSS after it: {peak_first:.0} MB\n");

    println!("| warm render → PDF | runs | p50 | p90 |");
    println!("|---|---|---|---|");
    // Warm up every size once so the numbers are the steady state of a long-lived process.
    render(MEDIUM);
    measure("new 2 KB document", 200, |n| fresh(SMALL, n));
    println!();
    println!(
        "| memory over different 2 KB documents | after 10 | after 250 | after 500 | after 1,000 |"
    );
    let mut row = Vec::new();
    for n in 1..=1000 {
        render(&fresh(SMALL, 100_000 + n));
        trim_caches();
        if [10, 250, 500, 1000].contains(&n) {
            row.push(format!("{:.0} MB", rss_mb().0));
        }
    }
    println!("|---|---|---|---|---|\n| RSS | {} |", row.join(" | "));
    println!();
    println!("| warm render → PDF | runs | p50 | p90 |");
    println!("|---|---|---|---|");
    measure("new 20 KB document", 60, |n| fresh(MEDIUM, n));
    let (_, peak_medium) = rss_mb();
    measure("new 200 KB document", 8, |n| fresh(LARGE, n));
    measure("20 KB, one paragraph changed", 60, |n| one_paragraph_changed(MEDIUM, n));
    let mut preview = Vec::new();
    for n in 0..60 {
        let markdown = one_paragraph_changed(MEDIUM, 1000 + n);
        let started = Instant::now();
        if let Err(err) = render_pages_svg(&markdown, &RenderOptions::default()) {
            panic!("{err}");
        }
        preview.push(started.elapsed());
        trim_caches();
    }
    println!(
        "| 20 KB, one paragraph changed → page SVGs (the live preview) | 60 | {} | {} |",
        ms(percentile(&mut preview, 0.5)),
        ms(percentile(&mut preview, 0.9))
    );
    println!("\npeak RSS after the 20 KB runs: {peak_medium:.0} MB");

    // Parallel throughput: the same 40 new 20 KB documents on 1 thread, then on every core,
    // each render trimming the cache itself (as `folio render DIR` does).
    set_cache_trim(CacheTrim::AfterEachRender);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let throughput = |threads: usize, pass: usize| {
        // New documents for every pass, so the second pass is not warmer than the first.
        let docs: Vec<String> = (0..40).map(|n| fresh(MEDIUM, 200_000 + pass * 1000 + n)).collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(doc) = docs.get(i) else { break };
                        render(doc);
                    }
                });
            }
        });
        docs.len() as f64 / started.elapsed().as_secs_f64()
    };
    let single = throughput(1, 1);
    let all = throughput(cores, 2);
    println!(
        "\nthroughput, 40 new 20 KB documents: {single:.1}/s on 1 thread, {all:.1}/s on {cores} threads ({:.2}×)",
        all / single
    );
}
