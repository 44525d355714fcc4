//! The one definition of every project and avatar field.
//!
//! [`avatar_table!`](crate::avatar_table) and
//! [`project_table!`](crate::project_table) list each field once: its Rust
//! name (also the Python name), its Rust type, its column and JSON/JavaScript
//! name, its kind, nullability, validation rule, and whether it is set on
//! creation, patchable and filterable. Everything else follows from that list:
//! the model structs, their patch and `from_new` code, validation, the SQL
//! column lists and placeholders, row mapping and parameter binding, the
//! attribute filters of [`crate::AvatarQuery`], and the descriptor tables
//! [`AVATAR_FIELDS`](crate::AVATAR_FIELDS) and
//! [`PROJECT_FIELDS`](crate::PROJECT_FIELDS) that the bindings read (or
//! check their hand-written lists against).
//!
//! The table macros are exported so that a binding can generate its own code
//! over the same list: each takes the name of a local macro and calls it with
//! the entries, `name: Type = "jsonName" { key: value, ... }`.
//!
//! Adding a column: one entry in the table and one migration. In Rust the
//! compiler then points only at exhaustive struct literals (test fixtures);
//! `core/tests/field_table.rs` checks the table against the migrated schema,
//! and `core/tests/binding_field_lists.rs` names every hand-written list of
//! the bindings (type stubs, `.d.ts`, `store.js`) that lacks the field.

use chrono::{DateTime, Utc};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Row, ToSql};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model;

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum FieldKind {
    /// A UUID, as hyphenated text.
    Id,
    /// Text.
    Text,
    /// An integer a JavaScript number holds exactly.
    Integer,
    /// A 64-bit integer (a `bigint` in JavaScript when it exceeds 2^53).
    BigInteger,
    /// A UTC time with millisecond precision.
    Timestamp,
}

/// The rule a field's value must pass on every write (timestamps: on import,
/// the only way a caller sets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Check {
    /// No rule beyond the type.
    None,
    /// A caller's user id (see [`crate::validate_user_id`]).
    UserId,
    /// Non-empty after trimming, at most [`crate::MAX_NAME_LEN`] characters, no NUL.
    Name,
    /// At most this many characters, no NUL.
    Text(usize),
    /// An absolute `http(s)` URL of at most [`crate::MAX_URL_LEN`] characters.
    Url,
    /// An integer in this inclusive range.
    Range(i64, i64),
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// 0 to [`crate::MAX_USAGE_COUNT`].
    Count,
    /// A year from 0 to 9999.
    Timestamp,
}

/// How a new record gets a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Create {
    /// The caller must give it.
    Required,
    /// The caller may give it.
    Optional,
    /// The store assigns a new id.
    Id,
    /// The caller's user id.
    Owner,
    /// Starts at zero.
    Zero,
    /// Starts empty.
    Null,
    /// The creation time.
    Now,
}

/// Whether a patch may change a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Patch {
    /// No.
    No,
    /// It may be changed but not cleared.
    Set,
    /// It may be changed, or cleared with `null`/`None`.
    Clear,
}

/// One field of a record, as the tables define it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescriptor {
    /// The Rust field name.
    pub rust_name: &'static str,
    /// The Python attribute and keyword name.
    pub python_name: &'static str,
    /// The JSON property and JavaScript property name.
    pub json_name: &'static str,
    /// The SQL column name.
    pub column: &'static str,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether it may be absent (`None`/`null`).
    pub nullable: bool,
    /// Its validation rule.
    pub check: Check,
    /// How a new record gets it.
    pub create: Create,
    /// Whether a patch may change it.
    pub patch: Patch,
    /// Whether `list_avatars` filters on it (exact match).
    pub filterable: bool,
    /// Its documentation.
    pub doc: &'static str,
}

impl FieldDescriptor {
    /// Whether the caller may give it on creation.
    pub const fn settable_on_create(&self) -> bool {
        matches!(self.create, Create::Required | Create::Optional)
    }

    /// Whether a patch may change it.
    pub const fn patchable(&self) -> bool {
        !matches!(self.patch, Patch::No)
    }
}

/// A field's value as a binding reads it from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldRef<'a> {
    /// An id.
    Id(&'a Uuid),
    /// Text.
    Text(Option<&'a str>),
    /// An integer.
    Integer(Option<i64>),
    /// A time.
    Timestamp(Option<&'a DateTime<Utc>>),
}

/// A field's value as a binding gives it to [`crate::NewAvatar::set`] and the like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// An id.
    Id(Uuid),
    /// Text, `None` for absent.
    Text(Option<String>),
    /// An integer, `None` for absent.
    Integer(Option<i64>),
}

#[doc(hidden)]
/// The Rust types a field may have, and what each does in SQL, in validation
/// and for the bindings.
pub trait FieldType: Sized {
    fn read(row: &Row<'_>, i: usize) -> rusqlite::Result<Self>;
    /// Reads column `i` of a PostgreSQL row selected with
    /// [`crate::postgres`]'s column list (integers as `int8`).
    fn read_pg(row: &postgres::Row, i: usize) -> Result<Self>;
    fn sql(&self) -> SqlArg<'_>;
    fn check(&self, field: &str, check: &Check, imported: bool) -> Result<()>;
    fn as_ref(&self) -> FieldRef<'_>;
    fn from_value(v: FieldValue, field: &str) -> Result<Self>;
}

#[doc(hidden)]
/// A bound parameter: borrowed from the record, or text formatted for SQL.
pub enum SqlArg<'a> {
    Borrowed(&'a dyn ToSql),
    Owned(Option<String>),
    /// Fixed-width ASCII text formatted on the stack (an id, a time):
    /// SQLite copies what it binds, so a heap string per value would only
    /// add an allocation and a free (four per new avatar).
    Fixed([u8; 36], u8),
}

impl ToSql for SqlArg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            SqlArg::Borrowed(v) => v.to_sql(),
            SqlArg::Owned(v) => v.to_sql(),
            SqlArg::Fixed(buf, len) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(&buf[..usize::from(*len)]))),
        }
    }
}

/// A stored time as a bound parameter.
fn timestamp_arg(t: &DateTime<Utc>) -> SqlArg<'static> {
    match model::fixed_timestamp(t) {
        Some(text) => {
            let mut buf = [0; 36];
            buf[..text.len()].copy_from_slice(&text);
            SqlArg::Fixed(buf, text.len() as u8)
        }
        None => SqlArg::Owned(Some(model::format_timestamp(t))),
    }
}

fn wrong_check(field: &str, check: &Check) -> Error {
    Error::Internal(format!("the field table gives {field} the rule {check:?}, which does not apply to its type"))
}

fn wrong_value(field: &str, v: &FieldValue) -> Error {
    Error::Internal(format!("a binding gave {field} a value of the wrong kind: {v:?}"))
}

fn conversion(i: usize, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
}

impl FieldType for Uuid {
    fn read(row: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Uuid::try_parse(row.get_ref(i)?.as_str()?).map_err(|e| conversion(i, e))
    }
    fn read_pg(row: &postgres::Row, i: usize) -> Result<Self> {
        let s: String = row.try_get(i)?;
        Uuid::try_parse(&s).map_err(|e| Error::Internal(format!("column {i} holds {s:?}, not a UUID: {e}")))
    }
    fn sql(&self) -> SqlArg<'_> {
        let mut buf = [0; 36];
        let len = self.hyphenated().encode_lower(&mut buf).len();
        SqlArg::Fixed(buf, len as u8)
    }
    fn check(&self, field: &str, check: &Check, _: bool) -> Result<()> {
        match check {
            Check::None => Ok(()),
            _ => Err(wrong_check(field, check)),
        }
    }
    fn as_ref(&self) -> FieldRef<'_> {
        FieldRef::Id(self)
    }
    fn from_value(v: FieldValue, field: &str) -> Result<Self> {
        match v {
            FieldValue::Id(id) => Ok(id),
            v => Err(wrong_value(field, &v)),
        }
    }
}

/// The types SQLite reads and binds as they are: text and integers, present
/// or absent.
macro_rules! plain_field {
    ($ty:ty, $check:path, |$v:ident| $as_ref:expr, $value:pat => $out:expr) => {
        impl FieldType for $ty {
            fn read(row: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
                row.get(i)
            }
            fn read_pg(row: &postgres::Row, i: usize) -> Result<Self> {
                Ok(row.try_get(i)?)
            }
            fn sql(&self) -> SqlArg<'_> {
                SqlArg::Borrowed(self)
            }
            fn check(&self, field: &str, check: &Check, _: bool) -> Result<()> {
                $check(self, field, check)
            }
            fn as_ref(&self) -> FieldRef<'_> {
                let $v = self;
                $as_ref
            }
            fn from_value(v: FieldValue, field: &str) -> Result<Self> {
                match v {
                    $value => Ok($out),
                    v => Err(wrong_value(field, &v)),
                }
            }
        }
    };
}

plain_field!(String, check_text, |s| FieldRef::Text(Some(s)), FieldValue::Text(Some(s)) => s);
plain_field!(Option<String>, check_opt_text, |s| FieldRef::Text(s.as_deref()), FieldValue::Text(s) => s);
plain_field!(i64, check_int, |n| FieldRef::Integer(Some(*n)), FieldValue::Integer(Some(n)) => n);
plain_field!(Option<i64>, check_opt_int, |n| FieldRef::Integer(*n), FieldValue::Integer(n) => n);

fn check_text(s: &str, field: &str, check: &Check) -> Result<()> {
    match check {
        Check::None => Ok(()),
        Check::UserId => model::validate_user_id(s),
        Check::Name => model::name(field, s),
        Check::Text(max) => model::text(field, s, *max),
        Check::Url => model::url(field, s),
        Check::OneOf(values) => model::one_of(field, s, values),
        _ => Err(wrong_check(field, check)),
    }
}

fn check_opt_text(s: &Option<String>, field: &str, check: &Check) -> Result<()> {
    s.as_deref().map_or(Ok(()), |s| check_text(s, field, check))
}

fn check_int(n: &i64, field: &str, check: &Check) -> Result<()> {
    match check {
        Check::None => Ok(()),
        Check::Count => model::validate_usage_count(*n),
        Check::Range(lo, hi) => model::range(field, *n, *lo, *hi),
        _ => Err(wrong_check(field, check)),
    }
}

fn check_opt_int(n: &Option<i64>, field: &str, check: &Check) -> Result<()> {
    n.as_ref().map_or(Ok(()), |n| check_int(n, field, check))
}

impl FieldType for DateTime<Utc> {
    fn read(row: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        let s = row.get_ref(i)?.as_str()?;
        model::parse_timestamp(s).ok_or_else(|| conversion(i, format!("bad timestamp {s:?}")))
    }
    fn read_pg(row: &postgres::Row, i: usize) -> Result<Self> {
        Ok(row.try_get(i)?)
    }
    fn sql(&self) -> SqlArg<'_> {
        timestamp_arg(self)
    }
    fn check(&self, field: &str, check: &Check, imported: bool) -> Result<()> {
        match check {
            Check::Timestamp if imported => model::validate_timestamp(field, self),
            Check::Timestamp | Check::None => Ok(()),
            _ => Err(wrong_check(field, check)),
        }
    }
    fn as_ref(&self) -> FieldRef<'_> {
        FieldRef::Timestamp(Some(self))
    }
    fn from_value(v: FieldValue, field: &str) -> Result<Self> {
        Err(wrong_value(field, &v))
    }
}

impl FieldType for Option<DateTime<Utc>> {
    fn read(row: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        match row.get_ref(i)? {
            ValueRef::Null => Ok(None),
            _ => DateTime::<Utc>::read(row, i).map(Some),
        }
    }
    fn read_pg(row: &postgres::Row, i: usize) -> Result<Self> {
        Ok(row.try_get(i)?)
    }
    fn sql(&self) -> SqlArg<'_> {
        self.as_ref().map_or(SqlArg::Owned(None), timestamp_arg)
    }
    fn check(&self, field: &str, check: &Check, imported: bool) -> Result<()> {
        match self {
            Some(t) => t.check(field, check, imported),
            None => Ok(()),
        }
    }
    fn as_ref(&self) -> FieldRef<'_> {
        FieldRef::Timestamp(self.as_ref())
    }
    fn from_value(v: FieldValue, field: &str) -> Result<Self> {
        Err(wrong_value(field, &v))
    }
}

/// Every avatar field, in column order. Calls `$cb!` with `$pre` followed by
/// the entries. Avatar columns are named as their JSON properties.
#[doc(hidden)]
#[macro_export]
macro_rules! avatar_table {
    ($cb:ident { $($pre:tt)* }) => {
        $cb! { $($pre)*
            /// UUID v7 assigned at creation.
            id: Uuid = "id" { kind: Id, null: false, check: None, create: Id, patch: No, filter: false },
            /// The project it belongs to.
            project_id: Uuid = "projectId" {
                kind: Id, null: false, check: None, create: Required, patch: No, filter: false
            },
            /// Owner; always the project's owner.
            user_id: String = "userId" {
                kind: Text, null: false, check: UserId, create: Owner, patch: No, filter: false
            },
            /// Display name, non-empty.
            name: String = "name" { kind: Text, null: false, check: Name, create: Required, patch: Set, filter: false },
            /// Full-size image, `http(s)` URL.
            image_url: Option<String> = "imageUrl" {
                kind: Text, null: true, check: Url, create: Optional, patch: Clear, filter: false
            },
            /// Thumbnail image, `http(s)` URL.
            thumbnail_url: Option<String> = "thumbnailUrl" {
                kind: Text, null: true, check: Url, create: Optional, patch: Clear, filter: false
            },
            /// Persona: name.
            persona_name: Option<String> = "personaName" {
                kind: Text, null: true, check: Text(MAX_NAME_LEN), create: Optional, patch: Clear, filter: false
            },
            /// Persona: age, 0–150.
            persona_age: Option<i64> = "personaAge" {
                kind: Integer, null: true, check: Range(0, MAX_PERSONA_AGE), create: Optional, patch: Clear,
                filter: false
            },
            /// Persona: personality.
            persona_personality: Option<String> = "personaPersonality" {
                kind: Text, null: true, check: Text(MAX_LONG_TEXT_LEN), create: Optional, patch: Clear, filter: false
            },
            /// Persona: background story.
            persona_background: Option<String> = "personaBackground" {
                kind: Text, null: true, check: Text(MAX_LONG_TEXT_LEN), create: Optional, patch: Clear, filter: false
            },
            /// Visual attribute.
            gender: Option<String> = "gender" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            age_range: Option<String> = "ageRange" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            ethnicity: Option<String> = "ethnicity" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            body_type: Option<String> = "bodyType" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            hair_style: Option<String> = "hairStyle" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            hair_color: Option<String> = "hairColor" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            eye_color: Option<String> = "eyeColor" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            skin_tone: Option<String> = "skinTone" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// Visual attribute.
            style: Option<String> = "style" {
                kind: Text, null: true, check: Text(MAX_ATTRIBUTE_LEN), create: Optional, patch: Clear, filter: true
            },
            /// How the avatar was made, one of [`SOURCE_TYPES`](crate::SOURCE_TYPES).
            source_type: Option<String> = "sourceType" {
                kind: Text, null: true, check: OneOf(SOURCE_TYPES), create: Optional, patch: Clear, filter: true
            },
            /// The prompt it was generated from.
            generation_prompt: Option<String> = "generationPrompt" {
                kind: Text, null: true, check: Text(MAX_PROMPT_LEN), create: Optional, patch: Clear, filter: false
            },
            /// The generator seed (64-bit).
            seed_used: Option<i64> = "seedUsed" {
                kind: BigInteger, null: true, check: None, create: Optional, patch: Clear, filter: false
            },
            /// How often it was used; only [`Store::record_usage`](crate::Store::record_usage) changes it.
            usage_count: i64 = "usageCount" {
                kind: Integer, null: false, check: Count, create: Zero, patch: No, filter: false
            },
            /// When it was last used.
            #[serde(default, with = "timestamp::option")]
            last_used_at: Option<DateTime<Utc>> = "lastUsedAt" {
                kind: Timestamp, null: true, check: Timestamp, create: Null, patch: No, filter: false
            },
            /// Creation time (UTC, millisecond precision).
            #[serde(with = "timestamp")]
            created_at: DateTime<Utc> = "createdAt" {
                kind: Timestamp, null: false, check: Timestamp, create: Now, patch: No, filter: false
            },
            /// Last edit (UTC, millisecond precision); usage does not count as an edit.
            #[serde(with = "timestamp")]
            updated_at: DateTime<Utc> = "updatedAt" {
                kind: Timestamp, null: false, check: Timestamp, create: Now, patch: No, filter: false
            },
        }
    };
}

/// Every project field, in column order; called like [`avatar_table!`].
#[doc(hidden)]
#[macro_export]
macro_rules! project_table {
    ($cb:ident { $($pre:tt)* }) => {
        $cb! { $($pre)*
            /// UUID v7 assigned at creation.
            id: Uuid = "id" { kind: Id, null: false, check: None, create: Id, patch: No, filter: false },
            /// Owner; every query is scoped by it.
            user_id: String = "userId" {
                kind: Text, null: false, check: UserId, create: Owner, patch: No, filter: false
            },
            /// Display name, non-empty.
            name: String = "name" { kind: Text, null: false, check: Name, create: Required, patch: Set, filter: false },
            /// Free text.
            description: Option<String> = "description" {
                kind: Text, null: true, check: Text(MAX_DESCRIPTION_LEN), create: Optional, patch: Clear, filter: false
            },
            /// Creation time (UTC, millisecond precision).
            #[serde(with = "timestamp")]
            created_at: DateTime<Utc> = "createdAt" {
                kind: Timestamp, null: false, check: Timestamp, create: Now, patch: No, filter: false
            },
            /// Last change (UTC, millisecond precision).
            #[serde(with = "timestamp")]
            updated_at: DateTime<Utc> = "updatedAt" {
                kind: Timestamp, null: false, check: Timestamp, create: Now, patch: No, filter: false
            },
        }
    };
}

/// The struct of a new record: the fields set on creation.
macro_rules! new_struct {
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]) => {
        $(#[$m])* pub struct $name { $($acc)* }
    };
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]
     { Required $(#[doc = $doc:literal])* $f:ident: $ty:ty } $($rest:tt)*) => {
        new_struct!($(#[$m])* struct $name [$($acc)* $(#[doc = $doc])* pub $f: $ty,] $($rest)*);
    };
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]
     { Optional $(#[doc = $doc:literal])* $f:ident: $ty:ty } $($rest:tt)*) => {
        new_struct!($(#[$m])* struct $name [$($acc)* $(#[doc = $doc])* #[serde(default)] pub $f: $ty,] $($rest)*);
    };
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]
     { $other:ident $(#[doc = $doc:literal])* $f:ident: $ty:ty } $($rest:tt)*) => {
        new_struct!($(#[$m])* struct $name [$($acc)*] $($rest)*);
    };
}

/// The struct of a patch: the patchable fields, each wrapped in an `Option`.
macro_rules! patch_struct {
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]) => {
        $(#[$m])* pub struct $name { $($acc)* }
    };
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]
     { Set $(#[doc = $doc:literal])* $f:ident: $ty:ty } $($rest:tt)*) => {
        patch_struct!($(#[$m])* struct $name [$($acc)* $(#[doc = $doc])* #[serde(default)] pub $f: Option<$ty>,]
            $($rest)*);
    };
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]
     { Clear $(#[doc = $doc:literal])* $f:ident: $ty:ty } $($rest:tt)*) => {
        patch_struct!(
            $(#[$m])* struct $name
            [$($acc)* $(#[doc = $doc])* #[serde(default, deserialize_with = "present")] pub $f: Option<$ty>,]
            $($rest)*
        );
    };
    ($(#[$m:meta])* struct $name:ident [$($acc:tt)*]
     { $other:ident $(#[doc = $doc:literal])* $f:ident: $ty:ty } $($rest:tt)*) => {
        patch_struct!($(#[$m])* struct $name [$($acc)*] $($rest)*);
    };
}

macro_rules! init_field {
    (Required, $new:expr, $id:ident, $user:ident, $now:ident) => {
        Clone::clone(&$new)
    };
    (Optional, $new:expr, $id:ident, $user:ident, $now:ident) => {
        Clone::clone(&$new)
    };
    (Id, $new:expr, $id:ident, $user:ident, $now:ident) => {
        $id
    };
    (Owner, $new:expr, $id:ident, $user:ident, $now:ident) => {
        $user.to_owned()
    };
    (Zero, $new:expr, $id:ident, $user:ident, $now:ident) => {
        0
    };
    (Null, $new:expr, $id:ident, $user:ident, $now:ident) => {
        None
    };
    (Now, $new:expr, $id:ident, $user:ident, $now:ident) => {
        $now
    };
}

macro_rules! set_new {
    (Required, $target:expr, $v:expr, $js:literal) => {{
        $target = $crate::fields::FieldType::from_value($v, $js)?;
        Ok(())
    }};
    (Optional, $target:expr, $v:expr, $js:literal) => {{
        $target = $crate::fields::FieldType::from_value($v, $js)?;
        Ok(())
    }};
    ($other:ident, $target:expr, $v:expr, $js:literal) => {
        Err(not_settable($js))
    };
}

macro_rules! set_patch {
    (No, $target:expr, $v:expr, $js:literal) => {
        Err(not_settable($js))
    };
    ($other:ident, $target:expr, $v:expr, $js:literal) => {{
        $target = Some($crate::fields::FieldType::from_value($v, $js)?);
        Ok(())
    }};
}

macro_rules! apply_patch {
    (No, $target:expr, $patch:expr) => {};
    ($other:ident, $target:expr, $patch:expr) => {
        if let Some(v) = &$patch {
            $target = v.clone();
        }
    };
}

/// Joins column names with `, `, each behind `$prefix`.
macro_rules! join_columns {
    ($prefix:literal; $first:literal $(, $rest:literal)*) => { concat!($prefix, $first $(, ", ", $prefix, $rest)*) };
}

pub(crate) fn not_settable(field: &str) -> Error {
    Error::validation(field, "cannot be set here")
}

/// Generates a record struct, its new and patch structs, their impls, its
/// descriptor table and its SQL pieces from a table's entries.
macro_rules! define_record {
    (
        $(#[$rm:meta])* record $Rec:ident;
        $(#[$nm:meta])* new $New:ident;
        $(#[$pm:meta])* patch $Patch:ident;
        fields $FIELDS:ident; columns $COLUMNS:ident; placeholders $PLACEHOLDERS:ident;
        $(
            $(#[doc = $doc:literal])*
            $(#[serde($($serde:tt)*)])?
            $f:ident: $ty:ty = $js:literal {
                kind: $kind:ident, null: $null:tt, check: $check:ident $(($($arg:expr),*))?,
                create: $create:ident, patch: $patch:ident, filter: $filter:tt $(,)?
            }
        ),* $(,)?
    ) => {
        $(#[$rm])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $Rec {
            $(
                $(#[doc = $doc])*
                $(#[serde($($serde)*)])?
                pub $f: $ty,
            )*
        }

        new_struct! {
            #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
            $(#[$nm])*
            struct $New [] $({ $create $(#[doc = $doc])* $f: $ty })*
        }

        patch_struct! {
            #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
            $(#[$pm])*
            struct $Patch [] $({ $patch $(#[doc = $doc])* $f: $ty })*
        }

        #[doc = concat!("Every field of [`", stringify!($Rec), "`], in column order.")]
        pub const $FIELDS: &[$crate::fields::FieldDescriptor] = &[$(
            $crate::fields::FieldDescriptor {
                rust_name: stringify!($f),
                python_name: stringify!($f),
                json_name: $js,
                column: $js,
                kind: $crate::fields::FieldKind::$kind,
                nullable: $null,
                check: $crate::fields::Check::$check $(($($arg),*))?,
                create: $crate::fields::Create::$create,
                patch: $crate::fields::Patch::$patch,
                filterable: $filter,
                doc: concat!($($doc),*),
            },
        )*];

        /// The column list, in table order.
        pub(crate) const $COLUMNS: &str = join_columns!(""; $($js),*);
        /// One named parameter per column (`:id, :projectId, ...`): bound by
        /// position in column order, and statements may name them again.
        pub(crate) const $PLACEHOLDERS: &str = join_columns!(":"; $($js),*);

        impl $Rec {
            /// The record a new one becomes, owned by `user_id`, with `id`
            /// and timestamps assigned.
            pub(crate) fn from_new(new: &$New, user_id: &str, id: Uuid, now: DateTime<Utc>) -> $Rec {
                $Rec { $($f: init_field!($create, new.$f, id, user_id, now),)* }
            }

            fn check_fields(&self, imported: bool) -> Result<()> {
                $(
                    $crate::fields::FieldType::check(
                        &self.$f, $js, &$crate::fields::Check::$check $(($($arg),*))?, imported,
                    )?;
                )*
                Ok(())
            }

            /// Checks every field; the first failure names its field.
            pub fn validate(&self) -> Result<()> {
                self.check_fields(false)
            }

            /// Checks a record about to be imported as it stands, timestamps
            /// and counters included.
            pub fn validate_imported(&self) -> Result<()> {
                self.check_fields(true)
            }

            /// Every field's value, in the order of the descriptor table.
            pub fn values(&self) -> [$crate::fields::FieldRef<'_>; $FIELDS.len()] {
                [$($crate::fields::FieldType::as_ref(&self.$f)),*]
            }

            /// Reads a row selected with the column list.
            #[allow(unused_assignments)] // the index after the last column
            pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<$Rec> {
                let mut i = 0;
                Ok($Rec {
                    $($f: {
                        let v = $crate::fields::FieldType::read(r, i)?;
                        i += 1;
                        v
                    },)*
                })
            }

            /// Reads a PostgreSQL row selected with [`crate::postgres`]'s column list.
            #[allow(unused_assignments)] // the index after the last column
            pub(crate) fn from_pg_row(r: &postgres::Row) -> Result<$Rec> {
                let mut i = 0;
                Ok($Rec {
                    $($f: {
                        let v = $crate::fields::FieldType::read_pg(r, i)?;
                        i += 1;
                        v
                    },)*
                })
            }

            /// Every column's parameter, in column order.
            pub(crate) fn sql_args(&self) -> [$crate::fields::SqlArg<'_>; $FIELDS.len()] {
                [$($crate::fields::FieldType::sql(&self.$f)),*]
            }

            /// Runs `f` with every column bound, in column order.
            pub(crate) fn with_params<T>(&self, f: impl FnOnce(&[&dyn rusqlite::ToSql]) -> T) -> T {
                let args = self.sql_args();
                f(&args.each_ref().map(|a| a as &dyn rusqlite::ToSql))
            }
        }

        impl $New {
            /// Sets the field whose JSON name is `field`; for bindings that
            /// read arguments field by field from the descriptor table.
            pub fn set(&mut self, field: &str, value: $crate::fields::FieldValue) -> Result<()> {
                match field {
                    $($js => set_new!($create, self.$f, value, $js),)*
                    _ => Err(not_settable(field)),
                }
            }
        }

        impl $Patch {
            /// Sets the change of the field whose JSON name is `field`
            /// (`FieldValue::Text(None)` clears it).
            pub fn set(&mut self, field: &str, value: $crate::fields::FieldValue) -> Result<()> {
                match field {
                    $($js => set_patch!($patch, self.$f, value, $js),)*
                    _ => Err(not_settable(field)),
                }
            }

            pub(crate) fn apply(&self, target: &mut $Rec) {
                $(apply_patch!($patch, target.$f, self.$f);)*
            }
        }
    };
}

pub(crate) use {apply_patch, define_record, init_field, join_columns, new_struct, patch_struct, set_new, set_patch};
