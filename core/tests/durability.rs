//! Backups, restores and looking at files: nothing lost, nothing exposed,
//! nothing changed by a command that only reads.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use avatar_store::{NewProject, Store, latest_version};
use common::files::{self, *};
use common::*;
use rusqlite::Connection;

/// Run by the restore test in a child process (see `Writers`).
#[test]
#[ignore = "runs only as a child process of restore_loses_no_commit_of_a_thread_or_a_process_writing_meanwhile"]
fn child_writes_projects() {
    files::child_writes_projects();
}

#[test]
fn restore_loses_no_commit_of_a_thread_or_a_process_writing_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let backup = dir.path().join("backup.db");
    let store = Store::open(&db).unwrap();
    let restored_marker = project(&store, "admin", "in the backup");
    store.backup(&backup).unwrap();
    store.delete_project("admin", &restored_marker.id).unwrap();
    drop(store);

    let writers = Writers::start(&db, dir.path().join("stop"));
    let mut kept = Vec::new();
    for _ in 0..4 {
        // Both writers are committing into the database about to be replaced.
        writers.wait_for_commits("both writers", 20);
        let out = avatar_store::restore(&backup, &db, true).unwrap();
        assert_eq!(out.version, latest_version());
        kept.push(out.replaced_copy.unwrap());
    }
    writers.wait_for_commits("both writers after the restore", 0);
    let acknowledged = writers.stop();

    for k in &kept {
        assert!(k.file_name().unwrap().to_string_lossy().contains(".replaced-"), "{k:?}");
    }
    assert_nothing_lost(&db, &kept, &restored_marker.id.to_string(), &acknowledged);
}

#[test]
fn restore_replaces_a_file_that_is_not_a_database_and_keeps_it_aside() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let backup = dir.path().join("good.bak");
    let store = Store::open(dir.path().join("source.db")).unwrap();
    let p = project(&store, "u1", "restored");
    store.backup(&backup).unwrap();
    drop(store);

    let garbage = b"this was a database before the disk went bad; now it is only some bytes long enough".repeat(60);
    std::fs::write(&db, &garbage).unwrap();
    assert_eq!(Store::open(&db).unwrap_err().code(), "IO");
    // A log or journal beside it would be applied to the restored database.
    let stale: Vec<PathBuf> = ["app.db-wal", "app.db-journal"].iter().map(|n| dir.path().join(n)).collect();
    for f in &stale {
        std::fs::write(f, b"stale").unwrap();
    }

    assert_eq!(avatar_store::restore(&backup, &db, false).unwrap_err().code(), "CONFLICT");
    let out = avatar_store::restore(&backup, &db, true).unwrap();
    let aside = out.replaced_copy.unwrap();
    let name = aside.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("app.db.damaged-") && name.ends_with(".bak"), "{name}");
    assert_eq!(std::fs::read(&aside).unwrap(), garbage, "the damaged file is kept as it was");
    for f in &stale {
        assert!(!f.exists(), "{f:?} is still beside the restored database");
    }

    let store = Store::open(&db).unwrap();
    assert_eq!(store.get_project("u1", &p.id).unwrap().name, "restored");
    assert!(store.check_schema().unwrap().is_ok());
}

#[cfg(unix)]
#[test]
fn every_backup_gets_the_database_files_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("private.db");
    drop(database_at_version(&db, 3));
    chmod(&db, 0o600);

    // Before migrating...
    let store = Store::open(&db).unwrap();
    let pre_migrate = store.migration_outcome().backup.clone().unwrap();
    assert_eq!(mode(&pre_migrate), 0o600, "pre-migrate backup");
    // ...the backup operation...
    project(&store, "u1", "P");
    let copy = dir.path().join("copy.db");
    store.backup(&copy).unwrap();
    assert_eq!(mode(&copy), 0o600, "backup");
    drop(store);
    // ...before repairing...
    Connection::open(&db).unwrap().execute_batch("DROP INDEX idx_projects_user_created").unwrap();
    let store = Store::options().verify(false).open(&db).unwrap();
    let pre_repair = store.repair().unwrap().backup.unwrap();
    assert_eq!(mode(&pre_repair), 0o600, "pre-repair backup");
    drop(store);
    // ...and the copy a restore keeps.
    let kept = avatar_store::restore(&copy, &db, true).unwrap().replaced_copy.unwrap();
    assert_eq!(mode(&kept), 0o600, "the replaced database's copy");

    // Not a fixed 0600 either: a group-readable database gives a group-readable backup.
    chmod(&db, 0o640);
    let store = Store::open(&db).unwrap();
    let shared = dir.path().join("shared.db");
    store.backup(&shared).unwrap();
    assert_eq!(mode(&shared), 0o640);
    // In memory there is no file to take after: owner only.
    let mem = dir.path().join("mem.db");
    Store::open_in_memory().unwrap().backup(&mem).unwrap();
    assert_eq!(mode(&mem), 0o600);
    // A restore into a new file takes the backup's.
    let fresh = dir.path().join("fresh.db");
    avatar_store::restore(&copy, &fresh, false).unwrap();
    assert_eq!(mode(&fresh), 0o600);
}

#[cfg(unix)]
#[test]
fn a_backup_never_follows_a_symlink_at_its_destination() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("app.db")).unwrap();
    project(&store, "u1", "secret");

    // A link to a file that does not exist yet: following it would create
    // the file wherever it points.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let target = elsewhere.join("stolen.db");
    let link = dir.path().join("backup.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = store.backup(&link).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    assert!(!target.exists(), "the backup followed the link");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");

    // A link to an existing file: not overwritten either.
    std::fs::write(&target, b"precious").unwrap();
    assert_eq!(store.backup(&link).unwrap_err().code(), "IO");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    // Nothing left behind by the refused attempts.
    assert_eq!(listing(dir.path()), ["app.db", "app.db-shm", "app.db-wal", "backup.db", "elsewhere"]);
}

/// A database at the latest version in rollback-journal mode, as a file
/// another tool (or an older release) left it.
fn rollback_journal_database(path: &Path) {
    let conn = database_at_version(path, latest_version());
    insert_base_rows(&conn, "u1", 2, 2);
    assert_rollback_journal(&conn);
}

#[test]
fn a_read_only_store_changes_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    rollback_journal_database(&db);
    let before = std::fs::read(&db).unwrap();

    let store = Store::options().read_only(true).open(&db).unwrap();
    assert!(store.check_schema().unwrap().is_ok());
    assert_eq!(store.migration_status().unwrap().current_version, latest_version());
    assert_eq!(store.list_projects("u1", &Default::default()).unwrap().items.len(), 2);
    // A read transaction, as export's snapshot takes.
    let page = store.list_projects_with_avatars("u1", &Default::default()).unwrap();
    assert_eq!(page.items.iter().map(|p| p.avatars.len()).sum::<usize>(), 4);
    let copy = dir.path().join("copy.db");
    store.backup(&copy).unwrap();
    // Writes are refused, naming the file.
    let err = store.create_project("u1", &NewProject { name: "P".into(), description: None }).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    assert!(err.to_string().contains(&db.display().to_string()), "{err}");
    drop(store);

    assert_eq!(std::fs::read(&db).unwrap(), before, "the file changed");
    assert_eq!(listing(dir.path()), ["app.db", "copy.db"]);
    // A missing file is an error, not a new database.
    let missing = dir.path().join("missing.db");
    assert_eq!(Store::options().read_only(true).open(&missing).unwrap_err().code(), "IO");
    assert!(!missing.exists());
    // Pending migrations are not applied: with verification they are drift.
    let old = dir.path().join("old.db");
    drop(database_at_version(&old, 2));
    let err = Store::options().read_only(true).open(&old).unwrap_err();
    assert_eq!(err.code(), "SCHEMA_DRIFT", "{err}");
    let st = Store::options().read_only(true).verify(false).open(&old).unwrap().migration_status().unwrap();
    assert_eq!((st.current_version, st.pending.len() as i32), (2, latest_version() - 2));
}

#[test]
fn looking_at_a_wal_database_leaves_no_files_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    drop(Store::open(&db).unwrap());
    let newer = dir.path().join("newer.db");
    drop(Store::open(&newer).unwrap());
    let conn = Connection::open(&newer).unwrap();
    conn.execute("INSERT INTO refinery_schema_history VALUES (99, 'future', '2030-01-01T00:00:00Z', '1')", []).unwrap();
    drop(conn);
    let files = listing(dir.path());
    assert_eq!(files, ["app.db", "newer.db"]);
    let newer_bytes = std::fs::read(&newer).unwrap();

    assert_eq!(avatar_store::inspect(&db).unwrap().current_version, latest_version());
    assert_eq!(listing(dir.path()), files, "inspect left files behind");
    assert!(avatar_store::inspect(&newer).unwrap().newer_than_build);
    assert_eq!(listing(dir.path()), files, "inspect of a newer file left files behind");
    assert_eq!(std::fs::read(&newer).unwrap(), newer_bytes);

    let store = Store::options().read_only(true).open(&db).unwrap();
    store.list_projects("u1", &Default::default()).unwrap();
    drop(store);
    assert_eq!(listing(dir.path()), files, "a read-only store left files behind");
}

#[test]
fn io_errors_name_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    drop(Store::open(&db).unwrap());
    // A read-only connection through SQLite's URI form: the store's writer
    // cannot write, and SQLite's error does not say which file.
    let uri = format!("file:{}?mode=ro", db.display());
    let store = Store::open(&uri).unwrap();
    let err = store.create_project("u1", &NewProject { name: "P".into(), description: None }).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    assert!(err.to_string().contains(&db.display().to_string()), "{err}");
    assert!(!err.to_string().contains("I/O error on :"), "{err}");
}

#[test]
fn a_lock_held_past_the_busy_timeout_is_busy_not_io() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    rollback_journal_database(&db);
    // Another connection reading: switching to WAL needs the file to itself.
    let reader = Connection::open(&db).unwrap();
    reader.execute_batch("BEGIN; SELECT count(*) FROM projects;").unwrap();
    let err = Store::options().busy_timeout(Duration::from_millis(200)).open(&db).unwrap_err();
    assert_eq!(err.code(), "BUSY", "{err}");
    reader.execute_batch("COMMIT").unwrap();
    Store::open(&db).unwrap();
}

#[cfg(unix)]
#[test]
fn outcomes_with_paths_that_are_not_utf8_still_serialize() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(std::ffi::OsStr::from_bytes(b"\xff.db"));
    drop(database_at_version(&db, 3));
    let store = Store::open(&db).unwrap();
    let json = serde_json::to_value(store.migration_outcome()).unwrap();
    assert!(json["backup"].as_str().unwrap().contains(".pre-migrate-v3-"), "{json}");
    let copy = dir.path().join(std::ffi::OsStr::from_bytes(b"copy-\xfe.db"));
    store.backup(&copy).unwrap();
    drop(store);
    let out = avatar_store::restore(&copy, &db, true).unwrap();
    let json = serde_json::to_value(&out).unwrap();
    assert!(json["replacedCopy"].as_str().unwrap().contains('\u{fffd}'), "{json}");
}
