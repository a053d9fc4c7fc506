//! Why a calibration (face or PAD) was refused.

use std::fmt;

/// Why a calibration was refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CalibrationError {
    /// Not UTF-8 JSON in the calibration format.
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The bytes' sha256 is not the pin they were required to have.
    NotPinned {
        /// The sha256 of the bytes given (hex).
        actual: String,
        /// The pins they were checked against (hex).
        pinned: Vec<String>,
    },
    /// Values no measurement produces: the file was edited or corrupted.
    Implausible {
        /// Which part: `colour`, `grey`, `fused colour`, `fused grey`, `pad` or `file`.
        part: String,
        /// What is wrong.
        problem: Implausibility,
    },
    /// The calibration has no operating point at the target FMR asked for.
    NoOperatingPoint {
        /// The target asked for.
        target_fmr: f64,
        /// The colour-reference targets the file has.
        available: Vec<f64>,
    },
    /// The calibration was measured with another pipeline than the engine's
    /// (models, manifest settings, mirror averaging or metric).
    OtherPipeline {
        /// Each difference, as `what: engine's value, calibration's value`.
        differences: Vec<String>,
    },
    /// A PAD calibration made for other PAD models, or given without PAD models.
    OtherPadModels {
        /// The PAD models loaded (`id sha256-prefix`), empty when none are.
        loaded: Vec<String>,
        /// The PAD models the calibration names.
        named: Vec<String>,
    },
}

/// What makes a calibration implausible.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Implausibility {
    /// A value is NaN or infinite.
    NotFinite {
        /// The field.
        field: &'static str,
    },
    /// A value lies outside the range it must lie in.
    OutOfRange {
        /// The field.
        field: &'static str,
        /// The value found.
        value: f64,
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// Two operating points name the same target FMR.
    DuplicateTarget {
        /// The target.
        target_fmr: f64,
    },
    /// A lower target FMR has a looser threshold than a higher one.
    NotTightening {
        /// The lower target.
        target_fmr: f64,
        /// Its threshold.
        threshold: f32,
        /// The higher target.
        higher_target_fmr: f64,
        /// Its threshold.
        higher_threshold: f32,
    },
    /// Recorded counts contradict each other or the target.
    Counts {
        /// Which counts, and how.
        what: String,
    },
    /// Too few impostor comparisons to show the target FMR at all (rule of
    /// three: `3 / target` comparisons without a false match bound the FMR
    /// at the target with 95 % confidence).
    TooFewImpostors {
        /// The target.
        target_fmr: f64,
        /// Impostor comparisons recorded.
        impostor_comparisons: u64,
        /// At least this many are needed.
        needed: u64,
    },
    /// A cosine threshold of 0 or below at a target FMR of 1e-2 or lower: it
    /// accepts templates at right angles, which unrelated faces' templates
    /// are on average; no recognizer's impostors reach it at such rates.
    AcceptsUnrelated {
        /// The target.
        target_fmr: f64,
        /// The threshold.
        threshold: f32,
    },
    /// A fused-probe threshold looser than the single-frame one at the same target.
    FusedLooser {
        /// The target.
        target_fmr: f64,
    },
    /// A required part is missing or empty.
    Missing {
        /// What.
        what: &'static str,
    },
    /// A field holds a value of the wrong form.
    BadField {
        /// The field.
        field: &'static str,
        /// What was expected.
        expected: &'static str,
    },
}

/// A false-match rate as people write it: `1e-4`, not `0.0001` (nor three
/// hundred digits for `1e-300`), as honnin's messages print rates.
pub fn rate(value: f64) -> String {
    format!("{value:e}")
}

/// A number short enough to read: `9`, `-0.5`, `1e30` (not thirty digits).
fn number(value: f64) -> String {
    let magnitude = value.abs();
    // A threshold is an f32: printed as one, 1e30 stays 1e30.
    let single = value as f32;
    let exact_f32 = f64::from(single) == value;
    match (magnitude != 0.0 && !(1e-4..1e6).contains(&magnitude), exact_f32) {
        (true, true) => format!("{single:e}"),
        (true, false) => format!("{value:e}"),
        (false, true) => format!("{single}"),
        (false, false) => format!("{value}"),
    }
}

impl fmt::Display for Implausibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite { field } => write!(f, "{field} is not a finite number"),
            Self::OutOfRange { field, value, min, max } => {
                write!(f, "{field} {} lies outside [{min}, {max}]", number(*value))
            }
            Self::DuplicateTarget { target_fmr } => {
                write!(f, "two operating points for target FMR {}", rate(*target_fmr))
            }
            Self::NotTightening { target_fmr, threshold, higher_target_fmr, higher_threshold } => write!(
                f,
                "the threshold at target FMR {} ({threshold}) is not stricter than at {} ({higher_threshold})",
                rate(*target_fmr),
                rate(*higher_target_fmr)
            ),
            Self::Counts { what } => write!(f, "{what}"),
            Self::TooFewImpostors { target_fmr, impostor_comparisons, needed } => write!(
                f,
                "{impostor_comparisons} impostor comparisons cannot show target FMR {} (at least {needed} needed)",
                rate(*target_fmr)
            ),
            Self::AcceptsUnrelated { target_fmr, threshold } => write!(
                f,
                "cosine threshold {} at target FMR {} would accept templates at right angles (unrelated faces)",
                number((*threshold).into()),
                rate(*target_fmr)
            ),
            Self::FusedLooser { target_fmr } => write!(
                f,
                "the fused-probe threshold at target FMR {} is looser than the single-frame one",
                rate(*target_fmr)
            ),
            Self::Missing { what } => write!(f, "{what} is missing"),
            Self::BadField { field, expected } => write!(f, "{field} is not {expected}"),
        }
    }
}

impl fmt::Display for CalibrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { reason } => write!(f, "the calibration file is malformed: {reason}"),
            Self::NotPinned { actual, pinned } => {
                let short: Vec<&str> = pinned.iter().map(|p| p.get(..12).unwrap_or(p)).collect();
                write!(
                    f,
                    "the calibration's sha256 {actual} is not pinned (accepted: {}…): use a calibration honnin \
                     ships, give this file's sha256 as its pin, or load it unpinned deliberately",
                    short.join("…, ")
                )
            }
            Self::Implausible { part, problem } => {
                write!(f, "the calibration is implausible ({part}): {problem}; it was edited or corrupted")
            }
            Self::NoOperatingPoint { target_fmr, available } => {
                let have: Vec<String> = available.iter().map(|t| rate(*t)).collect();
                write!(
                    f,
                    "the calibration has no operating point at target FMR {} (it has {}): choose one of those \
                     or recalibrate",
                    rate(*target_fmr),
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                )
            }
            Self::OtherPipeline { differences } => write!(
                f,
                "the calibration was measured with another pipeline ({}): use the calibration made for these \
                 models and settings (calibration/<recognizer id>.json) or recalibrate with `honnin-lab calibrate`",
                differences.join("; ")
            ),
            Self::OtherPadModels { loaded, named } if loaded.is_empty() => write!(
                f,
                "a PAD calibration for {} was given, but no PAD models are loaded (the manifest names none or \
                 their files are absent)",
                named.join(", ")
            ),
            Self::OtherPadModels { loaded, named } => write!(
                f,
                "the PAD calibration was made for the PAD models {}, but {} are loaded: recalibrate with \
                 `honnin-lab pad-calibrate`",
                named.join(", "),
                loaded.join(", ")
            ),
        }
    }
}

impl std::error::Error for CalibrationError {}

/// An [`CalibrationError::Implausible`] for `part`.
pub(crate) fn implausible(part: &str, problem: Implausibility) -> CalibrationError {
    CalibrationError::Implausible { part: part.to_string(), problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_print_as_powers_of_ten() {
        assert_eq!(rate(1e-4), "1e-4");
        assert_eq!(rate(1e-300), "1e-300");
        assert_eq!(rate(0.002), "2e-3");
        assert_eq!(number(1e30_f32.into()), "1e30");
        assert_eq!(number(f64::from(0.43871957_f32)), "0.43871957");
        assert_eq!(number(9.0), "9");
        assert_eq!(number(-0.5), "-0.5");
    }
}
