//! `honnin`: the command-line front end of the honnin crate.
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

/// `println!` that reports a closed or broken stdout as an error (exit code 3)
/// instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod audit;
mod batch;
mod cardlike;
mod counter;
mod evaluate;
mod fusion;
mod lfw;
mod pad;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use honnin::hardening::{HardeningOptions, HardeningReport, Status};
use honnin::audit::AuditRecord;
use honnin::{Calibration, CardPhoto, Decision, Engine, Limits, LiveFrame, Models, Policy, Reason};
use honnin::card::CardData;
use honnin::pad::{PadCalibration, PadPolicy};
use honnin::input::ReferenceKind;
use honnin::outcome::Side;

pub(crate) const EXIT_NO_MATCH: u8 = 1;
pub(crate) const EXIT_INCONCLUSIVE: u8 = 2;
const EXIT_ERROR: u8 = 3;
const EXIT_USAGE: u8 = 64;

/// Where tools/setup.py installs ONNX Runtime.
const DEFAULT_ORT_LIB: &str = ".runtime/libonnxruntime.so.1.31.1";

#[derive(Parser)]
#[command(name = "honnin", version, about = "On-device face verification: ID card photo vs live photo.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Skip process hardening (on by default: no core dumps, biometric
    /// buffers locked in RAM; freed heap memory is overwritten only with
    /// --wipe-freed-heap).
    #[arg(long, global = true)]
    no_hardening: bool,
    /// Also have glibc overwrite every freed heap block, ONNX Runtime's
    /// feature maps included (verification about 47 % slower; see PRIVACY.md).
    #[arg(long, global = true, conflicts_with = "no_hardening")]
    wipe_freed_heap: bool,
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
    /// Accuracy as ISO/IEC 19795-1 reports it: FNMR at target FMRs, EER, intervals, DET curve; LFW
    /// pairs, CSV pairs or identity folders; several model sets side by side.
    Eval(evaluate::EvalArgs),
    /// Measure thresholds on LFW View 1 DevTrain and write a calibration file.
    Calibrate(lfw::CalibrateArgs),
    /// Measure what fusing several frames does to FNMR at the calibrated FMR (simulated on LFW).
    Fusion(fusion::FusionArgs),
    /// Render LFW images as card-like references (160x200 grey JPEG 2000 of about 4 KB) for the card-like protocol.
    CardLike(cardlike::CardLikeArgs),
    /// Presentation-attack detection as ISO/IEC 30107-3 reports it: APCER per attack type and the
    /// maximum, BPCER, with counts and each image's decision; from live/ and attack/<type>/ folders
    /// or a labels CSV.
    PadEval(pad::PadEvalArgs),
    /// Set the PAD threshold for a target BPCER on bona fide images, and write the PAD calibration file.
    PadCalibrate(pad::PadCalibrateArgs),
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
        let bytes = honnin::input::read_input_file(path, &limits)?;
        let data = CardData::parse(&bytes, &limits).with_context(|| format!("card data {}", path.display()))?;
        CardPhoto::from_card_data(&data, self.face, &limits).with_context(|| format!("card photo {}", path.display()))
    }

    /// Reads and decodes a live photo; its bytes are wiped once decoded.
    pub(crate) fn live(&self, path: &Path) -> Result<LiveFrame> {
        let limits = self.limits();
        let bytes = honnin::input::read_input_file(path, &limits)?;
        LiveFrame::from_bytes_with_limits(&bytes, &limits).with_context(|| format!("live photo {}", path.display()))
    }
}

/// Flags shared by every command that runs models.
#[derive(Args, Clone)]
pub(crate) struct EngineArgs {
    /// Model directory holding manifest.json.
    #[arg(long, env = "HONNIN_MODELS", default_value = "models")]
    pub(crate) models: PathBuf,
    /// Calibration file (default: the calibration honnin ships for the
    /// recognizer, built in; calibration/<recognizer id>.json holds the same bytes).
    /// Another file needs --calibration-sha256.
    #[arg(long, value_name = "FILE")]
    pub(crate) calibration: Option<PathBuf>,
    /// Required sha256 of --calibration (default: one of the calibrations
    /// honnin ships); "any" accepts any file, with a warning.
    #[arg(long, value_name = "SHA256|any", value_parser = pin_arg, requires = "calibration")]
    pub(crate) calibration_sha256: Option<String>,
    /// Target false-match rate, between 0 and 1; the calibration must have a point for it.
    #[arg(long, default_value_t = honnin::calibration::DEFAULT_TARGET_FMR, value_parser = fmr_arg, allow_negative_numbers = true)]
    pub(crate) target_fmr: f64,
    /// ONNX Runtime shared library (default: $HONNIN_ORT_LIB, else .runtime/libonnxruntime.so.1.31.1).
    #[arg(long)]
    pub(crate) onnxruntime: Option<PathBuf>,
    /// Required sha256 of that library (default: the hash honnin pins for
    /// this CPU, of the PyPI build tools/setup.py installs, wherever the
    /// library is; "any" skips the check, with a warning).
    #[arg(long, value_name = "SHA256|any", value_parser = pin_arg)]
    pub(crate) onnxruntime_sha256: Option<String>,
    /// Intra-op threads per model, 1 to 64 (default: number of CPUs, at most 2).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=honnin::engine::MAX_INTRA_THREADS as i64))]
    pub(crate) threads: Option<u32>,
    /// Do not average each face's template with its mirror image's.
    #[arg(long)]
    pub(crate) no_mirror: bool,
    /// Turn presentation-attack detection off (it runs whenever the PAD models
    /// named by the manifest are in the model directory).
    #[arg(long, conflicts_with_all = ["pad_calibration", "pad_calibration_sha256"])]
    pub(crate) no_pad: bool,
    /// PAD calibration file (default: the one honnin ships, built in;
    /// calibration/pad-minifasnet.json holds the same bytes). Another file
    /// needs --pad-calibration-sha256.
    #[arg(long, value_name = "FILE")]
    pub(crate) pad_calibration: Option<PathBuf>,
    /// Required sha256 of --pad-calibration (default: the one honnin ships);
    /// "any" accepts any file, with a warning.
    #[arg(long, value_name = "SHA256|any", value_parser = pin_arg, requires = "pad_calibration")]
    pub(crate) pad_calibration_sha256: Option<String>,
}

/// How a calibration file is read under a pin from the command line: none
/// (one honnin ships), a sha256, or `any` (unpinned, with a warning).
type Loaders<T> =
    (fn(&Path) -> honnin::Result<T>, fn(&Path, &str) -> honnin::Result<T>, fn(&Path) -> honnin::Result<T>);

/// Reads the `what` at `path` under `pin` (the value of `flag`).
fn load_pinned<T>(path: &Path, pin: Option<&str>, what: &str, flag: &str, loaders: Loaders<T>) -> Result<T> {
    let (shipped, given, unpinned) = loaders;
    let loaded = match pin {
        None => shipped(path),
        Some("any") => {
            eprintln!(
                "honnin: warning: the {what} {} is not pinned ({flag} any): whoever can edit it decides the outcome",
                path.display()
            );
            unpinned(path)
        }
        Some(hex) => given(path, hex),
    };
    loaded.with_context(|| format!("loading the {what} {}", path.display()))
}

/// A sha256 pin on the command line: 64 hex digits, or "any".
fn pin_arg(value: &str) -> std::result::Result<String, String> {
    if value == "any" || (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err("expected a sha256 of 64 hex digits, or \"any\"".into())
    }
}

/// A target false-match rate: a number strictly between 0 and 1.
fn fmr_arg(value: &str) -> std::result::Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        Ok(_) => Err("expected a false-match rate strictly between 0 and 1, such as 1e-4".into()),
        Err(_) => Err("expected a number strictly between 0 and 1, such as 1e-4".into()),
    }
}

impl EngineArgs {
    pub(crate) fn onnxruntime_path(&self) -> PathBuf {
        if let Some(p) = &self.onnxruntime {
            return p.clone();
        }
        match std::env::var_os(honnin::runtime::ORT_LIB_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(DEFAULT_ORT_LIB),
        }
    }

    /// The library hash to require: as given, else the one honnin pins for
    /// this CPU, whatever the library's path; `any` skips the check, loudly.
    fn onnxruntime_pin(&self) -> Result<Option<String>> {
        match self.onnxruntime_sha256.as_deref() {
            Some("any") => {
                eprintln!(
                    "honnin: warning: the ONNX Runtime library {} is not pinned (--onnxruntime-sha256 any)",
                    self.onnxruntime_path().display()
                );
                Ok(None)
            }
            Some(hex) => Ok(Some(hex.to_string())),
            None => match honnin::runtime::PINNED_ONNXRUNTIME_SHA256 {
                Some(pin) => Ok(Some(pin.to_string())),
                None => anyhow::bail!(
                    "honnin pins no ONNX Runtime build for this CPU: give --onnxruntime-sha256 HEX (or any)"
                ),
            },
        }
    }

    /// The face calibration for `models`: --calibration under its pin, else
    /// the one honnin ships for the recognizer.
    pub(crate) fn calibration(&self, models: &Models) -> Result<Calibration> {
        let Some(path) = &self.calibration else {
            let id = models.recognizer_id();
            return honnin::Calibration::shipped(id)
                .with_context(|| {
                    format!("honnin ships no calibration for the recognizer {id}: give one with --calibration")
                })?
                .with_context(|| format!("the calibration shipped for {id}"));
        };
        let pin = self.calibration_sha256.as_deref();
        let loaders: Loaders<Calibration> = (
            |p| Calibration::from_file(p),
            |p, hex| Calibration::from_file_pinned(p, hex),
            |p| honnin::danger::unpinned_calibration(p),
        );
        load_pinned(path, pin, "calibration", "--calibration-sha256", loaders)
    }

    /// The PAD calibration: --pad-calibration under its pin, else the one honnin ships.
    pub(crate) fn pad_calibration(&self) -> Result<PadCalibration> {
        let Some(path) = &self.pad_calibration else {
            return Ok(PadCalibration::bundled()?);
        };
        let pin = self.pad_calibration_sha256.as_deref();
        let loaders: Loaders<PadCalibration> = (
            |p| PadCalibration::from_file(p),
            |p, hex| PadCalibration::from_file_pinned(p, hex),
            |p| honnin::danger::unpinned_pad_calibration(p),
        );
        load_pinned(path, pin, "PAD calibration", "--pad-calibration-sha256", loaders)
    }

    /// The models, verified.
    pub(crate) fn build_models(&self) -> Result<Models> {
        Models::from_dir(&self.models).context("loading models")
    }

    /// An engine with the calibrated policy.
    pub(crate) fn engine(&self) -> Result<Engine> {
        let models = self.build_models()?;
        let calibration = self.calibration(&models)?;
        let policy = Policy::from_calibration(&calibration, self.target_fmr)?;
        self.build(models, policy)
    }

    pub(crate) fn build(&self, models: Models, policy: Policy) -> Result<Engine> {
        let pad = if models.has_pad() && !self.no_pad {
            Some(PadPolicy::from_calibration(&self.pad_calibration()?))
        } else {
            None
        };
        self.build_with_pad(models, policy, pad)
    }

    /// As `build`, with the PAD policy given (`None`: PAD off).
    pub(crate) fn build_with_pad(&self, models: Models, policy: Policy, pad: Option<PadPolicy>) -> Result<Engine> {
        let mut builder =
            Engine::builder(models).onnxruntime(self.onnxruntime_path()).mirror_averaging(!self.no_mirror);
        if let Some(pad) = pad {
            builder = builder.pad(pad);
        }
        if let Some(pin) = self.onnxruntime_pin()? {
            builder = builder.onnxruntime_sha256(pin);
        }
        if let Some(threads) = self.threads {
            builder = builder.intra_threads(threads as usize);
        }
        Ok(builder.policy(policy).build()?)
    }
}

fn main() -> ExitCode {
    // Before any thread exists: ONNX Runtime's telemetry client stays off
    // (the library would set it too, but later, when threads may read the
    // environment).
    std::env::set_var(honnin::runtime::ORT_TELEMETRY_ENV, "1");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(EXIT_USAGE),
            };
        }
    };
    // clap lets a `requires` lapse when its target conflicts with an argument
    // given (--pairs with --card), so this one is checked here.
    if let Command::Verify { jobs: Some(_), pairs: None, .. } = &cli.command {
        eprintln!("error: --jobs applies only with --pairs");
        return ExitCode::from(EXIT_USAGE);
    }
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("honnin: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let hardening = (!cli.no_hardening).then(|| {
        let options = HardeningOptions { wipe_freed_heap: cli.wipe_freed_heap, ..HardeningOptions::default() };
        honnin::hardening::harden_process_with(options)
    });
    if let Some(report) = &hardening {
        for (measure, status) in [
            ("no core dumps", &report.no_core_dumps),
            ("freed heap wiping", &report.wipe_freed_heap),
            ("buffer locking", &report.lock_biometric_buffers),
        ] {
            if let Status::Failed(why) = status {
                eprintln!("honnin: warning: hardening ({measure}) not in effect: {why}");
            }
        }
    }
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
        Command::Eval(args) => evaluate::eval(&args).map(|()| ExitCode::SUCCESS),
        Command::Calibrate(args) => lfw::calibrate(&args).map(|()| ExitCode::SUCCESS),
        Command::Fusion(args) => fusion::fusion(&args).map(|()| ExitCode::SUCCESS),
        Command::CardLike(args) => cardlike::card_like(&args).map(|()| ExitCode::SUCCESS),
        Command::PadEval(args) => pad::pad_eval(&args).map(|()| ExitCode::SUCCESS),
        Command::PadCalibrate(args) => pad::pad_calibrate(&args).map(|()| ExitCode::SUCCESS),
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
            Some(sink) => match sink.write(AuditRecord::without_session(None, honnin::audit::Abandoned::Fault)) {
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
    container: honnin::card::Container,
    format: honnin::card::ImageFormat,
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
    let bytes = honnin::input::read_input_file(path, &limits)?;
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
