//! Running a core call: on libuv's thread pool for the long Promise-returning
//! operations (the short ones go through [`crate::dispatch`]), in place for
//! the `...Sync` ones. Either way a panic is caught
//! here and becomes an `INTERNAL` error, so none reaches Node.

use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::bindgen_prelude::{AsyncTask, ToNapiValue};
use napi::{Env, Task};

use crate::dispatch::Pending;
use crate::fail::{Failure, into_napi, panic_message};
use crate::write::Out;

/// The core call an operation makes, with its arguments already converted.
pub type Work = Box<dyn FnOnce() -> avatar_store::Result<Out> + Send>;

/// Runs `work`, turning a panic into [`Failure::Panic`].
pub fn guarded(work: Work) -> Result<Out, Failure> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(Failure::Core(e)),
        Err(payload) => Err(Failure::Panic(panic_message(payload.as_ref()))),
    }
}

/// Runs a prepared operation now, on the calling (JavaScript) thread.
pub fn block(env: &Env, prepared: Result<Work, Failure>) -> napi::Result<Out> {
    prepared.and_then(guarded).map_err(|f| into_napi(env, f))
}

/// Runs a prepared operation on the thread pool; the Promise settles on the
/// JavaScript thread. Argument errors found while preparing reject the
/// Promise rather than throw, so `await` and `.catch()` see every failure.
pub fn spawn(prepared: Result<Work, Failure>) -> AsyncTask<Job> {
    AsyncTask::new(Job { state: Some(prepared), failure: None })
}

/// Like [`spawn`], as the Promise value itself, for a method that returns
/// either road's Promise.
pub fn on_pool(env: &Env, prepared: Result<Work, Failure>) -> napi::Result<Pending> {
    // SAFETY: on the JavaScript thread of `env`.
    unsafe { AsyncTask::to_napi_value(env.raw(), spawn(prepared)) }.map(Pending::new)
}

pub struct Job {
    state: Option<Result<Work, Failure>>,
    failure: Option<Failure>,
}

impl Task for Job {
    type Output = Out;
    type JsValue = Out;

    fn compute(&mut self) -> napi::Result<Out> {
        let state = self.state.take().unwrap_or(Err(Failure::Panic("task computed twice".into())));
        // Serialize records here, on the pool thread, rather than in
        // `resolve` on the JavaScript thread.
        state.and_then(guarded).map(Out::encoded).map_err(|f| {
            // The JavaScript error can only be built on the JavaScript
            // thread: keep the failure for `reject`.
            self.failure = Some(f);
            napi::Error::from_reason("avatar-store operation failed")
        })
    }

    fn resolve(&mut self, _env: Env, out: Out) -> napi::Result<Out> {
        Ok(out)
    }

    fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<Out> {
        match self.failure.take() {
            Some(f) => Err(into_napi(&env, f)),
            None => Err(err),
        }
    }
}
