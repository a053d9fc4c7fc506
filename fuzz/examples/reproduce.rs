//! Runs one input through honnin's public API outside libFuzzer (so without
//! its abort-on-panic hook) and prints what each entry point returns. A panic
//! that honnin catches shows as `Err(Decode ...)`; one that escapes honnin
//! ends this program with a panic message and exit code 101.
//!
//!     cargo run --release --example reproduce -- FILE...
//!
//! For card_responses inputs, the card reader's entry point the first byte
//! chooses is run over the scripted responses.

use honnin::authenticity::TrustAnchors;
use honnin::card::CardData;
use honnin::error::ReaderError;
use honnin::reader::{CardPin, MyNumberCard, PinEntry, PinpadSupport, Transport, TryPolicy, VerificationNumberB};
use honnin::{CardPhoto, Error, Limits, LiveFrame};

/// The card_responses target's scripted card (same input format): a path
/// byte, then length-prefixed responses.
struct Scripted<'a>(&'a [u8]);

impl Scripted<'_> {
    fn next(&mut self) -> honnin::Result<Vec<u8>> {
        let removed = || Error::Reader(ReaderError::CardRemoved);
        let (&first, rest) = self.0.split_first().ok_or_else(removed)?;
        let (len, rest) = match (first, rest) {
            (0xFF, [hi, lo, rest @ ..]) => ((usize::from(*hi) << 8 | usize::from(*lo)) % 320, rest),
            (0xFF, _) => return Err(removed()),
            _ => (usize::from(first), rest),
        };
        let (chunk, rest) = rest.split_at(len.min(rest.len()));
        self.0 = rest;
        Ok(chunk.to_vec())
    }
}

impl Transport for Scripted<'_> {
    fn transmit(&mut self, _command: &[u8]) -> honnin::Result<Vec<u8>> {
        self.next()
    }

    fn features(&mut self) -> honnin::Result<PinpadSupport> {
        let list = self.next()?;
        Ok(if list.is_empty() {
            PinpadSupport::None
        } else {
            PinpadSupport::VerifyPinDirect { control_code: 0x4233_0006 }
        })
    }

    fn verify_pin_on_pinpad(&mut self, _control_code: u32, _structure: &[u8]) -> honnin::Result<Vec<u8>> {
        self.next()
    }
}

/// What the card_responses target's entry points return for `data`.
fn card_responses(data: &[u8]) {
    let Some((&path, script)) = data.split_first() else { return };
    let mut card = MyNumberCard::new(Scripted(script));
    let policy = TryPolicy::default();
    match path % 4 {
        0 => {
            let number_b = VerificationNumberB::from_parts((1980, 2, 17), 2030, "0123").expect("test credentials");
            match card.read_face(&number_b, &policy, &TrustAnchors::none(), &Limits::default()) {
                Ok(read) => println!(
                    "  card_responses read_face -> Ok({:?}, {}, {:?})",
                    read.photo().dimensions(),
                    read.photo().authenticity(),
                    read.summary()
                ),
                Err(e) => println!("  card_responses read_face -> Err({e})"),
            }
        }
        1 | 2 => {
            let entry = if path % 4 == 1 {
                PinEntry::Host(CardPin::from_digits("1234").expect("test credentials"))
            } else {
                PinEntry::Pinpad
            };
            println!("  card_responses check_pin -> {:?}", card.check_pin(entry, &policy));
        }
        _ => println!("  card_responses tries -> {:?}, {:?}", card.surface_tries_left(), card.pin_tries_left()),
    }
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: reproduce FILE...");
        std::process::exit(2);
    }
    for path in paths {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        println!("{path}: {} bytes", data.len());
        match CardData::parse(&data, &Limits::default()) {
            Ok(card) => {
                println!("  CardData::parse      -> Ok({:?}, {} image(s))", card.container(), card.images().len());
                for image in card.images() {
                    println!("    {:?} at {} ({} bytes)", image.format(), image.offset(), image.bytes().len());
                }
            }
            Err(e) => println!("  CardData::parse      -> Err({e})"),
        }
        match CardPhoto::from_bytes(&data) {
            Ok(photo) => println!("  CardPhoto::from_bytes -> Ok({:?})", photo.dimensions()),
            Err(e) => println!("  CardPhoto::from_bytes -> Err({e})"),
        }
        match LiveFrame::from_bytes(&data) {
            Ok(frame) => println!("  LiveFrame::from_bytes -> Ok({:?})", frame.dimensions()),
            Err(e) => println!("  LiveFrame::from_bytes -> Err({e})"),
        }
        match honnin::research::expand_prelu(&data) {
            Some(out) => println!(
                "  onnx_graph::fuzz_expand_prelu -> Some({} bytes), again -> {}",
                out.len(),
                if honnin::research::expand_prelu(&out).is_some() { "Some" } else { "None" }
            ),
            None => println!("  onnx_graph::fuzz_expand_prelu -> None"),
        }
        card_responses(&data);
    }
}
