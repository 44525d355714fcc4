//! Core results to JavaScript values.
//!
//! A record (a project or an avatar) crosses as one string in the wire form
//! below, encoded here (on the worker thread for Promise methods) and turned
//! into an object with `Date` fields by `store.js`; a list of records is an
//! array of such strings. Setting an avatar's 26 properties one napi call at
//! a time took about 9 µs and `JSON.parse` of its JSON about 4 (V8
//! internalizes short strings it parses); reading the wire form with
//! `charCodeAt` and `slice` takes under 2. Counts and reports still cross as
//! JSON. Their TypeScript interfaces are in `src/dts-header.d.ts`; absent
//! optional values are `null`, never missing, so every avatar has all its
//! columns.

use avatar_store::{
    AVATAR_FIELDS, FieldDescriptor, FieldKind, FieldRef, MigrationOutcome, MigrationStatus, PROJECT_FIELDS, Page,
    RepairOutcome, SchemaReport,
};
use napi::bindgen_prelude::{ToNapiValue, TypeName, check_status};
use napi::{ValueType, sys};
use napi_derive::napi;
use serde::Serialize;

/// Numbers of records, as `store.js` reads them (`Counts` in dts-header.d.ts).
#[derive(serde::Serialize)]
struct Counts {
    projects: u64,
    avatars: u64,
}

/// A migration compiled into this build.
#[napi(object)]
pub struct EmbeddedMigration {
    /// The `n` of `V{n}__{name}.sql`.
    pub version: i32,
    pub name: String,
    /// The checksum refinery records in `refinery_schema_history`.
    pub checksum: String,
    pub sql: String,
}

/// What an operation produced, converted to JavaScript on the main thread.
// One value per call, moved once from the worker to the main thread: boxing
// the large variants would cost an allocation and save nothing.
#[allow(clippy::large_enum_variant)]
pub enum Out {
    Unit,
    Project(avatar_store::Project),
    Projects(Page<avatar_store::Project>),
    ProjectsWithAvatars(Page<avatar_store::ProjectWithAvatars>),
    Avatar(avatar_store::Avatar),
    Avatars(Vec<avatar_store::Avatar>),
    AvatarPage(Page<avatar_store::Avatar>),
    /// Counts and reports already serialized for `store.js`.
    Json(String),
    /// Records already in their wire form.
    Wire(Wire),
    Counts(u64, u64),
    Report(SchemaReport),
    Repair(RepairOutcome),
    Migration(MigrationOutcome),
    Status(MigrationStatus),
    Restore(avatar_store::RestoreOutcome),
    Opened(std::sync::Arc<avatar_store::Store>),
    /// A chunk of an export's lines; `None` after the last.
    Text(Option<String>),
}

impl From<avatar_store::Written> for Out {
    fn from(written: avatar_store::Written) -> Out {
        match written {
            avatar_store::Written::Project(p) => Out::Project(p),
            avatar_store::Written::Avatar(a) => Out::Avatar(a),
            avatar_store::Written::Deleted => Out::Unit,
        }
    }
}

impl Out {
    /// How many records an encoded result carries.
    pub fn records(&self) -> usize {
        match self {
            Out::Wire(Wire::One(_)) => 1,
            Out::Wire(Wire::List(items)) => items.len(),
            _ => 0,
        }
    }

    /// Encodes records into their wire form and serializes counts and
    /// reports, so a Promise method does it on the worker thread; other
    /// values pass through.
    pub fn encoded(self) -> Out {
        Out::Json(match &self {
            Out::Counts(projects, avatars) => to_json(&Counts { projects: *projects, avatars: *avatars }),
            Out::Report(r) => to_json(r),
            Out::Repair(r) => to_json(r),
            Out::Migration(m) => to_json(m),
            Out::Status(s) => to_json(s),
            Out::Restore(r) => to_json(r),
            Out::Project(p) => return Out::Wire(Wire::One(record(PROJECT_FIELDS, &p.values(), None))),
            Out::Avatar(a) => return Out::Wire(Wire::One(record(AVATAR_FIELDS, &a.values(), None))),
            Out::Avatars(v) => {
                let mut list = AvatarList::default();
                return Out::Wire(Wire::List(v.iter().map(|a| list.item(a)).collect()));
            }
            Out::Projects(page) => {
                return Out::Wire(Wire::page(page, |p, items| {
                    items.push(Item::Record(record(PROJECT_FIELDS, &p.values(), None)))
                }));
            }
            Out::ProjectsWithAvatars(page) => {
                let mut list = AvatarList::default();
                return Out::Wire(Wire::page(page, |p, items| {
                    items.push(Item::Record(record(PROJECT_FIELDS, &p.project.values(), None)));
                    items.push(Item::Count(p.avatars.len() as u32));
                    items.extend(p.avatars.iter().map(|a| list.item(a)));
                }));
            }
            Out::AvatarPage(page) => {
                let mut list = AvatarList::default();
                return Out::Wire(Wire::page(page, |a, items| items.push(list.item(a))));
            }
            _ => return self,
        })
    }
}

impl TypeName for Out {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for Out {
    unsafe fn to_napi_value(env: sys::napi_env, out: Self) -> napi::Result<sys::napi_value> {
        unsafe {
            match out.encoded() {
                Out::Unit => <()>::to_napi_value(env, ()),
                Out::Json(json) => String::to_napi_value(env, json),
                Out::Wire(wire) => Wire::to_napi_value(env, wire),
                Out::Opened(store) => crate::Store::to_napi_value(env, crate::Store::wrap(store)),
                Out::Text(text) => Option::<String>::to_napi_value(env, text),
                // encoded() turned every record, count and report into Json.
                _ => Err(napi::Error::from_reason("avatar-store: a result was not encoded")),
            }
        }
    }
}

// ------------------------------------------------------------ wire form
//
// A record is one string: its fields in the order of core's field table
// (`AVATAR_FIELDS`, `PROJECT_FIELDS`), each
//
// - id or text: its length in UTF-16 code units as 4 characters of 8 bits
//   each, most significant first (all four 0xFF: null; 0xFF 0xFF 0xFF 0xFE:
//   the same text as this field of the list's previous avatar, with nothing
//   after it), then the text;
// - integer or time (epoch milliseconds): one tag character, 0 null, 1 a
//   non-negative and 2 a negative number whose magnitude follows in 7
//   characters of 8 bits, 3 a number beyond 2^53 − 1 in magnitude, whose
//   decimal text follows like a text field (store.js makes a bigint of it).
//
// A string whose text is all ASCII is made from these bytes as Latin-1, with
// nothing for V8 to decode; any other is made from UTF-16 code units.
// store.js reads it with `charCodeAt` and `slice` (its `Reader`), and checks
// its field lists against `__wireFields()` when it loads.

fn to_json<T: Serialize>(v: &T) -> String {
    // Serializing these structs cannot fail: every key is a string, no value
    // is a float, and paths are written lossily.
    serde_json::to_string(v).unwrap_or_default()
}

const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
const NULL_TEXT: u32 = u32::MAX;
const SAME_TEXT: u32 = u32::MAX - 1;

/// One record in its wire form.
pub enum Text {
    Latin1(Vec<u8>),
    Utf16(Vec<u16>),
}

/// An element of a list result: a record, a page's cursor, or the number of
/// avatars of the project before them.
pub enum Item {
    Record(Text),
    Cursor(Option<String>),
    Count(u32),
}

/// A result of records: one (a string), or a list (an array): the items of
/// `Vec<Avatar>`; a page's cursor, then its items; for projects with
/// avatars, the cursor, then each project, its avatar count and its avatars.
pub enum Wire {
    One(Text),
    List(Vec<Item>),
}

impl Wire {
    fn page<'a, T>(page: &'a Page<T>, mut push: impl FnMut(&'a T, &mut Vec<Item>)) -> Wire {
        let mut items = Vec::with_capacity(page.items.len() + 1);
        items.push(Item::Cursor(page.next_cursor.clone()));
        for item in &page.items {
            push(item, &mut items);
        }
        Wire::List(items)
    }
}

/// The avatars of one list result, encoded in order: a text or id equal to
/// the previous avatar's goes as `SAME_TEXT`, and store.js reuses that
/// avatar's string. The user id of a list and the project id of a project's
/// avatars always repeat, and attributes chosen from a few values often do.
// Measured on W6 (2,000 avatars of the bench's data per call): the wire went
// from 1.02 to 0.52 million characters, and V8's young allocation per call
// from about 3.5 to 2.0 MB. The allocation is what counts with Promise calls
// in flight: a Promise pending across two young collections grows old, and
// the page it then resolves with is kept alive by it, and copied, until the
// next full collection.
#[derive(Default)]
struct AvatarList<'a> {
    /// The previous avatar's values, read once for its own record.
    prev: Option<[FieldRef<'a>; AVATAR_FIELDS.len()]>,
}

impl<'a> AvatarList<'a> {
    fn item(&mut self, a: &'a avatar_store::Avatar) -> Item {
        let values = a.values();
        let item = Item::Record(record(AVATAR_FIELDS, &values, self.prev.as_ref().map(|p| &p[..])));
        self.prev = Some(values);
        item
    }
}

/// A code unit of the wire text: a Latin-1 byte or a UTF-16 unit.
trait Unit: Copy {
    fn of(byte: u8) -> Self;
    fn push_text(out: &mut Vec<Self>, text: &str);
}

impl Unit for u8 {
    fn of(byte: u8) -> Self {
        byte
    }

    fn push_text(out: &mut Vec<u8>, text: &str) {
        // Only ASCII text reaches a Latin-1 record (see `record`).
        out.extend_from_slice(text.as_bytes());
    }
}

impl Unit for u16 {
    fn of(byte: u8) -> Self {
        byte.into()
    }

    fn push_text(out: &mut Vec<u16>, text: &str) {
        out.extend(text.encode_utf16());
    }
}

fn push_text<U: Unit>(out: &mut Vec<U>, text: Option<&str>) {
    let at = out.len();
    out.extend(NULL_TEXT.to_be_bytes().map(U::of));
    if let Some(text) = text {
        U::push_text(out, text);
        // V8 strings are far shorter than 2^32 − 1 units.
        let len = (out.len() - at - 4) as u32;
        for (slot, byte) in out[at..at + 4].iter_mut().zip(len.to_be_bytes()) {
            *slot = U::of(byte);
        }
    }
}

fn push_int<U: Unit>(out: &mut Vec<U>, n: Option<i64>) {
    match n {
        None => out.push(U::of(0)),
        Some(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER => {
            out.push(U::of(if n < 0 { 2 } else { 1 }));
            out.extend(n.unsigned_abs().to_be_bytes()[1..].iter().map(|&b| U::of(b)));
        }
        Some(n) => {
            out.push(U::of(3));
            push_text(out, Some(&n.to_string()));
        }
    }
}

fn encode<U: Unit>(values: &[FieldRef<'_>], prev: Option<&[FieldRef<'_>]>, capacity: usize) -> Vec<U> {
    let mut out = Vec::with_capacity(capacity);
    let mut id = avatar_store::Uuid::encode_buffer();
    for (k, value) in values.iter().enumerate() {
        if matches!(value, FieldRef::Id(_) | FieldRef::Text(Some(_))) && prev.is_some_and(|p| p[k] == *value) {
            out.extend(SAME_TEXT.to_be_bytes().map(U::of));
            continue;
        }
        match *value {
            FieldRef::Id(v) => push_text(&mut out, Some(v.hyphenated().encode_lower(&mut id))),
            FieldRef::Text(t) => push_text(&mut out, t),
            FieldRef::Integer(n) => push_int(&mut out, n),
            FieldRef::Timestamp(t) => push_int(&mut out, t.map(|t| t.timestamp_millis())),
        }
    }
    out
}

/// A record's wire text; `fields` only documents which table `values` follow,
/// and `prev` is the previous record of the same list (see `AvatarList`).
fn record(fields: &[FieldDescriptor], values: &[FieldRef<'_>], prev: Option<&[FieldRef<'_>]>) -> Text {
    debug_assert_eq!(fields.len(), values.len());
    // The exact length of an ASCII record, so its buffer is allocated once.
    let (mut ascii, mut capacity) = (true, 0);
    for v in values {
        capacity += match v {
            FieldRef::Id(_) => 40,
            FieldRef::Text(t) => {
                let t = t.unwrap_or_default();
                ascii &= t.is_ascii();
                4 + t.len()
            }
            FieldRef::Integer(_) | FieldRef::Timestamp(_) => 8,
        };
    }
    if ascii { Text::Latin1(encode(values, prev, capacity)) } else { Text::Utf16(encode(values, prev, capacity)) }
}

impl ToNapiValue for Text {
    unsafe fn to_napi_value(env: sys::napi_env, text: Self) -> napi::Result<sys::napi_value> {
        let mut out = std::ptr::null_mut();
        unsafe {
            match &text {
                Text::Latin1(b) => check_status!(
                    sys::napi_create_string_latin1(env, b.as_ptr().cast(), b.len() as isize, &mut out),
                    "creating a record's string failed"
                )?,
                Text::Utf16(u) => check_status!(
                    sys::napi_create_string_utf16(env, u.as_ptr(), u.len() as isize, &mut out),
                    "creating a record's string failed"
                )?,
            }
        }
        Ok(out)
    }
}

impl ToNapiValue for Wire {
    unsafe fn to_napi_value(env: sys::napi_env, wire: Self) -> napi::Result<sys::napi_value> {
        match wire {
            // SAFETY: the caller's (on the JavaScript thread of `env`).
            Wire::One(text) => unsafe { Text::to_napi_value(env, text) },
            Wire::List(items) => unsafe { list(env, items, |env, text| Text::to_napi_value(env, text)) },
        }
    }
}

impl Out {
    /// The value a Promise method resolves with: as `to_napi_value`, except
    /// that when other calls are still pending (`crowded`), the records of
    /// a list are external strings where Node has them (see src/external.rs).
    ///
    /// # Safety
    /// On the JavaScript thread of `env`.
    pub unsafe fn to_settled_value(env: sys::napi_env, out: Out, crowded: bool) -> napi::Result<sys::napi_value> {
        match (out, crate::external::api()) {
            // SAFETY: the caller's.
            (Out::Wire(Wire::List(items)), Some(api)) if crowded => unsafe {
                list(env, items, |env, text| crate::external::string(env, api, text))
            },
            (out, _) => unsafe { Out::to_napi_value(env, out) },
        }
    }
}

/// A list result's array, each record's string made by `string`.
unsafe fn list(
    env: sys::napi_env,
    items: Vec<Item>,
    string: impl Fn(sys::napi_env, Text) -> napi::Result<sys::napi_value>,
) -> napi::Result<sys::napi_value> {
    unsafe {
        let mut array = std::ptr::null_mut();
        check_status!(sys::napi_create_array_with_length(env, items.len(), &mut array), "creating an array failed")?;
        for (i, item) in items.into_iter().enumerate() {
            let value = match item {
                Item::Record(text) => string(env, text)?,
                Item::Cursor(cursor) => Option::<String>::to_napi_value(env, cursor)?,
                Item::Count(n) => u32::to_napi_value(env, n)?,
            };
            check_status!(sys::napi_set_element(env, array, i as u32, value), "filling an array failed")?;
        }
        Ok(array)
    }
}

/// How store.js reads each field of the wire form: `text` (ids and text),
/// `int`, `bigint` (a number, or a bigint beyond 2^53 − 1) or `time`.
fn reader(f: &FieldDescriptor) -> &'static str {
    match f.kind {
        FieldKind::Id | FieldKind::Text => "text",
        FieldKind::Integer => "int",
        FieldKind::BigInteger => "bigint",
        FieldKind::Timestamp => "time",
    }
}

/// The fields of each record in wire order, with how store.js reads them:
/// `{ avatar: [name, reader][], project: [name, reader][] }`, checked by
/// store.js when it loads.
#[napi(js_name = "__wireFields", skip_typescript)]
pub fn wire_fields() -> serde_json::Value {
    let list =
        |fields: &[FieldDescriptor]| -> Vec<(&str, &str)> { fields.iter().map(|f| (f.json_name, reader(f))).collect() };
    serde_json::json!({ "avatar": list(AVATAR_FIELDS), "project": list(PROJECT_FIELDS) })
}

/// The avatar properties in the order the wire form sends them.
#[napi(js_name = "__avatarKeys", skip_typescript)]
pub fn avatar_keys() -> Vec<&'static str> {
    AVATAR_FIELDS.iter().map(|f| f.json_name).collect()
}

/// Core's avatar field descriptors (`avatar_store::AVATAR_FIELDS`), for the
/// tests that check this package against them.
#[napi(js_name = "__avatarFields", skip_typescript)]
pub fn avatar_fields() -> serde_json::Value {
    serde_json::to_value(AVATAR_FIELDS).unwrap_or_default()
}
