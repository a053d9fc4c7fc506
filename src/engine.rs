//! The engine: owns the model sessions and the policies, runs the pipeline;
//! with what it hands out (card references, templates, scores, face boxes).

use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Instant;

use crate::card::authenticity::Authenticity;
use crate::decision::outcome::{Method, Outcome, PadCheck, Reason, Side};
use crate::decision::pad_policy::{PadCalibration, PadPolicy};
use crate::decision::policy::{Binding, Comparison, Policy, Rules};
use crate::error::{CalibrationError, Error, Result};
use crate::input::decode::{CardPhoto, LiveFrame, ReferenceKind};
pub use crate::pipeline::detect::Detection;
use crate::pipeline::detect::Detector;
use crate::pipeline::embed::Recognizer;
use crate::pipeline::models::{ModelInfo, Models};
use crate::pipeline::pad::PadModel;
use crate::pipeline::quality::{FrameQuality, QualityGate};
use crate::pipeline::runtime::{self, Threading};
use crate::pipeline::stages::{Acquired, PadObserver, Run, Stages, Wanted};
pub use crate::pipeline::stages::{ModelRuns, COMPARABLE_FACE_RATIO};
pub use crate::pipeline::template::{Score, Template};

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
    /// [`PINNED_ONNXRUNTIME_SHA256`](crate::runtime::PINNED_ONNXRUNTIME_SHA256) is the
    /// hash of the library `tools/setup.py` installs.
    pub fn onnxruntime_sha256(mut self, sha256: impl Into<String>) -> Self {
        self.onnxruntime_sha256 = Some(sha256.into());
        self
    }

    /// Requires the ONNX Runtime library honnin pins for this CPU
    /// ([`PINNED_ONNXRUNTIME_SHA256`](crate::runtime::PINNED_ONNXRUNTIME_SHA256)),
    /// or, when `given` is a sha256 (hex), that one; `given` = `"any"` accepts
    /// any library (the caller should say so loudly). The one place the pin
    /// is decided: the CLI's `--onnxruntime-sha256` and the C API's
    /// `onnxruntime_sha256` both come here. Fails with
    /// [`Error::RuntimeNotPinned`] when honnin pins no build for this CPU and
    /// no hash is given.
    pub fn onnxruntime_pin(mut self, given: Option<&str>) -> Result<Self> {
        self.onnxruntime_sha256 = match given {
            Some("any") => None,
            Some(hex) => Some(hex.to_string()),
            None => match crate::runtime::PINNED_ONNXRUNTIME_SHA256 {
                Some(pinned) => Some(pinned.to_string()),
                None => return Err(Error::RuntimeNotPinned),
            },
        };
        Ok(self)
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

    /// ONNX Runtime as it comes: CPU memory arena and memory-pattern planning
    /// on, and its output buffers (boxes, landmarks, embeddings) freed without
    /// being wiped.
    ///
    /// Only for the memory-forensics baseline, which measures what ONNX
    /// Runtime's own memory holds without honnin's settings.
    pub(crate) fn onnxruntime_defaults(mut self, on: bool) -> Self {
        self.threading.ort_defaults = on;
        self
    }

    /// Load the models' graphs as they are, without rewriting `PRelu`
    /// (same results, slower PAD models and recognizer). For the benchmarks
    /// and the tests that compare the two.
    #[cfg(feature = "research")]
    pub(crate) fn expand_prelu(mut self, on: bool) -> Self {
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
    /// and the C API with [`PadCalibration::bundled`](crate::pad::PadCalibration::bundled)
    /// unless its caller chooses otherwise.
    pub fn pad(mut self, policy: PadPolicy) -> Self {
        self.pad_policy = Some(policy);
        self
    }

    /// Presentation-attack detection when the models include PAD models
    /// ([`Models::has_pad`]): at `calibration`, or without one at the PAD
    /// calibration honnin ships ([`PadCalibration::bundled`]). Without PAD
    /// models, PAD stays off. The one place the PAD default is decided: the
    /// CLI (unless `--no-pad`) and the C API's default both come here.
    pub fn pad_when_present(self, calibration: Option<&PadCalibration>) -> Result<Self> {
        if !self.models.has_pad() {
            return Ok(self);
        }
        let policy = match calibration {
            Some(calibration) => PadPolicy::from_calibration(calibration),
            None => PadPolicy::from_calibration(&PadCalibration::bundled()?),
        };
        Ok(self.pad(policy))
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
        // One thread per PAD model: they run side by side.
        let pad_threading = Threading { intra_threads: 1, ..self.threading };
        for model in &self.models.pad {
            let session = runtime::session(&env, model, pad_threading)?;
            pad.push(PadModel::new(model.entry.clone(), session)?.wiping_outputs(wipe_outputs));
        }
        let Models { detector, recognizer, .. } = self.models;
        let detector = Detector::new(detector.entry, detector_session)?.wiping_outputs(wipe_outputs);
        let batch = if self.mirror_averaging { 2 } else { 1 };
        let recognizer =
            Recognizer::new(recognizer.entry, recognizer_session, batch, &pipeline)?.wiping_outputs(wipe_outputs);
        Ok(Engine {
            stages: Stages::new(detector, recognizer, pad, self.mirror_averaging),
            policy,
            mirror_averaging: self.mirror_averaging,
            pipeline_sha256: pipeline,
            info,
            pad_policy: self.pad_policy,
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
/// Holds the card template (wiped on drop) or the reason there is none, and
/// the card photo's authenticity, which every outcome against it carries.
pub struct CardReference {
    acquired: Acquisition,
    kind: ReferenceKind,
    authenticity: Authenticity,
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

    /// Whether the card photo is the one its issuer wrote, as far as it was checked.
    pub fn authenticity(&self) -> Authenticity {
        self.authenticity
    }
}

/// The verification engine: models, sessions and policy.
///
/// `Engine` is `Send + Sync`; each model session sits behind a mutex, so
/// concurrent calls take turns per stage. Counter sessions share it through
/// an [`Arc`](std::sync::Arc).
pub struct Engine {
    stages: Stages,
    policy: Policy,
    mirror_averaging: bool,
    /// [`Models::pipeline_sha256`] of the detector, recognizer and mirror setting.
    pipeline_sha256: String,
    info: Vec<ModelInfo>,
    pad_policy: Option<PadPolicy>,
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

impl Acquisition {
    /// The template, or why there is none: no subject, or a face that would not align.
    fn from_acquired(acquired: Acquired, side: Side) -> Result<Self> {
        if let Err(reason) = acquired.subject {
            return Ok(Acquisition::Inconclusive(reason));
        }
        Ok(match acquired.template? {
            Some(template) => Acquisition::Face(template),
            None => Acquisition::Inconclusive(Reason::Unalignable(side)),
        })
    }
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
    /// A card photo whose authenticity check failed is never compared: no
    /// model runs and every verification against it is inconclusive with
    /// [`Reason::CardNotAuthentic`]; with a policy that
    /// [requires a verified photo](Policy::require_authentic), the same
    /// holds for one never checked ([`Reason::AuthenticityNotChecked`]).
    /// When the policy has no threshold for this kind of card photo (a grey
    /// photo and a colour-only calibration), no model runs and every
    /// verification against it is inconclusive with [`Reason::NotCalibrated`].
    pub fn card_reference(&self, card: &CardPhoto) -> Result<CardReference> {
        let kind = card.kind();
        let authenticity = card.authenticity();
        let refused = self.rules().admit(authenticity);
        if let Some(reason) = refused.or(self.policy.threshold(kind).is_none().then_some(Reason::NotCalibrated(kind))) {
            return Ok(CardReference { acquired: Acquisition::Inconclusive(reason), kind, authenticity });
        }
        let acquired = self.stages.acquire(&card.pixels, Wanted::template(Side::Card))?;
        Ok(CardReference { acquired: Acquisition::from_acquired(acquired, Side::Card)?, kind, authenticity })
    }

    /// Compares a prepared card reference with a live frame.
    ///
    /// With a PAD policy, the live image's liveness is judged first: one
    /// judged an attack is not compared.
    pub fn verify_reference(&self, card: &CardReference, live: &LiveFrame) -> Result<Outcome> {
        if let Some(reason) = card.unusable() {
            let mut outcome = Outcome::inconclusive(reason, Method::Automatic);
            outcome.authenticity = card.authenticity;
            return Ok(outcome);
        }
        let started = Instant::now();
        let liveness = self.decisive_liveness();
        let acquired = self.stages.acquire(&live.pixels, Wanted { liveness, ..Wanted::template(Side::Live) })?;
        let live_time = started.elapsed();
        let rules = self.rules();
        let pad = rules.liveness(acquired.liveness.as_slice());
        let mut outcome = if matches!(pad, PadCheck::AttackSuspected { .. }) {
            // Not compared; the template (if any) is wiped as it drops here.
            Outcome::inconclusive(Reason::PresentationAttackSuspected, Method::Automatic)
        } else {
            match Acquisition::from_acquired(acquired, Side::Live)? {
                Acquisition::Face(template) => {
                    self.compare_with(card, &template, rules.comparison(card.kind, 1, false))?
                }
                Acquisition::Inconclusive(reason) => Outcome::inconclusive(reason, Method::Automatic),
            }
        };
        outcome.timings.live_template = live_time;
        outcome.pad = pad;
        outcome.authenticity = card.authenticity;
        Ok(outcome)
    }

    /// Detects every face in a frame, best score first (for guidance UIs and benchmarks).
    ///
    /// The returned landmarks are face geometry: the caller owns them.
    pub fn detect(&self, frame: &LiveFrame) -> Result<Vec<Detection>> {
        Ok(self.stages.detect(&frame.pixels)?.to_vec())
    }

    /// The template of the subject's face in `frame`, or why there is none.
    ///
    /// For benchmarking and calibration; verification itself uses
    /// [`Engine::verify`] and never hands templates out.
    pub fn template(&self, frame: &LiveFrame) -> Result<Acquisition> {
        let acquired = self.stages.acquire(&frame.pixels, Wanted::template(Side::Live))?;
        Acquisition::from_acquired(acquired, Side::Live)
    }

    /// Scores two templates made by this engine.
    pub fn compare(&self, a: &Template, b: &Template) -> Result<Score> {
        a.compare(b)
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

    /// The liveness score of the subject face in `frame` (0..1, mean over the
    /// PAD models), whatever the PAD policy; `None` without PAD models or
    /// without one subject face. For calibration and evaluation.
    pub fn liveness(&self, frame: &LiveFrame) -> Result<Option<f32>> {
        self.liveness_observed(frame, Run::Yes)
    }

    /// [`Engine::liveness`], showing `observe` each PAD model's input tensor
    /// (its face crop) in place before it is wiped; the models run one after
    /// the other. Reached through [`crate::danger`].
    pub(crate) fn observe_pad(&self, frame: &LiveFrame, observe: &mut dyn FnMut(&[f32])) -> Result<Option<f32>> {
        self.liveness_observed(frame, Run::Observed(observe))
    }

    fn liveness_observed<'a>(&self, frame: &LiveFrame, liveness: Run<'a, PadObserver<'a>>) -> Result<Option<f32>> {
        if !self.stages.has_pad() {
            return Ok(None);
        }
        let acquired = self.stages.acquire(&frame.pixels, Wanted { liveness, ..Wanted::subject(Side::Live) })?;
        Ok(acquired.liveness)
    }

    /// The PAD policy deciding on liveness, if PAD is on.
    pub fn pad_policy(&self) -> Option<&PadPolicy> {
        self.pad_policy.as_ref()
    }

    /// The face the engine would compare in `frame`: the most prominent one
    /// (box size times closeness to the centre), or why there is none
    /// ([`Reason::NoFace`], or [`Reason::MultipleFaces`] when a second face is
    /// at least [`COMPARABLE_FACE_RATIO`] as prominent). Runs the detector only.
    ///
    /// The returned landmarks are face geometry: the caller owns them.
    pub fn subject(&self, frame: &LiveFrame) -> Result<std::result::Result<Detection, Reason>> {
        let acquired = self.stages.acquire(&frame.pixels, Wanted { face: true, ..Wanted::subject(Side::Live) })?;
        Ok(acquired.subject.map(|()| acquired.face.expect("asked for with the subject")))
    }

    /// Acquires the subject's template from `frame` as [`Engine::template`]
    /// does, showing `observe` the recognizer's input tensor and raw output in
    /// place before they are wiped. Reached through [`crate::danger`].
    pub(crate) fn observe_embedding(
        &self,
        frame: &LiveFrame,
        observe: &mut dyn FnMut(&[f32], &[f32]),
    ) -> Result<Acquisition> {
        let wanted = Wanted { template: Run::Observed(observe), ..Wanted::subject(Side::Live) };
        let acquired = self.stages.acquire(&frame.pixels, wanted)?;
        Acquisition::from_acquired(acquired, Side::Live)
    }

    /// The model stages, for the research hooks.
    #[cfg(feature = "research")]
    pub(crate) fn stages(&self) -> &Stages {
        &self.stages
    }

    /// How many times each model has run on this engine.
    pub fn model_runs(&self) -> ModelRuns {
        self.stages.runs()
    }

    /// Runs the quality gate on the subject face of `frame` (the detector
    /// only): what the person should change before a comparison is worth
    /// making. A [`Session`](crate::counter::Session) applies the same gate to every
    /// frame (and embeds the usable ones from the same detector run).
    pub fn assess(&self, frame: &LiveFrame, gate: &QualityGate) -> Result<FrameQuality> {
        let acquired =
            self.stages.acquire(&frame.pixels, Wanted { gate: Some(gate), ..Wanted::subject(Side::Live) })?;
        Ok(acquired
            .quality
            .unwrap_or_else(|| FrameQuality::without_face(crate::pipeline::quality::QualityIssue::NoFace)))
    }

    /// A session's frame: the quality gate and, for a usable frame, the
    /// subject's template and, with a PAD policy, its liveness score, from
    /// one detector run.
    pub(crate) fn acquire_frame(&self, frame: &LiveFrame, gate: &QualityGate) -> Result<Acquired> {
        let liveness = self.decisive_liveness();
        let wanted = Wanted { gate: Some(gate), liveness, ..Wanted::template(Side::Live) };
        self.stages.acquire(&frame.pixels, wanted)
    }

    /// Liveness, wanted when a PAD policy decides on it.
    fn decisive_liveness<'a>(&self) -> Run<'a, PadObserver<'a>> {
        if self.pad_policy.is_some() {
            Run::Yes
        } else {
            Run::No
        }
    }

    /// The decision rules at this engine's policies.
    pub(crate) fn rules(&self) -> Rules<'_> {
        Rules { face: &self.policy, pad: self.pad_policy.as_ref() }
    }

    /// Compares a live template (one frame's, or fused) with the card's, as
    /// `comparison` says (`None`: no threshold for this kind of card photo).
    /// The outcome carries the card's authenticity.
    pub(crate) fn compare_with(
        &self,
        card: &CardReference,
        live: &Template,
        comparison: Option<Comparison>,
    ) -> Result<Outcome> {
        let inconclusive = |reason| {
            let mut outcome = Outcome::inconclusive(reason, Method::Automatic);
            outcome.authenticity = card.authenticity;
            Ok(outcome)
        };
        let card_template = match &card.acquired {
            Acquisition::Face(t) => t,
            Acquisition::Inconclusive(reason) => return inconclusive(*reason),
        };
        let Some(comparison) = comparison else {
            return inconclusive(Reason::NotCalibrated(card.kind));
        };
        let started = Instant::now();
        let score = card_template.compare(live)?;
        let mut outcome = Rules::decide(score, comparison.threshold);
        outcome.timings.compare = started.elapsed();
        outcome.authenticity = card.authenticity;
        Ok(outcome)
    }
}
