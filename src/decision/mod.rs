//! Decisions and where their thresholds come from: outcomes, the policy,
//! calibrations (face and PAD) and the metrics that make them.

pub mod calibration;
pub mod decide;
pub mod metrics;
