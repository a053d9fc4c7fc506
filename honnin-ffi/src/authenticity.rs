//! honnin_authenticity: whether a card photo is the one its issuer wrote
//! (passive authentication of a passport's DG2, the My Number card-surface
//! signature and chip challenge), for a session's card and for a DG2 checked
//! against its EF.SOD.

use std::ffi::CStr;

use honnin::authenticity::{Anchor, Authenticity, ChipCheck, Failure as Why, Scheme, TrustAnchors};

use crate::args::{bytes, check_out};
use crate::handles::id;
use crate::session::honnin_session;
use crate::session::{lock, lookup};
use crate::status::{guard, honnin_status, Failure};

/// The result of an authenticity check.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_authenticity_status {
    /// No proof was checked (a plain image, or chip data without its security data).
    NotChecked = 0,
    /// The issuer's signature covers the photo.
    Verified = 1,
    /// The check failed: the photo is not to be trusted (never a match).
    Failed = 2,
}

/// Whether a card photo is the one its issuer wrote. Codes: `scheme` 0 none,
/// 1 passive authentication (ICAO EF.SOD), 2 My Number card-surface
/// signature; `failure` 0 none, then as `honnin_authenticity_failure_code`
/// names them (1 malformed, 2 unsupported_algorithm, 3 hash_mismatch,
/// 4 not_listed, 5 bad_signature, 6 untrusted_signer, 7 chip_not_authentic).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct honnin_authenticity {
    /// Not checked, verified or failed.
    pub status: honnin_authenticity_status,
    /// The proof checked (0 when not checked).
    pub scheme: u32,
    /// For verified: 1 when the signer chained to a trust anchor the caller supplied.
    pub anchored: u32,
    /// For verified: 1 when the chip answered a fresh challenge (a copy of the bytes cannot).
    pub chip_answered: u32,
    /// For failed: why (0 otherwise).
    pub failure: u32,
}

fn scheme(s: Scheme) -> u32 {
    match s {
        Scheme::PassiveAuthentication => 1,
        Scheme::MyNumberSurface => 2,
        _ => 99,
    }
}

fn failure(f: Why) -> u32 {
    match f {
        Why::Malformed => 1,
        Why::UnsupportedAlgorithm => 2,
        Why::HashMismatch => 3,
        Why::NotListed => 4,
        Why::BadSignature => 5,
        Why::UntrustedSigner => 6,
        Why::ChipNotAuthentic => 7,
        _ => 99,
    }
}

impl From<Authenticity> for honnin_authenticity {
    fn from(a: Authenticity) -> Self {
        let mut out = Self {
            status: honnin_authenticity_status::NotChecked,
            scheme: 0,
            anchored: 0,
            chip_answered: 0,
            failure: 0,
        };
        match a {
            Authenticity::NotChecked => {}
            Authenticity::Verified { scheme: s, anchor, chip } => {
                out.status = honnin_authenticity_status::Verified;
                out.scheme = scheme(s);
                out.anchored = u32::from(anchor == Anchor::Chained);
                out.chip_answered = u32::from(chip == ChipCheck::Answered);
            }
            Authenticity::Failed { scheme: s, failure: f } => {
                out.status = honnin_authenticity_status::Failed;
                out.scheme = scheme(s);
                out.failure = failure(f);
            }
        }
        out
    }
}

/// The stable text code of an authenticity failure number
/// ("hash_mismatch", ...); static, NUL-terminated, never NULL ("none" for 0,
/// "other" for an unknown number).
///
/// Thread safety: callable from any thread at any time.
#[no_mangle]
pub extern "C" fn honnin_authenticity_failure_code(failure: u32) -> *const std::ffi::c_char {
    let code: &'static CStr = match failure {
        0 => c"none",
        1 => c"malformed",
        2 => c"unsupported_algorithm",
        3 => c"hash_mismatch",
        4 => c"not_listed",
        5 => c"bad_signature",
        6 => c"untrusted_signer",
        7 => c"chip_not_authentic",
        _ => c"other",
    };
    code.as_ptr()
}

/// Checks a passport's (or other ICAO document's) EF.DG2 against its EF.SOD
/// (passive authentication): the DG2 hash in the LDS security object, and the
/// document signer's signature. `csca`/`csca_lens`/`csca_count` give the
/// CSCA certificates (X.509, DER or PEM) the document signer must chain to;
/// with `csca_count` 0 (the arrays may be NULL) no chain is checked and
/// `anchored` is 0. A failed check is not an error: `*out` says `FAILED` and why.
///
/// Thread safety: callable from any thread at any time.
///
/// # Safety
/// `dg2`/`dg2_len` and `sod`/`sod_len` must describe readable memory; with
/// `csca_count` > 0, `csca` and `csca_lens` must point to that many pointers
/// and lengths describing readable memory; `out` must point to a writable
/// `honnin_authenticity`.
#[no_mangle]
pub unsafe extern "C" fn honnin_passive_authentication(
    dg2: *const u8,
    dg2_len: usize,
    sod: *const u8,
    sod_len: usize,
    csca: *const *const u8,
    csca_lens: *const usize,
    csca_count: usize,
    out: *mut honnin_authenticity,
) -> honnin_status {
    guard(|| {
        // SAFETY: the caller promised readable memory.
        let dg2 = unsafe { bytes(dg2, dg2_len, "dg2") }?;
        // SAFETY: as above.
        let sod = unsafe { bytes(sod, sod_len, "sod") }?;
        check_out(out, "out")?;
        // SAFETY: forwarded from the caller.
        let anchors = unsafe { trust_anchors(csca, csca_lens, csca_count, "csca") }?;
        let result = honnin::authenticity::passive_authentication(dg2, sod, &anchors);
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = result.into() };
        Ok(())
    })
}

/// The certificates C passes as `count` pointers and lengths (none when
/// `count` is 0; the arrays may then be NULL).
///
/// # Safety
/// With `count` > 0, `certs` and `lens` must point to `count` pointers and
/// lengths, each describing readable memory.
pub(crate) unsafe fn trust_anchors(
    certs: *const *const u8,
    lens: *const usize,
    count: usize,
    name: &str,
) -> Result<TrustAnchors, Failure> {
    let mut anchors = TrustAnchors::none();
    if count == 0 {
        return Ok(anchors);
    }
    if certs.is_null() {
        return Err(Failure::null(name));
    }
    if lens.is_null() {
        return Err(Failure::null(&format!("{name}_lens")));
    }
    for i in 0..count {
        // SAFETY: the caller promised `count` readable pointers and lengths.
        let (cert, len) = unsafe { (*certs.add(i), *lens.add(i)) };
        // SAFETY: the caller promised readable memory.
        let cert = unsafe { bytes(cert, len, name) }?;
        anchors.add(cert)?;
    }
    Ok(anchors)
}

/// Writes the authenticity of the session's card photo to `*out`
/// (`NOT_CHECKED` while a session from a reader has not read it).
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle (any value is checked); `out` must point to a
/// writable `honnin_authenticity`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_authenticity(
    session: *const honnin_session,
    out: *mut honnin_authenticity,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(out, "out")?;
        let authenticity = lock(&session)?.session().card_authenticity();
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = authenticity.into() };
        Ok(())
    })
}
