//! An engine behind one C handle: its config (models, calibrations,
//! presentation-attack detection, ONNX Runtime), its one constructor,
//! verification, its PAD, and freeing it.

use std::ffi::c_char;
use std::path::Path;
use std::sync::Arc;

use honnin::calibration::CalibrationPin;
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

/// Where an engine's models come from: a directory, or a manifest and the
/// model files it names in memory (models embedded in firmware). Give `dir`
/// or `manifest`, not both.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct honnin_model_source {
    /// A model directory, NUL-terminated: it holds `manifest.json` and the
    /// model files it names, each checked against the sha256 the manifest
    /// pins. NULL when the models are in memory.
    pub dir: *const c_char,
    /// The manifest's JSON text, `manifest_len` bytes; NULL with `dir`.
    pub manifest: *const u8,
    /// Length of `manifest` in bytes.
    pub manifest_len: usize,
    /// With `manifest`: the model files it names, `n_files` entries (at
    /// most 64). The detector and recognizer the manifest makes active are
    /// needed; the PAD models turn PAD on as in a directory, and some of
    /// them only is refused; others are ignored. Each model's sha256 is
    /// checked against the manifest before use. The bytes are copied: the
    /// caller may release them when `honnin_engine_create` returns. NULL with `dir`.
    pub files: *const honnin_model_file,
    /// Number of entries in `files`.
    pub n_files: usize,
}

/// A calibration: a file, or its JSON text in memory. Give `path` or
/// `json`, not both.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct honnin_calibration_source {
    /// The calibration file, NUL-terminated; NULL when `json` is given.
    pub path: *const c_char,
    /// The calibration's JSON text, `json_len` bytes of UTF-8; NULL when
    /// `path` is given.
    pub json: *const u8,
    /// Length of `json` in bytes.
    pub json_len: usize,
}

/// How `honnin_engine_create` sets up presentation-attack detection (PAD), in
/// `honnin_engine_config.pad_mode`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_pad_mode {
    /// PAD on when the PAD models the manifest names are among the models,
    /// at the PAD calibration built into honnin; off without them. No PAD
    /// calibration may be given.
    Default = 0,
    /// PAD off, for a terminal with its own PAD sensor; no PAD calibration
    /// may be given.
    Off = 1,
    /// PAD on at the PAD calibration given (`pad_calibration`, required);
    /// the PAD models must be present and be the ones it was made with.
    Calibrated = 2,
    /// PAD on at the calibration built into honnin; no PAD calibration may
    /// be given, and the PAD models must be present (an engine that would
    /// run without PAD is refused).
    BuiltIn = 3,
}

/// How an engine is built: what `honnin_engine_create` reads.
/// `honnin_engine_config_default` fills in the defaults; the caller then
/// gives the models and the calibration. Every pointer is borrowed for the
/// call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct honnin_engine_config {
    /// The models: a directory, or a manifest and its files in memory.
    /// Required (NULL by default).
    pub models: honnin_model_source,
    /// The face calibration (as `honnin-lab calibrate` writes it): a file or its
    /// JSON text. Required (NULL by default).
    pub calibration: honnin_calibration_source,
    /// sha256 (hex) the face calibration (file or text) must have. NULL
    /// accepts only a calibration honnin ships (pinned in the library);
    /// "any" accepts any calibration (for one made in-house and not yet
    /// pinned: whoever can edit it decides who matches). Every calibration's
    /// plausibility is checked whatever its pin (HONNIN_STATUS_CALIBRATION).
    pub calibration_sha256: *const c_char,
    /// Presentation-attack detection: a `honnin_pad_mode` value (default
    /// HONNIN_PAD_MODE_DEFAULT).
    pub pad_mode: u32,
    /// With HONNIN_PAD_MODE_CALIBRATED: the PAD calibration (as
    /// `honnin-lab pad-calibrate` writes it), a file or its JSON text. Both NULL in the
    /// other modes.
    pub pad_calibration: honnin_calibration_source,
    /// sha256 (hex) `pad_calibration` must have; NULL accepts only the one
    /// honnin ships, "any" any plausible one.
    pub pad_calibration_sha256: *const c_char,
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

/// Fills `*out` with the default engine config: no models and no
/// calibration yet (the caller gives them), the shipped calibrations' pins,
/// PAD as the models allow (HONNIN_PAD_MODE_DEFAULT), runtime from
/// HONNIN_ORT_LIB, the pinned runtime hash, target FMR 0.0001, default
/// threads, mirror averaging on.
///
/// Thread safety: callable from any thread at any time.
///
/// # Safety
/// `out` must point to a writable `honnin_engine_config`.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_config_default(out: *mut honnin_engine_config) -> honnin_status {
    guard(|| {
        check_out(out, "out")?;
        let none = honnin_calibration_source { path: std::ptr::null(), json: std::ptr::null(), json_len: 0 };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe {
            *out = honnin_engine_config {
                models: honnin_model_source {
                    dir: std::ptr::null(),
                    manifest: std::ptr::null(),
                    manifest_len: 0,
                    files: std::ptr::null(),
                    n_files: 0,
                },
                calibration: none,
                calibration_sha256: std::ptr::null(),
                pad_mode: honnin_pad_mode::Default as u32,
                pad_calibration: none,
                pad_calibration_sha256: std::ptr::null(),
                onnxruntime_path: std::ptr::null(),
                onnxruntime_sha256: std::ptr::null(),
                target_fmr: honnin::calibration::DEFAULT_TARGET_FMR,
                intra_threads: 0,
                mirror_averaging: 1,
            }
        };
        Ok(())
    })
}

/// Builds an engine as `*config` say and writes its handle to `*out`: the
/// models (`config.models`: a directory, or a manifest and its files in
/// memory; each model's sha256 is checked against the manifest), the face
/// calibration (`config.calibration`: a file or its JSON text, under
/// `config.calibration_sha256`), presentation-attack detection
/// (`config.pad_mode`), ONNX Runtime and the tuning. Loads ONNX Runtime on
/// first use: one runtime library per process.
///
/// Presentation-attack detection (PAD), by `config.pad_mode`:
/// - HONNIN_PAD_MODE_DEFAULT: on when the PAD models the manifest names are
///   among the models, at the PAD calibration built into honnin
///   (`calibration/pad-minifasnet.json`, made for the MiniFASNet pair in
///   `models/manifest.json`); without them, off. Some of them only is
///   refused (HONNIN_STATUS_MANIFEST), and so are PAD models other than the
///   ones the built-in calibration was made for (HONNIN_STATUS_CALIBRATION;
///   give their calibration with HONNIN_PAD_MODE_CALIBRATED).
/// - HONNIN_PAD_MODE_OFF: off.
/// - HONNIN_PAD_MODE_CALIBRATED: on at `config.pad_calibration` (a file or
///   its JSON text, under `config.pad_calibration_sha256`).
/// - HONNIN_PAD_MODE_BUILT_IN: on at the built-in calibration.
///
/// With PAD on other than by default, the PAD models must be present and
/// be the ones the calibration was made with (HONNIN_STATUS_CALIBRATION
/// otherwise). A terminal that relies on honnin's PAD should use
/// HONNIN_PAD_MODE_BUILT_IN, which refuses to build an engine without PAD,
/// or check `honnin_engine_pad` after building. A PAD calibration given in
/// a mode that takes none is refused (HONNIN_STATUS_INVALID_ARGUMENT).
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
/// `config` must point to a readable `honnin_engine_config` whose
/// non-NULL strings are NUL-terminated and whose non-NULL buffers hold
/// their stated lengths (the model files' entries included); `out` must
/// point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_engine_create(
    config: *const honnin_engine_config,
    out: *mut *mut honnin_engine,
) -> honnin_status {
    guard(|| {
        if config.is_null() {
            return Err(Failure::null("config"));
        }
        check_out(out, "out")?;
        // SAFETY: checked non-NULL; the caller promised readable config
        // whose strings and buffers are as documented.
        let request = unsafe { Request::read(&*config) }?;
        let engine = request.build()?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { issue(out, Object::new(ENGINE, engine)) };
        Ok(())
    })
}

/// What the config ask for, every pointer checked and nothing read yet.
struct Request<'a> {
    models: ModelInput<'a>,
    calibration: CalibrationInput<'a>,
    calibration_pin: CalibrationPin,
    pad: PadInput<'a>,
    pad_pin: CalibrationPin,
    onnxruntime_path: Option<&'a str>,
    onnxruntime_sha256: Option<&'a str>,
    target_fmr: f64,
    intra_threads: u32,
    mirror_averaging: bool,
}

/// The presentation-attack detection an engine is built with.
enum Pad {
    /// As the models allow: on at the shipped calibration when the PAD models are present.
    Default,
    Off,
    /// On at this calibration; the PAD models must be present.
    On(PadCalibration),
}

/// Models as the config give them.
enum ModelInput<'a> {
    Dir(&'a Path),
    Memory { manifest: &'a [u8], files: Vec<ModelBytes<'a>> },
}

/// A calibration as the config give it.
#[derive(Clone, Copy)]
enum CalibrationInput<'a> {
    File(&'a Path),
    Text(&'a str),
}

/// The presentation-attack detection the config ask for.
enum PadInput<'a> {
    Default,
    Off,
    BuiltIn,
    Calibrated(CalibrationInput<'a>),
}

impl<'a> Request<'a> {
    /// Checks every pointer and value of `config` that can be checked
    /// without reading a file.
    ///
    /// # Safety
    /// As `honnin_engine_create` says of `config`.
    unsafe fn read(config: &'a honnin_engine_config) -> Result<Self, Failure> {
        // SAFETY: the caller promised NUL-terminated strings.
        let calibration_pin = unsafe { pin_of(config.calibration_sha256, "config.calibration_sha256") }?;
        // SAFETY: as above.
        let pad_pin = unsafe { pin_of(config.pad_calibration_sha256, "config.pad_calibration_sha256") }?;
        // SAFETY: the caller promised sources as documented.
        let pad = unsafe { pad_input(config.pad_mode, &config.pad_calibration) }?;
        // SAFETY: as above.
        let models = unsafe { model_input(&config.models) }?;
        // SAFETY: as above.
        let calibration = unsafe { calibration_input(&config.calibration, "config.calibration") }?
            .ok_or_else(|| Failure::null("config.calibration (path or json)"))?;
        // SAFETY: the caller promised NUL-terminated strings.
        let onnxruntime_path = unsafe { optional_text(config.onnxruntime_path, "config.onnxruntime_path") }?;
        // SAFETY: as above.
        let onnxruntime_sha256 = unsafe { optional_text(config.onnxruntime_sha256, "config.onnxruntime_sha256") }?;
        Ok(Self {
            models,
            calibration,
            calibration_pin,
            pad,
            pad_pin,
            onnxruntime_path,
            onnxruntime_sha256,
            target_fmr: config.target_fmr,
            intra_threads: config.intra_threads,
            mirror_averaging: config.mirror_averaging != 0,
        })
    }

    /// Reads the calibrations and models, and builds the engine.
    fn build(self) -> Result<Engine, Failure> {
        let calibration = self.calibration.face(&self.calibration_pin)?;
        // Read before the models, as the face calibration is: a bad file fails fast.
        let pad = match self.pad {
            PadInput::Default => Pad::Default,
            PadInput::Off => Pad::Off,
            PadInput::BuiltIn => Pad::On(PadCalibration::bundled()?),
            PadInput::Calibrated(input) => Pad::On(input.pad(&self.pad_pin)?),
        };
        let models = match self.models {
            ModelInput::Dir(dir) => Models::from_dir(dir)?,
            ModelInput::Memory { manifest, files } => Models::from_memory(manifest, &files)?,
        };
        // Refuses a target FMR outside (0, 1) and one the calibration has no point for.
        let policy = Policy::from_calibration(&calibration, self.target_fmr)?;
        let mut builder = Engine::builder(models).mirror_averaging(self.mirror_averaging);
        builder = match pad {
            // honnin decides: on at the shipped calibration when the PAD models are there.
            Pad::Default => builder.pad_when_present(None)?,
            Pad::Off => builder,
            // The engine refuses a PAD calibration made for other models, or
            // one given without PAD models.
            Pad::On(calibration) => builder.pad(PadPolicy::from_calibration(&calibration)),
        };
        if let Some(path) = self.onnxruntime_path {
            builder = builder.onnxruntime(path);
        }
        builder = builder.onnxruntime_pin(self.onnxruntime_sha256)?;
        if self.intra_threads > 0 {
            // The engine refuses more than honnin::engine::MAX_INTRA_THREADS.
            builder = builder.intra_threads(self.intra_threads as usize);
        }
        Ok(builder.policy(policy).build()?)
    }
}

/// The PAD `mode` asks for, checked against whether a PAD calibration was given.
///
/// # Safety
/// As `honnin_engine_create` says of `config.pad_calibration`.
unsafe fn pad_input(mode: u32, calibration: &honnin_calibration_source) -> Result<PadInput<'_>, Failure> {
    use honnin_pad_mode as M;
    let mode = match mode {
        0 => M::Default,
        1 => M::Off,
        2 => M::Calibrated,
        3 => M::BuiltIn,
        other => return Err(Failure::invalid(format!("a honnin_pad_mode (0 to 3), got {other}"))),
    };
    // SAFETY: forwarded from the caller.
    match (mode, unsafe { calibration_input(calibration, "config.pad_calibration") }?) {
        (M::Calibrated, Some(input)) => Ok(PadInput::Calibrated(input)),
        (M::Calibrated, None) => Err(Failure::null("config.pad_calibration (HONNIN_PAD_MODE_CALIBRATED)")),
        (_, Some(_)) => Err(Failure::invalid(format!(
            "no PAD calibration with {mode:?}: it is taken only by HONNIN_PAD_MODE_CALIBRATED"
        ))),
        (M::Default, None) => Ok(PadInput::Default),
        (M::Off, None) => Ok(PadInput::Off),
        (M::BuiltIn, None) => Ok(PadInput::BuiltIn),
    }
}

/// The models of `source`, their pointers checked.
///
/// # Safety
/// As `honnin_engine_create` says of `config.models`.
unsafe fn model_input(source: &honnin_model_source) -> Result<ModelInput<'_>, Failure> {
    match (source.dir.is_null(), source.manifest.is_null()) {
        (true, true) => Err(Failure::null("config.models.dir (or config.models.manifest)")),
        (false, false) => Err(Failure::invalid("config.models: a directory or a manifest in memory, not both")),
        (false, true) if !source.files.is_null() => {
            Err(Failure::invalid("config.models.files: taken only with config.models.manifest"))
        }
        // SAFETY: the caller promised a NUL-terminated string.
        (false, true) => unsafe { path(source.dir, "config.models.dir") }.map(ModelInput::Dir),
        // SAFETY: forwarded from the caller.
        (true, false) => unsafe { models_in_memory(source) },
    }
}

/// The manifest and model files of `source`, their pointers checked.
///
/// # Safety
/// As `honnin_engine_create` says of `config.models`; `source.manifest` is not NULL.
unsafe fn models_in_memory(source: &honnin_model_source) -> Result<ModelInput<'_>, Failure> {
    // SAFETY: the caller promised readable memory for the pair.
    let manifest = unsafe { bytes(source.manifest, source.manifest_len, "config.models.manifest") }?;
    if source.files.is_null() {
        return Err(Failure::null("config.models.files"));
    }
    let n = source.n_files;
    if n > 64 {
        return Err(Failure::invalid(format!("at most 64 model files, got {n}")));
    }
    // SAFETY: checked non-NULL; the caller promised `n_files` entries.
    let entries = unsafe { std::slice::from_raw_parts(source.files, n) };
    let mut files = Vec::with_capacity(n);
    for (i, f) in entries.iter().enumerate() {
        // SAFETY: the caller promised NUL-terminated names and readable data.
        let file = unsafe { text(f.name, &format!("config.models.files[{i}].name")) }?;
        // SAFETY: as above.
        let data = unsafe { bytes(f.data, f.len, &format!("config.models.files[{i}].data")) }?;
        files.push(ModelBytes { file, bytes: data });
    }
    Ok(ModelInput::Memory { manifest, files })
}

/// The calibration `source` gives, if any.
///
/// # Safety
/// As `honnin_engine_create` says of a `honnin_calibration_source`.
unsafe fn calibration_input<'a>(
    source: &'a honnin_calibration_source,
    name: &str,
) -> Result<Option<CalibrationInput<'a>>, Failure> {
    match (source.path.is_null(), source.json.is_null()) {
        (true, true) => Ok(None),
        // SAFETY: the caller promised a NUL-terminated string.
        (false, true) => unsafe { path(source.path, &format!("{name}.path")) }.map(|p| Some(CalibrationInput::File(p))),
        // SAFETY: the caller promised `json_len` readable bytes.
        (true, false) => unsafe { json_text(source.json, source.json_len, &format!("{name}.json")) }
            .map(|t| Some(CalibrationInput::Text(t))),
        (false, false) => Err(Failure::invalid(format!("{name}: a path or JSON text, not both"))),
    }
}

/// The pin a string option gives: NULL (the calibrations honnin ships),
/// "any" or a sha256.
///
/// # Safety
/// Non-NULL `field` must be NUL-terminated.
unsafe fn pin_of(field: *const c_char, name: &str) -> Result<CalibrationPin, Failure> {
    // SAFETY: forwarded from the caller.
    let given = unsafe { optional_text(field, name) }?;
    CalibrationPin::parse(given)
        .map_err(|_| Failure::invalid(format!("{name}: a sha256 of 64 hex digits, \"any\" or NULL")))
}

impl CalibrationInput<'_> {
    /// The face calibration this input gives, under `pin`.
    fn face(self, pin: &CalibrationPin) -> Result<Calibration, Failure> {
        Ok(match self {
            CalibrationInput::File(path) => Calibration::from_file_under(path, pin)?,
            CalibrationInput::Text(text) => Calibration::from_json_under(text, pin)?,
        })
    }

    /// The PAD calibration this input gives, under `pin`.
    fn pad(self, pin: &CalibrationPin) -> Result<PadCalibration, Failure> {
        Ok(match self {
            CalibrationInput::File(path) => PadCalibration::from_file_under(path, pin)?,
            CalibrationInput::Text(text) => PadCalibration::from_json_under(text, pin)?,
        })
    }
}

/// An engine handle's kind, in words.
const ENGINE: &str = "an engine";

/// The engine behind handle `id`.
pub(crate) fn lookup(id: u64) -> Result<Arc<Engine>, Failure> {
    handles::get(id, ENGINE)
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
        let engine = lookup(id(engine))?;
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
        let engine = lookup(id(engine))?;
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
        let object = handles::remove(id(engine), ENGINE)?;
        drop(object);
        Ok(())
    })
}
