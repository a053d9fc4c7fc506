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

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::decision::pin::Pin;
pub use crate::decision::pin::{
    CalibrationPin, CalibrationSource, PinKind, ShippedCalibration, SHIPPED_CALIBRATIONS, SHIPPED_PAD_CALIBRATION,
};
use crate::error::{implausible, Result};
pub use crate::error::{rate, CalibrationError, Implausibility};
use crate::input::decode::ReferenceKind;
use crate::pipeline::models::is_sha256_hex as is_hex64;
use crate::pipeline::models::{AlignmentFit, Metric};

/// The default operating point: one false match in ten thousand impostor
/// comparisons, the stricter point newer identity-proofing guidance asks for.
/// With the default recognizer (intel-reid-0095) the false non-match rate
/// there (about 3 % colour, 5 % card-like on LFW) is lower than dlib's at
/// 1e-3 (7 % and 12 %); README, "Thresholds and calibration".
pub const DEFAULT_TARGET_FMR: f64 = 1e-4;

/// One operating point measured on calibration data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatingPoint {
    /// The false-match rate asked for.
    pub target_fmr: f64,
    /// Score threshold reaching it.
    pub threshold: f32,
    /// Impostor comparisons accepted at `threshold`.
    pub impostors_accepted: u64,
    /// `impostors_accepted / impostor comparisons`.
    pub observed_fmr: f64,
    /// Share of genuine comparisons rejected at `threshold`.
    pub fnmr: f64,
    /// 95 % interval of the FMR at `threshold`, by subject bootstrap, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmr_ci95: Option<crate::decision::metrics::Interval>,
    /// 95 % interval of the FNMR at `threshold`, by subject bootstrap, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fnmr_ci95: Option<crate::decision::metrics::Interval>,
}

/// Calibration measurements for one kind of reference photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceCalibration {
    /// Distinct identities the comparisons came from.
    pub subjects: u64,
    /// Genuine (same identity) comparisons.
    pub genuine_comparisons: u64,
    /// Impostor (different identity) comparisons.
    pub impostor_comparisons: u64,
    /// Measured operating points, by target FMR.
    pub points: Vec<OperatingPoint>,
    /// Operating points for live probes fused from several frames, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fused: Option<FusedCalibration>,
}

/// Thresholds for comparisons whose live side fuses several frames
/// ([`Template::fuse`](crate::engine::Template::fuse)).
///
/// Fusion removes noise from the live template, which shortens impostor
/// distances as well as genuine ones: at the single-frame threshold, fused
/// probes of 3 frames were measured at about 3 times the target FMR
/// (`docs/counter-sessions.md`). Fused comparisons therefore get thresholds
/// of their own. A threshold measured for `frames` frames is also safe for
/// fewer (their impostor distances are longer), never for more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusedCalibration {
    /// Frames fused per probe.
    pub frames: u32,
    /// How the frames were weighted (`quality`: the quality gate's weights).
    pub weighting: String,
    /// Where the comparisons came from.
    pub dataset: String,
    /// The command that measured them.
    pub command: String,
    /// Distinct identities.
    pub subjects: u64,
    /// Genuine comparisons.
    pub genuine_comparisons: u64,
    /// Impostor comparisons.
    pub impostor_comparisons: u64,
    /// Measured operating points, by target FMR.
    pub points: Vec<OperatingPoint>,
}

/// A calibration file: thresholds measured for one pipeline configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Always `honnin-calibration/1`.
    pub format: String,
    /// Recognizer manifest id.
    pub recognizer: String,
    /// sha256 of the recognizer file the scores came from.
    pub recognizer_sha256: String,
    /// Detector manifest id (alignment depends on its landmarks).
    pub detector: String,
    /// Score metric.
    pub metric: Metric,
    /// Whether templates averaged the face and its mirror image.
    pub mirror_averaging: bool,
    /// How landmarks were fitted onto the alignment template.
    pub alignment_fit: AlignmentFit,
    /// Fingerprint of everything that shapes a score: both models' sha256,
    /// their manifest settings (tensors, colour, normalisation, alignment,
    /// metric, detector thresholds and sizes) and the mirror setting.
    /// See [`Models::pipeline_sha256`](crate::Models::pipeline_sha256).
    pub pipeline_sha256: String,
    /// Where the comparisons came from.
    pub dataset: String,
    /// The command that produced this file.
    pub command: String,
    /// Measurements by reference kind (`colour`, `grey`).
    pub references: BTreeMap<ReferenceKind, ReferenceCalibration>,
    /// Which bytes this was read from and how they were pinned (not part of
    /// the file; `None` for a calibration built in code).
    #[serde(skip)]
    pub source: Option<crate::decision::pin::CalibrationSource>,
}

/// The format tag of calibration files.
pub const CALIBRATION_FORMAT: &str = "honnin-calibration/1";

impl Calibration {
    /// Reads a calibration that honnin ships (`calibration/*.json`, pinned by
    /// sha256 in [`SHIPPED_CALIBRATIONS`]),
    /// and checks its plausibility. Any other file is refused with
    /// [`CalibrationError::NotPinned`]: pin it with
    /// [`from_file_pinned`](Self::from_file_pinned), or load it unpinned with
    /// [`danger::unpinned_calibration`](crate::danger::unpinned_calibration).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::read(path.as_ref(), Pin::Shipped(&crate::decision::pin::shipped_pins()))
    }

    /// Reads a calibration file whose sha256 must be `sha256` (hex), and
    /// checks its plausibility.
    pub fn from_file_pinned(path: impl AsRef<Path>, sha256: &str) -> Result<Self> {
        Self::read(path.as_ref(), Pin::Given(sha256))
    }

    /// Parses the text of a calibration honnin ships (pinned as
    /// [`from_file`](Self::from_file) pins files), and checks its plausibility.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::parse(text, Pin::Shipped(&crate::decision::pin::shipped_pins()))
    }

    /// Parses a calibration whose text must have the sha256 `sha256` (hex),
    /// and checks its plausibility.
    pub fn from_json_pinned(text: &str, sha256: &str) -> Result<Self> {
        Self::parse(text, Pin::Given(sha256))
    }

    /// Reads a calibration file under `pin` (see [`CalibrationPin`]) and
    /// checks its plausibility.
    pub fn from_file_under(path: impl AsRef<Path>, pin: &CalibrationPin) -> Result<Self> {
        Self::read(path.as_ref(), pin.pin(&crate::decision::pin::shipped_pins()))
    }

    /// Parses a calibration's text under `pin` and checks its plausibility.
    pub fn from_json_under(text: &str, pin: &CalibrationPin) -> Result<Self> {
        Self::parse(text, pin.pin(&crate::decision::pin::shipped_pins()))
    }

    /// The calibration honnin ships for the recognizer `recognizer_id`
    /// (built into the library), if there is one.
    pub fn shipped(recognizer_id: &str) -> Option<Result<Self>> {
        let shipped = SHIPPED_CALIBRATIONS.iter().find(|s| s.file.strip_suffix(".json") == Some(recognizer_id))?;
        Some(Self::parse(shipped.text, Pin::Shipped(&[shipped.sha256])))
    }

    pub(crate) fn read(path: &Path, pin: Pin<'_>) -> Result<Self> {
        Self::parse(&crate::decision::pin::read_text(path)?, pin)
    }

    pub(crate) fn parse(text: &str, pin: Pin<'_>) -> Result<Self> {
        let (mut calibration, source) =
            crate::decision::pin::parse_checked(text, pin, "calibration", check_calibration)?;
        calibration.source = Some(source);
        Ok(calibration)
    }
}

/// Measures, for each target FMR, the threshold that accepts at most
/// `target * impostors` impostor comparisons, and the FNMR there.
///
/// The threshold sits halfway between the last accepted and the first rejected
/// impostor score, so it does not depend on the score's exact float value
/// ([`ScoreSet::at_fmr`](crate::metrics::ScoreSet::at_fmr), ties included).
pub fn operating_points(metric: Metric, genuine: &[f32], impostor: &[f32], targets: &[f64]) -> Vec<OperatingPoint> {
    let scores = crate::decision::metrics::ScoreSet::new(metric, genuine.iter().copied(), impostor.iter().copied());
    targets
        .iter()
        .filter_map(|&target| {
            let r = scores.at_fmr(target)?;
            Some(OperatingPoint {
                target_fmr: target,
                threshold: r.threshold,
                impostors_accepted: r.false_matches,
                observed_fmr: r.fmr,
                fnmr: r.fnmr,
                fmr_ci95: None,
                fnmr_ci95: None,
            })
        })
        .collect()
}

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
        let part = kind.word();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_calibrations_are_plausible() {
        for shipped in SHIPPED_CALIBRATIONS {
            let c: Calibration = serde_json::from_str(shipped.text).unwrap();
            check_calibration(&c).unwrap_or_else(|e| panic!("{}: {e}", shipped.file));
        }
    }
}

#[cfg(test)]
mod operating_point_tests {
    use super::*;

    #[test]
    fn operating_point_accepts_no_more_impostors_than_the_target_allows() {
        let impostor: Vec<f32> = (0..1000).map(|i| 0.5 + i as f32 * 0.001).collect();
        let genuine = [0.3, 0.4, 0.5005, 0.7];
        let points = operating_points(Metric::Euclidean, &genuine, &impostor, &[1e-2, 1e-3, 1e-4]);
        assert_eq!(points[0].impostors_accepted, 10);
        assert!(points[0].threshold > 0.509 && points[0].threshold < 0.510);
        assert_eq!(points[1].impostors_accepted, 1);
        assert_eq!(points[2].impostors_accepted, 0);
        assert!(points[2].threshold < 0.5);
        assert_eq!(points[2].fnmr, 0.5);
    }

    #[test]
    fn cosine_points_mirror_euclidean_ones() {
        let impostor: Vec<f32> = (0..100).map(|i| 0.5 - i as f32 * 0.001).collect();
        let p = &operating_points(Metric::Cosine, &[0.9], &impostor, &[0.02])[0];
        assert_eq!(p.impostors_accepted, 2);
        assert!(p.threshold < 0.499 && p.threshold > 0.498, "{}", p.threshold);
    }

    #[test]
    fn zero_and_negative_ties_terminate() {
        let p = &operating_points(Metric::Euclidean, &[0.0], &[0.0; 10], &[0.2])[0];
        assert_eq!(p.impostors_accepted, 0);
        let p = &operating_points(Metric::Cosine, &[1.0], &[5.0; 10], &[0.2])[0];
        assert_eq!(p.impostors_accepted, 0);
    }

    #[test]
    fn tied_impostor_scores_never_push_the_rate_over_target() {
        let impostor = vec![0.5f32; 100];
        let p = &operating_points(Metric::Euclidean, &[], &impostor, &[0.05])[0];
        assert_eq!(p.impostors_accepted, 0);
    }
}
