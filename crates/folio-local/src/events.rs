//! The event log in SQLite: an outbox table (pending and in-flight events) and a dead-letter
//! table. A row's id is its sequencer, so replayed events keep their place in the order.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use folio_core::event::{Change, ObjectEvent, Sequencer};
use folio_core::functions::rfc3339;
use folio_core::ports::{Clock, DeadLetter, Delivery, EventPublisher, EventQueue, ObjectChange};
use folio_core::{Error, Result};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tokio::sync::Notify;

use crate::Database;
use crate::database::db_error;

/// How long a received event stays claimed before another consumer may take it (a consumer
/// that died mid-delivery gives it back this way).
const CLAIM_LEASE_MS: i64 = 60_000;

/// The outbox.
#[derive(Clone)]
pub struct SqliteEventLog {
    db: Database,
    clock: Arc<dyn Clock>,
    notify: Arc<Notify>,
}

impl SqliteEventLog {
    /// The event log in `db`, timing retries with `clock`.
    pub fn new(db: Database, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, notify: Arc::new(Notify::new()) }
    }
}

fn change_text(change: Change) -> &'static str {
    match change {
        Change::Created => "created",
        Change::Removed => "removed",
    }
}

fn parse_change(text: &str) -> Result<Change> {
    match text {
        "created" => Ok(Change::Created),
        "removed" => Ok(Change::Removed),
        other => Err(Error::Corrupt(format!("unknown change {other:?} in the outbox"))),
    }
}

fn event_from_row(row: &SqliteRow) -> Result<(i64, ObjectEvent, u32)> {
    let id: i64 = row.try_get("id").map_err(db_error)?;
    let size: Option<i64> = row.try_get("size").map_err(db_error)?;
    let event = ObjectEvent {
        change: parse_change(&row.try_get::<String, _>("change").map_err(db_error)?)?,
        key: row.try_get("key").map_err(db_error)?,
        size: size.and_then(|s| u64::try_from(s).ok()),
        etag: row.try_get("etag").map_err(db_error)?,
        sequencer: Sequencer::from_number(u64::try_from(id).unwrap_or_default()),
        time: row.try_get("time").map_err(db_error)?,
    };
    let attempts: i64 = row.try_get("attempts").map_err(db_error)?;
    Ok((id, event, u32::try_from(attempts).unwrap_or(u32::MAX)))
}

fn row_id(delivery: &Delivery) -> Result<i64> {
    delivery
        .id
        .parse()
        .map_err(|_| Error::InvalidRequest(format!("not an event id: {:?}", delivery.id)))
}

#[async_trait]
impl EventPublisher for SqliteEventLog {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM outbox LIMIT 1").await
    }

    async fn publish(&self, change: ObjectChange) -> Result<ObjectEvent> {
        let time = rfc3339(self.clock.now_ms());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (change, key, size, etag, time) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        )
        .bind(change_text(change.change))
        .bind(&change.key)
        .bind(change.size.and_then(|s| i64::try_from(s).ok()))
        .bind(&change.etag)
        .bind(&time)
        .fetch_one(self.db.pool())
        .await
        .map_err(db_error)?;
        self.notify.notify_waiters();
        Ok(ObjectEvent {
            change: change.change,
            key: change.key,
            size: change.size,
            etag: change.etag,
            sequencer: Sequencer::from_number(u64::try_from(id).unwrap_or_default()),
            time,
        })
    }
}

#[async_trait]
impl EventQueue for SqliteEventLog {
    async fn ready(&self) -> Result<()> {
        self.db.probe("SELECT 1 FROM dead_letters LIMIT 1").await
    }

    async fn receive(&self, max: usize) -> Result<Vec<Delivery>> {
        let now = self.clock.now_ms();
        let rows = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, claimed_until_ms = ?1 + ?2
             WHERE id IN (SELECT id FROM outbox WHERE due_ms <= ?1 AND claimed_until_ms <= ?1 ORDER BY id LIMIT ?3)
             RETURNING id, change, key, size, etag, time, attempts",
        )
        .bind(now)
        .bind(CLAIM_LEASE_MS)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await
        .map_err(db_error)?;
        let mut deliveries = rows
            .iter()
            .map(|row| {
                event_from_row(row).map(|(id, event, attempt)| Delivery {
                    id: id.to_string(),
                    event,
                    attempt,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        deliveries.sort_by_key(|d| d.event.sequencer.clone());
        Ok(deliveries)
    }

    async fn wait(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.notify.notified()).await;
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        sqlx::query("DELETE FROM outbox WHERE id = ?1")
            .bind(row_id(delivery)?)
            .execute(self.db.pool())
            .await
            .map_err(db_error)?;
        Ok(())
    }

    async fn ack_all(&self, deliveries: &[Delivery]) -> Result<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.pool().begin().await.map_err(db_error)?;
        for delivery in deliveries {
            sqlx::query("DELETE FROM outbox WHERE id = ?1")
                .bind(row_id(delivery)?)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration, error: &str) -> Result<()> {
        let due = self.clock.now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        sqlx::query(
            "UPDATE outbox SET due_ms = ?2, claimed_until_ms = 0, last_error = ?3 WHERE id = ?1",
        )
        .bind(row_id(delivery)?)
        .bind(due)
        .bind(error)
        .execute(self.db.pool())
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<()> {
        let id = row_id(delivery)?;
        let mut tx = self.db.pool().begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        sqlx::query(
            "INSERT OR REPLACE INTO dead_letters (id, change, key, size, etag, time, attempts, error, dead_ms)
             SELECT id, change, key, size, etag, time, attempts, ?2, ?3 FROM outbox WHERE id = ?1",
        )
        .bind(id)
        .bind(error)
        .bind(self.clock.now_ms())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        sqlx::query("DELETE FROM outbox WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let rows = sqlx::query("SELECT id, change, key, size, etag, time, attempts, error FROM dead_letters ORDER BY id")
            .fetch_all(self.db.pool())
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|row| {
                let (id, event, attempts) = event_from_row(row)?;
                Ok(DeadLetter {
                    id: id.to_string(),
                    key: event.key,
                    change: event.change,
                    sequencer: event.sequencer,
                    attempts,
                    error: row.try_get("error").map_err(db_error)?,
                })
            })
            .collect()
    }

    async fn replay(&self, ids: &[String]) -> Result<usize> {
        let ids: Vec<i64> = ids
            .iter()
            .map(|i| {
                i.parse().map_err(|_| Error::InvalidRequest(format!("not an event id: {i:?}")))
            })
            .collect::<Result<_>>()?;
        let mut tx = self.db.pool().begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        let chosen: Vec<i64> = sqlx::query_scalar("SELECT id FROM dead_letters ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?
            .into_iter()
            .filter(|id| ids.is_empty() || ids.contains(id))
            .collect();
        for id in &chosen {
            // The original id goes back in: the event keeps its sequencer.
            sqlx::query(
                "INSERT INTO outbox (id, change, key, size, etag, time)
                 SELECT id, change, key, size, etag, time FROM dead_letters WHERE id = ?1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            sqlx::query("DELETE FROM dead_letters WHERE id = ?1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        self.notify.notify_waiters();
        Ok(chosen.len())
    }

    async fn pending(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            .fetch_one(self.db.pool())
            .await
            .map_err(db_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}
