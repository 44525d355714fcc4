//! JavaScript arguments to core inputs.
//!
//! Each value is checked for its JavaScript type here, with a `TypeError`
//! naming the argument or property; every rule about the *values* (lengths,
//! ranges, URL schemes, ids) is left to the core, which names the field in a
//! `VALIDATION` error. Objects with a property this binding does not know are
//! refused, so a misspelt `hairColour` fails loudly instead of being dropped.

use std::sync::LazyLock;
use std::time::Duration;

use avatar_store::{
    AvatarPatch, AvatarQuery, AvatarSort, Create, FieldDescriptor, FieldKind, FieldValue, NewAvatar, NewProject,
    OpenOptions, Patch, ProjectPatch, ProjectQuery, SortOrder, Uuid,
};
use napi::bindgen_prelude::{Array, BigInt, Object, Unknown, Utf16String};
use napi::{JsValue, ValueType};
use napi_derive::napi;

use crate::fail::{Failure, wrong_type, wrong_value};

type R<T> = Result<T, Failure>;

/// Largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn describe(v: &Unknown) -> String {
    let t = v.get_type().unwrap_or(ValueType::Unknown);
    match t {
        ValueType::String => "type string".to_owned(),
        ValueType::Number => match unsafe { v.cast::<f64>() } {
            Ok(n) => format!("type number ({n})"),
            Err(_) => "type number".to_owned(),
        },
        ValueType::Object if v.is_array().unwrap_or(false) => "an array".to_owned(),
        ValueType::Null => "null".to_owned(),
        ValueType::Undefined => "undefined".to_owned(),
        other => format!("type {}", format!("{other:?}").to_lowercase()),
    }
}

fn is_nullish(v: &Unknown) -> R<bool> {
    Ok(matches!(v.get_type()?, ValueType::Null | ValueType::Undefined))
}

/// A required string argument. A lone surrogate, which UTF-8 cannot hold
/// (napi would store U+FFFD in its place), is a `VALIDATION` error naming the
/// field: the last part of `name` (`avatar.hairColor` names `hairColor`).
pub fn string(name: &str, v: Unknown) -> R<String> {
    if v.get_type()? != ValueType::String {
        return Err(wrong_type(name, "of type string", &describe(&v)));
    }
    // SAFETY: the type was just checked.
    let s = unsafe { v.cast::<String>()? };
    // Only text with a replacement character can have lost a surrogate, so
    // other strings are not read twice.
    if s.contains('\u{FFFD}') {
        // SAFETY: the type was checked above.
        let units = unsafe { v.cast::<Utf16String>()? };
        if char::decode_utf16(units.iter().copied()).any(|c| c.is_err()) {
            let field = name.rsplit('.').next().unwrap_or(name);
            return Err(avatar_store::Error::Validation {
                field: field.to_owned(),
                message: "must be valid Unicode text; it contains an unpaired surrogate".into(),
            }
            .into());
        }
    }
    Ok(s)
}

/// A required id argument: a string the core parses as a UUID.
pub fn id(name: &str, v: Unknown) -> R<Uuid> {
    Ok(avatar_store::parse_id(name, &string(name, v)?)?)
}

/// An optional argument: `undefined` and `null` read as absent.
pub fn optional<'a>(v: Option<Unknown<'a>>) -> R<Option<Unknown<'a>>> {
    match v {
        Some(v) if !is_nullish(&v)? => Ok(Some(v)),
        _ => Ok(None),
    }
}

/// The properties of an options or record object, checked one by one.
pub struct Props<'a> {
    obj: Object<'a>,
    name: &'static str,
}

impl<'a> Props<'a> {
    /// `v` must be a plain object (not an array, not null) whose keys are all in `known`.
    pub fn new(name: &'static str, v: Unknown<'a>, known: &[&str]) -> R<Self> {
        if v.get_type()? != ValueType::Object || v.is_array()? {
            return Err(wrong_type(name, "an object", &describe(&v)));
        }
        // SAFETY: the type was just checked.
        let obj = unsafe { v.cast::<Object>()? };
        for key in Object::keys(&obj)? {
            if !known.contains(&key.as_str()) {
                return Err(wrong_value(
                    name,
                    format!("has an unknown property \"{key}\"; known properties are: {}", known.join(", ")),
                ));
            }
        }
        Ok(Props { obj, name })
    }

    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.name)
    }

    /// The value of `key`; `None` when absent or `undefined`.
    fn get(&self, key: &str) -> R<Option<Unknown<'a>>> {
        Ok(self.obj.get::<Unknown>(key)?)
    }

    pub fn required_string(&self, key: &str) -> R<String> {
        match self.get(key)? {
            Some(v) => string(&self.path(key), v),
            None => Err(wrong_type(&self.path(key), "of type string", "undefined")),
        }
    }

    /// `null` and absent both read as `None`.
    pub fn string(&self, key: &str) -> R<Option<String>> {
        match optional(self.get(key)?)? {
            Some(v) => string(&self.path(key), v).map(Some),
            None => Ok(None),
        }
    }

    /// Absent leaves a field as it is (`None`), `null` clears it (`Some(None)`).
    pub fn patch_string(&self, key: &str) -> R<Option<Option<String>>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) if v.get_type()? == ValueType::Null => Ok(Some(None)),
            Some(v) => string(&self.path(key), v).map(|s| Some(Some(s))),
        }
    }

    /// A name may be changed but not cleared.
    pub fn patch_name(&self, key: &str) -> R<Option<String>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) => string(&self.path(key), v).map(Some),
        }
    }

    pub fn bool(&self, key: &str) -> R<Option<bool>> {
        match optional(self.get(key)?)? {
            Some(v) if v.get_type()? == ValueType::Boolean => Ok(Some(unsafe { v.cast::<bool>()? })),
            Some(v) => Err(wrong_type(&self.path(key), "of type boolean", &describe(&v))),
            None => Ok(None),
        }
    }

    /// A whole number; with `big`, a `bigint` in the 64-bit range is accepted too.
    fn integer(&self, key: &str, v: Unknown, big: bool) -> R<i64> {
        let path = self.path(key);
        let expected = if big { "an integer (number or bigint)" } else { "an integer" };
        match v.get_type()? {
            ValueType::Number => {
                let n = unsafe { v.cast::<f64>()? };
                if n.fract() != 0.0 || !n.is_finite() {
                    return Err(wrong_type(&path, expected, &describe(&v)));
                }
                if n.abs() > MAX_SAFE_INTEGER {
                    let hint = if big { "; pass a bigint for larger values" } else { "" };
                    return Err(wrong_value(&path, format!("must be a safe integer, got {n}{hint}")));
                }
                Ok(n as i64)
            }
            ValueType::BigInt if big => {
                let (n, lossless) = unsafe { v.cast::<BigInt>()? }.get_i64();
                if !lossless {
                    return Err(wrong_value(&path, "must fit in a signed 64-bit integer"));
                }
                Ok(n)
            }
            _ => Err(wrong_type(&path, expected, &describe(&v))),
        }
    }

    pub fn int(&self, key: &str, big: bool) -> R<Option<i64>> {
        match optional(self.get(key)?)? {
            Some(v) => self.integer(key, v, big).map(Some),
            None => Ok(None),
        }
    }

    pub fn patch_int(&self, key: &str, big: bool) -> R<Option<Option<i64>>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) if v.get_type()? == ValueType::Null => Ok(Some(None)),
            Some(v) => self.integer(key, v, big).map(|n| Some(Some(n))),
        }
    }

    /// A page size, checked by the core.
    pub fn limit(&self) -> R<Option<u32>> {
        match self.int("limit", false)? {
            None => Ok(None),
            Some(n) => Ok(Some(avatar_store::check_limit(n.into())?)),
        }
    }

    pub fn id(&self, key: &str) -> R<Option<Uuid>> {
        match self.string(key)? {
            Some(s) => Ok(Some(avatar_store::parse_id(key, &s)?)),
            None => Ok(None),
        }
    }
}

/// An error of opening a store, naming the option as a Node caller spells
/// it: the core's `busyTimeout` is `busyTimeoutMs` here.
pub fn open_error(e: avatar_store::Error) -> avatar_store::Error {
    match e {
        avatar_store::Error::Validation { field, message } if field == "busyTimeout" => {
            avatar_store::Error::Validation { field: "busyTimeoutMs".into(), message }
        }
        e => e,
    }
}

/// Reads `new Store(path, options)`'s options.
pub fn open_options(v: Option<Unknown>) -> R<OpenOptions> {
    let mut o = OpenOptions::default();
    let Some(v) = optional(v)? else { return Ok(o) };
    let p = Props::new("options", v, &["migrate", "backup", "verify", "busyTimeoutMs", "readers", "schema"])?;
    if let Some(b) = p.bool("migrate")? {
        o = o.migrate(b);
    }
    if let Some(b) = p.bool("backup")? {
        o = o.backup(b);
    }
    if let Some(b) = p.bool("verify")? {
        o = o.verify(b);
    }
    if let Some(ms) = p.int("busyTimeoutMs", false)? {
        // The core checks the upper bound at open (see `open_error`).
        let ms = u64::try_from(ms).map_err(|_| wrong_value("options.busyTimeoutMs", "must not be negative"))?;
        o = o.busy_timeout(Duration::from_millis(ms));
    }
    if let Some(n) = p.int("readers", false)? {
        let n = u32::try_from(n).map_err(|_| wrong_value("options.readers", "must be between 1 and 4294967295"))?;
        o = o.readers(n);
    }
    if let Some(schema) = p.string("schema")? {
        // The core checks the name at open.
        o = o.schema(schema);
    }
    Ok(o)
}

/// The properties of a new project.
static PROJECT_NEW_FIELDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    avatar_store::PROJECT_FIELDS.iter().filter(|f| f.settable_on_create()).map(|f| f.json_name).collect()
});

/// The properties a project patch may change.
static PROJECT_PATCH_FIELDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| avatar_store::PROJECT_FIELDS.iter().filter(|f| f.patchable()).map(|f| f.json_name).collect());

const PROJECT_QUERY_FIELDS: &[&str] = &["limit", "cursor"];

pub fn new_project(v: Unknown, json: Option<String>) -> R<NewProject> {
    if let Some(p) = encoded(json) {
        return Ok(p);
    }
    let p = Props::new("project", v, &PROJECT_NEW_FIELDS)?;
    Ok(NewProject { name: p.required_string("name")?, description: p.string("description")? })
}

pub fn project_patch(v: Unknown, json: Option<String>) -> R<ProjectPatch> {
    if let Some(p) = encoded(json) {
        return Ok(p);
    }
    let p = Props::new("patch", v, &PROJECT_PATCH_FIELDS)?;
    Ok(ProjectPatch { name: p.patch_name("name")?, description: p.patch_string("description")? })
}

pub fn project_query(v: Option<Unknown>, json: Option<String>) -> R<ProjectQuery> {
    if let Some(q) = encoded::<ProjectQuery>(json) {
        checked_limit(q.limit)?;
        return Ok(q);
    }
    let Some(v) = optional(v)? else { return Ok(ProjectQuery::default()) };
    let p = Props::new("query", v, PROJECT_QUERY_FIELDS)?;
    Ok(ProjectQuery { limit: p.limit()?, cursor: p.string("cursor")? })
}

/// The properties of a new avatar, in core's column order.
pub static AVATAR_FIELDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    avatar_store::AVATAR_FIELDS.iter().filter(|f| f.settable_on_create()).map(|f| f.json_name).collect()
});

/// The properties a patch may change.
static PATCH_FIELDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| avatar_store::AVATAR_FIELDS.iter().filter(|f| f.patchable()).map(|f| f.json_name).collect());

/// The properties of a query: the project, core's filterable fields, then the
/// name filter, sort and page.
static QUERY_FIELDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let filters = avatar_store::AVATAR_FIELDS.iter().filter(|f| f.filterable).map(|f| f.json_name);
    std::iter::once("projectId").chain(filters).chain(["nameContains", "sort", "order", "limit", "cursor"]).collect()
});

/// Tells `store.js` which properties a new avatar has and needs:
/// `{ known: string[], required: string[] }`.
#[napi(js_name = "__newAvatarFields", skip_typescript)]
pub fn new_avatar_fields() -> serde_json::Value {
    let required: Vec<&str> =
        avatar_store::AVATAR_FIELDS.iter().filter(|f| f.create == Create::Required).map(|f| f.json_name).collect();
    serde_json::json!({ "known": *AVATAR_FIELDS, "required": required })
}

/// The fields of `fields` a patch may change but not clear: serde reads a
/// JSON `null` there as "unchanged", the reader refuses it, so store.js
/// leaves such a patch to the reader.
fn not_null(fields: &[FieldDescriptor]) -> Vec<&'static str> {
    fields.iter().filter(|f| f.patch == Patch::Set).map(|f| f.json_name).collect()
}

/// Tells `store.js` the properties of each object argument it may encode as
/// JSON: for each, `known` (any other property is the reader's TypeError),
/// `required` (must be strings) and `notNull` (must not be `null`).
#[napi(js_name = "__inputFields", skip_typescript)]
pub fn input_fields() -> serde_json::Value {
    serde_json::json!({
        "newAvatar": new_avatar_fields(),
        "avatarPatch": { "known": *PATCH_FIELDS, "notNull": not_null(avatar_store::AVATAR_FIELDS) },
        "avatarQuery": { "known": *QUERY_FIELDS },
        "newProject": {
            "known": *PROJECT_NEW_FIELDS,
            "required": avatar_store::PROJECT_FIELDS.iter()
                .filter(|f| f.create == Create::Required).map(|f| f.json_name).collect::<Vec<_>>(),
        },
        "projectPatch": { "known": *PROJECT_PATCH_FIELDS, "notNull": not_null(avatar_store::PROJECT_FIELDS) },
        "projectQuery": { "known": PROJECT_QUERY_FIELDS },
    })
}

/// The reader checks a page size as it reads it; a decoded query is
/// checked the same way, so the error and its order are the same.
fn checked_limit(limit: Option<u32>) -> R<()> {
    if let Some(n) = limit {
        avatar_store::check_limit(n.into())?;
    }
    Ok(())
}

/// A field's value read by its kind: `bigint` is accepted where the field
/// holds 64 bits.
fn value_of(p: &Props, f: &FieldDescriptor) -> R<FieldValue> {
    let key = f.json_name;
    Ok(match f.kind {
        FieldKind::Id => FieldValue::Id(avatar_store::parse_id(key, &p.required_string(key)?)?),
        FieldKind::Text if f.create == Create::Required => FieldValue::Text(Some(p.required_string(key)?)),
        FieldKind::Text => FieldValue::Text(p.string(key)?),
        FieldKind::Integer | FieldKind::BigInteger => FieldValue::Integer(p.int(key, f.kind == FieldKind::BigInteger)?),
        FieldKind::Timestamp => return Err(wrong_value(key, "cannot be set")),
    })
}

fn new_avatar_from(p: &Props) -> R<NewAvatar> {
    let mut new = NewAvatar::default();
    for f in avatar_store::AVATAR_FIELDS.iter().filter(|f| f.settable_on_create()) {
        new.set(f.json_name, value_of(p, f)?)?;
    }
    Ok(new)
}

/// What store.js's JSON of a value reads as; `None` when it declined to
/// encode the value (it encodes only what reads back exactly) or the JSON
/// does not deserialize, and the property reader then gives its verdict.
fn encoded<T: serde::de::DeserializeOwned>(json: Option<String>) -> Option<T> {
    serde_json::from_str(&json?).ok()
}

/// The `encoded` argument of `run`/`runSync` as JSON text; `None` when store.js left it out.
pub fn encoded_json(v: Option<Unknown>) -> R<Option<String>> {
    optional(v)?.map(|v| string("encoded", v)).transpose()
}

/// The `encoded` argument as UTF-16 code units, so a lone surrogate survives to be named.
pub fn encoded_wire(v: Option<Unknown>) -> R<Option<Utf16String>> {
    match optional(v)? {
        Some(v) if v.get_type()? == ValueType::String => Ok(Some(unsafe { v.cast::<Utf16String>()? })),
        Some(v) => Err(wrong_type("encoded", "of type string", &describe(&v))),
        None => Ok(None),
    }
}

pub fn new_avatar(v: Unknown, wire: Option<Utf16String>) -> R<NewAvatar> {
    if let Some(units) = wire {
        let mut new = new_avatars_wire(&units)?;
        return match (new.pop(), new.is_empty()) {
            (Some(a), true) => Ok(a),
            _ => Err(malformed()),
        };
    }
    new_avatar_from(&Props::new("avatar", v, &AVATAR_FIELDS)?)
}

pub fn new_avatars(v: Unknown, json: Option<String>) -> R<Vec<NewAvatar>> {
    if let Some(a) = encoded(json) {
        return Ok(a);
    }
    if !v.is_array()? {
        return Err(wrong_type("avatars", "an array", &describe(&v)));
    }
    // SAFETY: the type was just checked.
    let arr = unsafe { v.cast::<Array>()? };
    let mut out = Vec::with_capacity(arr.len() as usize);
    for i in 0..arr.len() {
        let Some(item) = arr.get::<Unknown>(i)? else {
            return Err(wrong_type(&format!("avatars[{i}]"), "an object", "undefined"));
        };
        let p = Props::new("avatar", item, &AVATAR_FIELDS).map_err(|e| at_index(e, i))?;
        out.push(new_avatar_from(&p).map_err(|e| at_index(e, i))?);
    }
    Ok(out)
}

/// Names the array element in a `TypeError` about one of `createAvatars`' items.
fn at_index(e: Failure, i: u32) -> Failure {
    match e {
        Failure::Arg { code, message, argument } => Failure::Arg {
            code,
            message: message.replacen("\"avatar", &format!("\"avatars[{i}]"), 1),
            argument: argument.replacen("avatar", &format!("avatars[{i}]"), 1),
        },
        e => e,
    }
}

pub fn avatar_patch(v: Unknown, json: Option<String>) -> R<AvatarPatch> {
    if let Some(p) = encoded(json) {
        return Ok(p);
    }
    // The project, owner and usage counters are not editable.
    let p = Props::new("patch", v, &PATCH_FIELDS)?;
    let mut patch = AvatarPatch::default();
    for f in avatar_store::AVATAR_FIELDS.iter().filter(|f| f.patchable()) {
        let key = f.json_name;
        let change = match (f.patch, f.kind) {
            (Patch::Set, _) => p.patch_name(key)?.map(|s| FieldValue::Text(Some(s))),
            (_, FieldKind::Text) => p.patch_string(key)?.map(FieldValue::Text),
            (_, FieldKind::Integer | FieldKind::BigInteger) => {
                p.patch_int(key, f.kind == FieldKind::BigInteger)?.map(FieldValue::Integer)
            }
            _ => return Err(wrong_value(key, "cannot be changed")),
        };
        if let Some(v) = change {
            patch.set(key, v)?;
        }
    }
    Ok(patch)
}

pub fn avatar_query(v: Option<Unknown>, json: Option<String>) -> R<AvatarQuery> {
    if let Some(q) = encoded::<AvatarQuery>(json) {
        checked_limit(q.limit)?;
        return Ok(q);
    }
    let Some(v) = optional(v)? else { return Ok(AvatarQuery::default()) };
    let p = Props::new("query", v, &QUERY_FIELDS)?;
    let sort = p.string("sort")?.map(|s| s.parse::<AvatarSort>()).transpose()?.unwrap_or_default();
    let order = p.string("order")?.map(|s| s.parse::<SortOrder>()).transpose()?.unwrap_or_default();
    let mut q = AvatarQuery {
        project_id: p.id("projectId")?,
        name_contains: p.string("nameContains")?,
        sort,
        order,
        limit: p.limit()?,
        cursor: p.string("cursor")?,
        ..Default::default()
    };
    for f in avatar_store::AVATAR_FIELDS.iter().filter(|f| f.filterable) {
        q.set_filter(f.json_name, p.string(f.json_name)?);
    }
    Ok(q)
}

// ------------------------------------------------------------ wire form

/// An encoding store.js made that this reader cannot follow: a bug of the
/// package (store.js and the addon out of step), never the caller's.
fn malformed() -> Failure {
    Failure::Core(avatar_store::Error::Internal("store.js sent a malformed new avatar".into()))
}

/// New avatars as store.js's `newAvatarWire` writes them, one after the
/// other (store.js sends one; an array crosses as JSON, which
/// `JSON.stringify` writes faster than a string built piece by piece): the properties a new avatar may have ([`AVATAR_FIELDS`], core's
/// column order), each in the layout of a record's field (src/write.rs):
/// text with its length in 4 characters first (all 0xFF: absent), an
/// integer as a tag (0 absent, 1 positive, 2 negative) and 7 characters.
/// store.js encodes only plain objects whose values have the field's
/// JavaScript type, so every rule left is core's, except that a lone
/// surrogate is a `VALIDATION` error naming the field, as for the reader.
pub fn new_avatars_wire(units: &[u16]) -> R<Vec<NewAvatar>> {
    let mut r = Wire { units, at: 0 };
    let mut out = Vec::new();
    while r.at < units.len() {
        let mut new = NewAvatar::default();
        for f in avatar_store::AVATAR_FIELDS.iter().filter(|f| f.settable_on_create()) {
            let key = f.json_name;
            let value = match f.kind {
                FieldKind::Id => match r.text(key)? {
                    Some(id) => FieldValue::Id(avatar_store::parse_id(key, &id)?),
                    None => return Err(malformed()),
                },
                FieldKind::Text => FieldValue::Text(r.text(key)?),
                FieldKind::Integer | FieldKind::BigInteger => FieldValue::Integer(r.int()?),
                FieldKind::Timestamp => return Err(malformed()),
            };
            new.set(key, value)?;
        }
        out.push(new);
    }
    Ok(out)
}

struct Wire<'a> {
    units: &'a [u16],
    at: usize,
}

impl Wire<'_> {
    /// `n` characters of 8 bits, most significant first.
    fn bytes(&mut self, n: usize) -> R<u64> {
        let Some(units) = self.units.get(self.at..self.at + n) else { return Err(malformed()) };
        self.at += n;
        units.iter().try_fold(0u64, |acc, &u| if u > 0xFF { Err(malformed()) } else { Ok(acc << 8 | u64::from(u)) })
    }

    fn text(&mut self, field: &str) -> R<Option<String>> {
        let n = self.bytes(4)?;
        if n == u64::from(u32::MAX) {
            return Ok(None);
        }
        let Some(units) = self.units.get(self.at..self.at + n as usize) else { return Err(malformed()) };
        self.at += n as usize;
        String::from_utf16(units).map(Some).map_err(|_| {
            avatar_store::Error::Validation {
                field: field.to_owned(),
                message: "must be valid Unicode text; it contains an unpaired surrogate".into(),
            }
            .into()
        })
    }

    fn int(&mut self) -> R<Option<i64>> {
        let tag = self.bytes(1)?;
        let n = match tag {
            0 => return Ok(None),
            1 | 2 => self.bytes(7)?,
            _ => return Err(malformed()),
        };
        // store.js sends only safe integers: at most 2^53 - 1.
        let n = i64::try_from(n).map_err(|_| malformed())?;
        Ok(Some(if tag == 2 { -n } else { n }))
    }
}
