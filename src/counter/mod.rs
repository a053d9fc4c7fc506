//! Counter sessions: one person, their card, their choice of method, one outcome.

#[cfg(feature = "camera")]
pub mod camera;
pub mod session;
pub mod source;
pub mod staff;
