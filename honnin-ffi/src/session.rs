//! A counter session behind one C handle, and the C views of its results.

use std::sync::Arc;
use std::time::Duration;

use honnin::{
    CardPhoto, Counter, Decision, Engine, Fallback, Guidance, Method, Metric, Outcome, Reason, ReferenceKind,
    SessionConfig, Side, Step,
};

use crate::status::Failure;

/// One person's session behind a C handle. The session owns shared handles
/// to its engine and configuration, so nothing here borrows.
pub(crate) struct SessionBox {
    session: honnin::Session,
    /// Display photos handed out for this session: invalidated (and wiped)
    /// when it decides or is freed.
    pub(crate) photos: Vec<u64>,
    /// Whether the session's audit record was written (once only).
    pub(crate) audited: bool,
}

/// An audit log and the identifiers every record it takes carries.
pub(crate) struct AuditLogBox {
    pub(crate) log: honnin::AuditLog,
    pub(crate) terminal_id: Option<String>,
    pub(crate) operator_id: Option<String>,
}

impl SessionBox {
    pub(crate) fn open(engine: Option<Arc<Engine>>, config: SessionConfig, card: CardPhoto) -> Result<Self, Failure> {
        let counter = match engine {
            Some(engine) => Counter::new(engine, config)?,
            None => Counter::without_models(config)?,
        };
        Ok(Self { session: counter.session(card), photos: Vec::new(), audited: false })
    }

    pub(crate) fn session(&mut self) -> &mut honnin::Session {
        &mut self.session
    }
}

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
        _ => c"other",
    }
}

/// The stable text code of a guidance number, as `Guidance::code` gives it.
pub(crate) fn guidance_code(g: u32) -> &'static std::ffi::CStr {
    match g {
        0 => c"none",
        1 => c"step_into_view",
        2 => c"one_person_only",
        3 => c"move_closer",
        4 => c"look_at_camera",
        5 => c"hold_still",
        6 => c"more_light",
        7 => c"less_light",
        _ => c"other",
    }
}

/// What feeding a frame led to.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_step_kind {
    /// The attempt goes on: show `guidance`, send the next frame.
    Continue = 0,
    /// An attempt ended without a decision to keep and a new one started.
    Retry = 1,
    /// The session is decided: `outcome` holds the result.
    Decided = 2,
    /// The face path is closed (`fallback` says why): offer the staff check.
    StaffOffered = 3,
}

/// What to tell the person after a frame.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_guidance {
    /// Nothing to say.
    None = 0,
    /// Come in front of the camera.
    StepIntoView = 1,
    /// Only the person being checked should be in view.
    OnePersonOnly = 2,
    /// Come closer.
    MoveCloser = 3,
    /// Face the camera, head upright.
    LookAtCamera = 4,
    /// Hold still.
    HoldStill = 5,
    /// More light needed.
    MoreLight = 6,
    /// Too much light.
    LessLight = 7,
    /// Guidance this version of the C API has no number for.
    Other = 255,
}

/// Why the face path closed.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_fallback {
    /// The face path is open.
    None = 0,
    /// Too many attempts did not match.
    NonMatches = 1,
    /// Too many attempts found no usable frame.
    NoUsableFrame = 2,
    /// The camera failed.
    CameraFault = 3,
    /// The frames ran out.
    SourceEnded = 4,
    /// The card photo gives no reference (no face, or no calibrated threshold).
    CardUnusable = 5,
    /// A model failed to run.
    EngineFault = 6,
    /// Presentation-attack detection suspected an attack.
    PresentationAttackSuspected = 7,
    /// A reason this version of the C API has no number for.
    Other = 255,
}

/// One step of a face check.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct honnin_step {
    /// What happened.
    pub kind: honnin_step_kind,
    /// For `CONTINUE`: what to tell the person.
    pub guidance: honnin_guidance,
    /// For `CONTINUE`: usable frames collected in this attempt, and wanted.
    pub collected: u32,
    /// See `collected`.
    pub wanted: u32,
    /// For `STAFF_OFFERED`: why the face path closed.
    pub fallback: honnin_fallback,
    /// For `DECIDED`: the result.
    pub outcome: honnin_outcome,
}

impl From<&Step> for honnin_step {
    fn from(step: &Step) -> Self {
        let mut out = Self {
            kind: honnin_step_kind::Continue,
            guidance: honnin_guidance::None,
            collected: 0,
            wanted: 0,
            fallback: honnin_fallback::None,
            outcome: honnin_outcome::empty(),
        };
        match step {
            Step::Continue(feedback) => {
                out.guidance = feedback.guidance().map_or(honnin_guidance::None, guidance);
                out.collected = u32::try_from(feedback.collected).unwrap_or(u32::MAX);
                out.wanted = u32::try_from(feedback.wanted).unwrap_or(u32::MAX);
            }
            Step::Retry(_) => out.kind = honnin_step_kind::Retry,
            Step::Decided(outcome) => {
                out.kind = honnin_step_kind::Decided;
                out.outcome = outcome.into();
            }
            Step::StaffOffered(why) => {
                out.kind = honnin_step_kind::StaffOffered;
                out.fallback = fallback(why);
            }
            // A step kind this version does not know: ask for the next frame.
            _ => {}
        }
        out
    }
}

fn guidance(g: Guidance) -> honnin_guidance {
    use honnin_guidance as G;
    match g {
        Guidance::StepIntoView => G::StepIntoView,
        Guidance::OnePersonOnly => G::OnePersonOnly,
        Guidance::MoveCloser => G::MoveCloser,
        Guidance::LookAtCamera => G::LookAtCamera,
        Guidance::HoldStill => G::HoldStill,
        Guidance::MoreLight => G::MoreLight,
        Guidance::LessLight => G::LessLight,
        #[allow(unreachable_patterns)]
        _ => G::Other,
    }
}

fn fallback(f: &Fallback) -> honnin_fallback {
    use honnin_fallback as F;
    match f {
        Fallback::NonMatches(_) => F::NonMatches,
        Fallback::NoUsableFrame(..) => F::NoUsableFrame,
        Fallback::CameraFault(_) => F::CameraFault,
        Fallback::SourceEnded => F::SourceEnded,
        Fallback::CardUnusable(_) => F::CardUnusable,
        Fallback::EngineFault(_) => F::EngineFault,
        Fallback::PresentationAttackSuspected => F::PresentationAttackSuspected,
        _ => F::Other,
    }
}

/// How a counter runs its sessions; `honnin_session_options_default` fills
/// in the defaults (see docs/counter-sessions.md for why they are what they are).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct honnin_session_options {
    /// The method proposed first: `HONNIN_METHOD_AUTOMATIC` or `HONNIN_METHOD_STAFF_VISUAL`.
    pub propose_method: u32,
    /// Usable frames fused into one comparison.
    pub frames_per_attempt: u32,
    /// Most frames read in one attempt, usable or not.
    pub max_frames_per_attempt: u32,
    /// Longest one attempt may take, in milliseconds.
    pub attempt_time_ms: u32,
    /// Non-matching attempts that close the face path.
    pub max_non_matches: u32,
    /// Attempts without a usable frame that close the face path.
    pub max_inconclusive: u32,
    /// Non-zero: fuse an attempt's usable frames (when the calibration allows).
    pub fusion: u32,
}

impl From<&SessionConfig> for honnin_session_options {
    fn from(c: &SessionConfig) -> Self {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Self {
            propose_method: method(c.default_method) as u32,
            frames_per_attempt: n(c.frames_per_attempt),
            max_frames_per_attempt: n(c.max_frames_per_attempt),
            attempt_time_ms: u32::try_from(c.attempt_time.as_millis()).unwrap_or(u32::MAX),
            max_non_matches: c.max_non_matches,
            max_inconclusive: c.max_inconclusive,
            fusion: u32::from(c.fusion),
        }
    }
}

impl honnin_session_options {
    /// The library's configuration, with the values the library itself checks.
    pub(crate) fn config(&self) -> Result<SessionConfig, Failure> {
        Ok(SessionConfig {
            default_method: parse_method(self.propose_method)?,
            frames_per_attempt: self.frames_per_attempt as usize,
            max_frames_per_attempt: self.max_frames_per_attempt as usize,
            attempt_time: Duration::from_millis(u64::from(self.attempt_time_ms)),
            max_non_matches: self.max_non_matches,
            max_inconclusive: self.max_inconclusive,
            fusion: self.fusion != 0,
            ..SessionConfig::default()
        })
    }
}

/// How a session ended without a decision, for its audit record
/// (`honnin_session_audit`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_session_end {
    /// The person or staff ended it.
    Quit = 1,
    /// Nobody answered in time.
    Timeout = 2,
    /// The terminal application was told to stop.
    Signal = 3,
    /// An error ended it.
    Fault = 4,
}

pub(crate) fn parse_end(end: u32) -> Result<honnin::Abandoned, Failure> {
    match end {
        1 => Ok(honnin::Abandoned::Quit),
        2 => Ok(honnin::Abandoned::Timeout),
        3 => Ok(honnin::Abandoned::Signal),
        4 => Ok(honnin::Abandoned::Fault),
        _ => Err(Failure::invalid(format!("a session end from 1 to 4 (HONNIN_SESSION_END_*), got {end}"))),
    }
}

pub(crate) fn parse_method(m: u32) -> Result<Method, Failure> {
    match m {
        1 => Ok(Method::Automatic),
        2 => Ok(Method::StaffVisual),
        _ => Err(Failure::invalid(format!(
            "a method of 1 (HONNIN_METHOD_AUTOMATIC) or 2 (HONNIN_METHOD_STAFF_VISUAL), got {m}"
        ))),
    }
}
