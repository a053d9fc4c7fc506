//! Pins: which calibration bytes honnin trusts, and where a policy's bytes came from.

use crate::error::{CalibrationError, Error};

/// A calibration file honnin ships: its name under `calibration/`, its
/// sha256 and its text (built into the library).
#[derive(Debug, Clone, Copy)]
pub struct ShippedCalibration {
    /// File name under `calibration/`.
    pub file: &'static str,
    /// sha256 of the file (hex).
    pub sha256: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// The face calibrations honnin ships, one per recognizer; a test checks the
/// pins against the committed files.
pub const SHIPPED_CALIBRATIONS: [ShippedCalibration; 2] = [
    ShippedCalibration {
        file: "intel-reid-0095.json",
        sha256: "9ef0fe7f73eb7530000134734c448d989b9cc0cd1f49c879fcf4f29770067287",
        text: include_str!("../../calibration/intel-reid-0095.json"),
    },
    ShippedCalibration {
        file: "dlib-resnet-v1.json",
        sha256: "2608eec46f88eaa29583cf70c7c45294b15cad6af2302e3c24ddd56533cee8f7",
        text: include_str!("../../calibration/dlib-resnet-v1.json"),
    },
];

/// The PAD calibration honnin ships (`calibration/pad-minifasnet.json`).
pub const SHIPPED_PAD_CALIBRATION: ShippedCalibration = ShippedCalibration {
    file: "pad-minifasnet.json",
    sha256: "fe941aed2a687ee6b817b21909a8ed15e48efdcdae5718bdf7c39b523290099a",
    text: include_str!("../../calibration/pad-minifasnet.json"),
};

/// How a calibration's bytes were trusted when they were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    /// One of the calibrations honnin ships (built in, or a file with its bytes).
    Shipped,
    /// A file or text whose sha256 the deployer gave.
    Given,
    /// Accepted whatever its sha256 (`danger::unpinned_calibration`, `any`).
    Unpinned,
}

/// Which calibration bytes a policy came from: their sha256 and how they
/// were pinned. Audit records carry it, so that a decision made under an
/// unpinned calibration is told apart from one under the shipped file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSource {
    /// sha256 of the calibration's bytes (hex).
    pub sha256: String,
    /// How they were pinned.
    pub pin: PinKind,
}

/// The sha256 (hex) of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::pipeline::models::hex(&sha2::Sha256::digest(bytes))
}

/// Reads a calibration file's text (a regular file, at most 1 MiB, UTF-8).
pub(crate) fn read_text(path: &std::path::Path) -> crate::error::Result<String> {
    let bytes = crate::input::decode::read_bounded(path, crate::pipeline::models::MAX_TEXT_BYTES)?;
    Ok(String::from_utf8(bytes).map_err(|_| CalibrationError::Malformed { reason: "not UTF-8 text".into() })?)
}

/// Parses calibration text of kind `what` under `pin`, then runs `check` on
/// it; also returns where the bytes came from.
pub(crate) fn parse_checked<T: serde::de::DeserializeOwned>(
    text: &str,
    pin: Pin<'_>,
    what: &str,
    check: fn(&T) -> Result<(), CalibrationError>,
) -> crate::error::Result<(T, CalibrationSource)> {
    let source = pin.check(text.as_bytes())?;
    let value: T =
        serde_json::from_str(text).map_err(|e| CalibrationError::Malformed { reason: format!("not a {what}: {e}") })?;
    check(&value)?;
    Ok((value, source))
}

/// Which pins bytes must match: the shipped ones, one given, or none.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pin<'a> {
    Shipped(&'a [&'a str]),
    Given(&'a str),
    Unpinned,
}

impl Pin<'_> {
    /// Checks `bytes` against the pin; their source when they pass.
    pub(crate) fn check(self, bytes: &[u8]) -> Result<CalibrationSource, CalibrationError> {
        let actual = sha256_hex(bytes);
        let (pinned, pin): (Vec<&str>, PinKind) = match self {
            Pin::Unpinned => return Ok(CalibrationSource { sha256: actual, pin: PinKind::Unpinned }),
            Pin::Shipped(list) => (list.to_vec(), PinKind::Shipped),
            Pin::Given(hex) => (vec![hex], PinKind::Given),
        };
        if pinned.iter().any(|p| p.eq_ignore_ascii_case(&actual)) {
            Ok(CalibrationSource { sha256: actual, pin })
        } else {
            Err(CalibrationError::NotPinned { actual, pinned: pinned.into_iter().map(str::to_string).collect() })
        }
    }
}

/// The shipped face calibrations' pins.
pub(crate) fn shipped_pins() -> [&'static str; 2] {
    [SHIPPED_CALIBRATIONS[0].sha256, SHIPPED_CALIBRATIONS[1].sha256]
}

/// The pin a deployer names for a calibration: none (only the calibrations
/// honnin ships are accepted), a sha256, or `any` (accepted whatever its
/// sha256; whoever can edit the file then decides who matches, so say so
/// loudly). The CLI's `--calibration-sha256` and the C API's
/// `calibration_sha256` both come here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalibrationPin {
    /// Only the bytes of a calibration honnin ships.
    Shipped,
    /// Only bytes with this sha256 (hex).
    Sha256(String),
    /// Any bytes (their plausibility is still checked).
    Any,
}

impl CalibrationPin {
    /// The pin as the CLI and the C API take it: none, `any`, or a sha256
    /// of 64 hex digits (anything else is [`Error::InvalidArgument`]).
    pub fn parse(given: Option<&str>) -> Result<Self, Error> {
        match given {
            None => Ok(Self::Shipped),
            Some("any") => Ok(Self::Any),
            Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Self::Sha256(hex.to_ascii_lowercase()))
            }
            Some(_) => Err(Error::InvalidArgument { reason: "a sha256 of 64 hex digits, \"any\" or none".into() }),
        }
    }

    /// The pin to check bytes against, with `shipped` the pins of the
    /// calibrations honnin ships of this kind.
    pub(crate) fn pin<'a>(&'a self, shipped: &'a [&'a str]) -> Pin<'a> {
        match self {
            Self::Shipped => Pin::Shipped(shipped),
            Self::Sha256(hex) => Pin::Given(hex),
            Self::Any => Pin::Unpinned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_none_any_or_a_sha256() {
        assert_eq!(CalibrationPin::parse(None).unwrap(), CalibrationPin::Shipped);
        assert_eq!(CalibrationPin::parse(Some("any")).unwrap(), CalibrationPin::Any);
        let hex = "AB".repeat(32);
        assert_eq!(CalibrationPin::parse(Some(&hex)).unwrap(), CalibrationPin::Sha256("ab".repeat(32)));
        for bad in ["", "xyz", "ANY", &"a".repeat(63), &"g".repeat(64)] {
            assert!(matches!(CalibrationPin::parse(Some(bad)), Err(Error::InvalidArgument { .. })), "{bad:?}");
        }
    }

    #[test]
    fn pins_are_the_committed_files_hashes() {
        for shipped in SHIPPED_CALIBRATIONS.iter().chain([&SHIPPED_PAD_CALIBRATION]) {
            let path = format!("{}/calibration/{}", env!("CARGO_MANIFEST_DIR"), shipped.file);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(sha256_hex(&bytes), shipped.sha256, "{path}: update the pin after recalibrating");
            assert_eq!(sha256_hex(shipped.text.as_bytes()), shipped.sha256);
        }
    }
}
