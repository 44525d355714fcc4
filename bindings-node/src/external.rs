//! Records as external strings: V8 strings whose text stays in this addon's
//! memory, for the lists a Promise method resolves with (see
//! `Out::to_settled_value`).
//!
//! Why only there, and only while other calls are pending: a Promise that
//! waits while other calls' results are made outlives two of V8's young
//! collections and grows old, and the page it then resolves with is kept,
//! and copied, until the next full collection. With 8 pages of 2,000
//! avatars in flight, V8's collector threads took more CPU than the calls
//! themselves. An external string puts about 40 bytes in V8's young
//! generation instead of its text, so fewer of those Promises grow old.
//! Each costs allocations outside V8 and a finalizer, which a call with
//! nothing else pending does not need (a first version that made every
//! list's strings external, `*Sync` included, took W6 `*Sync` from 159 to
//! 138 calls/s).
//!
//! `node_api_create_external_string_latin1` and `_utf16` came with Node
//! 18.18 and 20.4, after this package's oldest supported Node, so they are
//! looked up at run time; without them records are copied into V8 as before.

use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::sync::OnceLock;

use napi::bindgen_prelude::check_status;
use napi::sys;

use crate::write::Text;

type Finalize = unsafe extern "C" fn(sys::napi_env, *mut c_void, *mut c_void);

type Create<C> = unsafe extern "C" fn(
    sys::napi_env,
    *mut C,
    isize,
    Option<Finalize>,
    *mut c_void,
    *mut sys::napi_value,
    *mut bool,
) -> sys::napi_status;

/// The two functions, when this Node exports them.
pub struct Api {
    latin1: Create<std::ffi::c_char>,
    utf16: Create<u16>,
}

/// Node's external-string functions, looked up once.
pub fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(lookup).as_ref()
}

#[cfg(unix)]
fn lookup() -> Option<Api> {
    // SAFETY: dlsym with RTLD_DEFAULT searches the process (node and what it
    // loaded); a non-null result is the exported function of that name,
    // whose signature is the one Node-API documents.
    unsafe {
        let latin1 = libc::dlsym(libc::RTLD_DEFAULT, c"node_api_create_external_string_latin1".as_ptr());
        let utf16 = libc::dlsym(libc::RTLD_DEFAULT, c"node_api_create_external_string_utf16".as_ptr());
        if latin1.is_null() || utf16.is_null() {
            return None;
        }
        Some(Api {
            latin1: std::mem::transmute::<*mut c_void, Create<std::ffi::c_char>>(latin1),
            utf16: std::mem::transmute::<*mut c_void, Create<u16>>(utf16),
        })
    }
}

#[cfg(not(unix))]
fn lookup() -> Option<Api> {
    None
}

/// Frees a record's bytes once V8 drops its string (or at once, when Node
/// copied them instead); `hint` is the vector's capacity.
unsafe extern "C" fn free_latin1(_env: sys::napi_env, data: *mut c_void, hint: *mut c_void) {
    // SAFETY: `data` and `hint` are the pointer and capacity of a Vec<u8>
    // given up in `string` below, freed here exactly once.
    drop(unsafe { Vec::from_raw_parts(data.cast::<u8>(), 0, hint as usize) });
}

unsafe extern "C" fn free_utf16(_env: sys::napi_env, data: *mut c_void, hint: *mut c_void) {
    // SAFETY: as in free_latin1, for a Vec<u16>.
    drop(unsafe { Vec::from_raw_parts(data.cast::<u16>(), 0, hint as usize) });
}

/// A record's string, its text left in this addon's memory.
///
/// # Safety
/// On the JavaScript thread of `env`.
pub unsafe fn string(env: sys::napi_env, api: &Api, text: Text) -> napi::Result<sys::napi_value> {
    let mut out = std::ptr::null_mut();
    // Node reports whether it copied the text instead (as it does under
    // V8's sandbox); it has then called the finalizer already. On a failed
    // call the bytes leak rather than risk freeing them twice: it fails only
    // for a text beyond 2^31 characters.
    let mut copied = false;
    match text {
        Text::Latin1(bytes) => {
            let mut bytes = ManuallyDrop::new(bytes);
            let (data, len, cap) = (bytes.as_mut_ptr(), bytes.len(), bytes.capacity());
            // SAFETY: `data` stays valid until `free_latin1` runs.
            check_status!(
                unsafe {
                    (api.latin1)(
                        env,
                        data.cast(),
                        len as isize,
                        Some(free_latin1),
                        cap as *mut c_void,
                        &mut out,
                        &mut copied,
                    )
                },
                "creating a record's string failed"
            )?;
        }
        Text::Utf16(units) => {
            let mut units = ManuallyDrop::new(units);
            let (data, len, cap) = (units.as_mut_ptr(), units.len(), units.capacity());
            // SAFETY: as above, until `free_utf16` runs.
            check_status!(
                unsafe {
                    (api.utf16)(env, data, len as isize, Some(free_utf16), cap as *mut c_void, &mut out, &mut copied)
                },
                "creating a record's string failed"
            )?;
        }
    }
    #[cfg(feature = "test-hooks")]
    if !copied {
        MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(out)
}

/// Strings made external so far, for the tests (`__externalStringsForTests`).
#[cfg(feature = "test-hooks")]
static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many record strings were made external so far.
#[cfg(feature = "test-hooks")]
pub fn made() -> usize {
    MADE.load(std::sync::atomic::Ordering::Relaxed)
}
