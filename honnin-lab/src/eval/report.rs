//! What `honnin-lab eval` reports: FNMR and FMR at target FMRs and at
//! thresholds with subject-bootstrap intervals, EER, k-fold accuracy and
//! failures to acquire; as JSON (report.json), a Markdown table (report.md)
//! and a DET curve (det.svg).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{bail, Context, Result};
use honnin::metrics::{self, Comparison, Rates, ScoreSet, RULE_OF_30};

use super::args::EvalArgs;
use super::protocol::Protocol;
use super::run::SetRun;

/// Target FMRs reported (where the impostor count supports them).
const TARGETS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-5];

/// What one model set gave.
pub(super) struct SetResult {
    label: String,
    det: Vec<(f64, f64)>,
    json: serde_json::Value,
    rows: Vec<String>,
    warnings: Vec<String>,
}

/// The rates of one model set's run: at the target FMRs, at the calibrated
/// and the given thresholds, the EER and the k-fold accuracy, with subject
/// bootstrap intervals; as JSON and as rows of the Markdown table.
pub(super) fn set_result(args: &EvalArgs, protocol: &Protocol, run: SetRun) -> Result<SetResult> {
    let (label, metric) = (run.label, run.metric);
    let made = |pairs: &[(usize, usize)], scores: &[Option<f32>]| -> Vec<Comparison> {
        pairs
            .iter()
            .zip(scores)
            .filter_map(|(&(a, b), s)| {
                s.map(|score| Comparison { score, subjects: (protocol.subject_of[a], protocol.subject_of[b]) })
            })
            .collect()
    };
    let mut genuine = made(&protocol.genuine, &run.genuine_scores);
    let mut impostor = made(&protocol.impostor, &run.impostor_scores);
    if genuine.iter().chain(&impostor).any(|c| !c.score.is_finite()) {
        bail!("the recognizer gave a non-finite score");
    }
    // Subjects renumbered densely over those that take part in a comparison,
    // so that every subject a bootstrap resample draws counts.
    let mut dense: BTreeMap<u32, u32> = BTreeMap::new();
    for c in genuine.iter().chain(&impostor) {
        for s in [c.subjects.0, c.subjects.1] {
            let next = dense.len() as u32;
            dense.entry(s).or_insert(next);
        }
    }
    for c in genuine.iter_mut().chain(impostor.iter_mut()) {
        c.subjects = (dense[&c.subjects.0], dense[&c.subjects.1]);
    }
    let subjects = dense.len() as u32;
    let set_scores = ScoreSet::new(metric, genuine.iter().map(|c| c.score), impostor.iter().map(|c| c.score));
    let fta_images = run.failed.iter().filter(|&&f| f).count();
    let missing_references = run.missing.iter().filter(|&&m| m).count();
    let fta = fta_images as f64 / protocol.items.len().max(1) as f64;
    let lost_genuine = protocol.genuine.len() - genuine.len();
    let lost_impostor = protocol.impostor.len() - impostor.len();
    // Transaction level: the share of genuine (impostor) transactions that
    // could not be compared, whichever side failed.
    let fta_genuine = lost_genuine as f64 / protocol.genuine.len().max(1) as f64;
    let fta_impostor = lost_impostor as f64 / protocol.impostor.len().max(1) as f64;

    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    let mut points = Vec::new();
    let interval =
        |t: f32| metrics::bootstrap_at(metric, &genuine, &impostor, protocol.subjects, t, args.bootstrap, args.seed);
    let describe = |r: &Rates, what: &str, warnings: &mut Vec<String>| -> serde_json::Value {
        let (fmr_ci, fnmr_ci) = interval(r.threshold);
        if r.false_non_matches < RULE_OF_30 {
            warnings
                .push(format!("{label}: FNMR {what} rests on {} errors (< {RULE_OF_30}): weak", r.false_non_matches));
        }
        if r.false_matches < RULE_OF_30 {
            warnings.push(format!("{label}: FMR {what} rests on {} errors (< {RULE_OF_30}): weak", r.false_matches));
        }
        let (far, _) = metrics::transaction_rates(fta_impostor, r.fmr, r.fnmr);
        let (_, frr) = metrics::transaction_rates(fta_genuine, r.fmr, r.fnmr);
        serde_json::json!({
            "threshold": r.threshold,
            "fmr": r.fmr, "false_matches": r.false_matches, "impostors": r.impostors, "fmr_ci95": fmr_ci,
            // Rule of 3 assumes independent trials; comparisons sharing a subject are not.
            "fmr_rule_of_3": (r.false_matches == 0).then(|| metrics::rule_of_three(r.impostors)).flatten(),
            "fnmr": r.fnmr, "false_non_matches": r.false_non_matches, "genuine": r.genuine, "fnmr_ci95": fnmr_ci,
            "fnmr_rule_of_3": (r.false_non_matches == 0).then(|| metrics::rule_of_three(r.genuine)).flatten(),
            "transaction_far": far, "transaction_frr": frr,
        })
    };
    for target in TARGETS {
        if !set_scores.supports(target) {
            points.push(serde_json::json!({ "target_fmr": target, "supported": false,
                "reason": format!("{} impostor comparisons cannot show FMR {target}", set_scores.impostor_count()) }));
            continue;
        }
        let r = set_scores.at_fmr(target).context("impostor scores")?;
        let mut v = describe(&r, &format!("at FMR {target}"), &mut warnings);
        v["target_fmr"] = serde_json::json!(target);
        v["supported"] = serde_json::json!(true);
        rows.push(format!(
            "| {label} | FMR {target:e} | {:.4} | {} | {} |",
            r.threshold,
            pct_ci(r.fnmr, r.false_non_matches, r.genuine, &v["fnmr_ci95"]),
            pct_ci(r.fmr, r.false_matches, r.impostors, &v["fmr_ci95"]),
        ));
        points.push(v);
    }
    let mut at_thresholds = Vec::new();
    let calibrated_threshold =
        run.calibrated.map(|t| (t.value, format!("calibrated (FMR {})", t.target_fmr.unwrap_or(f64::NAN))));
    for (t, what) in calibrated_threshold.into_iter().chain(args.thresholds.iter().map(|&t| (t, "given".to_string()))) {
        let r = set_scores.rates_at(t);
        let mut v = describe(&r, &format!("at threshold {t}"), &mut warnings);
        v["source"] = serde_json::json!(what);
        rows.push(format!(
            "| {label} | {what} | {t:.4} | {} | {} |",
            pct_ci(r.fnmr, r.false_non_matches, r.genuine, &v["fnmr_ci95"]),
            pct_ci(r.fmr, r.false_matches, r.impostors, &v["fmr_ci95"]),
        ));
        at_thresholds.push(v);
    }
    let eer = set_scores.eer();
    if let Some(e) = &eer {
        rows.push(format!("| {label} | EER | {:.4} | {:.2} % | {:.2} % |", e.threshold, e.fnmr * 100.0, e.fmr * 100.0));
    }
    let folds = protocol.folds.as_ref().and_then(|(gf, imf)| {
        let pairs: Vec<(usize, bool, Option<f32>)> = gf
            .iter()
            .zip(&run.genuine_scores)
            .map(|(&f, &s)| (f, true, s))
            .chain(imf.iter().zip(&run.impostor_scores).map(|(&f, &s)| (f, false, s)))
            .collect();
        metrics::k_fold_accuracy(metric, &pairs)
    });
    let accuracy = folds.as_ref().map(|f| {
        let acc: Vec<f64> = f.iter().map(|(a, _)| *a).collect();
        let mean = acc.iter().sum::<f64>() / acc.len() as f64;
        let sd = (acc.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / acc.len() as f64).sqrt();
        (mean, sd, f.clone())
    });
    if let Some((mean, sd, f)) = &accuracy {
        rows.push(format!("| {label} | {}-fold accuracy | | {:.2} % ± {:.2} | |", f.len(), mean * 100.0, sd * 100.0));
    }
    let json = serde_json::json!({
        "model_set": label,
        "models": run.models,
        "metric": metric,
        "mirror_averaging": run.mirror_averaging,
        "reference": protocol.reference,
        "images": protocol.items.len(),
        "failures_to_acquire": fta_images,
        "fta": fta,
        "card_like_references_missing": missing_references,
        "fta_genuine_transactions": fta_genuine,
        "fta_impostor_transactions": fta_impostor,
        "genuine_comparisons": genuine.len(),
        "impostor_comparisons": impostor.len(),
        "genuine_pairs_lost_to_fta": lost_genuine,
        "impostor_pairs_lost_to_fta": lost_impostor,
        "subjects": subjects,
        "at_target_fmr": points,
        "at_thresholds": at_thresholds,
        "eer": eer,
        "k_fold": accuracy.as_ref().map(|(mean, sd, f)| serde_json::json!({
            "folds": f.len(), "accuracy_mean": mean, "accuracy_sd": sd,
            "fold_accuracies": f.iter().map(|x| x.0).collect::<Vec<_>>(),
            "fold_thresholds": f.iter().map(|x| x.1).collect::<Vec<_>>(),
            "note": "pairs without a face count as non-matches",
        })),
        "warnings": warnings,
        "seconds_embedding": run.embed_seconds,
        "seconds_comparing": run.compare_seconds,
    });
    Ok(SetResult { label, det: set_scores.det(60), json, rows, warnings })
}

/// `12.345 % [11.000, 13.900] (n)`; with no error, the count and the rule-of-3
/// bound (`0 of 30 (≤ 10 % at 95 %, rule of 3)`), since the bootstrap
/// interval of a rate of 0 is [0, 0] however few the trials.
fn pct_ci(rate: f64, errors: u64, trials: u64, ci: &serde_json::Value) -> String {
    if trials == 0 {
        return "n/a (no comparisons)".to_string();
    }
    if errors == 0 {
        return metrics::zero_errors_text(trials).unwrap_or_default();
    }
    let (lo, hi) = (ci["low"].as_f64().unwrap_or(f64::NAN), ci["high"].as_f64().unwrap_or(f64::NAN));
    format!("{:.3} % [{:.3}, {:.3}] ({errors})", rate * 100.0, lo * 100.0, hi * 100.0)
}

/// The JSON report: the protocol's counts, and each model set's results.
pub(super) fn json(args: &EvalArgs, protocol: &Protocol, results: &[SetResult], seconds: f64) -> serde_json::Value {
    serde_json::json!({
        "protocol": protocol.description,
        "subjects": protocol.subjects,
        "images": protocol.items.len(),
        "genuine_pairs": protocol.genuine.len(),
        "impostor_pairs": protocol.impostor.len(),
        "protocol_warnings": protocol.warnings,
        "skipped_entries": protocol.skipped.json(),
        "bootstrap_replicates": args.bootstrap,
        "seed": args.seed,
        "model_sets": results.iter().map(|r| &r.json).collect::<Vec<_>>(),
        "seconds": seconds,
    })
}

/// The Markdown summary (report.md): counts, the table of rates, warnings.
pub(super) fn markdown(protocol: &Protocol, results: &[SetResult], seconds: f64) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# honnin evaluation\n");
    let _ = writeln!(md, "- Protocol: {}", protocol.description);
    let _ = writeln!(
        md,
        "- Subjects: {}; images: {}; genuine pairs: {}; impostor pairs: {}",
        protocol.subjects,
        protocol.items.len(),
        protocol.genuine.len(),
        protocol.impostor.len()
    );
    if let Some(summary) = protocol.skipped.summary() {
        let _ = writeln!(md, "- Left out while listing the tree (paths in the JSON report): {summary}");
    }
    for r in results {
        let j = &r.json;
        let _ = writeln!(
            md,
            "- {}: failures to acquire {} of {} images (FTA {:.3} %); {} genuine and {} impostor comparisons made \
             ({} and {} lost to FTA); embedding {:.0} s, comparing {:.1} s",
            r.label,
            j["failures_to_acquire"],
            j["images"],
            j["fta"].as_f64().unwrap_or(0.0) * 100.0,
            j["genuine_comparisons"],
            j["impostor_comparisons"],
            j["genuine_pairs_lost_to_fta"],
            j["impostor_pairs_lost_to_fta"],
            j["seconds_embedding"].as_f64().unwrap_or(0.0),
            j["seconds_comparing"].as_f64().unwrap_or(0.0),
        );
    }
    let _ = writeln!(
        md,
        "\n| model set | operating point | threshold | FNMR [95 % CI] (errors) | FMR [95 % CI] (errors) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    for r in results {
        for row in &r.rows {
            let _ = writeln!(md, "{row}");
        }
    }
    let _ = writeln!(
        md,
        "\nIntervals: 2.5th to 97.5th percentile of a subject bootstrap (subjects drawn with replacement). \
         FNMR and FMR are per comparison; a comparison is a match when the score passes the threshold. \
         Where no error was seen, the rate shows its count and the rule-of-3 upper 95 % bound (3 / N) instead: \
         it treats the comparisons as independent, which those sharing a subject are not, so read it as optimistic."
    );
    for w in &protocol.warnings {
        let _ = writeln!(md, "\n**Protocol warning:** {w}");
    }
    let warnings: Vec<&String> = results.iter().flat_map(|r| &r.warnings).collect();
    if !warnings.is_empty() {
        let _ = writeln!(md, "\nWarnings (rule of 30: a rate backed by fewer than 30 errors is weak):\n");
        for w in warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    let _ = writeln!(md, "\n({seconds:.0} s in all)");
    md
}

/// The inverse of the standard normal distribution function (Acklam's
/// rational approximation, relative error below 1.2e-9).
fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// A DET curve (FNMR against FMR, both on normal-deviate axes) as SVG.
pub(super) fn det_svg(results: &[SetResult]) -> String {
    let (w, h, left, top, right, bottom) = (640.0, 520.0, 70.0, 30.0, 20.0, 60.0);
    let ticks = [1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.2, 0.5];
    let (lo, hi) = (probit(1e-5), probit(0.5));
    let x = |fmr: f64| left + (probit(fmr) - lo) / (hi - lo) * (w - left - right);
    let y = |fnmr: f64| top + (1.0 - (probit(fnmr) - lo) / (hi - lo)) * (h - top - bottom);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let label = |v: f64| if v >= 0.01 { format!("{}%", v * 100.0) } else { format!("{v:e}") };
    for &t in &ticks {
        let (tx, ty) = (x(t), y(t));
        let _ = writeln!(svg, r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{:.1}" stroke="#ddd"/>"##, h - bottom);
        let _ = writeln!(svg, r##"<line x1="{left}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#ddd"/>"##, w - right);
        let _ =
            writeln!(svg, r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, h - bottom + 16.0, label(t));
        let _ =
            writeln!(svg, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, left - 6.0, ty + 4.0, label(t));
    }
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
        w - left - right,
        h - top - bottom
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">FMR (false match rate)</text>"#,
        (left + w - right) / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">FNMR (false non-match rate)</text>"#,
        (top + h - bottom) / 2.0,
        (top + h - bottom) / 2.0
    );
    let _ = writeln!(
        svg,
        r#"<clipPath id="plot"><rect x="{left}" y="{top}" width="{:.1}" height="{:.1}"/></clipPath>"#,
        w - left - right,
        h - top - bottom
    );
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    for (k, r) in results.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let pts: Vec<String> = r
            .det
            .iter()
            .filter(|(fmr, fnmr)| *fmr > 0.0 && *fnmr > 0.0)
            .map(|&(fmr, fnmr)| format!("{:.1},{:.1}", x(fmr.max(1e-5)), y(fnmr.clamp(1e-5, 0.5))))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" clip-path="url(#plot)"/>"#,
            pts.join(" ")
        );
        // The default operating point marked on the curve.
        let near = |p: &&(f64, f64)| (p.0.ln() - honnin::calibration::DEFAULT_TARGET_FMR.ln()).abs();
        if let Some(&(fmr, fnmr)) = r.det.iter().filter(|p| p.1 > 0.0).min_by(|a, b| near(a).total_cmp(&near(b))) {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>FMR {fmr:.2e}, FNMR {:.2} %</title></circle>"#,
                x(fmr.max(1e-5)),
                y(fnmr.clamp(1e-5, 0.5)),
                fnmr * 100.0
            );
        }
        let ly = top + 20.0 + 18.0 * k as f64;
        let _ = writeln!(
            svg,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/>"#,
            w - right - 250.0,
            w - right - 225.0
        );
        let _ = writeln!(svg, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, w - right - 220.0, ly + 4.0, r.label);
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probit_inverts_the_normal_distribution() {
        assert!(probit(0.5).abs() < 1e-9);
        assert!((probit(0.975) - 1.959964).abs() < 1e-5);
        assert!((probit(1e-3) + 3.090232).abs() < 1e-5);
    }
}
