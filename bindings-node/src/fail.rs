//! Every failure of the binding, and the JavaScript error each becomes.
//!
//! Errors of the core become `Error` objects whose `code` is the core's code
//! (`NOT_FOUND`, `VALIDATION`, ...), with the core's details as properties and
//! the full text for operators as `detail`; an `INTERNAL` error's `message` is
//! the core's public summary, which names no path and no SQLite internals.
//! Misuse of the binding itself (wrong argument types, a closed store) follows
//! Node's own conventions instead: `TypeError` with `code: 'ERR_INVALID_ARG_TYPE'`
//! or `'ERR_INVALID_ARG_VALUE'`, so callers can tell their bug from a data error.

use std::any::Any;

use napi::bindgen_prelude::{Object, Unknown};
use napi::{Env, JsError, JsTypeError, JsValue};

/// Why an operation did not produce its value.
#[derive(Debug)]
pub enum Failure {
    /// The core refused or failed.
    Core(avatar_store::Error),
    /// An argument of the wrong JavaScript type or shape.
    Arg { code: &'static str, message: String, argument: String },
    /// The store was closed with `close()`.
    Closed,
    /// Rust code panicked; the panic was caught before it could reach Node.
    Panic(String),
}

impl From<avatar_store::Error> for Failure {
    fn from(e: avatar_store::Error) -> Self {
        Failure::Core(e)
    }
}

impl From<napi::Error> for Failure {
    // napi fails only when the engine cannot hand a value over (for example
    // a getter that throws); report it as a bug of ours rather than lose it.
    fn from(e: napi::Error) -> Self {
        Failure::Core(avatar_store::Error::Internal(format!("reading a JavaScript value failed: {}", e.reason)))
    }
}

/// A `TypeError` for an argument (or a property of one, `"avatar.name"`) of the wrong type.
pub fn wrong_type(argument: &str, expected: &str, got: &str) -> Failure {
    Failure::Arg {
        code: "ERR_INVALID_ARG_TYPE",
        message: format!("The \"{argument}\" {} must be {expected}. Received {got}", noun(argument)),
        argument: argument.to_owned(),
    }
}

/// A `TypeError` for an argument of the right type but an unusable shape.
pub fn wrong_value(argument: &str, message: impl std::fmt::Display) -> Failure {
    Failure::Arg {
        code: "ERR_INVALID_ARG_VALUE",
        message: format!("The \"{argument}\" {} {message}", noun(argument)),
        argument: argument.to_owned(),
    }
}

fn noun(argument: &str) -> &'static str {
    if argument.contains('.') { "property" } else { "argument" }
}

/// The text of a caught panic.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Builds the JavaScript error object for `f` and wraps it so that napi
/// throws (or rejects with) that very object.
pub fn into_napi(env: &Env, f: Failure) -> napi::Error {
    match build(env, f) {
        Ok(obj) => napi::Error::from(obj.to_unknown()),
        Err(e) => e,
    }
}

fn build<'env>(env: &'env Env, f: Failure) -> napi::Result<Object<'env>> {
    match f {
        Failure::Core(e) => {
            // An INTERNAL error's text can hold SQLite's words and file
            // paths: its message is the public summary, the text is `detail`.
            let detail = e.to_string();
            let message = match &e {
                avatar_store::Error::Internal(_) => e.public_message(),
                _ => detail.clone(),
            };
            let mut obj = error_object(env, e.code(), &message)?;
            obj.set("detail", detail)?;
            if let Some(field) = e.field() {
                obj.set("field", field)?;
            }
            if let Some(line) = e.line() {
                obj.set("line", line as f64)?;
            }
            if let Some(report) = e.schema_report() {
                obj.set("report", env.to_js_value(report)?)?;
            }
            // The details of an error at a line of an export file are its inner error's.
            match e.without_line() {
                avatar_store::Error::NotFound { entity, id } => {
                    obj.set("entity", *entity)?;
                    obj.set("id", id.as_str())?;
                }
                avatar_store::Error::Migration { version: Some(v), .. } => obj.set("version", *v)?,
                avatar_store::Error::NewerSchema { found, known } => {
                    obj.set("foundVersion", *found)?;
                    obj.set("knownVersion", *known)?;
                }
                avatar_store::Error::Io { path, .. } if !path.is_empty() => obj.set("path", path.as_str())?,
                _ => {}
            }
            Ok(obj)
        }
        Failure::Arg { code, message, argument } => {
            let value = JsTypeError::from(napi::Error::new(code, message)).into_unknown(*env);
            // SAFETY: napi_create_type_error always yields an object.
            let mut obj = unsafe { value.cast::<Object>()? };
            obj.set("argument", argument)?;
            Ok(obj)
        }
        Failure::Closed => error_object(env, "ERR_STORE_CLOSED", "this Store was closed; open a new one"),
        Failure::Panic(msg) => {
            let public = avatar_store::Error::Internal(String::new()).public_message();
            let mut obj = error_object(env, "INTERNAL", &public)?;
            obj.set(
                "detail",
                format!("internal error: avatar-store panicked ({msg}); this is a bug, please report it"),
            )?;
            Ok(obj)
        }
    }
}

fn error_object<'env>(env: &'env Env, code: &str, message: &str) -> napi::Result<Object<'env>> {
    let value: Unknown = JsError::from(napi::Error::new(code, message)).into_unknown(*env);
    // SAFETY: napi_create_error always yields an object.
    unsafe { value.cast::<Object>() }
}
