//! The C example (`examples/c/verify.c`), built against the static and the
//! shared C library, gives `honnin verify`'s decisions and scores, and runs
//! clean under valgrind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{data_dir, honnin, lfw_pairs, ort_lib, root};

/// Builds the C library (a no-op when `cargo test` at the workspace root
/// built it already) and the example, once; returns the two executables.
fn example() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // Both packages, so that honnin's features unify as in the workspace
        // build and nothing is rebuilt.
        let status = Command::new(cargo)
            .args(["build", "--release", "--lib", "-p", "honnin", "-p", "honnin-ffi"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the C library failed");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-example");
        let output = Command::new("make")
            .arg("-C")
            .arg(root().join("examples/c"))
            .arg(format!("OUT={}", out.display()))
            .arg("-B")
            .output()
            .expect("make runs (Debian: build-essential)");
        assert!(
            output.status.success(),
            "make failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (out.join("verify-static"), out.join("verify-shared"))
    })
}

/// One line of the example's output: (decision, score).
fn parse(line: &str) -> (String, f64) {
    let f: Vec<&str> = line.split('\t').collect();
    assert_eq!(f.len(), 6, "card, live, decision, reason, score, threshold: {line:?}");
    (f[2].to_string(), f[4].parse().unwrap())
}

fn run_example(exe: &Path, pairs: &[(PathBuf, PathBuf)]) -> Vec<(String, f64)> {
    let mut cmd = Command::new(exe);
    cmd.current_dir(root()).env("HONNIN_ORT_LIB", ort_lib());
    for (card, live) in pairs {
        cmd.arg(card).arg(live);
    }
    let output = cmd.output().unwrap();
    let code = output.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{} failed ({code:?}): {}",
        exe.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines().map(parse).collect()
}

#[test]
fn the_c_example_gives_the_decisions_and_scores_of_honnin_verify() {
    // 20 LFW DevTest pairs, 10 of one person and 10 of two, and the My Number sample.
    let all = lfw_pairs("pairsDevTest.txt");
    let lfw = data_dir().join("lfw");
    let mut pairs: Vec<(PathBuf, PathBuf)> =
        all.iter().step_by(50).map(|(a, b, _)| (lfw.join(a), lfw.join(b))).collect();
    assert_eq!(pairs.len(), 20);
    pairs.push((root().join("samples/astronaut_mynumber.bin"), root().join("samples/astronaut_live.jpg")));

    let (static_exe, shared_exe) = example();
    let from_static = run_example(static_exe, &pairs);
    let from_shared = run_example(shared_exe, &pairs);
    assert_eq!(from_static.len(), pairs.len());
    assert_eq!(from_static, from_shared, "the static and the shared library agree exactly");

    let mut decisions = std::collections::BTreeMap::<String, usize>::new();
    for ((card, live), (decision, score)) in pairs.iter().zip(&from_static) {
        let out = honnin(&["verify", "--json", "--card", card.to_str().unwrap(), "--live", live.to_str().unwrap()]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let cli_score = json["score"]["value"].as_f64().unwrap();
        assert_eq!(json["decision"].as_str().unwrap(), decision, "{}", live.display());
        assert!((cli_score - score).abs() <= 1e-5, "{}: CLI {cli_score}, C {score}", live.display());
        *decisions.entry(decision.clone()).or_default() += 1;
    }
    // Both kinds of decision were compared, not one repeated.
    assert!(decisions.get("match").copied().unwrap_or(0) >= 8, "{decisions:?}");
    assert!(decisions.get("no_match").copied().unwrap_or(0) >= 8, "{decisions:?}");
}

#[test]
fn the_c_example_runs_clean_under_valgrind() {
    let (static_exe, _) = example();
    let card = data_dir().join("lfw/images/Colin_Powell/Colin_Powell_0001.jpg");
    let live = data_dir().join("lfw/images/Colin_Powell/Colin_Powell_0002.jpg");
    let output = Command::new("valgrind")
        .arg("--leak-check=full")
        .arg("--errors-for-leak-kinds=definite")
        .arg("--error-exitcode=99")
        .arg(format!("--suppressions={}", root().join("examples/c/valgrind.supp").display()))
        .arg(static_exe)
        .arg(&card)
        .arg(&live)
        .current_dir(root())
        .env("HONNIN_ORT_LIB", ort_lib())
        .output()
        .expect("valgrind runs (tools/setup.py --dev installs it)");
    let log = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "valgrind or the example failed:\n{stdout}\n{log}");
    assert!(log.contains("ERROR SUMMARY: 0 errors from 0 contexts"), "{log}");
    assert!(log.contains("definitely lost: 0 bytes in 0 blocks") || log.contains("no leaks are possible"), "{log}");
    assert!(log.contains("indirectly lost: 0 bytes in 0 blocks") || log.contains("no leaks are possible"), "{log}");
    // The run did its work: one pair, decided.
    let (decision, score) = parse(stdout.lines().next().expect("one line of output"));
    assert_eq!(decision, "match");
    assert!(score > 0.0 && score < 0.5, "{score}");
}
