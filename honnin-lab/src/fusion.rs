//! `honnin-lab fusion`: what fusing several frames' templates does to FNMR at a
//! calibrated FMR, simulated on LFW.
//!
//! LFW has no video, so frames are simulated by other photos of the same
//! person, in identities with at least 4 images, split in two disjoint sets:
//! those in View 1 DevTrain (the calibration set of the committed thresholds)
//! calibrate the fused threshold, the others evaluate it. For each image of
//! an identity (at most 10 per identity) taken as the card reference, the
//! probe is the next image (single frame) or the next three (fused,
//! [`Template::fuse`]), cyclically. Impostor trials pair every reference of
//! an identity with the first probe of every other identity, single and fused
//! alike. Different photos of a person differ far more than consecutive
//! camera frames do, so this is a harsh test of fusion, not a flattering one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::calibration::operating_points;
use honnin::engine::{Acquisition, Template};
use honnin::input::ReferenceKind;
use honnin::models::Metric;
use honnin::quality::QualityGate;
use honnin::{Engine, LiveFrame};

use crate::engine::EngineArgs;
use crate::lfw::default_lfw;

/// Arguments of `honnin-lab fusion`.
#[derive(Args, Clone)]
pub(crate) struct FusionArgs {
    /// LFW folder (holding images/ and pairsDevTrain.txt).
    #[arg(long, default_value_os_t = default_lfw())]
    lfw: PathBuf,
    /// Images per identity, at most.
    #[arg(long, default_value_t = 10)]
    max_images: usize,
    /// Frames fused per probe.
    #[arg(long, default_value_t = 3)]
    frames: usize,
    /// Worker threads, each with its own engine.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Write the JSON report here (it holds scores' summaries and counts only).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Add the fused-probe operating points measured on the calibration split
    /// to this calibration file (colour references), keeping everything else.
    #[arg(long, value_name = "FILE")]
    calibrate_into: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
}

/// One image's template and quality weight.
struct Embedded {
    template: Template,
    weight: f32,
}

/// Weight of a frame the gate would have refused: down-weighted rather than
/// dropped, so that every condition compares the same trials.
const REFUSED_WEIGHT: f32 = 0.1;

/// Genuine and impostor scores of one probe condition.
#[derive(Default)]
struct Scores {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
}

const CONDITIONS: [&str; 3] = ["single", "fused_equal", "fused_quality"];

/// Scores of every condition on one split.
fn score_split(engine: &Engine, people: &[Vec<&Embedded>], frames: usize) -> Result<[Scores; 3]> {
    let probe = |person: &[&Embedded], start: usize| -> Result<[Template; 3]> {
        let n = person.len();
        let set: Vec<&Embedded> = (0..frames).map(|k| person[(start + k) % n]).collect();
        let equal: Vec<(&Template, f32)> = set.iter().map(|e| (&e.template, 1.0)).collect();
        let weighted: Vec<(&Template, f32)> = set.iter().map(|e| (&e.template, e.weight)).collect();
        Ok([Template::fuse(&[(&set[0].template, 1.0)])?, Template::fuse(&equal)?, Template::fuse(&weighted)?])
    };
    let mut scores: [Scores; 3] = Default::default();
    for person in people {
        for (i, reference) in person.iter().enumerate() {
            for (c, p) in probe(person, i + 1)?.iter().enumerate() {
                scores[c].genuine.push(engine.compare(&reference.template, p)?.value);
            }
        }
    }
    let first_probes: Vec<[Template; 3]> = people.iter().map(|p| probe(p, 1)).collect::<Result<_>>()?;
    for (a, person) in people.iter().enumerate() {
        for reference in person {
            for (b, probes) in first_probes.iter().enumerate() {
                if a != b {
                    for (c, p) in probes.iter().enumerate() {
                        scores[c].impostor.push(engine.compare(&reference.template, p)?.value);
                    }
                }
            }
        }
    }
    Ok(scores)
}

pub(crate) fn fusion(args: &FusionArgs) -> Result<()> {
    let started = Instant::now();
    if args.frames < 2 {
        bail!("--frames of at least 2");
    }
    let (calibration_ids, evaluation_ids) = identities(&args.lfw, args.frames + 1, args.max_images)?;
    let images: Vec<PathBuf> = calibration_ids.values().chain(evaluation_ids.values()).flatten().cloned().collect();
    eprintln!(
        "fusion: {} + {} identities (calibration + evaluation), {} images; embedding with {} workers",
        calibration_ids.len(),
        evaluation_ids.len(),
        images.len(),
        args.jobs
    );
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let embedded = embed_all(&engine_args, args.jobs.clamp(1, 16), &images)?;
    let engine = engine_args.engine()?;
    let metric = engine.policy().metric();
    let single = engine.policy().threshold(ReferenceKind::Colour).context("a colour threshold")?;
    let target = single.target_fmr.context("a calibrated policy")?;
    let by_path: BTreeMap<&Path, &Embedded> =
        images.iter().zip(&embedded).filter_map(|(p, e)| e.as_ref().map(|e| (p.as_path(), e))).collect();
    let failed = images.len() - by_path.len();
    let people = |ids: &BTreeMap<String, Vec<PathBuf>>| -> Vec<Vec<&Embedded>> {
        ids.values()
            .map(|paths| paths.iter().filter_map(|p| by_path.get(p.as_path()).copied()).collect::<Vec<_>>())
            .filter(|v| v.len() > args.frames)
            .collect()
    };
    let (cal_people, eval_people) = (people(&calibration_ids), people(&evaluation_ids));
    let cal = score_split(&engine, &cal_people, args.frames)?;
    let eval = score_split(&engine, &eval_people, args.frames)?;
    // Templates (in `embedded`) are wiped when the function returns.

    // Thresholds: single frames at the committed calibration; fused probes at
    // the point measured on the calibration split.
    let targets = [1e-2, 1e-3, 1e-4];
    let fused_points = operating_points(metric, &cal[2].genuine, &cal[2].impostor, &targets);
    let equal_points = operating_points(metric, &cal[1].genuine, &cal[1].impostor, &targets);
    let at = |points: &[honnin::calibration::OperatingPoint]| -> Result<f32> {
        let p = points.iter().find(|p| ((p.target_fmr - target) / target).abs() < 1e-9);
        Ok(p.context("an operating point at the policy's target")?.threshold)
    };
    let thresholds = [single.value, at(&equal_points)?, at(&fused_points)?];
    let passes = |s: f32, t: f32| match metric {
        Metric::Euclidean => s <= t,
        Metric::Cosine => s >= t,
    };
    let mut rows = Vec::new();
    outln!(
        "evaluation split: {} identities; thresholds for FMR {target} (single: committed calibration; fused: calibration split, {} identities)",
        eval_people.len(),
        cal_people.len()
    );
    outln!("probe           genuine  impostor  threshold   FNMR (errors)      FMR (errors)      | at the single-frame threshold: FNMR, FMR");
    for (c, name) in CONDITIONS.iter().enumerate() {
        let s = &eval[c];
        let count = |t: f32| {
            let fnm = s.genuine.iter().filter(|&&x| !passes(x, t)).count();
            let fm = s.impostor.iter().filter(|&&x| passes(x, t)).count();
            (fnm, fm)
        };
        let (g, i) = (s.genuine.len(), s.impostor.len());
        let (fnm, fm) = count(thresholds[c]);
        let (fnm1, fm1) = count(single.value);
        outln!(
            "{name:<15} {g:>7} {i:>9}  {:>9.4}  {:>6.2} % ({fnm:>4})  {:.5} ({fm:>4})  | {:.2} %, {:.5}",
            thresholds[c],
            100.0 * fnm as f64 / g as f64,
            fm as f64 / i as f64,
            100.0 * fnm1 as f64 / g as f64,
            fm1 as f64 / i as f64,
        );
        rows.push(serde_json::json!({
            "probe": name,
            "genuine_comparisons": g,
            "impostor_comparisons": i,
            "threshold": thresholds[c],
            "threshold_from": if c == 0 { "committed calibration" } else { "calibration split" },
            "fnmr": fnm as f64 / g as f64,
            "false_non_matches": fnm,
            "fmr": fm as f64 / i as f64,
            "false_matches": fm,
            "at_single_frame_threshold": {
                "fnmr": fnm1 as f64 / g as f64, "false_non_matches": fnm1,
                "fmr": fm1 as f64 / i as f64, "false_matches": fm1,
            },
        }));
    }
    let dataset = format!(
        "LFW identities of View 1 DevTrain with at least {} images ({} identities, at most {} images each): \
         reference = each image in turn, probe = the next {} images fused with quality-gate weights (refused \
         frames weighted {REFUSED_WEIGHT}); impostors: every reference against the first probe of every other identity",
        args.frames + 1,
        cal_people.len(),
        args.max_images,
        args.frames
    );
    let fused = honnin::calibration::FusedCalibration {
        frames: args.frames as u32,
        weighting: "quality".into(),
        dataset,
        command: format!(
            "honnin-lab fusion --frames {} --max-images {} --calibrate-into <file>",
            args.frames, args.max_images
        ),
        subjects: cal_people.len() as u64,
        genuine_comparisons: cal[2].genuine.len() as u64,
        impostor_comparisons: cal[2].impostor.len() as u64,
        points: fused_points,
    };
    let report = serde_json::json!({
        "protocol": format!(
            "LFW identities with at least {} images, at most {} images each; calibration split: those in View 1 DevTrain; evaluation split: the others. Reference = each image in turn, probe = the next image (single) or the next {} images fused (equal weights, or quality-gate weights with refused frames at {REFUSED_WEIGHT}); impostors: every reference against the first probe of every other identity",
            args.frames + 1, args.max_images, args.frames
        ),
        "calibration_identities": cal_people.len(),
        "evaluation_identities": eval_people.len(),
        "images": images.len(),
        "images_without_a_subject_face": failed,
        "target_fmr": target,
        "evaluation": rows,
        "fused_calibration": fused,
        "seconds": started.elapsed().as_secs_f64(),
    });
    outln!("{} images ({failed} without a subject face), {:.0} s", images.len(), started.elapsed().as_secs_f64());
    if let Some(out) = &args.out {
        let text = serde_json::to_string_pretty(&report)? + "\n";
        crate::output::write_atomically(out, text.as_bytes())?;
    }
    if let Some(path) = &args.calibrate_into {
        // This command rewrites the file: it is read unpinned (plausibility still checked).
        let mut calibration =
            honnin::danger::unpinned_calibration(path).with_context(|| format!("loading {}", path.display()))?;
        if calibration.pipeline_sha256 != engine_args.build_models()?.pipeline_sha256(!engine_args.no_mirror) {
            bail!("{} was made for another pipeline", path.display());
        }
        let colour = calibration.references.get_mut(&ReferenceKind::Colour).context("colour references in the file")?;
        colour.fused = Some(fused);
        let text = serde_json::to_string_pretty(&calibration)? + "\n";
        crate::output::write_atomically(path, text.as_bytes())?;
        outln!("fused-probe thresholds written into {}", path.display());
    }
    Ok(())
}

/// Identities with at least `min` images, each with its first `max` images
/// in file order: those in View 1 DevTrain, and the others.
type Split = BTreeMap<String, Vec<PathBuf>>;
fn identities(lfw: &Path, min: usize, max: usize) -> Result<(Split, Split)> {
    let excluded: BTreeSet<String> = crate::lfw::read_pairs(&lfw.join("pairsDevTrain.txt"))?
        .into_iter()
        .flat_map(|p| [p.a.name, p.b.name])
        .collect();
    let dir = lfw.join("images");
    let (mut train, mut rest) = (BTreeMap::new(), BTreeMap::new());
    for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Symbolic links followed, as `eval` does.
        if !std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(entry.path())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
            .collect();
        if files.len() >= min {
            files.sort();
            files.truncate(max);
            if excluded.contains(&name) { &mut train } else { &mut rest }.insert(name, files);
        }
    }
    if train.len() < 2 || rest.len() < 2 {
        bail!("fewer than 2 identities with {min} or more images in a split of {}", dir.display());
    }
    Ok((train, rest))
}

/// Template and quality weight of every image, `None` without a subject face.
fn embed_all(args: &EngineArgs, jobs: usize, images: &[PathBuf]) -> Result<Vec<Option<Embedded>>> {
    let gate = QualityGate::default();
    crate::parallel::in_parallel(
        "embedding",
        jobs,
        images.len(),
        || args.engine(),
        |engine, i| {
            let path = &images[i];
            let frame = LiveFrame::open(path).with_context(|| path.display().to_string())?;
            let quality = engine.assess(&frame, &gate)?;
            Ok(match engine.template(&frame)? {
                Acquisition::Face(template) => {
                    let weight = if quality.is_usable() { quality.weight } else { REFUSED_WEIGHT };
                    Some(Embedded { template, weight })
                }
                Acquisition::Inconclusive(_) => None,
            })
        },
    )
}
