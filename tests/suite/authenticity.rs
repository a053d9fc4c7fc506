//! Issue 19: whether a card photo is the one its issuer wrote.
//!
//! Passive authentication against three real DG2/SOD pairs from public
//! passport-reading libraries (`../shared/data/dg2/sod/`, never committed
//! here): RSASSA-PSS, ECDSA on explicit brainpoolP224r1 parameters, RSA
//! PKCS #1 v1.5. A CSCA chain with certificates this file makes. The My
//! Number surface signature with keys this file generates. And the engine:
//! a card whose check failed is inconclusive before any model runs.

use std::path::PathBuf;
use std::sync::OnceLock;

use honnin::authenticity::{
    my_number_surface, passive_authentication, Anchor, Authenticity, ChipCheck, Failure, Scheme, TrustAnchors,
};
use honnin::card::Container;
use honnin::engine::ModelRuns;
use honnin::{CardPhoto, Decision, Engine, Error, Limits, LiveFrame, Models, Policy, Reason};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256};

use crate::common;

fn dg2_dir() -> PathBuf {
    let dir = common::data_dir().join("dg2");
    assert!(dir.join("sod").is_dir(), "DG2/SOD vectors not found in {}", dir.display());
    dir
}

fn read(name: &str) -> Vec<u8> {
    let path = dg2_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The three real pairs: (DG2 file, SOD file).
const PAIRS: [(&str, &str); 3] = [
    ("gmrtd_uk_passport_dg2.bin", "sod/gmrtd_uk_passport_sod.bin"),
    ("jmrtd_bsi2008_dg2.bin", "sod/jmrtd_bsi2008_sod.bin"),
    ("jmrtd_loes2006_dg2.bin", "sod/jmrtd_loes2006_sod.bin"),
];

fn verified(scheme: Scheme, anchor: Anchor) -> Authenticity {
    Authenticity::Verified { scheme, anchor, chip: ChipCheck::NotChallenged }
}

fn failed(scheme: Scheme, failure: Failure) -> Authenticity {
    Authenticity::Failed { scheme, failure }
}

const PA: Scheme = Scheme::PassiveAuthentication;
const MN: Scheme = Scheme::MyNumberSurface;

#[test]
fn the_three_real_passports_pass_passive_authentication() {
    for (dg2, sod) in PAIRS {
        let result = passive_authentication(&read(dg2), &read(sod), &TrustAnchors::none());
        assert_eq!(result, verified(PA, Anchor::NotSupplied), "{dg2} against {sod}");
        assert_eq!(result.to_string(), "verified (passive_authentication)");
    }
}

#[test]
fn a_changed_photo_or_another_documents_photo_is_a_hash_mismatch() {
    let uk_sod = read("sod/gmrtd_uk_passport_sod.bin");
    let none = TrustAnchors::none();
    let corrupt = read("gmrtd_uk_passport_dg2_corrupt_lastbyte.bin");
    let result = passive_authentication(&corrupt, &uk_sod, &none);
    assert_eq!(result, failed(PA, Failure::HashMismatch));
    assert_eq!(result.to_string(), "failed (passive_authentication): the photo differs from the one the issuer signed");
    assert_eq!(
        passive_authentication(&read("jmrtd_loes2006_dg2.bin"), &read("sod/jmrtd_bsi2008_sod.bin"), &none),
        failed(PA, Failure::HashMismatch)
    );
    // The signed attributes' digest no longer matches the security object.
    let mut changed = uk_sod.clone();
    let digest_attribute = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04, 0x31];
    // 06 09 <OID> 31 22 04 20 <digest>
    let at = changed.windows(12).position(|w| w == digest_attribute).expect("a messageDigest attribute") + 15;
    changed[at] ^= 0x01;
    assert_eq!(passive_authentication(&read(PAIRS[0].0), &changed, &none), failed(PA, Failure::HashMismatch));
}

#[test]
fn a_flipped_signature_byte_is_a_bad_signature() {
    for (dg2, sod) in PAIRS {
        let mut sod_bytes = read(sod);
        // The signer's signature is the SOD's last element.
        let last = sod_bytes.len() - 1;
        sod_bytes[last] ^= 0x01;
        let result = passive_authentication(&read(dg2), &sod_bytes, &TrustAnchors::none());
        assert_eq!(result, failed(PA, Failure::BadSignature), "{sod}");
    }
}

#[test]
fn truncated_and_garbage_security_objects_are_malformed() {
    let dg2 = read(PAIRS[0].0);
    let sod = read(PAIRS[0].1);
    let none = TrustAnchors::none();
    for len in 0..sod.len() {
        assert_eq!(passive_authentication(&dg2, &sod[..len], &none), failed(PA, Failure::Malformed), "{len} bytes");
    }
    let mut lying = sod.clone();
    lying[2] = 0xFF; // 77 82 FFxx: longer than the file
    let garbage: [&[u8]; 6] = [b"", b"\x77\x00", b"\x30\x80\x00\x00", &[0xFF; 64], b"not a SOD", &lying];
    for bytes in garbage {
        assert_eq!(passive_authentication(&dg2, bytes, &none), failed(PA, Failure::Malformed), "{bytes:02X?}");
    }
    assert_eq!(passive_authentication(&dg2, &vec![0x30; 300 * 1024], &none), failed(PA, Failure::Malformed));
    assert_eq!(passive_authentication(b"", &sod, &none), failed(PA, Failure::Malformed));
}

// --- A CSCA chain this file makes ---------------------------------------------------------

mod der {
    pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = value.len();
        match len {
            0..=0x7F => out.push(len as u8),
            0x80..=0xFF => out.extend([0x81, len as u8]),
            _ => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(value);
        out
    }
    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }
    pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x31, &parts.concat())
    }
    pub fn int(value: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = value.iter().copied().skip_while(|&b| b == 0).collect();
        if v.first().is_none_or(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        tlv(0x02, &v)
    }
    pub fn oid(arcs: &[u8]) -> Vec<u8> {
        tlv(0x06, arcs)
    }
    pub fn octets(value: &[u8]) -> Vec<u8> {
        tlv(0x04, value)
    }
    pub fn bits(value: &[u8]) -> Vec<u8> {
        tlv(0x03, &[&[0][..], value].concat())
    }
    pub fn name(common_name: &str) -> Vec<u8> {
        let cn = seq(&[oid(&[0x55, 0x04, 0x03]), tlv(0x13, common_name.as_bytes())]);
        seq(&[set(&[cn])])
    }
    pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    pub const ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
    pub const SHA256_WITH_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
    pub const RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
    pub const LDS: &[u8] = &[0x67, 0x81, 0x08, 0x01, 0x01, 0x01];
}

use der::{bits, int, name, octets, oid, seq, set, tlv};

/// An X.509 certificate: `subject_spki` signed by `sign` (ECDSA with SHA-256
/// or RSA PKCS #1 v1.5 with SHA-256, by `algorithm`).
fn certificate(
    serial: u8,
    issuer: &str,
    subject: &str,
    spki: Vec<u8>,
    algorithm: &[u8],
    sign: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Vec<u8> {
    let alg =
        if algorithm == der::ECDSA_SHA256 { seq(&[oid(algorithm)]) } else { seq(&[oid(algorithm), tlv(0x05, &[])]) };
    let validity = seq(&[tlv(0x17, b"200101000000Z"), tlv(0x17, b"400101000000Z")]);
    let tbs = seq(&[tlv(0xA0, &int(&[2])), int(&[serial]), alg.clone(), name(issuer), validity, name(subject), spki]);
    let signature = sign(&tbs);
    seq(&[tbs, alg, bits(&signature)])
}

fn ec_spki(key: &p256::ecdsa::SigningKey) -> Vec<u8> {
    let point = key.verifying_key().to_encoded_point(false);
    let p256 = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
    seq(&[seq(&[oid(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]), oid(&p256)]), bits(point.as_bytes())])
}

fn ec_sign(key: &p256::ecdsa::SigningKey) -> impl Fn(&[u8]) -> Vec<u8> + '_ {
    move |message| {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::Signature = key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }
}

fn ec_key(seed: u8) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap()
}

/// A CSCA (self-signed) and a document signer it certified.
struct Pki {
    csca: Vec<u8>,
    ds: Vec<u8>,
    ds_key: p256::ecdsa::SigningKey,
}

fn pki(csca_seed: u8, csca_name: &str) -> Pki {
    let csca_key = ec_key(csca_seed);
    let ds_key = ec_key(csca_seed.wrapping_add(100));
    let csca = certificate(1, csca_name, csca_name, ec_spki(&csca_key), der::ECDSA_SHA256, &ec_sign(&csca_key));
    let ds = certificate(7, csca_name, "DS Test", ec_spki(&ds_key), der::ECDSA_SHA256, &ec_sign(&csca_key));
    Pki { csca, ds, ds_key }
}

/// EF.SOD over `groups` (number, file bytes), signed by the PKI's document signer.
fn sod(pki: &Pki, csca_name: &str, groups: &[(u8, &[u8])]) -> Vec<u8> {
    let hashes: Vec<Vec<u8>> =
        groups.iter().map(|(n, bytes)| seq(&[int(&[*n]), octets(&Sha256::digest(bytes))])).collect();
    let lds = seq(&[int(&[0]), seq(&[oid(der::SHA256)]), seq(&hashes)]);
    let attributes = [
        seq(&[oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03]), set(&[oid(der::LDS)])]),
        seq(&[oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x04]), set(&[octets(&Sha256::digest(&lds))])]),
    ]
    .concat();
    let signature = ec_sign(&pki.ds_key)(&tlv(0x31, &attributes));
    let signer = seq(&[
        int(&[1]),
        seq(&[name(csca_name), int(&[7])]),
        seq(&[oid(der::SHA256)]),
        tlv(0xA0, &attributes),
        seq(&[oid(der::ECDSA_SHA256)]),
        octets(&signature),
    ]);
    let signed_data = seq(&[
        int(&[3]),
        set(&[seq(&[oid(der::SHA256)])]),
        seq(&[oid(der::LDS), tlv(0xA0, &octets(&lds))]),
        tlv(0xA0, &pki.ds),
        set(&[signer]),
    ]);
    let content_info = seq(&[oid(&[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02]), tlv(0xA0, &signed_data)]);
    tlv(0x77, &content_info)
}

fn pem(der: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in der.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                text.push('=');
            }
        }
    }
    let lines: Vec<&str> = text.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

#[test]
fn a_document_signer_chains_to_its_csca_and_not_to_another() {
    let csca_name = "CSCA Honnin Test";
    let issuer = pki(1, csca_name);
    let dg2 = read(PAIRS[0].0);
    let sod_bytes = sod(&issuer, csca_name, &[(1, b"DG1 of a test document"), (2, &dg2)]);
    let own = TrustAnchors::from_pem_or_der(&issuer.csca).unwrap();
    assert_eq!(passive_authentication(&dg2, &sod_bytes, &TrustAnchors::none()), verified(PA, Anchor::NotSupplied));
    assert_eq!(passive_authentication(&dg2, &sod_bytes, &own), verified(PA, Anchor::Chained));

    // Another CSCA of the same name, and one of another name: not the signer's.
    let impostor = pki(2, csca_name);
    let stranger = pki(3, "CSCA Elsewhere");
    let others = [pem(&impostor.csca), pem(&stranger.csca)].concat();
    let other_anchors = TrustAnchors::from_pem_or_der(others.as_bytes()).unwrap();
    assert_eq!(other_anchors.len(), 2);
    assert_eq!(passive_authentication(&dg2, &sod_bytes, &other_anchors), failed(PA, Failure::UntrustedSigner));
    // The real passports' signers chain to none of these either.
    for (dg2, sod) in PAIRS {
        assert_eq!(passive_authentication(&read(dg2), &read(sod), &own), failed(PA, Failure::UntrustedSigner));
    }

    // Files: PEM bundle and DER, read in order; the right one among others chains.
    let dir = common::scratch_dir("trust-anchors");
    std::fs::write(dir.join("others.pem"), &others).unwrap();
    std::fs::write(dir.join("csca.der"), &issuer.csca).unwrap();
    let from_files = TrustAnchors::from_files([dir.join("others.pem"), dir.join("csca.der")]).unwrap();
    assert_eq!(from_files.len(), 3);
    assert_eq!(passive_authentication(&dg2, &sod_bytes, &from_files), verified(PA, Anchor::Chained));

    // A data group the SOD does not list.
    let without_dg2 = sod(&issuer, csca_name, &[(1, b"DG1 of a test document")]);
    assert_eq!(passive_authentication(&dg2, &without_dg2, &own), failed(PA, Failure::NotListed));

    // Bad files are typed errors.
    std::fs::write(dir.join("garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
        .unwrap();
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    let mut truncated = issuer.csca.clone();
    truncated.truncate(100);
    std::fs::write(dir.join("truncated.der"), &truncated).unwrap();
    for bad in ["garbage.pem", "empty.pem", "truncated.der"] {
        let err = TrustAnchors::from_files([dir.join(bad)]).unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{bad}: {err:?}");
    }
    assert!(matches!(TrustAnchors::from_files([dir.join("missing.pem")]), Err(Error::Io { .. })));
    assert!(matches!(TrustAnchors::from_files([&dir]), Err(Error::NotAFile { .. })));
    let _ = std::fs::remove_dir_all(&dir);
}

// --- The My Number surface signature --------------------------------------------------------

/// Keys generated once for this test binary: the card's (DF24), the surface
/// certificate's (EF 0004), the issuing CA's (X.509), and another.
struct Keys {
    card: RsaPrivateKey,
    certificate: RsaPrivateKey,
    ca: RsaPrivateKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand_core::OsRng;
        Keys {
            card: RsaPrivateKey::new(&mut rng, 2048).unwrap(),
            certificate: RsaPrivateKey::new(&mut rng, 2048).unwrap(),
            ca: RsaPrivateKey::new(&mut rng, 1024).unwrap(),
        }
    })
}

fn rsa_sign(key: &RsaPrivateKey, message: &[u8]) -> Vec<u8> {
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(message)).unwrap()
}

/// A BER element with a tag of one or two bytes.
fn el(tag: u16, value: &[u8]) -> Vec<u8> {
    let encoded = der::tlv(0, value);
    let tag_bytes: Vec<u8> = if tag > 0xFF { tag.to_be_bytes().to_vec() } else { vec![tag as u8] };
    [tag_bytes, encoded[1..].to_vec()].concat()
}

fn key_tlvs(key: &RsaPrivateKey) -> Vec<u8> {
    use rsa::traits::PublicKeyParts;
    [el(0x82, &key.e().to_bytes_be()), el(0x81, &key.n().to_bytes_be())].concat()
}

/// The elements of the sample's card-surface data, by tag.
fn sample_elements() -> Vec<(u16, Vec<u8>)> {
    let bytes = std::fs::read(common::root().join("samples/astronaut_mynumber.bin")).unwrap();
    let data = honnin::card::CardData::parse(&bytes, &Limits::default()).unwrap();
    assert_eq!(data.container(), Container::MyNumberSurface);
    // FF20 82 LL LL, then the elements (two-byte tags, short or 0x82 lengths).
    let mut out = Vec::new();
    let mut i = 5;
    let end = 5 + usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
    while i < end {
        let tag = u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let (len, header) = match bytes[i + 2] {
            0x82 => (usize::from(u16::from_be_bytes([bytes[i + 3], bytes[i + 4]])), 5),
            0x81 => (usize::from(bytes[i + 3]), 4),
            n => (usize::from(n), 3),
        };
        out.push((tag, bytes[i + header..i + header + len].to_vec()));
        i += header + len;
    }
    out
}

/// Card-surface data signed as the card is (DF28 over the three digests),
/// with `photo` as DF27 and the file's padding after it.
fn signed_surface(photo: Option<&[u8]>) -> Vec<u8> {
    let keys = keys();
    let sample = sample_elements();
    let value = |tag: u16| sample.iter().find(|(t, _)| *t == tag).map(|(_, v)| v.clone()).unwrap();
    let elements: Vec<(u16, Vec<u8>)> = vec![
        (0xDF21, value(0xDF21)),
        (0xDF22, value(0xDF22)),
        (0xDF23, value(0xDF23)),
        (0xDF24, key_tlvs(&keys.card)),
        (0xDF25, b"\x89PNG name".to_vec()),
        (0xDF26, b"\x89PNG address".to_vec()),
        (0xDF27, value(0xDF27)),
    ];
    let full = |tag: u16| {
        let (_, v) = elements.iter().find(|(t, _)| *t == tag).unwrap();
        el(tag, v)
    };
    let mut message = Vec::new();
    for group in [&[0xDF22, 0xDF23, 0xDF24][..], &[0xDF25, 0xDF26], &[0xDF27]] {
        let bytes: Vec<u8> = group.iter().flat_map(|&t| full(t)).collect();
        message.extend(Sha256::digest(&bytes));
    }
    assert_eq!(message.len(), 96);
    let signature = rsa_sign(&keys.certificate, &message);
    let mut inner: Vec<u8> = elements
        .iter()
        .map(|(tag, v)| if *tag == 0xDF27 { el(*tag, photo.unwrap_or(v)) } else { el(*tag, v) })
        .collect::<Vec<_>>()
        .concat();
    inner.extend(el(0xDF28, &signature));
    inner.extend(el(0xDF29, &value(0xDF29)));
    inner.extend(el(0xDF2A, b"\x89PNG code"));
    let mut file = el(0xFF20, &inner);
    file.resize(file.len() + 300, 0xFF);
    file
}

/// EF 0004: 7F21 { 7F4E { issuer (16 bytes), subject (16 bytes), exponent, modulus }, 5F37 }.
fn surface_certificate(signed_by: &RsaPrivateKey) -> Vec<u8> {
    let body =
        el(0x7F4E, &[b"JPJLISCA00000001".as_slice(), b"JPCARD0000000001", &key_tlvs(&keys().certificate)].concat());
    let signature = rsa_sign(signed_by, &body);
    el(0x7F21, &[body, el(0x5F37, &signature)].concat())
}

fn ca_certificate(key: &RsaPrivateKey, subject: &str) -> Vec<u8> {
    use rsa::traits::PublicKeyParts;
    let public = seq(&[int(&key.n().to_bytes_be()), int(&key.e().to_bytes_be())]);
    let spki = seq(&[seq(&[oid(der::RSA), tlv(0x05, &[])]), bits(&public)]);
    certificate(3, subject, subject, spki, der::SHA256_WITH_RSA, &|tbs| rsa_sign(key, tbs))
}

#[test]
fn a_genuine_my_number_surface_verifies_and_a_forged_photo_does_not() {
    let keys = keys();
    let surface = signed_surface(None);
    let certificate = surface_certificate(&keys.ca);
    let none = TrustAnchors::none();
    let result = my_number_surface(&surface, &certificate, &none);
    assert_eq!(result, verified(MN, Anchor::NotSupplied));
    let ca = TrustAnchors::from_pem_or_der(&ca_certificate(&keys.ca, "J-LIS Test CA")).unwrap();
    assert_eq!(my_number_surface(&surface, &certificate, &ca), verified(MN, Anchor::Chained));
    let other_ca = TrustAnchors::from_pem_or_der(&ca_certificate(&keys.card, "Another CA")).unwrap();
    assert_eq!(my_number_surface(&surface, &certificate, &other_ca), failed(MN, Failure::UntrustedSigner));

    // A forged photo in a well-formed file: another JPEG 2000, or one byte changed.
    let forged = signed_surface(Some(&read("jmrtd_bsi2008_dg2.jp2")));
    assert!(honnin::card::CardData::parse(&forged, &Limits::default()).is_ok(), "the forgery is well formed");
    assert_eq!(my_number_surface(&forged, &certificate, &none), failed(MN, Failure::BadSignature));
    let mut one_byte = surface.clone();
    let photo_at = one_byte.windows(3).position(|w| w == [0xDF, 0x27, 0x82]).unwrap() + 200;
    one_byte[photo_at] ^= 0x01;
    assert_eq!(my_number_surface(&one_byte, &certificate, &none), failed(MN, Failure::BadSignature));
    // A certificate of another key.
    let mut wrong_key = certificate.clone();
    let modulus_at = wrong_key.windows(3).position(|w| w == [0x81, 0x82, 0x01]).unwrap() + 10;
    wrong_key[modulus_at] ^= 0x01;
    assert_eq!(my_number_surface(&surface, &wrong_key, &none), failed(MN, Failure::BadSignature));
    // DF29 and DF2A are not covered: the expiry may change without breaking the signature.
    let mut expiry = surface.clone();
    let at = expiry.windows(3).position(|w| w == [0xDF, 0x29, 0x08]).unwrap() + 3;
    expiry[at] ^= 0x01;
    assert_eq!(my_number_surface(&expiry, &certificate, &none), verified(MN, Anchor::NotSupplied));

    // Truncations (short of the padding) and garbage are malformed, never a panic.
    for len in (0..surface.len() - 300).step_by(97) {
        let result = my_number_surface(&surface[..len], &certificate, &none);
        assert!(
            matches!(result, Authenticity::Failed { failure: Failure::Malformed | Failure::BadSignature, .. }),
            "{len}: {result:?}"
        );
    }
    for len in 0..certificate.len() {
        let result = my_number_surface(&surface, &certificate[..len], &none);
        assert_eq!(result, failed(MN, Failure::Malformed), "certificate of {len} bytes");
    }
    assert_eq!(my_number_surface(b"\xFF\x20\x00", b"", &none), failed(MN, Failure::Malformed));
}

// --- The engine: a failed check is never compared --------------------------------------------

/// An engine of this module's own, so that its model-run counts are this module's.
fn private_engine(require_authentic: bool) -> Engine {
    let models = Models::from_dir(common::models_dir()).expect("models verify");
    Engine::builder(models)
        .onnxruntime(common::ort_lib())
        .policy(Policy::default_from(&common::calibration()).unwrap().require_authentic(require_authentic))
        .build()
        .expect("engine builds")
}

fn live() -> LiveFrame {
    LiveFrame::open(common::root().join("samples/astronaut_live.jpg")).unwrap()
}

#[test]
fn a_card_whose_check_failed_is_inconclusive_before_any_model_runs() {
    let engine = private_engine(false);
    let limits = Limits::default();
    let none = TrustAnchors::none();
    let sod_bytes = read(PAIRS[0].1);
    let corrupt =
        CardPhoto::from_dg2_with_sod(&read("gmrtd_uk_passport_dg2_corrupt_lastbyte.bin"), &sod_bytes, &none, &limits)
            .unwrap();
    assert_eq!(corrupt.authenticity(), failed(PA, Failure::HashMismatch));
    let outcome = engine.verify(&corrupt, &live()).unwrap();
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::CardNotAuthentic(Failure::HashMismatch)));
    assert_eq!(outcome.authenticity, failed(PA, Failure::HashMismatch));
    assert_eq!(Reason::CardNotAuthentic(Failure::HashMismatch).code(), "card_not_authentic");
    // The audit record says so, in codes.
    let record = honnin::audit::AuditRecord::automatic(&engine, &outcome, corrupt.kind());
    let line = crate::audit_schema::check_line(&record.to_line());
    assert_eq!(line["reasons"], serde_json::json!(["card_not_authentic"]));
    assert_eq!(
        line["authenticity"],
        serde_json::json!({"status": "failed", "scheme": "passive_authentication", "anchor": null, "chip": null,
                           "failure": "hash_mismatch"})
    );
    let reference = engine.card_reference(&corrupt).unwrap();
    assert!(!reference.has_template());
    assert_eq!(engine.verify_reference(&reference, &live()).unwrap().authenticity, corrupt.authenticity());
    let forged = signed_surface(Some(&read("jmrtd_bsi2008_dg2.jp2")));
    let forged = CardPhoto::from_my_number_surface(&forged, &surface_certificate(&keys().ca), &none, &limits).unwrap();
    assert_eq!(forged.authenticity(), failed(MN, Failure::BadSignature));
    let outcome = engine.verify(&forged, &live()).unwrap();
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::CardNotAuthentic(Failure::BadSignature)));
    assert_eq!(engine.model_runs(), ModelRuns::default(), "no model ran for a card that failed its check");

    // The genuine pair is compared, and its outcome says it was verified.
    let genuine = CardPhoto::from_dg2_with_sod(&read(PAIRS[0].0), &sod_bytes, &none, &limits).unwrap();
    let outcome = engine.verify(&genuine, &live()).unwrap();
    assert!(matches!(outcome.decision, Decision::Match | Decision::NoMatch), "{:?}", outcome.decision);
    assert_eq!(outcome.authenticity, verified(PA, Anchor::NotSupplied));
    assert!(engine.model_runs().detector >= 2);
    let record = honnin::audit::AuditRecord::automatic(&engine, &outcome, genuine.kind());
    let line = crate::audit_schema::check_line(&record.to_line());
    assert_eq!(line["authenticity"]["status"], "verified");
    assert_eq!(line["authenticity"]["anchor"], "not_supplied");

    // --sod with something that is not DG2, or a surface that is not one: errors, not results.
    let png = std::fs::read(common::root().join("samples/astronaut_card.png")).unwrap();
    assert!(matches!(
        CardPhoto::from_dg2_with_sod(&png, &sod_bytes, &none, &limits),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(matches!(
        CardPhoto::from_my_number_surface(&read(PAIRS[0].0), b"", &none, &limits),
        Err(Error::InvalidArgument { .. })
    ));
}

#[test]
fn a_policy_that_requires_authenticity_refuses_unchecked_photos_without_running_models() {
    let engine = private_engine(true);
    assert!(engine.policy().requires_authentic());
    let plain = CardPhoto::open(common::root().join("samples/astronaut_card.png")).unwrap();
    assert_eq!(plain.authenticity(), Authenticity::NotChecked);
    let outcome = engine.verify(&plain, &live()).unwrap();
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::AuthenticityNotChecked));
    assert_eq!(outcome.authenticity, Authenticity::NotChecked);
    assert_eq!(engine.model_runs(), ModelRuns::default());
    let surface = signed_surface(None);
    let genuine = CardPhoto::from_my_number_surface(
        &surface,
        &surface_certificate(&keys().ca),
        &TrustAnchors::none(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(genuine.authenticity(), verified(MN, Anchor::NotSupplied));
    // A signature no supplied anchor vouches for proves nothing (anyone can
    // make a key): not admitted.
    let outcome = engine.verify(&genuine, &live()).unwrap();
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::AuthenticityNotChecked));
    assert_eq!(outcome.authenticity, verified(MN, Anchor::NotSupplied));
    // Chained to the CA, but read from bytes: no chip answered, so a copy
    // cannot be told from the card. Not admitted either.
    let anchors = TrustAnchors::from_pem_or_der(&ca_certificate(&keys().ca, "honnin test CA")).unwrap();
    let chained =
        CardPhoto::from_my_number_surface(&surface, &surface_certificate(&keys().ca), &anchors, &Limits::default())
            .unwrap();
    assert_eq!(chained.authenticity(), verified(MN, Anchor::Chained));
    let outcome = engine.verify(&chained, &live()).unwrap();
    assert_eq!(outcome.decision, Decision::Inconclusive(Reason::AuthenticityNotChecked));
    assert_eq!(engine.model_runs(), ModelRuns::default(), "no model ran on a photo the policy does not admit");
    // Chained and answered by the chip: tests/card_reader.rs (a card in a reader).
    assert!(!Policy::default_from(&common::calibration()).unwrap().requires_authentic(), "off by default");
}
