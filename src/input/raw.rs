//! Raw camera frames: pixel layouts a capture API hands out, converted to RGB.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::input::limits::Limits;

/// The layout of a raw frame's pixels: 8 bits per channel, rows of
/// `stride` bytes (padding after each row allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Red, green, blue: 3 bytes per pixel.
    Rgb8,
    /// Blue, green, red: 3 bytes per pixel.
    Bgr8,
    /// One grey byte per pixel.
    Grey8,
    /// Red, green, blue, then a byte that is ignored: 4 bytes per pixel.
    Rgba8,
    /// Blue, green, red, then a byte that is ignored: 4 bytes per pixel.
    Bgra8,
}

impl PixelFormat {
    /// Bytes per pixel, and the offsets of red, green and blue in a pixel.
    fn layout(self) -> (usize, [usize; 3]) {
        match self {
            Self::Rgb8 => (3, [0, 1, 2]),
            Self::Bgr8 => (3, [2, 1, 0]),
            Self::Grey8 => (1, [0, 0, 0]),
            Self::Rgba8 => (4, [0, 1, 2]),
            Self::Bgra8 => (4, [2, 1, 0]),
        }
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidArgument { reason }
}

/// `pixels` as RGB, row-major, `width * height * 3` bytes (wiped on drop),
/// after checking the dimensions against `limits` and the buffer against
/// the dimensions, before anything is allocated.
pub(crate) fn to_rgb(
    pixels: &[u8],
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
    limits: &Limits,
) -> Result<Zeroizing<Vec<u8>>> {
    let (bpp, [r, g, b]) = format.layout();
    if width == 0 || height == 0 {
        return Err(invalid(format!("a frame of at least 1x1 pixels, got {width}x{height}")));
    }
    limits.check_dimensions(width, height)?;
    let row = (width as usize).checked_mul(bpp).ok_or_else(|| invalid("a frame row that fits in memory".into()))?;
    if stride < row {
        return Err(invalid(format!("a stride of at least {row} bytes for {width} pixels, got {stride}")));
    }
    let needed = stride
        .checked_mul(height as usize - 1)
        .and_then(|n| n.checked_add(row))
        .ok_or_else(|| invalid("a frame that fits in memory".into()))?;
    if pixels.len() < needed {
        return Err(invalid(format!(
            "a buffer of at least {needed} bytes for {width}x{height} pixels with stride {stride}, got {}",
            pixels.len()
        )));
    }
    let mut rgb = Zeroizing::new(Vec::with_capacity(width as usize * height as usize * 3));
    for y in 0..height as usize {
        let line = &pixels[y * stride..y * stride + row];
        for p in line.chunks_exact(bpp) {
            rgb.extend_from_slice(&[p[r], p[g], p[b]]);
        }
    }
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_layout_gives_the_same_rgb_and_padding_is_skipped() {
        // Two pixels, red then blue, with two bytes of row padding.
        let cases: [(PixelFormat, &[u8]); 4] = [
            (PixelFormat::Rgb8, &[255, 0, 0, 0, 0, 255, 9, 9]),
            (PixelFormat::Bgr8, &[0, 0, 255, 255, 0, 0, 9, 9]),
            (PixelFormat::Rgba8, &[255, 0, 0, 7, 0, 0, 255, 7, 9, 9]),
            (PixelFormat::Bgra8, &[0, 0, 255, 7, 255, 0, 0, 7, 9, 9]),
        ];
        for (format, bytes) in cases {
            let rgb = to_rgb(bytes, 2, 1, bytes.len(), format, &Limits::default()).unwrap();
            assert_eq!(rgb.as_slice(), &[255, 0, 0, 0, 0, 255], "{format:?}");
        }
        let grey = to_rgb(&[10, 20], 2, 1, 2, PixelFormat::Grey8, &Limits::default()).unwrap();
        assert_eq!(grey.as_slice(), &[10, 10, 10, 20, 20, 20]);
    }

    #[test]
    fn a_buffer_shorter_than_its_dimensions_or_a_short_stride_is_refused() {
        let limits = Limits::default();
        assert!(matches!(to_rgb(&[0; 5], 2, 1, 6, PixelFormat::Rgb8, &limits), Err(Error::InvalidArgument { .. })));
        assert!(matches!(to_rgb(&[0; 12], 2, 2, 5, PixelFormat::Rgb8, &limits), Err(Error::InvalidArgument { .. })));
        assert!(matches!(to_rgb(&[], 0, 1, 0, PixelFormat::Grey8, &limits), Err(Error::InvalidArgument { .. })));
        assert!(matches!(
            to_rgb(&[0; 16], 1, u32::MAX, 1, PixelFormat::Grey8, &limits),
            Err(Error::LimitExceeded { .. })
        ));
    }
}
