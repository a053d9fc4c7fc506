//! Stage 5: two templates to one score.

use serde::Serialize;

use crate::pipeline::embed::Template;
use crate::error::{Error, Result};
use crate::pipeline::models::Metric;

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
