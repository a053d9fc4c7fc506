//! Decodes one card photo file and nothing else (no models, no runtime), so
//! that the memory a hostile input costs the decoder can be measured alone:
//!
//! ```text
//! cargo build --release --example decode_card
//! /usr/bin/time -v target/release/examples/decode_card tests/hostile/j2k_siz_65535.j2k
//! ```
//!
//! `--live` decodes the file as a live frame instead. Exit status 0 when the
//! photo decoded, 1 when honnin refused it (the error is printed), 2 on misuse.

use std::process::ExitCode;

use honnin::{CardPhoto, LiveFrame};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (live, path) = match args.as_slice() {
        [path] => (false, path),
        [flag, path] if flag == "--live" => (true, path),
        _ => {
            eprintln!("usage: decode_card [--live] FILE");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let result = if live {
        LiveFrame::from_bytes(&bytes).map(|f| format!("live frame {}x{}", f.dimensions().0, f.dimensions().1))
    } else {
        CardPhoto::from_bytes(&bytes).map(|p| {
            let (w, h) = p.dimensions();
            format!("card photo {w}x{h}, {:?} in {:?}, {:?}", p.format(), p.container(), p.kind())
        })
    };
    match result {
        Ok(text) => {
            println!("ok: {text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("error: {e}");
            ExitCode::from(1)
        }
    }
}
