//! The one acquisition path: pixels in; the subject face, its quality, its
//! liveness and its template out, as far as the caller wants them.
//!
//! One-shot verification, card references, counter sessions, calibration
//! runs and the forensics tests all come through [`Stages::acquire`]; the
//! subject is chosen in one place ([`choose_subject`]), and what the results
//! mean (a PAD verdict, a decision) is left to the decision rules.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use zeroize::Zeroizing;

use crate::decision::outcome::{Reason, Side};
use crate::error::{Error, Result};
use crate::input::pixels::Pixels;
use crate::pipeline::detect::{Detection, Detector};
use crate::pipeline::embed::Recognizer;
use crate::pipeline::pad::PadModel;
use crate::pipeline::quality::{FrameQuality, QualityGate, QualityIssue};
use crate::pipeline::template::Template;

/// A second face at least this prominent, relative to the most prominent one,
/// makes the subject ambiguous.
///
/// Prominence is face size (square root of box area) times centrality
/// (1 at the frame's centre, falling linearly to 0 at its corners): the person
/// being checked faces the camera from the middle of the frame, a bystander
/// further back or at the edge shows a clearly less prominent face and is
/// ignored, while two people side by side are comparable.
pub const COMPARABLE_FACE_RATIO: f32 = 0.75;

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

/// The model sessions of an engine and how often each has run.
pub(crate) struct Stages {
    detector: Mutex<Detector>,
    recognizer: Mutex<Recognizer>,
    /// The PAD models, when loaded (they score whether or not a PAD policy decides).
    pad: Vec<Mutex<PadModel>>,
    mirror_averaging: bool,
    detector_runs: AtomicU64,
    recognizer_runs: AtomicU64,
    pad_runs: AtomicU64,
}

/// Shown each PAD model's input tensor, in place.
pub(crate) type PadObserver<'a> = dyn FnMut(&[f32]) + 'a;

/// Shown the recognizer's input tensor and its raw output, in place.
pub(crate) type EmbeddingObserver<'a> = dyn FnMut(&[f32], &[f32]) + 'a;

/// Whether a stage runs, and whether a test sees its tensors.
pub(crate) enum Run<'a, F: ?Sized> {
    /// Not wanted.
    No,
    /// Wanted.
    Yes,
    /// Wanted, and `F` is shown the stage's tensors in place before they are
    /// wiped (the memory-forensics test). PAD models then run one after the other.
    Observed(&'a mut F),
}

/// What an acquisition should produce beyond the subject face.
pub(crate) struct Wanted<'a> {
    /// Which image this is (named in a reason when there is no subject).
    pub(crate) side: Side,
    /// Gate the subject's quality first: liveness and template only for a usable face.
    pub(crate) gate: Option<&'a QualityGate>,
    /// The subject's liveness score (needs PAD models).
    pub(crate) liveness: Run<'a, PadObserver<'a>>,
    /// The subject's template.
    pub(crate) template: Run<'a, EmbeddingObserver<'a>>,
    /// Hand the subject's face box and landmarks out (for
    /// [`Engine::subject`](crate::Engine::subject) only: face geometry is
    /// otherwise never copied out of the detector's wiped list).
    pub(crate) face: bool,
}

impl<'a> Wanted<'a> {
    /// The subject face only.
    pub(crate) fn subject(side: Side) -> Self {
        Self { side, gate: None, liveness: Run::No, template: Run::No, face: false }
    }

    /// The subject's template.
    pub(crate) fn template(side: Side) -> Self {
        Self { template: Run::Yes, ..Self::subject(side) }
    }
}

/// What an acquisition gave.
pub(crate) struct Acquired {
    /// Whether there is one subject face, or why there is none.
    pub(crate) subject: std::result::Result<(), Reason>,
    /// The subject's face box and landmarks, when [`Wanted::face`] asked for them.
    pub(crate) face: Option<Detection>,
    /// The quality gate's verdict, when a gate was given.
    pub(crate) quality: Option<FrameQuality>,
    /// The subject's liveness score (mean over the PAD models), when wanted and reached.
    pub(crate) liveness: Option<f32>,
    /// The subject's template when wanted and reached; `Ok(None)` also when
    /// the landmarks were too degenerate to align ([`Acquired::unalignable`]).
    /// Kept as a result so that a PAD verdict can be reached whatever the
    /// recognizer did.
    pub(crate) template: Result<Option<Template>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a session half-updated in a
    // way that matters here: a stage that panicked with a frame or chips in
    // its reused input tensor marked it dirty, and its next run wipes it first.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Stages {
    pub(crate) fn new(detector: Detector, recognizer: Recognizer, pad: Vec<PadModel>, mirror_averaging: bool) -> Self {
        Self {
            detector: Mutex::new(detector),
            recognizer: Mutex::new(recognizer),
            pad: pad.into_iter().map(Mutex::new).collect(),
            mirror_averaging,
            detector_runs: AtomicU64::new(0),
            recognizer_runs: AtomicU64::new(0),
            pad_runs: AtomicU64::new(0),
        }
    }

    /// Whether PAD models are loaded.
    pub(crate) fn has_pad(&self) -> bool {
        !self.pad.is_empty()
    }

    /// How many times each model has run.
    pub(crate) fn runs(&self) -> ModelRuns {
        ModelRuns {
            detector: self.detector_runs.load(Ordering::Relaxed),
            recognizer: self.recognizer_runs.load(Ordering::Relaxed),
            pad: self.pad_runs.load(Ordering::Relaxed),
        }
    }

    /// Detects the faces in `pixels`, chooses the subject, and goes as far as
    /// `wanted` asks: the quality gate, then liveness and template (side by
    /// side when both are wanted: PAD's small models and the recognizer share
    /// the cores). Landmarks of every face are wiped when this returns; the
    /// subject's are copied out only when [`Wanted::face`] asks for them.
    pub(crate) fn acquire(&self, pixels: &Pixels, wanted: Wanted<'_>) -> Result<Acquired> {
        let Wanted { side, gate, liveness, template, face: hand_out } = wanted;
        let faces = self.detect(pixels)?;
        let mut acquired = Acquired {
            subject: Err(Reason::NoFace(side)),
            face: None,
            quality: None,
            liveness: None,
            template: Ok(None),
        };
        let face = match choose_subject(&faces, pixels.width(), pixels.height()) {
            Ok(face) => face,
            Err(reason) => {
                let reason = reason(side);
                if gate.is_some() {
                    let issue = match reason {
                        Reason::MultipleFaces(_) => QualityIssue::MultipleFaces,
                        _ => QualityIssue::NoFace,
                    };
                    acquired.quality = Some(FrameQuality::without_face(issue));
                }
                acquired.subject = Err(reason);
                return Ok(acquired);
            }
        };
        acquired.subject = Ok(());
        if hand_out {
            acquired.face = Some(*face);
        }
        if let Some(gate) = gate {
            let quality = gate.assess(pixels, face);
            let usable = quality.is_usable();
            acquired.quality = Some(quality);
            if !usable {
                return Ok(acquired);
            }
        }
        let wants_template = !matches!(template, Run::No);
        match (liveness, template) {
            (Run::Yes, Run::Yes) => {
                let (live, made) = std::thread::scope(|scope| {
                    let pad = scope.spawn(|| self.liveness(pixels, face, None));
                    let made = self.embed(pixels, face, &mut |_, _| {});
                    let live = pad.join().unwrap_or_else(|_| Err(Error::inference("pad", "the PAD thread panicked")));
                    (live, made)
                });
                // A failed PAD run fails the acquisition; a template made for
                // a frame PAD then rejects is dropped, and so wiped, unused.
                acquired.liveness = Some(live?);
                acquired.template = made;
            }
            (liveness, template) => {
                match liveness {
                    Run::No => {}
                    Run::Yes => acquired.liveness = Some(self.liveness(pixels, face, None)?),
                    Run::Observed(observe) => acquired.liveness = Some(self.liveness(pixels, face, Some(observe))?),
                }
                match template {
                    Run::No => {}
                    Run::Yes => acquired.template = self.embed(pixels, face, &mut |_, _| {}),
                    Run::Observed(observe) => acquired.template = self.embed(pixels, face, observe),
                }
            }
        }
        if wants_template && matches!(acquired.template, Ok(None)) {
            if let Some(quality) = &mut acquired.quality {
                // Landmarks too degenerate to align: a face turned away.
                quality.issues.push(QualityIssue::NotFacingCamera);
                quality.weight = 0.0;
            }
        }
        Ok(acquired)
    }

    /// Every face in `pixels` (wiped on drop).
    pub(crate) fn detect(&self, pixels: &Pixels) -> Result<Zeroizing<Vec<Detection>>> {
        self.detector_runs.fetch_add(1, Ordering::Relaxed);
        lock(&self.detector).detect(pixels)
    }

    /// Mean live probability of the PAD models for `face`. The models are
    /// small and run one thread each, side by side; with `observe`, one after
    /// the other, each showing it its input tensor.
    pub(crate) fn liveness(
        &self,
        pixels: &Pixels,
        face: &Detection,
        observe: Option<&mut PadObserver<'_>>,
    ) -> Result<f32> {
        self.pad_runs.fetch_add(1, Ordering::Relaxed);
        let Some((first, rest)) = self.pad.split_first() else {
            return Err(Error::inference("pad", "no PAD model is loaded"));
        };
        if let Some(observe) = observe {
            // One after the other, each showing its input; the first failure ends the run.
            let mut sum = 0.0;
            for model in &self.pad {
                sum += lock(model).live_probability_observed(pixels, face, &mut *observe)?;
            }
            return Ok(sum / self.pad.len() as f32);
        }
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

    /// Aligns and embeds `face`; `Ok(None)` when its landmarks are too
    /// degenerate to align.
    pub(crate) fn embed(
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

    /// Aligns `face` without running the recognizer (a benchmark step).
    #[cfg(feature = "research")]
    pub(crate) fn align_only(&self, pixels: &Pixels, face: &Detection) -> bool {
        lock(&self.recognizer).align_only(pixels, face)
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
