//! Python values in, Python values out: ids, optional fields, JSON-shaped
//! data. Wrong Python types are `TypeError`s naming the argument; values of
//! the right type that core would refuse go on to core, which names the field.

use avatar_store::{
    AVATAR_FIELDS, AvatarPatch, AvatarSort, Create, FieldDescriptor, FieldKind, FieldValue, NewAvatar, ProjectPatch,
    SortOrder, Uuid,
};
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple, PyType};

use crate::errors::{store_error, validation};

static UUID_CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn type_name(ob: &Bound<'_, PyAny>) -> String {
    ob.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// An id given as `str` or `uuid.UUID`; `field` (camelCase) is named when
/// the text is not a UUID.
pub(crate) fn uuid_of(ob: &Bound<'_, PyAny>, field: &str, arg: &str) -> PyResult<Uuid> {
    let py = ob.py();
    if let Ok(s) = ob.cast::<PyString>() {
        let s = text_of(s, field)?;
        return avatar_store::parse_id(field, &s).map_err(|e| crate::errors::store_error(py, e));
    }
    let uuid_class = UUID_CLASS.import(py, "uuid", "UUID")?;
    if ob.is_instance(uuid_class)? {
        let bytes: [u8; 16] = ob.getattr("bytes")?.extract()?;
        return Ok(Uuid::from_bytes(bytes));
    }
    Err(PyTypeError::new_err(format!("{arg}: expected str or uuid.UUID, got {}", type_name(ob))))
}

pub(crate) fn project_id_arg(ob: &Bound<'_, PyAny>) -> PyResult<Uuid> {
    uuid_of(ob, "projectId", "argument 'project_id'")
}

pub(crate) fn avatar_id_arg(ob: &Bound<'_, PyAny>) -> PyResult<Uuid> {
    uuid_of(ob, "id", "argument 'avatar_id'")
}

pub(crate) fn opt_project_id_arg(ob: &Bound<'_, PyAny>) -> PyResult<Option<Uuid>> {
    if ob.is_none() { Ok(None) } else { uuid_of(ob, "projectId", "argument 'project_id'").map(Some) }
}

/// The camelCase field of a snake_case keyword (`hair_color` → `hairColor`).
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// A `str`'s text; a lone surrogate (which UTF-8 cannot hold) is a
/// `ValidationError` naming `field` (given in snake_case or camelCase), not
/// a bare `UnicodeEncodeError`.
fn text_of(s: &Bound<'_, PyString>, field: &str) -> PyResult<String> {
    s.to_cow()
        .map(|t| t.into_owned())
        .map_err(|_| validation(s.py(), &camel(field), "must be valid Unicode text; it contains an unpaired surrogate"))
}

fn expect_str(ob: &Bound<'_, PyAny>, ctx: &str, field: &str, allow_none: bool) -> PyResult<Option<String>> {
    if allow_none && ob.is_none() {
        return Ok(None);
    }
    match ob.cast::<PyString>() {
        Ok(s) => text_of(s, field).map(Some),
        Err(_) => {
            let want = if allow_none { "str or None" } else { "str" };
            Err(PyTypeError::new_err(format!("{ctx}: expected {want}, got {}", type_name(ob))))
        }
    }
}

/// An `int` that is not a `bool`: `True` is an int to Python, but as a
/// number it is surely a mistake.
fn exact_int<'a, 'py>(ob: &'a Bound<'py, PyAny>, ctx: &str, want: &str) -> PyResult<&'a Bound<'py, PyAny>> {
    if ob.is_instance_of::<PyBool>() || !ob.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!("{ctx}: expected {want}, got {}", type_name(ob))));
    }
    Ok(ob)
}

fn expect_int(ob: &Bound<'_, PyAny>, ctx: &str, field: &str) -> PyResult<Option<i64>> {
    if ob.is_none() {
        return Ok(None);
    }
    match exact_int(ob, ctx, "int or None")?.extract::<i64>() {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.is_instance_of::<PyOverflowError>(ob.py()) => {
            Err(validation(ob.py(), field, "does not fit in a signed 64-bit integer"))
        }
        Err(e) => Err(e),
    }
}

/// The caller's user id: a `str`, with its argument named when it is not one.
pub(crate) fn user_id_arg(ob: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(expect_str(ob, "argument 'user_id'", "userId", false)?.unwrap_or_default())
}

/// Generates the converters of optional `str` arguments: each names its
/// argument in a `TypeError` and its field in a `ValidationError`.
macro_rules! opt_str_args {
    ($($f:ident: $arg:literal),* $(,)?) => {
        $(
            pub(crate) fn $f(ob: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
                expect_str(ob, concat!("argument '", $arg, "'"), $arg, true)
            }
        )*
    };
}

opt_str_args!(
    description_arg: "description",
    cursor_arg: "cursor",
    gender_arg: "gender",
    age_range_arg: "age_range",
    ethnicity_arg: "ethnicity",
    body_type_arg: "body_type",
    hair_style_arg: "hair_style",
    hair_color_arg: "hair_color",
    eye_color_arg: "eye_color",
    skin_tone_arg: "skin_tone",
    style_arg: "style",
    source_type_arg: "source_type",
    name_contains_arg: "name_contains",
);

pub(crate) fn name_arg(ob: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(expect_str(ob, "argument 'name'", "name", false)?.unwrap_or_default())
}

/// A sort key (`created_at`, ...), parsed by the core, which names `sort`.
/// Returned as the core's own `'static` spelling, the type the signature's
/// default (a literal, so the text signature shows it) has.
pub(crate) fn sort_arg(ob: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    let given = expect_str(ob, "argument 'sort'", "sort", false)?.unwrap_or_default();
    given.parse::<AvatarSort>().map(AvatarSort::snake_case).map_err(|e| crate::errors::store_error(ob.py(), e))
}

/// `asc` or `desc`, parsed by the core, which names `order`.
pub(crate) fn order_arg(ob: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    let given = expect_str(ob, "argument 'order'", "order", false)?.unwrap_or_default();
    given.parse::<SortOrder>().map(SortOrder::as_str).map_err(|e| crate::errors::store_error(ob.py(), e))
}

/// A page size: an `int` (not a `bool`) or `None`, checked by the core. An
/// int past 128 bits is shown as the largest 128-bit one in the message.
pub(crate) fn limit_arg(ob: &Bound<'_, PyAny>) -> PyResult<Option<u32>> {
    if ob.is_none() {
        return Ok(None);
    }
    let n = exact_int(ob, "argument 'limit'", "int or None")?;
    let n = n.extract::<i128>().unwrap_or_else(|_| if n.gt(0).unwrap_or(true) { i128::MAX } else { i128::MIN });
    avatar_store::check_limit(n).map(Some).map_err(|e| crate::errors::store_error(ob.py(), e))
}

/// The reader pool size: an `int` (not a `bool`) from 1 up.
pub(crate) fn readers_arg(ob: &Bound<'_, PyAny>) -> PyResult<u32> {
    let n = exact_int(ob, "argument 'readers'", "int")?;
    match n.extract::<u32>() {
        Ok(n) => Ok(n),
        Err(_) => Err(validation(ob.py(), "readers", format!("must be between 1 and {}, got {n}", u32::MAX))),
    }
}

/// The busy timeout in seconds: an `int` or `float`, not a `bool`.
pub(crate) fn busy_timeout_arg(ob: &Bound<'_, PyAny>) -> PyResult<f64> {
    if ob.is_instance_of::<PyBool>() || !(ob.is_instance_of::<PyInt>() || ob.is_instance_of::<PyFloat>()) {
        return Err(PyTypeError::new_err(format!(
            "argument 'busy_timeout': expected int or float (seconds), got {}",
            type_name(ob)
        )));
    }
    // An int too large for a float is far past the longest timeout anyway.
    Ok(ob.extract::<f64>().unwrap_or(f64::INFINITY))
}

/// `ctx` prefixes messages, e.g. `"avatars[3]"` in a batch.
fn key_ctx(ctx: &str, key: &str) -> String {
    if ctx.is_empty() { format!("argument '{key}'") } else { format!("{ctx}['{key}']") }
}

fn unexpected(ctx: &str, key: &str) -> PyErr {
    if ctx.is_empty() {
        PyTypeError::new_err(format!("unexpected keyword argument '{key}'"))
    } else {
        PyTypeError::new_err(format!("{ctx}: unexpected key '{key}'"))
    }
}

fn key_str<'a>(k: &'a Bound<'_, PyAny>, ctx: &str) -> PyResult<std::borrow::Cow<'a, str>> {
    match k.cast::<PyString>() {
        Ok(s) => s.to_cow(),
        Err(_) => Err(PyTypeError::new_err(format!("{ctx}: keys must be str, got {}", type_name(k)))),
    }
}

/// Every keyword an avatar accepts (`project_id` only on creation): core's
/// fields settable on creation, by their Python names.
fn avatar_fields() -> impl Iterator<Item = &'static FieldDescriptor> {
    AVATAR_FIELDS.iter().filter(|f| f.settable_on_create())
}

static INTERNED_AVATAR_KEYS: PyOnceLock<Vec<(Py<PyString>, &'static FieldDescriptor)>> = PyOnceLock::new();

/// The field a key names, or the key's text when it names none. Keyword
/// names and the keys of dict literals are interned strings, so a pointer
/// comparison against the interned known keys usually finds it without
/// converting (and allocating) it, once per field per item.
fn avatar_key<'a>(
    k: &'a Bound<'_, PyAny>,
    ctx: &str,
) -> PyResult<Result<&'static FieldDescriptor, std::borrow::Cow<'a, str>>> {
    let py = k.py();
    let interned = INTERNED_AVATAR_KEYS
        .get_or_init(py, || avatar_fields().map(|f| (PyString::intern(py, f.python_name).unbind(), f)).collect());
    if let Some((_, f)) = interned.iter().find(|(s, _)| s.as_ptr() == k.as_ptr()) {
        return Ok(Ok(f));
    }
    let key = key_str(k, ctx)?;
    Ok(avatar_fields().find(|f| f.python_name == key).ok_or(key))
}

/// A field's value read by its kind; `ctx` names the argument or key.
fn value_of(v: &Bound<'_, PyAny>, f: &FieldDescriptor, ctx: &str) -> PyResult<FieldValue> {
    Ok(match f.kind {
        FieldKind::Id => FieldValue::Id(uuid_of(v, f.json_name, ctx)?),
        FieldKind::Text => FieldValue::Text(expect_str(v, ctx, f.json_name, f.nullable)?),
        FieldKind::Integer | FieldKind::BigInteger => FieldValue::Integer(expect_int(v, ctx, f.json_name)?),
        FieldKind::Timestamp => return Err(PyTypeError::new_err(format!("{ctx}: cannot be set"))),
    })
}

/// Builds a `NewAvatar` from keyword arguments or a mapping with the same keys.
pub(crate) fn new_avatar(fields: &Bound<'_, PyAny>, ctx: &str) -> PyResult<NewAvatar> {
    let py = fields.py();
    let mapping = match fields.cast::<PyDict>() {
        Ok(d) => d.clone(),
        Err(_) => match fields.cast::<PyMapping>() {
            Ok(m) => {
                let d = PyDict::new(py);
                for item in m.items()?.iter() {
                    let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                    d.set_item(k, v)?;
                }
                d
            }
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "{ctx}: expected a mapping of avatar fields, got {}",
                    type_name(fields)
                )));
            }
        },
    };
    let mut new = NewAvatar::default();
    let mut given = Vec::with_capacity(2);
    for (k, v) in mapping.iter() {
        let f = avatar_key(&k, ctx)?.map_err(|key| unexpected(ctx, &key))?;
        let value = value_of(&v, f, &key_ctx(ctx, f.python_name))?;
        new.set(f.json_name, value).map_err(|e| store_error(py, e))?;
        if f.create == Create::Required {
            given.push(f.python_name);
        }
    }
    for f in avatar_fields().filter(|f| f.create == Create::Required) {
        let key = f.python_name;
        if !given.contains(&key) {
            return Err(if ctx.is_empty() {
                PyTypeError::new_err(format!("missing required keyword argument: '{key}'"))
            } else {
                PyTypeError::new_err(format!("{ctx}: missing required key '{key}'"))
            });
        }
    }
    Ok(new)
}

/// Builds an `AvatarPatch` from keyword arguments: a key given as `None`
/// clears that field, an absent key leaves it.
pub(crate) fn avatar_patch(changes: Option<&Bound<'_, PyDict>>) -> PyResult<AvatarPatch> {
    let mut patch = AvatarPatch::default();
    let Some(changes) = changes else { return Ok(patch) };
    for (k, v) in changes.iter() {
        let f = match avatar_key(&k, "")? {
            Ok(f) if f.patchable() => f,
            Ok(f) => return Err(unexpected("", f.python_name)),
            Err(key) => return Err(unexpected("", &key)),
        };
        let value = value_of(&v, f, &key_ctx("", f.python_name))?;
        patch.set(f.json_name, value).map_err(|e| store_error(k.py(), e))?;
    }
    Ok(patch)
}

/// Builds a `ProjectPatch` from keyword arguments (`description=None` clears it).
pub(crate) fn project_patch(changes: Option<&Bound<'_, PyDict>>) -> PyResult<ProjectPatch> {
    let mut patch = ProjectPatch::default();
    let Some(changes) = changes else { return Ok(patch) };
    for (k, v) in changes.iter() {
        let key = &*key_str(&k, "")?;
        match key {
            "name" => patch.name = expect_str(&v, &key_ctx("", key), "name", false)?,
            "description" => patch.description = Some(expect_str(&v, &key_ctx("", key), "description", true)?),
            _ => return Err(unexpected("", key)),
        }
    }
    Ok(patch)
}

/// JSON (as core serializes its reports) to Python objects.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value as V;
    Ok(match v {
        V::Null => py.None().into_bound(py),
        V::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        V::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any(),
        },
        V::String(s) => PyString::new(py, s).into_any(),
        V::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        V::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Python data shaped like JSON (dicts with str keys, lists, tuples, str,
/// int, float, bool, None) to JSON; `ctx` locates a wrong type.
pub(crate) fn py_to_json(ob: &Bound<'_, PyAny>, ctx: &str) -> PyResult<serde_json::Value> {
    use serde_json::Value as V;
    if ob.is_none() {
        return Ok(V::Null);
    }
    if let Ok(b) = ob.cast::<PyBool>() {
        return Ok(V::Bool(b.is_true()));
    }
    if ob.is_instance_of::<PyInt>() {
        return match ob.extract::<i64>() {
            Ok(i) => Ok(V::from(i)),
            Err(_) => Ok(V::from(
                ob.extract::<u64>()
                    .map_err(|_| PyTypeError::new_err(format!("{ctx}: integer does not fit in 64 bits")))?,
            )),
        };
    }
    if let Ok(f) = ob.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(V::Number)
            .ok_or_else(|| PyTypeError::new_err(format!("{ctx}: {} is not a JSON number", f.value())));
    }
    if let Ok(s) = ob.cast::<PyString>() {
        return Ok(V::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = ob.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let key = &*key_str(&k, ctx)?;
            let value = py_to_json(&v, &format!("{ctx}['{key}']"))?;
            map.insert(key.to_owned(), value);
        }
        return Ok(V::Object(map));
    }
    if ob.is_instance_of::<PyList>() || ob.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in ob.try_iter()?.enumerate() {
            items.push(py_to_json(&item?, &format!("{ctx}[{i}]"))?);
        }
        return Ok(V::Array(items));
    }
    if let Ok(m) = ob.cast::<PyMapping>() {
        let d = PyDict::new(ob.py());
        for item in m.items()?.iter() {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
            d.set_item(k, v)?;
        }
        return py_to_json(d.as_any(), ctx);
    }
    Err(PyTypeError::new_err(format!("{ctx}: {} is not JSON data", type_name(ob))))
}
