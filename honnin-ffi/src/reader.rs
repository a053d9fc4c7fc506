//! honnin_reader: a PC/SC card reader, and sessions that take their card from
//! it: the PIN as a third method, the chip photo read with 照合番号B
//! (feature `reader`, on by default; needs pcsc-lite).
//!
//! The connection to pcscd is made by `honnin_reader_open`: a process that
//! sandboxes itself (`honnin_harden_process` does not; the CLI's sandbox
//! does) opens the reader first, then forbids new sockets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use honnin::counter::{CardLink, Counter, Step};
use honnin::error::ReaderError;
use honnin::reader::{CardPin, PinEntry, ReaderContext, TryPolicy, VerificationNumberB};
use honnin::{Error, Limits};

use crate::args::{check_out, text};
use crate::engine::honnin_engine;
use crate::handles::{self, id, issue, Object};
use crate::session::{honnin_session, honnin_session_options, honnin_step, lock, lookup, SessionBox};
use crate::status::{guard, honnin_status, Failure};

/// A PC/SC card reader. Opaque; a handle, never dereferenced.
pub struct honnin_reader {
    _private: [u8; 0],
}

/// A reader handle's kind, in words.
const READER: &str = "a card reader";

struct ReaderBox {
    context: ReaderContext,
    name: String,
}

/// How many tries honnin leaves on a card's counters; `honnin_try_policy_default`
/// fills in the defaults (3 of 照合番号B's, 2 of the PIN's 3).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct honnin_try_policy {
    /// Tries of 照合番号B that must remain even after a wrong value (1 to 9).
    pub min_tries_left: u32,
    /// The fewest PIN tries at which a PIN is still sent (2 or 3: the last try stays with the holder).
    pub min_pin_tries_left: u32,
}

impl honnin_try_policy {
    fn policy(&self) -> Result<TryPolicy, Failure> {
        let narrow = |v: u32, range: std::ops::RangeInclusive<u32>, name: &str| {
            if range.contains(&v) {
                Ok(v as u8)
            } else {
                Err(Failure::invalid(format!("{name} from {} to {}, got {v}", range.start(), range.end())))
            }
        };
        Ok(TryPolicy {
            min_tries_left: narrow(self.min_tries_left, 1..=9, "min_tries_left")?,
            min_pin_tries_left: narrow(self.min_pin_tries_left, 2..=3, "min_pin_tries_left")?,
        })
    }
}

/// Fills `*out` with the default try policy.
///
/// Thread safety: callable from any thread at any time.
///
/// # Safety
/// `out` must point to a writable `honnin_try_policy`.
#[no_mangle]
pub unsafe extern "C" fn honnin_try_policy_default(out: *mut honnin_try_policy) -> honnin_status {
    guard(|| {
        check_out(out, "out")?;
        let d = TryPolicy::default();
        let policy = honnin_try_policy {
            min_tries_left: u32::from(d.min_tries_left),
            min_pin_tries_left: u32::from(d.min_pin_tries_left),
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *out = policy };
        Ok(())
    })
}

/// Connects to pcscd and opens the reader named `name` (NULL: the only
/// reader connected). `HONNIN_STATUS_NO_READER` when pcscd is not running,
/// no reader has that name, or `name` is NULL and there is not exactly one.
///
/// Thread safety: callable from any thread.
///
/// # Safety
/// `name` must be NULL or a NUL-terminated string; `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_reader_open(
    name: *const std::ffi::c_char,
    out: *mut *mut honnin_reader,
) -> honnin_status {
    guard(|| {
        check_out(out, "out")?;
        let wanted = if name.is_null() {
            None
        } else {
            // SAFETY: the caller promised a NUL-terminated string.
            Some(unsafe { text(name, "name") }?.to_owned())
        };
        let context = ReaderContext::establish()?;
        let readers = context.readers()?;
        let name = match wanted {
            Some(name) if readers.contains(&name) => name,
            Some(name) => return Err(Error::from(ReaderError::NoReader { reader: name }).into()),
            None if readers.len() == 1 => readers[0].clone(),
            None => return Err(Error::from(ReaderError::NoReader { reader: String::new() }).into()),
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { issue(out, Object::new(READER, ReaderBox { context, name })) };
        Ok(())
    })
}

/// Waits up to `timeout_ms` (at most 600 000) for a card in the reader and
/// writes 1 to `*present` when one is there, 0 when none came.
///
/// Thread safety: callable from any thread; waits on one reader from
/// several threads at once are allowed.
///
/// # Safety
/// `reader` must be a handle (any value is checked); `present` must point to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn honnin_reader_wait_card(
    reader: *const honnin_reader,
    timeout_ms: u32,
    present: *mut u32,
) -> honnin_status {
    guard(|| {
        let reader: Arc<ReaderBox> = handles::get(id(reader), READER)?;
        check_out(present, "present")?;
        let there = reader.context.wait_for_card(&reader.name, Duration::from_millis(u64::from(timeout_ms)))?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *present = u32::from(there) };
        Ok(())
    })
}

/// Frees a reader (NULL is allowed). Sessions opened from it keep their card
/// connection until they are freed.
///
/// # Safety
/// `reader` must be a handle or NULL.
#[no_mangle]
pub unsafe extern "C" fn honnin_reader_free(reader: *mut honnin_reader) -> honnin_status {
    guard(|| {
        if reader.is_null() {
            return Ok(());
        }
        handles::remove(id(reader), READER).map(drop)
    })
}

/// Opens a session for the card in the reader: connects to it exclusively
/// (`HONNIN_STATUS_NO_CARD` when none is there; the card is reset when the
/// session is freed), reads the PIN's tries left without spending one, and
/// starts choosing a method. The offered methods then include
/// `HONNIN_METHOD_CARD_PIN` while the card has enough PIN tries; the face
/// check needs `honnin_session_read_card_photo` first; the staff check can
/// go ahead on the card in hand. `engine` may be NULL for a terminal without
/// models. `try_policy` NULL means the defaults. `ca`/`ca_lens`/`ca_count`
/// give the CA certificates (X.509, DER or PEM) the card-surface signer must
/// chain to (a policy that requires authenticity admits nothing else); with
/// `ca_count` 0 the arrays may be NULL.
///
/// Thread safety: callable from any thread.
///
/// # Safety
/// `engine` must be NULL or a handle; `reader` a handle; `options` must point
/// to a readable `honnin_session_options`; `try_policy` must be NULL or point
/// to a readable `honnin_try_policy`; with `ca_count` > 0, `ca` and `ca_lens`
/// must point to that many pointers and lengths describing readable memory;
/// `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_new_from_reader(
    engine: *const honnin_engine,
    reader: *const honnin_reader,
    options: *const honnin_session_options,
    try_policy: *const honnin_try_policy,
    ca: *const *const u8,
    ca_lens: *const usize,
    ca_count: usize,
    out: *mut *mut honnin_session,
) -> honnin_status {
    guard(|| {
        let engine = if engine.is_null() { None } else { Some(crate::engine::lookup(id(engine))?) };
        let reader: Arc<ReaderBox> = handles::get(id(reader), READER)?;
        if options.is_null() {
            return Err(Failure::null("options"));
        }
        check_out(out, "out")?;
        // SAFETY: checked non-NULL; the caller promised it is readable.
        let config = unsafe { *options }.config()?;
        let policy = if try_policy.is_null() {
            TryPolicy::default()
        } else {
            // SAFETY: checked non-NULL; the caller promised it is readable.
            unsafe { *try_policy }.policy()?
        };
        let counter = match engine {
            Some(engine) => Counter::new(engine, config)?,
            None => Counter::without_models(config)?,
        };
        let connection = reader.context.connect(&reader.name)?;
        // SAFETY: forwarded from the caller.
        let anchors = unsafe { crate::authenticity::trust_anchors(ca, ca_lens, ca_count, "ca") }?;
        let link = CardLink::new(connection, policy, anchors, Limits::default())?;
        let session = SessionBox::from_session(counter.card_session(link));
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { issue(out, Object::new(crate::session::SESSION, Mutex::new(session))) };
        Ok(())
    })
}

/// Reads the face photo from the session's card with 照合番号B, built here
/// from the card holder's birth date (Gregorian), the card's expiry year and
/// the 4-digit security code printed on its front (`security_code`, 4 ASCII
/// digits and a NUL). The tries left are read first and nothing is sent when
/// too few are left (`HONNIN_STATUS_TOO_FEW_TRIES`); one VERIFY at most, never
/// retried: a wrong value is `HONNIN_STATUS_WRONG_CODE`. `*tries_left` gets
/// the tries the card reports (0 when it reported none). The photo's
/// signature is checked and the chip challenged (`honnin_session_authenticity`).
/// The code is wiped before this returns.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle; `security_code` a NUL-terminated string;
/// `tries_left` must point to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_read_card_photo(
    session: *mut honnin_session,
    birth_year: u32,
    birth_month: u32,
    birth_day: u32,
    expiry_year: u32,
    security_code: *const std::ffi::c_char,
    tries_left: *mut u32,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(tries_left, "tries_left")?;
        // SAFETY: the caller promised a NUL-terminated string.
        let code = unsafe { text(security_code, "security_code") }?;
        let year =
            |v: u32, name: &str| u16::try_from(v).map_err(|_| Failure::invalid(format!("{name}: a year, got {v}")));
        let small =
            |v: u32, name: &str| u8::try_from(v).map_err(|_| Failure::invalid(format!("{name}: 1 to 31, got {v}")));
        let date =
            (year(birth_year, "birth_year")?, small(birth_month, "birth_month")?, small(birth_day, "birth_day")?);
        let number_b = VerificationNumberB::from_parts(date, year(expiry_year, "expiry_year")?, code)?;
        let result = lock(&session)?.session().read_card_photo(&number_b);
        drop(number_b);
        let left = match &result {
            Ok(summary) => match summary.tries_before {
                honnin::reader::Tries::Left(n) => u32::from(n),
                _ => 0,
            },
            Err(Error::Reader(ReaderError::WrongNumberB { tries_left })) => u32::from(*tries_left),
            Err(Error::Reader(ReaderError::TooFewTries { left, .. })) => u32::from(*left),
            Err(_) => 0,
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *tries_left = left };
        result.map(drop).map_err(Failure::from)
    })
}

/// Checks the card's PIN (the JPKI user-authentication PIN): `pin` is 4
/// ASCII digits and a NUL, or NULL to have the person type it on the
/// reader's keypad (PC/SC Part 10; the host never sees it;
/// `HONNIN_STATUS_INVALID_ARGUMENT` when the reader has none). Only after
/// choosing `HONNIN_METHOD_CARD_PIN`. The tries are read first; the card
/// checks the PIN and signs a fresh challenge. No biometric is computed and
/// no model runs. `*out` gets the step: `DECIDED` (the outcome's method is
/// `HONNIN_METHOD_CARD_PIN`), `PIN_REJECTED` (one try spent, see
/// `honnin_session_pin_tries`; back to choosing) or `PIN_UNAVAILABLE` (too few tries, blocked, or a
/// card that did not prove itself; back to choosing without the PIN).
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle; `pin` NULL or a NUL-terminated string; `out`
/// must point to a writable `honnin_step`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_check_pin(
    session: *mut honnin_session,
    pin: *const std::ffi::c_char,
    out: *mut honnin_step,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(out, "out")?;
        let entry = if pin.is_null() {
            PinEntry::Pinpad
        } else {
            // SAFETY: the caller promised a NUL-terminated string (borrowed for the call).
            let pin = unsafe { text(pin, "pin") }?;
            PinEntry::Host(CardPin::from_digits(pin)?)
        };
        let mut session = lock(&session)?;
        if matches!(entry, PinEntry::Pinpad) && !session.session().pinpad() {
            return Err(Failure::invalid("a pin: this reader has no keypad for it"));
        }
        let step: Step = session.session().check_pin(entry)?;
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { crate::session::step_out(out, &step, &mut session) };
        Ok(())
    })
}

/// Writes the PIN tries the session's card reported last (read without
/// spending one when the session opened, then after each PIN) to
/// `*tries_left`: 0 when blocked, 255 when the card is verified in this
/// connection. `HONNIN_STATUS_INVALID_ARGUMENT` for a session not from a reader.
///
/// Thread safety: as `honnin_session_offered_methods`.
///
/// # Safety
/// `session` must be a handle; `tries_left` must point to a writable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn honnin_session_pin_tries(
    session: *const honnin_session,
    tries_left: *mut u32,
) -> honnin_status {
    guard(|| {
        let session = lookup(id(session))?;
        check_out(tries_left, "tries_left")?;
        let tries =
            lock(&session)?.session().pin_tries().ok_or_else(|| Failure::invalid("a session from a card reader"))?;
        let n = match tries {
            honnin::reader::Tries::Left(n) => u32::from(n),
            honnin::reader::Tries::Blocked => 0,
            _ => 255,
        };
        // SAFETY: checked non-NULL; the caller promised it is writable.
        unsafe { *tries_left = n };
        Ok(())
    })
}
