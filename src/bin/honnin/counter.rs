//! `honnin counter`: a reference counter application in the terminal.
//!
//! One person's session: the card is read, the person chooses the face check
//! or the staff visual check, the face check shows live guidance, and the
//! staff check shows the card photo (drawn with half-block characters on the
//! terminal's alternate screen, which is left, and so cleared, as soon as
//! staff answer). Keys are read as lines (a key, then Enter), which works on
//! any terminal, over a serial console, and with screen readers.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use honnin::{
    AuditRecord, Counter, Decision, DisplayPhoto, Fallback, FolderSource, FrameSource, Method, Outcome, Session,
    SessionConfig, StaffJudgement, Step,
};
use zeroize::Zeroizing;

use crate::{EngineArgs, InputArgs, SandboxArgs, EXIT_INCONCLUSIVE, EXIT_NO_MATCH};

/// Arguments of `honnin counter`.
#[derive(Args)]
pub(crate) struct CounterArgs {
    /// The card's reference photo or chip data.
    #[arg(long)]
    card: PathBuf,
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
    /// Append one audit record of the decision (a JSON line without
    /// biometric data, see PRIVACY.md) to this file; "-" writes it to standard output.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// Width of the card photo on screen, in terminal columns.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(8..=400))]
    photo_columns: u32,
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
    honnin::Error::Camera(honnin::CameraError::DeviceMissing { device: device.into(), reason: reason.into() })
}

#[cfg(feature = "camera")]
fn camera(index: u32) -> honnin::Result<Box<dyn FrameSource>> {
    Ok(Box::new(honnin::CameraSource::open(index, honnin::CameraOptions::default())?))
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

pub(crate) fn counter(args: &CounterArgs) -> Result<ExitCode> {
    // The sandbox comes first, as in `verify`: the engine's threads and the
    // camera's capture thread start inside it. It lets the camera device,
    // and nothing else, be opened for writing (V4L2 needs it).
    let audit = args.audit.as_deref().map(crate::AuditSink::open).transpose()?;
    crate::sandbox_allowing(&args.sandbox, camera_device(args))?;
    let engine = if args.no_models { None } else { Some(args.engine.engine()?) };
    let config = SessionConfig {
        default_method: match args.propose {
            Proposal::Face => Method::Automatic,
            Proposal::Staff => Method::StaffVisual,
        },
        ..SessionConfig::default()
    };
    let counter = match &engine {
        Some(engine) => Counter::new(engine, config)?,
        None => Counter::without_models(config)?,
    };
    let card = args.input.card(&args.card)?;
    let (w, h) = card.dimensions();
    let kind = card.kind();
    outln!("honnin counter: card photo read ({w}x{h}, {}).", crate::kind_word(card.kind()));
    let mut session = counter.session(card);
    let mut input = std::io::stdin().lock();
    let outcome = loop {
        let Some(method) = ask_method(&session, &mut input)? else {
            outln!("Session ended without a decision.");
            return Ok(ExitCode::from(EXIT_INCONCLUSIVE));
        };
        session.choose(method)?;
        match method {
            Method::Automatic => {
                // The camera runs only during the face check: opened now,
                // closed when the check ends.
                let step = match open_source(args) {
                    Ok(mut source) => face_check(&mut session, source.as_mut())?,
                    Err(fault) => session.source_stopped(Some(&fault))?,
                };
                match step {
                    Step::Decided(outcome) => break outcome,
                    Step::StaffOffered(fallback) => {
                        outln!("The face check cannot continue: {}.", fallback_text(&fallback));
                        outln!("A member of staff will check your card instead.");
                    }
                    other => bail!("face check ended with {other:?}"),
                }
            }
            Method::StaffVisual => match staff_check(&mut session, &mut input, args.photo_columns)? {
                Some(outcome) => break outcome,
                None => {
                    outln!("Session ended without a decision.");
                    return Ok(ExitCode::from(EXIT_INCONCLUSIVE));
                }
            },
        }
    };
    let _ = session.finish();
    let how = match outcome.method {
        Method::Automatic => "face check",
        Method::StaffVisual => "staff visual check",
    };
    outln!("DECISION: {} ({how})", outcome.decision.code());
    if let Some(sink) = &audit {
        let record = match (outcome.method, &engine) {
            (Method::Automatic, Some(engine)) => AuditRecord::automatic(engine, &outcome, kind),
            _ => AuditRecord::staff(&outcome),
        };
        sink.write(&record)?;
    }
    Ok(match outcome.decision {
        Decision::Match => ExitCode::SUCCESS,
        Decision::NoMatch => ExitCode::from(EXIT_NO_MATCH),
        Decision::Inconclusive(_) => ExitCode::from(EXIT_INCONCLUSIVE),
    })
}

/// The person's choice of method, `None` when they end the session (`q` or end of input).
fn ask_method(session: &Session<'_>, input: &mut impl BufRead) -> Result<Option<Method>> {
    let offered = session.offered_methods();
    outln!("");
    outln!("How would you like to be checked?");
    for method in &offered {
        let proposed = if Some(*method) == session.proposed_method() { "   (proposed)" } else { "" };
        match method {
            Method::Automatic => outln!("  [f] face check with the camera{proposed}"),
            Method::StaffVisual => outln!("  [s] visual check by a member of staff{proposed}"),
        }
    }
    outln!("  [q] end");
    loop {
        out!("Choose, then press Enter: ");
        std::io::stdout().flush()?;
        let Some(key) = read_key(input)? else { return Ok(None) };
        let chosen = match key.as_str() {
            "f" => Method::Automatic,
            "s" => Method::StaffVisual,
            "q" => return Ok(None),
            _ => {
                outln!("Please type one of the letters shown.");
                continue;
            }
        };
        if offered.contains(&chosen) {
            return Ok(Some(chosen));
        }
        outln!("That method is not available now.");
    }
}

/// One line of input, trimmed and lowercased; `None` at the end of input.
fn read_key(input: &mut impl BufRead) -> Result<Option<String>> {
    let mut line = String::new();
    if input.read_line(&mut line).context("reading the keyboard")? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim().to_lowercase()))
}

/// Runs the face check to its last step: a decision or the staff offer.
fn face_check(session: &mut Session<'_>, source: &mut dyn FrameSource) -> Result<Step> {
    outln!("Face check: please look at the camera.");
    let mut last_guidance = None;
    let mut write_error = None;
    let step = session.run_face(source, |step| {
        let line = match step {
            Step::Continue(feedback) => match feedback.guidance() {
                Some(g) if last_guidance != Some(g) => {
                    last_guidance = Some(g);
                    Some(format!("  > {}  [{}]", g.message(), g.code()))
                }
                Some(_) => None,
                None => {
                    last_guidance = None;
                    Some(format!("  > Good, hold still ({}/{}).", feedback.collected, feedback.wanted))
                }
            },
            Step::Retry(record) if record.decision.is_some() => {
                Some("  > The photos did not match. Let us try once more.".to_string())
            }
            Step::Retry(_) => Some("  > No usable picture yet. Let us try again.".to_string()),
            _ => None,
        };
        if let Some(line) = line {
            if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
                write_error.get_or_insert(e);
            }
        }
    })?;
    if let Some(e) = write_error {
        return Err(e.into());
    }
    Ok(step)
}

fn fallback_text(fallback: &Fallback) -> String {
    match fallback {
        Fallback::NonMatches(n) => format!("{n} attempts did not match"),
        Fallback::NoUsableFrame(n, issue) => format!("{n} attempts without a usable picture ({})", issue.code()),
        Fallback::CameraFault(why) => format!("camera fault ({why})"),
        Fallback::SourceEnded => "the camera stopped".to_string(),
        Fallback::CardUnusable(reason) => format!("the card photo cannot be compared ({})", reason.code()),
        Fallback::EngineFault(why) => format!("model fault ({why})"),
        // Said to the person: neutral, no accusation; the terminal's audit line says what PAD found.
        Fallback::PresentationAttackSuspected => "the camera picture could not be confirmed as taken live".to_string(),
        _ => fallback.code().to_string(),
    }
}

/// The staff visual check: the card photo on the alternate screen, then the
/// staff's answer. `None` when staff end the session.
fn staff_check(session: &mut Session<'_>, input: &mut impl BufRead, columns: u32) -> Result<Option<Outcome>> {
    let photo = session.card_for_display(columns, columns.saturating_mul(3) / 2)?;
    let mut stdout = std::io::stdout().lock();
    // Alternate screen: what is drawn there leaves no trace in the
    // scrollback, and leaving it (`AlternateScreen`'s drop, on every path
    // out of this function, errors included) clears the photo away.
    let screen_guard = AlternateScreen::enter(&mut stdout)?;
    // Sized once for the whole picture: a growing string would leave
    // partial copies of the photo in freed memory.
    let mut screen = Zeroizing::new(String::with_capacity(picture_bytes(&photo) + 512));
    let capacity = screen.capacity();
    screen.push_str("STAFF VISUAL CHECK: compare the card photo with the person in front of you.\r\n\r\n");
    draw(&photo, &mut screen);
    drop(photo);
    screen.push_str("\r\n  [y] same person   [n] not the same person   [u] cannot tell   [q] end\r\n");
    debug_assert_eq!(screen.capacity(), capacity, "the picture's buffer never grows");
    stdout.write_all(screen.as_bytes())?;
    drop(screen);
    let judgement = loop {
        write!(stdout, "Staff answer, then Enter: ")?;
        stdout.flush()?;
        match read_key(input)?.as_deref() {
            Some("y") => break Some(StaffJudgement::SamePerson),
            Some("n") => break Some(StaffJudgement::DifferentPerson),
            Some("u") => break Some(StaffJudgement::Unsure),
            Some("q") | None => break None,
            Some(_) => writeln!(stdout, "Please type y, n, u or q.")?,
        }
    };
    // Leave the alternate screen: the photo is gone from the display.
    drop(screen_guard);
    drop(stdout);
    match judgement {
        Some(j) => Ok(Some(session.staff_decide(j)?)),
        None => Ok(None),
    }
}

/// The terminal's alternate screen while it lives.
struct AlternateScreen;

impl AlternateScreen {
    fn enter(out: &mut impl Write) -> Result<Self> {
        write!(out, "\x1b[?1049h\x1b[H\x1b[2J")?;
        Ok(Self)
    }
}

impl Drop for AlternateScreen {
    fn drop(&mut self) {
        // Best effort: a closed terminal has nothing left to show.
        let mut out = std::io::stdout();
        let _ = write!(out, "\x1b[?1049l");
        let _ = out.flush();
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
