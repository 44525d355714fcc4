//! Looking at database files from outside the store, and writers that keep
//! committing while something (a restore) replaces the file under them.
//! Shared by the core tests (through `common`) and the CLI tests (by path),
//! so it needs only std, rusqlite and avatar_store.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use avatar_store::{NewProject, Store};
use rusqlite::{Connection, OpenFlags};

/// Names in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

pub fn integrity(path: &Path) -> String {
    Connection::open(path).unwrap().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

/// Ids of every project in the file.
pub fn project_ids(path: &Path) -> BTreeSet<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM projects").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

pub fn projects_of(path: &Path, user: &str) -> i64 {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("SELECT count(*) FROM projects WHERE userId = ?1", [user], |r| r.get(0)).unwrap()
}

/// Polls `cond` until it holds; fails the test after 30 s.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The file's permission bits.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// This test binary, set to run only its ignored test `name` (a child
/// process's entry point), with its output piped.
pub fn child_test(name: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Waits for child processes that each print, per trial, a line
/// `TRIAL=<n> APPLIED=<migrations applied>` or `TRIAL=<n> <why it failed>`.
/// Returns the counts per trial and the failures, each naming its `what`
/// (a file, a database) and trial.
pub fn trial_reports(children: Vec<std::process::Child>, trials: usize, what: &str) -> (Vec<Vec<usize>>, Vec<String>) {
    let mut applied = vec![Vec::new(); trials];
    let mut failures = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        for line in stdout.lines().filter_map(|l| l.strip_prefix("TRIAL=")) {
            let (trial, rest) = line.split_once(' ').unwrap();
            let trial: usize = trial.parse().unwrap();
            match rest.strip_prefix("APPLIED=") {
                Some(n) => applied[trial].push(n.trim().parse::<usize>().unwrap()),
                None => failures.push(format!("{what} {trial}: {rest}")),
            }
        }
    }
    (applied, failures)
}

/// Asserts that the connection's file is in rollback-journal mode, as
/// another tool (or an older release) leaves it.
pub fn assert_rollback_journal(conn: &Connection) {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "delete");
}

const WRITER_DB: &str = "AVATAR_STORE_TEST_WRITER_DB";
const WRITER_STOP: &str = "AVATAR_STORE_TEST_WRITER_STOP";

/// The name of the ignored test each binary using [`Writers`] declares,
/// calling [`child_writes_projects`].
pub const CHILD_WRITER_TEST: &str = "child_writes_projects";

/// The body of the child process [`Writers`] starts: inserts projects of user
/// "process" until the stop file appears, then prints the id of each insert
/// that was acknowledged.
pub fn child_writes_projects() {
    let path = std::env::var_os(WRITER_DB).expect("child needs its database");
    let stop = PathBuf::from(std::env::var_os(WRITER_STOP).expect("child needs its stop file"));
    let store = Store::open(&path).unwrap();
    let mut acknowledged = Vec::new();
    let mut i = 0;
    while !stop.exists() {
        if let Ok(p) = store.create_project("process", &NewProject { name: format!("p{i}"), description: None }) {
            acknowledged.push(p.id);
        }
        i += 1;
    }
    // Printed at the end: the parent reads the pipe only then, and a full
    // pipe would stop this writer mid-test.
    for id in acknowledged {
        println!("ID={id}");
    }
}

/// Two writers inserting projects in a loop into one database: a thread of
/// this process (user "thread", through a store whose reader pool and
/// checkpoints share the file) and another process (user "process", this
/// test binary running its `child_writes_projects` test).
pub struct Writers {
    db: PathBuf,
    stop: Arc<AtomicBool>,
    stop_file: PathBuf,
    thread: JoinHandle<Vec<String>>,
    child: Child,
}

impl Writers {
    /// Starts both writers on `db`; `stop_file` is a path that does not exist yet.
    pub fn start(db: &Path, stop_file: PathBuf) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (db, stop) = (db.to_path_buf(), stop.clone());
            std::thread::spawn(move || {
                let store = Store::open(&db).unwrap();
                let mut acknowledged = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let new = NewProject { name: format!("t{i}"), description: None };
                    if let Ok(p) = store.create_project("thread", &new) {
                        acknowledged.push(p.id.to_string());
                    }
                    i += 1;
                }
                acknowledged
            })
        };
        let child = child_test(CHILD_WRITER_TEST).env(WRITER_DB, db).env(WRITER_STOP, &stop_file).spawn().unwrap();
        Writers { db: db.to_path_buf(), stop, stop_file, thread, child }
    }

    /// Waits until each writer has more than `n` projects in the database.
    pub fn wait_for_commits(&self, what: &str, n: i64) {
        wait_for(what, || projects_of(&self.db, "thread") > n && projects_of(&self.db, "process") > n);
    }

    /// Stops both writers; the ids of every insert either had acknowledged.
    pub fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        std::fs::write(&self.stop_file, b"").unwrap();
        let mut acknowledged = self.thread.join().unwrap();
        let out = self.child.wait_with_output().unwrap();
        assert!(out.status.success(), "writer process failed: {}", String::from_utf8_lossy(&out.stderr));
        let from_process: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("ID="))
            .map(String::from)
            .collect();
        assert!(!from_process.is_empty() && !acknowledged.is_empty(), "a writer acknowledged nothing");
        acknowledged.extend(from_process);
        acknowledged
    }
}

/// Asserts that `db` and every copy in `kept` pass integrity_check, that `db`
/// holds `marker` (a project id from the backup restored into it), and that
/// each of `acknowledged` is in `db` or in one of `kept`.
pub fn assert_nothing_lost(db: &Path, kept: &[PathBuf], marker: &str, acknowledged: &[String]) {
    let mut found = project_ids(db);
    assert!(found.contains(marker), "the backup's data is in the restored database");
    assert_eq!(integrity(db), "ok");
    for k in kept {
        assert_eq!(integrity(k), "ok", "{k:?}");
        found.extend(project_ids(k));
    }
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !found.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged inserts are in neither a kept copy nor the database, among them {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(5)]
    );
}
