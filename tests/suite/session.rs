//! Counter sessions on real faces: the staff path without models, no sticky
//! mode, guidance, fusion, and the fallbacks to the staff check.

use std::time::Duration;

use honnin::counter::{Counter, Fallback, SessionConfig, SessionState, StaffJudgement, Step};
use honnin::error::CameraError;
use honnin::input::ReferenceKind;
use honnin::quality::{Guidance, QualityIssue};
use honnin::{CardPhoto, Decision, Engine, Method, Models, Policy};

use crate::common;
use crate::frames::{self, downscaled, empty_scene, lfw_rgb, Frames};

/// The card image first, then three frames the quality gate passes (0004
/// is left out: a face turned 44 degrees away).
const BUSH: [&str; 4] = [
    "images/George_W_Bush/George_W_Bush_0001.jpg",
    "images/George_W_Bush/George_W_Bush_0002.jpg",
    "images/George_W_Bush/George_W_Bush_0003.jpg",
    "images/George_W_Bush/George_W_Bush_0005.jpg",
];

fn card(relative: &str) -> CardPhoto {
    CardPhoto::open(common::lfw_image(relative)).unwrap()
}

fn bush_frames() -> Frames {
    Frames::new(BUSH[1..].iter().map(|f| lfw_rgb(f)))
}

/// An engine of its own, so that no other test's model runs are counted.
fn private_engine() -> Engine {
    Engine::builder(Models::from_dir(common::models_dir()).unwrap())
        .onnxruntime(common::ort_lib())
        .policy(Policy::default_from(&common::calibration()).unwrap())
        .build()
        .unwrap()
}

#[test]
fn the_staff_check_completes_on_a_counter_without_any_model() {
    let counter = Counter::without_models(SessionConfig::default()).unwrap();
    let mut session = counter.session(CardPhoto::open(common::root().join("samples/astronaut_mynumber.bin")).unwrap());
    assert_eq!(session.state(), SessionState::ChoosingMethod);
    assert_eq!(session.offered_methods(), [Method::StaffVisual]);
    assert_eq!(session.proposed_method(), Some(Method::StaffVisual));
    assert!(session.choose(Method::Automatic).is_err(), "no face check without models");
    session.choose(Method::StaffVisual).unwrap();

    let photo = session.card_for_display(80, 60).unwrap();
    assert!(photo.is_grey(), "the My Number chip photo is monochrome");
    assert!(photo.width() <= 80 && photo.height() == 60, "{}x{}", photo.width(), photo.height());
    assert_eq!(photo.pixels().len(), (photo.width() * photo.height()) as usize);
    let spread = photo.pixels().iter().max().unwrap() - photo.pixels().iter().min().unwrap();
    assert!(spread > 100, "a photo, not a blank: levels span {spread}");
    drop(photo);

    let outcome = session.staff_decide(StaffJudgement::SamePerson).unwrap();
    assert_eq!((outcome.decision, outcome.method, outcome.score), (Decision::Match, Method::StaffVisual, None));
    assert_eq!(session.state(), SessionState::Decided);
    assert!(session.card_for_display(80, 60).is_err(), "the card is gone once decided");
    assert_eq!((session.offered_methods(), session.proposed_method()), (vec![], None), "nothing left to choose");
    assert!(session.choose(Method::StaffVisual).is_err());
    assert!(session.staff_decide(StaffJudgement::DifferentPerson).is_err(), "decided once only");
    assert_eq!(session.finish(), Some(outcome));
}

#[test]
fn the_staff_path_runs_no_model_even_with_an_engine() {
    let engine = std::sync::Arc::new(private_engine());
    let counter = Counter::new(std::sync::Arc::clone(&engine), SessionConfig::default()).unwrap();
    for judgement in [StaffJudgement::SamePerson, StaffJudgement::DifferentPerson, StaffJudgement::Unsure] {
        let mut session = counter.session(card(BUSH[0]));
        session.choose(Method::StaffVisual).unwrap();
        let _photo = session.card_for_display(320, 240).unwrap();
        let outcome = session.staff_decide(judgement).unwrap();
        assert_eq!(outcome.method, Method::StaffVisual);
    }
    assert_eq!(
        engine.model_runs(),
        honnin::engine::ModelRuns::default(),
        "staff path: zero detector and recognizer runs"
    );

    // The same engine does count the face path's runs: the counter is live.
    let mut session = counter.session(card(BUSH[0]));
    session.run_face(&mut bush_frames(), |_| {}).unwrap();
    let runs = engine.model_runs();
    assert_eq!((runs.detector, runs.recognizer), (4, 4), "card + 3 frames, each detected and embedded once");
}

#[test]
fn two_sessions_in_a_row_do_not_share_a_method() {
    let counter = Counter::new(common::engine(), SessionConfig::default()).unwrap();
    let mut first = counter.session(card(BUSH[0]));
    first.choose(Method::StaffVisual).unwrap();
    assert_eq!(first.staff_decide(StaffJudgement::SamePerson).unwrap().method, Method::StaffVisual);
    assert!(first.finish().is_some());

    let mut second = counter.session(card(BUSH[0]));
    assert_eq!(second.state(), SessionState::ChoosingMethod);
    assert_eq!(second.chosen_method(), None, "nothing carried over from the person before");
    assert_eq!(second.proposed_method(), Some(Method::Automatic), "the configured proposal, not the last choice");
    assert!(second.staff_decide(StaffJudgement::SamePerson).is_err(), "no staff decision before it is chosen");
    second.choose(Method::Automatic).unwrap();
    let step = second.run_face(&mut bush_frames(), |_| {}).unwrap();
    let Step::Decided(outcome) = step else { panic!("expected a decision, got {step:?}") };
    assert_eq!((outcome.decision, outcome.method), (Decision::Match, Method::Automatic));

    // And the other way round: a face check first, then a staff check.
    let mut third = counter.session(card(BUSH[0]));
    assert_eq!(third.chosen_method(), None);
    third.choose(Method::StaffVisual).unwrap();
    assert_eq!(third.staff_decide(StaffJudgement::Unsure).unwrap().method, Method::StaffVisual);
}

#[test]
fn a_camera_fault_closes_the_face_path_and_offers_the_staff_check() {
    let counter = Counter::new(common::engine(), SessionConfig::default()).unwrap();
    for fault in [
        CameraError::Timeout { waited: Duration::from_secs(2) },
        CameraError::DeviceMissing { device: "0".into(), reason: "no such device".into() },
        CameraError::Read { reason: "short read".into() },
    ] {
        // One good frame, then the camera fails: the attempt is not decided on one frame.
        let mut source = Frames::new([lfw_rgb(BUSH[1])]).then_fail(fault.clone());
        let mut session = counter.session(card(BUSH[0]));
        let step = session.run_face(&mut source, |_| {}).unwrap();
        assert!(matches!(&step, Step::StaffOffered(Fallback::CameraFault(m)) if *m == fault.to_string()), "{step:?}");
        assert_eq!(session.offered_methods(), [Method::StaffVisual]);
        assert!(session.choose(Method::Automatic).is_err(), "the face path stays closed");
        session.choose(Method::StaffVisual).unwrap();
        assert_eq!(session.staff_decide(StaffJudgement::SamePerson).unwrap().method, Method::StaffVisual);
    }
}

#[test]
fn k_consecutive_non_matches_close_the_face_path() {
    let config = SessionConfig::default();
    let (k, n) = (config.max_non_matches as usize, config.frames_per_attempt);
    let counter = Counter::new(common::engine(), config).unwrap();
    let mut session = counter.session(card("images/Colin_Powell/Colin_Powell_0001.jpg"));
    // Someone else in front of the camera, frame after frame.
    let impostor: Vec<_> =
        (1..=k * n + 2).map(|i| lfw_rgb(&format!("images/George_W_Bush/George_W_Bush_{:04}.jpg", i + 10))).collect();
    let mut source = Frames::new(impostor);
    let mut retries = 0;
    let step = session
        .run_face(&mut source, |s| {
            if let Step::Retry(record) = s {
                assert_eq!((record.decision, record.used), (Some(Decision::NoMatch), n));
                retries += 1;
            }
        })
        .unwrap();
    assert_eq!(step, Step::StaffOffered(Fallback::NonMatches(k as u32)));
    assert_eq!((retries, source.served), (k - 1, k * n), "closed right after the K-th non-match");
    assert_eq!(session.attempts().len(), k);
    assert!(session.attempts().iter().all(|a| a.decision == Some(Decision::NoMatch)));
    assert_eq!(session.offered_methods(), [Method::StaffVisual]);
}

#[test]
fn attempts_without_a_usable_frame_close_the_face_path_after_the_limit() {
    let config = SessionConfig { max_frames_per_attempt: 4, max_inconclusive: 2, ..SessionConfig::default() };
    let counter = Counter::new(common::engine(), config).unwrap();
    let mut session = counter.session(card(BUSH[0]));
    let mut source = Frames::new((0..20).map(|_| empty_scene(320, 240)));
    let mut guidance = Vec::new();
    let step = session
        .run_face(&mut source, |s| {
            if let Step::Continue(feedback) = s {
                guidance.push(feedback.guidance());
            }
        })
        .unwrap();
    assert_eq!(step, Step::StaffOffered(Fallback::NoUsableFrame(2, QualityIssue::NoFace)));
    assert_eq!(source.served, 8);
    assert!(guidance.iter().all(|g| *g == Some(Guidance::StepIntoView)), "{guidance:?}");
}

#[test]
fn guidance_comes_first_then_the_fused_decision() {
    let counter = Counter::new(common::engine(), SessionConfig::default()).unwrap();
    let mut session = counter.session(card(BUSH[0]));
    let far = downscaled(&lfw_rgb(BUSH[1]), 0.4);
    let mut source = Frames::new([far].into_iter().chain(BUSH[1..].iter().map(|f| lfw_rgb(f))));
    let mut steps = Vec::new();
    let last = session.run_face(&mut source, |s| steps.push(s.clone())).unwrap();
    let Step::Continue(first) = &steps[0] else { panic!("{:?}", steps[0]) };
    assert_eq!(first.guidance(), Some(Guidance::MoveCloser));
    assert_eq!(first.collected, 0);
    let Step::Decided(outcome) = last else { panic!("{last:?}") };
    assert_eq!(outcome.decision, Decision::Match);
    assert!(outcome.score.unwrap().passes(outcome.threshold.unwrap().value));
    let (frames, fused) = common::engine().policy().fused_threshold(ReferenceKind::Colour).expect("fused calibration");
    assert_eq!(frames, 3);
    assert_eq!(outcome.threshold, Some(fused), "a fused probe is held to the fused-probe threshold");
    assert_ne!(fused.value, common::engine().policy().threshold(ReferenceKind::Colour).unwrap().value);
    assert_eq!(session.attempts()[0].used, 3, "three usable frames fused");
    assert_eq!(session.attempts()[0].frames, 4);
    assert_eq!(session.attempts()[0].issues, [(QualityIssue::TooSmall, 1)]);
}

#[test]
fn without_a_fused_threshold_for_the_card_kind_the_best_single_frame_is_compared() {
    // The committed calibration has fused-probe points for colour cards only.
    let engine = common::engine();
    assert!(engine.policy().fused_threshold(ReferenceKind::Grey).is_none());
    let counter = Counter::new(std::sync::Arc::clone(&engine), SessionConfig::default()).unwrap();
    let mut session = counter.session(CardPhoto::open(common::root().join("samples/astronaut_mynumber.bin")).unwrap());
    let live = image::open(common::root().join("samples/astronaut_live.jpg")).unwrap().to_rgb8();
    let step = session.run_face(&mut Frames::new([live.clone(), live.clone(), live]), |_| {}).unwrap();
    let Step::Decided(outcome) = step else { panic!("{step:?}") };
    assert_eq!(outcome.decision, Decision::Match);
    assert_eq!(outcome.threshold, engine.policy().threshold(ReferenceKind::Grey));
    assert_eq!((session.attempts()[0].frames, session.attempts()[0].used), (3, 1));
}

#[test]
fn a_source_that_ends_early_decides_on_the_frames_it_gave() {
    let counter = Counter::new(common::engine(), SessionConfig::default()).unwrap();
    let mut session = counter.session(card(BUSH[0]));
    let step = session.run_face(&mut Frames::new([lfw_rgb(BUSH[1])]), |_| {}).unwrap();
    assert!(matches!(step, Step::Decided(o) if o.decision == Decision::Match), "{step:?}");

    let mut session = counter.session(card(BUSH[0]));
    let step = session.run_face(&mut Frames::new([]), |_| {}).unwrap();
    assert_eq!(step, Step::StaffOffered(Fallback::SourceEnded));
}

#[test]
fn a_card_without_a_face_offers_the_staff_check_at_once() {
    let counter = Counter::new(common::engine(), SessionConfig::default()).unwrap();
    let blank = std::env::temp_dir().join(format!("honnin-blank-card-{}.png", std::process::id()));
    empty_scene(160, 200).save(&blank).unwrap();
    let mut session = counter.session(CardPhoto::open(&blank).unwrap());
    std::fs::remove_file(&blank).unwrap();
    let step = session.run_face(&mut bush_frames(), |_| {}).unwrap();
    assert!(matches!(step, Step::StaffOffered(Fallback::CardUnusable(_))), "{step:?}");
}

#[test]
fn invalid_configurations_are_refused() {
    for config in [
        SessionConfig { frames_per_attempt: 0, ..SessionConfig::default() },
        SessionConfig { max_frames_per_attempt: 2, ..SessionConfig::default() },
        SessionConfig { max_non_matches: 0, ..SessionConfig::default() },
        SessionConfig { attempt_time: Duration::ZERO, ..SessionConfig::default() },
    ] {
        assert!(matches!(Counter::without_models(config), Err(honnin::Error::InvalidArgument { .. })));
    }
    let mut gate = SessionConfig::default();
    gate.quality.min_sharpness = f32::NAN;
    assert!(Counter::without_models(gate).is_err(), "a NaN quality limit");
    let mut gate = SessionConfig::default();
    gate.quality.min_brightness = 240.0;
    assert!(Counter::without_models(gate).is_err(), "min_brightness above max_brightness");
}

#[test]
fn misuse_is_an_error_not_a_state_change() {
    let counter = Counter::new(common::engine(), SessionConfig::default()).unwrap();
    let mut session = counter.session(card(BUSH[0]));
    let misuse = |r: honnin::Result<Step>| matches!(&r, Err(e @ honnin::Error::SessionStep { .. }) if e.kind() == honnin::ErrorKind::Misuse);
    assert!(misuse(session.feed(frames::frame(&lfw_rgb(BUSH[1])))), "a frame before the face check is chosen");
    assert!(misuse(session.source_stopped(None)));
    assert!(session.card_for_display(10, 10).is_err(), "no card display outside the staff check");
    assert_eq!(session.state(), SessionState::ChoosingMethod);
    assert_eq!(session.attempts().len(), 0);
}

#[test]
fn the_person_may_switch_to_the_staff_check_midway() {
    let engine = std::sync::Arc::new(private_engine());
    let counter = Counter::new(std::sync::Arc::clone(&engine), SessionConfig::default()).unwrap();
    let mut session = counter.session(card(BUSH[0]));
    session.choose(Method::Automatic).unwrap();
    let step = session.feed(frames::frame(&lfw_rgb(BUSH[1]))).unwrap();
    assert!(matches!(step, Step::Continue(ref f) if f.collected == 1), "{step:?}");
    session.choose(Method::StaffVisual).unwrap();
    assert!(session.feed(frames::frame(&lfw_rgb(BUSH[2]))).is_err(), "no more frames once in the staff check");
    let runs = engine.model_runs();
    let outcome = session.staff_decide(StaffJudgement::SamePerson).unwrap();
    assert_eq!(outcome.method, Method::StaffVisual);
    assert_eq!(engine.model_runs(), runs, "the staff decision runs no model");
    assert_eq!(session.attempts().len(), 0, "the abandoned attempt is not recorded as decided");
}

#[test]
fn an_attempt_ends_when_its_time_is_up() {
    let config = SessionConfig { attempt_time: Duration::from_nanos(1), ..SessionConfig::default() };
    let counter = Counter::new(common::engine(), config).unwrap();
    let mut session = counter.session(card(BUSH[0]));
    let mut source = bush_frames();
    let step = session.run_face(&mut source, |_| {}).unwrap();
    assert!(matches!(step, Step::Decided(o) if o.decision == Decision::Match), "{step:?}");
    assert_eq!(source.served, 1, "decided on the first frame once the time was up");
    assert_eq!(session.attempts()[0].used, 1);
    let single = common::engine().policy().threshold(ReferenceKind::Colour);
    assert_eq!(session.outcome().unwrap().threshold, single, "one frame: the single-frame threshold");
}

#[test]
fn an_attempt_never_fuses_more_frames_than_its_threshold_was_calibrated_for() {
    let config = SessionConfig { frames_per_attempt: 5, ..SessionConfig::default() };
    let counter = Counter::new(common::engine(), config).unwrap();
    let mut session = counter.session(card(BUSH[0]));
    let images = [2, 3, 5, 6, 7].map(|n| lfw_rgb(&format!("images/George_W_Bush/George_W_Bush_{n:04}.jpg")));
    let step = session.run_face(&mut Frames::new(images), |_| {}).unwrap();
    let Step::Decided(outcome) = step else { panic!("{step:?}") };
    let (calibrated, fused) = common::engine().policy().fused_threshold(ReferenceKind::Colour).unwrap();
    assert_eq!((session.attempts()[0].frames, session.attempts()[0].used), (5, calibrated));
    assert_eq!(outcome.threshold, Some(fused));
    assert!(outcome.timings.live_template > Duration::ZERO && outcome.timings.card_template > Duration::ZERO);
}
