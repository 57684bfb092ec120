//! The functions on fakes: contracts, validation, reconciliation.

use std::sync::Arc;
use std::time::Duration;

use folio_core::event::{Change, ObjectEvent, Sequencer};
use folio_core::functions::{
    CreateRequest, QueryParams, create_pdf, index_object_event, query_documents, reindex,
    reindex_in_process,
};
use folio_core::ports::EventQueue;
use folio_core::ports::IndexChange;
use folio_core::testing::{
    ManualClock, MemoryEventLog, MemoryIndex, check_document_index, check_event_log,
    check_pipeline_flow, check_publishing_store,
};
use folio_core::{
    Error, EventFilter, IdentityId, ObjectKey, ObjectKind, PublishingStore, RetryPolicy,
    dispatch_due,
};
use object_store::memory::InMemory;
use object_store::{ObjectStoreExt, PutPayload};

use crate::pipeline;

#[tokio::test]
async fn fakes_pass_the_contracts() {
    check_document_index(Arc::new(MemoryIndex::default())).await;
    let clock = Arc::new(ManualClock::at(0));
    let log = Arc::new(MemoryEventLog::new(clock.clone()));
    check_event_log(log.clone(), |d| clock.advance(d)).await;
    let store =
        PublishingStore::new(Arc::new(InMemory::new()), log.clone(), EventFilter::default());
    check_publishing_store(Arc::new(store), log).await;
    let (p, _, events) = pipeline();
    check_pipeline_flow(&p, events.as_ref()).await;
}

#[tokio::test]
async fn create_validates_before_rendering() {
    let (p, _, _) = pipeline();
    let me = IdentityId::derive("https://t", "me");
    let request = |markdown: &str, title: Option<&str>| CreateRequest {
        markdown: markdown.to_owned(),
        title: title.map(str::to_owned),
        ..Default::default()
    };
    let code = |r: Result<_, Error>| r.err().map(|e: Error| e.code().as_str());
    assert_eq!(code(create_pdf(&p, &me, request("  \n ", None)).await), Some("invalid_request"));
    assert_eq!(code(create_pdf(&p, &me, request("x", Some("   "))).await), Some("invalid_request"));
    assert_eq!(
        code(create_pdf(&p, &me, request("x", Some(&"t".repeat(301)))).await),
        Some("invalid_request")
    );
    assert_eq!(
        code(create_pdf(&p, &me, request(&"x".repeat(512 * 1024 + 1), None)).await),
        Some("source_too_large")
    );
    // The limit counts the title as given (the schema's maxLength), surrounding spaces too.
    let padded = format!(" {} ", "é".repeat(298));
    let ok = create_pdf(&p, &me, request("x", Some(&padded))).await;
    assert_eq!(ok.map(|c| c.document.title.chars().count()).ok(), Some(298));
    let long = format!(" {} ", "é".repeat(300));
    assert_eq!(code(create_pdf(&p, &me, request("x", Some(&long))).await), Some("invalid_request"));
    // Control characters become spaces, then the title is trimmed.
    let ok = create_pdf(&p, &me, request("x", Some("\tQuarterly\nreport\u{7}"))).await;
    assert_eq!(ok.map(|c| c.document.title).ok().as_deref(), Some("Quarterly report"));
}

#[tokio::test]
async fn query_validates_limits_and_cursors() {
    let (p, _, _) = pipeline();
    let me = IdentityId::derive("https://t", "q");
    for params in [
        QueryParams { limit: Some(0), ..Default::default() },
        QueryParams { limit: Some(101), ..Default::default() },
        QueryParams { cursor: Some("not a cursor".into()), ..Default::default() },
        // Padding bits set: no 16 bytes are written so (the schema's pattern refuses it too).
        QueryParams { cursor: Some("AAAAAAAAAAAAAAAAAAAAAB".into()), ..Default::default() },
        QueryParams { cursor: Some("AAAAAAAAAAAAAAAAAAAAA".into()), ..Default::default() },
    ] {
        assert_eq!(
            query_documents(&p, &me, &params).await.err().map(|e| e.code().as_str()),
            Some("invalid_request"),
            "{params:?}"
        );
    }
    // Any 16 bytes are a position: a cursor made up by the caller lists their own documents.
    let made_up =
        QueryParams { cursor: Some("AAAAAAAAAAAAAAAAAAAAAA".into()), ..Default::default() };
    assert!(query_documents(&p, &me, &made_up).await.is_ok_and(|page| page.items.is_empty()));
}

/// Three documents `# Doc 0`…`# Doc 2` of `me`: their ids.
async fn create_three(p: &folio_core::Pipeline, me: &IdentityId) -> Vec<folio_core::DocumentId> {
    let mut ids = Vec::new();
    for i in 0..3 {
        let request = CreateRequest { markdown: format!("# Doc {i}"), ..Default::default() };
        let created = create_pdf(p, me, request).await;
        ids.push(created.map(|c| c.document.id).unwrap_or_else(|e| panic!("{e}")));
    }
    ids
}

#[tokio::test]
async fn reindex_repairs_both_ways_and_clears_old_orphans() {
    let (p, clock, events) = pipeline();
    let me = IdentityId::derive("https://t", "r");
    let ids = create_three(&p, &me).await;
    // Lose every event (a crash before indexing), and drop one PDF behind the index's back.
    let lost = events.receive(100).await.unwrap_or_default();
    for d in &lost {
        let _ = events.ack(d).await;
    }
    assert!(
        query_documents(&p, &me, &QueryParams::default())
            .await
            .map(|p| p.items.is_empty())
            .unwrap_or(false)
    );
    // An orphan source from a create that crashed before its PDF.
    let orphan = ObjectKey::new(me, folio_core::DocumentId::new(), ObjectKind::Source);
    let _ = p.objects.put(&orphan.path(), PutPayload::from_static(b"# orphan")).await;

    let report = reindex(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.pdfs, report.missing_records, report.orphans_removed), (3, 3, 0));
    dispatch_due(&p, events.as_ref(), &RetryPolicy::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        query_documents(&p, &me, &QueryParams::default()).await.map(|p| p.items.len()).ok(),
        Some(3)
    );

    // A record whose PDF vanished is removed; the orphan goes once the grace period is over.
    let inner_delete = ObjectKey::new(me, ids[0], ObjectKind::Pdf).path();
    let _ = p.objects.delete(&inner_delete).await;
    let stray = events.receive(100).await.unwrap_or_default();
    for d in &stray {
        let _ = events.ack(d).await; // the removal event is lost too
    }
    clock.advance(Duration::from_secs(3600));
    let report = reindex(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (report.stale_records, report.orphans_removed),
        (1, 1 + 2),
        "the record, the orphan and the deleted PDF's leftovers"
    );
    dispatch_due(&p, events.as_ref(), &RetryPolicy::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        query_documents(&p, &me, &QueryParams::default()).await.map(|p| p.items.len()).ok(),
        Some(2)
    );
    assert!(p.objects.head(&orphan.path()).await.is_err());
}

#[tokio::test]
async fn background_tasks_index_and_reconcile_until_shut_down() {
    let (p, _, events) = pipeline();
    let me = IdentityId::derive("https://t", "background");
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(folio_core::run_dispatcher(
        p.clone(),
        events.clone(),
        RetryPolicy::default(),
        shutdown.clone(),
    ));
    let reconciler = tokio::spawn(folio_core::run_reconciler(
        p.clone(),
        Arc::new(folio_core::MemoryLease::default()),
        Duration::from_millis(50),
        shutdown,
    ));
    let created =
        create_pdf(&p, &me, CreateRequest { markdown: "# Live".into(), ..Default::default() })
            .await;
    assert!(created.is_ok());
    // The library is eventually consistent: poll briefly.
    let mut listed = 0;
    for _ in 0..100 {
        listed = query_documents(&p, &me, &QueryParams::default())
            .await
            .map(|p| p.items.len())
            .unwrap_or(0);
        if listed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(listed, 1);
    let _ = stop.send(true);
    assert!(
        tokio::time::timeout(Duration::from_secs(10), dispatcher).await.is_ok(),
        "dispatcher stops"
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(10), reconciler).await.is_ok(),
        "reconciler stops"
    );
}

#[tokio::test]
async fn one_process_at_a_time_reconciles() {
    let (p, clock, _) = pipeline();
    let lease = folio_core::MemoryLease::default();
    let ttl = Duration::from_secs(60);
    let first = folio_core::reconcile_once(&p, &lease, "first", ttl).await;
    assert!(matches!(first, Ok(Some(_))), "{first:?}");
    let second = folio_core::reconcile_once(&p, &lease, "second", ttl).await;
    assert!(matches!(second, Ok(None)), "the lease is held: {second:?}");
    assert!(matches!(folio_core::reconcile_once(&p, &lease, "first", ttl).await, Ok(Some(_))));
    // The first process stops renewing (it died): the lease lapses and moves.
    clock.advance(Duration::from_secs(61));
    assert!(matches!(folio_core::reconcile_once(&p, &lease, "second", ttl).await, Ok(Some(_))));
    assert!(matches!(folio_core::reconcile_once(&p, &lease, "first", ttl).await, Ok(None)));
}

/// Where folio cannot publish repairs (the AWS shape's scheduled function), reconciliation
/// indexes them itself, ordered against the bucket's own sequencers: a missing record is filled,
/// a record whose PDF is gone is removed however large its sequencer, a deliberate deletion
/// (a tombstone newer than the PDF) is not undone, and nothing is published.
#[tokio::test]
async fn reindex_in_process_repairs_without_publishing() {
    let (p, _, events) = pipeline();
    let me = IdentityId::derive("https://t", "in-process");
    let ids = create_three(&p, &me).await;
    let s3_like = |text: &str| Sequencer::parse(text).unwrap_or_else(|e| panic!("{e}"));
    // Doc 1 indexed by the bucket's event, then its PDF lost behind the index's back.
    let pdf = |i: usize| ObjectKey::new(me, ids[i], ObjectKind::Pdf);
    let event = ObjectEvent {
        change: Change::Created,
        key: pdf(1).to_string(),
        size: None,
        etag: None,
        sequencer: s3_like("0055AED6DCD90281E5"),
        time: String::new(),
    };
    index_object_event(&p, &event).await.unwrap_or_else(|e| panic!("{e}"));
    let _ = p.objects.delete(&pdf(1).path()).await;
    // Doc 2 deleted on purpose (its tombstone is newer than anything) but its PDF left behind.
    let tombstone =
        IndexChange::Remove { identity: me, id: ids[2], sequencer: s3_like("FFFFFFFFFFFFFFFFFF") };
    p.index.apply(tombstone).await.unwrap_or_else(|e| panic!("{e}"));
    for delivery in events.receive(100).await.unwrap_or_default() {
        let _ = events.ack(&delivery).await; // every event lost
    }

    let report = reindex_in_process(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.missing_records, report.stale_records), (2, 1), "{report:?}");
    let listed = query_documents(&p, &me, &QueryParams::default()).await;
    let listed: Vec<_> =
        listed.map(|page| page.items.into_iter().map(|d| d.id).collect()).unwrap_or_default();
    assert_eq!(listed, [ids[0]], "doc 0 filled in, doc 1 removed, doc 2 stays deleted");
    assert!(events.receive(100).await.unwrap_or_default().is_empty(), "nothing is published");
    let again = reindex_in_process(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.missing_records, again.stale_records), (1, 0), "only the tombstoned PDF");
}

/// One broken document (a PDF whose manifest is gone) does not stop an in-process pass: the
/// others are repaired, and the broken one is named in the report with the reason.
#[tokio::test]
async fn reindex_in_process_names_a_broken_document_and_repairs_the_rest() {
    let (p, _, events) = pipeline();
    let me = IdentityId::derive("https://t", "broken");
    let ids = create_three(&p, &me).await;
    for delivery in events.receive(100).await.unwrap_or_default() {
        let _ = events.ack(&delivery).await; // every event lost
    }
    let broken = ObjectKey::new(me, ids[1], ObjectKind::Manifest);
    p.objects.delete(&broken.path()).await.unwrap_or_else(|e| panic!("{e}"));

    let report = reindex_in_process(&p).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.missing_records, 3, "{report:?}");
    let failed: Vec<_> = report.failed_repairs.iter().map(|f| f.key.clone()).collect();
    assert_eq!(failed, [broken.with_kind(ObjectKind::Pdf).to_string()]);
    assert!(report.failed_repairs[0].error.contains("has no manifest"), "{report:?}");
    let listed = query_documents(&p, &me, &QueryParams::default()).await;
    let mut listed: Vec<_> =
        listed.map(|page| page.items.into_iter().map(|d| d.id).collect()).unwrap_or_default();
    listed.sort();
    let mut expected = vec![ids[0], ids[2]];
    expected.sort();
    assert_eq!(listed, expected, "the two whole documents are indexed");
}

/// Fails the test with the error (any result type).
fn ok<T>(err: Error) -> T {
    panic!("{err}")
}

/// A 2 × 2 PNG of one colour (a header and pixels the intake accepts).
fn tiny_png(shade: u8) -> bytes::Bytes {
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x02\0\0\0\x02\x08\x02\0\0\0\0\0\0\0".to_vec();
    png.push(shade);
    bytes::Bytes::from(png)
}

/// Reconciliation knows image keys: bytes a library entry or a document names stay; bytes
/// nothing names go once older than the grace period; none are counted as foreign keys.
#[tokio::test]
async fn reindex_keeps_named_image_bytes_and_removes_the_rest_after_the_grace_period() {
    use folio_core::functions::{
        CreateRequest, create_pdf, delete_image, document_images, get_image, get_image_bytes,
        put_image,
    };
    let (p, clock, _) = pipeline();
    let me = IdentityId::derive("https://t", "images");
    put_image(&p, &me, "kept.png", tiny_png(1), Some("image/png")).await.unwrap_or_else(ok);
    put_image(&p, &me, "used.png", tiny_png(2), None).await.unwrap_or_else(ok);
    let request =
        CreateRequest { markdown: "# D\n\n![u](used.png)\n".to_owned(), ..Default::default() };
    let doc = create_pdf(&p, &me, request).await.unwrap_or_else(ok).document.id;
    delete_image(&p, &me, "used.png").await.unwrap_or_else(ok);
    let orphan = put_image(&p, &me, "gone.png", tiny_png(3), None).await.unwrap_or_else(ok);
    delete_image(&p, &me, "gone.png").await.unwrap_or_else(ok);

    let young = reindex(&p).await.unwrap_or_else(ok);
    assert_eq!((young.images, young.images_removed, young.foreign_keys), (3, 0, 0), "{young:?}");
    clock.advance(Duration::from_secs(3600));
    p.usage.set(&me, 999).await.unwrap_or_else(ok); // drifted (a crash between count and write)
    let old = reindex(&p).await.unwrap_or_else(ok);
    assert_eq!((old.images, old.images_removed, old.usage_recounted), (3, 1, 1), "{old:?}");
    // The usage is recounted to what the store holds for them.
    let held: u64 = {
        use futures::TryStreamExt;
        let prefix = object_store::path::Path::from(format!("ugc/{me}"));
        let listed: Vec<_> = p.objects.list(Some(&prefix)).try_collect().await.unwrap_or_default();
        listed.iter().map(|m| m.size).sum()
    };
    assert!(held > 0);
    assert_eq!(p.usage.get(&me).await.unwrap_or_else(ok), held);

    assert!(get_image(&p, &me, "kept.png").await.is_ok(), "the library's image stays");
    let pinned = document_images(&p, &me, &doc).await.unwrap_or_else(ok);
    let used = pinned.get("used.png").cloned().unwrap_or_default();
    assert!(get_image_bytes(&p, &me, &used).await.is_ok(), "the document's image stays");
    assert_eq!(get_image_bytes(&p, &me, &orphan.sha256).await.err(), Some(Error::NotFound));
}
