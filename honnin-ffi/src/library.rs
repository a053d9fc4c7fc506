//! The library as a whole: its version, the texts of codes, the handle
//! count, the thread's last error detail, and process hardening.

use std::ffi::c_char;

use crate::args::check_out;
use crate::status::{self, guard, honnin_status};
use crate::{handles, outcome, session};

/// The library version, a static NUL-terminated string ("0.3.0").
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn honnin_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A fixed English description of a status code, static and NUL-terminated
/// (never NULL; "unknown status code" for a number with no meaning).
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn honnin_status_text(status: u32) -> *const c_char {
    status::status_text(status).as_ptr()
}

/// The stable text code of a `honnin_reason` ("no_face_live", ...), as audit
/// records write it; static, NUL-terminated, never NULL ("other" for an
/// unknown number).
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn honnin_reason_code(reason: u32) -> *const c_char {
    outcome::reason_code(reason).as_ptr()
}

/// The stable text code of a `honnin_guidance` ("move_closer", ...); static,
/// NUL-terminated, never NULL ("none" for 0, "other" for an unknown number).
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn honnin_guidance_code(guidance: u32) -> *const c_char {
    session::guidance_code(guidance).as_ptr()
}

/// Writes the number of live handles of every kind (engines, sessions,
/// display photos) to `*count`: 0 once a program has freed all it made, the
/// check for handle leaks that a memory checker cannot see (the handle table
/// keeps freed-to-be objects reachable).
///
/// Thread safety: callable from any thread; the count is a snapshot.
///
/// # Safety
/// `count` must point to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn honnin_live_handles(count: *mut usize) -> honnin_status {
    guard(|| {
        check_out(count, "count")?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *count = handles::live() };
        Ok(())
    })
}

/// Copies the detail of the calling thread's last failed call into `buf` as
/// `snprintf` does: as much as fits in `len` bytes, always NUL-terminated,
/// and writes the full length, without the NUL, to `*written` (so a length
/// of `len` or more means the text was cut short). An empty text when no call has
/// failed on this thread. A failing call of this function does not replace
/// the detail.
///
/// Thread safety: callable from any thread; each thread has its own detail.
///
/// # Safety
/// `buf` must point to `len` writable bytes and `written` to a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn honnin_last_error_detail(buf: *mut c_char, len: usize, written: *mut usize) -> honnin_status {
    // Not through `guard`: its own failure must not overwrite the detail asked for.
    // SAFETY: forwarded from the caller.
    std::panic::catch_unwind(|| match unsafe { status::last_error_detail(buf, len, written) } {
        Ok(()) => honnin_status::Ok,
        Err(failure) => failure.status,
    })
    .unwrap_or(honnin_status::Panic)
}

/// Whether one process-hardening measure took effect.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_measure {
    /// Not asked for.
    Off = 0,
    /// In effect.
    Applied = 1,
    /// Tried and refused by the system (`honnin_last_error_detail` does not
    /// apply: the call itself succeeded).
    Failed = 2,
    /// Not available on this platform.
    Unsupported = 3,
}

/// What `honnin_harden_process` achieved.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct honnin_hardening {
    /// No core dumps, and no ptrace or /proc/<pid>/mem access by other
    /// processes of the same user.
    pub no_core_dumps: honnin_measure,
    /// glibc overwrites every freed heap block (ONNX Runtime's feature maps
    /// included); about 47 % slower verification.
    pub wipe_freed_heap: honnin_measure,
    /// honnin's biometric buffers are locked in RAM (never swapped) as they
    /// are made, as far as RLIMIT_MEMLOCK allows.
    pub lock_biometric_buffers: honnin_measure,
}

fn measure(status: &honnin::hardening::Status) -> honnin_measure {
    use honnin::hardening::Status;
    match status {
        Status::Applied => honnin_measure::Applied,
        Status::Failed(_) => honnin_measure::Failed,
        Status::Unsupported => honnin_measure::Unsupported,
        Status::Off => honnin_measure::Off,
    }
}

/// Hardens the whole process for biometric data, as the honnin CLI does at
/// start-up: no core dumps, honnin's biometric buffers locked in RAM as they
/// are made (a buffer the system refuses to lock, over RLIMIT_MEMLOCK, stays
/// unlocked), and, when `wipe_freed_heap` is non-zero, every freed heap
/// block overwritten. Writes
/// what took effect to `*out`; a measure the system refuses is reported
/// there, not as a failure (a terminal that cannot lock memory should still
/// serve the person at the counter). Call it once, first thing, before other
/// threads start and before building an engine.
///
/// Thread safety: call it before other threads start; it changes
/// process-wide settings.
///
/// # Safety
/// `out` must point to a writable `honnin_hardening`.
#[no_mangle]
pub unsafe extern "C" fn honnin_harden_process(wipe_freed_heap: u32, out: *mut honnin_hardening) -> honnin_status {
    guard(|| {
        check_out(out, "out")?;
        let options =
            honnin::hardening::HardeningOptions { wipe_freed_heap: wipe_freed_heap != 0, ..Default::default() };
        let report = honnin::hardening::harden_process_with(options);
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe {
            *out = honnin_hardening {
                no_core_dumps: measure(&report.no_core_dumps),
                wipe_freed_heap: measure(&report.wipe_freed_heap),
                lock_biometric_buffers: measure(&report.lock_biometric_buffers),
            }
        };
        Ok(())
    })
}
