//! Calibration files tampered with as a careless or hostile edit would:
//! shared by the library and CLI tests (`trust.rs`) and the C API's
//! (`honnin-ffi/tests/abi.rs`).

use std::path::Path;

/// One tampered calibration: what was done, the JSON text, and a word the
/// refusal must contain.
pub struct Tampered {
    pub what: &'static str,
    pub text: String,
    pub expected: &'static str,
}

fn points<'a>(c: &'a mut serde_json::Value, kind: &str) -> &'a mut Vec<serde_json::Value> {
    c["references"][kind]["points"].as_array_mut().expect("points")
}

fn at<'a>(c: &'a mut serde_json::Value, kind: &str, target: f64) -> &'a mut serde_json::Value {
    points(c, kind).iter_mut().find(|p| p["target_fmr"].as_f64() == Some(target)).expect("a point at target")
}

/// The kinds of tampering issue 17 found accepted, on the committed files in
/// `calibration/` (both recognizers' where both metrics matter).
pub fn tampered(root: &Path) -> Vec<Tampered> {
    let read = |file: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(root.join("calibration").join(file)).unwrap()).unwrap()
    };
    let (dlib, intel) = (read("dlib-resnet-v1.json"), read("intel-reid-0095.json"));
    let mut out = Vec::new();
    let mut push = |what, value: serde_json::Value, expected| {
        out.push(Tampered { what, text: serde_json::to_string_pretty(&value).unwrap(), expected })
    };
    for (name, base) in [("dlib", &dlib), ("intel", &intel)] {
        let mut c = base.clone();
        for p in points(&mut c, "colour") {
            p["threshold"] = 9.0.into();
        }
        push(
            if name == "dlib" { "dlib: every colour threshold 9.0" } else { "intel: every colour threshold 9.0" },
            c,
            "threshold 9",
        );
    }
    let mut c = intel.clone();
    at(&mut c, "grey", 1e-4)["threshold"] = 1e30.into();
    push("intel: grey threshold 1e30 at 1e-4", c, "threshold");
    let mut c = dlib.clone();
    at(&mut c, "grey", 1e-4)["threshold"] = 1e30.into();
    push("dlib: grey threshold 1e30 at 1e-4", c, "threshold 1e30");
    let mut c = intel.clone();
    for kind in ["colour", "grey"] {
        for p in points(&mut c, kind) {
            p["threshold"] = (-1.0).into();
            p["impostors_accepted"] = 0.into();
            p["observed_fmr"] = 0.0.into();
        }
    }
    push("intel: every threshold -1 with counts edited to match", c, "right angles");
    let mut c = dlib.clone();
    at(&mut c, "colour", 1e-3)["threshold"] = (-0.5).into();
    push("dlib: negative colour threshold at 1e-3", c, "threshold -0.5");
    let mut c = intel.clone();
    let (t3, t4) = (at(&mut c, "colour", 1e-3)["threshold"].clone(), at(&mut c, "colour", 1e-4)["threshold"].clone());
    at(&mut c, "colour", 1e-3)["threshold"] = t4;
    at(&mut c, "colour", 1e-4)["threshold"] = t3;
    push("intel: thresholds at 1e-3 and 1e-4 swapped (out of order)", c, "not stricter");
    let mut c = dlib.clone();
    let mut duplicate = at(&mut c, "colour", 1e-3).clone();
    duplicate["threshold"] = at(&mut c, "colour", 1e-2)["threshold"].clone();
    points(&mut c, "colour").push(duplicate);
    push("dlib: a second 1e-3 point with the 1e-2 threshold (duplicate target)", c, "two operating points");
    out
}
