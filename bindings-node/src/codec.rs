//! The JavaScript half of the conversions, `codec.js`, as seen from Rust.
//!
//! Crossing napi costs per call, and an avatar has 26 properties: records
//! therefore cross as one JSON string each way, with the object work done by
//! V8 (`JSON.parse`, `JSON.stringify`) in `codec.js`, which registers its
//! two functions at load through `__setCodec` (`index.js` loads it first).
//!
//! - `decode(kind, json)` turns a result serialized by [`crate::write`] into
//!   the documented objects (`Date`s, `bigint` seeds).
//! - `encodeNewAvatars(value, many)` returns the JSON of a new avatar (or of
//!   an array of them) when every value has exactly the type the binding
//!   accepts, and `undefined` otherwise. Anything it declines, or that does
//!   not deserialize, goes through the property-by-property reader in
//!   [`crate::read`], which produces the precise `TypeError`; so this is only
//!   a faster road to the same result, never a second set of rules.

use std::cell::Cell;
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, Unknown};
use napi::{Env, JsValue, ValueType, sys};
use napi_derive::napi;

/// Which record shape a JSON result holds; `codec.js` switches on the number.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Project = 0,
    Avatar = 1,
    Avatars = 2,
    ProjectPage = 3,
    ProjectWithAvatarsPage = 4,
    AvatarPage = 5,
}

#[derive(Clone, Copy)]
struct Codec {
    decode: sys::napi_ref,
    encode_new_avatars: sys::napi_ref,
}

thread_local! {
    // Each Node environment (main thread, worker threads) loads the addon on
    // its own thread, so a thread-local holds that environment's functions.
    static CODEC: Cell<Option<Codec>> = const { Cell::new(None) };
}

/// Registers `codec.js`'s functions; called once, by `codec.js` as it loads.
#[napi(js_name = "__setCodec", skip_typescript)]
pub fn set_codec(env: Env, decode: Unknown, encode_new_avatars: Unknown) -> napi::Result<()> {
    let reference = |v: Unknown| -> napi::Result<sys::napi_ref> {
        if v.get_type()? != ValueType::Function {
            return Err(napi::Error::new(napi::Status::InvalidArg, "__setCodec takes two functions"));
        }
        let mut r = ptr::null_mut();
        check(unsafe { sys::napi_create_reference(env.raw(), v.raw(), 1, &mut r) }, "napi_create_reference")?;
        Ok(r)
    };
    let codec = Codec { decode: reference(decode)?, encode_new_avatars: reference(encode_new_avatars)? };
    if let Some(old) = CODEC.replace(Some(codec)) {
        unsafe {
            sys::napi_delete_reference(env.raw(), old.decode);
            sys::napi_delete_reference(env.raw(), old.encode_new_avatars);
        }
    }
    Ok(())
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!("avatar-store: {what} failed (napi status {status})")))
    }
}

fn registered() -> napi::Result<Codec> {
    CODEC.get().ok_or_else(|| {
        napi::Error::from_reason(
            "avatar-store: the binding was loaded without its codec; load the package \
             (require('avatar-store') or import), not binding.js",
        )
    })
}

/// Calls a registered function; an exception it throws is taken off the
/// environment and returned as the error, so none is left pending.
unsafe fn call(env: sys::napi_env, f: sys::napi_ref, args: &[sys::napi_value]) -> napi::Result<sys::napi_value> {
    unsafe {
        let mut func = ptr::null_mut();
        check(sys::napi_get_reference_value(env, f, &mut func), "napi_get_reference_value")?;
        let mut recv = ptr::null_mut();
        check(sys::napi_get_undefined(env, &mut recv), "napi_get_undefined")?;
        let mut out = ptr::null_mut();
        let status = sys::napi_call_function(env, recv, func, args.len(), args.as_ptr(), &mut out);
        if status == sys::Status::napi_pending_exception {
            let mut exception = ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut exception);
            return Err(napi::Error::from_reason("avatar-store: codec.js threw"));
        }
        check(status, "napi_call_function")?;
        Ok(out)
    }
}

/// The avatar properties in the order the wire form sends them.
#[napi(js_name = "__avatarKeys", skip_typescript)]
pub fn avatar_keys() -> Vec<&'static str> {
    avatar_store::AVATAR_FIELDS.iter().map(|f| f.json_name).collect()
}

/// Core's avatar field descriptors (`avatar_store::AVATAR_FIELDS`), for the
/// tests that check this package against them.
#[napi(js_name = "__avatarFields", skip_typescript)]
pub fn avatar_fields() -> serde_json::Value {
    serde_json::to_value(avatar_store::AVATAR_FIELDS).unwrap_or_default()
}

/// Turns a serialized result into its JavaScript value through `codec.js`.
pub unsafe fn decode(env: sys::napi_env, kind: Kind, json: &str) -> napi::Result<sys::napi_value> {
    let codec = registered()?;
    unsafe {
        let mut k = ptr::null_mut();
        check(sys::napi_create_uint32(env, kind as u32, &mut k), "napi_create_uint32")?;
        let mut s = ptr::null_mut();
        check(
            sys::napi_create_string_utf8(env, json.as_ptr().cast(), json.len() as isize, &mut s),
            "napi_create_string_utf8",
        )?;
        call(env, codec.decode, &[k, s])
    }
}

/// The JSON `codec.js` made of `value` (one new avatar, or an array of them
/// with `many`), or `None` when it declined or is not registered.
pub fn encode_new_avatars(value: &Unknown, many: bool) -> Option<String> {
    let codec = CODEC.get()?;
    let env = value.value().env;
    unsafe {
        let mut flag = ptr::null_mut();
        if sys::napi_get_boolean(env, many, &mut flag) != sys::Status::napi_ok {
            return None;
        }
        let out = call(env, codec.encode_new_avatars, &[value.raw(), flag]).ok()?;
        let mut t = 0;
        if sys::napi_typeof(env, out, &mut t) != sys::Status::napi_ok || t != sys::ValueType::napi_string {
            return None;
        }
        String::from_napi_value(env, out).ok()
    }
}
