//! Core results to JavaScript values.
//!
//! Records (projects, avatars and pages of them) cross as one JSON string per
//! result, serialized here (on the worker thread for Promise methods) and
//! turned into objects with `Date` fields by `store.js`: V8's `JSON.parse`
//! builds a 26-property avatar in under 2 µs, where setting the properties
//! one napi call at a time took about 9. Their TypeScript
//! interfaces are in `src/dts-header.d.ts`; absent optional values are `null`,
//! never missing, so every avatar has all its columns.

use avatar_store::{
    AVATAR_FIELDS, FieldKind, FieldRef, MigrationOutcome, MigrationStatus, Page, RepairOutcome, SchemaReport,
};
use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{ValueType, sys};
use napi_derive::napi;
use serde::ser::{Serialize, SerializeStruct, SerializeTuple, Serializer};

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
    /// Records already serialized for `store.js`.
    Json(String),
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

impl Out {
    /// Serializes records, counts and reports into their wire form, so a
    /// Promise method does it on the worker thread; `store.js` parses the
    /// JSON in one call where napi would set each property with its own.
    /// Other values pass through.
    pub fn encoded(self) -> Out {
        Out::Json(match &self {
            Out::Counts(projects, avatars) => to_json(&Counts { projects: *projects, avatars: *avatars }),
            Out::Report(r) => to_json(r),
            Out::Repair(r) => to_json(r),
            Out::Migration(m) => to_json(m),
            Out::Status(s) => to_json(s),
            Out::Restore(r) => to_json(r),
            Out::Project(p) => to_json(&ProjectJson(p)),
            Out::Avatar(a) => to_json(&AvatarJson(a)),
            Out::Avatars(v) => to_json(&List(v, AvatarJson)),
            Out::Projects(page) => to_json(&PageJson(page, ProjectJson)),
            Out::ProjectsWithAvatars(page) => to_json(&PageJson(page, ProjectWithAvatarsJson)),
            Out::AvatarPage(page) => to_json(&PageJson(page, AvatarJson)),
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
// What store.js turns into the objects of the TypeScript interfaces: times
// are epoch milliseconds (it makes `Date`s of them), a seed outside the
// safe-integer range is a decimal string (it makes a `bigint`), and an avatar
// is an array of its values (it makes the object).

fn to_json<T: Serialize>(v: &T) -> String {
    // Serializing these structs cannot fail: every key is a string, no value
    // is a float, and paths are written lossily.
    serde_json::to_string(v).unwrap_or_default()
}

const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

struct ProjectJson<'a>(&'a avatar_store::Project);
struct ProjectWithAvatarsJson<'a>(&'a avatar_store::ProjectWithAvatars);
struct AvatarJson<'a>(&'a avatar_store::Avatar);
/// A slice, each item serialized through the wrapper `W`.
struct List<'a, T, W>(&'a [T], fn(&'a T) -> W);
struct PageJson<'a, T, W>(&'a Page<T>, fn(&'a T) -> W);

fn project_fields<S: SerializeStruct>(st: &mut S, p: &avatar_store::Project) -> Result<(), S::Error> {
    st.serialize_field("id", &p.id)?;
    st.serialize_field("userId", &p.user_id)?;
    st.serialize_field("name", &p.name)?;
    st.serialize_field("description", &p.description)?;
    st.serialize_field("createdAt", &p.created_at.timestamp_millis())?;
    st.serialize_field("updatedAt", &p.updated_at.timestamp_millis())
}

impl Serialize for ProjectJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Project", 6)?;
        project_fields(&mut st, self.0)?;
        st.end()
    }
}

impl Serialize for ProjectWithAvatarsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ProjectWithAvatars", 7)?;
        project_fields(&mut st, &self.0.project)?;
        st.serialize_field("avatars", &List(&self.0.avatars, AvatarJson))?;
        st.end()
    }
}

/// A seed as JSON: a number while `JSON.parse` reads it exactly, else a string.
enum Seed {
    Number(i64),
    Text(String),
}

impl Serialize for Seed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Seed::Number(n) => s.serialize_i64(*n),
            Seed::Text(t) => s.serialize_str(t),
        }
    }
}

// An avatar is an array of its values in the column order of core's
// AVATAR_FIELDS: JSON.parse reads an array faster than an object (no key to
// look up), and the JavaScript object literal that store.js builds from it
// gets one fixed shape. store.js checks its own list against
// `__avatarKeys()` when it loads.
impl Serialize for AvatarJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(AVATAR_FIELDS.len())?;
        for (field, value) in AVATAR_FIELDS.iter().zip(self.0.values()) {
            match value {
                FieldRef::Id(id) => t.serialize_element(id)?,
                FieldRef::Text(text) => t.serialize_element(&text)?,
                // A 64-bit integer as JSON: a number while `JSON.parse` reads it
                // exactly, else a string that store.js turns into a bigint.
                FieldRef::Integer(n) if field.kind == FieldKind::BigInteger => t.serialize_element(&n.map(|n| {
                    if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&n) {
                        Seed::Number(n)
                    } else {
                        Seed::Text(n.to_string())
                    }
                }))?,
                FieldRef::Integer(n) => t.serialize_element(&n)?,
                FieldRef::Timestamp(time) => t.serialize_element(&time.map(|t| t.timestamp_millis()))?,
            }
        }
        t.end()
    }
}

impl<'a, T, W: Serialize> Serialize for List<'a, T, W> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(self.1))
    }
}

impl<'a, T, W: Serialize> Serialize for PageJson<'a, T, W> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Page", 2)?;
        st.serialize_field("items", &List(&self.0.items, self.1))?;
        st.serialize_field("nextCursor", &self.0.next_cursor)?;
        st.end()
    }
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
