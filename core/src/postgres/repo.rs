//! The repository on PostgreSQL: the same operations, checks and errors as
//! [`crate::repo`], with SQL built from the same field table. Columns are
//! quoted (camelCase), integer columns are read and bound as `int8` (the
//! record's `i64`), timestamps are `TIMESTAMPTZ(3)`.

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use postgres::GenericClient;
use postgres::types::ToSql;
use uuid::Uuid;

use super::cache::Session;
use super::quote;
use crate::error::{Error, Result};
use crate::fields::{FieldDescriptor, FieldKind, FieldRef};
use crate::model::{
    AVATAR_FIELDS, Avatar, AvatarPatch, MAX_USAGE_COUNT, NewProject, PROJECT_FIELDS, Project, ProjectPatch,
    ProjectWithAvatars, format_timestamp, parse_timestamp, time_of_id, truncate_to_millis, validate_user_id,
};
use crate::repo::{
    AvatarQuery, AvatarSort, Page, ProjectQuery, bad_cursor, decode_cursor, edit_time, encode_cursor, keyset,
    name_contains_pattern, next_page, no_nul_filter, not_found, page_limit, taken,
};
use crate::store::Record;

type Param<'a> = Box<dyn ToSql + Sync + 'a>;

/// The select list of a table: every column in field order, integers as int8.
fn select_list(fields: &[FieldDescriptor]) -> String {
    fields
        .iter()
        .map(|f| match f.kind {
            FieldKind::Integer => format!("{}::int8", quote(f.column)),
            _ => quote(f.column),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_list(fields: &[FieldDescriptor]) -> String {
    fields.iter().map(|f| quote(f.column)).collect::<Vec<_>>().join(", ")
}

/// `$1, $2, ...` for every column; integers bound as int8 and cast on
/// assignment, so one `i64` binding serves INTEGER and BIGINT columns.
fn placeholders(fields: &[FieldDescriptor]) -> String {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| match f.kind {
            FieldKind::Integer | FieldKind::BigInteger => format!("${}::int8", i + 1),
            FieldKind::Timestamp => format!("${}::timestamptz", i + 1),
            _ => format!("${}::text", i + 1),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values of a record, bound in column order.
/// The values of a record, bound in column order; text is borrowed from
/// the record, not copied.
fn params<'a>(values: &[FieldRef<'a>]) -> Vec<Param<'a>> {
    values
        .iter()
        .map(|v| -> Param<'a> {
            match *v {
                FieldRef::Id(id) => Box::new(id.hyphenated().to_string()),
                FieldRef::Text(t) => Box::new(t),
                FieldRef::Integer(n) => Box::new(n),
                FieldRef::Timestamp(t) => Box::new(t),
            }
        })
        .collect()
}

fn refs<'a>(p: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    p.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect()
}

static AVATAR_SELECT: LazyLock<String> = LazyLock::new(|| select_list(AVATAR_FIELDS));
static PROJECT_SELECT: LazyLock<String> = LazyLock::new(|| select_list(PROJECT_FIELDS));
static INSERT_PROJECT: LazyLock<String> = LazyLock::new(|| {
    format!("INSERT INTO projects ({}) VALUES ({})", column_list(PROJECT_FIELDS), placeholders(PROJECT_FIELDS))
});
// The owner check rides in the INSERT, as on SQLite: one statement per avatar.
static INSERT_AVATAR_IF_OWNED: LazyLock<String> = LazyLock::new(|| {
    let pid = AVATAR_FIELDS.iter().position(|f| f.column == "projectId").expect("projectId") + 1;
    let uid = AVATAR_FIELDS.iter().position(|f| f.column == "userId").expect("userId") + 1;
    format!(
        "INSERT INTO avatars ({}) SELECT {} WHERE EXISTS \
         (SELECT 1 FROM projects WHERE id = ${pid}::text AND \"userId\" = ${uid}::text)",
        column_list(AVATAR_FIELDS),
        placeholders(AVATAR_FIELDS)
    )
});
/// Rows of avatars in one statement: each column bound as one array, so a
/// batch costs one round trip per [`BATCH_ROWS`] avatars instead of one per
/// avatar. Integer arrays are int8 and cast on assignment, as above.
static INSERT_AVATARS: LazyLock<String> = LazyLock::new(|| {
    let arrays: Vec<String> = AVATAR_FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| match f.kind {
            FieldKind::Integer | FieldKind::BigInteger => format!("${}::int8[]", i + 1),
            FieldKind::Timestamp => format!("${}::timestamptz[]", i + 1),
            _ => format!("${}::text[]", i + 1),
        })
        .collect();
    format!("INSERT INTO avatars ({}) SELECT * FROM unnest({})", column_list(AVATAR_FIELDS), arrays.join(", "))
});
/// Avatars per statement of [`INSERT_AVATARS`]: bounds the size of one
/// message, while already making the round trips negligible.
const BATCH_ROWS: usize = 1_000;

/// The values of `rows`, column by column, as the arrays [`INSERT_AVATARS`] binds.
fn column_arrays<const N: usize>(fields: &[FieldDescriptor], rows: &[[FieldRef<'_>; N]]) -> Vec<Param<'static>> {
    (0..fields.len())
        .map(|i| -> Param<'static> {
            match fields[i].kind {
                FieldKind::Integer | FieldKind::BigInteger => Box::new(
                    rows.iter().map(|r| if let FieldRef::Integer(n) = r[i] { n } else { None }).collect::<Vec<_>>(),
                ),
                FieldKind::Timestamp => Box::new(
                    rows.iter()
                        .map(|r| if let FieldRef::Timestamp(t) = r[i] { t.copied() } else { None })
                        .collect::<Vec<_>>(),
                ),
                _ => Box::new(
                    rows.iter()
                        .map(|r| match r[i] {
                            FieldRef::Id(id) => Some(id.hyphenated().to_string()),
                            FieldRef::Text(t) => t.map(str::to_owned),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                ),
            }
        })
        .collect()
}

fn update(table: &str, fields: &[FieldDescriptor]) -> String {
    let n = fields.len();
    format!(
        "UPDATE {table} SET ({}) = ({}) WHERE id = ${}::text AND \"userId\" = ${}::text",
        column_list(fields),
        placeholders(fields),
        n + 1,
        n + 2
    )
}
static UPDATE_PROJECT: LazyLock<String> = LazyLock::new(|| update("projects", PROJECT_FIELDS));
static UPDATE_AVATAR: LazyLock<String> = LazyLock::new(|| update("avatars", AVATAR_FIELDS));
pub(crate) static GET_AVATAR: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM avatars WHERE id = $1 AND \"userId\" = $2", *AVATAR_SELECT));

/// An insert that, on an existing id of the same owner, overwrites every
/// other column; the `WHERE` keeps another owner's row as it is.
fn upsert(table: &str, fields: &[FieldDescriptor]) -> String {
    let set: Vec<String> = fields.iter().skip(1).map(|f| format!("{c} = excluded.{c}", c = quote(f.column))).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT (id) DO UPDATE SET {} \
         WHERE {table}.\"userId\" = excluded.\"userId\"",
        column_list(fields),
        placeholders(fields),
        set.join(", ")
    )
}
static UPSERT_PROJECT: LazyLock<String> = LazyLock::new(|| upsert("projects", PROJECT_FIELDS));
static UPSERT_AVATAR: LazyLock<String> = LazyLock::new(|| upsert("avatars", AVATAR_FIELDS));

// ---------------------------------------------------------------- projects

pub(crate) fn create_project(
    c: &mut Session<'_, impl GenericClient>,
    user_id: &str,
    new: &NewProject,
) -> Result<Project> {
    let id = Uuid::now_v7();
    let p = Project::from_new(new, user_id, id, time_of_id(&id));
    p.validate()?;
    c.execute(INSERT_PROJECT.as_str(), &refs(&params(&p.values())))?;
    Ok(p)
}

pub(crate) fn get_project(c: &mut Session<'_, impl GenericClient>, user_id: &str, id: &Uuid) -> Result<Project> {
    validate_user_id(user_id)?;
    let sql = format!("SELECT {} FROM projects WHERE id = $1 AND \"userId\" = $2", *PROJECT_SELECT);
    match c.query_opt(&sql, &[&id.to_string(), &user_id])? {
        Some(r) => Project::from_pg_row(&r),
        None => Err(not_found("project", id)),
    }
}

pub(crate) fn list_projects(
    c: &mut Session<'_, impl GenericClient>,
    user_id: &str,
    q: &ProjectQuery,
) -> Result<Page<Project>> {
    validate_user_id(user_id)?;
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(|c| decode_cursor(c, "p")).transpose()?;
    // The limit is written into the SQL (see list_avatars).
    let fetch = i64::from(limit) + 1;
    let rows = match &after {
        None => c.query(
            &format!(
                "SELECT {} FROM projects WHERE \"userId\" = $1 ORDER BY \"createdAt\" DESC, id DESC LIMIT {fetch}",
                *PROJECT_SELECT
            ),
            &[&user_id],
        )?,
        Some((key, id)) => {
            let key = parse_timestamp(key).ok_or_else(bad_cursor)?;
            c.query(
                &format!(
                    "SELECT {} FROM projects WHERE \"userId\" = $1 AND (\"createdAt\", id) < ($2, $3) \
                     ORDER BY \"createdAt\" DESC, id DESC LIMIT {fetch}",
                    *PROJECT_SELECT
                ),
                &[&user_id, &key, id],
            )?
        }
    };
    let mut items = rows.iter().map(Project::from_pg_row).collect::<Result<Vec<_>>>()?;
    let next_cursor = next_page(&mut items, limit, |p| encode_cursor("p", &format_timestamp(&p.created_at), &p.id));
    Ok(Page { items, next_cursor })
}

pub(crate) fn list_projects_with_avatars(
    c: &mut Session<'_, impl GenericClient>,
    user_id: &str,
    q: &ProjectQuery,
) -> Result<Page<ProjectWithAvatars>> {
    let page = list_projects(c, user_id, q)?;
    crate::repo::with_avatars(page, |ids, push| {
        // One query for the whole page instead of one per project.
        let rows = c.query(
            &format!(
                "SELECT {} FROM avatars WHERE \"userId\" = $1 AND \"projectId\" = ANY($2) \
                 ORDER BY \"projectId\", \"createdAt\", id",
                *AVATAR_SELECT
            ),
            &[&user_id, &ids],
        )?;
        for r in &rows {
            push(Avatar::from_pg_row(r)?);
        }
        Ok(())
    })
}

pub(crate) fn update_project(
    c: &mut Session<'_, impl GenericClient>,
    user_id: &str,
    id: &Uuid,
    patch: &ProjectPatch,
) -> Result<Project> {
    // FOR UPDATE, as in update_avatar: a concurrent patch waits, not lost.
    validate_user_id(user_id)?;
    let sql = format!("SELECT {} FROM projects WHERE id = $1 AND \"userId\" = $2 FOR UPDATE", *PROJECT_SELECT);
    let mut p = match c.query_opt(&sql, &[&id.to_string(), &user_id])? {
        Some(r) => Project::from_pg_row(&r)?,
        None => return Err(not_found("project", id)),
    };
    patch.apply(&mut p);
    p.validate()?;
    p.updated_at = edit_time(&p.created_at);
    {
        let mut args = params(&p.values());
        args.push(Box::new(id.to_string()));
        args.push(Box::new(user_id));
        c.execute(UPDATE_PROJECT.as_str(), &refs(&args))?;
    }
    Ok(p)
}

pub(crate) fn delete_project(c: &mut Session<'_, impl GenericClient>, user_id: &str, id: &Uuid) -> Result<()> {
    validate_user_id(user_id)?;
    let n = c.execute("DELETE FROM projects WHERE id = $1 AND \"userId\" = $2", &[&id.to_string(), &user_id])?;
    if n == 0 { Err(not_found("project", id)) } else { Ok(()) }
}

// ----------------------------------------------------------------- avatars

/// Inserts validated avatars of one owner; run inside a transaction. Each
/// distinct project is checked once, then the avatars go in by the
/// thousand.
pub(crate) fn insert_avatars(c: &mut Session<'_, impl GenericClient>, user_id: &str, avatars: &[Avatar]) -> Result<()> {
    validate_user_id(user_id)?;
    let mut checked = HashSet::new();
    for a in avatars {
        if checked.insert(a.project_id)
            && c.query_opt(
                "SELECT 1 FROM projects WHERE id = $1 AND \"userId\" = $2",
                &[&a.project_id.to_string(), &user_id],
            )?
            .is_none()
        {
            return Err(not_found("project", &a.project_id));
        }
    }
    for batch in avatars.chunks(BATCH_ROWS) {
        let rows: Vec<_> = batch.iter().map(Avatar::values).collect();
        c.execute(INSERT_AVATARS.as_str(), &refs(&column_arrays(AVATAR_FIELDS, &rows)))?;
    }
    Ok(())
}

pub(crate) fn insert_avatar(c: &mut Session<'_, impl GenericClient>, a: &Avatar) -> Result<()> {
    let n = c.execute(INSERT_AVATAR_IF_OWNED.as_str(), &refs(&params(&a.values())))?;
    if n == 0 { Err(not_found("project", &a.project_id)) } else { Ok(()) }
}

pub(crate) fn get_avatar(c: &mut Session<'_, impl GenericClient>, user_id: &str, id: &Uuid) -> Result<Avatar> {
    validate_user_id(user_id)?;
    match c.query_opt(GET_AVATAR.as_str(), &[&id.to_string(), &user_id])? {
        Some(r) => Avatar::from_pg_row(&r),
        None => Err(not_found("avatar", id)),
    }
}

pub(crate) fn list_avatars(
    c: &mut Session<'_, impl GenericClient>,
    user_id: &str,
    q: &AvatarQuery,
) -> Result<Page<Avatar>> {
    validate_user_id(user_id)?;
    let limit = page_limit(q.limit)?;
    let (tag, sql, args) = listing_sql(user_id, q, limit)?;
    let rows = c.query(&sql, &refs(&args))?;
    let mut items = rows.iter().map(Avatar::from_pg_row).collect::<Result<Vec<_>>>()?;
    let next_cursor = next_page(&mut items, limit, |a| encode_cursor(&tag, &crate::repo::sort_key(q.sort, a), &a.id));
    Ok(Page { items, next_cursor })
}

/// A listing's cursor tag, statement and parameters.
pub(crate) fn listing_sql<'a>(
    user_id: &'a str,
    q: &'a AvatarQuery,
    limit: u32,
) -> Result<(String, String, Vec<Param<'a>>)> {
    // Never-used avatars sort as oldest, as on SQLite (where NULL is '').
    let key_sql = match q.sort {
        AvatarSort::CreatedAt => "\"createdAt\"",
        AvatarSort::UsageCount => "\"usageCount\"::int8",
        AvatarSort::LastUsedAt => "coalesce(\"lastUsedAt\", '-infinity'::timestamptz)",
    };
    let (tag, dir, cmp) = keyset(q);
    // Appends `clause` with its `$?` numbered as the parameter `v` becomes.
    fn next<'a>(sql: &mut String, args: &mut Vec<Param<'a>>, clause: &str, v: Param<'a>) {
        args.push(v);
        sql.push_str(&clause.replace("$?", &format!("${}", args.len())));
    }

    // A user's avatars are found through the user's projects, on the
    // project index: no index on the avatars' userId since V7 (an avatar's
    // userId is its project's owner). In creation order each project gives
    // at most a page, in index order, and the pages are merged
    // (`per_project`): the planner would otherwise read every row of the
    // user and sort them (3.4 ms for 2,500 avatars), where SQLite leaves
    // each project's range by itself once a page is full.
    let per_project = q.project_id.is_none() && q.sort == AvatarSort::CreatedAt;
    let mut sql = format!("SELECT {} FROM avatars WHERE \"userId\" = $1", *AVATAR_SELECT);
    let mut args: Vec<Param> = vec![Box::new(user_id.to_owned())];
    match &q.project_id {
        Some(p) => next(&mut sql, &mut args, " AND \"projectId\" = $?", Box::new(p.to_string())),
        None if per_project => sql.push_str(" AND \"projectId\" = p.id"),
        None => sql.push_str(" AND \"projectId\" IN (SELECT id FROM projects WHERE \"userId\" = $1)"),
    }
    for (column, value) in q.filters() {
        no_nul_filter(column, value)?;
        next(&mut sql, &mut args, &format!(" AND {} = $?", quote(column)), Box::new(value.to_owned()));
    }
    if let Some(s) = &q.name_contains {
        // SQLite's LIKE ignores ASCII case; ILIKE is the nearest PostgreSQL has.
        next(&mut sql, &mut args, " AND name ILIKE $? ESCAPE '\\'", Box::new(name_contains_pattern(s)?));
    }
    if let Some(cur) = &q.cursor {
        let (key, id) = decode_cursor(cur, &tag)?;
        let (key, key_param): (Param, &str) = match q.sort {
            AvatarSort::UsageCount => (Box::new(key.parse::<i64>().map_err(|_| bad_cursor())?), "$k::int8"),
            // The cursor of a never-used avatar is empty: -infinity, as its key.
            AvatarSort::LastUsedAt if key.is_empty() => {
                (Box::new(None::<DateTime<Utc>>), "coalesce($k::timestamptz, '-infinity'::timestamptz)")
            }
            _ => (Box::new(parse_timestamp(&key).ok_or_else(bad_cursor)?), "$k::timestamptz"),
        };
        args.push(key);
        let key_param = key_param.replace("$k", &format!("${}", args.len()));
        args.push(Box::new(id));
        sql.push_str(&format!(" AND ({key_sql}, id) {cmp} ({key_param}, ${}::text)", args.len()));
    }
    // The limit is written into the SQL, not bound: the plan the server
    // caches for a statement with a bound LIMIT is made without knowing it
    // (a page size is a small validated integer, and callers use few, so the
    // cache holds one statement per size).
    let fetch = i64::from(limit) + 1;
    let page = format!("ORDER BY {key_sql} {dir}, id {dir} LIMIT {fetch}");
    let sql = if per_project {
        format!(
            "SELECT a.* FROM projects p CROSS JOIN LATERAL ({sql} {page}) a WHERE p.\"userId\" = $1 \
             ORDER BY a.\"createdAt\" {dir}, a.id {dir} LIMIT {fetch}"
        )
    } else {
        format!("{sql} {page}")
    };
    Ok((tag, sql, args))
}

pub(crate) fn update_avatar(
    c: &mut Session<'_, impl GenericClient>,
    user_id: &str,
    id: &Uuid,
    patch: &AvatarPatch,
) -> Result<Avatar> {
    // FOR UPDATE: the row is rewritten whole from what is read here, so a
    // concurrent record_usage must wait for this transaction, not be lost.
    validate_user_id(user_id)?;
    let mut a = match c.query_opt(&format!("{} FOR UPDATE", *GET_AVATAR), &[&id.to_string(), &user_id])? {
        Some(r) => Avatar::from_pg_row(&r)?,
        None => return Err(not_found("avatar", id)),
    };
    patch.apply(&mut a);
    a.validate()?;
    a.updated_at = edit_time(&a.created_at);
    {
        let mut args = params(&a.values());
        args.push(Box::new(id.to_string()));
        args.push(Box::new(user_id));
        c.execute(UPDATE_AVATAR.as_str(), &refs(&args))?;
    }
    Ok(a)
}

pub(crate) fn delete_avatar(c: &mut Session<'_, impl GenericClient>, user_id: &str, id: &Uuid) -> Result<()> {
    validate_user_id(user_id)?;
    let n = c.execute("DELETE FROM avatars WHERE id = $1 AND \"userId\" = $2", &[&id.to_string(), &user_id])?;
    if n == 0 { Err(not_found("avatar", id)) } else { Ok(()) }
}

/// One statement: the increment happens in SQL under the row's lock, so
/// concurrent callers lose none; RETURNING reads the row back in the same
/// round trip.
pub(crate) fn record_usage(c: &mut Session<'_, impl GenericClient>, user_id: &str, id: &Uuid) -> Result<Avatar> {
    validate_user_id(user_id)?;
    let now = truncate_to_millis(Utc::now());
    let sql = format!(
        "UPDATE avatars SET \"usageCount\" = \"usageCount\" + 1, \"lastUsedAt\" = $1 \
         WHERE id = $2 AND \"userId\" = $3 AND \"usageCount\" < $4::int8 RETURNING {}",
        *AVATAR_SELECT
    );
    match c.query_opt(&sql, &[&now, &id.to_string(), &user_id, &MAX_USAGE_COUNT])? {
        Some(r) => Avatar::from_pg_row(&r),
        None => {
            let a = get_avatar(c, user_id, id)?;
            Err(Error::Conflict(format!(
                "avatar {id} has reached the highest usage count ({}, at most {MAX_USAGE_COUNT}); it was not changed",
                a.usage_count
            )))
        }
    }
}

// ------------------------------------------------------------ import/export

fn check_owner(
    c: &mut Session<'_, impl GenericClient>,
    table: &str,
    entity: &str,
    id: &Uuid,
    user_id: &str,
) -> Result<()> {
    let owner: Option<String> =
        c.query_opt(&format!("SELECT \"userId\" FROM {table} WHERE id = $1"), &[&id.to_string()])?.map(|r| r.get(0));
    match owner {
        Some(o) if o != user_id => Err(taken(entity, id)),
        _ => Ok(()),
    }
}

pub(crate) fn upsert_project(c: &mut Session<'_, impl GenericClient>, p: &Project) -> Result<()> {
    check_owner(c, "projects", "project", &p.id, &p.user_id)?;
    let n = c.execute(UPSERT_PROJECT.as_str(), &refs(&params(&p.values())))?;
    if n == 0 { Err(taken("project", &p.id)) } else { Ok(()) }
}

pub(crate) fn upsert_avatar(c: &mut Session<'_, impl GenericClient>, a: &Avatar, scoped: bool) -> Result<()> {
    let absent = || Error::validation("projectId", format!("project {} does not exist", a.project_id));
    let owner: Option<String> =
        c.query_opt("SELECT \"userId\" FROM projects WHERE id = $1", &[&a.project_id.to_string()])?.map(|r| r.get(0));
    match owner {
        None => return Err(absent()),
        Some(owner) if owner != a.user_id && scoped => return Err(absent()),
        Some(owner) if owner != a.user_id => {
            return Err(Error::Conflict(format!("avatar {} names project {} of another user", a.id, a.project_id)));
        }
        Some(_) => {}
    }
    check_owner(c, "avatars", "avatar", &a.id, &a.user_id)?;
    let n = c.execute(UPSERT_AVATAR.as_str(), &refs(&params(&a.values())))?;
    if n == 0 { Err(taken("avatar", &a.id)) } else { Ok(()) }
}

/// Hands `f` every project, then every avatar, of `user` (every user with
/// `None`), in creation order; run it in a read-only transaction for one
/// snapshot. Rows are fetched whole: a streaming portal is left for later.
pub(crate) fn export(
    c: &mut Session<'_, impl GenericClient>,
    user: Option<&str>,
    mut f: impl FnMut(Record) -> Result<()>,
) -> Result<()> {
    let filter = "WHERE $1::text IS NULL OR \"userId\" = $1";
    for r in
        c.query(&format!("SELECT {} FROM projects {filter} ORDER BY \"createdAt\", id", *PROJECT_SELECT), &[&user])?
    {
        f(Record::Project(Project::from_pg_row(&r)?))?;
    }
    for r in
        c.query(&format!("SELECT {} FROM avatars {filter} ORDER BY \"createdAt\", id", *AVATAR_SELECT), &[&user])?
    {
        f(Record::Avatar(Avatar::from_pg_row(&r)?))?;
    }
    Ok(())
}

pub(crate) fn count(c: &mut Session<'_, impl GenericClient>, user: Option<&str>) -> Result<(u64, u64)> {
    let row = c.query_one(
        "SELECT (SELECT count(*) FROM projects WHERE $1::text IS NULL OR \"userId\" = $1), \
                (SELECT count(*) FROM avatars WHERE $1::text IS NULL OR \"userId\" = $1)",
        &[&user],
    )?;
    Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
}
