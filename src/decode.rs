//! Stage 1: bytes to pixels.
//!
//! The format is sniffed from the bytes (never from a file name), the header's
//! dimensions, pixels per byte and the decoder's working memory are checked
//! against [`Limits`] before any pixel buffer exists, EXIF orientation is
//! applied, and every intermediate buffer of honnin's own is wiped when it is
//! replaced. The third-party decoders' internal buffers (for JPEG 2000, the
//! samples and wavelet coefficients hayro-jpeg2000 keeps while decoding) are
//! out of honnin's reach and are freed without being wiped.
//!
//! JPEG, PNG and WebP go through the `image` crate; JPEG 2000 (JP2 files and
//! raw codestreams) through `hayro-jpeg2000`, a pure-Rust decoder built
//! without its SIMD feature, so no `unsafe` code decodes a card photo.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat as RasterFormat, ImageReader};
use zeroize::Zeroize;

use crate::container::{sniff_image, CardData, CardImage, Container, ImageFormat};
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::secret::Secret;

/// Decoder working memory per pixel, by format: the decoder's output and
/// planes, and the RGB copy that orientation may make. Measured peaks per
/// pixel: single-scan JPEG 3.4 to 3.7; progressive 4:4:4 or one scan per
/// component about 10.6 (every coefficient is kept until the last scan);
/// PNG 4.4 (8-bit RGB) to 10.5 (16-bit RGBA). JPEGs of four components
/// (CMYK) scale by 4/3.
const JPEG_SINGLE_SCAN_BYTES_PER_PIXEL: u64 = 4;
const JPEG_MULTI_SCAN_BYTES_PER_PIXEL: u64 = 11;
const PNG_WEBP_BYTES_PER_PIXEL: u64 = 6;
const PNG_ALPHA_BYTES_PER_PIXEL: u64 = 8;

/// An 8-bit RGB image, row-major, wiped when dropped. Never cloned.
pub(crate) struct Pixels {
    width: u32,
    height: u32,
    /// Exactly `width * height * 3` bytes, allocated once, wiped on drop.
    data: Secret<u8>,
}

impl Pixels {
    pub(crate) fn new(width: u32, height: u32, data: Vec<u8>) -> Result<Self> {
        let expected = (width as usize).checked_mul(height as usize).and_then(|n| n.checked_mul(3));
        if width == 0 || height == 0 || Some(data.len()) != expected {
            let expected = expected.map_or("more than addressable".to_string(), |n| n.to_string());
            let mut data = data;
            data.zeroize();
            return Err(Error::InvalidArgument {
                reason: format!("an RGB buffer of {width}x{height}x3 = {expected} bytes, non-empty"),
            });
        }
        Ok(Self { width, height, data: Secret::adopt(data) })
    }

    pub(crate) fn width(&self) -> u32 {
        self.width
    }

    pub(crate) fn height(&self) -> u32 {
        self.height
    }

    /// RGB triple at (x, y); the caller keeps x, y in range.
    #[inline]
    pub(crate) fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// The RGB bytes, row-major.
    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    #[cfg(test)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// True for a monochrome picture stored as RGB: the difference between a
    /// pixel's largest and smallest channel is on average at most
    /// [`GREY_MAX_MEAN_SPREAD`] levels. A tolerance, not R = G = B exactly, so
    /// that a grey photo with a little chroma noise (a scan, a re-encoding)
    /// still gets the grey threshold; colour faces average tens of levels.
    pub(crate) fn is_grey(&self) -> bool {
        let spread: u64 =
            self.data.chunks_exact(3).map(|p| u64::from(p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2]))).sum();
        let pixels = (self.data.len() / 3).max(1) as f64;
        spread as f64 / pixels <= GREY_MAX_MEAN_SPREAD
    }
}

/// See [`Pixels::is_grey`].
pub(crate) const GREY_MAX_MEAN_SPREAD: f64 = 2.0;

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pixels({}x{}, contents hidden)", self.width, self.height)
    }
}

/// Decodes a JPEG, JPEG 2000, PNG or WebP image into RGB pixels within `limits`.
///
/// The third-party decoders are pure Rust but not free of panics on hostile
/// input; a panic inside them is caught and reported as [`Error::Decode`]
/// (this needs the default `panic = "unwind"`).
pub(crate) fn decode_image(bytes: &[u8], limits: &Limits) -> Result<Pixels> {
    limits.check_bytes(bytes.len())?;
    if bytes.is_empty() {
        return Err(Error::InvalidArgument { reason: "image bytes, got an empty buffer".into() });
    }
    let format = sniff_image(bytes, "image")?;
    decode_format(bytes, format, limits)
}

fn decode_format(bytes: &[u8], format: ImageFormat, limits: &Limits) -> Result<Pixels> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match format {
        ImageFormat::Jp2 | ImageFormat::J2k => crate::jpeg2000::decode(bytes, limits),
        _ => decode_raster(bytes, limits),
    }))
    .unwrap_or_else(|_| Err(Error::Decode { reason: format!("the {format:?} decoder failed on malformed data") }))
}

fn decode_raster(bytes: &[u8], limits: &Limits) -> Result<Pixels> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::Decode { reason: e.to_string() })?;
    let reader_format = reader.format();
    let bytes_per_pixel = match reader_format {
        Some(RasterFormat::Jpeg) => match jpeg_structure(bytes) {
            None => {
                return Err(Error::Decode {
                    reason: "a complete JPEG, but the end-of-image marker is missing (truncated)".into(),
                })
            }
            Some(jpeg) => {
                let per_pixel = if jpeg.progressive || jpeg.scans > 1 {
                    JPEG_MULTI_SCAN_BYTES_PER_PIXEL
                } else {
                    JPEG_SINGLE_SCAN_BYTES_PER_PIXEL
                };
                per_pixel * u64::from(jpeg.components.max(3)) / 3
            }
        },
        Some(RasterFormat::Png) => {
            // IHDR: bit depth at byte 24, colour type at 25 (4 grey + alpha, 6 RGBA).
            let alpha = matches!(bytes.get(25), Some(4 | 6));
            let per_pixel = if alpha { PNG_ALPHA_BYTES_PER_PIXEL } else { PNG_WEBP_BYTES_PER_PIXEL };
            if bytes.get(24) == Some(&16) {
                per_pixel * 2
            } else {
                per_pixel
            }
        }
        Some(RasterFormat::WebP) => PNG_WEBP_BYTES_PER_PIXEL,
        Some(other) => return Err(Error::Decode { reason: format!("a JPEG, PNG or WebP image, got {other:?}") }),
        None => return Err(Error::Decode { reason: "a JPEG, PNG or WebP image, format not recognised".into() }),
    };
    let mut decoder = reader.into_decoder().map_err(decode_err)?;
    let (width, height) = decoder.dimensions();
    let memory = (u64::from(width) * u64::from(height)).saturating_mul(bytes_per_pixel);
    limits.check_header(width, height, bytes.len(), memory)?;
    if reader_format == Some(RasterFormat::Png) && !png_is_complete(bytes) {
        return Err(Error::Decode { reason: "a complete PNG, but its IEND chunk is missing (truncated)".into() });
    }
    let mut image_limits = image::Limits::default();
    // Headroom for the decoder's own buffers: 16 bytes per pixel covers RGBA16.
    image_limits.max_alloc = Some((u64::from(width) * u64::from(height)).saturating_mul(16).saturating_add(1 << 20));
    image_limits.max_image_width = Some(width);
    image_limits.max_image_height = Some(height);
    decoder.set_limits(image_limits).map_err(decode_err)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(decode_err)?;
    let rgb = into_rgb_wiping(image)?;
    orient(rgb, orientation)
}

/// What the decoder's memory depends on in a JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Jpeg {
    /// Progressive JPEGs keep every coefficient of the image until the last scan.
    progressive: bool,
    /// Scans (SOS segments); more than one keeps coefficients like a progressive JPEG.
    scans: u32,
    /// Components in the frame (SOF).
    components: u8,
}

/// Whether a PNG holds its end chunk (`IEND` and its fixed CRC). The decoder
/// would otherwise accept a file cut after the image data.
fn png_is_complete(bytes: &[u8]) -> bool {
    const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
    bytes.windows(IEND.len()).any(|w| w == IEND)
}

#[cfg(test)]
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    jpeg_structure(bytes).is_some()
}

/// `None` unless a JPEG reaches its end-of-image marker. Walks the marker
/// segments from the start (skipping each segment by its length, so markers
/// inside an EXIF thumbnail are never seen) and the entropy-coded data after
/// each scan (where FF is escaped as FF 00 and restart markers FF D0-D7 may
/// occur). Bytes after the end marker (maker trailers) are allowed. The JPEG
/// decoder would otherwise fill a truncated image with grey and return it as
/// if whole.
fn jpeg_structure(bytes: &[u8]) -> Option<Jpeg> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let (mut progressive, mut scans, mut components) = (false, 0u32, 0u8);
    let mut i = 2;
    loop {
        // Find the next marker, skipping fill bytes.
        while i < bytes.len() && bytes[i] != 0xFF {
            i += 1;
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let &marker = bytes.get(i)?;
        i += 1;
        match marker {
            0xD9 => return Some(Jpeg { progressive, scans, components }),
            0x01 | 0xD0..=0xD8 => continue,
            _ => {
                let len = bytes.get(i..i + 2).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))?;
                if len < 2 {
                    return None;
                }
                // SOF2, SOF6, SOF10, SOF14: progressive frames.
                progressive |= matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
                    // SOF: length (2), precision (1), height (2), width (2), components (1).
                    components = components.max(bytes.get(i + 7).copied().unwrap_or(0));
                }
                scans += u32::from(marker == 0xDA);
                i += len;
                if marker == 0xDA {
                    // Entropy-coded data runs until a marker other than a stuffed
                    // FF 00 or a restart marker, either possibly after fill bytes (FF FF ...).
                    while i < bytes.len() {
                        if bytes[i] != 0xFF {
                            i += 1;
                            continue;
                        }
                        let mut j = i;
                        while j < bytes.len() && bytes[j] == 0xFF {
                            j += 1;
                        }
                        match bytes.get(j) {
                            Some(0x00 | 0xD0..=0xD7) => i = j + 1,
                            // A real marker: leave `i` on its first FF for the outer loop.
                            _ => break,
                        }
                    }
                }
            }
        }
    }
}

fn decode_err(err: image::ImageError) -> Error {
    match err {
        image::ImageError::Limits(l) => Error::Decode { reason: format!("decoder limit: {l}") },
        other => Error::Decode { reason: other.to_string() },
    }
}

/// Converts any decoded layout to RGB8, wiping the source buffer if a copy was made.
fn into_rgb_wiping(image: DynamicImage) -> Result<Pixels> {
    let (width, height) = (image.width(), image.height());
    let rgb = match image {
        DynamicImage::ImageRgb8(buffer) => buffer.into_raw(),
        mut other => {
            let rgb = other.to_rgb8().into_raw();
            wipe_dynamic(&mut other);
            rgb
        }
    };
    Pixels::new(width, height, rgb)
}

fn wipe_dynamic(image: &mut DynamicImage) {
    match image {
        DynamicImage::ImageLuma8(b) => (**b).zeroize(),
        DynamicImage::ImageLumaA8(b) => (**b).zeroize(),
        DynamicImage::ImageRgb8(b) => (**b).zeroize(),
        DynamicImage::ImageRgba8(b) => (**b).zeroize(),
        DynamicImage::ImageLuma16(b) => (**b).zeroize(),
        DynamicImage::ImageLumaA16(b) => (**b).zeroize(),
        DynamicImage::ImageRgb16(b) => (**b).zeroize(),
        DynamicImage::ImageRgba16(b) => (**b).zeroize(),
        DynamicImage::ImageRgb32F(b) => (**b).zeroize(),
        DynamicImage::ImageRgba32F(b) => (**b).zeroize(),
        _ => {}
    }
}

/// Applies an EXIF orientation, producing a new buffer and wiping the old one.
fn orient(src: Pixels, orientation: image::metadata::Orientation) -> Result<Pixels> {
    use image::metadata::Orientation as O;
    let (w, h) = (src.width, src.height);
    // Maps a destination pixel to its source pixel.
    type SourceOf = fn(u32, u32, u32, u32) -> (u32, u32);
    let (dw, dh, map): (u32, u32, SourceOf) = match orientation {
        O::NoTransforms => return Ok(src),
        O::FlipHorizontal => (w, h, |x, y, w, _| (w - 1 - x, y)),
        O::Rotate180 => (w, h, |x, y, w, h| (w - 1 - x, h - 1 - y)),
        O::FlipVertical => (w, h, |x, y, _, h| (x, h - 1 - y)),
        // Rotate 90 clockwise then flip horizontally: a transpose.
        O::Rotate90FlipH => (h, w, |x, y, _, _| (y, x)),
        O::Rotate90 => (h, w, |x, y, _, h| (y, h - 1 - x)),
        O::Rotate270FlipH => (h, w, |x, y, w, h| (w - 1 - y, h - 1 - x)),
        O::Rotate270 => (h, w, |x, y, w, _| (w - 1 - y, x)),
    };
    let mut out = vec![0u8; src.data.len()];
    for y in 0..dh {
        for x in 0..dw {
            let (sx, sy) = map(x, y, w, h);
            let d = (y as usize * dw as usize + x as usize) * 3;
            out[d..d + 3].copy_from_slice(&src.rgb(sx, sy));
        }
    }
    Pixels::new(dw, dh, out)
}

/// Reads at most `max_bytes` from a file; longer files (and endless ones such as
/// pipes or device files) are refused with [`Error::LimitExceeded`].
pub(crate) fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    // A regular file only, its size checked before reading (`input_file`).
    crate::input_file::read_regular(path, max_bytes).map(|mut bytes| std::mem::take(&mut *bytes))
}

pub(crate) fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    read_bounded(path, limits.max_bytes)
}

/// Whether a card's reference photo is in colour or monochrome.
///
/// Grey references (as on Japan's My Number card chip) score differently and
/// need thresholds calibrated for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceKind {
    /// A colour photograph.
    Colour,
    /// A monochrome photograph (channels equal within a small tolerance: on
    /// average at most 2 levels apart).
    Grey,
}

/// The reference photo from an ID card (chip or scan).
///
/// Decoded once; its pixels are wiped when it is dropped. Like a
/// [`LiveFrame`], it cannot be cloned:
///
/// ```compile_fail
/// fn copy(card: &honnin::CardPhoto) -> honnin::CardPhoto { card.clone() }
/// ```
///
/// ```compile_fail
/// fn copy(frame: &honnin::LiveFrame) -> honnin::LiveFrame { frame.clone() }
/// ```
#[derive(Debug)]
pub struct CardPhoto {
    pub(crate) pixels: Pixels,
    kind: ReferenceKind,
    container: Container,
    format: ImageFormat,
}

impl CardPhoto {
    /// Decodes a card photo within the default [`Limits`]: a plain image
    /// (JPEG, JPEG 2000, PNG, WebP) or the first face image of chip data
    /// (EF.DG2, an ISO/IEC 19794-5 or 39794-5 record, My Number card-surface
    /// data). The kind is sniffed from the bytes; see [`CardData`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes_with_limits(bytes, &Limits::default())
    }

    /// Decodes a card photo (the first face image) within `limits`.
    pub fn from_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self> {
        Self::from_card_data(&CardData::parse(bytes, limits)?, 0, limits)
    }

    /// Decodes face image `index` of parsed card data within `limits`.
    pub fn from_card_data(data: &CardData<'_>, index: usize, limits: &Limits) -> Result<Self> {
        Self::from_card_image(data.container(), data.image(index)?, limits)
    }

    fn from_card_image(container: Container, image: &CardImage<'_>, limits: &Limits) -> Result<Self> {
        let pixels = decode_format(image.bytes(), image.format(), limits)?;
        let kind = if pixels.is_grey() { ReferenceKind::Grey } else { ReferenceKind::Colour };
        Ok(Self { pixels, kind, container, format: image.format() })
    }

    /// Reads and decodes a card photo file within the default [`Limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let limits = Limits::default();
        let mut bytes = read_file(path.as_ref(), &limits)?;
        let photo = Self::from_bytes_with_limits(&bytes, &limits);
        bytes.zeroize();
        photo
    }

    /// Colour or monochrome, as measured on the pixels.
    pub fn kind(&self) -> ReferenceKind {
        self.kind
    }

    /// What held the photo (a plain image file, DG2, ...).
    pub fn container(&self) -> Container {
        self.container
    }

    /// The photo's encoding, sniffed from its bytes.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// Width and height in pixels, after EXIF orientation.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.pixels.width, self.pixels.height)
    }
}

/// One live image of the person at the counter (a camera frame or a photo).
///
/// Its pixels are wiped when it is dropped.
#[derive(Debug)]
pub struct LiveFrame {
    pub(crate) pixels: Pixels,
}

impl LiveFrame {
    /// Decodes an encoded image (JPEG, JPEG 2000, PNG or WebP) within the default [`Limits`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Self::from_bytes_with_limits(bytes, &Limits::default())
    }

    /// Decodes an encoded image within `limits`.
    pub fn from_bytes_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self> {
        Ok(Self { pixels: decode_image(bytes, limits)? })
    }

    /// Reads and decodes an image file within the default [`Limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let limits = Limits::default();
        let mut bytes = read_file(path.as_ref(), &limits)?;
        let frame = Self::from_bytes_with_limits(&bytes, &limits);
        bytes.zeroize();
        frame
    }

    /// Takes ownership of a raw RGB8 camera frame (`width * height * 3` bytes,
    /// row-major). The buffer is wiped when the frame is dropped, and also when
    /// it is refused.
    pub fn from_rgb(width: u32, height: u32, rgb: Vec<u8>) -> Result<Self> {
        Self::from_rgb_with_limits(width, height, rgb, &Limits::default())
    }

    /// As [`LiveFrame::from_rgb`], within `limits`.
    pub fn from_rgb_with_limits(width: u32, height: u32, mut rgb: Vec<u8>, limits: &Limits) -> Result<Self> {
        if let Err(e) = limits.check_dimensions(width, height) {
            rgb.zeroize();
            return Err(e);
        }
        Ok(Self { pixels: Pixels::new(width, height, rgb)? })
    }

    /// Width and height in pixels, after EXIF orientation.
    pub fn dimensions(&self) -> (u32, u32) {
        (self.pixels.width, self.pixels.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(w: u32, h: u32) -> Pixels {
        let data = (0..w * h).flat_map(|i| [i as u8, 0, 0]).collect();
        Pixels::new(w, h, data).unwrap()
    }

    #[test]
    fn orientation_rotate90_moves_bottom_left_to_top_left() {
        // 3 wide, 2 high: 0 1 2 / 3 4 5. Rotating 90 clockwise gives 2 wide, 3 high: 3 0 / 4 1 / 5 2.
        let out = orient(numbered(3, 2), image::metadata::Orientation::Rotate90).unwrap();
        assert_eq!((out.width(), out.height()), (2, 3));
        let firsts: Vec<u8> = out.as_bytes().chunks(3).map(|p| p[0]).collect();
        assert_eq!(firsts, vec![3, 0, 4, 1, 5, 2]);
    }

    #[test]
    fn orientation_rotate270_is_the_inverse_of_rotate90() {
        let once = orient(numbered(3, 2), image::metadata::Orientation::Rotate90).unwrap();
        let back = orient(once, image::metadata::Orientation::Rotate270).unwrap();
        assert_eq!(back.as_bytes(), numbered(3, 2).as_bytes());
    }

    #[test]
    fn grey_tolerates_a_little_chroma_noise_but_not_colour() {
        let grey: Vec<u8> = (0..100u8).flat_map(|v| [v, v, v]).collect();
        assert!(Pixels::new(10, 10, grey.clone()).unwrap().is_grey());
        let mut noisy = grey.clone();
        noisy.iter_mut().step_by(7).for_each(|v| *v = v.saturating_add(3));
        assert!(Pixels::new(10, 10, noisy).unwrap().is_grey());
        let tinted: Vec<u8> = (0..100u8).flat_map(|v| [v.saturating_add(20), v, v]).collect();
        assert!(!Pixels::new(10, 10, tinted).unwrap().is_grey());
    }

    #[test]
    fn garbage_and_truncated_input_is_an_error_not_a_panic() {
        assert!(matches!(decode_image(b"", &Limits::default()), Err(Error::InvalidArgument { .. })));
        let text = decode_image(b"not an image at all", &Limits::default());
        assert!(matches!(text, Err(Error::UnrecognisedFormat { what: "image", ref magic }) if magic == "6E 6F 74 20"));
        let png_header = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x10\0\0\0\x10\0\x08\x02\0\0\0";
        assert!(decode_image(png_header, &Limits::default()).is_err());
    }

    #[test]
    fn jpeg_completeness_needs_an_end_marker_after_the_scan() {
        let scan = [0xFF, 0xDA, 0, 2];
        let whole = [&[0xFF, 0xD8][..], &scan, &[1, 0xFF, 0x00, 0xFF, 0xD0, 2, 0xFF, 0xD9]].concat();
        assert!(jpeg_is_complete(&whole));
        assert!(!jpeg_is_complete(&whole[..whole.len() - 2]));
        // An end marker inside an APP1 segment (a thumbnail) does not count.
        let app1 = [0xFF, 0xE1, 0, 4, 0xFF, 0xD9];
        let truncated = [&[0xFF, 0xD8][..], &app1, &scan, &[1, 2]].concat();
        assert!(!jpeg_is_complete(&truncated));
        // A trailer after the end marker, even one holding FF DA, is fine.
        let trailer = [&whole[..], &[0xFF, 0xDA, 9, 9]].concat();
        assert!(jpeg_is_complete(&trailer));
        // Fill bytes before a restart marker or a stuffed byte, and before EOI.
        let filled =
            [&[0xFF, 0xD8][..], &scan, &[1, 0xFF, 0xFF, 0xD0, 2, 0xFF, 0xFF, 0x00, 3, 0xFF, 0xFF, 0xD9]].concat();
        assert!(jpeg_is_complete(&filled));
        // Progressive: two scans with a table segment between them.
        let dht = [0xFF, 0xC4, 0, 3, 0];
        let two = [&[0xFF, 0xD8][..], &scan, &[1, 2], &dht, &scan, &[3, 4, 0xFF, 0xD9]].concat();
        assert!(jpeg_is_complete(&two));
        assert!(!jpeg_is_complete(&two[..two.len() - 2]));
    }

    #[test]
    fn raw_frame_with_wrong_length_is_refused() {
        assert!(matches!(LiveFrame::from_rgb(4, 4, vec![0; 47]), Err(Error::InvalidArgument { .. })));
        assert!(LiveFrame::from_rgb(4, 4, vec![0; 48]).is_ok());
    }
}
