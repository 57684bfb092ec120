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
use crate::ports::{
    Admission, Applied, Counter, DocumentIndex, DownloadRefused, DownloadRequest, DownloadVerifier,
    EventLog, EventPublisher, EventQueue, IdempotencyRecord, IdempotencyStore, IndexChange,
    IndexQuery, Lease, ObjectChange, RateBudget, RateLimits, SecretStore, UrlSigner, UsageCounter,
};
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
    assert!(index.ready().await.is_ok(), "a working index is ready");
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

    // Pages stay full behind many tombstones and titles that do not match: a store that stops
    // after one read of a few rows (DynamoDB applies its limit before filtering) would answer
    // short or empty pages with more to come.
    let carol = IdentityId::derive("https://contract.test", "carol");
    let mut kept = Vec::new();
    for i in 0..60u64 {
        let id = DocumentId::at(1_700_000_300_000 + i * 1000);
        let title = if i == 0 { "Needle".to_owned() } else { format!("Hay {i}") };
        ok(index.apply(IndexChange::Upsert(record(carol, id, &title, 300 + i))).await);
        if i < 5 {
            kept.push(id);
        } else {
            ok(index.apply(remove(carol, id, 400 + i)).await);
        }
    }
    kept.reverse();
    let first = ok(index.query(&carol, &query(3)).await);
    assert_eq!(
        first.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        kept[..3],
        "a full page behind 55 newer tombstones"
    );
    assert_eq!(first.next_after, Some(kept[2]), "and the cursor says more follow");
    let needle = IndexQuery { limit: 1, before: None, title_contains: Some("needle".to_owned()) };
    let found = ok(index.query(&carol, &needle).await);
    assert_eq!(
        found.items.iter().map(|r| r.title.as_str()).collect::<Vec<_>>(),
        ["Needle"],
        "the one match, the oldest of 60"
    );
    assert_eq!(found.next_after, None, "and nothing after it");
}

/// The [`EventLog`] contract: increasing sequencers, at-least-once delivery, retry delays,
/// dead letters and replay. `advance` moves the log's clock.
pub async fn check_event_log(log: Arc<dyn EventLog>, advance: impl Fn(Duration)) {
    assert!(EventPublisher::ready(log.as_ref()).await.is_ok(), "a working publisher is ready");
    assert!(EventQueue::ready(log.as_ref()).await.is_ok(), "a working queue is ready");
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
pub async fn check_pipeline_flow(pipeline: &Pipeline, queue: &dyn EventQueue) {
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
    // Read-your-writes: one document is there the moment create answers, before its event is
    // indexed (only the library list waits for the index).
    let fresh = ok(get_document(pipeline, &alice, &created.document.id).await);
    assert_eq!((fresh.id, &fresh.title), (created.document.id, &created.document.title));
    assert_eq!(ok(get_source(pipeline, &alice, &created.document.id).await), markdown);
    ok(dispatch_due(pipeline, queue, &RetryPolicy::default()).await);

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
    assert_eq!(
        get_document(pipeline, &alice, &created.document.id).await.err(),
        Some(Error::NotFound),
        "gone the moment delete answers, before its event is indexed"
    );
    ok(dispatch_due(pipeline, queue, &RetryPolicy::default()).await);
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

/// The [`IdempotencyStore`] contract: the first binding wins for its (identity, key) until it
/// expires, identities are independent, concurrent binds agree, purge removes old bindings.
pub async fn check_idempotency_store(store: Arc<dyn IdempotencyStore>) {
    assert!(store.ready().await.is_ok(), "a working store is ready");
    let alice = IdentityId::derive("https://contract.test", "alice");
    let bob = IdentityId::derive("https://contract.test", "bob");
    let binding = |seed: u64, body: &str, at: i64| IdempotencyRecord {
        document: DocumentId::at(1_700_000_000_000 + seed),
        body_sha256: body.to_owned(),
        created_ms: at,
    };
    let first = binding(1, "aaaa", 1_000);
    assert_eq!(ok(store.bind(&alice, "k", &first, 0).await), first, "a new key binds");
    let second = binding(2, "bbbb", 2_000);
    assert_eq!(ok(store.bind(&alice, "k", &second, 0).await), first, "the first binding wins");
    assert_eq!(ok(store.bind(&bob, "k", &second, 0).await), second, "identities are apart");
    assert_eq!(
        ok(store.bind(&alice, "k", &second, 1_500).await),
        second,
        "an expired binding is replaced"
    );
    assert_eq!(ok(store.bind(&alice, "k", &first, 1_500).await), second, "…and then wins");

    let tries = (0..8u64).map(|n| {
        let store = Arc::clone(&store);
        let proposal = binding(10 + n, &format!("body {n}"), 5_000);
        async move { ok(store.bind(&alice, "raced", &proposal, 0).await) }
    });
    let answers = futures::future::join_all(tries).await;
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "concurrent binds agree: {answers:?}");

    assert!(ok(store.purge(3_000).await) >= 2, "bindings made before 3 s are purged");
    let fresh = binding(30, "cccc", 9_000);
    assert_eq!(ok(store.bind(&bob, "k", &fresh, 0).await), fresh, "a purged key binds anew");
    assert_eq!(ok(store.bind(&alice, "raced", &fresh, 0).await), answers[0], "newer ones stay");
}

/// The [`SecretStore`] contract: a secret is created once with the length asked for and then
/// always the same bytes; names are independent; concurrent first calls agree.
pub async fn check_secret_store(store: Arc<dyn SecretStore>) {
    assert!(store.ready().await.is_ok(), "a working store is ready");
    let first = ok(store.get_or_create("contract-a", 32).await);
    assert_eq!(first.len(), 32);
    assert_eq!(ok(store.get_or_create("contract-a", 32).await), first, "the same bytes again");
    let other = ok(store.get_or_create("contract-b", 16).await);
    assert_eq!(other.len(), 16);
    assert_ne!(other, first[..16], "names are independent");
    let tries = (0..8).map(|_| {
        let store = Arc::clone(&store);
        async move { ok(store.get_or_create("contract-raced", 32).await) }
    });
    let answers = futures::future::join_all(tries).await;
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "concurrent first calls agree");
}

/// The query parameter `name` of a URL, decoded.
fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| {
            percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned()
        })
        .unwrap_or_default()
}

/// The contract of download URLs a shape serves itself: a [`UrlSigner`]'s URL verifies with its
/// [`DownloadVerifier`] until it expires, and not with any part altered. (Over HTTP, the API
/// tests fetch them.)
pub async fn check_signed_downloads(signer: &dyn UrlSigner, verifier: &dyn DownloadVerifier) {
    let key = ObjectKey::new(
        IdentityId::derive("https://contract.test", "alice"),
        DocumentId::at(1_700_000_000_000),
        ObjectKind::Pdf,
    );
    let other = ObjectKey::new(
        IdentityId::derive("https://contract.test", "bob"),
        key.document,
        ObjectKind::Pdf,
    );
    let url = signer
        .sign(&key, 1_000, "Report & notes ü.pdf")
        .await
        .unwrap_or_else(|e| panic!("signing a download URL failed: {e}"));
    let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p);
    let path_key = path.rsplit_once("/files/").map_or(path, |(_, k)| k).to_owned();
    assert_eq!(path_key, key.to_string(), "the URL names the object: {url}");
    let (exp, name, sig) =
        (query_param(&url, "exp"), query_param(&url, "name"), query_param(&url, "sig"));
    assert_eq!(name, "Report & notes ü.pdf", "the URL carries the file name: {url}");
    let request =
        DownloadRequest { method: "GET", key: &path_key, exp: &exp, file_name: &name, sig: &sig };
    assert_eq!(verifier.verify(&request, 999), Ok(()));
    assert_eq!(verifier.verify(&request, 1_000), Ok(()), "valid through its expiry second");
    assert_eq!(verifier.verify(&request, 1_001), Err(DownloadRefused::Expired));
    let other_key = other.to_string();
    let altered = [
        DownloadRequest { key: &other_key, ..request },
        DownloadRequest { exp: "2000", ..request },
        DownloadRequest { file_name: "evil.exe", ..request },
        DownloadRequest { method: "DELETE", ..request },
        DownloadRequest { sig: "AAAA", ..request },
        DownloadRequest { sig: "%%%", ..request },
        DownloadRequest { exp: "soon", ..request },
    ];
    for request in altered {
        assert_eq!(verifier.verify(&request, 999), Err(DownloadRefused::Invalid), "{request:?}");
    }
}

/// The [`RateLimits`] contract: atomic takes (N concurrent takes against a budget of k admit
/// exactly k), a retry-after on refusal, refills at the budget's rate up to its burst, and
/// independent keys.
pub async fn check_rate_limits(limits: Arc<dyn RateLimits>) {
    assert!(limits.ready().await.is_ok(), "working rate limits are ready");
    let budget = RateBudget { burst: 5, per_minute: 60 };
    let now = 1_700_000_000_000;
    let tries = (0..12).map(|_| {
        let limits = Arc::clone(&limits);
        async move { ok(limits.take("contract:raced", budget, now).await) }
    });
    let answers = futures::future::join_all(tries).await;
    let admitted = answers.iter().filter(|a| **a == Admission::Admitted).count();
    assert_eq!(admitted, 5, "12 concurrent takes against a burst of 5: {answers:?}");
    assert!(
        answers.iter().all(|a| match a {
            Admission::Admitted => true,
            Admission::Refused { retry_after_secs } => (1..=60).contains(retry_after_secs),
        }),
        "refusals say when to come back: {answers:?}"
    );
    assert_eq!(
        ok(limits.take("contract:other", budget, now).await),
        Admission::Admitted,
        "keys are independent"
    );
    // 60 a minute: one more a second later, and only one.
    assert_eq!(ok(limits.take("contract:raced", budget, now + 1_000).await), Admission::Admitted);
    assert!(matches!(
        ok(limits.take("contract:raced", budget, now + 1_000).await),
        Admission::Refused { .. }
    ));
    // An hour later the bucket is full again, but no fuller than its burst.
    let later = now + 3_600_000;
    let mut admitted = 0;
    for _ in 0..8 {
        if ok(limits.take("contract:raced", budget, later).await) == Admission::Admitted {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 5, "a rested bucket holds its burst");

    check_counters(limits.as_ref(), now).await;
    check_throttles(&limits, now).await;
}

/// The port's own operations: compare-and-swap and expiry.
async fn check_counters(limits: &dyn RateLimits, now: i64) {
    let fresh = ok(limits.get("contract:cas", now).await);
    assert_eq!(fresh, Counter::default(), "a key never set reads as the default");
    let one = Counter { count: 1, at_ms: now };
    let two = Counter { count: 2, at_ms: now };
    assert!(
        ok(limits.swap("contract:cas", fresh, one, now, now + 1_000).await),
        "a swap from the truth"
    );
    assert!(
        !ok(limits.swap("contract:cas", fresh, two, now, now + 1_000).await),
        "a swap from a stale counter fails"
    );
    assert_eq!(ok(limits.get("contract:cas", now).await), one);
    assert_eq!(
        ok(limits.get("contract:cas", now + 1_001).await),
        Counter::default(),
        "an expired counter reads as the default"
    );
}

/// Sign-in throttles over the port: concurrent reservations cannot all get in before a failure
/// is written, releases give attempts back, a reset forgets.
async fn check_throttles(limits: &Arc<dyn RateLimits>, now: i64) {
    use crate::limits::{ThrottleRule, release, reserve, reset};
    let rule = ThrottleRule::Backoff { free: 5, max_ms: 60_000 };
    let tries = (0..12).map(|_| {
        let limits = Arc::clone(limits);
        async move { ok(reserve(limits.as_ref(), "contract:throttle", rule, now).await) }
    });
    let answers = futures::future::join_all(tries).await;
    let reserved = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(reserved, 5, "12 concurrent attempts against 5 free failures: {answers:?}");
    ok(release(limits.as_ref(), "contract:throttle", rule, now).await);
    assert!(
        ok(reserve(limits.as_ref(), "contract:throttle", rule, now).await).is_ok(),
        "a released attempt is given back"
    );
    assert!(ok(reserve(limits.as_ref(), "contract:throttle", rule, now).await).is_err());
    ok(reset(limits.as_ref(), "contract:throttle", now).await);
    assert!(
        ok(reserve(limits.as_ref(), "contract:throttle", rule, now).await).is_ok(),
        "a reset forgets the failures"
    );
}

/// The [`Lease`] contract: one holder at a time, renewals, lapses after the TTL, release, and
/// exactly one winner among concurrent attempts.
pub async fn check_lease(lease: Arc<dyn Lease>) {
    assert!(lease.ready().await.is_ok(), "a working lease is ready");
    let now = 1_700_000_000_000;
    let ttl = 30_000;
    assert!(ok(lease.try_hold("contract", "a", ttl, now).await), "a free lease is granted");
    assert!(!ok(lease.try_hold("contract", "b", ttl, now + 1).await), "one holder at a time");
    assert!(ok(lease.try_hold("contract", "a", ttl, now + 20_000).await), "the holder renews");
    assert!(
        !ok(lease.try_hold("contract", "b", ttl, now + 40_000).await),
        "a renewal extends the lease"
    );
    assert!(ok(lease.try_hold("contract", "b", ttl, now + 50_001).await), "a lapsed lease moves");
    assert!(
        !ok(lease.try_hold("contract", "a", ttl, now + 50_002).await),
        "the old holder lost it"
    );
    ok(lease.release("contract", "a").await);
    assert!(
        !ok(lease.try_hold("contract", "a", ttl, now + 50_003).await),
        "only its holder releases"
    );
    ok(lease.release("contract", "b").await);
    assert!(
        ok(lease.try_hold("contract", "a", ttl, now + 50_004).await),
        "a released lease is free"
    );
    assert!(ok(lease.try_hold("other", "b", ttl, now).await), "leases are independent");

    let tries = (0..8).map(|n| {
        let lease = Arc::clone(&lease);
        async move { ok(lease.try_hold("contract-raced", &format!("holder {n}"), ttl, now).await) }
    });
    let granted = futures::future::join_all(tries).await.into_iter().filter(|g| *g).count();
    assert_eq!(granted, 1, "exactly one of eight concurrent holders wins");
}

/// The [`UsageCounter`] contract: totals start at 0, adds are atomic and never go below zero,
/// `set` replaces, identities are independent.
pub async fn check_usage_counter(usage: Arc<dyn UsageCounter>) {
    let alice = IdentityId::derive("https://contract.test", "usage-alice");
    let bob = IdentityId::derive("https://contract.test", "usage-bob");
    assert_eq!(ok(usage.get(&alice).await), 0, "never seen: 0");
    assert_eq!(ok(usage.add(&alice, 1000).await), 1000);
    assert_eq!(ok(usage.add(&alice, -300).await), 700);
    assert_eq!(ok(usage.get(&alice).await), 700);
    assert_eq!(ok(usage.get(&bob).await), 0, "identities are independent");
    assert_eq!(ok(usage.add(&alice, -5000).await), 0, "never below zero");
    ok(usage.set(&alice, 4096).await);
    assert_eq!(ok(usage.get(&alice).await), 4096, "set replaces");
    ok(usage.set(&bob, 0).await);
    assert_eq!(ok(usage.get(&bob).await), 0);
    // Concurrent adds all count.
    let adds = (0..20).map(|_| {
        let usage = Arc::clone(&usage);
        tokio::spawn(async move { usage.add(&bob, 10).await })
    });
    for add in futures::future::join_all(adds).await {
        assert!(matches!(add, Ok(Ok(_))), "{add:?}");
    }
    assert_eq!(ok(usage.get(&bob).await), 200, "twenty concurrent adds of 10");
    assert_eq!(ok(usage.get(&alice).await), 4096);
}
