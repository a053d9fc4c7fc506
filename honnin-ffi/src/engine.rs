//! An engine behind one C handle: its options, its constructors (from a
//! directory or from memory, with PAD as the models allow or as chosen),
//! verification, its PAD, and freeing it.

use std::ffi::c_char;
use std::path::Path;
use std::sync::Arc;

use honnin::models::ModelBytes;
use honnin::pad::{PadCalibration, PadPolicy};
use honnin::{Calibration, CardPhoto, Engine, LiveFrame, Models, Policy};

use crate::args::{bytes, check_out, json_text, optional_text, path, text};
use crate::handles::{self, id, issue, Object};
use crate::outcome::honnin_outcome;
use crate::status::{guard, honnin_status, Failure};

/// An engine: the verified models, ONNX Runtime sessions and the calibrated
/// policy. Opaque; a handle, never dereferenced.
pub struct honnin_engine {
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
                target_fmr: honnin::calibration::DEFAULT_TARGET_FMR,
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
fn calibration_file(path: &Path, pin: &PinChoice) -> Result<Calibration, Failure> {
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
fn pad_calibration_file(path: &Path, pin: &PinChoice) -> Result<PadCalibration, Failure> {
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
) -> Result<Engine, Failure> {
    if options.is_null() {
        return Err(Failure::null("options"));
    }
    // SAFETY: checked non-NULL; the caller promised it is readable.
    let options = unsafe { *options };
    // Refuses a target FMR outside (0, 1) and one the calibration has no point for.
    let policy = Policy::from_calibration(calibration, options.target_fmr)?;
    let mut builder = Engine::builder(models).mirror_averaging(options.mirror_averaging != 0);
    builder = match pad {
        // honnin decides: on at the shipped calibration when the PAD models are there.
        Pad::Default => builder.pad_when_present(None)?,
        Pad::Off => builder,
        // The engine refuses a PAD calibration made for other models, or
        // one given without PAD models.
        Pad::Calibrated(calibration) => builder.pad(PadPolicy::from_calibration(&calibration)),
        Pad::BuiltIn => builder.pad(PadPolicy::from_calibration(&PadCalibration::bundled()?)),
    };
    // SAFETY: the caller promised NUL-terminated strings.
    if let Some(path) = unsafe { optional_text(options.onnxruntime_path, "options.onnxruntime_path") }? {
        builder = builder.onnxruntime(path);
    }
    // SAFETY: as above.
    let pin = unsafe { optional_text(options.onnxruntime_sha256, "options.onnxruntime_sha256") }?;
    builder = builder.onnxruntime_pin(pin)?;
    if options.intra_threads > 0 {
        // The engine refuses more than honnin::engine::MAX_INTRA_THREADS.
        builder = builder.intra_threads(options.intra_threads as usize);
    }
    Ok(builder.policy(policy).build()?)
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
    unsafe { issue(out, Object::Engine(Arc::new(engine))) };
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
                let text = unsafe { json_text(pad_calibration, pad_calibration_len, "pad_calibration") }?;
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
    unsafe { issue(out, Object::Engine(Arc::new(engine))) };
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
