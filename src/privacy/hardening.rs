//! Process hardening: no core dumps, freed heap memory overwritten, biometric
//! buffers locked in RAM.
//!
//! The `honnin` CLI calls [`harden_process`] before it reads any input; an
//! application embedding the library calls it once at start-up. Every measure
//! fails soft: what could not be applied is reported in [`HardeningReport`],
//! never turned into an error, because a terminal that cannot lock memory
//! should still let the person at the counter be checked.
//!
//! This is the only module of the library with `unsafe` code: libc calls
//! (`prctl`, `setrlimit`, `mallopt`, `sysconf`, `mlock`/`munlock`), each with
//! its safety argument beside it.

#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;

#[cfg(not(target_os = "linux"))]
use zeroize::Zeroize;

use serde::Serialize;

/// Whether one hardening measure took effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum Status {
    /// In effect.
    Applied,
    /// Tried and refused by the system (the text says why).
    Failed(String),
    /// Not available on this platform.
    Unsupported,
    /// Not asked for.
    Off,
}

impl Status {
    /// True when the measure is in effect.
    pub fn is_applied(&self) -> bool {
        matches!(self, Status::Applied)
    }
}

/// What [`harden_process`] achieved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HardeningReport {
    /// `PR_SET_DUMPABLE 0` and a zero core-file size limit: a crash writes no
    /// core file holding face data, and other processes of the same user can
    /// no longer attach to this one or read `/proc/<pid>/mem`.
    pub no_core_dumps: Status,
    /// glibc's allocator overwrites memory freed by anyone in the process,
    /// ONNX Runtime included (see [`HardeningOptions::wipe_freed_heap`]).
    pub wipe_freed_heap: Status,
    /// Biometric buffers are locked in RAM as they are created (see [`memory_lock_status`]).
    pub lock_biometric_buffers: Status,
}

/// Which measures [`harden_process_with`] applies. The default is every
/// measure but `wipe_freed_heap`, which makes a verification about 47 % slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardeningOptions {
    /// Disable core dumps and ptrace attachment by same-user processes.
    pub no_core_dumps: bool,
    /// Set glibc's `M_PERTURB`, so that `free` overwrites every freed heap
    /// block, whoever allocated it: ONNX Runtime's feature maps and the image
    /// decoders' scratch buffers included. Blocks glibc keeps in its
    /// per-thread cache (up to about 1 KiB) are exempt; blocks above the mmap
    /// threshold are unmapped, and the kernel zeroes pages before reuse.
    /// honnin's own buffers are wiped regardless.
    ///
    /// Off by default: glibc also fills every new block, and ONNX Runtime,
    /// with its arena off, allocates and frees its feature maps on every run,
    /// so this adds about 47 % to a verification (23.3 to 34.3 ms for a
    /// 640x640 frame on a 2-core x86-64; `cargo bench --bench verify -- privacy_cost`).
    /// Turn it on where ONNX Runtime's freed feature maps must not survive in
    /// the heap of a long-running process.
    pub wipe_freed_heap: bool,
    /// `mlock` every biometric buffer honnin allocates, so that it is never
    /// written to swap; a refusal (the `RLIMIT_MEMLOCK` limit) leaves that
    /// buffer unlocked and is counted.
    pub lock_biometric_buffers: bool,
}

impl Default for HardeningOptions {
    fn default() -> Self {
        Self { no_core_dumps: true, wipe_freed_heap: false, lock_biometric_buffers: true }
    }
}

impl HardeningOptions {
    /// Every measure off (what [`harden_process_with`] then does is nothing).
    pub const NONE: HardeningOptions =
        HardeningOptions { no_core_dumps: false, wipe_freed_heap: false, lock_biometric_buffers: false };
}

/// Applies the default hardening measures ([`HardeningOptions::default`]) to
/// the whole process; see [`HardeningReport`].
///
/// Call it early, before other threads start and before building the
/// [`Engine`](crate::Engine): buffers are locked as they are created, and the
/// engine creates its input tensors once. Calling it again is harmless.
pub fn harden_process() -> HardeningReport {
    harden_process_with(HardeningOptions::default())
}

/// Applies the chosen measures. A measure that is off is left as it was (a
/// measure applied earlier is not undone, except memory locking and freed-heap
/// wiping, which follow the options).
pub fn harden_process_with(options: HardeningOptions) -> HardeningReport {
    let no_core_dumps = if options.no_core_dumps { sys::no_core_dumps() } else { Status::Off };
    let wipe_freed_heap = sys::wipe_freed_heap(options.wipe_freed_heap);
    WIPING.store(wipe_freed_heap.is_applied(), Ordering::SeqCst);
    let lock_biometric_buffers = if options.lock_biometric_buffers {
        if sys::MLOCK_SUPPORTED {
            LOCKING.store(true, Ordering::SeqCst);
            Status::Applied
        } else {
            Status::Unsupported
        }
    } else {
        LOCKING.store(false, Ordering::SeqCst);
        Status::Off
    };
    HardeningReport { no_core_dumps, wipe_freed_heap, lock_biometric_buffers }
}

/// Counters of biometric-buffer locking since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryLockStatus {
    /// Whether buffers are being locked now.
    pub enabled: bool,
    /// Buffers locked.
    pub locked: u64,
    /// Buffers the system refused to lock (they stayed in pageable memory).
    pub refused: u64,
    /// `errno` of the last refusal (`ENOMEM`: over `RLIMIT_MEMLOCK`; `EPERM`: not allowed), 0 if none.
    pub last_errno: i32,
}

/// How biometric-buffer locking has fared so far.
pub fn memory_lock_status() -> MemoryLockStatus {
    MemoryLockStatus {
        enabled: LOCKING.load(Ordering::SeqCst),
        locked: LOCKED.load(Ordering::Relaxed),
        refused: REFUSED.load(Ordering::Relaxed),
        last_errno: LAST_ERRNO.load(Ordering::Relaxed),
    }
}

/// Numbers whose all-zero bit pattern is a valid value (zero), so that a
/// buffer of them can be wiped as bytes.
pub(crate) trait Plain: zeroize::DefaultIsZeroes {}
impl Plain for u8 {}
impl Plain for f32 {}

/// Zeroes `values` at memset speed in a way the compiler may not remove
/// (`explicit_bzero`). zeroize's element-by-element volatile writes run at
/// about a quarter of that speed, which on a 640x640 frame's buffers (7 MB per
/// verification) would cost several percent of the whole verification.
pub(crate) fn wipe<T: Plain>(values: &mut [T]) {
    #[cfg(target_os = "linux")]
    {
        let bytes = std::mem::size_of_val(values);
        sys::wipe(values.as_mut_ptr().cast(), bytes);
    }
    #[cfg(not(target_os = "linux"))]
    values.zeroize();
}

/// Zeroes `bytes` the way honnin wipes its own buffers (`explicit_bzero`).
///
/// For integrators' own copies of biometric data, such as the camera driver's
/// frame buffers once a [`LiveFrame`](crate::LiveFrame) has been made from them.
pub fn wipe_bytes(bytes: &mut [u8]) {
    wipe(bytes);
}

/// Zeroes a vector's whole allocation, spare capacity included, and empties it.
pub(crate) fn wipe_vec<T: Plain>(values: &mut Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        let bytes = values.capacity() * std::mem::size_of::<T>();
        values.clear();
        sys::wipe(values.as_mut_ptr().cast(), bytes);
    }
    // zeroize's Vec impl zeroes the spare capacity too.
    #[cfg(not(target_os = "linux"))]
    values.zeroize();
}

/// The status of a measure this platform lacks.
#[allow(dead_code)] // used only where a measure is missing
fn unavailable(asked: bool) -> Status {
    if asked {
        Status::Unsupported
    } else {
        Status::Off
    }
}

static LOCKING: AtomicBool = AtomicBool::new(false);
/// Whether the process asked glibc to overwrite every freed block.
static WIPING: AtomicBool = AtomicBool::new(false);
/// Decodes running under [`scrubbed`] now, and whether they turned the wipe
/// on (it stays on while any runs).
static SCRUBBING: Mutex<(u32, bool)> = Mutex::new((0, false));

/// Runs `work` (a third-party decoder given card bytes) on a thread of its
/// own while glibc overwrites freed blocks, so that the scratch copies the
/// decoder makes and frees are wiped: when the thread ends, glibc returns the
/// small blocks it cached for that thread to the heap, overwriting them too.
/// Blocks the decoder never frees are not its to wipe. Elsewhere (no glibc)
/// the work runs on a thread all the same. A panic in `work` is resumed here.
pub(crate) fn scrubbed<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    {
        let mut state = SCRUBBING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.0 += 1;
        if !state.1 && !WIPING.load(Ordering::SeqCst) {
            state.1 = sys::wipe_freed_heap(true).is_applied();
        }
    }
    let result = std::thread::scope(|scope| scope.spawn(work).join());
    {
        let mut state = SCRUBBING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.0 -= 1;
        // The last decode out turns off what the decodes turned on (never
        // what the process asked for with `harden_process_with`).
        if state.0 == 0 && state.1 {
            if !WIPING.load(Ordering::SeqCst) {
                let _ = sys::wipe_freed_heap(false);
            }
            state.1 = false;
        }
    }
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
static LOCKED: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static LAST_ERRNO: AtomicI32 = AtomicI32::new(0);

/// How many live locked buffers touch each locked page (by page address).
/// `mlock` does not count, so a page two buffers share is unlocked only when
/// the last of them goes; without the count, a small buffer (a template) that
/// never covers a whole page could either unlock its neighbour's page early or
/// leave its page locked for ever, creeping towards `RLIMIT_MEMLOCK`.
static LOCKED_PAGES: Mutex<BTreeMap<usize, u32>> = Mutex::new(BTreeMap::new());

fn locked_pages() -> std::sync::MutexGuard<'static, BTreeMap<usize, u32>> {
    // The map stays consistent across a panic: each update is one insert or remove.
    LOCKED_PAGES.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The page-aligned span `[first, end)` covering `bytes` bytes at `addr`.
fn page_span(addr: usize, bytes: usize, page: usize) -> (usize, usize) {
    (addr / page * page, addr.saturating_add(bytes).div_ceil(page) * page)
}

/// Locks the pages holding `bytes` bytes at `addr` when locking is on; true if
/// they are now locked (the caller then unlocks them with [`unlock`]).
pub(crate) fn lock(addr: *const u8, bytes: usize) -> bool {
    if bytes == 0 || !LOCKING.load(Ordering::Relaxed) {
        return false;
    }
    let page = sys::page_size();
    let (first, end) = page_span(addr as usize, bytes, page);
    let mut pages = locked_pages();
    match sys::mlock(first as *const u8, end - first) {
        Ok(()) => {
            for p in (first..end).step_by(page) {
                *pages.entry(p).or_insert(0) += 1;
            }
            LOCKED.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(errno) => {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            LAST_ERRNO.store(errno, Ordering::Relaxed);
            false
        }
    }
}

/// Releases a region [`lock`] locked: each of its pages that no other live
/// locked buffer touches is unlocked, in contiguous runs.
pub(crate) fn unlock(addr: *const u8, bytes: usize) {
    let page = sys::page_size();
    let (first, end) = page_span(addr as usize, bytes, page);
    let mut pages = locked_pages();
    for (start, len) in release(&mut pages, first, end, page) {
        sys::munlock(start as *const u8, len);
    }
}

/// Counts the pages of `[first, end)` down and returns the runs `(start,
/// length)` whose count reached zero (removed from `pages`).
fn release(pages: &mut BTreeMap<usize, u32>, first: usize, end: usize, page: usize) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut run: Option<usize> = None;
    for p in (first..end).step_by(page) {
        let last_user = match pages.get_mut(&p) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                pages.remove(&p);
                true
            }
            None => false,
        };
        match (last_user, run) {
            (true, None) => run = Some(p),
            (false, Some(start)) => {
                runs.push((start, p - start));
                run = None;
            }
            _ => {}
        }
    }
    if let Some(start) = run {
        runs.push((start, end - start));
    }
    runs
}

#[cfg(target_os = "linux")]
mod sys {
    use super::Status;

    pub(super) const MLOCK_SUPPORTED: bool = true;

    fn errno_text() -> String {
        std::io::Error::last_os_error().to_string()
    }

    pub(super) fn no_core_dumps() -> Status {
        // SAFETY: PR_SET_DUMPABLE takes an integer argument and touches no memory of ours.
        let dumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        if dumpable != 0 {
            return Status::Failed(format!("prctl(PR_SET_DUMPABLE, 0): {}", errno_text()));
        }
        let zero = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: `zero` is a valid rlimit that outlives the call, which only reads it.
        let limited = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
        if limited != 0 {
            return Status::Failed(format!("setrlimit(RLIMIT_CORE, 0): {}", errno_text()));
        }
        Status::Applied
    }

    /// Byte written over freed heap blocks (glibc also fills new blocks with
    /// its complement, which honnin's zero-initialised buffers overwrite).
    #[cfg(target_env = "gnu")]
    const PERTURB_BYTE: libc::c_int = 0xA5;

    #[cfg(target_env = "gnu")]
    pub(super) fn wipe_freed_heap(on: bool) -> Status {
        // SAFETY: mallopt only sets an allocator parameter, which glibc allows
        // to change at any time (blocks already allocated are unaffected).
        let perturb = unsafe { libc::mallopt(libc::M_PERTURB, if on { PERTURB_BYTE } else { 0 }) };
        match (on, perturb) {
            (false, _) => Status::Off,
            (true, 1) => Status::Applied,
            (true, _) => Status::Failed("mallopt refused M_PERTURB".into()),
        }
    }

    #[cfg(not(target_env = "gnu"))]
    pub(super) fn wipe_freed_heap(on: bool) -> Status {
        super::unavailable(on)
    }

    pub(super) fn page_size() -> usize {
        // SAFETY: sysconf reads a system constant.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
    }

    pub(super) fn mlock(addr: *const u8, bytes: usize) -> Result<(), i32> {
        // SAFETY: mlock neither reads nor writes the memory; it pins the pages
        // of a region the caller owns for as long as the caller holds it.
        let rc = unsafe { libc::mlock(addr.cast(), bytes) };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        }
    }

    pub(super) fn munlock(addr: *const u8, bytes: usize) {
        // SAFETY: as for mlock; unlocking pages of our own live allocation.
        // A failure leaves the pages locked, which is harmless.
        let _ = unsafe { libc::munlock(addr.cast(), bytes) };
    }

    /// `bytes` zero bytes at `addr`, which the caller owns exclusively and
    /// which holds only [`super::Plain`] values (or is spare capacity).
    pub(super) fn wipe(addr: *mut u8, bytes: usize) {
        if bytes > 0 {
            // SAFETY: the region is one live allocation the caller borrows
            // mutably; all-zero bytes are a valid value of every Plain type.
            unsafe { libc::explicit_bzero(addr.cast(), bytes) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use super::Status;

    pub(super) const MLOCK_SUPPORTED: bool = false;

    pub(super) fn no_core_dumps() -> Status {
        Status::Unsupported
    }

    pub(super) fn wipe_freed_heap(on: bool) -> Status {
        super::unavailable(on)
    }

    pub(super) fn page_size() -> usize {
        4096
    }

    pub(super) fn mlock(_addr: *const u8, _bytes: usize) -> Result<(), i32> {
        Err(0)
    }

    pub(super) fn munlock(_addr: *const u8, _bytes: usize) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_spans_cover_partial_pages() {
        assert_eq!(page_span(4096 + 12, 8, 4096), (4096, 8192));
        assert_eq!(page_span(4000, 200, 4096), (0, 8192));
        assert_eq!(page_span(8192, 4096, 4096), (8192, 12288));
    }

    #[test]
    fn a_shared_page_is_released_by_its_last_buffer_only() {
        let page = 4096;
        let mut pages = BTreeMap::new();
        let mut take = |first: usize, end: usize| {
            for p in (first..end).step_by(page) {
                *pages.entry(p).or_insert(0) += 1;
            }
        };
        // A: pages 0..3; B: page 2 only (a small buffer sharing A's last page).
        take(0, 3 * page);
        take(2 * page, 3 * page);
        assert_eq!(release(&mut pages, 0, 3 * page, page), vec![(0, 2 * page)]);
        assert_eq!(release(&mut pages, 2 * page, 3 * page, page), vec![(2 * page, page)]);
        assert!(pages.is_empty());
        // Releasing pages never taken unlocks nothing.
        assert_eq!(release(&mut pages, 0, page, page), vec![]);
    }
}
