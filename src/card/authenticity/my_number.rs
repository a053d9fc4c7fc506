//! The My Number card's proofs (docs/card-protocol.md): the card-surface
//! signature `DF28` of EF `0002`, checked with the certificate of EF `0004`;
//! the chip's answer to a challenge, checked with `DF24`; and the JPKI
//! user-authentication key's answer, checked with its X.509 certificate.
//!
//! - `DF28` is RSASSA-PKCS1-v1_5 with SHA-256 over the 96 bytes
//!   `SHA-256(DF22 ‖ DF23 ‖ DF24) ‖ SHA-256(DF25 ‖ DF26) ‖ SHA-256(DF27)`,
//!   each element in its full encoding (tag, length, value) as the file holds it.
//! - EF `0004` is `7F21 { 7F4E { issuer (16 bytes), subject (16 bytes), exponent, modulus }, 5F37 }`;
//!   `5F37` is the issuing CA's RSASSA-PKCS1-v1_5 SHA-256 signature over the
//!   whole `7F4E` element, checked when the integrator supplies the CA.
//! - A public key is two primitive elements, the exponent then the modulus
//!   (any tags), with a modulus of 2048 to 4096 bits and an odd exponent of at
//!   least 3.
//! - The chip signs `DigestInfo(SHA-256, challenge)`: the 32-byte challenge
//!   stands where a SHA-256 hash would.

use crate::card::tlv::{self, Tlv};
use crate::input::limits::Limits;

use super::anchors::TrustAnchors;
use super::der::MAX_SECURITY_DATA_BYTES;
use super::der::{self, El};
use super::signature::{rsa_key, Hash, PublicKey, Scheme as SignatureScheme};
use super::verdict::{guarded, Anchor, Authenticity, ChipCheck, Failure, Scheme};
use super::x509::Certificate;

const SURFACE: &str = "My Number card-surface data";
/// The smallest and largest modulus of a card key, in bits.
const MIN_CARD_RSA_BITS: usize = 2048;
/// The elements the surface signature covers, in its three groups.
const GROUPS: [&[u32]; 3] = [&[0xDF22, 0xDF23, 0xDF24], &[0xDF25, 0xDF26], &[0xDF27]];

/// The My Number card-surface signature (`DF28` of EF `0002`, `surface`)
/// checked with the certificate of EF `0004` (`certificate`).
///
/// [`Authenticity::Verified`] when `DF28` verifies over the digests of
/// `DF22`..`DF27` (the face photo among them) with the certificate's key; the
/// anchor is [`Anchor::Chained`] when the certificate's `5F37` verifies with
/// the RSA key of one of `anchors` (X.509 CA certificates),
/// [`Anchor::NotSupplied`] when `anchors` is empty. A changed photo, a
/// changed name or address, or a signature by another key is
/// [`Failure::BadSignature`]; bytes that do not parse are
/// [`Failure::Malformed`]. The chip itself is not challenged here
/// ([`ChipCheck::NotChallenged`]): a copy of the file passes this check, the
/// card reader's chip challenge does not.
pub fn my_number_surface(surface: &[u8], certificate: &[u8], anchors: &TrustAnchors) -> Authenticity {
    let scheme = Scheme::MyNumberSurface;
    match guarded(|| check_surface(surface, certificate, anchors)) {
        Ok(anchor) => Authenticity::Verified { scheme, anchor, chip: ChipCheck::NotChallenged },
        Err(failure) => Authenticity::Failed { scheme, failure },
    }
}

/// Whether `answer` is the chip's signature of `challenge` with the private
/// key matching the surface data's `DF24` (RSASSA-PKCS1-v1_5 over
/// `DigestInfo(SHA-256, challenge)`).
// Used by the card reader, which challenges the chip.
#[allow(dead_code)]
pub(crate) fn my_number_chip_answer(surface: &[u8], challenge: &[u8; 32], answer: &[u8]) -> bool {
    guarded(|| {
        let elements = surface_elements(surface)?;
        let key = card_key(find(&elements, 0xDF24)?.value)?;
        key.verify_prehash(SignatureScheme::Pkcs1v15(Hash::Sha256), challenge, answer)
    })
    .is_ok()
}

/// Whether `answer` is the JPKI user-authentication key's signature of
/// `challenge` (RSASSA-PKCS1-v1_5 over `DigestInfo(SHA-256, challenge)`),
/// checked with that key's X.509 certificate (EF `000A`).
///
/// [`Failure::Malformed`] for a certificate that does not parse,
/// [`Failure::UnsupportedAlgorithm`] for one without an RSA key,
/// [`Failure::ChipNotAuthentic`] when the answer is not the key's signature,
/// [`Failure::UntrustedSigner`] when anchors were given and none issued the
/// certificate. On success, whether the certificate chained to an anchor.
// Used by the card reader's PIN path.
#[allow(dead_code)]
pub(crate) fn jpki_answer(
    certificate: &[u8],
    challenge: &[u8; 32],
    answer: &[u8],
    anchors: &TrustAnchors,
) -> Result<Anchor, Failure> {
    guarded(|| {
        if certificate.len() > MAX_SECURITY_DATA_BYTES {
            return Err(Failure::Malformed);
        }
        // A certificate read from the card may be followed by the file's padding.
        let certificate = match tlv::read("JPKI certificate", certificate, 0, 1) {
            Ok((_, used)) => &certificate[..used],
            Err(_) => return Err(Failure::Malformed),
        };
        let parsed = Certificate::parse(certificate)?;
        let key = parsed.public_key()?;
        if !matches!(key, PublicKey::Rsa(_)) {
            return Err(Failure::UnsupportedAlgorithm);
        }
        key.verify_prehash(SignatureScheme::Pkcs1v15(Hash::Sha256), challenge, answer)
            .map_err(|_| Failure::ChipNotAuthentic)?;
        // The card holds a key its certificate names; whether an authority the
        // integrator trusts (a J-LIS JPKI CA) issued that certificate:
        anchors.chain(&parsed)
    })
}

fn check_surface(surface: &[u8], certificate: &[u8], anchors: &TrustAnchors) -> Result<Anchor, Failure> {
    let elements = surface_elements(surface)?;
    // The 96-byte message: one SHA-256 per group of full encodings.
    let mut message = Vec::with_capacity(96);
    for group in GROUPS {
        let parts =
            group.iter().map(|&tag| find(&elements, tag).map(|e| whole(surface, e))).collect::<Result<Vec<_>, _>>()?;
        message.extend(Hash::Sha256.digest(&parts));
    }
    let signature = find(&elements, 0xDF28)?.value;
    let certificate = SurfaceCertificate::parse(certificate)?;
    certificate.key.verify(SignatureScheme::Pkcs1v15(Hash::Sha256), &message, signature)?;
    anchors.chain_signature(certificate.body, certificate.signature)
}

/// The elements of `FF20` (each of `DF21`..`DF2A` at most once), padding allowed after it.
fn surface_elements(surface: &[u8]) -> Result<Vec<Tlv<'_>>, Failure> {
    if surface.len() as u64 > Limits::default().max_bytes {
        return Err(Failure::Malformed);
    }
    let limits = Limits::default();
    let outer = Tlv::outer(SURFACE, surface, &limits).map_err(|_| Failure::Malformed)?;
    if outer.tag != 0xFF20 {
        return Err(Failure::Malformed);
    }
    let elements = outer.children(SURFACE, &limits).map_err(|_| Failure::Malformed)?;
    for (i, element) in elements.iter().enumerate() {
        if elements[..i].iter().any(|e| e.tag == element.tag) {
            return Err(Failure::Malformed);
        }
    }
    Ok(elements)
}

fn find<'a, 'b>(elements: &'b [Tlv<'a>], tag: u32) -> Result<&'b Tlv<'a>, Failure> {
    elements.iter().find(|e| e.tag == tag).ok_or(Failure::Malformed)
}

/// An element's full encoding (tag, length, value) in `input`.
fn whole<'a>(input: &'a [u8], element: &Tlv<'_>) -> &'a [u8] {
    input.get(element.offset..element.value_offset + element.value.len()).unwrap_or_default()
}

/// A card key: two primitive elements, the exponent then the modulus.
fn card_key(value: &[u8]) -> Result<PublicKey, Failure> {
    match der::elements(value, 2)?.as_slice() {
        [exponent, modulus] => key_from(exponent, modulus),
        _ => Err(Failure::Malformed),
    }
}

fn key_from(exponent: &El<'_>, modulus: &El<'_>) -> Result<PublicKey, Failure> {
    if exponent.constructed || modulus.constructed {
        return Err(Failure::Malformed);
    }
    rsa_key(modulus.value, exponent.value, MIN_CARD_RSA_BITS)
}

/// EF `0004`: `7F21 { 7F4E { issuer (16 bytes), subject (16 bytes), exponent, modulus }, 5F37 }`.
struct SurfaceCertificate<'a> {
    /// The whole `7F4E` element: what the CA signed.
    body: &'a [u8],
    key: PublicKey,
    /// `5F37`'s value.
    signature: &'a [u8],
}

impl<'a> SurfaceCertificate<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, Failure> {
        if bytes.len() > MAX_SECURITY_DATA_BYTES {
            return Err(Failure::Malformed);
        }
        // The file may be padded after the certificate.
        let (outer, used) = tlv::read("My Number surface certificate", bytes, 0, 1).map_err(|_| Failure::Malformed)?;
        if outer.tag != 0x7F21 || bytes[used..].iter().any(|&b| b != 0x00 && b != 0xFF) {
            return Err(Failure::Malformed);
        }
        let parts = der::elements(outer.value, 4)?;
        let body = parts.iter().find(|e| e.tag == 0x7F4E).ok_or(Failure::Malformed)?;
        let signature = parts.iter().find(|e| e.tag == 0x5F37).ok_or(Failure::Malformed)?;
        if parts.len() != 2 || signature.constructed {
            return Err(Failure::Malformed);
        }
        Ok(Self { body: body.whole, key: Self::key(body.value)?, signature: signature.value })
    }

    /// The key in `7F4E`'s value: after the issuer's and the subject's
    /// references (16 bytes each, not TLV-coded), the exponent and the
    /// modulus as two primitive elements (docs/card-protocol.md).
    fn key(value: &[u8]) -> Result<PublicKey, Failure> {
        let key = value.get(2 * REFERENCE_BYTES..).ok_or(Failure::Malformed)?;
        match der::elements(key, 2)?.as_slice() {
            [exponent, modulus] => key_from(exponent, modulus),
            _ => Err(Failure::Malformed),
        }
    }
}

/// The issuer's and the subject's references in EF `0004`'s `7F4E`, bytes each.
const REFERENCE_BYTES: usize = 16;

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use rsa::traits::PublicKeyParts;
    use rsa::{Pkcs1v15Sign, RsaPrivateKey};
    use sha2::Sha256;

    use super::*;
    use crate::card::build::tlv;

    const JP2: &[u8] = &[0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A, 9, 9];

    /// A card key and another, generated once for the tests of this module.
    fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
        static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
        KEYS.get_or_init(|| {
            let mut rng = rand_core::OsRng;
            (RsaPrivateKey::new(&mut rng, 2048).unwrap(), RsaPrivateKey::new(&mut rng, 2048).unwrap())
        })
    }

    fn key_tlvs(key: &RsaPrivateKey) -> Vec<u8> {
        [tlv(0x82, &key.e().to_bytes_be()), tlv(0x81, &key.n().to_bytes_be())].concat()
    }

    fn surface(df24: &[u8]) -> Vec<u8> {
        let inner = [tlv(0xDF22, b"19800101"), tlv(0xDF24, df24), tlv(0xDF27, JP2)].concat();
        let mut file = tlv(0xFF20, &inner);
        file.extend([0xFF; 64]);
        file
    }

    fn answer(key: &RsaPrivateKey, challenge: &[u8; 32]) -> Vec<u8> {
        key.sign(Pkcs1v15Sign::new::<Sha256>(), challenge).unwrap()
    }

    #[test]
    fn the_chip_answer_verifies_with_df24_and_with_nothing_else() {
        let (card, other) = keys();
        let surface = surface(&key_tlvs(card));
        let challenge = [0x5A; 32];
        let genuine = answer(card, &challenge);
        assert!(my_number_chip_answer(&surface, &challenge, &genuine));
        assert!(!my_number_chip_answer(&surface, &[0x5B; 32], &genuine), "a replayed answer to another challenge");
        assert!(!my_number_chip_answer(&surface, &challenge, &answer(other, &challenge)), "another key's answer");
        assert!(!my_number_chip_answer(&surface, &challenge, &genuine[..255]));
        assert!(!my_number_chip_answer(&surface, &challenge, &[]));
        // DF24 absent, malformed, of the wrong size or order: no answer verifies.
        let without = [tlv(0xFF20, &tlv(0xDF27, JP2))].concat();
        assert!(!my_number_chip_answer(&without, &challenge, &genuine));
        let swapped = [tlv(0x81, &card.n().to_bytes_be()), tlv(0x82, &card.e().to_bytes_be())].concat();
        assert!(!my_number_chip_answer(&self::surface(&swapped), &challenge, &genuine));
        let short = [tlv(0x82, &[1, 0, 1]), tlv(0x81, &[0xC5; 128])].concat();
        assert!(!my_number_chip_answer(&self::surface(&short), &challenge, &genuine), "a 1024-bit card key");
        let even = [tlv(0x82, &[1, 0, 2]), tlv(0x81, &card.n().to_bytes_be())].concat();
        assert!(!my_number_chip_answer(&self::surface(&even), &challenge, &genuine));
        for len in 0..surface.len() - 64 {
            assert!(!my_number_chip_answer(&surface[..len], &challenge, &genuine), "{len} bytes");
        }
    }

    /// A minimal X.509 certificate around `spki` (its own signature is not checked by `jpki_answer`).
    fn certificate(spki: &[u8]) -> Vec<u8> {
        let algorithm = tlv(0x30, &[tlv(0x06, super::super::der::oid::SHA256_WITH_RSA), tlv(0x05, &[])].concat());
        let name = tlv(0x30, &tlv(0x31, &tlv(0x30, &[tlv(0x06, &[0x55, 4, 3]), tlv(0x0C, b"JPKI test")].concat())));
        let validity = tlv(0x30, &[tlv(0x17, b"250101000000Z"), tlv(0x17, b"300101000000Z")].concat());
        let tbs = [
            tlv(0xA0, &tlv(0x02, &[2])),
            tlv(0x02, &[0x11]),
            algorithm.clone(),
            name.clone(),
            validity,
            name,
            spki.to_vec(),
        ]
        .concat();
        tlv(0x30, &[tlv(0x30, &tbs), algorithm, tlv(0x03, &[0, 1, 2, 3])].concat())
    }

    fn rsa_spki(key: &RsaPrivateKey) -> Vec<u8> {
        let int = |bytes: Vec<u8>| tlv(0x02, &[&[0][..], &bytes].concat());
        let public = tlv(0x30, &[int(key.n().to_bytes_be()), int(key.e().to_bytes_be())].concat());
        let algorithm = tlv(0x30, &[tlv(0x06, super::super::der::oid::RSA_ENCRYPTION), tlv(0x05, &[])].concat());
        tlv(0x30, &[algorithm, tlv(0x03, &[&[0][..], &public].concat())].concat())
    }

    #[test]
    fn jpki_answers_verify_with_the_certificates_key() {
        let (card, other) = keys();
        let mut certificate = certificate(&rsa_spki(card));
        let challenge = [0xA5; 32];
        assert_eq!(
            jpki_answer(&certificate, &challenge, &answer(card, &challenge), &TrustAnchors::none()),
            Ok(Anchor::NotSupplied)
        );
        assert_eq!(
            jpki_answer(&certificate, &challenge, &answer(other, &challenge), &TrustAnchors::none()),
            Err(Failure::ChipNotAuthentic)
        );
        assert_eq!(
            jpki_answer(&certificate, &[0; 32], &answer(card, &challenge), &TrustAnchors::none()),
            Err(Failure::ChipNotAuthentic)
        );
        // The file's padding after the certificate is allowed.
        certificate.extend([0xFF; 32]);
        assert_eq!(
            jpki_answer(&certificate, &challenge, &answer(card, &challenge), &TrustAnchors::none()),
            Ok(Anchor::NotSupplied)
        );
        assert_eq!(
            jpki_answer(&certificate[..100], &challenge, &answer(card, &challenge), &TrustAnchors::none()),
            Err(Failure::Malformed)
        );
        assert_eq!(jpki_answer(b"", &challenge, &[], &TrustAnchors::none()), Err(Failure::Malformed));
        let signing = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
        let point = signing.verifying_key().to_encoded_point(false);
        let ec = tlv(
            0x30,
            &[
                tlv(
                    0x30,
                    &[tlv(0x06, super::super::der::oid::EC_PUBLIC_KEY), tlv(0x06, super::super::der::oid::P256)]
                        .concat(),
                ),
                tlv(0x03, &[&[0][..], point.as_bytes()].concat()),
            ]
            .concat(),
        );
        assert_eq!(
            jpki_answer(&self::certificate(&ec), &challenge, &[1; 64], &TrustAnchors::none()),
            Err(Failure::UnsupportedAlgorithm)
        );
    }
}
