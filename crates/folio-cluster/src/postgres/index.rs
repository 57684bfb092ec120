//! The document index in PostgreSQL: partition key identity, sort key document id.

use async_trait::async_trait;
use folio_core::event::Sequencer;
use folio_core::ports::{Applied, DocumentIndex, IndexChange, IndexQuery, RecordPage, fold_title};
use folio_core::{DocumentId, DocumentRecord, IdentityId, Result};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Postgres, convert, db_error};

/// The index: table `documents`, one row per (identity, document), removed documents kept as
/// tombstones (`live = false`) so that late, older events cannot bring them back.
#[derive(Debug, Clone)]
pub struct PgIndex {
    db: Postgres,
}

impl PgIndex {
    /// The index in `db`.
    pub fn new(db: Postgres) -> Self {
        Self { db }
    }
}

#[async_trait]
impl DocumentIndex for PgIndex {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM documents LIMIT 1").await
    }

    async fn apply(&self, change: IndexChange) -> Result<Applied> {
        // One statement: insert, or update only if newer. Of concurrent changes to one document
        // the row lock orders them, and each compares against what the one before it wrote.
        let sql = "INSERT INTO documents (identity, document_id, seq_sort, live, title, title_folded, pages, bytes, created_ms, sequencer)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                   ON CONFLICT (identity, document_id) DO UPDATE SET
                     seq_sort = excluded.seq_sort, live = excluded.live, title = excluded.title,
                     title_folded = excluded.title_folded, pages = excluded.pages, bytes = excluded.bytes,
                     created_ms = excluded.created_ms, sequencer = excluded.sequencer
                   WHERE excluded.seq_sort > documents.seq_sort";
        let query = match &change {
            IndexChange::Upsert(r) => sqlx::query(sql)
                .bind(r.identity.to_string())
                .bind(r.id.to_string())
                .bind(r.sequencer.sort_key())
                .bind(true)
                .bind(&r.title)
                .bind(fold_title(&r.title))
                .bind(i32::try_from(r.pages).unwrap_or(i32::MAX))
                .bind(i64::try_from(r.bytes).unwrap_or(i64::MAX))
                .bind(r.created_ms)
                .bind(r.sequencer.as_str()),
            IndexChange::Remove { identity, id, sequencer } => sqlx::query(sql)
                .bind(identity.to_string())
                .bind(id.to_string())
                .bind(sequencer.sort_key())
                .bind(false)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<i32>)
                .bind(None::<i64>)
                .bind(None::<i64>)
                .bind(sequencer.as_str()),
        };
        let result = query.execute(self.db.pool()).await.map_err(db_error)?;
        Ok(if result.rows_affected() > 0 { Applied::Changed } else { Applied::Stale })
    }

    async fn get(&self, identity: &IdentityId, id: &DocumentId) -> Result<Option<DocumentRecord>> {
        let row = sqlx::query(
            "SELECT identity, document_id, title, pages, bytes, created_ms, sequencer FROM documents
             WHERE identity = $1 AND document_id = $2 AND live",
        )
        .bind(identity.to_string())
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await
        .map_err(db_error)?;
        row.map(|r| record(&r)).transpose()
    }

    async fn query(&self, identity: &IdentityId, query: &IndexQuery) -> Result<RecordPage> {
        // Keyset pagination on the primary key; `strpos` is plain substring search (a `%` or
        // `_` in the filter is a character, not a wildcard).
        let rows = sqlx::query(
            "SELECT identity, document_id, title, pages, bytes, created_ms, sequencer FROM documents
             WHERE identity = $1 AND live
               AND ($2::text IS NULL OR document_id < $2)
               AND ($3::text IS NULL OR strpos(title_folded, $3) > 0)
             ORDER BY document_id DESC LIMIT $4",
        )
        .bind(identity.to_string())
        .bind(query.before.map(|b| b.to_string()))
        .bind(query.title_contains.as_deref())
        .bind(i64::try_from(query.limit + 1).unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await
        .map_err(db_error)?;
        let items = rows.iter().map(record).collect::<Result<Vec<_>>>()?;
        Ok(RecordPage::from_overfetch(items, query.limit))
    }

    async fn scan(
        &self,
        after: Option<(IdentityId, DocumentId)>,
        limit: usize,
    ) -> Result<Vec<(IdentityId, DocumentId)>> {
        let (identity, id) = after.map(|(i, d)| (i.to_string(), d.to_string())).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT identity, document_id FROM documents
             WHERE live AND (identity, document_id) > ($1, $2)
             ORDER BY identity, document_id LIMIT $3",
        )
        .bind(identity)
        .bind(id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await
        .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                let identity: String = r.try_get(0).map_err(db_error)?;
                let id: String = r.try_get(1).map_err(db_error)?;
                Ok((identity.parse()?, id.parse()?))
            })
            .collect()
    }
}

fn record(row: &PgRow) -> Result<DocumentRecord> {
    let text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    Ok(DocumentRecord {
        identity: text(0)?.parse()?,
        id: text(1)?.parse()?,
        title: text(2)?,
        pages: convert(i64::from(row.try_get::<i32, _>(3).map_err(db_error)?), "pages")?,
        bytes: convert(row.try_get::<i64, _>(4).map_err(db_error)?, "bytes")?,
        created_ms: row.try_get(5).map_err(db_error)?,
        sequencer: Sequencer::parse(&text(6)?)?,
    })
}
