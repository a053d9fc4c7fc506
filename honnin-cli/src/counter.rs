//! `honnin counter`: a reference counter application in the terminal.
//!
//! One person's session: the card is read, the person chooses the face check
//! or the staff visual check, the face check shows live guidance, and the
//! staff check shows the card photo. Keys are read as lines (a key, then
//! Enter), which works on any terminal, over a serial console, and with
//! screen readers.
//!
//! The card photo never leaves the screen: it is drawn (half blocks, 24-bit
//! colour) only when standard output is a terminal, on its alternate screen,
//! sized to the terminal so that nothing scrolls, and cleared when staff
//! answer, when no key comes within `--timeout`, and on SIGINT (Ctrl-C),
//! SIGTERM and SIGHUP. Elsewhere (output redirected to a file or a pipe) no
//! photo is drawn at all, and staff compare the person with the photo printed
//! on the card.
//!
//! Every run that opened its audit log writes exactly one record, synced
//! before the decision is printed: decided, or abandoned (quit, timeout,
//! signal, fault).
//!
//! Exit codes: 0 match, 1 no match, 2 inconclusive or ended without a
//! decision (`q`, end of input), 3 error, 4 no key within `--timeout`,
//! 128 + N ended by signal N (130 SIGINT, 129 SIGHUP, 143 SIGTERM), 64 usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use honnin::audit::{Abandoned, AuditRecord};
use honnin::counter::{Counter, DisplayPhoto, FolderSource, FrameSource, Session, SessionConfig, StaffJudgement, Step};
use honnin::{Decision, Method, Outcome};
use zeroize::{Zeroize, Zeroizing};

use crate::audit::{AuditIds, AuditSink};
use crate::engine::EngineArgs;
use crate::input::InputArgs;
use crate::sandbox::{sandbox_allowing, SandboxArgs};
use crate::verify::{EXIT_INCONCLUSIVE, EXIT_NO_MATCH};

/// No key came within `--timeout`.
const EXIT_TIMEOUT: u8 = 4;

/// Arguments of `honnin counter`.
#[derive(Args)]
pub(crate) struct CounterArgs {
    /// The card's reference photo or chip data (or, with --reader, the card in a reader).
    #[cfg_attr(feature = "reader", arg(long, required_unless_present = "reader", conflicts_with = "reader"))]
    #[cfg_attr(not(feature = "reader"), arg(long, required = true))]
    card: Option<PathBuf>,
    /// Take the card from a PC/SC reader (--reader NAME): the session starts
    /// when a card is inserted and offers the card's PIN as a third method;
    /// the face and staff checks read the chip photo with 照合番号B, typed
    /// by staff from the card. Removing the card ends the session.
    #[cfg(feature = "reader")]
    #[command(flatten)]
    reader: crate::reader::ReaderArgs,
    /// Camera index (V4L2 /dev/videoN); needs a build with `--features camera`.
    /// The camera is opened only when the person chooses the face check, and
    /// closed when the face check ends.
    #[arg(long, conflicts_with = "frames", required_unless_present_any = ["frames", "no_models"])]
    camera: Option<u32>,
    /// A folder of image files served as camera frames, in file-name order.
    #[arg(long, value_name = "DIR")]
    frames: Option<PathBuf>,
    /// The method proposed first; the person always chooses.
    #[arg(long, value_enum, default_value_t = Proposal::Face)]
    propose: Proposal,
    /// Run without models: only the staff visual check is offered (and no
    /// camera is needed).
    #[arg(long)]
    no_models: bool,
    /// Append one audit record of the session, decided or abandoned (a JSON
    /// line without biometric data, see PRIVACY.md), to this hash-chained log,
    /// created with mode 0600; "-" writes it to standard output.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    #[command(flatten)]
    audit_ids: AuditIds,
    /// Most columns the card photo takes on screen (it is also fitted to the
    /// terminal's size).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(8..=400))]
    photo_columns: u32,
    /// Seconds to wait for a key at any prompt. When they pass, the card
    /// photo is cleared from the screen and the session ends undecided (exit 4).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    sandbox: SandboxArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Proposal {
    Face,
    Staff,
}

/// How a session ended.
enum End {
    Decided(Outcome),
    /// `q`, or the end of input.
    Quit,
    Timeout,
    Signal(i32),
    /// The card was taken out of the reader.
    #[cfg(feature = "reader")]
    CardRemoved,
}

impl End {
    /// What the record says when the session holds no decision.
    fn abandoned(&self) -> Abandoned {
        match self {
            End::Decided(_) | End::Quit => Abandoned::Quit,
            End::Timeout => Abandoned::Timeout,
            End::Signal(_) => Abandoned::Signal,
            #[cfg(feature = "reader")]
            End::CardRemoved => Abandoned::CardRemoved,
        }
    }
}

/// Opens the frame source when the face check starts. A failure is a
/// camera fault for the session (the staff check is then offered), not an
/// error that ends the program.
fn open_source(args: &CounterArgs) -> honnin::Result<Box<dyn FrameSource>> {
    match (&args.frames, args.camera) {
        (Some(dir), _) => Ok(Box::new(FolderSource::open(dir)?)),
        (None, Some(index)) => camera(index),
        (None, None) => Err(camera_fault("none", "no --camera or --frames given")),
    }
}

fn camera_fault(device: &str, reason: &str) -> honnin::Error {
    honnin::Error::Camera(honnin::error::CameraError::DeviceMissing { device: device.into(), reason: reason.into() })
}

#[cfg(feature = "camera")]
fn camera(index: u32) -> honnin::Result<Box<dyn FrameSource>> {
    Ok(Box::new(honnin::counter::CameraSource::open(index, honnin::counter::CameraOptions::default())?))
}

#[cfg(not(feature = "camera"))]
fn camera(index: u32) -> honnin::Result<Box<dyn FrameSource>> {
    Err(camera_fault(
        &index.to_string(),
        "this honnin was built without the camera feature (cargo build --features camera)",
    ))
}

/// The camera device the sandbox must let the session open for writing.
fn camera_device(args: &CounterArgs) -> Vec<PathBuf> {
    args.camera.map(|i| PathBuf::from(format!("/dev/video{i}"))).into_iter().collect()
}

/// Writes the run's one audit record.
struct Recorder {
    sink: Option<AuditSink>,
    written: bool,
}

impl Recorder {
    fn write(&mut self, record: AuditRecord) -> Result<()> {
        if std::mem::replace(&mut self.written, true) {
            return Ok(());
        }
        match &mut self.sink {
            Some(sink) => sink.write(record),
            None => Ok(()),
        }
    }
}

pub(crate) fn counter(args: &CounterArgs) -> Result<ExitCode> {
    // From here on SIGINT, SIGTERM and SIGHUP end the session in order:
    // screen cleared, record written, exit 128 + N.
    let signals = signals::install()?;
    // The log is opened, and its end checked, before the sandbox.
    let sink = args.audit.as_deref().map(|p| AuditSink::open(p, &args.audit_ids)).transpose()?;
    let mut recorder = Recorder { sink, written: false };
    match run(args, &signals, &mut recorder) {
        Ok(code) => Ok(code),
        Err(e) => {
            // A fault before the session began (sandbox, models, card).
            match recorder.write(AuditRecord::without_session(None, Abandoned::Fault)) {
                Ok(()) => Err(e),
                Err(audit) => Err(e.context(format!("and the audit record of the fault failed: {audit:#}"))),
            }
        }
    }
}

fn run(args: &CounterArgs, signals: &signals::Signals, recorder: &mut Recorder) -> Result<ExitCode> {
    // With a card reader, the connection to pcscd (one Unix socket) is made
    // before the sandbox, which forbids making any socket afterwards: the
    // face path can reach nothing but the card.
    #[cfg(feature = "reader")]
    let reader = if args.card.is_none() { Some(crate::reader::Reader::open(&args.reader)?) } else { None };
    // The sandbox comes first, as in `verify`: the engine's threads and the
    // camera's capture thread start inside it. It lets the camera device,
    // and nothing else, be opened for writing (V4L2 needs it).
    sandbox_allowing(&args.sandbox, camera_device(args))?;
    let engine = if args.no_models { None } else { Some(std::sync::Arc::new(args.engine.engine()?)) };
    let config = SessionConfig {
        default_method: match args.propose {
            Proposal::Face => Method::Automatic,
            Proposal::Staff => Method::StaffVisual,
        },
        ..SessionConfig::default()
    };
    let counter = match &engine {
        Some(engine) => Counter::new(std::sync::Arc::clone(engine), config)?,
        None => Counter::without_models(config)?,
    };
    if let Some(signal) = signals.pending() {
        // Told to stop while the models loaded.
        recorder.write(AuditRecord::without_session(engine.as_deref(), Abandoned::Signal))?;
        return Ok(signal_exit(signal));
    }
    let mut session = match &args.card {
        Some(path) => {
            let card = args.input.card(path)?;
            let (w, h) = card.dimensions();
            outln!("honnin counter: card photo read ({w}x{h}, {}).", card.kind().word());
            counter.session(card)
        }
        #[cfg(feature = "reader")]
        None => {
            let reader = reader.as_ref().ok_or_else(|| anyhow::anyhow!("no --card and no --reader"))?;
            outln!("honnin counter: insert the card in {:?}.", reader.name);
            let link = honnin::counter::CardLink::new(
                reader.card(&args.reader)?,
                args.reader.policy(),
                args.reader.anchors()?,
                args.input.limits(),
            )?;
            outln!("honnin counter: card inserted.");
            counter.card_session(link)
        }
        #[cfg(not(feature = "reader"))]
        None => bail!("no --card given"),
    };
    // A session from a reader ends when its card is taken out, also while it
    // waits for a key.
    #[cfg(feature = "reader")]
    let card_gone =
        || reader.as_ref().is_some_and(|r| r.context.wait_for_removal(&r.name, Duration::ZERO).unwrap_or(false));
    let mut keys = Keys {
        signals,
        timeout: Duration::from_secs(args.timeout),
        pending: Vec::with_capacity(MAX_KEY_LINE + 256),
        eof: false,
        watch: None,
    };
    #[cfg(feature = "reader")]
    if reader.is_some() {
        keys.watch = Some(&card_gone);
    }
    let end = match drive(&mut session, args, signals, &mut keys) {
        Ok(end) => end,
        Err(e) => {
            recorder.write(AuditRecord::session(&session, Abandoned::Fault))?;
            return Err(e);
        }
    };
    // On disk before anything is reported.
    recorder.write(AuditRecord::session(&session, end.abandoned()))?;
    let _ = session.finish();
    Ok(match end {
        End::Decided(outcome) => {
            let how = match outcome.method {
                Method::Automatic => "face check",
                Method::StaffVisual => "staff visual check",
                Method::CardPin => "card PIN",
            };
            outln!("DECISION: {} ({how})", outcome.decision.code());
            match outcome.decision {
                Decision::Match => ExitCode::SUCCESS,
                Decision::NoMatch => ExitCode::from(EXIT_NO_MATCH),
                Decision::Inconclusive(_) => ExitCode::from(EXIT_INCONCLUSIVE),
            }
        }
        End::Quit => {
            outln!("Session ended without a decision.");
            ExitCode::from(EXIT_INCONCLUSIVE)
        }
        End::Timeout => {
            outln!("Session ended without a decision: no answer within {} s.", args.timeout);
            ExitCode::from(EXIT_TIMEOUT)
        }
        #[cfg(feature = "reader")]
        End::CardRemoved => {
            outln!("Session ended without a decision: the card was removed.");
            ExitCode::from(EXIT_INCONCLUSIVE)
        }
        End::Signal(signal) => {
            // Best effort: after SIGHUP the terminal is gone.
            let _ = writeln!(std::io::stdout(), "Session ended without a decision: {}.", signals::name(signal));
            signal_exit(signal)
        }
    })
}

fn signal_exit(signal: i32) -> ExitCode {
    ExitCode::from(128u8.saturating_add(u8::try_from(signal).unwrap_or(127)))
}

/// The session from the choice of method to its end.
fn drive(session: &mut Session, args: &CounterArgs, signals: &signals::Signals, keys: &mut Keys) -> Result<End> {
    loop {
        let method = match ask_method(session, keys)? {
            Ok(method) => method,
            Err(end) => return Ok(end),
        };
        #[cfg(feature = "reader")]
        if matches!(method, Method::Automatic | Method::StaffVisual)
            && !session.has_card_photo()
            && session.has_reader()
        {
            match read_photo(session, keys)? {
                Ok(true) => {}
                // Not read: the face check cannot start; staff compare the printed card.
                Ok(false) if method == Method::Automatic => continue,
                Ok(false) => {}
                Err(end) => return Ok(end),
            }
        }
        session.choose(method)?;
        match method {
            Method::Automatic => {
                // The camera runs only during the face check: opened now,
                // closed when the check ends.
                let step = match open_source(args) {
                    Ok(mut source) => match face_check(session, source.as_mut(), signals)? {
                        Ok(step) => step,
                        Err(signal) => return Ok(End::Signal(signal)),
                    },
                    Err(fault) => session.source_stopped(Some(&fault))?,
                };
                match step {
                    Step::Decided(outcome) => return Ok(End::Decided(outcome)),
                    Step::StaffOffered(fallback) => {
                        outln!("The face check cannot continue: {}.", fallback);
                        outln!("A member of staff will check your card instead.");
                    }
                    other => bail!("face check ended with {other:?}"),
                }
            }
            Method::StaffVisual => return staff_check(session, keys, args.photo_columns),
            #[cfg(feature = "reader")]
            Method::CardPin => {
                if let Some(end) = pin_check(session, keys)? {
                    return Ok(end);
                }
            }
            #[cfg(not(feature = "reader"))]
            Method::CardPin => bail!("the card PIN needs a card reader session"),
        }
    }
}

/// Reads the chip photo with 照合番号B, which staff type from the card:
/// `Ok(true)` when read, `Ok(false)` when not (the reason is shown; no try
/// is ever spent twice without staff typing the details again).
#[cfg(feature = "reader")]
fn read_photo(session: &mut Session, keys: &mut Keys) -> Result<std::result::Result<bool, End>> {
    use honnin::error::ReaderError;
    use honnin::reader::VerificationNumberB;
    outln!("Staff: type the details printed on the card; they open the chip's photo (Enter alone: skip).");
    let mut parts = Vec::new();
    for prompt in ["Birth date (YYYY-MM-DD): ", "Expiry year (YYYY): ", "Security code (4 digits): "] {
        out!("{prompt}");
        std::io::stdout().flush()?;
        match keys.secret()? {
            Ok(line) if line.is_empty() => {
                outln!("Skipped: the chip photo was not read; nothing was sent to the card.");
                return Ok(Ok(false));
            }
            Ok(line) => parts.push(line),
            Err(end) => return Ok(Err(end)),
        }
    }
    let built = crate::reader::parse_date(&parts[0]).ok().and_then(|date| {
        let expiry = parts[1].parse::<u16>().ok()?;
        VerificationNumberB::from_parts(date, expiry, &parts[2]).ok()
    });
    drop(parts);
    let Some(number_b) = built else {
        outln!("These details are not in the right form; nothing was sent to the card.");
        return Ok(Ok(false));
    };
    match session.read_card_photo(&number_b) {
        Ok(_) => {
            let authenticity = session.card_authenticity();
            outln!("Card photo read; authenticity: {authenticity}.");
            Ok(Ok(true))
        }
        Err(honnin::Error::Reader(ReaderError::CardRemoved)) => Ok(Err(End::CardRemoved)),
        Err(honnin::Error::Reader(e)) => {
            outln!("The chip photo could not be read: {e}.");
            Ok(Ok(false))
        }
        Err(e) => Err(e.into()),
    }
}

/// The PIN path: the PIN typed here (or on the reader's keypad), checked by
/// the card. `Some(end)` when the session ended.
#[cfg(feature = "reader")]
fn pin_check(session: &mut Session, keys: &mut Keys) -> Result<Option<End>> {
    use honnin::error::ReaderError;
    use honnin::reader::{CardPin, PinEntry};
    let entry = if session.pinpad() {
        outln!("Type your PIN on the card reader's keypad.");
        PinEntry::Pinpad
    } else {
        out!("Your card's PIN (4 digits), then Enter: ");
        std::io::stdout().flush()?;
        let line = match keys.secret()? {
            Ok(line) => line,
            Err(end) => return Ok(Some(end)),
        };
        match CardPin::from_digits(&line) {
            Ok(pin) => PinEntry::Host(pin),
            Err(_) => {
                outln!("A PIN is 4 digits; nothing was sent to the card.");
                session.choose_again()?;
                return Ok(None);
            }
        }
    };
    match session.check_pin(entry) {
        Ok(Step::Decided(outcome)) => Ok(Some(End::Decided(outcome))),
        Ok(Step::PinRejected { tries_left, pin_still_offered }) => {
            outln!("The card did not accept the PIN ({tries_left} tries left on the card).");
            if !pin_still_offered {
                outln!("The PIN is not offered again: its last tries stay with you.");
            }
            Ok(None)
        }
        Ok(Step::PinUnavailable(closed)) => {
            outln!("The PIN cannot be used: {closed}.");
            Ok(None)
        }
        Ok(other) => bail!("PIN check ended with {other:?}"),
        Err(honnin::Error::Reader(ReaderError::CardRemoved)) => Ok(Some(End::CardRemoved)),
        Err(e) => Err(e.into()),
    }
}

/// The person's choice of method, or how the session ended instead.
fn ask_method(session: &Session, keys: &mut Keys) -> Result<std::result::Result<Method, End>> {
    let offered = session.offered_methods();
    outln!("");
    outln!("How would you like to be checked?");
    for method in &offered {
        let proposed = if Some(*method) == session.proposed_method() { "   (proposed)" } else { "" };
        match method {
            Method::Automatic => outln!("  [f] face check with the camera{proposed}"),
            Method::StaffVisual => outln!("  [s] visual check by a member of staff{proposed}"),
            Method::CardPin => outln!("  [p] your card's PIN (4 digits){proposed}"),
        }
    }
    outln!("  [q] end");
    loop {
        out!("Choose, then press Enter: ");
        std::io::stdout().flush()?;
        let chosen = match keys.next()? {
            Key::Line(key) => match key.as_str() {
                "f" => Method::Automatic,
                "s" => Method::StaffVisual,
                "p" => Method::CardPin,
                "q" => return Ok(Err(End::Quit)),
                _ => {
                    outln!("Please type one of the letters shown.");
                    continue;
                }
            },
            Key::Ended(end) => return Ok(Err(end)),
        };
        if offered.contains(&chosen) {
            return Ok(Ok(chosen));
        }
        outln!("That method is not available now.");
    }
}

/// Runs the face check to its last step (a decision or the staff offer), or
/// to a signal.
fn face_check(
    session: &mut Session,
    source: &mut dyn FrameSource,
    signals: &signals::Signals,
) -> Result<std::result::Result<Step, i32>> {
    outln!("Face check: please look at the camera.");
    let mut last_guidance = None;
    loop {
        if let Some(signal) = signals.pending() {
            return Ok(Err(signal));
        }
        let step = match source.next_frame() {
            Ok(Some(frame)) => session.feed(frame)?,
            Ok(None) => session.source_stopped(None)?,
            Err(e) => session.source_stopped(Some(&e))?,
        };
        match &step {
            Step::Continue(feedback) => match feedback.guidance() {
                Some(g) if last_guidance != Some(g) => {
                    last_guidance = Some(g);
                    outln!("  > {}  [{}]", g.message(), g.code());
                }
                Some(_) => {}
                None => {
                    last_guidance = None;
                    outln!("  > Good, hold still ({}/{}).", feedback.collected, feedback.wanted);
                }
            },
            Step::Retry(record) if record.decision.is_some() => {
                outln!("  > The photos did not match. Let us try once more.")
            }
            Step::Retry(_) => outln!("  > No usable picture yet. Let us try again."),
            Step::Decided(_) | Step::StaffOffered(_) => return Ok(Ok(step)),
            _ => {}
        }
    }
}

const HEADING: &str = "STAFF VISUAL CHECK: compare the card photo with the person in front of you.";
const NO_PHOTO: &str = "STAFF VISUAL CHECK: compare the person in front of you with the photo printed on their card.";
const OPTIONS: &str = "  [y] same person   [n] not the same person   [u] cannot tell   [q] end";
const ASK_AGAIN: &str = "Please type y, n, u or q.";
/// Rows besides the photo: heading, blank, blank, options, message, prompt,
/// and the row the cursor moves to when staff press Enter.
const RESERVED_ROWS: u32 = 7;
/// The smallest photo worth showing, in columns and text rows.
const MIN_PHOTO: (u32, u32) = (8, 4);

/// The staff visual check: the card photo on the alternate screen of a
/// terminal (or, elsewhere, no photo), then the staff's answer.
fn staff_check(session: &mut Session, keys: &mut Keys, columns: u32) -> Result<End> {
    let size = screen::size();
    // The photo is prepared only for a terminal it fits on.
    let photo_area = size.and_then(|(cols, rows)| {
        let width = columns.min(cols.saturating_sub(2));
        let text_rows = rows.saturating_sub(RESERVED_ROWS);
        (width >= MIN_PHOTO.0 && text_rows >= MIN_PHOTO.1).then(|| (width, (columns * 3 / 2).min(2 * text_rows)))
    });
    // A session from a card reader whose chip photo was not read: staff
    // compare the person with the photo printed on the card.
    let photo_area = photo_area.filter(|_| session.has_card_photo());
    let judgement = match (photo_area, size) {
        (Some((w, h)), Some((cols, _))) => {
            let photo = session.card_for_display(w, h)?;
            ask_with_photo(photo, keys, cols as usize)?
        }
        _ => ask_without_photo(keys, size.is_some())?,
    };
    match judgement {
        Ok(j) => Ok(End::Decided(session.staff_decide(j)?)),
        Err(end) => Ok(end),
    }
}

fn judgement(key: &str) -> Option<std::result::Result<StaffJudgement, End>> {
    match key {
        "y" => Some(Ok(StaffJudgement::SamePerson)),
        "n" => Some(Ok(StaffJudgement::DifferentPerson)),
        "u" => Some(Ok(StaffJudgement::Unsure)),
        "q" => Some(Err(End::Quit)),
        _ => None,
    }
}

/// Draws `photo` on the alternate screen and waits for the answer. Every
/// path out of here (an answer, a timeout, a signal, an error) leaves the
/// alternate screen, which clears the photo from the display.
fn ask_with_photo(
    photo: DisplayPhoto,
    keys: &mut Keys,
    cols: usize,
) -> Result<std::result::Result<StaffJudgement, End>> {
    // Sized once for the whole picture: a growing string would leave
    // partial copies of the photo in freed memory.
    let mut picture = Zeroizing::new(String::with_capacity(picture_bytes(&photo)));
    let capacity = picture.capacity();
    draw(&photo, &mut picture);
    drop(photo);
    debug_assert_eq!(picture.capacity(), capacity, "the picture's buffer never grows");
    let fit = |text: &str| text.chars().take(cols).collect::<String>();
    let screen = screen::AlternateScreen::enter()?;
    let mut message = String::new();
    loop {
        // The whole screen, from its top: nothing scrolls, whatever was typed.
        let top = format!("\x1b[H\x1b[2J{}\r\n\r\n", fit(HEADING));
        let bottom = format!("\r\n{}\r\n{}\r\nStaff answer, then Enter: ", fit(OPTIONS), fit(&message));
        screen.write(&[top.as_bytes(), picture.as_bytes(), bottom.as_bytes()])?;
        match keys.next()? {
            Key::Line(key) => match judgement(&key) {
                Some(answer) => return Ok(answer),
                None => message = ASK_AGAIN.into(),
            },
            Key::Ended(end) => return Ok(Err(end)),
        }
    }
}

/// The staff check without a photo on screen: standard output is not a
/// terminal (a log file, a pipe), or the terminal is too small for one.
fn ask_without_photo(keys: &mut Keys, terminal: bool) -> Result<std::result::Result<StaffJudgement, End>> {
    outln!("{NO_PHOTO}");
    if terminal {
        outln!("(This terminal is too small to show the card photo.)");
    } else {
        outln!("(The card photo is shown only when honnin counter writes to a terminal.)");
    }
    outln!("{OPTIONS}");
    loop {
        out!("Staff answer, then Enter: ");
        std::io::stdout().flush()?;
        match keys.next()? {
            Key::Line(key) => match judgement(&key) {
                Some(answer) => return Ok(answer),
                None => outln!("{ASK_AGAIN}"),
            },
            Key::Ended(end) => return Ok(Err(end)),
        }
    }
}

/// The most bytes `draw` writes for `photo`: per cell two 24-bit colour
/// escapes of at most 19 bytes and a 3-byte half block; per row an indent,
/// a reset and a line end.
fn picture_bytes(photo: &DisplayPhoto) -> usize {
    let (w, h) = (photo.width() as usize, photo.height() as usize);
    h.div_ceil(2) * (2 + w * (19 + 19 + 3) + 6)
}

/// Two pixel rows per text row: the upper half block in the upper pixel's
/// colour on the lower pixel's colour (24-bit colour escapes).
fn draw(photo: &DisplayPhoto, screen: &mut String) {
    use std::fmt::Write as _;
    let (w, h) = (photo.width() as usize, photo.height() as usize);
    let px = photo.pixels();
    let rgb = |x: usize, y: usize| -> [u8; 3] {
        if photo.is_grey() {
            [px[y * w + x]; 3]
        } else {
            let i = (y * w + x) * 3;
            [px[i], px[i + 1], px[i + 2]]
        }
    };
    for y in (0..h).step_by(2) {
        screen.push_str("  ");
        for x in 0..w {
            let [r, g, b] = rgb(x, y);
            let [r2, g2, b2] = if y + 1 < h { rgb(x, y + 1) } else { [0, 0, 0] };
            let _ = write!(screen, "\x1b[38;2;{r};{g};{b}m\x1b[48;2;{r2};{g2};{b2}m\u{2580}");
        }
        screen.push_str("\x1b[0m\r\n");
    }
}

/// What a wait for a key gave.
enum Key {
    /// A line typed, trimmed and lowercased.
    Line(String),
    /// No key: the input ended, the time ran out, or a signal came.
    Ended(End),
}

/// Keys from standard input, read as lines with a timeout, and cut short by
/// a signal.
struct Keys<'s> {
    signals: &'s signals::Signals,
    timeout: Duration,
    /// Bytes read past the last line end.
    pending: Vec<u8>,
    eof: bool,
    /// Says whether the session's card was taken out of its reader.
    watch: Option<&'s dyn Fn() -> bool>,
}

/// Longest line kept; the rest of a longer one is dropped.
const MAX_KEY_LINE: usize = 256;

impl Keys<'_> {
    /// The next line as typed (case kept), for a secret, not echoed on a
    /// terminal: copied once into a wiped buffer.
    #[cfg(feature = "reader")]
    fn secret(&mut self) -> Result<std::result::Result<Zeroizing<String>, End>> {
        let _quiet = crate::reader::EchoOff::new();
        Ok(self.line()?.map(|taken| {
            let mut line = Zeroizing::new(String::with_capacity(MAX_KEY_LINE + 256));
            line.push_str(std::str::from_utf8(&taken).unwrap_or("").trim());
            line
        }))
    }

    /// The next line (without its end), the bytes it occupied in `pending`
    /// wiped; or how the wait ended instead.
    fn line(&mut self) -> Result<std::result::Result<Zeroizing<Vec<u8>>, End>> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(signal) = self.signals.pending() {
                return Ok(Err(End::Signal(signal)));
            }
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                return Ok(Ok(self.take(i)));
            }
            if self.eof {
                if self.pending.is_empty() {
                    return Ok(Err(End::Quit));
                }
                return Ok(Ok(self.take(self.pending.len())));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Err(End::Timeout));
            }
            self.fill(left)?;
            #[cfg(feature = "reader")]
            if self.watch.is_some_and(|gone| gone()) {
                return Ok(Err(End::CardRemoved));
            }
        }
    }

    /// Takes the first `end` bytes of `pending` (and the line end after them,
    /// if any) into a wiped buffer, and wipes the bytes left behind when the
    /// rest moves down: a secret typed ahead leaves no copy.
    fn take(&mut self, end: usize) -> Zeroizing<Vec<u8>> {
        let mut taken = Zeroizing::new(Vec::with_capacity(MAX_KEY_LINE + 256));
        taken.extend_from_slice(&self.pending[..end]);
        let consumed = (end + 1).min(self.pending.len());
        self.pending.copy_within(consumed.., 0);
        let rest = self.pending.len() - consumed;
        self.pending[rest..].zeroize();
        self.pending.truncate(rest);
        taken
    }

    /// Reads what standard input has (waiting up to `left`) into `pending`,
    /// through a wiped stack buffer; `pending` never grows past its capacity.
    fn fill(&mut self, left: Duration) -> Result<()> {
        // With a card to watch, look at the reader every 300 ms.
        let left = if self.watch.is_some() { left.min(Duration::from_millis(300)) } else { left };
        match self.signals.wait_for_stdin(left)? {
            signals::Ready::Closed => self.eof = true,
            signals::Ready::Stdin => {
                let mut buf = Zeroizing::new([0u8; 256]);
                match screen::read_stdin(&mut buf[..])? {
                    None => {}
                    Some(0) => self.eof = true,
                    Some(n) => {
                        self.pending.extend_from_slice(&buf[..n]);
                        // A line longer than any answer: keep its start only.
                        if !self.pending.contains(&b'\n') && self.pending.len() > MAX_KEY_LINE {
                            self.pending[MAX_KEY_LINE..].zeroize();
                            self.pending.truncate(MAX_KEY_LINE);
                        }
                    }
                }
            }
            signals::Ready::Signal | signals::Ready::Nothing => {}
        }
        Ok(())
    }

    fn next(&mut self) -> Result<Key> {
        Ok(match self.line()? {
            Ok(line) => Key::Line(String::from_utf8_lossy(&line).trim().to_lowercase()),
            Err(end) => Key::Ended(end),
        })
    }
}

/// The terminal: its size, raw reads of standard input, and the alternate
/// screen.
mod screen {
    use std::fs::File;
    use std::io::Write;
    use std::mem::ManuallyDrop;
    use std::os::fd::FromRawFd;

    use anyhow::{Context, Result};

    /// Columns and rows of the terminal on standard output; `None` when
    /// standard output is not a terminal.
    pub(super) fn size() -> Option<(u32, u32)> {
        use std::io::IsTerminal;
        if !std::io::stdout().is_terminal() {
            return None;
        }
        // SAFETY: a plain struct of integers, which TIOCGWINSZ fills in.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: fd 1 is open (a terminal, just checked); `ws` is writable.
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        // A terminal that does not say its size is taken as 80x24.
        Some(if ok && ws.ws_col > 0 && ws.ws_row > 0 { (u32::from(ws.ws_col), u32::from(ws.ws_row)) } else { (80, 24) })
    }

    /// Standard output without Rust's buffer: what is written here leaves
    /// no copy in a buffer that outlives the call.
    fn raw_stdout() -> ManuallyDrop<File> {
        // SAFETY: fd 1 stays open for the process's life; `ManuallyDrop`
        // keeps this `File` from closing it.
        ManuallyDrop::new(unsafe { File::from_raw_fd(libc::STDOUT_FILENO) })
    }

    /// One read of standard input (unbuffered, so that `poll` sees every
    /// byte not yet taken): `Some(0)` at its end, `None` when a signal
    /// interrupted it.
    pub(super) fn read_stdin(buf: &mut [u8]) -> Result<Option<usize>> {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::read(libc::STDIN_FILENO, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = std::io::Error::last_os_error();
        match e.kind() {
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock => Ok(None),
            _ => Err(e).context("reading the keyboard"),
        }
    }

    /// The terminal's alternate screen while it lives. Leaving it (on drop,
    /// on every path) first clears it, then switches back: the photo is gone
    /// from the display and never reaches the scrollback.
    pub(super) struct AlternateScreen(());

    impl AlternateScreen {
        pub(super) fn enter() -> Result<Self> {
            std::io::stdout().flush()?;
            (&*raw_stdout()).write_all(b"\x1b[?1049h\x1b[H\x1b[2J")?;
            Ok(Self(()))
        }

        /// Writes the parts in order, unbuffered.
        pub(super) fn write(&self, parts: &[&[u8]]) -> Result<()> {
            let out = raw_stdout();
            for part in parts {
                (&*out).write_all(part)?;
            }
            Ok(())
        }
    }

    impl Drop for AlternateScreen {
        fn drop(&mut self) {
            // Best effort: a closed terminal has nothing left to show.
            let _ = (&*raw_stdout()).write_all(b"\x1b[0m\x1b[H\x1b[2J\x1b[?1049l");
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, turned from process killers into an event
/// the session handles: the handler records the signal and writes a byte to
/// a pipe, which wakes a `poll` on standard input.
mod signals {
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::time::Duration;

    use anyhow::{Context, Result};

    /// The first signal received (0: none).
    static RECEIVED: AtomicI32 = AtomicI32::new(0);
    /// The pipe's write end, for the handler.
    static PIPE: AtomicI32 = AtomicI32::new(-1);

    const HANDLED: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    /// Proof that the handlers are installed; the pipe's read end.
    pub(super) struct Signals {
        read: i32,
    }

    pub(super) enum Ready {
        /// Standard input has bytes, or has ended.
        Stdin,
        /// Standard input is not open.
        Closed,
        Signal,
        Nothing,
    }

    extern "C" fn on_signal(signal: libc::c_int) {
        // Only async-signal-safe work: an atomic store and a write(2), with
        // errno kept for the code the signal interrupted.
        let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        let fd = PIPE.load(Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: errno is thread-local; the pointer is valid for this thread.
            let errno = unsafe { *libc::__errno_location() };
            // SAFETY: a one-byte buffer on the stack; a full pipe just refuses (non-blocking).
            unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = errno };
        }
    }

    pub(super) fn install() -> Result<Signals> {
        let mut fds = [0i32; 2];
        // SAFETY: `fds` has room for the two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(std::io::Error::last_os_error()).context("creating the signal pipe");
        }
        PIPE.store(fds[1], Ordering::SeqCst);
        for signal in HANDLED {
            // SAFETY: a zeroed sigaction is a valid starting point; the
            // handler only does async-signal-safe work; SA_RESTART resumes
            // interrupted reads and writes (poll returns EINTR regardless).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                // SA_RESETHAND: a second signal ends the process at once,
                // should the first one's clean-up be stuck.
                action.sa_flags = libc::SA_RESTART | libc::SA_RESETHAND;
                libc::sigemptyset(&mut action.sa_mask);
                if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error()).context("installing a signal handler");
                }
            }
        }
        Ok(Signals { read: fds[0] })
    }

    pub(super) fn name(signal: i32) -> &'static str {
        match signal {
            libc::SIGINT => "interrupted (SIGINT)",
            libc::SIGTERM => "terminated (SIGTERM)",
            libc::SIGHUP => "the terminal hung up (SIGHUP)",
            _ => "signal",
        }
    }

    impl Signals {
        /// The signal received, if any.
        pub(super) fn pending(&self) -> Option<i32> {
            Some(RECEIVED.load(Ordering::SeqCst)).filter(|&s| s != 0)
        }

        /// Waits at most `timeout` for standard input to be readable (or
        /// ended) or for a signal.
        pub(super) fn wait_for_stdin(&self, timeout: Duration) -> Result<Ready> {
            let mut fds = [
                libc::pollfd { fd: libc::STDIN_FILENO, events: libc::POLLIN, revents: 0 },
                libc::pollfd { fd: self.read, events: libc::POLLIN, revents: 0 },
            ];
            let ms = libc::c_int::try_from(timeout.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
            // SAFETY: `fds` holds two valid pollfd entries.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    return Ok(Ready::Signal);
                }
                return Err(e).context("waiting for the keyboard");
            }
            if fds[1].revents != 0 {
                let mut sink = [0u8; 16];
                // SAFETY: `sink` is writable; the pipe is non-blocking.
                while unsafe { libc::read(self.read, sink.as_mut_ptr().cast(), sink.len()) } > 0 {}
                return Ok(Ready::Signal);
            }
            if fds[0].revents & libc::POLLNVAL != 0 {
                return Ok(Ready::Closed);
            }
            if fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                return Ok(Ready::Stdin);
            }
            Ok(Ready::Nothing)
        }
    }
}
