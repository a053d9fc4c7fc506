//! The flags of `honnin-lab eval`.

use std::path::PathBuf;

use clap::Args;

use crate::engine::EngineArgs;
use crate::lfw::default_lfw;

/// Arguments of `honnin-lab eval`.
#[derive(Args, Clone)]
pub(crate) struct EvalArgs {
    /// LFW folder: `--pairs` files and the default image root (`images/`) are read from it.
    #[arg(long, default_value_os_t = default_lfw())]
    pub(super) lfw: PathBuf,
    /// Pairs protocol: an LFW pairs file (`pairs.txt` format, inside the LFW folder unless a
    /// path) or a CSV of `img1,img2,same[,fold]` (paths relative to --images).
    #[arg(long, default_value = "pairs.txt", conflicts_with = "identities")]
    pub(super) pairs: String,
    /// Identity protocol: a folder of `<identity>/<image>` files. Genuine pairs: every pair
    /// within an identity; impostor pairs: see --impostors.
    #[arg(long, value_name = "DIR")]
    pub(super) identities: Option<PathBuf>,
    /// Root of the image paths of a CSV pairs file (default: the LFW images folder).
    #[arg(long, value_name = "DIR")]
    pub(super) images: Option<PathBuf>,
    /// Identity protocol: at most this many images per identity (file-name order).
    #[arg(long, default_value_t = 10)]
    pub(super) max_per_identity: usize,
    /// Identity protocol: impostor pairs from `first` (each identity's first image against every
    /// other identity's), `all` (every cross-identity pair), or a number N (N pairs drawn with --seed).
    #[arg(long, default_value = "first")]
    pub(super) impostors: String,
    /// Seed of every random draw (impostor sample, bootstrap).
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// Model set to evaluate, as DETECTOR,RECOGNIZER manifest ids; repeat to compare several
    /// on the same pairs (default: the manifest's defaults).
    #[arg(long = "model-set", value_name = "DET,REC")]
    pub(super) model_sets: Vec<String>,
    /// Also report FMR and FNMR at these thresholds.
    #[arg(long = "threshold", value_name = "T")]
    pub(super) thresholds: Vec<f32>,
    /// Bootstrap replicates for the 95 % intervals (by subject).
    #[arg(long, default_value_t = 200)]
    pub(super) bootstrap: u32,
    /// Card-like folder made by `honnin-lab card-like` (pairs protocol): the first image of each
    /// pair is replaced by its card-like (grey JPEG 2000) reference, loaded as a card photo.
    #[arg(long, value_name = "DIR")]
    pub(super) card_like: Option<PathBuf>,
    /// Write report.json, report.md and det.svg into this folder.
    #[arg(long, value_name = "DIR")]
    pub(super) report: Option<PathBuf>,
    /// Print the JSON report instead of the Markdown summary.
    #[arg(long)]
    pub(super) json: bool,
    /// Worker threads, each with its own engine.
    #[arg(long, default_value_t = 2)]
    pub(super) jobs: usize,
    #[command(flatten)]
    pub(super) engine: EngineArgs,
}
