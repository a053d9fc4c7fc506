//! Trusting a calibration file: its pin, and the plausibility of what it says.
//!
//! A calibration decides every outcome: a threshold of 9.0 makes anyone
//! match anyone. Two independent checks stand between a file and a policy:
//!
//! - **Pin.** The calibrations honnin ships are pinned by sha256, built into
//!   the library ([`SHIPPED_CALIBRATIONS`], [`SHIPPED_PAD_CALIBRATION`]).
//!   [`Calibration::from_file`](crate::Calibration::from_file) accepts only
//!   those bytes; another file needs its own pin
//!   ([`Calibration::from_file_pinned`](crate::Calibration::from_file_pinned))
//!   or a deliberate opt-out (`danger::unpinned_calibration`), as the
//!   ONNX Runtime library does.
//! - **Plausibility.** Whatever its pin, every calibration is checked before
//!   use: finite values, thresholds inside the metric's range, distinct
//!   targets, thresholds that tighten as the target FMR falls, and counts
//!   consistent with the targets (no more impostors accepted than the target
//!   allows, enough impostor comparisons to show it at all).

use std::fmt;

use crate::decision::decide::{Calibration, OperatingPoint, ReferenceCalibration, CALIBRATION_FORMAT};
use crate::input::decode::ReferenceKind;
use crate::pipeline::models::Metric;
use crate::pipeline::pad::{PadCalibration, PadCounts, PAD_CALIBRATION_FORMAT};

/// A calibration file honnin ships: its name under `calibration/`, its
/// sha256 and its text (built into the library).
#[derive(Debug, Clone, Copy)]
pub struct ShippedCalibration {
    /// File name under `calibration/`.
    pub file: &'static str,
    /// sha256 of the file (hex).
    pub sha256: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// The face calibrations honnin ships, one per recognizer; a test checks the
/// pins against the committed files.
pub const SHIPPED_CALIBRATIONS: [ShippedCalibration; 2] = [
    ShippedCalibration {
        file: "intel-reid-0095.json",
        sha256: "9ef0fe7f73eb7530000134734c448d989b9cc0cd1f49c879fcf4f29770067287",
        text: include_str!("../../calibration/intel-reid-0095.json"),
    },
    ShippedCalibration {
        file: "dlib-resnet-v1.json",
        sha256: "2608eec46f88eaa29583cf70c7c45294b15cad6af2302e3c24ddd56533cee8f7",
        text: include_str!("../../calibration/dlib-resnet-v1.json"),
    },
];

/// The PAD calibration honnin ships (`calibration/pad-minifasnet.json`).
pub const SHIPPED_PAD_CALIBRATION: ShippedCalibration = ShippedCalibration {
    file: "pad-minifasnet.json",
    sha256: "fe941aed2a687ee6b817b21909a8ed15e48efdcdae5718bdf7c39b523290099a",
    text: include_str!("../../calibration/pad-minifasnet.json"),
};

/// How a calibration's bytes were trusted when they were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    /// One of the calibrations honnin ships (built in, or a file with its bytes).
    Shipped,
    /// A file or text whose sha256 the deployer gave.
    Given,
    /// Accepted whatever its sha256 (`danger::unpinned_calibration`, `any`).
    Unpinned,
}

/// Which calibration bytes a policy came from: their sha256 and how they
/// were pinned. Audit records carry it, so that a decision made under an
/// unpinned calibration is told apart from one under the shipped file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSource {
    /// sha256 of the calibration's bytes (hex).
    pub sha256: String,
    /// How they were pinned.
    pub pin: PinKind,
}

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
                 models and settings (calibration/<recognizer id>.json) or recalibrate with `honnin calibrate`",
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
                 `honnin pad-calibrate`",
                named.join(", "),
                loaded.join(", ")
            ),
        }
    }
}

impl std::error::Error for CalibrationError {}

/// The sha256 (hex) of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::pipeline::models::hex(&sha2::Sha256::digest(bytes))
}

/// Reads a calibration file's text (a regular file, at most 1 MiB, UTF-8).
pub(crate) fn read_text(path: &std::path::Path) -> crate::error::Result<String> {
    let bytes = crate::input::decode::read_bounded(path, crate::pipeline::models::MAX_TEXT_BYTES)?;
    Ok(String::from_utf8(bytes).map_err(|_| CalibrationError::Malformed { reason: "not UTF-8 text".into() })?)
}

/// Parses calibration text of kind `what` under `pin`, then runs `check` on
/// it; also returns where the bytes came from.
pub(crate) fn parse_checked<T: serde::de::DeserializeOwned>(
    text: &str,
    pin: Pin<'_>,
    what: &str,
    check: fn(&T) -> Result<(), CalibrationError>,
) -> crate::error::Result<(T, CalibrationSource)> {
    let source = pin.check(text.as_bytes())?;
    let value: T =
        serde_json::from_str(text).map_err(|e| CalibrationError::Malformed { reason: format!("not a {what}: {e}") })?;
    check(&value)?;
    Ok((value, source))
}

/// Which pins bytes must match: the shipped ones, one given, or none.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pin<'a> {
    Shipped(&'a [&'a str]),
    Given(&'a str),
    Unpinned,
}

impl Pin<'_> {
    /// Checks `bytes` against the pin; their source when they pass.
    pub(crate) fn check(self, bytes: &[u8]) -> Result<CalibrationSource, CalibrationError> {
        let actual = sha256_hex(bytes);
        let (pinned, pin): (Vec<&str>, PinKind) = match self {
            Pin::Unpinned => return Ok(CalibrationSource { sha256: actual, pin: PinKind::Unpinned }),
            Pin::Shipped(list) => (list.to_vec(), PinKind::Shipped),
            Pin::Given(hex) => (vec![hex], PinKind::Given),
        };
        if pinned.iter().any(|p| p.eq_ignore_ascii_case(&actual)) {
            Ok(CalibrationSource { sha256: actual, pin })
        } else {
            Err(CalibrationError::NotPinned { actual, pinned: pinned.into_iter().map(str::to_string).collect() })
        }
    }
}

/// The shipped face calibrations' pins.
pub(crate) fn shipped_pins() -> [&'static str; 2] {
    [SHIPPED_CALIBRATIONS[0].sha256, SHIPPED_CALIBRATIONS[1].sha256]
}

fn implausible(part: &str, problem: Implausibility) -> CalibrationError {
    CalibrationError::Implausible { part: part.to_string(), problem }
}

use crate::pipeline::models::is_sha256_hex as is_hex64;

/// The range a threshold of `metric` can take. Cosine similarity lies in
/// [-1, 1]. Euclidean distances are not bounded in general, but the
/// Euclidean recognizer honnin runs (dlib's) makes templates of norm below 2
/// (1.25 to 1.52 measured on LFW), so no two templates are further apart
/// than 4: a threshold beyond it would accept everyone.
pub(crate) fn threshold_range(metric: Metric) -> (f64, f64) {
    match metric {
        Metric::Cosine => (-1.0, 1.0),
        Metric::Euclidean => (0.0, 4.0),
    }
}

/// Checks a face calibration's plausibility.
pub(crate) fn check_calibration(c: &Calibration) -> Result<(), CalibrationError> {
    let file = |problem| Err(implausible("file", problem));
    if c.format != CALIBRATION_FORMAT {
        return Err(CalibrationError::Malformed {
            reason: format!("format {CALIBRATION_FORMAT:?} expected, found {:?}", c.format),
        });
    }
    if c.recognizer.is_empty() || c.detector.is_empty() {
        return file(Implausibility::Missing { what: "the recognizer or detector id" });
    }
    if !is_hex64(&c.recognizer_sha256) {
        return file(Implausibility::BadField { field: "recognizer_sha256", expected: "64 hex digits" });
    }
    if !is_hex64(&c.pipeline_sha256) {
        return file(Implausibility::BadField { field: "pipeline_sha256", expected: "64 hex digits" });
    }
    if !c.references.contains_key(&ReferenceKind::Colour) {
        return file(Implausibility::Missing { what: "the colour reference measurements" });
    }
    for (kind, reference) in &c.references {
        let part = match kind {
            ReferenceKind::Colour => "colour",
            ReferenceKind::Grey => "grey",
        };
        check_reference(c.metric, part, reference)?;
        if let Some(fused) = &reference.fused {
            let fused_part = format!("fused {part}");
            if fused.frames < 2 || fused.frames > 100 {
                return Err(implausible(
                    &fused_part,
                    Implausibility::OutOfRange { field: "frames", value: fused.frames.into(), min: 2.0, max: 100.0 },
                ));
            }
            if fused.weighting != "quality" {
                return Err(implausible(
                    &fused_part,
                    Implausibility::BadField { field: "weighting", expected: "\"quality\"" },
                ));
            }
            let counts = Counts {
                subjects: fused.subjects,
                genuine: fused.genuine_comparisons,
                impostor: fused.impostor_comparisons,
            };
            check_points(c.metric, &fused_part, counts, &fused.points)?;
            for p in &fused.points {
                let single = reference.points.iter().find(|q| same_target(q.target_fmr, p.target_fmr));
                if let Some(q) = single {
                    let no_looser = match c.metric {
                        Metric::Euclidean => p.threshold <= q.threshold,
                        Metric::Cosine => p.threshold >= q.threshold,
                    };
                    if !no_looser {
                        return Err(implausible(&fused_part, Implausibility::FusedLooser { target_fmr: p.target_fmr }));
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn same_target(a: f64, b: f64) -> bool {
    ((a - b) / b).abs() < 1e-9
}

#[derive(Clone, Copy)]
struct Counts {
    subjects: u64,
    genuine: u64,
    impostor: u64,
}

fn check_reference(metric: Metric, part: &str, r: &ReferenceCalibration) -> Result<(), CalibrationError> {
    let counts = Counts { subjects: r.subjects, genuine: r.genuine_comparisons, impostor: r.impostor_comparisons };
    check_points(metric, part, counts, &r.points)
}

fn check_points(metric: Metric, part: &str, n: Counts, points: &[OperatingPoint]) -> Result<(), CalibrationError> {
    let bad = |problem| Err(implausible(part, problem));
    if n.subjects < 2 || n.genuine == 0 || n.impostor == 0 {
        return bad(Implausibility::Counts {
            what: format!(
                "{} subjects, {} genuine and {} impostor comparisons (at least 2 subjects and one comparison \
                 of each kind)",
                n.subjects, n.genuine, n.impostor
            ),
        });
    }
    if points.is_empty() {
        return bad(Implausibility::Missing { what: "the operating points" });
    }
    let (min, max) = threshold_range(metric);
    for p in points {
        for (field, value) in [
            ("target_fmr", p.target_fmr),
            ("threshold", f64::from(p.threshold)),
            ("observed_fmr", p.observed_fmr),
            ("fnmr", p.fnmr),
        ] {
            if !value.is_finite() {
                return bad(Implausibility::NotFinite { field });
            }
        }
        if !(p.target_fmr > 0.0 && p.target_fmr < 1.0) {
            return bad(Implausibility::OutOfRange { field: "target_fmr", value: p.target_fmr, min: 0.0, max: 1.0 });
        }
        let threshold = f64::from(p.threshold);
        if !(min..=max).contains(&threshold) {
            return bad(Implausibility::OutOfRange { field: "threshold", value: threshold, min, max });
        }
        for (field, value) in [("fnmr", p.fnmr), ("observed_fmr", p.observed_fmr)] {
            if !(0.0..=1.0).contains(&value) {
                return bad(Implausibility::OutOfRange { field, value, min: 0.0, max: 1.0 });
            }
        }
        let needed = (3.0 / p.target_fmr).ceil() as u64;
        if n.impostor < needed {
            return bad(Implausibility::TooFewImpostors {
                target_fmr: p.target_fmr,
                impostor_comparisons: n.impostor,
                needed,
            });
        }
        if metric == Metric::Cosine && p.target_fmr <= 1e-2 && p.threshold <= 0.0 {
            return bad(Implausibility::AcceptsUnrelated { target_fmr: p.target_fmr, threshold: p.threshold });
        }
        let allowed = p.target_fmr * n.impostor as f64;
        // A threshold set where the target lies accepts nearly as many
        // impostors as it allows (ties aside); far fewer means it was not.
        if allowed.floor() >= 2.0 && (p.impostors_accepted as f64) < allowed.floor() / 2.0 {
            return bad(Implausibility::Counts {
                what: format!(
                    "only {} impostors accepted at target FMR {}, where {} comparisons give about {}: the \
                     threshold was not measured at this target",
                    p.impostors_accepted,
                    rate(p.target_fmr),
                    n.impostor,
                    allowed.floor()
                ),
            });
        }
        if p.impostors_accepted as f64 > allowed * (1.0 + 1e-9) {
            return bad(Implausibility::Counts {
                what: format!(
                    "{} impostors accepted at target FMR {}, where {} comparisons allow at most {}",
                    p.impostors_accepted,
                    rate(p.target_fmr),
                    n.impostor,
                    allowed.floor()
                ),
            });
        }
        let observed = p.impostors_accepted as f64 / n.impostor as f64;
        if (observed - p.observed_fmr).abs() > 1e-9 + 1e-6 * observed {
            return bad(Implausibility::Counts {
                what: format!(
                    "observed FMR {} at target {} is not {} accepted of {} impostor comparisons",
                    p.observed_fmr,
                    rate(p.target_fmr),
                    p.impostors_accepted,
                    n.impostor
                ),
            });
        }
    }
    // From the highest target FMR down, each threshold must be stricter
    // (strictly so when it accepts fewer impostors).
    let mut sorted: Vec<&OperatingPoint> = points.iter().collect();
    sorted.sort_by(|a, b| b.target_fmr.total_cmp(&a.target_fmr));
    for pair in sorted.windows(2) {
        let (higher, lower) = (pair[0], pair[1]);
        if same_target(lower.target_fmr, higher.target_fmr) {
            return bad(Implausibility::DuplicateTarget { target_fmr: lower.target_fmr });
        }
        let fewer = lower.impostors_accepted < higher.impostors_accepted;
        let (a, b) = (lower.threshold, higher.threshold);
        let tighter = match (metric, fewer) {
            (Metric::Cosine, true) => a > b,
            (Metric::Cosine, false) => a >= b,
            (Metric::Euclidean, true) => a < b,
            (Metric::Euclidean, false) => a <= b,
        };
        if !tighter || lower.impostors_accepted > higher.impostors_accepted {
            return bad(Implausibility::NotTightening {
                target_fmr: lower.target_fmr,
                threshold: lower.threshold,
                higher_target_fmr: higher.target_fmr,
                higher_threshold: higher.threshold,
            });
        }
    }
    Ok(())
}

/// Checks a PAD calibration's plausibility.
pub(crate) fn check_pad_calibration(c: &PadCalibration) -> Result<(), CalibrationError> {
    let bad = |problem| Err(implausible("pad", problem));
    if c.format != PAD_CALIBRATION_FORMAT {
        return Err(CalibrationError::Malformed {
            reason: format!("format {PAD_CALIBRATION_FORMAT:?} expected, found {:?}", c.format),
        });
    }
    if !c.threshold.is_finite() {
        return bad(Implausibility::NotFinite { field: "threshold" });
    }
    if !c.target_bpcer.is_finite() {
        return bad(Implausibility::NotFinite { field: "target_bpcer" });
    }
    if !(0.0..=1.0).contains(&c.threshold) {
        return bad(Implausibility::OutOfRange { field: "threshold", value: c.threshold.into(), min: 0.0, max: 1.0 });
    }
    if !(c.target_bpcer > 0.0 && c.target_bpcer < 1.0) {
        return bad(Implausibility::OutOfRange { field: "target_bpcer", value: c.target_bpcer, min: 0.0, max: 1.0 });
    }
    if c.models.is_empty() {
        return bad(Implausibility::Missing { what: "the PAD models" });
    }
    for (i, m) in c.models.iter().enumerate() {
        if m.id.is_empty() || c.models[..i].iter().any(|o| o.id == m.id) {
            return bad(Implausibility::BadField { field: "models", expected: "distinct, non-empty model ids" });
        }
        if !is_hex64(&m.sha256) {
            return bad(Implausibility::BadField { field: "models[].sha256", expected: "64 hex digits" });
        }
    }
    let consistent = |counts: &PadCounts| counts.below_threshold <= counts.scored;
    if !consistent(&c.bona_fide) || c.attacks.iter().any(|(_, a)| !consistent(a)) {
        return bad(Implausibility::Counts { what: "more presentations below the threshold than scored".into() });
    }
    let scored = c.bona_fide.scored;
    let needed = (3.0 / c.target_bpcer).ceil() as usize;
    if scored < needed {
        return bad(Implausibility::Counts {
            what: format!("{scored} bona fide presentations cannot show BPCER {} ({needed} needed)", c.target_bpcer),
        });
    }
    let bpcer = c.bona_fide.below_threshold as f64 / scored as f64;
    if bpcer > c.target_bpcer * (1.0 + 1e-9) {
        return bad(Implausibility::Counts {
            what: format!(
                "{} of {scored} bona fide presentations rejected, more than target BPCER {}",
                c.bona_fide.below_threshold, c.target_bpcer
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_the_committed_files_hashes() {
        for shipped in SHIPPED_CALIBRATIONS.iter().chain([&SHIPPED_PAD_CALIBRATION]) {
            let path = format!("{}/calibration/{}", env!("CARGO_MANIFEST_DIR"), shipped.file);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(sha256_hex(&bytes), shipped.sha256, "{path}: update the pin after recalibrating");
            assert_eq!(sha256_hex(shipped.text.as_bytes()), shipped.sha256);
        }
    }

    #[test]
    fn shipped_calibrations_are_plausible() {
        for shipped in SHIPPED_CALIBRATIONS {
            let c: Calibration = serde_json::from_str(shipped.text).unwrap();
            check_calibration(&c).unwrap_or_else(|e| panic!("{}: {e}", shipped.file));
        }
        let pad: PadCalibration = serde_json::from_str(SHIPPED_PAD_CALIBRATION.text).unwrap();
        check_pad_calibration(&pad).unwrap();
    }

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
