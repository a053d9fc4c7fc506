//! Card data that breaks its standard.

use std::fmt;

/// What is wrong with malformed card data ([`Error::Malformed`](crate::Error::Malformed)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformation {
    /// The input ends before a header or field is complete.
    Truncated {
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    /// A TLV value is longer than the bytes that follow its length.
    ValueTruncated {
        /// The element's tag.
        tag: u32,
        /// The length it declares.
        declared: u64,
        /// The bytes actually there.
        available: u64,
    },
    /// A BER tag longer than three bytes.
    TagTooLong,
    /// A BER indefinite length (`0x80`), which ICAO 9303 does not allow.
    IndefiniteLength {
        /// The element's tag.
        tag: u32,
    },
    /// A BER length field of more than four bytes.
    LengthTooLong {
        /// The element's tag.
        tag: u32,
        /// How many length bytes it claims.
        length_bytes: u8,
    },
    /// Bytes other than padding after the outermost element.
    TrailingBytes {
        /// How many bytes follow the element.
        count: u64,
    },
    /// An element of the wrong kind or tag where the standard puts another.
    Unexpected {
        /// What the standard puts there.
        what: &'static str,
        /// The tag found.
        tag: u32,
    },
    /// A mandatory element is absent.
    MissingElement {
        /// Its tag.
        tag: u32,
    },
    /// A biometric information template (`7F60`) holds neither a 19794-5
    /// (`5F2E`) nor a 39794-5 (`7F2E`) data block.
    MissingDataBlock,
    /// A length is shorter than the fields it must hold.
    TooShort {
        /// Which length.
        field: &'static str,
        /// What it says.
        declared: u64,
        /// The least it must be.
        minimum: u64,
    },
    /// An element that may occur once occurs again.
    Repeated {
        /// Its tag.
        tag: u32,
    },
    /// The format identifier is not the expected one.
    BadMagic {
        /// The identifier expected.
        expected: &'static str,
    },
    /// A version this parser does not read.
    UnsupportedVersion {
        /// The version bytes found, as text where printable.
        found: String,
    },
    /// A length or count field disagrees with the bytes or elements present.
    Mismatch {
        /// Which field.
        field: &'static str,
        /// What the field says.
        declared: u64,
        /// What the bytes hold.
        actual: u64,
    },
    /// A field holds a value the standard does not allow.
    InvalidValue {
        /// Which field and what it must be.
        field: &'static str,
    },
}

impl fmt::Display for Malformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { needed, available } => {
                write!(f, "truncated: {needed} bytes needed, {available} available")
            }
            Self::ValueTruncated { tag, declared, available } => {
                write!(f, "element {tag:X} declares {declared} bytes but only {available} follow")
            }
            Self::TagTooLong => write!(f, "a tag of more than three bytes"),
            Self::IndefiniteLength { tag } => write!(f, "element {tag:X} has an indefinite length (not allowed)"),
            Self::LengthTooLong { tag, length_bytes } => {
                write!(f, "element {tag:X} has a length field of {length_bytes} bytes (at most 4)")
            }
            Self::TrailingBytes { count } => write!(f, "{count} bytes after the end, not padding"),
            Self::Unexpected { what, tag } => write!(f, "expected {what}, found element {tag:X}"),
            Self::MissingElement { tag } => write!(f, "mandatory element {tag:X} is missing"),
            Self::MissingDataBlock => {
                write!(f, "no biometric data block: neither 5F2E (ISO/IEC 19794-5) nor 7F2E (ISO/IEC 39794-5)")
            }
            Self::TooShort { field, declared, minimum } => {
                write!(f, "{field} says {declared}, but its fixed fields need at least {minimum}")
            }
            Self::Repeated { tag } => write!(f, "element {tag:X} occurs more than once"),
            Self::BadMagic { expected } => write!(f, "expected the identifier {expected}"),
            Self::UnsupportedVersion { found } => write!(f, "version {found:?} is not supported"),
            Self::Mismatch { field, declared, actual } => {
                write!(f, "{field} says {declared} but the data holds {actual}")
            }
            Self::InvalidValue { field } => write!(f, "invalid {field}"),
        }
    }
}
