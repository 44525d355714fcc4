//! Online backups (SQLite's backup API, consistent while others write) and
//! restoring from them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::{migrate, store};

/// A backup's name next to the database: `app.db` becomes
/// `app.db.<label>-<UTC time>.bak`, so backups sort by time and say why they exist.
pub(crate) fn sibling_path(db: &Path, label: &str) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string().replace('.', "");
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "avatar-store.db".into());
    name.push(format!(".{label}-{stamp}.bak"));
    db.with_file_name(name)
}

/// Paths go to JSON as text; one that is not UTF-8 (possible on Unix) is
/// shown lossily rather than failing the whole report.
pub(crate) fn lossy_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_some(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// How long restore waits for the other connections' locks.
const BUSY: Duration = Duration::from_secs(5);

/// How many times a backup step waits 1 ms for a lock before giving up.
const BUSY_WAITS: u32 = 5_000;

/// A new database file written beside its destination, in a private
/// directory, and moved into place only once complete: nobody sees it half
/// written, and nothing planted at the destination (a symbolic link to
/// somewhere else) is followed or replaced.
struct Staged {
    // Removed, with whatever is left in it, when dropped.
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Staged {
    /// A file for `dest`, with the permissions of the file at `like` (owner
    /// only when there is none to read).
    fn new(dest: &Path, like: Option<&Path>) -> Result<Staged> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = tempfile::Builder::new()
            .prefix(".avatar-store-")
            .tempdir_in(parent)
            .map_err(|e| Error::io(dest, format!("cannot write beside it: {e}")))?;
        let path = dir.path().join("copy.db");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let mode =
                like.and_then(|p| std::fs::metadata(p).ok()).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o600);
            options.mode(mode);
            std::fs::Permissions::from_mode(mode)
        };
        let file = options.open(&path).map_err(|e| Error::io(dest, e))?;
        // The umask narrowed the mode given to open; the copy gets exactly
        // the source's, no wider and no narrower.
        #[cfg(unix)]
        file.set_permissions(mode).map_err(|e| Error::io(dest, e))?;
        #[cfg(not(unix))]
        let _ = (file, like);
        Ok(Staged { _dir: dir, path })
    }

    fn open(&self, dest: &Path) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(&self.path, flags).map_err(|e| Error::file(dest, e))
    }

    /// Moves the finished file to `dest`, which must not exist: a file or a
    /// symbolic link there is an error, left as it is.
    fn persist_new(self, dest: &Path) -> Result<()> {
        let path = tempfile::TempPath::try_from_path(&self.path).map_err(|e| Error::io(dest, e))?;
        path.persist_noclobber(dest).map_err(|e| {
            // Keeps TempPath from deleting it; the directory goes anyway.
            let _ = e.path.keep();
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::io(dest, "already exists; not overwriting it")
            } else {
                Error::io(dest, e.error)
            }
        })
    }

    /// Moves the finished file over `dest`, in one step.
    fn persist_over(self, dest: &Path) -> Result<()> {
        std::fs::rename(&self.path, dest).map_err(|e| Error::io(dest, e))
    }
}

/// Copies every page of `src` to `out` in one step, waiting for locks.
fn copy_pages(src: &Connection, out: &mut Connection) -> rusqlite::Result<()> {
    let backup = Backup::new(src, out)?;
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
}

/// Copies the database behind `src`, the file at `src_path` (None in
/// memory), to `dest` while `src` stays usable.
///
/// `dest` must not exist; the copy gets the permissions of the database
/// file (owner-only for an in-memory database) and appears only once
/// complete.
pub(crate) fn copy_to(src: &Connection, src_path: Option<&Path>, dest: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dest).is_ok() {
        return Err(Error::io(dest, "already exists; not overwriting it"));
    }
    // SQLite's backup refuses, with SQLITE_BUSY on every step, to read from a
    // connection inside a write transaction, which is where migrate and
    // repair take their backups (so that the copy and the change happen under
    // one lock). Read through a second connection instead: nothing has been
    // written in that transaction yet, and the lock it holds keeps other
    // writers out, so the reader sees exactly the state about to be changed.
    let reader = match src_path.filter(|_| !src.is_autocommit()) {
        Some(p) => {
            Some(Connection::open_with_flags(p, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| Error::file(p, e))?)
        }
        None => None,
    };
    let src = reader.as_ref().unwrap_or(src);
    let staged = Staged::new(dest, src_path)?;
    let mut out = staged.open(dest)?;
    copy_pages(src, &mut out).map_err(|e| Error::file(dest, e))?;
    out.close().map_err(|(_, e)| Error::file(dest, e))?;
    staged.persist_new(dest)
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreOutcome {
    /// The schema version of the restored backup.
    pub version: i32,
    /// Where the database that was replaced was kept, if there was one: a
    /// copy named `<db>.replaced-<time>.bak`, or, when it was not a SQLite
    /// database at all, the file itself moved aside as `<db>.damaged-<time>.bak`.
    /// On PostgreSQL, a `pg_dump -Fc` archive of the replaced schema,
    /// `<database>.replaced-<time>.bak` beside the restored archive.
    #[serde(serialize_with = "lossy_path")]
    pub replaced_copy: Option<PathBuf>,
}

/// Replaces the database at `db` with the backup at `backup_file`.
///
/// The backup is verified first (SQLite integrity check, a migration history
/// this build can open). An existing database is only replaced with `force`,
/// in one step under one lock: other connections and processes may keep the
/// database open, and each of their commits is either in the copy kept next
/// to it (`<db>.replaced-<time>.bak`) or waits (up to their busy timeout)
/// and lands in the restored database. A file at `db` that is not a SQLite
/// database at all is moved aside as `<db>.damaged-<time>.bak` instead.
/// New files (the restored database, the kept copy) get the permissions of
/// the file they come from.
///
/// When `db` is a PostgreSQL URL, `backup_file` is a `pg_dump -Fc` archive
/// (what [`crate::Store::backup`] writes there), restored with `pg_restore`
/// in one transaction into the schema it was taken from. That schema must be
/// empty unless `force` is given; then what it holds is first dumped to
/// `<database>.replaced-<time>.bak` beside the archive. Needs `pg_restore`
/// (and `pg_dump` with `force`) on `PATH`, in `AVATAR_STORE_PG_BIN`, or in a
/// usual install folder; an [`Error::Io`] says what to install otherwise.
pub fn restore(backup_file: &Path, db: &Path, force: bool) -> Result<RestoreOutcome> {
    if let Some(url) = crate::postgres::as_url(db) {
        return crate::postgres::dump::restore(url, backup_file, force);
    }
    let src = store::open_looking(backup_file, BUSY)?;
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
    let version = st.current_version;

    if std::fs::symlink_metadata(db).is_err() {
        let staged = Staged::new(db, Some(backup_file))?;
        copy_pages(&src, &mut staged.open(db)?).map_err(|e| Error::file(db, e))?;
        return match staged.persist_new(db) {
            Err(Error::Io { .. }) if std::fs::symlink_metadata(db).is_ok() => Err(Error::Conflict(format!(
                "{} was created by someone else while restoring; pass force to replace it (a copy is kept)",
                db.display()
            ))),
            r => r.map(|()| RestoreOutcome { version, replaced_copy: None }),
        };
    }
    if !force {
        return Err(Error::Conflict(format!(
            "{} already exists; pass force to replace it (a copy is kept)",
            db.display()
        )));
    }
    if same_file(backup_file, db) {
        return Err(Error::validation("backup", format!("{} is the database itself", backup_file.display())));
    }

    let deadline = Instant::now() + BUSY;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut live = Connection::open_with_flags(db, flags).map_err(|e| Error::file(db, e))?;
    live.busy_timeout(BUSY)?;
    let readable = store::retry_busy(deadline, || {
        live.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())).map_err(|e| Error::file(db, e))
    });
    if let Err(Error::Io { .. }) = readable {
        if not_a_database(&live) {
            drop(live);
            let aside = replace_damaged(&src, db)?;
            return Ok(RestoreOutcome { version, replaced_copy: Some(aside) });
        }
    }
    readable?;
    // In WAL mode the kept copy can be read while the lock taken below keeps
    // every writer out; in rollback-journal mode that lock keeps readers out
    // too. The restored database is in WAL mode either way, as the store
    // leaves every database it opens.
    store::enable_wal(&live, db, deadline)?;

    let kept = sibling_path(db, "replaced");
    {
        let restore = Backup::new(&src, &mut live).map_err(|e| Error::file(db, e))?;
        // Zero pages: takes the write lock on the live database (held until
        // the backup is done or dropped) and copies nothing yet.
        step(&restore, 0, deadline, db)?;
        // What the kept copy reads is final: every commit before the lock
        // is in it, every later one waits for the restore to finish.
        copy_to(&store::open_looking(db, BUSY)?, Some(db), &kept)?;
        if step(&restore, -1, deadline, db)? != StepResult::Done {
            return Err(Error::Internal("the restore stopped before its last page".into()));
        }
    }
    Ok(RestoreOutcome { version, replaced_copy: Some(kept) })
}

/// One backup step, tried again while another connection holds a lock.
fn step(backup: &Backup<'_, '_>, pages: i32, deadline: Instant, db: &Path) -> Result<StepResult> {
    loop {
        match backup.step(pages).map_err(|e| Error::file(db, e))? {
            StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            StepResult::Busy | StepResult::Locked => {
                return Err(Error::Busy(format!("{}: stayed locked by another connection", db.display())));
            }
            r => return Ok(r),
        }
    }
}

fn not_a_database(conn: &Connection) -> bool {
    let e = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()));
    matches!(e, Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::NotADatabase)
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(a), Ok(b)) if a == b)
}

/// Restores over a file that is not a database (nobody can be using it):
/// the file, and any -wal, -shm or -journal file beside it, move aside
/// under `<db>.damaged-<time>.bak`, and the restored database takes its
/// place in one rename. Returns where the damaged file went.
fn replace_damaged(src: &Connection, db: &Path) -> Result<PathBuf> {
    let aside = sibling_path(db, "damaged");
    let staged = Staged::new(db, Some(db))?;
    copy_pages(src, &mut staged.open(db)?).map_err(|e| Error::file(db, e))?;
    // A second name first, so that `db` never goes missing: a store opening
    // it meanwhile would create an empty database there.
    if let Err(e) = std::fs::hard_link(db, &aside) {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(Error::io(&aside, "already exists; not overwriting it"));
        }
        std::fs::rename(db, &aside).map_err(|e| Error::io(db, format!("cannot move the damaged file aside: {e}")))?;
    }
    // SQLite would apply a log or journal left beside the damaged file to
    // the restored one.
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        if std::fs::symlink_metadata(&side).is_ok() {
            let mut to = aside.as_os_str().to_owned();
            to.push(suffix);
            std::fs::rename(&side, &to).map_err(|e| Error::io(Path::new(&side), e))?;
        }
    }
    staged.persist_over(db)?;
    Ok(aside)
}
