//! PostgreSQL: one pool, the schema, and an adapter per port.

mod accounts;
mod idempotency;
mod index;
mod keyring;
mod lease;
mod rate_limits;
mod secrets;
mod usage;

use std::time::Duration;

use folio_core::{Error, Result};
use sqlx::postgres::{PgPool, PgPoolOptions};

pub use accounts::PgAccounts;
pub use idempotency::PgIdempotency;
pub use index::PgIndex;
pub use keyring::PgKeyRing;
pub use lease::PgLease;
pub use rate_limits::PgRateLimits;
pub use secrets::PgSecrets;
pub use usage::PgUsage;

/// The schema, one entry per version, applied in order. Each is additive (new tables, new
/// columns with defaults), so an instance of the previous release keeps working against a
/// database an upgraded instance has migrated.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE documents (
    -- "C" collation: byte order, whatever the database's default is (ids and sequencers are
    -- compared as text).
    identity     text COLLATE "C" NOT NULL,
    document_id  text COLLATE "C" NOT NULL,
    -- The event sequencer right-padded with zeros to 64 characters, so that text order is
    -- S3's sequencer order.
    seq_sort     text COLLATE "C" NOT NULL,
    live         boolean NOT NULL,
    title        text,
    title_folded text,
    pages        integer,
    bytes        bigint,
    created_ms   bigint,
    sequencer    text NOT NULL,
    PRIMARY KEY (identity, document_id)
);

CREATE TABLE secrets (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE idempotency_keys (
    identity    text COLLATE "C" NOT NULL,
    key         text COLLATE "C" NOT NULL,
    document_id text NOT NULL,
    body_sha256 text NOT NULL,
    created_ms  bigint NOT NULL,
    PRIMARY KEY (identity, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);

CREATE TABLE rate_counters (
    key        text COLLATE "C" PRIMARY KEY,
    count      integer NOT NULL,
    at_ms      bigint NOT NULL,
    expires_ms bigint NOT NULL
);

CREATE TABLE leases (
    name     text PRIMARY KEY,
    holder   text NOT NULL,
    until_ms bigint NOT NULL
);
"#,
    r#"
-- The built-in user pool: accounts, refresh tokens and the signing-key ring, shared by every
-- instance (sign in on one, refresh on another).
CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text COLLATE "C" NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_ms    bigint NOT NULL
);

CREATE TABLE refresh_tokens (
    hash       text PRIMARY KEY,
    family     text NOT NULL,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms bigint NOT NULL,
    expires_ms bigint NOT NULL,
    rotated_ms bigint,
    revoked    boolean NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_ms);

CREATE TABLE signing_keys (
    id         bigserial PRIMARY KEY,
    seed       bytea NOT NULL UNIQUE,
    created_ms bigint NOT NULL,
    retired_ms bigint
);
"#,
    // Storage usage per identity (the quota's measure).
    r#"
CREATE TABLE usage_bytes (
    identity text PRIMARY KEY,
    bytes    bigint NOT NULL
);
"#,
];

/// The advisory lock key migrations run under ("folio" in ASCII).
const MIGRATION_LOCK: i64 = 0x0066_6f6c_696f;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// A `postgres://user:password@host:port/database?sslmode=…` URL.
    pub url: String,
    /// Connections this instance keeps at most.
    pub max_connections: u32,
    /// How long a query waits for a free connection before it fails as unavailable.
    pub acquire_timeout: Duration,
}

impl PostgresOptions {
    /// Defaults for `url`: 10 connections, 5 s to get one.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 10, acquire_timeout: Duration::from_secs(5) }
    }
}

/// A connection pool to folio's database, its schema applied.
#[derive(Debug, Clone)]
pub struct Postgres {
    pool: PgPool,
}

impl Postgres {
    /// Connects and applies the migrations this database lacks.
    pub async fn connect(options: &PostgresOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect(&options.url)
            .await
            .map_err(db_error)?;
        let db = Self { pool };
        db.migrate().await?;
        Ok(db)
    }

    /// Closes the pool (in-flight queries finish first).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool (for the adapters).
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A transaction that holds the advisory lock `key` until it ends (commit or rollback):
    /// what instances doing the same thing at once take turns on.
    pub(crate) async fn locked(
        &self,
        key: i64,
    ) -> std::result::Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(key).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// Applies missing migrations in one transaction that first takes an advisory lock, so of
    /// instances starting together one migrates and the others then find nothing to do.
    async fn migrate(&self) -> Result<()> {
        let mut tx = self.locked(MIGRATION_LOCK).await.map_err(db_error)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS folio_migrations (version integer PRIMARY KEY, applied_ms bigint NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let applied: i32 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM folio_migrations")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
        if applied > known {
            return Err(Error::Corrupt(format!(
                "the database has schema version {applied}, newer than this folio knows ({known}): upgrade folio"
            )));
        }
        for (version, sql) in
            (1..).zip(MIGRATIONS.iter().copied()).skip(usize::try_from(applied).unwrap_or(0))
        {
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(db_error)?;
            sqlx::query("INSERT INTO folio_migrations (version, applied_ms) VALUES ($1, (extract(epoch from now()) * 1000)::bigint)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            tracing::info!(version, "applied a PostgreSQL migration");
        }
        tx.commit().await.map_err(db_error)
    }

    /// Readiness: a read of `table` (never a write).
    pub(crate) async fn probe(&self, sql: &'static str) -> Result<()> {
        sqlx::query(sql).fetch_optional(&self.pool).await.map(|_| ()).map_err(db_error)
    }
}

/// A database error as folio's: connection trouble, serialization failures, deadlocks, too
/// many connections and a server shutting down are worth retrying; the rest is not.
pub(crate) fn db_error(err: sqlx::Error) -> Error {
    let retryable = match &err {
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some(
                "40001"
                    | "40P01"
                    | "53300"
                    | "57P01"
                    | "57P02"
                    | "57P03"
                    | "08000"
                    | "08003"
                    | "08006"
            )
        ),
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => true,
        _ => false,
    };
    Error::Unavailable { message: err.to_string(), retryable }
}

/// A stored integer as the port's type, or a corrupt-data error naming the column.
pub(crate) fn convert<T: TryFrom<i64>>(value: i64, column: &str) -> Result<T> {
    T::try_from(value).map_err(|_| Error::Corrupt(format!("{column} out of range: {value}")))
}

/// A database of its own for one test, made on a server the test names by an admin URL (a role
/// that may create databases) and dropped by [`TestDatabase::around`], pass or fail.
#[derive(Debug)]
pub struct TestDatabase {
    admin: String,
    name: String,
    /// The new database's URL.
    pub url: String,
}

impl TestDatabase {
    /// Makes `folio_test_<random>` on the server of `FOLIO_TEST_POSTGRES_URL`; panics (a failed
    /// test, never a skipped one) when the variable is missing or the server refuses.
    pub async fn create() -> Self {
        let admin = std::env::var("FOLIO_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!("FOLIO_TEST_POSTGRES_URL is not set: this test needs PostgreSQL (see .ci/run)")
        });
        let name = format!("folio_test_{}", uuid::Uuid::new_v4().simple());
        Self::execute(&admin, &format!("CREATE DATABASE {name}")).await;
        let (base, _) = admin.rsplit_once('/').unwrap_or_else(|| panic!("no database in {admin}"));
        let url = format!("{base}/{name}");
        Self { admin, name, url }
    }

    /// folio's pool on the database (the schema applied).
    pub async fn connect(&self) -> Postgres {
        Postgres::connect(&PostgresOptions::new(&self.url))
            .await
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url))
    }

    /// Runs `sql` on the server of `url` over a connection of its own; panics on failure.
    pub async fn execute(url: &str, sql: &str) {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The integers `sql` selects (one `bigint` column) on the database of `url`.
    pub async fn integers(url: &str, sql: &str) -> Vec<i64> {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs `test`, then drops the database whether or not it passed.
    pub async fn around<F: Future<Output = ()> + Send + 'static>(self, test: F) {
        let outcome = tokio::spawn(test).await;
        Self::execute(&self.admin, &format!("DROP DATABASE {} WITH (FORCE)", self.name)).await;
        if let Err(err) = outcome {
            std::panic::resume_unwind(err.into_panic());
        }
    }
}
