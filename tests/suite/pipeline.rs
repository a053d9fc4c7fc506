//! The pipeline on real faces: decisions, inconclusive reasons, EXIF, limits.

use honnin::engine::Acquisition;
use honnin::outcome::Side;
use honnin::{CardPhoto, Decision, Error, Limits, LiveFrame, Method, Reason};

use crate::common;

fn sample(name: &str) -> std::path::PathBuf {
    common::root().join("samples").join(name)
}

/// Raw RGB of an image file, via the decoder under test's own crate (image).
fn rgb_of(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let img = image::open(path).unwrap().to_rgb8();
    (img.width(), img.height(), img.into_raw())
}

#[test]
fn the_bundled_sample_matches_and_another_person_does_not() {
    let engine = common::engine();
    let card = CardPhoto::open(sample("astronaut_card.png")).unwrap();
    let same = engine.verify(&card, &LiveFrame::open(sample("astronaut_live.jpg")).unwrap()).unwrap();
    assert_eq!(same.decision, Decision::Match);
    assert_eq!(same.method, Method::Automatic);
    let (score, threshold) = (same.score.unwrap(), same.threshold.unwrap());
    // A cosine similarity, matching at or above the threshold.
    assert_eq!(score.metric, honnin::models::Metric::Cosine);
    assert!(score.value >= threshold.value && score.value <= 1.0, "{score:?} at {threshold:?}");
    assert_eq!(threshold.target_fmr, Some(honnin::calibration::DEFAULT_TARGET_FMR));

    let other = LiveFrame::open(common::lfw_image("images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg")).unwrap();
    let outcome = engine.verify(&card, &other).unwrap();
    assert_eq!(outcome.decision, Decision::NoMatch);
    assert!(outcome.score.unwrap().value < threshold.value);
}

#[test]
fn a_card_reference_reused_across_frames_gives_the_same_outcome_as_verify() {
    let engine = common::engine();
    let card = CardPhoto::open(common::lfw_image("images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg")).unwrap();
    let reference = engine.card_reference(&card).unwrap();
    assert!(reference.has_template());
    for live in ["images/Aaron_Peirsol/Aaron_Peirsol_0002.jpg", "images/Mick_Jagger/Mick_Jagger_0001.jpg"] {
        let frame = LiveFrame::open(common::lfw_image(live)).unwrap();
        let reused = engine.verify_reference(&reference, &frame).unwrap();
        let fresh = engine.verify(&card, &frame).unwrap();
        assert_eq!(reused, fresh);
    }
}

#[test]
fn a_frame_without_a_face_is_inconclusive_not_an_error() {
    // The top-left corner of the astronaut photo: flag and wall, no face.
    let (w, _, rgb) = rgb_of(&common::data_dir().join("portraits/skimage_astronaut.png"));
    let (cw, ch) = (160u32, 120u32);
    let crop: Vec<u8> = (0..ch).flat_map(|y| rgb[(y * w * 3) as usize..((y * w + cw) * 3) as usize].to_vec()).collect();
    let frame = LiveFrame::from_rgb(cw, ch, crop).unwrap();
    let card = CardPhoto::open(sample("astronaut_card.png")).unwrap();
    let outcome = common::engine().verify(&card, &frame).unwrap();
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::NoFace(Side::Live)));
    assert_eq!((outcome.score, outcome.threshold), (None, None));
}

#[test]
fn two_people_side_by_side_are_inconclusive() {
    let (w1, h1, a) = rgb_of(&common::lfw_image("images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"));
    let (_, _, b) = rgb_of(&common::lfw_image("images/Mick_Jagger/Mick_Jagger_0001.jpg"));
    // One 500x250 frame: two 250x250 portraits next to each other.
    let mut frame = Vec::with_capacity((w1 * 2 * h1 * 3) as usize);
    for y in 0..h1 as usize {
        let row = w1 as usize * 3;
        frame.extend_from_slice(&a[y * row..(y + 1) * row]);
        frame.extend_from_slice(&b[y * row..(y + 1) * row]);
    }
    let frame = LiveFrame::from_rgb(w1 * 2, h1, frame).unwrap();
    assert!(common::engine().detect(&frame).unwrap().len() >= 2);
    match common::engine().template(&frame).unwrap() {
        Acquisition::Inconclusive(reason) => assert_eq!(reason, Reason::MultipleFaces(Side::Live)),
        Acquisition::Face(_) => panic!("two comparable faces must not pick a subject"),
    }
}

#[test]
fn exif_orientation_is_honoured() {
    // Stored 640x480 sideways with EXIF orientation 6 (rotate 90 degrees clockwise to display).
    let path = common::data_dir().join("spoof_samples/silent_face/image_T1.jpg");
    let frame = LiveFrame::open(&path).unwrap();
    assert_eq!(frame.dimensions(), (480, 640));
    let faces = common::engine().detect(&frame).unwrap();
    let face = faces.first().expect("an upright face after orientation");
    let [left_eye, right_eye] = [face.landmarks[0], face.landmarks[1]];
    let (dx, dy) = (right_eye[0] - left_eye[0], right_eye[1] - left_eye[1]);
    assert!(dx > 3.0 * dy.abs(), "eyes should be level after orientation: dx {dx}, dy {dy}");
}

#[test]
fn templates_do_not_print_their_contents() {
    let frame = LiveFrame::open(sample("astronaut_live.jpg")).unwrap();
    let Acquisition::Face(template) = common::engine().template(&frame).unwrap() else { panic!("no face") };
    let shown = format!("{template:?}");
    assert!(shown.contains("hidden"), "{shown}");
    let first = format!("{}", honnin::danger::dangerous_template_values(&template)[0]);
    assert!(!shown.contains(&first[..first.len().min(6)]), "{shown}");
    let card = CardPhoto::open(sample("astronaut_card.png")).unwrap();
    assert!(format!("{:?}", common::engine().card_reference(&card).unwrap()).contains("hidden"));
}

#[test]
fn oversized_images_are_refused_from_the_header_before_decoding() {
    // A PNG header claiming 30000 x 30000 pixels, with no pixel data behind it.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&30000u32.to_be_bytes());
    png.extend_from_slice(&30000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0]);
    let crc = crc32(&png[12..]);
    png.extend_from_slice(&crc.to_be_bytes());
    // An IDAT chunk of junk, so a decoder gets past the header.
    png.extend_from_slice(&[0, 0, 0, 4, b'I', b'D', b'A', b'T', 1, 2, 3, 4]);
    let crc = crc32(&png[png.len() - 8..]);
    png.extend_from_slice(&crc.to_be_bytes());
    match LiveFrame::from_bytes(&png) {
        Err(Error::LimitExceeded { limit: "width", max: 16384, actual: 30000 }) => {}
        other => panic!("expected a width limit error, got {other:?}"),
    }
    let small = Limits { max_bytes: 1000, ..Limits::default() };
    let bytes = std::fs::read(sample("astronaut_card.png")).unwrap();
    assert!(matches!(
        CardPhoto::from_bytes_with_limits(&bytes, &small),
        Err(Error::LimitExceeded { limit: "bytes", .. })
    ));
}

#[test]
fn truncated_and_garbage_images_are_decode_errors() {
    let bytes = std::fs::read(sample("astronaut_live.jpg")).unwrap();
    for cut in [2, 20, 200, bytes.len() / 3] {
        assert!(LiveFrame::from_bytes(&bytes[..cut]).is_err(), "truncated at {cut} decoded");
    }
    let gif = LiveFrame::from_bytes(b"GIF89a\x01\0\x01\0");
    assert!(matches!(gif, Err(Error::UnrecognisedFormat { what: "image", ref magic }) if magic == "47 49 46 38"));
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Deterministic xorshift, so a failure reproduces.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn corrupted_images_never_panic() {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for name in ["astronaut_card.png", "astronaut_live.jpg"] {
        let original = std::fs::read(sample(name)).unwrap();
        let (mut decoded, mut refused) = (0, 0);
        for _ in 0..150 {
            let mut bytes = original.clone();
            // Flip a few bytes, biased towards the headers where parsers branch.
            for _ in 0..1 + xorshift(&mut rng) % 4 {
                let span = if xorshift(&mut rng).is_multiple_of(2) { 512.min(bytes.len()) } else { bytes.len() };
                let at = (xorshift(&mut rng) % span as u64) as usize;
                bytes[at] ^= 1 << (xorshift(&mut rng) % 8);
            }
            if xorshift(&mut rng).is_multiple_of(4) {
                bytes.truncate((xorshift(&mut rng) % bytes.len() as u64) as usize);
            }
            match LiveFrame::from_bytes(&bytes) {
                Ok(frame) => {
                    decoded += 1;
                    // Whatever decodes must also go through the engine without panicking.
                    let _ = common::engine().template(&frame).unwrap();
                }
                Err(Error::Decode { .. } | Error::LimitExceeded { .. } | Error::UnrecognisedFormat { .. }) => {
                    refused += 1
                }
                Err(other) => panic!("unexpected error kind: {other}"),
            }
        }
        // The property under test is "no panic"; these show which paths ran. PNG's
        // chunk checksums catch every flip; JPEG decodes many corrupted files.
        assert!(refused > 0, "{name}: no corruption was ever refused");
        if name.ends_with(".jpg") {
            assert!(decoded > 0, "{name}: no corruption was ever decoded");
        }
    }
}

#[test]
fn a_large_camera_frame_is_downscaled_for_detection_and_still_matches() {
    // A 1920x1080 frame: the 640x640 live sample scaled to 1080x1080, centred on grey.
    let live = image::open(sample("astronaut_live.jpg")).unwrap().to_rgb8();
    let big = image::imageops::resize(&live, 1080, 1080, image::imageops::FilterType::Triangle);
    let mut frame = image::RgbImage::from_pixel(1920, 1080, image::Rgb([128, 128, 128]));
    image::imageops::overlay(&mut frame, &big, 420, 0);
    let frame = LiveFrame::from_rgb(1920, 1080, frame.into_raw()).unwrap();
    let faces = common::engine().detect(&frame).unwrap();
    let face = faces.first().expect("a face in the large frame");
    // The face sits where the overlay put it (x between 420 and 1500), in frame pixels.
    assert!(face.bbox[0] > 420.0 && face.bbox[0] + face.bbox[2] < 1500.0, "{face:?}");
    let card = CardPhoto::open(sample("astronaut_card.png")).unwrap();
    let outcome = common::engine().verify(&card, &frame).unwrap();
    assert_eq!(outcome.decision, Decision::Match, "{outcome:?}");
}
