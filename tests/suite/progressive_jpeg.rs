//! A small progressive JPEG writer for tests (`encoder.rs`, which honnin-cli's
//! tests include too), and its test.

mod encoder;

pub use encoder::encode;

#[test]
fn a_written_progressive_jpeg_decodes_to_its_picture() {
    // A 37x21 colour gradient: edges that are not multiples of 8.
    let (w, h) = (37u32, 21u32);
    let rgb: Vec<u8> = (0..w * h).flat_map(|i| [(i % w * 6) as u8, (i / w * 11) as u8, 90]).collect();
    let jpeg = encode(w, h, &rgb);
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let decoded = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (w, h));
    let worst = decoded.as_raw().iter().zip(&rgb).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
    assert!(worst <= 12, "largest difference {worst}");
}
