//! Shared fixtures: paths, engines, LFW pairs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use honnin::{danger, Calibration, Engine, Models, Policy};
use honnin::models::Metric;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn ort_lib() -> PathBuf {
    let path = match std::env::var_os("HONNIN_ORT_LIB") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root().join(".runtime/libonnxruntime.so.1.31.1"),
    };
    assert!(path.is_file(), "ONNX Runtime not found at {}: run `python3 tools/setup.py` first", path.display());
    path
}

pub fn models_dir() -> PathBuf {
    root().join("models")
}

/// The shared face data folder (`HONNIN_DATA`, default `../shared/data`).
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("HONNIN_DATA").map_or_else(|| root().join("../shared/data"), PathBuf::from);
    assert!(
        dir.join("lfw/images").is_dir(),
        "face data not found at {} (expected lfw/images inside): set HONNIN_DATA",
        dir.display()
    );
    dir
}

pub fn lfw_image(relative: &str) -> PathBuf {
    data_dir().join("lfw").join(relative)
}

pub fn calibration() -> Calibration {
    Calibration::from_file(root().join("calibration/intel-reid-0095.json")).expect("committed calibration parses")
}

/// The production configuration: default models (YuNet + Intel 0095), calibrated policy at the
/// default FMR (1e-4), mirror averaging on.
pub fn engine() -> std::sync::Arc<Engine> {
    static ENGINE: OnceLock<std::sync::Arc<Engine>> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let models = Models::from_dir(models_dir()).expect("models verify");
        let engine = Engine::builder(models)
            .onnxruntime(ort_lib())
            .policy(Policy::default_from(&calibration()).expect("calibration has the default FMR"))
            .build()
            .expect("engine builds");
        std::sync::Arc::new(engine)
    });
    std::sync::Arc::clone(engine)
}

/// The production configuration with presentation-attack detection at the
/// committed PAD calibration.
pub fn pad_engine() -> std::sync::Arc<Engine> {
    static ENGINE: OnceLock<std::sync::Arc<Engine>> = OnceLock::new();
    let engine = ENGINE.get_or_init(|| {
        let models = Models::from_dir(models_dir()).expect("models verify");
        assert!(models.has_pad(), "PAD models missing from models/: run tools/setup.py with HONNIN_MODEL_MIRROR");
        let pad =
            honnin::pad::PadCalibration::from_file(root().join("calibration/pad-minifasnet.json")).expect("PAD calibration");
        let engine = Engine::builder(models)
            .onnxruntime(ort_lib())
            .pad(honnin::pad::PadPolicy::from_calibration(&pad))
            .policy(Policy::default_from(&calibration()).expect("calibration has the default FMR"))
            .build()
            .expect("engine builds");
        std::sync::Arc::new(engine)
    });
    std::sync::Arc::clone(engine)
}

/// The spoof samples' folder (`HONNIN_DATA`/spoof_samples).
pub fn spoof_samples() -> PathBuf {
    data_dir().join("spoof_samples")
}

/// The reference implementation's configuration: fixed 640x640 YuNet, dlib's recognizer, no
/// mirror averaging.
pub fn reference_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let models =
            Models::select(models_dir(), Some("yunet-2023mar-640"), Some("dlib-resnet-v1")).expect("models verify");
        Engine::builder(models)
            .onnxruntime(ort_lib())
            .mirror_averaging(false)
            .policy(danger::uncalibrated_policy(Metric::Euclidean, 0.6))
            .build()
            .expect("engine builds")
    })
}

/// Pairs of an official LFW pairs file as (image a, image b, same identity), paths relative to lfw/.
pub fn lfw_pairs(file: &str) -> Vec<(String, String, bool)> {
    let path = data_dir().join("lfw").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let image = |name: &str, n: &str| format!("images/{name}/{name}_{:04}.jpg", n.parse::<u32>().unwrap());
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [name, a, b] => Some((image(name, a), image(name, b), true)),
                [n1, a, n2, b] => Some((image(n1, a), image(n2, b), false)),
                _ => None,
            }
        })
        .collect()
}

/// Runs the `honnin` binary from the repository root with the test's ONNX
/// Runtime and the default models.
pub fn honnin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_honnin"))
        .args(args)
        .current_dir(root())
        .env("HONNIN_ORT_LIB", ort_lib())
        .env_remove("HONNIN_MODELS")
        .output()
        .unwrap()
}

/// An empty folder of this test process's own under the target directory
/// (emptied first if a crashed run left it behind).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What a measured run of the `honnin` binary gave.
pub struct Measured {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Peak resident set size of the honnin process, KiB.
    pub peak_kib: u64,
    pub elapsed: std::time::Duration,
}

/// Runs the `honnin` binary (as [`honnin`] does, `models` as HONNIN_MODELS)
/// and measures its peak RSS.
///
/// The peak is measured by a small Python parent: a process started directly
/// from this test binary would report this process's own peak as well, as
/// Linux carries the peak of the address space a process leaves over `exec`
/// (and this one holds engines and other tests' pictures). Python's own
/// memory stays out of it: `RUSAGE_CHILDREN` counts the children only.
pub fn honnin_measured(args: &[&str], models: Option<&Path>) -> Measured {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        run = subprocess.run(sys.argv[1:], capture_output=True, stdin=subprocess.DEVNULL)\n\
        sys.stdout.buffer.write(run.stdout)\n\
        sys.stderr.buffer.write(run.stderr)\n\
        print('peak-rss-kib', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n\
        sys.exit(run.returncode)\n";
    let mut command = std::process::Command::new("python3");
    command.args(["-c", MEASURE, env!("CARGO_BIN_EXE_honnin")]).args(args);
    command.current_dir(root()).env("HONNIN_ORT_LIB", ort_lib());
    match models {
        Some(dir) => command.env("HONNIN_MODELS", dir),
        None => command.env_remove("HONNIN_MODELS"),
    };
    let started = std::time::Instant::now();
    let output = command.output().expect("python3 runs (tools/setup.py needs it too)");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let peak_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak reported: {stderr}"));
    Measured {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
        peak_kib,
        elapsed,
    }
}
