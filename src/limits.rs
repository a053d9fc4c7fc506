//! Bounds on untrusted input, checked before any pixel buffer is allocated.

use crate::error::{Error, Result};

/// Upper bounds applied to every image and card container honnin reads.
///
/// The defaults fit a counter terminal: card photos are a few KB, camera frames
/// at most 4K. Anything larger is refused with [`Error::LimitExceeded`] before
/// a pixel buffer is allocated: image dimensions come from the header, and the
/// decoder's working memory is estimated from them first. [`Limits::no_limits`]
/// lifts every bound and is meant for offline benchmarking only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest encoded input accepted, in bytes.
    pub max_bytes: u64,
    /// Largest image width, in pixels.
    pub max_width: u32,
    /// Largest image height, in pixels.
    pub max_height: u32,
    /// Largest width x height, in pixels.
    pub max_pixels: u64,
    /// Most pixels an encoded image may declare per byte of its data. Real
    /// photographs stay far below the default of 256 (a 4 KB card photo of
    /// 160x200 holds 8 pixels per byte, a camera JPEG 5 to 60); a header that
    /// claims more describes pixels its bytes cannot hold.
    pub max_pixels_per_byte: u32,
    /// Largest working memory a decoder may need, in bytes, estimated from the
    /// header before decoding: per pixel, 4 bytes for a baseline JPEG, 11 for a
    /// progressive one, 6 for PNG and WebP; for JPEG 2000, 9 per sample plus 11
    /// per pixel, plus 256 per code-block and tile (so a header asking for 4x4
    /// code-blocks counts). The default of 48 MiB admits a 4096x3072 baseline
    /// JPEG, a 4K progressive one up to 4.5 Mpixel, a grey JPEG 2000 up to
    /// 2.5 Mpixel and a colour one up to 1.3 Mpixel, and keeps a decode's peak
    /// memory under 64 MiB.
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
            max_width: 4096,
            max_height: 4096,
            max_pixels: 4096 * 3072,
            max_pixels_per_byte: 256,
            max_decode_memory: 48 * 1024 * 1024,
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

    /// Checks an encoded image's header: its dimensions, the pixels it claims
    /// per byte of data, and the decoder memory the format needs for them
    /// (`decode_memory`, estimated by the caller) — all before anything is decoded.
    pub(crate) fn check_header(&self, width: u32, height: u32, encoded_len: usize, decode_memory: u64) -> Result<()> {
        self.check_dimensions(width, height)?;
        let pixels = u64::from(width) * u64::from(height);
        let per_byte = pixels / (encoded_len as u64).max(1);
        check("pixels per byte", u64::from(self.max_pixels_per_byte), per_byte)?;
        check("decode memory", self.max_decode_memory, decode_memory)
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
        // 4000x3000 with plenty of bytes still needs more memory than allowed.
        let err = limits.check_header(4000, 3000, 1 << 20, 4000 * 3000 * 8).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { limit: "decode memory", .. }));
    }
}
