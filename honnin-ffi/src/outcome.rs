//! The C view of an outcome, automatic or by staff: what
//! `honnin_engine_verify`, a session's decision and its staff check write.

use honnin::input::ReferenceKind;
use honnin::models::Metric;
use honnin::outcome::Side;
use honnin::{Decision, Method, Outcome, Reason};

use crate::status::Failure;

/// Decision of an outcome.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_decision {
    /// No decision (the step holds none).
    None = 0,
    /// Same person.
    Match = 1,
    /// Not the same person.
    NoMatch = 2,
    /// No decision could be made; `reason` says why.
    Inconclusive = 3,
}

/// Why an outcome is inconclusive. `honnin_reason_code` gives the stable text code.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_reason {
    /// Not inconclusive.
    None = 0,
    /// No face on the card photo.
    NoFaceCard = 1,
    /// No face in the live image.
    NoFaceLive = 2,
    /// Two or more comparable faces on the card photo.
    MultipleFacesCard = 3,
    /// Two or more comparable faces in the live image.
    MultipleFacesLive = 4,
    /// The card photo's face could not be aligned.
    UnalignableCard = 5,
    /// The live face could not be aligned.
    UnalignableLive = 6,
    /// Staff could not tell.
    StaffUnsure = 7,
    /// No threshold is calibrated for colour card photos.
    NotCalibratedColour = 8,
    /// No threshold is calibrated for grey card photos.
    NotCalibratedGrey = 9,
    /// The live image does not look like a live face (presentation attack suspected).
    PresentationAttackSuspected = 10,
    /// The card photo's proof of authenticity failed; it was not compared.
    CardNotAuthentic = 11,
    /// The policy requires a verified card photo and this one was not checked.
    AuthenticityNotChecked = 12,
    /// A reason this version of the C API has no number for.
    Other = 255,
}

/// Bit flags of the verification methods; `honnin_session_offered_methods`
/// returns them OR-ed together.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_method {
    /// No method (a session that has not chosen).
    None = 0,
    /// Automatic face comparison on the device.
    Automatic = 1,
    /// A staff member compared the card with the person; no biometric was computed.
    StaffVisual = 2,
    /// The card checked the person's PIN and signed a fresh challenge; no biometric was computed.
    CardPin = 4,
}

/// How scores read.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_metric {
    /// No score.
    None = 0,
    /// Euclidean distance: lower means more alike; a match is a score at or below the threshold.
    Euclidean = 1,
    /// Cosine similarity: higher means more alike; a match is a score at or above the threshold.
    Cosine = 2,
}

/// The result of a verification, automatic or by staff.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct honnin_outcome {
    /// Match, no match or inconclusive.
    pub decision: honnin_decision,
    /// Why it is inconclusive; `HONNIN_REASON_NONE` otherwise.
    pub reason: honnin_reason,
    /// Automatic or staff visual check.
    pub method: honnin_method,
    /// The score's metric; `HONNIN_METRIC_NONE` when no faces were compared
    /// (then `score` and `threshold` are 0).
    pub metric: honnin_metric,
    /// The comparison score.
    pub score: f32,
    /// The threshold the score was held to.
    pub threshold: f32,
    /// The false-match rate the threshold was calibrated for; 0 when none.
    pub target_fmr: f64,
    /// 1 when the threshold applied was calibrated for grey card photos (chip
    /// photos), 0 when for colour ones or when no threshold was applied.
    pub grey_reference: u32,
}

impl honnin_outcome {
    pub(crate) fn empty() -> Self {
        Self {
            decision: honnin_decision::None,
            reason: honnin_reason::None,
            method: honnin_method::None,
            metric: honnin_metric::None,
            score: 0.0,
            threshold: 0.0,
            target_fmr: 0.0,
            grey_reference: 0,
        }
    }
}

impl From<&Outcome> for honnin_outcome {
    fn from(o: &Outcome) -> Self {
        let (decision, reason) = match o.decision {
            Decision::Match => (honnin_decision::Match, honnin_reason::None),
            Decision::NoMatch => (honnin_decision::NoMatch, honnin_reason::None),
            Decision::Inconclusive(r) => (honnin_decision::Inconclusive, reason(r)),
        };
        let (metric, score) = match o.score {
            Some(s) => (
                match s.metric {
                    Metric::Euclidean => honnin_metric::Euclidean,
                    Metric::Cosine => honnin_metric::Cosine,
                },
                s.value,
            ),
            None => (honnin_metric::None, 0.0),
        };
        Self {
            decision,
            reason,
            method: method(o.method),
            metric,
            score,
            threshold: o.threshold.map_or(0.0, |t| t.value),
            target_fmr: o.threshold.and_then(|t| t.target_fmr).unwrap_or(0.0),
            grey_reference: u32::from(o.threshold.is_some_and(|t| t.reference == ReferenceKind::Grey)),
        }
    }
}

pub(crate) fn method(m: Method) -> honnin_method {
    match m {
        Method::Automatic => honnin_method::Automatic,
        Method::StaffVisual => honnin_method::StaffVisual,
        Method::CardPin => honnin_method::CardPin,
    }
}

/// The method a `HONNIN_METHOD_*` value names (not `HONNIN_METHOD_NONE`).
pub(crate) fn parse_method(m: u32) -> Result<Method, Failure> {
    match m {
        1 => Ok(Method::Automatic),
        2 => Ok(Method::StaffVisual),
        4 => Ok(Method::CardPin),
        _ => Err(Failure::invalid(format!(
            "a method of 1 (HONNIN_METHOD_AUTOMATIC), 2 (HONNIN_METHOD_STAFF_VISUAL) or 4 (HONNIN_METHOD_CARD_PIN), got {m}"
        ))),
    }
}

fn reason(r: Reason) -> honnin_reason {
    use honnin_reason as R;
    match r {
        Reason::NoFace(Side::Card) => R::NoFaceCard,
        Reason::NoFace(Side::Live) => R::NoFaceLive,
        Reason::MultipleFaces(Side::Card) => R::MultipleFacesCard,
        Reason::MultipleFaces(Side::Live) => R::MultipleFacesLive,
        Reason::Unalignable(Side::Card) => R::UnalignableCard,
        Reason::Unalignable(Side::Live) => R::UnalignableLive,
        Reason::StaffUnsure => R::StaffUnsure,
        Reason::NotCalibrated(ReferenceKind::Colour) => R::NotCalibratedColour,
        Reason::NotCalibrated(ReferenceKind::Grey) => R::NotCalibratedGrey,
        Reason::PresentationAttackSuspected => R::PresentationAttackSuspected,
        Reason::CardNotAuthentic(_) => R::CardNotAuthentic,
        Reason::AuthenticityNotChecked => R::AuthenticityNotChecked,
        _ => R::Other,
    }
}

/// The stable text code of a reason number (`no_face_live`, ...), as audit
/// records write it.
pub(crate) fn reason_code(r: u32) -> &'static std::ffi::CStr {
    match r {
        0 => c"none",
        1 => c"no_face_card",
        2 => c"no_face_live",
        3 => c"multiple_faces_card",
        4 => c"multiple_faces_live",
        5 => c"unalignable_card",
        6 => c"unalignable_live",
        7 => c"staff_unsure",
        8 => c"not_calibrated_colour",
        9 => c"not_calibrated_grey",
        10 => c"presentation_attack_suspected",
        11 => c"card_not_authentic",
        12 => c"authenticity_not_checked",
        _ => c"other",
    }
}
