//! The database: one connection type over SQLite or PostgreSQL, chosen at run time from the
//! URL's scheme, a pool of them, the embedded migrations, and write transactions
//! ([`WriteTx`], which only [`write_tx`] hands out).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// Counts the SQL statements run through the pool (tests and benchmarks read it), and, when
/// asked, records which statements ran and which were prepared into diesel's statement cache.
#[derive(Clone, Default, Debug)]
pub struct QueryCounter(Arc<Counts>);

#[derive(Default, Debug)]
struct Counts {
    run: AtomicU64,
    recording: AtomicBool,
    log: Mutex<Vec<Statement>>,
}

/// One recorded event: a statement started, or prepared and kept in the statement cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    Ran(String),
    Cached(String),
}

impl QueryCounter {
    pub fn get(&self) -> u64 {
        self.0.run.load(Ordering::Relaxed)
    }

    /// Starts (or stops) recording statements; off by default, when it costs one atomic load.
    pub fn record(&self, on: bool) {
        self.0.recording.store(on, Ordering::Relaxed);
    }

    /// The statements recorded so far, oldest first; the log is emptied.
    pub fn take_log(&self) -> Vec<Statement> {
        std::mem::take(&mut *self.0.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The instrumentation of every pooled connection: counts statements for the query counter,
/// and marks the connection lost when a statement fails because the server went away, so
/// the pool drops it instead of handing it out again.
struct CountQueries(Arc<Counts>, Arc<AtomicBool>);

/// Whether a failed statement means the connection itself is gone.
fn connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message().to_ascii_lowercase();
            m.contains("server closed the connection")
                || m.contains("no connection to the server")
                || m.contains("terminating connection")
        }
        _ => false,
    }
}

impl CountQueries {
    fn push(&self, statement: Statement) {
        self.0
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(statement);
    }
}

impl Instrumentation for CountQueries {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        let recording = || self.0.recording.load(Ordering::Relaxed);
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                self.0.run.fetch_add(1, Ordering::Relaxed);
                if recording() {
                    // `DebugQuery` prints the SQL, then ` -- binds: [...]`.
                    let text = query.to_string();
                    let sql = text.split(" -- binds: ").next().unwrap_or_default();
                    self.push(Statement::Ran(sql.to_string()));
                }
            }
            InstrumentationEvent::CacheQuery { sql, .. } if recording() => {
                self.push(Statement::Cached(sql.to_string()));
            }
            InstrumentationEvent::FinishQuery {
                error: Some(error), ..
            } if connection_lost(error) => {
                self.1.store(true, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// An r2d2 manager that picks the backend itself, so that a PostgreSQL that is down
/// reports libpq's own message, and that sets SQLite's pragmas on every connection.
pub struct Manager {
    backend: Backend,
    counter: QueryCounter,
    /// How long SQLite waits for the write lock before "database is locked".
    busy_timeout: Duration,
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
    type Connection = PoolConn;
    type Error = ConnError;

    fn connect(&self) -> Result<PoolConn, ConnError> {
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
                c.batch_execute(&format!(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                    self.busy_timeout.as_millis()
                ))
                .map_err(|e| ConnError(format!("SQLite {path}: {e}")))?;
                DbConn::Sqlite(c)
            }
        };
        let lost = Arc::new(AtomicBool::new(false));
        conn.set_instrumentation(CountQueries(self.counter.0.clone(), lost.clone()));
        Ok(PoolConn { conn, lost })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnError> {
        conn.conn.ping().map_err(|e| ConnError(e.to_string()))
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.lost.load(Ordering::Relaxed) || conn.conn.is_broken()
    }
}

/// A pooled connection: the connection, and whether a statement found it lost (a server
/// restart, a terminated backend), in which case the pool discards it when it comes back.
pub struct PoolConn {
    conn: DbConn,
    lost: Arc<AtomicBool>,
}

impl std::ops::Deref for PoolConn {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The pool, with the backend it talks to and its statement counter.
#[derive(Clone)]
pub struct Db {
    pub pool: r2d2::Pool<Manager>,
    pub backend: Backend,
    pub queries: QueryCounter,
    /// SQLite: the file opened at start, so that [`Db::file_problem`] can tell it is gone.
    file: Option<FileIdentity>,
}

/// Which file a path named when the pool was opened (device and inode).
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileIdentity {
    path: String,
    device: u64,
    inode: u64,
}

impl FileIdentity {
    fn of(path: &str) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        Ok(FileIdentity {
            path: path.to_string(),
            device: meta.dev(),
            inode: meta.ino(),
        })
    }
}

impl Db {
    /// Opens the pool with the default timeout of 10 s, checking that one connection can be
    /// made now.
    pub fn connect(url: &str, size: u32) -> Result<Self, String> {
        Self::connect_with_timeout(url, size, Duration::from_secs(10))
    }

    /// Opens the pool; `timeout` bounds how long a request waits for a connection, and on
    /// SQLite for the write lock. After that the database counts as unavailable (503).
    pub fn connect_with_timeout(url: &str, size: u32, timeout: Duration) -> Result<Self, String> {
        let backend = Backend::from_url(url)?;
        let queries = QueryCounter::default();
        let manager = Manager {
            backend: backend.clone(),
            counter: queries.clone(),
            busy_timeout: timeout,
        };
        // One connection made here gives the real reason when the database is unreachable.
        let mut first = r2d2::ManageConnection::connect(&manager).map_err(|e| e.to_string())?;
        for problem in sqlite_build_problems(&mut first) {
            log::warn!("{problem}");
        }
        drop(first);
        let file = match &backend {
            Backend::Sqlite(path) => {
                Some(FileIdentity::of(path).map_err(|e| format!("SQLite {path}: {e}"))?)
            }
            Backend::Postgres(_) => None,
        };
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            // No `SELECT 1` before every checkout: a broken connection is found by
            // `has_broken` when it is returned.
            .test_on_check_out(false)
            .connection_timeout(timeout)
            .build_unchecked(manager);
        Ok(Db {
            pool,
            backend,
            queries,
            file,
        })
    }

    /// SQLite: why the database file is not the one opened at start (deleted, or replaced
    /// by another file), when it is not. Open connections keep writing to a deleted file
    /// without an error, and everything is lost at the next start.
    pub fn file_problem(&self) -> Option<String> {
        let opened = self.file.as_ref()?;
        match FileIdentity::of(&opened.path) {
            Ok(now) if now == *opened => None,
            Ok(_) => Some(format!(
                "the SQLite file {} was replaced by another file",
                opened.path
            )),
            Err(e) => Some(format!("the SQLite file {} is gone: {e}", opened.path)),
        }
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

/// The SQLite build options that `.cargo/config.toml` sets (see there): without them every
/// page re-compiles its statements and threads queue on SQLite's global mutexes, about half
/// the throughput. Cargo reads that file only when building from inside the repository.
pub fn sqlite_build_problems(conn: &mut DbConn) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Opt {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }
    if !matches!(conn, DbConn::Sqlite(_)) {
        return Vec::new();
    }
    let options: Vec<String> = match diesel::sql_query("PRAGMA compile_options").load::<Opt>(conn) {
        Ok(rows) => rows.into_iter().map(|o| o.compile_options).collect(),
        Err(e) => return vec![format!("cannot read SQLite's compile options: {e}")],
    };
    let has = |o: &str| options.iter().any(|x| x == o);
    let mut problems = Vec::new();
    for wanted in ["ENABLE_QPSG", "DEFAULT_MEMSTATUS=0"] {
        if !has(wanted) {
            problems.push(format!(
                "SQLite was built without {wanted}: pages will be slower (build from the repository so that .cargo/config.toml applies)"
            ));
        }
    }
    if has("ENABLE_MEMORY_MANAGEMENT") {
        problems.push("SQLite was built with ENABLE_MEMORY_MANAGEMENT: connections share one page cache behind a global mutex (build from the repository so that .cargo/config.toml applies)".into());
    }
    problems
}

/// A write transaction in progress, as a connection. Only [`write_tx`] makes one, so a
/// function that takes `&mut WriteTx` (every use case that changes something) cannot run
/// outside a write transaction. It dereferences to the connection for the models.
pub struct WriteTx<'c> {
    conn: &'c mut DbConn,
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = DbConn;

    fn deref(&self) -> &DbConn {
        self.conn
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut DbConn {
        self.conn
    }
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (so concurrent writers wait
/// for the lock instead of failing with "database is locked"), a plain `BEGIN` on PostgreSQL
/// (where the use cases lock the rows their rules read). Commits when `f` returns `Ok`, rolls
/// back when it returns an error.
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
    }
    let result = f(&mut WriteTx { conn: &mut *conn });
    match result {
        Ok(value) => match <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                Err(e.into())
            }
        },
        Err(e) => {
            // A rollback that fails (a lost connection) must not hide the first error; the
            // pool drops a broken connection.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Loads the first row of `$query` and locks it until the transaction ends: `FOR NO KEY
/// UPDATE` on PostgreSQL, so that every use case touching the same organization or dataset
/// runs one at a time and reads what the previous one committed (foreign-key checks of other
/// inserts are not blocked by it); no lock on SQLite, where `BEGIN IMMEDIATE` already admits
/// one writer at a time. `$tx` is a `&mut WriteTx`: a lock outside a transaction does not
/// compile.
#[macro_export]
macro_rules! first_locked {
    ($tx:expr, $row:ty, $query:expr) => {{
        let tx: &mut $crate::db::WriteTx<'_> = $tx;
        match &mut **tx {
            $crate::db::DbConn::Pg(c) => $query.for_no_key_update().first::<$row>(c).optional(),
            $crate::db::DbConn::Sqlite(c) => $query.first::<$row>(c).optional(),
        }
    }};
}

/// One round trip to the database (for `/healthz`).
pub fn ping(conn: &mut DbConn) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(drop)
}

/// Whether the connection is SQLite (whose write transactions need no row locks).
pub fn is_sqlite(conn: &DbConn) -> bool {
    matches!(conn, DbConn::Sqlite(_))
}

/// Runs a select on the backend's own connection rather than through [`DbConn`], for the
/// statements every page runs. The two-backend enum that diesel derives hands each query to
/// the backend wrapped in a `SerializedQuery`, whose every AST pass writes the whole SQL text
/// again: once to ask whether the statement may be cached and once to collect its binds,
/// even when the prepared statement is already in the cache (about 10 % of the members
/// subtab's CPU, by profile). Run directly, a cached statement's text is never rebuilt.
/// Same SQL, same statement cache (the connection's own), same instrumentation.
///
/// For a select that type-checks on both backends (the compiler says when one does not: a
/// boxed query is typed for the two-backend enum and stays on [`RunQueryDsl::load`], as does
/// one that uses a backend's own syntax).
pub fn load<'q, Q, U>(conn: &mut DbConn, query: Q) -> QueryResult<Vec<U>>
where
    Q: Select<'q, U>,
{
    match conn {
        DbConn::Pg(c) => RunQueryDsl::<PgConnection>::load(query, c),
        DbConn::Sqlite(c) => RunQueryDsl::<SqliteConnection>::load(query, c),
    }
}

/// [`load`] of the first row, as diesel's `first` (it adds the `LIMIT 1`).
pub fn load_one<'q, Q, U>(conn: &mut DbConn, query: Q) -> QueryResult<Option<U>>
where
    Q: diesel::query_dsl::methods::LimitDsl,
    Q::Output: Select<'q, U>,
{
    Ok(load(conn, query.limit(1))?.into_iter().next())
}

/// A select that loads rows of `U` on either backend's own connection ([`load`]).
pub trait Select<'q, U>:
    RunQueryDsl<PgConnection>
    + RunQueryDsl<SqliteConnection>
    + diesel::query_dsl::LoadQuery<'q, PgConnection, U>
    + diesel::query_dsl::LoadQuery<'q, SqliteConnection, U>
{
}

impl<'q, U, Q> Select<'q, U> for Q where
    Q: RunQueryDsl<PgConnection>
        + RunQueryDsl<SqliteConnection>
        + diesel::query_dsl::LoadQuery<'q, PgConnection, U>
        + diesel::query_dsl::LoadQuery<'q, SqliteConnection, U>
{
}

/// True when `e` is a unique-index violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
