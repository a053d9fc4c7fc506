//! Chip containers against real vectors from public passport-reading
//! libraries (`../shared/data/dg2/`, never committed here).
//!
//! For every vector, what an independent parser read (`<name>.parsed.json`)
//! is compared with what honnin reads: the image's offset, length and
//! sha256, and the record's metadata. The extracted image must be
//! byte-identical to the file beside the vector, and its decoded size must be
//! the image's own, not the header's.

use std::path::{Path, PathBuf};

use honnin::card::{CardData, Container, DeclaredFormat, ImageFormat};
use honnin::error::Malformation;
use honnin::{CardPhoto, Error, Limits};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::data_dir;

fn vectors() -> PathBuf {
    let dir = data_dir().join("dg2");
    assert!(dir.join("README.md").is_file(), "chip vectors not found in {}", dir.display());
    dir
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The faces an independent parser found, each with the offset of the
/// structure its `image_offset` counts from.
fn expected_faces(parsed: &Value) -> Vec<(u64, Value)> {
    let faces = |v: &Value, base: u64| -> Vec<(u64, Value)> {
        let list = v.get("faces").or_else(|| v.get("reps")).and_then(Value::as_array).expect("faces or reps");
        list.iter().map(|f| (base, f.clone())).collect()
    };
    match parsed.get("bits").and_then(Value::as_array) {
        Some(bits) => bits
            .iter()
            .flat_map(|bit| {
                let base = bit["bdb_offset"].as_u64().unwrap();
                let block = bit.get("iso19794_5").or_else(|| bit.get("iso39794_5")).expect("a face block");
                faces(block, base)
            })
            .collect(),
        None => faces(parsed, 0),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Width and height from a JPEG's SOF or a JP2's ihdr box, read independently of honnin.
fn own_size(image: &[u8]) -> (u32, u32) {
    if image.starts_with(&[0xFF, 0xD8]) {
        let dims = image::ImageReader::new(std::io::Cursor::new(image)).with_guessed_format().unwrap();
        return dims.into_dimensions().unwrap();
    }
    let at = image.windows(4).position(|w| w == b"ihdr").expect("a JP2 ihdr box") + 4;
    let be = |i: usize| u32::from_be_bytes(image[i..i + 4].try_into().unwrap());
    (be(at + 4), be(at))
}

#[test]
fn every_real_vector_parses_as_the_independent_parser_read_it() {
    let dir = vectors();
    let mut checked = 0;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".parsed.json"))
        .collect();
    names.sort();
    for json_name in names {
        let name = json_name.trim_end_matches(".parsed.json");
        let parsed: Value = serde_json::from_slice(&read(&dir, &json_name)).unwrap();
        let bytes = read(&dir, &format!("{name}.bin"));
        let faces = expected_faces(&parsed);
        let extracted = faces[0].1["extracted_to"].as_str().unwrap();
        if extracted.ends_with(".img") {
            // Negative vectors: the embedded bytes are no image.
            let err = CardData::parse(&bytes, &Limits::default()).unwrap_err();
            assert!(
                matches!(err, Error::UnrecognisedFormat { what: "embedded face image", .. }),
                "{name}: expected an unrecognised embedded image, got {err}"
            );
            checked += 1;
            continue;
        }
        let data = CardData::parse(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(data.images().len(), faces.len(), "{name}: number of faces");
        for (image, (base, face)) in data.images().iter().zip(&faces) {
            let offset = base + face["image_offset"].as_u64().unwrap();
            assert_eq!(image.offset() as u64, offset, "{name}: image offset");
            assert_eq!(image.bytes().len() as u64, face["image_length"].as_u64().unwrap(), "{name}: image length");
            assert_eq!(hex_sha256(image.bytes()), face["image_sha256"].as_str().unwrap(), "{name}: image sha256");
            assert_eq!(image.bytes(), read(&dir, face["extracted_to"].as_str().unwrap()), "{name}: extracted bytes");
            let expected_format = if face["image_kind"] == "jpeg" { ImageFormat::Jpeg } else { ImageFormat::Jp2 };
            assert_eq!(image.format(), expected_format, "{name}: sniffed format");
            check_metadata(name, image.metadata(), face);
        }
        let container = data.container();
        let expected = match bytes[0] {
            0x75 => Container::Dg2,
            b'F' => Container::Iso19794Record,
            _ => Container::Iso39794Block,
        };
        assert_eq!(container, expected, "{name}: container");
        checked += 1;
    }
    assert_eq!(checked, 12, "every vector with a parsed.json was checked");
}

fn check_metadata(name: &str, m: &honnin::card::FaceMetadata, face: &Value) {
    let num = |key: &str| face.get(key).and_then(Value::as_u64);
    if let Some(points) = face.get("feature_points").and_then(Value::as_array) {
        // ISO/IEC 19794-5.
        let got: Vec<(u64, u64, u64, u64, u64)> = m
            .feature_points
            .iter()
            .map(|p| (p.kind.into(), p.major.into(), p.minor.into(), p.x.into(), p.y.into()))
            .collect();
        let want: Vec<(u64, u64, u64, u64, u64)> = points
            .iter()
            .map(|p| {
                let n = |k: &str| p[k].as_u64().unwrap();
                (n("type"), n("major"), n("minor"), n("x"), n("y"))
            })
            .collect();
        assert_eq!(got, want, "{name}: feature points");
        let pose = m.pose.expect("19794-5 has a pose");
        let want_pose: Vec<u64> =
            face["pose_yaw_pitch_roll"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(vec![u64::from(pose.yaw), u64::from(pose.pitch), u64::from(pose.roll)], want_pose, "{name}: pose");
        assert_eq!(m.colour_space.map(u64::from), num("colour_space"), "{name}: colour space");
        assert_eq!(m.source_type.map(u64::from), num("source_type"), "{name}: source type");
        assert_eq!(m.face_image_type.map(u64::from), num("face_image_type"), "{name}: face image type");
        let declared = match num("image_data_type") {
            Some(0) => DeclaredFormat::Jpeg,
            Some(1) => DeclaredFormat::Jpeg2000,
            other => panic!("{name}: data type {other:?}"),
        };
        assert_eq!(m.declared_format, Some(declared), "{name}: declared image type");
    } else {
        // ISO/IEC 39794-5: format code 3 (JPEG 2000 lossy) in every vector.
        assert_eq!(face["imageDataFormat_raw"], "a003800103", "{name}: the vector's own format field");
        assert_eq!(m.declared_format, Some(DeclaredFormat::Jpeg2000), "{name}: declared format");
        if let Some(raw) = face.get("imageColourSpace_raw").and_then(Value::as_str) {
            let code = u8::from_str_radix(&raw[raw.len() - 2..], 16).unwrap();
            assert_eq!(m.colour_space, Some(code), "{name}: colour space");
        }
    }
    assert_eq!(m.declared_width.map(u64::from), num("width"), "{name}: declared width");
    assert_eq!(m.declared_height.map(u64::from), num("height"), "{name}: declared height");
}

#[test]
fn decoded_card_photos_take_their_size_from_the_image_not_the_header() {
    let dir = vectors();
    for (name, image_file, header) in [
        ("gmrtd_uk_passport_dg2", "gmrtd_uk_passport_dg2.jpg", (384, 480)),
        ("jmrtd_bsi2008_dg2", "jmrtd_bsi2008_dg2.jp2", (337, 449)),
        ("jmrtd_loes2006_dg2", "jmrtd_loes2006_dg2.jp2", (449, 598)),
        ("gmrtd_dg2_iso19794_synthetic", "gmrtd_dg2_iso19794_synthetic.jpg", (148, 70)),
        ("gmrtd_iso19794_test1_record", "gmrtd_iso19794_test1_record.jpg", (148, 70)),
        ("gmrtd_39794_5_dg2_allfields", "gmrtd_39794_5_dg2_allfields.jp2", (572, 731)),
        ("gmrtd_39794_5_ap_mandfields", "gmrtd_39794_5_ap_mandfields.jp2", (0, 0)),
    ] {
        let bytes = read(&dir, &format!("{name}.bin"));
        let photo = CardPhoto::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let own = own_size(&read(&dir, image_file));
        assert_eq!(photo.dimensions(), own, "{name}: decoded size");
        let data = CardData::parse(&bytes, &Limits::default()).unwrap();
        let m = data.image(0).unwrap().metadata();
        let declared = (m.declared_width.unwrap_or(0), m.declared_height.unwrap_or(0));
        assert_eq!(declared, header, "{name}: header size kept as declared");
    }
    // The BSI 2008 specimen's header lies about its size: 337x449 declared, 413x531 real.
    let bsi = CardPhoto::from_bytes(&read(&dir, "jmrtd_bsi2008_dg2.bin")).unwrap();
    assert_eq!(bsi.dimensions(), (413, 531));
    assert_eq!((bsi.container(), bsi.format()), (Container::Dg2, ImageFormat::Jp2));
}

#[test]
fn negative_vectors_fail_with_a_clear_error() {
    let dir = vectors();
    for name in ["andyq_dg2_truncated_jp2_header.bin", "andyq_dg2_truncated_jpeg_header.bin"] {
        let err = CardPhoto::from_bytes(&read(&dir, name)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed { structure: "ICAO EF.DG2", problem: Malformation::ValueTruncated { .. }, .. }
            ),
            "{name}: {err}"
        );
    }
    for name in ["gmrtd_iso19794_test2_invalidimage_record.bin", "gmrtd_39794_5_ap_mandfields_invalidimage.bin"] {
        let err = CardPhoto::from_bytes(&read(&dir, name)).unwrap_err();
        assert!(matches!(err, Error::UnrecognisedFormat { what: "embedded face image", .. }), "{name}: {err}");
        assert!(err.to_string().contains("no supported format"), "{name}: {err}");
    }
    // The corrupt last byte (D9 -> DA) leaves the container intact, but the
    // JPEG has lost its end marker: the container parses, the image does not decode.
    let bytes = read(&dir, "gmrtd_uk_passport_dg2_corrupt_lastbyte.bin");
    let data = CardData::parse(&bytes, &Limits::default()).unwrap();
    assert_eq!(data.image(0).unwrap().bytes(), read(&dir, "gmrtd_uk_passport_dg2_corrupt_lastbyte.jpg"));
    let err = CardPhoto::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, Error::Decode { ref reason } if reason.contains("truncated")), "{err}");
}
