//! `honnin eval` and `honnin calibrate`: LFW protocols.
//!
//! Templates stay in memory only for the duration of the command and are wiped
//! when dropped; nothing biometric is written to disk, only scores and counts.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::metrics::{self, Comparison};
use honnin::{
    danger, operating_points, Acquisition, Calibration, CardPhoto, Engine, LiveFrame, Models, ReferenceCalibration,
    ReferenceKind, Template, CALIBRATION_FORMAT,
};
use zeroize::Zeroizing;

use crate::cardlike;
use crate::engine::EngineArgs;

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
    in_parallel("embedding", jobs, keys.len(), || build(args), |engine, i| template_of(engine, sources, &keys[i]))
}

/// `work(engine, i)` for every `i` in `0..count`, in order, by `jobs` worker
/// threads, each with its own engine from `build`; the progress line on
/// stderr says `what` is being done. The results do not depend on `jobs`:
/// each item is worked on alone, by an engine built the same way.
pub(crate) fn in_parallel<T: Send>(
    what: &'static str,
    jobs: usize,
    count: usize,
    build: impl Fn() -> Result<Engine> + Sync,
    work: impl Fn(&Engine, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, 16);
    let progress = Progress::new(what, count);
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
                        progress.tick();
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| bail!("worker panicked"))).collect()
    });
    progress.finish();
    let mut all: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for r in results {
        for (i, t) in r? {
            all[i] = Some(t);
        }
    }
    all.into_iter().map(|t| t.context("a worker skipped an item")).collect()
}

/// A progress line on stderr: redrawn in place on a terminal (at most 5
/// times a second), a line per 10 % otherwise (CI logs).
struct Progress {
    what: &'static str,
    count: usize,
    done: AtomicUsize,
    started: std::time::Instant,
    last: std::sync::Mutex<(std::time::Instant, usize)>,
    terminal: bool,
}

impl Progress {
    fn new(what: &'static str, count: usize) -> Self {
        use std::io::IsTerminal;
        let now = std::time::Instant::now();
        let terminal = std::io::stderr().is_terminal();
        Self { what, count, done: AtomicUsize::new(0), started: now, last: std::sync::Mutex::new((now, 0)), terminal }
    }

    fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let Ok(mut last) = self.last.try_lock() else { return };
        let now = std::time::Instant::now();
        let due = if self.terminal {
            now.duration_since(last.0).as_millis() >= 200
        } else {
            done * 10 / self.count.max(1) > last.1 * 10 / self.count.max(1)
        };
        if due {
            *last = (now, done);
            self.draw(done);
        }
    }

    fn draw(&self, done: usize) {
        let width = 30;
        let filled = done * width / self.count.max(1);
        let rate = done as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        let left = (self.count - done.min(self.count)) as f64 / rate.max(1e-3);
        let bar: String = (0..width).map(|i| if i < filled { '#' } else { '.' }).collect();
        let line = format!("{} [{bar}] {done}/{} images, {rate:.0}/s, {left:.0} s left", self.what, self.count);
        if self.terminal {
            eprint!("\r{line}  ");
        } else {
            eprintln!("{line}");
        }
    }

    fn finish(&self) {
        if self.terminal {
            self.draw(self.done.load(Ordering::Relaxed));
            eprintln!();
        }
    }
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

/// The card-like folder's protocol record; refuses a folder `honnin card-like` did not make.
pub(crate) fn card_like_protocol(dir: &Path) -> Result<serde_json::Value> {
    cardlike::read_protocol(dir)?.with_context(|| {
        format!(
            "{} has no {}: make the card-like references first (honnin card-like --out {})",
            dir.display(),
            cardlike::PROTOCOL_FILE,
            dir.display()
        )
    })
}

fn score_of(a: &Template, b: &Template) -> Result<f32> {
    Ok(a.compare(b)?.value)
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
    // Subject numbers, for the bootstrap intervals.
    let names: Vec<&String> = images.iter().map(|id| &id.name).collect::<BTreeSet<_>>().into_iter().collect();
    let subject = |i: usize| names.binary_search(&&images[i].name).unwrap_or(0) as u32;
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for (k, &(i, a)) in usable.iter().enumerate() {
        for &(j, b) in &usable[k + 1..] {
            let c = Comparison { score: score_of(a, b)?, subjects: (subject(i), subject(j)) };
            if images[i].name == images[j].name {
                genuine.push(c);
            } else {
                impostor.push(c);
            }
        }
    }
    let subjects = usable.iter().map(|&(i, _)| &images[i].name).collect::<BTreeSet<_>>().len();
    let points = points_with_intervals(metric, &genuine, &impostor, names.len() as u32, args.bootstrap);
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
                let c = Comparison { score: score_of(card, live)?, subjects: (subject(i), subject(j)) };
                if images[i].name == images[j].name {
                    genuine.push(c);
                } else {
                    impostor.push(c);
                }
            }
        }
        let subjects = grey_refs.iter().map(|&(i, _)| &images[i].name).collect::<BTreeSet<_>>().len();
        let points = points_with_intervals(metric, &genuine, &impostor, names.len() as u32, args.bootstrap);
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
        command: match (card_like, &args.model_set) {
            (None, None) => "honnin calibrate --out <file>".to_string(),
            (Some(_), None) => {
                "honnin card-like --out <dir> && honnin calibrate --card-like <dir> --out <file>".to_string()
            }
            (None, Some(set)) => format!("honnin calibrate --model-set {set} --out <file>"),
            (Some(_), Some(set)) => format!(
                "honnin card-like --out <dir> && honnin calibrate --model-set {set} --card-like <dir> --out <file>"
            ),
        },
        references,
        source: None,
    };
    let mut calibration = calibration;
    // Fused-probe points come from `honnin fusion`: an earlier file's are
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

/// Operating points at the calibration targets, each with 95 % intervals of
/// its FMR and FNMR by subject bootstrap (`replicates` resamples).
fn points_with_intervals(
    metric: honnin::Metric,
    genuine: &[Comparison],
    impostor: &[Comparison],
    subjects: u32,
    replicates: u32,
) -> Vec<honnin::OperatingPoint> {
    let scores = |set: &[Comparison]| set.iter().map(|c| c.score).collect::<Vec<f32>>();
    let mut points = operating_points(metric, &scores(genuine), &scores(impostor), &CALIBRATION_TARGETS);
    for p in &mut points {
        let (fmr, fnmr) = metrics::bootstrap_at(metric, genuine, impostor, subjects, p.threshold, replicates, 1);
        p.fmr_ci95 = Some(fmr);
        p.fnmr_ci95 = Some(fnmr);
    }
    points
}

/// Refuses, before any work is done, an output path that cannot be written
/// as a file: an existing folder, or a path whose folder is missing and
/// cannot be made. The folder is made if missing.
pub(crate) fn prepare_output(path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!("{} is a folder: name a file to write", path.display());
    }
    if path.file_name().is_none() {
        bail!("{}: name a file to write", path.display());
    }
    let dir = output_dir(path);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

/// The folder an output file goes into (`.` for a bare file name).
fn output_dir(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// whole new one, never a part: the bytes go to a new temporary file in the
/// same folder, are flushed to disk (fsync), and the file is renamed over
/// `path`; then the folder is flushed so that the rename lasts. On any
/// failure the temporary file is removed and `path` is left as it was.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = path.file_name().with_context(|| format!("{}: name a file to write", path.display()))?;
    let dir = output_dir(path);
    // Unique per process and call: two writers never share a temporary file.
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| std::fs::rename(&tmp, path).with_context(|| format!("moving {} into place", path.display())));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The new name is durable once the folder's entry is on disk. Some file
    // systems refuse fsync on a folder; the file itself is complete either way.
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
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
    fn an_atomic_write_replaces_the_whole_file_or_leaves_it_alone() {
        let dir = std::env::temp_dir().join(format!("honnin-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("taken")).unwrap();
        let file = dir.join("out.json");
        std::fs::write(&file, "old contents, longer than the new ones").unwrap();
        write_atomically(&file, b"new").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        // A folder in the way: an error, the folder untouched, no temporary file left.
        assert!(write_atomically(&dir.join("taken"), b"x").is_err());
        assert!(dir.join("taken").is_dir());
        assert!(prepare_output(&dir.join("taken")).is_err(), "refused before any work");
        // A missing folder: an error too, and nothing written anywhere.
        assert!(write_atomically(&dir.join("missing/out.json"), b"x").is_err());
        let mut names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["out.json", "taken"], "no temporary file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
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
