//! What card data holds: face images with the metadata their records declare,
//! and the formats told from their first bytes.

use serde::Serialize;

use crate::error::{Error, Result};

/// The encoding of an image, as sniffed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// JPEG 2000 in a JP2 file (signature box `jP  `).
    Jp2,
    /// A raw JPEG 2000 codestream (`FF 4F FF 51`: SOC then SIZ).
    J2k,
    /// PNG.
    Png,
    /// WebP.
    WebP,
}

/// What held a card photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Container {
    /// A plain image file.
    Image,
    /// ICAO 9303 EF.DG2.
    Dg2,
    /// An ISO/IEC 19794-5 record, bare or in a `5F2E` element.
    Iso19794Record,
    /// An ISO/IEC 39794-5 data block, a `7F2E` element or its value.
    Iso39794Block,
    /// Japan's My Number card-surface data (`FF20` > `DF27`).
    MyNumberSurface,
}

/// The standard a face record follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaceStandard {
    /// No face record: a plain image or My Number card-surface data.
    None,
    /// ISO/IEC 19794-5:2005.
    Iso19794_5,
    /// ISO/IEC 39794-5.
    Iso39794_5,
}

/// An image type as a record *declares* it (not necessarily what the bytes are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredFormat {
    /// JPEG.
    Jpeg,
    /// JPEG 2000.
    Jpeg2000,
    /// PNG.
    Png,
    /// Another code of the standard.
    Other(u8),
}

/// A face feature point of a 19794-5 record (MPEG-4 feature point code).
///
/// Feature points are landmark positions of the card holder's face: personal,
/// biometric data. `Debug` and serialisation show the point's code only, never
/// its position; the fields are there for the caller's own use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FeaturePoint {
    /// Feature point type (1 = MPEG-4).
    pub kind: u8,
    /// Major code (for example 12 for the eyes' centres).
    pub major: u8,
    /// Minor code.
    pub minor: u8,
    /// Horizontal position in the declared image, pixels.
    pub x: u16,
    /// Vertical position in the declared image, pixels.
    pub y: u16,
}

impl std::fmt::Debug for FeaturePoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FeaturePoint(type {}, {}.{}, position hidden)", self.kind, self.major, self.minor)
    }
}

impl Serialize for FeaturePoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut point = serializer.serialize_struct("FeaturePoint", 3)?;
        point.serialize_field("kind", &self.kind)?;
        point.serialize_field("major", &self.major)?;
        point.serialize_field("minor", &self.minor)?;
        point.end()
    }
}

/// Head pose as a 19794-5 record encodes it (0 unspecified, else 1 + angle/2 steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pose {
    /// Yaw code.
    pub yaw: u8,
    /// Pitch code.
    pub pitch: u8,
    /// Roll code.
    pub roll: u8,
}

/// What a face record says about its image. Every field is as declared by
/// the record and is not checked against the image; `None` where the record
/// has no such field. Codes follow the code tables of [`standard`](Self::standard),
/// which differ between ISO/IEC 19794-5 and 39794-5 (colour space 2 is YUV 4:2:2
/// in one and 24-bit RGB in the other), so read them together with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaceMetadata {
    /// The record's standard.
    pub standard: FaceStandard,
    /// Face image type code (19794-5: 0 basic, 1 full frontal, 2 token frontal).
    pub face_image_type: Option<u8>,
    /// The declared image type.
    pub declared_format: Option<DeclaredFormat>,
    /// The declared width (the image's real width may differ).
    pub declared_width: Option<u32>,
    /// The declared height (the image's real height may differ).
    pub declared_height: Option<u32>,
    /// Colour space code (19794-5: 1 sRGB, 3 greyscale ...).
    pub colour_space: Option<u8>,
    /// Source type code (19794-5: 2 digital still, 3 scanned ...).
    pub source_type: Option<u8>,
    /// Head pose codes.
    pub pose: Option<Pose>,
    /// Feature points (19794-5 only).
    pub feature_points: Vec<FeaturePoint>,
}

impl FaceMetadata {
    pub(crate) fn empty(standard: FaceStandard) -> Self {
        Self {
            standard,
            face_image_type: None,
            declared_format: None,
            declared_width: None,
            declared_height: None,
            colour_space: None,
            source_type: None,
            pose: None,
            feature_points: Vec::new(),
        }
    }
}

/// One face image found in card data: its sniffed format, the record's
/// metadata and the encoded bytes, borrowed from the input.
pub struct CardImage<'a> {
    pub(super) format: ImageFormat,
    pub(super) bytes: &'a [u8],
    pub(super) offset: usize,
    pub(super) metadata: FaceMetadata,
}

impl<'a> CardImage<'a> {
    /// The format sniffed from the image's own bytes.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// What the record declares about the image.
    pub fn metadata(&self) -> &FaceMetadata {
        &self.metadata
    }

    /// The encoded image (biometric data: do not store or send it).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Where the encoded image starts in the input, in bytes.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl std::fmt::Debug for CardImage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardImage")
            .field("format", &self.format)
            .field("offset", &self.offset)
            .field("len", &self.bytes.len())
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// A face image inside a chip record: the standards allow JPEG and JPEG 2000
/// only, so other decoders never see chip data.
pub(crate) fn sniff_chip_image(bytes: &[u8]) -> Result<ImageFormat> {
    match sniff_image(bytes, "embedded face image")? {
        format @ (ImageFormat::Jpeg | ImageFormat::Jp2 | ImageFormat::J2k) => Ok(format),
        other => {
            Err(Error::Decode { reason: format!("a face image of a chip record in JPEG or JPEG 2000, got {other:?}") })
        }
    }
}

/// Tells an image format from its first bytes.
pub(crate) fn sniff_image(bytes: &[u8], what: &'static str) -> Result<ImageFormat> {
    Ok(match bytes {
        [0xFF, 0xD8, 0xFF, ..] => ImageFormat::Jpeg,
        [0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A, ..] => ImageFormat::Jp2,
        [0xFF, 0x4F, 0xFF, 0x51, ..] => ImageFormat::J2k,
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => ImageFormat::Png,
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => ImageFormat::WebP,
        _ => {
            let magic = bytes.iter().take(4).map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
            let magic = if magic.is_empty() { "none: 0 bytes".to_string() } else { magic };
            return Err(Error::UnrecognisedFormat { what, magic });
        }
    })
}
