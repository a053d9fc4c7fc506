//! Counter sessions: one person, their card, their choice of method, one
//! outcome; where live frames come from; the staff visual check.
//!
//! A [`Counter`] (the terminal) starts one [`Session`] per person: card →
//! the person's choice of method → [`Outcome`](crate::Outcome). The staff path runs no model
//! and works on a counter without models. The face path reads frames from a
//! [`FrameSource`], gates each one ([`QualityGate`](crate::quality::QualityGate), with
//! [`Guidance`](crate::quality::Guidance) codes), fuses the good ones and compares them at a
//! threshold calibrated for fused probes
//! ([`Policy::fused_threshold`](crate::Policy::fused_threshold)). Repeated
//! non-matches, frames that stay unusable and camera or model faults close
//! the face path and offer the staff check ([`Fallback`]). Nothing carries
//! over from one session to the next.

#[cfg(feature = "camera")]
pub(crate) mod camera;
#[cfg(feature = "reader")]
pub(crate) mod card_session;
pub(crate) mod session;
pub(crate) mod source;
pub(crate) mod staff;

#[cfg(feature = "camera")]
pub use camera::{CameraOptions, CameraSource};
#[cfg(feature = "reader")]
pub use card_session::{CardLink, PinClosed};
pub use session::{
    AttemptRecord, Counter, DisplayPhoto, Fallback, FrameFeedback, Session, SessionConfig, SessionState, Step,
};
pub use source::{FolderSource, FrameSource, ImageSource};
pub use staff::{staff_visual_check, StaffJudgement};
