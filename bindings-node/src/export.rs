//! `store.exportLines(userId)`: the export format as an async iterator of
//! lines, read from one snapshot. The native half is a cursor whose `next()`
//! runs on the thread pool and resolves to a chunk of complete lines (or
//! `null` at the end); index.js makes it async-iterable, one line per step.

use std::sync::{Arc, Mutex, MutexGuard};

use avatar_store::transfer::{Header, Writer};
use avatar_store::{ExportIter, Scope};
use napi::Env;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::fail::Failure;
use crate::job::{Job, Work, block, spawn};
use crate::write::Out;

struct State {
    store: Arc<avatar_store::Store>,
    user: Option<String>,
    /// Made by the first `next`, on the thread pool: checking out a reader
    /// can wait for one to be free.
    open: Option<(ExportIter, Writer<Vec<u8>>)>,
    done: bool,
}

/// The lines of one export (header, records, end line), fetched in chunks.
/// Iterate it with `for await`; `close()` (or leaving the loop early) frees
/// its reader connection and snapshot.
#[napi]
pub struct ExportCursor {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Up to `max` more lines, or `None` once the end line was given.
fn next_chunk(state: &Mutex<State>, max: u32) -> avatar_store::Result<Option<String>> {
    let mut s = lock(state);
    if s.done {
        return Ok(None);
    }
    let result = (|| {
        if s.open.is_none() {
            let scope = s.user.as_deref().map_or(Scope::AllUsers, Scope::User);
            let records = s.store.export_iter_in(scope)?;
            let writer = Writer::new(Vec::new(), &Header::new(&s.store, scope)?)?;
            s.open = Some((records, writer));
        }
        let Some((records, writer)) = s.open.as_mut() else { return Ok(None) };
        for _ in 0..max.max(1) {
            match records.next() {
                Some(r) => writer.record(&r?)?,
                None => {
                    let Some((_, writer)) = s.open.take() else { return Ok(None) };
                    s.done = true;
                    return Ok(Some(writer.finish()?.1));
                }
            }
        }
        Ok(Some(std::mem::take(writer.get_mut())))
    })();
    if result.is_err() {
        s.done = true;
        s.open = None;
    }
    // The writer writes UTF-8 only.
    result.map(|chunk| chunk.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

#[napi]
impl ExportCursor {
    /// The next lines of the export (up to 256 records' worth), each ending
    /// in `\n`, or `null` after the end line.
    #[napi(catch_unwind, ts_return_type = "Promise<string | null>")]
    pub fn next(&self) -> AsyncTask<Job> {
        spawn(Ok(self.work()))
    }

    /// Synchronous `next()`.
    #[napi(catch_unwind, ts_return_type = "string | null")]
    pub fn next_sync(&self, env: Env) -> napi::Result<Out> {
        block(&env, Ok(self.work()))
    }

    /// Stops the export and frees its reader connection. Idempotent.
    #[napi(catch_unwind)]
    pub fn close(&self) {
        let open = {
            let mut s = lock(&self.state);
            s.done = true;
            s.open.take()
        };
        drop(open);
    }
}

impl ExportCursor {
    fn work(&self) -> Work {
        let state = self.state.clone();
        Box::new(move || next_chunk(&state, CHUNK).map(Out::Text))
    }
}

/// Records per chunk: few enough to keep a chunk small, enough that the
/// hop to the thread pool and back is not paid per record.
const CHUNK: u32 = 256;

pub(crate) fn cursor(store: Arc<avatar_store::Store>, user: Option<String>) -> Result<ExportCursor, Failure> {
    if let Some(u) = &user {
        avatar_store::validate_user_id(u)?;
    }
    Ok(ExportCursor { state: Arc::new(Mutex::new(State { store, user, open: None, done: false })) })
}
