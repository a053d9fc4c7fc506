//! The card reader's protocol logic (`honnin::reader`, no pcscd) against a
//! card whose every answer comes from the input: `MyNumberCard::read_face`,
//! `check_pin` (host PIN and pinpad) and the tries queries, with fixed test
//! credentials.
//!
//! Input: one byte choosing the path, then the responses in order, each a
//! length byte and that many bytes (`FF` then two bytes big-endian, modulo
//! 320, for a longer one). When the input runs out the card is "removed".
//!
//! Checked on every run, whatever the card answers: EF `0005` and the key
//! EFs `0013` / `0011` are never selected; at most one code is sent per call
//! (VERIFY with data, or one pinpad entry); no code is sent when the call
//! refused for too few tries; every READ BINARY offset fits in 15 bits;
//! every command is a short APDU.
#![no_main]

use honnin::authenticity::TrustAnchors;
use honnin::error::ReaderError;
use honnin::reader::{
    CardPin, MyNumberCard, PinCheck, PinEntry, PinpadSupport, Transport, TryPolicy, VerificationNumberB,
};
use honnin::{Error, Limits};
use libfuzzer_sys::fuzz_target;

struct Scripted<'a> {
    input: &'a [u8],
    sent: Vec<Vec<u8>>,
    answers: Vec<Option<Vec<u8>>>,
    pinpad_entries: usize,
    /// How many commands had been sent when the pinpad took a PIN.
    pinpad_at: Option<usize>,
}

impl Scripted<'_> {
    fn next(&mut self) -> Option<Vec<u8>> {
        let (&first, rest) = self.input.split_first()?;
        let (len, rest) = if first == 0xFF {
            let [hi, lo, rest @ ..] = rest else { return None };
            ((usize::from(*hi) << 8 | usize::from(*lo)) % 320, rest)
        } else {
            (usize::from(first), rest)
        };
        let (chunk, rest) = rest.split_at(len.min(rest.len()));
        self.input = rest;
        Some(chunk.to_vec())
    }
}

impl Transport for Scripted<'_> {
    fn transmit(&mut self, command: &[u8]) -> honnin::Result<Vec<u8>> {
        self.sent.push(command.to_vec());
        let answer = self.next();
        self.answers.push(answer.clone());
        answer.ok_or(Error::Reader(ReaderError::CardRemoved))
    }

    fn features(&mut self) -> honnin::Result<PinpadSupport> {
        match self.next() {
            Some(list) if !list.is_empty() => Ok(PinpadSupport::VerifyPinDirect { control_code: 0x4233_0006 }),
            Some(_) => Ok(PinpadSupport::None),
            None => Err(Error::Reader(ReaderError::CardRemoved)),
        }
    }

    fn verify_pin_on_pinpad(&mut self, _control_code: u32, structure: &[u8]) -> honnin::Result<Vec<u8>> {
        assert_eq!(structure.len(), 28, "PIN_VERIFY_STRUCTURE");
        self.pinpad_entries += 1;
        self.pinpad_at = Some(self.sent.len());
        self.next().ok_or(Error::Reader(ReaderError::CardRemoved))
    }
}

fn codes_sent(card: &Scripted<'_>) -> usize {
    card.sent.iter().filter(|c| c.len() > 4 && c[..4] == [0x00, 0x20, 0x00, 0x80]).count() + card.pinpad_entries
}

/// A code went out only after a tries query that the card answered with
/// exactly `63 Cx`, x at least `fewest`.
fn check_tries_before_code(card: &Scripted<'_>, fewest: u8) {
    let verify = card.sent.iter().position(|c| c.len() > 4 && c[..4] == [0x00, 0x20, 0x00, 0x80]);
    let Some(at) = verify.or(card.pinpad_at) else { return };
    let query = card.sent[..at].iter().rposition(|c| c[..] == [0x00, 0x20, 0x00, 0x80]).expect("a tries query first");
    match card.answers[query].as_deref() {
        Some([0x63, sw2]) => assert!(sw2 & 0xF0 == 0xC0 && sw2 & 0x0F >= fewest, "code sent after {sw2:02X}"),
        other => panic!("code sent after the tries query answered {other:02X?}"),
    }
}

fn check_commands(sent: &[Vec<u8>]) {
    for command in sent {
        assert!(command.len() >= 4 && command.len() <= 4 + 1 + 255 + 1, "not a short APDU: {command:02X?}");
        if command[1] == 0xA4 && command[2] == 0x02 {
            let fid = &command[5..];
            for forbidden in [[0x00, 0x05], [0x00, 0x13], [0x00, 0x11]] {
                assert_ne!(fid, forbidden, "EF {forbidden:02X?} selected");
            }
        }
        if command[1] == 0xB0 {
            assert_eq!(command[2] & 0x80, 0, "READ BINARY offset past 15 bits");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&path, responses)) = data.split_first() else { return };
    let transport =
        Scripted { input: responses, sent: Vec::new(), answers: Vec::new(), pinpad_entries: 0, pinpad_at: None };
    let mut card = MyNumberCard::new(transport);
    let policy = TryPolicy::default();
    match path % 4 {
        0 => {
            let number_b = VerificationNumberB::from_parts((1980, 2, 17), 2030, "0123").unwrap();
            let result = card.read_face(&number_b, &policy, &TrustAnchors::none(), &Limits::default());
            if let Ok(read) = &result {
                let (w, h) = read.photo().dimensions();
                assert!(w > 0 && h > 0);
                assert!(read.summary().surface_bytes <= 0x8000);
                assert!(!read.photo().authenticity().is_verified() || read.summary().chip_signed);
                std::hint::black_box(format!("{:?}", read.summary()));
            }
            if let Err(e) = &result {
                std::hint::black_box((e.to_string(), e.kind()));
            }
            let transport = card.into_inner();
            let codes = codes_sent(&transport);
            assert!(codes <= 1, "{codes} codes sent");
            // A refusal for too few tries comes before any VERIFY.
            if let Err(Error::Reader(ReaderError::TooFewTries { .. })) = result {
                assert_eq!(codes, 0);
            }
            check_tries_before_code(&transport, policy.min_tries_left + 1);
            check_commands(&transport.sent);
        }
        1 | 2 => {
            let entry =
                if path % 4 == 1 { PinEntry::Host(CardPin::from_digits("1234").unwrap()) } else { PinEntry::Pinpad };
            let result = card.check_pin(entry, &policy);
            if let Err(e) = &result {
                std::hint::black_box((e.to_string(), e.kind()));
            }
            let transport = card.into_inner();
            let codes = codes_sent(&transport);
            assert!(codes <= 1, "{codes} codes sent");
            check_tries_before_code(&transport, policy.min_pin_tries_left);
            if let Ok(PinCheck::Refused { tries_left }) = result {
                assert_eq!(codes, 0);
                assert!(tries_left < policy.min_pin_tries_left);
            }
            check_commands(&transport.sent);
        }
        _ => {
            let _ = card.surface_tries_left();
            let _ = card.pin_tries_left();
            let transport = card.into_inner();
            assert_eq!(codes_sent(&transport), 0);
            check_commands(&transport.sent);
        }
    }
});
