//! `honnin verify`: one card photo against one live photo, its decision as
//! the exit code, in words or as JSON, with an optional audit record.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use honnin::audit::{AuditAuthenticity, AuditRecord};
use honnin::authenticity::TrustAnchors;
use honnin::card::{CardData, Container};
use honnin::hardening::HardeningReport;
use honnin::input::ReferenceKind;
use honnin::{CardPhoto, Decision, Engine, Policy};

use crate::audit::{AuditIds, AuditSink};
use crate::engine::EngineArgs;
use crate::input::InputArgs;
use crate::process::EXIT_USAGE;
use crate::sandbox::{sandbox, SandboxArgs};

pub(crate) const EXIT_NO_MATCH: u8 = 1;
pub(crate) const EXIT_INCONCLUSIVE: u8 = 2;

/// How `honnin verify` checks that the card photo is the one its issuer wrote.
#[derive(Args, Clone, Default)]
pub(crate) struct AuthenticityArgs {
    /// EF.SOD of the passport (or other ICAO 9303 document) whose EF.DG2 is --card:
    /// passive authentication checks the photo's hash and the document signer's
    /// signature. A photo that fails is not compared (inconclusive, exit 2).
    #[arg(long, value_name = "SOD", requires = "card", conflicts_with = "card_certificate")]
    pub(crate) sod: Option<PathBuf>,
    /// The My Number card's surface certificate (EF 0004) for --card holding its
    /// card-surface data (EF 0002): checks the surface signature DF28.
    #[arg(long, value_name = "EF0004", requires = "card")]
    pub(crate) card_certificate: Option<PathBuf>,
    /// A trust anchor the signer's certificate must chain to: a CSCA
    /// certificate for --sod, the issuing CA for --card-certificate (X.509,
    /// DER or PEM; repeat the flag, or give a PEM bundle, for several).
    #[arg(long, visible_alias = "trust-anchor", value_name = "CERT")]
    pub(crate) csca: Vec<PathBuf>,
    /// Compare only a card photo verified to a trust anchor given with --csca
    /// (with --sod; a My Number card needs its chip too, so only a card reader
    /// session can satisfy it); any other is inconclusive (exit 2) without
    /// running a model. Needs --csca: a signature no anchor vouches for proves nothing.
    #[arg(long)]
    pub(crate) require_authentic: bool,
}

/// What `honnin verify` compares, and how.
pub(crate) struct VerifyArgs {
    pub(crate) card: PathBuf,
    pub(crate) live: PathBuf,
    pub(crate) authenticity: AuthenticityArgs,
    pub(crate) input: InputArgs,
    pub(crate) json: bool,
    pub(crate) audit: Option<PathBuf>,
    pub(crate) audit_ids: AuditIds,
    pub(crate) sandbox: SandboxArgs,
    pub(crate) engine: EngineArgs,
}

pub(crate) fn verify(args: &VerifyArgs, hardening: Option<&HardeningReport>) -> Result<ExitCode> {
    let mut audit = args.audit.as_deref().map(|p| AuditSink::open(p, &args.audit_ids)).transpose()?;
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
    audit: &mut Option<AuditSink>,
    recorded: &mut bool,
) -> Result<ExitCode> {
    // Before the engine exists: ONNX Runtime's threads then start sandboxed.
    let sandboxed = sandbox(&args.sandbox)?;
    // The inputs first: a missing, special or undecodable file is refused
    // before the models load.
    let started = Instant::now();
    let card = match checked_card(args)? {
        Checked::Photo(card) => card,
        Checked::Usage(message) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let card_decode = started.elapsed();
    let started = Instant::now();
    let live = args.input.live(&args.live)?;
    let live_decode = started.elapsed();
    let engine = engine(args)?;
    let outcome = engine.verify(&card, &live)?;
    let checked = args.authenticity.sod.is_some()
        || args.authenticity.card_certificate.is_some()
        || args.authenticity.require_authentic;
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
        Decision::Inconclusive(r) => (Some(r.to_string()), ExitCode::from(EXIT_INCONCLUSIVE)),
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
        if checked {
            outln!("authenticity: {}", outcome.authenticity);
        }
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

/// The card photo, or why the flags do not fit the card.
enum Checked {
    Photo(CardPhoto),
    Usage(String),
}

/// Reads and decodes the card photo; with `--sod` or `--card-certificate`,
/// checks it (a failed check is the photo's authenticity, not an error).
fn checked_card(args: &VerifyArgs) -> Result<Checked> {
    let flags = &args.authenticity;
    if flags.require_authentic && flags.csca.is_empty() {
        return Ok(Checked::Usage("--require-authentic needs --csca: without a trust anchor nothing can pass".into()));
    }
    let (check, flag) = match (&flags.sod, &flags.card_certificate) {
        (Some(sod), _) => (sod, "--sod"),
        (None, Some(certificate)) => (certificate, "--card-certificate"),
        (None, None) => {
            if !flags.csca.is_empty() {
                return Ok(Checked::Usage("--csca needs --sod or --card-certificate".into()));
            }
            return Ok(Checked::Photo(args.input.card(&args.card)?));
        }
    };
    let limits = args.input.limits();
    let path = args.card.display();
    let bytes = honnin::input::read_input_file(&args.card, &limits)?;
    let container = CardData::parse(&bytes, &limits).with_context(|| format!("card data {path}"))?.container();
    let wanted = if flag == "--sod" { Container::Dg2 } else { Container::MyNumberSurface };
    if container != wanted {
        let what = if flag == "--sod" { "ICAO EF.DG2" } else { "My Number card-surface data (EF 0002)" };
        return Ok(Checked::Usage(format!("{flag} checks a --card of {what}; {path} is not")));
    }
    if args.input.face != 0 {
        return Ok(Checked::Usage(format!("{flag} checks the first face image: --face must be 0")));
    }
    let security = honnin::input::read_input_file(check, &limits)?;
    let anchors = TrustAnchors::from_files(&flags.csca).context("reading the trust anchors (--csca)")?;
    let card = if flag == "--sod" {
        CardPhoto::from_dg2_with_sod(&bytes, &security, &anchors, &limits)
    } else {
        CardPhoto::from_my_number_surface(&bytes, &security, &anchors, &limits)
    };
    Ok(Checked::Photo(card.with_context(|| format!("card photo {path}"))?))
}

/// The engine at the calibrated policy, requiring authenticity when asked.
fn engine(args: &VerifyArgs) -> Result<Engine> {
    if !args.authenticity.require_authentic {
        return args.engine.engine();
    }
    let models = args.engine.build_models()?;
    let calibration = args.engine.calibration(&models)?;
    let policy = Policy::from_calibration(&calibration, args.engine.target_fmr)?.require_authentic(true);
    args.engine.build(models, policy)
}

/// The outcome of one verification as `--json` and `--pairs` print it.
pub(crate) fn outcome_json(
    outcome: &honnin::Outcome,
    reference: ReferenceKind,
    container: honnin::card::Container,
    format: honnin::card::ImageFormat,
) -> serde_json::Value {
    let (reason, reason_code) = match outcome.decision {
        Decision::Inconclusive(r) => (Some(r.to_string()), Some(r.code())),
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
        "authenticity": AuditAuthenticity::from(outcome.authenticity),
        "card_reference": reference,
        "card_container": container,
        "card_format": format,
    })
}
