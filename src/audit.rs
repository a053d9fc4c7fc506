//! Audit records: what was decided, how and with what, and nothing biometric.
//!
//! One [`AuditRecord`] per verification, written as one JSON line
//! ([`AuditRecord::write_line`]). Its schema is `docs/audit-record.schema.json`
//! (`SCHEMA` below names its version). A record holds no pixels, templates,
//! landmarks, image hashes (a hash of a face image is an identifier that links
//! records of one person) or file names, and no comparison score: the decision
//! and the threshold it was taken against are what an audit needs, and a score
//! would say how alike two faces are.

use std::io::Write;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::decide::{Decision, Method, Outcome};
use crate::decode::ReferenceKind;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::models::Metric;

/// Version tag of the record layout, the `schema` field of every record.
pub const AUDIT_SCHEMA: &str = "honnin-audit/1";

/// One verification, for the audit trail. Built with [`AuditRecord::automatic`]
/// or [`AuditRecord::staff`]; every field is listed in the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Always [`AUDIT_SCHEMA`].
    pub schema: String,
    /// When the record was made, UTC, to the second (RFC 3339).
    pub time: String,
    /// `match`, `no_match` or `inconclusive`.
    pub outcome: String,
    /// `automatic` or `staff_visual`.
    pub method: String,
    /// Reason codes ([`Reason::code`](crate::Reason::code)); empty for a match or no-match.
    pub reasons: Vec<String>,
    /// The models that ran (empty for a staff check).
    pub models: Vec<AuditModel>,
    /// The decision policy (absent for a staff check).
    pub policy: Option<AuditPolicy>,
    /// Presentation-attack detection: `not_run`, `live` or `attack_suspected`
    /// ([`PadCheck::code`](crate::PadCheck::code); no score).
    pub pad: String,
    /// Stage timings in whole milliseconds.
    pub timings_ms: AuditTimings,
    /// The honnin version that decided.
    pub honnin_version: String,
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

/// Whole milliseconds: enough to see a slow stage, too coarse to tell card
/// photos apart by how long they took to decode (with the time of day, finer
/// timings would be a weak identifier of the card).
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e3).round()
}

impl AuditRecord {
    fn base(outcome: &Outcome) -> Self {
        let reasons = match outcome.decision {
            Decision::Inconclusive(reason) => vec![reason.code().to_string()],
            _ => Vec::new(),
        };
        let t = outcome.timings;
        AuditRecord {
            schema: AUDIT_SCHEMA.into(),
            time: rfc3339_utc(SystemTime::now()),
            outcome: outcome.decision.code().into(),
            method: match outcome.method {
                Method::Automatic => "automatic",
                Method::StaffVisual => "staff_visual",
            }
            .into(),
            reasons,
            models: Vec::new(),
            policy: None,
            pad: outcome.pad.code().into(),
            timings_ms: AuditTimings {
                card_decode: None,
                live_decode: None,
                card_template: millis(t.card_template),
                live_template: millis(t.live_template),
                compare: millis(t.compare),
            },
            honnin_version: env!("CARGO_PKG_VERSION").into(),
        }
    }

    /// The record of an automatic verification by `engine` against a card
    /// photo of kind `reference`.
    pub fn automatic(engine: &Engine, outcome: &Outcome, reference: ReferenceKind) -> Self {
        let mut record = Self::base(outcome);
        // The PAD models are listed when they ran.
        let pad_ran = outcome.pad != crate::PadCheck::NotRun;
        record.models = engine
            .models()
            .iter()
            .filter(|m| pad_ran || m.role != "pad")
            .map(|m| AuditModel { id: m.id.clone(), role: m.role.clone(), sha256: m.sha256.to_ascii_lowercase() })
            .collect();
        let policy = engine.policy();
        // The threshold the decision was made against (a fused probe's is its
        // own), else the one the policy has for this kind of card photo.
        let applied = outcome.threshold.or_else(|| policy.threshold(reference));
        let threshold = applied.map(|t| (f64::from(t.value) * 1e4).round() / 1e4);
        record.policy =
            Some(AuditPolicy { target_fmr: policy.target_fmr(), threshold, metric: policy.metric(), reference });
        record
    }

    /// The record of a staff visual check: no model, no policy.
    pub fn staff(outcome: &Outcome) -> Self {
        Self::base(outcome)
    }

    /// Adds the caller's decode timings.
    pub fn with_decode_timings(mut self, card: Option<Duration>, live: Option<Duration>) -> Self {
        self.timings_ms.card_decode = card.map(millis);
        self.timings_ms.live_decode = live.map(millis);
        self
    }

    /// The record as one line of JSON, newline included.
    pub fn to_line(&self) -> String {
        // Serialising plain strings, numbers and enums cannot fail.
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }

    /// Writes the record as one JSON line with a single `write_all`, so that
    /// an `O_APPEND` file shared by several writers gets whole lines.
    pub fn write_line(&self, mut out: impl Write) -> Result<()> {
        out.write_all(self.to_line().as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::Write { what: "audit record".into(), source: e })
    }
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
}
