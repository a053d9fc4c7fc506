//! ISO/IEC 39794-5 face image data blocks (the `7F2E` biometric data block
//! of newer passports), in their BER tagged encoding.
//!
//! The path to a face image: `A1` > `65` (face image data block) > `A1`
//! (representation blocks) > `30` (one representation) > `A1` (image
//! representation) > `A0` > `A0` (2D representation block) > `80` (the image
//! bytes). Beside the bytes, `A1` holds the 2D information: `A0` image data
//! format, `A1` face image kind, `A7` image size, `A9` colour space. Only these
//! are read; everything else is validated as BER and otherwise left alone.

use super::image::{sniff_chip_image, CardImage, DeclaredFormat, FaceMetadata, FaceStandard};
use super::tlv::Tlv;
use crate::error::{Error, Malformation, Result};
use crate::input::limits::Limits;

const STRUCTURE: &str = "ISO/IEC 39794-5 face image data block";

/// Parses the value of a `7F2E` element (which must hold one `A1` element).
pub(crate) fn parse<'a>(block: &'a [u8], base: usize, depth: u32, limits: &Limits) -> Result<Vec<CardImage<'a>>> {
    // The value is one element, checked as a whole before anything is used.
    let (outer, used) = super::tlv::read(STRUCTURE, block, base, depth)?;
    if used != block.len() {
        return Err(Error::Malformed {
            structure: STRUCTURE,
            offset: base + used,
            problem: Malformation::TrailingBytes { count: (block.len() - used) as u64 },
        });
    }
    outer.validate(STRUCTURE, limits)?;
    parse_element(outer, limits)
}

/// Parses an already validated `A1` element.
pub(crate) fn parse_element<'a>(outer: Tlv<'a>, limits: &Limits) -> Result<Vec<CardImage<'a>>> {
    expect(&outer, 0xA1, "the face image data block wrapper A1")?;
    let data_block = outer.only_child(STRUCTURE, 0x65, limits)?;
    let representations = data_block.only_child(STRUCTURE, 0xA1, limits)?.children(STRUCTURE, limits)?;
    if representations.is_empty() {
        return Err(Error::NoFaceImage { index: 0, count: 0 });
    }
    if representations.len() as u64 > u64::from(limits.max_faces) {
        return Err(Error::LimitExceeded {
            limit: "faces",
            max: u64::from(limits.max_faces),
            actual: representations.len() as u64,
        });
    }
    representations.iter().map(|r| representation(r, limits)).collect()
}

fn representation<'a>(rep: &Tlv<'a>, limits: &Limits) -> Result<CardImage<'a>> {
    expect(rep, 0x30, "a representation SEQUENCE")?;
    let image_rep = rep.only_child(STRUCTURE, 0xA1, limits)?;
    let base = image_rep.only_child(STRUCTURE, 0xA0, limits)?;
    let block_2d = base.only_child(STRUCTURE, 0xA0, limits)?;
    let data = block_2d.only_child(STRUCTURE, 0x80, limits)?;
    if data.constructed {
        return Err(Error::Malformed {
            structure: STRUCTURE,
            offset: data.offset,
            problem: Malformation::Unexpected { what: "primitive image bytes", tag: data.tag },
        });
    }
    let info = block_2d.child(STRUCTURE, 0xA1, limits)?;
    let mut metadata = FaceMetadata::empty(FaceStandard::Iso39794_5);
    if let Some(info) = info {
        if let Some(format) = info.child(STRUCTURE, 0xA0, limits)? {
            metadata.declared_format = Some(match code(&format, limits)? {
                // ISO/IEC 39794-5 image data formats: 2 JPEG, 3 JPEG 2000 lossy, 4 JPEG 2000 lossless, 5 PNG.
                2 => DeclaredFormat::Jpeg,
                3 | 4 => DeclaredFormat::Jpeg2000,
                5 => DeclaredFormat::Png,
                other => DeclaredFormat::Other(u8::try_from(other).unwrap_or(u8::MAX)),
            });
        }
        if let Some(kind) = info.child(STRUCTURE, 0xA1, limits)? {
            metadata.face_image_type = Some(small(code(&kind, limits)?));
        }
        if let Some(size) = info.child(STRUCTURE, 0xA7, limits)? {
            metadata.declared_width = size.child(STRUCTURE, 0x80, limits)?.map(|w| w.uint(STRUCTURE)).transpose()?;
            metadata.declared_height = size.child(STRUCTURE, 0x81, limits)?.map(|h| h.uint(STRUCTURE)).transpose()?;
        }
        if let Some(space) = info.child(STRUCTURE, 0xA9, limits)? {
            metadata.colour_space = Some(small(code(&space, limits)?));
        }
    }
    let format = sniff_chip_image(data.value)?;
    Ok(CardImage { format, bytes: data.value, offset: data.value_offset, metadata })
}

/// An enumerated value: either `[0] INTEGER` directly, or wrapped once in a
/// constructed choice (`A1` > `80`), as 39794-5's extensible enumerations are.
fn code(element: &Tlv<'_>, limits: &Limits) -> Result<u32> {
    let children = element.children(STRUCTURE, limits)?;
    match children.as_slice() {
        [only] if !only.constructed => only.uint(STRUCTURE),
        [only] if only.constructed => code(only, limits),
        _ => Err(Error::Malformed {
            structure: STRUCTURE,
            offset: element.offset,
            problem: Malformation::Unexpected { what: "one enumerated code", tag: element.tag },
        }),
    }
}

fn small(code: u32) -> u8 {
    u8::try_from(code).unwrap_or(u8::MAX)
}

fn expect(tlv: &Tlv<'_>, tag: u32, what: &'static str) -> Result<()> {
    if tlv.tag != tag {
        return Err(Error::Malformed {
            structure: STRUCTURE,
            offset: tlv.offset,
            problem: Malformation::Unexpected { what, tag: tlv.tag },
        });
    }
    Ok(())
}
