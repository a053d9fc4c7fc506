//! Trust anchors: the certificates an integrator trusts as roots (CSCA
//! certificates for passports, a J-LIS CA for My Number cards), read from
//! DER or PEM, and the check that a signer's certificate chains to one.

use std::path::Path;

use crate::error::{Error, Malformation, Result};

use super::der::MAX_SECURITY_DATA_BYTES;
use super::signature::{PublicKey, Scheme as SignatureScheme};
use super::verdict::{Anchor, Failure};
use super::x509::Certificate;

/// The largest trust-anchor file read (a CSCA master list as PEM is well below).
const MAX_ANCHOR_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The most certificates one set holds.
pub(super) const MAX_TRUST_ANCHORS: usize = 4096;

const STRUCTURE: &str = "trust anchor certificate (X.509)";
const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// Certificates the integrator trusts as roots: CSCA certificates for
/// passports, a J-LIS CA for My Number cards (X.509, DER or PEM).
///
/// Each certificate is parsed and its public key read when it is added, so a
/// set that loaded holds only certificates the checks can use (RSA keys of
/// 1024 to 4096 bits, EC keys on P-256, P-384, brainpoolP256r1 or an
/// explicit prime curve). At most 4096 certificates.
/// Validity periods are not checked.
#[derive(Clone, Default)]
pub struct TrustAnchors {
    certificates: Vec<Vec<u8>>,
}

impl std::fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustAnchors({} certificates)", self.certificates.len())
    }
}

impl TrustAnchors {
    /// No trust anchor: signatures are checked against the signer's own
    /// certificate, and [`Anchor::NotSupplied`] says so.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether any anchor was supplied.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    /// How many certificates the set holds.
    pub fn len(&self) -> usize {
        self.certificates.len()
    }

    /// The certificates in `bytes`: one DER certificate, or PEM text with one
    /// or more `CERTIFICATE` blocks (other blocks and text around them are
    /// ignored).
    ///
    /// # Errors
    /// [`Error::Malformed`] when a certificate does not parse, its key is of a
    /// kind honnin cannot verify with, the PEM has no certificate or bad
    /// base64; [`Error::LimitExceeded`] past 4096 certificates.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self> {
        let mut anchors = Self::none();
        anchors.add(bytes)?;
        Ok(anchors)
    }

    /// The certificates in each file (DER or PEM, see
    /// [`TrustAnchors::from_pem_or_der`]), in order.
    ///
    /// # Errors
    /// As [`TrustAnchors::from_pem_or_der`]; and [`Error::Io`] or
    /// [`Error::NotAFile`] for a file that cannot be read,
    /// [`Error::LimitExceeded`] for one over 16 MiB.
    pub fn from_files<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Result<Self> {
        let mut anchors = Self::none();
        for path in paths {
            let bytes = crate::input::file::read_regular(path.as_ref(), MAX_ANCHOR_FILE_BYTES)?;
            anchors.add(&bytes)?;
        }
        Ok(anchors)
    }

    /// Adds the certificates in `bytes` (DER or PEM, see
    /// [`TrustAnchors::from_pem_or_der`], with the same errors).
    pub fn add(&mut self, bytes: &[u8]) -> Result<()> {
        let ders = if bytes.first() == Some(&0x30) { vec![bytes.to_vec()] } else { pem_certificates(bytes)? };
        for der in ders {
            if der.len() > MAX_SECURITY_DATA_BYTES {
                return Err(Error::LimitExceeded {
                    limit: "bytes",
                    max: MAX_SECURITY_DATA_BYTES as u64,
                    actual: der.len() as u64,
                });
            }
            let certificate = Certificate::parse(&der).map_err(|_| Error::Malformed {
                structure: STRUCTURE,
                offset: 0,
                problem: Malformation::InvalidValue { field: "certificate (a DER X.509 certificate)" },
            })?;
            certificate.public_key().map_err(|_| Error::Malformed {
                structure: STRUCTURE,
                offset: 0,
                problem: Malformation::InvalidValue {
                    field: "public key (RSA of 1024 to 4096 bits, or EC on P-256, P-384 or an explicit prime curve)",
                },
            })?;
            if self.certificates.len() == MAX_TRUST_ANCHORS {
                return Err(Error::LimitExceeded {
                    limit: "trust anchors",
                    max: MAX_TRUST_ANCHORS as u64,
                    actual: MAX_TRUST_ANCHORS as u64 + 1,
                });
            }
            self.certificates.push(der);
        }
        Ok(())
    }

    /// Whether the X.509 certificate `signer` was signed by one of the
    /// anchors whose subject is its issuer (or whose key identifier is its
    /// authority key identifier): [`Anchor::NotSupplied`] without anchors,
    /// [`Failure::UntrustedSigner`] when none signed it.
    pub(super) fn chain(&self, signer: &Certificate<'_>) -> std::result::Result<Anchor, Failure> {
        if self.is_empty() {
            return Ok(Anchor::NotSupplied);
        }
        let scheme = SignatureScheme::from_algorithm(&signer.signature_algorithm, None);
        for der in &self.certificates {
            let Ok(anchor) = Certificate::parse(der) else { continue };
            let named = anchor.subject == signer.issuer
                || (signer.authority_key_id.is_some() && anchor.subject_key_id == signer.authority_key_id);
            if !named {
                continue;
            }
            let (Ok(scheme), Ok(key)) = (scheme, anchor.public_key()) else { continue };
            if key.verify(scheme, signer.tbs, signer.signature).is_ok() {
                return Ok(Anchor::Chained);
            }
        }
        Err(Failure::UntrustedSigner)
    }

    /// Whether one of the anchors' RSA keys made `signature`
    /// (RSASSA-PKCS1-v1_5 with SHA-256) over `body`: the My Number surface
    /// certificate's `5F37` over its `7F4E`, whose issuer is not an X.509 name.
    pub(super) fn chain_signature(&self, body: &[u8], signature: &[u8]) -> std::result::Result<Anchor, Failure> {
        if self.is_empty() {
            return Ok(Anchor::NotSupplied);
        }
        let scheme = SignatureScheme::Pkcs1v15(super::signature::Hash::Sha256);
        let signed = self.certificates.iter().any(|der| {
            Certificate::parse(der)
                .and_then(|c| c.public_key())
                .is_ok_and(|key| matches!(key, PublicKey::Rsa(_)) && key.verify(scheme, body, signature).is_ok())
        });
        if signed {
            Ok(Anchor::Chained)
        } else {
            Err(Failure::UntrustedSigner)
        }
    }
}

/// The DER bytes of every `CERTIFICATE` block of PEM text.
fn pem_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let pem_error = |offset: usize, field: &'static str| Error::Malformed {
        structure: "trust anchor file (PEM)",
        offset,
        problem: Malformation::InvalidValue { field },
    };
    let text = std::str::from_utf8(bytes).map_err(|e| pem_error(e.valid_up_to(), "text (DER or PEM expected)"))?;
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find(PEM_BEGIN) {
        let body_start = start + PEM_BEGIN.len();
        let end = rest[body_start..]
            .find(PEM_END)
            .ok_or_else(|| pem_error(offset + start, "PEM block without its END line"))?;
        let body = &rest[body_start..body_start + end];
        let der = base64(body).ok_or_else(|| pem_error(offset + body_start, "base64 in a PEM block"))?;
        out.push(der);
        if out.len() > MAX_TRUST_ANCHORS {
            return Err(Error::LimitExceeded {
                limit: "trust anchors",
                max: MAX_TRUST_ANCHORS as u64,
                actual: out.len() as u64,
            });
        }
        let next = body_start + end + PEM_END.len();
        offset += next;
        rest = &rest[next..];
    }
    if out.is_empty() {
        return Err(Error::Malformed {
            structure: "trust anchor file (PEM)",
            offset: 0,
            problem: Malformation::BadMagic { expected: PEM_BEGIN },
        });
    }
    Ok(out)
}

/// Standard base64 (RFC 4648) with padding; whitespace is skipped.
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    let mut padding = 0usize;
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero, and the padding must complete a quantum.
    let complete = match bits {
        0 => padding == 0,
        2 => padding == 1,
        4 => padding == 2,
        _ => false,
    };
    (complete && buffer == 0 && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_strictly() {
        assert_eq!(base64("TWFu").unwrap(), b"Man");
        assert_eq!(base64("TWE=\n").unwrap(), b"Ma");
        assert_eq!(base64("TQ==").unwrap(), b"M");
        assert!(base64("TQ=").is_none());
        assert!(base64("TR==").is_none());
        assert!(base64("TW=u").is_none());
        assert!(base64("T*Fu").is_none());
        assert!(base64("").is_none());
    }

    #[test]
    fn files_without_certificates_are_typed_errors() {
        for bytes in [&b"hello"[..], b"-----BEGIN CERTIFICATE-----\nTWFu\n", &[0xFF, 0xFE, 0x00], &[0x30, 0x03, 1, 2]] {
            let err = TrustAnchors::from_pem_or_der(bytes).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
        }
        let pem = b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        assert!(matches!(TrustAnchors::from_pem_or_der(pem), Err(Error::Malformed { .. })));
    }
}
