//! Mapping of core errors and Rust panics onto the exception classes of
//! `avatar_store._errors`, and the one place every core call goes through.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::convert::json_to_py;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS.get_or_try_init(py, || Ok(py.import("avatar_store._errors")?.unbind())).map(|m| m.bind(py))
}

/// Runs a core call with the GIL released, so other Python threads run
/// meanwhile, and turns its error, or a panic, into a Python exception.
pub(crate) fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> avatar_store::Result<T> + Send,
{
    // The store's state stays consistent across a panic (its lock recovers
    // from poisoning and open transactions roll back on drop), so the
    // closure is unwind safe in practice.
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(store_error(py, e)),
        Err(panic) => Err(panic_error(py, panic)),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned())
}

fn panic_error(py: Python<'_>, panic: Box<dyn Any + Send>) -> PyErr {
    let e = avatar_store::Error::Internal(format!("a Rust panic was caught: {}", panic_message(&*panic)));
    store_error(py, e)
}

/// The exception a core error becomes. A failure while building it (which
/// would mean the package is broken) still yields an exception, never a crash.
pub(crate) fn store_error(py: Python<'_>, e: avatar_store::Error) -> PyErr {
    build(py, &e).unwrap_or_else(|build_err| build_err)
}

/// A `ValidationError` naming `field`, for input refused before reaching core.
pub(crate) fn validation(py: Python<'_>, field: &str, message: impl Into<String>) -> PyErr {
    store_error(py, avatar_store::Error::Validation { field: field.to_owned(), message: message.into() })
}

fn build(py: Python<'_>, e: &avatar_store::Error) -> PyResult<PyErr> {
    use avatar_store::Error as E;
    let class = match e.code() {
        "NOT_FOUND" => "NotFoundError",
        "VALIDATION" => "ValidationError",
        "CONFLICT" => "ConflictError",
        "SCHEMA_DRIFT" => "SchemaDriftError",
        "MIGRATION" => "MigrationError",
        "NEWER_SCHEMA" => "NewerSchemaError",
        "BUSY" => "BusyError",
        "IO" => "StoreIOError",
        "INTERNAL" => "InternalError",
        _ => "AvatarStoreError",
    };
    let module = errors_module(py)?;
    // An INTERNAL error's text can hold SQLite's words and file paths: its
    // message is the public summary, and the text stays on `.detail`.
    let detail = e.to_string();
    let message = if matches!(e, E::Internal(_)) { e.public_message() } else { detail.clone() };
    let exc = module.getattr(class)?.call1((message,))?;
    exc.setattr("code", e.code())?;
    exc.setattr("detail", detail)?;
    exc.setattr("line", e.line())?;
    // The details of an error at a line of an export file are its inner error's.
    match e.without_line() {
        E::NotFound { entity, id } => {
            exc.setattr("entity", *entity)?;
            exc.setattr("id", id)?;
        }
        E::Validation { field, .. } => exc.setattr("field", field)?,
        E::SchemaDrift(report) => exc.setattr("report", schema_report(py, report)?)?,
        E::Migration { version, .. } => exc.setattr("version", *version)?,
        E::NewerSchema { found, known } => {
            exc.setattr("found", *found)?;
            exc.setattr("known", *known)?;
        }
        E::Io { path, .. } => exc.setattr("path", path)?,
        _ => {}
    }
    Ok(PyErr::from_value(exc))
}

/// A core `SchemaReport` as the Python `SchemaReport` (a dict subclass).
pub(crate) fn schema_report<'py>(py: Python<'py>, report: &avatar_store::SchemaReport) -> PyResult<Bound<'py, PyAny>> {
    let value =
        serde_json::to_value(report).map_err(|e| store_error(py, avatar_store::Error::Internal(e.to_string())))?;
    let data = json_to_py(py, &value)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("ok", report.is_ok())?;
    kwargs.set_item("text", report.to_string())?;
    errors_module(py)?.getattr("SchemaReport")?.call((data,), Some(&kwargs))
}
