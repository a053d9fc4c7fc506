//! `honnin-lab calibrate`: thresholds measured on LFW View 1 DevTrain, with
//! intervals, written as a calibration file.
//!
//! Templates stay in memory only for the duration of the command and are wiped
//! when dropped; nothing biometric is written to disk, only scores and counts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::calibration::{operating_points, ReferenceCalibration, CALIBRATION_FORMAT};
use honnin::engine::{Acquisition, Template};
use honnin::input::ReferenceKind;
use honnin::metrics::{self, Comparison};
use honnin::{danger, Calibration, CardPhoto, Engine, LiveFrame, Models};

use crate::cardlike::{card_like_protocol, read_card_like};
use crate::engine::EngineArgs;
use crate::lfw::{default_lfw, read_pairs, ImageId, Pair};
use crate::output::{prepare_output, write_atomically};
use crate::parallel::in_parallel;

/// One template to make: an LFW image as its colour JPEG, or as its card-like
/// reference (`honnin-lab card-like`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) id: ImageId,
    pub(crate) card_like: bool,
}

/// Where templates come from: LFW's JPEGs and, optionally, a card-like folder.
#[derive(Clone, Copy)]
pub(crate) struct Sources<'a> {
    pub(crate) lfw: &'a Path,
    pub(crate) card_like: Option<&'a Path>,
}

/// Template of every key, computed by `jobs` engines in parallel.
/// `None` where the image gave no subject face, or has no card-like reference
/// (`honnin-lab card-like` skips images without a subject face).
pub(crate) fn templates(
    args: &EngineArgs,
    jobs: usize,
    sources: Sources<'_>,
    keys: &[Key],
    build: &(dyn Fn(&EngineArgs) -> Result<Engine> + Sync),
) -> Result<Vec<Option<Template>>> {
    in_parallel("embedding", jobs, keys.len(), || build(args), |engine, i| template_of(engine, sources, &keys[i]))
}

fn template_of(engine: &Engine, sources: Sources<'_>, key: &Key) -> Result<Option<Template>> {
    let acquisition = if key.card_like {
        let dir = sources.card_like.context("a card-like folder (--card-like DIR)")?;
        let path = key.id.card_like_path(dir);
        let Some(bytes) = read_card_like(&path)? else { return Ok(None) };
        // Loaded as what it stands for, a card photo: it must come out grey.
        let card = CardPhoto::from_bytes(&bytes).with_context(|| format!("card photo {}", path.display()))?;
        if card.kind() != ReferenceKind::Grey {
            bail!("{}: a grey card-like reference, got {:?}", path.display(), card.kind());
        }
        drop(card);
        // The engine hands out templates only for frames; both decode the
        // same bytes to the same pixels and run the same pipeline.
        // (`eval --card-like` checks this against `verify_reference`.)
        let frame = LiveFrame::from_bytes(&bytes).with_context(|| format!("{}", path.display()))?;
        engine.template(&frame)?
    } else {
        let path = key.id.path(sources.lfw);
        let frame = LiveFrame::open(&path).with_context(|| format!("{}", path.display()))?;
        engine.template(&frame)?
    };
    Ok(match acquisition {
        Acquisition::Face(t) => Some(t),
        Acquisition::Inconclusive(_) => None,
    })
}

/// Distinct images of `pairs`.
fn distinct_images(pairs: &[Pair]) -> Vec<ImageId> {
    pairs.iter().flat_map(|p| [p.a.clone(), p.b.clone()]).collect::<BTreeSet<_>>().into_iter().collect()
}

fn score_of(a: &Template, b: &Template) -> Result<f32> {
    Ok(a.compare(b)?.value)
}

/// Arguments of `honnin-lab calibrate`.
#[derive(Args, Clone)]
pub(crate) struct CalibrateArgs {
    /// LFW folder (holding images/ and pairsDevTrain.txt).
    #[arg(long, default_value_os_t = default_lfw())]
    lfw: PathBuf,
    /// Where to write the calibration file.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads, each with its own engine.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Card-like folder made by `honnin-lab card-like`: also calibrate grey references
    /// (each DevTrain image's card-like reference vs every other DevTrain image in colour).
    #[arg(long, value_name = "DIR")]
    card_like: Option<PathBuf>,
    /// Bootstrap replicates for each point's 95 % intervals (by subject).
    #[arg(long, default_value_t = 200)]
    bootstrap: u32,
    /// The model set to calibrate, as DETECTOR,RECOGNIZER manifest ids (default: the
    /// manifest's defaults). The file records the pipeline it was made with.
    #[arg(long, value_name = "DET,REC")]
    model_set: Option<String>,
    #[command(flatten)]
    engine: EngineArgs,
}

impl CalibrateArgs {
    fn models(&self, dir: &Path) -> Result<Models> {
        let (det, rec) = match &self.model_set {
            Some(set) => set.split_once(',').map(|(d, r)| (Some(d), Some(r))).context("a model set as DET,REC")?,
            None => (None, None),
        };
        Ok(Models::select(dir, det, rec)?)
    }
}

const CALIBRATION_TARGETS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];

pub(crate) fn calibrate(args: &CalibrateArgs) -> Result<()> {
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let args = &CalibrateArgs { engine: engine_args, ..args.clone() };
    // A path that cannot take the file is refused now, not after the embeddings.
    prepare_output(&args.out)?;
    let pairs = read_pairs(&args.lfw.join("pairsDevTrain.txt"))?;
    let images = distinct_images(&pairs);
    let card_like = args.card_like.as_deref();
    let protocol = card_like.map(card_like_protocol).transpose()?;
    let models = args.models(&args.engine.models)?;
    let (recognizer, recognizer_sha256, metric) =
        (models.recognizer_id().to_string(), models.recognizer_sha256().to_string(), models.metric());
    let (detector, alignment_fit) = (models.detector_id().to_string(), models.alignment_fit());
    let pipeline_sha256 = models.pipeline_sha256(!args.engine.no_mirror);
    drop(models);
    // Scores are what is being measured, so no threshold may influence them:
    // the engines run with a placeholder policy that is never consulted.
    let build = |a: &EngineArgs| a.build(args.models(&a.models)?, danger::uncalibrated_policy(metric, 0.0));
    // Every image in colour, then (with --card-like) every image as its card-like reference.
    let keys: Vec<Key> = [false, true]
        .into_iter()
        .filter(|&card| !card || card_like.is_some())
        .flat_map(|card| images.iter().map(move |id| Key { id: id.clone(), card_like: card }))
        .collect();
    let sources = Sources { lfw: &args.lfw, card_like };
    let mut templates = templates(&args.engine, args.jobs, sources, &keys, &build)?;
    let cards = templates.split_off(images.len());
    let usable: Vec<(usize, &Template)> =
        templates.iter().enumerate().filter_map(|(i, t)| t.as_ref().map(|t| (i, t))).collect();
    let mut references = std::collections::BTreeMap::new();
    let colour_pairs = usable.iter().enumerate().flat_map(|(k, &a)| usable[k + 1..].iter().map(move |&b| (a, b)));
    references
        .insert(ReferenceKind::Colour, reference_calibration(args.bootstrap, metric, &images, &usable, colour_pairs)?);
    let mut dataset = format!(
        "LFW View 1 pairsDevTrain.txt: all {} images of its pairs with a subject face ({} without), \
         every same-identity pair genuine, every cross-identity pair impostor",
        usable.len(),
        images.len() - usable.len()
    );
    if let Some(protocol) = &protocol {
        // Grey references: each card-like reference against every other image in colour (ordered pairs).
        let grey_refs: Vec<(usize, &Template)> =
            cards.iter().enumerate().filter_map(|(i, t)| t.as_ref().map(|t| (i, t))).collect();
        let grey_pairs = grey_refs
            .iter()
            .flat_map(|&card| usable.iter().filter(move |&&(j, _)| j != card.0).map(move |&live| (card, live)));
        references.insert(
            ReferenceKind::Grey,
            reference_calibration(args.bootstrap, metric, &images, &grey_refs, grey_pairs)?,
        );
        let p = &protocol["parameters"];
        dataset += &format!(
            "; grey: the card-like reference of each of these images with a subject face ({} of {}; honnin \
             card-like: {}x{} grey, BT.601 luma, eyes levelled, {} px chin to hairline, JPEG 2000 of about {} bytes \
             by OpenJPEG opj_compress ({})) against the colour JPEG of every other image, all ordered pairs, \
             same identity genuine, different identity impostor",
            grey_refs.len(),
            images.len(),
            p["width"].as_u64().unwrap_or(0),
            p["height"].as_u64().unwrap_or(0),
            p["face_height_px"].as_f64().unwrap_or(f64::NAN),
            p["target_bytes"].as_u64().unwrap_or(0),
            p["encoder_version"].as_str().unwrap_or("version unknown"),
        );
    }
    let calibration = Calibration {
        format: CALIBRATION_FORMAT.to_string(),
        recognizer,
        recognizer_sha256,
        detector,
        metric,
        mirror_averaging: !args.engine.no_mirror,
        alignment_fit,
        pipeline_sha256,
        dataset,
        command: match (card_like, &args.model_set) {
            (None, None) => "honnin-lab calibrate --out <file>".to_string(),
            (Some(_), None) => {
                "honnin-lab card-like --out <dir> && honnin-lab calibrate --card-like <dir> --out <file>".to_string()
            }
            (None, Some(set)) => format!("honnin-lab calibrate --model-set {set} --out <file>"),
            (Some(_), Some(set)) => format!(
                "honnin-lab card-like --out <dir> && honnin-lab calibrate --model-set {set} --card-like <dir> --out <file>"
            ),
        },
        references,
        source: None,
    };
    let mut calibration = calibration;
    // Fused-probe points come from `honnin-lab fusion`: an earlier file's are
    // kept when it was made for this same pipeline.
    let previous = match honnin::danger::unpinned_calibration(&args.out) {
        Ok(previous) => Some(previous),
        Err(honnin::Error::Io { .. }) => None,
        Err(e) => {
            eprintln!(
                "honnin: warning: {} is replaced; it could not be read ({e}), so fused points it held are lost",
                args.out.display()
            );
            None
        }
    };
    if let Some(previous) = previous {
        if previous.pipeline_sha256 == calibration.pipeline_sha256 {
            for (kind, reference) in previous.references {
                if let (Some(fused), Some(r)) = (reference.fused, calibration.references.get_mut(&kind)) {
                    r.fused = Some(fused);
                }
            }
        }
    }
    let text = serde_json::to_string_pretty(&calibration)? + "\n";
    write_atomically(&args.out, text.as_bytes())?;
    outln!("{text}");
    Ok(())
}

/// The calibration of one kind of reference: `pairs` (image index and
/// template, the reference first) scored, genuine where both images show one
/// identity and impostor otherwise, and the operating points measured on them
/// with `replicates` bootstrap resamples; its subjects are those of
/// `references`, the references that took part.
fn reference_calibration<'t>(
    replicates: u32,
    metric: honnin::models::Metric,
    images: &[ImageId],
    references: &[(usize, &'t Template)],
    pairs: impl Iterator<Item = ((usize, &'t Template), (usize, &'t Template))>,
) -> Result<ReferenceCalibration> {
    // Subject numbers, for the bootstrap intervals.
    let names: Vec<&String> = images.iter().map(|id| &id.name).collect::<BTreeSet<_>>().into_iter().collect();
    let subject = |i: usize| names.binary_search(&&images[i].name).unwrap_or(0) as u32;
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for ((i, a), (j, b)) in pairs {
        let c = Comparison { score: score_of(a, b)?, subjects: (subject(i), subject(j)) };
        if images[i].name == images[j].name {
            genuine.push(c);
        } else {
            impostor.push(c);
        }
    }
    let subjects = references.iter().map(|&(i, _)| &images[i].name).collect::<BTreeSet<_>>().len();
    let points = points_with_intervals(metric, &genuine, &impostor, names.len() as u32, replicates);
    Ok(ReferenceCalibration {
        subjects: subjects as u64,
        genuine_comparisons: genuine.len() as u64,
        impostor_comparisons: impostor.len() as u64,
        points,
        fused: None,
    })
}

/// Operating points at the calibration targets, each with 95 % intervals of
/// its FMR and FNMR by subject bootstrap (`replicates` resamples).
fn points_with_intervals(
    metric: honnin::models::Metric,
    genuine: &[Comparison],
    impostor: &[Comparison],
    subjects: u32,
    replicates: u32,
) -> Vec<honnin::calibration::OperatingPoint> {
    let scores = |set: &[Comparison]| set.iter().map(|c| c.score).collect::<Vec<f32>>();
    let mut points = operating_points(metric, &scores(genuine), &scores(impostor), &CALIBRATION_TARGETS);
    for p in &mut points {
        let (fmr, fnmr) = metrics::bootstrap_at(metric, genuine, impostor, subjects, p.threshold, replicates, 1);
        p.fmr_ci95 = Some(fmr);
        p.fnmr_ci95 = Some(fnmr);
    }
    points
}
