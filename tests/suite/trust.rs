//! The trust boundary in the library: calibrations pinned and checked for
//! plausibility, bounded threads. What the command-line tool refuses
//! (tampered calibrations, a planted library beside ONNX Runtime, inputs that
//! are not regular files, arguments out of range) is tested with it, in
//! honnin-cli/tests/trust.rs.

use honnin::calibration::{CalibrationError, Implausibility};
use honnin::pad::PadCalibration;
use honnin::{danger, Calibration, Error, Models};

use crate::common::{self, ort_lib, root, scratch_dir};
use crate::tampered_calibrations::tampered;

#[test]
fn every_tampered_calibration_is_refused_by_the_library_with_a_typed_error() {
    let cases = tampered(root());
    assert_eq!(cases.len(), 8);
    for case in &cases {
        // Unpinned, so that the plausibility check alone must refuse it.
        match danger::unpinned_calibration_json(&case.text) {
            Err(Error::Calibration(CalibrationError::Implausible { problem, .. })) => {
                let text = problem.to_string();
                assert!(text.contains(case.expected), "{}: {text}", case.what);
                let kind_fits = match case.expected {
                    "not stricter" => matches!(problem, Implausibility::NotTightening { .. }),
                    "right angles" => matches!(problem, Implausibility::AcceptsUnrelated { .. }),
                    "two operating points" => matches!(problem, Implausibility::DuplicateTarget { .. }),
                    _ => matches!(problem, Implausibility::OutOfRange { field: "threshold", .. }),
                };
                assert!(kind_fits, "{}: {problem:?}", case.what);
            }
            other => panic!("{}: accepted or refused for another reason: {other:?}", case.what),
        }
        // And pinned by default: not one of the calibrations honnin ships.
        assert!(
            matches!(Calibration::from_json(&case.text), Err(Error::Calibration(CalibrationError::NotPinned { .. }))),
            "{}",
            case.what
        );
    }
    // The shipped files pass both checks, from disk and built in.
    for file in ["intel-reid-0095.json", "dlib-resnet-v1.json"] {
        let path = root().join("calibration").join(file);
        let from_disk = Calibration::from_file(&path).unwrap();
        let built_in = Calibration::shipped(file.trim_end_matches(".json")).unwrap().unwrap();
        assert_eq!(from_disk, built_in);
    }
    PadCalibration::from_file(root().join("calibration/pad-minifasnet.json")).unwrap();
}

#[test]
fn a_calibration_is_accepted_under_its_own_pin_and_refused_under_another() {
    let path = root().join("calibration/intel-reid-0095.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // A whitespace-only change: the same thresholds, other bytes.
    let edited = text.replacen('\n', "\n ", 1);
    let dir = scratch_dir("calibration-pin");
    let copy = dir.join("edited.json");
    std::fs::write(&copy, &edited).unwrap();
    assert!(matches!(Calibration::from_file(&copy), Err(Error::Calibration(CalibrationError::NotPinned { .. }))));
    let pin = sha256(edited.as_bytes());
    // The same thresholds; the source says which bytes and which pin.
    let pinned = Calibration::from_file_pinned(&copy, &pin).unwrap();
    let shipped = Calibration::from_file(&path).unwrap();
    let source = pinned.source.clone().unwrap();
    assert_eq!((source.sha256.as_str(), source.pin), (pin.as_str(), honnin::calibration::PinKind::Given));
    assert_eq!(shipped.source.as_ref().unwrap().pin, honnin::calibration::PinKind::Shipped);
    assert_eq!(Calibration { source: None, ..pinned }, Calibration { source: None, ..shipped });
    assert!(Calibration::from_file_pinned(&path, &pin).is_err());
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_calibration_for_another_pipeline_names_what_differs_and_threads_are_bounded() {
    // The dlib calibration on the default (Intel) models.
    let dlib = Calibration::from_file(root().join("calibration/dlib-resnet-v1.json")).unwrap();
    let policy = honnin::Policy::default_from(&dlib).unwrap();
    let models = Models::from_dir(common::models_dir()).unwrap();
    let err = honnin::Engine::builder(models).onnxruntime(ort_lib()).policy(policy).build().unwrap_err();
    match &err {
        Error::Calibration(CalibrationError::OtherPipeline { differences }) => {
            assert!(differences.iter().any(|d| d.starts_with("recognizer sha256")), "{differences:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("honnin-lab calibrate"), "{err}");
    let models = Models::from_dir(common::models_dir()).unwrap();
    let policy = honnin::Policy::default_from(&common::calibration()).unwrap();
    let err = honnin::Engine::builder(models).onnxruntime(ort_lib()).intra_threads(4096).policy(policy).build();
    assert!(matches!(err, Err(Error::InvalidArgument { .. })), "{err:?}");
}
