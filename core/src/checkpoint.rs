//! Checkpoints of the write-ahead log, mostly off the write path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its
//! threshold, so one write in a thousand pages copies the whole log back into
//! the database file, and every page written is paid for twice by the writers.
//! A file store instead hands that work to a thread of its own with its own
//! connection, running PASSIVE checkpoints, which never block readers or the
//! writer. Installing a WAL hook on the writer is what turns SQLite's own
//! automatic checkpoint off (`sqlite3_wal_hook`, `sqlite3_wal_autocheckpoint`);
//! the hook only notes the log's size.
//!
//! A checkpoint can only let the log start over once it has copied every
//! frame, and under a steady stream of writes the thread is always a few
//! commits behind; so past [`HARD_PAGES`] the writer checkpoints itself, which
//! then has little left to copy, and the log stays bounded.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

/// Log size (pages) at which the thread is asked to checkpoint: SQLite's own
/// automatic checkpoint threshold.
pub(crate) const SOFT_PAGES: i32 = 1000;
/// Log size (pages) at which the writer checkpoints itself (16 MB at 4 KiB pages).
pub(crate) const HARD_PAGES: i32 = 4 * SOFT_PAGES;

thread_local! {
    // The log size SQLite reported for the last commit on this thread. The
    // hook runs inside the commit, on the committing thread, which reads it
    // right after while it still holds the writer.
    static LOG_PAGES: Cell<i32> = const { Cell::new(0) };
}

fn record_log_pages(_wal: &rusqlite::hooks::Wal, pages: i32) -> rusqlite::Result<()> {
    LOG_PAGES.set(pages);
    Ok(())
}

#[derive(Default)]
struct Signal {
    wanted: bool,
    stop: bool,
}

struct Shared {
    signal: Mutex<Signal>,
    wake: Condvar,
}

/// The checkpoint thread of one file store; dropping it stops the thread
/// and closes its connection.
pub(crate) struct Checkpointer {
    path: PathBuf,
    shared: Arc<Shared>,
    // Started by the first commit that wants a checkpoint, so that opening a
    // store to read costs no thread and no connection.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Takes the writer's checkpoints over from SQLite: replacing the WAL
    /// hook is what turns SQLite's automatic checkpoint off.
    pub(crate) fn start(path: &Path, writer: &Connection) -> Checkpointer {
        writer.wal_hook(Some(record_log_pages));
        LOG_PAGES.set(0);
        Checkpointer {
            path: path.to_path_buf(),
            shared: Arc::new(Shared { signal: Mutex::new(Signal::default()), wake: Condvar::new() }),
            thread: Mutex::new(None),
        }
    }

    /// Called by the writer after each commit, still holding the writer.
    pub(crate) fn after_commit(&self, writer: &Connection) {
        let pages = LOG_PAGES.replace(0);
        if pages >= HARD_PAGES {
            // Errors are left alone as SQLite leaves those of its automatic
            // checkpoint: BUSY only means the thread is checkpointing now.
            let _ = passive_checkpoint(writer);
        } else if pages >= SOFT_PAGES {
            self.wake_thread();
        }
    }

    fn wake_thread(&self) {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if thread.is_none() {
            // Should the thread or its connection not come, the writer's own
            // checkpoints past HARD_PAGES still keep the log bounded.
            let (path, shared) = (self.path.clone(), Arc::clone(&self.shared));
            *thread = std::thread::Builder::new()
                .name("avatar-store-checkpoint".into())
                .spawn(move || {
                    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                    if let Ok(conn) = Connection::open_with_flags(&path, flags) {
                        run(&conn, &shared);
                    }
                })
                .ok();
        }
        let mut s = self.shared.signal.lock().unwrap_or_else(PoisonError::into_inner);
        if !s.wanted {
            s.wanted = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.signal.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            let _ = t.join();
        }
    }
}

fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut s = shared.signal.lock().unwrap_or_else(PoisonError::into_inner);
            while !s.wanted && !s.stop {
                s = shared.wake.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
            if s.stop {
                return;
            }
            s.wanted = false;
        }
        let _ = passive_checkpoint(conn);
    }
}

fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod test {
    use super::*;

    fn log_bytes(path: &Path) -> u64 {
        std::fs::metadata(path.with_extension("db-wal")).map(|m| m.len()).unwrap_or(0)
    }

    #[test]
    fn the_log_stays_bounded_and_checkpoints_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let ck = Checkpointer::start(&path, &writer);
        // Each commit writes about two pages; 12 000 commits make far more
        // than HARD_PAGES of log, which must start over rather than grow.
        for _ in 0..12_000 {
            writer.execute("INSERT INTO t VALUES (zeroblob(5000))", []).unwrap();
            ck.after_commit(&writer);
        }
        // Unbounded, it would reach about 24 000 pages; allow the writer's
        // own checkpoint to find the thread busy for a while.
        assert!(log_bytes(&path) <= 3 * HARD_PAGES as u64 * 4096, "the log grew to {} bytes", log_bytes(&path));
        drop(ck);
        // What the checkpoints copied is in the database file itself: a
        // reader that ignores the log (immutable) sees most of the rows.
        let uri = format!("file:{}?immutable=1", path.display());
        let direct =
            Connection::open_with_flags(&uri, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI).unwrap();
        let n: i64 = direct.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert!(n > 8_000, "only {n} rows reached the database file");
    }

    fn rows_in_file(path: &Path) -> i64 {
        // `immutable` reads the database file alone, ignoring the log.
        let uri = format!("file:{}?immutable=1", path.display());
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let direct = Connection::open_with_flags(&uri, flags).unwrap();
        direct.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap_or(0)
    }

    #[test]
    fn the_thread_checkpoints_below_the_writers_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB)").unwrap();
        let ck = Checkpointer::start(&path, &writer);
        // About 1 400 pages of log, past SQLite's own threshold of 1 000:
        // with its checkpoint off nothing reaches the file yet.
        for _ in 0..700 {
            writer.execute("INSERT INTO t VALUES (zeroblob(5000))", []).unwrap();
        }
        assert_eq!(rows_in_file(&path), 0, "SQLite's own checkpoint is off");
        // Past SOFT_PAGES, short of HARD_PAGES: only the thread may copy.
        writer.execute("INSERT INTO t VALUES (zeroblob(5000))", []).unwrap();
        ck.after_commit(&writer);
        // Not a timing test: the thread gets up to ten seconds to do it at all.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while rows_in_file(&path) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(rows_in_file(&path) > 0, "the checkpoint thread copied nothing into the database file");
    }
}
