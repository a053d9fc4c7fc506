//! Whether a card photo is the one its issuer wrote: the result of checking
//! the chip's own proof, as an [`Outcome`](crate::Outcome) and an audit
//! record carry it.
//!
//! Two proofs are known:
//! - ICAO 9303 **passive authentication** (passports and other eMRTDs): the
//!   hash of EF.DG2 is listed in the LDS security object of EF.SOD, which the
//!   document signer signed; the document signer's certificate chains to the
//!   issuing country's CSCA when the integrator supplies CSCA certificates.
//! - **My Number card-surface signature**: `DF28` in EF `0002` signs digests of
//!   the card-surface data groups, the face photo among them, with the key
//!   certified in EF `0004`; and the card answers a fresh challenge with the
//!   private key matching `DF24`, which a copy of the bytes cannot do.
//!
//! A check that fails is never a match (the decision is inconclusive with
//! [`Reason::CardNotAuthentic`](crate::Reason::CardNotAuthentic) before any
//! model runs); a policy can also require [`Authenticity::Verified`].

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

/// Certificates the integrator trusts as roots: CSCA certificates for
/// passports, a J-LIS CA for My Number cards (X.509, DER or PEM).
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    certificates: Vec<Vec<u8>>,
}

impl TrustAnchors {
    /// No trust anchor: signatures are checked against the signer's own
    /// certificate, and [`Anchor::NotSupplied`] says so.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether any anchor was supplied.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }
}

/// ICAO 9303 passive authentication of EF.DG2 against EF.SOD (in progress: see issue 19).
pub fn passive_authentication(_dg2: &[u8], _sod: &[u8], _anchors: &TrustAnchors) -> Authenticity {
    Authenticity::Failed { scheme: Scheme::PassiveAuthentication, failure: Failure::UnsupportedAlgorithm }
}

/// The My Number card-surface signature (`DF28` of EF `0002`) checked with the
/// certificate of EF `0004` (in progress: see issue 19).
pub fn my_number_surface(_surface: &[u8], _certificate: &[u8], _anchors: &TrustAnchors) -> Authenticity {
    Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::UnsupportedAlgorithm }
}

/// Whether `answer` is the chip's signature of `challenge` with the private
/// key matching the surface data's `DF24` (in progress: see issue 19).
#[allow(dead_code)]
pub(crate) fn my_number_chip_answer(_surface: &[u8], _challenge: &[u8; 32], _answer: &[u8]) -> bool {
    false
}

/// Whether `answer` is the JPKI user-authentication key's signature of
/// `challenge`, checked with that key's certificate (EF `000A`) (in progress: see issue 19).
#[allow(dead_code)]
pub(crate) fn jpki_answer(_certificate: &[u8], _challenge: &[u8; 32], _answer: &[u8]) -> Result<(), Failure> {
    Err(Failure::UnsupportedAlgorithm)
}
