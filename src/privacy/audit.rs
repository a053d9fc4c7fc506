//! Audit records: what was decided, how and with what, and nothing biometric.
//!
//! One [`AuditRecord`] per session, decided or abandoned, written as one JSON
//! line. A one-shot verification is a session of one attempt
//! ([`AuditRecord::automatic`]). Its schema is `docs/audit-record.schema.json`
//! ([`AUDIT_SCHEMA`] names its version). A record holds no pixels, templates,
//! landmarks, image hashes (a hash of a face image is an identifier that links
//! records of one person) or file names, and no comparison or liveness score:
//! the decisions and the threshold they were taken against are what an audit
//! needs, and a score would say how alike two faces are. Nor does it hold
//! anything read from the card: its authenticity is recorded as codes
//! (verified or failed, the proof, why it failed), never a certificate, a
//! document number or a hash.
//!
//! An [`AuditLog`] appends records to a file as a hash chain: each record
//! carries its sequence number and the sha256 of the line before it, and a
//! small head file next to the log names the last record. [`verify_chain`]
//! and [`verify_log_file`] find a record that was removed, changed or moved,
//! and a last line cut short.

use std::fs::File;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::card::authenticity::Authenticity;
use crate::counter::session::{AttemptRecord, Session};
use crate::decision::outcome::{Decision, Method, Outcome, PadCheck};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::input::decode::ReferenceKind;
use crate::pipeline::models::Metric;

/// Version tag of the record layout, the `schema` field of every record.
pub const AUDIT_SCHEMA: &str = "honnin-audit/2";

/// The `prev` of the first record of a log (and of a record written outside
/// a log): 64 zeros.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The first word of a head file.
const HEAD_FORMAT: &str = "honnin-audit-head/1";

/// Longest line a log may hold. A record is about 1.5 KB; a longer line is
/// not one honnin wrote.
pub const AUDIT_MAX_LINE: usize = 64 * 1024;

/// Longest terminal or operator identifier, in characters.
pub const AUDIT_MAX_ID_CHARS: usize = 64;

/// One session at the counter, for the audit trail. Built with
/// [`AuditRecord::session`], [`AuditRecord::automatic`] (a one-shot
/// verification), [`AuditRecord::staff`] or [`AuditRecord::without_session`];
/// every field is listed in the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Always [`AUDIT_SCHEMA`].
    pub schema: String,
    /// Position in the log, from 1; 0 for a record written outside a log.
    /// Set by [`AuditLog::append`].
    pub seq: u64,
    /// sha256 (hex) of the previous record's line, without its line end;
    /// [`AUDIT_GENESIS`] for the first. Set by [`AuditLog::append`].
    pub prev: String,
    /// When the record was made, UTC, to the second (RFC 3339).
    pub time: String,
    /// The terminal's identifier, from its configuration.
    pub terminal_id: Option<String>,
    /// The operator's identifier (a staff number), from configuration.
    pub operator_id: Option<String>,
    /// How the session ended: `decided`, or abandoned: `quit`, `timeout`,
    /// `signal` or `fault` ([`Abandoned`]).
    pub ended: String,
    /// `match`, `no_match` or `inconclusive`; `None` when no decision was made.
    pub outcome: Option<String>,
    /// `automatic` or `staff_visual`; `None` when no decision was made.
    pub method: Option<String>,
    /// Reason codes of the decision ([`Reason::code`](crate::Reason::code));
    /// empty for a match, a no-match or no decision.
    pub reasons: Vec<String>,
    /// Presentation-attack detection over the whole session: `attack_suspected`
    /// when any attempt's verdict was, else `live` when it ran, else `not_run`
    /// ([`PadCheck::code`]; no score).
    pub pad: String,
    /// Whether the card photo was the one its issuer wrote: codes only, nothing
    /// read from the card. Records written before issue 19 lack it and read
    /// as `not_checked`.
    #[serde(default)]
    pub authenticity: AuditAuthenticity,
    /// The path to the decision.
    pub session: AuditSession,
    /// The models the face check ran with (empty when it was not chosen).
    pub models: Vec<AuditModel>,
    /// The decision policy of the face check (absent when it was not chosen).
    pub policy: Option<AuditPolicy>,
    /// Fingerprint of the terminal's pipeline ([`Engine::pipeline_sha256`]);
    /// absent on a counter without models.
    pub pipeline_sha256: Option<String>,
    /// Stage timings in whole milliseconds, for an automatic decision only.
    pub timings_ms: Option<AuditTimings>,
    /// The honnin version that decided.
    pub honnin_version: String,
}

/// The card photo's authenticity in an audit record ([`Authenticity`] as codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditAuthenticity {
    /// `verified`, `not_checked` or `failed` ([`Authenticity::code`]).
    pub status: String,
    /// The proof checked: `passive_authentication` or `my_number_surface`
    /// ([`Scheme::code`](crate::authenticity::Scheme::code)); absent when
    /// not checked, or not known (a session whose face path closed on it).
    pub scheme: Option<String>,
    /// `chained` or `not_supplied`, for a verified photo.
    pub anchor: Option<String>,
    /// `answered` or `not_challenged`, for a verified photo.
    pub chip: Option<String>,
    /// Why the check failed ([`Failure::code`](crate::authenticity::Failure::code)), for a failed one.
    pub failure: Option<String>,
}

impl Default for AuditAuthenticity {
    fn default() -> Self {
        Self::from(Authenticity::NotChecked)
    }
}

impl From<Authenticity> for AuditAuthenticity {
    fn from(authenticity: Authenticity) -> Self {
        let mut record = AuditAuthenticity {
            status: authenticity.code().into(),
            scheme: None,
            anchor: None,
            chip: None,
            failure: None,
        };
        match authenticity {
            Authenticity::NotChecked => {}
            Authenticity::Verified { scheme, anchor, chip } => {
                record.scheme = Some(scheme.code().into());
                record.anchor = Some(anchor.code().into());
                record.chip = Some(chip.code().into());
            }
            Authenticity::Failed { scheme, failure } => {
                record.scheme = Some(scheme.code().into());
                record.failure = Some(failure.code().into());
            }
        }
        record
    }
}

/// How a session reached its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSession {
    /// The methods the person chose, in order (`automatic`, `staff_visual`).
    pub choices: Vec<String>,
    /// Each face-check attempt, in order.
    pub attempts: Vec<AuditAttempt>,
    /// Why the face path closed ([`Fallback::code`](crate::counter::Fallback::code)), if it did.
    pub fallback: Option<String>,
}

/// One face-check attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditAttempt {
    /// `match`, `no_match`, `inconclusive`, or `no_usable_frame` when no
    /// frame passed the quality gate.
    pub decision: String,
    /// The reason code of an inconclusive attempt.
    pub reason: Option<String>,
    /// `not_run`, `live` or `attack_suspected` (no score).
    pub pad: String,
    /// Frames read.
    pub frames: u64,
    /// Usable frames compared (fused when more than one).
    pub used: u64,
}

/// A model that ran: what it is, not what it saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditModel {
    /// Manifest id.
    pub id: String,
    /// `detector`, `recognizer` or `pad`.
    pub role: String,
    /// sha256 of the model file (hex), as verified at load.
    pub sha256: String,
}

/// The policy a decision was taken under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPolicy {
    /// Target false-match rate; absent for an uncalibrated policy.
    pub target_fmr: Option<f64>,
    /// The threshold applied (rounded to 4 decimals); absent when no
    /// threshold exists for the card photo's kind.
    pub threshold: Option<f64>,
    /// `euclidean` or `cosine`.
    pub metric: Metric,
    /// `colour` or `grey`: the kind of card photo, which chose the threshold.
    pub reference: ReferenceKind,
    /// The face calibration's sha256 and how it was pinned (`shipped`,
    /// `given`, `unpinned`); absent for a policy built in code.
    pub calibration: Option<crate::decision::pin::CalibrationSource>,
    /// The same for the PAD calibration, when PAD ran.
    pub pad_calibration: Option<crate::decision::pin::CalibrationSource>,
}

/// Whole milliseconds per stage; absent where the caller did not time it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditTimings {
    /// Reading and decoding the card photo (timed by the caller).
    pub card_decode: Option<f64>,
    /// Reading and decoding the live frame (timed by the caller).
    pub live_decode: Option<f64>,
    /// Card face: detect, align, embed.
    pub card_template: f64,
    /// Live face: detect, align, embed.
    pub live_template: f64,
    /// Score and decision.
    pub compare: f64,
}

/// Why a session ended without a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Abandoned {
    /// The person or staff ended it (a quit key, the end of input).
    Quit,
    /// Nobody answered in time.
    Timeout,
    /// The process was told to stop (SIGINT, SIGTERM, SIGHUP).
    Signal,
    /// An error ended it.
    Fault,
    /// The card was taken out of the reader.
    CardRemoved,
}

impl Abandoned {
    /// `quit`, `timeout`, `signal` or `fault`, as records write it.
    pub fn code(&self) -> &'static str {
        match self {
            Abandoned::Quit => "quit",
            Abandoned::Timeout => "timeout",
            Abandoned::Signal => "signal",
            Abandoned::Fault => "fault",
            Abandoned::CardRemoved => "card_removed",
        }
    }
}

/// Whole milliseconds: enough to see a slow stage, too coarse to tell card
/// photos apart by how long they took to decode (with the time of day, finer
/// timings would be a weak identifier of the card).
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e3).round()
}

fn reason_of(decision: Decision) -> Option<String> {
    match decision {
        Decision::Inconclusive(r) => Some(r.code().to_string()),
        _ => None,
    }
}

impl From<&AttemptRecord> for AuditAttempt {
    fn from(a: &AttemptRecord) -> Self {
        AuditAttempt {
            decision: a.decision.map_or("no_usable_frame", |d| d.code()).into(),
            reason: a.decision.and_then(reason_of),
            pad: a.pad.code().into(),
            frames: a.frames as u64,
            used: a.used as u64,
        }
    }
}

/// The strongest verdict: a suspicion outweighs a pass, a pass outweighs none.
fn strongest_pad<'a>(codes: impl IntoIterator<Item = &'a str>) -> String {
    let mut worst = PadCheck::NotRun.code();
    for code in codes {
        match code {
            "attack_suspected" => return code.into(),
            "live" => worst = code,
            _ => {}
        }
    }
    worst.into()
}

impl AuditRecord {
    fn blank(ended: &str) -> Self {
        AuditRecord {
            schema: AUDIT_SCHEMA.into(),
            seq: 0,
            prev: AUDIT_GENESIS.into(),
            time: rfc3339_utc(SystemTime::now()),
            terminal_id: None,
            operator_id: None,
            ended: ended.into(),
            outcome: None,
            method: None,
            reasons: Vec::new(),
            pad: PadCheck::NotRun.code().into(),
            authenticity: AuditAuthenticity::default(),
            session: AuditSession { choices: Vec::new(), attempts: Vec::new(), fallback: None },
            models: Vec::new(),
            policy: None,
            pipeline_sha256: None,
            timings_ms: None,
            honnin_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    fn set_outcome(&mut self, outcome: &Outcome) {
        self.ended = "decided".into();
        self.authenticity = outcome.authenticity.into();
        self.outcome = Some(outcome.decision.code().into());
        self.method = Some(outcome.method.code().into());
        self.reasons = reason_of(outcome.decision).into_iter().collect();
        if outcome.method == Method::Automatic {
            let t = outcome.timings;
            self.timings_ms = Some(AuditTimings {
                card_decode: None,
                live_decode: None,
                card_template: millis(t.card_template),
                live_template: millis(t.live_template),
                compare: millis(t.compare),
            });
        }
    }

    /// The models and policy of a face check run by `engine` on a card photo
    /// of kind `reference`; `applied` is the threshold of the decision, if any.
    fn set_face_check(
        &mut self,
        engine: &Engine,
        reference: ReferenceKind,
        applied: Option<crate::outcome::Threshold>,
    ) {
        // The PAD models are listed when they ran.
        let pad_ran = self.pad != PadCheck::NotRun.code();
        self.models = engine
            .models()
            .iter()
            .filter(|m| pad_ran || m.role != "pad")
            .map(|m| AuditModel { id: m.id.clone(), role: m.role.clone(), sha256: m.sha256.to_ascii_lowercase() })
            .collect();
        let policy = engine.policy();
        // The threshold the decision was made against (a fused probe's is its
        // own), else the one the policy has for this kind of card photo.
        let applied = applied.or_else(|| policy.threshold(reference));
        let threshold = applied.map(|t| (f64::from(t.value) * 1e4).round() / 1e4);
        let pad_calibration = engine.pad_policy().filter(|_| pad_ran).and_then(|p| p.calibration_source()).cloned();
        self.policy = Some(AuditPolicy {
            target_fmr: policy.target_fmr(),
            threshold,
            metric: policy.metric(),
            reference,
            calibration: policy.calibration_source().cloned(),
            pad_calibration,
        });
    }

    /// The record of a session: the methods chosen, each attempt's decision
    /// and PAD verdict, the fallback, and the decision, or, when the session
    /// has none, how it was abandoned (`if_undecided`).
    pub fn session(session: &Session, if_undecided: Abandoned) -> Self {
        let mut record = Self::blank(if_undecided.code());
        let outcome = session.outcome();
        if let Some(outcome) = outcome {
            record.set_outcome(outcome);
        }
        record.session = AuditSession {
            choices: session.choices().iter().map(|m| m.code().to_string()).collect(),
            attempts: session.attempts().iter().map(AuditAttempt::from).collect(),
            fallback: session.fallback().map(|f| f.code().to_string()),
        };
        // The card photo's authenticity, as the session knew it (also for a
        // decision by staff or PIN, and when the face path closed on it).
        record.authenticity = session.card_authenticity().into();
        let final_pad = outcome.map_or(PadCheck::NotRun.code(), |o| o.pad.code());
        record.pad =
            strongest_pad(record.session.attempts.iter().map(|a| a.pad.as_str()).chain(std::iter::once(final_pad)));
        if let Some(engine) = session.engine() {
            record.pipeline_sha256 = Some(engine.pipeline_sha256().into());
            if session.choices().contains(&Method::Automatic) {
                let applied = outcome.filter(|o| o.method == Method::Automatic).and_then(|o| o.threshold);
                record.set_face_check(engine, session.card_kind(), applied);
            }
        }
        record
    }

    /// The record of a one-shot automatic verification by `engine` against a
    /// card photo of kind `reference`: a session of one attempt.
    pub fn automatic(engine: &Engine, outcome: &Outcome, reference: ReferenceKind) -> Self {
        let mut record = Self::blank("decided");
        record.set_outcome(outcome);
        record.pad = outcome.pad.code().into();
        record.session = AuditSession {
            choices: vec![Method::Automatic.code().into()],
            attempts: vec![AuditAttempt {
                decision: outcome.decision.code().into(),
                reason: reason_of(outcome.decision),
                pad: outcome.pad.code().into(),
                frames: 1,
                used: u64::from(outcome.score.is_some()),
            }],
            fallback: None,
        };
        record.pipeline_sha256 = Some(engine.pipeline_sha256().into());
        record.set_face_check(engine, reference, outcome.threshold);
        record
    }

    /// The record of a staff visual check made outside a session: no
    /// attempt, no model, no policy.
    pub fn staff(outcome: &Outcome) -> Self {
        let mut record = Self::blank("decided");
        record.set_outcome(outcome);
        record.session.choices = vec![outcome.method.code().into()];
        record
    }

    /// The record of a run that ended (`why`) before its session began: the
    /// card could not be read, the models failed to load, a signal came
    /// first. `engine` is the terminal's, if it had one by then.
    pub fn without_session(engine: Option<&Engine>, why: Abandoned) -> Self {
        let mut record = Self::blank(why.code());
        record.pipeline_sha256 = engine.map(|e| e.pipeline_sha256().to_string());
        record
    }

    /// Sets the terminal and operator identifiers (see [`check_audit_id`]).
    pub fn with_ids(mut self, terminal_id: Option<&str>, operator_id: Option<&str>) -> Result<Self> {
        for id in [terminal_id, operator_id].into_iter().flatten() {
            check_audit_id(id)?;
        }
        self.terminal_id = terminal_id.map(str::to_string);
        self.operator_id = operator_id.map(str::to_string);
        Ok(self)
    }

    /// Adds the caller's decode timings (to an automatic decision's record).
    pub fn with_decode_timings(mut self, card: Option<Duration>, live: Option<Duration>) -> Self {
        if let Some(t) = &mut self.timings_ms {
            t.card_decode = card.map(millis);
            t.live_decode = live.map(millis);
        }
        self
    }

    /// The record as one line of JSON, newline included.
    pub fn to_line(&self) -> String {
        // Serialising plain strings, numbers and enums cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }

    /// Writes the record, outside any log (`seq` 0), as one JSON line with a
    /// single `write_all`. For a chained log use [`AuditLog::append`].
    pub fn write_line(&self, mut out: impl Write) -> Result<()> {
        out.write_all(self.to_line().as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::Write { what: "audit record".into(), source: e })
    }
}

/// Checks a terminal or operator identifier: 1 to [`AUDIT_MAX_ID_CHARS`]
/// characters, each an ASCII letter, digit, punctuation mark or space, or a
/// non-ASCII letter or digit (so `窓口3` is accepted); no line end, control or
/// invisible formatting character, and no space at either end.
pub fn check_audit_id(id: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_graphic() || c == ' ' || (!c.is_ascii() && c.is_alphanumeric());
    let chars = id.chars().count();
    if chars == 0 || chars > AUDIT_MAX_ID_CHARS || !id.chars().all(allowed) || id.starts_with(' ') || id.ends_with(' ')
    {
        return Err(Error::InvalidArgument {
            reason: format!(
                "an identifier of 1 to {AUDIT_MAX_ID_CHARS} letters, digits, punctuation marks or inner spaces"
            ),
        });
    }
    Ok(())
}

/// sha256 (hex) of a record's line, without its line end: what the next
/// record's `prev` holds.
pub fn audit_line_sha256(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    crate::pipeline::models::hex(&Sha256::digest(line))
}

/// The last record of a chain: its sequence number and the sha256 of its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// Sequence number (0 for an empty log).
    pub seq: u64,
    /// sha256 (hex) of the record's line ([`AUDIT_GENESIS`] for an empty log).
    pub sha256: String,
}

impl ChainHead {
    /// The head of an empty log.
    pub fn genesis() -> Self {
        Self { seq: 0, sha256: AUDIT_GENESIS.into() }
    }

    /// The head file's content: one line of fixed length, so that it is
    /// rewritten in place.
    fn to_line(&self) -> String {
        format!("{HEAD_FORMAT} {:020} {}\n", self.seq, self.sha256)
    }

    /// Reads a head file's content; `None` for an empty file.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Option<Self>, ChainError> {
        if bytes.is_empty() {
            return Ok(None);
        }
        let bad = |why: &str| ChainError::HeadMalformed { reason: why.into() };
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not text"))?;
        let line = text.strip_suffix('\n').ok_or_else(|| bad("no line end"))?;
        let mut words = line.split(' ');
        let (format, seq, sha) = (words.next(), words.next(), words.next());
        if format != Some(HEAD_FORMAT) || words.next().is_some() {
            return Err(bad("not a honnin-audit-head/1 line"));
        }
        let seq =
            seq.filter(|s| s.len() == 20).and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad sequence number"))?;
        let sha = sha.filter(|s| is_sha256_hex(s)).ok_or_else(|| bad("bad sha256"))?;
        Ok(Some(Self { seq, sha256: sha.into() }))
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The head file of the log at `log`: the same path with `.head` appended.
pub fn audit_head_path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".head");
    PathBuf::from(name)
}

/// What is wrong with an audit log.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChainError {
    /// The log could not be read.
    Io(std::io::Error),
    /// A line is not a record of this schema (or is longer than [`AUDIT_MAX_LINE`]).
    Malformed {
        /// Line number, from 1.
        line: u64,
        /// What is wrong (never the line's content).
        reason: String,
    },
    /// A record's sequence number is not the one after the previous record's:
    /// a record was removed or moved.
    Sequence {
        /// Line number, from 1.
        line: u64,
        /// The sequence number this line should hold.
        expected: u64,
        /// The one it holds.
        found: u64,
    },
    /// A record's `prev` is not the sha256 of the line before it: that line
    /// was changed, or records were removed or moved.
    BrokenLink {
        /// Line number, from 1.
        line: u64,
    },
    /// The last line has no line end: a write cut short (a power cut), or
    /// the file was cut. Every record before it links up, and the head file
    /// (when checked) names the last of them.
    TornLastLine {
        /// Line number, from 1.
        line: u64,
        /// Byte offset where the torn line starts.
        offset: u64,
        /// Intact records before it.
        intact: u64,
    },
    /// The head file names another last record than the log ends with: the
    /// last records were removed or changed (or the head file was).
    HeadMismatch {
        /// What the head file says.
        head: ChainHead,
        /// The log's last intact record.
        last: ChainHead,
        /// Whether the log also ends in a torn line.
        torn: bool,
    },
    /// The log has records and no head file: its end cannot be checked.
    HeadMissing,
    /// The head file is not one honnin wrote.
    HeadMalformed {
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "reading the log: {e}"),
            Self::Malformed { line, reason } => write!(f, "line {line} is not an audit record: {reason}"),
            Self::Sequence { line, expected, found } => write!(
                f,
                "line {line} holds record {found} where record {expected} belongs: a record was removed or moved"
            ),
            Self::BrokenLink { line } => write!(
                f,
                "line {line} does not link to the line before it (its prev is not that line's sha256): \
                 a record was changed, removed or moved"
            ),
            Self::TornLastLine { line, offset, intact } => write!(
                f,
                "the last line (line {line}, from byte {offset}) is torn: it has no line end (a write cut short \
                 by a power cut, or the file was cut); the {intact} records before it are intact"
            ),
            Self::HeadMismatch { head, last, torn } => {
                write!(
                    f,
                    "the head file names record {} (sha256 {}), but the log's last intact record is {} (sha256 {}): ",
                    head.seq, head.sha256, last.seq, last.sha256
                )?;
                if head.seq > last.seq {
                    write!(f, "records at the end were removed or cut")?;
                } else if head.seq == last.seq {
                    write!(f, "the last record was changed")?;
                } else {
                    write!(f, "the head file is behind the log (records added without it, or it was replaced)")?;
                }
                if *torn {
                    write!(f, "; the log also ends in a torn line")?;
                }
                Ok(())
            }
            Self::HeadMissing => {
                write!(f, "the log has records but no head file, so a removed last record would not show")
            }
            Self::HeadMalformed { reason } => write!(f, "the head file is not one honnin wrote: {reason}"),
        }
    }
}

/// As for [`AuditLogError`], the message holds the underlying error.
impl std::error::Error for ChainError {}

impl ChainError {
    /// True for a torn last line alone (everything before it intact and the
    /// head file agreeing): what a power cut during a write leaves.
    pub fn is_torn_tail(&self) -> bool {
        matches!(self, Self::TornLastLine { .. })
    }
}

/// An intact chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainReport {
    /// Records in the log.
    pub records: u64,
    /// The last record (the genesis head for an empty log).
    pub last: ChainHead,
    /// Whether the end was checked against a head file.
    pub head_checked: bool,
    /// The head file names the record before the last: the last was written
    /// and synced, and the head file not yet updated (a power cut between the
    /// two). Not a sign of tampering; the next append updates it.
    pub head_behind_by_one: bool,
}

/// Reads one line of at most [`AUDIT_MAX_LINE`] bytes into `line` (line end
/// included when there is one); the number of bytes read, 0 at the end.
fn read_line_capped(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    line.clear();
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(Some(line.len()));
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > AUDIT_MAX_LINE + 1 {
            return Ok(None);
        }
        line.extend_from_slice(&available[..take]);
        input.consume(take);
        if done {
            return Ok(Some(line.len()));
        }
    }
}

/// Parses one line (without its end) as a record of this schema.
fn parse_record(line: &[u8], number: u64) -> std::result::Result<AuditRecord, ChainError> {
    let record: AuditRecord = serde_json::from_slice(line).map_err(|e| ChainError::Malformed {
        line: number,
        // serde_json's message names the problem and a column; it may quote
        // a value, and records hold nothing biometric.
        reason: format!("not a {AUDIT_SCHEMA} record ({e})"),
    })?;
    if record.schema != AUDIT_SCHEMA {
        return Err(ChainError::Malformed { line: number, reason: format!("schema is not {AUDIT_SCHEMA}") });
    }
    Ok(record)
}

/// Checks that `log` is an unbroken chain of records: each line a record of
/// this schema, numbered from 1 without gap, each `prev` the sha256 of the
/// line before. With `head` (what the head file names; the genesis head for
/// an empty head file) the log must also end with that record. Stops at the
/// first problem.
pub fn verify_chain(log: impl Read, head: Option<&ChainHead>) -> std::result::Result<ChainReport, ChainError> {
    let mut input = std::io::BufReader::new(log);
    let mut line = Vec::new();
    let (mut number, mut offset) = (0u64, 0u64);
    let mut last = ChainHead::genesis();
    // The prev of the last record: the head file may lag one record behind.
    let mut last_prev = String::new();
    let mut torn = None;
    loop {
        let n = read_line_capped(&mut input, &mut line).map_err(ChainError::Io)?;
        number += 1;
        let Some(n) = n else {
            return Err(ChainError::Malformed { line: number, reason: format!("longer than {AUDIT_MAX_LINE} bytes") });
        };
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            torn = Some(ChainError::TornLastLine { line: number, offset, intact: last.seq });
            break;
        }
        let record = parse_record(&line[..n - 1], number)?;
        if record.seq != last.seq + 1 {
            return Err(ChainError::Sequence { line: number, expected: last.seq + 1, found: record.seq });
        }
        if record.prev != last.sha256 {
            return Err(ChainError::BrokenLink { line: number });
        }
        last_prev = record.prev;
        last = ChainHead { seq: record.seq, sha256: audit_line_sha256(&line) };
        offset += n as u64;
    }
    let mut report =
        ChainReport { records: last.seq, last: last.clone(), head_checked: false, head_behind_by_one: false };
    if let Some(head) = head {
        report.head_checked = true;
        if *head != last {
            if head.seq + 1 == last.seq && head.sha256 == last_prev {
                report.head_behind_by_one = true;
            } else {
                return Err(ChainError::HeadMismatch { head: head.clone(), last, torn: torn.is_some() });
            }
        }
    }
    match torn {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// [`verify_chain`] on the log at `path`, against its head file
/// ([`audit_head_path`]) when `check_head` is set: a missing head file is
/// [`ChainError::HeadMissing`] for a log with records. Holds a shared lock on
/// the log while reading, so that a record being appended is not taken for a
/// torn line.
pub fn verify_log_file(path: &Path, check_head: bool) -> std::result::Result<ChainReport, ChainError> {
    let file = open_regular(path).map_err(ChainError::Io)?;
    file.lock_shared().map_err(ChainError::Io)?;
    let head = if check_head {
        match open_regular(&audit_head_path(path)) {
            Ok(head) => {
                Some(ChainHead::parse(&read_head(&head).map_err(ChainError::Io)?)?.unwrap_or_else(ChainHead::genesis))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Only an empty log may go without a head file.
                if file.metadata().map_err(ChainError::Io)?.len() > 0 {
                    return Err(ChainError::HeadMissing);
                }
                Some(ChainHead::genesis())
            }
            Err(e) => return Err(ChainError::Io(e)),
        }
    } else {
        None
    };
    verify_chain(&file, head.as_ref())
}

/// Opens a regular file for reading; anything else (a FIFO, which would
/// block, a device, a directory) is refused.
fn open_regular(path: &Path) -> std::io::Result<File> {
    let file = crate::input::file::open_for_reading(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(file)
}

/// A head file's bytes (refused beyond 4 KiB: a head line is 106 bytes).
fn read_head(file: &File) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    if len > 4096 {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "a head file longer than 4 KiB"));
    }
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, 0)?;
    Ok(bytes)
}

/// Why an audit log refused to open or to take a record.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuditLogError {
    /// Opening, reading, writing or syncing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Group or others may read or write the file: an audit log is for its
    /// owner only (`chmod 600` it, or start a new one).
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The path is not a regular file (a directory, a device, a symbolic link).
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The end of the existing log does not check out (torn, changed, another
    /// schema, head file disagreeing): honnin appends nothing after it. Have
    /// it examined (`honnin audit verify`) and start a new log.
    Chain {
        /// The log.
        path: PathBuf,
        /// What is wrong.
        error: ChainError,
    },
    /// The record cannot be written as it is (an invalid identifier).
    InvalidRecord {
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for AuditLogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "audit log {}: {source}", path.display()),
            Self::NotPrivate { path, mode } => write!(
                f,
                "audit log {}: mode {:03o} lets others read or write it; an audit log must be 600",
                path.display(),
                mode & 0o777
            ),
            Self::NotAFile { path } => write!(f, "audit log {}: not a regular file", path.display()),
            Self::Chain { path, error } => {
                write!(f, "audit log {}: refusing to append: {error}", path.display())
            }
            Self::InvalidRecord { reason } => write!(f, "audit record: {reason}"),
        }
    }
}

/// The messages already end with the underlying error, so `source` does not
/// return it again (a chain printer would repeat it).
impl std::error::Error for AuditLogError {}

/// How long an append waits for another writer's lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// An append-only, hash-chained audit log.
///
/// The log file and its head file ([`audit_head_path`]) are opened once
/// (open them before a sandbox forbids opening files for writing), created
/// with mode 0600, and refused when group or others may use them or when
/// either is a symbolic link. Each [`append`](Self::append), under an
/// exclusive `flock` on the log, reads the last record, checks it against
/// the head file, writes the new record as one line to the `O_APPEND` file,
/// syncs it, then rewrites and syncs the head file. A log whose end does not
/// check out is never appended to.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    log: File,
    head_path: PathBuf,
    head: File,
}

impl AuditLog {
    /// Opens (or creates) the log at `path` and its head file, and checks
    /// that the log's end is intact.
    pub fn open(path: impl AsRef<Path>) -> std::result::Result<Self, AuditLogError> {
        let path = path.as_ref().to_path_buf();
        let head_path = audit_head_path(&path);
        let log = open_private(&path, true)?;
        let head = open_private(&head_path, false)?;
        // A new file's directory entry must survive a power cut too.
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(dir).and_then(|d| d.sync_all()).map_err(|source| AuditLogError::Io { path: dir.into(), source })?;
        let this = Self { path, log, head_path, head };
        this.locked(|this| this.tail().map(drop))?;
        Ok(this)
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as the next link of the chain: sets its `seq` and
    /// `prev`, writes it, and returns once it is on disk (log and head file
    /// synced). Report the decision only after this returns.
    pub fn append(&mut self, record: &mut AuditRecord) -> std::result::Result<ChainHead, AuditLogError> {
        for id in [&record.terminal_id, &record.operator_id].into_iter().flatten() {
            check_audit_id(id).map_err(|e| AuditLogError::InvalidRecord { reason: e.to_string() })?;
        }
        if record.schema != AUDIT_SCHEMA {
            return Err(AuditLogError::InvalidRecord { reason: format!("a {AUDIT_SCHEMA} record") });
        }
        self.locked(|this| {
            let tail = this.tail()?;
            record.seq = tail.seq + 1;
            record.prev = tail.sha256;
            let line = record.to_line();
            // One line, appended whole under the lock.
            (&this.log).write_all(line.as_bytes()).map_err(|e| this.io_err(e))?;
            this.log.sync_data().map_err(|e| this.io_err(e))?;
            let head = ChainHead { seq: record.seq, sha256: audit_line_sha256(line.as_bytes()) };
            write_head(&this.head, &head)
                .map_err(|source| AuditLogError::Io { path: this.head_path.clone(), source })?;
            Ok(head)
        })
    }

    fn io_err(&self, source: std::io::Error) -> AuditLogError {
        AuditLogError::Io { path: self.path.clone(), source }
    }

    fn locked<T>(
        &self,
        f: impl FnOnce(&Self) -> std::result::Result<T, AuditLogError>,
    ) -> std::result::Result<T, AuditLogError> {
        // Another writer holds the lock for one append; one that holds it far
        // longer is stuck, and waiting on it would hang the counter.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match self.log.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let reason = format!("another process has held its lock for over {} s", LOCK_WAIT.as_secs());
                    return Err(self.io_err(std::io::Error::new(std::io::ErrorKind::TimedOut, reason)));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(self.io_err(e)),
            }
        }
        let result = f(self);
        // Closing the file would release the lock too; an unlock error leaves
        // nothing to undo.
        let _ = self.log.unlock();
        result
    }

    /// The last record's head, checked against the head file.
    fn tail(&self) -> std::result::Result<ChainHead, AuditLogError> {
        let chain = |error| AuditLogError::Chain { path: self.path.clone(), error };
        let head_io = |source| AuditLogError::Io { path: self.head_path.clone(), source };
        let head = ChainHead::parse(&read_head(&self.head).map_err(head_io)?).map_err(chain)?;
        let len = self.log.metadata().map_err(|e| self.io_err(e))?.len();
        if len == 0 {
            return match head {
                None => Ok(ChainHead::genesis()),
                Some(h) if h == ChainHead::genesis() => Ok(h),
                Some(h) => Err(chain(ChainError::HeadMismatch { head: h, last: ChainHead::genesis(), torn: false })),
            };
        }
        let damaged = || chain(self.full_check(head.as_ref()));
        let line = match last_line(&self.log, len) {
            Ok(Some(line)) => line,
            Ok(None) => return Err(damaged()),
            Err(e) => return Err(self.io_err(e)),
        };
        let Ok(record) = parse_record(&line[..line.len() - 1], 0) else { return Err(damaged()) };
        let last = ChainHead { seq: record.seq, sha256: audit_line_sha256(&line) };
        // An empty head file beside one record: a power cut came between the
        // first record's sync and the head's first write. Beside more, the
        // head file was removed or emptied.
        let Some(h) = head.or_else(|| (last.seq == 1).then(ChainHead::genesis)) else {
            return Err(chain(ChainError::HeadMissing));
        };
        if h == last || (h.seq + 1 == last.seq && h.sha256 == record.prev) {
            // The head names the last record, or the one before it (the
            // record was written, the head not yet).
            Ok(last)
        } else {
            Err(chain(ChainError::HeadMismatch { head: h, last, torn: false }))
        }
    }
}

impl AuditLog {
    /// What is wrong with a log whose end does not read as a record: the
    /// whole chain checked, for an exact report (an error path only).
    fn full_check(&self, head: Option<&ChainHead>) -> ChainError {
        let genesis = ChainHead::genesis();
        let result = File::open(&self.path)
            .map_err(ChainError::Io)
            .and_then(|file| verify_chain(file, Some(head.unwrap_or(&genesis))));
        match result {
            Err(ChainError::HeadMismatch { .. }) if head.is_none() => ChainError::HeadMissing,
            Err(e) => e,
            Ok(_) => ChainError::Malformed { line: 0, reason: "the last line changed while it was read".into() },
        }
    }
}

/// The log's last line, line end included; `None` when it has none (torn)
/// or is longer than a record can be.
fn last_line(file: &File, len: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::os::unix::fs::FileExt;
    let mut tail = Vec::new();
    let mut start = len;
    loop {
        let chunk = 4096u64.min(start);
        start -= chunk;
        let mut buf = vec![0u8; chunk as usize];
        file.read_exact_at(&mut buf, start)?;
        buf.extend_from_slice(&tail);
        tail = buf;
        if tail.last() != Some(&b'\n') {
            return Ok(None);
        }
        if let Some(i) = tail[..tail.len() - 1].iter().rposition(|&b| b == b'\n') {
            return Ok(Some(tail.split_off(i + 1)));
        }
        if start == 0 {
            return Ok(Some(tail));
        }
        if tail.len() > AUDIT_MAX_LINE + 1 {
            return Ok(None);
        }
    }
}

fn write_head(file: &File, head: &ChainHead) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let line = head.to_line();
    file.write_all_at(line.as_bytes(), 0)?;
    // A head file longer than one line is one honnin did not write; a fixed
    // length line never shortens it.
    file.sync_data()
}

/// Opens `path` for reading and appending (`append`) or writing in place,
/// creating it with mode 0600; refuses a symbolic link, a non-file, and a
/// file group or others may use.
fn open_private(path: &Path, append: bool) -> std::result::Result<File, AuditLogError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = std::fs::OpenOptions::new();
    options.read(true).create(true).mode(0o600).custom_flags(libc::O_NOFOLLOW);
    if append {
        options.append(true);
    } else {
        options.write(true);
    }
    let file = options.open(path).map_err(|source| {
        if source.raw_os_error() == Some(libc::ELOOP) {
            AuditLogError::NotAFile { path: path.into() }
        } else {
            AuditLogError::Io { path: path.into(), source }
        }
    })?;
    let meta = file.metadata().map_err(|source| AuditLogError::Io { path: path.into(), source })?;
    if !meta.is_file() {
        return Err(AuditLogError::NotAFile { path: path.into() });
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(AuditLogError::NotPrivate { path: path.into(), mode });
    }
    Ok(file)
}

/// `YYYY-MM-DDThh:mm:ssZ` for `time` (UTC; times before 1970 print as 1970).
fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::counter::staff::{staff_visual_check, StaffJudgement};

    #[test]
    fn times_are_rfc3339_utc() {
        let at = |s: u64| rfc3339_utc(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_000_000), "2026-11-30T00:53:20Z");
    }

    #[test]
    fn milliseconds_are_whole() {
        assert_eq!(millis(Duration::from_micros(12_345)), 12.0);
        assert_eq!(millis(Duration::from_micros(12_501)), 13.0);
    }

    #[test]
    fn identifiers_are_short_printable_single_lines() {
        for good in ["counter-3", "窓口3", "Desk 2", "op#0042", &"x".repeat(64)] {
            assert!(check_audit_id(good).is_ok(), "{good:?}");
        }
        for bad in ["", " lead", "trail ", "two\nlines", "tab\there", "bidi\u{202e}", "zw\u{200b}j", &"x".repeat(65)] {
            assert!(check_audit_id(bad).is_err(), "{bad:?}");
        }
        let record = AuditRecord::staff(&staff_visual_check(StaffJudgement::SamePerson));
        assert!(record.clone().with_ids(Some("a\r\nb"), None).is_err());
        let record = record.with_ids(Some("counter-3"), Some("op-7")).unwrap();
        assert_eq!((record.terminal_id.as_deref(), record.operator_id.as_deref()), (Some("counter-3"), Some("op-7")));
    }

    #[test]
    fn authenticity_is_recorded_as_codes_and_older_records_still_read() {
        use crate::card::authenticity::{Anchor, ChipCheck, Failure, Scheme};
        let verified = Authenticity::Verified {
            scheme: Scheme::PassiveAuthentication,
            anchor: Anchor::Chained,
            chip: ChipCheck::NotChallenged,
        };
        let line = serde_json::to_string(&AuditAuthenticity::from(verified)).unwrap();
        assert_eq!(
            line,
            r#"{"status":"verified","scheme":"passive_authentication","anchor":"chained","chip":"not_challenged","failure":null}"#
        );
        let failed = Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::BadSignature };
        let line = serde_json::to_string(&AuditAuthenticity::from(failed)).unwrap();
        assert_eq!(
            line,
            r#"{"status":"failed","scheme":"my_number_surface","anchor":null,"chip":null,"failure":"bad_signature"}"#
        );
        // A staff check outside a session checked nothing.
        let record = AuditRecord::staff(&staff_visual_check(StaffJudgement::SamePerson));
        assert_eq!(record.authenticity.status, "not_checked");
        // A record of honnin 0.2, before the field existed, still parses.
        let mut value: serde_json::Value = serde_json::from_str(&record.to_line()).unwrap();
        value.as_object_mut().unwrap().remove("authenticity");
        let old = parse_record(value.to_string().as_bytes(), 1).unwrap();
        assert_eq!(old.authenticity, AuditAuthenticity::default());
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("honnin-audit-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("audit.jsonl")
    }

    /// Appends `n` staff records to the log at `path`; the log's bytes.
    fn log_of(path: &Path, n: usize) -> Vec<u8> {
        let mut log = AuditLog::open(path).unwrap();
        let mut last = head_of(path);
        for j in [StaffJudgement::SamePerson, StaffJudgement::DifferentPerson, StaffJudgement::Unsure]
            .into_iter()
            .cycle()
            .take(n)
        {
            let mut record =
                AuditRecord::staff(&staff_visual_check(j)).with_ids(Some("counter-3"), Some("op-7")).unwrap();
            let head = log.append(&mut record).unwrap();
            // Each record links to the one before (the head file may have
            // lagged one record behind, as a test below arranges).
            let before = last.unwrap_or_else(ChainHead::genesis);
            assert_eq!(record.seq, head.seq);
            if before.seq + 1 == head.seq {
                assert_eq!(record.prev, before.sha256);
            }
            last = Some(head);
        }
        std::fs::read(path).unwrap()
    }

    fn head_of(path: &Path) -> Option<ChainHead> {
        ChainHead::parse(&std::fs::read(audit_head_path(path)).unwrap()).unwrap()
    }

    fn check(bytes: &[u8], head: &Option<ChainHead>) -> std::result::Result<ChainReport, ChainError> {
        verify_chain(bytes, Some(head.as_ref().unwrap()))
    }

    #[test]
    fn a_log_is_a_chain_its_head_file_names_the_last_record_and_both_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let path = scratch("chain");
        let bytes = log_of(&path, 3);
        let head = head_of(&path);
        let report = check(&bytes, &head).unwrap();
        assert_eq!((report.records, report.head_checked, report.head_behind_by_one), (3, true, false));
        assert_eq!(Some(report.last), head);
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let records: Vec<AuditRecord> = lines.iter().map(|l| serde_json::from_slice(l).unwrap()).collect();
        assert_eq!(records[0].prev, AUDIT_GENESIS);
        assert_eq!(records[2].prev, audit_line_sha256(lines[1]));
        assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
        for p in [path.clone(), audit_head_path(&path)] {
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600, "{}", p.display());
        }
        // Reopened, the chain goes on.
        let bytes = log_of(&path, 1);
        assert_eq!(check(&bytes, &head_of(&path)).unwrap().records, 4);
        assert_eq!(verify_log_file(&path, true).unwrap().records, 4);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn every_removal_change_move_or_cut_is_found() {
        let path = scratch("tamper");
        let bytes = log_of(&path, 4);
        let head = head_of(&path);
        let lines: Vec<Vec<u8>> = bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        let join = |ls: &[Vec<u8>]| ls.concat();
        for i in 0..4 {
            // Removed.
            let mut fewer = lines.clone();
            fewer.remove(i);
            let err = check(&join(&fewer), &head).unwrap_err();
            match i {
                3 => assert!(matches!(err, ChainError::HeadMismatch { .. }), "remove {i}: {err}"),
                _ => assert!(matches!(err, ChainError::Sequence { line, .. } if line == i as u64 + 1), "{err}"),
            }
            // Changed: one character of the terminal id.
            let mut changed = lines.clone();
            let text = String::from_utf8(changed[i].clone()).unwrap().replace("counter-3", "counter-4");
            changed[i] = text.into_bytes();
            let err = check(&join(&changed), &head).unwrap_err();
            match i {
                3 => assert!(matches!(err, ChainError::HeadMismatch { .. }), "change {i}: {err}"),
                _ => assert!(matches!(err, ChainError::BrokenLink { line } if line == i as u64 + 2), "{err}"),
            }
            // Swapped with the next.
            if i < 3 {
                let mut swapped = lines.clone();
                swapped.swap(i, i + 1);
                let err = check(&join(&swapped), &head).unwrap_err();
                assert!(matches!(err, ChainError::Sequence { line, .. } if line == i as u64 + 1), "{err}");
            }
        }
        // The last line cut short: torn, and the head names the cut record.
        let cut = &bytes[..bytes.len() - 10];
        let err = check(cut, &head).unwrap_err();
        assert!(matches!(err, ChainError::HeadMismatch { torn: true, .. }), "{err}");
        // Only the line end gone: the record's bytes are whole, but torn all the same.
        let err = check(&bytes[..bytes.len() - 1], &head).unwrap_err();
        assert!(matches!(err, ChainError::HeadMismatch { torn: true, .. }), "{err}");
        // Without the head check, removing the last record cannot be seen.
        assert_eq!(verify_chain(join(&lines[..3]).as_slice(), None).unwrap().records, 3);
        // Not JSON, or another record inserted.
        let mut garbage = lines.clone();
        garbage.insert(1, b"{\"schema\":\"honnin-audit/2\"}\n".to_vec());
        assert!(matches!(check(&join(&garbage), &head).unwrap_err(), ChainError::Malformed { line: 2, .. }));
        let mut long = lines.clone();
        long.insert(1, [vec![b'x'; AUDIT_MAX_LINE + 10], vec![b'\n']].concat());
        assert!(matches!(check(&join(&long), &head).unwrap_err(), ChainError::Malformed { line: 2, .. }));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_write_torn_by_a_power_cut_is_reported_and_never_appended_to() {
        let path = scratch("torn");
        let bytes = log_of(&path, 2);
        // What a power cut during the third append leaves: part of a line,
        // the head file still naming record 2.
        let mut torn = bytes.clone();
        torn.extend_from_slice(b"{\"schema\":\"honnin-audit/2\",\"seq\":3,\"pr");
        std::fs::write(&path, &torn).unwrap();
        let err = verify_log_file(&path, true).unwrap_err();
        assert!(
            matches!(err, ChainError::TornLastLine { line: 3, offset, intact: 2 } if offset == bytes.len() as u64),
            "{err}"
        );
        assert!(err.is_torn_tail());
        let err = AuditLog::open(&path).unwrap_err();
        assert!(matches!(err, AuditLogError::Chain { error: ChainError::TornLastLine { .. }, .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), torn, "nothing appended after the torn line");
        // A power cut after the log's sync but before the head's: accepted,
        // reported, and the next append catches the head up.
        std::fs::write(&path, &bytes).unwrap();
        let two = head_of(&path);
        log_of(&path, 1);
        std::fs::write(audit_head_path(&path), two.unwrap().to_line()).unwrap();
        let report = verify_log_file(&path, true).unwrap();
        assert!(report.head_behind_by_one && report.records == 3);
        log_of(&path, 1);
        let report = verify_log_file(&path, true).unwrap();
        assert!(!report.head_behind_by_one && report.records == 4);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_power_cut_before_the_first_head_write_leaves_a_log_that_goes_on() {
        let path = scratch("first-head");
        log_of(&path, 1);
        // The first record synced, its head never written.
        std::fs::write(audit_head_path(&path), b"").unwrap();
        assert_eq!(verify_log_file(&path, true).unwrap().records, 1);
        log_of(&path, 2);
        assert_eq!(verify_log_file(&path, true).unwrap().records, 3);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_log_others_can_read_a_link_or_a_missing_head_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let path = scratch("perms");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            matches!(AuditLog::open(&path).unwrap_err(), AuditLogError::NotPrivate { mode, .. } if mode & 0o777 == 0o644)
        );
        std::fs::remove_file(&path).unwrap();
        let target = path.with_extension("target");
        std::fs::write(&target, b"").unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(matches!(AuditLog::open(&path).unwrap_err(), AuditLogError::NotAFile { .. }));
        std::fs::remove_file(&path).unwrap();
        log_of(&path, 2);
        std::fs::remove_file(audit_head_path(&path)).unwrap();
        assert!(matches!(verify_log_file(&path, true).unwrap_err(), ChainError::HeadMissing));
        assert_eq!(verify_log_file(&path, false).unwrap().records, 2);
        let err = AuditLog::open(&path).unwrap_err();
        assert!(matches!(err, AuditLogError::Chain { error: ChainError::HeadMissing, .. }), "{err}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn two_writers_interleave_whole_records() {
        let path = scratch("writers");
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut log = AuditLog::open(&path).unwrap();
                    for _ in 0..20 {
                        let mut record = AuditRecord::staff(&staff_visual_check(StaffJudgement::Unsure));
                        log.append(&mut record).unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(verify_log_file(&path, true).unwrap().records, 40);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
