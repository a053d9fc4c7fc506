//! `honnin eval` and `honnin calibrate`: LFW protocols.
//!
//! Templates stay in memory only for the duration of the command and are wiped
//! when dropped; nothing biometric is written to disk, only scores and counts.

use std::collections::{BTreeSet, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::{
    danger, operating_points, Acquisition, Calibration, CardPhoto, Engine, LiveFrame, Metric, Models,
    ReferenceCalibration, ReferenceKind, Score, Template, CALIBRATION_FORMAT,
};
use zeroize::Zeroizing;

use crate::cardlike;
use crate::EngineArgs;

/// One image of LFW: identity and 1-based number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ImageId {
    pub(crate) name: String,
    pub(crate) number: u32,
}

impl ImageId {
    pub(crate) fn path(&self, lfw: &Path) -> PathBuf {
        lfw.join("images").join(&self.name).join(format!("{}_{:04}.jpg", self.name, self.number))
    }
}

/// One pair of a pairs file.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub(crate) fold: usize,
    pub(crate) a: ImageId,
    pub(crate) b: ImageId,
    pub(crate) same: bool,
}

/// Parses an official LFW pairs file (`pairs.txt`, `pairsDevTrain.txt`, `pairsDevTest.txt`).
///
/// The header is either `N` (one set of N same then N different pairs) or
/// `folds N` (folds, each N same then N different pairs).
pub(crate) fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, (16 << 20) + 1), &mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > 16 << 20 {
        bail!("{}: a pairs file of at most 16 MiB", path.display());
    }
    let text = String::from_utf8(bytes).with_context(|| format!("{}: UTF-8 text", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<usize> = lines
        .next()
        .context("empty pairs file")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("pairs header")?;
    let (folds, per_side) = match header.as_slice() {
        [n] => (1, *n),
        [f, n] => (*f, *n),
        _ => bail!("pairs header of one or two numbers"),
    };
    if folds == 0 || per_side == 0 || folds > 1000 || per_side > 1_000_000 {
        bail!("pairs header: 1 to 1000 folds of 1 to 1,000,000 pairs per side");
    }
    let number = |s: &str| s.parse::<u32>().with_context(|| format!("image number {s:?}"));
    let mut pairs = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (a, b, same) = match fields.as_slice() {
            [name, n1, n2] => (
                ImageId { name: name.to_string(), number: number(n1)? },
                ImageId { name: name.to_string(), number: number(n2)? },
                true,
            ),
            [name1, n1, name2, n2] => (
                ImageId { name: name1.to_string(), number: number(n1)? },
                ImageId { name: name2.to_string(), number: number(n2)? },
                false,
            ),
            _ => bail!("line {} of {}: 3 or 4 fields", i + 2, path.display()),
        };
        let fold = i / (2 * per_side);
        if same != ((i % (2 * per_side)) < per_side) {
            bail!("line {} of {}: same/different pair out of the file's order", i + 2, path.display());
        }
        pairs.push(Pair { fold, a, b, same });
    }
    if pairs.len() != folds * per_side * 2 {
        bail!("{}: {} pairs, header promises {}", path.display(), pairs.len(), folds * per_side * 2);
    }
    Ok(pairs)
}

pub(crate) fn default_lfw() -> PathBuf {
    std::env::var_os("HONNIN_DATA").map_or_else(|| PathBuf::from("../shared/data"), PathBuf::from).join("lfw")
}

/// One template to make: an LFW image as its colour JPEG, or as its card-like
/// reference (`honnin card-like`).
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
/// (`honnin card-like` skips images without a subject face).
pub(crate) fn templates(
    args: &EngineArgs,
    jobs: usize,
    sources: Sources<'_>,
    keys: &[Key],
    build: &(dyn Fn(&EngineArgs) -> Result<Engine> + Sync),
) -> Result<Vec<Option<Template>>> {
    in_parallel(jobs, keys.len(), || build(args), |engine, i| template_of(engine, sources, &keys[i]))
}

/// `work(engine, i)` for every `i` in `0..count`, in order, by `jobs` worker
/// threads, each with its own engine from `build`.
pub(crate) fn in_parallel<T: Send>(
    jobs: usize,
    count: usize,
    build: impl Fn() -> Result<Engine> + Sync,
    work: impl Fn(&Engine, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, 16);
    type Indexed<T> = Vec<(usize, T)>;
    let results: Vec<Result<Indexed<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| -> Result<Indexed<T>> {
                    let engine = build()?;
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return Ok(out);
                        }
                        out.push((i, work(&engine, i)?));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| bail!("worker panicked"))).collect()
    });
    let mut all: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for r in results {
        for (i, t) in r? {
            all[i] = Some(t);
        }
    }
    all.into_iter().map(|t| t.context("a worker skipped an item")).collect()
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

/// Most bytes read from a card-like file (they are about 4 KB).
const MAX_CARD_LIKE_BYTES: u64 = 1 << 20;

/// The bytes of a card-like reference, `None` if the file does not exist.
fn read_card_like(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    // Sized once: a growing buffer would leave unwiped copies behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_CARD_LIKE_BYTES as usize + 1));
    file.take(MAX_CARD_LIKE_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_CARD_LIKE_BYTES {
        bail!("{}: a card-like reference of at most {MAX_CARD_LIKE_BYTES} bytes", path.display());
    }
    Ok(Some(bytes))
}

/// Distinct images of `pairs`.
fn distinct_images(pairs: &[Pair]) -> Vec<ImageId> {
    pairs.iter().flat_map(|p| [p.a.clone(), p.b.clone()]).collect::<BTreeSet<_>>().into_iter().collect()
}

/// Distinct templates `pairs` need, and for each pair the indices of its two.
/// With `card_like_first`, each pair's first image is its card-like reference.
fn index_keys(pairs: &[Pair], card_like_first: bool) -> (Vec<Key>, Vec<(usize, usize)>) {
    let key = |id: &ImageId, card_like: bool| Key { id: id.clone(), card_like };
    let keys: Vec<Key> = pairs
        .iter()
        .flat_map(|p| [key(&p.a, card_like_first), key(&p.b, false)])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: HashMap<&Key, usize> = keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let idx = pairs.iter().map(|p| (index[&key(&p.a, card_like_first)], index[&key(&p.b, false)])).collect();
    (keys, idx)
}

/// The card-like folder's protocol record; refuses a folder `honnin card-like` did not make.
fn card_like_protocol(dir: &Path) -> Result<serde_json::Value> {
    cardlike::read_protocol(dir)?.with_context(|| {
        format!(
            "{} has no {}: make the card-like references first (honnin card-like --out {})",
            dir.display(),
            cardlike::PROTOCOL_FILE,
            dir.display()
        )
    })
}

/// Arguments of `honnin eval`.
#[derive(Args, Clone)]
pub(crate) struct EvalArgs {
    /// LFW folder (holding images/ and the pairs files).
    #[arg(long, default_value_os_t = default_lfw())]
    lfw: PathBuf,
    /// Pairs file inside the LFW folder.
    #[arg(long, default_value = "pairs.txt")]
    pairs: String,
    /// Worker threads, each with its own engine.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Print a JSON report.
    #[arg(long)]
    json: bool,
    /// Card-like folder made by `honnin card-like`: the first image of each pair is
    /// replaced by its card-like (grey JPEG 2000) reference, loaded as a card photo.
    #[arg(long, value_name = "DIR")]
    card_like: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Per-pair outcome used by the fold statistics: `None` when a side had no face.
struct Scored {
    fold: usize,
    same: bool,
    score: Option<f32>,
}

pub(crate) fn eval(args: &EvalArgs) -> Result<()> {
    let started = Instant::now();
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let args = &EvalArgs { engine: engine_args, ..args.clone() };
    let pairs = read_pairs(&args.lfw.join(&args.pairs))?;
    let card_like = args.card_like.as_deref();
    let protocol = card_like.map(card_like_protocol).transpose()?;
    let (keys, idx) = index_keys(&pairs, card_like.is_some());
    let engine = args.engine.engine()?;
    let metric = engine.policy().metric();
    let reference = if card_like.is_some() { ReferenceKind::Grey } else { ReferenceKind::Colour };
    // Accuracy needs no threshold; without a grey calibration the report says so.
    let calibrated = engine.policy().threshold(reference);
    if calibrated.is_none() && reference == ReferenceKind::Colour {
        bail!("the policy has no colour threshold");
    }
    drop(engine);
    let sources = Sources { lfw: &args.lfw, card_like };
    let templates = templates(&args.engine, args.jobs, sources, &keys, &|a: &EngineArgs| a.engine())?;
    let missing = match card_like {
        Some(dir) => keys.iter().filter(|k| k.card_like && !k.id.card_like_path(dir).exists()).count(),
        None => 0,
    };
    let failed_images = templates.iter().filter(|t| t.is_none()).count() - missing;
    let scored: Vec<Scored> = pairs
        .iter()
        .zip(&idx)
        .map(|(p, &(a, b))| {
            let score = match (&templates[a], &templates[b]) {
                (Some(ta), Some(tb)) => Some(score_of(ta, tb)?),
                _ => None,
            };
            Ok(Scored { fold: p.fold, same: p.same, score })
        })
        .collect::<Result<_>>()?;
    drop(templates);
    if let Some(dir) = card_like {
        check_card_path(&args.engine, metric, sources, dir, &pairs, &scored)?;
    }
    let folds = scored.iter().map(|s| s.fold).max().map_or(0, |m| m + 1);
    if folds < 2 {
        bail!("{} has {folds} fold; k-fold accuracy needs at least 2 (use pairs.txt)", args.pairs);
    }
    let mut accuracies = Vec::new();
    let mut fold_thresholds = Vec::new();
    for f in 0..folds {
        let train: Vec<&Scored> = scored.iter().filter(|s| s.fold != f).collect();
        let test: Vec<&Scored> = scored.iter().filter(|s| s.fold == f).collect();
        let t = best_threshold(metric, &train);
        fold_thresholds.push(t);
        accuracies.push(accuracy(metric, &test, t));
    }
    let mean = accuracies.iter().sum::<f64>() / accuracies.len().max(1) as f64;
    let sd = (accuracies.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / accuracies.len().max(1) as f64).sqrt();
    let genuine: Vec<&Scored> = scored.iter().filter(|s| s.same).collect();
    let impostor: Vec<&Scored> = scored.iter().filter(|s| !s.same).collect();
    let accepted =
        |set: &[&Scored], t: f32| set.iter().filter(|s| s.score.is_some_and(|v| passes(metric, v, t))).count();
    let at_calibrated = calibrated.map(|t| (t, accepted(&genuine, t.value), accepted(&impostor, t.value)));
    let pairs_without_face = scored.iter().filter(|s| s.score.is_none()).count();
    let target = args.engine.target_fmr;
    let measured = measured_point(metric, &genuine, &impostor, target);
    let cards = keys.iter().filter(|k| k.card_like).count();
    let protocol_text = match card_like {
        None => format!("LFW {} ({} folds), threshold chosen on the other folds by accuracy", args.pairs, folds),
        Some(dir) => format!(
            "LFW {} ({} folds), first image of each pair as its card-like reference from {} (grey JPEG 2000, \
             loaded as a card photo), second image the colour JPEG; threshold chosen on the other folds by accuracy",
            args.pairs,
            folds,
            dir.display()
        ),
    };
    let report = serde_json::json!({
        "protocol": protocol_text,
        "pairs": scored.len(),
        "images": keys.len(),
        "images_without_subject_face": failed_images,
        "pairs_without_face_counted_as_non_match": pairs_without_face,
        "reference": reference,
        "card_like": protocol.as_ref().map(|p| serde_json::json!({
            "dir": card_like,
            "references": cards,
            "references_missing": missing,
            "parameters": p.get("parameters"),
        })),
        "mirror_averaging": !args.engine.no_mirror,
        "accuracy_mean": mean,
        "accuracy_sd": sd,
        "fold_accuracies": accuracies,
        "fold_thresholds": fold_thresholds,
        "at_calibrated_threshold": at_calibrated.map(|(t, gen_acc, imp_acc)| serde_json::json!({
            "reference": t.reference,
            "threshold": t.value,
            "target_fmr": t.target_fmr,
            "genuine_accepted": gen_acc,
            "genuine": genuine.len(),
            "impostors_accepted": imp_acc,
            "impostors": impostor.len(),
        })),
        "at_target_fmr_measured_on_these_pairs": measured,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match card_like {
            None => outln!(
                "LFW {}: {} pairs, {} images ({} without a subject face)",
                args.pairs,
                scored.len(),
                keys.len(),
                failed_images
            ),
            Some(dir) => outln!(
                "LFW {}: {} pairs, first image card-like from {} ({cards} references, {missing} missing), second \
                 colour ({} images); {} without a subject face",
                args.pairs,
                scored.len(),
                dir.display(),
                keys.len() - cards,
                failed_images
            ),
        }
        outln!("{folds}-fold accuracy: {:.3} % +- {:.3}", mean * 100.0, sd * 100.0);
        match at_calibrated {
            Some((t, gen_acc, imp_acc)) => outln!(
                "at the calibrated {} threshold {:.4} (target FMR {}): {}/{} genuine accepted, {}/{} impostors \
                 accepted",
                crate::kind_word(t.reference),
                t.value,
                t.target_fmr.map_or("none: uncalibrated".to_string(), |f| f.to_string()),
                gen_acc,
                genuine.len(),
                imp_acc,
                impostor.len()
            ),
            None => outln!(
                "the calibration has no {} threshold at FMR {} (honnin calibrate --card-like DIR adds it)",
                crate::kind_word(reference),
                args.engine.target_fmr
            ),
        }
        if let Some(m) = &measured {
            outln!(
                "at FMR {target} measured on these {} impostors (threshold {:.4}, {} accepted): FNMR {:.2} % \
                 ({}/{} genuine rejected)",
                m["impostors"],
                m["threshold"].as_f64().unwrap_or(f64::NAN),
                m["impostors_accepted"],
                m["fnmr"].as_f64().unwrap_or(f64::NAN) * 100.0,
                m["genuine_rejected"],
                m["genuine"]
            );
        }
        outln!("({:.1} s)", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The threshold that accepts at most `target` of these pairs' impostors, and
/// the FNMR there. Pairs without a face count as rejected on both sides. The
/// threshold is set on the very impostors it is measured with (in-sample), and
/// `target * impostors` of them back it (3 for View 2 at 1e-3).
fn measured_point(metric: Metric, genuine: &[&Scored], impostor: &[&Scored], target: f64) -> Option<serde_json::Value> {
    // A finite score that passes no threshold stands in for "no face".
    let never = if passes(metric, f32::MAX, 0.0) { f32::MIN } else { f32::MAX };
    let scores = |set: &[&Scored]| set.iter().map(|s| s.score.unwrap_or(never)).collect::<Vec<f32>>();
    let (gen, imp) = (scores(genuine), scores(impostor));
    let point = operating_points(metric, &gen, &imp, &[target]).into_iter().next()?;
    let rejected = gen.iter().filter(|&&g| !passes(metric, g, point.threshold)).count();
    Some(serde_json::json!({
        "target_fmr": target,
        "threshold": point.threshold,
        "impostors_accepted": point.impostors_accepted,
        "impostors": imp.len(),
        "fnmr": point.fnmr,
        "genuine_rejected": rejected,
        "genuine": gen.len(),
        "note": "threshold set on these same impostors (in-sample); at most floor(target x impostors) accepted",
    }))
}

/// Checks, on a few genuine pairs, that the template path used here gives the
/// same score as the library's own card path (`card_reference` then
/// `verify_reference`).
fn check_card_path(
    args: &EngineArgs,
    metric: Metric,
    sources: Sources<'_>,
    dir: &Path,
    pairs: &[Pair],
    scored: &[Scored],
) -> Result<()> {
    // Only the score is compared: a placeholder policy, so that the check runs
    // whether or not the calibration has a grey threshold yet.
    let engine = args.build(Models::from_dir(&args.models)?, danger::uncalibrated_policy(metric, 0.0))?;
    let mut checked = 0;
    for (pair, s) in pairs.iter().zip(scored) {
        let Some(expected) = s.score.filter(|_| pair.same) else { continue };
        let card = CardPhoto::open(pair.a.card_like_path(dir))?;
        let reference = engine.card_reference(&card)?;
        let outcome = engine.verify_reference(&reference, &LiveFrame::open(pair.b.path(sources.lfw))?)?;
        let got = outcome.score.context("a score from verify_reference")?.value;
        if (got - expected).abs() > 1e-5 {
            bail!("card path check: verify_reference scored {got}, the template path {expected}");
        }
        checked += 1;
        if checked == 5 {
            break;
        }
    }
    Ok(())
}

fn score_of(a: &Template, b: &Template) -> Result<f32> {
    Ok(a.compare(b)?.value)
}

fn passes(metric: Metric, score: f32, threshold: f32) -> bool {
    Score { value: score, metric }.passes(threshold)
}

/// Share of pairs decided correctly at `threshold`; a pair without a face counts as a non-match.
fn accuracy(metric: Metric, pairs: &[&Scored], threshold: f32) -> f64 {
    let correct = pairs.iter().filter(|s| s.score.is_some_and(|v| passes(metric, v, threshold)) == s.same).count();
    correct as f64 / pairs.len().max(1) as f64
}

/// The threshold with the best accuracy on `pairs`: candidates are midpoints
/// between neighbouring scores; where several give the same best accuracy, the
/// middle of that run is taken, so the threshold keeps the widest margin.
fn best_threshold(metric: Metric, pairs: &[&Scored]) -> f32 {
    let mut values: Vec<f32> = pairs.iter().filter_map(|s| s.score).collect();
    values.sort_by(f32::total_cmp);
    let candidates: Vec<f32> = values.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
    let accuracies: Vec<f64> = candidates.iter().map(|&t| accuracy(metric, pairs, t)).collect();
    let best = accuracies.iter().copied().fold(f64::MIN, f64::max);
    let Some(first) = accuracies.iter().position(|&a| a == best) else {
        return 0.0;
    };
    let run = accuracies[first..].iter().take_while(|&&a| a == best).count();
    (candidates[first] + candidates[first + run - 1]) / 2.0
}

/// Arguments of `honnin calibrate`.
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
    /// Card-like folder made by `honnin card-like`: also calibrate grey references
    /// (each DevTrain image's card-like reference vs every other DevTrain image in colour).
    #[arg(long, value_name = "DIR")]
    card_like: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

const CALIBRATION_TARGETS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];

pub(crate) fn calibrate(args: &CalibrateArgs) -> Result<()> {
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let args = &CalibrateArgs { engine: engine_args, ..args.clone() };
    let pairs = read_pairs(&args.lfw.join("pairsDevTrain.txt"))?;
    let images = distinct_images(&pairs);
    let card_like = args.card_like.as_deref();
    let protocol = card_like.map(card_like_protocol).transpose()?;
    let models = Models::from_dir(&args.engine.models)?;
    let (recognizer, recognizer_sha256, metric) =
        (models.recognizer_id().to_string(), models.recognizer_sha256().to_string(), models.metric());
    let (detector, alignment_fit) = (models.detector_id().to_string(), models.alignment_fit());
    let pipeline_sha256 = models.pipeline_sha256(!args.engine.no_mirror);
    drop(models);
    // Scores are what is being measured, so no threshold may influence them:
    // the engines run with a placeholder policy that is never consulted.
    let build = |a: &EngineArgs| a.build(Models::from_dir(&a.models)?, danger::uncalibrated_policy(metric, 0.0));
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
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for (k, &(i, a)) in usable.iter().enumerate() {
        for &(j, b) in &usable[k + 1..] {
            let score = score_of(a, b)?;
            if images[i].name == images[j].name {
                genuine.push(score);
            } else {
                impostor.push(score);
            }
        }
    }
    let subjects = usable.iter().map(|&(i, _)| &images[i].name).collect::<BTreeSet<_>>().len();
    let points = operating_points(metric, &genuine, &impostor, &CALIBRATION_TARGETS);
    let mut references = std::collections::BTreeMap::new();
    references.insert(
        ReferenceKind::Colour,
        ReferenceCalibration {
            subjects: subjects as u64,
            genuine_comparisons: genuine.len() as u64,
            impostor_comparisons: impostor.len() as u64,
            points,
            fused: None,
        },
    );
    drop((genuine, impostor));
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
        let (mut genuine, mut impostor) = (Vec::new(), Vec::with_capacity(grey_refs.len() * usable.len()));
        for &(i, card) in &grey_refs {
            for &(j, live) in usable.iter().filter(|&&(j, _)| j != i) {
                let score = score_of(card, live)?;
                if images[i].name == images[j].name {
                    genuine.push(score);
                } else {
                    impostor.push(score);
                }
            }
        }
        let subjects = grey_refs.iter().map(|&(i, _)| &images[i].name).collect::<BTreeSet<_>>().len();
        let points = operating_points(metric, &genuine, &impostor, &CALIBRATION_TARGETS);
        references.insert(
            ReferenceKind::Grey,
            ReferenceCalibration {
                subjects: subjects as u64,
                genuine_comparisons: genuine.len() as u64,
                impostor_comparisons: impostor.len() as u64,
                points,
                fused: None,
            },
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
        command: match card_like {
            None => "honnin calibrate --out <file>",
            Some(_) => "honnin card-like --out <dir> && honnin calibrate --card-like <dir> --out <file>",
        }
        .to_string(),
        references,
    };
    let text = serde_json::to_string_pretty(&calibration)? + "\n";
    write_atomically(&args.out, text.as_bytes())?;
    outln!("{text}");
    Ok(())
}

/// Writes to a temporary file beside `path` and renames it into place, so a
/// failure never leaves a partial file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("out")));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("honnin-pairs-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn folded_pairs_files_are_read_in_order() {
        let path = write("ok", "2\t1\nA\t1\t2\nB\t1\tC\t3\nD\t2\t4\nE\t1\tF\t1\n");
        let pairs = read_pairs(&path).unwrap();
        let summary: Vec<(usize, bool, &str, u32)> =
            pairs.iter().map(|p| (p.fold, p.same, p.b.name.as_str(), p.b.number)).collect();
        assert_eq!(summary, vec![(0, true, "A", 2), (0, false, "C", 3), (1, true, "D", 4), (1, false, "F", 1)]);
        assert_eq!(pairs[1].a.path(Path::new("lfw")), Path::new("lfw/images/B/B_0001.jpg"));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn malformed_pairs_files_are_errors() {
        for (name, text) in [
            ("count", "1\t1\nA\t1\t2\n"),
            ("order", "1\t1\nB\t1\tC\t3\nA\t1\t2\n"),
            ("zero", "0\t0\nA\t1\t2\n"),
            ("fields", "1\nA\t1\nB\t1\tC\t3\n"),
            ("number", "1\nA\t1\tx\nB\t1\tC\t3\n"),
        ] {
            let path = write(name, text);
            assert!(read_pairs(&path).is_err(), "{name} accepted");
            std::fs::remove_file(path).unwrap();
        }
    }
}
