//! Schema verification: reads the live schema, compares it with the one the
//! embedded migrations produce, reports every difference, and repairs the
//! additive ones.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use rusqlite::Connection;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::migrate;

/// A column as SQLite describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColumnSpec {
    /// Declared type, upper-cased (`TEXT`, `INTEGER`).
    #[serde(rename = "type")]
    pub decl_type: String,
    /// NOT NULL constraint.
    pub not_null: bool,
    /// Default value expression, as written.
    pub default: Option<String>,
    /// Position in the primary key (0 when not part of it).
    pub primary_key: i32,
}

/// An index as SQLite describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexSpec {
    /// Index name.
    pub name: String,
    /// Indexed table.
    pub table: String,
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// UNIQUE index.
    pub unique: bool,
    /// The `CREATE INDEX` statement.
    #[serde(skip)]
    pub sql: String,
}

/// A table as either dialect describes it, normalised so that two schemas of
/// one dialect compare field by field.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableSpec {
    /// The `CREATE TABLE` statement, where the dialect keeps one (SQLite).
    pub(crate) sql: String,
    pub(crate) columns: BTreeMap<String, ColumnSpec>,
    pub(crate) foreign_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Schema {
    pub(crate) tables: BTreeMap<String, TableSpec>,
    pub(crate) indexes: BTreeMap<String, IndexSpec>,
}

/// A column the live database lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingColumn {
    /// Its table.
    pub table: String,
    /// Its name.
    pub column: String,
    /// What it should be.
    pub expected: ColumnSpec,
}

/// A column, or a table's foreign keys, present but different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    /// The table.
    pub table: String,
    /// The column or index concerned (`foreign keys` for a table's foreign keys).
    pub object: String,
    /// What this build expects.
    pub expected: String,
    /// What the database has.
    pub found: String,
}

/// What [`crate::Store::check_schema`] found.
///
/// `Display` prints it for people, `serde` serializes it for machines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaReport {
    /// Highest migration version the database records.
    pub current_version: i32,
    /// Highest migration version this build knows.
    pub expected_version: i32,
    /// Versions not applied yet (only when opened without migrating).
    pub pending_migrations: Vec<i32>,
    /// Tables that do not exist.
    pub missing_tables: Vec<String>,
    /// Columns that do not exist.
    pub missing_columns: Vec<MissingColumn>,
    /// Columns whose type, nullability, default or key differ, and tables whose foreign keys differ.
    pub column_differences: Vec<Difference>,
    /// Indexes that do not exist.
    pub missing_indexes: Vec<IndexSpec>,
    /// Indexes that exist with other columns or uniqueness.
    pub index_differences: Vec<Difference>,
    /// Tables, columns and indexes this build does not know; harmless, reported for information.
    pub warnings: Vec<String>,
}

impl SchemaReport {
    /// True when the database matches the expected schema (warnings aside).
    pub fn is_ok(&self) -> bool {
        self.pending_migrations.is_empty()
            && self.missing_tables.is_empty()
            && self.missing_columns.is_empty()
            && self.column_differences.is_empty()
            && self.missing_indexes.is_empty()
            && self.index_differences.is_empty()
    }

    /// Every missing column as `table.column`.
    pub fn missing_column_names(&self) -> Vec<String> {
        self.missing_columns.iter().map(|c| format!("{}.{}", c.table, c.column)).collect()
    }

    /// Serializes the report as a JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl SchemaReport {
    /// Every difference that makes [`SchemaReport::is_ok`] false, one line
    /// each, as `Display` prints them (warnings aside).
    ///
    /// ```
    /// let store = avatar_store::Store::open_in_memory().unwrap();
    /// assert!(store.check_schema().unwrap().differences().is_empty());
    /// ```
    pub fn differences(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.pending_migrations.is_empty() {
            let v: Vec<String> = self.pending_migrations.iter().map(|v| format!("V{v}")).collect();
            out.push(format!("pending migrations: {}", v.join(", ")));
        }
        for t in &self.missing_tables {
            out.push(format!("missing table: {t}"));
        }
        for c in &self.missing_columns {
            let nn = if c.expected.not_null { " NOT NULL" } else { "" };
            let d = c.expected.default.as_ref().map(|d| format!(" DEFAULT {d}")).unwrap_or_default();
            out.push(format!("missing column: {}.{} {}{nn}{d}", c.table, c.column, c.expected.decl_type));
        }
        for d in &self.column_differences {
            out.push(format!("different column: {}.{}: expected {}, found {}", d.table, d.object, d.expected, d.found));
        }
        for i in &self.missing_indexes {
            out.push(format!("missing index: {} ON {} ({})", i.name, i.table, i.columns.join(", ")));
        }
        for d in &self.index_differences {
            out.push(format!("different index: {}: expected {}, found {}", d.object, d.expected, d.found));
        }
        out
    }
}

impl fmt::Display for SchemaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "schema version V{} (this build expects V{})", self.current_version, self.expected_version)?;
        if self.is_ok() {
            writeln!(f, "schema OK")?;
        }
        for line in self.differences() {
            writeln!(f, "{line}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

/// What [`crate::Store::repair`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairOutcome {
    /// The statements executed, in order (all in one transaction).
    pub applied: Vec<String>,
    /// Differences left alone because fixing them could lose data.
    pub not_repaired: Vec<String>,
    /// The backup taken before repairing, for a file database that needed repair.
    #[serde(serialize_with = "crate::backup::lossy_path")]
    pub backup: Option<PathBuf>,
    /// The schema after the repair.
    pub after: SchemaReport,
}

fn describe_column(c: &ColumnSpec) -> String {
    let mut s = if c.decl_type.is_empty() { "(no type)".to_owned() } else { c.decl_type.clone() };
    if c.not_null {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if c.primary_key > 0 {
        s.push_str(" PRIMARY KEY");
    }
    s
}

fn read_schema(conn: &Connection) -> Result<Schema> {
    let mut schema = Schema::default();
    let mut stmt = conn.prepare(
        "SELECT name, ifnull(sql, '') FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> ?1 ORDER BY name",
    )?;
    let tables: Vec<(String, String)> =
        stmt.query_map([migrate::HISTORY_TABLE], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    for (table, sql) in tables {
        let mut spec = TableSpec { sql, ..Default::default() };
        let mut cols =
            conn.prepare("SELECT name, upper(type), \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")?;
        for row in cols.query_map([&table], |r| {
            Ok((
                r.get::<_, String>(0)?,
                ColumnSpec { decl_type: r.get(1)?, not_null: r.get(2)?, default: r.get(3)?, primary_key: r.get(4)? },
            ))
        })? {
            let (name, col) = row?;
            spec.columns.insert(name, col);
        }
        let mut fks = conn.prepare(
            "SELECT \"from\", \"table\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )?;
        spec.foreign_keys = fks
            .query_map([&table], |r| {
                Ok(format!(
                    "{} -> {}({}) ON UPDATE {} ON DELETE {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        schema.tables.insert(table, spec);
    }
    // Indexes SQLite makes for PRIMARY KEY / UNIQUE have no SQL; they follow
    // from the table definition, so only declared indexes are compared.
    let mut idx = conn.prepare(
        "SELECT name, tbl_name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
    )?;
    let indexes: Vec<(String, String, String)> =
        idx.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
    for (name, table, sql) in indexes {
        let mut cols = conn.prepare("SELECT ifnull(name, '<expr>') FROM pragma_index_info(?1) ORDER BY seqno")?;
        let columns = cols.query_map([&name], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let unique = sql.trim_start().to_ascii_uppercase().starts_with("CREATE UNIQUE");
        schema.indexes.insert(name.clone(), IndexSpec { name, table, columns, unique, sql });
    }
    Ok(schema)
}

/// The schema the embedded migrations produce, computed once per process.
fn expected() -> &'static Schema {
    static EXPECTED: OnceLock<Schema> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let mut conn = Connection::open_in_memory().expect("in-memory SQLite");
        migrate::migrate(&mut conn, None, false).expect("embedded migrations apply to an empty database");
        read_schema(&conn).expect("read the expected schema")
    })
}

/// The schema of each version this build knows, oldest first: migrations
/// 1..=N applied to an empty in-memory database, read after each one.
/// Computed once per process.
pub(crate) fn version_schemas() -> &'static [(i32, Schema)] {
    static VERSIONS: OnceLock<Vec<(i32, Schema)>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        let conn = Connection::open_in_memory().expect("in-memory SQLite");
        migrate::embedded_migrations()
            .into_iter()
            .map(|m| {
                conn.execute_batch(&m.sql).expect("embedded migrations apply to an empty database");
                (m.version, read_schema(&conn).expect("read a version's schema"))
            })
            .collect()
    })
}

/// The tables of avatar-store, at any version. The names are the same in
/// both dialects (the heads are compared in the tests), so PostgreSQL uses
/// this list too, without replaying migrations on the server at every open.
pub(crate) fn known_tables() -> std::collections::BTreeSet<String> {
    version_schemas().iter().flat_map(|(_, s)| s.tables.keys().cloned()).collect()
}

/// avatar-store's tables present in the database behind `conn`.
pub(crate) fn app_tables(conn: &Connection) -> Result<Vec<String>> {
    let known = known_tables();
    let mut stmt = conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names.into_iter().filter(|n| known.contains(n)).collect())
}

/// The live schema behind `conn`, for [`crate::adopt`].
pub(crate) fn live(conn: &Connection) -> Result<Schema> {
    read_schema(conn)
}

/// Compares the live schema behind `conn` with the expected one.
pub(crate) fn check(conn: &Connection) -> Result<SchemaReport> {
    let st = migrate::status(conn)?;
    let live = read_schema(conn)?;
    Ok(compare(&live, expected(), &st))
}

/// The report on `live` against `exp`, both read the same way from one dialect.
pub(crate) fn compare(live: &Schema, exp: &Schema, st: &migrate::MigrationStatus) -> SchemaReport {
    let mut r = SchemaReport {
        current_version: st.current_version,
        expected_version: st.latest_version,
        pending_migrations: st.pending.iter().map(|m| m.version).collect(),
        ..Default::default()
    };
    for (name, et) in &exp.tables {
        let Some(lt) = live.tables.get(name) else {
            r.missing_tables.push(name.clone());
            continue;
        };
        for (col, ec) in &et.columns {
            match lt.columns.get(col) {
                None => r.missing_columns.push(MissingColumn {
                    table: name.clone(),
                    column: col.clone(),
                    expected: ec.clone(),
                }),
                Some(lc) if lc != ec => r.column_differences.push(Difference {
                    table: name.clone(),
                    object: col.clone(),
                    expected: describe_column(ec),
                    found: describe_column(lc),
                }),
                Some(_) => {}
            }
        }
        for col in lt.columns.keys().filter(|c| !et.columns.contains_key(*c)) {
            r.warnings.push(format!("extra column {name}.{col}"));
        }
        if lt.foreign_keys != et.foreign_keys {
            r.column_differences.push(Difference {
                table: name.clone(),
                object: "foreign keys".into(),
                expected: et.foreign_keys.join("; "),
                found: lt.foreign_keys.join("; "),
            });
        }
    }
    for name in live.tables.keys().filter(|t| !exp.tables.contains_key(*t)) {
        r.warnings.push(format!("extra table {name}"));
    }
    for (name, ei) in &exp.indexes {
        match live.indexes.get(name) {
            None => r.missing_indexes.push(ei.clone()),
            Some(li) if (li.table != ei.table || li.columns != ei.columns || li.unique != ei.unique) => {
                let show = |i: &IndexSpec| {
                    format!("{}ON {} ({})", if i.unique { "UNIQUE " } else { "" }, i.table, i.columns.join(", "))
                };
                r.index_differences.push(Difference {
                    table: ei.table.clone(),
                    object: name.clone(),
                    expected: show(ei),
                    found: show(li),
                })
            }
            Some(_) => {}
        }
    }
    for name in live.indexes.keys().filter(|i| !exp.indexes.contains_key(*i)) {
        r.warnings.push(format!("extra index {name}"));
    }
    r
}

/// Fails with [`Error::SchemaDrift`] unless the live schema is as expected.
pub(crate) fn verify(conn: &Connection) -> Result<SchemaReport> {
    let report = check(conn)?;
    if report.is_ok() { Ok(report) } else { Err(Error::SchemaDrift(Box::new(report))) }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// The statements that fix the additive part of `report`, and descriptions of
/// what cannot be fixed safely.
pub(crate) fn repair_plan(report: &SchemaReport) -> (Vec<String>, Vec<String>) {
    repair_plan_for(report, expected())
}

/// [`repair_plan`] against `exp`, the expected schema of either dialect.
pub(crate) fn repair_plan_for(report: &SchemaReport, exp: &Schema) -> (Vec<String>, Vec<String>) {
    let mut sql = Vec::new();
    let mut refused = Vec::new();
    for t in &report.missing_tables {
        match exp.tables.get(t).map(|t| t.sql.as_str()) {
            Some(create) if !create.is_empty() => sql.push(format!("{create};")),
            // PostgreSQL's catalog keeps no CREATE TABLE text to replay.
            _ => refused.push(format!("table {t} is missing; it needs its migration, not a repair")),
        }
    }
    for c in &report.missing_columns {
        let e = &c.expected;
        // ADD COLUMN cannot add key columns, and a NOT NULL column needs a
        // default to fill the rows that already exist.
        if e.primary_key > 0 || (e.not_null && e.default.is_none()) {
            refused.push(format!(
                "column {}.{} ({}) cannot be added in place; it needs a migration that rebuilds the table",
                c.table,
                c.column,
                describe_column(e)
            ));
            continue;
        }
        let mut stmt = format!("ALTER TABLE {} ADD COLUMN {} {}", quote(&c.table), quote(&c.column), e.decl_type);
        if e.not_null {
            stmt.push_str(" NOT NULL");
        }
        if let Some(d) = &e.default {
            stmt.push_str(&format!(" DEFAULT {d}"));
        }
        stmt.push(';');
        sql.push(stmt);
    }
    for d in &report.column_differences {
        refused.push(format!(
            "{}.{}: expected {}, found {}; changing it could lose data, so it is left alone",
            d.table, d.object, d.expected, d.found
        ));
    }
    for i in &report.missing_indexes {
        sql.push(format!("{};", i.sql));
    }
    for d in &report.index_differences {
        refused.push(format!(
            "index {}: expected {}, found {}; left alone, drop it by hand to have it recreated",
            d.object, d.expected, d.found
        ));
    }
    (sql, refused)
}

#[cfg(test)]
mod test {
    use super::*;

    fn migrated() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        migrate::migrate(&mut c, None, false).unwrap();
        c
    }

    #[test]
    fn a_fresh_database_matches() {
        let r = check(&migrated()).unwrap();
        assert!(r.is_ok(), "{r}");
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn each_kind_of_difference_is_reported() {
        let c = migrated();
        c.execute_batch(
            "DROP INDEX idx_avatars_project_created;
             CREATE INDEX idx_avatars_user_created2 ON avatars (name);
             DROP INDEX idx_projects_user_created;
             CREATE UNIQUE INDEX idx_projects_user_created ON projects (name);
             ALTER TABLE projects ADD COLUMN extra TEXT;",
        )
        .unwrap();
        let r = check(&c).unwrap();
        assert_eq!(
            r.missing_indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["idx_avatars_project_created"]
        );
        assert_eq!(r.index_differences[0].object, "idx_projects_user_created");
        assert!(r.warnings.contains(&"extra column projects.extra".to_string()));
        assert!(r.warnings.contains(&"extra index idx_avatars_user_created2".to_string()));
        let text = r.to_string();
        assert!(text.contains("missing index: idx_avatars_project_created"), "{text}");
        let (sql, refused) = repair_plan(&r);
        assert_eq!(sql.len(), 1);
        assert_eq!(refused.len(), 1);
    }
}
