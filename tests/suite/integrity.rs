//! Models, runtime and calibration that are not what they claim are refused
//! with typed errors before anything is run.

use std::path::{Path, PathBuf};

use honnin::models::Metric;
use honnin::{danger, Engine, Error, Models, Policy};

use crate::common;

/// A private copy of the model directory, removed on drop.
pub struct ModelCopy(pub PathBuf);

impl ModelCopy {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("honnin-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(common::models_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ModelCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn flip_one_byte(path: &Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_recognizer_with_one_flipped_byte_is_refused() {
    let copy = ModelCopy::new("flip-recognizer");
    let file = copy.path().join("face-reidentification-retail-0095.onnx");
    flip_one_byte(&file, 2_000_000);
    match Models::from_dir(copy.path()) {
        Err(Error::ModelIntegrity { model, expected, actual }) => {
            assert_eq!(model, "intel-reid-0095");
            assert_eq!(expected, "0c22174743df4870aa9e68ffa1370be90e2d5ad201ca1d3eb35741fd474dd84b");
            assert_ne!(actual, expected);
        }
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

#[test]
fn a_detector_with_one_flipped_byte_is_refused() {
    let copy = ModelCopy::new("flip-detector");
    flip_one_byte(&copy.path().join("yunet_s_dynamic.onnx"), 1000);
    assert!(
        matches!(Models::from_dir(copy.path()), Err(Error::ModelIntegrity { ref model, .. }) if model == "yunet-s-dynamic")
    );
    // The untouched copy next to it still loads: the check is not failing on everything.
    assert!(Models::from_dir(common::models_dir()).is_ok());
}

#[test]
fn a_missing_model_file_is_an_io_error_naming_the_file() {
    let copy = ModelCopy::new("missing");
    std::fs::remove_file(copy.path().join("yunet_s_dynamic.onnx")).unwrap();
    match Models::from_dir(copy.path()) {
        Err(Error::Io { path, .. }) => assert!(path.ends_with("yunet_s_dynamic.onnx")),
        other => panic!("expected an io error, got {other:?}"),
    }
}

#[test]
fn pad_models_load_all_or_none_and_a_partial_set_is_refused() {
    let pad_files = ["antispoof_2.7_80x80_MiniFASNetV2.onnx", "antispoof_4_0_0_80x80_MiniFASNetV1SE.onnx"];
    let copy = ModelCopy::new("pad-partial");
    assert!(Models::from_dir(copy.path()).unwrap().has_pad(), "all PAD files: PAD loads");
    // One of the two lost: refused, naming what is missing (PAD must not
    // silently switch off).
    std::fs::remove_file(copy.path().join(pad_files[1])).unwrap();
    match Models::from_dir(copy.path()) {
        Err(Error::Manifest { reason, .. }) => assert!(reason.contains(pad_files[1]), "{reason}"),
        other => panic!("a partial PAD set must be refused, got {:?}", other.map(|m| m.has_pad())),
    }
    // Neither: a terminal without PAD models (its own PAD sensor).
    std::fs::remove_file(copy.path().join(pad_files[0])).unwrap();
    assert!(!Models::from_dir(copy.path()).unwrap().has_pad());

    // The same rule for models handed over in memory.
    let dir = common::models_dir();
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    let names = ["yunet_s_dynamic.onnx", "face-reidentification-retail-0095.onnx", pad_files[0], pad_files[1]];
    let blobs: Vec<Vec<u8>> = names.iter().map(|n| std::fs::read(dir.join(n)).unwrap()).collect();
    let list: Vec<honnin::models::ModelBytes<'_>> =
        names.iter().zip(&blobs).map(|(n, b)| honnin::models::ModelBytes { file: n, bytes: b }).collect();
    assert!(Models::from_memory(&manifest, &list).unwrap().has_pad());
    assert!(!Models::from_memory(&manifest, &list[..2]).unwrap().has_pad());
    assert!(matches!(Models::from_memory(&manifest, &list[..3]), Err(Error::Manifest { .. })));
}

/// Builds the default engine with the committed calibration, altered by `alter`; returns the build error.
fn build_with_altered_calibration(alter: impl FnOnce(&mut honnin::Calibration)) -> Error {
    let mut calibration = common::calibration();
    alter(&mut calibration);
    let policy = Policy::default_from(&calibration).unwrap();
    let models = Models::from_dir(common::models_dir()).unwrap();
    Engine::builder(models).onnxruntime(common::ort_lib()).policy(policy).build().unwrap_err()
}

#[test]
fn a_calibration_for_another_recognizer_is_refused() {
    let err = build_with_altered_calibration(|c| c.recognizer_sha256 = "0".repeat(64));
    assert!(matches!(err, Error::Calibration { .. }), "{err}");
}

#[test]
fn a_calibration_made_without_mirror_averaging_is_refused_for_an_engine_with_it() {
    let err = build_with_altered_calibration(|c| c.mirror_averaging = false);
    assert!(matches!(err, Error::Calibration { .. }), "{err}");
}

#[test]
fn a_target_fmr_without_a_calibrated_point_is_refused() {
    let err = Policy::from_calibration(&common::calibration(), 0.05).unwrap_err();
    assert!(matches!(err, Error::Calibration { .. }), "{err}");
    assert!(Policy::from_calibration(&common::calibration(), 1e-4).is_ok());
}

#[test]
fn a_missing_onnx_runtime_library_is_a_typed_error_not_a_panic() {
    let models = Models::from_dir(common::models_dir()).unwrap();
    let err = Engine::builder(models)
        .onnxruntime("/nonexistent/libonnxruntime.so.1.31.1")
        .policy(danger::uncalibrated_policy(Metric::Cosine, 0.5))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Runtime { .. }), "{err}");
}

#[test]
fn a_tampered_manifest_is_refused() {
    let copy = ModelCopy::new("manifest");
    let manifest = copy.path().join("manifest.json");
    let text =
        std::fs::read_to_string(&manifest).unwrap().replace("\"metric\": \"euclidean\"", "\"metric\": \"hamming\"");
    std::fs::write(&manifest, text).unwrap();
    assert!(matches!(Models::from_dir(copy.path()), Err(Error::Manifest { .. })));
}

#[test]
fn templates_from_different_pipelines_do_not_compare() {
    use honnin::engine::Acquisition;
    use honnin::LiveFrame;
    let models = Models::from_dir(common::models_dir()).unwrap();
    let no_mirror = Engine::builder(models)
        .onnxruntime(common::ort_lib())
        .mirror_averaging(false)
        .policy(danger::uncalibrated_policy(Metric::Cosine, 0.5))
        .build()
        .unwrap();
    let frame = LiveFrame::open(common::root().join("samples/astronaut_live.jpg")).unwrap();
    let (Acquisition::Face(a), Acquisition::Face(b)) =
        (common::engine().template(&frame).unwrap(), no_mirror.template(&frame).unwrap())
    else {
        panic!("no face")
    };
    assert!(matches!(a.compare(&b), Err(Error::InvalidArgument { .. })));
    // Same pipeline: compares, and a template against itself scores a cosine of 1.
    assert!((a.compare(&a).unwrap().value - 1.0).abs() < 1e-6);
}

#[test]
fn an_onnx_runtime_library_with_another_hash_is_refused() {
    let build = |pin: &str| {
        Engine::builder(Models::from_dir(common::models_dir()).unwrap())
            .onnxruntime(common::ort_lib())
            .onnxruntime_sha256(pin)
            .policy(danger::uncalibrated_policy(Metric::Cosine, 0.5))
            .build()
    };
    let err = build(&"ab".repeat(32)).unwrap_err();
    assert!(matches!(err, Error::Runtime { ref reason, .. } if reason.contains("differs")), "{err}");
    let installed = common::ort_lib() == common::root().join(".runtime/libonnxruntime.so.1.31.1");
    if let (true, Some(pin)) = (installed, honnin::runtime::PINNED_ONNXRUNTIME_SHA256) {
        build(pin).expect("the library tools/setup.py installs matches its pin");
    }
}

#[test]
fn a_calibration_is_refused_when_only_a_manifest_setting_changed() {
    // Same model files, same mirror setting: only the detector's score threshold differs.
    let copy = ModelCopy::new("threshold");
    let path = copy.path().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"score_threshold\": 0.6"));
    std::fs::write(&path, text.replacen("\"score_threshold\": 0.6", "\"score_threshold\": 0.5", 1)).unwrap();
    let models = Models::from_dir(copy.path()).unwrap();
    assert_ne!(models.pipeline_sha256(true), Models::from_dir(common::models_dir()).unwrap().pipeline_sha256(true));
    let policy = Policy::default_from(&common::calibration()).unwrap();
    let err = Engine::builder(models).onnxruntime(common::ort_lib()).policy(policy).build().unwrap_err();
    assert!(matches!(err, Error::Calibration { .. }), "{err}");
}

/// Models handed over in memory (firmware that embeds them): the same
/// verification as from the directory, and the same refusals.
#[test]
fn models_from_memory_verify_their_hashes_and_refuse_what_is_wrong() {
    use honnin::models::ModelBytes;
    let dir = common::models_dir();
    let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
    let detector = std::fs::read(dir.join("yunet_s_dynamic.onnx")).unwrap();
    let recognizer = std::fs::read(dir.join("face-reidentification-retail-0095.onnx")).unwrap();
    let files = |det: &[u8], rec: &[u8]| -> Vec<(String, Vec<u8>)> {
        vec![
            ("yunet_s_dynamic.onnx".into(), det.to_vec()),
            ("face-reidentification-retail-0095.onnx".into(), rec.to_vec()),
        ]
    };
    let load = |manifest: &[u8], files: &[(String, Vec<u8>)]| {
        let list: Vec<ModelBytes<'_>> = files.iter().map(|(n, b)| ModelBytes { file: n, bytes: b }).collect();
        Models::from_memory(manifest, &list)
    };

    let models = load(&manifest, &files(&detector, &recognizer)).expect("the committed models verify from memory");
    let from_dir = Models::from_dir(&dir).unwrap();
    assert_eq!(models.pipeline_sha256(true), from_dir.pipeline_sha256(true));
    let info = models.describe();
    assert!(info.iter().all(|m| m.path.is_none()), "no path for bytes from memory");
    assert_eq!(info[1].bytes, recognizer.len() as u64);

    let mut tampered = recognizer.clone();
    tampered[5000] ^= 1;
    match load(&manifest, &files(&detector, &tampered)) {
        Err(Error::ModelIntegrity { model, .. }) => assert_eq!(model, "intel-reid-0095"),
        other => panic!("a flipped byte must be refused, got {other:?}"),
    }
    match load(&manifest, &files(&detector, &recognizer)[..1]) {
        Err(Error::Manifest { context, reason }) => {
            assert_eq!(context, "intel-reid-0095");
            assert!(reason.contains("face-reidentification-retail-0095.onnx"), "{reason}");
        }
        other => panic!("a missing file must be named, got {other:?}"),
    }
    let mut twice = files(&detector, &recognizer);
    twice.push(twice[0].clone());
    assert!(matches!(load(&manifest, &twice), Err(Error::InvalidArgument { .. })));
    let huge = vec![b' '; 2 * 1024 * 1024];
    assert!(matches!(load(&huge, &files(&detector, &recognizer)), Err(Error::LimitExceeded { limit: "bytes", .. })));
    assert!(matches!(load(b"{not json", &files(&detector, &recognizer)), Err(Error::Manifest { .. })));
}
