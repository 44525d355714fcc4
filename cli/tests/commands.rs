//! migrate, status, doctor, backup, restore, demo and the command line itself,
//! run as an operator runs them: the real binary on real files.

mod common;
#[path = "../../core/tests/common/files.rs"]
mod files;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use avatar_store::{NewAvatar, NewProject, Store};
use common::*;
use files::*;
use predicates::prelude::*;

#[test]
fn incident_doctor_names_all_18_columns_fix_repairs_then_doctor_passes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    incident_database(&db);

    // The deploy gate: text names every column, and the exit code stops the pipeline.
    let out = cli(&db).arg("doctor").assert().code(1).get_output().clone();
    let report = text(&out.stdout);
    for c in INCIDENT_COLUMNS {
        assert!(report.contains(&format!("missing column: avatars.{c} ")), "{c} not named in:\n{report}");
    }
    // The indexes on the incident's columns went in V6 (record_usage's cost).
    assert!(!report.contains("missing index"), "{report}");
    assert!(report.contains("DRIFT: 18 missing columns"), "{report}");

    let out = cli(&db).args(["doctor", "--json"]).assert().code(1).get_output().clone();
    let j = stdout_json(&out);
    assert_eq!(j["ok"], false);
    let mut names: Vec<String> =
        j["missingColumnNames"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    names.sort();
    let mut expected: Vec<String> = INCIDENT_COLUMNS.iter().map(|c| format!("avatars.{c}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(j["missingColumns"].as_array().unwrap().len(), 18);

    // Library users are refused at open, with the same names.
    let err = Store::open(&db).unwrap_err();
    assert_eq!(err.code(), "SCHEMA_DRIFT");

    let out = cli(&db).args(["doctor", "--fix"]).assert().code(0).get_output().clone();
    let fixed = text(&out.stdout);
    assert!(fixed.contains("backup of the file before repairing:"), "{fixed}");
    assert!(fixed.contains("ALTER TABLE \"avatars\" ADD COLUMN \"personaName\" TEXT"), "{fixed}");
    assert!(fixed.contains("schema OK"), "{fixed}");
    assert_eq!(backups_in(dir.path()).len(), 1, "one backup before the repair");
    for c in INCIDENT_COLUMNS {
        assert!(columns(&db, "avatars").iter().any(|x| x == c), "{c} still missing");
    }

    cli(&db).arg("doctor").assert().code(0).stdout(predicate::str::contains("schema OK"));
    cli(&db).args(["doctor", "--json"]).assert().code(0).stdout(predicate::str::contains("\"ok\": true"));
    // The repair kept the data, and the library opens the file again.
    let store = Store::open(&db).unwrap();
    let a = store.get_avatar("u1", &"01942f6a-5e00-7000-8000-0000000000bb".parse().unwrap()).unwrap();
    assert_eq!((a.name.as_str(), a.usage_count), ("Survivor", 0));
    // A second --fix has nothing to do and takes no new backup.
    drop(store);
    cli(&db).args(["doctor", "--fix"]).assert().code(0).stdout(predicate::str::contains("nothing to repair"));
    assert_eq!(backups_in(dir.path()).len(), 1);
}

#[test]
fn doctor_reports_what_fix_cannot_repair_and_keeps_failing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    cli(&db).arg("migrate").assert().success();
    // An index with other columns than expected: destructive to "fix", so left alone.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP INDEX idx_projects_user_created; CREATE INDEX idx_projects_user_created ON projects (name);",
    )
    .unwrap();
    drop(conn);
    cli(&db)
        .arg("doctor")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("different index: idx_projects_user_created"));
    let out = cli(&db).args(["doctor", "--fix", "--json"]).assert().code(1).get_output().clone();
    let j = stdout_json(&out);
    assert_eq!(j["ok"], false);
    assert_eq!(j["applied"].as_array().unwrap().len(), 0);
    assert!(j["notRepaired"][0].as_str().unwrap().contains("idx_projects_user_created"), "{j}");
    cli(&db).args(["doctor", "--fix"]).assert().code(1).stdout(predicate::str::contains("NOT repaired"));
}

#[test]
fn doctor_on_an_old_file_points_to_migrate_and_fix_refuses_until_then() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    database_at_version(&db, 2);
    cli(&db).arg("doctor").assert().code(1).stdout(
        predicate::str::contains("pending migrations: V3, V4, V5, V6, V7")
            .and(predicate::str::contains("avatar-store migrate")),
    );
    cli(&db)
        .args(["doctor", "--fix"])
        .assert()
        .code(7)
        .stderr(predicate::str::contains("run `avatar-store migrate` first"));
    assert_eq!(avatar_store::inspect(&db).unwrap().current_version, 2, "doctor never migrates");
}

#[test]
fn migrate_applies_pending_after_a_backup_and_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    database_at_version(&db, 3);

    let out = cli(&db).args(["migrate", "--dry-run"]).assert().success().get_output().clone();
    let plan = text(&out.stdout);
    assert!(plan.contains("at V3; would apply"), "{plan}");
    assert!(plan.contains("V4__add_avatar_generation_metadata") && plan.contains("V5__add_listing_indexes"), "{plan}");
    assert!(!plan.contains("V3__"), "{plan}");
    let j = stdout_json(&cli(&db).args(["migrate", "--dry-run", "--json"]).assert().success().get_output().clone());
    let pending: Vec<i64> = j["pending"].as_array().unwrap().iter().map(|m| m["version"].as_i64().unwrap()).collect();
    assert_eq!(pending, [4, 5, 6, 7]);
    assert_eq!(avatar_store::inspect(&db).unwrap().current_version, 3, "dry run changed the file");
    assert!(backups_in(dir.path()).is_empty());

    let out = cli(&db).arg("migrate").assert().success().get_output().clone();
    let done = text(&out.stdout);
    assert!(done.contains("migrated from V3 to V7 (applied V4, V5, V6, V7)"), "{done}");
    assert!(done.contains("backup of the file before migrating:") && done.contains("schema OK"), "{done}");
    let backups = backups_in(dir.path());
    assert_eq!(backups.len(), 1);
    assert_eq!(avatar_store::inspect(&backups[0]).unwrap().current_version, 3, "the backup is the file before");

    let j = stdout_json(&cli(&db).args(["migrate", "--json"]).assert().success().get_output().clone());
    assert_eq!(j["outcome"]["applied"].as_array().unwrap().len(), 0);
    assert_eq!(j["schemaOk"], true);
    cli(&db).arg("migrate").assert().success().stdout(predicate::str::contains("already at V7, nothing to apply"));
}

#[test]
fn migrate_creates_a_new_database_and_dry_run_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    cli(&db).args(["migrate", "--dry-run"]).assert().success().stdout(predicate::str::contains("V1__create_projects"));
    assert!(!db.exists(), "a dry run created the file");
    cli(&db).arg("migrate").assert().success().stdout(predicate::str::contains("from V0 to V7"));
    assert!(backups_in(dir.path()).is_empty(), "an empty file needs no backup");
    cli(&db).arg("doctor").assert().success();
}

#[test]
fn migrate_on_the_incident_file_applies_nothing_and_exits_1_pointing_to_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    incident_database(&db);
    cli(&db)
        .arg("migrate")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("18 missing columns").and(predicate::str::contains("doctor --fix")));
}

#[test]
fn status_lists_applied_and_pending_with_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    database_at_version(&db, 3);
    let embedded = avatar_store::embedded_migrations();

    let out = cli(&db).arg("status").assert().success().get_output().clone();
    let s = text(&out.stdout);
    assert!(s.contains("schema version: V3 (this build knows up to V7)"), "{s}");
    assert!(s.contains("newer than this build: no"), "{s}");
    for m in &embedded {
        assert!(s.contains(&format!("V{}__{}", m.version, m.name)) && s.contains(&m.checksum), "{s}");
    }

    let j = stdout_json(&cli(&db).args(["status", "--json"]).assert().success().get_output().clone());
    assert_eq!(j["currentVersion"], 3);
    assert_eq!(j["latestVersion"], 7);
    assert_eq!(j["newerThanBuild"], false);
    assert_eq!(j["applied"].as_array().unwrap().len(), 3);
    assert_eq!(j["applied"][0]["checksum"], embedded[0].checksum.as_str());
    assert_eq!(j["pending"][0]["version"], 4);
    assert_eq!(j["pending"][0]["checksum"], embedded[3].checksum.as_str());
}

#[test]
fn a_newer_file_is_shown_by_status_and_refused_untouched_by_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("future.db");
    database_at_version(&db, 7);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("INSERT INTO refinery_schema_history VALUES (8, 'from_the_future', '2027-01-01T00:00:00Z', '1')", [])
        .unwrap();
    let before = std::fs::read(&db).unwrap();

    let j = stdout_json(&cli(&db).args(["status", "--json"]).assert().success().get_output().clone());
    assert_eq!(j["newerThanBuild"], true);
    assert_eq!(j["currentVersion"], 8);
    cli(&db).arg("status").assert().success().stdout(predicate::str::contains("newer than this build: YES"));

    for args in [&["migrate"][..], &["doctor"], &["doctor", "--fix"], &["migrate", "--dry-run"]] {
        cli(&db).args(args).assert().code(8).stderr(predicate::str::contains("this build knows up to V7"));
    }
    let out = cli(&db).args(["doctor", "--json"]).assert().code(8).get_output().clone();
    let e: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(e["error"]["code"], "NEWER_SCHEMA");
    assert_eq!(e["error"]["exitCode"], 8);
    assert_eq!(std::fs::read(&db).unwrap(), before, "the newer file was modified");
    assert!(backups_in(dir.path()).is_empty());
}

#[test]
fn an_edited_migration_is_flagged_by_status_and_stops_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    database_at_version(&db, 4);
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE refinery_schema_history SET checksum = '42' WHERE version = 2", [])
        .unwrap();
    cli(&db).arg("status").assert().success().stdout(predicate::str::contains("checksum 42  CHANGED"));
    cli(&db).arg("migrate").assert().code(7).stderr(predicate::str::contains("V2"));
    assert_eq!(avatar_store::inspect(&db).unwrap().current_version, 4);
}

fn seed(db: &std::path::Path, projects: usize, avatars_each: usize) {
    let store = Store::open(db).unwrap();
    for p in 0..projects {
        let project =
            store.create_project("u1", &NewProject { name: format!("p{p}"), description: Some("d".into()) }).unwrap();
        let batch: Vec<NewAvatar> = (0..avatars_each)
            .map(|a| NewAvatar {
                project_id: project.id,
                name: format!("a{a}"),
                persona_background: Some("x".repeat(500)),
                ..Default::default()
            })
            .collect();
        store.create_avatars("u1", &batch).unwrap();
    }
}

#[test]
fn backup_while_another_process_writes_then_restore() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    seed(&db, 20, 50);

    // A writer that keeps committing project + avatars batches while the CLI
    // (another process) takes backups.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, written) = (db.clone(), stop.clone(), written.clone());
        std::thread::spawn(move || {
            let store = Store::open(&db).unwrap();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let p = store.create_project("u2", &NewProject { name: format!("w{i}"), description: None }).unwrap();
                let batch: Vec<NewAvatar> = (0..5)
                    .map(|a| NewAvatar { project_id: p.id, name: format!("w{i}.{a}"), ..Default::default() })
                    .collect();
                store.create_avatars("u2", &batch).unwrap();
                written.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    while written.load(Ordering::Relaxed) < 5 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut copies = Vec::new();
    for n in 0..3 {
        let dest = dir.path().join(format!("copy{n}.db"));
        let out = cli(&db).arg("backup").arg(&dest).arg("--json").assert().success().get_output().clone();
        let j = stdout_json(&out);
        assert_eq!(j["schemaVersion"], 7);
        assert!(j["bytes"].as_u64().unwrap() > 0);
        copies.push(dest);
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(written.load(Ordering::Relaxed) > 5, "the writer made no progress during the backups");

    for copy in &copies {
        // Each copy is a consistent snapshot: passes the checks and holds whole batches only.
        cli(copy).arg("doctor").assert().success();
        let conn = rusqlite::Connection::open(copy).unwrap();
        let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, "ok");
        let fk: i64 = conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 0);
        let (p, a): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM projects WHERE userId = 'u2'), \
                        (SELECT count(*) FROM avatars WHERE userId = 'u2')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(a == 5 * p || a == 5 * p - 5, "torn batch in a backup: {p} projects, {a} avatars");
    }

    // Backups never overwrite.
    cli(&db).arg("backup").arg(&copies[0]).assert().code(10).stderr(predicate::str::contains("already exists"));

    // Restore: refused onto an existing file without --force, which stays as it was.
    let live_count = Store::open(&db).unwrap().count_all_users().unwrap();
    cli(&db).arg("restore").arg(&copies[0]).assert().code(5).stderr(predicate::str::contains("--force"));
    assert_eq!(Store::open(&db).unwrap().count_all_users().unwrap(), live_count);

    let backup_count = Store::open(&copies[0]).unwrap().count_all_users().unwrap();
    let out =
        cli(&db).arg("restore").arg(&copies[0]).args(["--force", "--json"]).assert().success().get_output().clone();
    let j = stdout_json(&out);
    assert_eq!(j["outcome"]["version"], 7);
    let kept = std::path::PathBuf::from(j["outcome"]["replacedCopy"].as_str().unwrap());
    assert_eq!(Store::open(&kept).unwrap().count_all_users().unwrap(), live_count, "the replaced file was not kept");
    assert_eq!(Store::open(&db).unwrap().count_all_users().unwrap(), backup_count);
    cli(&db).arg("doctor").assert().success();

    // Into a new path no --force is needed.
    let fresh = dir.path().join("fresh.db");
    cli(&fresh).arg("restore").arg(&copies[1]).assert().success().stdout(predicate::str::contains("restored"));
    cli(&fresh).arg("doctor").assert().success();
}

#[test]
fn restore_refuses_what_is_not_a_sound_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let junk = dir.path().join("junk.bak");
    std::fs::write(&junk, b"not a database at all, just some bytes that are long enough to look like a header")
        .unwrap();
    cli(&db).arg("restore").arg(&junk).assert().code(10);
    let empty = dir.path().join("empty.bak");
    rusqlite::Connection::open(&empty).unwrap().execute_batch("CREATE TABLE t (x);").unwrap();
    cli(&db).arg("restore").arg(&empty).assert().code(10).stderr(predicate::str::contains("migration history"));
    cli(&db).arg("restore").arg(dir.path().join("missing.bak")).assert().code(10);
    assert!(!db.exists(), "a refused restore created the database");
}

#[test]
fn commands_that_read_a_database_do_not_create_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo.db");
    for args in [&["status"][..], &["doctor"], &["doctor", "--fix"], &["export", "--all-users"]] {
        cli(&db).args(args).assert().code(10).stderr(predicate::str::contains("no such database file"));
    }
    cli(&db).arg("backup").arg(dir.path().join("b.db")).assert().code(10);
    assert!(!db.exists());
}

#[test]
fn the_database_comes_from_the_flag_or_the_environment_and_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("env.db");
    bare().arg("status").assert().code(2).stderr(predicate::str::contains("--db FILE or set AVATAR_STORE_DB"));
    bare().env("AVATAR_STORE_DB", &db).arg("migrate").assert().success();
    bare().env("AVATAR_STORE_DB", &db).arg("doctor").assert().success();
    // The flag wins over the environment.
    bare()
        .env("AVATAR_STORE_DB", dir.path().join("other.db"))
        .args(["status", "--db"])
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("env.db"));
    bare().arg("frobnicate").assert().code(2);
    bare().args(["export", "--bogus"]).assert().code(2);
}

#[test]
fn help_documents_the_exit_codes_and_every_command() {
    let out = bare().arg("--help").assert().success().get_output().clone();
    let help = text(&out.stdout);
    for word in ["migrate", "status", "doctor", "backup", "restore", "export", "import", "demo", "AVATAR_STORE_DB"] {
        assert!(help.contains(word), "{word} missing from --help:\n{help}");
    }
    for code in ["0", "1", "2", "3", "5", "6", "7", "8", "10"] {
        assert!(help.contains(&format!("\n  {code:>2}  ")), "exit code {code} missing:\n{help}");
    }
    bare().args(["doctor", "--help"]).assert().success().stdout(predicate::str::contains("--fix"));
}

#[test]
fn an_error_is_json_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("prod.db");
    incident_database(&db);
    // export needs a verified schema: drift is SCHEMA_DRIFT (6) with the report attached.
    let out = cli(&db).args(["export", "--all-users", "--json"]).assert().code(6).get_output().clone();
    let e: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(e["error"]["code"], "SCHEMA_DRIFT");
    assert_eq!(e["error"]["report"]["missingColumns"].as_array().unwrap().len(), 18);
    assert!(e["error"]["hint"].as_str().unwrap().contains("doctor --fix"));
    cli(&db).args(["export", "--user", "u1"]).assert().code(6).stderr(predicate::str::contains("hint:"));
}

#[test]
fn demo_works_with_no_arguments_and_can_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let out = bare().arg("demo").current_dir(dir.path()).assert().success().get_output().clone();
        assert!(text(&out.stderr).contains("demo-user"), "{}", text(&out.stderr));
        stdout_json(&out)
    };
    let first = run();
    assert!(dir.path().join("avatar-store-demo.db").exists());
    let projects = first.as_array().unwrap();
    assert_eq!(projects.len(), 3);
    let avatars: Vec<&serde_json::Value> = projects.iter().flat_map(|p| p["avatars"].as_array().unwrap()).collect();
    assert_eq!(avatars.len(), 6);
    assert!(avatars.iter().all(|a| a["userId"] == "demo-user" && a["personaName"].is_string()));
    assert!(avatars.iter().any(|a| a["hairColor"] == "silver" && a["personaAge"] == 29));
    assert_eq!(run(), first, "a second run changed or duplicated the data");
    // The seeded file is a normal, healthy database.
    cli(&dir.path().join("avatar-store-demo.db")).arg("doctor").assert().success();

    let other = dir.path().join("elsewhere.db");
    let out = cli(&other).args(["demo", "--json"]).assert().success().get_output().clone();
    assert_eq!(stdout_json(&out), first);
}

/// Run by `restore_force_loses_no_commit_of_writers_meanwhile` in a child
/// process (see `Writers`).
#[test]
#[ignore = "runs only as a child process of restore_force_loses_no_commit_of_writers_meanwhile"]
fn child_writes_projects() {
    files::child_writes_projects();
}

#[test]
fn restore_force_loses_no_commit_of_writers_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let backup = dir.path().join("backup.db");
    let store = Store::open(&db).unwrap();
    let marker =
        store.create_project("admin", &NewProject { name: "in the backup".into(), description: None }).unwrap();
    store.backup(&backup).unwrap();
    drop(store);

    let writers = Writers::start(&db, dir.path().join("stop"));
    let mut kept = Vec::new();
    for _ in 0..3 {
        writers.wait_for_commits("both writers", 20);
        let out =
            cli(&db).arg("restore").arg(&backup).args(["--force", "--json"]).assert().success().get_output().clone();
        kept.push(std::path::PathBuf::from(stdout_json(&out)["outcome"]["replacedCopy"].as_str().unwrap()));
    }
    writers.wait_for_commits("both writers after the restore", 0);
    let acknowledged = writers.stop();
    assert_nothing_lost(&db, &kept, &marker.id.to_string(), &acknowledged);
}

#[test]
fn restore_force_replaces_a_file_that_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let backup = dir.path().join("good.bak");
    seed(&dir.path().join("source.db"), 1, 2);
    cli(&dir.path().join("source.db")).arg("backup").arg(&backup).assert().success();
    let garbage = b"not a database any more, only bytes long enough to fill a header and then some".repeat(50);
    std::fs::write(&db, &garbage).unwrap();
    cli(&db).arg("status").assert().code(10);

    let out = cli(&db).arg("restore").arg(&backup).args(["--force", "--json"]).assert().success().get_output().clone();
    let aside = std::path::PathBuf::from(stdout_json(&out)["outcome"]["replacedCopy"].as_str().unwrap());
    assert!(aside.file_name().unwrap().to_string_lossy().starts_with("app.db.damaged-"), "{aside:?}");
    assert_eq!(std::fs::read(&aside).unwrap(), garbage);
    cli(&db).arg("doctor").assert().success();
    let avatars: i64 =
        rusqlite::Connection::open(&db).unwrap().query_row("SELECT count(*) FROM avatars", [], |r| r.get(0)).unwrap();
    assert_eq!(avatars, 2);
}

#[cfg(unix)]
#[test]
fn backups_are_as_private_as_the_database_and_never_follow_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    seed(&db, 1, 1);
    chmod(&db, 0o600);
    let dest = dir.path().join("copy.db");
    cli(&db).arg("backup").arg(&dest).assert().success();
    let mode = mode(&dest);
    assert_eq!(mode & 0o077, 0, "backup mode {mode:o}");

    let target = dir.path().join("target.db");
    let link = dir.path().join("link.db");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    cli(&db).arg("backup").arg(&link).assert().code(10).stderr(predicate::str::contains("already exists"));
    assert!(!target.exists(), "the backup followed the symlink");
}

/// A database at the latest version in rollback-journal mode.
fn rollback_journal_database(path: &std::path::Path) {
    database_at_version(path, avatar_store::latest_version());
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "INSERT INTO projects VALUES ('01942f6a-5e00-7000-8000-0000000000aa', 'u1', 'P', NULL, \
           '2025-10-01T00:00:00.000Z', '2025-10-01T00:00:00.000Z');",
    )
    .unwrap();
    assert_rollback_journal(&conn);
}

#[test]
fn commands_that_only_read_leave_the_file_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    rollback_journal_database(&db);
    let before = std::fs::read(&db).unwrap();
    let files = listing(dir.path());

    cli(&db).arg("status").assert().success();
    cli(&db).args(["migrate", "--dry-run"]).assert().success().stdout(predicate::str::contains("nothing to apply"));
    let copy = dir.path().join("sub");
    std::fs::create_dir(&copy).unwrap();
    cli(&db).arg("backup").arg(copy.join("copy.db")).assert().success();
    cli(&db).args(["export", "--user", "u1"]).assert().success().stdout(predicate::str::contains("\"P\""));
    assert_eq!(std::fs::read(&db).unwrap(), before, "a command that only reads changed the file");
    assert_eq!(listing(dir.path()), [&files[..], &["sub".to_string()]].concat());

    // An old file: the dry run lists, and changes nothing either.
    let old = dir.path().join("old.db");
    database_at_version(&old, 2);
    let old_before = std::fs::read(&old).unwrap();
    cli(&old).args(["migrate", "--dry-run"]).assert().success().stdout(predicate::str::contains("would apply"));
    cli(&old).arg("status").assert().success();
    assert_eq!(std::fs::read(&old).unwrap(), old_before);
}

#[test]
fn status_leaves_no_files_beside_a_wal_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    cli(&db).arg("migrate").assert().success();
    let newer = dir.path().join("newer.db");
    cli(&newer).arg("migrate").assert().success();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute("INSERT INTO refinery_schema_history VALUES (99, 'from_the_future', '2027-01-01T00:00:00Z', '1')", [])
        .unwrap();
    let files = listing(dir.path());
    assert_eq!(files, ["app.db", "newer.db"]);
    cli(&db).arg("status").assert().success();
    cli(&newer).arg("status").assert().success().stdout(predicate::str::contains("newer than this build: YES"));
    cli(&db).args(["migrate", "--dry-run"]).assert().success();
    cli(&db).arg("backup").arg(dir.path().join("copy.db")).assert().success();
    assert_eq!(listing(dir.path()), ["app.db", "copy.db", "newer.db"]);
}

#[test]
fn demo_refuses_a_database_it_did_not_seed() {
    let dir = tempfile::tempdir().unwrap();
    // A production database that AVATAR_STORE_DB happens to name.
    let prod = dir.path().join("prod.db");
    seed(&prod, 1, 1);
    let before = std::fs::read(&prod).unwrap();
    bare()
        .env("AVATAR_STORE_DB", &prod)
        .arg("demo")
        .assert()
        .code(5)
        .stderr(predicate::str::contains("not a demo database").and(predicate::str::contains("other users")));
    assert_eq!(std::fs::read(&prod).unwrap(), before, "demo changed a database it refused");
    let out = bare().env("AVATAR_STORE_DB", &prod).args(["demo", "--json"]).assert().code(5).get_output().clone();
    let e: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(e["error"]["code"], "CONFLICT");

    // An empty avatar-store database is not new: it may be production's, just deployed.
    let empty = dir.path().join("empty.db");
    cli(&empty).arg("migrate").assert().success();
    cli(&empty).arg("demo").assert().code(5).stderr(predicate::str::contains("no demo records"));
    // Some other SQLite database.
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE notes (x)").unwrap();
    cli(&other).arg("demo").assert().code(5).stderr(predicate::str::contains("not an avatar-store database"));

    // A new file, an empty one, and a demo database are fine.
    let demo = dir.path().join("demo.db");
    cli(&demo).arg("demo").assert().success();
    cli(&demo).arg("demo").assert().success();
    let zero = dir.path().join("zero.db");
    std::fs::write(&zero, b"").unwrap();
    cli(&zero).arg("demo").assert().success();
}

#[cfg(unix)]
#[test]
fn paths_that_are_not_utf8_are_reported_lossily() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = |b: &[u8]| dir.path().join(std::ffi::OsStr::from_bytes(b));
    let db = name(b"\xff.db");
    cli(&db).arg("migrate").assert().code(0);
    cli(&db).args(["migrate", "--json"]).assert().code(0).stdout(predicate::str::contains("\u{fffd}.db"));
    cli(&db).args(["migrate", "--dry-run", "--json"]).assert().code(0);
    cli(&db).args(["status", "--json"]).assert().code(0);
    cli(&db).args(["doctor", "--json"]).assert().code(0);
    let copy = name(b"copy-\xfe.db");
    cli(&db).arg("backup").arg(&copy).arg("--json").assert().code(0);
    cli(&db).arg("restore").arg(&copy).args(["--force", "--json"]).assert().code(0);
    cli(&db).arg("restore").arg(&copy).arg("--force").assert().code(0);
    // An old file: the outcome carries the pre-migrate backup's path.
    let old = name(b"old-\xff.db");
    database_at_version(&old, 3);
    let out = cli(&old).args(["migrate", "--json"]).assert().code(0).get_output().clone();
    assert!(stdout_json(&out)["outcome"]["backup"].as_str().unwrap().contains(".pre-migrate-v3-"));
    // doctor --fix with a backup in its outcome.
    rusqlite::Connection::open(&old).unwrap().execute_batch("DROP INDEX idx_projects_user_created").unwrap();
    let out = cli(&old).args(["doctor", "--fix", "--json"]).assert().code(0).get_output().clone();
    assert!(stdout_json(&out)["backup"].as_str().unwrap().contains(".pre-repair-v7-"));
    let demo = name(b"demo-\xff.db");
    cli(&demo).args(["demo", "--json"]).assert().code(0);
}
