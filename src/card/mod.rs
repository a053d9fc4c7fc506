//! Card data as chips store it: the containers around a card's face photo.
//!
//! A card photo arrives as one of
//! - a plain image: JPEG, JPEG 2000 (JP2 file or raw J2K codestream), PNG, WebP;
//! - ICAO 9303 EF.DG2: `75` > `7F61` (biometric information group template:
//!   `02` instance count, then one `7F60` per instance) > `7F60` > `A1`
//!   (biometric header template) + `5F2E` (an ISO/IEC 19794-5 record) or
//!   `7F2E` (an ISO/IEC 39794-5 data block);
//! - a bare ISO/IEC 19794-5:2005 record (`FAC\0`), a bare `5F2E` or `7F2E`
//!   element, or the value of a `7F2E` element (`A1` > `65`);
//! - My Number card-surface data (券面事項確認AP, EF `0002`): `FF20` holding
//!   private tags `DF21`..`DF2A`, the face photo in `DF27` (JPEG 2000), with
//!   the `0xFF` padding of a chip file read in full.
//!
//! The kind is told from the first bytes, never from a file name. Every
//! container is validated as a whole before any of its fields is used, every
//! length is checked against the bytes actually present, and the embedded
//! image's type is sniffed from its own bytes: a header's type and size
//! fields are kept as [`FaceMetadata`] for display, never trusted.
//! Images are borrowed from the caller's buffer, not copied.

pub mod authenticity;
mod image;
mod iso19794;
mod iso39794;
pub(crate) mod tlv;

use crate::error::{Error, Malformation, Result};
use crate::input::limits::Limits;
use tlv::Tlv;

pub(crate) use image::sniff_image;
pub use image::{CardImage, Container, DeclaredFormat, FaceMetadata, FaceStandard, FeaturePoint, ImageFormat, Pose};

/// Card data, parsed: what held it and the face images inside, in order.
#[derive(Debug)]
pub struct CardData<'a> {
    container: Container,
    images: Vec<CardImage<'a>>,
}

impl<'a> CardData<'a> {
    /// Parses card data of any supported kind within `limits`. Nothing is
    /// decoded; images are located, sniffed and borrowed.
    pub fn parse(bytes: &'a [u8], limits: &Limits) -> Result<Self> {
        limits.check_bytes(bytes.len())?;
        let (container, images) = match bytes {
            [] => {
                return Err(Error::InvalidArgument {
                    reason: "card data of at least one byte, got an empty buffer".into(),
                })
            }
            [0x75, ..] => (Container::Dg2, dg2(bytes, limits)?),
            [b'F', b'A', b'C', 0, ..] => (Container::Iso19794Record, iso19794::parse(bytes, 0, limits)?),
            [0x5F, 0x2E, ..] => {
                let tlv = Tlv::outer("ISO/IEC 19794-5 data block (5F2E)", bytes, limits)?;
                (Container::Iso19794Record, iso19794::parse(tlv.value, tlv.value_offset, limits)?)
            }
            [0x7F, 0x2E, ..] => {
                let tlv = Tlv::outer("ISO/IEC 39794-5 data block (7F2E)", bytes, limits)?;
                (Container::Iso39794Block, iso39794_in(&tlv, limits)?)
            }
            [0xA1, ..] => (Container::Iso39794Block, iso39794::parse(bytes, 0, 1, limits)?),
            [0xFF, 0x20, ..] => (Container::MyNumberSurface, vec![my_number(bytes, limits)?]),
            _ => {
                let format = sniff_image(bytes, "card data")?;
                let image = CardImage { format, bytes, offset: 0, metadata: FaceMetadata::empty(FaceStandard::None) };
                (Container::Image, vec![image])
            }
        };
        Ok(Self { container, images })
    }

    /// What held the images.
    pub fn container(&self) -> Container {
        self.container
    }

    /// The face images, in the order the container holds them (at least one).
    pub fn images(&self) -> &[CardImage<'a>] {
        &self.images
    }

    /// The face image at `index`, or [`Error::NoFaceImage`].
    pub fn image(&self, index: usize) -> Result<&CardImage<'a>> {
        self.images.get(index).ok_or(Error::NoFaceImage { index, count: self.images.len() })
    }
}

const DG2: &str = "ICAO EF.DG2";

/// EF.DG2: `75` > `7F61` > `02` + `7F60`... > `A1` + (`5F2E` | `7F2E`).
fn dg2<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Vec<CardImage<'a>>> {
    let outer = Tlv::outer(DG2, bytes, limits)?;
    let group = outer.only_child(DG2, 0x7F61, limits)?;
    let children = group.children(DG2, limits)?;
    let count = group.only_child(DG2, 0x02, limits)?.uint(DG2)?;
    let instances: Vec<_> = children.iter().filter(|c| c.tag == 0x7F60).collect();
    if u64::from(count) != instances.len() as u64 {
        return Err(Error::Malformed {
            structure: DG2,
            offset: group.offset,
            problem: Malformation::Mismatch {
                field: "biometric instance count (02)",
                declared: u64::from(count),
                actual: instances.len() as u64,
            },
        });
    }
    if let Some(other) = children.iter().find(|c| c.tag != 0x02 && c.tag != 0x7F60) {
        return Err(Error::Malformed {
            structure: DG2,
            offset: other.offset,
            problem: Malformation::Unexpected { what: "02 or 7F60 in the group template 7F61", tag: other.tag },
        });
    }
    let mut images = Vec::new();
    for instance in instances {
        instance.only_child(DG2, 0xA1, limits)?;
        let mut data_blocks =
            instance.children(DG2, limits)?.into_iter().filter(|c| c.tag == 0x5F2E || c.tag == 0x7F2E);
        let block = data_blocks.next().ok_or(Error::Malformed {
            structure: DG2,
            offset: instance.offset,
            problem: Malformation::MissingDataBlock,
        })?;
        if let Some(again) = data_blocks.next() {
            return Err(Error::Malformed {
                structure: DG2,
                offset: again.offset,
                problem: Malformation::Repeated { tag: again.tag },
            });
        }
        let found = if block.tag == 0x5F2E {
            iso19794::parse(block.value, block.value_offset, limits)?
        } else {
            iso39794_in(&block, limits)?
        };
        if images.len() + found.len() > limits.max_faces as usize {
            return Err(Error::LimitExceeded {
                limit: "faces",
                max: u64::from(limits.max_faces),
                actual: (images.len() + found.len()) as u64,
            });
        }
        images.extend(found);
    }
    if images.is_empty() {
        return Err(Error::NoFaceImage { index: 0, count: 0 });
    }
    Ok(images)
}

/// The 39794-5 block inside an (already validated) `7F2E` element.
fn iso39794_in<'a>(block: &Tlv<'a>, limits: &Limits) -> Result<Vec<CardImage<'a>>> {
    const STRUCTURE: &str = "ISO/IEC 39794-5 data block (7F2E)";
    match block.children(STRUCTURE, limits)?.as_slice() {
        [only] => iso39794::parse_element(*only, limits),
        _ => Err(Error::Malformed {
            structure: STRUCTURE,
            offset: block.offset,
            problem: Malformation::Unexpected { what: "exactly one element A1 in 7F2E", tag: block.tag },
        }),
    }
}

const MY_NUMBER: &str = "My Number card-surface data";

/// `FF20` > `DF27`: the card-surface application's face photo.
fn my_number<'a>(bytes: &'a [u8], limits: &Limits) -> Result<CardImage<'a>> {
    let outer = Tlv::outer(MY_NUMBER, bytes, limits)?;
    let photo = outer.only_child(MY_NUMBER, 0xDF27, limits)?;
    let format = sniff_image(photo.value, "embedded face image")?;
    if !matches!(format, ImageFormat::Jp2 | ImageFormat::J2k) {
        return Err(Error::Malformed {
            structure: MY_NUMBER,
            offset: photo.value_offset,
            problem: Malformation::InvalidValue { field: "face photo DF27 (must be JPEG 2000)" },
        });
    }
    let mut metadata = FaceMetadata::empty(FaceStandard::None);
    metadata.declared_format = Some(DeclaredFormat::Jpeg2000);
    Ok(CardImage { format, bytes: photo.value, offset: photo.value_offset, metadata })
}

/// Test helpers that build containers from the standards' layouts.
#[cfg(test)]
pub(crate) mod build {
    /// A BER element with a minimal definite length.
    pub(crate) fn tlv(tag: u32, value: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = tag.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
        let len = value.len();
        match len {
            0..=0x7F => out.push(len as u8),
            0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
            0x100..=0xFFFF => out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]),
            _ => out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(value);
        out
    }

    pub(crate) fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    /// DG2 around one data block (`5F2E` or `7F2E` element, complete).
    pub(crate) fn dg2(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut group = tlv(0x02, &[blocks.len() as u8]);
        for block in blocks {
            let header = tlv(0xA1, &cat(&[tlv(0x87, &[1, 1]), tlv(0x88, &[0, 8])]));
            group.extend(tlv(0x7F60, &cat(&[header, block.clone()])));
        }
        tlv(0x75, &tlv(0x7F61, &group))
    }

    /// A 39794-5 block value (`A1` > `65` ...) around one image.
    pub(crate) fn iso39794(image: &[u8], format_code: u8, size: (u16, u16)) -> Vec<u8> {
        let info = tlv(
            0xA1,
            &cat(&[
                tlv(0xA0, &tlv(0x80, &[format_code])),
                tlv(0xA7, &cat(&[tlv(0x80, &size.0.to_be_bytes()), tlv(0x81, &size.1.to_be_bytes())])),
                tlv(0xA9, &tlv(0xA1, &tlv(0x80, &[2]))),
            ]),
        );
        let block_2d = tlv(0xA0, &cat(&[tlv(0x80, image), info]));
        let rep = tlv(0x30, &cat(&[tlv(0x80, &[0]), tlv(0xA1, &tlv(0xA0, &block_2d))]));
        let version = tlv(0xA0, &cat(&[tlv(0x80, &[3]), tlv(0x81, &[0x07, 0xE3])]));
        tlv(0xA1, &tlv(0x65, &cat(&[version, tlv(0xA1, &rep)])))
    }

    /// My Number card-surface data with `padding` bytes of 0xFF after it.
    pub(crate) fn my_number(photo: &[u8], padding: usize) -> Vec<u8> {
        let inner =
            cat(&[tlv(0xDF21, &[0x01, 0x02]), tlv(0xDF22, b"19800101"), tlv(0xDF27, photo), tlv(0xDF29, b"20300101")]);
        let mut out = tlv(0xFF20, &inner);
        out.extend(std::iter::repeat_n(0xFF, padding));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{iso39794, tlv};
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];
    const JP2: &[u8] = &[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A, 9, 9];

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn dg2_with_a_19794_record_yields_its_image_at_the_right_offset() {
        let record = iso19794::build(&[(&[], 0, 1, 1, JPEG)]);
        let dg2 = build::dg2(&[tlv(0x5F2E, &record)]);
        let data = CardData::parse(&dg2, &limits()).unwrap();
        assert_eq!(data.container(), Container::Dg2);
        let image = data.image(0).unwrap();
        assert_eq!(image.bytes(), JPEG);
        assert_eq!(&dg2[image.offset()..image.offset() + JPEG.len()], JPEG);
        assert!(matches!(data.image(1), Err(Error::NoFaceImage { index: 1, count: 1 })));
    }

    #[test]
    fn dg2_with_a_39794_block_and_the_bare_forms_parse() {
        let block = iso39794(JP2, 3, (572, 731));
        let dg2 = build::dg2(&[tlv(0x7F2E, &block)]);
        for (bytes, container) in [
            (dg2, Container::Dg2),
            (block.clone(), Container::Iso39794Block),
            (tlv(0x7F2E, &block), Container::Iso39794Block),
        ] {
            let data = CardData::parse(&bytes, &limits()).unwrap();
            assert_eq!(data.container(), container);
            let image = data.image(0).unwrap();
            assert_eq!((image.bytes(), image.format()), (JP2, ImageFormat::Jp2));
            let m = image.metadata();
            assert_eq!((m.declared_width, m.declared_height, m.colour_space), (Some(572), Some(731), Some(2)));
            assert_eq!(m.declared_format, Some(DeclaredFormat::Jpeg2000));
        }
    }

    #[test]
    fn two_instances_give_two_images_in_order() {
        let first = tlv(0x5F2E, &iso19794::build(&[(&[], 0, 1, 1, JPEG)]));
        let second = tlv(0x7F2E, &iso39794(JP2, 3, (1, 1)));
        let bytes = build::dg2(&[first, second]);
        let data = CardData::parse(&bytes, &limits()).unwrap();
        let formats: Vec<_> = data.images().iter().map(CardImage::format).collect();
        assert_eq!(formats, [ImageFormat::Jpeg, ImageFormat::Jp2]);
    }

    #[test]
    fn a_wrong_instance_count_is_an_error() {
        let mut bytes = build::dg2(&[tlv(0x5F2E, &iso19794::build(&[(&[], 0, 1, 1, JPEG)]))]);
        // 75 LL 7F61 LL 02 01 [count]
        let count_at = bytes.windows(2).position(|w| w == [0x02, 0x01]).unwrap() + 2;
        bytes[count_at] = 2;
        assert!(matches!(
            CardData::parse(&bytes, &limits()),
            Err(Error::Malformed { problem: Malformation::Mismatch { declared: 2, actual: 1, .. }, .. })
        ));
    }

    #[test]
    fn my_number_surface_data_with_padding_yields_the_jpeg2000_photo() {
        let bytes = build::my_number(JP2, 300);
        let data = CardData::parse(&bytes, &limits()).unwrap();
        assert_eq!(data.container(), Container::MyNumberSurface);
        assert_eq!(data.image(0).unwrap().bytes(), JP2);
        let jpeg_inside = build::my_number(JPEG, 0);
        assert!(matches!(
            CardData::parse(&jpeg_inside, &limits()),
            Err(Error::Malformed { problem: Malformation::InvalidValue { .. }, .. })
        ));
        let without_photo = tlv(0xFF20, &tlv(0xDF21, &[1]));
        assert!(matches!(
            CardData::parse(&without_photo, &limits()),
            Err(Error::Malformed { problem: Malformation::MissingElement { tag: 0xDF27 }, .. })
        ));
    }

    #[test]
    fn feature_point_positions_are_never_printed_or_serialised() {
        let point = FeaturePoint { kind: 1, major: 12, minor: 1, x: 233, y: 227 };
        let shown = format!("{point:?} {}", serde_json::to_string(&point).unwrap());
        assert!(shown.contains("12.1") && shown.contains("\"major\":12"), "{shown}");
        assert!(!shown.contains("233") && !shown.contains("227"), "{shown}");
    }

    #[test]
    fn plain_images_are_sniffed_and_unknown_bytes_refused() {
        assert_eq!(CardData::parse(JPEG, &limits()).unwrap().image(0).unwrap().format(), ImageFormat::Jpeg);
        let j2k = [0xFF, 0x4F, 0xFF, 0x51, 0, 0];
        assert_eq!(CardData::parse(&j2k, &limits()).unwrap().container(), Container::Image);
        let err = CardData::parse(b"GIF89a", &limits()).unwrap_err();
        assert!(matches!(err, Error::UnrecognisedFormat { what: "card data", ref magic } if magic == "47 49 46 38"));
    }
}
