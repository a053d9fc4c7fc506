//! Privacy claims of the audit record, and PRIVACY.md's claims table (PRIVACY.md
//! links here). The command-line tool's own claims (`honnin verify` under
//! strace, its audit lines) are tested with it, in honnin-cli/tests/privacy.rs.
//!
//! - Audit records validate against `docs/audit-record.schema.json`, hold no
//!   float array and no field outside the schema.

use honnin::audit::AuditRecord;
use honnin::counter::{staff_visual_check, StaffJudgement};
use honnin::{CardPhoto, LiveFrame};
use serde_json::Value;

use crate::audit_schema::{check_line, schema, validate};
use crate::common;

#[test]
fn audit_records_follow_their_schema_and_hold_nothing_biometric() {
    let engine = common::engine();
    let card = CardPhoto::open(common::root().join("samples/astronaut_mynumber.bin")).unwrap();
    let same = LiveFrame::open(common::root().join("samples/astronaut_live.jpg")).unwrap();
    let other = LiveFrame::open(common::lfw_image("images/Colin_Powell/Colin_Powell_0001.jpg")).unwrap();
    let landscape = LiveFrame::from_rgb(64, 48, vec![90; 64 * 48 * 3]).unwrap();
    let mut outcomes = Vec::new();
    for (live, expected) in [(&same, "match"), (&other, "no_match"), (&landscape, "inconclusive")] {
        let outcome = engine.verify(&card, live).unwrap();
        let line = AuditRecord::automatic(&engine, &outcome, card.kind())
            .with_decode_timings(Some(std::time::Duration::from_micros(1234)), None)
            .to_line();
        let value = check_line(&line);
        assert_eq!(value["outcome"], expected);
        assert_eq!(value["policy"]["reference"], "grey");
        assert_eq!(value["models"].as_array().unwrap().len(), 2);
        assert_eq!(value["timings_ms"]["card_decode"], 1.0);
        // The decision and the threshold are recorded, the score is not.
        assert!(value.get("score").is_none() && value["policy"]["threshold"].is_number());
        outcomes.push(value);
    }
    assert_eq!(outcomes[2]["reasons"], serde_json::json!(["no_face_live"]));
    let staff = check_line(&AuditRecord::staff(&staff_visual_check(StaffJudgement::SamePerson)).to_line());
    assert_eq!((staff["method"].as_str(), staff["policy"].is_null()), (Some("staff_visual"), true));
}

#[test]
fn the_schema_check_refuses_extra_fields_and_float_arrays() {
    let outcome = staff_visual_check(StaffJudgement::Unsure);
    let good: Value = serde_json::from_str(&AuditRecord::staff(&outcome).to_line()).unwrap();
    validate(&good, &schema(), "record").unwrap();
    let mut extra = good.clone();
    extra["template"] = serde_json::json!("hidden");
    assert!(validate(&extra, &schema(), "record").unwrap_err().contains("\"template\""));
    let mut floats = good.clone();
    floats["reasons"] = serde_json::json!([0.25, 0.5]);
    assert!(validate(&floats, &schema(), "record").unwrap_err().contains("array of numbers"));
    // The record type itself refuses unknown fields when read back.
    assert!(serde_json::from_value::<AuditRecord>(extra).is_err());
}

/// The files of module `name` in the checkout: `name.rs` or `name/mod.rs`
/// anywhere under `src/`, `tests/` and the workspace crates.
fn module_files(root: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    let (file, folder) = (format!("{name}.rs"), format!("{name}/mod.rs"));
    ["src", "tests", "honnin-ffi", "honnin-cli", "honnin-lab"]
        .iter()
        .flat_map(|dir| common::files_under(&root.join(dir)))
        .filter(|path| path.ends_with(&file) || path.ends_with(&folder))
        .collect()
}

/// PRIVACY.md's claims table names, for each claim, tests that exist: a
/// `module::test` is a function in `tests/suite/module.rs`, `src/module.rs`,
/// or the test modules of honnin-ffi, honnin-cli and honnin-lab,
/// a case or configuration of `tests/process.rs` / `tests/forensics.rs` is one
/// that file runs, and every linked file is in the checkout.
#[test]
fn every_privacy_claim_names_a_test_that_exists() {
    let root = common::root();
    let text = std::fs::read_to_string(root.join("PRIVACY.md")).unwrap();
    let claims = text.split("## Claims and the tests that prove them").nth(1).expect("a claims section");
    let claims = claims.split("\n## ").next().unwrap();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_default();
    let mut checked = 0;
    for row in claims.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| claim") && !l.starts_with("|---")) {
        let test_column = row.trim_end_matches('|').rsplit(" | ").next().unwrap();
        assert!(test_column.contains('`') || test_column.contains("]("), "claim without a test: {row}");
        for link in test_column.split("](").skip(1).map(|l| l.split(')').next().unwrap()) {
            assert!(root.join(link).exists(), "PRIVACY.md links to a missing file: {link}");
        }
        for name in test_column.split('`').skip(1).step_by(2) {
            if name.contains('/') {
                assert!(root.join(name).exists(), "PRIVACY.md names a missing file: {name}");
            } else if let Some((module, rest)) = name.split_once("::") {
                let function = rest.rsplit("::").next().unwrap();
                let source: String =
                    module_files(root, module).iter().map(|path| std::fs::read_to_string(path).unwrap()).collect();
                let found = source.contains(&format!("fn {function}(")) || source.contains(&format!("mod {function} "));
                assert!(found, "PRIVACY.md names {name}, which does not exist");
                checked += 1;
            } else if ["tests/process.rs", "tests/forensics.rs"].iter().any(|f| test_column.contains(f)) {
                let file =
                    if test_column.contains("tests/process.rs") { "tests/process.rs" } else { "tests/forensics.rs" };
                assert!(
                    read(file).contains(&format!("\"{name}\"")),
                    "PRIVACY.md names {name}, which {file} does not run"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 15, "only {checked} test names checked in PRIVACY.md");
}
