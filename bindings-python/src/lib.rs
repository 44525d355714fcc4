//! The native half of the Python package `avatar_store`: a thin layer over
//! the core crate that converts arguments and results and maps errors. Every
//! operation runs in core with the GIL released; behaviour lives in core only.

mod convert;
mod errors;
mod transfer;
mod types;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use avatar_store::{AvatarQuery, NewProject, ProjectQuery, Record, Uuid};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::{
    age_range_arg, avatar_id_arg, avatar_patch, body_type_arg, busy_timeout_arg, cursor_arg, description_arg,
    ethnicity_arg, eye_color_arg, gender_arg, hair_color_arg, hair_style_arg, limit_arg, name_arg, name_contains_arg,
    new_avatar, opt_project_id_arg, order_arg, project_id_arg, project_patch, py_to_json, readers_arg, skin_tone_arg,
    sort_arg, source_type_arg, style_arg, user_id_arg,
};
use crate::errors::{run, schema_report, store_error, validation};
use crate::transfer::scope_of;
use crate::types::{
    PyAvatar, PyMigrationOutcome, PyPage, PyProject, PyProjectWithAvatars, PyRepairOutcome, to_py_json,
};

/// A handle on one avatar-store database; share it between threads freely.
///
/// Opening runs the pending migrations (after a backup of a non-empty file)
/// and verifies the schema. Use it as a context manager, or call `close()`.
#[pyclass(module = "avatar_store", name = "Store", frozen)]
struct PyStore {
    // `close()` takes the store out; calls already running keep their own
    // `Arc`, so closing never pulls the database from under them.
    inner: RwLock<Option<Arc<avatar_store::Store>>>,
    /// The database as `repr()` shows it (a URL without its password),
    /// `None` in memory.
    shown: Option<String>,
}

impl PyStore {
    fn wrap(store: avatar_store::Store, shown: Option<String>) -> Self {
        PyStore { inner: RwLock::new(Some(Arc::new(store))), shown }
    }

    fn store(&self) -> PyResult<Arc<avatar_store::Store>> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| PyValueError::new_err("operation on a closed Store"))
    }
}

fn busy_timeout_of(py: Python<'_>, seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| validation(py, "busyTimeout", format!("must be a non-negative number of seconds, got {seconds}")))
}

#[pymethods]
impl PyStore {
    /// Opens the database at `path`: a `postgresql://` (or `postgres://`) URL
    /// opens that PostgreSQL database, anything else is a SQLite file,
    /// created if needed. The options apply to both; on PostgreSQL the pool
    /// holds `readers` + 1 connections, and `schema` names the schema the
    /// store works in (default `public`; ignored for SQLite).
    #[new]
    #[pyo3(signature = (path, *, migrate = true, backup = true, verify = true, busy_timeout = 5.0, readers = 4, schema = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        migrate: bool,
        backup: bool,
        verify: bool,
        #[pyo3(from_py_with = busy_timeout_arg)] busy_timeout: f64,
        #[pyo3(from_py_with = readers_arg)] readers: u32,
        schema: Option<String>,
    ) -> PyResult<Self> {
        let busy = busy_timeout_of(py, busy_timeout)?;
        let shown = Some(avatar_store::display_database(&path));
        let store = run(py, move || {
            let options = avatar_store::Store::options()
                .migrate(migrate)
                .backup(backup)
                .verify(verify)
                .busy_timeout(busy)
                .readers(readers);
            // The core checks the name at open.
            match schema {
                Some(s) => options.schema(s),
                None => options,
            }
            .open(&path)
        })?;
        Ok(PyStore::wrap(store, shown))
    }

    /// Opens a private, migrated in-memory database.
    #[staticmethod]
    fn in_memory(py: Python<'_>) -> PyResult<Self> {
        run(py, avatar_store::Store::open_in_memory).map(|s| PyStore::wrap(s, None))
    }

    /// The database file, `None` in memory and on PostgreSQL.
    #[getter]
    fn path(&self) -> PyResult<Option<String>> {
        Ok(self.store()?.path().map(|p| p.display().to_string()))
    }

    /// True once `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    /// Closes the store; calls running in other threads finish first. Idempotent.
    fn close(&self, py: Python<'_>) {
        let taken = self.inner.write().unwrap_or_else(|p| p.into_inner()).take();
        // Dropping closes the SQLite connections (checkpointing the WAL): no GIL needed.
        py.detach(move || drop(taken));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        match self.inner.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            None => "Store(<closed>)".to_owned(),
            Some(_) => match &self.shown {
                Some(db) => format!("Store({db:?})"),
                None => "Store(<in memory>)".to_owned(),
            },
        }
    }

    // ----------------------------------------------------------- schema

    /// What the migration step did when this store was opened.
    #[getter]
    fn migration_outcome(&self) -> PyResult<PyMigrationOutcome> {
        Ok(PyMigrationOutcome { o: self.store()?.migration_outcome().clone() })
    }

    /// Applied and pending migrations of this database, as a dict.
    fn migration_status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store()?;
        let status = run(py, move || store.migration_status())?;
        to_py_json(py, &status)
    }

    /// Applies pending migrations now (for a store opened with `migrate=False`).
    fn migrate(&self, py: Python<'_>) -> PyResult<PyMigrationOutcome> {
        let store = self.store()?;
        run(py, move || store.migrate()).map(|o| PyMigrationOutcome { o })
    }

    /// Compares the live schema with the expected one.
    fn check_schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let store = self.store()?;
        let report = run(py, move || store.check_schema())?;
        schema_report(py, &report)
    }

    /// Repairs additive drift in one transaction, after a backup.
    fn repair(&self, py: Python<'_>) -> PyResult<PyRepairOutcome> {
        let store = self.store()?;
        let outcome = run(py, move || store.repair())?;
        PyRepairOutcome::new(py, outcome)
    }

    /// Writes a consistent copy of the database to `dest`, which must not exist.
    fn backup(&self, py: Python<'_>, dest: PathBuf) -> PyResult<()> {
        let store = self.store()?;
        run(py, move || store.backup(&dest))
    }

    // --------------------------------------------------------- projects

    /// Creates a project owned by `user_id`.
    #[pyo3(signature = (user_id, *, name, description = None))]
    fn create_project(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = name_arg)] name: String,
        #[pyo3(from_py_with = description_arg)] description: Option<String>,
    ) -> PyResult<PyProject> {
        let store = self.store()?;
        run(py, move || store.create_project(&user_id, &NewProject { name, description })).map(|p| PyProject { p })
    }

    /// Reads a project of `user_id`; another user's project is not found.
    fn get_project(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = project_id_arg)] project_id: Uuid,
    ) -> PyResult<PyProject> {
        let store = self.store()?;
        run(py, move || store.get_project(&user_id, &project_id)).map(|p| PyProject { p })
    }

    /// Lists the projects of `user_id`, newest first, one page at a time.
    #[pyo3(signature = (user_id, *, limit = None, cursor = None))]
    fn list_projects(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = limit_arg)] limit: Option<u32>,
        #[pyo3(from_py_with = cursor_arg)] cursor: Option<String>,
    ) -> PyResult<PyPage> {
        let store = self.store()?;
        let query = ProjectQuery { limit, cursor };
        let page = run(py, move || store.list_projects(&user_id, &query))?;
        PyPage::new(py, page, |p| Ok(PyProject { p }))
    }

    /// Like `list_projects`, each project with its avatars.
    #[pyo3(signature = (user_id, *, limit = None, cursor = None))]
    fn list_projects_with_avatars(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = limit_arg)] limit: Option<u32>,
        #[pyo3(from_py_with = cursor_arg)] cursor: Option<String>,
    ) -> PyResult<PyPage> {
        let store = self.store()?;
        let query = ProjectQuery { limit, cursor };
        let page = run(py, move || store.list_projects_with_avatars(&user_id, &query))?;
        PyPage::new(py, page, |p| PyProjectWithAvatars::new(py, p))
    }

    /// Changes a project: `name=`, `description=` (`None` clears it).
    #[pyo3(signature = (user_id, project_id, **changes))]
    fn update_project(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = project_id_arg)] project_id: Uuid,
        changes: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyProject> {
        let patch = project_patch(changes)?;
        let store = self.store()?;
        run(py, move || store.update_project(&user_id, &project_id, &patch)).map(|p| PyProject { p })
    }

    /// Deletes a project and, by cascade, its avatars.
    fn delete_project(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = project_id_arg)] project_id: Uuid,
    ) -> PyResult<()> {
        let store = self.store()?;
        run(py, move || store.delete_project(&user_id, &project_id))
    }

    // ---------------------------------------------------------- avatars

    /// Creates an avatar: `project_id=` and `name=` are required, every other
    /// field (`persona_name=`, `hair_color=`, ...) is optional.
    #[pyo3(signature = (user_id, **fields))]
    fn create_avatar(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        fields: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyAvatar> {
        let new = match fields {
            Some(f) => new_avatar(f.as_any(), "")?,
            None => new_avatar(PyDict::new(py).as_any(), "")?,
        };
        let store = self.store()?;
        run(py, move || store.create_avatar(&user_id, &new)).map(|a| PyAvatar { a })
    }

    /// Creates many avatars in one transaction, all or none. Each item is a
    /// mapping with the keyword arguments of `create_avatar`.
    fn create_avatars<'py>(
        &self,
        py: Python<'py>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        avatars: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        if avatars.is_instance_of::<pyo3::types::PyString>() || avatars.is_instance_of::<PyDict>() {
            return Err(PyTypeError::new_err(
                "argument 'avatars': expected an iterable of mappings, got a single str or dict",
            ));
        }
        let iter = avatars
            .try_iter()
            .map_err(|_| PyTypeError::new_err("argument 'avatars': expected an iterable of mappings"))?;
        let mut new = Vec::new();
        for (i, item) in iter.enumerate() {
            new.push(new_avatar(&item?, &format!("avatars[{i}]"))?);
        }
        let store = self.store()?;
        let created = run(py, move || store.create_avatars(&user_id, &new))?;
        let list = PyList::empty(py);
        for a in created {
            list.append(Bound::new(py, PyAvatar { a })?)?;
        }
        Ok(list)
    }

    /// Reads an avatar of `user_id`.
    fn get_avatar(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = avatar_id_arg)] avatar_id: Uuid,
    ) -> PyResult<PyAvatar> {
        let store = self.store()?;
        run(py, move || store.get_avatar(&user_id, &avatar_id)).map(|a| PyAvatar { a })
    }

    /// Lists avatars of `user_id` with exact-match filters, a sort and
    /// keyset pagination (pass `next_cursor` back as `cursor`).
    #[pyo3(signature = (
        user_id, *, project_id = None, gender = None, age_range = None, ethnicity = None, body_type = None,
        hair_style = None, hair_color = None, eye_color = None, skin_tone = None, style = None,
        source_type = None, name_contains = None, sort = "created_at", order = "asc", limit = None, cursor = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn list_avatars(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = opt_project_id_arg)] project_id: Option<Uuid>,
        #[pyo3(from_py_with = gender_arg)] gender: Option<String>,
        #[pyo3(from_py_with = age_range_arg)] age_range: Option<String>,
        #[pyo3(from_py_with = ethnicity_arg)] ethnicity: Option<String>,
        #[pyo3(from_py_with = body_type_arg)] body_type: Option<String>,
        #[pyo3(from_py_with = hair_style_arg)] hair_style: Option<String>,
        #[pyo3(from_py_with = hair_color_arg)] hair_color: Option<String>,
        #[pyo3(from_py_with = eye_color_arg)] eye_color: Option<String>,
        #[pyo3(from_py_with = skin_tone_arg)] skin_tone: Option<String>,
        #[pyo3(from_py_with = style_arg)] style: Option<String>,
        #[pyo3(from_py_with = source_type_arg)] source_type: Option<String>,
        #[pyo3(from_py_with = name_contains_arg)] name_contains: Option<String>,
        #[pyo3(from_py_with = sort_arg)] sort: &'static str,
        #[pyo3(from_py_with = order_arg)] order: &'static str,
        #[pyo3(from_py_with = limit_arg)] limit: Option<u32>,
        #[pyo3(from_py_with = cursor_arg)] cursor: Option<String>,
    ) -> PyResult<PyPage> {
        let query = AvatarQuery {
            project_id,
            gender,
            age_range,
            ethnicity,
            body_type,
            hair_style,
            hair_color,
            eye_color,
            skin_tone,
            style,
            source_type,
            name_contains,
            // Already checked by sort_arg and order_arg, or the defaults.
            sort: sort.parse().map_err(|e| store_error(py, e))?,
            order: order.parse().map_err(|e| store_error(py, e))?,
            limit,
            cursor,
        };
        let store = self.store()?;
        let page = run(py, move || store.list_avatars(&user_id, &query))?;
        PyPage::new(py, page, |a| Ok(PyAvatar { a }))
    }

    /// Changes an avatar: pass the fields to change as keyword arguments;
    /// `None` clears an optional field.
    #[pyo3(signature = (user_id, avatar_id, **changes))]
    fn update_avatar(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = avatar_id_arg)] avatar_id: Uuid,
        changes: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyAvatar> {
        let patch = avatar_patch(changes)?;
        let store = self.store()?;
        run(py, move || store.update_avatar(&user_id, &avatar_id, &patch)).map(|a| PyAvatar { a })
    }

    /// Deletes an avatar of `user_id`.
    fn delete_avatar(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = avatar_id_arg)] avatar_id: Uuid,
    ) -> PyResult<()> {
        let store = self.store()?;
        run(py, move || store.delete_avatar(&user_id, &avatar_id))
    }

    /// Counts one use: increments `usage_count` and sets `last_used_at` atomically.
    fn record_usage(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        #[pyo3(from_py_with = avatar_id_arg)] avatar_id: Uuid,
    ) -> PyResult<PyAvatar> {
        let store = self.store()?;
        run(py, move || store.record_usage(&user_id, &avatar_id)).map(|a| PyAvatar { a })
    }

    // ---------------------------------------------------- import/export

    /// `(projects, avatars)` of `user_id`.
    fn count(&self, py: Python<'_>, #[pyo3(from_py_with = user_id_arg)] user_id: String) -> PyResult<(u64, u64)> {
        let store = self.store()?;
        run(py, move || store.count(&user_id))
    }

    /// `(projects, avatars)` of every user together: for operators, never
    /// for a request made on behalf of one user.
    fn count_all_users(&self, py: Python<'_>) -> PyResult<(u64, u64)> {
        let store = self.store()?;
        run(py, move || store.count_all_users())
    }

    /// Every project, then every avatar of `user_id`, as JSON-ready dicts
    /// tagged with `"type"`, read lazily from one snapshot: an
    /// `ExportIterator` (`list()` it for a list).
    fn export(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
    ) -> PyResult<transfer::PyExportIter> {
        transfer::PyExportIter::new(py, self.store()?, Some(user_id))
    }

    /// Like `export()` for every user: whole-database transfer, for operators.
    fn export_all_users(&self, py: Python<'_>) -> PyResult<transfer::PyExportIter> {
        transfer::PyExportIter::new(py, self.store()?, None)
    }

    /// Writes the export of `user_id` in the export format (header, records,
    /// end line) to `dest`: a path, which must not exist (`ConflictError`;
    /// the file appears complete or not at all), or a file object open for
    /// writing, binary or text. Returns `(projects, avatars)` written.
    fn export_to(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        dest: &Bound<'_, PyAny>,
    ) -> PyResult<(u64, u64)> {
        transfer::export_to(py, self.store()?, Some(user_id), dest)
    }

    /// Like `export_to()` for every user: whole-database transfer, for operators.
    fn export_all_users_to(&self, py: Python<'_>, dest: &Bound<'_, PyAny>) -> PyResult<(u64, u64)> {
        transfer::export_to(py, self.store()?, None, dest)
    }

    /// Imports a file in the export format from `src` (a path, or a file
    /// object open for reading, binary or text) for `user_id`: every line is
    /// checked before anything is written, then all records are written in
    /// one transaction. A bad line raises with `.line` set (and `.field`
    /// for a `ValidationError`); nothing is written. Returns
    /// `(projects, avatars)` written.
    fn import_from(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        src: &Bound<'_, PyAny>,
    ) -> PyResult<(u64, u64)> {
        transfer::import_from(py, self.store()?, Some(user_id), src)
    }

    /// Like `import_from()` for records of any user: whole-database transfer, for operators.
    fn import_all_users_from(&self, py: Python<'_>, src: &Bound<'_, PyAny>) -> PyResult<(u64, u64)> {
        transfer::import_from(py, self.store()?, None, src)
    }

    /// Writes exported records of `user_id` back in one transaction (all or
    /// none), inserting or updating by id; returns `(projects, avatars)`
    /// written. A record of another user, or an avatar in a project that is
    /// not `user_id`'s, is a `ValidationError` naming `records[i]`, and
    /// nothing is written.
    fn import_records(
        &self,
        py: Python<'_>,
        #[pyo3(from_py_with = user_id_arg)] user_id: String,
        records: &Bound<'_, PyAny>,
    ) -> PyResult<(u64, u64)> {
        self.import_in(py, Some(user_id), records)
    }

    /// Like `import_records()` for records of any user: whole-database
    /// transfer, for operators.
    fn import_records_all_users(&self, py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<(u64, u64)> {
        self.import_in(py, None, records)
    }
}

/// A core error about `records[i]`, saying so (the field, if any, stays the record's).
fn at_record(i: usize, e: avatar_store::Error) -> avatar_store::Error {
    use avatar_store::Error as E;
    match e {
        E::Validation { field, message } => E::Validation { field, message: format!("records[{i}]: {message}") },
        E::Conflict(message) => E::Conflict(format!("records[{i}]: {message}")),
        e => e,
    }
}

impl PyStore {
    fn import_in(&self, py: Python<'_>, user_id: Option<String>, records: &Bound<'_, PyAny>) -> PyResult<(u64, u64)> {
        if let Some(u) = &user_id {
            avatar_store::validate_user_id(u).map_err(|e| store_error(py, e))?;
        }
        let iter = records
            .try_iter()
            .map_err(|_| PyTypeError::new_err("argument 'records': expected an iterable of dicts"))?;
        let mut parsed = Vec::new();
        for (i, item) in iter.enumerate() {
            let ctx = format!("records[{i}]");
            let value = py_to_json(&item?, &ctx)?;
            let record: Record =
                serde_json::from_value(value).map_err(|e| validation(py, &ctx, format!("not a record: {e}")))?;
            // Checked before the write lock is taken; the importer checks again.
            record.validate(scope_of(&user_id)).map_err(|e| store_error(py, at_record(i, e)))?;
            parsed.push(record);
        }
        let store = self.store()?;
        run(py, move || {
            store.import_in(scope_of(&user_id), |imp| {
                for (i, r) in parsed.iter().enumerate() {
                    imp.record(r).map_err(|e| at_record(i, e))?;
                }
                Ok(imp.counts())
            })
        })
    }
}

/// The migrations compiled into this build, in order: dicts with
/// `version`, `name`, `checksum` and `sql`.
#[pyfunction]
fn embedded_migrations(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for m in avatar_store::embedded_migrations() {
        let d = PyDict::new(py);
        d.set_item("version", m.version)?;
        d.set_item("name", m.name)?;
        d.set_item("checksum", m.checksum)?;
        d.set_item("sql", m.sql)?;
        list.append(d)?;
    }
    Ok(list)
}

/// Highest schema version this build knows.
#[pyfunction]
fn latest_version() -> i32 {
    avatar_store::latest_version()
}

/// `path` as it may be shown in logs and messages: a PostgreSQL URL
/// without its password (nor any option, which could hold one), a file path
/// as it is.
#[pyfunction]
fn display_database(path: PathBuf) -> String {
    avatar_store::display_database(&path)
}

/// Reads the migration status of a database file without changing it.
#[pyfunction]
fn inspect(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let status = run(py, move || avatar_store::inspect(&path))?;
    to_py_json(py, &status)
}

/// Replaces the database at `db` with the backup at `backup_file`
/// (verified first); an existing `db` is replaced only with `force=True`,
/// under one lock, keeping a copy of it (or, when it is not a database,
/// moving it aside). Paths in the result are text, lossily decoded when the
/// file name is not UTF-8.
#[pyfunction]
#[pyo3(signature = (backup_file, db, *, force = false))]
fn restore(py: Python<'_>, backup_file: PathBuf, db: PathBuf, force: bool) -> PyResult<Bound<'_, PyAny>> {
    let outcome = run(py, move || avatar_store::restore(&backup_file, &db, force))?;
    to_py_json(py, &outcome)
}

/// For the tests: a panic inside a store call becomes `InternalError`. Only
/// in builds with the `test-hooks` feature (test.sh), never in a release.
#[cfg(feature = "test-hooks")]
#[pyfunction]
fn _panic_in_core_call(py: Python<'_>) -> PyResult<()> {
    run(py, || -> avatar_store::Result<()> { panic!("deliberate panic for the tests") })
}

/// For the tests: a panic outside any store call becomes pyo3's
/// `PanicException` (a `BaseException`), and the interpreter lives on.
#[cfg(feature = "test-hooks")]
#[pyfunction]
fn _panic_outside_core_call() {
    panic!("deliberate panic for the tests");
}

/// Core's avatar field descriptors (`avatar_store::AVATAR_FIELDS`) as dicts
/// with camelCase keys; the tests compare the stubs and signatures with them.
#[pyfunction]
fn _avatar_fields(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    types::to_py_json(py, &avatar_store::AVATAR_FIELDS)
}

/// Core's project field descriptors, like `_avatar_fields`.
#[pyfunction]
fn _project_fields(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    types::to_py_json(py, &avatar_store::PROJECT_FIELDS)
}

#[pymodule]
fn _avatar_store(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyStore>()?;
    m.add_class::<PyProject>()?;
    m.add_class::<PyAvatar>()?;
    m.add_class::<PyProjectWithAvatars>()?;
    m.add_class::<PyPage>()?;
    m.add_class::<PyMigrationOutcome>()?;
    m.add_class::<PyRepairOutcome>()?;
    m.add_class::<transfer::PyExportIter>()?;
    m.add_function(wrap_pyfunction!(embedded_migrations, m)?)?;
    m.add_function(wrap_pyfunction!(latest_version, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(display_database, m)?)?;
    m.add_function(wrap_pyfunction!(restore, m)?)?;
    m.add_function(wrap_pyfunction!(_avatar_fields, m)?)?;
    m.add_function(wrap_pyfunction!(_project_fields, m)?)?;
    #[cfg(feature = "test-hooks")]
    {
        m.add_function(wrap_pyfunction!(_panic_in_core_call, m)?)?;
        m.add_function(wrap_pyfunction!(_panic_outside_core_call, m)?)?;
    }
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SOURCE_TYPES", PyTuple::new(py, avatar_store::SOURCE_TYPES)?)?;
    m.add("MAX_PAGE_SIZE", avatar_store::MAX_PAGE_SIZE)?;
    m.add("DEFAULT_PAGE_SIZE", avatar_store::DEFAULT_PAGE_SIZE)?;
    Ok(())
}
