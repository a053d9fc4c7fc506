//! Issue 19 at the terminal: `honnin verify --card DG2 --sod SOD` checks the
//! photo by passive authentication before comparing it, says so in words,
//! in `--json` and in the audit record, and never compares a photo that
//! fails. The DG2/SOD pairs are real (`../shared/data/dg2/`, never committed).

use std::path::PathBuf;

use serde_json::Value;

use crate::common::{self, honnin};

fn vector(name: &str) -> String {
    let path: PathBuf = common::data_dir().join("dg2").join(name);
    assert!(path.is_file(), "chip vector {} not found", path.display());
    path.display().to_string()
}

const LIVE: &str = "samples/astronaut_live.jpg";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_passport_photo_that_passes_passive_authentication_is_compared_and_recorded_as_verified() {
    let (dg2, sod) = (vector("gmrtd_uk_passport_dg2.bin"), vector("sod/gmrtd_uk_passport_sod.bin"));
    let out = honnin(&["verify", "--card", &dg2, "--sod", &sod, "--live", LIVE, "--json", "--audit", "-"]);
    let text = stdout(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = text.lines();
    let record = crate::audit_schema::check_line(&format!("{}\n", lines.next().unwrap()));
    let json: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let expected = serde_json::json!({"status": "verified", "scheme": "passive_authentication",
        "anchor": "not_supplied", "chip": "not_challenged", "failure": null});
    assert_eq!(json["authenticity"], expected);
    assert_eq!(record["authenticity"], expected);
    assert!(json["score"].is_object(), "the verified photo was compared: {json}");

    let words = honnin(&["verify", "--card", &dg2, "--sod", &sod, "--live", LIVE]);
    assert!(
        stdout(&words).lines().any(|l| l == "authenticity: verified (passive_authentication)"),
        "{}",
        stdout(&words)
    );
}

#[test]
fn a_changed_photo_is_inconclusive_card_not_authentic_and_never_compared() {
    let (dg2, sod) = (vector("gmrtd_uk_passport_dg2_corrupt_lastbyte.bin"), vector("sod/gmrtd_uk_passport_sod.bin"));
    let out = honnin(&["verify", "--card", &dg2, "--sod", &sod, "--live", LIVE, "--json", "--audit", "-"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "exit as for inconclusive: {text}{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = text.lines();
    let record = crate::audit_schema::check_line(&format!("{}\n", lines.next().unwrap()));
    let json: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!((&json["decision"], &json["reason_code"]), (&"inconclusive".into(), &"card_not_authentic".into()));
    assert_eq!(json["authenticity"]["status"], "failed");
    assert_eq!(json["authenticity"]["failure"], "hash_mismatch");
    assert!(json["score"].is_null(), "not compared: {json}");
    assert_eq!(record["authenticity"]["failure"], "hash_mismatch");
    assert_eq!(record["reasons"], serde_json::json!(["card_not_authentic"]));
    assert_eq!(record["timings_ms"]["card_template"], 0.0, "no model ran for the card: {record}");

    let words = honnin(&["verify", "--card", &dg2, "--sod", &sod, "--live", LIVE]);
    assert_eq!(words.status.code(), Some(2));
    let words = stdout(&words);
    assert!(words.starts_with("inconclusive: card photo not authentic"), "{words}");
    assert!(words.contains("authenticity: failed (passive_authentication): the photo differs"), "{words}");
}

#[test]
fn authenticity_flags_that_do_not_fit_the_card_are_usage_errors() {
    let sod = vector("sod/gmrtd_uk_passport_sod.bin");
    let plain = honnin(&["verify", "--card", "samples/astronaut_card.png", "--sod", &sod, "--live", LIVE]);
    assert_eq!(plain.status.code(), Some(64), "{}", String::from_utf8_lossy(&plain.stderr));
    assert!(String::from_utf8_lossy(&plain.stderr).contains("--sod checks a --card of ICAO EF.DG2"));
    let dg2 = vector("gmrtd_uk_passport_dg2.bin");
    let csca_alone = honnin(&["verify", "--card", &dg2, "--csca", "Cargo.toml", "--live", LIVE]);
    assert_eq!(csca_alone.status.code(), Some(64));
    // A trust anchor that is no certificate is an error (3), before any model loads.
    let bad_anchor = honnin(&["verify", "--card", &dg2, "--sod", &sod, "--csca", "Cargo.toml", "--live", LIVE]);
    assert_eq!(bad_anchor.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&bad_anchor.stderr).contains("trust anchor"),
        "{}",
        String::from_utf8_lossy(&bad_anchor.stderr)
    );
}

#[test]
fn require_authentic_needs_a_trust_anchor() {
    // Without --csca no signature could be trusted: a usage error, not a run
    // in which nothing can ever match.
    let out =
        honnin(&["verify", "--card", "samples/astronaut_card.png", "--live", LIVE, "--require-authentic", "--json"]);
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--require-authentic needs --csca"));
}
