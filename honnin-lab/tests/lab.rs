//! honnin-lab's tools for presentation-attack detection: `pad-eval` on
//! several engines, `pad-calibrate`'s output, and the flags the PAD commands
//! refuse.

use std::path::Path;

use crate::common::{self, honnin, root, spoof_samples};

/// `honnin-lab pad-eval labels.csv --jobs N --json FILE`: the report as written.
fn pad_report(jobs: &str) -> serde_json::Value {
    let labels = spoof_samples().join("labels.csv");
    let dir = common::scratch_dir(&format!("pad-report-{jobs}"));
    let json = dir.join("report.json");
    let out = honnin(&["pad-eval", labels.to_str().unwrap(), "--jobs", jobs, "--json", json.to_str().unwrap()]);
    assert!(out.status.success(), "--jobs {jobs}: {}", String::from_utf8_lossy(&out.stderr));
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    report
}

#[test]
fn pad_evaluation_on_two_engines_decides_every_image_as_one_engine_does() {
    let one = pad_report("1");
    let two = pad_report("2");
    let rows = |r: &serde_json::Value| r["presentations"].as_array().unwrap().clone();
    assert_eq!(rows(&one).len(), 10, "every labelled image has its row");
    for (a, b) in rows(&one).iter().zip(&rows(&two)) {
        assert_eq!(a["file"], b["file"], "the same order");
        assert_eq!(a["decision"], b["decision"], "{a} against {b}");
        // Each image is scored alone by an engine built the same way: the same score, to the bit.
        assert_eq!(a["liveness"].as_f64().map(f64::to_bits), b["liveness"].as_f64().map(f64::to_bits), "{a} {b}");
    }
    assert_eq!(one, two, "the whole report is the same");
    // Both kinds of decision are among them, so the comparison means something.
    let all = rows(&one);
    let decisions: Vec<&str> = all.iter().map(|r| r["decision"].as_str().unwrap()).collect();
    assert!(decisions.contains(&"live") && decisions.contains(&"attack_suspected"), "{decisions:?}");

    // Labelled with the models that scored: the detector and the PAD models, not the recognizer.
    let roles: Vec<&str> = one["models"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["detector", "pad", "pad"], "{}", one["models"]);
    // No live sample is rejected: BPCER 0 of 5, reported with its rule-of-3 bound (3 / 5).
    assert_eq!(one["bona_fide"]["rejected"], 0);
    assert_eq!(one["bpcer_rule_of_3"].as_f64(), Some(0.6), "{one}");
    // One attack of five accepted: no rule-of-3 bound there.
    assert_eq!(one["apcer"][0]["accepted_as_live"], 1);
    assert!(one["apcer"][0]["apcer_rule_of_3"].is_null(), "{}", one["apcer"][0]);
    let labels = spoof_samples().join("labels.csv");
    let out = honnin(&["pad-eval", labels.to_str().unwrap(), "--jobs", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("| BPCER | 0 of 5 (≤ 60 % at 95 %, rule of 3) | 0 |"), "{table}");
    assert!(table.contains("| APCER, attack type unknown | 20.00 % (1 / 5) | 0 |"), "{table}");
}

/// The committed calibration files' bytes, by name.
fn committed_calibrations() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(root().join("calibration"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn pad_calibrate_writes_only_where_told_and_only_whole_files() {
    let before = committed_calibrations();
    assert!(before.iter().any(|(name, _)| name == "pad-minifasnet.json"));
    let dir = common::scratch_dir("pad-calibrate");
    let data = common::data_dir();
    let labels = spoof_samples().join("labels.csv");
    let calibrate = |extra: &[&str]| {
        let args = [
            &["pad-calibrate", "--data", data.to_str().unwrap(), "--lfw-identities", "12"][..],
            &["--labelled", labels.to_str().unwrap(), "--target-bpcer", "0.2"],
            extra,
        ]
        .concat();
        honnin(&args)
    };
    // No --out: a usage error, not the committed file silently replaced.
    let out = calibrate(&[]);
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
    // A folder in the way: refused (exit 3) before any scoring, the folder as it was.
    std::fs::create_dir_all(dir.join("taken")).unwrap();
    let out = calibrate(&["--out", dir.join("taken").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a folder"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(names_in(&dir.join("taken")).is_empty());
    // Where told: the folder made, one whole calibration written over the old file, nothing else left.
    let target = dir.join("new/pad.json");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, "an older, longer file that must be replaced whole and not in part").unwrap();
    let out = calibrate(&["--out", target.to_str().unwrap(), "--jobs", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(names_in(target.parent().unwrap()), ["pad.json"], "no temporary file left behind");
    // A new file, so not pinned; its plausibility is checked all the same.
    let made = honnin::danger::unpinned_pad_calibration(&target).expect("a whole, plausible PAD calibration");
    // 12 LFW first images and 5 live samples; at most 20 % of the scored ones rejected.
    let bona = &made.bona_fide;
    assert_eq!(bona.scored + bona.not_scored, 17, "{bona:?}");
    assert!(bona.below_threshold as f64 <= 0.2 * bona.scored as f64, "{bona:?}");
    assert_eq!(made.attacks.len(), 1, "the samples' one attack type");
    assert_eq!(committed_calibrations(), before, "the committed calibration files are untouched");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pad_commands_refuse_to_turn_pad_off() {
    let dir = common::scratch_dir("pad-no-pad");
    let labels = spoof_samples().join("labels.csv");
    let report = dir.join("report.json");
    let out = honnin(&["pad-eval", labels.to_str().unwrap(), "--no-pad", "--json", report.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-pad has no meaning here"), "{out:?}");
    let target = dir.join("pad.json");
    let out = honnin(&["pad-calibrate", "--no-pad", "--out", target.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    // `eval --pad` is gone: `pad-eval` is the one PAD evaluation.
    let out = honnin(&["eval", "--pad", labels.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(64), "{out:?}");
    assert!(names_in(&dir).is_empty(), "nothing written");
    let _ = std::fs::remove_dir_all(&dir);
}
