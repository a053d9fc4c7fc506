//! Checks on the arguments C passes: NULL pointers, lengths, strings.

use std::ffi::{c_char, CStr};
use std::path::Path;

use crate::status::Failure;

/// Refuses a NULL out-pointer.
pub(crate) fn check_out<T>(out: *mut T, name: &str) -> Result<(), Failure> {
    if out.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(())
    }
}

/// # Safety
/// Non-NULL `data` must point to `len` readable bytes that stay unchanged for the call.
pub(crate) unsafe fn bytes<'a>(data: *const u8, len: usize, name: &str) -> Result<&'a [u8], Failure> {
    if data.is_null() {
        return Err(Failure::null(name));
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("{name}: a length below isize::MAX")));
    }
    // SAFETY: checked non-NULL; the caller promised `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// # Safety
/// Non-NULL `data` must point to `len` readable bytes that stay unchanged for the call.
pub(crate) unsafe fn json_text<'a>(data: *const u8, len: usize, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    let data = unsafe { bytes(data, len, name) }?;
    std::str::from_utf8(data).map_err(|_| Failure::invalid(format!("{name}: UTF-8 JSON text")))
}

/// # Safety
/// Non-NULL `s` must point to a NUL-terminated string.
pub(crate) unsafe fn path<'a>(s: *const c_char, name: &str) -> Result<&'a Path, Failure> {
    if s.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: checked non-NULL; the caller promised NUL termination.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    // A Linux path is bytes, not necessarily UTF-8.
    #[cfg(unix)]
    return Ok(Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(bytes)));
    #[cfg(not(unix))]
    std::str::from_utf8(bytes).map(Path::new).map_err(|_| Failure::invalid(format!("{name}: UTF-8 text")))
}

/// # Safety
/// Non-NULL `s` must point to a NUL-terminated string.
pub(crate) unsafe fn text<'a>(s: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: checked non-NULL; the caller promised NUL termination.
    let s = unsafe { CStr::from_ptr(s) };
    s.to_str().map_err(|_| Failure::invalid(format!("{name}: UTF-8 text")))
}

/// # Safety
/// Non-NULL `s` must point to a NUL-terminated string.
pub(crate) unsafe fn optional_text<'a>(s: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if s.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded.
        unsafe { text(s, name) }.map(Some)
    }
}
