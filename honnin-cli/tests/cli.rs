//! The `honnin` binary: exit codes and machine-readable output.

use crate::common::{self, honnin};

#[test]
fn verify_exit_codes_follow_the_decision() {
    let same =
        honnin(&["verify", "--card", "samples/astronaut_card.png", "--live", "samples/astronaut_live.jpg", "--json"]);
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stderr));
    let json: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(json["decision"], "match");
    assert_eq!(json["threshold"]["target_fmr"], honnin::calibration::DEFAULT_TARGET_FMR);

    let other = common::lfw_image("images/Mick_Jagger/Mick_Jagger_0001.jpg");
    let different = honnin(&["verify", "--card", "samples/astronaut_card.png", "--live", other.to_str().unwrap()]);
    assert_eq!(different.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&different.stdout).starts_with("no_match"));
}

#[test]
fn errors_and_usage_mistakes_have_their_own_exit_codes() {
    let missing = honnin(&["verify", "--card", "samples/nope.png", "--live", "samples/astronaut_live.jpg"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.png"));
    let garbage = honnin(&["verify", "--card", "Cargo.toml", "--live", "samples/astronaut_live.jpg"]);
    assert_eq!(garbage.status.code(), Some(3));
    assert_eq!(honnin(&["verify", "--card", "samples/astronaut_card.png"]).status.code(), Some(64));
    assert_eq!(honnin(&["frobnicate"]).status.code(), Some(64));
}

#[test]
fn models_lists_verified_hashes_and_licences() {
    let out = honnin(&["models", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recognizer = json.as_array().unwrap().iter().find(|m| m["role"] == "recognizer").unwrap();
    assert_eq!(recognizer["id"], "intel-reid-0095");
    assert_eq!(recognizer["sha256"], "0c22174743df4870aa9e68ffa1370be90e2d5ad201ca1d3eb35741fd474dd84b");
    assert_eq!(recognizer["licence"], "Apache-2.0");
}

#[test]
fn verify_pairs_gives_each_pair_the_decision_and_score_of_a_single_call() {
    let pairs: Vec<(String, String)> = common::lfw_pairs("pairsDevTest.txt")
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 100 == 0)
        .map(|(_, (a, b, _))| {
            (common::lfw_image(&a).display().to_string(), common::lfw_image(&b).display().to_string())
        })
        .collect();
    assert_eq!(pairs.len(), 10);
    let mut csv = String::from("card,live\n# a comment line\n");
    for (card, live) in &pairs {
        csv.push_str(&format!("{card},{live}\n"));
    }
    csv.push_str("samples/missing.jpg,samples/astronaut_live.jpg\n");
    let dir = common::scratch_dir("pairs");
    let file = dir.join("pairs.csv");
    std::fs::write(&file, &csv).unwrap();
    let batch = honnin(&["verify", "--pairs", file.to_str().unwrap(), "--jobs", "2"]);
    // One pair could not be read: exit 3, and every other pair still reported, in order.
    assert_eq!(batch.status.code(), Some(3), "{}", String::from_utf8_lossy(&batch.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(batch.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 11);
    let mut decisions = std::collections::BTreeSet::new();
    for ((card, live), line) in pairs.iter().zip(&lines) {
        let single = honnin(&["verify", "--card", card, "--live", live, "--json"]);
        let single: serde_json::Value = serde_json::from_slice(&single.stdout).unwrap();
        assert_eq!((&line["card"], &line["live"]), (&card.as_str().into(), &live.as_str().into()));
        for field in ["decision", "score", "threshold", "pad", "reason_code", "card_reference"] {
            assert_eq!(line[field], single[field], "{field} of {card} / {live}");
        }
        decisions.insert(line["decision"].as_str().unwrap().to_string());
    }
    assert!(decisions.contains("match") && decisions.contains("no_match"), "{decisions:?}");
    assert!(lines[10]["error"].as_str().unwrap().contains("missing.jpg"), "{}", lines[10]);
    assert_eq!(lines[10]["line"], 13);

    // Standard input works the same; a malformed line is refused before any model loads.
    let mut child = std::process::Command::new(common::binary())
        .args(["verify", "--pairs", "-"])
        .current_dir(common::root())
        .env("HONNIN_ORT_LIB", common::ort_lib())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(format!("{},{}\n", pairs[0].0, pairs[0].1).as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["score"], lines[0]["score"]);
    std::fs::write(&file, "only-one-path.jpg\n").unwrap();
    let bad = honnin(&["verify", "--pairs", file.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("line 1"));
    assert_eq!(honnin(&["verify", "--pairs", file.to_str().unwrap(), "--card", "x.jpg"]).status.code(), Some(64));
    let card_and_jobs = ["verify", "--card", "samples/astronaut_card.png", "--live", "samples/astronaut_live.jpg"];
    assert_eq!(honnin(&[&card_and_jobs[..], &["--jobs", "2"]].concat()).status.code(), Some(64));
}
