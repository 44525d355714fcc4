//! The result objects: immutable wrappers of the core's records whose
//! attributes are converted on access, plus `to_dict()` giving the core's
//! JSON form (camelCase keys, ISO-8601 strings), ready for `json.dumps`.

use avatar_store::FieldRef;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::Serialize;

use crate::convert::json_to_py;
use crate::errors::{schema_report, store_error};

pub(crate) fn to_py_json<'py, T: Serialize>(py: Python<'py>, v: &T) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(v).map_err(|e| store_error(py, avatar_store::Error::Internal(e.to_string())))?;
    json_to_py(py, &value)
}

/// A field's value as Python: ids as `str`, times as UTC-aware `datetime`.
fn field_to_py<'py>(py: Python<'py>, v: FieldRef<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        FieldRef::Id(id) => id.hyphenated().to_string().into_pyobject(py)?.into_any(),
        FieldRef::Text(t) => t.into_pyobject(py)?.into_any(),
        FieldRef::Integer(n) => n.into_pyobject(py)?.into_any(),
        FieldRef::Timestamp(t) => t.into_pyobject(py)?.into_any(),
    })
}

/// Generates a class's `#[pymethods]` block: one getter per field of core's
/// table (called through `avatar_table!`/`project_table!`), then the extra
/// methods.
macro_rules! record_class {
    (
        $ty:ident, $inner:ident, { $($extra:tt)* }
        $(
            $(#[doc = $doc:literal])*
            $(#[serde($($serde:tt)*)])?
            $f:ident: $fty:ty = $js:literal { $($body:tt)* }
        ),* $(,)?
    ) => {
        #[pymethods]
        impl $ty {
            $(
                $(#[doc = $doc])*
                #[getter]
                fn $f<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                    field_to_py(py, avatar_store::FieldType::as_ref(&self.$inner.$f))
                }
            )*
            $($extra)*
        }
    };
}

/// A user's project.
#[pyclass(module = "avatar_store", name = "Project", frozen, eq)]
#[derive(PartialEq)]
pub(crate) struct PyProject {
    pub(crate) p: avatar_store::Project,
}

avatar_store::project_table!(record_class { PyProject, p, {
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_json(py, &self.p)
    }

    fn __repr__(&self) -> String {
        format!("Project(id='{}', name={:?})", self.p.id, self.p.name)
    }
}});

/// An avatar with persona, visual attributes and generation metadata.
#[pyclass(module = "avatar_store", name = "Avatar", frozen, eq)]
#[derive(PartialEq)]
pub(crate) struct PyAvatar {
    pub(crate) a: avatar_store::Avatar,
}

avatar_store::avatar_table!(record_class {
    PyAvatar,
    a,
    {
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py_json(py, &self.a)
        }

        fn __repr__(&self) -> String {
            format!("Avatar(id='{}', name={:?}, usage_count={})", self.a.id, self.a.name, self.a.usage_count)
        }
    }
});

/// A project with its avatars (oldest first), as listed by
/// `Store.list_projects_with_avatars`.
#[pyclass(module = "avatar_store", name = "ProjectWithAvatars", frozen)]
pub(crate) struct PyProjectWithAvatars {
    pub(crate) p: avatar_store::Project,
    pub(crate) avatars: Py<PyList>,
}

impl PyProjectWithAvatars {
    pub(crate) fn new(py: Python<'_>, pwa: avatar_store::ProjectWithAvatars) -> PyResult<Self> {
        let avatars = PyList::empty(py);
        for a in pwa.avatars {
            avatars.append(Bound::new(py, PyAvatar { a })?)?;
        }
        Ok(PyProjectWithAvatars { p: pwa.project, avatars: avatars.unbind() })
    }
}

avatar_store::project_table!(record_class { PyProjectWithAvatars, p, {
    #[getter]
    fn avatars(&self, py: Python<'_>) -> Py<PyList> {
        self.avatars.clone_ref(py)
    }

    /// The project's fields and an `avatars` list, like `GET /projects` returns.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = to_py_json(py, &self.p)?;
        let list = PyList::empty(py);
        for a in self.avatars.bind(py).iter() {
            list.append(to_py_json(py, &a.cast::<PyAvatar>()?.get().a)?)?;
        }
        d.set_item("avatars", list)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ProjectWithAvatars(id='{}', name={:?}, avatars={})",
            self.p.id,
            self.p.name,
            self.avatars.bind(py).len()
        )
    }
}});

/// One page of a listing: `items`, and `next_cursor` to pass back for the
/// next page (`None` on the last one).
#[pyclass(module = "avatar_store", name = "Page", frozen, generic)]
pub(crate) struct PyPage {
    items: Py<PyList>,
    next_cursor: Option<String>,
}

impl PyPage {
    pub(crate) fn new<T, P>(
        py: Python<'_>,
        page: avatar_store::Page<T>,
        wrap: impl Fn(T) -> PyResult<P>,
    ) -> PyResult<Self>
    where
        P: pyo3::PyClass + Into<pyo3::PyClassInitializer<P>>,
    {
        let items = PyList::empty(py);
        for item in page.items {
            items.append(Bound::new(py, wrap(item)?)?)?;
        }
        Ok(PyPage { items: items.unbind(), next_cursor: page.next_cursor })
    }
}

#[pymethods]
impl PyPage {
    #[getter]
    fn items(&self, py: Python<'_>) -> Py<PyList> {
        self.items.clone_ref(py)
    }

    #[getter]
    fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref()
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.items.bind(py).len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.items.bind(py).try_iter()?.into_any())
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let items = PyList::empty(py);
        for item in self.items.bind(py).iter() {
            items.append(item.call_method0("to_dict")?)?;
        }
        let d = PyDict::new(py);
        d.set_item("items", items)?;
        d.set_item("nextCursor", &self.next_cursor)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Page(items=<{} items>, next_cursor={:?})", self.items.bind(py).len(), self.next_cursor)
    }
}

/// What the migration step did.
#[pyclass(module = "avatar_store", name = "MigrationOutcome", frozen)]
pub(crate) struct PyMigrationOutcome {
    pub(crate) o: avatar_store::MigrationOutcome,
}

#[pymethods]
impl PyMigrationOutcome {
    /// Schema version before.
    #[getter]
    #[allow(clippy::wrong_self_convention)] // a Python attribute named after the core field
    fn from_version(&self) -> i32 {
        self.o.from_version
    }

    /// Schema version after.
    #[getter]
    fn to_version(&self) -> i32 {
        self.o.to_version
    }

    /// Versions this call applied (empty when there was nothing to do).
    #[getter]
    fn applied(&self) -> Vec<i32> {
        self.o.applied.clone()
    }

    /// The backup written before migrating, if any.
    #[getter]
    fn backup(&self) -> Option<String> {
        self.o.backup.as_ref().map(|p| p.display().to_string())
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_json(py, &self.o)
    }

    fn __repr__(&self) -> String {
        format!(
            "MigrationOutcome(from_version={}, to_version={}, applied={:?})",
            self.o.from_version, self.o.to_version, self.o.applied
        )
    }
}

/// What `Store.repair()` did.
#[pyclass(module = "avatar_store", name = "RepairOutcome", frozen)]
pub(crate) struct PyRepairOutcome {
    o: avatar_store::RepairOutcome,
    after: Py<PyAny>,
}

impl PyRepairOutcome {
    pub(crate) fn new(py: Python<'_>, o: avatar_store::RepairOutcome) -> PyResult<Self> {
        let after = schema_report(py, &o.after)?.unbind();
        Ok(PyRepairOutcome { o, after })
    }
}

#[pymethods]
impl PyRepairOutcome {
    /// The SQL statements executed, in order, in one transaction.
    #[getter]
    fn applied(&self) -> Vec<String> {
        self.o.applied.clone()
    }

    /// Differences left alone because fixing them could lose data.
    #[getter]
    fn not_repaired(&self) -> Vec<String> {
        self.o.not_repaired.clone()
    }

    /// The backup written before repairing, if one was.
    #[getter]
    fn backup(&self) -> Option<String> {
        self.o.backup.as_ref().map(|p| p.display().to_string())
    }

    /// The schema report after the repair.
    #[getter]
    fn after(&self, py: Python<'_>) -> Py<PyAny> {
        self.after.clone_ref(py)
    }

    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py_json(py, &self.o)
    }

    fn __repr__(&self) -> String {
        format!("RepairOutcome(applied=<{} statements>, not_repaired={:?})", self.o.applied.len(), self.o.not_repaired)
    }
}
