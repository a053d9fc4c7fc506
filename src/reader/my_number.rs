//! The My Number card's card-surface confirmation application (券面事項確認AP):
//! its tries counter, 照合番号B, the surface data with the face photo, its
//! certificate and the chip's answer to a fresh challenge.

use serde::Serialize;

use crate::authenticity::{Authenticity, ChipCheck, Failure, Scheme, TrustAnchors};
use crate::card::authenticity::my_number_chip_answer;
use crate::error::{ReaderError, Result};
use crate::input::decode::CardPhoto;
use crate::input::limits::Limits;
use crate::reader::apdu::{self, Tries, SW_OK};
use crate::reader::codes::VerificationNumberB;
use crate::reader::transport::{PinpadSupport, Transport};

/// The card-surface confirmation AP (券面事項確認AP).
pub(crate) const AID_SURFACE: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];
/// The key EF that takes 照合番号B.
const EF_NUMBER_B: u16 = 0x0012;
/// The card-surface data (`FF20`).
const EF_SURFACE: u16 = 0x0002;
/// The surface signer's certificate (`7F21`), free to read.
const EF_SURFACE_CERTIFICATE: u16 = 0x0004;

/// How many tries honnin leaves on a card's counters.
///
/// A wrong code costs the holder a try, and a blocked counter a trip to the
/// municipal office: honnin reads the tries left before every VERIFY, sends
/// one VERIFY at most per call and never retries on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct TryPolicy {
    /// The tries of 照合番号B that must remain even after a wrong value:
    /// honnin sends 照合番号B only when at least `min_tries_left + 1` are
    /// left, and refuses ([`ReaderError::TooFewTries`]) at or below
    /// `min_tries_left` (at least 1 whatever this says). Default 3 (of about 10), so a holder who mistyped
    /// keeps several tries for the municipal office's terminal.
    pub min_tries_left: u8,
    /// The fewest tries of the JPKI PIN (3 in all) at which honnin still
    /// enters a PIN: with fewer, [`PinCheck::Refused`](crate::reader::PinCheck::Refused).
    /// Default 2, which is also the floor: the last try always stays with the
    /// holder and the municipal office.
    pub min_pin_tries_left: u8,
}

impl Default for TryPolicy {
    fn default() -> Self {
        Self { min_tries_left: 3, min_pin_tries_left: 2 }
    }
}

/// A My Number card, spoken to over any [`Transport`].
///
/// honnin never selects the key EFs `0013` (照合番号A, the holder's My
/// Number) or `0011`, and never selects or reads EF `0005` (the rendered My
/// Number).
#[derive(Debug)]
pub struct MyNumberCard<T: Transport> {
    pub(crate) transport: T,
}

/// What [`MyNumberCard::read_face`] read: the face photo, and a summary
/// without personal data. The surface data and certificate it was read from
/// were wiped before this was returned.
#[derive(Debug)]
pub struct CardRead {
    photo: CardPhoto,
    summary: ReadSummary,
}

impl CardRead {
    /// The face photo, its [`authenticity`](CardPhoto::authenticity) set.
    pub fn photo(&self) -> &CardPhoto {
        &self.photo
    }

    /// The face photo, taken out.
    pub fn into_photo(self) -> CardPhoto {
        self.photo
    }

    /// What was read, without personal data.
    pub fn summary(&self) -> &ReadSummary {
        &self.summary
    }
}

/// What a card read did, without personal data: safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ReadSummary {
    /// The tries of 照合番号B the card reported before the VERIFY. After a
    /// correct VERIFY the card resets its counter; a card does not report
    /// the count while verified.
    pub tries_before: Tries,
    /// Whether honnin sent 照合番号B (not when the card was already verified
    /// in this connection).
    pub verified_now: bool,
    /// Length of the surface signer's certificate (EF `0004`), bytes.
    pub certificate_bytes: usize,
    /// Length of the card-surface data read (EF `0002`, the `FF20` element), bytes.
    pub surface_bytes: usize,
    /// Whether the chip returned a signature of the challenge (whether it
    /// verifies is in the photo's authenticity).
    pub chip_signed: bool,
}

impl<T: Transport> MyNumberCard<T> {
    /// A card on `transport` (for PC/SC, a [`Connection`](crate::reader::Connection)).
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// The transport, back.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// What the reader offers for PIN entry on its keypad.
    pub fn pinpad(&mut self) -> Result<PinpadSupport> {
        self.transport.features()
    }

    /// The tries of 照合番号B left, spending none (`SELECT` the AP, `SELECT`
    /// EF `0012`, `VERIFY` without data).
    pub fn surface_tries_left(&mut self) -> Result<Tries> {
        apdu::select_application(&mut self.transport, &AID_SURFACE)?;
        apdu::expect_ok(&mut self.transport, &apdu::select_ef(EF_NUMBER_B))?;
        apdu::query_tries(&mut self.transport)
    }

    /// Reads the face photo from the card-surface application.
    ///
    /// In order: the tries left (none spent); a refusal without any VERIFY
    /// when they are at or below `policy.min_tries_left`
    /// ([`ReaderError::TooFewTries`]) or blocked ([`ReaderError::Blocked`]);
    /// one VERIFY of `number_b`, never retried (a wrong value is
    /// [`ReaderError::WrongNumberB`] with the tries the card reports left);
    /// the surface certificate (EF `0004`); the surface data (EF `0002`,
    /// exactly its `FF20` element, bounded by `limits`); and a fresh 32-byte
    /// challenge from the operating system's random source for the chip to
    /// sign. The photo's [`Authenticity`] combines the surface signature
    /// (checked against `anchors`) with the chip's answer. Everything read
    /// is wiped before this returns, but for the decoded photo.
    pub fn read_face(
        &mut self,
        number_b: &VerificationNumberB,
        policy: &TryPolicy,
        anchors: &TrustAnchors,
        limits: &Limits,
    ) -> Result<CardRead> {
        let tries_before = self.surface_tries_left()?;
        let verified_now = match tries_before {
            Tries::Blocked => return Err(ReaderError::Blocked.into()),
            Tries::Left(left) if left <= policy.min_tries_left.max(1) => {
                return Err(ReaderError::TooFewTries { left, min: policy.min_tries_left }.into())
            }
            Tries::Left(_) => {
                verify_number_b(&mut self.transport, number_b)?;
                true
            }
            Tries::AlreadyVerified => false,
        };
        apdu::expect_ok(&mut self.transport, &apdu::select_ef(EF_SURFACE_CERTIFICATE))?;
        let certificate = apdu::read_tlv_file(
            &mut self.transport,
            &[0x7F, 0x21],
            "a surface certificate (7F21) with a definite length",
            limits,
        )?;
        apdu::expect_ok(&mut self.transport, &apdu::select_ef(EF_SURFACE))?;
        let surface = apdu::read_tlv_file(
            &mut self.transport,
            &[0xFF, 0x20],
            "card-surface data (FF20) with a definite length",
            limits,
        )?;
        let challenge = fresh_challenge()?;
        let answer = sign_challenge(&mut self.transport, 0x00, &challenge)?;

        let surface_check = crate::card::authenticity::my_number_surface(&surface, &certificate, anchors);
        let chip_ok = answer.as_ref().is_some_and(|signature| my_number_chip_answer(&surface, &challenge, signature));
        let authenticity = combine(surface_check, chip_ok);
        // A photo whose check failed is not decoded (CardPhoto::checked).
        let photo = CardPhoto::checked(&crate::card::CardData::parse(&surface, limits)?, authenticity, limits)?;
        let summary = ReadSummary {
            tries_before,
            verified_now,
            certificate_bytes: certificate.len(),
            surface_bytes: surface.len(),
            chip_signed: answer.is_some(),
        };
        Ok(CardRead { photo, summary })
    }
}

/// One VERIFY of 照合番号B; the key EF must be selected.
fn verify_number_b<T: Transport + ?Sized>(transport: &mut T, number_b: &VerificationNumberB) -> Result<()> {
    let command = apdu::verify(number_b.digits());
    let response = apdu::exchange(transport, &command)?;
    match Tries::from_status(response.sw) {
        _ if response.sw == SW_OK => Ok(()),
        Some(Tries::Left(tries_left)) => Err(ReaderError::WrongNumberB { tries_left }.into()),
        Some(Tries::Blocked) if response.sw == 0x63C0 => Err(ReaderError::WrongNumberB { tries_left: 0 }.into()),
        Some(Tries::Blocked) => Err(ReaderError::Blocked.into()),
        _ => Err(response.status_error(command.name)),
    }
}

/// 32 bytes from the operating system's random source; its failure is an
/// error (a fixed challenge would let a recording answer it).
pub(crate) fn fresh_challenge() -> Result<[u8; 32]> {
    let mut challenge = [0u8; 32];
    getrandom::fill(&mut challenge).map_err(|_| ReaderError::Rng)?;
    Ok(challenge)
}

/// Has the card sign `challenge` (as a SHA-256 DigestInfo) with the key of
/// the current application (`P2` names it). `None` when the card refuses
/// with a status word: the chip did not prove it holds the key. Transport
/// faults (a card removed) are errors.
pub(crate) fn sign_challenge<T: Transport + ?Sized>(
    transport: &mut T,
    p2: u8,
    challenge: &[u8; 32],
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    let response = apdu::exchange(transport, &apdu::sign(p2, challenge))?;
    Ok((response.sw == SW_OK && !response.data.is_empty()).then_some(response.data))
}

/// The photo's authenticity from the surface signature's verdict and
/// whether the chip's answer verified: a verified surface whose chip
/// answered is verified with [`ChipCheck::Answered`]; one whose chip did not
/// is [`Failure::ChipNotAuthentic`] (a copy of the data, not the card); a
/// failed surface check stays failed.
pub(crate) fn combine(surface: Authenticity, chip_answer_ok: bool) -> Authenticity {
    match surface {
        Authenticity::Verified { scheme, anchor, .. } if chip_answer_ok => {
            Authenticity::Verified { scheme, anchor, chip: ChipCheck::Answered }
        }
        Authenticity::Verified { .. } => {
            Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::ChipNotAuthentic }
        }
        Authenticity::Failed { .. } => surface,
        Authenticity::NotChecked if chip_answer_ok => Authenticity::NotChecked,
        Authenticity::NotChecked => {
            Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::ChipNotAuthentic }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authenticity::Anchor;
    use crate::error::Error;
    use crate::reader::scripted::{Card, SimCard};

    fn number_b() -> VerificationNumberB {
        VerificationNumberB::from_digits(crate::reader::scripted::NUMBER_B).unwrap()
    }

    fn read_default(card: &mut MyNumberCard<SimCard>) -> Result<CardRead> {
        card.read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &Limits::default())
    }

    #[test]
    fn the_tries_query_sends_no_data_and_spends_no_try() {
        let mut card = MyNumberCard::new(SimCard::new());
        assert_eq!(card.surface_tries_left().unwrap(), Tries::Left(10));
        assert_eq!(card.surface_tries_left().unwrap(), Tries::Left(10));
        let sent = card.transport.sent();
        assert_eq!(sent[2], vec![0x00, 0x20, 0x00, 0x80]);
        assert!(sent.iter().all(|c| c.get(1) != Some(&0x20) || c.len() == 4));
        assert_eq!(card.transport.tries_b, 10);
    }

    #[test]
    fn a_correct_number_b_reads_the_surface_certificate_and_challenge() {
        let mut card = MyNumberCard::new(SimCard::new());
        let read = read_default(&mut card).unwrap();
        let summary = *read.summary();
        assert_eq!(summary.tries_before, Tries::Left(10));
        assert!(summary.verified_now && summary.chip_signed);
        // The FF20 element, without the file's 300 bytes of filler.
        assert_eq!(summary.surface_bytes, card.transport.surface.len() - 300);
        assert_eq!(summary.certificate_bytes, card.transport.certificate.len());
        assert!(read.photo().dimensions().0 > 0);
        // The checks are placeholders in this branch: whatever their verdict, it is on the photo.
        assert_ne!(read.photo().authenticity(), Authenticity::NotChecked);
        let sent = card.transport.sent();
        assert_eq!(sent.iter().filter(|c| c.starts_with(&[0x00, 0x20, 0x00, 0x80, 0x0E])).count(), 1);
        let sign = sent.iter().find(|c| c.starts_with(&[0x80, 0x2A, 0x00, 0x00, 0x33])).unwrap();
        assert_eq!(&sign[5..24], &apdu::DIGEST_INFO_SHA256);
        assert_eq!(sign.len(), 57);
        // Two reads sign two different challenges.
        let mut again = MyNumberCard::new(SimCard::new());
        read_default(&mut again).unwrap();
        let other = again.transport.sent().into_iter().find(|c| c.starts_with(&[0x80, 0x2A])).unwrap();
        assert_ne!(sign[24..56], other[24..56]);
    }

    #[test]
    fn a_wrong_number_b_costs_exactly_one_verify_and_is_not_retried() {
        let mut card = MyNumberCard::new(SimCard::new());
        let wrong = VerificationNumberB::from_digits("55021720301111").unwrap();
        let err = card.read_face(&wrong, &TryPolicy::default(), &TrustAnchors::none(), &Limits::default());
        assert!(matches!(err, Err(Error::Reader(ReaderError::WrongNumberB { tries_left: 9 }))), "{err:?}");
        assert_eq!(card.transport.tries_b, 9);
        let verifies: Vec<_> = card.transport.sent().into_iter().filter(|c| c.len() > 4 && c[1] == 0x20).collect();
        assert_eq!(verifies.len(), 1);
        // Nothing after the refused VERIFY: no surface read.
        assert_eq!(card.transport.sent().last().unwrap(), &verifies[0]);
    }

    #[test]
    fn at_or_below_the_safe_limit_no_verify_is_sent() {
        for left in [0u8, 1, 2, 3] {
            let mut card = MyNumberCard::new(SimCard::new());
            card.transport.tries_b = left;
            let err = read_default(&mut card).unwrap_err();
            if left == 0 {
                assert!(matches!(err, Error::Reader(ReaderError::Blocked)), "{err:?}");
            } else {
                assert!(
                    matches!(err, Error::Reader(ReaderError::TooFewTries { left: l, min: 3 }) if l == left),
                    "{err:?}"
                );
            }
            assert!(card.transport.sent().iter().all(|c| c.len() == 4 || c[1] != 0x20), "left {left}");
            assert_eq!(card.transport.tries_b, left);
        }
        // One above the limit: one VERIFY.
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.tries_b = 4;
        read_default(&mut card).unwrap();
        // A stricter policy.
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.tries_b = 5;
        let policy = TryPolicy { min_tries_left: 5, ..TryPolicy::default() };
        let err = card.read_face(&number_b(), &policy, &TrustAnchors::none(), &Limits::default()).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::TooFewTries { left: 5, min: 5 })), "{err:?}");
    }

    #[test]
    fn a_blocked_card_is_reported_without_a_verify() {
        for sw in [[0x69, 0x84], [0x63, 0xC0], [0x69, 0x83]] {
            let mut card = MyNumberCard::new(Card::new(vec![vec![0x90, 0x00], vec![0x90, 0x00], sw.to_vec()]));
            let err = card
                .read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &Limits::default())
                .unwrap_err();
            assert!(matches!(err, Error::Reader(ReaderError::Blocked)), "{err:?}");
            assert_eq!(card.transport.sent().len(), 3);
        }
    }

    #[test]
    fn a_card_without_the_application_is_not_a_my_number_card() {
        let mut card = MyNumberCard::new(Card::new(vec![vec![0x6A, 0x82]]));
        let err = card.surface_tries_left().unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::NotMyNumberCard)), "{err:?}");
        assert_eq!(err.kind(), crate::ErrorKind::Input);
    }

    #[test]
    fn a_card_pulled_mid_read_is_a_typed_error() {
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.pull_after = Some(9);
        let err = read_default(&mut card).unwrap_err();
        assert!(matches!(err, Error::Reader(ReaderError::CardRemoved)), "{err:?}");
    }

    #[test]
    fn a_chip_that_refuses_the_challenge_is_not_authentic_but_the_photo_is_read() {
        let mut card = MyNumberCard::new(SimCard::new());
        card.transport.refuse_sign = true;
        let read = read_default(&mut card).unwrap();
        assert!(!read.summary().chip_signed);
        assert!(read.photo().authenticity().is_failed());
    }

    #[test]
    fn the_verdicts_combine_into_the_photo_authenticity() {
        let verified = Authenticity::Verified {
            scheme: Scheme::MyNumberSurface,
            anchor: Anchor::NotSupplied,
            chip: ChipCheck::NotChallenged,
        };
        assert_eq!(
            combine(verified, true),
            Authenticity::Verified {
                scheme: Scheme::MyNumberSurface,
                anchor: Anchor::NotSupplied,
                chip: ChipCheck::Answered
            }
        );
        let chip_failed = Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::ChipNotAuthentic };
        assert_eq!(combine(verified, false), chip_failed);
        let forged = Authenticity::Failed { scheme: Scheme::MyNumberSurface, failure: Failure::HashMismatch };
        assert_eq!(combine(forged, true), forged);
        assert_eq!(combine(forged, false), forged);
        assert_eq!(combine(Authenticity::NotChecked, false), chip_failed);
    }

    #[test]
    fn an_already_verified_card_is_read_without_sending_number_b_again() {
        let mut card = MyNumberCard::new(SimCard::new());
        read_default(&mut card).unwrap();
        let read = read_default(&mut card).unwrap();
        assert_eq!(read.summary().tries_before, Tries::AlreadyVerified);
        assert!(!read.summary().verified_now);
        let verifies = card.transport.sent().into_iter().filter(|c| c.len() > 4 && c[1] == 0x20).count();
        assert_eq!(verifies, 1);
    }

    #[test]
    fn the_transport_is_object_safe_and_send() {
        fn send<T: Send>(_: &T) {}
        let boxed: Box<dyn Transport> = Box::new(SimCard::new());
        let mut card = MyNumberCard::new(boxed);
        send(&card);
        assert_eq!(card.surface_tries_left().unwrap(), Tries::Left(10));
        let mut sim = SimCard::new();
        assert_eq!(MyNumberCard::new(&mut sim).pin_tries_left().unwrap(), Tries::Left(3));
        assert_eq!(sim.sent().len(), 3);
    }

    #[test]
    fn a_surface_longer_than_the_limits_is_refused() {
        let mut card = MyNumberCard::new(SimCard::new());
        let limits = Limits { max_bytes: 64, ..Limits::default() };
        let err = card.read_face(&number_b(), &TryPolicy::default(), &TrustAnchors::none(), &limits).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { .. }), "{err:?}");
    }
}
