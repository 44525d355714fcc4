//! Checkpoints of the write-ahead log, mostly off the write path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its
//! threshold, so one write in a thousand pages copies the whole log back into
//! the database file, and every page written is paid for twice by the writers.
//! A file store instead hands that work to a background thread and a
//! connection of its own, running PASSIVE checkpoints, which never block
//! readers or the writer. `PRAGMA wal_autocheckpoint = 0` turns SQLite's own
//! automatic checkpoint off; after every few rows committed the writer reads
//! the log's size with a NOOP checkpoint, which copies nothing and takes no
//! lock.
//!
//! A checkpoint can only let the log start over once it has copied every
//! frame, and under a steady stream of writes the thread is always a few
//! commits behind; so past [`HARD_PAGES`] the writer checkpoints itself, which
//! then has little left to copy, and the log stays bounded. Until then the
//! thread is asked once per [`SOFT_PAGES`] of growth, not after every
//! reading: each checkpoint first sorts the whole log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rusqlite::{Connection, OpenFlags};
use scheduled_thread_pool::ScheduledThreadPool;

/// Log size (pages) at which a background checkpoint is queued, and the
/// growth between two: SQLite's own automatic checkpoint threshold.
pub(crate) const SOFT_PAGES: i32 = 1000;
/// Log size (pages) at which the writer checkpoints itself (8 MB at 4 KiB
/// pages). At 4 × SOFT_PAGES the log of a stream of one-row commits (W1)
/// reached 16.7 MB against 4.1 MB for SQLite's own checkpoint; at 2 × it
/// reaches 8.5 MB, and the writer's share stays small, since the thread has
/// copied all but the last thousand pages or so.
pub(crate) const HARD_PAGES: i32 = 2 * SOFT_PAGES;

/// The one thread that runs the background checkpoints of every store in
/// the process. Not r2d2's maintenance thread: that one also opens pooled
/// readers, so a long checkpoint of any store there would hold up
/// `pool.get()` of every store behind it.
pub(crate) fn thread() -> Arc<ScheduledThreadPool> {
    static POOL: OnceLock<Arc<ScheduledThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        Arc::new(ScheduledThreadPool::builder().num_threads(1).thread_name_pattern("avatar-store-checkpoint").build())
    })
    .clone()
}

/// Frames in the write-ahead log of `conn`'s database, read by a NOOP
/// checkpoint (which neither copies nor locks): asked of the connection that
/// just committed, not handed over by a hook, so no state outlives the
/// commit it describes. 0 when it cannot be read.
fn log_pages(conn: &Connection) -> i32 {
    conn.prepare_cached("PRAGMA wal_checkpoint(NOOP)")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i32>(1)))
        .unwrap_or(0)
}

/// The checkpoint connection of one file store: opened by the first
/// checkpoint, closed for good when the store goes.
enum Link {
    Unopened,
    Open(Connection),
    Closed,
}

struct Shared {
    path: PathBuf,
    link: Mutex<Link>,
    // A checkpoint is waiting on the pool; more requests meanwhile add nothing.
    queued: AtomicBool,
    #[cfg(test)]
    runs: AtomicU64,
}

/// The checkpoints of one file store, on the process's checkpoint
/// [`thread`]; dropping this waits for a running checkpoint and closes its
/// connection.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    pool: Arc<ScheduledThreadPool>,
    // The writer's `total_changes()` when the log size was last read.
    checked_at: AtomicU64,
    // Log size (pages) at which the next background checkpoint is queued:
    // SOFT_PAGES more than at the last one. A checkpoint sorts every frame
    // of the log before it copies anything (SQLite's walIteratorInit), and
    // until the log starts over that is the whole log each time: queued
    // again as soon as the last one ended, W1 (10,000 one-row commits) ran
    // 455 of them, a fifth of all its instructions and two fsyncs each;
    // one per SOFT_PAGES of growth, about 45 (callgrind: 1,048 million
    // instructions in all against 857 million).
    next_queue_at: AtomicI32,
}

/// Rows the writer may change between two readings of the log size. Reading
/// it (a NOOP checkpoint) cost about a fifth of a one-row commit, measured
/// through Python's `create_avatar`; a row writes a handful of pages, so
/// between two readings the log grows by far less than [`SOFT_PAGES`].
const ROWS_BETWEEN_READINGS: u64 = 16;

impl Checkpointer {
    /// Takes the writer's checkpoints over from SQLite.
    pub(crate) fn start(
        path: &Path,
        writer: &Connection,
        pool: Arc<ScheduledThreadPool>,
    ) -> rusqlite::Result<Checkpointer> {
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let shared = Shared {
            path: path.to_path_buf(),
            link: Mutex::new(Link::Unopened),
            queued: AtomicBool::new(false),
            #[cfg(test)]
            runs: AtomicU64::new(0),
        };
        Ok(Checkpointer {
            shared: Arc::new(shared),
            pool,
            checked_at: AtomicU64::new(writer.total_changes()),
            next_queue_at: AtomicI32::new(SOFT_PAGES),
        })
    }

    /// Called by the writer after each commit, still holding the writer.
    pub(crate) fn after_commit(&self, writer: &Connection) {
        // A large commit (a batch, an import) is read at once; small ones
        // only every few rows. The writer's lock is held, so this is the
        // only caller.
        let changes = writer.total_changes();
        if changes.wrapping_sub(self.checked_at.load(Ordering::Relaxed)) < ROWS_BETWEEN_READINGS {
            return;
        }
        self.checked_at.store(changes, Ordering::Relaxed);
        let pages = log_pages(writer);
        if pages >= HARD_PAGES {
            self.next_queue_at.store(SOFT_PAGES, Ordering::Relaxed);
            // The thread's own checkpoint may be under way: one that started
            // before the latest commits cannot reach the end of the log, and
            // while it runs the writer's would only get BUSY, so under load
            // the log would never start over. Wait for it, and keep the
            // thread out while the writer checkpoints between two commits.
            // Other errors are left alone, as SQLite leaves those of its
            // automatic checkpoint.
            let _link = self.shared.link.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = passive_checkpoint(writer);
        } else if pages < SOFT_PAGES {
            // The log started over.
            self.next_queue_at.store(SOFT_PAGES, Ordering::Relaxed);
        } else if pages >= self.next_queue_at.load(Ordering::Relaxed)
            && !self.shared.queued.swap(true, Ordering::AcqRel)
        {
            self.next_queue_at.store(pages + SOFT_PAGES, Ordering::Relaxed);
            let shared = Arc::clone(&self.shared);
            self.pool.execute(move || shared.checkpoint());
        }
    }
}

impl Shared {
    fn checkpoint(&self) {
        // Cleared first, so that a commit during this checkpoint queues the next.
        self.queued.store(false, Ordering::Release);
        #[cfg(test)]
        self.runs.fetch_add(1, Ordering::Relaxed);
        let mut link = self.link.lock().unwrap_or_else(PoisonError::into_inner);
        if let Link::Unopened = *link {
            // Should the connection not come, the writer's own checkpoints
            // past HARD_PAGES still keep the log bounded.
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            *link = Connection::open_with_flags(&self.path, flags).map_or(Link::Closed, Link::Open);
        }
        if let Link::Open(conn) = &*link {
            let _ = passive_checkpoint(conn);
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Waits for a checkpoint under way; one still queued finds the link closed.
        *self.shared.link.lock().unwrap_or_else(PoisonError::into_inner) = Link::Closed;
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
        let ck = Checkpointer::start(&path, &writer, Arc::new(ScheduledThreadPool::new(1))).unwrap();
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
        let ck = Checkpointer::start(&path, &writer, Arc::new(ScheduledThreadPool::new(1))).unwrap();
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

    /// Waits for every job queued on `pool` so far (it has one thread).
    fn drain(pool: &ScheduledThreadPool) {
        let (done, wait) = std::sync::mpsc::channel();
        pool.execute(move || done.send(()).unwrap());
        wait.recv().unwrap();
    }

    #[test]
    fn the_thread_is_asked_once_per_soft_pages_of_growth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.execute_batch("CREATE TABLE t (x BLOB); INSERT INTO t VALUES (1)").unwrap();
        let pool = Arc::new(ScheduledThreadPool::new(1));
        let ck = Checkpointer::start(&path, &writer, Arc::clone(&pool)).unwrap();
        let runs = || ck.shared.runs.load(Ordering::Relaxed);
        let write = || {
            writer.execute("INSERT INTO t VALUES (zeroblob(5000))", []).unwrap();
            ck.after_commit(&writer);
            // Each request has run before the next commit.
            drain(&pool);
        };
        // A reader's snapshot keeps every checkpoint from reaching the end
        // of the log, as a stream of writes does, so the log grows. Up to
        // HARD_PAGES the thread, idle at every reading past SOFT_PAGES,
        // must have been asked once, not at each reading (each checkpoint
        // sorts the whole log).
        let reader = Connection::open(&path).unwrap();
        reader.execute_batch("BEGIN; SELECT count(*) FROM t;").unwrap();
        while log_pages(&writer) < HARD_PAGES - 2 * ROWS_BETWEEN_READINGS as i32 {
            write();
        }
        assert_eq!(runs(), 1);
        // Past HARD_PAGES the writer checkpoints itself and the log starts
        // over; the thread is asked again once it regrows to SOFT_PAGES.
        reader.execute_batch("COMMIT").unwrap();
        let mut restarted = false;
        for _ in 0..3 * HARD_PAGES {
            write();
            restarted |= log_pages(&writer) < SOFT_PAGES / 2;
            if restarted && runs() == 2 {
                break;
            }
        }
        assert!(restarted, "the log did not start over");
        assert_eq!(runs(), 2, "the thread was not asked after the log started over");
    }
}
