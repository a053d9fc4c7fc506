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
//! model runs); a policy can also require [`Authenticity::Verified`]
//! ([`Policy::require_authentic`](crate::Policy::require_authentic)).
//!
//! The checks read untrusted bytes: every structure is bounded (at most
//! [`MAX_SECURITY_DATA_BYTES`] of security data, RSA moduli of at most 4096
//! bits, curves over primes of at most 521 bits), and anything malformed is
//! [`Failure::Malformed`], never a panic. They only verify signatures: no
//! private key, no network, no clock (certificate validity periods are not
//! checked: a passport outlives its document signer's signing period).
//! See `docs/authenticity.md` for what each result means and the limits.

mod anchors;
mod der;
mod explicit_curve;
mod my_number;
mod signature;
mod sod;
mod verdict;
mod x509;

pub use anchors::TrustAnchors;
pub use der::MAX_SECURITY_DATA_BYTES;
pub use my_number::my_number_surface;
#[allow(unused_imports)] // the card reader uses them
pub(crate) use my_number::{jpki_answer, my_number_chip_answer};
pub use sod::passive_authentication;
pub use verdict::{Anchor, Authenticity, ChipCheck, Failure, Scheme};
