//! The model manifest: which ONNX files the engine runs, where they come from,
//! what they expect, and the sha256 each must have.
//!
//! `models/manifest.json` is the single source of truth. A recognizer is fully
//! described by it (input tensor, colour order, normalisation, alignment template,
//! score metric), so another recognizer can be plugged in by editing the manifest,
//! without code changes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Largest model file accepted (the dlib recognizer is 22 MB).
const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// Largest manifest or calibration file accepted.
pub(crate) const MAX_TEXT_BYTES: u64 = 1024 * 1024;

/// How two templates are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Euclidean distance of the raw embeddings; lower means more alike.
    Euclidean,
    /// Cosine similarity; higher means more alike.
    Cosine,
}

/// Channel order a model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Colour {
    Rgb,
    Bgr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InputSpec {
    pub(crate) name: String,
    /// NCHW; -1 marks a dynamic dimension.
    pub(crate) shape: [i64; 4],
    pub(crate) colour: Colour,
    /// Per channel (in the model's channel order): `(value - mean) * scale`.
    pub(crate) mean: [f32; 3],
    pub(crate) scale: [f32; 3],
    #[serde(default)]
    pub(crate) note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputSpec {
    pub(crate) name: String,
    pub(crate) shape: [i64; 2],
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlignmentSpec {
    pub(crate) size: [u32; 2],
    /// Five points: image-left eye, image-right eye, nose, image-left and image-right mouth corner.
    pub(crate) template: [[f32; 2]; 5],
    /// How the similarity transform is fitted to the five points.
    #[serde(default)]
    pub(crate) fit: AlignmentFit,
}

/// How landmarks are fitted onto the alignment template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignmentFit {
    /// Least squares over all five points.
    #[default]
    LeastSquares,
    /// Least squares over the inliers of a least-median-of-squares two-point fit.
    Lmeds,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DetectorInputSize {
    /// Any size that is a multiple of `multiple`; frames are downscaled so the longer side is at most `max_side`.
    Dynamic { multiple: u32, max_side: u32 },
    /// One fixed size; frames are letterboxed into it.
    Fixed([u32; 2]),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetectorSpec {
    pub(crate) kind: String,
    pub(crate) strides: Vec<u32>,
    pub(crate) size: DetectorInputSize,
    pub(crate) score_threshold: f32,
    pub(crate) nms_iou: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    Detector,
    Recognizer,
    /// Presentation-attack detection.
    Pad,
}

/// One model as the manifest describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelEntry {
    pub(crate) id: String,
    pub(crate) role: Role,
    pub(crate) file: String,
    pub(crate) sha256: String,
    /// The file's size: the most bytes read from it (a link to `/dev/zero`
    /// or a file grown past it is refused before hashing).
    pub(crate) bytes: u64,
    pub(crate) licence: String,
    pub(crate) source: String,
    #[serde(default)]
    pub(crate) url: Option<String>,
    #[serde(default)]
    pub(crate) committed: bool,
    pub(crate) input: InputSpec,
    #[serde(default)]
    pub(crate) output: Option<OutputSpec>,
    #[serde(default)]
    pub(crate) alignment: Option<AlignmentSpec>,
    #[serde(default)]
    pub(crate) metric: Option<Metric>,
    #[serde(default)]
    pub(crate) detector: Option<DetectorSpec>,
    #[serde(default)]
    pub(crate) pad: Option<PadSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    format: String,
    detector: String,
    recognizer: String,
    /// The presentation-attack detection models run together, when all of
    /// their files are present.
    #[serde(default)]
    pad: Vec<String>,
    models: Vec<ModelEntry>,
}

/// A model file whose bytes matched the manifest's sha256.
pub(crate) struct VerifiedModel {
    pub(crate) entry: ModelEntry,
    pub(crate) bytes: Vec<u8>,
}

/// Refuses a partial set of PAD model files: a terminal that lost one of
/// them must not silently run without presentation-attack detection.
fn check_pad_files(entries: &[ModelEntry], present: &[bool]) -> Result<()> {
    if present.iter().all(|&p| p) || !present.iter().any(|&p| p) {
        return Ok(());
    }
    let (there, missing): (Vec<_>, Vec<_>) = entries.iter().zip(present).partition(|(_, &p)| p);
    let names = |list: Vec<(&ModelEntry, &bool)>| list.iter().map(|(e, _)| e.file.clone()).collect::<Vec<_>>();
    Err(Error::manifest(
        "pad",
        format!(
            "all of the PAD model files or none; {:?} present, {:?} missing (place them all, or remove them all to run without PAD)",
            names(there),
            names(missing)
        ),
    ))
}

/// The models an engine will run, read from a manifest and verified by sha256.
///
/// Built with [`Models::from_dir`]; handed to [`Engine::builder`](crate::Engine::builder).
pub struct Models {
    pub(crate) detector: VerifiedModel,
    pub(crate) recognizer: VerifiedModel,
    /// The PAD models; empty when the manifest names none or their files are absent.
    pub(crate) pad: Vec<VerifiedModel>,
    origin: Origin,
}

/// Where a [`Models`] set was read from.
#[derive(Debug, Clone)]
enum Origin {
    Dir(PathBuf),
    Memory,
}

/// One model file handed to [`Models::from_memory`] as bytes (for example
/// embedded in firmware), named as the manifest's `file` field names it.
#[derive(Clone, Copy)]
pub struct ModelBytes<'a> {
    /// The file name the manifest gives the model.
    pub file: &'a str,
    /// The file's contents; checked against the manifest's sha256 before use.
    pub bytes: &'a [u8],
}

impl std::fmt::Debug for ModelBytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModelBytes({:?}, {} bytes)", self.file, self.bytes.len())
    }
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("origin", &self.origin)
            .field("detector", &self.detector.entry.id)
            .field("recognizer", &self.recognizer.entry.id)
            .finish()
    }
}

/// What [`Models::describe`] reports about one loaded model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// Manifest id.
    pub id: String,
    /// `detector` or `recognizer`.
    pub role: String,
    /// Path the bytes were read from; `None` when they were handed over in
    /// memory ([`Models::from_memory`]).
    pub path: Option<PathBuf>,
    /// The sha256 the bytes were verified against (hex).
    pub sha256: String,
    /// Licence of the weights.
    pub licence: String,
    /// Where the file comes from.
    pub source: String,
    /// Size of the file in bytes.
    pub bytes: u64,
}

impl Models {
    /// Reads `dir/manifest.json` and loads the detector and recognizer it names
    /// as active, verifying each file's sha256 before anything else reads it.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::select(dir, None, None)
    }

    /// As [`Models::from_dir`], choosing the detector and/or recognizer by manifest id
    /// instead of the manifest's defaults.
    pub fn select(dir: impl AsRef<Path>, detector: Option<&str>, recognizer: Option<&str>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let manifest_path = dir.join("manifest.json");
        let bytes = crate::input::decode::read_bounded(&manifest_path, MAX_TEXT_BYTES)?;
        let manifest = ManifestFile::parse(&bytes, &manifest_path.display().to_string())?;
        let (detector, recognizer) = manifest.choose(detector, recognizer)?;
        let detector = detector.load(&dir)?;
        let recognizer = recognizer.load(&dir)?;
        // PAD runs when all of its files are there, each verified; none
        // there means no PAD, and only some is refused.
        let pad_entries = manifest.pad_entries()?;
        let present: Vec<bool> = pad_entries.iter().map(|e| dir.join(&e.file).is_file()).collect();
        check_pad_files(&pad_entries, &present)?;
        let pad = if present.iter().all(|&p| p) {
            pad_entries.into_iter().map(|e| e.load(&dir)).collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Self { detector, recognizer, pad, origin: Origin::Dir(dir) })
    }

    /// As [`Models::from_dir`], from bytes the caller holds instead of files:
    /// the manifest's text and the model files it names (for firmware that
    /// embeds its models). Each model's bytes are checked against the
    /// manifest's sha256 before anything else reads them, as from a directory.
    ///
    /// `files` needs only the detector and recognizer the manifest names as
    /// active; the PAD models are loaded when all of them are given (some of
    /// them only is refused); others are ignored. A name given twice is refused.
    pub fn from_memory(manifest: &[u8], files: &[ModelBytes<'_>]) -> Result<Self> {
        Self::select_from_memory(manifest, files, None, None)
    }

    /// As [`Models::from_memory`], choosing the detector and/or recognizer by
    /// manifest id instead of the manifest's defaults.
    pub fn select_from_memory(
        manifest: &[u8],
        files: &[ModelBytes<'_>],
        detector: Option<&str>,
        recognizer: Option<&str>,
    ) -> Result<Self> {
        if manifest.len() as u64 > MAX_TEXT_BYTES {
            return Err(Error::LimitExceeded { limit: "bytes", max: MAX_TEXT_BYTES, actual: manifest.len() as u64 });
        }
        for (i, a) in files.iter().enumerate() {
            if files[..i].iter().any(|b| b.file == a.file) {
                return Err(Error::InvalidArgument {
                    reason: format!("model files with distinct names; {:?} is given twice", a.file),
                });
            }
        }
        let manifest = ManifestFile::parse(manifest, "manifest (in memory)")?;
        let (detector, recognizer) = manifest.choose(detector, recognizer)?;
        let find = |entry: ModelEntry| -> Result<VerifiedModel> {
            let Some(file) = files.iter().find(|f| f.file == entry.file) else {
                return Err(Error::manifest(
                    entry.id.clone(),
                    format!("its file {:?} among the model files given in memory", entry.file),
                ));
            };
            let max = entry.bytes.min(MAX_MODEL_BYTES);
            if file.bytes.len() as u64 > max {
                return Err(Error::LimitExceeded { limit: "bytes", max, actual: file.bytes.len() as u64 });
            }
            entry.verify(file.bytes.to_vec())
        };
        let detector = find(detector)?;
        let recognizer = find(recognizer)?;
        let pad_entries = manifest.pad_entries()?;
        let present: Vec<bool> = pad_entries.iter().map(|e| files.iter().any(|f| f.file == e.file)).collect();
        check_pad_files(&pad_entries, &present)?;
        let pad = if present.iter().all(|&p| p) {
            pad_entries.into_iter().map(find).collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Self { detector, recognizer, pad, origin: Origin::Memory })
    }

    /// The loaded models, their verified hashes and licences.
    pub fn describe(&self) -> Vec<ModelInfo> {
        [&self.detector, &self.recognizer]
            .into_iter()
            .chain(&self.pad)
            .map(|m| ModelInfo {
                id: m.entry.id.clone(),
                role: format!("{:?}", m.entry.role).to_lowercase(),
                path: match &self.origin {
                    Origin::Dir(dir) => Some(dir.join(&m.entry.file)),
                    Origin::Memory => None,
                },
                sha256: m.entry.sha256.clone(),
                licence: m.entry.licence.clone(),
                source: m.entry.source.clone(),
                bytes: m.bytes.len() as u64,
            })
            .collect()
    }

    /// Whether the presentation-attack detection models the manifest names
    /// were loaded (all of their files present and verified).
    pub fn has_pad(&self) -> bool {
        !self.pad.is_empty()
    }

    /// Manifest id of the recognizer.
    pub fn recognizer_id(&self) -> &str {
        &self.recognizer.entry.id
    }

    /// Verified sha256 of the recognizer file (hex); calibrations are bound to it.
    pub fn recognizer_sha256(&self) -> &str {
        &self.recognizer.entry.sha256
    }

    /// Fingerprint (sha256, hex) of everything that shapes a comparison score:
    /// both models' file hashes, the manifest settings that govern how they
    /// are fed and read (tensors, colour order, normalisation, alignment
    /// template and fit, output, metric, detector sizes and thresholds), and
    /// whether templates average the mirror image. Calibrations and templates
    /// carry it; a policy or template from another pipeline is refused.
    pub fn pipeline_sha256(&self, mirror_averaging: bool) -> String {
        // Structs and tuples serialise in declaration order, so the bytes hashed
        // do not depend on map ordering features of serde_json.
        #[derive(Serialize)]
        struct Settings<'a> {
            sha256: String,
            input: (&'a str, [i64; 4], Colour, [f32; 3], [f32; 3]),
            output: Option<(&'a str, [i64; 2])>,
            alignment: Option<([u32; 2], [[f32; 2]; 5], AlignmentFit)>,
            metric: Option<Metric>,
            detector: Option<(&'a str, &'a [u32], DetectorInputSize, f32, f32)>,
        }
        #[derive(Serialize)]
        struct Pipeline<'a> {
            format: &'static str,
            detector: Settings<'a>,
            recognizer: Settings<'a>,
            mirror_averaging: bool,
        }
        fn settings(e: &ModelEntry) -> Settings<'_> {
            Settings {
                sha256: e.sha256.to_ascii_lowercase(),
                input: (&e.input.name, e.input.shape, e.input.colour, e.input.mean, e.input.scale),
                output: e.output.as_ref().map(|o| (o.name.as_str(), o.shape)),
                alignment: e.alignment.as_ref().map(|a| (a.size, a.template, a.fit)),
                metric: e.metric,
                detector: e
                    .detector
                    .as_ref()
                    .map(|d| (d.kind.as_str(), d.strides.as_slice(), d.size, d.score_threshold, d.nms_iou)),
            }
        }
        let pipeline = Pipeline {
            // Bumped when the code changes how these settings shape a score.
            format: "honnin-pipeline/1",
            detector: settings(&self.detector.entry),
            recognizer: settings(&self.recognizer.entry),
            mirror_averaging,
        };
        let bytes = serde_json::to_vec(&pipeline).unwrap_or_default();
        hex(&Sha256::digest(&bytes))
    }

    /// How the recognizer's alignment fits landmarks onto its template.
    pub fn alignment_fit(&self) -> AlignmentFit {
        self.recognizer.entry.alignment.as_ref().map(|a| a.fit).unwrap_or_default()
    }

    /// Manifest id of the detector.
    pub fn detector_id(&self) -> &str {
        &self.detector.entry.id
    }

    /// The recognizer's score metric.
    pub fn metric(&self) -> Metric {
        self.recognizer.entry.metric.unwrap_or(Metric::Euclidean)
    }
}

impl ManifestFile {
    fn parse(bytes: &[u8], context: &str) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::manifest(context, "UTF-8 text"))?;
        let manifest: ManifestFile = serde_json::from_str(text).map_err(|e| Error::manifest(context, e.to_string()))?;
        if manifest.format != "honnin-models/1" {
            return Err(Error::manifest(context, format!("format \"honnin-models/1\", got {:?}", manifest.format)));
        }
        Ok(manifest)
    }

    /// The PAD model entries the manifest names, each checked for its role.
    fn pad_entries(&self) -> Result<Vec<ModelEntry>> {
        self.pad.iter().map(|id| self.entry(id, Role::Pad)).collect()
    }

    /// The detector and recognizer entries to load (the manifest's defaults
    /// unless others are named), each checked for its role.
    fn choose(&self, detector: Option<&str>, recognizer: Option<&str>) -> Result<(ModelEntry, ModelEntry)> {
        Ok((
            self.entry(detector.unwrap_or(&self.detector), Role::Detector)?,
            self.entry(recognizer.unwrap_or(&self.recognizer), Role::Recognizer)?,
        ))
    }

    /// The entry with this id, checked for its role and validated.
    fn entry(&self, id: &str, role: Role) -> Result<ModelEntry> {
        let entry = self
            .models
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| Error::manifest(id, "no model with this id in the manifest"))?;
        if entry.role != role {
            return Err(Error::manifest(
                id,
                format!("a {role:?} model, but the manifest lists it as {:?}", entry.role),
            ));
        }
        entry.validate()?;
        Ok(entry.clone())
    }
}

impl ModelEntry {
    /// Checks that the entry has what its role needs, before any file is read.
    fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(Error::manifest(self.id.clone(), reason));
        if self.bytes == 0 || self.bytes > MAX_MODEL_BYTES {
            return bad(format!("a file size (\"bytes\") between 1 and {MAX_MODEL_BYTES}, got {}", self.bytes));
        }
        if !is_sha256_hex(&self.sha256) {
            return bad("sha256 as 64 hex digits".into());
        }
        if self.file.contains('/') || self.file.contains('\\') || self.file.starts_with('.') {
            return bad(format!("a plain file name inside the model directory, got {:?}", self.file));
        }
        if !self.input.mean.iter().chain(&self.input.scale).all(|v| v.is_finite()) {
            return bad("finite mean and scale values".into());
        }
        let [_, channels, h, w] = self.input.shape;
        if channels != 3 {
            return bad(format!("an input with 3 channels, got {channels}"));
        }
        match self.role {
            Role::Recognizer => {
                let Some(alignment) = &self.alignment else {
                    return bad("an alignment template for a recognizer".into());
                };
                if i64::from(alignment.size[0]) != w || i64::from(alignment.size[1]) != h {
                    return bad(format!(
                        "alignment size {:?} equal to the input's width and height ({w}x{h})",
                        alignment.size
                    ));
                }
                if !(16..=1024).contains(&alignment.size[0]) || !(16..=1024).contains(&alignment.size[1]) {
                    return bad("an alignment size between 16 and 1024 pixels".into());
                }
                match &self.output {
                    Some(o) if (1..=8192).contains(&o.shape[1]) => {}
                    _ => return bad("an output of shape [N, D] with 1 <= D <= 8192".into()),
                }
                if self.metric.is_none() {
                    return bad("a score metric (euclidean or cosine)".into());
                }
            }
            Role::Pad => {
                let Some(pad) = &self.pad else {
                    return bad("PAD settings (crop_scale, live_index, classes)".into());
                };
                if !(1.0..=8.0).contains(&pad.crop_scale) || pad.classes < 2 || pad.live_index >= pad.classes {
                    return bad("a crop_scale between 1 and 8, and live_index below classes >= 2".into());
                }
                match &self.output {
                    Some(o) if o.shape[1] == pad.classes as i64 => {}
                    _ => return bad(format!("an output of shape [N, {}]", pad.classes)),
                }
                if h <= 0 || w <= 0 {
                    return bad("a fixed input height and width".into());
                }
            }
            Role::Detector => {
                let Some(det) = &self.detector else {
                    return bad("detector settings".into());
                };
                if det.kind != "yunet" {
                    return bad(format!("detector kind \"yunet\", got {:?}", det.kind));
                }
                if det.strides.is_empty() || det.strides.iter().any(|&s| s == 0 || s > 128) {
                    return bad("strides between 1 and 128".into());
                }
                match det.size {
                    DetectorInputSize::Fixed([fw, fh]) => {
                        if i64::from(fw) != w || i64::from(fh) != h || fw == 0 || fh == 0 || fw > 4096 || fh > 4096 {
                            return bad("a fixed size equal to the input shape, at most 4096".into());
                        }
                    }
                    DetectorInputSize::Dynamic { multiple, max_side } => {
                        if multiple == 0 || max_side < multiple || max_side > 4096 {
                            return bad("a dynamic size with 0 < multiple <= max_side <= 4096".into());
                        }
                    }
                }
                if !(0.0..=1.0).contains(&det.score_threshold) || !(0.0..=1.0).contains(&det.nms_iou) {
                    return bad("score_threshold and nms_iou between 0 and 1".into());
                }
            }
        }
        Ok(())
    }

    /// Reads the file and checks its sha256; the bytes are kept for ONNX Runtime.
    fn load(self, dir: &Path) -> Result<VerifiedModel> {
        let path = dir.join(&self.file);
        // At most the declared size: a larger file is refused before it is
        // read, a shorter one fails the hash below.
        let bytes = crate::input::decode::read_bounded(&path, self.bytes.min(MAX_MODEL_BYTES))?;
        self.verify(bytes)
    }

    /// Checks the bytes' sha256 against the manifest's; only then are they kept.
    fn verify(self, bytes: Vec<u8>) -> Result<VerifiedModel> {
        let actual = hex(&Sha256::digest(&bytes));
        if !actual.eq_ignore_ascii_case(&self.sha256) {
            return Err(Error::ModelIntegrity { model: self.id.clone(), expected: self.sha256.clone(), actual });
        }
        Ok(VerifiedModel { entry: self, bytes })
    }
}

/// Whether `s` is a sha256 in hex (64 hex digits, either case).
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the manifest says about a PAD model beyond its input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PadSpec {
    /// The face box is scaled about its centre by this factor before cropping.
    pub(crate) crop_scale: f32,
    /// Output index of the live-face probability.
    pub(crate) live_index: usize,
    /// Number of classes the output holds.
    pub(crate) classes: usize,
}
