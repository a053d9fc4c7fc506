//! Accuracy metrics as ISO/IEC 19795-1 asks for them: error rates at
//! thresholds and at target false-match rates, the equal error rate, a DET
//! curve, failure-to-acquire and transaction-level rates, and confidence
//! intervals by subject bootstrap.
//!
//! Scores are in the recognizer's [`Metric`]. A comparison is a **match** when
//! it passes the threshold ([`Score::passes`](crate::engine::Score::passes): a
//! Euclidean distance at or below it, a cosine similarity at or above it).
//! Internally every score becomes a dissimilarity `d` (the distance, or minus
//! the similarity), so that "accepted" always means `d <= t`.
//!
//! - FMR(t): impostor comparisons accepted at `t`, over all impostor comparisons.
//! - FNMR(t): genuine comparisons rejected at `t`, over all genuine comparisons.
//! - A comparison that could not be made (a failure to acquire on either
//!   side) is not a comparison: it is counted in FTA, never dropped silently.
//!
//! Nothing here sees a template: these are functions of scores and counts.

use serde::Serialize;

use crate::pipeline::models::Metric;

/// One comparison's score and the subjects it involved (the same subject
/// twice for a genuine comparison). Subjects are the caller's numbering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// The score, in the recognizer's metric.
    pub score: f32,
    /// The two subjects compared.
    pub subjects: (u32, u32),
}

/// Error counts and rates at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// The threshold, in the recognizer's metric.
    pub threshold: f32,
    /// Impostor comparisons accepted.
    pub false_matches: u64,
    /// Impostor comparisons.
    pub impostors: u64,
    /// `false_matches / impostors`.
    pub fmr: f64,
    /// Genuine comparisons rejected.
    pub false_non_matches: u64,
    /// Genuine comparisons.
    pub genuine: u64,
    /// `false_non_matches / genuine`.
    pub fnmr: f64,
}

/// The equal error rate: where FMR and FNMR cross.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Eer {
    /// `(FMR + FNMR) / 2` at the threshold where `|FMR - FNMR|` is smallest.
    pub rate: f64,
    /// That threshold.
    pub threshold: f32,
    /// FMR there.
    pub fmr: f64,
    /// FNMR there.
    pub fnmr: f64,
}

/// A two-sided 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Scores sorted as dissimilarities, ready for any number of thresholds.
#[derive(Debug, Clone)]
pub struct ScoreSet {
    metric: Metric,
    genuine: Vec<f32>,
    impostor: Vec<f32>,
}

fn to_dissimilarity(metric: Metric, score: f32) -> f32 {
    match metric {
        Metric::Euclidean => score,
        Metric::Cosine => -score,
    }
}

fn from_dissimilarity(metric: Metric, d: f32) -> f32 {
    to_dissimilarity(metric, d)
}

impl ScoreSet {
    /// Sorts the finite scores (a non-finite score is an error of the
    /// recognizer, not a comparison; callers should not pass any).
    pub fn new(
        metric: Metric,
        genuine: impl IntoIterator<Item = f32>,
        impostor: impl IntoIterator<Item = f32>,
    ) -> Self {
        let sorted = |scores: Vec<f32>| {
            let mut d: Vec<f32> =
                scores.into_iter().filter(|s| s.is_finite()).map(|s| to_dissimilarity(metric, s)).collect();
            d.sort_unstable_by(f32::total_cmp);
            d
        };
        Self {
            metric,
            genuine: sorted(genuine.into_iter().collect()),
            impostor: sorted(impostor.into_iter().collect()),
        }
    }

    /// The score metric.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Genuine comparisons.
    pub fn genuine_count(&self) -> u64 {
        self.genuine.len() as u64
    }

    /// Impostor comparisons.
    pub fn impostor_count(&self) -> u64 {
        self.impostor.len() as u64
    }

    fn accepted(sorted: &[f32], d: f32) -> u64 {
        sorted.partition_point(|&v| v <= d) as u64
    }

    /// FMR and FNMR at `threshold`.
    pub fn rates_at(&self, threshold: f32) -> Rates {
        let d = to_dissimilarity(self.metric, threshold);
        let false_matches = Self::accepted(&self.impostor, d);
        let false_non_matches = self.genuine_count() - Self::accepted(&self.genuine, d);
        Rates {
            threshold,
            false_matches,
            impostors: self.impostor_count(),
            fmr: ratio(false_matches, self.impostor_count()),
            false_non_matches,
            genuine: self.genuine_count(),
            fnmr: ratio(false_non_matches, self.genuine_count()),
        }
    }

    /// The threshold that accepts at most `floor(target * impostors)`
    /// impostor comparisons, as close to that many as ties allow, and the
    /// rates there. The threshold sits halfway between the last accepted and
    /// the first rejected impostor score. `None` without impostors.
    pub fn at_fmr(&self, target: f64) -> Option<Rates> {
        let n = self.impostor.len();
        if n == 0 || !(target > 0.0 && target <= 1.0) {
            return None;
        }
        // The relative epsilon keeps 0.29 x 100 from flooring to 28.
        let allowed = ((target * n as f64 * (1.0 + 1e-12)).floor() as usize).min(n);
        let below_all = |first: f32| first - first.abs().max(1.0) * 1e-6;
        let d = if allowed == n {
            self.impostor[n - 1]
        } else {
            // A tie across the boundary cannot be split: accept only the
            // scores strictly below the tied value, and put the threshold
            // halfway between the last of them and the tie.
            let k = if allowed == 0 {
                0
            } else {
                self.impostor[..=allowed].partition_point(|&v| v < self.impostor[allowed]).min(allowed)
            };
            if k == 0 {
                below_all(self.impostor[0])
            } else {
                let mut d = (self.impostor[k - 1] + self.impostor[k]) / 2.0;
                // Adjacent floats: the midpoint may round onto the upper score.
                while Self::accepted(&self.impostor, d) > k as u64 {
                    d = d.next_down();
                }
                d
            }
        };
        Some(self.rates_at(from_dissimilarity(self.metric, d)))
    }

    /// Whether `target` is supported: at least one impostor comparison may be
    /// accepted (`target * impostors >= 1`). Below that, the reported point
    /// accepts none and says nothing about the target.
    pub fn supports(&self, target: f64) -> bool {
        target * self.impostor.len() as f64 >= 1.0
    }

    /// The equal error rate, searched over every distinct score as a threshold.
    /// `None` without genuine or impostor comparisons.
    pub fn eer(&self) -> Option<Eer> {
        if self.genuine.is_empty() || self.impostor.is_empty() {
            return None;
        }
        let mut best: Option<Eer> = None;
        let mut consider = |d: f32| {
            let r = self.rates_at(from_dissimilarity(self.metric, d));
            let gap = (r.fmr - r.fnmr).abs();
            let better = best.is_none_or(|b| gap < (b.fmr - b.fnmr).abs());
            if better {
                best = Some(Eer { rate: (r.fmr + r.fnmr) / 2.0, threshold: r.threshold, fmr: r.fmr, fnmr: r.fnmr });
            }
        };
        // FMR rises and FNMR falls with d; the crossing is between scores of
        // either set, so both sets' scores (and just below the lowest) are candidates.
        consider(self.genuine[0].min(self.impostor[0]).next_down());
        for &d in self.genuine.iter().chain(&self.impostor) {
            consider(d);
        }
        best
    }

    /// Points of the DET curve (FMR, FNMR), one per distinct impostor score
    /// at most, thinned to about `max_points` spread evenly in log FMR.
    pub fn det(&self, max_points: usize) -> Vec<(f64, f64)> {
        let n = self.impostor.len();
        if n == 0 || self.genuine.is_empty() {
            return Vec::new();
        }
        let mut points = Vec::new();
        let (lo, hi) = ((1.0 / n as f64).ln(), 0.0f64);
        let steps = max_points.max(2);
        let mut last = None;
        for k in 0..steps {
            let fmr = (lo + (hi - lo) * k as f64 / (steps - 1) as f64).exp();
            let Some(r) = self.at_fmr(fmr) else { continue };
            if r.false_matches == 0 || last == Some(r.false_matches) {
                continue;
            }
            last = Some(r.false_matches);
            points.push((r.fmr, r.fnmr));
        }
        points
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The 95 % upper bound on a rate when no error was seen in `n` independent
/// trials: about 3 / n ("rule of 3").
pub fn rule_of_three(n: u64) -> Option<f64> {
    (n > 0).then(|| (3.0 / n as f64).min(1.0))
}

/// A share as a percentage with two significant digits and no trailing
/// zeros (`0.1` gives `10`, `3.0 / 14497.0` gives `0.021`): for bounds,
/// which are rough by nature.
pub fn percent_2_significant(share: f64) -> String {
    let value = share * 100.0;
    if !value.is_finite() || value <= 0.0 {
        return "0".to_string();
    }
    let decimals = (1 - value.log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// How a report shows a rate at which no error was seen in `trials`: the
/// count, and the rule-of-3 upper 95 % bound in its place of an interval,
/// `0 of 30 (≤ 10 % at 95 %, rule of 3)`. A bootstrap interval of such a
/// rate is [0, 0] whatever the number of trials, and says nothing. `None`
/// without trials: there is no rate.
pub fn zero_errors_text(trials: u64) -> Option<String> {
    let bound = rule_of_three(trials)?;
    Some(format!("0 of {trials} (≤ {} % at 95 %, rule of 3)", percent_2_significant(bound)))
}

/// Fewer errors than this make a rate weak ("rule of 30").
pub const RULE_OF_30: u64 = 30;

/// Transaction-level rates from the failure-to-acquire rate and the
/// per-comparison rates: `FRR = FTA + FNMR (1 - FTA)`, `FAR = FMR (1 - FTA)`.
pub fn transaction_rates(fta: f64, fmr: f64, fnmr: f64) -> (f64, f64) {
    (fmr * (1.0 - fta), fta + fnmr * (1.0 - fta))
}

/// 95 % intervals of FMR and FNMR at `threshold` by subject bootstrap: each
/// of `replicates` resamples draws the subjects with replacement, and each
/// comparison counts once for every drawn copy of each of its subjects
/// (`m_a * m_b` for an impostor pair, `m_s` for a genuine comparison of `s`).
/// Comparisons of one subject are correlated; resampling subjects keeps that
/// in the interval, where resampling comparisons would make it too narrow.
///
/// `subjects` is the number of subjects (ids `0..subjects`, each with at
/// least one comparison for the resample size to mean anything); `seed`
/// makes it repeatable. A resample that draws no subject with a comparison of
/// a kind is left out of that rate's interval. Returns `(fmr, fnmr)` intervals.
pub fn bootstrap_at(
    metric: Metric,
    genuine: &[Comparison],
    impostor: &[Comparison],
    subjects: u32,
    threshold: f32,
    replicates: u32,
    seed: u64,
) -> (Interval, Interval) {
    let accept = |s: f32| to_dissimilarity(metric, s) <= to_dissimilarity(metric, threshold);
    let mut rng = SplitMix64(seed);
    let n = subjects as usize;
    let mut fmr = Vec::with_capacity(replicates as usize);
    let mut fnmr = Vec::with_capacity(replicates as usize);
    let mut m = vec![0u32; n];
    for _ in 0..replicates {
        m.iter_mut().for_each(|v| *v = 0);
        for _ in 0..n {
            m[(rng.next() % n as u64) as usize] += 1;
        }
        let (mut gen_w, mut gen_err) = (0u64, 0u64);
        for c in genuine {
            let w = u64::from(m[c.subjects.0 as usize]);
            gen_w += w;
            if !accept(c.score) {
                gen_err += w;
            }
        }
        let (mut imp_w, mut imp_err) = (0u64, 0u64);
        for c in impostor {
            let w = u64::from(m[c.subjects.0 as usize]) * u64::from(m[c.subjects.1 as usize]);
            imp_w += w;
            if accept(c.score) {
                imp_err += w;
            }
        }
        // A resample without any comparison of a kind says nothing about
        // that rate: it is left out rather than counted as 0.
        if imp_w > 0 {
            fmr.push(imp_err as f64 / imp_w as f64);
        }
        if gen_w > 0 {
            fnmr.push(gen_err as f64 / gen_w as f64);
        }
    }
    (percentile_interval(&mut fmr), percentile_interval(&mut fnmr))
}

/// The 2.5th and 97.5th percentiles.
fn percentile_interval(values: &mut [f64]) -> Interval {
    if values.is_empty() {
        return Interval { low: 0.0, high: 0.0 };
    }
    values.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| values[((q * (values.len() - 1) as f64).round() as usize).min(values.len() - 1)];
    Interval { low: at(0.025), high: at(0.975) }
}

/// A small, seedable generator for resampling (not for anything secret).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// LFW-style k-fold accuracy: for each fold, the threshold that maximises
/// accuracy on the other folds (the middle of the best interval between
/// training scores), applied to this one. Pairs carry `(fold,
/// genuine, score)`; a pair without a score (failure to acquire) counts as a
/// non-match. Folds are the distinct fold numbers that occur. Returns each
/// fold's accuracy and threshold, in fold order; `None` with fewer than 2 folds.
pub fn k_fold_accuracy(metric: Metric, pairs: &[(usize, bool, Option<f32>)]) -> Option<Vec<(f64, f32)>> {
    // The folds that occur, whatever their numbering (0-based, 1-based, gaps).
    let folds: std::collections::BTreeSet<usize> = pairs.iter().map(|p| p.0).collect();
    if folds.len() < 2 {
        return None;
    }
    let accuracy = |set: &[&(usize, bool, Option<f32>)], t: f32| -> f64 {
        let d = to_dissimilarity(metric, t);
        let right =
            set.iter().filter(|(_, same, s)| s.is_some_and(|s| to_dissimilarity(metric, s) <= d) == *same).count();
        ratio(right as u64, set.len() as u64)
    };
    let mut out = Vec::new();
    for f in folds {
        let train: Vec<_> = pairs.iter().filter(|p| p.0 != f).collect();
        let test: Vec<_> = pairs.iter().filter(|p| p.0 == f).collect();
        // Candidates: every training score, and below the lowest (accept none).
        let mut candidates: Vec<f32> = train.iter().filter_map(|p| p.2).map(|s| to_dissimilarity(metric, s)).collect();
        candidates.sort_unstable_by(f32::total_cmp);
        candidates.dedup();
        // Accuracy is constant from one candidate up to the next: the best
        // interval's midpoint is the threshold (the highest candidate stands alone).
        let mut best = (f64::MIN, f32::MIN);
        let lowest = candidates.first().map_or(0.0, |d| d.next_down());
        let all: Vec<f32> = std::iter::once(lowest).chain(candidates.iter().copied()).collect();
        for (i, &d) in all.iter().enumerate() {
            let a = accuracy(&train, from_dissimilarity(metric, d));
            if a > best.0 {
                // The first candidate (below every score) accepts none: keep it as is.
                let mid = if i == 0 { d } else { all.get(i + 1).map_or(d, |&next| (d + next) / 2.0) };
                best = (a, from_dissimilarity(metric, mid));
            }
        }
        out.push((accuracy(&test, best.1), best.1));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(genuine: &[f32], impostor: &[f32]) -> ScoreSet {
        ScoreSet::new(Metric::Euclidean, genuine.iter().copied(), impostor.iter().copied())
    }

    #[test]
    fn rates_at_a_threshold_count_ties_as_accepted() {
        // Distances: genuine 0.2 0.4 0.6 0.8; impostor 0.5 0.6 0.9 1.0.
        let s = set(&[0.8, 0.2, 0.6, 0.4], &[1.0, 0.6, 0.5, 0.9]);
        let r = s.rates_at(0.6);
        // Accepted (<= 0.6): genuine 0.2 0.4 0.6 (1 rejected), impostor 0.5 0.6 (2 accepted).
        assert_eq!((r.false_non_matches, r.false_matches), (1, 2));
        assert_eq!((r.fnmr, r.fmr), (0.25, 0.5));
        let r = s.rates_at(0.1);
        assert_eq!((r.fnmr, r.fmr), (1.0, 0.0));
    }

    #[test]
    fn cosine_scores_accept_at_or_above_the_threshold() {
        let s = ScoreSet::new(Metric::Cosine, [0.9, 0.7, 0.3], [0.1, 0.5, 0.7]);
        let r = s.rates_at(0.7);
        assert_eq!((r.false_non_matches, r.false_matches), (1, 1), "0.3 rejected; 0.7 impostor accepted");
    }

    #[test]
    fn fmr_target_never_exceeded_even_with_ties() {
        // 10 impostors, 3 tied at 0.5: FMR 0.2 allows 2, but the tie makes it 0 or 3.
        let s = set(&[0.1], &[0.3, 0.5, 0.5, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2]);
        let r = s.at_fmr(0.2).unwrap();
        assert_eq!(r.false_matches, 1, "only 0.3 can be accepted without the tied three");
        assert!(r.threshold >= 0.3 && r.threshold < 0.5, "{}", r.threshold);
        let r = s.at_fmr(0.4).unwrap();
        assert_eq!(r.false_matches, 4);
        assert!((0.5..0.7).contains(&r.threshold));
        // Below one impostor's worth: nothing accepted, and the target is not supported.
        let r = s.at_fmr(0.05).unwrap();
        assert_eq!(r.false_matches, 0);
        assert!(!s.supports(0.05) && s.supports(0.1));
    }

    #[test]
    fn a_tie_across_the_boundary_puts_the_threshold_halfway_below_it() {
        // Allowed 2 of 5, but 0.4 is tied at places 2 and 3: accept only 0.2.
        let s = set(&[0.1], &[0.2, 0.4, 0.4, 0.6, 0.8]);
        let r = s.at_fmr(0.4).unwrap();
        assert_eq!(r.false_matches, 1);
        assert!((r.threshold - 0.3).abs() < 1e-6, "{}", r.threshold);
        // 0.29 x 100 impostors allows 29, not 28.
        let s = set(&[0.1], &(0..100).map(|i| i as f32 / 100.0 + 0.5).collect::<Vec<_>>());
        assert_eq!(s.at_fmr(0.29).unwrap().false_matches, 29);
    }

    #[test]
    fn folds_numbered_from_one_are_all_real_folds() {
        let pairs = [(1, true, Some(0.2)), (1, false, Some(0.8)), (2, true, Some(0.3)), (2, false, Some(0.7))];
        let folds = k_fold_accuracy(Metric::Euclidean, &pairs).unwrap();
        assert_eq!(folds.len(), 2);
        assert!(folds.iter().all(|f| f.0 == 1.0), "{folds:?}");
    }

    #[test]
    fn accepting_none_is_a_threshold_below_every_score() {
        // Training fold: all impostors, so the best is to accept nothing.
        let pairs = [(0, false, Some(0.2)), (0, false, Some(0.3)), (1, false, Some(0.2)), (1, false, None)];
        let folds = k_fold_accuracy(Metric::Euclidean, &pairs).unwrap();
        assert!(folds[1].1 < 0.2, "{folds:?}");
        assert_eq!(folds[1].0, 1.0, "fold 1's impostor at 0.2 rejected, its pair without a face a non-match");
    }

    #[test]
    fn equal_error_rate_of_a_hand_computed_case() {
        // Genuine 0.1 0.2 0.3 0.7; impostor 0.4 0.6 0.8 0.9.
        // At t = 0.3: FNMR 1/4 (0.7), FMR 0/4. At t = 0.4: FNMR 1/4, FMR 1/4: equal, EER 0.25.
        let s = set(&[0.1, 0.2, 0.3, 0.7], &[0.4, 0.6, 0.8, 0.9]);
        let e = s.eer().unwrap();
        assert_eq!((e.fmr, e.fnmr, e.rate), (0.25, 0.25, 0.25));
        assert_eq!(e.threshold, 0.4);
        // Perfectly separated sets: EER 0.
        let e = set(&[0.1, 0.2], &[0.5, 0.6]).eer().unwrap();
        assert_eq!(e.rate, 0.0);
        assert!(set(&[], &[0.5]).eer().is_none());
    }

    #[test]
    fn zero_errors_give_the_rule_of_three_bound() {
        assert_eq!(rule_of_three(300), Some(0.01));
        assert_eq!(rule_of_three(2), Some(1.0));
        assert_eq!(rule_of_three(0), None);
        let r = set(&[0.1, 0.2], &[0.5, 0.6, 0.7]).rates_at(0.3);
        assert_eq!((r.false_matches, r.false_non_matches), (0, 0));
    }

    #[test]
    fn zero_error_rates_are_shown_with_their_rule_of_three_bound() {
        assert_eq!(zero_errors_text(30).as_deref(), Some("0 of 30 (≤ 10 % at 95 %, rule of 3)"));
        assert_eq!(zero_errors_text(6).as_deref(), Some("0 of 6 (≤ 50 % at 95 %, rule of 3)"));
        assert_eq!(zero_errors_text(2).as_deref(), Some("0 of 2 (≤ 100 % at 95 %, rule of 3)"));
        // 3 / 14,497 = 0.0207 %; 3 / 16,516,878 = 0.0000182 %; 3 / 40 = 7.5 %.
        assert_eq!(zero_errors_text(14_497).as_deref(), Some("0 of 14497 (≤ 0.021 % at 95 %, rule of 3)"));
        assert_eq!(percent_2_significant(3.0 / 16_516_878.0), "0.000018");
        assert_eq!(percent_2_significant(3.0 / 40.0), "7.5");
        assert_eq!(percent_2_significant(3.0 / 60.0), "5");
        assert_eq!(zero_errors_text(0), None, "no trials, no rate");
    }

    #[test]
    fn transaction_rates_follow_19795_1() {
        let (far, frr) = transaction_rates(0.1, 0.01, 0.2);
        assert!((far - 0.009).abs() < 1e-12 && (frr - 0.28).abs() < 1e-12, "{far} {frr}");
    }

    #[test]
    fn k_fold_accuracy_picks_the_threshold_on_the_other_folds() {
        // Fold 0 is perfectly separable at 0.5; fold 1 too. Each fold's
        // threshold comes from the other and still separates it.
        let pairs = [
            (0, true, Some(0.2)),
            (0, false, Some(0.8)),
            (1, true, Some(0.3)),
            (1, false, Some(0.7)),
            (1, true, None), // failure to acquire: counted as a non-match
        ];
        let folds = k_fold_accuracy(Metric::Euclidean, &pairs).unwrap();
        assert_eq!(folds[0].0, 1.0);
        assert!((folds[1].0 - 2.0 / 3.0).abs() < 1e-12, "{folds:?}");
        // A single fold cannot be cross-validated.
        assert!(k_fold_accuracy(Metric::Euclidean, &pairs[..2]).is_none());
    }

    #[test]
    fn det_points_run_from_low_to_high_fmr_with_falling_fnmr() {
        let genuine: Vec<f32> = (0..100).map(|i| i as f32 / 100.0).collect();
        let impostor: Vec<f32> = (0..1000).map(|i| 0.5 + i as f32 / 1000.0).collect();
        let det = set(&genuine, &impostor).det(20);
        assert!(det.len() >= 10, "{det:?}");
        assert!(det.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 >= w[1].1), "{det:?}");
        assert_eq!(det[0].0, 0.001);
    }

    #[test]
    fn subject_bootstrap_brackets_the_rate_and_is_repeatable() {
        // 20 subjects, 5 genuine comparisons each; subjects 0..4 fail all of theirs.
        let genuine: Vec<Comparison> = (0..20u32)
            .flat_map(|s| (0..5).map(move |_| Comparison { score: if s < 4 { 0.9 } else { 0.1 }, subjects: (s, s) }))
            .collect();
        let impostor: Vec<Comparison> = (0..20u32)
            .flat_map(|a| {
                (a + 1..20).map(move |b| Comparison { score: if a == 0 { 0.3 } else { 0.8 }, subjects: (a, b) })
            })
            .collect();
        let (fmr, fnmr) = bootstrap_at(Metric::Euclidean, &genuine, &impostor, 20, 0.5, 500, 7);
        // FNMR is 20 / 100 = 0.2; FMR 19 / 190 = 0.1.
        assert!(fnmr.low < 0.2 && fnmr.high > 0.2 && fnmr.low >= 0.0, "{fnmr:?}");
        assert!(fnmr.high - fnmr.low > 0.1, "errors clustered in 4 subjects: a wide interval {fnmr:?}");
        assert!(fmr.low < 0.1 && fmr.high > 0.1, "{fmr:?}");
        assert_eq!(bootstrap_at(Metric::Euclidean, &genuine, &impostor, 20, 0.5, 500, 7), (fmr, fnmr));
        // One subject with genuine comparisons, all failing: resamples that miss
        // it say nothing and are left out, so the interval is [1, 1], not [0, 1].
        let one = [Comparison { score: 0.9, subjects: (0, 0) }];
        let (_, fnmr) = bootstrap_at(Metric::Euclidean, &one, &impostor, 20, 0.5, 200, 3);
        assert_eq!((fnmr.low, fnmr.high), (1.0, 1.0));
    }
}
