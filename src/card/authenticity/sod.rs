//! ICAO 9303 passive authentication of EF.DG2 against EF.SOD.
//!
//! EF.SOD is `77` around a CMS ContentInfo holding SignedData whose
//! encapsulated content (type 2.23.136.1.1.1) is the LDS security object:
//! `SEQUENCE { version, hashAlgorithm, SEQUENCE OF { dataGroupNumber,
//! dataGroupHashValue } [, ldsVersionInfo] }`. The check, in order:
//!
//! 1. the SOD parses (else [`Failure::Malformed`]) and names algorithms
//!    honnin computes (else [`Failure::UnsupportedAlgorithm`]);
//! 2. DG2 is listed ([`Failure::NotListed`]) with the hash of the DG2 bytes
//!    ([`Failure::HashMismatch`]);
//! 3. the signer's signed attributes hold the content type and the digest
//!    of the security object as it stands ([`Failure::HashMismatch`]);
//! 4. the signature over the signed attributes (their DER SET OF, as
//!    encoded) verifies with the document signer's certificate carried in
//!    the SOD, found by issuer and serial number or subject key identifier
//!    ([`Failure::BadSignature`]);
//! 5. with trust anchors, that certificate's signature verifies with an
//!    anchor's key ([`Failure::UntrustedSigner`]).

use super::anchors::TrustAnchors;
use super::der::{self, oid, El, MAX_SECURITY_DATA_BYTES};
use super::signature::{Hash, Scheme as SignatureScheme};
use super::verdict::{guarded, Anchor, Authenticity, ChipCheck, Failure, Scheme};
use super::x509::{certificate_set, Certificate};

/// The most certificates read from one SOD.
const MAX_SOD_CERTIFICATES: usize = 8;
/// The most data group hashes in one security object (ICAO 9303 defines 16 groups).
const MAX_DATA_GROUPS: usize = 32;
/// The most signed attributes of one signer.
const MAX_ATTRIBUTES: usize = 32;
/// The application tag of EF.SOD.
const EF_SOD: u32 = 0x77;

/// ICAO 9303 passive authentication of EF.DG2 (`dg2`, the whole file as read
/// from the chip) against EF.SOD (`sod`).
///
/// [`Authenticity::Verified`] when DG2's hash is the one the document signer
/// signed and the signature verifies with the signer's certificate in the
/// SOD; the anchor is [`Anchor::Chained`] when that certificate's signature
/// verifies with one of `anchors` (matched by issuer name or key
/// identifier), [`Anchor::NotSupplied`] when `anchors` is empty. Any failure
/// is [`Authenticity::Failed`] with its reason; untrusted bytes never panic,
/// and the work is bounded ([`MAX_SECURITY_DATA_BYTES`], key sizes).
///
/// Passive authentication proves the photo is the issuer's; it does not prove
/// the chip is the original (a clone carries the same SOD): that needs
/// active or chip authentication, which honnin does not perform.
pub fn passive_authentication(dg2: &[u8], sod: &[u8], anchors: &TrustAnchors) -> Authenticity {
    let scheme = Scheme::PassiveAuthentication;
    match guarded(|| check(dg2, sod, anchors)) {
        Ok(anchor) => Authenticity::Verified { scheme, anchor, chip: ChipCheck::NotChallenged },
        Err(failure) => Authenticity::Failed { scheme, failure },
    }
}

/// The data group hashes of a security object: (data group number, hash).
type GroupHashes<'a> = Vec<(u32, &'a [u8])>;

/// The parts of a SOD the check uses.
struct Sod<'a> {
    /// The LDS security object (eContent's octets).
    content: &'a [u8],
    /// Its hash algorithm and (data group, hash) list.
    lds_hash: Hash,
    groups: GroupHashes<'a>,
    certificates: Vec<Certificate<'a>>,
    signer: Signer<'a>,
}

/// The one SignerInfo.
struct Signer<'a> {
    id: SignerId<'a>,
    digest: Hash,
    /// The `[0]` signed attributes element, as encoded.
    attributes: El<'a>,
    algorithm: El<'a>,
    signature: &'a [u8],
}

enum SignerId<'a> {
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    KeyId(&'a [u8]),
}

fn check(dg2: &[u8], sod: &[u8], anchors: &TrustAnchors) -> Result<Anchor, Failure> {
    if sod.len() > MAX_SECURITY_DATA_BYTES || dg2.is_empty() {
        return Err(Failure::Malformed);
    }
    let sod = parse(sod)?;

    // 2. DG2 listed, with DG2's hash.
    let mut listed = sod.groups.iter().filter(|(number, _)| *number == 2);
    let (_, expected) = listed.next().ok_or(Failure::NotListed)?;
    if listed.next().is_some() || expected.len() != sod.lds_hash.len() {
        return Err(Failure::Malformed);
    }
    if sod.lds_hash.digest(&[element_extent(dg2)]) != *expected {
        return Err(Failure::HashMismatch);
    }

    // 3. The signed attributes name the content and its digest.
    let digest = signed_digest(&sod.signer.attributes)?;
    if digest.len() != sod.signer.digest.len() {
        return Err(Failure::Malformed);
    }
    if sod.signer.digest.digest(&[sod.content]) != digest {
        return Err(Failure::HashMismatch);
    }

    // 4. The document signer's signature over the attributes' SET OF encoding.
    let scheme = SignatureScheme::from_algorithm(&sod.signer.algorithm, Some(sod.signer.digest))?;
    let signer = sod
        .certificates
        .iter()
        .find(|c| match sod.signer.id {
            SignerId::IssuerSerial { issuer, serial } => c.issuer == issuer && c.serial == serial,
            SignerId::KeyId(id) => c.subject_key_id == Some(id),
        })
        .ok_or(Failure::Malformed)?;
    let mut signed = sod.signer.attributes.whole.to_vec();
    if let Some(tag) = signed.first_mut() {
        *tag = der::SET as u8; // [0] IMPLICIT becomes the SET OF it stands for
    }
    signer.public_key()?.verify(scheme, &signed, sod.signer.signature)?;

    // 5. The document signer's certificate against the trust anchors.
    anchors.chain(signer)
}

/// The bytes of the outermost element of `bytes` when only padding follows
/// it, else all of `bytes`: what the SOD's hash covers.
fn element_extent(bytes: &[u8]) -> &[u8] {
    match crate::card::tlv::read("ICAO EF.DG2", bytes, 0, 1) {
        Ok((_, used)) if bytes[used..].iter().all(|&b| b == 0x00 || b == 0xFF) => &bytes[..used],
        _ => bytes,
    }
}

fn parse(bytes: &[u8]) -> Result<Sod<'_>, Failure> {
    let outer = der::single(element_extent(bytes))?;
    let content_info = if outer.tag == EF_SOD { der::single(outer.value)? } else { outer };
    if content_info.tag != der::SEQUENCE {
        return Err(Failure::Malformed);
    }
    let mut info = content_info.inner()?;
    if info.expect(der::OID)?.oid()? != oid::SIGNED_DATA {
        return Err(Failure::Malformed);
    }
    let mut explicit = info.expect(der::CONTEXT_0)?.inner()?;
    info.finish()?;
    let signed_data = explicit.expect(der::SEQUENCE)?;
    explicit.finish()?;

    let mut fields = signed_data.inner()?;
    fields.expect(der::INTEGER)?.small()?;
    fields.expect(der::SET)?; // digestAlgorithms: the signer's own is the one used
    let mut encapsulated = fields.expect(der::SEQUENCE)?.inner()?;
    if encapsulated.expect(der::OID)?.oid()? != oid::LDS_SECURITY_OBJECT {
        return Err(Failure::Malformed);
    }
    let mut wrapped = encapsulated.expect(der::CONTEXT_0)?.inner()?;
    encapsulated.finish()?;
    let content = wrapped.expect(der::OCTET_STRING)?.octets()?;
    wrapped.finish()?;
    let certificates = match fields.optional(der::CONTEXT_0)? {
        Some(set) => certificate_set(set.value, MAX_SOD_CERTIFICATES)?,
        None => Vec::new(),
    };
    fields.optional(der::CONTEXT_1)?; // revocation data, not used
    let signer_infos = fields.expect(der::SET)?;
    fields.finish()?;
    // ICAO 9303 has exactly one signer.
    let signer = match der::elements(signer_infos.value, 2)?.as_slice() {
        [only] => signer_info(only)?,
        _ => return Err(Failure::Malformed),
    };
    let (lds_hash, groups) = security_object(content)?;
    Ok(Sod { content, lds_hash, groups, certificates, signer })
}

/// The LDS security object: its hash algorithm and data group hashes.
fn security_object(content: &[u8]) -> Result<(Hash, GroupHashes<'_>), Failure> {
    let object = der::single(content)?;
    if object.tag != der::SEQUENCE {
        return Err(Failure::Malformed);
    }
    let mut fields = object.inner()?;
    if fields.expect(der::INTEGER)?.small()? > 1 {
        return Err(Failure::Malformed);
    }
    let hash = Hash::from_algorithm(&fields.expect(der::SEQUENCE)?)?;
    let list = fields.expect(der::SEQUENCE)?;
    fields.optional(der::SEQUENCE)?; // ldsVersionInfo (version 1)
    fields.finish()?;
    let mut groups = Vec::new();
    for entry in der::elements(list.value, MAX_DATA_GROUPS)? {
        if entry.tag != der::SEQUENCE {
            return Err(Failure::Malformed);
        }
        let mut pair = entry.inner()?;
        let number = pair.expect(der::INTEGER)?.small()?;
        let value = pair.expect(der::OCTET_STRING)?.octets()?;
        pair.finish()?;
        groups.push((number, value));
    }
    Ok((hash, groups))
}

fn signer_info<'a>(element: &El<'a>) -> Result<Signer<'a>, Failure> {
    if element.tag != der::SEQUENCE {
        return Err(Failure::Malformed);
    }
    let mut fields = element.inner()?;
    fields.expect(der::INTEGER)?.small()?;
    let sid = fields.next_element()?;
    let id = match sid.tag {
        der::SEQUENCE => {
            let mut inner = sid.inner()?;
            let issuer = inner.expect(der::SEQUENCE)?.whole;
            let serial = inner.expect(der::INTEGER)?.value;
            inner.finish()?;
            SignerId::IssuerSerial { issuer, serial }
        }
        der::CONTEXT_0_PRIMITIVE => SignerId::KeyId(sid.value),
        _ => return Err(Failure::Malformed),
    };
    let digest = Hash::from_algorithm(&fields.expect(der::SEQUENCE)?)?;
    // ICAO 9303 requires signed attributes (the content is not id-data).
    let attributes = fields.expect(der::CONTEXT_0)?;
    let algorithm = fields.expect(der::SEQUENCE)?;
    let signature = fields.expect(der::OCTET_STRING)?.octets()?;
    fields.optional(der::CONTEXT_1)?; // unsigned attributes
    fields.finish()?;
    Ok(Signer { id, digest, attributes, algorithm, signature })
}

/// The messageDigest of the signed attributes, once the contentType has been
/// checked to be the LDS security object. Each must occur once, with one value.
fn signed_digest<'a>(attributes: &El<'a>) -> Result<&'a [u8], Failure> {
    let mut content_type = None;
    let mut digest = None;
    for attribute in der::elements(attributes.value, MAX_ATTRIBUTES)? {
        if attribute.tag != der::SEQUENCE {
            return Err(Failure::Malformed);
        }
        let mut fields = attribute.inner()?;
        let id = fields.expect(der::OID)?.oid()?;
        let values = fields.expect(der::SET)?;
        fields.finish()?;
        let slot = match id {
            oid::CONTENT_TYPE => &mut content_type,
            oid::MESSAGE_DIGEST => &mut digest,
            _ => continue,
        };
        let value = match der::elements(values.value, 2)?.as_slice() {
            [only] => *only,
            _ => return Err(Failure::Malformed),
        };
        if slot.replace(value).is_some() {
            return Err(Failure::Malformed);
        }
    }
    match (content_type, digest) {
        (Some(kind), Some(digest)) if kind.tag == der::OID && kind.value == oid::LDS_SECURITY_OBJECT => digest.octets(),
        _ => Err(Failure::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real vectors (`../shared/data/dg2/`, or `HONNIN_DATA`), never committed here.
    fn vector(name: &str) -> Vec<u8> {
        let data = std::env::var_os("HONNIN_DATA").map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"),
            std::path::PathBuf::from,
        );
        let path = data.join("dg2").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("chip vector {} ({e}): set HONNIN_DATA", path.display()))
    }

    #[test]
    fn mutated_real_security_objects_never_panic() {
        // The check itself, outside the guard that turns a panic into Malformed.
        let anchors = TrustAnchors::none();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (dg2, sod, rounds) in [
            ("gmrtd_uk_passport_dg2.bin", "sod/gmrtd_uk_passport_sod.bin", 1500),
            ("jmrtd_loes2006_dg2.bin", "sod/jmrtd_loes2006_sod.bin", 1500),
            ("jmrtd_bsi2008_dg2.bin", "sod/jmrtd_bsi2008_sod.bin", 200),
        ] {
            let (dg2, sod) = (vector(dg2), vector(sod));
            assert_eq!(check(&dg2, &sod, &anchors), Ok(Anchor::NotSupplied));
            let mut failed = 0;
            for _ in 0..rounds {
                let mut mutated = sod.clone();
                let at = (next() as usize) % mutated.len();
                match next() % 4 {
                    0 => mutated.truncate(at),
                    1 => mutated.insert(at, next() as u8),
                    _ => mutated[at] ^= (next() as u8) | 1,
                }
                failed += usize::from(check(&dg2, &mutated, &anchors).is_err());
            }
            // Most bytes are signed or structural; without trust anchors, the
            // document signer's certificate is checked only for its key (its
            // names, dates and own signature are not), so a change there passes.
            assert!(failed * 2 > rounds, "{failed} of {rounds} mutations failed");
        }
    }
}
