//! Presentation-attack detection's policy and the calibration it comes from.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::decision::pin::{CalibrationPin, Pin, SHIPPED_PAD_CALIBRATION};
use crate::error::{implausible, CalibrationError, Implausibility, Result};
use crate::pipeline::models::is_sha256_hex as is_hex64;

/// Format tag of a PAD calibration file.
pub const PAD_CALIBRATION_FORMAT: &str = "honnin-pad-calibration/1";

/// One PAD model a calibration was made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadModelBinding {
    /// Manifest id.
    pub id: String,
    /// sha256 of the model file (hex).
    pub sha256: String,
}

/// Counts behind a PAD calibration: how many presentations of each kind were
/// scored, and how many the threshold rejects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadCounts {
    /// Where the presentations came from.
    pub source: String,
    /// Presentations with one face that PAD scored.
    pub scored: usize,
    /// Presentations the detector found no single face in (not scored).
    pub not_scored: usize,
    /// Scored presentations below the threshold.
    pub below_threshold: usize,
}

/// A calibrated PAD threshold, as `honnin-lab pad-calibrate` writes it
/// (`calibration/pad-minifasnet.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadCalibration {
    /// [`PAD_CALIBRATION_FORMAT`].
    pub format: String,
    /// The PAD models, in the manifest's order.
    pub models: Vec<PadModelBinding>,
    /// The bona fide presentation classification error rate asked for.
    pub target_bpcer: f64,
    /// Liveness scores below this are presentation attacks.
    pub threshold: f32,
    /// The bona fide presentations the threshold was set on.
    pub bona_fide: PadCounts,
    /// Attack presentations scored at the threshold, per attack type (what the data can show).
    pub attacks: Vec<(String, PadCounts)>,
    /// What the data can and cannot show.
    pub caveats: Vec<String>,
    /// Which bytes this was read from and how they were pinned (not part of
    /// the file; `None` for a calibration built in code).
    #[serde(skip)]
    pub source: Option<crate::decision::pin::CalibrationSource>,
}

impl PadCalibration {
    /// Reads the PAD calibration honnin ships (pinned by sha256:
    /// [`SHIPPED_PAD_CALIBRATION`](crate::calibration::SHIPPED_PAD_CALIBRATION))
    /// and checks its plausibility; any other file is refused with
    /// [`CalibrationError::NotPinned`](crate::error::CalibrationError::NotPinned).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::read(path.as_ref(), Pin::Shipped(&[SHIPPED_PAD_CALIBRATION.sha256]))
    }

    /// Reads a PAD calibration file whose sha256 must be `sha256` (hex), and
    /// checks its plausibility.
    pub fn from_file_pinned(path: impl AsRef<Path>, sha256: &str) -> Result<Self> {
        Self::read(path.as_ref(), Pin::Given(sha256))
    }

    /// The PAD calibration that ships with honnin
    /// (`calibration/pad-minifasnet.json`, built into the library), for the
    /// manifest's MiniFASNet pair: the C API's default when the PAD models
    /// are present. An engine refuses it for other PAD models.
    pub fn bundled() -> Result<Self> {
        Self::parse(SHIPPED_PAD_CALIBRATION.text, Pin::Shipped(&[SHIPPED_PAD_CALIBRATION.sha256]))
    }

    /// Parses the text of the PAD calibration honnin ships (pinned as
    /// [`from_file`](Self::from_file) pins files), and checks its plausibility.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::parse(text, Pin::Shipped(&[SHIPPED_PAD_CALIBRATION.sha256]))
    }

    /// Parses a PAD calibration whose text must have the sha256 `sha256`
    /// (hex), and checks its plausibility.
    pub fn from_json_pinned(text: &str, sha256: &str) -> Result<Self> {
        Self::parse(text, Pin::Given(sha256))
    }

    /// Reads a PAD calibration file under `pin` (see
    /// [`CalibrationPin`](crate::calibration::CalibrationPin)) and checks its plausibility.
    pub fn from_file_under(path: impl AsRef<Path>, pin: &CalibrationPin) -> Result<Self> {
        Self::read(path.as_ref(), pin.pin(&[SHIPPED_PAD_CALIBRATION.sha256]))
    }

    /// Parses a PAD calibration's text under `pin` and checks its plausibility.
    pub fn from_json_under(text: &str, pin: &CalibrationPin) -> Result<Self> {
        Self::parse(text, pin.pin(&[SHIPPED_PAD_CALIBRATION.sha256]))
    }

    pub(crate) fn read(path: &Path, pin: Pin<'_>) -> Result<Self> {
        Self::parse(&crate::decision::pin::read_text(path)?, pin)
    }

    pub(crate) fn parse(text: &str, pin: Pin<'_>) -> Result<Self> {
        let (mut calibration, source) =
            crate::decision::pin::parse_checked(text, pin, "PAD calibration", check_pad_calibration)?;
        calibration.source = Some(source);
        Ok(calibration)
    }
}

/// How an engine decides on liveness: the threshold, and the PAD models it
/// belongs to (an engine refuses a policy made for other models).
#[derive(Debug, Clone, PartialEq)]
pub struct PadPolicy {
    pub(crate) threshold: f32,
    pub(crate) target_bpcer: Option<f64>,
    pub(crate) models: Option<Vec<PadModelBinding>>,
    source: Option<crate::decision::pin::CalibrationSource>,
}

impl PadPolicy {
    /// The calibrated threshold.
    pub fn from_calibration(calibration: &PadCalibration) -> Self {
        Self {
            threshold: calibration.threshold,
            target_bpcer: Some(calibration.target_bpcer),
            models: Some(calibration.models.clone()),
            source: calibration.source.clone(),
        }
    }

    /// The calibration bytes this policy came from, when read from text or a file.
    pub fn calibration_source(&self) -> Option<&crate::decision::pin::CalibrationSource> {
        self.source.as_ref()
    }

    /// The liveness threshold (scores below it are attacks).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The BPCER the threshold was calibrated for; `None` when uncalibrated.
    pub fn target_bpcer(&self) -> Option<f64> {
        self.target_bpcer
    }

    pub(crate) fn uncalibrated(threshold: f32) -> Self {
        Self { threshold, target_bpcer: None, models: None, source: None }
    }
}

/// Checks a PAD calibration's plausibility.
pub(crate) fn check_pad_calibration(c: &PadCalibration) -> Result<(), CalibrationError> {
    let bad = |problem| Err(implausible("pad", problem));
    if c.format != PAD_CALIBRATION_FORMAT {
        return Err(CalibrationError::Malformed {
            reason: format!("format {PAD_CALIBRATION_FORMAT:?} expected, found {:?}", c.format),
        });
    }
    if !c.threshold.is_finite() {
        return bad(Implausibility::NotFinite { field: "threshold" });
    }
    if !c.target_bpcer.is_finite() {
        return bad(Implausibility::NotFinite { field: "target_bpcer" });
    }
    if !(0.0..=1.0).contains(&c.threshold) {
        return bad(Implausibility::OutOfRange { field: "threshold", value: c.threshold.into(), min: 0.0, max: 1.0 });
    }
    if !(c.target_bpcer > 0.0 && c.target_bpcer < 1.0) {
        return bad(Implausibility::OutOfRange { field: "target_bpcer", value: c.target_bpcer, min: 0.0, max: 1.0 });
    }
    if c.models.is_empty() {
        return bad(Implausibility::Missing { what: "the PAD models" });
    }
    for (i, m) in c.models.iter().enumerate() {
        if m.id.is_empty() || c.models[..i].iter().any(|o| o.id == m.id) {
            return bad(Implausibility::BadField { field: "models", expected: "distinct, non-empty model ids" });
        }
        if !is_hex64(&m.sha256) {
            return bad(Implausibility::BadField { field: "models[].sha256", expected: "64 hex digits" });
        }
    }
    let consistent = |counts: &PadCounts| counts.below_threshold <= counts.scored;
    if !consistent(&c.bona_fide) || c.attacks.iter().any(|(_, a)| !consistent(a)) {
        return bad(Implausibility::Counts { what: "more presentations below the threshold than scored".into() });
    }
    let scored = c.bona_fide.scored;
    let needed = (3.0 / c.target_bpcer).ceil() as usize;
    if scored < needed {
        return bad(Implausibility::Counts {
            what: format!("{scored} bona fide presentations cannot show BPCER {} ({needed} needed)", c.target_bpcer),
        });
    }
    let bpcer = c.bona_fide.below_threshold as f64 / scored as f64;
    if bpcer > c.target_bpcer * (1.0 + 1e-9) {
        return bad(Implausibility::Counts {
            what: format!(
                "{} of {scored} bona fide presentations rejected, more than target BPCER {}",
                c.bona_fide.below_threshold, c.target_bpcer
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_pad_calibration_is_plausible() {
        let pad: PadCalibration = serde_json::from_str(SHIPPED_PAD_CALIBRATION.text).unwrap();
        check_pad_calibration(&pad).unwrap();
    }

    #[test]
    fn the_bundled_calibration_is_the_committed_file() {
        let bundled = PadCalibration::bundled().expect("the bundled PAD calibration parses");
        let file = PadCalibration::from_file(concat!(env!("CARGO_MANIFEST_DIR"), "/calibration/pad-minifasnet.json"));
        assert_eq!(bundled, file.unwrap());
        assert_eq!(bundled.models.len(), 2);
    }
}
