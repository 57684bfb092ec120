//! Conformance suites. Each takes a fresh, empty adapter and panics (like a failed test) when
//! the adapter breaks its port's contract.

use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::dispatcher::{RetryPolicy, dispatch_due};
use crate::document::DocumentRecord;
use crate::event::{Change, Sequencer};
use crate::functions::{
    CreateRequest, QueryParams, create_pdf, delete_document, get_document, get_source,
    query_documents,
};
use crate::ids::{DocumentId, IdentityId, ObjectKey, ObjectKind};
use crate::pipeline::Pipeline;
use crate::ports::{Applied, DocumentIndex, EventLog, IndexChange, IndexQuery, ObjectChange};
use crate::{Error, Result};

fn ok<T>(result: Result<T>) -> T {
    result.unwrap_or_else(|err| panic!("unexpected error: {err}"))
}

fn record(identity: IdentityId, id: DocumentId, title: &str, seq: u64) -> DocumentRecord {
    DocumentRecord {
        identity,
        id,
        title: title.to_owned(),
        pages: 2,
        bytes: 1234,
        created_ms: 1_700_000_000_000,
        sequencer: Sequencer::from_number(seq),
    }
}

fn remove(identity: IdentityId, id: DocumentId, seq: u64) -> IndexChange {
    IndexChange::Remove { identity, id, sequencer: Sequencer::from_number(seq) }
}

fn query(limit: usize) -> IndexQuery {
    IndexQuery { limit, before: None, title_contains: None }
}

/// The [`DocumentIndex`] contract: order-proof applies with tombstones, isolation, newest-first
/// pagination, the shared title folding, scans, and atomic concurrent applies.
pub async fn check_document_index(index: Arc<dyn DocumentIndex>) {
    let alice = IdentityId::derive("https://contract.test", "alice");
    let bob = IdentityId::derive("https://contract.test", "bob");
    let doc = DocumentId::at(1_700_000_000_000);

    // Newer wins; equal or older is stale.
    assert_eq!(
        ok(index.apply(IndexChange::Upsert(record(alice, doc, "First", 5))).await),
        Applied::Changed
    );
    assert_eq!(
        ok(index.apply(IndexChange::Upsert(record(alice, doc, "First", 5))).await),
        Applied::Stale
    );
    assert_eq!(
        ok(index.apply(IndexChange::Upsert(record(alice, doc, "Older", 3))).await),
        Applied::Stale
    );
    assert_eq!(
        ok(index.apply(IndexChange::Upsert(record(alice, doc, "Second", 7))).await),
        Applied::Changed
    );
    assert_eq!(ok(index.get(&alice, &doc).await).map(|r| r.title), Some("Second".to_owned()));
    assert_eq!(ok(index.get(&alice, &doc).await), Some(record(alice, doc, "Second", 7)));

    // Removals are ordered too, and leave a tombstone that older upserts cannot pass.
    assert_eq!(ok(index.apply(remove(alice, doc, 6)).await), Applied::Stale);
    assert_eq!(ok(index.apply(remove(alice, doc, 9)).await), Applied::Changed);
    assert_eq!(ok(index.get(&alice, &doc).await), None);
    assert_eq!(
        ok(index.apply(IndexChange::Upsert(record(alice, doc, "Zombie", 8))).await),
        Applied::Stale
    );
    assert_eq!(ok(index.get(&alice, &doc).await), None);

    // Removed before created: the creation, older, never appears.
    let doc2 = DocumentId::at(1_700_000_000_001);
    assert_eq!(ok(index.apply(remove(alice, doc2, 10)).await), Applied::Changed);
    assert_eq!(
        ok(index.apply(IndexChange::Upsert(record(alice, doc2, "Late", 4))).await),
        Applied::Stale
    );
    assert!(ok(index.query(&alice, &query(10)).await).items.is_empty());

    // Concurrent duplicates: exactly one applies.
    let doc3 = DocumentId::at(1_700_000_000_002);
    let change = IndexChange::Upsert(record(alice, doc3, "Once", 11));
    let (a, b, c) = tokio::join!(
        index.apply(change.clone()),
        index.apply(change.clone()),
        index.apply(change.clone())
    );
    let changed = [ok(a), ok(b), ok(c)].iter().filter(|x| **x == Applied::Changed).count();
    assert_eq!(changed, 1, "three concurrent copies of one change apply once");

    // Pagination: newest first, no duplicates, no gaps.
    let mut ids = Vec::new();
    for i in 0..25u64 {
        let id = DocumentId::at(1_700_000_100_000 + i * 1000);
        ids.push(id);
        ok(index.apply(IndexChange::Upsert(record(alice, id, &format!("Doc {i}"), 100 + i))).await);
    }
    ids.push(doc3);
    ids.sort();
    ids.reverse();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page =
            ok(index.query(&alice, &IndexQuery { limit: 10, before, title_contains: None }).await);
        assert!(page.items.len() <= 10);
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next_after {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids, "pages list every record once, newest first");

    // Title filter: case-insensitive, Unicode-aware, literal (no wildcards).
    for (seq, title) in [
        (200, "Quarterly REPORT 2026"),
        (201, "ÜBER Straße"),
        (202, "100% done_x"),
        (203, "1000 done"),
    ] {
        ok(index
            .apply(IndexChange::Upsert(record(
                bob,
                DocumentId::at(1_700_000_200_000 + seq),
                title,
                seq,
            )))
            .await);
    }
    let titles = |q: &str| {
        let index = Arc::clone(&index);
        let q = crate::ports::fold_title(q);
        async move {
            let page = ok(index
                .query(&bob, &IndexQuery { limit: 100, before: None, title_contains: Some(q) })
                .await);
            page.items.into_iter().map(|r| r.title).collect::<Vec<_>>()
        }
    };
    assert_eq!(titles("report").await, ["Quarterly REPORT 2026"]);
    assert_eq!(titles("über").await, ["ÜBER Straße"]);
    assert_eq!(
        titles("STRASSE").await,
        Vec::<String>::new(),
        "folding is lowercase, not full case folding"
    );
    assert_eq!(titles("straße").await, ["ÜBER Straße"]);
    assert_eq!(titles("0%").await, ["100% done_x"]);
    assert_eq!(titles("_").await, ["100% done_x"]);
    assert_eq!(titles("0 d").await, ["1000 done"]);

    // Isolation.
    assert_eq!(ok(index.get(&bob, &doc3).await), None);
    assert!(ok(index.query(&bob, &query(100)).await).items.iter().all(|r| r.identity == bob));
    assert!(ok(index.query(&alice, &query(100)).await).items.iter().all(|r| r.identity == alice));

    // Scan walks every live record in (identity, id) order.
    let mut scanned = Vec::new();
    let mut after = None;
    loop {
        let batch = ok(index.scan(after, 7).await);
        let Some(last) = batch.last().copied() else { break };
        scanned.extend(batch);
        after = Some(last);
    }
    let mut sorted = scanned.clone();
    sorted.sort();
    assert_eq!(scanned, sorted);
    assert_eq!(scanned.len(), 26 + 4);
    assert!(!scanned.contains(&(alice, doc)) && !scanned.contains(&(alice, doc2)));
}

/// The [`EventLog`] contract: increasing sequencers, at-least-once delivery, retry delays,
/// dead letters and replay. `advance` moves the log's clock.
pub async fn check_event_log(log: Arc<dyn EventLog>, advance: impl Fn(Duration)) {
    let change = |key: &str| ObjectChange {
        change: Change::Created,
        key: key.to_owned(),
        size: Some(10),
        etag: None,
    };
    let a = ok(log.publish(change("ugc/k/a.pdf")).await);
    let b = ok(log.publish(change("ugc/k/a.pdf")).await);
    let c = ok(log
        .publish(ObjectChange { change: Change::Removed, size: None, ..change("ugc/k/a.pdf") })
        .await);
    assert!(a.sequencer < b.sequencer && b.sequencer < c.sequencer, "sequencers increase");
    assert_eq!(ok(log.pending().await), 3);

    let first = ok(log.receive(10).await);
    assert_eq!(first.len(), 3);
    assert!(first.iter().all(|d| d.attempt == 1));
    assert_eq!(first[0].event, a);
    assert_eq!(first[2].event.change, Change::Removed);
    assert!(
        ok(log.receive(10).await).is_empty(),
        "in-flight events are not delivered twice at once"
    );

    ok(log.ack(&first[0]).await);
    ok(log.retry_later(&first[1], Duration::from_secs(5), "flaky").await);
    ok(log.dead_letter(&first[2], "poison").await);
    assert!(ok(log.receive(10).await).is_empty(), "a retry waits for its delay");
    advance(Duration::from_secs(6));
    let again = ok(log.receive(10).await);
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].event.clone(), again[0].attempt), (b, 2));
    ok(log.ack(&again[0]).await);

    let dead = ok(log.dead_letters().await);
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].error.as_str(), dead[0].change), ("poison", Change::Removed));
    assert_eq!(ok(log.pending().await), 0);
    assert_eq!(ok(log.replay(&[]).await), 1);
    assert!(ok(log.dead_letters().await).is_empty());
    let replayed = ok(log.receive(10).await);
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].event, c);
    ok(log.ack(&replayed[0]).await);
    assert!(ok(log.replay(&["999999".to_owned()]).await) == 0);

    // A waiting consumer wakes up when an event is published.
    let waiter = Arc::clone(&log);
    let started = std::time::Instant::now();
    let wait = tokio::spawn(async move { waiter.wait(Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    ok(log.publish(change("ugc/k/b.pdf")).await);
    let _ = wait.await;
    assert!(started.elapsed() < Duration::from_secs(10), "wait returns when an event arrives");
}

/// The publishing objects adapter: watched writes raise exactly one event each.
pub async fn check_publishing_store(store: Arc<dyn ObjectStore>, log: Arc<dyn EventLog>) {
    let key = ObjectKey::new(
        IdentityId::derive("https://contract.test", "p"),
        DocumentId::new(),
        ObjectKind::Pdf,
    );
    let drain = || async { ok(log.receive(100).await) };
    let before = drain().await;
    for d in &before {
        ok(log.ack(d).await);
    }
    ok(store
        .put(&key.with_kind(ObjectKind::Source).path(), PutPayload::from_static(b"# md"))
        .await
        .map_err(Error::from));
    ok(store
        .put(&Path::from("other/x.pdf"), PutPayload::from_static(b"x"))
        .await
        .map_err(Error::from));
    assert!(drain().await.is_empty(), "sources and foreign keys raise no events");
    ok(store.put(&key.path(), PutPayload::from_static(b"%PDF-1.7")).await.map_err(Error::from));
    let created = drain().await;
    assert_eq!(created.len(), 1);
    assert_eq!(
        (created[0].event.change, created[0].event.key.as_str(), created[0].event.size),
        (Change::Created, key.to_string().as_str(), Some(8))
    );
    ok(log.ack(&created[0]).await);
    ok(store.delete(&key.path()).await.map_err(Error::from));
    let removed = drain().await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].event.change, Change::Removed);
    assert!(removed[0].event.sequencer > created[0].event.sequencer);
    ok(log.ack(&removed[0]).await);
}

/// The whole flow on a pipeline: create → indexed → listed → source → isolation → delete.
pub async fn check_pipeline_flow(pipeline: &Pipeline) {
    let alice = IdentityId::derive("https://contract.test", "flow-alice");
    let bob = IdentityId::derive("https://contract.test", "flow-bob");
    let markdown = "# Flow test\n\nThe words of the flow test.\n";
    let created = ok(create_pdf(
        pipeline,
        &alice,
        CreateRequest { markdown: markdown.to_owned(), ..Default::default() },
    )
    .await);
    assert_eq!(created.document.title, "Flow test");
    assert!(created.document.download_url.contains(&created.document.id.to_string()));
    ok(dispatch_due(pipeline, &RetryPolicy::default()).await);

    let page = ok(query_documents(pipeline, &alice, &QueryParams::default()).await);
    assert_eq!(page.items.len(), 1);
    let item = &page.items[0];
    assert_eq!(
        (item.id, item.title.as_str(), item.pages, item.bytes),
        (created.document.id, "Flow test", created.document.pages, created.document.bytes)
    );
    assert_eq!(item.created, created.document.created);
    assert_eq!(ok(get_source(pipeline, &alice, &created.document.id).await), markdown);
    assert_eq!(
        ok(get_document(pipeline, &alice, &created.document.id).await).id,
        created.document.id
    );

    // Bob sees nothing of Alice's, and cannot delete it.
    assert!(ok(query_documents(pipeline, &bob, &QueryParams::default()).await).items.is_empty());
    assert_eq!(
        get_document(pipeline, &bob, &created.document.id).await.err(),
        Some(Error::NotFound)
    );
    assert_eq!(get_source(pipeline, &bob, &created.document.id).await.err(), Some(Error::NotFound));
    assert_eq!(
        delete_document(pipeline, &bob, &created.document.id).await.err(),
        Some(Error::NotFound)
    );
    assert_eq!(ok(query_documents(pipeline, &alice, &QueryParams::default()).await).items.len(), 1);

    ok(delete_document(pipeline, &alice, &created.document.id).await);
    ok(dispatch_due(pipeline, &RetryPolicy::default()).await);
    assert!(ok(query_documents(pipeline, &alice, &QueryParams::default()).await).items.is_empty());
    assert_eq!(
        get_source(pipeline, &alice, &created.document.id).await.err(),
        Some(Error::NotFound)
    );
    for kind in [ObjectKind::Source, ObjectKind::Manifest, ObjectKind::Pdf] {
        let path = ObjectKey::new(alice, created.document.id, kind).path();
        assert!(
            matches!(pipeline.objects.head(&path).await, Err(object_store::Error::NotFound { .. })),
            "{kind:?} removed"
        );
    }
}
