//! Another recognizer plugs in through the manifest alone: an ArcFace-style
//! 112x112, BGR, (x - 127.5) / 128, cosine-scored model. The test writes its own
//! tiny ONNX model (global average pool + flatten: the embedding is the mean of
//! each normalised channel of the aligned chip), so the result can be reasoned
//! about: on a face, red exceeds blue, so the channel order is visible.

use honnin::engine::Acquisition;
use honnin::models::Metric;
use honnin::{danger, CardPhoto, Decision, Engine, Error, LiveFrame, Models};
use sha2::{Digest, Sha256};

use crate::common;
use crate::integrity::ModelCopy;

/// Minimal protobuf writer for the few ONNX messages needed.
fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
fn field_varint(field: u32, v: u64, out: &mut Vec<u8>) {
    varint(u64::from(field) << 3, out);
    varint(v, out);
}
fn field_bytes(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    varint((u64::from(field) << 3) | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}
fn message(build: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut m = Vec::new();
    build(&mut m);
    m
}

/// ValueInfoProto for a float tensor; `None` dims are the symbolic batch "N".
fn value_info(name: &str, dims: &[Option<i64>]) -> Vec<u8> {
    let shape = message(|m| {
        for d in dims {
            let dim = message(|dm| match d {
                Some(v) => field_varint(1, *v as u64, dm),
                None => field_bytes(2, b"N", dm),
            });
            field_bytes(1, &dim, m);
        }
    });
    let tensor = message(|m| {
        field_varint(1, 1, m); // elem_type FLOAT
        field_bytes(2, &shape, m);
    });
    let ty = message(|m| field_bytes(1, &tensor, m));
    message(|m| {
        field_bytes(1, name.as_bytes(), m);
        field_bytes(2, &ty, m);
    })
}

fn node(op: &str, input: &str, output: &str) -> Vec<u8> {
    message(|m| {
        field_bytes(1, input.as_bytes(), m);
        field_bytes(2, output.as_bytes(), m);
        field_bytes(3, format!("{op}_0").as_bytes(), m);
        field_bytes(4, op.as_bytes(), m);
    })
}

fn tiny_recognizer() -> Vec<u8> {
    let graph = message(|g| {
        field_bytes(1, &node("GlobalAveragePool", "data", "pooled"), g);
        field_bytes(1, &node("Flatten", "pooled", "feature"), g);
        field_bytes(2, b"tiny_mean_colour", g);
        field_bytes(11, &value_info("data", &[None, Some(3), Some(112), Some(112)]), g);
        field_bytes(12, &value_info("feature", &[None, Some(3)]), g);
    });
    message(|m| {
        field_varint(1, 7, m); // ir_version
        field_bytes(7, &graph, m);
        let opset = message(|o| {
            field_bytes(1, b"", o);
            field_varint(2, 13, o);
        });
        field_bytes(8, &opset, m);
    })
}

/// Writes the tiny model and a manifest entry for it next to a copy of the real models.
fn install(copy: &ModelCopy, colour: &str) {
    let bytes = tiny_recognizer();
    std::fs::write(copy.path().join("tiny.onnx"), &bytes).unwrap();
    let sha: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let manifest_path = copy.path().join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["recognizer"] = "tiny-arcface-like".into();
    manifest["models"].as_array_mut().unwrap().push(serde_json::json!({
        "id": "tiny-arcface-like",
        "role": "recognizer",
        "file": "tiny.onnx",
        "sha256": sha,
        "bytes": bytes.len(),
        "licence": "test fixture",
        "source": "written by tests/suite/plugin_recognizer.rs",
        "input": { "name": "data", "shape": [-1, 3, 112, 112], "colour": colour,
                   "mean": [127.5, 127.5, 127.5], "scale": [0.0078125, 0.0078125, 0.0078125] },
        "output": { "name": "feature", "shape": [-1, 3] },
        "alignment": { "size": [112, 112], "template": [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]] },
        "metric": "cosine"
    }));
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();
}

fn engine_for(copy: &ModelCopy) -> Engine {
    let models = Models::from_dir(copy.path()).unwrap();
    assert_eq!(models.metric(), Metric::Cosine);
    Engine::builder(models)
        .onnxruntime(common::ort_lib())
        .policy(danger::uncalibrated_policy(Metric::Cosine, 0.9))
        .build()
        .unwrap()
}

fn template_of(engine: &Engine, path: &std::path::Path) -> Vec<f32> {
    let frame = LiveFrame::open(path).unwrap();
    match engine.template(&frame).unwrap() {
        Acquisition::Face(t) => honnin::danger::dangerous_template_values(&t).to_vec(),
        Acquisition::Inconclusive(r) => panic!("no template: {r:?}"),
    }
}

#[test]
fn an_arcface_style_cosine_recognizer_plugs_in_through_the_manifest() {
    let live = common::root().join("samples/astronaut_live.jpg");

    let bgr = ModelCopy::new("plugin-bgr");
    install(&bgr, "bgr");
    let engine = engine_for(&bgr);
    let t = template_of(&engine, &live);
    assert_eq!(t.len(), 3);
    assert!(t.iter().all(|v| (-1.0..=1.0).contains(v)), "normalised to [-1, 1]: {t:?}");
    // BGR order: index 2 is red, index 0 blue; skin is redder than it is blue.
    assert!(t[2] > t[0] + 0.05, "expected red (index 2) above blue (index 0): {t:?}");

    let card = CardPhoto::open(common::root().join("samples/astronaut_card.png")).unwrap();
    let outcome = engine.verify(&card, &LiveFrame::open(&live).unwrap()).unwrap();
    let score = outcome.score.expect("a score");
    assert_eq!(score.metric, Metric::Cosine);
    assert!(score.value > 0.9 && outcome.decision == Decision::Match, "{outcome:?}");

    // The same model declared RGB swaps the channels the engine feeds it.
    let rgb = ModelCopy::new("plugin-rgb");
    install(&rgb, "rgb");
    drop(engine);
    let swapped = template_of(&engine_for(&rgb), &live);
    assert!((swapped[0] - t[2]).abs() < 1e-4 && (swapped[2] - t[0]).abs() < 1e-4, "{swapped:?} vs {t:?}");
}

#[test]
fn a_plugged_in_model_whose_shape_contradicts_the_manifest_is_refused() {
    let copy = ModelCopy::new("plugin-bad-shape");
    install(&copy, "bgr");
    // Manifest and alignment say 128x128; the model itself declares 112x112.
    let path = copy.path().join("manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let entry = manifest["models"].as_array_mut().unwrap().last_mut().unwrap();
    entry["input"]["shape"] = serde_json::json!([-1, 3, 128, 128]);
    entry["alignment"]["size"] = serde_json::json!([128, 128]);
    std::fs::write(&path, manifest.to_string()).unwrap();
    let models = Models::from_dir(copy.path()).unwrap();
    let err = Engine::builder(models)
        .onnxruntime(common::ort_lib())
        .policy(danger::uncalibrated_policy(Metric::Cosine, 0.9))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Manifest { .. }), "{err}");
}
