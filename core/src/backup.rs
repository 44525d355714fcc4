//! Online backups (SQLite's backup API, consistent while others write) and
//! restoring from them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::backup::StepResult;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::migrate;

/// A backup's name next to the database: `app.db` becomes
/// `app.db.<label>-<UTC time>.bak`, so backups sort by time and say why they exist.
pub(crate) fn sibling_path(db: &Path, label: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string().replace('.', "");
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "avatar-store.db".into());
    name.push(format!(".{label}-{stamp}.bak"));
    db.with_file_name(name)
}

/// How many times a backup step waits 1 ms for a lock before giving up.
const BUSY_WAITS: u32 = 5_000;

/// Copies the database behind `src` to `dest` while `src` stays usable.
pub(crate) fn copy_to(src: &Connection, dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(Error::Io {
            path: dest.display().to_string(),
            message: "already exists; not overwriting it".into(),
        });
    }
    // SQLite's backup refuses, with SQLITE_BUSY on every step, to read from a
    // connection inside a write transaction, which is where migrate and
    // repair take their backups (so that the copy and the change happen under
    // one lock). Read through a second connection instead: nothing has been
    // written in that transaction yet, and the lock it holds keeps other
    // writers out, so the reader sees exactly the state about to be changed.
    let reader = match src.path().filter(|p| !p.is_empty() && !src.is_autocommit()) {
        Some(p) => Some(
            Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| Error::io(Path::new(p), e))?,
        ),
        None => None,
    };
    let src = reader.as_ref().unwrap_or(src);
    let mut out = Connection::open(dest).map_err(|e| Error::io(dest, e))?;
    let result = (|| {
        let backup = rusqlite::backup::Backup::new(src, &mut out)?;
        // All pages in one step, so in one read transaction: in WAL mode a
        // reader does not hold writers up, and a copy made in several steps
        // starts over whenever another connection commits between two of
        // them, which under a steady stream of writes is forever.
        let mut waits = 0;
        loop {
            match backup.step(-1)? {
                StepResult::Done => return Ok(()),
                _ if waits >= BUSY_WAITS => {
                    return Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("the database stayed locked during the backup".into()),
                    ));
                }
                _ => {
                    waits += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    })();
    drop(out);
    if let Err(e) = result {
        let _ = std::fs::remove_file(dest);
        return Err(Error::io(dest, e));
    }
    Ok(())
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreOutcome {
    /// The schema version of the restored backup.
    pub version: i32,
    /// Where the database that was replaced was copied, if there was one.
    pub replaced_copy: Option<PathBuf>,
}

/// Replaces the database at `db` with the backup at `backup_file`.
///
/// The backup is verified first (SQLite integrity check, a migration history
/// this build can open); an existing database is only replaced with `force`,
/// and is then copied next to itself before it is overwritten. Restoring goes
/// through the backup API, so a database in WAL mode stays consistent.
pub fn restore(backup_file: &Path, db: &Path, force: bool) -> Result<RestoreOutcome> {
    let src = Connection::open_with_flags(backup_file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| Error::io(backup_file, e))?;
    let integrity: String = src
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| Error::io(backup_file, format!("not a readable SQLite database: {e}")))?;
    if integrity != "ok" {
        return Err(Error::io(backup_file, format!("integrity check failed: {integrity}")));
    }
    let st = migrate::status(&src)?;
    migrate::check_compatible(&st)?;
    if st.applied.is_empty() {
        return Err(Error::io(backup_file, "holds no avatar-store migration history; not a backup of this store"));
    }

    let mut replaced_copy = None;
    if db.exists() {
        if !force {
            return Err(Error::Conflict(format!(
                "{} already exists; pass force to replace it (a copy is kept)",
                db.display()
            )));
        }
        let current = Connection::open(db).map_err(|e| Error::io(db, e))?;
        let copy = sibling_path(db, "replaced");
        copy_to(&current, &copy)?;
        replaced_copy = Some(copy);
    }
    let mut dest = Connection::open(db).map_err(|e| Error::io(db, e))?;
    dest.busy_timeout(Duration::from_secs(5))?;
    dest.restore(rusqlite::MAIN_DB, backup_file, None::<fn(rusqlite::backup::Progress)>)
        .map_err(|e| Error::io(db, e))?;
    Ok(RestoreOutcome { version: st.current_version, replaced_copy })
}
