//! The audit record PRIVACY.md shows as its example follows the schema. The
//! audit trail of the command-line tool (`honnin counter` sessions, `honnin
//! audit verify`) is tested with it, in honnin-cli/tests/audit.rs.

use serde_json::Value;

use crate::common;

#[test]
fn the_privacy_example_follows_the_schema() {
    let text = std::fs::read_to_string(common::root().join("PRIVACY.md")).unwrap();
    let section = text.split("\n## Audit record\n").nth(1).expect("an audit section");
    let block = section.split("```json\n").nth(1).and_then(|b| b.split("```").next()).expect("an example");
    let value: Value = serde_json::from_str(&block.replace('\n', "")).expect("the example is JSON");
    let checked = crate::audit_schema::check_line(&(serde_json::to_string(&value).unwrap() + "\n"));
    assert_eq!(checked["pad"], "attack_suspected", "the example shows a PAD suspicion followed by staff");
    assert_eq!(checked["session"]["fallback"], "presentation_attack_suspected");
}
