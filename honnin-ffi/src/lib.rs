//! The C API of honnin: on-device face verification for counter terminals.
//!
//! The header `include/honnin.h` is generated from this crate by a pinned
//! cbindgen (`tests/header.rs` fails when it is out of date). Conventions,
//! the same for every function:
//!
//! - Every function returns a [`honnin_status`]; `HONNIN_STATUS_OK` (0) is
//!   success. Codes are fixed numbers that never change meaning.
//! - Outputs go through pointer arguments and are written only on success.
//! - Every pointer is checked: NULL gives `HONNIN_STATUS_NULL_ARGUMENT`,
//!   except where a function documents a NULL as a choice (a string option
//!   of `honnin_engine_options`; the PAD calibration of the `_with_pad`
//!   constructors in the modes that take none).
//! - Objects come in `_new`/`_free` pairs. Handles are numbers, not
//!   addresses: a freed or unknown handle gives `HONNIN_STATUS_INVALID_HANDLE`,
//!   even after a new object was created.
//! - A panic inside honnin is caught at the boundary and returned as
//!   `HONNIN_STATUS_PANIC`.
//! - After a failure, `honnin_last_error_detail` gives a text for the
//!   calling thread. Texts never carry image content. The library never
//!   prints: it wraps the process's panic hook so that a panic inside a call
//!   prints nothing (panics elsewhere reach the previous hook).
//! - Buffers the caller passes in are borrowed for the call only, must not
//!   change during it, and are never kept.
//! - The structs are part of the ABI and do not change within a release
//!   series (0.2.x; from 1.0, a major version): a new field would come with
//!   a new struct and new functions. 0.2 added `calibration_sha256` and
//!   `pad_calibration_sha256` to `honnin_engine_options`: rebuild against
//!   this header.
//! - Each function states whether it may be called from several threads at
//!   once.
//!
//! Biometric data does not leave the library except the card photo scaled
//! for the staff's screen (`honnin_session_card_for_display`), which
//! `honnin_display_photo_free` wipes. Card photos, live frames, templates and
//! face crops are wiped inside honnin as soon as a decision is made.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod handles;
mod session;
mod status;

use std::ffi::{c_char, CStr};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use honnin::{
    Calibration, CameraError, CardPhoto, Engine, Error, LiveFrame, ModelBytes, Models, PadCalibration, PadPolicy,
    Policy, SessionConfig, StaffJudgement,
};

use handles::Object;
pub use session::{
    honnin_decision, honnin_fallback, honnin_guidance, honnin_method, honnin_metric, honnin_outcome, honnin_reason,
    honnin_session_end, honnin_session_options, honnin_step, honnin_step_kind,
};
pub use status::honnin_status;
use status::{guard, Failure};

/// An engine: the verified models, ONNX Runtime sessions and the calibrated
/// policy. Opaque; a handle, never dereferenced.
pub struct honnin_engine {
    _private: [u8; 0],
}

/// One person's verification at the counter. Opaque; a handle, never dereferenced.
pub struct honnin_session {
    _private: [u8; 0],
}

/// A card photo scaled for the staff's screen. Opaque; a handle, never dereferenced.
pub struct honnin_display_photo {
    _private: [u8; 0],
}

/// An append-only, hash-chained audit log. Opaque; a handle, never dereferenced.
pub struct honnin_audit_log {
    _private: [u8; 0],
}

/// One model file handed over in memory, named as the manifest's `file` field names it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct honnin_model_file {
    /// The file name, NUL-terminated UTF-8 (for example "yunet_s_dynamic.onnx").
    pub name: *const c_char,
    /// The file's bytes; checked against the manifest's sha256 before use.
    pub data: *const u8,
    /// Length of `data` in bytes.
    pub len: usize,
}

/// How an engine is built; `honnin_engine_options_default` fills in the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct honnin_engine_options {
    /// Path of `libonnxruntime.so.1.31.1`, NUL-terminated; NULL reads the
    /// environment variable HONNIN_ORT_LIB.
    pub onnxruntime_path: *const c_char,
    /// sha256 (hex) the ONNX Runtime library must have. NULL requires the hash
    /// honnin pins for this CPU (the PyPI onnxruntime 1.31.1 build; x86_64 and
    /// aarch64), and fails on a CPU with no pinned hash; "any" skips the check
    /// (for a runtime built in-house).
    pub onnxruntime_sha256: *const c_char,
    /// The false-match rate to decide at; the calibration must have a point
    /// for it. Default 0.0001.
    pub target_fmr: f64,
    /// Intra-op threads per model, at most 64; 0 for the default (CPUs, at most 2).
    pub intra_threads: u32,
    /// Non-zero: average each face's template with its mirror image's
    /// (default 1). The calibration must have been made with the same setting.
    pub mirror_averaging: u32,
    /// sha256 (hex) the face calibration (file or text) must have. NULL
    /// accepts only a calibration honnin ships (pinned in the library);
    /// "any" accepts any calibration (for one made in-house and not yet
    /// pinned: whoever can edit it decides who matches). Every calibration's
    /// plausibility is checked whatever its pin (HONNIN_STATUS_CALIBRATION).
    pub calibration_sha256: *const c_char,
    /// sha256 (hex) a PAD calibration given to a `_with_pad` constructor
    /// (HONNIN_PAD_MODE_CALIBRATED) must have; NULL accepts only the one
    /// honnin ships, "any" any plausible one.
    pub pad_calibration_sha256: *const c_char,
}

/// The presentation-attack detection (PAD) an engine runs, as
/// `honnin_engine_pad` reports it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct honnin_pad_info {
    /// 1: every live image is checked for a presentation attack (a printed
    /// photo, a screen) before its face is compared, and one judged an attack
    /// gives reason HONNIN_REASON_PRESENTATION_ATTACK_SUSPECTED (a session
    /// offers the staff check, fallback
    /// HONNIN_FALLBACK_PRESENTATION_ATTACK_SUSPECTED); 0: PAD is off.
    pub on: u32,
    /// Liveness scores below this are judged attacks (0 when off).
    pub threshold: f32,
    /// The bona fide rejection rate (BPCER) the threshold was calibrated
    /// for (0 when off).
    pub target_bpcer: f64,
}

/// How `honnin_engine_new_with_pad` and `honnin_engine_new_from_memory_with_pad`
/// set up presentation-attack detection.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_pad_mode {
    /// PAD off, for a terminal with its own PAD sensor; the PAD calibration
    /// argument must be NULL.
    Off = 1,
    /// PAD on at the PAD calibration given (not NULL); the PAD models must
    /// be present and be the ones it was made with.
    Calibrated = 2,
    /// PAD on at the calibration built into honnin; the PAD calibration
    /// argument must be NULL, and the PAD models must be present (an engine
    /// that would run without PAD is refused).
    BuiltIn = 3,
}

/// Layout of raw pixels handed to `honnin_session_feed_pixels`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_pixel_format {
    /// 3 bytes per pixel: red, green, blue.
    Rgb8 = 1,
    /// 3 bytes per pixel: blue, green, red.
    Bgr8 = 2,
    /// 1 byte per pixel.
    Grey8 = 3,
    /// 4 bytes per pixel: red, green, blue, unused.
    Rgba8 = 4,
    /// 4 bytes per pixel: blue, green, red, unused.
    Bgra8 = 5,
}

/// Why the frames stopped coming, for `honnin_session_source_stopped`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_source_stop {
    /// The frames ran out (a recording ended, the person left).
    Ended = 0,
    /// The camera is missing or went away.
    CameraMissing = 1,
    /// A frame could not be read.
    CameraRead = 2,
    /// No frame came in time.
    CameraTimeout = 3,
}

/// What the staff member concluded.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_judgement {
    /// The person is the card holder.
    SamePerson = 1,
    /// The person is not the card holder.
    DifferentPerson = 2,
    /// Staff could not tell.
    Unsure = 3,
}

// ---------------------------------------------------------------- helpers

fn id<T>(handle: *const T) -> u64 {
    handle as usize as u64
}

/// # Safety
/// `out` must be non-NULL and point to writable storage for one pointer.
unsafe fn handle_out<T>(out: *mut *mut T, id: u64) {
    // SAFETY: as the function's contract says.
    unsafe { *out = id as usize as *mut T };
}

fn check_out<T>(out: *mut T, name: &str) -> Result<(), Failure> {
    if out.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(())
    }
}

/// # Safety
/// Non-NULL `data` must point to `len` readable bytes that stay unchanged for the call.
unsafe fn bytes<'a>(data: *const u8, len: usize, name: &str) -> Result<&'a [u8], Failure> {
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
/// Non-NULL `s` must point to a NUL-terminated string.
unsafe fn path<'a>(s: *const c_char, name: &str) -> Result<&'a Path, Failure> {
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
unsafe fn text<'a>(s: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if s.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: checked non-NULL; the caller promised NUL termination.
    let s = unsafe { CStr::from_ptr(s) };
    s.to_str().map_err(|_| Failure::invalid(format!("{name}: UTF-8 text")))
}

/// # Safety
/// Non-NULL `s` must point to a NUL-terminated string.
unsafe fn optional_text<'a>(s: *const c_char, name: &str) -> Result<Option<&'a str>, Failure> {
    if s.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded.
        unsafe { text(s, name) }.map(Some)
    }
}

fn lock(session: &Mutex<session::SessionBox>) -> Result<std::sync::MutexGuard<'_, session::SessionBox>, Failure> {
    session.lock().map_err(|_: PoisonError<_>| {
        Failure::new(honnin_status::Panic, "this session was interrupted by an internal error; free it")
    })
}

// ---------------------------------------------------------------- library

/// The library version, a static NUL-terminated string ("0.2.0").
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
    session::reason_code(reason).as_ptr()
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

// ---------------------------------------------------------------- engine

/// Fills `*out` with the default engine options: runtime from HONNIN_ORT_LIB,
/// the pinned runtime hash, target FMR 0.0001, default threads, mirror averaging on.
///
/// Thread safety: callable from any thread at any time.
///
/// # Safety
/// `out` must point to a writable `honnin_engine_options`.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_options_default(out: *mut honnin_engine_options) -> honnin_status {
    guard(|| {
        check_out(out, "out")?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe {
            *out = honnin_engine_options {
                onnxruntime_path: std::ptr::null(),
                onnxruntime_sha256: std::ptr::null(),
                target_fmr: honnin::DEFAULT_TARGET_FMR,
                intra_threads: 0,
                mirror_averaging: 1,
                calibration_sha256: std::ptr::null(),
                pad_calibration_sha256: std::ptr::null(),
            }
        };
        Ok(())
    })
}

/// A pin as `options` give it: NULL (the calibrations honnin ships), "any"
/// or a sha256.
enum PinChoice {
    Shipped,
    Any,
    Sha256(String),
}

/// The pin of `field` in `*options`.
///
/// # Safety
/// `options` must be non-NULL and point to a readable `honnin_engine_options`
/// whose strings are NUL-terminated.
unsafe fn pin_of(field: *const c_char, name: &str) -> Result<PinChoice, Failure> {
    // SAFETY: forwarded from the caller.
    Ok(match unsafe { optional_text(field, name) }? {
        None => PinChoice::Shipped,
        Some("any") => PinChoice::Any,
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => PinChoice::Sha256(hex.into()),
        Some(_) => return Err(Failure::invalid(format!("{name}: a sha256 of 64 hex digits, \"any\" or NULL"))),
    })
}

impl PinChoice {
    /// Reads a calibration from `input` (a path or JSON text) under this
    /// pin: with `shipped` when none was given, `given` for a sha256,
    /// `unpinned` for "any".
    fn load<I: ?Sized, T>(
        &self,
        input: &I,
        shipped: fn(&I) -> honnin::Result<T>,
        given: fn(&I, &str) -> honnin::Result<T>,
        unpinned: fn(&I) -> honnin::Result<T>,
    ) -> Result<T, Failure> {
        Ok(match self {
            PinChoice::Shipped => shipped(input)?,
            PinChoice::Any => unpinned(input)?,
            PinChoice::Sha256(hex) => given(input, hex)?,
        })
    }
}

/// A face calibration file under `pin`.
fn calibration_file(path: &std::path::Path, pin: &PinChoice) -> Result<Calibration, Failure> {
    pin.load(
        path,
        |p| Calibration::from_file(p),
        |p, h| Calibration::from_file_pinned(p, h),
        |p| honnin::danger::unpinned_calibration(p),
    )
}

/// A face calibration's text under `pin`.
fn calibration_text(text: &str, pin: &PinChoice) -> Result<Calibration, Failure> {
    pin.load(text, Calibration::from_json, Calibration::from_json_pinned, honnin::danger::unpinned_calibration_json)
}

/// A PAD calibration file under `pin`.
fn pad_calibration_file(path: &std::path::Path, pin: &PinChoice) -> Result<PadCalibration, Failure> {
    pin.load(
        path,
        |p| PadCalibration::from_file(p),
        |p, h| PadCalibration::from_file_pinned(p, h),
        |p| honnin::danger::unpinned_pad_calibration(p),
    )
}

/// A PAD calibration's text under `pin`.
fn pad_calibration_text(text: &str, pin: &PinChoice) -> Result<PadCalibration, Failure> {
    pin.load(
        text,
        PadCalibration::from_json,
        PadCalibration::from_json_pinned,
        honnin::danger::unpinned_pad_calibration_json,
    )
}

/// The face and PAD calibration pins of `options` (checked non-NULL first).
///
/// # Safety
/// `options` must be NULL or point to a readable `honnin_engine_options`
/// whose strings are NUL-terminated.
unsafe fn pins(options: *const honnin_engine_options) -> Result<(PinChoice, PinChoice), Failure> {
    if options.is_null() {
        return Err(Failure::null("options"));
    }
    // SAFETY: checked non-NULL; the caller promised it is readable.
    let options = unsafe { &*options };
    // SAFETY: the caller promised NUL-terminated strings.
    let face = unsafe { pin_of(options.calibration_sha256, "options.calibration_sha256") }?;
    // SAFETY: as above.
    let pad = unsafe { pin_of(options.pad_calibration_sha256, "options.pad_calibration_sha256") }?;
    Ok((face, pad))
}

/// Which presentation-attack detection an engine is built with.
enum Pad {
    /// On when the manifest's PAD models are present, at the bundled calibration.
    Default,
    /// Off: the terminal has its own PAD, or none is wanted.
    Off,
    /// On at this calibration; the PAD models must be present.
    Calibrated(PadCalibration),
    /// On at the bundled calibration; the PAD models must be present.
    BuiltIn,
}

/// # Safety
/// `options` must be NULL or point to a readable `honnin_engine_options` whose strings are NUL-terminated.
unsafe fn build_engine(
    models: Models,
    calibration: &Calibration,
    pad: Pad,
    options: *const honnin_engine_options,
) -> Result<u64, Failure> {
    if options.is_null() {
        return Err(Failure::null("options"));
    }
    // SAFETY: checked non-NULL; the caller promised it is readable.
    let options = unsafe { *options };
    if !(options.target_fmr > 0.0 && options.target_fmr < 1.0) {
        return Err(Failure::invalid(format!("a target FMR between 0 and 1, got {}", options.target_fmr)));
    }
    let policy = Policy::from_calibration(calibration, options.target_fmr)?;
    let pad = match pad {
        Pad::Default if models.has_pad() => Some(PadCalibration::bundled()?),
        Pad::Default | Pad::Off => None,
        Pad::Calibrated(calibration) => Some(calibration),
        Pad::BuiltIn => Some(PadCalibration::bundled()?),
    };
    let mut builder = Engine::builder(models).mirror_averaging(options.mirror_averaging != 0);
    if let Some(pad) = pad {
        // The engine refuses a PAD calibration made for other models, or
        // one given without PAD models.
        builder = builder.pad(PadPolicy::from_calibration(&pad));
    }
    // SAFETY: the caller promised NUL-terminated strings.
    if let Some(path) = unsafe { optional_text(options.onnxruntime_path, "options.onnxruntime_path") }? {
        builder = builder.onnxruntime(path);
    }
    // SAFETY: as above.
    match unsafe { optional_text(options.onnxruntime_sha256, "options.onnxruntime_sha256") }? {
        Some("any") => {}
        Some(hex) => builder = builder.onnxruntime_sha256(hex),
        None => match honnin::PINNED_ONNXRUNTIME_SHA256 {
            Some(pinned) => builder = builder.onnxruntime_sha256(pinned),
            None => {
                return Err(Failure::new(
                    honnin_status::Runtime,
                    "no onnx runtime hash is pinned for this CPU: give options.onnxruntime_sha256 (or \"any\")",
                ))
            }
        },
    }
    if options.intra_threads as usize > honnin::MAX_INTRA_THREADS {
        return Err(Failure::invalid(format!(
            "at most {} intra-op threads, got {}",
            honnin::MAX_INTRA_THREADS,
            options.intra_threads
        )));
    }
    if options.intra_threads > 0 {
        builder = builder.intra_threads(options.intra_threads as usize);
    }
    let engine = builder.policy(policy).build()?;
    Ok(handles::insert(Object::Engine(Arc::new(engine))))
}

/// Builds an engine from a model directory (holding `manifest.json` and the
/// model files it names; each file's sha256 is checked) and a calibration
/// file, and writes its handle to `*out`. Loads ONNX Runtime on first use:
/// one runtime library per process.
///
/// Presentation-attack detection is on when the PAD models the manifest
/// names are in the directory, at the PAD calibration built into honnin
/// (`calibration/pad-minifasnet.json`, made for the MiniFASNet pair in
/// `models/manifest.json`); without them it is off. Some of them only is
/// refused (HONNIN_STATUS_MANIFEST), and so are PAD models other than the
/// ones the built-in calibration was made for (HONNIN_STATUS_CALIBRATION;
/// use `honnin_engine_new_with_pad` with their calibration). A terminal
/// that relies on honnin's PAD should check `honnin_engine_pad` after
/// building, or use `honnin_engine_new_with_pad` with
/// HONNIN_PAD_MODE_BUILT_IN, which refuses to build an engine without PAD.
///
/// Before loading ONNX Runtime, the first engine sets the environment
/// variable ORT_DISABLE_TELEMETRY=1 unless it is set already (it stops the
/// PyPI build's telemetry client from writing files).
///
/// Thread safety: callable from any thread, but the first engine changes
/// the environment, which races with other threads reading it (getenv,
/// localtime): set ORT_DISABLE_TELEMETRY=1 yourself at start-up, or build the
/// first engine before starting threads. After that, engines may be built
/// concurrently.
///
/// # Safety
/// `model_dir` and `calibration_path` must be NUL-terminated; `options` must
/// point to a readable `honnin_engine_options`; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_new(
    model_dir: *const c_char,
    calibration_path: *const c_char,
    options: *const honnin_engine_options,
    out: *mut *mut honnin_engine,
) -> honnin_status {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { engine_from_dir(model_dir, calibration_path, options, out, || Ok(Pad::Default)) })
}

/// As `honnin_engine_new`, with the presentation-attack detection chosen
/// by `pad_mode` (a `honnin_pad_mode`): HONNIN_PAD_MODE_OFF (then
/// `pad_calibration_path` must be NULL), HONNIN_PAD_MODE_CALIBRATED with
/// `pad_calibration_path` naming a PAD calibration file (as `honnin
/// pad-calibrate` writes it), or HONNIN_PAD_MODE_BUILT_IN (NULL path; the
/// built-in calibration). With PAD on, the PAD models must be in the model
/// directory and be the ones the calibration was made with
/// (HONNIN_STATUS_CALIBRATION otherwise). `pad_calibration_path` is the one
/// pointer whose NULL is not an error, in the modes that take no path.
///
/// Thread safety: as `honnin_engine_new`.
///
/// # Safety
/// `model_dir`, `calibration_path` and a non-NULL `pad_calibration_path`
/// must be NUL-terminated; `options` must point to a readable
/// `honnin_engine_options`; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_new_with_pad(
    model_dir: *const c_char,
    calibration_path: *const c_char,
    pad_mode: u32,
    pad_calibration_path: *const c_char,
    options: *const honnin_engine_options,
    out: *mut *mut honnin_engine,
) -> honnin_status {
    guard(|| {
        let mode = pad_mode_of(pad_mode, !pad_calibration_path.is_null())?;
        let pad = || {
            pad_in_mode(mode, || {
                // SAFETY: non-NULL in this mode (`pad_mode_of`); the caller promised NUL termination.
                let path = unsafe { path(pad_calibration_path, "pad_calibration_path") }?;
                // SAFETY: checked non-NULL before this is called; the caller promised readable options.
                let (_, pin) = unsafe { pins(options) }?;
                pad_calibration_file(path, &pin)
            })
        };
        // SAFETY: forwarded from the caller.
        unsafe { engine_from_dir(model_dir, calibration_path, options, out, pad) }
    })
}

/// The body of both directory constructors: `pad` is asked for once every
/// pointer is checked.
///
/// # Safety
/// As `honnin_engine_new`.
unsafe fn engine_from_dir(
    model_dir: *const c_char,
    calibration_path: *const c_char,
    options: *const honnin_engine_options,
    out: *mut *mut honnin_engine,
    pad: impl FnOnce() -> Result<Pad, Failure>,
) -> Result<(), Failure> {
    // SAFETY: the caller promised NUL-terminated strings.
    let dir = unsafe { path(model_dir, "model_dir") }?;
    // SAFETY: as above.
    let calibration_path = unsafe { path(calibration_path, "calibration_path") }?;
    if options.is_null() {
        return Err(Failure::null("options"));
    }
    check_out(out, "out")?;
    // SAFETY: checked non-NULL above; the caller promised readable options.
    let (pin, _) = unsafe { pins(options) }?;
    let calibration = calibration_file(calibration_path, &pin)?;
    let pad = pad()?;
    // SAFETY: forwarded from the caller.
    let engine = unsafe { build_engine(Models::from_dir(dir)?, &calibration, pad, options) }?;
    // SAFETY: checked non-NULL; the caller promised it is writable.
    unsafe { handle_out(out, engine) };
    Ok(())
}

/// The PAD of `mode`; `read` gives the calibration of HONNIN_PAD_MODE_CALIBRATED.
fn pad_in_mode(mode: honnin_pad_mode, read: impl FnOnce() -> Result<PadCalibration, Failure>) -> Result<Pad, Failure> {
    Ok(match mode {
        honnin_pad_mode::Off => Pad::Off,
        honnin_pad_mode::BuiltIn => Pad::BuiltIn,
        honnin_pad_mode::Calibrated => Pad::Calibrated(read()?),
    })
}

/// The PAD mode `value`, checked against whether a PAD calibration was given.
fn pad_mode_of(value: u32, calibration_given: bool) -> Result<honnin_pad_mode, Failure> {
    let mode = match value {
        1 => honnin_pad_mode::Off,
        2 => honnin_pad_mode::Calibrated,
        3 => honnin_pad_mode::BuiltIn,
        other => return Err(Failure::invalid(format!("a honnin_pad_mode (1, 2 or 3), got {other}"))),
    };
    match (mode, calibration_given) {
        (honnin_pad_mode::Calibrated, false) => Err(Failure::null("pad_calibration (HONNIN_PAD_MODE_CALIBRATED)")),
        (honnin_pad_mode::Off | honnin_pad_mode::BuiltIn, true) => Err(Failure::invalid(format!(
            "no PAD calibration with {mode:?}: it is taken only by HONNIN_PAD_MODE_CALIBRATED"
        ))),
        _ => Ok(mode),
    }
}

/// As `honnin_engine_new`, from bytes the caller holds (models embedded in
/// firmware): the manifest's JSON text, the model files it names (`files`,
/// `n_files` entries; the detector and recognizer the manifest makes active
/// are needed; the PAD models turn PAD on as in `honnin_engine_new`, and
/// some of them only is refused; others are ignored; at most 64 entries) and the calibration's JSON text. Each
/// model's sha256 is checked against the manifest before use. The bytes are
/// copied; the caller may release them when this returns.
///
/// Thread safety: as `honnin_engine_new`.
///
/// # Safety
/// Each pointer and length pair must describe readable memory; `files` must
/// hold `n_files` entries whose names are NUL-terminated; `options` must point
/// to a readable `honnin_engine_options`; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_new_from_memory(
    manifest: *const u8,
    manifest_len: usize,
    files: *const honnin_model_file,
    n_files: usize,
    calibration: *const u8,
    calibration_len: usize,
    options: *const honnin_engine_options,
    out: *mut *mut honnin_engine,
) -> honnin_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        unsafe {
            engine_from_memory(
                manifest,
                manifest_len,
                files,
                n_files,
                calibration,
                calibration_len,
                || Ok(Pad::Default),
                options,
                out,
            )
        }
    })
}

/// As `honnin_engine_new_from_memory`, with the presentation-attack
/// detection chosen as in `honnin_engine_new_with_pad`: with
/// HONNIN_PAD_MODE_CALIBRATED, `pad_calibration` (`pad_calibration_len`
/// bytes) is a PAD calibration's JSON text; with the other modes it must be
/// NULL (its length is then ignored).
///
/// Thread safety: as `honnin_engine_new`.
///
/// # Safety
/// As `honnin_engine_new_from_memory`; a non-NULL `pad_calibration` must
/// point to `pad_calibration_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_new_from_memory_with_pad(
    manifest: *const u8,
    manifest_len: usize,
    files: *const honnin_model_file,
    n_files: usize,
    calibration: *const u8,
    calibration_len: usize,
    pad_mode: u32,
    pad_calibration: *const u8,
    pad_calibration_len: usize,
    options: *const honnin_engine_options,
    out: *mut *mut honnin_engine,
) -> honnin_status {
    guard(|| {
        let mode = pad_mode_of(pad_mode, !pad_calibration.is_null())?;
        let pad = || {
            pad_in_mode(mode, || {
                // SAFETY: the caller promised readable memory for the pair; non-NULL in this mode.
                let text = unsafe { bytes(pad_calibration, pad_calibration_len, "pad_calibration") }?;
                let text =
                    std::str::from_utf8(text).map_err(|_| Failure::invalid("pad_calibration: UTF-8 JSON text"))?;
                // SAFETY: checked non-NULL before this is called; the caller promised readable options.
                let (_, pin) = unsafe { pins(options) }?;
                pad_calibration_text(text, &pin)
            })
        };
        // SAFETY: forwarded from the caller.
        unsafe {
            engine_from_memory(manifest, manifest_len, files, n_files, calibration, calibration_len, pad, options, out)
        }
    })
}

/// The body of both in-memory constructors: `pad` is asked for once every
/// other pointer is checked.
///
/// # Safety
/// As `honnin_engine_new_from_memory`.
#[allow(clippy::too_many_arguments)]
unsafe fn engine_from_memory(
    manifest: *const u8,
    manifest_len: usize,
    files: *const honnin_model_file,
    n_files: usize,
    calibration: *const u8,
    calibration_len: usize,
    pad: impl FnOnce() -> Result<Pad, Failure>,
    options: *const honnin_engine_options,
    out: *mut *mut honnin_engine,
) -> Result<(), Failure> {
    // SAFETY: the caller promised readable memory for each pair.
    let manifest = unsafe { bytes(manifest, manifest_len, "manifest") }?;
    // SAFETY: as above.
    let calibration = unsafe { bytes(calibration, calibration_len, "calibration") }?;
    if files.is_null() {
        return Err(Failure::null("files"));
    }
    if n_files > 64 {
        return Err(Failure::invalid(format!("at most 64 model files, got {n_files}")));
    }
    if options.is_null() {
        return Err(Failure::null("options"));
    }
    check_out(out, "out")?;
    // SAFETY: checked non-NULL; the caller promised `n_files` entries.
    let entries = unsafe { std::slice::from_raw_parts(files, n_files) };
    let mut list = Vec::with_capacity(n_files);
    for (i, f) in entries.iter().enumerate() {
        // SAFETY: the caller promised NUL-terminated names and readable data.
        let file = unsafe { text(f.name, &format!("files[{i}].name")) }?;
        // SAFETY: as above.
        let data = unsafe { bytes(f.data, f.len, &format!("files[{i}].data")) }?;
        list.push(ModelBytes { file, bytes: data });
    }
    let calibration = std::str::from_utf8(calibration)
        .map_err(|_| Failure::invalid("calibration: UTF-8 JSON text"))
        .and_then(|t| {
            // SAFETY: checked non-NULL above; the caller promised readable options.
            let (pin, _) = unsafe { pins(options) }?;
            calibration_text(t, &pin)
        })?;
    let pad = pad()?;
    let models = Models::from_memory(manifest, &list)?;
    // SAFETY: forwarded from the caller.
    let engine = unsafe { build_engine(models, &calibration, pad, options) }?;
    // SAFETY: checked non-NULL; the caller promised it is writable.
    unsafe { handle_out(out, engine) };
    Ok(())
}

/// Writes the presentation-attack detection `engine` runs to `*out`.
///
/// Thread safety: callable from any thread at any time.
///
/// # Safety
/// `engine` must be a handle (any value is checked); `out` must point to a
/// writable `honnin_pad_info`.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_pad(engine: *const honnin_engine, out: *mut honnin_pad_info) -> honnin_status {
    guard(|| {
        let engine = handles::engine(id(engine))?;
        check_out(out, "out")?;
        let info = match engine.pad_policy() {
            Some(policy) => honnin_pad_info {
                on: 1,
                threshold: policy.threshold(),
                target_bpcer: policy.target_bpcer().unwrap_or(0.0),
            },
            None => honnin_pad_info { on: 0, threshold: 0.0, target_bpcer: 0.0 },
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = info };
        Ok(())
    })
}

/// Verifies one live image against one card photo and writes the outcome to
/// `*out`: the one-shot path, without the session's quality gate, retries or
/// frame fusion (the same comparison as `honnin verify`). `card` may be a
/// JPEG, JPEG 2000, PNG or WebP image, ICAO DG2, an ISO/IEC 19794-5 record or
/// My Number card data (the format is sniffed); `live` an encoded image. Both
/// are decoded, compared and wiped before this returns.
///
/// Thread safety: callable from several threads with the same engine; each
/// of its models runs one image at a time (a lock per model).
///
/// # Safety
/// `engine` must be a handle (any value is checked); each pointer and length
/// pair must describe readable memory; `out` must point to a writable `honnin_outcome`.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_verify(
    engine: *const honnin_engine,
    card: *const u8,
    card_len: usize,
    live: *const u8,
    live_len: usize,
    out: *mut honnin_outcome,
) -> honnin_status {
    guard(|| {
        let engine = handles::engine(id(engine))?;
        // SAFETY: the caller promised readable memory for each pair.
        let card = unsafe { bytes(card, card_len, "card") }?;
        // SAFETY: as above.
        let live = unsafe { bytes(live, live_len, "live") }?;
        check_out(out, "out")?;
        let card = CardPhoto::from_bytes(card)?;
        let live = LiveFrame::from_bytes(live)?;
        let outcome = engine.verify(&card, &live)?;
        drop((card, live));
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = (&outcome).into() };
        Ok(())
    })
}

/// Releases the caller's engine handle. Sessions opened on the engine keep it
/// alive until they are freed; the handle is invalid from now on.
///
/// Thread safety: callable from any thread; a call in flight on another
/// thread with this engine completes normally.
///
/// # Safety
/// `engine` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_free(engine: *mut honnin_engine) -> honnin_status {
    guard(|| {
        let object = handles::remove(id(engine), "an engine", |o| matches!(o, Object::Engine(_)))?;
        drop(object);
        Ok(())
    })
}

// ---------------------------------------------------------------- session

/// Fills `*out` with the default session options: face check proposed first,
/// 3 frames per attempt, at most 50 frames and 10 s per attempt, 2
/// non-matches or 3 attempts without a usable frame close the face path,
/// fusion on.
///
/// Thread safety: callable from any thread at any time.
///
/// # Safety
/// `out` must point to a writable `honnin_session_options`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_options_default(out: *mut honnin_session_options) -> honnin_status {
    guard(|| {
        check_out(out, "out")?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = (&SessionConfig::default()).into() };
        Ok(())
    })
}

/// # Safety
/// As `honnin_session_new`.
unsafe fn open_session(
    engine: Option<Arc<Engine>>,
    card: *const u8,
    card_len: usize,
    options: *const honnin_session_options,
    out: *mut *mut honnin_session,
) -> Result<(), Failure> {
    // SAFETY: the caller promised readable memory.
    let card = unsafe { bytes(card, card_len, "card") }?;
    if options.is_null() {
        return Err(Failure::null("options"));
    }
    check_out(out, "out")?;
    // SAFETY: checked non-NULL; the caller promised it is readable.
    let config = unsafe { *options }.config()?;
    let card = CardPhoto::from_bytes(card)?;
    let session = session::SessionBox::open(engine, config, card)?;
    let id = handles::insert(Object::Session(Arc::new(Mutex::new(session))));
    // SAFETY: checked non-NULL; the caller promised it is writable.
    unsafe { handle_out(out, id) };
    Ok(())
}

/// Opens a session for one person and their card photo (`card`: an image,
/// ICAO DG2, ISO/IEC 19794-5 or My Number card data; the format is sniffed
/// and the bytes are copied). The session starts by asking the person to
/// choose a method: call `honnin_session_offered_methods`, then
/// `honnin_session_choose`. It holds the card photo until it decides.
///
/// Thread safety: callable from any thread; sessions on one engine may run
/// in parallel (each model runs one image at a time).
///
/// # Safety
/// `engine` must be a handle (any value is checked); `card`/`card_len` must
/// describe readable memory; `options` must point to a readable
/// `honnin_session_options`; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_new(
    engine: *const honnin_engine,
    card: *const u8,
    card_len: usize,
    options: *const honnin_session_options,
    out: *mut *mut honnin_session,
) -> honnin_status {
    guard(|| {
        let engine = handles::engine(id(engine))?;
        // SAFETY: forwarded from the caller.
        unsafe { open_session(Some(engine), card, card_len, options, out) }
    })
}

/// As `honnin_session_new` for a terminal without models: only the staff
/// visual check is offered, and no biometric is ever computed.
///
/// Thread safety: callable from any thread.
///
/// # Safety
/// As `honnin_session_new`, without the engine.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_new_without_models(
    card: *const u8,
    card_len: usize,
    options: *const honnin_session_options,
    out: *mut *mut honnin_session,
) -> honnin_status {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { open_session(None, card, card_len, options, out) })
}

/// Writes the methods the person may choose now to `*methods`, as
/// `HONNIN_METHOD_*` bits OR-ed together (0 once decided), and the one to
/// propose first to `*proposed` (`HONNIN_METHOD_NONE` once decided).
///
/// Thread safety: a session may be used from any thread, one call at a time
/// (concurrent calls on one session wait for each other).
///
/// # Safety
/// `session` must be a handle (any value is checked); `methods` and `proposed` must point to writable `uint32_t`s.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_offered_methods(
    session: *const honnin_session,
    methods: *mut u32,
    proposed: *mut u32,
) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        check_out(methods, "methods")?;
        check_out(proposed, "proposed")?;
        let mut guard = lock(&session)?;
        let s = guard.session();
        let mask = s.offered_methods().into_iter().fold(0u32, |m, method| m | session::method(method) as u32);
        let first = s.proposed_method().map_or(honnin_method::None, session::method) as u32;
        // SAFETY: checked non-NULL; the caller promised they are writable.
        unsafe {
            *methods = mask;
            *proposed = first;
        }
        Ok(())
    })
}

/// Records the person's choice: `HONNIN_METHOD_AUTOMATIC` (then feed frames)
/// or `HONNIN_METHOD_STAFF_VISUAL` (then show `honnin_session_card_for_display`
/// and record `honnin_session_staff_decide`). A method not offered now gives
/// `HONNIN_STATUS_INVALID_ARGUMENT`.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_session_choose(session: *mut honnin_session, method: u32) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        let method = session::parse_method(method)?;
        lock(&session)?.session().choose(method)?;
        Ok(())
    })
}

/// Writes a step; once the session has decided, its display photos are
/// invalidated and wiped.
///
/// # Safety
/// `out` must be non-NULL and point to a writable `honnin_step`.
unsafe fn step_out(out: *mut honnin_step, step: &honnin::Step, session: &mut session::SessionBox) {
    if matches!(step, honnin::Step::Decided(_)) {
        handles::remove_all(&std::mem::take(&mut session.photos));
    }
    // SAFETY: as the function's contract says.
    unsafe { *out = step.into() };
}

/// Feeds one encoded live image (JPEG, PNG, WebP or JPEG 2000) to the face
/// check and writes what it led to to `*out`. The image is decoded, used and
/// wiped before this returns.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `image`/`len` must
/// describe readable memory; `out` must point to a writable `honnin_step`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_feed_image(
    session: *mut honnin_session,
    image: *const u8,
    len: usize,
    out: *mut honnin_step,
) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        // SAFETY: the caller promised readable memory.
        let image = unsafe { bytes(image, len, "image") }?;
        check_out(out, "out")?;
        let frame = LiveFrame::from_bytes(image)?;
        let mut session = lock(&session)?;
        let step = session.session().feed(frame)?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { step_out(out, &step, &mut session) };
        Ok(())
    })
}

/// Feeds one raw camera frame: `height` rows of `width` pixels in `format`
/// (a `HONNIN_PIXEL_FORMAT_*` value), each row starting `stride` bytes after
/// the previous one; `len` is the buffer's length, at least
/// `stride * (height - 1) + width * bytes per pixel`. The pixels are copied,
/// used and the copy wiped before this returns; the caller's buffer is not
/// changed.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `pixels`/`len` must
/// describe readable memory; `out` must point to a writable `honnin_step`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn honnin_session_feed_pixels(
    session: *mut honnin_session,
    pixels: *const u8,
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: u32,
    out: *mut honnin_step,
) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        // SAFETY: the caller promised readable memory.
        let pixels = unsafe { bytes(pixels, len, "pixels") }?;
        check_out(out, "out")?;
        let frame = frame_from_pixels(pixels, width, height, stride, format)?;
        let mut session = lock(&session)?;
        let step = session.session().feed(frame)?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { step_out(out, &step, &mut session) };
        Ok(())
    })
}

/// Converts a caller's raw frame into RGB, refusing dimensions the buffer
/// does not hold.
fn frame_from_pixels(pixels: &[u8], width: u32, height: u32, stride: usize, format: u32) -> Result<LiveFrame, Failure> {
    // (bytes per pixel, offsets of red, green, blue)
    let (bpp, [r, g, b]) = match format {
        1 => (3, [0, 1, 2]),
        2 => (3, [2, 1, 0]),
        3 => (1, [0, 0, 0]),
        4 => (4, [0, 1, 2]),
        5 => (4, [2, 1, 0]),
        _ => return Err(Failure::invalid(format!("a pixel format from 1 to 5 (HONNIN_PIXEL_FORMAT_*), got {format}"))),
    };
    if width == 0 || height == 0 {
        return Err(Failure::invalid(format!("a frame of at least 1x1 pixels, got {width}x{height}")));
    }
    // Dimensions are checked against honnin's limits before anything is allocated.
    honnin::Limits::default().check_dimensions(width, height)?;
    let row = (width as usize).checked_mul(bpp).ok_or_else(|| Failure::invalid("a frame row that fits in memory"))?;
    if stride < row {
        return Err(Failure::invalid(format!("a stride of at least {row} bytes for {width} pixels, got {stride}")));
    }
    let needed = stride
        .checked_mul(height as usize - 1)
        .and_then(|n| n.checked_add(row))
        .ok_or_else(|| Failure::invalid("a frame that fits in memory"))?;
    if pixels.len() < needed {
        return Err(Failure::invalid(format!(
            "a buffer of at least {needed} bytes for {width}x{height} pixels with stride {stride}, got {}",
            pixels.len()
        )));
    }
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height as usize {
        let line = &pixels[y * stride..y * stride + row];
        for p in line.chunks_exact(bpp) {
            rgb.extend_from_slice(&[p[r], p[g], p[b]]);
        }
    }
    // The frame owns the copy and wipes it when dropped or refused.
    Ok(LiveFrame::from_rgb(width, height, rgb)?)
}

/// Tells the session the frames stopped (`cause`: a `HONNIN_SOURCE_STOP_*`
/// value) and writes the step it leads to (a decision from the frames at
/// hand, or the staff offer) to `*out`.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable `honnin_step`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_source_stopped(
    session: *mut honnin_session,
    cause: u32,
    out: *mut honnin_step,
) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        check_out(out, "out")?;
        let fault = match cause {
            0 => None,
            1 => Some(CameraError::DeviceMissing {
                device: "the terminal's camera".into(),
                reason: "reported by the terminal".into(),
            }),
            2 => Some(CameraError::Read { reason: "reported by the terminal".into() }),
            3 => Some(CameraError::Timeout { waited: std::time::Duration::ZERO }),
            _ => return Err(Failure::invalid(format!("a stop cause from 0 to 3 (HONNIN_SOURCE_STOP_*), got {cause}"))),
        };
        let fault = fault.map(Error::Camera);
        let mut session = lock(&session)?;
        let step = session.session().source_stopped(fault.as_ref())?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { step_out(out, &step, &mut session) };
        Ok(())
    })
}

/// For the staff visual check: the card photo scaled to fit `max_width` x
/// `max_height` pixels (never enlarged), as a new display-photo handle in
/// `*out`. Read its pixels with `honnin_display_photo_pixels`, show them,
/// then free it with `honnin_display_photo_free`, which wipes them. At the
/// latest, the photo is wiped and its handle invalidated when the session
/// decides or is freed. Computes no biometric.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_card_for_display(
    session: *const honnin_session,
    max_width: u32,
    max_height: u32,
    out: *mut *mut honnin_display_photo,
) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        check_out(out, "out")?;
        let mut session = lock(&session)?;
        let photo = session.session().card_for_display(max_width, max_height)?;
        let id = handles::insert(Object::Photo(Arc::new(photo)));
        session.photos.push(id);
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { handle_out(out, id) };
        Ok(())
    })
}

/// Writes a display photo's pixels (row-major, `*channels` bytes per pixel:
/// 1 for grey, 3 for RGB; no row padding), their length, width and height.
/// The pixels stay valid, unchanged, until `honnin_display_photo_free`.
///
/// Thread safety: callable from any thread; not at the same time as freeing
/// this photo.
///
/// # Safety
/// `photo` must be a handle (any value is checked); the other arguments must
/// point to writable storage of their types.
#[no_mangle]
pub unsafe extern "C" fn honnin_display_photo_pixels(
    photo: *const honnin_display_photo,
    pixels: *mut *const u8,
    len: *mut usize,
    width: *mut u32,
    height: *mut u32,
    channels: *mut u32,
) -> honnin_status {
    guard(|| {
        let photo = handles::photo(id(photo))?;
        check_out(pixels, "pixels")?;
        check_out(len, "len")?;
        check_out(width, "width")?;
        check_out(height, "height")?;
        check_out(channels, "channels")?;
        let data = photo.pixels();
        // SAFETY: checked non-NULL; the caller promised they are writable. The
        // pointer stays valid while the table holds the photo (until its `_free`).
        unsafe {
            *pixels = data.as_ptr();
            *len = data.len();
            *width = photo.width();
            *height = photo.height();
            *channels = if photo.is_grey() { 1 } else { 3 };
        }
        Ok(())
    })
}

/// Wipes and frees a display photo; the handle and its pixel pointer are
/// invalid from now on.
///
/// Thread safety: callable from any thread; not while another thread reads
/// this photo's pixels.
///
/// # Safety
/// `photo` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_display_photo_free(photo: *mut honnin_display_photo) -> honnin_status {
    guard(|| {
        // The photo's buffer wipes itself when the last reference drops (here,
        // unless a call on another thread still holds one).
        drop(handles::remove(id(photo), "a display photo", |o| matches!(o, Object::Photo(_)))?);
        Ok(())
    })
}

/// Records the staff member's conclusion (`judgement`: a
/// `HONNIN_JUDGEMENT_*` value) after `honnin_session_choose` with
/// `HONNIN_METHOD_STAFF_VISUAL`, and writes the outcome to `*out`. The
/// session then drops the card photo.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable `honnin_outcome`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_staff_decide(
    session: *mut honnin_session,
    judgement: u32,
    out: *mut honnin_outcome,
) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        check_out(out, "out")?;
        let judgement = match judgement {
            1 => StaffJudgement::SamePerson,
            2 => StaffJudgement::DifferentPerson,
            3 => StaffJudgement::Unsure,
            _ => {
                return Err(Failure::invalid(format!("a judgement from 1 to 3 (HONNIN_JUDGEMENT_*), got {judgement}")))
            }
        };
        let mut session = lock(&session)?;
        let outcome = session.session().staff_decide(judgement)?;
        // Decided: the card photo shown to staff goes now.
        handles::remove_all(&std::mem::take(&mut session.photos));
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = (&outcome).into() };
        Ok(())
    })
}

/// Writes the session's outcome to `*out`; `HONNIN_STATUS_NOT_DECIDED` while
/// it has none.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable `honnin_outcome`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_outcome(
    session: *const honnin_session,
    out: *mut honnin_outcome,
) -> honnin_status {
    guard(|| {
        let session = handles::session(id(session))?;
        check_out(out, "out")?;
        let outcome = lock(&session)?.session().outcome().copied();
        let Some(outcome) = outcome else {
            return Err(Failure::new(honnin_status::NotDecided, "the session has not decided yet"));
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = (&outcome).into() };
        Ok(())
    })
}

/// Frees a session, wiping the card photo, templates and display photos it
/// still holds; the handle, and those of its display photos, are invalid
/// from now on.
///
/// Thread safety: callable from any thread; a call in flight on another
/// thread with this session completes first (the session is wiped when it
/// returns).
///
/// # Safety
/// `session` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_session_free(session: *mut honnin_session) -> honnin_status {
    guard(|| {
        let object = handles::remove(id(session), "a session", |o| matches!(o, Object::Session(_)))?;
        if let Object::Session(session) = &object {
            // Waits for a call in flight on another thread; a poisoned lock
            // still yields the photo list.
            let photos = std::mem::take(&mut session.lock().unwrap_or_else(PoisonError::into_inner).photos);
            handles::remove_all(&photos);
        }
        drop(object);
        Ok(())
    })
}

// ---------------------------------------------------------------- audit

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
        let path = unsafe { self::path(path, "path") }?;
        // SAFETY: as above.
        let terminal_id = unsafe { optional_text(terminal_id, "terminal_id") }?;
        // SAFETY: as above.
        let operator_id = unsafe { optional_text(operator_id, "operator_id") }?;
        check_out(out, "out")?;
        for id in [terminal_id, operator_id].into_iter().flatten() {
            honnin::check_audit_id(id)?;
        }
        let log = honnin::AuditLog::open(path)?;
        let log = session::AuditLogBox {
            log,
            terminal_id: terminal_id.map(str::to_string),
            operator_id: operator_id.map(str::to_string),
        };
        let id = handles::insert(Object::AuditLog(Arc::new(Mutex::new(log))));
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { handle_out(out, id) };
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
        let session = handles::session(id(session))?;
        let log = handles::audit_log(id(log))?;
        check_out(seq, "seq")?;
        let end = session::parse_end(if_undecided)?;
        let mut session = lock(&session)?;
        if session.audited {
            return Err(Failure::invalid("a session whose audit record was not written yet (once per session)"));
        }
        let mut log = log.lock().map_err(|_: PoisonError<_>| {
            Failure::new(honnin_status::Panic, "this audit log was interrupted by an internal error; free it")
        })?;
        let mut record = honnin::AuditRecord::session(session.session(), end)
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
        drop(handles::remove(id(log), "an audit log", |o| matches!(o, Object::AuditLog(_)))?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x2 frame with a padded stride, in every format: the same RGB comes out.
    #[test]
    fn raw_frames_are_read_in_their_channel_order_and_stride() {
        let rgb: [[u8; 3]; 4] = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]];
        for (format, bpp) in [(1u32, 3usize), (2, 3), (3, 1), (4, 4), (5, 4)] {
            let stride = 2 * bpp + 5;
            let mut buf = vec![0xEEu8; stride + 2 * bpp];
            for (i, p) in rgb.iter().enumerate() {
                let at = (i / 2) * stride + (i % 2) * bpp;
                let px: Vec<u8> = match format {
                    1 => p.to_vec(),
                    2 => vec![p[2], p[1], p[0]],
                    3 => vec![p[1]],
                    4 => vec![p[0], p[1], p[2], 0xFF],
                    _ => vec![p[2], p[1], p[0], 0xFF],
                };
                buf[at..at + bpp].copy_from_slice(&px);
            }
            let frame = frame_from_pixels(&buf, 2, 2, stride, format).ok().expect("a valid frame");
            assert_eq!(frame.dimensions(), (2, 2));
            let got = honnin::danger::dangerous_live_pixels(&frame).to_vec();
            let want: Vec<u8> = if format == 3 {
                rgb.iter().flat_map(|p| [p[1]; 3]).collect()
            } else {
                rgb.iter().flatten().copied().collect()
            };
            assert_eq!(got, want, "format {format}");
            // One byte short of the last row: refused.
            assert!(frame_from_pixels(&buf[..buf.len() - 1], 2, 2, stride, format).is_err());
        }
    }
}
