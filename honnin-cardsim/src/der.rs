//! BER-TLV and DER encoding: the card's files (`FF20`, `7F21`) and the X.509
//! certificates the simulator issues. Encoding only; the simulator never parses
//! what it builds.

use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};

/// One TLV: `tag` as its bytes (`[0x30]`, `[0xDF, 0x27]`, `[0x7F, 0x21]`), then the
/// definite length in its shortest form, then `value`.
pub(crate) fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + 4 + value.len());
    out.extend_from_slice(tag);
    out.extend_from_slice(&length(value.len()));
    out.extend_from_slice(value);
    out
}

/// A definite length: one byte below 128, otherwise `0x80 | n` and n big-endian bytes.
pub(crate) fn length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend_from_slice(&bytes);
    out
}

/// The concatenation of `parts`.
pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(&[0x30], &cat(parts))
}

fn set(parts: &[&[u8]]) -> Vec<u8> {
    tlv(&[0x31], &cat(parts))
}

/// A DER INTEGER from unsigned big-endian bytes (leading zeros dropped, a zero
/// byte added when the high bit is set).
fn unsigned_integer(be: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    let mut value = if trimmed.is_empty() { vec![0] } else { trimmed };
    if value[0] & 0x80 != 0 {
        value.insert(0, 0);
    }
    tlv(&[0x02], &value)
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut push = |mut arc: u64| {
        let mut groups = vec![(arc & 0x7F) as u8];
        arc >>= 7;
        while arc > 0 {
            groups.push(0x80 | (arc & 0x7F) as u8);
            arc >>= 7;
        }
        body.extend(groups.iter().rev());
    };
    push(arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        push(*arc);
    }
    tlv(&[0x06], &body)
}

fn bit_string(bytes: &[u8], unused_bits: u8) -> Vec<u8> {
    let mut value = vec![unused_bits];
    value.extend_from_slice(bytes);
    tlv(&[0x03], &value)
}

const NULL: [u8; 2] = [0x05, 0x00];
const RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113549, 1, 1, 1];
const SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113549, 1, 1, 11];
const COUNTRY: &[u64] = &[2, 5, 4, 6];
const ORGANIZATION: &[u64] = &[2, 5, 4, 10];
const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const KEY_USAGE: &[u64] = &[2, 5, 29, 15];

/// An X.509 name: C=JP, O=`organization`, CN=`common_name`.
fn name(organization: &str, common_name: &str) -> Vec<u8> {
    let rdn = |arcs: &[u64], string: Vec<u8>| set(&[&sequence(&[&oid(arcs), &string])]);
    sequence(&[
        &rdn(COUNTRY, tlv(&[0x13], b"JP")),
        &rdn(ORGANIZATION, tlv(&[0x0C], organization.as_bytes())),
        &rdn(COMMON_NAME, tlv(&[0x0C], common_name.as_bytes())),
    ])
}

/// SubjectPublicKeyInfo for an RSA key (rsaEncryption, RSAPublicKey {n, e}).
pub(crate) fn subject_public_key_info(key: &RsaPublicKey) -> Vec<u8> {
    let rsa_public_key =
        sequence(&[&unsigned_integer(&key.n().to_bytes_be()), &unsigned_integer(&key.e().to_bytes_be())]);
    sequence(&[&sequence(&[&oid(RSA_ENCRYPTION), &NULL]), &bit_string(&rsa_public_key, 0)])
}

/// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
pub(crate) fn sign_sha256(key: &RsaPrivateKey, message: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(message);
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).expect("a 2048-bit key signs a SHA-256 digest")
}

/// Who a certificate is for.
pub(crate) struct CertificateSpec<'a> {
    pub serial: u8,
    pub issuer: (&'a str, &'a str),
    pub subject: (&'a str, &'a str),
    pub subject_key: &'a RsaPublicKey,
    /// A CA (basicConstraints cA, keyUsage keyCertSign and cRLSign), or an end
    /// entity (keyUsage digitalSignature).
    pub ca: bool,
}

/// An X.509 v3 certificate signed (sha256WithRSAEncryption) by `issuer_key`, valid
/// from 2024-01-01 to 2049-12-31 (fixed, so that a seed gives the same bytes).
pub(crate) fn x509_certificate(spec: &CertificateSpec<'_>, issuer_key: &RsaPrivateKey) -> Vec<u8> {
    let algorithm = sequence(&[&oid(SHA256_WITH_RSA), &NULL]);
    let validity = sequence(&[&tlv(&[0x17], b"240101000000Z"), &tlv(&[0x17], b"491231235959Z")]);
    let critical = [0x01, 0x01, 0xFF];
    let extensions = if spec.ca {
        let basic = sequence(&[&oid(BASIC_CONSTRAINTS), &critical, &tlv(&[0x04], &sequence(&[&[0x01, 0x01, 0xFF]]))]);
        // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000_0110, one unused bit.
        let usage = sequence(&[&oid(KEY_USAGE), &critical, &tlv(&[0x04], &bit_string(&[0x06], 1))]);
        sequence(&[&basic, &usage])
    } else {
        // digitalSignature (bit 0): 0b1000_0000, seven unused bits.
        sequence(&[&sequence(&[&oid(KEY_USAGE), &critical, &tlv(&[0x04], &bit_string(&[0x80], 7))])])
    };
    let tbs = sequence(&[
        &tlv(&[0xA0], &unsigned_integer(&[2])),
        &unsigned_integer(&[spec.serial]),
        &algorithm,
        &name(spec.issuer.0, spec.issuer.1),
        &validity,
        &name(spec.subject.0, spec.subject.1),
        &subject_public_key_info(spec.subject_key),
        &tlv(&[0xA3], &extensions),
    ]);
    let signature = sign_sha256(issuer_key, &tbs);
    sequence(&[&tbs, &algorithm, &bit_string(&signature, 0)])
}

/// A public key as the card writes it in `DF24` and in EF `0004`: `82` the
/// exponent, then `81` the modulus (big-endian, no sign byte).
pub(crate) fn card_public_key(key: &RsaPublicKey) -> Vec<u8> {
    cat(&[&tlv(&[0x82], &key.e().to_bytes_be()), &tlv(&[0x81], &key.n().to_bytes_be())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_their_shortest_form() {
        assert_eq!(length(0x7F), [0x7F]);
        assert_eq!(length(0x80), [0x81, 0x80]);
        assert_eq!(length(0x100), [0x82, 0x01, 0x00]);
        assert_eq!(length(0x1_0000), [0x83, 0x01, 0x00, 0x00]);
        assert_eq!(tlv(&[0xDF, 0x22], b"19800217")[..3], [0xDF, 0x22, 0x08]);
    }

    #[test]
    fn integers_and_object_identifiers_are_der() {
        assert_eq!(unsigned_integer(&[0x00, 0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned_integer(&[0x01, 0x00, 0x01]), [0x02, 0x03, 0x01, 0x00, 0x01]);
        assert_eq!(unsigned_integer(&[]), [0x02, 0x01, 0x00]);
        // 1.2.840.113549.1.1.11
        assert_eq!(oid(SHA256_WITH_RSA), [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B]);
    }
}
