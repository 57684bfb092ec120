//! Events through the indexer: duplicates, reordering, foreign keys, poison.

use std::sync::Arc;

use folio_core::event::{Change, ObjectEvent, S3Notification, Sequencer};
use folio_core::functions::{
    CreateRequest, IndexOutcome, QueryParams, QueueMessage, create_pdf, index_notification,
    index_object_event, index_queue_batch, query_documents,
};
use folio_core::ports::{DocumentIndex, EventQueue};
use folio_core::{IdentityId, ObjectKey, ObjectKind, RetryPolicy, dispatch_due};
use object_store::{ObjectStoreExt, PutPayload};

use crate::pipeline;

fn event(change: Change, key: &ObjectKey, seq: u64) -> ObjectEvent {
    ObjectEvent {
        change,
        key: key.to_string(),
        size: None,
        etag: None,
        sequencer: Sequencer::from_number(seq),
        time: String::new(),
    }
}

#[tokio::test]
async fn duplicates_and_reordering_converge_on_the_store() {
    let (p, _, events) = pipeline();
    let me = IdentityId::derive("https://t", "e");
    let created =
        create_pdf(&p, &me, CreateRequest { markdown: "# Ordered".into(), ..Default::default() })
            .await;
    let id = created.map(|c| c.document.id).unwrap_or_else(|e| panic!("{e}"));
    let key = ObjectKey::new(me, id, ObjectKind::Pdf);
    let pending = events.receive(10).await.unwrap_or_default();
    for d in &pending {
        let _ = events.ack(d).await;
    }

    // The same created event three times, concurrently: one record.
    let e = event(Change::Created, &key, 50);
    let (a, b, c) = tokio::join!(
        index_object_event(&p, &e),
        index_object_event(&p, &e),
        index_object_event(&p, &e)
    );
    let outcomes = [a, b, c].map(|r| r.unwrap_or_else(|err| panic!("{err}")));
    assert_eq!(outcomes.iter().filter(|o| **o == IndexOutcome::Upserted).count(), 1);
    let listed = query_documents(&p, &me, &QueryParams::default()).await.map(|p| p.items.len());
    assert_eq!(listed.ok(), Some(1));

    // An older created event after a newer one changes nothing.
    assert_eq!(
        index_object_event(&p, &event(Change::Created, &key, 40)).await.ok(),
        Some(IndexOutcome::Stale)
    );

    // Removed (newer) then created (older, arriving late): the store decides, and the late
    // event cannot resurrect the record.
    let _ = p.objects.delete(&key.path()).await;
    assert_eq!(
        index_object_event(&p, &event(Change::Removed, &key, 60)).await.ok(),
        Some(IndexOutcome::Removed)
    );
    assert_eq!(
        index_object_event(&p, &event(Change::Created, &key, 55)).await.ok(),
        Some(IndexOutcome::Stale)
    );
    // Even a *newer* created event for a PDF that no longer exists records the removal.
    assert_eq!(
        index_object_event(&p, &event(Change::Created, &key, 70)).await.ok(),
        Some(IndexOutcome::Removed)
    );
    assert!(p.index.get(&me, &id).await.ok().flatten().is_none());
}

#[tokio::test]
async fn other_keys_and_test_events_are_ignored() {
    let (p, _, _) = pipeline();
    let me = IdentityId::derive("https://t", "i");
    let doc = folio_core::DocumentId::new();
    for key in [
        ObjectKey::new(me, doc, ObjectKind::Source).to_string(),
        ObjectKey::new(me, doc, ObjectKind::Manifest).to_string(),
        format!("other/{me}/{doc}.pdf"),
        "ugc/not-an-id/x.pdf".to_owned(),
        format!("ugc/{me}/../{doc}.pdf"),
    ] {
        let e = ObjectEvent {
            key,
            ..event(Change::Created, &ObjectKey::new(me, doc, ObjectKind::Pdf), 1)
        };
        assert_eq!(index_object_event(&p, &e).await.ok(), Some(IndexOutcome::Ignored), "{}", e.key);
    }
    let test_event = br#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z","Bucket":"b"}"#;
    let n = S3Notification::from_json(test_event).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index_notification(&p, &n).await.map(|o| o.len()).ok(), Some(0));
}

#[tokio::test]
async fn a_poison_event_is_dead_lettered_while_others_proceed() {
    let (p, _, events) = pipeline();
    let me = IdentityId::derive("https://t", "poison");
    // A PDF whose manifest is garbage: retrying cannot help.
    let bad = ObjectKey::new(me, folio_core::DocumentId::new(), ObjectKind::Pdf);
    let _ = p
        .objects
        .put(&bad.with_kind(ObjectKind::Manifest).path(), PutPayload::from_static(b"{not json"))
        .await;
    let _ = p.objects.put(&bad.path(), PutPayload::from_static(b"%PDF-1.7")).await;
    let good =
        create_pdf(&p, &me, CreateRequest { markdown: "# Good".into(), ..Default::default() })
            .await;
    assert!(good.is_ok());

    let report = dispatch_due(&p, events.as_ref(), &RetryPolicy::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.delivered, report.dead_lettered), (1, 1));
    let dead = events.dead_letters().await.unwrap_or_default();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].key, bad.to_string());
    assert!(dead[0].error.contains("manifest"), "{}", dead[0].error);
    assert_eq!(
        query_documents(&p, &me, &QueryParams::default()).await.map(|p| p.items.len()).ok(),
        Some(1)
    );

    // Fixed by hand, then replayed: now it indexes.
    let _ = p.objects.delete(&bad.path()).await;
    assert_eq!(events.replay(&[]).await.ok(), Some(1));
    let report = dispatch_due(&p, events.as_ref(), &RetryPolicy::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.dead_lettered == 0);
}

/// An index whose writes fail a number of times before succeeding.
struct FlakyIndex {
    inner: folio_core::testing::MemoryIndex,
    failures: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl DocumentIndex for FlakyIndex {
    async fn ready(&self) -> folio_core::Result<()> {
        self.inner.ready().await
    }

    async fn apply(
        &self,
        change: folio_core::ports::IndexChange,
    ) -> folio_core::Result<folio_core::ports::Applied> {
        if self
            .failures
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok()
        {
            return Err(folio_core::Error::unavailable("injected index failure"));
        }
        self.inner.apply(change).await
    }
    async fn get(
        &self,
        identity: &IdentityId,
        id: &folio_core::DocumentId,
    ) -> folio_core::Result<Option<folio_core::DocumentRecord>> {
        self.inner.get(identity, id).await
    }
    async fn query(
        &self,
        identity: &IdentityId,
        query: &folio_core::ports::IndexQuery,
    ) -> folio_core::Result<folio_core::ports::RecordPage> {
        self.inner.query(identity, query).await
    }
    async fn scan(
        &self,
        after: Option<(IdentityId, folio_core::DocumentId)>,
        limit: usize,
    ) -> folio_core::Result<Vec<(IdentityId, folio_core::DocumentId)>> {
        self.inner.scan(after, limit).await
    }
}

#[tokio::test]
async fn an_index_failing_five_times_then_succeeding_yields_one_record() {
    let (mut p, clock, events) = pipeline();
    p.index = Arc::new(FlakyIndex { inner: Default::default(), failures: 5.into() });
    let me = IdentityId::derive("https://t", "flaky");
    let created =
        create_pdf(&p, &me, CreateRequest { markdown: "# Flaky".into(), ..Default::default() })
            .await;
    assert!(created.is_ok());
    let policy = RetryPolicy::default();
    let mut retried = 0;
    for _ in 0..10 {
        let report =
            dispatch_due(&p, events.as_ref(), &policy).await.unwrap_or_else(|e| panic!("{e}"));
        retried += report.retried;
        clock.advance(std::time::Duration::from_secs(60));
    }
    assert_eq!(retried, 5);
    assert_eq!(
        query_documents(&p, &me, &QueryParams::default()).await.map(|p| p.items.len()).ok(),
        Some(1)
    );
    assert!(events.dead_letters().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn a_failing_record_of_a_notification_fails_alone() {
    let (p, _, _) = pipeline();
    let me = IdentityId::derive("https://t", "batch");
    let good =
        create_pdf(&p, &me, CreateRequest { markdown: "# Good".into(), ..Default::default() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    // A PDF without its manifest: not what folio writes, so its record cannot be indexed.
    let broken = ObjectKey::new(me, folio_core::DocumentId::new(), ObjectKind::Pdf);
    let _ = p.objects.put(&broken.path(), PutPayload::from_static(b"%PDF-")).await;
    let good_key = ObjectKey::new(me, good.document.id, ObjectKind::Pdf);
    let mut notification = S3Notification::single(&event(Change::Created, &broken, 1), "b");
    let second = S3Notification::single(&event(Change::Created, &good_key, 2), "b");
    notification.records.extend(second.records);
    let outcomes = index_notification(&p, &notification).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].event.key, broken.to_string());
    assert!(matches!(outcomes[0].result, Err(folio_core::Error::Corrupt(_))), "{outcomes:?}");
    assert_eq!(outcomes[1].result, Ok(IndexOutcome::Upserted), "the next record is indexed");
}

/// A batch from the queue between the bucket and the indexer function: only the messages that
/// cannot be done now come back for another delivery.
#[tokio::test]
async fn a_queue_batch_returns_only_the_messages_to_deliver_again() {
    let (p, _, _) = pipeline();
    let me = IdentityId::derive("https://t", "queue");
    let made = |title: &'static str| {
        let p = p.clone();
        async move {
            create_pdf(
                &p,
                &me,
                CreateRequest { markdown: format!("# {title}"), ..Default::default() },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .document
            .id
        }
    };
    let (first, second) = (made("First").await, made("Second").await);
    let body = |key: &ObjectKey, seq: u64| {
        String::from_utf8(
            serde_json::to_vec(&S3Notification::single(&event(Change::Created, key, seq), "b"))
                .unwrap_or_default(),
        )
        .unwrap_or_default()
    };
    let pdf = |id| ObjectKey::new(me, id, ObjectKind::Pdf);
    // A PDF without its manifest: not what folio writes; its record cannot be indexed.
    let broken = pdf(folio_core::DocumentId::new());
    let _ = p.objects.put(&broken.path(), PutPayload::from_static(b"%PDF-")).await;
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-02T00:00:00.000Z","Bucket":"b","RequestId":"R","HostId":"H"}"#;
    let foreign = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2026-12-02T00:00:00.000Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","bucket":{"name":"b"},"object":{"key":"other/notes.pdf","size":3,"sequencer":"0A"}}}]}"#;
    let message = |id: &str, body: String| QueueMessage { id: id.to_owned(), body };
    let batch = [
        message("m-first", body(&pdf(first), 1)),
        message("m-test", test_event.to_owned()),
        message("m-broken", body(&broken, 2)),
        message("m-foreign", foreign.to_owned()),
        message("m-garbage", "not a notification".to_owned()),
        message("m-second", body(&pdf(second), 3)),
        message("m-again", body(&pdf(first), 1)),
    ];
    assert_eq!(index_queue_batch(&p, &batch).await, ["m-broken", "m-garbage"]);
    let listed = query_documents(&p, &me, &QueryParams::default())
        .await
        .map(|page| page.items.into_iter().map(|d| d.title).collect::<Vec<_>>());
    assert_eq!(listed.ok(), Some(vec!["Second".to_owned(), "First".to_owned()]));
}

#[tokio::test]
async fn the_indexer_runs_in_a_pipeline_without_a_renderer() {
    let (p, _, events) = pipeline();
    let me = IdentityId::derive("https://t", "indexer-only");
    let created =
        create_pdf(&p, &me, CreateRequest { markdown: "# Made".into(), ..Default::default() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    // The indexer's own process: the same stores, nothing to render with.
    let indexer =
        folio_core::Pipeline { renderer: Arc::new(folio_core::ports::NoRenderer), ..p.clone() };
    let report = dispatch_due(&indexer, events.as_ref(), &RetryPolicy::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.delivered, 1);
    let page = query_documents(&indexer, &me, &QueryParams::default()).await;
    assert_eq!(page.map(|page| page.items[0].id).ok(), Some(created.document.id));
    let refused =
        create_pdf(&indexer, &me, CreateRequest { markdown: "# No".into(), ..Default::default() })
            .await;
    assert!(
        matches!(refused, Err(folio_core::Error::Render { retryable: false, .. })),
        "{refused:?}"
    );
}
