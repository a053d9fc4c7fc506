//! Camera faults.

use std::time::Duration;

/// A camera fault ([`Error::Camera`](crate::Error::Camera)). None of them carries image content.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CameraError {
    /// No camera with this name or index exists, or it went away.
    DeviceMissing {
        /// The device asked for (an index or a path).
        device: String,
        /// What the system said.
        reason: String,
    },
    /// The camera exists but could not be opened or set up (busy, no
    /// supported pixel format, permission denied).
    Open {
        /// The device asked for.
        device: String,
        /// What the system said.
        reason: String,
    },
    /// Reading or converting a frame failed.
    Read {
        /// What went wrong.
        reason: String,
    },
    /// No frame arrived within the allowed time.
    Timeout {
        /// How long the source waited.
        waited: Duration,
    },
}

impl std::fmt::Display for CameraError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DeviceMissing { device, reason } => write!(f, "camera {device} not found: {reason}"),
            Self::Open { device, reason } => write!(f, "camera {device} could not be opened: {reason}"),
            Self::Read { reason } => write!(f, "camera frame could not be read: {reason}"),
            Self::Timeout { waited } => write!(f, "no camera frame within {} ms", waited.as_millis()),
        }
    }
}
