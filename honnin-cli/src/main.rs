//! `honnin`: the command-line tool of a counter terminal, on the honnin
//! library: `verify` (one pair, or many with `--pairs`), `counter`, `card`,
//! `models` and `audit`. The measuring tools (eval, calibrate, fusion,
//! card-like, PAD evaluation and calibration) are `honnin-lab`'s.
//!
//! Exit codes of `honnin verify`:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | match |
//! | 1 | no match |
//! | 2 | inconclusive (no face, several faces, ...) |
//! | 3 | error (unreadable input, missing or tampered model, missing runtime, bad calibration) |
//! | 64 | usage error (unknown flag, missing argument, `--sod` with a card that is not EF.DG2) |
//!
//! `honnin counter` uses the same codes, and 4 when no key came in time and
//! 128 + N when signal N ended the session (`counter.rs`). `honnin audit
//! verify` has its own (`audit.rs`). Other commands exit 0 on success, 3 on
//! error and 64 on a usage error.

#[macro_use]
mod process;

mod audit;
mod batch;
mod card;
mod counter;
mod engine;
mod input;
#[cfg(feature = "reader")]
mod read_card;
#[cfg(feature = "reader")]
mod reader;
mod sandbox;
mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use honnin::Models;

use crate::engine::EngineArgs;
use crate::input::InputArgs;
use crate::process::{Cli, EXIT_USAGE};
use crate::sandbox::SandboxArgs;
use crate::verify::VerifyArgs;

/// The terminal's commands.
#[derive(Subcommand)]
enum Command {
    /// Compare a card photo with a live photo. Exit 0 match, 1 no match, 2 inconclusive, 3 error.
    Verify {
        /// The card's reference photo: JPEG, JPEG 2000, PNG or WebP, or chip data
        /// (ICAO EF.DG2, ISO/IEC 19794-5 or 39794-5 record, My Number card-surface data).
        #[arg(long, required_unless_present = "pairs")]
        card: Option<PathBuf>,
        /// The live photo of the person at the counter.
        #[arg(long, required_unless_present = "pairs")]
        live: Option<PathBuf>,
        #[command(flatten)]
        authenticity: verify::AuthenticityArgs,
        /// Verify many pairs in one process: a CSV file ("-": standard input)
        /// of card,live paths, one pair per line (a "card,live" header and
        /// lines starting with # are skipped). The models load once; one JSON
        /// line per pair, in input order. Exit 0 when every pair was decided,
        /// 3 when any pair failed (the others are still reported).
        #[arg(long, value_name = "CSV", conflicts_with_all = ["card", "live", "audit", "json", "sod", "card_certificate", "csca", "require_authentic"])]
        pairs: Option<PathBuf>,
        /// With --pairs: engines verifying pairs side by side, 1 to 8 (with
        /// more than one, each runs one intra-op thread per model unless
        /// --threads says otherwise; the scores are the same).
        /// (Default 2.)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8))]
        jobs: Option<u32>,
        #[command(flatten)]
        input: InputArgs,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
        /// Append one audit record (a JSON line without biometric data, see
        /// PRIVACY.md) to this hash-chained log, created with mode 0600; "-"
        /// writes it to standard output.
        #[arg(long, value_name = "FILE")]
        audit: Option<PathBuf>,
        #[command(flatten)]
        audit_ids: audit::AuditIds,
        #[command(flatten)]
        sandbox: SandboxArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// A counter session in the terminal: method choice, live guidance, decision; staff check with the card photo.
    Counter(counter::CounterArgs),
    /// Show what the card in a PC/SC reader holds (applications, tries left,
    /// keypad; with --photo the face photo's size and authenticity), without
    /// printing a pixel or a number. Spends no try unless --photo is given.
    #[cfg(feature = "reader")]
    ReadCard(read_card::ReadCardArgs),
    /// Audit logs: `honnin audit verify FILE` checks a log's hash chain.
    Audit(audit::AuditArgs),
    /// Show what card data holds (container, face images, declared metadata) and
    /// decode the chosen image. Runs no model and prints no pixels.
    Card {
        /// The card data or card photo file.
        file: PathBuf,
        #[command(flatten)]
        input: InputArgs,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the models in use, their verified sha256 and licences.
    Models {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Model directory holding manifest.json.
        #[arg(long, env = "HONNIN_MODELS", default_value = "models")]
        models: PathBuf,
    },
}

fn main() -> ExitCode {
    process::main(run)
}

fn run(cli: Cli<Command>) -> Result<ExitCode> {
    // clap lets a `requires` lapse when its target conflicts with an argument
    // given (--pairs with --card), so this one is checked here.
    if let Command::Verify { jobs: Some(_), pairs: None, .. } = &cli.command {
        eprintln!("error: --jobs applies only with --pairs");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let hardening = cli.harden();
    match cli.command {
        Command::Verify { pairs: Some(pairs), input, sandbox, engine, jobs, .. } => {
            batch::verify_pairs(&pairs, &input, &sandbox, &engine, jobs.unwrap_or(2) as usize)
        }
        Command::Verify {
            card: Some(card),
            live: Some(live),
            authenticity,
            input,
            json,
            audit,
            audit_ids,
            sandbox,
            engine,
            ..
        } => verify::verify(
            &VerifyArgs { card, live, authenticity, input, json, audit, audit_ids, sandbox, engine },
            hardening.as_ref(),
        ),
        Command::Verify { .. } => unreachable!("clap requires --card and --live unless --pairs is given"),
        Command::Counter(args) => counter::counter(&args),
        Command::Audit(args) => audit::audit(&args),
        #[cfg(feature = "reader")]
        Command::ReadCard(args) => read_card::read_card(&args),
        Command::Card { file, input, json } => card::inspect_card(&file, &input, json),
        Command::Models { json, models } => list_models(&models, json),
    }
}

fn list_models(dir: &Path, json: bool) -> Result<ExitCode> {
    let models = Models::from_dir(dir).context("loading models")?;
    let info = models.describe();
    if json {
        outln!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        for m in info {
            outln!("{} ({})", m.id, m.role);
            let path = m.path.as_deref().map_or("(in memory)".into(), |p| p.display().to_string());
            outln!("  file     {path} ({} bytes)", m.bytes);
            outln!("  sha256   {} (verified)", m.sha256);
            outln!("  licence  {}", m.licence);
            outln!("  source   {}", m.source);
        }
    }
    Ok(ExitCode::SUCCESS)
}
