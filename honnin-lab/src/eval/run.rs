//! Running one model set over a protocol: every image embedded once by
//! `--jobs` engines, templates held in one wiped matrix, pairs scored.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use honnin::engine::{Acquisition, Template};
use honnin::input::ReferenceKind;
use honnin::models::Metric;
use honnin::outcome::Threshold;
use honnin::{CardPhoto, Engine, LiveFrame, Models, Policy};
use zeroize::Zeroizing;

use super::args::EvalArgs;
use super::protocol::{Item, Protocol};
use crate::engine::EngineArgs;
use crate::parallel::in_parallel;

/// An engine for model set `set` (`""`: the manifest's defaults) with its
/// calibrated policy, or an uncalibrated one for a set without a calibration.
/// PAD is left off: templates are made without it ([`Engine::template`]
/// never runs it), so neither its models' policy nor its calibration file
/// has a part in an accuracy evaluation.
fn engine_for(args: &EngineArgs, set: &str) -> Result<Engine> {
    if set.is_empty() {
        let models = args.build_models()?;
        let calibration = args.calibration(&models)?;
        let policy = Policy::from_calibration(&calibration, args.target_fmr)?;
        return args.build_with_pad(models, policy, None);
    }
    let (det, rec) = set.split_once(',').context("a model set as DETECTOR,RECOGNIZER")?;
    let select = || Models::select(&args.models, Some(det), Some(rec)).with_context(|| format!("model set {set}"));
    let models = select()?;
    let calibration = args.calibration(&models);
    if let Ok(policy) = calibration.and_then(|c| Ok(Policy::from_calibration(&c, args.target_fmr)?)) {
        match args.build_with_pad(models, policy, None) {
            Ok(engine) => return Ok(engine),
            // A calibration made for another pipeline (another detector, say).
            Err(e) if matches!(e.downcast_ref::<honnin::Error>(), Some(honnin::Error::Calibration { .. })) => {}
            Err(e) => return Err(e),
        }
    }
    // Accuracy needs no threshold: an uncalibrated set is still measured,
    // and its report has no calibrated operating point.
    let models = select()?;
    let policy = honnin::danger::uncalibrated_policy(models.metric(), 0.0);
    args.build_with_pad(models, policy, None)
}

/// The models an evaluation of templates runs: the detector and the
/// recognizer (PAD models, loaded or not, make no template).
fn models_run(engine: &Engine) -> Vec<&honnin::models::ModelInfo> {
    engine.models().iter().filter(|m| m.role == "detector" || m.role == "recognizer").collect()
}

/// What running one model set over a protocol gave: its scores, and what ran.
pub(super) struct SetRun {
    /// The models that ran, joined with ` + `.
    pub(super) label: String,
    /// Each model that ran: id, role, sha256.
    pub(super) models: Vec<serde_json::Value>,
    pub(super) metric: Metric,
    pub(super) mirror_averaging: bool,
    /// The engine's calibrated threshold for the protocol's references, if any.
    pub(super) calibrated: Option<Threshold>,
    /// Score of each genuine (impostor) pair of the protocol, in order; `None`
    /// where a side failed to acquire.
    pub(super) genuine_scores: Vec<Option<f32>>,
    pub(super) impostor_scores: Vec<Option<f32>>,
    /// Items that are card-like references `honnin-lab card-like` did not write.
    pub(super) missing: Vec<bool>,
    /// Items that gave no template (missing references aside).
    pub(super) failed: Vec<bool>,
    pub(super) embed_seconds: f64,
    pub(super) compare_seconds: f64,
}

/// Embeds every item of `protocol` with model set `set` (`--jobs` engines)
/// and scores its genuine and impostor pairs.
pub(super) fn run_set(args: &EvalArgs, protocol: &Protocol, set: &str) -> Result<SetRun> {
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let engine = engine_for(&engine_args, set)?;
    let metric = engine.policy().metric();
    let mirror_averaging = engine.mirror_averaging();
    let calibrated = engine.policy().threshold(protocol.reference).filter(|t| t.target_fmr.is_some());
    // Labelled with what runs, whether named by --model-set or the defaults.
    let ran = models_run(&engine);
    let label = ran.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(" + ");
    let models: Vec<serde_json::Value> =
        ran.iter().map(|m| serde_json::json!({ "id": m.id, "role": m.role, "sha256": m.sha256 })).collect();
    drop(engine);

    let embed_started = Instant::now();
    let templates = in_parallel(
        "embedding",
        args.jobs,
        protocol.items.len(),
        || engine_for(&engine_args, set),
        |engine, i| template_of(engine, &protocol.items[i]),
    )?;
    let embed_seconds = embed_started.elapsed().as_secs_f64();
    // A card-like reference that `honnin-lab card-like` did not write (no subject
    // face in the source image) is missing, not a failure of this evaluation.
    let missing: Vec<bool> = protocol.items.iter().map(|i| i.card_like && !i.path.exists()).collect();
    let failed: Vec<bool> = templates.iter().zip(&missing).map(|(t, m)| t.is_none() && !m).collect();
    let matrix = Matrix::new(&templates)?;
    drop(templates);

    let compare_started = Instant::now();
    let score_pairs = |pairs: &[(usize, usize)]| -> Vec<Option<f32>> { matrix.scores(metric, pairs, args.jobs) };
    let genuine_scores = score_pairs(&protocol.genuine);
    let impostor_scores = score_pairs(&protocol.impostor);
    drop(matrix);
    let compare_seconds = compare_started.elapsed().as_secs_f64();
    Ok(SetRun {
        label,
        models,
        metric,
        mirror_averaging,
        calibrated,
        genuine_scores,
        impostor_scores,
        missing,
        failed,
        embed_seconds,
        compare_seconds,
    })
}

fn template_of(engine: &Engine, item: &Item) -> Result<Option<Template>> {
    let acquisition = if item.card_like {
        if !item.path.exists() {
            return Ok(None);
        }
        let bytes = Zeroizing::new(std::fs::read(&item.path).with_context(|| item.path.display().to_string())?);
        let card = CardPhoto::from_bytes(&bytes).with_context(|| format!("card photo {}", item.path.display()))?;
        if card.kind() != ReferenceKind::Grey {
            bail!("{}: a grey card-like reference, got {:?}", item.path.display(), card.kind());
        }
        drop(card);
        // The same bytes as a frame: the engine hands out templates for frames only.
        engine.template(&LiveFrame::from_bytes(&bytes)?)?
    } else {
        let frame = LiveFrame::open(&item.path).with_context(|| item.path.display().to_string())?;
        engine.template(&frame)?
    };
    Ok(match acquisition {
        Acquisition::Face(t) => Some(t),
        Acquisition::Inconclusive(_) => None,
    })
}

/// Every template's values in one wiped, contiguous buffer (rows of `dims`),
/// for fast scoring; `None` rows mark failures to acquire.
struct Matrix {
    values: Zeroizing<Vec<f32>>,
    dims: usize,
    present: Vec<bool>,
}

impl Matrix {
    fn new(templates: &[Option<Template>]) -> Result<Self> {
        let Some(dims) = templates.iter().flatten().map(Template::len).next() else {
            bail!("no image gave a template: check the images, the card-like folder and the model set");
        };
        // Sized once: a growing buffer would leave copies behind.
        let mut values = Zeroizing::new(vec![0.0f32; dims * templates.len()]);
        for (row, t) in values.chunks_exact_mut(dims).zip(templates) {
            if let Some(t) = t {
                if t.len() != dims {
                    bail!("templates of different lengths");
                }
                row.copy_from_slice(honnin::danger::dangerous_template_values(t));
            }
        }
        let present = templates.iter().map(Option::is_some).collect();
        Ok(Self { values, dims, present })
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dims..(i + 1) * self.dims]
    }

    /// Scores of `pairs`, split over `jobs` threads; `None` where a side failed to acquire.
    fn scores(&self, metric: Metric, pairs: &[(usize, usize)], jobs: usize) -> Vec<Option<f32>> {
        let chunk = pairs.len().div_ceil(jobs.clamp(1, 16)).max(1);
        std::thread::scope(|scope| {
            let handles: Vec<_> = pairs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|&(a, b)| {
                                (self.present[a] && self.present[b]).then(|| metric.score(self.row(a), self.row(b)))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("scoring thread")).collect()
        })
    }
}
