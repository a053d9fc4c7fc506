//! Sessions that start from the card in a reader (feature `reader`): the
//! card stays connected for the whole session, so that the person may take
//! any of the three paths: the face check (the chip photo read with
//! 照合番号B), the card's PIN (checked by the card itself, no biometric), or
//! the staff visual check.
//!
//! Removing the card ends the session: the caller drops it, which wipes the
//! photo and everything computed from it and disconnects the card with a
//! reset, so no verified state outlives the person.

use crate::card::authenticity::{Failure, TrustAnchors};
use crate::decision::outcome::{Decision, Outcome};
use crate::error::Result;
use crate::input::decode::ReferenceKind;
use crate::input::limits::Limits;
use crate::reader::{
    MyNumberCard, PinCheck, PinEntry, PinpadSupport, ReadSummary, Transport, Tries, TryPolicy, VerificationNumberB,
};

use super::session::{Counter, Session, SessionState, Step};

/// The card a session holds: a My Number card on a connection held
/// exclusively (reset when the session drops), with the rules for its try
/// counters and the trust anchors its photo's signature is checked against.
pub struct CardLink {
    card: MyNumberCard<Box<dyn Transport>>,
    policy: TryPolicy,
    anchors: TrustAnchors,
    limits: Limits,
    /// The PIN's tries as last read (spending none) or reported.
    pin_tries: Tries,
    /// Whether the reader has a keypad for the PIN (PC/SC Part 10).
    pinpad: bool,
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
        Ok(Self { card, policy, anchors, limits, pin_tries, pinpad })
    }

    /// The PIN's tries as last known.
    pub fn pin_tries(&self) -> Tries {
        self.pin_tries
    }

    /// Whether the PIN may be tried now: enough tries left for the policy.
    fn pin_open(&self) -> bool {
        match self.pin_tries {
            Tries::Left(n) => n >= self.policy.min_pin_tries_left.max(1),
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

impl Counter {
    /// Starts a session for the card in a reader. No photo is read yet: the
    /// face check needs [`Session::read_card_photo`] (with 照合番号B) first;
    /// the PIN needs none; the staff check can go ahead on the card in hand.
    #[must_use = "a session does nothing until the person chooses a method"]
    pub fn card_session(&self, link: CardLink) -> Session {
        let mut session = self.session_without_photo(ReferenceKind::Grey);
        session.link = Some(link);
        session
    }
}

impl Session {
    /// Reads the face photo from the card with 照合番号B (tries read first,
    /// one VERIFY at most, refused near the limit; see
    /// [`MyNumberCard::read_face`]), checks its signature and challenges the
    /// chip. The photo then serves the face check and the staff's screen.
    /// Errors leave the session as it was (a wrong 照合番号B is
    /// [`ReaderError::WrongNumberB`](crate::error::ReaderError::WrongNumberB)
    /// with the tries left).
    pub fn read_card_photo(&mut self, number_b: &VerificationNumberB) -> Result<ReadSummary> {
        if !matches!(self.state, SessionState::ChoosingMethod | SessionState::StaffCheck) {
            return Err(super::session::misuse("a session choosing a method or in the staff check"));
        }
        let link = self.link.as_mut().ok_or_else(|| super::session::misuse("a session started from a card reader"))?;
        let read = link.card.read_face(number_b, &link.policy, &link.anchors, &link.limits)?;
        let summary = *read.summary();
        self.set_photo(read.into_photo());
        Ok(summary)
    }

    /// The card's PIN as the person enters it (on the terminal, or on the
    /// reader's keypad): the card checks it and signs a fresh challenge.
    /// Only in [`SessionState::PinCheck`]. No biometric is computed and no
    /// model runs.
    ///
    /// A correct PIN decides the session ([`Method::CardPin`]); a wrong one
    /// costs one try and is never retried ([`Step::PinRejected`] with the
    /// tries left, back to choosing); too few tries, a blocked PIN or a card
    /// that does not prove itself close the PIN path ([`Step::PinUnavailable`]).
    pub fn check_pin(&mut self, entry: PinEntry) -> Result<Step> {
        if self.state != SessionState::PinCheck {
            return Err(super::session::misuse("a session in the PIN check"));
        }
        let link = self.link.as_mut().ok_or_else(|| super::session::misuse("a session started from a card reader"))?;
        let checked = link.card.check_pin(entry, &link.policy)?;
        let closed = match checked {
            PinCheck::Correct => {
                let outcome = Outcome::card_pin(Decision::Match, self.card_authenticity());
                self.decide(outcome);
                return Ok(Step::Decided(outcome));
            }
            PinCheck::Wrong { tries_left } => {
                link.pin_tries = Tries::Left(tries_left);
                self.state = SessionState::ChoosingMethod;
                return Ok(Step::PinRejected { tries_left, pin_still_offered: link.pin_open() });
            }
            PinCheck::Refused { tries_left } => {
                link.pin_tries = Tries::Left(tries_left);
                PinClosed::FewTries(tries_left)
            }
            PinCheck::Blocked => {
                link.pin_tries = Tries::Blocked;
                PinClosed::Blocked
            }
            PinCheck::Failed(failure) => PinClosed::CardNotAuthentic(failure),
        };
        self.pin_closed = Some(closed);
        self.state = SessionState::ChoosingMethod;
        Ok(Step::PinUnavailable(closed))
    }

    /// Whether the reader takes the PIN on its own keypad (PC/SC Part 10),
    /// so that the host never sees it: then check with [`PinEntry::Pinpad`].
    pub fn pinpad(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.pinpad)
    }

    /// Back to choosing a method from the PIN check, nothing sent to the card
    /// (the person changed their mind, or typed something that is no PIN).
    pub fn choose_again(&mut self) -> Result<()> {
        if self.state != SessionState::PinCheck {
            return Err(super::session::misuse("a session in the PIN check"));
        }
        self.state = SessionState::ChoosingMethod;
        Ok(())
    }

    /// Why the PIN is no longer offered, if it is not.
    pub fn pin_closed(&self) -> Option<PinClosed> {
        self.pin_closed
    }

    /// The card link's PIN tries as last known; `None` without a reader.
    pub fn pin_tries(&self) -> Option<Tries> {
        self.link.as_ref().map(CardLink::pin_tries)
    }

    /// Whether the PIN is offered: a card in a reader with enough tries,
    /// and the PIN path not closed.
    pub(super) fn pin_offered(&self) -> bool {
        self.pin_closed.is_none() && self.link.as_ref().is_some_and(CardLink::pin_open)
    }
}
