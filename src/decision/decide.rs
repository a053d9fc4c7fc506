//! Stage 6: score to decision, by a policy read from a calibration file.
//!
//! There is no built-in threshold. A [`Policy`] names a target false-match rate
//! and takes the threshold that a committed [`Calibration`] measured for it, for
//! the recognizer (by sha256), detector and mirror setting the calibration used.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::decision::calibration::{CalibrationError, Pin, SHIPPED_CALIBRATIONS};
use crate::pipeline::compare::Score;
use crate::input::decode::ReferenceKind;
use crate::error::{Error, Result};
use crate::pipeline::models::{AlignmentFit, Metric};

/// The default operating point: one false match in ten thousand impostor
/// comparisons, the stricter point newer identity-proofing guidance asks for.
/// With the default recognizer (intel-reid-0095) the false non-match rate
/// there (about 3 % colour, 5 % card-like on LFW) is lower than dlib's at
/// 1e-3 (7 % and 12 %); README, "Thresholds and calibration".
pub const DEFAULT_TARGET_FMR: f64 = 1e-4;

/// Which image a [`Reason`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The card's reference photo.
    Card,
    /// The live image.
    Live,
}

/// Why no match / no-match decision was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// No face was found.
    NoFace(Side),
    /// Two or more faces of comparable size were found; the subject is ambiguous.
    MultipleFaces(Side),
    /// A face was found but its landmarks could not be aligned.
    Unalignable(Side),
    /// Staff could not tell (visual check).
    StaffUnsure,
    /// Presentation-attack detection judged the live image not to show a
    /// live face (a printed photo, a screen, a mask). The terminal offers the
    /// staff check; the person is not accused of anything.
    PresentationAttackSuspected,
    /// The policy has no threshold calibrated for this kind of card photo
    /// (for example a grey chip photo with a calibration made on colour
    /// photos only): comparing against another kind's threshold would change
    /// the false-match rate, so no automatic decision is made.
    NotCalibrated(ReferenceKind),
}

impl Reason {
    /// A stable, machine-readable code (`no_face_live`, `not_calibrated_grey`,
    /// ...), as written to audit records.
    pub fn code(&self) -> &'static str {
        use ReferenceKind::{Colour, Grey};
        use Side::{Card, Live};
        match self {
            Reason::NoFace(Card) => "no_face_card",
            Reason::NoFace(Live) => "no_face_live",
            Reason::MultipleFaces(Card) => "multiple_faces_card",
            Reason::MultipleFaces(Live) => "multiple_faces_live",
            Reason::Unalignable(Card) => "unalignable_card",
            Reason::Unalignable(Live) => "unalignable_live",
            Reason::StaffUnsure => "staff_unsure",
            Reason::PresentationAttackSuspected => "presentation_attack_suspected",
            Reason::NotCalibrated(Colour) => "not_calibrated_colour",
            Reason::NotCalibrated(Grey) => "not_calibrated_grey",
        }
    }
}

/// The decision of one verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Same person.
    Match,
    /// Not the same person.
    NoMatch,
    /// No decision; the reason says what to fix (retake, staff check, ...).
    Inconclusive(Reason),
}

impl Decision {
    /// `match`, `no_match` or `inconclusive`, as the CLI prints it and audit
    /// records hold it.
    pub fn code(&self) -> &'static str {
        match self {
            Decision::Match => "match",
            Decision::NoMatch => "no_match",
            Decision::Inconclusive(_) => "inconclusive",
        }
    }
}

/// How a decision was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Automatic face comparison on the device.
    Automatic,
    /// A staff member compared the card with the person; no biometric was computed.
    StaffVisual,
}

impl Method {
    /// `automatic` or `staff_visual`, as the CLI prints it and audit records hold it.
    pub fn code(&self) -> &'static str {
        match self {
            Method::Automatic => "automatic",
            Method::StaffVisual => "staff_visual",
        }
    }
}

/// The threshold a decision was made against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    /// The score threshold (same metric as the score).
    pub value: f32,
    /// The false-match rate it was calibrated for; `None` for an uncalibrated policy.
    pub target_fmr: Option<f64>,
    /// The kind of reference photo it was calibrated for.
    pub reference: ReferenceKind,
}

/// The result of a verification, automatic or by staff.
///
/// Two outcomes are equal when decision, score, threshold and method are;
/// how long the stages took is not part of the result.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Outcome {
    /// Match, no match, or inconclusive with a reason.
    pub decision: Decision,
    /// The comparison score, when two faces were compared.
    pub score: Option<Score>,
    /// The threshold applied, when two faces were compared.
    pub threshold: Option<Threshold>,
    /// Automatic or staff visual check.
    pub method: Method,
    /// How long the engine's stages took (all zero for a staff check).
    pub timings: StageTimings,
    /// Whether presentation-attack detection ran on the live image, and what it found.
    pub pad: PadCheck,
}

/// Whether presentation-attack detection (PAD) ran for an outcome, and what
/// it found. Not part of the outcome's equality.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PadCheck {
    /// PAD did not run: turned off, its models absent, a staff check, or no
    /// single face to look at.
    #[default]
    NotRun,
    /// The live image(s) looked like a live face.
    Live {
        /// Liveness score in 0..1 (mean over the models and frames).
        score: f32,
        /// The threshold it was held to.
        threshold: f32,
        /// Frames the score was fused over.
        frames: usize,
    },
    /// A presentation attack is suspected: the score fell below the threshold.
    AttackSuspected {
        /// Liveness score in 0..1 (mean over the models and frames).
        score: f32,
        /// The threshold it was held to.
        threshold: f32,
        /// Frames the score was fused over.
        frames: usize,
    },
}

impl PadCheck {
    /// `not_run`, `live` or `attack_suspected`, as audit records write it.
    pub fn code(&self) -> &'static str {
        match self {
            PadCheck::NotRun => "not_run",
            PadCheck::Live { .. } => "live",
            PadCheck::AttackSuspected { .. } => "attack_suspected",
        }
    }

    /// A check of `score` against `threshold`, over `frames` frames.
    pub(crate) fn judge(score: f32, threshold: f32, frames: usize) -> Self {
        if score >= threshold {
            PadCheck::Live { score, threshold, frames }
        } else {
            PadCheck::AttackSuspected { score, threshold, frames }
        }
    }
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Self) -> bool {
        (self.decision, self.score, self.threshold, self.method)
            == (other.decision, other.score, other.threshold, other.method)
    }
}

/// Time spent in each stage of one automatic verification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StageTimings {
    /// Detecting, aligning and embedding the card photo's face (zero when a
    /// prepared [`CardReference`](crate::CardReference) was reused).
    pub card_template: std::time::Duration,
    /// Detecting, aligning and embedding the live frame's face.
    pub live_template: std::time::Duration,
    /// Scoring the two templates and applying the policy.
    pub compare: std::time::Duration,
}

impl Outcome {
    pub(crate) fn inconclusive(reason: Reason, method: Method) -> Self {
        Self {
            decision: Decision::Inconclusive(reason),
            score: None,
            threshold: None,
            method,
            timings: StageTimings::default(),
            pad: PadCheck::NotRun,
        }
    }

    pub(crate) fn staff(decision: Decision) -> Self {
        Self {
            decision,
            score: None,
            threshold: None,
            method: Method::StaffVisual,
            timings: StageTimings::default(),
            pad: PadCheck::NotRun,
        }
    }
}

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
/// ([`Template::fuse`](crate::Template::fuse)).
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
    pub source: Option<crate::decision::calibration::CalibrationSource>,
}

/// The format tag of calibration files.
pub const CALIBRATION_FORMAT: &str = "honnin-calibration/1";

impl Calibration {
    /// Reads a calibration that honnin ships (`calibration/*.json`, pinned by
    /// sha256 in [`SHIPPED_CALIBRATIONS`](crate::decision::calibration::SHIPPED_CALIBRATIONS)),
    /// and checks its plausibility. Any other file is refused with
    /// [`CalibrationError::NotPinned`]: pin it with
    /// [`from_file_pinned`](Self::from_file_pinned), or load it unpinned with
    /// [`danger::unpinned_calibration`](crate::danger::unpinned_calibration).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::read(path.as_ref(), Pin::Shipped(&crate::decision::calibration::shipped_pins()))
    }

    /// Reads a calibration file whose sha256 must be `sha256` (hex), and
    /// checks its plausibility.
    pub fn from_file_pinned(path: impl AsRef<Path>, sha256: &str) -> Result<Self> {
        Self::read(path.as_ref(), Pin::Given(sha256))
    }

    /// Parses the text of a calibration honnin ships (pinned as
    /// [`from_file`](Self::from_file) pins files), and checks its plausibility.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::parse(text, Pin::Shipped(&crate::decision::calibration::shipped_pins()))
    }

    /// Parses a calibration whose text must have the sha256 `sha256` (hex),
    /// and checks its plausibility.
    pub fn from_json_pinned(text: &str, sha256: &str) -> Result<Self> {
        Self::parse(text, Pin::Given(sha256))
    }

    /// The calibration honnin ships for the recognizer `recognizer_id`
    /// (built into the library), if there is one.
    pub fn shipped(recognizer_id: &str) -> Option<Result<Self>> {
        let shipped = SHIPPED_CALIBRATIONS.iter().find(|s| s.file.strip_suffix(".json") == Some(recognizer_id))?;
        Some(Self::parse(shipped.text, Pin::Shipped(&[shipped.sha256])))
    }

    pub(crate) fn read(path: &Path, pin: Pin<'_>) -> Result<Self> {
        Self::parse(&crate::decision::calibration::read_text(path)?, pin)
    }

    pub(crate) fn parse(text: &str, pin: Pin<'_>) -> Result<Self> {
        let (mut calibration, source) =
            crate::decision::calibration::parse_checked(text, pin, "calibration", crate::decision::calibration::check_calibration)?;
        calibration.source = Some(source);
        Ok(calibration)
    }
}

/// Measures, for each target FMR, the threshold that accepts at most
/// `target * impostors` impostor comparisons, and the FNMR there.
///
/// The threshold sits halfway between the last accepted and the first rejected
/// impostor score, so it does not depend on the score's exact float value
/// ([`ScoreSet::at_fmr`](crate::decision::metrics::ScoreSet::at_fmr), ties included).
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

/// What a policy is bound to; an engine refuses a policy calibrated for another pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binding {
    pub(crate) recognizer_sha256: String,
    pub(crate) detector: String,
    pub(crate) mirror_averaging: bool,
    pub(crate) alignment_fit: AlignmentFit,
    pub(crate) pipeline_sha256: String,
}

/// Decides match / no match from a score.
#[derive(Debug, Clone)]
pub struct Policy {
    metric: Metric,
    target_fmr: Option<f64>,
    colour: f32,
    grey: Option<f32>,
    /// Fused-probe thresholds by reference kind: (frames, threshold).
    fused: BTreeMap<ReferenceKind, (u32, f32)>,
    pub(crate) binding: Option<Binding>,
    source: Option<crate::decision::calibration::CalibrationSource>,
}

impl Policy {
    /// The policy for `target_fmr`, with thresholds taken from `calibration`.
    ///
    /// Fails if the calibration has no colour-reference point for exactly this target.
    pub fn from_calibration(calibration: &Calibration, target_fmr: f64) -> Result<Self> {
        if !(target_fmr > 0.0 && target_fmr < 1.0) {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "a target FMR between 0 and 1 (exclusive), got {}",
                    crate::decision::calibration::rate(target_fmr)
                ),
            });
        }
        // The fields are public: a calibration built in code is checked as a file is.
        crate::decision::calibration::check_calibration(calibration)?;
        let at_target = |p: &&OperatingPoint| crate::decision::calibration::same_target(p.target_fmr, target_fmr);
        let mut thresholds = BTreeMap::new();
        let mut fused = BTreeMap::new();
        for (kind, reference) in &calibration.references {
            if let Some(f) = &reference.fused {
                if let Some(p) = f.points.iter().find(at_target) {
                    fused.insert(*kind, (f.frames, p.threshold));
                }
            }
            if let Some(p) = reference.points.iter().find(at_target) {
                thresholds.insert(*kind, p.threshold);
            }
        }
        let Some(&colour) = thresholds.get(&ReferenceKind::Colour) else {
            let available: Vec<f64> = calibration
                .references
                .get(&ReferenceKind::Colour)
                .map(|r| r.points.iter().map(|p| p.target_fmr).collect())
                .unwrap_or_default();
            return Err(CalibrationError::NoOperatingPoint { target_fmr, available }.into());
        };
        Ok(Self {
            metric: calibration.metric,
            target_fmr: Some(target_fmr),
            colour,
            grey: thresholds.get(&ReferenceKind::Grey).copied(),
            fused,
            binding: Some(Binding {
                recognizer_sha256: calibration.recognizer_sha256.to_ascii_lowercase(),
                detector: calibration.detector.clone(),
                mirror_averaging: calibration.mirror_averaging,
                alignment_fit: calibration.alignment_fit,
                pipeline_sha256: calibration.pipeline_sha256.to_ascii_lowercase(),
            }),
            source: calibration.source.clone(),
        })
    }

    /// The policy at [`DEFAULT_TARGET_FMR`].
    pub fn default_from(calibration: &Calibration) -> Result<Self> {
        Self::from_calibration(calibration, DEFAULT_TARGET_FMR)
    }

    pub(crate) fn uncalibrated(metric: Metric, threshold: f32) -> Self {
        Self {
            metric,
            target_fmr: None,
            colour: threshold,
            grey: None,
            fused: BTreeMap::new(),
            binding: None,
            source: None,
        }
    }

    /// The calibration bytes this policy came from, when it was read from
    /// text or a file.
    pub fn calibration_source(&self) -> Option<&crate::decision::calibration::CalibrationSource> {
        self.source.as_ref()
    }

    /// The target FMR, if calibrated.
    pub fn target_fmr(&self) -> Option<f64> {
        self.target_fmr
    }

    /// The score metric the thresholds are in.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The threshold for card photos of `kind`, each calibrated on its own
    /// kind of reference: grey card photos score differently from colour ones
    /// against a colour live image. `None` when the calibration has no
    /// operating point for `kind` at this policy's target. An uncalibrated
    /// policy ([`danger::uncalibrated_policy`](crate::danger::uncalibrated_policy))
    /// has one threshold for every kind.
    pub fn threshold(&self, kind: ReferenceKind) -> Option<Threshold> {
        let value = match (kind, self.binding.is_some()) {
            (ReferenceKind::Colour, _) | (_, false) => self.colour,
            (ReferenceKind::Grey, true) => self.grey?,
        };
        Some(Threshold { value, target_fmr: self.target_fmr, reference: kind })
    }

    /// The threshold for live probes fused from several frames, against card
    /// photos of `kind`, and the most frames it was calibrated for. `None`
    /// when the calibration measured no fused probes for `kind` (sessions
    /// then compare their best single frame).
    pub fn fused_threshold(&self, kind: ReferenceKind) -> Option<(usize, Threshold)> {
        let &(frames, value) = self.fused.get(&kind)?;
        Some((frames as usize, Threshold { value, target_fmr: self.target_fmr, reference: kind }))
    }

    pub(crate) fn decide(&self, score: Score, kind: ReferenceKind) -> Outcome {
        let Some(threshold) = self.threshold(kind) else {
            return Outcome::inconclusive(Reason::NotCalibrated(kind), Method::Automatic);
        };
        Self::decide_at(score, threshold)
    }

    pub(crate) fn decide_at(score: Score, threshold: Threshold) -> Outcome {
        let decision = if score.passes(threshold.value) { Decision::Match } else { Decision::NoMatch };
        Outcome {
            decision,
            score: Some(score),
            threshold: Some(threshold),
            method: Method::Automatic,
            timings: StageTimings::default(),
            pad: PadCheck::NotRun,
        }
    }
}

#[cfg(test)]
mod tests {
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
