//! Status codes, the thread's last error detail, and the boundary guard that
//! turns Rust errors and panics into status codes.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use honnin::{CameraError, Error};

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
    /// The caller's buffer is too small; nothing was written.
    BufferTooSmall = 5,
    /// The session has no outcome yet.
    NotDecided = 6,
    /// The ONNX Runtime library could not be found, loaded, or did not have
    /// the required sha256.
    Runtime = 10,
    /// A model's bytes differ from the sha256 pinned in its manifest.
    ModelIntegrity = 11,
    /// The model manifest is missing or malformed, or a model it names is
    /// missing or unsuitable.
    Manifest = 12,
    /// ONNX Runtime refused to load or run a model.
    Inference = 13,
    /// The calibration is missing, malformed, belongs to other models, or has
    /// no point for the target false-match rate.
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
    fn from(e: Error) -> Self {
        use honnin_status as S;
        let status = match &e {
            Error::Runtime { .. } => S::Runtime,
            Error::ModelIntegrity { .. } => S::ModelIntegrity,
            Error::Manifest { .. } => S::Manifest,
            Error::Inference { .. } => S::Inference,
            Error::Calibration { .. } => S::Calibration,
            Error::LimitExceeded { .. } => S::LimitExceeded,
            Error::Decode { .. } => S::Decode,
            Error::Malformed { .. } => S::Malformed,
            Error::UnrecognisedFormat { .. } => S::UnrecognisedFormat,
            Error::NoFaceImage { .. } => S::NoFaceImage,
            Error::InvalidArgument { .. } => S::InvalidArgument,
            Error::Sandbox { .. } => S::Sandbox,
            Error::Write { .. } => S::Write,
            Error::Camera(_) => S::Camera,
            Error::Io { .. } => S::Io,
            _ => S::Other,
        };
        // honnin's error texts never carry pixels, landmarks or templates.
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
    LAST_ERROR.with(|last| *last.borrow_mut() = Some(text));
}

/// Runs one C API call: a panic becomes [`honnin_status::Panic`], an error
/// its status, and either leaves its detail for `honnin_last_error_detail`.
pub(crate) fn guard(call: impl FnOnce() -> Result<(), Failure>) -> honnin_status {
    match catch_unwind(AssertUnwindSafe(call)) {
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

/// Copies the calling thread's last error detail into `buf` (NUL-terminated,
/// at most `len` bytes with the NUL) and its length without the NUL into
/// `*written`.
pub(crate) fn last_error_detail(buf: *mut c_char, len: usize, written: *mut usize) -> Result<(), Failure> {
    if buf.is_null() {
        return Err(Failure::null("buf"));
    }
    if written.is_null() {
        return Err(Failure::null("written"));
    }
    let text = LAST_ERROR.with(|last| last.borrow().clone()).unwrap_or_default();
    let bytes = text.as_bytes();
    if bytes.len() >= len {
        return Err(Failure::new(
            honnin_status::BufferTooSmall,
            format!("a buffer of at least {} bytes for the error detail", bytes.len() + 1),
        ));
    }
    // SAFETY: the caller promised `buf` holds `len` bytes; bytes.len() + 1 <= len.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
        *buf.add(bytes.len()) = 0;
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
        5 => c"buffer too small",
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
        99 => c"an error this version of the C API has no code for",
        _ => c"unknown status code",
    }
}
