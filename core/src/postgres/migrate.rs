//! The migration runner on PostgreSQL: refinery's history table and
//! checksums, our own transaction. PostgreSQL's DDL is transactional, so all
//! pending migrations and their history rows commit together or not at all;
//! that replaces SQLite's pre-migrate file backup. An advisory lock taken
//! inside the transaction makes processes on any number of hosts migrate one
//! at a time: the first applies everything, the others then find nothing
//! pending.

use postgres::GenericClient;

use super::quote;
use crate::adopt::{AdoptOutcome, AdoptionReport, compare_versions, nothing_to_adopt, outcome, version_to_adopt};
use crate::error::{Error, Result};
use crate::migrate::{
    AppliedMigration, HISTORY_TABLE, MigrationOutcome, MigrationStatus, applied_on_now, check_compatible,
    embedded_postgres_migrations, status_of,
};

/// The advisory lock key of migrating `schema`: FNV-1a of a fixed prefix and
/// the schema name, so that stores in other schemas of one database do not
/// wait on each other, and the key is the same in every build.
pub(crate) fn lock_key(schema: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "avatar-store migrate ".bytes().chain(schema.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// Reads `schema`'s history; empty when it has no history table. Reads only,
/// so a newer database is refused before anything is written.
pub(crate) fn applied(c: &mut impl GenericClient, schema: &str) -> Result<Vec<AppliedMigration>> {
    let exists = c
        .query_opt(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
            &[&schema, &HISTORY_TABLE],
        )?
        .is_some();
    if !exists {
        return Ok(Vec::new());
    }
    let rows = c.query(
        &format!("SELECT version, name, applied_on, checksum FROM {}.{HISTORY_TABLE} ORDER BY version", quote(schema)),
        &[],
    )?;
    Ok(rows
        .iter()
        .map(|r| AppliedMigration {
            version: r.get(0),
            name: r.get::<_, Option<String>>(1).unwrap_or_default(),
            applied_on: r.get::<_, Option<String>>(2).unwrap_or_default(),
            checksum: r.get::<_, Option<String>>(3).unwrap_or_default(),
        })
        .collect())
}

/// Compares `schema`'s history with this build's PostgreSQL migrations.
pub(crate) fn status(c: &mut impl GenericClient, schema: &str) -> Result<MigrationStatus> {
    Ok(status_of(applied(c, schema)?, embedded_postgres_migrations()))
}

/// Applies every pending migration in one transaction under the advisory lock.
pub(crate) fn migrate(c: &mut postgres::Client, schema: &str) -> Result<MigrationOutcome> {
    // Cheap unlocked look first: the common open finds nothing to do.
    let st = status(c, schema)?;
    check_compatible(&st)?;
    if st.pending.is_empty() {
        let v = st.current_version;
        return Ok(MigrationOutcome { from_version: v, to_version: v, ..Default::default() });
    }
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(schema)])?;
    // Under the lock: another process may have migrated meanwhile.
    let st = status(&mut tx, schema)?;
    check_compatible(&st)?;
    // V1 would fail on the tables another tool made.
    refuse_unadopted(&mut tx, schema, &st)?;
    let from = st.current_version;
    if st.pending.is_empty() {
        tx.commit()?;
        return Ok(MigrationOutcome { from_version: from, to_version: from, ..Default::default() });
    }
    let q = quote(schema);
    // CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database
    // even when the schema exists, which an application role may lack.
    if tx.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])?.is_none() {
        tx.batch_execute(&format!("CREATE SCHEMA {q}"))?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {q}.{HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255))"
    ))?;
    // The migrations name their tables unqualified: they land in the schema
    // first in the search path, for this transaction only.
    tx.batch_execute(&format!("SET LOCAL search_path TO {q}"))?;
    let mut done = Vec::new();
    for m in &st.pending {
        tx.batch_execute(&m.sql).map_err(|e| Error::Migration {
            version: Some(m.version),
            message: format!(
                "V{}__{} failed: {}; the database was left at V{from}",
                m.version,
                m.name,
                e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| e.to_string())
            ),
        })?;
        tx.execute(
            &format!("INSERT INTO {q}.{HISTORY_TABLE} (version, name, applied_on, checksum) VALUES ($1, $2, $3, $4)"),
            &[&m.version, &m.name, &applied_on_now(), &m.checksum],
        )?;
        done.push(m.version);
    }
    tx.commit()?;
    let to = *done.last().unwrap_or(&from);
    Ok(MigrationOutcome { from_version: from, to_version: to, applied: done, backup: None })
}

/// [`Error::NotAdopted`] when `schema` has avatar-store's tables and no
/// history (`st` is its status).
pub(crate) fn refuse_unadopted(c: &mut impl GenericClient, schema: &str, st: &MigrationStatus) -> Result<()> {
    if !st.applied.is_empty() {
        return Ok(());
    }
    let tables = super::schema::app_tables(c, schema)?;
    if tables.is_empty() { Ok(()) } else { Err(Error::NotAdopted { tables }) }
}

/// [`crate::Store::adoption_check`] on PostgreSQL: reads only (the versions'
/// schemas are made in a scratch schema that is rolled back).
pub(crate) fn adoption_check(c: &mut postgres::Client, schema: &str) -> Result<Option<AdoptionReport>> {
    // READ WRITE even on a read-only store (doctor): the versions' scratch
    // schema needs CREATE, and this transaction always rolls back.
    let mut tx = c.build_transaction().read_only(false).start()?;
    let report = adoption_check_in(&mut tx, schema)?;
    tx.rollback()?;
    Ok(report)
}

fn adoption_check_in(c: &mut postgres::Transaction<'_>, schema: &str) -> Result<Option<AdoptionReport>> {
    if !status(c, schema)?.applied.is_empty() {
        return Ok(None);
    }
    let tables = super::schema::app_tables(c, schema)?;
    if tables.is_empty() {
        return Ok(None);
    }
    // The live schema first: the scratch schema's savepoint resets the search
    // path, which decides how foreign keys print, when it is rolled back.
    let live = super::schema::read_schema(c, schema)?;
    let versions = super::schema::version_schemas(c)?;
    Ok(Some(compare_versions(&live, &versions, &crate::schema::known_tables(), tables)))
}

/// [`crate::Store::adopt`] on PostgreSQL: the check and the history rows in
/// one transaction under the migration lock, so no migration or other
/// adoption runs meanwhile, and a second adopter finds the history.
pub(crate) fn adopt(c: &mut postgres::Client, schema: &str) -> Result<AdoptOutcome> {
    let mut tx = c.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(schema)])?;
    let st = status(&mut tx, schema)?;
    check_compatible(&st)?;
    let Some(report) = adoption_check_in(&mut tx, schema)? else {
        return Err(nothing_to_adopt(st.current_version));
    };
    let version = version_to_adopt(&report)?;
    let q = quote(schema);
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {q}.{HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255))"
    ))?;
    for m in st.pending.iter().filter(|m| m.version <= version) {
        tx.execute(
            &format!("INSERT INTO {q}.{HISTORY_TABLE} (version, name, applied_on, checksum) VALUES ($1, $2, $3, $4)"),
            &[&m.version, &m.name, &applied_on_now(), &m.checksum],
        )?;
    }
    tx.commit()?;
    Ok(outcome(version, &st))
}

#[cfg(test)]
mod test {
    const PINNED: i64 = -8_116_591_567_523_067_538;

    #[test]
    fn lock_key_is_stable_and_per_schema() {
        // Processes of different builds must agree on it.
        assert_eq!(super::lock_key("public"), super::lock_key("public"));
        assert_ne!(super::lock_key("public"), super::lock_key("tenant_a"));
        assert_eq!(
            super::lock_key("public"),
            PINNED,
            "the advisory lock key changed: old and new builds would migrate at once"
        );
    }
}
