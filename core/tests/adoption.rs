//! Adopting a database avatar-store did not create: the incident team's
//! Prisma-made PostgreSQL database (common/seed.rs), and a hand-made SQLite
//! file. Opening one is refused before anything is written; the check writes
//! nothing; adoption records the history only on an exact match.

mod common;

use avatar_store::{Error, HISTORY_TABLE, Store, Uuid, latest_version};
use common::INCIDENT_COLUMNS;
use common::db::Db;
use common::seed;

/// The base tables as the other tool made them, with `_prisma_migrations`
/// and one row each.
fn made_elsewhere() -> Db {
    let db = Db::new();
    db.execute(seed::PRISMA_MIGRATIONS);
    db.execute(if db.is_postgres() { seed::BASE_TABLES_POSTGRES } else { seed::BASE_TABLES_SQLITE });
    db.execute(seed::ROWS);
    db
}

fn looking(db: &Db) -> Store {
    db.open_with(Store::options().migrate(false).verify(false)).unwrap()
}

fn mistyped(db: &Db) -> &'static [&'static str] {
    if db.is_postgres() { &seed::MISTYPED_POSTGRES } else { &seed::MISTYPED_SQLITE }
}

crate::on_both_backends! {
fn opening_a_database_made_elsewhere_is_refused_and_writes_nothing() {
    let db = made_elsewhere();
    let before = db.fingerprint();
    for opts in [Store::options(), Store::options().migrate(false), Store::options().verify(false)] {
        let err = db.open_with(opts).unwrap_err();
        assert!(matches!(&err, Error::NotAdopted { tables } if tables == &["avatars", "projects"]), "{err}");
        assert_eq!(err.code(), "MIGRATION");
        let text = err.to_string();
        assert!(text.contains("avatar-store doctor") && text.contains("migrate --adopt"), "{text}");
    }
    // A store that only looks opens, and refuses to migrate or repair it.
    let store = looking(&db);
    assert!(matches!(store.migrate().unwrap_err(), Error::NotAdopted { .. }));
    assert!(matches!(store.repair().unwrap_err(), Error::NotAdopted { .. }));
    drop(store);
    assert!(db.fingerprint() == before, "nothing was written: no history table, no backup, no WAL switch");
    assert!(!db.tables().iter().any(|t| t == HISTORY_TABLE));
}

fn the_check_compares_with_every_version_and_writes_nothing() {
    let db = made_elsewhere();
    let before = db.fingerprint();
    let store = looking(&db);
    let report = store.adoption_check().unwrap().expect("tables without a history");
    assert_eq!(report.tables, ["avatars", "projects"]);
    assert_eq!(report.versions.iter().map(|v| v.version).collect::<Vec<_>>(), (1..=latest_version()).collect::<Vec<_>>());
    assert_eq!(report.matching_version, Some(1), "{report}");
    // Against this build's schema: the incident's 18 columns, named before any deploy.
    let head = report.head().unwrap();
    for c in INCIDENT_COLUMNS {
        assert!(head.differences.iter().any(|d| d.starts_with(&format!("missing column: avatars.{c} "))), "{c}: {report}");
    }
    assert!(!head.differences.iter().any(|d| d.contains("_prisma_migrations")), "another tool's table is its business");
    let text = report.to_string();
    assert!(text.contains("V1: matches exactly") && text.contains("migrate --adopt"), "{text}");
    drop(store);
    assert!(db.fingerprint() == before);

    // A database with a history, or without our tables, has nothing to adopt.
    let fresh = Db::new();
    assert!(fresh.open().unwrap().adoption_check().unwrap().is_none());
    let err = fresh.open().unwrap().adopt().unwrap_err();
    assert!(err.to_string().contains("already has a migration history"), "{err}");
}

fn the_reports_hand_run_statements_match_no_version_and_are_refused_by_name() {
    let db = made_elsewhere();
    db.execute(seed::INCIDENT_ALTERS);
    let before = db.fingerprint();
    let store = looking(&db);
    let report = store.adoption_check().unwrap().unwrap();
    assert_eq!(report.matching_version, None, "{report}");
    let closest = report.closest().unwrap();
    assert_eq!(closest.version, seed::FIXED_VERSION, "{report}");
    assert_eq!(closest.differences.len(), mistyped(&db).len(), "{report}");
    for c in mistyped(&db) {
        assert!(closest.differences.iter().any(|d| d.contains(&format!("avatars.{c}: expected"))), "{c}: {report}");
    }

    let err = store.adopt().unwrap_err();
    assert_eq!(err.code(), "MIGRATION", "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("closest is V{}", seed::FIXED_VERSION)), "{text}");
    for c in mistyped(&db) {
        assert!(text.contains(c), "{c}: {text}");
    }
    drop(store);
    assert!(db.fingerprint() == before, "a refused adoption writes nothing");
    assert!(!db.tables().iter().any(|t| t == HISTORY_TABLE));
}

fn once_it_matches_a_version_adoption_records_it_and_the_rest_migrate() {
    let db = made_elsewhere();
    db.execute(seed::INCIDENT_ALTERS);
    db.execute(if db.is_postgres() { seed::FIX_POSTGRES } else { seed::FIX_SQLITE });
    let store = looking(&db);
    assert_eq!(store.adoption_check().unwrap().unwrap().matching_version, Some(seed::FIXED_VERSION));
    let out = store.adopt().unwrap();
    assert_eq!(out.version, seed::FIXED_VERSION);
    assert_eq!(out.recorded, (1..=seed::FIXED_VERSION).collect::<Vec<_>>());
    assert_eq!(out.pending, ((seed::FIXED_VERSION + 1)..=latest_version()).collect::<Vec<_>>());
    assert_eq!(db.history(), (1..=i64::from(seed::FIXED_VERSION)).collect::<Vec<_>>());
    // Recorded with this build's checksums, so the history checks out.
    let st = store.migration_status().unwrap();
    assert!(st.changed.is_empty() && st.current_version == seed::FIXED_VERSION, "{st:?}");
    assert!(store.adoption_check().unwrap().is_none());
    assert!(store.adopt().unwrap_err().to_string().contains("already has a migration history"));
    drop(store);

    let store = db.open().unwrap();
    assert_eq!(store.migration_outcome().from_version, seed::FIXED_VERSION);
    assert_eq!(store.migration_outcome().to_version, latest_version());
    assert!(store.check_schema().unwrap().is_ok());
    let id = Uuid::parse_str(seed::AVATAR_ID).unwrap();
    assert_eq!(store.get_avatar("u1", &id).unwrap().name, "Survivor", "rows intact");
    assert_eq!(store.record_usage("u1", &id).unwrap().usage_count, 1);
    assert!(db.tables().iter().any(|t| t == "_prisma_migrations"), "the other tool's table is left alone");
}

fn a_v1_database_made_elsewhere_is_adopted_at_v1_and_migrated() {
    let db = made_elsewhere();
    let out = looking(&db).adopt().unwrap();
    assert_eq!((out.version, out.recorded.clone()), (1, vec![1]));
    let store = db.open().unwrap();
    assert_eq!(store.migration_outcome().applied, (2..=latest_version()).collect::<Vec<_>>());
    assert!(store.check_schema().unwrap().is_ok());
    let id = Uuid::parse_str(seed::AVATAR_ID).unwrap();
    let a = store.get_avatar("u1", &id).unwrap();
    assert_eq!((a.name.as_str(), a.usage_count), ("Survivor", 0));
}

fn an_extra_column_of_a_later_version_blocks_adoption() {
    let db = made_elsewhere();
    // V2's columns and one of V3's: neither V2 nor V3.
    db.execute(
        "ALTER TABLE avatars ADD COLUMN \"personaName\" TEXT; ALTER TABLE avatars ADD COLUMN \"personaAge\" INTEGER; \
         ALTER TABLE avatars ADD COLUMN \"personaPersonality\" TEXT; \
         ALTER TABLE avatars ADD COLUMN \"personaBackground\" TEXT; ALTER TABLE avatars ADD COLUMN \"gender\" TEXT;",
    );
    let store = looking(&db);
    let report = store.adoption_check().unwrap().unwrap();
    assert_eq!(report.matching_version, None, "{report}");
    assert_eq!(report.versions[1].differences, ["extra column avatars.gender"], "{report}");
    let err = store.adopt().unwrap_err();
    assert!(err.to_string().contains("extra column avatars.gender"), "{err}");
    assert!(db.history().is_empty());
}
}

/// Of several adopters at once, one records the history and the others are
/// told there is nothing left to adopt; nothing is recorded twice.
#[test]
fn concurrent_adopters_record_the_history_once() {
    for postgres in [false, true] {
        if postgres && !common::pg::use_postgres() {
            return;
        }
        let db = made_elsewhere();
        let barrier = std::sync::Barrier::new(4);
        let results: Vec<Result<i32, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let store = db
                            .open_with(
                                Store::options()
                                    .migrate(false)
                                    .verify(false)
                                    .busy_timeout(std::time::Duration::from_secs(30)),
                            )
                            .unwrap();
                        barrier.wait();
                        store.adopt().map(|o| o.version).map_err(|e| e.to_string())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let adopted: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
        assert_eq!(adopted, [&Ok(1)], "postgres: {postgres}: {results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(r.contains("already has a migration history"), "{r}");
        }
        assert_eq!(db.history(), [1]);
    }
}

/// On PostgreSQL the store's own schema is the one looked at and adopted:
/// another schema's tables neither trigger the refusal nor get a history.
#[test]
fn adoption_on_postgres_stays_in_the_stores_schema() {
    let Some(db) = common::pg::TestDb::create() else { return };
    let mut c = db.client();
    c.batch_execute("CREATE SCHEMA legacy; SET search_path TO legacy").unwrap();
    c.batch_execute(seed::BASE_TABLES_POSTGRES).unwrap();
    let opts = || Store::options().schema("legacy");
    assert!(matches!(opts().open(&db.url).unwrap_err(), Error::NotAdopted { .. }));
    let out = opts().migrate(false).verify(false).open(&db.url).unwrap().adopt().unwrap();
    assert_eq!(out.version, 1);
    let store = opts().open(&db.url).unwrap();
    assert_eq!(store.migration_outcome().from_version, 1);
    assert!(store.check_schema().unwrap().is_ok());
    let public: i64 = c
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", &[])
        .unwrap()
        .get(0);
    assert_eq!(public, 0, "nothing written outside the store's schema");
    // public, empty, is a fresh database of its own: nothing to adopt there.
    assert!(Store::open(&db.url).unwrap().adoption_check().unwrap().is_none());
}
