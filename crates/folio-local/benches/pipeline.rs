//! Pipeline benchmark on the embedded adapters (SQLite + local files): create overhead beyond
//! rendering, indexer throughput, and library queries at 10,000 documents.
//!
//! `cargo bench -p folio-local --bench pipeline` prints a table; BENCHMARKS.md records a run.
//! The renderer is the fake one (it costs microseconds), so create times are the pipeline's own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use folio_core::event::Sequencer;
use folio_core::functions::{CreateRequest, QueryParams, create_pdf, query_documents};
use folio_core::ports::{DocumentIndex, IndexChange, IndexQuery, SystemClock};
use folio_core::testing::FakeRenderer;
use folio_core::{DocumentId, DocumentRecord, IdentityId, RetryPolicy, Settings, dispatch_due};
use folio_local::{Durability, Embedded, SqliteIndex};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn markdown_2kb(i: usize) -> String {
    let mut md = format!("# Document {i}\n\n");
    while md.len() < 2048 {
        md.push_str("Some words of a paragraph that fills the document to about two kilobytes. ");
    }
    md
}

async fn open(durability: Durability) -> (tempfile::TempDir, Embedded) {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded =
        Embedded::open(dir.path(), durability, Arc::new(SystemClock)).await.expect("open");
    (dir, embedded)
}

async fn create_overhead(durability: Durability, n: usize) {
    let (_dir, embedded) = open(durability).await;
    let pipeline = embedded.pipeline(Arc::new(FakeRenderer), Settings::default());
    let me = IdentityId::derive("https://bench", "create");
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let request = CreateRequest { markdown: markdown_2kb(i), ..Default::default() };
        let start = Instant::now();
        create_pdf(&pipeline, &me, request).await.expect("create");
        dispatch_due(&pipeline, embedded.events.as_ref(), &RetryPolicy::default())
            .await
            .expect("dispatch");
        samples.push(start.elapsed());
    }
    println!(
        "create → indexed, 2 KB, {durability:?}: p50 {}  p99 {}  ({n} creates; 3 object writes + 1 outbox commit + 1 index write each)",
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.99))
    );
}

async fn indexer_throughput(durability: Durability, n: usize) {
    let (_dir, embedded) = open(durability).await;
    let pipeline = embedded.pipeline(Arc::new(FakeRenderer), Settings::default());
    let me = IdentityId::derive("https://bench", "indexer");
    for i in 0..n {
        let request = CreateRequest { markdown: format!("# Doc {i}"), ..Default::default() };
        create_pdf(&pipeline, &me, request).await.expect("create");
    }
    let start = Instant::now();
    let report = dispatch_due(&pipeline, embedded.events.as_ref(), &RetryPolicy::default())
        .await
        .expect("dispatch");
    let elapsed = start.elapsed();
    assert_eq!(report.delivered, n);
    println!(
        "indexer, {durability:?}: {:.0} events/s ({n} events in {}; each: head PDF, read manifest, upsert, ack)",
        n as f64 / elapsed.as_secs_f64(),
        ms(elapsed)
    );
}

async fn query_latency(n: usize, queries: usize) {
    let (_dir, embedded) = open(Durability::Relaxed).await;
    let index: &SqliteIndex = &embedded.index;
    let me = IdentityId::derive("https://bench", "reader");
    let other = IdentityId::derive("https://bench", "other");
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = DocumentId::at(1_700_000_000_000 + i as u64 * 1000);
        ids.push(id);
        for (identity, title) in
            [(me, format!("Report {i} quarterly")), (other, format!("Other {i}"))]
        {
            let record = DocumentRecord {
                identity,
                id,
                title,
                pages: 3,
                bytes: 40_000,
                created_ms: 0,
                sequencer: Sequencer::from_number(i as u64 + 1),
            };
            index.apply(IndexChange::Upsert(record)).await.expect("apply");
        }
    }
    let pipeline = embedded.pipeline(Arc::new(FakeRenderer), Settings::default());
    let mut first = Vec::new();
    let mut deep = Vec::new();
    let mut filtered = Vec::new();
    for q in 0..queries {
        let start = Instant::now();
        let page = query_documents(&pipeline, &me, &QueryParams::default()).await.expect("query");
        first.push(start.elapsed());
        assert_eq!(page.items.len(), 20);

        let before = ids[(q * 7919) % n];
        let start = Instant::now();
        index
            .query(&me, &IndexQuery { limit: 20, before: Some(before), title_contains: None })
            .await
            .expect("query");
        deep.push(start.elapsed());

        let start = Instant::now();
        let params = QueryParams { q: Some(format!("report {}", q % 100)), ..Default::default() };
        query_documents(&pipeline, &me, &params).await.expect("query");
        filtered.push(start.elapsed());
    }
    for (name, samples) in [
        ("first page", &mut first),
        ("page at a cursor", &mut deep),
        ("title filter", &mut filtered),
    ] {
        println!(
            "query, {n} documents, {name}: p50 {}  p99 {}",
            ms(percentile(samples, 0.5)),
            ms(percentile(samples, 0.99))
        );
    }
}

fn main() {
    // `cargo test --benches` runs benches with --test: keep that quick.
    let quick = std::env::args().any(|a| a == "--test");
    let scale = if quick { 20 } else { 1 };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        create_overhead(Durability::Full, 300 / scale).await;
        create_overhead(Durability::Relaxed, 300 / scale).await;
        indexer_throughput(Durability::Full, 3000 / scale).await;
        indexer_throughput(Durability::Relaxed, 3000 / scale).await;
        query_latency(10_000 / scale, 1000 / scale).await;
    });
}
