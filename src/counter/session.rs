//! Counter sessions: one person at the counter, from card to decision.
//!
//! A [`Counter`] is the terminal: it holds the engine (or none) and the
//! configuration, and nothing about any person. Each person gets a fresh
//! [`Session`] built from their card photo; it starts in the same state every
//! time ([`SessionState::ChoosingMethod`]), so no method or mode carries over
//! from the person before.
//!
//! ```text
//! card ─▶ ChoosingMethod ─choose(Automatic)─▶ FaceCheck ─feed frames─▶ Decided
//!                │                               │  K non-matches, inconclusive
//!                │                               │  limit, camera or model fault
//!                │                               ▼
//!                └──────choose(StaffVisual)───▶ StaffCheck ─staff_decide─▶ Decided
//! ```
//!
//! The face path reads frames, gates each one ([`QualityGate`]), embeds the
//! usable ones, fuses up to [`SessionConfig::frames_per_attempt`] of them
//! ([`Template::fuse`]) and compares the result with the card once per
//! attempt. The staff path computes no biometric at all: it prepares the card
//! photo for display ([`DisplayPhoto`], wiped on drop) and records what staff
//! saw. Both end in the same [`Outcome`] type.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::counter::source::FrameSource;
use crate::counter::staff::{staff_visual_check, StaffJudgement};
use crate::decision::outcome::{Decision, Method, Outcome, PadCheck};
use crate::engine::{CardReference, Engine};
use crate::error::{Error, Result};
use crate::input::decode::{CardPhoto, LiveFrame, Pixels, ReferenceKind};
use crate::pipeline::quality::{FrameQuality, Guidance, QualityGate, QualityIssue};
use crate::pipeline::template::Template;
use crate::privacy::secret::Secret;
#[cfg(feature = "reader")]
use crate::{
    counter::card_session::{CardLink, PinClosed},
    reader::{PinCheck, PinEntry, ReadSummary, Tries, VerificationNumberB},
};

/// How a counter runs its sessions. The defaults and why they were chosen are
/// in `docs/counter-sessions.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// The method the terminal proposes first (default: the face check). The
    /// person always chooses; this only orders the offer.
    pub default_method: Method,
    /// Usable frames fused into one comparison (default 3).
    pub frames_per_attempt: usize,
    /// Most frames read in one attempt, usable or not (default 50).
    pub max_frames_per_attempt: usize,
    /// Longest one attempt may take (default 10 s). When it runs out, the
    /// attempt decides on the usable frames it has, or is inconclusive.
    pub attempt_time: Duration,
    /// Non-matching attempts that close the face path (default 2). A match
    /// ends the session, so these are consecutive, bar attempts without a
    /// usable frame between them.
    pub max_non_matches: u32,
    /// Attempts without a usable frame that close the face path (default 3).
    pub max_inconclusive: u32,
    /// Fuse the usable frames of an attempt (default on) when the policy has
    /// a fused-probe threshold for the card's kind
    /// ([`Policy::fused_threshold`](crate::Policy::fused_threshold)); off, or
    /// without one, the best single frame is compared.
    pub fusion: bool,
    /// The quality gate's thresholds.
    pub quality: QualityGate,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            default_method: Method::Automatic,
            frames_per_attempt: 3,
            max_frames_per_attempt: 50,
            attempt_time: Duration::from_secs(10),
            max_non_matches: 2,
            max_inconclusive: 3,
            fusion: true,
            quality: QualityGate::default(),
        }
    }
}

impl SessionConfig {
    fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::InvalidArgument { reason: format!("a session configuration with {what}") });
        if self.frames_per_attempt == 0 || self.max_frames_per_attempt < self.frames_per_attempt {
            return bad("1 <= frames_per_attempt <= max_frames_per_attempt");
        }
        if self.max_non_matches == 0 || self.max_inconclusive == 0 {
            return bad("max_non_matches and max_inconclusive of at least 1");
        }
        if self.attempt_time.is_zero() {
            return bad("a non-zero attempt_time");
        }
        let q = &self.quality;
        let limits =
            [q.min_inter_eye_px, q.max_yaw_deg, q.max_roll_deg, q.min_sharpness, q.min_brightness, q.max_brightness];
        if !limits.iter().all(|v| v.is_finite() && *v >= 0.0) || q.min_brightness >= q.max_brightness {
            return bad("quality limits finite, not negative, and min_brightness below max_brightness");
        }
        Ok(())
    }
}

/// The terminal: an engine (or none) and a configuration, shared by every
/// session and holding nothing about any person.
///
/// Each person gets a fresh [`Session`], which starts in
/// [`SessionState::ChoosingMethod`] whatever the person before chose:
///
/// ```text
/// card ─▶ ChoosingMethod ─choose(Automatic)─▶ FaceCheck ─feed frames─▶ Decided
///              │   ▲                              │
///              │   └── StaffOffered: K non-matches, no usable frame,
///              │       camera or model fault (face check no longer offered)
///              └──────choose(StaffVisual)───▶ StaffCheck ─staff_decide─▶ Decided
/// ```
///
/// ```no_run
/// use honnin::CardPhoto;
/// use honnin::counter::{Counter, FolderSource, SessionConfig, Step};
/// # fn main() -> Result<(), honnin::Error> {
/// # let engine: honnin::Engine = unimplemented!();
/// let counter = Counter::new(engine, SessionConfig::default())?; // or an Arc<Engine>
/// let mut session = counter.session(CardPhoto::open("card.bin")?);
/// // The person chose the face check (the terminal asks; see `offered_methods`).
/// let step = session.run_face(&mut FolderSource::open("frames")?, |step| {
///     if let Step::Continue(feedback) = step {
///         if let Some(guidance) = feedback.guidance() {
///             println!("{}", guidance.message()); // "Please move closer." ...
///         }
///     }
/// })?;
/// match step {
///     Step::Decided(outcome) => println!("{:?}", outcome.decision),
///     Step::StaffOffered(why) => println!("staff check offered: {}", why.code()),
///     _ => unreachable!("run_face ends with a decision or the staff offer"),
/// }
/// # Ok(()) }
/// ```
///
/// A counter owns a shared handle to its engine, and each session one to the
/// counter's engine and configuration: neither borrows, so a session can
/// outlive the scope that made it (a C caller frees them in any order).
#[derive(Debug, Clone)]
pub struct Counter {
    engine: Option<Arc<Engine>>,
    config: Arc<SessionConfig>,
}

impl Counter {
    /// A counter that offers both methods. Takes the engine, or an
    /// [`Arc`] of it to share it with other counters or threads.
    pub fn new(engine: impl Into<Arc<Engine>>, config: SessionConfig) -> Result<Self> {
        config.check()?;
        Ok(Self { engine: Some(engine.into()), config: Arc::new(config) })
    }

    /// A counter with no models at all: it offers the staff visual check only
    /// (a terminal whose models are missing or failed their integrity check
    /// still serves people).
    pub fn without_models(config: SessionConfig) -> Result<Self> {
        config.check()?;
        Ok(Self { engine: None, config: Arc::new(config) })
    }

    /// Starts a session for the person presenting `card`, from the initial state.
    #[must_use = "a session does nothing until the person chooses a method"]
    pub fn session(&self, card: CardPhoto) -> Session {
        let mut session = self.session_without_photo(card.kind());
        session.authenticity = card.authenticity();
        session.card = Some(card);
        session
    }

    /// A session in its initial state holding no card photo yet (expected of `kind`).
    pub(super) fn session_without_photo(&self, kind: ReferenceKind) -> Session {
        Session {
            engine: self.engine.clone(),
            config: Arc::clone(&self.config),
            card_kind: kind,
            authenticity: crate::authenticity::Authenticity::NotChecked,
            card: None,
            #[cfg(feature = "reader")]
            link: None,
            #[cfg(feature = "reader")]
            pin_closed: None,
            state: SessionState::ChoosingMethod,
            chosen: None,
            choices: Vec::new(),
            reference: None,
            attempt: Attempt::default(),
            attempts: Vec::new(),
            non_matches: 0,
            inconclusive: 0,
            issues: IssueCounts::default(),
            card_time: Duration::ZERO,
            face_closed: None,
            outcome: None,
        }
    }

    /// The engine, if the counter has models.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_deref()
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Waiting for the person's choice of method.
    ChoosingMethod,
    /// Reading frames for the face check.
    FaceCheck,
    /// Waiting for staff to compare the card photo with the person.
    StaffCheck,
    /// Waiting for the person's PIN, which the card in the reader checks
    /// (feature `reader`).
    PinCheck,
    /// Decided; [`Session::outcome`] holds the result.
    Decided,
}

/// Why the face path closed and the staff check is offered instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fallback {
    /// This many attempts did not match (a match ends the session, so
    /// they are consecutive, bar attempts without a usable frame between them).
    NonMatches(u32),
    /// This many attempts found no usable frame; the problem seen most often
    /// over all of them.
    NoUsableFrame(u32, QualityIssue),
    /// The frame source failed (device missing, read error, timeout, bad frame).
    CameraFault(String),
    /// The frame source ended with no usable frame in the attempt under way.
    SourceEnded,
    /// The card photo gives no reference to compare with (no face found on
    /// it, or no threshold calibrated for its kind).
    CardUnusable(crate::Reason),
    /// A model failed to run.
    EngineFault(String),
    /// Presentation-attack detection judged the attempt's frames (their
    /// liveness fused) not to show a live face. The terminal offers the staff
    /// check without accusing the person.
    PresentationAttackSuspected,
}

impl std::fmt::Display for Fallback {
    /// Why the face path closed, in words a counter can show the person:
    /// neutral, accusing no one (the audit record says what PAD found).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fallback::NonMatches(n) => write!(f, "{n} attempts did not match"),
            Fallback::NoUsableFrame(n, issue) => write!(f, "{n} attempts without a usable picture ({})", issue.code()),
            Fallback::CameraFault(why) => write!(f, "camera fault ({why})"),
            Fallback::SourceEnded => write!(f, "the camera stopped"),
            Fallback::CardUnusable(reason) => write!(f, "the card photo cannot be compared ({})", reason.code()),
            Fallback::EngineFault(why) => write!(f, "model fault ({why})"),
            Fallback::PresentationAttackSuspected => {
                write!(f, "the camera picture could not be confirmed as taken live")
            }
        }
    }
}

impl Fallback {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Fallback::NonMatches(_) => "non_matches",
            Fallback::NoUsableFrame(..) => "no_usable_frame",
            Fallback::CameraFault(_) => "camera_fault",
            Fallback::SourceEnded => "source_ended",
            Fallback::CardUnusable(_) => "card_unusable",
            Fallback::EngineFault(_) => "engine_fault",
            Fallback::PresentationAttackSuspected => "presentation_attack_suspected",
        }
    }
}

/// What happened to one frame, and what to tell the person.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FrameFeedback {
    /// The gate's verdict.
    pub quality: FrameQuality,
    /// Usable frames collected so far in this attempt.
    pub collected: usize,
    /// Usable frames the attempt wants.
    pub wanted: usize,
}

impl FrameFeedback {
    /// What to tell the person, if anything.
    pub fn guidance(&self) -> Option<Guidance> {
        self.quality.guidance()
    }
}

/// The result of one face-check attempt.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AttemptRecord {
    /// Match or no match; `None` when no frame was usable.
    pub decision: Option<Decision>,
    /// Frames read.
    pub frames: usize,
    /// Usable frames compared: fused when more than one, the best single
    /// frame when the policy has no fused-probe threshold for the card's kind.
    pub used: usize,
    /// How often each quality issue was seen, in [`QualityIssue::ALL`] order.
    pub issues: Vec<(QualityIssue, usize)>,
    /// Presentation-attack detection over the attempt's usable frames
    /// ([`PadCheck::NotRun`] without a PAD policy or without a usable frame).
    /// A suspected attack ends the attempt uncompared, with
    /// [`Reason::PresentationAttackSuspected`](crate::Reason::PresentationAttackSuspected).
    pub pad: PadCheck,
}

/// What feeding a frame led to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Step {
    /// The attempt goes on: show the guidance, send the next frame.
    Continue(FrameFeedback),
    /// An attempt ended without a decision to keep (a non-match or no usable
    /// frame) and a new one has started; the face path stays open.
    Retry(AttemptRecord),
    /// The session is decided.
    Decided(Outcome),
    /// The face path is closed; offer the staff visual check.
    StaffOffered(Fallback),
    /// The card refused the PIN; one try was spent and none is retried. The
    /// session is back to choosing: the face and staff checks are offered,
    /// and the PIN again only if enough tries are left.
    #[cfg(feature = "reader")]
    PinRejected {
        /// The tries the card reports left.
        tries_left: u8,
        /// Whether the PIN is still offered.
        pin_still_offered: bool,
    },
    /// The PIN path is closed (too few tries, blocked, or a card that did not
    /// prove itself); the session is back to choosing another method.
    #[cfg(feature = "reader")]
    PinUnavailable(super::card_session::PinClosed),
}

/// Quality issues seen, counted per kind in [`QualityIssue::ALL`] order.
type IssueCounts = [usize; QualityIssue::ALL.len()];

#[derive(Default)]
struct Attempt {
    started: Option<Instant>,
    frames: usize,
    templates: Vec<(Template, f32)>,
    /// Liveness scores of the usable frames (with a PAD policy).
    liveness: Vec<f32>,
    issues: IssueCounts,
    /// Time spent detecting, gating and embedding this attempt's frames.
    live_time: Duration,
}

fn issue_counts(issues: &IssueCounts) -> Vec<(QualityIssue, usize)> {
    QualityIssue::ALL.iter().copied().zip(*issues).filter(|&(_, n)| n > 0).collect()
}

/// The issue seen most often (the first in [`QualityIssue::ALL`] order on a tie).
fn commonest_issue(issues: &IssueCounts) -> QualityIssue {
    let mut best = (QualityIssue::NoFace, 0);
    for (issue, n) in QualityIssue::ALL.iter().copied().zip(*issues) {
        if n > best.1 {
            best = (issue, n);
        }
    }
    best.0
}

/// One person's verification at the counter, from [`Counter::session`]; its
/// states are drawn on [`Counter`].
///
/// Dropping the session wipes the card photo, the card's template and any
/// frame template it still holds.
pub struct Session {
    engine: Option<Arc<Engine>>,
    config: Arc<SessionConfig>,
    pub(super) card: Option<CardPhoto>,
    /// The card in a reader, for a session started from one.
    #[cfg(feature = "reader")]
    pub(super) link: Option<super::card_session::CardLink>,
    /// Why the PIN path closed, if it did.
    #[cfg(feature = "reader")]
    pub(super) pin_closed: Option<super::card_session::PinClosed>,
    /// The card photo's kind, kept for the audit record after the card is dropped.
    card_kind: ReferenceKind,
    /// The card photo's authenticity, kept likewise.
    authenticity: crate::authenticity::Authenticity,
    pub(super) state: SessionState,
    chosen: Option<Method>,
    /// Every choice of method, in order.
    choices: Vec<Method>,
    reference: Option<CardReference>,
    attempt: Attempt,
    attempts: Vec<AttemptRecord>,
    non_matches: u32,
    inconclusive: u32,
    /// Quality issues over every attempt.
    issues: IssueCounts,
    /// Time the card's template took, for the outcome's timings.
    card_time: Duration,
    face_closed: Option<Fallback>,
    outcome: Option<Outcome>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .field("chosen", &self.chosen)
            .field("attempts", &self.attempts.len())
            .field("face_closed", &self.face_closed)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Where the session stands.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The methods the person may choose now (none once decided): the staff
    /// visual check always; the face check when the counter has models, the
    /// policy has a threshold for the card photo's kind and the face path is
    /// open; the card's PIN for a session started from a card reader while
    /// the card has enough PIN tries left. The configured default comes first.
    pub fn offered_methods(&self) -> Vec<Method> {
        if self.state == SessionState::Decided {
            return Vec::new();
        }
        let mut methods = Vec::new();
        // The photo's kind once read; a card in a reader holds a grey chip photo.
        let kind = match &self.card {
            Some(card) => Some(card.kind()),
            None if self.photo_readable() => Some(ReferenceKind::Grey),
            None => None,
        };
        let calibrated = match (&self.engine, kind) {
            (Some(engine), Some(kind)) => engine.policy().threshold(kind).is_some(),
            _ => false,
        };
        if calibrated && self.face_closed.is_none() {
            methods.push(Method::Automatic);
        }
        if self.pin_available() {
            methods.push(Method::CardPin);
        }
        methods.push(Method::StaffVisual);
        let first = self.config.default_method;
        methods.sort_by_key(|m| *m != first);
        methods
    }

    /// The method the terminal proposes first: the configured default when
    /// it is offered, else the staff check; `None` once decided. A proposal,
    /// never a choice.
    pub fn proposed_method(&self) -> Option<Method> {
        self.offered_methods().first().copied()
    }

    /// The method the person chose last, if any.
    pub fn chosen_method(&self) -> Option<Method> {
        self.chosen
    }

    /// Every method the person chose, in order (the face check, then the
    /// staff check after a fallback, ...): the path to the decision.
    pub fn choices(&self) -> &[Method] {
        &self.choices
    }

    /// The engine the face check runs on; `None` on a counter without models.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_deref()
    }

    /// Whether the session holds the card photo (a session from a card
    /// reader holds none until it is read).
    pub fn has_card_photo(&self) -> bool {
        self.card.is_some()
    }

    /// The card photo's authenticity, also after the decision has wiped the
    /// photo ([`Authenticity::NotChecked`](crate::authenticity::Authenticity::NotChecked)
    /// while a session from a reader has not read it).
    pub fn card_authenticity(&self) -> crate::authenticity::Authenticity {
        self.authenticity
    }

    /// The kind of the card photo (which chose the threshold).
    pub fn card_kind(&self) -> ReferenceKind {
        self.card_kind
    }

    /// Why the face path closed, if it did.
    pub fn fallback(&self) -> Option<&Fallback> {
        self.face_closed.as_ref()
    }

    /// The attempts of the face path so far.
    pub fn attempts(&self) -> &[AttemptRecord] {
        &self.attempts
    }

    /// The decision, once made.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Records the person's choice. The face check can be chosen while it is
    /// offered; the staff check at any time before the decision (a person
    /// may give up on the camera midway).
    pub fn choose(&mut self, method: Method) -> Result<()> {
        if self.state == SessionState::Decided {
            return Err(misuse("a session not yet decided"));
        }
        if !self.offered_methods().contains(&method) {
            return Err(Error::InvalidArgument { reason: "a method the session offers (see offered_methods)".into() });
        }
        if method == Method::Automatic && self.card.is_none() {
            return Err(misuse("a session holding the card photo (read it from the card first)"));
        }
        self.chosen = Some(method);
        self.choices.push(method);
        self.state = match method {
            Method::Automatic => SessionState::FaceCheck,
            Method::StaffVisual => {
                // Leaving the face path drops whatever it collected, the
                // card's template included (recomputed if the person comes back).
                self.attempt = Attempt::default();
                self.reference = None;
                SessionState::StaffCheck
            }
            Method::CardPin => {
                self.attempt = Attempt::default();
                self.reference = None;
                SessionState::PinCheck
            }
        };
        Ok(())
    }

    /// The card photo prepared for staff to look at: scaled to fit within
    /// `max_width` x `max_height` (never enlarged), grey or RGB as decoded.
    /// Only in [`SessionState::StaffCheck`]. No model runs.
    pub fn card_for_display(&self, max_width: u32, max_height: u32) -> Result<DisplayPhoto> {
        if self.state != SessionState::StaffCheck {
            return Err(misuse("a session in the staff check"));
        }
        let card = self.card.as_ref().ok_or_else(|| misuse("a session that still holds its card"))?;
        DisplayPhoto::fit(&card.pixels, max_width, max_height, card.kind() == crate::input::ReferenceKind::Grey)
    }

    /// Records what staff concluded; the session is decided with
    /// [`Method::StaffVisual`]. Only in [`SessionState::StaffCheck`].
    pub fn staff_decide(&mut self, judgement: StaffJudgement) -> Result<Outcome> {
        if self.state != SessionState::StaffCheck {
            return Err(misuse("a session in the staff check"));
        }
        let mut outcome = staff_visual_check(judgement);
        outcome.authenticity = self.authenticity;
        Ok(self.decide(outcome))
    }

    /// Feeds one live frame to the face check. Only in [`SessionState::FaceCheck`].
    ///
    /// A model failure does not fail the call: it closes the face path
    /// ([`Step::StaffOffered`] with [`Fallback::EngineFault`]), so the person
    /// is never left without a way through.
    pub fn feed(&mut self, frame: LiveFrame) -> Result<Step> {
        let engine = self.face_engine()?;
        if let Some(step) = self.ensure_reference(&engine) {
            return Ok(step);
        }
        let started = *self.attempt.started.get_or_insert_with(Instant::now);
        self.attempt.frames += 1;
        let frame_started = Instant::now();
        let acquired = engine.acquire_frame(&frame, &self.config.quality).and_then(|acquired| {
            let quality = acquired.quality.unwrap_or_else(|| FrameQuality::without_face(QualityIssue::NoFace));
            Ok((quality, acquired.template?.map(|template| (template, acquired.liveness))))
        });
        let (quality, template) = match acquired {
            Ok(result) => result,
            Err(e) => return Ok(self.close_face(Fallback::EngineFault(e.to_string()))),
        };
        self.attempt.live_time += frame_started.elapsed();
        drop(frame);
        for issue in &quality.issues {
            if let Some(i) = QualityIssue::ALL.iter().position(|x| x == issue) {
                self.attempt.issues[i] += 1;
                self.issues[i] += 1;
            }
        }
        if let Some((t, liveness)) = template {
            self.attempt.templates.push((t, quality.weight));
            self.attempt.liveness.extend(liveness);
        }
        let collected = self.attempt.templates.len();
        let full = collected >= self.config.frames_per_attempt;
        let out_of_frames = self.attempt.frames >= self.config.max_frames_per_attempt;
        let out_of_time = started.elapsed() >= self.config.attempt_time;
        if full || out_of_frames || out_of_time {
            return Ok(self.end_attempt(&engine));
        }
        Ok(Step::Continue(FrameFeedback { quality, collected, wanted: self.config.frames_per_attempt }))
    }

    /// Reports that the frame source ended (`None`) or failed. When it ended
    /// and the attempt holds usable frames, the attempt decides on them (a
    /// match decides the session); otherwise, and on any fault, the face path
    /// closes (a fault drops the attempt's frames undecided: the camera may
    /// have failed midway through a change of person).
    pub fn source_stopped(&mut self, fault: Option<&Error>) -> Result<Step> {
        let engine = self.face_engine()?;
        if fault.is_none() && !self.attempt.templates.is_empty() {
            if let Some(step) = self.ensure_reference(&engine) {
                return Ok(step);
            }
            match self.end_attempt(&engine) {
                Step::Retry(_) => {}
                step => return Ok(step),
            }
        }
        Ok(self.close_face(match fault {
            Some(e) => Fallback::CameraFault(e.to_string()),
            None => Fallback::SourceEnded,
        }))
    }

    /// Runs the face check on `source` until it decides or offers the staff
    /// check, calling `on_step` for every step (guidance to show). Chooses
    /// the face check first if the session is still choosing.
    pub fn run_face(&mut self, source: &mut dyn FrameSource, mut on_step: impl FnMut(&Step)) -> Result<Step> {
        if self.state == SessionState::ChoosingMethod {
            self.choose(Method::Automatic)?;
        }
        loop {
            let step = match source.next_frame() {
                Ok(Some(frame)) => self.feed(frame)?,
                Ok(None) => self.source_stopped(None)?,
                Err(e) => self.source_stopped(Some(&e))?,
            };
            on_step(&step);
            if matches!(step, Step::Decided(_) | Step::StaffOffered(_)) {
                return Ok(step);
            }
        }
    }

    /// Ends the session: its outcome (`None` if undecided, as when the person
    /// walks away). Everything it held is wiped as it drops.
    #[must_use]
    pub fn finish(self) -> Option<Outcome> {
        self.outcome
    }

    /// Takes a card photo read during the session (from the card in a reader).
    #[cfg(feature = "reader")]
    pub(super) fn set_photo(&mut self, card: CardPhoto) {
        self.card_kind = card.kind();
        self.authenticity = card.authenticity();
        self.reference = None;
        self.card = Some(card);
    }

    /// Whether the session holds a card in a reader (feature `reader`).
    pub fn has_reader(&self) -> bool {
        #[cfg(feature = "reader")]
        return self.link.is_some();
        #[cfg(not(feature = "reader"))]
        false
    }

    /// Whether a session from a reader can still read the chip photo (enough
    /// tries of 照合番号B left for the policy).
    fn photo_readable(&self) -> bool {
        #[cfg(feature = "reader")]
        return self.link.as_ref().is_some_and(CardLink::number_b_open);
        #[cfg(not(feature = "reader"))]
        false
    }

    fn pin_available(&self) -> bool {
        #[cfg(feature = "reader")]
        return self.pin_offered();
        #[cfg(not(feature = "reader"))]
        false
    }

    fn face_engine(&self) -> Result<Arc<Engine>> {
        match (self.state, &self.engine) {
            (SessionState::FaceCheck, Some(engine)) => Ok(Arc::clone(engine)),
            _ => Err(misuse("a session in the face check")),
        }
    }

    /// Computes the card's reference on the first frame; a step closing the
    /// face path when the card gives none.
    fn ensure_reference(&mut self, engine: &Engine) -> Option<Step> {
        if self.reference.is_none() {
            let card = self.card.as_ref()?;
            let started = Instant::now();
            match engine.card_reference(card) {
                Ok(r) => {
                    self.reference = Some(r);
                    self.card_time = started.elapsed();
                }
                Err(e) => return Some(self.close_face(Fallback::EngineFault(e.to_string()))),
            }
        }
        let reason = self.reference.as_ref().and_then(CardReference::unusable)?;
        Some(self.close_face(Fallback::CardUnusable(reason)))
    }

    /// Compares the attempt's usable frames (fused) with the card.
    fn end_attempt(&mut self, engine: &Engine) -> Step {
        let attempt = std::mem::take(&mut self.attempt);
        let mut record = AttemptRecord {
            decision: None,
            frames: attempt.frames,
            used: 0,
            issues: issue_counts(&attempt.issues),
            pad: PadCheck::NotRun,
        };
        if attempt.templates.is_empty() {
            self.inconclusive += 1;
            self.attempts.push(record.clone());
            if self.inconclusive >= self.config.max_inconclusive {
                return self.close_face(Fallback::NoUsableFrame(self.inconclusive, commonest_issue(&self.issues)));
            }
            return Step::Retry(record);
        }
        let Some(reference) = self.reference.as_ref() else {
            return self.close_face(Fallback::EngineFault("card reference missing".into()));
        };
        // Liveness first, fused over the attempt's usable frames: a suspected
        // attack is not compared with the card.
        let rules = engine.rules();
        let pad = rules.liveness(&attempt.liveness);
        record.pad = pad;
        if matches!(pad, PadCheck::AttackSuspected { .. }) {
            record.decision = Some(Decision::Inconclusive(crate::Reason::PresentationAttackSuspected));
            self.attempts.push(record);
            return self.close_face(Fallback::PresentationAttackSuspected);
        }
        let live_time = attempt.live_time;
        let mut templates = attempt.templates;
        templates.sort_by(|a, b| b.1.total_cmp(&a.1));
        let comparison = rules.comparison(reference.kind(), templates.len(), self.config.fusion);
        let (compared, used) = match comparison {
            Some(c) if c.frames >= 2 => {
                let parts: Vec<(&Template, f32)> = templates.iter().take(c.frames).map(|(t, w)| (t, *w)).collect();
                let result = Template::fuse(&parts).and_then(|t| engine.compare_with(reference, &t, comparison));
                (result, parts.len())
            }
            _ => (engine.compare_with(reference, &templates[0].0, comparison), 1),
        };
        record.used = used;
        drop(templates);
        let outcome = match compared {
            Ok(mut outcome) => {
                outcome.timings.card_template = self.card_time;
                outcome.timings.live_template = live_time;
                outcome.pad = pad;
                outcome
            }
            Err(e) => return self.close_face(Fallback::EngineFault(e.to_string())),
        };
        record.decision = Some(outcome.decision);
        self.attempts.push(record.clone());
        match outcome.decision {
            Decision::Match => Step::Decided(self.decide(outcome)),
            Decision::NoMatch => {
                self.non_matches += 1;
                if self.non_matches >= self.config.max_non_matches {
                    self.close_face(Fallback::NonMatches(self.non_matches))
                } else {
                    Step::Retry(record)
                }
            }
            Decision::Inconclusive(reason) => self.close_face(Fallback::CardUnusable(reason)),
        }
    }

    /// Closes the face path: its biometric data is wiped now, and the
    /// session waits for the person to take the staff check.
    fn close_face(&mut self, fallback: Fallback) -> Step {
        self.attempt = Attempt::default();
        self.reference = None;
        self.face_closed = Some(fallback.clone());
        self.state = SessionState::ChoosingMethod;
        Step::StaffOffered(fallback)
    }

    /// Records the decision and wipes everything biometric the session held.
    pub(super) fn decide(&mut self, mut outcome: Outcome) -> Outcome {
        // A card whose proof failed is never a match, whichever path decided.
        if let (Decision::Match, crate::authenticity::Authenticity::Failed { failure, .. }) =
            (outcome.decision, self.authenticity)
        {
            outcome.decision = Decision::Inconclusive(crate::Reason::CardNotAuthentic(failure));
        }
        self.outcome = Some(outcome);
        self.state = SessionState::Decided;
        self.attempt = Attempt::default();
        self.reference = None;
        self.card = None;
        outcome
    }
}

#[cfg(feature = "reader")]
impl Counter {
    /// Starts a session for the card in a reader. No photo is read yet: the
    /// face check needs [`Session::read_card_photo`] (with 照合番号B) first;
    /// the PIN needs none; the staff check can go ahead on the card in hand.
    #[must_use = "a session does nothing until the person chooses a method"]
    pub fn card_session(&self, link: CardLink) -> Session {
        let mut session = self.session_without_photo(ReferenceKind::Grey);
        session.link = Some(link);
        session
    }
}

#[cfg(feature = "reader")]
impl Session {
    /// Reads the face photo from the card with 照合番号B (tries read first,
    /// one VERIFY at most, refused near the limit; see
    /// [`MyNumberCard::read_face`]), checks its signature and challenges the
    /// chip. The photo then serves the face check and the staff's screen.
    /// Errors leave the session as it was (a wrong 照合番号B is
    /// [`ReaderError::WrongNumberB`](crate::error::ReaderError::WrongNumberB)
    /// with the tries left).
    pub fn read_card_photo(&mut self, number_b: &VerificationNumberB) -> Result<ReadSummary> {
        if !matches!(self.state, SessionState::ChoosingMethod | SessionState::StaffCheck) {
            return Err(misuse("a session choosing a method or in the staff check"));
        }
        let link = self.link.as_mut().ok_or_else(|| misuse("a session started from a card reader"))?;
        let read = link.card.read_face(number_b, &link.policy, &link.anchors, &link.limits);
        link.note_number_b(&read);
        let read = read?;
        let summary = *read.summary();
        let photo = read.into_photo();
        if let crate::authenticity::Authenticity::Failed { failure, .. } = photo.authenticity() {
            // Not the issuer's photo: neither compared nor shown to staff
            // (they compare the printed card); the face path closes.
            self.authenticity = photo.authenticity();
            drop(photo);
            self.face_closed = Some(Fallback::CardUnusable(crate::Reason::CardNotAuthentic(failure)));
            return Ok(summary);
        }
        self.set_photo(photo);
        Ok(summary)
    }

    /// The card's PIN as the person enters it (on the terminal, or on the
    /// reader's keypad): the card checks it and signs a fresh challenge.
    /// Only in [`SessionState::PinCheck`]. No biometric is computed and no
    /// model runs.
    ///
    /// A correct PIN decides the session ([`Method::CardPin`]); a wrong one
    /// costs one try and is never retried ([`Step::PinRejected`] with the
    /// tries left, back to choosing); too few tries, a blocked PIN or a card
    /// that does not prove itself close the PIN path ([`Step::PinUnavailable`]).
    pub fn check_pin(&mut self, entry: PinEntry) -> Result<Step> {
        if self.state != SessionState::PinCheck {
            return Err(misuse("a session in the PIN check"));
        }
        let link = self.link.as_mut().ok_or_else(|| misuse("a session started from a card reader"))?;
        let checked = match link.card.check_pin_anchored(entry, &link.policy, &link.anchors) {
            Ok(checked) => checked,
            Err(e) => {
                // Nothing decided (a keypad cancelled, a card fault): back to choosing.
                self.state = SessionState::ChoosingMethod;
                return Err(e);
            }
        };
        let closed = match checked {
            // A policy that requires authenticity requires the PIN's proof to
            // chain to a supplied anchor too (a card of someone's own making
            // can accept any PIN).
            PinCheck::Correct { anchor }
                if anchor != crate::authenticity::Anchor::Chained
                    && self.engine.as_ref().is_some_and(|e| e.policy().requires_authentic()) =>
            {
                PinClosed::CardNotAuthentic(crate::authenticity::Failure::UntrustedSigner)
            }
            PinCheck::Correct { .. } => {
                let outcome = Outcome::card_pin(Decision::Match, self.card_authenticity());
                return Ok(Step::Decided(self.decide(outcome)));
            }
            PinCheck::Wrong { tries_left } => {
                link.pin_tries = Tries::Left(tries_left);
                self.state = SessionState::ChoosingMethod;
                return Ok(Step::PinRejected { tries_left, pin_still_offered: link.pin_open() });
            }
            PinCheck::Refused { tries_left } => {
                link.pin_tries = Tries::Left(tries_left);
                PinClosed::FewTries(tries_left)
            }
            PinCheck::Blocked => {
                link.pin_tries = Tries::Blocked;
                PinClosed::Blocked
            }
            PinCheck::Failed(failure) => PinClosed::CardNotAuthentic(failure),
        };
        self.pin_closed = Some(closed);
        self.state = SessionState::ChoosingMethod;
        Ok(Step::PinUnavailable(closed))
    }

    /// Whether the reader takes the PIN on its own keypad (PC/SC Part 10),
    /// so that the host never sees it: then check with [`PinEntry::Pinpad`].
    pub fn pinpad(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.pinpad)
    }

    /// Back to choosing a method from the PIN check, nothing sent to the card
    /// (the person changed their mind, or typed something that is no PIN).
    pub fn choose_again(&mut self) -> Result<()> {
        if self.state != SessionState::PinCheck {
            return Err(misuse("a session in the PIN check"));
        }
        self.state = SessionState::ChoosingMethod;
        Ok(())
    }

    /// Why the PIN is no longer offered, if it is not.
    pub fn pin_closed(&self) -> Option<PinClosed> {
        self.pin_closed
    }

    /// The card link's PIN tries as last known; `None` without a reader.
    pub fn pin_tries(&self) -> Option<Tries> {
        self.link.as_ref().map(CardLink::pin_tries)
    }

    /// Whether the PIN is offered: a card in a reader with enough tries,
    /// and the PIN path not closed.
    pub(super) fn pin_offered(&self) -> bool {
        self.pin_closed.is_none()
            && !self.authenticity.is_failed()
            && self.link.as_ref().is_some_and(CardLink::pin_open)
    }
}

pub(super) fn misuse(expected: &'static str) -> Error {
    Error::SessionStep { expected }
}

/// A card photo scaled for a screen, for the staff visual check.
///
/// Biometric data for a person's eyes only: no `Clone`, a `Debug` without
/// content, and the pixels are wiped when it drops. Show it, then drop it.
pub struct DisplayPhoto {
    width: u32,
    height: u32,
    grey: bool,
    data: Secret<u8>,
}

impl std::fmt::Debug for DisplayPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DisplayPhoto({}x{}, grey {}, contents hidden)", self.width, self.height, self.grey)
    }
}

impl DisplayPhoto {
    fn fit(pixels: &Pixels, max_width: u32, max_height: u32, grey: bool) -> Result<Self> {
        if max_width == 0 || max_height == 0 {
            return Err(Error::InvalidArgument { reason: "a display area of at least 1x1".into() });
        }
        let (w, h) = (pixels.width(), pixels.height());
        let scale = (max_width as f64 / w as f64).min(max_height as f64 / h as f64).min(1.0);
        let (ow, oh) = (((w as f64 * scale).round() as u32).max(1), ((h as f64 * scale).round() as u32).max(1));
        let channels = if grey { 1 } else { 3 };
        let mut data = Secret::<u8>::zeroed(ow as usize * oh as usize * channels);
        // Area average over the source pixels each output pixel covers (in
        // u64: a large photo shrunk to a few pixels sums billions of levels).
        let span = |o: u32, out: u32, full: u32| -> (u32, u32) {
            let a = (u64::from(o) * u64::from(full) / u64::from(out)) as u32;
            let b = (u64::from(o + 1) * u64::from(full) / u64::from(out)) as u32;
            (a, b.max(a + 1).min(full))
        };
        for oy in 0..oh {
            let (ya, yb) = span(oy, oh, h);
            for ox in 0..ow {
                let (xa, xb) = span(ox, ow, w);
                let mut sum = [0u64; 3];
                for y in ya..yb {
                    for x in xa..xb {
                        let p = pixels.rgb(x, y);
                        (0..3).for_each(|c| sum[c] += u64::from(p[c]));
                    }
                }
                let n = u64::from(yb - ya) * u64::from(xb - xa);
                let at = (oy as usize * ow as usize + ox as usize) * channels;
                if grey {
                    data[at] = ((sum[0] + sum[1] + sum[2]) / (3 * n)) as u8;
                } else {
                    (0..3).for_each(|c| data[at + c] = (sum[c] / n) as u8);
                }
            }
        }
        Ok(Self { width: ow, height: oh, grey, data })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// True for one grey byte per pixel, false for RGB.
    pub fn is_grey(&self) -> bool {
        self.grey
    }

    /// The pixels, row-major: one byte per pixel when grey, else RGB. For
    /// drawing on the staff's screen only.
    pub fn pixels(&self) -> &[u8] {
        &self.data
    }
}
