//! The database: one connection type over SQLite or PostgreSQL, chosen at run time from the
//! URL's scheme, a pool of them, the embedded migrations, and write transactions.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; diesel queries run on it unchanged.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which backend a `DATABASE_URL` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres(String),
    /// A file path; `sqlite://colabel.db` and `sqlite:colabel.db` both mean `colabel.db`.
    Sqlite(String),
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_string()))
        } else if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() || rest == ":memory:" || rest.contains("mode=memory") {
                return Err("DATABASE_URL: an SQLite database must be a file path (an in-memory database cannot be shared by a pool)".into());
            }
            Ok(Backend::Sqlite(rest.to_string()))
        } else {
            Err("DATABASE_URL must start with sqlite:// or postgres://".into())
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Backend::Sqlite(_))
    }
}

/// Counts the SQL statements run through the pool (tests and benchmarks read it).
#[derive(Clone, Default, Debug)]
pub struct QueryCounter(Arc<AtomicU64>);

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct CountQueries(Arc<AtomicU64>);

impl Instrumentation for CountQueries {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// An r2d2 manager that picks the backend itself, so that a PostgreSQL that is down
/// reports libpq's own message, and that sets SQLite's pragmas on every connection.
pub struct Manager {
    backend: Backend,
    counter: QueryCounter,
}

#[derive(Debug)]
pub struct ConnError(String);

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnError {}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ConnError;

    fn connect(&self) -> Result<DbConn, ConnError> {
        let mut conn = match &self.backend {
            Backend::Postgres(url) => {
                PgConnection::establish(url).map(DbConn::Pg).map_err(|e| {
                    // libpq's message spans lines; keep it to one.
                    let text = e.to_string();
                    ConnError(format!(
                        "PostgreSQL: {}",
                        text.split_whitespace().collect::<Vec<_>>().join(" ")
                    ))
                })?
            }
            Backend::Sqlite(path) => {
                let mut c = SqliteConnection::establish(path)
                    .map_err(|e| ConnError(format!("SQLite {path}: {e}")))?;
                c.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                )
                .map_err(|e| ConnError(format!("SQLite {path}: {e}")))?;
                DbConn::Sqlite(c)
            }
        };
        conn.set_instrumentation(CountQueries(self.counter.0.clone()));
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ConnError> {
        conn.ping().map_err(|e| ConnError(e.to_string()))
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The pool, with the backend it talks to and its statement counter.
#[derive(Clone)]
pub struct Db {
    pub pool: r2d2::Pool<Manager>,
    pub backend: Backend,
    pub queries: QueryCounter,
}

impl Db {
    /// Opens the pool, checking that one connection can be made now.
    pub fn connect(url: &str, size: u32) -> Result<Self, String> {
        let backend = Backend::from_url(url)?;
        let queries = QueryCounter::default();
        let manager = Manager {
            backend: backend.clone(),
            counter: queries.clone(),
        };
        // One connection made here gives the real reason when the database is unreachable.
        drop(r2d2::ManageConnection::connect(&manager).map_err(|e| e.to_string())?);
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            // No `SELECT 1` before every checkout: a broken connection is found by
            // `has_broken` when it is returned.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build_unchecked(manager);
        Ok(Db {
            pool,
            backend,
            queries,
        })
    }

    pub fn get(&self) -> Result<PooledConn, r2d2::Error> {
        self.pool.get()
    }

    /// Runs the pending migrations of this backend; returns how many ran.
    pub fn migrate(&self) -> Result<usize, String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let migrations = match self.backend {
            Backend::Postgres(_) => POSTGRES_MIGRATIONS,
            Backend::Sqlite(_) => SQLITE_MIGRATIONS,
        };
        let ran = conn
            .run_pending_migrations(migrations)
            .map_err(|e| format!("migration failed: {e}"))?;
        Ok(ran.len())
    }
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (so concurrent writers wait
/// for the lock instead of failing with "database is locked"), a plain `BEGIN` on PostgreSQL.
/// Rolls back when `f` returns an error.
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
    }
    match f(conn) {
        Ok(value) => match <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Locks an organization's row until the transaction ends, so that membership changes of one
/// organization run one at a time (the last-administrator rule reads, then writes). SQLite
/// needs nothing: `BEGIN IMMEDIATE` already admits one writer at a time.
pub fn lock_org(conn: &mut DbConn, org_id: i32) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => {
            use crate::schema::organizations::dsl::*;
            organizations
                .filter(id.eq(org_id))
                .select(id)
                .for_update()
                .load::<i32>(c)
                .map(drop)
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}
