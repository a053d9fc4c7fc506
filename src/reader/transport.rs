//! What carries APDUs to a card: the [`Transport`] trait, and the PC/SC
//! Part 10 pieces a pinpad reader needs (its feature list, the
//! `PIN_VERIFY_STRUCTURE`).

use crate::error::{ReaderError, Result};

/// Carries command APDUs to one card and its responses back.
///
/// [`Connection`](crate::reader::Connection) implements it over PC/SC; tests
/// and fuzzing implement it over scripted responses, so every byte of card
/// protocol in honnin runs without pcscd.
pub trait Transport: Send {
    /// Sends one command APDU and returns the whole response, status word
    /// included. A card removed meanwhile is
    /// [`ReaderError::CardRemoved`]; a response longer than 258 bytes is an error.
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>>;

    /// What the reader offers for PIN entry on its own keypad (PC/SC Part 10).
    /// The default: no keypad.
    fn features(&mut self) -> Result<PinpadSupport> {
        Ok(PinpadSupport::None)
    }

    /// Hands `pin_verify_structure` (a PC/SC Part 10 `PIN_VERIFY_STRUCTURE`)
    /// to the reader's `FEATURE_VERIFY_PIN_DIRECT` control code, which has the
    /// person type the PIN on the reader's keypad; returns the card's response
    /// to the VERIFY the reader builds (status word included). The default:
    /// [`ReaderError::NoPinpad`].
    fn verify_pin_on_pinpad(&mut self, control_code: u32, pin_verify_structure: &[u8]) -> Result<Vec<u8>> {
        let _ = (control_code, pin_verify_structure);
        Err(ReaderError::NoPinpad.into())
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit(command)
    }

    fn features(&mut self) -> Result<PinpadSupport> {
        (**self).features()
    }

    fn verify_pin_on_pinpad(&mut self, control_code: u32, pin_verify_structure: &[u8]) -> Result<Vec<u8>> {
        (**self).verify_pin_on_pinpad(control_code, pin_verify_structure)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        (**self).transmit(command)
    }

    fn features(&mut self) -> Result<PinpadSupport> {
        (**self).features()
    }

    fn verify_pin_on_pinpad(&mut self, control_code: u32, pin_verify_structure: &[u8]) -> Result<Vec<u8>> {
        (**self).verify_pin_on_pinpad(control_code, pin_verify_structure)
    }
}

/// Whether the reader can take a PIN on its own keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PinpadSupport {
    /// No keypad PC/SC can drive: the PIN must come from the host.
    None,
    /// `FEATURE_VERIFY_PIN_DIRECT` (PC/SC Part 10, tag `0x06`) at this control code.
    VerifyPinDirect {
        /// The control code the reader names for the feature.
        control_code: u32,
    },
}

/// `FEATURE_VERIFY_PIN_DIRECT`'s tag in a PC/SC Part 10 feature list.
pub(crate) const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;

/// Reads the answer to `CM_IOCTL_GET_FEATURE_REQUEST`: a list of
/// `tag (1) | length (1, always 4) | control code (4, big-endian)` entries.
pub(crate) fn parse_features(list: &[u8]) -> Result<PinpadSupport> {
    let malformed = ReaderError::Malformed { what: "a pc/sc part 10 feature list (tag, 4, control code)" };
    let mut rest = list;
    let mut found = PinpadSupport::None;
    while let [tag, len, tail @ ..] = rest {
        let (value, next) = tail.split_at_checked(usize::from(*len)).ok_or(malformed.clone())?;
        let code: [u8; 4] = value.try_into().map_err(|_| malformed.clone())?;
        if *tag == FEATURE_VERIFY_PIN_DIRECT && found == PinpadSupport::None {
            found = PinpadSupport::VerifyPinDirect { control_code: u32::from_be_bytes(code) };
        }
        rest = next;
    }
    if rest.is_empty() {
        Ok(found)
    } else {
        Err(malformed.into())
    }
}

/// Seconds the reader waits for the first key (`bTimerOut`).
const PINPAD_FIRST_KEY_SECONDS: u8 = 30;
/// Seconds the reader waits after a key for the next (`bTimerOut2`).
const PINPAD_NEXT_KEY_SECONDS: u8 = 15;

/// The `PIN_VERIFY_STRUCTURE` (PC/SC Part 10, packed, multi-byte fields
/// little-endian as CCID sends them) for the JPKI user-authentication PIN: 4
/// ASCII digits in the data of `VERIFY` `00 20 00 80 04`, entered on the
/// reader's keypad and confirmed with its OK key. The 4 data bytes of the
/// APDU are placeholders the reader overwrites.
pub(crate) fn pin_verify_structure() -> [u8; 28] {
    const APDU: [u8; 9] = [0x00, 0x20, 0x00, 0x80, 0x04, 0x30, 0x30, 0x30, 0x30];
    let mut s = [0u8; 28];
    let header: [u8; 19] = [
        PINPAD_FIRST_KEY_SECONDS, // bTimerOut
        PINPAD_NEXT_KEY_SECONDS,  // bTimerOut2
        // bmFormatString: system unit bytes (bit 7), PIN at position 0 of the data (bits 6-3),
        // left justified (bit 2 clear), ASCII (bits 1-0 = 10).
        0x82,
        // bmPINBlockString: no PIN length field in the APDU (bits 7-4), a 4-byte PIN block (bits 3-0).
        0x04,
        // bmPINLengthFormat: no PIN length field.
        0x00,
        // wPINMaxExtraDigit 0x0404: at least and at most 4 digits.
        0x04,
        0x04,
        // bEntryValidationCondition: the OK key.
        0x02,
        // bNumberMessage: the reader's default prompt.
        0x01,
        // wLangId 0x0411: Japanese.
        0x11,
        0x04,
        // bMsgIndex: the PIN prompt.
        0x00,
        // bTeoPrologue: T=1 prologue, filled in by the reader.
        0x00,
        0x00,
        0x00,
        // ulDataLength: the APDU's 9 bytes.
        APDU.len() as u8,
        0x00,
        0x00,
        0x00,
    ];
    let (head, apdu) = s.split_at_mut(header.len());
    head.copy_from_slice(&header);
    apdu.copy_from_slice(&APDU);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feature_list_names_verify_pin_direct_and_its_control_code() {
        // FEATURE_VERIFY_PIN_START (01), FEATURE_VERIFY_PIN_DIRECT (06), FEATURE_IFD_PIN_PROPERTIES (0A).
        let list = [0x01, 4, 0x42, 0x33, 0x00, 0x01, 0x06, 4, 0x42, 0x33, 0x00, 0x06, 0x0A, 4, 0x42, 0x33, 0x00, 0x0A];
        assert_eq!(parse_features(&list).unwrap(), PinpadSupport::VerifyPinDirect { control_code: 0x4233_0006 });
        assert_eq!(parse_features(&[]).unwrap(), PinpadSupport::None);
        assert_eq!(parse_features(&[0x0A, 4, 0x42, 0x33, 0x00, 0x0A]).unwrap(), PinpadSupport::None);
        assert!(parse_features(&[0x06, 4, 0x42, 0x33]).is_err());
        assert!(parse_features(&[0x06, 2, 0x42, 0x33]).is_err());
        assert!(parse_features(&[0x06]).is_err());
    }

    #[test]
    fn the_pin_verify_structure_asks_for_four_ascii_digits_in_a_verify_of_the_jpki_pin() {
        let s = pin_verify_structure();
        assert_eq!(
            s,
            [
                0x1E, 0x0F, 0x82, 0x04, 0x00, 0x04, 0x04, 0x02, 0x01, 0x11, 0x04, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00,
                0x00, 0x00, 0x00, 0x20, 0x00, 0x80, 0x04, 0x30, 0x30, 0x30, 0x30
            ]
        );
    }
}
