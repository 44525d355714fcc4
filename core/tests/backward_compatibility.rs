//! Upgrades, drift and the incident: databases left by older releases, by a
//! newer one, or by hand, opened by this build. The tests in
//! `on_both_backends!` run on a SQLite file and on a PostgreSQL database of
//! the test server (common/db.rs builds both with plain SQL); the rest are
//! about SQLite files.

mod common;

use avatar_store::{AvatarPatch, AvatarQuery, Error, ProjectQuery, Store, latest_version};
use common::db::Db;
use common::*;

crate::on_both_backends! {
fn the_incident_v1_database_is_upgraded_with_its_data() {
    let db = Db::at_version(1);
    let rows = db.insert_base_rows("u1", 2, 3);

    let store = db.open().unwrap();
    assert_eq!(store.migration_outcome().from_version, 1);
    assert_eq!(store.migration_outcome().to_version, latest_version());
    match db.dir() {
        Some(dir) => {
            let backups = backups_in(dir);
            assert_eq!(backups.len(), 1, "{backups:?}");
            assert!(backups[0].starts_with("prod.db.pre-migrate-v1-"), "{backups:?}");
        }
        // Transactional DDL instead of a file backup.
        None => assert_eq!(store.migration_outcome().backup, None),
    }

    let page = store.list_projects_with_avatars("u1", &ProjectQuery::default()).unwrap();
    assert_eq!(page.items.len(), 2);
    for (pid, avatar_ids) in &rows {
        let p = page.items.iter().find(|p| p.project.id == *pid).unwrap();
        let got: Vec<_> = p.avatars.iter().map(|a| a.id).collect();
        assert_eq!(&got, avatar_ids);
        assert!(p.avatars.iter().all(|a| a.usage_count == 0 && a.persona_name.is_none()));
    }
    // The new columns work on old rows.
    let id = rows[0].1[0];
    let used = store.record_usage("u1", &id).unwrap();
    assert_eq!(used.usage_count, 1);
    let patched = store
        .update_avatar("u1", &id, &AvatarPatch { hair_color: Some(Some("red".into())), ..Default::default() })
        .unwrap();
    assert_eq!(patched.hair_color.as_deref(), Some("red"));
    assert_eq!(patched.image_url.as_deref(), Some("https://cdn.example/a.png"));
}

fn the_incident_drift_fails_the_open_naming_all_18_columns_and_repair_fixes_it() {
    let db = Db::incident();
    let rows = db.insert_base_rows("u1", 1, 2);

    let err = db.open().unwrap_err();
    assert_eq!(err.code(), "SCHEMA_DRIFT");
    let report = err.schema_report().unwrap();
    let missing = report.missing_column_names();
    assert_eq!(missing.len(), 18, "{missing:?}");
    for c in INCIDENT_COLUMNS {
        assert!(missing.contains(&format!("avatars.{c}")), "{c} not named");
        assert!(err.to_string().contains(c), "message does not name {c}");
    }
    // The indexes on the incident's columns went in V6 (record_usage's cost).
    assert_eq!(report.missing_indexes.len(), 0);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["missingColumns"].as_array().unwrap().len(), 18);
    assert_eq!(json["missingColumns"][0]["expected"]["type"], "TEXT");

    let store = db.open_with(Store::options().verify(false)).unwrap();
    let fix = store.repair().unwrap();
    assert_eq!(fix.applied.len(), 18, "{:?}", fix.applied);
    assert!(fix.not_repaired.is_empty());
    assert!(fix.after.is_ok(), "{}", fix.after);
    match db.dir() {
        Some(_) => assert!(fix.backup.as_ref().unwrap().exists()),
        None => assert_eq!(fix.backup, None, "one transaction instead of a file backup"),
    }
    drop(store);

    let store = db.open().unwrap();
    let avatar = store.get_avatar("u1", &rows[0].1[1]).unwrap();
    assert_eq!(avatar.name, "avatar 0.1");
    assert_eq!(avatar.usage_count, 0);
    assert_eq!(store.record_usage("u1", &avatar.id).unwrap().usage_count, 1);
}

fn destructive_differences_are_reported_and_left_alone() {
    let db = Db::at_version(latest_version());
    // Someone "fixed" the column by hand with the wrong type.
    db.execute(
        "DROP INDEX idx_projects_user_created; ALTER TABLE avatars DROP COLUMN \"usageCount\"; \
         ALTER TABLE avatars ADD COLUMN \"usageCount\" TEXT;",
    );
    let err = db.open().unwrap_err();
    let report = err.schema_report().unwrap();
    assert_eq!(report.column_differences.len(), 1, "{report}");
    assert_eq!(report.column_differences[0].object, "usageCount");

    let store = db.open_with(Store::options().verify(false)).unwrap();
    let fix = store.repair().unwrap();
    assert_eq!(fix.applied.len(), 1, "only the missing index is recreated: {:?}", fix.applied);
    assert_eq!(fix.not_repaired.len(), 1);
    assert!(fix.not_repaired[0].contains("usageCount"));
    assert!(!fix.after.is_ok());
    assert_eq!(db.column_type("avatars", "usageCount"), "TEXT");
}

fn every_historical_version_upgrades_with_rows_present() {
    for version in 1..=latest_version() {
        let db = Db::at_version(version);
        let rows = db.insert_base_rows("u1", 2, 2);
        let store = db.open().unwrap();
        let out = store.migration_outcome();
        assert_eq!(out.from_version, version);
        assert_eq!(out.applied, ((version + 1)..=latest_version()).collect::<Vec<_>>());
        assert_eq!(out.backup.is_some(), !db.is_postgres() && version < latest_version(), "V{version}");
        assert!(store.check_schema().unwrap().is_ok());
        assert_eq!(db.history(), (1..=i64::from(latest_version())).collect::<Vec<_>>(), "V{version}");
        let all = store.list_avatars("u1", &AvatarQuery::default()).unwrap();
        assert_eq!(all.items.len(), 4, "V{version}");
        for (_, ids) in &rows {
            for id in ids {
                let a = store.get_avatar("u1", id).unwrap();
                assert_eq!(a.image_url.as_deref(), Some("https://cdn.example/a.png"), "V{version}");
            }
        }
    }
}

fn a_newer_database_is_refused_and_left_untouched() {
    let db = Db::at_version(latest_version());
    db.execute(&format!(
        "INSERT INTO {} VALUES ({}, 'from_the_future', '2030-01-01T00:00:00Z', '1')",
        avatar_store::HISTORY_TABLE,
        latest_version() + 2
    ));
    let before = db.fingerprint();

    for opts in [Store::options(), Store::options().migrate(false), Store::options().verify(false)] {
        let err = db.open_with(opts).unwrap_err();
        assert!(matches!(err, Error::NewerSchema { .. }), "{err}");
        assert_eq!(err.code(), "NEWER_SCHEMA");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("V{}", latest_version() + 2)) && msg.contains(&format!("V{}", latest_version())),
            "{msg}"
        );
    }
    assert!(db.fingerprint() == before, "the database (and on SQLite its folder) is as it was");
    if !db.is_postgres() {
        assert!(avatar_store::inspect(db.target()).unwrap().newer_than_build);
    }
}

fn a_failing_migration_leaves_the_previous_version_intact() {
    let db = Db::at_version(3);
    db.insert_base_rows("u1", 1, 2);
    // A console-made column collides with what V4 adds, so V4 fails.
    db.execute("ALTER TABLE avatars ADD COLUMN \"sourceType\" TEXT;");

    let err = db.open().unwrap_err();
    assert_eq!(err.code(), "MIGRATION");
    assert!(err.to_string().contains("V4"), "{err}");
    assert_eq!(db.history(), [1, 2, 3], "nothing of V4 or later was recorded");
    assert!(!db.columns("avatars").contains(&"seedUsed".to_string()), "V4's other columns were rolled back");
    assert_eq!(db.query_i64("SELECT count(*) FROM avatars"), 2);
    assert_eq!(db.index_count(), 0);
}

fn an_edited_applied_migration_is_named() {
    let db = Db::at_version(latest_version());
    db.execute(&format!("UPDATE {} SET checksum = '42' WHERE version = 3", avatar_store::HISTORY_TABLE));
    let err = db.open().unwrap_err();
    assert!(matches!(err, Error::Migration { version: Some(3), .. }), "{err}");
}

fn verify_only_mode_reports_pending_migrations_without_migrating() {
    let db = Db::at_version(2);
    let err = db.open_with(Store::options().migrate(false)).unwrap_err();
    let report = err.schema_report().unwrap();
    assert_eq!(report.pending_migrations, (3..=latest_version()).collect::<Vec<_>>());
    assert!(report.to_string().contains("pending migrations: V3"));
    assert_eq!(db.history(), [1, 2]);
    if let Some(dir) = db.dir() {
        assert!(backups_in(dir).is_empty());
    }

    // Repair refuses to pre-empt the migrations.
    let store = db.open_with(Store::options().migrate(false).verify(false)).unwrap();
    assert_eq!(store.repair().unwrap_err().code(), "MIGRATION");
    store.migrate().unwrap();
    assert!(store.check_schema().unwrap().is_ok());
}
}

#[test]
fn foreign_key_violations_abort_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let conn = database_at_version(&path, 1);
    // Writers with foreign keys off (SQLite's historical default) could leave orphans.
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    conn.execute(
        "INSERT INTO avatars (id, projectId, userId, name, createdAt, updatedAt) \
         VALUES ('0190f5a8-7b4e-7c3d-9a2b-1c2d3e4f5a6b', 'gone', 'u1', 'orphan', 'x', 'x')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err();
    assert_eq!(err.code(), "MIGRATION");
    assert!(err.to_string().contains("foreign key"), "{err}");
    assert_eq!(avatar_store::inspect(&path).unwrap().current_version, 1);
}

#[test]
fn a_file_that_is_not_a_database_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "this is not sqlite, just a text file that is long enough to have a header......").unwrap();
    let err = Store::open(&path).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
}

#[test]
fn restore_verifies_refuses_and_keeps_what_it_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let store = Store::open(&db).unwrap();
    let p = project(&store, "u1", "kept");
    let copy = dir.path().join("copy.db");
    store.backup(&copy).unwrap();
    assert_eq!(store.backup(&copy).unwrap_err().code(), "IO", "never overwrites");
    store.delete_project("u1", &p.id).unwrap();
    drop(store);

    assert_eq!(avatar_store::restore(&copy, &db, false).unwrap_err().code(), "CONFLICT");
    let out = avatar_store::restore(&copy, &db, true).unwrap();
    assert_eq!(out.version, latest_version());
    let replaced = out.replaced_copy.unwrap();
    let store = Store::open(&db).unwrap();
    assert_eq!(store.get_project("u1", &p.id).unwrap().name, "kept");
    let old = Store::open(&replaced).unwrap();
    assert_eq!(old.get_project("u1", &p.id).unwrap_err().code(), "NOT_FOUND");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"junk").unwrap();
    assert!(avatar_store::restore(&junk, &db, true).is_err());
}
