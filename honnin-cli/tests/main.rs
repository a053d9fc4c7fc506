//! honnin-cli's integration tests: the `honnin` binary run as a terminal runs
//! it (exit codes, JSON, the counter in a terminal, audit logs, privacy under
//! strace, the trust boundary, large photos). One binary, one module per
//! concern; the fixtures are the library suite's (tests/suite/), included.
//!
//! Like the library's tests, they need `tools/setup.py` to have run and the
//! shared face data (`../shared/data`, or `HONNIN_DATA`).

// The library suite's fixtures: not every one is used here.
#[allow(dead_code)]
#[path = "../../tests/suite/audit_schema.rs"]
mod audit_schema;
#[allow(dead_code)]
#[path = "../../tests/suite/common.rs"]
mod common;
#[allow(dead_code)]
#[path = "../../tests/suite/frames.rs"]
mod frames;
#[allow(dead_code)]
#[path = "../../tests/suite/large_photos/photos.rs"]
mod photos;
#[path = "../../tests/suite/progressive_jpeg/encoder.rs"]
mod progressive_jpeg;
#[path = "../../tests/suite/tampered_calibrations.rs"]
mod tampered_calibrations;

mod measured;

mod audit;
mod authenticity;
mod cli;
mod counter;
mod large_photos;
mod privacy;
mod reader;
mod trust;
