//! migrate, status, doctor, backup and restore: each opens the database the
//! way its job needs, calls the core, and formats what the core reports.

use std::fmt::Write as _;
use std::path::Path;

use avatar_store::{MigrationStatus, SchemaReport, Store};
use serde_json::json;

use crate::Report;
use crate::fail::{self, CliError};

/// Commands that inspect or copy a database must not create an empty one by
/// opening a mistyped path.
pub fn require_existing(db: &Path) -> Result<(), CliError> {
    // A PostgreSQL URL names a server; the store reports one it cannot reach.
    if is_url(db) || db.exists() {
        Ok(())
    } else {
        Err(CliError::io(db, "no such database file").with_hint("check --db / AVATAR_STORE_DB"))
    }
}

/// Opens without migrating or verifying, so a drifted or old file can be
/// looked at; a newer or edited one is still refused by the core, untouched.
fn open_as_is(db: &Path) -> Result<Store, CliError> {
    Ok(Store::options().migrate(false).verify(false).open(db)?)
}

/// Like [`open_as_is`], and changing nothing on disk either: no switch to
/// WAL mode, no -wal or -shm file left behind. For the commands that
/// promise to change nothing.
pub fn open_to_read(db: &Path) -> Result<Store, CliError> {
    Ok(Store::options().read_only(true).verify(false).open(db)?)
}

/// True when `db` is a PostgreSQL URL rather than a file.
pub fn is_url(db: &Path) -> bool {
    db.to_str().is_some_and(|s| {
        let s = s.to_ascii_lowercase();
        s.starts_with("postgres://") || s.starts_with("postgresql://")
    })
}

/// The database as it may be printed: a URL without its password.
pub fn shown(db: &Path) -> String {
    avatar_store::display_database(db)
}

/// A path for JSON output: as text, lossily when it is not UTF-8 (which
/// Unix allows), since `serde_json` refuses such a path; a URL without its
/// password.
pub fn path_json(p: &Path) -> serde_json::Value {
    if is_url(p) {
        return serde_json::Value::String(shown(p));
    }
    serde_json::Value::String(p.to_string_lossy().into_owned())
}

fn versions(v: impl IntoIterator<Item = i32>) -> String {
    let v: Vec<String> = v.into_iter().map(|v| format!("V{v}")).collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

fn drift_summary(r: &SchemaReport) -> String {
    let mut parts = Vec::new();
    let mut count = |n: usize, one: &str, many: &str| {
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    };
    count(r.pending_migrations.len(), "pending migration", "pending migrations");
    count(r.missing_tables.len(), "missing table", "missing tables");
    count(r.missing_columns.len(), "missing column", "missing columns");
    count(r.column_differences.len(), "different column", "different columns");
    count(r.missing_indexes.len(), "missing index", "missing indexes");
    count(r.index_differences.len(), "different index", "different indexes");
    parts.join(", ")
}

pub fn migrate(db: &Path, dry_run: bool) -> Result<Report, CliError> {
    if dry_run {
        let (current, pending) = if is_url(db) || db.exists() {
            let store = open_to_read(db)?;
            // The real run would be refused: say so, rather than list V1 onwards.
            if let Some(a) = store.adoption_check()? {
                return Err(avatar_store::Error::NotAdopted { tables: a.tables }.into());
            }
            let st = store.migration_status()?;
            (st.current_version, st.pending)
        } else {
            (0, avatar_store::embedded_migrations())
        };
        let mut human = format!("{}: at V{current}; ", shown(db));
        if pending.is_empty() {
            human.push_str("nothing to apply\n");
        } else {
            human.push_str("would apply (dry run, nothing changed):\n");
            for m in &pending {
                let _ = writeln!(human, "  V{}__{}  checksum {}", m.version, m.name, m.checksum);
            }
        }
        let json = json!({ "database": path_json(db), "dryRun": true, "currentVersion": current, "pending": pending });
        return Ok(Report::ok(human, json));
    }

    let store = Store::options().verify(false).open(db)?;
    let out = store.migration_outcome().clone();
    let report = store.check_schema()?;
    let mut human = if out.applied.is_empty() {
        format!("{}: already at V{}, nothing to apply\n", shown(db), out.to_version)
    } else {
        format!(
            "{}: migrated from V{} to V{} (applied {})\n",
            shown(db),
            out.from_version,
            out.to_version,
            versions(out.applied.iter().copied())
        )
    };
    if let Some(b) = &out.backup {
        let _ = writeln!(human, "backup of the file before migrating: {}", b.display());
    } else if is_url(db) && !out.applied.is_empty() {
        // PostgreSQL's DDL is transactional: there is no half-migrated state
        // a file backup would have to undo.
        human.push_str("applied in one transaction (PostgreSQL: no file backup needed)\n");
    }
    let exit = if report.is_ok() {
        human.push_str("schema OK\n");
        fail::OK
    } else {
        let _ = write!(
            human,
            "the schema still differs from the expected one ({}):\n{report}run `avatar-store doctor --fix` to repair it\n",
            drift_summary(&report)
        );
        fail::PROBLEM
    };
    let json = json!({
        "database": path_json(db), "dryRun": false, "outcome": out, "schemaOk": report.is_ok(), "schema": report
    });
    Ok(Report { human, json, exit, to_stderr: false })
}

fn status_text(db: &Path, st: &MigrationStatus) -> String {
    let mut s = format!("database: {}\n", shown(db));
    let _ = writeln!(s, "schema version: V{} (this build knows up to V{})", st.current_version, st.latest_version);
    let _ = writeln!(
        s,
        "newer than this build: {}",
        if st.newer_than_build { "YES: upgrade avatar-store before using this file" } else { "no" }
    );
    s.push_str("applied migrations:\n");
    if st.applied.is_empty() {
        s.push_str("  none\n");
    }
    for m in &st.applied {
        let changed = if st.changed.contains(&m.version) { "  CHANGED: differs from this build's file" } else { "" };
        let _ = writeln!(s, "  V{}__{}  applied {}  checksum {}{changed}", m.version, m.name, m.applied_on, m.checksum);
    }
    s.push_str("pending migrations:\n");
    if st.pending.is_empty() {
        s.push_str("  none\n");
    }
    for m in &st.pending {
        let _ = writeln!(s, "  V{}__{}  checksum {}", m.version, m.name, m.checksum);
    }
    s
}

pub fn status(db: &Path) -> Result<Report, CliError> {
    require_existing(db)?;
    // A URL too: read through a read-only session, also a newer database.
    let st = avatar_store::inspect(db)?;
    let mut json = serde_json::to_value(&st).unwrap_or_default();
    json["database"] = path_json(db);
    Ok(Report::ok(status_text(db, &st), json))
}

/// `migrate --adopt`: records the history of a database avatar-store did
/// not create, when it is exactly one version's schema.
pub fn adopt(db: &Path) -> Result<Report, CliError> {
    require_existing(db)?;
    let out = open_as_is(db)?.adopt().map_err(|e| {
        CliError::from(e).with_hint("run `avatar-store doctor` to compare the database with each version")
    })?;
    let mut human = format!(
        "{}: adopted as V{}: recorded {} as applied (nothing was run)\n",
        shown(db),
        out.version,
        versions(out.recorded.iter().copied())
    );
    if !out.pending.is_empty() {
        let _ = writeln!(human, "run `avatar-store migrate` to apply {}", versions(out.pending.iter().copied()));
    }
    Ok(Report::ok(human, json!({ "database": path_json(db), "adopted": out })))
}

pub fn doctor(db: &Path, fix: bool) -> Result<Report, CliError> {
    require_existing(db)?;
    // Only --fix may write; a look changes nothing, on a file or a server.
    let store = if fix { open_as_is(db)? } else { open_to_read(db)? };
    let before = store.check_schema()?;
    // Not avatar-store's database (yet): compare it with each version, and
    // leave it as it is, even with --fix (repair refuses it).
    if let (false, Some(adoption)) = (fix, store.adoption_check()?) {
        let mut json = serde_json::to_value(&before).unwrap_or_default();
        json["ok"] = json!(false);
        json["database"] = path_json(db);
        json["adoption"] = serde_json::to_value(&adoption).unwrap_or_default();
        let human = format!("database: {}\n{adoption}", shown(db));
        return Ok(Report { human, json, exit: fail::PROBLEM, to_stderr: false });
    }
    if !fix {
        let mut human = format!("database: {}\n{before}", shown(db));
        let exit = if before.is_ok() {
            fail::OK
        } else {
            let _ = writeln!(human, "DRIFT: {}", drift_summary(&before));
            if !before.pending_migrations.is_empty() {
                human.push_str("run `avatar-store migrate` to apply the pending migrations\n");
            } else {
                human.push_str("run `avatar-store doctor --fix` to repair missing tables, columns and indexes\n");
            }
            fail::PROBLEM
        };
        let mut json = serde_json::to_value(&before).unwrap_or_default();
        json["ok"] = json!(before.is_ok());
        json["database"] = path_json(db);
        json["missingColumnNames"] = json!(before.missing_column_names());
        return Ok(Report { human, json, exit, to_stderr: false });
    }

    let out = store.repair().map_err(|e| match e {
        avatar_store::Error::Migration { .. } if !before.pending_migrations.is_empty() => {
            CliError::from(e).with_hint("run `avatar-store migrate` first, then `avatar-store doctor --fix`")
        }
        e => e.into(),
    })?;
    let mut human = format!("database: {}\n", shown(db));
    if out.applied.is_empty() {
        human.push_str("nothing to repair\n");
    } else {
        if let Some(b) = &out.backup {
            let _ = writeln!(human, "backup of the file before repairing: {}", b.display());
        }
        let _ = writeln!(human, "repaired, in one transaction ({} statements):", out.applied.len());
        for s in &out.applied {
            let _ = writeln!(human, "  {s}");
        }
    }
    if !out.not_repaired.is_empty() {
        human.push_str("NOT repaired (could lose data; needs a migration or a hand fix):\n");
        for s in &out.not_repaired {
            let _ = writeln!(human, "  {s}");
        }
    }
    let _ = write!(human, "schema now:\n{}", out.after);
    let ok = out.after.is_ok();
    let mut json = serde_json::to_value(&out).unwrap_or_default();
    json["ok"] = json!(ok);
    json["database"] = path_json(db);
    Ok(Report { human, json, exit: if ok { fail::OK } else { fail::PROBLEM }, to_stderr: false })
}

pub fn backup(db: &Path, dest: &Path) -> Result<Report, CliError> {
    require_existing(db)?;
    let store = open_to_read(db)?;
    let version = store.migration_status()?.current_version;
    store.backup(dest)?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).map_err(|e| CliError::io(dest, e))?;
    let human = format!("backed up {} (schema V{version}) to {} ({bytes} bytes)\n", shown(db), dest.display());
    let json =
        json!({ "database": path_json(db), "backup": path_json(dest), "schemaVersion": version, "bytes": bytes });
    Ok(Report::ok(human, json))
}

pub fn restore(backup: &Path, db: &Path, force: bool) -> Result<Report, CliError> {
    if !backup.exists() {
        return Err(CliError::io(backup, "no such backup file"));
    }
    let out = avatar_store::restore(backup, db, force).map_err(|e| match e {
        avatar_store::Error::Conflict(_) if is_url(db) => CliError::from(e)
            .with_hint("pass --force to replace them; a pg_dump of them is kept beside the backup first"),
        avatar_store::Error::Conflict(_) => {
            CliError::from(e).with_hint("pass --force to replace it; a copy of the current file is kept")
        }
        e => e.into(),
    })?;
    let mut human = format!("restored {} (schema V{}) into {}\n", backup.display(), out.version, shown(db));
    if let Some(c) = &out.replaced_copy {
        let _ = writeln!(human, "the replaced database was kept at {}", c.display());
    }
    Ok(Report::ok(human, json!({ "database": path_json(db), "backup": path_json(backup), "outcome": out })))
}
