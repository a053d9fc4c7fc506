//! ISO/IEC 19794-5:2005 face image records (`FAC\0`, version `010\0`).
//!
//! Layout, all big-endian: a 14-byte record header (format identifier,
//! version, record length u32, number of faces u16), then per face a 20-byte
//! facial information block, 8 bytes per feature point, a 12-byte image
//! information block and the image data. The image's length follows from the
//! block length; its type and size fields are kept as metadata but never
//! trusted: the caller sniffs the bytes and takes the size from the image.

use super::image::{sniff_chip_image, CardImage, DeclaredFormat, FaceMetadata, FaceStandard, FeaturePoint, Pose};
use crate::error::{Error, Malformation, Result};
use crate::input::limits::Limits;

const STRUCTURE: &str = "ISO/IEC 19794-5 face record";
const HEADER: usize = 14;
const FACIAL_INFO: usize = 20;
const FEATURE_POINT: usize = 8;
const IMAGE_INFO: usize = 12;

/// Parses a whole record that starts at `base` in the caller's input; the
/// record length must equal the bytes given.
pub(crate) fn parse<'a>(record: &'a [u8], base: usize, limits: &Limits) -> Result<Vec<CardImage<'a>>> {
    let malformed = |offset: usize, problem| Error::Malformed { structure: STRUCTURE, offset: base + offset, problem };
    let truncated = |offset: usize, needed: usize| {
        malformed(
            offset,
            Malformation::Truncated { needed: needed as u64, available: record.len().saturating_sub(offset) as u64 },
        )
    };
    if record.len() < HEADER {
        return Err(truncated(0, HEADER));
    }
    if &record[0..4] != b"FAC\0" {
        return Err(malformed(0, Malformation::BadMagic { expected: "FAC\\0" }));
    }
    if &record[4..8] != b"010\0" {
        let found = String::from_utf8_lossy(&record[4..8]).trim_end_matches('\0').to_string();
        return Err(malformed(4, Malformation::UnsupportedVersion { found }));
    }
    let declared = u64::from(u32_at(record, 8));
    if declared != record.len() as u64 {
        return Err(malformed(
            8,
            Malformation::Mismatch { field: "record length", declared, actual: record.len() as u64 },
        ));
    }
    let faces = u32::from(u16_at(record, 12));
    if faces == 0 {
        return Err(Error::NoFaceImage { index: 0, count: 0 });
    }
    if faces > limits.max_faces {
        return Err(Error::LimitExceeded {
            limit: "faces",
            max: u64::from(limits.max_faces),
            actual: u64::from(faces),
        });
    }
    let mut images = Vec::with_capacity(faces as usize);
    let mut at = HEADER;
    for parsed in 0..faces {
        if at == record.len() {
            return Err(malformed(
                12,
                Malformation::Mismatch {
                    field: "number of faces",
                    declared: u64::from(faces),
                    actual: u64::from(parsed),
                },
            ));
        }
        if record.len() - at < FACIAL_INFO {
            return Err(truncated(at, FACIAL_INFO));
        }
        let block_len = u32_at(record, at) as usize;
        let points = usize::from(u16_at(record, at + 4));
        let fixed = FACIAL_INFO + FEATURE_POINT * points + IMAGE_INFO;
        if block_len <= fixed {
            return Err(malformed(
                at,
                Malformation::TooShort {
                    field: "facial block length (fixed fields, feature points and at least one image byte)",
                    declared: block_len as u64,
                    minimum: fixed as u64 + 1,
                },
            ));
        }
        if block_len > record.len() - at {
            return Err(malformed(
                at,
                Malformation::Mismatch {
                    field: "facial block length",
                    declared: block_len as u64,
                    actual: (record.len() - at) as u64,
                },
            ));
        }
        let block = &record[at..at + block_len];
        let pose = Pose { yaw: block[14], pitch: block[15], roll: block[16] };
        let feature_points = (0..points)
            .map(|p| {
                let f = &block[FACIAL_INFO + FEATURE_POINT * p..];
                FeaturePoint { kind: f[0], major: f[1] >> 4, minor: f[1] & 0x0F, x: u16_at(f, 2), y: u16_at(f, 4) }
            })
            .collect();
        let info = &block[FACIAL_INFO + FEATURE_POINT * points..];
        let metadata = FaceMetadata {
            standard: FaceStandard::Iso19794_5,
            face_image_type: Some(info[0]),
            declared_format: Some(match info[1] {
                0 => DeclaredFormat::Jpeg,
                1 => DeclaredFormat::Jpeg2000,
                other => DeclaredFormat::Other(other),
            }),
            declared_width: Some(u32::from(u16_at(info, 2))),
            declared_height: Some(u32::from(u16_at(info, 4))),
            colour_space: Some(info[6]),
            source_type: Some(info[7]),
            pose: Some(pose),
            feature_points,
        };
        let image_offset = at + fixed;
        let bytes = &block[fixed..];
        let format = sniff_chip_image(bytes)?;
        images.push(CardImage { format, bytes, offset: base + image_offset, metadata });
        at += block_len;
    }
    if at != record.len() {
        return Err(malformed(
            at,
            Malformation::Mismatch {
                field: "record length (sum of the facial blocks)",
                declared: record.len() as u64,
                actual: at as u64,
            },
        ));
    }
    Ok(images)
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// A face for [`build`]: feature points (type, code, x, y), image data type,
/// declared width and height, image bytes.
#[cfg(test)]
pub(crate) type BuiltFace<'a> = (&'a [(u8, u8, u16, u16)], u8, u16, u16, &'a [u8]);

/// Builds a record from the standard's layout (for tests).
#[cfg(test)]
pub(crate) fn build(faces: &[BuiltFace<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (points, data_type, w, h, image) in faces {
        let len = FACIAL_INFO + FEATURE_POINT * points.len() + IMAGE_INFO + image.len();
        body.extend_from_slice(&(len as u32).to_be_bytes());
        body.extend_from_slice(&(points.len() as u16).to_be_bytes());
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 0]);
        for (kind, code, x, y) in *points {
            body.extend_from_slice(&[*kind, *code]);
            body.extend_from_slice(&x.to_be_bytes());
            body.extend_from_slice(&y.to_be_bytes());
            body.extend_from_slice(&[0, 0]);
        }
        body.extend_from_slice(&[1, *data_type]);
        body.extend_from_slice(&w.to_be_bytes());
        body.extend_from_slice(&h.to_be_bytes());
        body.extend_from_slice(&[1, 2, 0, 0, 0, 0]);
        body.extend_from_slice(image);
    }
    let mut record = b"FAC\x00010\x00".to_vec();
    record.extend_from_slice(&((HEADER + body.len()) as u32).to_be_bytes());
    record.extend_from_slice(&(faces.len() as u16).to_be_bytes());
    record.extend_from_slice(&body);
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::ImageFormat;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];
    const JP2: &[u8] = &[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A, 9, 9];

    #[test]
    fn a_record_built_from_the_layout_parses_with_its_metadata() {
        let record = build(&[(&[(1, 0xC1, 233, 227), (1, 0xC2, 144, 227)], 0, 384, 480, JPEG), (&[], 1, 10, 20, JP2)]);
        let images = parse(&record, 100, &Limits::default()).unwrap();
        assert_eq!(images.len(), 2);
        assert_eq!(images[0].bytes, JPEG);
        assert_eq!(images[0].format, ImageFormat::Jpeg);
        assert_eq!(images[0].offset, 100 + 14 + 20 + 16 + 12);
        let m = &images[0].metadata;
        assert_eq!(
            (m.declared_width, m.declared_height, m.colour_space, m.source_type),
            (Some(384), Some(480), Some(1), Some(2))
        );
        assert_eq!(m.feature_points[1], FeaturePoint { kind: 1, major: 12, minor: 2, x: 144, y: 227 });
        assert_eq!(m.pose, Some(Pose { yaw: 2, pitch: 0, roll: 1 }));
        assert_eq!(
            (images[1].format, images[1].metadata.declared_format),
            (ImageFormat::Jp2, Some(DeclaredFormat::Jpeg2000))
        );
    }

    #[test]
    fn the_bytes_decide_the_image_type_not_the_field() {
        // Data type says JPEG 2000 (1), bytes are JPEG.
        let record = build(&[(&[], 1, 1, 1, JPEG)]);
        let images = parse(&record, 0, &Limits::default()).unwrap();
        assert_eq!(images[0].format, ImageFormat::Jpeg);
    }

    #[test]
    fn lying_lengths_and_counts_are_errors() {
        let good = build(&[(&[], 0, 1, 1, JPEG)]);
        let mut longer = good.clone();
        longer[8..12].copy_from_slice(&((good.len() + 5) as u32).to_be_bytes());
        assert!(matches!(
            parse(&longer, 0, &Limits::default()),
            Err(Error::Malformed { offset: 8, problem: Malformation::Mismatch { field: "record length", .. }, .. })
        ));
        let mut two_faces = good.clone();
        two_faces[13] = 2;
        assert!(matches!(
            parse(&two_faces, 0, &Limits::default()),
            Err(Error::Malformed {
                offset: 12,
                problem: Malformation::Mismatch { field: "number of faces", declared: 2, actual: 1 },
                ..
            })
        ));
        let mut zero = good.clone();
        zero[13] = 0;
        assert!(matches!(parse(&zero, 0, &Limits::default()), Err(Error::NoFaceImage { index: 0, count: 0 })));
        let mut points = good.clone();
        points[19] = 200; // 200 feature points cannot fit in the block
        assert!(matches!(
            parse(&points, 0, &Limits::default()),
            Err(Error::Malformed {
                offset: 14,
                problem: Malformation::TooShort { declared: 41, minimum: 1633, .. },
                ..
            })
        ));
        let mut version = good;
        version[4..8].copy_from_slice(b"030\0");
        assert!(matches!(
            parse(&version, 0, &Limits::default()),
            Err(Error::Malformed { problem: Malformation::UnsupportedVersion { .. }, .. })
        ));
    }

    #[test]
    fn too_many_faces_hit_the_limit() {
        let image: &[u8] = JPEG;
        let faces: Vec<BuiltFace<'_>> = vec![(&[], 0, 1, 1, image); 3];
        let record = build(&faces);
        let limits = Limits { max_faces: 2, ..Limits::default() };
        assert!(matches!(parse(&record, 0, &limits), Err(Error::LimitExceeded { limit: "faces", max: 2, actual: 3 })));
    }
}
