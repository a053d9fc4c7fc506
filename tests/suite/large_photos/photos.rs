//! The photos of issue 17, made at test time, in memory, from real faces:
//! LFW images and the public-domain astronaut portrait, upscaled onto a
//! textured background. Shared by the library's tests (large_photos.rs) and
//! honnin-cli's, which include this file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{imageops, RgbImage};

use crate::common;
use crate::progressive_jpeg;

/// One generated photo: its name and bytes, its card, its full and decoded sizes.
pub struct Photo {
    pub name: &'static str,
    pub bytes: Vec<u8>,
    pub card: PathBuf,
    pub full: (u32, u32),
    pub decoded: (u32, u32),
}

/// A picture of `width` x `height`: a gradient with mild noise (as a wall
/// photographed with a phone), and `face` scaled to `side` pixels square at `at`.
pub fn scene(width: u32, height: u32, face: &RgbImage, side: u32, at: (u32, u32)) -> RgbImage {
    let mut canvas = RgbImage::from_fn(width, height, |x, y| {
        let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 29;
        let base = 90 + (x * 60 / width) + (y * 50 / height);
        image::Rgb([base as u8 + noise as u8, (base - 10) as u8 + noise as u8, (base + 20) as u8 + noise as u8])
    });
    let face = imageops::resize(face, side, side, imageops::FilterType::Triangle);
    imageops::replace(&mut canvas, &face, i64::from(at.0), i64::from(at.1));
    canvas
}

pub fn rgb(path: &Path) -> RgbImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8()
}

pub fn baseline_jpeg(picture: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(picture).unwrap();
    out
}

/// The three photos of the issue, and one as PNG, made once per test process.
pub fn photos() -> &'static [Photo] {
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
