//! Reading the DER structures of security data (CMS, X.509, card-verifiable
//! certificates) with the crate's BER reader ([`crate::card::tlv`]), keeping
//! each element's full encoding: signatures cover the bytes exactly as they
//! stand, never a re-encoding of what was parsed.
//!
//! Every problem is [`Failure::Malformed`]: lengths are checked against the
//! bytes present by the BER reader, and nothing here recurses on the input's
//! own nesting.

use crate::card::tlv;

use super::verdict::Failure;

/// The largest EF.SOD or certificate the checks read, in bytes. Real ones
/// hold a few kilobytes.
pub const MAX_SECURITY_DATA_BYTES: usize = 256 * 1024;

/// What errors name as the structure (the failure itself carries no detail).
const STRUCTURE: &str = "card security data";

/// One element: its tag (raw tag bytes as a big-endian number), whether it is
/// constructed, its value, and its full encoding (tag, length and value).
#[derive(Clone, Copy)]
pub(super) struct El<'a> {
    pub(super) tag: u32,
    pub(super) constructed: bool,
    pub(super) value: &'a [u8],
    pub(super) whole: &'a [u8],
}

impl std::fmt::Debug for El<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "El({:X}, {} bytes)", self.tag, self.value.len())
    }
}

/// Reads the elements of a value one after the other.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Whether every element has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next element.
    pub(super) fn next_element(&mut self) -> Result<El<'a>, Failure> {
        let (tlv, used) = tlv::read(STRUCTURE, self.rest, 0, 1).map_err(|_| Failure::Malformed)?;
        let whole = self.rest.get(..used).ok_or(Failure::Malformed)?;
        self.rest = self.rest.get(used..).ok_or(Failure::Malformed)?;
        Ok(El { tag: tlv.tag, constructed: tlv.constructed, value: tlv.value, whole })
    }

    /// The next element, which must have `tag`.
    pub(super) fn expect(&mut self, tag: u32) -> Result<El<'a>, Failure> {
        let element = self.next_element()?;
        if element.tag == tag {
            Ok(element)
        } else {
            Err(Failure::Malformed)
        }
    }

    /// The next element if it has `tag`; nothing is read otherwise.
    pub(super) fn optional(&mut self, tag: u32) -> Result<Option<El<'a>>, Failure> {
        if self.peek_tag() == Some(tag) {
            self.next_element().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The first tag byte(s) of the next element, without reading it.
    fn peek_tag(&self) -> Option<u32> {
        let mut copy = self.clone();
        copy.next_element().ok().map(|e| e.tag)
    }

    /// Checks that nothing is left.
    pub(super) fn finish(&self) -> Result<(), Failure> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Failure::Malformed)
        }
    }
}

impl<'a> El<'a> {
    /// A reader over the elements inside this constructed one.
    pub(super) fn inner(&self) -> Result<Reader<'a>, Failure> {
        if self.constructed {
            Ok(Reader::new(self.value))
        } else {
            Err(Failure::Malformed)
        }
    }

    /// The value of a positive INTEGER, without leading zero bytes (at least one byte).
    pub(super) fn unsigned(&self) -> Result<&'a [u8], Failure> {
        if self.tag != INTEGER || self.constructed {
            return Err(Failure::Malformed);
        }
        match self.value {
            [] => Err(Failure::Malformed),
            [first, ..] if first & 0x80 != 0 => Err(Failure::Malformed),
            value => {
                let start = value.iter().position(|&b| b != 0).unwrap_or(value.len() - 1);
                Ok(&value[start..])
            }
        }
    }

    /// A small non-negative INTEGER (at most 4 bytes of value).
    pub(super) fn small(&self) -> Result<u32, Failure> {
        let bytes = self.unsigned()?;
        if bytes.len() > 4 {
            return Err(Failure::Malformed);
        }
        Ok(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
    }

    /// The content of a BIT STRING with no unused bits.
    pub(super) fn bits(&self) -> Result<&'a [u8], Failure> {
        match (self.tag, self.constructed, self.value) {
            (BIT_STRING, false, [0, rest @ ..]) => Ok(rest),
            _ => Err(Failure::Malformed),
        }
    }

    /// The content of a primitive OCTET STRING.
    pub(super) fn octets(&self) -> Result<&'a [u8], Failure> {
        if self.tag == OCTET_STRING && !self.constructed {
            Ok(self.value)
        } else {
            Err(Failure::Malformed)
        }
    }

    /// The value of an OBJECT IDENTIFIER (its encoded arcs).
    pub(super) fn oid(&self) -> Result<&'a [u8], Failure> {
        if self.tag == OID && !self.constructed && !self.value.is_empty() {
            Ok(self.value)
        } else {
            Err(Failure::Malformed)
        }
    }
}

/// An AlgorithmIdentifier: its OID and its parameters (absent, or one element).
pub(super) fn algorithm<'a>(element: &El<'a>) -> Result<(&'a [u8], Option<El<'a>>), Failure> {
    if element.tag != SEQUENCE {
        return Err(Failure::Malformed);
    }
    let mut inner = element.inner()?;
    let oid = inner.expect(OID)?.oid()?;
    let parameters = if inner.is_empty() { None } else { Some(inner.next_element()?) };
    inner.finish()?;
    Ok((oid, parameters))
}

/// Whether AlgorithmIdentifier parameters are absent or NULL, as a hash's must be.
pub(super) fn absent_or_null(parameters: &Option<El<'_>>) -> bool {
    match parameters {
        None => true,
        Some(p) => p.tag == NULL && p.value.is_empty(),
    }
}

/// Reads the single element that `bytes` holds, with nothing after it.
pub(super) fn single(bytes: &[u8]) -> Result<El<'_>, Failure> {
    let mut reader = Reader::new(bytes);
    let element = reader.next_element()?;
    reader.finish()?;
    Ok(element)
}

/// Reads the elements of a value until it ends (at most `max`).
pub(super) fn elements<'a>(value: &'a [u8], max: usize) -> Result<Vec<El<'a>>, Failure> {
    let mut reader = Reader::new(value);
    let mut out = Vec::new();
    while !reader.is_empty() {
        if out.len() == max {
            return Err(Failure::Malformed);
        }
        out.push(reader.next_element()?);
    }
    Ok(out)
}

pub(super) const INTEGER: u32 = 0x02;
pub(super) const BIT_STRING: u32 = 0x03;
pub(super) const OCTET_STRING: u32 = 0x04;
pub(super) const NULL: u32 = 0x05;
pub(super) const OID: u32 = 0x06;
pub(super) const SEQUENCE: u32 = 0x30;
pub(super) const SET: u32 = 0x31;
/// `[0]` constructed (context-specific).
pub(super) const CONTEXT_0: u32 = 0xA0;
/// `[1]` constructed.
pub(super) const CONTEXT_1: u32 = 0xA1;
/// `[3]` constructed.
pub(super) const CONTEXT_3: u32 = 0xA3;
/// `[0]` primitive (a subject key identifier in a CMS signer identifier).
pub(super) const CONTEXT_0_PRIMITIVE: u32 = 0x80;

/// Object identifiers, as their encoded arcs.
pub(super) mod oid {
    /// 1.2.840.113549.1.7.2, CMS SignedData.
    pub(in super::super) const SIGNED_DATA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
    /// 2.23.136.1.1.1, the ICAO LDS security object.
    pub(in super::super) const LDS_SECURITY_OBJECT: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
    /// 1.2.840.113549.1.9.3, the contentType attribute.
    pub(in super::super) const CONTENT_TYPE: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03];
    /// 1.2.840.113549.1.9.4, the messageDigest attribute.
    pub(in super::super) const MESSAGE_DIGEST: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04];

    pub(in super::super) const SHA1: &[u8] = &[0x2B, 0x0E, 0x03, 0x02, 0x1A];
    pub(in super::super) const SHA224: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04];
    pub(in super::super) const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    pub(in super::super) const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
    pub(in super::super) const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

    /// 1.2.840.113549.1.1.x (PKCS #1).
    const PKCS1: [u8; 8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01];
    const fn pkcs1(last: u8) -> [u8; 9] {
        let mut out = [0; 9];
        let mut i = 0;
        while i < 8 {
            out[i] = PKCS1[i];
            i += 1;
        }
        out[8] = last;
        out
    }
    pub(in super::super) const RSA_ENCRYPTION: &[u8] = &pkcs1(1);
    pub(in super::super) const MGF1: &[u8] = &pkcs1(8);
    pub(in super::super) const RSASSA_PSS: &[u8] = &pkcs1(10);
    pub(in super::super) const SHA1_WITH_RSA: &[u8] = &pkcs1(5);
    pub(in super::super) const SHA256_WITH_RSA: &[u8] = &pkcs1(11);
    pub(in super::super) const SHA384_WITH_RSA: &[u8] = &pkcs1(12);
    pub(in super::super) const SHA512_WITH_RSA: &[u8] = &pkcs1(13);
    pub(in super::super) const SHA224_WITH_RSA: &[u8] = &pkcs1(14);

    /// 1.2.840.10045.2.1, an elliptic-curve public key.
    pub(in super::super) const EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    /// 1.2.840.10045.1.1, a prime field.
    pub(in super::super) const PRIME_FIELD: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x01, 0x01];
    /// 1.2.840.10045.3.1.7, NIST P-256.
    pub(in super::super) const P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    /// 1.3.132.0.34, NIST P-384.
    pub(in super::super) const P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];

    /// 1.2.840.10045.4.1, ECDSA with SHA-1.
    pub(in super::super) const ECDSA_SHA1: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x01];
    /// 1.2.840.10045.4.3.x, ECDSA with SHA-2 (1: SHA-224 ... 4: SHA-512).
    pub(in super::super) const ECDSA_SHA2_PREFIX: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03];
    /// 0.4.0.127.0.7.1.1.4.1.x, BSI TR-03111 plain ECDSA (1: SHA-1 ... 5: SHA-512).
    pub(in super::super) const ECDSA_PLAIN_PREFIX: &[u8] = &[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01];

    /// 2.5.29.14, subjectKeyIdentifier.
    pub(in super::super) const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1D, 0x0E];
    /// 2.5.29.35, authorityKeyIdentifier.
    pub(in super::super) const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1D, 0x23];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_bit_strings_and_trailing_bytes() {
        let int = single(&[0x02, 0x03, 0x00, 0x80, 0x01]).unwrap();
        assert_eq!(int.unsigned().unwrap(), &[0x80, 0x01]);
        assert_eq!(single(&[0x02, 0x01, 0x00]).unwrap().unsigned().unwrap(), &[0x00]);
        assert_eq!(single(&[0x02, 0x01, 0x80]).unwrap().unsigned(), Err(Failure::Malformed));
        assert_eq!(single(&[0x02, 0x00]).unwrap().unsigned(), Err(Failure::Malformed));
        assert_eq!(single(&[0x03, 0x02, 0x00, 0xAA]).unwrap().bits().unwrap(), &[0xAA]);
        assert_eq!(single(&[0x03, 0x02, 0x01, 0xAA]).unwrap().bits(), Err(Failure::Malformed));
        assert_eq!(single(&[0x05, 0x00, 0x00]).unwrap_err(), Failure::Malformed);
        assert_eq!(single(&[0x30, 0x05, 0x00]).unwrap_err(), Failure::Malformed);
        assert_eq!(oid::SHA256_WITH_RSA, &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]);
    }
}
