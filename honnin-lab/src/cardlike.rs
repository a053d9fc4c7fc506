//! `honnin-lab card-like`: turns LFW images into card-like references.
//!
//! Japan's My Number card stores a small monochrome JPEG 2000 portrait. To
//! measure how a reference like that compares with a colour live image, each
//! LFW image of the chosen pairs files is rendered as such a portrait:
//!
//! 1. decode the JPEG (the `image` crate), detect faces with the engine and
//!    choose the subject the way the engine does (the most prominent face; no
//!    face, or a second face nearly as prominent: skipped and counted);
//! 2. level the eyes and scale so that the face measures [`FACE_HEIGHT`] px from
//!    chin to hairline (estimated from the landmarks), eye midpoint at
//!    ([`EYE_X`], [`EYE_Y`]) of a [`WIDTH`] x [`HEIGHT`] grey image: one
//!    similarity transform, bilinear sampling, border pixels replicated where
//!    the source runs out; grey is ITU-R BT.601 luma, rounded;
//! 3. encode to JPEG 2000 of about `--bytes` bytes with OpenJPEG's
//!    `opj_compress` (a development tool only: honnin itself never encodes).
//!
//! The outputs mirror LFW's layout, `<out>/<name>/<name>_NNNN.jp2`, and
//! `<out>/PROTOCOL.json` records the parameters. They derive from LFW and must
//! never be committed. Pixel buffers are wiped after use; the PGM handed to the
//! encoder lives in a private temporary folder and is deleted after each image.

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read as _};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use honnin::engine::COMPARABLE_FACE_RATIO;
use honnin::{danger, Engine, LiveFrame, Models, Reason};
use zeroize::{Zeroize, Zeroizing};

use crate::engine::EngineArgs;
use crate::lfw::{default_lfw, read_pairs, ImageId};
use crate::output::write_atomically;

/// Portrait width in pixels.
pub(crate) const WIDTH: u32 = 160;
/// Portrait height in pixels (4:5, the shape of an ID photo).
pub(crate) const HEIGHT: u32 = 200;
/// Chin to hairline, in portrait pixels.
pub(crate) const FACE_HEIGHT: f64 = 95.0;
/// Chin-to-hairline height as a multiple of the distance from the eye midpoint
/// to the mouth midpoint.
///
/// Anthropometric averages for adults (Farkas, *Anthropometry of the Head and
/// Face*, 1994): face height trichion-gnathion (hairline to chin) about 187 mm
/// in men and 174 mm in women; the line of the eyes lies about 9 mm below
/// nasion and the mouth line about 75 mm below it, so eye line to mouth line is
/// about 68 mm in men and 64 mm in women. Both ratios come to about 2.7; the
/// mouth corners YuNet marks sit slightly above the lip line, which lengthens
/// the measured distance a little, so 2.6 is used. (The artists' rule of thirds
/// gives the same order: eyes at about 0.4 and mouth at about 0.78 of the way
/// from hairline to chin, 1 / 0.38 = 2.6.)
pub(crate) const FACE_HEIGHT_PER_EYE_TO_MOUTH: f64 = 2.6;
/// Eye midpoint, horizontally: the portrait's centre line.
pub(crate) const EYE_X: f64 = 80.0;
/// Eye midpoint, vertically. With the eyes about 0.4 of the face height below
/// the hairline, the hairline falls near y = 52 and the chin near y = 147: the
/// face sits in the upper middle with room for the crown above and the neck
/// and shoulders below, as on an ID photo.
pub(crate) const EYE_Y: f64 = 90.0;

/// Name of the protocol file written into the output folder.
pub(crate) const PROTOCOL_FILE: &str = "PROTOCOL.json";

const DEFAULT_PAIRS: [&str; 3] = ["pairs.txt", "pairsDevTrain.txt", "pairsDevTest.txt"];

/// Arguments of `honnin-lab card-like`.
#[derive(Args, Clone)]
pub(crate) struct CardLikeArgs {
    /// LFW folder (holding images/ and the pairs files).
    #[arg(long, default_value_os_t = default_lfw())]
    lfw: PathBuf,
    /// Pairs files inside the LFW folder whose images are converted (repeat the flag for several).
    #[arg(long = "pairs", default_values_t = DEFAULT_PAIRS.map(String::from))]
    pairs: Vec<String>,
    /// Output folder; receives <name>/<name>_NNNN.jp2 and PROTOCOL.json. Keep it out of git.
    #[arg(long)]
    out: PathBuf,
    /// Target size of each JPEG 2000 file, in bytes.
    #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u32).range(500..=32000))]
    bytes: u32,
    /// OpenJPEG's opj_compress (Debian package libopenjp2-tools).
    #[arg(long, default_value = "opj_compress")]
    encoder: PathBuf,
    /// Worker threads, each with its own engine.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Also convert the first N images of every identity in the LFW images folder (for
    /// `honnin-lab eval --identities <lfw>/images --card-like DIR`).
    #[arg(long, value_name = "N")]
    per_identity: Option<usize>,
    /// Convert again files that already exist.
    #[arg(long)]
    force: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

impl ImageId {
    /// Where `honnin-lab card-like` puts this image's card-like reference.
    pub(crate) fn card_like_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.name).join(format!("{}_{:04}.jp2", self.name, self.number))
    }
}

/// What converting one image gave.
enum Converted {
    /// Encoded and written, this many bytes.
    Written(u64),
    /// Already there (not converted again without `--force`), this many bytes.
    Present(u64),
    /// No face found.
    NoFace,
    /// A second face at least [`COMPARABLE_FACE_RATIO`] as prominent as the first.
    SeveralFaces,
    /// Landmarks too close together to fix a scale.
    Unusable,
}

pub(crate) fn card_like(args: &CardLikeArgs) -> Result<()> {
    let started = Instant::now();
    let mut engine_args = args.engine.clone();
    engine_args.threads.get_or_insert(1);
    let encoder_version = encoder_version(&args.encoder)?;
    let target = args.bytes;
    let ratio = f64::from(WIDTH * HEIGHT) / f64::from(target);
    let models = Models::from_dir(&engine_args.models).context("loading models")?;
    let (metric, detector, detector_sha256) = (
        models.metric(),
        models.detector_id().to_string(),
        models.describe().into_iter().find(|m| m.role == "detector").map(|m| m.sha256).unwrap_or_default(),
    );
    drop(models);

    let mut images = BTreeSet::new();
    for file in &args.pairs {
        for pair in read_pairs(&args.lfw.join(file))? {
            images.insert(pair.a);
            images.insert(pair.b);
        }
    }
    if let Some(n) = args.per_identity {
        let dir = args.lfw.join("images");
        for entry in std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let mut numbers: Vec<u32> = std::fs::read_dir(entry.path())?
                .filter_map(|f| f.ok())
                .filter_map(|f| {
                    let file = f.file_name().to_string_lossy().into_owned();
                    file.strip_prefix(&format!("{name}_"))?.strip_suffix(".jpg")?.parse().ok()
                })
                .collect();
            numbers.sort_unstable();
            images.extend(numbers.into_iter().take(n).map(|number| ImageId { name: name.clone(), number }));
        }
    }
    let images: Vec<ImageId> = images.into_iter().collect();

    let parameters = serde_json::json!({
        "width": WIDTH,
        "height": HEIGHT,
        "face_height_px": FACE_HEIGHT,
        "face_height_per_eye_to_mouth": FACE_HEIGHT_PER_EYE_TO_MOUTH,
        "eye_midpoint": [EYE_X, EYE_Y],
        "geometry": "similarity transform (eyes levelled), bilinear sampling, border pixels replicated",
        "grey": "ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B), rounded",
        "format": "JPEG 2000 (JP2), opj_compress -r <ratio>",
        "target_bytes": target,
        "ratio": ratio,
        "encoder_version": encoder_version,
        "detector": detector,
        "detector_sha256": detector_sha256,
        "subject": format!(
            "the most prominent face (size times closeness to the centre); skipped when there is none or a second \
             face is at least {COMPARABLE_FACE_RATIO} as prominent"
        ),
    });
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let protocol_path = args.out.join(PROTOCOL_FILE);
    if !args.force {
        if let Some(previous) = read_protocol(&args.out)? {
            if previous.get("parameters") != Some(&parameters) {
                bail!(
                    "{} was made with other parameters; use another --out, or --force to convert every image again",
                    protocol_path.display()
                );
            }
        }
    }

    let build = |a: &EngineArgs| a.build(Models::from_dir(&a.models)?, danger::uncalibrated_policy(metric, 0.0));
    let job = Job { out: &args.out, lfw: &args.lfw, encoder: &args.encoder, ratio, target, force: args.force };
    let results = run_workers(&engine_args, args.jobs, &images, &build, &job)?;

    let mut sizes = Vec::new();
    let (mut written, mut present, mut no_face, mut several, mut unusable) = (0, 0, 0, 0, 0);
    for r in &results {
        match r {
            Converted::Written(n) => {
                written += 1;
                sizes.push(*n);
            }
            Converted::Present(n) => {
                present += 1;
                sizes.push(*n);
            }
            Converted::NoFace => no_face += 1,
            Converted::SeveralFaces => several += 1,
            Converted::Unusable => unusable += 1,
        }
    }
    sizes.sort_unstable();
    let median = if sizes.is_empty() {
        0.0
    } else if sizes.len() % 2 == 1 {
        sizes[sizes.len() / 2] as f64
    } else {
        (sizes[sizes.len() / 2 - 1] + sizes[sizes.len() / 2]) as f64 / 2.0
    };
    let (min, max) = (sizes.first().copied().unwrap_or(0), sizes.last().copied().unwrap_or(0));
    let summary = serde_json::json!({
        "images": images.len(),
        "converted": written,
        "already_present": present,
        "without_subject_face": no_face + several + unusable,
        "no_face": no_face,
        "several_faces": several,
        "unusable_landmarks": unusable,
        "bytes_median": median,
        "bytes_min": min,
        "bytes_max": max,
    });
    let protocol = serde_json::json!({
        "protocol": "honnin card-like",
        "purpose": "card-like references (as on the My Number card chip: small, monochrome JPEG 2000) made from LFW \
                    images, for measuring card-like reference vs colour live image; derived from LFW: never commit",
        "command": format!("honnin-lab card-like --out <dir> --bytes {target} --pairs {}", args.pairs.join(" --pairs ")),
        "pairs_files": args.pairs,
        "parameters": parameters,
        "result": summary,
    });
    write_atomically(&protocol_path, (serde_json::to_string_pretty(&protocol)? + "\n").as_bytes())?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        let mut report = summary;
        report["out"] = serde_json::json!(args.out);
        report["seconds"] = serde_json::json!(seconds);
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "card-like: {} images of {}: {written} converted, {present} already present, {} skipped without a \
             subject face ({no_face} no face, {several} several faces, {unusable} unusable landmarks)",
            images.len(),
            args.pairs.join(", "),
            no_face + several + unusable,
        );
        outln!("JPEG 2000 size: median {median} bytes, min {min}, max {max} (target {target}, ratio {ratio})");
        outln!("written under {} ({PROTOCOL_FILE})", args.out.display());
        outln!("({seconds:.1} s)");
    }
    Ok(())
}

/// The protocol file of a card-like folder, if there is one.
fn read_protocol(dir: &Path) -> Result<Option<serde_json::Value>> {
    let path = dir.join(PROTOCOL_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Most bytes read from a card-like file (they are about 4 KB).
const MAX_CARD_LIKE_BYTES: u64 = 1 << 20;

/// The bytes of a card-like reference, `None` if the file does not exist.
pub(crate) fn read_card_like(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>> {
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

/// The card-like folder's protocol record; refuses a folder `honnin-lab card-like` did not make.
pub(crate) fn card_like_protocol(dir: &Path) -> Result<serde_json::Value> {
    read_protocol(dir)?.with_context(|| {
        format!(
            "{} has no {}: make the card-like references first (honnin-lab card-like --out {})",
            dir.display(),
            PROTOCOL_FILE,
            dir.display()
        )
    })
}

/// The encoder's version (`opj_compress -h` names the openjp2 library it was
/// built with; otherwise its first line), or a clear error when it is missing.
fn encoder_version(encoder: &Path) -> Result<String> {
    let output = match Command::new(encoder).arg("-h").output() {
        Ok(o) => o,
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "JPEG 2000 encoder {} not found: install Debian's libopenjp2-tools (apt-get install libopenjp2-tools, \
             or python3 tools/setup.py --dev), or name opj_compress with --encoder",
            encoder.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("running {} -h", encoder.display())),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // "It has been compiled against openjp2 library v2.5.0." gives "openjp2 library v2.5.0".
    let version = lines.iter().find_map(|l| l.find("openjp2 library v").map(|at| l[at..].trim_end_matches('.')));
    Ok(version.or(lines.first().copied()).unwrap_or("unknown").to_string())
}

/// What every worker needs to convert one image.
struct Job<'a> {
    out: &'a Path,
    lfw: &'a Path,
    encoder: &'a Path,
    ratio: f64,
    target: u32,
    force: bool,
}

/// Converts every image with `jobs` workers, each with its own engine and
/// private temporary folder; results in the order of `images`.
fn run_workers(
    args: &EngineArgs,
    jobs: usize,
    images: &[ImageId],
    build: &(dyn Fn(&EngineArgs) -> Result<Engine> + Sync),
    job: &Job<'_>,
) -> Result<Vec<Converted>> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let jobs = jobs.clamp(1, 16);
    type Indexed = Vec<(usize, Converted)>;
    let results: Vec<Result<Indexed>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|worker| {
                let (next, failed) = (&next, &failed);
                scope.spawn(move || -> Result<Indexed> {
                    let work = || -> Result<Indexed> {
                        let engine = build(args)?;
                        let tmp = PrivateDir::new(worker)?;
                        let mut out = Vec::new();
                        while !failed.load(Ordering::Relaxed) {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(id) = images.get(i) else { break };
                            let converted = convert(&engine, id, job, &tmp.0)
                                .with_context(|| format!("{}", id.path(job.lfw).display()))?;
                            out.push((i, converted));
                        }
                        Ok(out)
                    };
                    let r = work();
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    r
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| bail!("worker panicked"))).collect()
    });
    let mut all: Vec<Option<Converted>> = (0..images.len()).map(|_| None).collect();
    for r in results {
        for (i, c) in r? {
            all[i] = Some(c);
        }
    }
    all.into_iter().map(|c| c.context("an image was left unconverted")).collect()
}

/// A temporary folder only this user can enter, removed with its contents on drop.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn new(worker: usize) -> Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!("honnin-card-like-{}-{worker}-{nanos}", std::process::id()));
        // `create` (not `create_all`) fails if the name exists: never reuse a folder someone else made.
        std::fs::DirBuilder::new().mode(0o700).create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn convert(engine: &Engine, id: &ImageId, job: &Job<'_>, tmp: &Path) -> Result<Converted> {
    let dest = id.card_like_path(job.out);
    if !job.force {
        if let Ok(meta) = std::fs::metadata(&dest) {
            return Ok(Converted::Present(meta.len()));
        }
    }
    let (width, height, rgb) = decode_rgb(&id.path(job.lfw))?;
    let luma = Zeroizing::new(luma_plane(&rgb));
    let frame = LiveFrame::from_rgb(width, height, rgb)?; // takes the buffer; wiped when dropped
                                                          // The subject as the engine chooses it; its landmarks are wiped after use.
    let subject = engine.subject(&frame)?;
    drop(frame);
    let geometry = match subject {
        Ok(mut face) => {
            let geometry = PortraitGeometry::from_landmarks(&face.landmarks);
            face.zeroize();
            geometry
        }
        Err(Reason::NoFace(_)) => return Ok(Converted::NoFace),
        Err(Reason::MultipleFaces(_)) => return Ok(Converted::SeveralFaces),
        Err(_) => return Ok(Converted::Unusable),
    };
    let Some(geometry) = geometry else { return Ok(Converted::Unusable) };
    let portrait = Zeroizing::new(render(&luma, width as usize, height as usize, &geometry));
    drop(luma);
    let jp2 = encode(&portrait, job, tmp)?;
    drop(portrait);
    let written = std::fs::create_dir_all(dest.parent().unwrap_or(job.out))
        .with_context(|| format!("creating the folder of {}", dest.display()))
        .and_then(|()| write_atomically(&dest, &jp2));
    written.map(|()| Converted::Written(jp2.len() as u64))
}

/// Decodes an image to RGB8 with the `image` crate, wiping any intermediate buffer.
fn decode_rgb(path: &Path) -> Result<(u32, u32, Vec<u8>)> {
    use image::{DynamicImage, ImageDecoder, ImageReader};
    let reader = ImageReader::open(path)?.with_guessed_format()?;
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    if orientation != image::metadata::Orientation::NoTransforms {
        // LFW's JPEGs carry none; turning would leave unwiped copies behind.
        bail!("an image without an EXIF orientation, got {orientation:?}");
    }
    let image = DynamicImage::from_decoder(decoder)?;
    let (width, height) = (image.width(), image.height());
    let rgb = match image {
        DynamicImage::ImageRgb8(buffer) => buffer.into_raw(),
        DynamicImage::ImageLuma8(buffer) => {
            let grey = Zeroizing::new(buffer.into_raw());
            grey.iter().flat_map(|&g| [g, g, g]).collect()
        }
        other => bail!("an 8-bit RGB or grey JPEG, got {:?}", other.color()),
    };
    Ok((width, height, rgb))
}

/// ITU-R BT.601 luma of every pixel, unrounded (rounded only after sampling,
/// so that interpolating luma equals interpolating RGB and then taking luma).
fn luma_plane(rgb: &[u8]) -> Vec<f32> {
    rgb.chunks_exact(3).map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])).collect()
}

/// Maps portrait pixels to source coordinates: a rotation about the eye
/// midpoint that levels the eyes, and a scale that makes the face
/// [`FACE_HEIGHT`] px tall.
///
/// Coordinates: the detector's landmarks are in pixel-index units (pixel i's
/// centre at i). In the portrait, the eye midpoint sits at ([`EYE_X`],
/// [`EYE_Y`]) measured from the image's top-left corner, so portrait pixel u
/// (centre at u + 0.5) is (u + 0.5 - EYE_X) / scale source pixels from the eye
/// midpoint along the eye line.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PortraitGeometry {
    /// Eye midpoint in the source image.
    eyes: [f32; 2],
    /// Cosine and sine of the eye line's angle in the source image.
    cos: f32,
    sin: f32,
    /// Source pixels per portrait pixel.
    step: f32,
}

impl PortraitGeometry {
    /// From YuNet's five landmarks (image-left eye, image-right eye, nose,
    /// image-left and image-right mouth corner). None when the eyes or the
    /// eye-to-mouth distance are under a pixel, or not finite.
    fn from_landmarks(l: &[[f32; 2]; 5]) -> Option<Self> {
        let eyes = [(l[0][0] + l[1][0]) / 2.0, (l[0][1] + l[1][1]) / 2.0];
        let mouth = [(l[3][0] + l[4][0]) / 2.0, (l[3][1] + l[4][1]) / 2.0];
        let (ex, ey) = (l[1][0] - l[0][0], l[1][1] - l[0][1]);
        let eye_distance = ex.hypot(ey);
        let eye_to_mouth = (mouth[0] - eyes[0]).hypot(mouth[1] - eyes[1]);
        let usable = |d: f32| d.is_finite() && d >= 1.0;
        if !usable(eye_distance) || !usable(eye_to_mouth) {
            return None;
        }
        let face_height = FACE_HEIGHT_PER_EYE_TO_MOUTH as f32 * eye_to_mouth;
        Some(Self { eyes, cos: ex / eye_distance, sin: ey / eye_distance, step: face_height / FACE_HEIGHT as f32 })
    }

    /// Source coordinates (pixel-index units) of portrait pixel (u, v).
    fn source(&self, u: u32, v: u32) -> [f32; 2] {
        let (px, py) = ((u as f32 + 0.5 - EYE_X as f32) * self.step, (v as f32 + 0.5 - EYE_Y as f32) * self.step);
        [self.eyes[0] + self.cos * px - self.sin * py, self.eyes[1] + self.sin * px + self.cos * py]
    }
}

/// Renders the [`WIDTH`] x [`HEIGHT`] grey portrait from a luma plane:
/// bilinear sampling, coordinates outside the source clamped to its border
/// (the border pixels are replicated), values rounded to 8 bits.
fn render(luma: &[f32], width: usize, height: usize, g: &PortraitGeometry) -> Vec<u8> {
    let mut out = Vec::with_capacity((WIDTH * HEIGHT) as usize);
    let (max_x, max_y) = ((width - 1) as f32, (height - 1) as f32);
    for v in 0..HEIGHT {
        for u in 0..WIDTH {
            let [x, y] = g.source(u, v);
            let (x, y) = (x.clamp(0.0, max_x), y.clamp(0.0, max_y));
            let (x0, y0) = (x.floor() as usize, y.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
            let (fx, fy) = (x - x0 as f32, y - y0 as f32);
            let at = |xx: usize, yy: usize| luma[yy * width + xx];
            let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
            let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
            out.push((top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// Encodes the portrait with opj_compress through a PGM in the worker's private
/// folder (deleted afterwards) and returns the JP2 bytes.
fn encode(portrait: &[u8], job: &Job<'_>, tmp: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let (pgm, jp2) = (tmp.join("in.pgm"), tmp.join("out.jp2"));
    let header = format!("P5\n{WIDTH} {HEIGHT}\n255\n");
    let mut file = Zeroizing::new(Vec::with_capacity(header.len() + portrait.len()));
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(portrait);
    let ran = std::fs::write(&pgm, &*file).with_context(|| format!("writing {}", pgm.display())).and_then(|()| {
        Command::new(job.encoder)
            .arg("-i")
            .arg(&pgm)
            .arg("-o")
            .arg(&jp2)
            .arg("-r")
            .arg(job.ratio.to_string())
            .output()
            .with_context(|| format!("running {}", job.encoder.display()))
    });
    let _ = std::fs::remove_file(&pgm);
    let bytes = std::fs::read(&jp2).map(Zeroizing::new);
    let _ = std::fs::remove_file(&jp2);
    let ran = ran?;
    if !ran.status.success() {
        let stderr = String::from_utf8_lossy(&ran.stderr);
        let stdout = String::from_utf8_lossy(&ran.stdout);
        bail!("{} failed ({}): {} {}", job.encoder.display(), ran.status, stderr.trim(), stdout.trim());
    }
    let bytes = bytes.with_context(|| format!("reading the encoder's output {}", jp2.display()))?;
    // The rate control aims at the codestream; the JP2 boxes add about 100 bytes.
    let (low, high) = (u64::from(job.target) / 2, u64::from(job.target) + u64::from(job.target) / 10);
    let len = bytes.len() as u64;
    if !(low..=high).contains(&len) || !bytes.starts_with(&JP2_SIGNATURE) {
        bail!("the encoder gave {len} bytes; expected a JP2 file of {low} to {high} bytes");
    }
    Ok(bytes)
}

/// The JP2 signature box.
const JP2_SIGNATURE: [u8; 12] = [0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];

#[cfg(test)]
mod tests {
    use super::*;

    fn landmarks(left_eye: [f32; 2], right_eye: [f32; 2], mouth_y: f32) -> [[f32; 2]; 5] {
        let cx = (left_eye[0] + right_eye[0]) / 2.0;
        [left_eye, right_eye, [cx, (left_eye[1] + mouth_y) / 2.0], [cx - 10.0, mouth_y], [cx + 10.0, mouth_y]]
    }

    #[test]
    fn the_eye_midpoint_lands_at_its_place_and_the_face_at_its_height() {
        // Level eyes 40 px apart at y = 100, mouth 38 px below: face height 2.6 * 38 = 98.8 source px.
        let g = PortraitGeometry::from_landmarks(&landmarks([100.0, 100.0], [140.0, 100.0], 138.0)).unwrap();
        let step = 2.6 * 38.0 / FACE_HEIGHT as f32;
        assert!((g.step - step).abs() < 1e-5);
        // The eye midpoint is the corner between portrait pixels (79, 89) and (80, 90).
        let [x, y] = g.source(79, 89);
        assert!((x - (120.0 - 0.5 * step)).abs() < 1e-4 && (y - (100.0 - 0.5 * step)).abs() < 1e-4);
        // FACE_HEIGHT portrait pixels down is 98.8 source pixels down.
        let [x2, y2] = g.source(79, 89 + FACE_HEIGHT as u32);
        assert!((x2 - x).abs() < 1e-4 && (y2 - y - 98.8).abs() < 1e-3);
    }

    #[test]
    fn tilted_eyes_are_levelled() {
        // Eye line at 30 degrees: moving right along a portrait row follows it.
        let (c, s) = (30f32.to_radians().cos(), 30f32.to_radians().sin());
        let l = landmarks([100.0, 100.0], [100.0 + 40.0 * c, 100.0 + 40.0 * s], 150.0);
        let g = PortraitGeometry::from_landmarks(&l).unwrap();
        let ([x0, y0], [x1, y1]) = (g.source(10, 50), g.source(110, 50));
        assert!(((y1 - y0) / (x1 - x0) - s / c).abs() < 1e-4);
        // and moving down a column goes perpendicular to it.
        let [x2, y2] = g.source(10, 150);
        assert!(((x2 - x0) * c + (y2 - y0) * s).abs() < 1e-3);
    }

    #[test]
    fn degenerate_landmarks_are_refused() {
        assert!(PortraitGeometry::from_landmarks(&landmarks([100.0, 100.0], [100.2, 100.0], 140.0)).is_none());
        assert!(PortraitGeometry::from_landmarks(&landmarks([100.0, 100.0], [140.0, 100.0], 100.0)).is_none());
        assert!(PortraitGeometry::from_landmarks(&landmarks([f32::NAN, 100.0], [140.0, 100.0], 140.0)).is_none());
    }

    #[test]
    fn rendering_interpolates_and_replicates_the_border() {
        // A 4x1 ramp 0, 100, 200, 250 seen at scale 1 with the eyes at its pixel 1.
        let luma = [0.0, 100.0, 200.0, 250.0];
        let g = PortraitGeometry { eyes: [1.0, 0.0], cos: 1.0, sin: 0.0, step: 1.0 };
        let out = render(&luma, 4, 1, &g);
        let row = &out[..WIDTH as usize];
        // Portrait pixel 79 is 0.5 px left of the eye midpoint: between 0 and 100.
        assert_eq!(row[79], 50);
        assert_eq!(row[80], 150);
        assert_eq!(row[81], 225);
        assert!(row[..78].iter().all(|&p| p == 0) && row[83..].iter().all(|&p| p == 250));
        // Every row is the same (one source row, replicated).
        assert!(out.chunks(WIDTH as usize).all(|r| r == row));
    }

    #[test]
    fn luma_is_bt601() {
        let l = luma_plane(&[255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
        assert_eq!(l.iter().map(|v| v.round() as u8).collect::<Vec<_>>(), vec![76, 150, 29, 18]);
    }
}
