//! Bounds on untrusted input, checked before any pixel buffer is allocated.

use crate::error::{Error, Result};

/// Upper bounds applied to every image and card container honnin reads.
///
/// Three kinds of bound work together. What an image's header *declares*
/// (`max_width`, `max_height`, `max_pixels`, `max_pixels_per_byte`) is checked
/// first, before anything is decoded; the defaults sit far above what a phone
/// or a counter camera produces, and refuse decompression bombs (a 65535x65535
/// header in a few KB). What honnin *decodes into* is bounded next: a JPEG
/// larger than `max_jpeg_decoded_pixels` is decoded at 1/2, 1/4 or 1/8 of its
/// size, straight from its DCT coefficients, so a 12 Mpixel phone photo costs
/// a quarter of its pixels. Last, the decoder's *working memory*
/// (`max_decode_memory`) is estimated from the header for the chosen scale;
/// it is what bounds PNG, WebP and JPEG 2000, which cannot be decoded at a
/// reduced scale. Anything over a bound is refused with
/// [`Error::LimitExceeded`] before a pixel buffer is allocated.
///
/// [`Limits::no_limits`] lifts every bound (JPEGs are then decoded at full
/// size) and is meant for trusted, offline data only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded input accepted, in bytes.
    pub max_bytes: u64,
    /// Largest width an image header may declare, and of a raw frame, in pixels.
    pub max_width: u32,
    /// Largest height an image header may declare, and of a raw frame, in pixels.
    pub max_height: u32,
    /// Largest width x height an image header may declare, and of a raw frame.
    /// The default, 64 Mpixel, admits a 50 or 64 Mpixel phone photo's header;
    /// whether it is then decoded depends on `max_decode_memory`.
    pub max_pixels: u64,
    /// The most pixels a JPEG is decoded into. A JPEG that declares more is
    /// decoded at the largest of 1/2, 1/4 and 1/8 of its width and height
    /// whose pixels and working memory fit; one that fits at none is refused
    /// (`"jpeg decoded pixels"` or `"decode memory"`). The default, 8 Mpixel,
    /// keeps a 4K UHD frame (3840x2160) at full size and decodes a 12 Mpixel
    /// phone photo (4000x3000) at 2000x1500: the face detector sees at most
    /// 640 pixels a side and the recognizer a chip of about 112, so a face
    /// large enough to verify at full size stays large enough at half size
    /// (and is resampled with less aliasing).
    pub max_jpeg_decoded_pixels: u64,
    /// Most pixels an encoded image may declare per byte of its data. Real
    /// photographs stay far below the default of 256 (a 4 KB card photo of
    /// 160x200 holds 8 pixels per byte, a camera JPEG 5 to 60); a header that
    /// claims more describes pixels its bytes cannot hold.
    pub max_pixels_per_byte: u32,
    /// Largest working memory a decoder may need, in bytes, estimated from the
    /// header before decoding. Per pixel decoded at full size: 4 bytes for a
    /// single-scan JPEG, 11 for a progressive or multi-scan one (times 4/3
    /// for CMYK), 6 for PNG and WebP (8 with alpha, twice that at 16 bits).
    /// A JPEG decoded at reduced scale: 2 bytes per DCT coefficient of the
    /// full-size image (a progressive JPEG keeps them all until its last scan)
    /// plus 14 per decoded pixel. JPEG 2000: 9 per sample plus 11 per pixel,
    /// plus 256 per code-block and tile (so a header asking for 4x4
    /// code-blocks counts). The default of 128 MiB admits a 12 Mpixel
    /// progressive JPEG even without chroma subsampling (114 MB), a JPEG of
    /// about 40 Mpixel with 4:2:0 chroma, a PNG of 22 Mpixel (RGB, 8 bits)
    /// or 16 Mpixel (RGBA), and a JPEG 2000 of 6.7 Mpixel (grey) or
    /// 3.5 Mpixel (RGB).
    pub max_decode_memory: u64,
    /// Deepest nesting of BER-TLV elements in a chip container.
    pub max_tlv_depth: u32,
    /// Most BER-TLV elements in one chip container.
    pub max_tlv_elements: usize,
    /// Most face images in one face record.
    pub max_faces: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024 * 1024,
            max_width: 16384,
            max_height: 16384,
            max_pixels: 64 * 1024 * 1024,
            max_jpeg_decoded_pixels: 8 * 1024 * 1024,
            max_pixels_per_byte: 256,
            max_decode_memory: 128 * 1024 * 1024,
            max_tlv_depth: 24,
            max_tlv_elements: 4096,
            max_faces: 16,
        }
    }
}

impl Limits {
    /// No bounds at all. Only for trusted, offline data.
    pub fn no_limits() -> Self {
        Self {
            max_bytes: u64::MAX,
            max_width: u32::MAX,
            max_height: u32::MAX,
            max_pixels: u64::MAX,
            max_jpeg_decoded_pixels: u64::MAX,
            max_pixels_per_byte: u32::MAX,
            max_decode_memory: u64::MAX,
            max_tlv_depth: u32::MAX,
            max_tlv_elements: usize::MAX,
            max_faces: u32::MAX,
        }
    }

    pub(crate) fn check_bytes(&self, len: usize) -> Result<()> {
        check("bytes", self.max_bytes, len as u64)
    }

    /// Checks a raw frame's width, height and pixel count against the limits,
    /// before a buffer for it is allocated.
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<()> {
        check("width", u64::from(self.max_width), u64::from(width))?;
        check("height", u64::from(self.max_height), u64::from(height))?;
        check("pixels", self.max_pixels, u64::from(width) * u64::from(height))
    }

    /// Checks what an encoded image's header declares: its dimensions and the
    /// pixels it claims per byte of data, before anything is decoded.
    pub(crate) fn check_declared(&self, width: u32, height: u32, encoded_len: usize) -> Result<()> {
        self.check_dimensions(width, height)?;
        let pixels = u64::from(width) * u64::from(height);
        let per_byte = pixels / (encoded_len as u64).max(1);
        check("pixels per byte", u64::from(self.max_pixels_per_byte), per_byte)
    }

    /// Checks the decoder memory an image needs (`decode_memory`, estimated by the caller).
    pub(crate) fn check_decode_memory(&self, decode_memory: u64) -> Result<()> {
        check("decode memory", self.max_decode_memory, decode_memory)
    }

    /// Checks the pixels a JPEG would be decoded into at a given scale.
    pub(crate) fn check_jpeg_decoded(&self, pixels: u64) -> Result<()> {
        check("jpeg decoded pixels", self.max_jpeg_decoded_pixels, pixels)
    }

    /// Checks an encoded image's header, for a format decoded at full size:
    /// what it declares, and the decoder memory the format needs for it.
    pub(crate) fn check_header(&self, width: u32, height: u32, encoded_len: usize, decode_memory: u64) -> Result<()> {
        self.check_declared(width, height, encoded_len)?;
        self.check_decode_memory(decode_memory)
    }
}

fn check(limit: &'static str, max: u64, actual: u64) -> Result<()> {
    if actual > max {
        return Err(Error::LimitExceeded { limit, max, actual });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_over_any_bound_are_refused() {
        let limits = Limits { max_bytes: 10, max_width: 100, max_height: 50, max_pixels: 4000, ..Limits::default() };
        assert!(limits.check_dimensions(100, 40).is_ok());
        assert!(matches!(limits.check_dimensions(101, 1), Err(Error::LimitExceeded { limit: "width", .. })));
        assert!(matches!(limits.check_dimensions(1, 51), Err(Error::LimitExceeded { limit: "height", .. })));
        assert!(matches!(limits.check_dimensions(100, 41), Err(Error::LimitExceeded { limit: "pixels", .. })));
        assert!(matches!(limits.check_bytes(11), Err(Error::LimitExceeded { limit: "bytes", .. })));
    }

    #[test]
    fn a_header_claiming_more_pixels_than_its_bytes_hold_is_refused() {
        let limits = Limits::default();
        // 160x200 in 4 KB: a card photo.
        assert!(limits.check_header(160, 200, 4000, 160 * 200 * 8).is_ok());
        // 4000x3000 in 200 bytes.
        let err = limits.check_header(4000, 3000, 200, 0).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { limit: "pixels per byte", max: 256, actual: 60000 }));
        // 6000x4000 with plenty of bytes still needs more memory than allowed at 8 bytes a pixel.
        let err = limits.check_header(6000, 4000, 1 << 20, 6000 * 4000 * 8).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { limit: "decode memory", .. }));
    }

    #[test]
    fn the_defaults_admit_phone_photos_and_refuse_bombs() {
        let limits = Limits::default();
        for (w, h) in [(4000, 3000), (4352, 2903), (3061, 4600), (8160, 6120)] {
            assert!(limits.check_declared(w, h, 2 << 20).is_ok(), "{w}x{h}");
        }
        assert!(matches!(limits.check_declared(65535, 65535, 4000), Err(Error::LimitExceeded { limit: "width", .. })));
        assert!(limits.check_jpeg_decoded(3840 * 2160).is_ok());
        assert!(limits.check_jpeg_decoded(4000 * 3000).is_err());
    }
}
