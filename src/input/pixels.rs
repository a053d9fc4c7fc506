//! Decoded pixels: the one buffer every decoder fills and every stage reads.

use crate::error::{Error, Result};
use zeroize::Zeroize;

use crate::privacy::secret::Secret;

/// An 8-bit RGB image, row-major, wiped when dropped. Never cloned.
pub(crate) struct Pixels {
    pub(super) width: u32,
    pub(super) height: u32,
    /// Exactly `width * height * 3` bytes, allocated once, wiped on drop.
    pub(super) data: Secret<u8>,
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
