//! Export and import in the core's format (`avatar_store::transfer`): a lazy
//! iterator over one read snapshot, and file-based calls that take a path or
//! a Python file object.
//!
//! The database work runs with the GIL released. A Python file object can
//! only be read or written with the GIL held, so the core's buffered reader
//! and writer (256 KiB) reach it in chunks, each call taking the GIL back
//! just for that chunk.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use avatar_store::{ExportIter, Scope, Store, transfer};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::errors::run;
use crate::types::to_py_json;

/// The records of an export, as JSON-ready dicts tagged with ``"type"``,
/// read lazily from one snapshot of the database: every project, then every
/// avatar, in creation order.
///
/// While it is open it holds a reader connection and its snapshot (the
/// write-ahead log cannot be checkpointed past it): iterate to the end, or
/// call ``close()`` (or use it in a ``with`` block) when stopping early.
#[pyclass(module = "avatar_store", name = "ExportIterator", frozen)]
pub(crate) struct PyExportIter {
    inner: Mutex<Option<ExportIter>>,
}

impl PyExportIter {
    pub(crate) fn new(py: Python<'_>, store: Arc<Store>, user_id: Option<String>) -> PyResult<Self> {
        let it = run(py, move || store.export_iter_in(scope_of(&user_id)))?;
        Ok(PyExportIter { inner: Mutex::new(Some(it)) })
    }

    fn lock(&self) -> MutexGuard<'_, Option<ExportIter>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl PyExportIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let next = run(py, || {
            let mut guard = self.lock();
            let item = guard.as_mut().and_then(Iterator::next);
            if !matches!(item, Some(Ok(_))) {
                // Exhausted or failed: let go of the connection now.
                guard.take();
            }
            item.transpose()
        })?;
        next.map(|r| to_py_json(py, &r)).transpose()
    }

    /// Stops the export and releases its connection and snapshot. Idempotent.
    fn close(&self, py: Python<'_>) {
        let taken = self.lock().take();
        py.detach(move || drop(taken));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) {
        self.close(py);
    }
}

pub(crate) fn scope_of(user_id: &Option<String>) -> Scope<'_> {
    match user_id {
        Some(u) => Scope::User(u),
        None => Scope::AllUsers,
    }
}

/// Where a Python file object's own exception is kept, to be raised as it
/// is rather than as the core's I/O error that carried it out.
type Raised = Arc<Mutex<Option<PyErr>>>;

fn keep(raised: &Raised, e: PyErr) -> io::Error {
    let message = e.to_string();
    *raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    io::Error::other(message)
}

/// A Python file object opened for reading, in binary or text mode.
struct PyReader {
    file: Py<PyAny>,
    pending: Vec<u8>,
    at: usize,
    raised: Raised,
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            self.at = 0;
            self.pending.clear();
            Python::attach(|py| -> PyResult<()> {
                let chunk = self.file.bind(py).call_method1("read", (buf.len().max(64 * 1024),))?;
                if let Ok(b) = chunk.cast::<PyBytes>() {
                    self.pending.extend_from_slice(b.as_bytes());
                } else if let Ok(s) = chunk.cast::<PyString>() {
                    self.pending.extend_from_slice(s.to_cow()?.as_bytes());
                } else if !chunk.is_none() {
                    return Err(PyTypeError::new_err(format!(
                        "read() of the file returned {}, expected bytes or str",
                        chunk.get_type().name()?
                    )));
                }
                Ok(())
            })
            .map_err(|e| keep(&self.raised, e))?;
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A Python file object opened for writing, in binary or text mode.
struct PyWriter {
    file: Py<PyAny>,
    text: bool,
    /// The start of a UTF-8 sequence split by a chunk boundary (text mode).
    split: Vec<u8>,
    raised: Raised,
}

impl Write for PyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Python::attach(|py| -> PyResult<()> {
            let file = self.file.bind(py);
            if !self.text {
                file.call_method1("write", (PyBytes::new(py, buf),))?;
                return Ok(());
            }
            self.split.extend_from_slice(buf);
            // The core writes UTF-8 only; a sequence cut at the end waits for its rest.
            let whole = match std::str::from_utf8(&self.split) {
                Ok(_) => self.split.len(),
                Err(e) => e.valid_up_to(),
            };
            let text = std::str::from_utf8(&self.split[..whole]).unwrap_or_default();
            file.call_method1("write", (text,))?;
            self.split.drain(..whole);
            Ok(())
        })
        .map_err(|e| keep(&self.raised, e))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A path (`str` or `os.PathLike`), or a file object with `method`.
enum Target {
    Path(PathBuf),
    File(Py<PyAny>, bool),
}

fn target(arg: &Bound<'_, PyAny>, name: &str, method: &str) -> PyResult<Target> {
    if let Ok(path) = arg.extract::<PathBuf>() {
        return Ok(Target::Path(path));
    }
    if arg.hasattr(method)? {
        let io = arg.py().import("io")?;
        let text = arg.is_instance(&io.getattr("TextIOBase")?)?;
        return Ok(Target::File(arg.clone().unbind(), text));
    }
    Err(PyTypeError::new_err(format!(
        "argument '{name}': expected a path (str or os.PathLike) or a file object with {method}(), got {}",
        arg.get_type().name()?
    )))
}

/// Runs `f` with the GIL released; an exception of the file object is raised as itself.
fn run_raising<T: Send>(
    py: Python<'_>,
    raised: &Raised,
    f: impl FnOnce() -> avatar_store::Result<T> + Send,
) -> PyResult<T> {
    run(py, f).map_err(|e| raised.lock().unwrap_or_else(|p| p.into_inner()).take().unwrap_or(e))
}

pub(crate) fn export_to(
    py: Python<'_>,
    store: Arc<Store>,
    user_id: Option<String>,
    dest: &Bound<'_, PyAny>,
) -> PyResult<(u64, u64)> {
    match target(dest, "dest", "write")? {
        Target::Path(path) => run(py, move || transfer::export_to_path(&store, scope_of(&user_id), &path)),
        Target::File(file, text) => {
            let raised = Raised::default();
            let w = PyWriter { file, text, split: Vec::new(), raised: raised.clone() };
            run_raising(py, &raised, move || transfer::export_to(&store, scope_of(&user_id), w))
        }
    }
}

pub(crate) fn import_from(
    py: Python<'_>,
    store: Arc<Store>,
    user_id: Option<String>,
    src: &Bound<'_, PyAny>,
) -> PyResult<(u64, u64)> {
    match target(src, "src", "read")? {
        Target::Path(path) => run(py, move || transfer::import_from_path(&store, scope_of(&user_id), &path)),
        Target::File(file, _) => {
            let raised = Raised::default();
            let r = PyReader { file, pending: Vec::new(), at: 0, raised: raised.clone() };
            run_raising(py, &raised, move || transfer::import_from(&store, scope_of(&user_id), r))
        }
    }
}
