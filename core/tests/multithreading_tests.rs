//! Threads and processes sharing one database.

mod common;

use std::sync::Arc;

use avatar_store::{AvatarQuery, Store, latest_version};
use common::*;

#[test]
fn racing_record_usage_loses_no_increment() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path().join("db")).unwrap());
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

#[test]
fn two_stores_on_one_file_wait_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let s1 = Arc::new(Store::open(&path).unwrap());
    let s2 = Arc::new(Store::open(&path).unwrap());
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
    let s = Store::open(&path).unwrap();
    assert_eq!(s.count_all_users().unwrap(), (1, 2000));
}

const CHILD_DB: &str = "AVATAR_STORE_TEST_CHILD_DB";

/// Run by `several_processes_open_one_old_file` in child processes.
#[test]
#[ignore = "runs only as a child process of several_processes_open_one_old_file"]
fn child_opens_store() {
    let path = std::env::var(CHILD_DB).expect("child needs its database path");
    let store = Store::options().busy_timeout(std::time::Duration::from_secs(30)).open(&path).unwrap();
    println!("\nAPPLIED={}", store.migration_outcome().applied.len());
}

#[test]
fn several_processes_open_one_old_file_and_exactly_one_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let conn = database_at_version(&path, 1);
    insert_base_rows(&conn, "u1", 3, 3);
    drop(conn);

    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..6)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_opens_store", "--ignored", "--nocapture", "--test-threads=1"])
                .env(CHILD_DB, &path)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let n: usize = stdout
            .lines()
            .find_map(|l| l.split("APPLIED=").nth(1))
            .unwrap_or_else(|| panic!("no APPLIED line in {stdout}"))
            .trim()
            .parse()
            .unwrap();
        applied.push(n);
    }
    applied.sort();
    let migrations = (latest_version() - 1) as usize;
    assert_eq!(applied.iter().sum::<usize>(), migrations, "{applied:?}");
    assert_eq!(applied.iter().filter(|&&n| n > 0).count(), 1, "exactly one process migrated: {applied:?}");
    assert_eq!(backups_in(dir.path()).len(), 1);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.count_all_users().unwrap(), (3, 9));
}
