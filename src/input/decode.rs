//! Stage 1: bytes to pixels.
//!
//! The format is sniffed from the bytes (never from a file name), the header's
//! dimensions, pixels per byte and the decoder's working memory are checked
//! against [`Limits`] before any pixel buffer exists, EXIF orientation is
//! applied, and every intermediate buffer of honnin's own is wiped when it is
//! replaced. The third-party decoders' internal buffers (for JPEG 2000, the
//! samples and wavelet coefficients hayro-jpeg2000 keeps while decoding; for
//! a JPEG decoded at reduced scale, jpeg-decoder's coefficients and scaled
//! planes) are out of honnin's reach and are freed without being wiped.
//!
//! JPEG, PNG and WebP go through the `image` crate; a JPEG larger than
//! [`Limits::max_jpeg_decoded_pixels`] through `jpeg-decoder`, which decodes
//! it at 1/2, 1/4 or 1/8 of its size in the DCT domain; JPEG 2000 (JP2 files
//! and raw codestreams) through `hayro-jpeg2000`, a pure-Rust decoder built
//! without its SIMD feature, so no `unsafe` code decodes a card photo.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat as RasterFormat, ImageReader};
use zeroize::{Zeroize, Zeroizing};

use crate::card::authenticity::{my_number_surface, passive_authentication, Authenticity, TrustAnchors};
use crate::card::{sniff_image, CardData, CardImage, Container, ImageFormat};
use crate::error::{Error, Result};
use crate::input::limits::Limits;
pub(crate) use crate::input::pixels::Pixels;
use crate::input::raw::PixelFormat;

/// Decoder working memory per pixel at full size, by format: the decoder's
/// output and planes, and the RGB copy that orientation may make. Measured
/// peaks per pixel: single-scan JPEG 3.4 to 3.7; progressive 4:4:4 or one
/// scan per component about 10.6 (every coefficient is kept until the last
/// scan); PNG 4.4 (8-bit RGB) to 10.5 (16-bit RGBA). JPEGs of four
/// components (CMYK) scale by 4/3.
const JPEG_SINGLE_SCAN_BYTES_PER_PIXEL: u64 = 4;
const JPEG_MULTI_SCAN_BYTES_PER_PIXEL: u64 = 11;
const PNG_WEBP_BYTES_PER_PIXEL: u64 = 6;
const PNG_ALPHA_BYTES_PER_PIXEL: u64 = 8;
/// A JPEG decoded at reduced scale (jpeg-decoder): every DCT coefficient of
/// the full-size image may be held at once, 2 bytes each. A progressive JPEG
/// keeps them all until its last scan; a sequential one hands them row by row
/// to one IDCT thread per component, whose queue has no bound if the thread
/// falls behind, so the estimate counts them all for both.
const JPEG_COEFFICIENT_BYTES: u64 = 2;
/// Per pixel decoded at reduced scale: the decoder's scaled planes and its
/// interleaved output (up to 4 bytes each), honnin's RGB copy and the copy
/// orientation makes (3 each).
const JPEG_REDUCED_BYTES_PER_PIXEL: u64 = 14;

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
        // The chip photo's decoder copies the card's bytes into scratch
        // buffers of its own: they are wiped as it frees them.
        ImageFormat::Jp2 | ImageFormat::J2k => {
            crate::privacy::hardening::scrubbed(|| crate::input::jpeg2000::decode(bytes, limits))
        }
        ImageFormat::Jpeg => decode_jpeg(bytes, limits),
        ImageFormat::Png => decode_png(bytes, limits),
        ImageFormat::WebP => decode_full(bytes, RasterFormat::WebP, |width, height| {
            let memory = (u64::from(width) * u64::from(height)).saturating_mul(PNG_WEBP_BYTES_PER_PIXEL);
            limits.check_header(width, height, bytes.len(), memory)
        }),
    }))
    .unwrap_or_else(|_| {
        let name = match format {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Jp2 | ImageFormat::J2k => "JPEG 2000",
            ImageFormat::Png => "PNG",
            ImageFormat::WebP => "WebP",
        };
        Err(Error::Decode { reason: format!("the {name} decoder failed on malformed data") })
    })
}

/// The header chunk (IHDR) is read first, then the dimensions it declares
/// are checked, then the rest of the chunks are walked, before the decoder
/// runs: a bomb is refused for its size even when cut short, and a broken
/// file is described by what is wrong with it.
fn decode_png(bytes: &[u8], limits: &Limits) -> Result<Pixels> {
    png_structure(bytes, PngWalk::HeaderOnly)?;
    // IHDR data: width (bytes 16-19), height (20-23), bit depth (24), colour type (25: 4 grey + alpha, 6 RGBA).
    let be32 = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let (width, height) = (be32(16), be32(20));
    let mut per_pixel = if matches!(bytes[25], 4 | 6) { PNG_ALPHA_BYTES_PER_PIXEL } else { PNG_WEBP_BYTES_PER_PIXEL };
    if bytes[24] == 16 {
        per_pixel *= 2;
    }
    let memory = (u64::from(width) * u64::from(height)).saturating_mul(per_pixel);
    limits.check_header(width, height, bytes.len(), memory)?;
    png_structure(bytes, PngWalk::ToEnd)?;
    decode_full(bytes, RasterFormat::Png, |w, h| same_size("PNG", (w, h), (width, height)))
}

/// The decoder must read the size the header scan read.
fn same_size(format: &str, decoder: (u32, u32), header: (u32, u32)) -> Result<()> {
    if decoder == header {
        return Ok(());
    }
    Err(Error::Decode {
        reason: format!(
            "the {format} decoder read {}x{} pixels where the header says {}x{}",
            decoder.0, decoder.1, header.0, header.1
        ),
    })
}

/// Decodes at full size with the `image` crate; `check` sees the header's
/// width and height before anything is decoded.
fn decode_full(bytes: &[u8], format: RasterFormat, check: impl FnOnce(u32, u32) -> Result<()>) -> Result<Pixels> {
    let mut decoder = ImageReader::with_format(Cursor::new(bytes), format).into_decoder().map_err(decode_err)?;
    let (width, height) = decoder.dimensions();
    check(width, height)?;
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

/// A JPEG is read in three steps: its markers are walked to the end-of-image
/// marker (so that a truncated file is refused, and the frame header is known
/// without a decoder); the dimensions it declares are checked; then it is
/// decoded at the largest scale whose pixels and memory fit, at full size
/// with zune-jpeg (through `image`), reduced with jpeg-decoder.
fn decode_jpeg(bytes: &[u8], limits: &Limits) -> Result<Pixels> {
    let header = jpeg_header(bytes)?;
    let (width, height) = (u32::from(header.width), u32::from(header.height));
    limits.check_declared(width, height, bytes.len())?;
    match header.scale_within(limits)? {
        FULL_SCALE => decode_full(bytes, RasterFormat::Jpeg, |w, h| same_size("JPEG", (w, h), (width, height))),
        eighths => decode_jpeg_reduced(bytes, &header, eighths),
    }
}

/// Full size, in the eighths [`JpegHeader::scale_within`] counts in.
const FULL_SCALE: u32 = 8;

/// The most scans a JPEG may have (libjpeg's progressive scripts write 10;
/// zune-jpeg gives up after 100).
const MAX_JPEG_SCANS: u32 = 64;

/// What a JPEG's markers say, read before any decoder runs: what its
/// decoding costs and whether it can be decoded at a reduced scale.
#[derive(Debug, Clone, PartialEq, Eq)]
struct JpegHeader {
    /// The frame marker's code: C0 baseline, C1 extended sequential, C2
    /// progressive; the others are lossless, arithmetic-coded or hierarchical.
    frame: u8,
    /// Bits per sample.
    precision: u8,
    width: u16,
    height: u16,
    /// Horizontal and vertical sampling factors of each component, in frame order.
    sampling: Vec<(u8, u8)>,
    /// Scans (SOS segments); more than one keeps coefficients like a progressive JPEG.
    scans: u32,
}

impl JpegHeader {
    fn progressive(&self) -> bool {
        matches!(self.frame, 0xC2 | 0xC6 | 0xCA | 0xCE)
    }

    /// Whether jpeg-decoder can decode it at a reduced scale: Huffman-coded
    /// DCT (baseline, extended or progressive) of 8 bits, in grey, colour or CMYK.
    fn scalable(&self) -> bool {
        matches!(self.frame, 0xC0..=0xC2) && self.precision == 8 && matches!(self.sampling.len(), 1 | 3 | 4)
    }

    /// Width and height decoded at `eighths` / 8 of the size, rounded up as the decoders do.
    fn scaled(&self, eighths: u32) -> (u32, u32) {
        let at = |side: u16| (u32::from(side) * eighths).div_ceil(8);
        (at(self.width), at(self.height))
    }

    /// DCT coefficients of the full-size image: 64 for every 8x8 block of
    /// every component, counted over whole MCUs as jpeg-decoder allocates them.
    fn coefficients(&self) -> u64 {
        let h_max = self.sampling.iter().map(|s| u64::from(s.0)).max().unwrap_or(1);
        let v_max = self.sampling.iter().map(|s| u64::from(s.1)).max().unwrap_or(1);
        let mcus_x = u64::from(self.width).div_ceil(8 * h_max);
        let mcus_y = u64::from(self.height).div_ceil(8 * v_max);
        self.sampling.iter().map(|&(h, v)| mcus_x * u64::from(h) * mcus_y * u64::from(v) * 64).sum()
    }

    /// Working memory, in bytes, to decode at `eighths` / 8 of the size.
    fn decode_memory(&self, eighths: u32) -> u64 {
        let (width, height) = self.scaled(eighths);
        let pixels = u64::from(width) * u64::from(height);
        if eighths == FULL_SCALE {
            let per_pixel = if self.progressive() || self.scans > 1 {
                JPEG_MULTI_SCAN_BYTES_PER_PIXEL
            } else {
                JPEG_SINGLE_SCAN_BYTES_PER_PIXEL
            };
            pixels.saturating_mul(per_pixel * (self.sampling.len() as u64).max(3) / 3)
        } else {
            self.coefficients()
                .saturating_mul(JPEG_COEFFICIENT_BYTES)
                .saturating_add(pixels.saturating_mul(JPEG_REDUCED_BYTES_PER_PIXEL))
        }
    }

    /// The largest scale, in eighths of the size (8, 4, 2 or 1), at which the
    /// decoded pixels and the decoder's memory fit `limits`; a JPEG that
    /// jpeg-decoder cannot scale is tried at full size only. When none fits,
    /// the error is the smallest scale's.
    fn scale_within(&self, limits: &Limits) -> Result<u32> {
        let scales: &[u32] = if self.scalable() { &[8, 4, 2, 1] } else { &[8] };
        let mut refusal = None;
        for &eighths in scales {
            let (width, height) = self.scaled(eighths);
            let fits = limits
                .check_jpeg_decoded(u64::from(width) * u64::from(height))
                .and_then(|()| limits.check_decode_memory(self.decode_memory(eighths)));
            match fits {
                Ok(()) => return Ok(eighths),
                Err(e) => refusal = Some(e),
            }
        }
        Err(refusal.expect("at least one scale is tried"))
    }
}

/// Decodes a JPEG at `eighths` / 8 of its size (4, 2 or 1) with jpeg-decoder,
/// which scales the inverse DCT itself: the full-size picture never exists.
/// The decoder's own buffers (coefficients, scaled planes) are freed without
/// being wiped, as zune-jpeg's are; its output and every copy honnin makes are wiped.
fn decode_jpeg_reduced(bytes: &[u8], header: &JpegHeader, eighths: u32) -> Result<Pixels> {
    use jpeg_decoder::{Decoder, PixelFormat};
    let (width, height) = header.scaled(eighths);
    let mut decoder = Decoder::new(bytes);
    // The size asked for selects the scale: the smallest whose result is at least that large.
    // A scaled side is at most the 16-bit side it was computed from.
    let side = |n: u32| u16::try_from(n).map_err(|_| Error::Decode { reason: format!("a JPEG side of {n} pixels") });
    let got = decoder.scale(side(width)?, side(height)?).map_err(jpeg_decoder_err)?;
    let format = decoder.info().map(|i| i.pixel_format);
    if (u32::from(got.0), u32::from(got.1)) != (width, height) {
        return Err(Error::Decode {
            reason: format!(
                "the JPEG decoder would read {}x{} pixels where the frame header gives {width}x{height} at this scale",
                got.0, got.1
            ),
        });
    }
    let channels = header.sampling.len();
    decoder.set_max_decoding_buffer_size(channels * width as usize * height as usize);
    let decoded = Zeroizing::new(decoder.decode().map_err(jpeg_decoder_err)?);
    let pixels = width as usize * height as usize;
    if decoded.len() != channels * pixels {
        return Err(Error::Decode {
            reason: format!("the JPEG decoder returned {} samples for {pixels} pixels of {channels}", decoded.len()),
        });
    }
    let orientation = decoder
        .exif_data()
        .and_then(image::metadata::Orientation::from_exif_chunk)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    // Filled within its capacity, so that no unwiped copy is left by a reallocation.
    let mut rgb = Zeroizing::new(Vec::with_capacity(pixels * 3));
    match format {
        Some(PixelFormat::RGB24) => rgb.extend_from_slice(&decoded),
        Some(PixelFormat::L8) => decoded.iter().for_each(|&v| rgb.extend_from_slice(&[v, v, v])),
        // jpeg-decoder gives CMYK with 0 for no ink (an Adobe file's inverted
        // samples already turned back); each channel is what C, M, Y let through of K's remainder.
        Some(PixelFormat::CMYK32) => decoded.chunks_exact(4).for_each(|p| {
            let through = |ink: u8| ((255 - u32::from(ink)) * (255 - u32::from(p[3])) / 255) as u8;
            rgb.extend_from_slice(&[through(p[0]), through(p[1]), through(p[2])]);
        }),
        other => {
            return Err(Error::Decode {
                reason: format!("a JPEG of 8-bit grey, colour or CMYK samples, got {}", pixel_format_name(other)),
            })
        }
    }
    drop(decoded);
    let rgb = std::mem::take(&mut *rgb);
    orient(Pixels::new(width, height, rgb)?, orientation)
}

fn pixel_format_name(format: Option<jpeg_decoder::PixelFormat>) -> &'static str {
    match format {
        Some(jpeg_decoder::PixelFormat::L16) => "16-bit grey samples",
        _ => "samples of another kind",
    }
}

/// jpeg-decoder's errors in plain words (its own text shows Rust debug names).
fn jpeg_decoder_err(err: jpeg_decoder::Error) -> Error {
    use jpeg_decoder::{Error as E, UnsupportedFeature as U};
    let reason = match err {
        E::Format(what) => format!("corrupt JPEG data: {}", plain_words(&what)),
        E::Unsupported(feature) => match feature {
            U::SubsamplingRatio | U::NonIntegerSubsamplingRatio => {
                "a JPEG whose chroma subsampling honnin does not decode at a reduced scale".into()
            }
            U::ColorTransform(_) => "a JPEG whose colour transform honnin does not decode at a reduced scale".into(),
            U::Hierarchical => "a JPEG that uses hierarchical coding, which honnin does not decode".into(),
            U::ArithmeticEntropyCoding => "a JPEG that uses arithmetic coding, which honnin does not decode".into(),
            U::SamplePrecision(bits) => format!("a JPEG of {bits}-bit samples, which honnin does not decode"),
            U::ComponentCount(n) => format!("a JPEG of {n} components, which honnin does not decode"),
            U::DNL => "a JPEG whose height is given by a DNL marker, which honnin does not decode".into(),
        },
        E::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => "truncated JPEG: the data ends early".into(),
        other => format!("corrupt JPEG data: {}", plain_words(&other.to_string())),
    };
    Error::Decode { reason }
}

/// The name of a JPEG marker, for messages.
fn marker_name(marker: u8) -> String {
    match marker {
        0xC4 => "DHT".into(),
        0xC8 => "JPG".into(),
        0xCC => "DAC".into(),
        0xC0..=0xCF => format!("SOF{}", marker - 0xC0),
        0xDA => "SOS".into(),
        0xDB => "DQT".into(),
        0xDC => "DNL".into(),
        0xDD => "DRI".into(),
        0xE0..=0xEF => format!("APP{}", marker - 0xE0),
        0xFE => "COM".into(),
        _ => format!("FF {marker:02X}"),
    }
}

fn jpeg_error(reason: String) -> Error {
    Error::Decode { reason }
}

/// Walks a JPEG's marker segments from the start to its end-of-image marker
/// and reads its frame header. Each segment is skipped by its length (so
/// markers inside an EXIF thumbnail are never seen), and the entropy-coded
/// data after each scan up to the next marker (FF is escaped there as FF 00,
/// and restart markers FF D0-D7 may occur). Bytes after the end marker (maker
/// trailers) are allowed, and so are stray bytes between segments, as libjpeg
/// allows them. The JPEG decoder would otherwise fill a truncated image with
/// grey and return it as if whole.
///
/// The error says what is wrong: not a JPEG, too short to hold any image
/// data, truncated image data, a segment running past the end, or corrupt
/// data (a marker JPEG does not define, an impossible segment length, a frame
/// header that disagrees with itself).
fn jpeg_header(bytes: &[u8]) -> Result<JpegHeader> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(jpeg_error("not a JPEG: the data does not start with the start-of-image marker (FF D8)".into()));
    }
    let ended = |scans: u32| {
        let n = bytes.len();
        jpeg_error(if scans == 0 {
            format!("too short: the JPEG ends after {n} bytes, inside its headers, before any image data (truncated)")
        } else {
            format!("truncated: the JPEG's image data stops after {n} bytes, without its end-of-image marker")
        })
    };
    let corrupt = |at: usize, what: String| jpeg_error(format!("corrupt JPEG data at byte {at}: {what}"));
    let mut header: Option<JpegHeader> = None;
    let mut scans = 0u32;
    let mut i = 2;
    loop {
        // The next marker: stray bytes and fill bytes (FF) may come first.
        while i < bytes.len() && bytes[i] != 0xFF {
            i += 1;
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else { return Err(ended(scans)) };
        let at = i - 1;
        i += 1;
        match marker {
            0xD9 => break,
            // FF 00 outside a scan is a stray byte pair; TEM, restart markers and SOI stand alone.
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            0x02..=0xBF => {
                return Err(corrupt(at, format!("the marker FF {marker:02X}, which JPEG does not define")));
            }
            _ => {}
        }
        let Some(len) = bytes.get(i..i + 2).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) else {
            return Err(ended(scans));
        };
        let name = marker_name(marker);
        if len < 2 {
            return Err(corrupt(at, format!("the {name} segment has a length of {len} (at least 2)")));
        }
        let Some(segment) = bytes.get(i + 2..i + len) else {
            let left = bytes.len() - (i + 2).min(bytes.len());
            return Err(jpeg_error(format!(
                "truncated or corrupt JPEG: its {name} segment at byte {at} declares {} bytes, but only {left} remain",
                len - 2
            )));
        };
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            if header.is_some() {
                return Err(corrupt(at, format!("a second frame header ({name})")));
            }
            header = Some(jpeg_frame(marker, segment).map_err(|what| corrupt(at, what))?);
        }
        i += len;
        if marker == 0xDA {
            if header.is_none() {
                return Err(corrupt(at, "a scan (SOS) before the frame header".into()));
            }
            scans += 1;
            // A progressive decoder walks every block on every scan: a small
            // file of thousands of repeated scans would take minutes. Real
            // encoders write at most about a dozen.
            if scans > MAX_JPEG_SCANS {
                return Err(Error::LimitExceeded {
                    limit: "jpeg scans",
                    max: MAX_JPEG_SCANS.into(),
                    actual: scans.into(),
                });
            }
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
    let eoi = i - 2;
    let mut header = header.ok_or_else(|| {
        jpeg_error(format!("no image: the JPEG's end-of-image marker at byte {eoi} comes before any frame header"))
    })?;
    if scans == 0 {
        return Err(jpeg_error(format!(
            "no image data: the JPEG's end-of-image marker at byte {eoi} comes before any scan"
        )));
    }
    header.scans = scans;
    Ok(header)
}

/// Reads a frame header (SOF): precision, height, width, then three bytes
/// per component (identifier, sampling factors, quantization table).
fn jpeg_frame(marker: u8, s: &[u8]) -> std::result::Result<JpegHeader, String> {
    let name = marker_name(marker);
    let Some(&[precision, h_hi, h_lo, w_hi, w_lo, count]) = s.get(..6).map(|f| <&[u8; 6]>::try_from(f).unwrap()) else {
        return Err(format!("a frame header ({name}) of {} bytes, too short for its fields", s.len()));
    };
    let (height, width) = (u16::from_be_bytes([h_hi, h_lo]), u16::from_be_bytes([w_hi, w_lo]));
    if s.len() != 6 + 3 * usize::from(count) {
        return Err(format!(
            "a frame header ({name}) of {} bytes where its {count} components need {}",
            s.len(),
            6 + 3 * usize::from(count)
        ));
    }
    if count == 0 {
        return Err(format!("a frame header ({name}) with no component"));
    }
    if width == 0 {
        return Err(format!("a frame header ({name}) that gives a width of zero"));
    }
    if height == 0 {
        return Err(format!(
            "a frame header ({name}) that gives a height of zero (a height set later by a DNL marker is not supported)"
        ));
    }
    let sampling: Vec<(u8, u8)> = s[6..].chunks_exact(3).map(|c| (c[1] >> 4, c[1] & 0x0F)).collect();
    if let Some((n, (h, v))) =
        sampling.iter().enumerate().find(|(_, &(h, v))| !(1..=4).contains(&h) || !(1..=4).contains(&v))
    {
        return Err(format!("component {} with sampling factors {h}x{v} (each 1 to 4)", n + 1));
    }
    Ok(JpegHeader { frame: marker, precision, width, height, sampling, scans: 0 })
}

/// How far [`png_structure`] walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PngWalk {
    /// The signature and the header chunk (IHDR) only.
    HeaderOnly,
    /// Every chunk, to `IEND`.
    ToEnd,
}

/// Walks a PNG's chunks from the signature to `IEND`: the decoder would
/// otherwise accept a file cut after its image data. Says whether the file is
/// too short to hold its header chunk, truncated (cut inside a chunk or
/// before `IEND`) or corrupt (a chunk type that is not four letters, a length
/// over 2^31 - 1). Chunk contents and CRCs are the decoder's to check.
fn png_structure(bytes: &[u8], walk: PngWalk) -> Result<()> {
    let n = bytes.len();
    let err = |reason: String| Err(Error::Decode { reason });
    let mut at = 8;
    loop {
        let first = at == 8;
        let Some(head) = bytes.get(at..at + 8) else {
            if first {
                return err(format!(
                    "too short: the PNG ends after {n} bytes, before its header chunk (IHDR) is complete (truncated)"
                ));
            }
            return err(format!("truncated: the PNG ends after {n} bytes, before its IEND chunk"));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = &head[4..8];
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return err(format!("corrupt PNG data at byte {at}: a chunk type that is not four letters"));
        }
        let name = String::from_utf8_lossy(kind);
        if first && kind != b"IHDR" {
            return err(format!("corrupt PNG data: the first chunk is {name}, not the header chunk IHDR"));
        }
        if first && len != 13 {
            return err(format!("corrupt PNG data: a header chunk (IHDR) of {len} bytes (it has 13)"));
        }
        if len > i32::MAX as u32 {
            return err(format!("corrupt PNG data at byte {at}: a {name} chunk of {len} bytes (at most 2^31 - 1)"));
        }
        let end = at + 12 + len as usize;
        if end > n {
            if first {
                return err(format!(
                    "too short: the PNG ends after {n} bytes, before its header chunk (IHDR) is complete (truncated)"
                ));
            }
            return err(format!(
                "truncated: the PNG ends after {n} bytes, inside its {name} chunk at byte {at}, before its IEND chunk"
            ));
        }
        if kind == b"IEND" || walk == PngWalk::HeaderOnly {
            return Ok(());
        }
        at = end;
    }
}

fn decode_err(err: image::ImageError) -> Error {
    match err {
        image::ImageError::Limits(l) => {
            Error::Decode { reason: format!("decoder limit: {}", plain_words(&l.to_string())) }
        }
        other => Error::Decode { reason: plain_words(&other.to_string()) },
    }
}

/// A third-party decoder's message in plain words. Their texts embed Rust
/// debug formatting: a struct (`ChunkType { type: IHDR, critical: true, .. }`
/// becomes `IHDR`, the value of its `type` field, or else its name), quoted
/// strings (the quotes go), and enum variant names in CamelCase
/// (`InsufficientInput` becomes "insufficient input"); format names are
/// spelled as formats (`Png` as PNG).
pub(crate) fn plain_words(message: &str) -> String {
    let mut text = message.replace(['"', '`'], "");
    // Structs, innermost first: the first closing brace and the last opening one before it.
    while let Some(close) = text.find('}') {
        let Some(open) = text[..close].rfind('{') else { break };
        let before = text[..open].trim_end();
        let start = before.rfind(|c: char| !c.is_alphanumeric() && c != '_').map_or(0, |i| i + 1);
        let replacement = struct_words(&before[start..], &text[open + 1..close]);
        text.replace_range(start..=close, &replacement);
    }
    text.split(' ').map(word_of).collect::<Vec<_>>().join(" ")
}

fn struct_words(name: &str, fields: &str) -> String {
    let value = fields.split(',').find_map(|f| f.trim().strip_prefix("type:")).map(str::trim);
    match value {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => name.trim().to_string(),
    }
}

/// One word of a message: format names as formats, CamelCase names as lower-case words.
fn word_of(token: &str) -> String {
    let core = token.trim_end_matches(|c: char| c.is_ascii_punctuation());
    let tail = &token[core.len()..];
    let word = match core {
        "Png" => "PNG".to_string(),
        "Jpeg" => "JPEG".to_string(),
        "Webp" => "WebP".to_string(),
        _ if core.len() >= 5
            && core.starts_with(|c: char| c.is_ascii_uppercase())
            && core.chars().all(|c| c.is_ascii_alphanumeric())
            && core.as_bytes().windows(2).any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase()) =>
        {
            let mut out = String::new();
            for (i, c) in core.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push(' ');
                }
                out.push(c.to_ascii_lowercase());
            }
            out
        }
        _ => core.to_string(),
    };
    word + tail
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

/// A container's name as error messages give it.
fn container_word(container: Container) -> &'static str {
    match container {
        Container::Image => "a plain image",
        Container::Dg2 => "ICAO EF.DG2",
        Container::Iso19794Record => "an ISO/IEC 19794-5 record",
        Container::Iso39794Block => "an ISO/IEC 39794-5 data block",
        Container::MyNumberSurface => "My Number card-surface data",
    }
}

/// Reads at most `max_bytes` from a file; longer files (and endless ones such as
/// pipes or device files) are refused with [`Error::LimitExceeded`].
pub(crate) fn read_bounded(path: &Path, max_bytes: u64) -> Result<Vec<u8>> {
    // A regular file only, its size checked before reading (`input_file`).
    crate::input::file::read_regular(path, max_bytes).map(|mut bytes| std::mem::take(&mut *bytes))
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

impl ReferenceKind {
    /// The kind in one word, as calibration files and reports spell it:
    /// `colour` or `grey`.
    pub fn word(self) -> &'static str {
        match self {
            Self::Colour => "colour",
            Self::Grey => "grey",
        }
    }
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
    authenticity: Authenticity,
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
        Ok(Self { pixels, kind, container, format: image.format(), authenticity: Authenticity::NotChecked })
    }

    /// Decodes the photo of ICAO EF.DG2 (`dg2`, the first face image) and
    /// checks it against EF.SOD (`sod`) by passive authentication
    /// ([`crate::authenticity::passive_authentication`]): the photo's
    /// [`authenticity`](CardPhoto::authenticity) is the result, and an engine
    /// never compares a photo whose check failed.
    ///
    /// A failed check is not an error: the photo carries
    /// [`Authenticity::Failed`], and its image is not decoded (an engine never
    /// compares it, and a changed image is not worth the decoder's risk; the
    /// photo is then one grey pixel). Errors are for what cannot be read:
    /// `dg2` that is not EF.DG2 ([`Error::InvalidArgument`]), malformed, over
    /// `limits` (which also bound `sod`), or, when the check passed, an image
    /// that does not decode.
    pub fn from_dg2_with_sod(dg2: &[u8], sod: &[u8], anchors: &TrustAnchors, limits: &Limits) -> Result<Self> {
        limits.check_bytes(sod.len())?;
        let data = CardData::parse(dg2, limits)?;
        if data.container() != Container::Dg2 {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "ICAO EF.DG2 (75 ...) to check against EF.SOD, got {}",
                    container_word(data.container())
                ),
            });
        }
        Self::checked(&data, passive_authentication(dg2, sod, anchors), limits)
    }

    /// Decodes the photo of My Number card-surface data (EF `0002`,
    /// `surface`) and checks its signature `DF28` with the certificate of EF
    /// `0004` (`certificate`) ([`crate::authenticity::my_number_surface`]);
    /// `anchors` may hold the issuing CA's X.509 certificate. As
    /// [`CardPhoto::from_dg2_with_sod`], a failed check is not an error: the
    /// photo carries [`Authenticity::Failed`].
    pub fn from_my_number_surface(
        surface: &[u8],
        certificate: &[u8],
        anchors: &TrustAnchors,
        limits: &Limits,
    ) -> Result<Self> {
        limits.check_bytes(certificate.len())?;
        let data = CardData::parse(surface, limits)?;
        if data.container() != Container::MyNumberSurface {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "My Number card-surface data (FF20 ...) to check against its certificate, got {}",
                    container_word(data.container())
                ),
            });
        }
        Self::checked(&data, my_number_surface(surface, certificate, anchors), limits)
    }

    /// The first face image of `data` after its check: decoded when the check
    /// did not fail. A photo whose check failed is never compared, and its
    /// bytes are not the issuer's: they are not decoded (a tampered image is
    /// the input a decoder is least to be trusted with), and the photo holds
    /// one neutral grey pixel in their place, of the kind such cards carry
    /// (grey for My Number cards, colour otherwise).
    pub(crate) fn checked(data: &CardData<'_>, authenticity: Authenticity, limits: &Limits) -> Result<Self> {
        if !authenticity.is_failed() {
            return Ok(Self::from_card_data(data, 0, limits)?.with_authenticity(authenticity));
        }
        let image = data.image(0)?;
        let kind = match data.container() {
            Container::MyNumberSurface => ReferenceKind::Grey,
            _ => ReferenceKind::Colour,
        };
        let pixels = Pixels::new(1, 1, vec![128; 3])?;
        Ok(Self { pixels, kind, container: data.container(), format: image.format(), authenticity })
    }

    /// Reads and decodes a card photo file within the default [`Limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let limits = Limits::default();
        // Wiped on drop.
        let bytes = crate::input::file::read_input_file(path, &limits)?;
        Self::from_bytes_with_limits(&bytes, &limits)
    }

    /// Whether the photo is the one its issuer wrote, as far as it was
    /// checked ([`Authenticity::NotChecked`] for a photo decoded from bytes alone).
    pub fn authenticity(&self) -> Authenticity {
        self.authenticity
    }

    /// The photo with the result of checking its chip's proof of
    /// authenticity (through [`CardPhoto::checked`] only).
    pub(crate) fn with_authenticity(mut self, authenticity: Authenticity) -> Self {
        self.authenticity = authenticity;
        self
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
        // Wiped on drop.
        let bytes = crate::input::file::read_input_file(path, &limits)?;
        Self::from_bytes_with_limits(&bytes, &limits)
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

    /// Copies a raw frame in one of the layouts camera APIs hand out (rows
    /// of `stride` bytes, padding allowed) into RGB, within the default
    /// [`Limits`]. The dimensions are checked against the limits and the
    /// buffer before anything is allocated; the caller's buffer is not
    /// changed, and the copy is wiped when the frame drops.
    pub fn from_pixels(pixels: &[u8], width: u32, height: u32, stride: usize, format: PixelFormat) -> Result<Self> {
        let limits = Limits::default();
        let mut rgb = crate::input::raw::to_rgb(pixels, width, height, stride, format, &limits)?;
        Self::from_rgb_with_limits(width, height, std::mem::take(&mut *rgb), &limits)
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

    /// A frame header for a 16x16 grey baseline JPEG.
    const SOF: [u8; 13] = [0xFF, 0xC0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0];

    fn jpeg_is_complete(bytes: &[u8]) -> bool {
        jpeg_header(bytes).is_ok()
    }

    fn reason(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::Decode { reason }) => reason,
            other => panic!("expected a decode error, got {other:?}"),
        }
    }

    #[test]
    fn jpeg_completeness_needs_an_end_marker_after_the_scan() {
        let scan = [0xFF, 0xDA, 0, 2];
        let whole = [&[0xFF, 0xD8][..], &SOF, &scan, &[1, 0xFF, 0x00, 0xFF, 0xD0, 2, 0xFF, 0xD9]].concat();
        assert!(jpeg_is_complete(&whole));
        assert!(!jpeg_is_complete(&whole[..whole.len() - 2]));
        // An end marker inside an APP1 segment (a thumbnail) does not count.
        let app1 = [0xFF, 0xE1, 0, 4, 0xFF, 0xD9];
        let truncated = [&[0xFF, 0xD8][..], &app1, &SOF, &scan, &[1, 2]].concat();
        assert!(!jpeg_is_complete(&truncated));
        // A trailer after the end marker, even one holding FF DA, is fine.
        let trailer = [&whole[..], &[0xFF, 0xDA, 9, 9]].concat();
        assert!(jpeg_is_complete(&trailer));
        // Fill bytes before a restart marker or a stuffed byte, and before EOI.
        let filled =
            [&[0xFF, 0xD8][..], &SOF, &scan, &[1, 0xFF, 0xFF, 0xD0, 2, 0xFF, 0xFF, 0x00, 3, 0xFF, 0xFF, 0xD9]].concat();
        assert!(jpeg_is_complete(&filled));
        // Progressive: two scans with a table segment between them.
        let dht = [0xFF, 0xC4, 0, 3, 0];
        let two = [&[0xFF, 0xD8][..], &SOF, &scan, &[1, 2], &dht, &scan, &[3, 4, 0xFF, 0xD9]].concat();
        assert_eq!(jpeg_header(&two).unwrap().scans, 2);
        assert!(!jpeg_is_complete(&two[..two.len() - 2]));
    }

    #[test]
    fn a_broken_jpeg_is_told_apart_from_a_truncated_one() {
        let scan = [0xFF, 0xDA, 0, 2];
        let whole = [&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16], &[0u8; 14][..], &SOF, &scan, &[1, 2, 3, 0xFF, 0xD9]].concat();
        assert!(jpeg_is_complete(&whole));
        // Cut inside the headers: too short to hold any image data.
        for cut in [3, 20, 22] {
            let why = reason(jpeg_header(&whole[..cut]));
            assert!(why.starts_with("too short") && why.contains(&format!("after {cut} bytes")), "{cut}: {why}");
        }
        // Cut inside the image data.
        let why = reason(jpeg_header(&whole[..whole.len() - 3]));
        assert!(why.starts_with("truncated:") && why.contains("end-of-image marker"), "{why}");
        // A segment that runs past the end.
        let why = reason(jpeg_header(&whole[..10]));
        assert!(why.contains("APP0 segment at byte 2 declares 14 bytes, but only 4 remain"), "{why}");
        // Garbage after the start marker: a marker JPEG does not define.
        let garbage = [&[0xFF, 0xD8, 0xFF, 0x13][..], &[0x5A; 16]].concat();
        let why = reason(jpeg_header(&garbage));
        assert!(why.starts_with("corrupt JPEG data at byte 2") && why.contains("FF 13"), "{why}");
        // Impossible lengths, a scan before its frame, a frame that disagrees with itself.
        let why = reason(jpeg_header(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 1, 0xFF, 0xD9]));
        assert!(why.contains("the DQT segment has a length of 1"), "{why}");
        let why = reason(jpeg_header(&[&[0xFF, 0xD8][..], &scan, &[1, 0xFF, 0xD9]].concat()));
        assert!(why.contains("a scan (SOS) before the frame header"), "{why}");
        let mut lying = SOF;
        lying[9] = 2;
        let why = reason(jpeg_header(&[&[0xFF, 0xD8][..], &lying, &scan, &[1, 0xFF, 0xD9]].concat()));
        assert!(why.contains("its 2 components need 12"), "{why}");
        let mut zero = SOF;
        zero[5..7].copy_from_slice(&[0, 0]);
        let why = reason(jpeg_header(&[&[0xFF, 0xD8][..], &zero, &scan, &[1, 0xFF, 0xD9]].concat()));
        assert!(why.contains("height of zero"), "{why}");
        assert!(reason(jpeg_header(&[0x89, b'P'])).starts_with("not a JPEG"));
    }

    #[test]
    fn a_broken_png_is_told_apart_from_a_truncated_one() {
        let chunk =
            |kind: &[u8; 4], data: &[u8]| [&(data.len() as u32).to_be_bytes()[..], kind, data, &[0, 0, 0, 0]].concat();
        let signature = b"\x89PNG\r\n\x1a\n";
        let whole =
            [&signature[..], &chunk(b"IHDR", &[0; 13]), &chunk(b"IDAT", &[7; 30]), &chunk(b"IEND", &[])].concat();
        assert!(png_structure(&whole, PngWalk::ToEnd).is_ok());
        let why = reason(png_structure(&whole[..20], PngWalk::ToEnd));
        assert!(why.starts_with("too short") && why.contains("IHDR"), "{why}");
        let why = reason(png_structure(&whole[..60], PngWalk::ToEnd));
        assert!(why.starts_with("truncated") && why.contains("inside its IDAT chunk at byte 33"), "{why}");
        let why = reason(png_structure(&whole[..whole.len() - 12], PngWalk::ToEnd));
        assert!(why.starts_with("truncated") && why.contains("before its IEND chunk"), "{why}");
        let garbage = [&whole[..33], &[0x13, 0x9C, 0xFE, 0x01, 0x00, 0x7F, 0x80, 0x20][..], &[0; 40]].concat();
        let why = reason(png_structure(&garbage, PngWalk::ToEnd));
        assert!(why.starts_with("corrupt PNG data at byte 33"), "{why}");
    }

    #[test]
    fn decoder_messages_lose_their_rust_debug_text() {
        let png = "Format error decoding Png: CRC error: expected 0x1 have 0x2 while decoding ChunkType { type: IHDR, \
                   critical: true, private: false, reserved: false, safecopy: false } chunk.";
        assert_eq!(
            plain_words(png),
            "Format error decoding PNG: CRC error: expected 0x1 have 0x2 while decoding IHDR chunk."
        );
        assert_eq!(
            plain_words("Corrupt deflate stream. InsufficientInput"),
            "Corrupt deflate stream. insufficient input"
        );
        assert_eq!(plain_words("\"Invalid marker\" Outer { inner: Inner { a: 1 } }"), "Invalid marker Outer");
        assert_eq!(plain_words("IDAT or fDAT chunk"), "IDAT or fDAT chunk");
    }

    /// Mean absolute difference between a picture decoded at half size and
    /// the full-size decode averaged over 2x2 blocks.
    fn half_size_error(encoded: &[u8]) -> f64 {
        let full = decode_image(encoded, &Limits::default()).unwrap();
        let (w, h) = (full.width(), full.height());
        let limits = Limits { max_jpeg_decoded_pixels: u64::from(w / 2 * (h / 2)), ..Limits::default() };
        let half = decode_image(encoded, &limits).unwrap();
        assert_eq!((half.width(), half.height()), (w / 2, h / 2));
        let mut total = 0.0;
        for y in 0..h / 2 {
            for x in 0..w / 2 {
                let got = half.rgb(x, y);
                for (c, &value) in got.iter().enumerate() {
                    let sum: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|&(dx, dy)| u32::from(full.rgb(2 * x + dx, 2 * y + dy)[c]))
                        .sum();
                    total += (f64::from(sum) / 4.0 - f64::from(value)).abs();
                }
            }
        }
        total / f64::from(w / 2 * (h / 2) * 3)
    }

    #[test]
    fn a_jpeg_decoded_at_half_size_is_the_full_picture_averaged() {
        let (w, h) = (96u32, 64u32);
        let colour =
            image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, ((x + y) % 256) as u8]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95).encode_image(&colour).unwrap();
        let error = half_size_error(&jpeg);
        assert!(error < 3.0, "colour: {error}");
        let grey = image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 5 + y * 7) % 256) as u8]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95).encode_image(&grey).unwrap();
        let error = half_size_error(&jpeg);
        assert!(error < 3.0, "grey: {error}");
        let limits = Limits { max_jpeg_decoded_pixels: 48 * 32, ..Limits::default() };
        assert!(decode_image(&jpeg, &limits).unwrap().is_grey());
    }

    #[test]
    fn the_scale_is_the_largest_whose_pixels_and_memory_fit() {
        let header = |frame: u8, width: u16, height: u16, sampling: &[(u8, u8)]| JpegHeader {
            frame,
            precision: 8,
            width,
            height,
            sampling: sampling.to_vec(),
            scans: 10,
        };
        let limits = Limits::default();
        let chroma_420 = [(2, 2), (1, 1), (1, 1)];
        // 4K UHD stays whole; 12 Mpixel phone photos, baseline or progressive, are halved.
        assert_eq!(header(0xC0, 3840, 2160, &chroma_420).scale_within(&limits).unwrap(), 8);
        let photo = header(0xC2, 4000, 3000, &chroma_420);
        assert_eq!(photo.scale_within(&limits).unwrap(), 4);
        // 250x188 MCUs of 6 blocks; 2 bytes per coefficient, 14 per decoded pixel.
        assert_eq!(photo.coefficients(), 250 * 188 * 6 * 64);
        assert_eq!(photo.decode_memory(4), 250 * 188 * 6 * 64 * 2 + 2000 * 1500 * 14);
        assert_eq!(header(0xC2, 4000, 3000, &[(1, 1); 3]).scale_within(&limits).unwrap(), 4);
        // 50 Mpixel: in grey, an eighth fits (a quarter needs 144 MB); in colour with 4:2:0 chroma
        // the coefficients alone take 150 MB, more than the bound at any scale.
        assert_eq!(header(0xC0, 8160, 6120, &[(1, 1)]).scale_within(&limits).unwrap(), 1);
        let colour = header(0xC0, 8160, 6120, &chroma_420).scale_within(&limits);
        assert!(matches!(colour, Err(Error::LimitExceeded { limit: "decode memory", .. })));
        // Lossless (SOF3) cannot be scaled: only full size is tried.
        let lossless = header(0xC3, 4000, 3000, &[(1, 1); 3]).scale_within(&limits);
        assert!(matches!(lossless, Err(Error::LimitExceeded { limit: "jpeg decoded pixels", actual: 12_000_000, .. })));
        // Without limits, everything is decoded whole.
        assert_eq!(header(0xC2, 8160, 6120, &[(1, 1); 3]).scale_within(&Limits::no_limits()).unwrap(), 8);
    }

    #[test]
    fn raw_frame_with_wrong_length_is_refused() {
        assert!(matches!(LiveFrame::from_rgb(4, 4, vec![0; 47]), Err(Error::InvalidArgument { .. })));
        assert!(LiveFrame::from_rgb(4, 4, vec![0; 48]).is_ok());
    }
}
