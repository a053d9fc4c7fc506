//! Shared fixtures: paths, engines, LFW pairs, the binary under test.
//!
//! The library's suite (tests/suite/), tests/forensics.rs, tests/process.rs
//! and the suites of honnin-cli and honnin-lab, which include this file,
//! share it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use honnin::models::Metric;
use honnin::{danger, Calibration, Engine, Models, Policy};

/// The repository root (the workspace's): the library package's folder;
/// honnin-cli and honnin-lab are folders inside it.
pub fn root() -> &'static Path {
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    if env!("CARGO_PKG_NAME") == "honnin" {
        package
    } else {
        package.parent().expect("honnin-cli and honnin-lab sit in the repository root")
    }
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
        let pad = honnin::pad::PadCalibration::from_file(root().join("calibration/pad-minifasnet.json"))
            .expect("PAD calibration");
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

/// The binary these tests run: `honnin` in honnin-cli's tests, `honnin-lab`
/// in honnin-lab's. The library's own tests run honnin-cli's `honnin` from
/// their target directory (`c_api` builds it first).
pub fn binary() -> PathBuf {
    let built = option_env!("CARGO_BIN_EXE_honnin").or(option_env!("CARGO_BIN_EXE_honnin-lab"));
    built.map(PathBuf::from).unwrap_or_else(|| {
        // <target>/<profile>/deps/<test binary>
        let exe = std::env::current_exe().expect("the test binary's path");
        exe.parent().and_then(Path::parent).expect("a test binary in <target>/<profile>/deps").join("honnin")
    })
}

/// Runs [`binary`] from the repository root with the test's ONNX Runtime and
/// the default models.
pub fn honnin(args: &[&str]) -> std::process::Output {
    std::process::Command::new(binary())
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

/// Every file under `dir`, recursively (none when `dir` does not exist).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
