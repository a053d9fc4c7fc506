//! Card photos as chips store them: JPEG 2000, My Number card-surface data,
//! grey references and the thresholds they need.

use honnin::card::{CardData, Container, ImageFormat};
use honnin::input::ReferenceKind;
use honnin::{CardPhoto, Decision, Engine, Limits, LiveFrame, Models, Policy, Reason};

use crate::common::{self, root};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(root().join("samples").join(name)).unwrap()
}

/// The ITU-R BT.601 luma of the colour card sample, as tools/make_card_samples.py computes it.
fn grey_of_png(name: &str) -> (u32, u32, Vec<u8>) {
    let rgb = image::load_from_memory(&sample(name)).unwrap().to_rgb8();
    let grey = rgb
        .pixels()
        .map(|p| ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500) / 1000) as u8)
        .collect();
    (rgb.width(), rgb.height(), grey)
}

/// The grey level of each pixel of a decoded card photo (R = G = B for grey photos).
fn luma(photo: &CardPhoto) -> Vec<u8> {
    honnin::danger::dangerous_card_pixels(photo).chunks_exact(3).map(|p| p[0]).collect()
}

/// The raw codestream inside a JP2 file's `jp2c` box.
fn codestream_of(jp2: &[u8]) -> &[u8] {
    let at = jp2.windows(4).position(|w| w == b"jp2c").expect("a jp2c box") + 4;
    &jp2[at..]
}

fn engine_with(calibration: &honnin::Calibration) -> Engine {
    let models = Models::from_dir(common::models_dir()).expect("models verify");
    Engine::builder(models)
        .onnxruntime(common::ort_lib())
        .policy(Policy::default_from(calibration).expect("calibration has the default FMR"))
        .build()
        .expect("engine builds")
}

#[test]
fn jpeg2000_decodes_to_the_pixels_that_were_encoded() {
    let (w, h, original) = grey_of_png("astronaut_card.png");
    let jp2 = sample("astronaut_card_grey.jp2");
    let from_jp2 = CardPhoto::from_bytes(&jp2).unwrap();
    assert_eq!(from_jp2.dimensions(), (w, h));
    assert_eq!((from_jp2.kind(), from_jp2.format()), (ReferenceKind::Grey, ImageFormat::Jp2));
    // A lossy 8:1 encoding: close to the original on average, not equal.
    let decoded = luma(&from_jp2);
    let mean_abs =
        decoded.iter().zip(&original).map(|(&a, &b)| f64::from(a.abs_diff(b))).sum::<f64>() / original.len() as f64;
    assert!(mean_abs < 4.0 && mean_abs > 0.0, "mean absolute difference {mean_abs:.2} grey levels");
    // The raw codestream decodes to exactly the same pixels as its JP2 wrapper.
    let from_j2k = CardPhoto::from_bytes(codestream_of(&jp2)).unwrap();
    assert_eq!(from_j2k.format(), ImageFormat::J2k);
    assert_eq!(luma(&from_j2k), decoded);
}

#[test]
fn my_number_card_surface_data_yields_its_grey_jpeg2000_photo() {
    let surface = sample("astronaut_mynumber.bin");
    assert_eq!(surface.len() % 4096, 0, "padded like a full EF read");
    assert_eq!(surface.last(), Some(&0xFF));
    let data = CardData::parse(&surface, &Limits::default()).unwrap();
    assert_eq!(data.container(), Container::MyNumberSurface);
    assert_eq!(data.image(0).unwrap().bytes(), sample("astronaut_card_grey.jp2"));
    let photo = CardPhoto::from_bytes(&surface).unwrap();
    assert_eq!(
        (photo.container(), photo.kind(), photo.dimensions()),
        (Container::MyNumberSurface, ReferenceKind::Grey, (150, 200))
    );
    // Something other than padding after the data is refused.
    let mut tail = surface.clone();
    *tail.last_mut().unwrap() = 0x42;
    assert!(matches!(CardPhoto::from_bytes(&tail), Err(honnin::Error::Malformed { .. })));
}

#[test]
fn a_grey_card_photo_without_a_grey_calibration_gets_no_automatic_decision() {
    let mut colour_only = common::calibration();
    colour_only.references.remove(&ReferenceKind::Grey);
    let engine = engine_with(&colour_only);
    assert!(engine.policy().threshold(ReferenceKind::Grey).is_none());
    let card = CardPhoto::from_bytes(&sample("astronaut_mynumber.bin")).unwrap();
    let live = LiveFrame::from_bytes(&sample("astronaut_live.jpg")).unwrap();
    let outcome = engine.verify(&card, &live).unwrap();
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::NotCalibrated(ReferenceKind::Grey)));
    assert!(outcome.score.is_none() && outcome.threshold.is_none());
    // The colour card photo of the same person still verifies with that calibration.
    let colour = CardPhoto::from_bytes(&sample("astronaut_card.png")).unwrap();
    assert_eq!(engine.verify(&colour, &live).unwrap().decision, Decision::Match);
    // Nothing about the grey card was computed.
    let reference = engine.card_reference(&card).unwrap();
    assert!(!reference.has_template());
}

#[test]
fn a_grey_card_photo_is_judged_against_the_grey_threshold() {
    let engine = common::engine();
    let grey = engine.policy().threshold(ReferenceKind::Grey).expect("the committed calibration has a grey point");
    let calibration = common::calibration();
    let point = calibration.references[&ReferenceKind::Grey]
        .points
        .iter()
        .find(|p| p.target_fmr == honnin::calibration::DEFAULT_TARGET_FMR)
        .unwrap();
    assert_eq!(grey.value, point.threshold);
    let card = CardPhoto::from_bytes(&sample("astronaut_mynumber.bin")).unwrap();
    let same = engine.verify(&card, &LiveFrame::from_bytes(&sample("astronaut_live.jpg")).unwrap()).unwrap();
    assert_eq!(same.decision, Decision::Match);
    assert_eq!(same.threshold.map(|t| (t.reference, t.value)), Some((ReferenceKind::Grey, grey.value)));
    let other = LiveFrame::open(common::lfw_image("images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg")).unwrap();
    let different = engine.verify(&card, &other).unwrap();
    assert_eq!(different.decision, Decision::NoMatch);
    assert_eq!(different.threshold.unwrap().reference, ReferenceKind::Grey);
}
