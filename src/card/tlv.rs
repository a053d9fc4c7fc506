//! BER-TLV as ICAO 9303 and ISO/IEC 39794 use it: definite lengths only,
//! tags of at most three bytes, lengths of at most four bytes.
//!
//! Every element is checked against the bytes that actually hold it before
//! its value is handed out, so a lying length is an error, never a read past
//! the end. Offsets in errors are counted from the start of the input the
//! caller passed in, so a malformed file can be inspected with a hex viewer.

use crate::error::{Error, Malformation, Result};
use crate::input::limits::Limits;

/// The deepest nesting ever followed, whatever the limits say (the stack bound).
pub(crate) const MAX_STRUCTURAL_DEPTH: u32 = 64;

/// One element: its tag (the raw tag bytes as a big-endian number, `0x7F61`),
/// whether it is constructed, and its value. `Debug` shows no value bytes.
#[derive(Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u32,
    pub(crate) constructed: bool,
    pub(crate) value: &'a [u8],
    /// Offset of the value in the caller's input.
    pub(crate) value_offset: usize,
    /// Offset of the tag in the caller's input.
    pub(crate) offset: usize,
    /// Nesting depth (the outermost element is 1).
    pub(crate) depth: u32,
}

/// Reads one element from the start of `bytes` (which begins at `base` in the
/// caller's input). Returns the element and the number of bytes it spans.
pub(crate) fn read<'a>(structure: &'static str, bytes: &'a [u8], base: usize, depth: u32) -> Result<(Tlv<'a>, usize)> {
    let truncated = |needed: usize| Error::Malformed {
        structure,
        offset: base,
        problem: Malformation::Truncated { needed: needed as u64, available: bytes.len() as u64 },
    };
    let first = *bytes.first().ok_or_else(|| truncated(1))?;
    let constructed = first & 0x20 != 0;
    let mut tag = u32::from(first);
    let mut i = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *bytes.get(i).ok_or_else(|| truncated(i + 1))?;
            i += 1;
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
            if i >= 3 {
                return Err(Error::Malformed { structure, offset: base, problem: Malformation::TagTooLong });
            }
        }
    }
    let len_byte = *bytes.get(i).ok_or_else(|| truncated(i + 1))?;
    i += 1;
    let len = match len_byte {
        0..=0x7F => usize::from(len_byte),
        0x80 => {
            return Err(Error::Malformed { structure, offset: base, problem: Malformation::IndefiniteLength { tag } })
        }
        0x81..=0x84 => {
            let n = usize::from(len_byte & 0x7F);
            let field = bytes.get(i..i + n).ok_or_else(|| truncated(i + n))?;
            i += n;
            field.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        }
        _ => {
            return Err(Error::Malformed {
                structure,
                offset: base,
                problem: Malformation::LengthTooLong { tag, length_bytes: len_byte & 0x7F },
            })
        }
    };
    let available = bytes.len() - i;
    if len > available {
        return Err(Error::Malformed {
            structure,
            offset: base,
            problem: Malformation::ValueTruncated { tag, declared: len as u64, available: available as u64 },
        });
    }
    let tlv = Tlv { tag, constructed, value: &bytes[i..i + len], value_offset: base + i, offset: base, depth };
    Ok((tlv, i + len))
}

impl std::fmt::Debug for Tlv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tlv({:X} at {}, {} bytes)", self.tag, self.offset, self.value.len())
    }
}

impl<'a> Tlv<'a> {
    /// Reads the single element that starts `bytes`; what follows it must be
    /// padding (`0x00` or `0xFF`, as chip files are padded) or nothing.
    pub(crate) fn outer(structure: &'static str, bytes: &'a [u8], limits: &Limits) -> Result<Self> {
        let (tlv, used) = read(structure, bytes, 0, 1)?;
        if let Some(pos) = bytes[used..].iter().position(|&b| b != 0x00 && b != 0xFF) {
            return Err(Error::Malformed {
                structure,
                offset: used + pos,
                problem: Malformation::TrailingBytes { count: (bytes.len() - used) as u64 },
            });
        }
        tlv.validate(structure, limits)?;
        Ok(tlv)
    }

    /// The elements inside a constructed value, in order.
    pub(crate) fn children(&self, structure: &'static str, limits: &Limits) -> Result<Vec<Tlv<'a>>> {
        if !self.constructed {
            return Err(Error::Malformed {
                structure,
                offset: self.offset,
                problem: Malformation::Unexpected { what: "a constructed element", tag: self.tag },
            });
        }
        let depth = self.depth + 1;
        // Validation recurses once per level, so even `Limits::no_limits()` keeps a
        // structural bound: no ICAO or ISO/IEC 39794 structure nests this deep.
        let max = limits.max_tlv_depth.min(MAX_STRUCTURAL_DEPTH);
        if depth > max {
            return Err(Error::LimitExceeded { limit: "tlv depth", max: u64::from(max), actual: u64::from(depth) });
        }
        let mut out = Vec::new();
        let mut rest = self.value;
        let mut offset = self.value_offset;
        while !rest.is_empty() {
            if out.len() >= limits.max_tlv_elements {
                return Err(Error::LimitExceeded {
                    limit: "tlv elements",
                    max: limits.max_tlv_elements as u64,
                    actual: out.len() as u64 + 1,
                });
            }
            let (child, used) = read(structure, rest, offset, depth)?;
            out.push(child);
            rest = &rest[used..];
            offset += used;
        }
        Ok(out)
    }

    /// Checks that every constructed element below this one parses, within
    /// the depth limit. Runs before any value is trusted.
    pub(crate) fn validate(&self, structure: &'static str, limits: &Limits) -> Result<()> {
        let mut budget = limits.max_tlv_elements;
        self.validate_within(structure, limits, &mut budget)
    }

    fn validate_within(&self, structure: &'static str, limits: &Limits, budget: &mut usize) -> Result<()> {
        if !self.constructed {
            return Ok(());
        }
        let children = self.children(structure, limits)?;
        if children.len() > *budget {
            return Err(Error::LimitExceeded {
                limit: "tlv elements",
                max: limits.max_tlv_elements as u64,
                actual: (limits.max_tlv_elements - *budget + children.len()) as u64,
            });
        }
        *budget -= children.len();
        children.iter().try_for_each(|c| c.validate_within(structure, limits, budget))
    }

    /// The one child with `tag`; an error names the structure when it is
    /// missing or repeated.
    pub(crate) fn only_child(&self, structure: &'static str, tag: u32, limits: &Limits) -> Result<Tlv<'a>> {
        let mut found = self.children(structure, limits)?.into_iter().filter(|c| c.tag == tag);
        let first = found.next().ok_or(Error::Malformed {
            structure,
            offset: self.offset,
            problem: Malformation::MissingElement { tag },
        })?;
        if let Some(again) = found.next() {
            return Err(Error::Malformed { structure, offset: again.offset, problem: Malformation::Repeated { tag } });
        }
        Ok(first)
    }

    /// The first child with `tag`, if any.
    pub(crate) fn child(&self, structure: &'static str, tag: u32, limits: &Limits) -> Result<Option<Tlv<'a>>> {
        Ok(self.children(structure, limits)?.into_iter().find(|c| c.tag == tag))
    }

    /// A primitive value read as an unsigned big-endian integer of 1 to 4 bytes.
    pub(crate) fn uint(&self, structure: &'static str) -> Result<u32> {
        if self.constructed || self.value.is_empty() || self.value.len() > 4 {
            return Err(Error::Malformed {
                structure,
                offset: self.offset,
                problem: Malformation::Unexpected { what: "an integer of 1 to 4 bytes", tag: self.tag },
            });
        }
        Ok(self.value.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_multibyte_tags_are_read() {
        let bytes = [0x7F, 0x61, 0x81, 0x03, 0x02, 0x01, 0x01];
        let (tlv, used) = read("test", &bytes, 0, 1).unwrap();
        assert_eq!((tlv.tag, tlv.constructed, tlv.value, used), (0x7F61, true, &bytes[4..], 7));
        let kids = tlv.children("test", &Limits::default()).unwrap();
        assert_eq!((kids[0].tag, kids[0].uint("test").unwrap(), kids[0].value_offset), (0x02, 1, 6));
    }

    #[test]
    fn indefinite_and_oversized_lengths_are_refused() {
        let indefinite = read("test", &[0x75, 0x80, 0x00, 0x00], 0, 1);
        assert!(matches!(
            indefinite,
            Err(Error::Malformed { problem: Malformation::IndefiniteLength { tag: 0x75 }, .. })
        ));
        let five = read("test", &[0x75, 0x85, 0, 0, 0, 0, 1, 0], 0, 1);
        assert!(matches!(five, Err(Error::Malformed { problem: Malformation::LengthTooLong { .. }, .. })));
        let four_byte_tag = read("test", &[0x5F, 0x81, 0x81, 0x01, 0x00], 0, 1);
        assert!(matches!(four_byte_tag, Err(Error::Malformed { problem: Malformation::TagTooLong, .. })));
    }

    #[test]
    fn a_length_past_the_end_is_an_error_with_both_sizes() {
        let err = read("test", &[0x04, 0x82, 0x10, 0x00, 0xAA], 0, 1).unwrap_err();
        assert!(matches!(
            err,
            Error::Malformed { problem: Malformation::ValueTruncated { tag: 0x04, declared: 4096, available: 1 }, .. }
        ));
    }

    #[test]
    fn padding_after_the_outer_element_is_allowed_but_other_bytes_are_not() {
        let limits = Limits::default();
        assert!(Tlv::outer("test", &[0x04, 0x01, 0xAA, 0xFF, 0xFF, 0x00], &limits).is_ok());
        let err = Tlv::outer("test", &[0x04, 0x01, 0xAA, 0xFF, 0x12], &limits).unwrap_err();
        assert!(matches!(err, Error::Malformed { offset: 4, problem: Malformation::TrailingBytes { count: 2 }, .. }));
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        // 40 nested constructed [1] elements around an empty one.
        let mut bytes = vec![0xA1, 0x00];
        for _ in 0..40 {
            let mut outer = vec![0xA1, bytes.len() as u8];
            outer.extend_from_slice(&bytes);
            bytes = outer;
        }
        let limits = Limits { max_tlv_depth: 16, ..Limits::default() };
        let err = Tlv::outer("test", &bytes, &limits).unwrap_err();
        assert!(matches!(err, Error::LimitExceeded { limit: "tlv depth", max: 16, actual: 17 }));
    }
}
