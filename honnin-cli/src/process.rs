//! What every honnin command-line tool does around its commands: standard
//! output that reports a closed pipe, process hardening, the exit codes of
//! an error and a usage mistake, and ONNX Runtime's telemetry kept off.
//!
//! Shared by `honnin` (this crate) and `honnin-lab`, which includes this file
//! (`#[macro_use] #[path = "../../honnin-cli/src/process.rs"] mod process;`,
//! declared before the modules that print).

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use honnin::hardening::{HardeningOptions, HardeningReport, Status};

/// Exit code of an error (unreadable input, missing or tampered model,
/// missing runtime, bad calibration).
pub(crate) const EXIT_ERROR: u8 = 3;
/// Exit code of a usage error (unknown flag, missing argument).
pub(crate) const EXIT_USAGE: u8 = 64;

/// `println!` that reports a closed or broken stdout as an error (exit code 3)
/// instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `print!` counterpart of [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// A tool's command line: its commands, and the process-hardening switches,
/// global to every command. It bears the binary's name and the package's
/// description.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), version, about = env!("CARGO_PKG_DESCRIPTION"))]
pub(crate) struct Cli<C: Subcommand> {
    #[command(subcommand)]
    pub(crate) command: C,
    /// Skip process hardening (on by default: no core dumps, biometric
    /// buffers locked in RAM; freed heap memory is overwritten only with
    /// --wipe-freed-heap).
    #[arg(long, global = true)]
    no_hardening: bool,
    /// Also have glibc overwrite every freed heap block, ONNX Runtime's
    /// feature maps included (verification about 47 % slower; see PRIVACY.md).
    #[arg(long, global = true, conflicts_with = "no_hardening")]
    wipe_freed_heap: bool,
}

impl<C: Subcommand> Cli<C> {
    /// Hardens the process unless told not to, warning of each measure not in effect.
    pub(crate) fn harden(&self) -> Option<HardeningReport> {
        let report = (!self.no_hardening).then(|| {
            let options = HardeningOptions { wipe_freed_heap: self.wipe_freed_heap, ..HardeningOptions::default() };
            honnin::hardening::harden_process_with(options)
        })?;
        for (measure, status) in [
            ("no core dumps", &report.no_core_dumps),
            ("freed heap wiping", &report.wipe_freed_heap),
            ("buffer locking", &report.lock_biometric_buffers),
        ] {
            if let Status::Failed(why) = status {
                eprintln!("honnin: warning: hardening ({measure}) not in effect: {why}");
            }
        }
        Some(report)
    }
}

/// Parses the command line and runs it: help and version exit 0, a usage
/// mistake 64, an error 3 (said on stderr); otherwise `run`'s code.
pub(crate) fn main<C: Subcommand>(run: fn(Cli<C>) -> Result<ExitCode>) -> ExitCode {
    // Before any thread exists: ONNX Runtime's telemetry client stays off
    // (the library would set it too, but later, when threads may read the
    // environment).
    std::env::set_var(honnin::runtime::ORT_TELEMETRY_ENV, "1");
    let cli = match Cli::<C>::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(EXIT_USAGE),
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("honnin: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
