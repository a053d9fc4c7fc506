//! Handles: what C holds is a number, never an address.
//!
//! Every object the C API hands out lives in one process-wide table, keyed by
//! a number that is never issued twice. A handle is looked up before use, so a
//! freed handle, a never-issued one, or one of another kind is refused with
//! [`honnin_status::InvalidHandle`](crate::honnin_status) instead of reaching
//! freed memory, even when a new object took the freed one's place.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::status::{honnin_status, Failure};

/// An object behind a handle: its kind in words ("an engine", "a session",
/// ...) and the object. The table knows no object type: each C object's file
/// stores and looks up its own, so no file depends on the others through it.
pub(crate) struct Object {
    kind: &'static str,
    value: Arc<dyn Any + Send + Sync>,
}

impl Object {
    /// `value`, filed under `kind`.
    pub(crate) fn new<T: Any + Send + Sync>(kind: &'static str, value: T) -> Self {
        Self { kind, value: Arc::new(value) }
    }

    /// The object, if it is a `T`.
    pub(crate) fn downcast<T: Any + Send + Sync>(self) -> Option<Arc<T>> {
        self.value.downcast::<T>().ok()
    }

    fn kind(&self) -> &'static str {
        self.kind
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

/// The `T` behind handle `id`, which must be `wanted` (its kind in words).
pub(crate) fn get<T: Any + Send + Sync>(id: u64, wanted: &str) -> Result<Arc<T>, Failure> {
    match table().objects.get(&id) {
        Some(object) if object.kind == wanted => {
            Arc::clone(&object.value).downcast::<T>().map_err(|_| wrong(id, wanted, Some(object)))
        }
        other => Err(wrong(id, wanted, other)),
    }
}

/// Removes the handle if it names an object of the wanted kind, and returns
/// the object so that it drops outside the table's lock (a session's drop
/// wipes its buffers; a call in flight on another thread keeps its own
/// reference until it returns).
pub(crate) fn remove(id: u64, wanted: &str) -> Result<Object, Failure> {
    let mut table = table();
    match table.objects.get(&id) {
        Some(object) if object.kind == wanted => Ok(table.objects.remove(&id).expect("present: just looked up")),
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
