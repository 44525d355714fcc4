//! [`Store`]: opening a database (migrate, verify) and the connections every
//! operation runs on.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use uuid::Uuid;

use crate::adopt::{AdoptOutcome, AdoptionReport};
use crate::backup;
use crate::checkpoint::{self, Checkpointer};
use crate::error::{Error, Result};
use crate::group::{Write, Written};
use crate::migrate::{self, MigrationOutcome, MigrationStatus};
use crate::model::{Avatar, AvatarPatch, NewAvatar, NewProject, Project, ProjectPatch, ProjectWithAvatars};
use crate::postgres::{self, PgStore};
use crate::repo::{self, AvatarQuery, Page, ProjectQuery};
use crate::schema::{self, RepairOutcome, SchemaReport};
use crate::transfer::ExportIter;

/// Longest accepted busy timeout: SQLite counts it in milliseconds in a
/// 32-bit signed integer.
pub const MAX_BUSY_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// Largest accepted [`OpenOptions::pool_size`]: more connections than any
/// PostgreSQL server is set up to accept from one process.
pub const MAX_POOL_SIZE: u32 = 1000;

/// Longest accepted [`OpenOptions::connect_timeout`]: a server that takes
/// longer than an hour to answer is down, and a caller waiting that long
/// looks hung.
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Longest accepted [`OpenOptions::statement_timeout`]: PostgreSQL counts it
/// in milliseconds in a 32-bit signed integer.
pub const MAX_STATEMENT_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

/// How [`Store`] opens a database. Build with [`Store::options`].
///
/// ```
/// # fn main() -> avatar_store::Result<()> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("app.db");
/// let store = avatar_store::Store::options()
///     .busy_timeout(std::time::Duration::from_secs(10))
///     .open(&path)?;
/// assert_eq!(store.migration_status()?.pending.len(), 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub(crate) migrate: bool,
    pub(crate) backup: bool,
    pub(crate) verify: bool,
    pub(crate) busy_timeout: Duration,
    pub(crate) readers: u32,
    pub(crate) read_only: bool,
    pub(crate) schema: Option<String>,
    pub(crate) pool_size: Option<u32>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) statement_timeout: Option<Duration>,
    /// Open even a database this build refuses (newer, edited), read-only,
    /// only to report on it.
    pub(crate) inspect: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            migrate: true,
            backup: true,
            verify: true,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
            read_only: false,
            schema: None,
            pool_size: None,
            connect_timeout: None,
            statement_timeout: None,
            inspect: false,
        }
    }
}

impl OpenOptions {
    /// Apply pending migrations at open (default true). With false, a
    /// database with pending migrations fails verification with
    /// [`Error::SchemaDrift`] listing them: the verify-only mode for deploy checks.
    pub fn migrate(mut self, on: bool) -> Self {
        self.migrate = on;
        self
    }

    /// Back up a non-empty file before migrating or repairing it (default
    /// true). Ignored on PostgreSQL, whose DDL is transactional: migrations
    /// and repairs commit whole or not at all, so there is no half-changed
    /// state to go back from.
    pub fn backup(mut self, on: bool) -> Self {
        self.backup = on;
        self
    }

    /// Verify the live schema at open (default true). With false the store
    /// opens whatever it finds, so that [`Store::check_schema`] and
    /// [`Store::repair`] can be used on a drifted database.
    pub fn verify(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// How long a write waits for another connection's lock before failing
    /// with [`Error::Busy`] (default 5 s, at most [`MAX_BUSY_TIMEOUT`]; a
    /// longer one is refused at open with [`Error::Validation`] naming
    /// `busyTimeout`).
    pub fn busy_timeout(mut self, t: Duration) -> Self {
        self.busy_timeout = t;
        self
    }

    /// Size of the reader connection pool for file databases (default 4); 0
    /// is refused at open with [`Error::Validation`] naming `readers`.
    pub fn readers(mut self, n: u32) -> Self {
        self.readers = n;
        self
    }

    /// Open an existing file only to read it, changing nothing on disk
    /// (default false): no migration (with [`OpenOptions::verify`] on, pending
    /// migrations fail the open as drift), no switch to WAL mode, no
    /// checkpoints, no -wal or -shm file left behind, and every write fails
    /// with [`Error::Io`] naming the file. A missing file is an
    /// [`Error::Io`] rather than created. Reads run one at a time on a
    /// single connection. For commands that promise to change nothing
    /// (status, backup, export, dry runs).
    ///
    /// On PostgreSQL, nothing is migrated and every pooled connection runs
    /// with `default_transaction_read_only = on`, so every write fails with
    /// [`Error::Io`] naming the server; the schema is checked against this
    /// build's recorded head schema, since learning it from the server needs
    /// a scratch schema. A role with nothing but read privileges will do.
    ///
    /// ```
    /// # fn main() -> avatar_store::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("app.db");
    /// # drop(avatar_store::Store::open(&path)?);
    /// let store = avatar_store::Store::options().read_only(true).open(&path)?;
    /// assert!(store.check_schema()?.is_ok());
    /// let refused = store.create_project("u1", &avatar_store::NewProject { name: "P".into(), ..Default::default() });
    /// assert_eq!(refused.unwrap_err().code(), "IO");
    /// # Ok(()) }
    /// ```
    pub fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// Read-only, unverified, and not refusing a newer or edited database:
    /// for looking at one, never for using it.
    pub(crate) fn inspecting(self) -> Self {
        OpenOptions { inspect: true, ..self.read_only(true).verify(false) }
    }

    /// The PostgreSQL schema the store works in (default: the first schema
    /// of the `search_path` set in the URL's `options`, as libpq spells it,
    /// `?options=-csearch_path%3Dmyschema`; else `public`). Its tables are
    /// the only ones the store reads or changes, and migrating creates the
    /// schema when it does not exist. Naming a different schema here than
    /// in the URL is refused at open with [`Error::Validation`] naming
    /// `schema`. Ignored for SQLite.
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schema = Some(name.into());
        self
    }

    /// The most connections a store keeps open to a PostgreSQL server
    /// (default: [`OpenOptions::readers`] + 1, so 5). They are opened as
    /// needed; a call that finds all of them in use waits for one up to the
    /// busy timeout, then fails with [`Error::Busy`]. 0 or more than
    /// [`MAX_POOL_SIZE`] is refused at open with [`Error::Validation`] naming
    /// `poolSize`. Ignored for SQLite (see [`OpenOptions::readers`]).
    ///
    /// ```
    /// # fn main() -> avatar_store::Result<()> {
    /// let options = avatar_store::Store::options().pool_size(20);
    /// # let err = avatar_store::Store::options().pool_size(0).open_in_memory().unwrap_err();
    /// # assert_eq!(err.field(), Some("poolSize"));
    /// # Ok(()) }
    /// ```
    pub fn pool_size(mut self, n: u32) -> Self {
        self.pool_size = Some(n);
        self
    }

    /// How long opening one connection to a PostgreSQL server (TCP, TLS,
    /// authentication) may take (default: the URL's `connect_timeout`, else
    /// the busy timeout). A server that cannot be reached in time is an
    /// [`Error::Io`] naming it. Zero, less than a millisecond or more than
    /// [`MAX_CONNECT_TIMEOUT`] is refused at open with [`Error::Validation`]
    /// naming `connectTimeout`. Ignored for SQLite.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = avatar_store::Store::options().connect_timeout(Duration::from_secs(3));
    /// ```
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = Some(t);
        self
    }

    /// The longest one SQL statement may run on a PostgreSQL server
    /// (PostgreSQL's `statement_timeout`, set on every pooled connection;
    /// default: none, or whatever the server or the URL's `options` set).
    /// A statement past it is cancelled by the server, its transaction rolled
    /// back, and the call fails with [`Error::Busy`], as a lock held past the
    /// busy timeout does: the database did not answer in the time allowed,
    /// and the same call may succeed later. It bounds migrations and repairs
    /// too. Zero, less than a millisecond or more than
    /// [`MAX_STATEMENT_TIMEOUT`] is refused at open with [`Error::Validation`]
    /// naming `statementTimeout` (leave it unset for no limit). Ignored for
    /// SQLite.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let options = avatar_store::Store::options()
    ///     .statement_timeout(Duration::from_secs(30))
    ///     .busy_timeout(Duration::from_secs(5));
    /// ```
    pub fn statement_timeout(mut self, t: Duration) -> Self {
        self.statement_timeout = Some(t);
        self
    }

    /// Opens `path`: a `postgres://` or `postgresql://` URL opens that
    /// PostgreSQL database (libpq URL syntax, `?host=/socket/dir` included);
    /// anything else is a SQLite file, created if needed unless read-only.
    /// Errors name a server by host, port, user and database, never by password.
    ///
    /// On PostgreSQL, [`OpenOptions::pool_size`] (default `readers` + 1) is
    /// the size of the connection pool, the busy timeout bounds waiting on
    /// locks and for a free connection, [`OpenOptions::connect_timeout`] and
    /// [`OpenOptions::statement_timeout`] bound connecting and each
    /// statement, and `sslmode` (`disable`, `prefer`, `require`, `verify-ca`,
    /// `verify-full`) with `sslrootcert` choose TLS as libpq does; migrating needs
    /// no backup (all pending migrations commit in one transaction, DDL
    /// included), and a read-only store writes nothing at all.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Store> {
        self.validate()?;
        let path = path.as_ref();
        if let Some(url) = postgres::as_url(path) {
            return Ok(Store { backend: Backend::Postgres(PgStore::open(url, &self)?) });
        }
        Ok(Store { backend: Backend::Sqlite(SqliteStore::open_with(Some(path), self)?) })
    }

    /// Opens a private in-memory database (always migrated, never read-only).
    pub fn open_in_memory(self) -> Result<Store> {
        self.validate()?;
        Ok(Store { backend: Backend::Sqlite(SqliteStore::open_with(None, self.migrate(true).read_only(false))?) })
    }

    fn validate(&self) -> Result<()> {
        if self.busy_timeout > MAX_BUSY_TIMEOUT {
            return Err(Error::validation(
                "busyTimeout",
                format!(
                    "must be at most {} ms (about 24.8 days), got {} ms",
                    MAX_BUSY_TIMEOUT.as_millis(),
                    self.busy_timeout.as_millis()
                ),
            ));
        }
        if self.readers == 0 {
            return Err(Error::validation("readers", "must be at least 1"));
        }
        if let Some(s) = &self.schema {
            validate_schema_name(s)?;
        }
        if let Some(n) = self.pool_size {
            if n == 0 || n > MAX_POOL_SIZE {
                return Err(Error::validation("poolSize", format!("must be 1 to {MAX_POOL_SIZE}, got {n}")));
            }
        }
        check_timeout("connectTimeout", self.connect_timeout, MAX_CONNECT_TIMEOUT)?;
        check_timeout("statementTimeout", self.statement_timeout, MAX_STATEMENT_TIMEOUT)?;
        Ok(())
    }
}

/// A PostgreSQL schema name the store can work in, from an option or a URL.
pub(crate) fn validate_schema_name(s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 63 || s.contains('\0') {
        return Err(Error::validation("schema", "must be 1 to 63 bytes long, without NUL"));
    }
    Ok(())
}

/// A timeout PostgreSQL counts in whole milliseconds: zero would mean "no
/// limit" there, so it is refused rather than silently meaning the opposite.
fn check_timeout(field: &str, t: Option<Duration>, max: Duration) -> Result<()> {
    match t {
        Some(t) if t < Duration::from_millis(1) => {
            Err(Error::validation(field, format!("must be at least 1 ms, got {t:?} (leave it unset for the default)")))
        }
        Some(t) if t > max => {
            Err(Error::validation(field, format!("must be at most {} ms, got {} ms", max.as_millis(), t.as_millis())))
        }
        _ => Ok(()),
    }
}

/// A handle on one avatar-store database. `Send + Sync`: share it between
/// threads (for example in an `Arc`).
///
/// Reads of a file database run on a pool of read-only connections and do not
/// block each other or the writer (WAL); writes go through one connection,
/// one at a time.
pub struct Store {
    backend: Backend,
}

/// The database behind a [`Store`]: every public operation dispatches on it.
// A store is opened once and shared; boxing the larger variant would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A store on a SQLite file (or in memory).
pub(crate) struct SqliteStore {
    path: Option<PathBuf>,
    // Closing a file store closes the checkpoint connection and every reader
    // before the writer (see `Drop`), so the writer is the last connection
    // of this process to the file, and SQLite removes the -wal and -shm files
    // when it closes (a read-only reader could not). Another process still
    // holding the file open keeps them, as it must.
    checkpointer: Option<Checkpointer>,
    readers: Option<r2d2::Pool<Counted>>,
    live: Option<Arc<Live>>,
    writer: Mutex<Connection>,
    options: OpenOptions,
    migration: MigrationOutcome,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Waits for a running checkpoint, then closes its connection.
        self.checkpointer.take();
        // Closes the idle readers, unless r2d2's thread is opening one right
        // now for this pool: that one closes when its job ends, which
        // `close_and_wait` waits for (bounded by the busy timeout).
        self.readers.take();
        if let Some(live) = &self.live {
            live.close_and_wait(self.options.busy_timeout.max(Duration::from_secs(1)));
        }
        // The writer closes last, as a field.
    }
}

/// The reader connections of one store that are open or being opened.
#[derive(Default)]
struct Live {
    state: Mutex<LiveState>,
    gone: Condvar,
}

#[derive(Default)]
struct LiveState {
    open: usize,
    closing: bool,
}

impl Live {
    fn lock(&self) -> MutexGuard<'_, LiveState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more reader, unless the store is closing.
    fn enter(self: &Arc<Self>) -> Option<LiveToken> {
        let mut st = self.lock();
        if st.closing {
            return None;
        }
        st.open += 1;
        Some(LiveToken(Arc::clone(self)))
    }

    /// Refuses new readers, then waits (at most `limit`) for the last one to close.
    fn close_and_wait(&self, limit: Duration) {
        let mut st = self.lock();
        st.closing = true;
        let deadline = Instant::now() + limit;
        while st.open > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else { return };
            st = self.gone.wait_timeout(st, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }
}

/// One reader counted in [`Live`] until dropped.
struct LiveToken(Arc<Live>);

impl Drop for LiveToken {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.open -= 1;
        if st.open == 0 {
            self.0.gone.notify_all();
        }
    }
}

/// A pooled reader. Fields drop in order: the connection closes before the
/// token says so.
pub(crate) struct Reader {
    conn: Connection,
    _live: LiveToken,
}

impl std::ops::Deref for Reader {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// r2d2_sqlite's manager, counting the connections it opens in [`Live`].
pub(crate) struct Counted {
    manager: SqliteConnectionManager,
    live: Arc<Live>,
}

impl r2d2::ManageConnection for Counted {
    type Connection = Reader;
    type Error = rusqlite::Error;

    fn connect(&self) -> rusqlite::Result<Reader> {
        let token = self.live.enter().ok_or_else(|| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
                Some("the store is closing".into()),
            )
        })?;
        Ok(Reader { conn: self.manager.connect()?, _live: token })
    }

    fn is_valid(&self, c: &mut Reader) -> rusqlite::Result<()> {
        self.manager.is_valid(&mut c.conn)
    }

    fn has_broken(&self, c: &mut Reader) -> bool {
        self.manager.has_broken(&mut c.conn)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backend {
            Backend::Sqlite(s) => f.debug_struct("Store").field("path", &s.path).finish_non_exhaustive(),
            // The target is the URL without its password.
            Backend::Postgres(p) => f.debug_struct("Store").field("postgres", &p.target()).finish_non_exhaustive(),
        }
    }
}

/// r2d2 gives each pool its own maintenance threads unless told otherwise;
/// one shared thread opens the readers of every store, so opening many
/// stores (or one store many times) does not pile up threads. Checkpoints
/// have a thread of their own ([`crate::checkpoint::thread`]).
fn maintenance_pool() -> Arc<scheduled_thread_pool::ScheduledThreadPool> {
    static POOL: std::sync::OnceLock<Arc<scheduled_thread_pool::ScheduledThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        Arc::new(
            scheduled_thread_pool::ScheduledThreadPool::builder()
                .num_threads(1)
                .thread_name_pattern("avatar-store-pool-{}")
                .build(),
        )
    })
    .clone()
}

/// Page cache of each pooled reader, in KiB: 16 MiB where SQLite's default
/// is 2 MiB. A user's sorted listing reads every row of that user (V6 keeps
/// no index on the counters `record_usage` changes), and 10,000 avatars
/// (about 6 MB of rows) did not fit the default, so each listing read most
/// of its pages from the file again: 4–6 ms a page, 2 ms with this cache
/// (`sorted_listing_10k`, issue 12). The cache fills only with pages read,
/// so a small database costs what it reads.
pub(crate) const READER_CACHE_KIB: i64 = 16 * 1024;

fn configure_reader(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    configure(conn, busy)?;
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)
}

/// Lookaside slots of a writer connection: 200 of SQLite's default 1,200
/// bytes (240 KB per store; SQLite's default is 40, 48 KB). Lookaside is the
/// connection's own small-allocation pool, and every text a statement binds
/// is copied into it. A chunk of a batch insert ([`repo::INSERT_CHUNK`] rows,
/// 20-odd texts each) overflows the default pool into malloc, which took
/// back most of what the chunk saves (callgrind, W2: 16-row chunks cost 3 %
/// fewer instructions than one row per statement with the default pool,
/// 13 % fewer with this one). Readers bind a few values and keep the default.
const WRITER_LOOKASIDE_SLOTS: i32 = 200;
const LOOKASIDE_SLOT_BYTES: i32 = 1200;

/// Gives a new writer connection its larger lookaside pool; must come before
/// the connection's first statement (SQLite refuses, harmlessly, once the
/// pool is in use).
fn widen_lookaside(conn: &Connection) {
    // SAFETY: the handle is valid while `conn` lives and is used on this
    // thread only; with a null buffer SQLite allocates the pool itself and
    // frees it when the connection closes.
    let _ = unsafe {
        rusqlite::ffi::sqlite3_db_config(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBCONFIG_LOOKASIDE,
            std::ptr::null_mut::<std::ffi::c_void>(),
            LOOKASIDE_SLOT_BYTES,
            WRITER_LOOKASIDE_SLOTS,
        )
    };
}

/// Turns off SQLite's memory statistics, once per process, before its first
/// connection opens (SQLite takes the setting only before it initializes;
/// afterwards the call is refused, harmlessly, and the statistics stay on).
/// With them on, every allocation SQLite makes takes one process-wide mutex
/// that threads reading at once (pooled readers, the writer, the checkpoint
/// thread) share. The store reads no statistic.
fn without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a process-wide setting with an integer argument, as
        // sqlite3_config documents for SQLITE_CONFIG_MEMSTATUS; SQLite
        // refuses it (SQLITE_MISUSE) rather than misbehaves once running.
        let _ = unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
    });
}

/// Where a write transaction's statement journals go (SQLite's `temp_store`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Journal {
    /// The connection's setting: memory up to 64 KB, then a temporary file.
    Default,
    /// Memory only.
    InMemory,
}

fn configure(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy)?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
}

/// Flags of a connection that only looks at an existing file.
///
/// Read-write, not SQLITE_OPEN_READ_ONLY: a read-only connection creates the
/// -wal and -shm files beside a WAL-mode database and cannot remove them,
/// while the last read-write connection to close does. `PRAGMA query_only`
/// (see [`configure_looking`]) is what keeps it from writing. Without
/// SQLITE_OPEN_CREATE, a missing file is an error, not a new database.
const LOOKING: OpenFlags = OpenFlags::SQLITE_OPEN_READ_WRITE.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

fn configure_looking(conn: &Connection, busy: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(busy)?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "query_only", true)
}

/// Opens the existing file at `path` to read it without changing anything
/// on disk, and without leaving -wal or -shm files behind.
pub(crate) fn open_looking(path: &Path, busy: Duration) -> Result<Connection> {
    if std::fs::metadata(path).is_err() {
        return Err(Error::io(path, "no such file"));
    }
    let conn = Connection::open_with_flags(path, LOOKING).map_err(|e| Error::file(path, e))?;
    configure_looking(&conn, busy).map_err(|e| Error::file(path, e))?;
    Ok(conn)
}

/// Runs `f` again while it fails with [`Error::Busy`], until `deadline`.
///
/// SQLite gives up on some locks at once instead of calling the busy
/// handler: switching a rollback-journal file to WAL while another process
/// does the same answers "database is locked" immediately.
pub(crate) fn retry_busy<T>(deadline: Instant, mut f: impl FnMut() -> Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(Error::Busy(_)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            r => return r,
        }
    }
}

/// Switches the database at `path` to WAL mode (nothing to do when it is
/// already), retrying while other connections hold the locks it needs.
pub(crate) fn enable_wal(conn: &Connection, path: &Path, deadline: Instant) -> Result<()> {
    retry_busy(deadline, || {
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(|e| Error::file(path, e))
    })
}

impl Store {
    /// Opens (creating if needed) the database file at `path` with default
    /// options: migrate (after a backup), then verify the schema.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let store = avatar_store::Store::open(dir.path().join("app.db")).unwrap();
    /// let project = store.create_project("user-1", &avatar_store::NewProject {
    ///     name: "Launch".into(),
    ///     ..Default::default()
    /// }).unwrap();
    /// assert_eq!(store.get_project("user-1", &project.id).unwrap(), project);
    /// // Another user does not see it.
    /// assert_eq!(store.get_project("user-2", &project.id).unwrap_err().code(), "NOT_FOUND");
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        OpenOptions::default().open(path)
    }

    /// Opens a private, migrated in-memory database.
    ///
    /// ```
    /// let store = avatar_store::Store::open_in_memory().unwrap();
    /// assert!(store.check_schema().unwrap().is_ok());
    /// ```
    pub fn open_in_memory() -> Result<Store> {
        OpenOptions::default().open_in_memory()
    }

    /// Options for opening a store.
    pub fn options() -> OpenOptions {
        OpenOptions::default()
    }

    /// The database file, `None` in memory and on PostgreSQL.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Sqlite(s) => s.path(),
            Backend::Postgres(p) => p.path(),
        }
    }

    /// What the migration step did when this store was opened.
    pub fn migration_outcome(&self) -> &MigrationOutcome {
        match &self.backend {
            Backend::Sqlite(s) => s.migration_outcome(),
            Backend::Postgres(p) => p.migration_outcome(),
        }
    }

    /// Applied and pending migrations of this database against this build.
    pub fn migration_status(&self) -> Result<MigrationStatus> {
        match &self.backend {
            Backend::Sqlite(s) => s.migration_status(),
            Backend::Postgres(p) => p.migration_status(),
        }
    }

    /// Applies pending migrations now (after a backup, if enabled at open);
    /// useful for stores opened with `migrate(false)`.
    pub fn migrate(&self) -> Result<MigrationOutcome> {
        match &self.backend {
            Backend::Sqlite(s) => s.migrate(),
            Backend::Postgres(p) => p.migrate(),
        }
    }

    /// Compares the live schema with the one this build expects.
    ///
    /// ```
    /// let store = avatar_store::Store::open_in_memory().unwrap();
    /// let report = store.check_schema().unwrap();
    /// assert!(report.is_ok());
    /// println!("{report}");          // for people
    /// println!("{}", report.to_json()); // for machines
    /// ```
    pub fn check_schema(&self) -> Result<SchemaReport> {
        match &self.backend {
            Backend::Sqlite(s) => s.check_schema(),
            Backend::Postgres(p) => p.check_schema(),
        }
    }

    /// Repairs additive drift (missing tables, missing nullable or defaulted
    /// columns, missing indexes) in one transaction, after a backup of a file
    /// database; reports, without touching them, differences that could lose
    /// data. Refused while migrations are pending: migrate first.
    pub fn repair(&self) -> Result<RepairOutcome> {
        match &self.backend {
            Backend::Sqlite(s) => s.repair(),
            Backend::Postgres(p) => p.repair(),
        }
    }

    /// Compares a database the store did not create (avatar-store's tables,
    /// no migration history: made by Prisma Migrate, by hand) with the
    /// schema of every version this build knows, without writing anything.
    /// `None` when there is nothing to adopt: the database has a history, or
    /// none of avatar-store's tables. Such a database is refused at open
    /// with [`Error::NotAdopted`] unless opened with `migrate(false)` and
    /// `verify(false)`, as here.
    ///
    /// ```
    /// # fn main() -> avatar_store::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("handmade.db");
    /// // A file made by hand with V1's tables.
    /// let made = rusqlite::Connection::open(&path).unwrap();
    /// made.execute_batch(&avatar_store::embedded_migrations()[0].sql).unwrap();
    /// drop(made);
    /// assert_eq!(avatar_store::Store::open(&path).unwrap_err().code(), "MIGRATION"); // Error::NotAdopted
    ///
    /// let store = avatar_store::Store::options().migrate(false).verify(false).open(&path)?;
    /// let report = store.adoption_check()?.expect("tables without history");
    /// assert_eq!(report.matching_version, Some(1));
    /// println!("{report}"); // each version, and what differs from this build's schema
    /// # Ok(()) }
    /// ```
    pub fn adoption_check(&self) -> Result<Option<AdoptionReport>> {
        match &self.backend {
            Backend::Sqlite(s) => s.adoption_check(),
            Backend::Postgres(p) => p.adoption_check(),
        }
    }

    /// Adopts a database the store did not create: when its schema is
    /// exactly that of version N of this build (tables, columns, types,
    /// nullability, defaults, foreign keys, indexes; other tools' tables
    /// such as `_prisma_migrations` aside), records migrations 1..=N as
    /// applied, in one transaction (on PostgreSQL under the migration lock),
    /// without running them; the next open or [`Store::migrate`] applies the
    /// later ones. Refused with [`Error::Migration`] naming the differences
    /// from the closest version when it matches none, and when there is
    /// nothing to adopt; nothing is written then. Open the store with
    /// `migrate(false)` and `verify(false)` first.
    ///
    /// ```
    /// # fn main() -> avatar_store::Result<()> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("handmade.db");
    /// let made = rusqlite::Connection::open(&path).unwrap();
    /// made.execute_batch(&avatar_store::embedded_migrations()[0].sql).unwrap();
    /// drop(made);
    ///
    /// let looking = avatar_store::Store::options().migrate(false).verify(false).open(&path)?;
    /// let adopted = looking.adopt()?;
    /// assert_eq!((adopted.version, adopted.recorded.as_slice()), (1, &[1][..]));
    /// drop(looking);
    /// let store = avatar_store::Store::open(&path)?; // applies V2 onwards
    /// assert_eq!(store.migration_outcome().from_version, 1);
    /// assert!(store.check_schema()?.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn adopt(&self) -> Result<AdoptOutcome> {
        match &self.backend {
            Backend::Sqlite(s) => s.adopt(),
            Backend::Postgres(p) => p.adopt(),
        }
    }

    /// Writes a consistent copy of the database to `dest` while the store
    /// stays usable. `dest` must not exist (a symbolic link there is refused
    /// too); the copy gets the database file's permissions (owner-only in
    /// memory) and appears only once complete.
    ///
    /// On PostgreSQL the copy is a `pg_dump -Fc` archive of the store's
    /// schema (owner-only, restored by [`crate::restore`] or `pg_restore`),
    /// made by PostgreSQL's `pg_dump`, found in `AVATAR_STORE_PG_BIN`, on
    /// `PATH` or in a usual install folder (an [`Error::Io`] says what to
    /// install when it is missing). The password reaches it through the
    /// `PGPASSWORD` environment variable, never its command line.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.backup(dest),
            Backend::Postgres(p) => p.backup(dest),
        }
    }

    // ------------------------------------------------------------ projects

    /// Creates a project owned by `user_id`.
    ///
    /// ```
    /// let store = avatar_store::Store::open_in_memory().unwrap();
    /// let p = store.create_project("u1", &avatar_store::NewProject {
    ///     name: "Campaign".into(),
    ///     description: Some("spring".into()),
    /// }).unwrap();
    /// assert_eq!(p.user_id, "u1");
    /// let err = store.create_project("u1", &avatar_store::NewProject::default()).unwrap_err();
    /// assert_eq!(err.field(), Some("name"));
    /// ```
    pub fn create_project(&self, user_id: &str, new: &NewProject) -> Result<Project> {
        match &self.backend {
            Backend::Sqlite(s) => s.create_project(user_id, new),
            Backend::Postgres(p) => p.create_project(user_id, new),
        }
    }

    /// Reads a project of `user_id`; another user's project is `NOT_FOUND`.
    pub fn get_project(&self, user_id: &str, id: &Uuid) -> Result<Project> {
        match &self.backend {
            Backend::Sqlite(s) => s.get_project(user_id, id),
            Backend::Postgres(p) => p.get_project(user_id, id),
        }
    }

    /// Lists the projects of `user_id`, newest first, one page at a time.
    ///
    /// ```
    /// use avatar_store::{NewProject, ProjectQuery, Store};
    /// let store = Store::open_in_memory().unwrap();
    /// for name in ["a", "b", "c"] {
    ///     store.create_project("u1", &NewProject { name: name.into(), ..Default::default() }).unwrap();
    /// }
    /// let first = store.list_projects("u1", &ProjectQuery { limit: Some(2), cursor: None }).unwrap();
    /// assert_eq!(first.items.len(), 2);
    /// let rest = store.list_projects("u1", &ProjectQuery { limit: Some(2), cursor: first.next_cursor }).unwrap();
    /// assert_eq!(rest.items.len(), 1);
    /// assert!(rest.next_cursor.is_none());
    /// ```
    pub fn list_projects(&self, user_id: &str, query: &ProjectQuery) -> Result<Page<Project>> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_projects(user_id, query),
            Backend::Postgres(p) => p.list_projects(user_id, query),
        }
    }

    /// Like [`Store::list_projects`], each project with its avatars (oldest
    /// first), in two queries per page whatever its size.
    pub fn list_projects_with_avatars(&self, user_id: &str, query: &ProjectQuery) -> Result<Page<ProjectWithAvatars>> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_projects_with_avatars(user_id, query),
            Backend::Postgres(p) => p.list_projects_with_avatars(user_id, query),
        }
    }

    /// Applies `patch` to a project of `user_id`.
    pub fn update_project(&self, user_id: &str, id: &Uuid, patch: &ProjectPatch) -> Result<Project> {
        match &self.backend {
            Backend::Sqlite(s) => s.update_project(user_id, id, patch),
            Backend::Postgres(p) => p.update_project(user_id, id, patch),
        }
    }

    /// Deletes a project of `user_id` and, by cascade, its avatars.
    pub fn delete_project(&self, user_id: &str, id: &Uuid) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_project(user_id, id),
            Backend::Postgres(p) => p.delete_project(user_id, id),
        }
    }

    // ------------------------------------------------------------- avatars

    /// Creates an avatar in a project of `user_id`.
    ///
    /// ```
    /// use avatar_store::{NewAvatar, NewProject, Store};
    /// let store = Store::open_in_memory().unwrap();
    /// let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    /// let a = store.create_avatar("u1", &NewAvatar {
    ///     project_id: p.id,
    ///     name: "Nova".into(),
    ///     persona_age: Some(29),
    ///     hair_color: Some("silver".into()),
    ///     source_type: Some("generated".into()),
    ///     ..Default::default()
    /// }).unwrap();
    /// assert_eq!(a.usage_count, 0);
    /// // A project of another user is not found.
    /// let err = store.create_avatar("u2", &NewAvatar { project_id: p.id, name: "X".into(), ..Default::default() });
    /// assert_eq!(err.unwrap_err().code(), "NOT_FOUND");
    /// ```
    pub fn create_avatar(&self, user_id: &str, new: &NewAvatar) -> Result<Avatar> {
        match &self.backend {
            Backend::Sqlite(s) => s.create_avatar(user_id, new),
            Backend::Postgres(p) => p.create_avatar(user_id, new),
        }
    }

    /// Creates many avatars in one transaction: all or none. Every item is
    /// validated before anything is written.
    pub fn create_avatars(&self, user_id: &str, new: &[NewAvatar]) -> Result<Vec<Avatar>> {
        match &self.backend {
            Backend::Sqlite(s) => s.create_avatars(user_id, new),
            Backend::Postgres(p) => p.create_avatars(user_id, new),
        }
    }

    /// Reads an avatar of `user_id`.
    pub fn get_avatar(&self, user_id: &str, id: &Uuid) -> Result<Avatar> {
        match &self.backend {
            Backend::Sqlite(s) => s.get_avatar(user_id, id),
            Backend::Postgres(p) => p.get_avatar(user_id, id),
        }
    }

    /// Like [`Store::get_avatar`], only if the read needs no wait for a
    /// connection or a lock: `None` when no pooled reader is idle now (every
    /// one busy, or none opened yet: readers open lazily), when the file is
    /// locked against readers (`BUSY` at once, not after the busy timeout),
    /// when the store reads
    /// through its writer (in memory, read-only) and on PostgreSQL (a
    /// network round trip). For a caller on a thread that must not block,
    /// such as Node's event loop, which otherwise hands the read to a
    /// worker.
    pub fn try_get_avatar_now(&self, user_id: &str, id: &Uuid) -> Option<Result<Avatar>> {
        match &self.backend {
            Backend::Sqlite(s) => s.try_read_now(|c| repo::get_avatar(c, user_id, id)),
            Backend::Postgres(_) => None,
        }
    }

    /// [`Store::get_project`] as [`Store::try_get_avatar_now`] reads an avatar.
    pub fn try_get_project_now(&self, user_id: &str, id: &Uuid) -> Option<Result<Project>> {
        match &self.backend {
            Backend::Sqlite(s) => s.try_read_now(|c| repo::get_project(c, user_id, id)),
            Backend::Postgres(_) => None,
        }
    }

    /// Lists avatars of `user_id` with filters, sort and keyset pagination.
    ///
    /// ```
    /// use avatar_store::{AvatarQuery, AvatarSort, NewAvatar, NewProject, SortOrder, Store};
    /// let store = Store::open_in_memory().unwrap();
    /// let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    /// for (name, hair) in [("a", "red"), ("b", "black"), ("c", "red")] {
    ///     store.create_avatar("u1", &NewAvatar {
    ///         project_id: p.id, name: name.into(), hair_color: Some(hair.into()), ..Default::default()
    ///     }).unwrap();
    /// }
    /// let page = store.list_avatars("u1", &AvatarQuery {
    ///     hair_color: Some("red".into()),
    ///     order: SortOrder::Desc,
    ///     ..Default::default()
    /// }).unwrap();
    /// let names: Vec<_> = page.items.iter().map(|a| a.name.as_str()).collect();
    /// assert_eq!(names, ["c", "a"]);
    /// ```
    pub fn list_avatars(&self, user_id: &str, query: &AvatarQuery) -> Result<Page<Avatar>> {
        match &self.backend {
            Backend::Sqlite(s) => s.list_avatars(user_id, query),
            Backend::Postgres(p) => p.list_avatars(user_id, query),
        }
    }

    /// Applies `patch` to an avatar of `user_id`; `Some(None)` clears a field.
    pub fn update_avatar(&self, user_id: &str, id: &Uuid, patch: &AvatarPatch) -> Result<Avatar> {
        match &self.backend {
            Backend::Sqlite(s) => s.update_avatar(user_id, id, patch),
            Backend::Postgres(p) => p.update_avatar(user_id, id, patch),
        }
    }

    /// Deletes an avatar of `user_id`.
    pub fn delete_avatar(&self, user_id: &str, id: &Uuid) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_avatar(user_id, id),
            Backend::Postgres(p) => p.delete_avatar(user_id, id),
        }
    }

    /// Counts one use of an avatar: increments `usageCount` and sets
    /// `lastUsedAt` atomically (one transaction holding the write lock on
    /// SQLite, one statement on PostgreSQL), so concurrent callers, threads
    /// or processes, lose no increment; the avatar returned is the one this
    /// call made.
    /// An avatar already at [`crate::MAX_USAGE_COUNT`] is an
    /// [`Error::Conflict`] and stays unchanged.
    ///
    /// ```
    /// use avatar_store::{NewAvatar, NewProject, Store};
    /// let store = Store::open_in_memory().unwrap();
    /// let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    /// let a = store.create_avatar("u1", &NewAvatar { project_id: p.id, name: "A".into(), ..Default::default() }).unwrap();
    /// let used = store.record_usage("u1", &a.id).unwrap();
    /// assert_eq!(used.usage_count, 1);
    /// assert!(used.last_used_at.is_some());
    /// ```
    pub fn record_usage(&self, user_id: &str, id: &Uuid) -> Result<Avatar> {
        match &self.backend {
            Backend::Sqlite(s) => s.record_usage(user_id, id),
            Backend::Postgres(p) => p.record_usage(user_id, id),
        }
    }

    /// Runs one [`Write`] alone: the same as calling its method.
    ///
    /// ```
    /// use avatar_store::{NewProject, Store, Write, Written};
    /// let store = Store::open_in_memory().unwrap();
    /// let w = Write::CreateProject { user_id: "u1".into(), project: NewProject { name: "P".into(), ..Default::default() } };
    /// let Written::Project(p) = store.write(&w).unwrap() else { panic!() };
    /// assert_eq!(store.get_project("u1", &p.id).unwrap(), p);
    /// ```
    pub fn write(&self, write: &Write) -> Result<Written> {
        write.run_alone(self)
    }

    /// Runs `writes` in order with one commit: the result of each is what it
    /// would be alone, and the ones that succeed are committed together.
    ///
    /// On SQLite they run in one IMMEDIATE transaction: a write that fails
    /// (an avatar not found, a project of another user) leaves nothing
    /// behind, and the others go on. One commit,
    /// where each write alone would make its own, is the point: a commit is
    /// most of what a write on one record costs. If the transaction cannot
    /// begin (the database stays locked past the busy timeout) or commit,
    /// nothing is written and every write fails with that error. On
    /// PostgreSQL each write runs alone, in turn.
    ///
    /// ```
    /// use avatar_store::{NewAvatar, NewProject, Store, Write, Written};
    /// let store = Store::open_in_memory().unwrap();
    /// let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    /// let a = store.create_avatar("u1", &NewAvatar { project_id: p.id, name: "A".into(), ..Default::default() }).unwrap();
    /// let results = store.write_together(&[
    ///     Write::RecordUsage { user_id: "u1".into(), id: a.id },
    ///     Write::RecordUsage { user_id: "u2".into(), id: a.id }, // not u2's: NOT_FOUND, alone
    ///     Write::RecordUsage { user_id: "u1".into(), id: a.id },
    /// ]);
    /// assert!(matches!(&results[0], Ok(Written::Avatar(a)) if a.usage_count == 1));
    /// assert_eq!(results[1].as_ref().unwrap_err().code(), "NOT_FOUND");
    /// assert!(matches!(&results[2], Ok(Written::Avatar(a)) if a.usage_count == 2));
    /// assert_eq!(store.get_avatar("u1", &a.id).unwrap().usage_count, 2);
    /// ```
    pub fn write_together(&self, writes: &[Write]) -> Vec<Result<Written>> {
        match (&self.backend, writes) {
            (Backend::Sqlite(s), [_, _, ..]) => s.write_together(writes),
            _ => writes.iter().map(|w| w.run_alone(self)).collect(),
        }
    }

    // -------------------------------------------------------- import/export

    /// Writes records of `user_id` in one IMMEDIATE transaction: `f` feeds
    /// them through the [`Importer`], and any error it returns rolls back
    /// everything. A record of another user, or an avatar in a project that
    /// is not `user_id`'s, is refused ([`Error::Validation`], nothing written).
    /// Records are inserted or updated by id, so importing the same data twice
    /// leaves one copy; an id owned by another user is an [`Error::Conflict`].
    ///
    /// ```
    /// use avatar_store::{NewProject, Record, Store};
    /// let a = Store::open_in_memory().unwrap();
    /// a.create_project("alice", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    /// let mut records = Vec::new();
    /// a.export("alice", |r| {
    ///     records.push(r);
    ///     Ok(())
    /// }).unwrap();
    ///
    /// let b = Store::open_in_memory().unwrap();
    /// b.import("alice", |imp| records.iter().try_for_each(|r| imp.record(r))).unwrap();
    /// assert_eq!(b.count("alice").unwrap(), (1, 0));
    /// // Alice's records are not bob's to import.
    /// let err = b.import("bob", |imp| records.iter().try_for_each(|r| imp.record(r))).unwrap_err();
    /// assert_eq!(err.field(), Some("userId"));
    /// ```
    pub fn import<T>(&self, user_id: &str, f: impl FnOnce(&mut Importer<'_>) -> Result<T>) -> Result<T> {
        self.import_in(Scope::User(user_id), f)
    }

    /// Like [`Store::import`] for the records of every user: whole-database
    /// transfer, for operators. Never what an application serving users wants.
    pub fn import_all_users<T>(&self, f: impl FnOnce(&mut Importer<'_>) -> Result<T>) -> Result<T> {
        self.import_in(Scope::AllUsers, f)
    }

    /// [`Store::import`] or [`Store::import_all_users`], by `scope`.
    pub fn import_in<T>(&self, scope: Scope<'_>, f: impl FnOnce(&mut Importer<'_>) -> Result<T>) -> Result<T> {
        match &self.backend {
            Backend::Sqlite(s) => s.import_in(scope, f),
            Backend::Postgres(p) => p.import_in(scope, f),
        }
    }

    /// Streams every project, then every avatar of `user_id`, from one
    /// consistent snapshot, in creation order.
    pub fn export(&self, user_id: &str, f: impl FnMut(Record) -> Result<()>) -> Result<()> {
        self.export_in(Scope::User(user_id), f)
    }

    /// Like [`Store::export`] for every user: whole-database transfer, for operators.
    pub fn export_all_users(&self, f: impl FnMut(Record) -> Result<()>) -> Result<()> {
        self.export_in(Scope::AllUsers, f)
    }

    /// [`Store::export`] or [`Store::export_all_users`], by `scope`.
    pub fn export_in(&self, scope: Scope<'_>, f: impl FnMut(Record) -> Result<()>) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.export_in(scope, f),
            Backend::Postgres(p) => p.export_in(scope, f),
        }
    }

    /// The records [`Store::export`] hands over, as an iterator that owns
    /// its read snapshot (see [`ExportIter`] for what holding it costs).
    /// [`crate::transfer`] writes them in the export format.
    ///
    /// ```
    /// use avatar_store::{NewProject, Record, Store};
    /// let store = Store::open_in_memory().unwrap();
    /// store.create_project("alice", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    /// let records: Vec<Record> = store.export_iter("alice").unwrap().collect::<Result<_, _>>().unwrap();
    /// assert_eq!(records.len(), 1);
    /// ```
    pub fn export_iter(&self, user_id: &str) -> Result<ExportIter> {
        self.export_iter_in(Scope::User(user_id))
    }

    /// Like [`Store::export_iter`] for every user: whole-database transfer, for operators.
    pub fn export_all_users_iter(&self) -> Result<ExportIter> {
        self.export_iter_in(Scope::AllUsers)
    }

    /// [`Store::export_iter`] or [`Store::export_all_users_iter`], by `scope`.
    pub fn export_iter_in(&self, scope: Scope<'_>) -> Result<ExportIter> {
        match &self.backend {
            Backend::Sqlite(s) => s.export_iter_in(scope),
            Backend::Postgres(p) => p.export_iter_in(scope),
        }
    }

    /// Numbers of projects and avatars of `user_id`.
    pub fn count(&self, user_id: &str) -> Result<(u64, u64)> {
        self.count_in(Scope::User(user_id))
    }

    /// Numbers of projects and avatars of every user together, for operators.
    pub fn count_all_users(&self) -> Result<(u64, u64)> {
        self.count_in(Scope::AllUsers)
    }

    /// [`Store::count`] or [`Store::count_all_users`], by `scope`.
    pub fn count_in(&self, scope: Scope<'_>) -> Result<(u64, u64)> {
        match &self.backend {
            Backend::Sqlite(s) => s.count_in(scope),
            Backend::Postgres(p) => p.count_in(scope),
        }
    }
}

impl SqliteStore {
    fn open_with(path: Option<&Path>, options: OpenOptions) -> Result<SqliteStore> {
        without_memory_statistics();
        match path {
            Some(p) if options.read_only => SqliteStore::open_read_only(p, options).map_err(|e| e.at_path(p)),
            Some(p) => SqliteStore::open_file(p, options).map_err(|e| e.at_path(p)),
            None => SqliteStore::open_memory(options),
        }
    }

    fn open_memory(options: OpenOptions) -> Result<SqliteStore> {
        let mut conn = Connection::open_in_memory()?;
        widen_lookaside(&conn);
        configure(&conn, options.busy_timeout)?;
        let migration = migrate::migrate(&mut conn, None, false)?;
        if options.verify {
            schema::verify(&conn)?;
        }
        Ok(SqliteStore::one_connection(None, conn, options, migration))
    }

    /// A store that does everything on `conn`: no reader pool and no
    /// checkpoint thread (in memory there is nothing to share them with; a
    /// read-only store must not leave connections behind).
    fn one_connection(
        path: Option<PathBuf>,
        conn: Connection,
        options: OpenOptions,
        migration: MigrationOutcome,
    ) -> SqliteStore {
        SqliteStore {
            path,
            checkpointer: None,
            readers: None,
            live: None,
            writer: Mutex::new(conn),
            options,
            migration,
        }
    }

    fn open_file(path: &Path, options: OpenOptions) -> Result<SqliteStore> {
        let busy = options.busy_timeout;
        let deadline = Instant::now() + busy;
        let mut conn = Connection::open(path).map_err(|e| Error::file(path, e))?;
        widen_lookaside(&conn);
        conn.busy_timeout(busy)?;
        // Refuse a newer or edited database before anything is written to
        // it; even switching to WAL would change the file.
        let status = retry_busy(deadline, || migrate::status_of_file(&conn, path))?;
        migrate::check_compatible(&status)?;
        if status.applied.is_empty() {
            let tables = schema::app_tables(&conn).map_err(|e| e.at_path(path))?;
            if !tables.is_empty() {
                // Another tool's database: refused before the first write
                // unless only looked at; a store that looks (for doctor,
                // adopt) does not switch it to WAL, and works on one connection.
                if options.migrate || options.verify {
                    return Err(Error::NotAdopted { tables });
                }
                configure(&conn, busy)?;
                return Ok(SqliteStore::one_connection(Some(path.to_path_buf()), conn, options, Default::default()));
            }
        }
        enable_wal(&conn, path, deadline)?;
        configure(&conn, busy)?;

        // The status just read already says whether anything is pending.
        let migration = if options.migrate && !status.pending.is_empty() {
            // A lock error here comes before the backup and the first write
            // (migrate takes the write lock first), so trying again is safe.
            retry_busy(deadline, || migrate::migrate(&mut conn, Some(path), options.backup))?
        } else {
            let v = status.current_version;
            MigrationOutcome { from_version: v, to_version: v, ..Default::default() }
        };
        if options.verify {
            schema::verify(&conn)?;
        }

        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(move |c| configure_reader(c, busy));
        let live = Arc::new(Live::default());
        let readers = Some(reader_pool(Counted { manager, live: Arc::clone(&live) }, &options)?);
        let checkpointer = Some(Checkpointer::start(path, &conn, checkpoint::thread())?);
        Ok(SqliteStore {
            path: Some(path.to_path_buf()),
            checkpointer,
            readers,
            live: Some(live),
            writer: Mutex::new(conn),
            options,
            migration,
        })
    }

    /// A read-only store has one connection, of [`open_looking`]'s kind, and
    /// no reader pool: a pooled connection can outlive the store briefly on
    /// the pool's thread (at a process exit, for good), and the last
    /// connection to close is the one that removes the -wal and -shm files a
    /// WAL-mode database needs while it is read. Reads run one at a time.
    fn open_read_only(path: &Path, options: OpenOptions) -> Result<SqliteStore> {
        let busy = options.busy_timeout;
        let conn = open_looking(path, busy)?;
        let status = retry_busy(Instant::now() + busy, || migrate::status_of_file(&conn, path))?;
        migrate::check_compatible(&status)?;
        if options.verify {
            crate::adopt::refuse_unadopted(&conn, &status)?;
            schema::verify(&conn)?;
        }
        let v = status.current_version;
        let migration = MigrationOutcome { from_version: v, to_version: v, ..Default::default() };
        Ok(SqliteStore::one_connection(Some(path.to_path_buf()), conn, options, migration))
    }

    /// Names the database file in an I/O error SQLite reported without it.
    fn named<T>(&self, r: Result<T>) -> Result<T> {
        match &self.path {
            Some(p) => r.map_err(|e| e.at_path(p)),
            None => r,
        }
    }

    fn writer(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction open
        // (rusqlite rolls back on drop), so a poisoned lock is still usable.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on a read connection: a pooled reader for files, the writer
    /// in memory and in a read-only store.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.named(match &self.readers {
            Some(pool) => pool.get().map_err(Error::from).and_then(|c| f(&c)),
            None => f(&self.writer()),
        })
    }

    /// Runs `f` on a pooled reader that is idle now; `None` rather than
    /// wait for one, or when there is no pool (the writer serves reads).
    /// Nor does it wait for a lock: a WAL read is rarely refused one (another
    /// process recovering the log, or holding the file in exclusive mode),
    /// but then the busy timeout would hold the caller for seconds, so the
    /// read runs with none and a `BUSY` declines instead.
    fn try_read_now<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Option<Result<T>> {
        let conn = self.readers.as_ref()?.try_get()?;
        // sqlite3_busy_timeout fails only on a closed handle, which a pooled
        // connection never is.
        let _ = conn.busy_timeout(Duration::ZERO);
        let out = f(&conn);
        let _ = conn.busy_timeout(self.options.busy_timeout);
        match out {
            Err(Error::Busy(_)) => None,
            out => Some(self.named(out)),
        }
    }

    /// Runs `f` inside one IMMEDIATE transaction; commits on `Ok`, rolls back on `Err`.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.write_with(Journal::Default, f)
    }

    /// [`Self::write`], with the transaction's statement journals where `journal` says.
    fn write_with<T>(&self, journal: Journal, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.writer();
        // SQLite reads temp_store when the transaction begins. Either
        // setting fails only with a TEMP table open, which the store never
        // has; a failure would cost speed, not correctness.
        if journal == Journal::InMemory {
            let _ = conn.pragma_update(None, "temp_store", "MEMORY");
        }
        let out = self.named((|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })());
        if journal == Journal::InMemory {
            let _ = conn.pragma_update(None, "temp_store", "DEFAULT");
        }
        out.inspect(|_| self.after_commit(&conn))
    }

    /// [`Store::write_together`] for two writes or more.
    fn write_together(&self, writes: &[Write]) -> Vec<Result<Written>> {
        let mut conn = self.writer();
        let run = |conn: &mut Connection| -> Result<Vec<Result<Written>>> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut results = Vec::with_capacity(writes.len());
            for w in writes {
                match w.run_in(&tx) {
                    // SQLite rolled the whole transaction back (a full disk,
                    // an I/O error): nothing of the group is written, and a
                    // write run after it would commit alone.
                    Err(e) if tx.is_autocommit() => return Err(e),
                    r => results.push(r),
                }
            }
            tx.commit()?;
            Ok(results)
        };
        match run(&mut conn) {
            Ok(results) => {
                self.after_commit(&conn);
                results.into_iter().map(|r| self.named(r)).collect()
            }
            Err(e) => writes.iter().map(|_| self.named(Err(e.clone()))).collect(),
        }
    }

    /// Runs `f`, a single statement that commits by itself, on the writer.
    fn write_one<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.writer();
        let out = f(&conn);
        self.after_commit(&conn);
        self.named(out)
    }

    fn after_commit(&self, writer: &Connection) {
        if let Some(c) = &self.checkpointer {
            c.after_commit(writer);
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn migration_outcome(&self) -> &MigrationOutcome {
        &self.migration
    }

    pub fn migration_status(&self) -> Result<MigrationStatus> {
        self.named(migrate::status(&self.writer()))
    }

    pub fn migrate(&self) -> Result<MigrationOutcome> {
        self.named(migrate::migrate(&mut self.writer(), self.path.as_deref(), self.options.backup))
    }

    pub fn check_schema(&self) -> Result<SchemaReport> {
        self.named(schema::check(&self.writer()))
    }

    pub fn repair(&self) -> Result<RepairOutcome> {
        self.named(self.repair_now())
    }

    fn repair_now(&self) -> Result<RepairOutcome> {
        let mut conn = self.writer();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        crate::adopt::refuse_unadopted(&tx, &migrate::status(&tx)?)?;
        let before = schema::check(&tx)?;
        if !before.pending_migrations.is_empty() {
            return Err(Error::Migration {
                version: before.pending_migrations.first().copied(),
                message: "migrations are pending; apply them before repairing".into(),
            });
        }
        let (statements, not_repaired) = schema::repair_plan(&before);
        let mut backup_path = None;
        if !statements.is_empty() {
            if let (Some(path), true) = (&self.path, self.options.backup) {
                let dest = backup::sibling_path(path, &format!("pre-repair-v{}", before.current_version));
                backup::copy_to(&tx, Some(path), &dest)?;
                backup_path = Some(dest);
            }
            for s in &statements {
                tx.execute_batch(s).map_err(|e| Error::Migration {
                    version: None,
                    message: format!("repair statement failed, nothing was changed: {s}: {e}"),
                })?;
            }
        }
        let after = schema::check(&tx)?;
        tx.commit()?;
        Ok(RepairOutcome { applied: statements, not_repaired, backup: backup_path, after })
    }

    pub fn adoption_check(&self) -> Result<Option<AdoptionReport>> {
        self.named(crate::adopt::check(&self.writer()))
    }

    pub fn adopt(&self) -> Result<AdoptOutcome> {
        self.named(crate::adopt::adopt(&mut self.writer()))
    }

    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref();
        self.named(match &self.readers {
            Some(pool) => pool.get().map_err(Error::from).and_then(|c| backup::copy_to(&c, self.path(), dest)),
            None => backup::copy_to(&self.writer(), self.path(), dest),
        })
    }

    // ------------------------------------------------------------ projects

    pub fn create_project(&self, user_id: &str, new: &NewProject) -> Result<Project> {
        self.write_one(|c| repo::create_project(c, user_id, new))
    }

    pub fn get_project(&self, user_id: &str, id: &Uuid) -> Result<Project> {
        self.read(|c| repo::get_project(c, user_id, id))
    }

    pub fn list_projects(&self, user_id: &str, query: &ProjectQuery) -> Result<Page<Project>> {
        self.read(|c| repo::list_projects(c, user_id, query))
    }

    pub fn list_projects_with_avatars(&self, user_id: &str, query: &ProjectQuery) -> Result<Page<ProjectWithAvatars>> {
        // One read transaction, so projects and avatars come from one snapshot.
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let page = repo::list_projects_with_avatars(&tx, user_id, query)?;
            tx.finish()?;
            Ok(page)
        })
    }

    pub fn update_project(&self, user_id: &str, id: &Uuid, patch: &ProjectPatch) -> Result<Project> {
        self.write(|c| repo::update_project(c, user_id, id, patch))
    }

    pub fn delete_project(&self, user_id: &str, id: &Uuid) -> Result<()> {
        self.write_one(|c| repo::delete_project(c, user_id, id))
    }

    // ------------------------------------------------------------- avatars

    pub fn create_avatar(&self, user_id: &str, new: &NewAvatar) -> Result<Avatar> {
        let a = repo::prepare_avatar(user_id, new)?;
        self.write_one(|c| repo::insert_avatar(c, &a))?;
        Ok(a)
    }

    pub fn create_avatars(&self, user_id: &str, new: &[NewAvatar]) -> Result<Vec<Avatar>> {
        let avatars = repo::prepare_avatars(user_id, new)?;
        // A multi-row INSERT (a batch of at least one chunk) keeps a
        // statement journal, to undo itself alone should a row fail. By
        // default SQLite moves that journal to a temporary file once it
        // passes 64 KB, and keeps writing there until the commit: 16,000
        // more writes in a 10,000-avatar batch, about as long as the inserts
        // themselves. In memory it holds one chunk's pages at a time.
        let journal = if avatars.len() >= repo::INSERT_CHUNK { Journal::InMemory } else { Journal::Default };
        self.write_with(journal, |c| repo::insert_avatars(c, user_id, &avatars))?;
        Ok(avatars)
    }

    pub fn get_avatar(&self, user_id: &str, id: &Uuid) -> Result<Avatar> {
        self.read(|c| repo::get_avatar(c, user_id, id))
    }

    pub fn list_avatars(&self, user_id: &str, query: &AvatarQuery) -> Result<Page<Avatar>> {
        self.read(|c| repo::list_avatars(c, user_id, query))
    }

    pub fn update_avatar(&self, user_id: &str, id: &Uuid, patch: &AvatarPatch) -> Result<Avatar> {
        self.write(|c| repo::update_avatar(c, user_id, id, patch))
    }

    pub fn delete_avatar(&self, user_id: &str, id: &Uuid) -> Result<()> {
        self.write_one(|c| repo::delete_avatar(c, user_id, id))
    }

    pub fn record_usage(&self, user_id: &str, id: &Uuid) -> Result<Avatar> {
        self.write(|c| repo::record_usage(c, user_id, id))
    }

    pub fn import_in<T>(&self, scope: Scope<'_>, f: impl FnOnce(&mut Importer<'_>) -> Result<T>) -> Result<T> {
        scope.validate()?;
        self.write(|c| f(&mut Importer { conn: ImportConn::Sqlite(c), scope, projects: 0, avatars: 0 }))
    }

    pub fn export_in(&self, scope: Scope<'_>, f: impl FnMut(Record) -> Result<()>) -> Result<()> {
        scope.validate()?;
        self.read(|c| repo::export(c, scope.user_id(), f))
    }

    pub fn export_iter_in(&self, scope: Scope<'_>) -> Result<ExportIter> {
        scope.validate()?;
        match &self.readers {
            // Checked out here, so a busy pool fails the call, not the first record.
            Some(pool) => {
                let conn = self.named(pool.get().map_err(Error::from))?;
                ExportIter::spawn(conn, scope.user_id().map(str::to_owned))
            }
            // The one connection of an in-memory or read-only store cannot be
            // lent to a thread, nor held by an iterator without blocking
            // every other call meanwhile (a call by the consumer itself would
            // deadlock): copy the records.
            None => ExportIter::buffered(|push| self.export_in(scope, push)),
        }
    }

    pub fn count_in(&self, scope: Scope<'_>) -> Result<(u64, u64)> {
        scope.validate()?;
        self.read(|c| repo::count(c, scope.user_id()))
    }
}

/// The reader pool of a file store, on the maintenance thread every store shares.
fn reader_pool(manager: Counted, options: &OpenOptions) -> Result<r2d2::Pool<Counted>> {
    Ok(r2d2::Pool::builder()
        .thread_pool(maintenance_pool())
        .max_size(options.readers)
        .min_idle(Some(0))
        .test_on_check_out(false)
        .connection_timeout(options.busy_timeout.max(Duration::from_millis(100)))
        .build(manager)?)
}

/// Whose records an import, export or count covers.
///
/// There is no default: a front end says which, so that whole-database
/// transfer (every user's records) is never what a forgotten argument gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope<'a> {
    /// The records of one user: the caller's.
    User(&'a str),
    /// The records of every user: whole-database transfer, for operators.
    AllUsers,
}

impl Scope<'_> {
    /// The user of [`Scope::User`]; `None` for [`Scope::AllUsers`].
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Scope::User(u) => Some(u),
            Scope::AllUsers => None,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            Scope::User(u) => crate::model::validate_user_id(u),
            Scope::AllUsers => Ok(()),
        }
    }
}

/// One exported record.
// Records stream one at a time, so the size difference costs nothing, while
// boxing would cost an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Record {
    /// A project.
    Project(Project),
    /// An avatar.
    Avatar(Avatar),
}

impl Record {
    /// The record's id.
    pub fn id(&self) -> &Uuid {
        match self {
            Record::Project(p) => &p.id,
            Record::Avatar(a) => &a.id,
        }
    }

    /// The record's owner.
    pub fn user_id(&self) -> &str {
        match self {
            Record::Project(p) => &p.user_id,
            Record::Avatar(a) => &a.user_id,
        }
    }

    /// Everything [`Importer::record`] checks without the database: that
    /// the record belongs to the scope's user (first, so another user's
    /// record is refused as such whatever else is wrong with it), then every
    /// field. Lets a front end check a whole input before it takes the write
    /// lock.
    ///
    /// ```
    /// use avatar_store::{Record, Scope};
    /// let line = r#"{"type":"project","id":"01942f6a-5e00-7000-8000-000000000001","userId":"alice",
    ///     "name":"P","description":null,"createdAt":"2026-01-05T09:00:00.000Z","updatedAt":"2026-01-05T09:00:00.000Z"}"#;
    /// let r: Record = serde_json::from_str(line).unwrap();
    /// r.validate(Scope::User("alice")).unwrap();
    /// r.validate(Scope::AllUsers).unwrap();
    /// assert_eq!(r.validate(Scope::User("bob")).unwrap_err().field(), Some("userId"));
    /// ```
    pub fn validate(&self, scope: Scope<'_>) -> Result<()> {
        if let Scope::User(u) = scope {
            if self.user_id() != u {
                let short = |s: &str| s.chars().take(40).collect::<String>();
                return Err(Error::Validation {
                    field: "userId".into(),
                    message: format!(
                        "the record belongs to user {:?}; this import is for user {:?} only",
                        short(self.user_id()),
                        short(u)
                    ),
                });
            }
        }
        match self {
            Record::Project(p) => {
                p.validate()?;
                crate::model::validate_timestamp("createdAt", &p.created_at)?;
                crate::model::validate_timestamp("updatedAt", &p.updated_at)
            }
            Record::Avatar(a) => a.validate_imported(),
        }
    }
}

/// Writes records inside [`Store::import`]'s transaction.
pub struct Importer<'c> {
    conn: ImportConn<'c>,
    scope: Scope<'c>,
    projects: u64,
    avatars: u64,
}

/// The connection an import writes through, inside its transaction.
pub(crate) enum ImportConn<'c> {
    Sqlite(&'c Connection),
    Postgres(&'c mut postgres::Cached),
}

impl<'c> Importer<'c> {
    pub(crate) fn postgres(conn: &'c mut postgres::Cached, scope: Scope<'c>) -> Self {
        Importer { conn: ImportConn::Postgres(conn), scope, projects: 0, avatars: 0 }
    }
}

impl Importer<'_> {
    /// Inserts or updates one record by id, after [`Record::validate`].
    /// Never changes the owner of a stored record, and never puts an avatar
    /// in a project of another user.
    pub fn record(&mut self, r: &Record) -> Result<()> {
        r.validate(self.scope)?;
        let scoped = self.scope.user_id().is_some();
        match (r, &mut self.conn) {
            (Record::Project(p), ImportConn::Sqlite(c)) => repo::upsert_project(c, p)?,
            (Record::Project(p), ImportConn::Postgres(c)) => postgres::repo::upsert_project(&mut c.session(), p)?,
            (Record::Avatar(a), ImportConn::Sqlite(c)) => repo::upsert_avatar(c, a, scoped)?,
            (Record::Avatar(a), ImportConn::Postgres(c)) => postgres::repo::upsert_avatar(&mut c.session(), a, scoped)?,
        }
        match r {
            Record::Project(_) => self.projects += 1,
            Record::Avatar(_) => self.avatars += 1,
        }
        Ok(())
    }

    /// Whose records this import takes.
    pub fn scope(&self) -> Scope<'_> {
        self.scope
    }

    /// Projects and avatars written so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.projects, self.avatars)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// Opening a reader must not wait behind a checkpoint: r2d2 opens pooled
    /// connections on its maintenance thread, which checkpoints once shared.
    #[test]
    fn a_busy_checkpoint_thread_holds_no_reader_up() {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        // Stands for a long checkpoint of some other store of the process.
        crate::checkpoint::thread().execute(move || {
            started.send(()).unwrap();
            let _ = wait.recv();
        });
        running.recv().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // A reader that cannot be opened within the busy timeout is BUSY.
        let store = Store::options().busy_timeout(Duration::from_millis(300)).open(dir.path().join("t.db"));
        let counted = store.and_then(|s| s.count("u1"));
        drop(release);
        assert_eq!(counted.unwrap(), (0, 0));
    }

    #[test]
    fn pooled_readers_keep_the_larger_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("c.db")).unwrap();
        let s = sqlite(&store);
        assert!(s.readers.is_some(), "a file store reads through its pool");
        let cache: i64 = s.read(|c| Ok(c.pragma_query_value(None, "cache_size", |r| r.get(0))?)).unwrap();
        assert_eq!(cache, -READER_CACHE_KIB);
    }

    /// `.cargo/config.toml` builds the bundled SQLite without
    /// SQLITE_ENABLE_MEMORY_MANAGEMENT: with it, every connection's page
    /// cache sits behind one process-wide mutex.
    #[test]
    fn sqlite_is_built_with_a_page_cache_per_connection() {
        let store = Store::open_in_memory().unwrap();
        let on: i64 = sqlite(&store)
            .writer()
            .query_row(
                "SELECT count(*) FROM pragma_compile_options WHERE compile_options = 'ENABLE_MEMORY_MANAGEMENT'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(on, 0, "built with ENABLE_MEMORY_MANAGEMENT: is LIBSQLITE3_FLAGS in .cargo/config.toml set?");
    }

    /// The writer closes last, so the -wal and -shm files go with the store,
    /// however many readers it had open.
    #[test]
    fn closing_a_store_with_open_readers_removes_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let store = Arc::new(Store::options().readers(4).open(&path).unwrap());
        store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                let store = Arc::clone(&store);
                s.spawn(move || (0..50).for_each(|_| assert_eq!(store.count("u1").unwrap(), (1, 0))));
            }
        });
        drop(Arc::into_inner(store).unwrap());
        assert!(!dir.path().join("r.db-wal").exists());
        assert!(!dir.path().join("r.db-shm").exists());
    }

    /// A read "now" takes an idle reader or declines: it never waits for one.
    #[test]
    fn a_read_now_takes_an_idle_reader_or_declines() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::options().readers(2).open(dir.path().join("n.db")).unwrap();
        let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
        let new = NewAvatar { project_id: p.id, name: "A".into(), ..Default::default() };
        let a = store.create_avatar("u1", &new).unwrap();
        // Readers open lazily, by reads that may wait; none is idle yet.
        assert!(store.try_get_avatar_now("u1", &a.id).is_none());
        store.get_avatar("u1", &a.id).unwrap();
        assert_eq!(store.try_get_avatar_now("u1", &a.id).unwrap().unwrap().name, "A");
        assert_eq!(store.try_get_project_now("u1", &p.id).unwrap().unwrap().id, p.id);
        assert_eq!(store.try_get_avatar_now("u2", &a.id).unwrap().unwrap_err().code(), "NOT_FOUND");
        assert_eq!(store.try_get_project_now("u2", &p.id).unwrap().unwrap_err().code(), "NOT_FOUND");
        let s = sqlite(&store);
        let pool = s.readers.as_ref().unwrap();
        let held: Vec<_> = (0..2).map(|_| pool.get().unwrap()).collect();
        assert!(store.try_get_avatar_now("u1", &a.id).is_none(), "every reader busy: declined");
        assert!(store.try_get_project_now("u1", &p.id).is_none());
        drop(held);
        assert!(store.try_get_avatar_now("u1", &a.id).is_some());
        // No wait for a lock either: the read runs with no busy timeout, a
        // BUSY declines, and the reader waits for locks again afterwards.
        let during = s.try_read_now(|c| {
            let t: i64 = c.pragma_query_value(None, "busy_timeout", |r| r.get(0))?;
            assert_eq!(t, 0, "no busy timeout while a read runs now");
            Err::<(), _>(Error::Busy("locked".into()))
        });
        assert!(during.is_none(), "BUSY: declined");
        let timeout: i64 = s.read(|c| Ok(c.pragma_query_value(None, "busy_timeout", |r| r.get(0))?)).unwrap();
        assert_eq!(timeout, 5_000, "the reader's busy timeout is back");
        // In memory, reads share the writer, which a write may hold.
        let mem = Store::open_in_memory().unwrap();
        assert!(mem.try_get_avatar_now("u1", &a.id).is_none());
    }

    fn sqlite(store: &Store) -> &SqliteStore {
        match &store.backend {
            Backend::Sqlite(s) => s,
            Backend::Postgres(_) => unreachable!("a SQLite store"),
        }
    }

    fn batch(project_id: Uuid, n: usize) -> Vec<NewAvatar> {
        (0..n)
            .map(|i| NewAvatar {
                project_id,
                name: format!("avatar {i}"),
                persona_background: Some("a background of some length, as real ones have".into()),
                generation_prompt: Some("a prompt of some length, as real ones have, and then some more".into()),
                hair_color: Some("silver".into()),
                ..Default::default()
            })
            .collect()
    }

    /// Chunks of a batch bind their texts in the writer's lookaside pool; a
    /// pool too small sends them to malloc (SQLite counts each such miss).
    #[test]
    fn a_batch_chunk_fits_the_writers_lookaside() {
        let dir = tempfile::tempdir().unwrap();
        for store in [Store::open_in_memory().unwrap(), Store::open(dir.path().join("l.db")).unwrap()] {
            let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
            let misses = |reset: bool| {
                let (mut now, mut peak) = (0, 0);
                // SAFETY: the writer's handle, on this thread, under its lock.
                let rc = unsafe {
                    rusqlite::ffi::sqlite3_db_status(
                        sqlite(&store).writer().handle(),
                        rusqlite::ffi::SQLITE_DBSTATUS_LOOKASIDE_MISS_FULL,
                        &mut now,
                        &mut peak,
                        i32::from(reset),
                    )
                };
                assert_eq!(rc, 0);
                peak
            };
            store.create_avatars("u1", &batch(p.id, 3 * repo::INSERT_CHUNK)).unwrap();
            misses(true);
            store.create_avatars("u1", &batch(p.id, 3 * repo::INSERT_CHUNK)).unwrap();
            assert_eq!(misses(false), 0, "allocations the lookaside pool could not take");
        }
    }

    /// A transaction may keep its statement journals in memory, and the
    /// writer's setting is back to the default after it, committed or not.
    #[test]
    fn a_large_batch_journals_in_memory_and_restores_the_setting() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("j.db")).unwrap();
        let s = sqlite(&store);
        let temp_store = |c: &Connection| c.query_row("PRAGMA temp_store", [], |r| r.get::<_, i64>(0));
        assert_eq!(s.write_with(Journal::InMemory, |c| Ok(temp_store(c)?)).unwrap(), 2, "MEMORY");
        assert_eq!(s.write_with(Journal::Default, |c| Ok(temp_store(c)?)).unwrap(), 0, "DEFAULT");
        let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
        store.create_avatars("u1", &batch(p.id, 2 * repo::INSERT_CHUNK + 1)).unwrap();
        assert_eq!(temp_store(&s.writer()).unwrap(), 0);
        let mut failing = batch(p.id, 2 * repo::INSERT_CHUNK + 1);
        failing[repo::INSERT_CHUNK + 1].project_id = Uuid::now_v7();
        assert_eq!(store.create_avatars("u1", &failing).unwrap_err().code(), "NOT_FOUND");
        assert_eq!(temp_store(&s.writer()).unwrap(), 0);
        assert_eq!(store.count("u1").unwrap(), (1, 2 * repo::INSERT_CHUNK as u64 + 1));
    }

    #[test]
    fn store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Store>();
    }
}
