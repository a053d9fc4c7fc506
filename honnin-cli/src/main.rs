//! `honnin`: the command-line tool of a counter terminal, on the honnin
//! library: `verify` (one pair, or many with `--pairs`), `counter`, `card`,
//! `models` and `audit`. The measuring tools (eval, calibrate, fusion,
//! card-like, PAD evaluation and calibration) are `honnin-lab`'s.
//!
//! Exit codes of `honnin verify`:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | match |
//! | 1 | no match |
//! | 2 | inconclusive (no face, several faces, ...) |
//! | 3 | error (unreadable input, missing or tampered model, missing runtime, bad calibration) |
//! | 64 | usage error (unknown flag, missing argument) |
//!
//! `honnin counter` uses the same codes, and 4 when no key came in time and
//! 128 + N when signal N ended the session (`counter.rs`). `honnin audit
//! verify` has its own (`audit.rs`). Other commands exit 0 on success, 3 on
//! error and 64 on a usage error.

#[macro_use]
mod process;

mod audit;
mod batch;
mod counter;
mod engine;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use honnin::hardening::{HardeningReport, Status};
use honnin::{AuditRecord, CardData, CardPhoto, Decision, Limits, LiveFrame, Models, Reason, ReferenceKind, Side};

use crate::engine::EngineArgs;
use crate::process::{HardeningArgs, EXIT_USAGE};

pub(crate) const EXIT_NO_MATCH: u8 = 1;
pub(crate) const EXIT_INCONCLUSIVE: u8 = 2;

#[derive(Parser)]
#[command(name = "honnin", version, about = "On-device face verification: ID card photo vs live photo.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    hardening: HardeningArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Compare a card photo with a live photo. Exit 0 match, 1 no match, 2 inconclusive, 3 error.
    Verify {
        /// The card's reference photo: JPEG, JPEG 2000, PNG or WebP, or chip data
        /// (ICAO EF.DG2, ISO/IEC 19794-5 or 39794-5 record, My Number card-surface data).
        #[arg(long, required_unless_present = "pairs")]
        card: Option<PathBuf>,
        /// The live photo of the person at the counter.
        #[arg(long, required_unless_present = "pairs")]
        live: Option<PathBuf>,
        /// Verify many pairs in one process: a CSV file ("-": standard input)
        /// of card,live paths, one pair per line (a "card,live" header and
        /// lines starting with # are skipped). The models load once; one JSON
        /// line per pair, in input order. Exit 0 when every pair was decided,
        /// 3 when any pair failed (the others are still reported).
        #[arg(long, value_name = "CSV", conflicts_with_all = ["card", "live", "audit", "json"])]
        pairs: Option<PathBuf>,
        /// With --pairs: engines verifying pairs side by side, 1 to 8 (with
        /// more than one, each runs one intra-op thread per model unless
        /// --threads says otherwise; the scores are the same).
        /// (Default 2.)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8))]
        jobs: Option<u32>,
        #[command(flatten)]
        input: InputArgs,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
        /// Append one audit record (a JSON line without biometric data, see
        /// PRIVACY.md) to this hash-chained log, created with mode 0600; "-"
        /// writes it to standard output.
        #[arg(long, value_name = "FILE")]
        audit: Option<PathBuf>,
        #[command(flatten)]
        audit_ids: audit::AuditIds,
        #[command(flatten)]
        sandbox: SandboxArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// A counter session in the terminal: method choice, live guidance, decision; staff check with the card photo.
    Counter(counter::CounterArgs),
    /// Audit logs: `honnin audit verify FILE` checks a log's hash chain.
    Audit(audit::AuditArgs),
    /// Show what card data holds (container, face images, declared metadata) and
    /// decode the chosen image. Runs no model and prints no pixels.
    Card {
        /// The card data or card photo file.
        file: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the models in use, their verified sha256 and licences.
    Models {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Model directory holding manifest.json.
        #[arg(long, env = "HONNIN_MODELS", default_value = "models")]
        models: PathBuf,
    },
}

/// How untrusted card and live input is read.
#[derive(Args, Clone)]
pub(crate) struct InputArgs {
    /// Which face image of the card data to use, from 0 (a record may hold several).
    #[arg(long, default_value_t = 0)]
    pub(crate) face: usize,
    /// Lift every input limit (bytes, dimensions, decoder memory, TLV depth, faces).
    /// Only for trusted, offline data.
    #[arg(long)]
    pub(crate) no_limits: bool,
}

impl InputArgs {
    pub(crate) fn limits(&self) -> Limits {
        if self.no_limits {
            Limits::no_limits()
        } else {
            Limits::default()
        }
    }

    /// Reads card data and decodes the chosen face image.
    pub(crate) fn card(&self, path: &Path) -> Result<CardPhoto> {
        let limits = self.limits();
        let bytes = honnin::read_input_file(path, &limits)?;
        let data = CardData::parse(&bytes, &limits).with_context(|| format!("card data {}", path.display()))?;
        CardPhoto::from_card_data(&data, self.face, &limits).with_context(|| format!("card photo {}", path.display()))
    }

    /// Reads and decodes a live photo; its bytes are wiped once decoded.
    pub(crate) fn live(&self, path: &Path) -> Result<LiveFrame> {
        let limits = self.limits();
        let bytes = honnin::read_input_file(path, &limits)?;
        LiveFrame::from_bytes_with_limits(&bytes, &limits).with_context(|| format!("live photo {}", path.display()))
    }
}

fn main() -> ExitCode {
    process::main(run)
}

fn run(cli: Cli) -> Result<ExitCode> {
    // clap lets a `requires` lapse when its target conflicts with an argument
    // given (--pairs with --card), so this one is checked here.
    if let Command::Verify { jobs: Some(_), pairs: None, .. } = &cli.command {
        eprintln!("error: --jobs applies only with --pairs");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let hardening = cli.hardening.apply();
    match cli.command {
        Command::Verify { pairs: Some(pairs), input, sandbox, engine, jobs, .. } => {
            batch::verify_pairs(&pairs, &input, &sandbox, &engine, jobs.unwrap_or(2) as usize)
        }
        Command::Verify {
            card: Some(card), live: Some(live), input, json, audit, audit_ids, sandbox, engine, ..
        } => verify(&VerifyArgs { card, live, input, json, audit, audit_ids, sandbox, engine }, hardening.as_ref()),
        Command::Verify { .. } => unreachable!("clap requires --card and --live unless --pairs is given"),
        Command::Counter(args) => counter::counter(&args),
        Command::Audit(args) => audit::audit(&args),
        Command::Card { file, input, json } => inspect_card(&file, &input, json),
        Command::Models { json, models } => list_models(&models, json),
    }
}

/// Writes one line to standard output, reporting a closed or broken stdout.
pub(crate) fn write_line(line: &str) -> Result<()> {
    outln!("{line}");
    Ok(())
}

/// Sandbox switch of `honnin verify`.
#[derive(Args, Clone)]
pub(crate) struct SandboxArgs {
    /// Do not sandbox the process (by default, before any model loads, sockets,
    /// TCP and file writes are denied by seccomp and landlock).
    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    #[arg(long)]
    no_sandbox: bool,
}

struct VerifyArgs {
    card: PathBuf,
    live: PathBuf,
    input: InputArgs,
    json: bool,
    audit: Option<PathBuf>,
    audit_ids: audit::AuditIds,
    sandbox: SandboxArgs,
    engine: EngineArgs,
}

pub(crate) fn sandbox(args: &SandboxArgs) -> Result<Option<SandboxReport>> {
    sandbox_allowing(args, Vec::new())
}

#[cfg(all(feature = "sandbox", target_os = "linux"))]
type SandboxReport = honnin::sandbox::SandboxReport;
#[cfg(not(all(feature = "sandbox", target_os = "linux")))]
type SandboxReport = ();

/// Installs the sandbox, letting `devices` (a camera) be opened for writing.
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub(crate) fn sandbox_allowing(args: &SandboxArgs, devices: Vec<PathBuf>) -> Result<Option<SandboxReport>> {
    if args.no_sandbox {
        return Ok(None);
    }
    let options = honnin::sandbox::SandboxOptions { writable_devices: devices, ..Default::default() };
    let report = honnin::sandbox::restrict_with(options)?;
    for (layer, status) in [("landlock", &report.landlock), ("seccomp", &report.seccomp)] {
        if let Status::Failed(why) = status {
            eprintln!("honnin: warning: sandbox ({layer}) not in effect: {why}");
        }
    }
    Ok(Some(report))
}

#[cfg(not(all(feature = "sandbox", target_os = "linux")))]
pub(crate) fn sandbox_allowing(_args: &SandboxArgs, _devices: Vec<PathBuf>) -> Result<Option<SandboxReport>> {
    Ok(None)
}

fn verify(args: &VerifyArgs, hardening: Option<&HardeningReport>) -> Result<ExitCode> {
    let mut audit = args.audit.as_deref().map(|p| audit::AuditSink::open(p, &args.audit_ids)).transpose()?;
    let mut recorded = false;
    match verify_recorded(args, hardening, &mut audit, &mut recorded) {
        Ok(code) => Ok(code),
        // A one-shot verification is a session too: one that ended in a
        // fault (an unreadable input, a model or calibration refused) has
        // its record, written once.
        Err(e) => match audit.as_mut().filter(|_| !recorded) {
            Some(sink) => match sink.write(AuditRecord::without_session(None, honnin::Abandoned::Fault)) {
                Ok(()) => Err(e),
                Err(failed) => Err(e.context(format!("and the audit record of the fault failed: {failed:#}"))),
            },
            None => Err(e),
        },
    }
}

fn verify_recorded(
    args: &VerifyArgs,
    hardening: Option<&HardeningReport>,
    audit: &mut Option<audit::AuditSink>,
    recorded: &mut bool,
) -> Result<ExitCode> {
    // Before the engine exists: ONNX Runtime's threads then start sandboxed.
    let sandboxed = sandbox(&args.sandbox)?;
    // The inputs first: a missing, special or undecodable file is refused
    // before the models load.
    let started = Instant::now();
    let card = args.input.card(&args.card)?;
    let card_decode = started.elapsed();
    let started = Instant::now();
    let live = args.input.live(&args.live)?;
    let live_decode = started.elapsed();
    let engine = args.engine.engine()?;
    let outcome = engine.verify(&card, &live)?;
    let reference = card.kind();
    let (container, format) = (card.container(), card.format());
    // The decision is made: the pixels go now, not at the end of the function.
    drop((card, live));
    // On disk before the decision is reported.
    if let Some(sink) = audit {
        let record = AuditRecord::automatic(&engine, &outcome, reference)
            .with_decode_timings(Some(card_decode), Some(live_decode));
        // Written or not, this session's record is not attempted twice.
        *recorded = true;
        sink.write(record)?;
    }
    let word = outcome.decision.code();
    let (reason, code) = match outcome.decision {
        Decision::Match => (None, ExitCode::SUCCESS),
        Decision::NoMatch => (None, ExitCode::from(EXIT_NO_MATCH)),
        Decision::Inconclusive(r) => (Some(reason_text(r)), ExitCode::from(EXIT_INCONCLUSIVE)),
    };
    if args.json {
        let mut value = outcome_json(&outcome, reference, container, format);
        value["hardening"] = serde_json::json!(hardening);
        value["memory_lock"] = serde_json::json!(honnin::hardening::memory_lock_status());
        value["sandbox"] = serde_json::json!(sandboxed);
        outln!("{value}");
    } else {
        out!("{word}");
        if let Some(r) = reason {
            out!(": {r}");
        }
        if let (Some(s), Some(t)) = (outcome.score, outcome.threshold) {
            let fmr = t
                .target_fmr
                .map_or("uncalibrated".to_string(), |f| format!("target FMR {}", honnin::calibration::rate(f)));
            let metric = serde_json::to_value(s.metric).ok().and_then(|v| v.as_str().map(str::to_string));
            out!(" (score {:.4} {}, threshold {:.4} at {fmr})", s.value, metric.unwrap_or_default(), t.value);
        }
        outln!("");
    }
    let locking = honnin::hardening::memory_lock_status();
    if locking.enabled && locking.refused > 0 {
        eprintln!(
            "honnin: warning: {} of {} biometric buffers could not be locked in RAM (errno {}; raise RLIMIT_MEMLOCK)",
            locking.refused,
            locking.refused + locking.locked,
            locking.last_errno
        );
    }
    Ok(code)
}

/// The outcome of one verification as `--json` and `--pairs` print it.
pub(crate) fn outcome_json(
    outcome: &honnin::Outcome,
    reference: ReferenceKind,
    container: honnin::Container,
    format: honnin::ImageFormat,
) -> serde_json::Value {
    let (reason, reason_code) = match outcome.decision {
        Decision::Inconclusive(r) => (Some(reason_text(r)), Some(r.code())),
        _ => (None, None),
    };
    serde_json::json!({
        "decision": outcome.decision.code(),
        "reason": reason,
        "reason_code": reason_code,
        "score": outcome.score,
        "threshold": outcome.threshold,
        "method": outcome.method.code(),
        "pad": outcome.pad,
        "card_reference": reference,
        "card_container": container,
        "card_format": format,
    })
}

fn reason_text(reason: Reason) -> String {
    let side = |s: Side| match s {
        Side::Card => "card photo",
        Side::Live => "live photo",
    };
    match reason {
        Reason::NoFace(s) => format!("no face found in the {}", side(s)),
        Reason::MultipleFaces(s) => format!("several faces of similar size in the {}", side(s)),
        Reason::Unalignable(s) => format!("the face in the {} could not be aligned", side(s)),
        Reason::StaffUnsure => "staff could not tell".into(),
        Reason::PresentationAttackSuspected => {
            "the live image does not look like a live face (presentation attack suspected); offer the staff check"
                .into()
        }
        Reason::NotCalibrated(kind) => {
            format!("the calibration has no threshold for {} card photos at this target FMR", kind_word(kind))
        }
        other => format!("{other:?}"),
    }
}

/// A value's name as its JSON form spells it (`my_number_surface`, `jp2`),
/// never Rust's debug text.
fn word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "unknown".into(),
    }
}

pub(crate) fn kind_word(kind: ReferenceKind) -> &'static str {
    match kind {
        ReferenceKind::Colour => "colour",
        ReferenceKind::Grey => "grey",
    }
}

/// `honnin card`: the container and each face image's declared metadata, then
/// the chosen image decoded (its real size and colour). No pixel is printed.
fn inspect_card(path: &Path, input: &InputArgs, json: bool) -> Result<ExitCode> {
    let limits = input.limits();
    let bytes = honnin::read_input_file(path, &limits)?;
    let data = CardData::parse(&bytes, &limits).with_context(|| format!("card data {}", path.display()))?;
    let photo = CardPhoto::from_card_data(&data, input.face, &limits)
        .with_context(|| format!("face image {} of {}", input.face, path.display()))?;
    let images: Vec<serde_json::Value> = data
        .images()
        .iter()
        .map(|image| {
            serde_json::json!({
                "format": image.format(),
                "offset": image.offset(),
                "length": image.bytes().len(),
                "declared": image.metadata(),
            })
        })
        .collect();
    let (width, height) = photo.dimensions();
    if json {
        let value = serde_json::json!({
            "container": data.container(),
            "images": images,
            "decoded": {"face": input.face, "width": width, "height": height, "kind": photo.kind()},
        });
        outln!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{}: {}, {} face image(s)", path.display(), word(&data.container()), data.images().len());
    let code = |value: Option<u8>| value.map_or("not declared".to_string(), |v| format!("code {v}"));
    for (i, image) in data.images().iter().enumerate() {
        let m = image.metadata();
        let declared = match (m.declared_width, m.declared_height) {
            (Some(w), Some(h)) => format!("declared {w}x{h}"),
            _ => "no declared size".into(),
        };
        outln!(
            "  [{i}] {}, {} bytes at offset {}, {declared}, declared type {}, colour space {}, source {}, \
             {} feature point(s)",
            word(&image.format()),
            image.bytes().len(),
            image.offset(),
            m.declared_format.as_ref().map_or("not declared".to_string(), word),
            code(m.colour_space),
            code(m.source_type),
            m.feature_points.len()
        );
    }
    outln!("  decoded [{}]: {width}x{height}, {}", input.face, kind_word(photo.kind()));
    Ok(ExitCode::SUCCESS)
}

fn list_models(dir: &Path, json: bool) -> Result<ExitCode> {
    let models = Models::from_dir(dir).context("loading models")?;
    let info = models.describe();
    if json {
        outln!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        for m in info {
            outln!("{} ({})", m.id, m.role);
            let path = m.path.as_deref().map_or("(in memory)".into(), |p| p.display().to_string());
            outln!("  file     {path} ({} bytes)", m.bytes);
            outln!("  sha256   {} (verified)", m.sha256);
            outln!("  licence  {}", m.licence);
            outln!("  source   {}", m.source);
        }
    }
    Ok(ExitCode::SUCCESS)
}
