//! Repository queries: the SQL behind every project and avatar operation.
//! Each function takes the caller's `user_id` and never touches another
//! user's rows; a row of another user reads as absent.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{
    Avatar, AvatarPatch, MAX_NAME_LEN, MAX_USAGE_COUNT, NewAvatar, NewProject, Project, ProjectPatch,
    ProjectWithAvatars, format_timestamp, time_of_id, truncate_to_millis, validate_user_id,
};

/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size accepted.
pub const MAX_PAGE_SIZE: u32 = 1_000;

/// Longest accepted `nameContains` filter, in characters: a name is at most
/// [`crate::MAX_NAME_LEN`] characters, so a longer substring matches nothing,
/// and SQLite refuses LIKE patterns past 50,000 bytes.
pub const MAX_NAME_CONTAINS_LEN: usize = MAX_NAME_LEN;

/// What avatars are sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AvatarSort {
    /// `createdAt` (the default).
    #[default]
    CreatedAt,
    /// `usageCount`.
    UsageCount,
    /// `lastUsedAt`; never-used avatars sort as oldest.
    LastUsedAt,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SortOrder {
    /// Smallest first (the default).
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl AvatarSort {
    /// Every sort key, in the order error messages list them.
    pub const ALL: [AvatarSort; 3] = [AvatarSort::CreatedAt, AvatarSort::UsageCount, AvatarSort::LastUsedAt];

    /// The field name (`createdAt`, ...): what [`std::fmt::Display`] writes.
    pub fn as_str(self) -> &'static str {
        match self {
            AvatarSort::CreatedAt => "createdAt",
            AvatarSort::UsageCount => "usageCount",
            AvatarSort::LastUsedAt => "lastUsedAt",
        }
    }

    /// The snake_case spelling (`created_at`, ...) the Python binding uses.
    pub fn snake_case(self) -> &'static str {
        match self {
            AvatarSort::CreatedAt => "created_at",
            AvatarSort::UsageCount => "usage_count",
            AvatarSort::LastUsedAt => "last_used_at",
        }
    }
}

impl std::fmt::Display for AvatarSort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a sort key in either spelling the front ends use, the field name
/// (`usageCount`, Node and JSON) or snake_case (`usage_count`, Python), so
/// that both bindings share one rule and one message.
///
/// ```
/// use avatar_store::AvatarSort;
/// assert_eq!("usageCount".parse::<AvatarSort>().unwrap(), AvatarSort::UsageCount);
/// assert_eq!("last_used_at".parse::<AvatarSort>().unwrap(), AvatarSort::LastUsedAt);
/// let err = "name".parse::<AvatarSort>().unwrap_err();
/// assert_eq!((err.code(), err.field()), ("VALIDATION", Some("sort")));
/// ```
impl std::str::FromStr for AvatarSort {
    type Err = Error;

    fn from_str(s: &str) -> Result<AvatarSort> {
        AvatarSort::ALL.into_iter().find(|k| k.as_str() == s || k.snake_case() == s).ok_or_else(|| {
            let camel: Vec<_> = AvatarSort::ALL.iter().map(|k| k.as_str()).collect();
            let snake: Vec<_> = AvatarSort::ALL.iter().map(|k| k.snake_case()).collect();
            Error::validation(
                "sort",
                format!("must be one of {} (or {}), got {}", camel.join(", "), snake.join(", "), quoted(s)),
            )
        })
    }
}

impl SortOrder {
    /// `asc` or `desc`: what [`std::fmt::Display`] writes and [`std::str::FromStr`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        }
    }
}

impl std::fmt::Display for SortOrder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `asc` or `desc`.
///
/// ```
/// use avatar_store::SortOrder;
/// assert_eq!("desc".parse::<SortOrder>().unwrap(), SortOrder::Desc);
/// assert_eq!("DESC".parse::<SortOrder>().unwrap_err().field(), Some("order"));
/// ```
impl std::str::FromStr for SortOrder {
    type Err = Error;

    fn from_str(s: &str) -> Result<SortOrder> {
        [SortOrder::Asc, SortOrder::Desc]
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| Error::validation("order", format!("must be asc or desc, got {}", quoted(s))))
    }
}

/// `s` quoted for an error message, cut to a length a message can carry.
fn quoted(s: &str) -> String {
    const SHOWN: usize = 40;
    if s.chars().count() > SHOWN {
        format!("{:?}...", s.chars().take(SHOWN).collect::<String>())
    } else {
        format!("{s:?}")
    }
}

/// The struct of [`AvatarQuery`]: the table's filterable fields between the
/// project filter and the name, sort and page options.
macro_rules! query_struct {
    ([$($acc:tt)*]) => {
        /// Filters, sort and page of [`crate::Store::list_avatars`]. Every filter is
        /// optional; those given must all match. Attribute filters compare exactly.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub struct AvatarQuery {
            /// Only avatars of this project.
            pub project_id: Option<Uuid>,
            $($acc)*
            /// Substring of the name, case-insensitive for ASCII letters; at most
            /// [`MAX_NAME_CONTAINS_LEN`] characters, no NUL.
            pub name_contains: Option<String>,
            /// Sort key; ties are broken by id.
            pub sort: AvatarSort,
            /// Sort direction.
            pub order: SortOrder,
            /// Page size, 1 to [`MAX_PAGE_SIZE`]; [`DEFAULT_PAGE_SIZE`] when `None`.
            pub limit: Option<u32>,
            /// `next_cursor` of the previous page, for the same query.
            pub cursor: Option<String>,
        }
    };
    ([$($acc:tt)*] { true $(#[doc = $doc:literal])* $f:ident } $($rest:tt)*) => {
        query_struct!([$($acc)* #[doc = concat!("Only avatars with exactly this `", stringify!($f), "`.")]
            pub $f: Option<String>,] $($rest)*);
    };
    ([$($acc:tt)*] { false $(#[doc = $doc:literal])* $f:ident } $($rest:tt)*) => {
        query_struct!([$($acc)*] $($rest)*);
    };
}

macro_rules! filter_clause {
    (true, $value:expr, $column:literal, $sql:ident, $args:ident) => {
        if let Some(v) = &$value {
            // No stored value holds a NUL, and SQLite would end the text at it.
            no_nul_filter($column, v)?;
            $sql.push_str(concat!(" AND ", $column, " = ?"));
            $args.push(Box::new(v.clone()));
        }
    };
    (false, $value:expr, $column:literal, $sql:ident, $args:ident) => {};
}

macro_rules! filter_pair {
    (true, $value:expr, $column:literal, $out:ident) => {
        if let Some(v) = &$value {
            $out.push(($column, v.as_str()));
        }
    };
    (false, $value:expr, $column:literal, $out:ident) => {};
}

macro_rules! filter_value {
    (true, $target:expr, $value:expr) => {{
        $target = $value;
        true
    }};
    (false, $target:expr, $value:expr) => {
        false
    };
}

macro_rules! define_avatar_query {
    ($(
        $(#[doc = $doc:literal])*
        $(#[serde($($serde:tt)*)])?
        $f:ident: $ty:ty = $js:literal {
            kind: $kind:ident, null: $null:tt, check: $check:ident $(($($arg:expr),*))?,
            create: $create:ident, patch: $patch:ident, filter: $filter:tt $(,)?
        }
    ),* $(,)?) => {
        query_struct!([] $({ $filter $f })*);

        impl AvatarQuery {
            /// Sets the filter on the field whose JSON name is `field`; false
            /// when the field is not filterable.
            pub fn set_filter(&mut self, field: &str, value: Option<String>) -> bool {
                match field {
                    $($js => filter_value!($filter, self.$f, value),)*
                    _ => false,
                }
            }

            fn push_filters(&self, sql: &mut String, args: &mut Vec<Box<dyn ToSql>>) -> Result<()> {
                $(filter_clause!($filter, self.$f, $js, sql, args);)*
                Ok(())
            }

            /// The attribute filters that are set, as (column, value).
            pub(crate) fn filters(&self) -> Vec<(&'static str, &str)> {
                let mut out = Vec::new();
                $(filter_pair!($filter, self.$f, $js, out);)*
                out
            }
        }
    };
}

crate::avatar_table!(define_avatar_query {});

/// Page of [`crate::Store::list_projects`]: newest project first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProjectQuery {
    /// Page size, 1 to [`MAX_PAGE_SIZE`]; [`DEFAULT_PAGE_SIZE`] when `None`.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The records of this page.
    pub items: Vec<T>,
    /// Opaque cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

pub(crate) use crate::model::{AVATAR_COLUMNS, AVATAR_PLACEHOLDERS, PROJECT_COLUMNS, PROJECT_PLACEHOLDERS};

pub(crate) fn avatar_from_row(r: &Row<'_>) -> rusqlite::Result<Avatar> {
    Avatar::from_row(r)
}

pub(crate) fn project_from_row(r: &Row<'_>) -> rusqlite::Result<Project> {
    Project::from_row(r)
}

/// Statement texts built once: `prepare_cached` looks them up by text, so
/// formatting them per call would only cost allocations.
static INSERT_AVATAR: LazyLock<String> =
    LazyLock::new(|| format!("INSERT INTO avatars ({AVATAR_COLUMNS}) VALUES ({AVATAR_PLACEHOLDERS})"));
/// Rows per INSERT statement of a batch. A statement per row opens a cursor
/// on the table and each of its indexes and seeks every index from its root;
/// within one multi-row statement the cursors stay on the last entry, where a
/// batch's rows land (ids and creation times ascend), and the seeks are
/// skipped. Measured with callgrind on W2 (10,000 avatars): 13 % fewer
/// instructions per batch than one row per statement, 8 rows 11 %, 32 rows
/// 12 %; past 16 the bound texts overflow the writer's lookaside pool
/// (`store::WRITER_LOOKASIDE_SLOTS`). Far below SQLite's limit of 32,766
/// parameters (26 a row).
pub(crate) const INSERT_CHUNK: usize = 16;

static INSERT_AVATAR_CHUNK: LazyLock<String> = LazyLock::new(|| {
    let row = format!("({})", vec!["?"; crate::model::AVATAR_FIELDS.len()].join(", "));
    format!("INSERT INTO avatars ({AVATAR_COLUMNS}) VALUES {}", vec![row; INSERT_CHUNK].join(", "))
});
// The owner check rides in the INSERT, so one avatar is one statement.
static INSERT_AVATAR_IF_OWNED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO avatars ({AVATAR_COLUMNS}) SELECT {AVATAR_PLACEHOLDERS} \
         WHERE EXISTS (SELECT 1 FROM projects WHERE id = :projectId AND userId = :userId)"
    )
});
static INSERT_PROJECT: LazyLock<String> =
    LazyLock::new(|| format!("INSERT INTO projects ({PROJECT_COLUMNS}) VALUES ({PROJECT_PLACEHOLDERS})"));
static UPDATE_PROJECT: LazyLock<String> = LazyLock::new(|| {
    format!("UPDATE projects SET ({PROJECT_COLUMNS}) = ({PROJECT_PLACEHOLDERS}) WHERE id = :id AND userId = :userId")
});
static UPDATE_AVATAR: LazyLock<String> = LazyLock::new(|| {
    format!("UPDATE avatars SET ({AVATAR_COLUMNS}) = ({AVATAR_PLACEHOLDERS}) WHERE id = :id AND userId = :userId")
});
static GET_AVATAR: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {AVATAR_COLUMNS} FROM avatars WHERE id = ?1 AND userId = ?2"));

pub(crate) fn not_found(entity: &'static str, id: &Uuid) -> Error {
    Error::NotFound { entity, id: id.to_string() }
}

/// A write's `updatedAt`: now, but never before the record's own creation
/// (records imported with future timestamps stay consistent).
pub(crate) fn edit_time(created: &DateTime<Utc>) -> DateTime<Utc> {
    truncate_to_millis(Utc::now()).max(*created)
}

/// The LIMIT of a page of `limit` rows and one more (which tells whether a
/// next page exists), written into the statement rather than bound: the
/// bundled SQLite uses the value of a bound LIMIT when it plans, so every
/// new binding of it expired the cached statement and each page was compiled
/// again (`sqlite3Reprepare`, found with callgrind: about 5 µs a row of W4,
/// issue 12). A handful of page sizes means a handful of cached statements.
pub(crate) fn limit_clause(limit: u32) -> String {
    format!("LIMIT {}", u64::from(limit) + 1)
}

pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32> {
    match limit {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) => check_limit(n.into()),
    }
}

/// Checks a page size given as whatever integer a front end reads (a
/// JavaScript number, a Python int): 1 to [`MAX_PAGE_SIZE`], else
/// [`Error::Validation`] naming `limit`. [`AvatarQuery::limit`] and
/// [`ProjectQuery::limit`] are checked the same way, so a binding converts
/// with this instead of writing the rule and its message again.
///
/// ```
/// assert_eq!(avatar_store::check_limit(20).unwrap(), 20);
/// let err = avatar_store::check_limit(-1).unwrap_err();
/// assert_eq!(err.field(), Some("limit"));
/// assert!(err.to_string().ends_with("must be between 1 and 1000, got -1"), "{err}");
/// ```
pub fn check_limit(n: i128) -> Result<u32> {
    match u32::try_from(n) {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(Error::validation("limit", format!("must be between 1 and {MAX_PAGE_SIZE}, got {n}"))),
    }
}

// ---------------------------------------------------------------- projects

pub(crate) fn create_project(conn: &Connection, user_id: &str, new: &NewProject) -> Result<Project> {
    let id = Uuid::now_v7();
    let p = Project::from_new(new, user_id, id, time_of_id(&id));
    p.validate()?;
    p.with_params(|params| conn.prepare_cached(&INSERT_PROJECT)?.execute(params))?;
    Ok(p)
}

pub(crate) fn get_project(conn: &Connection, user_id: &str, id: &Uuid) -> Result<Project> {
    validate_user_id(user_id)?;
    conn.prepare_cached(&format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1 AND userId = ?2"))?
        .query_row(params![id.to_string(), user_id], project_from_row)
        .optional()?
        .ok_or_else(|| not_found("project", id))
}

pub(crate) fn list_projects(conn: &Connection, user_id: &str, q: &ProjectQuery) -> Result<Page<Project>> {
    validate_user_id(user_id)?;
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(|c| decode_cursor(c, "p")).transpose()?;
    // The page size is part of the text (see `limit_clause`).
    let limit_sql = limit_clause(limit);
    let mut stmt;
    let rows = match &after {
        None => {
            stmt = conn.prepare_cached(&format!(
                "SELECT {PROJECT_COLUMNS} FROM projects WHERE userId = ?1 ORDER BY createdAt DESC, id DESC {limit_sql}"
            ))?;
            stmt.query_map(params![user_id], project_from_row)?
        }
        Some((key, id)) => {
            stmt = conn.prepare_cached(&format!(
                "SELECT {PROJECT_COLUMNS} FROM projects WHERE userId = ?1 AND (createdAt, id) < (?2, ?3) \
                 ORDER BY createdAt DESC, id DESC {limit_sql}"
            ))?;
            stmt.query_map(params![user_id, key, id], project_from_row)?
        }
    };
    let mut items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    let next_cursor = next_page(&mut items, limit, |p| encode_cursor("p", &format_timestamp(&p.created_at), &p.id));
    Ok(Page { items, next_cursor })
}

pub(crate) fn list_projects_with_avatars(
    conn: &Connection,
    user_id: &str,
    q: &ProjectQuery,
) -> Result<Page<ProjectWithAvatars>> {
    with_avatars(list_projects(conn, user_id, q)?, |ids, push| {
        // One query for the whole page instead of one per project. The unary
        // `+` keeps SQLite off the userId indexes (which would scan all of the
        // user's avatars and sort them) and on (projectId, createdAt, id),
        // which yields the rows already in order.
        let ids = serde_json::to_string(ids).map_err(|e| Error::Internal(e.to_string()))?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {AVATAR_COLUMNS} FROM avatars WHERE +userId = ?1 \
             AND projectId IN (SELECT value FROM json_each(?2)) ORDER BY projectId, createdAt, id"
        ))?;
        let mut rows = stmt.query(params![user_id, ids])?;
        while let Some(row) = rows.next()? {
            push(avatar_from_row(row)?);
        }
        Ok(())
    })
}

/// Gives each project of `page` its avatars, which `fetch` reads for the
/// ids of the whole page in one query (of either dialect) and pushes in
/// order; not called for an empty page.
pub(crate) fn with_avatars(
    page: Page<Project>,
    fetch: impl FnOnce(&[String], &mut dyn FnMut(Avatar)) -> Result<()>,
) -> Result<Page<ProjectWithAvatars>> {
    let mut slot: HashMap<Uuid, usize> = HashMap::with_capacity(page.items.len());
    let ids: Vec<String> = page.items.iter().map(|p| p.id.to_string()).collect();
    let mut items: Vec<ProjectWithAvatars> = page
        .items
        .into_iter()
        .enumerate()
        .map(|(i, project)| {
            slot.insert(project.id, i);
            ProjectWithAvatars { project, avatars: Vec::new() }
        })
        .collect();
    if !items.is_empty() {
        fetch(&ids, &mut |a| {
            if let Some(&i) = slot.get(&a.project_id) {
                items[i].avatars.push(a);
            }
        })?;
    }
    Ok(Page { items, next_cursor: page.next_cursor })
}

pub(crate) fn update_project(conn: &Connection, user_id: &str, id: &Uuid, patch: &ProjectPatch) -> Result<Project> {
    let mut p = get_project(conn, user_id, id)?;
    patch.apply(&mut p);
    p.validate()?;
    p.updated_at = edit_time(&p.created_at);
    p.with_params(|params| conn.prepare_cached(&UPDATE_PROJECT)?.execute(params))?;
    Ok(p)
}

pub(crate) fn delete_project(conn: &Connection, user_id: &str, id: &Uuid) -> Result<()> {
    validate_user_id(user_id)?;
    let n = conn
        .prepare_cached("DELETE FROM projects WHERE id = ?1 AND userId = ?2")?
        .execute(params![id.to_string(), user_id])?;
    if n == 0 { Err(not_found("project", id)) } else { Ok(()) }
}

// ----------------------------------------------------------------- avatars

/// Validates a new avatar and gives it an id and timestamps.
pub(crate) fn prepare_avatar(user_id: &str, new: &NewAvatar) -> Result<Avatar> {
    let id = Uuid::now_v7();
    let a = Avatar::from_new(new, user_id, id, time_of_id(&id));
    a.validate()?;
    Ok(a)
}

/// Validates a batch of new avatars; an error names the item.
pub(crate) fn prepare_avatars(user_id: &str, new: &[NewAvatar]) -> Result<Vec<Avatar>> {
    new.iter()
        .enumerate()
        .map(|(i, n)| {
            prepare_avatar(user_id, n).map_err(|e| match e {
                Error::Validation { field, message } => {
                    Error::Validation { field, message: format!("item {i}: {message}") }
                }
                e => e,
            })
        })
        .collect()
}

/// Inserts validated avatars of one owner; run inside a transaction. Each
/// distinct project is checked once, not once per avatar.
pub(crate) fn insert_avatars(conn: &Connection, user_id: &str, avatars: &[Avatar]) -> Result<()> {
    // Each avatar checked its owner already; an empty batch checks it here.
    validate_user_id(user_id)?;
    let mut checked = HashSet::new();
    let mut owned = conn.prepare_cached("SELECT 1 FROM projects WHERE id = ?1 AND userId = ?2")?;
    let mut owner_checked = |a: &Avatar| -> Result<()> {
        if checked.insert(a.project_id) && !owned.exists(params![a.project_id.to_string(), user_id])? {
            return Err(not_found("project", &a.project_id));
        }
        Ok(())
    };
    // Full chunks in one statement each, the rest a row at a time (a
    // statement per remainder length would crowd the statement cache).
    let chunks = avatars.chunks_exact(INSERT_CHUNK);
    let rest = chunks.remainder();
    if avatars.len() >= INSERT_CHUNK {
        let mut insert = conn.prepare_cached(&INSERT_AVATAR_CHUNK)?;
        for chunk in chunks {
            chunk.iter().try_for_each(&mut owner_checked)?;
            insert.execute(rusqlite::params_from_iter(chunk.iter().flat_map(Avatar::sql_args)))?;
        }
    }
    let mut insert = conn.prepare_cached(&INSERT_AVATAR)?;
    for a in rest {
        owner_checked(a)?;
        a.with_params(|p| insert.execute(p))?;
    }
    Ok(())
}

/// Inserts one validated avatar if its project belongs to its owner, in one
/// statement that, run outside a transaction, commits by itself: one
/// statement per call instead of BEGIN, SELECT, INSERT and COMMIT.
pub(crate) fn insert_avatar(conn: &Connection, a: &Avatar) -> Result<()> {
    let n = a.with_params(|p| conn.prepare_cached(&INSERT_AVATAR_IF_OWNED)?.execute(p))?;
    if n == 0 { Err(not_found("project", &a.project_id)) } else { Ok(()) }
}

pub(crate) fn get_avatar(conn: &Connection, user_id: &str, id: &Uuid) -> Result<Avatar> {
    validate_user_id(user_id)?;
    conn.prepare_cached(&GET_AVATAR)?
        .query_row(params![id.to_string(), user_id], avatar_from_row)
        .optional()?
        .ok_or_else(|| not_found("avatar", id))
}

/// The cursor tag, SQL direction and keyset comparison of a query's sort
/// and order: one definition for both dialects, so that a cursor names the
/// same position on either.
pub(crate) fn keyset(q: &AvatarQuery) -> (String, &'static str, &'static str) {
    let sort_tag = match q.sort {
        AvatarSort::CreatedAt => "c",
        AvatarSort::UsageCount => "u",
        AvatarSort::LastUsedAt => "l",
    };
    let (dir_tag, dir, cmp) = match q.order {
        SortOrder::Asc => ("a", "ASC", ">"),
        SortOrder::Desc => ("d", "DESC", "<"),
    };
    (format!("{sort_tag}{dir_tag}"), dir, cmp)
}

/// An avatar's value of the listing's sort key, as its cursor carries it
/// (the same on both backends, so a cursor means the same on each).
pub(crate) fn sort_key(sort: AvatarSort, a: &Avatar) -> String {
    match sort {
        AvatarSort::CreatedAt => format_timestamp(&a.created_at),
        AvatarSort::UsageCount => a.usage_count.to_string(),
        AvatarSort::LastUsedAt => a.last_used_at.as_ref().map(format_timestamp).unwrap_or_default(),
    }
}

pub(crate) fn list_avatars(conn: &Connection, user_id: &str, q: &AvatarQuery) -> Result<Page<Avatar>> {
    validate_user_id(user_id)?;
    let limit = page_limit(q.limit)?;
    let (tag, sql, args) = listing_sql(user_id, q, limit)?;
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), avatar_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_cursor = next_page(&mut items, limit, |a| encode_cursor(&tag, &sort_key(q.sort, a), &a.id));
    Ok(Page { items, next_cursor })
}

/// The cursor tag, statement and parameters of one page of a listing.
type Listing = (String, String, Vec<Box<dyn ToSql>>);

/// The [`Listing`] of one page of `q`: `limit` rows and one more (which
/// tells whether a next page exists).
fn listing_sql(user_id: &str, q: &AvatarQuery, limit: u32) -> Result<Listing> {
    let key_sql = match q.sort {
        AvatarSort::CreatedAt => "createdAt",
        AvatarSort::UsageCount => "usageCount",
        AvatarSort::LastUsedAt => "ifnull(lastUsedAt, '')",
    };
    let (tag, dir, cmp) = keyset(q);

    // Pages walk the project's (projectId, createdAt, id) index: one
    // project's, or each of the user's projects' (an avatar's userId is
    // always its project's owner, which writes and imports check), since V7
    // keeps no index on the avatars' userId, so that an insert writes one
    // entry fewer. In creation order SQLite leaves each project's range once
    // its top-N sorter holds a page; sorted by usage or last use it keeps
    // the best `limit + 1` of the user's rows (no index is keyed on those
    // columns since V6, so that record_usage rewrites no index entry). The
    // unary `+` keeps SQLite from weighing an index on userId at all.
    let mut sql = match q.project_id {
        Some(_) => "WHERE +userId = ? AND projectId = ?".to_owned(),
        None => "WHERE +userId = ? AND projectId IN (SELECT id FROM projects WHERE userId = ?)".to_owned(),
    };
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(user_id.to_owned())];
    match &q.project_id {
        Some(p) => args.push(Box::new(p.to_string())),
        None => args.push(Box::new(user_id.to_owned())),
    }
    q.push_filters(&mut sql, &mut args)?;
    if let Some(s) = &q.name_contains {
        sql.push_str(" AND name LIKE ? ESCAPE '\\'");
        args.push(Box::new(name_contains_pattern(s)?));
    }
    if let Some(c) = &q.cursor {
        let (key, id) = decode_cursor(c, &tag)?;
        sql.push_str(&format!(" AND ({key_sql}, id) {cmp} (?, ?)"));
        match q.sort {
            AvatarSort::UsageCount => {
                let n: i64 = key.parse().map_err(|_| bad_cursor())?;
                args.push(Box::new(n));
            }
            _ => args.push(Box::new(key)),
        }
        args.push(Box::new(id));
    }
    let order = format!("ORDER BY {key_sql} {dir}, id {dir}");
    let limit_sql = limit_clause(limit);
    let sql = match q.sort {
        AvatarSort::CreatedAt => format!("SELECT {AVATAR_COLUMNS} FROM avatars {sql} {order} {limit_sql}"),
        // The top-N sorter keeps each candidate whole: sorting rowids and
        // reading the page's rows after took a third less time for 10,000
        // candidates (bench group sorted_listing_10k).
        _ => format!(
            "SELECT {AVATAR_COLUMNS} FROM avatars WHERE rowid IN \
             (SELECT rowid FROM avatars {sql} {order} {limit_sql}) {order}"
        ),
    };
    Ok((tag, sql, args))
}

/// The LIKE pattern (escaped with backslashes) of a `nameContains` filter.
pub(crate) fn name_contains_pattern(s: &str) -> Result<String> {
    no_nul_filter("nameContains", s)?;
    if s.len() > MAX_NAME_CONTAINS_LEN && s.chars().count() > MAX_NAME_CONTAINS_LEN {
        return Err(Error::validation(
            "nameContains",
            format!("longer than {MAX_NAME_CONTAINS_LEN} characters, the longest a name can be"),
        ));
    }
    let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    Ok(format!("%{escaped}%"))
}

pub(crate) fn no_nul_filter(field: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::validation(field, "must not contain NUL bytes"));
    }
    Ok(())
}

pub(crate) fn update_avatar(conn: &Connection, user_id: &str, id: &Uuid, patch: &AvatarPatch) -> Result<Avatar> {
    let mut a = get_avatar(conn, user_id, id)?;
    patch.apply(&mut a);
    a.validate()?;
    a.updated_at = edit_time(&a.created_at);
    a.with_params(|p| conn.prepare_cached(&UPDATE_AVATAR)?.execute(p))?;
    Ok(a)
}

pub(crate) fn delete_avatar(conn: &Connection, user_id: &str, id: &Uuid) -> Result<()> {
    validate_user_id(user_id)?;
    let n = conn
        .prepare_cached("DELETE FROM avatars WHERE id = ?1 AND userId = ?2")?
        .execute(params![id.to_string(), user_id])?;
    if n == 0 { Err(not_found("avatar", id)) } else { Ok(()) }
}

/// Runs inside an IMMEDIATE transaction ([`crate::Store::record_usage`]):
/// the row is read under the write lock, so no other connection or process
/// writes between the read and the increment, and the avatar returned is
/// exactly the one this call made. The UPDATE finds the row by rowid, which
/// skips a second lookup of the text id. Measured with callgrind (issue 12):
/// `UPDATE ... RETURNING` every column cost 26,000 instructions per call more
/// than the UPDATE alone, this SELECT, UPDATE and COMMIT about 17,000.
pub(crate) fn record_usage(conn: &Connection, user_id: &str, id: &Uuid) -> Result<Avatar> {
    validate_user_id(user_id)?;
    let now = truncate_to_millis(Utc::now());
    let (mut a, rowid) = conn
        .prepare_cached(&GET_AVATAR_FOR_UPDATE)?
        .query_row(params![id.to_string(), user_id], |r| {
            Ok((avatar_from_row(r)?, r.get::<_, i64>(crate::model::AVATAR_FIELDS.len())?))
        })
        .optional()?
        .ok_or_else(|| not_found("avatar", id))?;
    // At MAX_USAGE_COUNT the row is left alone, so the count never
    // overflows SQLite's integer (which fails the statement) or the range
    // every binding reads exactly.
    if a.usage_count >= MAX_USAGE_COUNT {
        return Err(Error::Conflict(format!(
            "avatar {id} has reached the highest usage count ({}, at most {MAX_USAGE_COUNT}); it was not changed",
            a.usage_count
        )));
    }
    // The increment is still made in SQL, so it holds whatever the row says.
    conn.prepare_cached("UPDATE avatars SET usageCount = usageCount + 1, lastUsedAt = ?1 WHERE rowid = ?2")?
        .execute(params![format_timestamp(&now), rowid])?;
    a.usage_count += 1;
    a.last_used_at = Some(now);
    Ok(a)
}

/// Every column, then the rowid.
static GET_AVATAR_FOR_UPDATE: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {AVATAR_COLUMNS}, rowid FROM avatars WHERE id = ?1 AND userId = ?2"));

// ------------------------------------------------------------ import/export

/// Inserts or updates a validated project by id. An id of another user's
/// project is a conflict: the stored row keeps its owner (checked first, and
/// again by the upsert's own `WHERE`, so no path through here moves a row).
pub(crate) fn upsert_project(conn: &Connection, p: &Project) -> Result<()> {
    check_owner(conn, "projects", "project", &p.id, &p.user_id)?;
    let n = p.with_params(|params| conn.prepare_cached(&UPSERT_PROJECT)?.execute(params))?;
    if n == 0 { Err(taken("project", &p.id)) } else { Ok(()) }
}

/// Inserts or updates a validated avatar by id; its project must exist with
/// the same owner, and an id of another user's avatar is a conflict. With
/// `scoped` (an import for one user), a project of another user reads as
/// absent, as everywhere else that user works; an operator's import of every
/// user is told it belongs to another user.
pub(crate) fn upsert_avatar(conn: &Connection, a: &Avatar, scoped: bool) -> Result<()> {
    let absent = || Error::validation("projectId", format!("project {} does not exist", a.project_id));
    match conn
        .prepare_cached("SELECT userId FROM projects WHERE id = ?1")?
        .query_row([a.project_id.to_string()], |r| r.get::<_, String>(0))
        .optional()?
    {
        None => return Err(absent()),
        Some(owner) if owner != a.user_id && scoped => return Err(absent()),
        Some(owner) if owner != a.user_id => {
            return Err(Error::Conflict(format!("avatar {} names project {} of another user", a.id, a.project_id)));
        }
        Some(_) => {}
    }
    check_owner(conn, "avatars", "avatar", &a.id, &a.user_id)?;
    let n = a.with_params(|p| conn.prepare_cached(&UPSERT_AVATAR)?.execute(p))?;
    if n == 0 { Err(taken("avatar", &a.id)) } else { Ok(()) }
}

static UPSERT_AVATAR: LazyLock<String> = LazyLock::new(|| upsert("avatars", AVATAR_COLUMNS, AVATAR_PLACEHOLDERS));
static UPSERT_PROJECT: LazyLock<String> = LazyLock::new(|| upsert("projects", PROJECT_COLUMNS, PROJECT_PLACEHOLDERS));

/// An insert that, on an existing id of the same owner, overwrites every
/// other column; the `WHERE` keeps another owner's row as it is.
fn upsert(table: &str, columns: &str, placeholders: &str) -> String {
    let set: Vec<String> = columns.split(", ").skip(1).map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        "INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT(id) DO UPDATE SET {} \
         WHERE {table}.userId = excluded.userId",
        set.join(", ")
    )
}

pub(crate) fn taken(entity: &str, id: &Uuid) -> Error {
    Error::Conflict(format!("{entity} id {id} is taken by another user"))
}

fn check_owner(conn: &Connection, table: &str, entity: &str, id: &Uuid, user_id: &str) -> Result<()> {
    let owner: Option<String> = conn
        .prepare_cached(&format!("SELECT userId FROM {table} WHERE id = ?1"))?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    match owner {
        Some(o) if o != user_id => Err(taken(entity, id)),
        _ => Ok(()),
    }
}

// ----------------------------------------------------------------- cursors

pub(crate) fn next_page<T>(items: &mut Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Option<String> {
    if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(cursor_of)
    } else {
        None
    }
}

/// A cursor names the query shape it was made for, so one made for another
/// sort is refused instead of silently skipping rows.
pub(crate) fn encode_cursor(tag: &str, key: &str, id: &Uuid) -> String {
    B64.encode(format!("1|{tag}|{key}|{id}"))
}

pub(crate) fn decode_cursor(cursor: &str, tag: &str) -> Result<(String, String)> {
    let bytes = B64.decode(cursor).map_err(|_| bad_cursor())?;
    let text = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    let mut parts = text.splitn(4, '|');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("1"), Some(t), Some(key), Some(id)) if Uuid::try_parse(id).is_ok() => {
            if t != tag {
                return Err(Error::validation("cursor", "was made for another sort or listing"));
            }
            Ok((key.to_owned(), id.to_owned()))
        }
        _ => Err(bad_cursor()),
    }
}

pub(crate) fn bad_cursor() -> Error {
    Error::validation("cursor", "not a cursor returned by this listing")
}

// -------------------------------------------------------------- transfer

/// Hands `f` every project, then every avatar, of `user` (of every user with
/// `None`), in creation order, inside one read transaction: one snapshot
/// however long `f` takes. `f` returning an error stops the export.
pub(crate) fn export(
    conn: &Connection,
    user: Option<&str>,
    mut f: impl FnMut(crate::store::Record) -> Result<()>,
) -> Result<()> {
    use crate::store::Record;
    // A user's avatars are found through the user's projects, as in
    // listings (no index on the avatars' userId since V7).
    let (filter, avatar_filter) = match user {
        Some(_) => {
            ("WHERE userId = ?1", "WHERE +userId = ?1 AND projectId IN (SELECT id FROM projects WHERE userId = ?1)")
        }
        None => ("WHERE ?1 IS NULL", "WHERE ?1 IS NULL"),
    };
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt =
            tx.prepare(&format!("SELECT {PROJECT_COLUMNS} FROM projects {filter} ORDER BY createdAt, id"))?;
        let mut rows = stmt.query([user])?;
        while let Some(r) = rows.next()? {
            f(Record::Project(project_from_row(r)?))?;
        }
        let mut stmt =
            tx.prepare(&format!("SELECT {AVATAR_COLUMNS} FROM avatars {avatar_filter} ORDER BY createdAt, id"))?;
        let mut rows = stmt.query([user])?;
        while let Some(r) = rows.next()? {
            f(Record::Avatar(avatar_from_row(r)?))?;
        }
    }
    tx.finish()?;
    Ok(())
}

/// Numbers of projects and avatars of `user` (of every user with `None`).
pub(crate) fn count(conn: &Connection, user: Option<&str>) -> Result<(u64, u64)> {
    let n = |table: &str| -> Result<u64> {
        let sql = format!("SELECT count(*) FROM {table} WHERE ?1 IS NULL OR userId = ?1");
        Ok(conn.query_row(&sql, [user], |r| r.get::<_, i64>(0))? as u64)
    };
    Ok((n("projects")?, n("avatars")?))
}

#[cfg(test)]
mod test {
    use super::*;

    fn migrated() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::migrate::migrate(&mut c, None, false).unwrap();
        c
    }

    /// The query plan of one page of `q`, its steps joined.
    fn plan(c: &Connection, q: &AvatarQuery) -> String {
        let (_, sql, args) = listing_sql("u1", q, 50).unwrap();
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let steps = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get::<_, String>(3)).unwrap();
        steps.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    fn cursor(tag: &str, key: &str) -> Option<String> {
        Some(encode_cursor(tag, key, &Uuid::nil()))
    }

    #[test]
    fn a_project_page_walks_the_projects_index_in_order() {
        // Through the user's index instead, a page would test every avatar
        // of the user for the project: time growing with the user's data.
        let c = migrated();
        for cursor in [None, cursor("ca", "2026-01-01T00:00:00.000Z")] {
            let q = AvatarQuery { project_id: Some(Uuid::nil()), cursor, ..Default::default() };
            let p = plan(&c, &q);
            assert!(p.contains("USING INDEX idx_avatars_project_created (projectId=?"), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "the index gives the order: {p}");
        }
    }

    #[test]
    fn a_users_pages_walk_each_of_the_users_projects_by_index() {
        let c = migrated();
        let sorts = [(AvatarSort::CreatedAt, "cd", "2026-01-01T00:00:00.000Z"), (AvatarSort::UsageCount, "ud", "7")];
        for (sort, tag, key) in sorts.into_iter().chain([(AvatarSort::LastUsedAt, "ld", "")]) {
            for cursor in [None, cursor(tag, key)] {
                let q = AvatarQuery { sort, order: SortOrder::Desc, cursor, ..Default::default() };
                let p = plan(&c, &q);
                assert!(p.contains("USING INDEX idx_avatars_project_created (projectId=?"), "{p}");
                assert!(p.contains("USING COVERING INDEX idx_projects_user_created (userId=?)"), "{p}");
                assert!(!p.contains("SCAN avatars"), "{p}");
            }
        }
    }

    #[test]
    fn paging_reuses_the_compiled_listing_statement() {
        // A bound LIMIT made SQLite compile the statement again for every
        // page; the page size is part of the text instead.
        let c = migrated();
        let p = create_project(&c, "u1", &NewProject { name: "P".into(), description: None }).unwrap();
        let new = NewAvatar { project_id: p.id, name: "A".into(), ..Default::default() };
        insert_avatars(&c, "u1", &prepare_avatars("u1", &vec![new; 7]).unwrap()).unwrap();
        for sort in AvatarSort::ALL {
            let mut q = AvatarQuery { project_id: Some(p.id), sort, limit: Some(2), ..Default::default() };
            let mut pages = 0;
            loop {
                let page = list_avatars(&c, "u1", &q).unwrap();
                pages += 1;
                match page.next_cursor {
                    Some(next) => q.cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(pages, 4);
            let (_, sql, _) = listing_sql("u1", &q, 2).unwrap();
            let stmt = c.prepare_cached(&sql).unwrap();
            assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0, "{sort}: {sql}");
            assert_eq!(stmt.get_status(rusqlite::StatementStatus::Run), 3, "{sort}: the three pages after the first");
        }
        // What the test guards against: the same listing with a bound LIMIT.
        let mut bound = c.prepare("SELECT id FROM avatars WHERE +userId = ?1 AND projectId = ?2 LIMIT ?3").unwrap();
        for _ in 0..2 {
            bound.query_map(params!["u1", p.id.to_string(), 3], |r| r.get::<_, String>(0)).unwrap().for_each(drop);
        }
        assert!(bound.get_status(rusqlite::StatementStatus::RePrepare) > 0, "a bound LIMIT no longer re-prepares");
    }

    #[test]
    fn no_index_is_keyed_on_what_record_usage_changes() {
        // Each such index costs record_usage an index entry rewritten per
        // call; V6 dropped the two there were.
        let c = migrated();
        let mut stmt = c
            .prepare(
                "SELECT il.name, ii.name FROM pragma_index_list('avatars') AS il, pragma_index_info(il.name) AS ii \
                 WHERE ii.name IN ('usageCount', 'lastUsedAt')",
            )
            .unwrap();
        let keyed: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
        assert!(keyed.is_empty(), "{keyed:?}");
    }
}
