//! `honnin-lab eval`: accuracy the way ISO/IEC 19795-1 reports it, on a pairs
//! protocol or an identity folder tree, for one or several model sets.
//!
//! Every image is embedded once (in parallel, one engine per worker); scores
//! are computed from a matrix of templates held in wiped memory; the report
//! (JSON, Markdown, DET curve as SVG) holds scores' statistics and counts
//! only. Failures to acquire are counted per image and per comparison, never
//! dropped silently.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::metrics::{self, Comparison, Rates, ScoreSet, RULE_OF_30};
use honnin::{Acquisition, CardPhoto, Engine, LiveFrame, Metric, Models, Policy, ReferenceKind, Template};
use zeroize::Zeroizing;

use crate::lfw::default_lfw;
use crate::parallel::in_parallel;
use crate::engine::EngineArgs;

/// Arguments of `honnin-lab eval`.
#[derive(Args, Clone)]
pub(crate) struct EvalArgs {
    /// LFW folder: `--pairs` files and the default image root (`images/`) are read from it.
    #[arg(long, default_value_os_t = default_lfw())]
    lfw: PathBuf,
    /// Pairs protocol: an LFW pairs file (`pairs.txt` format, inside the LFW folder unless a
    /// path) or a CSV of `img1,img2,same[,fold]` (paths relative to --images).
    #[arg(long, default_value = "pairs.txt", conflicts_with = "identities")]
    pairs: String,
    /// Identity protocol: a folder of `<identity>/<image>` files. Genuine pairs: every pair
    /// within an identity; impostor pairs: see --impostors.
    #[arg(long, value_name = "DIR")]
    identities: Option<PathBuf>,
    /// Root of the image paths of a CSV pairs file (default: the LFW images folder).
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Identity protocol: at most this many images per identity (file-name order).
    #[arg(long, default_value_t = 10)]
    max_per_identity: usize,
    /// Identity protocol: impostor pairs from `first` (each identity's first image against every
    /// other identity's), `all` (every cross-identity pair), or a number N (N pairs drawn with --seed).
    #[arg(long, default_value = "first")]
    impostors: String,
    /// Seed of every random draw (impostor sample, bootstrap).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Model set to evaluate, as DETECTOR,RECOGNIZER manifest ids; repeat to compare several
    /// on the same pairs (default: the manifest's defaults).
    #[arg(long = "model-set", value_name = "DET,REC")]
    model_sets: Vec<String>,
    /// Also report FMR and FNMR at these thresholds.
    #[arg(long = "threshold", value_name = "T")]
    thresholds: Vec<f32>,
    /// Bootstrap replicates for the 95 % intervals (by subject).
    #[arg(long, default_value_t = 200)]
    bootstrap: u32,
    /// Card-like folder made by `honnin-lab card-like` (pairs protocol): the first image of each
    /// pair is replaced by its card-like (grey JPEG 2000) reference, loaded as a card photo.
    #[arg(long, value_name = "DIR")]
    card_like: Option<PathBuf>,
    /// Write report.json, report.md and det.svg into this folder.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Print the JSON report instead of the Markdown summary.
    #[arg(long)]
    json: bool,
    /// Worker threads, each with its own engine (with --pad too).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Presentation-attack detection instead of comparison (ISO/IEC 30107-3): a folder with
    /// `live/` and `attack/<type>/`, or a labels CSV (`file,label,attack_type`). Reports each
    /// image's liveness and decision, APCER per attack type and the maximum over types, BPCER,
    /// and the counts behind each, at the PAD calibration (`--pad-calibration`). With --report,
    /// writes pad-report.json and pad-report.md there.
    #[arg(
        long,
        value_name = "LABELLED",
        conflicts_with_all = [
            "identities", "card_like", "model_sets", "thresholds", "pairs", "images", "max_per_identity",
            "impostors", "seed", "bootstrap", "no_pad",
        ]
    )]
    pad: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Target FMRs reported (where the impostor count supports them).
const TARGETS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];

/// One image to embed: a file, read as a live frame, or a card-like reference read as a card photo.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    path: PathBuf,
    card_like: bool,
}

/// The comparisons of a protocol, by item index, and who is who.
struct Protocol {
    description: String,
    items: Vec<Item>,
    /// Subject of each item.
    subject_of: Vec<u32>,
    subjects: u32,
    genuine: Vec<(usize, usize)>,
    impostor: Vec<(usize, usize)>,
    /// Fold of each genuine and impostor pair, when the protocol has folds
    /// (`folds[k]` for `genuine` then `impostor`, in order).
    folds: Option<(Vec<usize>, Vec<usize>)>,
    reference: ReferenceKind,
    /// What about the protocol the reader should know (doubtful rows, fewer pairs than asked for).
    warnings: Vec<String>,
    /// Entries of an identity tree left out, and why.
    skipped: Skipped,
}

pub(crate) fn eval(args: &EvalArgs) -> Result<()> {
    if let Some(dir) = &args.report {
        // Made before any work: a report folder that cannot be made fails now.
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if let Some(labelled) = &args.pad {
        let (table, report) = crate::pad::evaluate(labelled, &args.engine, args.jobs)?;
        if let Some(dir) = &args.report {
            let json = serde_json::to_string_pretty(&report)? + "\n";
            crate::output::write_atomically(&dir.join("pad-report.json"), json.as_bytes())?;
            crate::output::write_atomically(&dir.join("pad-report.md"), (table.clone() + "\n").as_bytes())?;
        }
        if args.json {
            outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            outln!("{table}");
        }
        return Ok(());
    }
    let started = Instant::now();
    if let Some(dir) = &args.card_like {
        // A folder made by `honnin-lab card-like` (its protocol file), not a typo.
        crate::cardlike::card_like_protocol(dir)?;
    }
    let protocol = match &args.identities {
        Some(dir) => identity_protocol(dir, args)?,
        None => pairs_protocol(args)?,
    };
    let sets = if args.model_sets.is_empty() { vec![String::new()] } else { args.model_sets.clone() };
    let mut results = Vec::new();
    for set in &sets {
        results.push(evaluate_set(args, &protocol, set)?);
    }
    let report = serde_json::json!({
        "protocol": protocol.description,
        "subjects": protocol.subjects,
        "images": protocol.items.len(),
        "genuine_pairs": protocol.genuine.len(),
        "impostor_pairs": protocol.impostor.len(),
        "protocol_warnings": protocol.warnings,
        "skipped_entries": protocol.skipped.json(),
        "bootstrap_replicates": args.bootstrap,
        "seed": args.seed,
        "model_sets": results.iter().map(|r| &r.json).collect::<Vec<_>>(),
        "seconds": started.elapsed().as_secs_f64(),
    });
    let markdown = markdown(&protocol, &results, started.elapsed().as_secs_f64());
    if let Some(dir) = &args.report {
        let json = serde_json::to_string_pretty(&report)? + "\n";
        crate::output::write_atomically(&dir.join("report.json"), json.as_bytes())?;
        crate::output::write_atomically(&dir.join("report.md"), markdown.as_bytes())?;
        crate::output::write_atomically(&dir.join("det.svg"), det_svg(&results).as_bytes())?;
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{markdown}");
    }
    Ok(())
}

/// What one model set gave.
struct SetResult {
    label: String,
    det: Vec<(f64, f64)>,
    json: serde_json::Value,
    rows: Vec<String>,
    warnings: Vec<String>,
}

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
fn models_run(engine: &Engine) -> Vec<&honnin::ModelInfo> {
    engine.models().iter().filter(|m| m.role == "detector" || m.role == "recognizer").collect()
}

fn evaluate_set(args: &EvalArgs, protocol: &Protocol, set: &str) -> Result<SetResult> {
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let engine = engine_for(&engine_args, set)?;
    let metric = engine.policy().metric();
    let mirror_averaging = engine.mirror_averaging();
    let calibrated = engine.policy().threshold(protocol.reference).filter(|t| t.target_fmr.is_some());
    // Labelled with what runs, whether named by --model-set or the defaults.
    let ran = models_run(&engine);
    let label = ran.iter().map(|m| m.id.as_str()).collect::<Vec<_>>().join(" + ");
    let models_json: Vec<serde_json::Value> =
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

    let made = |pairs: &[(usize, usize)], scores: &[Option<f32>]| -> Vec<Comparison> {
        pairs
            .iter()
            .zip(scores)
            .filter_map(|(&(a, b), s)| {
                s.map(|score| Comparison { score, subjects: (protocol.subject_of[a], protocol.subject_of[b]) })
            })
            .collect()
    };
    let mut genuine = made(&protocol.genuine, &genuine_scores);
    let mut impostor = made(&protocol.impostor, &impostor_scores);
    if genuine.iter().chain(&impostor).any(|c| !c.score.is_finite()) {
        bail!("the recognizer gave a non-finite score");
    }
    // Subjects renumbered densely over those that take part in a comparison,
    // so that every subject a bootstrap resample draws counts.
    let mut dense: BTreeMap<u32, u32> = BTreeMap::new();
    for c in genuine.iter().chain(&impostor) {
        for s in [c.subjects.0, c.subjects.1] {
            let next = dense.len() as u32;
            dense.entry(s).or_insert(next);
        }
    }
    for c in genuine.iter_mut().chain(impostor.iter_mut()) {
        c.subjects = (dense[&c.subjects.0], dense[&c.subjects.1]);
    }
    let subjects = dense.len() as u32;
    let set_scores = ScoreSet::new(metric, genuine.iter().map(|c| c.score), impostor.iter().map(|c| c.score));
    let fta_images = failed.iter().filter(|&&f| f).count();
    let missing_references = missing.iter().filter(|&&m| m).count();
    let fta = fta_images as f64 / protocol.items.len().max(1) as f64;
    let lost_genuine = protocol.genuine.len() - genuine.len();
    let lost_impostor = protocol.impostor.len() - impostor.len();
    // Transaction level: the share of genuine (impostor) transactions that
    // could not be compared, whichever side failed.
    let fta_genuine = lost_genuine as f64 / protocol.genuine.len().max(1) as f64;
    let fta_impostor = lost_impostor as f64 / protocol.impostor.len().max(1) as f64;

    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    let mut points = Vec::new();
    let interval =
        |t: f32| metrics::bootstrap_at(metric, &genuine, &impostor, protocol.subjects, t, args.bootstrap, args.seed);
    let describe = |r: &Rates, what: &str, warnings: &mut Vec<String>| -> serde_json::Value {
        let (fmr_ci, fnmr_ci) = interval(r.threshold);
        if r.false_non_matches < RULE_OF_30 {
            warnings
                .push(format!("{label}: FNMR {what} rests on {} errors (< {RULE_OF_30}): weak", r.false_non_matches));
        }
        if r.false_matches < RULE_OF_30 {
            warnings.push(format!("{label}: FMR {what} rests on {} errors (< {RULE_OF_30}): weak", r.false_matches));
        }
        let (far, _) = metrics::transaction_rates(fta_impostor, r.fmr, r.fnmr);
        let (_, frr) = metrics::transaction_rates(fta_genuine, r.fmr, r.fnmr);
        serde_json::json!({
            "threshold": r.threshold,
            "fmr": r.fmr, "false_matches": r.false_matches, "impostors": r.impostors, "fmr_ci95": fmr_ci,
            // Rule of 3 assumes independent trials; comparisons sharing a subject are not.
            "fmr_rule_of_3": (r.false_matches == 0).then(|| metrics::rule_of_three(r.impostors)).flatten(),
            "fnmr": r.fnmr, "false_non_matches": r.false_non_matches, "genuine": r.genuine, "fnmr_ci95": fnmr_ci,
            "fnmr_rule_of_3": (r.false_non_matches == 0).then(|| metrics::rule_of_three(r.genuine)).flatten(),
            "transaction_far": far, "transaction_frr": frr,
        })
    };
    for target in TARGETS {
        if !set_scores.supports(target) {
            points.push(serde_json::json!({ "target_fmr": target, "supported": false,
                "reason": format!("{} impostor comparisons cannot show FMR {target}", set_scores.impostor_count()) }));
            continue;
        }
        let r = set_scores.at_fmr(target).context("impostor scores")?;
        let mut v = describe(&r, &format!("at FMR {target}"), &mut warnings);
        v["target_fmr"] = serde_json::json!(target);
        v["supported"] = serde_json::json!(true);
        rows.push(format!(
            "| {label} | FMR {target:e} | {:.4} | {} | {} |",
            r.threshold,
            pct_ci(r.fnmr, r.false_non_matches, r.genuine, &v["fnmr_ci95"]),
            pct_ci(r.fmr, r.false_matches, r.impostors, &v["fmr_ci95"]),
        ));
        points.push(v);
    }
    let mut at_thresholds = Vec::new();
    let calibrated_threshold =
        calibrated.map(|t| (t.value, format!("calibrated (FMR {})", t.target_fmr.unwrap_or(f64::NAN))));
    for (t, what) in calibrated_threshold.into_iter().chain(args.thresholds.iter().map(|&t| (t, "given".to_string()))) {
        let r = set_scores.rates_at(t);
        let mut v = describe(&r, &format!("at threshold {t}"), &mut warnings);
        v["source"] = serde_json::json!(what);
        rows.push(format!(
            "| {label} | {what} | {t:.4} | {} | {} |",
            pct_ci(r.fnmr, r.false_non_matches, r.genuine, &v["fnmr_ci95"]),
            pct_ci(r.fmr, r.false_matches, r.impostors, &v["fmr_ci95"]),
        ));
        at_thresholds.push(v);
    }
    let eer = set_scores.eer();
    if let Some(e) = &eer {
        rows.push(format!("| {label} | EER | {:.4} | {:.2} % | {:.2} % |", e.threshold, e.fnmr * 100.0, e.fmr * 100.0));
    }
    let folds = protocol.folds.as_ref().and_then(|(gf, imf)| {
        let pairs: Vec<(usize, bool, Option<f32>)> = gf
            .iter()
            .zip(&genuine_scores)
            .map(|(&f, &s)| (f, true, s))
            .chain(imf.iter().zip(&impostor_scores).map(|(&f, &s)| (f, false, s)))
            .collect();
        metrics::k_fold_accuracy(metric, &pairs)
    });
    let accuracy = folds.as_ref().map(|f| {
        let acc: Vec<f64> = f.iter().map(|(a, _)| *a).collect();
        let mean = acc.iter().sum::<f64>() / acc.len() as f64;
        let sd = (acc.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / acc.len() as f64).sqrt();
        (mean, sd, f.clone())
    });
    if let Some((mean, sd, f)) = &accuracy {
        rows.push(format!("| {label} | {}-fold accuracy | | {:.2} % ± {:.2} | |", f.len(), mean * 100.0, sd * 100.0));
    }
    let json = serde_json::json!({
        "model_set": label,
        "models": models_json,
        "metric": metric,
        "mirror_averaging": mirror_averaging,
        "reference": protocol.reference,
        "images": protocol.items.len(),
        "failures_to_acquire": fta_images,
        "fta": fta,
        "card_like_references_missing": missing_references,
        "fta_genuine_transactions": fta_genuine,
        "fta_impostor_transactions": fta_impostor,
        "genuine_comparisons": genuine.len(),
        "impostor_comparisons": impostor.len(),
        "genuine_pairs_lost_to_fta": lost_genuine,
        "impostor_pairs_lost_to_fta": lost_impostor,
        "subjects": subjects,
        "at_target_fmr": points,
        "at_thresholds": at_thresholds,
        "eer": eer,
        "k_fold": accuracy.as_ref().map(|(mean, sd, f)| serde_json::json!({
            "folds": f.len(), "accuracy_mean": mean, "accuracy_sd": sd,
            "fold_accuracies": f.iter().map(|x| x.0).collect::<Vec<_>>(),
            "fold_thresholds": f.iter().map(|x| x.1).collect::<Vec<_>>(),
            "note": "pairs without a face count as non-matches",
        })),
        "warnings": warnings,
        "seconds_embedding": embed_seconds,
        "seconds_comparing": compare_seconds,
    });
    Ok(SetResult { label, det: set_scores.det(60), json, rows, warnings })
}

/// `12.345 % [11.000, 13.900] (n)`; with no error, the count and the rule-of-3
/// bound (`0 of 30 (≤ 10 % at 95 %, rule of 3)`), since the bootstrap
/// interval of a rate of 0 is [0, 0] however few the trials.
fn pct_ci(rate: f64, errors: u64, trials: u64, ci: &serde_json::Value) -> String {
    if trials == 0 {
        return "n/a (no comparisons)".to_string();
    }
    if errors == 0 {
        return metrics::zero_errors_text(trials).unwrap_or_default();
    }
    let (lo, hi) = (ci["low"].as_f64().unwrap_or(f64::NAN), ci["high"].as_f64().unwrap_or(f64::NAN));
    format!("{:.3} % [{:.3}, {:.3}] ({errors})", rate * 100.0, lo * 100.0, hi * 100.0)
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
                row.copy_from_slice(t.dangerous_values());
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

fn pairs_protocol(args: &EvalArgs) -> Result<Protocol> {
    let path = if Path::new(&args.pairs).is_absolute() || Path::new(&args.pairs).exists() {
        PathBuf::from(&args.pairs)
    } else {
        args.lfw.join(&args.pairs)
    };
    let images_root = args.images.clone().unwrap_or_else(|| args.lfw.join("images"));
    // (first image, second image, same, fold), paths relative to the image root.
    let mut rows: Vec<(PathBuf, PathBuf, bool, usize)> = Vec::new();
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        for (n, line) in text.lines().enumerate() {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if line.trim().is_empty() || (n == 0 && fields.first().is_some_and(|f| f.eq_ignore_ascii_case("img1"))) {
                continue;
            }
            let (a, b, same, fold) = match fields.as_slice() {
                [a, b, same] => (a, b, same, "0"),
                [a, b, same, fold] => (a, b, same, *fold),
                _ => bail!("{} line {}: expected img1,img2,same[,fold]", path.display(), n + 1),
            };
            let same = match same.to_ascii_lowercase().as_str() {
                "1" | "true" | "same" => true,
                "0" | "false" | "different" => false,
                other => bail!("{} line {}: `same` must be 1/0 or true/false, got {other:?}", path.display(), n + 1),
            };
            let fold = fold.parse().with_context(|| format!("{} line {}: fold", path.display(), n + 1))?;
            if a == b {
                bail!("{} line {}: an image compared with itself", path.display(), n + 1);
            }
            rows.push((PathBuf::from(a), PathBuf::from(b), same, fold));
        }
    } else {
        for p in crate::lfw::read_pairs(&path)? {
            let rel =
                |id: &crate::lfw::ImageId| PathBuf::from(&id.name).join(format!("{}_{:04}.jpg", id.name, id.number));
            rows.push((rel(&p.a), rel(&p.b), p.same, p.fold));
        }
    }
    if rows.is_empty() {
        bail!("{} holds no pairs", path.display());
    }
    // Subjects: the folder an image is in (LFW: the identity).
    let mut subject_ids: BTreeMap<String, u32> = BTreeMap::new();
    let mut subject = |rel: &Path| -> u32 {
        let name = rel.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let next = subject_ids.len() as u32;
        *subject_ids.entry(name).or_insert(next)
    };
    let mut index: BTreeMap<Item, usize> = BTreeMap::new();
    let mut items = Vec::new();
    let mut subject_of = Vec::new();
    let mut intern = |item: Item, s: u32| -> usize {
        *index.entry(item.clone()).or_insert_with(|| {
            items.push(item);
            subject_of.push(s);
            items.len() - 1
        })
    };
    let (mut genuine, mut impostor, mut gf, mut imf) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (a, b, same, fold) in &rows {
        let first = match &args.card_like {
            Some(dir) => Item { path: dir.join(a.with_extension("jp2")), card_like: true },
            None => Item { path: images_root.join(a), card_like: false },
        };
        let (sa, sb) = (subject(a), subject(b));
        let ia = intern(first, sa);
        let ib = intern(Item { path: images_root.join(b), card_like: false }, sb);
        if *same {
            genuine.push((ia, ib));
            gf.push(*fold);
        } else {
            impostor.push((ia, ib));
            imf.push(*fold);
        }
    }
    let folds = rows.iter().map(|r| r.3).collect::<std::collections::BTreeSet<_>>().len();
    // Subjects are folders: say so when the rows contradict that.
    let folder = |p: &Path| p.parent().map(Path::to_path_buf);
    let split = rows.iter().filter(|r| r.2 && folder(&r.0) != folder(&r.1)).count();
    let joined = rows.iter().filter(|r| !r.2 && folder(&r.0) == folder(&r.1)).count();
    let mut warnings = Vec::new();
    if split + joined > 0 {
        warnings.push(format!(
            "subjects are taken from image folders, but {split} genuine pair(s) span two folders and {joined} \
             impostor pair(s) lie in one: the subject-bootstrap intervals do not follow the real subjects"
        ));
    }
    Ok(Protocol {
        description: format!(
            "pairs {} ({} pairs, {folds} fold(s)){}",
            path.display(),
            rows.len(),
            if args.card_like.is_some() { "; first image of each pair as its card-like reference" } else { "" }
        ),
        subjects: subject_ids.len() as u32,
        items,
        subject_of,
        genuine,
        impostor,
        folds: (folds >= 2).then_some((gf, imf)),
        reference: if args.card_like.is_some() { ReferenceKind::Grey } else { ReferenceKind::Colour },
        warnings,
        skipped: Skipped::default(),
    })
}

/// Files an identity folder may hold as images (others, such as notes, are skipped).
const IMAGE_EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "webp", "jp2", "j2k", "j2c"];

/// Entries of an identity tree that the protocol does not use, by reason,
/// so that a report says what it left out rather than leaving it out silently.
#[derive(Default)]
struct Skipped(BTreeMap<&'static str, Vec<PathBuf>>);

impl Skipped {
    const HIDDEN: &'static str = "hidden (name starts with a dot)";
    const NOT_AN_IMAGE: &'static str = "not an image file (by extension)";
    const NOT_FILE_OR_FOLDER: &'static str = "neither a file nor a folder (device, pipe or socket)";
    const BROKEN_LINK: &'static str = "broken symbolic link";
    const UNREADABLE: &'static str = "unreadable entry";
    const LOOP: &'static str = "link to the tree itself or a folder above it (a loop)";
    const SAME_FOLDER: &'static str = "another path to an identity folder already listed";
    const SAME_FILE: &'static str = "another path to an image already listed";
    const FILE_AT_TOP: &'static str = "file beside the identity folders";
    const NESTED_FOLDER: &'static str = "folder inside an identity folder (not searched)";
    const NO_IMAGES: &'static str = "identity folder without images";
    const OVER_MAX: &'static str = "beyond --max-per-identity";

    fn add(&mut self, reason: &'static str, path: PathBuf) {
        self.0.entry(reason).or_default().push(path);
    }

    fn total(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// Each reason with its count and up to five of its paths.
    fn json(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|(reason, paths)| {
                serde_json::json!({ "reason": reason, "count": paths.len(), "examples": &paths[..paths.len().min(5)] })
            })
            .collect()
    }

    /// `3 entries: 2 broken symbolic link, 1 hidden (...)`.
    fn summary(&self) -> Option<String> {
        (self.total() > 0).then(|| {
            let parts: Vec<String> = self.0.iter().map(|(reason, paths)| format!("{} {reason}", paths.len())).collect();
            format!("{} entries: {}", self.total(), parts.join("; "))
        })
    }
}

/// What an entry of a folder is, symbolic links followed; `Err` with the
/// reason to skip it otherwise.
fn entry_kind(
    entry: &std::io::Result<std::fs::DirEntry>,
) -> std::result::Result<(PathBuf, std::fs::Metadata), &'static str> {
    let entry = entry.as_ref().map_err(|_| Skipped::UNREADABLE)?;
    let path = entry.path();
    if entry.file_name().to_string_lossy().starts_with('.') {
        return Err(Skipped::HIDDEN);
    }
    match std::fs::metadata(&path) {
        Ok(meta) => Ok((path, meta)),
        Err(_) if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) => {
            Err(Skipped::BROKEN_LINK)
        }
        Err(_) => Err(Skipped::UNREADABLE),
    }
}

/// The entries of `dir`, sorted by name, each with its metadata (symbolic
/// links followed) or the reason it is skipped.
type Listing = Vec<(PathBuf, std::result::Result<std::fs::Metadata, &'static str>)>;

fn list(dir: &Path) -> Result<Listing> {
    let mut entries: Listing = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|entry| {
            let path = entry.as_ref().map_or_else(|_| dir.to_path_buf(), std::fs::DirEntry::path);
            match entry_kind(&entry) {
                Ok((path, meta)) => (path, Ok(meta)),
                Err(reason) => (path, Err(reason)),
            }
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// An identity's name (its folder's) and its images.
type Identity = (String, Vec<PathBuf>);

/// The identity folders of `dir` and their images (at most `max_per_identity`
/// each, in file-name order), symbolic links followed, and what was skipped.
/// Each folder and each image is taken once, by its canonical path: a second
/// link to either would pair a face with itself, and a link back up the tree
/// is a loop.
fn identity_tree(dir: &Path, max_per_identity: usize) -> Result<(Vec<Identity>, Skipped)> {
    let root = std::fs::canonicalize(dir).with_context(|| format!("opening {}", dir.display()))?;
    let mut skipped = Skipped::default();
    let mut folders_seen = std::collections::BTreeSet::new();
    let mut images_seen = std::collections::BTreeSet::new();
    let mut identities = Vec::new();
    for (folder, meta) in list(dir)? {
        let meta = match meta {
            Ok(meta) => meta,
            Err(reason) => {
                skipped.add(reason, folder);
                continue;
            }
        };
        if !meta.is_dir() {
            skipped.add(if meta.is_file() { Skipped::FILE_AT_TOP } else { Skipped::NOT_FILE_OR_FOLDER }, folder);
            continue;
        }
        let canonical = std::fs::canonicalize(&folder).with_context(|| format!("opening {}", folder.display()))?;
        if root.starts_with(&canonical) {
            skipped.add(Skipped::LOOP, folder);
            continue;
        }
        if !folders_seen.insert(canonical) {
            skipped.add(Skipped::SAME_FOLDER, folder);
            continue;
        }
        let mut files = Vec::new();
        for (path, meta) in list(&folder)? {
            let meta = match meta {
                Ok(meta) => meta,
                Err(reason) => {
                    skipped.add(reason, path);
                    continue;
                }
            };
            if meta.is_dir() {
                skipped.add(Skipped::NESTED_FOLDER, path);
                continue;
            }
            // Only regular files are read: a pipe would block the evaluation.
            if !meta.is_file() {
                skipped.add(Skipped::NOT_FILE_OR_FOLDER, path);
                continue;
            }
            let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
            if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
                skipped.add(Skipped::NOT_AN_IMAGE, path);
                continue;
            }
            if files.len() >= max_per_identity.max(1) {
                skipped.add(Skipped::OVER_MAX, path);
                continue;
            }
            let canonical = std::fs::canonicalize(&path).with_context(|| format!("opening {}", path.display()))?;
            if !images_seen.insert(canonical) {
                skipped.add(Skipped::SAME_FILE, path);
                continue;
            }
            files.push(path);
        }
        if files.is_empty() {
            skipped.add(Skipped::NO_IMAGES, folder);
            continue;
        }
        let name = folder.file_name().unwrap_or_default().to_string_lossy().into_owned();
        identities.push((name, files));
    }
    Ok((identities, skipped))
}

fn identity_protocol(dir: &Path, args: &EvalArgs) -> Result<Protocol> {
    let (identities, skipped) = identity_tree(dir, args.max_per_identity)?;
    if identities.len() < 2 {
        let left_out = skipped.summary().map_or(String::new(), |s| format!(" (left out: {s})"));
        bail!("{}: fewer than 2 identity folders with images{left_out}", dir.display());
    }
    let mut items = Vec::new();
    let mut subject_of = Vec::new();
    let mut first_of = Vec::new();
    let mut genuine = Vec::new();
    for (s, (_, files)) in identities.iter().enumerate() {
        let start = items.len();
        first_of.push(start);
        for f in files {
            items.push(Item { path: f.clone(), card_like: false });
            subject_of.push(s as u32);
        }
        for i in start..items.len() {
            for j in i + 1..items.len() {
                genuine.push((i, j));
            }
        }
    }
    let n = identities.len();
    let mut impostor: Vec<(usize, usize)> = match args.impostors.as_str() {
        "first" => {
            (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))).map(|(a, b)| (first_of[a], first_of[b])).collect()
        }
        "all" => {
            let count = items.len();
            let subject_of = &subject_of;
            (0..count)
                .flat_map(|i| (i + 1..count).filter(move |&j| subject_of[i] != subject_of[j]).map(move |j| (i, j)))
                .collect()
        }
        number => {
            let wanted: usize = number.parse().context("--impostors first, all or a number")?;
            let mut rng = args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = || {
                // xorshift64*: a repeatable draw, nothing secret.
                rng ^= rng >> 12;
                rng ^= rng << 25;
                rng ^= rng >> 27;
                rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
            };
            let mut seen = std::collections::BTreeSet::new();
            // Cross-identity pairs: all pairs less the within-identity ones.
            let sizes = identities.iter().map(|(_, f)| f.len());
            let total_cross = (items.len() * items.len() - sizes.map(|k| k * k).sum::<usize>()) / 2;
            let wanted = wanted.min(total_cross);
            let mut tries = 0usize;
            while seen.len() < wanted && tries < wanted.saturating_mul(50) {
                tries += 1;
                let (i, j) = ((next() % items.len() as u64) as usize, (next() % items.len() as u64) as usize);
                if subject_of[i] != subject_of[j] {
                    seen.insert((i.min(j), i.max(j)));
                }
            }
            seen.into_iter().collect()
        }
    };
    // Card-like references: the first image of every pair is replaced by its
    // card-like reference (`<dir>/<identity>/<file stem>.jp2`), read as a card photo.
    if let Some(card_dir) = &args.card_like {
        let colour = items.len();
        let mut card_of = vec![usize::MAX; colour];
        for pair in genuine.iter_mut().chain(impostor.iter_mut()) {
            let a = pair.0;
            if card_of[a] == usize::MAX {
                let rel = items[a].path.strip_prefix(dir).unwrap_or(&items[a].path).with_extension("jp2");
                items.push(Item { path: card_dir.join(rel), card_like: true });
                subject_of.push(subject_of[a]);
                card_of[a] = items.len() - 1;
            }
            pair.0 = card_of[a];
        }
    }
    let mut warnings = Vec::new();
    if let Ok(asked) = args.impostors.parse::<usize>() {
        if impostor.len() < asked {
            warnings.push(format!("{asked} impostor pairs asked for, {} drawn", impostor.len()));
        }
    }
    if args.card_like.is_some() {
        // Colour images that no pair uses any more (first images only ever on
        // the reference side) are dropped, so that they count nowhere.
        let mut used = vec![false; items.len()];
        genuine.iter().chain(&impostor).for_each(|&(a, b)| {
            used[a] = true;
            used[b] = true;
        });
        let mut new_index = vec![usize::MAX; items.len()];
        let (mut kept_items, mut kept_subjects) = (Vec::new(), Vec::new());
        for (i, item) in items.into_iter().enumerate() {
            if used[i] {
                new_index[i] = kept_items.len();
                kept_items.push(item);
                kept_subjects.push(subject_of[i]);
            }
        }
        for pair in genuine.iter_mut().chain(impostor.iter_mut()) {
            *pair = (new_index[pair.0], new_index[pair.1]);
        }
        items = kept_items;
        subject_of = kept_subjects;
    }
    Ok(Protocol {
        description: format!(
            "identity folders {} ({n} identities, at most {} images each, {} images): every within-identity pair \
             genuine; impostors: {}{}",
            dir.display(),
            args.max_per_identity,
            items.len(),
            match args.impostors.as_str() {
                "first" => "each identity's first image against every other identity's first image".to_string(),
                "all" => "every cross-identity pair".to_string(),
                _ => format!("{} cross-identity pairs drawn with seed {}", impostor.len(), args.seed),
            },
            if args.card_like.is_some() {
                "; the first image of every pair as its card-like reference (grey JPEG 2000, read as a card photo), \
                 the second in colour"
            } else {
                ""
            }
        ),
        subjects: n as u32,
        items,
        subject_of,
        genuine,
        impostor,
        folds: None,
        reference: if args.card_like.is_some() { ReferenceKind::Grey } else { ReferenceKind::Colour },
        warnings,
        skipped,
    })
}

fn markdown(protocol: &Protocol, results: &[SetResult], seconds: f64) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# honnin evaluation\n");
    let _ = writeln!(md, "- Protocol: {}", protocol.description);
    let _ = writeln!(
        md,
        "- Subjects: {}; images: {}; genuine pairs: {}; impostor pairs: {}",
        protocol.subjects,
        protocol.items.len(),
        protocol.genuine.len(),
        protocol.impostor.len()
    );
    if let Some(summary) = protocol.skipped.summary() {
        let _ = writeln!(md, "- Left out while listing the tree (paths in the JSON report): {summary}");
    }
    for r in results {
        let j = &r.json;
        let _ = writeln!(
            md,
            "- {}: failures to acquire {} of {} images (FTA {:.3} %); {} genuine and {} impostor comparisons made \
             ({} and {} lost to FTA); embedding {:.0} s, comparing {:.1} s",
            r.label,
            j["failures_to_acquire"],
            j["images"],
            j["fta"].as_f64().unwrap_or(0.0) * 100.0,
            j["genuine_comparisons"],
            j["impostor_comparisons"],
            j["genuine_pairs_lost_to_fta"],
            j["impostor_pairs_lost_to_fta"],
            j["seconds_embedding"].as_f64().unwrap_or(0.0),
            j["seconds_comparing"].as_f64().unwrap_or(0.0),
        );
    }
    let _ = writeln!(
        md,
        "\n| model set | operating point | threshold | FNMR [95 % CI] (errors) | FMR [95 % CI] (errors) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    for r in results {
        for row in &r.rows {
            let _ = writeln!(md, "{row}");
        }
    }
    let _ = writeln!(
        md,
        "\nIntervals: 2.5th to 97.5th percentile of a subject bootstrap (subjects drawn with replacement). \
         FNMR and FMR are per comparison; a comparison is a match when the score passes the threshold. \
         Where no error was seen, the rate shows its count and the rule-of-3 upper 95 % bound (3 / N) instead: \
         it treats the comparisons as independent, which those sharing a subject are not, so read it as optimistic."
    );
    for w in &protocol.warnings {
        let _ = writeln!(md, "\n**Protocol warning:** {w}");
    }
    let warnings: Vec<&String> = results.iter().flat_map(|r| &r.warnings).collect();
    if !warnings.is_empty() {
        let _ = writeln!(md, "\nWarnings (rule of 30: a rate backed by fewer than 30 errors is weak):\n");
        for w in warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    let _ = writeln!(md, "\n({seconds:.0} s in all)");
    md
}

/// The inverse of the standard normal distribution function (Acklam's
/// rational approximation, relative error below 1.2e-9).
fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A DET curve (FNMR against FMR, both on normal-deviate axes) as SVG.
fn det_svg(results: &[SetResult]) -> String {
    let (w, h, left, top, right, bottom) = (640.0, 520.0, 70.0, 30.0, 20.0, 60.0);
    let ticks = [1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5];
    let (lo, hi) = (probit(1e-5), probit(0.5));
    let x = |fmr: f64| left + (probit(fmr) - lo) / (hi - lo) * (w - left - right);
    let y = |fnmr: f64| top + (1.0 - (probit(fnmr) - lo) / (hi - lo)) * (h - top - bottom);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let label = |v: f64| if v >= 0.01 { format!("{}%", v * 100.0) } else { format!("{v:e}") };
    for &t in &ticks {
        let (tx, ty) = (x(t), y(t));
        let _ = writeln!(svg, r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{:.1}" stroke="#ddd"/>"##, h - bottom);
        let _ = writeln!(svg, r##"<line x1="{left}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#ddd"/>"##, w - right);
        let _ =
            writeln!(svg, r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, h - bottom + 16.0, label(t));
        let _ =
            writeln!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, left - 6.0, ty + 4.0, label(t));
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
        w - left - right,
        h - top - bottom
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">FMR (false match rate)</text>"#,
        (left + w - right) / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">FNMR (false non-match rate)</text>"#,
        (top + h - bottom) / 2.0,
        (top + h - bottom) / 2.0
    );
    let _ = writeln!(
        svg,
        r#"<clipPath id="plot"><rect x="{left}" y="{top}" width="{:.1}" height="{:.1}"/></clipPath>"#,
        w - left - right,
        h - top - bottom
    );
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    for (k, r) in results.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let pts: Vec<String> = r
            .det
            .iter()
            .filter(|(fmr, fnmr)| *fmr > 0.0 && *fnmr > 0.0)
            .map(|&(fmr, fnmr)| format!("{:.1},{:.1}", x(fmr.max(1e-5)), y(fnmr.clamp(1e-5, 0.5))))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" clip-path="url(#plot)"/>"#,
            pts.join(" ")
        );
        // The default operating point marked on the curve.
        let near = |p: &&(f64, f64)| (p.0.ln() - honnin::DEFAULT_TARGET_FMR.ln()).abs();
        if let Some(&(fmr, fnmr)) = r.det.iter().filter(|p| p.1 > 0.0).min_by(|a, b| near(a).total_cmp(&near(b))) {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>FMR {fmr:.2e}, FNMR {:.2} %</title></circle>"#,
                x(fmr.max(1e-5)),
                y(fnmr.clamp(1e-5, 0.5)),
                fnmr * 100.0
            );
        }
        let ly = top + 20.0 + 18.0 * k as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/>"#,
            w - right - 250.0,
            w - right - 225.0
        );
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, w - right - 220.0, ly + 4.0, r.label);
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probit_inverts_the_normal_distribution() {
        assert!(probit(0.5).abs() < 1e-9);
        assert!((probit(0.975) - 1.959964).abs() < 1e-5);
        assert!((probit(1e-3) + 3.090232).abs() < 1e-5);
    }
}
