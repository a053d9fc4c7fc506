//! `honnin verify`: one card photo against one live photo, its decision as
//! the exit code, in words or as JSON, with an optional audit record.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use honnin::audit::AuditRecord;
use honnin::hardening::HardeningReport;
use honnin::input::ReferenceKind;
use honnin::Decision;

use crate::audit::{AuditIds, AuditSink};
use crate::engine::EngineArgs;
use crate::input::InputArgs;
use crate::sandbox::{sandbox, SandboxArgs};

pub(crate) const EXIT_NO_MATCH: u8 = 1;
pub(crate) const EXIT_INCONCLUSIVE: u8 = 2;

/// What `honnin verify` compares, and how.
pub(crate) struct VerifyArgs {
    pub(crate) card: PathBuf,
    pub(crate) live: PathBuf,
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
        "card_reference": reference,
        "card_container": container,
        "card_format": format,
    })
}
