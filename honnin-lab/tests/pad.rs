//! `honnin-lab pad-eval`: presentation-attack detection evaluated the
//! ISO/IEC 30107-3 way, from a labels CSV and from live/ and attack/<type>/
//! folders.

use std::path::{Path, PathBuf};

use honnin::pad::PadCalibration;

use crate::common::{self, honnin, root, spoof_samples};

fn sample(file: &str) -> PathBuf {
    spoof_samples().join(file)
}

#[test]
fn pad_eval_reports_each_decision_with_apcer_and_bpcer_from_csv_and_from_folders() {
    let calibration = PadCalibration::from_file(root().join("calibration/pad-minifasnet.json")).unwrap();
    let dir = common::scratch_dir("pad-eval");
    // `honnin-lab pad-eval LABELLED --json FILE`.
    let run = |input: &Path, json: &Path| {
        let out = honnin(&["pad-eval", input.to_str().unwrap(), "--json", json.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
        (String::from_utf8(out.stdout).unwrap(), report)
    };
    let (table, report) = run(&spoof_samples().join("labels.csv"), &dir.join("csv.json"));
    let rows = report["presentations"].as_array().unwrap();
    assert_eq!(rows.len(), 10, "every labelled image has its decision");
    assert!(table.contains("| APCER, attack type unknown |") && table.contains("| BPCER |"), "{table}");
    // The attacks' counts agree with what the calibration recorded at the same threshold.
    let (_, attacks) = &calibration.attacks[0];
    let apcer = &report["apcer"][0];
    assert_eq!(apcer["scored"], attacks.scored);
    assert_eq!(apcer["accepted_as_live"], attacks.scored - attacks.below_threshold);
    assert_eq!(report["bona_fide"]["scored"], 5);
    assert_eq!(report["bona_fide"]["rejected"], 0, "the live samples all pass");
    // Each decision follows from its score and the threshold.
    let threshold = report["threshold"].as_f64().unwrap();
    for row in rows {
        let score = row["liveness"].as_f64().unwrap();
        let want = if score >= threshold { "live" } else { "attack_suspected" };
        assert_eq!(row["decision"], want, "{row}");
    }

    // The folder layout: live/ and attack/<type>/, the same images.
    let layout = dir.join("layout");
    for (file, to) in [
        ("vietmoney/true_001.jpg", "live"),
        ("silent_face/image_T1.jpg", "live"),
        ("vietmoney/fake_002.jpg", "attack/print"),
        ("silent_face/image_F2.jpg", "attack/print"),
        ("vietmoney/fake_001.jpg", "attack/replay"),
    ] {
        std::fs::create_dir_all(layout.join(to)).unwrap();
        let name = file.replace('/', "_");
        std::fs::copy(sample(file), layout.join(to).join(name)).unwrap();
    }
    let (table, report) = run(&layout, &dir.join("layout.json"));
    let types: Vec<&str> =
        report["apcer"].as_array().unwrap().iter().map(|a| a["attack_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["print", "replay"], "{table}");
    assert_eq!(report["apcer"][0]["scored"], 2);
    assert_eq!(report["bona_fide"]["scored"], 2);
    // The maximum over types is the worst type's APCER.
    let worst = report["apcer"].as_array().unwrap().iter().filter_map(|a| a["apcer"].as_f64()).fold(0.0, f64::max);
    assert_eq!(report["apcer_max"]["apcer"].as_f64().unwrap(), worst);
    let _ = std::fs::remove_dir_all(&dir);
}
