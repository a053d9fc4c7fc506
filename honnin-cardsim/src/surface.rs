//! The card's files, built from the holder's facts, the photo and the keys.
//!
//! - EF `0002`: `FF20` { `DF21` offsets, `DF22` birth date, `DF23` sex, `DF24` the
//!   card key's public part, `DF25` name, `DF26` address, `DF27` photo, `DF28`
//!   signature, `DF29` expiry, `DF2A` security code }, then `FF` filler.
//! - EF `0004`: `7F21` { `7F4E` { issuer (16 bytes), subject (16 bytes), not TLV-coded,
//!   `82` exponent, `81` modulus }, `5F37` the CA's signature over the `7F4E` element }.
//! - EF `000A`: the X.509 certificate of the JPKI user-authentication key.
//! - EF `0005`: a placeholder image standing for the rendered My Number.
//!
//! Every file is followed by `FF` filler to a multiple of 256 bytes (at least 32
//! bytes of it): a reader must read by the lengths inside, not to the end.

use crate::der::{self, CertificateSpec};
use crate::facts::CardFacts;
use crate::keys::Keys;
use crate::png;
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};

/// The surface-certificate issuer and subject (16 bytes each).
pub(crate) const CVC_ISSUER: &[u8; 16] = b"HONNIN-SIM-CA-01";
pub(crate) const CVC_SUBJECT: &[u8; 16] = b"HONNIN-SIM-SG-01";
/// The test CA's X.509 name (C=JP, O, CN).
const CA_NAME: (&str, &str) = ("honnin tests (not J-LIS)", "honnin-cardsim test CA");
const JPKI_NAME: (&str, &str) = ("honnin tests (not J-LIS)", "honnin-cardsim JPKI user authentication (test)");

/// The largest photo: EF `0002` must stay within READ BINARY's 15-bit offsets.
pub(crate) const MAX_PHOTO: usize = 28 * 1024;

/// The files as the card serves them.
pub(crate) struct Files {
    pub ef0002: Vec<u8>,
    pub ef0004: Vec<u8>,
    pub ef0005: Vec<u8>,
    pub ef000a: Vec<u8>,
    /// `DF27` as served (the forged photo under `forged-photo`).
    pub photo: Vec<u8>,
    /// The test CA's self-signed X.509 certificate.
    pub ca_certificate: Vec<u8>,
}

/// How EF `0002` departs from a genuine card.
pub(crate) struct Variants {
    /// `DF27` replaced by this photo after `DF28` signed the genuine one.
    pub forged_photo: Option<Vec<u8>>,
    /// The `FF20` header declares 4096 bytes more than the file holds.
    pub ff20_past_end: bool,
}

pub(crate) fn build(facts: &CardFacts, keys: &Keys, photo: &[u8], variants: &Variants) -> Result<Files, String> {
    for (what, bytes) in [("photo", Some(photo)), ("forged photo", variants.forged_photo.as_deref())] {
        if let Some(bytes) = bytes {
            if bytes.is_empty() || bytes.len() > MAX_PHOTO {
                return Err(format!("the {what} must be 1 to {MAX_PHOTO} bytes, not {}", bytes.len()));
            }
        }
    }
    let card_public = RsaPublicKey::from(&keys.card);
    let df22 = der::tlv(&[0xDF, 0x22], facts.birth.compact().as_bytes());
    let df23 = der::tlv(&[0xDF, 0x23], &[b'0' + facts.sex]);
    let df24 = der::tlv(&[0xDF, 0x24], &der::card_public_key(&card_public));
    let df25 = der::tlv(&[0xDF, 0x25], &png::placeholder(&facts.name));
    let df26 = der::tlv(&[0xDF, 0x26], &png::placeholder(&facts.address));
    let df27 = der::tlv(&[0xDF, 0x27], photo);
    let message = der::cat(&[
        &Sha256::digest(der::cat(&[&df22, &df23, &df24])),
        &Sha256::digest(der::cat(&[&df25, &df26])),
        &Sha256::digest(&df27),
    ]);
    let df28 = der::tlv(&[0xDF, 0x28], &der::sign_sha256(&keys.surface, &message));
    let df29 = der::tlv(&[0xDF, 0x29], facts.expiry_date().as_bytes());
    let df2a = der::tlv(&[0xDF, 0x2A], &png::placeholder(&facts.security_code));
    let served_photo = variants.forged_photo.clone().unwrap_or_else(|| photo.to_vec());
    let df27 = der::tlv(&[0xDF, 0x27], &served_photo);
    let rest = [df22, df23, df24, df25, df26, df27, df28, df29, df2a];

    // DF21: the offset of each following element from the start of the file,
    // two bytes each (9 entries, so DF21 itself is 3 + 18 bytes).
    let df21_len = 3 + 2 * rest.len();
    let body_len = df21_len + rest.iter().map(Vec::len).sum::<usize>();
    let declared = if variants.ff20_past_end { body_len + 4096 } else { body_len };
    let header = der::cat(&[&[0xFF, 0x20], &der::length(declared)]);
    let mut offsets = Vec::with_capacity(2 * rest.len());
    let mut at = header.len() + df21_len;
    for element in &rest {
        offsets.extend_from_slice(&(at as u16).to_be_bytes());
        at += element.len();
    }
    let df21 = der::tlv(&[0xDF, 0x21], &offsets);
    let mut ef0002 = header;
    ef0002.extend_from_slice(&df21);
    for element in &rest {
        ef0002.extend_from_slice(element);
    }

    let ca_public = RsaPublicKey::from(&keys.ca);
    let ca_certificate = der::x509_certificate(
        &CertificateSpec { serial: 1, issuer: CA_NAME, subject: CA_NAME, subject_key: &ca_public, ca: true },
        &keys.ca,
    );
    let jpki_public = RsaPublicKey::from(&keys.jpki);
    let ef000a = der::x509_certificate(
        &CertificateSpec { serial: 2, issuer: CA_NAME, subject: JPKI_NAME, subject_key: &jpki_public, ca: false },
        &keys.ca,
    );
    let surface_public = RsaPublicKey::from(&keys.surface);
    let body = der::tlv(
        &[0x7F, 0x4E],
        &der::cat(&[
            // The issuer's and the subject's references, 16 bytes each, not TLV-coded
            // (docs/card-protocol.md).
            CVC_ISSUER,
            CVC_SUBJECT,
            &der::card_public_key(&surface_public),
        ]),
    );
    let ef0004 =
        der::tlv(&[0x7F, 0x21], &der::cat(&[&body, &der::tlv(&[0x5F, 0x37], &der::sign_sha256(&keys.ca, &body))]));
    let ef0005 = png::placeholder("MY NUMBER: NOT FOR TERMINALS");

    Ok(Files {
        ef0002: filled(ef0002),
        ef0004: filled(ef0004),
        ef0005: filled(ef0005),
        ef000a: filled(ef000a),
        photo: served_photo,
        ca_certificate,
    })
}

/// `bytes` followed by `FF` filler to a multiple of 256 bytes, at least 32 of it.
fn filled(mut bytes: Vec<u8>) -> Vec<u8> {
    let size = (bytes.len() + 32).div_ceil(256) * 256;
    bytes.resize(size, 0xFF);
    bytes
}

/// Another valid JP2 file made from `photo` when no forged photo is given: the
/// same picture with an XML box appended (ISO/IEC 15444-1 allows XML boxes
/// anywhere after the file-type box), so its bytes, and its hash, differ.
pub(crate) fn default_forgery(photo: &[u8]) -> Result<Vec<u8>, String> {
    const JP2_SIGNATURE: [u8; 12] = [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A];
    if !photo.starts_with(&JP2_SIGNATURE) {
        return Err("the photo is not a JP2 file: give --forged-photo for the forged-photo profile".into());
    }
    let payload = b"<honnin-cardsim>a photo the surface signature does not cover</honnin-cardsim>";
    let mut forged = photo.to_vec();
    forged.extend_from_slice(&((8 + payload.len()) as u32).to_be_bytes());
    forged.extend_from_slice(b"xml ");
    forged.extend_from_slice(payload);
    Ok(forged)
}
