//! Node.js binding of avatar-store (npm package `avatar-store`).
//!
//! A thin layer: arguments are checked for their JavaScript types and
//! converted ([`read`]), the core does the work ([`avatar_store::Store`]), and
//! results and errors are converted back ([`write`], [`fail`]). The native
//! `NativeStore` runs an operation named by `store.js` (the package's
//! `Store`) with `run` off the JavaScript thread ([`dispatch`], [`job`]) or
//! `runSync` on the calling thread; arguments it could encode exactly arrive as JSON, and
//! results go back as records in a wire form of one string each, and counts
//! and reports as JSON ([`write`]), which `store.js` decodes.

mod dispatch;
mod export;
mod external;
mod fail;
mod job;
mod read;
mod write;

use std::path::PathBuf;
use std::sync::Arc;

use avatar_store::Write;

use napi::Env;
use napi::bindgen_prelude::{AsyncTask, Unknown, Utf16String};
use napi_derive::napi;

// Exported to JavaScript by #[napi]; public here so test builds see them used.
pub use crate::read::{input_fields, new_avatar_fields};
pub use crate::write::{avatar_fields, avatar_keys, wire_fields};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::dispatch::{Length, Now, Pending};
use crate::fail::Failure;
use crate::job::{Job, Work, block, spawn};
use crate::write::{EmbeddedMigration, Out};

type Prepared = Result<Work, Failure>;

/// The native half of a handle on one avatar-store database; store.js's
/// `Store` wraps it, encoding arguments and decoding results.
///
/// Opening runs the embedded migrations that are pending (after a backup of
/// a non-empty file) and verifies the live schema: a database missing
/// columns is refused with a `SCHEMA_DRIFT` error naming every one of them.
#[napi(js_name = "NativeStore")]
pub struct Store {
    inner: Option<Arc<avatar_store::Store>>,
}

impl Store {
    pub(crate) fn wrap(store: Arc<avatar_store::Store>) -> Self {
        Store { inner: Some(store) }
    }

    /// The core store, for an operation about to be prepared.
    fn core(&self) -> Result<Arc<avatar_store::Store>, Failure> {
        self.inner.clone().ok_or(Failure::Closed)
    }
}

fn open_work(path: Unknown, options: Option<Unknown>) -> Prepared {
    let path = read::string("path", path)?;
    let options = read::open_options(options)?;
    Ok(Box::new(move || {
        let store = if path == ":memory:" { options.open_in_memory() } else { options.open(&path) };
        let store = store.map_err(read::open_error)?;
        Ok(Out::Opened(Arc::new(store)))
    }))
}

fn opened(out: Out) -> Store {
    match out {
        Out::Opened(s) => Store::wrap(s),
        // open_work yields nothing else.
        _ => Store { inner: None },
    }
}

#[napi]
impl Store {
    /// Opens the database at `path`: a `postgresql://` (or `postgres://`)
    /// URL opens that PostgreSQL database, `":memory:"` a private in-memory
    /// one, anything else a SQLite file (created if needed); store.js's
    /// `new Store(path)`.
    #[napi(constructor, catch_unwind, ts_args_type = "path: string, options?: OpenOptions")]
    pub fn new(env: Env, path: Unknown, options: Option<Unknown>) -> napi::Result<Self> {
        block(&env, open_work(path, options)).map(opened)
    }

    /// Opens a database off the event loop; store.js's `Store.open(path)`.
    #[napi(catch_unwind, ts_args_type = "path: string, options?: OpenOptions", ts_return_type = "Promise<NativeStore>")]
    pub fn open(path: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
        spawn(open_work(path, options))
    }

    /// The database file, `null` in memory and on PostgreSQL.
    #[napi(getter, catch_unwind, ts_return_type = "string | null")]
    pub fn path(&self) -> Option<String> {
        self.inner.as_ref().and_then(|s| s.path()).map(|p| p.display().to_string())
    }

    /// The JSON of what the migration step did when this store was opened;
    /// store.js's `migrationOutcome` decodes it.
    #[napi(getter, catch_unwind, ts_return_type = "string")]
    pub fn migration_outcome(&self, env: Env) -> napi::Result<Out> {
        let store = self.core().map_err(|f| fail::into_napi(&env, f))?;
        Ok(Out::Migration(store.migration_outcome().clone()))
    }

    /// Releases the database; later calls fail with `ERR_STORE_CLOSED`.
    /// Operations already running finish first.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.inner = None;
    }

    /// The export of `userId` as a cursor over chunks of its lines.
    #[napi(catch_unwind, ts_args_type = "userId: string")]
    pub fn export_lines(&self, env: Env, user_id: Unknown) -> napi::Result<export::ExportCursor> {
        self.export_lines_inner(&env, Some(user_id))
    }

    /// Like `exportLines` for every user.
    #[napi(catch_unwind)]
    pub fn export_all_users_lines(&self, env: Env) -> napi::Result<export::ExportCursor> {
        self.export_lines_inner(&env, None)
    }

    /// Runs the operation `op` (a method name of store.js's `Store`) with
    /// the arguments `a`, `b`, `c` off the JavaScript thread: on the addon's
    /// workers ([`dispatch`]), or on libuv's pool for the operations that
    /// can run long ([`runs_long`]). `encoded` is store.js's
    /// encoding of the operation's object argument when it could encode it
    /// exactly: a new avatar in the wire form ([`read::new_avatars_wire`]),
    /// other records (arrays of new avatars too), patches and queries as
    /// JSON; the argument itself is then unread.
    /// Records resolve to their wire form, counts and reports to their JSON
    /// (see [`write`]), which store.js decodes.
    #[napi(
        catch_unwind,
        ts_args_type = "op: string, a?: unknown, b?: unknown, c?: unknown, encoded?: string",
        ts_return_type = "Promise<unknown>"
    )]
    pub fn run(
        &self,
        env: Env,
        op: String,
        a: Unknown,
        b: Unknown,
        c: Unknown,
        encoded: Option<Unknown>,
    ) -> napi::Result<Pending> {
        if runs_long(&op) {
            return job::on_pool(&env, self.work(&op, a, b, c, encoded));
        }
        if let Some(write) = self.short_write(&op, a, b, c, encoded) {
            return dispatch::spawn_write(&env, write);
        }
        // The writes on one record went above; of the rest, only the reads by
        // id are short (store.js sends those through `runRead`).
        let length = if matches!(op.as_str(), "getAvatar" | "getProject") { Length::Short } else { Length::Page };
        dispatch::spawn(&env, length, self.work(&op, a, b, c, encoded))
    }

    /// `getAvatar` or `getProject` (`op`) like `run`, except that the read
    /// may run at once on the calling thread, and the Promise be returned
    /// settled ([`dispatch::spawn_read`]). store.js passes `alone` when no
    /// other Promise of the thread is outstanding.
    #[napi(catch_unwind, ts_return_type = "Promise<unknown>")]
    pub fn run_read(&self, env: Env, op: String, a: Unknown, b: Unknown, alone: bool) -> napi::Result<Pending> {
        dispatch::spawn_read(&env, alone, self.get_read(&op, a, b))
    }

    /// Like `run`, on the calling thread.
    #[napi(
        catch_unwind,
        ts_args_type = "op: string, a?: unknown, b?: unknown, c?: unknown, encoded?: string",
        ts_return_type = "unknown"
    )]
    pub fn run_sync(
        &self,
        env: Env,
        op: String,
        a: Unknown,
        b: Unknown,
        c: Unknown,
        encoded: Option<Unknown>,
    ) -> napi::Result<Out> {
        block(&env, self.work(&op, a, b, c, encoded))
    }
}

/// Operations over the whole database or a file, which can take seconds:
/// they run on libuv's pool, so that the addon's few workers stay free for
/// the calls on single records and pages.
fn runs_long(op: &str) -> bool {
    matches!(
        op,
        "checkSchema"
            | "repair"
            | "migrationStatus"
            | "migrate"
            | "backup"
            | "exportTo"
            | "exportAllUsersTo"
            | "importFrom"
            | "importAllUsersFrom"
    )
}

/// A write on one record, its arguments read and checked: run alone
/// ([`alone`]), or by the dispatcher together with the writes queued behind
/// it ([`dispatch::spawn_write`]).
type PreparedWrite = Result<(Arc<avatar_store::Store>, Write), Failure>;

/// The write as work of its own: the same as calling its method.
fn alone(prepared: PreparedWrite) -> Prepared {
    let (s, write) = prepared?;
    Ok(Box::new(move || s.write(&write).map(Out::from)))
}

/// Conversion of each operation's arguments, and the core call it makes.
impl Store {
    /// The write on one record that store.js names `op`, if it is one.
    fn short_write(
        &self,
        op: &str,
        a: Unknown,
        b: Unknown,
        c: Unknown,
        encoded: Option<Unknown>,
    ) -> Option<PreparedWrite> {
        let json = || read::encoded_json(encoded);
        Some(match op {
            "createProject" => json().and_then(|j| self.create_project_write(a, b, j)),
            "updateProject" => json().and_then(|j| self.update_project_write(a, b, c, j)),
            "createAvatar" => read::encoded_wire(encoded).and_then(|w| self.create_avatar_write(a, b, w)),
            "updateAvatar" => json().and_then(|j| self.update_avatar_write(a, b, c, j)),
            "deleteAvatar" => self.delete_avatar_write(a, b),
            "recordUsage" => self.record_usage_write(a, b),
            _ => return None,
        })
    }

    /// The operation store.js names `op`, its arguments read and checked.
    fn work(&self, op: &str, a: Unknown, b: Unknown, c: Unknown, encoded: Option<Unknown>) -> Prepared {
        if let Some(write) = self.short_write(op, a, b, c, encoded) {
            return alone(write);
        }
        let json = || read::encoded_json(encoded);
        match op {
            "checkSchema" => self.check_schema_work(),
            "repair" => self.repair_work(),
            "migrationStatus" => self.migration_status_work(),
            "migrate" => self.migrate_work(),
            "backup" => self.backup_work(a),
            "count" => self.count_work(Some(a)),
            "countAllUsers" => self.count_work(None),
            "exportTo" => self.export_to_work(Some(a), b),
            "exportAllUsersTo" => self.export_to_work(None, a),
            "importFrom" => self.import_from_work(Some(a), b),
            "importAllUsersFrom" => self.import_from_work(None, a),
            "getProject" => self.get_project_work(a, b),
            "listProjects" => self.list_projects_work(a, Some(b), json()?, false),
            "listProjectsWithAvatars" => self.list_projects_work(a, Some(b), json()?, true),
            "deleteProject" => self.delete_project_work(a, b),
            "createAvatars" => self.create_avatars_work(a, b, json()?),
            "getAvatar" => self.get_avatar_work(a, b),
            "listAvatars" => self.list_avatars_work(a, Some(b), json()?),
            _ => Err(Failure::Core(avatar_store::Error::Internal(format!(
                "store.js asked for an unknown operation {op:?}"
            )))),
        }
    }

    fn check_schema_work(&self) -> Prepared {
        let s = self.core()?;
        Ok(Box::new(move || s.check_schema().map(Out::Report)))
    }

    fn repair_work(&self) -> Prepared {
        let s = self.core()?;
        Ok(Box::new(move || s.repair().map(Out::Repair)))
    }

    fn migration_status_work(&self) -> Prepared {
        let s = self.core()?;
        Ok(Box::new(move || s.migration_status().map(Out::Status)))
    }

    fn migrate_work(&self) -> Prepared {
        let s = self.core()?;
        Ok(Box::new(move || s.migrate().map(Out::Migration)))
    }

    fn backup_work(&self, dest: Unknown) -> Prepared {
        let s = self.core()?;
        let dest = PathBuf::from(read::string("dest", dest)?);
        Ok(Box::new(move || s.backup(&dest).map(|_| Out::Unit)))
    }

    /// `None`: every user (`countAllUsers`); a missing `userId` is a
    /// `TypeError`, never every user.
    fn count_work(&self, user_id: Option<Unknown>) -> Prepared {
        let s = self.core()?;
        let user = user_id.map(|v| read::string("userId", v)).transpose()?;
        Ok(Box::new(move || {
            match &user {
                Some(u) => s.count(u),
                None => s.count_all_users(),
            }
            .map(|(p, a)| Out::Counts(p, a))
        }))
    }

    fn export_lines_inner(&self, env: &Env, user_id: Option<Unknown>) -> napi::Result<export::ExportCursor> {
        let prepared = (|| {
            let user = user_id.map(|v| read::string("userId", v)).transpose()?;
            export::cursor(self.core()?, user)
        })();
        prepared.map_err(|f| fail::into_napi(env, f))
    }

    /// `None`: every user (`exportAllUsersTo`).
    fn export_to_work(&self, user_id: Option<Unknown>, path: Unknown) -> Prepared {
        let s = self.core()?;
        let user = user_id.map(|v| read::string("userId", v)).transpose()?;
        let path = PathBuf::from(read::string("path", path)?);
        Ok(Box::new(move || {
            let scope = user.as_deref().map_or(avatar_store::Scope::AllUsers, avatar_store::Scope::User);
            avatar_store::transfer::export_to_path(&s, scope, &path).map(|(p, a)| Out::Counts(p, a))
        }))
    }

    /// `None`: every user (`importAllUsersFrom`).
    fn import_from_work(&self, user_id: Option<Unknown>, path: Unknown) -> Prepared {
        let s = self.core()?;
        let user = user_id.map(|v| read::string("userId", v)).transpose()?;
        let path = PathBuf::from(read::string("path", path)?);
        Ok(Box::new(move || {
            let scope = user.as_deref().map_or(avatar_store::Scope::AllUsers, avatar_store::Scope::User);
            avatar_store::transfer::import_from_path(&s, scope, &path).map(|(p, a)| Out::Counts(p, a))
        }))
    }

    fn create_project_write(&self, user_id: Unknown, project: Unknown, json: Option<String>) -> PreparedWrite {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let project = read::new_project(project, json)?;
        Ok((s, Write::CreateProject { user_id: user, project }))
    }

    fn get_project_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.get_project(&user, &id).map(Out::Project)))
    }

    fn list_projects_work(
        &self,
        user_id: Unknown,
        query: Option<Unknown>,
        json: Option<String>,
        with_avatars: bool,
    ) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let q = read::project_query(query, json)?;
        Ok(if with_avatars {
            Box::new(move || s.list_projects_with_avatars(&user, &q).map(Out::ProjectsWithAvatars))
        } else {
            Box::new(move || s.list_projects(&user, &q).map(Out::Projects))
        })
    }

    fn update_project_write(
        &self,
        user_id: Unknown,
        id: Unknown,
        patch: Unknown,
        json: Option<String>,
    ) -> PreparedWrite {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        let patch = read::project_patch(patch, json)?;
        Ok((s, Write::UpdateProject { user_id: user, id, patch }))
    }

    fn delete_project_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.delete_project(&user, &id).map(|_| Out::Unit)))
    }

    fn create_avatar_write(&self, user_id: Unknown, avatar: Unknown, wire: Option<Utf16String>) -> PreparedWrite {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let avatar = read::new_avatar(avatar, wire)?;
        Ok((s, Write::CreateAvatar { user_id: user, avatar }))
    }

    fn create_avatars_work(&self, user_id: Unknown, avatars: Unknown, json: Option<String>) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let new = read::new_avatars(avatars, json)?;
        Ok(Box::new(move || s.create_avatars(&user, &new).map(Out::Avatars)))
    }

    /// `getAvatar` or `getProject` as a read that may run at once on the
    /// JavaScript thread when it needs no wait ([`dispatch::spawn_read`]),
    /// and as the same read for a worker otherwise.
    fn get_read(&self, op: &str, user_id: Unknown, id: Unknown) -> Result<(Now, Work), Failure> {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        let (now_s, now_user) = (Arc::clone(&s), user.clone());
        Ok(if op == "getAvatar" {
            (
                Box::new(move || now_s.try_get_avatar_now(&now_user, &id).map(|r| r.map(Out::Avatar))),
                Box::new(move || s.get_avatar(&user, &id).map(Out::Avatar)),
            )
        } else {
            (
                Box::new(move || now_s.try_get_project_now(&now_user, &id).map(|r| r.map(Out::Project))),
                Box::new(move || s.get_project(&user, &id).map(Out::Project)),
            )
        })
    }

    fn get_avatar_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.get_avatar(&user, &id).map(Out::Avatar)))
    }

    fn list_avatars_work(&self, user_id: Unknown, query: Option<Unknown>, json: Option<String>) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let q = read::avatar_query(query, json)?;
        Ok(Box::new(move || s.list_avatars(&user, &q).map(Out::AvatarPage)))
    }

    fn update_avatar_write(
        &self,
        user_id: Unknown,
        id: Unknown,
        patch: Unknown,
        json: Option<String>,
    ) -> PreparedWrite {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        let patch = read::avatar_patch(patch, json)?;
        Ok((s, Write::UpdateAvatar { user_id: user, id, patch }))
    }

    fn delete_avatar_write(&self, user_id: Unknown, id: Unknown) -> PreparedWrite {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok((s, Write::DeleteAvatar { user_id: user, id }))
    }

    fn record_usage_write(&self, user_id: Unknown, id: Unknown) -> PreparedWrite {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok((s, Write::RecordUsage { user_id: user, id }))
    }
}

// ---------------------------------------------------------------- module

/// The migrations compiled into this build, in version order.
#[napi(catch_unwind)]
pub fn embedded_migrations() -> Vec<EmbeddedMigration> {
    avatar_store::embedded_migrations()
        .into_iter()
        .map(|m| EmbeddedMigration { version: m.version, name: m.name, checksum: m.checksum, sql: m.sql })
        .collect()
}

/// Highest migration version this build knows.
#[napi(catch_unwind)]
pub fn latest_version() -> i32 {
    avatar_store::latest_version()
}

/// `path` as it may be shown in logs and messages: a PostgreSQL URL without
/// its password (nor any option, which could hold one), a file path as it is.
#[napi(catch_unwind)]
pub fn display_database(path: String) -> String {
    avatar_store::display_database(std::path::Path::new(&path))
}

fn inspect_work(path: Unknown) -> Prepared {
    let path = PathBuf::from(read::string("path", path)?);
    Ok(Box::new(move || avatar_store::inspect(&path).map(Out::Status)))
}

/// Reads the migration status of a database file without changing it, so
/// that a newer or edited database can be inspected too. Resolves to its
/// JSON, which store.js's `inspect` decodes.
#[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "Promise<string>")]
pub fn inspect(path: Unknown) -> AsyncTask<Job> {
    spawn(inspect_work(path))
}

/// Synchronous `inspect(path)`.
#[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "string")]
pub fn inspect_sync(env: Env, path: Unknown) -> napi::Result<Out> {
    block(&env, inspect_work(path))
}

fn restore_work(backup: Unknown, db: Unknown, options: Option<Unknown>) -> Prepared {
    let backup = PathBuf::from(read::string("backupFile", backup)?);
    let db = PathBuf::from(read::string("db", db)?);
    let force = match read::optional(options)? {
        Some(v) => read::Props::new("options", v, &["force"])?.bool("force")?.unwrap_or(false),
        None => false,
    };
    Ok(Box::new(move || avatar_store::restore(&backup, &db, force).map(Out::Restore)))
}

/// Replaces the database at `db` with a verified backup; an existing
/// database is replaced only with `force: true`, after a copy of it is kept.
/// No `Store` may have `db` open meanwhile. Resolves to the outcome's JSON,
/// which store.js's `restore` decodes.
#[napi(
    catch_unwind,
    ts_args_type = "backupFile: string, db: string, options?: { force?: boolean }",
    ts_return_type = "Promise<string>"
)]
pub fn restore(backup_file: Unknown, db: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
    spawn(restore_work(backup_file, db, options))
}

/// Synchronous `restore(backupFile, db, options)`.
#[napi(
    catch_unwind,
    ts_args_type = "backupFile: string, db: string, options?: { force?: boolean }",
    ts_return_type = "string"
)]
pub fn restore_sync(env: Env, backup_file: Unknown, db: Unknown, options: Option<Unknown>) -> napi::Result<Out> {
    block(&env, restore_work(backup_file, db, options))
}

/// Panics inside the guarded region on the calling thread, so the tests can
/// prove that a panic becomes an `INTERNAL` error and the process survives.
/// Not part of the package's API: `index.js` does not export it, and only
/// builds with the `test-hooks` feature (test.sh) have it.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__panicForTests", skip_typescript)]
pub fn panic_for_tests(env: Env) -> napi::Result<Out> {
    block(&env, Ok(Box::new(|| panic!("deliberate panic for the tests"))))
}

/// Like `__panicForTests`, on a worker of the Promise methods: the Promise
/// rejects.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__panicForTestsAsync", skip_typescript)]
pub fn panic_for_tests_async(env: Env) -> napi::Result<Pending> {
    dispatch::spawn(&env, Length::Short, Ok(Box::new(|| panic!("deliberate panic for the tests"))))
}

/// Like `__panicForTests`, on libuv's pool (the long operations' road).
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__panicForTestsPool", skip_typescript)]
pub fn panic_for_tests_pool(env: Env) -> napi::Result<Pending> {
    job::on_pool(&env, Ok(Box::new(|| panic!("deliberate panic for the tests"))))
}

/// How many record strings the Promise methods have made external so far
/// (src/external.rs), so the tests can tell that road is taken.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__externalStringsForTests", skip_typescript)]
pub fn external_strings_for_tests() -> f64 {
    external::made() as f64
}

/// Keeps every worker of the Promise methods busy for `ms` milliseconds, so
/// that calls made meanwhile wait in the queue (the dispatcher's tests).
/// Each worker takes one of the returned Promises' calls.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__holdWorkersForTests", skip_typescript)]
pub fn hold_workers_for_tests(env: Env, ms: u32) -> napi::Result<Vec<Pending>> {
    dispatch::hold_workers(&env, std::time::Duration::from_millis(ms.into()))
}
