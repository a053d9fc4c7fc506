//! In-memory cards for the reader's unit tests: [`Card`] answers from a
//! script, [`SimCard`] plays a My Number card (both applications, their
//! counters, files and signatures) closely enough for the protocol logic.

use std::collections::VecDeque;

use crate::card::build::tlv;
use crate::error::{ReaderError, Result};
use crate::reader::jpki::AID_JPKI;
use crate::reader::my_number::AID_SURFACE;
use crate::reader::transport::{PinpadSupport, Transport};

pub(crate) const SW_OK_BYTES: [u8; 2] = [0x90, 0x00];
/// The simulated card's 照合番号B (1980-02-17, expiry 2030, code 0123).
pub(crate) const NUMBER_B: &str = "55021720300123";
/// The simulated card's JPKI user-authentication PIN.
pub(crate) const PIN: &str = "1234";

/// A greyscale JPEG 2000 of 24x32 pixels (one of the fuzzing seeds).
const PHOTO: &[u8] = include_bytes!("../../fuzz/seeds/jpeg2000/grey.jp2");

enum Script {
    Queue(VecDeque<Vec<u8>>),
    Forever(Vec<u8>),
    File(Vec<u8>),
}

/// A card that answers from a script; once the script is spent it is removed.
pub(crate) struct Card {
    script: Script,
    sent: Vec<Vec<u8>>,
}

impl Card {
    /// Answers with `responses` in order.
    pub(crate) fn new(responses: Vec<Vec<u8>>) -> Self {
        Self { script: Script::Queue(responses.into()), sent: Vec::new() }
    }

    /// Answers every command with `response`.
    pub(crate) fn forever(response: Vec<u8>) -> Self {
        Self { script: Script::Forever(response), sent: Vec::new() }
    }

    /// Answers READ BINARY from `file`.
    pub(crate) fn file(file: Vec<u8>) -> Self {
        Self { script: Script::File(file), sent: Vec::new() }
    }

    pub(crate) fn sent(&self) -> &[Vec<u8>] {
        &self.sent
    }
}

impl Transport for Card {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        self.sent.push(command.to_vec());
        match &mut self.script {
            Script::Queue(queue) => queue.pop_front().ok_or_else(|| ReaderError::CardRemoved.into()),
            Script::Forever(response) => Ok(response.clone()),
            Script::File(file) => Ok(read_binary(file, command)),
        }
    }
}

/// READ BINARY on `file`: data and `90 00`, a short last chunk and `62 82`, `6B 00` past the end.
fn read_binary(file: &[u8], command: &[u8]) -> Vec<u8> {
    let [0x00, 0xB0, p1, p2, le] = command else { return vec![0x6D, 0x00] };
    let offset = usize::from(u16::from_be_bytes([*p1, *p2]));
    let le = if *le == 0 { 256 } else { usize::from(*le) };
    if offset >= file.len() {
        return vec![0x6B, 0x00];
    }
    let end = (offset + le).min(file.len());
    let sw = if end - offset < le { [0x62, 0x82] } else { SW_OK_BYTES };
    [&file[offset..end], &sw[..]].concat()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum App {
    None,
    Surface,
    Jpki,
}

/// A simulated My Number card.
pub(crate) struct SimCard {
    sent: Vec<Vec<u8>>,
    app: App,
    ef: Option<u16>,
    verified_b: bool,
    verified_pin: bool,
    pub(crate) tries_b: u8,
    pub(crate) tries_pin: u8,
    pub(crate) surface: Vec<u8>,
    pub(crate) certificate: Vec<u8>,
    pub(crate) jpki_certificate: Vec<u8>,
    /// Removed after this many commands.
    pub(crate) pull_after: Option<usize>,
    /// Answers the signature command with `6A 81`.
    pub(crate) refuse_sign: bool,
    pub(crate) pinpad: PinpadSupport,
    /// What the person types on the keypad (`None`: cancels).
    pub(crate) pinpad_pin: Option<Vec<u8>>,
    pub(crate) pinpad_calls: Vec<(u32, Vec<u8>)>,
}

impl SimCard {
    pub(crate) fn new() -> Self {
        let surface_inner = [
            tlv(0xDF21, &[0x00; 18]),
            tlv(0xDF22, b"19800217"),
            tlv(0xDF23, b"1"),
            tlv(0xDF24, &[tlv(0x82, &[1, 0, 1]), tlv(0x81, &[0xA5; 256])].concat()),
            tlv(0xDF27, PHOTO),
            tlv(0xDF28, &[0x5A; 256]),
            tlv(0xDF29, b"20300217"),
        ]
        .concat();
        let mut surface = tlv(0xFF20, &surface_inner);
        surface.extend(std::iter::repeat_n(0xFF, 300));
        let body = [vec![0x11; 32], tlv(0x82, &[1, 0, 1]), tlv(0x81, &[0xC3; 256])].concat();
        let certificate = tlv(0x7F21, &[tlv(0x7F4E, &body), tlv(0x5F37, &[0x77; 256])].concat());
        let jpki_certificate = tlv(0x30, &[0x42; 900]);
        Self {
            sent: Vec::new(),
            app: App::None,
            ef: None,
            verified_b: false,
            verified_pin: false,
            tries_b: 10,
            tries_pin: 3,
            surface,
            certificate,
            jpki_certificate,
            pull_after: None,
            refuse_sign: false,
            pinpad: PinpadSupport::None,
            pinpad_pin: None,
            pinpad_calls: Vec::new(),
        }
    }

    pub(crate) fn sent(&self) -> Vec<Vec<u8>> {
        self.sent.clone()
    }

    /// The surface data without its filler (the `FF20` element honnin reads).
    fn surface_element(&self) -> usize {
        crate::reader::apdu::tlv_total_length(&self.surface, &[0xFF, 0x20]).unwrap_or(0)
    }

    fn verify(&mut self, code: Option<&[u8]>) -> Vec<u8> {
        let (expected, tries, verified, max) = match (self.app, self.ef) {
            (App::Surface, Some(0x0012)) => (NUMBER_B, &mut self.tries_b, &mut self.verified_b, 10),
            (App::Jpki, Some(0x0018)) => (PIN, &mut self.tries_pin, &mut self.verified_pin, 3),
            _ => return vec![0x69, 0x86],
        };
        match code {
            _ if *tries == 0 => vec![0x69, 0x84],
            None if *verified => SW_OK_BYTES.to_vec(),
            None => vec![0x63, 0xC0 | *tries],
            Some(code) if code == expected.as_bytes() => {
                *verified = true;
                *tries = max;
                SW_OK_BYTES.to_vec()
            }
            Some(_) => {
                *verified = false;
                *tries -= 1;
                vec![0x63, 0xC0 | *tries]
            }
        }
    }

    fn answer(&mut self, command: &[u8]) -> Vec<u8> {
        match command {
            [0x00, 0xA4, 0x04, 0x0C, 0x0A, aid @ ..] => {
                self.ef = None;
                self.app = if aid == AID_SURFACE {
                    App::Surface
                } else if aid == AID_JPKI {
                    App::Jpki
                } else {
                    return vec![0x6A, 0x82];
                };
                SW_OK_BYTES.to_vec()
            }
            [0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo] => {
                let fid = u16::from_be_bytes([*hi, *lo]);
                let known = match self.app {
                    App::Surface => [0x0002, 0x0004, 0x0005, 0x0011, 0x0012, 0x0013].contains(&fid),
                    App::Jpki => [0x000A, 0x0017, 0x0018].contains(&fid),
                    App::None => false,
                };
                if !known {
                    return vec![0x6A, 0x82];
                }
                self.ef = Some(fid);
                SW_OK_BYTES.to_vec()
            }
            [0x00, 0x20, 0x00, 0x80] => self.verify(None),
            [0x00, 0x20, 0x00, 0x80, len, code @ ..] if usize::from(*len) == code.len() => self.verify(Some(code)),
            [0x00, 0xB0, ..] => match (self.app, self.ef) {
                (App::Surface, Some(0x0002)) if !self.verified_b => vec![0x69, 0x82],
                (App::Surface, Some(0x0002)) => read_binary(&self.surface, command),
                (App::Surface, Some(0x0004)) => read_binary(&self.certificate, command),
                (App::Jpki, Some(0x000A)) => read_binary(&self.jpki_certificate, command),
                _ => vec![0x69, 0x86],
            },
            [0x80, 0x2A, 0x00, p2, 0x33, rest @ ..] if rest.len() == 0x34 => {
                if self.refuse_sign {
                    return vec![0x6A, 0x81];
                }
                let allowed = match (self.app, *p2) {
                    (App::Surface, 0x00) => self.surface_element() > 0,
                    (App::Jpki, 0x80) => self.verified_pin && self.ef == Some(0x0017),
                    _ => false,
                };
                if !allowed {
                    return vec![0x69, 0x82];
                }
                let mut signature: Vec<u8> = rest.iter().cycle().take(256).copied().collect();
                signature.extend_from_slice(&SW_OK_BYTES);
                signature
            }
            _ => vec![0x6D, 0x00],
        }
    }
}

impl Transport for SimCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        if self.pull_after.is_some_and(|n| self.sent.len() >= n) {
            return Err(ReaderError::CardRemoved.into());
        }
        self.sent.push(command.to_vec());
        Ok(self.answer(command))
    }

    fn features(&mut self) -> Result<PinpadSupport> {
        Ok(self.pinpad)
    }

    fn verify_pin_on_pinpad(&mut self, control_code: u32, pin_verify_structure: &[u8]) -> Result<Vec<u8>> {
        self.pinpad_calls.push((control_code, pin_verify_structure.to_vec()));
        match self.pinpad_pin.clone() {
            None => Ok(vec![0x64, 0x01]),
            Some(pin) => Ok(self.verify(Some(&pin))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authenticity::TrustAnchors;
    use crate::input::limits::Limits;
    use crate::reader::codes::{CardPin, VerificationNumberB};
    use crate::reader::jpki::PinEntry;
    use crate::reader::my_number::{MyNumberCard, TryPolicy};

    fn selects(sent: &[Vec<u8>], fid: u16) -> bool {
        let [hi, lo] = fid.to_be_bytes();
        sent.iter().any(|c| c.len() >= 7 && c[1] == 0xA4 && c[5..7] == [hi, lo])
    }

    #[test]
    fn no_path_ever_selects_ef_0005_or_the_key_efs_0013_and_0011() {
        let right = || VerificationNumberB::from_digits(NUMBER_B).unwrap();
        let wrong = || VerificationNumberB::from_digits("55021720309999").unwrap();
        let policy = TryPolicy::default();
        let (anchors, limits) = (TrustAnchors::none(), Limits::default());
        let mut all = Vec::new();
        for setup in 0..8 {
            let mut card = MyNumberCard::new(SimCard::new());
            card.transport.pinpad = PinpadSupport::VerifyPinDirect { control_code: 1 };
            card.transport.pinpad_pin = Some(PIN.as_bytes().to_vec());
            match setup {
                0 => drop(card.read_face(&right(), &policy, &anchors, &limits)),
                1 => drop(card.read_face(&wrong(), &policy, &anchors, &limits)),
                2 => {
                    card.transport.tries_b = 2;
                    drop(card.read_face(&right(), &policy, &anchors, &limits))
                }
                3 => drop(card.surface_tries_left()),
                4 => drop(card.check_pin(PinEntry::Host(CardPin::from_digits(PIN).unwrap()), &policy)),
                5 => drop(card.check_pin(PinEntry::Host(CardPin::from_digits("0000").unwrap()), &policy)),
                6 => drop(card.check_pin(PinEntry::Pinpad, &policy)),
                _ => {
                    drop(card.pin_tries_left());
                    drop(card.read_face(&right(), &policy, &anchors, &limits));
                    drop(card.check_pin(PinEntry::Pinpad, &policy));
                }
            }
            all.extend(card.transport.sent());
        }
        assert!(all.len() > 50);
        for fid in [0x0005, 0x0013, 0x0011] {
            assert!(!selects(&all, fid), "EF {fid:04X} selected");
        }
        assert!(selects(&all, 0x0002) && selects(&all, 0x0012));
        // And the simulator would have answered them: the check is not vacuous.
        let mut sim = SimCard::new();
        sim.transmit(&[&[0x00, 0xA4, 0x04, 0x0C, 0x0A][..], &AID_SURFACE].concat()).unwrap();
        assert_eq!(sim.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x05]).unwrap(), SW_OK_BYTES);
        assert!(selects(&sim.sent(), 0x0005));
    }
}
