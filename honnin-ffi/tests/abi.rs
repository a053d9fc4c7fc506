//! The C API's contract, called through its exported functions as C would:
//! NULL pointers, freed handles (also once a successor object exists), wrong
//! handle kinds and bad values give status codes, outputs stay untouched on
//! failure, and the happy paths give real decisions on real faces.

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut};

use honnin_ffi::*;

#[path = "../../tests/suite/tampered_calibrations.rs"]
mod tampered_calibrations;

const OK: honnin_status = honnin_status::Ok;
const NULL: honnin_status = honnin_status::NullArgument;
const STALE: honnin_status = honnin_status::InvalidHandle;
const PAD_DEFAULT: u32 = honnin_pad_mode::Default as u32;
const PAD_OFF: u32 = honnin_pad_mode::Off as u32;
const PAD_CALIBRATED: u32 = honnin_pad_mode::Calibrated as u32;
const PAD_BUILT_IN: u32 = honnin_pad_mode::BuiltIn as u32;

/// Every function in include/honnin.h. `the_tests_cover_every_function_of_the_header`
/// fails when the header gains one that is not listed (and so not tested) here.
const FUNCTIONS: &[&str] = &[
    "honnin_version",
    "honnin_status_text",
    "honnin_reason_code",
    "honnin_guidance_code",
    "honnin_live_handles",
    "honnin_last_error_detail",
    "honnin_harden_process",
    "honnin_engine_config_default",
    "honnin_engine_create",
    "honnin_engine_pad",
    "honnin_engine_verify",
    "honnin_engine_free",
    "honnin_session_options_default",
    "honnin_session_new",
    "honnin_session_new_without_models",
    "honnin_session_offered_methods",
    "honnin_session_choose",
    "honnin_session_feed_image",
    "honnin_session_feed_pixels",
    "honnin_session_source_stopped",
    "honnin_session_card_for_display",
    "honnin_display_photo_pixels",
    "honnin_display_photo_free",
    "honnin_session_staff_decide",
    "honnin_session_outcome",
    "honnin_session_free",
    "honnin_audit_log_open",
    "honnin_session_audit",
    "honnin_audit_log_free",
    "honnin_authenticity_failure_code",
    "honnin_passive_authentication",
    "honnin_session_authenticity",
    "honnin_try_policy_default",
    "honnin_reader_open",
    "honnin_reader_wait_card",
    "honnin_reader_free",
    "honnin_session_new_from_reader",
    "honnin_session_read_card_photo",
    "honnin_session_check_pin",
    "honnin_session_pin_tries",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn ort_lib() -> CString {
    let path = match std::env::var_os("HONNIN_ORT_LIB") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root().join(".runtime/libonnxruntime.so.1.31.1"),
    };
    assert!(path.is_file(), "ONNX Runtime not found at {}: run `python3 tools/setup.py` first", path.display());
    cstring(&path)
}

fn cstring(path: &Path) -> CString {
    CString::new(path.to_str().unwrap()).unwrap()
}

fn lfw(name: &str, n: u32) -> Vec<u8> {
    let data = std::env::var_os("HONNIN_DATA").map_or_else(|| root().join("../shared/data"), PathBuf::from);
    let path = data.join(format!("lfw/images/{name}/{name}_{n:04}.jpg"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (set HONNIN_DATA)", path.display()))
}

fn spoof_sample(file: &str) -> Vec<u8> {
    let data = std::env::var_os("HONNIN_DATA").map_or_else(|| root().join("../shared/data"), PathBuf::from);
    let path = data.join("spoof_samples").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (set HONNIN_DATA)", path.display()))
}

fn sample(file: &str) -> Vec<u8> {
    std::fs::read(root().join("samples").join(file)).unwrap()
}

fn engine_options(ort: &CString) -> honnin_engine_config {
    let mut options = std::mem::MaybeUninit::uninit();
    assert_eq!(unsafe { honnin_engine_config_default(options.as_mut_ptr()) }, OK);
    let mut options = unsafe { options.assume_init() };
    options.onnxruntime_path = ort.as_ptr();
    options
}

/// `options` for the models in `dir` and the calibration file `calibration`.
fn from_dir(mut options: honnin_engine_config, dir: &CString, calibration: &CString) -> honnin_engine_config {
    options.models.dir = dir.as_ptr();
    options.calibration.path = calibration.as_ptr();
    options
}

/// `options` for a manifest, its model files and a calibration's text, all in memory.
fn in_memory(
    mut options: honnin_engine_config,
    manifest: &[u8],
    files: &[honnin_model_file],
    calibration: &[u8],
) -> honnin_engine_config {
    options.models.manifest = manifest.as_ptr();
    options.models.manifest_len = manifest.len();
    options.models.files = files.as_ptr();
    options.models.n_files = files.len();
    options.calibration.json = calibration.as_ptr();
    options.calibration.json_len = calibration.len();
    options
}

/// `options` with one change.
fn edited(mut options: honnin_engine_config, edit: impl FnOnce(&mut honnin_engine_config)) -> honnin_engine_config {
    edit(&mut options);
    options
}

/// `honnin_engine_create` with these options: its status and engine.
fn build(options: &honnin_engine_config) -> (honnin_status, *mut honnin_engine) {
    let mut engine = null_mut();
    let status = unsafe { honnin_engine_create(options, &mut engine) };
    (status, engine)
}

fn session_options() -> honnin_session_options {
    let mut options = std::mem::MaybeUninit::uninit();
    assert_eq!(unsafe { honnin_session_options_default(options.as_mut_ptr()) }, OK);
    unsafe { options.assume_init() }
}

/// An engine without PAD: most tests here use LFW press photos, which the PAD
/// models often take for photos of photos (`pad_is_on_when_...` tests PAD).
fn new_engine(ort: &CString) -> *mut honnin_engine {
    let dir = cstring(&root().join("models"));
    let calibration = cstring(&root().join("calibration/intel-reid-0095.json"));
    let options = edited(from_dir(engine_options(ort), &dir, &calibration), |o| o.pad_mode = PAD_OFF);
    let (status, engine) = build(&options);
    assert_eq!(status, OK, "{}", last_error());
    assert!(!engine.is_null());
    engine
}

/// The default detector's and recognizer's files: (name, bytes).
fn default_model_files() -> Vec<(CString, Vec<u8>)> {
    ["yunet_s_dynamic.onnx", "face-reidentification-retail-0095.onnx"]
        .iter()
        .map(|n| (CString::new(*n).unwrap(), std::fs::read(root().join("models").join(n)).unwrap()))
        .collect()
}

/// `honnin_engine_create` on these bytes in memory (PAD as `options` say): its status and engine.
fn engine_from_memory(
    manifest: &[u8],
    files: &[(CString, Vec<u8>)],
    calibration: &[u8],
    options: &honnin_engine_config,
) -> (honnin_status, *mut honnin_engine) {
    let files: Vec<honnin_model_file> =
        files.iter().map(|(n, b)| honnin_model_file { name: n.as_ptr(), data: b.as_ptr(), len: b.len() }).collect();
    build(&in_memory(*options, manifest, &files, calibration))
}

fn last_error() -> String {
    let mut buf = [0 as c_char; 1024];
    let mut written = 0;
    assert_eq!(unsafe { honnin_last_error_detail(buf.as_mut_ptr(), buf.len(), &mut written) }, OK);
    let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap().to_string();
    assert_eq!(text.len(), written);
    text
}

fn new_session(engine: *const honnin_engine, card: &[u8]) -> *mut honnin_session {
    let options = session_options();
    let mut session = null_mut();
    let status = unsafe { honnin_session_new(engine, card.as_ptr(), card.len(), &options, &mut session) };
    assert_eq!(status, OK, "{}", last_error());
    session
}

/// A step output filled with a pattern; a failing call must leave it so.
fn untouched_step() -> honnin_step {
    honnin_step {
        kind: honnin_step_kind::Retry,
        guidance: honnin_guidance::Other,
        collected: 77,
        wanted: 77,
        fallback: honnin_fallback::Other,
        outcome: untouched_outcome(),
    }
}

fn untouched_outcome() -> honnin_outcome {
    honnin_outcome {
        decision: honnin_decision::Inconclusive,
        reason: honnin_reason::Other,
        method: honnin_method::None,
        metric: honnin_metric::None,
        score: -7.0,
        threshold: -7.0,
        target_fmr: -7.0,
        grey_reference: 7,
    }
}

#[test]
fn every_pointer_argument_refuses_null_and_leaves_outputs_untouched() {
    let ort = ort_lib();
    let engine = new_engine(&ort);
    let card = lfw("Colin_Powell", 1);
    let live = lfw("Colin_Powell", 2);
    let models = cstring(&root().join("models"));
    let calibration = cstring(&root().join("calibration/intel-reid-0095.json"));
    let eo = engine_options(&ort);
    let so = session_options();
    let mut buf = [0 as c_char; 64];
    let mut n = 0usize;
    unsafe {
        // Library functions.
        assert_eq!(honnin_last_error_detail(null_mut(), 64, &mut n), NULL);
        assert_eq!(honnin_last_error_detail(buf.as_mut_ptr(), 64, null_mut()), NULL);
        assert_eq!(honnin_engine_config_default(null_mut()), NULL);
        assert_eq!(honnin_harden_process(0, null_mut()), NULL);
        assert_eq!(honnin_live_handles(null_mut()), NULL);
        assert_eq!(honnin_session_options_default(null_mut()), NULL);

        // Engines, from a directory: every pointer is refused when NULL.
        let mut out = null_mut();
        let eo = from_dir(eo, &models, &calibration);
        assert_eq!(honnin_engine_create(&edited(eo, |o| o.models.dir = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(eo, |o| o.calibration.path = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(null(), &mut out), NULL);
        assert_eq!(honnin_engine_create(&eo, null_mut()), NULL);
        assert!(out.is_null(), "no handle written on failure");
        // From memory.
        let manifest = std::fs::read(root().join("models/manifest.json")).unwrap();
        let cal = std::fs::read(root().join("calibration/intel-reid-0095.json")).unwrap();
        let name = CString::new("x.onnx").unwrap();
        let files = [honnin_model_file { name: name.as_ptr(), data: b"x".as_ptr(), len: 1 }];
        let null_name = [honnin_model_file { name: null(), data: b"x".as_ptr(), len: 1 }];
        let null_data = [honnin_model_file { name: name.as_ptr(), data: null(), len: 1 }];
        let mo = in_memory(engine_options(&ort), &manifest, &files, &cal);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.models.manifest = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.models.files = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.calibration.json = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&mo, null_mut()), NULL);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.models.files = null_name.as_ptr()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.models.files = null_data.as_ptr()), &mut out), NULL);
        // With a PAD mode: every pointer is refused when NULL, the PAD
        // calibration included in the mode that needs one.
        let pad_path = cstring(&root().join("calibration/pad-minifasnet.json"));
        let eo = edited(eo, |o| {
            o.pad_mode = PAD_CALIBRATED;
            o.pad_calibration.path = pad_path.as_ptr();
        });
        assert_eq!(honnin_engine_create(&edited(eo, |o| o.models.dir = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(eo, |o| o.calibration.path = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(eo, |o| o.pad_calibration.path = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&eo, null_mut()), NULL);
        let without_pad_file = |mode| {
            edited(eo, |o| {
                o.pad_mode = mode;
                o.pad_calibration.path = null();
            })
        };
        assert_eq!(honnin_engine_create(&without_pad_file(PAD_OFF), null_mut()), NULL);
        assert_eq!(honnin_engine_create(&without_pad_file(PAD_BUILT_IN), null_mut()), NULL);
        let pad = std::fs::read(root().join("calibration/pad-minifasnet.json")).unwrap();
        let pad_text = |mode, json: *const u8, json_len| {
            edited(mo, |o| {
                o.pad_mode = mode;
                o.pad_calibration.json = json;
                o.pad_calibration.json_len = json_len;
            })
        };
        let mo = pad_text(PAD_CALIBRATED, pad.as_ptr(), pad.len());
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.models.manifest = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.models.files = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.calibration.json = null()), &mut out), NULL);
        assert_eq!(honnin_engine_create(&pad_text(PAD_CALIBRATED, null(), 0), &mut out), NULL);
        assert_eq!(honnin_engine_create(&mo, null_mut()), NULL);
        assert_eq!(honnin_engine_create(&pad_text(PAD_OFF, null(), 0), null_mut()), NULL);
        assert_eq!(honnin_engine_create(&edited(mo, |o| o.models.files = null_name.as_ptr()), &mut out), NULL);
        // Bad PAD text is read only after the other pointers are checked.
        let bad = b"{not json";
        assert_eq!(honnin_engine_create(&pad_text(PAD_CALIBRATED, bad.as_ptr(), bad.len()), null_mut()), NULL);
        assert!(out.is_null());
        let mut pad_info = honnin_pad_info { on: 7, threshold: 7.0, target_bpcer: 7.0 };
        assert_eq!(honnin_engine_pad(null(), &mut pad_info), NULL);
        assert_eq!(honnin_engine_pad(engine, null_mut()), NULL);
        assert_eq!((pad_info.on, pad_info.threshold, pad_info.target_bpcer), (7, 7.0, 7.0));

        let mut outcome = untouched_outcome();
        let (cp, cn, lp, ln) = (card.as_ptr(), card.len(), live.as_ptr(), live.len());
        assert_eq!(honnin_engine_verify(null(), cp, cn, lp, ln, &mut outcome), NULL);
        assert_eq!(honnin_engine_verify(engine, null(), cn, lp, ln, &mut outcome), NULL);
        assert_eq!(honnin_engine_verify(engine, cp, cn, null(), ln, &mut outcome), NULL);
        assert_eq!(honnin_engine_verify(engine, cp, cn, lp, ln, null_mut()), NULL);
        assert_eq!(outcome, untouched_outcome());
        assert_eq!(honnin_engine_free(null_mut()), NULL);

        // Sessions.
        let mut session = null_mut();
        assert_eq!(honnin_session_new(null(), cp, cn, &so, &mut session), NULL);
        assert_eq!(honnin_session_new(engine, null(), cn, &so, &mut session), NULL);
        assert_eq!(honnin_session_new(engine, cp, cn, null(), &mut session), NULL);
        assert_eq!(honnin_session_new(engine, cp, cn, &so, null_mut()), NULL);
        assert_eq!(honnin_session_new_without_models(null(), cn, &so, &mut session), NULL);
        assert_eq!(honnin_session_new_without_models(cp, cn, null(), &mut session), NULL);
        assert_eq!(honnin_session_new_without_models(cp, cn, &so, null_mut()), NULL);
        assert!(session.is_null());

        let s = new_session(engine, &card);
        let (mut methods, mut proposed) = (99u32, 99u32);
        assert_eq!(honnin_session_offered_methods(null(), &mut methods, &mut proposed), NULL);
        assert_eq!(honnin_session_offered_methods(s, null_mut(), &mut proposed), NULL);
        assert_eq!(honnin_session_offered_methods(s, &mut methods, null_mut()), NULL);
        assert_eq!((methods, proposed), (99, 99));
        assert_eq!(honnin_session_choose(null_mut(), honnin_method::Automatic as u32), NULL);
        assert_eq!(honnin_session_choose(s, honnin_method::Automatic as u32), OK);
        let mut step = untouched_step();
        assert_eq!(honnin_session_feed_image(null_mut(), lp, ln, &mut step), NULL);
        assert_eq!(honnin_session_feed_image(s, null(), ln, &mut step), NULL);
        assert_eq!(honnin_session_feed_image(s, lp, ln, null_mut()), NULL);
        let px = [0u8; 48];
        let rgb = honnin_pixel_format::Rgb8 as u32;
        assert_eq!(honnin_session_feed_pixels(null_mut(), px.as_ptr(), 48, 4, 4, 12, rgb, &mut step), NULL);
        assert_eq!(honnin_session_feed_pixels(s, null(), 48, 4, 4, 12, rgb, &mut step), NULL);
        assert_eq!(honnin_session_feed_pixels(s, px.as_ptr(), 48, 4, 4, 12, rgb, null_mut()), NULL);
        assert_eq!(honnin_session_source_stopped(null_mut(), 0, &mut step), NULL);
        assert_eq!(honnin_session_source_stopped(s, 0, null_mut()), NULL);
        assert_eq!(step, untouched_step());
        // The camera went away: the staff check is offered; choose it.
        assert_eq!(honnin_session_source_stopped(s, 1, &mut step), OK);
        assert_eq!(step.kind, honnin_step_kind::StaffOffered);
        assert_eq!(honnin_session_choose(s, honnin_method::StaffVisual as u32), OK);
        let mut photo = null_mut();
        assert_eq!(honnin_session_card_for_display(null(), 80, 60, &mut photo), NULL);
        assert_eq!(honnin_session_card_for_display(s, 80, 60, null_mut()), NULL);
        assert!(photo.is_null());
        assert_eq!(honnin_session_card_for_display(s, 80, 60, &mut photo), OK);
        let (mut pixels, mut len, mut w, mut h, mut ch) = (null(), 0usize, 0u32, 0u32, 0u32);
        assert_eq!(honnin_display_photo_pixels(null(), &mut pixels, &mut len, &mut w, &mut h, &mut ch), NULL);
        assert_eq!(honnin_display_photo_pixels(photo, null_mut(), &mut len, &mut w, &mut h, &mut ch), NULL);
        assert_eq!(honnin_display_photo_pixels(photo, &mut pixels, null_mut(), &mut w, &mut h, &mut ch), NULL);
        assert_eq!(honnin_display_photo_pixels(photo, &mut pixels, &mut len, null_mut(), &mut h, &mut ch), NULL);
        assert_eq!(honnin_display_photo_pixels(photo, &mut pixels, &mut len, &mut w, null_mut(), &mut ch), NULL);
        assert_eq!(honnin_display_photo_pixels(photo, &mut pixels, &mut len, &mut w, &mut h, null_mut()), NULL);
        assert!(pixels.is_null() && (len, w, h, ch) == (0, 0, 0, 0));
        assert_eq!(honnin_display_photo_free(null_mut()), NULL);
        assert_eq!(honnin_display_photo_free(photo), OK);
        let mut outcome = untouched_outcome();
        assert_eq!(honnin_session_staff_decide(null_mut(), 1, &mut outcome), NULL);
        assert_eq!(honnin_session_staff_decide(s, 1, null_mut()), NULL);
        assert_eq!(honnin_session_outcome(null(), &mut outcome), NULL);
        assert_eq!(honnin_session_outcome(s, null_mut()), NULL);
        assert_eq!(outcome, untouched_outcome());
        // Audit logs.
        let dir = std::env::temp_dir().join(format!("honnin-abi-null-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log_path = cstring(&dir.join("audit.jsonl"));
        let mut log = null_mut();
        assert_eq!(honnin_audit_log_open(null(), null(), null(), &mut log), NULL);
        assert_eq!(honnin_audit_log_open(log_path.as_ptr(), null(), null(), null_mut()), NULL);
        assert!(log.is_null());
        assert_eq!(honnin_audit_log_open(log_path.as_ptr(), null(), null(), &mut log), OK, "NULL ids: none");
        let mut seq = 99u64;
        assert_eq!(honnin_session_audit(null_mut(), log, 1, &mut seq), NULL);
        assert_eq!(honnin_session_audit(s, null_mut(), 1, &mut seq), NULL);
        assert_eq!(honnin_session_audit(s, log, 1, null_mut()), NULL);
        assert_eq!(seq, 99);
        assert_eq!(honnin_audit_log_free(null_mut()), NULL);
        assert_eq!(honnin_audit_log_free(log), OK);
        std::fs::remove_dir_all(&dir).unwrap();

        assert_eq!(honnin_session_free(null_mut()), NULL);
        assert_eq!(honnin_session_free(s), OK);

        // The last failure left its detail, which names the NULL argument.
        assert_eq!(honnin_session_free(null_mut()), NULL);
        assert_eq!(last_error(), "the handle is NULL");
        assert_eq!(honnin_engine_free(engine), OK);
    }
}

#[test]
fn a_freed_handle_is_refused_even_once_a_successor_exists() {
    let ort = ort_lib();
    let card = lfw("George_W_Bush", 1);
    let live = lfw("George_W_Bush", 2);
    let (cp, cn, lp, ln) = (card.as_ptr(), card.len(), live.as_ptr(), live.len());
    let so = session_options();
    unsafe {
        // Engines: free one, build its successor; the old handle stays dead.
        let old = new_engine(&ort);
        assert_eq!(honnin_engine_free(old), OK);
        let successor = new_engine(&ort);
        assert_ne!(old, successor, "handles are never reused");
        let mut outcome = untouched_outcome();
        assert_eq!(honnin_engine_verify(old, cp, cn, lp, ln, &mut outcome), STALE);
        assert_eq!(outcome, untouched_outcome());
        let mut pad_info = honnin_pad_info { on: 7, threshold: 7.0, target_bpcer: 7.0 };
        assert_eq!(honnin_engine_pad(old, &mut pad_info), STALE);
        assert_eq!(pad_info.on, 7);
        let mut session = null_mut();
        assert_eq!(honnin_session_new(old, cp, cn, &so, &mut session), STALE);
        assert!(session.is_null());
        assert_eq!(honnin_engine_free(old), STALE, "a double free is refused");
        assert!(last_error().contains("freed, or never issued"), "{}", last_error());
        assert_eq!(honnin_engine_verify(successor, cp, cn, lp, ln, &mut outcome), OK);
        assert_eq!(outcome.decision, honnin_decision::Match);

        // Sessions and display photos.
        let old_session = new_session(successor, &card);
        assert_eq!(honnin_session_choose(old_session, 2), OK);
        let mut old_photo = null_mut();
        assert_eq!(honnin_session_card_for_display(old_session, 80, 60, &mut old_photo), OK);
        assert_eq!(honnin_display_photo_free(old_photo), OK);
        assert_eq!(honnin_session_free(old_session), OK);
        let session = new_session(successor, &card);
        let (mut methods, mut proposed) = (99u32, 99u32);
        assert_eq!(honnin_session_offered_methods(session, &mut methods, &mut proposed), OK);
        assert_eq!(methods, honnin_method::Automatic as u32 | honnin_method::StaffVisual as u32);
        assert_eq!(proposed, honnin_method::Automatic as u32);
        assert_eq!(honnin_session_choose(session, 2), OK);
        let mut photo = null_mut();
        assert_eq!(honnin_session_card_for_display(session, 80, 60, &mut photo), OK);
        let (mut methods, mut proposed) = (99u32, 99u32);

        let mut step = untouched_step();
        let mut outcome = untouched_outcome();
        let mut dead_photo = null_mut();
        let (mut pixels, mut len, mut w, mut h, mut ch) = (null(), 0usize, 0u32, 0u32, 0u32);
        let px = [0u8; 48];
        let s = old_session;
        let p = old_photo;
        assert_eq!(honnin_session_offered_methods(s, &mut methods, &mut proposed), STALE);
        assert_eq!(honnin_session_choose(s, 1), STALE);
        assert_eq!(honnin_session_feed_image(s, lp, ln, &mut step), STALE);
        assert_eq!(honnin_session_feed_pixels(s, px.as_ptr(), 48, 4, 4, 12, 1, &mut step), STALE);
        assert_eq!(honnin_session_source_stopped(s, 0, &mut step), STALE);
        assert_eq!(honnin_session_card_for_display(s, 80, 60, &mut dead_photo), STALE);
        assert_eq!(honnin_session_staff_decide(s, 1, &mut outcome), STALE);
        assert_eq!(honnin_session_outcome(s, &mut outcome), STALE);
        let dir = std::env::temp_dir().join(format!("honnin-abi-stale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log_path = cstring(&dir.join("audit.jsonl"));
        let (mut old_log, mut log) = (null_mut(), null_mut());
        assert_eq!(honnin_audit_log_open(log_path.as_ptr(), null(), null(), &mut old_log), OK);
        assert_eq!(honnin_audit_log_free(old_log), OK);
        assert_eq!(honnin_audit_log_open(log_path.as_ptr(), null(), null(), &mut log), OK);
        let mut seq = 99u64;
        assert_eq!(honnin_session_audit(s, log, 1, &mut seq), STALE, "a freed session");
        assert_eq!(honnin_session_audit(session, old_log, 1, &mut seq), STALE, "a freed log");
        assert_eq!(honnin_session_audit(session, session as *mut honnin_audit_log, 1, &mut seq), STALE);
        assert!(last_error().contains("is a session, not an audit log"), "{}", last_error());
        assert_eq!(honnin_audit_log_free(old_log), STALE);
        assert_eq!(seq, 99);
        assert_eq!(honnin_audit_log_free(log), OK);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(honnin_session_free(s), STALE);
        assert_eq!(honnin_display_photo_pixels(p, &mut pixels, &mut len, &mut w, &mut h, &mut ch), STALE);
        assert_eq!(honnin_display_photo_free(p), STALE);
        assert_eq!((methods, proposed), (99, 99));
        assert_eq!(step, untouched_step());
        assert_eq!(outcome, untouched_outcome());
        assert!(dead_photo.is_null() && pixels.is_null());

        // A handle of another kind, and one never issued, are refused too.
        let as_engine = session as *const honnin_engine;
        assert_eq!(honnin_engine_verify(as_engine, cp, cn, lp, ln, &mut outcome), STALE);
        assert!(last_error().contains("is a session, not an engine"), "{}", last_error());
        let mut pad_info = honnin_pad_info { on: 7, threshold: 7.0, target_bpcer: 7.0 };
        assert_eq!(honnin_engine_pad(as_engine, &mut pad_info), STALE);
        assert_eq!(honnin_session_free(photo as *mut honnin_session), STALE);
        assert_eq!(honnin_display_photo_free(successor as *mut honnin_display_photo), STALE);
        assert_eq!(honnin_session_choose(usize::MAX as *mut honnin_session, 1), STALE);

        // The successors work.
        assert_eq!(honnin_display_photo_pixels(photo, &mut pixels, &mut len, &mut w, &mut h, &mut ch), OK);
        assert_eq!(len, (w * h * ch) as usize);
        assert_eq!((w, h, ch), (250 * 60 / 250, 60, 3), "a colour photo fitted into 80x60");
        assert_eq!(honnin_session_staff_decide(session, honnin_judgement::SamePerson as u32, &mut outcome), OK);
        assert_eq!((outcome.decision, outcome.method), (honnin_decision::Match, honnin_method::StaffVisual));
        assert_eq!(honnin_display_photo_free(photo), STALE, "the decision wiped the photo shown to staff");
        assert_eq!(honnin_session_free(session), OK);

        // Freeing the engine first: a session opened on it keeps it alive.
        let session = new_session(successor, &card);
        assert_eq!(honnin_engine_free(successor), OK);
        assert_eq!(honnin_session_choose(session, 1), OK);
        let mut decided = None;
        for n in 2..=5 {
            let frame = lfw("George_W_Bush", n);
            assert_eq!(honnin_session_feed_image(session, frame.as_ptr(), frame.len(), &mut step), OK);
            if step.kind == honnin_step_kind::Decided {
                decided = Some(step.outcome);
                break;
            }
        }
        let decided = decided.expect("three good frames decide");
        assert_eq!((decided.decision, decided.method), (honnin_decision::Match, honnin_method::Automatic));
        assert_eq!(honnin_session_free(session), OK);
    }
}

#[test]
fn bad_values_give_status_codes() {
    let ort = ort_lib();
    let engine = new_engine(&ort);
    let card = lfw("Colin_Powell", 1);
    unsafe {
        let session = new_session(engine, &card);
        assert_eq!(honnin_session_choose(session, 0), honnin_status::InvalidArgument);
        assert_eq!(honnin_session_choose(session, 7), honnin_status::InvalidArgument);
        let mut outcome = untouched_outcome();
        // Staff decision before choosing the staff check: refused by the session.
        assert_eq!(honnin_session_staff_decide(session, 1, &mut outcome), honnin_status::InvalidArgument);
        assert_eq!(honnin_session_outcome(session, &mut outcome), honnin_status::NotDecided);
        assert_eq!(outcome, untouched_outcome());
        assert_eq!(honnin_session_choose(session, 1), OK);
        let mut step = untouched_step();
        let px = vec![128u8; 64 * 64 * 4];
        // Unknown format, stride shorter than a row, buffer shorter than the frame, empty frame.
        for (len, w, h, stride, format) in [
            (px.len(), 64, 64, 192, 9),
            (px.len(), 64, 64, 100, 1),
            (64 * 63 * 3, 64, 64, 192, 1),
            (px.len(), 0, 64, 192, 1),
            (px.len(), 64, 64, 256, 0),
        ] {
            let status = honnin_session_feed_pixels(session, px.as_ptr(), len, w, h, stride, format, &mut step);
            assert_eq!(status, honnin_status::InvalidArgument, "{len} {w}x{h} stride {stride} format {format}");
        }
        let huge = honnin_session_feed_pixels(session, px.as_ptr(), px.len(), 100_000, 1, 400_000, 4, &mut step);
        assert_eq!(huge, honnin_status::LimitExceeded);
        assert_eq!(step, untouched_step());
        // A frame with no face: the attempt goes on and says so.
        assert_eq!(honnin_session_feed_pixels(session, px.as_ptr(), px.len(), 64, 64, 256, 4, &mut step), OK);
        assert_eq!((step.kind, step.guidance), (honnin_step_kind::Continue, honnin_guidance::StepIntoView));
        assert_eq!(honnin_session_source_stopped(session, 4, &mut step), honnin_status::InvalidArgument);
        let garbage = b"not an image at all";
        let status = honnin_session_feed_image(session, garbage.as_ptr(), garbage.len(), &mut step);
        assert_eq!(status, honnin_status::UnrecognisedFormat, "{}", last_error());
        assert_eq!(honnin_session_free(session), OK);

        // Engine options and inputs.
        let dir = cstring(&root().join("models"));
        let calibration = cstring(&root().join("calibration/intel-reid-0095.json"));
        let mut options = from_dir(engine_options(&ort), &dir, &calibration);
        let mut out = null_mut();
        options.target_fmr = 2.0;
        assert_eq!(honnin_engine_create(&options, &mut out), honnin_status::InvalidArgument);
        options.target_fmr = 0.5;
        assert_eq!(honnin_engine_create(&options, &mut out), honnin_status::Calibration);
        let missing = cstring(&root().join("no-such-models"));
        options.target_fmr = 1e-4;
        assert_eq!(
            honnin_engine_create(&edited(options, |o| o.models.dir = missing.as_ptr()), &mut out),
            honnin_status::Io
        );
        // A source is a directory or bytes in memory, not both.
        let text = b"{}";
        let both = edited(options, |o| (o.models.manifest, o.models.manifest_len) = (text.as_ptr(), text.len()));
        assert_eq!(honnin_engine_create(&both, &mut out), honnin_status::InvalidArgument);
        let files = [honnin_model_file { name: dir.as_ptr(), data: text.as_ptr(), len: text.len() }];
        let stray = edited(options, |o| (o.models.files, o.models.n_files) = (files.as_ptr(), 1));
        assert_eq!(honnin_engine_create(&stray, &mut out), honnin_status::InvalidArgument);
        let both = edited(options, |o| (o.calibration.json, o.calibration.json_len) = (text.as_ptr(), text.len()));
        assert_eq!(honnin_engine_create(&both, &mut out), honnin_status::InvalidArgument);
        options.intra_threads = 65;
        assert_eq!(honnin_engine_create(&options, &mut out), honnin_status::InvalidArgument);
        options.intra_threads = 0;
        let wrong_hash = CString::new("00".repeat(32)).unwrap();
        options.onnxruntime_sha256 = wrong_hash.as_ptr();
        assert_eq!(honnin_engine_create(&options, &mut out), honnin_status::Runtime);
        assert!(out.is_null());
        let mut outcome = untouched_outcome();
        let live = lfw("Colin_Powell", 2);
        let status =
            honnin_engine_verify(engine, garbage.as_ptr(), garbage.len(), live.as_ptr(), live.len(), &mut outcome);
        assert_eq!(status, honnin_status::UnrecognisedFormat);

        // The error detail: cut to fit a small buffer, with its full length,
        // and a failing call of the function keeps the detail.
        let mut small = [0x55 as c_char; 4];
        let mut written = 0;
        assert_eq!(honnin_last_error_detail(small.as_mut_ptr(), 4, &mut written), OK);
        let full = last_error();
        assert_eq!(written, full.len());
        assert!(full.len() > 4 && full.contains("card data"), "{full}");
        assert_eq!(CStr::from_ptr(small.as_ptr()).to_str().unwrap(), &full[..3]);
        assert_eq!(honnin_last_error_detail(small.as_mut_ptr(), 0, &mut written), honnin_status::InvalidArgument);
        assert_eq!(last_error(), full);

        // Fixed texts.
        let text = |p: *const c_char| CStr::from_ptr(p).to_str().unwrap().to_string();
        assert_eq!(text(honnin_version()), env!("CARGO_PKG_VERSION"));
        assert_eq!(
            text(honnin_status_text(2)),
            "not a live handle of this kind (freed, never issued, or another kind)"
        );
        assert_eq!(text(honnin_status_text(12345)), "unknown status code");
        assert_eq!(text(honnin_reason_code(honnin_reason::NoFaceLive as u32)), "no_face_live");
        assert_eq!(text(honnin_reason_code(12345)), "other");
        assert_eq!(text(honnin_guidance_code(honnin_guidance::MoveCloser as u32)), "move_closer");
        assert_eq!(text(honnin_guidance_code(0)), "none");
        assert_eq!(text(honnin_guidance_code(12345)), "other");
        assert_eq!(honnin_engine_free(engine), OK);
    }
}

#[test]
fn models_from_memory_give_the_same_scores_and_tampered_bytes_are_refused() {
    let ort = ort_lib();
    let from_dir = new_engine(&ort);
    let manifest = std::fs::read(root().join("models/manifest.json")).unwrap();
    let calibration = std::fs::read(root().join("calibration/intel-reid-0095.json")).unwrap();
    let mut blobs = default_model_files();
    let options = engine_options(&ort);
    let build = |blobs: &[(CString, Vec<u8>)]| engine_from_memory(&manifest, blobs, &calibration, &options);
    let (status, from_memory) = build(&blobs);
    assert_eq!(status, OK, "{}", last_error());
    for (a, b) in [(("Colin_Powell", 1), ("Colin_Powell", 2)), (("Colin_Powell", 1), ("George_W_Bush", 1))] {
        let card = lfw(a.0, a.1);
        let live = lfw(b.0, b.1);
        let verify = |engine| {
            let mut outcome = untouched_outcome();
            let status = unsafe {
                honnin_engine_verify(engine, card.as_ptr(), card.len(), live.as_ptr(), live.len(), &mut outcome)
            };
            assert_eq!(status, OK, "{}", last_error());
            outcome
        };
        let (x, y) = (verify(from_dir), verify(from_memory));
        assert_eq!(x, y, "same models, same outcome, bit for bit");
        assert_eq!(x.metric, honnin_metric::Cosine);
        assert!(x.score > 0.0 && x.threshold > 0.0 && x.target_fmr == honnin::calibration::DEFAULT_TARGET_FMR);
    }
    // One flipped byte in the recognizer: refused before ONNX Runtime sees it.
    let last = blobs[1].1.len() - 1000;
    blobs[1].1[last] ^= 1;
    let (status, engine) = build(&blobs);
    assert_eq!(status, honnin_status::ModelIntegrity);
    assert!(engine.is_null());
    assert!(last_error().contains("sha256"), "{}", last_error());
    // A missing file is a manifest problem, named.
    let (status, _) = build(&blobs[..1]);
    assert_eq!(status, honnin_status::Manifest);
    assert!(last_error().contains("face-reidentification-retail-0095.onnx"), "{}", last_error());
    // The sources mix: a model directory with the calibration's text, and
    // models in memory with the calibration file.
    let dir = cstring(&root().join("models"));
    let calibration_path = cstring(&root().join("calibration/intel-reid-0095.json"));
    let mut text_calibration = edited(options, |o| o.models.dir = dir.as_ptr());
    text_calibration.calibration =
        honnin_calibration_source { path: null(), json: calibration.as_ptr(), json_len: calibration.len() };
    let files = default_model_files();
    let files: Vec<honnin_model_file> =
        files.iter().map(|(n, b)| honnin_model_file { name: n.as_ptr(), data: b.as_ptr(), len: b.len() }).collect();
    let file_calibration = edited(in_memory(options, &manifest, &files, &[]), |o| {
        o.calibration = honnin_calibration_source { path: calibration_path.as_ptr(), json: null(), json_len: 0 };
    });
    for mixed in [text_calibration, file_calibration] {
        let (status, engine) = crate::build(&mixed);
        assert_eq!(status, OK, "{}", last_error());
        assert_eq!(unsafe { honnin_engine_free(engine) }, OK);
    }
    unsafe {
        assert_eq!(honnin_engine_free(from_dir), OK);
        assert_eq!(honnin_engine_free(from_memory), OK);
    }
}

#[test]
fn a_session_decides_from_raw_frames_and_the_staff_path_needs_no_models() {
    let ort = ort_lib();
    let engine = new_engine(&ort);
    let card = lfw("Colin_Powell", 1);
    unsafe {
        // Raw BGRA frames with padded rows, as a camera driver hands them over.
        let session = new_session(engine, &card);
        assert_eq!(honnin_session_choose(session, honnin_method::Automatic as u32), OK);
        let mut step = untouched_step();
        for n in 2..=6 {
            let rgb = image_rgb(&lfw("Colin_Powell", n));
            let (w, h) = (250usize, 250usize);
            let stride = w * 4 + 24;
            let mut bgra = vec![0xAAu8; stride * h];
            for y in 0..h {
                for x in 0..w {
                    let s = &rgb[(y * w + x) * 3..][..3];
                    bgra[y * stride + x * 4..][..4].copy_from_slice(&[s[2], s[1], s[0], 255]);
                }
            }
            let format = honnin_pixel_format::Bgra8 as u32;
            let status = honnin_session_feed_pixels(
                session,
                bgra.as_ptr(),
                bgra.len(),
                w as u32,
                h as u32,
                stride,
                format,
                &mut step,
            );
            assert_eq!(status, OK, "{}", last_error());
            if step.kind != honnin_step_kind::Continue {
                break;
            }
        }
        assert_eq!(step.kind, honnin_step_kind::Decided);
        assert_eq!(step.outcome.decision, honnin_decision::Match);
        let mut outcome = untouched_outcome();
        assert_eq!(honnin_session_outcome(session, &mut outcome), OK);
        assert_eq!(outcome, step.outcome);
        let (mut methods, mut proposed) = (99u32, 99u32);
        assert_eq!(honnin_session_offered_methods(session, &mut methods, &mut proposed), OK);
        assert_eq!((methods, proposed), (0, 0), "nothing is offered once decided");
        assert_eq!(honnin_session_free(session), OK);

        // The camera fails: the staff check is offered, and only it.
        let session = new_session(engine, &card);
        assert_eq!(honnin_session_choose(session, 1), OK);
        assert_eq!(honnin_session_source_stopped(session, honnin_source_stop::CameraTimeout as u32, &mut step), OK);
        assert_eq!((step.kind, step.fallback), (honnin_step_kind::StaffOffered, honnin_fallback::CameraFault));
        assert_eq!(honnin_session_offered_methods(session, &mut methods, &mut proposed), OK);
        assert_eq!(methods, honnin_method::StaffVisual as u32);
        assert_eq!(honnin_session_free(session), OK);

        // A terminal without models: the My Number sample, shown and judged by staff.
        let mynumber = sample("astronaut_mynumber.bin");
        let so = session_options();
        let mut session = null_mut();
        assert_eq!(honnin_session_new_without_models(mynumber.as_ptr(), mynumber.len(), &so, &mut session), OK);
        assert_eq!(honnin_session_offered_methods(session, &mut methods, &mut proposed), OK);
        assert_eq!((methods, proposed), (2, 2));
        assert_eq!(honnin_session_choose(session, 1), honnin_status::InvalidArgument, "no face check without models");
        assert_eq!(honnin_session_choose(session, 2), OK);
        let mut photo = null_mut();
        assert_eq!(honnin_session_card_for_display(session, 80, 60, &mut photo), OK);
        let (mut pixels, mut len, mut w, mut h, mut ch) = (null(), 0usize, 0u32, 0u32, 0u32);
        assert_eq!(honnin_display_photo_pixels(photo, &mut pixels, &mut len, &mut w, &mut h, &mut ch), OK);
        assert!(h == 60 && w <= 80 && ch == 1 && len == (w * h) as usize, "{w}x{h}x{ch}, {len} bytes");
        let shown = std::slice::from_raw_parts(pixels, len);
        let (lo, hi) = (shown.iter().min().unwrap(), shown.iter().max().unwrap());
        assert!(hi - lo > 100, "a real photo, not a blank: levels {lo}..{hi}");
        assert_eq!(honnin_display_photo_free(photo), OK);
        // A second photo, not freed by the caller: the decision wipes it.
        assert_eq!(honnin_session_card_for_display(session, 80, 60, &mut photo), OK);
        let mut outcome = untouched_outcome();
        assert_eq!(honnin_session_staff_decide(session, honnin_judgement::DifferentPerson as u32, &mut outcome), OK);
        let status = honnin_display_photo_pixels(photo, &mut pixels, &mut len, &mut w, &mut h, &mut ch);
        assert_eq!(status, STALE, "the display photo went with the decision");
        assert_eq!(honnin_display_photo_free(photo), STALE);
        assert_eq!(outcome.decision, honnin_decision::NoMatch);
        assert_eq!(outcome.method, honnin_method::StaffVisual);
        assert_eq!((outcome.metric, outcome.score, outcome.threshold), (honnin_metric::None, 0.0, 0.0));
        assert_eq!(honnin_session_free(session), OK);

        // A photo the caller forgot: freeing its session wipes it.
        let mut session = null_mut();
        assert_eq!(honnin_session_new_without_models(mynumber.as_ptr(), mynumber.len(), &so, &mut session), OK);
        assert_eq!(honnin_session_choose(session, 2), OK);
        assert_eq!(honnin_session_card_for_display(session, 80, 60, &mut photo), OK);
        assert_eq!(honnin_session_free(session), OK);
        assert_eq!(honnin_display_photo_free(photo), STALE);
        assert_eq!(honnin_engine_free(engine), OK);
    }
}

#[test]
fn each_session_is_audited_once_into_a_private_chained_log() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("honnin-abi-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let c_path = cstring(&path);
    let terminal = CString::new("counter-3").unwrap();
    let operator = CString::new("op-7").unwrap();
    let mynumber = sample("astronaut_mynumber.bin");
    let so = session_options();
    unsafe {
        let bad = CString::new("two\nlines").unwrap();
        let mut log = null_mut();
        let status = honnin_audit_log_open(c_path.as_ptr(), bad.as_ptr(), null(), &mut log);
        assert_eq!(status, honnin_status::InvalidArgument);
        assert!(log.is_null());
        assert_eq!(honnin_audit_log_open(c_path.as_ptr(), terminal.as_ptr(), operator.as_ptr(), &mut log), OK);
        // A staff decision, then a session left at the question (timed out).
        let mut session = null_mut();
        assert_eq!(honnin_session_new_without_models(mynumber.as_ptr(), mynumber.len(), &so, &mut session), OK);
        assert_eq!(honnin_session_choose(session, honnin_method::StaffVisual as u32), OK);
        let mut outcome = untouched_outcome();
        assert_eq!(honnin_session_staff_decide(session, honnin_judgement::SamePerson as u32, &mut outcome), OK);
        let mut seq = 0u64;
        assert_eq!(honnin_session_audit(session, log, 0, &mut seq), honnin_status::InvalidArgument, "bad end");
        assert_eq!(honnin_session_audit(session, log, honnin_session_end::Quit as u32, &mut seq), OK);
        assert_eq!(seq, 1);
        let again = honnin_session_audit(session, log, honnin_session_end::Quit as u32, &mut seq);
        assert_eq!(again, honnin_status::InvalidArgument, "one record per session");
        assert_eq!(honnin_session_free(session), OK);
        assert_eq!(honnin_session_new_without_models(mynumber.as_ptr(), mynumber.len(), &so, &mut session), OK);
        assert_eq!(honnin_session_audit(session, log, honnin_session_end::Timeout as u32, &mut seq), OK);
        assert_eq!(seq, 2);
        assert_eq!(honnin_session_free(session), OK);
        assert_eq!(honnin_audit_log_free(log), OK);

        let text = std::fs::read_to_string(&path).unwrap();
        let records: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0]["ended"].as_str(), records[0]["outcome"].as_str(), records[0]["method"].as_str()),
            (Some("decided"), Some("match"), Some("staff_visual"))
        );
        assert_eq!((records[1]["ended"].as_str(), records[1]["outcome"].as_str()), (Some("timeout"), None));
        assert_eq!(
            (records[1]["terminal_id"].as_str(), records[1]["operator_id"].as_str()),
            (Some("counter-3"), Some("op-7"))
        );
        let report = honnin::audit::verify_log_file(&path, true).unwrap();
        assert_eq!(report.records, 2);
        for file in [path.clone(), honnin::audit::audit_head_path(&path)] {
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }

        // A log others may read, and one whose last record was removed, are refused.
        let mut log = null_mut();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(honnin_audit_log_open(c_path.as_ptr(), null(), null(), &mut log), honnin_status::Audit);
        assert!(last_error().contains("must be 600"), "{}", last_error());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, text.lines().next().unwrap().to_string() + "\n").unwrap();
        assert_eq!(honnin_audit_log_open(c_path.as_ptr(), null(), null(), &mut log), honnin_status::Audit);
        assert!(log.is_null());
        assert!(last_error().contains("the head file names record 2"), "{}", last_error());
        let text = |p: *const c_char| CStr::from_ptr(p).to_str().unwrap().to_string();
        assert_eq!(text(honnin_status_text(34)), "the audit log is not private or its end does not check out");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn image_rgb(jpeg: &[u8]) -> Vec<u8> {
    let image = image::load_from_memory(jpeg).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (250, 250));
    image.into_raw()
}

#[test]
fn the_tests_cover_every_function_of_the_header() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/honnin.h")).unwrap();
    let mut declared: Vec<String> = header
        .lines()
        .filter(|l| !l.starts_with("//") && !l.starts_with(' '))
        .filter_map(|l| l.split_once('(').map(|(head, _)| head))
        .filter_map(|head| head.split(|c: char| !(c.is_alphanumeric() || c == '_')).rfind(|w| w.starts_with("honnin_")))
        .map(str::to_string)
        .collect();
    declared.sort();
    let mut listed: Vec<String> = FUNCTIONS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(declared, listed, "the header's functions and the ones this file tests");
    let source = std::fs::read_to_string(file!()).or_else(|_| std::fs::read_to_string(root().join(file!()))).unwrap();
    for f in FUNCTIONS {
        let calls = source.matches(&format!("{f}(")).count();
        assert!(calls >= 1, "{f} is never called in this file");
    }
}

#[test]
fn sessions_on_one_engine_run_on_several_threads_and_a_free_during_a_call_is_safe() {
    let ort = ort_lib();
    let engine = new_engine(&ort) as usize;
    // Four threads, each its own session on the shared engine, deciding from real frames.
    let workers: Vec<_> =
        [("Colin_Powell", true), ("George_W_Bush", true), ("Colin_Powell", false), ("George_W_Bush", false)]
            .into_iter()
            .map(|(name, same)| {
                std::thread::spawn(move || unsafe {
                    let engine = engine as *const honnin_engine;
                    let card = lfw(name, 1);
                    let session = new_session(engine, &card);
                    assert_eq!(honnin_session_choose(session, 1), OK);
                    let other = if name == "Colin_Powell" { "George_W_Bush" } else { "Colin_Powell" };
                    let mut step = untouched_step();
                    for n in 2..=8 {
                        let frame = lfw(if same { name } else { other }, n);
                        assert_eq!(honnin_session_feed_image(session, frame.as_ptr(), frame.len(), &mut step), OK);
                        if step.kind != honnin_step_kind::Continue {
                            break;
                        }
                    }
                    let decision = step.outcome.decision;
                    assert_eq!(honnin_session_free(session), OK);
                    (step.kind, decision)
                })
            })
            .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    // Every session was freed; the engine's handle is the one left.
    let mut live = 0;
    assert_eq!(unsafe { honnin_live_handles(&mut live) }, OK);
    assert!(live >= 1, "{live}");
    use honnin_decision::Match;
    use honnin_step_kind::{Decided, Retry};
    assert_eq!(results[0], (Decided, Match));
    assert_eq!(results[1], (Decided, Match));
    // A non-match does not end the session at once: the first one starts a retry.
    assert_eq!(results[2], (Retry, honnin_decision::None));
    assert_eq!(results[3], (Retry, honnin_decision::None));

    // One thread feeds frames while another frees the session: every call
    // returns a status (the feeding call in flight completes; later ones see a
    // stale handle), and nothing crashes.
    let engine = engine as *const honnin_engine;
    let card = lfw("Colin_Powell", 1);
    // 20 frames per attempt: the session cannot decide while the feeder runs.
    let mut options = session_options();
    options.frames_per_attempt = 20;
    let mut session = null_mut();
    let status = unsafe { honnin_session_new(engine, card.as_ptr(), card.len(), &options, &mut session) };
    assert_eq!(status, OK);
    let session = session as usize;
    assert_eq!(unsafe { honnin_session_choose(session as *mut honnin_session, 1) }, OK);
    let (first_fed, wait_first) = std::sync::mpsc::channel();
    let feeder = std::thread::spawn(move || {
        let frame = lfw("Colin_Powell", 2);
        let mut statuses = Vec::new();
        for _ in 0..20 {
            let mut step = untouched_step();
            let status = unsafe {
                honnin_session_feed_image(session as *mut honnin_session, frame.as_ptr(), frame.len(), &mut step)
            };
            statuses.push(status);
            if statuses.len() == 1 {
                first_fed.send(()).unwrap();
            }
            if status == STALE {
                break;
            }
        }
        statuses
    });
    // Freed while the second frame is being fed (a detection takes tens of ms).
    wait_first.recv().unwrap();
    assert_eq!(unsafe { honnin_session_free(session as *mut honnin_session) }, OK);
    let statuses = feeder.join().unwrap();
    assert_eq!(statuses.first(), Some(&OK));
    assert!(statuses.iter().all(|s| *s == OK || *s == STALE), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&STALE), "the feeder saw the free: {statuses:?}");
    assert!(statuses.len() <= 3, "at most the call in flight completed after the free: {statuses:?}");
    assert_eq!(unsafe { honnin_engine_free(engine as *mut honnin_engine) }, OK);
}

#[test]
fn hardening_reports_what_took_effect_and_the_process_shows_it() {
    let mut report = honnin_hardening {
        no_core_dumps: honnin_measure::Unsupported,
        wipe_freed_heap: honnin_measure::Unsupported,
        lock_biometric_buffers: honnin_measure::Unsupported,
    };
    assert_eq!(unsafe { honnin_harden_process(0, &mut report) }, OK);
    assert_eq!(report.no_core_dumps, honnin_measure::Applied);
    assert_eq!(report.wipe_freed_heap, honnin_measure::Off);
    assert_eq!(report.lock_biometric_buffers, honnin_measure::Applied);
    // Not dumpable, no core file, and a verification's buffers were locked.
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE) }, 0, "the process is not dumpable");
    let before = honnin::hardening::memory_lock_status().locked;
    let ort = ort_lib();
    let engine = new_engine(&ort);
    let (card, live) = (lfw("Colin_Powell", 1), lfw("Colin_Powell", 2));
    let mut outcome = untouched_outcome();
    let status =
        unsafe { honnin_engine_verify(engine, card.as_ptr(), card.len(), live.as_ptr(), live.len(), &mut outcome) };
    assert_eq!(status, OK);
    assert!(honnin::hardening::memory_lock_status().locked > before, "buffers were locked");
    assert_eq!(unsafe { honnin_engine_free(engine) }, OK);
}

#[test]
fn pad_is_on_when_its_models_are_present_and_can_be_recalibrated_or_turned_off() {
    let ort = ort_lib();
    let models = cstring(&root().join("models"));
    let calibration = cstring(&root().join("calibration/intel-reid-0095.json"));
    let options = from_dir(engine_options(&ort), &models, &calibration);
    let pad_path = root().join("calibration/pad-minifasnet.json");
    let committed: serde_json::Value = serde_json::from_slice(&std::fs::read(&pad_path).unwrap()).unwrap();
    let threshold = committed["threshold"].as_f64().unwrap() as f32;
    // A printed photo of the card holder, as card and as live image.
    let printed = spoof_sample("vietmoney/fake_003.jpg");
    let pad_of = |engine: *const honnin_engine| {
        let mut info = honnin_pad_info { on: 7, threshold: 7.0, target_bpcer: 7.0 };
        assert_eq!(unsafe { honnin_engine_pad(engine, &mut info) }, OK);
        (info.on, info.threshold, info.target_bpcer)
    };
    let verify = |engine: *const honnin_engine| {
        let mut outcome = untouched_outcome();
        let status = unsafe {
            honnin_engine_verify(engine, printed.as_ptr(), printed.len(), printed.as_ptr(), printed.len(), &mut outcome)
        };
        assert_eq!(status, OK, "{}", last_error());
        (outcome.decision, outcome.reason)
    };
    let attack = (honnin_decision::Inconclusive, honnin_reason::PresentationAttackSuspected);
    unsafe {
        // The default options: PAD on, at the calibration built into honnin.
        let (status, default) = build(&options);
        assert_eq!(status, OK, "{}", last_error());
        assert_eq!(pad_of(default), (1, threshold, 0.10));
        assert_eq!(verify(default), attack);

        let with_mode = |mode: u32, pad: Option<&Path>| {
            let pad = pad.map(cstring);
            build(&edited(options, |o| {
                o.pad_mode = mode;
                o.pad_calibration.path = pad.as_ref().map_or(null(), |p| p.as_ptr());
            }))
        };
        let with_pad = |pad: Option<&Path>| with_mode(if pad.is_some() { PAD_CALIBRATED } else { PAD_OFF }, pad);
        // The built-in calibration, asked for explicitly: the same as the default.
        let (status, built_in) = with_mode(PAD_BUILT_IN, None);
        assert_eq!(status, OK, "{}", last_error());
        assert_eq!(pad_of(built_in), (1, threshold, 0.10));
        assert_eq!(honnin_engine_free(built_in), OK);
        // A mode and a PAD calibration that do not go together, or an unknown mode: refused.
        assert_eq!(with_mode(PAD_DEFAULT, Some(&pad_path)).0, honnin_status::InvalidArgument);
        assert_eq!(with_mode(PAD_OFF, Some(&pad_path)).0, honnin_status::InvalidArgument);
        assert_eq!(with_mode(PAD_BUILT_IN, Some(&pad_path)).0, honnin_status::InvalidArgument);
        assert_eq!(with_mode(PAD_CALIBRATED, None).0, NULL);
        assert_eq!(with_mode(4, None).0, honnin_status::InvalidArgument);
        assert_eq!(with_mode(4, Some(&pad_path)).0, honnin_status::InvalidArgument);
        // PAD off (a terminal with its own PAD sensor): the printed photo is compared, and matches.
        let (status, off) = with_pad(None);
        assert_eq!(status, OK, "{}", last_error());
        assert_eq!(pad_of(off).0, 0);
        assert_eq!(verify(off), (honnin_decision::Match, honnin_reason::None));
        // A PAD calibration file of one's own (here a stricter threshold).
        let scratch = std::env::temp_dir().join(format!("honnin-abi-pad-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        let mut strict = committed.clone();
        strict["threshold"] = serde_json::json!(0.75);
        let strict_path = scratch.join("strict.json");
        std::fs::write(&strict_path, serde_json::to_vec(&strict).unwrap()).unwrap();
        // Not a calibration honnin ships: refused unless pinned.
        assert_eq!(with_pad(Some(&strict_path)).0, honnin_status::Calibration);
        assert!(last_error().contains("not pinned"), "{}", last_error());
        let any = CString::new("any").unwrap();
        let mut unpinned = options;
        unpinned.pad_calibration_sha256 = any.as_ptr();
        let with_own = |pad: &Path| {
            let pad = cstring(pad);
            build(&edited(unpinned, |o| {
                o.pad_mode = PAD_CALIBRATED;
                o.pad_calibration.path = pad.as_ptr();
            }))
        };
        let (status, own) = with_own(&strict_path);
        assert_eq!(status, OK, "{}", last_error());
        assert_eq!(pad_of(own), (1, 0.75, 0.10));
        assert_eq!(verify(own), attack);
        // A calibration for other PAD models is refused, and so is a bad file.
        let mut other = committed.clone();
        other["models"][0]["sha256"] = serde_json::json!("00".repeat(32));
        let other_path = scratch.join("other.json");
        std::fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
        let (status, engine) = with_own(&other_path);
        assert_eq!(status, honnin_status::Calibration);
        assert!(engine.is_null() && last_error().contains("PAD"), "{}", last_error());
        std::fs::write(&other_path, b"{}").unwrap();
        assert_eq!(with_own(&other_path).0, honnin_status::Calibration);
        assert_eq!(with_pad(Some(&scratch.join("missing.json"))).0, honnin_status::Io);

        // In memory: with the PAD model files, PAD is on by default; the
        // explicit variant turns it off or takes the calibration's text.
        let manifest = std::fs::read(root().join("models/manifest.json")).unwrap();
        let main_calibration = std::fs::read(root().join("calibration/intel-reid-0095.json")).unwrap();
        let pad_text = std::fs::read(&pad_path).unwrap();
        let names = [
            "yunet_s_dynamic.onnx",
            "face-reidentification-retail-0095.onnx",
            "antispoof_2.7_80x80_MiniFASNetV2.onnx",
            "antispoof_4_0_0_80x80_MiniFASNetV1SE.onnx",
        ];
        let blobs: Vec<Vec<u8>> = names.iter().map(|n| std::fs::read(root().join("models").join(n)).unwrap()).collect();
        let names: Vec<CString> = names.iter().map(|n| CString::new(*n).unwrap()).collect();
        let files: Vec<honnin_model_file> = names
            .iter()
            .zip(&blobs)
            .map(|(n, b)| honnin_model_file { name: n.as_ptr(), data: b.as_ptr(), len: b.len() })
            .collect();
        // The first `n` files, with PAD in `mode` (the PAD calibration's text with HONNIN_PAD_MODE_CALIBRATED).
        let from_memory = |n: usize, mode: u32| {
            let (json, json_len) =
                if mode == PAD_CALIBRATED { (pad_text.as_ptr(), pad_text.len()) } else { (null(), 0) };
            build(&edited(in_memory(engine_options(&ort), &manifest, &files[..n], &main_calibration), |o| {
                o.pad_mode = mode;
                o.pad_calibration.json = json;
                o.pad_calibration.json_len = json_len;
            }))
        };
        let (status, engine) = from_memory(4, PAD_DEFAULT);
        assert_eq!(status, OK, "{}", last_error());
        assert_eq!(pad_of(engine), (1, threshold, 0.10));
        assert_eq!(verify(engine), attack);
        assert_eq!(honnin_engine_free(engine), OK);
        // Without the PAD files: off.
        let (status, engine) = from_memory(2, PAD_DEFAULT);
        assert_eq!(status, OK);
        assert_eq!(pad_of(engine).0, 0);
        assert_eq!(honnin_engine_free(engine), OK);
        let (status, engine) = from_memory(4, PAD_CALIBRATED);
        assert_eq!(status, OK, "{}", last_error());
        assert_eq!(pad_of(engine), (1, threshold, 0.10));
        assert_eq!(honnin_engine_free(engine), OK);
        let (status, engine) = from_memory(4, PAD_OFF);
        assert_eq!(status, OK);
        assert_eq!(pad_of(engine).0, 0);
        assert_eq!(verify(engine), (honnin_decision::Match, honnin_reason::None));
        assert_eq!(honnin_engine_free(engine), OK);
        // A PAD calibration without the PAD models: refused, not silently off.
        let (status, engine) = from_memory(2, PAD_CALIBRATED);
        assert_eq!(status, honnin_status::Calibration);
        assert!(engine.is_null());
        // Nor does the built-in mode build an engine without PAD.
        let (status, engine) = from_memory(2, PAD_BUILT_IN);
        assert_eq!(status, honnin_status::Calibration);
        assert!(engine.is_null());
        // One PAD file of two: refused, not PAD off.
        let (status, engine) = from_memory(3, PAD_DEFAULT);
        assert_eq!(status, honnin_status::Manifest);
        assert!(engine.is_null());
        std::fs::remove_dir_all(&scratch).unwrap();
        for engine in [default, off, own] {
            assert_eq!(honnin_engine_free(engine), OK);
        }
    }
}

#[test]
fn tampered_calibrations_are_refused_and_the_shipped_ones_accepted() {
    let ort = ort_lib();
    let models = cstring(&root().join("models"));
    let any = CString::new("any").unwrap();
    let scratch = std::env::temp_dir().join(format!("honnin-abi-tampered-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let build = |calibration: &Path, pin: Option<&CString>| {
        let calibration = cstring(calibration);
        build(&edited(from_dir(engine_options(&ort), &models, &calibration), |o| {
            o.calibration_sha256 = pin.map_or(null(), |p| p.as_ptr());
            o.pad_mode = PAD_OFF;
        }))
    };
    for (i, case) in tampered_calibrations::tampered(&root()).iter().enumerate() {
        let path = scratch.join(format!("tampered-{i}.json"));
        std::fs::write(&path, &case.text).unwrap();
        // Not pinned: refused before anything else.
        let (status, engine) = build(&path, None);
        assert_eq!(status, honnin_status::Calibration, "{}", case.what);
        assert!(engine.is_null() && last_error().contains("not pinned"), "{}: {}", case.what, last_error());
        // Pinned by its own hash, or unpinned: still implausible.
        let own = CString::new(sha256_hex(case.text.as_bytes())).unwrap();
        for pin in [&own, &any] {
            let (status, engine) = build(&path, Some(pin));
            assert_eq!(status, honnin_status::Calibration, "{}", case.what);
            let detail = last_error();
            assert!(engine.is_null(), "{}", case.what);
            assert!(detail.contains("implausible") && detail.contains(case.expected), "{}: {detail}", case.what);
        }
        // In memory, the same.
        let manifest = std::fs::read(root().join("models/manifest.json")).unwrap();
        let mut options = engine_options(&ort);
        options.calibration_sha256 = any.as_ptr();
        let (status, _) = engine_from_memory(&manifest, &default_model_files(), case.text.as_bytes(), &options);
        assert_eq!(status, honnin_status::Calibration, "{} (in memory)", case.what);
        assert!(last_error().contains(case.expected), "{}: {}", case.what, last_error());
    }
    // A malformed pin is an invalid argument; the shipped files build engines.
    let shipped = root().join("calibration/intel-reid-0095.json");
    let bad = CString::new("xyz").unwrap();
    assert_eq!(build(&shipped, Some(&bad)).0, honnin_status::InvalidArgument);
    let (status, engine) = build(&shipped, None);
    assert_eq!(status, OK, "{}", last_error());
    assert_eq!(unsafe { honnin_engine_free(engine) }, OK);
    let _ = std::fs::remove_dir_all(&scratch);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn dg2_data(name: &str) -> Vec<u8> {
    let data = std::env::var_os("HONNIN_DATA").map_or_else(|| root().join("../shared/data"), PathBuf::from);
    let path = data.join("dg2").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (set HONNIN_DATA)", path.display()))
}

fn authenticity_of(session: *const honnin_session) -> honnin_authenticity {
    let mut out = honnin_authenticity {
        status: honnin_authenticity_status::Failed,
        scheme: 99,
        anchored: 9,
        chip_answered: 9,
        failure: 99,
    };
    assert_eq!(unsafe { honnin_session_authenticity(session, &mut out) }, OK);
    out
}

/// Passive authentication of a real passport's DG2 against its EF.SOD, and
/// the same DG2 with its last byte changed; NULLs and bad counts refused.
#[test]
fn passive_authentication_checks_a_real_passport_and_names_the_failure() {
    let (dg2, sod) = (dg2_data("gmrtd_uk_passport_dg2.bin"), dg2_data("sod/gmrtd_uk_passport_sod.bin"));
    let corrupt = dg2_data("gmrtd_uk_passport_dg2_corrupt_lastbyte.bin");
    let check = |dg2: &[u8]| {
        let mut out = honnin_authenticity {
            status: honnin_authenticity_status::NotChecked,
            scheme: 0,
            anchored: 9,
            chip_answered: 9,
            failure: 99,
        };
        let status = unsafe {
            honnin_passive_authentication(dg2.as_ptr(), dg2.len(), sod.as_ptr(), sod.len(), null(), null(), 0, &mut out)
        };
        (status, out)
    };
    let (status, out) = check(&dg2);
    assert_eq!(status, OK);
    assert_eq!(
        (out.status, out.scheme, out.anchored, out.chip_answered, out.failure),
        (honnin_authenticity_status::Verified, 1, 0, 0, 0)
    );
    let (status, out) = check(&corrupt);
    assert_eq!(status, OK, "a failed check is a result, not an error");
    assert_eq!((out.status, out.failure), (honnin_authenticity_status::Failed, 3));
    let code = unsafe { CStr::from_ptr(honnin_authenticity_failure_code(out.failure)) };
    assert_eq!(code.to_str().unwrap(), "hash_mismatch");
    let mut out = check(&dg2).1;
    let status =
        unsafe { honnin_passive_authentication(null(), 0, sod.as_ptr(), sod.len(), null(), null(), 0, &mut out) };
    assert_eq!(status, NULL);
    let status = unsafe {
        honnin_passive_authentication(dg2.as_ptr(), dg2.len(), sod.as_ptr(), sod.len(), null(), null(), 1, &mut out)
    };
    assert_eq!(status, NULL, "a CSCA count with NULL arrays");
}

/// A session from the card in a (simulated) reader, as C drives it: the PIN
/// offered, a wrong PIN costs one try, the right one decides with the PIN
/// method; the chip photo read with 照合番号B's parts is verified; a wrong
/// code is WRONG_CODE with the tries left; handles freed.
#[test]
fn a_reader_session_through_c_offers_the_pin_and_reads_the_photo() {
    use honnin_cardsim::harness::{Harness, Options};
    use honnin_cardsim::CardSpec;
    let photo = root().join("samples/astronaut_card_grey.jp2");
    let mut harness =
        Harness::start(Options::locate().expect("simulator built"), &CardSpec::new(&photo)).expect("harness");
    let name = CString::new(harness.reader()).unwrap();
    let mut reader: *mut honnin_reader = null_mut();
    assert_eq!(unsafe { honnin_reader_open(name.as_ptr(), &mut reader) }, OK);
    let unknown = CString::new("no such reader").unwrap();
    let mut other: *mut honnin_reader = null_mut();
    assert_eq!(unsafe { honnin_reader_open(unknown.as_ptr(), &mut other) }, honnin_status::NoReader);
    let mut present = 9;
    assert_eq!(unsafe { honnin_reader_wait_card(reader, 2000, &mut present) }, OK);
    assert_eq!(present, 1);
    let mut options = unsafe { std::mem::zeroed::<honnin_session_options>() };
    assert_eq!(unsafe { honnin_session_options_default(&mut options) }, OK);
    let mut policy = honnin_try_policy { min_tries_left: 0, min_pin_tries_left: 0 };
    assert_eq!(unsafe { honnin_try_policy_default(&mut policy) }, OK);
    assert_eq!((policy.min_tries_left, policy.min_pin_tries_left), (3, 2));
    let open = |session: &mut *mut honnin_session| unsafe {
        honnin_session_new_from_reader(null(), reader, &options, &policy, null(), null(), 0, session)
    };
    let mut session: *mut honnin_session = null_mut();
    assert_eq!(open(&mut session), OK);
    let (mut methods, mut proposed) = (0, 0);
    assert_eq!(unsafe { honnin_session_offered_methods(session, &mut methods, &mut proposed) }, OK);
    let pin_method = honnin_method::CardPin as u32;
    assert_eq!(methods, pin_method | honnin_method::StaffVisual as u32, "no models: the PIN and the staff check");
    assert_eq!(unsafe { honnin_session_choose(session, pin_method) }, OK);
    let wrong = CString::new("0000").unwrap();
    let mut step = untouched_step();
    assert_eq!(unsafe { honnin_session_check_pin(session, wrong.as_ptr(), &mut step) }, OK);
    assert_eq!(step.kind, honnin_step_kind::PinRejected);
    let mut tries = 0;
    assert_eq!(unsafe { honnin_session_pin_tries(session, &mut tries) }, OK);
    assert_eq!(tries, 2);
    assert_eq!(unsafe { honnin_session_choose(session, pin_method) }, OK);
    assert_eq!(
        unsafe { honnin_session_check_pin(session, null(), &mut step) },
        honnin_status::InvalidArgument,
        "no keypad"
    );
    let right = CString::new("4321").unwrap();
    assert_eq!(unsafe { honnin_session_check_pin(session, right.as_ptr(), &mut step) }, OK);
    assert_eq!(
        (step.kind, step.outcome.decision, step.outcome.method),
        (honnin_step_kind::Decided, honnin_decision::Match, honnin_method::CardPin)
    );
    assert_eq!(unsafe { honnin_session_free(session) }, OK);
    // The photo: a wrong code first, then the right one.
    harness.swap(&CardSpec::new(&photo)).expect("fresh card");
    let mut session: *mut honnin_session = null_mut();
    assert_eq!(open(&mut session), OK);
    let (bad, good) = (CString::new("9999").unwrap(), CString::new("1234").unwrap());
    let mut left = 0;
    let status = unsafe { honnin_session_read_card_photo(session, 1980, 2, 17, 2034, bad.as_ptr(), &mut left) };
    assert_eq!((status, left), (honnin_status::WrongCode, 9));
    assert_eq!(authenticity_of(session).status, honnin_authenticity_status::NotChecked);
    let status = unsafe { honnin_session_read_card_photo(session, 1980, 2, 17, 2034, good.as_ptr(), &mut left) };
    assert_eq!(status, OK);
    let read = authenticity_of(session);
    assert_eq!((read.status, read.scheme, read.chip_answered), (honnin_authenticity_status::Verified, 2, 1));
    assert_eq!(unsafe { honnin_session_free(session) }, OK);
    assert_eq!(unsafe { honnin_reader_free(reader) }, OK);
    assert_eq!(unsafe { honnin_reader_free(reader) }, STALE);
}
