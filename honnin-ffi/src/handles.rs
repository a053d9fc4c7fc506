//! Handles: what C holds is a number, never an address.
//!
//! Every object the C API hands out lives in one process-wide table, keyed by
//! a number that is never issued twice. A handle is looked up before use, so a
//! freed handle, a never-issued one, or one of another kind is refused with
//! [`honnin_status::InvalidHandle`](crate::honnin_status) instead of reaching
//! freed memory, even when a new object took the freed one's place.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::status::{honnin_status, Failure};

/// An object behind a handle.
pub(crate) enum Object {
    Engine(Arc<honnin::Engine>),
    Session(Arc<Mutex<crate::session::SessionBox>>),
    Photo(Arc<honnin::counter::DisplayPhoto>),
    AuditLog(Arc<Mutex<crate::audit_log::AuditLogBox>>),
}

impl Object {
    fn kind(&self) -> &'static str {
        match self {
            Object::Engine(_) => "an engine",
            Object::Session(_) => "a session",
            Object::Photo(_) => "a display photo",
            Object::AuditLog(_) => "an audit log",
        }
    }
}

/// The handle number C passes as `handle`.
pub(crate) fn id<T>(handle: *const T) -> u64 {
    handle as usize as u64
}

struct Table {
    /// The next handle number; 0 is never issued (it reads as NULL in C).
    next: u64,
    objects: BTreeMap<u64, Object>,
}

static TABLE: Mutex<Table> = Mutex::new(Table { next: 1, objects: BTreeMap::new() });

fn table() -> MutexGuard<'static, Table> {
    // No code panics while holding the lock (map operations only), but a
    // poisoned lock must not turn every later call into a panic.
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stores an object and returns its handle number (never 0, never reused in
/// the process's life on a 64-bit target; a 32-bit target passes handles
/// through 32-bit pointers, so there they repeat after 2^32 objects).
fn insert(object: Object) -> u64 {
    let mut table = table();
    let id = table.next;
    // 2^64 handles cannot be issued in a process's life; saturate rather than wrap.
    table.next = table.next.saturating_add(1);
    table.objects.insert(id, object);
    id
}

/// Stores an object as [`insert`] does and writes its handle to `*out`,
/// as the pointer C holds; returns the handle number.
///
/// # Safety
/// `out` must be non-NULL and point to writable storage for one pointer.
pub(crate) unsafe fn issue<T>(out: *mut *mut T, object: Object) -> u64 {
    let id = insert(object);
    // SAFETY: as the function's contract says.
    unsafe { *out = id as usize as *mut T };
    id
}

fn wrong(id: u64, wanted: &str, found: Option<&Object>) -> Failure {
    let detail = match found {
        Some(other) => format!("handle {id} is {}, not {wanted}", other.kind()),
        None if id == 0 => return Failure::null("the handle"),
        None => format!("handle {id} is not {wanted} in use (freed, or never issued)"),
    };
    Failure::new(honnin_status::InvalidHandle, detail)
}

pub(crate) fn engine(id: u64) -> Result<Arc<honnin::Engine>, Failure> {
    match table().objects.get(&id) {
        Some(Object::Engine(e)) => Ok(Arc::clone(e)),
        other => Err(wrong(id, "an engine", other)),
    }
}

pub(crate) fn session(id: u64) -> Result<Arc<Mutex<crate::session::SessionBox>>, Failure> {
    match table().objects.get(&id) {
        Some(Object::Session(s)) => Ok(Arc::clone(s)),
        other => Err(wrong(id, "a session", other)),
    }
}

pub(crate) fn photo(id: u64) -> Result<Arc<honnin::counter::DisplayPhoto>, Failure> {
    match table().objects.get(&id) {
        Some(Object::Photo(p)) => Ok(Arc::clone(p)),
        other => Err(wrong(id, "a display photo", other)),
    }
}

pub(crate) fn audit_log(id: u64) -> Result<Arc<Mutex<crate::audit_log::AuditLogBox>>, Failure> {
    match table().objects.get(&id) {
        Some(Object::AuditLog(l)) => Ok(Arc::clone(l)),
        other => Err(wrong(id, "an audit log", other)),
    }
}

/// Removes the handle if it names an object of the wanted kind, and returns
/// the object so that it drops outside the table's lock (a session's drop
/// wipes its buffers; a call in flight on another thread keeps its own
/// reference until it returns).
pub(crate) fn remove(id: u64, wanted: &str, is_kind: fn(&Object) -> bool) -> Result<Object, Failure> {
    let mut table = table();
    match table.objects.get(&id) {
        Some(object) if is_kind(object) => Ok(table.objects.remove(&id).expect("present: just looked up")),
        other => Err(wrong(id, wanted, other)),
    }
}

/// Removes these handles if they are still in the table (the objects drop,
/// and so are wiped, outside the lock).
pub(crate) fn remove_all(ids: &[u64]) {
    let removed: Vec<Object> = {
        let mut table = table();
        ids.iter().filter_map(|id| table.objects.remove(id)).collect()
    };
    drop(removed);
}

/// How many handles are live, of every kind.
pub(crate) fn live() -> usize {
    table().objects.len()
}
