//! The audit trail an auditor relies on: one record per `honnin counter`
//! session with the path to its decision, in a hash-chained log that `honnin
//! audit verify` checks. Four real sessions (a match; a printed photo, then
//! staff; two non-matches, then staff; a quit) write the log the tests read
//! and tamper with.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common;
use crate::counter::write_frames;
use crate::frames::lfw_rgb;

const TERMINAL: &str = "counter-3";
const OPERATOR: &str = "op-0042";

/// Runs `honnin counter` with `args`, typing `keys` (its output goes to a pipe).
fn counter(args: &[&str], keys: &str) -> Output {
    let mut child = Command::new(common::binary())
        .arg("counter")
        .args(args)
        .current_dir(common::root())
        .env("HONNIN_ORT_LIB", common::ort_lib())
        .env_remove("HONNIN_MODELS")
        .env("HONNIN_OPERATOR_ID", OPERATOR)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A run that refuses to start reads no key: a broken pipe is no failure.
    let _ = child.stdin.take().unwrap().write_all(keys.as_bytes());
    child.wait_with_output().unwrap()
}

fn audit_verify(log: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = common::honnin(&[&["audit", "verify", log.to_str().unwrap()], extra].concat());
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// The log of four sessions, written once for the tests of this file: its path.
fn four_sessions() -> &'static Path {
    static LOG: OnceLock<PathBuf> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = common::scratch_dir("audit-four-sessions");
        let log = dir.join("audit.jsonl");
        let bush = |n: u32| lfw_rgb(&format!("images/George_W_Bush/George_W_Bush_{n:04}.jpg"));
        let genuine = dir.join("genuine");
        write_frames(&genuine, &[bush(2), bush(3), bush(5)]);
        let printed = common::spoof_samples().join("vietmoney/fake_003.jpg");
        let spoof = dir.join("printed");
        write_frames(
            &spoof,
            &[(1.0, 1.0), (0.95, 1.05), (0.9, 0.95)].map(|(c, g)| crate::frames::camera_view(&printed, c, g)),
        );
        let impostor = dir.join("impostor");
        write_frames(&impostor, &(11..=16).map(bush).collect::<Vec<_>>());
        let bush_card = common::lfw_image("images/George_W_Bush/George_W_Bush_0001.jpg");
        let powell_card = common::lfw_image("images/Colin_Powell/Colin_Powell_0001.jpg");
        let common_args = ["--audit", log.to_str().unwrap(), "--terminal-id", TERMINAL];
        let sessions: [(&Path, &Path, &str, &str, i32); 4] = [
            (&bush_card, &genuine, "f\n", "DECISION: match (face check)", 0),
            (&printed, &spoof, "f\ns\ny\n", "DECISION: match (staff visual check)", 0),
            (&powell_card, &impostor, "f\ns\ny\n", "DECISION: match (staff visual check)", 0),
            (&bush_card, &genuine, "q\n", "Session ended without a decision.", 2),
        ];
        for (card, frames, keys, said, code) in sessions {
            let args = [&["--card", card.to_str().unwrap(), "--frames", frames.to_str().unwrap()][..], &common_args];
            let out = counter(&args.concat(), keys);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains(said), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.status.code(), Some(code), "{stdout}");
        }
        log
    })
}

fn records(log: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(log).unwrap();
    text.split_inclusive('\n').map(crate::audit_schema::check_line).collect()
}

#[test]
fn four_sessions_leave_four_records_with_the_path_to_each_decision() {
    let log = four_sessions();
    let r = records(log);
    assert_eq!(r.len(), 4, "one record per session, the quit one included");
    let path = |i: usize| {
        let s = &r[i]["session"];
        let attempts: Vec<(String, String)> = s["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["decision"].as_str().unwrap().to_string(), a["pad"].as_str().unwrap().to_string()))
            .collect();
        (s["choices"].clone(), attempts, s["fallback"].clone(), r[i]["ended"].clone())
    };
    let decision = |i: usize| (r[i]["outcome"].clone(), r[i]["method"].clone(), r[i]["pad"].clone());
    let pair = |d: &str, p: &str| (d.to_string(), p.to_string());
    use serde_json::json;

    // 1. A match by the face check, PAD passed.
    assert_eq!(decision(0), (json!("match"), json!("automatic"), json!("live")));
    assert_eq!(path(0), (json!(["automatic"]), vec![pair("match", "live")], json!(null), json!("decided")));
    // 2. A printed photo: PAD closed the face path, then staff said "same person".
    assert_eq!(decision(1), (json!("match"), json!("staff_visual"), json!("attack_suspected")));
    assert_eq!(
        path(1),
        (
            json!(["automatic", "staff_visual"]),
            vec![pair("inconclusive", "attack_suspected")],
            json!("presentation_attack_suspected"),
            json!("decided")
        )
    );
    assert_eq!(r[1]["session"]["attempts"][0]["reason"], "presentation_attack_suspected");
    assert_eq!(r[1]["session"]["attempts"][0]["used"], 0, "an attack is not compared");
    // 3. Two non-matches, then staff.
    assert_eq!(decision(2), (json!("match"), json!("staff_visual"), json!("live")));
    assert_eq!(
        path(2),
        (
            json!(["automatic", "staff_visual"]),
            vec![pair("no_match", "live"), pair("no_match", "live")],
            json!("non_matches"),
            json!("decided")
        )
    );
    // 4. Quit at the first question: recorded all the same.
    assert_eq!(decision(3), (json!(null), json!(null), json!("not_run")));
    assert_eq!(path(3), (json!([]), vec![], json!(null), json!("quit")));

    for (i, record) in r.iter().enumerate() {
        assert_eq!(record["seq"], i as u64 + 1);
        assert_eq!((record["terminal_id"].as_str(), record["operator_id"].as_str()), (Some(TERMINAL), Some(OPERATOR)));
        assert!(record["pipeline_sha256"].as_str().is_some_and(|s| s.len() == 64), "{record}");
        assert_eq!(record["honnin_version"], env!("CARGO_PKG_VERSION"));
        // The face check's models are listed when it ran, the PAD models with them.
        let models = record["models"].as_array().unwrap().len();
        assert_eq!(models, if i == 3 { 0 } else { 4 }, "{record}");
    }
    // Nothing biometric and no file name anywhere: no score, no image hash.
    let text = std::fs::read_to_string(log).unwrap();
    for absent in
        ["score", "liveness", "George_W_Bush", "Colin_Powell", "fake_003", "genuine", "printed", ".jpg", ".png"]
    {
        assert!(!text.contains(absent), "{absent:?} in the audit log:\n{text}");
    }
    // The chain: each prev is the sha256 of the line before.
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(r[0]["prev"], honnin::audit::AUDIT_GENESIS);
    for i in 1..4 {
        assert_eq!(r[i]["prev"].as_str().unwrap(), honnin::audit::audit_line_sha256(lines[i - 1].as_bytes()));
    }
}

#[test]
fn the_log_and_its_head_file_are_for_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let log = four_sessions();
    for file in [log.to_path_buf(), honnin::audit::audit_head_path(log)] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    // A log others may read is refused before any session starts.
    let dir = common::scratch_dir("audit-open-log");
    let open = dir.join("open.jsonl");
    std::fs::write(&open, b"").unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let card = common::root().join("samples/astronaut_mynumber.bin");
    let out = counter(&["--card", card.to_str().unwrap(), "--no-models", "--audit", open.to_str().unwrap()], "s\ny\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("must be 600"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("STAFF"), "no session without its audit log");
    assert_eq!(std::fs::read(&open).unwrap(), b"");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Writes `lines` as a copy of the log, with the original head file beside it.
fn tampered(name: &str, lines: &[String]) -> PathBuf {
    let dir = common::scratch_dir(&format!("audit-tampered-{name}"));
    let copy = dir.join("audit.jsonl");
    std::fs::write(&copy, lines.concat()).unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::copy(honnin::audit::audit_head_path(four_sessions()), honnin::audit::audit_head_path(&copy)).unwrap();
    copy
}

#[test]
fn audit_verify_finds_every_removed_changed_swapped_or_cut_record() {
    let log = four_sessions();
    let (code, said) = audit_verify(log, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("intact: 4 records"), "{said}");
    let lines: Vec<String> = std::fs::read_to_string(log).unwrap().split_inclusive('\n').map(str::to_string).collect();
    let mut cases: Vec<(String, Vec<String>, &str)> = Vec::new();
    for i in 0..4 {
        let mut removed = lines.clone();
        removed.remove(i);
        let why = if i < 3 { "where record" } else { "records at the end were removed" };
        cases.push((format!("remove-{i}"), removed, why));
        let mut changed = lines.clone();
        changed[i] = changed[i].replace(&format!("\"{TERMINAL}\""), "\"counter-4\"");
        assert_ne!(changed[i], lines[i]);
        let why = if i < 3 { "does not link to the line before it" } else { "the last record was changed" };
        cases.push((format!("change-{i}"), changed, why));
        if i < 3 {
            let mut swapped = lines.clone();
            swapped.swap(i, i + 1);
            cases.push((format!("swap-{i}"), swapped, "where record"));
        }
    }
    // The last line cut short: torn, and the head file names the cut record.
    let mut cut = lines.clone();
    let last = cut.pop().unwrap();
    cut.push(last[..last.len() / 2].to_string());
    cases.push(("cut-last".into(), cut, "torn"));
    for (name, lines, why) in &cases {
        let copy = tampered(name, lines);
        let (code, said) = audit_verify(&copy, &[]);
        assert_eq!(code, Some(1), "{name}: {said}");
        assert!(said.contains("NOT INTACT") && said.contains(why), "{name}: {said}");
        std::fs::remove_dir_all(copy.parent().unwrap()).unwrap();
    }

    // A power cut during an append: part of a fifth line, the head file
    // still naming the fourth. Reported as damage (exit 2), not dropped.
    let mut torn = lines.clone();
    torn.push("{\"schema\":\"honnin-audit/2\",\"seq\":5,\"prev\":\"".into());
    let copy = tampered("power-cut", &torn);
    let (code, said) = audit_verify(&copy, &[]);
    assert_eq!(code, Some(2), "{said}");
    assert!(said.contains("DAMAGED") && said.contains("line 5") && said.contains("4 records before it"), "{said}");
    // And the counter appends nothing after it.
    let card = common::root().join("samples/astronaut_mynumber.bin");
    let out = counter(&["--card", card.to_str().unwrap(), "--no-models", "--audit", copy.to_str().unwrap()], "s\ny\n");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("torn"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), torn.concat());

    // Without its head file the end cannot be checked: said so, unless asked not to check.
    std::fs::remove_file(honnin::audit::audit_head_path(&copy)).unwrap();
    std::fs::write(&copy, lines[..3].concat()).unwrap();
    let (code, said) = audit_verify(&copy, &[]);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("no head file"), "{said}");
    let (code, said) = audit_verify(&copy, &["--no-head"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("intact: 3 records") && said.contains("not checked"), "{said}");
    // An unreadable log is an error, not a verdict.
    let (code, _) = audit_verify(&copy.with_extension("missing"), &[]);
    assert_eq!(code, Some(3));
    std::fs::remove_dir_all(copy.parent().unwrap()).unwrap();
}

#[test]
fn a_one_shot_verification_is_a_chained_session_of_one_attempt() {
    let dir = common::scratch_dir("audit-verify");
    let log = dir.join("audit.jsonl");
    for live in ["samples/astronaut_live.jpg", "samples/astronaut_live.jpg"] {
        let out = verify_audited(live, &log, &["--terminal-id", TERMINAL]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let r = records(&log);
    assert_eq!(r.len(), 2);
    for (i, record) in r.iter().enumerate() {
        assert_eq!((record["seq"].as_u64(), record["ended"].as_str()), (Some(i as u64 + 1), Some("decided")));
        assert_eq!(record["session"]["choices"], serde_json::json!(["automatic"]));
        let attempts = record["session"]["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!((attempts[0]["decision"].as_str(), attempts[0]["used"].as_u64()), (Some("match"), Some(1)));
        assert_eq!(record["terminal_id"], TERMINAL);
    }
    assert_eq!(audit_verify(&log, &[]).0, Some(0));
    // An identifier with a line end is a usage error: nothing runs, nothing is written.
    let out = verify_audited("samples/astronaut_live.jpg", &log, &["--operator-id", "op\n1"]);
    assert_eq!(out.status.code(), Some(64), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(records(&log).len(), 2);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `honnin verify` of the astronaut card against `live`, with `--audit log` and `extra`.
fn verify_audited(live: &str, log: &Path, extra: &[&str]) -> Output {
    let args = ["verify", "--card", "samples/astronaut_card.png", "--live", live, "--audit", log.to_str().unwrap()];
    common::honnin(&[&args[..], extra].concat())
}

#[test]
fn a_one_shot_verification_that_fails_leaves_one_fault_record() {
    let dir = common::scratch_dir("audit-fault");
    let log = dir.join("audit.log");
    let missing = verify_audited("samples/no-such-photo.jpg", &log, &[]);
    assert_eq!(missing.status.code(), Some(3));
    let ok = verify_audited("samples/astronaut_live.jpg", &log, &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let lines = records(&log);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!((lines[0]["ended"].as_str(), lines[0]["outcome"].is_null()), (Some("fault"), true));
    assert_eq!((lines[1]["ended"].as_str(), lines[1]["outcome"].as_str()), (Some("decided"), Some("match")));
    // No file name reaches the record, not even the missing one's.
    assert!(!std::fs::read_to_string(&log).unwrap().contains("no-such-photo"));
    assert_eq!(audit_verify(&log, &[]).0, Some(0));
}
