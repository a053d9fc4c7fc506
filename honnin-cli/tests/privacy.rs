//! Privacy claims of the command-line tool (PRIVACY.md links here).
//!
//! - `honnin verify` under `strace -f`: no socket, no connect, no file opened
//!   for writing, and only the inputs, models, calibration, ONNX Runtime and
//!   the system files a dynamically linked program reads are opened.
//! - `honnin verify --audit` appends one record a verification, valid against
//!   `docs/audit-record.schema.json`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::audit_schema::check_line;
use crate::common;

/// What strace saw one run do.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    pub(crate) network_calls: Vec<String>,
    pub(crate) write_opens: Vec<String>,
    pub(crate) file_changes: Vec<String>,
    pub(crate) opened: Vec<(String, bool)>, // (path, succeeded)
}

/// Parses strace output for network system calls, opens and file changes.
/// Lines are `call(args) = result`, optionally after a thread id. With
/// `strace -ff` (one file per thread) calls are never split; should a line end
/// in `<unfinished ...>` all the same, its open counts as successful, so that
/// its path is checked.
pub(crate) fn parse_trace(text: &str) -> Trace {
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
    traced.args(["-ff", "-qq", "-s", "256", "-o"]).arg(dir.join("trace")).arg(common::binary());
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

#[test]
fn the_cli_appends_one_audit_line_per_verification() {
    let dir = std::env::temp_dir().join(format!("honnin-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("audit.jsonl");
    for _ in 0..2 {
        let out = in_checkout(Command::new(common::binary()))
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
