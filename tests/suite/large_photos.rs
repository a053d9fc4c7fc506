//! Ordinary photos larger than honnin needs (issue 17): a 12 Mpixel
//! progressive JPEG and phone-sized baseline JPEGs (4352x2903, 3061x4600) are
//! decoded at half size straight from their DCT coefficients, verify at the
//! default limits, and a whole `honnin verify` of each peaks under 300 MB. A
//! 4352x2903 PNG, which no decoder can scale, is decoded whole within the
//! same bounds.
//!
//! The photos are made at test time, in memory, from real faces: LFW images
//! and the public-domain astronaut portrait, upscaled onto a textured
//! background; the CLI reads them from a scratch folder that is then removed.
//! Each is verified against a card photo of the same person: another LFW
//! picture of them, or the astronaut card crop.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use honnin::{CardPhoto, Decision, Limits, LiveFrame};
use image::{imageops, RgbImage};

use crate::common;
use crate::progressive_jpeg;

/// One generated photo: its name and bytes, its card, its full and decoded sizes.
struct Photo {
    name: &'static str,
    bytes: Vec<u8>,
    card: PathBuf,
    full: (u32, u32),
    decoded: (u32, u32),
}

/// A picture of `width` x `height`: a gradient with mild noise (as a wall
/// photographed with a phone), and `face` scaled to `side` pixels square at `at`.
fn scene(width: u32, height: u32, face: &RgbImage, side: u32, at: (u32, u32)) -> RgbImage {
    let mut canvas = RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 29;
        let base = 90 + (x * 60 / width) + (y * 50 / height);
        image::Rgb([base as u8 + noise as u8, (base - 10) as u8 + noise as u8, (base + 20) as u8 + noise as u8])
    });
    let face = imageops::resize(face, side, side, imageops::FilterType::Triangle);
    imageops::replace(&mut canvas, &face, i64::from(at.0), i64::from(at.1));
    canvas
}

fn rgb(path: &Path) -> RgbImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8()
}

fn baseline_jpeg(picture: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(picture).unwrap();
    out
}

/// An EXIF segment (APP1) holding one tag: orientation `value`.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&value.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let body = [&b"Exif\0\0"[..], &tiff].concat();
    [&[0xFF, 0xE1][..], &((body.len() + 2) as u16).to_be_bytes(), &body].concat()
}

/// The three photos of the issue, and one as PNG, made once per test process.
fn photos() -> &'static [Photo] {
    static PHOTOS: OnceLock<Vec<Photo>> = OnceLock::new();
    PHOTOS.get_or_init(|| {
        let lfw = |name: &str| common::lfw_image(&format!("images/{name}.jpg"));
        let progressive = scene(4000, 3000, &rgb(&lfw("George_W_Bush/George_W_Bush_0003")), 2500, (750, 250));
        let wide = scene(4352, 2903, &rgb(&lfw("Aaron_Peirsol/Aaron_Peirsol_0002")), 2500, (900, 200));
        let tall = scene(3061, 4600, &rgb(&lfw("George_W_Bush/George_W_Bush_0005")), 2500, (280, 1000));
        let mut png = Vec::new();
        wide.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let made = [
            ("progressive_4000x3000.jpg", progressive_jpeg::encode(4000, 3000, progressive.as_raw())),
            ("baseline_4352x2903.jpg", baseline_jpeg(&wide)),
            ("baseline_3061x4600.jpg", baseline_jpeg(&tall)),
            // PNG cannot be decoded at reduced scale: decoded whole, within the memory limit.
            ("4352x2903.png", png),
        ];
        let cards = [
            lfw("George_W_Bush/George_W_Bush_0001"),
            lfw("Aaron_Peirsol/Aaron_Peirsol_0001"),
            lfw("George_W_Bush/George_W_Bush_0001"),
            lfw("Aaron_Peirsol/Aaron_Peirsol_0001"),
        ];
        let sizes = [
            ((4000, 3000), (2000, 1500)),
            ((4352, 2903), (2176, 1452)),
            ((3061, 4600), (1531, 2300)),
            ((4352, 2903), (4352, 2903)),
        ];
        made.into_iter()
            .zip(cards)
            .zip(sizes)
            .map(|(((name, bytes), card), (full, decoded))| Photo { name, bytes, card, full, decoded })
            .collect()
    })
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

/// Runs `honnin verify --json` on a photo; its JSON output, its peak RSS in
/// bytes, and its standard error.
#[cfg(target_os = "linux")]
fn verify_measured(card: &Path, live: &Path) -> (serde_json::Value, u64, String) {
    let (card, live) = (card.to_str().unwrap(), live.to_str().unwrap());
    let run = common::honnin_measured(&["verify", "--json", "--card", card, "--live", live], None);
    let json = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {} {}", run.stdout, run.stderr));
    (json, run.peak_kib * 1024, run.stderr)
}

#[test]
#[cfg(target_os = "linux")] // ru_maxrss in KiB
fn the_cli_verifies_each_large_photo_with_a_peak_under_300_mb() {
    // Files for the CLI, in a folder of this test's own, removed afterwards (they show faces).
    let dir = common::scratch_dir("large-photos");
    for photo in photos() {
        let path = dir.join(photo.name);
        std::fs::write(&path, &photo.bytes).unwrap();
        let (json, peak, stderr) = verify_measured(&photo.card, &path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(json["decision"], "match", "{}: {json} {stderr}", photo.name);
        assert!(peak < 300_000_000, "{}: peak RSS {peak} bytes", photo.name);
        eprintln!(
            "{}: {} (score {}), peak RSS {} MB",
            photo.name,
            json["decision"],
            json["score"]["value"],
            peak / 1_000_000
        );
    }
    std::fs::remove_dir(&dir).unwrap();
}
