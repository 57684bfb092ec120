//! The SQLite database: one file, WAL mode, schema migrations applied at open.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use folio_core::{Error, Result};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// How hard writes are pushed to disk before they are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync on every commit and after every object write: survives power loss.
    #[default]
    Full,
    /// No fsync: survives a process crash, not a power loss (tests, benchmarks).
    Relaxed,
}

/// The schema, one entry per version. Applied in order inside a transaction; the database's
/// `user_version` records how far it got.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE documents (
    identity     TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    -- The event sequencer right-padded with zeros to 64 characters, so that text comparison
    -- is S3's sequencer order.
    seq_sort     TEXT NOT NULL,
    live         INTEGER NOT NULL,
    title        TEXT,
    title_folded TEXT,
    pages        INTEGER,
    bytes        INTEGER,
    created_ms   INTEGER,
    sequencer    TEXT NOT NULL,
    PRIMARY KEY (identity, document_id)
) WITHOUT ROWID;

-- AUTOINCREMENT: ids (and so sequencers) are never reused, even after acked rows are deleted.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    change           TEXT NOT NULL,
    key              TEXT NOT NULL,
    size             INTEGER,
    etag             TEXT,
    time             TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    due_ms           INTEGER NOT NULL DEFAULT 0,
    claimed_until_ms INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (due_ms, id);

CREATE TABLE dead_letters (
    id         INTEGER PRIMARY KEY,
    change     TEXT NOT NULL,
    key        TEXT NOT NULL,
    size       INTEGER,
    etag       TEXT,
    time       TEXT NOT NULL,
    attempts   INTEGER NOT NULL,
    error      TEXT NOT NULL,
    dead_ms    INTEGER NOT NULL
);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
"#,
    r#"
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_ms    INTEGER NOT NULL
);

CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    rotated_ms INTEGER,
    revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_family ON refresh_tokens (family);
CREATE INDEX refresh_user ON refresh_tokens (user_id);

CREATE TABLE throttle (
    key      TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_ms  INTEGER NOT NULL
);

CREATE TABLE idempotency (
    identity    TEXT NOT NULL,
    key         TEXT NOT NULL,
    document_id TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (identity, key)
) WITHOUT ROWID;
"#,
    // The built-in pool's signing keys as a ring (`folio keys rotate`); the first key is the
    // seed the pool signed with before (kept in `secrets`), so existing tokens stay valid.
    r#"
CREATE TABLE signing_keys (
    seed       BLOB PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    retired_ms INTEGER
);
"#,
    // Sign-in throttles moved to the rate-limits port (shared with the request budgets).
    "DROP TABLE throttle;",
    // Storage usage per identity (the quota's measure).
    "CREATE TABLE usage (identity TEXT PRIMARY KEY, bytes INTEGER NOT NULL);",
];

/// A connection pool to `folio.db`.
#[derive(Debug, Clone)]
pub struct Database {
    pool: SqlitePool,
}

impl Database {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: &Path, durability: Durability) -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(Error::unavailable)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Relaxed => SqliteSynchronous::Normal,
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool =
            SqlitePoolOptions::new().max_connections(4).connect_with(options).await.map_err(
                |e| Error::Unavailable {
                    message: format!("cannot open {}: {e}", path.display()),
                    retryable: false,
                },
            )?;
        let database = Self { pool };
        database.migrate().await?;
        Ok(database)
    }

    /// Whether `query` (a `SELECT … LIMIT 1` of an adapter's table) runs now: the adapters'
    /// readiness probe, which reads and never writes.
    pub async fn probe(&self, query: &'static str) -> Result<()> {
        sqlx::query(query).fetch_optional(&self.pool).await.map(drop).map_err(db_error)
    }

    /// The pool, for the adapters.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::Unavailable {
                message: format!(
                    "the database is from a newer folio (schema {version}; this one knows {known})"
                ),
                retryable: false,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(db_error)?;
            // A number this code computed: safe to put in the statement.
            let pragma = sqlx::AssertSqlSafe(format!("PRAGMA user_version = {}", index + 1));
            sqlx::raw_sql(pragma).execute(&mut *tx).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    }

    /// Closes the pool (waits for connections to finish).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a database error to the port's error: busy/locked/IO errors are retryable.
pub(crate) fn db_error(err: sqlx::Error) -> Error {
    let retryable = match &err {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // SQLITE_BUSY (5), SQLITE_LOCKED (6), SQLITE_IOERR (10), SQLITE_FULL (13).
            matches!(code.as_ref().parse::<i32>().map(|c| c & 0xff), Ok(5 | 6 | 10 | 13))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
        _ => false,
    };
    Error::Unavailable { message: err.to_string(), retryable }
}
