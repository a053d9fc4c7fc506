//! The `honnin` binary: exit codes and machine-readable output.

use crate::common::{self, honnin};

#[test]
fn verify_exit_codes_follow_the_decision() {
    let same =
        honnin(&["verify", "--card", "samples/astronaut_card.png", "--live", "samples/astronaut_live.jpg", "--json"]);
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stderr));
    let json: serde_json::Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(json["decision"], "match");
    assert_eq!(json["threshold"]["target_fmr"], honnin::DEFAULT_TARGET_FMR);

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
