//! honnin-lab's integration tests: the `honnin-lab` binary end to end (eval's
//! protocols and reports, card-like references on LFW DevTest, PAD evaluation
//! and calibration). One binary, one module per concern; the fixtures are the
//! library suite's (tests/suite/), included.
//!
//! Like the library's tests, they need `tools/setup.py` to have run and the
//! shared face data (`../shared/data`, or `HONNIN_DATA`).

// The library suite's fixtures: not every one is used here.
#[allow(dead_code)]
#[path = "../../tests/suite/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../../tests/suite/frames.rs"]
mod frames;

mod card_like_devtest;
mod eval;
mod lab;
mod pad;
