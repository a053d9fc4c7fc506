//! Runs one input through honnin's public API outside libFuzzer (so without
//! its abort-on-panic hook) and prints what each entry point returns. A panic
//! that honnin catches shows as `Err(Decode ...)`; one that escapes honnin
//! ends this program with a panic message and exit code 101.
//!
//!     cargo run --release --example reproduce -- FILE...

use honnin::card::CardData;
use honnin::{CardPhoto, Limits, LiveFrame};

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
    }
}
