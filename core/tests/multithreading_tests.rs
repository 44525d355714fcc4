//! Threads and processes sharing one database.

mod common;

use std::sync::Arc;

use avatar_store::{AvatarQuery, Store, Uuid, latest_version};
use common::*;

crate::on_both_backends! {
fn racing_record_usage_loses_no_increment() {
    let db = pg::shared_database();
    let store = Arc::new(db.open());
    let p = project(&store, "u1", "P");
    let a = store.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..250 {
                    store.record_usage("u1", &a.id).unwrap();
                    store.get_avatar("u1", &a.id).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.get_avatar("u1", &a.id).unwrap().usage_count, 2000);
}

fn two_stores_on_one_database_wait_instead_of_failing() {
    let db = pg::shared_database();
    let s1 = Arc::new(db.open());
    let s2 = Arc::new(db.open());
    let p = project(&s1, "u1", "P");
    let handles: Vec<_> = [s1, s2]
        .into_iter()
        .map(|s| {
            std::thread::spawn(move || {
                for i in 0..50 {
                    s.create_avatars(
                        "u1",
                        &(0..20).map(|j| full_avatar(p.id, &format!("{i}.{j}"))).collect::<Vec<_>>(),
                    )
                    .unwrap();
                    s.list_avatars("u1", &AvatarQuery::default()).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(db.open().count_all_users().unwrap(), (1, 2000));
}
}

// The process race below stays SQLite-only: it is about a file (the switch
// to WAL, the one pre-migrate backup beside it). PostgreSQL's own race, under
// its advisory lock, is postgres_backend.rs's
// six_processes_open_one_v1_database_and_exactly_one_migrates.

const CHILD_DBS: &str = "AVATAR_STORE_TEST_CHILD_DBS";
const CHILD_COUNT: &str = "AVATAR_STORE_TEST_CHILD_COUNT";
const CHILD_INDEX: &str = "AVATAR_STORE_TEST_CHILD_INDEX";

/// Run by `several_processes_open_one_old_file_and_exactly_one_migrates` in
/// child processes: opens each file named in the variable, in order, all
/// children together.
#[test]
#[ignore = "runs only as a child process of several_processes_open_one_old_file_and_exactly_one_migrates"]
fn child_opens_stores() {
    let paths = std::env::var(CHILD_DBS).expect("child needs its database paths");
    let children: usize = std::env::var(CHILD_COUNT).unwrap().parse().unwrap();
    let me = std::env::var(CHILD_INDEX).unwrap();
    for (i, path) in std::env::split_paths(&paths).enumerate() {
        // A barrier: every child announces itself beside the file, then
        // waits for the others, so that they all open it at once.
        let dir = path.parent().unwrap();
        std::fs::write(dir.join(format!("ready-{me}")), b"").unwrap();
        let ready = || {
            std::fs::read_dir(dir)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("ready-"))
                .count()
        };
        while ready() < children {
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
        match Store::options().busy_timeout(std::time::Duration::from_secs(30)).open(&path) {
            Ok(store) => println!("\nTRIAL={i} APPLIED={}", store.migration_outcome().applied.len()),
            Err(e) => println!("\nTRIAL={i} ERROR={} {e}", e.code()),
        }
    }
}

#[test]
fn several_processes_open_one_old_file_and_exactly_one_migrates() {
    // Opening a rollback-journal file switches it to WAL, which SQLite can
    // refuse at once with "database is locked" while another process does
    // the same, without waiting on the busy timeout. It happened in a few
    // percent of races, so the children race for many files in turn: before
    // the open retried that step, most runs of this test saw it.
    const CHILDREN: usize = 8;
    const TRIALS: usize = 50;
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..TRIALS)
        .map(|t| {
            let sub = dir.path().join(format!("t{t}"));
            std::fs::create_dir(&sub).unwrap();
            let path = sub.join("shared.db");
            let conn = database_at_version(&path, 1);
            insert_base_rows(&conn, "u1", 3, 3);
            path
        })
        .collect();
    let list = std::env::join_paths(&paths).unwrap();

    let children: Vec<_> = (0..CHILDREN)
        .map(|i| {
            files::child_test("child_opens_stores")
                .env(CHILD_DBS, &list)
                .env(CHILD_COUNT, CHILDREN.to_string())
                .env(CHILD_INDEX, i.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let (applied, failures) = files::trial_reports(children, TRIALS, "file");
    assert!(failures.is_empty(), "opens failed instead of waiting: {failures:#?}");
    let migrations = (latest_version() - 1) as usize;
    for (t, applied) in applied.iter().enumerate() {
        assert_eq!(applied.len(), CHILDREN, "file {t}: not every child reported");
        assert_eq!(applied.iter().sum::<usize>(), migrations, "file {t}: {applied:?}");
        assert_eq!(
            applied.iter().filter(|&&n| n > 0).count(),
            1,
            "file {t}: exactly one process migrated: {applied:?}"
        );
        let dir = paths[t].parent().unwrap();
        assert_eq!(backups_in(dir).len(), 1, "file {t}");
        let s = Store::open(&paths[t]).unwrap();
        assert_eq!(s.count_all_users().unwrap(), (3, 9), "file {t}");
    }
}

// SQLite's process race on record_usage; PostgreSQL's is postgres_backend.rs's
// two_processes_of_four_threads_lose_no_increment.
const CHILD_AVATAR: &str = "AVATAR_STORE_TEST_CHILD_AVATAR";
const USES_EACH: i64 = 300;

/// Run by `processes_racing_record_usage_lose_no_increment` in child
/// processes: records `USES_EACH` uses of one avatar.
#[test]
#[ignore = "runs only as a child process of processes_racing_record_usage_lose_no_increment"]
fn child_records_usage() {
    let path = std::env::var(CHILD_DBS).expect("child needs its database path");
    let id: Uuid = std::env::var(CHILD_AVATAR).unwrap().parse().unwrap();
    let store = Store::options().busy_timeout(std::time::Duration::from_secs(30)).open(&path).unwrap();
    for _ in 0..USES_EACH {
        store.record_usage("u1", &id).unwrap();
    }
}

#[test]
fn processes_racing_record_usage_lose_no_increment() {
    // record_usage is one UPDATE committing by itself: the increment is
    // read and written under the write lock, whichever process holds it.
    const CHILDREN: i64 = 4;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let store = Store::open(&path).unwrap();
    let p = project(&store, "u1", "P");
    let a = store.create_avatar("u1", &full_avatar(p.id, "A")).unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            files::child_test("child_records_usage")
                .env(CHILD_DBS, &path)
                .env(CHILD_AVATAR, a.id.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    // This process races them too.
    for _ in 0..USES_EACH {
        store.record_usage("u1", &a.id).unwrap();
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let used = store.get_avatar("u1", &a.id).unwrap();
    assert_eq!(used.usage_count, (CHILDREN + 1) * USES_EACH);
    assert!(used.last_used_at.is_some());
}
