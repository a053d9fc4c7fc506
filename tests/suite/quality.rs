//! The quality gate on real faces: each issue fires on an image built to
//! trigger it, and not on the untouched image.

use honnin::quality::{Guidance, QualityGate, QualityIssue};

use crate::common;
use crate::frames::{self, blurred, downscaled, exposed, rotated, side_by_side};

/// Frontal, sharp, evenly lit LFW faces the gate passes untouched.
const FACES: [&str; 3] = [
    "images/Abdullah_Gul/Abdullah_Gul_0013.jpg",
    "images/Colin_Powell/Colin_Powell_0001.jpg",
    "images/George_W_Bush/George_W_Bush_0001.jpg",
];

fn issues(img: &image::RgbImage) -> Vec<QualityIssue> {
    let quality = common::engine().assess(&frames::frame(img), &QualityGate::default()).unwrap();
    quality.issues
}

#[test]
fn untouched_faces_pass_the_gate_with_a_weight() {
    for face in FACES {
        let q = common::engine().assess(&frames::frame(&frames::lfw_rgb(face)), &QualityGate::default()).unwrap();
        assert!(q.is_usable(), "{face}: {:?} {:?}", q.issues, q.measures);
        assert!(q.weight > 0.0 && q.weight <= 1.0, "{face}: weight {}", q.weight);
        assert_eq!(q.guidance(), None);
    }
}

#[test]
fn each_quality_issue_fires_on_a_real_face_built_to_trigger_it() {
    for face in FACES {
        let img = frames::lfw_rgb(face);
        let cases: [(&str, image::RgbImage, QualityIssue); 6] = [
            ("downscaled to 40 %", downscaled(&img, 0.4), QualityIssue::TooSmall),
            ("blurred, sigma 3", blurred(&img, 3.0), QualityIssue::Blurred),
            ("darkened to 25 %", exposed(&img, 0.25), QualityIssue::TooDark),
            ("brightened 2.6 times", exposed(&img, 2.6), QualityIssue::TooBright),
            ("rotated 40 degrees", rotated(&img, 40.0), QualityIssue::NotFacingCamera),
            (
                "beside another face",
                side_by_side(&img, &frames::lfw_rgb(FACES[(FACES.iter().position(|f| *f == face).unwrap() + 1) % 3])),
                QualityIssue::MultipleFaces,
            ),
        ];
        for (what, built, expected) in cases {
            let found = issues(&built);
            assert!(found.contains(&expected), "{face} {what}: expected {expected:?}, gate said {found:?}");
        }
    }
}

#[test]
fn an_empty_scene_asks_the_person_to_step_into_view() {
    let q = common::engine().assess(&frames::frame(&frames::empty_scene(320, 240)), &QualityGate::default()).unwrap();
    assert_eq!(q.issues, [QualityIssue::NoFace]);
    assert_eq!(q.measures, None);
    assert_eq!(q.guidance(), Some(Guidance::StepIntoView));
}

#[test]
fn every_issue_has_distinct_codes_and_guidance() {
    let codes: std::collections::BTreeSet<_> = QualityIssue::ALL.iter().map(|i| i.code()).collect();
    let guidance: std::collections::BTreeSet<_> = QualityIssue::ALL.iter().map(|i| i.guidance().code()).collect();
    assert_eq!((codes.len(), guidance.len()), (QualityIssue::ALL.len(), QualityIssue::ALL.len()));
}

#[test]
fn a_head_turned_away_is_refused_on_yaw_alone() {
    // Real photos of heads turned about 40 degrees, upright (roll under 5 degrees).
    for face in ["images/George_Robertson/George_Robertson_0022.jpg", "images/Johnny_Carson/Johnny_Carson_0002.jpg"] {
        let q = common::engine().assess(&frames::frame(&frames::lfw_rgb(face)), &QualityGate::default()).unwrap();
        assert_eq!(q.issues, [QualityIssue::NotFacingCamera], "{face}");
        let m = q.measures.unwrap();
        assert!(m.yaw_deg.abs() > 35.0 && m.roll_deg.abs() < 5.0, "{face}: yaw {} roll {}", m.yaw_deg, m.roll_deg);
        assert_eq!(q.guidance(), Some(Guidance::LookAtCamera));
    }
}
