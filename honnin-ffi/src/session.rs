//! A session: one person's verification at the counter behind one C
//! handle, its functions, and the C views of its steps and options.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use honnin::counter::{Counter, Fallback, SessionConfig, StaffJudgement, Step};
use honnin::error::CameraError;
use honnin::input::PixelFormat;
use honnin::quality::Guidance;
use honnin::{CardPhoto, Engine, Error, LiveFrame};

use crate::args::{bytes, check_out};
use crate::engine::honnin_engine;
use crate::handles::{self, id, issue, Object};
use crate::outcome::{honnin_method, honnin_outcome, method, parse_method};
use crate::status::{guard, honnin_status, Failure};

/// One person's verification at the counter. Opaque; a handle, never dereferenced.
pub struct honnin_session {
    _private: [u8; 0],
}

/// One person's session behind a C handle. The session owns shared handles
/// to its engine and configuration, so nothing here borrows.
pub(crate) struct SessionBox {
    session: honnin::counter::Session,
    /// Display photos handed out for this session: invalidated (and wiped)
    /// when it decides or is freed.
    pub(crate) photos: Vec<u64>,
    /// Whether the session's audit record was written (once only).
    pub(crate) audited: bool,
}

/// A session handle's kind, in words.
pub(crate) const SESSION: &str = "a session";

/// The session behind handle `id`.
pub(crate) fn lookup(id: u64) -> Result<Arc<Mutex<SessionBox>>, Failure> {
    handles::get(id, SESSION)
}

impl SessionBox {
    pub(crate) fn open(engine: Option<Arc<Engine>>, config: SessionConfig, card: CardPhoto) -> Result<Self, Failure> {
        let counter = match engine {
            Some(engine) => Counter::new(engine, config)?,
            None => Counter::without_models(config)?,
        };
        Ok(Self { session: counter.session(card), photos: Vec::new(), audited: false })
    }

    pub(crate) fn from_session(session: honnin::counter::Session) -> Self {
        Self { session, photos: Vec::new(), audited: false }
    }

    pub(crate) fn session(&mut self) -> &mut honnin::counter::Session {
        &mut self.session
    }
}

/// The session behind a handle, for one call at a time.
pub(crate) fn lock(session: &Mutex<SessionBox>) -> Result<MutexGuard<'_, SessionBox>, Failure> {
    session.lock().map_err(|_: PoisonError<_>| {
        Failure::new(honnin_status::Panic, "this session was interrupted by an internal error; free it")
    })
}

/// Layout of raw pixels handed to `honnin_session_feed_pixels`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_pixel_format {
    /// 3 bytes per pixel: red, green, blue.
    Rgb8 = 1,
    /// 3 bytes per pixel: blue, green, red.
    Bgr8 = 2,
    /// 1 byte per pixel.
    Grey8 = 3,
    /// 4 bytes per pixel: red, green, blue, unused.
    Rgba8 = 4,
    /// 4 bytes per pixel: blue, green, red, unused.
    Bgra8 = 5,
}

/// Why the frames stopped coming, for `honnin_session_source_stopped`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_source_stop {
    /// The frames ran out (a recording ended, the person left).
    Ended = 0,
    /// The camera is missing or went away.
    CameraMissing = 1,
    /// A frame could not be read.
    CameraRead = 2,
    /// No frame came in time.
    CameraTimeout = 3,
}

/// What the staff member concluded.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_judgement {
    /// The person is the card holder.
    SamePerson = 1,
    /// The person is not the card holder.
    DifferentPerson = 2,
    /// Staff could not tell.
    Unsure = 3,
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
    /// The card refused the PIN: one try spent (`honnin_session_pin_tries`
    /// says how many are left), back to choosing (the PIN offered again only
    /// with enough tries left).
    PinRejected = 4,
    /// The PIN is not available (too few tries, blocked, or a card that did
    /// not prove itself): back to choosing another method.
    PinUnavailable = 5,
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
            #[cfg(feature = "reader")]
            Step::PinRejected { .. } => out.kind = honnin_step_kind::PinRejected,
            #[cfg(feature = "reader")]
            Step::PinUnavailable(_) => out.kind = honnin_step_kind::PinUnavailable,
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

/// Fills `*out` with the default session options: face check proposed first,
/// 3 frames per attempt, at most 50 frames and 10 s per attempt, 2
/// non-matches or 3 attempts without a usable frame close the face path,
/// fusion on.
///
/// Thread safety: callable from any thread at any time.
///
/// # Safety
/// `out` must point to a writable `honnin_session_options`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_options_default(out: *mut honnin_session_options) -> honnin_status {
    guard(|| {
        check_out(out, "out")?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = (&SessionConfig::default()).into() };
        Ok(())
    })
}

/// # Safety
/// As `honnin_session_new`.
unsafe fn open_session(
    engine: Option<Arc<Engine>>,
    card: *const u8,
    card_len: usize,
    options: *const honnin_session_options,
    out: *mut *mut honnin_session,
) -> Result<(), Failure> {
    // SAFETY: the caller promised readable memory.
    let card = unsafe { bytes(card, card_len, "card") }?;
    if options.is_null() {
        return Err(Failure::null("options"));
    }
    check_out(out, "out")?;
    // SAFETY: checked non-NULL; the caller promised it is readable.
    let config = unsafe { *options }.config()?;
    let card = CardPhoto::from_bytes(card)?;
    let session = SessionBox::open(engine, config, card)?;
    // SAFETY: checked non-NULL; the caller promised it is writable.
    unsafe { issue(out, Object::new(SESSION, Mutex::new(session))) };
    Ok(())
}

/// Opens a session for one person and their card photo (`card`: an image,
/// ICAO DG2, ISO/IEC 19794-5 or My Number card data; the format is sniffed
/// and the bytes are copied). The session starts by asking the person to
/// choose a method: call `honnin_session_offered_methods`, then
/// `honnin_session_choose`. It holds the card photo until it decides.
///
/// Thread safety: callable from any thread; sessions on one engine may run
/// in parallel (each model runs one image at a time).
///
/// # Safety
/// `engine` must be a handle (any value is checked); `card`/`card_len` must
/// describe readable memory; `options` must point to a readable
/// `honnin_session_options`; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_new(
    engine: *const honnin_engine,
    card: *const u8,
    card_len: usize,
    options: *const honnin_session_options,
    out: *mut *mut honnin_session,
) -> honnin_status {
    guard(|| {
        let engine = crate::engine::lookup(id(engine))?;
        // SAFETY: forwarded from the caller.
        unsafe { open_session(Some(engine), card, card_len, options, out) }
    })
}

/// As `honnin_session_new` for a terminal without models: only the staff
/// visual check is offered, and no biometric is ever computed.
///
/// Thread safety: callable from any thread.
///
/// # Safety
/// As `honnin_session_new`, without the engine.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_new_without_models(
    card: *const u8,
    card_len: usize,
    options: *const honnin_session_options,
    out: *mut *mut honnin_session,
) -> honnin_status {
    // SAFETY: forwarded from the caller.
    guard(|| unsafe { open_session(None, card, card_len, options, out) })
}

/// Writes the methods the person may choose now to `*methods`, as
/// `HONNIN_METHOD_*` bits OR-ed together (0 once decided), and the one to
/// propose first to `*proposed` (`HONNIN_METHOD_NONE` once decided).
///
/// Thread safety: a session may be used from any thread, one call at a time
/// (concurrent calls on one session wait for each other).
///
/// # Safety
/// `session` must be a handle (any value is checked); `methods` and `proposed` must point to writable `uint32_t`s.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_offered_methods(
    session: *const honnin_session,
    methods: *mut u32,
    proposed: *mut u32,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(methods, "methods")?;
        check_out(proposed, "proposed")?;
        let mut guard = lock(&session)?;
        let s = guard.session();
        let mask = s.offered_methods().into_iter().fold(0u32, |mask, m| mask | method(m) as u32);
        let first = s.proposed_method().map_or(honnin_method::None, method) as u32;
        // SAFETY: checked non-NULL; the caller promised they are writable.
        unsafe {
            *methods = mask;
            *proposed = first;
        }
        Ok(())
    })
}

/// Records the person's choice: `HONNIN_METHOD_AUTOMATIC` (then feed frames)
/// or `HONNIN_METHOD_STAFF_VISUAL` (then show `honnin_session_card_for_display`
/// and record `honnin_session_staff_decide`). A method not offered now gives
/// `HONNIN_STATUS_INVALID_ARGUMENT`.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_session_choose(session: *mut honnin_session, method: u32) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        let method = parse_method(method)?;
        lock(&session)?.session().choose(method)?;
        Ok(())
    })
}

/// Writes a step; once the session has decided, its display photos are
/// invalidated and wiped.
///
/// # Safety
/// `out` must be non-NULL and point to a writable `honnin_step`.
pub(crate) unsafe fn step_out(out: *mut honnin_step, step: &Step, session: &mut SessionBox) {
    if matches!(step, Step::Decided(_)) {
        handles::remove_all(&std::mem::take(&mut session.photos));
    }
    // SAFETY: as the function's contract says.
    unsafe { *out = step.into() };
}

/// Feeds one encoded live image (JPEG, PNG, WebP or JPEG 2000) to the face
/// check and writes what it led to to `*out`. The image is decoded, used and
/// wiped before this returns.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `image`/`len` must
/// describe readable memory; `out` must point to a writable `honnin_step`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_feed_image(
    session: *mut honnin_session,
    image: *const u8,
    len: usize,
    out: *mut honnin_step,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        // SAFETY: the caller promised readable memory.
        let image = unsafe { bytes(image, len, "image") }?;
        check_out(out, "out")?;
        let frame = LiveFrame::from_bytes(image)?;
        let mut session = lock(&session)?;
        let step = session.session().feed(frame)?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { step_out(out, &step, &mut session) };
        Ok(())
    })
}

/// Feeds one raw camera frame: `height` rows of `width` pixels in `format`
/// (a `HONNIN_PIXEL_FORMAT_*` value), each row starting `stride` bytes after
/// the previous one; `len` is the buffer's length, at least
/// `stride * (height - 1) + width * bytes per pixel`. The pixels are copied,
/// used and the copy wiped before this returns; the caller's buffer is not
/// changed.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `pixels`/`len` must
/// describe readable memory; `out` must point to a writable `honnin_step`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn honnin_session_feed_pixels(
    session: *mut honnin_session,
    pixels: *const u8,
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
    format: u32,
    out: *mut honnin_step,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        // SAFETY: the caller promised readable memory.
        let pixels = unsafe { bytes(pixels, len, "pixels") }?;
        check_out(out, "out")?;
        // The library checks the dimensions against its limits and the buffer
        // before it copies; the copy wipes itself when dropped or refused.
        let frame = LiveFrame::from_pixels(pixels, width, height, stride, pixel_format(format)?)?;
        let mut session = lock(&session)?;
        let step = session.session().feed(frame)?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { step_out(out, &step, &mut session) };
        Ok(())
    })
}

/// The library's layout for a `HONNIN_PIXEL_FORMAT_*` value.
fn pixel_format(format: u32) -> Result<PixelFormat, Failure> {
    Ok(match format {
        1 => PixelFormat::Rgb8,
        2 => PixelFormat::Bgr8,
        3 => PixelFormat::Grey8,
        4 => PixelFormat::Rgba8,
        5 => PixelFormat::Bgra8,
        _ => return Err(Failure::invalid(format!("a pixel format from 1 to 5 (HONNIN_PIXEL_FORMAT_*), got {format}"))),
    })
}

/// Tells the session the frames stopped (`cause`: a `HONNIN_SOURCE_STOP_*`
/// value) and writes the step it leads to (a decision from the frames at
/// hand, or the staff offer) to `*out`.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable `honnin_step`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_source_stopped(
    session: *mut honnin_session,
    cause: u32,
    out: *mut honnin_step,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(out, "out")?;
        let fault = match cause {
            0 => None,
            1 => Some(CameraError::DeviceMissing {
                device: "the terminal's camera".into(),
                reason: "reported by the terminal".into(),
            }),
            2 => Some(CameraError::Read { reason: "reported by the terminal".into() }),
            3 => Some(CameraError::Timeout { waited: std::time::Duration::ZERO }),
            _ => return Err(Failure::invalid(format!("a stop cause from 0 to 3 (HONNIN_SOURCE_STOP_*), got {cause}"))),
        };
        let fault = fault.map(Error::Camera);
        let mut session = lock(&session)?;
        let step = session.session().source_stopped(fault.as_ref())?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { step_out(out, &step, &mut session) };
        Ok(())
    })
}

/// Records the staff member's conclusion (`judgement`: a
/// `HONNIN_JUDGEMENT_*` value) after `honnin_session_choose` with
/// `HONNIN_METHOD_STAFF_VISUAL`, and writes the outcome to `*out`. The
/// session then drops the card photo.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable `honnin_outcome`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_staff_decide(
    session: *mut honnin_session,
    judgement: u32,
    out: *mut honnin_outcome,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(out, "out")?;
        let judgement = match judgement {
            1 => StaffJudgement::SamePerson,
            2 => StaffJudgement::DifferentPerson,
            3 => StaffJudgement::Unsure,
            _ => {
                return Err(Failure::invalid(format!("a judgement from 1 to 3 (HONNIN_JUDGEMENT_*), got {judgement}")))
            }
        };
        let mut session = lock(&session)?;
        let outcome = session.session().staff_decide(judgement)?;
        // Decided: the card photo shown to staff goes now.
        handles::remove_all(&std::mem::take(&mut session.photos));
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = (&outcome).into() };
        Ok(())
    })
}

/// Writes the session's outcome to `*out`; `HONNIN_STATUS_NOT_DECIDED` while
/// it has none.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a writable `honnin_outcome`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_outcome(
    session: *const honnin_session,
    out: *mut honnin_outcome,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(out, "out")?;
        let outcome = lock(&session)?.session().outcome().copied();
        let Some(outcome) = outcome else {
            return Err(Failure::new(honnin_status::NotDecided, "the session has not decided yet"));
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = (&outcome).into() };
        Ok(())
    })
}

/// Frees a session, wiping the card photo, templates and display photos it
/// still holds; the handle, and those of its display photos, are invalid
/// from now on.
///
/// Thread safety: callable from any thread; a call in flight on another
/// thread with this session completes first (the session is wiped when it
/// returns).
///
/// # Safety
/// `session` must be a handle (any value is checked).
#[no_mangle]
pub unsafe extern "C" fn honnin_session_free(session: *mut honnin_session) -> honnin_status {
    guard(|| {
        let object = handles::remove(id(session), SESSION)?;
        if let Some(session) = object.downcast::<Mutex<SessionBox>>() {
            // Waits for a call in flight on another thread; a poisoned lock
            // still yields the photo list.
            let photos = std::mem::take(&mut session.lock().unwrap_or_else(PoisonError::into_inner).photos);
            handles::remove_all(&photos);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2x2 frame with a padded stride, in every format number: the same RGB comes out.
    #[test]
    fn raw_frames_are_read_in_their_channel_order_and_stride() {
        let frame_from_pixels = |pixels: &[u8], width, height, stride, format| {
            LiveFrame::from_pixels(pixels, width, height, stride, pixel_format(format).ok().expect("a format"))
        };
        let rgb: [[u8; 3]; 4] = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120]];
        for (format, bpp) in [(1u32, 3usize), (2, 3), (3, 1), (4, 4), (5, 4)] {
            let stride = 2 * bpp + 5;
            let mut buf = vec![0xEEu8; stride + 2 * bpp];
            for (i, p) in rgb.iter().enumerate() {
                let at = (i / 2) * stride + (i % 2) * bpp;
                let px: Vec<u8> = match format {
                    1 => p.to_vec(),
                    2 => vec![p[2], p[1], p[0]],
                    3 => vec![p[1]],
                    4 => vec![p[0], p[1], p[2], 0xFF],
                    _ => vec![p[2], p[1], p[0], 0xFF],
                };
                buf[at..at + bpp].copy_from_slice(&px);
            }
            let frame = frame_from_pixels(&buf, 2, 2, stride, format).expect("a valid frame");
            assert_eq!(frame.dimensions(), (2, 2));
            let got = honnin::danger::dangerous_live_pixels(&frame).to_vec();
            let want: Vec<u8> = if format == 3 {
                rgb.iter().flat_map(|p| [p[1]; 3]).collect()
            } else {
                rgb.iter().flatten().copied().collect()
            };
            assert_eq!(got, want, "format {format}");
            // One byte short of the last row: refused.
            assert!(frame_from_pixels(&buf[..buf.len() - 1], 2, 2, stride, format).is_err());
        }
        assert!(pixel_format(0).is_err() && pixel_format(6).is_err());
    }
}
