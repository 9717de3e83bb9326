//! ffi.rs - the one call into libelastos: `shim_launch` of src/engine.c, which uses the library's
//! public API (el_launch_prepare, el_launch_run) and is compiled against include/elastos/, so
//! no libelastos struct is declared twice. `ShimRequest` mirrors engine.c's `shim_request`.

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::atomic::AtomicI32;

#[repr(C)]
struct ShimRequest {
    artifact: *const u8,
    artifact_len: usize,
    expect_cid: *const c_char,
    grants: *const *const c_char,
    n_grants: usize,
    args: *const *const c_char,
    n_args: usize,
    memory_mb: u32,
    cpu_ms: u64,
    wall_ms: u64,
    task: *const c_char,
    stop: *const c_int,
}

extern "C" {
    fn shim_launch(q: *const ShimRequest, msg: *mut c_char, cap: usize) -> c_int;
}

/// Limits that narrow the manifest's (0: keep the manifest's).
#[derive(Default, Clone, Copy)]
pub struct Limits {
    pub memory_mb: u32,
    pub cpu_ms: u64,
    pub wall_ms: u64,
}

pub struct Launch<'a> {
    pub artifact: &'a [u8],
    pub expect_cid: &'a str,
    pub grants: &'a [String],
    pub args: &'a [String],
    pub limits: Limits,
    pub task: &'a str,
    pub stop: &'a AtomicI32,
}

/// C strings of v, and the pointer array over them (both must outlive the call).
fn c_strings(v: &[String]) -> Option<(Vec<CString>, Vec<*const c_char>)> {
    let owned: Vec<CString> = v.iter().map(|s| CString::new(s.as_str())).collect::<Result<_, _>>().ok()?;
    let ptrs = owned.iter().map(|c| c.as_ptr()).collect();
    Some((owned, ptrs))
}

/// Runs the capsule; returns the task's exit status. A reason (refusal, kill) goes to stderr,
/// one line starting "elastos: ", which is the task's stderr and so reaches containerd.
pub fn launch(l: &Launch) -> i32 {
    let (Ok(cid), Ok(task), Some((_g, grants)), Some((_a, args))) =
        (CString::new(l.expect_cid), CString::new(l.task), c_strings(l.grants), c_strings(l.args))
    else {
        eprintln!("elastos: an annotation or argument holds a NUL byte");
        return 64;
    };
    let q = ShimRequest {
        artifact: l.artifact.as_ptr(),
        artifact_len: l.artifact.len(),
        expect_cid: cid.as_ptr(),
        grants: grants.as_ptr(),
        n_grants: grants.len(),
        args: args.as_ptr(),
        n_args: args.len(),
        memory_mb: l.limits.memory_mb,
        cpu_ms: l.limits.cpu_ms,
        wall_ms: l.limits.wall_ms,
        task: task.as_ptr(),
        // AtomicI32 has the layout of i32; the library only reads it (a volatile int).
        stop: l.stop.as_ptr() as *const c_int,
    };
    let mut msg = vec![0 as c_char; 1200];
    let code = unsafe { shim_launch(&q, msg.as_mut_ptr(), msg.len()) };
    let text = unsafe { CStr::from_ptr(msg.as_ptr()) }.to_string_lossy();
    if !text.is_empty() {
        eprintln!("elastos: {text}");
    }
    code
}
