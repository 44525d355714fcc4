//! The Promise methods' own dispatcher: a queue served by a few threads of
//! the addon, and one threadsafe function per Node environment through which
//! results come back to the JavaScript thread.
//!
//! Why not libuv's pool (`uv_queue_work`, napi's async work): an awaited call
//! there paid two wake-ups of sleeping threads (the pool thread parked on a
//! condition variable, then the event loop parked in `epoll_wait`), several
//! times the cost of a short query on this kind of machine. Here the worker
//! that goes idle spins for [`SPIN`] before it parks, so the next call of a
//! caller awaiting one call after another finds it awake; and Node drains a
//! threadsafe function's queue in batches, so with several calls in flight
//! one event-loop wake-up settles several Promises.
//!
//! Even so, an awaited read cost three to six times its `...Sync` twin on
//! a two-core machine (one worker wake-up is left, and the event loop's),
//! so [`spawn_read`] runs `getAvatar` and `getProject` at once on the
//! JavaScript thread when that needs no wait and the caller awaits one call
//! at a time, or the workers are busy.
//!
//! Wake-ups: the JavaScript thread wakes a parked worker only when fewer
//! than [`short_workers`] are awake on short calls ([`Queue::push`]), so
//! with calls in flight it makes few futex calls; a worker's result signals
//! the threadsafe function only when the JavaScript thread has taken every
//! result before it ([`Settler::take`]).
//!
//! Long operations (backups, migrations, imports and exports, opening a
//! store) stay on libuv's pool ([`crate::job::spawn`]): a few workers would
//! queue short calls behind them.
//!
//! Exit: the threadsafe function keeps the event loop alive only while a
//! call of its environment is pending (referenced on the first, unreferenced
//! when the last settles), as the pool's work did; the worker threads are
//! detached and never keep the process alive.

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, JsError, ValueType, sys};

use crate::fail::{Failure, into_napi, panic_message};
use crate::job::{Work, guarded};
use crate::write::Out;
use avatar_store::Write;

/// How long an idle worker waits, awake, for the next call before it parks.
/// Longer than a settle-and-call round trip of an awaiting caller (tens of
/// microseconds), short enough that an idle process stops using the CPU at
/// once.
const SPIN: Duration = Duration::from_micros(100);

/// Worker threads: as many as libuv's pool has by default. Only one spins
/// at a time, so the others cost nothing while idle, and the wake-up rules
/// ([`Queue::push`]) decide how many run at once: one per core on short
/// calls, one fewer on pages, one on writes.
const WORKERS: usize = 4;

/// See [`Queue::enough_back_soon`]: several times a short call's length, well
/// under a parked thread's wake-up.
const SOON: Duration = Duration::from_micros(50);

/// A Promise method's call, on its way to a worker.
struct Call {
    job: Job,
    deferred: Deferred,
    settler: Arc<Settler>,
    /// A call on one record (see [`Length`]).
    short: bool,
    /// A read by id ([`spawn_read`]).
    read: bool,
}

/// What a call runs.
enum Job {
    Work(Work),
    /// A write on one record, which a worker runs together with the writes
    /// on the same store queued right behind it ([`serve`]).
    /// Boxed: a queued call is moved a few times, and an avatar's fields
    /// are most of a write.
    Write(Arc<avatar_store::Store>, Box<Write>),
}

/// How long a call may take, as far as the dispatcher should care.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// A call on one record (a read by id, a create, an update, a usage):
    /// a few microseconds, so a worker busy with one is back at the queue
    /// sooner than a parked one would wake.
    Short,
    /// A page, a batch, a count: may take milliseconds.
    Page,
}

/// A Promise's resolver. Created and used only on the JavaScript thread of
/// its environment; workers only carry it.
struct Deferred(sys::napi_deferred);

// SAFETY: see `Deferred`; the pointer is never dereferenced off its thread.
unsafe impl Send for Deferred {}

/// A call's outcome, on its way back to the JavaScript thread.
struct Done {
    deferred: Deferred,
    result: Result<Out, Failure>,
    /// Whether the call was a read by id ([`spawn_read`]).
    read: bool,
}

impl Done {
    fn records(&self) -> usize {
        self.result.as_ref().map_or(0, Out::records)
    }
}

/// How many records [`drain`] hands to JavaScript before it lets the
/// microtasks run. Every result settled in one turn is decoded before any
/// caller's continuation runs, so with 8 pages of 2,000 avatars in flight
/// up to five decoded pages waited at once in the microtask queue, outlived
/// V8's young generation, and left the rest to its old-generation
/// collector. A few pages of 50 still go in one turn.
const YIELD_RECORDS: usize = 500;

/// The way back into one Node environment (the main thread's or a worker
/// thread's).
struct Settler {
    /// The environment's threadsafe function; `None` once it is torn down.
    /// Workers call it under the read lock, so none touches a threadsafe
    /// function that Node has freed.
    tsfn: RwLock<Option<Tsfn>>,
    back: Mutex<Back>,
}

struct Back {
    /// Results not yet taken by the JavaScript thread.
    done: Vec<Done>,
    /// Whether the threadsafe function was called since the JavaScript
    /// thread last took `done`: one call (one event-loop wake-up) per batch.
    signalled: bool,
}

struct Tsfn(sys::napi_threadsafe_function);

// SAFETY: napi's threadsafe functions are made to be called from any thread.
unsafe impl Send for Tsfn {}
unsafe impl Sync for Tsfn {}

impl Settler {
    fn new() -> Self {
        Settler { tsfn: RwLock::new(None), back: Mutex::new(Back { done: Vec::new(), signalled: false }) }
    }

    fn send(&self, done: Done) {
        let signal = {
            let mut back = self.back.lock().unwrap_or_else(PoisonError::into_inner);
            back.done.push(done);
            !std::mem::replace(&mut back.signalled, true)
        };
        if signal {
            let tsfn = self.tsfn.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(tsfn) = tsfn.as_ref() {
                // SAFETY: alive while the lock shows it. A status other than
                // ok means it is closing: the environment, and the Promise,
                // are going away.
                unsafe {
                    sys::napi_call_threadsafe_function(
                        tsfn.0,
                        ptr::null_mut(),
                        sys::ThreadsafeFunctionCallMode::nonblocking,
                    )
                };
            }
        }
    }

    /// Puts results taken but not settled back in front, still signalled
    /// ([`drain`] asks for its own next turn).
    fn put_back(&self, rest: impl Iterator<Item = Done>) {
        let mut back = self.back.lock().unwrap_or_else(PoisonError::into_inner);
        let mut done: Vec<Done> = rest.collect();
        done.append(&mut back.done);
        back.done = done;
    }

    /// The results waiting, on the JavaScript thread. Empty once none is
    /// left, and only then may workers signal again: results that arrive
    /// while the JavaScript thread settles a batch join it instead of
    /// costing a call of the threadsafe function each (a lock that thread
    /// also takes, and a write to the event loop's eventfd).
    fn take(&self) -> Vec<Done> {
        let mut back = self.back.lock().unwrap_or_else(PoisonError::into_inner);
        let batch = std::mem::take(&mut back.done);
        if batch.is_empty() {
            back.signalled = false;
        }
        batch
    }
}

/// The JavaScript thread's side of one environment, owned by the
/// threadsafe function (its context) and freed by its finalizer.
struct EnvState {
    env: sys::napi_env,
    tsfn: sys::napi_threadsafe_function,
    settler: Arc<Settler>,
    /// Calls started and not yet settled, on this environment: a read by
    /// id runs at once only when there are none, so it never overtakes one.
    pending: Cell<usize>,
    /// Of those, the calls other than reads by id: a read runs at once
    /// only when there are none of them.
    pending_others: Cell<usize>,
    /// When the reads run on the JavaScript thread since the event loop
    /// last turned began ([`spawn_read`]).
    inline_since: Cell<Option<Instant>>,
}

thread_local! {
    /// This thread's environment state. Node runs each environment (the
    /// main one, each worker thread's) on a thread of its own.
    static ENV_STATE: Cell<*const EnvState> = const { Cell::new(ptr::null()) };
}

/// The state of `env`, created with its threadsafe function on first use.
fn env_state(env: sys::napi_env) -> napi::Result<&'static EnvState> {
    let current = ENV_STATE.with(Cell::get);
    // SAFETY: a non-null pointer is alive until the finalizer clears it.
    if let Some(state) = unsafe { current.as_ref() } {
        if state.env == env {
            return Ok(state);
        }
    }
    let settler = Arc::new(Settler::new());
    let state = Box::into_raw(Box::new(EnvState {
        env,
        tsfn: ptr::null_mut(),
        settler,
        pending: Cell::new(0),
        pending_others: Cell::new(0),
        inline_since: Cell::new(None),
    }));
    let mut name = ptr::null_mut();
    let mut tsfn = ptr::null_mut();
    // SAFETY: plain napi calls on the JavaScript thread of `env`; `state`
    // is a live allocation until `finalize` frees it.
    unsafe {
        let label = "avatar-store";
        napi::check_status!(sys::napi_create_string_utf8(env, label.as_ptr().cast(), label.len() as isize, &mut name))?;
        let created = sys::napi_create_threadsafe_function(
            env,
            ptr::null_mut(),
            ptr::null_mut(),
            name,
            0,
            1,
            state.cast(),
            Some(finalize),
            state.cast(),
            Some(settle),
            &mut tsfn,
        );
        if created != sys::Status::napi_ok {
            drop(Box::from_raw(state));
            napi::check_status!(created)?;
        }
        // Idle until a call is pending: an idle store must not keep the
        // process alive.
        napi::check_status!(sys::napi_unref_threadsafe_function(env, tsfn))?;
        let state_ref = &mut *state;
        state_ref.tsfn = tsfn;
        *state_ref.settler.tsfn.write().unwrap_or_else(PoisonError::into_inner) = Some(Tsfn(tsfn));
        ENV_STATE.with(|c| c.set(state));
        Ok(state_ref)
    }
}

/// The environment is being torn down: no result may reach it any more.
unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let state = data.cast::<EnvState>();
    // SAFETY: `data` is the EnvState given at creation, freed only here.
    let state = unsafe { Box::from_raw(state) };
    *state.settler.tsfn.write().unwrap_or_else(PoisonError::into_inner) = None;
    state.settler.take();
    ENV_STATE.with(|c| {
        if ptr::eq(c.get(), &*state) {
            c.set(ptr::null());
        }
    });
}

/// Settles the Promises of the results waiting, on the JavaScript thread
/// (Node's callback of the threadsafe function).
unsafe extern "C" fn settle(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() {
        // Torn down: `finalize` dropped what was waiting.
        return;
    }
    // SAFETY: the context is the environment's EnvState, alive until `finalize`.
    let state = unsafe { &*context.cast::<EnvState>() };
    // SAFETY: on the JavaScript thread of `env`.
    unsafe { drain(env, state) };
}

/// Settles the results waiting, up to [`YIELD_RECORDS`] records; the rest
/// waits for a `setImmediate` callback ([`drain_later`]), after the
/// microtasks of these (their decoding, their callers' continuations).
unsafe fn drain(env: sys::napi_env, state: &EnvState) {
    // The event loop turned: reads may run on this thread again.
    state.inline_since.set(None);
    let mut settled = 0;
    let mut records = 0;
    let mut batch = Vec::new().into_iter();
    loop {
        let done = match batch.next() {
            Some(done) => done,
            None => {
                batch = state.settler.take().into_iter();
                let Some(done) = batch.next() else { break };
                done
            }
        };
        if records >= YIELD_RECORDS {
            state.settler.put_back(std::iter::once(done).chain(batch));
            // SAFETY: on the JavaScript thread of `env`.
            if !unsafe { drain_later(env) } {
                // No setImmediate: the threadsafe function's next call.
                // SAFETY: alive until `finalize`, callable from any thread.
                unsafe {
                    sys::napi_call_threadsafe_function(
                        state.tsfn,
                        ptr::null_mut(),
                        sys::ThreadsafeFunctionCallMode::nonblocking,
                    )
                };
            }
            break;
        }
        // Others still pending: this Promise may have grown old waiting.
        let crowded = state.pending.get().saturating_sub(settled) > 1;
        settled += 1;
        if !done.read {
            state.pending_others.set(state.pending_others.get().saturating_sub(1));
        }
        records += done.records();
        // A panic must not unwind into Node (it would abort the process).
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { settle_promise(env, done, crowded) }));
    }
    let left = state.pending.get().saturating_sub(settled);
    state.pending.set(left);
    if left == 0 && settled > 0 {
        // SAFETY: on the JavaScript thread of `env`.
        unsafe { sys::napi_unref_threadsafe_function(env, state.tsfn) };
    }
}

/// `setImmediate(drain)`: Node runs the microtasks after each immediate
/// callback, while a call of the threadsafe function made now would run in
/// this same turn, before them. False if it could not be scheduled.
unsafe fn drain_later(env: sys::napi_env) -> bool {
    let mut global = ptr::null_mut();
    let mut set_immediate = ptr::null_mut();
    let mut callback = ptr::null_mut();
    let mut ignored = ptr::null_mut();
    let name = "avatarStoreDrain";
    // SAFETY: plain napi calls on the JavaScript thread of `env`.
    unsafe {
        sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
            && sys::napi_get_named_property(env, global, c"setImmediate".as_ptr(), &mut set_immediate)
                == sys::Status::napi_ok
            && sys::napi_create_function(
                env,
                name.as_ptr().cast(),
                name.len() as isize,
                Some(drain_callback),
                ptr::null_mut(),
                &mut callback,
            ) == sys::Status::napi_ok
            && sys::napi_call_function(env, global, set_immediate, 1, &callback, &mut ignored) == sys::Status::napi_ok
    }
}

unsafe extern "C" fn drain_callback(env: sys::napi_env, _info: sys::napi_callback_info) -> sys::napi_value {
    let current = ENV_STATE.with(Cell::get);
    // SAFETY: a non-null pointer is alive until `finalize` clears it; the
    // state of another environment is left alone.
    if let Some(state) = unsafe { current.as_ref() } {
        if state.env == env {
            // SAFETY: on the JavaScript thread of `env`.
            unsafe { drain(env, state) };
        }
    }
    ptr::null_mut()
}

/// `crowded`: other calls of this environment are still pending (see
/// [`Out::to_settled_value`]).
unsafe fn settle_promise(env: sys::napi_env, done: Done, crowded: bool) {
    // A scope of its own: Node keeps the handles made in a threadsafe
    // function's callback until the microtasks after it have run, and a
    // page of 2,000 avatars is 2,100 handles. Without this one, every page
    // settled in a batch stayed alive until the callers had consumed them
    // all (8 pages in flight: 18 MB live after a full GC, against 3.6 MB
    // for the same calls one after another), and outlived V8's young
    // generation. Once the Promise holds the value, the handles can go.
    let mut scope = ptr::null_mut();
    // SAFETY: on the JavaScript thread of `env`; closed below, in order.
    let opened = unsafe { sys::napi_open_handle_scope(env, &mut scope) } == sys::Status::napi_ok;
    let Done { deferred, result, .. } = done;
    let value = result.map_err(|f| into_napi(&Env::from_raw(env), f)).and_then(|out| {
        // SAFETY: on the JavaScript thread, in a handle scope.
        unsafe { Out::to_settled_value(env, out, crowded) }
    });
    // SAFETY: `deferred` belongs to `env` and is settled exactly here, once.
    unsafe {
        match value {
            Ok(v) => sys::napi_resolve_deferred(env, deferred.0, v),
            Err(e) => sys::napi_reject_deferred(env, deferred.0, JsError::from(e).into_value(env)),
        };
    }
    if opened {
        // SAFETY: the scope opened above, the innermost one.
        unsafe { sys::napi_close_handle_scope(env, scope) };
    }
}

/// The calls waiting for a worker.
///
/// A hand-made queue rather than a channel: a channel wakes a parked
/// receiver on every send, while here the JavaScript thread wakes a worker
/// only when none is spinning, so an awaited call costs no wake-up of a
/// sleeping thread, nor do calls in flight that the busy workers will find.
struct Queue {
    waiting: Mutex<Waiting>,
    wake: Condvar,
    /// For each worker, when (nanoseconds after `epoch`, plus one) it took
    /// its last call if that call is short, until it parks; 0 otherwise.
    short_since: [AtomicU64; WORKERS],
    /// For each worker, whether its last call is a page, until it parks.
    page: [AtomicBool; WORKERS],
    /// Workers running writes ([`serve`]): a write queued meanwhile wakes
    /// no other worker, which would only wait for the writer's lock; the
    /// writing worker takes it next, with the writes queued behind it.
    writing: AtomicUsize,
    epoch: Instant,
    /// `waiting.calls.len()`, read without the lock by the spinning worker.
    len: AtomicUsize,
    /// Whether a worker is spinning. Cleared under the lock, so a call
    /// pushed meanwhile is either seen by that worker or wakes one.
    spinning: AtomicBool,
}

struct Waiting {
    calls: VecDeque<Call>,
    /// Workers waiting on `wake`.
    parked: usize,
}

impl Queue {
    fn push(&self, call: Call) {
        let short = call.short;
        let write = matches!(call.job, Job::Write(..));
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting.calls.push_back(call);
        self.len.store(waiting.calls.len(), Ordering::Release);
        let wake = waiting.parked > 0
            && !self.spinning.load(Ordering::Acquire)
            && (!write || self.writing.load(Ordering::Acquire) == 0)
            && !self.enough_back_soon()
            && (short || self.on_pages() < page_workers());
        drop(waiting);
        if wake {
            self.wake.notify_one();
        }
    }

    /// The writes on `store` at the head of the queue, up to `max`.
    fn take_writes_on(&self, store: &Arc<avatar_store::Store>, max: usize) -> Vec<Call> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let mut taken = Vec::new();
        while taken.len() < max
            && matches!(waiting.calls.front(), Some(Call { job: Job::Write(s, _), .. }) if Arc::ptr_eq(s, store))
        {
            taken.extend(waiting.calls.pop_front());
        }
        self.len.store(waiting.calls.len(), Ordering::Release);
        taken
    }

    /// Whether [`short_workers`] workers each began a short call within
    /// [`SOON`]: they will take the next calls from the queue before a
    /// parked worker could wake, so the JavaScript thread need not wake one
    /// (a futex call of its own, and one more busy thread than cores). A
    /// worker busy with a page does not count, so a short call never waits
    /// behind a long one while a worker is parked.
    fn enough_back_soon(&self) -> bool {
        let now = self.nanos();
        self.short_since
            .iter()
            .filter(|since| {
                let since = since.load(Ordering::Acquire);
                since != 0 && now.saturating_sub(since) < SOON.as_nanos() as u64
            })
            .count()
            >= short_workers()
    }

    /// How many workers run pages.
    fn on_pages(&self) -> usize {
        self.page.iter().filter(|page| page.load(Ordering::Acquire)).count()
    }

    fn nanos(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }

    /// The next call: spinning for up to [`SPIN`] first if no other worker
    /// is (one is enough to catch the next call, and a second would take the
    /// CPU from the JavaScript thread), then parked.
    fn pop(&self, me: usize) -> Call {
        let spinner = !self.spinning.swap(true, Ordering::Acquire);
        if spinner {
            let start = Instant::now();
            'spin: loop {
                for _ in 0..64 {
                    if self.len.load(Ordering::Acquire) > 0 {
                        break 'spin;
                    }
                    std::hint::spin_loop();
                }
                if start.elapsed() >= SPIN {
                    break;
                }
                // On a machine with more busy threads than cores, pure
                // spinning took the core from the JavaScript thread the
                // spinner waits for (an awaited write took 140 µs instead
                // of 65 with the yield).
                std::thread::yield_now();
            }
        }
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if spinner {
            self.spinning.store(false, Ordering::Release);
        }
        loop {
            if let Some(call) = waiting.calls.pop_front() {
                self.len.store(waiting.calls.len(), Ordering::Release);
                // Set before the lock is released, and left set until this
                // worker parks: from the call's start until it is back at
                // the queue (sending its result included), it counts as
                // back soon.
                self.short_since[me].store(if call.short { self.nanos() } else { 0 }, Ordering::Release);
                self.page[me].store(!call.short, Ordering::Release);
                return call;
            }
            self.short_since[me].store(0, Ordering::Release);
            self.page[me].store(false, Ordering::Release);
            waiting.parked += 1;
            waiting = self.wake.wait(waiting).unwrap_or_else(PoisonError::into_inner);
            waiting.parked -= 1;
        }
    }
}

/// How many workers run short calls at once: one per core. With 8 reads by
/// id in flight on two cores, one such worker reached 0.94x of
/// `getAvatarSync`, two (with the JavaScript thread reading beside them,
/// [`spawn_read`]) 1.2x to 1.4x: reads that overlap share SQLite's read lock
/// on the WAL index instead of taking it with two `fcntl` calls each.
fn short_workers() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, WORKERS))
}

/// How many workers the JavaScript thread wakes for pages: one core is its
/// own, and it decodes every page; a page worker beyond the other cores
/// takes the CPU from it (8 calls of `listProjectsWithAvatars` in flight on
/// two cores: 0.91x of the `...Sync` twin with this limit, 0.82x-0.85x with
/// one page worker per core). A spinning worker may still take a page when
/// it finds one; this bounds the wake-ups only.
fn page_workers() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)).clamp(1, WORKERS))
}

/// The queue; the workers start with the first call.
fn queue() -> &'static Queue {
    static QUEUE: OnceLock<Queue> = OnceLock::new();
    let mut first = false;
    let queue = QUEUE.get_or_init(|| {
        first = true;
        Queue {
            waiting: Mutex::new(Waiting { calls: VecDeque::new(), parked: 0 }),
            wake: Condvar::new(),
            short_since: [const { AtomicU64::new(0) }; WORKERS],
            page: [const { AtomicBool::new(false) }; WORKERS],
            writing: AtomicUsize::new(0),
            epoch: Instant::now(),
            len: AtomicUsize::new(0),
            spinning: AtomicBool::new(false),
        }
    });
    if first {
        for i in 0..WORKERS {
            // A thread that cannot start leaves the others to serve; with
            // none at all, calls would wait forever, so fail loudly.
            let started =
                std::thread::Builder::new().name(format!("avatar-store-{i}")).spawn(move || serve(queue, i)).is_ok();
            assert!(started || i > 0, "avatar-store could not start a worker thread");
        }
    }
    queue
}

fn serve(queue: &Queue, me: usize) {
    loop {
        let Call { job, deferred, settler, read, .. } = queue.pop(me);
        match job {
            Job::Work(work) => {
                // Records are encoded here rather than on the JavaScript thread.
                let result = match catch_unwind(AssertUnwindSafe(|| guarded(work).map(Out::encoded))) {
                    Ok(r) => r,
                    Err(payload) => Err(Failure::Panic(panic_message(payload.as_ref()))),
                };
                settler.send(Done { deferred, result, read });
            }
            Job::Write(store, write) => {
                queue.writing.fetch_add(1, Ordering::AcqRel);
                let mut writes = vec![*write];
                let mut backs = vec![(deferred, settler)];
                for call in queue.take_writes_on(&store, MAX_TOGETHER - 1) {
                    if let Call { job: Job::Write(_, write), deferred, settler, .. } = call {
                        writes.push(*write);
                        backs.push((deferred, settler));
                    }
                }
                // One commit for them all (Store::write_together); each
                // result is the write's own. Encoded inside the guard, as
                // `Job::Work` results are.
                let results: Vec<Result<Out, Failure>> = match catch_unwind(AssertUnwindSafe(|| {
                    let results = store.write_together(&writes).into_iter();
                    results.map(|r| r.map(|w| Out::from(w).encoded()).map_err(Failure::Core)).collect()
                })) {
                    Ok(results) => results,
                    Err(payload) => {
                        let message = panic_message(payload.as_ref());
                        backs.iter().map(|_| Err(Failure::Panic(message.clone()))).collect()
                    }
                };
                for ((deferred, settler), result) in backs.into_iter().zip(results) {
                    settler.send(Done { deferred, result, read: false });
                }
                queue.writing.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

/// The most writes a worker commits together: enough for the calls a
/// server has in flight, few enough that the first of them waits little.
const MAX_TOGETHER: usize = 32;

/// Runs a write on one record on a worker, committed together with the
/// writes on the same store queued behind it (see [`serve`]).
pub fn spawn_write(env: &Env, prepared: Result<(Arc<avatar_store::Store>, Write), Failure>) -> napi::Result<Pending> {
    enqueue(env, Length::Short, false, prepared.map(|(store, write)| Job::Write(store, Box::new(write))))
}

/// Runs `prepared` on a worker; the returned Promise settles on the
/// JavaScript thread. An argument error rejects it rather than throws.
pub fn spawn(env: &Env, length: Length, prepared: Result<Work, Failure>) -> napi::Result<Pending> {
    enqueue(env, length, false, prepared.map(Job::Work))
}

fn enqueue(env: &Env, length: Length, read: bool, prepared: Result<Job, Failure>) -> napi::Result<Pending> {
    let raw = env.raw();
    let (deferred, promise) = create_promise(raw)?;
    let job = match prepared {
        Ok(job) => job,
        Err(f) => {
            // SAFETY: on the JavaScript thread; `deferred` is new.
            unsafe { settle_promise(raw, Done { deferred, result: Err(f), read: false }, false) };
            return Ok(Pending(promise));
        }
    };
    let state = env_state(raw)?;
    if state.pending.get() == 0 {
        // SAFETY: on the JavaScript thread of `env`.
        napi::check_status!(unsafe { sys::napi_ref_threadsafe_function(raw, state.tsfn) })?;
    }
    state.pending.set(state.pending.get() + 1);
    if !read {
        state.pending_others.set(state.pending_others.get() + 1);
    }
    queue().push(Call { job, deferred, settler: state.settler.clone(), short: length == Length::Short, read });
    Ok(Pending(promise))
}

/// A read tried on the JavaScript thread: `None` when it would have to wait
/// (see [`avatar_store::Store::try_get_avatar_now`]).
pub type Now = Box<dyn FnOnce() -> Option<avatar_store::Result<Out>>>;

/// How long reads may run on the JavaScript thread, one after another,
/// before one goes through a worker so that the event loop turns: a loop
/// awaiting reads would otherwise run as microtasks only and hold off
/// timers and I/O for as long as it runs.
const INLINE_BUDGET: Duration = Duration::from_millis(1);

/// Like [`spawn`] for a short read (`getAvatar`, `getProject`): the read
/// runs at once on the JavaScript thread if it needs no wait (an idle
/// reader, no lock), and the Promise is returned settled, when no write or
/// page of this environment is pending (so it never overtakes one) and
/// either
/// - the caller is `alone`: store.js has no other Promise of this thread
///   outstanding, so a caller awaiting one read after another gets each
///   without a round trip through a worker; or
/// - the workers have two calls waiting for each of them: they stay busy
///   meanwhile, and this thread, which would otherwise wait for their
///   results, adds a read of its own.
///
/// Otherwise, or once [`INLINE_BUDGET`] is spent without a turn of the
/// event loop, it goes to a worker like any call, behind the pending ones.
/// (With reads running here whenever nothing was pending, 8 reads in
/// flight fell back to this thread alone, and reached 0.78x of
/// `getAvatarSync`.)
pub fn spawn_read(env: &Env, alone: bool, prepared: Result<(Now, Work), Failure>) -> napi::Result<Pending> {
    let (now, work) = match prepared {
        Ok(p) => p,
        Err(f) => return spawn(env, Length::Short, Err(f)),
    };
    let raw = env.raw();
    let state = env_state(raw)?;
    let started = state.inline_since.get();
    let within_budget = started.is_none_or(|t| t.elapsed() < INLINE_BUDGET);
    let workers_busy = queue().len.load(Ordering::Acquire) >= 2 * short_workers();
    if within_budget && state.pending_others.get() == 0 && ((alone && state.pending.get() == 0) || workers_busy) {
        let result = match catch_unwind(AssertUnwindSafe(now)) {
            Ok(None) => None,
            Ok(Some(r)) => Some(r.map_err(Failure::Core)),
            Err(payload) => Some(Err(Failure::Panic(panic_message(payload.as_ref())))),
        };
        if let Some(result) = result {
            if started.is_none() {
                state.inline_since.set(Some(Instant::now()));
            }
            let (deferred, promise) = create_promise(raw)?;
            // SAFETY: on the JavaScript thread, inside the call's handle scope.
            unsafe { settle_promise(raw, Done { deferred, result, read: true }, false) };
            return Ok(Pending(promise));
        }
    }
    enqueue(env, Length::Short, true, Ok(Job::Work(work)))
}

/// One call per worker that sleeps for `hold`, all workers woken to take
/// them (for the tests: calls made meanwhile wait in the queue). Counted as
/// reads by id, so they hold no read back on this thread.
#[cfg(feature = "test-hooks")]
pub fn hold_workers(env: &Env, hold: Duration) -> napi::Result<Vec<Pending>> {
    let held = (0..WORKERS)
        .map(|_| {
            let sleep: Work = Box::new(move || {
                std::thread::sleep(hold);
                Ok(Out::Unit)
            });
            enqueue(env, Length::Short, true, Ok(Job::Work(sleep)))
        })
        .collect::<napi::Result<Vec<_>>>()?;
    queue().wake.notify_all();
    Ok(held)
}

fn create_promise(env: sys::napi_env) -> napi::Result<(Deferred, sys::napi_value)> {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: on the JavaScript thread of `env`.
    napi::check_status!(unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) })?;
    Ok((Deferred(deferred), promise))
}

/// A Promise made by [`spawn`], returned to JavaScript as it is.
pub struct Pending(sys::napi_value);

impl Pending {
    pub(crate) fn new(promise: sys::napi_value) -> Self {
        Pending(promise)
    }
}

impl TypeName for Pending {
    fn type_name() -> &'static str {
        "Promise"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Pending {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}
