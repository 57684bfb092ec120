//! The document index in SQLite.

use async_trait::async_trait;
use folio_core::event::Sequencer;
use folio_core::ports::{Applied, DocumentIndex, IndexChange, IndexQuery, RecordPage, fold_title};
use folio_core::{DocumentId, DocumentRecord, Error, IdentityId, Result};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::Database;
use crate::database::db_error;

/// The index: table `documents`, one row per (identity, document), removed documents kept as
/// tombstones (`live = 0`) so that late, older events cannot bring them back.
#[derive(Debug, Clone)]
pub struct SqliteIndex {
    db: Database,
}

impl SqliteIndex {
    /// The index in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

#[async_trait]
impl DocumentIndex for SqliteIndex {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM documents LIMIT 1").await
    }

    async fn apply(&self, change: IndexChange) -> Result<Applied> {
        // One statement: insert, or update only if newer — atomic without a transaction.
        let sql = "INSERT INTO documents (identity, document_id, seq_sort, live, title, title_folded, pages, bytes, created_ms, sequencer)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
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
                .bind(1i64)
                .bind(&r.title)
                .bind(fold_title(&r.title))
                .bind(i64::from(r.pages))
                .bind(i64::try_from(r.bytes).unwrap_or(i64::MAX))
                .bind(r.created_ms)
                .bind(r.sequencer.as_str()),
            IndexChange::Remove { identity, id, sequencer } => sqlx::query(sql)
                .bind(identity.to_string())
                .bind(id.to_string())
                .bind(sequencer.sort_key())
                .bind(0i64)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(None::<i64>)
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
             WHERE identity = ?1 AND document_id = ?2 AND live = 1",
        )
        .bind(identity.to_string())
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await
        .map_err(db_error)?;
        row.map(|r| record(&r)).transpose()
    }

    async fn query(&self, identity: &IdentityId, query: &IndexQuery) -> Result<RecordPage> {
        let rows = sqlx::query(
            "SELECT identity, document_id, title, pages, bytes, created_ms, sequencer FROM documents
             WHERE identity = ?1 AND live = 1
               AND (?2 IS NULL OR document_id < ?2)
               AND (?3 IS NULL OR instr(title_folded, ?3) > 0)
             ORDER BY document_id DESC LIMIT ?4",
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
             WHERE live = 1 AND (identity, document_id) > (?1, ?2)
             ORDER BY identity, document_id LIMIT ?3",
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

fn record(row: &SqliteRow) -> Result<DocumentRecord> {
    let get_text = |i: usize| row.try_get::<String, _>(i).map_err(db_error);
    let get_int = |i: usize| row.try_get::<i64, _>(i).map_err(db_error);
    Ok(DocumentRecord {
        identity: get_text(0)?.parse()?,
        id: get_text(1)?.parse()?,
        title: get_text(2)?,
        pages: u32::try_from(get_int(3)?).map_err(|e| Error::Corrupt(e.to_string()))?,
        bytes: u64::try_from(get_int(4)?).map_err(|e| Error::Corrupt(e.to_string()))?,
        created_ms: get_int(5)?,
        sequencer: Sequencer::parse(&get_text(6)?)?,
    })
}
