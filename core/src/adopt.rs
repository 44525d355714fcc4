//! Adopting a database the store did not create: one that holds
//! avatar-store's tables but no migration history (made by Prisma Migrate,
//! by hand, by a script). Opening one is refused with [`Error::NotAdopted`]
//! before anything is written, because running V1 on it would fail on "table
//! exists" at best, and guessing its version could skip or repeat a
//! migration. [`crate::Store::adoption_check`] compares its tables with the
//! schema of every version this build knows (each one produced by applying
//! migrations 1..=N to a scratch database, never written by hand), and
//! [`crate::Store::adopt`] records the history up to N only when the live
//! schema is exactly version N's.

use std::collections::BTreeSet;
use std::fmt;

use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::migrate::{self, HISTORY_TABLE, MigrationStatus};
use crate::schema::{self, Schema};

/// The live schema against one version this build knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionComparison {
    /// The version: its schema is what migrations 1..=`version` make.
    pub version: i32,
    /// Everything that differs from that version's schema, one line each
    /// (the lines of [`crate::SchemaReport`], plus the extra columns,
    /// indexes and avatar-store tables that an exact match cannot have).
    /// Empty when the live schema is exactly that version's.
    pub differences: Vec<String>,
}

impl VersionComparison {
    /// True when the live schema is exactly this version's.
    pub fn matches(&self) -> bool {
        self.differences.is_empty()
    }
}

/// What [`crate::Store::adoption_check`] found in a database with
/// avatar-store's tables and no migration history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdoptionReport {
    /// avatar-store's tables found in the database.
    pub tables: Vec<String>,
    /// The version whose schema the live one is exactly, which
    /// [`crate::Store::adopt`] would record; `None` when it matches none.
    /// Should two versions have the same schema (a later migration that
    /// changes only data), the earlier one, so that the later one still runs.
    pub matching_version: Option<i32>,
    /// The live schema against each version this build knows, oldest first;
    /// the last one is this build's schema.
    pub versions: Vec<VersionComparison>,
}

impl AdoptionReport {
    /// The comparison with this build's schema (the latest version).
    pub fn head(&self) -> Option<&VersionComparison> {
        self.versions.last()
    }

    /// The version with the fewest differences (the latest among equals):
    /// what to make the database match when no version does.
    pub fn closest(&self) -> Option<&VersionComparison> {
        self.versions.iter().rev().min_by_key(|v| v.differences.len())
    }

    /// The error [`crate::Store::adopt`] gives when no version matches.
    fn refusal(&self) -> Error {
        let Some(closest) = self.closest() else {
            return Error::Migration { version: None, message: "this build knows no migration".into() };
        };
        let latest = self.head().map(|h| h.version).unwrap_or(0);
        Error::Migration {
            version: None,
            message: format!(
                "not adopted: the schema matches no version this build knows (V1 to V{latest}), so no history \
                 was recorded and nothing was written; the closest is V{}, which differs in:\n  {}\nchange the \
                 database to match V{} exactly (or restore it), then adopt again",
                closest.version,
                closest.differences.join("\n  "),
                closest.version
            ),
        }
    }
}

impl fmt::Display for AdoptionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "no migration history: the database has avatar-store's tables ({}) but no {HISTORY_TABLE}; \
             it was not created by avatar-store",
            self.tables.join(", ")
        )?;
        if let Some(head) = self.head() {
            if head.matches() {
                writeln!(f, "against this build's schema (V{}): identical", head.version)?;
            } else {
                writeln!(f, "against this build's schema (V{}):", head.version)?;
                for d in &head.differences {
                    writeln!(f, "  {d}")?;
                }
            }
        }
        writeln!(f, "against each version:")?;
        for v in &self.versions {
            match v.differences.len() {
                0 => writeln!(f, "  V{}: matches exactly", v.version)?,
                1 => writeln!(f, "  V{}: 1 difference", v.version)?,
                n => writeln!(f, "  V{}: {n} differences", v.version)?,
            }
        }
        match (self.matching_version, self.closest()) {
            (Some(n), _) => {
                let range = if n == 1 { "V1".to_owned() } else { format!("V1 to V{n}") };
                writeln!(f, "it is V{n}: `avatar-store migrate --adopt` records {range} as applied")?;
                if self.head().is_some_and(|h| h.version > n) {
                    writeln!(f, "then `avatar-store migrate` applies the later versions")?;
                }
            }
            (None, Some(c)) => {
                writeln!(f, "it matches no version; the closest is V{}, which differs in:", c.version)?;
                for d in &c.differences {
                    writeln!(f, "  {d}")?;
                }
                writeln!(f, "make it match V{} exactly, then run `avatar-store migrate --adopt`", c.version)?;
            }
            (None, None) => {}
        }
        Ok(())
    }
}

/// What [`crate::Store::adopt`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdoptOutcome {
    /// The version the database was found to be, now recorded as applied.
    pub version: i32,
    /// The versions recorded in the history (1 to `version`), without running them.
    pub recorded: Vec<i32>,
    /// The later versions, which the next open or migrate applies.
    pub pending: Vec<i32>,
}

/// Compares `live` with the schema of each version (`versions`, oldest
/// first). A version matches only exactly: beyond what [`schema::compare`]
/// counts as drift, its warnings about extra columns, and extra indexes or
/// tables of avatar-store's own (`known`), are differences here, since the
/// later migrations that create them would fail on them. Other tables (and
/// their indexes), such as `_prisma_migrations`, are the database's business.
pub(crate) fn compare_versions(
    live: &Schema,
    versions: &[(i32, Schema)],
    known: &BTreeSet<String>,
    tables: Vec<String>,
) -> AdoptionReport {
    let comparisons: Vec<VersionComparison> = versions
        .iter()
        .map(|(version, exp)| {
            let st = MigrationStatus {
                current_version: 0,
                latest_version: *version,
                applied: Vec::new(),
                pending: Vec::new(),
                changed: Vec::new(),
                newer_than_build: false,
            };
            let report = schema::compare(live, exp, &st);
            let mut differences = report.differences();
            for w in &report.warnings {
                let blocks = if w.starts_with("extra column ") {
                    true
                } else if let Some(t) = w.strip_prefix("extra table ") {
                    known.contains(t)
                } else if let Some(i) = w.strip_prefix("extra index ") {
                    live.indexes.get(i).is_some_and(|i| known.contains(&i.table))
                } else {
                    true
                };
                if blocks {
                    differences.push(w.clone());
                }
            }
            VersionComparison { version: *version, differences }
        })
        .collect();
    let matching_version = comparisons.iter().find(|c| c.matches()).map(|c| c.version);
    AdoptionReport { tables, matching_version, versions: comparisons }
}

/// The version `report` says the database is, or the refusal naming the
/// differences of the closest one.
pub(crate) fn version_to_adopt(report: &AdoptionReport) -> Result<i32> {
    report.matching_version.ok_or_else(|| report.refusal())
}

/// The refusal of [`crate::Store::adopt`] on a database that needs no adoption.
pub(crate) fn nothing_to_adopt(current: i32) -> Error {
    let message = if current > 0 {
        format!("nothing to adopt: the database already has a migration history (at V{current})")
    } else {
        "nothing to adopt: the database holds none of avatar-store's tables; opening it creates them".into()
    };
    Error::Migration { version: None, message }
}

/// [`Error::NotAdopted`] when `conn`'s database has avatar-store's tables
/// and no history (`st` is its status).
pub(crate) fn refuse_unadopted(conn: &Connection, st: &MigrationStatus) -> Result<()> {
    if !st.applied.is_empty() {
        return Ok(());
    }
    let tables = schema::app_tables(conn)?;
    if tables.is_empty() { Ok(()) } else { Err(Error::NotAdopted { tables }) }
}

/// [`crate::Store::adoption_check`] on SQLite.
pub(crate) fn check(conn: &Connection) -> Result<Option<AdoptionReport>> {
    if !migrate::status(conn)?.applied.is_empty() {
        return Ok(None);
    }
    let tables = schema::app_tables(conn)?;
    if tables.is_empty() {
        return Ok(None);
    }
    let live = schema::live(conn)?;
    Ok(Some(compare_versions(&live, schema::version_schemas(), &schema::known_tables(), tables)))
}

/// [`crate::Store::adopt`] on SQLite: one IMMEDIATE transaction, so two
/// adopters (or an adopter and a migrating opener) take turns, and the
/// second finds the history the first recorded.
pub(crate) fn adopt(conn: &mut Connection) -> Result<AdoptOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let st = migrate::status(&tx)?;
    migrate::check_compatible(&st)?;
    let Some(report) = check(&tx)? else { return Err(nothing_to_adopt(st.current_version)) };
    let version = version_to_adopt(&report)?;
    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255));"
    ))?;
    let outcome = outcome(version, &st);
    for m in st.pending.iter().filter(|m| m.version <= version) {
        tx.execute(
            &format!("INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum) VALUES (?1, ?2, ?3, ?4)"),
            rusqlite::params![m.version, m.name, migrate::applied_on_now(), m.checksum],
        )?;
    }
    tx.commit()?;
    Ok(outcome)
}

/// The outcome of recording `version` on a database whose status (with an
/// empty history) is `st`.
pub(crate) fn outcome(version: i32, st: &MigrationStatus) -> AdoptOutcome {
    let (recorded, pending): (Vec<i32>, Vec<i32>) = st.pending.iter().map(|m| m.version).partition(|v| *v <= version);
    AdoptOutcome { version, recorded, pending }
}

#[cfg(test)]
mod test {
    use super::*;

    fn at(version: i32) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for m in migrate::embedded_migrations().iter().filter(|m| m.version <= version) {
            conn.execute_batch(&m.sql).unwrap();
        }
        conn
    }

    #[test]
    fn every_version_is_recognised_as_itself() {
        for (v, _) in schema::version_schemas() {
            let report = check(&at(*v)).unwrap().unwrap();
            assert_eq!(report.matching_version, Some(*v), "{report}");
            assert_eq!(report.tables, ["avatars", "projects"]);
        }
    }

    #[test]
    fn extra_columns_of_ours_block_and_foreign_tables_do_not() {
        let conn = at(2);
        conn.execute_batch(
            "CREATE TABLE _prisma_migrations (id TEXT PRIMARY KEY, checksum TEXT);
             CREATE INDEX prisma_idx ON _prisma_migrations (checksum);
             ALTER TABLE avatars ADD COLUMN gender TEXT;",
        )
        .unwrap();
        let report = check(&conn).unwrap().unwrap();
        assert_eq!(report.matching_version, None, "{report}");
        let v2 = &report.versions[1];
        assert_eq!(v2.differences, ["extra column avatars.gender"], "{report}");
        assert_eq!(report.closest().unwrap().version, 2);
        let err = version_to_adopt(&report).unwrap_err();
        assert_eq!(err.code(), "MIGRATION");
        assert!(err.to_string().contains("extra column avatars.gender"), "{err}");
    }

    #[test]
    fn an_empty_or_managed_database_has_nothing_to_adopt() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert!(check(&conn).unwrap().is_none());
        assert!(adopt(&mut conn).unwrap_err().to_string().contains("none of avatar-store's tables"));
        migrate::migrate(&mut conn, None, false).unwrap();
        assert!(check(&conn).unwrap().is_none());
        assert!(adopt(&mut conn).unwrap_err().to_string().contains("already has a migration history"));
    }
}
