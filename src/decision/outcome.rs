//! What a verification ends in, whatever the method: the outcome, its
//! decision and, when inconclusive, the reason.

use serde::Serialize;

use crate::card::authenticity::{Authenticity, Failure};
use crate::input::decode::ReferenceKind;
use crate::pipeline::template::Score;

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
    /// The card's proof of authenticity failed (a changed photo, a bad
    /// signature, a copy that cannot answer the chip's challenge): the photo
    /// is not compared. Offer the staff check with the physical card.
    CardNotAuthentic(Failure),
    /// The policy requires a card photo verified to a trust anchor (and, for a
    /// My Number card, a chip that answered a challenge), and this one was not:
    /// a plain image, chip data without its security data, a signer chained to
    /// no anchor the integrator supplied, or card bytes read from a file.
    AuthenticityNotChecked,
}

impl std::fmt::Display for Reason {
    /// What happened, in words a counter can show staff.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = |s: &Side| match s {
            Side::Card => "card photo",
            Side::Live => "live photo",
        };
        match self {
            Reason::NoFace(s) => write!(f, "no face found in the {}", side(s)),
            Reason::MultipleFaces(s) => write!(f, "several faces of similar size in the {}", side(s)),
            Reason::Unalignable(s) => write!(f, "the face in the {} could not be aligned", side(s)),
            Reason::StaffUnsure => write!(f, "staff could not tell"),
            Reason::PresentationAttackSuspected => write!(
                f,
                "the live image does not look like a live face (presentation attack suspected); offer the staff check"
            ),
            Reason::NotCalibrated(kind) => {
                write!(f, "the calibration has no threshold for {} card photos at this target FMR", kind.word())
            }
            Reason::CardNotAuthentic(failure) => write!(f, "card photo not authentic: {failure}"),
            Reason::AuthenticityNotChecked => {
                write!(f, "the policy requires a card photo verified to a trusted authority and this one was not")
            }
        }
    }
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
            Reason::CardNotAuthentic(_) => "card_not_authentic",
            Reason::AuthenticityNotChecked => "authenticity_not_checked",
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
    /// The person entered their card's PIN (the JPKI user-authentication
    /// PIN), the card checked it and signed a fresh challenge; no biometric
    /// was computed and no model ran.
    CardPin,
}

impl Method {
    /// `automatic`, `staff_visual` or `card_pin`, as the CLI prints it and audit records hold it.
    pub fn code(&self) -> &'static str {
        match self {
            Method::Automatic => "automatic",
            Method::StaffVisual => "staff_visual",
            Method::CardPin => "card_pin",
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
    /// Whether the card photo is the one its issuer wrote (checked from the
    /// chip's security data; not part of equality, like `pad`).
    pub authenticity: Authenticity,
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
            authenticity: Authenticity::NotChecked,
        }
    }

    /// The outcome of the card's PIN: decided by the card, no biometric.
    #[allow(dead_code)]
    pub(crate) fn card_pin(decision: Decision, authenticity: Authenticity) -> Self {
        Self { method: Method::CardPin, authenticity, ..Self::staff(decision) }
    }

    pub(crate) fn staff(decision: Decision) -> Self {
        Self {
            decision,
            score: None,
            threshold: None,
            method: Method::StaffVisual,
            timings: StageTimings::default(),
            pad: PadCheck::NotRun,
            authenticity: Authenticity::NotChecked,
        }
    }
}
