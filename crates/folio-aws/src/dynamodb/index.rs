//! The document index on DynamoDB: partition key the identity id, sort key the document id
//! (UUIDv7 text, so sort order is creation order). A removal keeps a tombstone (`live` false)
//! with its sequencer, so an older event never brings a document back.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use folio_core::event::Sequencer;
use folio_core::ports::{Applied, DocumentIndex, IndexChange, IndexQuery, RecordPage, fold_title};
use folio_core::{DocumentId, DocumentRecord, IdentityId, Result};

use super::{Dynamo, Item, n, number, refused_by_condition, s, sdk_error, text};

/// The index in the shared table.
#[derive(Debug)]
pub struct DynamoIndex {
    db: Dynamo,
    /// The sorted keys of the last full scan: a reconciliation walk reads the table once, not
    /// once per batch (DynamoDB's Scan has no order to resume from).
    walk: Mutex<Vec<(IdentityId, DocumentId)>>,
}

impl DynamoIndex {
    /// The index in `db`'s table.
    pub fn new(db: Dynamo) -> Self {
        Self { db, walk: Mutex::new(Vec::new()) }
    }

    /// Every live record's key, sorted: one paginated Scan of the table.
    async fn all_keys(&self) -> Result<Vec<(IdentityId, DocumentId)>> {
        let live = HashMap::from([(":live".to_owned(), AttributeValue::Bool(true))]);
        let items = self.db.scan_all("pk, sk", "live = :live", live).await?;
        let mut keys = items
            .iter()
            .map(|item| Ok((text(item, "pk")?.parse()?, text(item, "sk")?.parse()?)))
            .collect::<Result<Vec<_>>>()?;
        keys.sort_unstable();
        Ok(keys)
    }
}

#[async_trait]
impl DocumentIndex for DynamoIndex {
    async fn ready(&self) -> Result<()> {
        self.db.probe().await
    }

    async fn apply(&self, change: IndexChange) -> Result<Applied> {
        let sort_key = change.sequencer().sort_key();
        let mut item: Item = match &change {
            IndexChange::Upsert(r) => HashMap::from([
                ("pk".to_owned(), s(r.identity.to_string())),
                ("sk".to_owned(), s(r.id.to_string())),
                ("live".to_owned(), AttributeValue::Bool(true)),
                ("title".to_owned(), s(&r.title)),
                ("title_folded".to_owned(), s(fold_title(&r.title))),
                ("pages".to_owned(), n(r.pages)),
                ("bytes".to_owned(), n(r.bytes)),
                ("created_ms".to_owned(), n(r.created_ms)),
                ("sequencer".to_owned(), s(r.sequencer.as_str())),
            ]),
            IndexChange::Remove { identity, id, sequencer } => HashMap::from([
                ("pk".to_owned(), s(identity.to_string())),
                ("sk".to_owned(), s(id.to_string())),
                ("live".to_owned(), AttributeValue::Bool(false)),
                ("sequencer".to_owned(), s(sequencer.as_str())),
            ]),
        };
        item.insert("seq".to_owned(), s(&sort_key));
        // Newer wins, atomically: the condition is evaluated against the stored item.
        let written = self
            .db
            .client()
            .put_item()
            .table_name(self.db.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR seq < :seq")
            .expression_attribute_values(":seq", s(sort_key))
            .send()
            .await;
        match written {
            Ok(_) => Ok(Applied::Changed),
            Err(err) if refused_by_condition(&err) => Ok(Applied::Stale),
            Err(err) => Err(sdk_error(err)),
        }
    }

    async fn get(&self, identity: &IdentityId, id: &DocumentId) -> Result<Option<DocumentRecord>> {
        match self.db.get(identity.to_string(), id.to_string()).await? {
            Some(item) if is_live(&item) => Ok(Some(record(&item)?)),
            _ => Ok(None),
        }
    }

    async fn query(&self, identity: &IdentityId, query: &IndexQuery) -> Result<RecordPage> {
        // DynamoDB applies `Limit` before the filter (tombstones, the title), so one request
        // may return fewer items than asked, even none, with more to read: keep reading until
        // the page is full (one over, to know whether another follows) or the partition ends.
        let wanted = query.limit + 1;
        let mut items = Vec::with_capacity(wanted);
        let mut start: Option<Item> = None;
        let mut filter = "live = :live".to_owned();
        if query.title_contains.is_some() {
            filter.push_str(" AND contains(title_folded, :q)");
        }
        let mut condition = "pk = :pk".to_owned();
        if query.before.is_some() {
            condition.push_str(" AND sk < :before");
        }
        loop {
            let missing = i32::try_from(wanted - items.len()).unwrap_or(i32::MAX);
            let page = self
                .db
                .client()
                .query()
                .table_name(self.db.table())
                .key_condition_expression(&condition)
                .filter_expression(&filter)
                .set_expression_attribute_values(Some(values(identity, query)))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(missing.max(10))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items() {
                if items.len() < wanted {
                    items.push(record(item)?);
                }
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() && items.len() < wanted => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(RecordPage::from_overfetch(items, query.limit))
    }

    async fn scan(
        &self,
        after: Option<(IdentityId, DocumentId)>,
        limit: usize,
    ) -> Result<Vec<(IdentityId, DocumentId)>> {
        let walk = match after {
            // A walk starts: read the table once.
            None => {
                let keys = self.all_keys().await?;
                *self.walk.lock().unwrap_or_else(PoisonError::into_inner) = keys.clone();
                keys
            }
            Some(_) => self.walk.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        };
        let from = match after {
            None => 0,
            Some(after) => walk.partition_point(|key| *key <= after),
        };
        Ok(walk.iter().skip(from).take(limit).copied().collect())
    }
}

/// The values a listing's key condition and filter name.
fn values(identity: &IdentityId, query: &IndexQuery) -> HashMap<String, AttributeValue> {
    let mut values = HashMap::from([
        (":pk".to_owned(), s(identity.to_string())),
        (":live".to_owned(), AttributeValue::Bool(true)),
    ]);
    if let Some(before) = &query.before {
        values.insert(":before".to_owned(), s(before.to_string()));
    }
    if let Some(q) = &query.title_contains {
        values.insert(":q".to_owned(), s(q));
    }
    values
}

fn is_live(item: &Item) -> bool {
    matches!(item.get("live"), Some(AttributeValue::Bool(true)))
}

fn record(item: &Item) -> Result<DocumentRecord> {
    Ok(DocumentRecord {
        identity: text(item, "pk")?.parse()?,
        id: text(item, "sk")?.parse()?,
        title: text(item, "title")?.to_owned(),
        pages: number(item, "pages")?,
        bytes: number(item, "bytes")?,
        created_ms: number(item, "created_ms")?,
        sequencer: Sequencer::parse(text(item, "sequencer")?)?,
    })
}
