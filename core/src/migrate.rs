//! The embedded migrations and the runner that applies them.
//!
//! The SQL files are compiled in with refinery's `embed_migrations!`, and the
//! history is kept in refinery's own `refinery_schema_history` table, so
//! refinery tooling reads our databases. Applying them is done here rather
//! than by refinery's runner, whose grouped mode opens a DEFERRED transaction
//! and commits it itself: we need the write lock *before* reading the history
//! (so that of several processes exactly one migrates), a backup taken under
//! that lock, and `PRAGMA foreign_key_check` before the commit.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use crate::backup;
use crate::error::{Error, Result};

// One folder per dialect, same versions and names (core/build.rs checks).
// The SQLite files only moved into their folder: refinery's checksum covers
// name, version and SQL, not the path, so existing databases still match.
mod embedded {
    refinery::embed_migrations!("../migrations/sqlite");
}

mod embedded_postgres {
    refinery::embed_migrations!("../migrations/postgres");
}

/// Name of the history table (refinery's default).
pub const HISTORY_TABLE: &str = "refinery_schema_history";

/// One migration compiled into this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationInfo {
    /// The `n` of `V{n}__{name}.sql`.
    pub version: i32,
    /// The `name` of `V{n}__{name}.sql`.
    pub name: String,
    /// refinery's checksum of name, version and SQL.
    pub checksum: String,
    /// The SQL text.
    #[serde(skip)]
    pub sql: String,
}

/// A migration recorded as applied in a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedMigration {
    /// Version number.
    pub version: i32,
    /// Name recorded when it was applied.
    pub name: String,
    /// When it was applied (RFC 3339).
    pub applied_on: String,
    /// Checksum recorded when it was applied.
    pub checksum: String,
}

/// Where a database stands against the migrations of this build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationStatus {
    /// Highest applied version, 0 for a fresh database.
    pub current_version: i32,
    /// Highest version this build knows.
    pub latest_version: i32,
    /// What the database records as applied.
    pub applied: Vec<AppliedMigration>,
    /// Versions of this build not yet applied, in order.
    pub pending: Vec<MigrationInfo>,
    /// Applied versions whose checksum differs from this build's file.
    pub changed: Vec<i32>,
    /// True when the database was written by a newer build.
    pub newer_than_build: bool,
}

/// The migrations compiled into this build, in version order.
///
/// ```
/// let all = avatar_store::embedded_migrations();
/// assert_eq!(all[0].version, 1);
/// assert!(all.windows(2).all(|w| w[1].version == w[0].version + 1));
/// ```
pub fn embedded_migrations() -> Vec<MigrationInfo> {
    infos(embedded::migrations::runner())
}

/// The PostgreSQL migrations compiled into this build (migrations/postgres/),
/// same versions and names as [`embedded_migrations`], in version order.
///
/// ```
/// let sqlite = avatar_store::embedded_migrations();
/// let pg = avatar_store::embedded_postgres_migrations();
/// assert_eq!(
///     sqlite.iter().map(|m| (m.version, &m.name)).collect::<Vec<_>>(),
///     pg.iter().map(|m| (m.version, &m.name)).collect::<Vec<_>>(),
/// );
/// ```
pub fn embedded_postgres_migrations() -> Vec<MigrationInfo> {
    infos(embedded_postgres::migrations::runner())
}

fn infos(runner: refinery::Runner) -> Vec<MigrationInfo> {
    let mut all: Vec<MigrationInfo> = runner
        .get_migrations()
        .iter()
        .map(|m| MigrationInfo {
            version: m.version(),
            name: m.name().to_owned(),
            checksum: m.checksum().to_string(),
            sql: m.sql().unwrap_or_default().to_owned(),
        })
        .collect();
    all.sort_by_key(|m| m.version);
    all
}

/// Highest version this build knows.
pub fn latest_version() -> i32 {
    embedded_migrations().last().map(|m| m.version).unwrap_or(0)
}

fn history_exists(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", [HISTORY_TABLE], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Reads the recorded history; empty when the table does not exist.
pub(crate) fn applied(conn: &Connection) -> Result<Vec<AppliedMigration>> {
    if !history_exists(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt =
        conn.prepare(&format!("SELECT version, name, applied_on, checksum FROM {HISTORY_TABLE} ORDER BY version"))?;
    let rows = stmt.query_map([], |r| {
        Ok(AppliedMigration {
            version: r.get(0)?,
            name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            applied_on: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            checksum: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Compares a database's history with this build's migrations.
pub(crate) fn status(conn: &Connection) -> Result<MigrationStatus> {
    Ok(status_of(applied(conn)?, embedded_migrations()))
}

/// Compares recorded history with one dialect's embedded migrations.
pub(crate) fn status_of(applied: Vec<AppliedMigration>, embedded: Vec<MigrationInfo>) -> MigrationStatus {
    let latest = embedded.last().map(|m| m.version).unwrap_or(0);
    let current = applied.iter().map(|m| m.version).max().unwrap_or(0);
    let changed = applied
        .iter()
        .filter(|a| embedded.iter().any(|e| e.version == a.version && e.checksum != a.checksum))
        .map(|a| a.version)
        .collect();
    let pending = embedded.into_iter().filter(|e| !applied.iter().any(|a| a.version == e.version)).collect();
    MigrationStatus {
        current_version: current,
        latest_version: latest,
        applied,
        pending,
        changed,
        newer_than_build: current > latest,
    }
}

/// Reads the migration status of the database file at `path` without
/// changing it (no migration, no compatibility check, no switch to WAL, and
/// no -wal or -shm file left beside it), so that a newer or edited database
/// can be inspected too. A PostgreSQL URL is read through a read-only
/// session in the default schema.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("app.db");
/// avatar_store::Store::open(&path).unwrap();
/// let st = avatar_store::inspect(&path).unwrap();
/// assert_eq!(st.current_version, avatar_store::latest_version());
/// assert!(st.pending.is_empty() && !st.newer_than_build);
/// ```
pub fn inspect(path: &Path) -> Result<MigrationStatus> {
    if crate::postgres::as_url(path).is_some() {
        return crate::store::OpenOptions::default().inspecting().open(path)?.migration_status();
    }
    let conn = crate::store::open_looking(path, std::time::Duration::from_secs(5))?;
    status_of_file(&conn, path)
}

/// [`status`] of a file's connection, where a failure to read means the file
/// is not a database we can use: an I/O error naming the file.
pub(crate) fn status_of_file(conn: &Connection, path: &Path) -> Result<MigrationStatus> {
    status(conn).map_err(|e| match e {
        Error::Internal(m) => Error::io(path, format!("cannot read the database: {m}")),
        e => e,
    })
}

/// Refuses, before anything is written, a database this build cannot serve.
pub(crate) fn check_compatible(st: &MigrationStatus) -> Result<()> {
    if st.newer_than_build {
        return Err(Error::NewerSchema { found: st.current_version, known: st.latest_version });
    }
    if let Some(&v) = st.changed.first() {
        return Err(Error::Migration {
            version: Some(v),
            message: format!(
                "V{v} was applied with a different checksum than this build's file: \
                 an applied migration was edited; restore the original file"
            ),
        });
    }
    // A gap below the current version means history was tampered with, or a
    // migration was added beneath released ones: either way, not safe to guess.
    if let Some(p) = st.pending.iter().find(|p| p.version < st.current_version) {
        return Err(Error::Migration {
            version: Some(p.version),
            message: format!("V{} is not applied although V{} is", p.version, st.current_version),
        });
    }
    Ok(())
}

/// What [`migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrationOutcome {
    /// Version before.
    pub from_version: i32,
    /// Version after.
    pub to_version: i32,
    /// Versions this call applied (empty when another process got there first).
    pub applied: Vec<i32>,
    /// The backup taken before migrating, if any.
    #[serde(serialize_with = "crate::backup::lossy_path")]
    pub backup: Option<PathBuf>,
}

/// Applies every pending migration in one IMMEDIATE transaction.
///
/// `db_path` is the database's file (None in memory); when it is given, the
/// database is not empty and `backup` is on, a backup is written next to it
/// first, while the write lock is held.
pub(crate) fn migrate(conn: &mut Connection, db_path: Option<&Path>, backup: bool) -> Result<MigrationOutcome> {
    // Cheap unlocked look first: the common open finds nothing to do.
    let st = status(conn)?;
    check_compatible(&st)?;
    if st.pending.is_empty() {
        let v = st.current_version;
        return Ok(MigrationOutcome { from_version: v, to_version: v, ..Default::default() });
    }

    // Taking the write lock before re-reading the history serializes migrating
    // processes: the losers wait on the busy timeout, then find nothing pending.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let st = status(&tx)?;
    check_compatible(&st)?;
    // V1 would fail on the tables another tool made, after the backup.
    crate::adopt::refuse_unadopted(&tx, &st)?;
    let from = st.current_version;
    if st.pending.is_empty() {
        return Ok(MigrationOutcome { from_version: from, to_version: from, ..Default::default() });
    }

    let mut backup_path = None;
    if let (Some(path), true) = (db_path, backup) {
        if !is_empty(&tx)? {
            let dest = backup::sibling_path(path, &format!("pre-migrate-v{from}"));
            backup::copy_to(&tx, Some(path), &dest)?;
            backup_path = Some(dest);
        }
    }

    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version INT4 PRIMARY KEY, name VARCHAR(255), \
         applied_on VARCHAR(255), checksum VARCHAR(255));"
    ))?;
    let mut done = Vec::new();
    for m in &st.pending {
        tx.execute_batch(&m.sql).map_err(|e| Error::Migration {
            version: Some(m.version),
            message: format!("V{}__{} failed: {e}; the database was left at V{from}", m.version, m.name),
        })?;
        tx.execute(
            &format!("INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum) VALUES (?1, ?2, ?3, ?4)"),
            rusqlite::params![m.version, m.name, applied_on_now(), m.checksum],
        )?;
        done.push(m.version);
    }
    let violations: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
    if violations > 0 {
        return Err(Error::Migration {
            version: done.last().copied(),
            message: format!("{violations} foreign key violation(s) after migrating; the database was left at V{from}"),
        });
    }
    tx.commit()?;
    let to = *done.last().unwrap_or(&from);
    Ok(MigrationOutcome { from_version: from, to_version: to, applied: done, backup: backup_path })
}

/// refinery stores RFC 3339 with an offset; it parses this form back.
pub(crate) fn applied_on_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// True when the database holds no table at all: nothing worth a backup.
fn is_empty(conn: &Connection) -> Result<bool> {
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table'", [], |r| r.get(0))?;
    Ok(n == 0)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn fresh_database_migrates_to_latest_in_one_step() {
        let mut conn = Connection::open_in_memory().unwrap();
        let out = migrate(&mut conn, None, true).unwrap();
        assert_eq!(out.from_version, 0);
        assert_eq!(out.to_version, latest_version());
        assert_eq!(out.applied.len(), embedded_migrations().len());
        let again = migrate(&mut conn, None, true).unwrap();
        assert!(again.applied.is_empty());
    }

    #[test]
    fn changed_checksum_is_a_migration_error_naming_the_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, None, true).unwrap();
        conn.execute(&format!("UPDATE {HISTORY_TABLE} SET checksum = '1' WHERE version = 2"), []).unwrap();
        let err = migrate(&mut conn, None, true).unwrap_err();
        assert_eq!(err.code(), "MIGRATION");
        assert!(err.to_string().contains("V2"), "{err}");
    }

    #[test]
    fn newer_history_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, None, true).unwrap();
        conn.execute(&format!("INSERT INTO {HISTORY_TABLE} VALUES (99, 'future', '', '0')"), []).unwrap();
        let err = migrate(&mut conn, None, true).unwrap_err();
        assert!(matches!(err, Error::NewerSchema { found: 99, .. }), "{err}");
    }
}

#[cfg(test)]
mod checksum_pin {
    /// Every database records refinery's checksum of each migration it
    /// applied, and opening one whose recorded checksum differs from this
    /// build's is refused as an edited migration. A refinery release that
    /// hashed differently would make every existing database look edited, so
    /// refinery and refinery-core are pinned to exact versions in
    /// core/Cargo.toml and this checksum, recorded by the databases already in
    /// use, must not change. Should this fail after a refinery upgrade, keep
    /// the old version (or convert the recorded checksums in a migration of
    /// the history table); should it fail after an edit of V1's file, undo
    /// the edit: an applied migration is never edited.
    #[test]
    fn v1_has_the_checksum_existing_databases_recorded() {
        let v1 = &super::embedded_migrations()[0];
        assert_eq!((v1.version, v1.name.as_str()), (1, "create_projects_and_avatars"));
        assert_eq!(
            v1.checksum, "11691259729420383802",
            "V1's checksum changed: refinery upgraded, or V1's file was edited"
        );
    }
}
