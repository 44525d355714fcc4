//! Node.js binding of avatar-store (npm package `avatar-store`).
//!
//! A thin layer: arguments are checked for their JavaScript types and
//! converted ([`read`]), the core does the work ([`avatar_store::Store`]), and
//! results and errors are converted back ([`write`], [`fail`]). Every
//! operation exists twice: `name()` returns a Promise and runs on the libuv
//! thread pool, `nameSync()` runs on the calling thread ([`job`]).

mod codec;
mod export;
mod fail;
mod job;
mod read;
mod write;

use std::path::PathBuf;
use std::sync::Arc;

use napi::Env;
use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi_derive::napi;

// Exported to JavaScript by #[napi]; public here so test builds see them used.
pub use crate::codec::{avatar_fields, avatar_keys, set_codec};
pub use crate::read::new_avatar_fields;

use crate::fail::Failure;
use crate::job::{Job, Work, block, spawn};
use crate::write::{EmbeddedMigration, Out};

type Prepared = Result<Work, Failure>;

/// A handle on one avatar-store database.
///
/// Opening runs the embedded migrations that are pending (after a backup of
/// a non-empty file) and verifies the live schema: a database missing
/// columns is refused with a `SCHEMA_DRIFT` error naming every one of them.
#[napi]
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
    /// Opens (creating if needed) the database file at `path`, or a private
    /// in-memory database for `":memory:"`. Blocks while migrating; prefer
    /// `await Store.open(path)` in a server.
    #[napi(constructor, catch_unwind, ts_args_type = "path: string, options?: OpenOptions")]
    pub fn new(env: Env, path: Unknown, options: Option<Unknown>) -> napi::Result<Self> {
        block(&env, open_work(path, options)).map(opened)
    }

    /// Opens a database like `new Store(path, options)`, off the event loop.
    #[napi(catch_unwind, ts_args_type = "path: string, options?: OpenOptions", ts_return_type = "Promise<Store>")]
    pub fn open(path: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
        spawn(open_work(path, options))
    }

    /// The database file, `null` in memory.
    #[napi(getter, catch_unwind, ts_return_type = "string | null")]
    pub fn path(&self) -> Option<String> {
        self.inner.as_ref().and_then(|s| s.path()).map(|p| p.display().to_string())
    }

    /// What the migration step did when this store was opened.
    #[napi(getter, catch_unwind, ts_return_type = "MigrationOutcome")]
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

    // ------------------------------------------------------------ schema

    /// Compares the live schema with the one this build expects.
    #[napi(catch_unwind, ts_return_type = "Promise<SchemaReport>")]
    pub fn check_schema(&self) -> AsyncTask<Job> {
        spawn(self.check_schema_work())
    }

    /// Synchronous `checkSchema()`.
    #[napi(catch_unwind, ts_return_type = "SchemaReport")]
    pub fn check_schema_sync(&self, env: Env) -> napi::Result<Out> {
        block(&env, self.check_schema_work())
    }

    /// Repairs additive drift (missing nullable columns, missing indexes) in
    /// one transaction after a backup; reports what it left alone.
    #[napi(catch_unwind, ts_return_type = "Promise<RepairOutcome>")]
    pub fn repair(&self) -> AsyncTask<Job> {
        spawn(self.repair_work())
    }

    /// Synchronous `repair()`.
    #[napi(catch_unwind, ts_return_type = "RepairOutcome")]
    pub fn repair_sync(&self, env: Env) -> napi::Result<Out> {
        block(&env, self.repair_work())
    }

    /// Applied and pending migrations of this database.
    #[napi(catch_unwind, ts_return_type = "Promise<MigrationStatus>")]
    pub fn migration_status(&self) -> AsyncTask<Job> {
        spawn(self.migration_status_work())
    }

    /// Synchronous `migrationStatus()`.
    #[napi(catch_unwind, ts_return_type = "MigrationStatus")]
    pub fn migration_status_sync(&self, env: Env) -> napi::Result<Out> {
        block(&env, self.migration_status_work())
    }

    /// Applies pending migrations now (for stores opened with `migrate: false`).
    #[napi(catch_unwind, ts_return_type = "Promise<MigrationOutcome>")]
    pub fn migrate(&self) -> AsyncTask<Job> {
        spawn(self.migrate_work())
    }

    /// Synchronous `migrate()`.
    #[napi(catch_unwind, ts_return_type = "MigrationOutcome")]
    pub fn migrate_sync(&self, env: Env) -> napi::Result<Out> {
        block(&env, self.migrate_work())
    }

    /// Writes a consistent copy of the database to `dest`, which must not exist.
    #[napi(catch_unwind, ts_args_type = "dest: string", ts_return_type = "Promise<void>")]
    pub fn backup(&self, dest: Unknown) -> AsyncTask<Job> {
        spawn(self.backup_work(dest))
    }

    /// Synchronous `backup(dest)`.
    #[napi(catch_unwind, ts_args_type = "dest: string", ts_return_type = "void")]
    pub fn backup_sync(&self, env: Env, dest: Unknown) -> napi::Result<Out> {
        block(&env, self.backup_work(dest))
    }

    /// Numbers of projects and avatars of `userId`.
    #[napi(catch_unwind, ts_args_type = "userId: string", ts_return_type = "Promise<Counts>")]
    pub fn count(&self, user_id: Unknown) -> AsyncTask<Job> {
        spawn(self.count_work(Some(user_id)))
    }

    /// Synchronous `count(userId)`.
    #[napi(catch_unwind, ts_args_type = "userId: string", ts_return_type = "Counts")]
    pub fn count_sync(&self, env: Env, user_id: Unknown) -> napi::Result<Out> {
        block(&env, self.count_work(Some(user_id)))
    }

    /// Numbers of projects and avatars of every user together: for operators,
    /// never for a request made on behalf of one user.
    #[napi(catch_unwind, ts_return_type = "Promise<Counts>")]
    pub fn count_all_users(&self) -> AsyncTask<Job> {
        spawn(self.count_work(None))
    }

    /// Synchronous `countAllUsers()`.
    #[napi(catch_unwind, ts_return_type = "Counts")]
    pub fn count_all_users_sync(&self, env: Env) -> napi::Result<Out> {
        block(&env, self.count_work(None))
    }

    /// Writes the export of `userId` in the export format (versioned JSON
    /// Lines: header, records from one snapshot, end line) to a new file at
    /// `path`; a file already there is a `CONFLICT`, never replaced.
    #[napi(catch_unwind, ts_args_type = "userId: string, path: string", ts_return_type = "Promise<Counts>")]
    pub fn export_to(&self, user_id: Unknown, path: Unknown) -> AsyncTask<Job> {
        spawn(self.export_to_work(Some(user_id), path))
    }

    /// Synchronous `exportTo(userId, path)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, path: string", ts_return_type = "Counts")]
    pub fn export_to_sync(&self, env: Env, user_id: Unknown, path: Unknown) -> napi::Result<Out> {
        block(&env, self.export_to_work(Some(user_id), path))
    }

    /// Like `exportTo` for every user: whole-database transfer, for operators.
    #[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "Promise<Counts>")]
    pub fn export_all_users_to(&self, path: Unknown) -> AsyncTask<Job> {
        spawn(self.export_to_work(None, path))
    }

    /// Synchronous `exportAllUsersTo(path)`.
    #[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "Counts")]
    pub fn export_all_users_to_sync(&self, env: Env, path: Unknown) -> napi::Result<Out> {
        block(&env, self.export_to_work(None, path))
    }

    /// The export of `userId` in the export format, as an async iterator
    /// of its lines (header, records from one snapshot, end line), each
    /// ending in `\n`: `for await (const line of store.exportLines(userId))`,
    /// or `stream.Readable.from(store.exportLines(userId))` to pipe it.
    /// Leaving the loop early frees its reader connection.
    #[napi(catch_unwind, ts_args_type = "userId: string")]
    pub fn export_lines(&self, env: Env, user_id: Unknown) -> napi::Result<export::ExportCursor> {
        self.export_lines_inner(&env, Some(user_id))
    }

    /// Like `exportLines` for every user: whole-database transfer, for operators.
    #[napi(catch_unwind)]
    pub fn export_all_users_lines(&self, env: Env) -> napi::Result<export::ExportCursor> {
        self.export_lines_inner(&env, None)
    }

    /// Imports a file in the export format for `userId`: every line is
    /// checked before anything is written, then all records are written in
    /// one transaction. A bad line rejects with `line` (and `field` for
    /// `VALIDATION`) set, and nothing is written.
    #[napi(catch_unwind, ts_args_type = "userId: string, path: string", ts_return_type = "Promise<Counts>")]
    pub fn import_from(&self, user_id: Unknown, path: Unknown) -> AsyncTask<Job> {
        spawn(self.import_from_work(Some(user_id), path))
    }

    /// Synchronous `importFrom(userId, path)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, path: string", ts_return_type = "Counts")]
    pub fn import_from_sync(&self, env: Env, user_id: Unknown, path: Unknown) -> napi::Result<Out> {
        block(&env, self.import_from_work(Some(user_id), path))
    }

    /// Like `importFrom` for records of any user: whole-database transfer, for operators.
    #[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "Promise<Counts>")]
    pub fn import_all_users_from(&self, path: Unknown) -> AsyncTask<Job> {
        spawn(self.import_from_work(None, path))
    }

    /// Synchronous `importAllUsersFrom(path)`.
    #[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "Counts")]
    pub fn import_all_users_from_sync(&self, env: Env, path: Unknown) -> napi::Result<Out> {
        block(&env, self.import_from_work(None, path))
    }

    // ---------------------------------------------------------- projects

    /// Creates a project owned by `userId`.
    #[napi(catch_unwind, ts_args_type = "userId: string, project: NewProject", ts_return_type = "Promise<Project>")]
    pub fn create_project(&self, user_id: Unknown, project: Unknown) -> AsyncTask<Job> {
        spawn(self.create_project_work(user_id, project))
    }

    /// Synchronous `createProject(userId, project)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, project: NewProject", ts_return_type = "Project")]
    pub fn create_project_sync(&self, env: Env, user_id: Unknown, project: Unknown) -> napi::Result<Out> {
        block(&env, self.create_project_work(user_id, project))
    }

    /// Reads a project of `userId`; another user's project is `NOT_FOUND`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Promise<Project>")]
    pub fn get_project(&self, user_id: Unknown, id: Unknown) -> AsyncTask<Job> {
        spawn(self.get_project_work(user_id, id))
    }

    /// Synchronous `getProject(userId, id)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Project")]
    pub fn get_project_sync(&self, env: Env, user_id: Unknown, id: Unknown) -> napi::Result<Out> {
        block(&env, self.get_project_work(user_id, id))
    }

    /// Lists the projects of `userId`, newest first, one page at a time.
    #[napi(
        catch_unwind,
        ts_args_type = "userId: string, query?: ProjectQuery",
        ts_return_type = "Promise<ProjectPage>"
    )]
    pub fn list_projects(&self, user_id: Unknown, query: Option<Unknown>) -> AsyncTask<Job> {
        spawn(self.list_projects_work(user_id, query, false))
    }

    /// Synchronous `listProjects(userId, query)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, query?: ProjectQuery", ts_return_type = "ProjectPage")]
    pub fn list_projects_sync(&self, env: Env, user_id: Unknown, query: Option<Unknown>) -> napi::Result<Out> {
        block(&env, self.list_projects_work(user_id, query, false))
    }

    /// Like `listProjects`, each project with its avatars (oldest first), in
    /// two queries per page whatever its size.
    #[napi(
        catch_unwind,
        ts_args_type = "userId: string, query?: ProjectQuery",
        ts_return_type = "Promise<ProjectWithAvatarsPage>"
    )]
    pub fn list_projects_with_avatars(&self, user_id: Unknown, query: Option<Unknown>) -> AsyncTask<Job> {
        spawn(self.list_projects_work(user_id, query, true))
    }

    /// Synchronous `listProjectsWithAvatars(userId, query)`.
    #[napi(
        catch_unwind,
        ts_args_type = "userId: string, query?: ProjectQuery",
        ts_return_type = "ProjectWithAvatarsPage"
    )]
    pub fn list_projects_with_avatars_sync(
        &self,
        env: Env,
        user_id: Unknown,
        query: Option<Unknown>,
    ) -> napi::Result<Out> {
        block(&env, self.list_projects_work(user_id, query, true))
    }

    /// Changes a project of `userId`: absent properties stay, `description: null` clears.
    #[napi(
        catch_unwind,
        ts_args_type = "userId: string, id: string, patch: ProjectPatch",
        ts_return_type = "Promise<Project>"
    )]
    pub fn update_project(&self, user_id: Unknown, id: Unknown, patch: Unknown) -> AsyncTask<Job> {
        spawn(self.update_project_work(user_id, id, patch))
    }

    /// Synchronous `updateProject(userId, id, patch)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string, patch: ProjectPatch", ts_return_type = "Project")]
    pub fn update_project_sync(&self, env: Env, user_id: Unknown, id: Unknown, patch: Unknown) -> napi::Result<Out> {
        block(&env, self.update_project_work(user_id, id, patch))
    }

    /// Deletes a project of `userId` and, by cascade, its avatars.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Promise<void>")]
    pub fn delete_project(&self, user_id: Unknown, id: Unknown) -> AsyncTask<Job> {
        spawn(self.delete_project_work(user_id, id))
    }

    /// Synchronous `deleteProject(userId, id)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "void")]
    pub fn delete_project_sync(&self, env: Env, user_id: Unknown, id: Unknown) -> napi::Result<Out> {
        block(&env, self.delete_project_work(user_id, id))
    }

    // ----------------------------------------------------------- avatars

    /// Creates an avatar in a project of `userId`.
    #[napi(catch_unwind, ts_args_type = "userId: string, avatar: NewAvatar", ts_return_type = "Promise<Avatar>")]
    pub fn create_avatar(&self, user_id: Unknown, avatar: Unknown) -> AsyncTask<Job> {
        spawn(self.create_avatar_work(user_id, avatar))
    }

    /// Synchronous `createAvatar(userId, avatar)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, avatar: NewAvatar", ts_return_type = "Avatar")]
    pub fn create_avatar_sync(&self, env: Env, user_id: Unknown, avatar: Unknown) -> napi::Result<Out> {
        block(&env, self.create_avatar_work(user_id, avatar))
    }

    /// Creates many avatars in one transaction: all or none, every item
    /// validated before anything is written.
    #[napi(catch_unwind, ts_args_type = "userId: string, avatars: NewAvatar[]", ts_return_type = "Promise<Avatar[]>")]
    pub fn create_avatars(&self, user_id: Unknown, avatars: Unknown) -> AsyncTask<Job> {
        spawn(self.create_avatars_work(user_id, avatars))
    }

    /// Synchronous `createAvatars(userId, avatars)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, avatars: NewAvatar[]", ts_return_type = "Avatar[]")]
    pub fn create_avatars_sync(&self, env: Env, user_id: Unknown, avatars: Unknown) -> napi::Result<Out> {
        block(&env, self.create_avatars_work(user_id, avatars))
    }

    /// Reads an avatar of `userId`; another user's avatar is `NOT_FOUND`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Promise<Avatar>")]
    pub fn get_avatar(&self, user_id: Unknown, id: Unknown) -> AsyncTask<Job> {
        spawn(self.get_avatar_work(user_id, id))
    }

    /// Synchronous `getAvatar(userId, id)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Avatar")]
    pub fn get_avatar_sync(&self, env: Env, user_id: Unknown, id: Unknown) -> napi::Result<Out> {
        block(&env, self.get_avatar_work(user_id, id))
    }

    /// Lists avatars of `userId` with filters, sort and keyset pagination.
    #[napi(catch_unwind, ts_args_type = "userId: string, query?: AvatarQuery", ts_return_type = "Promise<AvatarPage>")]
    pub fn list_avatars(&self, user_id: Unknown, query: Option<Unknown>) -> AsyncTask<Job> {
        spawn(self.list_avatars_work(user_id, query))
    }

    /// Synchronous `listAvatars(userId, query)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, query?: AvatarQuery", ts_return_type = "AvatarPage")]
    pub fn list_avatars_sync(&self, env: Env, user_id: Unknown, query: Option<Unknown>) -> napi::Result<Out> {
        block(&env, self.list_avatars_work(user_id, query))
    }

    /// Changes an avatar of `userId`: absent properties stay, `null` clears.
    #[napi(
        catch_unwind,
        ts_args_type = "userId: string, id: string, patch: AvatarPatch",
        ts_return_type = "Promise<Avatar>"
    )]
    pub fn update_avatar(&self, user_id: Unknown, id: Unknown, patch: Unknown) -> AsyncTask<Job> {
        spawn(self.update_avatar_work(user_id, id, patch))
    }

    /// Synchronous `updateAvatar(userId, id, patch)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string, patch: AvatarPatch", ts_return_type = "Avatar")]
    pub fn update_avatar_sync(&self, env: Env, user_id: Unknown, id: Unknown, patch: Unknown) -> napi::Result<Out> {
        block(&env, self.update_avatar_work(user_id, id, patch))
    }

    /// Deletes an avatar of `userId`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Promise<void>")]
    pub fn delete_avatar(&self, user_id: Unknown, id: Unknown) -> AsyncTask<Job> {
        spawn(self.delete_avatar_work(user_id, id))
    }

    /// Synchronous `deleteAvatar(userId, id)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "void")]
    pub fn delete_avatar_sync(&self, env: Env, user_id: Unknown, id: Unknown) -> napi::Result<Out> {
        block(&env, self.delete_avatar_work(user_id, id))
    }

    /// Counts one use: increments `usageCount` and sets `lastUsedAt`
    /// atomically, so concurrent callers lose no increment.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Promise<Avatar>")]
    pub fn record_usage(&self, user_id: Unknown, id: Unknown) -> AsyncTask<Job> {
        spawn(self.record_usage_work(user_id, id))
    }

    /// Synchronous `recordUsage(userId, id)`.
    #[napi(catch_unwind, ts_args_type = "userId: string, id: string", ts_return_type = "Avatar")]
    pub fn record_usage_sync(&self, env: Env, user_id: Unknown, id: Unknown) -> napi::Result<Out> {
        block(&env, self.record_usage_work(user_id, id))
    }
}

/// Conversion of each operation's arguments, and the core call it makes.
impl Store {
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

    fn create_project_work(&self, user_id: Unknown, project: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let new = read::new_project(project)?;
        Ok(Box::new(move || s.create_project(&user, &new).map(Out::Project)))
    }

    fn get_project_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.get_project(&user, &id).map(Out::Project)))
    }

    fn list_projects_work(&self, user_id: Unknown, query: Option<Unknown>, with_avatars: bool) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let q = read::project_query(query)?;
        Ok(if with_avatars {
            Box::new(move || s.list_projects_with_avatars(&user, &q).map(Out::ProjectsWithAvatars))
        } else {
            Box::new(move || s.list_projects(&user, &q).map(Out::Projects))
        })
    }

    fn update_project_work(&self, user_id: Unknown, id: Unknown, patch: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        let patch = read::project_patch(patch)?;
        Ok(Box::new(move || s.update_project(&user, &id, &patch).map(Out::Project)))
    }

    fn delete_project_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.delete_project(&user, &id).map(|_| Out::Unit)))
    }

    fn create_avatar_work(&self, user_id: Unknown, avatar: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let new = read::new_avatar(avatar)?;
        Ok(Box::new(move || s.create_avatar(&user, &new).map(Out::Avatar)))
    }

    fn create_avatars_work(&self, user_id: Unknown, avatars: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let new = read::new_avatars(avatars)?;
        Ok(Box::new(move || s.create_avatars(&user, &new).map(Out::Avatars)))
    }

    fn get_avatar_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.get_avatar(&user, &id).map(Out::Avatar)))
    }

    fn list_avatars_work(&self, user_id: Unknown, query: Option<Unknown>) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let q = read::avatar_query(query)?;
        Ok(Box::new(move || s.list_avatars(&user, &q).map(Out::AvatarPage)))
    }

    fn update_avatar_work(&self, user_id: Unknown, id: Unknown, patch: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        let patch = read::avatar_patch(patch)?;
        Ok(Box::new(move || s.update_avatar(&user, &id, &patch).map(Out::Avatar)))
    }

    fn delete_avatar_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.delete_avatar(&user, &id).map(|_| Out::Unit)))
    }

    fn record_usage_work(&self, user_id: Unknown, id: Unknown) -> Prepared {
        let s = self.core()?;
        let user = read::string("userId", user_id)?;
        let id = read::id("id", id)?;
        Ok(Box::new(move || s.record_usage(&user, &id).map(Out::Avatar)))
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

fn inspect_work(path: Unknown) -> Prepared {
    let path = PathBuf::from(read::string("path", path)?);
    Ok(Box::new(move || avatar_store::inspect(&path).map(Out::Status)))
}

/// Reads the migration status of a database file without changing it, so
/// that a newer or edited database can be inspected too.
#[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "Promise<MigrationStatus>")]
pub fn inspect(path: Unknown) -> AsyncTask<Job> {
    spawn(inspect_work(path))
}

/// Synchronous `inspect(path)`.
#[napi(catch_unwind, ts_args_type = "path: string", ts_return_type = "MigrationStatus")]
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
/// No `Store` may have `db` open meanwhile.
#[napi(
    catch_unwind,
    ts_args_type = "backupFile: string, db: string, options?: { force?: boolean }",
    ts_return_type = "Promise<RestoreOutcome>"
)]
pub fn restore(backup_file: Unknown, db: Unknown, options: Option<Unknown>) -> AsyncTask<Job> {
    spawn(restore_work(backup_file, db, options))
}

/// Synchronous `restore(backupFile, db, options)`.
#[napi(
    catch_unwind,
    ts_args_type = "backupFile: string, db: string, options?: { force?: boolean }",
    ts_return_type = "RestoreOutcome"
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

/// Like `__panicForTests`, on the libuv thread pool: the Promise rejects.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__panicForTestsAsync", skip_typescript)]
pub fn panic_for_tests_async() -> AsyncTask<Job> {
    spawn(Ok(Box::new(|| panic!("deliberate panic for the tests"))))
}
