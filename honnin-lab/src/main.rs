//! `honnin-lab`: the tools that measure honnin: accuracy as ISO/IEC 19795-1
//! reports it (`eval`), calibration (`calibrate`), frame fusion (`fusion`),
//! card-like references (`card-like`), and presentation-attack detection as
//! ISO/IEC 30107-3 reports it (`pad-eval`, `pad-calibrate`). A terminal's
//! commands are `honnin`'s (package honnin-cli), whose flag handling and
//! process setup this tool shares (`engine.rs`, `process.rs`).
//!
//! Exit codes: 0 success, 3 error, 64 usage error.

#[macro_use]
#[path = "../../honnin-cli/src/process.rs"]
mod process;

#[path = "../../honnin-cli/src/engine.rs"]
mod engine;

mod calibrate;
mod cardlike;
mod eval;
mod fusion;
mod lfw;
mod output;
mod pad;
mod parallel;

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::process::Cli;

/// The lab's commands.
#[derive(Subcommand)]
enum Command {
    /// Accuracy as ISO/IEC 19795-1 reports it: FNMR at target FMRs, EER, intervals, DET curve; LFW
    /// pairs, CSV pairs or identity folders; several model sets side by side.
    Eval(eval::EvalArgs),
    /// Measure thresholds on LFW View 1 DevTrain and write a calibration file.
    Calibrate(calibrate::CalibrateArgs),
    /// Measure what fusing several frames does to FNMR at the calibrated FMR (simulated on LFW).
    Fusion(fusion::FusionArgs),
    /// Render LFW images as card-like references (160x200 grey JPEG 2000 of about 4 KB) for the card-like protocol.
    CardLike(cardlike::CardLikeArgs),
    /// Presentation-attack detection as ISO/IEC 30107-3 reports it: APCER per attack type and the
    /// maximum, BPCER, with counts and each image's decision; from live/ and attack/<type>/ folders
    /// or a labels CSV.
    PadEval(pad::PadEvalArgs),
    /// Set the PAD threshold for a target BPCER on bona fide images, and write the PAD calibration file.
    PadCalibrate(pad::PadCalibrateArgs),
}

fn main() -> ExitCode {
    process::main(run)
}

fn run(cli: Cli<Command>) -> Result<ExitCode> {
    cli.harden();
    match cli.command {
        Command::Eval(args) => eval::eval(&args),
        Command::Calibrate(args) => calibrate::calibrate(&args),
        Command::Fusion(args) => fusion::fusion(&args),
        Command::CardLike(args) => cardlike::card_like(&args),
        Command::PadEval(args) => pad::pad_eval(&args),
        Command::PadCalibrate(args) => pad::pad_calibrate(&args),
    }?;
    Ok(ExitCode::SUCCESS)
}
