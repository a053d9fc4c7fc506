//! Templates and how two of them compare: the score, by the recognizer's metric.

use std::sync::Arc;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::pipeline::models::Metric;
use crate::privacy::secret::Secret;

/// The comparison score of two templates, with the metric that gives it meaning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    /// The score value: a distance for [`Metric::Euclidean`], a similarity for [`Metric::Cosine`].
    pub value: f32,
    /// How `value` was computed.
    pub metric: Metric,
}

impl Score {
    /// Whether this score is on the matching side of `threshold` (same metric).
    pub fn passes(&self, threshold: f32) -> bool {
        match self.metric {
            Metric::Euclidean => self.value <= threshold,
            Metric::Cosine => self.value >= threshold,
        }
    }
}

/// Scores two templates made by the same recognizer.
pub(crate) fn compare(a: &Template, b: &Template) -> Result<Score> {
    if a.pipeline() != b.pipeline() || a.len() != b.len() || a.metric() != b.metric() {
        return Err(Error::InvalidArgument {
            reason: "templates made by the same pipeline (models, manifest settings, mirror averaging)".into(),
        });
    }
    Ok(Score { value: a.metric().score(a.values(), b.values()), metric: a.metric() })
}

impl Metric {
    /// The score of two equally long value vectors in this metric, as
    /// [`Engine::compare`](crate::Engine::compare) computes it for templates
    /// (for benchmarking tools that score many templates from one matrix).
    pub fn score(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::Euclidean => euclidean(a, b),
            Metric::Cosine => cosine(a, b),
        }
    }
}

pub(crate) fn euclidean(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// A face template: the recognizer's embedding of one face.
///
/// Opaque on purpose: no `Clone`, no `Serialize`, and its `Debug` prints no
/// values. The buffer is allocated once at its final size and wiped on drop.
/// Compare two templates with [`Engine::compare`](crate::Engine::compare).
///
/// These do not compile (PRIVACY.md, claim "never cloned or serialised"):
///
/// ```compile_fail
/// fn copy(t: &honnin::engine::Template) -> honnin::engine::Template { t.clone() }
/// ```
///
/// ```compile_fail
/// fn export(t: &honnin::engine::Template) -> String { serde_json::to_string(t).unwrap() }
/// ```
///
/// ```compile_fail
/// fn show(t: &honnin::engine::Template) -> String { format!("{t}") }
/// ```
pub struct Template {
    values: Secret<f32>,
    metric: Metric,
    /// Fingerprint of the pipeline that made it; only equal pipelines compare.
    pipeline: Arc<str>,
    /// Frames fused into it (1: one image).
    frames: u32,
}

impl Template {
    /// One image's template from the recognizer's (averaged) output.
    pub(crate) fn from_embedding(values: Secret<f32>, metric: Metric, pipeline: Arc<str>) -> Self {
        Self { values, metric, pipeline, frames: 1 }
    }
    pub(crate) fn values(&self) -> &[f32] {
        &self.values
    }

    pub(crate) fn metric(&self) -> Metric {
        self.metric
    }

    pub(crate) fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// How many single-image templates were fused into this one (1 for a
    /// template of one image).
    pub fn frames(&self) -> usize {
        self.frames as usize
    }

    /// Number of dimensions.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Always false for a template made by the engine.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Scores this template against another made by the same recognizer.
    pub fn compare(&self, other: &Template) -> crate::Result<Score> {
        crate::pipeline::template::compare(self, other)
    }

    /// Fuses templates of one person taken from several frames into one: the
    /// weighted mean of their values, rescaled to the weighted mean of their
    /// lengths. Averaging shortens the vector (the frames' differences cancel);
    /// rescaling keeps the fused template on the scale of single-frame ones,
    /// which is the scale the policy's thresholds were calibrated on.
    ///
    /// Weights are typically [`FrameQuality::weight`](crate::quality::FrameQuality::weight).
    ///
    /// **A fused template must not be held to a single-frame threshold.**
    /// Fusion brings impostors closer as well as genuine pairs: 3 fused LFW
    /// frames at the single-frame threshold for FMR 1e-4 gave FMR 0.00015 with
    /// the default recognizer (and at 1e-3, FMR 0.0028 with dlib's ResNet).
    /// Compare it at [`Policy::fused_threshold`](crate::Policy::fused_threshold),
    /// with no more frames than that threshold was calibrated for
    /// ([`Template::frames`] says how many went in); a [`Session`](crate::counter::Session)
    /// does this.
    /// Fails with [`Error::InvalidArgument`] for an empty list, a weight that
    /// is not finite and positive, or templates from different pipelines.
    pub fn fuse(parts: &[(&Template, f32)]) -> Result<Template> {
        let Some(&(first, _)) = parts.first() else {
            return Err(Error::InvalidArgument { reason: "at least one template to fuse".into() });
        };
        let mut total = 0.0f32;
        for &(t, w) in parts {
            if !(w.is_finite() && w > 0.0) {
                return Err(Error::InvalidArgument { reason: format!("fusion weights finite and positive, got {w}") });
            }
            if t.pipeline != first.pipeline || t.metric != first.metric || t.len() != first.len() {
                return Err(Error::InvalidArgument { reason: "templates of one pipeline to fuse".into() });
            }
            total += w;
        }
        let mut values = Secret::<f32>::zeroed(first.len());
        let mut norm = 0.0f32;
        for &(t, w) in parts {
            let share = w / total;
            norm += share * t.values.iter().map(|v| v * v).sum::<f32>().sqrt();
            for (acc, v) in values.iter_mut().zip(t.values.iter()) {
                *acc += share * v;
            }
        }
        let fused = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if fused > 0.0 {
            let scale = norm / fused;
            values.iter_mut().for_each(|v| *v *= scale);
        }
        let frames = parts.iter().map(|(t, _)| t.frames).sum();
        Ok(Template { values, metric: first.metric, pipeline: first.pipeline.clone(), frames })
    }
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Template({} dims, contents hidden)", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_agree_with_hand_computed_values() {
        assert!((euclidean(&[0.0, 3.0], &[4.0, 0.0]) - 5.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn passing_direction_depends_on_the_metric() {
        assert!(Score { value: 0.4, metric: Metric::Euclidean }.passes(0.5));
        assert!(!Score { value: 0.6, metric: Metric::Euclidean }.passes(0.5));
        assert!(Score { value: 0.6, metric: Metric::Cosine }.passes(0.5));
        assert!(!Score { value: 0.4, metric: Metric::Cosine }.passes(0.5));
    }
}
