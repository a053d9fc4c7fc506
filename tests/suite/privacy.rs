//! Privacy claims of the CLI and the audit record (PRIVACY.md links here).
//!
//! - `honnin verify` under `strace -f`: no socket, no connect, no file opened
//!   for writing, and only the inputs, models, calibration, ONNX Runtime and
//!   the system files a dynamically linked program reads are opened.
//! - Audit records validate against `docs/audit-record.schema.json`, hold no
//!   float array and no field outside the schema.

use std::path::{Path, PathBuf};
use std::process::Command;

use honnin::counter::{staff_visual_check, StaffJudgement};
use honnin::audit::AuditRecord;
use honnin::{CardPhoto, LiveFrame};
use serde_json::Value;

use crate::common;

/// What strace saw one run do.
#[derive(Debug, Default)]
struct Trace {
    network_calls: Vec<String>,
    write_opens: Vec<String>,
    file_changes: Vec<String>,
    opened: Vec<(String, bool)>, // (path, succeeded)
}

/// Parses strace output for network system calls, opens and file changes.
/// Lines are `call(args) = result`, optionally after a thread id. With
/// `strace -ff` (one file per thread) calls are never split; should a line end
/// in `<unfinished ...>` all the same, its open counts as successful, so that
/// its path is checked.
fn parse_trace(text: &str) -> Trace {
    let mut trace = Trace::default();
    for line in text.lines() {
        let line = line.trim();
        let call = match line.split_once(' ') {
            Some((tid, rest)) if tid.chars().all(|c| c.is_ascii_digit()) => rest.trim_start(),
            _ => line,
        };
        let unfinished = call.ends_with("<unfinished ...>");
        let call = call.trim_end_matches("<unfinished ...>").trim_end();
        let name = call.split('(').next().unwrap_or("");
        let quoted = call.split('"').nth(1).unwrap_or("").to_string();
        match name {
            "socket" | "socketpair" | "connect" | "bind" | "listen" | "accept" | "accept4" | "sendto" | "sendmsg"
            | "sendmmsg" => trace.network_calls.push(call.to_string()),
            "open" | "openat" | "openat2" | "creat" => {
                let flags = call.split([',', ')', ' ']).find(|f| f.starts_with("O_")).unwrap_or("");
                let writes = name == "creat"
                    || ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND", "O_TMPFILE"]
                        .iter()
                        .any(|f| flags.split('|').any(|g| g == *f));
                if writes {
                    trace.write_opens.push(call.to_string());
                }
                let ok = unfinished || call.rsplit_once(" = ").is_some_and(|(_, r)| !r.starts_with('-'));
                if !quoted.is_empty() {
                    trace.opened.push((quoted, ok));
                }
            }
            "mkdir" | "mkdirat" | "unlink" | "unlinkat" | "rename" | "renameat" | "renameat2" | "rmdir" | "chmod"
            | "fchmodat" | "truncate" | "link" | "linkat" | "symlink" | "symlinkat" | "mknod" | "mknodat" => {
                trace.file_changes.push(call.to_string())
            }
            _ => {}
        }
    }
    trace
}

/// Files a dynamically linked program with ONNX Runtime reads besides its own
/// inputs: the loader and libraries, the time zone, CPU topology and cgroup
/// CPU quota (thread pool sizing), this process's maps (stack bounds), PCI
/// device classes (ONNX Runtime's hardware discovery). All read-only.
const SYSTEM_READS: [&str; 12] = [
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/lib/",
    "/lib64/",
    "/usr/lib/",
    "/usr/lib64/",
    "/proc/cpuinfo",
    "/proc/self/",
    "/sys/devices/system/cpu/",
    "/sys/fs/cgroup/",
    "/sys/bus/pci/devices",
    "/proc/sys/kernel/",
];

/// `command` run from the checkout with the test's ONNX Runtime and the committed models.
fn in_checkout(mut command: Command) -> Command {
    command.current_dir(common::root()).env("HONNIN_ORT_LIB", common::ort_lib()).env_remove("HONNIN_MODELS");
    command
}

fn strace_verify(extra: &[&str]) -> (Trace, String) {
    let strace = Path::new("/usr/bin/strace");
    assert!(strace.is_file(), "strace not installed: run `python3 tools/setup.py --dev` (installs Debian's strace)");
    let dir = std::env::temp_dir().join(format!("honnin-strace-{}-{}", std::process::id(), extra.len()));
    std::fs::create_dir_all(&dir).unwrap();
    // -ff: one file per thread (trace.<tid>), so no call is split across lines.
    let mut traced = Command::new(strace);
    traced.args(["-ff", "-qq", "-s", "256", "-o"]).arg(dir.join("trace")).arg(env!("CARGO_BIN_EXE_honnin"));
    let out = in_checkout(traced)
        .args(["verify", "--card", "samples/astronaut_mynumber.bin", "--live", "samples/astronaut_live.jpg"])
        .args(extra)
        .env_remove("ORT_DISABLE_TELEMETRY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let mut text = String::new();
    for file in std::fs::read_dir(&dir).unwrap() {
        text += &std::fs::read_to_string(file.unwrap().path()).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(text.contains("execve("), "no trace written");
    (parse_trace(&text), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn allowed_reads() -> Vec<PathBuf> {
    let root = common::root();
    let mut files: Vec<PathBuf> = [
        "samples/astronaut_mynumber.bin",
        "samples/astronaut_live.jpg",
        "models/manifest.json",
        "models/yunet_s_dynamic.onnx",
        "models/face-reidentification-retail-0095.onnx",
        "calibration/intel-reid-0095.json",
        "models/antispoof_2.7_80x80_MiniFASNetV2.onnx",
        "models/antispoof_4_0_0_80x80_MiniFASNetV1SE.onnx",
        "calibration/pad-minifasnet.json",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    files.push(common::ort_lib());
    files.push(root.join(".runtime/libonnxruntime.so.1.31.1"));
    files
}

#[test]
fn verify_opens_no_socket_and_writes_no_file() {
    // Sandboxed (the default) and not: the sandbox would turn an attempt into
    // a refusal, so the unsandboxed run shows that there is no attempt at all.
    for extra in [&[][..], &["--no-sandbox"][..]] {
        let (trace, stdout) = strace_verify(extra);
        assert!(stdout.starts_with("match"), "{stdout}");
        assert_eq!(trace.network_calls, Vec::<String>::new(), "network system calls ({extra:?})");
        assert_eq!(trace.write_opens, Vec::<String>::new(), "files opened for writing ({extra:?})");
        assert_eq!(trace.file_changes, Vec::<String>::new(), "files created, changed or removed ({extra:?})");
        let allowed = allowed_reads();
        let mut inputs_read = 0;
        for (path, ok) in &trace.opened {
            let p = Path::new(path);
            let own = allowed.iter().any(|a| a == p || common::root().join(a) == p);
            inputs_read += usize::from(own && *ok);
            let system = SYSTEM_READS.iter().any(|s| path.starts_with(s));
            // The loader probes each library directory (under cargo,
            // LD_LIBRARY_PATH lists target/) for each shared library.
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let probe = !ok && name.starts_with("lib") && name.contains(".so");
            assert!(own || system || probe, "unexpected file opened ({extra:?}, succeeded: {ok}): {path}");
        }
        // Both inputs, the manifest, four models and the runtime (the
        // calibrations are built in).
        assert!(inputs_read >= 8, "only {inputs_read} of honnin's own files seen opened ({extra:?})");
    }
}

#[test]
fn the_trace_parser_sees_sockets_and_writes() {
    let text = "12 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3\n\
                12 connect(3, {sa_family=AF_INET, sin_port=htons(443)}, 16) = -1 EPERM (Operation not permitted)\n\
                13 openat(AT_FDCWD, \"/tmp/x\", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0666) = 4\n\
                13 openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3\n\
                13 mkdir(\"/root/.cache/x\", 0700) = 0\n\
                14 openat(AT_FDCWD, \"/root/.cache/y\", O_RDWR <unfinished ...>\n\
                14 <... openat resumed>) = 5\n\
                openat(AT_FDCWD, \"/lib/libz.so.1\", O_RDONLY|O_CLOEXEC) = -1 ENOENT (No such file or directory)\n";
    let t = parse_trace(text);
    assert_eq!((t.network_calls.len(), t.write_opens.len(), t.file_changes.len()), (2, 2, 1));
    let opened = |p: &str, ok: bool| (p.to_string(), ok);
    assert_eq!(
        t.opened,
        vec![
            opened("/tmp/x", true),
            opened("/etc/ld.so.cache", true),
            opened("/root/.cache/y", true),
            opened("/lib/libz.so.1", false)
        ]
    );
}

/// Checks `value` against the subset of JSON Schema the audit schema uses
/// (type, enum, properties, required, additionalProperties false, items).
/// Returns the first violation.
fn validate(value: &Value, schema: &Value, at: &str) -> Result<(), String> {
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let integer = types.contains(&"integer") && (value.is_u64() || value.is_i64());
    if !types.is_empty() && !types.contains(&kind) && !integer {
        return Err(format!("{at}: {kind}, the schema allows {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            return Err(format!("{at}: {value} is not one of {allowed:?}"));
        }
    }
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object().ok_or(format!("{at}: the schema has no properties"))?;
            for key in map.keys() {
                if !props.contains_key(key) {
                    return Err(format!("{at}: field {key:?} is not in the schema"));
                }
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap();
                if !map.contains_key(key) {
                    return Err(format!("{at}: required field {key:?} missing"));
                }
            }
            for (key, v) in map {
                validate(v, &props[key], &format!("{at}.{key}"))?;
            }
        }
        Value::Array(items) => {
            if items.iter().any(Value::is_number) {
                return Err(format!("{at}: an array of numbers"));
            }
            for (i, item) in items.iter().enumerate() {
                validate(item, &schema["items"], &format!("{at}[{i}]"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn schema() -> Value {
    let text = std::fs::read_to_string(common::root().join("docs/audit-record.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Parses one record line and checks it against the schema.
pub(crate) fn check_line(line: &str) -> Value {
    assert!(line.ends_with('\n') && line.matches('\n').count() == 1, "one line: {line:?}");
    let value: Value = serde_json::from_str(line).unwrap();
    validate(&value, &schema(), "record").unwrap_or_else(|e| panic!("{e}\n{line}"));
    value
}

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

#[test]
fn the_cli_appends_one_audit_line_per_verification() {
    let dir = std::env::temp_dir().join(format!("honnin-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("audit.jsonl");
    for _ in 0..2 {
        let out = in_checkout(Command::new(env!("CARGO_BIN_EXE_honnin")))
            .args(["verify", "--card", "samples/astronaut_card.png", "--live", "samples/astronaut_live.jpg"])
            .arg("--audit")
            .arg(&log)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        let value = check_line(line);
        assert_eq!((value["outcome"].as_str(), value["policy"]["reference"].as_str()), (Some("match"), Some("colour")));
    }
}

/// The files of module `name` in the checkout: `name.rs` or `name/mod.rs`
/// anywhere under `src/`, `tests/` and the workspace crates' `src/` and `tests/`.
fn module_files(root: &std::path::Path, name: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, name: &str, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|f| f == name) && path.join("mod.rs").is_file() {
                    out.push(path.join("mod.rs"));
                }
                walk(&path, name, out);
            } else if path.file_name().is_some_and(|f| f.to_str() == Some(&format!("{name}.rs"))) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["src", "tests", "honnin-ffi", "honnin-cli", "honnin-lab"] {
        walk(&root.join(dir), name, &mut out);
    }
    out
}

/// PRIVACY.md's claims table names, for each claim, tests that exist: a
/// `module::test` is a function in a file of that module (`module.rs` or
/// `module/mod.rs` under `src/`, `tests/` or a workspace crate),
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
                    module_files(&root, module).iter().map(|path| std::fs::read_to_string(path).unwrap()).collect();
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
