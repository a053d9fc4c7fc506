//! An audit log behind one C handle: opening it, a session's record, closing it.

use std::ffi::c_char;
use std::sync::{Mutex, PoisonError};

use honnin::audit::{check_audit_id, Abandoned, AuditLog, AuditRecord};

use crate::args::{check_out, optional_text};
use crate::handles::{self, id, issue, Object};
use crate::session::{honnin_session, lock};
use crate::status::{guard, honnin_status, Failure};

/// An append-only, hash-chained audit log. Opaque; a handle, never dereferenced.
pub struct honnin_audit_log {
    _private: [u8; 0],
}

/// An audit log and the identifiers every record it takes carries.
pub(crate) struct AuditLogBox {
    log: AuditLog,
    terminal_id: Option<String>,
    operator_id: Option<String>,
}

/// How a session ended without a decision, for its audit record
/// (`honnin_session_audit`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_session_end {
    /// The person or staff ended it.
    Quit = 1,
    /// Nobody answered in time.
    Timeout = 2,
    /// The terminal application was told to stop.
    Signal = 3,
    /// An error ended it.
    Fault = 4,
}

/// The reason a `HONNIN_SESSION_END_*` value names.
fn parse_end(end: u32) -> Result<Abandoned, Failure> {
    match end {
        1 => Ok(Abandoned::Quit),
        2 => Ok(Abandoned::Timeout),
        3 => Ok(Abandoned::Signal),
        4 => Ok(Abandoned::Fault),
        _ => Err(Failure::invalid(format!("a session end from 1 to 4 (HONNIN_SESSION_END_*), got {end}"))),
    }
}

/// An audit log handle's kind, in words.
const AUDIT_LOG: &str = "an audit log";

/// Opens (or creates) the audit log at `path` and its head file
/// (`path` + ".head"), both with mode 0600, and writes a new handle to
/// `*out`. Every record written through it carries `terminal_id` and
/// `operator_id` (NULL for none; otherwise 1 to 64 letters, digits,
/// punctuation marks or inner spaces). A log that group or others may read or
/// write, a symbolic link, or a log whose end does not check out (a torn last
/// line, a removed or changed record, a head file that disagrees) is refused
/// with `HONNIN_STATUS_AUDIT`: have it examined (`honnin audit verify`) and
/// start a new one. Open it before a sandbox forbids opening files for writing.
///
/// Thread safety: callable from any thread.
///
/// # Safety
/// `path` must be a NUL-terminated string; `terminal_id` and `operator_id`
/// NULL or NUL-terminated UTF-8; `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_audit_log_open(
    path: *const c_char,
    terminal_id: *const c_char,
    operator_id: *const c_char,
    out: *mut *mut honnin_audit_log,
) -> honnin_status {
    guard(|| {
        // SAFETY: the caller promised NUL-terminated strings.
        let path = unsafe { crate::args::path(path, "path") }?;
        // SAFETY: as above.
        let terminal_id = unsafe { optional_text(terminal_id, "terminal_id") }?;
        // SAFETY: as above.
        let operator_id = unsafe { optional_text(operator_id, "operator_id") }?;
        check_out(out, "out")?;
        for id in [terminal_id, operator_id].into_iter().flatten() {
            check_audit_id(id)?;
        }
        let log = AuditLog::open(path)?;
        let log = AuditLogBox {
            log,
            terminal_id: terminal_id.map(str::to_string),
            operator_id: operator_id.map(str::to_string),
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { issue(out, Object::new(AUDIT_LOG, Mutex::new(log))) };
        Ok(())
    })
}

/// Appends the session's audit record to `log` and writes its sequence
/// number in the log to `*seq`; returns once the record is on disk, so
/// report the decision after this. The record holds the path to the
/// decision (the methods chosen, each attempt's decision and PAD verdict, the
/// fallback), the decision, and no biometric data. A session without a
/// decision is recorded as abandoned, for the reason `if_undecided` gives (a
/// `HONNIN_SESSION_END_*` value, checked even when the session has decided).
/// Call it once per session, abandoned ones included; a second call gives
/// `HONNIN_STATUS_INVALID_ARGUMENT`.
///
/// Thread safety: callable from any thread; calls on one log, or one
/// session, wait for each other.
///
/// # Safety
/// `session` and `log` must be handles (any value is checked); `seq` must
/// point to a writable `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_audit(
    session: *mut honnin_session,
    log: *mut honnin_audit_log,
    if_undecided: u32,
    seq: *mut u64,
) -> honnin_status {
    guard(|| {
        let session = crate::session::lookup(id(session))?;
        let log = handles::get::<Mutex<AuditLogBox>>(id(log), AUDIT_LOG)?;
        check_out(seq, "seq")?;
        let end = parse_end(if_undecided)?;
        let mut session = lock(&session)?;
        if session.audited {
            return Err(Failure::invalid("a session whose audit record was not written yet (once per session)"));
        }
        let mut log = log.lock().map_err(|_: PoisonError<_>| {
            Failure::new(honnin_status::Panic, "this audit log was interrupted by an internal error; free it")
        })?;
        let mut record = AuditRecord::session(session.session(), end)
            .with_ids(log.terminal_id.as_deref(), log.operator_id.as_deref())?;
        let head = log.log.append(&mut record)?;
        session.audited = true;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *seq = head.seq };
        Ok(())
    })
}

/// Closes an audit log; the handle is invalid from now on. Every record
/// written through it is already on disk.
///
/// Thread safety: callable from any thread; a call in flight on another
/// thread with this log completes first.
///
/// # Safety
/// `log` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_audit_log_free(log: *mut honnin_audit_log) -> honnin_status {
    guard(|| {
        drop(handles::remove(id(log), AUDIT_LOG)?);
        Ok(())
    })
}
