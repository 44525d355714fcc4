//! The PostgreSQL backend: a [`PgStore`] behind [`crate::Store`] when it is
//! opened with a `postgres://` or `postgresql://` URL.
//!
//! The core is synchronous, so this uses the `postgres` crate (rust-postgres'
//! blocking client) with an r2d2 pool, over TLS when the URL asks (see
//! [`connect`]). Every pooled connection works in the store's schema
//! (`search_path`), waits on locks for at most the busy timeout
//! (`lock_timeout`), so a lock held too long is `BUSY`, as on SQLite, and runs
//! each statement for at most the statement timeout, if one is set.
//!
//! r2d2 tests each connection before handing it out (`test_on_check_out`,
//! its default) and drops the ones the server closed, so a store outlives a
//! server restart: calls fail with `IO` while the server is down and work
//! again once it is back, on fresh connections.
//!
//! A serialization failure or deadlock (SQLSTATE 40001, 40P01) rolls back
//! the whole transaction it hit, so the store runs that transaction again
//! (see [`PgStore::retrying`]) where the operation is a transaction of its
//! own: everything but imports, whose caller's closure cannot be run twice.
//!
//! A read-only store (`OpenOptions::read_only`) migrates nothing and sets
//! `default_transaction_read_only` on every pooled connection, so that no
//! code path can write through it; it checks the schema against the copy
//! in [`pinned`]. Backup and restore run PostgreSQL's own `pg_dump` and
//! `pg_restore` (see [`dump`]).

mod cache;
mod connect;
pub(crate) mod dump;
mod migrate;
mod pinned;
pub(crate) mod repo;
mod schema;
#[cfg(test)]
mod tests;

use std::hash::BuildHasher;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use postgres::Config;
use postgres::config::Host;
use postgres::error::SqlState;
use r2d2_postgres::PostgresConnectionManager;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::migrate::{MigrationOutcome, MigrationStatus};
use crate::model::{Avatar, AvatarPatch, NewAvatar, NewProject, Project, ProjectPatch, ProjectWithAvatars};
use crate::repo::{AvatarQuery, Page, ProjectQuery};
use crate::schema::{RepairOutcome, SchemaReport};
use crate::store::{Importer, OpenOptions, Record, Scope};
use crate::transfer::ExportIter;

pub(crate) use cache::Cached;
use cache::{Caching, Epoch, Session};

// The statement cache wraps whichever client manager (and TLS) connects.
type Manager = Caching<PostgresConnectionManager<connect::Tls>>;
type Pool = r2d2::Pool<Manager>;
pub(crate) type Conn = r2d2::PooledConnection<Manager>;

/// The schema a store works in when none is named.
pub const DEFAULT_SCHEMA: &str = "public";

/// The URL of `path` when it names a PostgreSQL database: anything else is
/// a SQLite file path.
pub(crate) fn as_url(path: &Path) -> Option<&str> {
    let s = path.to_str()?;
    let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
    (lower.starts_with("postgres://") || lower.starts_with("postgresql://")).then_some(s)
}

/// `db` as it may be shown to people: a PostgreSQL URL without its password
/// (and without options that could carry secrets), a file path as it is.
///
/// ```
/// use std::path::Path;
/// let shown = avatar_store::display_database(Path::new("postgresql://app:s3cret@db.example:5432/avatars"));
/// assert_eq!(shown, "postgresql://app@db.example:5432/avatars");
/// assert_eq!(avatar_store::display_database(Path::new("data/app.db")), "data/app.db");
/// ```
pub fn display_database(db: &Path) -> String {
    match as_url(db) {
        Some(url) => match connect::driver_config(url) {
            Ok((c, _, _)) => describe(&c),
            Err(_) => "(an invalid PostgreSQL URL)".to_owned(),
        },
        None => db.display().to_string(),
    }
}

/// Where a store is connected, for messages: the URL without its password.
fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = config.get_ports().get(i).or(config.get_ports().first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
            }
        })
        .collect();
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgresql://{user}{}/{db}", if hosts.is_empty() { "localhost".into() } else { hosts.join(",") })
}

/// Quotes an identifier for SQL.
pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The connection manager of a store's pool: the one place it is made.
fn manager(config: Config, tls: connect::Tls) -> Manager {
    Caching::new(PostgresConnectionManager::new(config, tls))
}

/// How many times a transaction that hit a serialization failure or a
/// deadlock is run again (within the busy timeout) before `BUSY`.
const MAX_RETRIES: u32 = 8;

/// A store on a PostgreSQL database.
pub(crate) struct PgStore {
    pool: Pool,
    /// Clears every pooled connection's prepared statements after this
    /// store changed the schema.
    statements: Epoch,
    target: String,
    /// The URL's sslmode, for messages about failed TLS handshakes.
    tls_mode: connect::TlsMode,
    schema: String,
    busy_timeout: Duration,
    /// Why the pool last failed to open a connection, with its causes: r2d2
    /// keeps only the error's own text ("error performing TLS handshake").
    connect_error: Arc<Mutex<Option<String>>>,
    migration: MigrationOutcome,
    /// The schema this build's migrations produce, read once per store.
    expected: OnceLock<crate::schema::Schema>,
    read_only: bool,
    /// How pg_dump reaches the server (password included, never shown).
    tools: dump::Tools,
}

/// Sets up every pooled connection: the store's schema first in the search
/// path, lock waits bounded by the busy timeout, statements by the statement
/// timeout when one is set (else the server's or the URL's setting stays),
/// and, for a read-only store, every transaction read-only.
#[derive(Debug)]
struct Setup {
    schema: String,
    lock_timeout: Duration,
    statement_timeout: Option<Duration>,
    read_only: bool,
}

impl r2d2::CustomizeConnection<Cached, postgres::Error> for Setup {
    fn on_acquire(&self, c: &mut Cached) -> std::result::Result<(), postgres::Error> {
        let mut sql = format!(
            "SET search_path TO {}; SET lock_timeout = {}",
            quote(&self.schema),
            self.lock_timeout.as_millis().max(1)
        );
        if let Some(t) = self.statement_timeout {
            sql.push_str(&format!("; SET statement_timeout = {}", t.as_millis().max(1)));
        }
        if self.read_only {
            sql.push_str("; SET default_transaction_read_only = on");
        }
        c.batch_execute(&sql)
    }
}

/// Keeps the last error of opening a pooled connection, causes included,
/// until a connection opens.
#[derive(Debug)]
struct KeepConnectError(Arc<Mutex<Option<String>>>);

impl r2d2::HandleError<postgres::Error> for KeepConnectError {
    fn handle_error(&self, e: postgres::Error) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(with_causes(&e));
    }
}

impl r2d2::HandleEvent for KeepConnectError {
    fn handle_acquire(&self, _: r2d2::event::AcquireEvent) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// An error's text followed by its causes': the driver's own text names
/// only the kind of failure ("db error", "error connecting to server").
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl PgStore {
    pub(crate) fn open(url: &str, options: &OpenOptions) -> Result<PgStore> {
        let connect::Target { mut config, tls, mode: tls_mode, search_path } = connect::parse(url)?;
        let target = describe(&config);
        let tools = dump::Tools::new(url, &config);
        let read_only = options.read_only;
        let schema = match (&options.schema, search_path) {
            (Some(option), Some(url)) if *option != url => {
                return Err(Error::validation(
                    "schema",
                    format!(
                        "the URL's search_path names schema {url:?} and the schema option {option:?}: name one, or the same"
                    ),
                ));
            }
            (Some(option), _) => option.clone(),
            (None, Some(url)) => {
                crate::store::validate_schema_name(&url)?;
                url
            }
            (None, None) => DEFAULT_SCHEMA.to_owned(),
        };
        let busy = options.busy_timeout.max(Duration::from_millis(100));
        let connect_timeout = options.connect_timeout.or(config.get_connect_timeout().copied()).unwrap_or(busy);
        config.connect_timeout(connect_timeout);
        let connect_error = Arc::new(Mutex::new(None));
        let manager = manager(config, tls);
        let statements = manager.epoch();
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.unwrap_or(options.readers + 1))
            .min_idle(Some(0))
            // Waiting for a free connection is bounded by the busy timeout,
            // opening one by the connect timeout: whichever is longer.
            .connection_timeout(busy.max(connect_timeout))
            .error_handler(Box::new(KeepConnectError(connect_error.clone())))
            .event_handler(Box::new(KeepConnectError(connect_error.clone())))
            .connection_customizer(Box::new(Setup {
                schema: schema.clone(),
                lock_timeout: options.busy_timeout,
                statement_timeout: options.statement_timeout,
                read_only,
            }))
            .build_unchecked(manager);
        let mut store = PgStore {
            pool,
            statements,
            target,
            tls_mode,
            schema,
            busy_timeout: options.busy_timeout,
            connect_error,
            migration: MigrationOutcome::default(),
            expected: OnceLock::new(),
            read_only,
            tools,
        };
        let mut conn = store.conn()?;
        let status = store.named(migrate::status(&mut **conn, &store.schema))?;
        if !options.inspect {
            crate::migrate::check_compatible(&status)?;
        }
        // Another tool's database: refused before the first write, unless
        // only looked at (doctor, adopt).
        if (options.migrate && !read_only) || options.verify {
            store.named(migrate::refuse_unadopted(&mut **conn, &store.schema, &status))?;
        }
        store.migration = if options.migrate && !read_only && !status.pending.is_empty() {
            let out = store.named(migrate::migrate(&mut conn, &store.schema))?;
            store.statements.invalidate();
            out
        } else {
            let v = status.current_version;
            MigrationOutcome { from_version: v, to_version: v, ..Default::default() }
        };
        drop(conn);
        if options.verify {
            let report = store.check_schema()?;
            if !report.is_ok() {
                return Err(Error::SchemaDrift(Box::new(report)));
            }
        }
        Ok(store)
    }

    /// The database, as `postgresql://user@host:port/db`: never the password.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    fn conn(&self) -> Result<Conn> {
        self.pool.get().map_err(|e| {
            let text = e.to_string();
            match text.split_once(": ") {
                // r2d2 only says "timed out" when every connection was in use.
                None => Error::Busy(format!("no connection to {} became free in time", self.target)),
                Some((_, cause)) => {
                    let kept = self.connect_error.lock().unwrap_or_else(PoisonError::into_inner).clone();
                    let cause = kept.as_deref().unwrap_or(cause);
                    let hint = if cause.contains("certificate") {
                        format!(
                            " (sslmode={}: the server's certificate must be signed by a root of sslrootcert, \
                             or of Mozilla's list without it{})",
                            self.tls_mode.as_str(),
                            if self.tls_mode == connect::TlsMode::VerifyFull {
                                ", and name the host of the URL"
                            } else {
                                ""
                            }
                        )
                    } else {
                        String::new()
                    };
                    Error::Io { path: self.target.clone(), message: format!("cannot connect: {cause}{hint}") }
                }
            }
        })
    }

    /// Refuses a schema change through a read-only store up front, rather
    /// than at its first statement (which would fail all the same).
    fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::Io { path: self.target.clone(), message: "the store was opened read-only".into() });
        }
        Ok(())
    }

    /// Names the server in a connection error.
    fn named<T>(&self, r: Result<T>) -> Result<T> {
        r.map_err(|e| match e {
            Error::Io { path, message } if path.is_empty() => Error::Io { path: self.target.clone(), message },
            e => e,
        })
    }

    pub(crate) fn path(&self) -> Option<&Path> {
        None
    }

    pub(crate) fn migration_outcome(&self) -> &MigrationOutcome {
        &self.migration
    }

    pub(crate) fn migration_status(&self) -> Result<MigrationStatus> {
        let mut c = self.conn()?;
        self.named(migrate::status(&mut **c, &self.schema))
    }

    pub(crate) fn migrate(&self) -> Result<MigrationOutcome> {
        self.writable()?;
        let mut c = self.conn()?;
        let out = self.named(migrate::migrate(&mut c, &self.schema));
        self.statements.invalidate();
        out
    }

    /// The schema this build's migrations make, read once per store.
    fn expected(&self, c: &mut postgres::Client) -> Result<&crate::schema::Schema> {
        match self.expected.get() {
            Some(e) => Ok(e),
            None => {
                // Learning it from the server creates a scratch schema.
                let e = if self.read_only { pinned::expected() } else { self.named(schema::expected(c))? };
                Ok(self.expected.get_or_init(|| e))
            }
        }
    }

    pub(crate) fn check_schema(&self) -> Result<SchemaReport> {
        let mut c = self.conn()?;
        let exp = self.expected(&mut c)?;
        self.named(schema::check(&mut c, &self.schema, exp))
    }

    /// Adds missing nullable (or defaulted) columns and missing indexes in
    /// one transaction, under the migration lock so that no migration runs
    /// meanwhile; refuses while migrations are pending, and leaves
    /// differences that could lose data alone. No backup: the transaction
    /// either commits every statement or none.
    pub(crate) fn repair(&self) -> Result<RepairOutcome> {
        self.writable()?;
        let mut c = self.conn()?;
        let exp = self.expected(&mut c)?;
        self.named((|| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&migrate::lock_key(&self.schema)])?;
            let st = migrate::status(&mut tx, &self.schema)?;
            migrate::refuse_unadopted(&mut tx, &self.schema, &st)?;
            let before = schema::check_in(&mut tx, &self.schema, exp)?;
            if !before.pending_migrations.is_empty() {
                return Err(Error::Migration {
                    version: before.pending_migrations.first().copied(),
                    message: "migrations are pending; apply them before repairing".into(),
                });
            }
            let (statements, not_repaired) = crate::schema::repair_plan_for(&before, exp);
            tx.batch_execute(&format!("SET LOCAL search_path TO {}", quote(&self.schema)))?;
            for s in &statements {
                tx.batch_execute(s).map_err(|e| Error::Migration {
                    version: None,
                    message: format!(
                        "repair statement failed, nothing was changed: {s}: {}",
                        e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| e.to_string())
                    ),
                })?;
            }
            let after = schema::check_in(&mut tx, &self.schema, exp)?;
            tx.commit()?;
            self.statements.invalidate();
            Ok(RepairOutcome { applied: statements, not_repaired, backup: None, after })
        })())
    }

    /// A `pg_dump -Fc` archive of the store's schema at `dest`.
    pub(crate) fn backup(&self, dest: impl AsRef<Path>) -> Result<()> {
        self.tools.backup(&self.schema, dest.as_ref())
    }

    /// The tables, views and sequences in the store's schema.
    pub(crate) fn relations(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let rows = c.query(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY 1",
                &[&self.schema],
            )?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    /// Whether the store's schema exists.
    pub(crate) fn schema_exists(&self) -> Result<bool> {
        self.read(|c| Ok(c.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&self.schema])?.is_some()))
    }

    pub(crate) fn adoption_check(&self) -> Result<Option<crate::adopt::AdoptionReport>> {
        let mut c = self.conn()?;
        self.named(migrate::adoption_check(&mut c, &self.schema))
    }

    pub(crate) fn adopt(&self) -> Result<crate::adopt::AdoptOutcome> {
        let mut c = self.conn()?;
        self.named(migrate::adopt(&mut c, &self.schema))
    }

    /// Runs `attempt` again while it fails with a serialization failure or a
    /// deadlock, at most [`MAX_RETRIES`] times and within the busy timeout,
    /// after a short random pause that grows with each try (so two
    /// transactions that deadlocked do not meet again in step).
    ///
    /// Safe only where `attempt` is one whole transaction (or one statement
    /// in autocommit after nothing but reads): PostgreSQL has rolled all of
    /// it back when it reports either error, so running it again cannot apply
    /// anything twice, and the ids it inserts were chosen before the first
    /// attempt, so a retry does not turn into a duplicate. Never wrapped
    /// around a caller's closure (imports) or a lost connection (`IO`: the
    /// commit may have happened).
    fn retrying<T>(&self, mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
        let deadline = Instant::now() + self.busy_timeout;
        let mut tries = 0;
        loop {
            match attempt() {
                Err(e) if is_retryable(&e) && tries < MAX_RETRIES && Instant::now() < deadline => {
                    tries += 1;
                    let cap = 1u64 << tries.min(6);
                    let jitter = std::collections::hash_map::RandomState::new().hash_one(tries) % (cap * 1000);
                    std::thread::sleep(Duration::from_micros(cap * 1000 + jitter));
                }
                Err(Error::Busy(m)) if tries > 0 => {
                    return Err(Error::Busy(format!("{m}; ran the transaction {} times", tries + 1)));
                }
                r => return r,
            }
        }
    }

    /// Runs `f` once more, on freshly prepared statements, when a cached
    /// statement went stale under it (see [`cache`]). Only for operations
    /// that can run again: a transaction that rolled back, or statements that
    /// failed before changing anything.
    fn again<T>(&self, c: &mut Conn, mut f: impl FnMut(&mut Cached) -> Result<T>) -> Result<T> {
        // A mark left by an operation that is not run again (export, import).
        c.take_stale();
        match f(c) {
            Err(_) if c.take_stale() => self.named(f(c)),
            r => self.named(r),
        }
    }

    /// Runs `f` on a pooled connection, each statement on its own, again on
    /// a serialization failure or deadlock: `f` runs at most one writing
    /// statement, last (each statement commits on its own here), so a failed
    /// attempt left nothing behind.
    fn read<T>(&self, mut f: impl FnMut(&mut Session<'_, postgres::Client>) -> Result<T>) -> Result<T> {
        self.retrying(|| {
            let mut c = self.conn()?;
            self.again(&mut c, |c| f(&mut c.session()))
        })
    }

    /// Runs `f` on one read-only snapshot (REPEATABLE READ).
    fn snapshot<T>(&self, mut f: impl FnMut(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T>) -> Result<T> {
        let mut c = self.conn()?;
        self.again(&mut c, |c| in_snapshot(c, &mut f))
    }

    /// Runs `f` in one transaction; commits on `Ok`, rolls back otherwise,
    /// and runs it again on a serialization failure or deadlock.
    fn write<T>(&self, mut f: impl FnMut(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T>) -> Result<T> {
        self.retrying(|| {
            let mut c = self.conn()?;
            self.again(&mut c, |c| {
                let (client, stmts) = c.parts();
                let mut tx = client.transaction()?;
                let out = f(&mut Session::new(&mut tx, stmts))?;
                tx.commit()?;
                Ok(out)
            })
        })
    }

    pub(crate) fn create_project(&self, user_id: &str, new: &NewProject) -> Result<Project> {
        self.read(|c| repo::create_project(c, user_id, new))
    }

    pub(crate) fn get_project(&self, user_id: &str, id: &Uuid) -> Result<Project> {
        self.read(|c| repo::get_project(c, user_id, id))
    }

    pub(crate) fn list_projects(&self, user_id: &str, query: &ProjectQuery) -> Result<Page<Project>> {
        self.read(|c| repo::list_projects(c, user_id, query))
    }

    pub(crate) fn list_projects_with_avatars(
        &self,
        user_id: &str,
        query: &ProjectQuery,
    ) -> Result<Page<ProjectWithAvatars>> {
        self.snapshot(|c| repo::list_projects_with_avatars(c, user_id, query))
    }

    pub(crate) fn update_project(&self, user_id: &str, id: &Uuid, patch: &ProjectPatch) -> Result<Project> {
        self.write(|c| repo::update_project(c, user_id, id, patch))
    }

    pub(crate) fn delete_project(&self, user_id: &str, id: &Uuid) -> Result<()> {
        self.read(|c| repo::delete_project(c, user_id, id))
    }

    pub(crate) fn create_avatar(&self, user_id: &str, new: &NewAvatar) -> Result<Avatar> {
        let a = crate::repo::prepare_avatar(user_id, new)?;
        self.read(|c| repo::insert_avatar(c, &a))?;
        Ok(a)
    }

    pub(crate) fn create_avatars(&self, user_id: &str, new: &[NewAvatar]) -> Result<Vec<Avatar>> {
        let avatars = crate::repo::prepare_avatars(user_id, new)?;
        self.write(|c| repo::insert_avatars(c, user_id, &avatars))?;
        Ok(avatars)
    }

    pub(crate) fn get_avatar(&self, user_id: &str, id: &Uuid) -> Result<Avatar> {
        self.read(|c| repo::get_avatar(c, user_id, id))
    }

    pub(crate) fn list_avatars(&self, user_id: &str, query: &AvatarQuery) -> Result<Page<Avatar>> {
        self.read(|c| repo::list_avatars(c, user_id, query))
    }

    pub(crate) fn update_avatar(&self, user_id: &str, id: &Uuid, patch: &AvatarPatch) -> Result<Avatar> {
        self.write(|c| repo::update_avatar(c, user_id, id, patch))
    }

    pub(crate) fn delete_avatar(&self, user_id: &str, id: &Uuid) -> Result<()> {
        self.read(|c| repo::delete_avatar(c, user_id, id))
    }

    pub(crate) fn record_usage(&self, user_id: &str, id: &Uuid) -> Result<Avatar> {
        self.read(|c| repo::record_usage(c, user_id, id))
    }

    pub(crate) fn import_in<T>(&self, scope: Scope<'_>, f: impl FnOnce(&mut Importer<'_>) -> Result<T>) -> Result<T> {
        scope.validate()?;
        let mut c = self.conn()?;
        self.named((|| {
            let mut tx = Tx::begin(&mut c)?;
            let out = f(&mut Importer::postgres(tx.conn(), scope))?;
            tx.commit()?;
            Ok(out)
        })())
    }

    pub(crate) fn export_in(&self, scope: Scope<'_>, f: impl FnMut(Record) -> Result<()>) -> Result<()> {
        scope.validate()?;
        // Not run again on a stale statement (the records already handed
        // out would be handed out twice): it fails once, the next one works.
        let mut c = self.conn()?;
        self.named(in_snapshot(&mut c, |s| repo::export(s, scope.user_id(), f)))
    }

    /// Buffered on PostgreSQL for now: the records are read in one snapshot
    /// first, then handed out.
    pub(crate) fn export_iter_in(&self, scope: Scope<'_>) -> Result<ExportIter> {
        ExportIter::buffered(|push| self.export_in(scope, push))
    }

    pub(crate) fn count_in(&self, scope: Scope<'_>) -> Result<(u64, u64)> {
        scope.validate()?;
        self.snapshot(|c| repo::count(c, scope.user_id()))
    }
}

/// A transaction an [`Importer`] writes through: it needs the client itself
/// (`&mut Client`), so BEGIN and COMMIT are sent by hand, and dropping it
/// uncommitted (an error, or a panic in the caller's closure) rolls back
/// before the connection goes back to the pool.
struct Tx<'a> {
    client: &'a mut Cached,
    open: bool,
}

impl<'a> Tx<'a> {
    fn begin(client: &'a mut Cached) -> Result<Tx<'a>> {
        client.batch_execute("BEGIN")?;
        Ok(Tx { client, open: true })
    }

    fn conn(&mut self) -> &mut Cached {
        self.client
    }

    fn commit(mut self) -> Result<()> {
        self.open = false;
        Ok(self.client.batch_execute("COMMIT")?)
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

/// True for the `BUSY` of a serialization failure or a deadlock: the
/// transaction was rolled back whole and may simply be run again.
fn is_retryable(e: &Error) -> bool {
    matches!(e, Error::Busy(m) if m.ends_with(SERIALIZATION_TAG) || m.ends_with(DEADLOCK_TAG))
}

const SERIALIZATION_TAG: &str = "(SQLSTATE 40001)";
const DEADLOCK_TAG: &str = "(SQLSTATE 40P01)";

impl From<postgres::Error> for Error {
    /// By SQLSTATE, so that the codes match SQLite's: a duplicate key is
    /// `CONFLICT`, a lock or serialization failure `BUSY`, a lost or refused
    /// connection `IO` (the store adds the server, never the password).
    fn from(e: postgres::Error) -> Self {
        let text = with_causes(&e);
        let Some(code) = e.code() else {
            // No SQLSTATE: the connection failed or was lost (IO), or a value
            // did not convert (a bug or a drifted column type: INTERNAL).
            let io = e.is_closed()
                || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
                || text.starts_with("error connecting")
                || text.contains("timed out");
            return if io { Error::Io { path: String::new(), message: text } } else { Error::Internal(text) };
        };
        let detail = e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| text.clone());
        match code {
            c if *c == SqlState::UNIQUE_VIOLATION => {
                Error::Conflict(format!("a record with the same key already exists ({detail})"))
            }
            c if *c == SqlState::FOREIGN_KEY_VIOLATION => Error::Conflict(format!(
                "the write refers to a record that does not exist, or removes one that others refer to ({detail})"
            )),
            c if *c == SqlState::NOT_NULL_VIOLATION => Error::Internal(format!(
                "{detail}: the database has a NOT NULL column this version of avatar-store does not fill; \
                 its schema has drifted (run `avatar-store doctor`)"
            )),
            // A read-only store's session (or a standby server) refuses the
            // write: like a read-only SQLite file, an I/O error naming the database.
            c if *c == SqlState::READ_ONLY_SQL_TRANSACTION => Error::Io {
                path: String::new(),
                message: format!("the database refused a write ({detail}): a read-only store or a standby server"),
            },
            // Tagged with their SQLSTATE: PgStore::retrying runs these again.
            c if *c == SqlState::T_R_SERIALIZATION_FAILURE => Error::Busy(format!("{detail} {SERIALIZATION_TAG}")),
            c if *c == SqlState::T_R_DEADLOCK_DETECTED => Error::Busy(format!("{detail} {DEADLOCK_TAG}")),
            // A lock held past the busy timeout (lock_timeout), or a statement
            // past the statement timeout: the database did not answer in the
            // time the application allows, as SQLite's "database is busy".
            // Not run again: the caller's time is already spent.
            c if *c == SqlState::LOCK_NOT_AVAILABLE => Error::Busy(detail),
            c if *c == SqlState::QUERY_CANCELED && detail.contains("statement timeout") => Error::Busy(format!(
                "{detail} (the statement ran past the statementTimeout option and was cancelled; \
                 its transaction was rolled back)"
            )),
            c if *c == SqlState::QUERY_CANCELED => Error::Busy(detail),
            c if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || *c == SqlState::CONNECTION_EXCEPTION
                || *c == SqlState::CONNECTION_FAILURE
                || *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
                || *c == SqlState::INVALID_CATALOG_NAME =>
            {
                Error::Io { path: String::new(), message: detail }
            }
            // rust-postgres shows a server error as "db error": the server's message says which.
            _ => Error::Internal(format!("{text}: {detail}")),
        }
    }
}

/// Runs `f` in one read-only REPEATABLE READ transaction on `c`: every
/// statement of it sees the same snapshot.
fn in_snapshot<T>(
    c: &mut Cached,
    f: impl FnOnce(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T>,
) -> Result<T> {
    let (client, stmts) = c.parts();
    let mut tx =
        client.build_transaction().read_only(true).isolation_level(postgres::IsolationLevel::RepeatableRead).start()?;
    let out = f(&mut Session::new(&mut tx, stmts))?;
    tx.commit()?;
    Ok(out)
}
