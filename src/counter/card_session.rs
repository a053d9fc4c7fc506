//! The card a session holds in a reader (feature `reader`): the
//! card stays connected for the whole session, so that the person may take
//! any of the three paths: the face check (the chip photo read with
//! 照合番号B), the card's PIN (checked by the card itself, no biometric), or
//! the staff visual check.
//!
//! Removing the card ends the session: the caller drops it, which wipes the
//! photo and everything computed from it and disconnects the card with a
//! reset, so no verified state outlives the person.

use crate::card::authenticity::{Failure, TrustAnchors};
use crate::error::Result;
use crate::input::limits::Limits;
use crate::reader::{MyNumberCard, PinpadSupport, Transport, Tries, TryPolicy};

/// The card a session holds: a My Number card on a connection held
/// exclusively (reset when the session drops), with the rules for its try
/// counters and the trust anchors its photo's signature is checked against.
pub struct CardLink {
    pub(super) card: MyNumberCard<Box<dyn Transport>>,
    pub(super) policy: TryPolicy,
    pub(super) anchors: TrustAnchors,
    pub(super) limits: Limits,
    /// The PIN's tries as last read (spending none) or reported.
    pub(super) pin_tries: Tries,
    /// Whether the reader has a keypad for the PIN (PC/SC Part 10).
    pub(super) pinpad: bool,
    /// 照合番号B's tries as last read (spending none) or reported.
    pub(super) number_b_tries: Tries,
}

impl std::fmt::Debug for CardLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardLink").field("policy", &self.policy).field("pin_tries", &self.pin_tries).finish()
    }
}

impl CardLink {
    /// The card on `transport` (a [`Connection`](crate::reader::Connection)
    /// for PC/SC). Reads the PIN's tries left, spending none, so that the
    /// session knows whether to offer the PIN at all.
    pub fn new(
        transport: impl Transport + 'static,
        policy: TryPolicy,
        anchors: TrustAnchors,
        limits: Limits,
    ) -> Result<Self> {
        let mut card = MyNumberCard::new(Box::new(transport) as Box<dyn Transport>);
        let pinpad = matches!(card.pinpad()?, PinpadSupport::VerifyPinDirect { .. });
        let pin_tries = card.pin_tries_left()?;
        let number_b_tries = card.surface_tries_left()?;
        Ok(Self { card, policy, anchors, limits, pin_tries, pinpad, number_b_tries })
    }

    /// Whether 照合番号B may still be sent: more tries left than the policy keeps.
    pub(super) fn number_b_open(&self) -> bool {
        match self.number_b_tries {
            Tries::Left(n) => n > self.policy.min_tries_left.max(1),
            Tries::AlreadyVerified => true,
            Tries::Blocked => false,
        }
    }

    /// Keeps what a read of the photo learnt about 照合番号B's tries.
    pub(super) fn note_number_b(&mut self, read: &Result<crate::reader::CardRead>) {
        use crate::error::{Error, ReaderError};
        self.number_b_tries = match read {
            Ok(_) => Tries::AlreadyVerified,
            Err(Error::Reader(
                ReaderError::WrongNumberB { tries_left } | ReaderError::TooFewTries { left: tries_left, .. },
            )) => Tries::Left(*tries_left),
            Err(Error::Reader(ReaderError::Blocked)) => Tries::Blocked,
            Err(_) => self.number_b_tries,
        };
    }

    /// The PIN's tries as last known.
    pub fn pin_tries(&self) -> Tries {
        self.pin_tries
    }

    /// Whether the PIN may be tried now: enough tries left for the policy.
    pub(super) fn pin_open(&self) -> bool {
        match self.pin_tries {
            Tries::Left(n) => n >= self.policy.min_pin_tries_left.max(crate::reader::MIN_PIN_FLOOR),
            Tries::AlreadyVerified => true,
            Tries::Blocked => false,
        }
    }
}

/// Why the PIN is no longer offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinClosed {
    /// Too few tries left for the policy: honnin leaves them to the holder.
    FewTries(u8),
    /// The PIN is blocked.
    Blocked,
    /// The card accepted the PIN but did not prove it holds its key.
    CardNotAuthentic(Failure),
}

impl PinClosed {
    /// A stable code: `few_tries`, `blocked` or `card_not_authentic`.
    pub fn code(&self) -> &'static str {
        match self {
            PinClosed::FewTries(_) => "few_tries",
            PinClosed::Blocked => "blocked",
            PinClosed::CardNotAuthentic(_) => "card_not_authentic",
        }
    }
}

impl std::fmt::Display for PinClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinClosed::FewTries(n) => write!(f, "only {n} PIN tries left on the card; they stay with the holder"),
            PinClosed::Blocked => f.write_str("the card's PIN is blocked (the municipal office can reset it)"),
            PinClosed::CardNotAuthentic(failure) => write!(f, "the card did not prove itself: {failure}"),
        }
    }
}
