//! The flags of every command that runs models, and how they become an
//! engine: models verified, calibrations loaded under their pins, ONNX
//! Runtime checked against its pin.
//!
//! Shared by `honnin` (this crate) and `honnin-lab`, which includes this file
//! (`#[path = "../../honnin-cli/src/engine.rs"] mod engine;`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use honnin::calibration::CalibrationPin;
use honnin::engine::NeedsPolicy;
use honnin::pad::{PadCalibration, PadPolicy};
use honnin::{Calibration, Engine, EngineBuilder, Models, Policy};

/// Where tools/setup.py installs ONNX Runtime.
const DEFAULT_ORT_LIB: &str = ".runtime/libonnxruntime.so.1.31.1";

/// Flags shared by every command that runs models.
#[derive(Args, Clone)]
pub(crate) struct EngineArgs {
    /// Model directory holding manifest.json.
    #[arg(long, env = "HONNIN_MODELS", default_value = "models")]
    pub(crate) models: PathBuf,
    /// Calibration file (default: the calibration honnin ships for the
    /// recognizer, built in; calibration/<recognizer id>.json holds the same bytes).
    /// Another file needs --calibration-sha256.
    #[arg(long, value_name = "FILE")]
    pub(crate) calibration: Option<PathBuf>,
    /// Required sha256 of --calibration (default: one of the calibrations
    /// honnin ships); "any" accepts any file, with a warning.
    #[arg(long, value_name = "SHA256|any", value_parser = pin_arg, requires = "calibration")]
    pub(crate) calibration_sha256: Option<String>,
    /// Target false-match rate, between 0 and 1; the calibration must have a point for it.
    #[arg(long, default_value_t = honnin::calibration::DEFAULT_TARGET_FMR, value_parser = fmr_arg, allow_negative_numbers = true)]
    pub(crate) target_fmr: f64,
    /// ONNX Runtime shared library (default: $HONNIN_ORT_LIB, else .runtime/libonnxruntime.so.1.31.1).
    #[arg(long)]
    pub(crate) onnxruntime: Option<PathBuf>,
    /// Required sha256 of that library (default: the hash honnin pins for
    /// this CPU, of the PyPI build tools/setup.py installs, wherever the
    /// library is; "any" skips the check, with a warning).
    #[arg(long, value_name = "SHA256|any", value_parser = pin_arg)]
    pub(crate) onnxruntime_sha256: Option<String>,
    /// Intra-op threads per model, 1 to 64 (default: number of CPUs, at most 2).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=honnin::engine::MAX_INTRA_THREADS as i64))]
    pub(crate) threads: Option<u32>,
    /// Do not average each face's template with its mirror image's.
    #[arg(long)]
    pub(crate) no_mirror: bool,
    /// Turn presentation-attack detection off (it runs whenever the PAD models
    /// named by the manifest are in the model directory).
    #[arg(long, conflicts_with_all = ["pad_calibration", "pad_calibration_sha256"])]
    pub(crate) no_pad: bool,
    /// PAD calibration file (default: the one honnin ships, built in;
    /// calibration/pad-minifasnet.json holds the same bytes). Another file
    /// needs --pad-calibration-sha256.
    #[arg(long, value_name = "FILE")]
    pub(crate) pad_calibration: Option<PathBuf>,
    /// Required sha256 of --pad-calibration (default: the one honnin ships);
    /// "any" accepts any file, with a warning.
    #[arg(long, value_name = "SHA256|any", value_parser = pin_arg, requires = "pad_calibration")]
    pub(crate) pad_calibration_sha256: Option<String>,
}

/// Reads the `what` at `path` with `load`, under the pin given as the value
/// of `flag` (none: one honnin ships; a sha256; `any`: unpinned, with a warning).
fn load_pinned<T>(
    path: &Path,
    pin: Option<&str>,
    what: &str,
    flag: &str,
    load: fn(&Path, &CalibrationPin) -> honnin::Result<T>,
) -> Result<T> {
    let pin = CalibrationPin::parse(pin)?;
    if pin == CalibrationPin::Any {
        eprintln!(
            "honnin: warning: the {what} {} is not pinned ({flag} any): whoever can edit it decides the outcome",
            path.display()
        );
    }
    load(path, &pin).with_context(|| format!("loading the {what} {}", path.display()))
}

/// A sha256 pin on the command line: 64 hex digits, or "any".
fn pin_arg(value: &str) -> std::result::Result<String, String> {
    match CalibrationPin::parse(Some(value)) {
        Ok(_) => Ok(value.to_ascii_lowercase()),
        Err(_) => Err("expected a sha256 of 64 hex digits, or \"any\"".into()),
    }
}

/// A target false-match rate: a number strictly between 0 and 1.
fn fmr_arg(value: &str) -> std::result::Result<f64, String> {
    match value.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        Ok(_) => Err("expected a false-match rate strictly between 0 and 1, such as 1e-4".into()),
        Err(_) => Err("expected a number strictly between 0 and 1, such as 1e-4".into()),
    }
}

impl EngineArgs {
    pub(crate) fn onnxruntime_path(&self) -> PathBuf {
        if let Some(p) = &self.onnxruntime {
            return p.clone();
        }
        match std::env::var_os(honnin::runtime::ORT_LIB_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(DEFAULT_ORT_LIB),
        }
    }

    /// The face calibration for `models`: --calibration under its pin, else
    /// the one honnin ships for the recognizer.
    pub(crate) fn calibration(&self, models: &Models) -> Result<Calibration> {
        let Some(path) = &self.calibration else {
            let id = models.recognizer_id();
            return honnin::Calibration::shipped(id)
                .with_context(|| {
                    format!("honnin ships no calibration for the recognizer {id}: give one with --calibration")
                })?
                .with_context(|| format!("the calibration shipped for {id}"));
        };
        let pin = self.calibration_sha256.as_deref();
        load_pinned(path, pin, "calibration", "--calibration-sha256", |p, pin| Calibration::from_file_under(p, pin))
    }

    /// The PAD calibration: --pad-calibration under its pin, else the one honnin ships.
    pub(crate) fn pad_calibration(&self) -> Result<PadCalibration> {
        let Some(path) = &self.pad_calibration else {
            return Ok(PadCalibration::bundled()?);
        };
        let pin = self.pad_calibration_sha256.as_deref();
        load_pinned(path, pin, "PAD calibration", "--pad-calibration-sha256", |p, pin| {
            PadCalibration::from_file_under(p, pin)
        })
    }

    /// The models, verified.
    pub(crate) fn build_models(&self) -> Result<Models> {
        Models::from_dir(&self.models).context("loading models")
    }

    /// An engine with the calibrated policy.
    pub(crate) fn engine(&self) -> Result<Engine> {
        let models = self.build_models()?;
        let calibration = self.calibration(&models)?;
        let policy = Policy::from_calibration(&calibration, self.target_fmr)?;
        self.build(models, policy)
    }

    /// An engine with `policy` and, unless `--no-pad`, PAD as the library
    /// decides it (`EngineBuilder::pad_when_present`): on when the models
    /// include PAD models, at `--pad-calibration` or the shipped calibration.
    pub(crate) fn build(&self, models: Models, policy: Policy) -> Result<Engine> {
        // Read only when it will be used, as before: PAD models present, PAD not turned off.
        let custom = match (&self.pad_calibration, models.has_pad() && !self.no_pad) {
            (Some(_), true) => Some(self.pad_calibration()?),
            _ => None,
        };
        let mut builder = self.builder(models)?;
        if !self.no_pad {
            builder = builder.pad_when_present(custom.as_ref())?;
        }
        Ok(builder.policy(policy).build()?)
    }

    /// As `build`, with the PAD policy given (`None`: PAD off).
    #[allow(dead_code)] // honnin-lab, which shares this file, uses it; the terminal does not.
    pub(crate) fn build_with_pad(&self, models: Models, policy: Policy, pad: Option<PadPolicy>) -> Result<Engine> {
        let mut builder = self.builder(models)?;
        if let Some(pad) = pad {
            builder = builder.pad(pad);
        }
        Ok(builder.policy(policy).build()?)
    }

    /// A builder with the runtime, its pin, the threads and the mirror setting
    /// from the command line.
    fn builder(&self, models: Models) -> Result<EngineBuilder<NeedsPolicy>> {
        let mut builder =
            Engine::builder(models).onnxruntime(self.onnxruntime_path()).mirror_averaging(!self.no_mirror);
        let pin = self.onnxruntime_sha256.as_deref();
        if pin == Some("any") {
            eprintln!(
                "honnin: warning: the ONNX Runtime library {} is not pinned (--onnxruntime-sha256 any)",
                self.onnxruntime_path().display()
            );
        }
        builder = builder.onnxruntime_pin(pin)?;
        if let Some(threads) = self.threads {
            builder = builder.intra_threads(threads as usize);
        }
        Ok(builder)
    }
}
