//! `doctor` and `migrate --adopt` on a SQLite file avatar-store did not
//! create (made by hand, with Prisma's history table): looked at without a
//! byte changing, refused by name while it matches no version, adopted once
//! it does. The same on PostgreSQL is in postgres.rs.

mod common;
#[path = "../../core/tests/common/seed.rs"]
mod seed;

use std::path::Path;

use avatar_store::{HISTORY_TABLE, latest_version};
use common::*;
use rusqlite::Connection;

fn hand_made(path: &Path) {
    let conn = Connection::open(path).unwrap();
    for sql in [seed::PRISMA_MIGRATIONS, seed::BASE_TABLES_SQLITE, seed::ROWS] {
        conn.execute_batch(sql).unwrap();
    }
}

fn has_history(path: &Path) -> bool {
    let conn = Connection::open(path).unwrap();
    conn.query_row("SELECT count(*) FROM sqlite_schema WHERE name = ?1", [HISTORY_TABLE], |r| r.get::<_, i64>(0))
        .unwrap()
        > 0
}

/// The file's bytes and the names beside it.
fn snapshot(dir: &Path, db: &Path) -> (Vec<u8>, Vec<String>) {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    (std::fs::read(db).unwrap(), names)
}

#[test]
fn doctor_and_migrate_adopt_on_a_hand_made_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("handmade.db");
    hand_made(&db);
    let untouched = snapshot(dir.path(), &db);

    // Opening it to migrate is refused, and says what to do; so is the dry run.
    for args in [&["migrate"][..], &["migrate", "--dry-run"]] {
        let out = cli(&db).args(args).output().unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(7), "{args:?}: {err}");
        assert!(err.contains("no migration history") && err.contains("migrate --adopt"), "{err}");
    }

    // doctor: the 18 columns named against this build's schema, V1 exactly.
    let out = cli(&db).arg("doctor").output().unwrap();
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}{}", text(&out.stderr));
    for c in INCIDENT_COLUMNS {
        assert!(report.contains(&format!("missing column: avatars.{c} ")), "{c}: {report}");
    }
    assert!(report.contains("V1: matches exactly"), "{report}");
    let out = cli(&db).args(["doctor", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json = stdout_json(&out);
    assert_eq!(json["adoption"]["matchingVersion"], 1, "{json}");
    assert_eq!(json["ok"], false);
    assert_eq!(snapshot(dir.path(), &db), untouched, "doctor and a refused migrate change nothing, not even to WAL");
    assert!(!has_history(&db));

    // The report's hand-run statements: no version; refused by name, nothing written.
    Connection::open(&db).unwrap().execute_batch(seed::INCIDENT_ALTERS).unwrap();
    let untouched = snapshot(dir.path(), &db);
    let out = cli(&db).arg("doctor").output().unwrap();
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains(&format!("the closest is V{}", seed::FIXED_VERSION)), "{report}");
    let out = cli(&db).args(["migrate", "--adopt"]).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    for c in seed::MISTYPED_SQLITE {
        assert!(err.contains(&format!("avatars.{c}: expected")), "{c}: {err}");
        assert!(report.contains(&format!("avatars.{c}: expected")), "{c}: {report}");
    }
    assert_eq!(snapshot(dir.path(), &db), untouched, "a refused adoption changes nothing");

    // Made exactly V4: adopted, then migrated to this build's version.
    Connection::open(&db).unwrap().execute_batch(seed::FIX_SQLITE).unwrap();
    let out = cli(&db).args(["migrate", "--adopt", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = stdout_json(&out);
    assert_eq!(json["adopted"]["version"], seed::FIXED_VERSION, "{json}");
    assert!(has_history(&db));
    let out = cli(&db).arg("migrate").output().unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", text(&out.stderr));
    assert!(said.contains(&format!("migrated from V{} to V{}", seed::FIXED_VERSION, latest_version())), "{said}");
    assert!(said.contains("schema OK"), "{said}");
    cli(&db).arg("doctor").assert().code(0);
    let name: String = Connection::open(&db)
        .unwrap()
        .query_row("SELECT name FROM avatars WHERE id = ?1", [seed::AVATAR_ID], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "Survivor");
}

#[test]
fn adopt_refuses_a_database_that_needs_no_adoption() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ours.db");
    cli(&db).arg("migrate").assert().code(0);
    let out = cli(&db).args(["migrate", "--adopt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert!(text(&out.stderr).contains("already has a migration history"), "{}", text(&out.stderr));
    cli(&db).args(["migrate", "--adopt", "--dry-run"]).assert().code(2);
}
