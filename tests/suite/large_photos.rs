//! Ordinary photos larger than honnin needs (issue 17): a 12 Mpixel
//! progressive JPEG and phone-sized baseline JPEGs (4352x2903, 3061x4600) are
//! decoded at half size straight from their DCT coefficients and verify at
//! the default limits. A 4352x2903 PNG, which no decoder can scale, is decoded
//! whole within the same bounds. (That a whole `honnin verify` of each peaks
//! under 300 MB is tested with the command-line tool, in
//! honnin-cli/tests/large_photos.rs.)
//!
//! The photos are made at test time, in memory, from real faces (`photos`).
//! Each is verified against a card photo of the same person: another LFW
//! picture of them, or the astronaut card crop.

use honnin::{CardPhoto, Decision, Limits, LiveFrame};
use image::imageops;

use crate::common;

mod photos;

use photos::{baseline_jpeg, photos, rgb, scene};

/// An EXIF segment (APP1) holding one tag: orientation `value`.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&value.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let body = [&b"Exif\0\0"[..], &tiff].concat();
    [&[0xFF, 0xE1][..], &((body.len() + 2) as u16).to_be_bytes(), &body].concat()
}

#[test]
fn phone_sized_photos_decode_at_half_size_and_match_their_card() {
    let engine = common::engine();
    for photo in photos() {
        let (name, bytes) = (photo.name, &photo.bytes);
        let frame = LiveFrame::from_bytes(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The reduced-scale path for JPEG: half the width and height, rounded up.
        assert_eq!(frame.dimensions(), photo.decoded, "{name}");
        let card = CardPhoto::open(&photo.card).unwrap();
        let reduced = engine.verify(&card, &frame).unwrap();
        assert_eq!(reduced.decision, Decision::Match, "{name}: {reduced:?}");
        // Decoded at full size (no limits), the same photo scores about the same.
        let full = LiveFrame::from_bytes_with_limits(bytes, &Limits::no_limits()).unwrap();
        assert_eq!(full.dimensions(), photo.full, "{name}");
        let whole = engine.verify(&card, &full).unwrap();
        let (a, b) = (reduced.score.unwrap().value, whole.score.unwrap().value);
        assert!((a - b).abs() < 0.05, "{name}: {a} at half size, {b} at full size");
    }
}

#[test]
fn a_large_photo_stored_sideways_is_turned_upright_at_reduced_scale() {
    // 4000x3000 to display, stored 3000x4000 with EXIF orientation 6 (turn 90 degrees clockwise).
    let astronaut = rgb(&common::data_dir().join("portraits/skimage_astronaut.png"));
    let upright = scene(4000, 3000, &astronaut, 2048, (976, 476));
    let stored = baseline_jpeg(&imageops::rotate270(&upright));
    let with_exif = [&stored[..2], &exif_orientation(6), &stored[2..]].concat();
    let frame = LiveFrame::from_bytes(&with_exif).unwrap();
    assert_eq!(frame.dimensions(), (2000, 1500));
    let card = CardPhoto::open(common::root().join("samples/astronaut_card.png")).unwrap();
    let outcome = common::engine().verify(&card, &frame).unwrap();
    assert_eq!(outcome.decision, Decision::Match, "{outcome:?}");
}
