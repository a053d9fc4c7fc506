//! The default recognizer, Intel's face-reidentification-retail-0095 (issue 16):
//! the committed ONNX, made by `tools/openvino_to_onnx`, against an
//! independently converted ONNX of the same IR; the load-time PRelu rewrite;
//! and the stability of the alignment fit under sub-pixel landmark noise.

use honnin::engine::{Acquisition, Detection, Template};
use honnin::models::{Metric, ModelBytes};
use honnin::{danger, Engine, LiveFrame, Models};

use crate::common;

/// The first image of the first 24 LFW identities (sorted), as
/// `tools/openvino_to_onnx/check.py` takes them.
fn faces() -> Vec<std::path::PathBuf> {
    let root = common::data_dir().join("lfw/images");
    let mut names: Vec<String> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names.iter().map(|n| root.join(n).join(format!("{n}_0001.jpg"))).filter(|p| p.is_file()).take(24).collect()
}

/// An engine on the default detector and the recognizer of `manifest`, from memory
/// (`files`: file name and bytes), mirror averaging off, no PAD.
fn engine_from(manifest: &str, files: &[(&str, Vec<u8>)], expand_prelu: bool) -> Engine {
    let list: Vec<ModelBytes<'_>> = files.iter().map(|(file, bytes)| ModelBytes { file, bytes }).collect();
    let models = Models::from_memory(manifest.as_bytes(), &list).expect("models verify");
    let builder = Engine::builder(models).onnxruntime(common::ort_lib()).mirror_averaging(false);
    honnin::research::rewrite_prelu(builder, expand_prelu)
        .policy(danger::uncalibrated_policy(Metric::Cosine, 0.5))
        .build()
        .expect("engine builds")
}

fn manifest() -> String {
    std::fs::read_to_string(common::models_dir().join("manifest.json")).unwrap()
}

fn model(file: &str) -> (&str, Vec<u8>) {
    (file, std::fs::read(common::models_dir().join(file)).unwrap())
}

const COMMITTED: &str = "face-reidentification-retail-0095.onnx";
const COMMITTED_SHA256: &str = "0c22174743df4870aa9e68ffa1370be90e2d5ad201ca1d3eb35741fd474dd84b";

fn template(engine: &Engine, frame: &LiveFrame) -> Template {
    match engine.template(frame).unwrap() {
        Acquisition::Face(t) => t,
        other => panic!("no subject face: {other:?}"),
    }
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn the_committed_recognizer_agrees_with_an_independent_conversion_on_24_aligned_faces() {
    let reference_file = common::root().join("../shared/models/face_reid_0095_reference.onnx");
    let reference_bytes = std::fs::read(&reference_file)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared models folder)", reference_file.display()));
    let manifest = manifest();
    assert!(manifest.contains(COMMITTED_SHA256));
    // The same manifest entry, pointed at the independently converted file.
    let reference_manifest = manifest
        .replace(COMMITTED, "reference.onnx")
        .replace(COMMITTED_SHA256, "75992e6dc545965f222eef7b9f23a2fd33e2e229ce367922380d56d256be78f0")
        .replacen("\"bytes\": 4445910,", &format!("\"bytes\": {},", reference_bytes.len()), 1);
    let detector = model("yunet_s_dynamic.onnx");
    // Both without honnin's graph rewrite: this compares the converters' files.
    let ours = engine_from(&manifest, &[detector.clone(), model(COMMITTED)], false);
    let theirs = engine_from(&reference_manifest, &[detector.clone(), ("reference.onnx", reference_bytes)], false);
    // And the committed file as the engine runs it by default (each PRelu loaded as a LeakyRelu).
    let rewritten = engine_from(&manifest, &[detector, model(COMMITTED)], true);

    // The rewrite does apply: each of the 48 single-slope PRelu nodes becomes a LeakyRelu.
    let count = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).filter(|w| *w == needle).count();
    let committed = std::fs::read(common::models_dir().join(COMMITTED)).unwrap();
    let rewritten_bytes = honnin::research::expand_prelu(&committed).expect("the recognizer is rewritten");
    assert_eq!((count(&committed, b"PRelu"), count(&committed, b"LeakyRelu")), (48, 0));
    assert_eq!((count(&rewritten_bytes, b"PRelu"), count(&rewritten_bytes, b"LeakyRelu")), (0, 2 * 48));

    let (mut worst, mut worst_rewrite, mut largest) = (0f32, 0f32, 0f32);
    let faces = faces();
    assert_eq!(faces.len(), 24);
    for path in &faces {
        let frame = LiveFrame::open(path).unwrap();
        let a = template(&ours, &frame);
        let b = template(&theirs, &frame);
        let c = template(&rewritten, &frame);
        assert_eq!(a.len(), 256);
        largest = largest.max(honnin::danger::dangerous_template_values(&a).iter().fold(0.0, |m, v| m.max(v.abs())));
        worst = worst
            .max(max_abs(honnin::danger::dangerous_template_values(&a), honnin::danger::dangerous_template_values(&b)));
        worst_rewrite = worst_rewrite
            .max(max_abs(honnin::danger::dangerous_template_values(&a), honnin::danger::dangerous_template_values(&c)));
    }
    eprintln!(
        "intel-reid-0095 on 24 aligned faces: committed vs reference ONNX max abs {worst:.2e}; \
         PRelu rewrite vs plain graph max abs {worst_rewrite:.2e} (embedding values up to {largest:.2})"
    );
    assert!(largest > 0.5, "embeddings carry values");
    assert!(worst <= 1e-4, "committed and reference ONNX differ by {worst:e}");
    assert_eq!(worst_rewrite, 0.0, "the PRelu rewrite changes embeddings");
}

/// Deterministic noise in [-amplitude, amplitude] (a 64-bit LCG).
struct Noise(u64);

impl Noise {
    fn next(&mut self, amplitude: f32) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amplitude
    }
}

/// L2 distance between two templates scaled to unit length (what cosine sees).
fn unit_distance(a: &Template, b: &Template) -> f32 {
    let unit = |t: &Template| {
        let v = honnin::danger::dangerous_template_values(t);
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect::<Vec<_>>()
    };
    let (a, b) = (unit(a), unit(b));
    a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

/// The largest template change, over `faces` and 8 draws each, when every
/// landmark moves by up to `amplitude` px in x and y.
fn worst_change(engine: &Engine, frames: &[(LiveFrame, Detection)], amplitude: f32) -> f32 {
    let mut noise = Noise(16);
    let mut worst = 0f32;
    for (frame, face) in frames {
        let clean = honnin::research::embed(engine, frame, face).unwrap().unwrap();
        for _ in 0..8 {
            let mut moved = *face;
            for point in &mut moved.landmarks {
                point[0] += noise.next(amplitude);
                point[1] += noise.next(amplitude);
            }
            let shaken = honnin::research::embed(engine, frame, &moved).unwrap().unwrap();
            worst = worst.max(unit_distance(&clean, &shaken));
        }
    }
    worst
}

#[test]
fn the_least_squares_fit_moves_templates_little_under_sub_pixel_landmark_noise() {
    let manifest = manifest();
    assert!(manifest.contains("\"fit\": \"least_squares\""), "the default recognizer fits by least squares");
    let files = [model("yunet_s_dynamic.onnx"), model(COMMITTED)];
    let least_squares = engine_from(&manifest, &files, true);
    // The same recognizer with the robust fit, for comparison.
    let (head, tail) = manifest.split_at(manifest.find("\"intel-reid-0095\"").unwrap());
    let lmeds = format!("{head}{}", tail.replacen("\"fit\": \"least_squares\"", "\"fit\": \"lmeds\"", 1));
    let lmeds = engine_from(&lmeds, &files, true);

    // 24 faces, and one whose landmarks sit where LMedS changes its inliers.
    let mut paths = faces();
    paths.push(common::lfw_image("images/Michel_Duclos/Michel_Duclos_0001.jpg"));
    let frames: Vec<(LiveFrame, Detection)> = paths
        .iter()
        .map(|p| {
            let frame = LiveFrame::open(p).unwrap();
            let face = least_squares.subject(&frame).unwrap().expect("a subject face");
            (frame, face)
        })
        .collect();
    let ls = worst_change(&least_squares, &frames, 0.2);
    let robust = worst_change(&lmeds, &frames, 0.2);
    eprintln!(
        "largest template change (unit-length L2) under landmark noise of up to 0.2 px, 25 faces x 8 draws: \
         least squares {ls:.4}, LMedS {robust:.4}"
    );
    // Measured: 0.049 against 0.191.
    assert!(ls > 0.0, "the noise reaches the template");
    assert!(ls <= 0.08, "least squares moved a template by {ls:.4}");
    assert!(robust >= 2.0 * ls, "LMedS ({robust:.4}) should move templates much more than least squares ({ls:.4})");
}
