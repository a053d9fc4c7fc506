//! The engine: owns the model sessions and the policy, runs the pipeline.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use crate::error::CalibrationError;
use crate::pipeline::template::{self as compare, Score};
use crate::decision::outcome::{Method, Outcome, PadCheck, Reason, Side};
use crate::decision::pad_policy::PadPolicy;
use crate::decision::policy::{Binding, Policy};
use crate::input::decode::{CardPhoto, LiveFrame, Pixels, ReferenceKind};
use crate::pipeline::detect::{Detection, Detector};
use crate::pipeline::embed::{Recognizer, Template};
use crate::error::{Error, Result};
use crate::pipeline::models::{ModelInfo, Models};
use crate::pipeline::pad::PadModel;
use crate::pipeline::quality::{FrameQuality, QualityGate, QualityIssue};
use crate::pipeline::runtime::{self, Threading};
use zeroize::Zeroizing;

/// A second face at least this prominent, relative to the most prominent one,
/// makes the subject ambiguous.
///
/// Prominence is face size (square root of box area) times centrality
/// (1 at the frame's centre, falling linearly to 0 at its corners): the person
/// being checked faces the camera from the middle of the frame, a bystander
/// further back or at the edge shows a clearly less prominent face and is
/// ignored, while two people side by side are comparable.
pub const COMPARABLE_FACE_RATIO: f32 = 0.75;

/// Type-state marker: the builder still needs a [`Policy`].
#[derive(Debug)]
pub struct NeedsPolicy;

/// Type-state marker: the builder has a [`Policy`] and can build.
#[derive(Debug)]
pub struct HasPolicy(Policy);

/// Builds an [`Engine`]. Obtained from [`Engine::builder`]; `build` exists only
/// once a policy has been given, so an engine without a calibrated threshold
/// does not compile.
#[derive(Debug)]
pub struct EngineBuilder<State> {
    models: Models,
    state: State,
    onnxruntime: Option<PathBuf>,
    onnxruntime_sha256: Option<String>,
    threading: Threading,
    mirror_averaging: bool,
    pad_policy: Option<PadPolicy>,
    _state: PhantomData<State>,
}

impl<S> EngineBuilder<S> {
    /// Path of the ONNX Runtime shared library (`libonnxruntime.so.1.31.1`).
    /// Without it, `HONNIN_ORT_LIB` is read; without either, `build` fails with
    /// [`Error::Runtime`].
    pub fn onnxruntime(mut self, path: impl Into<PathBuf>) -> Self {
        self.onnxruntime = Some(path.into());
        self
    }

    /// Require the ONNX Runtime library file to have this sha256 (hex) before it
    /// is loaded; a different file is refused with [`Error::Runtime`].
    /// [`PINNED_ONNXRUNTIME_SHA256`](crate::PINNED_ONNXRUNTIME_SHA256) is the
    /// hash of the library `tools/setup.py` installs.
    pub fn onnxruntime_sha256(mut self, sha256: impl Into<String>) -> Self {
        self.onnxruntime_sha256 = Some(sha256.into());
        self
    }

    /// Intra-op threads per model session (default: the number of CPUs, at
    /// most 2; the models are small and gain little from more). With spinning
    /// off, 2 threads cut the mirrored recognizer batch from about 12 to 7 ms
    /// on a 2-core machine; with spinning on, 2 threads were slower than 1.
    /// At most [`MAX_INTRA_THREADS`]; [`build`](EngineBuilder::build)
    /// refuses more (each model would start that many threads).
    pub fn intra_threads(mut self, threads: usize) -> Self {
        self.threading.intra_threads = threads.max(1);
        self
    }

    /// Let ONNX Runtime's worker threads spin while waiting (default off:
    /// spinning burns the cores the other stage needs).
    pub fn spinning(mut self, spin: bool) -> Self {
        self.threading.spinning = spin;
        self
    }

    #[doc(hidden)]
    /// ONNX Runtime as it comes: CPU memory arena and memory-pattern planning
    /// on, and its output buffers (boxes, landmarks, embeddings) freed without
    /// being wiped.
    ///
    /// Only for the memory-forensics baseline, which measures what ONNX
    /// Runtime's own memory holds without honnin's settings.
    pub fn dangerous_onnxruntime_defaults(mut self, on: bool) -> Self {
        self.threading.ort_defaults = on;
        self
    }

    #[doc(hidden)]
    /// Load the models' graphs as they are, without rewriting `PRelu`
    /// (same results, slower PAD models and recognizer). For the benchmarks
    /// and the tests that compare the two.
    pub fn expand_prelu(mut self, on: bool) -> Self {
        self.threading.expand_prelu = on;
        self
    }

    /// Presentation-attack detection at this policy: every live image is
    /// checked before its face is compared, and one judged an attack gives
    /// [`Reason::PresentationAttackSuspected`] (a session offers the staff
    /// check). Needs the PAD models named by the manifest
    /// ([`Models::has_pad`]) and, for a calibrated policy, the same ones.
    /// Without this call no decision waits on PAD (the PAD models, when
    /// loaded, still serve [`Engine::liveness`]). When the PAD models are
    /// present, the CLI turns PAD on with the file `--pad-calibration` names
    /// (default `calibration/pad-minifasnet.json`) unless `--no-pad` is given,
    /// and the C API with [`PadCalibration::bundled`](crate::PadCalibration::bundled)
    /// unless its caller chooses otherwise.
    pub fn pad(mut self, policy: PadPolicy) -> Self {
        self.pad_policy = Some(policy);
        self
    }

    /// Average the template of the face with that of its mirror image
    /// (default on: more accurate, about twice the recognizer time).
    /// The policy's calibration must have been made with the same setting.
    pub fn mirror_averaging(mut self, on: bool) -> Self {
        self.mirror_averaging = on;
        self
    }
}

impl EngineBuilder<NeedsPolicy> {
    /// The decision policy, normally [`Policy::from_calibration`].
    pub fn policy(self, policy: Policy) -> EngineBuilder<HasPolicy> {
        EngineBuilder {
            models: self.models,
            state: HasPolicy(policy),
            onnxruntime: self.onnxruntime,
            onnxruntime_sha256: self.onnxruntime_sha256,
            threading: self.threading,
            mirror_averaging: self.mirror_averaging,
            pad_policy: self.pad_policy,
            _state: PhantomData,
        }
    }
}

impl EngineBuilder<HasPolicy> {
    /// Loads ONNX Runtime, checks the policy against the models, and builds one
    /// session per model (reused for every verification).
    pub fn build(self) -> Result<Engine> {
        if self.threading.intra_threads > MAX_INTRA_THREADS {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "at most {MAX_INTRA_THREADS} intra-op threads per model, got {}",
                    self.threading.intra_threads
                ),
            });
        }
        let policy = self.state.0;
        let pipeline = self.models.pipeline_sha256(self.mirror_averaging);
        if let Some(binding) = &policy.binding {
            let wanted = Binding {
                recognizer_sha256: self.models.recognizer_sha256().to_ascii_lowercase(),
                detector: self.models.detector.entry.id.clone(),
                mirror_averaging: self.mirror_averaging,
                alignment_fit: self.models.alignment_fit(),
                pipeline_sha256: pipeline.clone(),
            };
            let differences = differences(&wanted, binding);
            if !differences.is_empty() {
                return Err(CalibrationError::OtherPipeline { differences }.into());
            }
        }
        if policy.metric() != self.models.metric() {
            let difference = format!(
                "metric: {} for this recognizer, {} in the policy",
                metric_word(self.models.metric()),
                metric_word(policy.metric())
            );
            return Err(CalibrationError::OtherPipeline { differences: vec![difference] }.into());
        }
        if let Some(pad) = &self.pad_policy {
            // The policy's fields come from a calibration checked on reading,
            // or from code: a NaN threshold would pass every frame as live.
            if !(0.0..=1.0).contains(&pad.threshold) {
                let problem = crate::error::Implausibility::OutOfRange {
                    field: "threshold",
                    value: pad.threshold.into(),
                    min: 0.0,
                    max: 1.0,
                };
                return Err(CalibrationError::Implausible { part: "pad".into(), problem }.into());
            }
            let loaded: Vec<String> =
                self.models.pad.iter().map(|m| model_word(&m.entry.id, &m.entry.sha256)).collect();
            if let Some(bound) = &pad.models {
                let named: Vec<String> = bound.iter().map(|b| model_word(&b.id, &b.sha256)).collect();
                if named != loaded {
                    return Err(CalibrationError::OtherPadModels { loaded, named }.into());
                }
            } else if loaded.is_empty() {
                return Err(CalibrationError::OtherPadModels { loaded, named: vec!["any PAD model".into()] }.into());
            }
        }
        let env = runtime::environment(self.onnxruntime.as_deref(), self.onnxruntime_sha256.as_deref())?;
        let info = self.models.describe();
        let wipe_outputs = !self.threading.ort_defaults;
        let detector_session = runtime::session(&env, &self.models.detector, self.threading)?;
        let recognizer_session = runtime::session(&env, &self.models.recognizer, self.threading)?;
        let mut pad = Vec::with_capacity(self.models.pad.len());
        // One thread per PAD model: they run side by side (`run_pad`).
        let pad_threading = Threading { intra_threads: 1, ..self.threading };
        for model in &self.models.pad {
            let session = runtime::session(&env, model, pad_threading)?;
            pad.push(Mutex::new(PadModel::new(model.entry.clone(), session)?.wiping_outputs(wipe_outputs)));
        }
        let Models { detector, recognizer, .. } = self.models;
        Ok(Engine {
            detector: Mutex::new(Detector::new(detector.entry, detector_session)?.wiping_outputs(wipe_outputs)),
            recognizer: Mutex::new(
                Recognizer::new(
                    recognizer.entry,
                    recognizer_session,
                    if self.mirror_averaging { 2 } else { 1 },
                    &pipeline,
                )?
                .wiping_outputs(wipe_outputs),
            ),
            policy,
            mirror_averaging: self.mirror_averaging,
            pipeline_sha256: pipeline,
            info,
            pad,
            pad_policy: self.pad_policy,
            detector_runs: AtomicU64::new(0),
            recognizer_runs: AtomicU64::new(0),
            pad_runs: AtomicU64::new(0),
        })
    }
}

/// The most intra-op threads per model an engine takes (the CLI's
/// `--threads` and the C API's `intra_threads` have the same bound).
pub const MAX_INTRA_THREADS: usize = 64;

/// What differs between the engine's pipeline (`engine`) and the one a
/// calibration was made with, in words a deployer can act on.
fn differences(engine: &Binding, calibration: &Binding) -> Vec<String> {
    let short = |s: &str| s.get(..12).unwrap_or(s).to_string();
    let mut out = Vec::new();
    if engine.recognizer_sha256 != calibration.recognizer_sha256 {
        out.push(format!(
            "recognizer sha256: {}… loaded, {}… in the calibration",
            short(&engine.recognizer_sha256),
            short(&calibration.recognizer_sha256)
        ));
    }
    if engine.detector != calibration.detector {
        out.push(format!("detector: {} loaded, {} in the calibration", engine.detector, calibration.detector));
    }
    if engine.mirror_averaging != calibration.mirror_averaging {
        let word = |on: bool| if on { "on" } else { "off" };
        out.push(format!(
            "mirror averaging: {} in the engine, {} in the calibration",
            word(engine.mirror_averaging),
            word(calibration.mirror_averaging)
        ));
    }
    if engine.alignment_fit != calibration.alignment_fit {
        out.push(format!(
            "alignment fit: {:?} in the manifest, {:?} in the calibration",
            engine.alignment_fit, calibration.alignment_fit
        ));
    }
    if out.is_empty() && engine.pipeline_sha256 != calibration.pipeline_sha256 {
        out.push(format!(
            "pipeline fingerprint: {}… here, {}… in the calibration (a manifest setting of the detector or \
             recognizer differs: tensors, colour order, normalisation, alignment template or detector thresholds)",
            short(&engine.pipeline_sha256),
            short(&calibration.pipeline_sha256)
        ));
    }
    out
}

fn metric_word(metric: crate::pipeline::models::Metric) -> &'static str {
    match metric {
        crate::pipeline::models::Metric::Euclidean => "euclidean",
        crate::pipeline::models::Metric::Cosine => "cosine",
    }
}

fn model_word(id: &str, sha256: &str) -> String {
    format!("{id} ({}…)", sha256.get(..12).unwrap_or(sha256).to_ascii_lowercase())
}

/// A usable frame's template and, with a PAD policy, its liveness score.
pub(crate) type UsableFrame = (Template, Option<f32>);

/// What acquiring a template from one image gave.
#[derive(Debug)]
pub enum Acquisition {
    /// One subject face, embedded.
    Face(Template),
    /// No usable subject face.
    Inconclusive(Reason),
}

/// The card's reference, computed once and reused for every live frame.
///
/// Holds the card template (wiped on drop) or the reason there is none.
pub struct CardReference {
    acquired: Acquisition,
    kind: ReferenceKind,
}

impl std::fmt::Debug for CardReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.acquired {
            Acquisition::Face(_) => "template",
            Acquisition::Inconclusive(_) => "no template",
        };
        write!(f, "CardReference({:?}, {state}, contents hidden)", self.kind)
    }
}

impl CardReference {
    /// Colour or monochrome reference.
    pub fn kind(&self) -> ReferenceKind {
        self.kind
    }

    /// Why no comparison can be made with this card, if none can.
    pub fn unusable(&self) -> Option<Reason> {
        match self.acquired {
            Acquisition::Face(_) => None,
            Acquisition::Inconclusive(reason) => Some(reason),
        }
    }

    /// Whether a face template could be made from the card.
    pub fn has_template(&self) -> bool {
        matches!(self.acquired, Acquisition::Face(_))
    }
}

/// The verification engine: models, sessions and policy.
///
/// `Engine` is `Send + Sync`; each model session sits behind a mutex, so
/// concurrent calls take turns per stage.
pub struct Engine {
    detector: Mutex<Detector>,
    recognizer: Mutex<Recognizer>,
    policy: Policy,
    mirror_averaging: bool,
    /// [`Models::pipeline_sha256`] of the detector, recognizer and mirror setting.
    pipeline_sha256: String,
    info: Vec<ModelInfo>,
    /// The PAD models, when loaded (they score whether or not a PAD policy decides).
    pad: Vec<Mutex<PadModel>>,
    pad_policy: Option<PadPolicy>,
    detector_runs: AtomicU64,
    recognizer_runs: AtomicU64,
    pad_runs: AtomicU64,
}

/// How many times an engine has run each model since it was built.
///
/// The staff visual check runs none: a session's staff path leaves both
/// counts unchanged (a test checks it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModelRuns {
    /// Face detector runs.
    pub detector: u64,
    /// Recognizer runs (one per face embedded; the mirror image rides in the same batch).
    pub recognizer: u64,
    /// PAD runs (one per live face checked, all PAD models together).
    pub pad: u64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("models", &self.info.iter().map(|m| m.id.as_str()).collect::<Vec<_>>())
            .field("policy", &self.policy)
            .field("mirror_averaging", &self.mirror_averaging)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a session half-updated in a
    // way that matters here: a stage that panicked with a frame or chips in
    // its reused input tensor marked it dirty, and its next run wipes it first.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    /// Starts building an engine for `models`. A [`Policy`] is required before `build`.
    pub fn builder(models: Models) -> EngineBuilder<NeedsPolicy> {
        EngineBuilder {
            models,
            state: NeedsPolicy,
            onnxruntime: None,
            onnxruntime_sha256: None,
            threading: Threading {
                intra_threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(2)),
                spinning: false,
                ort_defaults: false,
                expand_prelu: true,
            },
            mirror_averaging: true,
            pad_policy: None,
            _state: PhantomData,
        }
    }

    /// Compares the card photo with a live frame.
    pub fn verify(&self, card: &CardPhoto, live: &LiveFrame) -> Result<Outcome> {
        let started = Instant::now();
        let reference = self.card_reference(card)?;
        let card_template = started.elapsed();
        let mut outcome = self.verify_reference(&reference, live)?;
        outcome.timings.card_template = card_template;
        Ok(outcome)
    }

    /// Computes the card's template once, for use with [`Engine::verify_reference`].
    ///
    /// When the policy has no threshold for this kind of card photo (a grey
    /// photo and a colour-only calibration), no model runs and every
    /// verification against it is inconclusive with [`Reason::NotCalibrated`].
    pub fn card_reference(&self, card: &CardPhoto) -> Result<CardReference> {
        let kind = card.kind();
        if self.policy.threshold(kind).is_none() {
            return Ok(CardReference { acquired: Acquisition::Inconclusive(Reason::NotCalibrated(kind)), kind });
        }
        Ok(CardReference { acquired: self.acquire(&card.pixels, Side::Card)?, kind })
    }

    /// Compares a prepared card reference with a live frame.
    pub fn verify_reference(&self, card: &CardReference, live: &LiveFrame) -> Result<Outcome> {
        if let Some(reason) = card.unusable() {
            return Ok(Outcome::inconclusive(reason, Method::Automatic));
        }
        let started = Instant::now();
        let mut pad = PadCheck::NotRun;
        let acquired = self.acquire_live(&live.pixels, &mut pad)?;
        let live_time = started.elapsed();
        let live_template = match acquired {
            Acquisition::Face(t) => t,
            Acquisition::Inconclusive(reason) => {
                let mut outcome = Outcome::inconclusive(reason, Method::Automatic);
                outcome.timings.live_template = live_time;
                outcome.pad = pad;
                return Ok(outcome);
            }
        };
        let mut outcome = self.decide_live(card, &live_template, None)?;
        outcome.timings.live_template = live_time;
        outcome.pad = pad;
        Ok(outcome)
    }

    /// Detects every face in a frame, best score first (for guidance UIs and benchmarks).
    ///
    /// The returned landmarks are face geometry: the caller owns them.
    pub fn detect(&self, frame: &LiveFrame) -> Result<Vec<Detection>> {
        Ok(self.run_detector(&frame.pixels)?.to_vec())
    }

    /// The template of the subject's face in `frame`, or why there is none.
    ///
    /// For benchmarking and calibration; verification itself uses
    /// [`Engine::verify`] and never hands templates out.
    pub fn template(&self, frame: &LiveFrame) -> Result<Acquisition> {
        self.acquire(&frame.pixels, Side::Live)
    }

    /// Scores two templates made by this engine.
    pub fn compare(&self, a: &Template, b: &Template) -> Result<Score> {
        compare::compare(a, b)
    }

    /// The decision policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether templates average the face with its mirror image.
    pub fn mirror_averaging(&self) -> bool {
        self.mirror_averaging
    }

    /// Fingerprint (sha256, hex) of the pipeline that makes this engine's
    /// templates: [`Models::pipeline_sha256`] with its mirror setting. Audit
    /// records carry it.
    pub fn pipeline_sha256(&self) -> &str {
        &self.pipeline_sha256
    }

    /// The loaded models, their verified hashes and licences.
    pub fn models(&self) -> &[ModelInfo] {
        &self.info
    }

    fn acquire(&self, pixels: &Pixels, side: Side) -> Result<Acquisition> {
        self.acquire_observed(pixels, side, &mut |_, _| {})
    }

    /// A live image's template, after presentation-attack detection when a
    /// PAD policy is set: an image judged an attack is not embedded.
    fn acquire_live(&self, pixels: &Pixels, pad: &mut PadCheck) -> Result<Acquisition> {
        let Some(policy) = &self.pad_policy else {
            return self.acquire(pixels, Side::Live);
        };
        let faces = self.run_detector(pixels)?;
        let subject = match choose_subject(&faces, pixels.width(), pixels.height()) {
            Ok(face) => face,
            Err(reason) => return Ok(Acquisition::Inconclusive(reason(Side::Live))),
        };
        let (liveness, template) = self.pad_and_embed(pixels, subject);
        *pad = PadCheck::judge(liveness?, policy.threshold, 1);
        if matches!(pad, PadCheck::AttackSuspected { .. }) {
            // Not compared; the template (if any) is wiped as it drops here.
            return Ok(Acquisition::Inconclusive(Reason::PresentationAttackSuspected));
        }
        match template? {
            Some(template) => Ok(Acquisition::Face(template)),
            None => Ok(Acquisition::Inconclusive(Reason::Unalignable(Side::Live))),
        }
    }

    /// Runs PAD and the recognizer side by side on the subject (PAD's small
    /// models and the recognizer share the cores; in sequence PAD would add
    /// its whole time to every verification). A template made for a frame
    /// PAD then rejects is dropped, and so wiped, unused.
    fn pad_and_embed(&self, pixels: &Pixels, subject: &Detection) -> (Result<f32>, Result<Option<Template>>) {
        std::thread::scope(|scope| {
            let pad = scope.spawn(|| self.run_pad(pixels, subject));
            let template = self.run_recognizer(pixels, subject, &mut |_, _| {});
            let liveness = pad.join().unwrap_or_else(|_| Err(Error::inference("pad", "the PAD thread panicked")));
            (liveness, template)
        })
    }

    /// The liveness score of the subject face in `frame` (0..1, mean over the
    /// PAD models), whatever the PAD policy; `None` without PAD models or
    /// without one subject face. For calibration and evaluation.
    pub fn liveness(&self, frame: &LiveFrame) -> Result<Option<f32>> {
        if self.pad.is_empty() {
            return Ok(None);
        }
        let faces = self.run_detector(&frame.pixels)?;
        match choose_subject(&faces, frame.pixels.width(), frame.pixels.height()) {
            Ok(face) => self.run_pad(&frame.pixels, face).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The liveness score of the subject face in `frame` as
    /// [`Engine::liveness`] gives it, showing `observe` each PAD model's input
    /// tensor (its face crop) in place before it is wiped. The models run one
    /// after the other. Reached through [`crate::danger`].
    pub(crate) fn observe_pad(&self, frame: &LiveFrame, observe: &mut dyn FnMut(&[f32])) -> Result<Option<f32>> {
        if self.pad.is_empty() {
            return Ok(None);
        }
        let faces = self.run_detector(&frame.pixels)?;
        let Ok(face) = choose_subject(&faces, frame.pixels.width(), frame.pixels.height()) else {
            return Ok(None);
        };
        self.pad_runs.fetch_add(1, Ordering::Relaxed);
        let mut sum = 0.0;
        for model in &self.pad {
            sum += lock(model).live_probability_observed(&frame.pixels, face, observe)?;
        }
        Ok(Some(sum / self.pad.len() as f32))
    }

    /// The PAD policy deciding on liveness, if PAD is on.
    pub fn pad_policy(&self) -> Option<&PadPolicy> {
        self.pad_policy.as_ref()
    }

    /// Mean live probability of the PAD models for `face`.
    pub(crate) fn run_pad(&self, pixels: &Pixels, face: &Detection) -> Result<f32> {
        self.pad_runs.fetch_add(1, Ordering::Relaxed);
        // The PAD models are small and run one thread each, side by side.
        let Some((first, rest)) = self.pad.split_first() else {
            return Err(Error::inference("pad", "no PAD model is loaded"));
        };
        let scores: Vec<Result<f32>> =
            std::thread::scope(|scope| {
                let others: Vec<_> =
                    rest.iter().map(|m| scope.spawn(move || lock(m).live_probability(pixels, face))).collect();
                let mut scores = vec![lock(first).live_probability(pixels, face)];
                scores.extend(others.into_iter().map(|h| {
                    h.join().unwrap_or_else(|_| Err(Error::inference("pad", "a PAD model's thread panicked")))
                }));
                scores
            });
        let mut sum = 0.0;
        for score in scores {
            sum += score?;
        }
        Ok(sum / self.pad.len() as f32)
    }

    fn acquire_observed(
        &self,
        pixels: &Pixels,
        side: Side,
        observe: &mut dyn FnMut(&[f32], &[f32]),
    ) -> Result<Acquisition> {
        // Landmarks are face geometry: wiped when this function returns.
        let faces = self.run_detector(pixels)?;
        let subject = match choose_subject(&faces, pixels.width(), pixels.height()) {
            Ok(face) => face,
            Err(reason) => return Ok(Acquisition::Inconclusive(reason(side))),
        };
        match self.run_recognizer(pixels, subject, observe)? {
            Some(template) => Ok(Acquisition::Face(template)),
            None => Ok(Acquisition::Inconclusive(Reason::Unalignable(side))),
        }
    }

    /// The face the engine would compare in `frame`: the most prominent one
    /// (box size times closeness to the centre), or why there is none
    /// ([`Reason::NoFace`], or [`Reason::MultipleFaces`] when a second face is
    /// at least [`COMPARABLE_FACE_RATIO`] as prominent). Runs the detector only.
    ///
    /// The returned landmarks are face geometry: the caller owns them.
    pub fn subject(&self, frame: &LiveFrame) -> Result<std::result::Result<Detection, Reason>> {
        let faces = self.run_detector(&frame.pixels)?;
        let (width, height) = (frame.pixels.width(), frame.pixels.height());
        Ok(choose_subject(&faces, width, height).copied().map_err(|reason| reason(Side::Live)))
    }

    /// Acquires the subject's template from `frame` as [`Engine::template`]
    /// does, showing `observe` the recognizer's input tensor and raw output in
    /// place before they are wiped. Reached through [`crate::danger`].
    pub(crate) fn observe_embedding(
        &self,
        frame: &LiveFrame,
        observe: &mut dyn FnMut(&[f32], &[f32]),
    ) -> Result<Acquisition> {
        self.acquire_observed(&frame.pixels, Side::Live, observe)
    }

    #[doc(hidden)]
    /// Benchmark hook: aligns `face` in `frame` without running the recognizer.
    pub fn bench_align(&self, frame: &LiveFrame, face: &Detection) -> bool {
        let recognizer = lock(&self.recognizer);
        recognizer.align_only(&frame.pixels, face)
    }

    #[doc(hidden)]
    /// Benchmark hook: the PAD models alone on `face` (no detection).
    pub fn bench_pad(&self, frame: &LiveFrame, face: &Detection) -> Result<f32> {
        self.run_pad(&frame.pixels, face)
    }

    #[doc(hidden)]
    /// Benchmark hook: aligns and embeds `face` in `frame` (no detection).
    pub fn bench_embed(&self, frame: &LiveFrame, face: &Detection) -> Result<Option<Template>> {
        self.run_recognizer(&frame.pixels, face, &mut |_, _| {})
    }

    /// How many times each model has run on this engine.
    pub fn model_runs(&self) -> ModelRuns {
        ModelRuns {
            detector: self.detector_runs.load(Ordering::Relaxed),
            recognizer: self.recognizer_runs.load(Ordering::Relaxed),
            pad: self.pad_runs.load(Ordering::Relaxed),
        }
    }

    /// Runs the quality gate on the subject face of `frame` (the detector
    /// only): what the person should change before a comparison is worth
    /// making. A [`Session`](crate::Session) applies the same gate to every
    /// frame (and embeds the usable ones from the same detector run).
    pub fn assess(&self, frame: &LiveFrame, gate: &QualityGate) -> Result<FrameQuality> {
        let faces = self.run_detector(&frame.pixels)?;
        Ok(assess_subject(&faces, &frame.pixels, gate).0)
    }

    /// The quality gate and, for a usable frame, the subject's template, from
    /// one detector run.
    /// With a PAD policy, the usable frame's liveness score comes too (from
    /// the same detection).
    pub(crate) fn assess_and_embed(
        &self,
        frame: &LiveFrame,
        gate: &QualityGate,
    ) -> Result<(FrameQuality, Option<UsableFrame>)> {
        let faces = self.run_detector(&frame.pixels)?;
        let (mut quality, subject) = assess_subject(&faces, &frame.pixels, gate);
        let Some(subject) = subject.filter(|_| quality.is_usable()) else {
            return Ok((quality, None));
        };
        let (liveness, template) = match &self.pad_policy {
            Some(_) => {
                let (liveness, template) = self.pad_and_embed(&frame.pixels, subject);
                (Some(liveness?), template?)
            }
            None => (None, self.run_recognizer(&frame.pixels, subject, &mut |_, _| {})?),
        };
        match template {
            Some(template) => Ok((quality, Some((template, liveness)))),
            None => {
                // Landmarks too degenerate to align: a face turned away.
                quality.issues.push(QualityIssue::NotFacingCamera);
                quality.weight = 0.0;
                Ok((quality, None))
            }
        }
    }

    /// Compares a live template (one frame's, or fused) with the card's, at
    /// `threshold` or, without one, the policy's single-frame threshold.
    pub(crate) fn decide_live(
        &self,
        card: &CardReference,
        live: &Template,
        threshold: Option<crate::decision::outcome::Threshold>,
    ) -> Result<Outcome> {
        let card_template = match &card.acquired {
            Acquisition::Face(t) => t,
            Acquisition::Inconclusive(reason) => return Ok(Outcome::inconclusive(*reason, Method::Automatic)),
        };
        let started = Instant::now();
        let score = compare::compare(card_template, live)?;
        let mut outcome = match threshold {
            Some(t) => Policy::decide_at(score, t),
            None => self.policy.decide(score, card.kind),
        };
        outcome.timings.compare = started.elapsed();
        Ok(outcome)
    }

    fn run_detector(&self, pixels: &Pixels) -> Result<Zeroizing<Vec<Detection>>> {
        self.detector_runs.fetch_add(1, Ordering::Relaxed);
        lock(&self.detector).detect(pixels)
    }

    fn run_recognizer(
        &self,
        pixels: &Pixels,
        face: &Detection,
        observe: &mut dyn FnMut(&[f32], &[f32]),
    ) -> Result<Option<Template>> {
        let mut recognizer = lock(&self.recognizer);
        let result = recognizer.embed_observed(pixels, face, self.mirror_averaging, observe);
        // Counted whenever the model was given chips, a failed run included;
        // degenerate landmarks (`Ok(None)`) never reach it.
        if !matches!(result, Ok(None)) {
            self.recognizer_runs.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// The gate's verdict on the subject among `faces`, and the subject.
fn assess_subject<'f>(
    faces: &'f [Detection],
    pixels: &Pixels,
    gate: &QualityGate,
) -> (FrameQuality, Option<&'f Detection>) {
    match choose_subject(faces, pixels.width(), pixels.height()) {
        Ok(face) => (gate.assess(pixels, face), Some(face)),
        Err(reason) => {
            let issue = match reason(Side::Live) {
                Reason::MultipleFaces(_) => QualityIssue::MultipleFaces,
                _ => QualityIssue::NoFace,
            };
            (FrameQuality::without_face(issue), None)
        }
    }
}

/// Size weighted by closeness to the frame's centre.
fn prominence(face: &Detection, width: u32, height: u32) -> f32 {
    let (cx, cy) = (face.bbox[0] + face.bbox[2] / 2.0, face.bbox[1] + face.bbox[3] / 2.0);
    let (hw, hh) = (width as f32 / 2.0, height as f32 / 2.0);
    let off = ((cx - hw).powi(2) + (cy - hh).powi(2)).sqrt() / (hw * hw + hh * hh).sqrt();
    face.size() * (1.0 - off).clamp(0.0, 1.0)
}

/// One dominant face, or the reason there is none.
fn choose_subject(faces: &[Detection], width: u32, height: u32) -> Result<&Detection, fn(Side) -> Reason> {
    let mut ranked: Vec<(f32, &Detection)> = faces.iter().map(|f| (prominence(f, width, height), f)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.score.total_cmp(&a.1.score)));
    match ranked.as_slice() {
        [] => Err(Reason::NoFace),
        [(_, only)] => Ok(only),
        [(first, face), (second, _), ..] => {
            if *second >= COMPARABLE_FACE_RATIO * *first {
                Err(Reason::MultipleFaces)
            } else {
                Ok(face)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A face of side `size` centred at (cx, cy).
    fn face(cx: f32, cy: f32, size: f32) -> Detection {
        Detection { bbox: [cx - size / 2.0, cy - size / 2.0, size, size], score: 0.9, landmarks: [[0.0; 2]; 5] }
    }

    #[test]
    fn subject_is_the_dominant_face() {
        // A small face in the centre beats nothing; a big centred face beats a small one.
        let faces = [face(320.0, 240.0, 40.0), face(320.0, 240.0, 100.0)];
        assert_eq!(choose_subject(&faces, 640, 480).unwrap().bbox[2], 100.0);
    }

    #[test]
    fn a_bystander_at_the_edge_does_not_make_the_subject_ambiguous() {
        let faces = [face(590.0, 60.0, 100.0), face(320.0, 240.0, 100.0)];
        assert_eq!(choose_subject(&faces, 640, 480).unwrap().bbox[0], 270.0);
    }

    #[test]
    fn comparable_faces_or_none_are_inconclusive() {
        assert_eq!(choose_subject(&[], 640, 480).unwrap_err()(Side::Live), Reason::NoFace(Side::Live));
        let side_by_side = [face(240.0, 240.0, 100.0), face(400.0, 240.0, 95.0)];
        let reason = choose_subject(&side_by_side, 640, 480).unwrap_err()(Side::Card);
        assert_eq!(reason, Reason::MultipleFaces(Side::Card));
    }
}
