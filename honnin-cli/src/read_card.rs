//! `honnin read-card`: what the card in a reader holds, without a pixel or a
//! number: the applications present, the tries left on 照合番号B and on the
//! PIN (read without spending one), whether the reader has a keypad, and,
//! with `--photo`, the face photo's size, kind and authenticity.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use honnin::reader::{MyNumberCard, PinpadSupport, Tries};
use honnin::Limits;
use serde_json::json;

use crate::reader::{number_b, unbuffered_stdin, Reader, ReaderArgs};

/// Arguments of `honnin read-card`.
#[derive(Args)]
pub(crate) struct ReadCardArgs {
    /// List the readers and whether each holds a card, then stop.
    #[arg(long)]
    list: bool,
    /// Also read the face photo: asks on standard input for the birth date,
    /// the expiry year and the security code printed on the card (照合番号B;
    /// one try is spent if they are wrong, never more), then shows the
    /// photo's size, kind and authenticity (no pixel).
    #[arg(long)]
    photo: bool,
    #[command(flatten)]
    reader: ReaderArgs,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

fn tries(t: Tries) -> serde_json::Value {
    match t {
        Tries::Left(n) => json!(n),
        Tries::Blocked => json!("blocked"),
        Tries::AlreadyVerified => json!("verified"),
    }
}

fn tries_text(t: Tries) -> String {
    match t {
        Tries::Left(n) => n.to_string(),
        Tries::Blocked => "blocked".into(),
        Tries::AlreadyVerified => "verified in this connection".into(),
    }
}

pub(crate) fn read_card(args: &ReadCardArgs) -> Result<ExitCode> {
    if args.list {
        let context = honnin::reader::ReaderContext::establish()?;
        let readers = context.readers()?;
        let mut listed = Vec::new();
        for name in &readers {
            let present = context.wait_for_card(name, std::time::Duration::ZERO)?;
            listed.push(json!({ "reader": name, "card": present }));
            if !args.json {
                outln!("{name}\t{}", if present { "card present" } else { "no card" });
            }
        }
        if args.json {
            outln!("{}", json!({ "readers": listed }));
        } else if readers.is_empty() {
            outln!("no card reader is connected");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let anchors = args.reader.anchors()?;
    let reader = Reader::open(&args.reader)?;
    let mut card = MyNumberCard::new(reader.card(&args.reader)?);
    let pinpad = card.pinpad()?;
    let surface = card.surface_tries_left()?;
    let pin = card.pin_tries_left()?;
    let mut report = json!({
        "reader": reader.name,
        "card": "my_number",
        "number_b_tries": tries(surface),
        "pin_tries": tries(pin),
        "pinpad": matches!(pinpad, PinpadSupport::VerifyPinDirect { .. }),
    });
    if !args.json {
        outln!("reader: {}", reader.name);
        outln!("card: My Number card");
        outln!("照合番号B tries left: {}", tries_text(surface));
        outln!("PIN tries left: {}", tries_text(pin));
        outln!("pinpad: {}", if report["pinpad"] == json!(true) { "yes (PIN entered on the reader)" } else { "no" });
    }
    if args.photo {
        let code = number_b(&mut unbuffered_stdin()?)?;
        let read = card.read_face(&code, &args.reader.policy(), &anchors, &Limits::default())?;
        drop(code);
        let photo = read.photo();
        let (w, h) = photo.dimensions();
        let summary = read.summary();
        report["photo"] = json!({
            "width": w,
            "height": h,
            "kind": photo.kind().word(),
            "format": photo.format(),
            "surface_bytes": summary.surface_bytes,
            "certificate_bytes": summary.certificate_bytes,
            "chip_signed": summary.chip_signed,
        });
        report["authenticity"] = serde_json::to_value(photo.authenticity())?;
        if !args.json {
            outln!("photo: {w}x{h}, {} ({} bytes of card-surface data)", photo.kind().word(), summary.surface_bytes);
            outln!("authenticity: {}", photo.authenticity());
        }
    }
    if args.json {
        outln!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}
