//! honnin's integration tests: one binary, one module per concern.
//!
//! Tests that run models need `tools/setup.py` to have run (ONNX Runtime in
//! `.runtime/`, detector models in `models/`) and the shared face data
//! (`../shared/data`, or `HONNIN_DATA`). When either is missing they fail with
//! a message saying what to do: a skipped accuracy test would prove nothing.
//!
//! The tests that run the command-line tools are theirs: honnin-cli/tests
//! (`honnin`) and honnin-lab/tests (`honnin-lab`), one binary each, sharing
//! this suite's fixtures (common.rs, frames.rs, audit_schema.rs, ...).

mod audit_schema;
mod common;
mod frames;
mod progressive_jpeg;

mod audit;
mod authenticity;
mod c_api;
mod card_photos;
mod chip_vectors;
mod hostile;
mod integrity;
mod large_photos;
mod layout;
mod lfw_devtest;
mod pad;
mod pipeline;
mod plugin_recognizer;
mod privacy;
mod quality;
mod recognizer;
mod reference_agreement;
mod session;
mod tampered_calibrations;
mod trust;
