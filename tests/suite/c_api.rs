//! The C examples, built against the static and the shared C library:
//! `examples/c/verify.c` gives `honnin verify`'s decisions and scores, and
//! `examples/c/counter.c` runs a session from raw frames to the staff check;
//! both run clean under valgrind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{binary, data_dir, honnin, lfw_pairs, ort_lib, root};

/// Builds the C library and the `honnin` tool (honnin-cli's) the first test
/// compares it with (a no-op when `cargo test` at the workspace root built
/// them already), once; returns the folder they are in.
fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // The whole workspace, so that honnin's features unify as in the
        // workspace build and nothing is rebuilt; `honnin` is honnin-cli's.
        let status = Command::new(cargo)
            .args(["build", "--release", "--workspace", "--lib", "--bin", "honnin"])
            .current_dir(root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the C library and the honnin tool failed");
        // The library next to the honnin binary these tests run, wherever the target directory is.
        binary().parent().expect("the honnin binary's folder").to_path_buf()
    })
}

/// Builds the examples against the C library, once; returns their folder.
fn examples() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let libdir = built();
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-example");
        let output = Command::new("make")
            .arg("-C")
            .arg(root().join("examples/c"))
            .arg(format!("OUT={}", out.display()))
            .arg(format!("LIBDIR={}", libdir.display()))
            .arg("-B")
            .output()
            .expect("make runs (Debian: build-essential)");
        assert!(
            output.status.success(),
            "make failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        out
    })
}

/// One line of verify's output: (decision, reason, score, threshold).
fn parse(line: &str) -> (String, String, f64, f64) {
    let f: Vec<&str> = line.split('\t').collect();
    assert_eq!(f.len(), 6, "card, live, decision, reason, score, threshold: {line:?}");
    (f[2].to_string(), f[3].to_string(), f[4].parse().unwrap(), f[5].parse().unwrap())
}

fn run_example(exe: &Path, options: &[&str], pairs: &[(PathBuf, PathBuf)]) -> Vec<(String, String, f64, f64)> {
    let mut cmd = Command::new(exe);
    cmd.current_dir(root()).env("HONNIN_ORT_LIB", ort_lib()).args(options);
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
    // The example says on stderr whether PAD runs.
    let pad = if options.contains(&"--no-pad") { "off" } else { "on (liveness threshold 0.4707" };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("presentation-attack detection: {pad}")), "{stderr}");
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines().map(parse).collect()
}

#[test]
fn the_c_example_gives_the_decisions_and_scores_of_honnin_verify() {
    // 20 LFW DevTest pairs, 10 of one person and 10 of two, the My Number
    // sample, and a printed photo shown as the live image of itself.
    let all = lfw_pairs("pairsDevTest.txt");
    let lfw = data_dir().join("lfw");
    let mut pairs: Vec<(PathBuf, PathBuf)> =
        all.iter().step_by(50).map(|(a, b, _)| (lfw.join(a), lfw.join(b))).collect();
    assert_eq!(pairs.len(), 20);
    pairs.push((root().join("samples/astronaut_mynumber.bin"), root().join("samples/astronaut_live.jpg")));
    let printed = crate::common::spoof_samples().join("vietmoney/fake_003.jpg");
    pairs.push((printed.clone(), printed));

    // Presentation-attack detection on (the C API's default when the PAD
    // models are present, as the CLI's), and off.
    for options in [&[][..], &["--no-pad"][..]] {
        let from_static = run_example(&examples().join("verify-static"), options, &pairs);
        let from_shared = run_example(&examples().join("verify-shared"), options, &pairs);
        assert_eq!(from_static.len(), pairs.len());
        assert_eq!(from_static, from_shared, "the static and the shared library agree exactly");

        let mut decisions = std::collections::BTreeMap::<(String, String), usize>::new();
        for ((card, live), (decision, reason, score, threshold)) in pairs.iter().zip(&from_static) {
            let (c, l) = (card.to_str().unwrap(), live.to_str().unwrap());
            let mut args = vec!["verify", "--json", "--card", c, "--live", l];
            args.extend_from_slice(options);
            let out = honnin(&args);
            let json: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
            assert_eq!(json["decision"].as_str().unwrap(), decision, "{}", live.display());
            // The C example prints 0 where no faces were compared (and the reason).
            let number = |v: &serde_json::Value| v["value"].as_f64().unwrap_or(0.0);
            let (cli_score, cli_threshold) = (number(&json["score"]), number(&json["threshold"]));
            assert!((cli_score - score).abs() <= 1e-5, "{}: CLI {cli_score}, C {score}", live.display());
            assert!(
                (cli_threshold - threshold).abs() <= 1e-6,
                "{}: CLI {cli_threshold}, C {threshold}",
                live.display()
            );
            // The same reason, by its stable code.
            assert_eq!(reason, json["reason_code"].as_str().unwrap_or("none"), "{}", live.display());
            let attack = json["pad"]["status"] == "attack_suspected";
            assert_eq!(reason == "presentation_attack_suspected", attack, "{}: {}", live.display(), json["pad"]);
            *decisions.entry((decision.clone(), reason.clone())).or_default() += 1;
        }
        let count = |d: &str, r: &str| decisions.get(&(d.to_string(), r.to_string())).copied().unwrap_or(0);
        // The printed photo (the last pair): refused with PAD, a match without.
        let (decision, reason, ..) = from_static.last().unwrap();
        let printed =
            if options.is_empty() { ("inconclusive", "presentation_attack_suspected") } else { ("match", "none") };
        assert_eq!((decision.as_str(), reason.as_str()), printed);
        let attack = count("inconclusive", "presentation_attack_suspected");
        if options.is_empty() {
            // The printed photo at least; LFW press photos are not live
            // captures, and PAD rejects some of them (see calibration/).
            assert!(attack >= 1, "{decisions:?}");
            assert!(count("match", "none") >= 6 && count("no_match", "none") >= 6, "{decisions:?}");
        } else {
            // Both kinds of decision were compared, not one repeated.
            assert_eq!(attack, 0, "{decisions:?}");
            assert!(count("match", "none") >= 8 && count("no_match", "none") >= 8, "{decisions:?}");
        }
    }
}

/// Runs a command under valgrind's memcheck and requires a clean report:
/// no error, nothing definitely or indirectly lost. Returns its stdout and exit status.
fn memcheck(exe: &Path, args: &[&std::ffi::OsStr]) -> (String, Option<i32>) {
    let output = Command::new("valgrind")
        .arg("--leak-check=full")
        .arg("--errors-for-leak-kinds=definite,indirect")
        .arg("--error-exitcode=99")
        .arg(format!("--suppressions={}", root().join("examples/c/valgrind.supp").display()))
        .arg(exe)
        .args(args)
        .current_dir(root())
        .env("HONNIN_ORT_LIB", ort_lib())
        .output()
        .expect("valgrind runs (tools/setup.py --dev installs it)");
    let log = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_ne!(output.status.code(), Some(99), "valgrind found errors:\n{stdout}\n{log}");
    assert!(log.contains("ERROR SUMMARY: 0 errors from 0 contexts"), "{log}");
    assert!(log.contains("definitely lost: 0 bytes in 0 blocks"), "{log}");
    assert!(log.contains("indirectly lost: 0 bytes in 0 blocks"), "{log}");
    (stdout, output.status.code())
}

#[test]
fn the_c_example_runs_clean_under_valgrind() {
    let card = data_dir().join("lfw/images/Colin_Powell/Colin_Powell_0001.jpg");
    // A live image PAD passes (it runs: the PAD models are in models/).
    let live = data_dir().join("lfw/images/Colin_Powell/Colin_Powell_0004.jpg");
    let (stdout, code) = memcheck(&examples().join("verify-static"), &[card.as_os_str(), live.as_os_str()]);
    assert_eq!(code, Some(0), "a match, and every handle freed: {stdout}");
    // The run did its work: one pair, decided.
    let (decision, _, score, threshold) = parse(stdout.lines().next().expect("one line of output"));
    assert_eq!(decision, "match");
    // The committed colour threshold at the default FMR, and a cosine similarity at or above it.
    let calibration = crate::common::calibration();
    let colour = &calibration.references[&honnin::input::ReferenceKind::Colour];
    let point = colour.points.iter().find(|p| p.target_fmr == honnin::calibration::DEFAULT_TARGET_FMR).unwrap();
    assert!((threshold - f64::from(point.threshold)).abs() < 1e-6, "{threshold} against {}", point.threshold);
    assert!(score >= threshold && score <= 1.0, "{score} at {threshold}");
}

/// An LFW image as a binary PPM (raw RGB), the form counter.c feeds as pixels.
fn ppm(dir: &Path, name: &str, n: u32) -> PathBuf {
    let jpeg = data_dir().join(format!("lfw/images/{name}/{name}_{n:04}.jpg"));
    let image = image::open(&jpeg).unwrap().to_rgb8();
    let mut bytes = format!("P6\n# {name} {n}\n{} {}\n255\n", image.width(), image.height()).into_bytes();
    bytes.extend_from_slice(image.as_raw());
    let path = dir.join(format!("{name}_{n:04}.ppm"));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_counter_example_falls_back_to_staff_from_raw_frames_and_runs_clean_under_valgrind() {
    let dir = crate::common::scratch_dir("c-counter");
    let card = data_dir().join("lfw/images/Colin_Powell/Colin_Powell_0001.jpg");
    let exe = examples().join("counter-static");
    // Outside valgrind first: the card holder's own frames match in one attempt of 3.
    let own: Vec<PathBuf> = (2..=6).map(|n| ppm(&dir, "Colin_Powell", n)).collect();
    let mut cmd = Command::new(examples().join("counter-shared"));
    cmd.current_dir(root()).env("HONNIN_ORT_LIB", ort_lib()).args(["--staff", "unsure"]).arg(&card).args(&own);
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("offered: face staff\n"), "{text}");
    assert!(text.contains("frame: continue (1/3)"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("DECISION: match (face check) score 0."), "{text}");

    // A printed photo of the card holder: PAD closes the face path (fallback
    // 7, presentation attack suspected) and staff decide.
    let printed = crate::common::spoof_samples().join("vietmoney/fake_003.jpg");
    let mut cmd = Command::new(examples().join("counter-shared"));
    cmd.current_dir(root()).env("HONNIN_ORT_LIB", ort_lib()).args(["--staff", "same"]).arg(&printed);
    let out = cmd.args([&printed, &printed, &printed]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("frame: staff check offered (fallback 7)\n"), "{text}");
    assert_eq!(text.lines().last().unwrap(), "DECISION: match (staff visual check) none", "{text}");

    // Under valgrind: someone else's frames (which PAD passes), one per
    // attempt. Two non-matches close the face path; staff see the card photo
    // and judge.
    let other = [ppm(&dir, "George_W_Bush", 3), ppm(&dir, "George_W_Bush", 5)];
    let args: Vec<&std::ffi::OsStr> = ["--frames-per-attempt", "1", "--staff", "different"]
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([card.as_os_str(), other[0].as_os_str(), other[1].as_os_str()])
        .collect();
    let (stdout, code) = memcheck(&exe, &args);
    assert_eq!(code, Some(1), "no match, and every handle freed: {stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "offered: face staff");
    assert_eq!(lines[1], "frame: retry");
    assert_eq!(lines[2], "frame: staff check offered (fallback 1)", "{stdout}");
    assert!(lines[3].starts_with("staff screen: 160x160, 3 channel(s), mean level "), "{stdout}");
    assert_eq!(lines[4], "DECISION: no_match (staff visual check) none");
    let _ = std::fs::remove_dir_all(&dir);
}
