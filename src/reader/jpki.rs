//! The PIN path: the JPKI application's user-authentication PIN
//! (利用者証明用電子証明書), checked by the card, proven by a signature of a
//! fresh challenge. The terminal learns only "this person knows this card's PIN".

use crate::authenticity::{Anchor, Failure, TrustAnchors};
use crate::error::{ReaderError, Result};
use crate::input::limits::Limits;
use crate::reader::apdu::{self, Tries, SW_OK};
use crate::reader::codes::CardPin;
use crate::reader::my_number::{fresh_challenge, sign_challenge, MyNumberCard, TryPolicy};
use crate::reader::transport::{pin_verify_structure, PinpadSupport, Transport};

/// The public-key application (公的個人認証, JPKI).
pub(crate) const AID_JPKI: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];
/// The key EF of the user-authentication PIN.
const EF_PIN: u16 = 0x0018;
/// The user-authentication private key.
const EF_KEY: u16 = 0x0017;
/// The user-authentication certificate (X.509 DER), free to read.
const EF_CERTIFICATE: u16 = 0x000A;
/// The fewest PIN tries at which honnin ever enters a PIN, whatever the policy
/// says: the last try always stays with the holder.
pub(crate) const MIN_PIN_FLOOR: u8 = 2;
/// `P2` of the signature command for the user-authentication key.
const SIGN_P2: u8 = 0x80;

/// Where the PIN comes from.
#[derive(Debug)]
pub enum PinEntry {
    /// Typed on the terminal (the host sees it; it is wiped after use).
    Host(CardPin),
    /// Typed on the reader's own keypad (PC/SC Part 10
    /// `FEATURE_VERIFY_PIN_DIRECT`): the host never sees it.
    Pinpad,
}

/// What a PIN check ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinCheck {
    /// The card accepted the PIN and signed a fresh challenge with the key
    /// its user-authentication certificate names.
    Correct {
        /// Whether that certificate chained to a supplied trust anchor.
        anchor: Anchor,
    },
    /// The card refused the PIN; one try was spent. Never retried by honnin.
    Wrong {
        /// The tries the card reports left.
        tries_left: u8,
    },
    /// Too few tries left ([`TryPolicy::min_pin_tries_left`]): no PIN was sent.
    Refused {
        /// The tries the card reports left.
        tries_left: u8,
    },
    /// The PIN is blocked: only the municipal office can reset it. No PIN was sent.
    Blocked,
    /// The card accepted the PIN, but its signature of the challenge does not
    /// verify with its certificate (or it did not sign): not to be trusted.
    Failed(Failure),
}

impl<T: Transport> MyNumberCard<T> {
    /// The tries of the JPKI user-authentication PIN left, spending none
    /// (`SELECT` the JPKI AP, `SELECT` EF `0018`, `VERIFY` without data).
    pub fn pin_tries_left(&mut self) -> Result<Tries> {
        apdu::select_application(&mut self.transport, &AID_JPKI)?;
        apdu::expect_ok(&mut self.transport, &apdu::select_ef(EF_PIN))?;
        apdu::query_tries(&mut self.transport)
    }

    /// Checks the holder's JPKI user-authentication PIN.
    ///
    /// In order: for [`PinEntry::Pinpad`], the reader's keypad
    /// ([`ReaderError::NoPinpad`] without one); the tries left (none spent);
    /// [`PinCheck::Refused`] without any VERIFY when fewer than
    /// `policy.min_pin_tries_left` are left, [`PinCheck::Blocked`] when none
    /// are; one VERIFY, never retried ([`PinCheck::Wrong`] with the tries
    /// left); then the user-authentication certificate (EF `000A`) and the
    /// card's signature of a fresh 32-byte challenge, checked against it.
    /// A card already verified in this connection is
    /// [`ReaderError::AlreadyVerified`]: the PIN must be entered now.
    pub fn check_pin(&mut self, entry: PinEntry, policy: &TryPolicy) -> Result<PinCheck> {
        self.check_pin_anchored(entry, policy, &TrustAnchors::none())
    }

    /// As [`MyNumberCard::check_pin`], and the user-authentication
    /// certificate must chain to one of `anchors` (a J-LIS JPKI CA): without
    /// that, a card of someone's own making that accepts any PIN would pass.
    /// [`PinCheck::Correct`] says whether it chained.
    pub fn check_pin_anchored(
        &mut self,
        entry: PinEntry,
        policy: &TryPolicy,
        anchors: &TrustAnchors,
    ) -> Result<PinCheck> {
        let pinpad = match &entry {
            PinEntry::Pinpad => match self.transport.features()? {
                PinpadSupport::VerifyPinDirect { control_code } => Some(control_code),
                PinpadSupport::None => return Err(ReaderError::NoPinpad.into()),
            },
            PinEntry::Host(_) => None,
        };
        match self.pin_tries_left()? {
            Tries::Blocked => return Ok(PinCheck::Blocked),
            Tries::AlreadyVerified => return Err(ReaderError::AlreadyVerified.into()),
            Tries::Left(left) if left < policy.min_pin_tries_left.max(MIN_PIN_FLOOR) => {
                return Ok(PinCheck::Refused { tries_left: left })
            }
            Tries::Left(_) => {}
        }
        let response = match (&entry, pinpad) {
            (PinEntry::Host(pin), _) => apdu::exchange(&mut self.transport, &apdu::verify(pin.digits()))?,
            (PinEntry::Pinpad, Some(control_code)) => {
                let raw = self.transport.verify_pin_on_pinpad(control_code, &pin_verify_structure())?;
                apdu::Response::split(raw)?
            }
            (PinEntry::Pinpad, None) => return Err(ReaderError::NoPinpad.into()),
        };
        drop(entry);
        match (response.sw, Tries::from_status(response.sw)) {
            (SW_OK, _) => {}
            (0x6400 | 0x6401, _) => return Err(ReaderError::PinpadAborted { sw: response.sw }.into()),
            (0x63C0, _) => return Ok(PinCheck::Wrong { tries_left: 0 }),
            (_, Some(Tries::Left(tries_left))) => return Ok(PinCheck::Wrong { tries_left }),
            (_, Some(Tries::Blocked)) => return Ok(PinCheck::Blocked),
            _ => return Err(response.status_error("VERIFY")),
        }
        apdu::expect_ok(&mut self.transport, &apdu::select_ef(EF_CERTIFICATE))?;
        let certificate = apdu::read_tlv_file(
            &mut self.transport,
            &[0x30],
            "a user-authentication certificate (X.509 DER) with a definite length",
            &Limits::default(),
        )?;
        apdu::expect_ok(&mut self.transport, &apdu::select_ef(EF_KEY))?;
        let challenge = fresh_challenge()?;
        let answer = sign_challenge(&mut self.transport, SIGN_P2, &challenge)?;
        Ok(match answer {
            None => PinCheck::Failed(Failure::ChipNotAuthentic),
            Some(signature) => {
                match crate::card::authenticity::jpki_answer(&certificate, &challenge, &signature, anchors) {
                    Ok(anchor) => PinCheck::Correct { anchor },
                    Err(failure) => PinCheck::Failed(failure),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::reader::scripted::{SimCard, PIN};

    fn host(pin: &str) -> PinEntry {
        PinEntry::Host(CardPin::from_digits(pin).unwrap())
    }

    fn verifies(card: &MyNumberCard<SimCard>) -> usize {
        card.transport.sent().iter().filter(|c| c.len() > 4 && c[1] == 0x20).count() + card.transport.pinpad_calls.len()
    }

    #[test]
    fn the_pin_tries_query_spends_no_try() {
        let mut card = MyNumberCard::new(SimCard::new());
        assert_eq!(card.pin_tries_left().unwrap(), Tries::Left(3));
        let sent = card.transport.sent();
        assert_eq!(sent[0], [&[0x00, 0xA4, 0x04, 0x0C, 0x0A][..], &AID_JPKI].concat());
        assert_eq!(sent[1], vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18]);
        assert_eq!(sent[2], vec![0x00, 0x20, 0x00, 0x80]);
        assert_eq!(card.transport.tries_pin, 3);
    }

    #[test]
    fn a_correct_pin_reads_the_certificate_and_has_a_fresh_challenge_signed() {
        let mut card = MyNumberCard::new(SimCard::new());
        let check = card.check_pin(host(PIN), &TryPolicy::default()).unwrap();
        // The signature check is a placeholder in this branch; whatever it says, the card was asked.
        assert!(matches!(check, PinCheck::Correct { .. } | PinCheck::Failed(_)), "{check:?}");
        assert_eq!(verifies(&card), 1);
        let sent = card.transport.sent();
        assert!(sent.contains(&vec![0x00, 0x20, 0x00, 0x80, 0x04, b'1', b'2', b'3', b'4']));
        assert!(sent.contains(&vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A]));
        assert!(sent.contains(&vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17]));
        let sign = sent.iter().find(|c| c.starts_with(&[0x80, 0x2A, 0x00, 0x80, 0x33])).unwrap();
        assert_eq!(&sign[5..24], &apdu::DIGEST_INFO_SHA256);
    }

    #[test]
    fn a_wrong_pin_reports_the_tries_left_and_is_not_retried() {
        let mut card = MyNumberCard::new(SimCard::new());
        let check = card.check_pin(host("9999"), &TryPolicy::default()).unwrap();
        assert_eq!(check, PinCheck::Wrong { tries_left: 2 });
        assert_eq!(verifies(&card), 1);
        assert_eq!(card.transport.tries_pin, 2);
        // Nothing read after a wrong PIN.
        assert!(!card.transport.sent().iter().any(|c| c.starts_with(&[0x80, 0x2A])));
    }

    #[test]
    fn the_pin_is_refused_at_one_try_left_and_blocked_at_none() {
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.tries_pin = 1;
        assert_eq!(card.check_pin(host(PIN), &TryPolicy::default()).unwrap(), PinCheck::Refused { tries_left: 1 });
        assert_eq!(verifies(&card), 0);
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.tries_pin = 0;
        assert_eq!(card.check_pin(host(PIN), &TryPolicy::default()).unwrap(), PinCheck::Blocked);
        assert_eq!(verifies(&card), 0);
        // At two: one VERIFY.
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.tries_pin = 2;
        assert_eq!(card.check_pin(host("0000"), &TryPolicy::default()).unwrap(), PinCheck::Wrong { tries_left: 1 });
        assert_eq!(verifies(&card), 1);
        assert_eq!(card.check_pin(host(PIN), &TryPolicy::default()).unwrap(), PinCheck::Refused { tries_left: 1 });
        assert_eq!(verifies(&card), 1);
    }

    #[test]
    fn an_already_verified_pin_must_be_entered_again_after_a_reconnect() {
        let mut card = MyNumberCard::new(SimCard::new());
        card.check_pin(host(PIN), &TryPolicy::default()).unwrap();
        let err = card.check_pin(host(PIN), &TryPolicy::default()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::AlreadyVerified)), "{err:?}");
        assert_eq!(verifies(&card), 1);
    }

    #[test]
    fn the_pinpad_gets_the_pin_verify_structure_and_the_host_no_pin() {
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.pinpad = PinpadSupport::VerifyPinDirect { control_code: 0x4233_0006 };
        card.transport.pinpad_pin = Some(PIN.as_bytes().to_vec());
        let check = card.check_pin(PinEntry::Pinpad, &TryPolicy::default()).unwrap();
        assert!(matches!(check, PinCheck::Correct { .. } | PinCheck::Failed(_)), "{check:?}");
        assert_eq!(card.transport.pinpad_calls, vec![(0x4233_0006, pin_verify_structure().to_vec())]);
        assert!(!card.transport.sent().iter().any(|c| c.len() > 4 && c[1] == 0x20));
        // A wrong PIN on the keypad.
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.pinpad = PinpadSupport::VerifyPinDirect { control_code: 0x4233_0006 };
        card.transport.pinpad_pin = Some(b"0000".to_vec());
        assert_eq!(card.check_pin(PinEntry::Pinpad, &TryPolicy::default()).unwrap(), PinCheck::Wrong { tries_left: 2 });
        // Cancelled on the keypad: no try spent.
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.pinpad = PinpadSupport::VerifyPinDirect { control_code: 0x4233_0006 };
        card.transport.pinpad_pin = None;
        let err = card.check_pin(PinEntry::Pinpad, &TryPolicy::default()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::PinpadAborted { sw: 0x6401 })), "{err:?}");
        assert_eq!(card.transport.tries_pin, 3);
    }

    #[test]
    fn a_reader_without_a_keypad_is_told_before_anything_is_sent() {
        let mut card = MyNumberCard::new(SimCard::new());
        let err = card.check_pin(PinEntry::Pinpad, &TryPolicy::default()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::NoPinpad)), "{err:?}");
        assert!(card.transport.sent().is_empty());
    }

    #[test]
    fn a_card_that_refuses_to_sign_after_a_correct_pin_fails_the_check() {
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.refuse_sign = true;
        assert_eq!(
            card.check_pin(host(PIN), &TryPolicy::default()).unwrap(),
            PinCheck::Failed(Failure::ChipNotAuthentic)
        );
    }
}
