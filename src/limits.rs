//! Bounds on untrusted input, checked before any pixel buffer is allocated.

use crate::error::{Error, Result};

/// Upper bounds applied to every image honnin decodes.
///
/// The defaults fit a counter terminal: card photos are a few KB, camera frames
/// at most 4K. Anything larger is refused with [`Error::LimitExceeded`] before
/// a pixel buffer is allocated. [`Limits::no_limits`] lifts every bound and is
/// meant for offline benchmarking only.
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
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: 32 * 1024 * 1024, max_width: 4096, max_height: 4096, max_pixels: 4096 * 3072 }
    }
}

impl Limits {
    /// No bounds at all. Only for trusted, offline data.
    pub fn no_limits() -> Self {
        Self { max_bytes: u64::MAX, max_width: u32::MAX, max_height: u32::MAX, max_pixels: u64::MAX }
    }

    pub(crate) fn check_bytes(&self, len: usize) -> Result<()> {
        check("bytes", self.max_bytes, len as u64)
    }

    pub(crate) fn check_dimensions(&self, width: u32, height: u32) -> Result<()> {
        check("width", u64::from(self.max_width), u64::from(width))?;
        check("height", u64::from(self.max_height), u64::from(height))?;
        check("pixels", self.max_pixels, u64::from(width) * u64::from(height))
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
        let limits = Limits { max_bytes: 10, max_width: 100, max_height: 50, max_pixels: 4000 };
        assert!(limits.check_dimensions(100, 40).is_ok());
        assert!(matches!(limits.check_dimensions(101, 1), Err(Error::LimitExceeded { limit: "width", .. })));
        assert!(matches!(limits.check_dimensions(1, 51), Err(Error::LimitExceeded { limit: "height", .. })));
        assert!(matches!(limits.check_dimensions(100, 41), Err(Error::LimitExceeded { limit: "pixels", .. })));
        assert!(matches!(limits.check_bytes(11), Err(Error::LimitExceeded { limit: "bytes", .. })));
    }
}
