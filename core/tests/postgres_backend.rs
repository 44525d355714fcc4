//! The PostgreSQL backend: opening by URL, the migration runner, the drift
//! check, and errors that never show a password. Each test runs on a fresh
//! database of the test server (see common/pg.rs); without a server they skip.

mod common;

use std::sync::Barrier;

use avatar_store::{
    HISTORY_TABLE, NewAvatar, NewProject, Store, embedded_migrations, embedded_postgres_migrations, latest_version,
};
use common::INCIDENT_COLUMNS;
use common::files;
use common::pg::{TestDb, incident_database, record_history, tables};

#[test]
fn a_url_opens_postgres_migrates_to_head_and_verifies() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::open(&db.url).unwrap();
    let out = store.migration_outcome();
    assert_eq!((out.from_version, out.to_version), (0, avatar_store::latest_version()));
    assert_eq!(out.applied, [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(out.backup, None, "PostgreSQL migrates in one transaction, without a file backup");
    assert!(store.path().is_none());
    let report = store.check_schema().unwrap();
    assert!(report.is_ok() && report.warnings.is_empty(), "{report}");

    // History in refinery's format, with the PostgreSQL files' checksums.
    let mut c = db.client();
    let rows = c.query(&format!("SELECT version, name, checksum FROM {HISTORY_TABLE} ORDER BY version"), &[]).unwrap();
    let recorded: Vec<(i32, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let embedded: Vec<(i32, String, String)> =
        embedded_postgres_migrations().into_iter().map(|m| (m.version, m.name, m.checksum)).collect();
    assert_eq!(recorded, embedded);
    drop(store);

    let again = Store::open(&db.url).unwrap();
    assert!(again.migration_outcome().applied.is_empty());
    assert_eq!(again.migration_status().unwrap().current_version, avatar_store::latest_version());
    // The incident's own check: seedUsed is 64-bit, timestamps keep milliseconds.
    let seed_type: String = c
        .query_one(
            "SELECT data_type::text FROM information_schema.columns WHERE table_name = 'avatars' AND column_name = 'seedUsed'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(seed_type, "bigint");
}

#[test]
fn postgresql_and_postgres_schemes_both_open() {
    let Some(db) = TestDb::create() else { return };
    let other = db.url.replacen("postgresql://", "postgres://", 1);
    assert!(other.starts_with("postgres://"), "{other}");
    Store::open(&db.url).unwrap();
    assert!(Store::open(&other).unwrap().migration_outcome().applied.is_empty());
}

#[test]
fn passwords_appear_in_no_error_and_no_debug_output() {
    // Nothing listens on port 1: connection refused, an IO error naming the host.
    let err = Store::options()
        .busy_timeout(std::time::Duration::from_millis(500))
        .open("postgresql://app:s3cr3t-pw@127.0.0.1:1/avatars")
        .unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    let text = format!("{err} {err:?} {}", err.public_message());
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(!text.contains("s3cr3t-pw"), "{text}");

    let bad = Store::open("postgresql://app:s3cr3t-pw@host:notaport/db").unwrap_err();
    assert_eq!(bad.field(), Some("url"));
    assert!(!format!("{bad} {bad:?}").contains("s3cr3t-pw"));

    let Some(db) = TestDb::create() else { return };
    // The test server trusts local connections, so any password is accepted.
    let with_pw = db.url.replacen("postgresql://postgres@", "postgresql://postgres:s3cr3t-pw@", 1);
    assert_ne!(with_pw, db.url);
    let store = Store::open(&with_pw).unwrap();
    let debug = format!("{store:?}");
    assert!(debug.contains(&db.name) && !debug.contains("s3cr3t-pw"), "{debug}");
}

#[test]
fn a_newer_database_is_refused_before_anything_is_written() {
    let Some(db) = TestDb::create() else { return };
    let mut c = db.client();
    record_history(&mut c, "public", 0);
    c.execute(&format!("INSERT INTO {HISTORY_TABLE} VALUES (99, 'future', '', '0')"), &[]).unwrap();
    let err = Store::open(&db.url).unwrap_err();
    assert_eq!(err.code(), "NEWER_SCHEMA", "{err}");
    assert_eq!(tables(&mut c, "public"), [HISTORY_TABLE], "nothing was created");
    let n: i64 = c.query_one(&format!("SELECT count(*) FROM {HISTORY_TABLE}"), &[]).unwrap().get(0);
    assert_eq!(n, 1);
}

#[test]
fn an_edited_migration_is_a_migration_error_naming_its_version() {
    let Some(db) = TestDb::create() else { return };
    Store::open(&db.url).unwrap();
    db.client().execute(&format!("UPDATE {HISTORY_TABLE} SET checksum = '1' WHERE version = 2"), &[]).unwrap();
    let err = Store::open(&db.url).unwrap_err();
    assert_eq!(err.code(), "MIGRATION");
    assert!(err.to_string().contains("V2"), "{err}");
}

#[test]
fn an_old_database_is_migrated_by_exactly_one_of_many_openers() {
    let Some(db) = TestDb::create() else { return };
    let mut c = db.client();
    c.batch_execute(&embedded_postgres_migrations()[0].sql).unwrap();
    record_history(&mut c, "public", 1);
    c.batch_execute(
        "INSERT INTO projects VALUES ('p1', 'u1', 'P', NULL, now(), now()); \
         INSERT INTO avatars VALUES ('a1', 'p1', 'u1', 'A', NULL, NULL, now(), now());",
    )
    .unwrap();
    let n = 6;
    let barrier = Barrier::new(n);
    let applied: Vec<Vec<i32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    Store::open(&db.url).unwrap().migration_outcome().applied.clone()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let migrated: Vec<&Vec<i32>> = applied.iter().filter(|a| !a.is_empty()).collect();
    assert_eq!(migrated, [&vec![2, 3, 4, 5, 6, 7]], "{applied:?}");
    let usage: i32 = c.query_one("SELECT \"usageCount\" FROM avatars WHERE id = 'a1'", &[]).unwrap().get(0);
    assert_eq!(usage, 0, "the existing row got the column's default");
}

#[test]
fn the_incident_database_fails_to_open_naming_all_18_columns() {
    let Some(db) = TestDb::create() else { return };
    incident_database(&mut db.client(), &INCIDENT_COLUMNS);
    let err = Store::open(&db.url).unwrap_err();
    assert_eq!(err.code(), "SCHEMA_DRIFT", "{err}");
    let report = err.schema_report().unwrap();
    let mut missing = report.missing_column_names();
    missing.sort();
    let mut expected: Vec<String> = INCIDENT_COLUMNS.iter().map(|c| format!("avatars.{c}")).collect();
    expected.sort();
    assert_eq!(missing, expected);
    // The indexes on the incident's columns went in V6 (record_usage's cost).
    assert!(report.missing_indexes.is_empty(), "{report}");
    // Without verification it opens, and the report is the same.
    let store = Store::options().verify(false).open(&db.url).unwrap();
    assert_eq!(store.check_schema().unwrap(), *report);
    assert_eq!(store.check_schema().unwrap().to_json(), report.to_json());
}

#[test]
fn the_incident_is_repaired_in_one_transaction_with_rows_intact() {
    let Some(db) = TestDb::create() else { return };
    let mut c = db.client();
    incident_database(&mut c, &INCIDENT_COLUMNS);
    c.batch_execute(
        "INSERT INTO projects VALUES ('p1', 'u1', 'P', NULL, now(), now()); \
         INSERT INTO avatars VALUES ('a1', 'p1', 'u1', 'A', NULL, NULL, now(), now());",
    )
    .unwrap();
    let store = Store::options().verify(false).open(&db.url).unwrap();
    let out = store.repair().unwrap();
    assert!(out.after.is_ok(), "{}", out.after);
    assert!(out.not_repaired.is_empty(), "{:?}", out.not_repaired);
    assert_eq!(out.applied.len(), 18, "{:?}", out.applied);
    assert_eq!(out.backup, None);
    // The report's own verification query now lists all 18.
    let listed = common::pg::listed_avatar_columns(&mut c);
    for col in INCIDENT_COLUMNS {
        assert!(listed.iter().any(|l| l == col), "{col} in {listed:?}");
    }
    drop(store);
    let store = Store::open(&db.url).unwrap();
    let a = store.get_avatar("u1", &avatar_store::Uuid::nil()).unwrap_err();
    assert_eq!(a.code(), "NOT_FOUND");
    let (n, usage): (i64, i32) = {
        let r = c.query_one("SELECT count(*), min(\"usageCount\") FROM avatars WHERE id = 'a1'", &[]).unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((n, usage), (1, 0), "the row is intact and got the default");
    assert!(store.repair().unwrap().applied.is_empty(), "nothing left to repair");
}

#[test]
fn repair_refuses_pending_migrations_and_leaves_destructive_differences_alone() {
    let Some(db) = TestDb::create() else { return };
    let mut c = db.client();
    c.batch_execute(&embedded_postgres_migrations()[0].sql).unwrap();
    record_history(&mut c, "public", 1);
    let old = Store::options().migrate(false).verify(false).open(&db.url).unwrap();
    let err = old.repair().unwrap_err();
    assert_eq!(err.code(), "MIGRATION", "{err}");
    assert!(err.to_string().contains("pending"), "{err}");
    old.migrate().unwrap();
    c.batch_execute("ALTER TABLE avatars ALTER COLUMN \"seedUsed\" TYPE INTEGER; DROP INDEX idx_projects_user_created")
        .unwrap();
    let out = old.repair().unwrap();
    assert_eq!(out.applied.len(), 1, "{:?}", out.applied);
    assert!(out.applied[0].contains("idx_projects_user_created"), "{:?}", out.applied);
    assert!(!out.applied[0].contains("public."), "unqualified, so it lands in the store's schema: {:?}", out.applied);
    assert_eq!(out.not_repaired.len(), 1);
    assert!(out.not_repaired[0].contains("seedUsed"), "{:?}", out.not_repaired);
    assert!(!out.after.is_ok());
}

#[test]
fn each_kind_of_difference_is_reported() {
    let Some(db) = TestDb::create() else { return };
    Store::open(&db.url).unwrap();
    db.client()
        .batch_execute(
            "DROP INDEX idx_projects_user_created; \
             CREATE INDEX idx_extra ON avatars (name); \
             DROP INDEX idx_avatars_project_created; \
             CREATE INDEX idx_avatars_project_created ON avatars (\"projectId\", \"createdAt\" NULLS FIRST, id); \
             ALTER TABLE projects ADD COLUMN extra TEXT; \
             ALTER TABLE avatars ALTER COLUMN \"seedUsed\" TYPE INTEGER; \
             ALTER TABLE avatars ALTER COLUMN \"usageCount\" DROP DEFAULT; \
             CREATE TABLE notes (id TEXT);",
        )
        .unwrap();
    let r = Store::options().verify(false).open(&db.url).unwrap().check_schema().unwrap();
    assert_eq!(r.missing_indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["idx_projects_user_created"]);
    assert_eq!(r.index_differences.len(), 1, "{r}");
    assert!(r.index_differences[0].found.contains("NULLS FIRST"), "{r}");
    let diffs: Vec<&str> = r.column_differences.iter().map(|d| d.object.as_str()).collect();
    assert_eq!(diffs, ["seedUsed", "usageCount"], "{r}");
    for w in ["extra column projects.extra", "extra index idx_extra", "extra table notes"] {
        assert!(r.warnings.iter().any(|x| x == w), "{w} in {:?}", r.warnings);
    }
    assert!(r.to_string().contains("different column: avatars.seedUsed: expected BIGINT, found INTEGER"), "{r}");
}

#[test]
fn a_store_sees_only_its_own_schema() {
    let Some(db) = TestDb::create() else { return };
    let tenant = Store::options().schema("tenant_b").open(&db.url).unwrap();
    assert_eq!(tenant.migration_outcome().applied, [1, 2, 3, 4, 5, 6, 7]);
    let mut c = db.client();
    assert!(tables(&mut c, "public").is_empty(), "nothing created outside the store's schema");
    // A drifted copy of the tables elsewhere is none of this store's business.
    c.batch_execute("CREATE TABLE public.avatars (id TEXT)").unwrap();
    assert!(tenant.check_schema().unwrap().warnings.is_empty());
    // public holds an avatars table the store did not make: opening there
    // is refused as a database to adopt, and leaves nothing behind.
    let public = Store::open(&db.url).unwrap_err();
    assert_eq!(public.code(), "MIGRATION", "{public}");
    assert!(matches!(&public, avatar_store::Error::NotAdopted { tables } if tables == &["avatars"]), "{public}");
    assert_eq!(tables(&mut c, "public"), ["avatars"]);
}

/// A read-only store migrates nothing and writes nothing: it works for a
/// role that may only read, and a write through it is an IO error naming
/// the server.
#[test]
fn a_read_only_store_writes_nothing() {
    let Some(db) = TestDb::create() else { return };
    // An old database: V1 applied, V2.. pending.
    let mut c = db.client();
    c.batch_execute(&embedded_postgres_migrations()[0].sql).unwrap();
    record_history(&mut c, "public", 1);
    c.batch_execute("INSERT INTO projects VALUES ('p1', 'u1', 'P', NULL, now(), now())").unwrap();
    let reader = db.reader_url();
    let before = db.fingerprint();

    // Pending migrations are drift for a verifying read-only open, not applied.
    let err = Store::options().read_only(true).open(&reader).unwrap_err();
    assert_eq!(err.code(), "SCHEMA_DRIFT", "{err}");
    assert_eq!(err.schema_report().unwrap().pending_migrations, (2..=latest_version()).collect::<Vec<_>>());

    // The superuser could write: the session, not the role, must refuse.
    for url in [&reader, &db.url] {
        let store = Store::options().read_only(true).verify(false).open(url).unwrap();
        assert!(store.migration_outcome().applied.is_empty());
        let report = store.check_schema().unwrap();
        assert_eq!(report.pending_migrations, (2..=latest_version()).collect::<Vec<_>>(), "{report}");
        assert_eq!(store.count("u1").unwrap(), (1, 0));
        let err = store.create_project("u1", &NewProject { name: "X".into(), ..Default::default() }).unwrap_err();
        assert_eq!(err.code(), "IO", "{err}");
        assert!(err.to_string().contains(&db.name) && err.to_string().contains("read-only transaction"), "{err}");
        let err = store.migrate().unwrap_err();
        assert_eq!(err.code(), "IO", "{err}");
        assert_eq!(store.repair().unwrap_err().code(), "IO");
    }
    assert_eq!(db.fingerprint(), before, "a read-only store changed the database");

    // At head, a verifying read-only open passes, as the reader too.
    Store::open(&db.url).unwrap();
    let reader = db.reader_url();
    let store = Store::options().read_only(true).open(&reader).unwrap();
    assert!(store.check_schema().unwrap().is_ok());
    assert_eq!(avatar_store::inspect(std::path::Path::new(&reader)).unwrap().current_version, latest_version());
}

/// `Store::backup` writes a pg_dump archive that `restore` puts back, rows
/// and all; restore refuses a non-empty schema without force, and keeps a
/// dump of what force replaces.
#[test]
fn backup_and_restore_round_trip_on_postgres() {
    let Some(a) = TestDb::create() else { return };
    let Some(b) = TestDb::create() else { return };
    let store = Store::open(&a.url).unwrap();
    let p = store.create_project("u1", &NewProject { name: "Kept".into(), ..Default::default() }).unwrap();
    store
        .create_avatar(
            "u1",
            &avatar_store::NewAvatar {
                project_id: p.id,
                name: "Nova".into(),
                seed_used: Some(i64::MAX),
                ..Default::default()
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a.dump");
    store.backup(&archive).unwrap();
    assert_eq!(store.backup(&archive).unwrap_err().code(), "IO", "an existing file is never overwritten");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&archive).unwrap().permissions().mode() & 0o077, 0, "owner-only");
    }

    let out = avatar_store::restore(&archive, std::path::Path::new(&b.url), false).unwrap();
    assert_eq!((out.version, out.replaced_copy.clone()), (avatar_store::latest_version(), None));
    let rows =
        |db: &TestDb| db.fingerprint().lines().filter(|l| !l.starts_with("refinery")).collect::<Vec<_>>().join("\n");
    assert_eq!(rows(&b), rows(&a));
    let restored = Store::open(&b.url).unwrap();
    assert_eq!(restored.get_project("u1", &p.id).unwrap(), p);

    // Not empty now: refused, untouched.
    restored.create_project("u1", &NewProject { name: "Later".into(), ..Default::default() }).unwrap();
    let later = b.fingerprint();
    let err = avatar_store::restore(&archive, std::path::Path::new(&b.url), false).unwrap_err();
    assert_eq!(err.code(), "CONFLICT", "{err}");
    assert!(err.to_string().contains("avatars"), "{err}");
    assert_eq!(b.fingerprint(), later);

    // With force: replaced, and what was there kept as an archive.
    let out = avatar_store::restore(&archive, std::path::Path::new(&b.url), true).unwrap();
    assert_eq!(rows(&b), rows(&a));
    let kept = out.replaced_copy.expect("a copy of the replaced schema");
    assert!(kept.starts_with(dir.path()), "{kept:?}");
    let Some(c) = TestDb::create() else { return };
    avatar_store::restore(&kept, std::path::Path::new(&c.url), false).unwrap();
    assert_eq!(Store::open(&c.url).unwrap().count("u1").unwrap(), (2, 1), "the kept copy holds the replaced rows");

    // Not an archive, or an archive of something else: refused, nothing written.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, "not an archive").unwrap();
    let err = avatar_store::restore(&junk, std::path::Path::new(&c.url), true).unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    assert!(err.to_string().contains("not a pg_dump custom-format archive"), "{err}");

    // An archive of a newer build's database is refused before anything is written.
    a.client().execute(&format!("INSERT INTO {HISTORY_TABLE} VALUES (99, 'future', '', '0')"), &[]).unwrap();
    let newer = dir.path().join("newer.dump");
    store.backup(&newer).unwrap();
    let status = avatar_store::inspect(std::path::Path::new(&a.url)).unwrap();
    assert!(status.newer_than_build && status.current_version == 99, "inspect reads a newer database as it is");
    let Some(d) = TestDb::create() else { return };
    let err = avatar_store::restore(&newer, std::path::Path::new(&d.url), false).unwrap_err();
    assert_eq!(err.code(), "NEWER_SCHEMA", "{err}");
    assert_eq!(tables(&mut d.client(), "public"), Vec::<String>::new(), "nothing was restored");
}

#[test]
fn concurrent_record_usage_loses_no_increment() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::open(&db.url).unwrap();
    let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    let a = store.create_avatar("u1", &common::full_avatar(p.id, "A")).unwrap();
    let other = Store::open(&db.url).unwrap();
    std::thread::scope(|s| {
        for st in [&store, &other, &store, &other] {
            let id = a.id;
            s.spawn(move || (0..25).for_each(|_| drop(st.record_usage("u1", &id).unwrap())));
        }
    });
    assert_eq!(store.get_avatar("u1", &a.id).unwrap().usage_count, 100);
}

#[test]
fn a_row_locked_past_the_busy_timeout_is_busy_and_a_duplicate_id_a_conflict() {
    let Some(db) = TestDb::create() else { return };
    // A short lock wait, but a connect timeout a loaded machine can meet:
    // a new pooled connection must not be what times out here.
    let store = Store::options()
        .busy_timeout(std::time::Duration::from_millis(200))
        .connect_timeout(std::time::Duration::from_secs(30))
        .open(&db.url)
        .unwrap();
    let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    let a = store.create_avatar("u1", &common::full_avatar(p.id, "A")).unwrap();
    let mut holder = db.client();
    let mut tx = holder.transaction().unwrap();
    tx.execute("SELECT 1 FROM avatars WHERE id = $1 FOR UPDATE", &[&a.id.to_string()]).unwrap();
    let err = store.record_usage("u1", &a.id).unwrap_err();
    assert_eq!(err.code(), "BUSY", "{err}");
    tx.rollback().unwrap();
    assert_eq!(store.record_usage("u1", &a.id).unwrap().usage_count, 1, "nothing half-written");

    let mut records = Vec::new();
    store
        .export("u1", |r| {
            records.push(r);
            Ok(())
        })
        .unwrap();
    // The same ids for another user: the upsert's owner guard says CONFLICT.
    let mut stolen = records[0].clone();
    if let avatar_store::Record::Project(p) = &mut stolen {
        p.user_id = "u2".into();
    }
    let err = store.import("u2", |im| im.record(&stolen)).unwrap_err();
    assert_eq!(err.code(), "CONFLICT", "{err}");
    assert_eq!(store.count_all_users().unwrap(), (1, 1));
}

/// The two heads describe one data model: same tables, columns in the same
/// order with the same nullability and logical type, same indexes.
#[test]
fn the_sqlite_and_postgres_heads_agree() {
    let Some(db) = TestDb::create() else { return };
    Store::open(&db.url).unwrap();
    let mut pg = db.client();
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    for m in embedded_migrations() {
        lite.execute_batch(&m.sql).unwrap();
    }
    let logical_pg = |t: &str| match t {
        "text" => "text",
        "integer" | "bigint" => "integer",
        "timestamp with time zone" => "timestamp",
        other => panic!("unexpected PostgreSQL type {other}"),
    };
    for table in ["projects", "avatars"] {
        let pg_cols: Vec<(String, bool, &str)> = pg
            .query(
                "SELECT column_name::text, is_nullable = 'NO', data_type::text FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
                &[&table],
            )
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), logical_pg(r.get::<_, String>(2).as_str())))
            .collect();
        let mut stmt = lite
            .prepare("SELECT name, \"notnull\" OR pk > 0, upper(type) FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        let lite_cols: Vec<(String, bool, &str)> = stmt
            .query_map([table], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .map(|(name, nn, ty)| {
                // SQLite keeps timestamps as RFC 3339 text; the field table names them.
                let logical = if name.ends_with("At") {
                    "timestamp"
                } else if ty == "TEXT" {
                    "text"
                } else {
                    "integer"
                };
                (name, nn, logical)
            })
            .collect();
        assert_eq!(pg_cols, lite_cols, "{table}");
    }
    let pg_idx: Vec<(String, String)> = pg
        .query(
            "SELECT indexname::text, tablename::text FROM pg_indexes WHERE schemaname = 'public' \
             AND indexname LIKE 'idx_%' ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut stmt = lite
        .prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1")
        .unwrap();
    let lite_idx: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(pg_idx, lite_idx);
}

#[test]
fn a_connection_killed_mid_transaction_is_a_clean_error_and_the_next_call_works() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::options().readers(1).open(&db.url).unwrap();
    let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    let mut admin = db.client();
    // The import's transaction is open when its connection is killed.
    let err = store
        .import("u1", |im| {
            let mut rec = avatar_store::Record::Project(store_project(&p, "renamed"));
            im.record(&rec)?;
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                )
                .unwrap();
            rec = avatar_store::Record::Project(store_project(&p, "again"));
            im.record(&rec)
        })
        .unwrap_err();
    assert_eq!(err.code(), "IO", "{err}");
    assert!(!format!("{err:?}").contains("password"), "{err:?}");
    // Nothing half-written, and the pool hands out a fresh connection.
    assert_eq!(store.get_project("u1", &p.id).unwrap().name, "P");
}

fn store_project(p: &avatar_store::Project, name: &str) -> avatar_store::Project {
    avatar_store::Project { name: name.into(), ..p.clone() }
}

const CHILD_URLS: &str = "AVATAR_STORE_TEST_PG_CHILD_URLS";
const CHILD_DIR: &str = "AVATAR_STORE_TEST_PG_CHILD_DIR";
const CHILD_INDEX: &str = "AVATAR_STORE_TEST_PG_CHILD_INDEX";
const CHILDREN: usize = 6;

/// Run by `six_processes_open_one_v1_database_and_exactly_one_migrates` in
/// child processes: opens each database named, all children together.
#[test]
#[ignore = "runs only as a child process of six_processes_open_one_v1_database_and_exactly_one_migrates"]
fn pg_child_opens_stores() {
    let urls = std::env::var(CHILD_URLS).expect("child needs its URLs");
    let dir = std::path::PathBuf::from(std::env::var(CHILD_DIR).unwrap());
    let me = std::env::var(CHILD_INDEX).unwrap();
    for (i, url) in urls.split(' ').enumerate() {
        // A barrier in the file system, so that every child opens at once.
        std::fs::write(dir.join(format!("ready-{i}-{me}")), b"").unwrap();
        let prefix = format!("ready-{i}-");
        let ready = || {
            std::fs::read_dir(&dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(&prefix))
                .count()
        };
        while ready() < CHILDREN {
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
        match Store::options().busy_timeout(std::time::Duration::from_secs(30)).open(url) {
            Ok(store) => println!("\nTRIAL={i} APPLIED={}", store.migration_outcome().applied.len()),
            Err(e) => println!("\nTRIAL={i} ERROR={} {e}", e.code()),
        }
    }
}

#[test]
fn six_processes_open_one_v1_database_and_exactly_one_migrates() {
    const TRIALS: usize = 5;
    let dbs: Vec<TestDb> = (0..TRIALS).map_while(|_| TestDb::create()).collect();
    if dbs.len() < TRIALS {
        return;
    }
    for db in &dbs {
        let mut c = db.client();
        c.batch_execute(&embedded_postgres_migrations()[0].sql).unwrap();
        record_history(&mut c, "public", 1);
        c.batch_execute("INSERT INTO projects VALUES ('p1', 'u1', 'P', NULL, now(), now())").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let urls = dbs.iter().map(|d| d.url.as_str()).collect::<Vec<_>>().join(" ");
    let children: Vec<_> = (0..CHILDREN)
        .map(|i| {
            files::child_test("pg_child_opens_stores")
                .env(CHILD_URLS, &urls)
                .env(CHILD_DIR, dir.path())
                .env(CHILD_INDEX, i.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let (applied, failures) = files::trial_reports(children, TRIALS, "database");
    assert!(failures.is_empty(), "opens failed instead of waiting: {failures:#?}");
    for (t, applied) in applied.iter().enumerate() {
        assert_eq!(applied.len(), CHILDREN, "database {t}: not every child reported");
        let from_v1 = latest_version() as usize - 1;
        assert_eq!(applied.iter().filter(|&&n| n > 0).collect::<Vec<_>>(), [&from_v1], "database {t}: {applied:?}");
        let s = Store::open(&dbs[t].url).unwrap();
        assert_eq!(s.count_all_users().unwrap(), (1, 0), "database {t}");
    }
}

const USAGE_URL: &str = "AVATAR_STORE_TEST_PG_USAGE_URL";
const USAGE_IDS: &str = "AVATAR_STORE_TEST_PG_USAGE_IDS";
const USAGE_THREADS: usize = 4;
const USAGE_CALLS: usize = 50;

/// Run by `two_processes_of_four_threads_lose_no_increment` in child
/// processes: one store, four threads, each recording usage on every avatar
/// named in the variable, in turn.
#[test]
#[ignore = "runs only as a child process of two_processes_of_four_threads_lose_no_increment"]
fn pg_child_records_usage() {
    let url = std::env::var(USAGE_URL).expect("child needs its URL");
    let ids: Vec<uuid::Uuid> = std::env::var(USAGE_IDS).unwrap().split(' ').map(|s| s.parse().unwrap()).collect();
    let store = Store::options().busy_timeout(std::time::Duration::from_secs(30)).open(&url).unwrap();
    let start = Barrier::new(USAGE_THREADS);
    std::thread::scope(|s| {
        for t in 0..USAGE_THREADS {
            let (store, ids, start) = (&store, &ids, &start);
            s.spawn(move || {
                start.wait();
                for i in 0..USAGE_CALLS {
                    store.record_usage("u1", &ids[(i + t) % ids.len()]).unwrap();
                }
            });
        }
    });
}

#[test]
fn two_processes_of_four_threads_lose_no_increment() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::open(&db.url).unwrap();
    let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    let avatars: Vec<_> =
        (0..3).map(|i| store.create_avatar("u1", &common::full_avatar(p.id, &format!("A{i}"))).unwrap()).collect();
    let ids = avatars.iter().map(|a| a.id.to_string()).collect::<Vec<_>>().join(" ");
    let children: Vec<_> = (0..2)
        .map(|_| {
            files::child_test("pg_child_records_usage").env(USAGE_URL, &db.url).env(USAGE_IDS, &ids).spawn().unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let total: i64 = avatars.iter().map(|a| store.get_avatar("u1", &a.id).unwrap().usage_count).sum();
    assert_eq!(total as usize, 2 * USAGE_THREADS * USAGE_CALLS, "every acknowledged increment is counted");
    for a in &avatars {
        assert!(store.get_avatar("u1", &a.id).unwrap().last_used_at.is_some());
    }
}

/// A read "now" on PostgreSQL is a network round trip: it declines, and the
/// caller (Node's event loop) hands the read to a worker instead.
#[test]
fn a_read_now_declines_on_postgres() {
    let Some(db) = TestDb::create() else { return };
    let store = Store::open(&db.url).unwrap();
    let p = store.create_project("u1", &NewProject { name: "P".into(), ..Default::default() }).unwrap();
    let a = store.create_avatar("u1", &NewAvatar { project_id: p.id, name: "A".into(), ..Default::default() }).unwrap();
    store.get_avatar("u1", &a.id).unwrap();
    assert!(store.try_get_avatar_now("u1", &a.id).is_none());
    assert!(store.try_get_project_now("u1", &p.id).is_none());
}
