//! The drift check on PostgreSQL: the live schema read from `pg_catalog`
//! (one schema only, never another's tables), compared with the schema this
//! build's migrations produce, into the same [`SchemaReport`] as SQLite's.

use postgres::GenericClient;

use super::quote;
use crate::error::Result;
use crate::migrate::{HISTORY_TABLE, embedded_postgres_migrations};
use crate::schema::{ColumnSpec, IndexSpec, Schema, SchemaReport, TableSpec, compare};

/// Reads the tables, columns, foreign keys and indexes of `schema`.
pub(crate) fn read_schema(c: &mut impl GenericClient, schema: &str) -> Result<Schema> {
    let mut out = Schema::default();
    let tables = c.query(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2 ORDER BY c.relname",
        &[&schema, &HISTORY_TABLE],
    )?;
    for t in tables {
        out.tables.insert(t.get(0), TableSpec::default());
    }
    // format_type gives the type as declared (`timestamp(3) with time zone`),
    // so a TIMESTAMPTZ(0) or a TEXT where a TIMESTAMPTZ(3) belongs differs.
    let columns = c.query(
        "SELECT c.relname, a.attname, upper(format_type(a.atttypid, a.atttypmod)), a.attnotnull, \
                pg_get_expr(d.adbin, d.adrelid), coalesce(array_position(pk.conkey, a.attnum), 0)::int4 \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p' \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> $2 \
           AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY c.relname, a.attnum",
        &[&schema, &HISTORY_TABLE],
    )?;
    for r in columns {
        let table: String = r.get(0);
        if let Some(t) = out.tables.get_mut(&table) {
            t.columns.insert(
                r.get(1),
                ColumnSpec { decl_type: r.get(2), not_null: r.get(3), default: r.get(4), primary_key: r.get(5) },
            );
        }
    }
    // The search path is the store's schema, so references inside it print
    // unqualified and references elsewhere qualified: a foreign key to
    // another schema's table differs.
    let fks = c.query(
        "SELECT c.relname, pg_get_constraintdef(k.oid) FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND k.contype = 'f' ORDER BY c.relname, pg_get_constraintdef(k.oid)",
        &[&schema],
    )?;
    for r in fks {
        let table: String = r.get(0);
        if let Some(t) = out.tables.get_mut(&table) {
            t.foreign_keys.push(r.get(1));
        }
    }
    // Indexes behind a PRIMARY KEY or UNIQUE constraint follow from the
    // table; only declared indexes are compared, as on SQLite. Each column
    // carries its DESC / NULLS FIRST, which change the keyset order it serves.
    let indexes = c.query(
        "SELECT i.relname, t.relname, ix.indisunique, pg_get_indexdef(ix.indexrelid), \
                array(SELECT pg_get_indexdef(ix.indexrelid, k, true) \
                             || CASE WHEN ix.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END \
                             || CASE WHEN (ix.indoption[k - 1] & 2 = 2) <> (ix.indoption[k - 1] & 1 = 1) \
                                     THEN CASE WHEN ix.indoption[k - 1] & 2 = 2 THEN ' NULLS FIRST' ELSE ' NULLS LAST' END \
                                     ELSE '' END \
                      FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k) \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = $1 AND t.relname <> $2 \
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid) \
         ORDER BY i.relname",
        &[&schema, &HISTORY_TABLE],
    )?;
    let prefix = format!("{}.", quote(schema));
    let bare_prefix = format!("{schema}.");
    for r in indexes {
        let name: String = r.get(0);
        // pg_get_indexdef qualifies the table; the repair statement must not,
        // so that it lands in the store's schema whatever it is called.
        let sql: String = r.get(3);
        let sql = sql.replacen(&format!(" ON {prefix}"), " ON ", 1).replacen(&format!(" ON {bare_prefix}"), " ON ", 1);
        let columns: Vec<String> = r.get(4);
        out.indexes.insert(name.clone(), IndexSpec { name, table: r.get(1), columns, unique: r.get(2), sql });
    }
    Ok(out)
}

/// The schema this build's migrations produce, read from the server itself:
/// they run in a scratch schema inside a transaction that is rolled back, so
/// nothing is left behind, and the types are exactly what this server makes
/// of them.
pub(crate) fn expected(c: &mut postgres::Client) -> Result<Schema> {
    let scratch = format!("avatar_store_expected_{}", uuid::Uuid::new_v4().simple());
    let mut tx = c.transaction()?;
    tx.batch_execute(&format!("CREATE SCHEMA {scratch}; SET LOCAL search_path TO {scratch}"))?;
    for m in embedded_postgres_migrations() {
        tx.batch_execute(&m.sql)?;
    }
    let schema = read_schema(&mut tx, &scratch)?;
    tx.rollback()?;
    Ok(schema)
}

/// The schema of each version this build knows, oldest first: migrations
/// 1..=N applied in a scratch schema, read after each one, inside a
/// transaction (a savepoint when `c` is one) that is rolled back.
pub(crate) fn version_schemas(c: &mut impl GenericClient) -> Result<Vec<(i32, Schema)>> {
    let scratch = format!("avatar_store_versions_{}", uuid::Uuid::new_v4().simple());
    let mut tx = c.transaction()?;
    tx.batch_execute(&format!("CREATE SCHEMA {scratch}; SET LOCAL search_path TO {scratch}"))?;
    let mut out = Vec::new();
    for m in embedded_postgres_migrations() {
        tx.batch_execute(&m.sql)?;
        out.push((m.version, read_schema(&mut tx, &scratch)?));
    }
    tx.rollback()?;
    Ok(out)
}

/// avatar-store's tables (at any version) present in `schema`.
pub(crate) fn app_tables(c: &mut impl GenericClient, schema: &str) -> Result<Vec<String>> {
    let known = crate::schema::known_tables();
    let rows = c.query(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname",
        &[&schema],
    )?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).filter(|t| known.contains(t)).collect())
}

/// Compares `schema` with `expected`.
pub(crate) fn check(c: &mut postgres::Client, schema: &str, expected: &Schema) -> Result<SchemaReport> {
    // One snapshot for the history and the catalog.
    let mut tx =
        c.build_transaction().read_only(true).isolation_level(postgres::IsolationLevel::RepeatableRead).start()?;
    let report = check_in(&mut tx, schema, expected)?;
    tx.commit()?;
    Ok(report)
}

/// [`check`] inside the caller's transaction.
pub(crate) fn check_in(c: &mut impl GenericClient, schema: &str, expected: &Schema) -> Result<SchemaReport> {
    let st = super::migrate::status(c, schema)?;
    let live = read_schema(c, schema)?;
    Ok(compare(&live, expected, &st))
}
