//! Status codes, the thread's last error detail, and the boundary guard that
//! turns Rust errors and panics into status codes.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use honnin::error::CameraError;
use honnin::{Error, ErrorKind};

/// What a call returned. The numbers are part of the ABI: a code never
/// changes meaning, and a retired code stays reserved.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum honnin_status {
    /// Success; the outputs were written.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL.
    NullArgument = 1,
    /// The handle is not a live handle of this kind: freed, never issued, or
    /// of another kind (an engine passed as a session, ...).
    InvalidHandle = 2,
    /// An argument is out of range or does not fit the call: an unknown
    /// constant, a buffer shorter than the stated dimensions, a path that is
    /// not UTF-8, a session step out of order.
    InvalidArgument = 3,
    /// honnin hit an internal bug and stopped it at the boundary. The handle
    /// concerned may refuse further calls; free it.
    Panic = 4,
    /// Reserved (a buffer too small); no function of this version returns it.
    BufferTooSmall = 5,
    /// The session has no outcome yet.
    NotDecided = 6,
    /// The ONNX Runtime library could not be found, loaded, or did not have
    /// the required sha256.
    Runtime = 10,
    /// A model's bytes differ from the sha256 pinned in its manifest.
    ModelIntegrity = 11,
    /// The model manifest is malformed, or a model it names is unsuitable or
    /// not among the files given in memory. (A file that cannot be read is
    /// `HONNIN_STATUS_IO`.)
    Manifest = 12,
    /// ONNX Runtime refused to load or run a model.
    Inference = 13,
    /// The calibration is malformed, belongs to other models, or has no point
    /// for the target false-match rate. (A file that cannot be read is
    /// `HONNIN_STATUS_IO`.)
    Calibration = 14,
    /// An input exceeded a size limit (bytes, width, height, pixels, ...).
    LimitExceeded = 20,
    /// Image bytes are not a supported, well-formed image.
    Decode = 21,
    /// Card data (a chip container or face record) breaks its standard.
    Malformed = 22,
    /// The bytes are in no format honnin reads.
    UnrecognisedFormat = 23,
    /// The card data holds no face image.
    NoFaceImage = 24,
    /// A camera fault.
    Camera = 30,
    /// Reading a file failed.
    Io = 31,
    /// Writing failed.
    Write = 32,
    /// Installing the sandbox failed.
    Sandbox = 33,
    /// The audit log refused: group or others may read or write it, it is
    /// not a regular file, or its end does not check out (a torn last line,
    /// a record removed or changed, a head file that disagrees), so nothing
    /// is appended after it.
    Audit = 34,
    /// No PC/SC service (pcscd) runs, or no reader by that name (or none at all).
    NoReader = 40,
    /// The reader holds no card, or none came within the wait.
    NoCard = 41,
    /// The card was removed or reset during the call: the session is over.
    CardRemoved = 42,
    /// The card refused the code (照合番号B): one try was spent, none is
    /// retried; the tries left were written.
    WrongCode = 43,
    /// Too few tries are left for the try policy: nothing was sent to the card.
    TooFewTries = 44,
    /// The card's counter for this code is blocked (only the municipal office resets it).
    Blocked = 45,
    /// The card answered outside its protocol (a status word, a length or a
    /// form honnin does not accept), or is not a My Number card.
    CardProtocol = 46,
    /// An error this version of the C API has no code for.
    Other = 99,
}

/// A failed call: its status and the detail kept for `honnin_last_error_detail`.
pub(crate) struct Failure {
    pub(crate) status: honnin_status,
    pub(crate) detail: String,
}

impl Failure {
    pub(crate) fn new(status: honnin_status, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into() }
    }

    pub(crate) fn null(argument: &str) -> Self {
        Self::new(honnin_status::NullArgument, format!("{argument} is NULL"))
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::new(honnin_status::InvalidArgument, reason)
    }
}

impl From<Error> for Failure {
    /// Who must act ([`Error::kind`]) picks the range of codes, the variant
    /// the code within it: 1–6 misuse, 10–14 deployment, 20–24 input, 30–34
    /// system. One code is older than the kinds and keeps its number: a path
    /// that names no regular file (input) is `HONNIN_STATUS_IO`.
    fn from(e: Error) -> Self {
        use honnin_status as S;
        if matches!(e, Error::Reader(_)) {
            return Self::new(reader_status(&e), e.to_string());
        }
        let status = match e.kind() {
            // An unusable argument, a session step out of order.
            ErrorKind::Misuse => S::InvalidArgument,
            ErrorKind::Deployment => match &e {
                Error::Runtime { .. } | Error::RuntimeNotPinned => S::Runtime,
                Error::ModelIntegrity { .. } => S::ModelIntegrity,
                Error::Manifest { .. } => S::Manifest,
                Error::Inference { .. } => S::Inference,
                Error::Calibration(_) => S::Calibration,
                _ => S::Other,
            },
            ErrorKind::Input => match &e {
                Error::LimitExceeded { .. } => S::LimitExceeded,
                Error::Decode { .. } => S::Decode,
                Error::Malformed { .. } => S::Malformed,
                Error::UnrecognisedFormat { .. } => S::UnrecognisedFormat,
                Error::NoFaceImage { .. } => S::NoFaceImage,
                // A path that names no regular file: HONNIN_STATUS_IO, as
                // it always was (a code never changes meaning).
                Error::NotAFile { .. } => S::Io,
                _ => S::Other,
            },
            ErrorKind::System => match &e {
                Error::Camera(_) => S::Camera,
                Error::Io { .. } => S::Io,
                Error::Write { .. } => S::Write,
                Error::Sandbox { .. } => S::Sandbox,
                _ => S::Other,
            },
            _ => S::Other,
        };
        // honnin's error texts never carry pixels, landmarks or templates.
        Self::new(status, e.to_string())
    }
}

/// The code of a card reader fault.
fn reader_status(e: &Error) -> honnin_status {
    use honnin::error::ReaderError as R;
    use honnin_status as S;
    match e {
        Error::Reader(R::NoService | R::NoReader { .. }) => S::NoReader,
        Error::Reader(R::NoCard | R::Timeout) => S::NoCard,
        Error::Reader(R::CardRemoved) => S::CardRemoved,
        Error::Reader(R::WrongNumberB { .. }) => S::WrongCode,
        Error::Reader(R::TooFewTries { .. }) => S::TooFewTries,
        Error::Reader(R::Blocked) => S::Blocked,
        Error::Reader(
            R::NotMyNumberCard | R::Status { .. } | R::ResponseTooLong { .. } | R::Malformed { .. } | R::CardInUse,
        ) => S::CardProtocol,
        _ => S::Other,
    }
}

impl From<honnin::audit::AuditLogError> for Failure {
    fn from(e: honnin::audit::AuditLogError) -> Self {
        use honnin::audit::AuditLogError as A;
        let status = match &e {
            A::Io { .. } => honnin_status::Write,
            A::InvalidRecord { .. } => honnin_status::InvalidArgument,
            _ => honnin_status::Audit,
        };
        // Paths and chain positions only; a record holds nothing biometric.
        Self::new(status, e.to_string())
    }
}

impl From<CameraError> for Failure {
    fn from(e: CameraError) -> Self {
        Error::Camera(e).into()
    }
}

thread_local! {
    /// The detail of this thread's last failed call.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn remember(detail: &str) {
    // A NUL inside the text would cut it short; none is expected.
    let text = CString::new(detail.replace('\0', " ")).unwrap_or_default();
    // `try_with`: after the thread's locals are destroyed (a call from a
    // thread-exit or atexit handler) the detail is lost, not a panic.
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(text);
        }
    });
}

thread_local! {
    /// Whether this thread is inside a C API call.
    static IN_CALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wraps the process's panic hook so that a panic inside a C API call prints
/// nothing (the library never prints; the message reaches the caller through
/// `honnin_last_error_detail`). Panics elsewhere in the process go to the
/// hook that was there before. Installed once, by the first call.
fn silence_panics_in_calls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_CALL.try_with(|c| c.get()).unwrap_or(false) {
                previous(info);
            }
        }));
    });
}

/// Runs one C API call: a panic becomes [`honnin_status::Panic`], an error
/// its status, and either leaves its detail for `honnin_last_error_detail`.
pub(crate) fn guard(call: impl FnOnce() -> Result<(), Failure>) -> honnin_status {
    silence_panics_in_calls();
    let outer = IN_CALL.try_with(|c| c.replace(true)).unwrap_or(false);
    let result = catch_unwind(AssertUnwindSafe(call));
    let _ = IN_CALL.try_with(|c| c.set(outer));
    match result {
        Ok(Ok(())) => honnin_status::Ok,
        Ok(Err(failure)) => {
            remember(&failure.detail);
            failure.status
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            remember(&format!("internal error (please report): {what}"));
            honnin_status::Panic
        }
    }
}

/// Copies the calling thread's last error detail into `buf` as `snprintf`
/// does: as much as fits in `len` bytes with a terminating NUL, and the full
/// length without the NUL into `*written` (so `*written >= len` means it was
/// cut short).
///
/// # Safety
/// Non-NULL `buf` must point to `len` writable bytes, non-NULL `written` to a writable `size_t`.
pub(crate) unsafe fn last_error_detail(buf: *mut c_char, len: usize, written: *mut usize) -> Result<(), Failure> {
    if buf.is_null() {
        return Err(Failure::null("buf"));
    }
    if written.is_null() {
        return Err(Failure::null("written"));
    }
    if len == 0 {
        return Err(Failure::invalid("a buffer of at least 1 byte"));
    }
    let text = LAST_ERROR.try_with(|last| last.borrow().clone()).ok().flatten().unwrap_or_default();
    let bytes = text.as_bytes();
    let copied = bytes.len().min(len - 1);
    // SAFETY: the caller promised `buf` holds `len` bytes; copied + 1 <= len.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), copied);
        *buf.add(copied) = 0;
        *written = bytes.len();
    }
    Ok(())
}

/// The fixed description of a status code.
pub(crate) fn status_text(status: u32) -> &'static std::ffi::CStr {
    match status {
        0 => c"ok",
        1 => c"a required pointer argument was NULL",
        2 => c"not a live handle of this kind (freed, never issued, or another kind)",
        3 => c"invalid argument",
        4 => c"internal error caught at the C API boundary",
        5 => c"buffer too small (reserved)",
        6 => c"the session has not decided yet",
        10 => c"onnx runtime library could not be loaded",
        11 => c"a model file differs from the sha256 pinned in its manifest",
        12 => c"model manifest missing, malformed or unsuitable",
        13 => c"onnx runtime could not load or run a model",
        14 => c"calibration missing, malformed or for other models",
        20 => c"input exceeds a size limit",
        21 => c"image could not be decoded",
        22 => c"card data is malformed",
        23 => c"unrecognised data format",
        24 => c"the card data holds no face image",
        30 => c"camera fault",
        31 => c"file could not be read",
        32 => c"write failed",
        33 => c"sandbox could not be installed",
        34 => c"the audit log is not private or its end does not check out",
        40 => c"no pc/sc service or no such card reader",
        41 => c"no card in the reader",
        42 => c"the card was removed",
        43 => c"the card refused the code; one try was spent",
        44 => c"too few tries left on the card; nothing was sent",
        45 => c"the card's code is blocked",
        46 => c"the card answered outside its protocol",
        99 => c"an error this version of the C API has no code for",
        _ => c"unknown status code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail() -> String {
        LAST_ERROR.with(|last| last.borrow().clone()).unwrap_or_default().into_string().unwrap()
    }

    #[test]
    fn a_panic_becomes_a_status_with_its_message() {
        let status = guard(|| -> Result<(), Failure> { panic!("the boundary holds") });
        assert_eq!(status, honnin_status::Panic);
        assert_eq!(detail(), "internal error (please report): the boundary holds");
        let status = guard(|| -> Result<(), Failure> { std::panic::panic_any(7u8) });
        assert_eq!(status, honnin_status::Panic);
        assert_eq!(detail(), "internal error (please report): a panic without a message");
    }

    #[test]
    fn the_detail_is_cut_to_fit_like_snprintf() {
        assert_eq!(guard(|| Err(Failure::invalid("twelve chars"))), honnin_status::InvalidArgument);
        let mut buf = [b'x' as c_char; 6];
        let mut written = 0;
        unsafe { last_error_detail(buf.as_mut_ptr(), buf.len(), &mut written) }.ok().unwrap();
        assert_eq!(written, 12);
        let text: Vec<u8> = buf.iter().map(|&c| c as u8).collect();
        assert_eq!(&text, b"twelv\0");
        let mut big = [b'x' as c_char; 13];
        unsafe { last_error_detail(big.as_mut_ptr(), big.len(), &mut written) }.ok().unwrap();
        assert_eq!(unsafe { std::ffi::CStr::from_ptr(big.as_ptr()) }.to_str().unwrap(), "twelve chars");
        assert!(unsafe { last_error_detail(big.as_mut_ptr(), 0, &mut written) }.is_err());
    }
}
