//! ECDSA verification on a prime curve given by explicit domain parameters
//! (X9.62 / SEC 1 `ECParameters` inside a certificate's public key), as some
//! document signers use (the BSI specimen signs with brainpoolP224r1 spelled
//! out this way). No RustCrypto curve crate takes parameters at run time, so
//! this module does the arithmetic itself with `num-bigint-dig` (the big
//! integers `rsa` uses): short Weierstrass `y² = x³ + ax + b` over GF(p),
//! Jacobian coordinates, double-and-add.
//!
//! Verification only, on public data, so nothing here needs to run in
//! constant time. The parameters are untrusted and checked before any
//! signature is: p prime of 192 to 521 bits, a and b below p, a non-singular
//! curve, the base point on it, the order n prime and at least 160 bits,
//! n·h within Hasse's bound of p + 1, n·G the point at infinity; the public
//! point on the curve, not infinity, and of order n. The work is bounded by
//! the field size (a few scalar multiplications of at most 521 bits).

use num_bigint_dig::prime::probably_prime;
use num_bigint_dig::BigUint;

use super::der::{self, oid, El};
use super::verdict::Failure;

const MIN_FIELD_BITS: usize = 192;
const MAX_FIELD_BITS: usize = 521;
const MIN_ORDER_BITS: usize = 160;
const MAX_COFACTOR: u32 = 4;
/// Miller-Rabin rounds (with a Lucas test) for p and n.
const PRIME_ROUNDS: usize = 20;

/// A point in affine coordinates.
#[derive(Clone, PartialEq, Eq)]
struct Affine {
    x: BigUint,
    y: BigUint,
}

/// A point in Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity.
#[derive(Clone)]
struct Jacobian {
    x: BigUint,
    y: BigUint,
    z: BigUint,
}

/// A curve y² = x³ + ax + b over GF(p) with a base point G of prime order n.
struct Curve {
    p: BigUint,
    a: BigUint,
    b: BigUint,
    n: BigUint,
    g: Affine,
    field_bytes: usize,
}

/// An ECDSA public key on a curve given by explicit parameters, checked.
pub(super) struct ExplicitKey {
    curve: Curve,
    q: Affine,
}

impl std::fmt::Debug for ExplicitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExplicitKey({}-bit prime field)", self.curve.p.bits())
    }
}

/// An ECDSA signature (r, s).
pub(super) struct EcSignature {
    r: BigUint,
    s: BigUint,
}

impl EcSignature {
    /// A DER `SEQUENCE { r INTEGER, s INTEGER }` (X9.62), nothing after it.
    pub(super) fn der(bytes: &[u8]) -> Option<Self> {
        let sequence = der::single(bytes).ok().filter(|e| e.tag == der::SEQUENCE)?;
        let mut inner = sequence.inner().ok()?;
        let r = inner.expect(der::INTEGER).ok()?.unsigned().ok()?;
        let s = inner.expect(der::INTEGER).ok()?.unsigned().ok()?;
        inner.finish().ok()?;
        if r.len() > MAX_FIELD_BITS.div_ceil(8) + 1 || s.len() > MAX_FIELD_BITS.div_ceil(8) + 1 {
            return None;
        }
        Some(Self { r: BigUint::from_bytes_be(r), s: BigUint::from_bytes_be(s) })
    }

    /// r and s side by side, each half of the bytes (BSI TR-03111 plain format).
    pub(super) fn plain(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(2) || bytes.len() > 2 * MAX_FIELD_BITS.div_ceil(8) {
            return None;
        }
        let (r, s) = bytes.split_at(bytes.len() / 2);
        Some(Self { r: BigUint::from_bytes_be(r), s: BigUint::from_bytes_be(s) })
    }
}

fn is_zero(x: &BigUint) -> bool {
    x.bits() == 0
}

fn one() -> BigUint {
    BigUint::from(1u32)
}

impl Curve {
    /// Reads and checks `ECParameters` (an explicit SEQUENCE).
    fn from_parameters(parameters: &El<'_>) -> Result<Self, Failure> {
        let mut inner = parameters.inner()?;
        let version = inner.expect(der::INTEGER)?.small()?;
        if !(1..=3).contains(&version) {
            return Err(Failure::Malformed);
        }
        let mut field = inner.expect(der::SEQUENCE)?.inner()?;
        if field.expect(der::OID)?.oid()? != oid::PRIME_FIELD {
            // Characteristic-two fields are not supported.
            return Err(Failure::UnsupportedAlgorithm);
        }
        let p = BigUint::from_bytes_be(field.expect(der::INTEGER)?.unsigned()?);
        field.finish()?;
        let mut coefficients = inner.expect(der::SEQUENCE)?.inner()?;
        let a = coefficients.expect(der::OCTET_STRING)?.octets()?;
        let b = coefficients.expect(der::OCTET_STRING)?.octets()?;
        // The optional seed the curve was generated from is not needed.
        coefficients.optional(der::BIT_STRING)?;
        coefficients.finish()?;
        let base = inner.expect(der::OCTET_STRING)?.octets()?;
        let n = BigUint::from_bytes_be(inner.expect(der::INTEGER)?.unsigned()?);
        let h = inner.optional(der::INTEGER)?.map(|h| h.small()).transpose()?;
        inner.finish()?;

        Self::checked(p, a, b, base, n, h)
    }

    /// A curve from its parameters, checked (see the module's description).
    fn checked(p: BigUint, a: &[u8], b: &[u8], base: &[u8], n: BigUint, h: Option<u32>) -> Result<Self, Failure> {
        let bits = p.bits();
        if !(MIN_FIELD_BITS..=MAX_FIELD_BITS).contains(&bits) {
            return Err(Failure::UnsupportedAlgorithm);
        }
        let field_bytes = bits.div_ceil(8);
        if a.len() > field_bytes || b.len() > field_bytes {
            return Err(Failure::Malformed);
        }
        let (a, b) = (BigUint::from_bytes_be(a), BigUint::from_bytes_be(b));
        if p.bits() < 2 || is_zero(&(&p % 2u32)) || a >= p || b >= p || !probably_prime(&p, PRIME_ROUNDS) {
            return Err(Failure::Malformed);
        }
        let mut curve = Curve { p, a, b, n, g: Affine { x: BigUint::default(), y: BigUint::default() }, field_bytes };
        // Non-singular: 4a³ + 27b² ≠ 0 (mod p).
        let a3 = curve.mul(&curve.mul(&curve.a, &curve.a), &curve.a);
        let b2 = curve.mul(&curve.b, &curve.b);
        let discriminant = (a3 * 4u32 + b2 * 27u32) % &curve.p;
        if is_zero(&discriminant) {
            return Err(Failure::Malformed);
        }
        curve.g = curve.point(base)?;
        let n = &curve.n;
        if n.bits() < MIN_ORDER_BITS || n.bits() > bits + 1 || *n == curve.p || !probably_prime(n, PRIME_ROUNDS) {
            return Err(Failure::Malformed);
        }
        match h {
            Some(h) if !(1..=MAX_COFACTOR).contains(&h) => return Err(Failure::Malformed),
            Some(h) => {
                // Hasse: |n·h − (p + 1)| ≤ 2√p, that is (n·h − p − 1)² ≤ 4p.
                let nh = n * h;
                let p1 = &curve.p + one();
                let difference = if nh >= p1 { nh - p1 } else { p1 - nh };
                if &difference * &difference > &curve.p * 4u32 {
                    return Err(Failure::Malformed);
                }
            }
            // Without a cofactor, the order must be about the field's size.
            None if n.bits() + 2 < bits => return Err(Failure::Malformed),
            None => {}
        }
        if !curve.is_infinity(&curve.multiply(&curve.g, n)) {
            return Err(Failure::Malformed);
        }
        Ok(curve)
    }

    fn add_mod(&self, x: &BigUint, y: &BigUint) -> BigUint {
        (x + y) % &self.p
    }

    fn sub_mod(&self, x: &BigUint, y: &BigUint) -> BigUint {
        if x >= y {
            x - y
        } else {
            (x + &self.p) - y
        }
    }

    fn mul(&self, x: &BigUint, y: &BigUint) -> BigUint {
        (x * y) % &self.p
    }

    /// An uncompressed point `04 ‖ X ‖ Y` on the curve, not infinity.
    fn point(&self, bytes: &[u8]) -> Result<Affine, Failure> {
        match bytes.split_first() {
            Some((0x04, xy)) if xy.len() == 2 * self.field_bytes => {
                let (x, y) = xy.split_at(self.field_bytes);
                let point = Affine { x: BigUint::from_bytes_be(x), y: BigUint::from_bytes_be(y) };
                if point.x >= self.p || point.y >= self.p || !self.on_curve(&point) {
                    return Err(Failure::Malformed);
                }
                Ok(point)
            }
            // Compressed points would need a square root mod p.
            Some((0x02 | 0x03, _)) => Err(Failure::UnsupportedAlgorithm),
            _ => Err(Failure::Malformed),
        }
    }

    fn on_curve(&self, point: &Affine) -> bool {
        let left = self.mul(&point.y, &point.y);
        let x3 = self.mul(&self.mul(&point.x, &point.x), &point.x);
        let right = self.add_mod(&self.add_mod(&x3, &self.mul(&self.a, &point.x)), &self.b);
        left == right
    }

    fn infinity() -> Jacobian {
        Jacobian { x: one(), y: one(), z: BigUint::default() }
    }

    fn is_infinity(&self, point: &Jacobian) -> bool {
        is_zero(&point.z)
    }

    fn lift(point: &Affine) -> Jacobian {
        Jacobian { x: point.x.clone(), y: point.y.clone(), z: one() }
    }

    /// The affine form of a finite point (Z inverted by Fermat: p is prime).
    fn affine(&self, point: &Jacobian) -> Affine {
        let z_inv = point.z.modpow(&(&self.p - 2u32), &self.p);
        let z2 = self.mul(&z_inv, &z_inv);
        let z3 = self.mul(&z2, &z_inv);
        Affine { x: self.mul(&point.x, &z2), y: self.mul(&point.y, &z3) }
    }

    fn double(&self, point: &Jacobian) -> Jacobian {
        if self.is_infinity(point) || is_zero(&point.y) {
            return Self::infinity();
        }
        let xx = self.mul(&point.x, &point.x);
        let yy = self.mul(&point.y, &point.y);
        let yyyy = self.mul(&yy, &yy);
        let zz = self.mul(&point.z, &point.z);
        let s = (self.mul(&point.x, &yy) * 4u32) % &self.p;
        let m = self.add_mod(&((xx * 3u32) % &self.p), &self.mul(&self.a, &self.mul(&zz, &zz)));
        let x3 = self.sub_mod(&self.mul(&m, &m), &((&s * 2u32) % &self.p));
        let y3 = self.sub_mod(&self.mul(&m, &self.sub_mod(&s, &x3)), &((yyyy * 8u32) % &self.p));
        let z3 = (self.mul(&point.y, &point.z) * 2u32) % &self.p;
        Jacobian { x: x3, y: y3, z: z3 }
    }

    fn add(&self, p1: &Jacobian, p2: &Jacobian) -> Jacobian {
        if self.is_infinity(p1) {
            return p2.clone();
        }
        if self.is_infinity(p2) {
            return p1.clone();
        }
        let z1z1 = self.mul(&p1.z, &p1.z);
        let z2z2 = self.mul(&p2.z, &p2.z);
        let u1 = self.mul(&p1.x, &z2z2);
        let u2 = self.mul(&p2.x, &z1z1);
        let s1 = self.mul(&self.mul(&p1.y, &p2.z), &z2z2);
        let s2 = self.mul(&self.mul(&p2.y, &p1.z), &z1z1);
        if u1 == u2 {
            return if s1 == s2 { self.double(p1) } else { Self::infinity() };
        }
        let h = self.sub_mod(&u2, &u1);
        let r = self.sub_mod(&s2, &s1);
        let hh = self.mul(&h, &h);
        let hhh = self.mul(&hh, &h);
        let v = self.mul(&u1, &hh);
        let x3 = self.sub_mod(&self.sub_mod(&self.mul(&r, &r), &hhh), &((&v * 2u32) % &self.p));
        let y3 = self.sub_mod(&self.mul(&r, &self.sub_mod(&v, &x3)), &self.mul(&s1, &hhh));
        let z3 = self.mul(&self.mul(&p1.z, &p2.z), &h);
        Jacobian { x: x3, y: y3, z: z3 }
    }

    /// k·P by double-and-add over k's bits, most significant first.
    fn multiply(&self, point: &Affine, k: &BigUint) -> Jacobian {
        let base = Self::lift(point);
        let mut acc = Self::infinity();
        for byte in k.to_bytes_be() {
            for bit in (0..8).rev() {
                acc = self.double(&acc);
                if (byte >> bit) & 1 == 1 {
                    acc = self.add(&acc, &base);
                }
            }
        }
        acc
    }
}

/// 1.3.36.3.3.2.8.1.1.7, brainpoolP256r1 (RFC 5639), the named curve many
/// document signers use; its parameters go through the same checks.
pub(super) const BRAINPOOL_P256R1: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07];

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).filter_map(|i| text.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

impl Curve {
    /// brainpoolP256r1's parameters (RFC 5639, section 3.4).
    fn brainpool_p256r1() -> Result<Self, Failure> {
        let p = BigUint::from_bytes_be(&hex("A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377"));
        let a = hex("7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9");
        let b = hex("26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6");
        let g = hex(concat!(
            "04",
            "8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
            "547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997"
        ));
        let n = BigUint::from_bytes_be(&hex("A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"));
        Self::checked(p, &a, &b, &g, n, Some(1))
    }
}

impl ExplicitKey {
    /// The key of a SubjectPublicKeyInfo with explicit `ECParameters` and the
    /// encoded public point.
    pub(super) fn new(parameters: &El<'_>, point: &[u8]) -> Result<Self, Failure> {
        Self::on(Curve::from_parameters(parameters)?, point)
    }

    /// A key on a named curve computed here (brainpoolP256r1).
    pub(super) fn named(id: &[u8], point: &[u8]) -> Result<Self, Failure> {
        match id {
            BRAINPOOL_P256R1 => Self::on(Curve::brainpool_p256r1()?, point),
            _ => Err(Failure::UnsupportedAlgorithm),
        }
    }

    fn on(curve: Curve, point: &[u8]) -> Result<Self, Failure> {
        let q = curve.point(point)?;
        if !curve.is_infinity(&curve.multiply(&q, &curve.n)) {
            return Err(Failure::Malformed);
        }
        Ok(Self { curve, q })
    }

    /// Whether `signature` is this key's ECDSA signature of a message whose hash is `hashed`.
    pub(super) fn verify_prehash(&self, hashed: &[u8], signature: &EcSignature) -> bool {
        let curve = &self.curve;
        let n = &curve.n;
        let (r, s) = (&signature.r, &signature.s);
        if is_zero(r) || is_zero(s) || r >= n || s >= n {
            return false;
        }
        // The hash's leftmost bits, as many as n has.
        let mut e = BigUint::from_bytes_be(hashed);
        let hash_bits = hashed.len() * 8;
        if hash_bits > n.bits() {
            e >>= hash_bits - n.bits();
        }
        let w = s.modpow(&(n - 2u32), n);
        let u1 = (e * &w) % n;
        let u2 = (r * &w) % n;
        let sum = curve.add(&curve.multiply(&curve.g, &u1), &curve.multiply(&self.q, &u2));
        if curve.is_infinity(&sum) {
            return false;
        }
        let x = curve.affine(&sum).x % n;
        x == *r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    /// NIST P-256's parameters, spelled out as an explicit ECParameters SEQUENCE.
    fn p256_parameters(order_tweak: u8) -> Vec<u8> {
        let hex = |s: &str| -> Vec<u8> {
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
        };
        let tlv = |tag: u8, value: &[u8]| crate::card::build::tlv(u32::from(tag), value);
        let int = |v: Vec<u8>| {
            let mut v = v;
            if v[0] & 0x80 != 0 {
                v.insert(0, 0);
            }
            tlv(0x02, &v)
        };
        let p = hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
        let a = hex("ffffffff00000001000000000000000000000000fffffffffffffffffffffffc");
        let b = hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b");
        let g = hex(concat!(
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
        ));
        let mut n = hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
        n[31] ^= order_tweak;
        let field = tlv(0x30, &[tlv(0x06, oid::PRIME_FIELD), int(p)].concat());
        let curve = tlv(0x30, &[tlv(0x04, &a), tlv(0x04, &b)].concat());
        tlv(0x30, &[tlv(0x02, &[1]), field, curve, tlv(0x04, &g), int(n), tlv(0x02, &[1])].concat())
    }

    fn explicit(parameters: &[u8], point: &[u8]) -> Result<ExplicitKey, Failure> {
        ExplicitKey::new(&der::single(parameters).unwrap(), point)
    }

    #[test]
    fn p256_signatures_made_by_the_p256_crate_verify_with_explicit_parameters() {
        let signing = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = signing.verifying_key().to_encoded_point(false);
        let key = explicit(&p256_parameters(0), point.as_bytes()).unwrap();
        for message in [&b"LDS security object"[..], b"another message"] {
            let hashed = super::super::signature::Hash::Sha256.digest(&[message]);
            let signature: p256::ecdsa::Signature = signing.sign_prehash(&hashed).unwrap();
            let der_bytes = signature.to_der();
            assert!(key.verify_prehash(&hashed, &EcSignature::der(der_bytes.as_bytes()).unwrap()));
            assert!(key.verify_prehash(&hashed, &EcSignature::plain(&signature.to_bytes()).unwrap()));
            let mut other = hashed.clone();
            other[0] ^= 1;
            assert!(!key.verify_prehash(&other, &EcSignature::der(der_bytes.as_bytes()).unwrap()));
            // SHA-1-sized hashes (shorter than n) are used as they are.
            let short = &hashed[..20];
            let signature: p256::ecdsa::Signature = signing.sign_prehash(short).unwrap();
            assert!(key.verify_prehash(short, &EcSignature::plain(&signature.to_bytes()).unwrap()));
        }
    }

    #[test]
    fn brainpool_p256r1_passes_the_parameter_checks_and_verifies_its_own_signatures() {
        let curve = Curve::brainpool_p256r1().unwrap();
        let n = curve.n.clone();
        // A key and a signature made with the curve arithmetic (d, k fixed).
        let d = BigUint::from(0x1234_5678u32) * BigUint::from(0x9ABC_DEF1u32);
        let q = curve.affine(&curve.multiply(&curve.g, &d));
        let encode = |x: &BigUint| {
            let bytes = x.to_bytes_be();
            [vec![0; 32 - bytes.len()], bytes].concat()
        };
        let point = [vec![4], encode(&q.x), encode(&q.y)].concat();
        let key = ExplicitKey::named(BRAINPOOL_P256R1, &point).unwrap();
        let hashed = super::super::signature::Hash::Sha256.digest(&[b"brainpool"]);
        let e = BigUint::from_bytes_be(&hashed);
        let k = BigUint::from(0xC0FF_EE11u32);
        let r = curve.affine(&curve.multiply(&curve.g, &k)).x % &n;
        let k_inv = k.modpow(&(&n - 2u32), &n);
        let s = (k_inv * ((e + &r * &d) % &n)) % &n;
        assert!(key.verify_prehash(&hashed, &EcSignature { r: r.clone(), s: s.clone() }));
        assert!(!key.verify_prehash(&hashed, &EcSignature { r, s: (s + 1u32) % &n }));
        assert_eq!(ExplicitKey::named(&[0x2B, 0x24], &point).unwrap_err(), Failure::UnsupportedAlgorithm);
    }

    #[test]
    fn bad_parameters_points_and_signature_ranges_are_refused() {
        let signing = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let point = signing.verifying_key().to_encoded_point(false);
        // An order that is not the base point's.
        assert!(explicit(&p256_parameters(2), point.as_bytes()).is_err());
        // A point off the curve, a compressed point, infinity.
        let mut off = point.as_bytes().to_vec();
        off[64] ^= 1;
        assert_eq!(explicit(&p256_parameters(0), &off).unwrap_err(), Failure::Malformed);
        let compressed = signing.verifying_key().to_encoded_point(true);
        assert_eq!(explicit(&p256_parameters(0), compressed.as_bytes()).unwrap_err(), Failure::UnsupportedAlgorithm);
        assert!(explicit(&p256_parameters(0), &[0x00]).is_err());
        // r or s zero or at least n.
        let key = explicit(&p256_parameters(0), point.as_bytes()).unwrap();
        let n = key.curve.n.clone();
        for (r, s) in [(BigUint::default(), one()), (one(), BigUint::default()), (n.clone(), one()), (one(), n)] {
            assert!(!key.verify_prehash(&[1; 32], &EcSignature { r, s }));
        }
        assert!(EcSignature::plain(&[1, 2, 3]).is_none());
        assert!(EcSignature::der(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_none());
    }
}
