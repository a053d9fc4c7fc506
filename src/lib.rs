//! # honnin — on-device face verification for counter terminals
//!
//! honnin compares the face photo stored on an ID card with a live image of the
//! person at the counter and returns a calibrated decision, entirely on the
//! device. It never sends, stores or logs biometric data. It wipes its own
//! pixel buffers, face chips, model inputs, model outputs and templates when
//! they are dropped; PRIVACY.md lists every artefact, the threat model and
//! the tests behind each claim.
//!
//! ## Getting started
//!
//! ```no_run
//! use honnin::{Calibration, CardPhoto, Decision, Engine, LiveFrame, Models, Policy};
//!
//! # fn main() -> Result<(), honnin::Error> {
//! let models = Models::from_dir("models")?; // sha256 of every file checked here
//! let calibration = Calibration::from_file("calibration/intel-reid-0095.json")?;
//! let engine = Engine::builder(models)
//!     .onnxruntime(".runtime/libonnxruntime.so.1.31.1")
//!     .policy(Policy::from_calibration(&calibration, 1e-4)?) // target FMR 1/10,000
//!     .build()?;
//!
//! let card = CardPhoto::open("card.png")?;
//! let reference = engine.card_reference(&card)?; // computed once per card
//! let outcome = engine.verify_reference(&reference, &LiveFrame::open("live.jpg")?)?;
//! match outcome.decision {
//!     Decision::Match => println!("same person"),
//!     Decision::NoMatch => println!("not the same person: offer the staff check"),
//!     Decision::Inconclusive(reason) => println!("retake: {reason}"),
//! }
//! # Ok(()) }
//! ```
//!
//! ## The crate's map
//!
//! The root holds what every integration uses: [`Engine`] and its
//! [`EngineBuilder`], [`Models`], [`Policy`] and the [`Calibration`] it comes
//! from, the inputs ([`CardPhoto`], [`LiveFrame`], [`Limits`]), a card's
//! [`CardReference`], and what a verification ends in ([`Outcome`],
//! [`Decision`], [`Reason`], [`Method`]), with [`Error`] and the [`ErrorKind`]
//! that says who must act on it. The rest is in modules named after what
//! they hold:
//!
//! | module | what it holds |
//! |---|---|
//! | [`counter`] | counter sessions: one person, their choice of method (face or staff visual check), one outcome; frame sources |
//! | [`authenticity`] | whether a card photo is the one its issuer wrote: passive authentication, the My Number surface signature, chip challenges |
//! | [`card`] | card data as chips store it: ICAO EF.DG2, ISO/IEC 19794-5 and 39794-5 records, My Number card-surface data |
//! | `reader` | the face photo read from a My Number card in a PC/SC reader, 照合番号B, the JPKI PIN path (feature `reader`) |
//! | [`input`] | card photos, live frames, raw pixel layouts, [`Limits`], files read without trusting their type |
//! | [`engine`] | the engine and what it hands out: templates, scores, face boxes, model run counts |
//! | [`models`] | the model manifest: files, hashes, licences, metrics |
//! | [`calibration`] | calibration files, their pins and plausibility checks, operating points |
//! | [`pad`] | presentation-attack detection's policy and calibration |
//! | [`outcome`] | outcomes in detail: which image a reason is about, PAD checks, thresholds, timings |
//! | [`quality`] | the quality gate and the guidance it gives the person |
//! | [`audit`] | audit records without biometric data, appended as a hash chain |
//! | [`metrics`] | ISO/IEC 19795-1 error rates, intervals and DET curves, for benchmarking |
//! | [`hardening`], `sandbox` | process hardening (no core dumps, locked memory), and on Linux landlock and seccomp |
//! | [`runtime`] | the ONNX Runtime library honnin pins |
//! | [`danger`] | switches that weaken honnin's guarantees, for tests and calibration runs |
//! | `research` | single pipeline stages for benchmarks (feature `research`) |
//!
//! ## Data flow
//!
//! ```text
//! bytes ─decode─▶ pixels ─detect (YuNet)─▶ faces ─choose subject─▶ 5 landmarks
//!   ─align (similarity fit)─▶ chip ─embed (recognizer, + mirror)─▶ template
//!   card template ┐
//!                 ├─compare─▶ score ─decide (policy from calibration)─▶ Outcome
//!   live template ┘
//! ```
//!
//! Every path to a template goes through one acquisition function (detect,
//! choose the subject, the quality gate, liveness and embedding as far as
//! asked), and every decision through one set of rules (PAD verdict, fused or
//! single-frame threshold, match or not), for one-shot verification and for
//! counter sessions alike.
//!
//! A staff visual check ([`counter::staff_visual_check`]) gives the same
//! [`Outcome`] type without computing any biometric; a [`counter::Counter`]
//! offers it beside the face check, and on a counter without models alone.
//!
//! ## Thresholds
//!
//! There is no built-in threshold. A [`Policy`] names a target false-match
//! rate and reads the threshold from a [`Calibration`], which records the
//! fingerprint of the pipeline it was measured with
//! ([`Models::pipeline_sha256`]); [`EngineBuilder::build`] refuses a
//! calibration made for another pipeline. The calibrations honnin ships are
//! pinned by sha256 ([`Calibration::from_file`] accepts only those bytes); a
//! grey card photo (the My Number chip's) is compared against thresholds
//! calibrated for grey references, and without them the outcome is
//! inconclusive ([`Reason::NotCalibrated`]).
//!
//! ## Untrusted input
//!
//! Card photos, chip data, camera frames, model files and calibrations are
//! untrusted. Input is bounded by [`Limits`] (checked from headers before any
//! pixel buffer exists); model files are checked against the manifest's
//! sha256 before ONNX Runtime sees them. Failures are [`Error`] values, never
//! panics: a panic inside a third-party image decoder is caught and returned
//! as [`Error::Decode`] (with the default `panic = "unwind"`).
//!
//! ## Features
//!
//! - `sandbox` (default, Linux): `honnin::sandbox`, landlock and seccomp
//!   restrictions that `honnin verify` installs before any model loads.
//! - `camera`: `counter::CameraSource`, live frames from a V4L2 camera through
//!   nokhwa (building it needs libclang, Debian `libclang-dev`).
//! - `reader`: `honnin::reader`, the face photo read from a My Number card
//!   in a PC/SC reader (照合番号B, the surface signature, the chip's answer
//!   to a fresh challenge) and the JPKI PIN path, on the host's keyboard or a
//!   PC/SC Part 10 pinpad. Through the `pcsc` crate: building it needs
//!   pcsc-lite (Debian `libpcsclite-dev`), running it `pcscd`. See
//!   docs/card-reader.md.
//! - `research`: `honnin::research`, single pipeline stages and the model
//!   graph rewrite, for benchmarks and research; a counter build leaves it
//!   off (`cargo build -p honnin-cli`; a whole-workspace build also builds
//!   the lab, which turns it on).
//!
//! The command-line tools are their own crates: `honnin-cli` (the terminal's
//! `honnin`) and `honnin-lab` (`honnin-lab`, evaluation and calibration).

// `unsafe` is confined to `hardening` (libc calls), which allows it explicitly.
#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod card;
pub mod counter;
mod decision;
pub mod engine;
pub mod error;
pub mod input;
mod pipeline;
mod privacy;
#[cfg(feature = "reader")]
pub mod reader;

pub use calibration::Calibration;
pub use card::authenticity;
pub use decision::pad_policy as pad;
pub use decision::policy::Policy;
pub use decision::{calibration, metrics, outcome};
pub use engine::{CardReference, Engine, EngineBuilder};
pub use error::{Error, ErrorKind, Result};
pub use input::{CardPhoto, Limits, LiveFrame};
pub use models::Models;
pub use outcome::{Decision, Method, Outcome, Reason};
pub use pipeline::{models, quality, runtime};
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub use privacy::sandbox;
pub use privacy::{audit, hardening};

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

/// Switches that weaken honnin's guarantees. Each use deserves a code review.
pub mod danger {
    use std::path::Path;

    use crate::calibration::Calibration;
    use crate::decision::pin::Pin;
    use crate::engine::{Acquisition, Engine, EngineBuilder, Template};
    use crate::input::{CardPhoto, LiveFrame};
    use crate::models::Metric;
    use crate::pad::{PadCalibration, PadPolicy};
    use crate::{Policy, Result};

    /// A policy with a hand-picked threshold, tied to no calibration and no FMR.
    ///
    /// For conformance tests and for trying out a new recognizer before it is
    /// calibrated. Never deploy it: a threshold without a measured FMR is a guess.
    pub fn uncalibrated_policy(metric: Metric, threshold: f32) -> Policy {
        Policy::uncalibrated(metric, threshold)
    }

    /// A PAD policy at a liveness threshold that no calibration measured
    /// (for tests and calibration runs). Never deploy it.
    pub fn uncalibrated_pad_policy(threshold: f32) -> PadPolicy {
        PadPolicy::uncalibrated(threshold)
    }

    /// A face calibration file accepted whatever its sha256 (its plausibility
    /// is still checked).
    ///
    /// For calibration and evaluation runs, and for a calibration made
    /// in-house that has no pin yet. A deployment should pin the file it
    /// uses ([`Calibration::from_file_pinned`]): whoever can edit an unpinned
    /// file decides who matches.
    pub fn unpinned_calibration(path: impl AsRef<Path>) -> Result<Calibration> {
        Calibration::read(path.as_ref(), Pin::Unpinned)
    }

    /// A face calibration's JSON text accepted whatever its sha256, as
    /// [`unpinned_calibration`] accepts a file.
    pub fn unpinned_calibration_json(text: &str) -> Result<Calibration> {
        Calibration::parse(text, Pin::Unpinned)
    }

    /// A PAD calibration file accepted whatever its sha256 (its plausibility
    /// is still checked), as [`unpinned_calibration`] accepts a face calibration.
    pub fn unpinned_pad_calibration(path: impl AsRef<Path>) -> Result<PadCalibration> {
        PadCalibration::read(path.as_ref(), Pin::Unpinned)
    }

    /// A PAD calibration's JSON text accepted whatever its sha256.
    pub fn unpinned_pad_calibration_json(text: &str) -> Result<PadCalibration> {
        PadCalibration::parse(text, Pin::Unpinned)
    }

    /// ONNX Runtime as it comes: CPU memory arena and memory-pattern planning
    /// on, and its output buffers (boxes, landmarks, embeddings) freed
    /// without being wiped.
    ///
    /// Only for the memory-forensics baseline, which measures what ONNX
    /// Runtime's own memory holds without honnin's settings.
    pub fn onnxruntime_defaults<S>(builder: EngineBuilder<S>, on: bool) -> EngineBuilder<S> {
        builder.onnxruntime_defaults(on)
    }

    /// A card photo's decoded pixels: RGB, row-major, `width * height * 3`
    /// bytes, borrowed (no copy is made; they are wiped when the photo drops).
    ///
    /// For decoder conformance tests only. These are biometric data: never
    /// store, log or send them.
    pub fn dangerous_card_pixels(card: &CardPhoto) -> &[u8] {
        card.pixels.data()
    }

    /// A template's raw embedding values.
    ///
    /// Biometric data: for benchmarking (the lab's score matrices) and
    /// conformance tests only. Never store, log or transmit what this returns.
    pub fn dangerous_template_values(template: &Template) -> &[f32] {
        template.values()
    }

    /// A live frame's decoded pixels, as [`dangerous_card_pixels`] gives a card's.
    pub fn dangerous_live_pixels(frame: &LiveFrame) -> &[u8] {
        frame.pixels.data()
    }

    /// Acquires the subject's template as [`Engine::template`] does, and
    /// shows `observe` the recognizer's input tensor (the aligned face chips,
    /// with the mirrored chip second when mirror averaging is on) and its raw
    /// output, in place, just before both are wiped.
    ///
    /// For the memory-forensics test, which must know the byte patterns it
    /// looks for. Biometric data: never store, log or send what this shows.
    pub fn dangerous_observe_embedding(
        engine: &Engine,
        frame: &LiveFrame,
        mut observe: impl FnMut(&[f32], &[f32]),
    ) -> Result<Acquisition> {
        engine.observe_embedding(frame, &mut observe)
    }

    /// Scores the subject's liveness as [`Engine::liveness`] does, and shows
    /// `observe` each PAD model's input tensor (the face crop it scores, as
    /// floats in the model's channel order) in place, just before it is
    /// wiped. `None` without PAD models or without one subject face.
    ///
    /// For the memory-forensics test. Biometric data: never store, log or send
    /// what this shows.
    pub fn dangerous_observe_pad(
        engine: &Engine,
        frame: &LiveFrame,
        mut observe: impl FnMut(&[f32]),
    ) -> Result<Option<f32>> {
        engine.observe_pad(frame, &mut observe)
    }
}

/// Hooks for benchmarks and research (feature `research`): single pipeline
/// stages outside any decision, and the load-time graph rewrite. A counter
/// build leaves them out.
#[cfg(feature = "research")]
pub mod research {
    use crate::engine::{Detection, Engine, EngineBuilder, Template};
    use crate::input::LiveFrame;
    use crate::Result;

    /// Aligns `face` in `frame` without running the recognizer; `false` when
    /// its landmarks are too degenerate to align.
    pub fn align(engine: &Engine, frame: &LiveFrame, face: &Detection) -> bool {
        engine.stages().align_only(&frame.pixels, face)
    }

    /// The PAD models alone on `face` (no detection): their mean live probability.
    pub fn pad_models(engine: &Engine, frame: &LiveFrame, face: &Detection) -> Result<f32> {
        engine.stages().liveness(&frame.pixels, face, None)
    }

    /// Aligns and embeds `face` in `frame` (no detection).
    pub fn embed(engine: &Engine, frame: &LiveFrame, face: &Detection) -> Result<Option<Template>> {
        engine.stages().embed(&frame.pixels, face, &mut |_, _| {})
    }

    /// Load the models' graphs as they are, without rewriting `PRelu` (same
    /// results, slower PAD models and recognizer), when `rewrite` is false.
    /// For the benchmarks and the tests that compare the two.
    pub fn rewrite_prelu<S>(builder: EngineBuilder<S>, rewrite: bool) -> EngineBuilder<S> {
        builder.expand_prelu(rewrite)
    }

    /// The load-time `PRelu` rewrite applied to arbitrary ONNX bytes: the
    /// rewritten model, or `None` when there is nothing to rewrite or the
    /// bytes are not a model it reads (the fuzz target's entry; it must never panic).
    pub fn expand_prelu(model: &[u8]) -> Option<Vec<u8>> {
        crate::pipeline::onnx_graph::fuzz_expand_prelu(model)
    }
}
