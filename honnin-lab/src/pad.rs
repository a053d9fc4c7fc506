//! `honnin-lab pad-eval` and `honnin-lab pad-calibrate`: presentation-attack detection
//! measured the ISO/IEC 30107-3 way, and its threshold set for a target BPCER.
//!
//! APCER (attack presentation classification error rate) is, per attack
//! type, the share of attack presentations accepted as live; the headline is
//! the worst type's. BPCER (bona fide presentation classification error rate)
//! is the share of live presentations rejected as attacks. A presentation the
//! detector finds no single face in is counted apart (not scored): the
//! terminal would ask the person to step into view, not judge liveness.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::pad::{PadCalibration, PadCounts, PadModelBinding, PadPolicy, PAD_CALIBRATION_FORMAT};
use honnin::{Engine, LiveFrame, Models};

use crate::engine::EngineArgs;

/// Where labelled presentations come from.
#[derive(Args, Clone)]
pub(crate) struct PadInput {
    /// A folder with `live/` (bona fide images) and `attack/<type>/` (attack images, one folder per
    /// attack type), or a CSV with the columns `file,label,attack_type` (label `live` or `spoof`;
    /// files relative to the CSV's folder), like ../shared/data/spoof_samples/labels.csv.
    pub(crate) labelled: PathBuf,
}

#[derive(Args)]
pub(crate) struct PadEvalFields {
    #[command(flatten)]
    input: PadInput,
    #[command(flatten)]
    engine: EngineArgs,
    /// Write the report as JSON here (the table goes to stdout).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Worker threads, each with its own engine (the decisions do not depend on it).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
}

/// Arguments of `honnin-lab pad-eval` (`--no-pad` refused).
pub(crate) type PadEvalArgs = RefusingNoPad<PadEvalFields>;

#[derive(Args)]
pub(crate) struct PadCalibrateFields {
    /// Bona fide presentations: LFW's first image of the first N identities, in sorted order.
    #[arg(long, default_value_t = 2000)]
    lfw_identities: usize,
    /// Labelled presentations whose live images join the bona fide set and whose attacks are
    /// scored at the chosen threshold (see `pad-eval` for the layout).
    #[arg(long)]
    labelled: Option<PathBuf>,
    /// Target BPCER: at most this share of bona fide presentations is rejected.
    #[arg(long, default_value_t = 0.05)]
    target_bpcer: f64,
    /// Face data folder holding lfw/images (default: $HONNIN_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where to write the calibration (required: the committed
    /// calibration/pad-minifasnet.json, which the C API carries a copy of,
    /// is replaced only when named here). Written whole or not at all.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads, each with its own engine.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Arguments of `honnin-lab pad-calibrate` (`--no-pad` refused).
pub(crate) type PadCalibrateArgs = RefusingNoPad<PadCalibrateFields>;

/// A PAD command's arguments, with the shared engine flag `--no-pad`
/// refused as a usage error (exit 64): these commands measure PAD, so
/// turning it off would leave nothing to measure, and ignoring the flag
/// would let a reader believe it did something.
pub(crate) struct RefusingNoPad<T>(pub(crate) T);

impl<T: clap::FromArgMatches> clap::FromArgMatches for RefusingNoPad<T> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Self)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl<T: Args> Args for RefusingNoPad<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        refuse_no_pad(T::augment_args(cmd))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        refuse_no_pad(T::augment_args_for_update(cmd))
    }
}

fn refuse_no_pad(cmd: clap::Command) -> clap::Command {
    cmd.mut_arg("no_pad", |arg| {
        arg.hide(true).value_parser(RefuseFlag(
            "--no-pad has no meaning here: this command measures presentation-attack detection itself",
        ))
    })
}

/// The value parser of a flag that must not be given: its default ("false")
/// passes, giving it is a usage error with `message`.
#[derive(Clone)]
struct RefuseFlag(&'static str);

impl clap::builder::TypedValueParser for RefuseFlag {
    type Value = bool;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<bool, clap::Error> {
        if value == "false" {
            return Ok(false);
        }
        Err(cmd.clone().error(clap::error::ErrorKind::ArgumentConflict, self.0))
    }
}

/// One labelled presentation: its file and, for an attack, its type.
struct Presentation {
    file: PathBuf,
    attack: Option<String>,
}

fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    ["jpg", "jpeg", "png", "webp", "jp2", "j2k"].contains(&e.to_ascii_lowercase().as_str())
                })
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The sub-folders of `dir`, sorted.
fn subfolders(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn read_labelled(path: &Path) -> Result<Vec<Presentation>> {
    if path.is_dir() {
        let mut out: Vec<Presentation> =
            image_files(&path.join("live"))?.into_iter().map(|file| Presentation { file, attack: None }).collect();
        let attack = path.join("attack");
        let types = subfolders(&attack)?;
        if types.is_empty() {
            bail!("{} holds no attack type folder", attack.display());
        }
        for dir in types {
            let kind = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            out.extend(image_files(&dir)?.into_iter().map(|file| Presentation { file, attack: Some(kind.clone()) }));
        }
        return Ok(out);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.splitn(4, ',').collect();
        let [file, label, kind, ..] = fields.as_slice() else {
            bail!("{} line {}: expected file,label,attack_type", path.display(), n + 1);
        };
        let attack = match *label {
            "live" => None,
            "spoof" | "attack" => {
                // A free-text type such as "unknown (print/replay; ...)" keeps its first word.
                let kind = kind.split_whitespace().next().unwrap_or("unknown");
                Some(if kind.is_empty() { "unknown".to_string() } else { kind.to_string() })
            }
            other => bail!("{} line {}: label \"live\" or \"spoof\", got {other:?}", path.display(), n + 1),
        };
        out.push(Presentation { file: base.join(file), attack });
    }
    Ok(out)
}

/// A PAD engine: PAD models required; the recognizer's policy is the
/// committed one. Its PAD models are returned as a calibration binds them.
fn pad_engine(args: &EngineArgs) -> Result<(Engine, Vec<PadModelBinding>)> {
    let models = Models::from_dir(&args.models).context("loading models")?;
    if !models.has_pad() {
        bail!(
            "the PAD models named by {}/manifest.json are not in the model directory (tools/setup.py places them from HONNIN_MODEL_MIRROR)",
            args.models.display()
        );
    }
    let calibration = args.calibration(&models)?;
    let policy = honnin::Policy::from_calibration(&calibration, args.target_fmr)?;
    let engine = args.build_with_pad(models, policy, None)?;
    let bindings = engine
        .models()
        .iter()
        .filter(|m| m.role == "pad")
        .map(|m| PadModelBinding { id: m.id.clone(), sha256: m.sha256.clone() })
        .collect();
    Ok((engine, bindings))
}

/// What scoring presentations runs: the detector (to find the face) and
/// the PAD models, as `id (role)`; the recognizer is loaded but never runs.
fn models_run(engine: &Engine) -> Vec<serde_json::Value> {
    engine
        .models()
        .iter()
        .filter(|m| m.role == "detector" || m.role == "pad")
        .map(|m| serde_json::json!({ "id": m.id, "role": m.role, "sha256": m.sha256 }))
        .collect()
}

/// What scoring gave: each file's liveness (`None`: no single face), the
/// PAD models that scored them and the models that ran.
struct Scored {
    liveness: Vec<Option<f32>>,
    bindings: Vec<PadModelBinding>,
    models: Vec<serde_json::Value>,
}

/// The liveness score of each presentation, by `jobs` engines in parallel
/// (in file order, the same for any `jobs`: each file is scored alone).
/// `accept` sees each engine's PAD models before it scores anything, so
/// that a mismatch with a calibration fails at once.
fn scores(
    args: &EngineArgs,
    jobs: usize,
    files: &[&Path],
    accept: &(dyn Fn(&[PadModelBinding]) -> Result<()> + Sync),
) -> Result<Scored> {
    let mut args = args.clone();
    // One intra-op thread per engine unless told otherwise, as `eval` does:
    // the engines share the cores.
    args.threads.get_or_insert(1);
    let loaded = std::sync::OnceLock::new();
    let build = || -> Result<Engine> {
        let (engine, bindings) = pad_engine(&args)?;
        accept(&bindings)?;
        let _ = loaded.set((bindings, models_run(&engine)));
        Ok(engine)
    };
    let liveness = crate::parallel::in_parallel("scoring liveness", jobs, files.len(), build, |engine, i| {
        let file = files[i];
        let frame = LiveFrame::open(file).with_context(|| format!("reading {}", file.display()))?;
        Ok(engine.liveness(&frame)?)
    })?;
    let (bindings, models) = loaded.into_inner().context("no PAD engine was built")?;
    Ok(Scored { liveness, bindings, models })
}

/// Scores of live presentations, and of attacks by attack type.
type Split = (Vec<Option<f32>>, BTreeMap<String, Vec<Option<f32>>>);

/// The presentations' scores split into live ones and attacks by type.
fn split(presentations: &[Presentation], scores: &[Option<f32>]) -> Split {
    let mut live = Vec::new();
    let mut attacks: BTreeMap<String, Vec<Option<f32>>> = BTreeMap::new();
    for (p, s) in presentations.iter().zip(scores) {
        match &p.attack {
            None => live.push(*s),
            Some(t) => attacks.entry(t.clone()).or_default().push(*s),
        }
    }
    (live, attacks)
}

/// Counts for one set of presentations at `threshold`.
fn counts(source: &str, scores: &[Option<f32>], threshold: f32) -> PadCounts {
    let scored: Vec<f32> = scores.iter().flatten().copied().collect();
    PadCounts {
        source: source.to_string(),
        scored: scored.len(),
        not_scored: scores.len() - scored.len(),
        below_threshold: scored.iter().filter(|&&s| s < threshold).count(),
    }
}

/// `12.50 % (1 / 8)`; with no error, the count and the rule-of-3 bound,
/// `0 of 5 (≤ 60 % at 95 %, rule of 3)`.
fn rate(numerator: usize, denominator: usize) -> String {
    if denominator == 0 {
        "n/a".into()
    } else if numerator == 0 {
        honnin::metrics::zero_errors_text(denominator as u64).unwrap_or_default()
    } else {
        format!("{:.2} % ({numerator} / {denominator})", 100.0 * numerator as f64 / denominator as f64)
    }
}

/// The rule-of-3 bound of a rate with no error in `scored` trials, for JSON.
fn rule_of_3(errors: usize, scored: usize) -> Option<f64> {
    (errors == 0).then(|| honnin::metrics::rule_of_three(scored as u64)).flatten()
}

pub(crate) fn pad_eval(args: &PadEvalArgs) -> Result<()> {
    let args = &args.0;
    if let Some(path) = &args.json {
        crate::output::prepare_output(path)?;
    }
    let (table, report) = evaluate(&args.input.labelled, &args.engine, args.jobs)?;
    outln!("{table}");
    if let Some(path) = &args.json {
        crate::output::write_atomically(path, (serde_json::to_string_pretty(&report)? + "\n").as_bytes())?;
    }
    Ok(())
}

/// Scores labelled presentations at the PAD calibration of `engine_args`,
/// with `jobs` engines in parallel: the Markdown tables (each image's
/// liveness and decision; APCER per attack type and the maximum over types,
/// BPCER, with their counts) and the same as JSON, which `honnin-lab
/// pad-eval` prints and writes.
fn evaluate(labelled: &Path, engine_args: &EngineArgs, jobs: usize) -> Result<(String, serde_json::Value)> {
    use std::fmt::Write as _;
    let presentations = read_labelled(labelled)?;
    let calibration = engine_args.pad_calibration()?;
    let policy = PadPolicy::from_calibration(&calibration);
    let threshold = policy.threshold();
    let files: Vec<&Path> = presentations.iter().map(|p| p.file.as_path()).collect();
    let accept = |bindings: &[PadModelBinding]| -> Result<()> {
        if bindings != calibration.models.as_slice() {
            bail!("the PAD calibration was made with other PAD models than the ones loaded");
        }
        Ok(())
    };
    let Scored { liveness: scored, models, .. } = scores(engine_args, jobs, &files, &accept)?;
    let label = models.iter().filter_map(|m| m["id"].as_str()).collect::<Vec<_>>().join(" + ");

    let mut t = String::new();
    writeln!(
        t,
        "PAD evaluation (ISO/IEC 30107-3) at threshold {threshold:.4} (target BPCER {}); models run: {label}",
        calibration.target_bpcer
    )?;
    writeln!(t)?;
    writeln!(t, "| image | presentation | liveness | decision |")?;
    writeln!(t, "|---|---|---|---|")?;
    let mut rows = Vec::new();
    for (p, score) in presentations.iter().zip(&scored) {
        let truth = p.attack.as_deref().map_or("live".to_string(), |t| format!("attack ({t})"));
        let (shown, decision) = match score {
            Some(s) if *s >= threshold => (format!("{s:.4}"), "live"),
            Some(s) => (format!("{s:.4}"), "attack_suspected"),
            None => ("-".into(), "no_single_face"),
        };
        writeln!(t, "| {} | {truth} | {shown} | {decision} |", p.file.display())?;
        rows.push(serde_json::json!({
            "file": p.file, "attack_type": p.attack, "liveness": score, "decision": decision,
        }));
    }
    let (live, per_type) = split(&presentations, &scored);
    let bona = counts("live", &live, threshold);
    writeln!(t)?;
    writeln!(t, "| measure | rate (errors / scored) | not scored (no single face) |")?;
    writeln!(t, "|---|---|---|")?;
    let mut apcer = Vec::new();
    // The worst type: the highest APCER; among types without an accepted
    // attack, the one with the fewest scored (the widest rule-of-3 bound).
    let mut worst: Option<(f64, usize, usize, String)> = None;
    for (kind, s) in &per_type {
        let c = counts(kind, s, threshold);
        let accepted = c.scored - c.below_threshold;
        writeln!(t, "| APCER, attack type {kind} | {} | {} |", rate(accepted, c.scored), c.not_scored)?;
        if c.scored > 0 {
            let r = accepted as f64 / c.scored as f64;
            let worse = |(w, _, n, _): &(f64, usize, usize, String)| r > *w || (r == *w && c.scored < *n);
            if worst.as_ref().is_none_or(worse) {
                worst = Some((r, accepted, c.scored, kind.clone()));
            }
        }
        apcer.push(serde_json::json!({
            "attack_type": kind, "scored": c.scored, "accepted_as_live": accepted, "not_scored": c.not_scored,
            "apcer": (c.scored > 0).then(|| accepted as f64 / c.scored as f64),
            "apcer_rule_of_3": rule_of_3(accepted, c.scored),
        }));
    }
    match &worst {
        Some((_, accepted, scored, kind)) => {
            writeln!(t, "| APCER, maximum over types | {} ({kind}) | |", rate(*accepted, *scored))?
        }
        None => writeln!(t, "| APCER, maximum over types | n/a | |")?,
    }
    write!(t, "| BPCER | {} | {} |", rate(bona.below_threshold, bona.scored), bona.not_scored)?;
    let report = serde_json::json!({
        "labelled": labelled,
        "threshold": threshold,
        "target_bpcer": calibration.target_bpcer,
        "models": models,
        "presentations": rows,
        "apcer": apcer,
        "apcer_max": worst.as_ref().map(|(r, accepted, scored, kind)| serde_json::json!({
            "apcer": r, "attack_type": kind, "apcer_rule_of_3": rule_of_3(*accepted, *scored),
        })),
        "bpcer": (bona.scored > 0).then(|| bona.below_threshold as f64 / bona.scored as f64),
        "bpcer_rule_of_3": rule_of_3(bona.below_threshold, bona.scored),
        "bona_fide": {"scored": bona.scored, "rejected": bona.below_threshold, "not_scored": bona.not_scored},
    });
    Ok((t, report))
}

pub(crate) fn pad_calibrate(args: &PadCalibrateArgs) -> Result<()> {
    let args = &args.0;
    if !(args.target_bpcer > 0.0 && args.target_bpcer < 1.0) {
        bail!("--target-bpcer between 0 and 1");
    }
    // Refused now rather than after scoring thousands of images.
    crate::output::prepare_output(&args.out)?;
    let lfw_dir = args.data.as_ref().map_or_else(crate::lfw::default_lfw, |d| d.join("lfw"));
    let identities = subfolders(&lfw_dir.join("images"))?;
    let lfw: Vec<PathBuf> = identities
        .iter()
        .take(args.lfw_identities)
        .filter_map(|dir| image_files(dir).ok().and_then(|f| f.into_iter().next()))
        .collect();
    let labelled = match &args.labelled {
        Some(path) => read_labelled(path)?,
        None => Vec::new(),
    };
    // LFW's images and the labelled ones scored in one pass, by the same engines.
    let files: Vec<&Path> = lfw.iter().map(PathBuf::as_path).chain(labelled.iter().map(|p| p.file.as_path())).collect();
    let Scored { liveness: mut lfw_scores, bindings, .. } = scores(&args.engine, args.jobs, &files, &|_| Ok(()))?;
    let labelled_scores = lfw_scores.split_off(lfw.len());
    let (labelled_live, per_type) = split(&labelled, &labelled_scores);

    // The threshold: the largest score that rejects at most target x n bona fide presentations.
    let mut bona: Vec<f32> = lfw_scores.iter().chain(&labelled_live).flatten().copied().collect();
    if bona.is_empty() {
        bail!("no bona fide presentation could be scored");
    }
    bona.sort_by(f32::total_cmp);
    let allowed = (args.target_bpcer * bona.len() as f64 + 1e-9).floor() as usize;
    // Rejected: scores strictly below the threshold. Ties at the threshold pass.
    let threshold = if allowed >= bona.len() { 1.0 } else { bona[allowed] };
    let labelled_name = args.labelled.as_ref().map(|p| p.display().to_string());
    let bona_counts = {
        let all: Vec<Option<f32>> = lfw_scores.iter().chain(&labelled_live).copied().collect();
        let source = format!(
            "LFW: first image of the first {} identities (sorted){}",
            lfw.len(),
            labelled_name.as_ref().map_or(String::new(), |n| format!(", and the live images of {n}"))
        );
        counts(&source, &all, threshold)
    };
    let attacks: Vec<(String, PadCounts)> = per_type
        .iter()
        .map(|(t, s)| {
            let source = format!("{} ({t})", labelled_name.clone().unwrap_or_default());
            (t.clone(), counts(&source, s, threshold))
        })
        .collect();
    let calibration = PadCalibration {
        format: PAD_CALIBRATION_FORMAT.into(),
        models: bindings,
        target_bpcer: args.target_bpcer,
        threshold,
        bona_fide: bona_counts,
        attacks,
        caveats: vec![
            "The bona fide images are LFW press photographs taken by news cameras, not frames from a counter terminal's camera: the BPCER at a terminal may differ.".into(),
            "The attack images are a handful of samples from two public repositories, of unknown attack type: they show that attacks can be caught, not the APCER of any attack type.".into(),
            "No printed-photo, screen or mask attacks made with a terminal's own camera were available.".into(),
        ],
        source: None,
    };
    let text = serde_json::to_string_pretty(&calibration)? + "\n";
    // Never a half-written calibration: the old file stays until the new one is whole on disk.
    crate::output::write_atomically(&args.out, text.as_bytes())?;
    let c = &calibration.bona_fide;
    outln!(
        "threshold {threshold:.4} at target BPCER {}: {} of {} bona fide presentations rejected ({} not scored); written to {}",
        args.target_bpcer,
        c.below_threshold,
        c.scored,
        c.not_scored,
        args.out.display()
    );
    for (t, c) in &calibration.attacks {
        outln!(
            "attack type {t}: {} of {} accepted as live ({} not scored)",
            c.scored - c.below_threshold,
            c.scored,
            c.not_scored
        );
    }
    Ok(())
}
