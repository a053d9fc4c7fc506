//! What a check found: the [`Authenticity`] of a card photo, the proof
//! ([`Scheme`]) it used, whether its signer was chained to a trust anchor
//! ([`Anchor`]), whether the chip answered a challenge ([`ChipCheck`]), and
//! why a check failed ([`Failure`]).

use serde::Serialize;

/// The proof a check used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scheme {
    /// ICAO 9303 passive authentication of EF.DG2 against EF.SOD.
    PassiveAuthentication,
    /// The My Number card-surface signature (`DF28`, certificate in EF `0004`).
    MyNumberSurface,
}

impl Scheme {
    /// `passive_authentication` or `my_number_surface`.
    pub fn code(&self) -> &'static str {
        match self {
            Scheme::PassiveAuthentication => "passive_authentication",
            Scheme::MyNumberSurface => "my_number_surface",
        }
    }
}

/// Whether the signer's certificate was chained to a trust anchor the
/// integrator supplied (a CSCA for passports, a J-LIS CA for My Number cards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Chained to a supplied trust anchor.
    Chained,
    /// No trust anchor was supplied: the data is consistent with the signer's
    /// certificate carried with it, but who issued that certificate was not checked.
    NotSupplied,
}

impl Anchor {
    /// `chained` or `not_supplied`, as `--json` and audit records write it.
    pub fn code(&self) -> &'static str {
        match self {
            Anchor::Chained => "chained",
            Anchor::NotSupplied => "not_supplied",
        }
    }
}

/// Whether the chip itself answered a fresh challenge (proving the bytes came
/// from the chip holding the key, not from a copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChipCheck {
    /// The chip signed a fresh challenge with the key its data names.
    Answered,
    /// No chip to challenge: the bytes came from a file or a caller's buffer.
    NotChallenged,
}

impl ChipCheck {
    /// `answered` or `not_challenged`, as `--json` and audit records write it.
    pub fn code(&self) -> &'static str {
        match self {
            ChipCheck::Answered => "answered",
            ChipCheck::NotChallenged => "not_challenged",
        }
    }
}

/// Why a check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Failure {
    /// The security data (SOD, certificate, signature) is not well formed.
    Malformed,
    /// The security data uses an algorithm honnin does not check.
    UnsupportedAlgorithm,
    /// The data's hash differs from the one the signer signed: the data was changed.
    HashMismatch,
    /// The data group is not listed in the security object.
    NotListed,
    /// The signature does not verify with the signer's key.
    BadSignature,
    /// The signer's certificate does not chain to any supplied trust anchor.
    UntrustedSigner,
    /// The chip did not prove it holds the key (internal authentication failed):
    /// a copy of the data, not the card.
    ChipNotAuthentic,
}

impl Failure {
    /// A stable, machine-readable code (`hash_mismatch`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Malformed => "malformed",
            Failure::UnsupportedAlgorithm => "unsupported_algorithm",
            Failure::HashMismatch => "hash_mismatch",
            Failure::NotListed => "not_listed",
            Failure::BadSignature => "bad_signature",
            Failure::UntrustedSigner => "untrusted_signer",
            Failure::ChipNotAuthentic => "chip_not_authentic",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Failure::Malformed => "the card's security data is not well formed",
            Failure::UnsupportedAlgorithm => "the card's security data uses an algorithm honnin does not check",
            Failure::HashMismatch => "the photo differs from the one the issuer signed",
            Failure::NotListed => "the issuer's security object does not list the photo's data group",
            Failure::BadSignature => "the issuer's signature does not verify",
            Failure::UntrustedSigner => "the signer's certificate does not chain to a trusted authority",
            Failure::ChipNotAuthentic => "the chip did not prove it holds the card's key (a copy, not the card)",
        })
    }
}

/// Whether the card photo is the one its issuer wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Authenticity {
    /// No proof was checked: a plain image, or chip data without its security data.
    #[default]
    NotChecked,
    /// The issuer's signature covers this photo.
    Verified {
        /// The proof checked.
        scheme: Scheme,
        /// Whether the signer was chained to a supplied trust anchor.
        anchor: Anchor,
        /// Whether the chip answered a fresh challenge.
        chip: ChipCheck,
    },
    /// The check failed: the photo is not to be trusted.
    Failed {
        /// The proof checked.
        scheme: Scheme,
        /// Why it failed.
        failure: Failure,
    },
}

impl Authenticity {
    /// `verified`, `not_checked` or `failed`, as `--json` and audit records write it.
    pub fn code(&self) -> &'static str {
        match self {
            Authenticity::NotChecked => "not_checked",
            Authenticity::Verified { .. } => "verified",
            Authenticity::Failed { .. } => "failed",
        }
    }

    /// Whether the check passed.
    pub fn is_verified(&self) -> bool {
        matches!(self, Authenticity::Verified { .. })
    }

    /// Whether the check failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, Authenticity::Failed { .. })
    }
}

impl std::fmt::Display for Authenticity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authenticity::NotChecked => f.write_str("not checked"),
            Authenticity::Verified { scheme, anchor, chip } => {
                write!(f, "verified ({}", scheme.code())?;
                if *anchor == Anchor::Chained {
                    f.write_str(", chained to a trusted authority")?;
                }
                if *chip == ChipCheck::Answered {
                    f.write_str(", chip answered a challenge")?;
                }
                f.write_str(")")
            }
            Authenticity::Failed { scheme, failure } => write!(f, "failed ({}): {failure}", scheme.code()),
        }
    }
}

/// Runs a check, turning a panic inside it (a bug in honnin or a dependency,
/// on bytes nobody foresaw) into [`Failure::Malformed`]: a check never takes
/// the process down and never passes by accident.
pub(super) fn guarded<T>(check: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).unwrap_or(Err(Failure::Malformed))
}
