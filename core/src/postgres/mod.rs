//! The PostgreSQL backend: a [`PgStore`] behind [`crate::Store`] when it is
//! opened with a `postgres://` or `postgresql://` URL.
//!
//! The core is synchronous, so this uses the `postgres` crate (rust-postgres'
//! blocking client) with an r2d2 pool. Every pooled connection works in the
//! store's schema (`search_path`), and waits on locks for at most the busy
//! timeout (`lock_timeout`), so a lock held too long is `BUSY`, as on SQLite.
//!
//! Not yet supported here, each failing with an [`Error::Internal`] that says
//! so: backup and read-only opening (see [`unsupported`]).

mod cache;
mod migrate;
pub(crate) mod repo;
mod schema;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Config, NoTls};
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
type Manager = Caching<PostgresConnectionManager<NoTls>>;
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
        Some(url) => match url.parse::<Config>() {
            Ok(c) => describe(&c),
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

/// A store on a PostgreSQL database.
pub(crate) struct PgStore {
    pool: Pool,
    /// Clears every pooled connection's prepared statements after this
    /// store changed the schema.
    statements: Epoch,
    target: String,
    schema: String,
    migration: MigrationOutcome,
    /// The schema this build's migrations produce, read once per store.
    expected: OnceLock<crate::schema::Schema>,
}

/// Sets up every pooled connection: the store's schema first in the search
/// path, and lock waits bounded by the busy timeout.
#[derive(Debug)]
struct Setup {
    schema: String,
    lock_timeout: Duration,
}

impl r2d2::CustomizeConnection<Cached, postgres::Error> for Setup {
    fn on_acquire(&self, c: &mut Cached) -> std::result::Result<(), postgres::Error> {
        c.batch_execute(&format!(
            "SET search_path TO {}; SET lock_timeout = {}",
            quote(&self.schema),
            self.lock_timeout.as_millis().max(1)
        ))
    }
}

impl PgStore {
    pub(crate) fn open(url: &str, options: &OpenOptions) -> Result<PgStore> {
        // The parser's own message could quote the URL, password included.
        let mut config: Config = url.parse().map_err(|_| {
            Error::validation(
                "url",
                "not a valid PostgreSQL URL (expected postgresql://user:password@host:port/database?options)",
            )
        })?;
        let target = describe(&config);
        if options.read_only {
            return Err(unsupported("read-only open"));
        }
        let timeout = options.busy_timeout.max(Duration::from_millis(100));
        config.connect_timeout(timeout);
        let schema = options.schema.clone().unwrap_or_else(|| DEFAULT_SCHEMA.to_owned());
        let manager = Caching::new(PostgresConnectionManager::new(config, NoTls));
        let statements = manager.epoch();
        let pool = r2d2::Pool::builder()
            .max_size(options.readers + 1)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            .connection_customizer(Box::new(Setup { schema: schema.clone(), lock_timeout: options.busy_timeout }))
            .build_unchecked(manager);
        let mut store = PgStore {
            pool,
            statements,
            target,
            schema,
            migration: MigrationOutcome::default(),
            expected: OnceLock::new(),
        };
        let mut conn = store.conn()?;
        let status = store.named(migrate::status(&mut **conn, &store.schema))?;
        crate::migrate::check_compatible(&status)?;
        store.migration = if options.migrate && !status.pending.is_empty() {
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
                    Error::Io { path: self.target.clone(), message: format!("cannot connect: {cause}") }
                }
            }
        })
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
                let e = self.named(schema::expected(c))?;
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
        let mut c = self.conn()?;
        let exp = self.expected(&mut c)?;
        self.named((|| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&migrate::lock_key(&self.schema)])?;
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

    pub(crate) fn backup(&self, _dest: impl AsRef<Path>) -> Result<()> {
        Err(unsupported("backup (use pg_dump)"))
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

    /// Runs `f` on a pooled connection, each statement on its own.
    fn read<T>(&self, mut f: impl FnMut(&mut Session<'_, postgres::Client>) -> Result<T>) -> Result<T> {
        let mut c = self.conn()?;
        self.again(&mut c, |c| f(&mut c.session()))
    }

    /// Runs `f` on one read-only snapshot (REPEATABLE READ).
    fn snapshot<T>(&self, mut f: impl FnMut(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T>) -> Result<T> {
        let mut c = self.conn()?;
        self.again(&mut c, |c| {
            let (client, stmts) = c.parts();
            let mut tx = client
                .build_transaction()
                .read_only(true)
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .start()?;
            let out = f(&mut Session::new(&mut tx, stmts))?;
            tx.commit()?;
            Ok(out)
        })
    }

    /// Runs `f` in one transaction; commits on `Ok`, rolls back otherwise.
    fn write<T>(&self, mut f: impl FnMut(&mut Session<'_, postgres::Transaction<'_>>) -> Result<T>) -> Result<T> {
        let mut c = self.conn()?;
        self.again(&mut c, |c| {
            let (client, stmts) = c.parts();
            let mut tx = client.transaction()?;
            let out = f(&mut Session::new(&mut tx, stmts))?;
            tx.commit()?;
            Ok(out)
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
        self.named((|| {
            let (client, stmts) = c.parts();
            let mut tx = client
                .build_transaction()
                .read_only(true)
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .start()?;
            repo::export(&mut Session::new(&mut tx, stmts), scope.user_id(), f)?;
            tx.commit()?;
            Ok(())
        })())
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

/// The error of an operation the PostgreSQL backend does not implement yet.
pub(crate) fn unsupported(op: &str) -> Error {
    Error::Internal(format!("not yet supported on PostgreSQL: {op}"))
}

impl From<postgres::Error> for Error {
    /// By SQLSTATE, so that the codes match SQLite's: a duplicate key is
    /// `CONFLICT`, a lock or serialization failure `BUSY`, a lost or refused
    /// connection `IO` (the store adds the server, never the password).
    fn from(e: postgres::Error) -> Self {
        let text = e.to_string();
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
            c if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::LOCK_NOT_AVAILABLE =>
            {
                Error::Busy(detail)
            }
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
            _ => Error::Internal(text),
        }
    }
}
