//! The parts of an X.509 certificate the checks use: the signed part as it
//! stands (to verify its issuer's signature), issuer and subject names
//! (compared as encoded), the serial number, the public key, and the key
//! identifiers. Names, validity and other extensions are not interpreted.

use super::der::{self, oid, El, Reader};
use super::signature::PublicKey;
use super::verdict::Failure;

/// The most extensions read from one certificate.
const MAX_EXTENSIONS: usize = 64;

/// A certificate, borrowed from its DER bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Certificate<'a> {
    /// `tbsCertificate`, tag, length and value: what the issuer signed.
    pub(super) tbs: &'a [u8],
    /// The serial number's value bytes, as encoded.
    pub(super) serial: &'a [u8],
    /// The issuer's Name, as encoded.
    pub(super) issuer: &'a [u8],
    /// The subject's Name, as encoded.
    pub(super) subject: &'a [u8],
    /// The SubjectPublicKeyInfo element.
    pub(super) spki: El<'a>,
    /// The outer signatureAlgorithm element.
    pub(super) signature_algorithm: El<'a>,
    /// The issuer's signature (the BIT STRING's content).
    pub(super) signature: &'a [u8],
    /// The subjectKeyIdentifier extension's key identifier.
    pub(super) subject_key_id: Option<&'a [u8]>,
    /// The authorityKeyIdentifier extension's key identifier.
    pub(super) authority_key_id: Option<&'a [u8]>,
}

impl<'a> Certificate<'a> {
    /// Parses a certificate that is exactly `bytes`.
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, Failure> {
        Self::from_element(&der::single(bytes)?)
    }

    /// Parses a certificate element.
    pub(super) fn from_element(element: &El<'a>) -> Result<Self, Failure> {
        if element.tag != der::SEQUENCE {
            return Err(Failure::Malformed);
        }
        let mut outer = element.inner()?;
        let tbs = outer.expect(der::SEQUENCE)?;
        let signature_algorithm = outer.expect(der::SEQUENCE)?;
        let signature = outer.expect(der::BIT_STRING)?.bits()?;
        outer.finish()?;

        let mut fields = tbs.inner()?;
        if let Some(version) = fields.optional(der::CONTEXT_0)? {
            let mut inner = version.inner()?;
            if inner.expect(der::INTEGER)?.small()? > 2 {
                return Err(Failure::Malformed);
            }
            inner.finish()?;
        }
        let serial = fields.expect(der::INTEGER)?.value;
        fields.expect(der::SEQUENCE)?; // the signature algorithm, again
        let issuer = fields.expect(der::SEQUENCE)?.whole;
        fields.expect(der::SEQUENCE)?; // validity
        let subject = fields.expect(der::SEQUENCE)?.whole;
        let spki = fields.expect(der::SEQUENCE)?;
        fields.optional(0x81)?; // issuerUniqueID
        fields.optional(0x82)?; // subjectUniqueID
        let mut certificate = Certificate {
            tbs: tbs.whole,
            serial,
            issuer,
            subject,
            spki,
            signature_algorithm,
            signature,
            subject_key_id: None,
            authority_key_id: None,
        };
        if let Some(extensions) = fields.optional(der::CONTEXT_3)? {
            certificate.read_extensions(extensions)?;
        }
        fields.finish()?;
        Ok(certificate)
    }

    fn read_extensions(&mut self, tagged: El<'a>) -> Result<(), Failure> {
        let mut wrapper = tagged.inner()?;
        let list = wrapper.expect(der::SEQUENCE)?;
        wrapper.finish()?;
        for extension in der::elements(list.value, MAX_EXTENSIONS)? {
            if extension.tag != der::SEQUENCE {
                return Err(Failure::Malformed);
            }
            let mut fields = extension.inner()?;
            let id = fields.expect(der::OID)?.oid()?;
            fields.optional(0x01)?; // critical
            let value = fields.expect(der::OCTET_STRING)?.octets()?;
            fields.finish()?;
            match id {
                oid::SUBJECT_KEY_ID => self.subject_key_id = Some(der::single(value)?.octets()?),
                oid::AUTHORITY_KEY_ID => {
                    let sequence = der::single(value)?;
                    let mut inner = sequence.inner()?;
                    if let Some(key_id) = inner.optional(der::CONTEXT_0_PRIMITIVE)? {
                        self.authority_key_id = Some(key_id.value);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The subject's public key.
    pub(super) fn public_key(&self) -> Result<PublicKey, Failure> {
        PublicKey::from_spki(&self.spki)
    }
}

/// Reads the certificates of a CMS `CertificateSet` value, skipping the
/// other choices (attribute and other certificates), at most `max`.
pub(super) fn certificate_set(value: &[u8], max: usize) -> Result<Vec<Certificate<'_>>, Failure> {
    let mut reader = Reader::new(value);
    let mut out = Vec::new();
    while !reader.is_empty() {
        let element = reader.next_element()?;
        if element.tag == der::SEQUENCE {
            if out.len() == max {
                return Err(Failure::Malformed);
            }
            out.push(Certificate::from_element(&element)?);
        }
    }
    Ok(out)
}
