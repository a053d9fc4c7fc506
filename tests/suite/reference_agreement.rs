//! Agreement with an independent implementation (Python, onnxruntime, OpenCV)
//! of the same models: ../shared/data/reference/lfw_yunet_dlib.json.

use std::collections::HashMap;

use honnin::engine::{Acquisition, Template};
use honnin::LiveFrame;
use serde_json::Value;

use crate::common;

fn l2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

#[test]
fn landmarks_embeddings_and_distances_match_the_reference() {
    let path = common::data_dir().join("reference/lfw_yunet_dlib.json");
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let engine = common::reference_engine();
    let mut templates: HashMap<String, Template> = HashMap::new();
    let (mut worst_landmark, mut worst_embedding) = (0f32, 0f32);
    let images = reference["images"].as_array().unwrap();
    assert_eq!(images.len(), 24);
    for item in images {
        let name = item["image"].as_str().unwrap();
        assert_eq!(item["status"], "ok");
        let frame = LiveFrame::open(common::lfw_image(name)).unwrap();

        // Landmarks: the detection whose box is nearest the reference box.
        let ref_box = floats(&item["box_xywh"]);
        let detections = engine.detect(&frame).unwrap();
        let nearest = detections
            .iter()
            .min_by(|a, b| l2(&a.bbox, &ref_box).total_cmp(&l2(&b.bbox, &ref_box)))
            .unwrap_or_else(|| panic!("{name}: no face detected"));
        for (ours, theirs) in nearest.landmarks.iter().zip(item["kps"].as_array().unwrap()) {
            let d = l2(ours, &floats(theirs));
            worst_landmark = worst_landmark.max(d);
            assert!(d <= 1.0, "{name}: landmark off by {d:.3} px");
        }

        // Embedding of the subject the engine chose itself.
        let Acquisition::Face(template) = engine.template(&frame).unwrap() else {
            panic!("{name}: engine found no subject face")
        };
        let d = l2(honnin::danger::dangerous_template_values(&template), &floats(&item["embedding"]));
        worst_embedding = worst_embedding.max(d);
        assert!(d <= 0.03, "{name}: embedding off by L2 {d:.4}");
        templates.insert(name.to_string(), template);
    }

    let pairs = reference["pairs"].as_array().unwrap();
    assert!(!pairs.is_empty());
    let mut worst_pair = 0f32;
    for pair in pairs {
        let (a, b) = (&templates[pair["a"].as_str().unwrap()], &templates[pair["b"].as_str().unwrap()]);
        let ours = engine.compare(a, b).unwrap().value;
        let d = (ours - pair["l2"].as_f64().unwrap() as f32).abs();
        worst_pair = worst_pair.max(d);
        assert!(d <= 0.03, "pair {pair}: distance {ours:.4} differs by {d:.4}");
    }
    eprintln!(
        "reference agreement: worst landmark {worst_landmark:.3} px, worst embedding L2 {worst_embedding:.4}, \
         worst pair distance {worst_pair:.4} over {} pairs",
        pairs.len()
    );
}
