//! The decision rules: a score and a reference kind to a decision, at the
//! threshold a calibration measured for the target false-match rate.

use std::collections::BTreeMap;

use crate::card::authenticity::Authenticity;
use crate::decision::calibration::{check_calibration, Calibration, OperatingPoint, DEFAULT_TARGET_FMR};
use crate::decision::outcome::{Decision, Method, Outcome, PadCheck, Reason, StageTimings, Threshold};
use crate::decision::pad_policy::PadPolicy;
use crate::error::{CalibrationError, Error, Result};
use crate::input::decode::ReferenceKind;
use crate::pipeline::models::{AlignmentFit, Metric};
use crate::pipeline::template::Score;

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
    source: Option<crate::decision::pin::CalibrationSource>,
    /// Compare only card photos whose authenticity was verified.
    require_authentic: bool,
}

impl Policy {
    /// The policy for `target_fmr`, with thresholds taken from `calibration`.
    ///
    /// Fails if the calibration has no colour-reference point for exactly this target.
    pub fn from_calibration(calibration: &Calibration, target_fmr: f64) -> Result<Self> {
        if !(target_fmr > 0.0 && target_fmr < 1.0) {
            return Err(Error::InvalidArgument {
                reason: format!("a target FMR between 0 and 1 (exclusive), got {}", crate::error::rate(target_fmr)),
            });
        }
        // The fields are public: a calibration built in code is checked as a file is.
        check_calibration(calibration)?;
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
            require_authentic: false,
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
            require_authentic: false,
        }
    }

    /// Requires every card photo to be [`Authenticity::Verified`] with its
    /// signer chained to a trust anchor the integrator supplied (CSCA
    /// certificates, a J-LIS CA) and, for a My Number card, a chip that answered
    /// a fresh challenge (default off). Any other photo (a plain image, chip
    /// data without its security data, a signer no anchor vouches for, card
    /// bytes from a file) is then not compared, and the outcome is
    /// inconclusive with [`Reason::AuthenticityNotChecked`] before any model
    /// runs. A photo whose check failed is never compared, whatever this says
    /// ([`Reason::CardNotAuthentic`]).
    #[must_use]
    pub fn require_authentic(mut self, on: bool) -> Self {
        self.require_authentic = on;
        self
    }

    /// Whether the policy compares only verified card photos ([`Policy::require_authentic`]).
    pub fn requires_authentic(&self) -> bool {
        self.require_authentic
    }

    /// The calibration bytes this policy came from, when it was read from
    /// text or a file.
    pub fn calibration_source(&self) -> Option<&crate::decision::pin::CalibrationSource> {
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
}

/// How a live probe is compared with a card: the frames fused into it (1:
/// the best single frame) and the threshold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Comparison {
    /// Frames fused into the probe, at most.
    pub(crate) frames: usize,
    /// The threshold the score must pass.
    pub(crate) threshold: Threshold,
}

/// The decision rules, in one place: one-shot verification and counter
/// sessions both call them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    /// The face policy.
    pub(crate) face: &'a Policy,
    /// The PAD policy, when PAD decides.
    pub(crate) pad: Option<&'a PadPolicy>,
}

impl Rules<'_> {
    /// Whether a card photo of this authenticity may be compared at all: one
    /// whose check failed never is (whatever the policy), one never checked is
    /// not when the policy requires a verified photo. The reason is the
    /// outcome of every verification against it; no model runs for it.
    pub(crate) fn admit(&self, authenticity: Authenticity) -> Option<Reason> {
        use crate::card::authenticity::{Anchor, ChipCheck, Scheme};
        match authenticity {
            Authenticity::Failed { failure, .. } => Some(Reason::CardNotAuthentic(failure)),
            // Required: a signer chained to a trust anchor the integrator chose
            // (a signature alone proves nothing: anyone can make a key), and for
            // a My Number card a chip that answered (a copy of the bytes cannot).
            Authenticity::Verified { anchor: Anchor::Chained, scheme, chip }
                if scheme != Scheme::MyNumberSurface || chip == ChipCheck::Answered =>
            {
                None
            }
            _ if self.face.requires_authentic() => Some(Reason::AuthenticityNotChecked),
            Authenticity::NotChecked | Authenticity::Verified { .. } => None,
        }
    }

    /// PAD's verdict on an attempt: the mean liveness of its frames against
    /// the PAD threshold. Not run without a PAD policy or without scores.
    pub(crate) fn liveness(&self, scores: &[f32]) -> PadCheck {
        match self.pad {
            Some(policy) if !scores.is_empty() => {
                let n = scores.len();
                let mean = scores.iter().sum::<f32>() / n as f32;
                PadCheck::judge(mean, policy.threshold(), n)
            }
            _ => PadCheck::NotRun,
        }
    }

    /// How `usable` frames' templates are compared with a card photo of
    /// `kind`: fused (with `fusion` on, at least two frames and a threshold
    /// calibrated for fused probes, no more frames than it was calibrated
    /// for: fusion shortens impostor distances too), else the best single
    /// frame at the single-frame threshold. `None` when the policy has no
    /// threshold for this kind of card photo.
    pub(crate) fn comparison(&self, kind: ReferenceKind, usable: usize, fusion: bool) -> Option<Comparison> {
        match self.face.fused_threshold(kind).filter(|_| fusion && usable >= 2) {
            Some((most, threshold)) => Some(Comparison { frames: most.min(usable), threshold }),
            None => self.face.threshold(kind).map(|threshold| Comparison { frames: 1, threshold }),
        }
    }

    /// The outcome of a comparison: a match when `score` passes `threshold`.
    pub(crate) fn decide(score: Score, threshold: Threshold) -> Outcome {
        let decision = if score.passes(threshold.value) { Decision::Match } else { Decision::NoMatch };
        Outcome {
            decision,
            score: Some(score),
            threshold: Some(threshold),
            method: Method::Automatic,
            timings: StageTimings::default(),
            pad: PadCheck::NotRun,
            authenticity: Authenticity::NotChecked,
        }
    }
}
