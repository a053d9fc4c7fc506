//! Hashes, public keys and signature verification: RSA (PKCS #1 v1.5 and
//! PSS) through the `rsa` crate, ECDSA on NIST P-256 and P-384 through `p256`
//! and `p384`, and ECDSA on a prime curve given by explicit parameters
//! ([`super::explicit_curve`]). Verification only: no private key exists here.

use rsa::{BigUint, Pkcs1v15Sign, Pss, RsaPublicKey};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::der::{self, oid, El};
use super::explicit_curve::{EcSignature, ExplicitKey, BRAINPOOL_P256R1};
use super::verdict::Failure;

/// The smallest RSA modulus accepted from X.509 security data, in bits.
pub(super) const MIN_RSA_BITS: usize = 1024;
/// The largest RSA modulus accepted, in bits (bounds the work per signature).
pub(super) const MAX_RSA_BITS: usize = 4096;
/// The longest PSS salt accepted, in bytes.
const MAX_PSS_SALT: usize = 512;

/// A hash function security data names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The hash an OID names, if honnin computes it.
    pub(super) fn from_oid(id: &[u8]) -> Option<Self> {
        Some(match id {
            oid::SHA1 => Hash::Sha1,
            oid::SHA224 => Hash::Sha224,
            oid::SHA256 => Hash::Sha256,
            oid::SHA384 => Hash::Sha384,
            oid::SHA512 => Hash::Sha512,
            _ => return None,
        })
    }

    /// The hash of an AlgorithmIdentifier (parameters absent or NULL).
    pub(super) fn from_algorithm(element: &El<'_>) -> Result<Self, Failure> {
        let (id, parameters) = der::algorithm(element)?;
        if !der::absent_or_null(&parameters) {
            return Err(Failure::Malformed);
        }
        Self::from_oid(id).ok_or(Failure::UnsupportedAlgorithm)
    }

    /// The digest of `parts`, concatenated.
    pub(super) fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            hasher.finalize().to_vec()
        }
        match self {
            Hash::Sha1 => run::<Sha1>(parts),
            Hash::Sha224 => run::<Sha224>(parts),
            Hash::Sha256 => run::<Sha256>(parts),
            Hash::Sha384 => run::<Sha384>(parts),
            Hash::Sha512 => run::<Sha512>(parts),
        }
    }

    /// The digest's length in bytes.
    pub(super) fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha224 => 28,
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    fn pkcs1v15(self) -> Pkcs1v15Sign {
        match self {
            Hash::Sha1 => Pkcs1v15Sign::new::<Sha1>(),
            Hash::Sha224 => Pkcs1v15Sign::new::<Sha224>(),
            Hash::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
            Hash::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
            Hash::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
        }
    }

    fn pss(self, salt: usize) -> Pss {
        match self {
            Hash::Sha1 => Pss::new_with_salt::<Sha1>(salt),
            Hash::Sha224 => Pss::new_with_salt::<Sha224>(salt),
            Hash::Sha256 => Pss::new_with_salt::<Sha256>(salt),
            Hash::Sha384 => Pss::new_with_salt::<Sha384>(salt),
            Hash::Sha512 => Pss::new_with_salt::<Sha512>(salt),
        }
    }
}

/// How a signature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    /// RSASSA-PKCS1-v1_5.
    Pkcs1v15(Hash),
    /// RSASSA-PSS with MGF1 over the same hash, and this salt length.
    Pss { hash: Hash, salt: usize },
    /// ECDSA, the signature a DER SEQUENCE of r and s (X9.62) or, `plain`,
    /// r and s side by side (BSI TR-03111).
    Ecdsa { hash: Hash, plain: bool },
}

impl Scheme {
    /// The hash the signature is made over.
    pub(super) fn hash(self) -> Hash {
        match self {
            Scheme::Pkcs1v15(hash) | Scheme::Pss { hash, .. } | Scheme::Ecdsa { hash, .. } => hash,
        }
    }

    /// The scheme of a signature AlgorithmIdentifier. `rsaEncryption` names
    /// no hash: `digest` (the signer's digest algorithm) gives it.
    pub(super) fn from_algorithm(element: &El<'_>, digest: Option<Hash>) -> Result<Self, Failure> {
        let (id, parameters) = der::algorithm(element)?;
        let plain_rsa = |hash: Hash| {
            if der::absent_or_null(&parameters) {
                Ok(Scheme::Pkcs1v15(hash))
            } else {
                Err(Failure::Malformed)
            }
        };
        match id {
            oid::RSA_ENCRYPTION => plain_rsa(digest.ok_or(Failure::UnsupportedAlgorithm)?),
            oid::SHA1_WITH_RSA => plain_rsa(Hash::Sha1),
            oid::SHA224_WITH_RSA => plain_rsa(Hash::Sha224),
            oid::SHA256_WITH_RSA => plain_rsa(Hash::Sha256),
            oid::SHA384_WITH_RSA => plain_rsa(Hash::Sha384),
            oid::SHA512_WITH_RSA => plain_rsa(Hash::Sha512),
            oid::RSASSA_PSS => pss_parameters(parameters),
            oid::ECDSA_SHA1 => Ok(Scheme::Ecdsa { hash: Hash::Sha1, plain: false }),
            [prefix @ .., last] if prefix == oid::ECDSA_SHA2_PREFIX => {
                let hash = match last {
                    1 => Hash::Sha224,
                    2 => Hash::Sha256,
                    3 => Hash::Sha384,
                    4 => Hash::Sha512,
                    _ => return Err(Failure::UnsupportedAlgorithm),
                };
                Ok(Scheme::Ecdsa { hash, plain: false })
            }
            [prefix @ .., last] if prefix == oid::ECDSA_PLAIN_PREFIX => {
                let hash = match last {
                    1 => Hash::Sha1,
                    2 => Hash::Sha224,
                    3 => Hash::Sha256,
                    4 => Hash::Sha384,
                    5 => Hash::Sha512,
                    _ => return Err(Failure::UnsupportedAlgorithm),
                };
                Ok(Scheme::Ecdsa { hash, plain: true })
            }
            _ => Err(Failure::UnsupportedAlgorithm),
        }
    }
}

/// RSASSA-PSS-params: `[0]` hash (default SHA-1), `[1]` mask generation
/// (default MGF1 with SHA-1), `[2]` salt length (default 20), `[3]` trailer
/// field (must be 1). The MGF1 hash must be the message hash.
fn pss_parameters(parameters: Option<El<'_>>) -> Result<Scheme, Failure> {
    let parameters = parameters.ok_or(Failure::Malformed)?;
    if parameters.tag != der::SEQUENCE {
        return Err(Failure::Malformed);
    }
    let mut inner = parameters.inner()?;
    let mut hash = Hash::Sha1;
    let mut mgf_hash = Hash::Sha1;
    let mut salt = 20usize;
    if let Some(tagged) = inner.optional(der::CONTEXT_0)? {
        hash = Hash::from_algorithm(&single_inside(&tagged)?)?;
    }
    if let Some(tagged) = inner.optional(der::CONTEXT_1)? {
        let (id, mgf_parameters) = der::algorithm(&single_inside(&tagged)?)?;
        if id != oid::MGF1 {
            return Err(Failure::UnsupportedAlgorithm);
        }
        mgf_hash = Hash::from_algorithm(&mgf_parameters.ok_or(Failure::Malformed)?)?;
    }
    if let Some(tagged) = inner.optional(0xA2)? {
        let value = single_inside(&tagged)?.small()?;
        salt = usize::try_from(value).map_err(|_| Failure::Malformed)?;
    }
    if let Some(tagged) = inner.optional(0xA3)? {
        if single_inside(&tagged)?.small()? != 1 {
            return Err(Failure::UnsupportedAlgorithm);
        }
    }
    inner.finish()?;
    if mgf_hash != hash {
        return Err(Failure::UnsupportedAlgorithm);
    }
    if salt > MAX_PSS_SALT {
        return Err(Failure::Malformed);
    }
    Ok(Scheme::Pss { hash, salt })
}

/// The one element inside an explicitly tagged one.
fn single_inside<'a>(tagged: &El<'a>) -> Result<El<'a>, Failure> {
    let mut inner = tagged.inner()?;
    let element = inner.next_element()?;
    inner.finish()?;
    Ok(element)
}

/// A public key that verifies signatures.
#[derive(Debug)]
pub(super) enum PublicKey {
    Rsa(RsaPublicKey),
    P256(Box<p256::ecdsa::VerifyingKey>),
    P384(Box<p384::ecdsa::VerifyingKey>),
    Explicit(Box<ExplicitKey>),
}

impl PublicKey {
    /// The key of an X.509 SubjectPublicKeyInfo: RSA (`rsaEncryption` or
    /// `id-RSASSA-PSS`), or EC (`id-ecPublicKey`) on P-256, P-384,
    /// brainpoolP256r1 or a prime curve given by explicit parameters.
    pub(super) fn from_spki(spki: &El<'_>) -> Result<Self, Failure> {
        if spki.tag != der::SEQUENCE {
            return Err(Failure::Malformed);
        }
        let mut inner = spki.inner()?;
        let algorithm = inner.expect(der::SEQUENCE)?;
        let key = inner.expect(der::BIT_STRING)?.bits()?;
        inner.finish()?;
        let (id, parameters) = der::algorithm(&algorithm)?;
        match id {
            oid::RSA_ENCRYPTION | oid::RSASSA_PSS => {
                let mut fields = der::single(key)?.inner()?;
                let modulus = fields.expect(der::INTEGER)?.unsigned()?;
                let exponent = fields.expect(der::INTEGER)?.unsigned()?;
                fields.finish()?;
                rsa_key(modulus, exponent, MIN_RSA_BITS)
            }
            oid::EC_PUBLIC_KEY => {
                let parameters = parameters.ok_or(Failure::Malformed)?;
                match parameters.tag {
                    der::OID => match parameters.oid()? {
                        oid::P256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                            .map(|k| PublicKey::P256(Box::new(k)))
                            .map_err(|_| Failure::Malformed),
                        oid::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                            .map(|k| PublicKey::P384(Box::new(k)))
                            .map_err(|_| Failure::Malformed),
                        BRAINPOOL_P256R1 => {
                            ExplicitKey::named(BRAINPOOL_P256R1, key).map(|k| PublicKey::Explicit(Box::new(k)))
                        }
                        _ => Err(Failure::UnsupportedAlgorithm),
                    },
                    der::SEQUENCE => ExplicitKey::new(&parameters, key).map(|k| PublicKey::Explicit(Box::new(k))),
                    // implicitlyCA (NULL): the curve would come from elsewhere.
                    _ => Err(Failure::UnsupportedAlgorithm),
                }
            }
            _ => Err(Failure::UnsupportedAlgorithm),
        }
    }

    /// Verifies `signature` over `message` with this key under `scheme`.
    pub(super) fn verify(&self, scheme: Scheme, message: &[u8], signature: &[u8]) -> Result<(), Failure> {
        let hashed = scheme.hash().digest(&[message]);
        self.verify_prehash(scheme, &hashed, signature)
    }

    /// Verifies `signature` over a message whose hash (under `scheme`'s hash) is `hashed`.
    pub(super) fn verify_prehash(&self, scheme: Scheme, hashed: &[u8], signature: &[u8]) -> Result<(), Failure> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        if hashed.len() != scheme.hash().len() {
            return Err(Failure::Malformed);
        }
        let ok = match (self, scheme) {
            (PublicKey::Rsa(key), Scheme::Pkcs1v15(hash)) => key.verify(hash.pkcs1v15(), hashed, signature).is_ok(),
            (PublicKey::Rsa(key), Scheme::Pss { hash, salt }) => key.verify(hash.pss(salt), hashed, signature).is_ok(),
            (PublicKey::P256(key), Scheme::Ecdsa { plain, .. }) => {
                let parsed = if plain {
                    p256::ecdsa::Signature::from_slice(signature)
                } else {
                    p256::ecdsa::Signature::from_der(signature)
                };
                parsed.is_ok_and(|s| key.verify_prehash(hashed, &s).is_ok())
            }
            (PublicKey::P384(key), Scheme::Ecdsa { plain, .. }) => {
                let parsed = if plain {
                    p384::ecdsa::Signature::from_slice(signature)
                } else {
                    p384::ecdsa::Signature::from_der(signature)
                };
                parsed.is_ok_and(|s| key.verify_prehash(hashed, &s).is_ok())
            }
            (PublicKey::Explicit(key), Scheme::Ecdsa { plain, .. }) => {
                let parsed = if plain { EcSignature::plain(signature) } else { EcSignature::der(signature) };
                parsed.is_some_and(|s| key.verify_prehash(hashed, &s))
            }
            // A key of one kind named with a scheme of another.
            _ => return Err(Failure::UnsupportedAlgorithm),
        };
        if ok {
            Ok(())
        } else {
            Err(Failure::BadSignature)
        }
    }
}

/// An RSA public key from its big-endian modulus and exponent: the modulus of
/// `min_bits` to [`MAX_RSA_BITS`] bits, the exponent odd and at least 3.
pub(super) fn rsa_key(modulus: &[u8], exponent: &[u8], min_bits: usize) -> Result<PublicKey, Failure> {
    let n = BigUint::from_bytes_be(modulus);
    let e = BigUint::from_bytes_be(exponent);
    let bits = n.bits();
    if !(min_bits..=MAX_RSA_BITS).contains(&bits) || e.bits() < 2 || exponent.last().is_none_or(|b| b & 1 == 0) {
        return Err(Failure::Malformed);
    }
    // The crate checks the rest (odd modulus, exponent below it and small enough).
    RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS).map(PublicKey::Rsa).map_err(|_| Failure::Malformed)
}
