//! `honnin eval` and `honnin calibrate`: LFW protocols.
//!
//! Templates stay in memory only for the duration of the command and are wiped
//! when dropped; nothing biometric is written to disk, only scores and counts.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::{
    danger, operating_points, Acquisition, Calibration, Engine, LiveFrame, Metric, Models, ReferenceCalibration,
    ReferenceKind, Score, Template, CALIBRATION_FORMAT,
};

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

/// Template of every image, computed by `jobs` engines in parallel.
/// `None` where the image gave no subject face.
pub(crate) fn templates(
    args: &EngineArgs,
    jobs: usize,
    lfw: &Path,
    images: &[ImageId],
    build: &(dyn Fn(&EngineArgs) -> Result<Engine> + Sync),
) -> Result<Vec<Option<Template>>> {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, 16);
    type Indexed = Vec<(usize, Option<Template>)>;
    let results: Vec<Result<Indexed>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| -> Result<Indexed> {
                    let engine = build(args)?;
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= images.len() {
                            return Ok(out);
                        }
                        let path = images[i].path(lfw);
                        let frame = LiveFrame::open(&path).with_context(|| format!("{}", path.display()))?;
                        let template = match engine.template(&frame)? {
                            Acquisition::Face(t) => Some(t),
                            Acquisition::Inconclusive(_) => None,
                        };
                        out.push((i, template));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| bail!("worker panicked"))).collect()
    });
    let mut all: Vec<Option<Template>> = (0..images.len()).map(|_| None).collect();
    for r in results {
        for (i, t) in r? {
            all[i] = t;
        }
    }
    Ok(all)
}

/// Distinct images of `pairs`, and for each pair the indices of its two images.
fn index_images(pairs: &[Pair]) -> (Vec<ImageId>, Vec<(usize, usize)>) {
    let images: Vec<ImageId> =
        pairs.iter().flat_map(|p| [p.a.clone(), p.b.clone()]).collect::<BTreeSet<_>>().into_iter().collect();
    let index: HashMap<&ImageId, usize> = images.iter().enumerate().map(|(i, id)| (id, i)).collect();
    let idx = pairs.iter().map(|p| (index[&p.a], index[&p.b])).collect();
    (images, idx)
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
    let (images, idx) = index_images(&pairs);
    let engine = args.engine.engine()?;
    let metric = engine.policy().metric();
    let calibrated = engine.policy().threshold(ReferenceKind::Colour);
    drop(engine);
    let templates = templates(&args.engine, args.jobs, &args.lfw, &images, &|a: &EngineArgs| a.engine())?;
    let failed_images = templates.iter().filter(|t| t.is_none()).count();
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
        |set: &[&Scored]| set.iter().filter(|s| s.score.is_some_and(|v| passes(metric, v, calibrated.value))).count();
    let (gen_acc, imp_acc) = (accepted(&genuine), accepted(&impostor));
    let pairs_without_face = scored.iter().filter(|s| s.score.is_none()).count();
    let report = serde_json::json!({
        "protocol": format!("LFW {} ({} folds), threshold chosen on the other folds by accuracy", args.pairs, folds),
        "pairs": scored.len(),
        "images": images.len(),
        "images_without_subject_face": failed_images,
        "pairs_without_face_counted_as_non_match": pairs_without_face,
        "mirror_averaging": !args.engine.no_mirror,
        "accuracy_mean": mean,
        "accuracy_sd": sd,
        "fold_accuracies": accuracies,
        "fold_thresholds": fold_thresholds,
        "at_calibrated_threshold": {
            "threshold": calibrated.value,
            "target_fmr": calibrated.target_fmr,
            "genuine_accepted": gen_acc,
            "genuine": genuine.len(),
            "impostors_accepted": imp_acc,
            "impostors": impostor.len(),
        },
        "seconds": started.elapsed().as_secs_f64(),
    });
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "LFW {}: {} pairs, {} images ({} without a subject face)",
            args.pairs,
            scored.len(),
            images.len(),
            failed_images
        );
        outln!("{folds}-fold accuracy: {:.3} % +- {:.3}", mean * 100.0, sd * 100.0);
        outln!(
            "at the calibrated threshold {:.4} (target FMR {:?}): {}/{} genuine accepted, {}/{} impostors accepted",
            calibrated.value,
            calibrated.target_fmr,
            gen_acc,
            genuine.len(),
            imp_acc,
            impostor.len()
        );
        outln!("({:.1} s)", started.elapsed().as_secs_f64());
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
    #[command(flatten)]
    engine: EngineArgs,
}

const CALIBRATION_TARGETS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];

pub(crate) fn calibrate(args: &CalibrateArgs) -> Result<()> {
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let args = &CalibrateArgs { engine: engine_args, ..args.clone() };
    let pairs = read_pairs(&args.lfw.join("pairsDevTrain.txt"))?;
    let (images, _) = index_images(&pairs);
    let models = Models::from_dir(&args.engine.models)?;
    let (recognizer, recognizer_sha256, metric) =
        (models.recognizer_id().to_string(), models.recognizer_sha256().to_string(), models.metric());
    let (detector, alignment_fit) = (models.detector_id().to_string(), models.alignment_fit());
    let pipeline_sha256 = models.pipeline_sha256(!args.engine.no_mirror);
    drop(models);
    // Scores are what is being measured, so no threshold may influence them:
    // the engines run with a placeholder policy that is never consulted.
    let build = |a: &EngineArgs| a.build(Models::from_dir(&a.models)?, danger::uncalibrated_policy(metric, 0.0));
    let templates = templates(&args.engine, args.jobs, &args.lfw, &images, &build)?;
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
    let calibration = Calibration {
        format: CALIBRATION_FORMAT.to_string(),
        recognizer,
        recognizer_sha256,
        detector,
        metric,
        mirror_averaging: !args.engine.no_mirror,
        alignment_fit,
        pipeline_sha256,
        dataset: format!(
            "LFW View 1 pairsDevTrain.txt: all {} images of its pairs with a subject face ({} without), \
             every same-identity pair genuine, every cross-identity pair impostor",
            usable.len(),
            images.len() - usable.len()
        ),
        command: "honnin calibrate --out <file>".to_string(),
        references: [(
            ReferenceKind::Colour,
            ReferenceCalibration {
                subjects: subjects as u64,
                genuine_comparisons: genuine.len() as u64,
                impostor_comparisons: impostor.len() as u64,
                points,
            },
        )]
        .into_iter()
        .collect(),
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
