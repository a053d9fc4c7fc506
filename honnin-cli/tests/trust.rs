//! The trust boundary as `honnin` holds it: tampered calibrations refused
//! (exit 3) and shipped ones deciding, ONNX Runtime's pin covering what the
//! loader pulls in, inputs that are not regular files refused at once and
//! small, arguments out of range as usage errors, and the audit record naming
//! the calibration that decided.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use honnin::{Error, Models};

use crate::common::{self, honnin, lfw_image, ort_lib, root, scratch_dir};
use crate::tampered_calibrations::tampered;

/// A stranger's face: with a tampered threshold the card would match it.
fn stranger() -> String {
    lfw_image("images/Mick_Jagger/Mick_Jagger_0001.jpg").display().to_string()
}

#[test]
fn the_cli_refuses_tampered_calibrations_with_exit_3_and_decides_with_the_shipped_ones() {
    let dir = scratch_dir("tampered-cli");
    let live = stranger();
    // The My Number sample: a grey chip photo, judged at the grey threshold.
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", "--card", "samples/astronaut_mynumber.bin", "--live", live.as_str()];
        args.extend_from_slice(extra);
        honnin(&args)
    };
    for (i, case) in tampered(root()).iter().enumerate() {
        let path = dir.join(format!("tampered-{i}.json"));
        std::fs::write(&path, &case.text).unwrap();
        let path = path.to_str().unwrap();
        let pinned = verify(&["--calibration", path]);
        let stderr = String::from_utf8_lossy(&pinned.stderr);
        assert_eq!(pinned.status.code(), Some(3), "{}: {stderr}", case.what);
        assert!(stderr.contains("not pinned") && pinned.stdout.is_empty(), "{}: {stderr}", case.what);
        let opted_out = verify(&["--calibration", path, "--calibration-sha256", "any"]);
        let stderr = String::from_utf8_lossy(&opted_out.stderr);
        assert_eq!(opted_out.status.code(), Some(3), "{}: {stderr}", case.what);
        assert!(stderr.contains("implausible") && stderr.contains(case.expected), "{}: {stderr}", case.what);
        assert!(opted_out.stdout.is_empty(), "{}: no decision may be printed", case.what);
    }
    // The shipped calibration, built in or named: a stranger does not match.
    for extra in [&[][..], &["--calibration", "calibration/intel-reid-0095.json"][..]] {
        let out = verify(extra);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // A malformed pin is a usage error.
    let out = verify(&["--calibration", "calibration/intel-reid-0095.json", "--calibration-sha256", "xyz"]);
    assert_eq!(out.status.code(), Some(64));
}

/// Builds a shared library named `librt.so.1` whose constructor announces
/// itself on standard error.
fn planted_library(dir: &Path) -> PathBuf {
    let source = dir.join("planted.c");
    std::fs::write(
        &source,
        "#include <unistd.h>\n__attribute__((constructor)) static void planted(void) {\n    \
         write(2, \"PLANTED LIBRARY RAN\\n\", 20);\n}\n",
    )
    .unwrap();
    let out = dir.join("librt.so.1");
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&source)
        .status()
        .expect("a C compiler (Debian: build-essential)");
    assert!(status.success());
    out
}

#[test]
fn a_library_planted_beside_the_pinned_onnx_runtime_is_not_loaded() {
    let dir = scratch_dir("planted");
    let runtime = dir.join("libonnxruntime.so.1.31.1");
    std::fs::copy(ort_lib(), &runtime).unwrap();
    planted_library(&dir);
    // The dynamic loader would take it: the library's RUNPATH is $ORIGIN.
    let ldd = Command::new("ldd").arg(&runtime).output().unwrap();
    let resolved = String::from_utf8_lossy(&ldd.stdout);
    let planted_path = dir.join("librt.so.1");
    assert!(
        resolved.contains(&format!("librt.so.1 => {}", planted_path.display())),
        "the loader does not resolve librt.so.1 from the library's folder here, so this test proves nothing:\n{resolved}"
    );
    let pin = honnin::runtime::PINNED_ONNXRUNTIME_SHA256.expect("a pinned runtime for this CPU");
    let out = Command::new(common::binary())
        .args(["verify", "--card", "samples/astronaut_card.png", "--live", "samples/astronaut_live.jpg"])
        .arg("--onnxruntime")
        .arg(&runtime)
        .args(["--onnxruntime-sha256", pin])
        .current_dir(root())
        .env_remove("HONNIN_ORT_LIB")
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("PLANTED LIBRARY RAN"), "the planted library ran inside honnin");
}

#[test]
fn special_files_and_absurd_thread_counts_are_refused_at_once_and_small() {
    let dir = scratch_dir("special-files");
    // A model directory whose recognizer is a link to /dev/zero.
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(common::models_dir().join("manifest.json")).unwrap()).unwrap();
    let recognizer = manifest["recognizer"].as_str().unwrap();
    for entry in manifest["models"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let target =
            if entry["id"] == recognizer { PathBuf::from("/dev/zero") } else { common::models_dir().join(file) };
        std::os::unix::fs::symlink(target, models.join(file)).unwrap();
    }
    std::fs::copy(common::models_dir().join("manifest.json"), models.join("manifest.json")).unwrap();
    match Models::from_dir(&models) {
        Err(Error::NotAFile { found: "a character device", .. }) => {}
        other => panic!("{other:?}"),
    }
    let fifo = dir.join("live.jpg");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (fifo, card_dir) = (fifo.to_str().unwrap().to_string(), dir.to_str().unwrap().to_string());
    let live = "samples/astronaut_live.jpg";
    let card = "samples/astronaut_card.png";
    // (what, arguments, model directory, exit code, words of the message)
    type Case<'a> = (&'a str, Vec<&'a str>, Option<&'a Path>, i32, &'a str);
    let cases: [Case; 4] = [
        (
            "/dev/zero as the recognizer",
            vec!["verify", "--card", card, "--live", live],
            Some(&models),
            3,
            "character device",
        ),
        ("a FIFO without writer as --live", vec!["verify", "--card", card, "--live", &fifo], None, 3, "named pipe"),
        ("a directory as --card", vec!["verify", "--card", &card_dir, "--live", live], None, 3, "directory"),
        ("4096 threads", vec!["verify", "--card", card, "--live", live, "--threads", "4096"], None, 64, "1..=64"),
    ];
    for (what, args, models, expected, words) in cases {
        let run = crate::measured::honnin_measured(&args, models);
        let (code, elapsed, rss_kib, stderr) = (run.code, run.elapsed, run.peak_kib, run.stderr);
        assert_eq!(code, Some(expected), "{what}: {stderr}");
        assert!(stderr.contains(words), "{what}: {stderr}");
        assert!(elapsed < Duration::from_secs(1), "{what}: {elapsed:?}");
        assert!(rss_kib < 200 * 1024, "{what}: peak RSS {rss_kib} KiB");
        eprintln!("{what}: exit {expected} in {:.0} ms, peak RSS {} MiB", elapsed.as_secs_f64() * 1e3, rss_kib / 1024);
    }
}

#[test]
fn arguments_out_of_range_are_usage_errors_and_messages_read_as_words() {
    let base = ["verify", "--card", "samples/astronaut_card.png", "--live", "samples/astronaut_live.jpg"];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        honnin(&args)
    };
    for fmr in ["0", "2", "NaN", "inf", "-0.001", "1e-400"] {
        let out = run(&["--target-fmr", fmr]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "--target-fmr {fmr}: {stderr}");
        assert!(stderr.contains("between 0 and 1"), "--target-fmr {fmr}: {stderr}");
    }
    // A rate with no calibrated point is an error (exit 3) that names it as people write it.
    let out = run(&["--target-fmr", "1e-300"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr.contains("1e-300") && stderr.contains("1e-4") && stderr.len() < 300, "{stderr}");
    for (flag, value) in [("--onnxruntime-sha256", "xyz"), ("--threads", "0"), ("--threads", "1000000")] {
        assert_eq!(run(&[flag, value]).status.code(), Some(64), "{flag} {value}");
    }
    // --no-pad and --pad-calibration exclude each other, as the usage says.
    let both = run(&["--no-pad", "--pad-calibration", "calibration/pad-minifasnet.json"]);
    assert_eq!(both.status.code(), Some(64));
    // The operating system's error is said once.
    let missing = honnin(&["verify", "--card", "samples/nope.png", "--live", "samples/astronaut_live.jpg"]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(3));
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
    // No Rust debug text in what the card command prints.
    let card = honnin(&["card", "samples/astronaut_mynumber.bin"]);
    let stdout = String::from_utf8_lossy(&card.stdout);
    assert_eq!(card.status.code(), Some(0));
    assert!(!stdout.contains("Some(") && !stdout.contains("None") && stdout.contains("jpeg2000"), "{stdout}");
}

#[test]
fn the_audit_record_says_which_calibration_decided_and_how_it_was_pinned() {
    let dir = scratch_dir("audit-calibration");
    let log = dir.join("audit.log");
    let copy = dir.join("copy.json");
    std::fs::copy(root().join("calibration/intel-reid-0095.json"), &copy).unwrap();
    let base = ["verify", "--card", "samples/astronaut_card.png", "--live", "samples/astronaut_live.jpg"];
    let log_arg = log.to_str().unwrap();
    let shipped = common::honnin(&[&base[..], &["--audit", log_arg]].concat());
    assert_eq!(shipped.status.code(), Some(0));
    let unpinned = common::honnin(
        &[&base[..], &["--audit", log_arg, "--calibration", copy.to_str().unwrap()], &["--calibration-sha256", "any"]]
            .concat(),
    );
    assert_eq!(unpinned.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&unpinned.stderr).contains("not pinned"), "a warning");
    let records: Vec<serde_json::Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let pin_of = |r: &serde_json::Value| r["policy"]["calibration"]["pin"].as_str().map(str::to_string);
    assert_eq!(pin_of(&records[0]).as_deref(), Some("shipped"));
    assert_eq!(pin_of(&records[1]).as_deref(), Some("unpinned"));
    // The same bytes either way: the sha256 is the shipped file's.
    assert_eq!(records[0]["policy"]["calibration"]["sha256"], records[1]["policy"]["calibration"]["sha256"]);
    assert_eq!(records[0]["policy"]["pad_calibration"]["pin"], "shipped");
}
