//! Decisions and where their thresholds come from: outcomes, the policy and
//! its rules, calibrations (face and PAD) and the metrics that make them.

pub mod calibration;
pub mod metrics;
pub mod outcome;
pub mod pad_policy;
pub(crate) mod pin;
pub(crate) mod policy;
